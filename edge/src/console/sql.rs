//! Every statement the console and the scoped admin API run. A read or write of codes, ratings or
//! revocations takes the actor's `Scope` and puts it in the query itself (`scoped`), so no route
//! can reach past it; the tests run these statements on SQLite with the real migrations.

use crate::access::{Actor, Role, Scope, scoped};
use crate::directory::CODE_SELECT;
pub use crate::directory::CodeRow;
use crate::sql::{Stmt, Val, stmt};
use crate::store::rating_columns;
use std::borrow::Cow;

// ---- the audit log ----

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}
crate::row!(AuditRow {
    seq,
    at,
    actor,
    role,
    action,
    target,
    detail
});

/// The newest first, filtered by actor and action (substrings) and a time range, and to the
/// actors `visible` names (`None`: every actor, for a city-wide scope).
pub fn audit_log(
    actor: &str,
    action: &str,
    from: i64,
    to: i64,
    limit: i64,
    visible: Option<&[String]>,
) -> Stmt {
    stmt(
        "SELECT seq, at, actor, role, action, target, detail FROM audit \
         WHERE instr(actor, ?1) > 0 AND instr(action, ?2) > 0 AND at >= ?3 AND at < ?4 \
         AND (?6 IS NULL OR actor IN (SELECT value FROM json_each(?6))) \
         ORDER BY seq DESC LIMIT ?5",
        vec![
            actor.into(),
            action.into(),
            from.into(),
            to.into(),
            limit.into(),
            visible
                .map(|v| serde_json::to_string(v).expect("strings"))
                .into(),
        ],
    )
}

// ---- codes and revocations ----

/// Codes in scope whose staff name, 工号, window or hall contains `q` (every code for "").
pub fn codes(scope: &Scope, q: &str, limit: i64) -> Stmt {
    scoped(
        &format!(
            "{CODE_SELECT} WHERE {{scope}} AND (?1 = '' OR instr(hall, ?1) > 0 \
             OR instr(COALESCE(json_extract(json, '$.window'), ''), ?1) > 0 \
             OR instr(COALESCE(json_extract(json, '$.staff_id'), ''), ?1) > 0 \
             OR instr(COALESCE(json_extract(json, '$.staff_name'), ''), ?1) > 0) \
             ORDER BY hall, json_extract(json, '$.window'), code LIMIT ?2"
        ),
        scope,
        vec![q.into(), limit.into()],
    )
}

/// The names of the actors whose records a scoped administrator sees (accounts and tokens within
/// its scope, and itself); `None` for a city-wide one, who sees every record.
pub async fn visible_actors(
    h: &impl crate::host::Host,
    me: &Actor,
) -> Result<Option<Vec<String>>, crate::error::ApiError> {
    if me.scope == Scope::All {
        return Ok(None);
    }
    let mut res = crate::host::run(
        h,
        vec![crate::access::accounts(), crate::access::tokens()],
        false,
    )
    .await?;
    let tokens: Vec<crate::access::TokenRow> = crate::host::typed(h, res.pop())?;
    let accounts: Vec<crate::access::AccountRow> = crate::host::typed(h, res.pop())?;
    let mut names: Vec<String> = crate::access::within(me, &accounts, |a| &a.scope)
        .into_iter()
        .map(|a| a.name.clone())
        .chain(
            crate::access::within(me, &tokens, |t| &t.scope)
                .into_iter()
                .map(|t| format!("token:{}", t.name)),
        )
        .collect();
    names.push(me.name.clone());
    Ok(Some(names))
}

/// The directory's entries of one authority (a region prefix, '' for all) within scope.
pub fn entries(scope: &Scope, authority: &str) -> Stmt {
    scoped(
        "SELECT code, json, NULL AS revoked FROM entries \
         WHERE substr(region, 1, length(?1)) = ?1 AND {scope} ORDER BY code",
        scope,
        vec![authority.into()],
    )
}

/// Every entry outside one authority (whatever the scope): an upload must not collide with them.
pub fn entries_elsewhere(authority: &str) -> Stmt {
    stmt(
        "SELECT code, json, NULL AS revoked FROM entries WHERE substr(region, 1, length(?1)) != ?1",
        vec![authority.into()],
    )
}

