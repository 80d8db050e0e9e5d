//! The admin console and the scoped admin API on the runtime: who is asking (a session cookie,
//! an automation token or the operator's `ADMIN_TOKEN`), then the page or the write. The rules,
//! statements and HTML are `crate::console`; this file reads requests and runs batches.

use super::db::{Db, DbError};
use super::{Answer, body, internal, json, now, random};
use crate::config::Config;
use crate::console::pages::{self, Flash};
use crate::console::sql::{self, Filter};
use crate::console::{self as c, Action, Actor, PasswordHash, Role, Scope};
use crate::error::{self, ApiError};
use crate::store::{self, RatingRow, Stmt};
use wasm_bindgen::{JsCast, JsValue};
use wire::directory::{Directory, Entry};
use wire::qr::Revocations;
use wire::rating::Level;
use wire::time::Day;
use worker::*;

/// Uploads are files of thousands of codes: a larger limit than a rating's.
pub const UPLOAD_BYTES: usize = 16 * 1024 * 1024;
const FORM_BYTES: usize = 64 * 1024;
/// A page of ratings; the export has no page, but a range of at most a year.
const PER_PAGE: i64 = 50;
const MAX_EXPORT_DAYS: i32 = 366;

// ---- answers ----

pub(super) fn page(html: String, status: u16) -> Answer {
    let r = Response::from_html(html)?.with_status(status);
    let h = r.headers();
    h.set("Content-Security-Policy", &pages::csp())?;
    h.set("X-Content-Type-Options", "nosniff")?;
    h.set("X-Frame-Options", "DENY")?;
    h.set("Referrer-Policy", "same-origin")?;
    h.set("Cache-Control", "no-store")?;
    Ok(r)
}

pub(super) fn redirect(to: &str) -> Answer {
    let r = Response::empty()?.with_status(303);
    r.headers().set("Location", to)?;
    r.headers().set("Cache-Control", "no-store")?;
    Ok(r)
}

pub(super) fn download(bytes: Vec<u8>, ctype: &str, name: &str) -> Answer {
    let r = Response::from_bytes(bytes)?;
    let h = r.headers();
    h.set("Content-Type", ctype)?;
    h.set(
        "Content-Disposition",
        &format!("attachment; filename=\"{name}\""),
    )?;
    h.set("Cache-Control", "no-store")?;
    h.set("X-Content-Type-Options", "nosniff")?;
    Ok(r)
}

pub(super) fn refused(
    status: u16,
    code: &'static str,
    zh: &'static str,
    detail: String,
) -> ApiError {
    ApiError {
        detail: Some(detail),
        ..ApiError::new(status, code, zh, "Refused.")
    }
}

// ---- who is asking ----

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The client, for the lockout rule: the address the reverse proxy or Cloudflare saw.
fn client_of(req: &Request) -> String {
    header(req, "CF-Connecting-IP")
        .or_else(|| header(req, "X-Real-IP"))
        .or_else(|| {
            header(req, "X-Forwarded-For")
                .and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
        })
        .unwrap_or_else(|| "local".into())
        .chars()
        .take(64)
        .collect()
}

fn host_of(req: &Request) -> String {
    header(req, "Host")
        .or_else(|| req.url().ok().and_then(|u| u.host_str().map(str::to_owned)))
        .unwrap_or_default()
}

/// A new automation token for `new`, made by `me`: its statements (the token's digest, the
/// audit record) and the token itself, shown once.
fn new_token(me: &Actor, new: &Actor, detail: &str, now: i64) -> (Vec<Stmt>, String) {
    let id = c::url_safe(&random::<9>());
    let secret = c::url_safe(&random::<32>());
    (
        vec![
            sql::add_token(&id, new, &c::digest(&secret), &me.name, now),
            sql::audit(
                me,
                "token.add",
                &format!("{}（{id}）", new.name),
                detail,
                now,
            ),
        ],
        format!("{}{id}_{secret}", c::TOKEN_PREFIX),
    )
}

/// The account or token an API body asks for: its name and role checked, and its scope within
/// the caller's own (as the console's forms require).
fn new_actor(
    me: &Actor,
    name: String,
    role: &str,
    scope: Scope,
    code: &'static str,
    zh: &'static str,
) -> std::result::Result<Actor, ApiError> {
    let role = role_of(role, code, zh)?;
    c::name_ok(&name).map_err(|e| refused(400, code, zh, e))?;
    if !me.scope.contains(&scope) {
        return Err(refused(
            403,
            code,
            "范围超出您自己的范围。",
            format!("{scope}"),
        ));
    }
    Ok(Actor { name, role, scope })
}

/// A role named in an API body, or the refusal that says which roles there are.
fn role_of(
    name: &str,
    code: &'static str,
    zh: &'static str,
) -> std::result::Result<Role, ApiError> {
    Role::parse(name).ok_or_else(|| {
        refused(
            400,
            code,
            zh,
            format!("role {name:?}: city, hall or handler"),
        )
    })
}

/// The bearer API's actor: the operator's `ADMIN_TOKEN`, or an automation token.
pub async fn bearer(req: &Request, cfg: &Config, db: &Db) -> std::result::Result<Actor, ApiError> {
    let got = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
        .unwrap_or_default();
    if let Some(want) = cfg.admin_token.as_deref()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            got.as_bytes(),
            want.as_bytes(),
        ))
    {
        return Ok(Actor::operator());
    }
    if let Some((id, secret)) = c::parse_token(&got) {
        let rows: Vec<sql::TokenRow> = db.rows(sql::token(id, &c::digest(secret))).await?;
        if let Some(a) = rows.first().and_then(sql::TokenRow::actor) {
            return Ok(a);
        }
    }
    if cfg.admin_token.is_none() && got.is_empty() {
        return Err(error::ADMIN_DISABLED);
    }
    Err(error::ADMIN_AUTH)
}

pub(super) struct Session {
    pub(super) me: Actor,
    pub(super) csrf: String,
    id: String,
}

async fn session(req: &Request, db: &Db) -> std::result::Result<Option<Session>, ApiError> {
    let cookie = header(req, "Cookie");
    let Some(id) = c::session_of(cookie.as_deref()) else {
        return Ok(None);
    };
    let id = c::digest(id);
    let mut out = db.batch(sql::touch_session(&id, now()), false).await?;
    let rows: Vec<sql::SessionRow> = serde_json::from_value(out.pop().unwrap_or_default())
        .map_err(|e| internal("session", e))?;
    Ok(rows.into_iter().next().and_then(|r| {
        Some(Session {
            me: Actor {
                name: r.name,
                role: Role::parse(&r.role)?,
                scope: Scope::from_json(&r.scope)?,
            },
            csrf: r.csrf,
            id,
        })
    }))
}

// ---- forms ----

pub(super) struct Form(pub(super) FormData);

impl Form {
    pub(super) fn get(&self, k: &str) -> String {
        self.0.get_field(k).unwrap_or_default().trim().to_owned()
    }
}

