//! The 差评 fast lane: a case for every 差评, its working-day deadlines, its steps (the ledger,
//! 台账), and its alerts to the office's chat routes. Plain Rust over SQL statements: the storage
//! object's alarm runs [`tick`] through its synchronous SQL ([`Sql`]) and sends the messages it
//! returns (`glue::lane`); the tests run the same code on SQLite with the real migrations.
//!
//! A case opens in the same transaction as the rating ([`open_case`], part of `store::accept`), so
//! a 差评 the citizen was told is saved always has its case. Its alerts are rows of an outbox
//! (`alerts`, one per event and route, UNIQUE), marked sent only when the route acknowledged the
//! message that carried them: retried, never lost, never queued twice for one event (sent again
//! only if the object dies between a send and its record).

pub mod bridge;
pub mod receipt;

use crate::config::{ConfigError, Setting, err};
use crate::sql::{Stmt, Val, stmt};
use wire::alert::{self, Alert, Kind};
use wire::calendar::{Calendar, OfficeHours, Span, YearCalendar};
use wire::directory::Entry;
use wire::key::{Key, Keyring};
use wire::rating::Level;
use wire::seal;

/// The longest note, measure or reply a handler writes on a case (characters).
pub const NOTE_MAX_CHARS: usize = 500;

// ---- settings ----

/// How long the callback and the rectification may take, for one authority's cases: a 差评
/// checked true goes on the simple or the complex track (the seed city's 1-2-3: contact within a
/// working day, a simple matter fixed within two, a complex one within three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub callback: Span,
    pub simple: Span,
    pub complex: Span,
}

impl Deadlines {
    /// The fix deadline's span of a track (`simple` until a check chose one).
    pub fn fix(&self, track: Option<&str>) -> Span {
        if track == Some("complex") {
            self.complex
        } else {
            self.simple
        }
    }
}

/// The fast lane's settings ([`SETTINGS`]; the public address is the core's `PUBLIC_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Deadlines by region-code prefix, the longest matching prefix winning; `""` is the default.
    pub deadlines: Vec<(String, Deadlines)>,
    pub hours: OfficeHours,
    /// The Nth 差评 on one staff member (and, separately, on one staff member and matter) within
    /// `repeat_days` days escalates.
    pub repeat_n: u32,
    pub repeat_days: u32,
    pub remind_before_secs: i64,
    /// The console's public address, for the links in alerts (`https://pj.example.gov.cn`).
    pub public_url: Option<String>,
    /// Where a route of each kind may send: the 企业微信 robots' host, 钉钉's, and the
    /// operator's list for generic webhooks (host names, lower case; any port).
    pub wecom_host: String,
    pub dingtalk_host: String,
    pub alert_hosts: Vec<String>,
    /// The hosts of the office's own systems (`OWN_HOSTS`): a work-order route may send there
    /// too, and only there does an order carry the callback phone a citizen consented to give.
    pub own_hosts: Vec<String>,
    /// A new 差评's alert to the handlers' routes (read beside the window) leaves once the same
    /// window has had this many more ratings (0: not by count)…
    pub alert_k: u32,
    /// …or this long after the rating, whichever comes first (0: at once).
    pub alert_delay_secs: i64,
    /// When the weekly digest goes to the supervisors' routes: minutes after Monday 00:00 CST
    /// (`WEEKLY_DIGEST`, [`parse_weekly`]); `None`: never.
    pub weekly_digest: Option<u32>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            deadlines: vec![(
                String::new(),
                Deadlines {
                    callback: Span::WorkingDays(1),
                    simple: Span::WorkingDays(5),
                    complex: Span::WorkingDays(5),
                },
            )],
            hours: OfficeHours {
                open: 9 * 60,
                close: 17 * 60,
            },
            repeat_n: 2,
            repeat_days: 30,
            remind_before_secs: 2 * 3600,
            public_url: None,
            wecom_host: "qyapi.weixin.qq.com".into(),
            dingtalk_host: "oapi.dingtalk.com".into(),
            alert_hosts: vec![],
            own_hosts: vec![],
            alert_k: 3,
            alert_delay_secs: 120 * 60,
            weekly_digest: Some(9 * 60),
        }
    }
}

/// What [`Settings::from_vars`] reads.
pub const SETTINGS: &[Setting] = &[
    Setting::new(
        "CASE_DEADLINES",
        "1w/5w",
        "差评 deadlines: callback/fix, or callback/simple fix/complex fix (the track chosen at 核实), w working days or d days; per authority e.g. 1w/5w 330105:1w/2w/3w",
    ),
    Setting::new(
        "OFFICE_HOURS",
        "09:00-17:00",
        "the working day's office hours (CST); a 差评 after them starts the next working day",
    ),
    Setting::new(
        "REPEAT_RULE",
        "2/30",
        "the Nth 差评 on one staff member (or staff member and matter) within D days escalates: N/D",
    ),
    Setting::new(
        "ALERT_K",
        "3",
        "a new 差评's alert to the handlers' routes waits until its window has had this many more ratings…",
    ),
    Setting::new(
        "ALERT_DELAY",
        "120",
        "…or this many minutes, whichever comes first (0: at once); the rater's time shows as 上午/下午",
    ),
    Setting::new(
        "REMIND_BEFORE_MINUTES",
        "120",
        "a 临期 reminder goes this long before a case's deadline",
    ),
    Setting::new(
        "WECOM_HOST",
        "qyapi.weixin.qq.com",
        "the only host a 企业微信 robot route may send to (a 政务微信 deployment has its own)",
    ),
    Setting::new(
        "DINGTALK_HOST",
        "oapi.dingtalk.com",
        "the only host a 钉钉 robot route may send to (a 浙政钉-style deployment has its own)",
    ),
    Setting::new(
        "ALERT_HOSTS",
        "",
        "the hosts a generic webhook route may send to, separated by spaces; unset: none",
    ),
    Setting::new(
        "OWN_HOSTS",
        "",
        "the hosts of the office's own systems (its 12345 work-order system), separated by spaces: a work-order route may send there, and only there with the callback phone the citizen consented to give",
    ),
    Setting::new(
        "WEEKLY_DIGEST",
        "mon 09:00",
        "when the supervisors' routes get the weekly 分析 digest (CST): a day mon…sun and HH:MM, or off",
    ),
];

/// A host setting: a DNS name or IPv4 address, lower-cased.
fn host_name(var: &'static str, v: &str) -> Result<String, ConfigError> {
    let h = v.trim().to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if ok {
        Ok(h)
    } else {
        Err(err(
            var,
            format!("{v}: a host name, e.g. qyapi.weixin.qq.com"),
        ))
    }
}

/// A URL's host, lower-cased, without its port; `None` for one with a user part or no host.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    Some(crate::http::without_port(authority).to_ascii_lowercase())
}

impl Settings {
    /// Reads [`SETTINGS`]; `public_url` is the core setting's (`config::Config::public_url`).
    pub fn from_vars(
        get: &dyn Fn(&str) -> Option<String>,
        public_url: Option<String>,
    ) -> Result<Settings, ConfigError> {
        let get = |n: &str| crate::config::value(get, n);
        let d = Settings::default();
        let deadlines = match get("CASE_DEADLINES") {
            None => d.deadlines,
            Some(v) => parse_deadlines(&v).map_err(|why| err("CASE_DEADLINES", why))?,
        };
        let hours = match get("OFFICE_HOURS") {
            None => d.hours,
            Some(v) => OfficeHours::parse(&v).ok_or_else(|| {
                err(
                    "OFFICE_HOURS",
                    "expected HH:MM-HH:MM, opening before closing",
                )
            })?,
        };
        let (repeat_n, repeat_days) = match get("REPEAT_RULE") {
            None => (d.repeat_n, d.repeat_days),
            Some(v) => parse_repeat(&v).map_err(|why| err("REPEAT_RULE", why))?,
        };
        let remind = crate::config::number(&get, "REMIND_BEFORE_MINUTES", 120, 1, 1440)?;
        let host = |var: &'static str, default: String| match get(var) {
            None => Ok(default),
            Some(v) => host_name(var, &v),
        };
        let hosts = |var: &'static str| -> Result<Vec<String>, ConfigError> {
            get(var).map_or(Ok(vec![]), |v| {
                v.split_whitespace().map(|h| host_name(var, h)).collect()
            })
        };
        Ok(Settings {
            deadlines,
            hours,
            repeat_n,
            repeat_days,
            remind_before_secs: i64::from(remind) * 60,
            public_url,
            wecom_host: host("WECOM_HOST", d.wecom_host)?,
            dingtalk_host: host("DINGTALK_HOST", d.dingtalk_host)?,
            alert_hosts: hosts("ALERT_HOSTS")?,
            own_hosts: hosts("OWN_HOSTS")?,
            alert_k: crate::config::number(&get, "ALERT_K", 3, 0, 100)?,
            alert_delay_secs: i64::from(crate::config::number(&get, "ALERT_DELAY", 120, 0, 1440)?)
                * 60,
            weekly_digest: match get("WEEKLY_DIGEST") {
                None => d.weekly_digest,
                Some(v) => parse_weekly(&v).map_err(|why| err("WEEKLY_DIGEST", why))?,
            },
        })
    }
}

fn span(s: &str) -> Option<Span> {
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: u32 = n.parse().ok().filter(|n| (1..=60).contains(n))?;
    match unit {
        "w" => Some(Span::WorkingDays(n)),
        "d" => Some(Span::NaturalDays(n)),
        _ => None,
    }
}

/// `1w/5w 330105:1w/2w/3w`: callback/rectification (both tracks), or callback/simple/complex,
/// `w` working days or `d` natural days; an item with a region prefix is that authority's, one
/// without is the default (1w/5w if none).
pub fn parse_deadlines(v: &str) -> Result<Vec<(String, Deadlines)>, String> {
    let mut out = vec![(String::new(), Settings::default().deadlines[0].1)];
    for item in v.split_whitespace() {
        let (prefix, spans) = item.split_once(':').unwrap_or(("", item));
        if !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 12 {
            return Err(format!("{item}: {prefix:?} is not a region-code prefix"));
        }
        let parts: Vec<&str> = spans.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(format!(
                "{item}: expected callback/fix or callback/simple/complex, e.g. 1w/5w or 330105:1w/2w/3w"
            ));
        }
        let spans = parts
            .iter()
            .map(|p| {
                span(p).ok_or_else(|| {
                    format!(
                        "{item}: {p:?} is not a span (1 to 60, then w for working days or d for days)"
                    )
                })
            })
            .collect::<Result<Vec<Span>, String>>()?;
        let d = Deadlines {
            callback: spans[0],
            simple: spans[1],
            complex: *spans.last().expect("two or three"),
        };
        if let Some(slot) = out.iter_mut().find(|(p, _)| p == prefix) {
            if !prefix.is_empty() || slot.1 != Settings::default().deadlines[0].1 {
                return Err(format!("{item}: {prefix:?} is given twice"));
            }
            slot.1 = d;
        } else {
            out.push((prefix.to_owned(), d));
        }
    }
    Ok(out)
}

/// `2/30`: the Nth 差评 within D days.
pub fn parse_repeat(v: &str) -> Result<(u32, u32), String> {
    let (n, d) = v
        .split_once('/')
        .ok_or("expected N/D, e.g. 2/30 (the second 差评 within 30 days)")?;
    let n: u32 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| (2..=20).contains(n))
        .ok_or("N must be 2 to 20")?;
    let d: u32 = d
        .trim()
        .parse()
        .ok()
        .filter(|d| (1..=365).contains(d))
        .ok_or("D must be 1 to 365 days")?;
    Ok((n, d))
}

impl Settings {
    pub fn deadlines_for(&self, region: &str) -> Deadlines {
        self.deadlines
            .iter()
            .filter(|(p, _)| region.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, d)| *d)
            .unwrap_or(Settings::default().deadlines[0].1)
    }

    pub fn link(&self, case: i64) -> String {
        format!(
            "{}/console/cases/{case}",
            self.public_url.as_deref().unwrap_or("")
        )
    }
}

/// `WEEKLY_DIGEST`: `off`, or a day (`mon` … `sun`) and a time `HH:MM` (CST), as minutes after
/// Monday 00:00.
pub fn parse_weekly(v: &str) -> Result<Option<u32>, String> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let v = v.trim().to_ascii_lowercase();
    if v == "off" {
        return Ok(None);
    }
    let wrong = || format!("expected a day mon…sun and HH:MM (e.g. mon 09:00), or off; got {v:?}");
    let (day, time) = v.split_once(' ').ok_or_else(wrong)?;
    let day = DAYS.iter().position(|d| *d == day).ok_or_else(wrong)? as u32;
    let (h, m) = time.trim().split_once(':').ok_or_else(wrong)?;
    let digits = |t: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit())
    };
    let (h, m) = (
        h.parse::<u32>()
            .ok()
            .filter(|v| *v < 24 && digits(h, 1..=2)),
        m.parse::<u32>()
            .ok()
            .filter(|v| *v < 60 && digits(m, 2..=2)),
    );
    match (h, m) {
        (Some(h), Some(m)) => Ok(Some(day * 1440 + h * 60 + m)),
        _ => Err(wrong()),
    }
}

/// The calendars in force: those shipped with the release (`wire/calendars/`), each replaced by
/// the console's edit of the same year.
pub fn calendar(edited: &[CalendarRow]) -> Result<Calendar, String> {
    let mut years: Vec<YearCalendar> = edited
        .iter()
        .map(|r| YearCalendar::from_json(&r.json).map_err(|e| e.0))
        .collect::<Result<_, _>>()?;
    for y in wire::calendar::shipped() {
        if !years.iter().any(|e| e.year == y.year) {
            years.push(y);
        }
    }
    Calendar::new(years).map_err(|e| e.0)
}

/// The calendars in force, read through a handler's host (an edit, else the shipped year).
pub async fn calendar_of(h: &impl crate::host::Host) -> Result<Calendar, crate::error::ApiError> {
    let edited: Vec<CalendarRow> = crate::host::rows(h, calendars()).await?;
    calendar(&edited).map_err(|e| crate::host::internal(h, "calendar", e))
}

