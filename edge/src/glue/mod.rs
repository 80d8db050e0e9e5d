//! The thin adapter to the Workers runtime (workerd self-hosted, or Cloudflare): the fetch
//! routes, the app's assets, and the storage object with its alarm. Decisions live in the plain
//! modules; this code moves bytes and logs. Every handler returns `Result<Response, ApiError>`,
//! turned into a response once, in `fetch`.

mod cases;
mod console;
mod db;
mod forward;
mod kiosk;
mod lane;
mod links;
mod object;
mod public;

use crate::cache::TtlCache;
use crate::config::Config;
use crate::error::{self, ApiError, Lang};
use crate::page::{self, Landing};
use crate::store;
use crate::submit::{self, Via};
use db::Db;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wire::challenge::Challenge;
use wire::qr::CodeId;
use wire::rating::Id128;
use wire::submission::{MAX_BODY_BYTES, Submission};
use wire::text;
use worker::*;

type Answer = std::result::Result<Response, ApiError>;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    get_random_values(&mut b);
    b
}

fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

thread_local! {
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
    static TEMPLATE: RefCell<Option<Rc<Template>>> = const { RefCell::new(None) };
    static KIOSK_TEMPLATE: RefCell<Option<Rc<Template>>> = const { RefCell::new(None) };
    static LOOKUPS: RefCell<Option<TtlCache<CodeId, submit::Lookup>>> = const { RefCell::new(None) };
    static COUNTERS: RefCell<crate::metrics::Counters> = RefCell::new(Default::default());
}

/// Settings, parsed once per isolate and shared (every request and batch reads them).
fn config(env: &Env) -> std::result::Result<Rc<Config>, ApiError> {
    if let Some(c) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    // Vars and secrets are strings; self-hosted, a setting missing from the environment is
    // `null` (which workers-rs' typed getters cannot take).
    let get = |name: &str| {
        js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    match Config::from_vars(get) {
        Ok(c) => {
            let c = Rc::new(c);
            CONFIG.with(|slot| *slot.borrow_mut() = Some(c.clone()));
            Ok(c)
        }
        Err(e) => {
            console_error!("configuration: {e}");
            Err(error::UNAVAILABLE)
        }
    }
}

/// Logs an internal failure.
fn internal_log(what: &str, e: impl std::fmt::Display) {
    console_error!("{what}: {e}");
}

/// Logs an internal failure and answers with the one public error for it.
fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    internal_log(what, e);
    error::UNAVAILABLE
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        internal("runtime", e)
    }
}

// ---- responses ----

/// The app's `index.html` (the template with the edge's markers) and its CSP, read once per
/// isolate.
struct Template {
    html: String,
    /// The same without the app's preloads and script, for pages without a form.
    plain: String,
    csp: String,
    /// The preloads as a `Link` header, sent with landing pages.
    preload: String,
}

fn html(body: String, status: u16, t: &Template) -> Answer {
    let r = Response::from_html(body)?.with_status(status);
    let h = r.headers();
    h.set("Content-Security-Policy", &t.csp)?;
    h.set("X-Content-Type-Options", "nosniff")?;
    h.set("Referrer-Policy", "no-referrer")?;
    h.set("Cache-Control", "no-store")?;
    Ok(r)
}

fn json(body: String, status: u16) -> Result<Response> {
    let r = Response::from_bytes(body.into_bytes())?.with_status(status);
    let h = r.headers();
    h.set("Content-Type", "application/json; charset=utf-8")?;
    h.set("Cache-Control", "no-store")?;
    h.set("X-Content-Type-Options", "nosniff")?;
    Ok(r)
}

// ---- assets ----

