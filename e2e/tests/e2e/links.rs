//! 一事一评 links on real workerd: a queue system (`e2e/queue.mjs`, plain Node against the
//! documented contract) mints a link with a hall's scoped token; a citizen opens it in Chromium
//! (`e2e/link.mjs`), the matter fixed and the 办件号 shown, rates and then amends; the upstream
//! receives revision 1 then 2 with the 办件号 as `projectNo`. Minting again is idempotent; a token
//! outside its scope, bad fields, a revoked and an expired link are refused in words.

use crate::console::HALL_A;
use crate::workerd::{admin, browser, http, load, now, receiver, stack, start, wait_for, worker};

fn mint(
    base: &str,
    token: &str,
    code: &str,
    matter: &str,
    project_no: &str,
) -> (bool, serde_json::Value) {
    let root = &stack().root;
    let out = std::process::Command::new("node")
        .arg(root.join("e2e/queue.mjs"))
        .args([base, token, code, matter, project_no])
        .current_dir(root)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), v)
}

/// A 大厅管理员's automation token (as releases before the machines' roles gave queue systems).
pub(crate) fn token(w: &xtask::edge::Worker, name: &str, scope: serde_json::Value) -> String {
    token_as(w, name, "hall", scope)
}

/// An automation token of `role`.
pub(crate) fn token_as(
    w: &xtask::edge::Worker,
    name: &str,
    role: &str,
    scope: serde_json::Value,
) -> String {
    let (s, b) = admin(
        w,
        "POST",
        "/admin/tokens",
        &serde_json::json!({"name": name, "role": role, "scope": scope}).to_string(),
    );
    assert_eq!(s, 201, "{b}");
    let v: serde_json::Value = serde_json::from_str(&b).unwrap();
    crate::contract::fits("TokenCreated", &v);
    v["token"].as_str().unwrap().to_owned()
}

