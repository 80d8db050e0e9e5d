//! Public results, per hall and for the city, for a month or a quarter: the satisfaction rate and
//! the numbers that show the 差评 loop works (回访率, 整改率, median times, the share on time). Read
//! from `tallies` (ratings by month, hall, unit, staff member and level, kept by triggers as
//! ratings are written: no request scans the ratings) and from the period's `cases` (a 差评 is a
//! case; there are few). Overturned (申诉成立) 差评 are left out and counted apart; a staff member
//! is shown only above a minimum number of ratings, below which one rater could be singled out. A
//! 差评 counts in a staff member's figures only when it is about them (its reasons' suggestion,
//! then its case's 核实 or 复核: `ratings.about`, `cases.about`); else in its hall's and unit's.

use crate::sql::{Stmt, Val, stmt};
use maud::{DOCTYPE, Markup, html};
use serde::{Deserialize, Serialize};

pub const RESULTS_FORMAT: &str = "zsp.results";
/// 2: with 评价率 (`rate`, `group_rates`: 主动 and 实际, never-rated 办件, system defaults) and
/// `defaults_in_satisfaction`.
pub const RESULTS_VERSION: u32 = 2;

/// What [`Settings::from_vars`] reads.
pub const SETTINGS: &[crate::config::Setting] = &[
    crate::config::Setting::new(
        "RESULTS_MIN_STAFF",
        "20",
        "the public results show a staff member only from this many ratings in the period",
    ),
    crate::config::Setting::new(
        "REGION_NAMES",
        "",
        "the public results' names of region codes, e.g. 321202:海陵区 321203:高港区 (unset: the codes)",
    ),
    crate::config::Setting::new(
        "DEFAULT_RATING_COUNTS",
        "no",
        "yes: 满意率 counts the system default ratings (DEFAULT_RATING) as 基本满意; the public results say which",
    ),
];

/// The public results' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A staff member is shown only from this many ratings in the period.
    pub min_staff: u32,
    /// Whether 满意率 counts the system default ratings as 基本满意.
    pub defaults_count: bool,
    /// Names of region codes for the drill-down (`REGION_NAMES`).
    pub region_names: Vec<(String, String)>,
}

impl Settings {
    pub fn from_vars(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, crate::config::ConfigError> {
        Ok(Settings {
            min_staff: crate::config::number(get, "RESULTS_MIN_STAFF", 20, 5, 1000)?,
            region_names: match crate::config::value(get, "REGION_NAMES") {
                None => vec![],
                Some(v) => {
                    parse_region_names(&v).map_err(|why| crate::config::err("REGION_NAMES", why))?
                }
            },
            defaults_count: match crate::config::value(get, "DEFAULT_RATING_COUNTS").as_deref() {
                None | Some("no") => false,
                Some("yes") => true,
                Some(v) => {
                    return Err(crate::config::err(
                        "DEFAULT_RATING_COUNTS",
                        format!("{v}: yes or no"),
                    ));
                }
            },
        })
    }
}

/// `321202:海陵区 321203:高港区`: region codes and their names.
pub fn parse_region_names(v: &str) -> Result<Vec<(String, String)>, String> {
    v.split_whitespace()
        .map(|item| {
            let (code, name) = item
                .split_once(':')
                .ok_or_else(|| format!("{item}: expected code:name, e.g. 321202:海陵区"))?;
            if !crate::access::region_ok(code) {
                return Err(format!(
                    "{item}: {code:?} is not a region code (2 to 12 digits)"
                ));
            }
            if name.is_empty() || name.chars().count() > 32 {
                return Err(format!("{item}: a name of 1 to 32 characters"));
            }
            Ok((code.to_owned(), name.to_owned()))
        })
        .collect()
}

/// The levels of a region code (province, city, county, town, village) by length.
const REGION_LEVELS: [usize; 5] = [2, 4, 6, 9, 12];

pub use crate::period::Period;

#[derive(Debug, Clone)]
pub struct TallyRow {
    pub hall: String,
    pub dept: String,
    pub staff: String,
    pub level: String,
    pub n: i64,
}
crate::row!(TallyRow {
    hall,
    dept,
    staff,
    level,
    n
});

/// The period's tallies, of one hall (read by the table's key, month and hall) or of all.
pub fn tallies(p: &Period, hall: Option<&str>) -> Stmt {
    let mut args = vec![serde_json::to_string(&p.months).expect("strings").into()];
    args.extend(hall.map(Into::into));
    stmt(
        format!(
            "SELECT hall, dept, staff, level, SUM(n) AS n FROM tallies \
             WHERE month IN (SELECT value FROM json_each(?1)){} GROUP BY hall, dept, staff, level",
            if hall.is_some() { " AND hall = ?2" } else { "" }
        ),
        args,
    )
}

#[derive(Debug, Clone)]
pub struct CaseFacts {
    /// The code rated (the internal report's windows).
    pub code: String,
    pub hall: Option<String>,
    pub dept: Option<String>,
    pub staff: Option<String>,
    pub opened_at: i64,
    pub called_at: Option<i64>,
    pub fixed_at: Option<i64>,
    pub callback_due: Option<i64>,
    pub fix_due: Option<i64>,
    pub review: Option<String>,
    /// The citizen's verdict on the fix (`fastlane::VERDICTS`), if given.
    pub verdict: Option<String>,
}
crate::row!(CaseFacts { code = default, hall, dept, staff, opened_at, called_at, fixed_at, callback_due, fix_due, review, verdict });

/// The period's cases, of one hall (read by the hall's index, `cases_figures`) or of all.
pub fn cases(p: &Period, hall: Option<&str>) -> Stmt {
    let which = match hall {
        Some(_) => "hall = ?3 AND opened_at >= ?1 AND opened_at < ?2",
        None => "opened_at >= ?1 AND opened_at < ?2",
    };
    let mut args = vec![p.from.into(), p.to.into()];
    args.extend(hall.map(Into::into));
    stmt(
        format!(
            "SELECT code, hall, dept, CASE WHEN about IS NOT NULL AND about != 'staff' THEN NULL ELSE staff END AS staff, \
             opened_at, called_at, fixed_at, callback_due, fix_due, review, verdict \
             FROM cases WHERE {which}"
        ),
        args,
    )
}

/// What the city's and a region's pages read: each group's sums of the period, a row a group,
/// summed by SQL from a row a hall. A group is an area (`area`: the region of a hall below the
/// page's level, cut at the page's next level) or a hall that sits at the page's level or is no
/// longer in the directory (`hall`; on the city's page only; neither: the cases whose entry names
/// no hall, on the city's page). No statement reads a case's, a code's or a staff member's row of
/// its own: ratings, 办件 and cases are counted by the period's own running tallies
/// (`hall_levels`, `code_periods`, `case_periods`: a row a hall or a code of each month and each
/// quarter, never months to be summed), the cases' times read from the index that holds them
/// (`cases_figures`), the directory's places from the tables its triggers keep (`hall_places`,
/// `code_places`), never from its entries' JSON.
///
/// Bound: ?1 the period (its label, or for cases its start), ?2 the page's region (none: the
/// city), ?3 its level's length, ?4 the next level's (cases: ?5 the period's end, ?6 its label).
/// `ha` is each hall of the directory on the page with its region, the smallest of its entries'
/// there: where all its rows go. The city's is `hall_places` as kept, not materialized, so that
/// its key finds a hall (materialized, the city's three statements took 4 ms more of SQLite); a
/// region's is worked out from the codes in it.
fn hall_areas(within: Option<&str>) -> &'static str {
    match within {
        None => "ha AS NOT MATERIALIZED (SELECT hall, region FROM hall_places)",
        Some(_) => {
            "ha AS (SELECT hall, MIN(region) AS region FROM code_places \
             WHERE substr(region, 1, length(?2)) = ?2 GROUP BY hall)"
        }
    }
}

/// A row's group (`area`, `hall`), from the hall `hall` joined to `ha` (by a left join: a hall
/// not in `ha` is its own group, which a region's page then leaves out, [`ON_PAGE`]).
fn group_columns(hall: &str) -> String {
    format!(
        "CASE WHEN length(ha.region) > ?3 THEN substr(ha.region, 1, ?4) END AS area, \
         CASE WHEN ha.region IS NULL OR length(ha.region) <= ?3 THEN {hall} END AS hall"
    )
}

/// On the page: on the city's, every hall; on a region's, those of the directory in it.
const ON_PAGE: &str = "(?2 IS NULL OR ha.hall IS NOT NULL)";

/// The lengths of the page's level and of the next (`within` none: the city, whose groups are its
/// counties and districts; a code at the last level: a hall below it keeps its whole region).
fn levels_of(within: Option<&str>) -> (i64, i64) {
    let depth = within.map_or(4, str::len);
    let next = REGION_LEVELS.into_iter().find(|l| *l > depth).unwrap_or(99);
    (depth as i64, next as i64)
}

/// The bound values of a page's statement: `first` (the period's label, or its start), then the
/// page's region and levels.
fn page_args(first: Val, within: Option<&str>) -> Vec<Val> {
    let (depth, next) = levels_of(within);
    vec![
        first,
        within.map(str::to_owned).into(),
        depth.into(),
        next.into(),
    ]
}

/// 评价率's sums of a group over the directory's codes that have served figures (as
/// [`crate::served::Rate::of`] sums codes), and the system default ratings of all its codes
/// (`all_defaults`: 基本满意 where `DEFAULT_RATING_COUNTS`). Every group with a hall of the
/// directory has a row: its rows are the page's places too.
#[derive(Debug, Clone)]
pub struct GroupRate {
    pub area: Option<String>,
    pub hall: Option<String>,
    pub served: i64,
    pub rated: i64,
    pub never: i64,
    pub defaults: i64,
    pub all_defaults: i64,
}
crate::row!(GroupRate {
    area,
    hall,
    served,
    rated,
    never,
    defaults,
    all_defaults
});

