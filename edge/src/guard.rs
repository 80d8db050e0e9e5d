//! Abuse resistance that never turns a citizen away: the signals that hold a rating for review
//! (疑似刷评), the proof of work that rises on an attacked code, the network address as a
//! day's keyed digest, and the codes' validity periods. Plain Rust, tested natively; the signals
//! are evaluated inside the submission's transaction (`store::accept`), over counters the same
//! transaction keeps.
//!
//! A held rating is stored and answered like any other, so its sender learns nothing. It is not
//! counted (tallies, console figures), alerted or forwarded until an administrator releases it.

use crate::config::{ConfigError, Setting, err};
use sha2::{Digest, Sha256};
use wire::calendar::OfficeHours;
use wire::challenge::MAX_DIFFICULTY;
use wire::time::Day;

/// "More than `count` within `minutes`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub minutes: u32,
}

impl Rate {
    /// `N/M`: more than N in M minutes.
    pub fn parse(v: &str) -> Result<Rate, String> {
        let (n, m) = v
            .split_once('/')
            .ok_or_else(|| format!("{v}: expected N/M, more than N ratings in M minutes"))?;
        let count = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| format!("{v}: N must be 1 to 10000"))?;
        let minutes = m
            .trim()
            .parse()
            .ok()
            .filter(|m| (1..=1440).contains(m))
            .ok_or_else(|| format!("{v}: M must be 1 to 1440 minutes"))?;
        Ok(Rate { count, minutes })
    }

    fn parse_list(v: &str) -> Result<Vec<Rate>, String> {
        v.split_whitespace().map(Rate::parse).collect()
    }
}

/// How long the codes of a region prefix stay valid after printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    /// Empty: every region without a longer match.
    pub prefix: String,
    pub days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// More ratings on one code than one window can serve: any of these holds.
    pub code_rates: Vec<Rate>,
    /// Ratings from one network address on one code.
    pub address_rate: Option<Rate>,
    /// Ratings outside these hours (CST) are held. None: off.
    pub hours: Option<OfficeHours>,
    /// Proof of work rises on a code past this rate, two bits each time the rate doubles.
    pub pow_rise: Rate,
    /// And no higher than this.
    pub pow_max: u8,
    /// Validity periods of printed codes by authority (region prefix). Empty: no expiry.
    pub validity: Vec<Validity>,
    /// Held ratings kept per code and day for review; past it a held submission is counted, not
    /// stored (`HELD_KEEP`).
    pub held_keep: u32,
    /// Held ratings nobody decided are rejected after this many days (`HELD_DAYS`), then pruned
    /// with the retention.
    pub held_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            code_rates: vec![
                Rate {
                    count: 2,
                    minutes: 2,
                },
                Rate {
                    count: 10,
                    minutes: 30,
                },
            ],
            address_rate: Some(Rate {
                count: 4,
                minutes: 10,
            }),
            hours: None,
            pow_rise: Rate {
                count: 6,
                minutes: 10,
            },
            pow_max: 20,
            validity: vec![],
            held_keep: 200,
            held_days: 14,
        }
    }
}

/// Posts through the plain form, per device and code, in one `store::FORM_SLOT_SECS`: past it a
/// post is held (a citizen amends a rating once or twice; a script posts on).
pub const FORM_PER_DEVICE: u32 = 6;

/// `365 330105:180`: days, for every region or a region prefix.
fn parse_validity(v: &str) -> Result<Vec<Validity>, String> {
    v.split_whitespace()
        .map(|item| {
            let (prefix, days) = item.split_once(':').unwrap_or(("", item));
            if !prefix.is_empty()
                && (!(2..=12).contains(&prefix.len())
                    || !prefix.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(format!("{item}: {prefix:?} is not a region-code prefix"));
            }
            let days = days
                .parse()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| format!("{item}: days must be 1 to 3650"))?;
            Ok(Validity {
                prefix: prefix.into(),
                days,
            })
        })
        .collect()
}

/// The guard's settings, as [`settings`] reads them.
pub const SETTINGS: &[Setting] = &[
    Setting::new(
        "HOLD_RATE",
        "2/2 10/30",
        "more ratings on one code than a window serves, N in M minutes (any of them): held for review; off",
    ),
    Setting::new(
        "HOLD_ADDRESS",
        "4/10",
        "more ratings from one network address on one code, N in M minutes: held for review; off",
    ),
    Setting::new(
        "RATING_HOURS",
        "",
        "ratings outside these hours (CST, HH:MM-HH:MM) are held for review; unset: off",
    ),
    Setting::new(
        "POW_RISE",
        "6/10",
        "past N ratings in M minutes on one code its proof of work rises, two bits per doubling",
    ),
    Setting::new(
        "POW_MAX",
        "20",
        "the highest proof of work a rising code asks",
    ),
    Setting::new(
        "HELD_KEEP",
        "200",
        "held ratings kept per code and day for review; past it a held post is only counted (bounds storage under a flood)",
    ),
    Setting::new(
        "HELD_DAYS",
        "14",
        "held ratings nobody released or rejected are rejected after this many days",
    ),
    Setting::new(
        "CODE_VALID_DAYS",
        "",
        "days a printed code stays valid, e.g. 365 or 365 330105:180 per authority; unset: no expiry",
    ),
];

