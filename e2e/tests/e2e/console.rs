//! The admin console on real workerd and real Chromium (`e2e/console.mjs` drives the pages), and
//! the scoped bearer API by direct calls: what a hall admin's token cannot reach, every bad
//! upload and export refused in words with nothing applied, and the .xlsx read back by openpyxl.

use crate::workerd::{
    admin, bearer, browser, challenge_key, input, load, post, qr_key, rand16, sealed, stack, worker,
};
use wire::directory::{Directory, Entry};
use wire::qr::{CodeId, Revocation, Revocations, StaffRef, WindowRef};
use wire::rating::Level;
use xtask::edge::Worker;

pub(crate) const HALL_A: &str = "上城区市民中心";
pub(crate) const HALL_B: &str = "拱墅区行政服务中心";

pub(crate) fn entry(region: &str, hall: &str, window: &str, staff: Option<(&str, &str)>) -> Entry {
    let mut e = Entry::example(window, staff.map(|s| s.0));
    e.region = region.into();
    e.hall = hall.into();
    e.staff_name = staff.map(|s| s.1.to_owned());
    e.code = CodeId {
        window: WindowRef::derive(region, hall, window),
        staff: staff.map(|s| StaffRef::derive(region, s.0)),
    };
    // The unit's 统一社会信用代码: the provincial mapping's deptCode.
    e.dept_code = Some("11330102MB1234567B".into());
    e
}

fn directory() -> Vec<Entry> {
    vec![
        entry("330102", HALL_A, "A01", Some(("SC01", "王芳"))),
        entry("330102", HALL_A, "A02", Some(("SC02", "李强"))),
        entry("330102", HALL_A, "A03", None),
        entry("330105", HALL_B, "B01", Some(("GS01", "赵敏"))),
    ]
}

pub(crate) fn account(w: &Worker, name: &str, role: &str, scope: serde_json::Value, pw: &str) {
    let body = serde_json::json!({"name": name, "role": role, "scope": scope, "password": pw});
    let (s, b) = admin(w, "POST", "/admin/accounts", &body.to_string());
    assert_eq!(s, 200, "{b}");
}

