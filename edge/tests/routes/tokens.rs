//! A leaked or guessed token, and a forwarded link: wrong tokens are throttled per client, a
//! token may expire, a 一事一评 link's rating is changed only by the phone that gave it, that day,
//! and a 办件号 is unique within its authority only.

use crate::fixture::*;
use edge::host::Host;
use edge::http::{Method, Request, Response};

fn world() -> World {
    let mut w = World::new();
    w.s = settings_with(&[
        ("CLIENT_IP_HEADER", "X-Real-IP"),
        ("AUTHORITIES", "330105:1 330106:2"),
    ]);
    w
}

fn with_token(w: &World, token: &str, address: &str, path: &str, body: Option<&str>) -> Response {
    let method = if body.is_some() {
        Method::Post
    } else {
        Method::Get
    };
    let mut r = Request::new(method, &format!("https://{HOST}{path}"))
        .with_header("Host", HOST)
        .with_header("X-Real-IP", address)
        .with_header("Authorization", &format!("Bearer {token}"));
    if let Some(b) = body {
        r = r
            .with_header("Content-Type", "application/json")
            .with_body(b.to_owned());
    }
    w.send(r)
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(r.body_bytes()).into_owned()
}

#[test]
fn wrong_tokens_are_throttled_per_client_and_a_right_one_elsewhere_still_works() {
    let w = world();
    let good = Who::City.bearer().unwrap();
    let wrong = format!(
        "{}{}_{}",
        edge::access::TOKEN_PREFIX,
        "x".repeat(12),
        "y".repeat(40)
    );
    let mut statuses = vec![];
    for _ in 0..25 {
        statuses.push(with_token(&w, &wrong, "198.51.100.7", "/admin/cases", None).status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 20);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 5);
    // The guesser's right token waits for the minute too; anyone else's works.
    assert_eq!(
        with_token(&w, &good, "198.51.100.7", "/admin/cases", None).status,
        429
    );
    assert_eq!(
        with_token(&w, &good, "203.0.113.5", "/admin/cases", None).status,
        200
    );
    // The operator's token is compared before any lookup: never throttled.
    assert_eq!(
        with_token(&w, ADMIN_TOKEN, "198.51.100.7", "/admin/cases", None).status,
        200
    );
    w.h.advance(60);
    assert_eq!(
        with_token(&w, &good, "198.51.100.7", "/admin/cases", None).status,
        200
    );
}

#[test]
fn a_token_expires_at_the_end_of_its_last_day() {
    let w = world();
    let city = Who::City.bearer().unwrap();
    let make = |expires: &str| {
        let body = serde_json::json!({"name": "叫号", "role": "queue",
            "scope": {"places": [{"region": "330105", "hall": HALL}]}, "expires": expires});
        with_token(
            &w,
            &city,
            "203.0.113.5",
            "/admin/tokens",
            Some(&body.to_string()),
        )
    };
    for bad in ["2026-13-01", "昨天", "2020-01-01", "2099-01-01"] {
        let r = make(bad);
        assert_eq!(r.status, 400, "{bad}: {}", text(&r));
        assert!(text(&r).contains("有效期至"), "{}", text(&r));
    }
    let tomorrow = wire::time::Day::from_unix(w.h.now() + 86_400)
        .unwrap()
        .to_string();
    let r = make(&tomorrow);
    assert_eq!(r.status, 201, "{}", text(&r));
    let v: serde_json::Value = serde_json::from_slice(r.body_bytes()).unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    let mint = serde_json::json!({"code": a1().code.to_text(), "matter": a1().matters[0].code,
        "project_no": "BJ-EXP"})
    .to_string();
    let r = with_token(&w, &token, "203.0.113.9", "/api/v1/links", Some(&mint));
    assert_eq!(r.status, 201, "{}", text(&r));
    // The console shows when each token ends.
    let r = w.send(request(
        Who::City,
        Method::Get,
        "/console/tokens",
        Body::None,
    ));
    let page = text(&r);
    assert!(
        page.contains("有效期至") && page.contains(&tomorrow),
        "{page}"
    );
    assert!(page.contains("长期（至吊销）"), "{page}");
    // Past the end of that day (China time): refused like any wrong token.
    let end = wire::time::Day::parse(&tomorrow).unwrap().start_unix() + 86_400;
    w.h.advance(end - w.h.now());
    let r = with_token(&w, &token, "203.0.113.9", "/api/v1/links", Some(&mint));
    assert_eq!(r.status, 401, "{}", text(&r));
}

