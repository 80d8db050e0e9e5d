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
    serde_json::from_value(w.one(&format!(
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
    let err = edge::outbox::outbound(&holed, &w.s.core, w.h.now()).unwrap_err();
    assert!(
        err.contains("deptCode (窗口单位统一社会信用代码) cannot be filled for code"),
        "{err}"
    );
    let (out, _) = edge::outbox::outbound(&row, &w.s.core, w.h.now()).unwrap();
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
        let (out, _) = edge::outbox::outbound(&row, &w.s.core, w.h.now()).unwrap();
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
