//! 办件 served, counted: the denominator of 评价率. Three sources, each 办件 once (`served`):
//! a 一事一评 link minted (its 办件号), a tablet armed by its staff member, and a queue or
//! business system's report (`POST /api/v1/served`) of one 办件 (`project_no`, code, matter,
//! finished time: the same key as a link of that 办件号) or of a day's ticket count at a window's
//! static code (`{"code","day","count"}`: the last count for that code and day stands).
//!
//! Invariants: one row a 办件 (the key); a count is never negative and never for a day to come;
//! a report reaches only codes within its token's scope (else 404, naming nothing).

use crate::config::{ConfigError, Setting, err};
use crate::error::ApiError;
use crate::sql::{Stmt, stmt};
use serde::Deserialize;
use wire::calendar::{Calendar, OfficeHours, Span};
use wire::directory::Entry;
use wire::qr::CodeId;
use wire::time::Day;

// ---- settings: what happens to a 办件 left unrated ----

/// How long after a 办件 was served something happens to it, if it is still unrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Off,
    /// A plain duration (`30m`, `24h`; `s` for drills and tests).
    Secs(i64),
    /// Working days (`5w`, by the calendar and office hours) or natural days (`7d`).
    Span(Span),
}

impl After {
    /// `off`, `Ns`, `Nm`, `Nh`, `Nd` (natural days) or, where `working` allows, `Nw`.
    fn parse(v: &str, working: bool) -> Option<After> {
        if v == "off" {
            return Some(After::Off);
        }
        let (n, unit) = v.split_at(v.len().checked_sub(1)?);
        let n: u32 = n.parse().ok().filter(|n| *n >= 1)?;
        let secs = |k: i64, max: u32| (n <= max).then(|| After::Secs(i64::from(n) * k));
        match unit {
            "s" => secs(1, 86_400),
            "m" => secs(60, 1440),
            "h" => secs(3600, 720),
            "d" if n <= 60 => Some(After::Span(Span::NaturalDays(n))),
            "w" if working && n <= 60 => Some(After::Span(Span::WorkingDays(n))),
            _ => None,
        }
    }

    /// When it falls due for a 办件 served at `at`; `None` when off.
    pub fn due(self, at: i64, hours: OfficeHours, cal: &Calendar) -> Option<i64> {
        match self {
            After::Off => None,
            After::Secs(s) => Some(at + s),
            After::Span(Span::NaturalDays(n)) => Some(at + i64::from(n) * 86_400),
            After::Span(span) => Some(wire::calendar::due(at, span, hours, cal).at),
        }
    }

    /// The least time it can take (a working day has at least a day's length after `at`, less
    /// the office hours' part of the first: one day fewer is a safe bound).
    pub fn at_least(self) -> Option<i64> {
        match self {
            After::Off => None,
            After::Secs(s) => Some(s),
            After::Span(Span::NaturalDays(n)) => Some(i64::from(n) * 86_400),
            After::Span(Span::WorkingDays(n)) => Some(i64::from(n.saturating_sub(1)) * 86_400),
        }
    }

    /// As the README and the console say it.
    pub fn words(self) -> String {
        match self {
            After::Off => "关闭".into(),
            After::Secs(s) if s % 3600 == 0 => format!("{} 小时", s / 3600),
            After::Secs(s) if s % 60 == 0 => format!("{} 分钟", s / 60),
            After::Secs(s) => format!("{s} 秒"),
            After::Span(Span::WorkingDays(n)) => format!("{n} 个工作日"),
            After::Span(Span::NaturalDays(n)) => format!("{n} 个自然日"),
        }
    }
}

