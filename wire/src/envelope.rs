//! What the edge sends upstream: one rating per `POST`, signed, versioned, idempotent.
//!
//! Headers:
//! - `Content-Type: application/json; charset=utf-8`
//! - `Zsp-Envelope: 2` (this format's version)
//! - `Idempotency-Key: <rating id>` for a rating's first revision, `<rating id>.<revision>` for
//!   each amendment (追评): the same revision may arrive more than once (delivery is at least
//!   once); a receiver keeps the first and acknowledges the rest.
//! - `Zsp-Revision: <n>`: the rating's revision, 1 first. A rating's revisions are sent in order:
//!   a receiver that has seen none of a rating answers a revision above 1 with 409 and is sent
//!   revision 1 first ([`admit`]).
//! - `Zsp-Signature: t=<Unix seconds>,k=<key id>,v2=<hex HMAC-SHA256>` over
//!   `len(domain) ‖ "zsp-envelope-v2" ‖ t ‖ "." ‖ idempotency key ‖ "." ‖ revision ‖ "." ‖ body`
//!   with the shared upstream key. A receiver checks it with [`verify`], refuses a timestamp more
//!   than 5 minutes off, and takes a key it has seen as a duplicate: a captured envelope replayed
//!   in the 5 minutes is a duplicate under its own key and forged under any other.
//!
//! The device that rated never leaves: `rater` is a pseudonym of it that is stable for one code
//! only ([`rater`]). Version 1 signed the body alone and carried the device id.
//!
//! The body has one of three shapes, chosen per deployment: the project's own JSON
//! ([`Mapping::Project`]), the provincial interfaces' field set ([`PROVINCIAL`]) or GB/T
//! 39046-2020's data items ([`GBT39046`]), the last two tables of fields.

use crate::directory::Entry;
use crate::key::{Key, KeyPurpose, Keyring, hex, unhex};
use crate::time::{format_cst, format_rfc3339_cst};
use crate::{Coded, mac};
use serde::Serialize;

/// A stored rating: the record the edge commits before it answers, and forwards upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// The idempotency key: the same rating sent twice is stored once.
    pub id: crate::rating::Id128,
    pub code: crate::qr::CodeId,
    /// The device as the edge named it (`Challenge::device_id`); never sent upstream.
    pub device: crate::rating::Id128,
    /// 1 for the first rating, 2 for the same-day 追评 that amends it.
    pub assess_number: u8,
    /// When the edge accepted it, Unix seconds (the edge's clock, not the phone's).
    pub rated_at: i64,
    pub rating: crate::rating::ValidRating,
    /// Held for review as 疑似刷评 and released by an administrator.
    pub flagged: bool,
    /// The 办件号 of a 一事一评 link the rating was made through.
    pub project_no: Option<String>,
    /// 评价渠道 (`pf`): [`crate::rating::CHANNEL_QR`], or [`crate::rating::CHANNEL_HALL_TABLET`] for a kiosk's rating.
    pub channel: u8,
}

pub const ENVELOPE_VERSION: u32 = 2;
pub const HEADER_VERSION: &str = "Zsp-Envelope";
pub const HEADER_SIGNATURE: &str = "Zsp-Signature";
pub const HEADER_IDEMPOTENCY: &str = "Idempotency-Key";
pub const HEADER_REVISION: &str = "Zsp-Revision";
/// How far a signature's timestamp may be from the receiver's clock.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;
const DOMAIN: &str = "zsp-envelope-v2";

/// The shape of the body, chosen per deployment (`UPSTREAM_MAPPING`): the project's own JSON,
/// or a table of fields ([`Field`]) for the provincial interfaces and GB/T 39046-2020.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    Project,
    Provincial,
    Gbt39046,
}

impl Mapping {
    pub const ALL: [Mapping; 3] = [Mapping::Project, Mapping::Provincial, Mapping::Gbt39046];

    pub fn parse(s: &str) -> Option<Mapping> {
        Mapping::ALL.into_iter().find(|m| m.name() == s.trim())
    }

