//! 一事一评 links by API: minting and revoking them with a scoped token (`POST /api/v1/links`,
//! `POST /api/v1/links/<token>/revoke`; a queue system's `queue` role), and a link's QR as a PNG
//! (`/l/<token>.png`). A link's page and its ratings are the citizen's (`citizen::resolve`).

use super::LinkRow;
use crate::access::{self, Actor};
use crate::config::Config;
use crate::error::{self, ApiError};
use crate::host::{self, Host};
use crate::http::{self, Answer, Request, Response};
use crate::store::Rules;

/// `POST /api/v1/links`: a link for one 办件, idempotent on its 办件号.
/// The unrated 办件's settings and the office hours (for a default-rating period in working days).
pub type Unrated<'a> = (&'a crate::served::Settings, wire::calendar::OfficeHours);

pub async fn mint(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    (unrated, hours): Unrated<'_>,
    me: &Actor,
    req: &Request,
) -> Answer {
    let m = super::parse_mint(&req.body)?;
    let l = crate::directory::lookup(h, cfg, &rules.guard, m.code).await?;
    let entry = l
        .entry
        .filter(|e| e.code == m.code && me.scope.covers(&e.region, &e.hall))
        .ok_or(access::NOT_FOUND.with_field("code"))?;
    handled_at(&entry, &m.matter)?;
    let token = super::new_token(host::random(h));
    let t = h.now();
    let authority = cfg.authority_of(&entry.region);
    // The 办件 served, once by its 办件号 (a report of it may have come first), and only when the
    // link is this code's.
    // Without a lifetime asked for, the link lives as long as the citizen's own chance before
    // the authority's default rating (if it has one).
    let default_until = match (m.days, unrated.default_rating(&entry.region)) {
        (None, after @ crate::served::After::Span(wire::calendar::Span::WorkingDays(_))) => {
            after.due(t, hours, &crate::fastlane::calendar_of(h).await?)
        }
        (None, after) => after.due(t, hours, &wire::calendar::Calendar::default()),
        (Some(_), _) => None,
    };
    let mut batch = super::mint(
        &m,
        &authority,
        &entry,
        &token,
        &me.name,
        (t, m.expires_at(t, default_until)),
    );
    let link_at = batch.len() - 1;
    batch.push(crate::served::record_link(
        &authority,
        &m.project_no,
        &entry,
        &m.matter,
        t,
    ));
    // The alarm learns of the new 办件 (its invitation and default fall due from it).
    let mut res = host::run(h, batch, true).await?;
    res.truncate(link_at + 1);
    let rows: Vec<LinkRow> = host::typed(h, res.pop())?;
    let row = rows.into_iter().next().ok_or(super::NOT_FOUND)?;
    // Another code's or matter's, or a link outside the caller's scope: the same refusal, which
    // names nothing of it.
    if row.code != m.code.to_text()
        || row.matter != m.matter
        || !me.scope.covers(&row.region, &row.hall)
    {
        return Err(super::TAKEN);
    }
    let created = row.token == token;
    let base = http::site(req, cfg.public_url.as_deref());
    Ok(Response::json(
        if created { 201 } else { 200 },
        row.answer(&base, created),
    ))
}

/// A matter the window handles (any, when its entry lists none).
fn handled_at(entry: &wire::directory::Entry, matter: &str) -> Result<(), ApiError> {
    if entry.matters.is_empty() || entry.matters.iter().any(|x| x.code == matter) {
        return Ok(());
    }
    Err(ApiError::new(
        422,
        "links.matter_unknown",
        "该窗口不办理此事项。",
        "That matter is not handled at this window.",
    )
    .with_field("matter"))
}

/// `POST /api/v1/served`: a queue or business system reports one 办件 served (by its 办件号, once,
/// whether or not a link was minted for it) or a day's ticket count at a window's code (the last
/// count stands). Only for codes within the token's scope; a 办件号 known for another code: 409.
pub async fn served(
    h: &impl Host,
    cfg: &Config,
    rules: &Rules,
    me: &Actor,
    req: &Request,
) -> Answer {
    use crate::served::{self, Report};
    let t = h.now();
    let r = served::parse(&req.body, t)?;
    let l = crate::directory::lookup(h, cfg, &rules.guard, r.code()).await?;
    let entry = l
        .entry
        .filter(|e| e.code == r.code() && me.scope.covers(&e.region, &e.hall))
        .ok_or(access::NOT_FOUND.with_field("code"))?;
    let authority = cfg.authority_of(&entry.region);
    let code = entry.code.to_text();
    let (record, key) = match &r {
        Report::One {
            project_no,
            matter,
            day,
            ..
        } => {
            handled_at(&entry, matter)?;
            (
                served::record_report(&authority, project_no, &entry, matter, *day, t),
                served::project_key(&authority, project_no),
            )
        }
        Report::Count { day, count, .. } => (
            served::record_count(&entry, *day, *count, t),
            served::count_key(&code, *day),
        ),
    };
    let mut res = host::run(
        h,
        vec![
            record,
            crate::sql::stmt(
                "SELECT code, n FROM served WHERE key = ?1",
                vec![key.into()],
            ),
        ],
        true,
    )
    .await?;
    struct Row {
        code: String,
        n: i64,
    }
    crate::row!(Row { code, n });
    let rows: Vec<Row> = host::typed(h, res.pop())?;
    let row = rows.into_iter().next().ok_or(error::UNAVAILABLE)?;
    if row.code != code {
        return Err(ApiError::new(
            409,
            "served.project_no_taken",
            "此办件号已为另一窗口的办件。",
            "That 办件号 belongs to another window's 办件.",
        )
        .with_field("project_no"));
    }
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true, "served": row.n}).to_string(),
    ))
}

/// `POST /api/v1/links/<token>/revoke`: a link withdrawn (within the token's scope).
pub async fn revoke(h: &impl Host, cfg: &Config, me: &Actor, req: &Request, token: &str) -> Answer {
    let rows: Vec<LinkRow> = host::rows(h, super::revoke(token, &me.scope, h.now())).await?;
    let row = rows.into_iter().next().ok_or(access::NOT_FOUND)?;
    let base = http::site(req, cfg.public_url.as_deref());
    Ok(Response::json(200, row.answer(&base, false)))
}

/// `GET /l/<token>.png`: the link's QR, for a window's screen or a ticket printer.
pub async fn png(h: &impl Host, cfg: &Config, req: &Request, token: &str) -> Answer {
    let token = super::parse_token(token).ok_or(super::NOT_FOUND)?;
    let rows: Vec<LinkRow> = host::rows(h, super::by_token(token)).await?;
    let row = rows.into_iter().next().ok_or(super::NOT_FOUND)?;
    row.usable(h.now())?;
    let base = http::site(req, cfg.public_url.as_deref());
    let (side, raw) =
        super::qr_image(&format!("{base}/l/{}", row.token)).ok_or(error::UNAVAILABLE)?;
    let deflated = h
        .deflate_raw(&raw)
        .await
        .map_err(|e| host::internal(h, "deflate", e))?;
    let png = wire::png::one_bit(side, &raw, &deflated);
    Ok(Response::bytes(200, "image/png", png).with("Cache-Control", "no-store"))
}