/// A setting given by authority: `24h 330105:48h` (an item with a region prefix is that
/// authority's; one without, the default).
pub fn parse_by_authority(
    v: &str,
    default: After,
    working: bool,
    example: &str,
) -> Result<Vec<(String, After)>, String> {
    let mut out = vec![(String::new(), default)];
    let mut seen_default = false;
    for item in v.split_whitespace() {
        let (prefix, value) = item.split_once(':').unwrap_or(("", item));
        if !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 12 {
            return Err(format!("{item}: {prefix:?} is not a region-code prefix"));
        }
        let after = After::parse(value, working)
            .ok_or_else(|| format!("{item}: {value:?} is not a period ({example}, or off)",))?;
        if prefix.is_empty() {
            if seen_default {
                return Err(format!("{item}: the default is given twice"));
            }
            seen_default = true;
            out[0].1 = after;
        } else if out.iter().any(|(p, _)| p == prefix) {
            return Err(format!("{item}: {prefix:?} is given twice"));
        } else {
            out.push((prefix.to_owned(), after));
        }
    }
    Ok(out)
}

/// The longest matching prefix's value.
fn for_region(list: &[(String, After)], region: &str) -> After {
    list.iter()
        .filter(|(p, _)| region.starts_with(p.as_str()))
        .max_by_key(|(p, _)| p.len())
        .map_or(After::Off, |(_, a)| *a)
}

/// What happens to 办件 left unrated ([`SETTINGS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A served 办件 with a live link, unrated this long after, sends one invitation.
    pub invite_after: Vec<(String, After)>,
    /// A served 办件 with a link, still unrated when this runs out, gets a 基本满意 of channel
    /// "system default".
    pub default_rating: Vec<(String, After)>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            invite_after: vec![(String::new(), After::Secs(24 * 3600))],
            default_rating: vec![(String::new(), After::Off)],
        }
    }
}

pub const SETTINGS: &[Setting] = &[
    Setting::new(
        "INVITE_AFTER",
        "24h",
        "a served 办件 still unrated this long after sends one invitation to the routes of audience 邀评: Nm, Nh, Nd or off; per authority e.g. 24h 330105:48h",
    ),
    Setting::new(
        "DEFAULT_RATING",
        "off",
        "a served 办件 still unrated when this runs out gets a 基本满意 of channel 系统默认评价: 5w working days, 7d days, or off; per authority e.g. off 530900:5w 44:7d",
    ),
];

impl Settings {
    /// Reads [`SETTINGS`]. A default rating forwarded upstream needs the channel code its
    /// platform expects (`UPSTREAM_DEFAULT_CHANNEL`, the core's): its absence is named here.
    pub fn from_vars(
        get: &dyn Fn(&str) -> Option<String>,
        core: &crate::config::Config,
    ) -> Result<Settings, ConfigError> {
        let get = |n: &str| crate::config::value(get, n);
        let d = Settings::default();
        let invite_after = match get("INVITE_AFTER") {
            None => d.invite_after,
            Some(v) => parse_by_authority(&v, d.invite_after[0].1, false, "30m, 24h, 2d")
                .map_err(|why| err("INVITE_AFTER", why))?,
        };
        let default_rating = match get("DEFAULT_RATING") {
            None => d.default_rating,
            Some(v) => parse_by_authority(&v, After::Off, true, "5w, 7d")
                .map_err(|why| err("DEFAULT_RATING", why))?,
        };
        let defaults_on = default_rating.iter().any(|(_, a)| *a != After::Off);
        if defaults_on && core.forwarding() && core.default_channel.is_none() {
            return Err(err(
                "UPSTREAM_DEFAULT_CHANNEL",
                "DEFAULT_RATING forwards system default ratings upstream: set the 评价渠道 code \
                 your platform expects for them (Zhejiang: 7 系统默认评价; the national list has \
                 no such channel, its 7 is 短信)",
            ));
        }
        Ok(Settings {
            invite_after,
            default_rating,
        })
    }

    pub fn invite_after(&self, region: &str) -> After {
        for_region(&self.invite_after, region)
    }

    pub fn default_rating(&self, region: &str) -> After {
        for_region(&self.default_rating, region)
    }

    /// The least of each setting's times (`None`: off everywhere): how old a 办件 must be to be
    /// looked at.
    pub fn least(list: &[(String, After)]) -> Option<i64> {
        list.iter().filter_map(|(_, a)| a.at_least()).min()
    }
}

