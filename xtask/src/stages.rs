//! Where a run's time goes: each stage of `cargo xtask test` (tool installs, builds, suites) is
//! timed, and the run ends on a table of them, so a slow cold run says which stage to work on.

use anyhow::Result;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static STAGES: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());

/// Runs `f` as the stage `name` and records its wall time (also when it fails).
pub fn stage<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let out = f();
    record(name, start.elapsed());
    out
}

/// Records a stage timed elsewhere.
pub fn record(name: &str, took: Duration) {
    if let Ok(mut s) = STAGES.lock() {
        s.push((name.to_owned(), took));
    }
}

/// The stages so far, in the order they ran, each with its time (m:ss.s), and their total.
pub fn table() -> String {
    let stages = STAGES.lock().map(|s| s.clone()).unwrap_or_default();
    let width = stages
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let mut total = Duration::ZERO;
    for (name, took) in &stages {
        total += *took;
        let pad = width - name.chars().count();
        out.push_str(&format!("  {name}{} {}\n", " ".repeat(pad), mmss(*took)));
    }
    let pad = width.saturating_sub(5);
    out.push_str(&format!("  total{} {}\n", " ".repeat(pad), mmss(total)));
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
