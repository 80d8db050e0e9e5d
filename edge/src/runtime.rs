//! The self-hosted runtime's config: the Cap'n Proto text `workerd serve` reads. One generator
//! for the demo, the tests, the benchmarks and `zsp serve` (what an operator runs): the worker's modules, the
//! site from a disk folder, the storage object's SQLite on a writable disk folder, each upstream
//! receiver as an `external` server, 差评 alert routes through a network service limited to the
//! categories the operator allows (the worker reaches no other address), every setting from the
//! environment (secrets never enter the file), and one socket.

use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, String>;

/// The storage object's `uniqueKey`: its data lives in `<data>/<UNIQUE_KEY>/`. Changing it
/// orphans every stored rating, so it is fixed forever.
pub const UNIQUE_KEY: &str = "zhangshangping-store";
/// The office's worker's service name, which the citizen's worker binds (its name in
/// `edge/wrangler.toml` too, as `wrangler.citizen.toml` binds it).
pub const OFFICE_SERVICE: &str = "zhangshangping";
/// The flag for V8 the config passes (Cloudflare's network compiles as it sees fit).
pub const V8_FLAGS: &str = "--no-wasm-lazy-compilation";
/// The worker's compatibility date, the same as `edge/wrangler.toml`'s.
pub const COMPATIBILITY_DATE: &str = "2026-01-01";

/// Where a receiver is, from its URL: the address workerd connects to, and TLS or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub address: String,
    pub tls_host: Option<String>,
}

impl Upstream {
    /// Every receiver the settings name (`UPSTREAMS`, or `UPSTREAM_URL`), with its address.
    pub fn all(get: &dyn Fn(&str) -> Option<String>) -> Result<Vec<(String, Upstream)>> {
        crate::config::receiver_urls(get)
            .into_iter()
            .map(|(name, url)| {
                let u = Upstream::from_url(&url).map_err(|e| format!("receiver {name}: {e}"))?;
                Ok((name, u))
            })
            .collect()
    }

    /// `https://host[:port]/…` or `http://127.0.0.1:port/…` (the worker's own config check
    /// refuses anything else, and says so in its log).
    pub fn from_url(url: &str) -> Result<Upstream> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?}: no scheme"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("{url:?}: no host"));
        }
        let (tls, port) = match scheme {
            "https" => (true, 443),
            "http" => (false, 80),
            _ => {
                return Err(format!(
                    "{url:?}: must be https:// (or http:// on 127.0.0.1)"
                ));
            }
        };
        let host = authority
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(authority, |(h, _)| h);
        let address = if host.len() == authority.len() {
            format!("{authority}:{port}")
        } else {
            authority.to_owned()
        };
        Ok(Upstream {
            address,
            tls_host: tls.then(|| host.to_owned()),
        })
    }
}

/// The worker bundles' files, under the bundle's folder (`edge/build`, the pack's `worker`): the
/// office's worker (`index.js`, `index_bg.wasm`: every route, and the storage object with its
/// alarm) and the citizen's (`citizen/`: the landing page, the submission, the receipt and the
/// site's files; it hands every other route to the office's).
pub const BUNDLE: [&str; 4] = [
    "index.js",
    "index_bg.wasm",
    "citizen/index.js",
    "citizen/index_bg.wasm",
];

/// One self-hosted deployment's files and address.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// `host:port` to listen on (127.0.0.1 unless the operator says otherwise).
    pub listen: String,
    /// The worker bundles' folder (`edge/build`): [`BUNDLE`].
    pub worker: PathBuf,
    /// The site (`target/site`): the page's template and hashed assets.
    pub site: PathBuf,
    /// Where the storage object's SQLite files live (created if missing).
    pub data: PathBuf,
    /// The upstream receivers: each its name and address ([`Upstream::all`]).
    pub upstreams: Vec<(String, Upstream)>,
    /// Where 差评 alert routes (robots, webhooks: addresses set in the console) may be, as
    /// workerd's network categories: `public` for the robots; `private` adds an intranet bridge;
    /// `local` is for the demo's and the tests' receivers on 127.0.0.1.
    pub alert_networks: Vec<String>,
    /// The settings bound from the environment: `edge::routes::settings`.
    pub settings: Vec<&'static str>,
}

/// A Cap'n Proto text literal; paths and addresses are the operator's, so quotes are refused.
fn text(s: &str) -> Result<String> {
    if s.contains(['"', '\\', '\n']) {
        return Err(format!(
            "{s:?} cannot be written into the runtime config (quote, backslash or newline)"
        ));
    }
    Ok(format!("\"{s}\""))
}

fn path_text(p: &Path) -> Result<String> {
    text(&p.to_string_lossy())
}

/// `to` as seen from the folder `from` (both absolute): workerd reads an `embed` relative to the
/// config file.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let (a, b): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    out
}

