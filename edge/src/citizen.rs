//! The citizen's path as handlers: a scanned code's landing page (or a 一事一评 link's), the
//! rating posted by the app (`POST /api/rate`) or by the plain form (`POST /rate`), the scan
//! prompt at `/`, and the site's files. The checks without storage are `submit`'s, the
//! transaction is `store::accept`'s, the HTML is `page`'s; this module reads the request, asks
//! storage through the host and answers.

use crate::config::Config;
use crate::directory;
use crate::error::{self, ApiError, Lang};
use crate::fastlane;
use crate::host::{self, Host};
use crate::http::{Answer, Body, Request, Response};
use crate::links::{self, LinkRow};
use crate::page::{self, Landing};
use crate::store::{self, Rules};
use crate::submit::{self, Via};
use std::rc::Rc;
use wire::calendar::Span;
use wire::challenge::Challenge;
use wire::qr::CodeId;
use wire::rating::Id128;
use wire::submission::Submission;
use wire::text;

// ---- the site's template ----

/// A page template of the site's build (`index.html`, `kiosk.html`) with the edge's markers and
/// its CSP, read once per isolate.
pub struct Template {
    pub html: String,
    /// The same without the app's preloads and script, for pages without a form.
    pub plain: String,
    pub csp: String,
    /// The preloads as a `Link` header, sent with landing pages.
    pub preload: String,
}

