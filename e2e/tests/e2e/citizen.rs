//! Open to citizens, on real workerd: a 差评 followed through its private status link in
//! Chromium (`e2e/receipt.mjs`, with a handler in the console and a 企业微信 stand-in taking the
//! reopened case's alert); wrong, guessed and expired tokens answered alike; the misses' budget;
//! the public results' page, JSON and CSV agreeing.

use crate::console::{HALL_A, account, entry};
use crate::workerd::{browser, http, load, now, printed, qr_key, stack, start, wait_for, worker};
use xtask::robots::{Robot, add_route, receiver};

fn get(base: &str, path: &str) -> (u16, String) {
    let (s, _, b) = http("GET", &format!("{base}{path}"), &[], None);
    (s, String::from_utf8_lossy(&b).into_owned())
}

#[test]
#[ignore = "needs workerd, the built worker and Chromium: `cargo xtask test` runs it"]
fn a_citizen_follows_their_complaint_and_the_results_are_public() {
    stack();
    let vars = [("POW_DIFFICULTY", "8".to_owned())];
    let (w, state) = worker("citizen", &vars);
    let a1 = entry("330102", HALL_A, "A01", Some(("SC01", "王芳")));
    load(&w, vec![a1.clone()]);
    account(
        &w,
        "上城处理人",
        "handler",
        serde_json::json!({"places": [{"region": "330102", "hall": HALL_A}]}),
        "handler-password-2026",
    );
    let wecom = receiver(Robot::Wecom, false);
    add_route(&w, "上城区差评群", &wecom, Some(HALL_A), "handlers").unwrap();

    let config = serde_json::json!({
        "base": w.base,
        "url": format!("{}/{}", w.base, printed(&qr_key(), &a1)),
        "handler": ["上城处理人", "handler-password-2026"],
        "hall": HALL_A,
    });
    let file = state.join("receipt.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let shots = xtask::setup::target_dir().join("e2e-screenshots/citizen");
    std::fs::create_dir_all(&shots).unwrap();
    let seen = browser("receipt.mjs", &[file.as_ref(), shots.as_ref()]);
    println!("citizen: {seen}");
    let token = seen["token"].as_str().unwrap().to_owned();
    wait_for("the reopened case's alert", 15, || {
        wecom.texts().iter().any(|t| t.contains("差评重办"))
    });

    // Wrong, malformed and guessed tokens: one answer.
    let (s1, wrong) = get(&w.base, "/s/AAAAAAAAAAAA");
    let (s2, malformed) = get(&w.base, "/s/x");
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(wrong, malformed);
    assert!(wrong.contains("链接无效或已过期"));

    // The public results: the page, the JSON and the CSV say the same.
    let q = format!(
        "hall={}",
        percent_encoding::utf8_percent_encode(HALL_A, percent_encoding::NON_ALPHANUMERIC)
    );
    let (_, j) = get(&w.base, &format!("/results.json?{q}"));
    let j: serde_json::Value = serde_json::from_str(&j).unwrap();
    crate::contract::fits("Results", &j);
    assert_eq!(j["format"], "zsp.results");
    assert_eq!(
        (j["total"]["ratings"].as_i64(), j["total"]["bad"].as_i64()),
        (Some(1), Some(1))
    );
    let (_, csv) = get(&w.base, &format!("/results.csv?{q}"));
    assert!(
        csv.contains(&format!("合计,{HALL_A},1,0,0.0,1,0,")),
        "{csv}"
    );
    let (_, page) = get(&w.base, &format!("/results?{q}"));
    assert!(page.contains("0.0%") && page.contains(HALL_A));
    let (s3, _) = get(&w.base, "/results.json?period=2026-13");
    assert_eq!(s3, 400);

    // The misses' budget is the client's (here, without a proxy naming clients, everyone's):
    // past it, misses are refused, but the real link is still answered.
    wait_for("the start of a minute", 65, || now() % 60 < 30);
    let mut statuses = vec![];
    for i in 0..31u8 {
        // Well-formed tokens (letters only), each a miss.
        let guess = format!(
            "AAAAAAAAAQ{}{}",
            (b'B' + i / 26) as char,
            (b'A' + i % 26) as char
        );
        statuses.push(get(&w.base, &format!("/s/{guess}")).0);
    }
    // (The wrong tokens above may have been this minute's too.)
    let cut = statuses
        .iter()
        .position(|s| *s == 429)
        .expect("refused past the budget");
    assert!(cut >= 28, "{statuses:?}");
    assert!(statuses[..cut].iter().all(|s| *s == 404), "{statuses:?}");
    assert!(statuses[cut..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(get(&w.base, &format!("/s/{token}")).0, 200);

    // Expired: a case closed longer ago than the retention lets its links go, in the same words.
    drop(w);
    let db = ::edge::zsp::data::database(&state.join("data"))
        .unwrap()
        .unwrap();
    // (And the minute's misses, counted above, cleared: they outlive a restart.)
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "UPDATE cases SET state = 'closed', closed_at = 1000; DELETE FROM status_misses;",
        )
        .unwrap();
    let w = start(&state, &vars);
    let (s4, expired) = get(&w.base, &format!("/s/{token}"));
    assert_eq!((s4, &expired), (404, &wrong), "expired reads as wrong");
}
