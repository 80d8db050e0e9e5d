//! The console's pages and forms: login and the account's own password, then ratings (and the
//! 疑似刷评 queue), codes and a code's card (its revocation, its hall tablets and the staff on
//! duty), directory uploads, forwarding status, accounts, tokens and the audit log. The route
//! table has checked the session, the role and (for a post) the CSRF token before any of these
//! runs; each reads and writes only within the actor's scope, and every write carries its audit
//! record in the same transaction. The 差评 ledger's pages are `cases`.

use super::diff;
use super::pages::{self, Flash};
use super::sql::{self, Filter};
use crate::access::{self, Action, Actor, Role, Scope, Session};
use crate::config::Config;
use crate::error::{self, ApiError};
use crate::host::{self, DbError, Host};
use crate::http::{self, Answer, Form, Request, Response};
use crate::sql::Stmt;
use crate::store::{self, RatingRow};
use wire::directory::{Directory, Entry};
use wire::qr::Revocations;
use wire::rating::Level;
use wire::time::Day;

/// Uploads are files of thousands of codes: a larger limit than a rating's.
pub const UPLOAD_BYTES: usize = 16 * 1024 * 1024;
/// A form's fields (a staff member's photo has its own limit, `kiosk::PHOTO_MAX`).
pub const FORM_BYTES: usize = 64 * 1024;
/// A page of ratings; the export has no page, but a range of at most a year.
const PER_PAGE: i64 = 50;
const MAX_EXPORT_DAYS: i32 = 366;
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// ---- answers ----

/// A console page: its CSP, never framed, never cached.
pub fn page(html: String, status: u16) -> Response {
    Response::html(status, html)
        .with("Content-Security-Policy", &pages::csp())
        .with("X-Frame-Options", "DENY")
        .with("Referrer-Policy", "same-origin")
        .with("Cache-Control", "no-store")
}

/// Back to `path` with a message on top.
pub fn done(path: &str, message: &str) -> Response {
    let m = percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC);
    let join = if path.contains('?') { '&' } else { '?' };
    Response::redirect(&format!("{path}{join}done={m}"))
}

/// The message a page's address carries after a write (`?done=`).
pub fn flash_of(req: &Request) -> Flash {
    match req.param("done") {
        d if d.is_empty() => Flash::None,
        d => Flash::Ok(d),
    }
}

pub fn refused(status: u16, code: &'static str, zh: &'static str, detail: String) -> ApiError {
    ApiError {
        detail: Some(detail),
        ..ApiError::new(status, code, zh, "Refused.")
    }
}

pub fn form_error(d: String) -> ApiError {
    refused(400, "console.input", "填写的内容有误，没有任何改动。", d)
}

pub fn upload_error(d: String) -> ApiError {
    refused(400, "admin.upload", "上传的文件未被接受，没有任何改动。", d)
}

/// A write's batch. The isolate's directory lookups are forgotten (a revocation or upload takes
/// effect at once here); a name taken or a preview applied twice is said in words.
pub async fn write(h: &impl Host, stmts: Vec<Stmt>) -> Result<Vec<host::Rows>, ApiError> {
    write_waking(h, stmts, false).await
}

/// [`write`], and with `wake` the storage object's alarm is due at once (it has something to
/// send: a case's result upstream).
pub async fn write_waking(
    h: &impl Host,
    stmts: Vec<Stmt>,
    wake: bool,
) -> Result<Vec<host::Rows>, ApiError> {
    let r = host::try_run(h, stmts, wake).await;
    crate::directory::forget_lookups(h);
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
        Err(e) => Err(host::internal(h, "storage", e)),
    }
}

