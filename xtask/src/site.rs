//! The app's build pipeline, ours rather than trunk's: cargo (size profile) → wasm-bindgen
//! `--target web` (Cargo.lock's version) → the glue without dependencies' classes → esbuild
//! (minified loader + glue) → wasm-metadce (only the exports that bundle names) → wasm-opt -Oz
//! (npm binaryen 132) → content-hashed names → `.br` and `.gz` beside each file, in
//! `target/site`, which the worker serves. The stylesheet is minified (esbuild) and inlined into
//! `index.html`. All of it twice: the citizen's page, and the hall tablet's (`kiosk.html`, the
//! app built with its `kiosk` feature, `style/kiosk.css` after the citizen's stylesheet).

use crate::setup::{Tools, WASM_TARGET};
use crate::sh;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pages' WebAssembly, compiled (cargo only: no tool from `setup` needed): the citizen's,
/// and the hall tablet's (the `kiosk` feature), each with only its own code.
pub fn compile(root: &Path) -> Result<()> {
    for (features, name) in [("", "citizen"), ("kiosk", "kiosk")] {
        sh::run(sh::cargo(root).args([
            "build",
            "--quiet",
            "-p",
            "app",
            "--features",
            features,
            "--target",
            WASM_TARGET,
            "--profile",
            "wasm-release",
        ]))?;
        let built = module_path();
        crate::fs::copy(&built, built.with_file_name(format!("{name}.wasm")))?;
    }
    Ok(())
}

fn module_path() -> PathBuf {
    crate::setup::target_dir()
        .join(WASM_TARGET)
        .join("wasm-release/app.wasm")
}

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
    crate::fs::write(with_suffix(path, ".gz"), &gz)?;
    crate::fs::write(with_suffix(path, ".br"), brotli(bytes)?)?;
    Ok(())
}

/// The loader's stand-in for the module's URL.
const WASM_URL: &str = "__WASM__";

