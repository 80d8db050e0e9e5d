//! Counts what the test runners report, so `cargo xtask test` ends on one plain line:
//! `total: N passed, M failed`.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[derive(Default)]
pub struct Tally {
    passed: u64,
    failed: u64,
    suites: Vec<(String, u64, u64, bool)>,
    /// For suites run beside others: their standard output, kept to be printed in one piece.
    log: Option<String>,
}

impl Tally {
    /// A tally whose suites' output is kept, not printed as it comes (see [`Tally::absorb`]).
    pub fn buffered() -> Tally {
        Tally {
            log: Some(String::new()),
            ..Tally::default()
        }
    }

    /// Prints what a buffered tally kept and adds up its counts.
    pub fn absorb(&mut self, other: Tally) {
        print!("{}", other.log.unwrap_or_default());
        self.passed += other.passed;
        self.failed += other.failed;
        self.suites.extend(other.suites);
    }

    /// Runs a `cargo test`-style command, passing its output through and adding up its
    /// `test result: … N passed; M failed` lines.
    pub fn cargo_test(&mut self, name: &str, cmd: &mut Command) -> Result<()> {
        self.lines(name, cmd, |line| {
            let rest = line.trim().strip_prefix("test result: ")?;
            let num = |word: &str| -> Option<u64> {
                rest.split([';', '.'])
                    .map(str::trim)
                    .find_map(|p| p.strip_suffix(word)?.trim().parse().ok())
            };
            Some((num("passed")?, num("failed")?))
        })
    }

    fn lines(
        &mut self,
        name: &str,
        cmd: &mut Command,
        parse: impl Fn(&str) -> Option<(u64, u64)>,
    ) -> Result<()> {
        eprintln!("== {name}");
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start {name}"))?;
        let (mut p, mut f) = (0, 0);
        for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
            let line = line?;
            match &mut self.log {
                Some(log) => {
                    log.push_str(&line);
                    log.push('\n');
                }
                None => println!("{line}"),
            }
            if let Some((a, b)) = parse(&line) {
                p += a;
                f += b;
            }
        }
        let ok = child.wait()?.success();
        self.passed += p;
        self.failed += f;
        self.suites.push((name.to_string(), p, f, ok));
        if !ok {
            print!("{}", self.log.take().unwrap_or_default());
            self.summary();
            bail!("{name} failed");
        }
        Ok(())
    }

    fn summary(&self) {
        println!();
        for (name, p, f, ok) in &self.suites {
            let mark = if *ok { "ok  " } else { "FAIL" };
            println!("  {mark} {name}: {p} passed, {f} failed");
        }
        println!("total: {} passed, {} failed", self.passed, self.failed);
    }

    pub fn finish(self) -> Result<()> {
        self.summary();
        if self.failed > 0 {
            bail!("{} tests failed", self.failed);
        }
        if self.passed == 0 {
            bail!("no test ran");
        }
        Ok(())
    }
}
