//! Every route in one table: its methods, its path pattern, who calls it, the action it needs,
//! what its path or body names, its body's limit and its name in the log. [`handle`] matches a
//! request against the table (a matcher that cannot panic: segments compared, never sliced),
//! checks the caller once, here, and only then runs the feature's handler. The settings of every
//! feature are read here too ([`Settings`]), so no feature knows another's.
//!
//! Who the caller is:
//! - `Public`: anyone (pages, files, and what a capability token in the path opens: a tablet, a
//!   status link, a 一事一评 link);
//! - `Citizen`: a rating posted from this site's own page (a browser that says otherwise is
//!   refused);
//! - `Session(action)`: a console session whose role allows the action (a GET without one goes to
//!   the login page); a post also carries the session's CSRF token;
//! - `Bearer(action)`: the operator's `ADMIN_TOKEN` or an automation token whose role allows the
//!   action. A token that may not is answered 404: a machine learns nothing of what it may not do.
//! - `Bridge`: a 12345 work-order system, by its route's own key (`fastlane::bridge::caller`):
//!   no account or token opens it, and it opens nothing else.
//!
//! Out of scope is 404 in one wording everywhere (`access::NOT_FOUND`); a console user whose role
//! does not allow a page is told so (403).

use crate::access::Action;
#[cfg(feature = "office")]
use crate::access::{self, Session};
use crate::config::{Config, ConfigError, Setting};
#[cfg(feature = "office")]
use crate::console::{api, cases, handlers as console};
use crate::error::{self, ApiError};
use crate::host::Host;
#[cfg(feature = "office")]
use crate::http::Form;
use crate::http::{Answer, Method, Request, Response};
use crate::kiosk;
#[cfg(feature = "office")]
use crate::kiosk::handlers as tablets;
use crate::public::{results, status};
use crate::store::Rules;
use crate::{citizen, fastlane, guard, page};
#[cfg(feature = "office")]
use crate::{links, ops};
use wire::submission::MAX_BODY_BYTES;

/// Every feature's settings, read once per isolate.
#[derive(Debug, Clone)]
pub struct Settings {
    pub core: Config,
    pub rules: Rules,
    pub lane: fastlane::Settings,
    pub kiosk: kiosk::Settings,
    pub results: results::Settings,
    pub served: crate::served::Settings,
}

impl Settings {
    /// `get` answers a setting by name (`None` or empty when unset). The first bad one is named.
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let core = Config::from_vars(get)?;
        Ok(Settings {
            rules: Rules::new(guard::settings(get)?),
            lane: fastlane::Settings::from_vars(get, core.public_url.clone())?,
            kiosk: kiosk::Settings::from_vars(get)?,
            results: results::Settings::from_vars(get)?,
            served: crate::served::Settings::from_vars(get, &core)?,
            core,
        })
    }
}

/// Every setting the worker reads, each with its default and what it does.
pub fn settings() -> Vec<Setting> {
    [
        crate::config::SETTINGS,
        guard::SETTINGS,
        kiosk::SETTINGS,
        fastlane::SETTINGS,
        results::SETTINGS,
        crate::served::SETTINGS,
    ]
    .concat()
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Public,
    Citizen,
    /// A console session; `None`: any role (the account's own pages).
    Session(Option<Action>),
    Bearer(Action),
    /// A work-order route's system: the body signed with that route's own key.
    Bridge,
}

/// What a route's path or body names that a scope must cover (or that is itself the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Nothing,
    /// A printed code (`{code}`, or the body's `code`): within the caller's scope.
    Code,
    /// A case (`{id}`): within scope.
    Case,
    /// A held rating (`{id}`): within scope.
    Rating,
    /// An account (the form's `name`): its scope within the caller's.
    Account,
    /// A token (the form's `id`): its scope within the caller's.
    Token,
    /// An alert route (the form's `id`): its place within scope.
    AlertRoute,
    /// A hall tablet (`{id}`, or the form's `id`): its window within scope.
    Tablet,
    /// A 一事一评 link (`{token}`): minted within scope.
    Link,
    /// An upload (the form's `seq`): the caller's own.
    Upload,
    /// The path's token opens what it names by itself: a tablet, a status link, a link's page.
    Capability,
}

