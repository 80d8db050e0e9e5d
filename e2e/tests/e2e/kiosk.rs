//! Kiosk mode on real workerd and Chromium at a tablet's 1280×800 (`e2e/kiosk.mjs`): a tablet
//! made for a window by the bearer API, the staff member on duty set by the queue system with a
//! photo; standby, an unarmed tap, one rating per arming, the idle reset, three ratings made
//! offline (held for review, since the press could not reach the server, then released), the
//! queue system's arming for a 办件, and the tablet withdrawn. The upstream receives
//! every rating once, on 评价渠道 4; bad inputs are refused in words.

use crate::console::{HALL_A, HALL_B, entry};
use crate::links::token;
use crate::workerd::{admin, bearer, browser, http, load, receiver, wait_for, worker};

#[test]
#[ignore = "needs workerd, the built worker and Chromium: `cargo xtask test` runs it"]
fn a_hall_tablet_stands_by_takes_one_rating_per_arming_and_queues_offline() {
    let rx = receiver();
    let vars = [
        (
            "UPSTREAM_URL",
            format!("http://127.0.0.1:{}/ratings", rx.port),
        ),
        ("UPSTREAM_MAPPING", "provincial".to_owned()),
        ("KIOSK_IDLE_SECS", "10".to_owned()),
    ];
    let (w, state) = worker("kiosk", &vars);
    let window = entry("330102", HALL_A, "A07", None);
    let theirs = entry("330105", HALL_B, "B07", None);
    load(&w, vec![window.clone(), theirs.clone()]);
    let code = window.code.to_text();
    let matter = window.matters[0].code.clone();
    let queue = token(
        &w,
        "上城叫号系统",
        serde_json::json!({"places": [{"region": "330102", "hall": HALL_A}]}),
    );

    // A tablet for the window; refused for bad input and outside the token's scope.
    let (s, b) = admin(
        &w,
        "POST",
        "/admin/kiosks",
        &serde_json::json!({"code": code, "label": "7号窗口评价器"}).to_string(),
    );
    assert_eq!(s, 201, "{b}");
    let made: serde_json::Value = serde_json::from_str(&b).unwrap();
    crate::contract::fits("KioskCreated", &made);
    let url = made["url"].as_str().unwrap().to_owned();
    // Its state, as the tablet reads it while standing by.
    let (s, _, st) = http("GET", &format!("{url}/state"), &[], None);
    assert_eq!(s, 200);
    crate::contract::fits("KioskState", &serde_json::from_slice(&st).unwrap());
    let id = made["id"].as_str().unwrap().to_owned();
    let (s, b) = admin(
        &w,
        "POST",
        "/admin/kiosks",
        &serde_json::json!({"code": code, "label": ""}).to_string(),
    );
    assert_eq!((s, b.contains("\"field\":\"label\"")), (422, true), "{b}");
    let (s, b) = bearer(
        &w,
        &queue,
        "POST",
        "/admin/kiosks",
        &serde_json::json!({"code": theirs.code.to_text(), "label": "x"}).to_string(),
    );
    assert_eq!(s, 404, "another hall's window: {b}");

    // The staff member on duty, with a photo, from the queue system; bad fields named.
    let photo = photo_png();
    let duty = |body: serde_json::Value, who: &str| {
        bearer(
            &w,
            who,
            "POST",
            &format!("/api/v1/kiosk/{code}/staff"),
            &body.to_string(),
        )
    };
    let contract = crate::contract::openapi();
    let fits = |schema: &str, b: &str| {
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        let e = crate::contract::against(&contract, schema, &v);
        assert!(e.is_empty(), "{schema}: {e:?} in {v}");
    };
    let (s, b) = duty(
        serde_json::json!({"name": "李强", "staff_no": "HZ-0108"}),
        &queue,
    );
    assert_eq!(s, 200, "{b}");
    fits("OnDuty", &b);
    let (s, b) = bearer(
        &w,
        &queue,
        "DELETE",
        &format!("/api/v1/kiosk/{code}/staff"),
        "",
    );
    assert_eq!(s, 200, "{b}");
    fits("OnDuty", &b);
    let (s, b) = duty(
        serde_json::json!({"name": "王芳", "staff_no": "HZ-0107",
            "photo": wire::base64::encode(&photo)}),
        &queue,
    );
    assert_eq!(s, 200, "{b}");
    fits("OnDuty", &b);
    for (body, field) in [
        (serde_json::json!({"name": "", "staff_no": "1"}), "name"),
        (
            serde_json::json!({"name": "王芳", "staff_no": "工号"}),
            "staff_no",
        ),
        (
            serde_json::json!({"name": "王芳", "staff_no": "1", "photo": wire::base64::encode(b"GIF89a")}),
            "photo",
        ),
    ] {
        let (s, b) = duty(body, &queue);
        assert_eq!(s, 422, "{b}");
        fits("Error", &b);
        assert!(b.contains(&format!("\"field\":\"{field}\"")), "{b}");
    }
    let (s, _) = bearer(
        &w,
        &queue,
        "POST",
        &format!("/api/v1/kiosk/{}/staff", theirs.code.to_text()),
        r#"{"name":"赵敏","staff_no":"1"}"#,
    );
    assert_eq!(s, 404, "another hall's window");
    let (s, _) = duty(
        serde_json::json!({"name": "王芳", "staff_no": "1"}),
        "zspt_a_b",
    );
    assert_eq!(s, 401);

    // No proof of work and no cookie, but never without the device token.
    let (s, _, _) = http(
        "POST",
        &format!("{}/kiosk/{}/rate", w.base, "A".repeat(26)),
        &[("Content-Type", "application/json")],
        Some(br#"{"v":1,"code":"kiosk","challenge":"","pow":0,"id":"AAAAAAAAAAAAAAAAAAAAAAAAAA","level":"satisfied","tags":[],"tag_version":2}"#),
    );
    assert_eq!(s, 404);

    let shots = xtask::setup::target_dir().join("e2e-screenshots/kiosk");
    std::fs::create_dir_all(&shots).unwrap();
    let seen = browser(
        "kiosk.mjs",
        &[
            url.as_ref(),
            w.base.as_ref(),
            queue.as_ref(),
            code.as_ref(),
            matter.as_ref(),
            w.admin_token.as_ref(),
            id.as_ref(),
            shots.as_ref(),
        ],
    );
    println!("the tablet in Chromium: {seen}");

    // The three made offline named no arming of the server's (the press could not reach it):
    // held for review, not lost, and released by the hall in one decision.
    wait_for("the armed ratings upstream", 60, || {
        rx.got.lock().unwrap().len() == 2
    });
    let today = wire::time::Day::from_unix(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    )
    .unwrap()
    .to_string();
    let (s, b) = admin(
        &w,
        "POST",
        "/admin/held/release",
        &serde_json::json!({"code": code, "signal": "unarmed", "from": today, "to": today})
            .to_string(),
    );
    assert_eq!(s, 200, "{b}");
    let released: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        released["count"], 3,
        "the offline ones, held as unarmed: {b}"
    );
    // 1 armed + 3 offline + 1 armed by the queue system; the idle one never rated.
    wait_for("five ratings upstream", 60, || {
        rx.got.lock().unwrap().len() == 5
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 5, "each rating once: {got:?}");
    let mut keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 5);
    for (_, body) in &got {
        assert_eq!(body["pf"], "4", "评价渠道 4, a hall tablet: {body}");
        assert_eq!(body["assessNumber"], "1", "{body}");
    }
    let comments: Vec<&str> = got
        .iter()
        .filter_map(|(_, b)| b["writingEvaluation"].as_str())
        .collect();
    for c in ["窗口服务很耐心", "离线评价1", "离线评价2", "离线评价3"] {
        assert!(comments.contains(&c), "{c} in {comments:?}");
    }
    assert!(
        !comments.contains(&"等了很久"),
        "the idle draft was never sent"
    );
    let queued: Vec<_> = got
        .iter()
        .filter(|(_, b)| b["projectNo"] == "BJ-2026-K001")
        .collect();
    assert_eq!(queued.len(), 1, "{got:?}");
    assert_eq!(queued[0].1["taskCode"], matter.as_str());
    println!(
        "upstream took 5 ratings once each on pf 4, one with projectNo {}",
        queued[0].1["projectNo"]
    );

    // Withdrawn: the page says so, and ratings are refused.
    let (s, _, b) = http("GET", &url, &[], None);
    assert_eq!(s, 410);
    assert!(String::from_utf8_lossy(&b).contains("此评价平板已停用"));
    let (s, _, b) = http(
        "POST",
        &format!("{url}/rate"),
        &[("Content-Type", "application/json")],
        Some(br#"{"v":1,"code":"kiosk","challenge":"","pow":0,"id":"AAAAAAAAAAAAAAAAAAAAAAAAAA","level":"satisfied","tags":[],"tag_version":2}"#),
    );
    assert_eq!(s, 410, "{}", String::from_utf8_lossy(&b));
    let (s, _, _) = http("GET", &format!("{url}/state"), &[], None);
    assert_eq!(s, 410);
    let db = ::edge::zsp::data::database(&state.join("data"))
        .unwrap()
        .expect("the store's SQLite file");
    drop(w);
    let n: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM ratings WHERE via = 'kiosk'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 5);
}

