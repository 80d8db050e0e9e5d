//! What the page posts to the edge: `POST /api/rate`, `Content-Type: application/json`.
//!
//! ```json
//! {"v":1,"code":"<QR segment>","challenge":"<challenge>","pow":1234,
//!  "id":"<idempotency key>","level":"dissatisfied","tags":[213],
//!  "tag_version":2,"matter":null,"comment":"…","phone":"13812345678","consent":true,"website":""}
//! ```
//! `website` is a honeypot: hidden from people, it must arrive empty. Unknown fields are refused,
//! so a typo in an integration fails loudly instead of dropping data. `device` (a device id of
//! the page's own) is still read if a page from before the edge named devices sends it, and
//! then ignored: the device is the edge's cookie, bound into the challenge.

use crate::Coded;
use crate::jsonw;
#[cfg(feature = "json")]
use crate::rating::Level;
use crate::rating::{Id128, RatingInput};
use std::fmt::{self, Write};

pub const SUBMISSION_VERSION: u8 = 1;
/// What a hall tablet's rating names as its `code` when its staff member armed it ("请评价");
/// armed by the queue system it names the 办件's link, `l/<token>`.
pub const ARMED_BY_STAFF: &str = "kiosk";
/// The largest body the edge reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub code: String,
    pub challenge: String,
    pub pow: u32,
    pub id: Id128,
    /// Not sent by today's page; ignored by the edge (see the module's note).
    pub device: Option<Id128>,
    pub rating: RatingInput,
    pub website: String,
}

impl Submission {
    pub fn to_json(&self) -> String {
        let r = &self.rating;
        let mut o = String::with_capacity(512 + r.comment.len());
        o.push('{');
        jsonw::key(&mut o, "v");
        let _ = write!(o, "{SUBMISSION_VERSION}");
        jsonw::key(&mut o, "code");
        jsonw::string(&mut o, &self.code);
        jsonw::key(&mut o, "challenge");
        jsonw::string(&mut o, &self.challenge);
        jsonw::key(&mut o, "pow");
        let _ = write!(o, "{}", self.pow);
        jsonw::key(&mut o, "id");
        jsonw::string(&mut o, &self.id.to_text());
        if let Some(d) = self.device {
            jsonw::key(&mut o, "device");
            jsonw::string(&mut o, &d.to_text());
        }
        jsonw::key(&mut o, "level");
        jsonw::string(&mut o, r.level.as_str());
        jsonw::key(&mut o, "tags");
        o.push('[');
        for (i, t) in r.tags.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(o, "{t}");
        }
        o.push(']');
        jsonw::key(&mut o, "tag_version");
        let _ = write!(o, "{}", r.tag_version);
        jsonw::key(&mut o, "matter");
        jsonw::opt_string(&mut o, r.matter.as_deref());
        jsonw::key(&mut o, "comment");
        jsonw::string(&mut o, &r.comment);
        jsonw::key(&mut o, "phone");
        jsonw::opt_string(&mut o, r.phone.as_deref());
        jsonw::key(&mut o, "consent");
        o.push_str(if r.consent { "true" } else { "false" });
        jsonw::key(&mut o, "website");
        jsonw::string(&mut o, &self.website);
        o.push('}');
        o
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionError {
    TooLarge,
    NotUtf8,
    /// Not JSON of the expected shape; the text says where (line, column) and what.
    Malformed(String),
    UnsupportedVersion(u64),
    /// A field has the right type but an invalid value.
    BadField(&'static str),
}

impl Coded for SubmissionError {
    fn code(&self) -> &'static str {
        match self {
            SubmissionError::TooLarge => "request.too_large",
            SubmissionError::NotUtf8 => "request.not_utf8",
            SubmissionError::Malformed(_) => "request.malformed",
            SubmissionError::UnsupportedVersion(_) => "request.version",
            SubmissionError::BadField(_) => "request.bad_field",
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            SubmissionError::TooLarge => "提交的内容过长，请删减后重试",
            SubmissionError::UnsupportedVersion(_) => "页面版本已更新，请刷新页面后重新评价",
            _ => "提交的内容格式有误，请刷新页面后重试",
        }
    }
    fn message_en(&self) -> &'static str {
        match self {
            SubmissionError::TooLarge => "the request body is larger than 16 KB",
            SubmissionError::NotUtf8 => "the request body is not UTF-8",
            SubmissionError::Malformed(_) => "the request body is not a valid rating submission",
            SubmissionError::UnsupportedVersion(_) => "unsupported submission version",
            SubmissionError::BadField(_) => "a field has an invalid value",
        }
    }
}

impl fmt::Display for SubmissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmissionError::Malformed(m) => {
                write!(f, "{} ({}): {m}", self.message_en(), self.code())
            }
            SubmissionError::BadField(n) => {
                write!(f, "{} ({}): {n}", self.message_en(), self.code())
            }
            SubmissionError::UnsupportedVersion(v) => {
                write!(f, "{} ({}): {v}", self.message_en(), self.code())
            }
            _ => write!(f, "{} ({})", self.message_en(), self.code()),
        }
    }
}