/// Replaces the entries of one authority within scope (the caller has checked that every new
/// entry lies inside both), and records the keys its cards were printed with by id and
/// fingerprint in place of the authority's earlier ones (`key_prints`, which `zsp check`
/// compares with `QR_KEYS`).
pub fn replace_entries(
    scope: &Scope,
    authority: &str,
    d: &wire::directory::Directory,
    now: i64,
) -> Vec<Stmt> {
    let mut out = vec![scoped(
        "DELETE FROM entries WHERE substr(region, 1, length(?1)) = ?1 AND {scope}",
        scope,
        vec![authority.into()],
    )];
    out.extend(
        crate::store::replace_directory(&d.entries)
            .into_iter()
            .skip(1),
    );
    // The authority's cards are now this directory's: its keys replace the ones recorded (a key
    // retired after a reprint is no longer asked for).
    if !d.keys.is_empty() {
        out.push(stmt(
            "DELETE FROM key_prints WHERE name LIKE 'qr:%' AND authority = ?1",
            vec![authority.into()],
        ));
    }
    for k in &d.keys {
        out.push(stmt(
            "INSERT INTO key_prints (name, fingerprint, authority, at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, \
             authority = excluded.authority, at = excluded.at",
            vec![
                format!("qr:{}", k.kid).into(),
                k.fingerprint.as_str().into(),
                authority.into(),
                now.into(),
            ],
        ));
    }
    out
}

/// One revocation row as the console and uploads write it: where it belongs and who made it.
#[derive(Debug, Clone)]
pub struct NewRevocation {
    pub revocation: wire::qr::Revocation,
    pub region: String,
    pub hall: String,
    pub reason: String,
}

pub fn add_revocation(r: &NewRevocation, authority: &str, by: &str, now: i64) -> Stmt {
    let mut s = crate::store::revocation_stmt(&r.revocation);
    s.sql = Cow::Borrowed(
        "INSERT INTO revocations (kind, ref, issued_before, authority, region, hall, reason, by_actor, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    );
    s.args.extend([
        authority.into(),
        r.region.as_str().into(),
        r.hall.as_str().into(),
        r.reason.as_str().into(),
        by.into(),
        now.into(),
    ]);
    s
}

/// How many revocations a replacing upload of this authority within scope would remove.
pub fn count_revocations(scope: &Scope, authority: &str) -> Stmt {
    scoped(
        "SELECT COUNT(*) AS n FROM revocations WHERE authority = ?1 AND {scope}",
        scope,
        vec![authority.into()],
    )
}

/// Removes the revocations of one authority within scope (a replacing upload's first step).
pub fn clear_revocations(scope: &Scope, authority: &str) -> Stmt {
    scoped(
        "DELETE FROM revocations WHERE authority = ?1 AND {scope}",
        scope,
        vec![authority.into()],
    )
}

// ---- uploads ----

#[derive(Debug, Clone)]
pub struct UploadRow {
    pub seq: i64,
    pub kind: String,
    pub authority: String,
    pub actor: String,
    pub staged_at: i64,
    pub applied_at: Option<i64>,
    pub summary: String,
    pub body: Option<String>,
}
crate::row!(UploadRow {
    seq,
    kind,
    authority,
    actor,
    staged_at,
    applied_at,
    summary,
    body
});

pub fn stage(
    kind: &str,
    authority: &str,
    actor: &str,
    summary: &str,
    body: &str,
    now: i64,
) -> Vec<Stmt> {
    vec![
        // Previews never applied are dropped after a day.
        stmt(
            "DELETE FROM uploads WHERE applied_at IS NULL AND staged_at < ?1",
            vec![(now - 86_400).into()],
        ),
        stmt(
            "INSERT INTO uploads (kind, authority, actor, staged_at, summary, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING seq",
            vec![
                kind.into(),
                authority.into(),
                actor.into(),
                now.into(),
                summary.into(),
                body.into(),
            ],
        ),
    ]
}

pub fn staged(seq: i64, actor: &str) -> Stmt {
    stmt(
        "SELECT seq, kind, authority, actor, staged_at, applied_at, summary, body FROM uploads \
         WHERE seq = ?1 AND actor = ?2 AND applied_at IS NULL",
        vec![seq.into(), actor.into()],
    )
}

/// Marks a staged upload applied (its body is not kept: the history keeps the summary). Fails
/// the whole batch when it was applied already, by a CHECK on a JSON conversion.
pub fn applied(seq: i64, now: i64) -> Vec<Stmt> {
    vec![
        stmt(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM uploads WHERE seq = ?1 AND applied_at IS NULL) \
             THEN 1 ELSE json('upload already applied') END AS ok",
            vec![seq.into()],
        ),
        stmt(
            "UPDATE uploads SET applied_at = ?2, body = NULL WHERE seq = ?1",
            vec![seq.into(), now.into()],
        ),
    ]
}

