//! The working-day clock of the 差评 loop. Which days are working days is data: the State
//! Council's published holidays and the weekend days worked in exchange (调休), one calendar file a
//! year with its source (`calendars/`). A year without a file counts Monday to Friday, and every
//! answer that relied on that says which years it guessed for, so that the console can show it.
//! When a deadline of N working (or natural) days falls is computed here, without a clock: callers
//! pass the rating's time. Times are China Standard Time.

use crate::directory::FileError;
use crate::time::{CST_OFFSET, Day};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const CALENDAR_FORMAT: &str = "zsp.calendar";
pub const CALENDAR_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarDto {
    format: String,
    version: u32,
    year: i64,
    /// Where the dates come from: the notice's title, date and an address.
    source: String,
    /// Days off, weekdays or not (放假).
    holidays: Vec<String>,
    /// Weekend days that are working days (调休上班).
    workdays: Vec<String>,
}

/// One year's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCalendar {
    pub year: i64,
    pub source: String,
    pub holidays: BTreeSet<Day>,
    pub workdays: BTreeSet<Day>,
}

/// Monday is 0, Sunday 6 (1970-01-01 was a Thursday).
pub fn weekday(d: Day) -> u32 {
    (u32::from(d.0) + 3) % 7
}

fn is_weekend(d: Day) -> bool {
    weekday(d) >= 5
}

impl YearCalendar {
    /// Parses and checks a calendar file; an error names the list, the entry (from 1) and why.
    pub fn from_json(text: &str) -> Result<YearCalendar, FileError> {
        let d: CalendarDto =
            serde_json::from_str(text).map_err(|e| FileError(format!("calendar: {e}")))?;
        if d.format != CALENDAR_FORMAT || d.version != CALENDAR_VERSION {
            return Err(FileError(format!(
                "calendar: format {:?} version {}, expected {CALENDAR_FORMAT:?} version {CALENDAR_VERSION}",
                d.format, d.version
            )));
        }
        if d.source.trim().is_empty() {
            return Err(FileError(format!(
                "calendar {}: source is empty (name the notice the dates come from)",
                d.year
            )));
        }
        let days = |list: &str, v: &[String]| -> Result<BTreeSet<Day>, FileError> {
            let mut out = BTreeSet::new();
            for (i, s) in v.iter().enumerate() {
                let at = |why: String| {
                    FileError(format!(
                        "calendar {} {list} entry {}: {s:?} {why}",
                        d.year,
                        i + 1
                    ))
                };
                let day = Day::parse(s).ok_or_else(|| at("is not a date YYYY-MM-DD".into()))?;
                if day.ymd().0 != d.year {
                    return Err(at(format!("is not in {}", d.year)));
                }
                if !out.insert(day) {
                    return Err(at("is listed twice".into()));
                }
                if list == "workdays" && !is_weekend(day) {
                    return Err(at(
                        "is a weekday: only a Saturday or Sunday is made a working day".into(),
                    ));
                }
            }
            Ok(out)
        };
        let holidays = days("holidays", &d.holidays)?;
        let workdays = days("workdays", &d.workdays)?;
        if let Some(both) = holidays.intersection(&workdays).next() {
            return Err(FileError(format!(
                "calendar {}: {both} is both a holiday and a working day",
                d.year
            )));
        }
        Ok(YearCalendar {
            year: d.year,
            source: d.source,
            holidays,
            workdays,
        })
    }

    pub fn to_json(&self) -> String {
        let list = |s: &BTreeSet<Day>| s.iter().map(Day::to_string).collect();
        serde_json::to_string_pretty(&CalendarDto {
            format: CALENDAR_FORMAT.into(),
            version: CALENDAR_VERSION,
            year: self.year,
            source: self.source.clone(),
            holidays: list(&self.holidays),
            workdays: list(&self.workdays),
        })
        .expect("a calendar always serialises")
    }
}

