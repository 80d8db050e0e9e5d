//! The anti-abuse challenge the edge hands out with every page, and its proof of work.
//!
//! Binary layout, version 1 (54 bytes), every field of fixed size so no field can be re-spliced
//! into another (ALTCHA's CVE-2025-68113 came from undelimited fields):
//!
//! | bytes  | field                                                              |
//! |--------|--------------------------------------------------------------------|
//! | 0      | format version = 1                                                 |
//! | 1..3   | edge key id, big-endian u16                                        |
//! | 3..13  | code id the page was served for (see [`CodeId`])                   |
//! | 13..21 | issue time, big-endian u64 Unix seconds                            |
//! | 21..37 | random nonce                                                       |
//! | 37     | proof-of-work difficulty, in leading zero bits                     |
//! | 38..54 | HMAC-SHA256 over bytes 0..38, domain `zsp-challenge-v1`, 128 bits  |
//!
//! Text form: 87 upper-case base32 characters. Proof of work: a `u32` counter such that
//! SHA-256(the 54 challenge bytes ‖ counter as 4 big-endian bytes) starts with `difficulty` zero
//! bits. The edge also checks that a challenge is used once (that needs storage, so it is not here).

use crate::key::{Key, KeyPurpose, Keyring};
use crate::qr::CodeId;
use crate::{Coded, base32, mac};
use std::fmt;

pub const FORMAT_VERSION: u8 = 1;
pub const NONCE_LEN: usize = 16;
pub const TAG_LEN: usize = 16;
const SIGNED_LEN: usize = 1 + 2 + CodeId::LEN + 8 + NONCE_LEN + 1;
pub const CHALLENGE_LEN: usize = SIGNED_LEN + TAG_LEN;
pub const TEXT_LEN: usize = base32::encoded_len(CHALLENGE_LEN);
const DOMAIN: &str = "zsp-challenge-v1";

/// Leading zero bits asked of a solution unless the edge is configured otherwise: about 8,000
/// hashes on average, solved while the citizen chooses. Calibrated by `cargo xtask bench app`:
/// the page's median solve time in Chromium at 6× CPU slowdown (a cheap phone) must stay under
/// 300 ms; at 14 it measured 309–447 ms, at 13 it is half that.
pub const DEFAULT_DIFFICULTY: u8 = 13;
/// The highest difficulty the edge may ask: beyond it an old phone could take minutes.
pub const MAX_DIFFICULTY: u8 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge {
    pub kid: u16,
    pub code: CodeId,
    pub issued_at: u64,
    pub nonce: [u8; NONCE_LEN],
    pub difficulty: u8,
}

/// How old a challenge may be when a rating comes back with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengePolicy {
    /// A person reads the page before rating; a bot posts at once.
    pub min_age_secs: u64,
    /// After this the page must be reloaded (or rescanned).
    pub max_age_secs: u64,
}

impl Default for ChallengePolicy {
    fn default() -> Self {
        ChallengePolicy {
            min_age_secs: 3,
            max_age_secs: 30 * 60,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeError {
    Malformed,
    UnsupportedVersion(u8),
    UnknownKey(u16),
    /// Not made by this edge, or altered, or spliced from parts of other challenges.
    BadTag,
    /// Authentic, but served for another code than the one being rated.
    WrongCode,
    TooYoung,
    Expired,
    /// The proof of work does not hold at the challenge's difficulty.
    Unsolved,
}

impl Coded for ChallengeError {
    fn code(&self) -> &'static str {
        match self {
            ChallengeError::Malformed => "challenge.malformed",
            ChallengeError::UnsupportedVersion(_) => "challenge.version",
            ChallengeError::UnknownKey(_) => "challenge.unknown_key",
            ChallengeError::BadTag => "challenge.bad_tag",
            ChallengeError::WrongCode => "challenge.wrong_code",
            ChallengeError::TooYoung => "challenge.too_young",
            ChallengeError::Expired => "challenge.expired",
            ChallengeError::Unsolved => "challenge.unsolved",
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            ChallengeError::TooYoung => "提交太快了，请稍等几秒再提交",
            ChallengeError::Expired => "页面打开已超过30分钟，请重新扫码后评价",
            ChallengeError::WrongCode => "页面与二维码不一致，请重新扫码后评价",
            ChallengeError::Unsolved => "安全校验未完成，请稍后再试",
            _ => "页面已失效，请重新扫码后评价",
        }
    }
    fn message_en(&self) -> &'static str {
        match self {
            ChallengeError::TooYoung => "submitted too quickly; wait a few seconds and try again",
            ChallengeError::Expired => "the page is over 30 minutes old; scan the code again",
            ChallengeError::WrongCode => "the page does not belong to this code; scan again",
            ChallengeError::Unsolved => "the security check is not finished; try again shortly",
            _ => "the page is no longer valid; scan the code again",
        }
    }
}

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message_en(), self.code())
    }
}

impl std::error::Error for ChallengeError {}

