//! The operator's archive as an operator uses it: unpacked into a fresh folder, `zsp keys`,
//! `zsp check`, `zsp serve`; the directory loaded and ratings posted over HTTP; `zsp backup`
//! while submissions run; the backup restored into another folder and served on another port;
//! the two exports compared. Then every bad configuration; an upgrade from the previous schema
//! (and an older release refusing newer data); the nginx example in front; the systemd unit.

use super::workerd::{admin, export, http, now, printed, rand16, sealed, wait_for};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wire::challenge::DEFAULT_DIFFICULTY;
use wire::directory::{Directory, Entry};
use wire::key::{Key, KeyPurpose, Keyring};
use wire::rating::{Level, RatingInput};
use xtask::edge::{self, Worker};
use xtask::setup;

/// The archive `cargo xtask test` built, unpacked into `target/pack-tests/<name>`; the release
/// folder.
fn unpack(name: &str) -> PathBuf {
    let archive = xtask::setup::target_dir().join("dist").join(format!(
        "{}.tar.gz",
        xtask::pack::name(xtask::pack::Arch::host())
    ));
    assert!(
        archive.exists(),
        "{} is missing: run `cargo xtask test`",
        archive.display()
    );
    let dir = xtask::setup::target_dir().join("pack-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ok = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar -xzf {}", archive.display());
    dir.join(xtask::pack::name(xtask::pack::Arch::host()))
}