/// Which handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Id {
    Asset,
    Home,
    Landing,
    LinkPage,
    LinkPng,
    RateJson,
    RateForm,
    StatusAsk,
    StatusLink,
    Results,
    ResultsJson,
    ResultsCsv,
    KioskPage,
    KioskState,
    KioskArm,
    KioskRate,
    KioskPhoto,
    KioskFeed,
    LinksMint,
    Served,
    Rates,
    Report,
    Analysis,
    LinksRevoke,
    Status,
    Metrics,
    LoginPage,
    Login,
    Logout,
    ConsoleHome,
    PasswordPage,
    Password,
    Ratings,
    Export,
    Review,
    Codes,
    Card,
    RevokeCode,
    Tablets,
    Directory,
    Upload,
    Apply,
    StatusPage,
    Retry,
    Accounts,
    AccountAdd,
    AccountChange,
    Tokens,
    TokenAdd,
    TokenRevoke,
    Audit,
    Cases,
    Ledger,
    Case,
    CasePhone,
    CaseStep,
    Routes,
    RouteAdd,
    RouteDelete,
    Calendar,
    CalendarSave,
    AdminDirectory,
    AdminRevocations,
    AdminExportCsv,
    AdminExportXlsx,
    AdminReview,
    AdminReviewBulk,
    ReviewBulk,
    AdminPrune,
    AdminRetry,
    AdminKioskAdd,
    AdminKioskRevoke,
    AdminTokenAdd,
    AdminAccountAdd,
    AdminRoutes,
    AdminRouteAdd,
    AdminCases,
    CaseEvents,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub methods: &'static [Method],
    /// Segments: literal, `{name}`, or `{name}.ext` (a segment ending in `.ext`).
    pub path: &'static str,
    pub caller: Caller,
    pub names: Names,
    /// The body's limit in bytes (a body past it is refused with 413 before anything is read).
    pub limit: usize,
    /// The route's name in the log and the metrics: never its path, which may hold a code or a
    /// token.
    pub log: &'static str,
    pub id: Id,
}

impl Route {
    /// Whether the citizen's worker answers the route itself: the site's files, the landing
    /// page (a printed code's or a 一事一评 link's), the submission and the receipt. It hands
    /// every other route, as it came, to the office's worker (`glue`).
    pub const fn citizens(&self) -> bool {
        matches!(
            self.id,
            Id::Asset
                | Id::Home
                | Id::Landing
                | Id::LinkPage
                | Id::RateJson
                | Id::RateForm
                | Id::StatusAsk
                | Id::StatusLink
        )
    }
}

const GET: &[Method] = &[Method::Get];
const PAGE: &[Method] = &[Method::Get, Method::Head];
const POST: &[Method] = &[Method::Post];
const FORM: usize = crate::console::handlers::FORM_BYTES;
const UPLOAD: usize = crate::console::handlers::UPLOAD_BYTES;
const PHOTO: usize = 2 * kiosk::PHOTO_MAX;

const fn r(
    methods: &'static [Method],
    path: &'static str,
    caller: Caller,
    names: Names,
    limit: usize,
    log: &'static str,
    id: Id,
) -> Route {
    Route {
        methods,
        path,
        caller,
        names,
        limit,
        log,
        id,
    }
}

use Caller::{Bearer, Citizen, Public, Session as S};
use Names::*;

