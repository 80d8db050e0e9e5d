//! Console logins against a scripted client on real workerd, behind a proxy that names the
//! client (`CLIENT_IP_HEADER=X-Real-IP`, sent here as nginx would): a flood of logins with new
//! names is hashed within the budget and refused at once past it (what it leaves the citizens'
//! landing pages is a figure of `cargo xtask bench edge`); a 60 KB name is never hashed; forged
//! addresses do not lock the administrator out.

use crate::console::account;
use crate::workerd::{metric, worker};
use std::time::Duration;

fn login(base: &str, address: &str, name: &str, pw: &str, extra: &[(&str, &str)]) -> u16 {
    let body = format!(
        "name={}&password={}",
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC),
        percent_encoding::utf8_percent_encode(pw, percent_encoding::NON_ALPHANUMERIC)
    );
    // Not following the login's redirect: its 303 is the answer.
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut r = agent
        .post(&format!("{base}/console/login"))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("Origin", base)
        .set("X-Real-IP", address);
    for (k, v) in extra {
        r = r.set(k, v);
    }
    match r.send_string(&body) {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("login: {e}"),
    }
}

/// 300 logins, 20 threads of 15 (`send(base, thread, i)`): their statuses.
fn flood(base: &str, send: fn(&str, usize, usize) -> u16) -> Vec<u16> {
    let threads: Vec<_> = (0..20)
        .map(|t| {
            let base = base.to_owned();
            std::thread::spawn(move || (0..15).map(|i| send(&base, t, i)).collect::<Vec<u16>>())
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

fn db(state: &std::path::Path) -> rusqlite::Connection {
    let path = ::edge::zsp::data::database(&state.join("data"))
        .unwrap()
        .expect("the storage object's database");
    rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

pub(crate) fn count(state: &std::path::Path, sql: &str) -> i64 {
    db(state).query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
#[ignore = "needs workerd and the built worker: `cargo xtask test` runs it"]
fn logins_cost_the_attacker_not_the_office() {
    let (w, state) = worker("logins", &[("CLIENT_IP_HEADER", "X-Real-IP".to_owned())]);
    account(
        &w,
        "city-admin",
        "city",
        serde_json::json!("all"),
        "a long enough password",
    );
    assert_eq!(
        login(
            &w.base,
            "10.8.0.1",
            "city-admin",
            "a long enough password",
            &[]
        ),
        303
    );

    // 300 logins with new names, 20 at a time, each thread its own address: a password is
    // hashed only within the budget (LOGIN_HASHES_PER_SEC, 4 by default), every other login is
    // refused at once. What that leaves the landing pages, beside the same flood of `/status`,
    // is a figure of `cargo xtask bench edge`.
    let statuses = flood(&w.base, |base, t, i| {
        login(
            base,
            &format!("198.51.100.{t}"),
            &format!("guess-{t}-{i}"),
            "password123",
            &[],
        )
    });
    let hashed = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(hashed + refused, 300, "{statuses:?}");
    assert!(
        refused > 0,
        "a flood of 300 is past the budget: {statuses:?}"
    );
    let peak = metric(&w, "zsp_login_hashes_peak_per_second");
    let hashes = metric(&w, "zsp_login_hashes_last_10m");
    println!(
        "300 logins with new names, 20 at a time: {hashed} hashed, {refused} refused at once; \
         password hashes in the busiest second: {peak} (budget 4), {hashes} in all"
    );
    assert!((1..=4).contains(&peak), "{peak} hashes in one second");
    // The administrator's login and the flood's hashed ones, each hashed once.
    assert_eq!(hashes, 1 + hashed as i64);
    // Each client's refusals are one audit entry, not one each.
    let entries = count(
        &state,
        "SELECT COUNT(*) FROM audit WHERE action LIKE 'login.%'",
    );
    assert!(entries <= 1 + 20 * 2 * 2, "{entries} audit entries");

    // A 60 KB name: refused before anything is hashed, nothing of it stored.
    let before = count(&state, "SELECT COUNT(*) FROM audit");
    let s = login(&w.base, "198.51.100.99", &"x".repeat(60 * 1024), "x", &[]);
    assert_eq!(s, 400);
    assert_eq!(metric(&w, "zsp_login_hashes_last_10m"), hashes);
    assert_eq!(count(&state, "SELECT COUNT(*) FROM audit"), before);
    assert_eq!(
        count(
            &state,
            "SELECT COUNT(*) FROM login_failures WHERE length(account) > 100"
        ),
        0
    );

    // Ten bad passwords for the administrator, each with another forged address in the headers
    // the proxy does not set: one client, locked; the administrator gets in from the office.
    std::thread::sleep(Duration::from_secs(1));
    for i in 0..10 {
        let forged = format!("100.64.0.{i}");
        login(
            &w.base,
            "203.0.113.66",
            "city-admin",
            "not the password",
            &[("CF-Connecting-IP", &forged), ("X-Forwarded-For", &forged)],
        );
    }
    assert_eq!(
        login(
            &w.base,
            "203.0.113.66",
            "city-admin",
            "a long enough password",
            &[]
        ),
        429
    );
    assert_eq!(
        login(
            &w.base,
            "10.8.0.1",
            "city-admin",
            "a long enough password",
            &[]
        ),
        303
    );
    assert_eq!(
        count(
            &state,
            "SELECT COUNT(*) FROM audit WHERE detail LIKE '%100.64.%'"
        ),
        0,
        "forged addresses are never recorded"
    );
}