/// Reads the guard's settings ([`SETTINGS`]).
pub fn settings(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let get_raw = get;
    let get = |n: &str| crate::config::value(get, n);
    let d = Settings::default();
    let off = |v: &str| v.eq_ignore_ascii_case("off");
    let code_rates = match get("HOLD_RATE") {
        None => d.code_rates,
        Some(v) if off(&v) => vec![],
        Some(v) => Rate::parse_list(&v).map_err(|why| err("HOLD_RATE", why))?,
    };
    let address_rate = match get("HOLD_ADDRESS") {
        None => d.address_rate,
        Some(v) if off(&v) => None,
        Some(v) => Some(Rate::parse(&v).map_err(|why| err("HOLD_ADDRESS", why))?),
    };
    let hours = match get("RATING_HOURS") {
        None => None,
        Some(v) => Some(OfficeHours::parse(&v).ok_or_else(|| {
            err(
                "RATING_HOURS",
                "expected HH:MM-HH:MM (CST), opening before closing",
            )
        })?),
    };
    let pow_rise = match get("POW_RISE") {
        None => d.pow_rise,
        Some(v) => Rate::parse(&v).map_err(|why| err("POW_RISE", why))?,
    };
    let pow_max = match get("POW_MAX") {
        None => d.pow_max,
        Some(v) => v
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= MAX_DIFFICULTY)
            .ok_or_else(|| {
                err(
                    "POW_MAX",
                    format!("must be a whole number up to {MAX_DIFFICULTY}"),
                )
            })?,
    };
    let validity = match get("CODE_VALID_DAYS") {
        None => vec![],
        Some(v) => parse_validity(&v).map_err(|why| err("CODE_VALID_DAYS", why))?,
    };
    Ok(Settings {
        code_rates,
        address_rate,
        hours,
        pow_rise,
        pow_max,
        validity,
        held_keep: crate::config::number(&get_raw, "HELD_KEEP", d.held_keep, 1, 100_000)?,
        held_days: crate::config::number(&get_raw, "HELD_DAYS", d.held_days, 1, 365)?,
    })
}

impl Settings {
    /// The proof of work a code's new challenges carry, given its ratings in the last
    /// `pow_rise.minutes`: the base until the rate passes `pow_rise.count`, then two more bits
    /// each time it doubles, up to `pow_max` (never below the base).
    pub fn difficulty(&self, base: u8, recent: u32) -> u8 {
        let t = self.pow_rise.count.max(1);
        if recent <= t {
            return base;
        }
        // Doublings past the threshold, rounded up: 1 just past it.
        let mut doublings = 0u32;
        let mut level = t;
        while level < recent && doublings < 16 {
            level = level.saturating_mul(2);
            doublings += 1;
        }
        let raised = u32::from(base) + 2 * doublings;
        raised.min(u32::from(self.pow_max.max(base))) as u8
    }

    /// Whether a rating at `now` falls outside the rating hours.
    pub fn outside_hours(&self, now: i64) -> bool {
        self.hours.is_some_and(|h| {
            let minute = ((now + wire::time::CST_OFFSET).rem_euclid(86_400) / 60) as u32;
            minute < h.open || minute >= h.close
        })
    }

    /// How many days a code of `region` stays valid after printing, if its authority set it.
    pub fn valid_days(&self, region: &str) -> Option<u32> {
        self.validity
            .iter()
            .filter(|v| region.starts_with(v.prefix.as_str()))
            .max_by_key(|v| v.prefix.len())
            .map(|v| v.days)
    }

    /// Whether a code printed on `issued` is past its validity on `today`.
    pub fn expired(&self, region: &str, issued: Day, today: Day) -> bool {
        self.valid_days(region)
            .is_some_and(|d| u32::from(today.0) > u32::from(issued.0) + d)
    }
}

/// The network address as the submission's counters keep it: a digest under a key that is
/// derived per day from the edge's own secret and never stored or logged, so the same address
/// gives the same digest for one day only, and the raw address is never kept. The rows that
/// hold it leave after a day.
pub fn address_digest(secret: &[u8], day: Day, address: &str) -> String {
    let day_key = Sha256::new()
        .chain_update(b"zsp-address-day-v1")
        .chain_update(secret)
        .chain_update(day.0.to_be_bytes())
        .finalize();
    let h = Sha256::new()
        .chain_update(day_key)
        .chain_update(address.trim().as_bytes())
        .finalize();
    wire::key::hex(&h[..12])
}

