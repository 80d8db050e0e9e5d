//! The 差评 fast lane on real workerd, against local robot receivers (`xtask::robots`) that check
//! each format and signature with their own code (the `hmac` and `base64` crates, not
//! `wire::alert`): a
//! 企业微信 group robot, a 钉钉 custom robot with 加签, and a generic webhook. Measured: a 差评's
//! alert latency; 50 差评 in a minute on one route (never over 20 messages a minute, every case
//! named once); a route down, then back (every alert delivered once); the repeat rule firing
//! once.

use crate::console::{HALL_A, HALL_B, entry, rate};
use crate::workerd::{admin, load, wait_for, worker};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use wire::rating::Level;
use xtask::robots::{Receiver, Robot, add_route, receiver};

fn open_cases(w: &xtask::edge::Worker) -> Vec<serde_json::Value> {
    let (s, b) = admin(w, "GET", "/admin/cases", "");
    assert_eq!(s, 200, "{b}");
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    crate::contract::fits("Cases", &v);
    v["cases"].as_array().unwrap().clone()
}

/// How many of `texts` name `case` (its number followed by a non-digit).
fn naming(texts: &[String], case: &str) -> usize {
    texts.iter().map(|t| t.matches(case).count()).sum()
}

#[test]
#[ignore = "needs workerd and the built worker: `cargo xtask test` runs it"]
fn alerts_reach_the_robots_in_seconds_under_their_limits_and_once() {
    let vars = [
        ("POW_DIFFICULTY", "2".to_owned()),
        ("PUBLIC_URL", "https://pj.example.gov.cn".to_owned()),
    ];
    let (w, _) = worker("lane", &vars);
    let a1 = entry("330102", HALL_A, "A01", Some(("SC01", "王芳")));
    let a2 = entry("330102", HALL_A, "A02", Some(("SC02", "李强")));
    let burst: Vec<_> = (0..10)
        .map(|i| {
            entry(
                "330105",
                HALL_B,
                &format!("B{i:02}"),
                Some((&format!("GS{i:02}"), "赵敏")),
            )
        })
        .collect();
    let mut all = vec![a1.clone(), a2.clone()];
    all.extend(burst.iter().cloned());
    load(&w, all);
    let wecom = receiver(Robot::Wecom, false);
    let ding = receiver(Robot::Dingtalk, false);
    let hook = receiver(Robot::Webhook, false);
    add_route(&w, "上城区差评群", &wecom, Some(HALL_A), "handlers").unwrap();
    add_route(&w, "全市差评群", &ding, None, "handlers").unwrap();
    add_route(&w, "主管桥接", &hook, None, "supervisors").unwrap();
    // A bad route is refused by field.
    let (s, b) = admin(
        &w,
        "POST",
        "/admin/routes",
        &serde_json::json!({"name": "x", "kind": "dingtalk", "url": ding.url(Robot::Dingtalk), "secret": "nope", "audience": "handlers"}).to_string(),
    );
    assert!(s == 400 && b.contains("SEC"), "{s} {b}");
    // A route sends only where its kind may: the robots' hosts, the operator's ALERT_HOSTS.
    for (kind, url, secret) in [
        ("wecom", "http://10.0.0.5/cgi-bin/webhook/send?key=1", ""),
        (
            "dingtalk",
            "http://localhost/robot/send?access_token=t",
            "SECabc",
        ),
        (
            "webhook",
            "http://127.0.0.2:9/admin/prune",
            "0123456789abcdef",
        ),
    ] {
        let (s, b) = admin(
            &w,
            "POST",
            "/admin/routes",
            &serde_json::json!({"name": "x", "kind": kind, "url": url, "secret": secret, "audience": "handlers"}).to_string(),
        );
        assert!(s == 400 && b.contains("地址："), "{url}: {s} {b}");
    }
    let (s, b) = admin(&w, "GET", "/admin/routes", "");
    assert_eq!(s, 200);
    crate::contract::fits("Routes", &serde_json::from_str(&b).unwrap());

    // One 差评: both handlers' routes within 10 s of the citizen's success.
    let t = Instant::now();
    rate(&w, &a1, Level::Dissatisfied, true);
    wait_for("the first alert", 15, || {
        !wecom.texts().is_empty() && !ding.texts().is_empty()
    });
    let (lw, ld) = (
        wecom.got.lock().unwrap()[0].at - t,
        ding.got.lock().unwrap()[0].at - t,
    );
    println!(
        "差评 → 企业微信 {} ms, 钉钉 {} ms (target ≤ 10 s)",
        lw.as_millis(),
        ld.as_millis()
    );
    assert!(lw < Duration::from_secs(10) && ld < Duration::from_secs(10));
    let text = &wecom.texts()[0];
    let case = open_cases(&w)[0]["case"].as_str().unwrap().to_owned();
    assert!(
        text.contains("差评提醒：不满意") && text.contains(&case),
        "{text}"
    );
    assert!(
        text.contains("工号：SC01") && !text.contains("王芳"),
        "no name unless asked: {text}"
    );
    assert!(
        text.contains("https://pj.example.gov.cn/console/cases/"),
        "{text}"
    );
    assert!(
        !text.contains("13812345678") && !text.contains("138****5678"),
        "no phone: {text}"
    );
    assert!(
        hook.texts().is_empty(),
        "the supervisors hear of the first 差评 only by rules"
    );

    // The repeat rule: the second 差评 on SC01 (same matter) escalates once, by staff and by
    // staff and matter; a third does not again.
    rate(&w, &a1, Level::VeryDissatisfied, false);
    wait_for("the repeat alert", 15, || hook.texts().len() >= 2);
    let kinds = |h: &Receiver| -> Vec<String> {
        h.texts()
            .iter()
            .map(|t| {
                serde_json::from_str::<serde_json::Value>(t).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(kinds(&hook), ["repeat_staff", "repeat_matter"]);
    let j: serde_json::Value = serde_json::from_str(&hook.texts()[0]).unwrap();
    assert!(j.get("comment").is_none() && j.get("phone").is_none() && j["staff_id"] == "SC01");
    rate(&w, &a1, Level::Dissatisfied, false);
    wait_for("the third 差评's alert", 15, || wecom.texts().len() >= 3);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(kinds(&hook).len(), 2, "the pair fired once within 30 days");

    // The route down, then back: delivered once when it returns.
    wecom.down.store(true, Ordering::SeqCst);
    rate(&w, &a2, Level::Dissatisfied, false);
    wait_for("a refused delivery", 15, || {
        !wecom.refused.lock().unwrap().is_empty()
    });
    let before = wecom.texts().len();
    std::thread::sleep(Duration::from_secs(6));
    let open = open_cases(&w);
    let case = open.iter().find(|c| c["staff"] == "SC02").unwrap();
    let c2 = case["case"].as_str().unwrap().to_owned();
    // The case page says what happened in our words: the status, never the host's page.
    crate::console::account(
        &w,
        "市管理员",
        "city",
        serde_json::json!("all"),
        "city-password-2026",
    );
    let (agent, cookie) = crate::console::login(&w.base, "市管理员", "city-password-2026");
    let page = agent
        .get(&format!("{}/console/cases/{}", w.base, case["id"]))
        .set("Cookie", &cookie)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(page.contains("HTTP 502：对方服务出错"), "{page}");
    assert!(
        !page.contains("intranet-gateway") && !page.contains("10.1.2.3"),
        "{page}"
    );
    wecom.down.store(false, Ordering::SeqCst);
    wait_for("the retried alert", 60, || naming(&wecom.texts(), &c2) > 0);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(naming(&wecom.texts(), &c2), 1, "delivered once");
    assert_eq!(wecom.texts().len(), before + 1);
    println!(
        "route down {} time(s), then delivered once",
        wecom.refused.lock().unwrap().len()
    );

    // 50 差评 in one minute on the all-halls 钉钉 route.
    let sent_before = ding.texts().len();
    let t0 = Instant::now();
    for i in 0..50 {
        let due = t0 + Duration::from_millis(1200 * i);
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        rate(
            &w,
            &burst[i as usize % burst.len()],
            Level::Dissatisfied,
            false,
        );
    }
    let cases: Vec<String> = open_cases(&w)
        .iter()
        .filter(|c| c["hall"] == HALL_B)
        .map(|c| c["case"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(cases.len(), 50);
    wait_for("every burst case in some message", 150, || {
        let texts = ding.texts();
        cases.iter().all(|c| naming(&texts, c) > 0)
    });
    let got = ding.got.lock().unwrap()[sent_before..].to_vec();
    let texts: Vec<String> = got.iter().map(|g| g.text.clone()).collect();
    for c in &cases {
        assert_eq!(naming(&texts, c), 1, "{c} named once");
    }
    let mut worst = 0;
    for (i, g) in got.iter().enumerate() {
        let n = got[i..]
            .iter()
            .take_while(|h| h.at - g.at < Duration::from_secs(60))
            .count();
        worst = worst.max(n);
    }
    let digests = texts.iter().filter(|t| t.contains("（汇总）")).count();
    println!(
        "50 差评 in {:.0} s on one 钉钉 route: {} messages ({digests} digests), at most {worst} in any minute (limit 20), all delivered {:.0} s after the first",
        (Instant::now() - t0).as_secs_f64().min(60.0),
        got.len(),
        (got.last().unwrap().at - t0).as_secs_f64()
    );
    assert!(worst <= 20, "{worst} messages in one minute");
    assert!(
        ding.refused.lock().unwrap().is_empty(),
        "{:?}",
        ding.refused.lock().unwrap()
    );
    assert!(hook.refused.lock().unwrap().is_empty());
}

/// The ledger in Chromium (`e2e/ledger.mjs`): a case to 办结, an appeal overturned and left out
/// of the statistics, scope by URL, a route, the calendar, and the ledger's .xlsx read back by
/// openpyxl.
#[test]
#[ignore = "needs workerd, the built worker and Chromium: `cargo xtask test` runs it"]
fn the_ledger_in_chromium() {
    use crate::console::account;
    use crate::workerd::{browser, stack};
    stack();
    let (w, state) = worker("ledger", &[("POW_DIFFICULTY", "2".to_owned())]);
    let a1 = entry("330102", HALL_A, "A01", Some(("SC01", "王芳")));
    let a2 = entry("330102", HALL_A, "A02", Some(("SC02", "李强")));
    let b1 = entry("330105", HALL_B, "B01", Some(("GS01", "赵敏")));
    load(&w, vec![a1.clone(), a2.clone(), b1.clone()]);
    let halls = serde_json::json!({"places": [{"region": "330102", "hall": HALL_A}]});
    account(
        &w,
        "上城处理人",
        "handler",
        halls.clone(),
        "handler-password-2026",
    );
    account(&w, "上城管理员", "hall", halls, "hall-password-2026");
    account(
        &w,
        "市管理员",
        "city",
        serde_json::json!("all"),
        "city-password-2026",
    );
    rate(&w, &a1, Level::Dissatisfied, true);
    rate(&w, &a2, Level::VeryDissatisfied, false);
    rate(&w, &b1, Level::Dissatisfied, false);
    let other = open_cases(&w).iter().find(|c| c["hall"] == HALL_B).unwrap()["id"]
        .as_i64()
        .unwrap();
    let tmp = state.join("downloads");
    std::fs::create_dir_all(&tmp).unwrap();
    // The route the hall administrator adds in the console goes to a stand-in robot.
    let robot = receiver(Robot::Wecom, false);
    let config = serde_json::json!({
        "base": w.base,
        "handler": ["上城处理人", "handler-password-2026"],
        "hall": ["上城管理员", "hall-password-2026"],
        "city": ["市管理员", "city-password-2026"],
        "other_case": other,
        "route_url": robot.url(Robot::Wecom),
    });
    let file = state.join("ledger.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let shots = xtask::setup::target_dir().join("e2e-screenshots/ledger");
    std::fs::create_dir_all(&shots).unwrap();
    let seen = browser("ledger.mjs", &[file.as_ref(), shots.as_ref(), tmp.as_ref()]);
    println!("ledger: {seen}");

    // The ledger, read by openpyxl: the supervisor's columns, the closed case's steps on time,
    // the overturned one marked.
    let py = r#"
import json, sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]
print(json.dumps([list(r) for r in ws.iter_rows(values_only=True)], ensure_ascii=False))
"#;
    let o = std::process::Command::new("/usr/bin/python3")
        .args(["-c", py])
        .arg(seen["ledger"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0][0], "案件编号");
    assert_eq!(rows.len(), 4, "three cases: {rows:?}");
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let closed = rows
        .iter()
        .find(|r| r[col("状态")] == "办结")
        .expect("the closed case");
    assert_eq!(closed[col("回访结果")], "已联系");
    assert_eq!(closed[col("回访是否按时")], "按时");
    assert!(
        closed[col("整改措施")]
            .as_str()
            .unwrap()
            .contains("材料样本")
    );
    assert_eq!(closed[col("工号")], "SC01");
    let overturned = rows
        .iter()
        .find(|r| {
            r[col("状态")]
                .as_str()
                .is_some_and(|s| s.contains("复核撤销"))
        })
        .expect("the overturned case, kept");
    assert!(
        overturned[col("状态")]
            .as_str()
            .unwrap()
            .contains("申诉：恶意")
    );
}

/// An upstream that accepts the connection and never answers: the 差评's alert reaches the robot
/// within seconds all the same (forwarding and alerts run side by side, each send with its own
/// timeout), and the ratings stay owed to the upstream.
#[test]
#[ignore = "needs workerd and the built worker: `cargo xtask test` runs it"]
fn a_silent_upstream_holds_back_no_alert() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let keep = held.clone();
    std::thread::spawn(move || {
        for c in silent.incoming().flatten() {
            // Read nothing, answer nothing, close nothing.
            keep.lock().unwrap().push(c);
        }
    });
    let vars = [
        ("POW_DIFFICULTY", "2".to_owned()),
        ("UPSTREAM_URL", format!("http://127.0.0.1:{port}/ratings")),
    ];
    let (w, _) = worker("silent-upstream", &vars);
    let a1 = entry("330102", HALL_A, "A01", Some(("SC01", "王芳")));
    load(&w, vec![a1.clone()]);
    let wecom = receiver(Robot::Wecom, false);
    add_route(&w, "上城区差评群", &wecom, Some(HALL_A), "handlers").unwrap();
    // A rating whose forwarding the upstream now holds open.
    rate(&w, &a1, Level::Satisfied, false);
    wait_for("the upstream's first connection", 10, || {
        !held.lock().unwrap().is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    rate(&w, &a1, Level::Dissatisfied, false);
    wait_for("the 差评's alert", 10, || !wecom.texts().is_empty());
    let took = t0.elapsed();
    println!(
        "silent upstream ({} connections held open): the 差评's alert in {took:.1?}",
        held.lock().unwrap().len()
    );
    let (s, b) = admin(&w, "GET", "/status", "");
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert!(v["backlog"].as_i64().unwrap_or(0) >= 2, "still owed: {v}");
}

/// Rater-safe alerts on workerd: the handlers' robot hears of a 差评 only once its window has had
/// `ALERT_K` more ratings, or after `ALERT_DELAY`, and reads the half-day, never the minute.
#[test]
#[ignore = "needs workerd and the built worker: `cargo xtask test` runs it"]
fn the_handlers_hear_of_a_bad_rating_after_the_next_citizens_and_coarsely() {
    // The weekly digest rides along: its moment set to a minute boundary 10 to 70 s from now
    // (day and CST time, as an operator writes it), so that it falls within this test's own
    // minute of waiting below.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let moment = ((now + 10) / 60 + 1) * 60;
    let day = wire::time::Day::from_unix(moment).unwrap();
    let weekday = usize::from(day.0 - ::edge::analysis::monday(day));
    let cst = moment + 8 * 3600;
    let digest_at = format!(
        "{} {:02}:{:02}",
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][weekday],
        cst % 86_400 / 3600,
        cst % 3600 / 60
    );
    let vars = [
        ("POW_DIFFICULTY", "2".to_owned()),
        ("ALERT_DELAY", "1".to_owned()),
        ("ALERT_K", "3".to_owned()),
        ("WEEKLY_DIGEST", digest_at.clone()),
    ];
    let (w, _) = worker("rater-safe", &vars);
    let busy = entry("330102", HALL_A, "A01", Some(("SC01", "王芳")));
    let quiet = entry("330102", HALL_A, "A02", Some(("SC02", "李强")));
    load(&w, vec![busy.clone(), quiet.clone()]);
    let wecom = receiver(Robot::Wecom, false);
    add_route(&w, "上城区差评群", &wecom, Some(HALL_A), "handlers").unwrap();
    let chiefs = receiver(Robot::Wecom, false);
    add_route(&w, "上城区主管群", &chiefs, Some(HALL_A), "supervisors").unwrap();
    // The busy window: a 差评, then three more citizens.
    let t0 = Instant::now();
    rate(&w, &busy, Level::Dissatisfied, false);
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        wecom.texts().is_empty(),
        "not while the rater may be at the window"
    );
    for _ in 0..3 {
        rate(&w, &busy, Level::Satisfied, false);
    }
    let released = Instant::now();
    wait_for("the alert after the third rating", 10, || {
        wecom.texts().len() == 1
    });
    let after_third = released.elapsed();
    let after_bad = t0.elapsed();
    let text = wecom.texts()[0].clone();
    assert!(
        text.contains("评价时间：") && (text.contains(" 上午") || text.contains(" 下午")),
        "{text}"
    );
    let minute = regex_free_minute(&text);
    assert!(minute.is_none(), "a minute in the handlers' alert: {text}");
    // The quiet window: the delay alone.
    let t1 = Instant::now();
    rate(&w, &quiet, Level::VeryDissatisfied, false);
    wait_for("the quiet window's alert", 90, || wecom.texts().len() == 2);
    let delayed = t1.elapsed();
    assert!(delayed >= Duration::from_secs(55), "{delayed:?}");
    println!(
        "rater-safe alerts: released {after_third:.1?} after the third citizen ({after_bad:.1?} after the 差评); a quiet window's after {delayed:.1?} (ALERT_DELAY 1 min)"
    );
    // The supervisors' robot: the weekly digest once, at its moment, within the robot's limit.
    wait_for("the weekly digest", 100, || !chiefs.texts().is_empty());
    let late = chiefs.got.lock().unwrap()[0].at.elapsed();
    let arrived = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - late.as_secs_f64();
    std::thread::sleep(Duration::from_secs(3));
    let digests = chiefs.texts();
    assert_eq!(digests.len(), 1, "once: {digests:?}");
    assert!(
        digests[0].starts_with(&format!("### 差评周报：{HALL_A}\n"))
            && digests[0].len() <= 4096
            && digests[0].contains("8 周"),
        "{}",
        digests[0]
    );
    assert!(arrived >= moment as f64, "not before {digest_at}");
    println!(
        "weekly digest (WEEKLY_DIGEST={digest_at}): at the supervisors' robot {:.1} s after its moment",
        arrived - moment as f64
    );
}

/// An `HH:MM` in `text`, if any (the alert's other times are dates or half-days).
fn regex_free_minute(text: &str) -> Option<String> {
    let b: Vec<char> = text.chars().collect();
    b.windows(5)
        .find(|w| {
            w[0].is_ascii_digit()
                && w[1].is_ascii_digit()
                && w[2] == ':'
                && w[3].is_ascii_digit()
                && w[4].is_ascii_digit()
        })
        .map(|w| w.iter().collect())
}