#[derive(Debug, Clone)]
pub struct CalendarRow {
    pub year: i64,
    pub json: String,
    pub by_actor: String,
    pub at: i64,
}
crate::row!(CalendarRow {
    year,
    json,
    by_actor,
    at
});

pub fn calendars() -> Stmt {
    stmt(
        "SELECT year, json, by_actor, at FROM calendars ORDER BY year",
        vec![],
    )
}

pub fn save_calendar(y: &YearCalendar, by: &str, now: i64) -> Stmt {
    stmt(
        "INSERT INTO calendars (year, json, by_actor, at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (year) DO UPDATE SET json = excluded.json, by_actor = excluded.by_actor, at = excluded.at",
        vec![y.year.into(), y.to_json().into(), by.into(), now.into()],
    )
}

// ---- opening a case ----

/// Part of a submission's transaction, after the rating's upsert (?1 code, ?2 device, ?3 day,
/// ?4 now): a 差评 that is not held opens its case (a held one when it is released); an amendment (追评) of a rating whose case is open updates the
/// case and records the step. A rating that is not a 差评 (`bad` false: most of them) runs only
/// the step's statement, which finds no case for a first rating.
pub fn open_case(code: &str, device: &str, day: i64, now: i64, bad: bool) -> Vec<Stmt> {
    let key = || -> Vec<Val> { vec![code.into(), device.into(), day.into()] };
    let mut out = vec![stmt(
        "INSERT INTO case_steps (case_id, at, actor, role, step, note) \
             SELECT c.id, ?4, '评价人', 'citizen', 'amended', r.level FROM cases c JOIN ratings r ON r.id = c.rating \
             WHERE r.code = ?1 AND r.device = ?2 AND r.day = ?3 AND r.rev > c.opened_rev \
             AND c.state != 'closed'",
        {
            let mut a = key();
            a.push(now.into());
            a
        },
    )];
    if bad {
        out.push(stmt(
            concat!(
                "INSERT INTO cases (rating, opened_at, opened_rev, code, entry, level, tags, matter, comment, about) \
                 SELECT id, rated_at, rev, code, entry, level, tags, matter, comment, about FROM ratings \
                 WHERE code = ?1 AND device = ?2 AND day = ?3 AND ",
                crate::counted!(),
                " AND ",
                crate::bad_level!(),
                " ON CONFLICT (rating) DO UPDATE SET level = excluded.level, tags = excluded.tags, \
                 matter = excluded.matter, comment = excluded.comment, opened_rev = excluded.opened_rev, \
                 about = CASE WHEN cases.finding IS NULL THEN excluded.about ELSE cases.about END \
                 WHERE cases.state != 'closed'"
            ),
            key(),
        ));
    }
    out
}

/// A held 差评 released by an administrator (after the release, in its transaction): its case
/// opens now, so its clock starts when it counts, and the alarm alerts its route.
pub fn open_released(rating: &str, now: i64) -> Stmt {
    stmt(
        concat!(
            "INSERT INTO cases (rating, opened_at, opened_rev, code, entry, level, tags, matter, comment, about) \
             SELECT id, ?2, rev, code, entry, level, tags, matter, comment, about FROM ratings \
             WHERE id = ?1 AND hold = 3 AND ",
            crate::bad_level!(),
            " ON CONFLICT (rating) DO NOTHING"
        ),
        vec![rating.into(), now.into()],
    )
}

/// The held 差评 `by` released at `now` in bulk (after the release, in its transaction): their
/// cases open now, as [`open_released`] opens one.
pub fn open_released_by(by: &str, now: i64) -> Stmt {
    stmt(
        concat!(
            "INSERT INTO cases (rating, opened_at, opened_rev, code, entry, level, tags, matter, comment, about) \
             SELECT id, ?2, rev, code, entry, level, tags, matter, comment, about FROM ratings \
             WHERE hold = 3 AND id IN (SELECT rating FROM reviews WHERE by_actor = ?1 AND at = ?2 \
             AND decision = 'release') AND ",
            crate::bad_level!(),
            " ON CONFLICT (rating) DO NOTHING"
        ),
        vec![by.into(), now.into()],
    )
}

// ---- the states of a case ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Callback,
    Called,
    Fixing,
    Fixed,
    Replied,
    Closed,
    Appealed,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Callback,
        State::Called,
        State::Fixing,
        State::Fixed,
        State::Replied,
        State::Closed,
        State::Appealed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Callback => "callback",
            State::Called => "called",
            State::Fixing => "fixing",
            State::Fixed => "fixed",
            State::Replied => "replied",
            State::Closed => "closed",
            State::Appealed => "appealed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            State::Callback => "待回访",
            State::Called => "已回访",
            State::Fixing => "整改中",
            State::Fixed => "已整改",
            State::Replied => "已反馈",
            State::Closed => "办结",
            State::Appealed => "申诉待复核",
        }
    }

    /// Whether the case is open (the callback phone may be shown to its handlers).
    pub fn open(self) -> bool {
        self != State::Closed
    }

    /// The step whose deadline runs, if any.
    pub fn clock(self) -> Option<&'static str> {
        match self {
            State::Callback => Some("callback"),
            State::Called | State::Fixing => Some("fix"),
            _ => None,
        }
    }
}

/// One step a handler or supervisor takes on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// 回访, with its outcome: reached (已联系), no_answer (未接通), no_phone (无回访电话).
    Callback {
        outcome: String,
    },
    /// 核实 (GB/T 39734 §9): the finding ([`FINDINGS`]), what the 差评 was about ([`ABOUTS`]) and,
    /// for a true one, the track ([`TRACKS`]) whose fix deadline runs. A 差评 found untrue goes to
    /// 复核 by a 大厅管理员, as an appeal does.
    Check {
        finding: String,
        about: String,
        track: Option<String>,
    },
    /// A fix deadline extended once: the reason and the new date (a day, China time), asked by a
    /// handler…
    Extend {
        reason: String,
        until: wire::time::Day,
    },
    /// …and approved or refused by a 大厅管理员.
    Decide {
        approve: bool,
    },
    /// 复核 of what a 差评 was about, by a 大厅管理员, at any time: the staff figures follow.
    Classify {
        about: String,
    },
    /// 已整改, with the measures taken.
    Fixed {
        measures: String,
    },
    /// 已反馈, with the reply given to the citizen.
    Replied {
        reply: String,
    },
    Close,
    /// 申诉 by the staff member: misrated (误评) or malicious (恶意).
    Appeal {
        kind: String,
    },
    /// 复核 by a supervisor.
    Review {
        overturn: bool,
    },
}

pub const OUTCOMES: [(&str, &str); 3] = [
    ("reached", "已联系"),
    ("no_answer", "未接通"),
    ("no_phone", "无回访电话"),
];
pub const APPEALS: [(&str, &str); 2] = [("misrated", "误评"), ("malicious", "恶意")];
pub const FINDINGS: [(&str, &str); 3] = [
    ("true", "属实"),
    ("partial", "部分属实"),
    ("false", "不属实"),
];
/// What a 差评 was about: only `staff` counts against the staff member rated.
pub use wire::rating::ABOUTS;
/// The citizen's verdict on the fix (their one 追评 after 办结): 满意, 基本满意, or 不满意, which
/// reopens the case.
pub const VERDICTS: [(&str, &str); 3] = [
    ("satisfied", "满意"),
    ("basic", "基本满意"),
    ("unsatisfied", "不满意"),
];
pub const TRACKS: [(&str, &str); 2] = [("simple", "简易"), ("complex", "复杂")];
pub const EXTENSIONS: [(&str, &str); 3] = [
    ("asked", "延期待审批"),
    ("approved", "延期已批准"),
    ("refused", "延期未批准"),
];

/// Where a case stands, as the state machine reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At<'a> {
    pub state: State,
    /// Whether the callback was made.
    pub called: bool,
    /// The extension's state, if one was asked.
    pub extension: Option<&'a str>,
}

pub fn label(pairs: &[(&'static str, &'static str)], v: &str) -> &'static str {
    pairs
        .iter()
        .find(|(k, _)| *k == v)
        .map_or("", |(_, zh)| *zh)
}

impl Step {
    /// From the case page's form: `action` and its fields (`get`: `value`, and for a check
    /// `about` and `track`, for an extension `until`); the note is separate.
    pub fn from_form(action: &str, get: &dyn Fn(&str) -> String) -> Result<Step, String> {
        let value = get("value");
        let value = value.trim();
        let need = |what: &str| -> Result<String, String> {
            if value.is_empty() {
                Err(format!("请填写{what}"))
            } else if value.chars().count() > NOTE_MAX_CHARS {
                Err(format!("{what}不能超过 {NOTE_MAX_CHARS} 字"))
            } else {
                Ok(value.to_owned())
            }
        };
        let one_of = |pairs: &[(&str, &str)], v: &str| pairs.iter().any(|(k, _)| *k == v);
        Ok(match action {
            "callback" if one_of(&OUTCOMES, value) => Step::Callback {
                outcome: value.into(),
            },
            "callback" => return Err("请选择回访结果（已联系、未接通或无回访电话）".into()),
            "check" => {
                if !one_of(&FINDINGS, value) {
                    return Err("核实：请选择属实、部分属实或不属实".into());
                }
                let about = get("about");
                if !one_of(&ABOUTS, &about) {
                    return Err(
                        "核实：请选择差评所涉（工作人员、流程与材料、等候与叫号、系统与设备或政策）"
                            .into(),
                    );
                }
                let track = get("track");
                let track = match (value, track.as_str()) {
                    ("false", _) => None,
                    (_, t) if one_of(&TRACKS, t) => Some(t.to_owned()),
                    _ => {
                        return Err("核实：属实或部分属实的差评请选择整改类型（简易或复杂）".into());
                    }
                };
                Step::Check {
                    finding: value.into(),
                    about,
                    track,
                }
            }
            "extend" => {
                let reason = need("延期理由")?;
                let until = wire::time::Day::parse(get("until").trim())
                    .ok_or("延期：请填写新的整改期限（日期，如 2026-12-20）")?;
                Step::Extend { reason, until }
            }
            "decide" if value == "approve" => Step::Decide { approve: true },
            "decide" if value == "refuse" => Step::Decide { approve: false },
            "decide" => return Err("请选择审批结论（批准或不批准）".into()),
            "classify" if one_of(&ABOUTS, value) => Step::Classify {
                about: value.into(),
            },
            "classify" => {
                return Err(
                    "请选择差评所涉（工作人员、流程与材料、等候与叫号、系统与设备或政策）".into(),
                );
            }
            "fixed" => Step::Fixed {
                measures: need("整改措施")?,
            },
            "replied" => Step::Replied {
                reply: need("反馈内容")?,
            },
            "close" => Step::Close,
            "appeal" if one_of(&APPEALS, value) => Step::Appeal { kind: value.into() },
            "appeal" => return Err("请选择申诉理由（误评或恶意）".into()),
            "review" if value == "upheld" => Step::Review { overturn: false },
            "review" if value == "overturned" => Step::Review { overturn: true },
            "review" => return Err("请选择复核结论（维持或撤销）".into()),
            other => return Err(format!("未知的操作：{other}")),
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Step::Callback { .. } => "callback",
            Step::Check { .. } => "check",
            Step::Extend { .. } => "extend",
            Step::Decide { .. } => "decide",
            Step::Classify { .. } => "classify",
            Step::Fixed { .. } => "fixed",
            Step::Replied { .. } => "replied",
            Step::Close => "close",
            Step::Appeal { .. } => "appeal",
            Step::Review { .. } => "review",
        }
    }

    /// A supervisor's step (大厅管理员 or 市级管理员), not a handler's.
    pub fn supervisors_only(&self) -> bool {
        matches!(
            self,
            Step::Review { .. } | Step::Decide { .. } | Step::Classify { .. }
        )
    }

    /// The state after this step from where the case is, or why it cannot be taken now.
    pub fn next(&self, at: At<'_>) -> Result<State, String> {
        use State::*;
        let (from, called) = (at.state, at.called);
        let to = match (self, from) {
            (Step::Callback { .. }, Callback) => Called,
            (Step::Check { finding, .. }, Called) if finding == "false" => Appealed,
            (Step::Check { .. }, Called) => Fixing,
            (Step::Extend { .. }, Called | Fixing) if at.extension.is_some() => {
                return Err("整改期限只能延期一次".into());
            }
            (Step::Extend { .. }, Called | Fixing) => from,
            (Step::Decide { .. }, Called | Fixing) if at.extension == Some("asked") => from,
            (Step::Decide { .. }, _) => return Err("没有待审批的延期申请".into()),
            (Step::Classify { .. }, Callback | Appealed) => {
                return Err(format!("案件处于“{}”，请先核实或复核", from.label_zh()));
            }
            (Step::Classify { .. }, _) => from,
            (Step::Fixed { .. }, Fixing) => Fixed,
            (Step::Replied { .. }, Fixed) => Replied,
            (Step::Close, Replied) => Closed,
            (Step::Appeal { .. }, Callback | Called | Fixing) => Appealed,
            (Step::Review { overturn: true }, Appealed) => Closed,
            (Step::Review { overturn: false }, Appealed) if called => Called,
            (Step::Review { overturn: false }, Appealed) => Callback,
            _ => {
                return Err(format!(
                    "案件处于“{}”，不能{}",
                    from.label_zh(),
                    self.label_zh()
                ));
            }
        };
        Ok(to)
    }

    /// Whether a step of this kind (the form's `action`) may be taken now: what the case page
    /// offers, read from [`Step::next`] itself.
    pub fn offered(action: &str, at: At<'_>) -> bool {
        let probe = match action {
            "callback" => Step::Callback {
                outcome: String::new(),
            },
            "check" => Step::Check {
                finding: "true".into(),
                about: String::new(),
                track: None,
            },
            "extend" => Step::Extend {
                reason: String::new(),
                until: wire::time::Day(0),
            },
            "decide" => Step::Decide { approve: true },
            "classify" => Step::Classify {
                about: String::new(),
            },
            "fixed" => Step::Fixed {
                measures: String::new(),
            },
            "replied" => Step::Replied {
                reply: String::new(),
            },
            "close" => Step::Close,
            "appeal" => Step::Appeal {
                kind: String::new(),
            },
            "review" => Step::Review { overturn: true },
            _ => return false,
        };
        probe.next(at).is_ok()
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Step::Callback { .. } => "记录回访",
            Step::Check { .. } => "记录核实",
            Step::Extend { .. } => "申请延期",
            Step::Decide { approve: true } => "批准延期",
            Step::Decide { approve: false } => "不批准延期",
            Step::Classify { .. } => "改判所涉",
            Step::Fixed { .. } => "记录整改措施",
            Step::Replied { .. } => "记录反馈",
            Step::Close => "办结",
            Step::Appeal { .. } => "登记申诉",
            Step::Review { .. } => "复核",
        }
    }