/// Applied uploads, newest first, by the actors `visible` names (`None`: every actor).
pub fn upload_history(limit: i64, visible: Option<&[String]>) -> Stmt {
    stmt(
        "SELECT seq, kind, authority, actor, staged_at, applied_at, summary, NULL AS body FROM uploads \
         WHERE applied_at IS NOT NULL AND (?2 IS NULL OR actor IN (SELECT value FROM json_each(?2))) \
         ORDER BY seq DESC LIMIT ?1",
        vec![
            limit.into(),
            visible
                .map(|v| serde_json::to_string(v).expect("strings"))
                .into(),
        ],
    )
}

// ---- ratings ----

/// The ratings page's and the export's filter. Empty strings and `None` filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub hall: String,
    /// 窗口单位.
    pub dept: String,
    /// A staff member's 工号 or name (a substring).
    pub staff: String,
    pub level: Option<wire::rating::Level>,
    /// Unix seconds, `from` included, `to` excluded.
    pub from: i64,
    pub to: i64,
    pub hold: Hold,
}

/// Which ratings a list shows: those that count (the default), those held for review
/// (疑似刷评), or those an administrator rejected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Hold {
    #[default]
    Counted,
    Held,
    Rejected,
}

impl Hold {
    pub fn parse(s: &str) -> Option<Hold> {
        match s {
            "" | "counted" => Some(Hold::Counted),
            "held" => Some(Hold::Held),
            "rejected" => Some(Hold::Rejected),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Hold::Counted => "",
            Hold::Held => "held",
            Hold::Rejected => "rejected",
        }
    }

    fn code(self) -> i64 {
        match self {
            Hold::Counted => 0,
            Hold::Held => 1,
            Hold::Rejected => 2,
        }
    }
}

/// The filter's conditions; the actor's role adds its own (a 差评处理人 sees only 差评).
fn rating_where(f: &Filter, role: Role) -> (&'static str, Vec<Val>) {
    (
        concat!(
            "rated_at >= ?1 AND rated_at < ?2 AND (?3 = '' OR hall = ?3) \
             AND (?4 = '' OR json_extract(entry, '$.dept') = ?4) \
             AND (?5 = '' OR instr(COALESCE(json_extract(entry, '$.staff_id'), ''), ?5) > 0 \
                  OR instr(COALESCE(json_extract(entry, '$.staff_name'), ''), ?5) > 0) \
             AND (?6 = '' OR level = ?6) AND (?7 = 0 AND ",
            crate::counted!(),
            " OR ?7 > 0 AND hold = ?7) AND (?8 = 0 OR ",
            crate::bad_level!(),
            ") AND {scope}"
        ),
        vec![
            f.from.into(),
            f.to.into(),
            f.hall.as_str().into(),
            f.dept.as_str().into(),
            f.staff.as_str().into(),
            f.level.map_or("", |l| l.as_str()).into(),
            f.hold.code().into(),
            i64::from(role == Role::Handler).into(),
        ],
    )
}

/// One page of ratings, newest first.
pub fn ratings(a: &Actor, f: &Filter, limit: i64, offset: i64) -> Stmt {
    let (cond, mut args) = rating_where(f, a.role);
    args.extend([limit.into(), offset.into()]);
    scoped(
        &format!(
            "SELECT {} FROM ratings WHERE {cond} ORDER BY rated_at DESC, id LIMIT ?9 OFFSET ?10",
            rating_columns!()
        ),
        &a.scope,
        args,
    )
}

/// How many ratings match (for the page's count and the export's check).
pub fn count(a: &Actor, f: &Filter) -> Stmt {
    let (cond, args) = rating_where(f, a.role);
    scoped(
        &format!("SELECT COUNT(*) AS n FROM ratings WHERE {cond}"),
        &a.scope,
        args,
    )
}

/// The export, a page at a time: up to `limit` matches after `after` (the previous page's last
/// time and id), oldest first.
pub fn export_page(a: &Actor, f: &Filter, after: Option<(i64, &str)>, limit: i64) -> Stmt {
    let (cond, mut args) = rating_where(f, a.role);
    let (at, id) = after.unwrap_or((i64::MIN, ""));
    args.extend([at.into(), id.into(), limit.into()]);
    scoped(
        &format!(
            "SELECT {} FROM ratings WHERE {cond} AND (rated_at > ?9 OR rated_at = ?9 AND id > ?10) \
             ORDER BY rated_at, id LIMIT ?11",
            rating_columns!()
        ),
        &a.scope,
        args,
    )
}

/// The halls and units in scope, for the filter's lists.
pub fn halls(scope: &Scope) -> Stmt {
    scoped(
        "SELECT DISTINCT hall AS name FROM entries WHERE {scope} ORDER BY hall",
        scope,
        vec![],
    )
}

