//! Calendar arithmetic without a clock: callers pass Unix seconds. Days and wall-clock times are
//! China Standard Time (UTC+8, no daylight saving), the time every 好差评 platform records.

use std::fmt;

/// Seconds east of UTC for China Standard Time.
pub const CST_OFFSET: i64 = 8 * 3600;

/// A calendar day (CST), as days since 1970-01-01. Sixteen bits last until the year 2149.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub u16);

impl Day {
    /// The CST day containing this instant; `None` before 1970 or after 2149.
    pub fn from_unix(secs: i64) -> Option<Day> {
        u16::try_from((secs + CST_OFFSET).div_euclid(86_400))
            .ok()
            .map(Day)
    }

    /// The first second of this day (00:00 CST), Unix seconds.
    pub fn start_unix(self) -> i64 {
        i64::from(self.0) * 86_400 - CST_OFFSET
    }

    pub fn from_ymd(y: i64, m: u32, d: u32) -> Option<Day> {
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        u16::try_from(days_from_civil(y, m, d)).ok().map(Day)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Day> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let t = s.get(r)?;
            t.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| t.parse().ok())?
        };
        Day::from_ymd(i64::from(num(0..4)?), num(5..7)?, num(8..10)?)
    }

    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(i64::from(self.0))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn cst_parts(secs: i64) -> (i64, u32, u32, i64, i64, i64) {
    let local = secs + CST_OFFSET;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    (y, m, d, s / 3600, s / 60 % 60, s % 60)
}

/// `yyyy-MM-dd HH:mm:ss` in CST: the provincial interfaces' `assessTime`.
pub fn format_cst(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = cst_parts(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// `YYYY-MM-DD HH:MM`, China Standard Time (what a deadline or an alert shows).
pub fn format_cst_minute(secs: i64) -> String {
    let mut s = format_cst(secs);
    s.truncate(16);
    s
}

/// `YYYY-MM-DD 上午` or `下午`, China Standard Time: a time that does not point at one person.
pub fn format_cst_half_day(secs: i64) -> String {
    let (y, mo, d, h, _, _) = cst_parts(secs);
    let half = if h < 12 { "上午" } else { "下午" };
    format!("{y:04}-{mo:02}-{d:02} {half}")
}

/// `YYYYMMDDThhmmss` in CST: GB/T 39046's 评价时间.
pub fn format_gbt39046(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = cst_parts(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}")
}

/// RFC 3339 with the +08:00 offset, for the project's own JSON.
pub fn format_rfc3339_cst(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = cst_parts(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+08:00")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn known_instants() {
        // 2026-11-22 00:00:00 UTC is 08:00 CST the same day.
        let t = 1_795_305_600;
        assert_eq!(format_cst(t), "2026-11-22 08:00:00");
        assert_eq!(format_gbt39046(t), "20261122T080000");
        assert_eq!(format_rfc3339_cst(t), "2026-11-22T08:00:00+08:00");
        // 16:00 UTC is already the next day in China.
        assert_eq!(
            Day::from_unix(t + 16 * 3600).unwrap().to_string(),
            "2026-11-23"
        );
        assert_eq!(
            Day::from_unix(t + 16 * 3600 - 1).unwrap().to_string(),
            "2026-11-22"
        );
    }

    #[test]
    fn days_round_trip_and_parse() {
        for z in [0i64, 59, 60, 365, 10_957, 20_414, 65_535] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(Day::parse("1970-01-01"), Some(Day(0)));
        assert_eq!(Day::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "20261122",
            "abcd-ef-gh",
            "2026-11-2２",
            "1969-12-31",
            "2200-01-01",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
        assert_eq!(Day::from_unix(-CST_OFFSET - 1), None);
    }
}
