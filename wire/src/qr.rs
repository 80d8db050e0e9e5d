//! The printed QR payload.
//!
//! Binary layout, version 1 (27 bytes):
//!
//! | bytes  | field                                                          |
//! |--------|----------------------------------------------------------------|
//! | 0      | format version = 1                                             |
//! | 1..3   | key id, big-endian u16 (each issuing authority has its own)    |
//! | 3..5   | issue day, big-endian u16 days since 1970-01-01 (CST)          |
//! | 5..10  | window ref (hash of region code, hall, window number)          |
//! | 10..15 | staff ref (hash of region code, 工号); all zero = the window   |
//! | 15..27 | HMAC-SHA256 over bytes 0..15, domain `zsp-qr-v1`, first 96 bits |
//!
//! In the URL: the lower-case base (`https://HOST/`) then 44 upper-case base32 characters, so the
//! QR code is one byte segment plus one alphanumeric segment: version 4 at level M for a 26-byte
//! host. The refs are derived from the roster's identity columns, so regenerating from an updated
//! roster gives the same payload for an unchanged row (with the same key and issue day).

use crate::key::{Key, KeyPurpose, Keyring};
use crate::time::Day;
use crate::{Coded, base32, mac};
use sha2::{Digest, Sha256};
use std::fmt;

pub const FORMAT_VERSION: u8 = 1;
pub const REF_LEN: usize = 5;
pub const TAG_LEN: usize = 12;
const SIGNED_LEN: usize = 1 + 2 + 2 + REF_LEN * 2;
pub const PAYLOAD_LEN: usize = SIGNED_LEN + TAG_LEN;
/// Characters of the base32 segment in the URL.
pub const SEGMENT_LEN: usize = base32::encoded_len(PAYLOAD_LEN);
const DOMAIN: &str = "zsp-qr-v1";

fn derive_ref(domain: &[u8], fields: &[&str]) -> [u8; REF_LEN] {
    let mut h = Sha256::new();
    h.update(domain);
    for f in fields {
        // Length-prefixed so ("ab","c") and ("a","bc") differ.
        h.update((f.len() as u32).to_be_bytes());
        h.update(f.as_bytes());
    }
    let d = h.finalize();
    let mut r = [0u8; REF_LEN];
    r.copy_from_slice(&d[..REF_LEN]);
    r
}

/// A service window: region code, hall and window number (the window unit may change behind it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowRef(pub [u8; REF_LEN]);

impl WindowRef {
    /// From the roster's normalised identity columns (qr-gen trims and normalises them first).
    pub fn derive(region_code: &str, hall: &str, window: &str) -> Self {
        WindowRef(derive_ref(b"zsp-window-v1", &[region_code, hall, window]))
    }
}

/// A staff member: region code and 工号. Codes of one person at several windows share it, which is
/// what revoking "every code of a staff member" keys on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StaffRef(pub [u8; REF_LEN]);

impl StaffRef {
    pub fn derive(region_code: &str, staff_id: &str) -> Self {
        let mut r = derive_ref(b"zsp-staff-v1", &[region_code, staff_id]);
        if r == [0; REF_LEN] {
            r[REF_LEN - 1] = 1; // all zero means "no staff member"
        }
        StaffRef(r)
    }

    /// 8 base32 characters.
    pub fn to_text(self) -> String {
        base32::encode(&self.0)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let b = <[u8; REF_LEN]>::try_from(base32::decode(text.trim()).ok()?).ok()?;
        (b != [0; REF_LEN]).then_some(StaffRef(b))
    }
}

/// What a printed code stands for: a window, and the staff member unless it is a window-level
/// code for rotating staff. Its text form (16 base32 characters) is the code's id everywhere:
/// directory, revocations, ratings, exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeId {
    pub window: WindowRef,
    pub staff: Option<StaffRef>,
}

impl CodeId {
    pub const LEN: usize = REF_LEN * 2;

    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..REF_LEN].copy_from_slice(&self.window.0);
        if let Some(s) = self.staff {
            b[REF_LEN..].copy_from_slice(&s.0);
        }
        b
    }

    pub fn from_bytes(b: &[u8; Self::LEN]) -> Self {
        let mut w = [0u8; REF_LEN];
        let mut s = [0u8; REF_LEN];
        w.copy_from_slice(&b[..REF_LEN]);
        s.copy_from_slice(&b[REF_LEN..]);
        CodeId {
            window: WindowRef(w),
            staff: (s != [0; REF_LEN]).then_some(StaffRef(s)),
        }
    }

    /// 16 upper-case base32 characters.
    pub fn to_text(self) -> String {
        base32::encode(&self.to_bytes())
    }

    /// Printed under the QR for people: `ABCD-EFGH-IJKL-MNOP`.
    pub fn to_display(self) -> String {
        let t = self.to_text();
        format!("{}-{}-{}-{}", &t[0..4], &t[4..8], &t[8..12], &t[12..16])
    }

    /// Accepts the text or the display form, in either case.
    pub fn parse(text: &str) -> Option<Self> {
        let compact: String = text.trim().chars().filter(|&c| c != '-').collect();
        let b = <[u8; Self::LEN]>::try_from(base32::decode(&compact).ok()?).ok()?;
        Some(CodeId::from_bytes(&b))
    }
}