pub fn group_rates(p: &Period, within: Option<&str>) -> Stmt {
    stmt(
        format!(
            "WITH {} SELECT {}, \
               SUM(CASE WHEN t.served > 0 THEN t.served ELSE 0 END) AS served, \
               SUM(CASE WHEN t.served > 0 THEN t.rated ELSE 0 END) AS rated, \
               SUM(CASE WHEN t.served > 0 THEN t.never ELSE 0 END) AS never, \
               SUM(CASE WHEN t.served > 0 THEN t.defaults ELSE 0 END) AS defaults, \
               SUM(COALESCE(t.defaults, 0)) AS all_defaults \
             FROM ha JOIN code_places e ON e.hall = ha.hall \
               LEFT JOIN code_periods t ON t.period = ?1 AND t.code = e.code GROUP BY 1, 2",
            hall_areas(within),
            group_columns("ha.hall")
        ),
        page_args(p.label.as_str().into(), within),
    )
}

/// A group's ratings of the period by level (`other`: any other word, counted as the rows' own
/// figures count it: a rating, never a satisfied one), and the halls rated in it (a JSON array of
/// names; [`rated_halls`]).
#[derive(Debug, Clone)]
pub struct GroupLevels {
    pub area: Option<String>,
    pub hall: Option<String>,
    pub very_satisfied: i64,
    pub satisfied: i64,
    pub basic: i64,
    pub dissatisfied: i64,
    pub very_dissatisfied: i64,
    pub other: i64,
    pub rated: String,
}
crate::row!(GroupLevels {
    area,
    hall,
    very_satisfied,
    satisfied,
    basic,
    dissatisfied,
    very_dissatisfied,
    other,
    rated
});

impl GroupLevels {
    /// The group's ratings by level, as the tallies have them.
    pub fn levels(&self) -> [(&'static str, i64); 6] {
        use wire::rating::Level;
        [
            (Level::VerySatisfied.as_str(), self.very_satisfied),
            (Level::Satisfied.as_str(), self.satisfied),
            (Level::Basic.as_str(), self.basic),
            (Level::Dissatisfied.as_str(), self.dissatisfied),
            (Level::VeryDissatisfied.as_str(), self.very_dissatisfied),
            ("", self.other),
        ]
    }
}

/// The halls rated in the period on the page (its links), by name: those of its groups' rows
/// ([`group_levels`]).
pub fn rated_halls(levels: &[GroupLevels]) -> Result<Vec<String>, String> {
    let mut names = vec![];
    for l in levels {
        names.extend(
            serde_json::from_str::<Vec<String>>(&l.rated)
                .map_err(|e| format!("a group's rated halls: {e}"))?,
        );
    }
    names.sort_unstable();
    names.dedup();
    Ok(names)
}

pub fn group_levels(p: &Period, within: Option<&str>) -> Stmt {
    let columns: Vec<String> = wire::rating::Level::ALL
        .iter()
        .map(|l| l.as_str())
        .chain(["other"])
        .map(|l| format!("SUM(t.{l}) AS {l}"))
        .collect();
    stmt(
        format!(
            "WITH {} SELECT {}, {}, \
               json_group_array(DISTINCT t.hall) FILTER (WHERE t.hall != '') AS rated \
             FROM hall_levels t LEFT JOIN ha ON ha.hall = t.hall \
             WHERE t.period = ?1 AND {ON_PAGE} GROUP BY 1, 2",
            hall_areas(within),
            group_columns("t.hall"),
            columns.join(", ")
        ),
        page_args(p.label.as_str().into(), within),
    )
}

/// A group's 差评 cases of the period summed, with the times the callback and the fix took
/// (seconds, comma-separated, in no order) for the medians ([`CaseSums::of_groups`]). The counts
/// are the period's running tallies (`case_periods`, a row a hall); the times are read from the
/// index that holds them, hall by hall in `case_halls`' order (grouped by `h.hall`, which SQLite
/// reads in order, not `c.hall`, which it would sort); each hall's rows then go to its group.
#[derive(Debug, Clone, Default)]
pub struct GroupCases {
    pub area: Option<String>,
    pub hall: Option<String>,
    pub bad: i64,
    pub overturned: i64,
    pub called_on_time: i64,
    pub fixed_on_time: i64,
    pub verdicts: i64,
    pub verdicts_satisfied: i64,
    pub callbacks: Option<String>,
    pub fixes: Option<String>,
}
crate::row!(GroupCases {
    area,
    hall,
    bad,
    overturned,
    called_on_time,
    fixed_on_time,
    verdicts,
    verdicts_satisfied,
    callbacks,
    fixes
});

pub fn group_cases(p: &Period, within: Option<&str>) -> Stmt {
    const COUNTED: &str = "review IS NOT 'overturned'";
    let times = format!(
        "0, 0, 0, 0, 0, 0, group_concat(CASE WHEN {COUNTED} THEN called_at - opened_at END), \
         group_concat(CASE WHEN {COUNTED} THEN fixed_at - opened_at END)"
    );
    let mut args = page_args(p.from.into(), within);
    args.push(p.to.into());
    args.push(p.label.as_str().into());
    stmt(
        format!(
            "WITH {}, per (hall, bad, overturned, called_on_time, fixed_on_time, verdicts, \
               verdicts_satisfied, callbacks, fixes) AS (\
               SELECT CASE WHEN t.named THEN t.hall END, t.bad, t.overturned, t.called_on_time, \
                 t.fixed_on_time, t.verdicts, t.verdicts_satisfied, NULL, NULL FROM case_periods t \
               WHERE t.period = ?6 AND t.bad + t.overturned > 0 \
                 AND (t.named AND (?2 IS NULL OR t.hall IN (SELECT hall FROM ha)) OR NOT t.named AND ?2 IS NULL) \
               UNION ALL SELECT c.hall, {times} FROM case_halls h CROSS JOIN cases c INDEXED BY cases_figures \
               WHERE (?2 IS NULL OR h.hall IN (SELECT hall FROM ha)) AND c.hall = h.hall \
                 AND c.opened_at >= ?1 AND c.opened_at < ?5 GROUP BY h.hall \
               UNION ALL SELECT NULL, {times} FROM cases c INDEXED BY cases_figures \
               WHERE ?2 IS NULL AND c.hall IS NULL AND c.opened_at >= ?1 AND c.opened_at < ?5 \
               HAVING COUNT(*) > 0) \
             SELECT {}, SUM(bad) AS bad, SUM(overturned) AS overturned, SUM(called_on_time) AS called_on_time, \
               SUM(fixed_on_time) AS fixed_on_time, SUM(verdicts) AS verdicts, \
               SUM(verdicts_satisfied) AS verdicts_satisfied, group_concat(callbacks) AS callbacks, \
               group_concat(fixes) AS fixes \
             FROM per LEFT JOIN ha ON ha.hall = per.hall GROUP BY 1, 2",
            hall_areas(within),
            group_columns("per.hall")
        ),
        args,
    )
}

/// Whether a hall of this name is in the directory or has ratings (a row if so).
pub fn hall_known(hall: &str) -> Stmt {
    stmt(
        "SELECT 1 AS known WHERE EXISTS (SELECT 1 FROM entries WHERE hall = ?1) \
         OR EXISTS (SELECT 1 FROM tallies WHERE hall = ?1)",
        vec![hall.into()],
    )
}

pub fn halls(p: &Period) -> Stmt {
    stmt(
        "SELECT DISTINCT hall FROM tallies WHERE month IN (SELECT value FROM json_each(?1)) AND hall != '' ORDER BY hall",
        vec![serde_json::to_string(&p.months).expect("strings").into()],
    )
}

#[derive(Debug, Clone)]
pub struct HallRow {
    pub hall: String,
}
crate::row!(HallRow { hall });

/// One group's figures. Rates are percentages with one decimal; times are hours.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub ratings: i64,
    pub satisfied: i64,
    pub satisfaction_pct: Option<f64>,
    pub bad: i64,
    pub overturned: i64,
    pub called: i64,
    pub callback_pct: Option<f64>,
    pub fixed: i64,
    pub fix_pct: Option<f64>,
    pub median_callback_hours: Option<f64>,
    pub median_fix_hours: Option<f64>,
    pub callback_on_time_pct: Option<f64>,
    pub fix_on_time_pct: Option<f64>,
    /// The citizens' verdicts on the fix (their 追评 after 办结): how many, and how many 满意 or
    /// 基本满意 (整改后满意度).
    pub verdicts: i64,
    pub verdicts_satisfied: i64,
    pub post_fix_pct: Option<f64>,
}

/// 评价率 of a group: 办件 served, ratings given by citizens at its codes that have served
/// figures, 办件 with a 办件号 never rated, and 主动评价率 (none without served figures: "无办件数据").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RateFigures {
    pub served: i64,
    pub rated: i64,
    pub never_rated: i64,
    pub active_pct: Option<f64>,
    /// System default ratings standing (a 办件 left unrated, `DEFAULT_RATING`).
    pub defaults: i64,
    /// 实际评价率: ratings and defaults ÷ 办件.
    pub actual_pct: Option<f64>,
}

impl RateFigures {
    fn of<'a>(codes: impl IntoIterator<Item = &'a crate::served::CodeRate>) -> RateFigures {
        let r = crate::served::Rate::of(codes);
        RateFigures {
            served: r.served,
            rated: r.rated,
            never_rated: r.never,
            active_pct: pct(r.rated, r.served),
            defaults: r.defaults,
            actual_pct: pct(r.rated + r.defaults, r.served),
        }
    }
}

/// `a` of `b` in percent, one decimal; `None` of nothing.
pub fn pct(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| (1000.0 * a as f64 / b as f64).round() / 10.0)
}

/// The median of `secs` (the mean of the middle two of an even count).
fn median_secs(secs: &mut [i64]) -> Option<f64> {
    let n = secs.len();
    if n == 0 {
        return None;
    }
    // The middle one in place (no sort); for an even count, the one before it is the largest of
    // those left of it.
    let (below, &mut mid, _) = secs.select_nth_unstable(n / 2);
    Some(if n % 2 == 1 {
        mid as f64
    } else {
        let before = below.iter().copied().max().unwrap_or(mid);
        (before + mid) as f64 / 2.0
    })
}

/// Seconds as hours with one decimal.
fn hours(secs: Option<f64>) -> Option<f64> {
    secs.map(|m| (m / 360.0).round() / 10.0)
}