/// `zsp` with `args`, as the operator's service user would run it: the tests run as root (CI's
/// user), so with `--as-root` (zsp then runs as the data folder's owner; a no-op for another
/// user). The refusal without it has its own test.
fn run(pack: &Path, args: &[&str]) -> Output {
    Command::new(pack.join("zsp"))
        .args(args)
        .arg("--as-root")
        .env_remove("ZSP_ENV")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A configured install in `pack`'s parent folder: its secrets (from `zsp keys` and
/// `qr-gen keys new`), and an env file per data folder.
#[derive(Clone)]
struct Install {
    pack: PathBuf,
    keys: String,
    qr: Key,
    challenge: Key,
    admin_token: String,
}

fn install(pack: &Path) -> Install {
    let o = run(pack, &["keys"]);
    assert!(o.status.success(), "{}", said(&o));
    let keys = String::from_utf8(o.stdout).unwrap();
    let qr_file = pack.join("../qr.key");
    let o = Command::new(pack.join("qr-gen"))
        .args(["keys", "new", "--kid", "3301", "--out"])
        .arg(&qr_file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", said(&o));
    // From the archive it speaks of zsp.env, never of wrangler or a checkout's files.
    assert!(
        said(&o).contains("zsp.env 的 QR_KEYS=")
            && !said(&o).contains("wrangler")
            && !said(&o).contains(".dev.vars"),
        "{}",
        said(&o)
    );
    let qr_text = std::fs::read_to_string(&qr_file).unwrap().trim().to_owned();
    let line = |k: &str| {
        keys.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_owned()
    };
    let ring = |p, t: &str| Keyring::parse(p, t).unwrap().current().clone();
    Install {
        pack: pack.to_path_buf(),
        qr: ring(KeyPurpose::Qr, &qr_text),
        challenge: ring(KeyPurpose::Challenge, &line("CHALLENGE_KEYS")),
        admin_token: line("ADMIN_TOKEN"),
        keys: format!("{keys}QR_KEYS={qr_text}\n"),
    }
}

impl Install {
    /// `zsp.env` for data folder `data` on `port`, with `extra` lines.
    fn env(&self, name: &str, port: u16, extra: &str) -> PathBuf {
        let f = self.pack.join(format!("../{name}.env"));
        std::fs::write(
            &f,
            format!(
                "# test install {name}\n{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA={name}-data\n{extra}",
                self.keys
            ),
        )
        .unwrap();
        f
    }

    /// `zsp serve`, once it answers; and how long that took.
    fn serve(&self, env: &Path, port: u16) -> (Worker, Duration) {
        let mut c = Command::new(self.pack.join("zsp"));
        c.arg("serve")
            .arg("--env")
            .arg(env)
            .arg("--as-root")
            .env_remove("ZSP_ENV");
        let t = Instant::now();
        let log = env.with_extension("log");
        let w = edge::spawn(c, port, &self.admin_token, &log).unwrap();
        (w, t.elapsed())
    }

    /// A submission for `e` under this install's keys.
    fn submission(&self, e: &Entry, rating: RatingInput) -> Vec<u8> {
        sealed(
            &self.qr,
            &self.challenge,
            e,
            DEFAULT_DIFFICULTY,
            rand16(),
            rating,
        )
        .to_json()
        .into_bytes()
    }
}

/// The sample roster through the archive's qr-gen, loaded through the admin API; its entries.
fn load_sample(i: &Install, w: &Worker) -> Vec<Entry> {
    let out = i.pack.join("../sheets");
    let _ = std::fs::remove_dir_all(&out);
    edge::roster_sheets(
        &i.pack.join("qr-gen"),
        &setup::root().join("qr-gen/samples/roster.csv"),
        &i.pack.join("../qr.key"),
        &format!("{}/", w.base),
        &out,
    )
    .unwrap();
    w.load(&out).unwrap();
    Directory::from_json(&std::fs::read_to_string(out.join("directory.json")).unwrap())
        .unwrap()
        .entries
}

/// `zsp admin add` as the operator runs it (the service serving): the account's password is
/// printed once, it logs in to the console, and its hall scope holds there. Bad options are named.
fn admin_add_logs_in_to_its_halls_only(pack: &Path, env: &Path, w: &Worker, entries: &[Entry]) {
    let env = env.to_str().unwrap();
    let place = &format!("{}:{}", entries[0].region, entries[0].hall);
    let hall = &entries[0].hall;
    let other = entries
        .iter()
        .map(|e| &e.hall)
        .find(|h| *h != hall)
        .expect("the sample roster has several halls");
    let o = run(
        pack,
        &[
            "admin",
            "add",
            "大厅甲",
            "--role",
            "hall",
            "--halls",
            place,
            "--env",
            env,
        ],
    );
    assert!(o.status.success(), "{}", said(&o));
    let password = said(&o)
        .split("shown this once: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the password is printed")
        .to_owned();
    for (args, says) in [
        (vec!["admin", "add", "x", "--role", "boss"], "--role boss"),
        (
            vec!["admin", "add", "x", "--halls"],
            "--halls needs a value",
        ),
        (
            vec!["admin", "add", "x", "--halls", hall.as_str()],
            "区划代码 大厅名称",
        ),
        (vec!["admin", "add", "大厅甲"], "大厅甲"),
    ] {
        let mut args = args.clone();
        args.extend(["--env", env]);
        let o = run(pack, &args);
        assert!(!o.status.success(), "{args:?}");
        assert!(said(&o).contains(says), "{args:?}: {}", said(&o));
    }
    let (agent, cookie) = crate::console::login(&w.base, "大厅甲", &password);
    let codes = agent
        .get(&format!("{}/console/codes", w.base))
        .set("Cookie", &cookie)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(codes.contains(hall.as_str()), "{codes}");
    assert!(!codes.contains(other.as_str()), "only its hall: {codes}");
}

/// Posts one rating to the service at `base`, which must accept it; its id.
fn rate(i: &Install, base: &str, e: &Entry, level: Level) -> String {
    rate_with(i, base, e, RatingInput::new(level, &[level.tags()[0].code]))
}

fn rate_with(i: &Install, base: &str, e: &Entry, rating: RatingInput) -> String {
    let (s, _, b) = http(
        "POST",
        &format!("{base}/api/rate"),
        &[("Content-Type", "application/json")],
        Some(&i.submission(e, rating)),
    );
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(s, 200, "{v}");
    v["id"]
        .as_str()
        .expect("an accepted rating has an id")
        .to_owned()
}

fn rows(csv: &str) -> BTreeSet<String> {
    csv.lines().skip(1).map(str::to_owned).collect()
}

#[test]
#[ignore = "needs the pack `cargo xtask test` builds"]
fn the_pack_serves_backs_up_under_load_and_restores_elsewhere() {
    let pack = unpack("main");
    let i = install(&pack);
    let version = said(&run(&pack, &["version"]));
    assert!(
        version.contains(&format!("zhangshangping {}", ::edge::schema::RELEASE)),
        "{version}"
    );
    let port = edge::free_port().unwrap();
    let env_a = i.env("a", port, "");
    let o = run(&pack, &["check", "--env", env_a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(said(&o).contains("ok: "), "{}", said(&o));
    let (w, first) = i.serve(&env_a, port);
    println!(
        "zsp serve → first answered request: {} ms",
        first.as_millis()
    );
    let entries = load_sample(&i, &w);
    for (n, e) in entries.iter().take(20).enumerate() {
        let level = if n % 5 == 4 {
            Level::Dissatisfied
        } else {
            Level::Satisfied
        };
        rate(&i, &w.base, e, level);
    }
    admin_add_logs_in_to_its_halls_only(&pack, &env_a, &w, &entries);

    // The footer is off until configured; the page answers.
    let (s, _, page) = http("GET", &format!("{}/", w.base), &[], None);
    assert_eq!(s, 404, "{}", String::from_utf8_lossy(&page));

    // Submissions from two clients while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let clients: Vec<_> = (0..2)
        .map(|c| {
            let (stop, acked) = (stop.clone(), acked.clone());
            let (entries, base, i) = (entries.clone(), w.base.clone(), i.clone());
            std::thread::spawn(move || {
                let mut n = c;
                while !stop.load(Ordering::Relaxed) {
                    let e = &entries[n % entries.len()];
                    let id = rate(&i, &base, e, Level::VerySatisfied);
                    acked.lock().unwrap().push((Instant::now(), id));
                    n += 2;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let backup = pack.join("../backup.sqlite");
    let started = Instant::now();
    let o = run(
        &pack,
        &[
            "backup",
            backup.to_str().unwrap(),
            "--env",
            env_a.to_str().unwrap(),
        ],
    );
    let took = started.elapsed();
    assert!(o.status.success(), "{}", said(&o));
    println!("{}", said(&o).trim());
    std::thread::sleep(Duration::from_millis(500));
    // `zsp check` beside the running service passes (the port is the service's own).
    let o = run(&pack, &["check", "--env", env_a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(said(&o).contains("zsp serve is running on"), "{}", said(&o));
    // A restore into the serving folder is refused and changes nothing.
    let o = run(
        &pack,
        &[
            "restore",
            backup.to_str().unwrap(),
            "--env",
            env_a.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(said(&o).contains("zsp serve is running"), "{}", said(&o));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let before: Vec<&String> = acked
        .iter()
        .filter(|(t, _)| *t < started)
        .map(|(_, id)| id)
        .collect();
    let during = acked
        .iter()
        .filter(|(t, _)| *t >= started && *t <= started + took)
        .count();
    assert!(
        !before.is_empty() && acked.len() > before.len(),
        "{} / {}",
        before.len(),
        acked.len()
    );
    println!(
        "ratings acknowledged: {} before the backup, {during} while it ran, {} in all",
        before.len(),
        acked.len()
    );
    let all = export(&w);
    drop(w);

    // Another folder (another machine), another port: restored and served.
    let port_b = edge::free_port().unwrap();
    let env_b = i.env(
        "b",
        port_b,
        "SITE_ICP=浙ICP备12345678号-1\nSITE_OFFICE=某市政务服务中心\n",
    );
    let o = run(
        &pack,
        &[
            "restore",
            backup.to_str().unwrap(),
            "--env",
            env_b.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", said(&o));
    println!("{}", said(&o).trim());
    let (wb, _) = i.serve(&env_b, port_b);
    let restored = export(&wb);
    let (a, b) = (rows(&all), rows(&restored));
    assert!(b.is_subset(&a), "a restored row differs from the original");
    for id in before {
        assert!(
            restored.contains(id.as_str()),
            "{id} was acknowledged before the backup"
        );
    }
    let count: usize = said(&o)
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(b.len(), count, "the export holds what the backup said");
    // The restored service serves the same codes, with its own footer.
    let seg = printed(&i.qr, &entries[0]);
    let (s, _, page) = http("GET", &format!("{}/{seg}", wb.base), &[], None);
    let page = String::from_utf8(page).unwrap();
    assert_eq!(s, 200);
    assert!(page.contains(&entries[0].hall), "{page}");
    assert!(page.contains("浙ICP备12345678号-1") && page.contains("某市政务服务中心"));
    // And keeps taking ratings, which its metrics count: a 差评 with a callback phone and a
    // comment, neither of which reaches the log.
    let bad = RatingInput {
        comment: "取号后等了很久不应出现在日志".into(),
        phone: Some("13800138000".into()),
        consent: true,
        ..RatingInput::new(Level::Dissatisfied, &[207])
    };
    rate_with(&i, &wb.base, &entries[1], bad);
    let (s, metrics) = admin(&wb, "GET", "/metrics", "");
    assert_eq!(s, 200, "{metrics}");
    assert!(
        metrics.contains("zsp_submissions_total{outcome=\"accepted\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("zsp_codes {}", entries.len())),
        "{metrics}"
    );
    // The log: one line a request, no code, phone, comment or device.
    let log = std::fs::read_to_string(env_b.with_extension("log")).unwrap();
    assert!(
        log.lines().any(|l| l.starts_with("POST rate 200 - ")),
        "{log}"
    );
    assert!(!log.contains(&seg), "a printed code reached the log");
    assert!(
        !log.contains("13800138000") && !log.contains("不应出现"),
        "{log}"
    );
}

/// What a backup holds, read as anyone who finds the file would (`sqlite3 .dump` and the raw
/// bytes): no client address (the audit and the abuse signals keep a daily keyed digest), no robot
/// key and no signing secret (routes are sealed under `CHALLENGE_KEYS`); the file is 0600 under a
/// umask of 022. The console shows the routes masked.
#[test]
#[ignore = "needs the pack `cargo xtask test` builds"]
fn a_backup_reveals_no_address_robot_key_or_route_secret() {
    use std::os::unix::fs::PermissionsExt;
    let pack = unpack("secrets");
    let i = install(&pack);
    let port = edge::free_port().unwrap();
    let env = i.env(
        "s",
        port,
        "CLIENT_IP_HEADER=X-Real-IP\nWECOM_HOST=127.0.0.1\nDINGTALK_HOST=127.0.0.1\nALERT_DELAY=0\n",
    );
    let (w, _) = i.serve(&env, port);
    let entries = load_sample(&i, &w);
    const ADDRESS: &str = "203.0.113.77";
    const ROBOT_KEY: &str = "c0ffee77-robot-key-4bc4";
    const DING_TOKEN: &str = "d1ng7a1k70ken5f3e";
    const DING_SECRET: &str = "SECd1ngsecret0f7he9r0up";
    for (kind, url, secret) in [
        (
            "wecom",
            format!("http://127.0.0.1:9/cgi-bin/webhook/send?key={ROBOT_KEY}"),
            "",
        ),
        (
            "dingtalk",
            format!("http://127.0.0.1:9/robot/send?access_token={DING_TOKEN}"),
            DING_SECRET,
        ),
    ] {
        let (s, b) = admin(
            &w,
            "POST",
            "/admin/routes",
            &serde_json::json!({"name": kind, "kind": kind, "url": url, "secret": secret, "audience": "handlers"})
                .to_string(),
        );
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = admin(&w, "GET", "/admin/routes", "");
    assert_eq!(s, 200);
    assert!(
        b.contains("…（已隐藏）") && !b.contains(ROBOT_KEY) && !b.contains(DING_TOKEN),
        "{b}"
    );
    // Ratings (a 差评 among them, so alerts are queued and tried) and a refused console login,
    // all from one client address the proxy names.
    for (n, e) in entries.iter().take(4).enumerate() {
        let level = if n == 0 {
            Level::Dissatisfied
        } else {
            Level::Satisfied
        };
        let (s, _, b) = http(
            "POST",
            &format!("{}/api/rate", w.base),
            &[("Content-Type", "application/json"), ("X-Real-IP", ADDRESS)],
            Some(&i.submission(e, RatingInput::new(level, &[level.tags()[0].code]))),
        );
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    }
    let (s, _, _) = http(
        "POST",
        &format!("{}/console/login", w.base),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", &w.base),
            ("X-Real-IP", ADDRESS),
        ],
        Some(b"name=nobody&password=wrong-password"),
    );
    assert!(s >= 400, "{s}");
    // Past the alarm's first round, which tried the routes (127.0.0.1:9 refuses).
    std::thread::sleep(Duration::from_secs(2));
    let backup = pack.join("../secrets-backup.sqlite");
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 022 && exec '{}' backup '{}' --env '{}' --as-root",
            pack.join("zsp").display(),
            backup.display(),
            env.display()
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", said(&o));
    drop(w);
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup's mode under umask 022");
    let dump = Command::new("sqlite3")
        .arg(&backup)
        .arg(".dump")
        .output()
        .unwrap();
    assert!(dump.status.success(), "{}", said(&dump));
    let dump = String::from_utf8_lossy(&dump.stdout).into_owned();
    assert!(
        dump.contains("INSERT INTO ratings") && dump.contains("zsp-sealed:v1:"),
        "the dump has the data"
    );
    let raw = String::from_utf8_lossy(&std::fs::read(&backup).unwrap()).into_owned();
    for (what, text) in [
        ("the client address", ADDRESS),
        ("the 企业微信 robot key", ROBOT_KEY),
        ("the 钉钉 access token", DING_TOKEN),
        ("the 钉钉 signing secret", DING_SECRET),
    ] {
        assert!(!dump.contains(text), "{what} is in the backup's dump");
        assert!(!raw.contains(text), "{what} is in the backup's bytes");
    }
    println!(
        "backup: {} bytes, mode {mode:o}; no address, robot key or route secret in its dump or bytes",
        raw.len()
    );
}

/// Root is no service user: `serve` and `restore` refuse it and write nothing; files a root run
/// left in the data folder make `zsp check` (as the service's user) fail with their names and
/// the repair, never "zsp serve is running"; `--as-root` serves as the data folder's owner.
#[test]
#[ignore = "needs the pack `cargo xtask test` builds"]
fn root_is_refused_and_what_root_left_is_named_with_its_repair() {
    use std::os::unix::fs::MetadataExt;
    if !::edge::zsp::user::is_root() {
        println!("not root: the refusal of root cannot be shown here");
        return;
    }
    let pack = unpack("root");
    let i = install(&pack);
    let port = edge::free_port().unwrap();
    let env = i.env("r", port, "");
    let data = pack.join("../r-data");
    let zsp = |args: &[&str]| {
        Command::new(pack.join("zsp"))
            .args(args)
            .arg("--env")
            .arg(&env)
            .env_remove("ZSP_ENV")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let backup = pack.join("../root-backup.sqlite");
    std::fs::write(&backup, b"not even a database").unwrap();
    for args in [
        vec!["serve"],
        vec!["restore", backup.to_str().unwrap()],
        vec!["backup", backup.to_str().unwrap()],
    ] {
        let o = zsp(&args);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            said(&o).contains("runs as the service's user, not root")
                && said(&o).contains("--as-root"),
            "{args:?}: {}",
            said(&o)
        );
        assert!(!data.exists(), "{args:?} wrote the data folder");
    }
    // The service's user (nobody, here) owns the data folder; a root run left files in it.
    std::fs::create_dir_all(data.join("zhangshangping-store")).unwrap();
    std::fs::write(data.join("zsp.lock"), b"").unwrap();
    std::fs::write(data.join("zhangshangping-store/left.sqlite"), b"").unwrap();
    let chown = |args: &[&str]| {
        assert!(Command::new("chown").args(args).status().unwrap().success());
    };
    chown(&["65534:65534", data.to_str().unwrap()]);
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(pack.join("zsp"))
            .args(args)
            .arg("--env")
            .arg(&env)
            .env_remove("ZSP_ENV")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = as_nobody(&["check"]);
    let text = said(&o);
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("zsp.lock")
            && text.contains("left.sqlite")
            && text.contains("zhangshangping-store"),
        "{text}"
    );
    let repair = format!("chown -R --reference={} {}", data.display(), data.display());
    assert!(text.contains(&repair), "{text}");
    assert!(!text.contains("zsp serve is running"), "{text}");
    println!("zsp check as the service's user: {}", text.trim());
    // The repair it names works.
    assert!(
        Command::new("sh")
            .arg("-c")
            .arg(&repair)
            .status()
            .unwrap()
            .success()
    );
    let o = as_nobody(&["check"]);
    assert!(o.status.success(), "{}", said(&o));
    std::fs::remove_file(data.join("zhangshangping-store/left.sqlite")).unwrap();
    // Served as the service's user from a folder it cannot read (`sudo -u … zsp serve` typed in
    // /root): workerd works in the data folder, not the caller's.
    let closed = pack.join("../closed");
    std::fs::create_dir_all(&closed).unwrap();
    std::fs::set_permissions(&closed, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(pack.join("zsp"))
        .args(["serve", "--env"])
        .arg(&env)
        .env_remove("ZSP_ENV")
        .current_dir(&closed);
    let w = edge::spawn(c, port, &i.admin_token, &pack.join("../closed.log")).unwrap();
    drop(w);
    // From root with --as-root: served as nobody, everything it writes nobody's.
    let (w, _) = i.serve(&env, port);
    let entries = load_sample(&i, &w);
    rate(&i, &w.base, &entries[0], Level::Satisfied);
    // `zsp token` reads a zsp.env edited on a Windows PC (quotes, CRLF) as zsp does, and the
    // document's upload line works with it.
    let crlf = pack.join("../crlf.env");
    let text = std::fs::read_to_string(&env)
        .unwrap()
        .replace(
            &format!("ADMIN_TOKEN={}", i.admin_token),
            &format!("ADMIN_TOKEN=\"{}\"", i.admin_token),
        )
        .replace('\n', "\r\n");
    std::fs::write(&crlf, text).unwrap();
    let o = run(&pack, &["token", "--env", crlf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{}\n", i.admin_token)
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "T=$('{}' token --env '{}') && curl -fsS -X PUT -H \"Authorization: Bearer $T\" --data-binary @'{}' {}/admin/directory",
            pack.join("zsp").display(),
            crlf.display(),
            pack.join("../sheets/directory.json").display(),
            w.base
        ))
        .output()
        .unwrap();
    assert!(
        o.status.success() && said(&o).contains("\"entries\""),
        "{}",
        said(&o)
    );
    drop(w);
    let mut owners = vec![];
    let mut stack = vec![data.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            owners.push((e.path(), m.uid()));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    assert!(
        owners
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|x| x == "sqlite"))
    );
    for (p, uid) in &owners {
        assert_eq!(*uid, 65534, "{} is not the service user's", p.display());
    }
    println!(
        "--as-root: {} files in the data folder, all the data folder owner's",
        owners.len()
    );
}

/// What an administrator needs is in the archive: ROSTER.md, the sample roster as .xlsx and
/// .csv (qr-gen makes sheets of both, run from the unpacked folder), the columns under
/// `qr-gen sheets --help`; OPERATORS.md points only at what ships.
#[test]
#[ignore = "needs the pack `cargo xtask test` builds"]
fn the_archive_carries_the_administrators_documents() {
    let pack = unpack("docs");
    for f in [
        "ROSTER.md",
        "samples/roster.xlsx",
        "samples/roster.csv",
        "OPERATORS.md",
    ] {
        assert!(pack.join(f).is_file(), "{f} is not in the archive");
    }
    let ops = std::fs::read_to_string(pack.join("OPERATORS.md")).unwrap();
    assert!(
        !ops.contains("README"),
        "OPERATORS.md points at a README the archive lacks"
    );
    assert!(ops.contains("ROSTER.md"));
    let qr_gen = |args: &[&str]| {
        Command::new(pack.join("qr-gen"))
            .args(args)
            .current_dir(&pack)
            .output()
            .unwrap()
    };
    let o = qr_gen(&["sheets", "--help"]);
    assert!(o.status.success());
    for col in [
        "区划代码",
        "大厅",
        "窗口单位",
        "窗口号",
        "工号",
        "姓名",
        "事项",
        "ROSTER.md",
    ] {
        assert!(said(&o).contains(col), "--help lacks {col}: {}", said(&o));
    }
    let o = qr_gen(&["keys", "new", "--kid", "3301", "--out", "3301.key"]);
    assert!(o.status.success(), "{}", said(&o));
    let mut codes = vec![];
    for sample in ["samples/roster.xlsx", "samples/roster.csv"] {
        let out = format!("out-{}", &sample[15..]);
        let o = qr_gen(&[
            "sheets",
            sample,
            "--host",
            "https://pj.example.gov.cn/",
            "--key",
            "3301.key",
            "--out",
            &out,
        ]);
        assert!(o.status.success(), "{sample}: {}", said(&o));
        let dir = std::fs::read_to_string(pack.join(&out).join("directory.json")).unwrap();
        codes.push(Directory::from_json(&dir).unwrap().entries.len());
    }
    assert!(codes[0] > 50 && codes[0] == codes[1], "{codes:?}");
    println!(
        "the sample roster from the archive: {} codes from .xlsx, {} from .csv",
        codes[0], codes[1]
    );
}

/// An upstream on 127.0.0.1 that answers every request with `status` and counts them: its port
/// and the count.
fn counting_upstream(status: &'static str) -> (u16, Arc<Mutex<usize>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let up = l.local_addr().unwrap().port();
    let hits = Arc::new(Mutex::new(0usize));
    let h = hits.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            *h.lock().unwrap() += 1;
            let _ = xtask::robots::read_request(&c);
            let _ = std::io::Write::write_all(
                &mut c,
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (up, hits)
}

/// `zsp restore --drill`: the backup restored beside the service into a folder of its own, with
/// an env of its own (port, no upstream, its own challenge key); served, it answers the printed
/// cards and sends nothing to the upstream, though ratings are owed to it.
#[test]
#[ignore = "needs the pack `cargo xtask test` builds"]
fn a_restore_drill_serves_apart_and_sends_nothing() {
    // An upstream that is down: every request to it counted.
    let (up, hits) = counting_upstream("503 Service Unavailable");
    let pack = unpack("drill");
    let i = install(&pack);
    let port = edge::free_port().unwrap();
    let env = i.env(
        "dr",
        port,
        &format!("UPSTREAM_URL=http://127.0.0.1:{up}/ratings\n"),
    );
    let (w, _) = i.serve(&env, port);
    let entries = load_sample(&i, &w);
    for e in entries.iter().take(3) {
        rate(&i, &w.base, e, Level::Satisfied);
    }
    wait_for("the upstream tried", 20, || *hits.lock().unwrap() > 0);
    let backup = pack.join("../drill-backup.sqlite");
    let o = run(
        &pack,
        &[
            "backup",
            backup.to_str().unwrap(),
            "--env",
            env.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", said(&o));
    drop(w);
    let before = *hits.lock().unwrap();
    let to = pack.join("../drill");
    let o = run(
        &pack,
        &[
            "restore",
            "--drill",
            backup.to_str().unwrap(),
            "--to",
            to.to_str().unwrap(),
            "--env",
            env.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", said(&o));
    println!("{}", said(&o).trim());
    let drill_port: u16 = said(&o)
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .and_then(|p| p.parse().ok())
        .expect("the drill's port");
    assert_ne!(drill_port, port);
    let drill_env = to.join("zsp.env");
    let text = std::fs::read_to_string(&drill_env).unwrap();
    assert!(
        !text.contains("UPSTREAM_URL") && !text.contains(&format!(":{up}")),
        "{text}"
    );
    // Restored under another QR key (same id, another secret): refused by name, both
    // fingerprints given, before a single printed card fails.
    let other = Key::new(KeyPurpose::Qr, 3301, [0x5a; 32]);
    let wrong_env = to.join("wrong.env");
    let qr_line = text
        .lines()
        .find(|l| l.starts_with("QR_KEYS="))
        .unwrap()
        .to_owned();
    std::fs::write(
        &wrong_env,
        text.replace(&qr_line, &format!("QR_KEYS={}", other.to_text())),
    )
    .unwrap();
    let o = run(&pack, &["check", "--env", wrong_env.to_str().unwrap()]);
    let said_check = said(&o);
    assert!(!o.status.success(), "{said_check}");
    for part in [
        "the printed cards of",
        "signed with key 3301",
        &i.qr.fingerprint(),
        &other.fingerprint(),
    ] {
        assert!(said_check.contains(part), "{part}: {said_check}");
    }
    let refused = refused_to_serve(&pack, &wrong_env, drill_port);
    assert!(refused.contains(&other.fingerprint()), "{refused}");
    println!("zsp check with another QR key: {}", said_check.trim());
    // Forwarding under the provincial mapping, whose deptCode one entry cannot fill (its unit's
    // 统一社会信用代码 gone, as in a directory from before the column): refused by name, with the
    // field and the entry.
    let drill_data = std::path::PathBuf::from(
        text.lines()
            .find_map(|l| l.strip_prefix("ZSP_DATA="))
            .expect("the drill's data folder"),
    );
    let drill_db = ::edge::zsp::data::database(&drill_data).unwrap().unwrap();
    let holed: String = Connection::open(&drill_db)
        .unwrap()
        .query_row(
            "UPDATE entries SET json = json_remove(json, '$.dept_code') \
             WHERE code = (SELECT MIN(code) FROM entries) RETURNING code",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let provincial_env = to.join("provincial.env");
    let upstream_key = Key::new(KeyPurpose::Upstream, 1, [0x17; 32]).to_text();
    std::fs::write(
        &provincial_env,
        format!(
            "{}\nUPSTREAM_URL=http://127.0.0.1:9/ratings\nUPSTREAM_KEYS={upstream_key}\nUPSTREAM_MAPPING=provincial\n",
            text.lines()
                .filter(|l| !l.starts_with("UPSTREAM_"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    )
    .unwrap();
    let o = run(&pack, &["check", "--env", provincial_env.to_str().unwrap()]);
    let said_check = said(&o);
    assert!(!o.status.success(), "{said_check}");
    for part in [
        "receiver upstream (UPSTREAM_MAPPING): mapping provincial cannot fill a required field for 1 directory entry",
        "deptCode（窗口单位统一社会信用代码）",
        &format!("({holed})"),
        "统一社会信用代码 in the roster's column",
    ] {
        assert!(said_check.contains(part), "{part}: {said_check}");
    }
    println!(
        "zsp check, provincial without the units' codes: {}",
        said_check.trim()
    );
    let (d, _) = i.serve(&drill_env, drill_port);
    // A card printed with a key the service lacks: the log names why it was refused.
    let stranger = Key::new(KeyPurpose::Qr, 4401, [0x33; 32]);
    let (s, _, _) = http(
        "GET",
        &format!("{}/{}", d.base, printed(&stranger, &entries[0])),
        &[],
        None,
    );
    assert_eq!(s, 404);
    let seg = printed(&i.qr, &entries[0]);
    let (s, _, _) = http("GET", &format!("{}/{seg}", d.base), &[], None);
    assert_eq!(s, 200);
    assert_eq!(
        rows(&export(&d)).len(),
        3,
        "the drill holds the backup's ratings"
    );
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        *hits.lock().unwrap(),
        before,
        "the drill copy sent something upstream"
    );
    drop(d);
    let log = std::fs::read_to_string(drill_env.with_extension("log")).unwrap();
    assert!(log.contains("GET landing 404 qr.unknown_key"), "{log}");
    println!(
        "restore drill: served on its own port, 3 ratings owed, 0 requests to the upstream in 5 s"
    );
}

/// `zsp selftest` against the running pack: one test rating through the public routes, stored
/// as a test (the console's rejected list names it), absent from `/results`, from `/metrics`'
/// counted figures and from the upstream receiver, its log line marked, and gone after a prune.
#[test]
#[ignore = "needs the pack `cargo xtask test` builds"]
fn selftest_rates_through_the_service_and_counts_nowhere() {
    let (up, hits) = counting_upstream("200 OK");
    let pack = unpack("selftest");
    let i = install(&pack);
    let port = edge::free_port().unwrap();
    let env = i.env(
        "st",
        port,
        &format!("UPSTREAM_URL=http://127.0.0.1:{up}/ratings\n"),
    );
    let o = run(&pack, &["selftest", "--env", env.to_str().unwrap()]);
    assert!(
        !o.status.success() && said(&o).contains("does not answer"),
        "{}",
        said(&o)
    );
    let (w, _) = i.serve(&env, port);
    let o = run(&pack, &["selftest", "--env", env.to_str().unwrap()]);
    assert!(
        !o.status.success() && said(&o).contains("upload directory.json first"),
        "{}",
        said(&o)
    );
    let _entries = load_sample(&i, &w);
    let results = |w: &Worker| {
        let (s, _, b) = http("GET", &format!("{}/results.json", w.base), &[], None);
        assert_eq!(s, 200);
        String::from_utf8_lossy(&b).into_owned()
    };
    let before = results(&w);
    let t = Instant::now();
    let o = run(&pack, &["selftest", "--env", env.to_str().unwrap()]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(
        said(&o).contains("a test rating was stored"),
        "{}",
        said(&o)
    );
    println!("{} ({} ms)", said(&o).trim(), t.elapsed().as_millis());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(*hits.lock().unwrap(), 0, "the test rating went upstream");
    assert_eq!(
        results(&w),
        before,
        "the test rating is in the public results"
    );
    let (_, metrics) = admin(&w, "GET", "/metrics", "");
    assert!(
        !metrics.contains("zsp_submissions_total{outcome=\"accepted\"} 1"),
        "{metrics}"
    );
    let rejected = crate::workerd::export_with(&w, "hold=rejected");
    assert_eq!(rows(&rejected).len(), 1, "{rejected}");
    assert!(
        rows(&export(&w)).is_empty(),
        "the test rating is among the counted ones"
    );
    drop(w);
    let log = std::fs::read_to_string(env.with_extension("log")).unwrap();
    assert!(log.contains("POST rate 200 selftest"), "{log}");
    // A prune an hour later (the data folder read directly: what the alarm runs).
    let db = ::edge::zsp::data::database(&pack.join("../st-data"))
        .unwrap()
        .unwrap();
    let c = Connection::open(&db).unwrap();
    for s in ::edge::store::prune(now() + 3700, 30, 14, true) {
        let params: Vec<rusqlite::types::Value> = s
            .args
            .iter()
            .map(|v| match v {
                ::edge::sql::Val::Int(n) => rusqlite::types::Value::Integer(*n),
                ::edge::sql::Val::Text(t) => rusqlite::types::Value::Text(t.clone()),
                ::edge::sql::Val::Null => rusqlite::types::Value::Null,
            })
            .collect();
        c.execute(&s.sql, rusqlite::params_from_iter(params))
            .unwrap();
    }
    let left: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM ratings WHERE signals LIKE '%selftest%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the test rating outlived the prune");
}

/// `zsp serve` that must refuse: it exits (within 30 s) with a message, and nothing listens.
fn refused_to_serve(pack: &Path, env: &Path, port: u16) -> String {
    let mut child = Command::new(pack.join("zsp"))
        .arg("serve")
        .arg("--env")
        .arg(env)
        .arg("--as-root")
        .env_remove("ZSP_ENV")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!(
                "zsp serve started on a bad configuration ({})",
                env.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something listens on {port}"
    );
    said(&o)
}

#[test]
#[ignore = "needs the pack `cargo xtask test` builds"]
fn every_bad_configuration_is_named_and_nothing_starts() {
    let pack = unpack("bad");
    let i = install(&pack);
    let port = edge::free_port().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let without = |name: &str| -> String {
        i.keys
            .lines()
            .filter(|l| !l.starts_with(&format!("{name}=")))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    // (the file's text, what the error must say)
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d1\n",
                without("QR_KEYS")
            ),
            vec![
                "(not set): QR_KEYS: not set".into(),
                "qr-gen keys new".into(),
            ],
        ),
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d2\n",
                without("CHALLENGE_KEYS")
            ),
            vec![
                "CHALLENGE_KEYS: not set".into(),
                "`zsp keys` makes it".into(),
            ],
        ),
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d3\nPOW_DIFFICULTY=hard\n",
                i.keys
            ),
            vec!["line 9: POW_DIFFICULTY: must be a whole number from 0 to".into()],
        ),
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d4\nUPSTREAM_ULR=https://hcp.zj.gov.cn/in\n",
                i.keys
            ),
            vec![
                "line 9: UPSTREAM_ULR is not a setting of 掌上评 (did you mean UPSTREAM_URL?)"
                    .into(),
            ],
        ),
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d5\nUPSTREAM_URL=ftp://hcp.zj.gov.cn/in\n",
                i.keys
            ),
            vec!["line 9: UPSTREAM_URL:".into()],
        ),
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d6\nUPSTREAM_URL=https://hcp.zj.gov.cn/in\n",
                without("UPSTREAM_KEYS")
            ),
            vec!["UPSTREAM_KEYS: required when UPSTREAM_URL is set".into()],
        ),
        (
            format!("{}ZSP_LISTEN=localhost\nZSP_DATA=d7\n", i.keys),
            vec!["ZSP_LISTEN: `localhost` is not address:port".into()],
        ),
        (
            format!("{}ZSP_LISTEN=127.0.0.1:{taken_port}\nZSP_DATA=d8\n", i.keys),
            vec![format!(
                "ZSP_LISTEN: cannot listen on 127.0.0.1:{taken_port}"
            )],
        ),
        (
            // Not writable, even by root.
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=/proc/zsp-data\n",
                i.keys
            ),
            vec!["ZSP_DATA: /proc/zsp-data: cannot create it".into()],
        ),
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d9\nADMIN_TOKEN=short\n",
                without("ADMIN_TOKEN")
            ),
            vec!["ADMIN_TOKEN: must be at least 16 characters".into()],
        ),
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d10\nRETENTION_DAYS=30\nRETENTION_DAYS=7\n",
                i.keys
            ),
            vec!["RETENTION_DAYS is set again (first on line 9)".into()],
        ),
        (
            format!(
                "{}ZSP_LISTEN=127.0.0.1:{port}\nZSP_DATA=d11\nSITE_ICP=浙ICP备\n12345678号\n",
                i.keys
            ),
            vec!["line 10: `12345678号` is not NAME=value".into()],
        ),
    ];
    let env = pack.join("../bad.env");
    for (n, (text, want)) in cases.iter().enumerate() {
        std::fs::write(&env, text).unwrap();
        let check = said(&run(&pack, &["check", "--env", env.to_str().unwrap()]));
        let serve = refused_to_serve(&pack, &env, port);
        for w in want {
            assert!(
                check.contains(w.as_str()),
                "case {n}: check says\n{check}\nnot {w:?}"
            );
            assert!(
                serve.contains(w.as_str()),
                "case {n}: serve says\n{serve}\nnot {w:?}"
            );
        }
        assert!(
            check.contains(&env.display().to_string()),
            "case {n}: {check}"
        );
        // Nothing was started half-configured: no storage was made.
        let data = pack.join(format!("../d{}", n + 1));
        assert!(!data.join("zhangshangping-store").exists(), "case {n}");
    }
    drop(taken);
}

fn schema_rows(db: &Path) -> Vec<(i64, i64)> {
    let c = Connection::open(db).unwrap();
    let mut s = c
        .prepare("SELECT version, applied_at FROM zsp_schema ORDER BY version")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn sha(p: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(p).unwrap()))
}

#[test]
#[ignore = "needs the pack `cargo xtask test` builds"]
fn an_upgrade_migrates_once_and_an_older_release_refuses_newer_data() {
    let pack = unpack("upgrade");
    let i = install(&pack);
    let port = edge::free_port().unwrap();
    let env = i.env("u", port, "");
    let (w, _) = i.serve(&env, port);
    let entries = load_sample(&i, &w);
    for e in entries.iter().take(8) {
        rate(&i, &w.base, e, Level::Basic);
    }
    let before = export(&w);
    drop(w);
    let data = pack.join("../u-data");
    let db = ::edge::zsp::data::database(&data).unwrap().unwrap();
    let latest = ::edge::zsp::data::latest();
    assert_eq!(
        latest, 22,
        "this test turns data into what schema 1 left; see below"
    );
    // What the first release (schema 1) left: the same data without what migrations 2 to 22 add
    // (tables, indexes, columns, triggers) and without their records: exactly their undoing.
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP INDEX cases_comment_kept; \
             DROP TRIGGER entries_place_insert; DROP TRIGGER entries_place_delete; DROP TRIGGER entries_place_update; \
             DROP VIEW hall_moves; DROP TABLE hall_places; DROP TABLE code_places; \
             DROP TRIGGER links_served; DROP TRIGGER served_linked_insert; DROP INDEX served_unrated; \
             ALTER TABLE served DROP COLUMN linked; \
             CREATE INDEX served_unrated ON served (at) WHERE rated = 0 AND project_no IS NOT NULL; \
             DROP TRIGGER case_halls_insert; DROP TRIGGER case_halls_entry; DROP TABLE case_halls; \
             DROP INDEX cases_figures; CREATE INDEX cases_hall ON cases (hall, opened_at); \
             DROP TABLE case_events; ALTER TABLE cases DROP COLUMN order_no; \
             DROP TRIGGER cases_result_closed; DROP TRIGGER cases_result_verdict; DROP TRIGGER cases_results_owed; \
             DROP TABLE case_deliveries; ALTER TABLE cases DROP COLUMN results; \
             DROP TRIGGER ratings_owed_insert; DROP TRIGGER ratings_owed_update; DROP TRIGGER ratings_owed_delete; \
             ALTER TABLE ratings ADD COLUMN forwarded_rev INTEGER NOT NULL DEFAULT 0; ALTER TABLE ratings ADD COLUMN forwarded_at INTEGER; \
             ALTER TABLE ratings ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0; ALTER TABLE ratings ADD COLUMN last_error TEXT; \
             UPDATE ratings SET forwarded_rev = COALESCE((SELECT rev FROM deliveries WHERE receiver = 'upstream' AND deliveries.id = ratings.id), 0); \
             CREATE INDEX ratings_pending ON ratings (next_attempt_at) WHERE forwarded_rev < rev; \
             CREATE INDEX ratings_forwarded ON ratings (forwarded_at) WHERE forwarded_at IS NOT NULL; \
             DROP TABLE deliveries; DROP TABLE receivers; \
             DROP TRIGGER ratings_code_tally_insert; DROP TRIGGER ratings_code_tally_out; DROP TRIGGER ratings_code_tally_in; DROP TABLE code_tallies; DROP TRIGGER ratings_reason_insert; DROP TRIGGER ratings_reason_out; DROP TRIGGER ratings_reason_in; DROP TABLE reason_tallies; DROP TABLE matter_tallies; DROP TRIGGER served_tally_insert; DROP TRIGGER served_tally_update; DROP TABLE served_tallies; DROP TABLE served; DROP TABLE praise; DROP TABLE key_prints; DROP TABLE link_raters; DROP TABLE login_spend; DROP TABLE login_clients; DROP TABLE login_refusals; \
             DROP TABLE held_overflow; ALTER TABLE bursts DROP COLUMN f; DROP TABLE status_misses; \
             DROP TABLE kiosks; DROP TABLE on_duty; DROP INDEX links_kiosk; \
             DROP TABLE links; ALTER TABLE ratings DROP COLUMN project_no; DROP TRIGGER ratings_tally_insert; DROP TRIGGER ratings_tally_out; DROP TRIGGER ratings_tally_in; \
             DROP TABLE tallies; DROP TABLE reviews; DROP TABLE addresses; DROP TABLE form_spend; \
             CREATE TABLE form_budget (code TEXT NOT NULL, slot INTEGER NOT NULL, \
               n INTEGER NOT NULL CONSTRAINT form_budget_spent CHECK (n <= 6), PRIMARY KEY (code, slot)) WITHOUT ROWID; \
             DROP INDEX ratings_held; ALTER TABLE ratings DROP COLUMN hold; ALTER TABLE ratings DROP COLUMN signals; \
             ALTER TABLE ratings DROP COLUMN first; ALTER TABLE ratings DROP COLUMN about; DROP TABLE receipts; DROP TABLE case_steps; DROP TABLE alerts; DROP TABLE route_sends; DROP TABLE repeats; \
             DROP TABLE calendars; DROP TABLE routes; DROP TABLE cases; \
             DROP TABLE accounts; DROP TABLE sessions; DROP TABLE login_failures; \
             DROP TABLE tokens; DROP TABLE audit; DROP TABLE uploads; \
             DROP TABLE hall_levels; DROP TABLE code_periods; DROP TABLE case_periods; \
             DROP VIEW level_moves; DROP VIEW code_moves; DROP VIEW case_moves; \
             DROP INDEX entries_place; DROP INDEX ratings_hall_time; DROP INDEX ratings_time; \
             ALTER TABLE entries DROP COLUMN region; ALTER TABLE entries DROP COLUMN hall; \
             ALTER TABLE ratings DROP COLUMN region; ALTER TABLE ratings DROP COLUMN hall; \
             ALTER TABLE revocations DROP COLUMN authority; ALTER TABLE revocations DROP COLUMN region; \
             ALTER TABLE revocations DROP COLUMN hall; ALTER TABLE revocations DROP COLUMN reason; \
             ALTER TABLE revocations DROP COLUMN by_actor; ALTER TABLE revocations DROP COLUMN at; \
             DROP TABLE releases; DELETE FROM zsp_schema WHERE version >= 2;",
        )
        .unwrap();
    assert_eq!(schema_rows(&db).len(), 1);
    let o = run(&pack, &["check", "--env", env.to_str().unwrap()]);
    assert!(
        said(&o).contains("data at schema 1: this release migrates it to 22 on start, once"),
        "{}",
        said(&o)
    );
    let (w, _) = i.serve(&env, port);
    assert_eq!(
        export(&w),
        before,
        "the upgrade kept every rating as it was"
    );
    rate(&i, &w.base, &entries[9], Level::Satisfied);
    drop(w);
    let migrated = schema_rows(&db);
    assert_eq!(
        migrated.iter().map(|r| r.0).collect::<Vec<_>>(),
        (1..=latest).collect::<Vec<_>>(),
        "each migration once, in order"
    );
    // Started again: nothing runs twice.
    let (w, _) = i.serve(&env, port);
    drop(w);
    assert_eq!(schema_rows(&db), migrated, "a migration ran twice");
    let c = Connection::open(&db).unwrap();
    let release: String = c
        .query_row(::edge::schema::LAST_RELEASE, [], |r| r.get(0))
        .unwrap();
    assert_eq!(release, ::edge::schema::RELEASE);

    // A newer release's data (one schema past this build's, opened by 9.0.0) under this one:
    // refused, untouched.
    c.execute(
        ::edge::schema::RECORD,
        rusqlite::params![latest + 1, "future.sql", now()],
    )
    .unwrap();
    c.execute(
        ::edge::schema::OPENED,
        rusqlite::params!["9.0.0", now() + 1],
    )
    .unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(c);
    // The databases' bytes, and what is in their write-ahead logs (a reader may create an empty
    // one, and its index; a write would fill it).
    let files = |db: &Path| -> Vec<(String, String)> {
        let mut f: Vec<_> = std::fs::read_dir(db.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "sqlite" || x == "sqlite-wal")
            })
            .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
            .map(|p| (p.display().to_string(), sha(&p)))
            .collect();
        f.sort();
        f
    };
    let untouched = files(&db);
    let said_serve = refused_to_serve(&pack, &env, port);
    for w in [
        &format!(
            "schema version {}, newer than this build's {latest}",
            latest + 1
        ),
        "last opened by zhangshangping 9.0.0",
    ] {
        assert!(said_serve.contains(w), "{said_serve}");
    }
    assert_eq!(files(&db), untouched, "refused data was changed");
}

/// The operator's `nginx.conf.example`, as shipped but for its addresses and certificate, in
/// front of `zsp serve`: TLS with a certificate made here, HTTP/2, http redirected, a city's
/// directory uploaded through it, `/metrics` behind the token.
#[test]
#[ignore = "needs the pack and Debian's nginx that `cargo xtask test` installs"]
fn the_nginx_example_fronts_the_service_with_tls_and_http2() {
    let pack = unpack("nginx");
    let i = install(&pack);
    let port = edge::free_port().unwrap();
    // As OPERATORS.md has it behind nginx: the client's address and scheme from its headers.
    let env = i.env(
        "n",
        port,
        "CLIENT_IP_HEADER=X-Real-IP\nHTTPS_HEADER=X-Forwarded-Proto\n",
    );
    let (w, _) = i.serve(&env, port);
    let dir = pack.join("../nginx");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let (crt, key) = (dir.join("c.crt"), dir.join("c.key"));
    let o = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=pj.example.gov.cn"])
        .args(["-addext", "subjectAltName=DNS:pj.example.gov.cn", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", said(&o));
    let (http_port, https_port) = (edge::free_port().unwrap(), edge::free_port().unwrap());
    let site = std::fs::read_to_string(pack.join("nginx.conf.example"))
        .unwrap()
        .replace("listen 80;", &format!("listen 127.0.0.1:{http_port};"))
        .replace(
            "listen 443 ssl http2;",
            &format!("listen 127.0.0.1:{https_port} ssl http2;"),
        )
        .replace("listen [::]:80;", "")
        .replace("listen [::]:443 ssl http2;", "")
        .replace(
            "/etc/nginx/tls/pj.example.gov.cn.crt",
            crt.to_str().unwrap(),
        )
        .replace(
            "/etc/nginx/tls/pj.example.gov.cn.key",
            key.to_str().unwrap(),
        )
        .replace(
            "server 127.0.0.1:8787;",
            &format!("server 127.0.0.1:{port};"),
        );
    let d = dir.display();
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "pid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\nevents {{}}\nhttp {{\n  access_log {d}/logs/access.log;\n  client_body_temp_path {d}/t1; proxy_temp_path {d}/t2; fastcgi_temp_path {d}/t3; uwsgi_temp_path {d}/t4; scgi_temp_path {d}/t5;\n{site}\n}}\n"
        ),
    )
    .unwrap();
    let conf = dir.join("nginx.conf");
    let o = Command::new("nginx")
        .arg("-t")
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "nginx -t: {}", said(&o));
    let mut nginx = Command::new("nginx")
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(&dir)
        .args(["-g", "daemon off;"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let curl = |path: &str, extra: &[&str]| -> (String, String) {
        let o = Command::new("curl")
            .args(["-sk", "--http2", "--resolve"])
            .arg(format!("pj.example.gov.cn:{https_port}:127.0.0.1"))
            .args(["-w", "\n%{http_version} %{http_code}"])
            .args(extra)
            .arg(format!("https://pj.example.gov.cn:{https_port}{path}"))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let (body, status) = out.rsplit_once('\n').unwrap_or((&out, ""));
        (body.to_owned(), status.to_owned())
    };
    wait_for("nginx", 20, || curl("/status", &[]).1 == "2 200");
    let auth = format!("Authorization: Bearer {}", i.admin_token);
    let (_, s) = curl("/metrics", &[]);
    assert_eq!(s, "2 401");
    let (m, s) = curl("/metrics", &["-H", &auth]);
    assert_eq!(s, "2 200");
    assert!(m.contains("zsp_forward_backlog 0"), "{m}");
    // A directory upload goes through (it is larger than nginx's default body limit).
    let entries: Vec<Entry> = (0..5000)
        .map(|n| Entry::example(&format!("W{n:04}"), Some(&format!("S{n:04}"))))
        .collect();
    let body = dir.join("directory.json");
    std::fs::write(&body, Directory::new(entries.clone()).to_json()).unwrap();
    assert!(std::fs::metadata(&body).unwrap().len() > 1 << 20);
    let (r, s) = curl(
        "/admin/directory",
        &[
            "-X",
            "PUT",
            "-H",
            &auth,
            "--data-binary",
            &format!("@{}", body.display()),
        ],
    );
    assert_eq!(s, "2 200", "{r}");
    let seg = printed(&i.qr, &entries[7]);
    let (page, s) = curl(&format!("/{seg}"), &[]);
    assert_eq!(s, "2 200");
    assert!(page.contains(&entries[7].hall), "{page}");
    // Compressed once on the way, whoever compresses it; the metrics too (nginx does those if
    // the service does not).
    for (path, extra) in [
        (format!("/{seg}"), ""),
        ("/metrics".to_string(), auth.as_str()),
    ] {
        let mut args = vec!["-D", "-", "--compressed", "-H", "Accept-Encoding: gzip"];
        if !extra.is_empty() {
            args.extend(["-H", extra]);
        }
        let (out, s) = curl(&path, &args);
        assert_eq!(s, "2 200", "{path}");
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        let head = head.to_ascii_lowercase();
        assert!(head.contains("content-encoding: gzip"), "{path}: {head}");
        assert_eq!(head.matches("content-encoding").count(), 1, "{head}");
        assert!(
            body.contains("zsp_") || body.contains(&entries[7].hall),
            "{path}: {body}"
        );
    }
    // Over https through nginx the device cookie is __Host- and Secure.
    let (out, _) = curl(&format!("/{seg}"), &["-D", "-", "-o", "/dev/null"]);
    let cookie = out
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_default();
    assert!(
        cookie.contains("__Host-zsp_d=") && cookie.trim_end().ends_with("Secure"),
        "{out}"
    );
    // Logins are rate-limited by nginx too: a burst of 5, then 429 before the service is asked.
    let codes: Vec<String> = (0..9)
        .map(|i| {
            curl(
                "/console/login",
                &[
                    "-o",
                    "/dev/null",
                    "-H",
                    "Origin: https://pj.example.gov.cn",
                    "--data",
                    &format!("name=nobody{i}&password=whatever"),
                ],
            )
            .1
        })
        .collect();
    assert!(codes.iter().any(|c| c == "2 429"), "{codes:?}");
    assert!(codes.iter().any(|c| c == "2 401"), "{codes:?}");
    let o = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "-H",
        ])
        .arg("Host: pj.example.gov.cn")
        .arg(format!("http://127.0.0.1:{http_port}/x"))
        .output()
        .unwrap();
    assert_eq!(said(&o), "301 https://pj.example.gov.cn/x");
    let _ = Command::new("kill").arg(nginx.id().to_string()).status();
    let _ = nginx.wait();
    drop(w);
}

/// The systemd unit as shipped (its `ExecStart` pointed at the unpacked release): systemd's own
/// checker finds nothing wrong, and its offline security review rates the sandbox.
#[test]
#[ignore = "needs the pack and Debian's systemd-analyze that `cargo xtask test` installs"]
fn the_systemd_unit_verifies_and_is_sandboxed() {
    let pack = unpack("unit");
    let dir = pack.join("../unit");
    std::fs::create_dir_all(&dir).unwrap();
    let unit = dir.join("zhangshangping.service");
    let text = std::fs::read_to_string(pack.join("zhangshangping.service")).unwrap();
    assert!(
        text.contains("ExecStart=/opt/zhangshangping/zsp serve --env /etc/zhangshangping/zsp.env")
    );
    std::fs::write(
        &unit,
        text.replace(
            "/opt/zhangshangping/zsp",
            pack.join("zsp").to_str().unwrap(),
        ),
    )
    .unwrap();
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    assert!(
        o.status.success() && said(&o).trim().is_empty(),
        "{}",
        said(&o)
    );
    let o = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&unit)
        .output()
        .unwrap();
    let review = said(&o);
    let level: f64 = review
        .lines()
        .find_map(|l| l.split("zhangshangping.service: ").nth(1))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{review}"));
    println!("systemd-analyze security: exposure {level} (0 best, 10 worst)");
    assert!(level <= 4.0, "{review}");
    for line in [
        "Restart=on-failure",
        "TimeoutStopSec=30",
        "User=zhangshangping",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/zhangshangping",
    ] {
        assert!(text.contains(line), "{line}");
    }
}
