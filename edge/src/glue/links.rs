//! 一事一评 links (`crate::links`): minting and revoking them with a scoped automation token
//! (`POST /api/v1/links`, `POST /api/v1/links/<token>/revoke`), and a link's QR as a PNG
//! (`/l/<token>.png`). The link's page and its ratings go through the rating page's own
//! handlers (`super::resolve`).

use super::console::{bearer, need};
use super::db::Db;
use super::{Answer, body, json, now, random};
use crate::config::Config;
use crate::access::Action;
use crate::error::ApiError;
use crate::links::{self, LinkRow};
use worker::*;

/// The site's address for the URLs it hands out: `PUBLIC_URL`, else the request's own origin.
pub(super) fn base(req: &Request, cfg: &Config) -> String {
    if let Some(u) = &cfg.lane.public_url {
        return u.clone();
    }
    req.url()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

pub async fn api(mut req: Request, env: &Env, cfg: &Config, path: &str) -> Answer {
    let db = Db::open(env)?;
    let me = bearer(&req, cfg, &db).await?;
    need(&me, Action::Links)?;
    let t = now();
    match (req.method(), path) {
        (Method::Post, "/api/v1/links") => {
            let m = links::parse_mint(&body(&mut req, 4096).await?)?;
            let l = super::lookup(&db, cfg, m.code).await?;
            let entry = l.entry.filter(|e| e.code == m.code).ok_or(
                ApiError::new(
                    422,
                    "links.code_unknown",
                    "code 不在名录中。",
                    "code is not in the directory.",
                )
                .with_field("code"),
            )?;
            if !me.scope.covers(&entry.region, &entry.hall) {
                return Err(ApiError::new(
                    403,
                    "links.scope",
                    "该二维码不在此令牌的权限范围内。",
                    "This code is outside the token's scope.",
                ));
            }
            if !entry.matters.is_empty() && !entry.matters.iter().any(|x| x.code == m.matter) {
                return Err(ApiError::new(
                    422,
                    "links.matter_unknown",
                    "该窗口不办理此事项。",
                    "That matter is not handled at this window.",
                )
                .with_field("matter"));
            }
            let token = links::new_token(random());
            let mut res = db
                .batch(
                    links::mint(&m, &entry.region, &entry.hall, &token, &me.name, t),
                    false,
                )
                .await?;
            let rows: Vec<LinkRow> = super::console::from_value(res.pop())?;
            let row = rows.into_iter().next().ok_or(links::NOT_FOUND)?;
            if row.code != m.code.to_text() || row.matter != m.matter {
                return Err(links::TAKEN);
            }
            let created = row.token == token;
            Ok(json(
                row.answer(&base(&req, cfg), created),
                if created { 201 } else { 200 },
            )?)
        }
        (Method::Post, p) if p.starts_with("/api/v1/links/") && p.ends_with("/revoke") => {
            let token = &p["/api/v1/links/".len()..p.len() - "/revoke".len()];
            let rows: Vec<LinkRow> = db.rows(links::revoke(token, &me.scope, t)).await?;
            let row = rows.into_iter().next().ok_or(links::NOT_FOUND)?;
            Ok(json(row.answer(&base(&req, cfg), false), 200)?)
        }
        _ => Err(crate::error::NOT_FOUND),
    }
}

/// `/l/<token>.png`: the link's QR, for a window's screen or a ticket printer.
pub async fn png(req: &Request, env: &Env, cfg: &Config, token: &str) -> Answer {
    let token = links::parse_token(token).ok_or(links::NOT_FOUND)?;
    let rows: Vec<LinkRow> = Db::open(env)?.rows(links::by_token(token)).await?;
    let row = rows.into_iter().next().ok_or(links::NOT_FOUND)?;
    row.usable(now())?;
    let bytes = links::png(&format!("{}/l/{}", base(req, cfg), row.token))
        .ok_or(crate::error::UNAVAILABLE)?;
    let r = Response::from_bytes(bytes)?;
    r.headers().set("Content-Type", "image/png")?;
    r.headers().set("Cache-Control", "no-store")?;
    r.headers().set("X-Content-Type-Options", "nosniff")?;
    Ok(r)
}
