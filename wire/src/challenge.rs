//! The anti-abuse challenge the edge hands out with every page, and its proof of work.
//!
//! Binary layout, version 2 (54 bytes), every field of fixed size so no field can be re-spliced
//! into another (ALTCHA's CVE-2025-68113 came from undelimited fields):
//!
//! | bytes  | field                                                              |
//! |--------|--------------------------------------------------------------------|
//! | 0      | format version = 2                                                 |
//! | 1..3   | edge key id, big-endian u16                                        |
//! | 3..13  | code id the page was served for (see [`CodeId`])                   |
//! | 13..21 | issue time, big-endian u64 Unix seconds                            |
//! | 21..29 | random nonce                                                       |
//! | 29..37 | the device's tag ([`device_tag`] of the edge's device cookie)      |
//! | 37     | proof-of-work difficulty, in leading zero bits                     |
//! | 38..54 | HMAC-SHA256 over bytes 0..38, domain `zsp-challenge-v1`, 128 bits  |
//!
//! The edge names the device (an HttpOnly cookie set by the landing page) and binds the challenge
//! to it: a rating posted with another device's cookie is refused, and one posted without the
//! cookie counts as the device the page was served to. Version 1 had a 16-byte nonce and no
//! device; its challenges are refused as outdated (a page lives 30 minutes).
//!
//! Text form: 87 upper-case base32 characters. Proof of work: a `u32` counter such that
//! SHA-256(the 54 challenge bytes ‖ counter as 4 big-endian bytes) starts with `difficulty` zero
//! bits. The edge also checks that a challenge is used once (that needs storage, so it is not here).

use crate::key::{Key, KeyPurpose, Keyring};
use crate::qr::CodeId;
use crate::{Coded, base32, mac};

pub const FORMAT_VERSION: u8 = 2;
pub const NONCE_LEN: usize = 8;
pub const DEVICE_TAG_LEN: usize = 8;
pub const TAG_LEN: usize = 16;
const SIGNED_LEN: usize = 1 + 2 + CodeId::LEN + 8 + NONCE_LEN + DEVICE_TAG_LEN + 1;
pub const CHALLENGE_LEN: usize = SIGNED_LEN + TAG_LEN;
pub const TEXT_LEN: usize = base32::encoded_len(CHALLENGE_LEN);
const DOMAIN: &str = "zsp-challenge-v1";

/// Leading zero bits asked of a solution unless the edge is configured otherwise: about 8,000
/// hashes on average, solved while the citizen chooses. Calibrated by `cargo xtask bench app`,
/// which prints the figures: the page's median solve in Chromium at 6× CPU slowdown (a cheap
/// phone) must stay under 300 ms, and one more bit doubles it.
pub const DEFAULT_DIFFICULTY: u8 = 13;
/// The highest difficulty the edge may ask: beyond it an old phone could take minutes.
pub const MAX_DIFFICULTY: u8 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge {
    pub kid: u16,
    pub code: CodeId,
    pub issued_at: u64,
    pub nonce: [u8; NONCE_LEN],
    /// The device the page was served to, as [`device_tag`] of its cookie.
    pub device: [u8; DEVICE_TAG_LEN],
    pub difficulty: u8,
}

/// The tag of a device id (the edge's cookie) that a challenge carries: a digest, so the page
/// never learns the HttpOnly cookie's value from the challenge it can read.
pub fn device_tag(device: &[u8; 16]) -> [u8; DEVICE_TAG_LEN] {
    use sha2::{Digest, Sha256};
    let h = Sha256::new()
        .chain_update(b"zsp-device-v1")
        .chain_update(device)
        .finalize();
    let mut t = [0u8; DEVICE_TAG_LEN];
    t.copy_from_slice(&h[..DEVICE_TAG_LEN]);
    t
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
            max_age_secs: challenge_max_age_minutes!() * 60,
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
    /// Authentic, but served to another device than the one whose cookie came with the rating.
    WrongDevice,
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
            ChallengeError::WrongDevice => "challenge.wrong_device",
            ChallengeError::TooYoung => "challenge.too_young",
            ChallengeError::Expired => "challenge.expired",
            ChallengeError::Unsolved => "challenge.unsolved",
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            ChallengeError::TooYoung => "提交太快了，请稍等几秒再提交",
            ChallengeError::Expired => {
                concat!(
                    "页面打开已超过",
                    challenge_max_age_minutes!(),
                    "分钟，请重新扫码后评价"
                )
            }
            ChallengeError::WrongCode => "页面与二维码不一致，请重新扫码后评价",
            ChallengeError::Unsolved => "安全校验未完成，请稍后再试",
            _ => "页面已失效，请重新扫码后评价",
        }
    }
    fn message_en(&self) -> &'static str {
        match self {
            ChallengeError::TooYoung => "submitted too quickly; wait a few seconds and try again",
            ChallengeError::Expired => concat!(
                "the page is over ",
                challenge_max_age_minutes!(),
                " minutes old; scan the code again"
            ),
            ChallengeError::WrongCode => "the page does not belong to this code; scan again",
            ChallengeError::Unsolved => "the security check is not finished; try again shortly",
            _ => "the page is no longer valid; scan the code again",
        }
    }
}