    pub fn name(self) -> &'static str {
        match self {
            Mapping::Project => "project",
            Mapping::Provincial => "provincial",
            Mapping::Gbt39046 => "gbt39046",
        }
    }

    /// A table mapping's fields, in the body's order; the project's JSON has none (its struct).
    pub fn fields(self) -> &'static [Field] {
        match self {
            Mapping::Project => &[],
            Mapping::Provincial => PROVINCIAL,
            Mapping::Gbt39046 => GBT39046,
        }
    }

    /// The required fields a directory entry cannot fill (today: `deptCode` without the unit's
    /// 统一社会信用代码): such an entry's ratings could never be accepted.
    pub fn missing(self, e: &Entry) -> Vec<&'static Field> {
        self.fields()
            .iter()
            .filter(|f| f.required && f.source == Source::DeptCode && e.dept_code.is_none())
            .collect()
    }
}

/// One field of a table mapping: its name in the body, the data item it carries (in words),
/// whether the receiver requires it, and where its value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub item: &'static str,
    pub required: bool,
    pub source: Source,
}

/// Where a field's value comes from, and its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// 行政区划 of the hall (6 to 9 digits), text.
    Region,
    /// The window unit's 统一社会信用代码 (the directory's `dept_code`), text.
    DeptCode,
    /// 事项编码 and 事项名称 as rated ("" when none), text.
    MatterCode,
    MatterName,
    /// The 办件号 of a 一事一评 link or armed tablet; absent (the field left out) when none.
    ProjectNo,
    /// The 办件号, or for a rating without one the rating's id: one record either way.
    ProjectNoOrId,
    /// The staff member's name ("" for a window code), text.
    StaffName,
    /// 评价渠道 (`pf`), text.
    Channel,
    /// The level as a code in the provincial direction (5 = 非常满意), text.
    LevelProvincial,
    /// The level as GB/T 39046 A.8's 满意度代码 (1 = 非常满意), a number.
    LevelGbt,
    /// The level in words (非常满意 …), text.
    LevelZh,
    /// The reason codes, comma-separated, text.
    Tags,
    /// 文字评价, text.
    Comment,
    /// `yyyy-MM-dd HH:mm:ss` (CST), text.
    TimeCst,
    /// GB/T 39046's `YYYYMMDDThhmmss` (CST), text.
    TimeGbt,
    /// 评价次数 / `assessNumber` (1 first, 2 追评), as text or as a number.
    AssessText,
    AssessNumber,
    /// 评价人: the rater's pseudonym ([`rater`]), its first 30 characters (a..30), text.
    Rater,
    /// `anonymityFlag`: "1" when the rater left no contact, "0" when a callback phone was given
    /// with consent.
    Anonymity,
    /// A fixed value, text.
    Const(&'static str),
}

/// The provincial interfaces' field set (`shared/spec/haochaping-codes.md`), then `zsp` with
/// what they have no field for.
pub const PROVINCIAL: &[Field] = &[
    Field {
        name: "areaCode",
        item: "行政区划",
        required: true,
        source: Source::Region,
    },
    Field {
        name: "deptCode",
        item: "窗口单位统一社会信用代码",
        required: true,
        source: Source::DeptCode,
    },
    Field {
        name: "taskCode",
        item: "事项编码",
        required: true,
        source: Source::MatterCode,
    },
    Field {
        name: "taskName",
        item: "事项名称",
        required: true,
        source: Source::MatterName,
    },
    Field {
        name: "projectNo",
        item: "办件号",
        required: false,
        source: Source::ProjectNo,
    },
    Field {
        name: "proManager",
        item: "办理人员",
        required: true,
        source: Source::StaffName,
    },
    Field {
        name: "pf",
        item: "评价渠道",
        required: true,
        source: Source::Channel,
    },
    Field {
        name: "satisfaction",
        item: "满意度（5 = 非常满意）",
        required: true,
        source: Source::LevelProvincial,
    },
    Field {
        name: "evalDetail",
        item: "测评内容",
        required: true,
        source: Source::Tags,
    },
    Field {
        name: "writingEvaluation",
        item: "文字评价",
        required: true,
        source: Source::Comment,
    },
    Field {
        name: "assessTime",
        item: "评价时间",
        required: true,
        source: Source::TimeCst,
    },
    Field {
        name: "assessNumber",
        item: "评价次数",
        required: true,
        source: Source::AssessText,
    },
    Field {
        name: "userProp",
        item: "服务对象（1 自然人）",
        required: true,
        source: Source::Const("1"),
    },
    Field {
        name: "anonymityFlag",
        item: "匿名评价（1 未留联系方式）",
        required: true,
        source: Source::Anonymity,
    },
    Field {
        name: "publicFlag",
        item: "公开（0 不公开）",
        required: true,
        source: Source::Const("0"),
    },
    Field {
        name: "status",
        item: "状态（1 有效）",
        required: true,
        source: Source::Const("1"),
    },
];

