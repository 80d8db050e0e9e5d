//! What the thank-you promises comes from the settings: each authority's callback deadline, and
//! "passed on" only when an upstream is configured.

use crate::fixture::*;
use wire::rating::Level;

fn next(w: &World, e: &wire::directory::Entry, level: Level, n: u8) -> String {
    let (s, b) = w.rate(e, level, n);
    assert_eq!(s, 200, "{b}");
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    v["next"].as_str().unwrap().to_owned()
}

#[test]
fn each_authority_promises_its_own_callback_deadline() {
    let mut w = World::new();
    w.s = settings_with(&[("CASE_DEADLINES", "1w/5w 330106:1d/15d")]);
    // The fixture's 差评 carry a phone with consent.
    assert_eq!(
        next(&w, &a1(), Level::Dissatisfied, 71),
        "工作人员将在1个工作日内与您联系。"
    );
    assert_eq!(
        next(&w, &b1(), Level::VeryDissatisfied, 72),
        "工作人员将在当天与您联系。"
    );
    // No upstream here: a good rating was recorded, not passed on.
    assert_eq!(
        next(&w, &a2(), Level::Satisfied, 73),
        "您的评价已由本大厅记录。"
    );
    // The form's consent text promises the same deadline.
    let page = w.send(
        edge::http::Request::new(
            edge::http::Method::Get,
            &format!("https://{HOST}/{}", printed(&b1())),
        )
        .with_header("Host", HOST),
    );
    let html = String::from_utf8_lossy(page.body_bytes()).into_owned();
    assert!(html.contains("工作人员将在当天与您联系"), "{html}");
}

#[test]
fn a_good_rating_is_passed_on_only_when_an_upstream_is_set() {
    let mut w = World::new();
    let keys = wire::key::Key::new(wire::key::KeyPurpose::Upstream, 1, [3; 32]).to_text();
    w.s = settings_with(&[
        ("UPSTREAM_URL", "https://hcp.example.gov.cn/ratings"),
        ("UPSTREAM_KEYS", &keys),
    ]);
    assert_eq!(
        next(&w, &a2(), Level::VerySatisfied, 74),
        "您的评价已提交至政务服务“好差评”平台。"
    );
}

#[test]
fn the_citizen_sees_who_looked_at_the_callback_phone_by_role_and_time() {
    use edge::http::Method;
    let w = World::new();
    let status = || {
        let r = w.send(request(
            Who::Citizen,
            Method::Get,
            &format!("/s/{}", w.status_token),
            Body::None,
        ));
        assert_eq!(r.status, 200);
        String::from_utf8_lossy(r.body_bytes()).into_owned()
    };
    assert!(!status().contains("查看回访电话"), "nobody has looked yet");
    for who in [Who::HandlerA, Who::HallA] {
        let r = w.send(request(
            who,
            Method::Post,
            &format!("/console/cases/{}/phone", w.case),
            form(&[]),
        ));
        assert_eq!(r.status, 200, "{who:?}");
        w.h.advance(60);
    }
    let page = status();
    assert_eq!(page.matches("查看回访电话").count(), 2, "{page}");
    assert!(
        page.contains("差评处理人") && page.contains("大厅管理员"),
        "{page}"
    );
    for name in ["处理人甲", "大厅甲"] {
        assert!(!page.contains(name), "a name on the citizen's page: {page}");
    }
}
