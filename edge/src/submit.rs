//! Everything a submission must pass that needs no storage, cheapest first. The worker checks
//! these before it touches the storage object; the storage-backed rules (single use, budget,
//! 一次一评) live in the constraints of the one transaction `store::accept` writes.

use crate::config::Config;
use crate::error::{self, ApiError, Lang};
use wire::challenge::{Challenge, ChallengeError};
use wire::directory::Entry;
use wire::draft::Draft;
use wire::qr::{QrError, QrPayload, Revocations};
use wire::rating::{Id128, Level, ValidRating};
use wire::submission::{MAX_BODY_BYTES, Submission};
use wire::text;
use wire::time::Day;

/// Which door a rating came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The WebAssembly page: proof of work at the configured difficulty.
    App,
    /// The plain HTML form: no proof of work, a stricter per-code budget instead.
    Form,
    /// A hall tablet in kiosk mode (`crate::kiosk`): its device token and an arming instead of
    /// proof of work and a cookie; 评价渠道 4 upstream.
    Kiosk,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::App => "app",
            Via::Form => "form",
            Via::Kiosk => "kiosk",
        }
    }

    /// 评价渠道 (`pf`) of the ratings that come this way.
    pub fn channel(via: &str) -> u8 {
        if via == Via::Kiosk.as_str() {
            wire::rating::CHANNEL_HALL_TABLET
        } else {
            wire::rating::CHANNEL_QR
        }
    }
}

/// What the directory and revocation list say about one code.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub entry: Option<Entry>,
    /// The revocations that name this code or its staff member.
    pub revocations: Revocations,
    /// Its ratings in the last `guard::Settings::pow_rise`'s minutes (when looked up): the landing's
    /// proof of work rises with it.
    pub recent: u32,
}

/// A submission that passed every check that needs no storage.
#[derive(Debug, Clone)]
pub struct Checked {
    pub payload: QrPayload,
    /// Its single-use key (`used_challenges`): the challenge's nonce, or a tablet's
    /// (`kiosk::check`), and until when it is kept (past that a replay is refused by its age).
    pub nonce: [u8; wire::challenge::NONCE_LEN],
    pub nonce_until: i64,
    /// The idempotency key the page chose (for the form: derived from the challenge).
    pub submission: Id128,
    /// The device, as the edge named it: from the challenge, which the edge bound to its cookie.
    pub device: Id128,
    /// The network address's digest of the day (`guard::address_digest`), when known.
    pub address: Option<String>,
    /// The 办件号 of the 一事一评 link it came through.
    pub project_no: Option<String>,
    /// A signal found before storage that holds it for review (a tablet's rating that names no
    /// live arming: `kiosk::UNARMED`).
    pub flag: Option<&'static str>,
    /// Through a 一事一评 link: the device that gives it and the day (only they may amend it).
    pub link_rater: Option<(Id128, Day)>,
    pub rating: ValidRating,
    pub via: Via,
    pub now: i64,
    pub day: Day,
    pub entry: Entry,
}

pub fn qr_status(e: QrError) -> u16 {
    match e {
        QrError::Revoked => 410,
        _ => 404,
    }
}

/// The QR payload of a printed URL's path segment, checked against keys and revocations.
pub fn open_code(segment: &str, cfg: &Config) -> Result<QrPayload, ApiError> {
    QrPayload::open(segment, &cfg.qr_keys)
        .map_err(|e| ApiError::from_coded(qr_status(e), &e).with_field("code"))
}

