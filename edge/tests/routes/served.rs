//! 办件 served (#34's denominator): from a link minted, a tablet armed by its staff member, and a
//! queue system's reports; each 办件 once, a day's count replaced by the next; bad reports named
//! by field with nothing stored.

use crate::fixture::*;
use edge::host::Host;
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
    // A 办件号 whose link is another code's, minted before served 办件 were counted: 409, and
    // nothing recorded for the code that asked.
    let mint = |e: &wire::directory::Entry| {
        let body = serde_json::json!({"code": e.code.to_text(), "matter": e.matters[0].code, "project_no": "OLD-1"});
        send(
            &w,
            Who::Queue,
            Method::Post,
            "/api/v1/links",
            Body::Json(body),
        )
        .0
    };
    assert_eq!(mint(&a1()), 201);
    exec(
        &w.h,
        vec![edge::sql::stmt(
            "DELETE FROM served WHERE key LIKE '%:OLD-1'",
            vec![],
        )],
    );
    assert_eq!(mint(&a2()), 409);
    let rows = served(&w);
    assert!(!rows.iter().any(|r| r.0.ends_with(":OLD-1")), "{rows:?}");
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

/// A rating through the link `token` from its own phone.
fn through(w: &World, token: &str, n: u8, level: wire::rating::Level) -> u16 {
    let c = wire::challenge::Challenge {
        kid: 0,
        code: a1().code,
        issued_at: (w.h.now() - 5) as u64,
        nonce: [n; 8],
        device: wire::challenge::device_tag(&[n; 16]),
        difficulty: 0,
    };
    let s = wire::submission::Submission {
        code: format!("l/{token}"),
        challenge: c.seal(&challenge_key()),
        pow: 0,
        id: wire::rating::Id128([n; 16]),
        device: None,
        rating: wire::rating::RatingInput::new(level, &level.tag_codes()[..1]),
        website: String::new(),
    };
    w.send(
        edge::http::Request::new(Method::Post, &format!("https://{HOST}/api/rate"))
            .with_header("Host", HOST)
            .with_header("Origin", &format!("https://{HOST}"))
            .with_header("Content-Type", "application/json")
            .with_body(s.to_json()),
    )
    .status
}

fn rates(w: &World) -> Vec<edge::served::CodeRate> {
    let p = edge::period::Period::current(w.h.now());
    let rows = exec(
        &w.h,
        vec![edge::served::code_rates(
            &edge::access::Scope::All,
            None,
            &p.months,
            p.from,
            p.to,
        )],
    );
    serde_json::from_value(rows[0].clone()).unwrap()
}

