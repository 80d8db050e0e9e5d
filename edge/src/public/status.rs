//! A 差评's private status link (回执): a capability URL `/s/<token>` with 60 random bits, given
//! on the thank-you page with the token as a short code to type (`ABCD-EFGH-JKLM`). The storage
//! keeps the token's SHA-256, never the token. The page shows the case's progress in plain words
//! and the reply the handler chose to publish, never a phone, comment or internal note; once the
//! case is 办结 the citizen may give one 追评 (仍不满意 reopens it). A wrong token and an expired
//! one get the same answer. Lookups that miss are budgeted per client and minute, under a high
//! ceiling for everyone; a token that exists is always answered.

use crate::error::ApiError;
use crate::fastlane::receipt::digest;
use crate::fastlane::{CASE_COLUMNS, CaseRow, State};
use crate::host::{self, Host};
use crate::http::{Answer, Method, Request, Response};
use crate::sql::{Stmt, stmt};
use maud::{DOCTYPE, html};
use wire::time::format_cst_minute;

/// Lookups that found nothing, per client and minute, before that client's misses are answered
/// 429 (with nothing counted)…
pub const MISS_BUDGET: i64 = 30;
/// …and for everyone together: the ceiling that bounds what misses can write.
pub const MISS_CEILING: i64 = 1200;

fn minute(now: i64) -> i64 {
    now / 60
}

/// The minute's misses so far (this client's, everyone's), a rating that has no case because it
/// is held for review (its time and hall), then the case (if the token is known and not
/// expired: a case closed more than `keep_secs` ago has let its links go).
pub fn lookup(token: &str, client: &str, now: i64, keep_secs: i64) -> Vec<Stmt> {
    vec![
        stmt(
            "SELECT COALESCE((SELECT n FROM status_misses WHERE minute = ?1 AND client = ?2), 0) AS client, \
             COALESCE((SELECT SUM(n) FROM status_misses WHERE minute = ?1), 0) AS total",
            vec![minute(now).into(), client.into()],
        ),
        stmt(
            "SELECT r.rated_at AS at, COALESCE(json_extract(r.entry, '$.hall'), '') AS hall \
             FROM receipts x JOIN ratings r ON r.id = x.rating WHERE x.digest = ?1 AND r.hold IN (1, 2)",
            vec![digest(token).into()],
        ),
        stmt(
            format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE rating = (SELECT rating FROM receipts WHERE digest = ?1) \
                 AND (closed_at IS NULL OR closed_at > ?2)"
            ),
            vec![digest(token).into(), (now - keep_secs).into()],
        ),
        // Who looked at the callback phone: the role and the time, never a name.
        stmt(
            "SELECT s.role AS role, s.at AS at FROM case_steps s JOIN cases c ON c.id = s.case_id \
             WHERE c.rating = (SELECT rating FROM receipts WHERE digest = ?1) AND s.step = 'phone' \
             ORDER BY s.at",
            vec![digest(token).into()],
        ),
    ]
}

/// A view of the callback phone, as the citizen's status page lists it.
#[derive(Debug, Clone)]
pub struct PhoneView {
    pub role: String,
    pub at: i64,
}
crate::row!(PhoneView { role, at });

/// A held rating's time and hall ([`lookup`]'s second statement).
#[derive(Debug, Clone)]
pub struct Held {
    pub at: i64,
    pub hall: String,
}
crate::row!(Held { at, hall });

/// Counts a client's miss (the earlier minutes' counts go).
pub fn miss(client: &str, now: i64) -> Vec<Stmt> {
    vec![
        stmt(
            "DELETE FROM status_misses WHERE minute < ?1",
            vec![(minute(now) - 10).into()],
        ),
        stmt(
            "INSERT INTO status_misses (minute, client, n) VALUES (?1, ?2, 1) \
             ON CONFLICT (minute, client) DO UPDATE SET n = n + 1",
            vec![minute(now).into(), client.into()],
        ),
    ]
}

/// The misses counted so far this minute ([`lookup`]'s first row).
#[derive(Debug, Clone, Copy)]
pub struct Misses {
    pub client: i64,
    pub total: i64,
}
crate::row!(Misses { client, total });

impl Misses {
    /// Whether one more miss is past this client's budget or everyone's ceiling.
    pub fn spent(&self) -> bool {
        self.client >= MISS_BUDGET || self.total >= MISS_CEILING
    }
}

