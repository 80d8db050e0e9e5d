//! Upstreams as they are (#36): the mappings as data. A provincial upstream needs each unit's
//! 统一社会信用代码 (`deptCode`): a directory without it is refused at upload, and a rating
//! whose entry lacks it waits, saying why, rather than leave with a hole; GB/T 39046's items go
//! out in their own names and formats.

use crate::fixture::*;
use edge::host::Host;
use edge::http::Method;
use wire::rating::Level;

fn forwarding(mapping: &str) -> edge::routes::Settings {
    let keys = wire::key::Key::new(wire::key::KeyPurpose::Upstream, 1, [3; 32]).to_text();
    settings_with(&[
        ("UPSTREAM_URL", "https://hcp.example.gov.cn/ratings"),
        ("UPSTREAM_KEYS", &keys),
        ("UPSTREAM_MAPPING", mapping),
    ])
}

fn upload(w: &World, entries: Vec<wire::directory::Entry>) -> (u16, String) {
    let r = w.send(request(
        Who::Operator,
        Method::Put,
        "/admin/directory?authority=330105",
        Body::Raw(
            "application/json",
            wire::directory::Directory::new(entries)
                .to_json()
                .into_bytes(),
        ),
    ));
    (
        r.status,
        String::from_utf8_lossy(r.body_bytes()).into_owned(),
    )
}

/// The stored row of the newest rating.
fn newest(w: &World) -> edge::store::RatingRow {
    edge::row::one_of_value(w.one(&format!(
        "SELECT {} FROM ratings ORDER BY rated_at DESC, id DESC LIMIT 1",
        edge::store::RATING_COLUMNS
    )))
    .unwrap()
}

#[test]
fn a_provincial_upstream_needs_every_units_credit_code_and_names_the_one_missing() {
    let mut w = World::new();
    w.s = forwarding("provincial");
    let codes = || w.count("SELECT COUNT(*) AS n FROM entries");
    let before = codes();
    let mut lacking = entry("330105", "A09", None);
    lacking.dept_code = None;
    let (s, b) = upload(&w, vec![a1(), a2(), lacking.clone()]);
    assert_eq!(s, 400, "{b}");
    assert!(
        b.contains("第 3 个二维码（330105 便民服务中心 窗口 A09）缺少窗口单位统一社会信用代码")
            && b.contains("provincial 映射")
            && b.contains("deptCode"),
        "{b}"
    );
    assert_eq!(codes(), before, "nothing of a refused upload is kept");
    // A wrong check character is refused by the directory's own check, whatever the mapping.
    let mut typo = entry("330105", "A09", None);
    typo.dept_code = Some("11330102MB1234567C".into());
    let (s, b) = upload(&w, vec![a1(), a2(), typo]);
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("dept_code \\\"11330102MB1234567C\\\""), "{b}");
    // With the code, taken.
    let (s, b) = upload(&w, vec![a1(), a2(), entry("330105", "A09", None)]);
    assert_eq!(s, 200, "{b}");
    // The project's own JSON needs no such code.
    w.s = forwarding("project");
    assert_eq!(upload(&w, vec![a1(), a2(), lacking]).0, 200);

    // A rating whose entry lost the code (a directory from before) waits and says why.
    w.s = forwarding("provincial");
    assert_eq!(w.rate(&a1(), Level::Satisfied, 91).0, 200);
    let row = newest(&w);
    let mut holed = row.clone();
    holed.entry = serde_json::to_string(&{
        let mut e: wire::directory::Entry = serde_json::from_str(&row.entry).unwrap();
        e.dept_code = None;
        e
    })
    .unwrap();
    let err = edge::outbox::outbound(&holed, 0, &w.s.core.receivers[0], &w.s.core, w.h.now())
        .unwrap_err();
    assert!(
        err.contains("deptCode (窗口单位统一社会信用代码) cannot be filled for code"),
        "{err}"
    );
    let (out, _) =
        edge::outbox::outbound(&row, 0, &w.s.core.receivers[0], &w.s.core, w.h.now()).unwrap();
    let body: serde_json::Value = serde_json::from_str(&out.body).unwrap();
    assert_eq!(
        (
            &body["deptCode"],
            &body["satisfaction"],
            &body["userProp"],
            &body["anonymityFlag"]
        ),
        (
            &serde_json::json!(UNIT_CODE),
            &serde_json::json!("4"),
            &serde_json::json!("1"),
            &serde_json::json!("1")
        ),
        "{body}"
    );
}

