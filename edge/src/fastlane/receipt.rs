//! A 差评's status token (回执): 60 random bits as 12 base32 letters, minted with the rating on
//! the citizen's path and given on the thank-you page; storage keeps its SHA-256, never the
//! token. The status pages that read it are `public::status`.

use crate::sql::{Stmt, stmt};

pub const TOKEN_LEN: usize = 12;

/// A token from 8 random bytes: 12 base32 letters (60 bits).
/// A submission's status token: its code and idempotency key under the edge's own key, so the
/// same submission (a retry, a replay) always has the same one and nobody else can make it.
pub fn token_for(secret: &[u8], code: wire::qr::CodeId, submission: wire::rating::Id128) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::new()
        .chain_update(b"zsp-receipt-v1")
        .chain_update(secret)
        .chain_update(code.to_text().as_bytes())
        .chain_update(submission.0)
        .finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    new_token(b)
}

pub fn new_token(random: [u8; 8]) -> String {
    wire::base32::encode(&random)[..TOKEN_LEN].to_owned()
}

/// What a citizen typed or the URL holds, as a token: case, dashes and spaces ignored, and the
/// look-alikes 0, 1 and 8 read as O, I and B.
pub fn normalize(s: &str) -> Option<String> {
    let t: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{3000}'))
        .map(|c| match c.to_ascii_uppercase() {
            '0' => 'O',
            '1' => 'I',
            '8' => 'B',
            c => c,
        })
        .collect();
    crate::access::capability(&t, TOKEN_LEN)?;
    Some(t)
}

pub fn digest(token: &str) -> String {
    crate::access::digest(token)
}

/// Part of a 差评's submission, after its case statements: the token's digest, for the rating
/// of this rated visit (its case, once it has one: a held rating has none until released).
pub fn add(token: &str, code: &str, device: &str, day: i64, now: i64) -> Stmt {
    stmt(
        "INSERT INTO receipts (digest, rating, created_at) SELECT ?1, id, ?5 FROM ratings \
         WHERE code = ?2 AND device = ?3 AND day = ?4",
        vec![
            digest(token).into(),
            code.into(),
            device.into(),
            day.into(),
            now.into(),
        ],
    )
}

/// Links of cases closed longer ago than `keep_secs` go (the alarm's retention run), and links
/// whose rating is gone (a rejected one, past retention).
pub fn prune(now: i64, keep_secs: i64) -> Stmt {
    stmt(
        "DELETE FROM receipts WHERE rating IN (SELECT rating FROM cases WHERE closed_at IS NOT NULL AND closed_at <= ?1) \
         OR rating NOT IN (SELECT id FROM ratings) AND rating NOT IN (SELECT rating FROM cases)",
        vec![(now - keep_secs).into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_typable_and_normalised() {
        let t = new_token([0xA5; 8]);
        assert_eq!(t.len(), TOKEN_LEN);
        assert_eq!(
            normalize(&wire::page::receipt_code(&t).to_lowercase()),
            Some(t.clone())
        );
        assert_eq!(normalize("abcd efgh jk1m").as_deref(), Some("ABCDEFGHJKIM"));
        assert_eq!(normalize("ABCD-EFGH-JKL"), None);
        assert_eq!(normalize("ABCD-EFGH-JKL9"), None);
        assert_ne!(digest(&t), t);
    }
}
