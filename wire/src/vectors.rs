//! Test vectors: every format, valid and invalid, with every encoding layer and the expected
//! result, in `wire/vectors/vectors.json`.
//!
//! [`generate`] makes the file from a fixed seed (`cargo xtask vectors` writes it); a test
//! regenerates it and diffs, so any change to a format fails the build until the file is
//! regenerated on purpose and the diff reviewed. [`check`] re-runs every case from the file's own
//! layers, which is what another implementation (an integrator's receiver, say) would do.

use crate::challenge::{self, Challenge, ChallengePolicy};
use crate::directory::Entry;
use crate::envelope::Rating;
use crate::envelope::{self, Mapping};
use crate::key::{Key, KeyPurpose, Keyring, hex, unhex};
use crate::qr::{BaseUrl, CodeId, QrPayload, Revocation, Revocations, StaffRef, WindowRef};
use crate::rating::{Id128, Level, RatingInput, ValidRating};
use crate::submission::Submission;
use crate::time::Day;
use crate::{Coded, base32};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const SEED: &str = "掌上评 wire test vectors, seed 1";
pub const FILE_FORMAT: &str = "zsp.test-vectors";
pub const FILE_VERSION: u32 = 1;
/// Path of the committed file, relative to the `wire` crate.
pub const PATH: &str = "vectors/vectors.json";

fn det(label: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SEED.as_bytes());
    h.update([0]);
    h.update(label.as_bytes());
    h.finalize().into()
}

fn det8(label: &str) -> [u8; 8] {
    let mut o = [0u8; 8];
    o.copy_from_slice(&det(label)[..8]);
    o
}