/// The citizen's one 追评 on a closed case (not an overturned one): their verdict on the fix
/// (`fastlane::VERDICTS`); `unsatisfied` reopens the case (its clock runs again from now and its route is
/// alerted by the alarm). The first statement returns the case as it now is (nothing if the 追评
/// was not taken).
pub fn followup(case: i64, verdict: &str, now: i64) -> Vec<Stmt> {
    let unsatisfied = verdict == "unsatisfied";
    let reopen = if unsatisfied {
        format!(", state = 'callback', {}", crate::fastlane::reopening("?3"))
    } else {
        String::new()
    };
    let choice = if unsatisfied {
        "unsatisfied"
    } else {
        "satisfied"
    };
    vec![
        stmt(
            format!(
                "UPDATE cases SET followup = ?2, verdict = ?4, followup_at = ?3{reopen} WHERE id = ?1 \
                 AND state = 'closed' AND followup IS NULL AND review IS NOT 'overturned' RETURNING {CASE_COLUMNS}"
            ),
            vec![case.into(), choice.into(), now.into(), verdict.into()],
        ),
        stmt(
            "INSERT INTO case_steps (case_id, at, actor, role, step, note) \
             SELECT id, ?3, '评价人', 'citizen', 'followup', ?2 FROM cases WHERE id = ?1 AND followup_at = ?3 \
             AND NOT EXISTS (SELECT 1 FROM case_steps WHERE case_id = ?1 AND step = 'followup')",
            vec![case.into(), verdict.into(), now.into()],
        ),
    ]
}

const CSS: &str = "\
body{margin:0;font:18px/1.6 system-ui,'Noto Sans CJK SC',sans-serif;color:#1f2329;background:#f6f6f6}\
main{max-width:560px;margin:0 auto;padding:16px}h1{font-size:22px;margin:6px 0 12px}\
ol{list-style:none;padding:0;margin:0}li{background:#fff;border:1px solid #dcdcdc;border-radius:8px;padding:10px 14px;margin:8px 0}\
li.done{border-color:#2e7d32}li.done b:before{content:'✓ ';color:#2e7d32}li.todo{color:#777}\
.code{font:600 20px ui-monospace,monospace;letter-spacing:1px}.reply{background:#fff;border-left:4px solid #8b1a1a;padding:10px 14px}\
form{display:flex;gap:12px;flex-wrap:wrap}button{font:inherit;min-height:48px;padding:8px 18px;border-radius:8px;border:1px solid #8b1a1a;background:#8b1a1a;color:#fff}\
button.plain{background:#fff;color:#8b1a1a}.muted{color:#666;font-size:15px}";

pub fn csp() -> String {
    crate::page::styled_csp(
        CSS,
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
}

fn shell(title: &str, body: maud::Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            // (No referrer: the answer's Referrer-Policy says so.)
            (crate::page::styled_head(title, CSS))
            body { main { (body) } }
        }
    }
    .into_string()
}

