//! `zsp.env`, the operator's one config file: `NAME=value` lines, `#` comments. Its names are
//! the worker's settings (`routes::settings`) and the runner's own ([`RUNNER`]); anything else, a line
//! that is not `NAME=value` or a name set twice is an error naming the line.

use crate::config::Setting;
use std::path::{Path, PathBuf};

/// The runner's own settings: where workerd listens and keeps the data.
pub const RUNNER: &[Setting] = &[
    Setting {
        name: "ZSP_LISTEN",
        secret: false,
        default: "127.0.0.1:8787",
        about: "address:port the service listens on; keep 127.0.0.1 behind nginx or the load balancer",
    },
    Setting {
        name: "ZSP_DATA",
        secret: false,
        default: "data",
        about: "folder of the ratings database (relative to this file's folder); only it is written",
    },
    Setting {
        name: "ZSP_ALERT_NETWORKS",
        secret: false,
        default: "public",
        about: "where 差评 alert routes may be: public (企业微信, 钉钉); add private for an intranet bridge",
    },
];

/// Every name `zsp.env` may set.
pub fn known() -> Vec<Setting> {
    RUNNER
        .iter()
        .copied()
        .chain(crate::routes::settings())
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct EnvFile {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl EnvFile {
    pub fn read(path: &Path) -> Result<EnvFile, Vec<String>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![format!(
                "{}: cannot read it: {e} (copy zsp.env.example there, then `zsp keys >> {0}`)",
                path.display()
            )]
        })?;
        EnvFile::parse(path, &text)
    }

    /// Every problem of the file at once, each naming its line.
    pub fn parse(path: &Path, text: &str) -> Result<EnvFile, Vec<String>> {
        let mut entries: Vec<Entry> = vec![];
        let mut problems = vec![];
        let at = |line: usize| format!("{} line {line}", path.display());
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let t = t.strip_prefix("export ").unwrap_or(t);
            let Some((name, value)) = t.split_once('=') else {
                problems.push(format!("{}: `{t}` is not NAME=value", at(line)));
                continue;
            };
            let name = name.trim();
            if !known().iter().any(|s| s.name == name) {
                let hint = match suggest(name) {
                    Some(s) => format!("did you mean {s}?"),
                    None => "zsp.env.example lists every setting".to_owned(),
                };
                problems.push(format!(
                    "{}: {name} is not a setting of 掌上评 ({hint})",
                    at(line)
                ));
                continue;
            }
            if let Some(first) = entries.iter().find(|e| e.name == name) {
                problems.push(format!(
                    "{}: {name} is set again (first on line {}); keep one",
                    at(line),
                    first.line
                ));
                continue;
            }
            entries.push(Entry {
                line,
                name: name.to_owned(),
                value: unquote(value.trim()).to_owned(),
            });
        }
        if problems.is_empty() {
            Ok(EnvFile {
                path: path.to_path_buf(),
                entries,
            })
        } else {
            Err(problems)
        }
    }

    /// A setting's value; an empty value is unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A runner setting's value, or its default.
    pub fn runner(&self, name: &str) -> &str {
        self.get(name).unwrap_or_else(|| {
            RUNNER
                .iter()
                .find(|s| s.name == name)
                .map_or("", |s| s.default)
        })
    }

    /// Where a setting is, for an error: `FILE line N`, or `FILE` when it is not set there.
    pub fn place(&self, name: &str) -> String {
        match self.entries.iter().find(|e| e.name == name) {
            Some(e) => format!("{} line {}", self.path.display(), e.line),
            None => format!("{} (not set)", self.path.display()),
        }
    }

    /// The folder relative paths in the file are read from.
    pub fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// Double quotes around a value are dropped; single quotes are the value's own (`'self'`).
fn unquote(v: &str) -> &str {
    match v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner,
        None => v,
    }
}

