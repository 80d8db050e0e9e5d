//! `cargo xtask …`: everything a person or CI runs, in Rust, from a fresh machine.
//!
//! - `demo`: set up, then run the main job on local defaults.
//! - `test`: set up, then run every test. `.ci/run` calls this and nothing else.
//! - `build`: the app, the worker and qr-gen for a deployment (self-hosted workerd, or `wrangler
//!   deploy` from `edge/`, whose config it checks with a dry run).
//! - `pack [x86_64|arm64]`: the operator's release archive
//!   (`target/dist/zhangshangping-<version>-linux-<arch>.tar.gz`), for this machine or the other.
//! - `site`: the page alone into `target/site`, with its weight against the budget.
//! - `vectors`: regenerate `wire/vectors/vectors.json` from its fixed seed.
//! - `bench [wire|qr-gen|edge|forward|app|pack|results|all]`: print the benchmark figures, each beside its target
//!   and a peer.
//! - `setup`: only install what is missing.

mod bench;
mod bench_crossings;
mod bench_forward;
mod bench_pack;
mod bench_results;
mod tally;
mod wasm_size;

use xtask::setup::WASM_TARGET;
use xtask::stages::{self, stage};
use xtask::{edge, setup, sh};

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <demo | admin add NAME [--role R] [--halls 330102:大厅,…] | export [FILE] | test | build | pack [x86_64|arm64] | site | vectors | bench [wire|qr-gen|edge|forward|app|pack|results|all] | setup>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["demo"] => demo(),
        ["admin", "add", name, opts @ ..] => {
            let reset = opts.contains(&"--reset");
            let opts: Vec<&str> = opts.iter().copied().filter(|o| *o != "--reset").collect();
            let (role, scope) = edge::zsp_admin_options(&opts)?;
            let keys = edge::local_keys()?;
            let password = edge::new_password();
            edge::add_account(
                DEMO_PORT,
                &keys.admin_token,
                name,
                &role,
                &scope,
                &password,
                reset,
            )?;
            println!("account {name} ({role}) created on the demo; password: {password}");
            println!("log in at http://127.0.0.1:{DEMO_PORT}/console/login");
            Ok(())
        }
        ["export"] => export("ratings.csv"),
        ["export", file] => export(file),
        ["test"] => test(),
        ["build"] => build(),
        ["pack"] => pack(xtask::pack::Arch::host()),
        ["pack", arch] => pack(
            xtask::pack::Arch::parse(arch)
                .ok_or_else(|| anyhow::anyhow!("no such machine {arch:?}: x86_64 or arm64"))?,
        ),
        ["site"] => xtask::site::build(&setup::all()?, &setup::root()),
        ["vectors"] => vectors(),
        ["bench"] | ["bench", "all"] => bench(&[
            "wire", "qr-gen", "edge", "forward", "app", "pack", "results",
        ]),
        ["bench", what] => bench(&[what]),
        ["setup"] => setup::all().map(|_| ()),
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

fn vectors() -> Result<()> {
    let path = setup::root().join("wire").join(wire::vectors::PATH);
    let fresh = wire::vectors::generate();
    let n = wire::vectors::check(&fresh).map_err(anyhow::Error::msg)?;
    let old = xtask::fs::read_to_string(&path).unwrap_or_default();
    xtask::fs::write(&path, &fresh)?;
    let state = if old == fresh {
        "unchanged"
    } else {
        "CHANGED: review the diff"
    };
    println!("wrote {} ({n} cases, {state})", path.display());
    Ok(())
}

/// Where the local worker listens in the demo; the demo's codes point there.
const DEMO_PORT: u16 = 8787;
const DEMO_HOST: &str = "http://127.0.0.1:8787/";