    /// The case's update for this step (the state check is in the statement too: a step taken
    /// twice at once changes nothing the second time). `due` is the new fix deadline a check's
    /// track or an approved extension sets ([`Step::due`]).
    pub fn apply(&self, case: i64, (from, to): (State, State), now: i64, due: Option<i64>) -> Stmt {
        // ?5 the step's text, ?6 the new deadline, ?7 and ?8 a check's about and track or an
        // extension's day.
        let mut extra: [Val; 2] = [Val::Null, Val::Null];
        let (set, v): (&str, Option<String>) = match self {
            Step::Callback { outcome } => ("outcome = ?5, called_at = ?4", Some(outcome.clone())),
            Step::Check {
                finding,
                about,
                track,
            } => {
                extra = [about.as_str().into(), track.clone().into()];
                (
                    "finding = ?5, about = ?7, track = ?8, checked_at = ?4, \
                     called_at = COALESCE(called_at, ?4), fix_due = COALESCE(?6, fix_due)",
                    Some(finding.clone()),
                )
            }
            Step::Extend { reason, until } => {
                extra[0] = i64::from(until.0).into();
                (
                    "ext_state = 'asked', ext_reason = ?5, ext_until = ?7",
                    Some(reason.clone()),
                )
            }
            Step::Decide { approve: true } => (
                "ext_state = 'approved', fix_due = COALESCE(?6, fix_due)",
                None,
            ),
            Step::Decide { approve: false } => ("ext_state = 'refused'", None),
            Step::Classify { about } => ("about = ?5", Some(about.clone())),
            Step::Fixed { measures } => ("measures = ?5, fixed_at = ?4", Some(measures.clone())),
            Step::Replied { reply } => ("reply = ?5, replied_at = ?4", Some(reply.clone())),
            Step::Close => ("closed_at = ?4", None),
            Step::Appeal { kind } => ("appeal = ?5", Some(kind.clone())),
            Step::Review { overturn: true } => ("review = 'overturned', closed_at = ?4", None),
            // Upheld: the 差评 stands, and is checked again.
            Step::Review { overturn: false } => (
                "review = 'upheld', finding = NULL, about = NULL, track = NULL, checked_at = NULL",
                None,
            ),
        };
        let [x7, x8] = extra;
        stmt(
            format!(
                "UPDATE cases SET state = ?3, {set}, soon_sent = NULL, overdue_sent = NULL \
                 WHERE id = ?1 AND state = ?2 AND ?5 IS ?5 AND ?6 IS ?6 AND ?7 IS ?7 AND ?8 IS ?8 \
                 RETURNING id"
            ),
            vec![
                case.into(),
                from.as_str().into(),
                to.as_str().into(),
                now.into(),
                v.into(),
                due.into(),
                x7,
                x8,
            ],
        )
    }
}

impl Step {
    /// The fix deadline this step sets, if any: a check's track counted from the case's start
    /// (its opening, or its reopening) by `deadlines`; an approved extension's day at the office's
    /// closing time (`ext_until` of the case, as asked).
    pub fn due(&self, c: &CaseRow, s: &Settings, cal: &Calendar) -> Option<i64> {
        match self {
            Step::Check {
                track: Some(track), ..
            } => {
                let d = s.deadlines_for(c.region.as_deref().unwrap_or(""));
                let start = c.reopened_at.unwrap_or(c.opened_at);
                Some(wire::calendar::due(start, d.fix(Some(track)), s.hours, cal).at)
            }
            Step::Decide { approve: true } => c
                .ext_until
                .and_then(|d| u16::try_from(d).ok())
                .map(|d| wire::time::Day(d).start_unix() + i64::from(s.hours.close) * 60),
            _ => None,
        }
    }
}

/// A case's 差评 counted against whom its classification says (after a check or a 复核 set the
/// case's `about` to `about`): the tally triggers move it.
pub fn attribute(case: i64, about: &str) -> Stmt {
    stmt(
        concat!(
            "UPDATE ratings SET about = ?2 WHERE id = (SELECT rating FROM cases WHERE id = ?1 AND about = ?2) \
             AND about IS NOT ?2 AND ",
            crate::bad_level!()
        ),
        vec![case.into(), about.into()],
    )
}

/// What a reopening resets, `at` the parameter of its time: the citizen's 追评 不满意
/// (`public::status::followup`) and a work-order system's 重新交办 (`bridge`) alike. The alarm
/// counts the deadlines again from then.
pub fn reopening(at: &str) -> String {
    format!(
        "reopened_at = {at}, closed_at = NULL, called_at = NULL, fixed_at = NULL, replied_at = NULL, \
         outcome = NULL, callback_due = NULL, fix_due = NULL, soon_sent = NULL, overdue_sent = NULL, \
         alerted = 0"
    )
}

/// Whether the citizen's status page shows the reply (set with 已反馈).
pub fn publish_reply(case: i64, publish: bool) -> Stmt {
    stmt(
        "UPDATE cases SET reply_public = ?2 WHERE id = ?1",
        vec![case.into(), i64::from(publish).into()],
    )
}

pub fn add_step(case: i64, actor: &str, role: &str, step: &str, note: &str, now: i64) -> Stmt {
    stmt(
        "INSERT INTO case_steps (case_id, at, actor, role, step, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        vec![
            case.into(),
            now.into(),
            actor.into(),
            role.into(),
            step.into(),
            note.into(),
        ],
    )
}

// ---- rows ----

#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: i64,
    pub rating: String,
    pub opened_at: i64,
    pub code: String,
    pub entry: String,
    pub region: Option<String>,
    pub hall: Option<String>,
    pub dept: Option<String>,
    pub staff: Option<String>,
    pub level: String,
    pub tags: String,
    pub matter: Option<String>,
    pub comment: String,
    pub callback_due: Option<i64>,
    pub fix_due: Option<i64>,
    pub guessed: Option<String>,
    pub state: String,
    pub appeal: Option<String>,
    pub review: Option<String>,
    pub outcome: Option<String>,
    pub measures: Option<String>,
    pub reply: Option<String>,
    pub called_at: Option<i64>,
    pub fixed_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub soon_sent: Option<String>,
    pub overdue_sent: Option<String>,
    /// Whether the citizen's status page shows `reply`.
    pub reply_public: i64,
    /// The citizen's one 追评 after 办结: satisfied or unsatisfied.
    pub followup: Option<String>,
    /// When an unsatisfied 追评 reopened the case (its clock runs from here).
    pub reopened_at: Option<i64>,
    /// 核实: the finding, what it was about, the track ([`FINDINGS`], [`ABOUTS`], [`TRACKS`]).
    pub finding: Option<String>,
    pub about: Option<String>,
    pub track: Option<String>,
    /// The extension: its state ([`EXTENSIONS`]), reason and day (a `Day` number).
    pub ext_state: Option<String>,
    pub ext_reason: Option<String>,
    pub ext_until: Option<i64>,
    /// The citizen's verdict on the fix ([`VERDICTS`]).
    pub verdict: Option<String>,
}
crate::row!(CaseRow {
    id,
    rating,
    opened_at,
    code,
    entry,
    region,
    hall,
    dept,
    staff,
    level,
    tags,
    matter,
    comment,
    callback_due,
    fix_due,
    guessed,
    state,
    appeal,
    review,
    outcome,
    measures,
    reply,
    called_at,
    fixed_at,
    replied_at,
    closed_at,
    soon_sent,
    overdue_sent,
    reply_public,
    followup,
    reopened_at,
    finding,
    about,
    track,
    ext_state,
    ext_reason,
    ext_until,
    verdict
});

pub const CASE_COLUMNS: &str = "id, rating, opened_at, code, entry, region, hall, dept, staff, level, tags, matter, comment, \
     callback_due, fix_due, guessed, state, appeal, review, outcome, measures, reply, called_at, fixed_at, \
     replied_at, closed_at, soon_sent, overdue_sent, reply_public, followup, reopened_at, finding, about, \
     track, ext_state, ext_reason, ext_until, verdict";

impl CaseRow {
    pub fn state(&self) -> State {
        State::parse(&self.state).unwrap_or(State::Callback)
    }

    /// Where it stands, for the state machine.
    pub fn at(&self) -> At<'_> {
        At {
            state: self.state(),
            called: self.called_at.is_some(),
            extension: self.ext_state.as_deref(),
        }
    }

    pub fn entry(&self) -> Option<Entry> {
        serde_json::from_str(&self.entry).ok()
    }

    pub fn level(&self) -> Option<Level> {
        Level::parse(&self.level)
    }

    pub fn tags(&self) -> Vec<u16> {
        self.tags
            .split(',')
            .filter_map(|t| t.parse().ok())
            .collect()
    }

    /// The deadline that runs now, and what it is for.
    pub fn due(&self) -> Option<(i64, &'static str)> {
        match self.state().clock()? {
            "callback" => self.callback_due.map(|d| (d, "回访")),
            _ => self.fix_due.map(|d| (d, "整改")),
        }
    }

    /// The number the console and the alerts show: `C` and the case's id.
    pub fn number(&self) -> String {
        number(self.id)
    }

    pub fn overturned(&self) -> bool {
        self.review.as_deref() == Some("overturned")
    }

    /// Whether each step was done in time: the callback, the rectification (None while not
    /// due or not done).
    pub fn on_time(&self) -> (Option<bool>, Option<bool>) {
        let within = |done: Option<i64>, due: Option<i64>| Some(done? <= due?);
        (
            within(self.called_at, self.callback_due),
            within(self.fixed_at, self.fix_due),
        )
    }

    /// The alert of this case for a route: with the staff member's name if it asks, and the
    /// rating's time only as its half-day (`coarse`) when the window's colleagues read it.
    fn alert(&self, kind: Kind, names: bool, coarse: bool, s: &Settings) -> Alert {
        let e = self.entry();
        let (due, due_what) = match kind {
            Kind::New | Kind::Repeat { .. } | Kind::Reopened => {
                (self.callback_due.unwrap_or(0), "回访")
            }
            _ => self
                .due()
                .unwrap_or((self.callback_due.unwrap_or(0), "回访")),
        };
        Alert {
            kind,
            case: self.number(),
            level: self.level().unwrap_or(Level::Dissatisfied),
            tags: self.tags(),
            hall: e.as_ref().map_or(String::new(), |e| e.hall.clone()),
            window: e.as_ref().map_or(String::new(), |e| e.window.clone()),
            dept: e.as_ref().map_or(String::new(), |e| e.dept.clone()),
            staff_id: e.as_ref().and_then(|e| e.staff_id.clone()),
            staff_name: e
                .as_ref()
                .and_then(|e| e.staff_name.clone())
                .filter(|_| names),
            matter: self.matter.clone(),
            rated_at: self.opened_at,
            coarse,
            due,
            due_what,
            link: s.link(self.id),
        }
    }
}

pub fn number(id: i64) -> String {
    format!("C{id:06}")
}

/// `C000123` or `123` to the id.
pub fn parse_number(s: &str) -> Option<i64> {
    s.strip_prefix('C')
        .unwrap_or(s)
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

#[derive(Debug, Clone)]
pub struct StepRow {
    pub at: i64,
    pub actor: String,
    pub role: String,
    pub step: String,
    pub note: String,
}
crate::row!(StepRow {
    at,
    actor,
    role,
    step,
    note
});

pub fn steps(case: i64) -> Stmt {
    stmt(
        "SELECT at, actor, role, step, note FROM case_steps WHERE case_id = ?1 ORDER BY at, rowid",
        vec![case.into()],
    )
}

// ---- routes ----

#[derive(Debug, Clone)]
pub struct RouteRow {
    pub id: i64,
    pub name: String,
    /// The region (code or prefix) of the cases it takes; `None`: every region.
    pub region: Option<String>,
    pub hall: Option<String>,
    pub dept: Option<String>,
    pub kind: String,
    /// The address and the signing secret as stored: sealed (`wire::seal`) under the edge's
    /// challenge key, opened only to send.
    pub url: String,
    pub secret: String,
    /// The address as the console shows it ([`shown_url`]), kept beside the sealed one.
    pub shown: String,
    pub names: i64,
    pub audience: String,
    pub created_by: String,
    pub created_at: i64,
    /// A work-order route's: the key its system signs events with, sealed; '' for other kinds.
    pub inbound: String,
}
crate::row!(RouteRow { id, name, region, hall, dept, kind, url, secret, shown, names, audience, created_by, created_at, inbound = default });

pub const ROUTE_KINDS: [(&str, &str); 4] = [
    ("wecom", "企业微信群机器人"),
    ("dingtalk", "钉钉自定义机器人（加签）"),
    ("webhook", "通用 Webhook（HMAC 签名）"),
    ("workorder", "12345 工单系统（双向，HMAC 签名）"),
];
pub const AUDIENCES: [(&str, &str); 4] = [
    ("handlers", "处理人（每条差评、临期与超期提醒）"),
    ("supervisors", "主管（重复差评、超期升级、每周分析周报）"),
    (
        "invites",
        "邀评（未评价办件的邀请，发给业务系统，仅通用 Webhook）",
    ),
    (
        "orders",
        "工单（每条差评转为工单，办理进展回传本系统，仅 12345 工单系统）",
    ),
];

/// An address as the console shows it: the scheme, host and path, never the key.
pub fn shown_url(url: &str) -> String {
    let base = url.split('?').next().unwrap_or("");
    if base.len() < url.len() {
        format!("{base}?…（已隐藏）")
    } else {
        base.to_owned()
    }
}

impl RouteRow {
    /// The address and secret to send with, opened with a key of `ring`.
    pub fn opened(&self, ring: &Keyring) -> Result<(String, String), String> {
        let open = |t: &str| {
            seal::open(ring, t).map_err(|e| {
                format!("路由的地址或密钥无法解开（{e}）：请把旧密钥放回 CHALLENGE_KEYS，或删除并重新添加此路由")
            })
        };
        Ok((open(&self.url)?, open(&self.secret)?))
    }

    /// A work-order route's key for the events its system sends back, opened.
    pub fn opened_inbound(&self, ring: &Keyring) -> Option<String> {
        (self.kind == "workorder")
            .then(|| seal::open(ring, &self.inbound).ok())
            .flatten()
            .filter(|k| !k.is_empty())
    }
}

/// A new route, checked: what is wrong names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoute {
    pub name: String,
    /// The region (code or prefix) of the cases it takes; `None`: every region.
    pub region: Option<String>,
    pub hall: Option<String>,
    pub dept: Option<String>,
    pub kind: String,
    pub url: String,
    pub secret: String,
    pub names: bool,
    pub audience: String,
    /// A work-order route's: the key its system signs events with (empty for other kinds).
    pub inbound: String,
}