/// Logs in to the console at `base` as a browser's form would: an agent that does not follow
/// redirects, and the session's cookie (`name=value`).
pub(crate) fn login(base: &str, name: &str, password: &str) -> (ureq::Agent, String) {
    let enc = |t: &str| -> String {
        t.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = agent
        .post(&format!("{base}/console/login"))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&format!("name={}&password={}", enc(name), enc(password)))
        .unwrap();
    assert_eq!(r.status(), 303, "{name} logs in");
    let cookie = r
        .header("Set-Cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (agent, cookie)
}

pub(crate) fn rate(w: &Worker, e: &Entry, level: Level, phone: bool) {
    let tags = level.tag_codes()[..1].to_vec();
    let mut r = input(level, &tags);
    if phone {
        r.phone = Some("13812345678".into());
        r.consent = true;
    }
    let s = sealed(&qr_key(), &challenge_key(), e, 2, rand16(), r);
    let (status, v) = post(w, s.to_json().as_bytes());
    assert_eq!(status, 200, "{v}");
}

#[test]
#[ignore = "needs workerd, the built worker and Chromium: `cargo xtask test` runs it"]
fn the_console_in_chromium_and_the_scoped_api() {
    stack();
    let vars = [("POW_DIFFICULTY", "2".to_owned())];
    let (w, state) = worker("console", &vars);
    let dir = directory();
    load(&w, dir.clone());
    account(&w, "市管理员", "city", "all".into(), "city-password-2026");
    account(
        &w,
        "上城管理员",
        "hall",
        serde_json::json!({"places": [{"region": "330102", "hall": HALL_A}]}),
        "hall-password-2026",
    );
    account(
        &w,
        "被锁账户",
        "hall",
        serde_json::json!({"places": [{"region": "330102", "hall": HALL_A}]}),
        "victim-password-2026",
    );
    // Bad accounts: refused with the reason.
    let (st, b) = admin(&w, "POST", "/admin/accounts", &serde_json::json!({"name": "x y", "role": "city", "scope": "all", "password": "long-enough-1"}).to_string());
    assert!(st == 400 && b.contains("空格"), "{b}");
    let (st, b) = admin(&w, "POST", "/admin/accounts", &serde_json::json!({"name": "市管理员", "role": "city", "scope": "all", "password": "long-enough-1"}).to_string());
    assert!(st == 409, "{b}");
    for (i, e) in dir.iter().enumerate() {
        rate(&w, e, Level::VeryDissatisfied, i == 0);
        rate(&w, e, Level::Satisfied, false);
    }

    // What the browser uploads: a new directory (A03 gone, A04 new, 李强 moved to A05), and a
    // malformed one.
    let tmp = state.join("console-files");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut next = dir.clone();
    next.retain(|e| e.window != "A03" && e.window != "A02" && e.hall == HALL_A);
    next.push(entry("330102", HALL_A, "A04", None));
    next.push(entry("330102", HALL_A, "A05", Some(("SC02", "李强"))));
    // The city admin uploads only their hall's part of the file here, so B01 stays.
    let mut all = next.clone();
    all.push(dir[3].clone());
    std::fs::write(tmp.join("directory.json"), Directory::new(all).to_json()).unwrap();
    let bad = Directory::new(dir.clone()).to_json().replacen(
        "\"region\":\"330102\"",
        "\"region\":\"33x\"",
        2,
    );
    std::fs::write(tmp.join("bad.json"), &bad).unwrap();
    let printed = format!("{}/{}", w.base, crate::workerd::printed(&qr_key(), &dir[0]));
    let config = serde_json::json!({
        "base": w.base,
        "city": ["市管理员", "city-password-2026"],
        "hall": ["上城管理员", "hall-password-2026"],
        "victim": "被锁账户", "victim_pw": "victim-password-2026",
        "directory2": tmp.join("directory.json"),
        "bad_directory": tmp.join("bad.json"),
        "revoke_staff": "王芳",
        "other_code": dir[3].code.to_text(),
        "own_code": dir[1].code.to_text(),
        "printed": printed,
    });
    let file = tmp.join("config.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let shots = xtask::setup::target_dir().join("e2e-screenshots/console");
    std::fs::create_dir_all(&shots).unwrap();
    let seen = browser(
        "console.mjs",
        &[file.as_ref(), shots.as_ref(), tmp.as_ref()],
    );
    println!("console: {seen}");

    // The .xlsx, read by openpyxl: the header, one row per rating, the full phone (the city
    // admin chose it, audited), numbers as numbers.
    let py = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
ws = wb.worksheets[0]
rows = [list(r) for r in ws.iter_rows(values_only=True)]
print(json.dumps({"sheet": ws.title, "rows": rows}, ensure_ascii=False, default=str))
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", py, seen["xlsx"].as_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let x: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = x["rows"].as_array().unwrap();
    assert_eq!(x["sheet"], "评价");
    assert_eq!(rows[0][0], "评价编号");
    assert_eq!(
        rows[0].as_array().unwrap().len(),
        edge::store::EXPORT_HEADER.len()
    );
    assert_eq!(
        rows.len(),
        1 + dir.len(),
        "the 非常不满意 of every code, as filtered"
    );
    assert!(rows[1..].iter().all(|r| r[9] == "非常不满意" && r[10] == 5));
    assert!(
        rows.iter().any(|r| r[16] == "13812345678"),
        "the full phone, as chosen"
    );
    let csv = std::fs::read_to_string(seen["csv"].as_str().unwrap()).unwrap();
    assert!(csv.contains("138****5678") && !csv.contains("13812345678"));

    // The hall admin's token, made in the console, through the API: their hall only.
    let token = seen["token"].as_str().unwrap();
    let today = wire::time::Day::from_unix(crate::workerd::now()).unwrap();
    let year = format!(
        "/admin/export.csv?from={}&to={today}",
        wire::time::Day(today.0 - 364)
    );
    let (st, export) = bearer(&w, token, "GET", "/admin/export.csv", "");
    assert_eq!(st, 400, "the API asks for a range: {export}");
    assert!(export.contains("from"), "{export}");
    let (st, export) = bearer(&w, token, "GET", &year, "");
    assert_eq!(st, 200, "{export}");
    assert!(
        export.contains(HALL_A) && !export.contains(HALL_B),
        "{export}"
    );
    let other = Revocations {
        entries: vec![Revocation::Code {
            code: dir[3].code,
            issued_before: None,
        }],
    };
    let (st, b) = bearer(&w, token, "POST", "/admin/revocations", &other.to_json());
    assert!(
        st == 400 && b.contains("第 1 项"),
        "another hall's code: {st} {b}"
    );
    // A token whose role does not allow a route learns nothing of it: 404, as out of scope.
    let (st, _) = bearer(&w, token, "POST", "/admin/accounts", "{}");
    assert_eq!(st, 404);
    // A city-level token scoped to one district makes tokens only within it, and never sets a
    // password: that is the operator's `ADMIN_TOKEN`'s alone.
    let (st, b) = admin(
        &w,
        "POST",
        "/admin/tokens",
        &serde_json::json!({"name": "上城区脚本", "role": "city", "scope": {"regions": ["330102"]}})
            .to_string(),
    );
    assert_eq!(st, 201, "{b}");
    let district: serde_json::Value = serde_json::from_str(&b).unwrap();
    let district = district["token"].as_str().unwrap();
    let (st, b) = bearer(
        &w,
        district,
        "POST",
        "/admin/accounts",
        &serde_json::json!({"name": "上城区管理员", "role": "city", "scope": {"regions": ["330102"]},
            "password": "long-enough-2026"})
        .to_string(),
    );
    assert_eq!(st, 404, "{b}");
    let with = |scope: serde_json::Value, name: &str| {
        let body = serde_json::json!({"name": name, "role": "city", "scope": scope});
        bearer(&w, district, "POST", "/admin/tokens", &body.to_string())
    };
    let (st, b) = with(serde_json::json!("all"), "越权市管理员");
    assert!(st == 403 && b.contains("范围超出"), "{st} {b}");
    let (st, b) = with(serde_json::json!({"regions": ["330102"]}), "上城区管理员");
    assert_eq!(st, 201, "{b}");
    let (st, b) = bearer(&w, token, "GET", "/status", "");
    assert!(st == 200 && !b.contains("backlog"), "{b}");
    // Their directory upload may not name another hall's code.
    let (st, b) = bearer(
        &w,
        token,
        "PUT",
        "/admin/directory",
        &Directory::new(dir.clone()).to_json(),
    );
    assert!(st == 400 && b.contains(HALL_B), "{b}");
    let (st, _) = bearer(
        &w,
        "zspt_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "GET",
        "/admin/export.csv",
        "",
    );
    assert_eq!(st, 401);

    // Bad input through the API: each refused with what and where, nothing applied.
    let before = crate::workerd::export(&w);
    let (st, b) = admin(&w, "PUT", "/admin/directory", &bad);
    assert!(st == 400 && b.contains("entry 1: region"), "{b}");
    let unknown = Revocations {
        entries: vec![Revocation::Code {
            code: entry("330102", HALL_A, "Z9", None).code,
            issued_before: None,
        }],
    };
    let (st, b) = admin(&w, "POST", "/admin/revocations", &unknown.to_json());
    assert!(st == 400 && b.contains("不在名录中"), "{b}");
    let (st, b) = admin(
        &w,
        "GET",
        "/admin/export.csv?from=2025-01-01&to=2026-06-30",
        "",
    );
    assert!(st == 400 && b.contains("超过一年"), "{b}");
    let (st, b) = admin(
        &w,
        "GET",
        "/admin/export.csv?from=2026-02-30&to=2026-03-01",
        "",
    );
    assert!(st == 400 && b.contains("2026-02-30"), "{b}");
    // Over the size limit: refused from the declared length, before any of it is read.
    let (st, _, _) = {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(w.base.trim_start_matches("http://")).unwrap();
        write!(
            c,
            "PUT /admin/directory HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            w.admin_token,
            17 * 1024 * 1024
        )
        .unwrap();
        let mut head = [0u8; 12];
        c.read_exact(&mut head).unwrap();
        let st: u16 = String::from_utf8_lossy(&head[9..12]).parse().unwrap();
        (st, (), ())
    };
    assert_eq!(st, 413);
    assert_eq!(crate::workerd::export(&w), before, "nothing applied");

    // As behind the operator's nginx (Host: the public name): the cookie is Secure. A post with
    // that session and its CSRF token but from another origin is refused.
    let host = "zsp.hz.gov.cn";
    let login = "name=%E5%B8%82%E7%AE%A1%E7%90%86%E5%91%98&password=city-password-2026";
    let (st, head, _) = raw(
        &w,
        "POST",
        "/console/login",
        host,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        login,
    );
    assert_eq!(st, 303, "{head}");
    let set = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap()
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.ends_with("Secure"),
        "{set}"
    );
    assert!(set.contains(": __Host-zsp_console="), "{set}");
    let sid = set
        .split_once(':')
        .unwrap()
        .1
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, _, page) = raw(&w, "GET", "/console/status", host, &[("Cookie", &sid)], "");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let form = format!("csrf={csrf}");
    let retry = |origin: &str| {
        raw(
            &w,
            "POST",
            "/console/status/retry",
            host,
            &[
                ("Cookie", &sid),
                ("Origin", origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form,
        )
        .0
    };
    assert_eq!(retry("https://evil.example"), 403);
    assert_eq!(retry(&format!("https://{host}")), 303);
    let (st, _, _) = raw(
        &w,
        "POST",
        "/console/status/retry",
        host,
        &[
            ("Cookie", &sid),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "csrf=wrong",
    );
    assert_eq!(st, 403);
}

/// One HTTP/1.1 exchange by hand, with this Host header and no redirect followed: status, head
/// and body.
fn raw(
    w: &Worker,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let addr = w.base.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    c.write_all(req.as_bytes()).unwrap();
    let mut out = vec![];
    c.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), rest.to_owned())
}
