//! 差评 handled the way local rules say (#35.1): 核实 after the callback chooses a track whose
//! fix deadline runs by the calendar; an untrue 差评 goes to 复核; a deadline is extended once,
//! asked by a handler and decided by a 大厅管理员, and the citizen's status page shows why and
//! until when.

use crate::fixture::*;
use edge::host::Host;
use edge::http::Method;
use wire::rating::Level;

/// Thursday 2026-04-30 10:00 CST, the day before the May Day holiday (1 to 5 May; Saturday the
/// 9th is a 调休 working day).
const APR_30: i64 = 1_777_514_400;

fn case(w: &World, id: i64) -> serde_json::Value {
    w.one(&format!(
        "SELECT state, finding, about, track, fix_due, ext_state, ext_reason, ext_until FROM cases WHERE id = {id}"
    ))
}

/// A 差评 at hall A's staff code now: its case and its status token.
fn bad_rating(w: &World, n: u8) -> (i64, String) {
    let (s, body) = w.rate(&a1(), Level::Dissatisfied, n);
    assert_eq!(s, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = w.one("SELECT MAX(id) AS id FROM cases")["id"]
        .as_i64()
        .unwrap();
    // Opened the day before the holiday (a rating's challenge is the fixture's day's).
    exec(
        &w.h,
        vec![edge::sql::stmt(
            "UPDATE cases SET opened_at = ?2 WHERE id = ?1",
            vec![id.into(), APR_30.into()],
        )],
    );
    (id, v["receipt"].as_str().unwrap().to_owned())
}

#[test]
fn a_checked_case_runs_its_tracks_deadline_and_an_extension_is_decided_once() {
    let mut w = World::new();
    w.s = settings_with(&[("CASE_DEADLINES", "1w/2w/3w")]);
    let (simple, _) = bad_rating(&w, 60);
    let (complex, token) = bad_rating(&w, 61);
    let (untrue, _) = bad_rating(&w, 62);
    for id in [simple, complex, untrue] {
        let (s, b) = step(
            &w,
            Who::HallA,
            id,
            &[("action", "callback"), ("value", "reached")],
        );
        assert_eq!(s, 303, "{b}");
    }
    // Fixing needs the check first.
    let (s, b) = step(
        &w,
        Who::HallA,
        simple,
        &[("action", "fixed"), ("value", "已整改")],
    );
    assert!(s == 400 && b.contains("不能记录整改措施"), "{s} {b}");
    // A track must be chosen for a true 差评; the form says so.
    let (s, b) = step(
        &w,
        Who::HallA,
        simple,
        &[("action", "check"), ("value", "true"), ("about", "staff")],
    );
    assert!(s == 400 && b.contains("整改类型"), "{s} {b}");
    for (id, finding, about, track) in [
        (simple, "true", "staff", "simple"),
        (complex, "partial", "waiting", "complex"),
        (untrue, "false", "policy", "simple"),
    ] {
        let (s, b) = step(
            &w,
            Who::HallA,
            id,
            &[
                ("action", "check"),
                ("value", finding),
                ("about", about),
                ("track", track),
            ],
        );
        assert_eq!(s, 303, "{b}");
    }
    // Two and three working days from Thursday 10:00 across the May Day holiday: Thursday and
    // Friday 7 and 8 May, not Monday 4 and Tuesday 5.
    let c = case(&w, simple);
    assert_eq!(
        (&c["state"], &c["track"], &c["fix_due"]),
        (&"fixing".into(), &"simple".into(), &1_778_119_200i64.into()),
        "{c}"
    );
    let c = case(&w, complex);
    assert_eq!(
        (&c["finding"], &c["about"], &c["fix_due"]),
        (
            &"partial".into(),
            &"waiting".into(),
            &1_778_205_600i64.into()
        ),
        "{c}"
    );
    // Untrue: to 复核, no track.
    let c = case(&w, untrue);
    assert_eq!(
        (&c["state"], &c["track"]),
        (&"appealed".into(), &serde_json::Value::Null),
        "{c}"
    );
    let (s, _) = step(
        &w,
        Who::HandlerA,
        untrue,
        &[("action", "review"), ("value", "upheld"), ("note", "属实")],
    );
    assert_eq!(s, 403, "a handler does not review");
    let (s, b) = step(
        &w,
        Who::HallA,
        untrue,
        &[
            ("action", "review"),
            ("value", "upheld"),
            ("note", "评价人所述属实"),
        ],
    );
    assert_eq!(s, 303, "{b}");
    let c = case(&w, untrue);
    assert_eq!(
        (&c["state"], &c["finding"]),
        (&"called".into(), &serde_json::Value::Null),
        "checked again: {c}"
    );

    // An extension: a reason and a later date, asked by the handler.
    let ask = |who: Who, until: &str| {
        step(
            &w,
            who,
            complex,
            &[
                ("action", "extend"),
                ("value", "需协调不动产登记中心"),
                ("until", until),
            ],
        )
    };
    let (s, b) = ask(Who::HandlerA, "2026-05-06");
    assert!(s == 400 && b.contains("须晚于现在的期限"), "{s} {b}");
    let (s, b) = ask(Who::HandlerA, "2026-05-20");
    assert_eq!(s, 303, "{b}");
    let (s, b) = ask(Who::HandlerA, "2026-05-22");
    assert!(
        s == 400 && b.contains("只能延期一次"),
        "asked twice: {s} {b}"
    );
    assert_eq!(
        case(&w, complex)["fix_due"],
        1_778_205_600i64,
        "unchanged until approved"
    );
    let (s, _) = step(
        &w,
        Who::HandlerA,
        complex,
        &[("action", "decide"), ("value", "approve")],
    );
    assert_eq!(s, 403, "a handler does not approve");
    let (s, b) = step(
        &w,
        Who::HallA,
        complex,
        &[("action", "decide"), ("value", "approve")],
    );
    assert_eq!(s, 303, "{b}");
    let c = case(&w, complex);
    // 20 May at the office's closing time (17:00 CST).
    assert_eq!(
        (&c["ext_state"], &c["fix_due"]),
        (&"approved".into(), &1_779_267_600i64.into()),
        "{c}"
    );
    let (s, b) = step(
        &w,
        Who::HallA,
        complex,
        &[("action", "decide"), ("value", "refuse")],
    );
    assert!(s == 400 && b.contains("没有待审批的延期申请"), "{s} {b}");
    // Refused: the deadline stands, and no second extension.
    let (s, _) = step(
        &w,
        Who::HandlerA,
        simple,
        &[
            ("action", "extend"),
            ("value", "系统升级"),
            ("until", "2026-05-15"),
        ],
    );
    assert_eq!(s, 303);
    let (s, _) = step(
        &w,
        Who::HallA,
        simple,
        &[
            ("action", "decide"),
            ("value", "refuse"),
            ("note", "期限内可完成"),
        ],
    );
    assert_eq!(s, 303);
    let c = case(&w, simple);
    assert_eq!(
        (&c["ext_state"], &c["fix_due"]),
        (&"refused".into(), &1_778_119_200i64.into()),
        "{c}"
    );
    let (s, b) = step(
        &w,
        Who::HandlerA,
        simple,
        &[
            ("action", "extend"),
            ("value", "再次"),
            ("until", "2026-05-16"),
        ],
    );
    assert!(s == 400 && b.contains("只能延期一次"), "{s} {b}");

    // The citizen's page shows the new date and why.
    let r = w.send(request(
        Who::Citizen,
        Method::Get,
        &format!("/s/{token}"),
        Body::None,
    ));
    let page = String::from_utf8_lossy(r.body_bytes()).into_owned();
    assert!(
        page.contains("整改期限已延长")
            && page.contains("2026-05-20")
            && page.contains("需协调不动产登记中心"),
        "{page}"
    );
    if let Ok(f) = std::env::var("ZSP_STATUS_PAGE") {
        std::fs::write(f, &page).unwrap();
    }
    // The case page says what was checked and decided.
    let r = w.send(request(
        Who::HallA,
        Method::Get,
        &format!("/console/cases/{complex}"),
        Body::None,
    ));
    let html = String::from_utf8_lossy(r.body_bytes()).into_owned();
    assert!(
        html.contains("部分属实；所涉：等候与叫号；整改类型：复杂") && html.contains("延期已批准"),
        "{html}"
    );
    if let Ok(f) = std::env::var("ZSP_CASE_PAGE") {
        std::fs::write(f, &html).unwrap();
    }
}

/// A 差评 of one reason (`tag`) at hall A's staff code: its case.
fn bad_with(w: &World, tag: u16, n: u8) -> i64 {
    let mut sub = submission(&a1(), Level::Dissatisfied, n);
    sub.rating.tags = vec![tag];
    assert_eq!(w.post(&sub).0, 200);
    w.one("SELECT MAX(id) AS id FROM cases")["id"]
        .as_i64()
        .unwrap()
}

/// 差评 at hall A in the tallies: the staff member's (`A-SC1`), and the hall's whole.
fn bad_counts(w: &World) -> (i64, i64) {
    let n = |sql: &str| w.count(sql);
    (
        n(
            "SELECT COALESCE(SUM(n), 0) AS n FROM tallies WHERE staff = 'A-SC1' AND level = 'dissatisfied'",
        ),
        n(&format!(
            "SELECT COALESCE(SUM(n), 0) AS n FROM tallies WHERE hall = '{HALL}' AND level = 'dissatisfied'"
        )),
    )
}

/// The period's cases at hall A that the public results count for no staff member.
fn hall_only(w: &World) -> usize {
    let facts: Vec<serde_json::Value> = serde_json::from_value(
        exec(
            &w.h,
            vec![edge::public::results::cases(
                &edge::period::Period::parse("2026-03").unwrap(),
                Some(HALL),
            )],
        )[0]
        .clone(),
    )
    .unwrap();
    facts.iter().filter(|f| f["staff"].is_null()).count()
}

#[test]
fn a_bad_rating_counts_against_the_staff_member_only_when_it_is_about_them() {
    let w = World::new();
    let before = bad_counts(&w);
    let hall_only_before = hall_only(&w);
    // 212 (queuing again after booking online): the queue's, as the reason suggests.
    let queue = bad_with(&w, 212, 70);
    assert_eq!(
        bad_counts(&w),
        (before.0, before.1 + 1),
        "the hall's, not the staff member's"
    );
    // 214 (a curt manner): the staff member's.
    let manner = bad_with(&w, 214, 71);
    assert_eq!(bad_counts(&w), (before.0 + 1, before.1 + 2));
    // Checked: the queue one was about waiting (unchanged); the manner one about the process.
    for (id, about) in [(queue, "waiting"), (manner, "process")] {
        let (s, b) = step(
            &w,
            Who::HallA,
            id,
            &[("action", "callback"), ("value", "reached")],
        );
        assert_eq!(s, 303, "{b}");
        let (s, b) = step(
            &w,
            Who::HandlerA,
            id,
            &[
                ("action", "check"),
                ("value", "partial"),
                ("about", about),
                ("track", "simple"),
            ],
        );
        assert_eq!(s, 303, "{b}");
    }
    assert_eq!(bad_counts(&w), (before.0, before.1 + 2));
    // 复核 re-classifies the queue one as the staff member's: their figures change.
    let (s, _) = step(
        &w,
        Who::HandlerA,
        queue,
        &[("action", "classify"), ("value", "staff")],
    );
    assert_eq!(s, 403, "a handler does not re-classify");
    let (s, b) = step(
        &w,
        Who::HallA,
        queue,
        &[
            ("action", "classify"),
            ("value", "staff"),
            ("note", "录像显示为窗口人员原因"),
        ],
    );
    assert_eq!(s, 303, "{b}");
    assert_eq!(bad_counts(&w), (before.0 + 1, before.1 + 2));
    // The public results' case figures follow the same attribution: of the two new cases, the
    // process one is the hall's alone.
    assert_eq!(hall_only(&w), hall_only_before + 1);
}

#[test]
fn the_citizen_judges_the_fix_in_three_words_and_the_figures_show_it() {
    let w = World::new();
    let (basic, basic_token) = bad_rating(&w, 80);
    let (again, again_token) = bad_rating(&w, 81);
    for id in [basic, again] {
        for pairs in [
            &[("action", "callback"), ("value", "reached")][..],
            &[
                ("action", "check"),
                ("value", "true"),
                ("about", "staff"),
                ("track", "simple"),
            ],
            &[("action", "fixed"), ("value", "已培训")],
            &[("action", "replied"), ("value", "已告知")],
            &[("action", "close")],
        ] {
            let (s, b) = step(&w, Who::HallA, id, pairs);
            assert_eq!(s, 303, "{pairs:?}: {b}");
        }
    }
    let judge = |token: &str, choice: &str| w.followup(token, choice);
    let (s, _) = judge(&basic_token, "maybe");
    assert_eq!(s, 400);
    let (s, page) = judge(&basic_token, "basic");
    assert!(
        s == 200 && page.contains("您的追评：基本满意"),
        "{s} {page}"
    );
    let (s, _) = judge(&basic_token, "unsatisfied");
    assert_eq!(s, 409, "one verdict");
    assert_eq!(
        case(&w, basic)["state"],
        "closed",
        "基本满意 does not reopen"
    );
    let (s, page) = judge(&again_token, "unsatisfied");
    assert!(s == 200 && page.contains("重新办理"), "{s} {page}");
    assert_eq!(case(&w, again)["state"], "callback", "不满意 reopens");
    // 整改后满意度: one of two verdicts 满意 or 基本满意 (the cases opened in April, `bad_rating`).
    let hall = percent_encoding::utf8_percent_encode(HALL, percent_encoding::NON_ALPHANUMERIC);
    let r = w.send(request(
        Who::Citizen,
        Method::Get,
        &format!("/results.json?hall={hall}&period=2026-04"),
        Body::None,
    ));
    let j: serde_json::Value = serde_json::from_slice(r.body_bytes()).unwrap();
    assert_eq!(
        (
            &j["total"]["verdicts"],
            &j["total"]["verdicts_satisfied"],
            &j["total"]["post_fix_pct"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(50.0)
        ),
        "{j}"
    );
}

#[test]
fn a_hall_administrator_makes_a_good_comment_public_without_names_or_times() {
    let w = World::new();
    let mut sub = submission(&a1(), Level::VerySatisfied, 90);
    sub.rating.tags = vec![517];
    sub.rating.comment = "王老师很耐心，一次就办好了，电话13812345678".into();
    assert_eq!(w.post(&sub).0, 200);
    let id = w.one(&format!(
        "SELECT id FROM ratings WHERE level = 'very_satisfied' AND code = '{}'",
        a1().code.to_text()
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |who: Who, decision: &str, rating: &str| {
        let r = w.send(request(
            who,
            Method::Post,
            &format!("/console/ratings/{rating}/{decision}"),
            form(&[]),
        ));
        (
            r.status,
            String::from_utf8_lossy(r.body_bytes()).into_owned(),
        )
    };
    let hall = percent_encoding::utf8_percent_encode(HALL, percent_encoding::NON_ALPHANUMERIC);
    let public = |w: &World| {
        w.h.advance(61); // past the results' memo
        let r = w.send(request(
            Who::Citizen,
            Method::Get,
            &format!("/results?hall={hall}"),
            Body::None,
        ));
        String::from_utf8_lossy(r.body_bytes()).into_owned()
    };
    // Another hall's administrator and a handler cannot; a 差评 cannot be made public.
    assert_eq!(post(Who::HallB, "praise", &id).0, 400);
    assert_eq!(post(Who::HandlerA, "praise", &id).0, 403);
    let bad = w.one("SELECT rating FROM cases LIMIT 1")["rating"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = post(Who::HallA, "praise", &bad);
    assert!(s == 400 && b.contains("非常满意"), "{s} {b}");
    assert!(!public(&w).contains("群众表扬"));
    let (s, b) = post(Who::HallA, "praise", &id);
    assert_eq!(s, 303, "{b}");
    let page = public(&w);
    assert!(
        page.contains("群众表扬") && page.contains("一次就办好了"),
        "{page}"
    );
    if let Ok(f) = std::env::var("ZSP_PRAISE_PAGE") {
        std::fs::write(f, &page).unwrap();
    }
    // Masked as stored: no phone; and no staff name, no time beside it.
    assert!(
        !page.contains("13812345678") && !page.contains("A-SC1"),
        "{page}"
    );
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM audit WHERE action = 'rating.praise'"),
        1
    );
    // Withdrawn: gone from the page.
    assert_eq!(post(Who::HallA, "unpraise", &id).0, 303);
    assert!(!public(&w).contains("群众表扬"));
    assert_eq!(
        post(Who::HallA, "unpraise", &id).0,
        400,
        "not public any more"
    );
}

#[test]
#[ignore = "needs Debian's python3-openpyxl: `cargo xtask test` installs it"]
fn the_internal_report_has_every_window_and_staff_member_and_no_comment_or_time() {
    let w = World::new();
    let mut sub = submission(&a2(), Level::VerySatisfied, 95);
    sub.rating.tags = vec![517];
    sub.rating.comment = "这句评价内容不得出现在通报里".into();
    assert_eq!(w.post(&sub).0, 200);
    // The staff member's one rating of their own (the fixture's 差评 at their code gives a reason
    // of the process, 108: the hall's, not theirs).
    assert_eq!(w.rate(&a1(), Level::Satisfied, 96).0, 200);
    let get = |who: Who, q: &str| {
        w.send(request(
            who,
            Method::Get,
            &format!("/console/report{q}"),
            Body::None,
        ))
    };
    let bad = get(Who::HallA, "?period=2026-13");
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(bad.body_bytes()).contains("period"));
    let r = get(Who::HallA, "?period=2026-03");
    assert_eq!(r.status, 200);
    let file = std::env::temp_dir().join(format!("zsp-report-{}.xlsx", std::process::id()));
    std::fs::write(&file, r.body_bytes()).unwrap();
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import json, sys, openpyxl\n\
             wb = openpyxl.load_workbook(sys.argv[1])\n\
             print(json.dumps([[c for c in row] for ws in wb.worksheets for row in ws.iter_rows(values_only=True)], ensure_ascii=False, default=str))",
        ])
        .arg(&file)
        .output()
        .expect("Debian's python3 runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_slice(&out.stdout).unwrap();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    assert_eq!(
        rows[0].iter().map(text).collect::<Vec<_>>(),
        edge::report::HEADER
    );
    // Hall A's two codes: the staff member's (one rating) and the window's; hall B's staff
    // member is not in hall A's report.
    assert_eq!(rows.len(), 3, "{rows:?}");
    let staff = rows
        .iter()
        .find(|r| text(&r[4]) == "A-SC1")
        .expect("the staff member with one rating is a row");
    assert_eq!(
        (text(&staff[0]), text(&staff[6])),
        ("工作人员".into(), "1".into())
    );
    let window = rows.iter().find(|r| text(&r[0]) == "窗口").unwrap();
    assert_eq!(text(&window[6]), "1", "the window's one rating");
    assert!(!rows.iter().any(|r| text(&r[4]) == "B-SC1"));
    // Nothing of a comment, nor a time of day, anywhere in the file.
    let all: String = rows
        .iter()
        .flatten()
        .map(text)
        .collect::<Vec<_>>()
        .join("|");
    assert!(!all.contains("评价内容不得出现"), "{all}");
    let time_of_day = all.as_bytes().windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b':'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
    });
    assert!(!time_of_day, "{all}");
    // A handler does not export.
    assert_eq!(get(Who::HandlerA, "?period=2026-03").status, 403);
}

