//! Building the worker and running it self-hosted: `workerd serve` on a config from `runtime`,
//! data on a local folder, 127.0.0.1 only, nothing sent anywhere but a local upstream.

use crate::setup::Tools;
use crate::sh;
use crate::stages::stage;
use anyhow::{Context, Result, bail};
use edge::runtime::{Runtime, Upstream, hello_config};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wire::key::{Key, KeyPurpose};

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("the system's randomness: {e}"))?;
    Ok(b)
}

/// This machine's local keys: made once, kept in `target/local-keys`, never committed.
pub struct LocalKeys {
    pub qr_file: PathBuf,
    pub qr: String,
    pub challenge: String,
    pub upstream: String,
    pub admin_token: String,
}

pub fn local_keys() -> Result<LocalKeys> {
    let dir = crate::setup::target_dir().join("local-keys");
    crate::fs::create_dir_all(&dir)?;
    let key = |name: &str, purpose| -> Result<String> {
        let f = dir.join(name);
        if let Ok(t) = crate::fs::read_to_string(&f) {
            return Ok(t.trim().to_owned());
        }
        let t = Key::new(purpose, 1, random()?).to_text();
        crate::fs::write(&f, format!("{t}\n"))?;
        Ok(t)
    };
    let qr = key("qr.key", KeyPurpose::Qr)?;
    let challenge = key("challenge.key", KeyPurpose::Challenge)?;
    let upstream = key("upstream.key", KeyPurpose::Upstream)?;
    let tok = dir.join("admin-token");
    let admin_token = match crate::fs::read_to_string(&tok) {
        Ok(t) => t.trim().to_owned(),
        Err(_) => {
            let t = wire::key::hex(&random::<16>()?);
            crate::fs::write(&tok, &t)?;
            t
        }
    };
    Ok(LocalKeys {
        qr_file: dir.join("qr.key"),
        qr,
        challenge,
        upstream,
        admin_token,
    })
}

/// Builds the worker bundles, the steps worker-build 0.8.7 takes, without installing it (four
/// minutes of compiling on a cold machine): cargo (the size profile: opt z, LTO, one codegen unit;
/// linted), the pinned wasm-bindgen CLI (`--target module`, with the reset and abort hooks the
/// shim relies on), npm's wasm-opt (binaryen 132; never Debian's 108; names and producers
/// stripped: the runtime needs neither), worker-build's entry shim (`worker-shim.js`) and npm's
/// esbuild. Nothing is downloaded. Two bundles of the one crate: the citizen's worker
/// (`edge/build/citizen`: `edge` without its `office` feature) and the office's (`edge/build`:
/// `index.js` and `index_bg.wasm`, and `worker/shim.mjs`, the entry `wrangler.toml` names). The
/// citizen's module as cargo built it is kept as `worker/edge-citizen.wasm` in the target folder
/// (the benchmark reads its functions' names).
pub fn build_worker(root: &Path, tools: &Tools) -> Result<()> {
    let target = crate::setup::target_dir().join("worker");
    let built = target.join("wasm32-unknown-unknown/wasm-release/edge.wasm");
    let out = root.join("edge/build");
    let _ = crate::fs::remove_dir_all(&out);
    crate::fs::create_dir_all(&out)?;
    crate::fs::write(out.join(".gitignore"), "*\n")?;
    // The citizen's first: cargo's `edge.wasm` is then the office's, as the benchmark reads it.
    for (citizen, dir) in [(true, out.join("citizen")), (false, out.clone())] {
        let mut cargo = sh::cargo(root);
        cargo
            .args(["build", "--lib", "-p", "edge", "--profile", "wasm-release"])
            .args(["--target", "wasm32-unknown-unknown"])
            // A target folder of its own: the worker builds while the page does.
            .env("CARGO_TARGET_DIR", &target)
            // wasm-bindgen's macros use js-sys's futures, as worker-build has them.
            .env("WASM_BINDGEN_USE_JS_SYS", "1");
        if citizen {
            cargo.arg("--no-default-features");
        }
        sh::run(&mut cargo).context("building the worker")?;
        if citizen {
            std::fs::copy(&built, target.join("edge-citizen.wasm"))
                .context("keeping the citizen's module")?;
        }
        bundle(tools, &built, &dir)?;
    }
    crate::fs::create_dir_all(out.join("worker"))?;
    crate::fs::write(
        out.join("worker/shim.mjs"),
        "export * from '../index.js';\nexport { default } from '../index.js';\n",
    )?;
    Ok(())
}