coded_error!(ChallengeError);

impl Challenge {
    fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut b = [0u8; SIGNED_LEN];
        b[0] = FORMAT_VERSION;
        b[1..3].copy_from_slice(&self.kid.to_be_bytes());
        b[3..13].copy_from_slice(&self.code.to_bytes());
        b[13..21].copy_from_slice(&self.issued_at.to_be_bytes());
        b[21..29].copy_from_slice(&self.nonce);
        b[29..37].copy_from_slice(&self.device);
        b[37] = self.difficulty;
        b
    }

    /// The device id a rating with this challenge is stored under: named by the edge, from the
    /// tag (the same whether or not the cookie came back with the rating; never the cookie).
    pub fn device_id(&self) -> crate::rating::Id128 {
        crate::rating::Id128::digest(b"zsp-device-row-v1", &[&self.device])
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
        nonce.copy_from_slice(&bytes[21..29]);
        let mut device = [0u8; DEVICE_TAG_LEN];
        device.copy_from_slice(&bytes[29..37]);
        Ok((
            Challenge {
                kid: u16::from_be_bytes([bytes[1], bytes[2]]),
                code: CodeId::from_bytes(&code),
                issued_at: u64::from_be_bytes(issued),
                nonce,
                device,
                difficulty: bytes[37],
            },
            bytes,
        ))
    }

    /// Everything the edge checks without storage, cheapest first: shape, key, tag, the code it
    /// was served for, the device (when its cookie came back), age, and the proof of work.
    pub fn verify(
        text: &str,
        solution: u32,
        keys: &Keyring,
        code: CodeId,
        device: Option<&[u8; 16]>,
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
        if device.is_some_and(|d| device_tag(d) != c.device) {
            return Err(ChallengeError::WrongDevice);
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

/// SHA-256(challenge ‖ counter, big-endian), with the work that does not depend on the counter
/// done once per challenge. Written out rather than through `sha2`: the page runs only this
/// hash, and `sha2`'s unrolled rounds were 8 KB of its WebAssembly. The message is always 58
/// bytes, so it fills two blocks: the first holds the challenge and then the counter from byte
/// 54, so its first 13 rounds (which read words 0..13, bytes 0..52) are the same for every
/// counter; the second is the fixed padding, whose schedule is a constant. A try is then 51 + 64
/// rounds and one schedule instead of 2 × 64 rounds and two. `pow_hash_matches_sha2` checks it
/// against `sha2`, which the rest of this crate uses.
struct PowPrefix {
    /// The first block's words, with words 13 and 14 still to take the counter.
    words: [u32; 16],
    /// The working variables after the rounds that read the challenge alone.
    after: [u32; 8],
}

const MSG_LEN: usize = CHALLENGE_LEN + 4;
const _: () = assert!(
    MSG_LEN + 1 + 8 > 64 && MSG_LEN < 64 && CHALLENGE_LEN == 54,
    "two blocks, the second constant; the counter in words 13 and 14"
);
/// Rounds that read only words 0..13 of the first block: the challenge, never the counter.
const FIXED_ROUNDS: usize = 13;
/// The second block's schedule: zeros, then the message length in bits.
const PAD_SCHEDULE: [u32; 64] = {
    let mut w = [0u32; 16];
    w[15] = (MSG_LEN * 8) as u32;
    sha256::schedule(w)
};

impl PowPrefix {
    fn new(challenge: &[u8; CHALLENGE_LEN]) -> PowPrefix {
        let mut words = [0u32; 16];
        for (w, b) in words.iter_mut().zip(challenge.chunks(4)) {
            let mut be = [0u8; 4];
            be[..b.len()].copy_from_slice(b);
            *w = u32::from_be_bytes(be);
        }
        let mut after = sha256::H0;
        sha256::rounds(&mut after, &words, 0..FIXED_ROUNDS);
        PowPrefix { words, after }
    }

    /// The hash's eight words (big-endian, so word 0 holds its first bytes).
    fn hash(&self, counter: u32) -> [u32; 8] {
        let mut w = self.words;
        // Bytes 52, 53 are the challenge's last; 54..58 the counter; 58 the padding's 0x80.
        w[13] |= counter >> 16;
        w[14] = (counter << 16) | 0x8000;
        let schedule = sha256::schedule(w);
        let mut v = self.after;
        sha256::rounds(&mut v, &schedule, FIXED_ROUNDS..64);
        let mut state = sha256::H0;
        sha256::add(&mut state, v);
        let mut v = state;
        sha256::rounds(&mut v, &PAD_SCHEDULE, 0..64);
        sha256::add(&mut state, v);
        state
    }

    fn solves(&self, counter: u32, difficulty: u8) -> bool {
        leading_zero_bits(&self.hash(counter)) >= u32::from(difficulty)
    }
}

#[cfg(test)]
fn pow_hash(challenge: &[u8; CHALLENGE_LEN], counter: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, w) in out
        .chunks_exact_mut(4)
        .zip(PowPrefix::new(challenge).hash(counter))
    {
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

    /// A block's 16 words expanded to the 64 the rounds read.
    pub const fn schedule(block: [u32; 16]) -> [u32; 64] {
        let mut w = [0u32; 64];
        let mut i = 0;
        while i < 64 {
            w[i] = if i < 16 {
                block[i]
            } else {
                let (x, y) = (w[i - 15], w[i - 2]);
                let s0 = x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3);
                let s1 = y.rotate_right(17) ^ y.rotate_right(19) ^ (y >> 10);
                w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1)
            };
            i += 1;
        }
        w
    }

    /// Rounds `range` of the compression, on the working variables `v`, reading `w[range]`.
    pub fn rounds(v: &mut [u32; 8], w: &[u32], range: std::ops::Range<usize>) {
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *v;
        for (k, w) in K[range.clone()].iter().zip(&w[range]) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(*k)
                .wrapping_add(*w);
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
        *v = [a, b, c, d, e, f, g, h];
    }

    /// The end of a block: its working variables added to the state.
    pub fn add(state: &mut [u32; 8], v: [u32; 8]) {
        for (s, v) in state.iter_mut().zip(v) {
            *s = s.wrapping_add(v);
        }
    }
}

