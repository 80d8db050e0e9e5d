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
        "usage: zsp <serve | check | backup FILE | restore FILE | admin add NAME | keys | version> [--env FILE]
  serve          run the service in the foreground (systemd runs this)
  check          check zsp.env, the data folder and the port, and say what is wrong and where
  backup FILE    copy the data into FILE while the service runs
  restore FILE   replace the data with a backup (the service must be stopped); the data it
                 replaces is kept in one before-restore-* folder (--keep-all: every earlier one too)
  admin add NAME a console account (the service must run): the first 市级管理员, or
                 --role hall|handler with --halls 330102:上城区市民中心,… or --regions 3301; prints its password
                 (--reset: an existing account gets a new password)
  keys           print new secrets for zsp.env: zsp keys >> zsp.env
                 (--kid N: keys with id N, to append to a key list when changing a key)
  version        this release, its schema and its workerd
  --env FILE     the config file (default: $ZSP_ENV, else zsp.env beside zsp)";

    pub fn run() -> Result<(), String> {
        let mut args: Vec<String> = std::env::args().skip(1).collect();
        let pack = Pack::here()?;
        let env = match args.iter().position(|a| a == "--env") {
            Some(i) if i + 1 < args.len() => {
                let f = PathBuf::from(args.remove(i + 1));
                args.remove(i);
                f
            }
            Some(_) => return Err(format!("--env needs a file\n{USAGE}")),
            None => pack.env_file(),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["serve"] => serve(&pack, &env),
            ["check"] => check(&pack, &env),
            ["backup", file] => {
                let dir = folder(&env)?;
                let t = std::time::Instant::now();
                let s = data::backup(&dir, &PathBuf::from(file), RELEASE)?;
                println!(
                    "backup {file}: {s}; took {:.1} s",
                    t.elapsed().as_secs_f64()
                );
                Ok(())
            }
            ["restore", file]
            | ["restore", file, "--keep-all"]
            | ["restore", "--keep-all", file] => {
                let keep_all = args.contains(&"--keep-all");
                let dir = folder(&env)?;
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
