//! `cargo xtask bench wire`: the native cost of the edge's two hot checks, and the QR size of a
//! payload for the reference host. Prints figures; asserts nothing (targets live in the issue).
//!
//! Targets: verifying a QR payload ≤ 20 µs; checking a solved challenge ≤ 5 µs (solving excluded);
//! QR version ≤ 4 at level M for the 26-character host `https://pj.example.gov.cn/`.

use qrcode::bits::Bits;
use qrcode::{EcLevel, QrCode, Version};
use std::hint::black_box;
use std::time::Instant;
use wire::challenge::{self, Challenge, ChallengePolicy};
use wire::{BaseUrl, CodeId, Day, Key, KeyPurpose, Keyring, QrPayload, StaffRef, WindowRef};

fn per_op(iters: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iters / 10 {
        f(); // warm up
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / f64::from(iters));
    }
    best
}

/// Smallest version at level M for a byte segment (host) plus an alphanumeric segment (payload).
fn qr_for(base: &str, segment: &str) -> QrCode {
    for v in 1..=40 {
        let mut bits = Bits::new(Version::Normal(v));
        let fits = bits.push_byte_data(base.as_bytes()).is_ok()
            && bits.push_alphanumeric_data(segment.as_bytes()).is_ok()
            && bits.push_terminator(EcLevel::M).is_ok();
        if fits {
            return QrCode::with_bits(bits, EcLevel::M).expect("fits");
        }
    }
    unreachable!("a payload always fits version 40")
}

fn main() {
    let qr_key = Key::new(KeyPurpose::Qr, 3301, [7; 32]);
    // A realistic keyring: a province with 100 issuing authorities.
    let keys: Vec<Key> = (3201..3301)
        .map(|k| Key::new(KeyPurpose::Qr, k, [k as u8; 32]))
        .chain([qr_key.clone()])
        .collect();
    let qr_ring = Keyring::new(KeyPurpose::Qr, keys).unwrap();
    let code = CodeId {
        window: WindowRef::derive("330102", "上城区市民中心", "A12"),
        staff: Some(StaffRef::derive("330102", "SC0042")),
    };
    let segment = QrPayload::seal(code, Day::parse("2026-11-22").unwrap(), &qr_key);
    let qr_verify = per_op(200_000, || {
        black_box(QrPayload::open(black_box(&segment), &qr_ring).unwrap());
    });

    let ch_key = Key::new(KeyPurpose::Challenge, 1, [5; 32]);
    let ch_ring = Keyring::new(KeyPurpose::Challenge, vec![ch_key.clone()]).unwrap();
    let c = Challenge {
        kid: 1,
        code,
        issued_at: 1_795_305_600,
        nonce: [9; 8],
        device: [7; 8],
        difficulty: challenge::DEFAULT_DIFFICULTY,
    };
    let text = c.seal(&ch_key);
    let bytes = c.seal_bytes(&ch_key);
    let t = Instant::now();
    let solution = challenge::solve(&bytes, c.difficulty, 0, u32::MAX).unwrap();
    let solve_native = t.elapsed().as_secs_f64();
    let policy = ChallengePolicy::default();
    let ch_verify = per_op(200_000, || {
        black_box(
            Challenge::verify(
                black_box(&text),
                solution,
                &ch_ring,
                code,
                None,
                c.issued_at + 10,
                &policy,
            )
            .unwrap(),
        );
    });

    // Masking a comment, on every submission: the longest comment (500 characters) with an ID,
    // a full-width mobile and a card in it, and a plain one of the same length.
    let filler = "窗口服务很耐心但是等了很久".repeat(30);
    let numbers = format!(
        "{}身份证11010519491231002X，电话１３８-１２３４-５６７８，卡号6222 0212 3456 7894",
        &filler.chars().take(440).collect::<String>()
    );
    let plain: String = "等了 45 分钟，跑了 3 次。"
        .repeat(40)
        .chars()
        .take(500)
        .collect();
    let mask_numbers = per_op(20_000, || {
        black_box(wire::mask::mask(black_box(&numbers)));
    });
    let mask_plain = per_op(20_000, || {
        black_box(wire::mask::mask(black_box(&plain)));
    });

    let base = BaseUrl::parse("https://pj.example.gov.cn/").unwrap();
    let qr = qr_for(base.as_str(), &segment);
    let version = match qr.version() {
        Version::Normal(v) => v,
        Version::Micro(v) => v,
    };

    println!("wire benchmark (native, release, best of 5 runs)");
    println!(
        "  verify QR payload        {:>8.2} µs   target ≤ 20 µs   {}",
        qr_verify * 1e6,
        verdict(qr_verify <= 20e-6)
    );
    println!(
        "  check solved challenge   {:>8.2} µs   target ≤ 5 µs    {}",
        ch_verify * 1e6,
        verdict(ch_verify <= 5e-6)
    );
    println!(
        "  mask a 500-char comment  {:>8.2} µs with three numbers, {:.2} µs without (peer: the challenge check above)",
        mask_numbers * 1e6,
        mask_plain * 1e6
    );
    println!(
        "  (solving difficulty {} natively: {:.1} ms, counter {solution}; not part of the check)",
        c.difficulty,
        solve_native * 1e3
    );
    println!(
        "  QR for {}{}… ({} characters): version {version}, {}×{} modules at level M   target ≤ 4   {}",
        base.as_str(),
        &segment[..8],
        base.url(&segment).len(),
        qr.width(),
        qr.width(),
        verdict(version <= 4)
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
