//! The thin adapter to the Workers runtime: routes, D1, the forwarding Queue, the cron sweep and
//! the app's assets. Decisions live in the plain modules; this file moves bytes and logs.

use crate::cache::TtlCache;
use crate::config::Config;
use crate::error::{self, ApiError, Lang};
use crate::page::{self, Landing};
use crate::store::{self, Forward, Stmt, Val};
use crate::submit::{self, Via};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wire::challenge::Challenge;
use wire::directory::Directory;
use wire::qr::{CodeId, Revocations};
use wire::rating::Id128;
use wire::submission::Submission;
use wire::text::Bilingual;
use wire::time::Day;
use worker::*;

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
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
    static TEMPLATE: RefCell<Option<Rc<Template>>> = const { RefCell::new(None) };
    static LOOKUPS: RefCell<Option<TtlCache<CodeId, submit::Lookup>>> = const { RefCell::new(None) };
}

/// Settings, parsed once per isolate.
fn config(env: &Env) -> std::result::Result<Config, ApiError> {
    if let Some(c) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let get = |name: &str| {
        env.secret(name)
            .map(|s| s.to_string())
            .or_else(|_| env.var(name).map(|v| v.to_string()))
            .ok()
    };
    match Config::from_vars(get) {
        Ok(c) => {
            CONFIG.with(|slot| *slot.borrow_mut() = Some(c.clone()));
            Ok(c)
        }
        Err(e) => {
            console_error!("configuration: {e}");
            Err(error::UNAVAILABLE)
        }
    }
}

/// Logs an internal failure and answers with the one public error for it.
fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    console_error!("{what}: {e}");
    error::UNAVAILABLE
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        internal("runtime", e)
    }
}

// ---- D1 ----

fn bind(db: &D1Database, s: &Stmt) -> Result<D1PreparedStatement> {
    let args: Vec<JsValue> = s
        .args
        .iter()
        .map(|v| match v {
            Val::Int(i) => JsValue::from_f64(*i as f64),
            Val::Text(t) => JsValue::from_str(t),
            Val::Null => JsValue::null(),
        })
        .collect();
    db.prepare(s.sql).bind(&args)
}

async fn rows<T: serde::de::DeserializeOwned>(db: &D1Database, s: &Stmt) -> Result<Vec<T>> {
    bind(db, s)?.all().await?.results::<T>()
}

async fn batch(db: &D1Database, stmts: &[Stmt]) -> Result<Vec<D1Result>> {
    let prepared = stmts
        .iter()
        .map(|s| bind(db, s))
        .collect::<Result<Vec<_>>>()?;
    db.batch(prepared).await
}