/// What a set of 差评 cases adds up to: the counts and the two medians (in seconds). Summed here
/// from the cases ([`CaseSums::of`]) or by SQL for the city and its regions ([`area_cases`]):
/// one definition of each figure either way, in [`Figures::from_parts`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CaseSums {
    /// 差评 counted (not overturned), and overturned.
    pub bad: i64,
    pub overturned: i64,
    pub called: i64,
    pub fixed: i64,
    pub called_on_time: i64,
    pub fixed_on_time: i64,
    pub verdicts: i64,
    pub verdicts_satisfied: i64,
    pub median_callback: Option<f64>,
    pub median_fix: Option<f64>,
}

impl CaseSums {
    pub fn of<'a>(cases: impl Iterator<Item = &'a CaseFacts>) -> CaseSums {
        let mut s = CaseSums::default();
        let (mut called, mut fixed) = (vec![], vec![]);
        for c in cases {
            if c.review.as_deref() == Some("overturned") {
                s.overturned += 1;
                continue;
            }
            s.bad += 1;
            if let Some(at) = c.called_at {
                called.push(at - c.opened_at);
                s.called_on_time += i64::from(c.callback_due.is_some_and(|d| at <= d));
            }
            if let Some(at) = c.fixed_at {
                fixed.push(at - c.opened_at);
                s.fixed_on_time += i64::from(c.fix_due.is_some_and(|d| at <= d));
            }
            if let Some(v) = c.verdict.as_deref() {
                s.verdicts += 1;
                s.verdicts_satisfied += i64::from(matches!(v, "satisfied" | "basic"));
            }
        }
        s.called = called.len() as i64;
        s.fixed = fixed.len() as i64;
        s.median_callback = median_secs(&mut called);
        s.median_fix = median_secs(&mut fixed);
        s
    }

    /// The sums of groups' sums ([`group_cases`]): counts added, the medians of all their times.
    /// Each time is read once and then added to `all` (callbacks, fixes), where a wider set's
    /// medians are found ([`CaseSums::add`], [`CaseSums::with_medians`]).
    pub fn of_groups<'a>(
        groups: impl Iterator<Item = &'a GroupCases>,
        all: &mut [Vec<i64>; 2],
    ) -> Result<CaseSums, String> {
        let mut s = CaseSums::default();
        let mut times: [Vec<i64>; 2] = Default::default();
        for h in groups {
            s.add(&CaseSums {
                bad: h.bad,
                overturned: h.overturned,
                called_on_time: h.called_on_time,
                fixed_on_time: h.fixed_on_time,
                verdicts: h.verdicts,
                verdicts_satisfied: h.verdicts_satisfied,
                ..CaseSums::default()
            });
            for (list, times) in [&h.callbacks, &h.fixes].into_iter().zip(&mut times) {
                for t in list
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .filter(|t| !t.is_empty())
                {
                    times.push(t.parse().map_err(|_| format!("a case's time {t:?}"))?);
                }
            }
        }
        s = s.with_medians(&mut times);
        for (all, times) in all.iter_mut().zip(times) {
            all.extend(times);
        }
        Ok(s)
    }

    /// Another set's counts added to these (the medians are left to [`CaseSums::with_medians`]).
    fn add(&mut self, o: &CaseSums) {
        self.bad += o.bad;
        self.overturned += o.overturned;
        self.called_on_time += o.called_on_time;
        self.fixed_on_time += o.fixed_on_time;
        self.verdicts += o.verdicts;
        self.verdicts_satisfied += o.verdicts_satisfied;
    }

    /// These counts with the callbacks' and fixes' counts and medians of `times` (callbacks,
    /// fixes; left in any order).
    fn with_medians(self, [called, fixed]: &mut [Vec<i64>; 2]) -> CaseSums {
        CaseSums {
            called: called.len() as i64,
            fixed: fixed.len() as i64,
            median_callback: median_secs(called),
            median_fix: median_secs(fixed),
            ..self
        }
    }
}

impl Figures {
    pub fn of<'a>(
        tallies: impl Iterator<Item = &'a TallyRow>,
        cases: impl Iterator<Item = &'a CaseFacts>,
    ) -> Figures {
        Figures::from_parts(
            tallies.map(|t| (t.level.as_str(), t.n)),
            &CaseSums::of(cases),
        )
    }

    /// The figures of ratings counted by level, and of their 差评 cases' sums.
    pub fn from_parts<'a>(levels: impl Iterator<Item = (&'a str, i64)>, s: &CaseSums) -> Figures {
        let (mut all, mut satisfied) = (0, 0);
        for (level, n) in levels {
            all += n;
            if matches!(level, "very_satisfied" | "satisfied" | "basic") {
                satisfied += n;
            }
        }
        let ratings = (all - s.overturned).max(0);
        Figures {
            verdicts: s.verdicts,
            verdicts_satisfied: s.verdicts_satisfied,
            post_fix_pct: pct(s.verdicts_satisfied, s.verdicts),
            ratings,
            satisfied,
            satisfaction_pct: pct(satisfied, ratings),
            bad: s.bad,
            overturned: s.overturned,
            called: s.called,
            callback_pct: pct(s.called, s.bad),
            fixed: s.fixed,
            fix_pct: pct(s.fixed, s.bad),
            median_callback_hours: hours(s.median_callback),
            median_fix_hours: hours(s.median_fix),
            callback_on_time_pct: pct(s.called_on_time, s.called),
            fix_on_time_pct: pct(s.fixed_on_time, s.fixed),
        }
    }
}

/// The figures of a hall (groups: its units) or of the city (groups: its halls).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    pub format: &'static str,
    pub version: u32,
    /// The hall, or 全市.
    pub scope: String,
    pub period: String,
    pub total: Figures,
    /// What `groups` are: 单位 (a hall's units) or 大厅 (the city's halls).
    pub group_by: &'static str,
    pub groups: Vec<(String, Figures)>,
    /// A hall's staff members with at least `min_staff_ratings` ratings, by 工号 (none for the
    /// city or a region: a 工号 is unique only within its region, and each hall's page has them).
    pub staff: Vec<(String, Figures)>,
    pub min_staff_ratings: i64,
    /// How many staff members are not shown for having fewer.
    pub staff_hidden: usize,
    /// 评价率 of the scope, and of each group (by `group_by`).
    pub rate: RateFigures,
    pub group_rates: Vec<(String, RateFigures)>,
    /// Whether `satisfied` and 满意率 count the system default ratings as 基本满意
    /// (`DEFAULT_RATING_COUNTS`); `rate.defaults` says how many there are either way.
    pub defaults_in_satisfaction: bool,
    /// A hall's 好评 made public (the newest few comments, masked as stored; none for the city).
    pub praise: Vec<String>,
    /// The groups that are areas (the city's counties, a region's towns), with their region
    /// codes: `[label, code]` (the page links to each).
    pub areas: Vec<(String, String)>,
}

pub fn compute(
    hall: Option<&str>,
    period: &Period,
    tallies: &[TallyRow],
    cases: &[CaseFacts],
    codes: &[crate::served::CodeRate],
    (min_staff, defaults_count): (i64, bool),
) -> Results {
    use std::collections::BTreeMap;
    // The system default ratings, as 基本满意 of their codes' units and halls, where the setting
    // counts them (never a staff member's: no citizen rated one).
    let defaults: Vec<TallyRow> = codes
        .iter()
        .filter(|c| defaults_count && c.defaults > 0)
        .map(|c| TallyRow {
            hall: c.hall.clone(),
            dept: c.dept.clone(),
            staff: String::new(),
            level: wire::rating::Level::Basic.as_str().into(),
            n: c.defaults,
        })
        .collect();
    let all: Vec<TallyRow>;
    let tallies = if defaults.is_empty() {
        tallies
    } else {
        all = tallies.iter().cloned().chain(defaults).collect();
        &all
    };
    // One pass over each list: rows by group and by staff member, then each set's figures.
    type Rows<'a> = (Vec<&'a TallyRow>, Vec<&'a CaseFacts>);
    let mut by_group: BTreeMap<&str, Rows> = BTreeMap::new();
    let mut by_staff: BTreeMap<&str, Rows> = BTreeMap::new();
    for t in tallies {
        let g = if hall.is_some() { &t.dept } else { &t.hall };
        by_group.entry(g).or_default().0.push(t);
        // Staff members on a hall's page only: a 工号 is unique within a region, not across a
        // city, and the hall's page is where its staff are read.
        if hall.is_some() && !t.staff.is_empty() {
            by_staff.entry(&t.staff).or_default().0.push(t);
        }
    }
    for c in cases {
        let g = if hall.is_some() { &c.dept } else { &c.hall };
        by_group
            .entry(g.as_deref().unwrap_or(""))
            .or_default()
            .1
            .push(c);
        // A staff member without ratings in the period has no row of their own.
        if let Some(s) = c.staff.as_deref()
            && let Some(rows) = by_staff.get_mut(s)
        {
            rows.1.push(c);
        }
    }
    let figures = |(t, c): &Rows| Figures::of(t.iter().copied(), c.iter().copied());
    let groups = by_group
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, rows)| (g.to_string(), figures(rows)))
        .collect();
    let mut staff = vec![];
    let mut hidden = 0;
    for (id, rows) in &by_staff {
        let f = figures(rows);
        if f.ratings >= min_staff {
            staff.push((id.to_string(), f));
        } else {
            hidden += 1;
        }
    }
    Results {
        rate: RateFigures::of(codes),
        // 评价率 from the codes of the scope (`codes` holds only those), grouped as the figures are.
        group_rates: rates_by(codes, |c| if hall.is_some() { &c.dept } else { &c.hall }),
        defaults_in_satisfaction: defaults_count,
        praise: vec![],
        areas: vec![],
        format: RESULTS_FORMAT,
        version: RESULTS_VERSION,
        scope: hall.unwrap_or("全市").to_owned(),
        period: period.label.clone(),
        total: Figures::of(tallies.iter(), cases.iter()),
        group_by: if hall.is_some() { "单位" } else { "大厅" },
        groups,
        staff,
        min_staff_ratings: min_staff,
        staff_hidden: hidden,
    }
}