/// GB/T 39046-2020 Table 9's data items under their own names and formats, then `zsp`.
pub const GBT39046: &[Field] = &[
    Field {
        name: "办件编号",
        item: "an..50",
        required: true,
        source: Source::ProjectNoOrId,
    },
    Field {
        name: "评价渠道",
        item: "an..50",
        required: true,
        source: Source::Channel,
    },
    Field {
        name: "评价人",
        item: "a..30",
        required: true,
        source: Source::Rater,
    },
    Field {
        name: "评价时间",
        item: "YYYYMMDDThhmmss",
        required: true,
        source: Source::TimeGbt,
    },
    Field {
        name: "评价次数",
        item: "n..2",
        required: true,
        source: Source::AssessNumber,
    },
    Field {
        name: "满意度",
        item: "an..20",
        required: true,
        source: Source::LevelZh,
    },
    Field {
        name: "满意度代码",
        item: "n1（A.8：1 = 非常满意）",
        required: true,
        source: Source::LevelGbt,
    },
    Field {
        name: "测评内容",
        item: "国家测评内容代码，逗号分隔",
        required: true,
        source: Source::Tags,
    },
    Field {
        name: "文字评价",
        item: "文字评价",
        required: true,
        source: Source::Comment,
    },
    Field {
        name: "行政区划",
        item: "n..9",
        required: true,
        source: Source::Region,
    },
];

#[derive(Serialize)]
struct ProjectBody<'a> {
    schema: &'static str,
    version: u32,
    id: String,
    assess_number: u8,
    code: String,
    region: &'a str,
    hall: &'a str,
    window: &'a str,
    dept: &'a str,
    staff_id: Option<&'a str>,
    staff_name: Option<&'a str>,
    level: &'static str,
    satisfaction_gbt39046: u8,
    satisfaction_provincial: u8,
    bad: bool,
    tags: &'a [u16],
    tag_version: u16,
    matter_code: Option<&'a str>,
    matter_name: Option<&'a str>,
    /// The 办件号, for a rating made through a 一事一评 link.
    #[serde(skip_serializing_if = "Option::is_none")]
    project_no: Option<&'a str>,
    comment: &'a str,
    callback_phone: Option<&'a str>,
    channel: u8,
    rater: String,
    rated_at: String,
    flagged: bool,
}

/// What a table mapping has no field for: the `zsp` object of `provincial` and `gbt39046`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProvincialExtra<'a> {
    version: u32,
    id: String,
    code: String,
    hall: &'a str,
    window: &'a str,
    dept: &'a str,
    staff_id: Option<&'a str>,
    matter_code: Option<&'a str>,
    tag_version: u16,
    callback_phone: Option<&'a str>,
    flagged: bool,
}