/// The known name closest to a misspelt one (at most two edits away).
fn suggest(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    known()
        .into_iter()
        .map(|s| (edits(&upper, s.name), s.name))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// `zsp.env.example`: every setting with its line of explanation and its default, commented out.
pub fn example() -> String {
    let mut out = String::from(
        "# 掌上评: the settings of `zsp serve`. Copy this file to zsp.env, readable by root and the\n\
         # service's user only (install -m 0640 -o root -g zhangshangping), add the secrets\n\
         # (`zsp keys >> zsp.env`; QR_KEYS= the text of qr-gen's key file), uncomment or append\n\
         # what you change, then `zsp check`. A line is NAME=value; unset settings take the\n\
         # default shown. OPERATORS.md, beside this file, has every step.\n",
    );
    for s in known() {
        out.push('\n');
        let default = if s.secret {
            "secret, no default".to_owned()
        } else if s.default.is_empty() {
            "default: unset".to_owned()
        } else {
            format!("default: {}", s.default)
        };
        out.push_str(&format!(
            "# {} ({default})\n# {}={}\n",
            s.about, s.name, s.default
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<EnvFile, Vec<String>> {
        EnvFile::parse(Path::new("/etc/zsp/zsp.env"), t)
    }

    #[test]
    fn values_comments_quotes_and_defaults() {
        let f = parse(
            "# a comment\n\nZSP_LISTEN = 127.0.0.1:9000\nexport RETENTION_DAYS=\"14\"\nSITE_OFFICE=某市政务服务中心\nFRAME_ANCESTORS='self'\nUPSTREAM_URL=\n",
        )
        .unwrap();
        assert_eq!(f.get("ZSP_LISTEN"), Some("127.0.0.1:9000"));
        assert_eq!(f.get("RETENTION_DAYS"), Some("14"));
        assert_eq!(f.get("SITE_OFFICE"), Some("某市政务服务中心"));
        assert_eq!(f.get("FRAME_ANCESTORS"), Some("'self'"));
        assert_eq!(f.get("UPSTREAM_URL"), None, "empty is unset");
        assert_eq!(f.runner("ZSP_DATA"), "data");
        assert_eq!(f.place("RETENTION_DAYS"), "/etc/zsp/zsp.env line 4");
        assert_eq!(f.place("QR_KEYS"), "/etc/zsp/zsp.env (not set)");
        assert_eq!(f.dir(), Path::new("/etc/zsp"));
    }

    #[test]
    fn every_bad_line_is_named_at_once() {
        let e =
            parse("ZSP_LISTEN=1\nUPSTREAM_ULR=https://x.gov.cn/\nnonsense\nZSP_LISTEN=2\nFOO=1\n")
                .unwrap_err();
        assert_eq!(
            e,
            [
                "/etc/zsp/zsp.env line 2: UPSTREAM_ULR is not a setting of 掌上评 (did you mean UPSTREAM_URL?)",
                "/etc/zsp/zsp.env line 3: `nonsense` is not NAME=value",
                "/etc/zsp/zsp.env line 4: ZSP_LISTEN is set again (first on line 1); keep one",
                "/etc/zsp/zsp.env line 5: FOO is not a setting of 掌上评 (zsp.env.example lists every setting)",
            ]
        );
    }

    #[test]
    fn the_example_lists_every_setting_and_parses_as_all_defaults() {
        let ex = example();
        for s in known() {
            assert!(ex.contains(&format!("# {}=", s.name)), "{}", s.name);
        }
        assert!(parse(&ex).unwrap().entries.is_empty());
        // Uncommenting every line gives a file without a problem.
        let on: String = ex
            .lines()
            .map(|l| {
                let t = l.trim_start_matches("# ");
                if t.contains('=')
                    && known()
                        .iter()
                        .any(|s| t.starts_with(&format!("{}=", s.name)))
                {
                    format!("{t}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        assert_eq!(parse(&on).unwrap().entries.len(), known().len());
    }
}
