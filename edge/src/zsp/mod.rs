//! `zsp`, the operator's one command around workerd in an unpacked release (`cargo xtask pack`):
//! `serve`, `check`, `backup`, `restore`, `keys`, `version`. It reads `zsp.env` ([`envfile`]),
//! checks every setting with the worker's own parser before anything starts, writes workerd's
//! config ([`crate::runtime`]) and becomes workerd (`exec`), holding the data folder's lock
//! ([`data::ServeLock`]) for as long as workerd runs.

pub mod client;
pub mod data;
pub mod envfile;
pub mod selftest;
pub mod user;
pub mod vault;

use crate::routes::{Settings, settings};
use crate::runtime::{Runtime, Upstream};
use envfile::EnvFile;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use wire::key::{Key, KeyPurpose};

pub use crate::schema::RELEASE;

/// An unpacked release: `zsp` beside `bin/workerd`, `worker/` and `site/`.
pub struct Pack {
    pub root: PathBuf,
}

impl Pack {
    /// The release `zsp` was started from (the folder of its executable).
    pub fn here() -> Result<Pack, String> {
        let exe = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|e| format!("where zsp is: {e}"))?;
        let root = exe.parent().unwrap_or(Path::new("/")).to_path_buf();
        Ok(Pack { root })
    }

    pub fn workerd(&self) -> PathBuf {
        self.root.join("bin/workerd")
    }

    /// The files `serve` needs, each one missing named.
    fn problems(&self) -> Vec<String> {
        std::iter::once(self.workerd())
            .chain(
                crate::runtime::BUNDLE
                    .iter()
                    .map(|f| self.root.join("worker").join(f)),
            )
            .chain([self.root.join("site/index.html")])
            .filter(|p| !p.is_file())
            .map(|p| {
                format!(
                    "{} is missing: unpack the whole release archive again",
                    p.display()
                )
            })
            .collect()
    }

    /// The default config file: `$ZSP_ENV`, else `zsp.env` beside `zsp`.
    pub fn env_file(&self) -> PathBuf {
        std::env::var_os("ZSP_ENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("zsp.env"))
    }
}

/// A checked configuration: what `serve` runs.
pub struct Plan {
    pub env: EnvFile,
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// The receivers, each its name and address.
    pub upstreams: Vec<(String, Upstream)>,
    pub alert_networks: Vec<String>,
    /// What a start will do to the data (migrations), and warnings worth a line.
    pub notes: Vec<String>,
}

/// Where a secret comes from, for the error that says it is missing or wrong.
fn source_of(name: &str) -> &'static str {
    match name {
        "QR_KEYS" => " (the text of the key file `qr-gen keys new` wrote)",
        "CHALLENGE_KEYS" | "UPSTREAM_KEYS" | "ADMIN_TOKEN" => " (`zsp keys` makes it)",
        _ => "",
    }
}

/// Every setting checked: the file, the worker's settings by its own parser, the data folder
/// (writable), the data's schema, the listen address (free, unless the service runs on this data
/// and so holds it). Every problem found is returned, each naming its setting and where it is.
/// What `check` and `serve` say when nothing is forwarded: ratings leave after the retention
/// (`store::prune`), and when the oldest one will go.
pub fn no_upstream(retention_days: u32, oldest: Option<i64>) -> String {
    let first = oldest
        .and_then(|t| {
            let given = wire::time::Day::from_unix(t)?;
            let goes = wire::time::Day::from_unix(t + i64::from(retention_days) * 86_400)?;
            Some(format!(
                " (the oldest kept now, given {given}, goes on {goes} unless its 差评 case is open)"
            ))
        })
        .unwrap_or_default();
    format!(
        "neither UPSTREAMS nor UPSTREAM_URL is set: nothing is forwarded, and each rating leaves {retention_days} days (RETENTION_DAYS) after it was given{first}"
    )
}