#[derive(Debug, Clone)]
pub struct Name {
    pub name: String,
}
crate::row!(Name { name });

/// The halls in scope as places: each hall with its region.
pub fn places(scope: &Scope) -> Stmt {
    scoped(
        "SELECT DISTINCT region, hall FROM entries WHERE {scope} ORDER BY region, hall",
        scope,
        vec![],
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceRow {
    pub region: String,
    pub hall: String,
}
crate::row!(PlaceRow { region, hall });

// ---- status ----

#[derive(Debug, Clone)]
pub struct StatusRow {
    pub backlog: i64,
    pub oldest_pending: Option<i64>,
    pub stored: i64,
    pub held: i64,
    pub codes: i64,
}
crate::row!(StatusRow {
    backlog,
    oldest_pending,
    stored,
    held,
    codes
});

pub fn status(scope: &Scope) -> Stmt {
    scoped(
        concat!(
            "SELECT (SELECT COUNT(DISTINCT d.id) FROM deliveries d JOIN ratings ON ratings.id = d.id WHERE ",
            crate::owed!(),
            " AND {scope}) AS backlog, (SELECT MIN(d.queued_at) FROM deliveries d JOIN ratings ON ratings.id = d.id WHERE ",
            crate::owed!(),
            " AND {scope}) AS oldest_pending, \
         (SELECT COUNT(*) FROM ratings WHERE {scope}) AS stored, \
         (SELECT COUNT(*) FROM ratings WHERE hold = 1 AND {scope}) AS held, \
         (SELECT COUNT(*) FROM entries WHERE {scope}) AS codes"
        ),
        scope,
        vec![],
    )
}

/// Each receiver of the settings: how it last went, and its backlog within scope
/// (`outbox::ReceiverStatus`).
pub fn receivers(scope: &Scope) -> Stmt {
    scoped(
        "SELECT u.name, u.attempts, u.retry_at, u.last_error, u.last_ok_at, \
         (SELECT COUNT(*) FROM deliveries d JOIN ratings ON ratings.id = d.id \
           WHERE d.receiver = u.name AND d.rev < d.want AND {scope}) AS backlog, \
         (SELECT MIN(d.queued_at) FROM deliveries d JOIN ratings ON ratings.id = d.id \
           WHERE d.receiver = u.name AND d.rev < d.want AND {scope}) AS oldest, \
         (SELECT COUNT(*) FROM case_deliveries d JOIN cases ON cases.rating = d.id \
           WHERE d.receiver = u.name AND d.rev < d.want AND {scope}) AS results_backlog \
         FROM receivers u WHERE u.active = 1 ORDER BY u.name",
        scope,
        vec![],
    )
}

#[derive(Debug, Clone)]
pub struct ErrorRow {
    pub receiver: String,
    pub id: String,
    pub hall: Option<String>,
    pub rated_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: String,
}
crate::row!(ErrorRow {
    receiver,
    id,
    hall,
    rated_at,
    attempts,
    next_attempt_at,
    last_error
});

/// The last errors of the forwarding: each owed rating's own answer from its receiver.
pub fn last_errors(scope: &Scope, limit: i64) -> Stmt {
    scoped(
        concat!(
            "SELECT d.receiver, ratings.id, hall, rated_at, d.attempts, d.due_at AS next_attempt_at, \
             d.last_error FROM deliveries d JOIN ratings ON ratings.id = d.id WHERE ",
            crate::owed!(),
            " AND d.last_error IS NOT NULL AND {scope} ORDER BY d.due_at DESC LIMIT ?1"
        ),
        scope,
        vec![limit.into()],
    )
}

/// A decision on a held rating, in one transaction: the review and its audit record, the
/// rating released (it counts, is due upstream at once, and a 差评 opens its case now, so its
/// clock starts when it counts) or rejected (kept, never forwarded). Only a rating still held
/// and in the actor's scope changes; the last statement returns it (none: nothing changed).
pub fn review(a: &Actor, id: &str, release: bool, now: i64) -> Vec<Stmt> {
    let decision = if release { "release" } else { "reject" };
    let target = if release { 3 } else { 2 };
    let args = || -> Vec<Val> {
        vec![
            id.into(),
            decision.into(),
            now.into(),
            a.name.as_str().into(),
            target.into(),
        ]
    };
    let mut out = vec![
        scoped(
            "INSERT INTO reviews (rating, decision, by_actor, at, signals) \
             SELECT id, ?2, ?4, ?3, signals FROM ratings WHERE id = ?1 AND hold = 1 AND {scope}",
            &a.scope,
            args(),
        ),
        stmt(
            "INSERT INTO audit (at, actor, role, action, target, detail) \
             SELECT ?3, ?4, ?6, 'rating.' || ?2, ?1, signals FROM reviews \
             WHERE rating = ?1 AND at = ?3 AND by_actor = ?4 AND decision = ?2",
            {
                let mut v = args();
                v.push(a.role.as_str().into());
                v
            },
        ),
        scoped(
            "UPDATE ratings SET hold = ?5, next_attempt_at = ?3 \
             WHERE id = ?1 AND hold = 1 AND {scope}",
            &a.scope,
            args(),
        ),
    ];
    if release {
        out.push(crate::fastlane::open_released(id, now));
    }
    out.push(stmt(
        "SELECT id, level FROM ratings WHERE id = ?1 AND hold = ?5 \
         AND EXISTS (SELECT 1 FROM reviews WHERE rating = ?1 AND at = ?3 AND by_actor = ?4)",
        args(),
    ));
    out
}

/// 好评 made public: a counted 非常满意 rating with a comment, in scope, its comment copied as
/// stored (masked); returns it (none: not such a rating there).
pub fn praise(id: &str, scope: &Scope, by: &str, now: i64) -> Stmt {
    scoped(
        "INSERT INTO praise (rating, region, hall, comment, at, by_actor) \
         SELECT id, region, hall, comment, ?2, ?3 FROM ratings WHERE id = ?1 \
         AND level = 'very_satisfied' AND comment != '' AND hold IN (0, 3) AND {scope} \
         ON CONFLICT (rating) DO UPDATE SET at = at RETURNING rating",
        scope,
        vec![id.into(), now.into(), by.into()],
    )
}

/// Whether rating `id` may be made public (`publish`: a counted 非常满意 with a comment, in scope)
/// or withdrawn (public, in scope): its id if so.
pub fn praisable(id: &str, scope: &Scope, publish: bool) -> Stmt {
    scoped(
        if publish {
            "SELECT id AS name FROM ratings WHERE id = ?1 AND level = 'very_satisfied' \
             AND comment != '' AND hold IN (0, 3) AND {scope}"
        } else {
            "SELECT rating AS name FROM praise WHERE rating = ?1 AND {scope}"
        },
        scope,
        vec![id.into()],
    )
}

/// A 好评 withdrawn from the public page (within scope); returns it.
pub fn unpraise(id: &str, scope: &Scope) -> Stmt {
    scoped(
        "DELETE FROM praise WHERE rating = ?1 AND {scope} RETURNING rating",
        scope,
        vec![id.into()],
    )
}

/// The public 好评 of the scope, newest first (the ratings page marks them).
pub fn praised(scope: &Scope) -> Stmt {
    scoped(
        "SELECT rating AS name FROM praise WHERE {scope} ORDER BY at DESC LIMIT 500",
        scope,
        vec![],
    )
}

/// Held submissions counted but not stored (past `HELD_KEEP`) on the codes in scope, within the
/// filter's days (`n`).
pub fn held_overflow(scope: &Scope, f: &Filter) -> Stmt {
    let day = |t: i64, none: i64| wire::time::Day::from_unix(t).map_or(none, |d| i64::from(d.0));
    scoped(
        "SELECT COALESCE(SUM(n), 0) AS n FROM held_overflow WHERE day >= ?1 AND day < ?2 \
         AND code IN (SELECT code FROM entries WHERE {scope})",
        scope,
        vec![day(f.from, 0).into(), day(f.to, i64::MAX).into()],
    )
}

/// Which held ratings a bulk decision takes: those of one code (or every code in scope), held
/// by one signal (or any), rated within `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldFilter {
    pub code: Option<String>,
    pub signal: Option<String>,
    pub from: i64,
    pub to: i64,
}

impl HeldFilter {
    /// In words, for the audit log.
    pub fn describe(&self) -> String {
        format!(
            "code {}; signal {}; rated {}..{}",
            self.code.as_deref().unwrap_or("any"),
            self.signal.as_deref().unwrap_or("any"),
            self.from,
            self.to
        )
    }
}

/// A decision on every held rating `f` takes within the actor's scope, in one transaction: one
/// audit entry with the count (first, so it counts what is decided), a review each, the
/// ratings released or rejected as [`review`] does one, and the released 差评's cases opened. The
/// first statement's row is the count (`n`).
pub fn review_bulk(a: &Actor, f: &HeldFilter, release: bool, now: i64) -> Vec<Stmt> {
    let decision = if release { "release" } else { "reject" };
    let target = if release { 3 } else { 2 };
    let which = "hold = 1 AND {scope} AND (?1 IS NULL OR code = ?1) \
         AND (?2 IS NULL OR instr(' ' || signals || ' ', ' ' || ?2 || ' ') > 0) \
         AND rated_at >= ?3 AND rated_at < ?4";
    let args = |extra: Vec<Val>| -> Vec<Val> {
        let mut v: Vec<Val> = vec![
            f.code.clone().into(),
            f.signal.clone().into(),
            f.from.into(),
            f.to.into(),
        ];
        v.extend(extra);
        v
    };
    let mut out = vec![
        scoped(
            &format!("SELECT COUNT(*) AS n FROM ratings WHERE {which}"),
            &a.scope,
            args(vec![]),
        ),
        scoped(
            &format!(
                "INSERT INTO audit (at, actor, role, action, target, detail) \
                 SELECT ?5, ?6, ?7, 'rating.' || ?8 || '.bulk', ?9, printf('%d ratings', COUNT(*)) \
                 FROM ratings WHERE {which} HAVING COUNT(*) > 0"
            ),
            &a.scope,
            args(vec![
                now.into(),
                a.name.as_str().into(),
                a.role.as_str().into(),
                decision.into(),
                f.describe().into(),
            ]),
        ),
        scoped(
            &format!(
                "INSERT INTO reviews (rating, decision, by_actor, at, signals) \
                 SELECT id, ?5, ?6, ?7, signals FROM ratings WHERE {which}"
            ),
            &a.scope,
            args(vec![decision.into(), a.name.as_str().into(), now.into()]),
        ),
        scoped(
            &format!("UPDATE ratings SET hold = ?5, next_attempt_at = ?6 WHERE {which}"),
            &a.scope,
            args(vec![i64::from(target).into(), now.into()]),
        ),
    ];
    if release {
        out.push(crate::fastlane::open_released_by(&a.name, now));
    }
    out
}

/// Every rating in scope owed to a receiver is due now (one row returned for each receiver
/// and rating), and no receiver waits out its backoff before it is tried again.
pub fn retry_now(scope: &Scope, now: i64) -> Vec<Stmt> {
    vec![
        scoped(
            "UPDATE deliveries SET due_at = ?1 WHERE rev < want \
             AND receiver IN (SELECT name FROM receivers WHERE active = 1) \
             AND id IN (SELECT id FROM ratings WHERE {scope}) RETURNING id",
            scope,
            vec![now.into()],
        ),
        stmt("UPDATE receivers SET retry_at = 0 WHERE active = 1", vec![]),
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::access::{
        AccountRow, Failures, SessionRow, account, add_account, failures, open_session,
        record_failure, touch_session,
    };
    use rusqlite::Connection;
    use wire::directory::Entry;

    /// A database with every migration applied (the native tests' storage object).
    pub(crate) fn db() -> Connection {
        crate::native::Sqlite::memory().into_conn()
    }

    /// Runs a statement; its rows as JSON objects (as the storage object returns them).
    pub(crate) fn run(c: &Connection, s: &Stmt) -> Vec<serde_json::Value> {
        try_run(c, s).unwrap_or_else(|e| panic!("{}: {e}", s.sql))
    }

    /// [`run`], with a failing constraint as an error (SQLite's words, as the object's).
    pub(crate) fn try_run(c: &Connection, s: &Stmt) -> rusqlite::Result<Vec<serde_json::Value>> {
        crate::native::query(c, s)
    }

    pub(crate) fn typed<T: crate::row::Row>(c: &Connection, s: &Stmt) -> Vec<T> {
        crate::row::read(&serde_json::Value::Array(run(c, s)).to_string()).unwrap()
    }

    fn entry(region: &str, hall: &str, window: &str) -> Entry {
        let mut e = Entry::example(window, Some("SC1"));
        e.region = region.into();
        e.hall = hall.into();
        e.code.window = wire::qr::WindowRef::derive(region, hall, window);
        e
    }

    fn rating(c: &Connection, id: &str, e: &Entry, level: &str, at: i64) {
        c.execute(
            "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, rated_at, \
             level, tags, tag_version, comment, phone, flagged, via, entry, next_attempt_at) \
             VALUES (?1, ?2, 'd', 0, 1, 1, ?1, ?3, ?4, '', 1, '', '13812345678', 0, 'app', ?5, 0)",
            rusqlite::params![id, e.code.to_text(), at, level, serde_json::to_string(e).unwrap()],
        )
        .unwrap();
    }

    fn actor(role: Role, scope: Scope) -> Actor {
        Actor {
            name: "x".into(),
            role,
            scope,
        }
    }

    #[test]
    fn a_hall_admin_reads_and_revokes_only_inside_their_halls() {
        let c = db();
        // One receiver taking every rating: the status counts what it is owed.
        run(
            &c,
            &stmt(
                "UPDATE receivers SET active = 1 WHERE name = 'upstream'",
                vec![],
            ),
        );
        let a = entry("330102", "上城区市民中心", "A1");
        let b = entry("330105", "拱墅区行政服务中心", "B1");
        for s in crate::store::replace_directory(&[a.clone(), b.clone()]) {
            run(&c, &s);
        }
        rating(&c, "r1", &a, "very_dissatisfied", 100);
        rating(&c, "r2", &b, "satisfied", 200);
        let hall = actor(Role::Hall, Scope::hall("330102", "上城区市民中心"));
        let all = Filter {
            to: 1 << 40,
            ..Default::default()
        };
        let ids = |a: &Actor, f: &Filter| -> Vec<String> {
            run(&c, &ratings(a, f, 100, 0))
                .into_iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(ids(&hall, &all), ["r1"]);
        // Asking for the other hall by name finds nothing: the scope is in the query.
        let other = Filter {
            hall: "拱墅区行政服务中心".into(),
            ..all.clone()
        };
        assert!(ids(&hall, &other).is_empty());
        assert_eq!(run(&c, &export_page(&hall, &all, None, 10)).len(), 1);
        // Pages follow one another by time and id.
        let city_all = actor(Role::City, Scope::All);
        let page = |after: Option<(i64, &str)>| run(&c, &export_page(&city_all, &all, after, 1));
        let first = page(None);
        let key = |r: &serde_json::Value| {
            (
                r["rated_at"].as_i64().unwrap(),
                r["id"].as_str().unwrap().to_owned(),
            )
        };
        let (at, id) = key(&first[0]);
        let second = page(Some((at, &id)));
        assert_eq!(second.len(), 1);
        assert_ne!(second[0]["id"], first[0]["id"]);
        let (at, id) = key(&second[0]);
        assert!(page(Some((at, &id))).is_empty());
        assert_eq!(run(&c, &count(&hall, &all))[0]["n"], 1);
        let city = actor(Role::City, Scope::All);
        assert_eq!(ids(&city, &all), ["r2", "r1"]);
        let regions = actor(Role::City, Scope::regions(&["330105"]));
        assert_eq!(ids(&regions, &all), ["r2"]);
        // A handler sees only 差评.
        let handler = actor(Role::Handler, Scope::All);
        assert_eq!(ids(&handler, &all), ["r1"]);
        // Codes: search and one code.
        assert_eq!(run(&c, &codes(&hall.scope, "", 50)).len(), 1);
        assert_eq!(run(&c, &codes(&Scope::All, "B1", 50)).len(), 1);
        assert!(run(&c, &crate::directory::code(&hall.scope, &b.code.to_text())).is_empty());
        assert_eq!(
            run(&c, &crate::directory::code(&hall.scope, &a.code.to_text())).len(),
            1
        );
        // Replacing the directory inside a scope leaves the rest.
        for s in replace_entries(&hall.scope, "", &wire::directory::Directory::new(vec![]), 0) {
            run(&c, &s);
        }
        assert_eq!(run(&c, &codes(&Scope::All, "", 50)).len(), 1);
        let status: Vec<StatusRow> = typed(&c, &status(&hall.scope));
        assert_eq!(
            (status[0].stored, status[0].backlog, status[0].codes),
            (1, 1, 0)
        );
        assert_eq!(run(&c, &retry_now(&hall.scope, 5)[0]).len(), 1);
    }

    #[test]
    fn a_directory_upload_records_its_keys_in_place_of_its_authoritys_earlier_ones() {
        let c = db();
        let print = |kid: u16, fp: &str| wire::directory::KeyPrint {
            kid,
            fingerprint: fp.into(),
        };
        let upload = |authority: &str, keys: Vec<wire::directory::KeyPrint>| {
            let d = wire::directory::Directory {
                keys,
                ..wire::directory::Directory::new(vec![])
            };
            for s in replace_entries(&Scope::All, authority, &d, 1) {
                run(&c, &s);
            }
        };
        let names = || -> Vec<String> {
            run(
                &c,
                &stmt("SELECT name FROM key_prints ORDER BY name", vec![]),
            )
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
        };
        upload("330102", vec![print(1, "aa")]);
        upload("330105", vec![print(3, "cc")]);
        assert_eq!(names(), ["qr:1", "qr:3"]);
        // 330102 reprinted with key 2: key 1 is no longer asked for; 330105's stays.
        upload("330102", vec![print(2, "bb")]);
        assert_eq!(names(), ["qr:2", "qr:3"]);
        // A directory that names no key (an older qr-gen's) changes nothing recorded.
        upload("330102", vec![]);
        assert_eq!(names(), ["qr:2", "qr:3"]);
    }

    #[test]
    fn revocations_of_one_authority_leave_anothers() {
        let c = db();
        let a = entry("330102", "上城区市民中心", "A1");
        let b = entry("330105", "拱墅区行政服务中心", "B1");
        for (e, auth) in [(&a, "330102"), (&b, "330105")] {
            let r = NewRevocation {
                revocation: wire::qr::Revocation::Code {
                    code: e.code,
                    issued_before: None,
                },
                region: e.region.clone(),
                hall: e.hall.clone(),
                reason: "卡片遗失".into(),
            };
            run(&c, &add_revocation(&r, auth, "x", 1));
        }
        assert_eq!(
            run(&c, &count_revocations(&Scope::All, "330102"))[0]["n"],
            1
        );
        run(&c, &clear_revocations(&Scope::All, "330102"));
        let left: Vec<(String, String)> = c
            .prepare("SELECT authority, reason FROM revocations")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(left, [("330105".to_owned(), "卡片遗失".to_owned())]);
        // Within an authority, a hall admin clears only their halls' rows.
        run(
            &c,
            &clear_revocations(&Scope::hall("330102", "上城区市民中心"), "330105"),
        );
        assert_eq!(
            c.query_row("SELECT COUNT(*) FROM revocations", [], |r| r
                .get::<_, i64>(0))
                .unwrap(),
            1
        );
    }

    #[test]
    fn sessions_expire_when_idle_and_accounts_lock() {
        let c = db();
        let me = actor(Role::City, Scope::All);
        let mut me = me;
        me.name = "admin".into();
        run(&c, &add_account(&me, "pw", "operator", 0, false));
        for s in open_session("s1", "admin", "csrf", "cl", 1000) {
            run(&c, &s);
        }
        let live = |now: i64| {
            let stmts = touch_session("s1", now);
            run(&c, &stmts[0]);
            typed::<SessionRow>(&c, &stmts[1])
        };
        assert_eq!(live(1000 + 60)[0].csrf, "csrf");
        assert_eq!(live(1060 + crate::access::SESSION_IDLE_SECS).len(), 1);
        assert!(live(1060 + 3 * crate::access::SESSION_IDLE_SECS).is_empty());
        for i in 0..crate::access::ACCOUNT_FAILURES {
            let stmts = record_failure("admin", &format!("c{}", i % 3), 5000 + i);
            let locked = stmts.iter().map(|s| run(&c, s)).last().unwrap();
            assert_eq!(
                locked.len(),
                usize::from(i == crate::access::ACCOUNT_FAILURES - 1)
            );
        }
        let f: Vec<Failures> = typed(&c, &failures("admin", "c0", 4000));
        assert_eq!((f[0].account, f[0].client), (10, 4));
        let acc: Vec<AccountRow> = typed(&c, &account("admin"));
        assert!(acc[0].locked_until > 5000);
        assert!(
            typed::<AccountRow>(&c, &account("admin"))[0]
                .actor()
                .is_some()
        );
        // A second account of the same name is refused by the table.
        let s = add_account(&me, "pw", "operator", 0, false);
        assert!(
            c.execute(
                &s.sql,
                rusqlite::params_from_iter(s.args.iter().map(crate::native::bind))
            )
            .is_err()
        );
    }

    #[test]
    fn an_upload_applies_once() {
        let c = db();
        let seq = run(&c, &stage("directory", "", "x", "{}", "body", 10)[1])[0]["seq"]
            .as_i64()
            .unwrap();
        assert_eq!(typed::<UploadRow>(&c, &staged(seq, "x")).len(), 1);
        assert!(typed::<UploadRow>(&c, &staged(seq, "y")).is_empty());
        let [check, mark] = <[Stmt; 2]>::try_from(applied(seq, 20)).unwrap();
        run(&c, &check);
        run(&c, &mark);
        let again = c.prepare(&check.sql).unwrap().query_row(
            rusqlite::params_from_iter(check.args.iter().map(crate::native::bind)),
            |r| r.get::<_, i64>(0),
        );
        assert!(again.is_err(), "a second apply fails its batch");
        assert_eq!(run(&c, &upload_history(10, None)).len(), 1);
    }
}
