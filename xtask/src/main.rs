//! `cargo xtask …`: everything a person or CI runs, in Rust, from a fresh machine.
//!
//! - `demo`: set up, then run the main job on local defaults.
//! - `test`: set up, then run every test. `.ci/run` calls this and nothing else.
//! - `vectors`: regenerate `wire/vectors/vectors.json` from its fixed seed.
//! - `bench <wire|all>`: print the benchmark figures.
//! - `setup`: only install what is missing.

mod setup;
mod sh;
mod tally;

use anyhow::{Result, bail};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <demo | test | vectors | bench [wire|all] | setup>";

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
        ["bench"] | ["bench", "all"] => bench(&["wire"]),
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

fn demo() -> Result<()> {
    setup::all()?;
    // Until qr-gen, the edge and the page exist, the demo shows the shared formats at work:
    // the committed test vectors, checked, and a printed URL for each valid QR case.
    let text = std::fs::read_to_string(setup::root().join("wire").join(wire::vectors::PATH))?;
    let n = wire::vectors::check(&text).map_err(anyhow::Error::msg)?;
    let v: wire::vectors::Vectors = serde_json::from_str(&text)?;
    println!("{n} test vectors check. QR URLs of the valid cases:");
    for c in
        v.qr.iter()
            .filter(|c| matches!(c.expect, wire::vectors::Expect::Ok(_)))
    {
        println!("  {:<28} {}", c.name, c.url);
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
            "wire" => sh::run(
                sh::cargo(&root).args(["bench", "-p", "wire", "--bench", "wire", "--quiet"]),
            )?,
            other => bail!("no benchmark {other:?}; {USAGE}"),
        }
    }
    Ok(())
}