/// A POST's fields (urlencoded or multipart), read within `limit` bytes.
async fn form(req: &mut Request, limit: usize) -> std::result::Result<Form, ApiError> {
    let ctype = header(req, "Content-Type").unwrap_or_default();
    let bytes = body(req, limit).await?;
    let headers = Headers::new();
    headers.set("Content-Type", &ctype)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(bytes.as_slice()).into()));
    let mut again = Request::new_with_init("http://console/form", &init)?;
    again.form_data().await.map(Form).map_err(|_| {
        refused(
            400,
            "console.form",
            "表单无法读取。",
            "the form could not be read".into(),
        )
    })
}

/// A write from a page: the session's CSRF token and this site only.
fn csrf_checked(req: &Request, s: &Session, f: &Form) -> std::result::Result<(), ApiError> {
    let token = f.get("csrf");
    if c::csrf_ok(
        &s.csrf,
        Some(&token),
        header(req, "Origin").as_deref(),
        header(req, "Sec-Fetch-Site").as_deref(),
        &host_of(req),
    ) {
        Ok(())
    } else {
        Err(refused(
            403,
            "console.csrf",
            "请求来源无法确认，请刷新页面后重试。",
            "CSRF check failed".into(),
        ))
    }
}

pub(super) fn query(req: &Request) -> Vec<(String, String)> {
    req.url()
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn q<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

// ---- passwords ----

/// PBKDF2-HMAC-SHA-256 through WebCrypto.
async fn pbkdf2(
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> std::result::Result<Vec<u8>, ApiError> {
    let fail = |e: JsValue| internal("pbkdf2", format!("{e:?}"));
    let global = js_sys::global();
    let crypto = js_sys::Reflect::get(&global, &"crypto".into()).map_err(fail)?;
    let subtle = js_sys::Reflect::get(&crypto, &"subtle".into()).map_err(fail)?;
    let call =
        |name: &str, args: &js_sys::Array| -> std::result::Result<js_sys::Promise, ApiError> {
            let f: js_sys::Function = js_sys::Reflect::get(&subtle, &name.into())
                .map_err(fail)?
                .dyn_into()
                .map_err(|_| internal("pbkdf2", name))?;
            f.apply(&subtle, args)
                .map_err(fail)?
                .dyn_into()
                .map_err(|_| internal("pbkdf2", "not a promise"))
        };
    let usages = js_sys::Array::of1(&"deriveBits".into());
    let key = wasm_bindgen_futures::JsFuture::from(call(
        "importKey",
        &js_sys::Array::of5(
            &"raw".into(),
            &js_sys::Uint8Array::from(password.as_bytes()).into(),
            &"PBKDF2".into(),
            &false.into(),
            &usages,
        ),
    )?)
    .await
    .map_err(fail)?;
    let params = js_sys::Object::new();
    for (k, v) in [
        ("name", JsValue::from("PBKDF2")),
        ("hash", "SHA-256".into()),
        ("salt", js_sys::Uint8Array::from(salt).into()),
        ("iterations", f64::from(iterations).into()),
    ] {
        js_sys::Reflect::set(&params, &k.into(), &v).map_err(fail)?;
    }
    let bits = wasm_bindgen_futures::JsFuture::from(call(
        "deriveBits",
        &js_sys::Array::of3(&params, &key, &256.into()),
    )?)
    .await
    .map_err(fail)?;
    Ok(js_sys::Uint8Array::new(&bits).to_vec())
}

async fn hash_password(pw: &str) -> std::result::Result<String, ApiError> {
    let salt: [u8; c::SALT_BYTES] = random();
    Ok(PasswordHash {
        iterations: c::PBKDF2_ITERATIONS,
        salt: salt.to_vec(),
        hash: pbkdf2(pw, &salt, c::PBKDF2_ITERATIONS).await?,
    }
    .to_text())
}

fn new_password() -> String {
    c::new_password(&mut |b| super::get_random_values(b))
}

/// Checks a password; the same work whether or not the account exists.
async fn verify(stored: Option<&str>, pw: &str) -> std::result::Result<bool, ApiError> {
    let h = stored
        .and_then(PasswordHash::parse)
        .unwrap_or(PasswordHash {
            iterations: c::PBKDF2_ITERATIONS,
            salt: vec![0; c::SALT_BYTES],
            hash: vec![0; 32],
        });
    let got = pbkdf2(pw, &h.salt, h.iterations).await?;
    Ok(stored.is_some()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            got.as_slice(),
            h.hash.as_slice(),
        )))
}

// ---- login ----

async fn login(mut req: Request, db: &Db) -> Answer {
    let f = form(&mut req, FORM_BYTES).await?;
    let (name, pw) = (f.get("name"), f.0.get_field("password").unwrap_or_default());
    // A login form from another site is refused like any other write.
    if !c::same_site(
        header(&req, "Origin").as_deref(),
        header(&req, "Sec-Fetch-Site").as_deref(),
        &host_of(&req),
    ) {
        return page(
            pages::login(&name, &Flash::Err("请求来源无法确认。".into())),
            403,
        );
    }
    let client = client_of(&req);
    let t = now();
    let mut res = db
        .batch(
            vec![
                sql::account(&name),
                sql::failures(&name, &client, t - c::WINDOW_SECS),
            ],
            false,
        )
        .await?;
    let fails: Vec<sql::Failures> =
        serde_json::from_value(res.pop().unwrap_or_default()).map_err(|e| internal("login", e))?;
    let acc: Vec<sql::AccountRow> =
        serde_json::from_value(res.pop().unwrap_or_default()).map_err(|e| internal("login", e))?;
    let acc = acc.into_iter().next();
    let fails = fails.first().copied().unwrap_or(sql::Failures {
        account: 0,
        client: 0,
    });
    let actor = acc.as_ref().and_then(sql::AccountRow::actor);
    let who = actor.clone().unwrap_or(Actor {
        name: name.clone(),
        role: Role::Handler,
        scope: Scope::Halls(vec![]),
    });
    let locked_msg = format!(
        "该账户已暂时锁定（{} 分钟内连续输错密码），请 {} 分钟后再试，或请市级管理员解锁。",
        c::WINDOW_SECS / 60,
        c::LOCK_SECS / 60
    );
    if !c::login_allowed(
        fails.account,
        fails.client,
        acc.as_ref().map_or(0, |a| a.locked_until),
        t,
    ) {
        db.batch(
            vec![sql::audit(
                &who,
                "login.refused",
                &name,
                &format!("locked; client {client}"),
                t,
            )],
            false,
        )
        .await?;
        return page(pages::login(&name, &Flash::Err(locked_msg)), 429);
    }
    let ok = verify(acc.as_ref().map(|a| a.password.as_str()), &pw).await?;
    match (ok, acc, actor) {
        (true, Some(a), Some(actor)) if a.disabled == 0 => {
            let sid = c::url_safe(&random::<32>());
            let csrf = c::url_safe(&random::<32>());
            let mut stmts = sql::open_session(&c::digest(&sid), &a.name, &csrf, &client, t);
            stmts.push(sql::audit(
                &actor,
                "login",
                &a.name,
                &format!("client {client}"),
                t,
            ));
            db.batch(stmts, false).await?;
            let r = redirect("/console/ratings")?;
            r.headers().set(
                "Set-Cookie",
                &c::session_cookie(&sid, &host_of(&req), c::SESSION_MAX_SECS),
            )?;
            Ok(r)
        }
        (true, Some(_), _) => page(
            pages::login(
                &name,
                &Flash::Err("该账户已停用，请联系市级管理员。".into()),
            ),
            403,
        ),
        _ => {
            let mut stmts = sql::record_failure(&name, &client, t);
            stmts.push(sql::audit(
                &who,
                "login.failed",
                &name,
                &format!("client {client}"),
                t,
            ));
            let mut res = db.batch(stmts, false).await?;
            res.pop();
            let locked_now = res
                .pop()
                .and_then(|v| v.as_array().map(|a| !a.is_empty()))
                .unwrap_or(false);
            let client_locked = fails.client + 1 >= c::CLIENT_FAILURES;
            if locked_now || client_locked {
                let detail = if locked_now {
                    "account locked"
                } else {
                    "account locked for this client"
                };
                db.batch(
                    vec![sql::audit(
                        &who,
                        "login.locked",
                        &name,
                        &format!("{detail}; client {client}"),
                        t,
                    )],
                    false,
                )
                .await?;
                return page(pages::login(&name, &Flash::Err(locked_msg)), 429);
            }
            page(
                pages::login(&name, &Flash::Err("账户名或密码不正确。".into())),
                401,
            )
        }
    }
}

