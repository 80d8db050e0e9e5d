//! 办件 left unrated (#34), on the storage object's alarm: the invitation and the system default
//! rating. A 办件 here is one served with a 办件号 whose 一事一评 link exists (a link minted, or a
//! report of a 办件 that has one): the link is what the citizen rates it by.
//!
//! - **The invitation.** Still unrated `INVITE_AFTER` after it was served (per authority), while
//!   its link can be rated: one event (`wire::alert::Invitation`) to each route of audience
//!   `invites` whose region, hall and unit take it, signed as the alerts' webhook, through the
//!   alerts' outbox (retried until acknowledged). Once per 办件: `served.invited_at`.
//! - **The default.** Still unrated when `DEFAULT_RATING` runs out (per authority; off by
//!   default): a 基本满意 rating of via [`DEFAULT_VIA`], stored under the link's rating key (so a
//!   citizen's later rating through the link replaces it, upstream as the next revision),
//!   forwarded with `UPSTREAM_DEFAULT_CHANNEL`, opening no case, alerting no one, counted apart.
//!   Once per 办件: `served.defaulted_at`.
//!
//! Invariants: a 办件 is invited at most once and defaulted at most once (its mark is set in the
//! batch that queues or stores it); a held or given rating is never overwritten by a default (the
//! insert does nothing on the link's existing row); a 办件 whose authority has the feature off,
//! or whose link was revoked, is marked 0 and never looked at again.

use crate::fastlane::{self, Message, Sql, rows};
use crate::served::{DEFAULT_VIA, Settings};
use crate::sql::{Stmt, stmt};
use wire::calendar::OfficeHours;
use wire::key::Keyring;

/// The alarm looks at unrated 办件 at most this often.
pub const EVERY_SECS: i64 = 10;

/// The most 办件 one round looks at, per kind.
const ROUND: i64 = 500;

#[derive(Debug)]
struct Candidate {
    key: String,
    code: String,
    region: String,
    hall: String,
    dept: Option<String>,
    at: i64,
    token: String,
    link_created: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}
crate::row!(Candidate {
    key,
    code,
    region,
    hall,
    dept,
    at,
    token,
    link_created,
    expires_at,
    revoked_at
});

fn candidates(mark: &str, older_than: i64) -> Stmt {
    stmt(
        format!(
            "SELECT s.key, s.code, s.region, s.hall, json_extract(e.json, '$.dept') AS dept, s.at, \
             l.token, l.created_at AS link_created, l.expires_at, l.revoked_at \
             FROM served s JOIN links l ON l.project_no = s.project_no AND l.code = s.code \
             LEFT JOIN entries e ON e.code = s.code \
             WHERE s.rated = 0 AND s.project_no IS NOT NULL AND s.linked = 1 AND s.{mark} IS NULL \
             AND s.at <= ?1 \
             ORDER BY s.at LIMIT {ROUND}"
        ),
        vec![older_than.into()],
    )
}

/// The oldest 办件 not yet old enough to be a candidate: when to look again.
fn oldest_younger(mark: &str, older_than: i64) -> Stmt {
    stmt(
        format!(
            "SELECT MIN(at) AS at FROM served WHERE rated = 0 AND project_no IS NOT NULL AND linked = 1 \
             AND {mark} IS NULL AND at > ?1"
        ),
        vec![older_than.into()],
    )
}

struct At {
    at: Option<i64>,
}
crate::row!(At { at });

fn set_mark(column: &str, key: &str, at: i64) -> Stmt {
    stmt(
        format!("UPDATE served SET {column} = ?2 WHERE key = ?1 AND {column} IS NULL"),
        vec![key.into(), at.into()],
    )
}