/// The table. The first route whose path matches is the request's (literal routes come before
/// the landing page's `/{code}`).
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    // The site's files.
    r(GET, "/assets/{file}", Public, Nothing, 0, "asset", Id::Asset),
    r(GET, "/favicon.ico", Public, Nothing, 0, "asset", Id::Asset),
    r(GET, "/robots.txt", Public, Nothing, 0, "asset", Id::Asset),
    // The citizen's.
    r(POST, "/api/rate", Citizen, Nothing, MAX_BODY_BYTES, "rate", Id::RateJson),
    r(POST, "/rate", Citizen, Nothing, MAX_BODY_BYTES, "form", Id::RateForm),
    r(PAGE, "/", Public, Nothing, 0, "other", Id::Home),
    r(GET, "/l/{token}.png", Public, Capability, 0, "link", Id::LinkPng),
    r(PAGE, "/l/{token}", Public, Capability, 0, "link", Id::LinkPage),
    r(GET, "/s", Public, Nothing, 0, "receipt", Id::StatusAsk),
    r(GET, "/s/", Public, Nothing, 0, "receipt", Id::StatusAsk),
    r(GET, "/s/{token}", Public, Capability, 0, "receipt", Id::StatusLink),
    r(POST, "/s/{token}", Citizen, Capability, 1024, "receipt", Id::StatusLink),
    r(GET, "/results", Public, Nothing, 0, "results", Id::Results),
    r(GET, "/results.json", Public, Nothing, 0, "results", Id::ResultsJson),
    r(GET, "/results.csv", Public, Nothing, 0, "results", Id::ResultsCsv),
    // Hall tablets, by their device token.
    r(PAGE, "/kiosk/{token}", Public, Capability, 0, "kiosk", Id::KioskPage),
    r(GET, "/kiosk/{token}/state", Public, Capability, 0, "kiosk", Id::KioskState),
    r(POST, "/kiosk/{token}/arm", Citizen, Capability, 0, "kiosk", Id::KioskArm),
    r(POST, "/kiosk/{token}/rate", Citizen, Capability, MAX_BODY_BYTES, "kiosk_rate", Id::KioskRate),
    r(GET, "/kiosk/{token}/photo", Public, Capability, 0, "kiosk", Id::KioskPhoto),
    // Integrations.
    r(&[Method::Post, Method::Delete], "/api/v1/kiosk/{code}/staff", Bearer(Action::OnDuty), Code, PHOTO, "kiosk_api", Id::KioskFeed),
    r(POST, "/api/v1/links", Bearer(Action::Links), Code, 4096, "links", Id::LinksMint),
    r(POST, "/api/v1/served", Bearer(Action::Links), Code, 4096, "served", Id::Served),
    r(POST, "/api/v1/links/{token}/revoke", Bearer(Action::Links), Link, 0, "links", Id::LinksRevoke),
    r(POST, "/api/v1/cases/{id}/events", Caller::Bridge, Case, 4096, "bridge", Id::CaseEvents),
    // The operator's.
    r(GET, "/status", Public, Nothing, 0, "status", Id::Status),
    r(GET, "/metrics", Bearer(Action::Operate), Nothing, 0, "metrics", Id::Metrics),
    r(POST, "/admin/prune", Bearer(Action::Operate), Nothing, 0, "admin", Id::AdminPrune),
    // The bearer API.
    r(&[Method::Put], "/admin/directory", Bearer(Action::Upload), Code, UPLOAD, "admin", Id::AdminDirectory),
    r(&[Method::Put, Method::Post], "/admin/revocations", Bearer(Action::Revoke), Code, UPLOAD, "admin", Id::AdminRevocations),
    r(GET, "/admin/export.csv", Bearer(Action::Export), Nothing, 0, "admin", Id::AdminExportCsv),
    r(GET, "/admin/export.xlsx", Bearer(Action::Export), Nothing, 0, "admin", Id::AdminExportXlsx),
    r(POST, "/admin/ratings/{id}/{decision}", Bearer(Action::ReviewRatings), Rating, 0, "admin", Id::AdminReview),
    r(POST, "/admin/held/{decision}", Bearer(Action::ReviewRatings), Nothing, 4096, "admin", Id::AdminReviewBulk),
    r(POST, "/admin/retry", Bearer(Action::Retry), Nothing, 0, "admin", Id::AdminRetry),
    r(POST, "/admin/kiosks", Bearer(Action::Kiosks), Code, 4096, "admin", Id::AdminKioskAdd),
    r(POST, "/admin/kiosks/{id}/revoke", Bearer(Action::Kiosks), Tablet, 0, "admin", Id::AdminKioskRevoke),
    r(POST, "/admin/tokens", Bearer(Action::Accounts), Token, FORM, "admin", Id::AdminTokenAdd),
    r(POST, "/admin/accounts", Bearer(Action::Accounts), Account, FORM, "admin", Id::AdminAccountAdd),
    r(GET, "/admin/routes", Bearer(Action::Routes), Nothing, 0, "admin", Id::AdminRoutes),
    r(POST, "/admin/routes", Bearer(Action::Routes), AlertRoute, 16 * 1024, "admin", Id::AdminRouteAdd),
    r(GET, "/admin/cases", Bearer(Action::Cases), Nothing, 0, "admin", Id::AdminCases),
    // The console.
    r(GET, "/console/login", Public, Nothing, 0, "console", Id::LoginPage),
    r(POST, "/console/login", Public, Nothing, FORM, "console", Id::Login),
    r(POST, "/console/logout", S(None), Nothing, FORM, "console", Id::Logout),
    r(GET, "/console", S(None), Nothing, 0, "console", Id::ConsoleHome),
    r(GET, "/console/", S(None), Nothing, 0, "console", Id::ConsoleHome),
    r(GET, "/console/password", S(None), Nothing, 0, "console", Id::PasswordPage),
    r(POST, "/console/password", S(None), Nothing, FORM, "console", Id::Password),
    r(GET, "/console/ratings", S(Some(Action::ReadRatings)), Nothing, 0, "console", Id::Ratings),
    r(POST, "/console/export", S(Some(Action::Export)), Nothing, FORM, "console", Id::Export),
    r(POST, "/console/ratings/{id}/{decision}", S(Some(Action::ReviewRatings)), Rating, FORM, "console", Id::Review),
    r(POST, "/console/held/{decision}", S(Some(Action::ReviewRatings)), Nothing, FORM, "console", Id::ReviewBulk),
    r(GET, "/console/codes", S(Some(Action::ReadCodes)), Nothing, 0, "console", Id::Codes),
    r(GET, "/console/codes/{code}", S(Some(Action::ReadCodes)), Code, 0, "console", Id::Card),
    r(POST, "/console/codes/{code}/revoke", S(Some(Action::Revoke)), Code, FORM, "console", Id::RevokeCode),
    r(POST, "/console/codes/{code}/kiosks", S(Some(Action::Kiosks)), Code, FORM, "console", Id::Tablets),
    r(POST, "/console/codes/{code}/kiosks/revoke", S(Some(Action::Kiosks)), Tablet, FORM, "console", Id::Tablets),
    r(POST, "/console/codes/{code}/duty", S(Some(Action::Kiosks)), Code, PHOTO, "console", Id::Tablets),
    r(GET, "/console/directory", S(Some(Action::Upload)), Nothing, 0, "console", Id::Directory),
    r(POST, "/console/directory", S(Some(Action::Upload)), Code, UPLOAD, "console", Id::Upload),
    r(POST, "/console/directory/apply", S(Some(Action::Upload)), Upload, FORM, "console", Id::Apply),
    r(GET, "/console/status", S(Some(Action::Status)), Nothing, 0, "console", Id::StatusPage),
    r(POST, "/console/status/retry", S(Some(Action::Retry)), Nothing, FORM, "console", Id::Retry),
    r(GET, "/console/accounts", S(Some(Action::Accounts)), Nothing, 0, "console", Id::Accounts),
    r(POST, "/console/accounts", S(Some(Action::Accounts)), Account, FORM, "console", Id::AccountAdd),
    r(POST, "/console/accounts/change", S(Some(Action::Accounts)), Account, FORM, "console", Id::AccountChange),
    r(GET, "/console/tokens", S(Some(Action::Accounts)), Nothing, 0, "console", Id::Tokens),
    r(POST, "/console/tokens", S(Some(Action::Accounts)), Token, FORM, "console", Id::TokenAdd),
    r(POST, "/console/tokens/revoke", S(Some(Action::Accounts)), Token, FORM, "console", Id::TokenRevoke),
    r(GET, "/console/audit", S(Some(Action::Audit)), Nothing, 0, "console", Id::Audit),
    r(GET, "/console/cases", S(Some(Action::Cases)), Nothing, 0, "console", Id::Cases),
    r(GET, "/console/cases/export", S(Some(Action::Cases)), Nothing, 0, "console", Id::Ledger),
    r(GET, "/console/cases/{id}", S(Some(Action::Cases)), Case, 0, "console", Id::Case),
    r(POST, "/console/cases/{id}/phone", S(Some(Action::Cases)), Case, FORM, "console", Id::CasePhone),
    r(POST, "/console/cases/{id}/step", S(Some(Action::Cases)), Case, FORM, "console", Id::CaseStep),
    r(GET, "/console/rates", S(Some(Action::ReadRatings)), Nothing, 0, "console", Id::Rates),
    r(GET, "/console/report", S(Some(Action::Export)), Nothing, 0, "console", Id::Report),
    r(GET, "/console/analysis", S(Some(Action::ReadRatings)), Nothing, 0, "console", Id::Analysis),
    r(GET, "/console/routes", S(Some(Action::Routes)), Nothing, 0, "console", Id::Routes),
    r(POST, "/console/routes", S(Some(Action::Routes)), AlertRoute, FORM, "console", Id::RouteAdd),
    r(POST, "/console/routes/delete", S(Some(Action::Routes)), AlertRoute, FORM, "console", Id::RouteDelete),
    r(GET, "/console/calendar", S(Some(Action::Calendar)), Nothing, 0, "console", Id::Calendar),
    r(POST, "/console/calendar", S(Some(Action::Calendar)), Nothing, FORM, "console", Id::CalendarSave),
    // Last: every other one-segment path is a printed code (or a forged, truncated one: the
    // landing answers those with the invalid-code page).
    r(PAGE, "/{code}", Public, Capability, 0, "landing", Id::Landing),
];

