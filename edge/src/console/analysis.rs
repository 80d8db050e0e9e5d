//! The console's 分析 page and JSON: `crate::analysis` for the account's scope, over the last
//! weeks up to this one.

use super::handlers::{flash_of, page, refused};
use super::pages::layout;
use crate::access::Actor;
use crate::analysis::{
    MatterRow, RECUR_DAYS, ReasonRow, Recurrence, WEEKS, WEEKS_MAX, compute, monday, queries,
};
use crate::error::ApiError;
use crate::host::{self, Host};
use crate::http::{Request, Response};
use maud::html;
use wire::time::Day;

/// `GET /console/analysis` (`?weeks=8`, `&format=json`): the scope's analysis.
pub async fn answer(
    h: &impl Host,
    req: &Request,
    me: &Actor,
    csrf: &str,
) -> Result<Response, ApiError> {
    let weeks = match req.param("weeks").as_str() {
        "" => WEEKS,
        w => w
            .parse::<u16>()
            .ok()
            .filter(|w| (2..=WEEKS_MAX).contains(w))
            .ok_or_else(|| {
                refused(
                    400,
                    "console.weeks",
                    "周数应为 2 至 26。",
                    "weeks: 2 to 26".into(),
                )
            })?,
    };
    let today = Day::from_unix(h.now()).unwrap_or(Day(0));
    let first = monday(today).saturating_sub(7 * (weeks - 1));
    let mut res = host::run(h, queries(&me.scope, first, weeks, h.now()), false).await?;
    let r: Vec<Recurrence> = host::typed(h, res.pop())?;
    let m: Vec<MatterRow> = host::typed(h, res.pop())?;
    let rows: Vec<ReasonRow> = host::typed(h, res.pop())?;
    let a = compute(
        first,
        weeks,
        &rows,
        m,
        r.into_iter().next().unwrap_or_default(),
    );
    if req.param("format") == "json" {
        return Ok(Response::json(
            200,
            serde_json::to_string(&a).expect("plain data"),
        ));
    }
    let body = html! {
        section {
            form.row method="get" action="/console/analysis" {
                label { "最近几周" input name="weeks" value=(weeks) size="3"; }
                button type="submit" { "查看" }
                a href={ "/console/analysis?weeks=" (weeks) "&format=json" } { "JSON" }
            }
            p {
                "自 " (a.weeks.first().map_or("", String::as_str)) " 起 " (weeks) " 周，本范围的差评原因 "
                (a.reasons.iter().map(|r| r.total).sum::<i64>()) " 次；已办结案件 " (a.closed) " 件，"
                (RECUR_DAYS) " 天内同一大厅同类差评复发 " (a.recurred) " 件"
                @if let Some(p) = a.recurrence_pct { "（同类差评复发率 " strong { (format!("{p:.1}%")) } "）" }
                "。"
            }
            p.muted { "按评价时选择的国家标准原因统计，评价数据过了保存期也保留计数。趋势：后 " (weeks / 2) " 周比前 " (weeks / 2) " 周。" }
        }
        h2 { "差评原因" }
        table {
            thead { tr { th { "原因" } th.num { "次数" } th.num { "占比" } th { "每周（由远及近）" } th { "趋势" } } }
            tbody {
                @for r in &a.reasons {
                    tr {
                        td { (r.tag) " " (r.name) } td.num { (r.total) } td.num { (format!("{:.1}%", r.share_pct)) }
                        td.mono { (r.weekly.iter().map(i64::to_string).collect::<Vec<_>>().join(" · ")) }
                        td { (wire::alert::trend(r.trend)) }
                    }
                }
            }
        }
        @if a.reasons.is_empty() { p.muted { "这几周没有差评原因。" } }
        h2 { "差评最多的事项" }
        table {
            thead { tr { th { "事项编码" } th.num { "差评" } th.num { "评价" } } }
            tbody { @for m in &a.matters { tr { td.mono { (m.matter) } td.num { (m.bad) } td.num { (m.n) } } } }
        }
        @if a.matters.is_empty() { p.muted { "这几周没有带事项的差评。" } }
    };
    Ok(page(
        layout("分析", me, csrf, "/console/analysis", &flash_of(req), body),
        200,
    ))
}