// ---- the pages ----

/// Every console route. GETs without a session go to the login page; writes without one are
/// refused.
pub async fn route(mut req: Request, env: &Env, cfg: &Config, path: &str) -> Answer {
    let db = Db::open(env)?;
    let method = req.method();
    match (&method, path) {
        (Method::Get, "/console/login") => return page(pages::login("", &Flash::None), 200),
        (Method::Post, "/console/login") => return login(req, &db).await,
        _ => {}
    }
    let Some(s) = session(&req, &db).await? else {
        return if method == Method::Get {
            redirect("/console/login")
        } else {
            page(pages::login("", &Flash::Err("请先登录。".into())), 403)
        };
    };
    let result = match method {
        Method::Get => get(&req, &db, cfg, &s, path).await,
        Method::Post => {
            let limit = if path == "/console/directory" {
                UPLOAD_BYTES
            } else if super::kiosk::serves(path) {
                // A staff member's photo: refused in words past its limit, not by size alone.
                2 * crate::kiosk::PHOTO_MAX
            } else {
                FORM_BYTES
            };
            let f = form(&mut req, limit).await?;
            csrf_checked(&req, &s, &f)?;
            post(&req, &db, cfg, &s, path, f).await
        }
        _ => Err(error::METHOD),
    };
    // A refusal is a page in words, not JSON.
    result.or_else(|e| {
        let words = match &e.detail {
            Some(d) => format!("{}（{d}）", e.message(crate::error::Lang::Zh)),
            None => e.message(crate::error::Lang::Zh).to_owned(),
        };
        page(pages::refused(&s.me, &s.csrf, &words), e.status)
    })
}

pub(super) fn need(me: &Actor, a: Action) -> std::result::Result<(), ApiError> {
    if me.role.may(a) {
        Ok(())
    } else {
        Err(refused(
            403,
            "console.forbidden",
            "您的角色不能执行此操作。",
            format!("{} ({})", me.role.label(), me.name),
        ))
    }
}

async fn get(req: &Request, db: &Db, cfg: &Config, s: &Session, path: &str) -> Answer {
    let me = &s.me;
    let pairs = query(req);
    let flash = match q(&pairs, "done") {
        "" => Flash::None,
        d => Flash::Ok(d.to_owned()),
    };
    match path {
        "/console" | "/console/" if me.role == Role::Handler => redirect("/console/cases"),
        "/console" | "/console/" => redirect("/console/ratings"),
        "/console/ratings" => {
            need(me, Action::ReadRatings)?;
            let (filter, from, to) = filter_of(&pairs, false)?;
            let pg: i64 = q(&pairs, "page").parse().unwrap_or(0).max(0);
            let mut res = db
                .batch(
                    vec![
                        sql::halls(&me.scope),
                        sql::count(me, &filter),
                        sql::ratings(me, &filter, PER_PAGE, pg * PER_PAGE),
                    ],
                    false,
                )
                .await?;
            let rows: Vec<RatingRow> = from_value(res.pop())?;
            let n: Vec<Count> = from_value(res.pop())?;
            let halls: Vec<sql::Name> = from_value(res.pop())?;
            let views = rows.iter().filter_map(|r| view(r).ok()).collect::<Vec<_>>();
            let halls: Vec<String> = halls.into_iter().map(|h| h.name).collect();
            let ff = pages::FilterForm {
                filter: &filter,
                from: &from,
                to: &to,
            };
            page(
                pages::ratings(
                    me,
                    &s.csrf,
                    &flash,
                    &ff,
                    &halls,
                    &views,
                    n.first().map_or(0, |c| c.n),
                    pg,
                    PER_PAGE,
                ),
                200,
            )
        }
        "/console/codes" => {
            need(me, Action::ReadCodes)?;
            let term = q(&pairs, "q");
            let rows: Vec<sql::CodeRow> = db.rows(sql::codes(&me.scope, term, 200)).await?;
            let rows: Vec<_> = rows
                .into_iter()
                .map(|r| {
                    let e = serde_json::from_str::<Entry>(&r.json).ok();
                    (r, e)
                })
                .collect();
            page(pages::codes(me, &s.csrf, &flash, term, &rows), 200)
        }
        p if p.starts_with("/console/codes/") => {
            card_page(req, db, cfg, s, &p["/console/codes/".len()..], &flash).await
        }
        "/console/directory" => {
            need(me, Action::Upload)?;
            let history: Vec<sql::UploadRow> = db.rows(sql::upload_history(50)).await?;
            page(
                pages::directory(me, &s.csrf, &flash, &authorities(cfg), &history),
                200,
            )
        }
        "/console/status" => {
            need(me, Action::Status)?;
            let mut res = db
                .batch(
                    vec![sql::status(&me.scope), sql::last_errors(&me.scope, 20)],
                    false,
                )
                .await?;
            let errors: Vec<sql::ErrorRow> = from_value(res.pop())?;
            let st: Vec<sql::StatusRow> = from_value(res.pop())?;
            let st = st
                .into_iter()
                .next()
                .ok_or_else(|| internal("status", "no row"))?;
            page(
                pages::status(me, &s.csrf, &flash, &st, &errors, cfg.forwarding(), now()),
                200,
            )
        }
        "/console/accounts" => {
            need(me, Action::Accounts)?;
            accounts_page(db, s, &flash, now()).await
        }
        "/console/tokens" => {
            need(me, Action::Accounts)?;
            let rows: Vec<sql::TokenRow> = db.rows(sql::tokens()).await?;
            page(pages::tokens(me, &s.csrf, &flash, &rows), 200)
        }
        "/console/audit" => {
            need(me, Action::Audit)?;
            let (from, to) = (q(&pairs, "from"), q(&pairs, "to"));
            let (a, b) = range(from, to, false)?;
            let rows: Vec<sql::AuditRow> = db
                .rows(sql::audit_log(
                    q(&pairs, "actor"),
                    q(&pairs, "action"),
                    a,
                    b,
                    500,
                ))
                .await?;
            page(
                pages::audit(
                    me,
                    &s.csrf,
                    &flash,
                    (q(&pairs, "actor"), q(&pairs, "action"), from, to),
                    &rows,
                ),
                200,
            )
        }
        p if super::cases::serves(p) => super::cases::get(req, db, cfg, s, p, &flash).await,
        _ => Err(error::NOT_FOUND),
    }
}

