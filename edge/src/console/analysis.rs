//! 分析 (#35.4): what the office learns from the ratings of its scope over the last weeks — the
//! 差评 reasons' shares and their trend, the matters with most 差评, and 同类差评复发率 (a 差评 with
//! the same reason at the same hall within 30 days of a case's close). Read from the tallies by
//! week (`reason_tallies`, `matter_tallies`), kept after the ratings leave, and from the cases.

use super::handlers::{flash_of, page, refused};
use super::pages::layout;
use crate::access::{Actor, Scope, scoped};
use crate::error::ApiError;
use crate::host::{self, Host};
use crate::http::{Request, Response};
use crate::sql::Stmt;
use maud::html;
use serde::{Deserialize, Serialize};
use wire::time::Day;

/// How many weeks the page looks back, by default and at most.
pub const WEEKS: u16 = 8;
pub const WEEKS_MAX: u16 = 26;
/// A 差评 after a case's close counts as a recurrence within this many days.
pub const RECUR_DAYS: i64 = 30;

/// The Monday of the week of `day` (day 0, 1970-01-01, was a Thursday).
pub fn monday(day: Day) -> u16 {
    day.0.saturating_sub((day.0 % 7 + 3) % 7)
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReasonRow {
    pub week: i64,
    pub tag: i64,
    pub n: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct MatterRow {
    pub matter: String,
    pub n: i64,
    pub bad: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Recurrence {
    pub closed: i64,
    pub recurred: Option<i64>,
}

fn reasons(scope: &Scope, from: i64) -> Stmt {
    scoped(
        "SELECT week, tag, SUM(n) AS n FROM reason_tallies WHERE week >= ?1 AND {scope} \
         GROUP BY week, tag HAVING SUM(n) > 0",
        scope,
        vec![from.into()],
    )
}

fn matters(scope: &Scope, from: i64) -> Stmt {
    scoped(
        "SELECT matter, SUM(n) AS n, SUM(bad) AS bad FROM matter_tallies WHERE week >= ?1 \
         AND matter != '' AND {scope} GROUP BY matter HAVING SUM(bad) > 0 \
         ORDER BY SUM(bad) DESC, matter LIMIT 10",
        scope,
        vec![from.into()],
    )
}

fn recurrence(scope: &Scope, from: i64, to: i64) -> Stmt {
    scoped(
        &format!(
            "SELECT COUNT(*) AS closed, SUM(EXISTS (SELECT 1 FROM cases d WHERE d.hall = c.hall \
               AND d.opened_at > c.closed_at AND d.opened_at <= c.closed_at + {} \
               AND (d.review IS NOT 'overturned') AND EXISTS (SELECT 1 FROM json_each('[' || d.tags || ']') x \
                 JOIN json_each('[' || c.tags || ']') y ON x.value = y.value))) AS recurred \
             FROM cases c WHERE c.closed_at >= ?1 AND c.closed_at < ?2 \
             AND (c.review IS NOT 'overturned') AND {{scope}}",
            RECUR_DAYS * 86_400
        ),
        scope,
        vec![from.into(), to.into()],
    )
}

/// One 差评 reason over the weeks: its count each week (oldest first), its share of all 差评
/// reasons given, and the trend (the later half of the weeks against the earlier).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reason {
    pub tag: u16,
    pub name: String,
    pub total: i64,
    pub share_pct: f64,
    pub weekly: Vec<i64>,
    pub trend: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Analysis {
    pub format: &'static str,
    pub version: u32,
    /// The Mondays of the weeks, oldest first (`YYYY-MM-DD`).
    pub weeks: Vec<String>,
    pub reasons: Vec<Reason>,
    pub matters: Vec<MatterRow>,
    /// Cases closed in the weeks, those followed by a 差评 of the same reason at the same hall
    /// within `RECUR_DAYS`, and the share.
    pub closed: i64,
    pub recurred: i64,
    pub recurrence_pct: Option<f64>,
}

/// The figures from the rows: only 差评 reasons (the tags of 不满意 and 非常满意的 levels: the
/// national list's 1xx and 2xx), largest share first.
pub fn compute(
    first: u16,
    weeks: u16,
    rows: &[ReasonRow],
    matters: Vec<MatterRow>,
    r: Recurrence,
) -> Analysis {
    let mut by_tag: std::collections::BTreeMap<u16, Vec<i64>> = Default::default();
    for row in rows {
        let Ok(tag) = u16::try_from(row.tag) else {
            continue;
        };
        if !wire::rating::tag(tag).is_some_and(|t| t.level.is_bad()) {
            continue;
        }
        let Some(i) = row
            .week
            .checked_sub(i64::from(first))
            .map(|d| d / 7)
            .filter(|i| (0..i64::from(weeks)).contains(i))
        else {
            continue;
        };
        by_tag
            .entry(tag)
            .or_insert_with(|| vec![0; usize::from(weeks)])[i as usize] += row.n;
    }
    let all: i64 = by_tag.values().flatten().sum();
    let half = usize::from(weeks) / 2;
    let mut reasons: Vec<Reason> = by_tag
        .into_iter()
        .map(|(tag, weekly)| {
            let total: i64 = weekly.iter().sum();
            let early: i64 = weekly[..half].iter().sum();
            let late: i64 = weekly[half..].iter().sum();
            Reason {
                tag,
                name: wire::rating::tag(tag).map_or("", |t| t.zh).to_owned(),
                total,
                share_pct: (1000.0 * total as f64 / all.max(1) as f64).round() / 10.0,
                weekly,
                trend: late - early,
            }
        })
        .collect();
    reasons.sort_by(|a, b| b.total.cmp(&a.total).then(a.tag.cmp(&b.tag)));
    let recurred = r.recurred.unwrap_or(0);
    Analysis {
        format: "zsp.analysis",
        version: 1,
        weeks: (0..weeks)
            .map(|i| Day(first.saturating_add(7 * i)).to_string())
            .collect(),
        reasons,
        matters,
        closed: r.closed,
        recurred,
        recurrence_pct: (r.closed > 0)
            .then(|| (1000.0 * recurred as f64 / r.closed as f64).round() / 10.0),
    }
}

fn trend_text(t: i64) -> String {
    match t {
        0 => "持平".into(),
        t if t > 0 => format!("↑ {t}"),
        t => format!("↓ {}", -t),
    }
}

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
    let from_unix = Day(first).start_unix();
    let mut res = host::run(
        h,
        vec![
            reasons(&me.scope, i64::from(first)),
            matters(&me.scope, i64::from(first)),
            recurrence(&me.scope, from_unix, h.now()),
        ],
        false,
    )
    .await?;
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
                        td { (trend_text(r.trend)) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_no_day_panics() {
        // 2026-03-03 is a Tuesday; 2026-03-02 the Monday.
        let tue = Day::parse("2026-03-03").unwrap();
        assert_eq!(Day(monday(tue)).to_string(), "2026-03-02");
        assert_eq!(monday(Day(monday(tue))), monday(tue));
        for d in [0, 1, 2, 3, 6, u16::MAX] {
            assert!(monday(Day(d)) <= d);
        }
        let a = compute(u16::MAX - 3, 8, &[], vec![], Recurrence::default());
        assert_eq!(a.weeks.len(), 8);
    }
}