#[derive(Default)]
struct Templates(Vec<(&'static str, Rc<Template>)>);

/// The template `name`, from this isolate's memory or the site's files.
pub async fn template(
    h: &impl Host,
    cfg: &Config,
    name: &'static str,
) -> Result<Rc<Template>, ApiError> {
    let known = h
        .isolate()
        .with(|t: &mut Templates| t.0.iter().find(|(n, _)| *n == name).map(|(_, t)| t.clone()));
    if let Some(t) = known {
        return Ok(t);
    }
    let raw = h
        .site_file(name)
        .await
        .map_err(|e| host::internal(h, name, e))?;
    let html = page::with_footer(&raw, cfg.site_icp.as_deref(), cfg.site_office.as_deref());
    let t = Rc::new(Template {
        csp: page::csp(&html, &cfg.frame_ancestors),
        preload: page::preload_header(&html),
        plain: page::without_app(&html),
        html,
    });
    h.isolate()
        .with(|all: &mut Templates| all.0.push((name, t.clone())));
    Ok(t)
}

/// A page of the citizen's: its template's CSP, never cached, no referrer.
pub fn html(body: String, status: u16, t: &Template) -> Response {
    Response::html(status, body)
        .with("Content-Security-Policy", &t.csp)
        .with("Referrer-Policy", "no-referrer")
        .with("Cache-Control", "no-store")
}

pub fn lang_of(req: &Request) -> Lang {
    let q = req.param("lang");
    Lang::pick(
        (!q.is_empty()).then_some(q.as_str()),
        req.header("accept-language"),
    )
}

fn today(h: &impl Host) -> wire::time::Day {
    wire::time::Day::from_unix(h.now()).unwrap_or(wire::time::Day(0))
}

/// What a page's segment names: a printed code (44 base32 letters) or a 一事一评 link
/// (`l/<token>`), with its directory entry and its code's recent ratings.
pub struct Resolved {
    pub payload: wire::qr::QrPayload,
    pub entry: wire::directory::Entry,
    pub recent: u32,
    pub link: Option<LinkRow>,
}

pub async fn resolve(
    h: &impl Host,
    cfg: &Config,
    guard: &crate::guard::Settings,
    segment: &str,
) -> Result<Resolved, ApiError> {
    if let Some(t) = segment.strip_prefix("l/") {
        let token = links::parse_token(t).ok_or(links::NOT_FOUND)?;
        let rows: Vec<LinkRow> = host::rows(h, links::by_token(token)).await?;
        let link = rows.into_iter().next().ok_or(links::NOT_FOUND)?;
        link.usable(h.now())?;
        let code = link.code_id().ok_or(links::NOT_FOUND)?;
        let l = directory::lookup(h, cfg, guard, code).await?;
        let recent = l.recent;
        let entry = links::entry_for_link(&link, l)?;
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
    let l = directory::lookup(h, cfg, guard, payload.code).await?;
    let recent = l.recent;
    let entry = submit::entry_for(&payload, l, cfg, guard, today(h))?;
    Ok(Resolved {
        payload,
        entry,
        recent,
        link: None,
    })
}

/// A refusal that the invalid-code page answers (the code or link), rather than an error.
pub fn names_the_code(e: &ApiError) -> bool {
    e.code.starts_with("qr.") || e.code.starts_with("links.")
}

// ---- the landing page ----

fn new_challenge(
    h: &impl Host,
    cfg: &Config,
    code: CodeId,
    device: &Id128,
    difficulty: u8,
) -> String {
    Challenge {
        kid: 0,
        code,
        issued_at: u64::try_from(h.now()).unwrap_or(0),
        nonce: host::random(h),
        device: wire::challenge::device_tag(&device.0),
        difficulty,
    }
    .seal(cfg.challenge_keys.current())
}

/// The device cookie of a request, if it came with one.
fn cookie_of(req: &Request) -> Option<Id128> {
    submit::cookie_device(req)
}

/// Where a submission came from: its device cookie, and its address's digest of the day when
/// the address is known (`CLIENT_IP_HEADER`).
fn sender_of(h: &impl Host, cfg: &Config, req: &Request) -> submit::Sender {
    let address = crate::guard::client_of(cfg, req, h.now());
    submit::Sender {
        cookie: cookie_of(req),
        address,
        selftest: crate::access::is_operator(cfg.admin_token.as_deref(), req),
    }
}

/// A landing page (`GET /<code>`, `GET /l/<token>`): the code's page, or the invalid-code page.
pub async fn landing(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    lane: &fastlane::Settings,
    req: &Request,
    segment: &str,
) -> Answer {
    landing_as(h, cfg, rules, lane, req, lang_of(req), segment, 200, None).await
}

/// The callback deadline the page promises for a code: its authority's (`CASE_DEADLINES`).
pub fn callback_of(lane: &fastlane::Settings, entry: &wire::directory::Entry) -> Span {
    lane.deadlines_for(&entry.region).callback
}

/// What the thank-you says comes next for a stored rating: by when a 差评 is called back (its
/// authority's deadline), and for a good one whether it was passed on (an upstream is set).
pub fn next_of(lane: &fastlane::Settings, cfg: &Config, c: &submit::Checked, lang: Lang) -> String {
    text::next_steps(
        c.rating.level,
        c.rating.phone.is_some(),
        &callback_of(lane, &c.entry).words(lang),
        cfg.forwarding(),
        lang,
    )
}

/// Renders the landing page, or the invalid-code page. `refused` is a plain-form post sent back.
#[allow(clippy::too_many_arguments)]
async fn landing_as(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    lane: &fastlane::Settings,
    req: &Request,
    lang: Lang,
    segment: &str,
    status: u16,
    refused: Option<(&wire::draft::Draft, &ApiError)>,
) -> Answer {
    let tpl = template(h, cfg, "index.html").await?;
    let r = match resolve(h, cfg, &rules.guard, segment).await {
        Ok(r) => r,
        Err(e) if names_the_code(&e) => {
            // The citizen reads one plain answer; the log says which check refused the card
            // (`qr.unknown_key`: not in QR_KEYS; `qr.bad_tag`: another key of that id).
            let mut page = html(page::invalid_code(&tpl.plain, lang, &e), e.status, &tpl);
            page.logged = Some(e.code);
            return Ok(page);
        }
        Err(e) => return Err(e),
    };
    // The edge names the device: the cookie it set before, or a new one set with this page.
    let known = cookie_of(req);
    let device = known.unwrap_or_else(|| Id128(host::random(h)));
    let difficulty = rules.guard.difficulty(cfg.difficulty, r.recent);
    let body = page::landing(
        &tpl.html,
        &Landing {
            lang,
            segment,
            entry: &r.entry,
            challenge: &new_challenge(h, cfg, r.payload.code, &device, difficulty),
            form_challenge: &new_challenge(h, cfg, r.payload.code, &device, 0),
            now: h.now(),
            retention_days: cfg.retention_days,
            callback: callback_of(lane, &r.entry),
            refused,
            project_no: r.link.as_ref().map(|l| l.project_no.as_str()),
        },
    );
    let mut out = html(body, status, &tpl);
    if !tpl.preload.is_empty() {
        out.set("Link", &tpl.preload);
    }
    if known.is_none() {
        let secure = if req.tls { "; Secure" } else { "" };
        out.set(
            "Set-Cookie",
            &format!(
                "{}={}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax{secure}",
                submit::device_cookie_name(req),
                device.to_text()
            ),
        );
    }
    Ok(out)
}

/// `/`: no code in the address; the page says to scan one.
pub async fn home(h: &impl Host, cfg: &Config, req: &Request) -> Answer {
    let tpl = template(h, cfg, "index.html").await?;
    let lang = lang_of(req);
    Ok(html(
        page::message(&tpl.plain, lang, text::SCAN_PROMPT.get(lang), &[], "home"),
        404,
        &tpl,
    ))
}

// ---- a rating ----

/// What `accept` answers: the stored row, the checked submission, and a 差评's status token.
pub type Accepted = (store::Accepted, submit::Checked, Option<String>);

/// Checks a submission and commits it in one transaction of the storage object, which wakes its
/// outbox. The citizen hears "success" only after the commit. A 差评 gets a status token of its
/// own (derived from the submission under the edge's key, so a replay of it gets the same one),
/// whose digest is stored in the same transaction.
async fn accept(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    sub: &Submission,
    via: Via,
    sender: submit::Sender,
) -> Result<Accepted, ApiError> {
    let r = resolve(h, cfg, &rules.guard, &sub.code).await?;
    let c = submit::check(sub, via, r.payload, r.entry, cfg, sender, h.now())?;
    let c = match &r.link {
        Some(link) => links::through_link(c, link),
        None => c,
    };
    let token = c.rating.level.is_bad().then(|| {
        crate::fastlane::receipt::token_for(
            &cfg.challenge_keys.current().secret,
            c.payload.code,
            c.submission,
        )
    });
    commit(h, rules, c, token).await
}

/// Commits a checked rating in one transaction (`store::accept`), which wakes the outbox. A
/// retry of a stored submission (its answer lost) gets the same answer again, and its status
/// `token` is the one stored the first time; a held submission past its code's keep is answered
/// as if stored (`store::unstored`).
pub async fn commit(
    h: &impl Host,
    rules: &Rules,
    c: submit::Checked,
    token: Option<String>,
) -> Result<Accepted, ApiError> {
    let (stmts, upsert) = store::accept(&c, rules, token.as_deref());
    match host::try_run(h, stmts, true).await {
        Ok(results) => {
            let accepted = results
                .into_iter()
                .nth(upsert)
                .and_then(|rows| crate::row::read::<store::Accepted>(rows.get()).ok())
                .and_then(|mut v| v.pop())
                .unwrap_or_else(|| store::unstored(&c));
            Ok((accepted, c, token))
        }
        Err(host::DbError::Sql(msg)) => match store::conflict(&msg) {
            // A retry of a stored submission gets its answer again; anything else is a replay.
            Some(store::Conflict::Replayed) => {
                let again: Vec<store::Accepted> =
                    host::rows(h, store::by_submission(c.submission, c.payload.code)).await?;
                // The token is the submission's own: stored with it the first time.
                match again.into_iter().next() {
                    Some(a) => Ok((a, c, token)),
                    None => Err(error::REPLAYED),
                }
            }
            Some(store::Conflict::IdTaken) => Err(error::REPLAYED),
            Some(store::Conflict::LinkRatedElsewhere) => Err(links::RATED_ELSEWHERE),
            None => Err(host::internal(h, "accept", msg)),
        },
        Err(e) => Err(host::internal(h, "storage", e)),
    }
}

/// `POST /api/rate`: the app's JSON.
pub async fn rate_json(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    lane: &fastlane::Settings,
    req: &Request,
) -> Answer {
    let sub = submit::parse_json(req.header("content-type"), &req.body)?;
    let (a, c, token) = accept(h, cfg, rules, &sub, Via::App, sender_of(h, cfg, req)).await?;
    let next = next_of(lane, cfg, &c, lang_of(req));
    let mut answer = Response::json(200, store::accepted_json(&a, &c, token.as_deref(), &next));
    // The log line names the operator's test rating (and `/metrics` leaves it out).
    answer.logged = c.flag.filter(|f| *f == crate::guard::SELFTEST);
    Ok(answer)
}

/// `POST /rate`: the plain form. A refusal sends the form back as it was filled in, with a
/// fresh challenge and the reason on top; a code's refusal is the invalid-code page.
pub async fn rate_form(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    lane: &fastlane::Settings,
    req: &Request,
) -> Answer {
    let tpl = template(h, cfg, "index.html").await?;
    let lang = lang_of(req);
    let error_page = |e: &ApiError, lang| {
        let msg = page::message(&tpl.plain, lang, e.message(lang), &[], "error");
        html(msg, e.status, &tpl)
    };
    let post = match submit::from_form(req.header("content-type"), &req.body) {
        Ok(p) => p,
        Err(e) => return Ok(error_page(&e, lang)),
    };
    let lang = post.lang.unwrap_or(lang);
    let sender = sender_of(h, cfg, req);
    match accept(h, cfg, rules, &post.submission, Via::Form, sender).await {
        Ok((a, c, token)) => Ok(html(
            page::thanks(
                &tpl.plain,
                lang,
                &next_of(lane, cfg, &c, lang),
                a.assess_number > 1,
                token.as_deref(),
            ),
            200,
            &tpl,
        )),
        Err(e) if names_the_code(&e) => Ok(html(
            page::invalid_code(&tpl.plain, lang, &e),
            e.status,
            &tpl,
        )),
        Err(e) if e.status == 503 => Ok(error_page(&e, lang)),
        Err(e) => {
            let seg = &post.submission.code;
            landing_as(
                h,
                cfg,
                rules,
                lane,
                req,
                lang,
                seg,
                e.status,
                Some((&post.draft, &e)),
            )
            .await
        }
    }
}

// ---- the site's files ----

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

/// A file of the site's build: `/assets/<name>`, `/favicon.ico`, `/robots.txt`. Only plain file
/// names of the known types (self-hosted, the files come from a disk service, which would
/// answer a folder with its listing); content-hashed names (`name-<hash>.ext`) are cached for a
/// year. The adapter serves the file itself, precompressed where the client takes it.
pub fn asset(path: &str) -> Answer {
    let name = path.rsplit('/').next().unwrap_or("");
    let ctype = content_type(name)
        .filter(|_| !name.starts_with('.') && !name.contains('%') && !name.contains('\\'))
        .ok_or(error::NOT_FOUND)?;
    let hashed = name
        .split('.')
        .next()
        .and_then(|stem| stem.rsplit_once('-'))
        .is_some_and(|(_, h)| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    Ok(Response::new(200, Body::Asset(path.to_owned()))
        .with("Content-Type", ctype)
        .with("X-Content-Type-Options", "nosniff")
        .with("Vary", "Accept-Encoding")
        .with(
            "Cache-Control",
            if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=300"
            },
        ))
}