#[test]
fn the_city_drills_down_to_its_districts_and_a_district_to_its_towns_and_halls() {
    let mut w = World::new();
    w.s = settings_with(&[("REGION_NAMES", "321202:海陵区 321203:高港区")]);
    // 1,625 halls in 7 districts: one in 25 at the district's own level, the rest in 12 towns.
    let district = |i: usize| format!("3212{:02}", i % 7 + 2);
    let region = |i: usize| {
        if i.is_multiple_of(25) {
            district(i)
        } else {
            format!("{}{:03}", district(i), (i / 7) % 12 + 1)
        }
    };
    let entries: Vec<wire::directory::Entry> = (0..1625)
        .map(|i| {
            let mut e = entry(&region(i), &format!("W{i}"), None);
            e.hall = format!("大厅{i:04}");
            e
        })
        .collect();
    exec(&w.h, edge::store::replace_directory(&entries));
    let mut stmts = vec![];
    for i in 0..1625usize {
        for (level, n) in [("satisfied", i % 5 + 1), ("dissatisfied", i % 3)] {
            stmts.push(edge::sql::stmt(
                "INSERT INTO tallies (month, hall, dept, staff, level, n) VALUES ('2026-01', ?1, '单位', '', ?2, ?3)",
                vec![format!("大厅{i:04}").into(), level.into(), (n as i64).into()],
            ));
        }
    }
    exec(&w.h, stmts);
    let json = |q: &str| {
        let r = w.send(request(
            Who::Citizen,
            Method::Get,
            &format!("/results.json?{q}"),
            Body::None,
        ));
        (
            r.status,
            serde_json::from_slice::<serde_json::Value>(r.body_bytes()).unwrap_or_default(),
        )
    };
    let sum = |j: &serde_json::Value| -> i64 {
        j["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[1]["ratings"].as_i64().unwrap())
            .sum()
    };
    let (s, city) = json("period=2026-01");
    assert_eq!(s, 200, "{city}");
    assert_eq!(
        city["groups"].as_array().unwrap().len(),
        7,
        "{}",
        city["groups"]
    );
    assert_eq!(sum(&city), city["total"]["ratings"].as_i64().unwrap());
    assert_eq!(city["areas"][0], serde_json::json!(["321204", "321204"]));
    assert!(
        city["areas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a[0] == "海陵区（321202）"),
        "{}",
        city["areas"]
    );
    // A district: its 12 towns and the halls at its own level, summing to its row at the city.
    let (s, d) = json("period=2026-01&region=321202");
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["scope"], "海陵区");
    let halls_here = (0..1625).filter(|i| i % 25 == 0 && i % 7 == 0).count();
    assert_eq!(d["groups"].as_array().unwrap().len(), 12 + halls_here);
    let row = city["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g[0] == "海陵区（321202）")
        .unwrap()
        .clone();
    assert_eq!(sum(&d), row[1]["ratings"].as_i64().unwrap());
    assert_eq!(d["total"], row[1], "a region's figures are its halls' sum");
    // A town: its halls.
    let (s, t) = json("period=2026-01&region=321202001");
    assert_eq!(s, 200);
    assert!(t["areas"].as_array().unwrap().is_empty());
    // The page links down and back; bad asks are refused in words.
    let r = w.send(request(
        Who::Citizen,
        Method::Get,
        "/results?period=2026-01&region=321202",
        Body::None,
    ));
    let page = String::from_utf8_lossy(r.body_bytes()).into_owned();
    assert!(
        page.contains("/results?region=321202001&amp;period=2026-01") && page.contains("返回全市"),
        "{page}"
    );
    if let Ok(f) = std::env::var("ZSP_REGION_PAGE") {
        std::fs::write(f, &page).unwrap();
    }
    for q in ["region=999999", "region=32x", "region=321202&hall=大厅0001"] {
        assert_eq!(json(&format!("period=2026-01&{q}")).0, 400, "{q}");
    }
}

/// Eight weeks of 差评 at hall A, up to this week: 212 (queuing) once more each week, 214
/// (manner) twice a week, on the Tuesday of each week, all on one matter. Returns the first
/// week's Monday.
fn eight_weeks(w: &World) -> u16 {
    let first = edge::analysis::monday(wire::time::Day::from_unix(w.h.now()).unwrap()) - 49;
    let mut stmts = vec![];
    let mut n = 0;
    for week in 0..8u16 {
        let at = wire::time::Day(first + 7 * week + 1).start_unix() + 10 * 3600;
        for (tag, times) in [("212", week + 1), ("214", 2)] {
            for _ in 0..times {
                n += 1;
                stmts.push(edge::sql::stmt(
                    "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, \
                     rated_at, level, tags, tag_version, matter, comment, phone, flagged, via, entry, \
                     next_attempt_at, hold, signals) SELECT ?1, code, ?1, day, 1, 1, ?1, ?2, 'dissatisfied', \
                     ?3, tag_version, '330105-QY-007', '', NULL, 0, via, entry, ?2, 0, '' FROM ratings \
                     WHERE level = 'very_dissatisfied' LIMIT 1",
                    vec![format!("GEN{n:04}").into(), at.into(), tag.into()],
                ));
            }
        }
    }
    exec(&w.h, stmts);
    first
}

#[test]
fn the_analysis_shows_the_reasons_mix_and_keeps_it_after_the_ratings_leave() {
    let w = World::new();
    let first = eight_weeks(&w);
    // Recurrence, by hand: a case closed with 212 and another 212 at the hall 10 days later; a
    // case closed with 214 and nothing after.
    let closed = wire::time::Day(first + 14).start_unix() + 12 * 3600;
    let entry = w.one("SELECT entry FROM ratings LIMIT 1")["entry"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = |rating: &str, tags: &str, opened: i64, closed_at: Option<i64>| {
        edge::sql::stmt(
            "INSERT INTO cases (rating, opened_at, opened_rev, code, entry, level, tags, comment, state, closed_at) \
             VALUES (?1, ?2, 1, 'X', ?3, 'dissatisfied', ?4, '', ?5, ?6)",
            vec![
                rating.into(),
                opened.into(),
                entry.as_str().into(),
                tags.into(),
                if closed_at.is_some() {
                    "closed"
                } else {
                    "callback"
                }
                .into(),
                closed_at.into(),
            ],
        )
    };
    exec(
        &w.h,
        vec![
            case("R-A", "212", closed - 86_400, Some(closed)),
            case("R-B", "207,212", closed + 10 * 86_400, None),
            case("R-C", "214", closed - 86_400, Some(closed + 3600)),
        ],
    );
    let json = |w: &World| -> serde_json::Value {
        let r = w.send(request(
            Who::HallA,
            Method::Get,
            "/console/analysis?format=json",
            Body::None,
        ));
        assert_eq!(r.status, 200);
        serde_json::from_slice(r.body_bytes()).unwrap()
    };
    let a = json(&w);
    // 212: 1 + 2 + … + 8 = 36; 214: 16; the fixture's own 差评 this week: 108, once.
    let reason = |a: &serde_json::Value, tag: u64| {
        a["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["tag"] == tag)
            .cloned()
            .unwrap_or_default()
    };
    let r212 = reason(&a, 212);
    assert_eq!(
        (&r212["total"], &r212["share_pct"], &r212["trend"]),
        (
            &serde_json::json!(36),
            &serde_json::json!(67.9),
            &serde_json::json!(16)
        ),
        "{a}"
    );
    assert_eq!(r212["weekly"], serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8]));
    assert_eq!(reason(&a, 214)["share_pct"], 30.2);
    assert_eq!(reason(&a, 108)["total"], 1);
    assert_eq!(
        a["matters"][0],
        serde_json::json!({"matter": "330105-QY-007", "n": 52, "bad": 52})
    );
    assert_eq!(
        (&a["closed"], &a["recurred"], &a["recurrence_pct"]),
        (
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(50.0)
        ),
        "{a}"
    );
    // Hall B sees none of it.
    let r = w.send(request(
        Who::HallB,
        Method::Get,
        "/console/analysis?format=json",
        Body::None,
    ));
    let b: serde_json::Value = serde_json::from_slice(r.body_bytes()).unwrap();
    assert!(reason(&b, 212).is_null());
    // After the retention, the ratings are gone and the shares are not.
    exec(
        &w.h,
        edge::store::prune(w.h.now() + 400 * 86_400, 30, 7, false),
    );
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM ratings WHERE id LIKE 'GEN%'"),
        0
    );
    let after = json(&w);
    assert_eq!(reason(&after, 212), r212, "{after}");
    let html = {
        let r = w.send(request(
            Who::HallA,
            Method::Get,
            "/console/analysis",
            Body::None,
        ));
        String::from_utf8_lossy(r.body_bytes()).into_owned()
    };
    assert!(
        html.contains("在线预约办理后到实体大厅重复取号排队") && html.contains("67.9%"),
        "{html}"
    );
    if let Ok(f) = std::env::var("ZSP_ANALYSIS_PAGE") {
        std::fs::write(f, &html).unwrap();
    }
    assert_eq!(
        w.send(request(
            Who::HallA,
            Method::Get,
            "/console/analysis?weeks=99",
            Body::None
        ))
        .status,
        400
    );
}

#[test]
fn the_weekly_digest_reaches_each_supervisors_route_once_on_monday_morning() {
    use edge::fastlane::NewRoute;
    let mut w = World::new();
    w.s = settings_with(&[
        ("ALERT_HOSTS", "hub.example.gov.cn"),
        ("PUBLIC_URL", "https://pj.example.gov.cn"),
    ]);
    eight_weeks(&w);
    let add = |w: &World,
               name: &str,
               kind: &str,
               audience: &str,
               region: Option<&str>,
               hall: Option<&str>| {
        let url = match kind {
            "wecom" => "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=digest-robot",
            _ => "https://hub.example.gov.cn/digest",
        };
        let r = NewRoute {
            name: name.into(),
            region: region.map(Into::into),
            hall: hall.map(Into::into),
            dept: None,
            kind: kind.into(),
            url: url.into(),
            secret: if kind == "webhook" {
                "digest-secret-0123456789"
            } else {
                ""
            }
            .into(),
            names: false,
            audience: audience.into(),
            inbound: String::new(),
        };
        w.add_route(r)
    };
    let hall_a = add(
        &w,
        "甲主管群",
        "wecom",
        "supervisors",
        Some("330105"),
        Some(HALL),
    );
    let city = add(&w, "市监督平台", "webhook", "supervisors", None, None);
    let hall_b = add(
        &w,
        "乙主管群",
        "wecom",
        "supervisors",
        Some("330106"),
        Some(HALL),
    );
    let handlers = add(
        &w,
        "甲处理群",
        "wecom",
        "handlers",
        Some("330105"),
        Some(HALL),
    );
    let ring = w.s.core.challenge_keys.clone();
    let queue = |w: &World| edge::analysis::queue(&Lite(w), &w.s.lane, w.h.now()).unwrap();
    let sent = |w: &World, busy: &[i64]| {
        edge::analysis::messages(&Lite(w), &ring, busy, w.h.now(), w.h.now() * 1000).unwrap()
    };
    let digests = |w: &World| w.count("SELECT COUNT(*) AS n FROM alerts WHERE week IS NOT NULL");
    // Next Monday 09:00 CST (the default `WEEKLY_DIGEST`, mon 09:00).
    let monday =
        wire::time::Day(edge::analysis::monday(wire::time::Day::from_unix(w.h.now()).unwrap()) + 7)
            .start_unix()
            + 9 * 3600;
    assert_eq!(
        queue(&w),
        Some(monday),
        "the alarm comes back at the moment"
    );
    w.h.advance(monday - 1 - w.h.now());
    assert_eq!(queue(&w), Some(monday));
    assert_eq!(digests(&w), 0, "not before Monday 09:00");
    w.h.advance(1);
    assert_eq!(queue(&w), Some(monday + 7 * 86_400));
    queue(&w);
    assert_eq!(
        digests(&w),
        3,
        "one for each supervisors' route, none for the handlers'"
    );
    let late = add(&w, "新主管群", "wecom", "supervisors", None, None);
    queue(&w);
    assert_eq!(
        digests(&w),
        3,
        "a route added after the moment waits for the next week"
    );
    // The hall A robot sends alerts in this round: its digest waits for the next.
    let m = sent(&w, &[hall_a]);
    assert_eq!(
        m.iter().map(|m| m.route).collect::<Vec<_>>(),
        vec![city, hall_b]
    );
    let m = sent(&w, &[]);
    let of = |route: i64| m.iter().find(|m| m.route == route).unwrap();
    assert!(m.iter().all(|m| m.route != handlers && m.route != late));
    // The hall's robot: the eight weeks before Monday, within the robot's limit.
    let body: serde_json::Value = serde_json::from_str(&of(hall_a).body).unwrap();
    let text = body["markdown"]["content"].as_str().unwrap();
    let queuing = wire::rating::tag(212).unwrap().zh;
    assert!(text.len() <= wire::alert::MARKDOWN_MAX_BYTES);
    assert!(
        text.starts_with(&format!("### 差评周报：区划 330105 {HALL}\n"))
            && text.contains(&format!("1. 212 {queuing}：36 次 67.9% · 上周 8 · ↑16\n"))
            && text.contains("1. 330105-QY-007：差评 52 / 评价 52")
            && text.contains("[在控制台查看分析](https://pj.example.gov.cn/console/analysis)"),
        "{text}"
    );
    for word in ["处理人", "工号", "电话", "评价时间"] {
        assert!(!text.contains(word), "{word}: {text}");
    }
    if std::env::var("ZSP_DIGEST").is_ok() {
        eprintln!("{text}\n{}", of(city).body);
    }
    // Hall B's: its own place, none of hall A's.
    let b: serde_json::Value = serde_json::from_str(&of(hall_b).body).unwrap();
    let b = b["markdown"]["content"].as_str().unwrap();
    assert!(b.contains("区划 330106") && !b.contains("212 "), "{b}");
    // The city's webhook: the same figures as data, signed.
    let c = of(city);
    let v: serde_json::Value = serde_json::from_str(&c.body).unwrap();
    assert_eq!(
        (
            &v["format"],
            &v["place"],
            &v["reasons"][0]["tag"],
            &v["reasons"][0]["total"]
        ),
        (
            &serde_json::json!("zsp.digest"),
            &serde_json::json!("全部"),
            &serde_json::json!(212),
            &serde_json::json!(36)
        ),
        "{v}"
    );
    assert_eq!(v["weeks"].as_array().unwrap().len(), 8);
    assert!(
        c.headers
            .iter()
            .any(|(k, v)| k == "Zsp-Signature" && v.contains(",v1="))
    );
    assert!(
        c.headers
            .iter()
            .any(|(k, h)| k == "Idempotency-Key" && *h == format!("digest-{}", v["id"]))
    );
    // A robot whose minute is nearly full waits, leaving the alerts their reserve.
    let now = w.h.now();
    let fill = |n: i64| {
        exec(
            &w.h,
            (0..n)
                .map(|i| {
                    edge::sql::stmt(
                        "INSERT INTO route_sends (route, at, alerts) VALUES (?1, ?2, 1)",
                        vec![hall_b.into(), (now - i).into()],
                    )
                })
                .collect(),
        )
    };
    fill(14);
    assert!(sent(&w, &[]).iter().all(|m| m.route != hall_b));
    exec(
        &w.h,
        vec![edge::sql::stmt(
            "DELETE FROM route_sends WHERE route = ?1 AND at = ?2",
            vec![hall_b.into(), (now - 13).into()],
        )],
    );
    assert!(sent(&w, &[]).iter().any(|m| m.route == hall_b));
    // Taken: nothing more this week, whatever the rounds; the next Monday again.
    for m in sent(&w, &[]) {
        exec(&w.h, edge::fastlane::record(&m, Ok(()), w.h.now()));
    }
    assert!(sent(&w, &[]).is_empty());
    w.h.advance(86_400);
    queue(&w);
    assert_eq!(digests(&w), 3);
    w.h.advance(6 * 86_400);
    queue(&w);
    assert_eq!(
        digests(&w),
        7,
        "the next week: the three and the route added since"
    );
    // Off: nothing queued, no wake.
    w.s = settings_with(&[("WEEKLY_DIGEST", "off")]);
    w.h.advance(7 * 86_400);
    assert_eq!(queue(&w), None);
    assert_eq!(digests(&w), 7);
}
