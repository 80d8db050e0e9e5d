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
//! ROSTER.md, samples/    the roster's columns for administrators; a sample as .csv and .xlsx
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

/// The machine a pack is for: this one's, or the other Linux one 政务云 offers (arm64 on 信创
/// hardware), cross-built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    pub fn host() -> Arch {
        match std::env::consts::ARCH {
            "aarch64" => Arch::Arm64,
            _ => Arch::X86_64,
        }
    }

    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// workerd's npm package for this machine (an optional dependency of `workerd`, pinned with
    /// its integrity in package-lock.json).
    fn workerd_package(self) -> &'static str {
        match self {
            Arch::X86_64 => "@cloudflare/workerd-linux-64",
            Arch::Arm64 => "@cloudflare/workerd-linux-arm64",
        }
    }
}

/// The archive's name, without `.tar.gz`.
pub fn name(arch: Arch) -> String {
    format!(
        "zhangshangping-{}-linux-{}",
        ::edge::schema::RELEASE,
        arch.name()
    )
}

/// The release build of zsp and qr-gen for `arch`; the folder they are in. For another machine:
/// rustup's target, Debian's cross compiler (the C of SQLite, and the linker).
fn release_programs(root: &Path, arch: Arch) -> Result<PathBuf> {
    let mut c = sh::cargo(root);
    c.args([
        "build",
        "--release",
        "-p",
        "edge",
        "--bin",
        "zsp",
        "-p",
        "qr-gen",
        "--bin",
    ])
    .arg("qr-gen");
    if arch == Arch::host() {
        sh::run(&mut c).context("building zsp and qr-gen")?;
        return Ok(crate::setup::target_dir().join("release"));
    }
    let triple = arch.rust_target();
    crate::setup::rust_target(triple)?;
    let (gcc, debs) = match arch {
        Arch::Arm64 => (
            "aarch64-linux-gnu",
            ["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"],
        ),
        Arch::X86_64 => (
            "x86_64-linux-gnu",
            ["gcc-x86-64-linux-gnu", "libc6-dev-amd64-cross"],
        ),
    };
    crate::setup::apt(&debs)?;
    let env_triple = triple.replace('-', "_");
    c.args(["--target", triple])
        .env(
            format!("CARGO_TARGET_{}_LINKER", env_triple.to_uppercase()),
            format!("{gcc}-gcc"),
        )
        .env(format!("CC_{env_triple}"), format!("{gcc}-gcc"))
        .env(format!("AR_{env_triple}"), format!("{gcc}-ar"));
    sh::run(&mut c).with_context(|| format!("building zsp and qr-gen for {}", arch.name()))?;
    Ok(crate::setup::target_dir().join(triple).join("release"))
}

/// workerd for `arch`: npm's, at package-lock.json's version; another machine's is fetched
/// beside (`target/npm-<arch>`) and checked against the lock's integrity.
fn workerd_for(root: &Path, tools: &Tools, arch: Arch) -> Result<(PathBuf, String)> {
    let lock: serde_json::Value =
        serde_json::from_str(&crate::fs::read_to_string(root.join("package-lock.json"))?)?;
    let entry = &lock["packages"][format!("node_modules/{}", arch.workerd_package())];
    let (version, integrity) = match (entry["version"].as_str(), entry["integrity"].as_str()) {
        (Some(v), Some(i)) => (v.to_owned(), i.to_owned()),
        _ => bail!("package-lock.json pins no {}", arch.workerd_package()),
    };
    if arch == Arch::host() {
        return Ok((workerd_bin(tools), version));
    }
    // npm refuses to install a package for another cpu; `npm pack` fetches its tarball from the
    // registry as it is, with the integrity npm computed of it.
    let dir = crate::setup::target_dir().join(format!("npm-{}", arch.name()));
    let bin = dir.join("package/bin/workerd");
    let _ = crate::fs::remove_dir_all(&dir);
    crate::fs::create_dir_all(&dir)?;
    let said = sh::output(
        Command::new("npm")
            .args(["pack", "--json", "--pack-destination"])
            .arg(&dir)
            .arg(format!("{}@{version}", arch.workerd_package())),
    )
    .with_context(|| {
        format!(
            "fetching {}@{version} with npm pack",
            arch.workerd_package()
        )
    })?;
    let said: serde_json::Value = serde_json::from_str(&said)?;
    let (file, got) = (&said[0]["filename"], &said[0]["integrity"]);
    if got.as_str() != Some(integrity.as_str()) {
        bail!(
            "{} fetched with integrity {got}, not package-lock.json's {integrity}",
            arch.workerd_package()
        );
    }
    sh::run(
        Command::new("tar")
            .arg("-xzf")
            .arg(dir.join(file.as_str().unwrap_or_default()))
            .arg("-C")
            .arg(&dir),
    )?;
    Ok((bin, version))
}