fn content_type(name: &str) -> Option<&'static str> {
    Some(match name.rsplit_once('.')?.1 {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// Serves `/assets/<name>` from the build output, precompressed: brotli, then gzip, then raw.
/// Content-hashed names (`name-<hash>.ext`) are cached for a year. Only plain file names of the
/// known types are asked for: self-hosted, the files come from a disk service, which would
/// answer a folder with its listing.
async fn asset(req: &Request, env: &Env, path: &str) -> Answer {
    let name = path.rsplit('/').next().unwrap_or("");
    let (Some(ctype), false) = (
        content_type(name),
        name.starts_with('.') || path.contains("//") || path[1..].matches('/').count() > 1,
    ) else {
        return Err(error::NOT_FOUND);
    };
    let assets = env.assets("ASSETS")?;
    let accept = req.headers().get("Accept-Encoding")?.unwrap_or_default();
    let mut tried = vec![];
    if accept.contains("br") {
        tried.push(("br", ".br"));
    }
    if accept.contains("gzip") {
        tried.push(("gzip", ".gz"));
    }
    tried.push(("", ""));
    for (encoding, suffix) in tried {
        let r = assets
            .fetch(format!("http://assets{path}{suffix}"), None)
            .await?;
        if r.status_code() != 200 {
            continue;
        }
        // The same body stream under our headers: no copy through WebAssembly memory.
        let mut out = Response::from_body(r.body().clone())?;
        let h = out.headers_mut();
        h.set("Content-Type", ctype)?;
        h.set("X-Content-Type-Options", "nosniff")?;
        h.set("Vary", "Accept-Encoding")?;
        let hashed = name
            .split('.')
            .next()
            .and_then(|stem| stem.rsplit_once('-'))
            .is_some_and(|(_, h)| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        h.set(
            "Cache-Control",
            if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=300"
            },
        )?;
        if !encoding.is_empty() {
            h.set("Content-Encoding", encoding)?;
            out = out.with_encode_body(EncodeBody::Manual);
        }
        return Ok(out);
    }
    Err(error::NOT_FOUND)
}

async fn template(env: &Env, cfg: &Config) -> std::result::Result<Rc<Template>, ApiError> {
    template_from(env, cfg, "index.html", &TEMPLATE).await
}

/// A hall tablet's page: the citizen page's template with the tablet's script (`xtask::site`).
async fn kiosk_template(env: &Env, cfg: &Config) -> std::result::Result<Rc<Template>, ApiError> {
    template_from(env, cfg, "kiosk.html", &KIOSK_TEMPLATE).await
}

/// A template from the site's files, read once per isolate into `slot`.
async fn template_from(
    env: &Env,
    cfg: &Config,
    name: &str,
    slot: &'static std::thread::LocalKey<RefCell<Option<Rc<Template>>>>,
) -> std::result::Result<Rc<Template>, ApiError> {
    if let Some(t) = slot.with(|t| t.borrow().clone()) {
        return Ok(t);
    }
    let mut r = env
        .assets("ASSETS")?
        .fetch(format!("http://assets/{name}"), None)
        .await?;
    if r.status_code() != 200 {
        return Err(internal(name, r.status_code()));
    }
    let html = page::with_footer(
        &r.text().await?,
        cfg.site_icp.as_deref(),
        cfg.site_office.as_deref(),
    );
    let t = Rc::new(Template {
        csp: page::csp(&html, &cfg.frame_ancestors),
        preload: page::preload_header(&html),
        plain: page::without_app(&html),
        html,
    });
    slot.with(|s| *s.borrow_mut() = Some(t.clone()));
    Ok(t)
}

// ---- request bodies ----

/// The body, refused with 413 as soon as it is known to exceed `limit`: by its declared length,
/// or while it streams in, never after reading it whole.
async fn body(req: &mut Request, limit: usize) -> std::result::Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get("Content-Length")?
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => return Err(error::TOO_LARGE),
        // The runtime delivers no more than the declared length: read it in one call (a
        // stream's reader costs a tenth of a submission's time).
        Some(_) => {
            return req
                .bytes()
                .await
                .map_err(|e| internal("reading the body", e));
        }
        None => {}
    }
    let mut out = Vec::new();
    let Ok(mut stream) = req.stream() else {
        return Ok(out);
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| internal("reading the body", e))?;
        if out.len() + chunk.len() > limit {
            return Err(error::TOO_LARGE);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

// ---- the page and submissions ----

fn lang_of(req: &Request) -> Lang {
    let q = req.url().ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.into_owned())
    });
    let accept = req.headers().get("Accept-Language").ok().flatten();
    Lang::pick(q.as_deref(), accept.as_deref())
}

