//! Console logins against a scripted client: what it can make the office spend (password hashes,
//! storage), and that it cannot lock the real administrator out. The client's address comes
//! from `CLIENT_IP_HEADER` alone, as the trusted proxy sets it.

use crate::fixture::*;
use edge::http::{Method, Request};

fn world() -> World {
    let mut w = World::new();
    w.s = settings_with(&[("CLIENT_IP_HEADER", "X-Real-IP")]);
    w
}

/// A login from `address` (as nginx names it), with whatever else the client sends.
fn login(w: &World, address: &str, name: &str, pw: &str, extra: &[(&str, &str)]) -> (u16, String) {
    let mut r = Request::new(Method::Post, &format!("https://{HOST}/console/login"))
        .with_header("Host", HOST)
        .with_header("Origin", &format!("https://{HOST}"))
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_header("X-Real-IP", address);
    for (k, v) in extra {
        r.set_header(k, v);
    }
    r.body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("name", name), ("password", pw)])
        .finish()
        .into_bytes();
    let a = w.send(r);
    (
        a.status,
        String::from_utf8_lossy(a.body_bytes()).into_owned(),
    )
}

fn rows(w: &World) -> i64 {
    w.count(
        "SELECT (SELECT COUNT(*) FROM audit) + (SELECT COUNT(*) FROM login_failures) \
         + (SELECT COUNT(*) FROM login_refusals) + (SELECT COUNT(*) FROM login_spend) AS n",
    )
}

#[test]
fn a_name_that_is_no_name_costs_nothing() {
    let w = world();
    let before = rows(&w);
    for (name, why) in [
        ("x".repeat(60 * 1024), "2 至 32 个字符"),
        ("a".into(), "2 至 32 个字符"),
        ("有 空格".into(), "不能含空格"),
        ("a:b".into(), "冒号"),
        ("a\u{7}b".into(), "控制字符"),
    ] {
        let (s, page) = login(&w, "198.51.100.7", &name, "whatever it is", &[]);
        assert_eq!(s, 400, "{name:.20}");
        assert!(page.contains(why), "{page}");
        assert!(!page.contains(&"x".repeat(100)), "the name is not echoed");
    }
    let (s, _) = login(&w, "198.51.100.7", "市管", &"p".repeat(2000), &[]);
    assert_eq!(s, 400, "a password no one types");
    assert_eq!(w.h.hashes.get(), 0, "nothing hashed");
    assert_eq!(rows(&w), before, "nothing written");
}

#[test]
fn hashing_stays_within_the_global_and_per_client_budgets() {
    let w = world();
    assert_eq!(login(&w, "10.1.1.1", "市管", PASSWORD, &[]).0, 303);
    // One client, 30 new names in one minute: 10 hashed (LOGIN_HASHES_PER_CLIENT), the rest
    // answered at once.
    let mut statuses = vec![];
    for i in 0..30 {
        if i % 4 == 0 {
            w.h.advance(1);
        }
        statuses.push(login(&w, "203.0.113.9", &format!("name{i}"), "guess-guess", &[]).0);
    }
    assert_eq!(w.h.hashes.get(), 1 + 10);
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20);
    // Refusals are counted in memory and written at most every 10 seconds per client: one more
    // after that writes the count.
    w.h.advance(edge::access::REFUSALS_WRITTEN_SECS);
    assert_eq!(
        login(&w, "203.0.113.9", "name-last", "guess-guess", &[]).0,
        429
    );
    // Many clients in one second: 4 hashed (LOGIN_HASHES_PER_SEC).
    w.h.advance(120);
    let before = w.h.hashes.get();
    for i in 0..20 {
        login(
            &w,
            &format!("192.0.2.{i}"),
            &format!("other{i}"),
            "guess-guess",
            &[],
        );
    }
    assert_eq!(w.h.hashes.get() - before, 4);
    // The office's address, which the administrator logged in from before, is not held to the
    // global budget: the same second, it gets in…
    assert_eq!(login(&w, "10.1.1.1", "市管", PASSWORD, &[]).0, 303);
    // …while a new address waits for the next second.
    assert_eq!(login(&w, "10.1.1.2", "市管", PASSWORD, &[]).0, 429);
    w.h.advance(1);
    assert_eq!(login(&w, "10.1.1.2", "市管", PASSWORD, &[]).0, 303);
    // Refusals are counted, not written one row each: one audit entry per client, reason and
    // quarter of an hour.
    let refused = w.count("SELECT COUNT(*) AS n FROM audit WHERE action = 'login.refused'");
    assert!(refused <= 2 + 20 * 2, "{refused} audit entries");
    // The client is named by its keyed digest: no raw address is stored or audited.
    let client = edge::guard::login_client(&challenge_key().secret, "203.0.113.9");
    let first = w.one(&format!(
        "SELECT detail FROM audit WHERE action = 'login.refused' AND detail LIKE '%budget%{client}%'"
    ));
    for table in [
        "audit",
        "login_spend",
        "login_refusals",
        "login_clients",
        "login_failures",
    ] {
        let column = if table == "audit" { "detail" } else { "client" };
        let raw = w.count(&format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE {column} LIKE '%203.0.113.%' OR {column} LIKE '%10.1.1.%'"
        ));
        assert_eq!(raw, 0, "a raw address in {table}");
    }
    assert!(
        first["detail"].as_str().unwrap().contains("21 attempts"),
        "{first}"
    );
}

#[test]
fn forged_addresses_do_not_lock_the_administrator_out() {
    let w = world();
    // Ten bad passwords from one address, each claiming another through headers the proxy
    // does not set: all one client.
    for i in 0..10 {
        w.h.advance(7);
        let forged = format!("100.64.0.{i}");
        login(
            &w,
            "203.0.113.66",
            "市管",
            "wrong password",
            &[("CF-Connecting-IP", &forged), ("X-Forwarded-For", &forged)],
        );
    }
    let clients = w.one("SELECT COUNT(DISTINCT client) AS n FROM login_failures");
    assert_eq!(clients["n"], 1);
    assert!(
        w.count("SELECT COUNT(*) AS n FROM audit WHERE detail LIKE '%100.64.%'") == 0,
        "the forged addresses are not recorded"
    );
    // The attacker's address is locked out, even with the right password…
    assert_eq!(login(&w, "203.0.113.66", "市管", PASSWORD, &[]).0, 429);
    // …and the administrator, from the office, is not.
    assert_eq!(login(&w, "10.1.1.1", "市管", PASSWORD, &[]).0, 303);
}

#[test]
fn an_account_wide_lock_is_short_and_never_for_a_known_client() {
    let w = world();
    assert_eq!(login(&w, "10.1.1.1", "市管", PASSWORD, &[]).0, 303);
    // Ten addresses, one bad password each: the account locks for everyone else…
    for i in 0..10 {
        w.h.advance(3);
        let (s, _) = login(&w, &format!("198.18.0.{i}"), "市管", "wrong password", &[]);
        assert!(s == 401 || s == 429, "{s}");
    }
    let (s, page) = login(&w, "198.18.9.9", "市管", PASSWORD, &[]);
    assert_eq!(s, 429, "{page}");
    // …but not for the office's address it logged in from before.
    assert_eq!(login(&w, "10.1.1.1", "市管", PASSWORD, &[]).0, 303);
    // And the lock is short.
    w.h.advance(edge::access::LOCK_SECS + 1);
    assert_eq!(login(&w, "198.18.9.9", "市管", PASSWORD, &[]).0, 303);
}