/// 评价率 of each group of `codes`, by `group` (a code's unit or hall).
fn rates_by<'a>(
    codes: &'a [crate::served::CodeRate],
    group: impl Fn(&'a crate::served::CodeRate) -> &'a str,
) -> Vec<(String, RateFigures)> {
    let mut by: std::collections::BTreeMap<&str, Vec<&crate::served::CodeRate>> =
        Default::default();
    for c in codes {
        by.entry(group(c)).or_default().push(c);
    }
    by.into_iter()
        .map(|(g, cs)| (g.to_owned(), RateFigures::of(cs)))
        .collect()
}

/// The city's or a region's results from its groups' sums ([`group_rates`], [`group_levels`],
/// [`group_cases`]), as [`compute`] makes them from the rows; `name` is a group's row on the page,
/// from its area and hall (groups of one name are one row).
pub fn compute_areas(
    period: &Period,
    name: impl Fn(Option<&str>, Option<&str>) -> String,
    (rates, levels, cases): (&[GroupRate], &[GroupLevels], &[GroupCases]),
    (min_staff, defaults_count): (i64, bool),
) -> Result<Results, String> {
    use std::collections::BTreeMap;
    let mut by_group: BTreeMap<String, Vec<(&str, i64)>> = BTreeMap::new();
    for l in levels {
        by_group
            .entry(name(l.area.as_deref(), l.hall.as_deref()))
            .or_default()
            .extend(l.levels());
    }
    // 评价率 by group, its sums as one code's (`Rate::of` takes codes); the system default
    // ratings, as 基本满意 of their groups where the setting counts them.
    let mut codes = vec![];
    for r in rates {
        let g = name(r.area.as_deref(), r.hall.as_deref());
        if defaults_count && r.all_defaults > 0 {
            by_group
                .entry(g.clone())
                .or_default()
                .push(("basic", r.all_defaults));
        }
        codes.push(crate::served::CodeRate {
            code: String::new(),
            region: String::new(),
            hall: g,
            window: String::new(),
            dept: String::new(),
            staff_id: None,
            staff_name: None,
            served: r.served,
            rated: r.rated,
            never: r.never,
            defaults: r.defaults,
        });
    }
    let mut case_groups: BTreeMap<String, Vec<&GroupCases>> = BTreeMap::new();
    for c in cases {
        case_groups
            .entry(name(c.area.as_deref(), c.hall.as_deref()))
            .or_default()
            .push(c);
    }
    // Each group's sums, and the whole's: its counts added, the medians of all the groups' times.
    let (mut total, mut all) = (CaseSums::default(), Default::default());
    let mut case_sums = BTreeMap::new();
    for (g, cs) in &case_groups {
        let sums = CaseSums::of_groups(cs.iter().copied(), &mut all)?;
        total.add(&sums);
        case_sums.insert(g.as_str(), sums);
    }
    let total = total.with_medians(&mut all);
    let mut names: Vec<&str> = by_group.keys().map(String::as_str).collect();
    names.extend(case_sums.keys().copied());
    names.sort_unstable();
    names.dedup();
    let mut groups = vec![];
    for g in names.into_iter().filter(|g| !g.is_empty()) {
        let levels = by_group.get(g).map_or(&[][..], Vec::as_slice);
        let sums = case_sums.get(g).cloned().unwrap_or_default();
        groups.push((
            g.to_owned(),
            Figures::from_parts(levels.iter().copied(), &sums),
        ));
    }
    Ok(Results {
        rate: RateFigures::of(&codes),
        group_rates: rates_by(&codes, |c| &c.hall),
        defaults_in_satisfaction: defaults_count,
        praise: vec![],
        areas: vec![],
        format: RESULTS_FORMAT,
        version: RESULTS_VERSION,
        scope: "全市".to_owned(),
        period: period.label.clone(),
        total: Figures::from_parts(by_group.values().flatten().copied(), &total),
        group_by: "大厅",
        groups,
        staff: vec![],
        min_staff_ratings: min_staff,
        staff_hidden: 0,
    })
}

pub const CSV_HEADER: [&str; 21] = [
    "范围",
    "名称",
    "评价数",
    "满意数",
    "满意率%",
    "差评数",
    "申诉成立（不计入）",
    "已回访",
    "回访率%",
    "已整改",
    "整改率%",
    "回访用时中位数（小时）",
    "整改用时中位数（小时）",
    "按时回访%",
    "按时整改%",
    "整改后满意度%",
    "办件数",
    "主动评价率%",
    "未评价办件",
    "实际评价率%",
    "系统默认评价",
];

/// A percentage or hours with one decimal, or nothing (the CSV's and the report's cells).
pub fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.1}"))
}

fn cells(kind: &str, name: &str, f: &Figures, r: Option<&RateFigures>) -> Vec<String> {
    let mut out = vec![
        kind.to_owned(),
        name.to_owned(),
        f.ratings.to_string(),
        f.satisfied.to_string(),
        opt(f.satisfaction_pct),
        f.bad.to_string(),
        f.overturned.to_string(),
        f.called.to_string(),
        opt(f.callback_pct),
        f.fixed.to_string(),
        opt(f.fix_pct),
        opt(f.median_callback_hours),
        opt(f.median_fix_hours),
        opt(f.callback_on_time_pct),
        opt(f.fix_on_time_pct),
        opt(f.post_fix_pct),
    ];
    // A staff member's row, or a group without served figures: the rate's cells stay empty.
    match r {
        Some(r) if r.served > 0 => out.extend([
            r.served.to_string(),
            opt(r.active_pct),
            r.never_rated.to_string(),
            opt(r.actual_pct),
            r.defaults.to_string(),
        ]),
        _ => out.extend(std::iter::repeat_n(String::new(), 5)),
    }
    out
}

impl Results {
    /// A group's 评价率, if its codes have any figures.
    pub fn group_rate(&self, group: &str) -> Option<&RateFigures> {
        self.group_rates
            .iter()
            .find(|(g, _)| g == group)
            .map(|(_, r)| r)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data")
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from(wire::csv::BOM);
        wire::csv::line(&mut out, &CSV_HEADER);
        let mut row = |c: Vec<String>| {
            let refs: Vec<&str> = c.iter().map(String::as_str).collect();
            wire::csv::line(&mut out, &refs);
        };
        row(cells("合计", &self.scope, &self.total, Some(&self.rate)));
        for (g, f) in &self.groups {
            row(cells(self.group_by, g, f, self.group_rate(g)));
        }
        for (s, f) in &self.staff {
            row(cells("工作人员", s, f, None));
        }
        out
    }
}

const CSS: &str = "\
*{box-sizing:border-box}body{margin:0;font:16px/1.6 system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#1f2329;background:#fff}\
main{max-width:900px;margin:0 auto;padding:12px 16px}h1{font-size:20px;margin:8px 0}h2{font-size:17px;margin:18px 0 6px}\
.kpi{display:flex;flex-wrap:wrap;gap:8px}.kpi div{flex:1 1 130px;border:1px solid #dfe1e5;border-radius:6px;padding:8px 10px}\
.kpi b{display:block;font-size:22px}.kpi span{font-size:14px;color:#555}\
.wide{overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e5e6eb;padding:5px 6px;text-align:left;font-size:14px;white-space:nowrap}\
td.num{text-align:right}svg{display:block;width:100%;max-width:600px}.muted{color:#646a73;font-size:13px}\
.praise{border-left:3px solid #1a7f37;padding:4px 10px;margin:6px 0;background:#f3faf5}\
nav a{margin-right:10px;display:inline-block;padding:2px 0}form{margin:8px 0}\
@media (max-width:420px){table.figs th:nth-child(n+7),table.figs td:nth-child(n+7){display:none}}\
dl{font-size:14px}dt{font-weight:600}dd{margin:0 0 6px 0}@media print{nav,form{display:none}body{font-size:12px}}";

pub fn csp() -> String {
    crate::page::styled_csp(
        CSS,
        "img-src 'self' data:; form-action 'self'; base-uri 'none'",
    )
}

fn pct_text(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.1}%"))
}

fn rate_text(v: Option<f64>) -> String {
    v.map_or("无办件数据".into(), |x| format!("{x:.1}%"))
}

fn hours_text(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.1} 小时"))
}

/// Bars of the groups' satisfaction, drawn as inline SVG (no script, no library).
fn bars(groups: &[(String, Figures)]) -> Markup {
    // 360 units wide: a phone's width, where a unit is about a pixel.
    let h = 28;
    let height = h * groups.len().max(1);
    html! {
        svg viewBox={ "0 0 360 " (height) } role="img" aria-label="各组满意率" {
            @for (i, (name, f)) in groups.iter().enumerate() {
                @let y = i * h;
                @let w = f.satisfaction_pct.unwrap_or(0.0) * 1.6;
                // About 8 CJK characters fit before the bars, or a region code's 12 digits.
                text x="0" y=(y + 19) font-size="14" { (name.chars().take(if name.is_ascii() { 12 } else { 8 }).collect::<String>()) }
                rect x="124" y=(y + 6) width=(format!("{w:.1}")) height="16" fill="#8b1a1a" {}
                text x=(format!("{:.1}", 128.0 + w)) y=(y + 19) font-size="14" { (pct_text(f.satisfaction_pct)) }
            }
        }
    }
}

fn row(name: &str, f: &Figures) -> Markup {
    html! {
        tr {
            td { (name) } td.num { (f.ratings) } td.num { (pct_text(f.satisfaction_pct)) } td.num { (f.bad) }
            td.num { (pct_text(f.callback_pct)) } td.num { (pct_text(f.fix_pct)) }
            td.num { (hours_text(f.median_callback_hours)) } td.num { (pct_text(f.callback_on_time_pct)) }
        }
    }
}

fn table(first: &str, rows: &[(String, Figures)]) -> Markup {
    html! {
        div.wide { table.figs {
            thead { tr { th { (first) } th { "评价" } th { "满意率" } th { "差评" } th { "回访率" } th { "整改率" } th { "回访用时中位数" } th { "按时回访" } } }
            tbody { @for (n, f) in rows { (row(n, f)) } }
        } }
    }
}