impl Runtime {
    /// The config text, to be written into the folder `dir`: the worker's modules are embedded
    /// relative to it; the disk folders are written as given (absolute: workerd reads them
    /// relative to where it runs).
    pub fn config(&self, dir: &Path) -> Result<String> {
        let mut services = vec![
            format!("(name = {}, worker = .worker)", text(OFFICE_SERVICE)?),
            "(name = \"citizen\", worker = .citizen)".to_owned(),
            format!(
                "(name = \"site\", disk = (path = {}))",
                path_text(&self.site)?
            ),
            format!(
                "(name = \"data\", disk = (path = {}, writable = true))",
                path_text(&self.data)?
            ),
            // The worker's own fetch reaches nothing: the upstream is a binding.
            "(name = \"nowhere\", network = (allow = []))".to_owned(),
        ];
        let mut bindings = vec![
            "(name = \"ASSETS\", service = \"site\")".to_owned(),
            "(name = \"STORE\", durableObjectNamespace = \"Store\")".to_owned(),
        ];
        if !self.alert_networks.is_empty() {
            let allow = self
                .alert_networks
                .iter()
                .map(|n| match n.as_str() {
                    "public" | "private" | "local" => text(n),
                    other => Err(format!("alert network {other:?}: public, private or local")),
                })
                .collect::<Result<Vec<_>>>()?;
            services.push(format!(
                "(name = \"alerts\", network = (allow = [{}], tlsOptions = (trustBrowserCas = true)))",
                allow.join(", ")
            ));
            bindings.push("(name = \"ALERTS\", service = \"alerts\")".to_owned());
        }
        for (name, u) in &self.upstreams {
            let protocol = match &u.tls_host {
                None => "http = ()".to_owned(),
                Some(h) => format!(
                    "https = (options = (), tlsOptions = (trustBrowserCas = true), certificateHost = {})",
                    text(h)?
                ),
            };
            let service = if name == crate::config::DEFAULT_RECEIVER {
                "upstream".to_owned()
            } else {
                format!("upstream-{name}")
            };
            services.push(format!(
                "(name = {}, external = (address = {}, {protocol}))",
                text(&service)?,
                text(&u.address)?
            ));
            bindings.push(format!(
                "(name = {}, service = {})",
                text(&crate::config::upstream_binding(name))?,
                text(&service)?
            ));
        }
        // The citizen's worker: the site, the storage object of the office's worker, the office's
        // worker itself for every other route, and the same settings.
        let office = text(OFFICE_SERVICE)?;
        let mut citizens = vec![
            bindings[0].clone(),
            format!(
                "(name = \"STORE\", durableObjectNamespace = (className = \"Store\", serviceName = {office}))"
            ),
            format!("(name = \"OFFICE\", service = {office})"),
        ];
        for s in &self.settings {
            let setting = format!("(name = {0}, fromEnvironment = {0})", text(s)?);
            bindings.push(setting.clone());
            citizens.push(setting);
        }
        let modules = |folder: &Path| -> Result<String> {
            Ok(format!(
                "    (name = \"index.js\", esModule = embed {}),\n    (name = \"index_bg.wasm\", wasm = embed {}),",
                path_text(&relative(dir, &folder.join("index.js")))?,
                path_text(&relative(dir, &folder.join("index_bg.wasm")))?
            ))
        };
        let lines = [
            "# 掌上评 on workerd: written by `cargo xtask` or `zsp serve`; `workerd serve <this file> --experimental`.".to_owned(),
            "using Workerd = import \"/workerd/workerd.capnp\";".to_owned(),
            String::new(),
            "const config :Workerd.Config = (".to_owned(),
            // The worker's WebAssembly compiled whole when the process starts, not each function
            // when it is first called: the first city results after a start took 47–65 ms, 37–52
            // with this, for 10–20 ms more before the first answer and 5 MiB more memory
            // (`cargo xtask bench edge` and `bench results` print both).
            format!("  v8Flags = [{}],", text(V8_FLAGS)?),
            format!("  services = [\n    {}\n  ],", services.join(",\n    ")),
            format!(
                "  sockets = [(name = \"http\", address = {}, http = (), service = \"citizen\")],",
                text(&self.listen)?
            ),
            ");".to_owned(),
            String::new(),
            // Every request reaches the citizen's worker first.
            "const citizen :Workerd.Worker = (".to_owned(),
            format!("  modules = [\n{}\n  ],", modules(&self.worker.join("citizen"))?),
            format!("  compatibilityDate = {},", text(COMPATIBILITY_DATE)?),
            format!("  bindings = [\n    {}\n  ],", citizens.join(",\n    ")),
            "  globalOutbound = \"nowhere\",".to_owned(),
            ");".to_owned(),
            String::new(),
            "const worker :Workerd.Worker = (".to_owned(),
            format!("  modules = [\n{}\n  ],", modules(&self.worker)?),
            format!("  compatibilityDate = {},", text(COMPATIBILITY_DATE)?),
            format!("  bindings = [\n    {}\n  ],", bindings.join(",\n    ")),
            format!(
                "  durableObjectNamespaces = [(className = \"Store\", uniqueKey = {}, enableSql = true)],",
                text(UNIQUE_KEY)?
            ),
            "  durableObjectStorage = (localDisk = \"data\"),".to_owned(),
            "  globalOutbound = \"nowhere\",".to_owned(),
            ");".to_owned(),
        ];
        Ok(lines.join("\n") + "\n")
    }
}

