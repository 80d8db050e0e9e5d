//! `zsp` as an operator meets it, outside a release folder (the pack tests in `e2e` run it inside
//! one, serving): usage, keys, and the errors that name what is wrong and where.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `zsp` as the service's user would run it; the tests may run as root (CI's user), hence
/// `--as-root` (zsp then runs as the data folder's owner; for another user, nothing changes).
fn zsp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zsp"))
        .args(args)
        .arg("--as-root")
        .env_remove("ZSP_ENV")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn folder(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zsp-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn usage_and_unknown_commands() {
    let o = zsp(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("usage: zsp <serve"), "{}", text(&o));
    let o = zsp(&["serve", "--env"]);
    assert!(text(&o).contains("--env needs a file"), "{}", text(&o));
    assert!(zsp(&["help"]).status.success());
}

#[test]
fn keys_are_lines_for_the_env_file() {
    let o = zsp(&["keys"]);
    assert!(o.status.success());
    let t = String::from_utf8(o.stdout).unwrap();
    for k in ["CHALLENGE_KEYS=", "UPSTREAM_KEYS=", "ADMIN_TOKEN="] {
        assert_eq!(
            t.lines().filter(|l| l.starts_with(k)).count(),
            1,
            "{k}\n{t}"
        );
    }
    assert_ne!(t, String::from_utf8(zsp(&["keys"]).stdout).unwrap());
}

#[test]
fn check_names_every_problem_with_its_file_and_line() {
    let d = folder("check");
    let env = d.join("zsp.env");
    std::fs::write(
        &env,
        "# a broken file\nPOW_DIFICULTY=12\nZSP_LISTEN=127.0.0.1:8787\nZSP_LISTEN=127.0.0.1:9\n",
    )
    .unwrap();
    let o = zsp(&["check", "--env", arg(&env)]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    // Outside a release folder, what is missing of it is named too.
    assert!(t.contains("bin/workerd is missing"), "{t}");
    assert!(
        t.contains(&format!(
            "{} line 2: POW_DIFICULTY is not a setting of 掌上评 (did you mean POW_DIFFICULTY?)",
            env.display()
        )),
        "{t}"
    );
    assert!(
        t.contains("line 4: ZSP_LISTEN is set again (first on line 3)"),
        "{t}"
    );
    // A missing file says how to make one.
    let o = zsp(&["check", "--env", arg(&d.join("nope.env"))]);
    assert!(
        text(&o).contains("copy zsp.env.example there"),
        "{}",
        text(&o)
    );
}

#[test]
fn backup_and_restore_say_what_is_wrong_before_touching_anything() {
    let d = folder("data");
    let env = d.join("zsp.env");
    std::fs::write(&env, "ZSP_DATA=data\n").unwrap();
    let o = zsp(&["backup", arg(&d.join("b.sqlite")), "--env", arg(&env)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no data yet"), "{}", text(&o));
    let junk = d.join("junk.sqlite");
    std::fs::write(&junk, "not SQLite").unwrap();
    let o = zsp(&["restore", arg(&junk), "--env", arg(&env)]);
    assert!(text(&o).contains("is not a usable backup"), "{}", text(&o));
    assert!(!d.join("data/zhangshangping-store").exists());
}