fn demo() -> Result<()> {
    let tools = setup::all()?;
    let root = setup::root();
    let dir = xtask::setup::target_dir().join("demo");
    let state = dir.join("state");
    let keys = edge::build_stack(&tools, &root)?;
    edge::build_qr_gen(&root)?;
    xtask::fs::create_dir_all(&state)?;
    let out = dir.join("sheets");
    edge::sample_sheets(&root, &keys, DEMO_HOST, &out)?;
    let worker = edge::start(
        &tools,
        &root,
        &keys,
        &edge::WorkerOptions {
            port: DEMO_PORT,
            state: &state,
            vars: &[
                ("PUBLIC_URL", DEMO_HOST.trim_end_matches('/').to_owned()),
                // The demo's alert routes go to local stand-ins of the robots (below).
                ("WECOM_HOST", "127.0.0.1".to_owned()),
                ("DINGTALK_HOST", "127.0.0.1".to_owned()),
                ("ALERT_HOSTS", "127.0.0.1".to_owned()),
                // The stand-in 12345 (below) is the office's own: its orders carry the phone.
                ("OWN_HOSTS", "127.0.0.1".to_owned()),
                // The demo's robots print a 差评 at once (an office's default waits, rater-safe).
                ("ALERT_DELAY", "0".to_owned()),
            ],
            log: dir.join("workerd.log"),
        },
    )?;
    worker.load(&out)?;
    // One local stand-in of each kind of alert route, printing what the group would show.
    use xtask::robots::{Robot, add_route, receiver};
    let robots = [
        (receiver(Robot::Wecom, true), "handlers"),
        (receiver(Robot::Dingtalk, true), "handlers"),
        (receiver(Robot::Webhook, true), "supervisors"),
    ];
    for (r, audience) in &robots {
        add_route(
            &worker,
            &format!("演示：{}", r.robot.label()),
            r,
            None,
            audience,
        )?;
    }
    let bridge = demo_12345(&worker, &root)?;
    println!();
    println!(
        "掌上评 is running on {} (self-hosted workerd; data in {}).",
        worker.base,
        state.join("data").display()
    );
    println!("Printable sheets: {}", out.join("sheets.pdf").display());
    println!("Per hall:         {}", out.join("halls").display());
    println!("Open one of the printed codes:");
    for url in edge::printed_urls(&out, DEMO_HOST)?
        .iter()
        .step_by(12)
        .take(5)
    {
        println!("  {url}");
    }
    let password = edge::new_password();
    edge::add_account(
        DEMO_PORT,
        &worker.admin_token,
        DEMO_ADMIN,
        "city",
        "\"all\"",
        &password,
        // The demo keeps its data across runs: a second run gives the account a new password.
        true,
    )?;
    println!("Admin console:    {}/console/login", worker.base);
    println!(
        "  account {DEMO_ADMIN}, password {password} (市级管理员; more: cargo xtask admin add NAME)"
    );
    println!(
        "差评 alerts: a 差评 (不满意 or 非常不满意) on any code shows up below within seconds, as the"
    );
    println!(
        "  企业微信 and 钉钉 groups would show it; repeat 差评 on one staff member go to the webhook."
    );
    println!(
        "Public results:   {}/results (each hall's, JSON and CSV from there)",
        worker.base
    );
    println!("Status (backlog): {}/status", worker.base);
    let (hall, curl, kiosk) = demo_link(&worker, &out)?;
    println!(
        "一事一评 links: a queue system of {hall} mints one per 办件 (its token made just now):"
    );
    println!("  {curl}");
    println!("  (with \"kiosk\":true in the body it also arms the window's hall tablet:)");
    println!("Hall tablet (kiosk mode, open it at 1280×800): {kiosk}");
    println!(
        "12345 work orders: each 差评 also reaches a stand-in 12345 (e2e/workorder-bridge.mjs), printed below as"
    );
    println!(
        "  {{\"order\":…}}; type an event into this terminal to send it back, signed, e.g. for case C000001:"
    );
    println!(
        "  {{\"bridge\":{bridge},\"url\":\"{}/api/v1/cases/C000001/events\",\"event\":{{\"id\":\"e1\",\"type\":\"received\"}}}}",
        worker.base
    );
    println!(
        "  (then handling, replied with \"reply\", closed; the case page and the citizen's status page follow)"
    );
    println!("Export the ratings: cargo xtask export ratings.csv   (while this runs)");
    println!("Worker log: {}", worker.log.display());
    println!("Runtime config: {}", state.join("workerd.capnp").display());
    println!(
        "Ctrl-C stops it; the ratings stay in {}.",
        state.join("data").display()
    );
    worker.wait()
}