/// The invitation's outbox rows: one per route of audience `invites` that takes the 办件's place.
fn enqueue_invite(c: &Candidate, now: i64) -> Stmt {
    stmt(
        "INSERT OR IGNORE INTO alerts (served, kind, route, detail, created_at, next_attempt_at) \
         SELECT ?1, 'invite', id, '', ?2, ?2 FROM routes WHERE deleted_at IS NULL AND audience = 'invites' \
         AND (region IS NULL OR substr(?3, 1, length(region)) = region) \
         AND (hall IS NULL OR hall = ?4) AND (dept IS NULL OR dept = ?5)",
        vec![
            c.key.as_str().into(),
            now.into(),
            c.region.as_str().into(),
            c.hall.as_str().into(),
            c.dept.clone().into(),
        ],
    )
}

/// The rating key of a link's rating (as `links::LinkRow` gives it).
fn link_key(c: &Candidate) -> (String, i64) {
    (
        crate::links::device_of(&c.token).to_text(),
        i64::from(crate::links::day_of(c.link_created).0),
    )
}

/// The default rating of a 办件, under its link's rating key: 基本满意, no tags or comment, the
/// link's matter and 办件号, the window's entry as the directory has it; nothing when the link
/// has a rating already (a held one included) or the code left the directory.
fn default_rating(c: &Candidate, now: i64) -> Vec<Stmt> {
    let (device, day) = link_key(c);
    let id = wire::rating::Id128::digest(b"zsp-default-v1", &[c.key.as_bytes()]).to_text();
    vec![
        stmt(
            "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, rated_at, \
             level, tags, tag_version, matter, comment, phone, flagged, via, entry, next_attempt_at, \
             hold, signals, project_no) \
             SELECT ?1, l.code, ?2, ?3, 1, 1, ?1, ?4, 'basic', '', ?5, l.matter, '', NULL, 0, ?6, e.json, ?4, \
             0, '', l.project_no FROM links l JOIN entries e ON e.code = l.code WHERE l.token = ?7 \
             ON CONFLICT (code, device, day) DO NOTHING",
            vec![
                id.into(),
                device.clone().into(),
                day.into(),
                now.into(),
                i64::from(wire::rating::TAG_CONTENT_VERSION).into(),
                DEFAULT_VIA.into(),
                c.token.as_str().into(),
            ],
        ),
        // Given (now) or not possible (0): either way, once.
        stmt(
            "UPDATE served SET defaulted_at = CASE WHEN EXISTS (SELECT 1 FROM ratings \
             WHERE code = ?2 AND device = ?3 AND day = ?4 AND via = ?6 AND rated_at = ?5) THEN ?5 ELSE 0 END \
             WHERE key = ?1 AND defaulted_at IS NULL",
            vec![
                c.key.as_str().into(),
                c.code.as_str().into(),
                device.into(),
                day.into(),
                now.into(),
                DEFAULT_VIA.into(),
            ],
        ),
    ]
}

/// One round: invitations queued and defaults given for what fell due. Returns when the next
/// 办件 falls due (`None`: none waits).
pub fn tick(
    db: &dyn Sql,
    s: &Settings,
    hours: OfficeHours,
    now: i64,
) -> Result<Option<i64>, String> {
    let kinds = [
        (Kind::Invite, Settings::least(&s.invite_after)),
        (Kind::Default, Settings::least(&s.default_rating)),
    ];
    if kinds.iter().all(|(_, least)| least.is_none()) {
        return Ok(None);
    }
    // The calendar is read only when some 办件 is looked at (most rounds find none).
    let mut cal: Option<wire::calendar::Calendar> = None;
    let mut next = vec![];
    for (kind, least) in kinds {
        let Some(least) = least else { continue };
        let mark = kind.mark();
        let due: Vec<Candidate> = rows(db, candidates(mark, now - least))?;
        if !due.is_empty() && cal.is_none() {
            cal = Some(fastlane::calendar(&rows::<fastlane::CalendarRow>(
                db,
                fastlane::calendars(),
            )?)?);
        }
        let cal = cal.as_ref();
        let mut out = vec![];
        for c in &due {
            let usable = c.revoked_at.is_none() && (kind == Kind::Default || c.expires_at > now);
            let after = match kind {
                Kind::Invite => s.invite_after(&c.region),
                Kind::Default => s.default_rating(&c.region),
            };
            let Some(cal) = cal else { break };
            match after.due(c.at, hours, cal) {
                Some(at) if usable && at > now => next.push(at),
                Some(_) if usable => match kind {
                    Kind::Invite => {
                        out.push(enqueue_invite(c, now));
                        out.push(set_mark(mark, &c.key, now));
                    }
                    Kind::Default => out.extend(default_rating(c, now)),
                },
                // Off for its authority, or its link withdrawn (or, for an invitation, expired).
                _ => out.push(set_mark(mark, &c.key, 0)),
            }
        }
        if !out.is_empty() {
            db.exec(out)?;
        }
        if due.len() as i64 >= ROUND {
            // More may be due: the next round.
            next.push(now);
        }
        let oldest: Vec<At> = rows(db, oldest_younger(mark, now - least))?;
        if let Some(at) = oldest.into_iter().next().and_then(|a| a.at) {
            next.push(at + least);
        }
    }
    Ok(next.into_iter().min())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invite,
    Default,
}