impl fmt::Display for CodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A verified QR payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrPayload {
    pub kid: u16,
    pub issued: Day,
    pub code: CodeId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrError {
    /// Not base32, or not the length of any payload version.
    Malformed,
    UnsupportedVersion(u8),
    UnknownKey(u16),
    /// The authentication tag does not match: forged or altered.
    BadTag,
    Revoked,
}

impl Coded for QrError {
    fn code(&self) -> &'static str {
        match self {
            QrError::Malformed => "qr.malformed",
            QrError::UnsupportedVersion(_) => "qr.version",
            QrError::UnknownKey(_) => "qr.unknown_key",
            QrError::BadTag => "qr.bad_tag",
            QrError::Revoked => "qr.revoked",
        }
    }
    fn message_zh(&self) -> &'static str {
        // The citizen needs one plain answer, whatever the cause.
        crate::text::INVALID_CODE.0
    }
    fn message_en(&self) -> &'static str {
        match self {
            QrError::Malformed => "this is not a rating QR code",
            QrError::UnsupportedVersion(_) => "this QR code has an unsupported format version",
            QrError::UnknownKey(_) => "this QR code was issued with an unknown key",
            QrError::BadTag => "this QR code is not genuine",
            QrError::Revoked => "this QR code has been withdrawn",
        }
    }
}

coded_error!(QrError);

impl QrPayload {
    fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut b = [0u8; SIGNED_LEN];
        b[0] = FORMAT_VERSION;
        b[1..3].copy_from_slice(&self.kid.to_be_bytes());
        b[3..5].copy_from_slice(&self.issued.0.to_be_bytes());
        b[5..15].copy_from_slice(&self.code.to_bytes());
        b
    }

    /// The 27 payload bytes, authenticated with `key` (a QR key; its id is written in).
    pub fn seal_bytes(code: CodeId, issued: Day, key: &Key) -> [u8; PAYLOAD_LEN] {
        debug_assert_eq!(key.purpose, KeyPurpose::Qr);
        let p = QrPayload {
            kid: key.kid,
            issued,
            code,
        };
        let signed = p.signed_bytes();
        let t = mac::tag(&key.secret, DOMAIN, &[&signed]);
        let mut out = [0u8; PAYLOAD_LEN];
        out[..SIGNED_LEN].copy_from_slice(&signed);
        out[SIGNED_LEN..].copy_from_slice(&t[..TAG_LEN]);
        out
    }

    /// The URL path segment: 44 upper-case base32 characters.
    pub fn seal(code: CodeId, issued: Day, key: &Key) -> String {
        base32::encode(&Self::seal_bytes(code, issued, key))
    }

    /// Verifies a path segment (either case). Revocation is checked separately, against the list.
    pub fn open(segment: &str, keys: &Keyring) -> Result<QrPayload, QrError> {
        // Length first: a cheap rejection of anything that cannot be a payload.
        if segment.len() != SEGMENT_LEN {
            return Err(QrError::Malformed);
        }
        let bytes = base32::decode(segment).map_err(|_| QrError::Malformed)?;
        Self::open_bytes(&bytes, keys)
    }

    pub fn open_bytes(bytes: &[u8], keys: &Keyring) -> Result<QrPayload, QrError> {
        match bytes.first() {
            None => return Err(QrError::Malformed),
            Some(&FORMAT_VERSION) => {}
            Some(&v) => return Err(QrError::UnsupportedVersion(v)),
        }
        if bytes.len() != PAYLOAD_LEN {
            return Err(QrError::Malformed);
        }
        let kid = u16::from_be_bytes([bytes[1], bytes[2]]);
        let key = keys
            .get(kid)
            .filter(|k| k.purpose == KeyPurpose::Qr)
            .ok_or(QrError::UnknownKey(kid))?;
        if !mac::verify(
            &key.secret,
            DOMAIN,
            &[&bytes[..SIGNED_LEN]],
            &bytes[SIGNED_LEN..],
        ) {
            return Err(QrError::BadTag);
        }
        let mut code = [0u8; CodeId::LEN];
        code.copy_from_slice(&bytes[5..15]);
        Ok(QrPayload {
            kid,
            issued: Day(u16::from_be_bytes([bytes[3], bytes[4]])),
            code: CodeId::from_bytes(&code),
        })
    }
}

