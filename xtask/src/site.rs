//! The app's build pipeline, ours rather than trunk's: cargo (size profile) → wasm-bindgen
//! `--target web` (Cargo.lock's version) → wasm-opt -Oz (npm binaryen 132) → esbuild (minified
//! loader + glue) → content-hashed names → `.br` and `.gz` beside each file, in `target/site`,
//! which the worker serves. The stylesheet is inlined into `index.html`.

use crate::setup::Tools;
use crate::sh;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn hashed(name: &str, bytes: &[u8]) -> String {
    let h = Sha256::digest(bytes);
    let tag = wire::key::hex(&h[..5]);
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{tag}.{ext}"),
        None => format!("{name}-{tag}"),
    }
}

fn compress(path: &Path, bytes: &[u8]) -> Result<()> {
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
    Ok(())
}

fn with_suffix(p: &Path, s: &str) -> PathBuf {
    let mut o = p.as_os_str().to_owned();
    o.push(s);
    PathBuf::from(o)
}

/// Builds `target/site`.
pub fn build(tools: &Tools, root: &Path) -> Result<()> {
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
    let put = |name: &str, bytes: &[u8], hash: bool| -> Result<String> {
        let final_name = if hash {
            hashed(name, bytes)
        } else {
            name.to_owned()
        };
        let path = assets_dir.join(&final_name);
        std::fs::write(&path, bytes)?;
        compress(&path, bytes)?;
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
    // The stylesheet is inlined (about 1.5 KB compressed): the first paint, header and levels
    // included, then needs nothing but the HTML. The edge allows it by its hash in the CSP.
    const CSS_LINK: &str = r#"<link rel="stylesheet" href="/assets/app.css">"#;
    let css = std::fs::read_to_string(root.join("style/app.css"))?;
    if !template.contains(CSS_LINK) || css.contains("</style") {
        bail!("app/index.html must link the stylesheet as {CSS_LINK}, and the CSS hold no </style");
    }
    // The form's CSS shows a level's reasons by the level's value: every level must be there, or
    // its reasons would stay hidden even with the app.
    for l in wire::rating::Level::ALL {
        let (value, group) = (
            format!("[value={}]:checked", l.as_str()),
            format!("[data-level={}]", l.as_str()),
        );
        if !css.contains(&value) || !css.contains(&group) {
            bail!(
                "style/app.css does not show the reasons of level {} (no {value} or {group})",
                l.as_str()
            );
        }
    }
    let template = template.replace(CSS_LINK, &format!("<style>{}</style>", css.trim()));
    let html = template
        .replace("/assets/app.js", &format!("/assets/{js_name}"))
        .replace("/assets/app_bg.wasm", &format!("/assets/{wasm_name}"));
    let index = site.join("index.html");
    // The edge fills the template per request: it is read raw, never sent as it is.
    std::fs::write(&index, &html)?;
    Ok(())
}
