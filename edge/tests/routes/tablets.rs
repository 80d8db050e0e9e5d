//! A hall tablet's ratings count only through an arming on the server: a script that holds a
//! tablet's address rates no faster than a staff member may press "请评价".

use crate::fixture::*;
use edge::http::{Method, Request, Response};
use wire::rating::{Id128, Level, RatingInput};
use wire::submission::{ARMED_BY_STAFF, Submission};

fn world() -> World {
    let mut w = World::new();
    w.s = settings_with(&[("CLIENT_IP_HEADER", "X-Real-IP"), ("KIOSK_ARM_SECS", "20")]);
    w
}

fn post(w: &World, path: &str, body: String) -> Response {
    let r = Request::new(Method::Post, &format!("https://{HOST}{path}"))
        .with_header("Host", HOST)
        .with_header("Origin", &format!("https://{HOST}"))
        .with_header("Content-Type", "application/json")
        .with_header("X-Real-IP", "198.51.100.9")
        .with_body(body);
    w.send(r)
}

fn arm(w: &World) -> (u16, Option<String>, Option<String>) {
    let r = post(w, &format!("/kiosk/{}/arm", w.tablet.1), String::new());
    let v: serde_json::Value = serde_json::from_slice(r.body_bytes()).unwrap_or_default();
    (
        r.status,
        v["arm"].as_str().map(str::to_owned),
        r.header("Retry-After").map(str::to_owned),
    )
}

fn rate(w: &World, arm: &str, n: u8) -> u16 {
    let s = Submission {
        code: ARMED_BY_STAFF.into(),
        challenge: arm.into(),
        pow: 0,
        id: Id128([n + 100; 16]),
        device: None,
        rating: RatingInput::new(Level::VerySatisfied, &Level::VerySatisfied.tag_codes()[..1]),
        website: String::new(),
    };
    let r = post(w, &format!("/kiosk/{}/rate", w.tablet.1), s.to_json());
    assert!(r.status != 503, "{:?}", w.h.logs.borrow());
    r.status
}

fn counted(w: &World) -> i64 {
    w.count("SELECT COUNT(*) AS n FROM ratings WHERE via = 'kiosk' AND hold = 0")
}

fn held(w: &World) -> i64 {
    w.count("SELECT COUNT(*) AS n FROM ratings WHERE via = 'kiosk' AND hold = 1 AND signals LIKE '%unarmed%'")
}

#[test]
fn five_scripted_ratings_without_armings_count_none_and_an_arming_counts_once() {
    let w = world();
    // Five ratings with fresh ids and no arming: answered as any rating is, held for review.
    for n in 1..=5 {
        assert_eq!(rate(&w, "", n), 200);
    }
    assert_eq!((counted(&w), held(&w)), (0, 5));
    // A made-up arming is no arming.
    assert_eq!(rate(&w, &"A".repeat(26), 6), 200);
    assert_eq!((counted(&w), held(&w)), (0, 6));

    // The staff member's press: one arming, taken by one rating.
    let (s, a, _) = arm(&w);
    assert_eq!(s, 200);
    let a = a.unwrap();
    assert_eq!(rate(&w, &a, 7), 200);
    assert_eq!(counted(&w), 1);
    // Its offline queue sends it again: stored once, still counted once.
    assert_eq!(rate(&w, &a, 7), 200);
    assert_eq!(counted(&w), 1);
    // The same arming for another rating: held.
    assert_eq!(rate(&w, &a, 8), 200);
    assert_eq!((counted(&w), held(&w)), (1, 7));
    // The next arming waits KIOSK_ARM_SECS after the taken one.
    let (s, none, wait) = arm(&w);
    assert_eq!((s, none), (429, None));
    assert_eq!(wait.as_deref(), Some("20"));
    w.h.advance(20);
    let (s, b, _) = arm(&w);
    assert_eq!(s, 200);
    // An arming nobody took is replaced at once (the staff member pressed again).
    let (s, c, _) = arm(&w);
    assert_eq!(s, 200);
    assert_eq!(rate(&w, &b.unwrap(), 9), 200, "the replaced arming");
    assert_eq!(counted(&w), 1);
    assert_eq!(rate(&w, &c.unwrap(), 10), 200);
    assert_eq!(counted(&w), 2);
    // An idempotency key another rating has: refused in words, not a server error.
    let other = w.one("SELECT id FROM ratings WHERE via != 'kiosk' LIMIT 1");
    let taken = Submission {
        code: ARMED_BY_STAFF.into(),
        challenge: String::new(),
        pow: 0,
        id: Id128::parse(other["id"].as_str().unwrap()).unwrap(),
        device: None,
        rating: RatingInput::new(Level::Satisfied, &Level::Satisfied.tag_codes()[..1]),
        website: String::new(),
    };
    let r = post(&w, &format!("/kiosk/{}/rate", w.tablet.1), taken.to_json());
    assert_eq!(r.status, 409);
    // Its ratings were counted on their address, like every rating.
    assert!(w.count("SELECT SUM(n) AS n FROM addresses") >= 10);
}

#[test]
fn a_withdrawn_or_unknown_tablet_arms_nothing() {
    let w = world();
    let r = post(&w, &format!("/kiosk/{}/arm", "B".repeat(26)), String::new());
    assert_eq!(r.status, 404);
    exec(
        &w.h,
        vec![edge::sql::stmt("UPDATE kiosks SET revoked_at = 1", vec![])],
    );
    assert_eq!(arm(&w).0, 410);
}
