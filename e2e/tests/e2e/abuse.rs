//! Abuse resistance on real workerd, tried as an attacker would, with the holding signals at
//! their defaults: one client with 20 solved challenges on one code in a minute, with and without
//! its cookie; the 疑似刷评 queue released and rejected; the proof of work rising on the attacked
//! code and not its neighbour; a 追评 made before the first forward reaching the receiver in
//! order; an expired card's words. (The busy window behind one NAT, the address and hours
//! signals, and the fall back of the difficulty run over simulated time in `edge::guard`'s
//! storage tests.)

use crate::workerd::{
    admin, err_code, export_with, http, input, land_as, load, now, post, printed, qr_key, receiver,
    segment, sub, wait_for, worker,
};
use std::sync::atomic::Ordering;
use std::time::Duration;
use wire::challenge::Challenge;
use wire::directory::Entry;
use wire::qr::QrPayload;
use wire::rating::{Id128, Level};
use wire::time::Day;

fn rand_id() -> Id128 {
    Id128(crate::workerd::rand16())
}

/// Lines of an export that belong to `code` (its window's name is in each line).
fn lines_of(csv: &str, window: &str) -> usize {
    csv.lines().filter(|l| l.contains(window)).count()
}

#[test]
#[ignore = "needs workerd and the built worker: `cargo xtask test` runs it"]
fn one_client_cannot_sink_a_staff_members_record() {
    let rx = receiver();
    let vars = [
        (
            "UPSTREAM_URL",
            format!("http://127.0.0.1:{}/ratings", rx.port),
        ),
        ("POW_DIFFICULTY", "4".to_owned()),
        // The defaults, as an office runs them.
        ("HOLD_RATE", "2/2 10/30".to_owned()),
        ("HOLD_ADDRESS", "4/10".to_owned()),
        ("POW_RISE", "6/10".to_owned()),
        // A code's recent count is cached with its directory entry for this long.
        ("DIRECTORY_CACHE_SECS", "1".to_owned()),
    ];
    let (w, state) = worker("abuse", &vars);
    let keeps = Entry::example("X01", Some("X1"));
    let drops = Entry::example("X02", Some("X2"));
    let neighbour = Entry::example("X03", Some("X3"));
    let amended = Entry::example("X04", Some("X4"));
    load(
        &w,
        vec![
            keeps.clone(),
            drops.clone(),
            neighbour.clone(),
            amended.clone(),
        ],
    );

    // 20 solved challenges in a minute from one client that keeps its cookie: one rating.
    let device = rand_id();
    let seg = segment(&keeps);
    let chs: Vec<String> = (0..20).map(|_| land_as(&w, &seg, Some(device))).collect();
    std::thread::sleep(Duration::from_millis(1100));
    for (i, ch) in chs.iter().enumerate() {
        // The body's device field says something else each time: not read.
        let (s, v) = post(
            &w,
            sub(&seg, ch, rand_id(), input(Level::VeryDissatisfied, &[108]))
                .to_json()
                .as_bytes(),
        );
        assert_eq!(s, 200, "post {i}: {v}");
    }
    // The same client with another device's cookie on its post: refused.
    let ch = land_as(&w, &seg, Some(device));
    std::thread::sleep(Duration::from_millis(1100));
    let other = format!("zsp_d={}", rand_id().to_text());
    let (s, _, b) = http(
        "POST",
        &format!("{}/api/rate", w.base),
        &[("Content-Type", "application/json"), ("Cookie", &other)],
        Some(
            sub(&seg, &ch, device, input(Level::Satisfied, &[]))
                .to_json()
                .as_bytes(),
        ),
    );
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!((s, err_code(&v).as_str()), (400, "challenge.wrong_device"));

    // 20 from a client that keeps no cookie: a new device each time.
    let seg2 = segment(&drops);
    let chs: Vec<String> = (0..20).map(|_| land_as(&w, &seg2, None)).collect();
    std::thread::sleep(Duration::from_millis(1100));
    for (i, ch) in chs.iter().enumerate() {
        let (s, v) = post(
            &w,
            sub(&seg2, ch, rand_id(), input(Level::VeryDissatisfied, &[108]))
                .to_json()
                .as_bytes(),
        );
        assert_eq!(s, 200, "post {i}: {v}");
        assert_eq!(v["assess_number"], 1, "answered like any other");
    }
    let counted = export_with(&w, "");
    let held = export_with(&w, "hold=held");
    let (kept_counted, kept_held) = (lines_of(&counted, "X01"), lines_of(&held, "X01"));
    let (drop_counted, drop_held) = (lines_of(&counted, "X02"), lines_of(&held, "X02"));
    println!(
        "20 solved challenges in a minute on one code: keeping the cookie {kept_counted} counted, {kept_held} held (1 rating, amended); \
         without cookies {drop_counted} counted, {drop_held} held"
    );
    assert!(kept_counted <= 1 && kept_counted + kept_held == 1);
    assert!(drop_counted <= 2, "{drop_counted}");
    assert_eq!(drop_counted + drop_held, 20, "kept, never dropped");

    // Only what counted is forwarded, and only it opens a case (and alerts). The cookie
    // keeper's first post counted until its burst held the amendments: its case is open, and
    // it went upstream if the alarm was quicker than the third post.
    wait_for("the counted ratings forwarded", 30, || {
        rx.got.lock().unwrap().len() >= drop_counted
    });
    std::thread::sleep(Duration::from_secs(3));
    let ever = rx.got.lock().unwrap().len();
    // The keeper's first two revisions counted (2 in 2 minutes): each went upstream if the
    // alarm ran before the next post.
    assert!((drop_counted..=drop_counted + 2).contains(&ever), "{ever}");
    let (s, cases) = admin(&w, "GET", "/admin/cases", "");
    assert_eq!(s, 200, "{cases}");
    let cases: serde_json::Value = serde_json::from_str(&cases).unwrap();
    let open = cases["cases"].as_array().map_or(0, |a| a.len());
    assert_eq!(open, drop_counted + 1, "{cases}");

    // The queue: release one (it counts, is forwarded, opens its case), reject one (kept, never
    // forwarded); each decision once.
    let held_ids: Vec<String> = held
        .lines()
        .filter(|l| l.contains("X02"))
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    let decide =
        |id: &str, what: &str| admin(&w, "POST", &format!("/admin/ratings/{id}/{what}"), "");
    let (s, b) = decide(&held_ids[0], "release");
    assert_eq!(s, 200, "{b}");
    let (s, b) = decide(&held_ids[1], "reject");
    assert_eq!(s, 200, "{b}");
    let (s, b) = decide(&held_ids[1], "release");
    assert_eq!(s, 404, "a rejected rating is not released later: {b}");
    let before = ever;
    wait_for("the released rating forwarded", 30, || {
        rx.got.lock().unwrap().len() == before + 1
    });
    std::thread::sleep(Duration::from_secs(2));
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), before + 1);
    assert!(got.iter().any(|(k, _)| k == &held_ids[0]));
    assert!(!got.iter().any(|(k, _)| k.starts_with(&held_ids[1])));
    assert_eq!(lines_of(&export_with(&w, ""), "X02"), drop_counted + 1);
    assert_eq!(lines_of(&export_with(&w, "hold=rejected"), "X02"), 1);
    // The upstream sees no device id: a per-code pseudonym at most.
    let body = &got.last().unwrap().1;
    assert!(body.get("device").is_none(), "{body}");
    assert_eq!(body["rater"].as_str().map(str::len), Some(32), "{body}");

    // A held flood does not raise the work asked of the next citizen (only what counts does:
    // `a_flood_from_one_address_is_held_on_its_own`).
    std::thread::sleep(Duration::from_millis(1100));
    let difficulty = |seg: &str| {
        Challenge::decode(&land_as(&w, seg, None))
            .unwrap()
            .0
            .difficulty
    };
    let attacked = difficulty(&seg2);
    let calm = difficulty(&segment(&neighbour));
    println!("proof of work: attacked code {attacked} bits, its neighbour {calm} bits (base 4)");
    assert_eq!((attacked, calm), (4, 4));

    // A 追评 made before the first forward: the receiver takes revision 1, then 2.
    rx.down.store(true, Ordering::SeqCst);
    let n = rx.got.lock().unwrap().len();
    let me = rand_id();
    let seg4 = segment(&amended);
    for (level, tags) in [(Level::Dissatisfied, &[207][..]), (Level::Satisfied, &[])] {
        let ch = land_as(&w, &seg4, Some(me));
        std::thread::sleep(Duration::from_millis(1100));
        let (s, v) = post(
            &w,
            sub(&seg4, &ch, me, input(level, tags)).to_json().as_bytes(),
        );
        assert_eq!(s, 200, "{v}");
    }
    std::thread::sleep(Duration::from_secs(2));
    rx.down.store(false, Ordering::SeqCst);
    wait_for("both revisions forwarded", 60, || {
        rx.got.lock().unwrap().len() == n + 2
    });
    let got = rx.got.lock().unwrap().clone();
    let (first, second) = (&got[n], &got[n + 1]);
    assert!(!first.0.contains('.'), "revision 1 first: {first:?}");
    assert_eq!(first.1["assess_number"], 1);
    assert_eq!(first.1["level"], "dissatisfied");
    assert_eq!(second.1["assess_number"], 2);
    assert_eq!(second.1["level"], "satisfied");
    println!(
        "追评 before the first forward: the receiver took {} then {}",
        first.0, second.0
    );

    // The queue in Chromium, as a 大厅管理员 meets it: release one, reject one.
    crate::console::account(
        &w,
        "上城管理员",
        "hall",
        serde_json::json!({"places": [{"region": drops.region, "hall": drops.hall}]}),
        "hall-password-2026",
    );
    let cfg = state.join("held.json");
    std::fs::write(
        &cfg,
        serde_json::json!({"base": w.base, "admin": ["上城管理员", "hall-password-2026"]})
            .to_string(),
    )
    .unwrap();
    let shots = xtask::setup::target_dir().join("e2e-screenshots/console");
    std::fs::create_dir_all(&shots).unwrap();
    let n = rx.got.lock().unwrap().len();
    let seen = crate::workerd::browser("held.mjs", &[cfg.as_ref(), shots.as_ref()]);
    println!("the 疑似刷评 queue in Chromium: {seen}");
    wait_for("the rating released in the browser forwarded", 30, || {
        rx.got.lock().unwrap().len() == n + 1
    });
}

