//! 分析 (#35.4): what the office learns from the ratings of a place over the last weeks — the
//! 差评 reasons' shares and their trend, the matters with most 差评, and 同类差评复发率 (a 差评 with
//! the same reason at the same hall within 30 days of a case's close). Read from the tallies by
//! week (`reason_tallies`, `matter_tallies`), kept after the ratings leave, and from the cases.
//! The console shows it (`console::analysis`); the weekly digest sends it.
//!
//! **The weekly digest.** At `WEEKLY_DIGEST` (Monday 09:00 CST by default) each supervisors'
//! route gets the analysis of its place (its region and hall; the tallies have no unit) for the
//! eight whole weeks before, through the alerts' outbox: the robots' markdown within their 4,096
//! bytes, sent only while the route's minute has more room than the alerts keep for themselves
//! (`wire::alert::DIGEST_RESERVE`) and never in a round that sends the route alerts; a generic
//! webhook gets `zsp.digest` v1, signed like the alerts.
//!
//! Invariants: one digest a week a route (`alerts_digest`, whatever the restarts); a route added
//! after the week's moment waits for the next week; a digest is made once, when queued, and a
//! retry sends the same; it carries counts only (no comment, name or time of a rating).

use crate::access::{Place, Scope, scoped};
use crate::fastlane::{self, Message, RouteRow, Sql, rows};
use crate::sql::{Stmt, stmt};
use serde::Serialize;
use wire::alert::{self, Weekly, WeeklyMatter, WeeklyReason};
use wire::key::Keyring;
use wire::time::Day;

/// How many weeks the page looks back, by default and at most; the digest's weeks.
pub const WEEKS: u16 = 8;
pub const WEEKS_MAX: u16 = 26;
/// A 差评 after a case's close counts as a recurrence within this many days.
pub const RECUR_DAYS: i64 = 30;

/// The Monday of the week of `day` (day 0, 1970-01-01, was a Thursday).
pub fn monday(day: Day) -> u16 {
    day.0.saturating_sub((day.0 % 7 + 3) % 7)
}

#[derive(Debug, Clone)]
pub struct ReasonRow {
    pub week: i64,
    pub tag: i64,
    pub n: i64,
}
crate::row!(ReasonRow { week, tag, n });

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MatterRow {
    pub matter: String,
    pub n: i64,
    pub bad: i64,
}
crate::row!(MatterRow { matter, n, bad });

#[derive(Debug, Clone, Default)]
pub struct Recurrence {
    pub closed: i64,
    pub recurred: Option<i64>,
}
crate::row!(Recurrence { closed, recurred });

/// The reads for the analysis of `scope` over `weeks` weeks from the Monday `first`, with the
/// cases closed from `first` until `to` (Unix seconds): reasons ([`ReasonRow`]), matters
/// ([`MatterRow`]) and recurrence ([`Recurrence`]), in that order.
pub fn queries(scope: &Scope, first: u16, weeks: u16, to: i64) -> Vec<Stmt> {
    let (from, until) = (i64::from(first), i64::from(first) + 7 * i64::from(weeks));
    vec![
        scoped(
            "SELECT week, tag, SUM(n) AS n FROM reason_tallies WHERE week >= ?1 AND week < ?2 \
             AND {scope} GROUP BY week, tag HAVING SUM(n) > 0",
            scope,
            vec![from.into(), until.into()],
        ),
        scoped(
            "SELECT matter, SUM(n) AS n, SUM(bad) AS bad FROM matter_tallies WHERE week >= ?1 \
             AND week < ?2 AND matter != '' AND {scope} GROUP BY matter HAVING SUM(bad) > 0 \
             ORDER BY SUM(bad) DESC, matter LIMIT 10",
            scope,
            vec![from.into(), until.into()],
        ),
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
            vec![Day(first).start_unix().into(), to.into()],
        ),
    ]
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

/// The figures from the rows: only 差评 reasons (the tags of the 不满意 and 非常不满意 levels: the
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

// ---- the weekly digest ----

/// The week whose digest is due at `now` (its Monday) and that week's moment, with `at` minutes
/// after Monday 00:00 CST; `None` before the moment.
fn due(at: u32, now: i64) -> (Option<u16>, i64) {
    let week = monday(Day::from_unix(now).unwrap_or(Day(0)));
    let moment = Day(week).start_unix() + i64::from(at) * 60;
    if now >= moment {
        (Some(week), moment)
    } else {
        (None, moment)
    }
}

/// The place a route's digest covers: its region and hall (the tallies have no unit).
fn place_of(r: &RouteRow) -> (Scope, String) {
    let region = r.region.clone().unwrap_or_default();
    let words = match (&r.region, &r.hall) {
        (None, None) => "全部".to_owned(),
        (Some(g), None) => format!("区划 {g}"),
        (None, Some(h)) => h.clone(),
        (Some(g), Some(h)) => format!("区划 {g} {h}"),
    };
    let scope = if region.is_empty() && r.hall.is_none() {
        Scope::All
    } else {
        Scope::Places(vec![Place {
            region,
            hall: r.hall.clone(),
        }])
    };
    (scope, words)
}

/// The digest of the `WEEKS` whole weeks before the Monday `week`, for `place`.
fn weekly(a: &Analysis, place: String, link: String) -> Weekly {
    Weekly {
        place,
        weeks: a.weeks.clone(),
        reasons: a
            .reasons
            .iter()
            .map(|r| WeeklyReason {
                tag: r.tag,
                name: r.name.clone(),
                total: r.total,
                share_pct: r.share_pct,
                last_week: r.weekly.last().copied().unwrap_or(0),
                trend: r.trend,
            })
            .collect(),
        matters: a
            .matters
            .iter()
            .map(|m| WeeklyMatter {
                matter: m.matter.clone(),
                bad: m.bad,
                n: m.n,
            })
            .collect(),
        closed: a.closed,
        recurred: a.recurred,
        recurrence_pct: a.recurrence_pct,
        recur_days: RECUR_DAYS,
        link,
    }
}