impl Challenge {
    fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut b = [0u8; SIGNED_LEN];
        b[0] = FORMAT_VERSION;
        b[1..3].copy_from_slice(&self.kid.to_be_bytes());
        b[3..13].copy_from_slice(&self.code.to_bytes());
        b[13..21].copy_from_slice(&self.issued_at.to_be_bytes());
        b[21..37].copy_from_slice(&self.nonce);
        b[37] = self.difficulty;
        b
    }

    /// The authenticated bytes. `key` must be a challenge key; its id replaces `self.kid`.
    pub fn seal_bytes(&self, key: &Key) -> [u8; CHALLENGE_LEN] {
        debug_assert_eq!(key.purpose, KeyPurpose::Challenge);
        let c = Challenge {
            kid: key.kid,
            ..*self
        };
        let signed = c.signed_bytes();
        let t = mac::tag(&key.secret, DOMAIN, &[&signed]);
        let mut out = [0u8; CHALLENGE_LEN];
        out[..SIGNED_LEN].copy_from_slice(&signed);
        out[SIGNED_LEN..].copy_from_slice(&t[..TAG_LEN]);
        out
    }

    pub fn seal(&self, key: &Key) -> String {
        base32::encode(&self.seal_bytes(key))
    }

    /// Decodes the text form without checking anything but its shape (the page does this to
    /// learn the difficulty; only the edge can check authenticity).
    pub fn decode(text: &str) -> Result<(Challenge, [u8; CHALLENGE_LEN]), ChallengeError> {
        if text.len() != TEXT_LEN {
            return Err(ChallengeError::Malformed);
        }
        let v = base32::decode(text).map_err(|_| ChallengeError::Malformed)?;
        let bytes = <[u8; CHALLENGE_LEN]>::try_from(v).map_err(|_| ChallengeError::Malformed)?;
        if bytes[0] != FORMAT_VERSION {
            return Err(ChallengeError::UnsupportedVersion(bytes[0]));
        }
        let mut code = [0u8; CodeId::LEN];
        code.copy_from_slice(&bytes[3..13]);
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&bytes[13..21]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[21..37]);
        Ok((
            Challenge {
                kid: u16::from_be_bytes([bytes[1], bytes[2]]),
                code: CodeId::from_bytes(&code),
                issued_at: u64::from_be_bytes(issued),
                nonce,
                difficulty: bytes[37],
            },
            bytes,
        ))
    }

    /// Everything the edge checks without storage, cheapest first: shape, key, tag, the code it
    /// was served for, age, and the proof of work.
    pub fn verify(
        text: &str,
        solution: u32,
        keys: &Keyring,
        code: CodeId,
        now: u64,
        policy: &ChallengePolicy,
    ) -> Result<Challenge, ChallengeError> {
        let (c, bytes) = Self::decode(text)?;
        let key = keys
            .get(c.kid)
            .filter(|k| k.purpose == KeyPurpose::Challenge)
            .ok_or(ChallengeError::UnknownKey(c.kid))?;
        if !mac::verify(
            &key.secret,
            DOMAIN,
            &[&bytes[..SIGNED_LEN]],
            &bytes[SIGNED_LEN..],
        ) {
            return Err(ChallengeError::BadTag);
        }
        if c.code != code {
            return Err(ChallengeError::WrongCode);
        }
        let age = now
            .checked_sub(c.issued_at)
            .ok_or(ChallengeError::TooYoung)?;
        if age < policy.min_age_secs {
            return Err(ChallengeError::TooYoung);
        }
        if age > policy.max_age_secs {
            return Err(ChallengeError::Expired);
        }
        if !pow_ok(&bytes, solution, c.difficulty) {
            return Err(ChallengeError::Unsolved);
        }
        Ok(c)
    }
}

