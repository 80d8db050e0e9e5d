//! `cargo xtask pack`: the operator's release archive,
//! `target/dist/zhangshangping-<version>-linux-<arch>.tar.gz`. Unpacked into any folder it needs
//! no Rust, no Node and no network:
//!
//! ```text
//! zsp                    the operator's command (edge/src/bin/zsp.rs)
//! qr-gen                 the sheet generator
//! bin/workerd            the runtime (npm's `workerd` at package-lock.json's version)
//! worker/                the worker's modules;  site/  the page
//! migrations/            the schema's SQL, for reading (the worker carries it)
//! zsp.env.example        every setting, its line of explanation and its default
//! zhangshangping.service the systemd unit;  nginx.conf.example  the proxy in front
//! OPERATORS.md           install, backup, restore, upgrade, logs, monitoring
//! VERSION, SHA256SUMS
//! ```

use crate::edge::workerd_bin;
use crate::setup::Tools;
use crate::sh;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which build of the two programs goes in: `Release` for operators; `Dev` for the tests, which
/// take the binaries `cargo test --workspace` built (their integration tests need them), so the
/// pack costs the test run no compiling. The layout and behaviour are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    Dev,
}

pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "x86_64",
    }
}

/// The archive's name, without `.tar.gz`.
pub fn name() -> String {
    format!(
        "zhangshangping-{}-linux-{}",
        ::edge::schema::RELEASE,
        arch()
    )
}

/// Builds the programs and assembles the pack from the worker in `edge/build` and the page in
/// `target/site` (both built by the caller); returns the archive's path.
pub fn pack(root: &Path, tools: &Tools, profile: Profile) -> Result<PathBuf> {
    let dir = match profile {
        Profile::Release => {
            sh::run(sh::cargo(root).args([
                "build",
                "--release",
                "-p",
                "edge",
                "--bin",
                "zsp",
                "-p",
                "qr-gen",
                "--bin",
                "qr-gen",
            ]))
            .context("building zsp and qr-gen")?;
            "release"
        }
        Profile::Dev => "debug",
    };
    let dist = root.join("target/dist");
    let out = dist.join(name());
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(out.join("bin"))?;
    let bins = root.join("target").join(dir);
    copy(&bins.join("zsp"), &out.join("zsp"))?;
    copy(&bins.join("qr-gen"), &out.join("qr-gen"))?;
    copy(&workerd_bin(tools), &out.join("bin/workerd"))?;
    for f in ["index.js", "index_bg.wasm"] {
        copy(
            &root.join("edge/build").join(f),
            &out.join("worker").join(f),
        )?;
    }
    copy_tree(&root.join("target/site"), &out.join("site"))?;
    copy_tree(&root.join("edge/migrations"), &out.join("migrations"))?;
    std::fs::write(out.join("zsp.env.example"), ::edge::zsp::envfile::example())?;
    let files = root.join("xtask/pack");
    for f in ["zhangshangping.service", "nginx.conf.example"] {
        copy(&files.join(f), &out.join(f))?;
    }
    copy(&root.join("OPERATORS.md"), &out.join("OPERATORS.md"))?;
    let workerd = sh::output(Command::new(out.join("bin/workerd")).arg("--version"))
        .context("the pack's workerd does not run")?;
    std::fs::write(
        out.join("VERSION"),
        format!(
            "zhangshangping {}\nschema {}\n{}\nbuilt from {}\n",
            ::edge::schema::RELEASE,
            ::edge::zsp::data::latest(),
            workerd.trim(),
            commit(root)
        ),
    )?;
    sums(&out)?;
    let archive = dist.join(format!("{}.tar.gz", name()));
    // The tests' archive is unpacked once and thrown away: the fastest gzip will do.
    let gzip = match profile {
        Profile::Release => "gzip -9 -n",
        Profile::Dev => "gzip -1 -n",
    };
    sh::run(
        Command::new("tar")
            .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
            .arg(format!("--mtime=@{}", epoch(root)))
            .args(["--use-compress-program", gzip])
            .arg("-cf")
            .arg(&archive)
            .arg("-C")
            .arg(&dist)
            .arg(name()),
    )
    .context("writing the archive")?;
    Ok(archive)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::copy(from, to).with_context(|| format!("copying {} into the pack", from.display()))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if !from.is_dir() {
        bail!("{} is missing (build it first)", from.display());
    }
    for e in std::fs::read_dir(from)? {
        let p = e?.path();
        let dest = to.join(p.file_name().unwrap_or_default());
        if p.is_dir() {
            copy_tree(&p, &dest)?;
        } else {
            copy(&p, &dest)?;
        }
    }
    Ok(())
}

/// `SHA256SUMS` of every file in the pack, as `sha256sum -c` reads it.
fn sums(dir: &Path) -> Result<()> {
    let mut files = vec![];
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut out = String::new();
    for rel in files {
        let bytes = std::fs::read(dir.join(&rel))?;
        out.push_str(&format!("{:x}  {rel}\n", Sha256::digest(&bytes)));
    }
    std::fs::write(dir.join("SHA256SUMS"), out)?;
    Ok(())
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(base, &p, out)?;
        } else {
            out.push(p.strip_prefix(base)?.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

fn commit(root: &Path) -> String {
    sh::output(
        Command::new("git")
            .args(["-C"])
            .arg(root)
            .args(["rev-parse", "--short=12", "HEAD"]),
    )
    .map(|s| s.trim().to_owned())
    .unwrap_or_else(|| "an unknown commit".into())
}

/// The archive's timestamps: `SOURCE_DATE_EPOCH`, else the commit's time.
fn epoch(root: &Path) -> String {
    std::env::var("SOURCE_DATE_EPOCH").ok().unwrap_or_else(|| {
        sh::output(
            Command::new("git")
                .arg("-C")
                .arg(root)
                .args(["log", "-1", "--format=%ct"]),
        )
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "0".into())
    })
}