/// A date range: both ends real days, `to` not before `from`, and (for exports) at most a year.
/// Unset ends: the last 30 days for exports, everything for reading.
pub fn range(now: i64, from: &str, to: &str, export: bool) -> Result<(i64, i64), ApiError> {
    let day = |s: &str, which: &str| -> Result<Option<Day>, ApiError> {
        if s.is_empty() {
            return Ok(None);
        }
        Day::parse(s)
            .map(Some)
            .ok_or_else(|| form_error(format!("{which}“{s}”不是存在的日期（格式 2026-11-27）")))
    };
    let today = Day::from_unix(now).unwrap_or(Day(0));
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

fn q<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

/// The ratings filter of a query or a form: the range, the hall, unit, staff member, level and
/// which ratings (counted, held, rejected).
pub fn filter_of(
    now: i64,
    p: &[(String, String)],
    export: bool,
) -> Result<(Filter, String, String), ApiError> {
    let (from, to) = (q(p, "from").to_owned(), q(p, "to").to_owned());
    let (a, b) = range(now, &from, &to, export)?;
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

/// A one-sheet workbook, its parts deflated by the runtime.
pub async fn workbook(h: &impl Host, sheet_name: &str, sheet: String) -> Result<Vec<u8>, ApiError> {
    let mut members = vec![];
    for (name, raw) in wire::xlsx::parts(sheet_name, sheet) {
        let packed = h
            .deflate_raw(&raw)
            .await
            .map_err(|e| host::internal(h, "deflate", e))?;
        members.push(wire::xlsx::Member::deflated(name, &raw, packed));
    }
    Ok(wire::xlsx::zip(&members))
}

/// Rows a page of an export reads from storage.
pub const EXPORT_PAGE_ROWS: i64 = 1000;
/// An .xlsx is built whole: at most this many rows (a CSV streams any number).
pub const XLSX_MAX_ROWS: i64 = 50_000;

/// The ratings export as pages: each the next [`EXPORT_PAGE_ROWS`] by time and id (a range of
/// the time index, however far in), as lines of CSV.
struct ExportPages {
    me: Actor,
    filter: Filter,
    full_phones: bool,
}

/// The next page's cursor after `rows`: the last one's time and id, if the page was full.
fn export_cursor(rows: &[RatingRow]) -> Option<Vec<crate::sql::Val>> {
    (rows.len() as i64 == EXPORT_PAGE_ROWS)
        .then(|| {
            rows.last()
                .map(|r| vec![r.rated_at.into(), r.id.clone().into()])
        })
        .flatten()
}

fn export_after(cursor: Option<&[crate::sql::Val]>) -> Option<(i64, &str)> {
    match cursor {
        Some([crate::sql::Val::Int(at), crate::sql::Val::Text(id)]) => Some((*at, id.as_str())),
        _ => None,
    }
}

impl http::Pages for ExportPages {
    fn query(&self, cursor: Option<&[crate::sql::Val]>) -> crate::sql::Stmt {
        sql::export_page(
            &self.me,
            &self.filter,
            export_after(cursor),
            EXPORT_PAGE_ROWS,
        )
    }

    fn page(
        &mut self,
        rows: &str,
        first: bool,
    ) -> Result<(Vec<u8>, Option<Vec<crate::sql::Val>>), String> {
        let rows: Vec<RatingRow> = crate::row::read(rows)?;
        let mut out = String::new();
        if first {
            out.push_str(&store::export_csv_head());
        }
        store::export_csv_lines(&mut out, &rows, self.full_phones)?;
        Ok((out.into_bytes(), export_cursor(&rows)))
    }
}

/// The ratings export (CSV, or .xlsx), audited in the same breath: the console's form and the
/// API's `GET /admin/export.*` alike. A CSV streams from storage a page at a time, whatever its
/// size; an .xlsx is built whole, up to [`XLSX_MAX_ROWS`].
pub async fn export(
    h: &impl Host,
    me: &Actor,
    f: &Filter,
    full_phones: bool,
    xlsx: bool,
    range: &str,
) -> Result<http::Body, ApiError> {
    struct Count {
        n: i64,
    }
    crate::row!(Count { n });
    let n: Vec<Count> = host::rows(h, sql::count(me, f)).await?;
    let n = n.first().map_or(0, |c| c.n);
    if xlsx && n > XLSX_MAX_ROWS {
        return Err(form_error(format!(
            "筛选结果 {n} 条，Excel 文件最多 {XLSX_MAX_ROWS} 条：请导出 CSV，或缩小范围"
        )));
    }
    let action = if full_phones {
        "export.unmasked"
    } else {
        "export"
    };
    let detail = format!(
        "{n} 条，{}，{range}{}",
        if xlsx { "xlsx" } else { "csv" },
        if f.hall.is_empty() {
            String::new()
        } else {
            format!("，{}", f.hall)
        }
    );
    host::run(
        h,
        vec![access::audit(me, action, "ratings", &detail, h.now())],
        false,
    )
    .await?;
    if !xlsx {
        return Ok(http::Body::Paged(http::Paged::new(ExportPages {
            me: me.clone(),
            filter: f.clone(),
            full_phones,
        })));
    }
    // A worksheet, whole: its rows by the same pages (at most XLSX_MAX_ROWS).
    let mut rows: Vec<RatingRow> = vec![];
    let mut cursor = None;
    loop {
        let page: Vec<RatingRow> = host::rows(
            h,
            sql::export_page(me, f, export_after(cursor.as_deref()), EXPORT_PAGE_ROWS),
        )
        .await?;
        cursor = export_cursor(&page);
        rows.extend(page);
        if cursor.is_none() {
            break;
        }
    }
    let sheet =
        store::export_sheet(&rows, full_phones).map_err(|e| host::internal(h, "export", e))?;
    drop(rows);
    Ok(http::Body::Bytes(workbook(h, "评价", sheet).await?))
}

// ---- login and the account's own password ----

pub fn login_page() -> Answer {
    Ok(page(pages::login("", &Flash::None), 200))
}

/// The client, for the lockout rule: the address the trusted proxy names (`CLIENT_IP_HEADER`)
/// as its keyed digest (`guard::login_client`: no raw address is stored or audited), "local"
/// without one.
fn client_of(cfg: &Config, req: &Request) -> String {
    http::client_address(req, cfg.client_ip_header.as_deref()).map_or_else(
        || "local".into(),
        |a| crate::guard::login_client(&cfg.challenge_keys.current().secret, &a),
    )
}

/// `POST /console/login`. What an anonymous script can make it cost: a name that could be no
/// account is refused before anything is read or written; a password is hashed only within the
/// global and per-client budgets (past them: 429 at once); failures lock the account for their
/// client first, and an account-wide lock never for a client it has logged in from; refusals
/// are audited as one counted entry per client and quarter of an hour.
pub async fn login(h: &impl Host, cfg: &Config, req: &Request) -> Answer {
    let f = Form::of(req)?;
    let (name, pw) = (f.get("name"), f.raw("password").to_owned());
    let refuse = |name: &str, why: &str, status| {
        Ok(page(pages::login(name, &Flash::Err(why.into())), status))
    };
    // A login form from another site is refused like any other write.
    if !req.same_site() {
        return refuse(&name, "请求来源无法确认。", 403);
    }
    if let Err(why) = access::name_ok(&name) {
        return refuse("", &format!("{why}。"), 400);
    }
    if pw.is_empty() || pw.len() > 1024 {
        return refuse(&name, "请输入密码（最多 200 个字符）。", 400);
    }
    let client = client_of(cfg, req);
    let t = h.now();
    let budget = access::HashBudget {
        per_sec: cfg.login_hashes_per_sec,
        per_client: cfg.login_hashes_per_client,
    };
    // One round trip: a hash from the budget (none for a locked login), the account, its
    // failures and whether it knows this client.
    let mut stmts = access::spend_hash(&name, &client, t, budget);
    stmts.extend([
        access::account(&name),
        access::failures(&name, &client, t - access::WINDOW_SECS),
        access::known_client(&name, &client, t),
    ]);
    let mut res = host::run(h, stmts, false).await?;
    let known = host::count(res.pop().as_ref()) > 0;
    let fails: Vec<access::Failures> = host::typed(h, res.pop())?;
    let acc: Vec<access::AccountRow> = host::typed(h, res.pop())?;
    let acc = acc.into_iter().next();
    let granted = host::count(res.pop().as_ref()) > 0;
    let client_fails = fails.first().map_or(0, |f| f.client);
    let actor = acc.as_ref().and_then(access::AccountRow::actor);
    let who = actor.clone().unwrap_or(Actor {
        name: name.clone(),
        role: Role::Handler,
        scope: Scope::Places(vec![]),
    });
    let is_account = acc.is_some();
    let refused = |why| access::refused(h, &who, is_account, &client, why);
    let locked_msg = format!(
        "该账户在本机已暂时锁定（连续输错密码），请 {} 分钟后再试，或请市级管理员解锁。",
        access::WINDOW_SECS / 60
    );
    let locked_until = acc.as_ref().map_or(0, |a| a.locked_until);
    if !access::login_allowed(client_fails, locked_until, known, t) {
        host::run(h, refused(access::Refusal::Locked), false).await?;
        return refuse(&name, &locked_msg, 429);
    }
    if !granted {
        host::run(h, refused(access::Refusal::Budget), false).await?;
        return Ok(page(
            pages::login(&name, &Flash::Err("登录尝试过多，请一分钟后再试。".into())),
            429,
        )
        .with("Retry-After", "60"));
    }
    let ok = access::verify_password(h, acc.as_ref().map(|a| a.password.as_str()), &pw).await?;
    match (ok, acc, actor) {
        (true, Some(a), Some(actor)) if a.disabled == 0 => {
            let sid = access::url_safe(&host::random::<32>(h));
            let csrf = access::url_safe(&host::random::<32>(h));
            let mut stmts = access::open_session(&access::digest(&sid), &a.name, &csrf, &client, t);
            stmts.push(access::audit(
                &actor,
                "login",
                &a.name,
                &format!("client {client}"),
                t,
            ));
            host::run(h, stmts, false).await?;
            let to = if a.must_change != 0 {
                "/console/password"
            } else {
                "/console/ratings"
            };
            Ok(Response::redirect(to).with(
                "Set-Cookie",
                &access::session_cookie(&sid, req, access::SESSION_MAX_SECS),
            ))
        }
        (true, Some(_), _) => refuse(&name, "该账户已停用，请联系市级管理员。", 403),
        (_, None, _) => {
            // A name that is no account: counted with the others from this client, no row each.
            host::run(h, refused(access::Refusal::Unknown), false).await?;
            refuse(&name, "账户名或密码不正确。", 401)
        }
        _ => {
            let mut stmts = access::record_failure(&name, &client, t);
            stmts.push(access::audit(
                &who,
                "login.failed",
                &name,
                &format!("client {client}"),
                t,
            ));
            let mut res = host::run(h, stmts, false).await?;
            res.pop();
            let locked_now = host::count(res.pop().as_ref()) > 0;
            if locked_now || client_fails + 1 >= access::CLIENT_FAILURES {
                let detail = if locked_now {
                    format!(
                        "account locked for {} minutes but for the clients it knows",
                        access::LOCK_SECS / 60
                    )
                } else {
                    "account locked for this client".to_owned()
                };
                host::run(
                    h,
                    vec![access::audit(
                        &who,
                        "login.locked",
                        &name,
                        &format!("{detail}; client {client}"),
                        t,
                    )],
                    false,
                )
                .await?;
                if client_fails + 1 >= access::CLIENT_FAILURES || !known {
                    return refuse(&name, &locked_msg, 429);
                }
            }
            refuse(&name, "账户名或密码不正确。", 401)
        }
    }
}

/// `POST /console/logout`.
pub async fn logout(h: &impl Host, req: &Request, s: &Session) -> Answer {
    host::run(h, vec![access::close_session(&s.id)], false).await?;
    Ok(
        Response::redirect("/console/login")
            .with("Set-Cookie", &access::session_cookie("", req, 0)),
    )
}

/// `/console`: a role's first page.
pub fn home(s: &Session) -> Answer {
    Ok(Response::redirect(if s.me.role == Role::Handler {
        "/console/cases"
    } else {
        "/console/ratings"
    }))
}

/// `GET /console/password`.
pub fn password_page(req: &Request, s: &Session) -> Answer {
    Ok(page(
        pages::password(&s.me, &s.csrf, &flash_of(req), s.must_change),
        200,
    ))
}

/// `POST /console/password`: the current password, then a new one twice. Other sessions of the
/// account end; this one goes on.
pub async fn password_change(h: &impl Host, s: &Session, f: &Form) -> Answer {
    let me = &s.me;
    let refuse = |m: String| -> Answer {
        Ok(page(
            pages::password(me, &s.csrf, &Flash::Err(m), s.must_change),
            400,
        ))
    };
    let rows: Vec<access::AccountRow> = host::rows(h, access::account(&me.name)).await?;
    let stored = rows.first().map(|a| a.password.as_str());
    if !access::verify_password(h, stored, f.raw("current")).await? {
        return refuse("当前密码不正确".into());
    }
    let pw = f.raw("password");
    if pw != f.raw("again") {
        return refuse("两次输入的新密码不一致".into());
    }
    if let Err(e) = access::password_ok(pw, &me.name) {
        return refuse(e);
    }
    let hash = access::hash_password(h, pw).await?;
    let t = h.now();
    let mut stmts = access::set_own_password(&me.name, &hash, &s.id);
    stmts.push(access::audit(
        me,
        "account.password",
        &me.name,
        "own password",
        t,
    ));
    write(h, stmts).await?;
    Ok(done("/console/ratings", "密码已修改"))
}

// ---- pages ----

/// `GET /console/ratings`: a page of ratings (or of the 疑似刷评 queue) within scope.
pub async fn ratings_page(h: &impl Host, req: &Request, s: &Session) -> Answer {
    let me = &s.me;
    let pairs = req.query_pairs();
    let (filter, from, to) = filter_of(h.now(), &pairs, false)?;
    let pg: i64 = q(&pairs, "page").parse().unwrap_or(0).clamp(0, 1_000_000);
    let mut res = host::run(
        h,
        vec![
            sql::halls(&me.scope),
            sql::count(me, &filter),
            sql::ratings(me, &filter, PER_PAGE, pg * PER_PAGE),
            sql::held_overflow(&me.scope, &filter),
            sql::praised(&me.scope),
        ],
        false,
    )
    .await?;
    struct Count {
        n: i64,
    }
    crate::row!(Count { n });
    let praised: Vec<sql::Name> = host::typed(h, res.pop())?;
    let overflow: Vec<Count> = host::typed(h, res.pop())?;
    let rows: Vec<RatingRow> = host::typed(h, res.pop())?;
    let n: Vec<Count> = host::typed(h, res.pop())?;
    let halls: Vec<sql::Name> = host::typed(h, res.pop())?;
    let views = rows
        .iter()
        .filter_map(|r| view(r).ok())
        .map(|v| pages::RatingView {
            praised: praised.iter().any(|p| p.name == v.id),
            ..v
        })
        .collect::<Vec<_>>();
    let halls: Vec<String> = halls.into_iter().map(|h| h.name).collect();
    let ff = pages::FilterForm {
        filter: &filter,
        from: &from,
        to: &to,
    };
    Ok(page(
        pages::ratings(
            me,
            &s.csrf,
            &flash_of(req),
            &ff,
            &halls,
            &views,
            n.first().map_or(0, |c| c.n),
            pg,
            PER_PAGE,
            overflow.first().map_or(0, |c| c.n),
        ),
        200,
    ))
}

fn view(r: &RatingRow) -> Result<pages::RatingView, String> {
    let (rating, e) = r.to_rating()?;
    let v = rating.rating;
    Ok(pages::RatingView {
        id: r.id.clone(),
        code: r.code.clone(),
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
        forwarded: r.forwarded != 0,
        by_default: r.via == crate::served::DEFAULT_VIA,
        praised: false,
    })
}

/// `POST /console/ratings/<id>/praise` (or `unpraise`): a 非常满意 comment shown on, or taken
/// off, its hall's public results page (audited).
pub async fn praise_post(h: &impl Host, s: &Session, id: &str, publish: bool) -> Answer {
    let me = &s.me;
    let t = h.now();
    // What may be done, read first, so that the audit records only what was done.
    let found: Vec<sql::Name> = host::rows(h, sql::praisable(id, &me.scope, publish)).await?;
    if found.is_empty() {
        return Err(form_error(if publish {
            "只有本范围内、带文字的“非常满意”评价可以公开".into()
        } else {
            "这条表扬没有公开".into()
        }));
    }
    let (stmt, action, what) = if publish {
        (
            sql::praise(id, &me.scope, &me.name, t),
            "rating.praise",
            "公开表扬",
        )
    } else {
        (sql::unpraise(id, &me.scope), "rating.unpraise", "撤下表扬")
    };
    write(h, vec![stmt, access::audit(me, action, id, what, t)]).await?;
    Ok(done(
        "/console/ratings?level=very_satisfied",
        if publish {
            "已公开：这条表扬将显示在大厅的公开结果页（不含姓名和时间）"
        } else {
            "已撤下：这条表扬不再公开"
        },
    ))
}

/// `GET /console/codes`: codes in scope, searched.
pub async fn codes_page(h: &impl Host, req: &Request, s: &Session) -> Answer {
    let term = req.param("q");
    let rows: Vec<sql::CodeRow> = host::rows(h, sql::codes(&s.me.scope, &term, 200)).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .map(|r| {
            let e = serde_json::from_str::<Entry>(&r.json).ok();
            (r, e)
        })
        .collect();
    Ok(page(
        pages::codes(&s.me, &s.csrf, &flash_of(req), &term, &rows),
        200,
    ))
}

/// `GET /console/codes/<code>`: a code's card, and for a window's code its hall tablets and the
/// staff member on duty.
pub async fn card_page(
    h: &impl Host,
    cfg: &Config,
    req: &Request,
    s: &Session,
    code: &str,
    flash: &Flash,
) -> Answer {
    let me = &s.me;
    let (row, e) = crate::directory::code_in_scope(h, me, code).await?;
    let url = card_url(h, cfg, req, &e);
    let tablets = if me.may(Action::Kiosks) {
        let mut res = host::run(
            h,
            vec![
                crate::kiosk::of_code(&row.code),
                crate::kiosk::duty_of(&row.code),
            ],
            false,
        )
        .await?;
        let duty: Vec<crate::kiosk::DutyRow> = host::typed(h, res.pop())?;
        let tablets: Vec<crate::kiosk::KioskRow> = host::typed(h, res.pop())?;
        Some((tablets, duty.into_iter().next()))
    } else {
        None
    };
    Ok(page(
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
    ))
}

/// A reissued card's URL: the code sealed today with the newest key its authority may use.
fn card_url(h: &impl Host, cfg: &Config, req: &Request, e: &Entry) -> Option<String> {
    let key = cfg
        .qr_keys
        .keys()
        .iter()
        .rev()
        .find(|k| cfg.kid_may_sign(k.kid, &e.region))?;
    let seg = wire::qr::QrPayload::seal(e.code, Day::from_unix(h.now())?, key);
    Some(format!(
        "{}/{seg}",
        http::site(req, cfg.public_url.as_deref())
    ))
}

/// The authorities an upload may name, with their labels.
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

/// `GET /console/directory`: the upload form and the history of applied uploads in scope.
pub async fn directory_page(h: &impl Host, cfg: &Config, req: &Request, s: &Session) -> Answer {
    let visible = sql::visible_actors(h, &s.me).await?;
    let history: Vec<sql::UploadRow> =
        host::rows(h, sql::upload_history(50, visible.as_deref())).await?;
    Ok(page(
        pages::directory(&s.me, &s.csrf, &flash_of(req), &authorities(cfg), &history),
        200,
    ))
}

/// `GET /console/status`: forwarding within scope, with the last errors.
pub async fn status_page(h: &impl Host, req: &Request, s: &Session) -> Answer {
    let me = &s.me;
    let mut res = host::run(
        h,
        vec![
            sql::status(&me.scope),
            sql::receivers(&me.scope),
            sql::last_errors(&me.scope, 20),
        ],
        false,
    )
    .await?;
    let errors: Vec<sql::ErrorRow> = host::typed(h, res.pop())?;
    let receivers: Vec<crate::outbox::ReceiverStatus> = host::typed(h, res.pop())?;
    let st: Vec<sql::StatusRow> = host::typed(h, res.pop())?;
    let st = st
        .into_iter()
        .next()
        .ok_or_else(|| host::internal(h, "status", "no row"))?;
    Ok(page(
        pages::status(
            me,
            &s.csrf,
            &flash_of(req),
            &st,
            &receivers,
            &errors,
            h.now(),
        ),
        200,
    ))
}

/// `GET /console/accounts`: the accounts within scope.
pub async fn accounts_page(h: &impl Host, s: &Session, f: &Flash) -> Answer {
    let rows: Vec<access::AccountRow> = host::rows(h, access::accounts()).await?;
    let mine: Vec<access::AccountRow> = access::within(&s.me, &rows, |a| &a.scope)
        .into_iter()
        .cloned()
        .collect();
    Ok(page(
        pages::accounts(&s.me, &s.csrf, f, &mine, h.now()),
        200,
    ))
}

/// `GET /console/tokens`: the tokens within scope.
pub async fn tokens_page(h: &impl Host, s: &Session, f: &Flash) -> Answer {
    let rows: Vec<access::TokenRow> = host::rows(h, access::tokens()).await?;
    let mine: Vec<access::TokenRow> = access::within(&s.me, &rows, |t| &t.scope)
        .into_iter()
        .cloned()
        .collect();
    Ok(page(pages::tokens(&s.me, &s.csrf, f, &mine, h.now()), 200))
}

/// `GET /console/audit`: the audit log of the actors within scope.
/// `GET /console/rates?period=2026-12`: 评价率 of the windows in scope (this month by default).
pub async fn rates_page(h: &impl Host, req: &Request, s: &Session) -> Answer {
    let asked = req.param("period");
    let p = if asked.is_empty() {
        crate::period::Period::current(h.now())
    } else {
        crate::period::Period::parse(&asked).map_err(|e| {
            refused(
                400,
                "console.period",
                "月份或季度应写成 2026-12 或 2026-Q4。",
                e,
            )
        })?
    };
    let rows: Vec<crate::served::CodeRate> =
        host::rows(h, crate::served::code_rates(&s.me.scope, None, &p.months)).await?;
    Ok(page(
        pages::rates(
            &s.me,
            &s.csrf,
            &flash_of(req),
            &p.label,
            &crate::served::lowest_first(rows),
        ),
        200,
    ))
}

pub async fn audit_page(h: &impl Host, req: &Request, s: &Session) -> Answer {
    let pairs = req.query_pairs();
    let (from, to) = (q(&pairs, "from"), q(&pairs, "to"));
    let (a, b) = range(h.now(), from, to, false)?;
    let visible = sql::visible_actors(h, &s.me).await?;
    let rows: Vec<sql::AuditRow> = host::rows(
        h,
        sql::audit_log(
            q(&pairs, "actor"),
            q(&pairs, "action"),
            a,
            b,
            500,
            visible.as_deref(),
        ),
    )
    .await?;
    Ok(page(
        pages::audit(
            &s.me,
            &s.csrf,
            &flash_of(req),
            (q(&pairs, "actor"), q(&pairs, "action"), from, to),
            &rows,
        ),
        200,
    ))
}

// ---- forms ----

/// `POST /console/export`: the ratings within scope as .xlsx or CSV (full phones only for those
/// whose role allows it; audited).
pub async fn export_post(h: &impl Host, s: &Session, f: &Form) -> Answer {
    let me = &s.me;
    let pairs: Vec<(String, String)> = ["hall", "dept", "staff", "level", "from", "to", "hold"]
        .iter()
        .map(|k| (k.to_string(), f.get(k)))
        .collect();
    let (filter, from, to) = filter_of(h.now(), &pairs, true)?;
    let full = f.get("phones") == "full";
    if full && !me.may(Action::ExportUnmasked) {
        return Err(access::FORBIDDEN);
    }
    let xlsx = f.get("format") != "csv";
    let bytes = export(h, me, &filter, full, xlsx, &format!("{from}..{to}")).await?;
    let name = format!("ratings-{from}-{to}.{}", if xlsx { "xlsx" } else { "csv" });
    Ok(Response::download(
        bytes,
        if xlsx {
            XLSX
        } else {
            "text/csv; charset=utf-8"
        },
        &name,
    ))
}

/// A decision on a held rating (疑似刷评) within scope: the rows it returns (none when it was not
/// held, or not in scope).
pub async fn review(h: &impl Host, me: &Actor, id: &str, release: bool) -> Result<bool, ApiError> {
    let res = host::run(h, sql::review(me, id, release, h.now()), true).await?;
    Ok(host::count(res.last()) > 0)
}

/// A held rating that is not (or no longer) held, or not within scope: the one answer for
/// what is out of scope, for the console and the API.
pub fn not_held() -> ApiError {
    ApiError {
        detail: Some("这条评价不在待复核队列中（可能已由他人处理）".into()),
        ..access::NOT_FOUND
    }
}

/// The held ratings a bulk decision takes, from a form or the API's fields: a code (or every
/// one), a signal (or any) and a range of days; each bad field named.
pub fn held_filter_of(now: i64, p: &[(String, String)]) -> Result<sql::HeldFilter, ApiError> {
    let code = match q(p, "code").trim() {
        "" => None,
        c => Some(
            wire::qr::CodeId::parse(c)
                .ok_or_else(|| form_error(format!("二维码“{c}”不是有效的码号")))?
                .to_text(),
        ),
    };
    let signal = match q(p, "signal") {
        "" => None,
        s if crate::guard::SIGNALS.contains(&s) => Some(s.to_owned()),
        s => {
            return Err(form_error(format!(
                "未知的信号“{s}”（可选：{}）",
                crate::guard::SIGNALS.join("、")
            )));
        }
    };
    let (from, to) = range(now, q(p, "from"), q(p, "to"), false)?;
    Ok(sql::HeldFilter {
        code,
        signal,
        from,
        to,
    })
}

/// Decides every held rating `f` takes within `me`'s scope: how many.
pub async fn review_bulk(
    h: &impl Host,
    me: &Actor,
    f: &sql::HeldFilter,
    release: bool,
) -> Result<i64, ApiError> {
    struct N {
        n: i64,
    }
    crate::row!(N { n });
    let mut res = host::run(h, sql::review_bulk(me, f, release, h.now()), true).await?;
    res.truncate(1);
    let n: Vec<N> = host::typed(h, res.pop())?;
    Ok(n.first().map_or(0, |r| r.n))
}

/// `POST /console/held/release|reject`: the held ratings of a code, a signal and a range of
/// days decided at once.
pub async fn review_bulk_post(h: &impl Host, s: &Session, f: &Form, release: bool) -> Answer {
    let filter = held_filter_of(h.now(), &f.pairs())?;
    let n = review_bulk(h, &s.me, &filter, release).await?;
    let what = if release {
        "放行：它们现在计入统计，并将上报省平台；差评已开案并提醒处理人"
    } else {
        "驳回：它们保留记录，不计入统计，永不上报"
    };
    Ok(done(
        "/console/ratings?hold=held",
        &if n == 0 {
            "没有符合条件的待复核评价，未做任何更改".to_owned()
        } else {
            format!("已{what}（共 {n} 条，记入审计日志一条）")
        },
    ))
}

/// `POST /console/ratings/<id>/release|reject`.
pub async fn review_post(h: &impl Host, s: &Session, id: &str, release: bool) -> Answer {
    if !review(h, &s.me, id, release).await? {
        return Err(not_held());
    }
    Ok(done(
        "/console/ratings?hold=held",
        if release {
            "已放行：这条评价现在计入统计，并将上报省平台；差评已开案并提醒处理人"
        } else {
            "已驳回：这条评价保留记录，不计入统计，永不上报"
        },
    ))
}

/// `POST /console/codes/<code>/revoke`: one printed code withdrawn, with its reason.
pub async fn revoke_code(h: &impl Host, cfg: &Config, s: &Session, code: &str, f: &Form) -> Answer {
    let me = &s.me;
    let (_, e) = crate::directory::code_in_scope(h, me, code).await?;
    let note: String = f.get("note").chars().take(200).collect();
    let reason = match note.as_str() {
        "" => f.get("reason"),
        n => format!("{}：{n}", f.get("reason")),
    };
    let r = sql::NewRevocation {
        revocation: wire::qr::Revocation::Code {
            code: e.code,
            issued_before: None,
        },
        region: e.region.clone(),
        hall: e.hall.clone(),
        reason: reason.clone(),
    };
    let label = format!("{} {} {}", e.hall, diff::label(&e), e.code);
    let t = h.now();
    write(
        h,
        vec![
            sql::add_revocation(&r, &cfg.authority_of(&e.region), &me.name, t),
            access::audit(me, "code.revoke", &label, &reason, t),
        ],
    )
    .await?;
    Ok(done(
        &format!("/console/codes/{code}"),
        &format!("已作废：{label}"),
    ))
}

/// A new tablet of the window `e`: its public id and its address, with the token (shown once).
pub async fn new_tablet(
    h: &impl Host,
    cfg: &Config,
    req: &Request,
    me: &Actor,
    e: &Entry,
    label: &str,
) -> Result<(String, String), ApiError> {
    let token = crate::kiosk::new_token(host::random(h));
    let id = crate::kiosk::public_id(&crate::kiosk::digest(&token)).to_owned();
    let t = h.now();
    let code = e.code.to_text();
    write(
        h,
        vec![
            crate::kiosk::create(e, label, &token, &me.name, t),
            access::audit(me, "kiosk.add", &format!("{label}（{id}）"), &code, t),
        ],
    )
    .await?;
    Ok((
        id,
        format!(
            "{}/kiosk/{token}",
            http::site(req, cfg.public_url.as_deref())
        ),
    ))
}

/// The forms of a window code's page about its tablets: `kiosks` (a new one, its address shown
/// once), `kiosks/revoke` (one withdrawn), `duty` (the staff member on duty, with a photo, or
/// nobody).
pub async fn tablets_post(
    h: &impl Host,
    cfg: &Config,
    req: &Request,
    s: &Session,
    code: &str,
    what: &str,
    f: &Form,
) -> Answer {
    let me = &s.me;
    let (row, e) = crate::directory::code_in_scope(h, me, code).await?;
    let back = format!("/console/codes/{code}");
    let t = h.now();
    match what {
        "kiosks" => {
            let typed = f.get("label");
            let label = crate::kiosk::label_ok(&typed).map_err(|e| form_error(e.zh.into()))?;
            let (_, url) = new_tablet(h, cfg, req, me, &e, label).await?;
            let flash = Flash::Secret {
                what: format!(
                    "已新建评价平板“{label}”。请在平板的浏览器中打开以下地址（只显示这一次）"
                ),
                secret: url,
            };
            card_page(h, cfg, req, s, code, &flash).await
        }
        "kiosks/revoke" => {
            let id = f.get("id");
            let rows: Vec<crate::kiosk::KioskRow> =
                host::rows(h, crate::kiosk::revoke(&id, Some(&row.code), &me.scope, t)).await?;
            let k = rows
                .into_iter()
                .next()
                .ok_or_else(|| form_error(format!("此窗口没有平板 {id}")))?;
            write(
                h,
                vec![access::audit(me, "kiosk.revoke", &k.id, &k.label, t)],
            )
            .await?;
            Ok(done(&back, &format!("已停用评价平板“{}”", k.label)))
        }
        "duty" if f.get("op") == "off" => {
            write(
                h,
                vec![
                    crate::kiosk::off_duty(&row.code),
                    access::audit(me, "kiosk.staff", &row.code, "off duty", t),
                ],
            )
            .await?;
            Ok(done(&back, "已清除在岗人员"))
        }
        _ => {
            let d = crate::kiosk::on_duty(&f.get("name"), &f.get("staff_no"), f.file("photo"))
                .map_err(|e| form_error(e.zh.into()))?;
            write(
                h,
                vec![
                    crate::kiosk::set_on_duty(&row.code, &d, &me.name, t),
                    access::audit(me, "kiosk.staff", &row.code, &d.staff_no, t),
                ],
            )
            .await?;
            Ok(done(
                &back,
                &format!("在岗人员已设为 {}（工号 {}）", d.name, d.staff_no),
            ))
        }
    }
}

/// The directory's entries of one authority within scope.
async fn entries_in(h: &impl Host, scope: &Scope, authority: &str) -> Result<Vec<Entry>, ApiError> {
    let rows: Vec<sql::CodeRow> = host::rows(h, sql::entries(scope, authority)).await?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.json).ok())
        .collect())
}