pub fn check(pack: &Pack, env_path: &Path) -> Result<Plan, Vec<String>> {
    let mut problems = pack.problems();
    let env = match EnvFile::read(env_path) {
        Ok(e) => e,
        Err(mut p) => {
            problems.append(&mut p);
            return Err(problems);
        }
    };
    let config = Settings::from_vars(&|n| env.get(n).map(str::to_owned))
        .map_err(|e| {
            problems.push(format!(
                "{}: {}: {}{}",
                env.place(e.var),
                e.var,
                e.why,
                source_of(e.var)
            ))
        })
        .ok();
    let data = env.dir().join(env.runner("ZSP_DATA"));
    let data_ok = writable(&data)
        .map_err(|why| {
            problems.push(format!(
                "{}: ZSP_DATA: {}: {why}",
                env.place("ZSP_DATA"),
                data.display()
            ))
        })
        .is_ok();
    let mut notes = vec![];
    // Files left by a command run as root stop the service: named, with the repair.
    let stuck = if data_ok {
        user::unwritable(&data, 50)
    } else {
        vec![]
    };
    if !stuck.is_empty() {
        problems.push(format!(
            "{}: {}",
            env.place("ZSP_DATA"),
            user::unwritable_problem(&data, &stuck)
        ));
    }
    // Serving already: its port is its own, its data in use. A lock this user cannot open says
    // nothing about a service (it was named above).
    let running = data_ok && stuck.is_empty() && data::serving(&data);
    if running {
        notes.push(format!(
            "zsp serve is running on {}: the port is its own",
            data.display()
        ));
    }
    if data_ok {
        match data::startable(&data) {
            Ok(n) => notes.push(n),
            Err(e) => problems.push(e),
        }
    }
    let listen_text = env.runner("ZSP_LISTEN");
    let listen = match listen_text.parse::<SocketAddr>() {
        Err(_) => {
            problems.push(format!(
                "{}: ZSP_LISTEN: `{listen_text}` is not address:port (for example 127.0.0.1:8787)",
                env.place("ZSP_LISTEN")
            ));
            None
        }
        Ok(a) if !running => match TcpListener::bind(a) {
            Ok(_) => Some(a),
            Err(e) => {
                problems.push(format!(
                    "{}: ZSP_LISTEN: cannot listen on {a}: {e} (is another zsp or program using that port?)",
                    env.place("ZSP_LISTEN")
                ));
                None
            }
        },
        Ok(a) => Some(a),
    };
    let upstreams = {
        let var = if env.get("UPSTREAMS").is_some() {
            "UPSTREAMS"
        } else {
            "UPSTREAM_URL"
        };
        Upstream::all(&|n| env.get(n).map(str::to_owned)).unwrap_or_else(|e| {
            problems.push(format!("{}: {var}: {e}", env.place(var)));
            vec![]
        })
    };
    let alert_networks: Vec<String> = env
        .runner("ZSP_ALERT_NETWORKS")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if let Some(n) = alert_networks
        .iter()
        .find(|n| !matches!(n.as_str(), "public" | "private"))
    {
        problems.push(format!(
            "{}: ZSP_ALERT_NETWORKS: {n:?} is not public or private (separated by spaces)",
            env.place("ZSP_ALERT_NETWORKS")
        ));
    }
    if let (Some(c), true) = (&config, data_ok) {
        match data::key_prints(&data) {
            Ok(prints) => {
                let (mut p, mut n) = key_checks(&prints, &c.core);
                let place = env.place("QR_KEYS");
                problems.extend(p.drain(..).map(|p| format!("{place}: {p}")));
                notes.append(&mut n);
            }
            Err(e) => problems.push(e),
        }
    }
    // A mapping that cannot fill a required field for some code: its ratings could never be
    // taken upstream. Named, with the entries.
    if let (Some(c), true) = (&config, data_ok) {
        for r in &c.core.receivers {
            let var = if r.name == crate::config::DEFAULT_RECEIVER {
                "UPSTREAM_MAPPING"
            } else {
                "UPSTREAMS"
            };
            match data::unmappable(&data, r.mapping, &r.region) {
                Ok(bad) if !bad.is_empty() => problems.push(format!(
                    "{}: receiver {} ({var}): mapping {} cannot fill a required field for {} directory entr{}, e.g. {}: give each unit's 统一社会信用代码 in the roster's column of that name, make the sheets' directory.json again and upload it",
                    env.place(var),
                    r.name,
                    r.mapping.name(),
                    bad.len(),
                    if bad.len() == 1 { "y" } else { "ies" },
                    bad.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                )),
                Ok(_) => {}
                Err(e) => problems.push(e),
            }
        }
    }
    if let Some(c) = config {
        if c.core.admin_token.is_none() {
            notes.push(
                "ADMIN_TOKEN is not set: the admin API (directory, export, metrics) is off".into(),
            );
        }
        if !c.core.forwarding() {
            let oldest = if data_ok {
                data::oldest_rating(&data).ok().flatten()
            } else {
                None
            };
            notes.push(no_upstream(c.core.retention_days, oldest));
        }
        if listen.is_some_and(|a| !a.ip().is_loopback()) {
            notes.push(format!(
                "ZSP_LISTEN {listen_text} is reachable from other machines; behind nginx, 127.0.0.1 is enough"
            ));
        }
    }
    match listen {
        Some(listen) if problems.is_empty() => Ok(Plan {
            data: data.canonicalize().unwrap_or(data),
            env,
            listen,
            upstreams,
            alert_networks,
            notes,
        }),
        _ => Err(problems),
    }
}

