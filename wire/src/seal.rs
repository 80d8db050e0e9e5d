//! Secrets at rest: what the edge must keep but a backup must not reveal (an alert route's
//! robot address with its key, its signing secret) is stored sealed under a key derived from one
//! of the edge's own keys (`CHALLENGE_KEYS`, from the operator's zsp.env), so the database file
//! and every copy of it hold only ciphertext.
//!
//! The text is `zsp-sealed:v1:<kid>:<base64 of iv ‖ ciphertext>`. The construction is SIV over
//! HMAC-SHA256 (deterministic authenticated encryption, as RFC 5297 with HMAC for CMAC): a key
//! for this use only is derived from the edge key; the 16-byte IV is the MAC of the plaintext;
//! the keystream is HMAC(key, iv ‖ block number); opening recomputes the IV and compares it in
//! constant time. No randomness is needed; the same secret sealed twice under one key gives the
//! same text (equal secrets show as equal, nothing more).

use crate::key::{Key, Keyring};
use crate::{base64, mac};

pub const PREFIX: &str = "zsp-sealed:v1:";
const IV_LEN: usize = 16;
/// Longer plaintexts are refused: a route's address and secret are at most a few hundred bytes.
pub const MAX_PLAIN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// Not sealed text (no prefix, bad key id or base64, too short).
    Malformed,
    /// Sealed under a key id the keyring no longer holds.
    UnknownKey(u16),
    /// The key id is known but the text does not open: altered, or sealed under another key with
    /// the same id.
    Altered,
    TooLong,
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealError::Malformed => write!(f, "not sealed text"),
            SealError::UnknownKey(k) => write!(
                f,
                "sealed under CHALLENGE_KEYS key {k}, which the settings no longer hold"
            ),
            SealError::Altered => write!(f, "does not open with its key (altered or another key)"),
            SealError::TooLong => write!(f, "longer than {MAX_PLAIN} bytes"),
        }
    }
}

impl std::error::Error for SealError {}

fn derived(key: &Key) -> [u8; 32] {
    mac::tag(&key.secret, "zsp.seal.key.v1", &[])
}

fn keystream_xor(k: &[u8; 32], iv: &[u8], data: &mut [u8]) {
    for (i, chunk) in data.chunks_mut(32).enumerate() {
        let block = mac::tag(k, "zsp.seal.ctr.v1", &[iv, &(i as u32).to_be_bytes()]);
        for (b, s) in chunk.iter_mut().zip(block) {
            *b ^= s;
        }
    }
}

/// Seals `plain` under `key`.
pub fn seal(key: &Key, plain: &str) -> Result<String, SealError> {
    if plain.len() > MAX_PLAIN {
        return Err(SealError::TooLong);
    }
    let k = derived(key);
    let iv = mac::tag(&k, "zsp.seal.siv.v1", &[plain.as_bytes()]);
    let mut out = iv[..IV_LEN].to_vec();
    let mut ct = plain.as_bytes().to_vec();
    keystream_xor(&k, &iv[..IV_LEN], &mut ct);
    out.extend_from_slice(&ct);
    Ok(format!("{PREFIX}{}:{}", key.kid, base64::encode(&out)))
}

/// The key id a sealed text names, if it is sealed text.
pub fn kid_of(text: &str) -> Option<u16> {
    text.strip_prefix(PREFIX)?.split_once(':')?.0.parse().ok()
}

