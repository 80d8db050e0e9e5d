//! Kiosk mode: a hall tablet at a window (评价器, 评价渠道 4) opened as `/kiosk/<token>` with a
//! device token a hall administrator created in the console (revocable). It stands by showing the
//! window and the staff member on duty; it is armed for one rating by the staff member's
//! "请评价" or by the queue system (a link minted with `"kiosk": true`, taken once by
//! [`take_arm`]); then it returns to standby. Its anti-abuse is the device token plus the arming:
//! no proof of work, no cookie. Its rules and statements are here; its routes are `handlers`
//! (the console's tablets are the console's).

pub mod handlers;

use crate::error::ApiError;
use crate::links::LinkRow;
use crate::sql::{Stmt, Val, stmt};
use crate::submit::{Checked, Via};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use wire::directory::Entry;
use wire::qr::CodeId;
use wire::rating::Id128;
use wire::submission::Submission;
use wire::time::Day;

/// The device token: 26 base32 letters, 128 random bits. Only its digest is stored.
pub const TOKEN_LEN: usize = 26;
/// How long a tablet stays armed without a touch before it returns to standby (`KIOSK_IDLE_SECS`).
pub const IDLE_DEFAULT_SECS: u32 = 60;

/// A tablet arms again this long after an arming that a rating took (`KIOSK_ARM_SECS`).
pub const ARM_DEFAULT_SECS: u32 = 20;

/// What [`Settings::from_vars`] reads.
pub const SETTINGS: &[crate::config::Setting] = &[
    crate::config::Setting::new(
        "KIOSK_IDLE_SECS",
        "60",
        "seconds an armed hall tablet waits untouched before it returns to standby",
    ),
    crate::config::Setting::new(
        "KIOSK_ARM_SECS",
        "20",
        "a hall tablet is armed again at most this many seconds after its last rating",
    ),
];

/// Kiosk mode's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// An armed tablet untouched this long returns to standby.
    pub idle_secs: u32,
    /// A tablet's arming that a rating took is followed by the next only this much later.
    pub arm_secs: u32,
}

impl Settings {
    pub fn from_vars(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, crate::config::ConfigError> {
        Ok(Settings {
            idle_secs: crate::config::number(get, "KIOSK_IDLE_SECS", IDLE_DEFAULT_SECS, 10, 600)?,
            arm_secs: crate::config::number(get, "KIOSK_ARM_SECS", ARM_DEFAULT_SECS, 1, 600)?,
        })
    }
}
/// A queue system's arming is taken by a tablet only this soon after the link was minted: the
/// citizen is still at the window.
pub const ARM_WINDOW_SECS: i64 = 600;
/// The largest photo of a staff member taken.
pub const PHOTO_MAX: usize = 256 * 1024;
/// A tablet's rating is stored once however often its offline queue sends it, for this long.
pub const REPLAY_SECS: i64 = 7 * 86_400;
pub use wire::submission::ARMED_BY_STAFF;

pub fn new_token(random: [u8; 16]) -> String {
    wire::base32::encode(&random)
}

/// A token as the URL holds it, if it could be one.
pub fn parse_token(s: &str) -> Option<&str> {
    crate::access::capability(s, TOKEN_LEN)
}

/// The token's stored digest (hex).
pub fn digest(token: &str) -> String {
    wire::key::hex(
        &Sha256::new()
            .chain_update(b"zsp-kiosk-v1")
            .chain_update(token.as_bytes())
            .finalize(),
    )
}

/// The token's public name: the first ten hex digits of its digest.
pub fn public_id(digest: &str) -> &str {
    &digest[..10]
}

/// A tablet's label as an administrator types it: 1 to 40 characters, no control characters.
pub fn label_ok(label: &str) -> Result<&str, ApiError> {
    let l = label.trim();
    if l.is_empty() || l.chars().count() > 40 || l.chars().any(char::is_control) {
        return Err(ApiError::new(
            422,
            "kiosk.invalid",
            "平板名称应为 1 至 40 个字符。",
            "A tablet's label is 1 to 40 characters.",
        )
        .with_field("label"));
    }
    Ok(l)
}

/// A new tablet of the window `e`; the token is shown once, to the administrator who made it.
pub fn create(e: &Entry, label: &str, token: &str, by: &str, now: i64) -> Stmt {
    let d = digest(token);
    stmt(
        "INSERT INTO kiosks (id, digest, code, region, hall, label, created_at, by_actor) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        vec![
            public_id(&d).into(),
            d.as_str().into(),
            e.code.to_text().into(),
            e.region.as_str().into(),
            e.hall.as_str().into(),
            label.into(),
            now.into(),
            by.into(),
        ],
    )
}