/// The analysis of `scope` over the `WEEKS` whole weeks before the Monday `week`.
pub fn of_weeks_before(db: &dyn Sql, scope: &Scope, week: u16) -> Result<Analysis, String> {
    let first = week.saturating_sub(7 * WEEKS);
    let mut q = queries(scope, first, WEEKS, Day(week).start_unix()).into_iter();
    let mut next = || q.next().expect("three reads");
    let reasons: Vec<ReasonRow> = rows(db, next())?;
    let matters: Vec<MatterRow> = rows(db, next())?;
    let r: Vec<Recurrence> = rows(db, next())?;
    Ok(compute(
        first,
        WEEKS,
        &reasons,
        matters,
        r.into_iter().next().unwrap_or_default(),
    ))
}

/// The alarm's part: once the week's moment has come, each supervisors' route that existed
/// before it and has no digest for the week gets one queued. Returns when the next is due (the
/// next week's moment), or `None` with the digest off.
pub fn queue(db: &dyn Sql, s: &fastlane::Settings, now: i64) -> Result<Option<i64>, String> {
    let Some(at) = s.weekly_digest else {
        return Ok(None);
    };
    let (week, moment) = due(at, now);
    let Some(week) = week else {
        return Ok(Some(moment));
    };
    let routes: Vec<RouteRow> = rows(
        db,
        stmt(
            format!(
                "SELECT {} FROM routes WHERE deleted_at IS NULL AND audience = 'supervisors' \
                 AND created_at < ?1 AND id NOT IN (SELECT route FROM alerts WHERE week = ?2)",
                fastlane::ROUTE_COLUMNS
            ),
            vec![moment.into(), i64::from(week).into()],
        ),
    )?;
    let link = format!("{}/console/analysis", s.public_url.as_deref().unwrap_or(""));
    let mut out = vec![];
    for r in &routes {
        let (scope, words) = place_of(r);
        let a = of_weeks_before(db, &scope, week)?;
        let detail = serde_json::to_string(&weekly(&a, words, link.clone())).expect("plain data");
        out.push(stmt(
            "INSERT OR IGNORE INTO alerts (week, kind, route, detail, created_at, next_attempt_at) \
             VALUES (?1, 'digest', ?2, ?3, ?4, ?4)",
            vec![
                i64::from(week).into(),
                r.id.into(),
                detail.into(),
                now.into(),
            ],
        ));
    }
    if !out.is_empty() {
        db.exec(out)?;
    }
    Ok(Some(moment + 7 * 86_400))
}

#[derive(Debug)]
struct Pending {
    alert: i64,
    route: i64,
    detail: String,
}
crate::row!(Pending {
    alert,
    route,
    detail
});

/// What the digests due send now, one message each. A robot route waits while it sends alerts
/// in this round (`busy`) or its minute has no more room than the alerts keep for themselves.
pub fn messages(
    db: &dyn Sql,
    ring: &Keyring,
    busy: &[i64],
    now: i64,
    now_ms: i64,
) -> Result<Vec<Message>, String> {
    let pending: Vec<Pending> = rows(
        db,
        stmt(
            "SELECT id AS alert, route, detail FROM alerts WHERE week IS NOT NULL \
             AND sent_at IS NULL AND next_attempt_at <= ?1 ORDER BY id LIMIT 100",
            vec![now.into()],
        ),
    )?;
    if pending.is_empty() {
        return Ok(vec![]);
    }
    let routes = fastlane::routes_named(db, pending.iter().map(|p| p.route).collect())?;
    let mut out = vec![];
    for r in &routes {
        let robot = r.kind != "webhook";
        if robot && busy.contains(&r.id) {
            continue;
        }

        struct Sent {
            n: i64,
        }
        crate::row!(Sent { n });
        let sent: Vec<Sent> = rows(
            db,
            stmt(
                "SELECT COUNT(*) AS n FROM route_sends WHERE route = ?1 AND at > ?2",
                vec![r.id.into(), (now - alert::ROBOT_MINUTE_SECS).into()],
            ),
        )?;
        let room = alert::ROBOT_MESSAGES_PER_MINUTE as i64 - sent.first().map_or(0, |s| s.n);
        if robot && room <= alert::DIGEST_RESERVE as i64 {
            continue;
        }
        let Some((url, secret)) = fastlane::open_route(db, r, ring, now)? else {
            continue;
        };
        for p in pending.iter().filter(|p| p.route == r.id) {
            let w: Weekly =
                serde_json::from_str(&p.detail).map_err(|e| format!("digest {}: {e}", p.alert))?;
            if !robot {
                let body = w.webhook_body(p.alert);
                out.push(fastlane::webhook_message(
                    r,
                    (&url, &secret),
                    p.alert,
                    "digest",
                    body,
                    now,
                ));
                continue;
            }
            let (url, body) = if r.kind == "dingtalk" {
                (
                    alert::dingtalk_url(&url, &secret, now_ms),
                    alert::dingtalk_body("差评周报", &w.markdown()),
                )
            } else {
                (url.clone(), alert::wecom_body(&w.markdown()))
            };
            out.push(Message {
                route: r.id,
                kind: r.kind.clone(),
                alerts: vec![p.alert],
                url,
                headers: vec![],
                body,
                phone_of: None,
            });
            if robot {
                // One a round: the next waits for the minute's room to be read again.
                break;
            }
        }
    }
    Ok(out)
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