/// The scheme and host a code points at, as printed: lower case, ending in `/`.
///
/// `https://` always, except a loopback host (`127.x.x.x`, `localhost`, `[::1]`) for local runs,
/// which may use plain `http://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrlError(pub &'static str);

impl fmt::Display for BaseUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BaseUrlError {}

impl BaseUrl {
    pub fn parse(text: &str) -> Result<Self, BaseUrlError> {
        let t = text.trim().to_ascii_lowercase();
        let (scheme, rest) = if let Some(r) = t.strip_prefix("https://") {
            ("https", r)
        } else if let Some(r) = t.strip_prefix("http://") {
            ("http", r)
        } else if !t.contains("://") {
            ("https", t.as_str())
        } else {
            return Err(BaseUrlError("the address must start with https://"));
        };
        let host = rest.strip_suffix('/').unwrap_or(rest);
        if host.is_empty() {
            return Err(BaseUrlError("the address has no host name"));
        }
        if host.contains('/') || host.contains('?') || host.contains('#') {
            return Err(BaseUrlError(
                "give only the host (like https://pj.example.gov.cn/), no path",
            ));
        }
        let (name, port) = match host.find(']') {
            Some(end) if host.starts_with('[') => match &host[end + 1..] {
                "" => (&host[..=end], None),
                rest => (&host[..=end], Some(rest.strip_prefix(':').unwrap_or(rest))),
            },
            _ => match host.rsplit_once(':') {
                Some((n, p)) => (n, Some(p)),
                None => (host, None),
            },
        };
        if let Some(p) = port
            && (p.is_empty()
                || !p.bytes().all(|b| b.is_ascii_digit())
                || !matches!(p.parse::<u16>(), Ok(1..)))
        {
            return Err(BaseUrlError("the port must be a number from 1 to 65535"));
        }
        let loopback = name == "localhost"
            || name == "[::1]"
            || name.strip_prefix("127.").is_some_and(|r| {
                let parts: Vec<_> = r.split('.').collect();
                parts.len() == 3 && parts.iter().all(|p| p.parse::<u8>().is_ok())
            });
        if !loopback {
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            };
            if !name.contains('.') || !name.split('.').all(label_ok) {
                return Err(BaseUrlError(
                    "the host name must be a domain like pj.example.gov.cn (letters, digits, - and .)",
                ));
            }
            if scheme == "http" {
                return Err(BaseUrlError(
                    "printed codes must use https:// (plain http:// is only for 127.0.0.1)",
                ));
            }
        }
        Ok(BaseUrl(format!("{scheme}://{host}/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn url(&self, segment: &str) -> String {
        format!("{}{}", self.0, segment)
    }
}

/// One entry of the revocation list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// One code; with a day, only prints issued before it (so the code can be reprinted).
    Code {
        code: CodeId,
        issued_before: Option<Day>,
    },
    /// Every code of a staff member issued before the day (someone left, or a card was lost).
    Staff { staff: StaffRef, issued_before: Day },
}

impl Revocation {
    pub fn applies_to(&self, p: &QrPayload) -> bool {
        match *self {
            Revocation::Code {
                code,
                issued_before,
            } => p.code == code && issued_before.is_none_or(|d| p.issued < d),
            Revocation::Staff {
                staff,
                issued_before,
            } => p.code.staff == Some(staff) && p.issued < issued_before,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    pub entries: Vec<Revocation>,
}

impl Revocations {
    pub fn check(&self, p: &QrPayload) -> Result<(), QrError> {
        if self.entries.iter().any(|r| r.applies_to(p)) {
            Err(QrError::Revoked)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ring() -> (Key, Keyring) {
        let k = Key::new(KeyPurpose::Qr, 3301, [7; 32]);
        (k.clone(), Keyring::new(KeyPurpose::Qr, vec![k]).unwrap())
    }

    fn code() -> CodeId {
        CodeId {
            window: WindowRef::derive("330102", "上城区市民中心", "A12"),
            staff: Some(StaffRef::derive("330102", "SC0042")),
        }
    }

    #[test]
    fn seal_open_round_trip() {
        let (k, ring) = ring();
        let day = Day::parse("2026-11-22").unwrap();
        let seg = QrPayload::seal(code(), day, &k);
        assert_eq!(seg.len(), SEGMENT_LEN);
        assert_eq!(seg.len(), 44);
        assert!(
            seg.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        );
        let p = QrPayload::open(&seg, &ring).unwrap();
        assert_eq!(
            p,
            QrPayload {
                kid: 3301,
                issued: day,
                code: code()
            }
        );
        // Scanners that fold case still work.
        assert_eq!(QrPayload::open(&seg.to_lowercase(), &ring).unwrap(), p);
    }

    #[test]
    fn stable_for_unchanged_rows_and_window_only_codes() {
        let (k, _) = ring();
        let day = Day(20_000);
        assert_eq!(
            QrPayload::seal(code(), day, &k),
            QrPayload::seal(code(), day, &k)
        );
        let w = CodeId {
            window: code().window,
            staff: None,
        };
        assert_eq!(CodeId::from_bytes(&w.to_bytes()), w);
        assert_ne!(w, code());
        assert_ne!(
            WindowRef::derive("330102", "大厅", "1"),
            WindowRef::derive("330102", "大厅1", "")
        );
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let (k, ring) = ring();
        let bytes = QrPayload::seal_bytes(code(), Day(20_000), &k);
        for i in 0..bytes.len() * 8 {
            let mut b = bytes;
            b[i / 8] ^= 1 << (i % 8);
            assert!(QrPayload::open_bytes(&b, &ring).is_err(), "bit {i}");
        }
    }

    #[test]
    fn code_id_text_forms() {
        let c = code();
        assert_eq!(c.to_text().len(), 16);
        assert_eq!(CodeId::parse(&c.to_display()), Some(c));
        assert_eq!(CodeId::parse(&c.to_text().to_lowercase()), Some(c));
        assert_eq!(CodeId::parse("ABC"), None);
        let s = c.staff.unwrap();
        assert_eq!(StaffRef::parse(&s.to_text()), Some(s));
        assert_eq!(StaffRef::parse("AAAAAAAA"), None);
    }

    #[test]
    fn revocation_rules() {
        let p = QrPayload {
            kid: 1,
            issued: Day(100),
            code: code(),
        };
        let r = |e| Revocations { entries: vec![e] }.check(&p);
        assert_eq!(
            r(Revocation::Code {
                code: code(),
                issued_before: None
            }),
            Err(QrError::Revoked)
        );
        assert_eq!(
            r(Revocation::Code {
                code: code(),
                issued_before: Some(Day(100))
            }),
            Ok(())
        );
        assert_eq!(
            r(Revocation::Code {
                code: code(),
                issued_before: Some(Day(101))
            }),
            Err(QrError::Revoked)
        );
        let staff = code().staff.unwrap();
        assert_eq!(
            r(Revocation::Staff {
                staff,
                issued_before: Day(101)
            }),
            Err(QrError::Revoked)
        );
        assert_eq!(
            r(Revocation::Staff {
                staff,
                issued_before: Day(100)
            }),
            Ok(())
        );
        let other = StaffRef::derive("330102", "SC0043");
        assert_eq!(
            r(Revocation::Staff {
                staff: other,
                issued_before: Day(999)
            }),
            Ok(())
        );
    }

    #[test]
    fn base_urls() {
        for (input, want) in [
            ("https://pj.example.gov.cn/", "https://pj.example.gov.cn/"),
            ("HTTPS://PJ.Example.gov.cn", "https://pj.example.gov.cn/"),
            ("pj.example.gov.cn", "https://pj.example.gov.cn/"),
            (
                "https://pj.example.gov.cn:8443/",
                "https://pj.example.gov.cn:8443/",
            ),
            ("http://127.0.0.1:8787/", "http://127.0.0.1:8787/"),
            ("http://localhost:8787", "http://localhost:8787/"),
            ("http://[::1]:8787/", "http://[::1]:8787/"),
        ] {
            assert_eq!(BaseUrl::parse(input).unwrap().as_str(), want, "{input}");
        }
        for (input, why) in [
            ("http://pj.example.gov.cn/", "https"),
            ("ftp://pj.example.gov.cn/", "https"),
            ("https://pj.example.gov.cn/pj/", "no path"),
            ("https://", "no host"),
            ("https://pj_example", "domain"),
            ("https://评价.gov.cn/", "domain"),
            ("https://pj.example.gov.cn:99999/", "port"),
            ("http://127.0.0.1.evil.cn/", "https"),
            ("http://[::1]x/", "port"),
            ("https://pj.example.gov.cn:0/", "port"),
        ] {
            let e = BaseUrl::parse(input).unwrap_err();
            assert!(e.0.contains(why), "{input}: {e}");
        }
    }
}
