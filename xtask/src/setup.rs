//! Installs what the project needs on a fresh machine, idempotently and quickly when present.
//!
//! - the `wasm32-unknown-unknown` target, through rustup;
//! - cargo-installed tools at pinned versions (the wasm-bindgen CLI at exactly Cargo.lock's
//!   wasm-bindgen version), into a per-user tool folder outside the clone, keyed by version, so
//!   later runs and fresh clones (CI's) reuse them: `$ZSP_TOOLS_DIR`, else
//!   `$XDG_CACHE_HOME/zhangshangping/tools`, else `~/.cache/zhangshangping/tools`;
//! - Debian packages, by apt-get, when missing.

use crate::sh;
use crate::stages::stage;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian packages the tests and the demo use: a CJK font for the printed cards (with CJK
/// Extension B), an independent QR decoder, PDF rendering and text extraction, the benchmark's
/// peer encoder and HTTP load generator, Chromium with its WebDriver (the same Debian
/// version: the app's component tests run through it; nothing is downloaded), and nginx.
pub const APT_PACKAGES: &[&str] = &[
    "fonts-noto-cjk",
    "zbar-tools",
    "poppler-utils",
    "qrencode",
    "wrk",
    "chromium",
    "chromium-driver",
    // The operator's nginx example, run in front of the pack (TLS, HTTP/2) with a certificate
    // made on the spot.
    "nginx-light",
    // The console's .xlsx export, read back by an independent reader (Debian's openpyxl, with
    // Debian's /usr/bin/python3).
    "python3-openpyxl",
    "openssl",
    "curl",
    // systemd-analyze checks the operator's unit file.
    "systemd",
    // SQLite's own shell reads a backup as anyone who finds the file would.
    "sqlite3",
    // The age tool opens `zsp backup --with-secrets` files, as an operator's machine would.
    "age",
];

/// Python packages from PyPI, pinned: the benchmark's peer.
pub const PIP_SEGNO: &str = "segno==1.6.6";

pub struct Tools {
    /// Folder holding `wasm-bindgen` and `wasm-bindgen-test-runner`.
    pub wasm_bindgen_bin: PathBuf,
    /// `node_modules/.bin` of the project (wrangler, esbuild, wasm-opt, Playwright's core).
    pub node_bin: PathBuf,
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Where cargo puts what it builds, and where xtask keeps what it makes (the site, the worker,
/// the pack, the tests' state): cargo's own answer (`cargo metadata`), which honours
/// `CARGO_TARGET_DIR` and the build settings. Asked once.
pub fn target_dir() -> PathBuf {
    static T: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .and_then(|v| v["target_directory"].as_str().map(PathBuf::from))
            .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
            .unwrap_or_else(|| root().join("target"))
    })
    .clone()
}

pub fn tools_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ZSP_TOOLS_DIR") {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(target_dir);
    cache.join("zhangshangping").join("tools")
}

pub fn all() -> Result<Tools> {
    let node_bin = base()?;
    tools(node_bin)
}

/// What needs no compiling: the wasm32 target, Debian's packages, npm's; returns
/// `node_modules/.bin`.
pub fn base() -> Result<PathBuf> {
    stage("setup: wasm32 target", wasm_target)?;
    stage("setup: Debian packages", || apt(APT_PACKAGES))?;
    stage("setup: npm ci", npm_ci)
}

/// The cargo-installed tools (minutes of compiling on a cold machine, in a target folder of
/// their own), with [`base`]'s `node_modules/.bin`.
pub fn tools(node_bin: PathBuf) -> Result<Tools> {
    let wb = lock_version("wasm-bindgen")?;
    let wasm_bindgen_bin = stage("setup: wasm-bindgen-cli", || {
        cargo_tool(
            "wasm-bindgen-cli",
            &wb,
            &["wasm-bindgen", "wasm-bindgen-test-runner"],
        )
    })?;
    let _ = crate::fs::remove_dir_all(tools_dir().join("build"));
    Ok(Tools {
        wasm_bindgen_bin,
        node_bin,
    })
}

/// Where the tools are, without installing anything (for tests run after `setup::all`).
pub fn tools_present() -> Tools {
    let wb = lock_version("wasm-bindgen").unwrap_or_default();
    let dir = tools_dir();
    Tools {
        wasm_bindgen_bin: dir.join(format!("wasm-bindgen-cli-{wb}")).join("bin"),
        node_bin: root().join("node_modules/.bin"),
    }
}

