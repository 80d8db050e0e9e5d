//! A reporting period: a month (`2026-11`) or a quarter (`2026-Q4`), in China Standard Time, as
//! the public results, the console's 评价率 and `/metrics` read them.

use wire::time::Day;

/// A month (`2026-11`) or a quarter (`2026-Q4`), in China Standard Time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub months: Vec<String>,
    /// Unix seconds, [from, to).
    pub from: i64,
    pub to: i64,
}

fn month_start(y: i64, m: u32) -> i64 {
    Day::from_ymd(y, m, 1).map_or(0, Day::start_unix)
}

impl Period {
    /// A period in its one spelling: `2026-11` or `2026-Q4` (no sign, no padding, no other case).
    pub fn parse(s: &str) -> Result<Period, String> {
        let bad = || format!("period {s:?}: a month like 2026-11 or a quarter like 2026-Q4");
        let canonical = s.len() == 7
            && s.as_bytes()[4] == b'-'
            && s[..4].bytes().all(|b| b.is_ascii_digit())
            && (s[5..].bytes().all(|b| b.is_ascii_digit())
                || (s.as_bytes()[5] == b'Q' && s.as_bytes()[6].is_ascii_digit()));
        if !canonical {
            return Err(bad());
        }
        let (y, rest) = s.split_once('-').ok_or_else(bad)?;
        let y: i64 = y
            .parse()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(bad)?;
        let (first, n) = match rest.strip_prefix('Q') {
            Some(q) => {
                let q: u32 = q
                    .parse()
                    .ok()
                    .filter(|q| (1..=4).contains(q))
                    .ok_or_else(bad)?;
                ((q - 1) * 3 + 1, 3)
            }
            None if rest.len() == 2 => {
                let m: u32 = rest
                    .parse()
                    .ok()
                    .filter(|m| (1..=12).contains(m))
                    .ok_or_else(bad)?;
                (m, 1)
            }
            None => return Err(bad()),
        };
        let months = (first..first + n).map(|m| format!("{y}-{m:02}")).collect();
        let (ny, nm) = if first + n > 12 {
            (y + 1, 1)
        } else {
            (y, first + n)
        };
        Ok(Period {
            label: s.to_owned(),
            months,
            from: month_start(y, first),
            to: month_start(ny, nm),
        })
    }

    /// The month of `now`.
    pub fn current(now: i64) -> Period {
        let (y, m, _) = Day::from_unix(now).map_or((2026, 1, 1), Day::ymd);
        Period::parse(&format!("{y}-{m:02}")).expect("a month")
    }
}