async fn accounts_page(db: &Db, s: &Session, f: &Flash, now: i64) -> Answer {
    let rows: Vec<sql::AccountRow> = db.rows(sql::accounts()).await?;
    page(pages::accounts(&s.me, &s.csrf, f, &rows, now), 200)
}

/// The directory's entries of one authority within scope, as entries.
async fn entries_in(
    db: &Db,
    scope: &Scope,
    authority: &str,
) -> std::result::Result<Vec<Entry>, ApiError> {
    let rows: Vec<sql::CodeRow> = db.rows(sql::entries(scope, authority)).await?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.json).ok())
        .collect())
}

async fn entries_elsewhere(db: &Db, authority: &str) -> std::result::Result<Vec<Entry>, ApiError> {
    let rows: Vec<sql::CodeRow> = db.rows(sql::entries_elsewhere(authority)).await?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.json).ok())
        .collect())
}

#[derive(serde::Deserialize)]
struct Count {
    n: i64,
}

pub(super) fn from_value<T: serde::de::DeserializeOwned>(
    v: Option<serde_json::Value>,
) -> std::result::Result<T, ApiError> {
    serde_json::from_value(v.unwrap_or_default()).map_err(|e| internal("rows", e))
}

pub(super) fn done(path: &str, message: &str) -> Answer {
    let m = percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC);
    let join = if path.contains('?') { '&' } else { '?' };
    redirect(&format!("{path}{join}done={m}"))
}