/// The data folder the file names, for `backup` and `restore` (which need nothing else of it:
/// a restore must work when the data it replaces is what is broken).
pub fn data_folder(env_path: &Path) -> Result<PathBuf, Vec<String>> {
    let env = EnvFile::read(env_path)?;
    Ok(env.dir().join(env.runner("ZSP_DATA")))
}

/// Creates the folder if need be and proves a file can be written in it.
fn writable(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create it: {e}"))?;
    let probe = dir.join(".zsp-write-test");
    std::fs::write(&probe, b"ok").map_err(|e| format!("not writable: {e}"))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Writes workerd's config into the data folder and the command that serves it: the release's
/// workerd with exactly the file's settings in its environment.
pub fn workerd_command(pack: &Pack, plan: &Plan) -> Result<Command, String> {
    let text = Runtime {
        listen: plan.listen.to_string(),
        worker: pack.root.join("worker"),
        site: pack.root.join("site"),
        data: plan.data.clone(),
        upstreams: plan.upstreams.clone(),
        alert_networks: plan.alert_networks.clone(),
        settings: settings().iter().map(|s| s.name).collect(),
    }
    .config(&plan.data)?;
    let file = plan.data.join("workerd.capnp");
    std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut c = Command::new(pack.workerd());
    c.arg("serve").arg(&file).arg("--experimental");
    // workerd opens its working folder; the caller's may be one the service's user cannot read
    // (`sudo -u zhangshangping zsp serve` from /root): the data folder is its own.
    c.current_dir(&plan.data);
    for s in envfile::known() {
        c.env_remove(s.name);
    }
    for s in settings() {
        if let Some(v) = plan.env.get(s.name) {
            c.env(s.name, v);
        }
    }
    Ok(c)
}

/// The fingerprint recorded for `ADMIN_TOKEN` (it is no key): its SHA-256, 16 hex digits.
pub fn token_print(token: &str) -> String {
    use sha2::{Digest, Sha256};
    wire::key::hex(&Sha256::digest(token.as_bytes())[..8])
}

/// The fingerprints `zsp serve` records of the secrets it starts with.
pub fn served_prints(c: &crate::config::Config) -> Vec<(&'static str, String)> {
    let mut out = vec![("CHALLENGE_KEYS", c.challenge_keys.current().fingerprint())];
    if let Some(u) = &c.upstream_keys {
        out.push(("UPSTREAM_KEYS", u.current().fingerprint()));
    }
    if let Some(t) = &c.admin_token {
        out.push(("ADMIN_TOKEN", token_print(t)));
    }
    out
}

/// What the data records of keys against what zsp.env holds: problems (the printed cards
/// cannot be verified: nothing starts) and notes (another secret than last time).
pub fn key_checks(
    prints: &[(String, String, String)],
    c: &crate::config::Config,
) -> (Vec<String>, Vec<String>) {
    let (mut problems, mut notes) = (vec![], vec![]);
    let served = served_prints(c);
    let held = c
        .qr_keys
        .keys()
        .iter()
        .map(|k| format!("{} ({})", k.kid, k.fingerprint()))
        .collect::<Vec<_>>()
        .join(", ");
    for (name, fp, authority) in prints {
        if let Some(kid) = name.strip_prefix("qr:").and_then(|k| k.parse::<u16>().ok()) {
            let whose = if authority.is_empty() {
                "every region".to_owned()
            } else {
                authority.clone()
            };
            let found = match c.qr_keys.get(kid) {
                None => format!("QR_KEYS holds no key {kid} (it holds {held})"),
                Some(k) if k.fingerprint() != *fp => {
                    format!(
                        "QR_KEYS holds a key {kid} whose fingerprint is {}",
                        k.fingerprint()
                    )
                }
                Some(_) => continue,
            };
            problems.push(format!(
                "QR_KEYS: the printed cards of {whose} were signed with key {kid}, whose fingerprint is {fp}; {found}. Every such card would answer 二维码无效: put that key's file text in QR_KEYS (the copy kept with the backups)"
            ));
            continue;
        }
        let now = served
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.as_str());
        let same = match name.as_str() {
            "CHALLENGE_KEYS" => c
                .challenge_keys
                .keys()
                .iter()
                .any(|k| k.fingerprint() == *fp),
            _ => now == Some(fp.as_str()),
        };
        if !same {
            let what = match name.as_str() {
                "CHALLENGE_KEYS" => {
                    "the alert routes, sealed under the old one, cannot send until it is back in the list (after a comma) or the routes are added again"
                }
                "UPSTREAM_KEYS" => {
                    "the upstream verifies with the key it was handed: give it the new one"
                }
                _ => "scripts and uploads that use the old token will be refused",
            };
            notes.push(format!(
                "{name} is not the one this data was last served with (fingerprint {fp}): {what}"
            ));
        }
    }
    (problems, notes)
}

