//! The 差评 fast lane's pages: open cases by deadline, a case with its history and its next
//! steps, the alert routes, and the working-day calendar. Same layout, forms and rules as the
//! rest of the console (`pages`).

use super::pages::{Flash, hidden, layout};
use crate::access::{Action, Actor};
use crate::fastlane::NOTE_MAX_CHARS;
use crate::fastlane::{
    ABOUTS, APPEALS, AUDIENCES, AlertRow, CalendarRow, CaseRow, EXTENSIONS, FINDINGS, OUTCOMES,
    ROUTE_KINDS, RouteRow, Step, StepRow, TRACKS, label,
};
use maud::{Markup, html};
use wire::calendar::Calendar;
use wire::rating::{Level, tag};
use wire::time::{Day, format_cst_minute as minute};

/// Time left to a deadline in words: `剩 3 小时 20 分`, or `已超期 1 天 2 小时` in red.
pub fn left(due: i64, now: i64) -> Markup {
    let d = (due - now).abs();
    let text = if d >= 86_400 {
        format!("{} 天 {} 小时", d / 86_400, d % 86_400 / 3600)
    } else {
        format!("{} 小时 {} 分", d / 3600, d % 3600 / 60)
    };
    html! {
        @if due < now { span.warn { "已超期 " (text) } } @else { "剩 " (text) }
    }
}

fn tags_text(c: &CaseRow) -> String {
    c.tags()
        .iter()
        .filter_map(|t| tag(*t).map(|t| t.zh))
        .collect::<Vec<_>>()
        .join("、")
}

fn level_text(c: &CaseRow) -> &'static str {
    c.level().map_or("", Level::label_zh)
}

fn state_text(c: &CaseRow) -> String {
    let mut s = c.state().label_zh().to_owned();
    if c.overturned() {
        s.push_str("（复核撤销，不计入统计）");
    }
    s
}

/// What the ledger counts, overturned cases apart: cases, callbacks on time, overdue now.
pub struct Tally {
    pub cases: usize,
    pub overturned: usize,
    pub called_on_time: usize,
    pub called: usize,
    pub overdue_now: usize,
}

impl Tally {
    pub fn of(cases: &[CaseRow], now: i64) -> Tally {
        let counted: Vec<&CaseRow> = cases.iter().filter(|c| !c.overturned()).collect();
        Tally {
            cases: counted.len(),
            overturned: cases.len() - counted.len(),
            called_on_time: counted
                .iter()
                .filter(|c| c.on_time().0 == Some(true))
                .count(),
            called: counted.iter().filter(|c| c.called_at.is_some()).count(),
            overdue_now: counted
                .iter()
                .filter(|c| c.due().is_some_and(|(d, _)| d < now))
                .count(),
        }
    }
}

pub fn cases(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    open: &[CaseRow],
    tally: &Tally,
    guessed_years: &[i64],
    now: i64,
) -> String {
    let today = Day::from_unix(now).map_or(String::new(), |d| d.to_string());
    let body = html! {
        @if !guessed_years.is_empty() {
            p.msg.err role="alert" {
                "未载入 " (guessed_years.iter().map(i64::to_string).collect::<Vec<_>>().join("、"))
                " 年的工作日历：这些年份按周一至周五计算期限，节假日与调休未计入。请市级管理员在“工作日历”中载入。"
            }
        }
        section {
            p {
                "近 30 天差评 " b { (tally.cases) } " 件；已回访 " (tally.called) " 件，其中按时回访 " (tally.called_on_time) " 件；"
                "当前超期 " @if tally.overdue_now > 0 { span.warn { (tally.overdue_now) } } @else { "0" } " 件。"
                @if tally.overturned > 0 { " 复核撤销 " (tally.overturned) " 件，不计入以上统计。" }
            }
            form.row method="get" action="/console/cases/export" {
                label { "从" input type="date" name="from" required value=(Day::from_unix(now - 30 * 86_400).map_or(String::new(), |d| d.to_string())); }
                label { "至" input type="date" name="to" required value=(today); }
                label { "格式" select name="format" { option value="xlsx" { "Excel (.xlsx)" } option value="csv" { "CSV" } } }
                button type="submit" { "导出差评台账" }
            }
        }
        h2 { "未办结的案件（按期限排序）" }
        table {
            thead { tr { th { "案件" } th { "状态" } th { "期限" } th { "剩余时间" } th { "大厅 · 窗口" } th { "工号" } th { "评价" } th { "原因" } th { "评价时间" } } }
            tbody {
                @for c in open {
                    @let e = c.entry();
                    tr {
                        td { a href={ "/console/cases/" (c.id) } { (c.number()) } }
                        td { (state_text(c)) }
                        @match c.due() {
                            Some((d, what)) => { td.mono { (what) " " (minute(d)) } td { (left(d, now)) } }
                            None => { td.muted { "—" } td.muted { "—" } }
                        }
                        td { (c.hall.as_deref().unwrap_or("")) " · " (e.as_ref().map_or("", |e| e.window.as_str())) }
                        td.mono { (c.staff.as_deref().unwrap_or("窗口码")) }
                        td { (level_text(c)) }
                        td { (tags_text(c)) }
                        td.mono { (minute(c.opened_at)) }
                    }
                }
            }
        }
        @if open.is_empty() { p.muted { "没有未办结的差评案件。" } }
    };
    layout("差评案件", me, csrf, "/console/cases", f, body)
}