/// Installs the npm packages of `package-lock.json` (exact versions, no scripts from the
/// network) unless `node_modules` already matches it.
fn npm_ci() -> Result<PathBuf> {
    let root = root();
    let lock = root.join("package-lock.json");
    let stamp = root.join("node_modules/.zsp-lock");
    let want = crate::fs::read(&lock).context("package-lock.json is missing")?;
    if crate::fs::read(&stamp).ok().as_deref() != Some(&want[..]) {
        sh::run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&root),
        )
        .context("npm ci failed (Node 20 and npm are needed)")?;
        crate::fs::write(&stamp, &want)?;
    }
    Ok(root.join("node_modules/.bin"))
}

/// The target of the page, the worker and their tests.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn wasm_target() -> Result<()> {
    rust_target(WASM_TARGET)
}

/// A Rust target's standard library, through rustup, unless present.
pub fn rust_target(target: &str) -> Result<()> {
    let sysroot = sh::output(Command::new("rustc").args(["--print", "sysroot"]))
        .context("rustc is not on PATH")?;
    let lib = Path::new(sysroot.trim()).join("lib/rustlib").join(target);
    if lib.is_dir() {
        return Ok(());
    }
    sh::run(Command::new("rustup").args(["target", "add", target]))
        .with_context(|| format!("could not add the {target} target with rustup"))
}

/// The version of `name` recorded in Cargo.lock.
pub fn lock_version(name: &str) -> Result<String> {
    let lock =
        crate::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .with_context(|| format!("{name} is not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').context("Cargo.lock is malformed")? + start;
    Ok(lock[start..end].to_string())
}

/// `cargo install KRATE --version VERSION` into the tool folder, once; returns its `bin` folder.
pub fn cargo_tool(krate: &str, version: &str, bins: &[&str]) -> Result<PathBuf> {
    let dir = tools_dir().join(format!("{krate}-{version}"));
    let bin = dir.join("bin");
    if bins.iter().all(|b| bin.join(b).is_file()) {
        return Ok(bin);
    }
    // Install into a side folder and rename, so an interrupted install is never taken as done.
    let partial = tools_dir().join(format!("{krate}-{version}.partial"));
    crate::fs::create_dir_all(&partial)?;
    eprintln!(
        "installing {krate} {version} into {} (once; takes minutes)",
        dir.display()
    );
    sh::run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            // Unoptimised and without debug info: it builds in less than half the time of a
            // release build, and the tools only glue (a debug wasm-bindgen takes about a second
            // a module).
            .args(["install", "--debug", krate, "--version", version, "--root"])
            .arg(&partial)
            .env("CARGO_PROFILE_DEV_DEBUG", "0")
            // One target folder for every tool (they share most dependencies), kept out of the
            // workspace's build cache; `all` removes it once the tools are in.
            .env("CARGO_TARGET_DIR", tools_dir().join("build"))
            .current_dir(tools_dir()),
    )?;
    if dir.exists() {
        crate::fs::remove_dir_all(&dir)?;
    }
    crate::fs::rename(&partial, &dir)?;
    if let Some(missing) = bins.iter().find(|b| !bin.join(b).is_file()) {
        bail!("{krate} {version} installed no {missing}");
    }
    Ok(bin)
}

/// A pip package installed into its own folder in the tool folder; returns that folder (for
/// PYTHONPATH).
pub fn pip_package(spec: &str) -> Result<PathBuf> {
    let dir = tools_dir().join(format!("pip-{}", spec.replace("==", "-")));
    if dir.join(".done").is_file() {
        return Ok(dir);
    }
    eprintln!("installing {spec} from PyPI into {}", dir.display());
    sh::run(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&dir)
            .arg(spec),
    )?;
    crate::fs::write(dir.join(".done"), spec)?;
    Ok(dir)
}

fn apt_installed(pkg: &str) -> bool {
    sh::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
        .is_some_and(|s| s.contains("install ok installed"))
}

/// Installs the Debian packages that are missing (as root, or through sudo).
pub fn apt(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !apt_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing Debian packages: {}", missing.join(" "));
    let is_root = sh::output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    let apt_get = |args: &[&str]| {
        let mut c = if is_root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    sh::run(&mut apt_get(&["update", "-qq"]))?;
    let mut install = apt_get(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&missing);
    sh::run(&mut install).with_context(|| format!("could not install {}", missing.join(" ")))
}