/// A directory upload's checks, the same for the console's preview, its apply and the API: every
/// entry inside the authority and the uploader's scope, and no short reference shared with
/// another authority's window or staff member.
pub async fn check_upload(
    h: &impl Host,
    d: &Directory,
    authority: &str,
    me: &Actor,
) -> Result<(), String> {
    super::check_directory(d, authority, me)?;
    let rows: Vec<sql::CodeRow> = host::rows(h, sql::entries_elsewhere(authority))
        .await
        .map_err(|e| e.zh.to_owned())?;
    let elsewhere: Vec<Entry> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.json).ok())
        .collect();
    super::check_collisions(d, &elsewhere)
}

/// A revocation upload's rows, each resolved to the code or staff member it names within the
/// authority and the uploader's scope (the console's preview, its apply and the API).
pub async fn resolve_upload(
    h: &impl Host,
    r: &Revocations,
    authority: &str,
    me: &Actor,
    reason: &str,
) -> Result<(Vec<sql::NewRevocation>, Vec<Entry>), ApiError> {
    let current = entries_in(h, &me.scope, authority).await?;
    let rows =
        super::resolve_revocations(r, authority, me, &current, reason).map_err(upload_error)?;
    Ok((rows, current))
}

/// `POST /console/directory`: an upload checked whole, then staged for a preview.
pub async fn upload(h: &impl Host, cfg: &Config, s: &Session, f: &Form) -> Answer {
    let me = &s.me;
    let authority = f.get("authority");
    if !cfg.authority_prefixes().contains(&authority) {
        return Err(upload_error(format!("未知的发码单位“{authority}”")));
    }
    let Some(file) = f.file("file") else {
        return Err(upload_error("请选择要上传的文件".into()));
    };
    let text = std::str::from_utf8(file).map_err(|_| upload_error("文件不是 UTF-8 编码".into()))?;
    let t = h.now();
    if f.get("kind") == "revocations" {
        let r = Revocations::from_json(text).map_err(|e| upload_error(e.0))?;
        let (rows, current) = resolve_upload(h, &r, &authority, me, "作废清单").await?;
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
                            .map(diff::label)
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
        struct Replaced {
            n: i64,
        }
        crate::row!(Replaced { n });
        let replaced: Vec<Replaced> =
            host::rows(h, sql::count_revocations(&me.scope, &authority)).await?;
        let replaced = replaced.first().map_or(0, |r| r.n) as usize;
        let summary = format!("作废清单 {} 项（替换 {replaced} 项）", rows.len());
        let seq = stage(h, "revocations", &authority, me, &summary, text, t).await?;
        return Ok(page(
            pages::revocations_preview(me, &s.csrf, seq, &authority, &lines, replaced),
            200,
        ));
    }
    let d = Directory::from_json(text).map_err(|e| upload_error(e.0))?;
    super::check_mapping(&d, cfg).map_err(upload_error)?;
    check_upload(h, &d, &authority, me)
        .await
        .map_err(upload_error)?;
    let current = entries_in(h, &me.scope, &authority).await?;
    let p = diff::preview(&current, &d.entries);
    let (a, r, ch) = p.total();
    let summary = format!(
        "名录 {} 个二维码：新增 {a}，删除 {r}，变更 {ch}，人员调动 {}",
        d.entries.len(),
        p.moves.len()
    );
    let seq = stage(h, "directory", &authority, me, &summary, text, t).await?;
    Ok(page(pages::preview(me, &s.csrf, seq, &authority, &p), 200))
}

