//! How often a request crosses between JavaScript and the worker's WebAssembly (#37 item 2):
//! the worker bundle run with every import (wasm calling JS) and export (JS calling wasm)
//! counted, by name, over a number of landing pages and submissions sent one at a time.
//!
//! The count is taken in a copy of the bundles (`counted/edge/build` in the run's folder): each
//! worker's `index.js` begins by putting a counting `WebAssembly.Instance` in place, and its
//! default entry answers `/__crossings` with its tallies; the citizen's adds the office's (whose
//! isolate runs the storage object, so its crossings, the SQL calls, are in them).

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::Path;

/// Put before the bundle's own code: every function of the import object and of the instance's
/// exports wrapped with a count under its name (`wasm:` before an export's).
const COUNTER: &str = r#"const __zspTally = (globalThis.__zspCrossings = {});
const __zspCount = (name, f) => function (...a) { __zspTally[name] = (__zspTally[name] || 0) + 1; return f.apply(this, a); };
const __zspInstance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  for (const ns of Object.values(imports)) for (const k of Object.keys(ns)) if (typeof ns[k] === "function") ns[k] = __zspCount(k, ns[k]);
  const real = new __zspInstance(module, imports);
  const exports = {};
  for (const [k, v] of Object.entries(real.exports)) exports[k] = typeof v === "function" ? __zspCount("wasm:" + k, v) : v;
  return { exports };
};
"#;

/// The counted copy of `build` (a `edge/build` folder) under `root`, to start as
/// `xtask::edge::start(…, root, …)`.
pub(crate) fn counted_copy(build: &Path, root: &Path) -> Result<()> {
    xtask::edge::bundle_at(build, root)?;
    for js in ["edge/build/index.js", "edge/build/citizen/index.js"] {
        let js = root.join(js);
        let counted = counted(&xtask::fs::read_to_string(&js)?)?;
        xtask::fs::write(js, counted)?;
    }
    Ok(())
}

/// `js` (the bundle's entry) counting: [`COUNTER`] first, and the default entry answering
/// `/__crossings`.
fn counted(js: &str) -> Result<String> {
    // esbuild ends the bundle with `export{…,NAME as default}`.
    let Some(at) = js.rfind(" as default}") else {
        bail!("the worker bundle's `export{{… as default}}` was not found");
    };
    let start = js[..at].rfind([',', '{']).map_or(0, |i| i + 1);
    let name = &js[start..at];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        bail!("the worker bundle's default export {name:?} is not a name");
    }
    let entry = format!(
        "class __zspCounted extends {name} {{ async fetch(request) {{ \
         if (new URL(request.url).pathname === \"/__crossings\") {{ \
         const all = {{ ...globalThis.__zspCrossings }}; \
         if (this.env.OFFICE) for (const [k, v] of Object.entries(await (await this.env.OFFICE.fetch(request.url)).json())) all[k] = (all[k] || 0) + v; \
         return Response.json(all); }} \
         return super.fetch(request); }} }}\n"
    );
    Ok(format!(
        "{COUNTER}{}__zspCounted as default}}{}\n{entry}",
        &js[..start],
        &js[at + " as default}".len()..]
    ))
}

/// The tallies of a counted worker at `base`.
fn tallies(base: &str) -> Result<BTreeMap<String, u64>> {
    let text = ureq::get(&format!("{base}/__crossings"))
        .call()?
        .into_string()?;
    serde_json::from_str(&text).context("the crossings' tallies")
}

/// Crossings a request, each name's and the total ([`per_request`]), of the counted worker at
/// `base`: a landing page (`GET /<page>` of each of `pages`), then a submission (`POST /api/rate`
/// of each of `submissions`), one at a time, each answered 200.
pub(crate) fn count(
    base: &str,
    pages: &[String],
    submissions: &[String],
) -> Result<Vec<(&'static str, PerRequest)>> {
    let landing = |page: &String| -> Result<u16> {
        Ok(ureq::get(&format!("{base}/{page}")).call()?.status())
    };
    let submit = |body: &String| -> Result<u16> {
        Ok(ureq::post(&format!("{base}/api/rate"))
            .set("Content-Type", "application/json")
            .send_string(body)?
            .status())
    };
    Ok(vec![
        ("landing page", phase(base, "landing page", pages, landing)?),
        (
            "submission",
            phase(base, "submission", submissions, submit)?,
        ),
    ])
}

/// Crossings a request of `requests`, each sent by `send` and answered 200.
fn phase(
    base: &str,
    what: &str,
    requests: &[String],
    send: impl Fn(&String) -> Result<u16>,
) -> Result<PerRequest> {
    let before = tallies(base)?;
    for r in requests {
        let status = send(r)?;
        anyhow::ensure!(status == 200, "a counted {what}: {status}");
    }
    Ok(per_request(&before, &tallies(base)?, requests.len()))
}

/// Crossings a request: each name's, most first, and the total.
pub(crate) type PerRequest = (Vec<(String, f64)>, f64);

/// Crossings a request, from the tallies before and after `n` requests: each name's, most
/// first, and the total.
fn per_request(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    n: usize,
) -> PerRequest {
    let mut each: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0).min(*v);
            (k.clone(), d as f64 / n.max(1) as f64)
        })
        .filter(|(_, d)| *d > 0.0)
        .collect();
    each.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = each.iter().map(|(_, d)| d).sum();
    (each, total)
}

/// A line of the figures: the total, into wasm and out to JS, and the names most crossed.
pub(crate) fn print(what: &str, each: &[(String, f64)], total: f64) {
    let into: f64 = each
        .iter()
        .filter(|(k, _)| k.starts_with("wasm:"))
        .map(|(_, d)| d)
        .sum();
    println!(
        "  JS↔wasm crossings a {what}: {total:.1} ({into:.1} into wasm, {:.1} out to JS); most: {}",
        total - into,
        each.iter()
            .take(8)
            .map(|(k, d)| format!("{} {d:.1}", short(k)))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// A wasm-bindgen import's name without its hash (`__wbg_get_0123abcd…` → `get`).
fn short(name: &str) -> String {
    let n = name.strip_prefix("__wbg_").unwrap_or(name);
    match n.rsplit_once('_') {
        Some((head, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            head.to_owned()
        }
        _ => n.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_entry_is_wrapped_and_the_rest_kept() {
        let js = "import x from\"./index_bg.wasm\";var a=1;export{ke as ContainerStartupOptions,Te as Store,We as default};";
        let out = counted(js).unwrap();
        assert!(out.starts_with(COUNTER), "{out}");
        assert!(
            out.contains(
                "var a=1;export{ke as ContainerStartupOptions,Te as Store,__zspCounted as default};"
            ),
            "{out}"
        );
        assert!(out.contains("class __zspCounted extends We {"), "{out}");
        assert!(counted("export{a as b};").is_err());
        assert!(counted("export{a.b as default};").is_err());
    }

    #[test]
    fn crossings_are_the_difference_a_request() {
        let before = BTreeMap::from([("a".to_string(), 10), ("wasm:b".to_string(), 4)]);
        let after = BTreeMap::from([
            ("a".to_string(), 30),
            ("wasm:b".to_string(), 4),
            ("c".to_string(), 5),
        ]);
        let (each, total) = per_request(&before, &after, 10);
        assert_eq!(each, vec![("a".to_string(), 2.0), ("c".to_string(), 0.5)]);
        assert_eq!(total, 2.5);
        assert_eq!(short("__wbg_get_0123456789abcdef"), "get");
        assert_eq!(short("wasm:fetch"), "wasm:fetch");
    }
}
