//! Secret keys and keyrings, with one text form for key files and worker secrets:
//! `zspk1:<purpose>:<kid>:<BASE32 of 32 secret bytes>`, e.g. `zspk1:qr:7:ABC…` (52 characters of
//! base32). A keyring is several such keys separated by commas or white space, so rotating a key
//! is adding one line to the worker secret and, later, removing the old one.
//!
//! Each issuing authority (say, each county) gets its own QR key id, made by `qr-gen keys new`.

use crate::base32;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Authenticates printed QR payloads. Made by qr-gen, verified by the edge.
    Qr,
    /// Authenticates the edge's anti-abuse challenges. Known only to the edge.
    Challenge,
    /// Signs the envelopes the edge forwards upstream. Shared with the upstream receiver.
    Upstream,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Qr => "qr",
            KeyPurpose::Challenge => "challenge",
            KeyPurpose::Upstream => "upstream",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "qr" => Some(KeyPurpose::Qr),
            "challenge" => Some(KeyPurpose::Challenge),
            "upstream" => Some(KeyPurpose::Upstream),
            _ => None,
        }
    }
}

pub const SECRET_LEN: usize = 32;
const PREFIX: &str = "zspk1";

#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub purpose: KeyPurpose,
    pub kid: u16,
    pub secret: [u8; SECRET_LEN],
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret, not even in a panic message.
        write!(f, "Key({}:{}:…)", self.purpose.as_str(), self.kid)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Not of the form `zspk1:<purpose>:<kid>:<secret>`; says which part is wrong.
    Malformed(&'static str),
    WrongPurpose {
        expected: KeyPurpose,
        found: KeyPurpose,
    },
    DuplicateKid(u16),
    Empty,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Malformed(what) => write!(
                f,
                "not a key of the form zspk1:<purpose>:<kid>:<secret>: {what}"
            ),
            KeyError::WrongPurpose { expected, found } => write!(
                f,
                "a {} key where a {} key was expected",
                found.as_str(),
                expected.as_str()
            ),
            KeyError::DuplicateKid(k) => write!(f, "key id {k} appears twice"),
            KeyError::Empty => write!(f, "no key given"),
        }
    }
}

impl std::error::Error for KeyError {}

impl Key {
    /// A key from 32 bytes of randomness supplied by the caller (this crate does no I/O).
    pub fn new(purpose: KeyPurpose, kid: u16, secret: [u8; SECRET_LEN]) -> Self {
        Key {
            purpose,
            kid,
            secret,
        }
    }

    /// Names the key without revealing it (16 hex digits): what a directory records of the key
    /// its cards were printed with, and what `zsp check` compares with the keys it holds.
    pub fn fingerprint(&self) -> String {
        let t = crate::mac::tag(
            &self.secret,
            "zsp.key.fingerprint.v1",
            &[self.purpose.as_str().as_bytes(), &self.kid.to_be_bytes()],
        );
        hex(&t[..8])
    }

    pub fn to_text(&self) -> String {
        format!(
            "{PREFIX}:{}:{}:{}",
            self.purpose.as_str(),
            self.kid,
            base32::encode(&self.secret)
        )
    }

    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut parts = text.trim().split(':');
        if parts.next() != Some(PREFIX) {
            return Err(KeyError::Malformed("it does not start with zspk1:"));
        }
        let purpose = parts
            .next()
            .and_then(KeyPurpose::parse)
            .ok_or(KeyError::Malformed(
                "purpose must be qr, challenge or upstream",
            ))?;
        let kid = parts
            .next()
            .and_then(|k| {
                (!k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| k.parse::<u16>().ok())
                    .flatten()
            })
            .ok_or(KeyError::Malformed(
                "key id must be a number from 0 to 65535",
            ))?;
        let secret = parts
            .next()
            .and_then(|s| base32::decode(s).ok())
            .and_then(|v| <[u8; SECRET_LEN]>::try_from(v).ok())
            .ok_or(KeyError::Malformed("secret must be 32 bytes in base32"))?;
        if parts.next().is_some() {
            return Err(KeyError::Malformed("extra text after the secret"));
        }
        Ok(Key {
            purpose,
            kid,
            secret,
        })
    }
}

