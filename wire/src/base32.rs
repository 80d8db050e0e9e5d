//! RFC 4648 base32 (alphabet `A–Z 2–7`), without padding.
//!
//! Upper case is what we print: it is exactly the QR alphanumeric alphabet, so a QR code can carry
//! it at 5.5 bits per character. Decoding also accepts lower case (some scanners fold URLs), and
//! rejects anything else, including non-zero trailing bits, so every byte string has exactly one
//! canonical text form.

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Length of the text form of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    (n * 8).div_ceil(5)
}

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Why a text is not base32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base32Error {
    /// The character at this byte offset is outside the alphabet.
    BadChar(usize),
    /// The length cannot come from whole bytes, or the unused trailing bits are not zero.
    BadLength,
}

pub fn decode(text: &str) -> Result<Vec<u8>, Base32Error> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for (i, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return Err(Base32Error::BadChar(i)),
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be fewer than 5 (else a whole character was padding) and all zero.
    if bits >= 5 || acc != 0 {
        return Err(Base32Error::BadLength);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn rfc4648_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(encode(raw.as_bytes()), enc);
            assert_eq!(decode(enc).unwrap(), raw.as_bytes());
            assert_eq!(decode(&enc.to_lowercase()).unwrap(), raw.as_bytes());
        }
    }

    #[test]
    fn rejects_non_canonical() {
        assert_eq!(decode("MZ"), Err(Base32Error::BadLength)); // trailing bits not zero
        assert_eq!(decode("M"), Err(Base32Error::BadLength));
        assert_eq!(decode("MZX"), Err(Base32Error::BadLength));
        assert_eq!(decode("MY="), Err(Base32Error::BadChar(2)));
        assert_eq!(decode("M1"), Err(Base32Error::BadChar(1)));
        assert_eq!(decode("中"), Err(Base32Error::BadChar(0)));
    }

    #[test]
    fn round_trips_every_length() {
        let data: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
        for n in 0..data.len() {
            let e = encode(&data[..n]);
            assert_eq!(e.len(), encoded_len(n));
            assert_eq!(decode(&e).unwrap(), &data[..n]);
        }
    }
}