fn db(env: &Env) -> std::result::Result<D1Database, ApiError> {
    env.d1("DB").map_err(|e| internal("binding DB", e))
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

fn html(body: String, status: u16, t: &Template) -> Result<Response> {
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

fn api_error(e: &ApiError) -> Result<Response> {
    json(e.to_json(), e.status)
}

// ---- assets ----

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves `/assets/<name>` from the build output, precompressed: brotli, then gzip, then raw.
/// Content-hashed names (`name-<hash>.ext`) are cached for a year.
async fn asset(req: &Request, env: &Env, path: &str) -> Result<Response> {
    let assets = env.assets("ASSETS")?;
    let accept = req.headers().get("Accept-Encoding")?.unwrap_or_default();
    let url = req.url()?;
    let origin = url.origin().ascii_serialization();
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
            .fetch(format!("{origin}{path}{suffix}"), None)
            .await?;
        if r.status_code() != 200 {
            continue;
        }
        // The same body stream under our headers: no copy through WebAssembly memory.
        let mut out = Response::from_body(r.body().clone())?;
        let h = out.headers_mut();
        h.set("Content-Type", content_type(path))?;
        h.set("X-Content-Type-Options", "nosniff")?;
        h.set("Vary", "Accept-Encoding")?;
        let hashed = path
            .rsplit('/')
            .next()
            .and_then(|n| n.split('.').next())
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
    api_error(&error::NOT_FOUND)
}

async fn template(
    req: &Request,
    env: &Env,
    cfg: &Config,
) -> std::result::Result<Rc<Template>, ApiError> {
    if let Some(t) = TEMPLATE.with(|t| t.borrow().clone()) {
        return Ok(t);
    }
    let origin = req
        .url()
        .map_err(|e| internal("url", e))?
        .origin()
        .ascii_serialization();
    let assets = env
        .assets("ASSETS")
        .map_err(|e| internal("binding ASSETS", e))?;
    let mut r = assets
        .fetch(format!("{origin}/index.html"), None)
        .await
        .map_err(|e| internal("index.html", e))?;
    if r.status_code() != 200 {
        return Err(internal("index.html", r.status_code()));
    }
    let html = r.text().await.map_err(|e| internal("index.html", e))?;
    let t = Rc::new(Template {
        csp: page::csp(&html, &cfg.frame_ancestors),
        preload: page::preload_header(&html),
        plain: page::without_app(&html),
        html,
    });
    TEMPLATE.with(|slot| *slot.borrow_mut() = Some(t.clone()));
    Ok(t)
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

/// What the directory says about a code: from this isolate's cache, else one D1 query.
async fn lookup(
    db: &D1Database,
    cfg: &Config,
    code: CodeId,
) -> std::result::Result<submit::Lookup, ApiError> {
    let t = Date::now().as_millis() as f64;
    if let Some(l) = with_lookups(cfg, |c| c.get(&code, t)) {
        return Ok(l);
    }
    let rows: Vec<store::LookupRow> = rows(db, &store::lookup(code))
        .await
        .map_err(|e| internal("lookup", e))?;
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

fn new_challenge(cfg: &Config, code: CodeId, difficulty: u8) -> String {
    Challenge {
        kid: 0,
        code,
        issued_at: now() as u64,
        nonce: random(),
        difficulty,
    }
    .seal(cfg.challenge_keys.current())
}

/// Renders the landing page, or the invalid-code page. `refused` is a plain-form post sent back.
async fn landing(
    req: &Request,
    env: &Env,
    cfg: &Config,
    lang: Lang,
    segment: &str,
    status: u16,
    refused: Option<(&page::Draft, &ApiError)>,
) -> Result<Response> {
    let tpl = match template(req, env, cfg).await {
        Ok(t) => t,
        Err(e) => return api_error(&e),
    };
    let invalid = |status| html(page::invalid_code(&tpl.plain, lang), status, &tpl);
    let payload = match submit::open_code(segment, cfg) {
        Ok(p) => p,
        Err(e) => return invalid(e.status),
    };
    let db = match db(env) {
        Ok(d) => d,
        Err(e) => return api_error(&e),
    };
    let entry = match lookup(&db, cfg, payload.code).await {
        Ok(l) => match submit::entry_for(&payload, l) {
            Ok(e) => e,
            Err(e) => return invalid(e.status),
        },
        Err(e) => return api_error(&e),
    };
    let body = page::landing(
        &tpl.html,
        &Landing {
            lang,
            segment,
            entry: &entry,
            challenge: &new_challenge(cfg, payload.code, cfg.difficulty),
            form_challenge: &new_challenge(cfg, payload.code, 0),
            now: now(),
            refused,
        },
    );
    let r = html(body, status, &tpl)?;
    if !tpl.preload.is_empty() {
        r.headers().set("Link", &tpl.preload)?;
    }
    let cookie = req.headers().get("Cookie")?;
    if submit::cookie_device(cookie.as_deref()).is_none() {
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
                Id128(random()).to_text()
            ),
        )?;
    }
    Ok(r)
}

/// The outcome of storing a checked submission.
/// Checks a submission and commits it: one D1 batch, then (when forwarding) a queue message.
/// The citizen hears "success" only after the commit.
async fn accept(
    env: &Env,
    ctx: &Context,
    cfg: &Config,
    sub: &Submission,
    via: Via,
) -> std::result::Result<(store::Accepted, submit::Checked), ApiError> {
    let payload = submit::open_code(&sub.code, cfg)?;
    let db = db(env)?;
    let entry = submit::entry_for(&payload, lookup(&db, cfg, payload.code).await?)?;
    let c = submit::check(sub, via, payload, entry, cfg, now())?;
    let accepted = match batch(&db, &store::accept(&c, cfg)).await {
        Ok(results) => results
            .last()
            .and_then(|r| r.results::<store::Accepted>().ok())
            .and_then(|mut v| v.pop())
            .ok_or_else(|| internal("accept", "no row returned"))?,
        Err(e) => {
            let msg = e.to_string();
            return match store::conflict(&msg) {
                Some(store::Conflict::Budget) => Err(error::FORM_BUDGET),
                // A retry of a stored submission gets its answer again; anything else is a replay.
                Some(store::Conflict::Replayed) => {
                    let again: Vec<store::Accepted> =
                        rows(&db, &store::by_submission(c.submission, c.payload.code)).await?;
                    match again.into_iter().next() {
                        Some(a) => Ok((a, c)),
                        None => Err(error::REPLAYED),
                    }
                }
                None => Err(internal("accept", msg)),
            };
        }
    };
    if cfg.forwarding() {
        let queue = env.queue("FORWARD")?;
        let f = Forward {
            id: accepted.id.clone(),
            rev: accepted.rev,
        };
        // The rating is already durable and leased: a lost message is queued again by the sweep.
        ctx.wait_until(async move {
            if let Err(e) = queue.send(f).await {
                console_error!("queue send: {e}");
            }
        });
    }
    Ok((accepted, c))
}

async fn rate_json(mut req: Request, env: &Env, ctx: &Context, cfg: &Config) -> Result<Response> {
    let ct = req.headers().get("Content-Type")?;
    let body = req.bytes().await.unwrap_or_default();
    let result = async {
        let sub = submit::parse_json(ct.as_deref(), &body)?;
        let (a, c) = accept(env, ctx, cfg, &sub, Via::App).await?;
        Ok::<_, ApiError>(store::accepted_json(
            &a,
            c.rating.level,
            c.rating.phone.is_some(),
            c.day,
        ))
    }
    .await;
    match result {
        Ok(body) => json(body, 200),
        Err(e) => api_error(&e),
    }
}

async fn rate_form(mut req: Request, env: &Env, ctx: &Context, cfg: &Config) -> Result<Response> {
    let ct = req.headers().get("Content-Type")?;
    let cookie = req.headers().get("Cookie")?;
    let body = req.bytes().await.unwrap_or_default();
    let tpl = match template(&req, env, cfg).await {
        Ok(t) => t,
        Err(e) => return api_error(&e),
    };
    let post = match submit::from_form(
        ct.as_deref(),
        &body,
        submit::cookie_device(cookie.as_deref()),
    ) {
        Ok(p) => p,
        Err(e) => {
            let lang = lang_of(&req);
            let msg = page::message(&tpl.plain, lang, e.message(lang), &[], "error");
            return html(msg, e.status, &tpl);
        }
    };
    let lang = post.lang.unwrap_or_else(|| lang_of(&req));
    match accept(env, ctx, cfg, &post.submission, Via::Form).await {
        Ok((a, c)) => html(
            page::thanks(
                &tpl.plain,
                lang,
                c.rating.level,
                c.rating.phone.is_some(),
                a.assess_number > 1,
            ),
            200,
            &tpl,
        ),
        // Code problems: the invalid page. Everything else: the form again, as it was filled in,
        // with a fresh challenge and the reason on top.
        Err(e) if e.code.starts_with("qr.") => {
            html(page::invalid_code(&tpl.plain, lang), e.status, &tpl)
        }
        Err(e) if e.status == 503 => html(
            page::message(&tpl.plain, lang, e.message(lang), &[], "error"),
            503,
            &tpl,
        ),
        Err(e) => {
            let seg = &post.submission.code;
            landing(&req, env, cfg, lang, seg, e.status, Some((&post.draft, &e))).await
        }
    }
}

// ---- administration ----

fn authorized(req: &Request, cfg: &Config) -> std::result::Result<(), ApiError> {
    let want = cfg.admin_token.as_deref().ok_or(error::ADMIN_DISABLED)?;
    let got = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
        .unwrap_or_default();
    // Constant time in the token's length.
    let same = got.len() == want.len()
        && got
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same { Ok(()) } else { Err(error::ADMIN_AUTH) }
}

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

/// Runs an administration batch and answers how many entries it carried.
async fn write_all(
    db: &D1Database,
    stmts: &[Stmt],
    entries: usize,
) -> std::result::Result<Response, ApiError> {
    batch(db, stmts)
        .await
        .map_err(|e| internal("admin write", e))?;
    LOOKUPS.with(|slot| {
        if let Some(c) = slot.borrow_mut().as_mut() {
            c.clear();
        }
    });
    Ok(json(
        serde_json::json!({"ok": true, "entries": entries}).to_string(),
        200,
    )?)
}

async fn admin(req: Request, env: &Env, cfg: &Config, path: &str) -> Result<Response> {
    if let Err(e) = authorized(&req, cfg) {
        return api_error(&e);
    }
    let db = match db(env) {
        Ok(d) => d,
        Err(e) => return api_error(&e),
    };
    match admin_routes(req, env, cfg, &db, path).await {
        Ok(r) => Ok(r),
        Err(e) => api_error(&e),
    }
}

async fn admin_routes(
    mut req: Request,
    env: &Env,
    cfg: &Config,
    db: &D1Database,
    path: &str,
) -> std::result::Result<Response, ApiError> {
    match (req.method(), path) {
        (Method::Put, "/admin/directory") => {
            let text = req.text().await?;
            let d = Directory::from_json(&text).map_err(|e| file_error("admin.directory", e))?;
            write_all(db, &store::replace_directory(&d.entries), d.entries.len()).await
        }
        // PUT replaces the list with qr-gen's revocations.json; POST adds the entries of a body in
        // the same format (one code, or a staff member's codes issued before a day).
        (method @ (Method::Put | Method::Post), "/admin/revocations") => {
            let text = req.text().await?;
            let r =
                Revocations::from_json(&text).map_err(|e| file_error("admin.revocations", e))?;
            let stmts = if method == Method::Put {
                store::replace_revocations(&r)
            } else {
                store::add_revocations(&r)
            };
            write_all(db, &stmts, r.entries.len()).await
        }
        (Method::Get, "/admin/export.csv") => {
            let url = req.url()?;
            let q = |k: &str| {
                url.query_pairs()
                    .find(|(n, _)| n == k)
                    .and_then(|(_, v)| Day::parse(&v))
            };
            let from = q("from").map_or(0, Day::start_unix);
            let to = q("to").map_or(i64::MAX / 2, |d| Day(d.0 + 1).start_unix());
            let rows: Vec<store::RatingRow> = rows(db, &store::export(from, to))
                .await
                .map_err(|e| internal("export", e))?;
            let csv = store::export_csv(&rows).map_err(|e| internal("export", e))?;
            let r = Response::from_bytes(csv.into_bytes())?;
            let h = r.headers();
            h.set("Content-Type", "text/csv; charset=utf-8")?;
            h.set(
                "Content-Disposition",
                "attachment; filename=\"ratings.csv\"",
            )?;
            h.set("Cache-Control", "no-store")?;
            Ok(r)
        }
        (Method::Post, "/admin/prune") => {
            let res = batch(db, &store::prune(now(), cfg))
                .await
                .map_err(|e| internal("prune", e))?;
            let counts: Vec<usize> = res
                .iter()
                .map(|r| r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0))
                .collect();
            Ok(json(
                serde_json::json!({"ok": true, "challenges": counts[0], "bursts": counts[1], "form_budget": counts[2], "ratings": counts[3]}).to_string(),
                200,
            )?)
        }
        (Method::Post, "/admin/sweep") => {
            let n = sweep(env, cfg).await.map_err(|e| internal("sweep", e))?;
            Ok(json(
                serde_json::json!({"ok": true, "queued": n}).to_string(),
                200,
            )?)
        }
        _ => Err(error::NOT_FOUND),
    }
}

// ---- forwarding ----

/// Queues again every pending rating whose lease ran out. Returns how many.
async fn sweep(env: &Env, cfg: &Config) -> Result<usize> {
    if !cfg.forwarding() {
        return Ok(0);
    }
    let t = now();
    let claim = store::claim_due(t, t + i64::from(cfg.sweep_lease_secs), 100);
    let due: Vec<Forward> = rows(&env.d1("DB")?, &claim).await?;
    if !due.is_empty() {
        env.queue("FORWARD")?.send_batch(due.clone()).await?;
    }
    Ok(due.len())
}

/// What one forwarding attempt came to.
enum Outcome {
    /// Acknowledged, or nothing left to send (already sent, or pruned).
    Done,
    /// To be retried; `attempts` failed before this one.
    Failed { why: String, attempts: i64 },
}

/// Sends the current revision of one rating upstream.
async fn forward_one(db: &D1Database, cfg: &Config, f: &Forward) -> Result<Outcome> {
    let Some(row) = rows::<store::RatingRow>(db, &store::rating_by_id(&f.id))
        .await?
        .pop()
        .filter(|r| r.forwarded_rev < r.rev)
    else {
        return Ok(Outcome::Done);
    };
    let failed = |why: String| {
        Ok(Outcome::Failed {
            why,
            attempts: row.attempts,
        })
    };
    let Some(url) = cfg.upstream_url.as_deref() else {
        return failed("UPSTREAM_URL unset".into());
    };
    let out = match store::outbound(&row, cfg, now()) {
        Ok(o) => o,
        Err(why) => return failed(why),
    };
    let headers = Headers::new();
    for (k, v) in &out.headers {
        headers.set(k, v)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&out.body)));
    match Fetch::Request(Request::new_with_init(url, &init)?)
        .send()
        .await
    {
        Ok(r) if (200..300).contains(&r.status_code()) => {
            let sent = Forward {
                id: row.id.clone(),
                rev: row.rev,
            };
            batch(db, &[store::mark_forwarded(&sent, now())]).await?;
            Ok(Outcome::Done)
        }
        Ok(r) => failed(format!("upstream status {}", r.status_code())),
        Err(e) => failed(format!("upstream unreachable: {e}")),
    }
}

