//! Where a WebAssembly module's bytes go: its functions' code by crate and the largest
//! functions, read from the module's name section (`cargo xtask bench edge` prints it for the
//! worker as cargo built it, before wasm-bindgen and wasm-opt, which strip the names).

use anyhow::{Context, Result};
use std::collections::HashMap;

/// A module's code and data, and its functions' code by crate and one by one (largest first).
pub struct Sizes {
    pub code: u64,
    pub data: u64,
    pub by_crate: Vec<(String, u64, usize)>,
    pub largest: Vec<(String, u64)>,
}

/// The sizes of `wasm`'s functions (each body's bytes) under their names; wasm-bindgen's
/// `__wbindgen_describe` functions, which its CLI removes, are left out.
pub fn sizes(wasm: &[u8]) -> Result<Sizes> {
    use wasmparser::{KnownCustom, Name, Payload, TypeRef};
    let mut imported = 0u32;
    let mut bodies: Vec<u64> = vec![];
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut data = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.context("reading the module")? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body.range().len() as u64),
            Payload::DataSection(d) => data += d.range().len() as u64,
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(reader) = c.as_known() {
                    for part in reader {
                        if let Name::Function(map) = part? {
                            for naming in map {
                                let n = naming?;
                                names.insert(n.index, n.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut by_crate: HashMap<String, (u64, usize)> = HashMap::new();
    let mut all: Vec<(String, u64)> = vec![];
    for (i, size) in bodies.iter().enumerate() {
        let name = names
            .get(&(imported + i as u32))
            .map(|n| demangle(n))
            .unwrap_or_else(|| format!("function {i}"));
        if name.starts_with("__wbindgen_describe") {
            continue;
        }
        let c = by_crate.entry(crate_of(&name)).or_default();
        c.0 += size;
        c.1 += 1;
        all.push((name, *size));
    }
    let mut by_crate: Vec<(String, u64, usize)> =
        by_crate.into_iter().map(|(k, (s, n))| (k, s, n)).collect();
    by_crate.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Sizes {
        code: all.iter().map(|(_, s)| s).sum(),
        data,
        by_crate,
        largest: all,
    })
}

/// A Rust symbol readable: the legacy mangling (`_ZN…E`) as a path, with its escapes; a v0
/// symbol (`_R…`: the standard library's) as the crate names it carries; anything else as it is.
pub fn demangle(sym: &str) -> String {
    if let Some(rest) = sym.strip_prefix("_ZN") {
        let mut parts = vec![];
        let mut s = rest;
        while let Some(digits) = s.find(|c: char| !c.is_ascii_digit()).filter(|d| *d > 0) {
            let Ok(len) = s[..digits].parse::<usize>() else {
                break;
            };
            let Some(part) = s.get(digits..digits + len) else {
                break;
            };
            // A part that starts with an escape carries a `_` before it.
            parts.push(
                part.strip_prefix('_')
                    .filter(|p| p.starts_with('$'))
                    .unwrap_or(part),
            );
            s = &s[digits + len..];
        }
        // The last part is the hash (`h0123…`).
        if parts
            .last()
            .is_some_and(|p| p.starts_with('h') && p.len() == 17)
        {
            parts.pop();
        }
        let path = parts.join("::");
        let mut out = path;
        for (from, to) in [
            ("$LT$", "<"),
            ("$GT$", ">"),
            ("$RF$", "&"),
            ("$BP$", "*"),
            ("$C$", ","),
            ("$u20$", " "),
            ("$u27$", "'"),
            ("$u5b$", "["),
            ("$u5d$", "]"),
            ("$u7b$", "{"),
            ("$u7d$", "}"),
            ("$u7e$", "~"),
            ("..", "::"),
        ] {
            out = out.replace(from, to);
        }
        return out;
    }
    if sym.starts_with("_R") {
        // `Cs<disambiguator>_<len><name>`: the crates the symbol names, the first one first.
        let mut crates = vec![];
        let mut s = sym;
        while let Some(at) = s.find("Cs") {
            s = &s[at + 2..];
            let Some(us) = s.find('_') else { break };
            let after = &s[us + 1..];
            let digits = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            if let Ok(len) = after[..digits].parse::<usize>()
                && let Some(name) = after.get(digits..digits + len)
            {
                crates.push(name.to_owned());
            }
        }
        return match crates.first() {
            Some(c) => format!("{c}::… ({sym})"),
            None => sym.to_owned(),
        };
    }
    sym.to_owned()
}

/// The crate a demangled name's code comes from: the first path segment, past the `<` and `&`
/// of an impl (`<serde_json::de::Deserializer<R> as …>::…` is serde_json's).
pub fn crate_of(name: &str) -> String {
    let s = name.trim_start_matches(['<', '&', '*', ' ']);
    let s = s.strip_prefix("mut ").unwrap_or(s);
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    match end {
        Some(0) | None if s.is_empty() => "?".to_owned(),
        Some(e) if s[e..].starts_with("::") => s[..e].to_owned(),
        _ => "(other)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_paths_and_crates() {
        let d = demangle(
            "_ZN98_$LT$$RF$mut$u20$serde_json..de..Deserializer$LT$R$GT$$u20$as$u20$serde_core..de..Deserializer$GT$18deserialize_struct17hf627ed8d6ed47283E",
        );
        assert_eq!(
            d,
            "<&mut serde_json::de::Deserializer<R> as serde_core::de::Deserializer>::deserialize_struct"
        );
        assert_eq!(crate_of(&d), "serde_json");
        let d = demangle(
            "_ZN4edge6routes10in_session28_$u7b$$u7b$closure$u7d$$u7d$17hd5bbe848395cfca9E",
        );
        assert_eq!(d, "edge::routes::in_session::{{closure}}");
        assert_eq!(crate_of(&d), "edge");
        let d = demangle(
            "_RNvMs0_NtCsjqx8TIyZbP9_8dlmalloc8dlmallocINtB5_8DlmallocNtNtB7_3sys6SystemE6mallocCsebHcaeoSrxy_3std",
        );
        assert_eq!(crate_of(&d), "dlmalloc");
        assert_eq!(crate_of("memcpy"), "(other)");
        assert_eq!(demangle("memcpy"), "memcpy");
        assert_eq!(crate_of(""), "?");
    }

    #[test]
    fn a_module_is_measured_by_its_functions() {
        // A module of two functions, one named, and a data segment, as wat would write it:
        // (module (memory 1) (func $small) (func (drop (i32.const 1))) (data (i32.const 0) "abc"))
        let wasm: &[u8] = &[
            0, 97, 115, 109, 1, 0, 0, 0, // magic, version
            1, 4, 1, 96, 0, 0, // type section: () -> ()
            3, 3, 2, 0, 0, // function section: two of type 0
            5, 3, 1, 0, 1, // memory section
            10, 10, 2, 2, 0, 11, 5, 0, 65, 1, 26, 11, // code: bodies of 2 and 5 bytes
            11, 9, 1, 0, 65, 0, 11, 3, 97, 98, 99, // data
            0, 17, 4, 110, 97, 109, 101, // custom "name"
            1, 10, 1, 0, 7, 95, 90, 78, 49, 97, 49, 98, // function names: 0 → "_ZN1a1b"
        ];
        let s = sizes(wasm).unwrap();
        assert_eq!(s.code, 2 + 5);
        assert_eq!(s.data, 9);
        assert_eq!(s.largest[0], ("function 1".to_owned(), 5));
        assert_eq!(s.largest[1], ("a::b".to_owned(), 2));
        assert_eq!(
            s.by_crate,
            vec![("(other)".to_owned(), 5, 1), ("a".to_owned(), 2, 1)]
        );
    }
}