/// Settings a restore drill's env never takes from the real one: its own data and port, no
/// upstream (nothing forwarded), its own challenge key (the alert routes, sealed under the real
/// one, cannot open: no alert leaves).
const DRILL_OWN: [&str; 5] = [
    "ZSP_DATA",
    "ZSP_LISTEN",
    "UPSTREAM_URL",
    "UPSTREAMS",
    "CHALLENGE_KEYS",
];

/// The env of a restore drill (`zsp restore --drill`): the real one's lines but [`DRILL_OWN`],
/// then those, `challenge` being a fresh `CHALLENGE_KEYS` value.
pub fn drill_env(real: &str, data: &Path, port: u16, challenge: &str) -> String {
    let mut out = String::from(
        "# A restore drill (zsp restore --drill): its own data and port; it forwards nothing and\n\
         # sends no alert. Delete the folder when the drill is over.\n",
    );
    for l in real.lines() {
        let name = l.trim_start().split('=').next().unwrap_or("").trim();
        if !DRILL_OWN.contains(&name) {
            out.push_str(l);
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "ZSP_DATA={}\nZSP_LISTEN=127.0.0.1:{port}\nCHALLENGE_KEYS={challenge}\n",
        data.display()
    ));
    out
}

/// New secrets for `zsp.env`, as lines to append to it; the keys carry id `kid` (1 for a new
/// install; another to append to a key list when changing a key).
pub fn keys(random: &mut dyn FnMut(&mut [u8]), kid: u16) -> String {
    let mut key = |purpose| {
        let mut b = [0u8; 32];
        random(&mut b);
        Key::new(purpose, kid, b).to_text()
    };
    let challenge = key(KeyPurpose::Challenge);
    let upstream = key(KeyPurpose::Upstream);
    let mut t = [0u8; 16];
    random(&mut t);
    format!(
        "# made by `zsp keys`: the edge's own secrets (keep zsp.env mode 0600). UPSTREAM_KEYS signs\n\
         # what is forwarded: the receiving platform verifies with the same key, handed over as agreed.\n\
         CHALLENGE_KEYS={challenge}\nUPSTREAM_KEYS={upstream}\nADMIN_TOKEN={}\n",
        wire::key::hex(&t)
    )
}