#[event(queue)]
async fn queue(batch_in: MessageBatch<Forward>, env: Env, _ctx: Context) -> Result<()> {
    let cfg = config(&env).map_err(|e| Error::RustError(e.code.into()))?;
    let db = env.d1("DB")?;
    for msg in batch_in.messages()? {
        let delay = match forward_one(&db, &cfg, msg.body()).await {
            Ok(Outcome::Done) => {
                msg.ack();
                continue;
            }
            Ok(Outcome::Failed { why, attempts }) => {
                let delay = cfg.retry_delay(u32::try_from(attempts + 1).unwrap_or(u32::MAX));
                console_warn!(
                    "forward {} failed ({why}); retry in {delay} s",
                    msg.body().id
                );
                let _ = batch(&db, &[store::mark_failed(msg.body(), now(), delay, &why)]).await;
                delay
            }
            Err(e) => {
                console_error!("forward {}: {e}", msg.body().id);
                cfg.retry_base_secs
            }
        };
        msg.retry_with_options(
            &QueueRetryOptionsBuilder::new()
                .with_delay_seconds(delay)
                .build(),
        );
    }
    Ok(())
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let Ok(cfg) = config(&env) else { return };
    match sweep(&env, &cfg).await {
        Ok(n) if n > 0 => console_log!("sweep: queued {n} pending ratings again"),
        Ok(_) => {}
        Err(e) => console_error!("sweep: {e}"),
    }
    if let Ok(db) = env.d1("DB")
        && let Err(e) = batch(&db, &store::prune(now(), &cfg)).await
    {
        console_error!("prune: {e}");
    }
}