pub fn page(r: &Results, query: &str, halls: &[String]) -> String {
    let t = &r.total;
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (crate::page::styled_head(&format!("{} 好差评结果 {}", r.scope, r.period), CSS))
            body { main {
                h1 { (r.scope) " 政务服务“好差评”结果" }
                p.muted { "统计期 " (r.period) "（北京时间）。申诉成立、复核撤销的差评不计入，单列为“申诉成立”。" }
                form method="get" action="/results" {
                    @if r.scope != "全市" { input type="hidden" name="hall" value=(r.scope); }
                    label { "统计期 " input name="period" value=(r.period) size="8" placeholder="2026-11 或 2026-Q4"; }
                    " " button type="submit" { "查看" }
                }
                div.kpi {
                    div { b { (t.ratings) } span { "评价数" } }
                    div { b { (pct_text(t.satisfaction_pct)) } span { "满意率（非常满意、满意、基本满意）" } }
                    div { b { (t.bad) } span { "差评" } }
                    div { b { (pct_text(t.callback_pct)) } span { "回访率" } }
                    div { b { (pct_text(t.fix_pct)) } span { "整改率" } }
                    div { b { (hours_text(t.median_callback_hours)) } span { "回访用时（中位数）" } }
                    div { b { (hours_text(t.median_fix_hours)) } span { "整改用时（中位数）" } }
                    div { b { (pct_text(t.callback_on_time_pct)) } span { "按时回访" } }
                    div { b { (pct_text(t.fix_on_time_pct)) } span { "按时整改" } }
                    div { b { (pct_text(t.post_fix_pct)) } span { "整改后满意度（评价人追评）" } }
                    div { b { (t.overturned) } span { "申诉成立（不计入）" } }
                    div { b { (rate_text(r.rate.active_pct)) } span { "主动评价率（评价 ÷ 办件）" } }
                    div { b { (rate_text(r.rate.actual_pct)) } span { "实际评价率（含系统默认评价）" } }
                }
                @if r.defaults_in_satisfaction {
                    p.muted { "满意率含系统默认评价 " (r.rate.defaults) " 条（逾期未评价的办件按“基本满意”计）。" }
                } @else if r.rate.defaults > 0 {
                    p.muted { "满意率只计办事人的评价，不含系统默认评价（本期 " (r.rate.defaults) " 条）。" }
                }
                h2 { "各" (r.group_by) "满意率" }
                (bars(&r.groups))
                (table(r.group_by, &r.groups))
                @if r.group_rates.iter().any(|(_, x)| x.served > 0) {
                    h2 { "各" (r.group_by) "评价率" }
                    div.wide { table {
                        thead { tr { th { (r.group_by) } th { "办件" } th { "评价" } th { "主动评价率" } th { "实际评价率" } th { "未评价办件" } } }
                        tbody { @for (g, x) in &r.group_rates {
                            tr { td { (g) } td.num { (x.served) } td.num { (x.rated) } td.num { (rate_text(x.active_pct)) } td.num { (rate_text(x.actual_pct)) } td.num { (x.never_rated) } }
                        } }
                    } }
                    p.muted { "办件：一事一评链接、评价平板与叫号系统报送的办件。没有办件数据的显示“无办件数据”。" }
                }
                @if !r.praise.is_empty() {
                    h2 { "群众表扬" }
                    @for text in &r.praise { p.praise { "“" (text) "”" } }
                }
                h2 { "工作人员（评价满 " (r.min_staff_ratings) " 条才公布）" }
                @if r.group_by != "单位" { p.muted { "各工作人员的结果在其所在大厅的页面上。" } }
                @else if r.staff.is_empty() { p.muted { "本期没有评价满 " (r.min_staff_ratings) " 条的工作人员。" } }
                @else { (table("工号", &r.staff)) }
                @if r.staff_hidden > 0 { p.muted { (r.staff_hidden) " 位工作人员评价不足 " (r.min_staff_ratings) " 条，不单独公布，以免识别评价人。" } }
                @if !r.areas.is_empty() {
                    h2 { "下级区划" }
                    nav { @for (label, code) in &r.areas { a href={ "/results?region=" (code) "&period=" (r.period) } { (label) } } }
                }
                @if r.scope != "全市" { p { a href={ "/results?period=" (r.period) } { "返回全市" } } }
                @if !halls.is_empty() {
                    h2 { "各大厅" }
                    nav { @for h in halls { a href={ "/results?hall=" (percent_encoding::utf8_percent_encode(h, percent_encoding::NON_ALPHANUMERIC)) "&period=" (r.period) } { (h) } } }
                }
                p.muted { "数据下载：" a href={ "/results.json?" (query) } { "JSON" } " · " a href={ "/results.csv?" (query) } { "CSV" } "（手机上表格省略的列在下载数据中都有）" }
                details {
                    summary { "数据项说明" }
                    dl {
                        dt { "评价数、满意数、满意率" } dd { "本期计入统计的评价；满意为非常满意、满意、基本满意；申诉成立的差评不计入。" }
                        dt { "差评、回访率、整改率" } dd { "不满意与非常满意的评价各立一案；已回访、已整改的案件占比。" }
                        dt { "用时中位数、按时回访、按时整改" } dd { "从评价到回访、到整改的小时数中位数；在期限内完成的占比（期限按工作日计算）。" }
                        dt { "整改后满意度" } dd { "办结后评价人追评满意或基本满意的占比。" }
                        dt { "办件、主动评价率、实际评价率" } dd { "报送的办件数；办事人评价数 ÷ 办件数；另计逾期未评价时的系统默认评价。没有办件数据显示“无办件数据”。" }
                        dt { "工作人员" } dd { "评价满规定条数才单独公布，以免识别评价人；只有核实为工作人员原因的差评计入其本人。" }
                    }
                }
            } }
        }
    }
    .into_string()
}

/// The hall and period a request asks for (`hall`, `period`), checked.
/// What a request asks for: a hall, a region (its code, for the drill-down), or the city.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum View {
    City,
    Region(String),
    Hall(String),
}

impl View {
    fn parts(&self) -> (Option<&str>, Option<&str>) {
        match self {
            View::City => (None, None),
            View::Region(r) => (None, Some(r)),
            View::Hall(h) => (Some(h), None),
        }
    }
}

pub fn params(pairs: &[(String, String)], now: i64) -> Result<(View, Period), String> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim());
    let hall = get("hall").filter(|h| !h.is_empty()).map(str::to_owned);
    if hall.as_ref().is_some_and(|h| h.chars().count() > 64) {
        return Err("hall: at most 64 characters".into());
    }
    let region = get("region").filter(|r| !r.is_empty()).map(str::to_owned);
    if region
        .as_ref()
        .is_some_and(|r| !crate::access::region_ok(r))
    {
        return Err("region: a region code of 2 to 12 digits".into());
    }
    let view = match (hall, region) {
        (Some(_), Some(_)) => return Err("hall or region, not both".into()),
        (Some(h), None) => View::Hall(h),
        (None, Some(r)) => View::Region(r),
        (None, None) => View::City,
    };
    let period = match get("period").filter(|p| !p.is_empty()) {
        Some(p) => Period::parse(p)?,
        None => Period::current(now),
    };
    Ok((view, period))
}

// ---- the handlers ----

/// How long an isolate reuses a period's computed results (the answers say the same to any
/// cache in front, for longer).
const MEMO_SECS: i64 = 60;
/// The memo's size: past it the least recently used entry goes (a hall's before the city's or a
/// region's), never all at once.
const MEMO_ENTRIES: usize = 64;
/// The city's figures are the costly ones: computed at most once in this long, whatever the
/// period; a period not in the memo meanwhile is asked to come back.
pub const CITY_EVERY_SECS: i64 = 60;
/// What computing results may cost in any minute, in milliseconds of this isolate's time spent
/// from the start of a computation's reads to their answer (on workerd the clock moves only
/// across such waits, so the grouping after them is not counted): a tenth. Past it, a page not in the memo
/// is asked to come back; a script asking for every hall and period in turn costs the office no
/// more than this, whatever it sends, and the citizens' ratings keep the rest.
pub const COMPUTE_BUDGET_MS: f64 = 6_000.0;

/// A memo's key (the hall, or the city, and the period) and what it keeps: when it was
/// computed, when last used, the figures, the halls with ratings.
type MemoKey = (View, String);

struct Memoised {
    at: i64,
    used: i64,
    results: Results,
    halls: Vec<String>,
}

/// Computed results by hall and period, and when the city's were last computed.
#[derive(Default)]
pub struct Memo {
    entries: std::collections::HashMap<MemoKey, Memoised>,
    /// When the city's, and each region's, results were last computed.
    turns: std::collections::HashMap<View, i64>,
    /// Computations since the isolate started (`zsp_results_computed_total`).
    pub computed: u64,
    /// What each computation of the last minute cost: (unix seconds, milliseconds).
    spent: std::collections::VecDeque<(i64, f64)>,
}

impl Memo {
    fn get(&mut self, key: &MemoKey, now: i64) -> Option<(Results, Vec<String>)> {
        let e = self
            .entries
            .get_mut(key)
            .filter(|e| now - e.at < MEMO_SECS)?;
        e.used = now;
        Some((e.results.clone(), e.halls.clone()))
    }

    fn put(&mut self, key: MemoKey, now: i64, results: Results, halls: Vec<String>) {
        self.entries.retain(|_, e| now - e.at < MEMO_SECS);
        // A hall's entry goes first: the city's and the regions' are the costly ones, and a
        // script asking for every hall must not push them out.
        if self.entries.len() >= MEMO_ENTRIES
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|((view, _), e)| (!matches!(view, View::Hall(_)), e.used))
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
        self.entries.insert(
            key,
            Memoised {
                at: now,
                used: now,
                results,
                halls,
            },
        );
    }

    /// Whether a computation may start at `now` within [`COMPUTE_BUDGET_MS`]; if not, in how
    /// many seconds enough of the last minute's cost will have aged out.
    pub fn within_budget(&mut self, now: i64) -> Result<(), i64> {
        while self.spent.front().is_some_and(|(at, _)| now - at >= 60) {
            self.spent.pop_front();
        }
        let mut total: f64 = self.spent.iter().map(|(_, ms)| ms).sum();
        if total < COMPUTE_BUDGET_MS {
            return Ok(());
        }
        for (at, ms) in &self.spent {
            total -= ms;
            if total < COMPUTE_BUDGET_MS {
                return Err((at + 60 - now).max(1));
            }
        }
        Err(60)
    }

    /// A computation at `now` cost `ms`.
    pub fn charge(&mut self, now: i64, ms: f64) {
        self.spent.push_back((now, ms.max(0.0)));
    }

    /// Takes the city's computation for `now`, if its minute allows.
    /// Whether the city (or a region: `view`) may be computed now: once a minute each.
    fn city_turn(&mut self, view: &View, now: i64) -> bool {
        if self
            .turns
            .get(view)
            .is_some_and(|at| now - at < CITY_EVERY_SECS)
        {
            return false;
        }
        self.turns.insert(view.clone(), now);
        true
    }
}