impl NewRoute {
    /// The route as given, checked: each problem named by its field. A robot route sends only to
    /// its robots' host (`WECOM_HOST`, `DINGTALK_HOST`), a generic webhook only to a host on
    /// `ALERT_HOSTS`: an administrator cannot point the server at anything else.
    pub fn check(self, s: &Settings) -> Result<NewRoute, String> {
        let url = self.url.trim();
        if self.name.trim().is_empty() || self.name.chars().count() > 32 {
            return Err("名称：请填写 1 到 32 个字".into());
        }
        if !ROUTE_KINDS.iter().any(|(k, _)| *k == self.kind) {
            return Err("类型：请选择企业微信、钉钉或通用 Webhook".into());
        }
        if !AUDIENCES.iter().any(|(k, _)| *k == self.audience) {
            return Err("接收对象：请选择处理人、主管、邀评或工单".into());
        }
        if (self.audience == "orders") != (self.kind == "workorder") {
            return Err(
                "接收对象：12345 工单系统的接收对象是“工单”，“工单”也只发往 12345 工单系统".into(),
            );
        }
        if self.audience == "invites" && self.kind != "webhook" {
            return Err(
                "接收对象：邀评只发往业务系统的通用 Webhook（由持有办事人联系方式的业务系统发短信）"
                    .into(),
            );
        }
        let local = url.starts_with("http://127.0.0.1:") || url.starts_with("http://[::1]:");
        if !(url.starts_with("https://") || local)
            || url.len() > 500
            || url.contains(char::is_whitespace)
        {
            return Err("地址：须以 https:// 开头（本机测试可用 http://127.0.0.1:端口）".into());
        }
        let host = url_host(url).ok_or("地址：无法识别其中的主机名")?;
        match self.kind.as_str() {
            "wecom" if host != s.wecom_host => {
                return Err(format!(
                    "地址：企业微信机器人只能发往 {}（在群机器人设置中复制 Webhook 地址）",
                    s.wecom_host
                ));
            }
            "dingtalk" if host != s.dingtalk_host => {
                return Err(format!(
                    "地址：钉钉机器人只能发往 {}（在机器人设置中复制 Webhook 地址）",
                    s.dingtalk_host
                ));
            }
            "workorder" if !s.alert_hosts.contains(&host) && !s.own_hosts.contains(&host) => {
                return Err(
                    "地址：工单系统只能发往运维允许的主机（zsp.env 的 OWN_HOSTS 或 ALERT_HOSTS）"
                        .to_owned(),
                );
            }
            "webhook" if !s.alert_hosts.contains(&host) => {
                return Err(if s.alert_hosts.is_empty() {
                    "地址：本系统未允许任何通用 Webhook 主机（请运维在 zsp.env 的 ALERT_HOSTS 中列出）"
                        .to_owned()
                } else {
                    format!(
                        "地址：通用 Webhook 只能发往运维允许的主机：{}",
                        s.alert_hosts.join("、")
                    )
                });
            }
            _ => {}
        }
        let secret = self.secret.trim().to_owned();
        match self.kind.as_str() {
            "wecom" if !url.contains("key=") => {
                return Err(
                    "地址：企业微信机器人的地址含 key=（在群机器人设置中复制 Webhook 地址）".into(),
                );
            }
            "dingtalk" if !url.contains("access_token=") => {
                return Err(
                    "地址：钉钉机器人的地址含 access_token=（在机器人设置中复制 Webhook 地址）"
                        .into(),
                );
            }
            "dingtalk" if !secret.starts_with("SEC") => {
                return Err("密钥：钉钉机器人须启用“加签”，密钥以 SEC 开头".into());
            }
            "webhook" | "workorder" if secret.len() < 16 => {
                return Err("密钥：签名密钥至少 16 个字符".into());
            }
            _ => {}
        }
        let inbound = self.inbound.trim().to_owned();
        match self.kind.as_str() {
            "workorder" if inbound.len() < 16 || inbound.len() > 200 => {
                return Err("回传密钥：工单系统签名回传事件的密钥，16 到 200 个字符".into());
            }
            "workorder" if inbound == secret => {
                return Err("回传密钥：须与本系统的签名密钥不同（各方各用一把）".into());
            }
            "workorder" => {}
            _ if !inbound.is_empty() => {
                return Err("回传密钥：只有 12345 工单系统才有回传密钥".into());
            }
            _ => {}
        }
        let opt = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let region = opt(self.region);
        if region
            .as_deref()
            .is_some_and(|r| !crate::access::region_ok(r))
        {
            return Err("区划：须为 2 至 12 位数字的区划代码".into());
        }
        Ok(NewRoute {
            name: self.name.trim().to_owned(),
            region,
            hall: opt(self.hall),
            dept: opt(self.dept),
            url: url.to_owned(),
            secret,
            inbound,
            ..self
        })
    }
}

/// The address and secret are stored sealed under `key` (the edge's current challenge key), so
/// the database and its backups never hold a robot's key or a signing secret in clear.
pub fn add_route(r: &NewRoute, by: &str, now: i64, key: &Key) -> Result<Stmt, String> {
    let sealed = |t: &str| seal::seal(key, t).map_err(|e| e.to_string());
    Ok(stmt(
        "INSERT INTO routes (name, hall, dept, kind, url, secret, shown, names, audience, created_by, created_at, region, inbound) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
        vec![
            r.name.as_str().into(),
            r.hall.clone().into(),
            r.dept.clone().into(),
            r.kind.as_str().into(),
            sealed(&r.url)?.into(),
            sealed(&r.secret)?.into(),
            shown_url(&r.url).into(),
            i64::from(r.names).into(),
            r.audience.as_str().into(),
            by.into(),
            now.into(),
            r.region.clone().into(),
            if r.inbound.is_empty() {
                String::new()
            } else {
                sealed(&r.inbound)?
            }
            .into(),
        ],
    ))
}

/// Seals under the current key what is not yet sealed under it: routes stored in clear before
/// sealing existed, or under a key since rotated (which must stay in `CHALLENGE_KEYS` until
/// this ran once, at the storage object's start). A deleted route keeps neither. Returns how many
/// were sealed anew; one that does not open is left as it is (its alerts say why).
pub fn reseal(db: &dyn Sql, ring: &Keyring) -> Result<usize, String> {
    struct Stored {
        id: i64,
        url: String,
        secret: String,
        inbound: String,
    }
    crate::row!(Stored {
        id,
        url,
        secret,
        inbound
    });
    let key = ring.current();
    let stored: Vec<Stored> = rows(
        db,
        stmt(
            "SELECT id, url, secret, inbound FROM routes WHERE deleted_at IS NULL",
            vec![],
        ),
    )?;
    let plain = |t: &str| match seal::kid_of(t) {
        None => Some(t.to_owned()),
        Some(_) => seal::open(ring, t).ok(),
    };
    let mut out = vec![stmt(
        "UPDATE routes SET url = '', secret = '', inbound = '' WHERE deleted_at IS NOT NULL \
         AND (url <> '' OR secret <> '' OR inbound <> '')",
        vec![],
    )];
    for r in stored {
        let current = |t: &str| seal::kid_of(t) == Some(key.kid);
        if current(&r.url) && current(&r.secret) && (r.inbound.is_empty() || current(&r.inbound)) {
            continue;
        }
        let inbound = if r.inbound.is_empty() {
            Some(String::new())
        } else {
            plain(&r.inbound)
        };
        let (Some(url), Some(secret), Some(inbound)) = (plain(&r.url), plain(&r.secret), inbound)
        else {
            continue;
        };
        let sealed = |t: &str| seal::seal(key, t).map_err(|e| e.to_string());
        out.push(stmt(
            "UPDATE routes SET url = ?2, secret = ?3, shown = ?4, inbound = ?5 WHERE id = ?1",
            vec![
                r.id.into(),
                sealed(&url)?.into(),
                sealed(&secret)?.into(),
                shown_url(&url).into(),
                if inbound.is_empty() {
                    String::new()
                } else {
                    sealed(&inbound)?
                }
                .into(),
            ],
        ));
    }
    let n = out.len() - 1;
    db.exec(out)?;
    Ok(n)
}

pub const ROUTE_COLUMNS: &str = "id, name, region, hall, dept, kind, url, secret, shown, names, audience, created_by, created_at, inbound";

/// The routes (not deleted) of the ids in `ids` (a JSON array).
pub fn routes_of(ids: &str) -> Stmt {
    stmt(
        format!(
            "SELECT {ROUTE_COLUMNS} FROM routes WHERE deleted_at IS NULL AND id IN (SELECT value FROM json_each(?1))"
        ),
        vec![ids.into()],
    )
}

pub fn route(id: i64) -> Stmt {
    stmt(
        format!("SELECT {ROUTE_COLUMNS} FROM routes WHERE id = ?1 AND deleted_at IS NULL"),
        vec![id.into()],
    )
}

pub fn routes() -> Stmt {
    stmt(
        format!(
            "SELECT {ROUTE_COLUMNS} FROM routes WHERE deleted_at IS NULL ORDER BY region, hall, dept, id"
        ),
        vec![],
    )
}

/// Its pending alerts are dropped with it (they would have nowhere to go).
pub fn delete_route(id: i64, now: i64) -> Vec<Stmt> {
    vec![
        stmt(
            "UPDATE routes SET deleted_at = ?2, url = '', secret = '', inbound = '' WHERE id = ?1 AND deleted_at IS NULL RETURNING id",
            vec![id.into(), now.into()],
        ),
        stmt(
            "UPDATE alerts SET sent_at = -1, last_error = 'route deleted' WHERE route = ?1 AND sent_at IS NULL",
            vec![id.into()],
        ),
    ]
}

// ---- the alarm's work ----

/// The storage object's SQL as the tick sees it: one statement's rows (a JSON array of row
/// objects), or statements run in one transaction.
pub trait Sql {
    fn query(&self, s: Stmt) -> Result<String, String>;
    fn exec(&self, s: Vec<Stmt>) -> Result<(), String>;
}

pub fn rows<T: crate::row::Row>(db: &dyn Sql, s: Stmt) -> Result<Vec<T>, String> {
    crate::row::read(&db.query(s)?).map_err(|e| format!("rows: {e}"))
}

/// The routes an event goes to: `audience`'s, for the case's region, hall and unit (a hall is
/// named within its region: two halls of one name in two regions are two places).
fn enqueue(case: &CaseRow, kind: &str, audience: &str, detail: &str, now: i64) -> Stmt {
    enqueue_at(case, kind, audience, detail, now, now)
}

/// [`enqueue`], first due at `at` (a new 差评's alert to the handlers, rater-safe).
fn enqueue_at(case: &CaseRow, kind: &str, audience: &str, detail: &str, now: i64, at: i64) -> Stmt {
    stmt(
        "INSERT OR IGNORE INTO alerts (case_id, kind, route, detail, created_at, next_attempt_at) \
         SELECT ?1, ?2, id, ?6, ?3, ?9 FROM routes WHERE deleted_at IS NULL AND audience = ?7 \
         AND (region IS NULL OR substr(?8, 1, length(region)) = region) \
         AND (hall IS NULL OR hall = ?4) AND (dept IS NULL OR dept = ?5)",
        vec![
            case.id.into(),
            kind.into(),
            now.into(),
            case.hall.clone().into(),
            case.dept.clone().into(),
            detail.into(),
            audience.into(),
            case.region.clone().unwrap_or_default().into(),
            at.into(),
        ],
    )
}

/// Rater-safe alerts: a new 差评's alert to the handlers waits (`ALERT_DELAY`), and leaves as
/// soon as its window has had `ALERT_K` more ratings, so that its time does not point at the
/// one citizen who stood there.
fn release(db: &dyn Sql, s: &Settings, now: i64) -> Result<(), String> {
    if s.alert_k == 0 {
        return Ok(());
    }
    db.exec(vec![stmt(
        "UPDATE alerts SET next_attempt_at = ?1 WHERE sent_at IS NULL AND attempts = 0 \
         AND kind = 'new' AND next_attempt_at > ?1 AND (SELECT COUNT(*) FROM cases c \
           JOIN ratings r ON r.hall = c.hall AND r.rated_at > c.opened_at \
             AND json_extract(r.entry, '$.window') = json_extract(c.entry, '$.window') \
           WHERE c.id = alerts.case_id) >= ?2",
        vec![now.into(), i64::from(s.alert_k).into()],
    )])
}

struct Count {
    n: i64,
}
crate::row!(Count { n });