#[test]
#[ignore = "needs workerd, the built worker and Chromium: `cargo xtask test` runs it"]
fn a_queue_system_mints_a_link_and_the_citizen_rates_that_case() {
    let rx = receiver();
    let vars = [
        (
            "UPSTREAM_URL",
            format!("http://127.0.0.1:{}/ratings", rx.port),
        ),
        ("UPSTREAM_MAPPING", "provincial".to_owned()),
        ("POW_DIFFICULTY", "8".to_owned()),
    ];
    let (w, state) = worker("links", &vars);
    let mine = crate::console::entry("330102", HALL_A, "A01", Some(("SC01", "王芳")));
    let theirs = crate::console::entry("330105", "拱墅区行政服务中心", "B01", None);
    load(&w, vec![mine.clone(), theirs.clone()]);
    // A queue system's own role: links only.
    let queue = token_as(
        &w,
        "上城叫号系统",
        "queue",
        serde_json::json!({"places": [{"region": "330102", "hall": HALL_A}]}),
    );
    let matter = mine.matters[0].code.clone();
    let code = mine.code.to_text();

    // Every answer fits the integrators' OpenAPI document (docs/openapi.json).
    let contract = crate::contract::openapi();
    let fits = |schema: &str, v: &serde_json::Value| {
        let mut v = v.clone();
        for k in ["status", "png_status", "png_bytes", "png_signature"] {
            v.as_object_mut().unwrap().remove(k);
        }
        let e = crate::contract::against(&contract, schema, &v);
        assert!(e.is_empty(), "{schema}: {e:?} in {v}");
    };

    // Minted, then minted again for the same 办件号: the same link.
    let (ok, link) = mint(&w.base, &queue, &code, &matter, "BJ-2026-000123");
    fits("Link", &link);
    assert!(ok, "{link}");
    assert_eq!(
        (link["status"].as_u64(), link["created"].as_bool()),
        (Some(201), Some(true))
    );
    assert_eq!(link["png_status"], 200);
    assert_eq!(link["png_signature"], "PNG");
    let url = link["url"].as_str().unwrap().to_owned();
    // The PNG read back by an independent decoder (zbar) is the link.
    let (s, _, png) = http("GET", link["qr_png"].as_str().unwrap(), &[], None);
    assert_eq!(s, 200);
    let png_file = state.join("link.png");
    std::fs::write(&png_file, &png).unwrap();
    let decoded = std::process::Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(&png_file)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&decoded.stdout).trim(), url);
    let (ok, again) = mint(&w.base, &queue, &code, &matter, "BJ-2026-000123");
    assert!(ok, "{again}");
    assert_eq!(
        (again["status"].as_u64(), again["url"].as_str()),
        (Some(200), Some(url.as_str()))
    );
    fits("Link", &again);
    // The same 办件 reported served by the queue system: counted once with its link; a day's
    // ticket count at the code, as the contract has it.
    for (body, n) in [
        (
            serde_json::json!({"code": code, "project_no": "BJ-2026-000123", "matter": matter}),
            1,
        ),
        (
            serde_json::json!({"code": code, "day": wire::time::Day::from_unix(now()).unwrap().to_string(), "count": 40}),
            40,
        ),
    ] {
        let (s, b) =
            crate::workerd::bearer(&w, &queue, "POST", "/api/v1/served", &body.to_string());
        assert_eq!(s, 200, "{b}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        fits("Served", &v);
        assert_eq!(v["served"], n, "{v}");
    }
    println!(
        "minted {url} ({} characters), its QR a {}-byte PNG; minting again: the same link",
        url.len(),
        link["png_bytes"]
    );

    // Refusals: another hall's code, bad fields, the 办件号 taken by another matter.
    let (ok, v) = mint(
        &w.base,
        &queue,
        &theirs.code.to_text(),
        &theirs.matters[0].code,
        "BJ-2",
    );
    assert!(!ok);
    assert_eq!(
        (v["status"].as_u64(), v["error"]["code"].as_str()),
        (Some(404), Some("access.not_found"))
    );
    fits("Error", &v);
    let (ok, v) = mint(&w.base, &queue, "NOT-A-CODE", &matter, "BJ-3");
    assert!(!ok);
    assert_eq!(v["error"]["field"], "code", "{v}");
    fits("Error", &v);
    let (ok, v) = mint(&w.base, &queue, &code, &matter, "办件 号");
    assert!(!ok);
    assert_eq!(v["error"]["field"], "project_no", "{v}");
    let (_, v) = mint(&w.base, "zspt_nope_nope", &code, &matter, "BJ-4");
    assert_eq!(v["status"], 401, "{v}");

    // The citizen: rates, then opens the same link again and amends.
    let shots = xtask::setup::target_dir().join("e2e-screenshots/links");
    std::fs::create_dir_all(&shots).unwrap();
    let seen = browser("link.mjs", &[url.as_ref(), shots.as_ref()]);
    println!("the citizen's link in Chromium: {seen}");
    wait_for("both revisions upstream", 60, || {
        rx.got.lock().unwrap().len() == 2
    });
    let got = rx.got.lock().unwrap().clone();
    for (i, (key, body)) in got.iter().enumerate() {
        assert_eq!(body["projectNo"], "BJ-2026-000123", "{body}");
        assert_eq!(body["taskCode"], matter.as_str(), "{body}");
        assert_eq!(body["assessNumber"], (i + 1).to_string(), "{key} {body}");
    }
    println!(
        "upstream took {} then {} with projectNo {}",
        got[0].0, got[1].0, got[0].1["projectNo"]
    );
    // Another phone with the same link: refused in words; the citizen's rating stands.
    let seg = format!("l/{}", url.rsplit("/l/").next().unwrap());
    let phone = wire::rating::Id128(crate::workerd::rand16());
    let ch = crate::workerd::land_as(&w, &seg, Some(phone));
    // As a person would: a challenge is taken only a moment after the page was served.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let level = wire::rating::Level::VeryDissatisfied;
    let mut r = wire::rating::RatingInput::new(level, &level.tag_codes()[..1]);
    r.comment = "不是我办的".into();
    let (s, v) = crate::workerd::post(
        &w,
        crate::workerd::sub(&seg, &ch, phone, r)
            .to_json()
            .as_bytes(),
    );
    assert_eq!(
        (s, crate::workerd::err_code(&v).as_str()),
        (409, "links.rated_elsewhere"),
        "{v}"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(rx.got.lock().unwrap().len(), 2, "nothing more upstream");

    // Revoked: the invalid-code page in its own words, and the rating refused.
    let (_, other) = mint(&w.base, &queue, &code, &matter, "BJ-2026-000124");
    let other_url = other["url"].as_str().unwrap().to_owned();
    let other_token = other["token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {queue}");
    let (s, _, b) = http(
        "POST",
        &format!("{}/api/v1/links/{other_token}/revoke", w.base),
        &[("Authorization", &auth)],
        Some(b""),
    );
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    let (s, _, b) = http("GET", &other_url, &[], None);
    assert_eq!(s, 410);
    assert!(String::from_utf8_lossy(&b).contains("此评价链接已停用"));

    // Expired: its expiry moved into the past in the data (workerd's clock cannot be moved).
    let (_, third) = mint(&w.base, &queue, &code, &matter, "BJ-2026-000125");
    let third_url = third["url"].as_str().unwrap().to_owned();
    drop(w);
    let db = ::edge::zsp::data::database(&state.join("data"))
        .unwrap()
        .expect("the store's SQLite file");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE links SET expires_at = ?1 WHERE project_no = 'BJ-2026-000125'",
            [now() - 1],
        )
        .unwrap();
    let w = start(&state, &vars);
    let third_url = third_url.replace(third_url.split("/l/").next().unwrap(), &w.base);
    let (s, _, b) = http("GET", &third_url, &[], None);
    assert_eq!(s, 410);
    assert!(String::from_utf8_lossy(&b).contains("此评价链接已过有效期"));
    let (s, _, _) = http("GET", &format!("{}/l/AAAAAAAAAAAAAAAA", w.base), &[], None);
    assert_eq!(s, 404);
}
