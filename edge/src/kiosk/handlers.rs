//! A hall tablet's routes, by its device token in the path: its page (`/kiosk/<token>`), its
//! standby state (who is on duty, the queue system's arming), its ratings and the staff member's
//! photo; and the queue system's feed of who is on duty (`/api/v1/kiosk/<code>/staff`, a scoped
//! token of the `feed` role). The console's tablets (made and withdrawn on a code's page) are the
//! console's handlers.

use super::{ArmRow, Armed, DutyRow, KioskRow, PhotoRow, Settings};
use crate::access::{self, Actor};
use crate::citizen;
use crate::config::Config;
use crate::error::{self, ApiError};
use crate::host::{self, Host};
use crate::http::{Answer, Request, Response};
use crate::links::{self, LinkRow};
use crate::page;
use crate::store::{self, Rules};
use wire::directory::Entry;

/// The tablet of a device token, usable, with its window's directory entry (a revoked or
/// removed window stops its tablets too).
async fn tablet(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    token: &str,
) -> Result<(KioskRow, Entry), ApiError> {
    let token = super::parse_token(token).ok_or(super::NOT_FOUND)?;
    let rows: Vec<KioskRow> = host::rows(h, super::by_token(token)).await?;
    let k = rows.into_iter().next().ok_or(super::NOT_FOUND)?;
    k.usable()?;
    let code = k.code_id().ok_or(super::NOT_FOUND)?;
    let l = crate::directory::lookup(h, cfg, &rules.guard, code).await?;
    let e = crate::submit::entry_on(code, k.day(), l, super::NOT_FOUND)?;
    Ok((k, e))
}

/// `GET /kiosk/<token>`: the tablet's page; a withdrawn or unknown tablet gets a page that says
/// so, in large text.
pub async fn page(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    lane: &crate::fastlane::Settings,
    req: &Request,
    token: &str,
) -> Answer {
    let lang = citizen::lang_of(req);
    let (k, e) = match tablet(h, cfg, rules, token).await {
        Ok(t) => t,
        Err(e) if e.code.starts_with("kiosk.") || e.code.starts_with("qr.") => {
            let tpl = citizen::template(h, cfg, "index.html").await?;
            let words = if e.code == super::NOT_FOUND.code {
                e.message(lang)
            } else {
                wire::text::KIOSK_STOPPED.get(lang)
            };
            let body = page::message(&tpl.plain, lang, words, &[], "invalid").replacen(
                "<html ",
                "<html class=\"big\" ",
                1,
            );
            return Ok(citizen::html(body, e.status, &tpl));
        }
        Err(e) => return Err(e),
    };
    let duty: Vec<DutyRow> = host::rows(h, super::duty_of(&k.code)).await?;
    let tpl = citizen::template(h, cfg, "kiosk.html").await?;
    let photo = duty
        .first()
        .filter(|d| d.photo != 0)
        .map(|d| format!("/kiosk/{token}/photo?v={}", d.set_at));
    let body = page::kiosk(
        &tpl.html,
        &page::Kiosk {
            lang,
            token,
            entry: &e,
            duty: duty.first().map(|d| page::Duty {
                name: &d.name,
                staff_no: &d.staff_no,
                photo: photo.as_deref(),
            }),
            retention_days: cfg.retention_days,
            callback: citizen::callback_of(lane, &e),
            now: h.now(),
        },
    );
    Ok(citizen::html(body, 200, &tpl))
}

/// `GET /kiosk/<token>/state`: who is on duty, and the queue system's arming if one waits (taken
/// once).
pub async fn state(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    kiosk: &Settings,
    token: &str,
) -> Answer {
    let (k, e) = tablet(h, cfg, rules, token).await?;
    let mut res = host::run(
        h,
        vec![super::duty_of(&k.code), super::take_arm(&k.code, h.now())],
        false,
    )
    .await?;
    let arm: Vec<ArmRow> = host::typed(h, res.pop())?;
    let duty: Vec<DutyRow> = host::typed(h, res.pop())?;
    Ok(Response::json(
        200,
        super::state_json(&e, duty.first(), arm.first(), kiosk.idle_secs, token),
    ))
}

