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

/// Drives Debian's `age` (which asks a passphrase only on a terminal) through a pseudo-terminal,
/// typing `pass` at each of its `times` prompts.
fn age_with(pass: &str, times: u32, args: &[&str]) -> std::process::ExitStatus {
    const DRIVE: &str = r#"
import os, pty, sys, time
pw, times, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(args[0], args)
out, sent = b"", 0
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    out += data
    if sent < times and out.lower().count(b"passphrase") > sent:
        time.sleep(0.1)
        os.write(fd, pw.encode() + b"\r")
        sent += 1
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    Command::new("python3")
        .args(["-c", DRIVE, pass, &times.to_string(), "age"])
        .args(args)
        .status()
        .unwrap()
}

#[test]
#[ignore = "needs Debian's age and python3: `cargo xtask test` installs them"]
fn the_secrets_travel_encrypted_and_any_age_opens_them() {
    use std::os::unix::fs::PermissionsExt;
    let d = folder("secrets");
    let env = d.join("zsp.env");
    let key = "zspk1:qr:3301:0011223344556677889900112233445566778899001122334455667788990011";
    std::fs::write(&env, format!("QR_KEYS={key}\r\nZSP_DATA=data\r\n")).unwrap();
    std::fs::write(d.join("3301.key"), format!("{key}\n")).unwrap();
    let out = d.join("secrets.age");
    let with = |pass: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_zsp"))
            .args(args)
            .env("ZSP_PASSPHRASE", pass)
            .env_remove("ZSP_ENV")
            .output()
            .unwrap()
    };
    let pass = "correct horse battery staple";
    let o = with(
        "short",
        &["backup", "--with-secrets", arg(&out), "--env", arg(&env)],
    );
    assert!(
        !o.status.success() && text(&o).contains("fewer than 12"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
    let o = with(
        pass,
        &["backup", "--with-secrets", arg(&out), "--env", arg(&env)],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("zsp.env, 3301.key"), "{}", text(&o));
    let sealed = std::fs::read(&out).unwrap();
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !String::from_utf8_lossy(&sealed).contains("0011223344"),
        "a key in clear"
    );
    // zsp opens it with the passphrase only, never over existing files.
    let back = d.join("back");
    let o = with(
        "wrong horse battery staple",
        &["restore", "--secrets", arg(&out), "--to", arg(&back)],
    );
    assert!(
        !o.status.success() && text(&o).contains("wrong passphrase"),
        "{}",
        text(&o)
    );
    assert!(!back.exists());
    let o = with(
        pass,
        &["restore", "--secrets", arg(&out), "--to", arg(&back)],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(back.join("zsp.env")).unwrap(),
        std::fs::read(&env).unwrap()
    );
    assert_eq!(
        std::fs::read(back.join("3301.key")).unwrap(),
        std::fs::read(d.join("3301.key")).unwrap()
    );
    let o = with(
        pass,
        &["restore", "--secrets", arg(&out), "--to", arg(&back)],
    );
    assert!(
        !o.status.success() && text(&o).contains("exists"),
        "{}",
        text(&o)
    );
    // Any age opens it (`age -d FILE | tar -x`, as OPERATORS.md says) …
    let tar = d.join("opened.tar");
    assert!(age_with(pass, 1, &["-d", "-o", arg(&tar), arg(&out)]).success());
    let x = d.join("x");
    std::fs::create_dir_all(&x).unwrap();
    assert!(
        Command::new("tar")
            .args(["-xf", arg(&tar), "-C", arg(&x)])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(
        std::fs::read(x.join("zsp.env")).unwrap(),
        std::fs::read(&env).unwrap()
    );
    // … and zsp opens what age made.
    let by_age = d.join("by-age.age");
    assert!(age_with(pass, 2, &["-p", "-o", arg(&by_age), arg(&tar)]).success());
    let y = d.join("y");
    let o = with(
        pass,
        &["restore", "--secrets", arg(&by_age), "--to", arg(&y)],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(y.join("3301.key")).unwrap(),
        std::fs::read(d.join("3301.key")).unwrap()
    );
    println!(
        "secrets: {} bytes for zsp.env and one key; age 1.1 opens them, zsp opens age's",
        sealed.len()
    );
}