/// What the directory says about a code: from this isolate's cache, else one query.
async fn lookup(
    db: &Db,
    cfg: &Config,
    code: CodeId,
) -> std::result::Result<submit::Lookup, ApiError> {
    let t = Date::now().as_millis() as f64;
    if let Some(l) = with_lookups(cfg, |c| c.get(&code, t)) {
        return Ok(l);
    }
    let rows: Vec<store::LookupRow> = db
        .rows(store::lookup(code, now(), cfg.guard.pow_rise.minutes))
        .await?;
    let l = store::read_lookup(rows).map_err(|e| internal("lookup", e))?;
    with_lookups(cfg, |c| c.put(code, l.clone(), t));
    Ok(l)
}

fn with_lookups<R>(cfg: &Config, f: impl FnOnce(&mut TtlCache<CodeId, submit::Lookup>) -> R) -> R {
    LOOKUPS.with(|slot| {
        let mut slot = slot.borrow_mut();
        let cache = slot.get_or_insert_with(|| {
            TtlCache::new(f64::from(cfg.directory_cache_secs) * 1000.0, 50_000)
        });
        f(cache)
    })
}

fn new_challenge(cfg: &Config, code: CodeId, device: &Id128, difficulty: u8) -> String {
    Challenge {
        kid: 0,
        code,
        issued_at: now() as u64,
        nonce: random(),
        device: wire::challenge::device_tag(&device.0),
        difficulty,
    }
    .seal(cfg.challenge_keys.current())
}

/// The device cookie of a request, if it came with one.
fn cookie_of(req: &Request) -> Option<Id128> {
    let cookie = req.headers().get("Cookie").ok().flatten();
    submit::cookie_device(cookie.as_deref())
}

/// Where a submission came from: its device cookie, and its address's digest of the day when
/// the address is known (from `CLIENT_IP_HEADER`, the trusted proxy's or Cloudflare's header).
fn sender_of(req: &Request, cfg: &Config) -> submit::Sender {
    let address = cfg.guard.address_header.as_deref().and_then(|h| {
        let v = req.headers().get(h).ok().flatten();
        let a = crate::guard::client_address(v.as_deref())?;
        let day = wire::time::Day::from_unix(now())?;
        Some(crate::guard::address_digest(
            &cfg.challenge_keys.current().secret,
            day,
            &a,
        ))
    });
    submit::Sender {
        cookie: cookie_of(req),
        address,
    }
}

fn today() -> wire::time::Day {
    wire::time::Day::from_unix(now()).unwrap_or(wire::time::Day(0))
}

/// What a page's segment names: a printed code (44 base32 letters) or a 一事一评 link
/// (`l/<token>`), with its directory entry and its code's recent ratings.
struct Resolved {
    payload: wire::qr::QrPayload,
    entry: wire::directory::Entry,
    recent: u32,
    link: Option<crate::links::LinkRow>,
}

async fn resolve(db: &Db, cfg: &Config, segment: &str) -> std::result::Result<Resolved, ApiError> {
    if let Some(t) = segment.strip_prefix("l/") {
        let token = crate::links::parse_token(t).ok_or(crate::links::NOT_FOUND)?;
        let rows: Vec<crate::links::LinkRow> = db.rows(crate::links::by_token(token)).await?;
        let link = rows.into_iter().next().ok_or(crate::links::NOT_FOUND)?;
        link.usable(now())?;
        let code = link.code_id().ok_or(crate::links::NOT_FOUND)?;
        let l = lookup(db, cfg, code).await?;
        let recent = l.recent;
        let entry = submit::entry_for_link(&link, l)?;
        return Ok(Resolved {
            payload: wire::qr::QrPayload {
                kid: 0,
                issued: link.day(),
                code,
            },
            entry,
            recent,
            link: Some(link),
        });
    }
    let payload = submit::open_code(segment, cfg)?;
    let l = lookup(db, cfg, payload.code).await?;
    let recent = l.recent;
    let entry = submit::entry_for(&payload, l, cfg, today())?;
    Ok(Resolved {
        payload,
        entry,
        recent,
        link: None,
    })
}

/// A refusal that the invalid-code page answers (the code or link), rather than an error.
fn names_the_code(e: &ApiError) -> bool {
    e.code.starts_with("qr.") || e.code.starts_with("links.")
}

