//! `zsp`: the operator's command in a release archive. See OPERATORS.md and `edge::zsp`.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    match run::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zsp: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod run {
    use edge::zsp::{self, Pack, RELEASE, data};
    use std::os::unix::process::CommandExt;
    use std::path::PathBuf;

    const USAGE: &str =
        "usage: zsp <serve | check | backup FILE | restore FILE | admin add NAME | selftest | keys | token | version> [--env FILE]
  serve          run the service in the foreground (systemd runs this)
  check          check zsp.env, the data folder and the port, and say what is wrong and where
  backup FILE    copy the data into FILE while the service runs
  backup --with-secrets FILE
                 zsp.env and the key files beside it (*.key), encrypted with a passphrase
                 (ZSP_PASSPHRASE, or asked) in the age format; keep it offline
  restore FILE   replace the data with a backup (the service must be stopped); the data it
                 replaces is kept in one before-restore-* folder (--keep-all: every earlier one too)
  restore --secrets FILE --to DIR
                 open such a file into DIR (files 0600, none overwritten)
  restore --drill FILE --to DIR
                 a restore drill beside the service: DIR/data and DIR/zsp.env with a port of its
                 own, forwarding off and no alerts
  admin add NAME a console account (the service must run): the first 市级管理员, or
                 --role hall|handler with --halls 330102:上城区市民中心,… or --regions 3301; prints its password
                 (--reset: an existing account gets a new password)
  keys           print new secrets for zsp.env: zsp keys >> zsp.env
                 (--kid N: keys with id N, to append to a key list when changing a key)
  selftest       a test rating through the running service, as a phone makes one: stored as a
                 test, counted nowhere, never forwarded or alerted, gone an hour later
  token          print ADMIN_TOKEN as zsp reads it, for curl -H \"Authorization: Bearer $(zsp token)\"
  version        this release, its schema and its workerd
  --env FILE     the config file (default: $ZSP_ENV, else zsp.env beside zsp)
  --as-root      serve, backup, restore and admin refuse to run as root; with this they run
                 as the data folder's owner instead";

    pub fn run() -> Result<(), String> {
        let mut args: Vec<String> = std::env::args().skip(1).collect();
        let pack = Pack::here()?;
        // Root is refused where files are written, unless told; then zsp becomes the data
        // folder's owner first.
        let as_root = match args.iter().position(|a| a == "--as-root") {
            Some(i) => {
                args.remove(i);
                true
            }
            None => false,
        };
        let env = match args.iter().position(|a| a == "--env") {
            Some(i) if i + 1 < args.len() => {
                let f = PathBuf::from(args.remove(i + 1));
                args.remove(i);
                f
            }
            Some(_) => return Err(format!("--env needs a file\n{USAGE}")),
            None => pack.env_file(),
        };
        let become_owner = |command: &str, data: Option<&std::path::Path>| {
            if let Some(uid) = zsp::user::not_root(command, data, as_root)? {
                eprintln!("zsp: --as-root: running as uid {uid}, the data folder's owner");
            }
            Ok::<(), String>(())
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["serve"] => {
                become_owner("serve", Some(&folder(&env)?))?;
                serve(&pack, &env)
            }
            ["check"] => check(&pack, &env),
            ["backup", "--with-secrets", file] => {
                // The secrets apart from the data: zsp.env and the key files, encrypted.
                let files = zsp::vault::gather(&env)?;
                let pass = zsp::vault::passphrase(true)?;
                let mut rng = |b: &mut [u8]| getrandom::fill(b).expect("the system's randomness");
                let sealed = zsp::vault::encrypt(
                    &zsp::vault::tar(&files)?,
                    &pass,
                    zsp::vault::LOG_N,
                    &mut rng,
                )?;
                let path = PathBuf::from(file);
                let mut o = std::fs::OpenOptions::new();
                o.write(true).create_new(true);
                std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
                std::io::Write::write_all(
                    &mut o.open(&path).map_err(|e| format!("{file}: {e}"))?,
                    &sealed,
                )
                .map_err(|e| format!("{file}: {e}"))?;
                let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
                println!(
                    "secrets {file}: {} encrypted with the passphrase (age format: `age -d {file} | tar -x` opens it, as does zsp restore --secrets); keep it offline, apart from the backups",
                    names.join(", ")
                );
                Ok(())
            }
            ["restore", "--secrets", file, "--to", dir] => {
                let sealed = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
                let pass = zsp::vault::passphrase(false)?;
                let files = zsp::vault::untar(&zsp::vault::decrypt(&sealed, &pass)?)?;
                zsp::vault::unpack(&files, std::path::Path::new(dir))?;
                let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
                println!("secrets {file} opened into {dir}: {}", names.join(", "));
                Ok(())
            }
            ["backup", file] => {
                let dir = folder(&env)?;
                become_owner("backup", Some(&dir))?;
                let t = std::time::Instant::now();
                let s = data::backup(&dir, &PathBuf::from(file), RELEASE)?;
                println!(
                    "backup {file}: {s}; took {:.1} s",
                    t.elapsed().as_secs_f64()
                );
                Ok(())
            }
            ["restore", "--drill", file, "--to", to] => {
                become_owner("restore", Some(&folder(&env)?))?;
                let to = std::path::absolute(to).map_err(|e| format!("--to {to}: {e}"))?;
                let data_dir = to.join("data");
                std::fs::create_dir_all(&data_dir)
                    .map_err(|e| format!("{}: {e}", data_dir.display()))?;
                let (s, _) = data::restore(&data_dir, &PathBuf::from(file), false)?;
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map_err(|e| format!("a free port for the drill: {e}"))?
                    .port();
                let real =
                    std::fs::read_to_string(&env).map_err(|e| format!("{}: {e}", env.display()))?;
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).expect("the system's randomness");
                let challenge =
                    wire::key::Key::new(wire::key::KeyPurpose::Challenge, 1, key).to_text();
                let drill_env = to.join("zsp.env");
                let text = zsp::drill_env(&real, &data_dir, port, &challenge);
                let mut o = std::fs::OpenOptions::new();
                o.write(true).create(true).truncate(true);
                std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
                std::io::Write::write_all(
                    &mut o
                        .open(&drill_env)
                        .map_err(|e| format!("{}: {e}", drill_env.display()))?,
                    text.as_bytes(),
                )
                .map_err(|e| format!("{}: {e}", drill_env.display()))?;
                println!("drill: restored {file} into {}: {s}", data_dir.display());
                println!(
                    "serve it: zsp serve --env {} (http://127.0.0.1:{port}); it forwards nothing and sends no alert",
                    drill_env.display()
                );
                Ok(())
            }
            ["restore", file]
            | ["restore", file, "--keep-all"]
            | ["restore", "--keep-all", file] => {
                let keep_all = args.contains(&"--keep-all");
                let dir = folder(&env)?;
                become_owner("restore", Some(&dir))?;
                let t = std::time::Instant::now();
                let (s, aside) = data::restore(&dir, &PathBuf::from(file), keep_all)?;
                println!(
                    "restored {file} into {}: {s}; took {:.1} s",
                    dir.display(),
                    t.elapsed().as_secs_f64()
                );
                if let Some(a) = aside {
                    println!("the data it replaced is in {}", a.display());
                }
                Ok(())
            }
            ["admin", "add", name, opts @ ..] => {
                // --reset: an existing account (a forgotten password) gets a new one.
                become_owner("admin", None)?;
                let reset = opts.contains(&"--reset");
                let opts: Vec<&str> = opts.iter().copied().filter(|o| *o != "--reset").collect();
                let (role, scope) = zsp::admin_options(&opts)?;
                let plan = plan(&pack, &env)?;
                let token = zsp::envfile::EnvFile::read(&env)
                    .map_err(problems)?
                    .get("ADMIN_TOKEN")
                    .map(str::to_owned)
                    .ok_or("ADMIN_TOKEN is not set in the config file: zsp keys >> zsp.env")?;
                let mut rng = |b: &mut [u8]| getrandom::fill(b).expect("the system's randomness");
                let password = zsp::new_password(&mut rng);
                let listen = plan.listen.to_string();
                zsp::admin_add(&listen, &token, name, &role, &scope, &password, reset)?;
                let done = if reset {
                    "has a new password"
                } else {
                    "created"
                };
                println!(
                    "account {name} ({role}) {done}. Its password, shown this once: {password}"
                );
                println!("log in at http://{listen}/console/login (or your site's address)");
                Ok(())
            }
            ["selftest"] => {
                let plan = plan(&pack, &env)?;
                let settings =
                    edge::routes::Settings::from_vars(&|n| plan.env.get(n).map(str::to_owned))
                        .map_err(|e| e.to_string())?;
                println!(
                    "{}",
                    zsp::selftest::run(plan.listen, &plan.data, &settings)?
                );
                Ok(())
            }
            ["token"] => {
                // The admin token as zsp reads it (quotes, CRLF line endings), for scripts:
                // curl -H "Authorization: Bearer $(zsp token)".
                let f = zsp::envfile::EnvFile::read(&env).map_err(problems)?;
                let t = f
                    .get("ADMIN_TOKEN")
                    .ok_or("ADMIN_TOKEN is not set in the config file: zsp keys >> zsp.env")?;
                println!("{t}");
                Ok(())
            }
            ["keys"] | ["keys", "--kid", _] => {
                let kid = match args.get(2) {
                    None => 1,
                    Some(k) => k
                        .parse::<u16>()
                        .map_err(|_| format!("--kid {k}: a key id is a number from 0 to 65535"))?,
                };
                let mut rng = |b: &mut [u8]| {
                    getrandom::fill(b).expect("the system's randomness");
                };
                print!("{}", zsp::keys(&mut rng, kid));
                Ok(())
            }
            ["version"] => {
                let workerd = std::process::Command::new(pack.workerd())
                    .arg("--version")
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                    .unwrap_or_else(|e| format!("missing ({e})"));
                println!(
                    "zhangshangping {RELEASE} (schema {}, {workerd})",
                    data::latest()
                );
                Ok(())
            }
            ["help" | "-h" | "--help"] => {
                println!("{USAGE}");
                Ok(())
            }
            _ => Err(USAGE.to_owned()),
        }
    }

    fn problems(p: Vec<String>) -> String {
        format!(
            "{} problem{} in the configuration:\n  {}",
            p.len(),
            if p.len() == 1 { "" } else { "s" },
            p.join("\n  ")
        )
    }

    fn plan(pack: &Pack, env: &std::path::Path) -> Result<zsp::Plan, String> {
        zsp::check(pack, env).map_err(problems)
    }

    fn folder(env: &std::path::Path) -> Result<PathBuf, String> {
        zsp::data_folder(env).map_err(problems)
    }

    fn check(pack: &Pack, env: &std::path::Path) -> Result<(), String> {
        let plan = plan(pack, env)?;
        for n in &plan.notes {
            println!("note: {n}");
        }
        println!(
            "ok: {} is ready to serve on http://{} with data in {}",
            env.display(),
            plan.listen,
            plan.data.display()
        );
        Ok(())
    }

    fn serve(pack: &Pack, env: &std::path::Path) -> Result<(), String> {
        let plan = plan(pack, env)?;
        let lock = data::ServeLock::take(&plan.data)?;
        lock.inherit()?;
        // What it serves with, by fingerprint: `zsp check` names a later change of secrets.
        let settings = edge::routes::Settings::from_vars(&|n| plan.env.get(n).map(str::to_owned))
            .map_err(|e| e.to_string())?;
        data::record_served(&plan.data, &zsp::served_prints(&settings.core))?;
        let mut c = zsp::workerd_command(pack, &plan)?;
        for n in &plan.notes {
            eprintln!("zsp: {n}");
        }
        eprintln!(
            "zsp: zhangshangping {RELEASE} serving http://{} (data {})",
            plan.listen,
            plan.data.display()
        );
        // workerd takes this process's place (and the lock with it): systemd's signals reach it.
        let e = c.exec();
        drop(lock);
        Err(format!("starting {}: {e}", pack.workerd().display()))
    }
}