/// Builds the programs and assembles the pack from the worker in `edge/build` and the page in
/// `target/site` (both built by the caller); returns the archive's path. `Dev` is for this
/// machine only.
pub fn pack(root: &Path, tools: &Tools, profile: Profile, arch: Arch) -> Result<PathBuf> {
    let bins = match profile {
        Profile::Release => release_programs(root, arch)?,
        Profile::Dev if arch == Arch::host() => crate::setup::target_dir().join("debug"),
        Profile::Dev => bail!("the tests' pack is for this machine only"),
    };
    let (workerd, workerd_version) = workerd_for(root, tools, arch)?;
    let dist = crate::setup::target_dir().join("dist");
    let out = dist.join(name(arch));
    let _ = crate::fs::remove_dir_all(&out);
    crate::fs::create_dir_all(out.join("bin"))?;
    copy(&bins.join("zsp"), &out.join("zsp"))?;
    copy(&bins.join("qr-gen"), &out.join("qr-gen"))?;
    copy(&workerd, &out.join("bin/workerd"))?;
    for f in ::edge::runtime::BUNDLE {
        copy(
            &root.join("edge/build").join(f),
            &out.join("worker").join(f),
        )?;
    }
    copy_tree(&crate::setup::target_dir().join("site"), &out.join("site"))?;
    copy_tree(&root.join("edge/migrations"), &out.join("migrations"))?;
    crate::fs::write(out.join("zsp.env.example"), ::edge::zsp::envfile::example())?;
    let files = root.join("xtask/pack");
    for f in ["zhangshangping.service", "nginx.conf.example"] {
        copy(&files.join(f), &out.join(f))?;
    }
    copy(&root.join("OPERATORS.md"), &out.join("OPERATORS.md"))?;
    // The administrator's documents: the roster's columns, and a sample in both forms.
    copy(&root.join("qr-gen/ROSTER.md"), &out.join("ROSTER.md"))?;
    let csv = root.join("qr-gen/samples/roster.csv");
    copy(&csv, &out.join("samples/roster.csv"))?;
    crate::fs::write(
        out.join("samples/roster.xlsx"),
        sample_xlsx(&crate::fs::read_to_string(&csv)?),
    )?;
    crate::fs::write(
        out.join("VERSION"),
        format!(
            "zhangshangping {} for linux-{}\nschema {}\nworkerd {workerd_version} (npm)\nbuilt from {}\n",
            ::edge::schema::RELEASE,
            arch.name(),
            ::edge::zsp::data::latest(),
            commit(root)
        ),
    )?;
    sums(&out)?;
    let archive = dist.join(format!("{}.tar.gz", name(arch)));
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
            .arg(name(arch)),
    )
    .context("writing the archive")?;
    // Its checksum beside it, published apart from it: verified before anything is unpacked.
    let file = archive
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    crate::fs::write(
        dist.join(format!("{file}.sha256")),
        format!("{:x}  {file}\n", Sha256::digest(crate::fs::read(&archive)?)),
    )?;
    Ok(archive)
}

/// The sample roster (a CSV without quoted fields) as an Excel workbook, as an office's export
/// would come: every cell text, the header frozen.
fn sample_xlsx(csv: &str) -> Vec<u8> {
    use wire::xlsx::{Cell, Member, SheetWriter, parts, zip};
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let mut sheet = SheetWriter::new(&header);
    for l in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<Cell> = l.split(',').map(Cell::Text).collect();
        sheet.row(&cells);
    }
    let members: Vec<Member> = parts("名册", sheet.finish())
        .into_iter()
        .map(|(name, bytes)| Member::stored(name, bytes))
        .collect();
    zip(&members)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(p) = to.parent() {
        crate::fs::create_dir_all(p)?;
    }
    crate::fs::copy(from, to)
        .with_context(|| format!("copying {} into the pack", from.display()))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if !from.is_dir() {
        bail!("{} is missing (build it first)", from.display());
    }
    for e in crate::fs::read_dir(from)? {
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
        let bytes = crate::fs::read(dir.join(&rel))?;
        out.push_str(&format!("{:x}  {rel}\n", Sha256::digest(&bytes)));
    }
    crate::fs::write(dir.join("SHA256SUMS"), out)?;
    Ok(())
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for e in crate::fs::read_dir(dir)? {
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
