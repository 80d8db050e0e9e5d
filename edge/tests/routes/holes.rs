//! The holes a district administrator and an outsider found, closed: a district cannot change
//! the city-wide account or another district's token; a hall administrator cannot upload into
//! another authority's region or get a card signed for it; two halls of one name in two districts
//! keep their ratings, cases, routes and exports apart; a queue system's token does links and
//! nothing else.

use crate::fixture::*;
use edge::http::Method;
use edge::http::Request;
use edge::native::block_on;
use wire::key::{Key, KeyPurpose};
use wire::qr::QrPayload;
use wire::rating::Level;
use wire::time::Day;

fn status(w: &World, who: Who, m: Method, path: &str, body: Body) -> (u16, String) {
    let r = w.send(request(who, m, path, body));
    (
        r.status,
        String::from_utf8_lossy(r.body_bytes()).into_owned(),
    )
}

fn login(w: &World, name: &str, pw: &str) -> u16 {
    status(
        w,
        Who::Citizen,
        Method::Post,
        "/console/login",
        form(&[("name", name), ("password", pw)]),
    )
    .0
}

#[test]
fn a_district_cannot_reach_the_city_wide_account_or_another_districts_token() {
    let w = World::new();
    for op in ["reset", "disable", "unlock"] {
        let (s, b) = status(
            &w,
            Who::DistrictA,
            Method::Post,
            "/console/accounts/change",
            form(&[("name", "市管"), ("op", op)]),
        );
        assert_eq!(s, 404, "{op}: {b}");
        assert!(b.contains("没有找到，或不在您的范围内"), "{b}");
    }
    // By the API: setting a password is the operator's alone.
    let (s, _) = status(
        &w,
        Who::DistrictA,
        Method::Post,
        "/admin/accounts",
        Body::Json(
            serde_json::json!({"name": "市管", "role": "city", "scope": "all",
            "password": "chosen by a district", "reset": true}),
        ),
    );
    assert_eq!(s, 404);
    // Another district's token.
    let theirs: String = "DistrictB".chars().cycle().take(12).collect();
    let (s, _) = status(
        &w,
        Who::DistrictA,
        Method::Post,
        "/console/tokens/revoke",
        form(&[("id", &theirs)]),
    );
    assert_eq!(s, 404);
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) AS n FROM tokens WHERE id = '{theirs}' AND revoked_at IS NULL"
        )),
        1
    );
    // The city-wide account is as it was: its password still works, it is enabled.
    assert_eq!(login(&w, "市管", PASSWORD), 303);
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM accounts WHERE name = '市管' AND disabled = 0"),
        1
    );
    // Within its own district, the same administrator may: a reset is a generated password,
    // to be changed at the next login.
    let (s, b) = status(
        &w,
        Who::DistrictA,
        Method::Post,
        "/console/accounts/change",
        form(&[("name", "大厅甲"), ("op", "reset")]),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        login(&w, "大厅甲", PASSWORD),
        401,
        "the old password is gone"
    );
    let new = b
        .split("class=\"secret mono\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the new password, shown once")
        .to_owned();
    let r = w.send(request(
        Who::Citizen,
        Method::Post,
        "/console/login",
        form(&[("name", "大厅甲"), ("password", &new)]),
    ));
    assert_eq!(r.header("location"), Some("/console/password"));
    // Until it is changed, every other page goes to the password page.
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut req = request(Who::Citizen, Method::Get, "/console/ratings", Body::None);
    req.set_header("Cookie", &cookie);
    assert_eq!(w.send(req).header("location"), Some("/console/password"));
}