/// The calendars shipped with this release (`calendars/`, one file a year, each with its source).
pub fn shipped() -> Vec<YearCalendar> {
    [include_str!("../calendars/2026.json")]
        .into_iter()
        .map(|t| YearCalendar::from_json(t).expect("a shipped calendar is checked by the tests"))
        .collect()
}

/// The calendars loaded, by year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i64, YearCalendar>,
}

impl Calendar {
    pub fn new(years: Vec<YearCalendar>) -> Result<Calendar, FileError> {
        let mut out = BTreeMap::new();
        for y in years {
            let year = y.year;
            if out.insert(year, y).is_some() {
                return Err(FileError(format!("two calendars for {year}")));
            }
        }
        Ok(Calendar { years: out })
    }

    pub fn knows(&self, year: i64) -> bool {
        self.years.contains_key(&year)
    }

    pub fn year(&self, year: i64) -> Option<&YearCalendar> {
        self.years.get(&year)
    }

    /// Whether `d` is a working day, and whether that came from a loaded calendar (`true`) or
    /// the Monday-to-Friday fallback (`false`).
    pub fn is_working_day(&self, d: Day) -> (bool, bool) {
        match self.years.get(&d.ymd().0) {
            Some(y) if y.holidays.contains(&d) => (false, true),
            Some(y) if y.workdays.contains(&d) => (true, true),
            Some(_) => (!is_weekend(d), true),
            None => (!is_weekend(d), false),
        }
    }
}

/// Office hours, minutes after midnight (CST): a working day's clock runs from `open` to `close`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfficeHours {
    pub open: u32,
    pub close: u32,
}

impl OfficeHours {
    /// `HH:MM-HH:MM`, opening before closing.
    pub fn parse(s: &str) -> Option<OfficeHours> {
        let minutes = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (a, b) = s.split_once('-')?;
        let (open, close) = (minutes(a)?, minutes(b)?);
        (open < close).then_some(OfficeHours { open, close })
    }
}

/// How long a step may take: working days (of office hours) or natural days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    WorkingDays(u32),
    NaturalDays(u32),
}

impl Span {
    /// The deadline in the citizen's words: "1个工作日内", "当天", "3个自然日内".
    pub fn words(self, lang: crate::text::Lang) -> String {
        use crate::text::Lang;
        match (self, lang) {
            (Span::WorkingDays(n), Lang::Zh) => format!("{n}个工作日内"),
            (Span::NaturalDays(1), Lang::Zh) => "当天".to_owned(),
            (Span::NaturalDays(n), Lang::Zh) => format!("{n}个自然日内"),
            (Span::WorkingDays(1), Lang::En) => "within one working day".to_owned(),
            (Span::WorkingDays(n), Lang::En) => format!("within {n} working days"),
            (Span::NaturalDays(1), Lang::En) => "the same day".to_owned(),
            (Span::NaturalDays(n), Lang::En) => format!("within {n} days"),
        }
    }
}

/// When a deadline falls, and the years whose days were counted Monday to Friday for want of a
/// calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Unix seconds.
    pub at: i64,
    pub guessed_years: Vec<i64>,
}

/// The most days a deadline may look ahead (a 15-working-day span across the Spring Festival is
/// about a month).
const HORIZON_DAYS: u16 = 400;

