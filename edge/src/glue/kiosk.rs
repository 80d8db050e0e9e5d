//! Kiosk mode (`crate::kiosk`) bound to workers-rs: a tablet's page, its standby state (who is
//! on duty, the queue system's arming), its ratings and the staff member's photo under
//! `/kiosk/<token>`; the queue system's `/api/v1/kiosk/<code>/staff`; and the console's tablets
//! and staff on duty on a window code's page.

use super::console::{
    Form, Session, bearer, code_in_scope, done, form_error, from_value, need, write,
};
use super::db::Db;
use super::{Answer, body, json, lookup, now, random};
use crate::config::Config;
use crate::access::Action;
use crate::console::sql;
use crate::error::ApiError;
use crate::kiosk::{self, ArmRow, Armed, DutyRow, KioskRow, PhotoRow};
use crate::links::{self, LinkRow};
use crate::{page, store, submit};
use wire::directory::Entry;
use wire::submission::MAX_BODY_BYTES;
use worker::*;

/// `/kiosk/<token>`, `/kiosk/<token>/state`, `/kiosk/<token>/rate`, `/kiosk/<token>/photo`.
pub async fn route(req: Request, env: &Env, cfg: &Config, path: &str) -> Answer {
    let rest = &path["/kiosk/".len()..];
    let (token, what) = rest.split_once('/').unwrap_or((rest, ""));
    let db = Db::open(env)?;
    match (req.method(), what) {
        (Method::Get | Method::Head, "") => page(&req, env, cfg, &db, token).await,
        (Method::Get, "state") => {
            let (k, e) = tablet(&db, cfg, token).await?;
            let mut res = db
                .batch(
                    vec![kiosk::duty_of(&k.code), kiosk::take_arm(&k.code, now())],
                    false,
                )
                .await?;
            let arm: Vec<ArmRow> = from_value(res.pop())?;
            let duty: Vec<DutyRow> = from_value(res.pop())?;
            let r = json(
                kiosk::state_json(&e, duty.first(), arm.first(), cfg.kiosk_idle_secs, token),
                200,
            )?;
            Ok(r)
        }
        (Method::Post, "rate") => rate(req, cfg, &db, token).await,
        (Method::Get, "photo") => {
            let (k, _) = tablet(&db, cfg, token).await?;
            let rows: Vec<PhotoRow> = db.rows(kiosk::photo(&k.code)).await?;
            let p = rows.into_iter().next().ok_or(crate::error::NOT_FOUND)?;
            let bytes = wire::base64::decode(&p.photo).ok_or(crate::error::NOT_FOUND)?;
            let r = Response::from_bytes(bytes)?;
            r.headers().set("Content-Type", &p.photo_type)?;
            // Its URL names the day it was set (`?v=`): a new photo is a new URL.
            r.headers().set("Cache-Control", "private, max-age=86400")?;
            r.headers().set("X-Content-Type-Options", "nosniff")?;
            Ok(r)
        }
        _ => Err(crate::error::NOT_FOUND),
    }
}

/// The tablet of a device token, usable, with its window's directory entry (a revoked or
/// removed window stops its tablets too).
async fn tablet(
    db: &Db,
    cfg: &Config,
    token: &str,
) -> std::result::Result<(KioskRow, Entry), ApiError> {
    let token = kiosk::parse_token(token).ok_or(kiosk::NOT_FOUND)?;
    let rows: Vec<KioskRow> = db.rows(kiosk::by_token(token)).await?;
    let k = rows.into_iter().next().ok_or(kiosk::NOT_FOUND)?;
    k.usable()?;
    let code = k.code_id().ok_or(kiosk::NOT_FOUND)?;
    let e = submit::entry_on(
        code,
        k.day(),
        lookup(db, cfg, code).await?,
        kiosk::NOT_FOUND,
    )?;
    Ok((k, e))
}

/// The tablet's page; a withdrawn or unknown tablet gets a page that says so, in large text.
async fn page(req: &Request, env: &Env, cfg: &Config, db: &Db, token: &str) -> Answer {
    let lang = super::lang_of(req);
    let (k, e) = match tablet(db, cfg, token).await {
        Ok(t) => t,
        Err(e) if e.code.starts_with("kiosk.") || e.code.starts_with("qr.") => {
            let tpl = super::template(env, cfg).await?;
            let words = if e.code == kiosk::NOT_FOUND.code {
                e.message(lang)
            } else {
                wire::text::KIOSK_STOPPED.get(lang)
            };
            let body = page::message(&tpl.plain, lang, words, &[], "invalid").replacen(
                "<html ",
                "<html class=\"big\" ",
                1,
            );
            return super::html(body, e.status, &tpl);
        }
        Err(e) => return Err(e),
    };
    let duty: Vec<DutyRow> = db.rows(kiosk::duty_of(&k.code)).await?;
    let tpl = super::kiosk_template(env, cfg).await?;
    let body = page::kiosk(
        &tpl.html,
        &page::Kiosk {
            lang,
            token,
            entry: &e,
            duty: duty.first(),
            retention_days: cfg.retention_days,
            now: now(),
        },
    );
    super::html(body, 200, &tpl)
}

