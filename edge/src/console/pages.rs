//! The console's HTML: server-rendered maud pages with plain forms, one stylesheet inline (its
//! hash in the CSP) and no script, so they work in any Chromium from Chrome 86 and by keyboard
//! alone. Every form that writes carries the session's CSRF token.

use super::diff::Preview;
use super::sql::{AuditRow, CodeRow, ErrorRow, Filter, Hold, StatusRow, UploadRow};
use crate::access::{AccountRow, Action, Actor, Role, Scope, TokenRow};
use crate::page::styled_head;
use maud::{DOCTYPE, Markup, html};
use wire::directory::Entry;
use wire::rating::Level;
use wire::time::{Day, format_cst};

pub const CSS: &str = "\
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#1f2329;background:#f4f5f7}\
header{display:flex;align-items:center;gap:24px;background:#8b1a1a;color:#fff;padding:0 24px;height:52px}\
header b{font-size:17px}header nav{display:flex;gap:4px;flex:1}header a{color:#fff;text-decoration:none;padding:6px 10px;border-radius:4px}\
header a[aria-current]{background:rgba(255,255,255,.2);font-weight:600}header form{margin:0}header .who{font-size:13px;opacity:.9}\
main{max-width:1300px;margin:0 auto;padding:16px 24px}h1{font-size:20px;margin:4px 0 12px}h2{font-size:16px;margin:18px 0 8px}\
section{background:#fff;border:1px solid #dfe1e5;border-radius:6px;padding:14px 16px;margin-bottom:14px}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid #e5e6eb;padding:6px 8px;text-align:left;vertical-align:top;font-size:14px}\
th{background:#f0f1f3;font-weight:600}td.num,th.num{text-align:right}\
.row{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end}.row+.row{margin-top:8px}label{display:flex;flex-direction:column;font-size:13px;gap:2px}\
input,select,textarea,button{font:inherit;padding:5px 8px;border:1px solid #b8bcc4;border-radius:4px;background:#fff}\
button{background:#8b1a1a;color:#fff;border-color:#8b1a1a;cursor:pointer}button.plain{background:#fff;color:#8b1a1a}\
:focus-visible{outline:3px solid #1d6fe0;outline-offset:2px}\
.msg{padding:10px 14px;border-radius:4px;margin-bottom:12px}.ok{background:#e8f6ec;border:1px solid #9cd3ad}.err{background:#fdecec;border:1px solid #e49a9a;color:#8b1a1a}\
.warn{color:#b42318;font-weight:600}.muted{color:#646a73;font-size:13px}.add{color:#1a7f37}.del{color:#b42318}.chg{color:#9a6700}\
.card{display:flex;gap:20px;align-items:flex-start}.card svg{width:220px;height:220px;border:1px solid #dfe1e5}\
code,.mono{font-family:ui-monospace,Consolas,monospace;font-size:13px;word-break:break-all}.secret{background:#fff8c5;padding:8px;border:1px dashed #9a6700}\
.login{max-width:380px;margin:80px auto}.login label{margin-bottom:10px}.login input{width:100%}\
form.inline{display:inline-block;margin:4px 4px 0 0}.nowrap{white-space:nowrap}button.danger{background:#fff;color:#b42318;border-color:#b42318}";

/// The CSP of every console page: nothing but this stylesheet and images inline.
pub fn csp() -> String {
    crate::page::styled_csp(
        CSS,
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
}

/// A message above a page's content: done, refused with the reason, or a secret shown once (a
/// new account's password, a new token).
pub enum Flash {
    None,
    Ok(String),
    Err(String),
    Secret { what: String, secret: String },
}

fn flash(f: &Flash) -> Markup {
    html! {
        @match f {
            Flash::None => {},
            Flash::Ok(m) => div.msg.ok role="status" { (m) },
            Flash::Err(m) => div.msg.err role="alert" { (m) },
            Flash::Secret { what, secret } => div.msg.ok role="status" {
                (what) "（只显示这一次，请妥善转交）：" div.secret.mono { (secret) }
            },
        }
    }
}

const PAGES: [(&str, &str, Action); 13] = [
    ("/console/cases", "差评案件", Action::Cases),
    ("/console/ratings", "评价", Action::ReadRatings),
    ("/console/rates", "评价率", Action::ReadRatings),
    ("/console/analysis", "分析", Action::ReadRatings),
    (
        "/console/ratings?hold=held",
        "疑似刷评",
        Action::ReviewRatings,
    ),
    ("/console/codes", "二维码", Action::ReadCodes),
    ("/console/directory", "名录上传", Action::Upload),
    ("/console/status", "转发状态", Action::Status),
    ("/console/routes", "提醒路由", Action::Routes),
    ("/console/calendar", "工作日历", Action::Calendar),
    ("/console/accounts", "账户", Action::Accounts),
    ("/console/tokens", "接口令牌", Action::Accounts),
    ("/console/audit", "审计日志", Action::Audit),
];

/// Every page: the bar (the pages this role may open, who is logged in, logout) and the content.
pub fn layout(
    title: &str,
    me: &Actor,
    csrf: &str,
    current: &str,
    f: &Flash,
    body: Markup,
) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (styled_head(&format!("{title} · 掌上评管理台"), CSS))
            body {
                header {
                    b { "掌上评管理台" }
                    nav aria-label="页面" {
                        @for (href, name, action) in PAGES {
                            @if me.may(action) {
                                @if href == current { a href=(href) aria-current="page" { (name) } }
                                @else { a href=(href) { (name) } }
                            }
                        }
                    }
                    a.who href="/console/password" title="修改密码" { (me.name) "（" (me.role.label()) "，" (me.scope) "）" }
                    form method="post" action="/console/logout" {
                        input type="hidden" name="csrf" value=(csrf);
                        button.plain type="submit" { "退出" }
                    }
                }
                main {
                    h1 { (title) }
                    (flash(f))
                    (body)
                }
            }
        }
    }
    .into_string()
}

