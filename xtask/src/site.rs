//! The app's build pipeline, ours rather than trunk's: cargo (size profile) → wasm-bindgen
//! `--target web` (Cargo.lock's version) → wasm-opt -Oz (npm binaryen 132) → esbuild (minified
//! loader + glue) → content-hashed names → `.br` and `.gz` beside each file, in `target/site`,
//! which the worker serves.

use crate::setup::Tools;
use crate::sh;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Asset {
    pub name: String,
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

fn hashed(name: &str, bytes: &[u8]) -> String {
    let h = Sha256::digest(bytes);
    let tag = wire::key::hex(&h[..5]);
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{tag}.{ext}"),
        None => format!("{name}-{tag}"),
    }
}

fn compress(path: &Path, bytes: &[u8]) -> Result<(usize, usize)> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    let gz = gz.finish()?;
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        w.write_all(bytes)?;
    }
    std::fs::write(with_suffix(path, ".gz"), &gz)?;
    std::fs::write(with_suffix(path, ".br"), &br)?;
    Ok((gz.len(), br.len()))
}

fn with_suffix(p: &Path, s: &str) -> PathBuf {
    let mut o = p.as_os_str().to_owned();
    o.push(s);
    PathBuf::from(o)
}

/// Builds `target/site` and returns its assets with their sizes (index.html last).
pub fn build(tools: &Tools, root: &Path) -> Result<Vec<Asset>> {
    let target = root.join("target");
    sh::run(sh::cargo(root).args([
        "build",
        "--quiet",
        "-p",
        "app",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]))?;
    let wasm_in = target.join("wasm32-unknown-unknown/wasm-release/app.wasm");
    let bindgen = target.join("app-bindgen");
    let _ = std::fs::remove_dir_all(&bindgen);
    sh::run(
        Command::new(tools.wasm_bindgen_bin.join("wasm-bindgen"))
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                "app",
                "--out-dir",
            ])
            .arg(&bindgen)
            .arg(&wasm_in),
    )?;
    let wasm = bindgen.join("app_bg.wasm");
    let opt = bindgen.join("app_opt.wasm");
    sh::run(
        Command::new(tools.node_bin.join("wasm-opt"))
            // The features come from the module's target_features section.
            .args(["-Oz", "--strip-debug", "--strip-producers"])
            .arg(&wasm)
            .arg("-o")
            .arg(&opt),
    )
    .context("wasm-opt (npm binaryen)")?;
    let wasm_bytes = std::fs::read(&opt)?;

    let site = target.join("site");
    let _ = std::fs::remove_dir_all(&site);
    let assets_dir = site.join("assets");
    std::fs::create_dir_all(&assets_dir)?;
    let mut out = vec![];
    let mut put = |name: &str, bytes: &[u8], hash: bool| -> Result<String> {
        let final_name = if hash {
            hashed(name, bytes)
        } else {
            name.to_owned()
        };
        let path = assets_dir.join(&final_name);
        std::fs::write(&path, bytes)?;
        let (gzip, brotli) = compress(&path, bytes)?;
        out.push(Asset {
            name: format!("assets/{final_name}"),
            raw: bytes.len(),
            gzip,
            brotli,
        });
        Ok(final_name)
    };
    let wasm_name = put("app.wasm", &wasm_bytes, true)?;

    // The loader imports the glue and instantiates the module itself, so an Android webview whose
    // instantiateStreaming fails falls back to arrayBuffer + instantiate.
    let loader = root.join("app/loader.js");
    let entry = bindgen.join("entry.js");
    std::fs::write(
        &entry,
        std::fs::read_to_string(&loader)?.replace("__WASM__", &format!("/assets/{wasm_name}")),
    )?;
    std::fs::copy(&loader, bindgen.join("loader.js"))?;
    let bundled = bindgen.join("bundle.js");
    sh::run(
        Command::new(tools.node_bin.join("esbuild"))
            .arg(&entry)
            .args([
                "--bundle",
                "--minify",
                "--format=esm",
                "--target=es2019",
                "--legal-comments=none",
            ])
            .arg(format!("--outfile={}", bundled.display())),
    )?;
    let js_name = put("app.js", &std::fs::read(&bundled)?, true)?;
    let css_name = put("app.css", &std::fs::read(root.join("style/app.css"))?, true)?;

    for f in std::fs::read_dir(root.join("public"))? {
        let f = f?;
        if f.file_type()?.is_file() {
            let name = f.file_name().to_string_lossy().into_owned();
            put(&name, &std::fs::read(f.path())?, false)?;
        }
    }

    let template = std::fs::read_to_string(root.join("app/index.html"))?;
    for mark in [
        "%ZSP_LANG%",
        "<!--zsp:title-->",
        "<!--zsp:header-->",
        "<!--zsp:main-->",
        "<!--zsp:boot-->",
    ] {
        if !template.contains(mark) {
            bail!("app/index.html lacks the edge's marker {mark}");
        }
    }
    let html = template
        .replace("/assets/app.css", &format!("/assets/{css_name}"))
        .replace("/assets/app.js", &format!("/assets/{js_name}"))
        .replace("/assets/app_bg.wasm", &format!("/assets/{wasm_name}"));
    let index = site.join("index.html");
    std::fs::write(&index, &html)?;
    let (gzip, brotli) = compress(&index, html.as_bytes())?;
    // The edge fills the template per request; only the raw file is read.
    std::fs::remove_file(with_suffix(&index, ".gz"))?;
    std::fs::remove_file(with_suffix(&index, ".br"))?;
    out.push(Asset {
        name: "index.html (template)".into(),
        raw: html.len(),
        gzip,
        brotli,
    });
    Ok(out)
}