/// `index.js` and `index_bg.wasm` in `out` from cargo's module `built`.
fn bundle(tools: &Tools, built: &Path, out: &Path) -> Result<()> {
    crate::fs::create_dir_all(out)?;
    sh::run(
        Command::new(tools.wasm_bindgen_bin.join("wasm-bindgen"))
            .arg(built)
            .arg("--out-dir")
            .arg(out)
            .args([
                "--no-typescript",
                "--target",
                "module",
                "--out-name",
                "index",
            ])
            .args([
                "--experimental-reset-state-function",
                "--force-enable-abort-handler",
            ]),
    )
    .context("wasm-bindgen on the worker")?;
    let wasm = out.join("index_bg.wasm");
    sh::run(
        Command::new(tools.node_bin.join("wasm-opt"))
            .arg("-O")
            // What workerd runs (worker-build's list): never a newer encoding it lacks.
            .args(WASM_FEATURES.iter().map(|f| format!("--enable-{f}")))
            .args(["--strip-debug", "--strip-producers"])
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm),
    )
    .context("wasm-opt on the worker")?;
    let glue = crate::fs::read_to_string(out.join("index.js"))?;
    let mut shim = include_str!("worker-shim.js").replace("$HANDLERS", &handlers(&glue));
    for class in exported_classes(&glue) {
        shim.push_str(&format!(
            "export const {class} = new Proxy(exports.{class}, classProxyHooks);\n"
        ));
    }
    crate::fs::write(out.join("shim.js"), shim)?;
    sh::run(
        Command::new(tools.node_bin.join("esbuild"))
            .args(["--external:./index_bg.wasm", "--external:cloudflare:*"])
            .args([
                "--format=esm",
                "--bundle",
                "./shim.js",
                "--outfile=index.js",
            ])
            .args(["--allow-overwrite", "--minify"])
            .current_dir(out),
    )
    .context("bundling the worker")?;
    // The glue imports the module with `import source` (a source phase import); workerd and
    // wrangler take the plain import of a `.wasm` file as the compiled module.
    let bundle = crate::fs::read_to_string(out.join("index.js"))?;
    crate::fs::write(
        out.join("index.js"),
        bundle.replace("import source ", "import "),
    )?;
    crate::fs::remove_file(out.join("shim.js"))?;
    let _ = crate::fs::remove_dir_all(out.join("snippets"));
    Ok(())
}

/// The WebAssembly features wasm-opt may use (rustc's wasm32 defaults and exception handling).
const WASM_FEATURES: &[&str] = &[
    "mutable-globals",
    "sign-ext",
    "nontrapping-float-to-int",
    "bulk-memory",
    "multivalue",
    "reference-types",
    "exception-handling",
];

/// The `export` declarations of wasm-bindgen's glue, each from its keyword on.
fn exports(glue: &str) -> impl Iterator<Item = &str> {
    glue.match_indices("export ").filter_map(move |(i, _)| {
        let boundary = glue[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == ';' || c == '}');
        boundary.then(|| &glue[i + "export ".len()..])
    })
}

