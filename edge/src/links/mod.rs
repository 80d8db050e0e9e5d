//! 一事一评: a link minted for one 办件 by a hall's queue or business system (`POST
//! /api/v1/links` with a scoped automation token), opened as `/l/<token>` (printed on the queue
//! ticket, shown on the window's screen, sent by SMS). The page is the rating page with the
//! matter fixed; the rating is one per link, amended by a 追评, and its 办件号 goes upstream as
//! `projectNo`. A link is read on the citizen's path (`citizen::resolve`); minting, revoking and
//! its PNG are `api`.

pub mod api;

use crate::error::ApiError;
use crate::sql::{Stmt, Val, stmt};
use serde::Deserialize;
use wire::qr::CodeId;
use wire::rating::Id128;
use wire::time::Day;

/// The URL's token: 16 base32 letters, 80 random bits. `https://` + a 26-character host +
/// `/l/` + 16 is 53 characters: QR version 4 at level M, like the printed cards.
pub const TOKEN_LEN: usize = 16;
pub const DEFAULT_DAYS: u32 = 3;
pub const MAX_DAYS: u32 = 30;
/// The longest 办件号 taken.
pub use crate::served::PROJECT_NO_MAX;

pub fn new_token(random: [u8; 10]) -> String {
    wire::base32::encode(&random)
}

/// A token as the URL holds it, if it could be one.
pub fn parse_token(s: &str) -> Option<&str> {
    crate::access::capability(s, TOKEN_LEN)
}

/// What an integrator posts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    code: String,
    matter: String,
    project_no: String,
    #[serde(default)]
    lifetime_days: Option<u32>,
    /// Arms the window's hall tablet (kiosk mode) for this 办件.
    #[serde(default)]
    kiosk: bool,
}

/// A checked minting request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mint {
    pub code: CodeId,
    pub matter: String,
    pub project_no: String,
    /// The lifetime asked for; `None`: the authority's default-rating period when it has one
    /// (the citizen's own chance and the default agree), else [`DEFAULT_DAYS`].
    pub days: Option<u32>,
    /// Arms the window's hall tablet for this 办件 (`crate::kiosk::take_arm`).
    pub kiosk: bool,
}

fn bad(field: &'static str, zh: &'static str, en: &'static str) -> ApiError {
    ApiError::new(422, "links.invalid", zh, en).with_field(field)
}

/// Reads `{"code", "matter", "project_no", "lifetime_days"?}`; every error names its field.
pub fn parse_mint(body: &[u8]) -> Result<Mint, ApiError> {
    let b: MintBody = crate::http::json_body(body)?;
    let code = CodeId::parse(b.code.trim()).ok_or(bad(
        "code",
        "code 不是二维码编号（管理台“二维码”页所示的 16 位编号）。",
        "code is not a code id (the 16 characters the console's codes page shows).",
    ))?;
    let matter = b.matter.trim().to_owned();
    if !wire::rating::matter_code_ok(&matter) {
        return Err(bad(
            "matter",
            "matter 不是事项编码。",
            "matter is not a matter code.",
        ));
    }
    let project_no = b.project_no.trim().to_owned();
    if !crate::served::project_no_ok(&project_no) {
        return Err(bad(
            "project_no",
            "project_no（办件号）应为 1 至 64 位字母、数字或 - _ . /。",
            "project_no must be 1 to 64 letters, digits or - _ . /.",
        ));
    }
    let days = b.lifetime_days;
    if days.is_some_and(|d| !(1..=MAX_DAYS).contains(&d)) {
        return Err(bad(
            "lifetime_days",
            "lifetime_days 应为 1 至 30 天。",
            "lifetime_days must be 1 to 30.",
        ));
    }
    Ok(Mint {
        code,
        matter,
        project_no,
        days,
        kiosk: b.kiosk,
    })
}

const COLUMNS: &str =
    "token, code, matter, project_no, region, hall, created_at, expires_at, revoked_at";

impl Mint {
    /// When the link expires: `default_until` is the end of the authority's default-rating
    /// period from `now`, if it has one.
    pub fn expires_at(&self, now: i64, default_until: Option<i64>) -> i64 {
        match (self.days, default_until) {
            (Some(d), _) => now + i64::from(d) * 86_400,
            (None, Some(until)) => until,
            (None, None) => now + i64::from(DEFAULT_DAYS) * 86_400,
        }
    }
}