/// The figures of `hall` (or the city) for `period`, and the halls with ratings in it; a hall
/// that is neither in the directory nor rated is `None`.
async fn figures(
    h: &impl crate::host::Host,
    s: &Settings,
    (hall, region): (Option<&str>, Option<&str>),
    period: &Period,
) -> Result<Option<(Results, Vec<String>)>, crate::error::ApiError> {
    use crate::host;
    let Some(name) = hall else {
        return areas(h, s, region, period).await;
    };
    let stmts = vec![
        crate::served::code_rates(&crate::access::Scope::All, hall, &period.months),
        tallies(period, hall),
        cases(period, hall),
        halls(period),
        praise(name),
        hall_known(name),
    ];
    let mut res = host::run(h, stmts, false).await?;
    if host::count(res.pop().as_ref()) == 0 {
        return Ok(None);
    }

    struct Praise {
        comment: String,
    }
    crate::row!(Praise { comment });
    let praised: Vec<Praise> = host::typed(h, res.pop())?;
    let names: Vec<HallRow> = host::typed(h, res.pop())?;
    let facts: Vec<CaseFacts> = host::typed(h, res.pop())?;
    let rows: Vec<TallyRow> = host::typed(h, res.pop())?;
    let codes: Vec<crate::served::CodeRate> = host::typed(h, res.pop())?;
    let r = compute(
        hall,
        period,
        &rows,
        &facts,
        &codes,
        (i64::from(s.min_staff), s.defaults_count),
    );
    Ok(Some((
        Results {
            praise: praised.into_iter().map(|p| p.comment).collect(),
            ..r
        },
        names.into_iter().map(|n| n.hall).collect(),
    )))
}

/// The city's page or a region's: each hall goes to its area (the city's counties, a region's
/// towns), or stays its own where it sits at the page's level; a region's page keeps only its
/// halls. One batch reads each group's sums, summed by SQL from a row a hall (never a row a case,
/// a code or a staff member): a row a group, not a hall, comes back.
async fn areas(
    h: &impl crate::host::Host,
    s: &Settings,
    region: Option<&str>,
    period: &Period,
) -> Result<Option<(Results, Vec<String>)>, crate::error::ApiError> {
    use crate::host;
    let stmts = vec![
        group_rates(period, region),
        group_levels(period, region),
        group_cases(period, region),
    ];
    let mut res = host::run(h, stmts, false).await?;
    let cases: Vec<GroupCases> = host::typed(h, res.pop())?;
    let levels: Vec<GroupLevels> = host::typed(h, res.pop())?;
    let rates: Vec<GroupRate> = host::typed(h, res.pop())?;
    if region.is_some() && rates.is_empty() {
        return Ok(None);
    }
    let label = |code: &str| match s.region_names.iter().find(|(c, _)| c == code) {
        Some((_, n)) => format!("{n}（{code}）"),
        None => code.to_owned(),
    };
    let mut areas: Vec<(String, String)> = rates
        .iter()
        .filter_map(|r| r.area.as_deref())
        .map(|code| (label(code), code.to_owned()))
        .collect();
    areas.sort();
    areas.dedup_by(|a, b| a.0 == b.0);
    let r = compute_areas(
        period,
        |area, hall| area.map_or_else(|| hall.unwrap_or_default().to_owned(), &label),
        (&rates, &levels, &cases),
        (i64::from(s.min_staff), s.defaults_count),
    )
    .map_err(|e| host::internal(h, "results", e))?;
    let names = rated_halls(&levels).map_err(|e| host::internal(h, "results", e))?;
    let (scope, group_by) = match region {
        Some(code) => (
            s.region_names
                .iter()
                .find(|(c, _)| c == code)
                .map_or_else(|| format!("区划 {code}"), |(_, n)| n.clone()),
            "乡镇（街道）与大厅",
        ),
        None => (r.scope.clone(), "区县与大厅"),
    };
    Ok(Some((
        Results {
            areas,
            scope,
            group_by,
            ..r
        },
        names,
    )))
}

/// The hall's public 好评: the newest few comments a 大厅管理员 marked (no names, no times).
pub fn praise(hall: &str) -> Stmt {
    stmt(
        format!("SELECT comment FROM praise WHERE hall = ?1 ORDER BY at DESC LIMIT {PRAISE_SHOWN}"),
        vec![hall.into()],
    )
}

/// How many 好评 a hall's page shows.
pub const PRAISE_SHOWN: usize = 5;

/// Which form of the results a path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Page,
    Json,
    Csv,
}

fn refused(
    status: u16,
    code: &'static str,
    zh: &'static str,
    en: &'static str,
    detail: String,
) -> crate::error::ApiError {
    crate::error::ApiError {
        detail: Some(detail),
        ..crate::error::ApiError::new(status, code, zh, en)
    }
}

/// `/results`, `/results.json`, `/results.csv`: `?hall=…&period=2026-11|2026-Q4`. From this
/// isolate's memo for a minute (the least recently used entry making room); the answers may be
/// cached for five. A period in any other spelling, or a hall that does not exist, is 400; the
/// city's figures are computed at most once a minute, whatever the period (another period
/// meanwhile is 429 with `Retry-After`).
pub async fn answer(
    h: &impl crate::host::Host,
    s: &Settings,
    req: &crate::http::Request,
    form: Form,
) -> crate::http::Answer {
    use crate::http::Response;
    let pairs = req.query_pairs();
    let (view, period) = params(&pairs, h.now()).map_err(|d| {
        refused(
            400,
            "results.params",
            "统计期、大厅或区划有误。",
            "Bad period, hall or region.",
            d,
        )
    })?;
    let hall = match &view {
        View::Hall(h) => Some(h.clone()),
        _ => None,
    };
    let t = h.now();
    let key = (view.clone(), period.label.clone());
    let memo = h.isolate().with(|m: &mut Memo| m.get(&key, t));
    let (r, names) = match memo {
        Some(v) => v,
        None => {
            if let View::Region(code) = &view {
                // A region of the directory, before anything is computed for it (or the budget
                // charged): read from the codes' places, not each entry's JSON (a region that
                // does not exist took 2.5 ms of SQLite at 3,401 codes, now 0.2).
                let known = crate::host::run(
                    h,
                    vec![stmt(
                        "SELECT 1 AS known FROM code_places WHERE substr(region, 1, length(?1)) = ?1 LIMIT 1",
                        vec![code.as_str().into()],
                    )],
                    false,
                )
                .await?;
                if crate::host::count(known.first()) == 0 {
                    return Err(refused(
                        400,
                        "results.region",
                        "没有这个区划的大厅。",
                        "No hall in that region.",
                        format!("region {code:?}: no hall of the directory there"),
                    ));
                }
            }
            if let Err(wait) = h.isolate().with(|m: &mut Memo| m.within_budget(t)) {
                return Ok(Response::html(
                    429,
                    format!(
                        "<!doctype html><html lang=zh-CN><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
                         <title>请稍后再试</title><p>统计结果正在计算，请 {wait} 秒后刷新本页。</p><p><a href=\"/results\">查看本月结果</a></p></html>"
                    ),
                )
                .with("Retry-After", &wait.to_string())
                .with("Cache-Control", "no-store"));
            }
            if hall.is_none() && !h.isolate().with(|m: &mut Memo| m.city_turn(&view, t)) {
                return Ok(Response::html(
                    429,
                    "<!doctype html><html lang=zh-CN><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
                     <title>请稍后再试</title><p>全市统计每分钟最多计算一次，请一分钟后刷新本页。</p><p><a href=\"/results\">查看本月结果</a></p></html>"
                        .to_owned(),
                )
                .with("Retry-After", &CITY_EVERY_SECS.to_string())
                .with("Cache-Control", "no-store"));
            }
            let started = h.now_ms();
            let figured = figures(h, s, view.parts(), &period).await;
            let cost = h.now_ms() - started;
            h.isolate().with(|m: &mut Memo| m.charge(t, cost));
            let Some((r, names)) = figured? else {
                return Err(match &view {
                    View::Region(code) => refused(
                        400,
                        "results.region",
                        "没有这个区划的大厅。",
                        "No hall in that region.",
                        format!("region {code:?}: no hall of the directory there"),
                    ),
                    _ => refused(
                        400,
                        "results.hall",
                        "没有这个大厅。",
                        "No such hall.",
                        format!(
                            "hall {:?}: not in the directory and never rated",
                            hall.unwrap_or_default()
                        ),
                    ),
                });
            };
            h.isolate().with(|m: &mut Memo| {
                m.computed += 1;
                m.put(key, t, r.clone(), names.clone());
            });
            (r, names)
        }
    };
    let cache = "public, max-age=300";
    Ok(match form {
        Form::Json => Response::bytes(200, "application/json; charset=utf-8", r.to_json()),
        Form::Csv => Response::bytes(200, "text/csv; charset=utf-8", r.to_csv()),
        Form::Page => {
            let query = pairs
                .iter()
                .map(|(k, v)| {
                    let v = percent_encoding::utf8_percent_encode(
                        v,
                        percent_encoding::NON_ALPHANUMERIC,
                    );
                    format!("{k}={v}")
                })
                .collect::<Vec<_>>()
                .join("&");
            let names = if hall.is_none() { names } else { vec![] };
            Response::html(200, page(&r, &query, &names))
                .with("Content-Security-Policy", &csp())
                .with("Referrer-Policy", "no-referrer")
        }
    }
    .with("Cache-Control", cache))
}