#[test]
fn gbt39046_sends_the_national_items_in_their_formats_and_direction() {
    let mut w = World::new();
    w.s = forwarding("gbt39046");
    for (level, code, name) in [
        (Level::VerySatisfied, 1, "非常满意"),
        (Level::Basic, 3, "基本满意"),
        (Level::VeryDissatisfied, 5, "非常不满意"),
    ] {
        // A minute apart, so the newest is this one.
        w.h.advance(60);
        assert_eq!(w.rate(&a2(), level, 60 + code).0, 200);
        let row = newest(&w);
        let (out, _) =
            edge::outbox::outbound(&row, 0, &w.s.core.receivers[0], &w.s.core, w.h.now()).unwrap();
        let b: serde_json::Value = serde_json::from_str(&out.body).unwrap();
        assert_eq!(
            (
                &b["满意度代码"],
                &b["满意度"],
                &b["评价次数"],
                &b["行政区划"]
            ),
            (
                &serde_json::json!(code),
                &serde_json::json!(name),
                &serde_json::json!(1),
                &serde_json::json!("330105")
            ),
            "{b}"
        );
        let t = b["评价时间"].as_str().unwrap();
        assert!(
            t.len() == 15
                && t.as_bytes()[8] == b'T'
                && t.replace('T', "").bytes().all(|c| c.is_ascii_digit()),
            "{t}"
        );
        assert_eq!(t, wire::time::format_gbt39046(row.rated_at));
        assert_eq!(
            b["办件编号"], row.id,
            "a window rating without a 办件号 carries its id"
        );
        assert!(b["评价人"].as_str().unwrap().len() <= 30);
        assert!(
            out.body.find("\"办件编号\"") < out.body.find("\"行政区划\""),
            "the table's order"
        );
    }
}

/// Two receivers (`UPSTREAMS`): the province takes every rating with its key, the district's
/// department 差评 of 330105 only with its own.
fn two_receivers() -> edge::routes::Settings {
    let keys = format!(
        "{} {}",
        wire::key::Key::new(wire::key::KeyPurpose::Upstream, 1, [3; 32]).to_text(),
        wire::key::Key::new(wire::key::KeyPurpose::Upstream, 2, [4; 32]).to_text()
    );
    settings_with(&[
        (
            "UPSTREAMS",
            "province https://hcp.example.gov.cn/ratings provincial key=1; \
             dept https://dept.example.gov.cn/in gbt39046 bad region=330105 key=2",
        ),
        ("UPSTREAM_KEYS", &keys),
    ])
}

