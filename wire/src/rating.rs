//! The rating a citizen gives: the five national levels, the national reason tags, and the rules
//! a rating must follow before anyone stores or forwards it.
//!
//! National facts (`shared/spec/haochaping-codes.md`): levels are coded in two opposite
//! directions, so the level is one internal type with an explicit mapping to each.

use crate::Coded;
use crate::base32;
use std::fmt;

/// 评价渠道 (`pf`) of a rating given by scanning a QR code.
pub const CHANNEL_QR: u8 = 3;
/// 评价渠道 4, 政务大厅平板电脑: a hall tablet in kiosk mode.
pub const CHANNEL_HALL_TABLET: u8 = 4;

/// The five national levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    VerySatisfied,
    Satisfied,
    Basic,
    Dissatisfied,
    VeryDissatisfied,
}

impl Level {
    /// Best first, the order the page shows them in.
    pub const ALL: [Level; 5] = [
        Level::VerySatisfied,
        Level::Satisfied,
        Level::Basic,
        Level::Dissatisfied,
        Level::VeryDissatisfied,
    ];

    /// GB/T 39046-2020 A.8 满意度代码: 1 = 非常满意 … 5 = 非常不满意.
    pub fn gbt39046_code(self) -> u8 {
        match self {
            Level::VerySatisfied => 1,
            Level::Satisfied => 2,
            Level::Basic => 3,
            Level::Dissatisfied => 4,
            Level::VeryDissatisfied => 5,
        }
    }

    pub fn from_gbt39046_code(c: u8) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.gbt39046_code() == c)
    }

    /// Provincial interfaces (`satisfaction`, devices, tag prefixes): 5 = 非常满意 … 1 = 非常不满意.
    pub fn provincial_code(self) -> u8 {
        6 - self.gbt39046_code()
    }

    pub fn from_provincial_code(c: u8) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.provincial_code() == c)
    }

    /// 差评: 不满意 and 非常不满意. Every one is called back.
    pub fn is_bad(self) -> bool {
        matches!(self, Level::Dissatisfied | Level::VeryDissatisfied)
    }

    /// The name used in this project's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::VerySatisfied => "very_satisfied",
            Level::Satisfied => "satisfied",
            Level::Basic => "basic",
            Level::Dissatisfied => "dissatisfied",
            Level::VeryDissatisfied => "very_dissatisfied",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Level::VerySatisfied => "非常满意",
            Level::Satisfied => "满意",
            Level::Basic => "基本满意",
            Level::Dissatisfied => "不满意",
            Level::VeryDissatisfied => "非常不满意",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Level::VerySatisfied => "Very satisfied",
            Level::Satisfied => "Satisfied",
            Level::Basic => "Basically satisfied",
            Level::Dissatisfied => "Dissatisfied",
            Level::VeryDissatisfied => "Very dissatisfied",
        }
    }

    /// This level's national reason tags.
    pub fn tags(self) -> &'static [Tag] {
        let start = (5 - usize::from(self.provincial_code())) * 8;
        &TAGS[start..start + 8]
    }

    /// The codes of this level's reason tags, without their words.
    pub fn tag_codes(self) -> &'static [u16] {
        TAG_CODES[5 - usize::from(self.provincial_code())]
    }

    /// The level a reason tag belongs to; `None` for a code not in the current list.
    pub fn of_tag(code: u16) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.tag_codes().contains(&code))
    }
}

/// A national reason tag (测评内容).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub code: u16,
    pub level: Level,
    pub zh: &'static str,
    pub en: &'static str,
}

/// Content version of [`TAGS`]. Version 1 was the older national list (501–509, 401–405, …),
/// now disabled; records carry the version they were made with, and only this one is accepted.
pub const TAG_CONTENT_VERSION: u16 = 2;

macro_rules! tags {
    ($($level:ident: $(($code:literal, $zh:literal, $en:literal)),+;)+) => {
        /// The current national tags, eight per level, best level first. The first digit of a
        /// code is the level in the provincial direction (5 = 非常满意).
        pub static TAGS: &[Tag] = &[$($(Tag { code: $code, level: Level::$level, zh: $zh, en: $en }),+),+];
        /// The same codes without their words, one row per level in the same order: the rules
        /// need only these, so the page's WebAssembly carries no labels (the form has them).
        static TAG_CODES: [&[u16]; 5] = [$(&[$($code),+]),+];
    };
}

