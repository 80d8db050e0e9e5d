//! `cargo xtask bench …`: benchmarks that print figures and compare with the named peers in the
//! same run. Nothing here asserts a target; the figures go in the closing notes.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use xtask::setup;
use xtask::sh;

pub fn wire(root: &Path) -> Result<()> {
    sh::run(sh::cargo(root).args(["bench", "-p", "wire", "--bench", "wire", "--quiet"]))
}

const ROWS: usize = 3400;
const HOST: &str = "https://pj.example.gov.cn/";

/// The whole 3,400-row roster through `qr-gen sheets`, then the same URLs through Python segno
/// (one PNG per code) and Debian's qrencode (one process per code, as a shell loop would).
pub fn qr_gen(root: &Path) -> Result<()> {
    sh::run(sh::cargo(root).args(["build", "--release", "--quiet", "-p", "qr-gen"]))?;
    let bin = root.join("target/release/qr-gen");
    let dir = root.join("target/bench/qr-gen");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let roster = dir.join("roster.csv");
    let key = dir.join("bench.key");
    sh::run(
        Command::new(&bin)
            .args(["sample", "--rows", &ROWS.to_string(), "--out"])
            .arg(&roster),
    )?;
    sh::output(
        Command::new(&bin)
            .args(["keys", "new", "--kid", "1", "--out"])
            .arg(&key),
    )
    .context("qr-gen keys new failed")?;

    // Three full runs into fresh folders; the median counts.
    let mut times = vec![];
    for i in 0..3 {
        let out = dir.join(format!("out{i}"));
        let t = Instant::now();
        sh::output(
            Command::new(&bin)
                .args(["sheets"])
                .arg(&roster)
                .args(["--host", HOST, "--key"])
                .arg(&key)
                .arg("--out")
                .arg(&out)
                .env("SOURCE_DATE_EPOCH", "1795305600"),
        )
        .context("qr-gen sheets failed")?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let ours = times[1];
    let out = dir.join("out0");
    let pdf_mb = std::fs::metadata(out.join("sheets.pdf"))?.len() as f64 / 1e6;
    let halls = std::fs::read_dir(out.join("halls"))?.count();
    let manifest = out.join("manifest.csv");
    let urls: Vec<String> = std::fs::read_to_string(&manifest)?
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.split(',')
                .find(|f| f.starts_with(HOST))
                .map(str::to_string)
        })
        .collect();
    if urls.len() != ROWS {
        bail!("manifest has {} URLs, expected {ROWS}", urls.len());
    }

    let segno = setup::pip_package(setup::PIP_SEGNO)?;
    let script = root.join("xtask/src/bench_qr.py");
    let o = Command::new("python3")
        .arg(&script)
        .arg(&manifest)
        .arg(dir.join("segno"))
        .env("PYTHONPATH", &segno)
        .output()
        .context("python3 for segno")?;
    if !o.status.success() {
        bail!("segno run failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    let segno_s: f64 = String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .context("segno's time")?;

    let qd = dir.join("qrencode");
    std::fs::create_dir_all(&qd)?;
    let t = Instant::now();
    for (i, url) in urls.iter().enumerate() {
        let st = Command::new("qrencode")
            .args(["-l", "M", "-s", "10", "-m", "4", "-o"])
            .arg(qd.join(format!("{i}.png")))
            .arg(url)
            .status()?;
        if !st.success() {
            bail!("qrencode failed on {url}");
        }
    }
    let qrencode_s = t.elapsed().as_secs_f64();

    println!(
        "qr-gen benchmark: {ROWS} rows, host {HOST}, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  qr-gen, all outputs (PNGs, sheets.pdf, {halls} hall PDFs, manifest, directory): {ours:.2} s (median of 3: {:.2} / {:.2} / {:.2})   target ≤ 5 s   {}",
        times[0],
        times[1],
        times[2],
        verdict(ours <= 5.0)
    );
    println!(
        "  segno 1.6.6 (Python), bare PNGs only:          {segno_s:.2} s   → qr-gen is {:.1}× faster with all outputs   target ≥ 10×   {}",
        segno_s / ours,
        verdict(segno_s / ours >= 10.0)
    );
    println!(
        "  qrencode (Debian), bare PNGs, one process each: {qrencode_s:.2} s   → qr-gen is {:.1}× faster",
        qrencode_s / ours
    );
    println!(
        "  sheets.pdf (A4, 8 cards a page): {pdf_mb:.1} MB   target ≤ 10 MB   {}",
        verdict(pdf_mb <= 10.0)
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
