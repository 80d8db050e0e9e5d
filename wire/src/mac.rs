//! HMAC-SHA256 with domain separation: every use of a key names its purpose and format version
//! first, so a tag made for one format can never be replayed as a tag of another.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn keyed(secret: &[u8], domain: &str, parts: &[&[u8]]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    // Length-prefixed domain, then the parts. Callers pass fixed-size parts or length-prefix them.
    mac.update(&[domain.len() as u8]);
    mac.update(domain.as_bytes());
    for p in parts {
        mac.update(p);
    }
    mac
}

/// The full 32-byte tag; callers truncate where a format says so.
pub fn tag(secret: &[u8], domain: &str, parts: &[&[u8]]) -> [u8; 32] {
    keyed(secret, domain, parts).finalize().into_bytes().into()
}

/// Plain HMAC-SHA256 of one message, for a third party's format that defines its own signing
/// (钉钉's robot); our own formats use [`tag`], with its domain.
pub fn plain(secret: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time check of a whole [`plain`] tag.
pub fn verify_plain(secret: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(message);
    tag.len() == 32 && mac.verify_slice(tag).is_ok()
}

/// Constant-time check of a (possibly truncated, left-most bytes kept) tag.
pub fn verify(secret: &[u8], domain: &str, parts: &[&[u8]], tag: &[u8]) -> bool {
    if tag.is_empty() || tag.len() > 32 {
        return false;
    }
    keyed(secret, domain, parts)
        .verify_truncated_left(tag)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn rfc4231_case_2_without_domain_framing() {
        // Sanity check of the primitive itself against RFC 4231 test case 2.
        let mut m = HmacSha256::new_from_slice(b"Jefe").unwrap();
        m.update(b"what do ya want for nothing?");
        let out = m.finalize().into_bytes();
        assert_eq!(
            crate::key::hex(&out),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn domains_separate_and_truncation_verifies() {
        let a = tag(b"k", "a", &[b"x"]);
        let b = tag(b"k", "b", &[b"x"]);
        assert_ne!(a, b);
        assert!(verify(b"k", "a", &[b"x"], &a[..12]));
        assert!(!verify(b"k", "b", &[b"x"], &a[..12]));
        assert!(!verify(b"k", "a", &[b"x"], &[]));
        let mut bad = a;
        bad[11] ^= 1;
        assert!(!verify(b"k", "a", &[b"x"], &bad[..12]));
    }
}