/// Minting, in one transaction: a new link for the window `e` unless the issuing `authority`'s
/// 办件号 has one (`Config::authority_of`; '' for a deployment of one), then the 办件号's link
/// (the new one, or the one minted before: minting is idempotent on the 办件号).
pub fn mint(
    m: &Mint,
    authority: &str,
    e: &wire::directory::Entry,
    token: &str,
    by: &str,
    (now, expires_at): (i64, i64),
) -> Vec<Stmt> {
    let (region, hall) = (e.region.as_str(), e.hall.as_str());
    vec![
        stmt(
            "INSERT INTO links (token, code, matter, project_no, region, hall, created_at, expires_at, by_actor, kiosk, authority) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (authority, project_no) DO NOTHING",
            vec![
                token.into(),
                m.code.to_text().into(),
                m.matter.as_str().into(),
                m.project_no.as_str().into(),
                region.into(),
                hall.into(),
                now.into(),
                expires_at.into(),
                by.into(),
                i64::from(m.kiosk).into(),
                authority.into(),
            ],
        ),
        by_project_no(authority, &m.project_no),
    ]
}

pub fn by_project_no(authority: &str, project_no: &str) -> Stmt {
    stmt(
        format!("SELECT {COLUMNS} FROM links WHERE authority = ?1 AND project_no = ?2"),
        vec![authority.into(), project_no.into()],
    )
}

pub fn by_token(token: &str) -> Stmt {
    stmt(
        format!("SELECT {COLUMNS} FROM links WHERE token = ?1"),
        vec![token.into()],
    )
}

/// Revokes a link inside the actor's scope; returns it (none: not found there).
pub fn revoke(token: &str, scope: &crate::access::Scope, now: i64) -> Stmt {
    crate::access::scoped(
        &format!(
            "UPDATE links SET revoked_at = COALESCE(revoked_at, ?2) WHERE token = ?1 AND {{scope}} \
             RETURNING {COLUMNS}"
        ),
        scope,
        vec![Val::from(token), now.into()],
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub token: String,
    pub code: String,
    pub matter: String,
    pub project_no: String,
    pub region: String,
    pub hall: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}
crate::row!(LinkRow {
    token,
    code,
    matter,
    project_no,
    region,
    hall,
    created_at,
    expires_at,
    revoked_at
});

/// The device a link's rating is stored under ([`LinkRow::device`]), from its token.
pub fn device_of(token: &str) -> Id128 {
    Id128::digest(b"zsp-link-v1", &[token.as_bytes()])
}

/// The day a link's rating is stored under ([`LinkRow::day`]), from when it was minted.
pub fn day_of(created_at: i64) -> Day {
    Day::from_unix(created_at).unwrap_or(Day(0))
}

impl LinkRow {
    /// Whether it may be rated now: revoked and expired links are refused in words that fit.
    pub fn usable(&self, now: i64) -> Result<(), ApiError> {
        if self.revoked_at.is_some() {
            Err(REVOKED)
        } else if now > self.expires_at {
            Err(EXPIRED)
        } else {
            Ok(())
        }
    }

    pub fn code_id(&self) -> Option<CodeId> {
        CodeId::parse(&self.code)
    }

    /// The device a link's rating is stored under: the link itself, so a 办件 is rated once
    /// and amended by a 追评, whichever phone opens it.
    pub fn device(&self) -> Id128 {
        device_of(&self.token)
    }

    /// The day a link's rating is stored under: the day it was minted, whenever it is rated.
    pub fn day(&self) -> Day {
        day_of(self.created_at)
    }

    /// The answer of `POST /api/v1/links`: the short URL, its QR as a PNG, and the link.
    pub fn answer(&self, base: &str, created: bool) -> String {
        serde_json::json!({
            "ok": true,
            "created": created,
            "url": format!("{base}/l/{}", self.token),
            "qr_png": format!("{base}/l/{}.png", self.token),
            "token": self.token,
            "code": self.code,
            "matter": self.matter,
            "project_no": self.project_no,
            "expires_at": wire::time::format_rfc3339_cst(self.expires_at),
            "revoked": self.revoked_at.is_some(),
        })
        .to_string()
    }
}

pub const REVOKED: ApiError = ApiError::new(
    410,
    "links.revoked",
    "此评价链接已停用，请向窗口工作人员索取新的评价二维码。",
    "This rating link has been withdrawn; ask the window for a new one.",
);
pub const EXPIRED: ApiError = ApiError::new(
    410,
    "links.expired",
    "此评价链接已过有效期，请向窗口工作人员索取新的评价二维码。",
    "This rating link is out of date; ask the window for a new one.",
);
pub const NOT_FOUND: ApiError = ApiError::new(
    404,
    "links.unknown",
    "评价链接无效，请核对链接或重新扫码。",
    "This rating link is not known; check it or scan again.",
);
pub const RATED_ELSEWHERE: ApiError = ApiError::new(
    409,
    "links.rated_elsewhere",
    "此办件已经评价过。追评只能在当天、用评价时的同一部手机进行；如有问题请联系窗口或拨打 12345。",
    "This 办件 was rated already; it can be changed only the same day from the same phone.",
);
pub const TAKEN: ApiError = ApiError::new(
    409,
    "links.project_no_taken",
    "该办件号已有评价链接，且窗口或事项不同。",
    "This 办件号 already has a link for another code or matter.",
);

/// The QR of `url` at level M as a PNG's image data (`wire::png`): 8 pixels a module, a
/// 4-module quiet zone. Its side in pixels and the bytes to compress.
pub fn qr_image(url: &str) -> Option<(u32, Vec<u8>)> {
    let code =
        qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M).ok()?;
    let n = code.width();
    let dark = code.to_colors();
    Some(wire::png::image_data(
        n,
        |x, y| dark[y * n + x] == qrcode::Color::Dark,
        4,
        8,
    ))
}