pub fn login(name: &str, f: &Flash) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (styled_head("登录 · 掌上评管理台", CSS))
            body {
                main.login {
                    section {
                        h1 { "掌上评管理台" }
                        (flash(f))
                        form method="post" action="/console/login" {
                            label { "账户名" input name="name" value=(name) autocomplete="username" required autofocus; }
                            label { "密码" input name="password" type="password" autocomplete="current-password" required; }
                            button type="submit" { "登录" }
                        }
                        p.muted { "连续输错密码将锁定账户 15 分钟。忘记密码请联系市级管理员。" }
                    }
                }
            }
        }
    }
    .into_string()
}

pub(crate) fn hidden(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

fn day_text(secs: i64) -> String {
    Day::from_unix(secs)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

// ---- ratings ----

pub struct RatingView {
    pub id: String,
    /// The printed code's text.
    pub code: String,
    pub at: i64,
    pub hall: String,
    pub window: String,
    pub dept: String,
    pub staff: String,
    pub level: Level,
    pub tags: String,
    pub matter: String,
    pub comment: String,
    pub phone: String,
    /// 0 counted, 1 held, 2 rejected, 3 released (`ratings.hold`).
    pub hold: i64,
    /// Why it was held, in words.
    pub signals: String,
    pub forwarded: bool,
    /// A system default rating (a 办件 left unrated), not a citizen's.
    pub by_default: bool,
    /// A 非常满意 comment shown on its hall's public page.
    pub praised: bool,
}

/// The filter as the form shows it (dates as typed).
pub struct FilterForm<'a> {
    pub filter: &'a Filter,
    pub from: &'a str,
    pub to: &'a str,
}

fn filter_fields(ff: &FilterForm, halls: &[String], hidden_only: bool) -> Markup {
    let f = ff.filter;
    let level = f.level.map_or("", |l| l.as_str());
    let hold = f.hold.as_str();
    html! {
        @if hidden_only {
            input type="hidden" name="hall" value=(f.hall);
            input type="hidden" name="dept" value=(f.dept);
            input type="hidden" name="staff" value=(f.staff);
            input type="hidden" name="level" value=(level);
            input type="hidden" name="from" value=(ff.from);
            input type="hidden" name="to" value=(ff.to);
            input type="hidden" name="hold" value=(hold);
        } @else {
            label { "大厅"
                select name="hall" {
                    option value="" { "全部" }
                    @for h in halls { option value=(h) selected[*h == f.hall] { (h) } }
                }
            }
            label { "窗口单位" input name="dept" value=(f.dept) size="14"; }
            label { "工作人员（工号或姓名）" input name="staff" value=(f.staff) size="12"; }
            label { "满意度"
                select name="level" {
                    option value="" { "全部" }
                    @for l in Level::ALL { option value=(l.as_str()) selected[l.as_str() == level] { (l.label_zh()) } }
                }
            }
            label { "起始日期" input name="from" type="date" value=(ff.from); }
            label { "截止日期" input name="to" type="date" value=(ff.to); }
            label { "状态"
                select name="hold" {
                    option value="" { "计入统计的" }
                    option value="held" selected[hold == "held"] { "疑似刷评（待复核）" }
                    option value="rejected" selected[hold == "rejected"] { "已驳回" }
                }
            }
        }
    }
}

/// The held queue's bulk decision: every held rating of a code (those on this page, or all),
/// a signal (or any) and a range of days, released or rejected at once.
fn bulk_review(csrf: &str, ff: &FilterForm, rows: &[RatingView], overflow: i64) -> Markup {
    let mut codes: Vec<(&str, String)> = vec![];
    for r in rows {
        if !codes.iter().any(|(c, _)| *c == r.code) {
            codes.push((&r.code, format!("{} {} {}", r.hall, r.window, r.staff)));
        }
    }
    html! {
        section {
            h2 { "批量处理" }
            form.row method="post" action="/console/held/reject" {
                (hidden(csrf))
                label { "二维码"
                    select name="code" {
                        option value="" { "全部（本人范围内）" }
                        @for (c, label) in &codes { option value=(c) { (label) } }
                    }
                }
                label { "触发的规则"
                    select name="signal" {
                        option value="" { "任一" }
                        @for s in crate::guard::SIGNALS { option value=(s) { (crate::guard::signal_label(s)) } }
                    }
                }
                label { "起始日期" input name="from" type="date" value=(ff.from); }
                label { "截止日期" input name="to" type="date" value=(ff.to); }
                button.danger type="submit" { "全部驳回" }
                button type="submit" formaction="/console/held/release" { "全部放行" }
            }
            p.muted { "对符合条件的全部待复核评价一次性处理，审计日志记一条并注明条数。" }
            @if overflow > 0 {
                p.warn { "另有 " (overflow) " 条疑似刷评因超过每个二维码每日的保存上限（HELD_KEEP）只计数、未保存。" }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn ratings(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    ff: &FilterForm,
    halls: &[String],
    rows: &[RatingView],
    total: i64,
    page: i64,
    per_page: i64,
    overflow: i64,
) -> String {
    let body = html! {
        section {
            form.row method="get" action="/console/ratings" {
                (filter_fields(ff, halls, false))
                button type="submit" { "筛选" }
            }
        }
        @if me.role.may(Action::Export) {
            section {
                form.row method="post" action="/console/export" {
                    (hidden(csrf))
                    (filter_fields(ff, halls, true))
                    label { "格式"
                        select name="format" { option value="xlsx" { "Excel (.xlsx)" } option value="csv" { "CSV" } }
                    }
                    @if me.role.may(Action::ExportUnmasked) {
                        label { "回访电话"
                            select name="phones" { option value="masked" { "隐藏中间四位" } option value="full" { "完整（记入审计日志）" } }
                        }
                    }
                    button type="submit" { "导出筛选结果（" (total) " 条）" }
                }
                p.muted { "导出最长一年的范围；电话默认隐藏中间四位。每次导出都记入审计日志。" }
            }
        }
        @if ff.filter.hold == Hold::Held {
            p.muted { "疑似刷评：触发了防刷规则的评价。它们已保存，但不计入统计、不发提醒、不上报省平台，直到放行；驳回的评价保留记录，永不上报。每次决定都记入审计日志；无人处理的在保存期满（HELD_DAYS）后自动驳回。" }
            @if me.role.may(Action::ReviewRatings) {
                (bulk_review(csrf, ff, rows, overflow))
            }
        }
        p { "共 " (total) " 条，按时间倒序。" }
        table {
            thead { tr { th { "时间" } th { "大厅" } th { "窗口" } th { "窗口单位" } th { "工作人员" } th { "满意度" } th { "评价内容" } th { "事项" } th { "文字评价" } th { "电话" } th { "状态" } } }
            tbody {
                @for r in rows {
                    tr {
                        td.mono { (format_cst(r.at)) }
                        td { (r.hall) } td { (r.window) } td { (r.dept) } td { (r.staff) }
                        td {
                            @if r.level.is_bad() { span.warn { (r.level.label_zh()) } } @else { (r.level.label_zh()) }
                            @if r.by_default { div.muted { "系统默认评价" } }
                        }
                        td { (r.tags) } td.mono { (r.matter) }
                        td {
                            (r.comment)
                            @if r.level == Level::VerySatisfied && !r.comment.is_empty() && me.role.may(Action::ReviewRatings) && matches!(r.hold, 0 | 3) {
                                @let (to, label) = if r.praised { ("unpraise", "撤下表扬") } else { ("praise", "公开表扬") };
                                form.inline method="post" action={ "/console/ratings/" (r.id) "/" (to) } {
                                    (hidden(csrf)) button.plain type="submit" { (label) }
                                }
                                @if r.praised { span.muted { "（已在公开结果页显示）" } }
                            }
                        }
                        td.mono { (r.phone) }
                        td {
                            @match r.hold {
                                1 => {
                                    div.warn { "疑似刷评" }
                                    div.muted { (r.signals) }
                                    @if me.role.may(Action::ReviewRatings) {
                                        div.nowrap {
                                            form.inline method="post" action={ "/console/ratings/" (r.id) "/release" } {
                                                (hidden(csrf)) button type="submit" { "放行" }
                                            }
                                            form.inline method="post" action={ "/console/ratings/" (r.id) "/reject" } {
                                                (hidden(csrf)) button.danger type="submit" { "驳回" }
                                            }
                                        }
                                    }
                                }
                                2 => { "已驳回（不上报）" }
                                _ => {
                                    @if r.hold == 3 { "已放行，" }
                                    @if r.forwarded { "已转发" } @else { "待转发" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if total > per_page {
            p {
                @if page > 0 { a href=(page_link(ff, page - 1)) { "上一页" } " " }
                "第 " (page + 1) " / " ((total + per_page - 1) / per_page) " 页 "
                @if (page + 1) * per_page < total { a href=(page_link(ff, page + 1)) { "下一页" } }
            }
        }
    };
    if ff.filter.hold == Hold::Held {
        layout("疑似刷评", me, csrf, "/console/ratings?hold=held", f, body)
    } else {
        layout("评价", me, csrf, "/console/ratings", f, body)
    }
}

fn page_link(ff: &FilterForm, page: i64) -> String {
    let f = ff.filter;
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "/console/ratings?hall={}&dept={}&staff={}&level={}&from={}&to={}&hold={}&page={page}",
        enc(&f.hall),
        enc(&f.dept),
        enc(&f.staff),
        f.level.map_or("", |l| l.as_str()),
        enc(ff.from),
        enc(ff.to),
        f.hold.as_str(),
    )
}

// ---- codes ----

pub fn codes(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    q: &str,
    rows: &[(CodeRow, Option<Entry>)],
) -> String {
    let body = html! {
        section {
            form.row method="get" action="/console/codes" role="search" {
                label { "姓名、工号、窗口或大厅" input name="q" value=(q) size="30" autofocus; }
                button type="submit" { "查找" }
            }
        }
        p { "找到 " (rows.len()) " 个二维码" @if rows.len() >= 200 { "（只列出前 200 个，请缩小范围）" } "。" }
        table {
            thead { tr { th { "大厅" } th { "窗口" } th { "窗口单位" } th { "工作人员" } th { "状态" } th { "编号" } } }
            tbody {
                @for (row, e) in rows {
                    tr {
                        @if let Some(e) = e {
                            td { (e.hall) } td { (e.window) } td { (e.dept) }
                            td { (e.staff_name.as_deref().unwrap_or("")) " " span.muted { (e.staff_id.as_deref().unwrap_or("（窗口码）")) } }
                        } @else { td colspan="4" { "（名录项无法读取）" } }
                        td { @if let Some(r) = &row.revoked { span.warn { "已作废：" (r) } } @else { "有效" } }
                        td { a.mono href={ "/console/codes/" (row.code) } { (row.code) } }
                    }
                }
            }
        }
    };
    layout("二维码", me, csrf, "/console/codes", f, body)
}

/// A QR code as SVG: the URL, error correction M, a 4-module quiet zone.
pub fn qr_svg(url: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
    else {
        return html! {};
    };
    let w = code.width();
    let mut path = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", i % w + 4, i / w + 4));
        }
    }
    let size = w + 8;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (size) " " (size) } role="img" aria-label="二维码" shape-rendering="crispEdges" {
            rect width=(size) height=(size) fill="#fff" {}
            path d=(path) fill="#000" {}
        }
    }
}

pub fn card(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    row: &CodeRow,
    e: &Entry,
    url: Option<&str>,
    tablets: Option<(&[crate::kiosk::KioskRow], Option<&crate::kiosk::DutyRow>)>,
) -> String {
    let body = html! {
        section.card {
            @if let Some(url) = url { (qr_svg(url)) }
            div {
                p { b { (e.hall) " · " (e.window) } }
                p { "窗口单位：" (e.dept) }
                p { "工作人员：" (e.staff_name.as_deref().unwrap_or("（窗口码，不指定人员）")) " " (e.staff_id.as_deref().unwrap_or("")) }
                p { "区划代码：" (e.region) }
                p { "办理事项：" @for (i, m) in e.matters.iter().enumerate() { @if i > 0 { "、" } (m.name) } }
                p { "编号：" code { (row.code) } }
                @if let Some(url) = url {
                    p { "补发卡片的地址（今日签发）：" br; code { (url) } }
                }
                p { "状态：" @if let Some(r) = &row.revoked { span.warn { "已作废（" (r) "）" } } @else { "有效" } }
            }
        }
        @if row.revoked.is_none() && me.role.may(Action::Revoke) {
            section {
                h2 { "作废此二维码" }
                p.muted { "作废后，已印制的这张二维码在 10 秒内打开即显示“二维码无效”，且不能再评价。此操作记入审计日志。" }
                form.row method="post" action={ "/console/codes/" (row.code) "/revoke" } {
                    (hidden(csrf))
                    label { "原因"
                        select name="reason" required {
                            option value="卡片遗失" { "卡片遗失" }
                            option value="人员离岗" { "人员离岗" }
                            option value="窗口撤销" { "窗口撤销" }
                            option value="其他" { "其他" }
                        }
                    }
                    label { "说明（可选）" input name="note" size="30" maxlength="200"; }
                    button type="submit" { "作废" }
                }
            }
        }
        @if let Some((tablets, duty)) = tablets.filter(|_| row.revoked.is_none()) {
            (kiosks(csrf, &row.code, tablets, duty))
        }
        p { a href="/console/codes" { "返回二维码列表" } }
    };
    layout("二维码卡片", me, csrf, "/console/codes", f, body)
}

/// A window code's hall tablets (kiosk mode) and the staff member they show.
fn kiosks(
    csrf: &str,
    code: &str,
    tablets: &[crate::kiosk::KioskRow],
    duty: Option<&crate::kiosk::DutyRow>,
) -> Markup {
    html! {
        section #tablets {
            h2 { "评价平板（大厅平板模式）" }
            p.muted { "窗口的评价平板打开专属地址后待机显示窗口和在岗人员；工作人员点“请评价”或叫号系统推送办件后，市民才能评价一次。平板不使用摄像头。停用后平板立即显示“已停用”。" }
            @if tablets.is_empty() {
                p { "此窗口还没有评价平板。" }
            } @else {
                table {
                    thead { tr { th { "名称" } th { "编号" } th { "创建" } th { "状态" } th {} } }
                    tbody {
                        @for k in tablets {
                            tr {
                                td { (k.label) }
                                td { code { (k.id) } }
                                td { (wire::time::format_cst(k.created_at)) }
                                td {
                                    @if let Some(r) = k.revoked_at { span.warn { "已停用（" (wire::time::format_cst(r)) "）" } }
                                    @else { "使用中" }
                                }
                                td {
                                    @if k.revoked_at.is_none() {
                                        form method="post" action={ "/console/codes/" (code) "/kiosks/revoke" } {
                                            (hidden(csrf))
                                            input type="hidden" name="id" value=(k.id);
                                            button type="submit" { "停用" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.row method="post" action={ "/console/codes/" (code) "/kiosks" } {
                (hidden(csrf))
                label { "平板名称" input name="label" required maxlength="40" placeholder="如：3号窗口评价器"; }
                button type="submit" { "新建评价平板" }
            }
            h2 { "在岗人员" }
            p {
                "平板显示："
                @if let Some(d) = duty { (d.name) "（工号 " (d.staff_no) "）" @if d.photo != 0 { "，有照片" } }
                @else { "（未设置，平板只显示窗口）" }
            }
            p.muted { "叫号系统也可以调用 POST /api/v1/kiosk/<编号>/staff 设置在岗人员。照片可选，JPEG 或 PNG，不超过 256 KB。" }
            form.row method="post" enctype="multipart/form-data" action={ "/console/codes/" (code) "/duty" } {
                (hidden(csrf))
                label { "姓名" input name="name" required maxlength="30"; }
                label { "工号" input name="staff_no" required maxlength="32" pattern="[A-Za-z0-9-]+"; }
                label { "照片（可选）" input name="photo" type="file" accept="image/jpeg,image/png"; }
                button type="submit" { "设为在岗" }
            }
            @if duty.is_some() {
                form.row method="post" action={ "/console/codes/" (code) "/duty" } {
                    (hidden(csrf))
                    input type="hidden" name="op" value="off";
                    button type="submit" { "清除在岗人员" }
                }
            }
        }
    }
}

// ---- directory ----

pub fn directory(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    authorities: &[(String, String)],
    history: &[UploadRow],
) -> String {
    let body = html! {
        section {
            h2 { "上传名录或作废清单" }
            p.muted { "上传 qr-gen 生成的 directory.json（名录）或 revocations.json（作废清单）。上传后先预览变化，确认后才生效。只替换所选发码单位、且在您权限范围内的部分；文件最大 16 MB。" }
            form.row method="post" action="/console/directory" enctype="multipart/form-data" {
                (hidden(csrf))
                label { "发码单位"
                    select name="authority" {
                        @for (code, name) in authorities { option value=(code) { (name) } }
                    }
                }
                label { "文件类型"
                    select name="kind" { option value="directory" { "名录 directory.json" } option value="revocations" { "作废清单 revocations.json" } }
                }
                label { "文件" input type="file" name="file" accept=".json,application/json" required; }
                button type="submit" { "预览" }
            }
        }
        h2 { "已生效的上传" }
        table {
            thead { tr { th { "时间" } th { "类型" } th { "发码单位" } th { "操作人" } th { "变化" } } }
            tbody {
                @for u in history {
                    tr {
                        td.mono { (format_cst(u.applied_at.unwrap_or(u.staged_at))) }
                        td { @if u.kind == "directory" { "名录" } @else { "作废清单" } }
                        td { @if u.authority.is_empty() { "全部" } @else { (u.authority) } }
                        td { (u.actor) }
                        td { (u.summary) }
                    }
                }
            }
        }
    };
    layout("名录上传", me, csrf, "/console/directory", f, body)
}

pub fn preview(me: &Actor, csrf: &str, seq: i64, authority: &str, p: &Preview) -> String {
    let (a, r, c) = p.total();
    let body = html! {
        section {
            p { "发码单位 " b { @if authority.is_empty() { "全部" } @else { (authority) } } "：文件共 " (p.entries) " 个二维码。"
                span.add { "新增 " (a) } "，" span.del { "删除 " (r) } "，" span.chg { "变更 " (c) } "，人员调动 " (p.moves.len()) "。" }
            form.row method="post" action="/console/directory/apply" {
                (hidden(csrf))
                input type="hidden" name="seq" value=(seq);
                button type="submit" { "确认生效" }
                a href="/console/directory" { "放弃" }
            }
        }
        @if !p.moves.is_empty() {
            h2 { "人员调动" }
            ul { @for m in &p.moves { li { (m) } } }
        }
        h2 { "按大厅" }
        table {
            thead { tr { th { "大厅" } th { "新增" } th { "删除" } th { "变更" } th.num { "不变" } } }
            tbody {
                @for (hall, h) in &p.halls {
                    tr {
                        td { (hall) }
                        td.add { (h.added.join("；")) }
                        td.del { (h.removed.join("；")) }
                        td.chg { (h.changed.join("；")) }
                        td.num { (h.unchanged) }
                    }
                }
            }
        }
    };
    layout(
        "预览名录变化",
        me,
        csrf,
        "/console/directory",
        &Flash::None,
        body,
    )
}

pub fn revocations_preview(
    me: &Actor,
    csrf: &str,
    seq: i64,
    authority: &str,
    lines: &[String],
    replaced: usize,
) -> String {
    let body = html! {
        section {
            p { "发码单位 " b { @if authority.is_empty() { "全部" } @else { (authority) } } "：作废清单共 " (lines.len()) " 项，替换现有的 " (replaced) " 项。" }
            form.row method="post" action="/console/directory/apply" {
                (hidden(csrf))
                input type="hidden" name="seq" value=(seq);
                button type="submit" { "确认生效" }
                a href="/console/directory" { "放弃" }
            }
        }
        ul { @for l in lines { li { (l) } } }
    };
    layout(
        "预览作废清单",
        me,
        csrf,
        "/console/directory",
        &Flash::None,
        body,
    )
}

// ---- status ----

pub fn status(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    s: &StatusRow,
    receivers: &[crate::outbox::ReceiverStatus],
    errors: &[ErrorRow],
    now: i64,
) -> String {
    // The receivers are those of the settings (`outbox::sync`): none, nothing is forwarded.
    let forwarding = !receivers.is_empty();
    let ago = |t: i64| format!("{}（{} 分钟前）", format_cst(t), (now - t).max(0) / 60);
    let body = html! {
        section {
            @if !forwarding { p.warn { "未配置上报接收方（UPSTREAMS 或 UPSTREAM_URL）：评价只保存在本机，不转发。" } }
            table {
                tbody {
                    tr { th { "待转发" } td.num { (s.backlog) } }
                    tr { th { "最早的待转发评价" } td { @if let Some(t) = s.oldest_pending { (ago(t)) } @else { "无" } } }
                    tr { th { "本机保存的评价" } td.num { (s.stored) } }
                    tr { th { a href="/console/ratings?hold=held" { "疑似刷评（待复核）" } } td.num { (s.held) } }
                    tr { th { "二维码" } td.num { (s.codes) } }
                }
            }
            @if me.role.may(Action::Retry) {
                form method="post" action="/console/status/retry" {
                    (hidden(csrf))
                    p { button type="submit" { "立即重试转发" } " " span.muted { "上游恢复后使用：所有待转发的评价立即重新发送。" } }
                }
            }
        }
        @if !receivers.is_empty() {
            h2 { "各接收方" }
            table.receivers {
                thead { tr { th { "接收方" } th.num { "待转发" } th { "最早的待转发评价" } th.num { "待转发办结结果" } th { "状态" } th { "上次成功" } } }
                tbody {
                    @for r in receivers {
                        tr {
                            td.mono { (r.name) }
                            td.num { (r.backlog) }
                            td { @if let Some(t) = r.oldest { (ago(t)) } @else { "无" } }
                            td.num { (r.results_backlog) }
                            @if r.attempts > 0 {
                                td.warn { "连续 " (r.attempts) " 轮未送达：" (r.last_error.as_deref().unwrap_or("")) "；" ((r.retry_at - now).max(0)) " 秒后重试" }
                            } @else {
                                td { "正常" }
                            }
                            td { @if let Some(t) = r.last_ok_at { (ago(t)) } @else { "尚未" } }
                        }
                    }
                }
            }
            p.muted { "每个接收方各自排队、各自重试：一个接收方不可达，不耽误其他接收方。" }
        }
        h2 { "最近的转发错误" }
        table {
            thead { tr { th { "接收方" } th { "评价编号" } th { "大厅" } th { "评价时间" } th.num { "尝试次数" } th { "下次重试" } th { "接收方返回" } } }
            tbody {
                @for e in errors {
                    tr {
                        td.mono { (e.receiver) }
                        td.mono { (e.id) } td { (e.hall.as_deref().unwrap_or("")) } td.mono { (format_cst(e.rated_at)) }
                        td.num { (e.attempts) } td.mono { (format_cst(e.next_attempt_at)) } td.mono { (e.last_error) }
                    }
                }
            }
        }
        @if errors.is_empty() { p.muted { "没有转发错误。" } }
    };
    layout("转发状态", me, csrf, "/console/status", f, body)
}

// ---- accounts and tokens ----

fn role_scope_fields(roles: &[Role]) -> Markup {
    html! {
        label { "角色"
            select name="role" { @for r in roles { option value=(r.as_str()) { (r.label()) } } }
        }
        label { "范围"
            select name="scope_kind" { option value="halls" { "指定大厅" } option value="regions" { "指定区划" } option value="all" { "全部" } }
        }
        label { "大厅：每行“区划代码 大厅名称”；区划：每行一个代码" textarea name="scope" rows="2" cols="34" placeholder="330105 便民服务中心" {} }
    }
}

/// An account's or token's role, scope and creation, as table cells.
/// A new account's or token's form: its name, role and scope.
fn grant_form(
    csrf: &str,
    action: &str,
    name: &str,
    button: &str,
    roles: &[Role],
    extra: Markup,
) -> Markup {
    html! {
        form.row method="post" action=(action) {
            (hidden(csrf))
            label { (name) input name="name" required maxlength="32"; }
            (role_scope_fields(roles))
            (extra)
            button type="submit" { (button) }
        }
    }
}

fn grant_cells(role: &str, scope: &str, created_at: i64, created_by: &str) -> Markup {
    html! {
        td { (Role::parse(role).map_or("?", Role::label)) }
        td { (Scope::from_json(scope).map(|s| s.to_string()).unwrap_or_default()) }
        td { (day_text(created_at)) " " span.muted { (created_by) } }
    }
}

pub fn accounts(me: &Actor, csrf: &str, f: &Flash, rows: &[AccountRow], now: i64) -> String {
    let body = html! {
        section {
            h2 { "新建账户" }
            (grant_form(csrf, "/console/accounts", "账户名", "新建（生成初始密码）", &Role::PEOPLE, html! {}))
            p.muted { "初始密码和重置后的密码只显示一次，首次登录时须改为自己的密码。" }
        }
        table {
            thead { tr { th { "账户名" } th { "角色" } th { "范围" } th { "创建" } th { "状态" } th { "操作" } } }
            tbody {
                @for a in rows {
                    tr {
                        td { (a.name) }
                        (grant_cells(&a.role, &a.scope, a.created_at, &a.created_by))
                        td {
                            @if a.disabled != 0 { span.warn { "已停用" } }
                            @else if a.locked_until > now { span.warn { "已锁定至 " (format_cst(a.locked_until)) } }
                            @else { "正常" }
                        }
                        td {
                            form.row method="post" action="/console/accounts/change" {
                                (hidden(csrf))
                                input type="hidden" name="name" value=(a.name);
                                @if a.name != me.name {
                                    @if a.disabled != 0 { button.plain name="op" value="enable" { "启用" } }
                                    @else { button.plain name="op" value="disable" { "停用" } }
                                }
                                @if a.locked_until > now { button.plain name="op" value="unlock" { "解锁" } }
                                button.plain name="op" value="reset" { "重置密码" }
                            }
                        }
                    }
                }
            }
        }
    };
    layout("账户", me, csrf, "/console/accounts", f, body)
}

pub fn tokens(me: &Actor, csrf: &str, f: &Flash, rows: &[TokenRow], now: i64) -> String {
    let body = html! {
        section {
            h2 { "新建接口令牌" }
            p.muted { "供自动化程序调用管理接口（Authorization: Bearer 令牌），权限与账户相同地受角色和范围限制。令牌只显示一次，本机只保存其摘要。" }
            p.muted { "排队叫号或业务系统请选“" (Role::Queue.label()) "”（只能生成和作废一事一评链接、唤起平板），平板在岗信息请选“" (Role::Feed.label()) "”：它们不能导出、上传或改动其他设置。" }
            (grant_form(csrf, "/console/tokens", "用途名称", "新建令牌", &Role::ALL, html! {
                label { "有效期至（可不填）" input name="expires" type="date"; }
            }))
            p.muted { "建议为令牌设定有效期：到期当天结束后令牌失效，需要时再新建。" }
        }
        table {
            thead { tr { th { "名称" } th { "编号" } th { "角色" } th { "范围" } th { "创建" } th { "有效期至" } th { "状态" } } }
            tbody {
                @for t in rows {
                    tr {
                        td { (t.name) } td.mono { (t.id) }
                        (grant_cells(&t.role, &t.scope, t.created_at, &t.created_by))
                        td {
                            @match t.expires_at {
                                Some(at) => {
                                    (day_text(at - 1))
                                    @if at <= now { " " span.warn { "已过期" } }
                                }
                                None => span.muted { "长期（至吊销）" },
                            }
                        }
                        td {
                            @if let Some(at) = t.revoked_at { "已吊销 " (day_text(at)) }
                            @else {
                                form method="post" action="/console/tokens/revoke" {
                                    (hidden(csrf))
                                    input type="hidden" name="id" value=(t.id);
                                    button.plain type="submit" { "吊销" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout("接口令牌", me, csrf, "/console/tokens", f, body)
}

// ---- audit ----

/// 评价率 of the windows in scope for a month or quarter, lowest first (the windows to look at);
/// those without served figures say "无办件数据" and come last.
pub fn rates(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    period: &str,
    rows: &[crate::served::CodeRate],
) -> String {
    let all = crate::served::Rate::of(rows);
    let body = html! {
        section {
            form.row method="get" action="/console/rates" {
                label { "月份或季度" input name="period" value=(period) size="9" placeholder="2026-12 或 2026-Q4"; }
                button type="submit" { "查看" }
            }
            @if me.role.may(Action::Export) {
                form.row method="get" action="/console/report" {
                    input type="hidden" name="period" value=(period);
                    button.plain type="submit" { "导出考核通报（Excel）" }
                    span.muted { "本范围每个窗口和每位工作人员一行：评价数、好评、满意率、复核后归属的差评、按时回访与整改、评价率；不含评价内容和具体时间。" }
                }
            }
            p {
                "本范围 " (period) "：办件 " (all.served) " 件，群众评价 " (all.rated) " 次，主动评价率 "
                strong { (all.shown()) } "；系统默认评价 " (all.defaults) " 件，实际评价率 "
                strong { (all.shown_actual()) } "；从未评价的办件 " (all.never) " 件。"
            }
            p.muted {
                "主动评价率 = 群众评价次数 ÷ 办件数（一事一评链接、平板发起与叫号系统报送的办件）；"
                "实际评价率另计逾期未评价、按规定给出的系统默认评价。"
                "没有办件数据的窗口显示“无办件数据”，不计入合计。"
            }
        }
        table {
            thead { tr { th { "大厅" } th { "窗口" } th { "单位" } th { "工作人员" } th.num { "办件" } th.num { "评价" } th.num { "主动评价率" } th.num { "默认评价" } th.num { "实际评价率" } th.num { "未评价办件" } } }
            tbody {
                @for r in rows {
                    tr {
                        td { (r.hall) } td { (r.window) } td { (r.dept) }
                        td { (r.staff_name.as_deref().unwrap_or("（窗口）")) }
                        td.num { (r.served) } td.num { (r.rated) }
                        td.num { (r.rate().shown()) } td.num { (r.defaults) }
                        td.num { (r.rate().shown_actual()) } td.num { (r.never) }
                    }
                }
            }
        }
    };
    layout("评价率", me, csrf, "/console/rates", f, body)
}

pub fn audit(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    q: (&str, &str, &str, &str),
    rows: &[AuditRow],
) -> String {
    let (actor, action, from, to) = q;
    let body = html! {
        section {
            form.row method="get" action="/console/audit" {
                label { "操作人" input name="actor" value=(actor) size="14"; }
                label { "操作" input name="action" value=(action) size="16" list="actions"; }
                datalist id="actions" {
                    @for a in ["login", "login.failed", "login.locked", "directory.apply", "revocations.apply", "code.revoke", "export", "export.unmasked", "account.add", "account.change", "token.add", "token.revoke", "retry"] { option value=(a) {} }
                }
                label { "起始日期" input name="from" type="date" value=(from); }
                label { "截止日期" input name="to" type="date" value=(to); }
                button type="submit" { "筛选" }
            }
        }
        table {
            thead { tr { th { "时间" } th { "操作人" } th { "角色" } th { "操作" } th { "对象" } th { "内容" } } }
            tbody {
                @for r in rows {
                    tr {
                        td.mono { (format_cst(r.at)) } td { (r.actor) }
                        td { (crate::access::role_label(&r.role).unwrap_or(&r.role)) }
                        td.mono { (r.action) } td { (r.target) } td { (r.detail) }
                    }
                }
            }
        }
        @if rows.is_empty() { p.muted { "没有符合条件的记录。" } }
    };
    layout("审计日志", me, csrf, "/console/audit", f, body)
}

/// The account's own password: a new one, typed twice. `forced`: a generated password (a new
/// account's, or a reset) must be replaced before anything else.
pub fn password(me: &Actor, csrf: &str, f: &Flash, forced: bool) -> String {
    let body = html! {
        section {
            @if forced { p.warn { "您正在使用管理员生成的密码，请先设置自己的密码。" } }
            form method="post" action="/console/password" {
                (hidden(csrf))
                div.row {
                    label { "当前密码" input type="password" name="current" required autocomplete="current-password"; }
                }
                div.row {
                    label { "新密码（至少 10 个字符，不含账户名）" input type="password" name="password" required autocomplete="new-password" minlength="10"; }
                    label { "再输入一次" input type="password" name="again" required autocomplete="new-password"; }
                }
                div.row { button type="submit" { "修改密码" } }
            }
        }
    };
    layout("修改密码", me, csrf, "/console/password", f, body)
}

/// A page for a refused request that has no form to return to (no access, not found).
pub fn refused(me: &Actor, csrf: &str, message: &str) -> String {
    layout(
        "无法完成",
        me,
        csrf,
        "",
        &Flash::Err(message.into()),
        html! { p { a href="/console/ratings" { "返回首页" } } },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csp_allows_exactly_the_stylesheet_and_pages_carry_csrf() {
        assert!(csp().starts_with("default-src 'none'; style-src 'sha256-"));
        let me = Actor {
            name: "<王>".into(),
            role: Role::Hall,
            scope: Scope::hall("330102", "上城"),
        };
        let p = status(
            &me,
            "TOKEN",
            &Flash::Err("坏<".into()),
            &StatusRow {
                backlog: 1,
                oldest_pending: Some(0),
                stored: 2,
                held: 0,
                codes: 3,
            },
            &[crate::outbox::ReceiverStatus {
                name: "province".into(),
                attempts: 3,
                retry_at: 180,
                last_error: Some("upstream status <503>".into()),
                last_ok_at: None,
                backlog: 1,
                oldest: Some(0),
                results_backlog: 2,
            }],
            &[],
            120,
        );
        assert!(
            p.contains("连续 3 轮未送达：upstream status &lt;503&gt;；60 秒后重试"),
            "{p}"
        );
        assert!(p.contains("&lt;王&gt;") && p.contains("坏&lt;"));
        assert!(p.contains("name=\"csrf\" value=\"TOKEN\""));
        // A hall admin's bar has no accounts or audit pages.
        assert!(!p.contains("/console/accounts") && !p.contains("/console/audit"));
        assert!(p.contains("立即重试转发"));
    }

    #[test]
    fn qr_svg_draws_modules() {
        let s = qr_svg("https://zsp.example.gov.cn/ABC").into_string();
        assert!(s.starts_with("<svg") && s.matches('z').count() > 100);
    }
}