async fn post(req: &Request, db: &Db, cfg: &Config, s: &Session, path: &str, f: Form) -> Answer {
    let me = &s.me;
    let t = now();
    match path {
        "/console/logout" => {
            db.batch(vec![sql::close_session(&s.id)], false).await?;
            let r = redirect("/console/login")?;
            r.headers()
                .set("Set-Cookie", &c::session_cookie("", &host_of(req), 0))?;
            Ok(r)
        }
        "/console/export" => {
            need(me, Action::Export)?;
            let pairs: Vec<(String, String)> =
                ["hall", "dept", "staff", "level", "from", "to", "hold"]
                    .iter()
                    .map(|k| (k.to_string(), f.get(k)))
                    .collect();
            let (filter, from, to) = filter_of(&pairs, true)?;
            let full = f.get("phones") == "full";
            if full {
                need(me, Action::ExportUnmasked)?;
            }
            let xlsx = f.get("format") != "csv";
            let bytes = export(db, me, &filter, full, xlsx, &format!("{from}..{to}"), t).await?;
            let name = format!("ratings-{from}-{to}.{}", if xlsx { "xlsx" } else { "csv" });
            download(
                bytes,
                if xlsx {
                    XLSX
                } else {
                    "text/csv; charset=utf-8"
                },
                &name,
            )
        }
        p if p.starts_with("/console/ratings/")
            && (p.ends_with("/release") || p.ends_with("/reject")) =>
        {
            need(me, Action::ReviewRatings)?;
            let (id, decision) = p["/console/ratings/".len()..]
                .rsplit_once('/')
                .unwrap_or_default();
            let release = decision == "release";
            #[derive(serde::Deserialize)]
            struct Reviewed {
                #[allow(dead_code)]
                id: String,
            }
            let mut res = db.batch(sql::review(me, id, release, t), true).await?;
            let done_rows: Vec<Reviewed> = from_value(res.pop())?;
            if done_rows.is_empty() {
                return Err(form_error(
                    "这条评价已不在待复核队列中（可能已由他人处理），或不在您的管辖范围内"
                        .to_owned(),
                ));
            }
            let back = "/console/ratings?hold=held";
            done(
                back,
                if release {
                    "已放行：这条评价现在计入统计，并将上报省平台；差评已开案并提醒处理人"
                } else {
                    "已驳回：这条评价保留记录，不计入统计，永不上报"
                },
            )
        }
        // Before the code's own revoke: a tablet's is `/console/codes/<code>/kiosks/revoke`.
        p if super::kiosk::serves(p) => super::kiosk::post(req, db, cfg, s, p, f).await,
        p if p.starts_with("/console/codes/") && p.ends_with("/revoke") => {
            need(me, Action::Revoke)?;
            let code = &p["/console/codes/".len()..p.len() - "/revoke".len()];
            let (_, e) = code_in_scope(db, me, code).await?;
            let reason = match f.get("note").as_str() {
                "" => f.get("reason"),
                n => format!(
                    "{}：{}",
                    f.get("reason"),
                    n.chars().take(200).collect::<String>()
                ),
            };
            let authority = authority_of(cfg, &e.region);
            let r = sql::NewRevocation {
                revocation: wire::qr::Revocation::Code {
                    code: e.code,
                    issued_before: None,
                },
                region: e.region.clone(),
                hall: e.hall.clone(),
                reason: reason.clone(),
            };
            let label = format!("{} {} {}", e.hall, crate::console::diff::label(&e), e.code);
            write(
                db,
                vec![
                    sql::add_revocation(&r, &authority, &me.name, t),
                    sql::audit(me, "code.revoke", &label, &reason, t),
                ],
            )
            .await?;
            done(
                &format!("/console/codes/{code}"),
                &format!("已作废：{label}"),
            )
        }
        "/console/directory" => {
            need(me, Action::Upload)?;
            let authority = f.get("authority");
            if !cfg.authority_prefixes().contains(&authority) {
                return Err(upload_error(format!("未知的发码单位“{authority}”")));
            }
            let Some(FormEntry::File(file)) = f.0.get("file") else {
                return Err(upload_error("请选择要上传的文件".into()));
            };
            let text = String::from_utf8(file.bytes().await?)
                .map_err(|_| upload_error("文件不是 UTF-8 编码".into()))?;
            let kind = f.get("kind");
            let current = entries_in(db, &me.scope, &authority).await?;
            if kind == "revocations" {
                let r = Revocations::from_json(&text).map_err(|e| upload_error(e.0))?;
                let rows = c::resolve_revocations(&r, &authority, me, &current, "作废清单")
                    .map_err(upload_error)?;
                let lines: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {}",
                            r.hall,
                            match r.revocation {
                                wire::qr::Revocation::Code { code, .. } => current
                                    .iter()
                                    .find(|e| e.code == code)
                                    .map(crate::console::diff::label)
                                    .unwrap_or_default(),
                                wire::qr::Revocation::Staff {
                                    staff,
                                    issued_before,
                                } => format!(
                                    "人员 {}（{} 之前印制的卡片）",
                                    staff.to_text(),
                                    issued_before
                                ),
                            }
                        )
                    })
                    .collect();
                let replaced: Vec<serde_json::Value> = db
                    .batch(vec![sql::count_revocations(&me.scope, &authority)], false)
                    .await?;
                let replaced = replaced
                    .first()
                    .and_then(|v| v[0]["n"].as_i64())
                    .unwrap_or(0) as usize;
                let summary = format!("作废清单 {} 项（替换 {replaced} 项）", rows.len());
                let seq = stage(db, "revocations", &authority, me, &summary, &text, t).await?;
                page(
                    pages::revocations_preview(me, &s.csrf, seq, &authority, &lines, replaced),
                    200,
                )
            } else {
                let d = Directory::from_json(&text).map_err(|e| upload_error(e.0))?;
                c::check_directory(&d, &authority, me).map_err(upload_error)?;
                let elsewhere = entries_elsewhere(db, &authority).await?;
                c::check_collisions(&d, &elsewhere).map_err(upload_error)?;
                let p = crate::console::diff::preview(&current, &d.entries);
                let (a, r, ch) = p.total();
                let summary = format!(
                    "名录 {} 个二维码：新增 {a}，删除 {r}，变更 {ch}，人员调动 {}",
                    d.entries.len(),
                    p.moves.len()
                );
                let seq = stage(db, "directory", &authority, me, &summary, &text, t).await?;
                page(pages::preview(me, &s.csrf, seq, &authority, &p), 200)
            }
        }
        "/console/directory/apply" => {
            need(me, Action::Upload)?;
            let seq: i64 = f
                .get("seq")
                .parse()
                .map_err(|_| upload_error("预览编号无效".into()))?;
            let staged: Vec<sql::UploadRow> = db.rows(sql::staged(seq, &me.name)).await?;
            let u = staged
                .into_iter()
                .next()
                .ok_or_else(|| upload_error("此预览已生效或已过期，请重新上传".into()))?;
            let body = u.body.clone().unwrap_or_default();
            let mut stmts = sql::applied(seq, t);
            if u.kind == "directory" {
                let d = Directory::from_json(&body).map_err(|e| upload_error(e.0))?;
                c::check_directory(&d, &u.authority, me).map_err(upload_error)?;
                let elsewhere = entries_elsewhere(db, &u.authority).await?;
                c::check_collisions(&d, &elsewhere).map_err(upload_error)?;
                stmts.extend(sql::replace_entries(&me.scope, &u.authority, &d.entries));
            } else {
                let r = Revocations::from_json(&body).map_err(|e| upload_error(e.0))?;
                let current = entries_in(db, &me.scope, &u.authority).await?;
                let rows = c::resolve_revocations(&r, &u.authority, me, &current, "作废清单")
                    .map_err(upload_error)?;
                stmts.push(sql::clear_revocations(&me.scope, &u.authority));
                stmts.extend(
                    rows.iter()
                        .map(|r| sql::add_revocation(r, &u.authority, &me.name, t)),
                );
            }
            stmts.push(sql::audit(
                me,
                &format!("{}.apply", u.kind),
                if u.authority.is_empty() {
                    "全部"
                } else {
                    &u.authority
                },
                &u.summary,
                t,
            ));
            write(db, stmts).await?;
            done("/console/directory", &format!("已生效：{}", u.summary))
        }
        "/console/status/retry" => {
            need(me, Action::Retry)?;
            let res = db
                .batch(
                    vec![
                        sql::retry_now(&me.scope, t),
                        sql::audit(me, "retry", "forwarding", "retry now", t),
                    ],
                    true,
                )
                .await?;
            let n = res
                .first()
                .and_then(|v| v.as_array().map(Vec::len))
                .unwrap_or(0);
            done(
                "/console/status",
                &format!("已安排 {n} 条待转发评价立即重试"),
            )
        }
        "/console/accounts" | "/console/tokens" => {
            need(me, Action::Accounts)?;
            let name = f.get("name");
            c::name_ok(&name).map_err(form_error)?;
            let role =
                Role::parse(&f.get("role")).ok_or_else(|| form_error("请选择角色".into()))?;
            let scope =
                Scope::from_form(&f.get("scope_kind"), &f.get("scope")).map_err(form_error)?;
            if !me.scope.contains(&scope) {
                return Err(form_error(format!("范围超出您自己的范围（{}）", me.scope)));
            }
            let new = Actor {
                name: name.clone(),
                role,
                scope: scope.clone(),
            };
            let detail = format!("{}，{}", role.label(), scope);
            let (what, secret, list) = if path == "/console/accounts" {
                let pw = new_password();
                let h = hash_password(&pw).await?;
                write(
                    db,
                    vec![
                        sql::add_account(&new, &h, &me.name, t),
                        sql::audit(me, "account.add", &name, &detail, t),
                    ],
                )
                .await?;
                (format!("已新建账户 {name}，初始密码"), pw, "accounts")
            } else {
                let (stmts, token) = new_token(me, &new, &detail, t);
                write(db, stmts).await?;
                (format!("已新建令牌 {name}"), token, "tokens")
            };
            // The secret is shown on this answer only, never in a URL.
            let f = Flash::Secret { what, secret };
            if list == "accounts" {
                accounts_page(db, s, &f, t).await
            } else {
                let rows: Vec<sql::TokenRow> = db.rows(sql::tokens()).await?;
                page(pages::tokens(me, &s.csrf, &f, &rows), 200)
            }
        }
        "/console/accounts/change" => {
            need(me, Action::Accounts)?;
            let name = f.get("name");
            let op = f.get("op");
            let (stmts, said) = match op.as_str() {
                "disable" if name == me.name => {
                    return Err(form_error("不能停用自己的账户".into()));
                }
                "disable" => (sql::set_disabled(&name, true), "已停用"),
                "enable" => (sql::set_disabled(&name, false), "已启用"),
                "unlock" => (sql::unlock(&name), "已解锁"),
                "reset" => {
                    let pw = new_password();
                    let mut stmts = sql::set_password(&name, &hash_password(&pw).await?);
                    stmts.push(sql::audit(me, "account.change", &name, "password reset", t));
                    write(db, stmts).await?;
                    let f = Flash::Secret {
                        what: format!("已重置 {name} 的密码，新密码"),
                        secret: pw,
                    };
                    return accounts_page(db, s, &f, t).await;
                }
                _ => return Err(form_error("未知的操作".into())),
            };
            let mut stmts = stmts;
            stmts.push(sql::audit(me, "account.change", &name, &op, t));
            write(db, stmts).await?;
            done("/console/accounts", &format!("{name}：{said}"))
        }
        "/console/tokens/revoke" => {
            need(me, Action::Accounts)?;
            let id = f.get("id");
            let res = db
                .batch(
                    vec![
                        sql::revoke_token(&id, t),
                        sql::audit(me, "token.revoke", &id, "revoked", t),
                    ],
                    false,
                )
                .await?;
            if res
                .first()
                .and_then(|v| v.as_array().map(Vec::is_empty))
                .unwrap_or(true)
            {
                return Err(form_error(format!("令牌 {id} 不存在或已吊销")));
            }
            done("/console/tokens", &format!("已吊销令牌 {id}"))
        }
        p if super::cases::serves(p) => super::cases::post(db, s, p, f).await,
        _ => Err(error::NOT_FOUND),
    }
}

