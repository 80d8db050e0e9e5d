//! Running commands: echo what runs, fail with the command's name and status.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

pub fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root);
    c
}

fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs to completion with inherited output; an error unless it exits 0.
pub fn run(c: &mut Command) -> Result<()> {
    let what = describe(c);
    eprintln!("$ {what}");
    let status = c
        .status()
        .with_context(|| format!("could not start `{what}`"))?;
    if !status.success() {
        bail!("`{what}` failed ({status})");
    }
    Ok(())
}

/// Runs quietly and returns stdout, or `None` if it could not start or failed.
pub fn output(c: &mut Command) -> Option<String> {
    let o = c.output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}