/// The request body for one rating, with the directory entry of its code: the project's JSON
/// (its struct's field order), or a table mapping's fields in the table's order and `zsp`.
/// A required field the entry cannot fill (a `deptCode` without the unit's 统一社会信用代码) is an
/// error that names it: the rating waits, and says why, until the directory has it.
pub fn body(mapping: Mapping, r: &Rating, e: &Entry) -> Result<String, String> {
    let v = &r.rating;
    let matter_name = v.matter.as_ref().and_then(|c| {
        e.matters
            .iter()
            .find(|m| &m.code == c)
            .map(|m| m.name.as_str())
    });
    let phone = v.phone.as_ref().map(|p| p.as_str());
    if mapping == Mapping::Project {
        return Ok(serde_json::to_string(&ProjectBody {
            schema: "zsp.rating",
            version: ENVELOPE_VERSION,
            id: r.id.to_text(),
            assess_number: r.assess_number,
            code: r.code.to_text(),
            region: &e.region,
            hall: &e.hall,
            window: &e.window,
            dept: &e.dept,
            staff_id: e.staff_id.as_deref(),
            staff_name: e.staff_name.as_deref(),
            level: v.level.as_str(),
            satisfaction_gbt39046: v.level.gbt39046_code(),
            satisfaction_provincial: v.level.provincial_code(),
            bad: v.level.is_bad(),
            tags: &v.tags,
            tag_version: v.tag_version,
            matter_code: v.matter.as_deref(),
            matter_name,
            project_no: r.project_no.as_deref(),
            comment: &v.comment,
            callback_phone: phone,
            channel: r.channel,
            rater: rater(r),
            rated_at: format_rfc3339_cst(r.rated_at),
            flagged: r.flagged,
        })
        .expect("plain structs always serialise"));
    }
    enum Val {
        Text(String),
        Number(i64),
        Absent,
    }
    let value = |s: Source| match s {
        Source::Region => Val::Text(e.region.clone()),
        Source::DeptCode => e.dept_code.clone().map_or(Val::Absent, Val::Text),
        Source::MatterCode => Val::Text(v.matter.clone().unwrap_or_default()),
        Source::MatterName => Val::Text(matter_name.unwrap_or("").into()),
        Source::ProjectNo => r.project_no.clone().map_or(Val::Absent, Val::Text),
        Source::ProjectNoOrId => Val::Text(r.project_no.clone().unwrap_or_else(|| r.id.to_text())),
        Source::StaffName => Val::Text(e.staff_name.clone().unwrap_or_default()),
        Source::Channel => Val::Text(r.channel.to_string()),
        Source::LevelProvincial => Val::Text(v.level.provincial_code().to_string()),
        Source::LevelGbt => Val::Number(v.level.gbt39046_code().into()),
        Source::LevelZh => Val::Text(v.level.label_zh().into()),
        Source::Tags => Val::Text(
            v.tags
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Source::Comment => Val::Text(v.comment.clone()),
        Source::TimeCst => Val::Text(format_cst(r.rated_at)),
        Source::TimeGbt => Val::Text(crate::time::format_gbt39046(r.rated_at)),
        Source::AssessText => Val::Text(r.assess_number.to_string()),
        Source::AssessNumber => Val::Number(r.assess_number.into()),
        Source::Rater => Val::Text(rater(r)[..30].to_owned()),
        Source::Anonymity => Val::Text(if phone.is_some() { "0" } else { "1" }.into()),
        Source::Const(c) => Val::Text(c.into()),
    };
    let mut out = String::from("{");
    for f in mapping.fields() {
        let val = value(f.source);
        if matches!(val, Val::Absent) {
            if f.required {
                return Err(format!(
                    "{} mapping: {} ({}) cannot be filled for code {}: give the unit's 统一社会信用代码 in the roster and upload the directory again",
                    mapping.name(),
                    f.name,
                    f.item,
                    r.code.to_text()
                ));
            }
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        crate::jsonw::string(&mut out, f.name);
        out.push(':');
        match val {
            Val::Text(t) => crate::jsonw::string(&mut out, &t),
            Val::Number(n) => out.push_str(&n.to_string()),
            Val::Absent => {}
        }
    }
    out.push_str(",\"zsp\":");
    out.push_str(
        &serde_json::to_string(&ProvincialExtra {
            version: ENVELOPE_VERSION,
            id: r.id.to_text(),
            code: r.code.to_text(),
            hall: &e.hall,
            window: &e.window,
            dept: &e.dept,
            staff_id: e.staff_id.as_deref(),
            matter_code: v.matter.as_deref(),
            tag_version: v.tag_version,
            callback_phone: phone,
            flagged: r.flagged,
        })
        .expect("plain structs always serialise"),
    );
    out.push('}');
    Ok(out)
}

/// The device as the upstream sees it: a digest of the code and the device, so one device's
/// ratings of one code can be told apart from others' while nothing links its ratings of two
/// codes, and nothing leads back to the device's cookie.
pub fn rater(r: &Rating) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::new()
        .chain_update(b"zsp-rater-v1")
        .chain_update(r.code.to_text().as_bytes())
        .chain_update(r.device.0)
        .finalize();
    hex(&h[..16])
}

/// What one request signs besides its time: the idempotency key, the revision and the body.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub idempotency_key: &'a str,
    pub revision: &'a str,
    pub body: &'a [u8],
}

impl Signed<'_> {
    fn parts<'b>(&'b self, t: &'b str) -> [&'b [u8]; 7] {
        [
            t.as_bytes(),
            b".",
            self.idempotency_key.as_bytes(),
            b".",
            self.revision.as_bytes(),
            b".",
            self.body,
        ]
    }
}