/// New cases: their deadlines counted, their alerts queued, the repeat rule applied. Each case
/// in one transaction.
fn open_new(db: &dyn Sql, s: &Settings, now: i64) -> Result<(), String> {
    let new: Vec<CaseRow> = rows(
        db,
        stmt(
            format!("SELECT {CASE_COLUMNS} FROM cases WHERE alerted = 0 ORDER BY id LIMIT 200"),
            vec![],
        ),
    )?;
    if new.is_empty() {
        return Ok(());
    }
    let cal = &calendar(&rows::<CalendarRow>(db, calendars())?)?;
    for c in new {
        let d = s.deadlines_for(c.region.as_deref().unwrap_or(""));
        // A case reopened by the citizen's 追评 runs its clock again from then.
        let start = c.reopened_at.unwrap_or(c.opened_at);
        let callback = wire::calendar::due(start, d.callback, s.hours, cal);
        let fix = wire::calendar::due(start, d.fix(c.track.as_deref()), s.hours, cal);
        let mut guessed = callback.guessed_years.clone();
        guessed.extend(fix.guessed_years.iter().copied());
        guessed.sort_unstable();
        guessed.dedup();
        let guessed = (!guessed.is_empty()).then(|| {
            guessed
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        });
        let mut out = vec![stmt(
            "UPDATE cases SET callback_due = ?2, fix_due = ?3, guessed = ?4, alerted = 1 WHERE id = ?1",
            vec![
                c.id.into(),
                callback.at.into(),
                fix.at.into(),
                guessed.into(),
            ],
        )];
        let c = CaseRow {
            callback_due: Some(callback.at),
            fix_due: Some(fix.at),
            ..c
        };
        if let Some(t) = c.reopened_at {
            // Each reopening its own alert: a case may be reopened more than once (the citizen's
            // 追评, then a work-order system's 重新交办).
            out.push(enqueue(&c, &format!("reopened-{t}"), "handlers", "", now));
            // 重新交办: the work-order systems get the case again (a bridge that reopened it
            // itself has this row already, marked sent).
            out.push(enqueue(&c, &format!("reorder-{t}"), "orders", "", now));
            db.exec(out)?;
            continue;
        }
        if !c.overturned() {
            let at = (c.opened_at + s.alert_delay_secs).max(now);
            out.push(enqueue_at(&c, "new", "handlers", "", now, at));
            // A work order leaves at once: it goes to the office's own system, not a chat group.
            out.push(enqueue(&c, "order", "orders", "", now));
        }
        // The repeat rule: the Nth 差评 on the staff member (matter ''), and on the staff member
        // and matter, within D days; once a pair has fired, not again within D days.
        let since = c.opened_at - i64::from(s.repeat_days) * 86_400;
        if let Some(staff) = &c.staff {
            for matter in [Some(""), c.matter.as_deref()].into_iter().flatten() {
                let n: Vec<Count> = rows(
                    db,
                    stmt(
                        "SELECT COUNT(*) AS n FROM cases WHERE staff = ?1 AND opened_at >= ?2 \
                         AND opened_at <= ?4 AND (?3 = '' OR matter = ?3) \
                         AND (review IS NULL OR review != 'overturned')",
                        vec![
                            staff.as_str().into(),
                            since.into(),
                            matter.into(),
                            c.opened_at.into(),
                        ],
                    ),
                )?;
                let fired: Vec<Count> = rows(
                    db,
                    stmt(
                        "SELECT COUNT(*) AS n FROM repeats WHERE staff = ?1 AND matter = ?2 AND at >= ?3",
                        vec![staff.as_str().into(), matter.into(), since.into()],
                    ),
                )?;
                let n = n.first().map_or(0, |r| r.n);
                if n >= i64::from(s.repeat_n) && fired.first().is_none_or(|r| r.n == 0) {
                    let kind = if matter.is_empty() {
                        "repeat_staff"
                    } else {
                        "repeat_matter"
                    };
                    out.push(stmt(
                        "INSERT INTO repeats (staff, matter, case_id, at) VALUES (?1, ?2, ?3, ?4)",
                        vec![
                            staff.as_str().into(),
                            matter.into(),
                            c.id.into(),
                            c.opened_at.into(),
                        ],
                    ));
                    out.push(enqueue(&c, kind, "supervisors", &n.to_string(), now));
                    out.push(add_step(
                        c.id,
                        "系统",
                        "system",
                        kind,
                        &format!("{} 天内第 {n} 条差评", s.repeat_days),
                        now,
                    ));
                }
            }
        }
        db.exec(out)?;
    }
    Ok(())
}

/// Open cases whose running deadline is near or past: 临期 to the handlers once, 超期 to the
/// handlers and the supervisors once, per step.
fn remind(db: &dyn Sql, s: &Settings, now: i64) -> Result<(), String> {
    let due: Vec<CaseRow> = rows(
        db,
        stmt(
            format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE alerted = 1 AND ( \
                 (state = 'callback' AND callback_due - ?2 <= ?1 AND overdue_sent IS NOT 'callback') \
                 OR (state IN ('called', 'fixing') AND fix_due - ?2 <= ?1 AND overdue_sent IS NOT 'fix')) \
                 ORDER BY id LIMIT 500"
            ),
            vec![now.into(), s.remind_before_secs.into()],
        ),
    )?;
    for c in due {
        let Some(step) = c.state().clock() else {
            continue;
        };
        let Some((at, _)) = c.due() else { continue };
        let mut out = vec![];
        if now >= at {
            let kind = format!("overdue_{step}");
            out.push(enqueue(&c, &kind, "handlers", "", now));
            out.push(enqueue(&c, &kind, "supervisors", "", now));
            out.push(stmt(
                "UPDATE cases SET overdue_sent = ?2, soon_sent = ?2 WHERE id = ?1",
                vec![c.id.into(), step.into()],
            ));
        } else if c.soon_sent.as_deref() != Some(step) {
            out.push(enqueue(&c, &format!("soon_{step}"), "handlers", "", now));
            out.push(stmt(
                "UPDATE cases SET soon_sent = ?2 WHERE id = ?1",
                vec![c.id.into(), step.into()],
            ));
        }
        if !out.is_empty() {
            db.exec(out)?;
        }
    }
    Ok(())
}

/// One HTTP request to a route, carrying `alerts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub route: i64,
    pub kind: String,
    pub alerts: Vec<i64>,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// A work order that carries a case's callback phone, and the route's name: once taken, the
    /// case's ledger (and the citizen's status page) says the phone went with it.
    pub phone_of: Option<(i64, String)>,
}

#[derive(Debug, Clone)]
struct PendingRow {
    alert: i64,
    kind: String,
    detail: String,
    case: CaseRow,
}
crate::row!(PendingRow { alert, kind, detail; case: CaseRow });

fn kind_of(kind: &str, detail: &str, s: &Settings) -> Kind {
    let n = detail.parse().unwrap_or(s.repeat_n);
    match kind {
        "repeat_staff" => Kind::Repeat {
            n,
            days: s.repeat_days,
            matter: false,
        },
        "repeat_matter" => Kind::Repeat {
            n,
            days: s.repeat_days,
            matter: true,
        },
        k if k.starts_with("soon_") => Kind::Soon,
        k if k.starts_with("overdue_") => Kind::Overdue,
        k if k.starts_with("reopened") => Kind::Reopened,
        _ => Kind::New,
    }
}

/// What each route sends now: robots through `wire::alert::plan` (single alerts while the
/// minute has room, then digests, never over 20 a minute), webhooks one event a request.
fn messages(
    db: &dyn Sql,
    s: &Settings,
    ring: &Keyring,
    now: i64,
    now_ms: i64,
) -> Result<Vec<Message>, String> {
    let routes: Vec<RouteRow> = rows(
        db,
        stmt(
            format!(
                "SELECT {ROUTE_COLUMNS} FROM routes WHERE deleted_at IS NULL AND id IN \
                 (SELECT route FROM alerts WHERE case_id IS NOT NULL AND sent_at IS NULL \
                  AND next_attempt_at <= ?1)"
            ),
            vec![now.into()],
        ),
    )?;
    let mut out = vec![];
    for r in routes {
        let Some((url, secret)) = open_route(db, &r, ring, now)? else {
            continue;
        };
        let cols = CASE_COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let pending: Vec<PendingRow> = rows(
            db,
            stmt(
                format!(
                    "SELECT a.id AS alert, a.kind, a.detail, {cols} FROM alerts a JOIN cases c ON c.id = a.case_id \
                     WHERE a.route = ?1 AND a.sent_at IS NULL AND a.next_attempt_at <= ?2 ORDER BY a.id LIMIT 200"
                ),
                vec![r.id.into(), now.into()],
            ),
        )?;
        let alerts: Vec<Alert> = pending
            .iter()
            .map(|p| {
                p.case.alert(
                    kind_of(&p.kind, &p.detail, s),
                    r.names != 0,
                    r.audience == "handlers",
                    s,
                )
            })
            .collect();
        if r.kind == "workorder" {
            let own = url_host(&url).is_some_and(|h| s.own_hosts.contains(&h));
            for p in &pending {
                let phone = if own {
                    case_phone(db, p.case.id)?
                } else {
                    None
                };
                let o = order(p, phone, s);
                let mut m = webhook_message(&r, (&url, &secret), p.alert, "order", o.body(), now);
                m.phone_of = o.phone.is_some().then(|| (p.case.id, r.name.clone()));
                out.push(m);
            }
            continue;
        }
        if r.kind == "webhook" {
            for (p, a) in pending.iter().zip(&alerts) {
                let body = a.webhook_body(p.alert);
                out.push(webhook_message(
                    &r,
                    (&url, &secret),
                    p.alert,
                    "alert",
                    body,
                    now,
                ));
            }
            continue;
        }
        struct At {
            at: i64,
        }
        crate::row!(At { at });
        let sent: Vec<At> = rows(
            db,
            stmt(
                "SELECT at FROM route_sends WHERE route = ?1 AND at > ?2",
                vec![r.id.into(), (now - alert::ROBOT_MINUTE_SECS).into()],
            ),
        )?;
        let sent: Vec<i64> = sent.into_iter().map(|a| a.at).collect();
        let mut next = 0;
        for (text, k) in alert::plan(&alerts, &sent, now) {
            let ids = pending[next..next + k].iter().map(|p| p.alert).collect();
            next += k;
            let (url, body) = if r.kind == "dingtalk" {
                (
                    alert::dingtalk_url(&url, &secret, now_ms),
                    alert::dingtalk_body("差评提醒", &text),
                )
            } else {
                (url.clone(), alert::wecom_body(&text))
            };
            out.push(Message {
                route: r.id,
                kind: r.kind.clone(),
                alerts: ids,
                url,
                headers: vec![],
                body,
                phone_of: None,
            });
        }
    }
    Ok(out)
}

/// The callback phone of an open case's rating (given only with the citizen's consent).
fn case_phone(db: &dyn Sql, case: i64) -> Result<Option<String>, String> {
    struct Phone {
        phone: Option<String>,
    }
    crate::row!(Phone { phone });
    let p: Vec<Phone> = rows(db, phone(case, &crate::access::Scope::All))?;
    Ok(p.into_iter().next().and_then(|p| p.phone))
}

/// A case's work order (`order`, or `reorder-<when>` for a reopening).
fn order(p: &PendingRow, phone: Option<String>, s: &Settings) -> wire::workorder::Order {
    let c = &p.case;
    let e = c.entry();
    let reopened = p.kind.starts_with("reorder-");
    let events = format!("/api/v1/cases/{}/events", c.number());
    wire::workorder::Order {
        id: p.alert,
        kind: if reopened {
            wire::workorder::OrderKind::Reopened
        } else {
            wire::workorder::OrderKind::New
        },
        case: c.number(),
        rating: c.rating.clone(),
        level: c.level().unwrap_or(Level::Dissatisfied),
        tags: c.tags(),
        matter: c.matter.clone(),
        comment: c.comment.clone(),
        phone,
        region: c.region.clone().unwrap_or_default(),
        hall: e.as_ref().map_or(String::new(), |e| e.hall.clone()),
        window: e.as_ref().map_or(String::new(), |e| e.window.clone()),
        dept: e.as_ref().map_or(String::new(), |e| e.dept.clone()),
        staff_id: e.as_ref().and_then(|e| e.staff_id.clone()),
        rated_at: c.opened_at,
        callback_due: c.callback_due.unwrap_or(c.opened_at),
        fix_due: c.fix_due.unwrap_or(c.opened_at),
        reopened_at: c.reopened_at.filter(|_| reopened),
        verdict: c.verdict.clone().filter(|_| reopened),
        events: match &s.public_url {
            Some(u) => format!("{}{events}", u.trim_end_matches('/')),
            None => events,
        },
    }
}

/// One event to a generic webhook route: its body signed with the route's secret
/// (`Zsp-Signature`) and `Idempotency-Key: <what>-<alert>` (alerts, invitations, digests alike).
pub fn webhook_message(
    r: &RouteRow,
    (url, secret): (&str, &str),
    alert: i64,
    what: &str,
    body: String,
    now: i64,
) -> Message {
    Message {
        route: r.id,
        kind: r.kind.clone(),
        alerts: vec![alert],
        url: url.to_owned(),
        headers: vec![
            (
                "Zsp-Signature".into(),
                alert::webhook_sign(secret.as_bytes(), now, body.as_bytes()),
            ),
            ("Idempotency-Key".into(), format!("{what}-{alert}")),
        ],
        body,
        phone_of: None,
    }
}

/// The routes, as stored, of these numbers (each once).
pub fn routes_named(db: &dyn Sql, mut ids: Vec<i64>) -> Result<Vec<RouteRow>, String> {
    ids.sort_unstable();
    ids.dedup();
    rows(
        db,
        routes_of(&serde_json::to_string(&ids).expect("numbers")),
    )
}