#[test]
fn project_numbers_are_unique_within_an_authority_and_name_nothing_of_anothers() {
    let w = world();
    let mint = |who: Who, e: &wire::directory::Entry, no: &str| {
        let body = serde_json::json!({"code": e.code.to_text(), "matter": e.matters[0].code,
            "project_no": no})
        .to_string();
        with_token(
            &w,
            &who.bearer().unwrap(),
            "203.0.113.5",
            "/api/v1/links",
            Some(&body),
        )
    };
    // Hall A (330105) and hall B (330106) are two authorities: one 办件号 each, two links.
    let a = mint(Who::HallA, &a1(), "BJ-2026-1");
    assert_eq!(a.status, 201, "{}", text(&a));
    let b = mint(Who::HallB, &b1(), "BJ-2026-1");
    assert_eq!(b.status, 201, "{}", text(&b));
    assert_ne!(text(&a), text(&b));
    // Within one authority, the 办件号 is taken: the refusal names nothing of the link.
    let again = mint(Who::HallA, &a2(), "BJ-2026-1");
    assert_eq!(again.status, 409);
    assert!(!text(&again).contains("l/"), "{}", text(&again));
}

/// A rating through the fixture's link from the phone `device`, its page's challenge `nonce`
/// handed out just now.
fn through_link(w: &World, device: u8, nonce: u8, level: wire::rating::Level) -> Response {
    let c = wire::challenge::Challenge {
        kid: 0,
        code: a1().code,
        issued_at: (w.h.now() - 5) as u64,
        nonce: [nonce; 8],
        device: wire::challenge::device_tag(&[device; 16]),
        difficulty: 0,
    };
    let s = wire::submission::Submission {
        code: format!("l/{}", w.link),
        challenge: c.seal(&challenge_key()),
        pow: 0,
        id: wire::rating::Id128([nonce; 16]),
        device: None,
        rating: wire::rating::RatingInput::new(level, &level.tag_codes()[..1]),
        website: String::new(),
    };
    w.send(
        Request::new(Method::Post, &format!("https://{HOST}/api/rate"))
            .with_header("Host", HOST)
            .with_header("Origin", &format!("https://{HOST}"))
            .with_header("Content-Type", "application/json")
            .with_body(s.to_json()),
    )
}

#[test]
fn a_links_rating_is_changed_only_from_its_phone_on_its_day() {
    use wire::rating::Level;
    let w = world();
    let r = through_link(&w, 61, 161, Level::Satisfied);
    assert_eq!(r.status, 200, "{}", text(&r));
    let rev = || w.count("SELECT rev AS n FROM ratings WHERE project_no = 'BJ-1'");
    assert_eq!(rev(), 1);
    // Another phone: refused, in words; nothing changed.
    let r = through_link(&w, 62, 162, Level::VeryDissatisfied);
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("links.rated_elsewhere"), "{}", text(&r));
    assert_eq!(rev(), 1);
    // The same phone, the same day: its 追评 amends it.
    let r = through_link(&w, 61, 163, Level::VerySatisfied);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(rev(), 2);
    // The same phone the next day: refused.
    w.h.advance(86_400);
    let r = through_link(&w, 61, 164, Level::Dissatisfied);
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(rev(), 2);
}