/// SHA-256(challenge ‖ counter, big-endian). Written out rather than through `sha2`: the page
/// runs only this hash, and `sha2`'s unrolled rounds were 8 KB of its WebAssembly. The
/// message is always 58 bytes, so its padding is fixed: two blocks, the second constant.
/// `pow_hash_matches_sha2` checks it against `sha2`, which the rest of this crate uses.
fn pow_hash(challenge: &[u8; CHALLENGE_LEN], counter: u32) -> [u8; 32] {
    const LEN: usize = CHALLENGE_LEN + 4;
    const _: () = assert!(
        LEN + 1 + 8 > 64 && LEN < 64,
        "two blocks, the second constant"
    );
    let mut first = [0u8; 64];
    first[..CHALLENGE_LEN].copy_from_slice(challenge);
    first[CHALLENGE_LEN..LEN].copy_from_slice(&counter.to_be_bytes());
    first[LEN] = 0x80;
    let mut second = [0u8; 64];
    second[56..].copy_from_slice(&((LEN as u64) * 8).to_be_bytes());
    let mut state = sha256::H0;
    sha256::compress(&mut state, &first);
    sha256::compress(&mut state, &second);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// The SHA-256 compression function (FIPS 180-4, 6.2.2), rounds as a loop.
mod sha256 {
    pub const H0: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    pub fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
        let mut w = [0u32; 64];
        for (w, b) in w.iter_mut().zip(block.chunks_exact(4)) {
            *w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        for (k, w) in K.iter().zip(w) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(*k)
                .wrapping_add(w);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }
}

fn leading_zero_bits(h: &[u8; 32]) -> u32 {
    let mut n = 0;
    for &b in h {
        if b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// Does `counter` solve the challenge at `difficulty`?
pub fn pow_ok(challenge: &[u8; CHALLENGE_LEN], counter: u32, difficulty: u8) -> bool {
    leading_zero_bits(&pow_hash(challenge, counter)) >= u32::from(difficulty)
}

/// Tries counters `start .. start + count`; the page calls this in slices so it never blocks.
pub fn solve(
    challenge: &[u8; CHALLENGE_LEN],
    difficulty: u8,
    start: u32,
    count: u32,
) -> Option<u32> {
    let end = start.saturating_add(count);
    (start..end).find(|&c| pow_ok(challenge, c, difficulty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::WindowRef;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn setup() -> (Key, Keyring, Challenge) {
        let k = Key::new(KeyPurpose::Challenge, 1, [5; 32]);
        let ring = Keyring::new(KeyPurpose::Challenge, vec![k.clone()]).unwrap();
        let c = Challenge {
            kid: 1,
            code: CodeId {
                window: WindowRef([1, 2, 3, 4, 5]),
                staff: None,
            },
            issued_at: 1_795_305_600,
            nonce: [9; NONCE_LEN],
            difficulty: 8,
        };
        (k, ring, c)
    }

    #[test]
    fn round_trip_and_checks() {
        let (k, ring, c) = setup();
        let text = c.seal(&k);
        assert_eq!(text.len(), TEXT_LEN);
        let (_, bytes) = Challenge::decode(&text).unwrap();
        let sol = solve(&bytes, c.difficulty, 0, u32::MAX).unwrap();
        let p = ChallengePolicy::default();
        let t0 = c.issued_at;
        assert_eq!(
            Challenge::verify(&text, sol, &ring, c.code, t0 + 10, &p),
            Ok(c)
        );
        assert_eq!(
            Challenge::verify(&text, sol, &ring, c.code, t0 + 2, &p),
            Err(ChallengeError::TooYoung)
        );
        assert_eq!(
            Challenge::verify(&text, sol, &ring, c.code, t0 - 100, &p),
            Err(ChallengeError::TooYoung)
        );
        assert_eq!(
            Challenge::verify(&text, sol, &ring, c.code, t0 + 1801, &p),
            Err(ChallengeError::Expired)
        );
        let other = CodeId {
            window: WindowRef([1, 2, 3, 4, 6]),
            staff: None,
        };
        assert_eq!(
            Challenge::verify(&text, sol, &ring, other, t0 + 10, &p),
            Err(ChallengeError::WrongCode)
        );
        // A counter that does not solve it (at difficulty 8, most do not) is refused.
        let bad = (0..)
            .find(|&x| !pow_ok(&bytes, x, c.difficulty))
            .expect("some counter fails");
        assert_eq!(
            Challenge::verify(&text, bad, &ring, c.code, t0 + 10, &p),
            Err(ChallengeError::Unsolved)
        );
    }

    #[test]
    fn solve_in_slices_finds_the_first_solution() {
        let (k, _, c) = setup();
        let bytes = c.seal_bytes(&k);
        let whole = solve(&bytes, 10, 0, u32::MAX).unwrap();
        let mut start = 0;
        let sliced = loop {
            if let Some(s) = solve(&bytes, 10, start, 100) {
                break s;
            }
            start += 100;
        };
        assert_eq!(whole, sliced);
        assert!(pow_ok(&bytes, whole, 10));
        assert!((0..whole).all(|x| !pow_ok(&bytes, x, 10)));
    }

    #[test]
    fn pow_hash_matches_sha2() {
        use sha2::{Digest, Sha256};
        let (k, _, c) = setup();
        let mut inputs = vec![
            [0u8; CHALLENGE_LEN],
            [0xff; CHALLENGE_LEN],
            c.seal_bytes(&k),
        ];
        let mut x = 0x2545_f491_u32;
        for _ in 0..50 {
            inputs.push(std::array::from_fn(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }));
        }
        for (i, bytes) in inputs.iter().enumerate() {
            for counter in [0, 1, 0x0102_0304, u32::MAX, x.wrapping_mul(i as u32)] {
                let mut h = Sha256::new();
                h.update(bytes);
                h.update(counter.to_be_bytes());
                let want: [u8; 32] = h.finalize().into();
                assert_eq!(
                    pow_hash(bytes, counter),
                    want,
                    "input {i}, counter {counter}"
                );
            }
        }
    }

    #[test]
    fn leading_zeros() {
        let mut h = [0u8; 32];
        assert_eq!(leading_zero_bits(&h), 256);
        h[1] = 0x10;
        assert_eq!(leading_zero_bits(&h), 11);
    }
}