/// Runs quietly (wasm-metadce lists everything it removes); its output only if it fails.
fn quiet(c: &mut Command) -> Result<()> {
    let o = c.output().context("could not start")?;
    if !o.status.success() {
        bail!(
            "failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(())
}

/// wasm-bindgen's glue without its exported classes, each with its finalizer and dispose hook.
/// Fails if a class is still named afterwards (the glue's shape changed, or something uses it).
fn without_classes(glue: &str) -> Result<String> {
    let mut out = String::with_capacity(glue.len());
    let mut removed: Vec<&str> = vec![];
    let mut lines = glue.split_inclusive('\n');
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("export class ") {
            let name = rest.split([' ', '{']).next().unwrap_or_default();
            removed.push(name);
            // The class body ends at the first unindented closing brace.
            for l in lines.by_ref() {
                if l.trim_end() == "}" {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
    }
    let mut kept = String::with_capacity(out.len());
    let mut lines = out.split_inclusive('\n');
    while let Some(line) = lines.next() {
        let of_removed = |prefix: &str| {
            removed
                .iter()
                .any(|n| line.starts_with(&format!("{prefix}{n}")))
        };
        if of_removed("if (Symbol.dispose) ") {
            continue;
        }
        if of_removed("const ") && line.contains("Finalization = ") {
            // The statement runs until its semicolon.
            let mut l = line;
            while !l.trim_end().ends_with(';') {
                l = lines
                    .next()
                    .context("an unfinished finalizer in the glue")?;
            }
            continue;
        }
        kept.push_str(line);
    }
    if let Some(n) = removed.iter().find(|n| kept.contains(**n)) {
        bail!("wasm-bindgen's glue still uses the class {n} after it was removed");
    }
    Ok(kept)
}

/// The export names of a WebAssembly module (read with `wasmparser`).
fn wasm_exports(wasm: &[u8]) -> Result<Vec<String>> {
    let mut names = vec![];
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(exports) =
            payload.context("a malformed WebAssembly module")?
        {
            for e in exports {
                names.push(e.context("a malformed export")?.name.to_owned());
            }
        }
    }
    Ok(names)
}

/// wasm-metadce's graph: the JavaScript reaches these exports, and nothing else is a root.
fn metadce_graph(exports: &[String]) -> String {
    let node = |e: &String| serde_json::json!({ "name": format!("export:{e}"), "export": e });
    let root = serde_json::json!({
        "name": "js",
        "root": true,
        "reaches": exports.iter().map(|e| format!("export:{e}")).collect::<Vec<_>>(),
    });
    let mut all = vec![root];
    all.extend(exports.iter().map(node));
    serde_json::Value::Array(all).to_string()
}

fn with_suffix(p: &Path, s: &str) -> PathBuf {
    let mut o = p.as_os_str().to_owned();
    o.push(s);
    PathBuf::from(o)
}

/// How `app/loader.js` imports the glue, and the same for the hall tablet's page.
const LOADER_IMPORT: &str = "import init, { start } from \"./app.js\";";
const KIOSK_IMPORT: &str = "import init, { start_kiosk as start } from \"./app.js\";";

/// Whether minified JavaScript names `name` as a whole identifier (`start`, not `start_kiosk`).
fn names(js: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    js.match_indices(name).any(|(i, _)| {
        !js[..i].chars().next_back().is_some_and(ident)
            && !js[i + name.len()..].chars().next().is_some_and(ident)
    })
}

/// One page's script and module: `wasm_in` through wasm-bindgen into `bindgen`, `loader`
/// bundled with the glue (esbuild), then the module cut to the exports that bundle names
/// (wasm-metadce, `entry` among them) and optimised (wasm-opt -Oz).
fn page_module(
    tools: &Tools,
    wasm_in: &Path,
    bindgen: &Path,
    loader: &str,
    entry: &str,
) -> Result<(String, Vec<u8>)> {
    let _ = crate::fs::remove_dir_all(bindgen);
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
            .arg(bindgen)
            .arg(wasm_in),
    )?;
    // The glue exports the classes of every `#[wasm_bindgen]` struct in the dependency tree:
    // wasm-streams' stream adapters, which Leptos links for server functions this page has none
    // of. The loader imports only `init` and the entry, so the classes go, and with them their
    // exports and code in the module.
    let glue_path = bindgen.join("app.js");
    let glue = without_classes(&crate::fs::read_to_string(&glue_path)?)?;
    crate::fs::write(&glue_path, glue)?;

    // The loader imports the glue and instantiates the module itself, so an Android webview
    // whose instantiateStreaming fails falls back to arrayBuffer + instantiate. The module's
    // hashed name goes in once the module is final.
    let loader_path = bindgen.join("loader.js");
    crate::fs::write(&loader_path, loader)?;
    let bundled = bindgen.join("bundle.js");
    sh::run(
        Command::new(tools.node_bin.join("esbuild"))
            .arg(&loader_path)
            .args([
                "--bundle",
                "--minify",
                "--format=esm",
                "--target=es2019",
                "--legal-comments=none",
                // V8's explicit compile hint (Chrome 136+; ignored elsewhere): compile the glue
                // while it streams in, not function by function while the app starts.
                "--banner:js=//# allFunctionsCalledOnLoad",
                // The glue's default module path (`new URL(.., import.meta.url)`) is never taken:
                // the loader hands it the compiled module. So es2019's empty import.meta is moot.
                "--log-override:empty-import-meta=silent",
            ])
            .arg(format!("--outfile={}", bundled.display())),
    )?;
    let bundle = crate::fs::read_to_string(&bundled)?;

    // Only the exports the bundled JavaScript names stay (wasm-metadce), then wasm-opt.
    let wasm = bindgen.join("app_bg.wasm");
    let graph = bindgen.join("graph.json");
    let kept: Vec<String> = wasm_exports(&crate::fs::read(&wasm)?)?
        .into_iter()
        .filter(|e| names(&bundle, e))
        .collect();
    if !kept.iter().any(|e| e == entry) {
        bail!(
            "the bundled loader names no `{entry}` export of {}",
            wasm.display()
        );
    }
    crate::fs::write(&graph, metadce_graph(&kept))?;
    let dce = bindgen.join("app_dce.wasm");
    quiet(
        Command::new(tools.node_bin.join("wasm-metadce"))
            .arg(&wasm)
            .arg("--graph-file")
            .arg(&graph)
            .arg("-o")
            .arg(&dce),
    )
    .context("wasm-metadce (npm binaryen)")?;
    let opt = bindgen.join("app_opt.wasm");
    sh::run(
        Command::new(tools.node_bin.join("wasm-opt"))
            // The features come from the module's target_features section.
            .args(["-Oz", "--strip-debug", "--strip-producers"])
            .arg(&dce)
            .arg("-o")
            .arg(&opt),
    )
    .context("wasm-opt (npm binaryen)")?;
    Ok((bundle, crate::fs::read(&opt)?))
}

/// `style/<name>`, inlined into a page: checked (no `</style`, no heavier font weight), then
/// minified (esbuild) into `dir`; the comments that explain it stay in the source.
fn stylesheet(tools: &Tools, root: &Path, name: &str, dir: &Path) -> Result<String> {
    let src = root.join("style").join(name);
    let text = crate::fs::read_to_string(&src)?;
    if text.contains("</style") {
        bail!("style/{name} holds </style, which would end the page's inline stylesheet");
    }
    if let Some((line, weight)) = heavier_weight(&text) {
        bail!(
            "style/{name}:{line} asks for font-weight {weight}: the pages use one weight, so the \
             first paint never loads a second CJK face (see the top of style/app.css)"
        );
    }
    let out = dir.join(name.replace(".css", ".min.css"));
    sh::run(
        Command::new(tools.node_bin.join("esbuild"))
            .arg(&src)
            .args(["--minify", "--legal-comments=none"])
            .arg(format!("--outfile={}", out.display())),
    )?;
    crate::fs::read_to_string(&out)
}

/// Builds `target/site`.
pub fn build(tools: &Tools, root: &Path) -> Result<()> {
    let target = crate::setup::target_dir();
    compile(root)?;
    // Two pages: the citizen's (`start`) and the hall tablet's (`start_kiosk`), each its own
    // module, glue and loader bundle.
    let loader = crate::fs::read_to_string(root.join("app/loader.js"))?;
    let kiosk_loader = loader.replacen(LOADER_IMPORT, KIOSK_IMPORT, 1);
    if kiosk_loader == loader {
        bail!("app/loader.js should import the glue as {LOADER_IMPORT}");
    }
    let bindgen = target.join("app-bindgen");
    let (bundle, wasm_bytes) = page_module(
        tools,
        &module_path().with_file_name("citizen.wasm"),
        &bindgen,
        &loader,
        "start",
    )?;
    let (kiosk_bundle, kiosk_wasm) = page_module(
        tools,
        &module_path().with_file_name("kiosk.wasm"),
        &target.join("kiosk-bindgen"),
        &kiosk_loader,
        "start_kiosk",
    )?;

    let site = target.join("site");
    let _ = crate::fs::remove_dir_all(&site);
    let assets_dir = site.join("assets");
    crate::fs::create_dir_all(&assets_dir)?;
    let put = |name: &str, bytes: &[u8], hash: bool| -> Result<String> {
        let final_name = if hash {
            hashed(name, bytes)
        } else {
            name.to_owned()
        };
        let path = assets_dir.join(&final_name);
        crate::fs::write(&path, bytes)?;
        compress(&path, bytes)?;
        Ok(final_name)
    };
    let put_module = |name: &str, bundle: &str, wasm: &[u8]| -> Result<(String, String)> {
        let wasm_name = put(&format!("{name}.wasm"), wasm, true)?;
        if bundle.matches(WASM_URL).count() != 1 {
            bail!("the bundled loader should name {WASM_URL} once");
        }
        let bundle = bundle.replace(WASM_URL, &format!("/assets/{wasm_name}"));
        Ok((
            put(&format!("{name}.js"), bundle.as_bytes(), true)?,
            wasm_name,
        ))
    };
    let (js_name, wasm_name) = put_module("app", &bundle, &wasm_bytes)?;
    let (kiosk_js, kiosk_wasm_name) = put_module("kiosk", &kiosk_bundle, &kiosk_wasm)?;

    for f in crate::fs::read_dir(root.join("public"))? {
        let f = f?;
        if f.file_type()?.is_file() {
            let name = f.file_name().to_string_lossy().into_owned();
            put(&name, &crate::fs::read(f.path())?, false)?;
        }
    }

    let template = crate::fs::read_to_string(root.join("app/index.html"))?;
    for mark in wire::page::mark::ALL {
        if !template.contains(mark) {
            bail!("app/index.html lacks the edge's marker {mark}");
        }
    }
    // The stylesheet is inlined (about 1.2 KB compressed): the first paint, header and levels
    // included, then needs nothing but the HTML. The edge allows it by its hash in the CSP.
    const CSS_LINK: &str = r#"<link rel="stylesheet" href="/assets/app.css">"#;
    let css = crate::fs::read_to_string(root.join("style/app.css"))?;
    if !template.contains(CSS_LINK) {
        bail!("app/index.html must link the stylesheet as {CSS_LINK}");
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
    let css = stylesheet(tools, root, "app.css", &bindgen)?;
    let with_css =
        |css: &str| template.replace(CSS_LINK, &format!("<style>{}</style>", css.trim()));
    let html = with_css(&css)
        .replace("/assets/app.js", &format!("/assets/{js_name}"))
        .replace("/assets/app_bg.wasm", &format!("/assets/{wasm_name}"));
    // The hall tablet's page: the same, its own script, and the tablet's stylesheet after the
    // citizen's (so the citizen page carries none of it).
    let kiosk_css = stylesheet(tools, root, "kiosk.css", &target.join("kiosk-bindgen"))?;
    let kiosk_html = with_css(&format!("{}{}", css.trim(), kiosk_css.trim()))
        .replace("/assets/app.js", &format!("/assets/{kiosk_js}"))
        .replace("/assets/app_bg.wasm", &format!("/assets/{kiosk_wasm_name}"));
    crate::fs::write(site.join("kiosk.html"), &kiosk_html)?;
    let weight = PageWeight::of(&html, bundle.as_bytes(), &wasm_bytes)?;
    println!("{weight}");
    if weight.total() > PAGE_BUDGET_BROTLI {
        bail!(
            "the citizen page is {:.1} KB brotli, over its budget of {} KB (ARCHITECTURE.md, \
             Invariants)",
            weight.total() as f64 / 1024.0,
            PAGE_BUDGET_BROTLI / 1024
        );
    }
    let index = site.join("index.html");
    // The edge fills the template per request: it is read raw, never sent as it is.
    crate::fs::write(&index, &html)?;
    Ok(())
}

/// What a citizen's phone downloads for a code, brotli-compressed: the landing page, the script
/// and the WebAssembly. At most this many bytes, or the build fails.
pub const PAGE_BUDGET_BROTLI: usize = 60 * 1024;

/// The citizen page's transfer, brotli bytes a part.
pub struct PageWeight {
    /// The landing page as the edge fills the template (the sample entry, the stylesheet
    /// inlined, a challenge of full length).
    pub html: usize,
    pub script: usize,
    pub module: usize,
}

impl PageWeight {
    pub fn of(template: &str, script: &[u8], module: &[u8]) -> Result<PageWeight> {
        let entry = wire::directory::Entry::example("A01", Some("SC0042"));
        let challenge = "A".repeat(wire::challenge::TEXT_LEN);
        let html = edge::page::landing(
            template,
            &edge::page::Landing {
                lang: wire::text::Lang::Zh,
                segment: &"A".repeat(wire::qr::SEGMENT_LEN),
                entry: &entry,
                challenge: &challenge,
                form_challenge: &challenge,
                now: 1_795_305_600,
                retention_days: 30,
                callback: wire::calendar::Span::WorkingDays(1),
                refused: None,
                project_no: None,
            },
        );
        Ok(PageWeight {
            html: brotli_len(html.as_bytes())?,
            script: brotli_len(script)?,
            module: brotli_len(module)?,
        })
    }

    pub fn total(&self) -> usize {
        self.html + self.script + self.module
    }
}

impl std::fmt::Display for PageWeight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kb = |n: usize| n as f64 / 1024.0;
        write!(
            f,
            "citizen page: {:.1} KB brotli (landing page {:.1}, script {:.1}, module {:.1}); budget {} KB",
            kb(self.total()),
            kb(self.html),
            kb(self.script),
            kb(self.module),
            PAGE_BUDGET_BROTLI / 1024
        )
    }
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        w.write_all(bytes)?;
    }
    Ok(br)
}

