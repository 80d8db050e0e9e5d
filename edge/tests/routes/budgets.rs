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