/// The directory entry of a 一事一评 link's code ([`entry_on`] its minting day), with its
/// matters narrowed to the link's: the page shows it fixed.
pub fn entry_for_link(
    link: &LinkRow,
    lookup: crate::submit::Lookup,
) -> Result<wire::directory::Entry, ApiError> {
    let code = link.code_id().ok_or(NOT_FOUND)?;
    let mut e = crate::submit::entry_on(code, link.day(), lookup, NOT_FOUND)?;
    let name = e
        .matters
        .iter()
        .find(|m| m.code == link.matter)
        .map_or_else(|| link.matter.clone(), |m| m.name.clone());
    e.matters = vec![wire::directory::Matter {
        code: link.matter.clone(),
        name,
    }];
    Ok(e)
}

/// A checked submission made through a 一事一评 link: one rating per link (its device and day),
/// the link's matter, its 办件号; amended only by the device that gave it, the day it gave it
/// (`store::accept` keeps who that was).
pub fn through_link(mut c: crate::submit::Checked, link: &LinkRow) -> crate::submit::Checked {
    c.link_rater = Some((c.device, c.day));
    c.device = link.device();
    c.day = link.day();
    c.rating.matter = Some(link.matter.clone());
    c.project_no = Some(link.project_no.clone());
    c
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::console::sql::tests::{db, run, typed};
    use wire::directory::Entry;

    /// Mints as `links::api::mint` does (one transaction's statements, in order); the 办件号's
    /// link.
    pub(crate) fn minted(
        c: &rusqlite::Connection,
        m: &Mint,
        authority: &str,
        e: &Entry,
        token: &str,
        now: i64,
    ) -> LinkRow {
        let mut rows = vec![];
        for s in mint(
            m,
            authority,
            e,
            token,
            "queue",
            (now, m.expires_at(now, None)),
        ) {
            rows = typed::<LinkRow>(c, &s);
        }
        rows.pop().expect("minting answers with the 办件号's link")
    }

    fn body(v: serde_json::Value) -> Result<Mint, ApiError> {
        parse_mint(v.to_string().as_bytes())
    }

    #[test]
    fn minting_requests_are_checked_field_by_field() {
        let code = Entry::example("A01", Some("SC1")).code.to_text();
        let m = body(serde_json::json!({"code": code, "matter": "330102-SC-001", "project_no": "BJ-2026-0001"}))
            .unwrap();
        assert_eq!(m.days, None);
        assert_eq!(
            m.expires_at(100, None),
            100 + i64::from(DEFAULT_DAYS) * 86_400
        );
        assert_eq!(
            m.expires_at(100, Some(5000)),
            5000,
            "the default-rating period"
        );
        assert_eq!(
            Mint {
                days: Some(2),
                ..m.clone()
            }
            .expires_at(100, Some(5000)),
            100 + 2 * 86_400
        );
        for (v, field) in [
            (
                serde_json::json!({"code": "nope", "matter": "330102-SC-001", "project_no": "1"}),
                "code",
            ),
            (
                serde_json::json!({"code": code, "matter": "", "project_no": "1"}),
                "matter",
            ),
            (
                serde_json::json!({"code": code, "matter": "330102-SC-001", "project_no": ""}),
                "project_no",
            ),
            (
                serde_json::json!({"code": code, "matter": "330102-SC-001", "project_no": "有 空格"}),
                "project_no",
            ),
            (
                serde_json::json!({"code": code, "matter": "330102-SC-001", "project_no": "1", "lifetime_days": 31}),
                "lifetime_days",
            ),
            (
                serde_json::json!({"code": code, "matter": "330102-SC-001", "project_no": "1", "lifetime_days": 0}),
                "lifetime_days",
            ),
        ] {
            assert_eq!(body(v).unwrap_err().field, Some(field));
        }
        assert_eq!(
            parse_mint(b"{\"code\":1}").unwrap_err().code,
            "request.malformed"
        );
        assert_eq!(
            parse_mint(br#"{"code":"x","matter":"y","project_no":"z","extra":1}"#)
                .unwrap_err()
                .code,
            "request.malformed"
        );
    }

    #[test]
    fn minting_is_idempotent_on_the_project_number_and_links_expire_or_are_revoked() {
        let c = db();
        let e = Entry::example("A01", Some("SC1"));
        let m = Mint {
            code: e.code,
            matter: "330102-SC-001".into(),
            project_no: "BJ-2026-0001".into(),
            days: Some(3),
            kiosk: false,
        };
        let mint_as = |token: &str, now| minted(&c, &m, "", &e, token, now);
        let first = mint_as("AAAAAAAAAAAAAAAA", 1000);
        let again = mint_as("BBBBBBBBBBBBBBBB", 2000);
        assert_eq!(first, again, "the same 办件号, the same link");
        // Another authority's 办件号 of the same spelling is another link.
        let mut elsewhere = Entry::example("A01", Some("SC1"));
        elsewhere.region = "330105".into();
        elsewhere.hall = "别的大厅".into();
        let theirs = minted(&c, &m, "330105", &elsewhere, "DDDDDDDDDDDDDDDD", 2000);
        assert_eq!(theirs.token, "DDDDDDDDDDDDDDDD");
        assert_eq!(mint_as("EEEEEEEEEEEEEEEE", 2500).token, first.token);
        assert_eq!(first.expires_at, 1000 + 3 * 86_400);
        assert!(first.usable(1000 + 3 * 86_400).is_ok());
        assert_eq!(
            first.usable(1001 + 3 * 86_400).unwrap_err().code,
            "links.expired"
        );
        let scope = crate::access::Scope::hall("330102", "别的大厅");
        assert!(
            run(&c, &revoke(&first.token, &scope, 3000)).is_empty(),
            "out of scope"
        );
        let hall = crate::access::Scope::hall(&e.region, &e.hall);
        let revoked: Vec<LinkRow> = typed(&c, &revoke(&first.token, &hall, 3000));
        assert_eq!(revoked[0].usable(3000).unwrap_err().code, "links.revoked");
        // One device and one day per link, whoever opens it, whenever.
        assert_eq!(first.device(), again.device());
        assert_ne!(
            first.device(),
            LinkRow {
                token: "CCCCCCCCCCCCCCCC".into(),
                ..first.clone()
            }
            .device()
        );
        assert_eq!(first.day(), Day::from_unix(1000).unwrap());
    }

    #[test]
    fn tokens_and_the_short_url_fit_a_version_4_qr() {
        let t = new_token([7; 10]);
        assert_eq!(parse_token(&t), Some(t.as_str()));
        assert_eq!(parse_token("abc"), None);
        let url = format!("https://pj.zwfw.hangzhou.gov.cn/l/{t}");
        assert!(url.len() <= 26 + "https:///l/".len() + TOKEN_LEN);
        let q = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
            .unwrap();
        assert!(
            matches!(q.version(), qrcode::Version::Normal(1..=4)),
            "{:?}",
            q.version()
        );
        let (side, raw) = qr_image(&url).unwrap();
        assert_eq!(side as usize, (q.width() + 8) * 8);
        assert_eq!(
            raw.len(),
            (side as usize).div_ceil(8) * side as usize + side as usize
        );
    }
}