tags! {
    VerySatisfied:
        (510, "一窗受理一次办结", "One window, done in one visit"),
        (511, "可以先受理后补材料", "Accepted first, documents later"),
        (512, "不用提交证明", "No certificates needed"),
        (513, "可以全程网上办理", "Fully online"),
        (514, "可以使用手机办理", "Can be done on a phone"),
        (515, "可以就近办理", "Can be done nearby"),
        (516, "无需材料直接办理", "Done without any documents"),
        (517, "服务热情效率高", "Warm and efficient service");
    Satisfied:
        (406, "填写一张表单就可完成申报", "One form was enough"),
        (407, "在线提交材料窗口核验", "Submitted online, checked at the window"),
        (408, "一张清单告知全部申报材料", "One list of all documents"),
        (409, "用告知承诺减免申报材料", "Fewer documents by written commitment"),
        (410, "可以在线预约办理", "Could book online"),
        (411, "跑大厅一次办完", "Done in one trip to the hall"),
        (412, "可以使用自助机办理", "Could use a self-service machine"),
        (413, "服务态度较好", "Good attitude");
    Basic:
        (307, "一次性告知需要补正的材料", "Told all missing documents at once"),
        (308, "提供申报材料样本", "Sample documents provided"),
        (309, "在承诺的时间内办结", "Done within the promised time"),
        (310, "办事指南指引准确", "The guide was accurate"),
        (311, "按办事指南要求的材料即可办理", "The guide's documents were enough"),
        (312, "可以快递送达", "Could be delivered by courier"),
        (313, "跑动次数与承诺的一致", "Trips as promised"),
        (314, "服务态度一般", "Average attitude");
    Dissatisfied:
        (207, "没有提供材料样本", "No sample documents"),
        (208, "没有提供材料清单", "No list of documents"),
        (209, "未在承诺时间内办结", "Not done within the promised time"),
        (210, "同样内容的证明材料被要求多次提交", "Asked for the same proof several times"),
        (211, "承诺网办但无法在线办理", "Promised online, but not possible online"),
        (212, "在线预约办理后到实体大厅重复取号排队", "Booked online, still had to queue again"),
        (213, "窗口人员业务不熟练", "Staff unfamiliar with the procedure"),
        (214, "服务态度生硬", "Curt attitude");
    VeryDissatisfied:
        (108, "在办事指南之外增加新的审批条件", "Conditions beyond the guide were added"),
        (109, "需提供办事指南之外的申报材料", "Documents beyond the guide were required"),
        (110, "无理由超过法定办理时间", "Over the legal time limit without reason"),
        (111, "办事指南提供样本有错", "The guide's samples were wrong"),
        (112, "承诺在线收取申报材料实际无法收取", "Online submission promised but not possible"),
        (113, "多头跑窗口和部门", "Sent between windows and departments"),
        (114, "跑动次数与承诺的不一致", "More trips than promised"),
        (115, "服务态度差效率低", "Poor attitude, low efficiency");
}

pub fn tag(code: u16) -> Option<&'static Tag> {
    TAGS.iter().find(|t| t.code == code)
}

/// What a 差评 was about (核实's classification): only `staff` counts against the staff member
/// rated; the others count for the hall and its unit.
pub const ABOUTS: [(&str, &str); 5] = [
    ("staff", "工作人员"),
    ("process", "流程与材料"),
    ("waiting", "等候与叫号"),
    ("system", "系统与设备"),
    ("policy", "政策"),
];

/// What a 差评 reason usually points at (`shared/spec/assessment.md`, "Learning from ratings"):
/// the staff member (213, 214, 115), the queue (212), the systems (211), the process and its
/// materials (209, 110, 108, 109, 113); `None` for the mixed ones, which a handler's 核实 decides.
pub fn tag_about(code: u16) -> Option<&'static str> {
    match code {
        213 | 214 | 115 => Some("staff"),
        212 => Some("waiting"),
        211 => Some("system"),
        209 | 110 | 108 | 109 | 113 => Some("process"),
        _ => None,
    }
}