// ---- routing ----

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    let method = req.method();
    if path.starts_with("/assets/") || path == "/favicon.ico" || path == "/robots.txt" {
        return asset(&req, &env, &path).await;
    }
    let cfg = match config(&env) {
        Ok(c) => c,
        Err(e) => return api_error(&e),
    };
    match (method, path.as_str()) {
        (Method::Post, "/api/rate") => rate_json(req, &env, &ctx, &cfg).await,
        (Method::Post, "/rate") => rate_form(req, &env, &ctx, &cfg).await,
        (_, "/api/rate" | "/rate") => api_error(&error::METHOD),
        (Method::Get, "/status") => {
            let status = async {
                let s: Option<store::Status> = rows(&db(&env)?, &store::status()).await?.pop();
                s.ok_or_else(|| internal("status", "no row"))
            }
            .await;
            match status {
                Ok(s) => json(store::status_json(&s, &cfg, now()), 200),
                Err(e) => api_error(&e),
            }
        }
        (_, p) if p.starts_with("/admin/") => admin(req, &env, &cfg, p).await,
        (Method::Get | Method::Head, p) => {
            // Every other one-segment path is a printed code (or a forged, truncated one: the
            // landing answers those with the invalid-code page).
            let segment = p.trim_start_matches('/');
            if !segment.is_empty() && !segment.contains('/') {
                landing(&req, &env, &cfg, lang_of(&req), segment, 200, None).await
            } else {
                let tpl = match template(&req, &env, &cfg).await {
                    Ok(t) => t,
                    Err(e) => return api_error(&e),
                };
                let lang = lang_of(&req);
                let scan = Bilingual(
                    "请使用微信或政务App扫描窗口的二维码进行评价",
                    "Scan the QR code at the service window to rate it",
                );
                html(
                    page::message(&tpl.plain, lang, scan.get(lang), &[], "home"),
                    404,
                    &tpl,
                )
            }
        }
        _ => api_error(&error::METHOD),
    }
}