/// The entry's handlers: each function the glue exports (`fetch`, `scheduled`…) on the entry
/// class, called with the runtime's `env` and `ctx` as workers-rs expects.
fn handlers(glue: &str) -> String {
    const SYSTEM: &[&str] = &["__wbg_reset_state", "__worker_init_state"];
    const EVENTS: &[&str] = &["fetch", "queue", "scheduled", "email", "connect"];
    let mut out = String::new();
    for decl in exports(glue) {
        let name = if let Some(rest) = decl
            .strip_prefix("function")
            .or_else(|| decl.strip_prefix("async function"))
        {
            rest.split('(').next().map(str::trim)
        } else if let Some(rest) = decl.strip_prefix('{') {
            rest.split_once(" as ")
                .and_then(|(_, r)| r.split('}').next())
                .map(str::trim)
        } else {
            None
        };
        let Some(name) = name.filter(|n| !SYSTEM.contains(n)) else {
            continue;
        };
        if EVENTS.contains(&name) {
            out.push_str(&format!(
                "Entrypoint.prototype.{name} = function {name} (arg) {{\n  \
                 return exports.{name}.call(this, arg, this.env, this.ctx);\n}}\n"
            ));
        } else {
            out.push_str(&format!("Entrypoint.prototype.{name} = exports.{name};\n"));
        }
    }
    out
}

/// The classes the glue exports (the Durable Object among them).
fn exported_classes(glue: &str) -> Vec<&str> {
    exports(glue)
        .filter_map(|decl| {
            if let Some(rest) = decl.strip_prefix("class ") {
                rest.split('{').next().map(str::trim)
            } else {
                let (name, def) = decl.strip_prefix("var ")?.split_once('=')?;
                def.trim_start().starts_with("class").then(|| name.trim())
            }
        })
        .collect()
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The workerd binary from npm (`workerd`'s platform package, its version pinned by
/// `package-lock.json`), taken from the platform package itself: the `workerd` package's own
/// `bin/workerd` is only replaced by the binary when npm runs its install script.
pub fn workerd_bin(tools: &Tools) -> PathBuf {
    let platform = match std::env::consts::ARCH {
        "aarch64" => "workerd-linux-arm64",
        _ => "workerd-linux-64",
    };
    tools
        .node_bin
        .join("../@cloudflare")
        .join(platform)
        .join("bin/workerd")
}

/// A running `workerd serve`; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Worker {
    child: Child,
    pub base: String,
    pub admin_token: String,
    pub log: PathBuf,
    /// From the spawn to the first answer of `/status` (to within 10 ms).
    pub ready_in: Duration,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Worker {
    /// SIGTERM: workerd finishes the requests in flight and exits.
    pub fn stop(&mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    /// Waits until workerd exits (the demo runs until Ctrl-C).
    pub fn wait(mut self) -> Result<()> {
        let status = self.child.wait()?;
        bail!("workerd exited ({status}); its log: {}", self.log.display())
    }

    /// SIGKILL, as a power cut or the OOM killer would: nothing is flushed.
    pub fn kill(&mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }

    /// The process id (for a test that reads /proc itself).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's resident memory, in MiB (from /proc).
    pub fn rss_mib(&self) -> Option<f64> {
        let status = crate::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }

    /// The CPU time the process has used so far, in seconds (user + system, from /proc).
    pub fn cpu_secs(&self) -> Option<f64> {
        let stat = crate::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }
}

pub struct WorkerOptions<'a> {
    pub port: u16,
    /// The data folder: the storage object's SQLite (kept across restarts with the same folder).
    pub state: &'a Path,
    /// Settings for this run (e.g. `UPSTREAM_URL` for a test receiver), on top of the keys.
    pub vars: &'a [(&'a str, String)],
    pub log: PathBuf,
}