/// Whom a 差评 counts against until it is checked, as its reasons suggest: the staff member if
/// any reason points at them, or if none points anywhere (the code rated is theirs); else the
/// first reason's place. `None` for a rating that is not a 差评.
pub fn suggested_about(level: Level, tags: &[u16]) -> Option<&'static str> {
    if !level.is_bad() {
        return None;
    }
    let abouts: Vec<&str> = tags.iter().filter_map(|t| tag_about(*t)).collect();
    Some(if abouts.is_empty() || abouts.contains(&"staff") {
        "staff"
    } else {
        abouts[0]
    })
}

/// Longest comment, in characters (Unicode scalar values), after cleaning.
pub const COMMENT_MAX_CHARS: usize = comment_max_chars!();
/// Longest matter code (事项编码 / 实施编码) accepted.
pub const MATTER_MAX_LEN: usize = 64;

/// Removes what must not reach a database, a CSV or another screen: control characters (a line
/// break is kept, `\r\n` and `\r` become `\n`, a tab becomes a space), bidirectional overrides
/// that can disguise text, and surrounding white space. Markup is kept as plain text: whoever
/// shows a comment escapes it.
pub fn clean_comment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// A mainland mobile number, stored only for a 差评 callback with consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces and hyphens, and a +86 or 86 prefix; the result is 11 digits `1[3-9]…`.
    pub fn parse(raw: &str) -> Option<Phone> {
        let digits: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("86").filter(|d| d.len() == 11))
            .unwrap_or(&digits);
        let b = digits.as_bytes();
        (b.len() == 11
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
            && b.iter().all(u8::is_ascii_digit))
        .then(|| Phone(digits.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`, the only form shown anywhere but to the callback team's upstream.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

/// What a citizen chose, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingInput {
    pub level: Level,
    pub tags: Vec<u16>,
    pub tag_version: u16,
    pub matter: Option<String>,
    pub comment: String,
    pub phone: Option<String>,
    pub consent: bool,
}

/// A rating that follows every rule: safe to store and forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRating {
    pub level: Level,
    /// In the order chosen, no repeats, all of `level`.
    pub tags: Vec<u16>,
    pub tag_version: u16,
    pub matter: Option<String>,
    /// Cleaned by [`clean_comment`], at most [`COMMENT_MAX_CHARS`]. The edge hides the personal
    /// numbers in it ([`crate::mask`]) before it is stored; the page only says that it will (the
    /// rule's string building stays out of the page's module).
    pub comment: String,
    /// Only for 差评, only with consent.
    pub phone: Option<Phone>,
}

/// The form field a rating error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Level,
    Tags,
    Matter,
    Comment,
    Phone,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Level => "level",
            Field::Tags => "tags",
            Field::Matter => "matter",
            Field::Comment => "comment",
            Field::Phone => "phone",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingError {
    /// A 差评 needs at least one reason.
    NoTag,
    UnknownTag(u16),
    /// The tag belongs to another level.
    TagOfOtherLevel(u16),
    DuplicateTag(u16),
    TagVersion(u16),
    CommentTooLong(usize),
    MatterInvalid,
    /// A phone for a rating that is not a 差评.
    PhoneNotAllowed,
    PhoneWithoutConsent,
    PhoneInvalid,
}

impl RatingError {
    pub fn field(self) -> Field {
        match self {
            RatingError::NoTag
            | RatingError::UnknownTag(_)
            | RatingError::TagOfOtherLevel(_)
            | RatingError::DuplicateTag(_)
            | RatingError::TagVersion(_) => Field::Tags,
            RatingError::CommentTooLong(_) => Field::Comment,
            RatingError::MatterInvalid => Field::Matter,
            RatingError::PhoneNotAllowed
            | RatingError::PhoneWithoutConsent
            | RatingError::PhoneInvalid => Field::Phone,
        }
    }
}

impl Coded for RatingError {
    fn code(&self) -> &'static str {
        match self {
            RatingError::NoTag => "rating.no_tag",
            RatingError::UnknownTag(_) => "rating.unknown_tag",
            RatingError::TagOfOtherLevel(_) => "rating.tag_of_other_level",
            RatingError::DuplicateTag(_) => "rating.duplicate_tag",
            RatingError::TagVersion(_) => "rating.tag_version",
            RatingError::CommentTooLong(_) => "rating.comment_too_long",
            RatingError::MatterInvalid => "rating.matter_invalid",
            RatingError::PhoneNotAllowed => "rating.phone_not_allowed",
            RatingError::PhoneWithoutConsent => "rating.phone_without_consent",
            RatingError::PhoneInvalid => "rating.phone_invalid",
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            RatingError::NoTag => "请至少选择一项不满意的原因",
            RatingError::UnknownTag(_) | RatingError::DuplicateTag(_) => "所选原因无效，请重新选择",
            RatingError::TagOfOtherLevel(_) => "所选原因与评价等级不符，请重新选择",
            RatingError::TagVersion(_) => "评价选项已更新，请刷新页面后重新评价",
            RatingError::CommentTooLong(_) => {
                concat!("文字评价不能超过", comment_max_chars!(), "字")
            }
            RatingError::MatterInvalid => "所选事项无效，请重新选择",
            RatingError::PhoneNotAllowed => "只有不满意的评价才需要留下电话",
            RatingError::PhoneWithoutConsent => "留下电话前，请勾选同意工作人员回访",
            RatingError::PhoneInvalid => "请填写11位手机号码",
        }
    }
    fn message_en(&self) -> &'static str {
        match self {
            RatingError::NoTag => "choose at least one reason",
            RatingError::UnknownTag(_) => "unknown reason code",
            RatingError::DuplicateTag(_) => "a reason is listed twice",
            RatingError::TagOfOtherLevel(_) => "a reason belongs to another level",
            RatingError::TagVersion(_) => "the reasons have been updated; reload the page",
            RatingError::CommentTooLong(_) => {
                concat!(
                    "the comment is longer than ",
                    comment_max_chars!(),
                    " characters"
                )
            }
            RatingError::MatterInvalid => "the matter code is not valid",
            RatingError::PhoneNotAllowed => "a phone number is only taken for a bad review",
            RatingError::PhoneWithoutConsent => "a phone number needs the callback consent",
            RatingError::PhoneInvalid => "the phone number is not an 11-digit mainland mobile",
        }
    }
}

impl fmt::Display for RatingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.field().as_str(),
            self.message_en(),
            self.code()
        )
    }
}

impl std::error::Error for RatingError {}

/// Is this a matter code we accept: ASCII letters, digits, `-`, `_`, `.`, at most 64?
pub fn matter_code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MATTER_MAX_LEN
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl RatingInput {
    /// A level with these reasons under today's tag list, and nothing else filled in.
    pub fn new(level: Level, tags: &[u16]) -> RatingInput {
        RatingInput {
            level,
            tags: tags.to_vec(),
            tag_version: TAG_CONTENT_VERSION,
            matter: None,
            comment: String::new(),
            phone: None,
            consent: false,
        }
    }

    /// Checks every rule, in the order a person fills the form in; the first broken rule is
    /// returned with the field it concerns.
    pub fn validate(&self) -> Result<ValidRating, RatingError> {
        if self.tag_version != TAG_CONTENT_VERSION {
            return Err(RatingError::TagVersion(self.tag_version));
        }
        for (i, &code) in self.tags.iter().enumerate() {
            let level = Level::of_tag(code).ok_or(RatingError::UnknownTag(code))?;
            if level != self.level {
                return Err(RatingError::TagOfOtherLevel(code));
            }
            if self.tags[..i].contains(&code) {
                return Err(RatingError::DuplicateTag(code));
            }
        }
        if self.level.is_bad() && self.tags.is_empty() {
            return Err(RatingError::NoTag);
        }
        let matter = match self.matter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m) if matter_code_ok(m) => Some(m.to_string()),
            Some(_) => return Err(RatingError::MatterInvalid),
        };
        let comment = clean_comment(&self.comment);
        let n = comment.chars().count();
        if n > COMMENT_MAX_CHARS {
            return Err(RatingError::CommentTooLong(n));
        }
        let phone = match self.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(_) if !self.level.is_bad() => return Err(RatingError::PhoneNotAllowed),
            Some(p) => {
                let p = Phone::parse(p).ok_or(RatingError::PhoneInvalid)?;
                if !self.consent {
                    return Err(RatingError::PhoneWithoutConsent);
                }
                Some(p)
            }
        };
        Ok(ValidRating {
            level: self.level,
            tags: self.tags.clone(),
            tag_version: self.tag_version,
            matter,
            comment,
            phone,
        })
    }
}

/// A 128-bit random identifier made on the device: a rating's idempotency key, or a device id.
/// Text: 26 upper-case base32 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id128(pub [u8; 16]);

impl Id128 {
    pub fn to_text(self) -> String {
        base32::encode(&self.0)
    }

    pub fn parse(text: &str) -> Option<Id128> {
        if text.len() != base32::encoded_len(16) {
            return None;
        }
        <[u8; 16]>::try_from(base32::decode(text).ok()?)
            .ok()
            .map(Id128)
    }

    /// An id the edge derives rather than draws: the first 16 bytes of SHA-256 over `label`
    /// (its domain) then `parts`, in order.
    pub fn digest(label: &[u8], parts: &[&[u8]]) -> Id128 {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new().chain_update(label);
        for p in parts {
            h.update(p);
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.finalize()[..16]);
        Id128(id)
    }
}

impl fmt::Display for Id128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_suggest_whom_a_bad_rating_counts_against() {
        use Level::*;
        assert_eq!(suggested_about(Dissatisfied, &[212]), Some("waiting"));
        assert_eq!(suggested_about(Dissatisfied, &[212, 214]), Some("staff"));
        assert_eq!(
            suggested_about(VeryDissatisfied, &[113, 110]),
            Some("process")
        );
        assert_eq!(suggested_about(Dissatisfied, &[211]), Some("system"));
        assert_eq!(
            suggested_about(Dissatisfied, &[207]),
            Some("staff"),
            "mixed: the code rated"
        );
        assert_eq!(suggested_about(Dissatisfied, &[]), Some("staff"));
        assert_eq!(suggested_about(Basic, &[212]), None);
        // Every code the table names is a current 差评 reason, and every category is one.
        for t in TAGS.iter() {
            if let Some(a) = tag_about(t.code) {
                assert!(t.level.is_bad(), "{}", t.code);
                assert!(ABOUTS.iter().any(|(k, _)| *k == a));
            }
        }
    }
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_derived_id_is_the_digest_of_its_label_then_its_parts() {
        let a = Id128::digest(b"zsp-x", &[b"ab", b"c"]);
        assert_eq!(
            a,
            Id128::digest(b"zsp-", &[b"xabc"]),
            "the parts are concatenated"
        );
        assert_ne!(a, Id128::digest(b"zsp-y", &[b"ab", b"c"]));
        // SHA-256("abc") begins ba7816bf 8f01cfea 414140de 5dae2223.
        assert_eq!(Id128::digest(b"abc", &[]).0[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    fn input(level: Level, tags: &[u16]) -> RatingInput {
        RatingInput::new(level, tags)
    }

    #[test]
    fn level_codes_both_directions() {
        let table = [
            (Level::VerySatisfied, 1, 5),
            (Level::Satisfied, 2, 4),
            (Level::Basic, 3, 3),
            (Level::Dissatisfied, 4, 2),
            (Level::VeryDissatisfied, 5, 1),
        ];
        for (l, g, p) in table {
            assert_eq!(l.gbt39046_code(), g);
            assert_eq!(l.provincial_code(), p);
            assert_eq!(Level::from_gbt39046_code(g), Some(l));
            assert_eq!(Level::from_provincial_code(p), Some(l));
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        assert_eq!(Level::from_gbt39046_code(0), None);
        assert_eq!(Level::from_provincial_code(6), None);
        assert!(
            !Level::Basic.is_bad()
                && Level::Dissatisfied.is_bad()
                && Level::VeryDissatisfied.is_bad()
        );
    }

    #[test]
    fn tags_table_matches_national_rules() {
        assert_eq!(TAGS.len(), 40);
        for l in Level::ALL {
            let t = l.tags();
            assert_eq!(t.len(), 8);
            for tag in t {
                assert_eq!(tag.level, l);
                assert_eq!(
                    tag.code / 100,
                    u16::from(l.provincial_code()),
                    "{}",
                    tag.code
                );
            }
        }
        assert_eq!(Level::VerySatisfied.tags()[0].code, 510);
        assert_eq!(Level::VeryDissatisfied.tags()[7].zh, "服务态度差效率低");
        assert_eq!(tag(214).unwrap().level, Level::Dissatisfied);
        for l in Level::ALL {
            let codes: Vec<u16> = l.tags().iter().map(|t| t.code).collect();
            assert_eq!(l.tag_codes(), codes, "{l:?}");
        }
        for code in 0..1000 {
            assert_eq!(Level::of_tag(code), tag(code).map(|t| t.level), "{code}");
        }
        assert!(tag(501).is_none(), "the disabled old list is not accepted");
    }

    #[test]
    fn tag_rules() {
        assert!(input(Level::VerySatisfied, &[]).validate().is_ok());
        assert!(input(Level::VerySatisfied, &[510, 517]).validate().is_ok());
        assert_eq!(
            input(Level::Dissatisfied, &[]).validate(),
            Err(RatingError::NoTag)
        );
        assert_eq!(
            input(Level::Dissatisfied, &[510]).validate(),
            Err(RatingError::TagOfOtherLevel(510))
        );
        assert_eq!(
            input(Level::Basic, &[999]).validate(),
            Err(RatingError::UnknownTag(999))
        );
        assert_eq!(
            input(Level::Basic, &[307, 307]).validate(),
            Err(RatingError::DuplicateTag(307))
        );
        let mut old = input(Level::Basic, &[307]);
        old.tag_version = 1;
        assert_eq!(old.validate(), Err(RatingError::TagVersion(1)));
    }

    #[test]
    fn phone_rules() {
        let mut r = input(Level::VeryDissatisfied, &[115]);
        r.phone = Some("138 1234 5678".into());
        assert_eq!(r.validate(), Err(RatingError::PhoneWithoutConsent));
        r.consent = true;
        let v = r.validate().unwrap();
        assert_eq!(v.phone.as_ref().unwrap().as_str(), "13812345678");
        assert_eq!(v.phone.unwrap().masked(), "138****5678");
        r.phone = Some("12812345678".into());
        assert_eq!(r.validate(), Err(RatingError::PhoneInvalid));
        r.phone = Some("".into());
        assert_eq!(r.validate().unwrap().phone, None);
        let mut good = input(Level::Satisfied, &[]);
        good.phone = Some("13812345678".into());
        good.consent = true;
        assert_eq!(good.validate(), Err(RatingError::PhoneNotAllowed));
        for (raw, ok) in [
            ("+86 138-1234-5678", true),
            ("8613812345678", true),
            ("1381234567", false),
            ("138123456789", false),
            ("1381234567８", false),
            ("19912345678", true),
            ("11012345678", false),
        ] {
            assert_eq!(Phone::parse(raw).is_some(), ok, "{raw}");
        }
    }

    #[test]
    fn comments_are_cleaned_and_bounded() {
        assert_eq!(
            clean_comment("  a\r\nb\rc\td\u{0}\u{7}e\u{202E}f  "),
            "a\nb\nc def"
        );
        assert_eq!(
            clean_comment("<script>alert(1)</script>"),
            "<script>alert(1)</script>"
        );
        assert_eq!(clean_comment("𠮷野家 👍🏽"), "𠮷野家 👍🏽");
        let mut r = input(Level::Basic, &[]);
        r.comment = "好".repeat(500);
        assert!(r.validate().is_ok());
        r.comment = "好".repeat(501);
        assert_eq!(r.validate(), Err(RatingError::CommentTooLong(501)));
        // Characters, not bytes: 500 four-byte characters are fine.
        r.comment = "𠮷".repeat(500);
        assert!(r.validate().is_ok());
        // Removed characters do not count.
        r.comment = format!("{}{}", "好".repeat(500), "\u{0}".repeat(10));
        assert!(r.validate().is_ok());
    }

    #[test]
    fn matter_codes() {
        let mut r = input(Level::Basic, &[]);
        r.matter = Some(" 11330100MB0E12345X4440111017000 ".into());
        assert_eq!(
            r.validate().unwrap().matter.as_deref(),
            Some("11330100MB0E12345X4440111017000")
        );
        r.matter = Some("事项".into());
        assert_eq!(r.validate(), Err(RatingError::MatterInvalid));
        r.matter = Some("A".repeat(65));
        assert_eq!(r.validate(), Err(RatingError::MatterInvalid));
    }

    #[test]
    fn ids() {
        let id = Id128([0xAB; 16]);
        assert_eq!(id.to_text().len(), 26);
        assert_eq!(Id128::parse(&id.to_text()), Some(id));
        assert_eq!(Id128::parse("ABC"), None);
    }
}