/// The keys of one purpose, looked up by key id.
#[derive(Debug, Clone)]
pub struct Keyring {
    purpose: KeyPurpose,
    keys: Vec<Key>,
}

impl Keyring {
    pub fn new(purpose: KeyPurpose, keys: Vec<Key>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        for (i, k) in keys.iter().enumerate() {
            if k.purpose != purpose {
                return Err(KeyError::WrongPurpose {
                    expected: purpose,
                    found: k.purpose,
                });
            }
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(KeyError::DuplicateKid(k.kid));
            }
        }
        Ok(Keyring { purpose, keys })
    }

    /// Parses keys separated by commas or white space (a worker secret, or several key files).
    pub fn parse(purpose: KeyPurpose, text: &str) -> Result<Self, KeyError> {
        let keys = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(Key::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Keyring::new(purpose, keys)
    }

    pub fn purpose(&self) -> KeyPurpose {
        self.purpose
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn get(&self, kid: u16) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The key new material is made with: the last one listed (append a key to rotate).
    pub fn current(&self) -> &Key {
        self.keys.last().expect("a keyring is never empty")
    }
}

/// Lower-case hex, for signatures in headers and for logs.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// Decodes lower- or upper-case hex; `None` on odd length or a non-hex character.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    t.chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn text_round_trip_and_redacted_debug() {
        let k = Key::new(KeyPurpose::Qr, 7, [9; 32]);
        let t = k.to_text();
        assert!(t.starts_with("zspk1:qr:7:"));
        assert_eq!(Key::parse(&t).unwrap(), k);
        assert_eq!(format!("{k:?}"), "Key(qr:7:…)");
    }

    #[test]
    fn malformed_keys_say_what_is_wrong() {
        let good = Key::new(KeyPurpose::Qr, 7, [9; 32]).to_text();
        for (bad, want) in [
            ("", "zspk1"),
            ("zspk2:qr:7:AAAA", "zspk1"),
            ("zspk1:mail:7:AAAA", "purpose"),
            ("zspk1:qr:-1:AAAA", "key id"),
            ("zspk1:qr:70000:AAAA", "key id"),
            ("zspk1:qr:7:AAAA", "32 bytes"),
            (&format!("{good}:x"), "extra"),
        ] {
            let e = Key::parse(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad:?} gave {e:?}");
        }
    }

    #[test]
    fn keyring_rules() {
        let a = Key::new(KeyPurpose::Qr, 1, [1; 32]);
        let b = Key::new(KeyPurpose::Qr, 2, [2; 32]);
        let text = format!("{}, {}\n", a.to_text(), b.to_text());
        let ring = Keyring::parse(KeyPurpose::Qr, &text).unwrap();
        assert_eq!(ring.get(1), Some(&a));
        assert_eq!(ring.current(), &b);
        assert!(ring.get(3).is_none());
        assert_eq!(
            Keyring::parse(KeyPurpose::Challenge, &text).unwrap_err(),
            KeyError::WrongPurpose {
                expected: KeyPurpose::Challenge,
                found: KeyPurpose::Qr
            }
        );
        let dup = format!("{} {}", a.to_text(), a.to_text());
        assert_eq!(
            Keyring::parse(KeyPurpose::Qr, &dup).unwrap_err(),
            KeyError::DuplicateKid(1)
        );
        assert_eq!(
            Keyring::parse(KeyPurpose::Qr, " \n").unwrap_err(),
            KeyError::Empty
        );
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 0xAB, 0xFF]), "00abff");
        assert_eq!(unhex("00abFF").unwrap(), vec![0, 0xAB, 0xFF]);
        assert!(unhex("0").is_none());
        assert!(unhex("zz").is_none());
    }
}