pub(super) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn upload_error(d: String) -> ApiError {
    refused(400, "admin.upload", "上传的文件未被接受，没有任何改动。", d)
}

pub(super) fn form_error(d: String) -> ApiError {
    refused(400, "console.input", "填写的内容有误，没有任何改动。", d)
}

pub(super) async fn write(
    db: &Db,
    stmts: Vec<Stmt>,
) -> std::result::Result<Vec<serde_json::Value>, ApiError> {
    let r = db.batch(stmts, false).await;
    super::clear_lookups();
    match r {
        Ok(v) => Ok(v),
        Err(DbError::Sql(m)) if m.contains("UNIQUE") => {
            Err(form_error("这个名称已经有了，请换一个".into()))
        }
        Err(DbError::Sql(m))
            if m.contains("upload already applied") || m.contains("malformed JSON") =>
        {
            Err(upload_error("此预览已经生效过".into()))
        }
        Err(e) => Err(e.into()),
    }
}

async fn stage(
    db: &Db,
    kind: &str,
    authority: &str,
    me: &Actor,
    summary: &str,
    body: &str,
    t: i64,
) -> std::result::Result<i64, ApiError> {
    let mut res = db
        .batch(
            sql::stage(kind, authority, &me.name, summary, body, t),
            false,
        )
        .await?;
    res.pop()
        .and_then(|v| v[0]["seq"].as_i64())
        .ok_or_else(|| internal("stage", "no seq"))
}

/// The authority prefix a region belongs to ('' without authorities).
fn authority_of(cfg: &Config, region: &str) -> String {
    cfg.authorities
        .iter()
        .find(|a| region.starts_with(a.prefix.as_str()))
        .map(|a| a.prefix.clone())
        .unwrap_or_default()
}

fn authorities(cfg: &Config) -> Vec<(String, String)> {
    cfg.authority_prefixes()
        .into_iter()
        .map(|p| {
            let n = if p.is_empty() {
                "全部（未设置发码单位）".into()
            } else {
                format!("区划 {p}")
            };
            (p, n)
        })
        .collect()
}

/// A code's page: its card, and for a window's code its hall tablets and the staff on duty.
pub(super) async fn card_page(
    req: &Request,
    db: &Db,
    cfg: &Config,
    s: &Session,
    code: &str,
    flash: &Flash,
) -> Answer {
    let me = &s.me;
    need(me, Action::ReadCodes)?;
    let (row, e) = code_in_scope(db, me, code).await?;
    let url = card_url(req, cfg, &e);
    let tablets = if me.role.may(Action::Kiosks) {
        Some(super::kiosk::of_code(db, &row.code).await?)
    } else {
        None
    };
    page(
        pages::card(
            me,
            &s.csrf,
            flash,
            &row,
            &e,
            url.as_deref(),
            tablets.as_ref().map(|(k, d)| (k.as_slice(), d.as_ref())),
        ),
        200,
    )
}

pub(super) async fn code_in_scope(
    db: &Db,
    me: &Actor,
    code: &str,
) -> std::result::Result<(sql::CodeRow, Entry), ApiError> {
    let rows: Vec<sql::CodeRow> = db.rows(sql::code(&me.scope, code)).await?;
    let row = rows.into_iter().next().ok_or_else(|| {
        refused(
            404,
            "console.no_code",
            "没有这个二维码，或它不在您的权限范围内。",
            code.chars().take(40).collect(),
        )
    })?;
    let e = serde_json::from_str(&row.json).map_err(|e| internal("entry", e))?;
    Ok((row, e))
}

/// A reissued card's URL: the code sealed today with the newest key its authority may use.
fn card_url(req: &Request, cfg: &Config, e: &Entry) -> Option<String> {
    let key = cfg
        .qr_keys
        .keys()
        .iter()
        .rev()
        .find(|k| cfg.kid_may_sign(k.kid, &e.region))?;
    let host = host_of(req);
    let scheme = if host.starts_with("127.0.0.1") || host.starts_with("localhost") {
        "http"
    } else {
        "https"
    };
    let seg = wire::qr::QrPayload::seal(e.code, Day::from_unix(now())?, key);
    Some(format!("{scheme}://{host}/{seg}"))
}

fn view(r: &RatingRow) -> std::result::Result<pages::RatingView, String> {
    let (rating, e) = r.to_rating()?;
    let v = rating.rating;
    Ok(pages::RatingView {
        id: r.id.clone(),
        at: r.rated_at,
        hall: e.hall,
        window: e.window,
        dept: e.dept,
        staff: [
            e.staff_name.unwrap_or_default(),
            e.staff_id.unwrap_or_default(),
        ]
        .join(" ")
        .trim()
        .to_owned(),
        level: v.level,
        tags: v
            .tags
            .iter()
            .filter_map(|c| wire::rating::tag(*c).map(|t| t.zh))
            .collect::<Vec<_>>()
            .join("；"),
        matter: v.matter.unwrap_or_default(),
        comment: v.comment,
        phone: v.phone.map(|p| p.masked()).unwrap_or_default(),
        hold: r.hold,
        signals: r
            .signals
            .split_whitespace()
            .map(crate::guard::signal_label)
            .collect::<Vec<_>>()
            .join("、"),
        forwarded: r.forwarded_rev >= r.rev,
    })
}

/// A date range: both ends real days, `to` not before `from`, and (for exports) at most a year.
/// Unset ends: the last 30 days for exports, everything for reading.
pub(super) fn range(
    from: &str,
    to: &str,
    export: bool,
) -> std::result::Result<(i64, i64), ApiError> {
    let day = |s: &str, which: &str| -> std::result::Result<Option<Day>, ApiError> {
        if s.is_empty() {
            return Ok(None);
        }
        Day::parse(s)
            .map(Some)
            .ok_or_else(|| form_error(format!("{which}“{s}”不是存在的日期（格式 2026-11-27）")))
    };
    let today = Day::from_unix(now()).unwrap_or(Day(0));
    let (f, t) = (day(from, "起始日期")?, day(to, "截止日期")?);
    let (f, t) = match (f, t, export) {
        (f, t, true) => {
            let t = t.unwrap_or(today);
            (f.unwrap_or(Day(t.0.saturating_sub(29))), t)
        }
        (f, t, false) => (f.unwrap_or(Day(0)), t.unwrap_or(Day(u16::MAX - 1))),
    };
    if t.0 < f.0 {
        return Err(form_error(format!("截止日期 {to} 早于起始日期 {from}")));
    }
    if export && i32::from(t.0) - i32::from(f.0) + 1 > MAX_EXPORT_DAYS {
        return Err(form_error(format!(
            "导出范围 {} 天，超过一年（最多 {MAX_EXPORT_DAYS} 天），请分段导出",
            t.0 - f.0 + 1
        )));
    }
    Ok((f.start_unix(), Day(t.0 + 1).start_unix()))
}