/// The demo's stand-in 12345: `e2e/workorder-bridge.mjs serve`, its orders printed as they come
/// and its events read from this terminal, behind a work-order route for every hall. The route's
/// number (the events' `Zsp-Bridge`).
fn demo_12345(worker: &edge::Worker, root: &Path) -> Result<i64> {
    use std::io::BufRead;
    const ORDER_SECRET: &str = "demo-orders-secret-2026";
    const EVENT_KEY: &str = "demo-12345-events-key-2026";
    let mut child = std::process::Command::new("node")
        .arg(root.join("e2e/workorder-bridge.mjs"))
        .arg("serve")
        .env("ORDER_SECRET", ORDER_SECRET)
        .env("EVENT_KEY", EVENT_KEY)
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting the stand-in 12345 (node)")?;
    let mut lines = std::io::BufReader::new(child.stdout.take().context("its output")?).lines();
    let first = lines.next().context("the stand-in 12345 said nothing")??;
    let port = serde_json::from_str::<serde_json::Value>(&first)?["listening"]
        .as_u64()
        .with_context(|| format!("the stand-in 12345 said {first}"))?;
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            println!("12345 stand-in: {l}");
        }
        let _ = child.wait();
    });
    let answer: serde_json::Value = serde_json::from_str(
        &ureq::post(&format!("{}/admin/routes", worker.base))
            .set("Authorization", &format!("Bearer {}", worker.admin_token))
            .send_string(
                &serde_json::json!({"name": "演示：12345 工单系统", "kind": "workorder",
                    "audience": "orders", "url": format!("http://127.0.0.1:{port}/orders"),
                    "secret": ORDER_SECRET, "inbound": EVENT_KEY})
                .to_string(),
            )?
            .into_string()?,
    )?;
    answer["id"]
        .as_i64()
        .with_context(|| format!("no route in {answer}"))
}

/// A hall's automation token for the demo (made through the admin API each run), the curl line
/// that mints a 一事一评 link with it for one of the hall's codes, and a hall tablet for that
/// code (kiosk mode) with its staff member on duty.
fn demo_link(worker: &edge::Worker, sheets: &Path) -> Result<(String, String, String)> {
    let d = wire::directory::Directory::from_json(&xtask::fs::read_to_string(
        sheets.join("directory.json"),
    )?)
    .map_err(|e| anyhow::anyhow!("directory.json: {}", e.0))?;
    let e = d
        .entries
        .iter()
        .find(|e| !e.matters.is_empty())
        .ok_or_else(|| anyhow::anyhow!("no code with a matter in the sample directory"))?;
    let scope = serde_json::json!({"places": [{"region": e.region, "hall": e.hall}]});
    let request = serde_json::json!({"name": "演示叫号系统", "role": "queue", "scope": scope});
    let call = |path: &str, bearer: &str, body: serde_json::Value| -> Result<serde_json::Value> {
        Ok(serde_json::from_str(
            &ureq::post(&format!("{}{path}", worker.base))
                .set("Authorization", &format!("Bearer {bearer}"))
                .set("Content-Type", "application/json")
                .send_string(&body.to_string())?
                .into_string()?,
        )?)
    };
    let answer = call("/admin/tokens", &worker.admin_token, request)?;
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token in {answer}"))?;
    let tablet = call(
        "/admin/kiosks",
        &worker.admin_token,
        serde_json::json!({"code": e.code.to_text(), "label": "演示评价平板"}),
    )?;
    let kiosk = tablet["url"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no url in {tablet}"))?
        .to_owned();
    // Who is on duty comes from the rota's own token: the `feed` role, nothing else.
    let feed = call(
        "/admin/tokens",
        &worker.admin_token,
        serde_json::json!({"name": "演示在岗接口", "role": "feed", "scope": scope}),
    )?;
    let feed = feed["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token in {feed}"))?;
    call(
        &format!("/api/v1/kiosk/{}/staff", e.code.to_text()),
        feed,
        serde_json::json!({
            "name": e.staff_name.as_deref().unwrap_or("王芳"),
            "staff_no": e.staff_id.as_deref().unwrap_or("DEMO-001"),
        }),
    )?;
    let body = serde_json::json!({
        "code": e.code.to_text(),
        "matter": e.matters[0].code,
        "project_no": "DEMO-2026-000001",
    });
    Ok((
        e.hall.clone(),
        format!(
            "curl -s {}/api/v1/links -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{body}'",
            worker.base
        ),
        kiosk,
    ))
}

