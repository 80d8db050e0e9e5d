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