/// The `Zsp-Signature` header value for a request sent at `ts`.
pub fn sign(key: &Key, ts: i64, signed: &Signed) -> String {
    debug_assert_eq!(key.purpose, KeyPurpose::Upstream);
    let t = ts.to_string();
    let tag = mac::tag(&key.secret, DOMAIN, &signed.parts(&t));
    format!("t={t},k={},v2={}", key.kid, hex(&tag))
}

/// What a receiver does with a verified revision, given the highest revision of the same rating
/// it has taken (`None`: none yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Take it (and acknowledge).
    New,
    /// Seen already, or older than what was taken: acknowledge, take nothing.
    Duplicate,
    /// An amendment before its rating: answer 409, the sender sends revision 1 first.
    OutOfOrder,
}

pub fn admit(taken: Option<u32>, revision: u32) -> Admit {
    match taken {
        Some(t) if revision <= t => Admit::Duplicate,
        Some(_) => Admit::New,
        None if revision == 1 => Admit::New,
        None => Admit::OutOfOrder,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeError {
    MalformedHeader,
    UnknownKey(u16),
    BadSignature,
    Stale,
}

impl Coded for EnvelopeError {
    fn code(&self) -> &'static str {
        match self {
            EnvelopeError::MalformedHeader => "envelope.malformed_header",
            EnvelopeError::UnknownKey(_) => "envelope.unknown_key",
            EnvelopeError::BadSignature => "envelope.bad_signature",
            EnvelopeError::Stale => "envelope.stale",
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            EnvelopeError::MalformedHeader => "签名头格式错误",
            EnvelopeError::UnknownKey(_) => "签名密钥编号未知",
            EnvelopeError::BadSignature => "签名校验失败",
            EnvelopeError::Stale => "签名时间超出允许范围",
        }
    }
    fn message_en(&self) -> &'static str {
        match self {
            EnvelopeError::MalformedHeader => "the Zsp-Signature header is malformed",
            EnvelopeError::UnknownKey(_) => "the signature's key id is unknown",
            EnvelopeError::BadSignature => "the signature does not match the body",
            EnvelopeError::Stale => "the signature's timestamp is too far from now",
        }
    }
}

coded_error!(EnvelopeError);

/// For receivers: checks a `Zsp-Signature` header against the request's idempotency key,
/// revision and raw body.
pub fn verify(
    keys: &Keyring,
    header: &str,
    signed: &Signed,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), EnvelopeError> {
    let (mut t, mut k, mut sig) = (None, None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) if t.is_none() => t = Some(v),
            Some(("k", v)) if k.is_none() => k = Some(v),
            Some(("v2", v)) if sig.is_none() => sig = Some(v),
            _ => return Err(EnvelopeError::MalformedHeader),
        }
    }
    let t = t.ok_or(EnvelopeError::MalformedHeader)?;
    let ts: i64 = t
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| t.parse().ok())
        .flatten()
        .ok_or(EnvelopeError::MalformedHeader)?;
    let kid: u16 = k
        .and_then(|k| k.parse().ok())
        .ok_or(EnvelopeError::MalformedHeader)?;
    let sig = sig
        .and_then(unhex)
        .filter(|s| s.len() == 32)
        .ok_or(EnvelopeError::MalformedHeader)?;
    let key = keys
        .get(kid)
        .filter(|k| k.purpose == KeyPurpose::Upstream)
        .ok_or(EnvelopeError::UnknownKey(kid))?;
    let revision_ok = !signed.revision.is_empty()
        && signed.revision.len() <= 9
        && signed.revision.bytes().all(|b| b.is_ascii_digit());
    if !revision_ok {
        return Err(EnvelopeError::MalformedHeader);
    }
    if !mac::verify(&key.secret, DOMAIN, &signed.parts(t), &sig) {
        return Err(EnvelopeError::BadSignature);
    }
    if (now - ts).abs() > tolerance_secs {
        return Err(EnvelopeError::Stale);
    }
    Ok(())
}

// ---- a 差评 case's result ----

/// The `format` of a case result's body.
pub const CASE_FORMAT: &str = "zsp.case";
pub const CASE_VERSION: u32 = 1;