/// Renders the landing page, or the invalid-code page. `refused` is a plain-form post sent back.
async fn landing(
    req: &Request,
    env: &Env,
    cfg: &Config,
    lang: Lang,
    segment: &str,
    status: u16,
    refused: Option<(&wire::draft::Draft, &ApiError)>,
) -> Answer {
    let tpl = template(env, cfg).await?;
    let r = match resolve(&Db::open(env)?, cfg, segment).await {
        Ok(r) => r,
        Err(e) if names_the_code(&e) => {
            return html(page::invalid_code(&tpl.plain, lang, &e), e.status, &tpl);
        }
        Err(e) => return Err(e),
    };
    let (payload, entry, recent) = (r.payload, r.entry, r.recent);
    // The edge names the device: the cookie it set before, or a new one set with this page.
    let known = cookie_of(req);
    let device = known.unwrap_or_else(|| Id128(random()));
    let difficulty = cfg.guard.difficulty(cfg.difficulty, recent);
    let body = page::landing(
        &tpl.html,
        &Landing {
            lang,
            segment,
            entry: &entry,
            challenge: &new_challenge(cfg, payload.code, &device, difficulty),
            form_challenge: &new_challenge(cfg, payload.code, &device, 0),
            now: now(),
            retention_days: cfg.retention_days,
            refused,
            project_no: r.link.as_ref().map(|l| l.project_no.as_str()),
        },
    );
    let r = html(body, status, &tpl)?;
    if !tpl.preload.is_empty() {
        r.headers().set("Link", &tpl.preload)?;
    }
    if known.is_none() {
        let secure = if req.url()?.scheme() == "https" {
            "; Secure"
        } else {
            ""
        };
        r.headers().set(
            "Set-Cookie",
            &format!(
                "{}={}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax{secure}",
                submit::DEVICE_COOKIE,
                device.to_text()
            ),
        )?;
    }
    Ok(r)
}

/// What `accept` answers: the stored row, the checked submission, and a 差评's status token.
type Accepted = (store::Accepted, submit::Checked, Option<String>);

/// Checks a submission and commits it in one transaction of the storage object, which wakes its
/// outbox. The citizen hears "success" only after the commit. A 差评 gets a fresh status token
/// (`receipt`), whose digest is stored in the same transaction.
async fn accept(
    env: &Env,
    cfg: &Config,
    sub: &Submission,
    via: Via,
    sender: submit::Sender,
) -> std::result::Result<Accepted, ApiError> {
    let db = Db::open(env)?;
    let r = resolve(&db, cfg, &sub.code).await?;
    let c = submit::check(sub, via, r.payload, r.entry, cfg, sender, now())?;
    let c = match &r.link {
        Some(link) => submit::through_link(c, link),
        None => c,
    };
    let token = c
        .rating
        .level
        .is_bad()
        .then(|| crate::receipt::new_token(random()));
    commit(&db, cfg, c, token).await
}

/// Commits a checked rating in one transaction (`store::accept`), which wakes the outbox. A
/// retry of a stored submission (its answer lost) gets the same answer again; a 差评's status
/// `token`, when given, is stored with it.
async fn commit(
    db: &Db,
    cfg: &Config,
    c: submit::Checked,
    token: Option<String>,
) -> std::result::Result<Accepted, ApiError> {
    let (stmts, upsert) = store::accept(&c, cfg, token.as_deref());
    match db.batch(stmts, true).await {
        Ok(results) => {
            let accepted = results
                .into_iter()
                .nth(upsert)
                .and_then(|rows| serde_json::from_value::<Vec<store::Accepted>>(rows).ok())
                .and_then(|mut v| v.pop())
                .ok_or_else(|| internal("accept", "no row returned"))?;
            Ok((accepted, c, token))
        }
        Err(db::DbError::Sql(msg)) => match store::conflict(&msg) {
            // A retry of a stored submission gets its answer again; anything else is a replay.
            Some(store::Conflict::Replayed) => {
                let again: Vec<store::Accepted> = db
                    .rows(store::by_submission(c.submission, c.payload.code))
                    .await?;
                match again.into_iter().next() {
                    // The first answer's token was lost with it: a new one for the same case.
                    Some(a) => {
                        if let Some(t) = &token {
                            let code = c.payload.code.to_text();
                            let add = crate::receipt::add(
                                t,
                                &code,
                                &c.device.to_text(),
                                i64::from(c.day.0),
                                now(),
                            );
                            db.batch(vec![add], false).await?;
                        }
                        Ok((a, c, token))
                    }
                    None => Err(error::REPLAYED),
                }
            }
            None => Err(internal("accept", msg)),
        },
        Err(e) => Err(e.into()),
    }
}

