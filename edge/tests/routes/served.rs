//! 办件 served (#34's denominator): from a link minted, a tablet armed by its staff member, and a
//! queue system's reports; each 办件 once, a day's count replaced by the next; bad reports named
//! by field with nothing stored.

use crate::fixture::*;
use edge::http::Method;

fn send(w: &World, who: Who, m: Method, path: &str, body: Body) -> (u16, serde_json::Value) {
    let r = w.send(request(who, m, path, body));
    let v = serde_json::from_slice(r.body_bytes()).unwrap_or(serde_json::Value::Null);
    (r.status, v)
}

fn report(w: &World, v: serde_json::Value) -> (u16, serde_json::Value) {
    send(w, Who::Queue, Method::Post, "/api/v1/served", Body::Json(v))
}

fn served(w: &World) -> Vec<(String, String, i64)> {
    let rows = exec(
        &w.h,
        vec![edge::sql::stmt(
            "SELECT key, source, n FROM served ORDER BY key",
            vec![],
        )],
    );
    rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap().to_owned(),
                r["n"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn each_source_counts_a_served_citizen_once() {
    let w = World::new();
    let before = served(&w).len();
    let code = a1().code.to_text();
    let matter = a1().matters[0].code.clone();
    // A link minted: its 办件 served; reported again by its 办件号: still one.
    let (s, b) = send(
        &w,
        Who::Queue,
        Method::Post,
        "/api/v1/links",
        Body::Json(serde_json::json!({"code": code, "matter": matter, "project_no": "BJ-501"})),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = report(
        &w,
        serde_json::json!({"code": code, "project_no": "BJ-501", "matter": matter}),
    );
    assert_eq!((s, b["served"].as_i64()), (200, Some(1)), "{b}");
    // A 办件 the queue system reports without a link.
    let (s, _) = report(
        &w,
        serde_json::json!({"code": code, "project_no": "BJ-502", "matter": matter}),
    );
    assert_eq!(s, 200);
    // A day's ticket count at the window's code; the second report for that day stands.
    let (s, b) = report(
        &w,
        serde_json::json!({"code": code, "day": "2026-03-02", "count": 40}),
    );
    assert_eq!((s, b["served"].as_i64()), (200, Some(40)), "{b}");
    let (s, b) = report(
        &w,
        serde_json::json!({"code": code, "day": "2026-03-02", "count": 35}),
    );
    assert_eq!((s, b["served"].as_i64()), (200, Some(35)), "{b}");
    // A tablet armed by its staff member: one citizen served.
    let (s, _) = send(
        &w,
        Who::Citizen,
        Method::Post,
        &format!("/kiosk/{}/arm", w.tablet.1),
        Body::None,
    );
    assert_eq!(s, 200);
    let rows = served(&w);
    assert_eq!(rows.len(), before + 4, "{rows:?}");
    let of = |source: &str| -> Vec<&(String, String, i64)> {
        rows.iter().filter(|r| r.1 == source).collect()
    };
    assert_eq!(of("link").len(), 1);
    assert!(of("link")[0].0.ends_with(":BJ-501"));
    assert_eq!(of("report").len(), 1);
    assert_eq!(of("count").iter().map(|r| r.2).collect::<Vec<_>>(), [35]);
    assert_eq!(of("kiosk").len(), 1);
}

#[test]
fn a_bad_report_names_its_field_and_stores_nothing() {
    let w = World::new();
    let before = served(&w);
    let code = a1().code.to_text();
    let matter = a1().matters[0].code.clone();
    let other = a2().code.to_text();
    let (s, _) = report(
        &w,
        serde_json::json!({"code": other, "project_no": "BJ-9", "matter": a2().matters[0].code}),
    );
    assert_eq!(s, 200);
    let before_bad = served(&w);
    assert_eq!(before_bad.len(), before.len() + 1);
    for (body, status, field) in [
        (
            serde_json::json!({"code": code, "day": "2026-03-02", "count": -1}),
            422,
            "count",
        ),
        (
            serde_json::json!({"code": code, "day": "2026-03-04", "count": 3}),
            422,
            "day",
        ),
        (
            serde_json::json!({"code": "ZZZZZZZZZZZZZZZZ", "day": "2026-03-02", "count": 3}),
            404,
            "code",
        ),
        (
            serde_json::json!({"code": b1().code.to_text(), "day": "2026-03-02", "count": 3}),
            404,
            "code",
        ),
        (
            serde_json::json!({"code": code, "project_no": "BJ-9", "matter": matter}),
            409,
            "project_no",
        ),
        (
            serde_json::json!({"code": code, "project_no": "BJ-10", "matter": "NOT-HERE"}),
            422,
            "matter",
        ),
        (serde_json::json!({"code": code}), 422, "project_no"),
    ] {
        let (s, b) = report(&w, body.clone());
        assert_eq!(s, status, "{body}: {b}");
        assert_eq!(b["error"]["field"].as_str(), Some(field), "{body}: {b}");
    }
    assert_eq!(served(&w), before_bad, "a refused report stored something");
}
