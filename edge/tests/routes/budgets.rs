//! What an anonymous client can spend of the office's, besides logins (`logins.rs`): status-link
//! misses are its own budget, never a citizen's.

use crate::fixture::*;
use edge::http::{Method, Request};

fn world() -> World {
    let mut w = World::new();
    w.s = settings_with(&[("CLIENT_IP_HEADER", "X-Real-IP")]);
    w
}

fn get(w: &World, path: &str, address: &str) -> u16 {
    let r = Request::new(Method::Get, &format!("https://{HOST}{path}"))
        .with_header("Host", HOST)
        .with_header("X-Real-IP", address);
    w.send(r).status
}

#[test]
fn status_link_misses_are_the_clients_own() {
    let w = world();
    let junk = |i: usize| {
        format!(
            "/s/{}",
            format!("JUNK{i:08}").replace(['0', '1', '8', '9'], "A")
        )
    };
    let mut statuses = vec![];
    for i in 0..40 {
        statuses.push(get(&w, &junk(i), "198.51.100.7"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 404).count(), 30);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10);
    // The real link: from another client, and from the same one, whose misses are spent.
    let real = format!("/s/{}", w.status_token);
    assert_eq!(get(&w, &real, "203.0.113.5"), 200);
    assert_eq!(get(&w, &real, "198.51.100.7"), 200);
    // Another client's misses are its own budget.
    assert_eq!(get(&w, &junk(99), "203.0.113.5"), 404);
    // A refused miss writes nothing.
    let rows = w.count("SELECT SUM(n) AS n FROM status_misses");
    assert_eq!(rows, 31);
}

fn results(w: &World, query: &str) -> (u16, String) {
    let r = w.send(
        Request::new(Method::Get, &format!("https://{HOST}/results.json?{query}"))
            .with_header("Host", HOST),
    );
    (
        r.status,
        String::from_utf8_lossy(r.body_bytes()).into_owned(),
    )
}

fn computed(w: &World) -> u64 {
    edge::public::results::computed(&w.h)
}

#[test]
fn results_take_canonical_periods_and_known_halls_and_compute_the_city_once_a_minute() {
    let w = world();
    for bad in [
        "period=02026-Q4",
        "period=%2B2026-11",
        "period=0002026-12",
        "period=2026-q4",
    ] {
        let (s, b) = results(&w, bad);
        assert_eq!(s, 400, "{bad}: {b}");
        assert!(b.contains("2026-Q4"), "the error says the spelling: {b}");
    }
    let (s, b) = results(
        &w,
        "hall=%E6%B2%A1%E6%9C%89%E7%9A%84%E5%A4%A7%E5%8E%85&period=2026-03",
    );
    assert_eq!(s, 400, "{b}");
    assert!(
        b.contains("No such hall") || b.contains("没有这个大厅"),
        "{b}"
    );
    assert_eq!(computed(&w), 0, "nothing computed for a refused key");
    // A known hall (two halls of this name in two districts share its name here).
    let hall = percent_encoding::utf8_percent_encode(HALL, percent_encoding::NON_ALPHANUMERIC);
    assert_eq!(results(&w, &format!("hall={hall}&period=2026-03")).0, 200);
    assert_eq!(computed(&w), 1);
    // 60 different periods for the city within a minute: computed once, the rest asked to come
    // back (and the computed one answered from the memo).
    let mut statuses = vec![];
    for i in 0..60 {
        let period = format!("20{:02}-{:02}", 10 + i / 12, 1 + i % 12);
        statuses.push(results(&w, &format!("period={period}")).0);
        w.h.advance(0);
    }
    assert_eq!(computed(&w), 2);
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 59);
    assert_eq!(results(&w, "period=2010-01").0, 200, "from the memo");
    assert_eq!(computed(&w), 2);
    w.h.advance(60);
    assert_eq!(results(&w, "period=2010-02").0, 200, "a minute later");
    assert_eq!(computed(&w), 3);
}

#[test]
fn results_cost_no_more_than_a_tenth_of_each_minute_whatever_a_script_asks() {
    use edge::host::Host;
    use edge::public::results::{COMPUTE_BUDGET_MS, Memo};
    let w = world();
    let hall = percent_encoding::utf8_percent_encode(HALL, percent_encoding::NON_ALPHANUMERIC);
    let ask = |period: &str| {
        let r = w.send(
            Request::new(
                Method::Get,
                &format!("https://{HOST}/results?hall={hall}&period={period}"),
            )
            .with_header("Host", HOST)
            .with_header("X-Real-IP", "198.51.100.9"),
        );
        (r.status, r.header("Retry-After").map(str::to_owned))
    };
    assert_eq!(ask("2026-03").0, 200);
    // The minute's budget spent (as a script asking for every hall in turn would spend it).
    let now = w.h.now();
    w.h.isolate()
        .with(|m: &mut Memo| m.charge(now, COMPUTE_BUDGET_MS));
    assert_eq!(
        ask("2026-02"),
        (429, Some("60".to_owned())),
        "a page not in the memo waits"
    );
    assert_eq!(ask("2026-03").0, 200, "one in the memo is still answered");
    assert_eq!(computed(&w), 1);
    w.h.advance(30);
    assert_eq!(ask("2026-02"), (429, Some("30".to_owned())));
    w.h.advance(30);
    assert_eq!(ask("2026-02").0, 200, "the minute after");
    assert_eq!(computed(&w), 2);
}