/// A rating is posted from this site's own page: a browser that says otherwise is refused.
fn same_site(req: &Request) -> std::result::Result<(), ApiError> {
    let h = |k: &str| req.headers().get(k).ok().flatten();
    let host = h("Host").unwrap_or_default();
    if crate::console::same_site(
        h("Origin").as_deref(),
        h("Sec-Fetch-Site").as_deref(),
        &host,
    ) {
        Ok(())
    } else {
        Err(error::CROSS_SITE)
    }
}

async fn rate_json(mut req: Request, env: &Env, cfg: &Config) -> Answer {
    same_site(&req)?;
    let ct = req.headers().get("Content-Type")?;
    let body = body(&mut req, MAX_BODY_BYTES).await?;
    let sub = submit::parse_json(ct.as_deref(), &body)?;
    let (a, c, token) = accept(env, cfg, &sub, Via::App, sender_of(&req, cfg)).await?;
    let r = json(
        store::accepted_json(
            &a,
            c.rating.level,
            c.rating.phone.is_some(),
            c.day,
            token.as_deref(),
        ),
        200,
    )?;
    r.headers().set("Cache-Control", "no-store")?;
    Ok(r)
}

async fn rate_form(mut req: Request, env: &Env, cfg: &Config) -> Answer {
    same_site(&req)?;
    let ct = req.headers().get("Content-Type")?;
    let tpl = template(env, cfg).await?;
    let lang = lang_of(&req);
    let error_page = |e: &ApiError, lang| {
        let msg = page::message(&tpl.plain, lang, e.message(lang), &[], "error");
        html(msg, e.status, &tpl)
    };
    let post = match body(&mut req, MAX_BODY_BYTES)
        .await
        .and_then(|b| submit::from_form(ct.as_deref(), &b))
    {
        Ok(p) => p,
        Err(e) => return error_page(&e, lang),
    };
    let lang = post.lang.unwrap_or(lang);
    match accept(env, cfg, &post.submission, Via::Form, sender_of(&req, cfg)).await {
        Ok((a, c, token)) => html(
            page::thanks(
                &tpl.plain,
                lang,
                c.rating.level,
                c.rating.phone.is_some(),
                a.assess_number > 1,
                token.as_deref(),
            ),
            200,
            &tpl,
        ),
        // Code problems: the invalid page. Everything else: the form again, as it was filled in,
        // with a fresh challenge and the reason on top.
        Err(e) if names_the_code(&e) => {
            html(page::invalid_code(&tpl.plain, lang, &e), e.status, &tpl)
        }
        Err(e) if e.status == 503 => error_page(&e, lang),
        Err(e) => {
            let seg = &post.submission.code;
            landing(&req, env, cfg, lang, seg, e.status, Some((&post.draft, &e))).await
        }
    }
}

// ---- administration ----

/// A refused upload: the file's own error says what and where (the administrator's text, not
/// internals).
fn file_error(code: &'static str, e: wire::directory::FileError) -> ApiError {
    ApiError {
        detail: Some(e.0),
        ..ApiError::new(
            400,
            code,
            "上传的文件格式不正确。",
            "The uploaded file is not valid.",
        )
    }
}

/// After a directory or revocation change: this isolate asks storage again at once.
fn clear_lookups() {
    LOOKUPS.with(|slot| {
        if let Some(c) = slot.borrow_mut().as_mut() {
            c.clear();
        }
    });
}

/// Whether the request carries a city-wide bearer (the operator's token or a 市级管理员 token).
async fn city_bearer(req: &Request, cfg: &Config, db: &Db) -> std::result::Result<(), ApiError> {
    let me = console::bearer(req, cfg, db).await?;
    if me.role == crate::access::Role::City && me.scope == crate::access::Scope::All {
        Ok(())
    } else {
        Err(error::ADMIN_AUTH)
    }
}

/// `/status`: for anyone, that the edge answers; with a city-wide bearer, the outbox's figures.
async fn status(req: &Request, env: &Env, cfg: &Config) -> Answer {
    let db = Db::open(env)?;
    if city_bearer(req, cfg, &db).await.is_err() {
        return Ok(json(serde_json::json!({"ok": true}).to_string(), 200)?);
    }
    let s: Option<store::Status> = db.rows(store::status()).await?.pop();
    let s = s.ok_or_else(|| internal("status", "no row"))?;
    Ok(json(store::status_json(&s, cfg, now()), 200)?)
}