#[test]
#[ignore = "needs workerd, the built worker and Chromium: `cargo xtask test` runs it"]
fn a_hall_admin_sets_up_a_tablet_in_the_console() {
    let (w, state) = worker("kiosk-console", &[]);
    let window = entry("330102", HALL_A, "A08", None);
    load(&w, vec![window.clone()]);
    crate::console::account(
        &w,
        "大厅甲",
        "hall",
        serde_json::json!({"places": [{"region": "330102", "hall": HALL_A}]}),
        "kiosk-console-pw-1",
    );
    let photo = state.join("photo.png");
    std::fs::write(&photo, photo_png()).unwrap();
    let shots = xtask::setup::target_dir().join("e2e-screenshots/kiosk");
    std::fs::create_dir_all(&shots).unwrap();
    let code = window.code.to_text();
    let seen = browser(
        "kiosk-console.mjs",
        &[
            w.base.as_ref(),
            "大厅甲".as_ref(),
            "kiosk-console-pw-1".as_ref(),
            code.as_ref(),
            photo.as_ref(),
            shots.as_ref(),
        ],
    );
    println!("the console's tablets: {seen}");
    // Each step is in the audit log under the hall admin's name.
    let db = ::edge::zsp::data::database(&state.join("data"))
        .unwrap()
        .expect("the store's SQLite file");
    drop(w);
    let c = rusqlite::Connection::open(&db).unwrap();
    let mut q = c
        .prepare("SELECT action FROM audit WHERE actor = '大厅甲' AND action LIKE 'kiosk.%' ORDER BY rowid")
        .unwrap();
    let actions: Vec<String> = q
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actions, ["kiosk.add", "kiosk.staff", "kiosk.revoke"]);
}

/// A small PNG (a QR's, as the edge writes them) to stand for a staff member's photo.
fn photo_png() -> Vec<u8> {
    let (side, raw) = ::edge::links::qr_image("https://pj.example.gov.cn/").unwrap();
    wire::png::one_bit(side, &raw, &wire::png::stored(&raw))
}
