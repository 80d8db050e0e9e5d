//! `cargo xtask …`: everything a person or CI runs, in Rust, from a fresh machine.
//!
//! - `demo`: set up, then run the main job on local defaults.
//! - `test`: set up, then run every test. `.ci/run` calls this and nothing else.
//! - `vectors`: regenerate `wire/vectors/vectors.json` from its fixed seed.
//! - `bench <wire|all>`: print the benchmark figures.
//! - `setup`: only install what is missing.

mod bench;
mod setup;
mod sh;
mod tally;

use anyhow::{Result, bail};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <demo | test | vectors | bench [wire|qr-gen|all] | setup>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["demo"] => demo(),
        ["test"] => test(),
        ["vectors"] => vectors(),
        ["bench"] | ["bench", "all"] => bench(&["wire", "qr-gen"]),
        ["bench", what] => bench(&[what]),
        ["setup"] => setup::all().map(|_| ()),
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

fn vectors() -> Result<()> {
    let path = setup::root().join("wire").join(wire::vectors::PATH);
    let fresh = wire::vectors::generate();
    let n = wire::vectors::check(&fresh).map_err(anyhow::Error::msg)?;
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, &fresh)?;
    let state = if old == fresh {
        "unchanged"
    } else {
        "CHANGED: review the diff"
    };
    println!("wrote {} ({n} cases, {state})", path.display());
    Ok(())
}

/// Where the local worker will listen; the demo's codes point there.
const DEMO_HOST: &str = "http://127.0.0.1:8787/";

fn demo() -> Result<()> {
    setup::all()?;
    let root = setup::root();
    let dir = root.join("target/demo");
    std::fs::create_dir_all(&dir)?;
    sh::run(sh::cargo(&root).args(["build", "--release", "--quiet", "-p", "qr-gen"]))?;
    let bin = root.join("target/release/qr-gen");
    let key = dir.join("demo-qr.key");
    if !key.exists() {
        sh::run(
            std::process::Command::new(&bin)
                .args(["keys", "new", "--kid", "1", "--out"])
                .arg(&key),
        )?;
    }
    let out = dir.join("sheets");
    sh::run(
        std::process::Command::new(&bin)
            .arg("sheets")
            .arg(root.join("qr-gen/samples/roster.csv"))
            .args(["--host", DEMO_HOST, "--key"])
            .arg(&key)
            .arg("--out")
            .arg(&out),
    )?;
    println!();
    println!("Printable sheets: {}", out.join("sheets.pdf").display());
    println!("Per hall:         {}", out.join("halls").display());
    println!(
        "Directory for the edge: {}",
        out.join("directory.json").display()
    );
    println!("A few of the printed URLs:");
    let manifest = std::fs::read_to_string(out.join("manifest.csv"))?;
    for line in manifest.lines().skip(1).step_by(12).take(5) {
        if let Some(url) = line.split(',').find(|f| f.starts_with(DEMO_HOST)) {
            println!("  {url}");
        }
    }
    Ok(())
}

fn test() -> Result<()> {
    let tools = setup::all()?;
    let root = setup::root();
    let mut tally = tally::Tally::default();
    sh::run(sh::cargo(&root).args(["fmt", "--all", "--", "--check"]))
        .map_err(|e| e.context("cargo fmt would change files: run `cargo fmt --all`"))?;
    sh::run(sh::cargo(&root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]))?;
    tally.cargo_test(
        "native tests",
        sh::cargo(&root).args(["test", "--workspace"]),
    )?;
    tally.cargo_test(
        "wire on wasm32 (Node)",
        sh::cargo(&root)
            .args(["test", "-p", "wire", "--target", "wasm32-unknown-unknown"])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                tools.wasm_bindgen_bin.join("wasm-bindgen-test-runner"),
            ),
    )?;
    tally.finish()
}

fn bench(which: &[&str]) -> Result<()> {
    setup::all()?;
    let root = setup::root();
    for w in which {
        match *w {
            "wire" => bench::wire(&root)?,
            "qr-gen" => bench::qr_gen(&root)?,
            other => bail!("no benchmark {other:?}; {USAGE}"),
        }
    }
    Ok(())
}
