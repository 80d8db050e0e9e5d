//! The upstream contract from an integrator's side: `e2e/verify-envelope.mjs`, a receiver's check
//! written in plain Node from the README's description alone, agrees with `wire::envelope` on
//! every envelope case of the test vectors (good signatures, a tampered body, a stale timestamp,
//! an unknown key id, a malformed header).

#[test]
#[ignore = "needs Node: `cargo xtask test` runs it"]
fn an_independent_receiver_agrees_with_the_vectors() {
    let root = xtask::setup::root();
    let vectors = root.join("wire/vectors/vectors.json");
    let cases =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&vectors).unwrap())
            .unwrap()["envelope"]
            .as_array()
            .unwrap()
            .len();
    assert!(cases >= 7, "the vectors lost envelope cases: {cases}");
    let out = std::process::Command::new("node")
        .arg(root.join("e2e/verify-envelope.mjs"))
        .arg(&vectors)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("{cases} of {cases} envelope cases agree")));
}

/// 钉钉's 加签 as the spec gives it (`shared/spec/alerts-and-loop.md`), computed by Node's own
/// crypto and `encodeURIComponent`, agrees with `wire::alert::dingtalk_sign` for secrets and
/// timestamps of every shape, including signatures whose base64 has `+`, `/` and `=`.
#[test]
#[ignore = "needs Node: `cargo xtask test` runs it"]
fn dingtalk_signatures_agree_with_an_independent_signer() {
    let cases: Vec<(String, i64)> = (0..64)
        .map(|i: i64| {
            (
                format!("SEC{:x}{}", i * 7919, "a".repeat((i % 9) as usize)),
                1_795_305_610_000 + i * 1_234_567,
            )
        })
        .collect();
    let script = "const c = require('crypto');\
         const cases = JSON.parse(process.argv[1]);\
         for (const [secret, ts] of cases) {\
           const s = c.createHmac('sha256', secret).update(ts + '\\n' + secret).digest('base64');\
           console.log(encodeURIComponent(s));\
         }";
    let json = serde_json::to_string(&cases).unwrap();
    let out = std::process::Command::new("node")
        .args(["-e", script, &json])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let ours: Vec<String> = cases
        .iter()
        .map(|(s, t)| wire::alert::dingtalk_sign(s, *t))
        .collect();
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|s| s.contains("%2B")) && ours.iter().any(|s| s.contains("%2F")));
}