/// One step of a case as a receiver sees it: what was done, by which kind of actor, when. The
/// actor's name and the step's note (internal) never leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CaseStep {
    /// `callback`, `check`, `fixed`, `replied`, `close`, `appeal`, `review`, `extend`,
    /// `decide`, `classify`, `amended` (a same-day 追评 of the rating), `followup` (the citizen's
    /// verdict after 办结), and the like.
    pub step: String,
    /// `citizen`, `handler`, `hall`, `city` (the roles of `access`).
    pub role: String,
    pub at: i64,
}

/// A 差评 case's result, sent to the receivers that take results when the case reaches 办结 and
/// at each later 追评: a whole snapshot, so that a receiver keeps the highest revision it has
/// (`Zsp-Revision`, under `Idempotency-Key: case-<rating id>.<revision>`) and acknowledges the
/// rest. Never a phone, a comment, a name or an internal note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The rating the case is about (the `Idempotency-Key` of its envelope).
    pub rating: String,
    pub level: crate::rating::Level,
    pub region: String,
    pub hall: String,
    pub window: String,
    pub dept: String,
    /// Where the case stands (`closed`, or where a reopening put it).
    pub state: String,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub steps: Vec<CaseStep>,
    /// 核实: 属实 `true` | 部分属实 `partial` | 不属实 `false`, and what the 差评 was about
    /// (`staff`, `process`, `waiting`, `system`, `policy`).
    pub finding: Option<String>,
    pub about: Option<String>,
    /// 申诉 (`misrated` | `malicious`) and its 复核 (`upheld` | `overturned`).
    pub appeal: Option<String>,
    pub review: Option<String>,
    /// The reply given to the citizen, only where the office marked it public.
    pub reply: Option<String>,
    /// The citizen's verdict on the fix (`satisfied` | `basic` | `unsatisfied`) and, when it
    /// reopened the case, when.
    pub verdict: Option<String>,
    pub reopened_at: Option<i64>,
}

impl CaseResult {
    /// The idempotency key of result revision `revision`.
    pub fn idempotency_key(&self, revision: i64) -> String {
        format!("case-{}.{revision}", self.rating)
    }

    /// The body: `{"format":"zsp.case","version":1,…}`, times in RFC 3339 China time.
    pub fn body(&self) -> String {
        #[derive(Serialize)]
        struct Step<'a> {
            step: &'a str,
            role: &'a str,
            at: String,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            format: &'static str,
            version: u32,
            rating: &'a str,
            level: &'static str,
            #[serde(rename = "satisfactionGbt39046")]
            gbt39046: u8,
            region: &'a str,
            hall: &'a str,
            window: &'a str,
            dept: &'a str,
            state: &'a str,
            opened_at: String,
            closed_at: Option<String>,
            steps: Vec<Step<'a>>,
            finding: Option<&'a str>,
            about: Option<&'a str>,
            appeal: Option<&'a str>,
            review: Option<&'a str>,
            reply: Option<&'a str>,
            verdict: Option<&'a str>,
            reopened_at: Option<String>,
        }
        serde_json::to_string(&Body {
            format: CASE_FORMAT,
            version: CASE_VERSION,
            rating: &self.rating,
            level: self.level.as_str(),
            gbt39046: self.level.gbt39046_code(),
            region: &self.region,
            hall: &self.hall,
            window: &self.window,
            dept: &self.dept,
            state: &self.state,
            opened_at: format_rfc3339_cst(self.opened_at),
            closed_at: self.closed_at.map(format_rfc3339_cst),
            steps: self
                .steps
                .iter()
                .map(|s| Step {
                    step: &s.step,
                    role: &s.role,
                    at: format_rfc3339_cst(s.at),
                })
                .collect(),
            finding: self.finding.as_deref(),
            about: self.about.as_deref(),
            appeal: self.appeal.as_deref(),
            review: self.review.as_deref(),
            reply: self.reply.as_deref(),
            verdict: self.verdict.as_deref(),
            reopened_at: self.reopened_at.map(format_rfc3339_cst),
        })
        .expect("plain structs always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn sign_verify() {
        let k = Key::new(KeyPurpose::Upstream, 4, [3; 32]);
        let ring = Keyring::new(KeyPurpose::Upstream, vec![k.clone()]).unwrap();
        let signed = Signed {
            idempotency_key: "R1",
            revision: "1",
            body: br#"{"a":1}"#,
        };
        let body = &signed;
        let h = sign(&k, 1_795_305_600, body);
        assert!(h.starts_with("t=1795305600,k=4,v2="));
        assert_eq!(verify(&ring, &h, body, 1_795_305_600 + 299, 300), Ok(()));
        assert_eq!(
            verify(&ring, &h, body, 1_795_305_600 + 301, 300),
            Err(EnvelopeError::Stale)
        );
        for changed in [
            Signed {
                body: br#"{"a":2}"#,
                ..signed
            },
            Signed {
                idempotency_key: "R2",
                ..signed
            },
            Signed {
                revision: "2",
                ..signed
            },
        ] {
            assert_eq!(
                verify(&ring, &h, &changed, 1_795_305_600, 300),
                Err(EnvelopeError::BadSignature)
            );
        }
        let other_ts = h.replace("t=1795305600", "t=1795305601");
        assert_eq!(
            verify(&ring, &other_ts, body, 1_795_305_600, 300),
            Err(EnvelopeError::BadSignature)
        );
        assert_eq!(
            verify(
                &ring,
                &h,
                &Signed {
                    revision: "x",
                    ..signed
                },
                1_795_305_600,
                300
            ),
            Err(EnvelopeError::MalformedHeader)
        );
        for bad in [
            "",
            "t=1",
            "t=x,k=4,v2=00",
            "t=1,k=4,v2=zz",
            "t=1,t=2,k=4,v2=00",
            "t=-1,k=4,v2=00",
            &h.replace("v2=", "v1="),
        ] {
            assert_eq!(
                verify(&ring, bad, body, 0, 300),
                Err(EnvelopeError::MalformedHeader),
                "{bad}"
            );
        }
        assert_eq!(
            verify(&ring, &h.replace("k=4", "k=5"), body, 1_795_305_600, 300),
            Err(EnvelopeError::UnknownKey(5))
        );
    }