fn det16(label: &str) -> [u8; 16] {
    let mut o = [0u8; 16];
    o.copy_from_slice(&det(label)[..16]);
    o
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect<T> {
    Ok(T),
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    pub qr: Vec<String>,
    pub challenge: Vec<String>,
    pub upstream: Vec<String>,
    /// A genuine key of an authority this edge does not know.
    pub unlisted_qr: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrOk {
    pub kid: u16,
    pub issued: String,
    pub code: String,
    pub window_ref: String,
    pub staff_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCase {
    pub name: String,
    pub what: String,
    pub bytes: String,
    pub segment: String,
    pub url: String,
    pub expect: Expect<QrOk>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeOk {
    pub kid: u16,
    pub code: String,
    pub issued_at: u64,
    pub nonce: String,
    /// The device tag the challenge carries.
    pub device: String,
    pub difficulty: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeCase {
    pub name: String,
    pub what: String,
    pub bytes: String,
    pub text: String,
    /// The code the submission is for.
    pub code: String,
    /// The device cookie that came with the submission (hex), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    pub now: u64,
    pub solution: u32,
    pub expect: Expect<ChallengeOk>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingOk {
    pub level: String,
    pub gbt39046_code: u8,
    pub provincial_code: u8,
    pub bad: bool,
    pub tags: Vec<u16>,
    pub tag_version: u16,
    pub matter: Option<String>,
    pub comment: String,
    /// The comment as the edge stores and forwards it: personal numbers hidden (`mask`).
    pub comment_stored: String,
    pub phone: Option<String>,
    pub phone_masked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingCase {
    pub name: String,
    pub what: String,
    /// The request body, exactly as posted.
    pub submission: String,
    pub expect: Expect<RatingOk>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeCase {
    pub name: String,
    pub what: String,
    pub mapping: String,
    /// The accepted submission the rating came from, and what the edge added.
    pub submission: String,
    pub rated_at: i64,
    pub assess_number: u8,
    /// The 办件号 of the 一事一评 link the rating came through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_no: Option<String>,
    /// 评价渠道 when not the QR code's (3): 4 for a hall tablet in kiosk mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<u8>,
    /// What the edge sends: `Idempotency-Key`, `Zsp-Revision`, body and `Zsp-Signature`.
    pub idempotency_key: String,
    pub revision: String,
    pub body: String,
    pub signature: String,
    /// The receiver's clock.
    pub now: i64,
    /// The highest revision of this rating the receiver has taken already, if any.
    pub taken: Option<u32>,
    /// `verified` (take it), or why not: a signature error, `envelope.duplicate` (acknowledge,
    /// take nothing), `envelope.out_of_order` (409: revision 1 first).
    pub expect: Expect<String>,
}

/// The 12345 work-order bridge (`crate::workorder`): an order the edge signs with the route's
/// secret, or an event the bridge signs with its own key, as the other side checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkorderCase {
    pub name: String,
    pub what: String,
    /// `order` (edge → bridge) or `event` (bridge → edge).
    pub direction: String,
    /// The shared secret (an order's) or the bridge's key (an event's), as text.
    pub secret: String,
    pub body: String,
    /// `Zsp-Signature`.
    pub signature: String,
    /// The receiver's clock.
    pub now: i64,
    /// `verified` (and, for an event, a body the edge takes), or why not: a signature error
    /// (`webhook.*`), or `event.<field>` for an event the edge refuses.
    pub expect: Expect<String>,
}

/// A body the edge writes for the page (`crate::page`): its fields, and the exact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCase {
    pub name: String,
    pub what: String,
    pub body: PageBody,
    pub json: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PageBody {
    Boot {
        lang: String,
        code: String,
        challenge: String,
        now: i64,
    },
    Accepted {
        id: String,
        assess_number: u8,
        bad: bool,
        callback: bool,
        day: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receipt: Option<String>,
        #[serde(default)]
        next: String,
    },
    Error {
        code: String,
        message: String,
        message_en: String,
        field: Option<String>,
        detail: Option<String>,
    },
    Done {
        id: String,
        assess_number: u8,
    },
    KioskState {
        hall: String,
        window: String,
        dept: String,
        /// Name, 工号, photo address.
        staff: Option<(String, String, Option<String>)>,
        /// Link, matter, matter's name, 办件号.
        arm: Option<(String, String, String, String)>,
        idle_secs: u32,
    },
}

/// The JSON `crate::page` writes for a case's fields.
fn render_page(b: &PageBody) -> Result<String, String> {
    use crate::page::{Accepted, Boot, ErrorBody};
    use crate::text::Lang;
    Ok(match b {
        PageBody::Boot {
            lang,
            code,
            challenge,
            now,
        } => Boot {
            lang: match lang.as_str() {
                "en" => Lang::En,
                "zh" => Lang::Zh,
                other => return Err(format!("lang {other:?}")),
            },
            code,
            challenge,
            now: *now,
        }
        .to_json(),
        PageBody::Accepted {
            id,
            assess_number,
            bad,
            callback,
            day,
            receipt,
            next,
        } => Accepted {
            id,
            assess_number: *assess_number,
            bad: *bad,
            callback: *callback,
            day: Day::parse(day).ok_or_else(|| format!("day {day:?}"))?,
            receipt: receipt.as_deref(),
            next,
        }
        .to_json(),
        PageBody::Error {
            code,
            message,
            message_en,
            field,
            detail,
        } => ErrorBody {
            code,
            message,
            message_en,
            field: field.as_deref(),
            detail: detail.as_deref(),
        }
        .to_json(),
        PageBody::Done { id, assess_number } => crate::page::Done {
            id,
            assess_number: *assess_number,
        }
        .to_json(),
        PageBody::KioskState {
            hall,
            window,
            dept,
            staff,
            arm,
            idle_secs,
        } => crate::page::KioskState {
            hall,
            window,
            dept,
            staff: staff.as_ref().map(|(n, s, p)| crate::page::OnDuty {
                name: n,
                staff_no: s,
                photo: p.as_deref(),
            }),
            arm: arm.as_ref().map(|(l, m, mn, p)| crate::page::Arming {
                link: l,
                matter: m,
                matter_name: mn,
                project_no: p,
            }),
            idle_secs: *idle_secs,
        }
        .to_json(),
    })
}

fn page_case(name: &str, what: &str, body: PageBody) -> PageCase {
    PageCase {
        name: name.into(),
        what: what.into(),
        json: render_page(&body).expect("a valid page case"),
        body,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vectors {
    pub format: String,
    pub version: u32,
    pub note: String,
    pub seed: String,
    pub keys: Keys,
    pub base_url: String,
    /// The revocation list in force for the QR cases (JSON text).
    pub revocations: String,
    /// The directory entry of the rated code, for the envelope cases.
    pub entry: Entry,
    pub qr: Vec<QrCase>,
    pub challenge: Vec<ChallengeCase>,
    pub rating: Vec<RatingCase>,
    pub envelope: Vec<EnvelopeCase>,
    /// What the edge writes for the page: boot data, success and error bodies.
    pub page: Vec<PageCase>,
    /// The work-order bridge's orders and events.
    #[serde(default)]
    pub workorder: Vec<WorkorderCase>,
}

struct Ctx {
    qr: Keyring,
    challenge: Keyring,
    upstream: Keyring,
    base: BaseUrl,
    revocations: Revocations,
    entry: Entry,
}

impl Ctx {
    fn from(v: &Vectors) -> Result<Ctx, String> {
        let ring = |p, keys: &[String]| {
            Keyring::parse(p, &keys.join(",")).map_err(|e| format!("keys: {e}"))
        };
        Ok(Ctx {
            qr: ring(KeyPurpose::Qr, &v.keys.qr)?,
            challenge: ring(KeyPurpose::Challenge, &v.keys.challenge)?,
            upstream: ring(KeyPurpose::Upstream, &v.keys.upstream)?,
            base: BaseUrl::parse(&v.base_url).map_err(|e| format!("base_url: {e}"))?,
            revocations: Revocations::from_json(&v.revocations)
                .map_err(|e| format!("revocations: {e}"))?,
            entry: v.entry.clone(),
        })
    }
}

fn err<T, E: Coded>(e: E) -> Expect<T> {
    Expect::Error(e.code().to_string())
}

fn eval_qr(c: &QrCase, ctx: &Ctx) -> Expect<QrOk> {
    let p = match QrPayload::open(&c.segment, &ctx.qr) {
        Ok(p) => p,
        Err(e) => return err(e),
    };
    if let Err(e) = ctx.revocations.check(&p) {
        return err(e);
    }
    Expect::Ok(QrOk {
        kid: p.kid,
        issued: p.issued.to_string(),
        code: p.code.to_text(),
        window_ref: hex(&p.code.window.0),
        staff_ref: p.code.staff.map(|s| hex(&s.0)),
    })
}

fn eval_challenge(c: &ChallengeCase, ctx: &Ctx) -> Expect<ChallengeOk> {
    let Some(code) = CodeId::parse(&c.code) else {
        return Expect::Error("vector.bad_code".into());
    };
    let cookie = match c.cookie.as_deref().map(unhex) {
        None => None,
        Some(Some(b)) if b.len() == 16 => Some(<[u8; 16]>::try_from(b).expect("16 bytes")),
        Some(_) => return Expect::Error("vector.bad_cookie".into()),
    };
    match Challenge::verify(
        &c.text,
        c.solution,
        &ctx.challenge,
        code,
        cookie.as_ref(),
        c.now,
        &ChallengePolicy::default(),
    ) {
        Ok(ch) => Expect::Ok(ChallengeOk {
            kid: ch.kid,
            code: ch.code.to_text(),
            issued_at: ch.issued_at,
            nonce: hex(&ch.nonce),
            device: hex(&ch.device),
            difficulty: ch.difficulty,
        }),
        Err(e) => err(e),
    }
}

fn validated(submission: &str) -> Result<(Submission, ValidRating), Box<Expect<RatingOk>>> {
    let s = Submission::from_json(submission.as_bytes()).map_err(|e| Box::new(err(e)))?;
    let v = s.rating.validate().map_err(|e| Box::new(err(e)))?;
    Ok((s, v))
}

fn eval_rating(c: &RatingCase) -> Expect<RatingOk> {
    match validated(&c.submission) {
        Err(e) => *e,
        Ok((_, v)) => Expect::Ok(RatingOk {
            level: v.level.as_str().into(),
            gbt39046_code: v.level.gbt39046_code(),
            provincial_code: v.level.provincial_code(),
            bad: v.level.is_bad(),
            tags: v.tags.clone(),
            tag_version: v.tag_version,
            matter: v.matter.clone(),
            comment: v.comment.clone(),
            comment_stored: crate::mask::mask(&v.comment).0,
            phone: v.phone.as_ref().map(|p| p.as_str().to_string()),
            phone_masked: v.phone.as_ref().map(|p| p.masked()),
        }),
    }
}

/// The body the edge would send for this case's rating.
fn envelope_body(c: &EnvelopeCase, ctx: &Ctx) -> Result<String, String> {
    let mapping = Mapping::parse(&c.mapping).ok_or("unknown mapping")?;
    let (s, v) = validated(&c.submission).map_err(|_| "submission is not valid")?;
    let code = QrPayload::open(&s.code, &ctx.qr)
        .map_err(|e| e.to_string())?
        .code;
    let rating = Rating {
        id: s.id,
        code,
        device: Challenge::decode(&s.challenge)
            .map_err(|e| e.to_string())?
            .0
            .device_id(),
        assess_number: c.assess_number,
        rated_at: c.rated_at,
        rating: v,
        flagged: false,
        project_no: c.project_no.clone(),
        channel: c.channel.unwrap_or(crate::rating::CHANNEL_QR),
    };
    envelope::body(mapping, &rating, &ctx.entry)
}

fn eval_envelope(c: &EnvelopeCase, ctx: &Ctx) -> Expect<String> {
    let signed = envelope::Signed {
        idempotency_key: &c.idempotency_key,
        revision: &c.revision,
        body: c.body.as_bytes(),
    };
    if let Err(e) = envelope::verify(
        &ctx.upstream,
        &c.signature,
        &signed,
        c.now,
        envelope::DEFAULT_TOLERANCE_SECS,
    ) {
        return err(e);
    }
    match envelope::admit(c.taken, c.revision.parse().unwrap_or(0)) {
        envelope::Admit::New => Expect::Ok("verified".into()),
        envelope::Admit::Duplicate => Expect::Error("envelope.duplicate".into()),
        envelope::Admit::OutOfOrder => Expect::Error("envelope.out_of_order".into()),
    }
}

fn eval_workorder(c: &WorkorderCase) -> Expect<String> {
    if let Err(e) = crate::alert::webhook_verify(
        c.secret.as_bytes(),
        &c.signature,
        c.body.as_bytes(),
        c.now,
        crate::workorder::TOLERANCE_SECS,
    ) {
        return Expect::Error(e.code().into());
    }
    if c.direction == "event"
        && let Err(e) = crate::workorder::Event::parse(c.body.as_bytes())
    {
        return Expect::Error(format!("event.{}", e.field));
    }
    Expect::Ok("verified".into())
}

/// Re-runs every case from the file's own layers; returns how many were checked.
pub fn check(text: &str) -> Result<usize, String> {
    let v: Vectors = serde_json::from_str(text).map_err(|e| format!("vectors file: {e}"))?;
    if v.format != FILE_FORMAT || v.version != FILE_VERSION {
        return Err(format!("not a {FILE_FORMAT} v{FILE_VERSION} file"));
    }
    let ctx = Ctx::from(&v)?;
    let fail = |kind: &str, name: &str, got: String, want: String| {
        Err(format!("{kind} case {name:?}: got {got}, want {want}"))
    };
    for c in &v.qr {
        // The layers must agree with each other, then decode to the expected result.
        // `bytes` is what the segment decodes to, empty where it is not base32 at all.
        let layers_agree = match base32::decode(&c.segment) {
            Ok(b) => unhex(&c.bytes) == Some(b),
            Err(_) => c.bytes.is_empty(),
        };
        if !layers_agree {
            return fail("qr", &c.name, "bytes ≠ segment".into(), "equal".into());
        }
        if c.url != ctx.base.url(&c.segment) {
            return fail("qr", &c.name, c.url.clone(), ctx.base.url(&c.segment));
        }
        let got = eval_qr(c, &ctx);
        if got != c.expect {
            return fail("qr", &c.name, format!("{got:?}"), format!("{:?}", c.expect));
        }
    }
    for c in &v.challenge {
        if unhex(&c.bytes).map(|b| base32::encode(&b)).as_deref() != Some(c.text.as_str()) {
            return fail("challenge", &c.name, "bytes ≠ text".into(), "equal".into());
        }
        let got = eval_challenge(c, &ctx);
        if got != c.expect {
            return fail(
                "challenge",
                &c.name,
                format!("{got:?}"),
                format!("{:?}", c.expect),
            );
        }
    }
    for c in &v.rating {
        let got = eval_rating(c);
        if got != c.expect {
            return fail(
                "rating",
                &c.name,
                format!("{got:?}"),
                format!("{:?}", c.expect),
            );
        }
    }
    for c in &v.envelope {
        let body = envelope_body(c, &ctx)?;
        let tampered = c.name.contains("tampered");
        if (body == c.body) == tampered {
            return fail("envelope", &c.name, c.body.clone(), body);
        }
        let got = eval_envelope(c, &ctx);
        if got != c.expect {
            return fail(
                "envelope",
                &c.name,
                format!("{got:?}"),
                format!("{:?}", c.expect),
            );
        }
    }
    for c in &v.page {
        let got = render_page(&c.body)?;
        if got != c.json {
            return fail("page", &c.name, got, c.json.clone());
        }
        if serde_json::from_str::<serde_json::Value>(&c.json).is_err() {
            return fail("page", &c.name, "not JSON".into(), "JSON".into());
        }
    }
    for c in &v.workorder {
        let got = eval_workorder(c);
        if got != c.expect {
            return fail(
                "workorder",
                &c.name,
                format!("{got:?}"),
                format!("{:?}", c.expect),
            );
        }
    }
    Ok(v.qr.len()
        + v.challenge.len()
        + v.rating.len()
        + v.envelope.len()
        + v.page.len()
        + v.workorder.len())
}

/// Asserts that a freshly generated case evaluates to what its author meant, then keeps the
/// evaluated result. A mismatch here is a bug in a format or in the generator: it panics.
fn intend<T: std::fmt::Debug + PartialEq>(
    name: &str,
    got: Expect<T>,
    want_err: Option<&str>,
) -> Expect<T> {
    match (&got, want_err) {
        (Expect::Ok(_), None) => {}
        (Expect::Error(e), Some(w)) if e == w => {}
        _ => panic!("vector {name}: evaluates to {got:?}, meant {want_err:?}"),
    }
    got
}

/// The fixed inputs every format's cases are made from, all from the seed.
struct Seeds {
    qr_a: Key,
    qr_b: Key,
    qr_out: Key,
    ch_key: Key,
    ch_out: Key,
    up_key: Key,
    /// The issue day of the printed codes.
    day: Day,
    staff_code: CodeId,
    window_code: CodeId,
    revoked_code: CodeId,
    left_staff: StaffRef,
    left_code: CodeId,
    staff_left_on: Day,
}

/// When the challenges are issued: 2026-11-22 08:00 CST.
const T0: u64 = 1_795_305_600;

impl Seeds {
    fn new() -> Seeds {
        let left_staff = StaffRef::derive("330102", "SC0077");
        Seeds {
            qr_a: Key::new(KeyPurpose::Qr, 3301, det("qr key 3301")),
            qr_b: Key::new(KeyPurpose::Qr, 3302, det("qr key 3302")),
            qr_out: Key::new(KeyPurpose::Qr, 9999, det("qr key 9999")),
            ch_key: Key::new(KeyPurpose::Challenge, 1, det("challenge key 1")),
            ch_out: Key::new(KeyPurpose::Challenge, 9, det("challenge key 9")),
            up_key: Key::new(KeyPurpose::Upstream, 1, det("upstream key 1")),
            day: Day::parse("2026-11-01").expect("valid date"),
            staff_code: CodeId {
                window: WindowRef::derive("330102", "上城区市民中心", "A12"),
                staff: Some(StaffRef::derive("330102", "SC0042")),
            },
            window_code: CodeId {
                window: WindowRef::derive("330102", "上城区市民中心", "B03"),
                staff: None,
            },
            revoked_code: CodeId {
                window: WindowRef::derive("330102", "上城区市民中心", "C01"),
                staff: Some(StaffRef::derive("330102", "SC0101")),
            },
            left_staff,
            left_code: CodeId {
                window: WindowRef::derive("330102", "上城区市民中心", "C02"),
                staff: Some(left_staff),
            },
            staff_left_on: Day::parse("2026-11-15").expect("valid date"),
        }
    }

    fn revocations(&self) -> Revocations {
        Revocations {
            entries: vec![
                Revocation::Code {
                    code: self.revoked_code,
                    issued_before: None,
                },
                Revocation::Staff {
                    staff: self.left_staff,
                    issued_before: self.staff_left_on,
                },
            ],
        }
    }

    /// The valid staff code's payload.
    fn good(&self) -> Vec<u8> {
        QrPayload::seal_bytes(self.staff_code, self.day, &self.qr_a).to_vec()
    }

    /// The challenge the valid cases answer.
    fn base_challenge(&self) -> Challenge {
        Challenge {
            kid: 1,
            code: self.staff_code,
            issued_at: T0,
            nonce: det8("challenge nonce 1"),
            device: challenge::device_tag(&det16("device 1")),
            // Pinned: the vectors do not follow the edge's default.
            difficulty: 14,
        }
    }

    /// The base challenge's bytes and its lowest solution.
    fn solved(&self) -> ([u8; challenge::CHALLENGE_LEN], u32) {
        let c = self.base_challenge();
        let bytes = c.seal_bytes(&self.ch_key);
        let sol = challenge::solve(&bytes, c.difficulty, 0, u32::MAX).expect("solvable");
        (bytes, sol)
    }

    /// A submission's JSON for the valid code and challenge, with a rating of `level` and `tags`
    /// changed by `f`.
    fn submission(&self, level: Level, tags: &[u16], f: &dyn Fn(&mut RatingInput)) -> String {
        let (bytes, sol) = self.solved();
        let mut s = Submission {
            code: base32::encode(&self.good()),
            challenge: base32::encode(&bytes),
            pow: sol,
            id: Id128(det16("rating id 1")),
            device: None,
            rating: RatingInput::new(level, tags),
            website: String::new(),
        };
        f(&mut s.rating);
        s.to_json()
    }
}

/// The vectors file, from the fixed seed. Deterministic: the same bytes on every machine.
pub fn generate() -> String {
    let s = Seeds::new();
    // The unit's 统一社会信用代码 (an 11… 机关 code of 区划 330102, its check character computed):
    // the provincial mapping's deptCode.
    let entry = Entry {
        dept_code: Some("11330102MB1234567B".into()),
        ..Entry::example("A12", Some("SC0042"))
    };
    debug_assert_eq!(entry.code, s.staff_code);
    let mut v = Vectors {
        format: FILE_FORMAT.into(),
        version: FILE_VERSION,
        note: "Generated by `cargo xtask vectors` from the seed; do not edit by hand. Keys here are test keys, never used in a deployment.".into(),
        seed: SEED.into(),
        keys: Keys {
            qr: vec![s.qr_a.to_text(), s.qr_b.to_text()],
            challenge: vec![s.ch_key.to_text()],
            upstream: vec![s.up_key.to_text()],
            unlisted_qr: s.qr_out.to_text(),
        },
        base_url: "https://pj.example.gov.cn/".into(),
        revocations: s.revocations().to_json(),
        entry,
        qr: vec![],
        challenge: vec![],
        rating: vec![],
        envelope: vec![],
        page: vec![],
        workorder: vec![],
    };
    let ctx = Ctx::from(&v).expect("generated context is valid");
    v.qr = qr_cases(&s, &ctx);
    v.challenge = challenge_cases(&s, &ctx);
    v.rating = rating_cases(&s);
    v.envelope = envelope_cases(&s, &ctx);
    v.page = page_cases();
    v.workorder = workorder_cases();
    let mut out = serde_json::to_string_pretty(&v).expect("vectors serialise");
    out.push('\n');
    out
}

/// QR payloads: valid ones, every way one is refused, revocations.
fn qr_cases(s: &Seeds, ctx: &Ctx) -> Vec<QrCase> {
    let (qr_a, qr_b, qr_out) = (&s.qr_a, &s.qr_b, &s.qr_out);
    let (day, staff_code, window_code) = (s.day, s.staff_code, s.window_code);
    let (revoked_code, left_code, staff_left_on) = (s.revoked_code, s.left_code, s.staff_left_on);
    let qr_case = |name: &str, what: &str, segment: String, want: Option<&str>| {
        let mut c = QrCase {
            name: name.into(),
            what: what.into(),
            bytes: base32::decode(&segment)
                .map(|b| hex(&b))
                .unwrap_or_default(),
            url: ctx.base.url(&segment),
            segment,
            expect: Expect::Error(String::new()),
        };
        c.expect = intend(name, eval_qr(&c, ctx), want);
        c
    };
    let sealed = |code, d, k: &Key| QrPayload::seal_bytes(code, d, k).to_vec();
    let good = s.good();
    let mut qr = vec![qr_case(
        "valid_staff",
        "a staff member's code",
        base32::encode(&good),
        None,
    )];
    let win = sealed(window_code, day, qr_a);
    qr.push(qr_case(
        "valid_window_only",
        "a window-level code for rotating staff",
        base32::encode(&win),
        None,
    ));
    let b = sealed(staff_code, day, qr_b);
    qr.push(qr_case(
        "valid_second_authority",
        "the same window, issued by another authority's key",
        base32::encode(&b),
        None,
    ));
    qr.push(qr_case(
        "valid_lower_case",
        "a scanner folded the URL to lower case",
        base32::encode(&good).to_lowercase(),
        None,
    ));
    let mut t = good.clone();
    t[26] ^= 1;
    qr.push(qr_case(
        "bad_tag",
        "last tag bit flipped",
        base32::encode(&t),
        Some("qr.bad_tag"),
    ));
    let mut t = good.clone();
    t[9] ^= 0x80;
    qr.push(qr_case(
        "altered_window",
        "window ref changed, tag kept",
        base32::encode(&t),
        Some("qr.bad_tag"),
    ));
    let mut t = good.clone();
    t[3..5].copy_from_slice(&(day.0 + 30).to_be_bytes());
    qr.push(qr_case(
        "altered_date",
        "issue day moved, tag kept",
        base32::encode(&t),
        Some("qr.bad_tag"),
    ));
    let mut t = b.clone();
    t[1..3].copy_from_slice(&3301u16.to_be_bytes());
    qr.push(qr_case(
        "other_authority_tag",
        "tagged with authority 3302's key, claims key 3301",
        base32::encode(&t),
        Some("qr.bad_tag"),
    ));
    let t = sealed(staff_code, day, qr_out);
    qr.push(qr_case(
        "unknown_key",
        "genuine for a key id this edge does not have",
        base32::encode(&t),
        Some("qr.unknown_key"),
    ));
    let mut t = good.clone();
    t[0] = 2;
    qr.push(qr_case(
        "future_version",
        "format version 2",
        base32::encode(&t),
        Some("qr.version"),
    ));
    let seg = base32::encode(&good);
    qr.push(qr_case(
        "truncated",
        "last character lost",
        seg[..seg.len() - 1].to_string(),
        Some("qr.malformed"),
    ));
    qr.push(qr_case(
        "extended",
        "a character added",
        format!("{seg}A"),
        Some("qr.malformed"),
    ));
    qr.push(qr_case(
        "not_base32",
        "a 1, which base32 does not use",
        format!("1{}", &seg[1..]),
        Some("qr.malformed"),
    ));
    let t = sealed(revoked_code, day, qr_a);
    qr.push(qr_case(
        "revoked_code",
        "this one code was withdrawn",
        base32::encode(&t),
        Some("qr.revoked"),
    ));
    let t = sealed(left_code, day, qr_a);
    qr.push(qr_case(
        "revoked_staff",
        "every code of this staff member issued before 2026-11-15 was withdrawn",
        base32::encode(&t),
        Some("qr.revoked"),
    ));
    let t = sealed(left_code, staff_left_on, qr_a);
    qr.push(qr_case(
        "reissued_after_revocation",
        "the same staff member's code reprinted on 2026-11-15",
        base32::encode(&t),
        None,
    ));
    qr
}

/// Challenges: solved, too young, expired, forged, spliced, for another code.
fn challenge_cases(s: &Seeds, ctx: &Ctx) -> Vec<ChallengeCase> {
    let (ch_key, ch_out) = (&s.ch_key, &s.ch_out);
    let (staff_code, window_code) = (s.staff_code, s.window_code);
    let t0 = T0;
    let base_challenge = s.base_challenge();
    let ch_case = |name: &str,
                   what: &str,
                   bytes: &[u8],
                   code: CodeId,
                   now: u64,
                   solution: u32,
                   want: Option<&str>| {
        let mut c = ChallengeCase {
            name: name.into(),
            what: what.into(),
            bytes: hex(bytes),
            text: base32::encode(bytes),
            code: code.to_text(),
            cookie: None,
            now,
            solution,
            expect: Expect::Error(String::new()),
        };
        c.expect = intend(name, eval_challenge(&c, ctx), want);
        c
    };
    let (bytes, sol) = s.solved();
    let unsolved = (0..)
        .find(|&x| !challenge::pow_ok(&bytes, x, base_challenge.difficulty))
        .expect("some counter fails");
    let other = Challenge {
        nonce: det8("challenge nonce 2"),
        ..base_challenge
    }
    .seal_bytes(ch_key);
    let mut spliced = bytes;
    spliced[38..].copy_from_slice(&other[38..]);
    let mut nonce_changed = bytes;
    nonce_changed[21] ^= 1;
    let mut easier = bytes;
    easier[37] = 0;
    let mut later = bytes;
    later[13..21].copy_from_slice(&(t0 + 3600).to_be_bytes());
    let foreign = base_challenge.seal_bytes(ch_out);
    let mut v3 = bytes;
    v3[0] = 3;
    let mut v1 = bytes;
    v1[0] = 1;
    let with_cookie = |mut c: ChallengeCase, cookie: [u8; 16], want: Option<&str>| {
        c.cookie = Some(hex(&cookie));
        c.expect = intend(&c.name, eval_challenge(&c, ctx), want);
        c
    };
    vec![
        with_cookie(
            ch_case(
                "own_device",
                "solved, with the cookie of the device it was served to",
                &bytes,
                staff_code,
                t0 + 10,
                sol,
                None,
            ),
            det16("device 1"),
            None,
        ),
        with_cookie(
            ch_case(
                "other_device",
                "posted with another device's cookie",
                &bytes,
                staff_code,
                t0 + 10,
                sol,
                None,
            ),
            det16("device 2"),
            Some("challenge.wrong_device"),
        ),
        ch_case(
            "valid",
            "solved, 10 s old",
            &bytes,
            staff_code,
            t0 + 10,
            sol,
            None,
        ),
        ch_case(
            "valid_at_min_age",
            "exactly 3 s old",
            &bytes,
            staff_code,
            t0 + 3,
            sol,
            None,
        ),
        ch_case(
            "valid_at_max_age",
            "exactly 30 minutes old",
            &bytes,
            staff_code,
            t0 + 1800,
            sol,
            None,
        ),
        ch_case(
            "too_young",
            "2 s old: no person reads that fast",
            &bytes,
            staff_code,
            t0 + 2,
            sol,
            Some("challenge.too_young"),
        ),
        ch_case(
            "from_the_future",
            "issued after the receiver's clock",
            &bytes,
            staff_code,
            t0 - 10,
            sol,
            Some("challenge.too_young"),
        ),
        ch_case(
            "expired",
            "30 minutes and 1 s old",
            &bytes,
            staff_code,
            t0 + 1801,
            sol,
            Some("challenge.expired"),
        ),
        ch_case(
            "other_code",
            "served for another window",
            &bytes,
            window_code,
            t0 + 10,
            sol,
            Some("challenge.wrong_code"),
        ),
        ch_case(
            "unsolved",
            "the counter does not solve the proof of work",
            &bytes,
            staff_code,
            t0 + 10,
            unsolved,
            Some("challenge.unsolved"),
        ),
        ch_case(
            "spliced",
            "fields of one challenge with the tag of another",
            &spliced,
            staff_code,
            t0 + 10,
            sol,
            Some("challenge.bad_tag"),
        ),
        ch_case(
            "nonce_changed",
            "nonce altered, tag kept",
            &nonce_changed,
            staff_code,
            t0 + 10,
            sol,
            Some("challenge.bad_tag"),
        ),
        ch_case(
            "difficulty_lowered",
            "difficulty set to 0, tag kept",
            &easier,
            staff_code,
            t0 + 10,
            0,
            Some("challenge.bad_tag"),
        ),
        ch_case(
            "time_moved",
            "issue time moved an hour on to dodge expiry",
            &later,
            staff_code,
            t0 + 3700,
            sol,
            Some("challenge.bad_tag"),
        ),
        ch_case(
            "unknown_key",
            "made with an edge key this edge does not have",
            &foreign,
            staff_code,
            t0 + 10,
            sol,
            Some("challenge.unknown_key"),
        ),
        ch_case(
            "future_version",
            "format version 3",
            &v3,
            staff_code,
            t0 + 10,
            sol,
            Some("challenge.version"),
        ),
        ch_case(
            "old_version",
            "format version 1 (no device): a page from before the upgrade",
            &v1,
            staff_code,
            t0 + 10,
            sol,
            Some("challenge.version"),
        ),
        ch_case(
            "truncated",
            "last byte missing",
            &bytes[..bytes.len() - 1],
            staff_code,
            t0 + 10,
            sol,
            Some("challenge.malformed"),
        ),
    ]
}

/// Rating submissions: each level, every rule a rating can break, malformed bodies.
fn rating_cases(s: &Seeds) -> Vec<RatingCase> {
    let rating_case = |name: &str, what: &str, body: String, want: Option<&str>| {
        let mut c = RatingCase {
            name: name.into(),
            what: what.into(),
            submission: body,
            expect: Expect::Error(String::new()),
        };
        c.expect = intend(name, eval_rating(&c), want);
        c
    };
    let with = |level, tags: &[u16], f: &dyn Fn(&mut RatingInput)| s.submission(level, tags, f);
    let mut rating = vec![];
    for l in Level::ALL {
        let first = l.tags()[0].code;
        rating.push(rating_case(
            &format!("valid_{}", l.as_str()),
            &format!("{} with one reason", l.label_zh()),
            with(l, &[first], &|_| {}),
            None,
        ));
    }
    rating.push(rating_case(
        "valid_no_reason_for_good",
        "非常满意 needs no reason",
        with(Level::VerySatisfied, &[], &|_| {}),
        None,
    ));
    rating.push(rating_case(
        "valid_bad_with_callback",
        "差评 with a callback phone and consent, matter and comment",
        with(Level::VeryDissatisfied, &[113, 115], &|r| {
            r.phone = Some("+86 138-1234-5678".into());
            r.consent = true;
            r.matter = Some("330102-SC-001".into());
            r.comment = "让我跑了三个窗口".into();
        }),
        None,
    ));
    rating.push(rating_case(
        "comment_cleaned",
        "control characters and bidi overrides removed, CRLF to LF",
        with(Level::Basic, &[], &|r| {
            r.comment = "  第一行\r\n第二行\u{0}\u{1b}[31m\u{202E}反转\t完  ".into();
        }),
        None,
    ));
    rating.push(rating_case(
        "comment_markup_kept_as_text",
        "markup and SQL are plain text",
        with(Level::Satisfied, &[], &|r| {
            r.comment = "<img src=x onerror=alert(1)>'); DROP TABLE ratings;--".into();
        }),
        None,
    ));
    rating.push(rating_case(
        "comment_personal_numbers_hidden",
        "an ID number (check digit X), a full-width mobile, a dashed mobile and a bank card \
         (Luhn) are hidden; an 18-digit 办件号 whose check digit fails is kept",
        with(Level::VeryDissatisfied, &[115], &|r| {
            r.comment = "身份证11010519491231002X，手机１３８１２３４５６７８，\
                         另一个139-1234-5678，卡号6222 0212 3456 7894，\
                         办件号330102202611270001"
                .into();
        }),
        None,
    ));
    rating.push(rating_case(
        "comment_500",
        "exactly 500 characters",
        with(Level::Satisfied, &[], &|r| r.comment = "好".repeat(500)),
        None,
    ));
    rating.push(rating_case(
        "comment_501",
        "one character too many",
        with(Level::Satisfied, &[], &|r| r.comment = "好".repeat(501)),
        Some("rating.comment_too_long"),
    ));
    rating.push(rating_case(
        "bad_without_reason",
        "不满意 with no reason",
        with(Level::Dissatisfied, &[], &|_| {}),
        Some("rating.no_tag"),
    ));
    rating.push(rating_case(
        "tag_of_other_level",
        "a 非常满意 reason on 不满意",
        with(Level::Dissatisfied, &[510], &|_| {}),
        Some("rating.tag_of_other_level"),
    ));
    rating.push(rating_case(
        "unknown_tag",
        "a code on no national list",
        with(Level::Basic, &[399], &|_| {}),
        Some("rating.unknown_tag"),
    ));
    rating.push(rating_case(
        "disabled_old_tag",
        "a code from the disabled older list",
        with(Level::VerySatisfied, &[501], &|_| {}),
        Some("rating.unknown_tag"),
    ));
    rating.push(rating_case(
        "duplicate_tag",
        "the same reason twice",
        with(Level::Basic, &[307, 307], &|_| {}),
        Some("rating.duplicate_tag"),
    ));
    rating.push(rating_case(
        "old_tag_version",
        "reasons of content version 1",
        with(Level::Basic, &[307], &|r| r.tag_version = 1),
        Some("rating.tag_version"),
    ));
    rating.push(rating_case(
        "phone_without_consent",
        "a phone but no consent",
        with(Level::Dissatisfied, &[214], &|r| {
            r.phone = Some("13812345678".into())
        }),
        Some("rating.phone_without_consent"),
    ));
    rating.push(rating_case(
        "phone_on_good_rating",
        "a phone with 满意",
        with(Level::Satisfied, &[], &|r| {
            r.phone = Some("13812345678".into());
            r.consent = true;
        }),
        Some("rating.phone_not_allowed"),
    ));
    rating.push(rating_case(
        "phone_invalid",
        "ten digits",
        with(Level::Dissatisfied, &[214], &|r| {
            r.phone = Some("1381234567".into());
            r.consent = true;
        }),
        Some("rating.phone_invalid"),
    ));
    rating.push(rating_case(
        "matter_invalid",
        "a matter code with Chinese characters",
        with(Level::Basic, &[], &|r| r.matter = Some("食品许可".into())),
        Some("rating.matter_invalid"),
    ));
    let base_json = with(Level::Basic, &[], &|_| {});
    rating.push(rating_case(
        "unknown_field",
        "an extra field",
        base_json.replacen('{', "{\"admin\":true,", 1),
        Some("request.malformed"),
    ));
    rating.push(rating_case(
        "future_submission_version",
        "v 2",
        base_json.replacen("\"v\":1", "\"v\":2", 1),
        Some("request.version"),
    ));
    rating.push(rating_case(
        "unknown_level",
        "level spelled as a number",
        base_json.replace("\"basic\"", "3"),
        Some("request.malformed"),
    ));
    rating.push(rating_case(
        "unknown_level_name",
        "a level that does not exist",
        base_json.replace("\"basic\"", "\"good\""),
        Some("request.bad_field"),
    ));
    rating.push(rating_case(
        "bad_id",
        "idempotency key too short",
        base_json.replace(&Id128(det16("rating id 1")).to_text(), "ABC"),
        Some("request.bad_field"),
    ));
    rating.push(rating_case(
        "truncated_json",
        "the body cut in half",
        base_json[..base_json.len() / 2].to_string(),
        Some("request.malformed"),
    ));
    rating.push(rating_case(
        "not_an_object",
        "a JSON array",
        "[1,2,3]".into(),
        Some("request.malformed"),
    ));
    rating
}

/// Upstream envelopes: each mapping, signed, and every way a receiver refuses one.
fn envelope_cases(s: &Seeds, ctx: &Ctx) -> Vec<EnvelopeCase> {
    let up_key = &s.up_key;
    let bad_review = s.submission(Level::VeryDissatisfied, &[113, 115], &|r| {
        r.phone = Some("13812345678".into());
        r.consent = true;
        r.matter = Some("330102-SC-001".into());
        r.comment = "让我跑了三个窗口".into();
    });
    let rated_at = T0 as i64 + 25;
    // The body of the case's rating and its signature, as the edge sends them 5 s after rating.
    let seal = |c: &mut EnvelopeCase| {
        c.body = envelope_body(c, ctx).expect("valid envelope input");
        c.signature = envelope::sign(
            up_key,
            rated_at + 5,
            &envelope::Signed {
                idempotency_key: &c.idempotency_key,
                revision: &c.revision,
                body: c.body.as_bytes(),
            },
        );
    };
    let env_case = |name: &str,
                    what: &str,
                    mapping: &str,
                    sub: &str,
                    assess: u8,
                    now: i64,
                    tamper: &dyn Fn(&mut EnvelopeCase),
                    want: Option<&str>| {
        let mut c = EnvelopeCase {
            name: name.into(),
            what: what.into(),
            mapping: mapping.into(),
            submission: sub.into(),
            rated_at,
            assess_number: assess,
            project_no: None,
            channel: None,
            idempotency_key: String::new(),
            revision: assess.to_string(),
            body: String::new(),
            signature: String::new(),
            now,
            taken: (assess > 1).then_some(1),
            expect: Expect::Error(String::new()),
        };
        let (s, _) = validated(sub).expect("valid submission");
        c.idempotency_key = match assess {
            1 => s.id.to_text(),
            n => format!("{}.{n}", s.id.to_text()),
        };
        seal(&mut c);
        tamper(&mut c);
        c.expect = intend(name, eval_envelope(&c, ctx), want);
        c
    };
    let none = &|_: &mut EnvelopeCase| {};
    let amend = s.submission(Level::Satisfied, &[406], &|_| {});
    let praise = s.submission(Level::VerySatisfied, &[510, 517], &|r| {
        r.comment = "一次就办好了".into();
    });
    // Through a 一事一评 link: the same, with its 办件号 (projectNo).
    let link = {
        let mut c = env_case(
            "provincial_link",
            "through a 一事一评 link: the 办件号 as projectNo",
            "provincial",
            &bad_review,
            1,
            rated_at + 6,
            none,
            None,
        );
        c.project_no = Some("330102-2026-000123".into());
        seal(&mut c);
        c.expect = intend(&c.name, eval_envelope(&c, ctx), None);
        c
    };
    // From a hall tablet in kiosk mode, armed by the queue system for a 办件: pf 4.
    let kiosk = {
        let mut c = env_case(
            "provincial_kiosk",
            "from a hall tablet armed for a 办件: pf 4 (政务大厅平板电脑) and projectNo",
            "provincial",
            &bad_review,
            1,
            rated_at + 6,
            none,
            None,
        );
        c.project_no = Some("330102-2026-000124".into());
        c.channel = Some(crate::rating::CHANNEL_HALL_TABLET);
        seal(&mut c);
        c.expect = intend(&c.name, eval_envelope(&c, ctx), None);
        c
    };
    vec![
        env_case(
            "project",
            "the project's own JSON",
            "project",
            &bad_review,
            1,
            rated_at + 6,
            none,
            None,
        ),
        env_case(
            "provincial",
            "provincial field names",
            "provincial",
            &bad_review,
            1,
            rated_at + 6,
            none,
            None,
        ),
        env_case(
            "provincial_amend",
            "a same-day 追评 (assessNumber 2), after revision 1 was taken",
            "provincial",
            &amend,
            2,
            rated_at + 6,
            none,
            None,
        ),
        env_case(
            "provincial_very_satisfied",
            "the other end of the scale: 非常满意 is satisfaction 5 in the provincial direction",
            "provincial",
            &praise,
            1,
            rated_at + 6,
            none,
            None,
        ),
        env_case(
            "gbt39046",
            "GB/T 39046-2020's data items: 非常不满意 is 满意度代码 5 (A.8), 评价时间 YYYYMMDDThhmmss",
            "gbt39046",
            &bad_review,
            1,
            rated_at + 6,
            none,
            None,
        ),
        env_case(
            "gbt39046_very_satisfied",
            "GB/T 39046-2020: 非常满意 is 满意度代码 1 (A.8), the opposite of the provincial direction",
            "gbt39046",
            &praise,
            1,
            rated_at + 6,
            none,
            None,
        ),
        env_case(
            "amend_before_first",
            "revision 2 of a rating whose revision 1 the receiver has not taken",
            "provincial",
            &amend,
            2,
            rated_at + 6,
            &|c| c.taken = None,
            Some("envelope.out_of_order"),
        ),
        env_case(
            "replayed_same_key",
            "a captured envelope sent again within 5 minutes under its own key",
            "project",
            &bad_review,
            1,
            rated_at + 60,
            &|c| c.taken = Some(1),
            Some("envelope.duplicate"),
        ),
        env_case(
            "replayed_new_key",
            "a captured envelope sent again within 5 minutes under a new idempotency key",
            "project",
            &bad_review,
            1,
            rated_at + 60,
            &|c| c.idempotency_key = "AAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
            Some("envelope.bad_signature"),
        ),
        env_case(
            "revision_changed",
            "the revision raised after signing, to pass as a new 追评",
            "project",
            &bad_review,
            1,
            rated_at + 6,
            &|c| c.revision = "2".into(),
            Some("envelope.bad_signature"),
        ),
        env_case(
            "tampered_body",
            "satisfaction changed after signing",
            "provincial",
            &bad_review,
            1,
            rated_at + 6,
            &|c| {
                c.body = c
                    .body
                    .replace("\"satisfaction\":\"1\"", "\"satisfaction\":\"5\"")
            },
            Some("envelope.bad_signature"),
        ),
        env_case(
            "stale",
            "received 10 minutes after signing",
            "project",
            &bad_review,
            1,
            rated_at + 605,
            none,
            Some("envelope.stale"),
        ),
        env_case(
            "unknown_key",
            "signed with a key id the receiver does not have",
            "project",
            &bad_review,
            1,
            rated_at + 6,
            &|c| c.signature = c.signature.replace(",k=1,", ",k=2,"),
            Some("envelope.unknown_key"),
        ),
        env_case(
            "version_1_header",
            "a version 1 signature (over the body alone)",
            "project",
            &bad_review,
            1,
            rated_at + 6,
            &|c| c.signature = c.signature.replace(",v2=", ",v1="),
            Some("envelope.malformed_header"),
        ),
        env_case(
            "malformed_header",
            "no timestamp",
            "project",
            &bad_review,
            1,
            rated_at + 6,
            &|c| {
                c.signature = c
                    .signature
                    .split_once(',')
                    .map(|x| x.1.to_string())
                    .unwrap_or_default()
            },
            Some("envelope.malformed_header"),
        ),
        link,
        kiosk,
    ]
}

/// What the edge writes for the page: boot data, success and error bodies.
/// Orders and events: signed well, tampered, stale, malformed, and events the edge refuses.
fn workorder_cases() -> Vec<WorkorderCase> {
    use crate::workorder::{Event, EventType, Order, OrderKind};
    let secret = "orders-secret-0123456789";
    let key = "events-key-of-12345-0123";
    let t = T0 as i64 + 3600;
    let order = Order {
        id: 17,
        kind: OrderKind::New,
        case: "C000042".into(),
        rating: "AEAQCAIBAEAQCAIBAEAQCAIBAE".into(),
        level: Level::VeryDissatisfied,
        tags: vec![113, 115],
        matter: Some("330102-GS-001".into()),
        comment: "来回跑了三次".into(),
        phone: Some("13812345678".into()),
        region: "330102".into(),
        hall: "上城区市民中心".into(),
        window: "A12".into(),
        dept: "区市场监督管理局".into(),
        staff_id: Some("SC0042".into()),
        rated_at: T0 as i64,
        callback_due: T0 as i64 + 86_400,
        fix_due: T0 as i64 + 5 * 86_400,
        reopened_at: None,
        verdict: None,
        events: "https://pj.example.gov.cn/api/v1/cases/C000042/events".into(),
    };
    let reopened = Order {
        id: 18,
        kind: OrderKind::Reopened,
        phone: None,
        reopened_at: Some(T0 as i64 + 9 * 86_400),
        verdict: Some("unsatisfied".into()),
        ..order.clone()
    };
    let event = |kind, reply: Option<&str>| Event {
        id: format!("JS-{}", kind as u8),
        kind,
        order_no: Some("JS2026120600042".into()),
        reply: reply.map(str::to_owned),
        note: String::new(),
    };
    let sign = |k: &str, body: &str, at: i64| {
        crate::alert::webhook_sign(k.as_bytes(), at, body.as_bytes())
    };
    let case = |name: &str,
                what: &str,
                dir: &str,
                k: &str,
                body: String,
                sig: String,
                want: Option<&str>| {
        let mut c = WorkorderCase {
            name: name.into(),
            what: what.into(),
            direction: dir.into(),
            secret: k.into(),
            body,
            signature: sig,
            now: t + 10,
            expect: Expect::Ok(String::new()),
        };
        c.expect = intend(name, eval_workorder(&c), want);
        c
    };
    let mut out = vec![];
    for (name, o) in [("order_new", &order), ("order_reopened", &reopened)] {
        let body = o.body();
        out.push(case(
            name,
            "a work order as the edge sends it, signed with the route's secret",
            "order",
            secret,
            body.clone(),
            sign(secret, &body, t),
            None,
        ));
    }
    let body = order.body();
    out.push(case(
        "order_tampered",
        "the body changed after signing",
        "order",
        secret,
        body.replace("13812345678", "13900000000"),
        sign(secret, &body, t),
        Some("webhook.bad_signature"),
    ));
    out.push(case(
        "order_stale",
        "signed more than 5 minutes before the receiver's clock",
        "order",
        secret,
        body.clone(),
        sign(secret, &body, t - 400),
        Some("webhook.stale"),
    ));
    out.push(case(
        "order_wrong_key",
        "signed with the bridge's key instead of the route's secret",
        "order",
        secret,
        body.clone(),
        sign(key, &body, t),
        Some("webhook.bad_signature"),
    ));
    for (name, e) in [
        ("event_received", event(EventType::Received, None)),
        ("event_handling", event(EventType::Handling, None)),
        (
            "event_replied",
            event(EventType::Replied, Some("已为您补办并致歉")),
        ),
        ("event_closed", event(EventType::Closed, None)),
        ("event_reopened", event(EventType::Reopened, None)),
    ] {
        let body = e.body();
        out.push(case(
            name,
            "an event as a bridge sends it, signed with its own key",
            "event",
            key,
            body.clone(),
            sign(key, &body, t),
            None,
        ));
    }
    let body = event(EventType::Closed, None).body();
    out.push(case(
        "event_malformed_header",
        "a signature header without its time",
        "event",
        key,
        body.clone(),
        sign(key, &body, t)
            .split_once(',')
            .map(|x| x.1.to_owned())
            .unwrap_or_default(),
        Some("webhook.malformed_header"),
    ));
    let bad = r#"{"format":"zsp.case-event","version":1,"id":"JS-9","type":"replied"}"#.to_owned();
    out.push(case(
        "event_reply_missing",
        "a reply event without its reply: refused, naming the field",
        "event",
        key,
        bad.clone(),
        sign(key, &bad, t),
        Some("event.reply"),
    ));
    let bad = r#"{"format":"zsp.case-event","version":1,"id":"JS-9","type":"done"}"#.to_owned();
    out.push(case(
        "event_unknown_type",
        "an event type the edge does not know",
        "event",
        key,
        bad.clone(),
        sign(key, &bad, t),
        Some("event.type"),
    ));
    out
}

fn page_cases() -> Vec<PageCase> {
    vec![
        page_case(
            "boot",
            "the landing page's boot data; `<` and `>` escaped so nothing closes its <script>",
            PageBody::Boot {
                lang: "zh".into(),
                code: "SEG</script>".into(),
                challenge: "CHALLENGE".into(),
                now: 1_793_500_000,
            },
        ),
        page_case(
            "accepted_first",
            "a first rating stored",
            PageBody::Accepted {
                id: "AAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
                assess_number: 1,
                bad: false,
                callback: false,
                day: "2026-11-01".into(),
                receipt: None,
                next: "您的评价已提交至政务服务“好差评”平台。".into(),
            },
        ),
        page_case(
            "accepted_amended_bad",
            "a 差评 with a callback phone, amending the day's rating (追评)",
            PageBody::Accepted {
                id: "AAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
                assess_number: 2,
                bad: true,
                callback: true,
                day: "2026-11-01".into(),
                receipt: Some("KFGQ2RLMYB4D".into()),
                next: "工作人员将在1个工作日内与您联系。".into(),
            },
        ),
        page_case(
            "error_field",
            "a refusal naming the form field at fault",
            PageBody::Error {
                code: "rating.no_tag".into(),
                message: "请至少选择一项不满意的原因".into(),
                message_en: "Please choose at least one reason.".into(),
                field: Some("tags".into()),
                detail: None,
            },
        ),
        page_case(
            "error_detail",
            "an administrator's upload refused, saying where",
            PageBody::Error {
                code: "admin.directory".into(),
                message: "上传的文件格式不正确。".into(),
                message_en: "The uploaded file is not valid.".into(),
                field: None,
                detail: Some("entry 3: region \"33010\" is not 6 digits".into()),
            },
        ),
        page_case(
            "done",
            "what an embedding host receives once the citizen's 追评 is stored",
            PageBody::Done {
                id: "AAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
                assess_number: 2,
            },
        ),
        page_case(
            "kiosk_standby",
            "a hall tablet standing by: nobody on duty, nothing armed",
            PageBody::KioskState {
                hall: "上城区市民中心".into(),
                window: "A07".into(),
                dept: "区市场监督管理局".into(),
                staff: None,
                arm: None,
                idle_secs: 60,
            },
        ),
        page_case(
            "kiosk_armed",
            "a hall tablet with its staff member on duty, armed by the queue system for one 办件",
            PageBody::KioskState {
                hall: "上城区市民中心".into(),
                window: "A07".into(),
                dept: "区市场监督管理局".into(),
                staff: Some((
                    "李<强>".into(),
                    "HZ-0108".into(),
                    Some("/kiosk/TOKEN/photo?v=1793500000".into()),
                )),
                arm: Some((
                    "KFGQ2RLMYB4DAAAA".into(),
                    "330102-SC-001".into(),
                    "食品经营许可（新办）".into(),
                    "BJ-2026-000123".into(),
                )),
                idle_secs: 90,
            },
        ),
    ]
}
