//! The 12345 work-order bridge, natively: a 差评's order to the route of its place (the phone only
//! to the office's own host), the events that come back (each moving the case as the console's
//! steps would, audited under the bridge's name), a replay, out-of-order and foreign events, a
//! reopening each way; and the bridge's own column of the permission matrix: every other caller
//! is 401 there, and the bridge opens no other route.

use crate::fixture::*;
use edge::http::{Method, Request};
use wire::rating::Level;
use wire::workorder::HEADER_BRIDGE;

const OWN: &str = "12345.example.gov.cn";
const SECRET_A: &str = "orders-secret-of-hall-a";
const KEY_A: &str = "events-key-of-12345-a-0123";
const KEY_B: &str = "events-key-of-12345-b-0123";

fn workorder(
    name: &str,
    region: &str,
    host: &str,
    secret: &str,
    inbound: &str,
) -> edge::fastlane::NewRoute {
    edge::fastlane::NewRoute {
        name: name.into(),
        region: Some(region.into()),
        hall: Some(HALL.into()),
        dept: None,
        kind: "workorder".into(),
        url: format!("https://{host}/orders"),
        secret: secret.into(),
        names: false,
        audience: "orders".into(),
        inbound: inbound.into(),
    }
}

/// An event as the bridge of `route` signs it with `key`, `skew` seconds off the edge's clock.
fn signed(w: &World, route: i64, key: &str, case: &str, body: &str, skew: i64) -> Request {
    let now = edge::host::Host::now(&w.h) + skew;
    Request::new(
        Method::Post,
        &format!("https://{HOST}/api/v1/cases/{case}/events"),
    )
    .with_header("Host", HOST)
    .with_header("Content-Type", "application/json")
    .with_header(HEADER_BRIDGE, &route.to_string())
    .with_header(
        "Zsp-Signature",
        &wire::alert::webhook_sign(key.as_bytes(), now, body.as_bytes()),
    )
    .with_body(body.to_owned())
}

fn send(w: &World, req: Request) -> (u16, serde_json::Value) {
    let r = w.send(req);
    let text = String::from_utf8_lossy(r.body_bytes()).into_owned();
    (
        r.status,
        serde_json::from_str(&text).unwrap_or(serde_json::json!({"raw": text})),
    )
}

fn ev(id: &str, kind: &str) -> serde_json::Value {
    serde_json::json!({"format": "zsp.case-event", "version": 1, "id": id, "type": kind})
}

/// The alarm's fast lane once: the messages it would send, each then acknowledged.
fn lane(w: &World) -> Vec<edge::fastlane::Message> {
    let now = edge::host::Host::now(&w.h);
    let m = edge::fastlane::tick(
        &Lite(w),
        &w.s.lane,
        &w.s.core.challenge_keys,
        now,
        now * 1000,
    )
    .unwrap();
    for x in &m {
        exec(&w.h, edge::fastlane::record(x, Ok(()), now));
    }
    m
}

fn orders(m: &[edge::fastlane::Message], route: i64) -> Vec<serde_json::Value> {
    m.iter()
        .filter(|x| x.route == route)
        .map(|x| serde_json::from_str(&x.body).unwrap())
        .collect()
}