    #[test]
    fn revisions_are_taken_in_order_once() {
        assert_eq!(admit(None, 1), Admit::New);
        assert_eq!(admit(None, 2), Admit::OutOfOrder);
        assert_eq!(admit(Some(1), 1), Admit::Duplicate);
        assert_eq!(admit(Some(1), 3), Admit::New);
        assert_eq!(admit(Some(3), 2), Admit::Duplicate);
    }

    #[test]
    fn a_case_result_is_a_snapshot_without_phone_comment_or_names() {
        let r = CaseResult {
            rating: "BR7QJOUAYR733TGS7WAN2NMAWE".into(),
            level: crate::rating::Level::VeryDissatisfied,
            region: "330102".into(),
            hall: "上城区市民中心".into(),
            window: "A12".into(),
            dept: "区市场监督管理局".into(),
            state: "closed".into(),
            opened_at: 1_795_305_625,
            closed_at: Some(1_795_392_025),
            steps: vec![
                CaseStep {
                    step: "callback".into(),
                    role: "handler".into(),
                    at: 1_795_309_225,
                },
                CaseStep {
                    step: "close".into(),
                    role: "hall".into(),
                    at: 1_795_392_025,
                },
            ],
            finding: Some("true".into()),
            about: Some("staff".into()),
            appeal: None,
            review: None,
            reply: Some("已对窗口人员进行批评教育".into()),
            verdict: None,
            reopened_at: None,
        };
        let b: serde_json::Value = serde_json::from_str(&r.body()).unwrap();
        assert_eq!(b["format"], "zsp.case");
        assert_eq!(b["version"], 1);
        assert_eq!(b["satisfactionGbt39046"], 5);
        assert_eq!(b["closed_at"], "2026-11-23T08:00:25+08:00");
        assert_eq!(b["steps"][0]["step"], "callback");
        assert_eq!(b["steps"][1]["at"], "2026-11-23T08:00:25+08:00");
        assert_eq!(b["reply"], "已对窗口人员进行批评教育");
        assert_eq!(r.idempotency_key(2), "case-BR7QJOUAYR733TGS7WAN2NMAWE.2");
        let keys: Vec<&String> = b.as_object().unwrap().keys().collect();
        for never in ["phone", "comment", "note", "actor", "staff", "name"] {
            assert!(!keys.iter().any(|k| k.contains(never)), "{never}: {keys:?}");
        }
    }
}
