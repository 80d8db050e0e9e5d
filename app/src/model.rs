//! The page's own rules as plain types, tested natively: the receipt kept on the device, the retry
//! schedule and the body it sends. What a citizen has chosen and what stops a submission are
//! `wire::draft` (the edge's plain form keeps the same rules); the words are `wire::text`.

use wire::rating::{Id128, Level, RatingInput};
use wire::submission::Submission;

pub use wire::text::Lang;

pub use wire::draft::Draft;

/// Where the tab keeps the draft for a code (session storage).
pub fn draft_key(code: &str) -> String {
    format!("zsp.draft.{code}")
}

/// Where the device keeps the receipt for a code (local storage).
pub fn receipt_key(code: &str) -> String {
    format!("zsp.receipt.{code}")
}

/// Where the device keeps the citizen's 大字模式 choice (local storage): "1" or "0".
pub const LARGE_KEY: &str = "zsp.large";

/// Kept on the device after a successful rating: lets a rescan say 已评价 and offer 追评.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub code: String,
    pub id: String,
    pub day: String,
    pub level: Level,
    pub assess_number: u8,
    /// A 差评's status token (`/s/<token>`), when the edge gave one.
    pub token: Option<String>,
}

impl Receipt {
    pub fn to_storage(&self) -> String {
        let head = format!(
            "{}|{}|{}|{}|{}",
            self.code,
            self.id,
            self.day,
            self.level.as_str(),
            self.assess_number
        );
        match &self.token {
            Some(t) => format!("v2|{head}|{t}"),
            None => format!("v1|{head}"),
        }
    }

    pub fn from_storage(s: &str) -> Option<Receipt> {
        let p: Vec<&str> = s.split('|').collect();
        match p.as_slice() {
            ["v1", code, id, day, level, n] => Some(Receipt {
                code: (*code).to_owned(),
                id: (*id).to_owned(),
                day: (*day).to_owned(),
                level: Level::parse(level)?,
                assess_number: n.parse().ok()?,
                token: None,
            }),
            ["v2", code, id, day, level, n, token] => Some(Receipt {
                code: (*code).to_owned(),
                id: (*id).to_owned(),
                day: (*day).to_owned(),
                level: Level::parse(level)?,
                assess_number: n.parse().ok()?,
                token: Some((*token).to_owned()),
            }),
            _ => None,
        }
    }

    /// Does it stand for today's rating of this code (China Standard Time day)?
    pub fn is_for(&self, code: &str, now_unix: i64) -> bool {
        self.code == code
            && wire::time::Day::from_unix(now_unix).is_some_and(|d| d.to_string() == self.day)
    }
}

/// How a failed send is retried: the same idempotency key, the same challenge, waiting 1, 2, 4,
/// 8, 15, 15 … seconds. Network failures and 5xx retry; a 4xx is an answer, not a failure.
pub fn retry_delay_ms(attempt: u32) -> u32 {
    (1000u32 << attempt.min(4)).min(15_000)
}

pub fn should_retry(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(s) => s >= 500 || s == 408 || s == 425 || s == 429,
    }
}

/// The JSON body sent to `/api/rate`.
pub fn submission_json(
    code: &str,
    challenge: &str,
    pow: u32,
    id: Id128,
    input: RatingInput,
) -> String {
    Submission {
        code: code.to_owned(),
        challenge: challenge.to_owned(),
        pow,
        id,
        device: None,
        rating: input,
        website: String::new(),
    }
    .to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_survives_storage() {
        let r = Receipt {
            code: "CODE".into(),
            id: "ID".into(),
            day: "2026-11-22".into(),
            level: Level::Satisfied,
            assess_number: 1,
            token: None,
        };
        assert_eq!(Receipt::from_storage(&r.to_storage()), Some(r.clone()));
        let bad = Receipt {
            level: Level::Dissatisfied,
            token: Some("KFGQ2RLMYB4D".into()),
            ..r.clone()
        };
        assert_eq!(Receipt::from_storage(&bad.to_storage()), Some(bad));
        assert!(Receipt::from_storage("v1|a|b").is_none());
        // 2026-11-22 12:00 CST
        let noon = wire::time::days_from_civil(2026, 11, 22) * 86_400 + 4 * 3600;
        assert!(r.is_for("CODE", noon));
        assert!(!r.is_for("OTHER", noon));
        assert!(!r.is_for("CODE", noon + 86_400));
    }

    #[test]
    fn retries() {
        assert_eq!(
            (0..7).map(retry_delay_ms).collect::<Vec<_>>(),
            vec![1000, 2000, 4000, 8000, 15000, 15000, 15000]
        );
        assert!(should_retry(None));
        assert!(should_retry(Some(503)));
        assert!(should_retry(Some(425)));
        assert!(!should_retry(Some(409)));
        assert!(!should_retry(Some(422)));
    }

    #[test]
    fn submission_body_is_what_the_edge_reads() {
        let mut d = Draft::default();
        d.choose_level(Level::VerySatisfied);
        d.toggle_tag(517);
        d.comment = "谢谢\"王\"</script>".into();
        let j = submission_json("C", "H", 7, Id128([1; 16]), d.input().unwrap());
        assert!(j.contains("\"level\":\"very_satisfied\""));
        assert!(
            !j.contains("device"),
            "the device is the edge's, not the page's"
        );
        assert!(j.contains("\"tags\":[517]"));
        assert!(!j.contains("</script>"));
    }
}