/// Opens what [`seal`] made with a key of `ring`.
pub fn open(ring: &Keyring, text: &str) -> Result<String, SealError> {
    let (kid, body) = text
        .strip_prefix(PREFIX)
        .and_then(|t| t.split_once(':'))
        .ok_or(SealError::Malformed)?;
    let kid: u16 = kid.parse().map_err(|_| SealError::Malformed)?;
    let bytes = base64::decode(body).ok_or(SealError::Malformed)?;
    if bytes.len() < IV_LEN {
        return Err(SealError::Malformed);
    }
    if bytes.len() > IV_LEN + MAX_PLAIN {
        return Err(SealError::TooLong);
    }
    let key = ring.get(kid).ok_or(SealError::UnknownKey(kid))?;
    let k = derived(key);
    let (iv, ct) = bytes.split_at(IV_LEN);
    let mut plain = ct.to_vec();
    keystream_xor(&k, iv, &mut plain);
    if !mac::verify(&k, "zsp.seal.siv.v1", &[&plain], iv) {
        return Err(SealError::Altered);
    }
    String::from_utf8(plain).map_err(|_| SealError::Altered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyPurpose;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ring() -> Keyring {
        Keyring::new(
            KeyPurpose::Challenge,
            vec![
                Key::new(KeyPurpose::Challenge, 1, [1; 32]),
                Key::new(KeyPurpose::Challenge, 2, [2; 32]),
            ],
        )
        .unwrap()
    }

    const URL: &str =
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

    #[test]
    fn sealed_text_hides_the_secret_and_opens_with_any_key_of_the_ring() {
        let r = ring();
        let old = seal(r.get(1).unwrap(), URL).unwrap();
        let new = seal(r.current(), URL).unwrap();
        assert!(old.starts_with("zsp-sealed:v1:1:") && new.starts_with("zsp-sealed:v1:2:"));
        assert_ne!(old, new);
        for t in [&old, &new] {
            assert!(!t.contains("693a91f6") && !t.contains("qyapi"), "{t}");
            assert_eq!(open(&r, t).unwrap(), URL);
        }
        assert_eq!(kid_of(&old), Some(1));
        assert_eq!(kid_of(URL), None);
        // Deterministic under one key; long values span several keystream blocks.
        assert_eq!(seal(r.current(), URL).unwrap(), new);
        let long = "秘".repeat(700);
        assert_eq!(open(&r, &seal(r.current(), &long).unwrap()).unwrap(), long);
        assert_eq!(open(&r, &seal(r.current(), "").unwrap()).unwrap(), "");
    }

    #[test]
    fn a_known_answer_pins_the_format() {
        // Regenerate only with a new format version (`v2`): stored routes must keep opening.
        let k = Key::new(KeyPurpose::Challenge, 7, [7; 32]);
        assert_eq!(
            seal(&k, "SECabc").unwrap(),
            "zsp-sealed:v1:7:7yj5JyxcS/6JU58FAtv8wtV2roUvng=="
        );
    }

    #[test]
    fn altered_unknown_or_malformed_text_never_opens() {
        let r = ring();
        let t = seal(r.current(), URL).unwrap();
        // Flip one bit anywhere in the body.
        let body = t.rsplit_once(':').unwrap().1;
        let mut bytes = base64::decode(body).unwrap();
        for i in [0, 15, 16, bytes.len() - 1] {
            bytes[i] ^= 1;
            let bad = format!("{PREFIX}2:{}", base64::encode(&bytes));
            assert_eq!(open(&r, &bad), Err(SealError::Altered), "byte {i}");
            bytes[i] ^= 1;
        }
        // Sealed under a key this ring does not hold, or another key with the same id.
        let gone = seal(&Key::new(KeyPurpose::Challenge, 9, [9; 32]), URL).unwrap();
        assert_eq!(open(&r, &gone), Err(SealError::UnknownKey(9)));
        let other = seal(&Key::new(KeyPurpose::Challenge, 2, [5; 32]), URL).unwrap();
        assert_eq!(open(&r, &other), Err(SealError::Altered));
        for bad in [
            "",
            URL,
            "zsp-sealed:v1:",
            "zsp-sealed:v1:2",
            "zsp-sealed:v1:x:AAAA",
            "zsp-sealed:v1:2:AAAA",
            "zsp-sealed:v1:2:not base64!",
            "zsp-sealed:v1:99999:AAAA",
        ] {
            assert_eq!(open(&r, bad), Err(SealError::Malformed), "{bad}");
        }
        assert_eq!(
            seal(r.current(), &"x".repeat(MAX_PLAIN + 1)),
            Err(SealError::TooLong)
        );
    }
}