fn filter_of(
    p: &[(String, String)],
    export: bool,
) -> std::result::Result<(Filter, String, String), ApiError> {
    let (from, to) = (q(p, "from").to_owned(), q(p, "to").to_owned());
    let (a, b) = range(&from, &to, export)?;
    let level = match q(p, "level") {
        "" => None,
        l => Some(Level::parse(l).ok_or_else(|| form_error(format!("未知的满意度“{l}”")))?),
    };
    let show = |d: i64| Day::from_unix(d).map(|d| d.to_string()).unwrap_or_default();
    let (from, to) = if export {
        (show(a), show(b - 1))
    } else {
        (from, to)
    };
    Ok((
        Filter {
            hall: q(p, "hall").into(),
            dept: q(p, "dept").into(),
            staff: q(p, "staff").into(),
            level,
            from: a,
            to: b,
            hold: sql::Hold::parse(q(p, "hold"))
                .ok_or_else(|| form_error(format!("未知的状态“{}”", q(p, "hold"))))?,
        },
        from,
        to,
    ))
}

/// The export's bytes (CSV, or .xlsx deflated by the runtime), audited in the same breath.
async fn export(
    db: &Db,
    me: &Actor,
    f: &Filter,
    full: bool,
    xlsx: bool,
    range: &str,
    t: i64,
) -> std::result::Result<Vec<u8>, ApiError> {
    let rows: Vec<RatingRow> = db.rows(sql::export(me, f)).await?;
    let action = if full { "export.unmasked" } else { "export" };
    let detail = format!(
        "{} 条，{}，{range}{}",
        rows.len(),
        if xlsx { "xlsx" } else { "csv" },
        if f.hall.is_empty() {
            String::new()
        } else {
            format!("，{}", f.hall)
        }
    );
    db.batch(vec![sql::audit(me, action, "ratings", &detail, t)], false)
        .await?;
    if !xlsx {
        return Ok(store::export_csv(&rows, full)
            .map_err(|e| internal("export", e))?
            .into_bytes());
    }
    let sheet = store::export_sheet(&rows, full).map_err(|e| internal("export", e))?;
    drop(rows);
    workbook("评价", sheet).await
}

/// A one-sheet workbook, its parts deflated by the runtime.
pub(super) async fn workbook(
    sheet_name: &str,
    sheet: String,
) -> std::result::Result<Vec<u8>, ApiError> {
    let mut members = vec![];
    for (name, raw) in wire::xlsx::parts(sheet_name, sheet) {
        let packed = deflate(&raw).await?;
        members.push(wire::xlsx::Member::deflated(name, &raw, packed));
    }
    Ok(wire::xlsx::zip(&members))
}