#[test]
fn a_bad_rating_goes_to_12345_and_comes_back_closed_then_reopened() {
    let mut w = World::new();
    w.s = settings_with(&[
        ("OWN_HOSTS", OWN),
        ("ALERT_HOSTS", "partner.example.com"),
        ("PUBLIC_URL", "https://pj.example.gov.cn"),
    ]);
    // What a work-order route must be, each fault named by its field.
    for (r, said) in [
        (
            edge::fastlane::NewRoute {
                audience: "handlers".into(),
                ..workorder("x", "330105", OWN, SECRET_A, KEY_A)
            },
            "接收对象",
        ),
        (workorder("x", "330105", OWN, SECRET_A, "short"), "回传密钥"),
        (
            workorder("x", "330105", OWN, SECRET_A, SECRET_A),
            "回传密钥",
        ),
        (
            workorder("x", "330105", "evil.example.com", SECRET_A, KEY_A),
            "地址",
        ),
        (workorder("x", "330105", OWN, "short", KEY_A), "密钥"),
        (
            edge::fastlane::NewRoute {
                kind: "webhook".into(),
                url: "https://partner.example.com/hook".into(),
                audience: "handlers".into(),
                ..workorder("x", "330105", OWN, SECRET_A, KEY_A)
            },
            "回传密钥",
        ),
    ] {
        let e = r.check(&w.s.lane).unwrap_err();
        assert!(e.starts_with(said), "{said}: {e}");
    }
    // The world's case is older than the routes: it was alerted before they existed.
    lane(&w);
    // Hall A's 12345 is the office's own; the partner's, for hall B, is not.
    let a = w.add_route(workorder("市12345", "330105", OWN, SECRET_A, KEY_A));
    let b = w.add_route(workorder(
        "合作方工单",
        "330106",
        "partner.example.com",
        "orders-secret-of-hall-b",
        KEY_B,
    ));
    let (s, body) = w.rate(&a1(), Level::VeryDissatisfied, 31);
    assert_eq!(s, 200, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body) = w.rate(&b1(), Level::Dissatisfied, 32);
    assert_eq!(s, 200, "{body}");
    let case_a = w.one("SELECT id FROM cases ORDER BY id DESC LIMIT 1 OFFSET 1")["id"]
        .as_i64()
        .unwrap();
    let case_b = w.one("SELECT id FROM cases ORDER BY id DESC LIMIT 1")["id"]
        .as_i64()
        .unwrap();
    let (na, nb) = (
        edge::fastlane::number(case_a),
        edge::fastlane::number(case_b),
    );

    // The orders leave at once (no rater-safe wait: they go to a system, not a chat group).
    let m = lane(&w);
    let oa = orders(&m, a);
    assert_eq!(oa.len(), 1, "one order: {oa:?}");
    let o = &oa[0];
    assert_eq!(
        (&o["format"], &o["kind"], &o["case"], &o["level"]),
        (
            &"zsp.workorder".into(),
            &"order".into(),
            &serde_json::json!(na),
            &"very_dissatisfied".into()
        )
    );
    assert_eq!(o["phone"], "13812345678", "the own 12345 gets the phone");
    assert_eq!(
        o["events"],
        format!("https://pj.example.gov.cn/api/v1/cases/{na}/events")
    );
    let sent = m.iter().find(|x| x.route == a).unwrap();
    // The system's 2xx is its acknowledgment (not a robot's errcode).
    assert_eq!(
        edge::fastlane::accepted(&sent.kind, 200, "{\"ok\":true}"),
        Ok(())
    );
    let sig = &sent
        .headers
        .iter()
        .find(|(k, _)| k == "Zsp-Signature")
        .unwrap()
        .1;
    assert_eq!(
        wire::alert::webhook_verify(
            SECRET_A.as_bytes(),
            sig,
            sent.body.as_bytes(),
            edge::host::Host::now(&w.h),
            300
        ),
        Ok(())
    );
    let ob = orders(&m, b);
    assert_eq!(ob.len(), 1);
    assert!(ob[0]["phone"].is_null(), "no phone to a partner: {}", ob[0]);
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) AS n FROM case_steps WHERE case_id = {case_a} AND step = 'phone' AND role = 'bridge'"
        )),
        1,
        "the phone's going is in the ledger"
    );
    let page = |w: &World| {
        let r = w.send(request(
            Who::Citizen,
            Method::Get,
            &format!("/s/{token}"),
            Body::None,
        ));
        String::from_utf8_lossy(r.body_bytes()).into_owned()
    };
    assert!(
        page(&w).contains("12345 工单系统"),
        "the citizen sees where the phone went"
    );

    // Received, replayed, out of order, then on to 办结.
    let post = |id: &str, kind: &str, extra: serde_json::Value| {
        let mut v = ev(id, kind);
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        send(&w, signed(&w, a, KEY_A, &na, &v.to_string(), 0))
    };
    let (s, v) = post(
        "E1",
        "received",
        serde_json::json!({"order_no": "JS-2026-0001"}),
    );
    assert_eq!(
        (s, &v["state"], &v["duplicate"]),
        (200, &"callback".into(), &false.into()),
        "{v}"
    );
    let steps = |w: &World| {
        w.count(&format!(
            "SELECT COUNT(*) AS n FROM case_steps WHERE case_id = {case_a}"
        ))
    };
    let before = steps(&w);
    let (s, v) = post("E1", "received", serde_json::json!({}));
    assert_eq!((s, &v["duplicate"]), (200, &true.into()), "a replay: {v}");
    assert_eq!(steps(&w), before, "a replay changes nothing");
    let (s, v) = post("E2", "closed", serde_json::json!({}));
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["state"], "callback");
    assert_eq!(v["allowed"], serde_json::json!(["received", "handling"]));
    assert_eq!(v["error"]["code"], "bridge.state");
    let (s, v) = post("E3", "handling", serde_json::json!({}));
    assert_eq!((s, &v["state"]), (200, &"fixing".into()), "{v}");
    let (s, v) = post(
        "E4",
        "replied",
        serde_json::json!({"reply": "已为您补办，并对窗口人员进行了提醒。"}),
    );
    assert_eq!((s, &v["state"]), (200, &"replied".into()), "{v}");
    assert!(
        page(&w).contains("已为您补办"),
        "the citizen's page shows the reply"
    );
    let (s, v) = post("E5", "closed", serde_json::json!({"note": "回访满意"}));
    assert_eq!((s, &v["state"]), (200, &"closed".into()), "{v}");
    let c = w.one(&format!(
        "SELECT order_no, called_at IS NOT NULL AS called, state FROM cases WHERE id = {case_a}"
    ));
    assert_eq!(
        (&c["order_no"], &c["called"], &c["state"]),
        (&"JS-2026-0001".into(), &1.into(), &"closed".into())
    );
    // Out of order on a closed case: 409 with the state, and only a reopening allowed.
    let (s, v) = post("E6", "handling", serde_json::json!({}));
    assert_eq!(
        (s, &v["state"], &v["allowed"]),
        (409, &"closed".into(), &serde_json::json!(["reopened"])),
        "{v}"
    );
    // Audited under the bridge's name.
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM audit WHERE actor = '市12345' AND role = 'bridge' AND action LIKE 'case.%'"),
        4
    );

    // The citizen is still unhappy: the case reopens and 12345 gets it again (重新交办).
    assert_eq!(w.followup(&token, "unsatisfied").0, 200);
    let m = lane(&w);
    let again = orders(&m, a);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(
        (&again[0]["kind"], &again[0]["verdict"]),
        (&"reopened".into(), &"unsatisfied".into())
    );
    assert!(orders(&m, b).is_empty());
    // Through to 办结 again, then 12345 reopens it itself: no order back to it for that.
    for (id, kind, extra) in [
        ("E7", "handling", serde_json::json!({})),
        (
            "E8",
            "replied",
            serde_json::json!({"reply": "再次处理完毕"}),
        ),
        ("E9", "closed", serde_json::json!({})),
    ] {
        let (s, v) = post(id, kind, extra);
        assert_eq!(s, 200, "{kind}: {v}");
    }
    w.h.advance(60);
    let (s, v) = post(
        "E10",
        "reopened",
        serde_json::json!({"note": "市民来电仍不满意"}),
    );
    assert_eq!((s, &v["state"]), (200, &"callback".into()), "{v}");
    let m = lane(&w);
    assert!(
        orders(&m, a).is_empty(),
        "not sent back to the bridge that reopened it"
    );
    assert!(
        m.iter().any(|x| x.route == w.route),
        "the handlers hear of the second reopening too"
    );

    // The pages as their users see them (for a screenshot: `ZSP_BRIDGE_PAGES=<folder>`).
    let get = |who: Who, path: &str| {
        let r = w.send(request(who, Method::Get, path, Body::None));
        assert_eq!(r.status, 200, "{path}");
        String::from_utf8_lossy(r.body_bytes()).into_owned()
    };
    let routes = get(Who::City, "/console/routes");
    assert!(
        routes.contains(&format!("编号 {a}")),
        "the route's number for Zsp-Bridge"
    );
    let case = get(Who::City, &format!("/console/cases/{case_a}"));
    for said in [
        "工单已受理",
        "工单重新交办",
        "回访电话随工单发送",
        "市12345",
        "该系统自行重新交办，不回送",
    ] {
        assert!(case.contains(said), "{said}");
    }
    if let Ok(dir) = std::env::var("ZSP_BRIDGE_PAGES") {
        for (name, html) in [("routes", &routes), ("case", &case), ("status", &page(&w))] {
            std::fs::write(format!("{dir}/{name}.html"), html).unwrap();
        }
    }

    // What no bridge may do.
    let body = ev("X1", "received").to_string();
    // Hall B's bridge, with its own key, on hall A's case: not its case.
    let (s, v) = send(&w, signed(&w, b, KEY_B, &na, &body, 0));
    assert_eq!(
        (s, &v["error"]["code"]),
        (404, &"access.not_found".into()),
        "{v}"
    );
    // Its own case it may.
    let (s, _) = send(&w, signed(&w, b, KEY_B, &nb, &body, 0));
    assert_eq!(s, 200);
    // A key that is not the route's (its order secret, or another bridge's), a stale or a
    // missing signature, an unknown route: one 401.
    for req in [
        signed(&w, a, SECRET_A, &na, &body, 0),
        signed(&w, a, KEY_B, &na, &body, 0),
        signed(&w, a, KEY_A, &na, &body, -301),
        signed(&w, 99, KEY_A, &na, &body, 0),
        signed(&w, w.route, KEY_A, &na, &body, 0),
        Request::new(
            Method::Post,
            &format!("https://{HOST}/api/v1/cases/{na}/events"),
        )
        .with_header("Host", HOST)
        .with_header(HEADER_BRIDGE, &a.to_string())
        .with_body(body.clone()),
    ] {
        let (s, v) = send(&w, req);
        assert_eq!(
            (s, &v["error"]["code"]),
            (401, &"bridge.signature".into()),
            "{v}"
        );
    }
    // An unknown case, a bad body: 404 and 400 with the field.
    let (s, _) = send(&w, signed(&w, a, KEY_A, "C999999", &body, 0));
    assert_eq!(s, 404);
    let (s, v) = send(
        &w,
        signed(
            &w,
            a,
            KEY_A,
            &na,
            r#"{"format":"zsp.case-event","version":1,"id":"Y","type":"replied"}"#,
            0,
        ),
    );
    assert_eq!(s, 400);
    assert!(
        v["error"]["detail"].as_str().unwrap().starts_with("reply"),
        "{v}"
    );
    // A deleted route's key opens nothing any more.
    exec(
        &w.h,
        edge::fastlane::delete_route(a, edge::host::Host::now(&w.h)),
    );
    let (s, _) = send(
        &w,
        signed(&w, a, KEY_A, &na, &ev("Z1", "received").to_string(), 0),
    );
    assert_eq!(s, 401);
}

#[test]
fn a_bridge_s_key_opens_no_other_route() {
    let mut w = World::new();
    w.s = settings_with(&[("OWN_HOSTS", OWN)]);
    let a = w.add_route(workorder("市12345", "330105", OWN, SECRET_A, KEY_A));
    // Signed as a bridge, on every other route of the table: never taken for a caller there.
    for r in edge::routes::ROUTES {
        if r.caller == edge::routes::Caller::Bridge {
            continue;
        }
        let path = r
            .path
            .replace("{file}", "x.js")
            .replace("{token}.png", "t.png")
            .replace(['{', '}'], "");
        for m in r.methods.iter().filter(|m| **m != Method::Head) {
            let mut req = signed(&w, a, KEY_A, "C000001", "{}", 0);
            req.method = *m;
            req.path = path.clone();
            let got = w.send(req);
            assert!(
                got.status != 200
                    || matches!(
                        r.caller,
                        edge::routes::Caller::Public | edge::routes::Caller::Citizen
                    ),
                "{} {}: {}",
                m.as_str(),
                r.path,
                got.status
            );
        }
    }
}
