//! 办件 served (#34's denominator): from a link minted, a tablet armed by its staff member, and a
//! queue system's reports; each 办件 once, a day's count replaced by the next; bad reports named
//! by field with nothing stored.

use crate::fixture::*;
use edge::host::Host;
use edge::http::Method;

fn send(w: &World, who: Who, m: Method, path: &str, body: Body) -> (u16, serde_json::Value) {
    let r = w.send(request(who, m, path, body));
    let v = serde_json::from_slice(r.body_bytes()).unwrap_or(serde_json::Value::Null);
    (r.status, v)
}

fn report(w: &World, v: serde_json::Value) -> (u16, serde_json::Value) {
    send(w, Who::Queue, Method::Post, "/api/v1/served", Body::Json(v))
}

fn served(w: &World) -> Vec<(String, String, i64)> {
    let rows = exec(
        &w.h,
        vec![edge::sql::stmt(
            "SELECT key, source, n FROM served ORDER BY key",
            vec![],
        )],
    );
    rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap().to_owned(),
                r["n"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn each_source_counts_a_served_citizen_once() {
    let w = World::new();
    let before = served(&w).len();
    let code = a1().code.to_text();
    let matter = a1().matters[0].code.clone();
    // A link minted: its 办件 served; reported again by its 办件号: still one.
    let (s, b) = send(
        &w,
        Who::Queue,
        Method::Post,
        "/api/v1/links",
        Body::Json(serde_json::json!({"code": code, "matter": matter, "project_no": "BJ-501"})),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = report(
        &w,
        serde_json::json!({"code": code, "project_no": "BJ-501", "matter": matter}),
    );
    assert_eq!((s, b["served"].as_i64()), (200, Some(1)), "{b}");
    // A 办件 the queue system reports without a link.
    let (s, _) = report(
        &w,
        serde_json::json!({"code": code, "project_no": "BJ-502", "matter": matter}),
    );
    assert_eq!(s, 200);
    // A day's ticket count at the window's code; the second report for that day stands.
    let (s, b) = report(
        &w,
        serde_json::json!({"code": code, "day": "2026-03-02", "count": 40}),
    );
    assert_eq!((s, b["served"].as_i64()), (200, Some(40)), "{b}");
    let (s, b) = report(
        &w,
        serde_json::json!({"code": code, "day": "2026-03-02", "count": 35}),
    );
    assert_eq!((s, b["served"].as_i64()), (200, Some(35)), "{b}");
    // A tablet armed by its staff member: one citizen served.
    let (s, _) = send(
        &w,
        Who::Citizen,
        Method::Post,
        &format!("/kiosk/{}/arm", w.tablet.1),
        Body::None,
    );
    assert_eq!(s, 200);
    // A 办件号 whose link is another code's, minted before served 办件 were counted: 409, and
    // nothing recorded for the code that asked.
    let mint = |e: &wire::directory::Entry| {
        let body = serde_json::json!({"code": e.code.to_text(), "matter": e.matters[0].code, "project_no": "OLD-1"});
        send(
            &w,
            Who::Queue,
            Method::Post,
            "/api/v1/links",
            Body::Json(body),
        )
        .0
    };
    assert_eq!(mint(&a1()), 201);
    exec(
        &w.h,
        vec![edge::sql::stmt(
            "DELETE FROM served WHERE key LIKE '%:OLD-1'",
            vec![],
        )],
    );
    assert_eq!(mint(&a2()), 409);
    let rows = served(&w);
    assert!(!rows.iter().any(|r| r.0.ends_with(":OLD-1")), "{rows:?}");
    assert_eq!(rows.len(), before + 4, "{rows:?}");
    let of = |source: &str| -> Vec<&(String, String, i64)> {
        rows.iter().filter(|r| r.1 == source).collect()
    };
    assert_eq!(of("link").len(), 1);
    assert!(of("link")[0].0.ends_with(":BJ-501"));
    assert_eq!(of("report").len(), 1);
    assert_eq!(of("count").iter().map(|r| r.2).collect::<Vec<_>>(), [35]);
    assert_eq!(of("kiosk").len(), 1);
}

#[test]
fn a_bad_report_names_its_field_and_stores_nothing() {
    let w = World::new();
    let before = served(&w);
    let code = a1().code.to_text();
    let matter = a1().matters[0].code.clone();
    let other = a2().code.to_text();
    let (s, _) = report(
        &w,
        serde_json::json!({"code": other, "project_no": "BJ-9", "matter": a2().matters[0].code}),
    );
    assert_eq!(s, 200);
    let before_bad = served(&w);
    assert_eq!(before_bad.len(), before.len() + 1);
    for (body, status, field) in [
        (
            serde_json::json!({"code": code, "day": "2026-03-02", "count": -1}),
            422,
            "count",
        ),
        (
            serde_json::json!({"code": code, "day": "2026-03-04", "count": 3}),
            422,
            "day",
        ),
        (
            serde_json::json!({"code": "ZZZZZZZZZZZZZZZZ", "day": "2026-03-02", "count": 3}),
            404,
            "code",
        ),
        (
            serde_json::json!({"code": b1().code.to_text(), "day": "2026-03-02", "count": 3}),
            404,
            "code",
        ),
        (
            serde_json::json!({"code": code, "project_no": "BJ-9", "matter": matter}),
            409,
            "project_no",
        ),
        (
            serde_json::json!({"code": code, "project_no": "BJ-10", "matter": "NOT-HERE"}),
            422,
            "matter",
        ),
        (serde_json::json!({"code": code}), 422, "project_no"),
        // A 办件 of another authority's window (330106): outside the token's places, 404.
        (
            serde_json::json!({"code": b1().code.to_text(), "project_no": "BJ-9", "matter": b1().matters[0].code}),
            404,
            "code",
        ),
    ] {
        let (s, b) = report(&w, body.clone());
        assert_eq!(s, status, "{body}: {b}");
        assert_eq!(b["error"]["field"].as_str(), Some(field), "{body}: {b}");
    }
    assert_eq!(served(&w), before_bad, "a refused report stored something");
}

/// A rating through the link `token` from its own phone.
fn through(w: &World, token: &str, n: u8, level: wire::rating::Level) -> u16 {
    let c = wire::challenge::Challenge {
        kid: 0,
        code: a1().code,
        issued_at: (w.h.now() - 5) as u64,
        nonce: [n; 8],
        device: wire::challenge::device_tag(&[n; 16]),
        difficulty: 0,
    };
    let s = wire::submission::Submission {
        code: format!("l/{token}"),
        challenge: c.seal(&challenge_key()),
        pow: 0,
        id: wire::rating::Id128([n; 16]),
        device: None,
        rating: wire::rating::RatingInput::new(level, &level.tag_codes()[..1]),
        website: String::new(),
    };
    w.post(&s).0
}

fn rates(w: &World) -> Vec<edge::served::CodeRate> {
    rates_in(w, &edge::period::Period::current(w.h.now()))
}

/// Every code's 评价率 figures in `p`, as the running tallies give them; checked each time
/// against the served rows themselves, grouped by hand.
fn rates_in(w: &World, p: &edge::period::Period) -> Vec<edge::served::CodeRate> {
    let rows = exec(
        &w.h,
        vec![edge::served::code_rates(
            &edge::access::Scope::All,
            None,
            &p.months,
        )],
    );
    let rates: Vec<edge::served::CodeRate> = edge::row::of_value(rows[0].clone()).unwrap();
    let day = |t: i64| i64::from(wire::time::Day::from_unix(t).unwrap().0);
    let scanned = exec(
        &w.h,
        vec![edge::sql::stmt(
            "SELECT code, SUM(n) AS served, \
             SUM(source IN ('link', 'report') AND rated = 0 AND COALESCE(defaulted_at, 0) = 0) AS never, \
             SUM(rated = 0 AND COALESCE(defaulted_at, 0) > 0) AS defaults \
             FROM served WHERE day >= ?1 AND day < ?2 GROUP BY code",
            vec![day(p.from).into(), day(p.to).into()],
        )],
    );
    // (A code no longer in the directory has no row here.)
    for s in scanned[0].as_array().unwrap() {
        let Some(r) = rates.iter().find(|r| r.code == s["code"]) else {
            continue;
        };
        assert_eq!(
            (r.served, r.never, r.defaults),
            (
                s["served"].as_i64().unwrap(),
                s["never"].as_i64().unwrap(),
                s["defaults"].as_i64().unwrap()
            ),
            "the tallies of {} against its served rows",
            r.code
        );
    }
    rates
}

#[test]
fn ten_links_seven_rated_is_seventy_percent_and_a_days_count_is_its_denominator() {
    use wire::rating::Level;
    let w = World::new();
    let of = |w: &World, e: &wire::directory::Entry| {
        rates(w)
            .into_iter()
            .find(|r| r.code == e.code.to_text())
            .unwrap()
    };
    let (a, b) = (a1(), a2());
    let before = (of(&w, &a), of(&w, &b));
    let matter = a.matters[0].code.clone();
    let mut tokens = vec![];
    for i in 0..10 {
        let (s, v) = send(
            &w,
            Who::Queue,
            Method::Post,
            "/api/v1/links",
            Body::Json(
                serde_json::json!({"code": a.code.to_text(), "matter": matter, "project_no": format!("RATE-{i}")}),
            ),
        );
        assert_eq!(s, 201, "{v}");
        tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    for (i, t) in tokens.iter().take(7).enumerate() {
        let level = if i == 3 {
            Level::Dissatisfied
        } else {
            Level::Satisfied
        };
        assert_eq!(through(&w, t, 120 + i as u8, level), 200);
    }
    let after = of(&w, &a);
    assert_eq!(after.served - before.0.served, 10);
    assert_eq!(after.rated - before.0.rated, 7);
    assert_eq!(after.never - before.0.never, 3, "three 办件 never rated");
    let mine = edge::served::Rate {
        served: after.served - before.0.served,
        rated: after.rated - before.0.rated,
        never: after.never - before.0.never,
        defaults: 0,
    };
    assert_eq!(mine.shown(), "70.0%");
    // A day's ticket count of 40 at a static code with 12 ratings that day: 30%.
    let today = wire::time::Day::from_unix(w.h.now()).unwrap().to_string();
    let (s, _) = report(
        &w,
        serde_json::json!({"code": b.code.to_text(), "day": today, "count": 40}),
    );
    assert_eq!(s, 200);
    for n in 0..12 {
        assert_eq!(w.rate(&b, Level::VerySatisfied, 200 + n).0, 200);
    }
    let after = of(&w, &b);
    assert_eq!(after.served, 40);
    assert_eq!(after.rated - before.1.rated, 12);
    assert_eq!(
        edge::served::Rate {
            served: 40,
            rated: after.rated - before.1.rated,
            never: 0,
            defaults: 0,
        }
        .shown(),
        "30.0%"
    );
    // A window with no served figures says so.
    assert_eq!(of(&w, &b1()).rate().shown(), "无办件数据");
    // The console's 评价率 page: the windows of the caller's scope, lowest first; B-hall's
    // administrator sees none of hall A's.
    let page = |who: Who, q: &str| {
        let r = w.send(request(
            who,
            Method::Get,
            &format!("/console/rates{q}"),
            Body::None,
        ));
        (
            r.status,
            String::from_utf8_lossy(r.body_bytes()).into_owned(),
        )
    };
    let (s, html) = page(Who::HallA, "");
    assert_eq!(s, 200);
    // A02 (30.0%) above A01 (its links' 70% with the fixture's own rating there).
    let a1_rate = of(&w, &a).rate().shown();
    assert_ne!(a1_rate, "30.0%");
    let cell = |t: &str| {
        html.find(&format!("<td class=\"num\">{t}</td>"))
            .unwrap_or_else(|| panic!("{t}: {html}"))
    };
    assert!(cell("30.0%") < cell(&a1_rate), "lowest first");
    let (_, city) = page(Who::City, "");
    let none = city
        .find("<td class=\"num\">无办件数据</td>")
        .expect("a window without served figures");
    assert!(
        none > city.find("30.0%").unwrap(),
        "those without figures come last"
    );
    if let Ok(f) = std::env::var("ZSP_RATES_PAGE") {
        std::fs::write(f, &html).unwrap();
    }
    let (s, other) = page(Who::HallB, "");
    assert_eq!(s, 200);
    assert!(
        !other.contains("30.0%") && !other.contains(&a.window),
        "{other}"
    );
    let (s, bad) = page(Who::HallA, "?period=2026-13");
    assert_eq!(s, 400, "{bad}");
    // The public results (`zsp.results` 2): the hall's 评价率, its units', in JSON and CSV.
    let hall = percent_encoding::utf8_percent_encode(HALL, percent_encoding::NON_ALPHANUMERIC);
    let r = w.send(request(
        Who::Citizen,
        Method::Get,
        &format!("/results.json?hall={hall}"),
        Body::None,
    ));
    let j: serde_json::Value = serde_json::from_slice(r.body_bytes()).unwrap();
    assert_eq!(j["version"], 2, "{j}");
    let all = edge::served::Rate::of(&rates(&w));
    assert_eq!(j["rate"]["served"], all.served, "{j}");
    assert_eq!(j["rate"]["never_rated"], 3, "{j}");
    assert!(j["rate"]["active_pct"].as_f64().is_some(), "{j}");
    if let Ok(f) = std::env::var("ZSP_RESULTS_PAGE") {
        let page = format!("/results?hall={hall}");
        let r = w.send(request(Who::Citizen, Method::Get, &page, Body::None));
        std::fs::write(f, r.body_bytes()).unwrap();
    }
    let r = w.send(request(
        Who::Citizen,
        Method::Get,
        &format!("/results.csv?hall={hall}"),
        Body::None,
    ));
    let csv = String::from_utf8_lossy(r.body_bytes()).into_owned();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with("办件数,主动评价率%,未评价办件,实际评价率%,系统默认评价"),
        "{csv}"
    );
    assert!(
        csv.lines().nth(1).unwrap().ends_with(&format!(
            ",{},{},3,{},0",
            all.served, j["rate"]["active_pct"], j["rate"]["actual_pct"]
        )),
        "{csv}"
    );
    // `/metrics`: this month's figures over the codes that have served ones.
    let r = w.send(request(Who::Operator, Method::Get, "/metrics", Body::None));
    let text = String::from_utf8_lossy(r.body_bytes()).into_owned();
    let all = edge::served::Rate::of(&rates(&w));
    assert_eq!((all.served, all.never), (50, 3));
    for line in [
        format!("zsp_served_this_month {}", all.served),
        format!("zsp_rated_where_served_this_month {}", all.rated),
        format!("zsp_served_never_rated_this_month {}", all.never),
    ] {
        assert!(text.contains(&line), "{line}: {text}");
    }
}

/// 2026-02-12 (Thu) 10:00 CST, before the Spring Festival (2026-02-15 to 23 off; Saturday the
/// 14th and the 28th are 调休 working days).
const FEB_12: i64 = 1_770_861_600;

fn get(w: &World, who: Who, path: &str) -> String {
    let r = w.send(request(who, Method::Get, path, Body::None));
    assert_eq!(r.status, 200, "{path}");
    String::from_utf8_lossy(r.body_bytes()).into_owned()
}

fn unrated(w: &World) -> Option<i64> {
    edge::unrated::tick(&Lite(w), &w.s.served, w.s.lane.hours, w.h.now()).unwrap()
}

fn at(w: &World, t: i64) {
    w.h.advance(t - w.h.now());
}

fn mint(w: &World, project_no: &str, days: Option<u32>) -> serde_json::Value {
    let mut body = serde_json::json!({"code": a1().code.to_text(), "matter": a1().matters[0].code, "project_no": project_no});
    if let Some(d) = days {
        body["lifetime_days"] = d.into();
    }
    let (s, v) = send(
        w,
        Who::Queue,
        Method::Post,
        "/api/v1/links",
        Body::Json(body),
    );
    assert_eq!(s, 201, "{v}");
    v
}

#[test]
fn one_default_after_five_working_days_across_the_spring_festival() {
    use wire::rating::Level;
    let mut w = World::new();
    w.s = settings_with(&[
        ("DEFAULT_RATING", "off 3301:5w"),
        ("INVITE_AFTER", "off"),
        ("UPSTREAM_URL", "https://hcp.example.gov.cn/ratings"),
        (
            "UPSTREAM_KEYS",
            &wire::key::Key::new(wire::key::KeyPurpose::Upstream, 1, [4; 32]).to_text(),
        ),
        ("UPSTREAM_MAPPING", "provincial"),
        ("UPSTREAM_DEFAULT_CHANNEL", "7"),
    ]);
    at(&w, FEB_12);
    // Ten 办件 at one window: eight on the 12th (one of them given a month to be rated in), two
    // on the 25th.
    let mut tokens = vec![];
    for i in 0..8 {
        let v = mint(&w, &format!("SF-{i}"), (i == 7).then_some(30));
        tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    // Seven rated, one of them 不满意.
    for (i, t) in tokens.iter().take(7).enumerate() {
        let level = if i == 3 {
            Level::Dissatisfied
        } else {
            Level::Satisfied
        };
        assert_eq!(through(&w, t, 150 + i as u8, level), 200);
    }
    let defaults = |w: &World| w.count("SELECT COUNT(*) AS n FROM ratings WHERE via = 'default'");
    // Five working days from Thursday 10:00: Friday, the 调休 Saturday, then (after the
    // festival) Tuesday 24th, Wednesday, Thursday 26th 10:00, not Thursday 19th.
    at(&w, 1_771_480_800); // 2026-02-19 14:00, five calendar working days without the festival
    unrated(&w);
    assert_eq!(defaults(&w), 0);
    at(&w, 1_772_006_400); // 2026-02-25 16:00
    for i in 8..10 {
        let v = mint(&w, &format!("SF-{i}"), None);
        tokens.push(v["token"].as_str().unwrap().to_owned());
        // Item 5: without a lifetime asked for, the link lives until its default (5 working
        // days from Wednesday 16:00, the 28th a 调休 working Saturday: Tuesday 3 March 16:00).
        assert_eq!(v["expires_at"], "2026-03-03T16:00:00+08:00", "{v}");
    }
    unrated(&w);
    assert_eq!(defaults(&w), 0);
    at(&w, 1_772_071_140); // 2026-02-26 09:59
    let next = unrated(&w);
    assert_eq!(defaults(&w), 0);
    assert_eq!(next, Some(1_772_071_200), "the alarm comes back at 10:00");
    at(&w, 1_772_071_260); // 10:01
    unrated(&w);
    unrated(&w);
    assert_eq!(defaults(&w), 1, "once");
    let d = w.one("SELECT * FROM ratings WHERE via = 'default'");
    assert_eq!(
        (
            d["level"].as_str(),
            d["project_no"].as_str(),
            d["tags"].as_str(),
            d["comment"].as_str()
        ),
        (Some("basic"), Some("SF-7"), Some(""), Some(""))
    );
    assert_eq!(
        w.count(&format!(
            "SELECT COUNT(*) AS n FROM cases WHERE rating = '{}'",
            d["id"].as_str().unwrap()
        )),
        0,
        "no case"
    );
    // The figures for February: 主动评价率 70%, 实际评价率 80%, 2 never rated.
    let p = edge::period::Period::parse("2026-02").unwrap();
    let codes = rates_in(&w, &p);
    let r = edge::served::Rate::of(&codes);
    assert_eq!(
        (r.served, r.rated, r.defaults, r.never),
        (10, 7, 1, 2),
        "{codes:?}"
    );
    assert_eq!(
        (r.shown(), r.shown_actual()),
        ("70.0%".into(), "80.0%".into())
    );
    // The same in the console, the public results (page, JSON, CSV) and /metrics.
    let console = get(&w, Who::HallA, "/console/rates?period=2026-02");
    assert!(
        console.contains("主动评价率 <strong>70.0%</strong>")
            && console.contains("实际评价率 <strong>80.0%</strong>")
            && console.contains("从未评价的办件 2 件"),
        "{console}"
    );
    let hall = percent_encoding::utf8_percent_encode(HALL, percent_encoding::NON_ALPHANUMERIC);
    let j: serde_json::Value = serde_json::from_str(&get(
        &w,
        Who::Citizen,
        &format!("/results.json?hall={hall}&period=2026-02"),
    ))
    .unwrap();
    assert_eq!(
        (
            &j["rate"]["active_pct"],
            &j["rate"]["actual_pct"],
            &j["rate"]["never_rated"],
            &j["rate"]["defaults"]
        ),
        (
            &serde_json::json!(70.0),
            &serde_json::json!(80.0),
            &serde_json::json!(2),
            &serde_json::json!(1)
        ),
        "{j}"
    );
    assert_eq!(j["defaults_in_satisfaction"], false);
    // Not counted in 满意率 by default: seven ratings, six satisfied.
    assert_eq!(
        (&j["total"]["ratings"], &j["total"]["satisfied"]),
        (&serde_json::json!(7), &serde_json::json!(6)),
        "{j}"
    );
    let page = get(
        &w,
        Who::Citizen,
        &format!("/results?hall={hall}&period=2026-02"),
    );
    assert!(
        page.contains("70.0%")
            && page.contains("80.0%")
            && page.contains("不含系统默认评价（本期 1 条）"),
        "{page}"
    );
    // For a look in Chromium (`ZSP_UNRATED_PAGES=dir`): the console's and the public page.
    if let Ok(dir) = std::env::var("ZSP_UNRATED_PAGES") {
        std::fs::write(format!("{dir}/rates.html"), &console).unwrap();
        std::fs::write(format!("{dir}/results.html"), &page).unwrap();
    }
    let csv = get(
        &w,
        Who::Citizen,
        &format!("/results.csv?hall={hall}&period=2026-02"),
    );
    assert!(
        csv.lines().nth(1).unwrap().ends_with(",10,70.0,2,80.0,1"),
        "{csv}"
    );
    let metrics = get(&w, Who::Operator, "/metrics");
    for line in [
        "zsp_served_this_month 10",
        "zsp_rated_where_served_this_month 7",
        "zsp_served_never_rated_this_month 2",
        "zsp_default_ratings_this_month 1",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
    // Counted as 基本满意 where the office's rule says so, and the page says which.
    w.s.results.defaults_count = true;
    w.h.advance(61); // past the results' memo
    let j: serde_json::Value = serde_json::from_str(&get(
        &w,
        Who::Citizen,
        &format!("/results.json?hall={hall}&period=2026-02"),
    ))
    .unwrap();
    assert_eq!(j["defaults_in_satisfaction"], true);
    assert_eq!(
        (&j["total"]["ratings"], &j["total"]["satisfied"]),
        (&serde_json::json!(8), &serde_json::json!(7)),
        "{j}"
    );
    let page = get(
        &w,
        Who::Citizen,
        &format!("/results?hall={hall}&period=2026-02"),
    );
    assert!(page.contains("满意率含系统默认评价 1 条"), "{page}");
    // The default goes upstream on the configured channel: 7.
    let row = |w: &World| -> edge::store::RatingRow {
        edge::row::one_of_value(w.one(&format!(
            "SELECT {} FROM ratings WHERE project_no = 'SF-7'",
            edge::store::RATING_COLUMNS
        )))
        .unwrap()
    };
    // Told apart in the administrators' export.
    assert_eq!(
        edge::store::export_cells(&row(&w), false).unwrap()[19],
        "系统默认评价"
    );
    let upstream = &w.s.core.receivers[0];
    let (out, rev) = edge::outbox::outbound(&row(&w), 0, upstream, &w.s.core, w.h.now()).unwrap();
    let body: serde_json::Value = serde_json::from_str(&out.body).unwrap();
    assert_eq!(
        (rev, &body["pf"], &body["assessNumber"]),
        (1, &serde_json::json!("7"), &serde_json::json!("1")),
        "{body}"
    );
    assert_eq!(
        body["satisfaction"], "3",
        "基本满意 in the provincial direction"
    );
    let took = w.forward_all();
    assert!(
        took[0]
            .1
            .contains(&(d["id"].as_str().unwrap().to_owned(), 1)),
        "{took:?}"
    );
    // A citizen rates the 办件 afterwards, within the link's lifetime: their rating replaces the
    // default, upstream as revision 2 on the QR channel, still the first assessment.
    assert_eq!(through(&w, &tokens[7], 170, Level::VerySatisfied), 200);
    let after = row(&w);
    assert_eq!(
        (after.via.as_str(), after.rev, after.assess_number),
        ("app", 2, 1)
    );
    let upstream = &w.s.core.receivers[0];
    let (out, rev) = edge::outbox::outbound(&after, 1, upstream, &w.s.core, w.h.now()).unwrap();
    let body: serde_json::Value = serde_json::from_str(&out.body).unwrap();
    assert_eq!(
        (rev, &body["pf"], &body["satisfaction"]),
        (2, &serde_json::json!("3"), &serde_json::json!("5")),
        "{body}"
    );
    let r = edge::served::Rate::of(&rates_in(&w, &p));
    assert_eq!(
        (r.rated, r.defaults, r.never),
        (8, 0, 2),
        "no default stands"
    );
    // The two waiting 办件 get theirs when their links run out, and nothing else does.
    at(&w, 1_772_524_800 + 60); // 2026-03-03 16:01
    unrated(&w);
    assert_eq!(defaults(&w), 2);
}

/// The deployment inviting unrated 办件 after `invite_after` (`INVITE_AFTER`) through routes to
/// the queue system's host.
fn inviting(invite_after: &str) -> World {
    let mut w = World::new();
    w.s = settings_with(&[
        ("INVITE_AFTER", invite_after),
        ("ALERT_HOSTS", "queue.example.gov.cn"),
        ("PUBLIC_URL", "https://pj.example.gov.cn"),
    ]);
    w
}

/// A route of audience `invites` to the queue system's host (of `hall`, or every hall).
fn invites_route(name: &str, kind: &str, hall: Option<&str>) -> edge::fastlane::NewRoute {
    edge::fastlane::NewRoute {
        name: name.into(),
        region: None,
        hall: hall.map(Into::into),
        dept: None,
        kind: kind.into(),
        url: "https://queue.example.gov.cn/invite".into(),
        secret: "invite-secret-0123456789".into(),
        names: false,
        audience: "invites".into(),
        inbound: String::new(),
    }
}

/// A queue system's report of a 办件 that has no link: nothing the alarm could send or store
/// for it (an invitation and a default both go by the link), so it stays out of the alarm's
/// index (`served.linked`, migration 0019) and costs its rounds nothing, however many there
/// are — until its link is minted, when it is invited as any other.
#[test]
fn a_reported_banjian_without_its_link_is_left_out_of_the_alarm_until_the_link_comes() {
    let w = inviting("24h");
    w.add_route(invites_route("业务系统", "webhook", None));
    let code = a1().code.to_text();
    let matter = a1().matters[0].code.clone();
    let start = w.h.now();
    for no in ["RPT-1", "RPT-2"] {
        let (s, b) = report(
            &w,
            serde_json::json!({"code": code, "project_no": no, "matter": matter}),
        );
        assert_eq!(s, 200, "{b}");
    }
    // What the alarm's index holds of them: nothing.
    let looked_at = |w: &World| {
        w.count(
            "SELECT COUNT(*) AS n FROM served INDEXED BY served_unrated \
             WHERE rated = 0 AND project_no IS NOT NULL AND linked = 1",
        )
    };
    assert_eq!(looked_at(&w), 0);
    // The index holds only linked 办件: a query that would take the others cannot use it.
    let unlinked = w.h.db.run(&[edge::sql::stmt(
        "SELECT COUNT(*) AS n FROM served INDEXED BY served_unrated \
         WHERE rated = 0 AND project_no IS NOT NULL",
        vec![],
    )]);
    assert!(unlinked.is_err(), "{unlinked:?}");
    let invites = |w: &World| w.count("SELECT COUNT(*) AS n FROM alerts WHERE served IS NOT NULL");
    at(&w, start + 48 * 3600);
    assert_eq!(unrated(&w), None, "nothing to come back for");
    assert_eq!(invites(&w), 0);
    // RPT-1's link, minted now: in the index, and invited a day later; RPT-2 still out.
    let minted = w.h.now();
    mint(&w, "RPT-1", None);
    assert_eq!(looked_at(&w), 1);
    assert_eq!(
        w.count("SELECT COUNT(*) AS n FROM served WHERE source = 'report' AND linked = 1"),
        1,
        "the report's own row, not a second one"
    );
    at(&w, minted + 24 * 3600);
    unrated(&w);
    assert_eq!(invites(&w), 1);
}

#[test]
fn an_unrated_banjian_invites_once_at_invite_after_through_the_invites_route() {
    use wire::rating::Level;
    let w = inviting("24h 3399:1h");
    let route = |name: &str, kind: &str, hall: &str| invites_route(name, kind, Some(hall));
    // Only a generic webhook takes invitations: the business system sends the SMS.
    let robot = route("短信", "wecom", HALL).check(&w.s.lane);
    assert!(
        robot
            .unwrap_err()
            .contains("邀评只发往业务系统的通用 Webhook")
    );
    let add = |r: edge::fastlane::NewRoute| w.add_route(r);
    let mine = add(route("甲业务系统", "webhook", HALL));
    let theirs = add(route("乙业务系统", "webhook", "别的大厅"));
    let start = w.h.now();
    let a = mint(&w, "INV-1", None);
    let b = mint(&w, "INV-2", None);
    // INV-2 is rated at once: it is never invited.
    assert_eq!(
        through(&w, b["token"].as_str().unwrap(), 180, Level::Satisfied),
        200
    );
    let invites = |w: &World| w.count("SELECT COUNT(*) AS n FROM alerts WHERE served IS NOT NULL");
    let next = unrated(&w);
    assert_eq!(invites(&w), 0);
    assert!(
        next.is_some_and(|n| n > start && n <= start + 24 * 3600),
        "the alarm comes back by then (sooner: another authority's INVITE_AFTER is an hour): {next:?}"
    );
    at(&w, start + 24 * 3600 - 1);
    unrated(&w);
    assert_eq!(invites(&w), 0, "not before INVITE_AFTER");
    at(&w, start + 24 * 3600);
    unrated(&w);
    unrated(&w);
    assert_eq!(invites(&w), 1, "once, to hall A's route only");
    let ring = w.s.core.challenge_keys.clone();
    let m = edge::unrated::messages(&Lite(&w), &ring, w.s.core.public_url.as_deref(), w.h.now())
        .unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].route, m[0].url.as_str()),
        (mine, "https://queue.example.gov.cn/invite")
    );
    assert_ne!(m[0].route, theirs);
    // Signed as the alerts' webhook: the receiver's check, written out.
    let sig = &m[0]
        .headers
        .iter()
        .find(|(k, _)| k == "Zsp-Signature")
        .unwrap()
        .1;
    let (t, v1) = sig.split_once(',').unwrap();
    let t: i64 = t.strip_prefix("t=").unwrap().parse().unwrap();
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(m[0].body.as_bytes());
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"invite-secret-0123456789").unwrap();
    mac.update(&msg);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, format!("v1={hex}"));
    let body: serde_json::Value = serde_json::from_str(&m[0].body).unwrap();
    assert_eq!(
        (&body["format"], &body["project_no"], &body["url"]),
        (
            &serde_json::json!("zsp.invite"),
            &serde_json::json!("INV-1"),
            &a["url"]
        ),
        "{body}"
    );
    for k in ["phone", "comment", "device"] {
        assert!(body.get(k).is_none(), "no {k}: {body}");
    }
    // Acknowledged: nothing more, ever, for this 办件.
    exec(&w.h, edge::fastlane::record(&m[0], Ok(()), w.h.now()));
    at(&w, start + 48 * 3600);
    unrated(&w);
    assert!(
        edge::unrated::messages(&Lite(&w), &ring, None, w.h.now())
            .unwrap()
            .is_empty()
    );
    assert_eq!(invites(&w), 1);
}