#[test]
#[ignore = "needs workerd and the built worker: `cargo xtask test` runs it"]
fn an_expired_card_says_it_is_out_of_date() {
    let vars = [("CODE_VALID_DAYS", "30".to_owned())];
    let (w, _state) = worker("expiry", &vars);
    let e = Entry::example("V01", Some("V1"));
    load(&w, vec![e.clone()]);
    let today = Day::from_unix(now()).unwrap();
    let get = |seg: &str| {
        let (s, _, b) = http("GET", &format!("{}/{seg}", w.base), &[], None);
        (s, String::from_utf8_lossy(&b).into_owned())
    };
    let (s, page) = get(&printed(&qr_key(), &e));
    assert_eq!(s, 200, "{page}");
    let old = QrPayload::seal(e.code, Day(today.0 - 31), &qr_key());
    let (s, page) = get(&old);
    assert_eq!(s, 410);
    assert!(page.contains("此二维码已过有效期"), "{page}");
    assert!(
        !page.contains("id=\"zsp-boot\""),
        "no form on an expired card"
    );
    // Kept to look at (its stylesheet is inline): `target/e2e-screenshots/citizen/expired.html`.
    let dir = xtask::setup::target_dir().join("e2e-screenshots/citizen");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("expired.html"), &page).unwrap();
}

