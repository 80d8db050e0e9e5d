//! Running commands: echo what runs, fail with the command's name and status.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

static CLIPPY_DRIVER: OnceLock<PathBuf> = OnceLock::new();

/// From now on, every cargo this process starts (with [`lint`]'s environment)
/// compiles the workspace's crates with clippy's driver, every warning
/// an error: what `cargo clippy -- -D warnings` does, but in the builds the tests need anyway,
/// with code generation, instead of in check builds of every dependency of their own.
/// Dependencies are compiled by plain rustc as before, so their artifacts are shared.
pub fn lint_workspace() -> Result<()> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))
        .context("rustc is not on PATH")?;
    let driver = Path::new(sysroot.trim()).join("bin/clippy-driver");
    if !driver.is_file() {
        bail!(
            "{} is missing: `rustup component add clippy`",
            driver.display()
        );
    }
    let _ = CLIPPY_DRIVER.set(driver);
    Ok(())
}

/// Adds clippy's driver to `c`'s environment once [`lint_workspace`] has been called.
pub fn lint(c: &mut Command) -> &mut Command {
    if let Some(driver) = CLIPPY_DRIVER.get() {
        // cargo-clippy's own protocol: the driver as the workspace's rustc wrapper, and clippy's
        // arguments joined by this separator.
        c.env("RUSTC_WORKSPACE_WRAPPER", driver)
            .env(
                "CLIPPY_ARGS",
                "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
            )
            // A run that lints is a whole run (`cargo xtask test`): compiled from scratch, the
            // workspace's crates build faster without writing an incremental cache.
            .env("CARGO_INCREMENTAL", "0");
    }
    c
}

pub fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root);
    lint(&mut c);
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