/// The directory entry of a verified code, unless revoked, unknown, signed with a key of
/// another authority than the one its region belongs to, or past its authority's validity.
pub fn entry_for(
    p: &QrPayload,
    lookup: Lookup,
    cfg: &Config,
    guard: &crate::guard::Settings,
    today: Day,
) -> Result<Entry, ApiError> {
    lookup
        .revocations
        .check(p)
        .map_err(|e| ApiError::from_coded(qr_status(e), &e).with_field("code"))?;
    lookup
        .entry
        .filter(|e| e.code == p.code)
        .ok_or(ApiError::new(
            404,
            "qr.unknown_code",
            text::INVALID_CODE.0,
            "This QR code is not (or no longer) in the directory.",
        ))
        .and_then(|e| {
            if !cfg.kid_may_sign(p.kid, &e.region) {
                Err(ApiError::new(
                    403,
                    "qr.authority",
                    text::INVALID_CODE.0,
                    "This QR code was signed with another authority's key.",
                ))
            } else if guard.expired(&e.region, p.issued, today) {
                Err(error::CODE_EXPIRED)
            } else {
                Ok(e)
            }
        })
}

fn challenge_err(e: ChallengeError) -> ApiError {
    let status = match e {
        ChallengeError::TooYoung => 425,
        _ => 400,
    };
    ApiError::from_coded(status, &e).with_field("challenge")
}

/// The directory entry of `code` for something made on `day` (a link, a tablet), unless the code
/// is revoked (for prints before that day too) or unknown (`missing`).
pub fn entry_on(
    code: wire::qr::CodeId,
    day: Day,
    lookup: Lookup,
    missing: ApiError,
) -> Result<Entry, ApiError> {
    let p = QrPayload {
        kid: 0,
        issued: day,
        code,
    };
    lookup
        .revocations
        .check(&p)
        .map_err(|e| ApiError::from_coded(qr_status(e), &e).with_field("code"))?;
    lookup.entry.filter(|e| e.code == code).ok_or(missing)
}

/// Where a submission came from, as the edge sees it: the device cookie and the network
/// address's digest.
#[derive(Debug, Clone, Default)]
pub struct Sender {
    pub cookie: Option<Id128>,
    pub address: Option<String>,
    /// The operator's `zsp selftest` (it sent the admin token): the rating is a test, stored
    /// rejected (`guard::SELFTEST`), counted nowhere, never forwarded or alerted.
    pub selftest: bool,
}

/// Checks the challenge (bound to the device whose cookie came back, if one did), the honeypot
/// and the rating rules. `payload` and `entry` come from [`open_code`] and [`entry_for`]. The
/// body's own `device` field is not read: the edge names the device.
pub fn check(
    sub: &Submission,
    via: Via,
    payload: QrPayload,
    entry: Entry,
    cfg: &Config,
    sender: Sender,
    now: i64,
) -> Result<Checked, ApiError> {
    if !sub.website.is_empty() {
        return Err(error::HONEYPOT);
    }
    let now_u = u64::try_from(now).unwrap_or(0);
    let challenge = Challenge::verify(
        &sub.challenge,
        sub.pow,
        &cfg.challenge_keys,
        payload.code,
        sender.cookie.as_ref().map(|d| &d.0),
        now_u,
        &cfg.policy,
    )
    .map_err(challenge_err)?;
    // The form's challenges have difficulty 0; the JSON path must have done the real work.
    if via == Via::App && challenge.difficulty < cfg.difficulty {
        return Err(challenge_err(ChallengeError::Unsolved));
    }
    let rating = rating_of(sub, &entry)?;
    let day = Day::from_unix(now).ok_or(error::UNAVAILABLE)?;
    Ok(Checked {
        payload,
        device: challenge.device_id(),
        nonce: challenge.nonce,
        nonce_until: challenge.issued_at as i64 + cfg.policy.max_age_secs as i64,
        submission: sub.id,
        address: sender.address,
        project_no: None,
        flag: sender.selftest.then_some(crate::guard::SELFTEST),
        link_rater: None,
        rating,
        via,
        now,
        day,
        entry,
    })
}