/// The case's progress as the citizen sees it.
pub fn status(c: &CaseRow, token: &str, said: Option<&str>, views: &[PhoneView]) -> String {
    let st = c.state();
    let reached = |s: &[State]| s.contains(&st);
    let fixing = reached(&[State::Fixing, State::Fixed, State::Replied, State::Closed]);
    let steps: [(&str, bool, Option<i64>); 5] = [
        (
            "已收到您的差评",
            true,
            Some(c.reopened_at.unwrap_or(c.opened_at)),
        ),
        ("已回访", c.called_at.is_some() || fixing, c.called_at),
        ("正在整改", fixing, None),
        ("已整改", c.fixed_at.is_some(), c.fixed_at),
        ("已办结", st == State::Closed, c.closed_at),
    ];
    let may_follow = st == State::Closed && c.followup.is_none() && !c.overturned();
    shell(
        "差评处理进度",
        html! {
            h1 { "您的差评处理进度" }
            @if let Some(s) = said { p role="status" { b { (s) } } }
            (heading(c.hall.as_deref().unwrap_or(""), c.opened_at))
            @if c.reopened_at.is_some() {
                p.muted {
                    @if c.verdict.as_deref() == Some("unsatisfied") { "您表示仍不满意，" }
                    "案件已重新办理。"
                }
            }
            (progress(&steps))
            @if st == State::Appealed { p.muted { "您的差评正在复核。" } }
            @if c.ext_state.as_deref() == Some("approved") {
                @if let (Some(reason), Some(until)) = (&c.ext_reason, c.ext_until.and_then(|d| u16::try_from(d).ok())) {
                    h2 { "整改期限已延长" }
                    p.reply { "新的期限：" b { (wire::time::Day(until).to_string()) } "。原因：" (reason) }
                }
            }
            @if c.reply_public != 0 {
                @if let Some(r) = &c.reply {
                    // After a reopening, until the new reply, the one shown is the last one.
                    h2 { @if c.replied_at.is_none() { "上次办理答复" } @else { "办理答复" } }
                    p.reply { (r) }
                }
            }
            @if may_follow {
                h2 { "您对整改结果满意吗？（只能追评一次）" }
                form method="post" {
                    button type="submit" name="choice" value="satisfied" { "满意" }
                    button.plain type="submit" name="choice" value="basic" { "基本满意" }
                    button.plain type="submit" name="choice" value="unsatisfied" { "不满意，重新办理" }
                }
            }
            @if !views.is_empty() {
                h2 { "谁查看过您的回访电话" }
                ul.views {
                    @for v in views {
                        li {
                            (crate::access::role_label(&v.role).unwrap_or("工作人员"))
                            " " (format_cst_minute(v.at))
                            @if v.role == crate::access::BRIDGE_ROLE { " 随工单收到回访电话" } @else { " 查看回访电话" }
                        }
                    }
                }
            }
            @if let Some(f) = c.verdict.as_deref().or(c.followup.as_deref()) {
                p.muted { "您的追评：" (crate::fastlane::label(&crate::fastlane::VERDICTS, f)) }
            }
            p.muted { "查询码 " span.code { (wire::page::receipt_code(token)) } "。本页不显示您的电话和评价内容；请勿转发此链接。" }
        },
    )
}

fn heading(hall: &str, at: i64) -> maud::Markup {
    html! { p.muted { "大厅：" (hall) "。评价时间：" (format_cst_minute(at)) } }
}

fn progress(steps: &[(&str, bool, Option<i64>)]) -> maud::Markup {
    html! {
        ol {
            @for (what, done, at) in steps {
                li class=(if *done { "done" } else { "todo" }) {
                    b { (what) }
                    @if let (true, Some(t)) = (done, at) { " " span.muted { (format_cst_minute(*t)) } }
                }
            }
        }
    }
}

/// A 差评 held for review (or rejected): received, like any other, and nothing more to say yet.
pub fn received(h: &Held, token: &str) -> String {
    let steps = [
        ("已收到您的差评", true, Some(h.at)),
        ("已回访", false, None),
        ("正在整改", false, None),
        ("已整改", false, None),
        ("已办结", false, None),
    ];
    shell(
        "差评处理进度",
        html! {
            h1 { "您的差评处理进度" }
            (heading(&h.hall, h.at))
            (progress(&steps))
            p.muted { "查询码 " span.code { (wire::page::receipt_code(token)) } "。本页不显示您的电话和评价内容；请勿转发此链接。" }
        },
    )
}

/// A wrong token and an expired one: the same words.
pub fn gone() -> String {
    shell(
        "链接无效或已过期",
        html! {
            h1 { "链接无效或已过期" }
            p { "请核对查询码。差评办结一段时间后，查询链接会失效。" }
            form method="get" action="/s" {
                input name="code" placeholder="ABCD-EFGH-JKLM" autocomplete="off" aria-label="查询码";
                button type="submit" { "查询" }
            }
        },
    )
}

/// The client's budget of misses is spent.
pub fn busy() -> String {
    shell(
        "请稍后再试",
        html! { h1 { "查询过于频繁" } p { "请一分钟后再试。" } },
    )
}

/// Where to type a code.
pub fn ask() -> String {
    shell(
        "差评处理进度查询",
        html! {
            h1 { "差评处理进度查询" }
            form method="get" action="/s" {
                input name="code" placeholder="ABCD-EFGH-JKLM" autocomplete="off" aria-label="查询码";
                button type="submit" { "查询" }
            }
        },
    )
}

// ---- the handlers ----

fn answer(html: String, status: u16) -> Response {
    Response::html(status, html)
        .with("Content-Security-Policy", &csp())
        .with("Referrer-Policy", "no-referrer")
        .with("Cache-Control", "no-store")
}