/// The path's parameters, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Whether `path` fits the pattern, and its parameters. Segments are compared whole; a
/// parameter is one non-empty segment.
fn fit(pattern: &'static str, path: &str) -> Option<Params> {
    if refused_at_once(pattern, path) {
        return None;
    }
    fit_segments(pattern, path)
}

/// Whether the pattern's text before its first parameter fails to begin the path: most routes
/// are told apart here, a byte at a time, before any splitting (every request tries the table
/// in order, and the landing page's `/{code}` is its last route).
fn refused_at_once(pattern: &str, path: &str) -> bool {
    let literal = pattern.as_bytes().iter().take_while(|b| **b != b'{');
    let mut n = 0;
    for (w, g) in literal.zip(path.as_bytes()) {
        if w != g {
            return true;
        }
        n += 1;
    }
    // The path ended inside the pattern's literal text.
    pattern.as_bytes()[n..].first().is_some_and(|b| *b != b'{')
}

/// The path against the pattern, segment by segment.
fn fit_segments(pattern: &'static str, path: &str) -> Option<Params> {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    let mut params = Params::default();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) => {
                if let Some(inner) = w.strip_prefix('{') {
                    let (name, ext) = inner.split_once('}')?;
                    let value = g.strip_suffix(ext)?;
                    if value.is_empty() {
                        return None;
                    }
                    params.0.push((name, value.to_owned()));
                } else if w != g {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The route of a request: `Err(404)` when no path matches, `Err(405)` when one does but not for
/// this method.
pub fn find(method: Method, path: &str) -> Result<(&'static Route, Params), u16> {
    let mut path_known = false;
    for r in ROUTES {
        if let Some(p) = fit(r.path, path) {
            if r.methods.contains(&method) {
                return Ok((r, p));
            }
            path_known = true;
        }
    }
    Err(if path_known { 405 } else { 404 })
}

/// How many bytes of body the adapter may read for a request before refusing it (413); `None`
/// when no route takes it (the table answers 404 or 405 without reading any).
pub fn body_limit(method: Method, path: &str) -> Option<usize> {
    find(method, path).ok().map(|(r, _)| r.limit)
}

/// The route's name for the log and the metrics ("other" when none matches).
pub fn log_name(method: Method, path: &str) -> &'static str {
    match find(method, path) {
        Ok((r, _)) => r.log,
        // The path of a method not allowed still names its route.
        Err(_) => ROUTES
            .iter()
            .find(|r| fit(r.path, path).is_some())
            .map_or("other", |r| r.log),
    }
}

/// What the adapter needs of an answer: the response, the error's code (for the log) and the
/// route's name.
pub struct Handled {
    pub response: Response,
    pub error: Option<&'static str>,
    pub route: &'static str,
}

fn json_error(e: &ApiError) -> Response {
    Response::json(e.status, e.to_json())
}

/// Every request: matched, its caller checked, handled, and its common headers set.
pub async fn handle(h: &impl Host, s: &Settings, req: &Request) -> Handled {
    let (mut response, error, route) = match find(req.method, &req.path) {
        Err(status) => {
            let e = if status == 405 {
                error::METHOD
            } else {
                error::NOT_FOUND
            };
            (
                json_error(&e),
                Some(e.code),
                log_name(req.method, &req.path),
            )
        }
        Ok((r, p)) => {
            let (response, error) = match checked(h, s, req, r, &p).await {
                Ok(resp) => {
                    let logged = resp.logged;
                    (resp, logged)
                }
                Err(Refused::Json(e)) => (json_error(&e), Some(e.code)),
                Err(Refused::Page(resp, code)) => (resp, Some(code)),
            };
            (response, error, r.log)
        }
    };
    for (k, v) in page::common_headers(req.host()) {
        response.set(k, v);
    }
    Handled {
        response,
        error,
        route,
    }
}

/// A refusal: JSON, or a page already made (the console's, in words).
enum Refused {
    Json(ApiError),
    #[cfg_attr(not(feature = "office"), allow(dead_code))]
    Page(Response, &'static str),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::Json(e)
    }
}

fn has_body(m: Method) -> bool {
    matches!(m, Method::Post | Method::Put | Method::Delete)
}

/// The caller's check, then the handler.
async fn checked(
    h: &impl Host,
    s: &Settings,
    req: &Request,
    r: &Route,
    p: &Params,
) -> Result<Response, Refused> {
    if has_body(req.method) && req.body.len() > r.limit {
        return Err(error::TOO_LARGE.into());
    }
    if r.caller == Caller::Citizen && !req.same_site() {
        return Err(error::CROSS_SITE.into());
    }
    if r.citizens() {
        return Ok(citizens(h, s, req, r.id, p).await?);
    }
    #[cfg(feature = "office")]
    return office(h, s, req, r, p).await;
    // The citizen's worker hands every other route on before the table: it never runs them.
    #[cfg(not(feature = "office"))]
    Err(error::NOT_FOUND.into())
}

/// Every route but the citizen's: the caller's check, then the handler.
#[cfg(feature = "office")]
async fn office(
    h: &impl Host,
    s: &Settings,
    req: &Request,
    r: &Route,
    p: &Params,
) -> Result<Response, Refused> {
    let cfg = &s.core;
    match r.caller {
        Caller::Public | Caller::Citizen => Ok(public(h, s, req, r.id, p).await?),
        Caller::Bearer(action) => {
            let client = guard::client_of(cfg, req, h.now());
            let me = access::bearer(h, cfg.admin_token.as_deref(), client.as_deref(), req).await?;
            if !me.may(action) {
                return Err(access::NOT_FOUND.into());
            }
            Ok(bearer(h, s, req, r.id, p, &me).await?)
        }
        Caller::Bridge => {
            let b = fastlane::bridge::caller(h, &cfg.challenge_keys, req).await?;
            Ok(fastlane::bridge::event(h, &b, req, p.get("id")).await?)
        }
        Caller::Session(action) => {
            let Some(session) = access::session(h, req).await? else {
                return Ok(if req.method == Method::Get {
                    Response::redirect("/console/login")
                } else {
                    console::page(
                        crate::console::pages::login(
                            "",
                            &crate::console::pages::Flash::Err("请先登录。".into()),
                        ),
                        403,
                    )
                });
            };
            let own = matches!(r.id, Id::PasswordPage | Id::Password | Id::Logout);
            if session.must_change && !own {
                return if req.method == Method::Get {
                    Ok(Response::redirect("/console/password"))
                } else {
                    Err(page_refusal(&session, access::FORBIDDEN))
                };
            }
            if action.is_some_and(|a| !session.me.may(a)) {
                return Err(page_refusal(&session, access::FORBIDDEN));
            }
            let form = if req.method == Method::Post {
                let f = Form::of(req).map_err(|e| page_refusal(&session, e))?;
                if !access::csrf_ok(
                    &session.csrf,
                    Some(&f.get("csrf")),
                    req.header("origin"),
                    req.header("sec-fetch-site"),
                    req.host(),
                ) {
                    return Err(page_refusal(
                        &session,
                        console::refused(
                            403,
                            "console.csrf",
                            "请求来源无法确认，请刷新页面后重试。",
                            "CSRF check failed".into(),
                        ),
                    ));
                }
                f
            } else {
                Form::default()
            };
            in_session(h, s, req, r.id, p, &session, &form)
                .await
                .map_err(|e| page_refusal(&session, e))
        }
    }
}

#[cfg(feature = "office")]
fn page_refusal(s: &Session, e: ApiError) -> Refused {
    Refused::Page(console::refusal_page(s, &e), e.code)
}

/// The citizen's routes (`Route::citizens`), in both workers.
async fn citizens(h: &impl Host, s: &Settings, req: &Request, id: Id, p: &Params) -> Answer {
    let (cfg, rules) = (&s.core, &s.rules);
    match id {
        Id::Asset => citizen::asset(&req.path),
        Id::Home => citizen::home(h, cfg, req).await,
        Id::Landing => citizen::landing(h, cfg, rules, &s.lane, req, p.get("code")).await,
        Id::LinkPage => {
            citizen::landing(
                h,
                cfg,
                rules,
                &s.lane,
                req,
                &format!("l/{}", p.get("token")),
            )
            .await
        }
        Id::RateJson => citizen::rate_json(h, cfg, rules, &s.lane, req).await,
        Id::RateForm => citizen::rate_form(h, cfg, rules, &s.lane, req).await,
        Id::StatusAsk => status::ask_page(req),
        Id::StatusLink => {
            let client = guard::client_of(cfg, req, h.now());
            let client = client.as_deref().unwrap_or("");
            status::page(h, cfg.retention_days, req, p.get("token"), client).await
        }
        _ => Err(error::NOT_FOUND),
    }
}

/// The office's public routes.
#[cfg(feature = "office")]
async fn public(h: &impl Host, s: &Settings, req: &Request, id: Id, p: &Params) -> Answer {
    let (cfg, rules) = (&s.core, &s.rules);
    match id {
        Id::LinkPng => links::api::png(h, cfg, req, p.get("token")).await,
        Id::Results => results::answer(h, &s.results, req, results::Form::Page).await,
        Id::ResultsJson => results::answer(h, &s.results, req, results::Form::Json).await,
        Id::ResultsCsv => results::answer(h, &s.results, req, results::Form::Csv).await,
        Id::KioskPage => tablets::page(h, cfg, rules, &s.lane, req, p.get("token")).await,
        Id::KioskState => tablets::state(h, cfg, rules, &s.kiosk, p.get("token")).await,
        Id::KioskArm => tablets::arm(h, cfg, rules, &s.kiosk, p.get("token")).await,
        Id::KioskRate => tablets::rate(h, cfg, rules, &s.lane, req, p.get("token")).await,
        Id::KioskPhoto => tablets::photo(h, cfg, rules, p.get("token")).await,
        Id::Status => ops::status(h, cfg, req).await,
        Id::LoginPage => console::login_page(),
        Id::Login => console::login(h, cfg, req).await,
        _ => Err(error::NOT_FOUND),
    }
}

#[cfg(feature = "office")]
async fn bearer(
    h: &impl Host,
    s: &Settings,
    req: &Request,
    id: Id,
    p: &Params,
    me: &access::Actor,
) -> Answer {
    let cfg = &s.core;
    match id {
        Id::KioskFeed => tablets::feed(h, me, req, p.get("code")).await,
        Id::LinksMint => {
            links::api::mint(h, cfg, &s.rules, (&s.served, s.lane.hours), me, req).await
        }
        Id::Served => links::api::served(h, cfg, &s.rules, me, req).await,
        Id::LinksRevoke => links::api::revoke(h, cfg, me, req, p.get("token")).await,
        Id::Metrics => ops::prometheus(h, cfg, req).await,
        Id::AdminPrune => ops::prune(h, cfg, s.rules.guard.held_days).await,
        Id::AdminDirectory => api::directory(h, cfg, me, req).await,
        Id::AdminRevocations => api::revocations(h, cfg, me, req).await,
        Id::AdminExportCsv => api::export(h, me, req, false).await,
        Id::AdminExportXlsx => api::export(h, me, req, true).await,
        Id::AdminReview => match p.get("decision") {
            "release" => api::review(h, me, p.get("id"), true).await,
            "reject" => api::review(h, me, p.get("id"), false).await,
            _ => Err(error::NOT_FOUND),
        },
        Id::AdminReviewBulk => match p.get("decision") {
            "release" => api::review_bulk(h, me, req, true).await,
            "reject" => api::review_bulk(h, me, req, false).await,
            _ => Err(error::NOT_FOUND),
        },
        Id::AdminRetry => api::retry(h, me).await,
        Id::AdminKioskAdd => api::kiosk_add(h, cfg, me, req).await,
        Id::AdminKioskRevoke => api::kiosk_revoke(h, me, p.get("id")).await,
        Id::AdminTokenAdd => api::token_add(h, me, req).await,
        Id::AdminAccountAdd => api::account_add(h, me, req).await,
        Id::AdminRoutes => cases::api_routes(h, me).await,
        Id::AdminRouteAdd => {
            cases::api_route_add(h, (&s.lane, s.core.challenge_keys.current()), me, req).await
        }
        Id::AdminCases => cases::api_cases(h, me).await,
        _ => Err(error::NOT_FOUND),
    }
}

#[cfg(feature = "office")]
async fn in_session(
    h: &impl Host,
    s: &Settings,
    req: &Request,
    id: Id,
    p: &Params,
    session: &Session,
    f: &Form,
) -> Answer {
    let cfg = &s.core;
    let flash = console::flash_of(req);
    match id {
        Id::Logout => console::logout(h, req, session).await,
        Id::ConsoleHome => console::home(session),
        Id::PasswordPage => console::password_page(req, session),
        Id::Password => console::password_change(h, session, f).await,
        Id::Ratings => console::ratings_page(h, req, session).await,
        Id::Export => console::export_post(h, session, f).await,
        Id::Review => match p.get("decision") {
            "release" => console::review_post(h, session, p.get("id"), true).await,
            "reject" => console::review_post(h, session, p.get("id"), false).await,
            "praise" => console::praise_post(h, session, p.get("id"), true).await,
            "unpraise" => console::praise_post(h, session, p.get("id"), false).await,
            _ => Err(error::NOT_FOUND),
        },
        Id::ReviewBulk => match p.get("decision") {
            "release" => console::review_bulk_post(h, session, f, true).await,
            "reject" => console::review_bulk_post(h, session, f, false).await,
            _ => Err(error::NOT_FOUND),
        },
        Id::Codes => console::codes_page(h, req, session).await,
        Id::Card => console::card_page(h, cfg, req, session, p.get("code"), &flash).await,
        Id::RevokeCode => console::revoke_code(h, cfg, session, p.get("code"), f).await,
        Id::Tablets => {
            let what = req
                .path
                .rsplit_once(&format!("/{}/", p.get("code")))
                .map_or("", |(_, w)| w);
            console::tablets_post(h, cfg, req, session, p.get("code"), what, f).await
        }
        Id::Directory => console::directory_page(h, cfg, req, session).await,
        Id::Upload => console::upload(h, cfg, session, f).await,
        Id::Apply => console::apply(h, session, f).await,
        Id::StatusPage => console::status_page(h, req, session).await,
        Id::Retry => console::retry_post(h, session).await,
        Id::Accounts => console::accounts_page(h, session, &flash).await,
        Id::AccountAdd => console::grant(h, session, f, true).await,
        Id::AccountChange => console::account_change(h, session, f).await,
        Id::Tokens => console::tokens_page(h, session, &flash).await,
        Id::TokenAdd => console::grant(h, session, f, false).await,
        Id::TokenRevoke => console::token_revoke(h, session, f).await,
        Id::Audit => console::audit_page(h, req, session).await,
        Id::Cases => cases::cases_page(h, req, session).await,
        Id::Ledger => cases::ledger(h, req, session).await,
        Id::Case => cases::case(h, req, session, p.get("id")).await,
        Id::CasePhone => cases::phone(h, session, p.get("id")).await,
        Id::CaseStep => cases::step(h, &s.lane, session, p.get("id"), f).await,
        Id::Routes => cases::routes_page(h, req, session).await,
        Id::Rates => console::rates_page(h, req, session).await,
        Id::Report => crate::report::xlsx(h, &session.me, req).await,
        Id::Analysis => crate::console::analysis::answer(h, req, &session.me, &session.csrf).await,
        Id::RouteAdd => {
            cases::route_add(h, (&s.lane, s.core.challenge_keys.current()), session, f).await
        }
        Id::RouteDelete => cases::route_delete(h, session, f).await,
        Id::Calendar => cases::calendar_page(h, req, session).await,
        Id::CalendarSave => cases::calendar_save(h, session, f).await,
        _ => Err(error::NOT_FOUND),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The citizen's worker is built without the office's code: it answers only what anyone may
    /// ask, and hands the operator's, the console's and every token's routes on.
    #[test]
    fn the_citizens_worker_answers_only_the_citizens_routes() {
        let mine: Vec<(&str, &str)> = ROUTES
            .iter()
            .filter(|r| r.citizens())
            .map(|r| (r.path, r.log))
            .collect();
        assert_eq!(
            mine,
            [
                ("/assets/{file}", "asset"),
                ("/favicon.ico", "asset"),
                ("/robots.txt", "asset"),
                ("/api/rate", "rate"),
                ("/rate", "form"),
                ("/", "other"),
                ("/l/{token}", "link"),
                ("/s", "receipt"),
                ("/s/", "receipt"),
                ("/s/{token}", "receipt"),
                ("/s/{token}", "receipt"),
                ("/{code}", "landing"),
            ]
        );
        for r in ROUTES.iter().filter(|r| r.citizens()) {
            assert!(
                matches!(r.caller, Caller::Public | Caller::Citizen),
                "{}",
                r.path
            );
        }
        for (method, path) in [
            (Method::Get, "/status"),
            (Method::Get, "/metrics"),
            (Method::Get, "/l/abc.png"),
            (Method::Get, "/console/login"),
            (Method::Get, "/results"),
            (Method::Post, "/kiosk/abc/rate"),
            (Method::Put, "/admin/directory"),
        ] {
            assert!(!find(method, path).unwrap().0.citizens(), "{path}");
        }
    }

    #[test]
    fn the_quick_refusal_changes_no_match() {
        let mut paths: Vec<String> = vec![
            String::new(),
            "/".into(),
            "//".into(),
            "/{code}".into(),
            "/AEAACUJ2FBHLF376".into(),
            "/api".into(),
            "/console/".into(),
            "/中文".into(),
        ];
        for r in ROUTES {
            // Each route's path with its parameters filled, then cut short, made longer, and
            // changed at each byte.
            let filled = r
                .path
                .split('/')
                .map(|s| match s.strip_prefix('{') {
                    Some(inner) => format!("x{}", inner.split_once('}').map_or("", |(_, e)| e)),
                    None => s.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("/");
            for n in 0..=filled.len() {
                paths.push(filled[..n].to_owned());
                let mut b = filled.clone().into_bytes();
                if n < b.len() {
                    b[n] = if b[n] == b'z' { b'y' } else { b'z' };
                    paths.push(String::from_utf8(b).unwrap());
                }
            }
            paths.push(format!("{filled}/"));
            paths.push(format!("{filled}x"));
            paths.push(format!("{filled}/x"));
            paths.push(r.path.to_owned());
        }
        let mut matched = 0;
        for r in ROUTES {
            for p in &paths {
                let got = fit(r.path, p);
                assert_eq!(got, fit_segments(r.path, p), "{} against {p:?}", r.path);
                matched += usize::from(got.is_some());
            }
        }
        assert!(
            matched >= ROUTES.len(),
            "each route matches its own path: {matched}"
        );
    }
}