#[test]
fn a_hall_cannot_upload_into_another_authoritys_region_nor_get_its_card() {
    let w = World::new();
    // Hall A's administrator names hall B's place (the same hall name) under B's authority, and
    // under its own authority.
    let theirs = wire::directory::Directory::new(vec![b1()]).to_json();
    for authority in ["330106", "330105"] {
        let (s, b) = status(
            &w,
            Who::HallA,
            Method::Put,
            &format!("/admin/directory?authority={authority}"),
            Body::Raw("application/json", theirs.clone().into_bytes()),
        );
        assert_eq!(s, 400, "{authority}: {b}");
        assert!(b.contains("第 1 项"), "{b}");
    }
    let upload = format!(
        "--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
--B\r\nContent-Disposition: form-data; name=\"authority\"\r\n\r\n330106\r\n\
--B\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ndirectory\r\n\
--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.json\"\r\n\r\n{theirs}\r\n--B--\r\n",
        Who::HallA.session().unwrap().1
    );
    let (s, b) = status(
        &w,
        Who::HallA,
        Method::Post,
        "/console/directory",
        Body::Raw("multipart/form-data; boundary=B", upload.into_bytes()),
    );
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("不在您的权限范围"), "{b}");
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM entries WHERE region = '330106'"),
        1,
        "B's directory as it was"
    );
    // No card of hall B from hall A's console; hall A's own card is signed with its
    // authority's key (1), never another's.
    let (s, _) = status(
        &w,
        Who::HallA,
        Method::Get,
        &format!("/console/codes/{}", b1().code.to_text()),
        Body::None,
    );
    assert_eq!(s, 404);
    let (s, b) = status(
        &w,
        Who::HallA,
        Method::Get,
        &format!("/console/codes/{}", a1().code.to_text()),
        Body::None,
    );
    assert_eq!(s, 200);
    let seg = b
        .split(&format!("https://{HOST}/"))
        .nth(1)
        .and_then(|r| r.get(..44))
        .expect("the card's URL");
    let keys =
        wire::key::Keyring::new(wire::key::KeyPurpose::Qr, vec![qr_key(1), qr_key(2)]).unwrap();
    assert_eq!(wire::qr::QrPayload::open(seg, &keys).unwrap().kid, 1);
}

#[test]
fn two_halls_of_one_name_keep_their_ratings_cases_routes_and_exports_apart() {
    let w = World::new();
    // A 差评 in hall B, and a route of hall B's.
    let (s, b) = w.rate(&b1(), Level::Dissatisfied, 90);
    assert_eq!(s, 200, "{b}");
    let (s, b) = status(
        &w,
        Who::HallB,
        Method::Post,
        "/console/routes",
        form(&[
            ("name", "乙群"),
            ("kind", "wecom"),
            ("audience", "handlers"),
            ("place", "330106 便民服务中心"),
            (
                "url",
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=b",
            ),
        ]),
    );
    assert_eq!(s, 303, "{b}");
    // Ratings and cases: each hall sees its own (hall A's windows are A01 and A02, B's B01).
    for (who, mine, theirs) in [(Who::HallA, ",A01,", ",B01,"), (Who::HallB, ",B01,", ",A0")] {
        let (_, page) = status(&w, who, Method::Get, "/console/ratings", Body::None);
        let view = |e: &wire::directory::Entry| e.window.clone();
        let (me, them) = if who == Who::HallA {
            (view(&a1()), view(&b1()))
        } else {
            (view(&b1()), view(&a1()))
        };
        assert!(page.contains(&me) && !page.contains(&them), "{who:?}");
        let (_, cases) = status(&w, who, Method::Get, "/admin/cases", Body::None);
        let v: serde_json::Value = serde_json::from_str(&cases).unwrap();
        assert_eq!(v["cases"].as_array().unwrap().len(), 1, "{who:?}: {cases}");
        let (_, csv) = status(
            &w,
            who,
            Method::Get,
            "/admin/export.csv?from=2026-03-01&to=2026-03-03",
            Body::None,
        );
        assert!(
            csv.contains(mine) && !csv.contains(theirs),
            "{who:?}: {csv}"
        );
        let (_, routes) = status(&w, who, Method::Get, "/admin/routes", Body::None);
        let v: serde_json::Value = serde_json::from_str(&routes).unwrap();
        let names: Vec<&str> = v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [if who == Who::HallA {
                "甲群"
            } else {
                "乙群"
            }],
            "{who:?}"
        );
    }
    // And the fast lane alerts each hall's route of its own hall's 差评 only.
    let lane = w.s.lane.clone();
    let messages =
        edge::fastlane::tick(&Lite(&w), &lane, &w.s.core.challenge_keys, NOW, NOW * 1000).unwrap();
    let to = |key: &str| -> String {
        messages
            .iter()
            .filter(|m| m.url.ends_with(&format!("key={key}")))
            .map(|m| m.body.clone())
            .collect()
    };
    let (a, b) = (to("k"), to("b"));
    assert!(
        a.contains("A01") && !a.contains("B01"),
        "hall A's group: {a}"
    );
    assert!(
        b.contains("B01") && !b.contains("A01"),
        "hall B's group: {b}"
    );
}