impl std::error::Error for SubmissionError {}

#[cfg(feature = "json")]
mod parse {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Version {
        v: u64,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Dto {
        #[allow(dead_code)]
        v: u64,
        code: String,
        challenge: String,
        pow: u32,
        id: String,
        #[serde(default)]
        device: Option<String>,
        level: String,
        #[serde(default)]
        tags: Vec<u16>,
        tag_version: u16,
        #[serde(default)]
        matter: Option<String>,
        #[serde(default)]
        comment: String,
        #[serde(default)]
        phone: Option<String>,
        #[serde(default)]
        consent: bool,
        #[serde(default)]
        website: String,
    }

    impl Submission {
        /// Parses a request body. Never panics; every error says what is wrong.
        pub fn from_json(body: &[u8]) -> Result<Submission, SubmissionError> {
            if body.len() > MAX_BODY_BYTES {
                return Err(SubmissionError::TooLarge);
            }
            let text = std::str::from_utf8(body).map_err(|_| SubmissionError::NotUtf8)?;
            match serde_json::from_str::<Version>(text) {
                Ok(Version {
                    v: SUBMISSION_VERSION_U64,
                }) => {}
                Ok(Version { v }) => return Err(SubmissionError::UnsupportedVersion(v)),
                Err(e) => return Err(SubmissionError::Malformed(e.to_string())),
            }
            let d: Dto = serde_json::from_str(text)
                .map_err(|e| SubmissionError::Malformed(e.to_string()))?;
            Ok(Submission {
                code: d.code,
                challenge: d.challenge,
                pow: d.pow,
                id: Id128::parse(&d.id).ok_or(SubmissionError::BadField("id"))?,
                device: d
                    .device
                    .map(|t| Id128::parse(&t).ok_or(SubmissionError::BadField("device")))
                    .transpose()?,
                rating: RatingInput {
                    level: Level::parse(&d.level).ok_or(SubmissionError::BadField("level"))?,
                    tags: d.tags,
                    tag_version: d.tag_version,
                    matter: d.matter,
                    comment: d.comment,
                    phone: d.phone,
                    consent: d.consent,
                },
                website: d.website,
            })
        }
    }

    const SUBMISSION_VERSION_U64: u64 = SUBMISSION_VERSION as u64;
}

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::*;
    use crate::rating::TAG_CONTENT_VERSION;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sample() -> Submission {
        Submission {
            code: "ABC".into(),
            challenge: "DEF".into(),
            pow: 4_000_000_000,
            id: Id128([1; 16]),
            device: None,
            rating: RatingInput {
                level: Level::Dissatisfied,
                tags: vec![213, 214],
                tag_version: TAG_CONTENT_VERSION,
                matter: Some("M-1".into()),
                comment: "等了\"两个\"小时</script>\n'; DROP TABLE ratings;--".into(),
                phone: Some("13812345678".into()),
                consent: true,
            },
            website: String::new(),
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let j = s.to_json();
        assert!(!j.contains("</script>"));
        assert_eq!(Submission::from_json(j.as_bytes()).unwrap(), s);
        let mut n = sample();
        n.rating.matter = None;
        n.rating.phone = None;
        n.rating.tags.clear();
        assert_eq!(Submission::from_json(n.to_json().as_bytes()).unwrap(), n);
    }

    #[test]
    fn bad_bodies_say_what() {
        let e = |b: &[u8]| Submission::from_json(b).unwrap_err();
        assert_eq!(
            e(&vec![b' '; MAX_BODY_BYTES + 1]),
            SubmissionError::TooLarge
        );
        assert_eq!(e(b"{\"v\":1,\xff}"), SubmissionError::NotUtf8);
        assert!(matches!(e(b"{\"v\":1,"), SubmissionError::Malformed(m) if m.contains("line 1")));
        assert!(matches!(e(b"[]"), SubmissionError::Malformed(_)));
        assert_eq!(e(br#"{"v":2}"#), SubmissionError::UnsupportedVersion(2));
        let j = sample().to_json();
        let extra = j.replacen("{", "{\"admin\":true,", 1);
        assert!(
            matches!(e(extra.as_bytes()), SubmissionError::Malformed(m) if m.contains("admin"))
        );
        let lvl = j.replace("\"dissatisfied\"", "\"great\"");
        assert_eq!(e(lvl.as_bytes()), SubmissionError::BadField("level"));
        let id = j.replace(&Id128([1; 16]).to_text(), "short");
        assert_eq!(e(id.as_bytes()), SubmissionError::BadField("id"));
        let neg = j.replace("4000000000", "-1");
        assert!(
            matches!(e(neg.as_bytes()), SubmissionError::Malformed(m) if m.contains("pow") || m.contains("-1"))
        );
    }
}