/// What a deployment needs, without this machine's local keys: the worker in `edge/build` and
/// the page in `target/site` (self-hosted: with a runtime config; on Cloudflare: `wrangler
/// deploy`, whose config is checked here by a dry run).
fn build() -> Result<()> {
    let tools = setup::all()?;
    let root = setup::root();
    xtask::site::build(&tools, &root)?;
    edge::build_worker(&root, &tools)?;
    for config in edge::WRANGLER_CONFIGS {
        edge::deploy_dry_run(&tools, &root, config)?;
    }
    sh::run(sh::cargo(&root).args(["build", "--release", "--quiet", "-p", "qr-gen"]))?;
    println!(
        "page:   {}",
        xtask::setup::target_dir().join("site").display()
    );
    println!("worker: {}", root.join("edge/build").display());
    println!(
        "qr-gen: {}",
        xtask::setup::target_dir().join("release/qr-gen").display()
    );
    println!(
        "Cloudflare: cd edge && npx wrangler deploy && npx wrangler deploy -c wrangler.citizen.toml   (README, \"For operators\")"
    );
    Ok(())
}

/// The operator's archive for `arch`: release builds of zsp and qr-gen, the worker, the page,
/// workerd.
fn pack(arch: xtask::pack::Arch) -> Result<()> {
    let tools = setup::all()?;
    let root = setup::root();
    xtask::site::build(&tools, &root)?;
    edge::build_worker(&root, &tools)?;
    let archive = xtask::pack::pack(&root, &tools, xtask::pack::Profile::Release, arch)?;
    let mb = xtask::fs::metadata(&archive)?.len() as f64 / 1e6;
    println!("pack: {} ({mb:.1} MB)", archive.display());
    println!("install: OPERATORS.md (inside the archive, and in the repository)");
    Ok(())
}

/// The demo's 市级管理员, created at each start with a new password.
const DEMO_ADMIN: &str = "demo-admin";

fn export(file: &str) -> Result<()> {
    let keys = edge::local_keys()?;
    let r = ureq::get(&format!("http://127.0.0.1:{DEMO_PORT}/admin/export.csv"))
        .set("Authorization", &format!("Bearer {}", keys.admin_token))
        .call()
        .map_err(|e| anyhow::anyhow!("is `cargo xtask demo` running? {e}"))?;
    let body = r.into_string()?;
    xtask::fs::write(file, &body)?;
    println!(
        "wrote {file} ({} ratings)",
        body.lines().count().saturating_sub(1)
    );
    Ok(())
}

fn test() -> Result<()> {
    let out = test_stages();
    println!("\nwhere the time went:\n{}", stages::table());
    out
}