/// A client as the console's login rules keep it (budgets, locks, the clients an account knows
/// for 90 days, the audit): a digest of its address under the deployment's key, stable while the
/// key is and never the address itself.
pub fn login_client(secret: &[u8], address: &str) -> String {
    let h = Sha256::new()
        .chain_update(b"zsp-login-client-v1")
        .chain_update(secret)
        .chain_update(address.trim().as_bytes())
        .finalize();
    wire::key::hex(&h[..8])
}

/// [`client_key`] under the deployment's settings: what every per-client budget and signal
/// names a request's client by.
pub fn client_of(
    cfg: &crate::config::Config,
    req: &crate::http::Request,
    now: i64,
) -> Option<String> {
    client_key(
        &cfg.challenge_keys.current().secret,
        cfg.client_ip_header.as_deref(),
        req,
        now,
    )
}

/// The client as the counters know it: its address as the trusted proxy names it (`header`,
/// `CLIENT_IP_HEADER`), as the day's digest ([`address_digest`]); none without the header.
pub fn client_key(
    secret: &[u8],
    header: Option<&str>,
    req: &crate::http::Request,
    now: i64,
) -> Option<String> {
    let a = crate::http::client_address(req, header)?;
    Some(address_digest(secret, Day::from_unix(now)?, &a))
}

/// Every signal's name, as the `signals` column keeps them.
pub const SIGNALS: &[&str] = &[
    "rate", "address", "hours", "form", "busy", "unarmed", "selftest",
];

/// The signal of the operator's test rating (`zsp selftest`): stored rejected at once, counted
/// nowhere, never forwarded or alerted, and gone at the first prune an hour after.
pub const SELFTEST: &str = "selftest";