fn step_text(s: &StepRow) -> String {
    let name = match s.step.as_str() {
        "amended" => {
            return format!(
                "评价人追评：{}",
                Level::parse(&s.note).map_or("", Level::label_zh)
            );
        }
        "callback" => "记录回访",
        "start_fix" => "开始整改",
        "check" => "核实",
        "extend" => "申请延期",
        "decide_approved" => "批准延期",
        "decide_refused" => "不批准延期",
        "classify" => "复核：改判所涉",
        "fixed" => "整改措施",
        "replied" => "反馈",
        "close" => "办结",
        "appeal" => "登记申诉",
        "review_upheld" => "复核：维持差评",
        "review_overturned" => "复核：撤销差评",
        "repeat_staff" => "重复差评（同一人员）",
        "repeat_matter" => "重复差评（同一人员同一事项）",
        "phone" if s.role == crate::access::BRIDGE_ROLE => "回访电话随工单发送",
        "phone" => "调阅回访电话",
        "order_received" => "工单已受理",
        "order_handling" => "工单办理中（已回访）",
        "order_reopened" => "工单重新交办",
        "followup" => {
            return if s.note == "unsatisfied" {
                "评价人追评：仍不满意，案件重办".into()
            } else {
                format!("评价人追评：{}", label(&crate::fastlane::VERDICTS, &s.note))
            };
        }
        other => other,
    };
    if s.note.is_empty() {
        name.to_owned()
    } else {
        format!("{name}：{}", s.note)
    }
}