/// `GET /s` (the form to type a code) and `/s?code=…` (to its page).
pub fn ask_page(req: &Request) -> Answer {
    let code = req
        .query_pairs()
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v);
    Ok(
        match code.as_deref().map(crate::fastlane::receipt::normalize) {
            None => answer(ask(), 200),
            Some(Some(t)) => {
                Response::redirect(&format!("/s/{t}")).with("Referrer-Policy", "no-referrer")
            }
            Some(None) => answer(gone(), 404),
        },
    )
}

/// `GET /s/<token>` (the status) and `POST /s/<token>` (the one 追评). `client` is the
/// client's key (`guard::client_key`; "" when no proxy names it: then everyone shares one).
pub async fn page(
    h: &impl Host,
    retention_days: u32,
    req: &Request,
    token: &str,
    client: &str,
) -> Answer {
    let Some(token) = crate::fastlane::receipt::normalize(token) else {
        return Ok(answer(gone(), 404));
    };
    let t = h.now();
    let keep = i64::from(retention_days) * 86_400;
    let mut res = host::run(h, lookup(&token, client, t, keep), false).await?;
    let views: Vec<PhoneView> = host::typed(h, res.pop())?;
    let case: Vec<CaseRow> = host::typed(h, res.pop())?;
    let held: Vec<Held> = host::typed(h, res.pop())?;
    let misses: Vec<Misses> = host::typed(h, res.pop())?;
    let post = req.method == Method::Post;
    if let (None, Some(held), false) = (case.first(), held.first(), post) {
        return Ok(answer(received(held, &token), 200));
    }
    let Some(c) = case.into_iter().next() else {
        // A miss: past the client's budget (or everyone's ceiling) refused with nothing written.
        if misses.first().is_some_and(Misses::spent) {
            return Ok(answer(busy(), 429));
        }
        host::run(h, miss(client, t), false).await?;
        return Ok(answer(gone(), 404));
    };
    if !post {
        return Ok(answer(status(&c, &token, None, &views), 200));
    }
    let verdict = match String::from_utf8_lossy(&req.body).trim() {
        "choice=satisfied" => "satisfied",
        "choice=basic" => "basic",
        "choice=unsatisfied" => "unsatisfied",
        _ => {
            return Err(ApiError::new(
                400,
                "receipt.choice",
                "请选择满意、基本满意或不满意。",
                "Choose one.",
            ));
        }
    };
    let unsatisfied = verdict == "unsatisfied";
    let now_case: Option<CaseRow> =
        // Every 追评 wakes the alarm: a reopening alerts, and any verdict is a case's result to
        // forward.
        match host::try_run(h, followup(c.id, verdict, t), true).await {
            Ok(v) => host::typed::<CaseRow>(h, v.into_iter().next())?.pop(),
            Err(host::DbError::Sql(_)) => None,
            Err(e) => return Err(host::internal(h, "storage", e)),
        };
    let done = now_case.is_some();
    let said = match (done, unsatisfied) {
        (false, _) => "只能追评一次，且须在案件办结之后。",
        (true, false) => "感谢您的追评。",
        (true, true) => "已收到：您的差评将重新办理，工作人员会再次与您联系。",
    };
    Ok(answer(
        status(&now_case.unwrap_or(c), &token, Some(said), &views),
        if done { 200 } else { 409 },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::sql::tests::{db, run};

    #[test]
    fn misses_are_counted_per_client_and_minute() {
        let c = db();
        for _ in 0..MISS_BUDGET {
            for s in miss("a", 600) {
                run(&c, &s);
            }
        }
        for s in miss("b", 600) {
            run(&c, &s);
        }
        let m = |client, at| -> Misses {
            crate::row::of_value(serde_json::Value::Array(run(
                &c,
                &lookup("X", client, at, 0)[0],
            )))
            .unwrap()
            .remove(0)
        };
        let a = m("a", 600);
        assert_eq!((a.client, a.total), (MISS_BUDGET, MISS_BUDGET + 1));
        assert!(a.spent());
        assert!(!m("b", 600).spent());
        assert!(!m("a", 660).spent(), "a new minute");
        assert!(
            Misses {
                client: 0,
                total: MISS_CEILING
            }
            .spent(),
            "everyone's ceiling"
        );
    }
}