/// The results computed since the isolate started, for `/metrics`.
pub fn computed(h: &impl crate::host::Host) -> u64 {
    h.isolate().with(|m: &mut Memo| m.computed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::sql::tests::{db, run};
    use rusqlite::Connection;
    use wire::time::Day;

    #[test]
    fn a_median_found_in_place_is_the_middle_of_the_sorted_times() {
        // Odd and even counts, repeats and negatives, each set in a pseudo-random order.
        let mut seed = 7_u64;
        for n in 0..40 {
            for _ in 0..20 {
                let times: Vec<i64> = (0..n)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        (seed >> 33) as i64 % 50 - 10
                    })
                    .collect();
                let mut sorted = times.clone();
                sorted.sort_unstable();
                let expected = match n {
                    0 => None,
                    _ if n % 2 == 1 => Some(sorted[n / 2] as f64),
                    _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0),
                };
                assert_eq!(median_secs(&mut times.clone()), expected, "{times:?}");
            }
        }
    }

    #[test]
    fn a_script_asking_for_halls_never_pushes_the_city_out_of_the_memo() {
        let p = Period::parse("2026-Q4").unwrap();
        let r = compute(None, &p, &[], &[], &[], (3, false));
        let mut m = Memo::default();
        m.put((View::City, p.label.clone()), 100, r.clone(), vec![]);
        m.put(
            (View::Region("321202".into()), p.label.clone()),
            101,
            r.clone(),
            vec![],
        );
        for i in 0..(MEMO_ENTRIES * 2) {
            m.put(
                (View::Hall(format!("大厅{i:04}")), p.label.clone()),
                102,
                r.clone(),
                vec![],
            );
        }
        assert!(m.get(&(View::City, p.label.clone()), 110).is_some());
        assert!(
            m.get(&(View::Region("321202".into()), p.label.clone()), 110)
                .is_some()
        );
        assert_eq!(m.entries.len(), MEMO_ENTRIES);
    }

    #[test]
    fn the_compute_budget_waits_only_until_enough_of_the_minute_has_aged_out() {
        let mut m = Memo::default();
        assert_eq!(m.within_budget(1_000), Ok(()));
        m.charge(1_000, 2_500.0);
        m.charge(1_020, 2_500.0);
        assert_eq!(m.within_budget(1_030), Ok(()), "5 s of 6");
        m.charge(1_030, 1_500.0);
        // 6.5 s spent: the first charge's leaving (at 1,060) brings it under.
        assert_eq!(m.within_budget(1_040), Err(20));
        assert_eq!(m.within_budget(1_059), Err(1));
        assert_eq!(m.within_budget(1_060), Ok(()));
        // One computation dearer than the whole budget waits its minute out.
        let mut m = Memo::default();
        m.charge(5, 9_000.0);
        assert_eq!(m.within_budget(5), Err(60));
        assert_eq!(m.within_budget(65), Ok(()));
    }

    fn entry(dept: &str, staff: &str) -> String {
        serde_json::json!({"code": "x", "region": "330102", "hall": "上城区市民中心", "window": "A01",
            "dept": dept, "staff_id": staff})
        .to_string()
    }

    fn rating(c: &Connection, id: &str, dept: &str, staff: &str, level: &str, at: i64) {
        c.execute(
            "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, rated_at, level, tags, \
             tag_version, comment, flagged, via, entry, next_attempt_at) \
             VALUES (?1, 'C', ?1, 0, 1, 1, ?1, ?2, ?3, '', 1, '', 0, 'app', ?4, 0)",
            rusqlite::params![id, at, level, entry(dept, staff)],
        )
        .unwrap();
    }

    #[allow(clippy::too_many_arguments)]
    fn case(
        c: &Connection,
        id: &str,
        dept: &str,
        staff: &str,
        at: i64,
        called: Option<i64>,
        fixed: Option<i64>,
        review: Option<&str>,
    ) {
        c.execute(
            "INSERT INTO cases (rating, opened_at, opened_rev, code, entry, level, tags, comment, called_at, fixed_at, \
             callback_due, fix_due, review, state) VALUES (?1, ?2, 1, 'C', ?3, 'dissatisfied', '', '', ?4, ?5, ?6, ?7, ?8, 'callback')",
            rusqlite::params![id, at, entry(dept, staff), called, fixed, at + 8 * 3600, at + 5 * 86_400, review],
        )
        .unwrap();
    }

    /// What the statements' groups are, written plainly: where a hall of region `region` falls
    /// on the page of `within` (`None`: the city, whose rows are its counties and districts): a
    /// child area's code (`Ok`), the hall itself when it sits at `within`'s own level (`Err(())`),
    /// or nowhere (`None`, another region's).
    fn area_of(region: &str, within: Option<&str>) -> Option<Result<String, ()>> {
        let depth = within.map_or(4, str::len);
        if within.is_some_and(|p| !region.starts_with(p)) {
            return None;
        }
        if region.len() <= depth {
            return Some(Err(()));
        }
        let next = REGION_LEVELS
            .into_iter()
            .find(|l| *l > depth)
            .unwrap_or(region.len())
            .min(region.len());
        Some(Ok(region[..next].to_owned()))
    }

    /// The city's and a region's figures from their groups' sums (`group_rates`, `group_levels`,
    /// `group_cases`, `compute_areas`) are the figures `compute` makes from every row: counts,
    /// medians of odd and even counts, deadlines missing, overturned cases, verdicts, a hall
    /// the directory no longer has, a case without a hall, 评价率 and the default ratings.
    #[test]
    fn groups_summed_from_the_halls_are_the_groups_computed_from_the_rows() {
        let c = db();
        let t = Day::from_ymd(2026, 11, 2).unwrap().start_unix();
        let halls = [
            ("330102", "甲中心"),
            ("330102001", "甲街道站"),
            ("330105", "乙中心"),
            ("330105002", "乙街道站"),
            ("330106", "已撤并大厅"),
        ];
        let levels = [
            "very_satisfied",
            "satisfied",
            "basic",
            "dissatisfied",
            "very_dissatisfied",
        ];
        let mut x: u64 = 7;
        let mut next = |n: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        for i in 0..600 {
            let (region, hall) = halls[next(5) as usize];
            let level = levels[next(5) as usize];
            let e =
                serde_json::json!({"code": "x", "region": region, "hall": hall, "window": "A01",
                "dept": format!("单位{}", next(3)), "staff_id": format!("S{}", next(4))})
                .to_string();
            let at = t + i * 3000;
            c.execute(
                "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, rated_at, level, tags, \
                 tag_version, comment, flagged, via, entry, next_attempt_at) \
                 VALUES (?1, 'C', ?1, 0, 1, 1, ?1, ?2, ?3, '', 1, '', 0, 'app', ?4, 0)",
                rusqlite::params![format!("r{i}"), at, level, e],
            )
            .unwrap();
            if level.ends_with("dissatisfied") {
                let hour = |k: u64| at + 600 * k as i64;
                let called = (next(5) > 0).then(|| hour(next(40)));
                let fixed = (next(3) > 0).then(|| hour(next(300)));
                let callback_due = (next(6) > 0).then_some(at + 8 * 3600);
                let fix_due = (next(6) > 0).then_some(at + 40 * 3600);
                let review = ["", "", "", "upheld", "overturned"][next(5) as usize];
                let verdict = ["", "", "satisfied", "basic", "unsatisfied"][next(5) as usize];
                let e = if next(20) == 0 { "{}".to_owned() } else { e };
                c.execute(
                    "INSERT INTO cases (rating, opened_at, opened_rev, code, entry, level, tags, comment, called_at, \
                     fixed_at, callback_due, fix_due, review, verdict, state) \
                     VALUES (?1, ?2, 1, 'C', ?3, ?4, '', '', ?5, ?6, ?7, ?8, NULLIF(?9, ''), NULLIF(?10, ''), 'closed')",
                    rusqlite::params![format!("r{i}"), at, e, level, called, fixed, callback_due, fix_due, review, verdict],
                )
                .unwrap();
            }
        }
        // Amended ratings and a held one leave their old level's tallies.
        c.execute_batch(
            "UPDATE ratings SET level = 'satisfied' WHERE id IN ('r1', 'r2', 'r3', 'r40'); \
             UPDATE ratings SET level = 'very_dissatisfied' WHERE id IN ('r5', 'r6'); \
             UPDATE ratings SET hold = 1 WHERE id IN ('r7', 'r8');",
        )
        .unwrap();
        // Cases move on after they open (called, fixed, reviewed, 追评), change hall, move to
        // another month (December: the quarter still; September: neither) or are deleted.
        c.execute_batch(
            "UPDATE cases SET called_at = opened_at + 7200 WHERE called_at IS NULL AND id % 3 = 0; \
             UPDATE cases SET fixed_at = opened_at + 900000 WHERE fixed_at IS NULL AND id % 4 = 1; \
             UPDATE cases SET review = 'overturned' WHERE id % 7 = 1; \
             UPDATE cases SET review = NULL WHERE review = 'overturned' AND id % 7 = 3; \
             UPDATE cases SET verdict = 'satisfied' WHERE verdict IS NULL AND id % 5 = 2; \
             UPDATE cases SET verdict = 'unsatisfied' WHERE verdict = 'basic' AND id % 2 = 0; \
             UPDATE cases SET fix_due = NULL WHERE id % 11 = 4; \
             UPDATE cases SET callback_due = opened_at WHERE id % 11 = 5; \
             UPDATE cases SET entry = (SELECT entry FROM cases WHERE id = 2) WHERE id % 13 = 5; \
             UPDATE cases SET entry = '{}' WHERE id % 23 = 6; \
             UPDATE cases SET opened_at = opened_at + 30 * 86400 WHERE id % 17 = 6; \
             UPDATE cases SET opened_at = opened_at - 60 * 86400 WHERE id % 17 = 7; \
             DELETE FROM cases WHERE id % 19 = 8;",
        )
        .unwrap();
        // The directory: two codes a hall, one of them without 办件 served in the month (its
        // ratings and default ratings count, its 评价率 does not), as the running tallies hold them.
        // One hall has a place in a second county, of a smaller code: the city counts it there.
        let mut places = halls[..4].to_vec();
        places.push(("330104001", "乙街道站"));
        for (k, (region, hall)) in places.iter().enumerate() {
            for j in 0..2_i64 {
                let code = format!("E{k}{j}");
                let e = serde_json::json!({"code": code, "region": region, "hall": hall,
                    "window": "A01", "dept": "单位0"});
                c.execute(
                    "INSERT INTO entries (code, json) VALUES (?1, ?2)",
                    rusqlite::params![code, e.to_string()],
                )
                .unwrap();
                let k = k as i64;
                c.execute(
                    "INSERT INTO served_tallies (month, code, served, never, defaults) \
                     VALUES ('2026-11', ?1, ?2, ?3, ?4)",
                    rusqlite::params![code, (1 - j) * (50 + k), k, 2 + j],
                )
                .unwrap();
                c.execute(
                    "INSERT INTO code_tallies (month, code, n) VALUES ('2026-11', ?1, ?2)",
                    rusqlite::params![code, 20 + k + j],
                )
                .unwrap();
            }
        }
        let rows = |s: Stmt| serde_json::Value::Array(run(&c, &s));
        // The directory's halls (the last one is gone from it) and their groups, as `areas` maps them.
        for (p, region) in ["2026-11", "2026-Q4"]
            .map(|p| Period::parse(p).unwrap())
            .iter()
            .flat_map(|p| [None, Some("330102"), Some("330105")].map(|r| (p, r)))
        {
            // A hall's place: its smallest region on the page.
            let mut group = std::collections::BTreeMap::new();
            let mut by_region = places.clone();
            by_region.sort();
            for (r, hall) in &by_region {
                match area_of(r, region) {
                    Some(Ok(code)) => {
                        group.entry(*hall).or_insert(code);
                    }
                    Some(Err(())) => {
                        group.entry(*hall).or_insert_with(|| (*hall).to_owned());
                    }
                    None => {}
                }
            }
            let keep = |h: &str| region.is_none() || group.contains_key(h);
            let to = |h: &str| group.get(h).cloned().unwrap_or_else(|| h.to_owned());
            let mut tallies: Vec<TallyRow> =
                crate::row::of_value(rows(super::tallies(p, None))).unwrap();
            let mut facts: Vec<CaseFacts> = crate::row::of_value(rows(cases(p, None))).unwrap();
            tallies.retain(|t| keep(&t.hall));
            let mut rated: Vec<String> = tallies
                .iter()
                .filter(|t| !t.hall.is_empty())
                .map(|t| t.hall.clone())
                .collect();
            rated.sort();
            rated.dedup();
            let levels: Vec<GroupLevels> =
                crate::row::of_value(rows(group_levels(p, region))).unwrap();
            let links = rated_halls(&levels).unwrap();
            assert!(!links.is_empty(), "{region:?}");
            assert_eq!(links, rated, "{region:?}: the page's links");
            facts.retain(|c| keep(c.hall.as_deref().unwrap_or("")));
            tallies.iter_mut().for_each(|t| t.hall = to(&t.hall));
            facts
                .iter_mut()
                .for_each(|c| c.hall = c.hall.as_deref().map(to));
            let mut codes: Vec<crate::served::CodeRate> = crate::row::of_value(rows(
                crate::served::code_rates(&crate::access::Scope::All, None, &p.months),
            ))
            .unwrap();
            codes.retain(|c| keep(&c.hall));
            codes.iter_mut().for_each(|c| c.hall = to(&c.hall));
            let want = compute(None, p, &tallies, &facts, &codes, (20, true));
            let rates: Vec<GroupRate> = crate::row::of_value(rows(group_rates(p, region))).unwrap();
            let sums: Vec<GroupCases> = crate::row::of_value(rows(group_cases(p, region))).unwrap();
            let got = compute_areas(
                p,
                |area, hall| area.or(hall).unwrap_or_default().to_owned(),
                (&rates, &levels, &sums),
                (20, true),
            )
            .unwrap();
            assert!(
                want.total.bad > 10 && want.groups.len() >= 2,
                "{region:?}: {want:?}"
            );
            assert!(want.rate.served > 0 && want.rate.defaults > 0, "{want:?}");
            assert_eq!(got.total, want.total, "{region:?}");
            assert_eq!(got.groups, want.groups, "{region:?}");
            assert_eq!(got.rate, want.rate, "{region:?}");
            assert_eq!(got.group_rates, want.group_rates, "{region:?}");
        }
    }

    /// A hand-computed month: 26 ratings of 上城区市民中心, one amended, four 差评 cases of which one
    /// is overturned; staff S2 under the threshold.
    #[test]
    fn a_small_month_by_hand() {
        let c = db();
        let t = Day::from_ymd(2026, 11, 10).unwrap().start_unix() + 10 * 3600;
        let mut n = 0;
        let mut put = |dept: &str, staff: &str, level: &str, k: usize| {
            for _ in 0..k {
                n += 1;
                rating(&c, &format!("r{n}"), dept, staff, level, t + n);
            }
        };
        put("区市场监督管理局", "S1", "very_satisfied", 16);
        put("区市场监督管理局", "S1", "satisfied", 3);
        put("区市场监督管理局", "S1", "dissatisfied", 2);
        put("区人力社保局", "S2", "basic", 2);
        put("区人力社保局", "S2", "very_dissatisfied", 1);
        put("区人力社保局", "S2", "satisfied", 2);
        // A 追评 turns one of S2's 满意 into a 不满意: the tally moves.
        c.execute(
            "UPDATE ratings SET level = 'dissatisfied' WHERE id = 'r26'",
            [],
        )
        .unwrap();
        // A rating of October does not count in November.
        rating(
            &c,
            "oct",
            "区市场监督管理局",
            "S1",
            "dissatisfied",
            t - 20 * 86_400,
        );
        case(
            &c,
            "r20",
            "区市场监督管理局",
            "S1",
            t,
            Some(t + 2 * 3600),
            Some(t + 30 * 3600),
            None,
        );
        case(
            &c,
            "r21",
            "区市场监督管理局",
            "S1",
            t,
            None,
            None,
            Some("overturned"),
        );
        case(
            &c,
            "r24",
            "区人力社保局",
            "S2",
            t,
            Some(t + 10 * 3600),
            None,
            None,
        );
        case(&c, "r26", "区人力社保局", "S2", t, None, None, None);

        let p = Period::parse("2026-11").unwrap();
        let rows = |s: Stmt| serde_json::Value::Array(run(&c, &s));
        let tallies: Vec<TallyRow> =
            crate::row::of_value(rows(tallies(&p, Some("上城区市民中心")))).unwrap();
        let cases: Vec<CaseFacts> =
            crate::row::of_value(rows(cases(&p, Some("上城区市民中心")))).unwrap();
        let r = compute(
            Some("上城区市民中心"),
            &p,
            &tallies,
            &cases,
            &[],
            (20, false),
        );
        let t = &r.total;
        assert_eq!(
            (t.ratings, t.satisfied, t.satisfaction_pct),
            (25, 22, Some(88.0))
        );
        assert_eq!((t.bad, t.overturned, t.called, t.fixed), (3, 1, 2, 1));
        assert_eq!((t.callback_pct, t.fix_pct), (Some(66.7), Some(33.3)));
        assert_eq!(
            (t.median_callback_hours, t.median_fix_hours),
            (Some(6.0), Some(30.0))
        );
        assert_eq!(
            (t.callback_on_time_pct, t.fix_on_time_pct),
            (Some(50.0), Some(100.0))
        );
        let unit = |name: &str| r.groups.iter().find(|g| g.0 == name).unwrap().1.clone();
        assert_eq!(unit("区市场监督管理局").satisfaction_pct, Some(95.0));
        assert_eq!(unit("区人力社保局").satisfaction_pct, Some(60.0));
        assert_eq!(
            r.staff.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
            ["S1"]
        );
        assert_eq!(
            (r.staff[0].1.ratings, r.staff_hidden),
            (20, 1),
            "S2 (5 ratings) is not shown"
        );
        // The JSON and the CSV carry the same figures.
        let j: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(j["format"], "zsp.results");
        assert_eq!(j["total"]["satisfaction_pct"], 88.0);
        assert_eq!(j["staff"][0][0], "S1");
        let csv = r.to_csv();
        assert!(
            csv.contains("合计,上城区市民中心,25,22,88.0,3,1,2,66.7,1,33.3,6.0,30.0,50.0,100.0"),
            "{csv}"
        );
        assert!(!csv.contains("S2"));
        let html = page(&r, "hall=x&period=2026-11", &[]);
        assert!(html.contains("88.0%") && html.contains("66.7%") && !html.contains(">S2<"));
        // The city: its halls are the groups.
        let all: Vec<TallyRow> = crate::row::of_value(rows(super::tallies(&p, None))).unwrap();
        let city = compute(None, &p, &all, &cases, &[], (20, false));
        assert_eq!(city.groups.len(), 1);
        assert_eq!(city.groups[0].1, r.total);
        // Staff on the hall's page only: the city's would merge one 工号 of two regions.
        assert!(city.staff.is_empty() && city.staff_hidden == 0);
        assert!(
            page(&city, "period=2026-11", &[]).contains("各工作人员的结果在其所在大厅的页面上")
        );
    }

    #[test]
    fn periods_are_months_or_quarters() {
        let q = Period::parse("2026-Q4").unwrap();
        assert_eq!(q.months, ["2026-10", "2026-11", "2026-12"]);
        assert_eq!(q.to, Day::from_ymd(2027, 1, 1).unwrap().start_unix());
        assert_eq!(Period::parse("2026-02").unwrap().months, ["2026-02"]);
        for bad in [
            "2026",
            "2026-13",
            "2026-Q5",
            "26-01",
            "2026-1",
            "x-01",
            "02026-Q4",
            "+2026-11",
            "0002026-12",
            "2026-q4",
            "2026-Q04",
            "2026-011",
            " 2026-11",
            "２０２６-11",
            "2026-Q0",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        let pairs = vec![("period".to_owned(), "2026-Q9".to_owned())];
        assert!(params(&pairs, 0).unwrap_err().contains("2026-Q9"));
    }
}
