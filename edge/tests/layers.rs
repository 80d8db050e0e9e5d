//! The layers stay true: every module of `edge` and of `wire` uses only modules listed before it
//! in ARCHITECTURE.md's layer lists (foundations at the bottom, features above, then the route
//! table, then the glue). A module's uses are read from its source up to its tests: `crate::`,
//! `super::` and `self::` paths (their `{…}` groups too), paths into its own child modules, and
//! the SQL macros (`counted!`, `pending!`, `bad_level!`, which `sql` defines).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// ARCHITECTURE.md's list for `krate`: each line a layer's name, then its modules, lowest first.
fn listed(krate: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let fence = format!("```layers {krate}\n");
    let start = doc
        .find(&fence)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no {fence:?} block"))
        + fence.len();
    let block = &doc[start..start + doc[start..].find("```").unwrap()];
    block
        .lines()
        .flat_map(|l| l.split_whitespace().skip(1))
        .map(str::to_owned)
        .collect()
}

/// Every module of a crate's `src`, by its path (`console::handlers`; the crate root is "").
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = vec![];
    walk(src, &mut files);
    files
        .into_iter()
        .filter(|p| !p.starts_with(src.join("bin")))
        .map(|p| {
            let rel = p.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            (parts.join("::"), p)
        })
        .collect()
}

/// The source before its tests, without comments.
fn code(text: &str) -> String {
    text.lines()
        .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
        .map(|l| match l.find("//") {
            // A `//` inside a string (a URL) is not a comment; the paths we read are not in strings.
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_end(s: &str) -> usize {
    s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

/// The paths a source names after each of `heads` (`head::a::b`), each `{…}` group expanded.
fn paths(src: &str, heads: &[&str]) -> Vec<Vec<String>> {
    let mut out = vec![];
    let b = src.as_bytes();
    for head in heads {
        let pat = format!("{head}::");
        let mut from = 0;
        while let Some(i) = src[from..].find(&pat) {
            let at = from + i;
            from = at + pat.len();
            // A whole word: not the tail of another path or identifier.
            if at > 0
                && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_' || b[at - 1] == b':')
            {
                continue;
            }
            // The tree: identifiers, `::`, groups, commas and `as`, up to anything else.
            let mut depth = 0;
            let end = src[from..]
                .char_indices()
                .find(|(_, c)| match c {
                    '{' => {
                        depth += 1;
                        false
                    }
                    '}' if depth > 0 => {
                        depth -= 1;
                        false
                    }
                    ',' | ' ' | '\n' | '*' if depth > 0 => false,
                    c => !(c.is_alphanumeric() || *c == '_' || *c == ':'),
                })
                .map_or(src.len() - from, |(i, _)| i);
            expand(&[(*head).to_owned()], &src[from..from + end], &mut out);
        }
    }
    out
}

/// `prefix` + a use tree (`a::b`, `a::{b, c::{d}}`, `a as x`) as full paths.
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let mut segs = prefix.to_vec();
    let mut rest = tree;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.strip_suffix('}').unwrap_or(group);
            for item in split_top(inner) {
                expand(&segs, item, out);
            }
            return;
        }
        let n = ident_end(rest);
        if n == 0 {
            out.push(segs);
            return;
        }
        segs.push(rest[..n].to_owned());
        rest = &rest[n..];
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => {
                out.push(segs);
                return;
            }
        }
    }
}