#[test]
fn a_queue_systems_token_does_links_and_nothing_else() {
    let w = World::new();
    let code = a1().code.to_text();
    let matter = a1().matters[0].code.clone();
    let (s, b) = status(
        &w,
        Who::Queue,
        Method::Post,
        "/api/v1/links",
        Body::Json(serde_json::json!({"code": code, "matter": matter, "project_no": "BJ-77"})),
    );
    assert_eq!(s, 201, "{b}");
    let link: serde_json::Value = serde_json::from_str(&b).unwrap();
    let token = link["token"].as_str().unwrap();
    let (s, _) = status(
        &w,
        Who::Queue,
        Method::Post,
        &format!("/api/v1/links/{token}/revoke"),
        Body::None,
    );
    assert_eq!(s, 200);
    for (m, path, body) in [
        (Method::Get, "/admin/export.csv", Body::None),
        (Method::Get, "/admin/export.xlsx", Body::None),
        (
            Method::Put,
            "/admin/directory?authority=330105",
            Body::Raw("application/json", b"{}".to_vec()),
        ),
        (
            Method::Post,
            "/admin/revocations?authority=330105",
            Body::None,
        ),
        (Method::Get, "/admin/routes", Body::None),
        (
            Method::Post,
            "/admin/routes",
            Body::Json(serde_json::json!({})),
        ),
        (
            Method::Post,
            &format!("/admin/ratings/{}/release", w.held),
            Body::None,
        ),
        (Method::Get, "/admin/cases", Body::None),
        (
            Method::Post,
            "/admin/tokens",
            Body::Json(serde_json::json!({})),
        ),
        (Method::Get, "/metrics", Body::None),
    ] {
        let (s, b) = status(&w, Who::Queue, m, path, body);
        assert_eq!(s, 404, "{path}: {b}");
    }
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM ratings WHERE hold = 1"),
        1,
        "the held rating waits still"
    );
}

#[test]
fn a_bulk_decision_reaches_no_further_than_its_scope() {
    let w = World::new();
    let bulk = |who: Who, decision: &str, body: serde_json::Value| {
        let (s, b) = status(
            &w,
            who,
            Method::Post,
            &format!("/admin/held/{decision}"),
            Body::Json(body),
        );
        assert_eq!(s, 200, "{b}");
        serde_json::from_str::<serde_json::Value>(&b).unwrap()["count"].clone()
    };
    let range = serde_json::json!({"from": "2026-03-01", "to": "2026-03-03"});
    // Hall B's administrator (a hall of the same name in another district) and the other
    // district's: nothing of hall A's decided.
    assert_eq!(bulk(Who::HallB, "reject", range.clone()), 0);
    assert_eq!(bulk(Who::DistrictB, "release", range.clone()), 0);
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM ratings WHERE hold = 1"),
        1
    );
    // Bad fields are named.
    let (s, b) = status(
        &w,
        Who::HallA,
        Method::Post,
        "/admin/held/reject",
        Body::Json(serde_json::json!({"from": "2026-03-01", "to": "2026-03-03", "signal": "x"})),
    );
    assert_eq!(s, 400);
    assert!(b.contains("未知的信号"), "{b}");
    let (s, b) = status(
        &w,
        Who::HallA,
        Method::Post,
        "/admin/held/reject",
        Body::Json(serde_json::json!({})),
    );
    assert_eq!(s, 400);
    assert!(b.contains("from"), "{b}");
    // Hall A's: decided, one audit entry with its count, nothing forwarded.
    let by_code = serde_json::json!({"from": "2026-03-01", "to": "2026-03-03", "code": a2().code.to_text(), "signal": "rate"});
    assert_eq!(bulk(Who::HallA, "reject", by_code), 1);
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM ratings WHERE hold = 2"),
        1
    );
    let audit = w.one("SELECT detail, target FROM audit WHERE action = 'rating.reject.bulk'");
    assert_eq!(audit["detail"], "1 ratings");
    assert!(
        audit["target"].as_str().unwrap().contains("signal rate"),
        "{audit}"
    );
    assert_eq!(bulk(Who::HallA, "release", range), 0, "decided once");
}