const COLUMNS: &str = "id, code, region, hall, label, created_at, revoked_at";

pub fn by_token(token: &str) -> Stmt {
    stmt(
        format!("SELECT {COLUMNS} FROM kiosks WHERE digest = ?1"),
        vec![digest(token).into()],
    )
}

/// A window's tablets, newest first (the console's code page).
pub fn of_code(code: &str) -> Stmt {
    stmt(
        format!("SELECT {COLUMNS} FROM kiosks WHERE code = ?1 ORDER BY created_at DESC"),
        vec![code.into()],
    )
}

/// Revokes a tablet inside the actor's scope (and of the window `code`, when given); returns it
/// (none: not found there).
pub fn revoke(id: &str, code: Option<&str>, scope: &crate::access::Scope, now: i64) -> Stmt {
    crate::access::scoped(
        &format!(
            "UPDATE kiosks SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 \
             AND (?3 IS NULL OR code = ?3) AND {{scope}} RETURNING {COLUMNS}"
        ),
        scope,
        vec![Val::from(id), now.into(), code.into()],
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskRow {
    pub id: String,
    pub code: String,
    pub region: String,
    pub hall: String,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}
crate::row!(KioskRow {
    id,
    code,
    region,
    hall,
    label,
    created_at,
    revoked_at
});

impl KioskRow {
    pub fn usable(&self) -> Result<(), ApiError> {
        if self.revoked_at.is_some() {
            Err(REVOKED)
        } else {
            Ok(())
        }
    }

    pub fn code_id(&self) -> Option<CodeId> {
        CodeId::parse(&self.code)
    }

    /// The day its code's revocations are checked against: a tablet set up before a revocation
    /// of its window stops with the printed cards.
    pub fn day(&self) -> Day {
        Day::from_unix(self.created_at).unwrap_or(Day(0))
    }

    /// What one arming (a rating's idempotency key) is named by on this tablet: its device
    /// (`zsp-kiosk-device-v1`: one rating per arming, so a tablet's ratings never amend each
    /// other) and its replay nonce (`zsp-kiosk-nonce-v1`).
    fn derive(&self, what: &[u8], submission: Id128) -> Id128 {
        Id128::digest(what, &[self.id.as_bytes(), &submission.0])
    }
}

pub const REVOKED: ApiError = ApiError::new(
    410,
    "kiosk.revoked",
    "此评价平板已停用。如需继续使用，请大厅管理员在管理台重新生成设备令牌。",
    "This rating tablet has been withdrawn; a hall administrator can make a new device token.",
);
pub const TOO_SOON: ApiError = ApiError::new(
    429,
    "kiosk.too_soon",
    "上一位群众刚评价完，请稍候再点“请评价”。",
    "The last rating was moments ago; press 请评价 again shortly.",
);
pub const NOT_FOUND: ApiError = ApiError::new(
    404,
    "kiosk.unknown",
    "评价平板的设备令牌无效。请大厅管理员在管理台核对平板地址。",
    "This tablet's device token is not known; a hall administrator can check its address.",
);

fn bad(field: &'static str, zh: &'static str, en: &'static str) -> ApiError {
    ApiError::new(422, "kiosk.invalid", zh, en).with_field(field)
}

// ---- the staff member on duty ----

/// A staff member's photo, checked: a JPEG or PNG of at most [`PHOTO_MAX`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    pub mime: &'static str,
    pub base64: String,
}

pub fn photo_of(bytes: &[u8]) -> Result<Photo, ApiError> {
    let mime = if bytes.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else {
        return Err(bad(
            "photo",
            "照片应为 JPEG 或 PNG 图片。",
            "The photo must be a JPEG or PNG image.",
        ));
    };
    if bytes.len() > PHOTO_MAX {
        return Err(bad(
            "photo",
            "照片不能超过 256 KB。",
            "The photo must be at most 256 KB.",
        ));
    }
    Ok(Photo {
        mime,
        base64: wire::base64::encode(bytes),
    })
}

/// Who is on duty at a window, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDuty {
    pub name: String,
    pub staff_no: String,
    pub photo: Option<Photo>,
}