/// The `via` of a system default rating (a 办件 left unrated when `DEFAULT_RATING` ran out):
/// counted apart from the citizens' ratings, forwarded with `UPSTREAM_DEFAULT_CHANNEL`.
pub const DEFAULT_VIA: &str = "default";

/// The longest 办件号.
pub const PROJECT_NO_MAX: usize = 64;

/// A 办件号: 1 to 64 letters, digits or `- _ . /`.
pub fn project_no_ok(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= PROJECT_NO_MAX
        && p.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./".contains(&c))
}

/// The key of a 办件 by its 办件号 within its authority (a link and a report of it agree).
pub fn project_key(authority: &str, project_no: &str) -> String {
    format!("p:{authority}:{project_no}")
}

const RECORD: &str = "INSERT INTO served (key, source, code, region, hall, day, n, project_no, matter, at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (key) DO NOTHING";

/// A 办件 a queue system reports by its 办件号: once, whether or not its link came first.
pub fn record_report(
    authority: &str,
    project_no: &str,
    entry: &Entry,
    matter: &str,
    day: Day,
    now: i64,
) -> Stmt {
    stmt(
        RECORD,
        vec![
            project_key(authority, project_no).into(),
            "report".into(),
            entry.code.to_text().into(),
            entry.region.as_str().into(),
            entry.hall.as_str().into(),
            i64::from(day.0).into(),
            1i64.into(),
            project_no.into(),
            matter.into(),
            now.into(),
        ],
    )
}

/// The key of a day's count at a code.
pub fn count_key(code: &str, day: Day) -> String {
    format!("c:{code}:{}", day.0)
}

/// A link minted: its 办件 served, recorded only when the link of that 办件号 is this code's (a
/// 办件号 taken by another code's link records nothing here; the same batch, after the mint).
pub fn record_link(
    authority: &str,
    project_no: &str,
    entry: &Entry,
    matter: &str,
    now: i64,
) -> Stmt {
    stmt(
        "INSERT INTO served (key, source, code, region, hall, day, n, project_no, matter, at) \
         SELECT ?1, 'link', ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8 FROM links \
         WHERE authority = ?9 AND project_no = ?6 AND code = ?2 \
         ON CONFLICT (key) DO NOTHING",
        vec![
            project_key(authority, project_no).into(),
            entry.code.to_text().into(),
            entry.region.as_str().into(),
            entry.hall.as_str().into(),
            i64::from(Day::from_unix(now).map_or(0, |d| d.0)).into(),
            project_no.into(),
            matter.into(),
            now.into(),
            authority.into(),
        ],
    )
}

/// A tablet armed (`kiosk::arm`'s new arming `arm`): a citizen served at its code, recorded
/// only when the arming took (the same batch).
pub fn record_arming(
    kiosk: &str,
    arm: &str,
    code: &str,
    region: &str,
    hall: &str,
    now: i64,
) -> Stmt {
    stmt(
        "INSERT INTO served (key, source, code, region, hall, day, n, at) \
         SELECT ?1, 'kiosk', ?3, ?4, ?5, ?6, 1, ?7 FROM kiosks WHERE id = ?2 AND arm = ?8 \
         ON CONFLICT (key) DO NOTHING",
        vec![
            format!("k:{kiosk}:{arm}").into(),
            kiosk.into(),
            code.into(),
            region.into(),
            hall.into(),
            i64::from(Day::from_unix(now).map_or(0, |d| d.0)).into(),
            now.into(),
            arm.into(),
        ],
    )
}

/// A day's ticket count at a window's code: the last one for that code and day stands.
pub fn record_count(entry: &Entry, day: Day, count: u32, now: i64) -> Stmt {
    let code = entry.code.to_text();
    stmt(
        "INSERT INTO served (key, source, code, region, hall, day, n, at) \
         VALUES (?1, 'count', ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (key) DO UPDATE SET n = excluded.n, at = excluded.at",
        vec![
            count_key(&code, day).into(),
            code.into(),
            entry.region.as_str().into(),
            entry.hall.as_str().into(),
            i64::from(day.0).into(),
            i64::from(count).into(),
            now.into(),
        ],
    )
}

