//! The internal report (《窗口考核通报》, #35.6): for a month or a quarter, every window and every
//! staff member's code in the caller's scope as one row of an .xlsx, with its ratings, 满意率,
//! its 差评 after 复核 and attribution, the on-time shares, 评价率 where 办件 were reported, and
//! the 好评 (非常满意) count. Nobody is hidden below a minimum here (the public page keeps
//! `RESULTS_MIN_STAFF`), and nothing in it names a comment or a time of day.
//!
//! A staff member's row is read from the tallies (their levels, as attributed: `ratings.about`)
//! and their attributed cases; a window's from its code's counted ratings and its cases (a
//! window's ratings are not tallied by level: its 满意率 is its ratings less its 差评).

use crate::access::Actor;
use crate::error::ApiError;
use crate::host::{self, Host};
use crate::http::{Request, Response};
use crate::period::Period;
use crate::public::results::{CaseFacts, Figures, TallyRow, opt};
use crate::served::CodeRate;

pub const HEADER: [&str; 16] = [
    "类型",
    "大厅",
    "窗口",
    "单位",
    "工号",
    "姓名",
    "评价数",
    "非常满意（好评）",
    "满意率%",
    "差评（复核后，归属本人或本窗口）",
    "申诉成立（不计入）",
    "按时回访%",
    "按时整改%",
    "办件",
    "主动评价率%",
    "实际评价率%",
];

fn permille(p: Option<i64>) -> String {
    p.map_or(String::new(), |p| format!("{}.{}", p / 10, p % 10))
}

/// The report's rows: a window first, then its staff members' codes, in the order of `codes`
/// (by region, hall and window).
pub fn rows(codes: &[CodeRate], tallies: &[TallyRow], cases: &[CaseFacts]) -> Vec<[String; 16]> {
    codes
        .iter()
        .map(|c| {
            let rate = c.rate();
            let (kind, f, very) = match &c.staff_id {
                Some(staff) => {
                    let mine: Vec<&TallyRow> = tallies
                        .iter()
                        .filter(|t| t.hall == c.hall && &t.staff == staff)
                        .collect();
                    let very: i64 = mine
                        .iter()
                        .filter(|t| t.level == "very_satisfied")
                        .map(|t| t.n)
                        .sum();
                    let theirs = cases.iter().filter(|k| {
                        k.hall.as_deref() == Some(&c.hall) && k.staff.as_deref() == Some(staff)
                    });
                    (
                        "工作人员",
                        Figures::of(mine.into_iter(), theirs),
                        very.to_string(),
                    )
                }
                None => {
                    let its: Vec<&CaseFacts> = cases.iter().filter(|k| k.code == c.code).collect();
                    // The window's ratings are its code's counted ones; every counted 差评 is a
                    // case, so the rest are 满意 (非常满意, 满意, 基本满意).
                    let mut f = Figures::of(std::iter::empty(), its.into_iter());
                    f.ratings = (c.rated - f.overturned).max(0);
                    f.satisfied = (f.ratings - f.bad).max(0);
                    f.satisfaction_pct = crate::public::results::pct(f.satisfied, f.ratings);
                    ("窗口", f, String::new())
                }
            };
            let served = rate.served > 0;
            [
                kind.to_owned(),
                c.hall.clone(),
                c.window.clone(),
                c.dept.clone(),
                c.staff_id.clone().unwrap_or_default(),
                c.staff_name.clone().unwrap_or_default(),
                f.ratings.to_string(),
                very,
                opt(f.satisfaction_pct),
                f.bad.to_string(),
                f.overturned.to_string(),
                opt(f.callback_on_time_pct),
                opt(f.fix_on_time_pct),
                if served {
                    rate.served.to_string()
                } else {
                    String::new()
                },
                permille(rate.active_permille()),
                permille(rate.actual_permille()),
            ]
        })
        .collect()
}

/// `GET /console/report?period=2026-11`: the report of the caller's scope as .xlsx.
pub async fn xlsx(h: &impl Host, me: &Actor, req: &Request) -> Result<Response, ApiError> {
    let pairs = req.query_pairs();
    let asked = pairs
        .iter()
        .find(|(k, _)| k == "period")
        .map_or(String::new(), |(_, v)| v.trim().to_owned());
    let period = if asked.is_empty() {
        Period::current(h.now())
    } else {
        Period::parse(&asked).map_err(|why| ApiError {
            detail: Some(why),
            ..ApiError::new(
                400,
                "report.period",
                "统计期应为月份（2026-11）或季度（2026-Q4）。",
                "period: a month such as 2026-11 or a quarter such as 2026-Q4",
            )
            .with_field("period")
        })?
    };
    let mut res = host::run(
        h,
        vec![
            crate::served::code_rates(&me.scope, None, &period.months),
            crate::public::results::tallies(&period, None),
            crate::public::results::cases(&period, None),
        ],
        false,
    )
    .await?;
    let cases: Vec<CaseFacts> = host::typed(h, res.pop())?;
    let tallies: Vec<TallyRow> = host::typed(h, res.pop())?;
    let codes: Vec<CodeRate> = host::typed(h, res.pop())?;
    // Only the scope's halls (the codes are the scope's already).
    let halls: std::collections::BTreeSet<&str> = codes.iter().map(|c| c.hall.as_str()).collect();
    let tallies: Vec<TallyRow> = tallies
        .into_iter()
        .filter(|t| halls.contains(t.hall.as_str()))
        .collect();
    let mut sheet = wire::xlsx::SheetWriter::new(&HEADER);
    for row in rows(&codes, &tallies, &cases) {
        let cells: Vec<wire::xlsx::Cell> = row
            .iter()
            .enumerate()
            .map(|(i, v)| match v.parse::<i64>() {
                // Counts as numbers (Excel sums them); names, codes and percentages as text.
                Ok(n) if matches!(i, 6 | 7 | 9 | 10 | 13) => wire::xlsx::Cell::Int(n),
                _ => wire::xlsx::Cell::Text(v),
            })
            .collect();
        sheet.row(&cells);
    }
    let bytes = crate::console::handlers::workbook(
        h,
        &format!("考核通报 {}", period.label),
        sheet.finish(),
    )
    .await?;
    Ok(Response::download(
        bytes,
        crate::console::handlers::XLSX,
        &format!("report-{}.xlsx", period.label),
    ))
}