/// A landing page as a client at `address` (as the proxy names it) gets it, with its device
/// cookie if any: the app's challenge and the plain form's.
fn land_from(
    w: &xtask::edge::Worker,
    seg: &str,
    address: &str,
    device: Option<Id128>,
) -> (String, String) {
    let cookie = device.map(|d| format!("zsp_d={}", d.to_text()));
    let mut headers = vec![("X-Real-IP", address)];
    if let Some(c) = &cookie {
        headers.push(("Cookie", c.as_str()));
    }
    let (s, _, body) = http("GET", &format!("{}/{seg}", w.base), &headers, None);
    let html = String::from_utf8(body).unwrap();
    assert_eq!(s, 200, "{html}");
    let boot = html.split("id=\"zsp-boot\">").nth(1).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(boot.split("</script>").next().unwrap()).unwrap();
    let i = html.find("name=\"challenge\" value=\"").unwrap() + 24;
    let form = html[i..].split('"').next().unwrap().to_owned();
    (v["challenge"].as_str().unwrap().to_owned(), form)
}

fn post_from(
    w: &xtask::edge::Worker,
    address: &str,
    device: Option<Id128>,
    body: &[u8],
    form: bool,
) -> u16 {
    let cookie = device.map(|d| format!("zsp_d={}", d.to_text()));
    let (path, ct) = if form {
        ("/rate", "application/x-www-form-urlencoded")
    } else {
        ("/api/rate", "application/json")
    };
    let mut headers = vec![("X-Real-IP", address), ("Content-Type", ct)];
    if let Some(c) = &cookie {
        headers.push(("Cookie", c.as_str()));
    }
    http("POST", &format!("{}{path}", w.base), &headers, Some(body)).0
}