fn test_stages() -> Result<()> {
    let root = setup::root();
    stage("cargo fmt --check", || {
        sh::run(sh::cargo(&root).args(["fmt", "--all", "--", "--check"]))
            .map_err(|e| e.context("cargo fmt would change files: run `cargo fmt --all`"))
    })?;
    // Clippy, every warning an error, on every crate of the workspace for each target it is
    // built for: the page and the worker (wasm32, in the builds below), the app's and wire's
    // wasm32 tests, and everything native with its tests, benches and examples.
    sh::lint_workspace()?;
    let node_bin = setup::base()?;
    // Two lanes, so that a cold machine's two cores stay busy through each one's
    // single-threaded stretches (links, LTO): what needs no tool compiles while the tools do
    // (their own target folder), then the worker (its own too).
    let tools = std::thread::scope(|s| {
        let beside = s.spawn(|| {
            stage("build: native tests, benches, examples", || {
                sh::run(sh::cargo(&root).args([
                    "test",
                    "--workspace",
                    "--all-targets",
                    "--no-run",
                    "--quiet",
                ]))
            })?;
            stage("build: the page's WebAssembly (wasm-release)", || {
                xtask::site::compile(&root)
            })
        });
        let tools = setup::tools(node_bin).and_then(|tools| {
            stage("build: the worker (edge, wasm-release)", || {
                edge::build_worker(&root, &tools)
            })?;
            Ok(tools)
        });
        joined(beside, "the build lane").and(tools)
    })?;
    let mut tally = tally::Tally::default();
    // Then the native tests (mostly waiting on workerd, Chromium and the clock) beside the
    // wasm32 tests (mostly compiling, in a target folder of their own).
    let wasm = std::thread::scope(|s| {
        let wasm = s.spawn(|| {
            let mut t = tally::Tally::buffered();
            stage("build+run: wire on wasm32 (Node)", || {
                t.cargo_test(
                    "wire on wasm32 (Node)",
                    &mut wasm_test(&tools, &root, "wire"),
                )
            })?;
            // The app in a real DOM: Debian's chromium through its chromedriver, headless, with
            // the flags of `app/webdriver.json`; the runner serves the test page on 127.0.0.1.
            stage("build+run: app components on wasm32 (Chromium)", || {
                t.cargo_test(
                    "app components on wasm32 (Chromium)",
                    wasm_test(&tools, &root, "app")
                        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                        .env(
                            "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
                            root.join("app/webdriver.json"),
                        )
                        // The default 5 s for the driver to start is short on a busy machine.
                        .env("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "60"),
                )
            })?;
            Ok::<_, anyhow::Error>(t)
        });
        let native = (|| -> Result<()> {
            // The workerd and browser tests run the real worker and the built page (and qr-gen,
            // which `cargo test --workspace` built).
            stage("build: the page (wasm-bindgen, bundle, weight)", || {
                xtask::site::build(&tools, &root)
            })?;
            // The operator's archive, from the test build's programs: the pack tests unpack it.
            stage("build: the pack (test build's zsp and qr-gen)", || {
                let host = xtask::pack::Arch::host();
                xtask::pack::pack(&root, &tools, xtask::pack::Profile::Dev, host).map(drop)
            })?;
            edge::local_keys()?;
            // --include-ignored: the tests a bare `cargo test` skips for the tools and builds
            // they need, which are all here now. --show-output: the reliability scenarios print
            // their figures. The end-to-end tests (mostly waiting on workerd, Chromium and the
            // clock, two at a time) run beside the rest (mostly CPU), which take one thread so
            // that the end-to-end lane keeps a core of its own.
            let e2e = std::thread::scope(|s| {
                let lane = s.spawn(|| {
                    let mut t = tally::Tally::buffered();
                    stage(
                        "run: end-to-end tests (workerd, Chromium, the pack)",
                        || {
                            t.cargo_test(
                                "end-to-end tests",
                                sh::cargo(&root).args([
                                    "test",
                                    "-p",
                                    "e2e",
                                    "--",
                                    "--include-ignored",
                                    "--show-output",
                                ]),
                            )
                        },
                    )?;
                    Ok::<_, anyhow::Error>(t)
                });
                let rest = stage("run: native tests (the rest, one thread)", || {
                    tally.cargo_test(
                        "native tests",
                        sh::cargo(&root).args([
                            "test",
                            "--workspace",
                            "--exclude",
                            "e2e",
                            "--",
                            "--include-ignored",
                            "--show-output",
                            "--test-threads=1",
                        ]),
                    )
                });
                let e2e = joined(lane, "the end-to-end lane");
                rest.and(e2e)
            })?;
            tally.absorb(e2e);
            Ok(())
        })();
        native.and(joined(wasm, "the wasm32 test lane"))
    })?;
    tally.absorb(wasm);
    tally.finish()
}

/// A lane's result, its panic an error naming it.
fn joined<T>(lane: std::thread::ScopedJoinHandle<'_, Result<T>>, what: &str) -> Result<T> {
    lane.join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("{what} panicked")))
}

/// `cargo test -p <package>` on wasm32, run by wasm-bindgen's test runner.
fn wasm_test(tools: &setup::Tools, root: &Path, package: &str) -> Command {
    let mut c = sh::cargo(root);
    c.args(["test", "-p", package, "--target", WASM_TARGET])
        // A target folder of its own: these build while the native tests run.
        .env(
            "CARGO_TARGET_DIR",
            xtask::setup::target_dir().join("wasm-tests"),
        )
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            tools.wasm_bindgen_bin.join("wasm-bindgen-test-runner"),
        );
    c
}

fn bench(which: &[&str]) -> Result<()> {
    setup::all()?;
    let root = setup::root();
    for w in which {
        match *w {
            "wire" => bench::wire(&root)?,
            "qr-gen" => bench::qr_gen(&root)?,
            "edge" => bench::edge(&root)?,
            "forward" => bench_forward::run(&root)?,
            "app" => bench::app(&root)?,
            "pack" => bench_pack::run(&root)?,
            "results" => bench_results::run(&root)?,
            other => bail!("no benchmark {other:?}; {USAGE}"),
        }
    }
    Ok(())
}