/// A route's address and secret, opened to send; `None` when they cannot be (the route's due
/// messages then say why: [`unopenable`]).
pub fn open_route(
    db: &dyn Sql,
    r: &RouteRow,
    ring: &Keyring,
    now: i64,
) -> Result<Option<(String, String)>, String> {
    match r.opened(ring) {
        Ok(o) => Ok(Some(o)),
        Err(e) => {
            db.exec(vec![unopenable(r.id, &e, now)])?;
            Ok(None)
        }
    }
}

/// A route whose address or secret cannot be opened: nothing can be sent on it, so its due
/// messages (alerts and invitations) say why, and wait an hour.
pub fn unopenable(route: i64, why: &str, now: i64) -> Stmt {
    stmt(
        "UPDATE alerts SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 \
         WHERE route = ?1 AND sent_at IS NULL AND next_attempt_at <= ?4",
        vec![route.into(), why.into(), (now + 3600).into(), now.into()],
    )
}

/// The alarm's work: open what is new, queue reminders, and what to send now. (After the sends
/// are recorded, [`next_wake`] says when the alarm should come back.)
/// `ring` opens the routes' sealed addresses and secrets (the edge's `CHALLENGE_KEYS`).
pub fn tick(
    db: &dyn Sql,
    s: &Settings,
    ring: &Keyring,
    now: i64,
    now_ms: i64,
) -> Result<Vec<Message>, String> {
    open_new(db, s, now)?;
    remind(db, s, now)?;
    release(db, s, now)?;
    messages(db, s, ring, now, now_ms)
}

/// When the lane next has work: a pending alert due (waiting for a robot's room or a digest: a
/// few seconds; a retry: its time), or a reminder.
pub fn next_wake(db: &dyn Sql, s: &Settings, now: i64) -> Result<Option<i64>, String> {
    struct Next {
        alert: Option<i64>,
        remind: Option<i64>,
    }
    crate::row!(Next { alert, remind });
    let n: Vec<Next> = rows(
        db,
        stmt(
            "SELECT (SELECT MIN(next_attempt_at) FROM alerts WHERE sent_at IS NULL) AS alert, \
             (SELECT MIN(CASE WHEN state = 'callback' THEN \
                CASE WHEN soon_sent IS 'callback' THEN callback_due ELSE callback_due - ?1 END \
              ELSE CASE WHEN soon_sent IS 'fix' THEN fix_due ELSE fix_due - ?1 END END) \
              FROM cases WHERE alerted = 1 AND ((state = 'callback' AND overdue_sent IS NOT 'callback') \
              OR (state IN ('called', 'fixing') AND overdue_sent IS NOT 'fix'))) AS remind",
            vec![s.remind_before_secs.into()],
        ),
    )?;
    let n = n.into_iter().next();
    let alert = n
        .as_ref()
        .and_then(|n| n.alert)
        .map(|a| a.max(now + ALERT_POLL_SECS));
    let remind = n.and_then(|n| n.remind).map(|r| r.max(now + 1));
    Ok([alert, remind].into_iter().flatten().min())
}

/// While alerts wait for a robot's room or a digest's interval, the alarm looks again this often.
pub const ALERT_POLL_SECS: i64 = 2;

/// Whether a route took the message: HTTP 2xx, and for the robots `errcode` 0. A failure is
/// told in our own words, with the status and the robot's error number, never the answer's text:
/// whatever a host answers is not shown to anyone.
pub fn accepted(kind: &str, status: u16, body: &str) -> Result<(), String> {
    if !(200..300).contains(&status) {
        let why = match status {
            301..=308 => "地址已迁移，请更新提醒路由",
            400 => "对方认为请求格式有误",
            401 | 403 => "对方拒绝：地址或密钥无效",
            404 => "地址不存在",
            413 => "消息过长",
            429 => "发送过于频繁，对方限流",
            500..=599 => "对方服务出错",
            _ => "对方未接收",
        };
        return Err(format!("HTTP {status}：{why}"));
    }
    // A system's webhook (alerts, invitations, work orders): its 2xx is the acknowledgment.
    if kind == "webhook" || kind == "workorder" {
        return Ok(());
    }
    match serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["errcode"].as_i64())
    {
        Some(0) => Ok(()),
        Some(code) => {
            let why = match code {
                93000 | 300001 | 310000 => "机器人地址或签名无效",
                45009 | 130101 => "发送过于频繁，机器人限流",
                40058 | 400013 => "消息格式不被接受",
                _ => "机器人拒收",
            };
            Err(format!("HTTP {status}，errcode {code}：{why}"))
        }
        None => Err(format!("HTTP {status}：应答不是机器人的格式")),
    }
}

/// The outcome of sending `m`: its alerts marked sent and the send counted, or their retry set
/// (5 s, doubling, at most 2 minutes).
pub fn record(m: &Message, outcome: Result<(), String>, now: i64) -> Vec<Stmt> {
    let ids = serde_json::to_string(&m.alerts).expect("numbers");
    match outcome {
        Ok(()) => vec![
            stmt(
                "UPDATE alerts SET sent_at = ?2, attempts = attempts + 1, last_error = NULL \
                 WHERE id IN (SELECT value FROM json_each(?1)) AND sent_at IS NULL",
                vec![ids.into(), now.into()],
            ),
            stmt(
                "INSERT INTO route_sends (route, at, alerts) VALUES (?1, ?2, ?3)",
                vec![m.route.into(), now.into(), (m.alerts.len() as i64).into()],
            ),
            stmt(
                "DELETE FROM route_sends WHERE at < ?1",
                vec![(now - 600).into()],
            ),
        ]
        .into_iter()
        .chain(m.phone_of.as_ref().map(|(case, route)| {
            add_step(*case, route, crate::access::BRIDGE_ROLE, "phone", "", now)
        }))
        .collect(),
        Err(e) => vec![stmt(
            "UPDATE alerts SET attempts = attempts + 1, last_error = ?2, \
             next_attempt_at = ?3 + MIN(120, 5 * (1 << MIN(attempts, 5))) \
             WHERE id IN (SELECT value FROM json_each(?1)) AND sent_at IS NULL",
            vec![ids.into(), e.into(), now.into()],
        )],
    }
}

// ---- the console's reads, scoped ----

pub fn case(id: i64, scope: &crate::access::Scope) -> Stmt {
    crate::access::scoped(
        &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1 AND {{scope}}"),
        scope,
        vec![id.into()],
    )
}

/// Open cases by deadline (soonest first), or every case of a period, newest first.
pub fn cases(scope: &crate::access::Scope, open: bool, from: i64, to: i64) -> Stmt {
    let sql = if open {
        format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE state != 'closed' AND {{scope}} \
             AND opened_at >= ?1 AND opened_at < ?2 \
             ORDER BY CASE state WHEN 'callback' THEN callback_due WHEN 'appealed' THEN 9e15 ELSE fix_due END, id LIMIT 500"
        )
    } else {
        format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE opened_at >= ?1 AND opened_at < ?2 AND {{scope}} \
             ORDER BY id DESC LIMIT 100000"
        )
    };
    crate::access::scoped(&sql, scope, vec![from.into(), to.into()])
}

/// The callback phone, read from the rating while the case is open and in scope.
pub fn phone(id: i64, scope: &crate::access::Scope) -> Stmt {
    crate::access::scoped(
        "SELECT r.phone AS phone FROM cases c JOIN ratings r ON r.id = c.rating \
         WHERE c.id = ?1 AND c.state != 'closed' AND \
         EXISTS (SELECT 1 FROM cases WHERE id = c.id AND {scope})",
        scope,
        vec![id.into()],
    )
}

/// Alerts of a case, for its page: where, when sent, the last error.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub kind: String,
    /// `own` for a reopening's order not sent to the work-order system that reopened the case.
    pub detail: String,
    pub route: String,
    pub sent_at: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
}
crate::row!(AlertRow {
    kind,
    detail,
    route,
    sent_at,
    attempts,
    last_error
});