/// The rating's own rules (`wire::rating`), and its matter one the window handles (when its
/// entry lists any): the same for every door.
pub fn rating_of(sub: &Submission, entry: &Entry) -> Result<ValidRating, ApiError> {
    let mut rating = sub
        .rating
        .validate()
        .map_err(|e| ApiError::from_coded(422, &e).with_field(e.field().as_str()))?;
    // ID, mobile and card numbers typed into the comment go no further, whatever the page did.
    rating.comment = wire::mask::mask(&rating.comment).0;
    match &rating.matter {
        Some(m) if !entry.matters.is_empty() && !entry.matters.iter().any(|x| &x.code == m) => {
            Err(ApiError::new(
                422,
                "rating.matter_unknown",
                "所选事项不属于该窗口，请重新选择。",
                "That matter is not handled at this window.",
            )
            .with_field("matter"))
        }
        _ => Ok(rating),
    }
}

/// Reads the JSON body of the app.
pub fn parse_json(content_type: Option<&str>, body: &[u8]) -> Result<Submission, ApiError> {
    if content_type.is_none_or(|c| media_type(c) != "application/json") {
        return Err(error::CONTENT_TYPE);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(error::TOO_LARGE);
    }
    Submission::from_json(body).map_err(|e| ApiError::from_coded(400, &e))
}

fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A plain form post: the submission, the draft to send back if it is refused, and the page's
/// language (a hidden field).
#[derive(Debug, Clone)]
pub struct FormPost {
    pub submission: Submission,
    pub draft: Draft,
    pub lang: Option<Lang>,
}

/// Reads the plain form. Its idempotency key is derived from the challenge, so a browser that
/// posts the same page twice gets the same answer twice; its device is the challenge's, as the
/// page's is.
pub fn from_form(content_type: Option<&str>, body: &[u8]) -> Result<FormPost, ApiError> {
    if content_type.is_none_or(|c| media_type(c) != "application/x-www-form-urlencoded") {
        return Err(error::CONTENT_TYPE);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(error::TOO_LARGE);
    }
    let fields = crate::http::urlencoded(body)?;
    let one = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut draft = Draft {
        matter: one("matter"),
        comment: one("comment"),
        phone: one("phone"),
        consent: one("consent") == "1",
        ..Draft::default()
    };
    // The draft is kept as posted (a phone beside a good level is refused in words, not dropped);
    // its reasons follow the one rule: the chosen level's, each once.
    draft.level = Level::parse(&one("level"));
    fields
        .iter()
        .filter(|(k, _)| k == "tag")
        .filter_map(|(_, v)| v.parse().ok())
        .for_each(|code| draft.add_tag(code));
    let challenge = one("challenge");
    let Some(rating) = draft.input() else {
        return Err(ApiError::new(
            422,
            "rating.level",
            text::CHOOSE_LEVEL.0,
            text::CHOOSE_LEVEL.1,
        )
        .with_field("level"));
    };
    let sub = Submission {
        code: one("code"),
        challenge: challenge.clone(),
        pow: 0,
        id: Id128::digest(b"zsp-form-id", &[challenge.as_bytes()]),
        device: None,
        rating,
        website: one("website"),
    };
    let lang = match one("lang").as_str() {
        "en" => Some(Lang::En),
        "zh" => Some(Lang::Zh),
        _ => None,
    };
    Ok(FormPost {
        submission: sub,
        draft,
        lang,
    })
}

/// The device cookie the landing page sets (HttpOnly): the edge's name for the device, which
/// every challenge it serves is bound to.
/// Over https it is `__Host-` and `Secure` ([`DEVICE_COOKIE_HOST`]).
pub const DEVICE_COOKIE: &str = "zsp_d";
pub const DEVICE_COOKIE_HOST: &str = "__Host-zsp_d";

/// The device cookie's name for this request: `__Host-` over https.
pub fn device_cookie_name(req: &crate::http::Request) -> &'static str {
    if req.tls {
        DEVICE_COOKIE_HOST
    } else {
        DEVICE_COOKIE
    }
}