#[allow(clippy::too_many_arguments)]
pub fn case(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    c: &CaseRow,
    steps: &[StepRow],
    alerts: &[AlertRow],
    phone: Option<&str>,
    now: i64,
) -> String {
    let e = c.entry();
    let st = c.state();
    let at = c.at();
    let (cb, fx) = c.on_time();
    let on = |v: Option<bool>| match v {
        Some(true) => "按时",
        Some(false) => "超期",
        None => "",
    };
    let action = format!("/console/cases/{}/step", c.id);
    let body = html! {
        section {
            table { tbody {
                tr { th { "状态" } td { b { (state_text(c)) } } th { "评价" } td { (level_text(c)) } }
                tr { th { "大厅" } td { (c.hall.as_deref().unwrap_or("")) } th { "窗口 · 单位" } td { (e.as_ref().map_or(String::new(), |e| format!("{} · {}", e.window, e.dept))) } }
                tr { th { "工号" } td.mono { (c.staff.as_deref().unwrap_or("窗口码")) } th { "事项" } td { (c.matter.as_deref().unwrap_or("（未填）")) } }
                tr { th { "原因" } td { (tags_text(c)) } th { "评价时间" } td.mono { (minute(c.opened_at)) } }
                tr { th { "意见" } td colspan="3" { (c.comment) } }
                tr { th { "回访期限" } td.mono { @if let Some(d) = c.callback_due { (minute(d)) " " (on(cb)) } } th { "整改期限" } td.mono { @if let Some(d) = c.fix_due { (minute(d)) " " (on(fx)) } } }
                @if let Some((d, what)) = c.due() { tr { th { "剩余时间" } td colspan="3" { (what) "：" (left(d, now)) } } }
                @if let Some(g) = &c.guessed { tr { th { "日历" } td.warn colspan="3" { (g) " 年未载入工作日历，期限按周一至周五计算。" } } }
                @if let Some(o) = &c.outcome { tr { th { "回访结果" } td colspan="3" { (label(&OUTCOMES, o)) } } }
                @if let Some(fd) = &c.finding {
                    tr { th { "核实" } td colspan="3" {
                        (label(&FINDINGS, fd)) "；所涉：" (c.about.as_deref().map_or("", |a| label(&ABOUTS, a)))
                        @if let Some(t) = &c.track { "；整改类型：" (label(&TRACKS, t)) }
                    } }
                }
                @if let Some(x) = &c.ext_state {
                    tr { th { "延期" } td colspan="3" {
                        (label(&EXTENSIONS, x)) "：至 " (c.ext_until.and_then(|d| u16::try_from(d).ok()).map_or(String::new(), |d| Day(d).to_string()))
                        "；理由：" (c.ext_reason.as_deref().unwrap_or(""))
                    } }
                }
                @if let Some(m) = &c.measures { tr { th { "整改措施" } td colspan="3" { (m) } } }
                @if let Some(r) = &c.reply { tr { th { "反馈内容" } td colspan="3" { (r) } } }
                @if let Some(a) = &c.appeal { tr { th { "申诉" } td colspan="3" { (label(&APPEALS, a)) @if let Some(r) = &c.review { "；复核：" (if r == "overturned" { "撤销差评（保留记录，不计入统计）" } else { "维持差评" }) } } } }
            } }
        }
        @if st.open() {
            section {
                h2 { "回访电话" }
                @match phone {
                    Some(p) => p { b.mono { (p) } " " span.muted { "（本次查看已记入审计日志）" } },
                    None => form method="post" action={ "/console/cases/" (c.id) "/phone" } {
                        (hidden(csrf))
                        button.plain type="submit" { "查看回访电话" } " " span.muted { "仅在案件办结前可查看，每次查看记入审计日志。" }
                    },
                }
            }
            section {
                h2 { "下一步" }
                @if Step::offered("callback", at) {
                    form.row method="post" action=(action) {
                        (hidden(csrf)) input type="hidden" name="action" value="callback";
                        label { "回访结果" select name="value" { @for (k, v) in OUTCOMES { option value=(k) { (v) } } } }
                        label { "备注" input name="note" maxlength=(NOTE_MAX_CHARS) size="40"; }
                        button type="submit" { "记录回访" }
                    }
                }
                @if Step::offered("check", at) {
                    form.row method="post" action=(action) {
                        (hidden(csrf)) input type="hidden" name="action" value="check";
                        label { "核实结论" select name="value" { @for (k, v) in FINDINGS { option value=(k) { (v) } } } }
                        label { "差评所涉" select name="about" { @for (k, v) in ABOUTS { option value=(k) { (v) } } } }
                        label { "整改类型" select name="track" { @for (k, v) in TRACKS { option value=(k) { (v) } } } }
                        label { "备注" input name="note" maxlength=(NOTE_MAX_CHARS) size="30"; }
                        button type="submit" { "记录核实" }
                    }
                    p.muted { "属实、部分属实：按所选整改类型的期限整改；不属实：交大厅管理员复核。只有“工作人员”类差评计入工作人员的统计。" }
                }
                @if Step::offered("extend", at) {
                    form.row method="post" action=(action) {
                        (hidden(csrf)) input type="hidden" name="action" value="extend";
                        label { "延期理由（评价人可见）" input name="value" maxlength=(NOTE_MAX_CHARS) size="30" required; }
                        label { "新的整改期限" input type="date" name="until" required; }
                        button.plain type="submit" { "申请延期" }
                    }
                }
                @if Step::offered("decide", at) {
                    @if me.may(Action::ReviewCase) {
                        form.row method="post" action=(action) {
                            (hidden(csrf)) input type="hidden" name="action" value="decide";
                            label { "延期审批" select name="value" { option value="approve" { "批准" } option value="refuse" { "不批准" } } }
                            label { "意见" input name="note" maxlength=(NOTE_MAX_CHARS) size="30"; }
                            button type="submit" { "提交审批" }
                        }
                    } @else {
                        p.muted { "延期申请待大厅管理员审批。" }
                    }
                }
                @if Step::offered("classify", at) && me.may(Action::ReviewCase) {
                    form.row method="post" action=(action) {
                        (hidden(csrf)) input type="hidden" name="action" value="classify";
                        label { "复核：差评所涉" select name="value" { @for (k, v) in ABOUTS { option value=(k) selected[c.about.as_deref() == Some(k)] { (v) } } } }
                        label { "意见" input name="note" maxlength=(NOTE_MAX_CHARS) size="30"; }
                        button.plain type="submit" { "改判所涉" }
                    }
                }
                @if Step::offered("fixed", at) {
                    form.row method="post" action=(action) {
                        (hidden(csrf)) input type="hidden" name="action" value="fixed";
                        label { "整改措施" textarea name="value" rows="2" cols="50" maxlength=(NOTE_MAX_CHARS) required {} }
                        button type="submit" { "记录整改措施" }
                    }
                }
                @if Step::offered("replied", at) {
                    form.row method="post" action=(action) {
                        (hidden(csrf)) input type="hidden" name="action" value="replied";
                        label { "给评价人的反馈" textarea name="value" rows="2" cols="50" maxlength=(NOTE_MAX_CHARS) required {} }
                        label { "公开" select name="publish" { option value="1" { "在评价人的查询页显示" } option value="0" { "不显示" } } }
                        button type="submit" { "记录反馈" }
                    }
                }
                @if Step::offered("close", at) {
                    form.row method="post" action=(action) {
                        (hidden(csrf)) input type="hidden" name="action" value="close";
                        label { "备注" input name="note" maxlength=(NOTE_MAX_CHARS) size="40"; }
                        button type="submit" { "办结" }
                    }
                }
                @if Step::offered("appeal", at) {
                    form.row method="post" action=(action) {
                        (hidden(csrf)) input type="hidden" name="action" value="appeal";
                        label { "工作人员申诉" select name="value" { @for (k, v) in APPEALS { option value=(k) { (v) } } } }
                        label { "申诉理由" input name="note" maxlength=(NOTE_MAX_CHARS) size="40" required; }
                        button.plain type="submit" { "登记申诉" }
                    }
                }
                @if Step::offered("review", at) {
                    @if me.may(Action::ReviewCase) {
                        form.row method="post" action=(action) {
                            (hidden(csrf)) input type="hidden" name="action" value="review";
                            label { "复核结论" select name="value" { option value="upheld" { "维持差评" } option value="overturned" { "撤销差评（保留记录，不计入统计）" } } }
                            label { "复核意见" input name="note" maxlength=(NOTE_MAX_CHARS) size="40" required; }
                            button type="submit" { "提交复核" }
                        }
                    } @else {
                        p.muted { "申诉待大厅管理员或市级管理员复核。" }
                    }
                }
            }
        }
        h2 { "处理记录" }
        table {
            thead { tr { th { "时间" } th { "人员" } th { "记录" } } }
            tbody {
                tr { td.mono { (minute(c.opened_at)) } td { "系统" } td { "收到差评，立案" } }
                @for s in steps { tr { td.mono { (minute(s.at)) } td { (s.actor) } td { (step_text(s)) } } }
            }
        }
        h2 { "提醒发送" }
        table {
            thead { tr { th { "提醒" } th { "路由" } th { "发送时间" } th.num { "尝试" } th { "最近错误" } } }
            tbody {
                @for a in alerts {
                    tr {
                        td { (alert_kind(&a.kind)) @if a.detail == "own" { span.muted { "（该系统自行重新交办，不回送）" } } } td { (a.route) }
                        td.mono { @match a.sent_at { Some(-1) => "（路由已删除）", Some(t) => (minute(t)), None => "待发送" } }
                        td.num { (a.attempts) } td.mono { (a.last_error.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        @if alerts.is_empty() { p.muted { "没有匹配的提醒路由。" } }
        p { a href="/console/cases" { "← 返回案件列表" } }
    };
    layout(
        &format!("差评案件 {}", c.number()),
        me,
        csrf,
        "/console/cases",
        f,
        body,
    )
}

fn alert_kind(k: &str) -> &'static str {
    match k {
        "new" => "新差评",
        "repeat_staff" => "重复差评（同一人员）",
        "repeat_matter" => "重复差评（同一人员同一事项）",
        "soon_callback" => "临期：回访",
        "soon_fix" => "临期：整改",
        "overdue_callback" => "超期：回访",
        "overdue_fix" => "超期：整改",
        k if k.starts_with("reopened") => "案件重新办理",
        "order" => "工单",
        k if k.starts_with("reorder-") => "工单：重新交办",
        _ => "",
    }
}

pub fn routes(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    rows: &[RouteRow],
    halls: &[super::sql::PlaceRow],
) -> String {
    let body = html! {
        section {
            p.muted { "每条差评在数秒内推送到匹配的群（大厅、单位为空表示全部）。消息只含评价等级、原因、大厅窗口单位、工号、时间、期限和控制台链接，不含评价意见、电话或设备。同一群每分钟最多 20 条，超出时自动合并为汇总消息。12345 工单系统（接收对象“工单”）收到每条差评的工单：含评价意见，回访电话仅在评价人同意且对方是运维列入 OWN_HOSTS 的本单位系统时附带；对方用回传密钥签名回传办理进展，本页显示的编号即其 Zsp-Bridge。" }
            form method="post" action="/console/routes" {
                (hidden(csrf))
                div.row {
                    label { "名称" input name="name" required maxlength="32"; }
                    label { "类型" select name="kind" { @for (k, v) in ROUTE_KINDS { option value=(k) { (v) } } } }
                    label { "接收对象" select name="audience" { @for (k, v) in AUDIENCES { option value=(k) { (v) } } } }
                    label { "大厅" select name="place" {
                        @if me.scope == crate::access::Scope::All { option value="" { "全部大厅" } }
                        @for h in halls { option value=(format!("{} {}", h.region, h.hall)) { (h.hall) "（" (h.region) "）" } }
                    } }
                    label { "单位（可空）" input name="dept" maxlength="64"; }
                }
                div.row {
                    label { "地址（机器人或系统的 Webhook）" input name="url" required size="60" placeholder="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"; }
                    label { "密钥（钉钉加签 SEC…；通用 Webhook、工单系统的签名密钥）" input name="secret" size="36" autocomplete="off"; }
                    label { "回传密钥（仅 12345 工单系统：对方签名回传事件所用）" input name="inbound" size="36" autocomplete="off"; }
                    label { "消息含姓名" select name="names" { option value="0" { "否（只含工号）" } option value="1" { "是" } } }
                    button type="submit" { "添加路由" }
                }
            }
        }
        table {
            thead { tr { th { "名称" } th { "类型" } th { "接收对象" } th { "大厅" } th { "单位" } th { "地址" } th { "姓名" } th { "添加" } th {} } }
            tbody {
                @for r in rows {
                    tr {
                        td { (r.name) @if r.kind == "workorder" { br; span.muted { "编号 " (r.id) "（回传事件的 Zsp-Bridge）" } } } td { (label(&ROUTE_KINDS, &r.kind)) } td { (label(&AUDIENCES, &r.audience)) }
                        td { (r.hall.as_deref().unwrap_or("全部")) @if let Some(g) = &r.region { span.muted { "（" (g) "）" } } } td { (r.dept.as_deref().unwrap_or("全部")) }
                        td.mono { (r.shown) } td { (if r.names != 0 { "含姓名" } else { "只含工号" }) }
                        td { (r.created_by) " " span.muted { (minute(r.created_at)) } }
                        td { form method="post" action="/console/routes/delete" {
                            (hidden(csrf)) input type="hidden" name="id" value=(r.id);
                            button.plain type="submit" { "删除" }
                        } }
                    }
                }
            }
        }
        @if rows.is_empty() { p.muted { "还没有提醒路由：差评只在控制台中可见。" } }
    };
    layout("提醒路由", me, csrf, "/console/routes", f, body)
}

pub fn calendar(
    me: &Actor,
    csrf: &str,
    f: &Flash,
    cal: &Calendar,
    edited: &[CalendarRow],
    shown: &wire::calendar::YearCalendar,
    now: i64,
) -> String {
    let this_year = Day::from_unix(now).map_or(2026, |d| d.ymd().0);
    let body = html! {
        @for y in [this_year, this_year + 1] {
            @if !cal.knows(y) {
                p.msg.err role="alert" { (y) " 年的工作日历未载入：该年的期限按周一至周五计算，节假日与调休未计入。请按国务院办公厅的放假通知载入。" }
            }
        }
        section {
            p.muted { "期限按工作日计算时，以此日历为准：放假日不计，调休上班日（周末）计入。每年一份，注明来源（国务院办公厅关于当年部分节假日安排的通知）。随版本提供的年份可在此修改，修改后以此处为准。" }
            table {
                thead { tr { th { "年份" } th.num { "放假日" } th.num { "调休上班日" } th { "来源" } th { "修改" } } }
                tbody {
                    @for y in this_year - 1..=this_year + 1 {
                        @if let Some(yc) = cal.year(y) {
                            tr {
                                td { a href={ "/console/calendar?year=" (y) } { (y) } }
                                td.num { (yc.holidays.len()) } td.num { (yc.workdays.len()) } td { (yc.source) }
                                td { @if let Some(e) = edited.iter().find(|e| e.year == y) { (e.by_actor) " " span.muted { (minute(e.at)) } } @else { span.muted { "随版本提供" } } }
                            }
                        } @else {
                            tr { td { a href={ "/console/calendar?year=" (y) } { (y) } } td.warn colspan="4" { "未载入" } }
                        }
                    }
                }
            }
        }
        h2 { (shown.year) " 年" }
        form method="post" action="/console/calendar" {
            (hidden(csrf))
            input type="hidden" name="year" value=(shown.year);
            p { label { "来源（通知标题、日期与网址）" input name="source" size="100" required value=(shown.source); } }
            div.row {
                label { "放假日（每行一个 YYYY-MM-DD）" textarea name="holidays" rows="14" cols="24" { (lines(&shown.holidays)) } }
                label { "调休上班日（每行一个 YYYY-MM-DD，须为周末）" textarea name="workdays" rows="14" cols="24" { (lines(&shown.workdays)) } }
            }
            p { button type="submit" { "保存 " (shown.year) " 年日历" } }
        }
    };
    layout("工作日历", me, csrf, "/console/calendar", f, body)
}

fn lines(days: &std::collections::BTreeSet<Day>) -> String {
    days.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ledger's columns, as a supervisor files them.
pub const LEDGER_HEADER: [&str; 22] = [
    "案件编号",
    "评价日期",
    "大厅",
    "窗口",
    "单位",
    "工号",
    "姓名",
    "事项",
    "评价等级",
    "原因",
    "评价意见",
    "状态",
    "回访期限",
    "回访时间",
    "回访结果",
    "回访是否按时",
    "整改措施",
    "整改时间",
    "整改是否按时",
    "反馈内容",
    "反馈时间",
    "办结时间",
];

/// One case as the ledger's row (申诉 and 复核 in 状态).
pub fn ledger_row(c: &CaseRow) -> Vec<String> {
    let e = c.entry();
    let t = |v: Option<i64>| v.map(minute).unwrap_or_default();
    let on = |v: Option<bool>| match v {
        Some(true) => "按时".to_owned(),
        Some(false) => "超期".to_owned(),
        None => String::new(),
    };
    let (cb, fx) = c.on_time();
    let mut state = state_text(c);
    if let Some(a) = &c.appeal {
        state.push_str(&format!("；申诉：{}", label(&APPEALS, a)));
    }
    vec![
        c.number(),
        Day::from_unix(c.opened_at).map_or(String::new(), |d| d.to_string()),
        c.hall.clone().unwrap_or_default(),
        e.as_ref().map_or(String::new(), |e| e.window.clone()),
        e.as_ref().map_or(String::new(), |e| e.dept.clone()),
        c.staff.clone().unwrap_or_default(),
        e.as_ref()
            .and_then(|e| e.staff_name.clone())
            .unwrap_or_default(),
        c.matter.clone().unwrap_or_default(),
        level_text(c).to_owned(),
        tags_text(c),
        c.comment.clone(),
        state,
        t(c.callback_due),
        t(c.called_at),
        c.outcome
            .as_deref()
            .map_or(String::new(), |o| label(&OUTCOMES, o).to_owned()),
        on(cb),
        c.measures.clone().unwrap_or_default(),
        t(c.fixed_at),
        on(fx),
        c.reply.clone().unwrap_or_default(),
        t(c.replied_at),
        t(c.closed_at),
    ]
}