pub fn brotli_len(bytes: &[u8]) -> Result<usize> {
    Ok(brotli(bytes)?.len())
}

/// The first `font-weight` (or `font` shorthand with `bold`) in `css` heavier than normal, with
/// its line: a bold CJK text makes the browser load a second face of some 20 MB.
fn heavier_weight(css: &str) -> Option<(usize, String)> {
    css.lines().enumerate().find_map(|(i, line)| {
        let decl = line.split(';').flat_map(|d| d.split('{')).map(str::trim);
        decl.filter_map(|d| d.split_once(':'))
            .filter(|(prop, _)| matches!(prop.trim(), "font-weight" | "font"))
            .map(|(_, value)| value.trim().trim_end_matches('}').trim())
            .find(|v| {
                v.split_whitespace().any(|w| {
                    matches!(w, "bold" | "bolder")
                        || w.parse::<u32>().is_ok_and(|n| n > 400 && n <= 1000)
                })
            })
            .map(|v| (i + 1, v.to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of wasm-bindgen 0.2.130's glue around an exported class.
    const GLUE: &str = "\
export class IntoUnderlyingSink {
    __destroy_into_raw() {
        IntoUnderlyingSinkFinalization.unregister(this);
    }
    abort(reason) {
        wasm.intounderlyingsink_abort(this.__wbg_ptr, reason);
    }
}
if (Symbol.dispose) IntoUnderlyingSink.prototype[Symbol.dispose] = IntoUnderlyingSink.prototype.free;

export function start() {
    wasm.start();
}
const IntoUnderlyingSinkFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_intounderlyingsink_free(ptr, 1));
const CLOSURE_DTORS = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(state => wasm.__wbindgen_destroy_closure(state.a, state.b));
";

    #[test]
    fn the_glue_loses_its_classes_and_keeps_the_rest() {
        let out = without_classes(GLUE).unwrap();
        assert!(!out.contains("IntoUnderlying"), "{out}");
        assert!(!out.contains("intounderlying"), "{out}");
        assert!(out.contains("export function start() {\n    wasm.start();\n}\n"));
        assert!(out.contains("const CLOSURE_DTORS = (typeof FinalizationRegistry"));
        assert!(out.contains("wasm.__wbindgen_destroy_closure(state.a, state.b));\n"));
    }

    #[test]
    fn a_class_still_used_is_an_error() {
        let glue = format!("{GLUE}export function make() {{ return new IntoUnderlyingSink(); }}\n");
        let e = without_classes(&glue).unwrap_err().to_string();
        assert!(e.contains("IntoUnderlyingSink"), "{e}");
    }

    #[test]
    fn an_export_is_named_as_a_whole_identifier() {
        assert!(names("a.start();", "start"));
        assert!(names("export{s as start}", "start"));
        assert!(!names("a.start_kiosk();", "start"));
        assert!(!names("a.restart();", "start"));
        assert!(names("a.start_kiosk();", "start_kiosk"));
    }

    #[test]
    fn exports_are_read_from_the_module() {
        // (module (func) (memory 1) (export "start" (func 0)) (export "memory" (memory 0)))
        let wasm = [
            0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // magic, version
            1, 4, 1, 0x60, 0, 0, // type section: () -> ()
            3, 2, 1, 0, // function section
            5, 3, 1, 0, 1, // memory section
            7, 18, 2, 5, b's', b't', b'a', b'r', b't', 0, 0, 6, b'm', b'e', b'm', b'o', b'r', b'y',
            2, 0, // export section
            10, 4, 1, 2, 0, 0x0b, // code section
        ];
        assert_eq!(wasm_exports(&wasm).unwrap(), ["start", "memory"]);
        assert!(wasm_exports(b"not wasm").is_err());
        assert!(wasm_exports(&wasm[..30]).is_err());
        let mut endless = wasm[..8].to_vec();
        endless.extend([7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(wasm_exports(&endless).is_err());
    }

    #[test]
    fn the_graph_roots_only_the_named_exports() {
        let g: serde_json::Value =
            serde_json::from_str(&metadce_graph(&["start".into(), "memory".into()])).unwrap();
        assert_eq!(g[0]["root"], true);
        assert_eq!(
            g[0]["reaches"],
            serde_json::json!(["export:start", "export:memory"])
        );
        assert_eq!(
            g[1],
            serde_json::json!({"name": "export:start", "export": "start"})
        );
        assert_eq!(g.as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_heavier_weight_is_found_with_its_line() {
        let css = "a { font-weight: 400; }\nb { color: red; font-size: 700px }\n.c { font: bold 1rem sans-serif }";
        assert_eq!(
            heavier_weight(css),
            Some((3, "bold 1rem sans-serif".into()))
        );
        assert_eq!(
            heavier_weight("h1 { font-weight:700}"),
            Some((1, "700".into()))
        );
        assert_eq!(
            heavier_weight("h1 { font-weight: 500; }"),
            Some((1, "500".into()))
        );
        assert_eq!(
            heavier_weight("p { font: 1rem/1.5 serif; font-weight: normal }"),
            None
        );
        assert_eq!(heavier_weight(include_str!("../../style/app.css")), None);
    }
}