/// Writes the runtime config for `o` into its state folder and starts `workerd serve` on it,
/// with this machine's keys and `o.vars` in its environment.
pub fn start(
    tools: &Tools,
    root: &Path,
    keys: &LocalKeys,
    o: &WorkerOptions<'_>,
) -> Result<Worker> {
    let upstreams = Upstream::all(&|name| {
        o.vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .map_err(anyhow::Error::msg)?;
    let data = o.state.join("data");
    crate::fs::create_dir_all(&data)?;
    let config = Runtime {
        listen: format!("127.0.0.1:{}", o.port),
        worker: root.join("edge/build"),
        site: crate::setup::target_dir().join("site"),
        data,
        upstreams,
        // The demo's and the tests' alert receivers are on 127.0.0.1; nothing else is reachable.
        alert_networks: vec!["local".into()],
        settings: edge::routes::settings().iter().map(|s| s.name).collect(),
    }
    .config(o.state)
    .map_err(anyhow::Error::msg)?;
    let file = o.state.join("workerd.capnp");
    crate::fs::write(&file, config)?;
    let mut c = Command::new(workerd_bin(tools));
    c.arg("serve").arg(&file).arg("--experimental");
    // Only what the config binds from the environment reaches the worker.
    for s in edge::routes::settings() {
        c.env_remove(s.name);
    }
    for (k, v) in [
        ("QR_KEYS", &keys.qr),
        ("CHALLENGE_KEYS", &keys.challenge),
        ("UPSTREAM_KEYS", &keys.upstream),
        ("ADMIN_TOKEN", &keys.admin_token),
    ] {
        c.env(k, v);
    }
    for (k, v) in o.vars {
        c.env(k, v);
    }
    spawn(c, o.port, &keys.admin_token, &o.log)
}

/// The worker bundles of `build` (`edge::runtime::BUNDLE`) as `root`'s `edge/build`,
/// to start as [`start`]`(…, root, …)` (another build beside this one: the benchmarks').
pub fn bundle_at(build: &Path, root: &Path) -> Result<()> {
    let out = root.join("edge/build");
    crate::fs::create_dir_all(out.join("citizen"))?;
    for f in ::edge::runtime::BUNDLE {
        std::fs::copy(build.join(f), out.join(f))
            .with_context(|| format!("copying {}", build.join(f).display()))?;
    }
    Ok(())
}

/// Starts workerd with a worker of one line of JavaScript that answers every request with `ok`:
/// what this machine's workerd serves at best, the ceiling of the edge benchmark.
pub fn start_hello(tools: &Tools, dir: &Path) -> Result<Worker> {
    crate::fs::create_dir_all(dir)?;
    crate::fs::write(
        dir.join("index.js"),
        "export default { fetch() { return new Response(\"ok\"); } };\n",
    )?;
    let port = free_port()?;
    let file = dir.join("workerd.capnp");
    crate::fs::write(
        &file,
        hello_config(&format!("127.0.0.1:{port}"), "index.js").map_err(anyhow::Error::msg)?,
    )?;
    let mut c = Command::new(workerd_bin(tools));
    c.arg("serve").arg(&file);
    spawn(c, port, "", &dir.join("workerd.log"))
}

/// Spawns a prepared workerd (or `zsp serve`, which becomes workerd), logging to `log`, and
/// waits until it answers `/status` on `port`.
pub fn spawn(mut c: Command, port: u16, admin_token: &str, log: &Path) -> Result<Worker> {
    let file = std::fs::File::create(log).with_context(|| format!("writing {}", log.display()))?;
    c.stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    let started = Instant::now();
    let child = c.spawn().context("starting workerd")?;
    let mut w = Worker {
        child,
        base: format!("http://127.0.0.1:{port}"),
        admin_token: admin_token.to_string(),
        log: log.to_path_buf(),
        ready_in: Duration::ZERO,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = w.child.try_wait() {
            let log = crate::fs::read_to_string(&w.log).unwrap_or_default();
            bail!("workerd exited ({status}):\n{log}");
        }
        if let Ok(r) = ureq::get(&format!("{}/status", w.base)).call()
            && r.status() == 200
        {
            w.ready_in = started.elapsed();
            return Ok(w);
        }
        if Instant::now() > deadline {
            w.stop();
            let log = crate::fs::read_to_string(&w.log).unwrap_or_default();
            bail!("workerd did not answer /status within 60 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Worker {
    /// A figure of `/metrics` (asked with the operator's token): the sample named `name`, labels
    /// included.
    pub fn metric(&self, name: &str) -> Result<i64> {
        let text = ureq::get(&format!("{}/metrics", self.base))
            .set("Authorization", &format!("Bearer {}", self.admin_token))
            .call()?
            .into_string()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .with_context(|| format!("{name} in /metrics"))
    }

    /// Loads a qr-gen directory (and its revocations) through the admin API.
    pub fn load(&self, sheets: &Path) -> Result<()> {
        for (file, path) in [
            ("directory.json", "/admin/directory"),
            ("revocations.json", "/admin/revocations"),
        ] {
            let body = crate::fs::read_to_string(sheets.join(file))
                .with_context(|| format!("reading {}", sheets.join(file).display()))?;
            self.put(path, &body)
                .with_context(|| format!("loading {file}"))?;
        }
        Ok(())
    }

    /// A JSON body PUT to `path` with the operator's token (a directory, revocations); the
    /// worker's refusal, if any, in the error.
    pub fn put(&self, path: &str, body: &str) -> Result<()> {
        let r = ureq::put(&format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.admin_token))
            .set("Content-Type", "application/json")
            .send_string(body);
        match r {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, r)) => {
                bail!("PUT {path}: HTTP {code}: {}", r.into_string()?)
            }
            Err(e) => bail!("PUT {path}: {e}"),
        }
    }
}

/// The Cloudflare configs, in the order they deploy: the office's worker (with the storage object)
/// before the citizen's, which binds both.
pub const WRANGLER_CONFIGS: [&str; 2] = ["wrangler.toml", "wrangler.citizen.toml"];

/// `wrangler deploy --dry-run` of `edge/<file>` (`wrangler.toml`, the office's worker, or
/// `wrangler.citizen.toml`) with the built worker and site: what Cloudflare would be given (the
/// bindings, the Durable Object's SQLite migration), checked by wrangler itself, offline. Returns
/// what wrangler printed.
pub fn deploy_dry_run(tools: &Tools, root: &Path, file: &str) -> Result<String> {
    let out = crate::setup::target_dir()
        .join("wrangler-dry-run")
        .join(file.trim_end_matches(".toml"));
    crate::fs::create_dir_all(&out)?;
    // The config as committed, its two paths made absolute: the worker's build in the clone and
    // the page in cargo's target folder, wherever that is (CI keeps it outside the clone).
    let toml = crate::fs::read_to_string(root.join("edge").join(file))?;
    let site = crate::setup::target_dir().join("site");
    let config = out.join("wrangler.toml");
    let mut named = (false, false);
    let rewritten: Vec<String> = toml
        .lines()
        .map(|l| {
            if l == "directory = \"../target/site\"" {
                named.0 = true;
                format!("directory = {:?}", site.display().to_string())
            } else if let Some(main) = l
                .strip_prefix("main = \"build/")
                .and_then(|m| m.strip_suffix('"'))
            {
                named.1 = true;
                let main = root.join("edge/build").join(main);
                format!("main = {:?}", main.display().to_string())
            } else {
                l.to_owned()
            }
        })
        .collect();
    if named != (true, true) {
        bail!("edge/{file} no longer names ../target/site and a main under build/");
    }
    let rewritten = rewritten.join("\n") + "\n";
    crate::fs::write(&config, rewritten)?;
    let o = Command::new(tools.node_bin.join("wrangler"))
        .args(["deploy", "--dry-run", "--config"])
        .arg(&config)
        .arg("--outdir")
        .arg(out.join("bundle"))
        .current_dir(root.join("edge"))
        .env("CI", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("DO_NOT_TRACK", "1")
        .env(
            "XDG_CONFIG_HOME",
            crate::setup::target_dir().join("wrangler-home"),
        )
        .stdin(Stdio::null())
        .output()
        .context("running wrangler")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if !o.status.success() {
        bail!("wrangler refused edge/wrangler.toml:\n{text}");
    }
    Ok(text)
}

/// Everything `demo` and the tests need before a worker can start: the app, the worker and this
/// machine's keys. The storage object brings its schema up to date itself when it starts.
pub fn build_stack(tools: &Tools, root: &Path) -> Result<LocalKeys> {
    stage("build: the page (app, wasm-release)", || {
        crate::site::build(tools, root)
    })?;
    stage("build: the worker (edge, wasm-release)", || {
        build_worker(root, tools)
    })?;
    local_keys()
}

/// Builds `target/debug/qr-gen` for `sample_sheets`. Not for `cargo xtask test`: its
/// `cargo test --workspace` builds the same binary with the whole workspace's features, and a
/// build of qr-gen alone (other features for shared dependencies) would compile the PDF and font
/// crates a second time.
pub fn build_qr_gen(root: &Path) -> Result<()> {
    sh::run(sh::cargo(root).args(["build", "--quiet", "-p", "qr-gen"]))
}

/// Runs qr-gen (`target/debug/qr-gen`) on the committed sample roster with this machine's local
/// key.
pub fn sample_sheets(root: &Path, keys: &LocalKeys, host: &str, out: &Path) -> Result<()> {
    let bin = crate::setup::target_dir().join("debug/qr-gen");
    if !bin.is_file() {
        bail!(
            "{} is missing: run the tests through `cargo xtask test`, which builds it",
            bin.display()
        );
    }
    roster_sheets(
        &bin,
        &root.join("qr-gen/samples/roster.csv"),
        &keys.qr_file,
        host,
        out,
    )
}

/// `qr-gen sheets` (the program at `qr_gen`, a build's or a release's) on `roster` with the key
/// file `key`, for codes under `host`, into `out`.
pub fn roster_sheets(
    qr_gen: &Path,
    roster: &Path,
    key: &Path,
    host: &str,
    out: &Path,
) -> Result<()> {
    sh::run(
        Command::new(qr_gen)
            .arg("sheets")
            .arg(roster)
            .args(["--host", host, "--key"])
            .arg(key)
            .arg("--out")
            .arg(out),
    )
}

/// The printed URLs of a qr-gen output folder, in its manifest's order.
pub fn printed_urls(sheets: &Path, host: &str) -> Result<Vec<String>> {
    let manifest = crate::fs::read_to_string(sheets.join("manifest.csv"))
        .with_context(|| format!("reading {}", sheets.join("manifest.csv").display()))?;
    Ok(manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.split(',')
                .find(|f| f.starts_with(host))
                .map(str::to_owned)
        })
        .collect())
}

/// Creates a console account on a running worker (`edge::zsp::admin_add`, as `zsp admin add`);
/// `reset`: an existing one gets the new password instead.
pub fn add_account(
    port: u16,
    token: &str,
    name: &str,
    role: &str,
    scope: &str,
    password: &str,
    reset: bool,
) -> Result<()> {
    ::edge::zsp::admin_add(
        &format!("127.0.0.1:{port}"),
        token,
        name,
        role,
        scope,
        password,
        reset,
    )
    .map_err(|e| anyhow::anyhow!("{e} (is `cargo xtask demo` running?)"))
}

pub fn zsp_admin_options(opts: &[&str]) -> Result<(String, String)> {
    ::edge::zsp::admin_options(opts).map_err(|e| anyhow::anyhow!(e))
}

/// A new password for a demo or local account.
pub fn new_password() -> String {
    ::edge::zsp::new_password(&mut |b| getrandom::fill(b).expect("the system's randomness"))
}