pub fn alerts_of(case: i64) -> Stmt {
    stmt(
        "SELECT a.kind, a.detail, r.name AS route, a.sent_at, a.attempts, a.last_error FROM alerts a \
         JOIN routes r ON r.id = a.route WHERE a.case_id = ?1 ORDER BY a.id",
        vec![case.into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step from the case form's `action` and `value` alone.
    fn form(action: &str, value: &str) -> Result<Step, String> {
        Step::from_form(action, &|k| {
            if k == "value" {
                value.into()
            } else {
                String::new()
            }
        })
    }

    /// Where a case stands: `state`, whether it was called, no extension asked.
    fn at(state: State, called: bool) -> At<'static> {
        At {
            state,
            called,
            extension: None,
        }
    }

    const ACTIONS: [&str; 11] = [
        "callback",
        "check",
        "extend",
        "decide",
        "fixed",
        "replied",
        "close",
        "appeal",
        "review",
        "start_fix",
        "classify",
    ];

    #[test]
    fn the_case_page_offers_what_the_state_machine_takes() {
        use State::*;
        let offered = |a: At<'static>| -> Vec<&str> {
            ACTIONS
                .into_iter()
                .filter(|x| Step::offered(x, a))
                .collect()
        };
        assert_eq!(offered(at(Callback, false)), ["callback", "appeal"]);
        assert_eq!(
            offered(at(Called, true)),
            ["check", "extend", "appeal", "classify"]
        );
        assert_eq!(
            offered(at(Fixing, true)),
            ["extend", "fixed", "appeal", "classify"]
        );
        let asked = At {
            extension: Some("asked"),
            ..at(Fixing, true)
        };
        assert_eq!(offered(asked), ["decide", "fixed", "appeal", "classify"]);
        let done = At {
            extension: Some("approved"),
            ..at(Fixing, true)
        };
        assert_eq!(offered(done), ["fixed", "appeal", "classify"]);
        assert_eq!(offered(at(Fixed, true)), ["replied", "classify"]);
        assert_eq!(offered(at(Replied, true)), ["close", "classify"]);
        assert_eq!(offered(at(Appealed, true)), ["review"]);
        assert_eq!(offered(at(Closed, true)), ["classify"]);
        assert!(!Step::offered("jump", at(Callback, false)));
    }

    #[test]
    fn every_step_from_every_state_is_taken_or_refused_in_words() {
        use State::*;
        let check = |finding: &str, track: Option<&str>| Step::Check {
            finding: finding.into(),
            about: "waiting".into(),
            track: track.map(str::to_owned),
        };
        let steps = [
            form("callback", "reached").unwrap(),
            check("true", Some("simple")),
            check("partial", Some("complex")),
            check("false", None),
            Step::Extend {
                reason: "需协调外单位".into(),
                until: Day(20_450),
            },
            Step::Decide { approve: true },
            Step::Decide { approve: false },
            form("fixed", "加强培训").unwrap(),
            form("replied", "已电话告知").unwrap(),
            Step::Close,
            form("appeal", "misrated").unwrap(),
            form("review", "upheld").unwrap(),
            form("review", "overturned").unwrap(),
            form("classify", "staff").unwrap(),
        ];
        // (state, extension asked?) → what each step above leads to ("" refused).
        #[rustfmt::skip]
        let table: [(State, Option<&str>, [&str; 14]); 9] = [
            (Callback, None, ["called", "", "", "", "", "", "", "", "", "", "appealed", "", "", ""]),
            (Called, None, ["", "fixing", "fixing", "appealed", "called", "", "", "", "", "", "appealed", "", "", "called"]),
            (Called, Some("asked"), ["", "fixing", "fixing", "appealed", "", "called", "called", "", "", "", "appealed", "", "", "called"]),
            (Fixing, None, ["", "", "", "", "fixing", "", "", "fixed", "", "", "appealed", "", "", "fixing"]),
            (Fixing, Some("refused"), ["", "", "", "", "", "", "", "fixed", "", "", "appealed", "", "", "fixing"]),
            (Fixed, None, ["", "", "", "", "", "", "", "", "replied", "", "", "", "", "fixed"]),
            (Replied, None, ["", "", "", "", "", "", "", "", "", "closed", "", "", "", "replied"]),
            (Appealed, None, ["", "", "", "", "", "", "", "", "", "", "", "called", "closed", ""]),
            (Closed, None, ["", "", "", "", "", "", "", "", "", "", "", "", "", "closed"]),
        ];
        for (state, extension, want) in table {
            let a = At {
                state,
                called: state != Callback,
                extension,
            };
            for (step, want) in steps.iter().zip(want) {
                match step.next(a) {
                    Ok(to) => assert_eq!(to.as_str(), want, "{step:?} from {a:?}"),
                    Err(why) => {
                        assert_eq!(want, "", "{step:?} from {a:?}: {why}");
                        assert!(
                            why.contains(state.label_zh())
                                || why.contains("延期")
                                || why.contains("一次"),
                            "{why}"
                        );
                    }
                }
            }
        }
        assert!(
            Step::Extend {
                reason: "x".into(),
                until: Day(1)
            }
            .next(At {
                extension: Some("approved"),
                ..at(Fixing, true)
            })
            .unwrap_err()
            .contains("只能延期一次")
        );
        // The form names what is missing.
        let get = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map_or(String::new(), |(_, v)| (*v).to_owned())
            }
        };
        for (action, pairs, says) in [
            ("check", &[("value", "maybe")][..], "属实、部分属实或不属实"),
            (
                "check",
                &[("value", "true"), ("about", "x")][..],
                "差评所涉",
            ),
            (
                "check",
                &[("value", "true"), ("about", "staff")][..],
                "整改类型",
            ),
            ("extend", &[("value", "外单位")][..], "新的整改期限"),
            ("extend", &[("until", "2026-12-20")][..], "延期理由"),
            ("decide", &[("value", "maybe")][..], "审批结论"),
        ] {
            let e = Step::from_form(action, &get(pairs)).unwrap_err();
            assert!(e.contains(says), "{action} {pairs:?}: {e}");
        }
        assert_eq!(
            Step::from_form(
                "check",
                &get(&[
                    ("value", "false"),
                    ("about", "policy"),
                    ("track", "complex")
                ])
            ),
            Ok(Step::Check {
                finding: "false".into(),
                about: "policy".into(),
                track: None
            }),
            "an untrue 差评 has no track"
        );
        assert!(Step::Decide { approve: false }.supervisors_only());
        assert!(
            !Step::Extend {
                reason: String::new(),
                until: Day(0)
            }
            .supervisors_only()
        );
    }
    use crate::access::Scope;
    use crate::console::sql::tests::{db, run};
    use rusqlite::Connection;
    use wire::time::Day;

    struct Lite(Connection);

    impl Sql for Lite {
        fn query(&self, s: Stmt) -> Result<String, String> {
            Ok(serde_json::Value::Array(run(&self.0, &s)).to_string())
        }
        fn exec(&self, s: Vec<Stmt>) -> Result<(), String> {
            self.0.execute_batch("BEGIN").unwrap();
            for st in &s {
                run(&self.0, st);
            }
            self.0.execute_batch("COMMIT").unwrap();
            Ok(())
        }
    }

    /// Monday 2 March 2026, 10:00 CST.
    fn monday_10() -> i64 {
        Day::from_ymd(2026, 3, 2).unwrap().start_unix() + 10 * 3600
    }

    /// A rating as `store::accept` writes it, then its case statements; the rating's id.
    fn rate(c: &Lite, device: &str, staff: &str, matter: &str, level: &str, at: i64) -> String {
        let mut e = Entry::example("A01", Some(staff));
        e.staff_name = Some("王芳".into());
        let entry = serde_json::to_string(&e).unwrap();
        let day = i64::from(Day::from_unix(at).unwrap().0);
        let id = format!("R{device}{day}");
        c.0.execute(
            "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, rated_at, level, tags, \
             tag_version, matter, comment, phone, flagged, via, entry, next_attempt_at) \
             VALUES (?1, 'CODE', ?2, ?3, 1, 1, ?1, ?4, ?5, '207', 1, ?6, '等了很久', '13800138000', 0, 'app', ?7, 0) \
             ON CONFLICT (code, device, day) DO UPDATE SET rev = rev + 1, level = excluded.level, rated_at = excluded.rated_at",
            rusqlite::params![id, device, day, at, level, matter, entry],
        )
        .unwrap();
        let bad = matches!(level, "dissatisfied" | "very_dissatisfied");
        c.exec(open_case("CODE", device, day, at, bad)).unwrap();
        id
    }

    fn route(c: &Lite, kind: &str, audience: &str, hall: Option<&str>) -> i64 {
        let url = match kind {
            "wecom" => "http://127.0.0.1:9/cgi-bin/webhook/send?key=k",
            "dingtalk" => "http://127.0.0.1:9/robot/send?access_token=t",
            _ => "http://127.0.0.1:9/hook",
        };
        let r = NewRoute {
            name: format!("{kind}-{audience}"),
            region: None,
            hall: hall.map(str::to_owned),
            dept: None,
            kind: kind.into(),
            url: url.into(),
            secret: "SEC0123456789abcdef".into(),
            names: false,
            audience: audience.into(),
            inbound: String::new(),
        }
        .check(&Settings {
            wecom_host: "127.0.0.1".into(),
            dingtalk_host: "127.0.0.1".into(),
            alert_hosts: vec!["127.0.0.1".into()],
            ..Settings::default()
        })
        .unwrap();
        run(
            &c.0,
            &add_route(&r, "市管理员", 0, ring().current()).unwrap(),
        )[0]["id"]
            .as_i64()
            .unwrap()
    }

    /// The edge's challenge keys, which seal the routes' secrets.
    fn ring() -> Keyring {
        Keyring::new(
            wire::key::KeyPurpose::Challenge,
            vec![Key::new(wire::key::KeyPurpose::Challenge, 1, [1; 32])],
        )
        .unwrap()
    }

    /// The settings with alerts sent at once (the rater-safe delay has its own test).
    fn immediate() -> Settings {
        Settings {
            alert_delay_secs: 0,
            ..Settings::default()
        }
    }

    fn send_all(c: &Lite, now: i64) -> Vec<Message> {
        let ms = tick(c, &immediate(), &ring(), now, now * 1000).unwrap();
        for m in &ms {
            c.exec(record(m, Ok(()), now)).unwrap();
        }
        ms
    }

    fn case_of(c: &Lite, id: i64) -> CaseRow {
        crate::row::of_value(serde_json::Value::Array(run(&c.0, &case(id, &Scope::All))))
            .map(|mut v: Vec<CaseRow>| v.remove(0))
            .unwrap()
    }

    #[test]
    fn a_bad_rating_opens_one_case_and_its_amendment_joins_it() {
        let c = Lite(db());
        let t = monday_10();
        rate(&c, "D1", "S1", "", "satisfied", t);
        rate(&c, "D2", "S1", "食品经营许可", "dissatisfied", t);
        let open: Vec<CaseRow> =
            crate::row::read(&c.query(cases(&Scope::All, true, 0, i64::MAX)).unwrap()).unwrap();
        assert_eq!(open.len(), 1, "only the 差评 opens a case");
        // 追评 the same day: the same case, amended, with the step recorded.
        rate(&c, "D2", "S1", "食品经营许可", "very_dissatisfied", t + 600);
        let open: Vec<CaseRow> =
            crate::row::read(&c.query(cases(&Scope::All, true, 0, i64::MAX)).unwrap()).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].level, "very_dissatisfied");
        let st: Vec<StepRow> = crate::row::read(&c.query(steps(open[0].id)).unwrap()).unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(
            (st[0].step.as_str(), st[0].actor.as_str()),
            ("amended", "评价人")
        );
        // A good rating amended into a 差评 opens its case then.
        rate(&c, "D1", "S1", "", "dissatisfied", t + 900);
        let open: Vec<CaseRow> =
            crate::row::read(&c.query(cases(&Scope::All, true, 0, i64::MAX)).unwrap()).unwrap();
        assert_eq!(open.len(), 2);
        // Out of scope: nothing.
        let other = Scope::hall("330102", "别的大厅");
        assert!(c.query(case(open[0].id, &other)).unwrap() == "[]");
        assert!(c.query(phone(open[0].id, &other)).unwrap() == "[]");
        let p: serde_json::Value =
            serde_json::from_str(&c.query(phone(open[0].id, &Scope::All)).unwrap()).unwrap();
        assert_eq!(p[0]["phone"], "13800138000");
    }

    #[test]
    fn alerts_go_to_their_routes_once_with_deadlines_counted() {
        let c = Lite(db());
        let t = monday_10();
        let wecom = route(&c, "wecom", "handlers", Some("上城区市民中心"));
        let ding = route(&c, "dingtalk", "handlers", None);
        let _elsewhere = route(&c, "wecom", "handlers", Some("别的大厅"));
        let hook = route(&c, "webhook", "supervisors", None);
        rate(&c, "D1", "S1", "", "dissatisfied", t);
        let ms = send_all(&c, t + 1);
        let to: Vec<i64> = ms.iter().map(|m| m.route).collect();
        assert_eq!(
            to,
            [wecom, ding],
            "the handlers' routes of its hall, not the supervisors'"
        );
        let body: serde_json::Value = serde_json::from_str(&ms[0].body).unwrap();
        let text = body["markdown"]["content"].as_str().unwrap();
        assert!(text.contains("差评提醒：不满意"), "{text}");
        // The handlers' route is read beside the window: the deadline's half-day, not its minute.
        assert!(
            text.contains("回访时限：<font color=\"warning\">2026-03-03 上午 前"),
            "{text}"
        );
        assert!(
            !text.contains("等了很久") && !text.contains("13800138000") && !text.contains("王芳")
        );
        assert!(ms[1].url.contains("&timestamp=") && ms[1].url.contains("&sign="));
        assert!(send_all(&c, t + 5).is_empty(), "never twice");
        let k = case_of(&c, 1);
        assert_eq!(
            k.fix_due,
            Some(Day::from_ymd(2026, 3, 9).unwrap().start_unix() + 10 * 3600)
        );
        // A failed send is retried later, not at once; then sent.
        rate(&c, "D2", "S2", "", "dissatisfied", t + 60);
        let ms = tick(&c, &immediate(), &ring(), t + 61, 0).unwrap();
        assert_eq!(ms.len(), 2);
        for m in &ms {
            c.exec(record(m, Err("HTTP 502: bad gateway".into()), t + 61))
                .unwrap();
        }
        let next = next_wake(&c, &immediate(), t + 61).unwrap();
        assert_eq!(next, Some(t + 61 + 5), "back for the retry");
        assert!(
            tick(&c, &immediate(), &ring(), t + 62, 0)
                .unwrap()
                .is_empty()
        );
        assert_eq!(send_all(&c, t + 61 + 5).len(), 2);
        let _ = hook;
    }

    #[test]
    fn route_secrets_are_stored_sealed_and_follow_the_current_key() {
        let c = Lite(db());
        let t = monday_10();
        let ding = route(&c, "dingtalk", "handlers", None);
        let stored = |id: i64| -> (String, String, String) {
            c.0.query_row(
                "SELECT url, secret, shown FROM routes WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
        };
        let (url, secret, shown) = stored(ding);
        for v in [&url, &secret] {
            assert!(v.starts_with("zsp-sealed:v1:1:"), "{v}");
            assert!(!v.contains("access_token") && !v.contains("SEC0123"), "{v}");
        }
        assert_eq!(shown, "http://127.0.0.1:9/robot/send?…（已隐藏）");
        // A route an older release stored in clear.
        c.0.execute(
            "INSERT INTO routes (name, kind, url, secret, audience, created_by, created_at) VALUES \
             ('old', 'wecom', 'http://127.0.0.1:9/send?key=OLDKEY', '', 'handlers', 'x', 0)",
            [],
        )
        .unwrap();
        let old = c.0.last_insert_rowid();
        // A work-order route: its events' key is sealed too, and follows the key.
        let wo = NewRoute {
            name: "市12345".into(),
            region: None,
            hall: None,
            dept: None,
            kind: "workorder".into(),
            url: "http://127.0.0.1:9/orders".into(),
            secret: "orders-secret-0123456".into(),
            names: false,
            audience: "orders".into(),
            inbound: "events-key-0123456789".into(),
        };
        c.exec(vec![add_route(&wo, "x", 0, ring().current()).unwrap()])
            .unwrap();
        let wo = c.0.last_insert_rowid();
        let inbound = |id: i64| -> String {
            c.0.query_row("SELECT inbound FROM routes WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert!(inbound(wo).starts_with("zsp-sealed:v1:1:"));
        // Rotated: key 2 appended, key 1 kept until the object has started once.
        let rotated = Keyring::new(
            wire::key::KeyPurpose::Challenge,
            vec![
                Key::new(wire::key::KeyPurpose::Challenge, 1, [1; 32]),
                Key::new(wire::key::KeyPurpose::Challenge, 2, [2; 32]),
            ],
        )
        .unwrap();
        assert_eq!(reseal(&c, &rotated).unwrap(), 3);
        assert_eq!(reseal(&c, &rotated).unwrap(), 0, "once");
        for id in [ding, old] {
            let (url, secret, _) = stored(id);
            assert!(url.starts_with("zsp-sealed:v1:2:") && secret.starts_with("zsp-sealed:v1:2:"));
        }
        assert_eq!(stored(old).2, "http://127.0.0.1:9/send?…（已隐藏）");
        assert!(inbound(wo).starts_with("zsp-sealed:v1:2:"));
        assert_eq!(inbound(old), "", "no key where there was none");
        let only_new = Keyring::new(
            wire::key::KeyPurpose::Challenge,
            vec![Key::new(wire::key::KeyPurpose::Challenge, 2, [2; 32])],
        )
        .unwrap();
        let wo_row: Vec<RouteRow> = rows(&c, super::route(wo)).unwrap();
        assert_eq!(
            wo_row[0].opened_inbound(&only_new).as_deref(),
            Some("events-key-0123456789")
        );
        delete_route(wo, t)
            .into_iter()
            .for_each(|s| c.exec(vec![s]).unwrap());
        // Sent with the opened address and secret (钉钉 signs with the secret).
        rate(&c, "D1", "S1", "", "dissatisfied", t);
        let ms = tick(&c, &immediate(), &only_new, t, t * 1000).unwrap();
        assert_eq!(ms.len(), 2);
        let d = ms.iter().find(|m| m.route == ding).unwrap();
        assert!(
            d.url
                .starts_with("http://127.0.0.1:9/robot/send?access_token=t&timestamp=")
        );
        assert!(
            ms.iter()
                .any(|m| m.url == "http://127.0.0.1:9/send?key=OLDKEY")
        );
        // A key removed before the routes were resealed: nothing sent, the alerts say why.
        rate(&c, "D2", "S2", "", "dissatisfied", t + 60);
        assert!(
            tick(&c, &immediate(), &ring(), t + 61, 0)
                .unwrap()
                .is_empty()
        );
        let why: String =
            c.0.query_row(
                "SELECT last_error FROM alerts WHERE route = ?1 AND sent_at IS NULL",
                [ding],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            why.contains("CHALLENGE_KEYS") && why.contains("key 2"),
            "{why}"
        );
        // Deleting a route keeps neither its address nor its secret.
        c.exec(delete_route(ding, t)).unwrap();
        assert_eq!(stored(ding).0, "");
        assert_eq!(stored(ding).1, "");
    }

    #[test]
    fn the_handlers_hear_of_a_bad_rating_only_after_more_ratings_or_the_delay_and_coarsely() {
        let c = Lite(db());
        let t = monday_10() + 120; // 10:02
        let s = Settings::default();
        assert_eq!((s.alert_k, s.alert_delay_secs), (3, 7200));
        let wecom = route(&c, "wecom", "handlers", None);
        let tick_at = |now: i64| {
            let ms = tick(&c, &s, &ring(), now, now * 1000).unwrap();
            for m in &ms {
                c.exec(record(m, Ok(()), now)).unwrap();
            }
            ms
        };
        rate(&c, "D1", "S1", "", "dissatisfied", t);
        assert!(
            tick_at(t + 1).is_empty(),
            "not while the rater may still be at the window"
        );
        rate(&c, "D2", "S1", "", "satisfied", t + 60);
        rate(&c, "D3", "S1", "", "satisfied", t + 120);
        assert!(
            tick_at(t + 121).is_empty(),
            "two more ratings are not yet three"
        );
        rate(&c, "D4", "S1", "", "basic", t + 300);
        let ms = tick_at(t + 301);
        assert_eq!(ms.iter().map(|m| m.route).collect::<Vec<_>>(), [wecom]);
        let body: serde_json::Value = serde_json::from_str(&ms[0].body).unwrap();
        let text = body["markdown"]["content"].as_str().unwrap();
        assert!(text.contains("评价时间：2026-03-02 上午"), "{text}");
        assert!(!text.contains("10:02"), "{text}");
        // A quiet window: the delay alone lets it go.
        let later = t + 3600;
        rate(&c, "D5", "S1", "", "very_dissatisfied", later);
        assert!(tick_at(later + 7199).is_empty());
        assert_eq!(
            next_wake(&c, &s, later + 7199).unwrap(),
            Some(later + 7199 + ALERT_POLL_SECS)
        );
        assert_eq!(tick_at(later + 7200).len(), 1);
    }

    #[test]
    fn the_repeat_rule_fires_once_per_pair_within_its_days() {
        let c = Lite(db());
        let t = monday_10();
        let hook = route(&c, "webhook", "supervisors", None);
        // The supervisors' events (overdue ones too, as days pass), repeats only.
        let repeats = |now: i64| -> Vec<String> {
            send_all(&c, now)
                .iter()
                .inspect(|m| assert!(m.route == hook && m.headers[0].1.starts_with("t=")))
                .map(|m| {
                    serde_json::from_str::<serde_json::Value>(&m.body).unwrap()["kind"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .filter(|k| k.starts_with("repeat"))
                .collect()
        };
        rate(&c, "D1", "S1", "食品经营许可", "dissatisfied", t);
        assert!(repeats(t).is_empty(), "the first is not a repeat");
        rate(&c, "D2", "S1", "食品经营许可", "dissatisfied", t + 86_400);
        assert_eq!(repeats(t + 86_400), ["repeat_staff", "repeat_matter"]);
        // A third within 30 days: not again. Another matter: the staff pair has fired already.
        rate(
            &c,
            "D3",
            "S1",
            "食品经营许可",
            "dissatisfied",
            t + 2 * 86_400,
        );
        rate(&c, "D4", "S1", "", "dissatisfied", t + 3 * 86_400);
        assert!(repeats(t + 3 * 86_400).is_empty());
        // Past 30 days, the pair may fire again.
        rate(&c, "D5", "S1", "", "dissatisfied", t + 40 * 86_400);
        rate(&c, "D6", "S1", "", "dissatisfied", t + 41 * 86_400);
        assert_eq!(repeats(t + 41 * 86_400), ["repeat_staff"]);
    }

    #[test]
    fn reminders_come_near_and_past_the_deadline_once_each() {
        let c = Lite(db());
        let t = monday_10();
        let handlers = route(&c, "wecom", "handlers", None);
        let sup = route(&c, "wecom", "supervisors", None);
        rate(&c, "D1", "S1", "", "dissatisfied", t);
        assert_eq!(send_all(&c, t).len(), 1);
        let due = case_of(&c, 1).callback_due.unwrap();
        tick(&c, &immediate(), &ring(), t + 10, 0).unwrap();
        let next = next_wake(&c, &immediate(), t + 10).unwrap();
        assert_eq!(
            next,
            Some(due - 2 * 3600),
            "the alarm comes back for the reminder"
        );
        let soon = send_all(&c, due - 3600);
        assert_eq!(soon.iter().map(|m| m.route).collect::<Vec<_>>(), [handlers]);
        assert!(soon[0].body.contains("临期提醒"));
        assert!(send_all(&c, due - 60).is_empty());
        let late = send_all(&c, due + 1);
        assert_eq!(
            late.iter().map(|m| m.route).collect::<Vec<_>>(),
            [handlers, sup]
        );
        assert!(late[0].body.contains("超期预警"));
        assert!(send_all(&c, due + 3600).is_empty());
        // The callback made: the rectification's clock runs, with its own reminders.
        let s = Step::Callback {
            outcome: "reached".into(),
        };
        c.exec(vec![s.apply(
            1,
            (State::Callback, State::Called),
            due + 7200,
            None,
        )])
        .unwrap();
        let fix_due = case_of(&c, 1).fix_due.unwrap();
        assert_eq!(send_all(&c, fix_due + 1).len(), 2);
    }

    #[test]
    fn steps_follow_the_ledger_and_an_overturned_case_is_kept_marked() {
        use State::*;
        let cb = form("callback", "reached").unwrap();
        assert_eq!(cb.next(at(Callback, false)), Ok(Called));
        assert!(cb.next(at(Called, true)).unwrap_err().contains("已回访"));
        let fixed = form("fixed", "加强培训").unwrap();
        assert_eq!(fixed.next(at(Fixing, true)), Ok(Fixed));
        assert!(fixed.next(at(Called, true)).is_err(), "checked first");
        let rep = form("replied", "已电话告知").unwrap();
        assert_eq!(rep.next(at(Fixed, true)), Ok(Replied));
        assert_eq!(Step::Close.next(at(Replied, true)), Ok(Closed));
        assert!(Step::Close.next(at(Fixing, true)).is_err());
        let ap = form("appeal", "malicious").unwrap();
        assert_eq!(ap.next(at(Called, true)), Ok(Appealed));
        assert!(ap.next(at(Closed, true)).is_err());
        let up = form("review", "upheld").unwrap();
        assert_eq!(
            (up.next(at(Appealed, true)), up.next(at(Appealed, false))),
            (Ok(Called), Ok(Callback))
        );
        assert!(up.supervisors_only());
        for (a, v, says) in [
            ("callback", "", "回访结果"),
            ("fixed", " ", "整改措施"),
            ("appeal", "x", "申诉理由"),
            ("review", "", "复核结论"),
            ("delete", "", "未知的操作"),
        ] {
            assert!(form(a, v).unwrap_err().contains(says), "{a}");
        }
        assert!(
            form("replied", &"长".repeat(501))
                .unwrap_err()
                .contains("500")
        );

        let c = Lite(db());
        rate(&c, "D1", "S1", "", "dissatisfied", monday_10());
        let t = monday_10() + 60;
        let ov = form("review", "overturned").unwrap();
        let ap = Step::Appeal {
            kind: "misrated".into(),
        };
        assert_eq!(
            run(&c.0, &ap.apply(1, (Callback, Appealed), t, None)).len(),
            1
        );
        // The same step twice at once: the second finds the state moved on.
        assert!(run(&c.0, &ap.apply(1, (Callback, Appealed), t, None)).is_empty());
        assert_eq!(
            run(&c.0, &ov.apply(1, (Appealed, Closed), t, None)).len(),
            1
        );
        let k = case_of(&c, 1);
        assert!(k.overturned() && k.state() == Closed && k.closed_at == Some(t));
        assert!(
            c.query(phone(1, &Scope::All)).unwrap() == "[]",
            "closed: no phone"
        );
    }

    #[test]
    fn settings_are_checked_and_name_what_is_wrong() {
        let d = parse_deadlines("1w/5w 330105:1d/15d 330106:1w/2w/3w").unwrap();
        let s = Settings {
            deadlines: d,
            ..Settings::default()
        };
        assert_eq!(
            s.deadlines_for("330105001").fix(None),
            Span::NaturalDays(15)
        );
        assert_eq!(
            s.deadlines_for("330105001").fix(Some("complex")),
            Span::NaturalDays(15),
            "the two-value form: both tracks"
        );
        assert_eq!(s.deadlines_for("330102").fix(None), Span::WorkingDays(5));
        let t = s.deadlines_for("330106");
        assert_eq!(
            (t.callback, t.fix(Some("simple")), t.fix(Some("complex"))),
            (
                Span::WorkingDays(1),
                Span::WorkingDays(2),
                Span::WorkingDays(3)
            )
        );
        assert!(parse_deadlines("1w").unwrap_err().contains("callback/fix"));
        assert!(parse_deadlines("1w/2w/3w/4w").is_err());
        assert!(parse_deadlines("1x/5w").unwrap_err().contains("\"1x\""));
        assert!(parse_deadlines("0w/5w").is_err());
        assert!(
            parse_deadlines("33:1w/2w 33:1w/3w")
                .unwrap_err()
                .contains("twice")
        );
        assert!(parse_deadlines("abc:1w/2w").unwrap_err().contains("prefix"));
        assert_eq!(parse_repeat("3/14"), Ok((3, 14)));
        assert!(parse_repeat("1/30").is_err() && parse_repeat("2").is_err());
        // WEEKLY_DIGEST: a day and a CST time, as minutes after Monday 00:00, or off.
        assert_eq!(parse_weekly("mon 09:00"), Ok(Some(9 * 60)));
        assert_eq!(
            parse_weekly(" Sun  23:59 "),
            Ok(Some(6 * 1440 + 23 * 60 + 59))
        );
        assert_eq!(parse_weekly("wed 7:30"), Ok(Some(2 * 1440 + 7 * 60 + 30)));
        assert_eq!(parse_weekly("OFF"), Ok(None));
        for bad in [
            "",
            "09:00",
            "mon",
            "monday 09:00",
            "mon 24:00",
            "mon 09:60",
            "mon 09:5",
            "mon 009:00",
            "mon 9",
            "周一 09:00",
            "mon -1:00",
            "mon +9:00",
            "mon 09:+5",
        ] {
            let why = parse_weekly(bad).unwrap_err();
            assert!(why.contains("mon 09:00"), "{bad:?}: {why}");
        }
        let cfg =
            |v: &str| Settings::from_vars(&|n| (n == "WEEKLY_DIGEST").then(|| v.to_owned()), None);
        assert_eq!(
            cfg("fri 17:30").unwrap().weekly_digest,
            Some(4 * 1440 + 17 * 60 + 30)
        );
        assert_eq!(cfg("tomorrow").unwrap_err().var, "WEEKLY_DIGEST");
        let hosts = Settings {
            alert_hosts: vec!["bridge.example.gov.cn".into()],
            ..Settings::default()
        };
        let r = |kind: &str, url: &str, secret: &str| {
            NewRoute {
                name: "群".into(),
                region: None,
                hall: None,
                dept: None,
                kind: kind.into(),
                url: url.into(),
                secret: secret.into(),
                names: false,
                audience: "handlers".into(),
                inbound: String::new(),
            }
            .check(&hosts)
        };
        // Each kind only to its hosts: no other host, no loopback, no user part, no look-alike.
        for (kind, url, secret) in [
            (
                "wecom",
                "https://example.com/cgi-bin/webhook/send?key=1",
                "",
            ),
            (
                "wecom",
                "https://qyapi.weixin.qq.com.evil.example/send?key=1",
                "",
            ),
            (
                "wecom",
                "https://qyapi.weixin.qq.com@evil.example/send?key=1",
                "",
            ),
            ("wecom", "http://127.0.0.1:8787/admin/prune?key=1", ""),
            (
                "dingtalk",
                "https://qyapi.weixin.qq.com/robot/send?access_token=t",
                "SEC1",
            ),
            (
                "webhook",
                "https://intranet.example.gov.cn/hook",
                "0123456789abcdef",
            ),
            ("webhook", "https://10.0.0.5/hook", "0123456789abcdef"),
        ] {
            let e = r(kind, url, secret).unwrap_err();
            assert!(e.starts_with("地址："), "{url}: {e}");
        }
        assert!(
            r(
                "wecom",
                "https://QYAPI.weixin.qq.com:443/cgi-bin/webhook/send?key=1",
                ""
            )
            .is_ok(),
            "the host in any case, with its port"
        );
        assert!(
            r(
                "webhook",
                "https://bridge.example.gov.cn:8443/zsp",
                "0123456789abcdef"
            )
            .is_ok()
        );
        assert!(
            Settings::from_vars(
                &|n| (n == "ALERT_HOSTS").then(|| "ok.gov.cn bad/host".into()),
                None
            )
            .unwrap_err()
            .var == "ALERT_HOSTS"
        );
        assert!(
            r("wecom", "http://example.com/?key=1", "")
                .unwrap_err()
                .starts_with("地址")
        );
        assert!(
            r(
                "wecom",
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
                ""
            )
            .unwrap_err()
            .contains("key=")
        );
        assert!(
            r(
                "dingtalk",
                "https://oapi.dingtalk.com/robot/send?access_token=t",
                "x"
            )
            .unwrap_err()
            .contains("SEC")
        );
        assert!(
            r("webhook", "https://bridge.example.gov.cn/zsp", "short")
                .unwrap_err()
                .contains("16")
        );
        let ok = r(
            "wecom",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY",
            "",
        )
        .unwrap();
        assert_eq!(
            shown_url(&ok.url),
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…（已隐藏）"
        );
        assert_eq!(shown_url("https://a.gov.cn/hook"), "https://a.gov.cn/hook");
        assert_eq!(
            accepted("wecom", 200, r#"{"errcode":0,"errmsg":"ok"}"#),
            Ok(())
        );
        assert!(
            accepted(
                "dingtalk",
                200,
                r#"{"errcode":310000,"errmsg":"sign not match"}"#
            )
            .unwrap_err()
            .contains("310000")
        );
        assert!(
            accepted("webhook", 500, "down")
                .unwrap_err()
                .contains("500")
        );
        // Whatever a host answers is never repeated: the status and our own words.
        let html = "<html><title>intranet secret</title></html>";
        for (kind, status) in [("wecom", 200), ("wecom", 404), ("webhook", 403)] {
            let e = accepted(kind, status, html).unwrap_err();
            assert!(!e.contains("intranet") && !e.contains('<'), "{e}");
            assert!(e.contains(&status.to_string()), "{e}");
        }
        let e = accepted("dingtalk", 200, r#"{"errcode":310000,"errmsg":"leak me"}"#).unwrap_err();
        assert!(!e.contains("leak"), "{e}");
    }
}
