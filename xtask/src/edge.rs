//! Building the worker and running it locally under `wrangler dev` (real workerd, local D1 and
//! Queue, 127.0.0.1 only, nothing sent anywhere).

use crate::setup::Tools;
use crate::sh;
use anyhow::{Context, Result, bail};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wire::key::{Key, KeyPurpose};

/// Wrangler, quiet and offline.
pub const QUIET_ENV: &[(&str, &str)] = &[
    ("CI", "true"),
    ("WRANGLER_SEND_METRICS", "false"),
    ("DO_NOT_TRACK", "1"),
    ("WRANGLER_HIDE_BANNER", "true"),
    ("CLOUDFLARE_CF_FETCH_ENABLED", "false"),
    ("WRANGLER_LOG", "warn"),
];

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
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

pub fn local_keys(root: &Path) -> Result<LocalKeys> {
    let dir = root.join("target/local-keys");
    std::fs::create_dir_all(&dir)?;
    let key = |name: &str, purpose| -> Result<String> {
        let f = dir.join(name);
        if let Ok(t) = std::fs::read_to_string(&f) {
            return Ok(t.trim().to_owned());
        }
        let t = Key::new(purpose, 1, random()?).to_text();
        std::fs::write(&f, format!("{t}\n"))?;
        Ok(t)
    };
    let qr = key("qr.key", KeyPurpose::Qr)?;
    let challenge = key("challenge.key", KeyPurpose::Challenge)?;
    let upstream = key("upstream.key", KeyPurpose::Upstream)?;
    let tok = dir.join("admin-token");
    let admin_token = match std::fs::read_to_string(&tok) {
        Ok(t) => t.trim().to_owned(),
        Err(_) => {
            let t = wire::key::hex(&random::<16>()?);
            std::fs::write(&tok, &t)?;
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

/// Writes `edge/.dev.vars` from the committed example, filling the empty keys.
pub fn write_dev_vars(root: &Path, keys: &LocalKeys) -> Result<()> {
    let example = std::fs::read_to_string(root.join("edge/dev.vars.example"))?;
    let mut out = String::new();
    for line in example.lines() {
        let filled = match line.trim() {
            "QR_KEYS=" => format!("QR_KEYS={}", keys.qr),
            "CHALLENGE_KEYS=" => format!("CHALLENGE_KEYS={}", keys.challenge),
            "UPSTREAM_KEYS=" => format!("UPSTREAM_KEYS={}", keys.upstream),
            "ADMIN_TOKEN=" => format!("ADMIN_TOKEN={}", keys.admin_token),
            _ => line.to_owned(),
        };
        out.push_str(&filled);
        out.push('\n');
    }
    std::fs::write(root.join("edge/.dev.vars"), out)?;
    Ok(())
}

/// Builds the worker bundle with worker-build, the pinned wasm-bindgen CLI and npm's esbuild and
/// wasm-opt (binaryen 132; never Debian's 108). Nothing is downloaded. The bundle is
/// `edge/build/index_bg.wasm` plus its JS glue.
pub fn build_worker(root: &Path, tools: &Tools) -> Result<()> {
    sh::run(
        Command::new(tools.worker_build_bin.join("worker-build"))
            // The size profile (opt z, LTO, one codegen unit), then npm's wasm-opt.
            .args(["--profile", "wasm-release"])
            .current_dir(root.join("edge"))
            .env(
                "WASM_BINDGEN_BIN",
                tools.wasm_bindgen_bin.join("wasm-bindgen"),
            )
            .env("ESBUILD_BIN", tools.node_bin.join("esbuild"))
            .env("WASM_OPT_BIN", tools.node_bin.join("wasm-opt")),
    )
    .context("building the worker")?;
    // worker-build keeps the name section (a third of the bundle); the runtime needs none of it.
    let wasm = root.join("edge/build/index_bg.wasm");
    sh::run(
        Command::new(tools.node_bin.join("wasm-opt"))
            .args(["--strip-debug", "--strip-producers"])
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm),
    )
    .context("stripping the worker's wasm")
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `wrangler dev`; stopped when dropped.
pub struct Worker {
    child: Child,
    pub base: String,
    pub admin_token: String,
    pub log: PathBuf,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Worker {
    pub fn stop(&mut self) {
        // wrangler starts workerd as a child: end the whole process group.
        let pid = self.child.id() as i32;
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.child.wait();
    }
}

pub struct WorkerOptions<'a> {
    pub port: u16,
    /// Where local D1 and Queue state live (kept across restarts with the same folder).
    pub state: &'a Path,
    /// Extra vars (`--var NAME:VALUE`), e.g. `UPSTREAM_URL` for a test receiver.
    pub vars: &'a [(&'a str, String)],
    pub log: PathBuf,
}

fn wrangler(tools: &Tools, root: &Path) -> Command {
    let mut c = Command::new(tools.node_bin.join("wrangler"));
    c.current_dir(root.join("edge"));
    for (k, v) in QUIET_ENV {
        c.env(k, v);
    }
    // Keep wrangler's own config and caches inside the project's target folder.
    c.env("XDG_CONFIG_HOME", root.join("target/wrangler-home"));
    c
}

/// Applies the D1 migrations to the local database in `state`.
pub fn migrate(tools: &Tools, root: &Path, state: &Path) -> Result<()> {
    sh::run(
        wrangler(tools, root)
            .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
            .arg(state),
    )
    .context("applying the D1 migrations")
}

pub fn start(
    tools: &Tools,
    root: &Path,
    keys: &LocalKeys,
    o: &WorkerOptions<'_>,
) -> Result<Worker> {
    let mut c = wrangler(tools, root);
    c.args(["dev", "--ip", "127.0.0.1", "--port"])
        .arg(o.port.to_string())
        .arg("--inspector-port")
        .arg(free_port()?.to_string())
        .args(["--persist-to"])
        .arg(o.state)
        .args([
            "--test-scheduled",
            "--show-interactive-dev-session=false",
            "--log-level",
            "warn",
        ]);
    for (k, v) in o.vars {
        c.arg("--var").arg(format!("{k}:{v}"));
    }
    spawn(c, o.port, &keys.admin_token, &o.log)
}

/// Starts `wrangler dev` with a worker of one line of JavaScript that answers every request with
/// `ok`: what this machine's wrangler dev serves at best, the ceiling of the edge benchmark.
pub fn start_hello(tools: &Tools, root: &Path, dir: &Path) -> Result<Worker> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("index.js"),
        "export default { fetch() { return new Response(\"ok\"); } };\n",
    )?;
    std::fs::write(
        dir.join("wrangler.toml"),
        "name = \"hello\"\nmain = \"index.js\"\ncompatibility_date = \"2026-01-01\"\n",
    )?;
    let port = free_port()?;
    let mut c = wrangler(tools, root);
    c.arg("dev")
        .arg("--config")
        .arg(dir.join("wrangler.toml"))
        .args(["--ip", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg("--inspector-port")
        .arg(free_port()?.to_string())
        .args([
            "--show-interactive-dev-session=false",
            "--log-level",
            "warn",
        ]);
    spawn(c, port, "", &dir.join("wrangler.log"))
}

/// Spawns a prepared `wrangler dev` in its own process group, logging to `log`, and waits until
/// it answers `/status` on `port`.
fn spawn(mut c: Command, port: u16, admin_token: &str, log: &Path) -> Result<Worker> {
    use std::os::unix::process::CommandExt;
    let file = std::fs::File::create(log)?;
    c.stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0);
    let child = c.spawn().context("starting wrangler dev")?;
    let mut w = Worker {
        child,
        base: format!("http://127.0.0.1:{port}"),
        admin_token: admin_token.to_string(),
        log: log.to_path_buf(),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(status)) = w.child.try_wait() {
            let log = std::fs::read_to_string(&w.log).unwrap_or_default();
            bail!("wrangler dev exited ({status}):\n{log}");
        }
        if let Ok(r) = ureq::get(&format!("{}/status", w.base)).call()
            && r.status() == 200
        {
            return Ok(w);
        }
        if Instant::now() > deadline {
            w.stop();
            let log = std::fs::read_to_string(&w.log).unwrap_or_default();
            bail!("wrangler dev did not answer /status within 90 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

impl Worker {
    /// Loads a qr-gen directory (and its revocations) through the admin API.
    pub fn load(&self, sheets: &Path) -> Result<()> {
        for (file, path) in [
            ("directory.json", "/admin/directory"),
            ("revocations.json", "/admin/revocations"),
        ] {
            let body = std::fs::read_to_string(sheets.join(file))
                .with_context(|| format!("reading {}", sheets.join(file).display()))?;
            let r = ureq::put(&format!("{}{path}", self.base))
                .set("Authorization", &format!("Bearer {}", self.admin_token))
                .set("Content-Type", "application/json")
                .send_string(&body);
            match r {
                Ok(_) => {}
                Err(ureq::Error::Status(code, r)) => {
                    bail!("loading {file}: HTTP {code}: {}", r.into_string()?)
                }
                Err(e) => bail!("loading {file}: {e}"),
            }
        }
        Ok(())
    }

    /// Fires the cron trigger (wrangler dev does not run crons by itself).
    pub fn cron(&self) {
        let _ = ureq::get(&format!("{}/__scheduled?cron=*+*+*+*+*", self.base)).call();
    }
}

/// Everything `demo` and the tests need before a worker can start: the app, the worker, this
/// machine's keys and `.dev.vars`. A worker's local database is migrated by whoever starts it,
/// in its own state folder.
pub fn build_stack(tools: &Tools, root: &Path) -> Result<LocalKeys> {
    crate::site::build(tools, root)?;
    build_worker(root, tools)?;
    let keys = local_keys(root)?;
    write_dev_vars(root, &keys)?;
    Ok(keys)
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
    let bin = root.join("target/debug/qr-gen");
    if !bin.is_file() {
        bail!(
            "{} is missing: run the tests through `cargo xtask test`, which builds it",
            bin.display()
        );
    }
    sh::run(
        std::process::Command::new(bin)
            .arg("sheets")
            .arg(root.join("qr-gen/samples/roster.csv"))
            .args(["--host", host, "--key"])
            .arg(&keys.qr_file)
            .arg("--out")
            .arg(out),
    )
}