#[test]
fn ten_links_seven_rated_is_seventy_percent_and_a_days_count_is_its_denominator() {
    use wire::rating::Level;
    let w = World::new();
    let of = |w: &World, e: &wire::directory::Entry| {
        rates(w)
            .into_iter()
            .find(|r| r.code == e.code.to_text())
            .unwrap()
    };
    let (a, b) = (a1(), a2());
    let before = (of(&w, &a), of(&w, &b));
    let matter = a.matters[0].code.clone();
    let mut tokens = vec![];
    for i in 0..10 {
        let (s, v) = send(
            &w,
            Who::Queue,
            Method::Post,
            "/api/v1/links",
            Body::Json(
                serde_json::json!({"code": a.code.to_text(), "matter": matter, "project_no": format!("RATE-{i}")}),
            ),
        );
        assert_eq!(s, 201, "{v}");
        tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    for (i, t) in tokens.iter().take(7).enumerate() {
        let level = if i == 3 {
            Level::Dissatisfied
        } else {
            Level::Satisfied
        };
        assert_eq!(through(&w, t, 120 + i as u8, level), 200);
    }
    let after = of(&w, &a);
    assert_eq!(after.served - before.0.served, 10);
    assert_eq!(after.rated - before.0.rated, 7);
    assert_eq!(after.never - before.0.never, 3, "three 办件 never rated");
    let mine = edge::served::Rate {
        served: after.served - before.0.served,
        rated: after.rated - before.0.rated,
        never: after.never - before.0.never,
    };
    assert_eq!(mine.shown(), "70.0%");
    // A day's ticket count of 40 at a static code with 12 ratings that day: 30%.
    let today = wire::time::Day::from_unix(w.h.now()).unwrap().to_string();
    let (s, _) = report(
        &w,
        serde_json::json!({"code": b.code.to_text(), "day": today, "count": 40}),
    );
    assert_eq!(s, 200);
    for n in 0..12 {
        assert_eq!(w.rate(&b, Level::VerySatisfied, 200 + n).0, 200);
    }
    let after = of(&w, &b);
    assert_eq!(after.served, 40);
    assert_eq!(after.rated - before.1.rated, 12);
    assert_eq!(
        edge::served::Rate {
            served: 40,
            rated: after.rated - before.1.rated,
            never: 0
        }
        .shown(),
        "30.0%"
    );
    // A window with no served figures says so.
    assert_eq!(of(&w, &b1()).rate().shown(), "无办件数据");
    // The console's 评价率 page: the windows of the caller's scope, lowest first; B-hall's
    // administrator sees none of hall A's.
    let page = |who: Who, q: &str| {
        let r = w.send(request(
            who,
            Method::Get,
            &format!("/console/rates{q}"),
            Body::None,
        ));
        (
            r.status,
            String::from_utf8_lossy(r.body_bytes()).into_owned(),
        )
    };
    let (s, html) = page(Who::HallA, "");
    assert_eq!(s, 200);
    // A02 (30.0%) above A01 (its links' 70% with the fixture's own rating there).
    let a1_rate = of(&w, &a).rate().shown();
    assert_ne!(a1_rate, "30.0%");
    let cell = |t: &str| {
        html.find(&format!("<td class=\"num\">{t}</td>"))
            .unwrap_or_else(|| panic!("{t}: {html}"))
    };
    assert!(cell("30.0%") < cell(&a1_rate), "lowest first");
    let (_, city) = page(Who::City, "");
    let none = city
        .find("<td class=\"num\">无办件数据</td>")
        .expect("a window without served figures");
    assert!(
        none > city.find("30.0%").unwrap(),
        "those without figures come last"
    );
    if let Ok(f) = std::env::var("ZSP_RATES_PAGE") {
        std::fs::write(f, &html).unwrap();
    }
    let (s, other) = page(Who::HallB, "");
    assert_eq!(s, 200);
    assert!(
        !other.contains("30.0%") && !other.contains(&a.window),
        "{other}"
    );
    let (s, bad) = page(Who::HallA, "?period=2026-13");
    assert_eq!(s, 400, "{bad}");
    // The public results (`zsp.results` 2): the hall's 评价率, its units', in JSON and CSV.
    let hall = percent_encoding::utf8_percent_encode(HALL, percent_encoding::NON_ALPHANUMERIC);
    let r = w.send(request(
        Who::Citizen,
        Method::Get,
        &format!("/results.json?hall={hall}"),
        Body::None,
    ));
    let j: serde_json::Value = serde_json::from_slice(r.body_bytes()).unwrap();
    assert_eq!(j["version"], 2, "{j}");
    let all = edge::served::Rate::of(&rates(&w));
    assert_eq!(j["rate"]["served"], all.served, "{j}");
    assert_eq!(j["rate"]["never_rated"], 3, "{j}");
    assert!(j["rate"]["active_pct"].as_f64().is_some(), "{j}");
    if let Ok(f) = std::env::var("ZSP_RESULTS_PAGE") {
        let page = format!("/results?hall={hall}");
        let r = w.send(request(Who::Citizen, Method::Get, &page, Body::None));
        std::fs::write(f, r.body_bytes()).unwrap();
    }
    let r = w.send(request(
        Who::Citizen,
        Method::Get,
        &format!("/results.csv?hall={hall}"),
        Body::None,
    ));
    let csv = String::from_utf8_lossy(r.body_bytes()).into_owned();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with("办件数,主动评价率%,未评价办件"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!(",{},{},3", all.served, j["rate"]["active_pct"])),
        "{csv}"
    );
    // `/metrics`: this month's figures over the codes that have served ones.
    let r = w.send(request(Who::Operator, Method::Get, "/metrics", Body::None));
    let text = String::from_utf8_lossy(r.body_bytes()).into_owned();
    let all = edge::served::Rate::of(&rates(&w));
    assert_eq!((all.served, all.never), (50, 3));
    for line in [
        format!("zsp_served_this_month {}", all.served),
        format!("zsp_rated_where_served_this_month {}", all.rated),
        format!("zsp_served_never_rated_this_month {}", all.never),
    ] {
        assert!(text.contains(&line), "{line}: {text}");
    }
}