/// A tablet's rating: its device token and arming stand for the proof of work and the cookie.
/// Sent again by its offline queue, it is stored once and answered the same.
async fn rate(mut req: Request, cfg: &Config, db: &Db, token: &str) -> Answer {
    super::same_site(&req)?;
    let (k, e) = tablet(db, cfg, token).await?;
    let ct = req.headers().get("Content-Type")?;
    let body = body(&mut req, MAX_BODY_BYTES).await?;
    let sub = submit::parse_json(ct.as_deref(), &body)?;
    let link = match kiosk::armed_by(&sub)? {
        Armed::ByStaff => None,
        Armed::ByLink(t) => {
            let rows: Vec<LinkRow> = db.rows(links::by_token(t)).await?;
            Some(rows.into_iter().next().ok_or(links::NOT_FOUND)?)
        }
    };
    let c = kiosk::check(&sub, &k, e, link.as_ref(), now())?;
    let (a, c, _) = super::commit(db, cfg, c, None).await?;
    json(
        store::accepted_json(&a, c.rating.level, c.rating.phone.is_some(), c.day, None),
        200,
    )
    .map_err(Into::into)
}

/// `POST /api/v1/kiosk/<code>/staff` (who is on duty at the window, from the queue system) and
/// `DELETE` (nobody), with a scoped automation token.
pub async fn api(mut req: Request, env: &Env, cfg: &Config, path: &str) -> Answer {
    let db = Db::open(env)?;
    let me = bearer(&req, cfg, &db).await?;
    need(&me, Action::Kiosks)?;
    let code = path
        .strip_prefix("/api/v1/kiosk/")
        .and_then(|p| p.strip_suffix("/staff"))
        .ok_or(crate::error::NOT_FOUND)?;
    let (row, _) = code_in_scope(&db, &me, code).await?;
    let t = now();
    match req.method() {
        Method::Post => {
            let d = kiosk::parse_on_duty(&body(&mut req, 2 * kiosk::PHOTO_MAX).await?)?;
            write(
                &db,
                vec![
                    kiosk::set_on_duty(&row.code, &d, &me.name, t),
                    sql::audit(&me, "kiosk.staff", &row.code, &d.staff_no, t),
                ],
            )
            .await?;
            Ok(json(
                serde_json::json!({"ok": true, "code": row.code, "name": d.name,
                    "staff_no": d.staff_no, "photo": d.photo.is_some()})
                .to_string(),
                200,
            )?)
        }
        Method::Delete => {
            write(
                &db,
                vec![
                    kiosk::off_duty(&row.code),
                    sql::audit(&me, "kiosk.staff", &row.code, "off duty", t),
                ],
            )
            .await?;
            Ok(json(
                serde_json::json!({"ok": true, "code": row.code}).to_string(),
                200,
            )?)
        }
        _ => Err(crate::error::METHOD),
    }
}

/// A new tablet of the window `e`: its public id and its address, with the token (shown once).
async fn new_tablet(
    req: &Request,
    db: &Db,
    cfg: &Config,
    me: &crate::access::Actor,
    e: &Entry,
    label: &str,
) -> std::result::Result<(String, String), ApiError> {
    let token = kiosk::new_token(random());
    let id = kiosk::public_id(&kiosk::digest(&token)).to_owned();
    let t = now();
    let code = e.code.to_text();
    write(
        db,
        vec![
            kiosk::create(e, label, &token, &me.name, t),
            sql::audit(me, "kiosk.add", &format!("{label}（{id}）"), &code, t),
        ],
    )
    .await?;
    Ok((
        id,
        format!("{}/kiosk/{token}", super::links::base(req, cfg)),
    ))
}