#[test]
fn several_receivers_each_take_what_they_take_and_are_shown_apart() {
    let mut w = World::new();
    w.s = two_receivers();
    assert_eq!(w.forward_all().len(), 2, "nothing yet");
    assert_eq!(w.rate(&a1(), Level::Satisfied, 11).0, 200);
    assert_eq!(w.rate(&a2(), Level::VeryDissatisfied, 12).0, 200);
    assert_eq!(w.rate(&b1(), Level::Dissatisfied, 13).0, 200);
    let took = w.forward_all();
    let (province, dept) = (&took[0], &took[1]);
    assert_eq!((province.0.as_str(), province.1.len()), ("province", 3));
    // a2's (330105) and not b1's (330106) nor a1's 满意.
    assert_eq!(
        (dept.0.as_str(), dept.1.len()),
        ("dept", 1),
        "the one 差评 of 330105: {took:?}"
    );
    // Nothing twice.
    let again = w.forward_all();
    assert!(again.iter().all(|(_, t)| t.is_empty()), "{again:?}");

    // A receiver that is down: its backlog and its trouble on /status, /metrics and the
    // console's 转发状态, the other's not.
    assert_eq!(w.rate(&a2(), Level::Dissatisfied, 14).0, 200);
    let now = w.h.now();
    let rows = exec(
        &w.h,
        edge::outbox::claim("province", now, now + 600, edge::outbox::CLAIM_LIMIT),
    );
    let claimed: Vec<edge::outbox::Claimed> = edge::row::of_value(rows[0].clone()).unwrap();
    assert_eq!(claimed.len(), 1);
    exec(
        &w.h,
        edge::outbox::record(
            edge::outbox::Queue::Ratings,
            "province",
            &claimed,
            &[edge::outbox::Sent::Down("upstream status 503".into())],
            &w.s.core,
            now,
        ),
    );
    let r = w.send(request(Who::Operator, Method::Get, "/status", Body::None));
    let st: serde_json::Value = serde_json::from_slice(r.body_bytes()).unwrap();
    let of = |name: &str| {
        st["receivers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(of("province")["backlog"], 1, "{st}");
    assert_eq!(of("province")["failing_rounds"], 1, "{st}");
    assert_eq!(of("province")["retry_in_secs"], 30, "{st}");
    assert_eq!(of("province")["last_error"], "upstream status 503", "{st}");
    assert_eq!(of("dept")["backlog"], 1, "{st}");
    assert_eq!(of("dept")["failing_rounds"], 0, "{st}");
    let r = w.send(request(Who::Operator, Method::Get, "/metrics", Body::None));
    let m = String::from_utf8_lossy(r.body_bytes()).into_owned();
    for line in [
        "zsp_receiver_backlog{receiver=\"province\"} 1",
        "zsp_receiver_backlog{receiver=\"dept\"} 1",
        "zsp_receiver_failing_rounds{receiver=\"province\"} 1",
        "zsp_receiver_failing_rounds{receiver=\"dept\"} 0",
    ] {
        assert!(m.lines().any(|l| l == line), "{line}\n{m}");
    }
    let r = w.send(request(
        Who::City,
        Method::Get,
        "/console/status",
        Body::None,
    ));
    assert_eq!(r.status, 200);
    let page = String::from_utf8_lossy(r.body_bytes()).into_owned();
    if let Ok(p) = std::env::var("ZSP_STATUS_PAGE") {
        std::fs::write(p, &page).unwrap();
    }
    assert!(
        page.contains("各接收方")
            && page.contains("连续 1 轮未送达：upstream status 503；30 秒后重试")
            && page.contains(">dept<"),
        "{page}"
    );
    // Hall B's administrator sees the receivers' backlogs within hall B only.
    let r = w.send(request(
        Who::HallB,
        Method::Get,
        "/console/status",
        Body::None,
    ));
    let page = String::from_utf8_lossy(r.body_bytes()).into_owned();
    assert!(page.contains(">province<"), "{page}");
}

/// A receiver that takes results (`results`) hears how each 差评 ended: after 办结, the case's
/// steps with their dates, the classification and the reply marked public, never a phone, a
/// comment, a name or a note; the citizen's 追评 that reopens it is sent as the next result.
#[test]
fn a_case_reaching_its_end_goes_to_the_receivers_that_take_results() {
    let mut w = World::new();
    let keys = format!(
        "{} {}",
        wire::key::Key::new(wire::key::KeyPurpose::Upstream, 1, [3; 32]).to_text(),
        wire::key::Key::new(wire::key::KeyPurpose::Upstream, 2, [4; 32]).to_text()
    );
    w.s = settings_with(&[
        (
            "UPSTREAMS",
            "province https://hcp.example.gov.cn/ratings provincial results key=1; \
             dept https://dept.example.gov.cn/in gbt39046 bad key=2",
        ),
        ("UPSTREAM_KEYS", &keys),
    ]);
    w.forward_all();
    // The fixture's 差评 carry a callback phone with consent.
    let mut sub = submission(&a1(), Level::VeryDissatisfied, 31);
    sub.rating.comment = "等了两小时，打我电话".into();
    let (s, body) = w.post(&sub);
    assert_eq!(s, 200, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = w.one("SELECT MAX(id) AS id FROM cases")["id"]
        .as_i64()
        .unwrap();
    let step = |pairs: &[(&str, &str)]| {
        let (s, b) = step(&w, Who::HallA, case, pairs);
        assert_eq!(s, 303, "{pairs:?}: {b}");
    };
    step(&[
        ("action", "callback"),
        ("value", "reached"),
        ("note", "内部：回访时态度很差"),
    ]);
    step(&[
        ("action", "check"),
        ("value", "true"),
        ("about", "staff"),
        ("track", "simple"),
    ]);
    step(&[("action", "fixed"), ("value", "已培训窗口人员")]);
    // Nothing before 办结.
    w.forward_all();
    assert!(w.forward_results().iter().all(|(_, s)| s.is_empty()));
    step(&[
        ("action", "replied"),
        ("value", "已电话告知整改情况"),
        ("publish", "1"),
    ]);
    step(&[("action", "close")]);
    let sent = w.forward_results();
    let (province, dept) = (&sent[0], &sent[1]);
    assert!(dept.1.is_empty(), "dept takes no results");
    assert_eq!(province.1.len(), 1);
    let o = &province.1[0];
    let header = |name: &str| o.headers.iter().find(|h| h.0 == name).unwrap().1.clone();
    let rating = w.one("SELECT rating FROM cases ORDER BY id DESC LIMIT 1")["rating"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(header("Idempotency-Key"), format!("case-{rating}.1"));
    assert_eq!(header("Zsp-Revision"), "1");
    let b: serde_json::Value = serde_json::from_str(&o.body).unwrap();
    if let Ok(p) = std::env::var("ZSP_CASE_ENVELOPE") {
        std::fs::write(p, &o.body).unwrap();
    }
    assert_eq!(
        (
            &b["format"],
            &b["rating"],
            &b["state"],
            &b["finding"],
            &b["about"]
        ),
        (
            &"zsp.case".into(),
            &rating.clone().into(),
            &"closed".into(),
            &"true".into(),
            &"staff".into()
        ),
        "{b}"
    );
    assert_eq!(b["reply"], "已电话告知整改情况");
    let steps: Vec<&str> = b["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["callback", "check", "fixed", "replied", "close"],
        "{b}"
    );
    for never in [
        "13812345678",
        "等了两小时",
        "态度很差",
        "已培训窗口人员",
        "王芳",
        "A-SC1",
    ] {
        assert!(!o.body.contains(never), "{never}: {}", o.body);
    }
    // Sent once.
    assert!(w.forward_results().iter().all(|(_, s)| s.is_empty()));
    // The citizen's status page still shows the reply after 办结 (it was published with 已反馈).
    let r = w.send(request(
        Who::Citizen,
        Method::Get,
        &format!("/s/{token}"),
        Body::None,
    ));
    let page = String::from_utf8_lossy(r.body_bytes()).into_owned();
    assert!(page.contains("已电话告知整改情况"), "{page}");
    // The citizen, still unhappy, reopens it: the next result.
    assert_eq!(w.followup(&token, "unsatisfied").0, 200);
    let sent = w.forward_results();
    let o = &sent[0].1[0];
    let b: serde_json::Value = serde_json::from_str(&o.body).unwrap();
    assert_eq!(
        (&b["verdict"], &b["state"], b["reopened_at"].is_string()),
        (&"unsatisfied".into(), &"callback".into(), true),
        "{b}"
    );
    assert!(
        o.headers
            .iter()
            .any(|h| h.0 == "Idempotency-Key" && h.1 == format!("case-{rating}.2"))
    );
}