// ---- the rates ----

/// A window's (or staff member's) code in a period: 办件 served, ratings given by citizens (counted
/// ones, kept by month after the ratings leave: `code_tallies`), and 办件 with a 办件号 never rated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRate {
    pub code: String,
    pub region: String,
    pub hall: String,
    pub window: String,
    pub dept: String,
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub served: i64,
    pub rated: i64,
    pub never: i64,
    /// 办件 whose rating is the system default (no citizen's rating since).
    pub defaults: i64,
}
crate::row!(CodeRate {
    code,
    region,
    hall,
    window,
    dept,
    staff_id,
    staff_name,
    served,
    rated,
    never,
    defaults
});

/// The codes within `scope` (and of the hall named `hall`, in any region, as the public
/// results name halls), each with its figures for the months `months` (`YYYY-MM`): read from the
/// running tallies (`served_tallies`, `code_tallies`), never by grouping the served rows.
pub fn code_rates(scope: &crate::access::Scope, hall: Option<&str>, months: &[String]) -> Stmt {
    crate::access::scoped(
        "SELECT e.code AS code, e.region AS region, e.hall AS hall, \
         json_extract(e.json, '$.window') AS window, json_extract(e.json, '$.dept') AS dept, \
         json_extract(e.json, '$.staff_id') AS staff_id, \
         json_extract(e.json, '$.staff_name') AS staff_name, COALESCE(s.served, 0) AS served, \
         COALESCE((SELECT SUM(n) FROM code_tallies t WHERE t.code = e.code \
           AND t.month IN (SELECT value FROM json_each(?1))), 0) AS rated, \
         COALESCE(s.never, 0) AS never, COALESCE(s.defaults, 0) AS defaults \
         FROM entries e LEFT JOIN ( \
           SELECT code, SUM(served) AS served, SUM(never) AS never, SUM(defaults) AS defaults \
           FROM served_tallies WHERE month IN (SELECT value FROM json_each(?1)) \
           GROUP BY code) s ON s.code = e.code \
         WHERE (?2 IS NULL OR e.hall = ?2) AND {scope} \
         ORDER BY e.region, e.hall, window, e.code",
        scope,
        vec![
            serde_json::to_string(months).expect("strings").into(),
            hall.map(str::to_owned).into(),
        ],
    )
}

/// 评价率 of a code or a sum of them: `None` without served figures ("无办件数据", never 0% or
/// 100%).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rate {
    pub served: i64,
    pub rated: i64,
    /// 办件 with a 办件号 never rated, by a citizen or by default.
    pub never: i64,
    /// System default ratings standing (`DEFAULT_RATING`).
    pub defaults: i64,
}

/// A per mille figure as the console and the public page show it; "无办件数据" without one.
pub fn shown_permille(p: Option<i64>) -> String {
    match p {
        None => "无办件数据".into(),
        Some(p) => format!("{}.{}%", p / 10, p % 10),
    }
}

impl Rate {
    /// 主动评价率: ratings given by citizens ÷ 办件 served, in per mille (705 = 70.5%).
    pub fn active_permille(&self) -> Option<i64> {
        (self.served > 0).then(|| self.rated * 1000 / self.served)
    }

    /// 实际评价率: all ratings, the system defaults included, ÷ 办件 served.
    pub fn actual_permille(&self) -> Option<i64> {
        (self.served > 0).then(|| (self.rated + self.defaults) * 1000 / self.served)
    }

    /// 主动评价率 as shown.
    pub fn shown(&self) -> String {
        shown_permille(self.active_permille())
    }

    /// 实际评价率 as shown.
    pub fn shown_actual(&self) -> String {
        shown_permille(self.actual_permille())
    }