/// The names of signals, as the `signals` column keeps them and the review queue shows them.
pub fn signal_label(name: &str) -> &'static str {
    match name {
        "rate" => "同一二维码评价过密",
        "address" => "同一网络地址多次评价",
        "hours" => "非办公时间评价",
        "form" => "无脚本表单提交过多",
        "busy" => "二维码评价密集时的无脚本提交",
        "unarmed" => "评价平板未经工作人员发起",
        "selftest" => "运维自检（zsp selftest）的测试评价：不计入统计，不转发，一小时后清除",
        _ => "其他",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        settings(&|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_settings() {
        let d = with(&[]).unwrap();
        assert_eq!(d, Settings::default());
        let s = with(&[
            ("HOLD_RATE", "3/5 20/60"),
            ("HOLD_ADDRESS", "off"),
            ("RATING_HOURS", "07:00-20:00"),
            ("POW_RISE", "10/5"),
            ("POW_MAX", "18"),
            ("CODE_VALID_DAYS", "365 330105:180"),
        ])
        .unwrap();
        assert_eq!(s.code_rates.len(), 2);
        assert_eq!(
            s.code_rates[1],
            Rate {
                count: 20,
                minutes: 60
            }
        );
        assert_eq!(s.address_rate, None);
        assert_eq!(s.valid_days("330105001"), Some(180));
        assert_eq!(s.valid_days("330102001"), Some(365));
        assert_eq!(with(&[("HOLD_RATE", "off")]).unwrap().code_rates, vec![]);
    }

    #[test]
    fn bad_settings_say_which_and_why() {
        for (k, v, why) in [
            ("HOLD_RATE", "3", "expected N/M"),
            ("HOLD_RATE", "0/5", "N must be"),
            ("HOLD_RATE", "3/0", "M must be"),
            ("HOLD_ADDRESS", "x/y", "N must be"),
            ("RATING_HOURS", "20:00-07:00", "opening before closing"),
            ("POW_RISE", "5", "expected N/M"),
            ("POW_MAX", "30", "up to 24"),
            ("CODE_VALID_DAYS", "0", "days must be"),
            ("CODE_VALID_DAYS", "33x:10", "not a region-code prefix"),
        ] {
            let e = with(&[(k, v)]).unwrap_err();
            assert_eq!(e.var, k);
            assert!(e.why.contains(why), "{k}={v}: {}", e.why);
        }
    }

    #[test]
    fn difficulty_rises_with_the_rate_and_falls_back() {
        let s = Settings::default();
        // An unattacked code pays the base, whatever it is.
        for recent in 0..=6 {
            assert_eq!(s.difficulty(13, recent), 13);
        }
        assert_eq!(s.difficulty(13, 7), 15);
        assert_eq!(s.difficulty(13, 12), 15);
        assert_eq!(s.difficulty(13, 13), 17);
        assert_eq!(s.difficulty(13, 24), 17);
        assert_eq!(s.difficulty(13, 25), 19);
        assert_eq!(s.difficulty(13, 1000), 20, "capped");
        assert_eq!(s.difficulty(22, 1000), 22, "never below the base");
        // When the window slides past the burst, the count and the difficulty fall back.
        assert_eq!(s.difficulty(13, 3), 13);
    }

    #[test]
    fn rating_hours_are_cst() {
        let s = with(&[("RATING_HOURS", "07:00-20:00")]).unwrap();
        // 2026-11-27 00:00 CST is 2026-11-26 16:00 UTC.
        let midnight = Day::from_ymd(2026, 11, 27).unwrap().start_unix();
        assert!(s.outside_hours(midnight + 6 * 3600 + 59 * 60));
        assert!(!s.outside_hours(midnight + 7 * 3600));
        assert!(!s.outside_hours(midnight + 19 * 3600 + 59 * 60));
        assert!(s.outside_hours(midnight + 20 * 3600));
        assert!(!Settings::default().outside_hours(midnight + 3 * 3600));
    }

    #[test]
    fn codes_expire_after_their_authoritys_period() {
        let s = with(&[("CODE_VALID_DAYS", "330105:30")]).unwrap();
        let printed = Day::from_ymd(2026, 10, 1).unwrap();
        let day = |d| Day(printed.0 + d);
        assert!(!s.expired("330105001", printed, day(30)));
        assert!(s.expired("330105001", printed, day(31)));
        assert!(
            !s.expired("330102001", printed, day(3000)),
            "another authority"
        );
    }

    #[test]
    fn the_address_digest_changes_daily_and_never_shows_the_address() {
        let d = Day::from_ymd(2026, 11, 27).unwrap();
        let a = address_digest(b"secret", d, "203.0.113.7");
        assert_eq!(a, address_digest(b"secret", d, " 203.0.113.7 "));
        assert_ne!(a, address_digest(b"secret", Day(d.0 + 1), "203.0.113.7"));
        assert_ne!(a, address_digest(b"other", d, "203.0.113.7"));
        assert!(!a.contains("203"));
    }
}

/// The signals as the storage object runs them: `store::accept`'s statements against SQLite
/// with every migration, over simulated time (workerd's clock cannot be moved; these can).
#[cfg(test)]
mod storage {
    use crate::access::{Actor, Role, Scope};
    use crate::config::tests::{parse, vars};
    use crate::console::sql::tests::{db, run};
    use crate::sql::Stmt;
    use crate::store;
    use crate::submit::{Checked, Via};
    use rusqlite::Connection;
    use wire::directory::Entry;
    use wire::qr::QrPayload;
    use wire::rating::{Id128, Level, ValidRating};
    use wire::time::Day;

    /// Monday 2 March 2026, 09:00 CST.
    const T0: i64 = 1_772_413_200;

    struct Hall {
        c: Connection,
        cfg: crate::config::Config,
        rules: store::Rules,
        entry: Entry,
        n: u32,
    }

    impl Hall {
        fn new(extra: &[(&'static str, &str)]) -> Hall {
            let mut v = vars();
            for (k, x) in extra {
                v.insert(k, x.to_string());
            }
            let c = db();
            let entry = Entry::example("A01", Some("SC1"));
            for s in store::replace_directory(std::slice::from_ref(&entry)) {
                run(&c, &s);
            }
            // One receiver taking every rating: what it is owed is what the alarm forwards.
            run(
                &c,
                &crate::sql::stmt(
                    "UPDATE receivers SET active = 1 WHERE name = 'upstream'",
                    vec![],
                ),
            );
            Hall {
                c,
                cfg: parse(&v).unwrap(),
                rules: store::Rules::new(super::settings(&|n| v.get(n).cloned()).unwrap()),
                entry,
                n: 0,
            }
        }

        /// One accepted submission; `device` and `address` as the edge named them.
        fn rate(&mut self, device: u8, address: Option<&str>, level: Level, via: Via, at: i64) {
            self.rate_as(Id128([device; 16]), address, level, via, at)
        }

        /// [`Hall::rate`] with any device id (a new device for each post of a cookieless flood).
        fn rate_as(
            &mut self,
            device: Id128,
            address: Option<&str>,
            level: Level,
            via: Via,
            at: i64,
        ) {
            self.n += 1;
            let nonce = u64::from(self.n).to_be_bytes();
            let mut submission = [0u8; 16];
            submission[..4].copy_from_slice(&self.n.to_be_bytes());
            let c = Checked {
                payload: QrPayload {
                    kid: 1,
                    issued: Day::from_unix(T0).unwrap(),
                    code: self.entry.code,
                },
                nonce,
                nonce_until: at - 10 + self.cfg.policy.max_age_secs as i64,
                submission: Id128(submission),
                device,
                address: address
                    .map(|a| super::address_digest(b"k", Day::from_unix(at).unwrap(), a)),
                project_no: None,
                flag: None,
                link_rater: None,
                rating: ValidRating {
                    level,
                    tags: vec![],
                    tag_version: 1,
                    matter: None,
                    comment: String::new(),
                    phone: None,
                },
                via,
                now: at,
                day: Day::from_unix(at).unwrap(),
                entry: self.entry.clone(),
            };
            let token = format!("TOKEN{:07}", self.n);
            let (stmts, _) =
                store::accept(&c, &self.rules, level.is_bad().then_some(token.as_str()));
            self.batch(&stmts);
        }

        fn batch(&self, stmts: &[Stmt]) -> Vec<serde_json::Value> {
            self.c.execute_batch("BEGIN").unwrap();
            let mut last = vec![];
            for s in stmts {
                last = run(&self.c, s);
            }
            self.c.execute_batch("COMMIT").unwrap();
            last
        }

        fn count(&self, sql: &str) -> i64 {
            self.c.query_row(sql, [], |r| r.get(0)).unwrap()
        }

        /// Ratings that count, in the tallies the public results read.
        fn tallied(&self) -> i64 {
            self.count("SELECT COALESCE(SUM(n), 0) FROM tallies")
        }

        fn held(&self) -> i64 {
            self.count("SELECT COUNT(*) FROM ratings WHERE hold = 1")
        }

        /// What the alarm would forward now.
        fn due(&self, now: i64) -> usize {
            let claim = crate::outbox::claim("upstream", now, now + 600, 1000);
            let n = run(&self.c, &claim[0]).len();
            run(&self.c, &claim[1]);
            n
        }
    }

    #[test]
    fn one_client_with_its_cookie_counts_once_and_without_it_at_most_twice() {
        // Keeping its cookie: the same device, one rating per code per day, amended.
        let mut h = Hall::new(&[]);
        for i in 0..20 {
            h.rate(
                1,
                Some("198.51.100.9"),
                Level::VeryDissatisfied,
                Via::App,
                T0 + i * 3,
            );
        }
        assert_eq!(h.count("SELECT COUNT(*) FROM ratings"), 1);
        assert!(h.tallied() <= 1, "counted {}", h.tallied());

        // Without cookies: a new device each time.
        let mut h = Hall::new(&[]);
        for i in 0..20u8 {
            h.rate(
                i + 1,
                Some("198.51.100.9"),
                Level::VeryDissatisfied,
                Via::App,
                T0 + i64::from(i) * 3,
            );
        }
        assert_eq!(
            h.count("SELECT COUNT(*) FROM ratings"),
            20,
            "kept, never dropped"
        );
        assert!(h.tallied() <= 2, "counted {}", h.tallied());
        assert_eq!(h.held(), 18);
        assert_eq!(h.due(T0 + 100), 2, "only what counts is forwarded");
        assert_eq!(
            h.count("SELECT COUNT(*) FROM cases"),
            2,
            "only what counts opens a case (and alerts)"
        );
        // Each held 差评's status link still answers (received), like any other.
        assert_eq!(h.count("SELECT COUNT(*) FROM receipts"), 20);
    }

    #[test]
    fn a_busy_window_behind_one_nat_is_all_counted() {
        let mut h = Hall::new(&[]);
        // 30 phones over two hours, one every four minutes, all on the hall's Wi-Fi.
        for i in 0..30u8 {
            h.rate(
                i + 1,
                Some("203.0.113.50"),
                Level::Satisfied,
                Via::App,
                T0 + i64::from(i) * 240,
            );
        }
        assert_eq!(h.held(), 0);
        assert_eq!(h.tallied(), 30);
    }

    #[test]
    fn one_address_over_its_rate_is_held_and_ratings_outside_hours_are_held() {
        let mut h = Hall::new(&[("HOLD_RATE", "off"), ("RATING_HOURS", "08:00-18:00")]);
        for i in 0..6u8 {
            h.rate(
                i + 1,
                Some("203.0.113.50"),
                Level::Satisfied,
                Via::App,
                T0 + i64::from(i) * 60,
            );
        }
        // A different address at the same time is not held for the first one's count.
        h.rate(50, Some("192.0.2.1"), Level::Satisfied, Via::App, T0 + 330);
        assert_eq!(
            h.held(),
            2,
            "the 5th and 6th from one address in 10 minutes"
        );
        assert_eq!(
            h.count("SELECT COUNT(*) FROM ratings WHERE signals = 'address'"),
            2
        );
        h.rate(60, None, Level::Satisfied, Via::App, T0 + 10 * 3600);
        assert_eq!(
            h.count("SELECT COUNT(*) FROM ratings WHERE signals = 'hours'"),
            1,
            "19:00 CST"
        );
        assert_eq!(
            h.count("SELECT COUNT(*) FROM addresses WHERE net LIKE '%203%'"),
            0
        );
    }

    #[test]
    fn the_form_budget_is_per_device_and_holds_instead_of_refusing() {
        let mut h = Hall::new(&[("HOLD_RATE", "off")]);
        // An attacker's device posts 8 times: the 7th and 8th are held, none refused.
        for i in 0..8 {
            h.rate(9, None, Level::VeryDissatisfied, Via::Form, T0 + i * 5);
        }
        // A genuine no-JavaScript citizen on the same code at the same time is counted.
        h.rate(1, None, Level::Satisfied, Via::Form, T0 + 50);
        let r: Vec<(i64, String)> =
            h.c.prepare("SELECT hold, signals FROM ratings ORDER BY rated_at")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        assert_eq!(r, vec![(1, "form".to_owned()), (0, String::new())]);
    }

    #[test]
    fn releasing_and_rejecting_move_counts_forwarding_and_cases() {
        let mut h = Hall::new(&[]);
        for i in 0..4u8 {
            h.rate(
                i + 1,
                None,
                Level::VeryDissatisfied,
                Via::App,
                T0 + i64::from(i) * 5,
            );
        }
        assert_eq!((h.tallied(), h.held()), (2, 2));
        let held: Vec<String> =
            h.c.prepare("SELECT id FROM ratings WHERE hold = 1 ORDER BY rated_at")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let admin = Actor {
            name: "大厅管理员".into(),
            role: Role::Hall,
            scope: Scope::hall(&h.entry.region, &h.entry.hall),
        };
        let elsewhere = Actor {
            scope: Scope::hall("330102", "别的大厅"),
            ..admin.clone()
        };
        let now = T0 + 3600;
        // Out of scope: nothing changes, nothing is audited.
        assert!(
            h.batch(&crate::console::sql::review(
                &elsewhere, &held[0], true, now
            ))
            .is_empty()
        );
        assert_eq!(h.count("SELECT COUNT(*) FROM reviews"), 0);
        assert_eq!(h.count("SELECT COUNT(*) FROM audit"), 0);
        // Released: counted, due upstream, a case opened now (its clock starts when it counts).
        assert_eq!(
            h.batch(&crate::console::sql::review(&admin, &held[0], true, now))
                .len(),
            1
        );
        assert_eq!(h.tallied(), 3);
        assert_eq!(h.due(now), 3);
        assert_eq!(
            h.count(&format!(
                "SELECT opened_at FROM cases WHERE rating = '{}'",
                held[0]
            )),
            now
        );
        // Rejected: kept, never counted or forwarded; decided once.
        assert_eq!(
            h.batch(&crate::console::sql::review(&admin, &held[1], false, now))
                .len(),
            1
        );
        assert!(
            h.batch(&crate::console::sql::review(
                &admin,
                &held[1],
                true,
                now + 1
            ))
            .is_empty()
        );
        assert_eq!(h.tallied(), 3);
        assert_eq!(
            h.due(now + 100),
            0,
            "the three claimed above are leased; nothing else is due"
        );
        assert_eq!(h.count("SELECT hold FROM ratings WHERE hold = 2"), 2);
        assert_eq!(
            h.count(
                "SELECT COUNT(*) FROM audit WHERE action IN ('rating.release', 'rating.reject')"
            ),
            2
        );
        // Retention: a rejected rating goes after the retention period.
        for s in store::prune(T0 + 31 * 86_400, h.cfg.retention_days, 14, true) {
            run(&h.c, &s);
        }
        assert_eq!(h.count("SELECT COUNT(*) FROM ratings WHERE hold = 2"), 0);
    }

    #[test]
    fn with_forwarding_off_ratings_leave_after_the_retention_and_closed_cases_their_words() {
        let mut h = Hall::new(&[("HOLD_RATE", "off")]);
        h.rate(1, None, Level::Satisfied, Via::App, T0);
        h.rate(2, None, Level::Dissatisfied, Via::App, T0 + 300);
        h.rate(3, None, Level::VeryDissatisfied, Via::App, T0 + 600);
        assert_eq!(h.held(), 0);
        assert_eq!(h.count("SELECT COUNT(*) FROM cases"), 2);
        h.c.execute_batch(&format!(
            "UPDATE cases SET comment = '等了两个小时', state = 'closed', closed_at = {} \
             WHERE rating = (SELECT id FROM ratings WHERE level = 'dissatisfied')",
            T0 + 900
        ))
        .unwrap();
        let tallied = h.tallied();
        let prune = |h: &Hall, days: i64| {
            h.batch(&store::prune(
                T0 + days * 86_400,
                h.cfg.retention_days,
                14,
                false,
            ));
        };
        prune(&h, 29);
        assert_eq!(
            h.count("SELECT COUNT(*) FROM ratings"),
            3,
            "within the retention"
        );
        prune(&h, 31);
        // The good one and the closed case's go; the open case keeps its rating.
        assert_eq!(h.count("SELECT COUNT(*) FROM ratings"), 1);
        assert_eq!(
            h.count("SELECT COUNT(*) FROM ratings WHERE level = 'very_dissatisfied'"),
            1
        );
        assert_eq!(h.count("SELECT COUNT(*) FROM cases"), 2, "the cases stay");
        assert_eq!(
            h.count("SELECT COUNT(*) FROM cases WHERE comment != '' AND closed_at IS NOT NULL"),
            0
        );
        assert_eq!(h.tallied(), tallied, "the public figures are unchanged");
    }

    #[test]
    fn held_ratings_nobody_decides_are_rejected_after_held_days_then_pruned() {
        let mut h = Hall::new(&[("HELD_DAYS", "14")]);
        for i in 0..5u8 {
            h.rate(i + 1, None, Level::Satisfied, Via::App, T0 + i64::from(i));
        }
        assert_eq!(h.held(), 3);
        let prune = |h: &Hall, days: i64| {
            h.batch(&store::prune(
                T0 + days * 86_400,
                h.cfg.retention_days,
                h.rules.guard.held_days,
                true,
            ));
        };
        prune(&h, 13);
        assert_eq!(h.held(), 3, "still waiting for a decision");
        assert_eq!(h.count("SELECT COUNT(*) FROM audit"), 0);
        prune(&h, 15);
        assert_eq!(h.held(), 0);
        assert_eq!(h.count("SELECT COUNT(*) FROM ratings WHERE hold = 2"), 3);
        assert_eq!(
            h.count("SELECT COUNT(*) FROM reviews WHERE decision = 'reject' AND by_actor = '（逾期未处理）'"),
            3
        );
        let detail: String =
            h.c.query_row(
                "SELECT detail FROM audit WHERE action = 'rating.reject.expired'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            detail,
            "3 held ratings nobody decided within 14 days rejected"
        );
        assert_eq!(
            h.due(T0 + 15 * 86_400),
            2,
            "the two that counted: a rejected rating is never forwarded"
        );
        // Pruned with the retention, like any rejected rating.
        prune(&h, 31);
        assert_eq!(h.count("SELECT COUNT(*) FROM ratings WHERE hold = 2"), 0);
        assert_eq!(
            h.count("SELECT COUNT(*) FROM audit"),
            1,
            "one entry, not one each"
        );
    }

    /// The difficulty the code's landing page asks at `now`, from its recent counted ratings.
    fn difficulty(h: &Hall, now: i64) -> u8 {
        let rows: Vec<store::LookupRow> = crate::console::sql::tests::typed(
            &h.c,
            &store::lookup(h.entry.code, now, h.rules.guard.pow_rise.minutes),
        );
        h.rules
            .guard
            .difficulty(13, store::read_lookup(rows).unwrap().recent)
    }

    #[test]
    fn a_flood_from_one_address_is_held_on_its_own() {
        let mut h = Hall::new(&[]);
        let attacker = Some("198.51.100.66");
        // Twelve cookieless form posts and twenty solved JSON posts, from one address, in a
        // minute and a half.
        for i in 0..12u8 {
            h.rate(
                100 + i,
                attacker,
                Level::VeryDissatisfied,
                Via::Form,
                T0 + i64::from(i) * 3,
            );
        }
        for i in 0..20u8 {
            h.rate(
                150 + i,
                attacker,
                Level::VeryDissatisfied,
                Via::App,
                T0 + 40 + i64::from(i) * 3,
            );
        }
        let counted = h.count("SELECT COUNT(*) FROM ratings WHERE hold = 0");
        assert!(counted <= 2, "{counted} of the attacker's counted");
        assert_eq!(h.held(), 32 - counted);
        // Citizens from other addresses right after: counted, and the next one too; and another
        // from the second one's hall network four minutes on.
        let at = T0 + 110;
        h.rate(1, Some("203.0.113.10"), Level::Satisfied, Via::App, at);
        h.rate(2, Some("203.0.113.20"), Level::Satisfied, Via::App, at + 20);
        h.rate(
            3,
            Some("203.0.113.20"),
            Level::Satisfied,
            Via::App,
            at + 260,
        );
        assert_eq!(
            h.count("SELECT COUNT(*) FROM ratings WHERE hold = 0 AND device IN (SELECT device FROM ratings ORDER BY rated_at DESC LIMIT 3)"),
            3,
            "the citizens are counted"
        );
        // The work the app asks has not risen: the flood was held, and form posts never count.
        assert_eq!(difficulty(&h, at + 270), 13);
    }

    #[test]
    fn without_an_address_a_busy_code_holds_every_newcomer() {
        // No CLIENT_IP_HEADER: no client can be told from another, so the code's own rate holds.
        let mut h = Hall::new(&[]);
        for i in 0..10u8 {
            h.rate(
                i + 1,
                None,
                Level::Satisfied,
                Via::App,
                T0 + i64::from(i) * 5,
            );
        }
        assert_eq!(h.tallied(), 2);
        assert_eq!(h.held(), 8);
    }

    #[test]
    fn form_posts_while_a_code_is_busy_are_held_and_never_raise_the_apps_work() {
        let mut h = Hall::new(&[("POW_RISE", "1/10")]);
        // Two app citizens make the code busy (2 in 2 minutes)…
        h.rate(1, Some("203.0.113.1"), Level::Satisfied, Via::App, T0);
        h.rate(2, Some("203.0.113.2"), Level::Satisfied, Via::App, T0 + 10);
        // …then plain-form posts from new addresses are held, as a third app citizen is not.
        h.rate(3, Some("203.0.113.3"), Level::Satisfied, Via::Form, T0 + 20);
        h.rate(4, Some("203.0.113.4"), Level::Satisfied, Via::App, T0 + 30);
        let signals: Vec<String> =
            h.c.prepare("SELECT signals FROM ratings ORDER BY rated_at")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        assert_eq!(signals, ["", "", "busy", ""]);
        // A quiet code takes form posts, and they do not count towards the app's work.
        let mut q = Hall::new(&[("POW_RISE", "1/10")]);
        q.rate(5, Some("203.0.113.5"), Level::Satisfied, Via::Form, T0);
        q.rate(
            6,
            Some("203.0.113.6"),
            Level::Satisfied,
            Via::Form,
            T0 + 200,
        );
        assert_eq!(q.tallied(), 2);
        assert_eq!(difficulty(&q, T0 + 210), 13);
    }

    #[test]
    fn a_flood_of_100_000_posts_grows_storage_by_a_bounded_amount() {
        let mut h = Hall::new(&[]);
        let size = |h: &Hall| {
            h.count("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        };
        let before = size(&h);
        let n: u32 = std::env::var("ZSP_FLOOD_POSTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let started = std::time::Instant::now();
        for i in 0..n {
            // A fresh device each time (no cookie), one address, ten a second.
            let mut device = [7u8; 16];
            device[..4].copy_from_slice(&i.to_be_bytes());
            h.rate_as(
                Id128(device),
                Some("198.51.100.66"),
                Level::VeryDissatisfied,
                Via::App,
                T0 + i64::from(i / 10),
            );
        }
        let grown = size(&h) - before;
        let kept = h.count("SELECT COUNT(*) FROM ratings");
        let overflow = h.count("SELECT COALESCE(SUM(n), 0) FROM held_overflow");
        println!(
            "{n} posts on one code in {:.1} s: storage grew {:.1} MB; {kept} ratings kept, {overflow} held past the keep counted",
            started.elapsed().as_secs_f64(),
            grown as f64 / 1e6
        );
        assert!(
            kept <= 2 + 200,
            "{kept}: at most HELD_KEEP held besides what counted"
        );
        assert_eq!(
            kept + overflow,
            i64::from(n),
            "every post stored or counted"
        );
        assert!(grown < 16_000_000, "{grown} bytes");
    }

    #[test]
    fn the_landing_counts_a_codes_recent_ratings_for_its_difficulty() {
        let mut h = Hall::new(&[("HOLD_RATE", "off")]);
        let recent = |h: &Hall, now: i64, code| {
            let rows: Vec<store::LookupRow> =
                crate::console::sql::tests::typed(&h.c, &store::lookup(code, now, 10));
            store::read_lookup(rows).unwrap().recent
        };
        for i in 0..20u8 {
            h.rate(
                i + 1,
                None,
                Level::VeryDissatisfied,
                Via::App,
                T0 + i64::from(i),
            );
        }
        let neighbour = Entry::example("A02", Some("SC2")).code;
        let g = &h.rules.guard;
        let attacked = recent(&h, T0 + 60, h.entry.code);
        assert_eq!(attacked, 20);
        assert!(g.difficulty(13, attacked) > 13);
        assert_eq!(g.difficulty(13, recent(&h, T0 + 60, neighbour)), 13);
        // Ten minutes later the window has slid past the burst: back to the base.
        assert_eq!(g.difficulty(13, recent(&h, T0 + 11 * 60, h.entry.code)), 13);
    }
}