impl Kind {
    /// The `served` column that marks it done (a time, or 0: not possible).
    fn mark(self) -> &'static str {
        match self {
            Kind::Invite => "invited_at",
            Kind::Default => "defaulted_at",
        }
    }
}

#[derive(Debug)]
struct PendingInvite {
    alert: i64,
    route: i64,
    project_no: String,
    code: String,
    matter: Option<String>,
    hall: String,
    window: Option<String>,
    at: i64,
    token: String,
    expires_at: i64,
}
crate::row!(PendingInvite {
    alert,
    route,
    project_no,
    code,
    matter,
    hall,
    window,
    at,
    token,
    expires_at
});

/// What the invitation routes send now: one signed event a request. `public_url` makes the
/// link's URL whole (`PUBLIC_URL`); without it the event carries the path alone.
pub fn messages(
    db: &dyn Sql,
    ring: &Keyring,
    public_url: Option<&str>,
    now: i64,
) -> Result<Vec<Message>, String> {
    let pending: Vec<PendingInvite> = rows(
        db,
        stmt(
            "SELECT a.id AS alert, a.route, s.project_no, s.code, s.matter, s.hall, \
             json_extract(e.json, '$.window') AS window, s.at, l.token, l.expires_at \
             FROM alerts a JOIN served s ON s.key = a.served \
             JOIN links l ON l.project_no = s.project_no AND l.code = s.code \
             LEFT JOIN entries e ON e.code = s.code \
             WHERE a.served IS NOT NULL AND a.sent_at IS NULL AND a.next_attempt_at <= ?1 \
             ORDER BY a.id LIMIT 200",
            vec![now.into()],
        ),
    )?;
    if pending.is_empty() {
        return Ok(vec![]);
    }
    let routes = fastlane::routes_named(db, pending.iter().map(|p| p.route).collect())?;
    let mut out = vec![];
    for r in routes.iter().filter(|r| r.kind == "webhook") {
        let Some((url, secret)) = fastlane::open_route(db, r, ring, now)? else {
            continue;
        };
        for p in pending.iter().filter(|p| p.route == r.id) {
            let path = format!("/l/{}", p.token);
            let body = wire::alert::Invitation {
                id: p.alert,
                project_no: p.project_no.clone(),
                code: p.code.clone(),
                matter: p.matter.clone(),
                hall: p.hall.clone(),
                window: p.window.clone(),
                served_at: p.at,
                expires_at: p.expires_at,
                url: public_url.map(|u| format!("{u}{path}")),
                path,
            }
            .webhook_body();
            out.push(fastlane::webhook_message(
                r,
                (&url, &secret),
                p.alert,
                "invite",
                body,
                now,
            ));
        }
    }
    Ok(out)
}