    /// The sum over codes that have served figures (a code without any says nothing of a rate).
    pub fn of<'a>(codes: impl IntoIterator<Item = &'a CodeRate>) -> Rate {
        codes
            .into_iter()
            .filter(|c| c.served > 0)
            .fold(Rate::default(), |r, c| Rate {
                served: r.served + c.served,
                rated: r.rated + c.rated,
                never: r.never + c.never,
                defaults: r.defaults + c.defaults,
            })
    }
}

impl CodeRate {
    pub fn rate(&self) -> Rate {
        Rate {
            served: self.served,
            rated: self.rated,
            never: self.never,
            defaults: self.defaults,
        }
    }
}

/// Lowest first (the windows to look at); those without served figures last.
pub fn lowest_first(mut codes: Vec<CodeRate>) -> Vec<CodeRate> {
    codes.sort_by_key(|c| {
        (
            c.rate().active_permille().unwrap_or(i64::MAX),
            c.code.clone(),
        )
    });
    codes
}

/// What a report says, checked: one 办件, or a day's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    One {
        code: CodeId,
        project_no: String,
        matter: String,
        /// The day it was finished (the report's `finished_at`, or today).
        day: Day,
    },
    Count {
        code: CodeId,
        day: Day,
        count: u32,
    },
}

impl Report {
    pub fn code(&self) -> CodeId {
        match self {
            Report::One { code, .. } | Report::Count { code, .. } => *code,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    code: String,
    #[serde(default)]
    project_no: Option<String>,
    #[serde(default)]
    matter: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    finished_at: Option<i64>,
    #[serde(default)]
    day: Option<String>,
    #[serde(default)]
    count: Option<i64>,
}

/// The largest day's count a window may report (a window serves a citizen every few minutes).
pub const COUNT_MAX: i64 = 10_000;

fn bad(field: &'static str, zh: &'static str, en: &'static str) -> ApiError {
    ApiError::new(422, "served.invalid", zh, en).with_field(field)
}

/// Parses and checks a report (`now`: the edge's clock); what is wrong names its field.
pub fn parse(body: &[u8], now: i64) -> Result<Report, ApiError> {
    let b: Body = crate::http::json_body(body)?;
    let today = Day::from_unix(now).ok_or(crate::error::UNAVAILABLE)?;
    let code = CodeId::parse(b.code.trim()).ok_or(bad(
        "code",
        "code 不是二维码编号（管理台“二维码”页所示的 16 位编号）。",
        "code is not a code id (the 16 characters the console's codes page shows).",
    ))?;
    match (b.project_no, b.count) {
        (Some(_), Some(_)) | (None, None) => Err(bad(
            "project_no",
            "请报一件（project_no）或一天的办件数（day 与 count），二者选一。",
            "Report one 办件 (project_no) or a day's count (day and count), not both.",
        )),
        (None, Some(count)) => {
            if !(0..=COUNT_MAX).contains(&count) {
                return Err(bad(
                    "count",
                    "count（办件数）应为 0 至 10000 的整数。",
                    "count must be a whole number from 0 to 10000.",
                ));
            }
            let day = b.day.as_deref().and_then(Day::parse).ok_or(bad(
                "day",
                "day 应为日期，如 2026-12-06。",
                "day must be a date such as 2026-12-06.",
            ))?;
            if day > today {
                return Err(bad(
                    "day",
                    "day 不能是将来的日期。",
                    "day cannot be a day to come.",
                ));
            }
            Ok(Report::Count {
                code,
                day,
                count: count as u32,
            })
        }
        (Some(project_no), None) => {
            let project_no = project_no.trim().to_owned();
            if !project_no_ok(&project_no) {
                return Err(bad(
                    "project_no",
                    "project_no（办件号）应为 1 至 64 位字母、数字或 - _ . /。",
                    "project_no must be 1 to 64 letters, digits or - _ . /.",
                ));
            }
            let matter = b.matter.unwrap_or_default().trim().to_owned();
            if !wire::rating::matter_code_ok(&matter) {
                return Err(bad(
                    "matter",
                    "matter 不是事项编码。",
                    "matter is not a matter code.",
                ));
            }
            let day = match b.finished_at {
                None => today,
                Some(t) if t > now + 300 => {
                    return Err(bad(
                        "finished_at",
                        "finished_at 不能是将来的时间。",
                        "finished_at cannot be a time to come.",
                    ));
                }
                Some(t) => Day::from_unix(t).ok_or(bad(
                    "finished_at",
                    "finished_at 应为 Unix 秒。",
                    "finished_at must be unix seconds.",
                ))?,
            };
            Ok(Report::One {
                code,
                project_no,
                matter,
                day,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_518_800; // 2026-12-06 (CST)

    fn field(body: &str) -> Option<&'static str> {
        parse(body.as_bytes(), NOW).err().and_then(|e| e.field)
    }

    fn code(c: &str, served: i64, rated: i64) -> CodeRate {
        CodeRate {
            code: c.into(),
            region: "330105".into(),
            hall: "便民服务中心".into(),
            window: c.into(),
            dept: "局".into(),
            staff_id: None,
            staff_name: None,
            served,
            rated,
            never: 0,
            defaults: 0,
        }
    }

    #[test]
    fn rates_say_no_data_rather_than_zero_and_sort_lowest_first() {
        assert_eq!(code("A", 10, 7).rate().shown(), "70.0%");
        assert_eq!(code("B", 40, 12).rate().shown(), "30.0%");
        assert_eq!(code("C", 0, 5).rate().shown(), "无办件数据");
        assert_eq!(code("D", 3, 1).rate().shown(), "33.3%");
        let sorted: Vec<String> =
            lowest_first(vec![code("A", 10, 7), code("C", 0, 5), code("B", 40, 12)])
                .into_iter()
                .map(|c| c.code)
                .collect();
        assert_eq!(sorted, ["B", "A", "C"]);
        // A code without served figures adds nothing to a sum.
        let all = [code("A", 10, 7), code("C", 0, 5), code("B", 40, 12)];
        assert_eq!(Rate::of(&all).shown(), "38.0%");
        assert_eq!(Rate::of(&[]).shown(), "无办件数据");
    }

    #[test]
    fn reports_are_checked_field_by_field() {
        let code = wire::directory::Entry::example("A01", None).code.to_text();
        let ok = parse(
            format!(r#"{{"code":"{code}","day":"2026-12-05","count":40}}"#).as_bytes(),
            NOW,
        )
        .unwrap();
        assert!(matches!(ok, Report::Count { count: 40, .. }));
        let one = parse(
            format!(r#"{{"code":"{code}","project_no":"BJ-1","matter":"M1"}}"#).as_bytes(),
            NOW,
        )
        .unwrap();
        assert!(matches!(one, Report::One { ref project_no, .. } if project_no == "BJ-1"));
        for (body, f) in [
            (
                format!(r#"{{"code":"{code}","day":"2026-12-05","count":-1}}"#),
                "count",
            ),
            (
                format!(r#"{{"code":"{code}","day":"2099-01-01","count":1}}"#),
                "day",
            ),
            (
                format!(r#"{{"code":"{code}","day":"12/05","count":1}}"#),
                "day",
            ),
            (
                r#"{"code":"nope","day":"2026-12-05","count":1}"#.to_owned(),
                "code",
            ),
            (format!(r#"{{"code":"{code}"}}"#), "project_no"),
            (
                format!(r#"{{"code":"{code}","project_no":"a b","matter":"M1"}}"#),
                "project_no",
            ),
            (
                format!(r#"{{"code":"{code}","project_no":"BJ-1"}}"#),
                "matter",
            ),
            (
                format!(
                    r#"{{"code":"{code}","project_no":"BJ-1","matter":"M1","finished_at":{}}}"#,
                    NOW + 86_400
                ),
                "finished_at",
            ),
        ] {
            assert_eq!(field(&body), Some(f), "{body}");
        }
        assert!(parse(b"{\"code\":1}", NOW).is_err());
    }
}