/// A group's items, split at its top-level commas.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = vec![];
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The modules a module uses.
fn uses(me: &str, text: &str, all: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let here: Vec<&str> = if me.is_empty() {
        vec![]
    } else {
        me.split("::").collect()
    };
    let src = code(text);
    let children: Vec<String> = all
        .keys()
        .filter_map(|k| {
            let rest = if me.is_empty() {
                Some(k.as_str())
            } else {
                k.strip_prefix(me)?.strip_prefix("::")
            };
            rest.filter(|r| !r.is_empty() && !r.contains("::"))
                .map(str::to_owned)
        })
        .collect();
    let mut heads = vec!["crate", "super", "self"];
    heads.extend(children.iter().map(String::as_str));
    let mut out = BTreeSet::new();
    for p in paths(&src, &heads) {
        let mut segs: Vec<String> = match p[0].as_str() {
            "crate" => p[1..].to_vec(),
            "super" => {
                let mut base: Vec<String> = here.iter().map(|s| s.to_string()).collect();
                base.pop();
                base.extend(p[1..].iter().cloned());
                base
            }
            "self" => here
                .iter()
                .map(|s| s.to_string())
                .chain(p[1..].iter().cloned())
                .collect(),
            _ => here
                .iter()
                .map(|s| s.to_string())
                .chain(p.iter().cloned())
                .collect(),
        };
        while !segs.is_empty() {
            let m = segs.join("::");
            if all.contains_key(&m) {
                if m != me && !me.starts_with(&format!("{m}::")) {
                    out.insert(m);
                }
                break;
            }
            segs.pop();
        }
    }
    for mac in ["counted!", "pending!", "bad_level!"] {
        if src.contains(mac) && me != "sql" && all.contains_key("sql") {
            out.insert("sql".into());
        }
    }
    out
}

/// Whether `to` is reachable from any of `from` in `edges`.
fn reaches(edges: &BTreeMap<String, BTreeSet<String>>, from: &BTreeSet<String>, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&String> = from.iter().collect();
    while let Some(n) = todo.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n.clone()) {
            todo.extend(edges.get(n).into_iter().flatten());
        }
    }
    false
}

fn check(krate: &str) {
    let src = root().join(krate).join("src");
    let all = modules(&src);
    let order = listed(krate);
    let index: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut wrong = vec![];
    // The top-level modules too: no two import each other (through any of their files).
    let top = |m: &str| m.split("::").next().unwrap_or("").to_owned();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, path) in &all {
        let text = std::fs::read_to_string(path).unwrap();
        for used in uses(m, &text, &all) {
            let (a, b) = (top(m), top(&used));
            if a != b && !a.is_empty() {
                edges.entry(a).or_default().insert(b);
            }
        }
    }
    for (a, bs) in &edges {
        for b in bs {
            if edges.get(b).is_some_and(|back| reaches(&edges, back, a)) {
                wrong.push(format!("{krate}: {a} and {b} import each other"));
            }
        }
    }
    for m in all.keys().filter(|m| !m.is_empty()) {
        if !index.contains_key(m.as_str()) {
            wrong.push(format!("{m}: not in ARCHITECTURE.md's layers of {krate}"));
        }
    }
    for m in &order {
        if !all.contains_key(m) {
            wrong.push(format!("{m}: listed, but {krate} has no such module"));
        }
    }
    for (m, path) in &all {
        let Some(&mine) = index.get(m.as_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap();
        for used in uses(m, &text, &all) {
            match index.get(used.as_str()) {
                Some(&theirs) if theirs < mine => {}
                _ => wrong.push(format!(
                    "{krate}::{m} uses {used}, which is not listed before it"
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_edges_modules_use_only_those_below_them() {
    check("edge");
}

#[test]
fn wires_modules_use_only_those_below_them() {
    check("wire");
}

#[test]
fn the_reader_sees_groups_children_and_relative_paths() {
    let all: BTreeMap<String, PathBuf> = ["a", "a::b", "a::c", "d", "d::e"]
        .iter()
        .map(|m| (m.to_string(), PathBuf::new()))
        .collect();
    let src = "use crate::{a::b, d::{e, f as g}};\nuse super::c; // crate::x\nfn f() { crate::d::e::x(); }\n#[cfg(test)]\nmod t { use crate::a::c; }";
    let got = uses("a::c", src, &all);
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        ["a::b", "d", "d::e"],
        "d::f is no module: d; super::c is itself; the tests and comments are not read"
    );
    let got = uses("a", "use b::X; fn f() { c::y() }", &all);
    assert_eq!(got.into_iter().collect::<Vec<_>>(), ["a::b", "a::c"]);
}