/// The bearer API's tablets, for an operator's scripts: `POST /admin/kiosks` `{"code",
/// "label"}` answers the tablet's address (once); `POST /admin/kiosks/<id>/revoke` withdraws it.
pub async fn admin(
    req: &mut Request,
    db: &Db,
    cfg: &Config,
    me: &crate::access::Actor,
    path: &str,
) -> Answer {
    need(me, Action::Kiosks)?;
    let t = now();
    if path == "/admin/kiosks" {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct New {
            code: String,
            label: String,
        }
        let n: New = serde_json::from_slice(&body(req, 4096).await?).map_err(|e| ApiError {
            detail: Some(e.to_string()),
            ..crate::error::MALFORMED_JSON
        })?;
        let label = kiosk::label_ok(&n.label)?;
        let (row, e) = code_in_scope(db, me, &n.code).await?;
        let (id, url) = new_tablet(req, db, cfg, me, &e, label).await?;
        return Ok(json(
            serde_json::json!({"ok": true, "id": id, "url": url, "code": row.code, "label": label})
                .to_string(),
            201,
        )?);
    }
    let id = path
        .strip_prefix("/admin/kiosks/")
        .and_then(|p| p.strip_suffix("/revoke"))
        .ok_or(crate::error::NOT_FOUND)?;
    let rows: Vec<KioskRow> = db.rows(kiosk::revoke(id, None, &me.scope, t)).await?;
    let k = rows.into_iter().next().ok_or(kiosk::NOT_FOUND)?;
    write(db, vec![sql::audit(me, "kiosk.revoke", &k.id, &k.label, t)]).await?;
    Ok(json(
        serde_json::json!({"ok": true, "id": k.id, "revoked": true}).to_string(),
        200,
    )?)
}

/// The tablets and the staff member on duty, for a window code's console page.
pub async fn of_code(
    db: &Db,
    code: &str,
) -> std::result::Result<(Vec<KioskRow>, Option<DutyRow>), ApiError> {
    let mut res = db
        .batch(vec![kiosk::of_code(code), kiosk::duty_of(code)], false)
        .await?;
    let duty: Vec<DutyRow> = from_value(res.pop())?;
    let tablets: Vec<KioskRow> = from_value(res.pop())?;
    Ok((tablets, duty.into_iter().next()))
}

pub fn serves(path: &str) -> bool {
    path.starts_with("/console/codes/")
        && ["/kiosks", "/kiosks/revoke", "/duty"]
            .iter()
            .any(|end| path.ends_with(end))
}

/// The console's forms on a window code's page: a new tablet (its address shown once), a
/// tablet withdrawn, the staff member on duty (with a photo) or nobody.
pub async fn post(
    req: &Request,
    db: &Db,
    cfg: &Config,
    s: &Session,
    path: &str,
    f: Form,
) -> Answer {
    let me = &s.me;
    need(me, Action::Kiosks)?;
    let t = now();
    let rest = &path["/console/codes/".len()..];
    let (code, what) = rest.split_once('/').ok_or(crate::error::NOT_FOUND)?;
    let (row, e) = code_in_scope(db, me, code).await?;
    let back = format!("/console/codes/{code}");
    match what {
        "kiosks" => {
            let typed = f.get("label");
            let label = kiosk::label_ok(&typed).map_err(|e| form_error(e.zh.into()))?;
            let (_, url) = new_tablet(req, db, cfg, me, &e, label).await?;
            let flash = crate::console::pages::Flash::Secret {
                what: format!(
                    "已新建评价平板“{label}”。请在平板的浏览器中打开以下地址（只显示这一次）"
                ),
                secret: url,
            };
            super::console::card_page(req, db, cfg, s, code, &flash).await
        }
        "kiosks/revoke" => {
            let id = f.get("id");
            let rows: Vec<KioskRow> = db
                .rows(kiosk::revoke(&id, Some(&row.code), &me.scope, t))
                .await?;
            let k = rows
                .into_iter()
                .next()
                .ok_or_else(|| form_error(format!("此窗口没有平板 {id}")))?;
            write(db, vec![sql::audit(me, "kiosk.revoke", &k.id, &k.label, t)]).await?;
            done(&back, &format!("已停用评价平板“{}”", k.label))
        }
        "duty" if f.get("op") == "off" => {
            write(
                db,
                vec![
                    kiosk::off_duty(&row.code),
                    sql::audit(me, "kiosk.staff", &row.code, "off duty", t),
                ],
            )
            .await?;
            done(&back, "已清除在岗人员")
        }
        "duty" => {
            let photo = match f.0.get("photo") {
                Some(FormEntry::File(file)) if file.size() > 0 => Some(file.bytes().await?),
                _ => None,
            };
            let d = kiosk::on_duty(&f.get("name"), &f.get("staff_no"), photo.as_deref())
                .map_err(|e| form_error(e.zh.into()))?;
            write(
                db,
                vec![
                    kiosk::set_on_duty(&row.code, &d, &me.name, t),
                    sql::audit(me, "kiosk.staff", &row.code, &d.staff_no, t),
                ],
            )
            .await?;
            done(
                &back,
                &format!("在岗人员已设为 {}（工号 {}）", d.name, d.staff_no),
            )
        }
        _ => Err(crate::error::NOT_FOUND),
    }
}