/// Checks a name (1 to 30 characters, as 评价人 in GB/T 39046), a 工号 (1 to 32 letters, digits
/// or `-`) and a photo.
pub fn on_duty(name: &str, staff_no: &str, photo: Option<&[u8]>) -> Result<OnDuty, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 30 || name.chars().any(char::is_control) {
        return Err(bad(
            "name",
            "姓名应为 1 至 30 个字符。",
            "name must be 1 to 30 characters.",
        ));
    }
    let staff_no = staff_no.trim();
    if staff_no.is_empty()
        || staff_no.len() > 32
        || !staff_no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(bad(
            "staff_no",
            "工号应为 1 至 32 位字母、数字或 -。",
            "staff_no must be 1 to 32 letters, digits or -.",
        ));
    }
    Ok(OnDuty {
        name: name.to_owned(),
        staff_no: staff_no.to_owned(),
        photo: photo.map(photo_of).transpose()?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DutyBody {
    name: String,
    staff_no: String,
    #[serde(default)]
    photo: Option<String>,
}

/// Reads `POST /api/v1/kiosk/<code>/staff`: `{"name", "staff_no", "photo"?}` (the photo in
/// base64); every error names its field.
pub fn parse_on_duty(body: &[u8]) -> Result<OnDuty, ApiError> {
    let b: DutyBody = crate::http::json_body(body)?;
    let photo = match &b.photo {
        Some(p) => Some(wire::base64::decode(p.trim()).ok_or(bad(
            "photo",
            "photo 不是 base64 编码。",
            "photo is not base64.",
        ))?),
        None => None,
    };
    on_duty(&b.name, &b.staff_no, photo.as_deref())
}

/// Puts `d` on duty at the window `code` (a photo set before stays unless a new one comes).
pub fn set_on_duty(code: &str, d: &OnDuty, by: &str, now: i64) -> Stmt {
    stmt(
        "INSERT INTO on_duty (code, name, staff_no, photo, photo_type, set_at, by_actor) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
         staff_no = excluded.staff_no, \
         photo = CASE WHEN excluded.photo IS NOT NULL OR excluded.staff_no != staff_no \
           THEN excluded.photo ELSE photo END, \
         photo_type = CASE WHEN excluded.photo IS NOT NULL OR excluded.staff_no != staff_no \
           THEN excluded.photo_type ELSE photo_type END, \
         set_at = excluded.set_at, by_actor = excluded.by_actor",
        vec![
            code.into(),
            d.name.as_str().into(),
            d.staff_no.as_str().into(),
            d.photo.as_ref().map(|p| p.base64.clone()).into(),
            d.photo.as_ref().map(|p| p.mime.to_owned()).into(),
            now.into(),
            by.into(),
        ],
    )
}

/// Nobody on duty: the tablet shows the window only.
pub fn off_duty(code: &str) -> Stmt {
    stmt(
        "DELETE FROM on_duty WHERE code = ?1 RETURNING code",
        vec![code.into()],
    )
}

pub fn duty_of(code: &str) -> Stmt {
    stmt(
        "SELECT name, staff_no, photo IS NOT NULL AS photo, set_at FROM on_duty WHERE code = ?1",
        vec![code.into()],
    )
}

pub fn photo(code: &str) -> Stmt {
    stmt(
        "SELECT photo, photo_type FROM on_duty WHERE code = ?1 AND photo IS NOT NULL",
        vec![code.into()],
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyRow {
    pub name: String,
    pub staff_no: String,
    pub photo: i64,
    pub set_at: i64,
}
crate::row!(DutyRow {
    name,
    staff_no,
    photo,
    set_at
});

#[derive(Debug, Clone)]
pub struct PhotoRow {
    pub photo: String,
    pub photo_type: String,
}
crate::row!(PhotoRow { photo, photo_type });

// ---- arming by the staff member's press ----

/// A staff member's arming is taken by a rating at most this long after it was made (a tablet's
/// offline queue may send it late).
pub const ARM_VALID_SECS: i64 = REPLAY_SECS;

/// The signal a tablet's rating that names no live arming is held with (`guard::SIGNALS`).
pub const UNARMED: &str = "unarmed";

/// Arms the tablet `id` with the new token `arm` (`POST /kiosk/<token>/arm`): replaces an arming
/// nobody took, or follows a taken one after `arm_secs`. Returns the arming (none: too soon).
pub fn arm(id: &str, arm: &str, now: i64, arm_secs: u32) -> Stmt {
    stmt(
        "UPDATE kiosks SET arm = ?2, armed_at = ?3, arm_taken = NULL WHERE id = ?1 \
         AND revoked_at IS NULL AND (arm_taken IS NULL OR armed_at <= ?3 - ?4) RETURNING arm",
        vec![
            id.into(),
            arm.into(),
            now.into(),
            i64::from(arm_secs).into(),
        ],
    )
}

/// When the tablet `id` may be armed again (none: now).
pub fn next_arm(id: &str, arm_secs: u32) -> Stmt {
    stmt(
        "SELECT armed_at + ?2 AS at FROM kiosks WHERE id = ?1 AND arm_taken IS NOT NULL",
        vec![id.into(), i64::from(arm_secs).into()],
    )
}

/// Takes the tablet's live arming `arm` for the rating `submission` (again for the same
/// submission: an offline queue's resend). Returns a row when it was the tablet's arming.
pub fn take(id: &str, arm: &str, submission: Id128, now: i64) -> Stmt {
    stmt(
        "UPDATE kiosks SET arm_taken = ?3 WHERE id = ?1 AND arm = ?2 \
         AND (arm_taken IS NULL OR arm_taken = ?3) AND armed_at >= ?4 - ?5 RETURNING id",
        vec![
            id.into(),
            arm.into(),
            submission.to_text().into(),
            now.into(),
            ARM_VALID_SECS.into(),
        ],
    )
}

/// The arming a tablet's rating names (its `challenge`), if it could be one.
pub fn arm_of(sub: &Submission) -> Option<&str> {
    crate::access::capability(&sub.challenge, TOKEN_LEN)
}

// ---- arming by the queue system ----

/// Takes the oldest arming of the window `code` not yet taken: a usable link minted for it with
/// `"kiosk": true` within [`ARM_WINDOW_SECS`]. Taken once, by the first tablet that asks.
pub fn take_arm(code: &str, now: i64) -> Stmt {
    stmt(
        "UPDATE links SET armed_at = ?2 WHERE token = (SELECT token FROM links WHERE code = ?1 \
         AND kiosk = 1 AND armed_at IS NULL AND revoked_at IS NULL AND expires_at >= ?2 \
         AND created_at >= ?2 - ?3 ORDER BY created_at LIMIT 1) \
         RETURNING token, matter, project_no",
        vec![code.into(), now.into(), ARM_WINDOW_SECS.into()],
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmRow {
    pub token: String,
    pub matter: String,
    pub project_no: String,
}
crate::row!(ArmRow {
    token,
    matter,
    project_no
});

/// What the tablet asks for while it stands by (`GET /kiosk/<token>/state`): its window, who is
/// on duty, and an arming by the queue system if one was waiting (`wire::page::KioskState`).
pub fn state_json(
    e: &Entry,
    duty: Option<&DutyRow>,
    arm: Option<&ArmRow>,
    idle_secs: u32,
    token: &str,
) -> String {
    let photo = duty
        .filter(|d| d.photo != 0)
        .map(|d| format!("/kiosk/{token}/photo?v={}", d.set_at));
    wire::page::KioskState {
        hall: &e.hall,
        window: &e.window,
        dept: &e.dept,
        staff: duty.map(|d| wire::page::OnDuty {
            name: &d.name,
            staff_no: &d.staff_no,
            photo: photo.as_deref(),
        }),
        arm: arm.map(|a| wire::page::Arming {
            link: &a.token,
            matter: &a.matter,
            matter_name: e
                .matters
                .iter()
                .find(|m| m.code == a.matter)
                .map_or(a.matter.as_str(), |m| m.name.as_str()),
            project_no: &a.project_no,
        }),
        idle_secs,
    }
    .to_json()
}

// ---- a tablet's rating ----

/// What a tablet's rating names in its `code`: its staff member's arming, or the queue system's
/// link (`l/<token>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Armed<'a> {
    ByStaff,
    ByLink(&'a str),
}

pub fn armed_by(sub: &Submission) -> Result<Armed<'_>, ApiError> {
    if sub.code == ARMED_BY_STAFF {
        return Ok(Armed::ByStaff);
    }
    sub.code
        .strip_prefix("l/")
        .and_then(crate::links::parse_token)
        .map(Armed::ByLink)
        .ok_or(bad(
            "code",
            "code 应为 \"kiosk\" 或 \"l/<链接令牌>\"。",
            "code must be \"kiosk\" or \"l/<link token>\".",
        ))
}

/// Checks a tablet's rating: its rules and matter as the page's, the queue system's link (if it
/// armed it) for this window, and no proof of work or cookie (the device token and the arming
/// stand for them). Stored once per arming however often it is sent (its idempotency key names
/// the replay nonce), under the arming as its device, or under the link (one rating per 办件).
pub fn check(
    sub: &Submission,
    k: &KioskRow,
    entry: Entry,
    link: Option<&LinkRow>,
    now: i64,
) -> Result<Checked, ApiError> {
    if !sub.website.is_empty() {
        return Err(crate::error::HONEYPOT);
    }
    let code = k.code_id().ok_or(NOT_FOUND)?;
    if let Some(l) = link {
        if l.code != k.code {
            return Err(bad(
                "code",
                "此评价链接不属于本平板的窗口。",
                "That link is for another window than this tablet's.",
            ));
        }
        l.usable(now)?;
    }
    let rating = crate::submit::rating_of(sub, &entry)?;
    let day = Day::from_unix(now).ok_or(crate::error::UNAVAILABLE)?;
    let mut nonce = [0u8; wire::challenge::NONCE_LEN];
    nonce.copy_from_slice(&k.derive(b"zsp-kiosk-nonce-v1", sub.id).0[..wire::challenge::NONCE_LEN]);
    let c = Checked {
        payload: wire::qr::QrPayload {
            kid: 0,
            issued: k.day(),
            code,
        },
        nonce,
        nonce_until: now + REPLAY_SECS,
        submission: sub.id,
        device: k.derive(b"zsp-kiosk-device-v1", sub.id),
        address: None,
        project_no: None,
        flag: None,
        link_rater: None,
        rating,
        via: Via::Kiosk,
        now,
        day,
        entry,
    };
    Ok(match link {
        Some(l) => crate::links::through_link(c, l),
        None => c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::sql::tests::{db, run, try_run, typed};
    use wire::rating::{Level, RatingInput};

    fn kiosk_row(c: &rusqlite::Connection, e: &Entry, token: &str, now: i64) -> KioskRow {
        run(c, &create(e, "一号窗平板", token, "大厅甲", now));
        typed::<KioskRow>(c, &by_token(token)).pop().unwrap()
    }

    fn sub(code: &str, id: u8, level: Level, tags: &[u16]) -> Submission {
        Submission {
            code: code.into(),
            challenge: String::new(),
            pow: 0,
            id: Id128([id; 16]),
            device: None,
            rating: RatingInput::new(level, tags),
            website: String::new(),
        }
    }

    #[test]
    fn tokens_are_stored_as_digests_and_revoked_in_scope() {
        let c = db();
        let e = Entry::example("A01", None);
        let t = new_token([9; 16]);
        assert_eq!(t.len(), TOKEN_LEN);
        assert_eq!(parse_token(&t), Some(t.as_str()));
        assert_eq!(parse_token(&t[1..]), None);
        assert_eq!(parse_token(&t.to_lowercase()), None);
        let k = kiosk_row(&c, &e, &t, 1000);
        assert_eq!(k.id, public_id(&digest(&t)));
        assert_eq!(k.code, e.code.to_text());
        assert!(k.usable().is_ok());
        let stored: Vec<serde_json::Value> = run(&c, &stmt("SELECT * FROM kiosks", vec![]));
        assert!(
            !serde_json::to_string(&stored).unwrap().contains(&t),
            "the token itself is never stored"
        );
        assert!(typed::<KioskRow>(&c, &by_token(&new_token([8; 16]))).is_empty());
        let other = crate::access::Scope::hall("330102", "别的大厅");
        assert!(
            run(&c, &revoke(&k.id, None, &other, 2000)).is_empty(),
            "out of scope"
        );
        let hall = crate::access::Scope::hall(&e.region, &e.hall);
        let elsewhere = Entry::example("A02", None).code.to_text();
        assert!(
            run(&c, &revoke(&k.id, Some(&elsewhere), &hall, 2000)).is_empty(),
            "another window's page"
        );
        let r: Vec<KioskRow> = typed(&c, &revoke(&k.id, Some(&k.code), &hall, 2000));
        assert_eq!(r[0].usable().unwrap_err().code, "kiosk.revoked");
        let again: Vec<KioskRow> = typed(&c, &revoke(&k.id, None, &hall, 3000));
        assert_eq!(again[0].revoked_at, Some(2000), "revoked once");
        assert_eq!(typed::<KioskRow>(&c, &of_code(&k.code)).len(), 1);
        assert_eq!(label_ok("  ").unwrap_err().field, Some("label"));
        assert_eq!(label_ok(&"长".repeat(41)).unwrap_err().field, Some("label"));
        assert_eq!(label_ok(" 一号窗 ").unwrap(), "一号窗");
    }

    #[test]
    fn the_staff_on_duty_is_checked_field_by_field_and_keeps_a_photo_until_replaced() {
        let c = db();
        let code = Entry::example("A01", None).code.to_text();
        let (side, raw) = crate::links::qr_image("https://x.gov.cn/").unwrap();
        let png = wire::png::one_bit(side, &raw, &wire::png::stored(&raw));
        let ok = |v: serde_json::Value| parse_on_duty(v.to_string().as_bytes());
        let d = ok(serde_json::json!({"name": "王芳", "staff_no": "HZ-0107",
            "photo": wire::base64::encode(&png)}))
        .unwrap();
        assert_eq!(d.photo.as_ref().unwrap().mime, "image/png");
        for (v, field) in [
            (serde_json::json!({"name": "", "staff_no": "1"}), "name"),
            (
                serde_json::json!({"name": "甲".repeat(31), "staff_no": "1"}),
                "name",
            ),
            (
                serde_json::json!({"name": "王芳", "staff_no": "工号1"}),
                "staff_no",
            ),
            (
                serde_json::json!({"name": "王芳", "staff_no": ""}),
                "staff_no",
            ),
            (
                serde_json::json!({"name": "王芳", "staff_no": "1", "photo": "!!"}),
                "photo",
            ),
            (
                serde_json::json!({"name": "王芳", "staff_no": "1", "photo": wire::base64::encode(b"GIF89a")}),
                "photo",
            ),
        ] {
            assert_eq!(ok(v).unwrap_err().field, Some(field));
        }
        let mut big = b"\xff\xd8\xff".to_vec();
        big.resize(PHOTO_MAX + 1, 0);
        assert_eq!(photo_of(&big).unwrap_err().field, Some("photo"));
        assert_eq!(
            parse_on_duty(br#"{"name":"a","staff_no":"1","x":1}"#)
                .unwrap_err()
                .code,
            "request.malformed"
        );

        run(&c, &set_on_duty(&code, &d, "queue", 1000));
        let photo_of_row = |c: &rusqlite::Connection| typed::<PhotoRow>(c, &photo(&code));
        assert_eq!(photo_of_row(&c)[0].photo_type, "image/png");
        // The same staff member again without a photo keeps it; another one drops it.
        let same = on_duty("王芳", "HZ-0107", None).unwrap();
        run(&c, &set_on_duty(&code, &same, "queue", 2000));
        assert_eq!(photo_of_row(&c).len(), 1);
        let row: Vec<DutyRow> = typed(&c, &duty_of(&code));
        assert_eq!((row[0].photo, row[0].set_at), (1, 2000));
        let next = on_duty("李强", "HZ-0108", None).unwrap();
        run(&c, &set_on_duty(&code, &next, "console", 3000));
        assert!(photo_of_row(&c).is_empty());
        let row: Vec<DutyRow> = typed(&c, &duty_of(&code));
        assert_eq!((row[0].name.as_str(), row[0].photo), ("李强", 0));
        assert_eq!(run(&c, &off_duty(&code)).len(), 1);
        assert!(typed::<DutyRow>(&c, &duty_of(&code)).is_empty());
    }

    #[test]
    fn a_queue_systems_arming_is_taken_once_and_only_while_fresh() {
        let c = db();
        let e = Entry::example("A01", None);
        let code = e.code.to_text();
        let mint = |project_no: &str, kiosk: bool, token: &str, now: i64| {
            let m = crate::links::Mint {
                code: e.code,
                matter: "330102-SC-001".into(),
                project_no: project_no.into(),
                days: Some(3),
                kiosk,
            };
            crate::links::tests::minted(&c, &m, "", &e, token, now);
        };
        mint("P-1", false, "AAAAAAAAAAAAAAAA", 1000);
        assert!(
            typed::<ArmRow>(&c, &take_arm(&code, 1001)).is_empty(),
            "not for a kiosk"
        );
        mint("P-2", true, "BBBBBBBBBBBBBBBB", 1000);
        mint("P-3", true, "CCCCCCCCCCCCCCCC", 1010);
        let first: Vec<ArmRow> = typed(&c, &take_arm(&code, 1020));
        assert_eq!(first[0].project_no, "P-2", "oldest first");
        let second: Vec<ArmRow> = typed(&c, &take_arm(&code, 1021));
        assert_eq!(second[0].project_no, "P-3");
        assert!(
            typed::<ArmRow>(&c, &take_arm(&code, 1022)).is_empty(),
            "taken once"
        );
        mint("P-4", true, "DDDDDDDDDDDDDDDD", 2000);
        assert!(
            typed::<ArmRow>(&c, &take_arm(&code, 2001 + ARM_WINDOW_SECS)).is_empty(),
            "stale"
        );
        let other = Entry::example("A02", None).code.to_text();
        mint("P-5", true, "EEEEEEEEEEEEEEEE", 3000);
        assert!(
            typed::<ArmRow>(&c, &take_arm(&other, 3001)).is_empty(),
            "another window"
        );
        let arm = typed::<ArmRow>(&c, &take_arm(&code, 3001)).pop().unwrap();
        let j: serde_json::Value = serde_json::from_str(&state_json(
            &e,
            Some(&DutyRow {
                name: "王芳".into(),
                staff_no: "HZ-0107".into(),
                photo: 1,
                set_at: 5,
            }),
            Some(&arm),
            60,
            "T",
        ))
        .unwrap();
        assert_eq!(j["arm"]["project_no"], "P-5");
        assert_eq!(j["arm"]["matter_name"], "食品经营许可（新办）");
        assert_eq!(j["staff"]["photo"], "/kiosk/T/photo?v=5");
        assert_eq!(j["idle_secs"], 60);
    }

    #[test]
    fn an_offline_queue_sending_a_rating_again_stores_it_once() {
        let c = db();
        let e = Entry::example("A01", None);
        for s in crate::store::replace_directory(std::slice::from_ref(&e)) {
            run(&c, &s);
        }
        let k = kiosk_row(&c, &e, &new_token([2; 16]), 1_795_000_000);
        let send = |id: u8, level: Level, tags: &[u16], now: i64| -> Result<(), String> {
            let checked = check(
                &sub(ARMED_BY_STAFF, id, level, tags),
                &k,
                e.clone(),
                None,
                now,
            )
            .unwrap();
            let (stmts, _) = crate::store::accept(
                &checked,
                &crate::store::Rules::new(Default::default()),
                None,
            );
            c.execute_batch("BEGIN").unwrap();
            for s in &stmts {
                if let Err(err) = try_run(&c, s) {
                    c.execute_batch("ROLLBACK").unwrap();
                    return Err(err.to_string());
                }
            }
            c.execute_batch("COMMIT").unwrap();
            Ok(())
        };
        let t = 1_795_000_100;
        send(1, Level::Satisfied, &[406], t).unwrap();
        send(2, Level::VeryDissatisfied, &[115], t + 5).unwrap();
        send(3, Level::Satisfied, &[], t + 9).unwrap();
        // The answer of the second was lost: the queue sends it again, an hour later.
        let again = send(2, Level::VeryDissatisfied, &[115], t + 3600).unwrap_err();
        assert_eq!(
            crate::store::conflict(&again),
            Some(crate::store::Conflict::Replayed)
        );
        let n = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(n("SELECT COUNT(*) FROM ratings WHERE via = 'kiosk'"), 3);
        assert_eq!(
            n("SELECT MAX(assess_number) FROM ratings"),
            1,
            "none amends another"
        );
        assert_eq!(
            n("SELECT COUNT(*) FROM cases"),
            1,
            "the 差评 opened its case"
        );
    }

    #[test]
    fn a_tablets_rating_is_one_per_arming_on_channel_4() {
        let c = db();
        let e = Entry::example("A01", None);
        let k = kiosk_row(&c, &e, &new_token([1; 16]), 1_795_000_000);
        let now = 1_795_000_100;
        let s = sub(ARMED_BY_STAFF, 1, Level::Satisfied, &[406]);
        assert_eq!(armed_by(&s).unwrap(), Armed::ByStaff);
        let a = check(&s, &k, e.clone(), None, now).unwrap();
        let b = check(&s, &k, e.clone(), None, now + 60).unwrap();
        assert_eq!(a.device, b.device, "a resend is the same rating");
        assert_eq!(a.nonce, b.nonce, "and the same replay nonce");
        let other = check(
            &sub(ARMED_BY_STAFF, 2, Level::Satisfied, &[]),
            &k,
            e.clone(),
            None,
            now,
        )
        .unwrap();
        assert_ne!(a.device, other.device, "another arming, another rating");
        assert_ne!(a.nonce, other.nonce);
        assert_eq!(a.via, Via::Kiosk);
        assert_eq!(
            a.nonce_until,
            now + REPLAY_SECS,
            "kept for the queue's resends"
        );
        assert_eq!(Via::channel(a.via.as_str()), 4);
        assert_eq!(Via::channel("app"), 3);

        let mut bad_tag = sub(ARMED_BY_STAFF, 3, Level::Satisfied, &[510]);
        assert_eq!(
            check(&bad_tag, &k, e.clone(), None, now).unwrap_err().field,
            Some("tags")
        );
        bad_tag.rating = RatingInput::new(Level::Satisfied, &[]);
        bad_tag.rating.matter = Some("330102-XX-999".into());
        assert_eq!(
            check(&bad_tag, &k, e.clone(), None, now).unwrap_err().field,
            Some("matter")
        );
        let mut bot = sub(ARMED_BY_STAFF, 4, Level::Satisfied, &[]);
        bot.website = "x".into();
        assert!(check(&bot, &k, e.clone(), None, now).is_err());
        assert_eq!(
            armed_by(&sub("nope", 5, Level::Satisfied, &[]))
                .unwrap_err()
                .field,
            Some("code")
        );

        // Armed by the queue system: stored under the link, its 办件号 and matter.
        let link = LinkRow {
            token: "AAAAAAAAAAAAAAAA".into(),
            code: k.code.clone(),
            matter: "330102-SC-001".into(),
            project_no: "P-1".into(),
            region: e.region.clone(),
            hall: e.hall.clone(),
            created_at: now - 10,
            expires_at: now + 86_400,
            revoked_at: None,
        };
        let l = sub("l/AAAAAAAAAAAAAAAA", 6, Level::VeryDissatisfied, &[115]);
        assert_eq!(armed_by(&l).unwrap(), Armed::ByLink("AAAAAAAAAAAAAAAA"));
        let through = check(&l, &k, e.clone(), Some(&link), now).unwrap();
        assert_eq!(through.device, link.device());
        assert_eq!(through.project_no.as_deref(), Some("P-1"));
        let elsewhere = LinkRow {
            code: Entry::example("A02", None).code.to_text(),
            ..link.clone()
        };
        assert_eq!(
            check(&l, &k, e.clone(), Some(&elsewhere), now)
                .unwrap_err()
                .field,
            Some("code")
        );
        let revoked = LinkRow {
            revoked_at: Some(now),
            ..link
        };
        assert_eq!(
            check(&l, &k, e, Some(&revoked), now).unwrap_err().code,
            "links.revoked"
        );
    }
}
