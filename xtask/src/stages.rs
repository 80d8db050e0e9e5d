//! Where a run's time goes: each stage of `cargo xtask test` (tool installs, builds, suites) is
//! timed, and the run ends on a table of them, so a slow cold run says which stage to work on.
//! Some stages run side by side (the tool installs beside the builds that need no tool), so each
//! row says when it started as well as how long it took.

use anyhow::Result;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

struct Row {
    name: String,
    start: Duration,
    took: Duration,
}

static STAGES: Mutex<Vec<Row>> = Mutex::new(Vec::new());
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Runs `f` as the stage `name` and records its wall time (also when it fails).
pub fn stage<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let since = start.duration_since(epoch());
    let out = f();
    if let Ok(mut s) = STAGES.lock() {
        s.push(Row {
            name: name.to_owned(),
            start: since,
            took: start.elapsed(),
        });
    }
    out
}

/// The stages so far in the order they started, each with when it started and how long it took
/// (m:ss.s), and the wall time from the first start to the last end.
pub fn table() -> String {
    let mut rows: Vec<(String, Duration, Duration)> = STAGES
        .lock()
        .map(|s| {
            s.iter()
                .map(|r| (r.name.clone(), r.start, r.took))
                .collect()
        })
        .unwrap_or_default();
    rows.sort_by_key(|r| r.1);
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let mut out = format!("  {:width$}  {:>7}  {:>7}\n", "stage", "started", "took");
    for (name, start, took) in &rows {
        out.push_str(&format!(
            "  {name:width$}  {}  {}\n",
            mmss(*start),
            mmss(*took)
        ));
    }
    let first = rows.iter().map(|r| r.1).min().unwrap_or_default();
    let last = rows.iter().map(|r| r.1 + r.2).max().unwrap_or_default();
    out.push_str(&format!(
        "  {:width$}           {}\n",
        "wall (first start to last end)",
        mmss(last - first)
    ));
    out
}

fn mmss(d: Duration) -> String {
    let s = d.as_secs_f64();
    format!("{:>2}:{:04.1}", (s / 60.0) as u64, s % 60.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn minutes_and_seconds() {
        assert_eq!(
            super::mmss(std::time::Duration::from_millis(125_250)),
            " 2:05.2"
        );
        assert_eq!(
            super::mmss(std::time::Duration::from_millis(3_000)),
            " 0:03.0"
        );
    }
}