/// The device the request's cookie names (by the name it was set under).
pub fn cookie_device(req: &crate::http::Request) -> Option<Id128> {
    req.cookie(device_cookie_name(req)).and_then(Id128::parse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{parse, vars};
    use wire::challenge::{CHALLENGE_LEN, solve};
    use wire::key::{Key, KeyPurpose};
    use wire::qr::{CodeId, Revocation, StaffRef, WindowRef};
    use wire::rating::RatingInput;

    const NOW: i64 = 1_795_000_000;

    fn entry() -> Entry {
        Entry::example("A01", Some("SC1"))
    }

    fn code() -> CodeId {
        entry().code
    }

    fn segment() -> String {
        QrPayload::seal(
            code(),
            Day::from_unix(NOW).unwrap(),
            &Key::new(KeyPurpose::Qr, 1, [1; 32]),
        )
    }

    fn challenge(difficulty: u8, issued_at: i64, code: CodeId) -> (String, u32) {
        let key = Key::new(KeyPurpose::Challenge, 1, [2; 32]);
        let c = Challenge {
            kid: 1,
            code,
            issued_at: issued_at as u64,
            nonce: [9; 8],
            device: wire::challenge::device_tag(&[2; 16]),
            difficulty,
        };
        let bytes: [u8; CHALLENGE_LEN] = c.seal_bytes(&key);
        let pow = solve(&bytes, difficulty, 0, u32::MAX).unwrap();
        (c.seal(&key), pow)
    }

    fn sub(level: Level, tags: &[u16]) -> Submission {
        let (challenge, pow) = challenge(8, NOW - 10, code());
        Submission {
            code: segment(),
            challenge,
            pow,
            id: Id128([1; 16]),
            device: None,
            rating: RatingInput {
                matter: Some("330102-SC-001".into()),
                comment: "<script>alert(1)</script>'; DROP TABLE ratings;--".into(),
                ..RatingInput::new(level, tags)
            },
            website: String::new(),
        }
    }

    fn run(s: &Submission, via: Via) -> Result<Checked, ApiError> {
        run_as(s, via, Sender::default())
    }

    /// `run` for a sender: its device cookie and address.
    fn run_as(s: &Submission, via: Via, sender: Sender) -> Result<Checked, ApiError> {
        let mut v = vars();
        v.insert("POW_DIFFICULTY", "8".into());
        let cfg = parse(&v).unwrap();
        let p = open_code(&s.code, &cfg)?;
        let e = entry_for(
            &p,
            Lookup {
                entry: Some(entry()),
                ..Lookup::default()
            },
            &cfg,
            &crate::guard::Settings::default(),
            Day::from_unix(NOW).unwrap(),
        )?;
        check(s, via, p, e, &cfg, sender, NOW)
    }

    #[test]
    fn a_good_submission_passes_and_keeps_text_as_text() {
        let c = run(&sub(Level::VerySatisfied, &[510]), Via::App).unwrap();
        assert_eq!(
            c.rating.comment,
            "<script>alert(1)</script>'; DROP TABLE ratings;--"
        );
        assert_eq!(c.day, Day::from_unix(NOW).unwrap());
    }

    #[test]
    fn every_rejection_has_its_code() {
        let cases: Vec<(Submission, &str)> = vec![
            (
                Submission {
                    website: "http://spam".into(),
                    ..sub(Level::Satisfied, &[])
                },
                "request.rejected",
            ),
            (
                Submission {
                    code: segment()[..40].to_string(),
                    ..sub(Level::Satisfied, &[])
                },
                "qr.malformed",
            ),
            (
                Submission {
                    challenge: challenge(8, NOW - 1, code()).0,
                    pow: challenge(8, NOW - 1, code()).1,
                    ..sub(Level::Satisfied, &[])
                },
                "challenge.too_young",
            ),
            (
                Submission {
                    challenge: challenge(8, NOW - 3600, code()).0,
                    pow: challenge(8, NOW - 3600, code()).1,
                    ..sub(Level::Satisfied, &[])
                },
                "challenge.expired",
            ),
            (
                Submission {
                    pow: sub(Level::Satisfied, &[]).pow.wrapping_add(1),
                    ..sub(Level::Satisfied, &[])
                },
                "challenge.unsolved",
            ),
            (
                Submission {
                    challenge: challenge(0, NOW - 10, code()).0,
                    pow: 0,
                    ..sub(Level::Satisfied, &[])
                },
                "challenge.unsolved",
            ),
            (sub(Level::Dissatisfied, &[]), "rating.no_tag"),
            (
                sub(Level::Dissatisfied, &[510]),
                "rating.tag_of_other_level",
            ),
        ];
        for (s, want) in cases {
            let got = run(&s, Via::App).unwrap_err();
            assert!(
                got.code.starts_with(want) || got.code == want,
                "{want}: got {got:?}"
            );
        }
        let other = CodeId {
            window: WindowRef::derive("330102", "上城区市民中心", "A02"),
            staff: None,
        };
        let (c, pow) = challenge(8, NOW - 10, other);
        let s = Submission {
            challenge: c,
            pow,
            ..sub(Level::Satisfied, &[])
        };
        assert_eq!(run(&s, Via::App).unwrap_err().code, "challenge.wrong_code");
        let mut s = sub(Level::Satisfied, &[]);
        s.rating.matter = Some("330102-SC-999".into());
        assert_eq!(run(&s, Via::App).unwrap_err().code, "rating.matter_unknown");
        let mut s = sub(Level::Dissatisfied, &[207]);
        s.rating.phone = Some("13800138000".into());
        let e = run(&s, Via::App).unwrap_err();
        assert_eq!((e.field, e.status), (Some("phone"), 422));
    }

    #[test]
    fn the_form_path_needs_no_work_but_a_form_challenge() {
        let (c, _) = challenge(0, NOW - 10, code());
        let body = format!(
            "code={}&challenge={c}&level=dissatisfied&tag=207&tag=510&tag=207&comment=%E5%A4%AA%E6%85%A2+%26+%3Cb%3E&phone=&website=",
            segment()
        );
        let form = || {
            from_form(
                Some("application/x-www-form-urlencoded; charset=UTF-8"),
                body.as_bytes(),
            )
            .unwrap()
        };
        let post = form();
        let s = &post.submission;
        assert_eq!(
            s.rating.tags,
            vec![207],
            "other levels' ticks and repeats dropped"
        );
        assert_eq!(post.draft.comment, "太慢 & <b>");
        assert_eq!(post.lang, None);
        let checked = run(s, Via::Form).unwrap();
        assert_eq!(checked.via, Via::Form);
        // The same page posted twice is the same submission, from the device it was served to.
        let again = form().submission;
        assert_eq!(again.id, s.id);
        assert_eq!(run(&again, Via::Form).unwrap().device, checked.device);
        // The page's language comes back with the form.
        let en = from_form(
            Some("application/x-www-form-urlencoded"),
            format!("{body}&lang=en").as_bytes(),
        )
        .unwrap();
        assert_eq!(en.lang, Some(Lang::En));
    }

    #[test]
    fn bad_bodies() {
        assert_eq!(
            parse_json(Some("text/plain"), b"{}").unwrap_err().code,
            "request.content_type"
        );
        assert_eq!(
            parse_json(None, b"{}").unwrap_err().code,
            "request.content_type"
        );
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            parse_json(Some("application/json"), &big)
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            parse_json(Some("application/json"), b"{\"v\":1,")
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            parse_json(Some("application/json"), b"\xff\xfe")
                .unwrap_err()
                .status,
            400
        );
        for (body, code) in [
            (&b"level=%ZZ"[..], "request.malformed"),
            (b"comment=%FF", "request.malformed"),
            (b"comment=hi", "rating.level"),
        ] {
            let form = Some("application/x-www-form-urlencoded");
            assert_eq!(from_form(form, body).unwrap_err().code, code);
        }
    }

    fn today() -> Day {
        Day::from_unix(NOW).unwrap()
    }

    #[test]
    fn the_device_is_the_edges_and_a_cookie_must_agree() {
        let s = sub(Level::Satisfied, &[406]);
        let go = |sender: Sender, body_device: Id128| {
            let s = Submission {
                device: Some(body_device),
                ..s.clone()
            };
            run_as(&s, Via::App, sender)
        };
        let cookie = |d| Sender {
            cookie: Some(Id128(d)),
            ..Sender::default()
        };
        let served_to = go(cookie([2; 16]), Id128([7; 16])).unwrap().device;
        // The body's device field is not read; no cookie: the device the page was served to.
        assert_eq!(
            go(Sender::default(), Id128([8; 16])).unwrap().device,
            served_to
        );
        // Another device's cookie: refused.
        let e = go(cookie([3; 16]), Id128([2; 16])).unwrap_err();
        assert_eq!(
            (e.code, e.field),
            ("challenge.wrong_device", Some("challenge"))
        );
        // The stored id is not the cookie.
        assert_ne!(served_to, Id128([2; 16]));
    }

    #[test]
    fn a_link_fixes_the_matter_and_rates_once_per_case() {
        let link = crate::links::LinkRow {
            token: "AAAAAAAAAAAAAAAA".into(),
            code: code().to_text(),
            matter: "330102-SC-001".into(),
            project_no: "BJ-1".into(),
            region: "330102".into(),
            hall: entry().hall,
            created_at: NOW - 86_400,
            expires_at: NOW + 86_400,
            revoked_at: None,
        };
        let found = Lookup {
            entry: Some(entry()),
            ..Lookup::default()
        };
        let e = crate::links::entry_for_link(&link, found.clone()).unwrap();
        assert_eq!(e.matters.len(), 1);
        assert_eq!(e.matters[0].code, "330102-SC-001");
        // A revocation of the code reaches its links too.
        let revoked = Lookup {
            revocations: Revocations {
                entries: vec![Revocation::Code {
                    code: code(),
                    issued_before: None,
                }],
            },
            ..found
        };
        assert_eq!(
            crate::links::entry_for_link(&link, revoked)
                .unwrap_err()
                .status,
            410
        );
        assert_eq!(
            crate::links::entry_for_link(&link, Lookup::default())
                .unwrap_err()
                .code,
            "links.unknown"
        );
        // Rated through the link: its device and day, its matter, its 办件号.
        let c = crate::links::through_link(
            run(&sub(Level::Satisfied, &[406]), Via::App).unwrap(),
            &link,
        );
        assert_eq!((c.device, c.day), (link.device(), link.day()));
        assert_eq!(c.rating.matter.as_deref(), Some("330102-SC-001"));
        assert_eq!(c.project_no.as_deref(), Some("BJ-1"));
    }

    #[test]
    fn expired_cards_are_refused_in_their_own_words() {
        let mut v = vars();
        v.insert("CODE_VALID_DAYS", "30".into());
        let cfg = parse(&v).unwrap();
        let g = crate::guard::settings(&|n| v.get(n).cloned()).unwrap();
        let p = open_code(&segment(), &cfg).unwrap();
        let found = || Lookup {
            entry: Some(entry()),
            ..Lookup::default()
        };
        assert!(entry_for(&p, found(), &cfg, &g, Day(p.issued.0 + 30)).is_ok());
        let e = entry_for(&p, found(), &cfg, &g, Day(p.issued.0 + 31)).unwrap_err();
        assert_eq!((e.code, e.status), ("qr.expired", 410));
        assert!(e.message(Lang::Zh).contains("已过有效期"));
    }

    #[test]
    fn revoked_and_unknown_codes() {
        let cfg = parse(&vars()).unwrap();
        let p = open_code(&segment(), &cfg).unwrap();
        let revoked = Lookup {
            entry: Some(entry()),
            revocations: Revocations {
                entries: vec![Revocation::Staff {
                    staff: StaffRef::derive("330102", "SC1"),
                    issued_before: Day(p.issued.0 + 1),
                }],
            },
            recent: 0,
        };
        assert_eq!(
            entry_for(
                &p,
                revoked,
                &cfg,
                &crate::guard::Settings::default(),
                today()
            )
            .unwrap_err()
            .status,
            410
        );
        assert_eq!(
            entry_for(
                &p,
                Lookup::default(),
                &cfg,
                &crate::guard::Settings::default(),
                today()
            )
            .unwrap_err()
            .code,
            "qr.unknown_code"
        );
        // With authorities, a key signs only its own authority's regions.
        let found = || Lookup {
            entry: Some(entry()),
            ..Lookup::default()
        };
        let mut v = vars();
        v.insert("AUTHORITIES", format!("330102:{} 330105:9", p.kid));
        let ours = parse(&v).unwrap();
        assert!(
            entry_for(
                &p,
                found(),
                &ours,
                &crate::guard::Settings::default(),
                today()
            )
            .is_ok()
        );
        v.insert("AUTHORITIES", format!("330105:{} 330102:9", p.kid));
        let theirs = parse(&v).unwrap();
        assert_eq!(
            entry_for(
                &p,
                found(),
                &theirs,
                &crate::guard::Settings::default(),
                today()
            )
            .unwrap_err()
            .code,
            "qr.authority"
        );
        let forged = Key::new(KeyPurpose::Qr, 1, [8; 32]);
        let seg = QrPayload::seal(code(), Day::from_unix(NOW).unwrap(), &forged);
        assert_eq!(open_code(&seg, &cfg).unwrap_err().status, 404);
        let other_kid = Key::new(KeyPurpose::Qr, 2, [1; 32]);
        let seg = QrPayload::seal(code(), Day::from_unix(NOW).unwrap(), &other_kid);
        assert_eq!(open_code(&seg, &cfg).unwrap_err().code, "qr.unknown_key");
    }

    #[test]
    fn form_fields_decode_and_bad_escapes_are_refused() {
        assert_eq!(
            crate::http::urlencoded(b"a=%E5%A4%AA+%26&b&c=1%2B1").unwrap(),
            vec![
                ("a".into(), "太 &".into()),
                ("b".into(), String::new()),
                ("c".into(), "1+1".into())
            ]
        );
        for bad in [&b"a=%zz"[..], b"a=%4", b"a=%FF%FE", b"\xff=1"] {
            let e = crate::http::urlencoded(bad).unwrap_err();
            assert_eq!(e.code, "request.malformed", "{bad:?}");
        }
    }

    #[test]
    fn device_cookie() {
        use crate::http::{Method, Request};
        let id = Id128([7; 16]).to_text();
        let at = |url: &str, cookie: &str| {
            let mut r = Request::new(Method::Get, url).with_header("Cookie", cookie);
            r.trust_https_header(Some("X-Forwarded-Proto"));
            r
        };
        let plain = at("http://127.0.0.1/x", &format!("a=b; zsp_d={id}; c=d"));
        assert_eq!(cookie_device(&plain), Some(Id128([7; 16])));
        assert_eq!(device_cookie_name(&plain), DEVICE_COOKIE);
        assert_eq!(cookie_device(&at("http://127.0.0.1/x", "zsp_d=junk")), None);
        assert_eq!(cookie_device(&at("http://127.0.0.1/x", "")), None);
        // Behind a proxy that says https: the __Host- cookie, and only it.
        let mut r = at("http://127.0.0.1/x", &format!("{DEVICE_COOKIE_HOST}={id}"));
        assert_eq!(cookie_device(&r), None, "the proxy has not said https yet");
        r.set_header("X-Forwarded-Proto", "https");
        r.trust_https_header(Some("X-Forwarded-Proto"));
        assert_eq!(device_cookie_name(&r), DEVICE_COOKIE_HOST);
        assert_eq!(cookie_device(&r), Some(Id128([7; 16])));
    }
}