/// `zsp admin add`: creates an account through the running service's bearer API (with the
/// operator's `ADMIN_TOKEN`; the service hashes the password), so the first 市级管理员 exists
/// before anyone logs in. `scope` is the JSON of `console::Scope`. The answer's words on refusal.
pub fn admin_add(
    listen: &str,
    token: &str,
    name: &str,
    role: &str,
    scope: &str,
    password: &str,
    reset: bool,
) -> Result<(), String> {
    let body = serde_json::json!({
        "name": name,
        "role": role,
        "scope": serde_json::from_str::<serde_json::Value>(scope).map_err(|e| e.to_string())?,
        "password": password,
        "reset": reset,
    })
    .to_string();
    let bearer = format!("Bearer {token}");
    let (status, _, answer) = client::exchange(
        listen,
        "POST",
        "/admin/accounts",
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )?;
    if status == 200 {
        return Ok(());
    }
    let said = serde_json::from_slice::<serde_json::Value>(&answer)
        .map(|v| {
            format!(
                "{} {}",
                v["error"]["message"].as_str().unwrap_or(""),
                v["error"]["detail"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_else(|_| String::from_utf8_lossy(&answer).chars().take(200).collect());
    Err(format!(
        "the service refused the account ({status}): {}",
        said.trim()
    ))
}

pub use crate::access::password_from as new_password;

/// `admin add`'s options: `--role city|hall|handler` (city by default), `--halls
/// 330102:上城区市民中心,330105:便民服务中心` (each hall with its region code: halls of one name in
/// two regions are two halls) or `--regions 3301,3302` (every hall by default). The role and the
/// scope's JSON.
pub fn admin_options(opts: &[&str]) -> Result<(String, String), String> {
    let mut role = "city".to_owned();
    let mut scope = "\"all\"".to_owned();
    let mut it = opts.iter();
    while let Some(o) = it.next() {
        let mut value = || it.next().copied().ok_or(format!("{o} needs a value"));
        match *o {
            "--role" => role = value()?.to_owned(),
            "--halls" | "--regions" => {
                let kind = &o[2..];
                let list = crate::access::Scope::from_form(kind, value()?)?;
                scope = list.to_json();
            }
            other => {
                return Err(format!(
                    "unknown option {other}: --role, --halls or --regions"
                ));
            }
        }
    }
    if !crate::access::Role::parse(&role).is_some_and(crate::access::Role::for_people) {
        return Err(format!("--role {role}: city, hall or handler"));
    }
    Ok((role, scope))
}

#[cfg(test)]
mod tests {

    #[test]
    fn without_an_upstream_check_says_when_the_oldest_rating_goes() {
        let t = wire::time::Day::parse("2026-11-27").unwrap().start_unix() + 3600;
        let n = super::no_upstream(30, Some(t));
        assert!(
            n.contains("30 days") && n.contains("given 2026-11-27, goes on 2026-12-27"),
            "{n}"
        );
        assert!(!super::no_upstream(30, None).contains("oldest"));
    }

    use super::*;

    #[test]
    fn admin_options_name_role_and_scope() {
        assert_eq!(
            admin_options(&[]).unwrap(),
            ("city".into(), "\"all\"".into())
        );
        let (r, s) =
            admin_options(&["--role", "hall", "--halls", "330102:上城区市民中心"]).unwrap();
        assert_eq!(
            (r.as_str(), s.as_str()),
            (
                "hall",
                "{\"places\":[{\"hall\":\"上城区市民中心\",\"region\":\"330102\"}]}"
            )
        );
        assert!(
            admin_options(&["--halls", "上城区市民中心"])
                .unwrap_err()
                .contains("区划代码 大厅名称")
        );
        assert!(admin_options(&["--role", "queue"]).is_err());
        assert!(
            admin_options(&["--role", "root"])
                .unwrap_err()
                .contains("city, hall or handler")
        );
        assert!(admin_options(&["--regions", "33a"]).is_err());
        assert!(
            admin_options(&["--halls"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert_eq!(new_password(&mut |b| b.fill(0)).len(), 16);
    }

    #[test]
    fn keys_other_than_the_cards_were_printed_with_are_named_with_both_fingerprints() {
        let cfg = |qr: &str| {
            let env = format!(
                "QR_KEYS={qr}\nCHALLENGE_KEYS={}\nADMIN_TOKEN=0123456789abcdef0123\n",
                Key::new(KeyPurpose::Challenge, 1, [3; 32]).to_text()
            );
            let f = EnvFile::parse(Path::new("zsp.env"), &env).unwrap();
            Settings::from_vars(&|n| f.get(n).map(str::to_owned))
                .unwrap()
                .core
        };
        let printed = Key::new(KeyPurpose::Qr, 3301, [1; 32]);
        let other = Key::new(KeyPurpose::Qr, 3301, [2; 32]);
        let prints = vec![(
            "qr:3301".to_owned(),
            printed.fingerprint(),
            "3301".to_owned(),
        )];
        let good = cfg(&printed.to_text());
        assert_eq!(key_checks(&prints, &good), (vec![], vec![]));
        let (p, _) = key_checks(&prints, &cfg(&other.to_text()));
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("printed cards of 3301")
                && p[0].contains(&printed.fingerprint())
                && p[0].contains(&other.fingerprint()),
            "{}",
            p[0]
        );
        let (p, _) = key_checks(
            &prints,
            &cfg(&Key::new(KeyPurpose::Qr, 7, [1; 32]).to_text()),
        );
        assert!(
            p[0].contains("QR_KEYS holds no key 3301 (it holds 7 ("),
            "{}",
            p[0]
        );
        // Other secrets than last time: notes, not problems.
        let served: Vec<(String, String, String)> = served_prints(&good)
            .into_iter()
            .map(|(n, f)| (n.to_owned(), f, String::new()))
            .collect();
        assert_eq!(key_checks(&served, &good), (vec![], vec![]));
        let changed: Vec<_> = served
            .iter()
            .map(|(n, _, a)| (n.clone(), "0000000000000000".to_owned(), a.clone()))
            .collect();
        let (p, n) = key_checks(&changed, &good);
        assert!(p.is_empty());
        assert!(
            n.iter()
                .any(|n| n.starts_with("CHALLENGE_KEYS is not the one")),
            "{n:?}"
        );
        assert!(
            n.iter()
                .any(|n| n.starts_with("ADMIN_TOKEN is not the one")),
            "{n:?}"
        );
    }

    #[test]
    fn a_drills_env_has_its_own_data_port_and_challenge_key_and_no_upstream() {
        let real = "QR_KEYS=zspk1:qr:1:aa\r\nZSP_DATA=/var/lib/zsp\r\n  UPSTREAM_URL = https://up.gov.cn/\n\
                    CHALLENGE_KEYS=zspk1:challenge:1:old\nZSP_LISTEN=127.0.0.1:8787\nUPSTREAM_KEYS=k\n";
        let d = drill_env(
            real,
            Path::new("/tmp/drill/data"),
            40000,
            "zspk1:challenge:1:new",
        );
        assert!(
            d.contains("QR_KEYS=zspk1:qr:1:aa\n") && d.contains("UPSTREAM_KEYS=k\n"),
            "{d}"
        );
        for gone in ["/var/lib/zsp", "up.gov.cn", ":old", ":8787"] {
            assert!(!d.contains(gone), "{gone}: {d}");
        }
        assert!(d.ends_with(
            "ZSP_DATA=/tmp/drill/data\nZSP_LISTEN=127.0.0.1:40000\nCHALLENGE_KEYS=zspk1:challenge:1:new\n"
        ));
        let f = EnvFile::parse(Path::new("drill.env"), &d).unwrap();
        assert_eq!(f.get("UPSTREAM_URL"), None);
    }

    #[test]
    fn keys_are_fresh_well_formed_and_a_valid_config() {
        let mut n = 0u8;
        let mut rng = |b: &mut [u8]| {
            for x in b.iter_mut() {
                n = n.wrapping_add(37);
                *x = n;
            }
        };
        let text = keys(&mut rng, 1);
        assert!(keys(&mut rng, 2).contains("CHALLENGE_KEYS=zspk1:challenge:2:"));
        let mut all = text.clone();
        all.push_str(&format!(
            "QR_KEYS={}\n",
            Key::new(KeyPurpose::Qr, 1, [7; 32]).to_text()
        ));
        let f = EnvFile::parse(Path::new("zsp.env"), &all).unwrap();
        let c = Settings::from_vars(&|n| f.get(n).map(str::to_owned))
            .unwrap()
            .core;
        assert_eq!(c.admin_token.as_deref().map(str::len), Some(32));
        assert!(c.upstream_keys.is_some());
        assert_ne!(keys(&mut rng, 1), text, "two runs, two sets of keys");
    }
}
