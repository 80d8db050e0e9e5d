//! The permission matrix: every route of the table against every kind of caller, each cell's
//! status written out here by hand (not derived from the table, so that a wrong table fails it).
//! Each cell runs on a fresh copy of one deployment (`World::fork`), natively over SQLite. The target of each route
//! is in hall A's place (330105 便民服务中心): the callers of hall B (330106, a hall of the same
//! name) are outside it.
//!
//! Columns: anonymous (from another site), citizen, 差评处理人 A/B, 大厅管理员 A/B, district
//! 市级管理员 A/B, city-wide 市级管理员, queue token, feed token, operator.

use crate::fixture::*;
use edge::http::Method;
use edge::routes::{Caller, ROUTES};
use wire::rating::Level;

struct Cell {
    method: Method,
    /// The table's pattern this row covers.
    pattern: &'static str,
    path: String,
    body: Body,
    expect: [u16; 12],
}

fn json(v: serde_json::Value) -> Body {
    Body::Json(v)
}

/// The rows: what each route is sent, and what each caller gets.
#[rustfmt::skip]
fn rows(w: &World) -> Vec<Cell> {
    use Method::*;
    let a1 = a1();
    let a2 = a2();
    let code1 = a1.code.to_text();
    let code2 = a2.code.to_text();
    let place = serde_json::json!({"places": [{"region": "330105", "hall": HALL}]});
    let matter = a1.matters[0].code.clone();
    let sub = submission(&a1, Level::Satisfied, 40);
    let rate_form = form(&[
        ("code", &sub.code),
        ("challenge", &sub.challenge),
        ("level", "satisfied"),
        ("tag", &Level::Satisfied.tag_codes()[0].to_string()),
        ("lang", "zh"),
    ]);
    let kiosk_rating: serde_json::Value = serde_json::from_str(
        &wire::submission::Submission {
            code: wire::submission::ARMED_BY_STAFF.into(),
            challenge: String::new(),
            pow: 0,
            id: wire::rating::Id128([41; 16]),
            device: None,
            rating: wire::rating::RatingInput::new(
                Level::VerySatisfied,
                &Level::VerySatisfied.tag_codes()[..1],
            ),
            website: String::new(),
        }
        .to_json(),
    )
    .unwrap();
    let dir_a = wire::directory::Directory::new(vec![a1.clone(), a2.clone()]).to_json();
    let revoke_a2 = wire::qr::Revocations {
        entries: vec![wire::qr::Revocation::Code {
            code: a2.code,
            issued_before: None,
        }],
    }
    .to_json();
    let boundary = "ZspBoundary";
    let upload = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{{csrf}}\r\n\
--{boundary}\r\nContent-Disposition: form-data; name=\"authority\"\r\n\r\n330105\r\n\
--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ndirectory\r\n\
--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"directory.json\"\r\nContent-Type: application/json\r\n\r\n{dir_a}\r\n\
--{boundary}--\r\n"
    );
    let queue_token_id: String = "Queue".chars().cycle().take(12).collect();
    let wecom = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x";
    let c = |method, pattern, path: String, body, expect| Cell {
        method,
        pattern,
        path,
        body,
        expect,
    };
    //                                           anon  cit   hdA   hdB   hlA   hlB   dsA   dsB   city  queue feed  oper
    vec![
        c(Get, "/assets/{file}", "/assets/app-0123456789.js".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/favicon.ico", "/favicon.ico".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/robots.txt", "/robots.txt".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        // A rating from another site is refused; from this site's page, anyone's is taken.
        c(Post, "/api/rate", "/api/rate".into(), json(serde_json::from_str(&sub.to_json()).unwrap()),
          [403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Post, "/rate", "/rate".into(), rate_form,
          [403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/", "/".into(), Body::None,
          [404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404]),
        c(Get, "/l/{token}.png", format!("/l/{}.png", w.link), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/l/{token}", format!("/l/{}", w.link), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/s", "/s".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/s/", "/s/".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/s/{token}", format!("/s/{}", w.status_token), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        // The one 追评 waits for the case to close: 409 from this site, 403 from another.
        c(Post, "/s/{token}", format!("/s/{}", w.status_token), Body::Raw("application/x-www-form-urlencoded", b"choice=satisfied".to_vec()),
          [403, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409]),
        c(Get, "/results", "/results".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/results.json", "/results.json".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/results.csv", "/results.csv".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/kiosk/{token}", format!("/kiosk/{}", w.tablet.1), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Get, "/kiosk/{token}/state", format!("/kiosk/{}/state", w.tablet.1), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        // An arming nobody took is replaced: every press from this site arms.
        c(Post, "/kiosk/{token}/arm", format!("/kiosk/{}/arm", w.tablet.1), Body::None,
          [403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Post, "/kiosk/{token}/rate", format!("/kiosk/{}/rate", w.tablet.1), json(kiosk_rating),
          [403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        // Nobody on duty: no photo.
        c(Get, "/kiosk/{token}/photo", format!("/kiosk/{}/photo", w.tablet.1), Body::None,
          [404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404]),
        // The on-duty feed: the feed role and administrators of the window's place.
        c(Post, "/api/v1/kiosk/{code}/staff", format!("/api/v1/kiosk/{code2}/staff"),
          json(serde_json::json!({"name": "王芳", "staff_no": "HZ-0107"})),
          [401, 401, 404, 404, 200, 404, 200, 404, 200, 404, 200, 200]),
        c(Delete, "/api/v1/kiosk/{code}/staff", format!("/api/v1/kiosk/{code2}/staff"), Body::None,
          [401, 401, 404, 404, 200, 404, 200, 404, 200, 404, 200, 200]),
        // Links: the queue role and administrators of the code's place.
        c(Post, "/api/v1/links", "/api/v1/links".into(),
          json(serde_json::json!({"code": code1, "matter": matter, "project_no": "BJ-9"})),
          [401, 401, 404, 404, 201, 404, 201, 404, 201, 201, 404, 201]),
        // Served 办件: the queue role and administrators of the code's place.
        c(Post, "/api/v1/served", "/api/v1/served".into(),
          json(serde_json::json!({"code": code1, "day": "2026-03-02", "count": 40})),
          [401, 401, 404, 404, 200, 404, 200, 404, 200, 200, 404, 200]),
        c(Post, "/api/v1/links/{token}/revoke", format!("/api/v1/links/{}/revoke", w.link), Body::None,
          [401, 401, 404, 404, 200, 404, 200, 404, 200, 200, 404, 200]),
        // A work-order system's, by its route's own key: no session or token opens it (the
        // bridge's own column is `bridge.rs`).
        c(Post, "/api/v1/cases/{id}/events", format!("/api/v1/cases/{}/events", w.case), json(serde_json::json!({"format": "zsp.case-event", "version": 1, "id": "e1", "type": "received"})),
          [401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401]),
        // For anyone that the edge answers; its figures for a city-wide bearer only.
        c(Get, "/status", "/status".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        // The deployment's own: city-wide only.
        c(Get, "/metrics", "/metrics".into(), Body::None,
          [401, 401, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200]),
        c(Post, "/admin/prune", "/admin/prune".into(), Body::None,
          [401, 401, 404, 404, 404, 404, 404, 404, 200, 404, 404, 200]),
        // Uploads of hall A's part: refused in words for a hall or district outside it.
        c(Put, "/admin/directory", "/admin/directory?authority=330105".into(), Body::Raw("application/json", dir_a.clone().into_bytes()),
          [401, 401, 404, 404, 200, 400, 200, 400, 200, 404, 404, 200]),
        c(Put, "/admin/revocations", "/admin/revocations?authority=330105".into(), Body::Raw("application/json", revoke_a2.clone().into_bytes()),
          [401, 401, 404, 404, 200, 400, 200, 400, 200, 404, 404, 200]),
        c(Post, "/admin/revocations", "/admin/revocations?authority=330105".into(), Body::Raw("application/json", revoke_a2.into_bytes()),
          [401, 401, 404, 404, 200, 400, 200, 400, 200, 404, 404, 200]),
        // An export names no object: each caller gets its own scope's.
        c(Get, "/admin/export.csv", "/admin/export.csv?from=2026-03-01&to=2026-03-03".into(), Body::None,
          [401, 401, 404, 404, 200, 200, 200, 200, 200, 404, 404, 200]),
        c(Get, "/admin/export.xlsx", "/admin/export.xlsx?from=2026-03-01&to=2026-03-03".into(), Body::None,
          [401, 401, 404, 404, 200, 200, 200, 200, 200, 404, 404, 200]),
        c(Post, "/admin/ratings/{id}/{decision}", format!("/admin/ratings/{}/release", w.held), Body::None,
          [401, 401, 404, 404, 200, 404, 200, 404, 200, 404, 404, 200]),
        // A bulk decision names no target: out of scope, it decides nothing (`holes.rs`).
        c(Post, "/admin/held/{decision}", "/admin/held/reject".into(),
          json(serde_json::json!({"from": "2026-03-01", "to": "2026-03-03"})),
          [401, 401, 404, 404, 200, 200, 200, 200, 200, 404, 404, 200]),
        c(Post, "/admin/retry", "/admin/retry".into(), Body::None,
          [401, 401, 404, 404, 200, 200, 200, 200, 200, 404, 404, 200]),
        c(Post, "/admin/kiosks", "/admin/kiosks".into(),
          json(serde_json::json!({"code": code2, "label": "新平板"})),
          [401, 401, 404, 404, 201, 404, 201, 404, 201, 404, 404, 201]),
        c(Post, "/admin/kiosks/{id}/revoke", format!("/admin/kiosks/{}/revoke", w.tablet.0), Body::None,
          [401, 401, 404, 404, 200, 404, 200, 404, 200, 404, 404, 200]),
        // A token within the caller's own scope: a district outside hall A is refused its scope.
        c(Post, "/admin/tokens", "/admin/tokens".into(),
          json(serde_json::json!({"name": "新叫号系统", "role": "queue", "scope": place.clone()})),
          [401, 401, 404, 404, 404, 404, 201, 403, 201, 404, 404, 201]),
        // A password by the API: the operator's alone.
        c(Post, "/admin/accounts", "/admin/accounts".into(),
          json(serde_json::json!({"name": "新大厅管理员", "role": "hall", "scope": place.clone(), "password": "another long password"})),
          [401, 401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 200]),
        c(Get, "/admin/routes", "/admin/routes".into(), Body::None,
          [401, 401, 404, 404, 200, 200, 200, 200, 200, 404, 404, 200]),
        c(Post, "/admin/routes", "/admin/routes".into(),
          json(serde_json::json!({"name": "新群", "region": "330105", "hall": HALL, "kind": "wecom", "url": wecom, "audience": "handlers"})),
          [401, 401, 404, 404, 200, 400, 200, 400, 200, 404, 404, 200]),
        c(Get, "/admin/cases", "/admin/cases".into(), Body::None,
          [401, 401, 200, 200, 200, 200, 200, 200, 200, 404, 404, 200]),
        // The console. Without a session: a page goes to the login (303), a post is refused (403).
        c(Get, "/console/login", "/console/login".into(), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
        c(Post, "/console/login", "/console/login".into(), form(&[("name", "大厅甲"), ("password", PASSWORD)]),
          [403, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
        c(Post, "/console/logout", "/console/logout".into(), form(&[]),
          [403, 403, 303, 303, 303, 303, 303, 303, 303, 403, 403, 403]),
        c(Get, "/console", "/console".into(), Body::None,
          [303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
        c(Get, "/console/", "/console/".into(), Body::None,
          [303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
        c(Get, "/console/password", "/console/password".into(), Body::None,
          [303, 303, 200, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Post, "/console/password", "/console/password".into(),
          form(&[("current", PASSWORD), ("password", "a new long password"), ("again", "a new long password")]),
          [403, 403, 303, 303, 303, 303, 303, 303, 303, 403, 403, 403]),
        c(Get, "/console/ratings", "/console/ratings".into(), Body::None,
          [303, 303, 200, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Get, "/console/rates", "/console/rates".into(), Body::None,
          [303, 303, 200, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Get, "/console/analysis", "/console/analysis".into(), Body::None,
          [303, 303, 200, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Get, "/console/report", "/console/report?period=2026-03".into(), Body::None,
          [303, 303, 403, 403, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Post, "/console/export", "/console/export".into(), form(&[("from", "2026-03-01"), ("to", "2026-03-03")]),
          [403, 403, 403, 403, 200, 200, 200, 200, 200, 403, 403, 403]),
        c(Post, "/console/ratings/{id}/{decision}", format!("/console/ratings/{}/release", w.held), form(&[]),
          [403, 403, 403, 403, 303, 404, 303, 404, 303, 403, 403, 403]),
        c(Post, "/console/held/{decision}", "/console/held/reject".into(), form(&[("from", "2026-03-01"), ("to", "2026-03-03")]),
          [403, 403, 403, 403, 303, 303, 303, 303, 303, 403, 403, 403]),
        c(Get, "/console/codes", "/console/codes".into(), Body::None,
          [303, 303, 403, 403, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Get, "/console/codes/{code}", format!("/console/codes/{code1}"), Body::None,
          [303, 303, 403, 403, 200, 404, 200, 404, 200, 303, 303, 303]),
        c(Post, "/console/codes/{code}/revoke", format!("/console/codes/{code2}/revoke"), form(&[("reason", "卡片遗失")]),
          [403, 403, 403, 403, 303, 404, 303, 404, 303, 403, 403, 403]),
        c(Post, "/console/codes/{code}/kiosks", format!("/console/codes/{code2}/kiosks"), form(&[("label", "新平板")]),
          [403, 403, 403, 403, 200, 404, 200, 404, 200, 403, 403, 403]),
        c(Post, "/console/codes/{code}/kiosks/revoke", format!("/console/codes/{code2}/kiosks/revoke"), form(&[("id", &w.tablet.0)]),
          [403, 403, 403, 403, 303, 404, 303, 404, 303, 403, 403, 403]),
        c(Post, "/console/codes/{code}/duty", format!("/console/codes/{code2}/duty"), form(&[("name", "王芳"), ("staff_no", "HZ-0107")]),
          [403, 403, 403, 403, 303, 404, 303, 404, 303, 403, 403, 403]),
        c(Get, "/console/directory", "/console/directory".into(), Body::None,
          [303, 303, 403, 403, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Post, "/console/directory", "/console/directory".into(), Body::Raw("multipart/form-data; boundary=ZspBoundary", upload.into_bytes()),
          [403, 403, 403, 403, 200, 400, 200, 400, 200, 403, 403, 403]),
        // The preview 大厅甲 staged: nobody else's to apply.
        c(Post, "/console/directory/apply", "/console/directory/apply".into(), form(&[("seq", &w.upload.to_string())]),
          [403, 403, 403, 403, 303, 404, 404, 404, 404, 403, 403, 403]),
        c(Get, "/console/status", "/console/status".into(), Body::None,
          [303, 303, 403, 403, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Post, "/console/status/retry", "/console/status/retry".into(), form(&[]),
          [403, 403, 403, 403, 303, 303, 303, 303, 303, 403, 403, 403]),
        c(Get, "/console/accounts", "/console/accounts".into(), Body::None,
          [303, 303, 403, 403, 403, 403, 200, 200, 200, 303, 303, 303]),
        // A new account within the caller's scope: refused in words for a district outside it.
        c(Post, "/console/accounts", "/console/accounts".into(),
          form(&[("name", "新大厅管理员"), ("role", "hall"), ("scope_kind", "halls"), ("scope", "330105 便民服务中心")]),
          [403, 403, 403, 403, 403, 403, 200, 400, 200, 403, 403, 403]),
        c(Post, "/console/accounts/change", "/console/accounts/change".into(), form(&[("name", "大厅甲"), ("op", "unlock")]),
          [403, 403, 403, 403, 403, 403, 303, 404, 303, 403, 403, 403]),
        c(Get, "/console/tokens", "/console/tokens".into(), Body::None,
          [303, 303, 403, 403, 403, 403, 200, 200, 200, 303, 303, 303]),
        c(Post, "/console/tokens", "/console/tokens".into(),
          form(&[("name", "新叫号系统"), ("role", "queue"), ("scope_kind", "halls"), ("scope", "330105 便民服务中心")]),
          [403, 403, 403, 403, 403, 403, 200, 400, 200, 403, 403, 403]),
        c(Post, "/console/tokens/revoke", "/console/tokens/revoke".into(), form(&[("id", &queue_token_id)]),
          [403, 403, 403, 403, 403, 403, 303, 404, 303, 403, 403, 403]),
        c(Get, "/console/audit", "/console/audit".into(), Body::None,
          [303, 303, 403, 403, 403, 403, 200, 200, 200, 303, 303, 303]),
        c(Get, "/console/cases", "/console/cases".into(), Body::None,
          [303, 303, 200, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Get, "/console/cases/export", "/console/cases/export?from=2026-03-01&to=2026-03-03".into(), Body::None,
          [303, 303, 200, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Get, "/console/cases/{id}", format!("/console/cases/{}", w.case), Body::None,
          [303, 303, 200, 404, 200, 404, 200, 404, 200, 303, 303, 303]),
        c(Post, "/console/cases/{id}/phone", format!("/console/cases/{}/phone", w.case), form(&[]),
          [403, 403, 200, 404, 200, 404, 200, 404, 200, 403, 403, 403]),
        c(Post, "/console/cases/{id}/step", format!("/console/cases/{}/step", w.case), form(&[("action", "callback"), ("value", "reached")]),
          [403, 403, 303, 404, 303, 404, 303, 404, 303, 403, 403, 403]),
        c(Get, "/console/routes", "/console/routes".into(), Body::None,
          [303, 303, 403, 403, 200, 200, 200, 200, 200, 303, 303, 303]),
        c(Post, "/console/routes", "/console/routes".into(),
          form(&[("name", "新群"), ("kind", "wecom"), ("audience", "handlers"), ("place", "330105 便民服务中心"), ("url", wecom)]),
          [403, 403, 403, 403, 303, 400, 303, 400, 303, 403, 403, 403]),
        c(Post, "/console/routes/delete", "/console/routes/delete".into(), form(&[("id", &w.route.to_string())]),
          [403, 403, 403, 403, 303, 404, 303, 404, 303, 403, 403, 403]),
        // One calendar for the whole deployment: the city-wide 市级管理员's.
        c(Get, "/console/calendar", "/console/calendar".into(), Body::None,
          [303, 303, 403, 403, 403, 403, 403, 403, 200, 303, 303, 303]),
        c(Post, "/console/calendar", "/console/calendar".into(), form(&[("year", "2026"), ("source", "国办发明电〔2025〕7号"), ("holidays", "2026-10-01")]),
          [403, 403, 403, 403, 403, 403, 403, 403, 303, 403, 403, 403]),
        c(Get, "/{code}", format!("/{}", printed(&a1)), Body::None,
          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ]
}

/// A form body carries the caller's CSRF token: the multipart upload's placeholder too.
fn with_csrf(who: Who, body: Body) -> Body {
    match body {
        Body::Raw(ct, b) if ct.starts_with("multipart/") => {
            let csrf = who.session().map(|s| s.1).unwrap_or_default();
            Body::Raw(
                ct,
                String::from_utf8(b)
                    .unwrap()
                    .replace("{csrf}", &csrf)
                    .into_bytes(),
            )
        }
        b => b,
    }
}

fn clone(b: &Body) -> Body {
    match b {
        Body::None => Body::None,
        Body::Json(v) => Body::Json(v.clone()),
        Body::Form(f) => Body::Form(f.clone()),
        Body::Raw(ct, b) => Body::Raw(ct, b.clone()),
    }
}

#[test]
fn every_route_against_every_caller() {
    let probe = World::new();
    let rows = rows(&probe);
    // Every route of the table has its row, once.
    for r in ROUTES {
        for m in r.methods.iter().filter(|m| **m != Method::Head) {
            let n = rows
                .iter()
                .filter(|c| c.pattern == r.path && c.method == *m)
                .count();
            assert_eq!(n, 1, "{} {}: {n} rows", m.as_str(), r.path);
        }
    }
    let mut wrong = vec![];
    for row in &rows {
        for (i, who) in Who::ALL.iter().enumerate() {
            // A fresh copy of the deployment: a cell's write (a revocation, a release) changes
            // no other's.
            let w = probe.fork();
            let req = request(
                *who,
                row.method,
                &row.path,
                with_csrf(*who, clone(&row.body)),
            );
            let got = w.send(req);
            let body = String::from_utf8_lossy(got.body_bytes()).into_owned();
            // Out of scope, or a machine's role that does not allow it: one answer, which never
            // says that something exists.
            let scoped = !ROUTES.iter().any(|r| {
                r.path == row.pattern && matches!(r.caller, Caller::Public | Caller::Citizen)
            });
            if scoped && got.status == 404 && !body.contains("没有找到，或不在您的范围内")
            {
                wrong.push(format!(
                    "{} {} as {who:?}: another 404: {body}",
                    row.method.as_str(),
                    row.path
                ));
            }
            if got.status != row.expect[i] {
                wrong.push(format!(
                    "{} {} as {who:?}: {} (expected {}) {}",
                    row.method.as_str(),
                    row.path,
                    got.status,
                    row.expect[i],
                    String::from_utf8_lossy(got.body_bytes())
                        .chars()
                        .take(300)
                        .collect::<String>()
                ));
            }
            assert!(w.h.errors().is_empty(), "{:?}", w.h.errors());
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