/// Behind a proxy that names the client: a flood of form and app posts from one address is held
/// on its own; the citizens after it, from other addresses, are counted and asked no more work;
/// a bulk rejection of the flood is one audit entry with its count, and none of it goes upstream.
#[test]
#[ignore = "needs workerd and the built worker: `cargo xtask test` runs it"]
fn a_flood_from_one_address_is_held_on_its_own() {
    let rx = receiver();
    let vars = [
        (
            "UPSTREAM_URL",
            format!("http://127.0.0.1:{}/ratings", rx.port),
        ),
        ("CLIENT_IP_HEADER", "X-Real-IP".to_owned()),
        ("POW_DIFFICULTY", "4".to_owned()),
        ("HOLD_RATE", "2/2 10/30".to_owned()),
        ("HOLD_ADDRESS", "4/10".to_owned()),
        ("POW_RISE", "6/10".to_owned()),
        ("DIRECTORY_CACHE_SECS", "1".to_owned()),
    ];
    let (w, state) = worker("flood", &vars);
    let e = Entry::example("Y01", Some("Y1"));
    let neighbour = Entry::example("Y02", Some("Y2"));
    load(&w, vec![e.clone(), neighbour.clone()]);
    let seg = segment(&e);
    let attacker = "198.51.100.66";
    // Twelve cookieless form posts and twenty solved app posts, from one address.
    let forms: Vec<String> = (0..12)
        .map(|_| land_from(&w, &seg, attacker, None).1)
        .collect();
    let apps: Vec<String> = (0..20)
        .map(|_| land_from(&w, &seg, attacker, None).0)
        .collect();
    std::thread::sleep(Duration::from_millis(1100));
    for (i, fc) in forms.iter().enumerate() {
        let body = format!(
            "code={seg}&challenge={fc}&lang=zh&level=very_dissatisfied&tag=108&comment=flood{i}&phone=&website="
        );
        assert_eq!(post_from(&w, attacker, None, body.as_bytes(), true), 200);
    }
    for ch in &apps {
        let s = sub(&seg, ch, rand_id(), input(Level::VeryDissatisfied, &[108]));
        assert_eq!(
            post_from(&w, attacker, None, s.to_json().as_bytes(), false),
            200
        );
    }
    // Two citizens from other addresses, each with the browser's cookie.
    let mut difficulties = vec![];
    for (n, address) in ["203.0.113.10", "203.0.113.20"].iter().enumerate() {
        let me = rand_id();
        let (ch, _) = land_from(&w, &seg, address, Some(me));
        difficulties.push(Challenge::decode(&ch).unwrap().0.difficulty);
        std::thread::sleep(Duration::from_millis(1100));
        let mut r = input(Level::Satisfied, &[]);
        r.comment = format!("citizen{n}");
        let s = sub(&seg, &ch, me, r);
        assert_eq!(
            post_from(&w, address, Some(me), s.to_json().as_bytes(), false),
            200
        );
    }
    let counted = export_with(&w, "");
    let held = export_with(&w, "hold=held");
    let attacker_counted = lines_of(&counted, "Y01") - lines_of(&counted, "citizen");
    println!(
        "12 form and 20 app posts from one address: {attacker_counted} counted, {} held; the citizens after it: {} of 2 counted, asked {difficulties:?} bits (base 4)",
        lines_of(&held, "Y01"),
        lines_of(&counted, "citizen")
    );
    assert_eq!(lines_of(&counted, "citizen"), 2, "both citizens counted");
    assert!(attacker_counted <= 2, "{attacker_counted}");
    assert_eq!(
        attacker_counted + lines_of(&held, "Y01"),
        32,
        "kept, never dropped"
    );
    assert_eq!(difficulties, [4, 4], "the work asked has not risen");

    // The flood rejected in one decision: one audit entry with its count, nothing forwarded.
    let today = Day::from_unix(now()).unwrap().to_string();
    let (s, b) = admin(
        &w,
        "POST",
        "/admin/held/reject",
        &serde_json::json!({"code": e.code.to_text(), "from": today, "to": today}).to_string(),
    );
    assert_eq!(s, 200, "{b}");
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["count"], 32 - attacker_counted as i64);
    assert_eq!(lines_of(&export_with(&w, "hold=held"), "Y01"), 0);
    let audit: i64 = crate::logins::count(
        &state,
        "SELECT COUNT(*) FROM audit WHERE action = 'rating.reject.bulk' AND detail = printf('%d ratings', 32 - (SELECT COUNT(*) FROM ratings WHERE hold = 0 AND comment NOT LIKE 'citizen%'))",
    );
    assert_eq!(audit, 1);
    wait_for("the counted ratings forwarded", 30, || {
        rx.got.lock().unwrap().len() >= attacker_counted + 2
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        rx.got.lock().unwrap().len(),
        attacker_counted + 2,
        "none of the rejected went upstream"
    );

    // Many clients that each count do raise the work on this code, and not on its neighbour.
    for i in 0..8 {
        let address = format!("192.0.2.{i}");
        let me = rand_id();
        let (ch, _) = land_from(&w, &seg, &address, Some(me));
        std::thread::sleep(Duration::from_millis(1050));
        let s = sub(&seg, &ch, me, input(Level::Satisfied, &[]));
        assert_eq!(
            post_from(&w, &address, Some(me), s.to_json().as_bytes(), false),
            200
        );
    }
    std::thread::sleep(Duration::from_millis(1100));
    let bits = |seg: &str| {
        Challenge::decode(&land_from(&w, seg, "203.0.113.99", None).0)
            .unwrap()
            .0
            .difficulty
    };
    let (attacked, calm) = (bits(&seg), bits(&segment(&neighbour)));
    println!(
        "after 8 more counted ratings from 8 addresses: {attacked} bits on the code, {calm} on its neighbour"
    );
    assert!(attacked > 4, "{attacked}");
    assert_eq!(calm, 4);
}