/// Raw DEFLATE by the runtime's `CompressionStream` (native code, not wasm):
/// `new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer()`.
async fn deflate(raw: &[u8]) -> std::result::Result<Vec<u8>, ApiError> {
    use js_sys::{Array, Function, Reflect};
    let fail = |e: JsValue| internal("deflate", format!("{e:?}"));
    let global = js_sys::global();
    let ctor = |name: &str| -> std::result::Result<Function, ApiError> {
        Reflect::get(&global, &name.into())
            .map_err(fail)?
            .dyn_into()
            .map_err(|_| internal("deflate", name))
    };
    let method =
        |on: &JsValue, name: &str, args: &Array| -> std::result::Result<JsValue, ApiError> {
            let f: Function = Reflect::get(on, &name.into())
                .map_err(fail)?
                .dyn_into()
                .map_err(|_| internal("deflate", name))?;
            f.apply(on, args).map_err(fail)
        };
    let cs = Reflect::construct(
        &ctor("CompressionStream")?,
        &Array::of1(&"deflate-raw".into()),
    )
    .map_err(fail)?;
    let parts = Array::of1(&js_sys::Uint8Array::from(raw).into());
    let blob = Reflect::construct(&ctor("Blob")?, &Array::of1(&parts)).map_err(fail)?;
    let stream = method(&blob, "stream", &Array::new())?;
    let piped = method(&stream, "pipeThrough", &Array::of1(&cs))?;
    let resp = Reflect::construct(&ctor("Response")?, &Array::of1(&piped)).map_err(fail)?;
    let promise: js_sys::Promise = method(&resp, "arrayBuffer", &Array::new())?
        .dyn_into()
        .map_err(|_| internal("deflate", "not a promise"))?;
    let buf = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(fail)?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

// ---- the bearer API ----

/// `/admin/*` for automation and the operator's command: every route scoped like the pages.
pub async fn admin(mut req: Request, env: &Env, cfg: &Config, path: &str) -> Answer {
    let db = Db::open(env)?;
    let me = bearer(&req, cfg, &db).await?;
    let t = now();
    let pairs = query(&req);
    let authority = q(&pairs, "authority").to_owned();
    let text = |b: Vec<u8>| {
        String::from_utf8(b).map_err(|_| {
            super::file_error(
                "admin.encoding",
                wire::directory::FileError("the file is not UTF-8".into()),
            )
        })
    };
    let ok = |n: usize| -> Answer {
        Ok(json(
            serde_json::json!({"ok": true, "entries": n}).to_string(),
            200,
        )?)
    };
    if !cfg.authority_prefixes().contains(&authority)
        && matches!(path, "/admin/directory" | "/admin/revocations")
    {
        return Err(refused(
            400,
            "admin.authority",
            "未知的发码单位。",
            format!(
                "authority {authority:?}: one of {:?}",
                cfg.authority_prefixes()
            ),
        ));
    }
    if matches!(path, "/admin/routes" | "/admin/cases") {
        return super::cases::admin(req, &db, &me, path).await;
    }
    match (req.method(), path) {
        (Method::Put, "/admin/directory") => {
            need(&me, Action::Upload)?;
            let d = Directory::from_json(&text(body(&mut req, UPLOAD_BYTES).await?)?)
                .map_err(|e| super::file_error("admin.directory", e))?;
            let elsewhere = entries_elsewhere(&db, &authority).await?;
            c::check_directory(&d, &authority, &me)
                .and_then(|()| c::check_collisions(&d, &elsewhere))
                .map_err(|e| super::file_error("admin.directory", wire::directory::FileError(e)))?;
            let n = d.entries.len();
            let mut stmts = sql::replace_entries(&me.scope, &authority, &d.entries);
            stmts.push(sql::audit(
                &me,
                "directory.apply",
                if authority.is_empty() {
                    "全部"
                } else {
                    &authority
                },
                &format!("名录 {n} 个二维码（接口）"),
                t,
            ));
            write(&db, stmts).await?;
            ok(n)
        }
        (method @ (Method::Put | Method::Post), "/admin/revocations") => {
            need(&me, Action::Revoke)?;
            let r = Revocations::from_json(&text(body(&mut req, UPLOAD_BYTES).await?)?)
                .map_err(|e| super::file_error("admin.revocations", e))?;
            let current = entries_in(&db, &me.scope, &authority).await?;
            let rows =
                c::resolve_revocations(&r, &authority, &me, &current, "接口").map_err(|e| {
                    super::file_error("admin.revocations", wire::directory::FileError(e))
                })?;
            let mut stmts = vec![];
            if method == Method::Put {
                stmts.push(sql::clear_revocations(&me.scope, &authority));
            }
            stmts.extend(
                rows.iter()
                    .map(|r| sql::add_revocation(r, &authority, &me.name, t)),
            );
            let verb = if method == Method::Put {
                "替换"
            } else {
                "追加"
            };
            stmts.push(sql::audit(
                &me,
                "revocations.apply",
                if authority.is_empty() {
                    "全部"
                } else {
                    &authority
                },
                &format!("作废清单{verb} {} 项（接口）", rows.len()),
                t,
            ));
            write(&db, stmts).await?;
            ok(rows.len())
        }
        (Method::Get, "/admin/export.csv" | "/admin/export.xlsx") => {
            need(&me, Action::Export)?;
            let (mut filter, from, to) = filter_of(&pairs, true)?;
            // The API's export keeps its old default: everything when no range is given.
            if q(&pairs, "from").is_empty() {
                filter.from = 0;
            }
            let full = q(&pairs, "phones") == "full";
            if full {
                need(&me, Action::ExportUnmasked)?;
            }
            let xlsx = path.ends_with("xlsx");
            let bytes = export(&db, &me, &filter, full, xlsx, &format!("{from}..{to}"), t).await?;
            if xlsx {
                download(bytes, XLSX, "ratings.xlsx")
            } else {
                download(bytes, "text/csv; charset=utf-8", "ratings.csv")
            }
        }
        (Method::Post, p)
            if p.starts_with("/admin/ratings/")
                && (p.ends_with("/release") || p.ends_with("/reject")) =>
        {
            need(&me, Action::ReviewRatings)?;
            let (id, decision) = p["/admin/ratings/".len()..]
                .rsplit_once('/')
                .unwrap_or_default();
            let mut res = db
                .batch(sql::review(&me, id, decision == "release", t), true)
                .await?;
            let rows: Vec<serde_json::Value> = from_value(res.pop())?;
            if rows.is_empty() {
                return Err(ApiError::new(
                    404,
                    "admin.not_held",
                    "这条评价不在待复核队列中，或不在您的管辖范围内。",
                    "No rating with this id is held for review in your scope.",
                ));
            }
            Ok(json(
                serde_json::json!({"ok": true, "id": id, "decision": decision}).to_string(),
                200,
            )?)
        }
        (Method::Post, "/admin/prune") => {
            need(&me, Action::Accounts)?;
            db.batch(store::prune(t, cfg), false).await?;
            Ok(json(serde_json::json!({"ok": true}).to_string(), 200)?)
        }
        (Method::Post, "/admin/retry") => {
            need(&me, Action::Retry)?;
            db.batch(
                vec![
                    sql::retry_now(&me.scope, t),
                    sql::audit(&me, "retry", "forwarding", "retry now (API)", t),
                ],
                true,
            )
            .await?;
            Ok(json(serde_json::json!({"ok": true}).to_string(), 200)?)
        }
        (Method::Post, p) if p.starts_with("/admin/kiosks") => {
            super::kiosk::admin(&mut req, &db, cfg, &me, p).await
        }
        (Method::Post, "/admin/tokens") => {
            // An automation token (a queue system's, for 一事一评 links), shown once.
            need(&me, Action::Accounts)?;
            #[derive(serde::Deserialize)]
            struct New {
                name: String,
                role: String,
                scope: Scope,
            }
            let b = body(&mut req, FORM_BYTES).await?;
            let n: New = serde_json::from_slice(&b)
                .map_err(|e| refused(400, "admin.token", "令牌信息有误。", e.to_string()))?;
            let new = new_actor(
                &me,
                n.name,
                &n.role,
                n.scope,
                "admin.token",
                "令牌信息有误。",
            )?;
            let detail = format!("{}，{}（接口）", new.role.label(), new.scope);
            let (stmts, token) = new_token(&me, &new, &detail, t);
            write(&db, stmts).await?;
            Ok(json(
                serde_json::json!({"ok": true, "token": token}).to_string(),
                201,
            )?)
        }
        // The operator's `zsp admin add`: an account and its password, hashed here.
        (Method::Post, "/admin/accounts") => {
            need(&me, Action::Accounts)?;
            #[derive(serde::Deserialize)]
            struct New {
                name: String,
                role: String,
                scope: Scope,
                password: String,
                /// An existing account gets this password instead (the demo's restarts; an
                /// operator's `zsp admin add NAME --reset`).
                #[serde(default)]
                reset: bool,
            }
            let b = body(&mut req, FORM_BYTES).await?;
            let n: New = serde_json::from_slice(&b)
                .map_err(|e| refused(400, "admin.account", "账户信息有误。", e.to_string()))?;
            let new = new_actor(
                &me,
                n.name.clone(),
                &n.role,
                n.scope,
                "admin.account",
                "账户信息有误。",
            )?;
            c::password_ok(&n.password, &n.name)
                .map_err(|e| refused(400, "admin.account", "账户信息有误。", e))?;
            let role = new.role;
            let h = hash_password(&n.password).await?;
            if n.reset {
                let exists: Vec<sql::AccountRow> = db.rows(sql::account(&n.name)).await?;
                if !exists.is_empty() {
                    let mut stmts = sql::set_password(&n.name, &h);
                    stmts.push(sql::audit(
                        &me,
                        "account.reset",
                        &n.name,
                        "新密码（接口）",
                        t,
                    ));
                    db.batch(stmts, false).await?;
                    return Ok(json(
                        serde_json::json!({"ok": true, "name": n.name, "reset": true}).to_string(),
                        200,
                    )?);
                }
            }
            let detail = format!("{}，{}", role.label(), new.scope);
            match db
                .batch(
                    vec![
                        sql::add_account(&new, &h, &me.name, t),
                        sql::audit(&me, "account.add", &n.name, &detail, t),
                    ],
                    false,
                )
                .await
            {
                Ok(_) => Ok(json(
                    serde_json::json!({"ok": true, "name": n.name}).to_string(),
                    200,
                )?),
                Err(DbError::Sql(m)) if m.contains("UNIQUE") => {
                    Err(refused(409, "admin.account_exists", "账户已存在。", n.name))
                }
                Err(e) => Err(e.into()),
            }
        }
        _ => Err(error::NOT_FOUND),
    }
}