/// When `span` after a rating at `rated_at` ends. The clock starts at the rating, or at the next
/// opening when the rating came outside office hours or on a day off. A working day is
/// `close - open` minutes of office time: a rating at 10:00 with 1 working day to go is due at
/// 10:00 on the next working day. Natural days run around the clock from the same start.
pub fn due(rated_at: i64, span: Span, hours: OfficeHours, cal: &Calendar) -> Due {
    let mut guessed = BTreeSet::new();
    let mut working = |d: Day| {
        let (w, known) = cal.is_working_day(d);
        if !known {
            guessed.insert(d.ymd().0);
        }
        w
    };
    let at_minute = |d: Day, m: u32| d.start_unix() + i64::from(m) * 60;
    let first = Day::from_unix(rated_at).unwrap_or(Day(0));
    let minute_of_day = ((rated_at + CST_OFFSET).rem_euclid(86_400) / 60) as u32;
    // The start: now, if inside office hours of a working day; else the next opening.
    let mut start = None;
    for k in 0..HORIZON_DAYS {
        let d = Day(first.0.saturating_add(k));
        if !working(d) {
            continue;
        }
        if k == 0 && minute_of_day >= hours.close {
            continue;
        }
        let m = if k == 0 {
            minute_of_day.max(hours.open)
        } else {
            hours.open
        };
        start = Some((d, m));
        break;
    }
    let (day, minute) = start.unwrap_or((first, minute_of_day));
    let at = match span {
        Span::NaturalDays(n) => at_minute(day, minute) + i64::from(n) * 86_400,
        Span::WorkingDays(n) => {
            let mut left = n.saturating_mul(hours.close - hours.open);
            let (mut d, mut m) = (day, minute);
            let mut at = at_minute(d, m);
            for _ in 0..HORIZON_DAYS {
                if working(d) {
                    let avail = hours.close - m.max(hours.open);
                    if left <= avail {
                        at = at_minute(d, m.max(hours.open) + left);
                        break;
                    }
                    left -= avail;
                }
                d = Day(d.0.saturating_add(1));
                m = hours.open;
                at = at_minute(d, m);
            }
            at
        }
    };
    Due {
        at,
        guessed_years: guessed.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_cst;

    const Y2026: &str = include_str!("../calendars/2026.json");

    fn cal() -> Calendar {
        Calendar::new(vec![YearCalendar::from_json(Y2026).unwrap()]).unwrap()
    }

    fn hours() -> OfficeHours {
        OfficeHours::parse("09:00-17:00").unwrap()
    }

    /// A CST wall-clock time as Unix seconds.
    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        Day::from_ymd(y, mo, d).unwrap().start_unix() + h * 3600 + mi * 60
    }

    fn when(rated: i64, span: Span) -> (String, Vec<i64>) {
        let d = due(rated, span, hours(), &cal());
        (format_cst(d.at), d.guessed_years)
    }

    #[test]
    fn the_2026_calendar_is_the_state_councils() {
        let y = YearCalendar::from_json(Y2026).unwrap();
        assert_eq!(y.holidays.len(), 33);
        assert_eq!(y.workdays.len(), 6);
        assert!(
            y.source
                .contains("国务院办公厅关于2026年部分节假日安排的通知")
        );
        // The file is in its canonical form.
        assert_eq!(format!("{}\n", y.to_json()), Y2026);
        let c = cal();
        let day = |m, d| Day::from_ymd(2026, m, d).unwrap();
        assert_eq!(c.is_working_day(day(2, 14)), (true, true), "调休 Saturday");
        assert_eq!(
            c.is_working_day(day(2, 16)),
            (false, true),
            "Spring Festival Monday"
        );
        assert_eq!(c.is_working_day(day(3, 2)), (true, true));
        assert_eq!(c.is_working_day(day(3, 7)), (false, true));
        assert_eq!(
            c.is_working_day(Day::from_ymd(2027, 2, 8).unwrap()),
            (true, false),
            "2027 unknown: Monday to Friday"
        );
    }

    #[test]
    fn one_working_day_within_office_hours_across_a_weekend() {
        // Monday 10:00 → Tuesday 10:00.
        let (t, g) = when(at(2026, 3, 2, 10, 0), Span::WorkingDays(1));
        assert_eq!((t.as_str(), g), ("2026-03-03 10:00:00", vec![]));
        // Friday 16:00: one hour on Friday, seven on Monday.
        let (t, _) = when(at(2026, 3, 6, 16, 0), Span::WorkingDays(1));
        assert_eq!(t, "2026-03-09 16:00:00");
        // Saturday: the clock starts on Monday's opening.
        let (t, _) = when(at(2026, 3, 7, 11, 30), Span::WorkingDays(1));
        assert_eq!(t, "2026-03-09 17:00:00");
    }

    #[test]
    fn after_office_hours_the_clock_starts_at_the_next_opening() {
        let (t, _) = when(at(2026, 3, 2, 19, 30), Span::WorkingDays(1));
        assert_eq!(t, "2026-03-03 17:00:00");
        // Before opening, the same day's opening.
        let (t, _) = when(at(2026, 3, 2, 7, 0), Span::WorkingDays(1));
        assert_eq!(t, "2026-03-02 17:00:00");
        // Natural days run from the same start.
        let (t, _) = when(at(2026, 3, 2, 19, 30), Span::NaturalDays(15));
        assert_eq!(t, "2026-03-18 09:00:00");
    }

    #[test]
    fn across_the_spring_festival_with_its_adjusted_saturdays() {
        // Friday 13 February 16:00: Saturday the 14th is worked, then 15–23 are off.
        let (t, _) = when(at(2026, 2, 13, 16, 0), Span::WorkingDays(1));
        assert_eq!(t, "2026-02-14 16:00:00");
        let (t, _) = when(at(2026, 2, 14, 16, 0), Span::WorkingDays(1));
        assert_eq!(t, "2026-02-24 16:00:00");
        // Five working days from the 24th 09:00: 24–27, and Saturday the 28th is worked.
        let (t, _) = when(at(2026, 2, 24, 9, 0), Span::WorkingDays(5));
        assert_eq!(t, "2026-02-28 17:00:00");
        // National Day: Sunday 20 September is worked.
        let (t, _) = when(at(2026, 9, 18, 17, 30), Span::WorkingDays(1));
        assert_eq!(t, "2026-09-20 17:00:00");
    }

    #[test]
    fn a_year_without_a_calendar_counts_monday_to_friday_and_says_so() {
        let (t, g) = when(at(2026, 12, 31, 16, 0), Span::WorkingDays(2));
        // Thursday 31 Dec 2026 16:00: 1 h, then Friday 1 Jan 2027 (unknown: a weekday) 8 h,
        // then Monday 4 Jan 7 h.
        assert_eq!((t.as_str(), g), ("2027-01-04 16:00:00", vec![2027]));
    }

    #[test]
    fn bad_calendars_are_refused_by_entry() {
        let with = |h: &str, w: &str| {
            format!(
                r#"{{"format":"zsp.calendar","version":1,"year":2026,"source":"x","holidays":[{h}],"workdays":[{w}]}}"#
            )
        };
        let err = |t: String| YearCalendar::from_json(&t).unwrap_err().0;
        assert!(
            err(with(r#""2026-13-01""#, ""))
                .contains("holidays entry 1: \"2026-13-01\" is not a date")
        );
        assert!(
            err(with(r#""2026-01-01","2025-12-31""#, ""))
                .contains("holidays entry 2: \"2025-12-31\" is not in 2026")
        );
        assert!(
            err(with("", r#""2026-02-16""#))
                .contains("workdays entry 1: \"2026-02-16\" is a weekday")
        );
        assert!(
            err(with(r#""2026-02-14""#, r#""2026-02-14""#))
                .contains("both a holiday and a working day")
        );
        assert!(err(with(r#""2026-01-01","2026-01-01""#, "")).contains("listed twice"));
        assert!(err(with("", "").replace("\"x\"", "\" \"")).contains("source is empty"));
        assert!(err(with("", "").replace("zsp.calendar", "zsp.cal")).contains("expected"));
        let y = YearCalendar::from_json(Y2026).unwrap();
        assert!(Calendar::new(vec![y.clone(), y]).is_err());
        assert_eq!(OfficeHours::parse("17:00-09:00"), None);
        assert_eq!(
            OfficeHours::parse("9:00-17:30"),
            Some(OfficeHours {
                open: 540,
                close: 1050
            })
        );
        assert_eq!(OfficeHours::parse("25:00-26:00"), None);
    }
}