/// `/metrics`, for the operator's monitoring (Prometheus text), behind a city-wide bearer.
async fn metrics(req: &Request, env: &Env, cfg: &Config) -> Answer {
    let db = Db::open(env)?;
    city_bearer(req, cfg, &db).await?;
    let s: Option<store::Status> = db.rows(store::status()).await?.pop();
    let s = s.ok_or_else(|| internal("metrics", "no row"))?;
    let text =
        COUNTERS.with(|c| crate::metrics::prometheus(&c.borrow(), &s, cfg.forwarding(), now()));
    let r = Response::ok(text)?;
    r.headers()
        .set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")?;
    r.headers().set("Cache-Control", "no-store")?;
    Ok(r)
}

// ---- routing ----

async fn route(req: Request, env: &Env) -> Answer {
    let path = req.path();
    let method = req.method();
    if path.starts_with("/assets/") || path == "/favicon.ico" || path == "/robots.txt" {
        return asset(&req, env, &path).await;
    }
    let cfg = config(env)?;
    match (method, path.as_str()) {
        (Method::Post, "/api/rate") => rate_json(req, env, &cfg).await,
        (Method::Post, "/rate") => rate_form(req, env, &cfg).await,
        (_, "/api/rate" | "/rate") => Err(error::METHOD),
        (Method::Get, "/status") => status(&req, env, &cfg).await,
        (Method::Get, "/metrics") => metrics(&req, env, &cfg).await,
        (_, p) if p.starts_with("/admin/") => console::admin(req, env, &cfg, p).await,
        (_, p) if p == "/console" || p.starts_with("/console/") => {
            console::route(req, env, &cfg, p).await
        }
        (_, p) if p == "/s" || p.starts_with("/s/") => public::receipt(req, env, &cfg, p).await,
        (_, p) if p == "/api/v1/links" || p.starts_with("/api/v1/links/") => {
            links::api(req, env, &cfg, p).await
        }
        (_, p) if p.starts_with("/kiosk/") => kiosk::route(req, env, &cfg, p).await,
        (_, p) if p.starts_with("/api/v1/kiosk/") => kiosk::api(req, env, &cfg, p).await,
        (Method::Get, p) if p.starts_with("/l/") && p.ends_with(".png") => {
            links::png(&req, env, &cfg, &p["/l/".len()..p.len() - ".png".len()]).await
        }
        (Method::Get | Method::Head, p) if p.starts_with("/l/") => {
            let lang = lang_of(&req);
            landing(&req, env, &cfg, lang, &p[1..], 200, None).await
        }
        (Method::Get, "/results" | "/results.json" | "/results.csv") => {
            public::results(&req, env, &cfg, &path).await
        }
        (Method::Get | Method::Head, p) => {
            // Every other one-segment path is a printed code (or a forged, truncated one: the
            // landing answers those with the invalid-code page).
            let segment = p.trim_start_matches('/');
            let lang = lang_of(&req);
            if !segment.is_empty() && !segment.contains('/') {
                landing(&req, env, &cfg, lang, segment, 200, None).await
            } else {
                let tpl = template(env, &cfg).await?;
                html(
                    page::message(&tpl.plain, lang, text::SCAN_PROMPT.get(lang), &[], "home"),
                    404,
                    &tpl,
                )
            }
        }
        _ => Err(error::METHOD),
    }
}

/// Every request: routed, answered, counted, and logged in one line without personal data.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let method = req.method();
    let name = crate::metrics::route_of(&req.path());
    let host = req.headers().get("Host")?.unwrap_or_default();
    let (r, code) = match route(req, &env).await {
        Ok(r) => (r, None),
        Err(e) => (json(e.to_json(), e.status)?, Some(e.code)),
    };
    for (k, v) in page::common_headers(&host) {
        // An asset passed through from the site's service keeps its own (immutable) headers.
        let _ = r.headers().set(k, v);
    }
    let status = r.status_code();
    COUNTERS.with(|c| c.borrow_mut().count(name, method == Method::Post, status));
    console_log!(
        "{}",
        crate::metrics::log_line(
            method.as_ref(),
            name,
            status,
            code,
            Date::now().as_millis().saturating_sub(started)
        )
    );
    Ok(r)
}
