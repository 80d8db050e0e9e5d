//! The committed vectors are exactly what the generator makes, and every case in them checks.
//! Runs natively and on wasm32 (through wasm-bindgen-test in Node).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const FILE: &str = include_str!("../../vectors/vectors.json");

#[test]
fn committed_vectors_match_the_generator() {
    let fresh = wire::vectors::generate();
    if fresh != FILE {
        let line = fresh
            .lines()
            .zip(FILE.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| fresh.lines().count().min(FILE.lines().count()));
        panic!(
            "wire/vectors/vectors.json differs from the generator from line {}:\n  file:      {}\n  generated: {}\n\
             A format changed. If that was meant, run `cargo xtask vectors` and review the diff.",
            line + 1,
            FILE.lines().nth(line).unwrap_or("<end>"),
            fresh.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

#[test]
fn every_case_checks_from_its_own_layers() {
    let n = wire::vectors::check(FILE).unwrap();
    assert!(n >= 60, "only {n} cases");
}

#[test]
fn a_wrong_expectation_is_caught() {
    // The checker really compares: change one expected result and it must fail.
    let broken = FILE.replacen("\"error\": \"qr.bad_tag\"", "\"error\": \"qr.revoked\"", 1);
    assert_ne!(broken, FILE);
    let e = wire::vectors::check(&broken).unwrap_err();
    assert!(e.contains("qr case"), "{e}");
    let broken = FILE.replacen(
        "\"error\": \"challenge.expired\"",
        "\"error\": \"challenge.too_young\"",
        1,
    );
    assert!(wire::vectors::check(&broken).is_err());
}

#[test]
fn the_file_covers_what_the_formats_promise() {
    for name in [
        "\"bad_tag\"",
        "\"unknown_key\"",
        "\"future_version\"",
        "\"truncated\"",
        "\"revoked_code\"",
        "\"revoked_staff\"",
        "\"expired\"",
        "\"spliced\"",
        "\"tag_of_other_level\"",
        "\"phone_without_consent\"",
        "\"tampered_body\"",
    ] {
        assert!(
            FILE.contains(&format!("\"name\": {name}")),
            "no case {name}"
        );
    }
}