async fn stage(
    h: &impl Host,
    kind: &str,
    authority: &str,
    me: &Actor,
    summary: &str,
    body: &str,
    t: i64,
) -> Result<i64, ApiError> {
    let mut res = host::run(
        h,
        sql::stage(kind, authority, &me.name, summary, body, t),
        false,
    )
    .await?;
    struct Seq {
        seq: i64,
    }
    crate::row!(Seq { seq });
    let seq: Vec<Seq> = host::typed(h, res.pop())?;
    seq.first()
        .map(|s| s.seq)
        .ok_or_else(|| host::internal(h, "stage", "no seq"))
}

/// `POST /console/directory/apply`: a staged preview of this actor's applied, checked again.
pub async fn apply(h: &impl Host, s: &Session, f: &Form) -> Answer {
    let me = &s.me;
    let seq: i64 = f
        .get("seq")
        .parse()
        .map_err(|_| upload_error("预览编号无效".into()))?;
    let staged: Vec<sql::UploadRow> = host::rows(h, sql::staged(seq, &me.name)).await?;
    let u = staged.into_iter().next().ok_or(ApiError {
        detail: Some("此预览已生效、已过期，或不是您上传的，请重新上传".into()),
        ..access::NOT_FOUND
    })?;
    let body = u.body.clone().unwrap_or_default();
    let t = h.now();
    let mut stmts = sql::applied(seq, t);
    if u.kind == "directory" {
        let d = Directory::from_json(&body).map_err(|e| upload_error(e.0))?;
        check_upload(h, &d, &u.authority, me)
            .await
            .map_err(upload_error)?;
        stmts.extend(sql::replace_entries(&me.scope, &u.authority, &d, h.now()));
    } else {
        let r = Revocations::from_json(&body).map_err(|e| upload_error(e.0))?;
        let (rows, _) = resolve_upload(h, &r, &u.authority, me, "作废清单").await?;
        stmts.push(sql::clear_revocations(&me.scope, &u.authority));
        stmts.extend(
            rows.iter()
                .map(|r| sql::add_revocation(r, &u.authority, &me.name, t)),
        );
    }
    stmts.push(access::audit(
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
    write(h, stmts).await?;
    Ok(done(
        "/console/directory",
        &format!("已生效：{}", u.summary),
    ))
}

/// Every pending rating within scope is due now (the console's button and `POST /admin/retry`).
pub async fn retry_now(h: &impl Host, me: &Actor, detail: &str) -> Result<usize, ApiError> {
    let t = h.now();
    let res = host::run(
        h,
        sql::retry_now(&me.scope, t)
            .into_iter()
            .chain([access::audit(me, "retry", "forwarding", detail, t)])
            .collect(),
        true,
    )
    .await?;
    Ok(host::count(res.first()))
}

/// `POST /console/status/retry`.
pub async fn retry_post(h: &impl Host, s: &Session) -> Answer {
    let n = retry_now(h, &s.me, "retry now").await?;
    Ok(done(
        "/console/status",
        &format!("已安排 {n} 条待转发评价立即重试"),
    ))
}

/// The account or token a form or an API body asks for: its name and role checked (a person's
/// role for an account), and its scope within the caller's own.
pub fn new_actor(
    me: &Actor,
    name: String,
    role: &str,
    scope: Scope,
    account: bool,
) -> Result<Actor, String> {
    access::name_ok(&name)?;
    let role = Role::parse(role)
        .filter(|r| !account || r.for_people())
        .ok_or_else(|| {
            let allowed: Vec<&str> = if account {
                Role::PEOPLE.iter().map(|r| r.as_str()).collect()
            } else {
                Role::ALL.iter().map(|r| r.as_str()).collect()
            };
            format!("角色“{role}”：可选 {}", allowed.join("、"))
        })?;
    if !me.scope.contains(&scope) {
        return Err(format!("范围超出您自己的范围（{}）", me.scope));
    }
    Ok(Actor { name, role, scope })
}

/// A new automation token for `new`, made by `me`: its statements (the token's digest, the audit
/// record) and the token itself, shown once.
pub fn new_token(
    h: &impl Host,
    me: &Actor,
    new: &Actor,
    detail: &str,
    expires_at: Option<i64>,
) -> (Vec<Stmt>, String) {
    let id = access::url_safe(&host::random::<9>(h));
    let secret = access::url_safe(&host::random::<32>(h));
    let t = h.now();
    (
        vec![
            access::add_token(&id, new, &access::digest(&secret), &me.name, t, expires_at),
            access::audit(me, "token.add", &format!("{}（{id}）", new.name), detail, t),
        ],
        format!("{}{id}_{secret}", access::TOKEN_PREFIX),
    )
}

/// `POST /console/accounts` and `/console/tokens`: a new account (with a generated password, to
/// be changed at its first login) or token (shown once), within the actor's scope.
pub async fn grant(h: &impl Host, s: &Session, f: &Form, account: bool) -> Answer {
    let me = &s.me;
    let scope = Scope::from_form(&f.get("scope_kind"), &f.get("scope")).map_err(form_error)?;
    let new = new_actor(me, f.get("name"), &f.get("role"), scope, account).map_err(form_error)?;
    let detail = format!("{}，{}", new.role.label(), new.scope);
    let t = h.now();
    if account {
        let pw = access::new_password(h);
        let hash = access::hash_password(h, &pw).await?;
        write(
            h,
            vec![
                access::add_account(&new, &hash, &me.name, t, true),
                access::audit(me, "account.add", &new.name, &detail, t),
            ],
        )
        .await?;
        let f = Flash::Secret {
            what: format!("已新建账户 {}，初始密码", new.name),
            secret: pw,
        };
        accounts_page(h, s, &f).await
    } else {
        let expires = match f.get("expires").trim() {
            "" => None,
            day => Some(access::expiry(day, t).map_err(form_error)?),
        };
        let (stmts, token) = new_token(h, me, &new, &detail, expires);
        write(h, stmts).await?;
        let f = Flash::Secret {
            what: format!("已新建令牌 {}", new.name),
            secret: token,
        };
        tokens_page(h, s, &f).await
    }
}

/// The account `name`, if it lies within the actor's scope (out of scope and unknown are the
/// same answer).
pub async fn account_in_scope(
    h: &impl Host,
    me: &Actor,
    name: &str,
) -> Result<access::AccountRow, ApiError> {
    let rows: Vec<access::AccountRow> = host::rows(h, access::account(name)).await?;
    rows.into_iter()
        .find(|a| access::within(me, std::slice::from_ref(a), |a| &a.scope).len() == 1)
        .ok_or(access::NOT_FOUND)
}

/// `POST /console/accounts/change`: disable, enable, unlock, or reset to a generated password
/// (to be changed at the next login), for an account within the actor's scope.
pub async fn account_change(h: &impl Host, s: &Session, f: &Form) -> Answer {
    let me = &s.me;
    let name = f.get("name");
    let op = f.get("op");
    let target = account_in_scope(h, me, &name).await?;
    let t = h.now();
    let (stmts, said) = match op.as_str() {
        "disable" if target.name == me.name => {
            return Err(form_error("不能停用自己的账户".into()));
        }
        "disable" => (access::set_disabled(&target.name, true), "已停用"),
        "enable" => (access::set_disabled(&target.name, false), "已启用"),
        "unlock" => (access::unlock(&target.name), "已解锁"),
        "reset" => {
            let pw = access::new_password(h);
            let hash = access::hash_password(h, &pw).await?;
            let mut stmts = access::set_password(&target.name, &hash, true);
            stmts.push(access::audit(
                me,
                "account.change",
                &target.name,
                "password reset",
                t,
            ));
            write(h, stmts).await?;
            let f = Flash::Secret {
                what: format!(
                    "已重置 {} 的密码，新密码（登录后须改为自己的密码）",
                    target.name
                ),
                secret: pw,
            };
            return accounts_page(h, s, &f).await;
        }
        _ => return Err(form_error("未知的操作".into())),
    };
    let mut stmts = stmts;
    stmts.push(access::audit(me, "account.change", &target.name, &op, t));
    write(h, stmts).await?;
    Ok(done(
        "/console/accounts",
        &format!("{}：{said}", target.name),
    ))
}

/// A token within the actor's scope, revoked: its name (out of scope, unknown and already
/// revoked are the same answer).
pub async fn revoke_token(h: &impl Host, me: &Actor, id: &str) -> Result<String, ApiError> {
    let rows: Vec<access::TokenRow> = host::rows(h, access::token_by_id(id)).await?;
    let tok = rows
        .into_iter()
        .find(|t| {
            t.revoked_at.is_none()
                && access::within(me, std::slice::from_ref(t), |t| &t.scope).len() == 1
        })
        .ok_or(access::NOT_FOUND)?;
    let t = h.now();
    write(
        h,
        vec![
            access::revoke_token(&tok.id, t),
            access::audit(me, "token.revoke", &tok.id, "revoked", t),
        ],
    )
    .await?;
    Ok(tok.name)
}

/// `POST /console/tokens/revoke`.
pub async fn token_revoke(h: &impl Host, s: &Session, f: &Form) -> Answer {
    let id = f.get("id");
    revoke_token(h, &s.me, &id).await?;
    Ok(done("/console/tokens", &format!("已吊销令牌 {id}")))
}

/// A refused console request as a page in words (not JSON).
pub fn refusal_page(s: &Session, e: &ApiError) -> Response {
    let words = match &e.detail {
        Some(d) => format!("{}（{d}）", e.message(error::Lang::Zh)),
        None => e.message(error::Lang::Zh).to_owned(),
    };
    page(pages::refused(&s.me, &s.csrf, &words), e.status)
}