/// `POST /kiosk/<token>/arm`: the staff member's "请评价" arms the tablet for one rating, as a row
/// here; at most once every `KIOSK_ARM_SECS` after an arming a rating took (429 with when).
pub async fn arm(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    kiosk: &Settings,
    token: &str,
) -> Answer {
    let (k, _) = tablet(h, cfg, rules, token).await?;
    let arm = super::new_token(host::random(h));
    let now = h.now();
    // Armed by its staff member: a citizen served at the tablet's code (only if the arming took).
    let res = host::run(
        h,
        vec![
            super::arm(&k.id, &arm, now, kiosk.arm_secs),
            crate::served::record_arming(&k.id, &arm, &k.code, &k.region, &k.hall, now),
        ],
        false,
    )
    .await?;
    // The arming's own statement: a row when the tablet was armed now.
    if host::count(res.first()) == 0 {
        let at: Vec<NextArm> = host::rows(h, super::next_arm(&k.id, kiosk.arm_secs)).await?;
        let wait = at.first().map_or(1, |a| (a.at - now).max(1));
        let e = super::TOO_SOON;
        return Ok(Response::json(e.status, e.to_json())
            .with("Retry-After", &wait.to_string())
            .with("Cache-Control", "no-store"));
    }
    Ok(
        Response::json(200, serde_json::json!({ "arm": arm }).to_string())
            .with("Cache-Control", "no-store"),
    )
}

struct NextArm {
    at: i64,
}
crate::row!(NextArm { at });

/// `POST /kiosk/<token>/rate`: a tablet's rating. Its device token and arming stand for the proof
/// of work and the cookie: a rating that names no live arming of this tablet (made by the staff
/// member's press, or a queue system's link) is held for review, never counted unseen. It passes
/// the address signal like any rating. Sent again by its offline queue, it is stored once and
/// answered the same.
pub async fn rate(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    lane: &crate::fastlane::Settings,
    req: &Request,
    token: &str,
) -> Answer {
    let (k, e) = tablet(h, cfg, rules, token).await?;
    let sub = crate::submit::parse_json(req.header("content-type"), &req.body)?;
    let link = match super::armed_by(&sub)? {
        Armed::ByStaff => None,
        Armed::ByLink(t) => {
            let rows: Vec<LinkRow> = host::rows(h, links::by_token(t)).await?;
            Some(rows.into_iter().next().ok_or(links::NOT_FOUND)?)
        }
    };
    let mut c = super::check(&sub, &k, e, link.as_ref(), h.now())?;
    c.address = crate::guard::client_of(cfg, req, h.now());
    if link.is_none() {
        let taken = match super::arm_of(&sub) {
            Some(arm) => {
                let res = host::run(h, vec![super::take(&k.id, arm, sub.id, h.now())], false);
                host::count(res.await?.first())
            }
            None => 0,
        };
        if taken == 0 {
            c.flag = Some(super::UNARMED);
        }
    }
    let (a, c, _) = citizen::commit(h, rules, c, None).await?;
    Ok(Response::json(
        200,
        store::accepted_json(
            &a,
            &c,
            None,
            &citizen::next_of(lane, cfg, &c, citizen::lang_of(req)),
        ),
    ))
}

/// `GET /kiosk/<token>/photo`: the staff member on duty's photo.
pub async fn photo(h: &impl Host, cfg: &Config, rules: &Rules, token: &str) -> Answer {
    let (k, _) = tablet(h, cfg, rules, token).await?;
    let rows: Vec<PhotoRow> = host::rows(h, super::photo(&k.code)).await?;
    let p = rows.into_iter().next().ok_or(error::NOT_FOUND)?;
    let bytes = wire::base64::decode(&p.photo).ok_or(error::NOT_FOUND)?;
    // Its URL names the day it was set (`?v=`): a new photo is a new URL.
    Ok(Response::bytes(200, &p.photo_type, bytes).with("Cache-Control", "private, max-age=86400"))
}

/// `POST /api/v1/kiosk/<code>/staff` (who is on duty at the window, from the queue system) and
/// `DELETE` (nobody). The code must lie in the token's scope.
pub async fn feed(h: &impl Host, me: &Actor, req: &Request, code: &str) -> Answer {
    let (row, _) = crate::directory::code_in_scope(h, me, code).await?;
    let t = h.now();
    if req.method == crate::http::Method::Delete {
        host::run(
            h,
            vec![
                super::off_duty(&row.code),
                access::audit(me, "kiosk.staff", &row.code, "off duty", t),
            ],
            false,
        )
        .await?;
        return Ok(Response::json(
            200,
            serde_json::json!({"ok": true, "code": row.code}).to_string(),
        ));
    }
    let d = super::parse_on_duty(&req.body)?;
    host::run(
        h,
        vec![
            super::set_on_duty(&row.code, &d, &me.name, t),
            access::audit(me, "kiosk.staff", &row.code, &d.staff_no, t),
        ],
        false,
    )
    .await?;
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true, "code": row.code, "name": d.name,
            "staff_no": d.staff_no, "photo": d.photo.is_some()})
        .to_string(),
    ))
}
