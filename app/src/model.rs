//! The page's rules as plain types, tested natively: what a citizen has chosen, what stops a
//! submission, the receipt kept on the device, the retry schedule and the words on screen.

use wire::Coded;
use wire::rating::{COMMENT_MAX_CHARS, Id128, Level, RatingInput, TAG_CONTENT_VERSION};
use wire::submission::Submission;

pub use wire::text::{Bilingual as T, Lang};

// The page's own words; those the edge's plain pages share are in `wire::text`.
pub const REASONS: T = T("评价原因（可多选）", "Reasons (choose any)");
pub const REASONS_BAD: T = T("评价原因（至少选一项）", "Reasons (choose at least one)");
pub const SUBMITTING: T = T("正在提交…", "Sending…");
pub const ALREADY: T = T(
    "您今天已评价过该窗口。如需修改，可重新选择后提交（追评）。",
    "You already rated this window today. Choose again and submit to amend it.",
);
pub const AMEND: T = T("修改评价（追评）", "Amend my rating");
pub const OFFLINE: T = T(
    "网络连接不稳定，评价尚未提交成功。您填写的内容已保留，正在自动重试…",
    "The network is unstable and the rating has not been sent yet. What you entered is kept; retrying…",
);
pub const RETRY_NOW: T = T("立即重试", "Retry now");
pub const LARGE: T = T("大字模式", "Large text");
pub const LARGE_OFF: T = T("标准字号", "Normal text");
pub const COUNTER: T = T("字", " characters");
pub const RELOAD: T = T(
    "重新打开页面（已填写的内容会保留）",
    "Reload the page (what you entered is kept)",
);

/// What the citizen has chosen so far. Kept in the tab's session storage on every change, so a
/// reload or a failed submission loses nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub level: Option<Level>,
    pub tags: Vec<u16>,
    pub matter: String,
    pub comment: String,
    pub phone: String,
    pub consent: bool,
}

impl Draft {
    /// Choosing a level keeps only the reasons that belong to it.
    pub fn choose_level(&mut self, l: Level) {
        self.level = Some(l);
        self.tags.retain(|c| l.tag_codes().contains(c));
        if !l.is_bad() {
            self.phone.clear();
            self.consent = false;
        }
    }

    pub fn toggle_tag(&mut self, code: u16) {
        let Some(l) = self.level else { return };
        if !l.tag_codes().contains(&code) {
            return;
        }
        if let Some(i) = self.tags.iter().position(|c| *c == code) {
            self.tags.remove(i);
        } else {
            self.tags.push(code);
        }
    }

    pub fn comment_len(&self) -> usize {
        self.comment.chars().count()
    }

    pub fn is_bad(&self) -> bool {
        self.level.is_some_and(Level::is_bad)
    }

    pub fn input(&self) -> Option<RatingInput> {
        Some(RatingInput {
            level: self.level?,
            tags: self.tags.clone(),
            tag_version: TAG_CONTENT_VERSION,
            matter: Some(self.matter.clone()).filter(|m| !m.is_empty()),
            comment: self.comment.clone(),
            phone: Some(self.phone.clone()).filter(|p| !p.trim().is_empty()),
            consent: self.consent,
        })
    }

    /// Why it cannot be sent yet, with the field it concerns (the same rules the edge applies).
    pub fn problem(&self, lang: Lang) -> Option<(&'static str, &'static str)> {
        let Some(input) = self.input() else {
            return Some((
                "level",
                T("请先选择满意程度。", "Please choose a level first.").get(lang),
            ));
        };
        if self.comment_len() > COMMENT_MAX_CHARS {
            return Some((
                "comment",
                T(
                    "留言最多500字。",
                    "The comment is limited to 500 characters.",
                )
                .get(lang),
            ));
        }
        input
            .validate()
            .err()
            .map(|e| (e.field().as_str(), e.message(lang)))
    }

    /// A compact line for session storage: `v1|level|tags|matter|consent|phone|comment`.
    pub fn to_storage(&self) -> String {
        let tags: Vec<String> = self.tags.iter().map(u16::to_string).collect();
        format!(
            "v1|{}|{}|{}|{}|{}|{}",
            self.level.map(Level::as_str).unwrap_or(""),
            tags.join(","),
            self.matter.replace('|', ""),
            u8::from(self.consent),
            self.phone.replace('|', ""),
            self.comment
        )
    }