#[test]
fn a_refused_card_logs_which_check_refused_it() {
    // A card printed with a key the service lacks, and one with another secret under a key id
    // it has: the citizen reads one plain page; the log line names the cause.
    let w = World::new();
    let e = a1();
    let today = Day::from_unix(NOW).unwrap();
    for (key, code) in [
        (Key::new(KeyPurpose::Qr, 77, [7; 32]), "qr.unknown_key"),
        (Key::new(KeyPurpose::Qr, 1, [9; 32]), "qr.bad_tag"),
    ] {
        let seg = QrPayload::seal(e.code, today, &key);
        let req =
            Request::new(Method::Get, &format!("https://{HOST}/{seg}")).with_header("Host", HOST);
        let h = block_on(edge::routes::handle(&w.h, &w.s, &req));
        assert_eq!(h.response.status, 404);
        assert_eq!(h.error, Some(code));
    }
    let req = Request::new(Method::Get, &format!("https://{HOST}/{}", printed(&e)))
        .with_header("Host", HOST);
    let h = block_on(edge::routes::handle(&w.h, &w.s, &req));
    assert_eq!((h.response.status, h.error), (200, None));
}

#[test]
fn the_operators_test_rating_is_stored_as_a_test_and_counts_nowhere() {
    let w = World::new();
    let e = a1();
    let before = w.count("SELECT COUNT(*) AS n FROM ratings WHERE hold IN (0, 3)");
    let cases = w.count("SELECT COUNT(*) AS n FROM cases");
    let post = |bearer: &str, level: Level, n: u8| {
        let req = Request::new(Method::Post, &format!("https://{HOST}/api/rate"))
            .with_header("Host", HOST)
            .with_header("Content-Type", "application/json")
            .with_header("Authorization", &format!("Bearer {bearer}"))
            .with_body(submission(&e, level, n).to_json());
        block_on(edge::routes::handle(&w.h, &w.s, &req))
    };
    // A wrong token is no test: an ordinary rating.
    let h = post("not-the-token", Level::Satisfied, 40);
    assert_eq!((h.response.status, h.error), (200, None));
    let h = post(ADMIN_TOKEN, Level::VeryDissatisfied, 41);
    assert_eq!((h.response.status, h.error), (200, Some("selftest")));
    let row = w.one("SELECT hold, signals, rated_at FROM ratings WHERE signals LIKE '%selftest%'");
    assert_eq!(
        (row["hold"].as_i64(), row["signals"].as_str()),
        (Some(2), Some("selftest"))
    );
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM ratings WHERE hold IN (0, 3)"),
        before + 1,
        "only the ordinary rating counts"
    );
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM cases"),
        cases,
        "a test 差评 opens no case"
    );
    // Gone at the first prune an hour after; the ordinary rating stays.
    let t = row["rated_at"].as_i64().unwrap();
    exec(&w.h, edge::store::prune(t + 1800, 30, 14, true));
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM ratings WHERE signals = 'selftest'"),
        1
    );
    exec(&w.h, edge::store::prune(t + 3601, 30, 14, true));
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM ratings WHERE signals = 'selftest'"),
        0
    );
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM ratings WHERE hold IN (0, 3)"),
        before + 1
    );
}