/// A runtime config serving one JavaScript module that answers `ok` to everything: the ceiling
/// the edge benchmark compares against, on the same workerd.
/// The module is embedded by its name, beside the config.
pub fn hello_config(listen: &str, module: &str) -> Result<String> {
    Ok(format!(
        "using Workerd = import \"/workerd/workerd.capnp\";\n\
         const config :Workerd.Config = (\n  services = [(name = \"hello\", worker = (modules = [(name = \"index.js\", esModule = embed {})], compatibilityDate = {}))],\n  sockets = [(name = \"http\", address = {}, http = (), service = \"hello\")],\n);\n",
        text(module)?,
        text(COMPATIBILITY_DATE)?,
        text(listen)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_addresses() {
        assert_eq!(
            Upstream::from_url("http://127.0.0.1:9090/ratings").unwrap(),
            Upstream {
                address: "127.0.0.1:9090".into(),
                tls_host: None
            }
        );
        assert_eq!(
            Upstream::from_url("https://hcp.zj.gov.cn/api/in?x=1").unwrap(),
            Upstream {
                address: "hcp.zj.gov.cn:443".into(),
                tls_host: Some("hcp.zj.gov.cn".into())
            }
        );
        assert_eq!(
            Upstream::from_url("https://10.2.3.4:8443/in")
                .unwrap()
                .address,
            "10.2.3.4:8443"
        );
        for bad in [
            "hcp.zj.gov.cn/api",
            "ftp://x/",
            "https:///x",
            "https://u@h/",
        ] {
            assert!(Upstream::from_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_config_binds_settings_from_the_environment_and_nothing_else_is_reachable() {
        let r = Runtime {
            listen: "127.0.0.1:8787".into(),
            worker: "/srv/zsp/worker".into(),
            site: "/srv/zsp/site".into(),
            data: "/var/lib/zsp".into(),
            upstreams: vec![
                (
                    "upstream".into(),
                    Upstream::from_url("http://127.0.0.1:9/r").unwrap(),
                ),
                (
                    "dept_x".into(),
                    Upstream::from_url("https://x.gov.cn/r").unwrap(),
                ),
            ],
            alert_networks: vec!["public".into()],
            settings: vec!["QR_KEYS", "UPSTREAM_URL"],
        };
        let c = r.config(Path::new("/etc/zsp")).unwrap();
        assert!(c.contains("esModule = embed \"../../srv/zsp/worker/index.js\""));
        // Requests reach the citizen's worker, which reaches the office's and its storage object,
        // with the same settings; only the office's reaches a receiver or a chat group.
        assert!(c.contains("esModule = embed \"../../srv/zsp/worker/citizen/index.js\""));
        assert!(c.contains("http = (), service = \"citizen\")]"));
        let (citizen, office) = c.split_once("const worker").unwrap();
        let citizen = citizen.split_once("const citizen").unwrap().1;
        for both in [
            "(name = \"QR_KEYS\", fromEnvironment = \"QR_KEYS\")",
            "(name = \"ASSETS\", service = \"site\")",
            "globalOutbound = \"nowhere\"",
        ] {
            assert!(citizen.contains(both) && office.contains(both), "{both}");
        }
        assert!(citizen.contains("(name = \"OFFICE\", service = \"zhangshangping\")"));
        assert!(citizen.contains(
            "durableObjectNamespace = (className = \"Store\", serviceName = \"zhangshangping\")"
        ));
        for office_only in [
            "(name = \"UPSTREAM\", service",
            "(name = \"ALERTS\", service",
            "durableObjectStorage",
        ] {
            assert!(!citizen.contains(office_only), "{office_only}");
            assert!(office.contains(office_only), "{office_only}");
        }
        assert!(c.contains("external = (address = \"127.0.0.1:9\", http = ())"));
        assert!(c.contains("(name = \"UPSTREAM\", service = \"upstream\")"));
        assert!(c.contains("(name = \"upstream-dept_x\", external = (address = \"x.gov.cn:443\""));
        assert!(c.contains("(name = \"UPSTREAM_DEPT_X\", service = \"upstream-dept_x\")"));
        assert!(c.contains("globalOutbound = \"nowhere\""));
        assert!(c.contains("network = (allow = [])"));
        assert!(c.contains(
            "(name = \"alerts\", network = (allow = [\"public\"], tlsOptions = (trustBrowserCas = true)))"
        ));
        assert!(c.contains("(name = \"ALERTS\", service = \"alerts\")"));
        let bad = Runtime {
            alert_networks: vec!["everything".into()],
            ..r.clone()
        };
        assert!(
            bad.config(Path::new("/"))
                .unwrap_err()
                .contains("public, private or local")
        );
        assert!(c.contains("uniqueKey = \"zhangshangping-store\", enableSql = true"));
        assert!(c.contains("localDisk = \"data\""));
        assert!(c.contains("address = \"127.0.0.1:8787\""));
        let quoted = Runtime {
            data: "/var/lib/\"zsp".into(),
            ..r
        };
        assert!(
            quoted
                .config(Path::new("/"))
                .unwrap_err()
                .to_string()
                .contains("quote")
        );
    }
}