    pub fn from_storage(s: &str) -> Option<Draft> {
        let mut p = s.splitn(7, '|');
        if p.next()? != "v1" {
            return None;
        }
        let level = Level::parse(p.next()?);
        let tags = p
            .next()?
            .split(',')
            .filter_map(|t| t.parse().ok())
            .collect();
        let matter = p.next()?.to_owned();
        let consent = p.next()? == "1";
        let phone = p.next()?.to_owned();
        let comment = p.next()?.to_owned();
        let mut d = Draft {
            level: None,
            tags,
            matter,
            comment,
            phone,
            consent,
        };
        if let Some(l) = level {
            d.choose_level(l);
        } else {
            d.tags.clear();
        }
        Some(d)
    }
}

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
}

impl Receipt {
    pub fn to_storage(&self) -> String {
        format!(
            "v1|{}|{}|{}|{}|{}",
            self.code,
            self.id,
            self.day,
            self.level.as_str(),
            self.assess_number
        )
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
#[allow(clippy::too_many_arguments)]
pub fn submission_json(
    code: &str,
    challenge: &str,
    pow: u32,
    id: Id128,
    device: Id128,
    input: RatingInput,
) -> String {
    Submission {
        code: code.to_owned(),
        challenge: challenge.to_owned(),
        pow,
        id,
        device,
        rating: input,
        website: String::new(),
    }
    .to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_keeps_only_its_tags_and_bad_needs_one() {
        let mut d = Draft::default();
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "level");
        d.choose_level(Level::VerySatisfied);
        d.toggle_tag(510);
        d.toggle_tag(207); // another level's tag: ignored
        assert_eq!(d.tags, vec![510]);
        assert!(d.problem(Lang::Zh).is_none());
        d.choose_level(Level::Dissatisfied);
        assert!(d.tags.is_empty());
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "tags");
        d.toggle_tag(207);
        d.toggle_tag(213);
        d.toggle_tag(207);
        assert_eq!(d.tags, vec![213]);
        assert!(d.problem(Lang::En).is_none());
    }

    #[test]
    fn phone_needs_consent_and_only_for_bad() {
        let mut d = Draft::default();
        d.choose_level(Level::VeryDissatisfied);
        d.toggle_tag(115);
        d.phone = "138 0013 8000".into();
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "phone");
        d.consent = true;
        assert!(d.problem(Lang::Zh).is_none());
        d.phone = "12345".into();
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "phone");
        d.phone = "13800138000".into();
        d.choose_level(Level::Satisfied);
        assert!(
            d.phone.is_empty() && !d.consent,
            "a good rating drops the phone"
        );
    }

    #[test]
    fn comment_limit_counts_characters_not_bytes() {
        let mut d = Draft::default();
        d.choose_level(Level::Satisfied);
        d.comment = "好".repeat(500);
        assert!(d.problem(Lang::Zh).is_none());
        d.comment.push('好');
        assert_eq!(d.problem(Lang::Zh).unwrap().0, "comment");
    }

    #[test]
    fn draft_and_receipt_survive_storage() {
        let mut d = Draft::default();
        d.choose_level(Level::Dissatisfied);
        d.toggle_tag(214);
        d.matter = "M-1".into();
        d.comment = "排队|两小时\n太久".into();
        d.phone = "13800138000".into();
        d.consent = true;
        assert_eq!(Draft::from_storage(&d.to_storage()), Some(d));
        assert_eq!(Draft::from_storage("v0|x"), None);
        assert_eq!(Draft::from_storage("garbage"), None);

        let r = Receipt {
            code: "CODE".into(),
            id: "ID".into(),
            day: "2026-11-22".into(),
            level: Level::Satisfied,
            assess_number: 1,
        };
        assert_eq!(Receipt::from_storage(&r.to_storage()), Some(r.clone()));
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
        let j = submission_json(
            "C",
            "H",
            7,
            Id128([1; 16]),
            Id128([2; 16]),
            d.input().unwrap(),
        );
        assert!(j.contains("\"level\":\"very_satisfied\""));
        assert!(j.contains("\"tags\":[517]"));
        assert!(!j.contains("</script>"));
    }
}