fn leading_zero_bits(h: &[u32; 8]) -> u32 {
    let mut n = 0;
    for &w in h {
        n += w.leading_zeros();
        if w != 0 {
            break;
        }
    }
    n
}

/// Does `counter` solve the challenge at `difficulty`?
pub fn pow_ok(challenge: &[u8; CHALLENGE_LEN], counter: u32, difficulty: u8) -> bool {
    PowPrefix::new(challenge).solves(counter, difficulty)
}

/// Tries counters `start .. start + count`; the page calls this in slices so it never blocks.
pub fn solve(
    challenge: &[u8; CHALLENGE_LEN],
    difficulty: u8,
    start: u32,
    count: u32,
) -> Option<u32> {
    let end = start.saturating_add(count);
    let prefix = PowPrefix::new(challenge);
    (start..end).find(|&c| prefix.solves(c, difficulty))
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
            device: device_tag(&[3; 16]),
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
            Challenge::verify(&text, sol, &ring, c.code, None, t0 + 10, &p),
            Ok(c)
        );
        assert_eq!(
            Challenge::verify(&text, sol, &ring, c.code, None, t0 + 2, &p),
            Err(ChallengeError::TooYoung)
        );
        assert_eq!(
            Challenge::verify(&text, sol, &ring, c.code, None, t0 - 100, &p),
            Err(ChallengeError::TooYoung)
        );
        assert_eq!(
            Challenge::verify(&text, sol, &ring, c.code, None, t0 + 1801, &p),
            Err(ChallengeError::Expired)
        );
        let other = CodeId {
            window: WindowRef([1, 2, 3, 4, 6]),
            staff: None,
        };
        assert_eq!(
            Challenge::verify(&text, sol, &ring, other, None, t0 + 10, &p),
            Err(ChallengeError::WrongCode)
        );
        // A counter that does not solve it (at difficulty 8, most do not) is refused.
        let bad = (0..)
            .find(|&x| !pow_ok(&bytes, x, c.difficulty))
            .expect("some counter fails");
        assert_eq!(
            Challenge::verify(&text, bad, &ring, c.code, None, t0 + 10, &p),
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
        let mut h = [0u32; 8];
        assert_eq!(leading_zero_bits(&h), 256);
        h[1] = 0x0010_0000;
        assert_eq!(leading_zero_bits(&h), 43);
        h[0] = 0x8000_0000;
        assert_eq!(leading_zero_bits(&h), 0);
    }
}
