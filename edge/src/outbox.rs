//! The outbox: what each upstream receiver is owed (a row of `deliveries` a rating and
//! receiver, migration 0016), in which order it is sent, the signed request that carries it,
//! and when the storage object's alarm must wake. A receiver that takes results is also owed
//! each 差评 case's result (a row of `case_deliveries`), sent after the ratings of its round.
//! Plain Rust, tested natively; `glue::forward` sends what this decides.
//!
//! Delivery is at least once: a receiver's due ratings are claimed for a lease, sent one after
//! another in the order they became owed, each marked when the receiver answers 2xx. A receiver
//! that is down (no answer, 5xx, 408, 429, or 401/403/404: nothing of it can succeed) stops its
//! round and backs off as a whole, the rest of its claim left due in its place; one that refuses
//! one rating (another 4xx, or a rating that cannot be mapped) backs off that rating alone and
//! goes on. Receivers never wait for one another. The receiver deduplicates on
//! `Idempotency-Key`. Nothing owed is ever pruned.

use crate::config::{Config, Receiver};
use crate::sql::{Stmt, stmt};
use crate::store::{RatingRow, rating_columns};
use wire::envelope::{self, HEADER_IDEMPOTENCY, HEADER_REVISION, HEADER_SIGNATURE, HEADER_VERSION};

/// How many ratings one alarm claims for a receiver; more due means the alarm wakes again at
/// once.
pub const CLAIM_LIMIT: i64 = 25;
/// Retention runs from the alarm at most this often.
pub const PRUNE_EVERY_SECS: i64 = 3600;
/// A backlog whose oldest entry is older than this is reported by `/status` and the log.
pub const BACKLOG_ALERT_SECS: i64 = 3600;
/// A receiver that is down is tried again at most this long after its last failed round,
/// however long it has been down (`RETRY_MAX_SECS` bounds it too): one request is cheap, and a
/// receiver back from an outage then waits at most this long for its backlog.
pub const RECEIVER_RETRY_MAX_SECS: u32 = 120;

/// The receivers of the settings into `receivers` (at every start of the storage object): one
/// no longer named is kept inactive (owed nothing, its place kept); one new, put back or taking
/// something else is first owed every stored counted rating it takes (what forwarding switched
/// on has always sent), in the order they were given.
pub fn sync(receivers: &[Receiver]) -> Vec<Stmt> {
    let names: Vec<&str> = receivers.iter().map(|r| r.name.as_str()).collect();
    let mut out = vec![stmt(
        "UPDATE receivers SET active = 0 WHERE name NOT IN (SELECT value FROM json_each(?1))",
        vec![serde_json::to_string(&names).expect("strings").into()],
    )];
    for r in receivers {
        let args = || {
            vec![
                r.name.as_str().into(),
                if r.bad_only { "bad" } else { "all" }.into(),
                r.region.as_str().into(),
            ]
        };
        out.push(stmt(
            concat!(
                "INSERT OR IGNORE INTO deliveries (receiver, id, want, queued_at, due_at) \
                 SELECT ?1, id, rev, next_attempt_at, next_attempt_at FROM ratings \
                 WHERE NOT EXISTS (SELECT 1 FROM receivers WHERE name = ?1 AND active = 1 \
                 AND takes = ?2 AND region = ?3) AND ",
                crate::counted!(),
                " AND (?2 = 'all' OR ",
                crate::bad_level!(),
                ") AND substr(COALESCE(region, ''), 1, length(?3)) = ?3"
            ),
            args(),
        ));
        out.push(stmt(
            "INSERT INTO receivers (name, takes, region, results, active) VALUES (?1, ?2, ?3, ?4, 1) \
             ON CONFLICT (name) DO UPDATE SET takes = excluded.takes, region = excluded.region, \
             results = excluded.results, active = 1",
            [args(), vec![i64::from(r.results).into()]].concat(),
        ));
    }
    out
}

/// The rows a receiver's claim selects: its due deliveries in their order, while the receiver
/// itself is not backing off. `?1` receiver, `?2` now, `?3` limit.
macro_rules! due {
    () => {
        "SELECT id AS cid, rev AS acked, attempts AS tries, queued_at AS q FROM deliveries \
         WHERE receiver = ?1 AND rev < want AND due_at <= ?2 \
         AND (SELECT retry_at FROM receivers WHERE name = ?1 AND active = 1) <= ?2 \
         ORDER BY queued_at, id LIMIT ?3"
    };
}

/// A rating as a receiver takes it: the revision it acknowledged, its own failed attempts, the
/// receiver's failed rounds, and the rating.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub acked: i64,
    pub tries: i64,
    pub down_tries: i64,
    pub row: RatingRow,
}
crate::row!(Claimed { acked, tries, down_tries; row: RatingRow });

/// Claims up to `limit` of `receiver`'s due ratings for a lease (so that a crash mid-send only
/// delays them): the first statement returns them whole, in order; the second leases them (the
/// same rows: one transaction).
pub fn claim(receiver: &str, now: i64, lease_until: i64, limit: i64) -> Vec<Stmt> {
    let args = || vec![receiver.into(), now.into(), limit.into()];
    vec![
        stmt(
            concat!(
                "WITH c AS (",
                due!(),
                ") SELECT acked, tries, (SELECT attempts FROM receivers WHERE name = ?1) AS down_tries, ",
                rating_columns!(),
                " FROM c JOIN ratings ON ratings.id = c.cid ORDER BY q, cid"
            ),
            args(),
        ),
        stmt(
            concat!(
                "UPDATE deliveries SET due_at = ?4 WHERE receiver = ?1 AND id IN (SELECT cid FROM (",
                due!(),
                "))"
            ),
            [args(), vec![lease_until.into()]].concat(),
        ),
    ]
}

/// What a round needs of a claimed row, whichever its queue.
pub trait Owed {
    /// The rating's id (a case result's: its rating's).
    fn id(&self) -> &str;
    /// Its own failed attempts, and its receiver's failed rounds.
    fn tries(&self) -> (i64, i64);
}

impl Owed for Claimed {
    fn id(&self) -> &str {
        &self.row.id
    }
    fn tries(&self) -> (i64, i64) {
        (self.tries, self.down_tries)
    }
}

/// A receiver's two queues: the ratings' revisions, and the 差评 cases' results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Ratings,
    Results,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Ratings => "deliveries",
            Queue::Results => "case_deliveries",
        }
    }
}

/// The case results a receiver's claim selects: due, while the receiver takes results and is
/// not backing off, and once it has the case's rating (nothing of the rating still owed to it).
macro_rules! due_results {
    () => {
        "SELECT id AS cid, rev AS acked, attempts AS tries, queued_at AS q FROM case_deliveries cd \
         WHERE receiver = ?1 AND rev < want AND due_at <= ?2 \
         AND (SELECT retry_at FROM receivers WHERE name = ?1 AND active = 1 AND results = 1) <= ?2 \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.receiver = ?1 AND d.id = cd.id AND d.rev < d.want) \
         ORDER BY queued_at, id LIMIT ?3"
    };
}

/// A case's result as a receiver takes it: the revision it has (0: none), the attempts, and the
/// case as it is now, its steps as JSON (`[{step, role, at}]`).
#[derive(Debug, Clone)]
pub struct ResultClaim {
    pub acked: i64,
    pub tries: i64,
    pub down_tries: i64,
    /// The result's revision: the case's results so far.
    pub revision: i64,
    pub rating: String,
    pub level: String,
    pub entry: String,
    pub region: Option<String>,
    pub hall: Option<String>,
    pub dept: Option<String>,
    pub state: String,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub finding: Option<String>,
    pub about: Option<String>,
    pub appeal: Option<String>,
    pub review: Option<String>,
    pub reply: Option<String>,
    pub reply_public: i64,
    pub verdict: Option<String>,
    pub reopened_at: Option<i64>,
    pub steps: String,
}
crate::row!(ResultClaim {
    acked,
    tries,
    down_tries,
    revision,
    rating,
    level,
    entry,
    region,
    hall,
    dept,
    state,
    opened_at,
    closed_at,
    finding,
    about,
    appeal,
    review,
    reply,
    reply_public,
    verdict,
    reopened_at,
    steps
});

impl Owed for ResultClaim {
    fn id(&self) -> &str {
        &self.rating
    }
    fn tries(&self) -> (i64, i64) {
        (self.tries, self.down_tries)
    }
}

impl ResultClaim {
    /// What the receiver is told: the reply only where it was marked public.
    pub fn to_result(&self) -> Result<envelope::CaseResult, String> {
        let bad = |what: &str| format!("case of rating {}: bad {what}", self.rating);
        let entry: wire::directory::Entry =
            serde_json::from_str(&self.entry).map_err(|_| bad("entry"))?;
        Ok(envelope::CaseResult {
            rating: self.rating.clone(),
            level: wire::rating::Level::parse(&self.level).ok_or_else(|| bad("level"))?,
            region: self.region.clone().unwrap_or_default(),
            hall: self.hall.clone().unwrap_or_default(),
            window: entry.window,
            dept: self.dept.clone().unwrap_or_default(),
            state: self.state.clone(),
            opened_at: self.opened_at,
            closed_at: self.closed_at,
            steps: serde_json::from_str(&self.steps).map_err(|_| bad("steps"))?,
            finding: self.finding.clone(),
            about: self.about.clone(),
            appeal: self.appeal.clone(),
            review: self.review.clone(),
            reply: self.reply.clone().filter(|_| self.reply_public != 0),
            verdict: self.verdict.clone(),
            reopened_at: self.reopened_at,
        })
    }
}

/// Claims up to `limit` of `receiver`'s due case results for a lease, as [`claim`] does.
pub fn claim_results(receiver: &str, now: i64, lease_until: i64, limit: i64) -> Vec<Stmt> {
    let args = || vec![receiver.into(), now.into(), limit.into()];
    vec![
        stmt(
            concat!(
                "WITH c AS (",
                due_results!(),
                ") SELECT acked, tries, (SELECT attempts FROM receivers WHERE name = ?1) AS down_tries, \
                 cases.results AS revision, rating, level, entry, region, hall, dept, state, opened_at, \
                 closed_at, finding, about, appeal, review, reply, reply_public, verdict, reopened_at, \
                 (SELECT json_group_array(json_object('step', step, 'role', role, 'at', at)) FROM \
                   (SELECT step, role, at FROM case_steps WHERE case_id = cases.id ORDER BY at, rowid)) AS steps \
                 FROM c JOIN cases ON cases.rating = c.cid ORDER BY q, cid"
            ),
            args(),
        ),
        stmt(
            concat!(
                "UPDATE case_deliveries SET due_at = ?4 WHERE receiver = ?1 AND id IN (SELECT cid FROM (",
                due_results!(),
                "))"
            ),
            [args(), vec![lease_until.into()]].concat(),
        ),
    ]
}

/// What one send came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Acknowledged (2xx): the revision sent.
    Taken(i64),
    /// This rating refused, or not sendable: it backs off alone.
    Refused(String),
    /// The receiver is down: its round stops and it backs off as a whole.
    Down(String),
}

/// What an answer's status says (`None`: no answer at all, which is `Down`).
pub fn judge(status: u16, rev: i64) -> Sent {
    match status {
        200..=299 => Sent::Taken(rev),
        401 | 403 | 404 | 408 | 429 | 500..=599 => Sent::Down(format!("upstream status {status}")),
        _ => Sent::Refused(format!("upstream status {status}")),
    }
}

/// What one receiver's round came to, as statements: each sent rating's outcome in claim order
/// (`outcomes` may be shorter than `claimed`: the rest were not tried after the receiver went
/// down, and are due again in their place).
pub fn record<T: Owed>(
    queue: Queue,
    receiver: &str,
    claimed: &[T],
    outcomes: &[Sent],
    cfg: &Config,
    now: i64,
) -> Vec<Stmt> {
    let table = queue.table();
    let mut out = vec![];
    let mut down = None;
    for (i, c) in claimed.iter().enumerate() {
        let id = c.id();
        let (tries, down_tries) = c.tries();
        match outcomes.get(i) {
            Some(Sent::Taken(rev)) => {
                out.push(stmt(
                    format!(
                        "UPDATE {table} SET rev = MAX(rev, ?3), forwarded_at = ?4, attempts = 0, \
                         last_error = NULL, due_at = ?4 WHERE receiver = ?1 AND id = ?2"
                    ),
                    vec![receiver.into(), id.into(), (*rev).into(), now.into()],
                ));
                if queue == Queue::Results {
                    continue;
                }
                // The first revision kept aside goes once every receiver has it.
                out.push(stmt(
                    concat!(
                        "UPDATE ratings SET first = NULL WHERE id = ?1 AND first IS NOT NULL \
                         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = ?1 AND d.rev = 0 AND ",
                        crate::owed!(),
                        ")"
                    ),
                    vec![id.into()],
                ));
            }
            Some(Sent::Refused(why)) => {
                let why: String = why.chars().take(200).collect();
                let attempt = u32::try_from(tries + 1).unwrap_or(u32::MAX);
                out.push(stmt(
                    format!(
                        "UPDATE {table} SET attempts = attempts + 1, last_error = ?3, due_at = ?4 \
                         WHERE receiver = ?1 AND id = ?2"
                    ),
                    vec![
                        receiver.into(),
                        id.into(),
                        why.into(),
                        (now + i64::from(cfg.retry_delay(attempt))).into(),
                    ],
                ));
            }
            Some(Sent::Down(why)) => {
                down = Some((why.clone(), down_tries));
                out.push(due_again(table, receiver, id, now));
            }
            None => out.push(due_again(table, receiver, id, now)),
        }
    }
    match down {
        Some((why, tries)) => {
            let why: String = why.chars().take(200).collect();
            let attempt = u32::try_from(tries + 1).unwrap_or(u32::MAX);
            let delay = cfg.retry_delay(attempt).min(RECEIVER_RETRY_MAX_SECS);
            out.push(stmt(
                "UPDATE receivers SET attempts = attempts + 1, last_error = ?2, retry_at = ?3 \
                 WHERE name = ?1",
                vec![receiver.into(), why.into(), (now + i64::from(delay)).into()],
            ));
        }
        None if outcomes.iter().any(|o| matches!(o, Sent::Taken(_))) => out.push(stmt(
            "UPDATE receivers SET attempts = 0, last_error = NULL, retry_at = 0, last_ok_at = ?2 \
             WHERE name = ?1",
            vec![receiver.into(), now.into()],
        )),
        None => {}
    }
    out
}

/// A claimed rating not tried: due again at once, in its place (the receiver's own backoff
/// gates it).
fn due_again(table: &str, receiver: &str, id: &str, now: i64) -> Stmt {
    stmt(
        format!("UPDATE {table} SET due_at = ?3 WHERE receiver = ?1 AND id = ?2"),
        vec![receiver.into(), id.into(), now.into()],
    )
}

/// The earliest time any receiver is owed something it may be sent (`at` is null when
/// nothing is owed), and when the oldest owed revision became owed, for the backlog alert.
pub fn pending() -> Stmt {
    stmt(
        "SELECT MIN(at) AS at, MIN(oldest) AS oldest FROM ( \
         SELECT MIN(MAX(d.due_at, u.retry_at)) AS at, MIN(d.queued_at) AS oldest \
         FROM deliveries d JOIN receivers u ON u.name = d.receiver AND u.active = 1 \
         WHERE d.rev < d.want UNION ALL \
         SELECT MIN(MAX(d.due_at, u.retry_at)), NULL \
         FROM case_deliveries d JOIN receivers u ON u.name = d.receiver AND u.active = 1 \
         AND u.results = 1 WHERE d.rev < d.want)",
        vec![],
    )
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    pub at: Option<i64>,
    pub oldest: Option<i64>,
}
crate::row!(Pending { at, oldest });

/// When the alarm must wake next: the next due rating (at once if one is overdue) or the next
/// retention run, whichever is first.
pub fn next_wake(now: i64, next_due: Option<i64>, last_prune: i64) -> i64 {
    let prune = last_prune + PRUNE_EVERY_SECS;
    next_due.map_or(prune, |d| d.max(now).min(prune))
}

/// Says so when the oldest unforwarded rating has waited longer than an hour.
pub fn backlog_alert(oldest_pending: Option<i64>, now: i64) -> Option<String> {
    let age = now - oldest_pending?;
    (age > BACKLOG_ALERT_SECS).then(|| {
        format!(
            "the oldest unforwarded rating has waited {} min: is the upstream reachable?",
            age / 60
        )
    })
}

/// One upstream request: the body and its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

/// The signed envelope of the revision `receiver` gets next (`RatingRow::next_revision` after
/// the revision `acked` it has), and that revision's number.
pub fn outbound(
    row: &RatingRow,
    acked: i64,
    receiver: &Receiver,
    cfg: &Config,
    now: i64,
) -> Result<(Outbound, i64), String> {
    let row = row.next_revision(acked)?;
    let (mut rating, entry) = row.to_rating()?;
    if row.via == crate::served::DEFAULT_VIA {
        rating.channel = cfg.default_channel.ok_or(
            "a system default rating waits: set UPSTREAM_DEFAULT_CHANNEL to the channel code the platform expects for it",
        )?;
    }
    let body = envelope::body(receiver.mapping, &rating, &entry)?;
    Ok((
        signed(body, row.idempotency_key(), row.rev, receiver, now),
        row.rev,
    ))
}

/// The signed `zsp.case` envelope of a case's result, and its revision.
pub fn result_outbound(
    c: &ResultClaim,
    receiver: &Receiver,
    now: i64,
) -> Result<(Outbound, i64), String> {
    let r = c.to_result()?;
    let key = r.idempotency_key(c.revision);
    Ok((signed(r.body(), key, c.revision, receiver, now), c.revision))
}

/// A body with its headers, signed with the receiver's key as the envelope says.
fn signed(body: String, key: String, revision: i64, receiver: &Receiver, now: i64) -> Outbound {
    let revision = revision.to_string();
    let sig = envelope::sign(
        &receiver.key,
        now,
        &envelope::Signed {
            idempotency_key: &key,
            revision: &revision,
            body: body.as_bytes(),
        },
    );
    Outbound {
        headers: vec![
            ("Content-Type", "application/json; charset=utf-8".into()),
            (HEADER_VERSION, envelope::ENVELOPE_VERSION.to_string()),
            (HEADER_IDEMPOTENCY, key),
            (HEADER_REVISION, revision),
            (HEADER_SIGNATURE, sig),
        ],
        body,
    }
}

// ---- status ----

pub fn status() -> Vec<Stmt> {
    vec![stmt(STATUS, vec![]), receivers_status()]
}

const STATUS: &str = concat!(
    "SELECT (SELECT COUNT(DISTINCT d.id) FROM deliveries d WHERE ",
    crate::owed!(),
    ") AS backlog, (SELECT MIN(d.queued_at) FROM deliveries d WHERE ",
    crate::owed!(),
    ") AS oldest_pending, \
     (SELECT COUNT(*) FROM ratings) AS stored, \
     (SELECT COUNT(*) FROM ratings WHERE hold = 1) AS held, \
     (SELECT COUNT(*) FROM entries) AS codes"
);

/// Each receiver in the settings: its backlog, its oldest owed revision and how it last went.
fn receivers_status() -> Stmt {
    stmt(
        "SELECT u.name, u.attempts, u.retry_at, u.last_error, u.last_ok_at, \
         (SELECT COUNT(*) FROM deliveries d WHERE d.receiver = u.name AND d.rev < d.want) AS backlog, \
         (SELECT MIN(d.queued_at) FROM deliveries d WHERE d.receiver = u.name AND d.rev < d.want) AS oldest, \
         (SELECT COUNT(*) FROM case_deliveries d WHERE d.receiver = u.name AND d.rev < d.want) AS results_backlog \
         FROM receivers u WHERE u.active = 1 ORDER BY u.name",
        vec![],
    )
}

#[derive(Debug, Clone)]
pub struct Status {
    /// Ratings some receiver is owed.
    pub backlog: i64,
    pub oldest_pending: Option<i64>,
    pub stored: i64,
    /// Held for review (疑似刷评), waiting for a decision.
    pub held: i64,
    pub codes: i64,
}
crate::row!(Status {
    backlog,
    oldest_pending,
    stored,
    held,
    codes
});

/// One receiver's standing (`receivers` and its deliveries).
#[derive(Debug, Clone)]
pub struct ReceiverStatus {
    pub name: String,
    /// Rounds failed in a row (0: it answered last time, or was not tried yet).
    pub attempts: i64,
    pub retry_at: i64,
    pub last_error: Option<String>,
    pub last_ok_at: Option<i64>,
    pub backlog: i64,
    pub oldest: Option<i64>,
    /// 差评 cases' results it has not acknowledged (a receiver that takes results).
    pub results_backlog: i64,
}
crate::row!(ReceiverStatus {
    name,
    attempts,
    retry_at,
    last_error,
    last_ok_at,
    backlog,
    oldest,
    results_backlog
});

/// What `/status` tells an administrator. `alert` says when a backlog has stalled.
pub fn status_json(s: &Status, receivers: &[ReceiverStatus], now: i64) -> String {
    let age = |t: Option<i64>| t.map(|t| (now - t).max(0));
    serde_json::json!({
        "ok": true,
        "forwarding": if receivers.is_empty() { "off (neither UPSTREAMS nor UPSTREAM_URL set: ratings stay in storage)" } else { "on" },
        "backlog": s.backlog,
        "oldest_pending_age_secs": age(s.oldest_pending),
        "alert": backlog_alert(s.oldest_pending, now),
        "receivers": receivers.iter().map(|r| serde_json::json!({
            "name": r.name,
            "backlog": r.backlog,
            "oldest_pending_age_secs": age(r.oldest),
            "results_backlog": r.results_backlog,
            "failing_rounds": r.attempts,
            "retry_in_secs": (r.attempts > 0).then(|| (r.retry_at - now).max(0)),
            "last_error": r.last_error,
            "last_ok_age_secs": age(r.last_ok_at),
            "alert": backlog_alert(r.oldest, now),
        })).collect::<Vec<_>>(),
        "stored": s.stored,
        "held": s.held,
        "codes": s.codes,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::sql::tests::{db, run, typed};
    use crate::store::tests::row;
    use rusqlite::Connection;
    use wire::directory::Entry;
    use wire::key::{Key, KeyPurpose, Keyring};

    fn header_of<'a>(o: &'a Outbound, name: &str) -> &'a str {
        &o.headers.iter().find(|h| h.0 == name).unwrap().1
    }

    /// Forwarding on, to `mapping`, signed with the returned key.
    fn upstream(mapping: &str) -> (Config, Key) {
        let mut v = crate::config::tests::vars();
        let k = Key::new(KeyPurpose::Upstream, 4, [6; 32]);
        v.insert("UPSTREAM_URL", "http://127.0.0.1:1/".into());
        v.insert("UPSTREAM_KEYS", k.to_text());
        v.insert("UPSTREAM_MAPPING", mapping.into());
        (crate::config::tests::parse(&v).unwrap(), k)
    }

    #[test]
    fn outbound_is_signed_and_verifiable() {
        let (cfg, k) = upstream("provincial");
        let (o, rev) = outbound(&row(), 1, &cfg.receivers[0], &cfg, 1_795_000_100).unwrap();
        assert_eq!(rev, 3);
        let sig = header_of(&o, HEADER_SIGNATURE);
        let header = |name| header_of(&o, name);
        let ring = Keyring::new(KeyPurpose::Upstream, vec![k]).unwrap();
        let signed = envelope::Signed {
            idempotency_key: header(HEADER_IDEMPOTENCY),
            revision: header(HEADER_REVISION),
            body: o.body.as_bytes(),
        };
        envelope::verify(&ring, sig, &signed, 1_795_000_100, 300).unwrap();
        assert_eq!(header(HEADER_REVISION), "3");
        let b: serde_json::Value = serde_json::from_str(&o.body).unwrap();
        assert_eq!(b["satisfaction"], "1");
        assert_eq!(b["pf"], "3");
        assert_eq!(b["assessNumber"], "2");
        assert_eq!(b["evalDetail"], "108,115");
        let key = header_of(&o, HEADER_IDEMPOTENCY);
        assert_eq!(key, format!("{}.3", row().id));
    }

    #[test]
    fn a_first_revision_kept_aside_goes_first() {
        let (cfg, _) = upstream("project");
        let to = &cfg.receivers[0];
        let mut r = row();
        r.first = Some(
            serde_json::json!({"rated_at": 1_794_999_000, "level": "satisfied", "tags": "406",
                "tag_version": r.tag_version, "matter": null, "comment": "first", "phone": null,
                "entry": r.entry})
            .to_string(),
        );
        let (o, rev) = outbound(&r, 0, to, &cfg, 1_795_000_100).unwrap();
        assert_eq!(rev, 1);
        let b: serde_json::Value = serde_json::from_str(&o.body).unwrap();
        assert_eq!(b["assess_number"], 1);
        assert_eq!(b["comment"], "first");
        assert_eq!(b["level"], "satisfied");
        let key = header_of(&o, HEADER_IDEMPOTENCY);
        assert_eq!(key, r.id, "revision 1 under the rating's own key");
        // Once the receiver has revision 1, the current one follows.
        let (o, rev) = outbound(&r, 1, to, &cfg, 1_795_000_100).unwrap();
        assert_eq!(rev, 3);
        assert!(o.body.contains("\"assess_number\":2"));
    }

    #[test]
    fn an_answer_says_whether_the_rating_or_the_receiver_failed() {
        assert_eq!(judge(200, 3), Sent::Taken(3));
        assert_eq!(judge(204, 1), Sent::Taken(1));
        for down in [401, 403, 404, 408, 429, 500, 502, 503] {
            assert!(matches!(judge(down, 1), Sent::Down(_)), "{down}");
        }
        for refused in [400, 409, 413, 422] {
            assert!(matches!(judge(refused, 1), Sent::Refused(_)), "{refused}");
        }
    }

    #[test]
    fn the_alarm_wakes_for_the_first_due_rating_or_retention() {
        // Nothing pending: retention an hour after the last run.
        assert_eq!(next_wake(100, None, 0), 3600);
        // Overdue: at once, never in the past.
        assert_eq!(next_wake(100, Some(50), 0), 100);
        assert_eq!(next_wake(100, Some(700), 0), 700);
        // A retry later than the next retention run waits for it.
        assert_eq!(next_wake(100, Some(9000), 0), 3600);
    }

    #[test]
    fn a_stalled_backlog_is_reported() {
        assert_eq!(backlog_alert(None, 10_000), None);
        assert_eq!(backlog_alert(Some(10_000 - 3600), 10_000), None);
        let a = backlog_alert(Some(10_000 - 3601 - 600), 10_000).unwrap();
        assert!(a.contains("70 min"), "{a}");
    }

    // ---- several receivers, on SQLite ----

    /// Two receivers: `province` takes every rating (key 1), `dept` 差评 of region 3302… only
    /// (key 2).
    fn two() -> Config {
        let mut v = crate::config::tests::vars();
        v.insert(
            "UPSTREAM_KEYS",
            format!(
                "{} {}",
                Key::new(KeyPurpose::Upstream, 1, [1; 32]).to_text(),
                Key::new(KeyPurpose::Upstream, 2, [2; 32]).to_text()
            ),
        );
        v.insert(
            "UPSTREAMS",
            "province https://hcp.example.gov.cn/r provincial key=1; \
             dept https://dept.example.gov.cn/r gbt39046 bad region=3302 key=2"
                .into(),
        );
        crate::config::tests::parse(&v).unwrap()
    }

    fn exec(c: &Connection, stmts: &[Stmt]) {
        for s in stmts {
            run(c, s);
        }
    }

    fn entry(region: &str) -> Entry {
        let mut e = Entry::example("A01", None);
        e.region = region.into();
        e.code.window = wire::qr::WindowRef::derive(region, &e.hall, &e.window);
        e
    }

    /// A counted rating (`hold` 0) or a held one, given at `at` (a rating's own time is when it
    /// became owed).
    fn rate(c: &Connection, id: &str, region: &str, level: &str, at: i64, hold: i64) {
        c.execute(
            "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, \
             rated_at, level, tags, tag_version, comment, flagged, via, entry, next_attempt_at, hold) \
             VALUES (?1, ?2, ?1, 0, 1, 1, ?1, ?3, ?4, '', 1, '', 0, 'app', ?5, ?3, ?6)",
            rusqlite::params![
                id,
                entry(region).code.to_text(),
                at,
                level,
                serde_json::to_string(&entry(region)).unwrap(),
                hold
            ],
        )
        .unwrap();
    }

    /// A 追评: the next revision, owed from `at`.
    fn amend(c: &Connection, id: &str, level: &str, at: i64) {
        c.execute(
            "UPDATE ratings SET rev = rev + 1, assess_number = 2, level = ?2, next_attempt_at = ?3 \
             WHERE id = ?1",
            rusqlite::params![id, level, at],
        )
        .unwrap();
    }

    fn claimed(c: &Connection, to: &str, now: i64) -> Vec<Claimed> {
        let s = claim(to, now, now + 600, CLAIM_LIMIT);
        let rows: Vec<Claimed> = typed(c, &s[0]);
        run(c, &s[1]);
        rows
    }

    fn ids(cl: &[Claimed]) -> Vec<&str> {
        cl.iter().map(|c| c.row.id.as_str()).collect()
    }

    fn owed(c: &Connection, to: &str) -> Vec<(String, i64, i64)> {
        let rows = run(
            c,
            &stmt(
                "SELECT id, rev, want FROM deliveries WHERE receiver = ?1 AND rev < want ORDER BY queued_at, id",
                vec![to.into()],
            ),
        );
        rows.iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["rev"].as_i64().unwrap(),
                    r["want"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn each_receiver_is_owed_what_it_takes_and_keeps_its_own_order_and_backoff() {
        let cfg = two();
        let c = db();
        // Given before the receivers were set: owed once they are (forwarding switched on).
        rate(&c, "a", "330201", "satisfied", 100, 0);
        exec(&c, &sync(&cfg.receivers));
        rate(&c, "b", "330201", "very_dissatisfied", 110, 0);
        rate(&c, "c", "330105", "dissatisfied", 120, 0);
        rate(&c, "d", "330201", "dissatisfied", 130, 1);
        assert_eq!(
            owed(&c, "province")
                .iter()
                .map(|o| o.0.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "c"],
            "every counted rating, in the order given; the held one waits"
        );
        assert_eq!(
            owed(&c, "dept"),
            [("b".to_owned(), 0, 1)],
            "差评 of its region only"
        );

        // province is down at its second rating: the round stops, the rest stays in its place,
        // and province backs off as a whole; dept is not held back.
        let p = claimed(&c, "province", 200);
        assert_eq!(ids(&p), ["a", "b", "c"]);
        assert!(claimed(&c, "province", 200).is_empty(), "leased");
        exec(
            &c,
            &record(
                Queue::Ratings,
                "province",
                &p,
                &[Sent::Taken(1), Sent::Down("upstream status 503".into())],
                &cfg,
                201,
            ),
        );
        assert_eq!(owed(&c, "province").len(), 2);
        let st: Vec<ReceiverStatus> = typed(&c, &status()[1]);
        let prov = st.iter().find(|r| r.name == "province").unwrap();
        assert_eq!((prov.attempts, prov.retry_at, prov.backlog), (1, 231, 2));
        assert_eq!(prov.last_error.as_deref(), Some("upstream status 503"));
        assert!(claimed(&c, "province", 230).is_empty(), "backing off");
        let d = claimed(&c, "dept", 201);
        assert_eq!(ids(&d), ["b"]);
        exec(
            &c,
            &record(Queue::Ratings, "dept", &d, &[Sent::Taken(1)], &cfg, 202),
        );
        assert!(owed(&c, "dept").is_empty());
        // The alarm wakes for province's retry.
        let p: Vec<Pending> = typed(&c, &pending());
        assert_eq!(p[0].at, Some(231));
        // Back: the two left, in their order; then it answered, so no backoff.
        let p = claimed(&c, "province", 231);
        assert_eq!(ids(&p), ["b", "c"]);
        // One rating refused (a 4xx of its own) backs off alone; the next is sent.
        exec(
            &c,
            &record(
                Queue::Ratings,
                "province",
                &p,
                &[Sent::Refused("upstream status 422".into()), Sent::Taken(1)],
                &cfg,
                232,
            ),
        );
        assert_eq!(owed(&c, "province"), [("b".to_owned(), 0, 1)]);
        let st: Vec<ReceiverStatus> = typed(&c, &status()[1]);
        let prov = st.iter().find(|r| r.name == "province").unwrap();
        assert_eq!((prov.attempts, prov.last_ok_at), (0, Some(232)));
        assert!(
            claimed(&c, "province", 233).is_empty(),
            "b waits its own 30 s"
        );
        assert_eq!(ids(&claimed(&c, "province", 262)), ["b"]);

        // A 追评 is owed to each receiver that had the rating, in its new place; a 满意 amended to
        // a 差评 becomes dept's when its region is dept's.
        amend(&c, "a", "very_dissatisfied", 300);
        assert_eq!(owed(&c, "dept"), [("a".to_owned(), 0, 2)]);
        assert!(owed(&c, "province").contains(&("a".to_owned(), 1, 2)));
        // Released from hold: owed now.
        run(
            &c,
            &stmt(
                "UPDATE ratings SET hold = 3, next_attempt_at = 400 WHERE id = 'd'",
                vec![],
            ),
        );
        assert_eq!(owed(&c, "dept").last().unwrap().0, "d");
    }

    #[test]
    fn receivers_come_and_go_with_the_settings_and_nothing_owed_is_pruned() {
        let cfg = two();
        let c = db();
        exec(&c, &sync(&cfg.receivers));
        rate(&c, "b", "330201", "very_dissatisfied", 100, 0);
        rate(&c, "g", "330201", "satisfied", 100, 0);
        let p = claimed(&c, "province", 200);
        exec(
            &c,
            &record(
                Queue::Ratings,
                "province",
                &p,
                &[Sent::Taken(1), Sent::Taken(1)],
                &cfg,
                200,
            ),
        );
        let st: Vec<Status> = typed(&c, &status()[0]);
        assert_eq!(st[0].backlog, 1, "b: dept still owed");
        // Long after: the rating dept still waits for stays; the one everybody has goes.
        let later = 200 + 40 * 86_400;
        exec(&c, &crate::store::prune(later, 30, 7, true));
        let left: Vec<String> = run(&c, &stmt("SELECT id FROM ratings", vec![]))
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(left, ["b"]);

        // dept taken out of the settings: owed nothing, counted nowhere, kept in its place.
        let province_only = &cfg.receivers[..1];
        exec(&c, &sync(province_only));
        let st: Vec<Status> = typed(&c, &status()[0]);
        assert_eq!(st[0].backlog, 0);
        assert_eq!(typed::<ReceiverStatus>(&c, &status()[1]).len(), 1);
        assert!(claimed(&c, "dept", later).is_empty());
        rate(&c, "n", "330201", "dissatisfied", later, 0);
        // Put back: what it was owed and what came meanwhile, once each.
        exec(&c, &sync(&cfg.receivers));
        exec(&c, &sync(&cfg.receivers));
        assert_eq!(
            owed(&c, "dept"),
            [("b".to_owned(), 0, 1), ("n".to_owned(), 0, 1)]
        );
        // And now the last of b goes at the next prune after dept has it.
        let d = claimed(&c, "dept", later);
        exec(
            &c,
            &record(
                Queue::Ratings,
                "dept",
                &d,
                &[Sent::Taken(1), Sent::Taken(1)],
                &cfg,
                later,
            ),
        );
        exec(&c, &crate::store::prune(later + 31 * 86_400, 30, 7, true));
        let left = run(&c, &stmt("SELECT id FROM ratings", vec![]));
        assert_eq!(left.len(), 1, "n: province has not had it");
        let p = claimed(&c, "province", later);
        assert_eq!(ids(&p), ["n"]);
        exec(
            &c,
            &record(
                Queue::Ratings,
                "province",
                &p,
                &[Sent::Taken(1)],
                &cfg,
                later,
            ),
        );
        exec(&c, &crate::store::prune(later + 31 * 86_400, 30, 7, true));
        assert_eq!(run(&c, &stmt("SELECT id FROM ratings", vec![])).len(), 0);
        assert_eq!(
            run(&c, &stmt("SELECT id FROM deliveries", vec![])).len(),
            0,
            "a pruned rating's deliveries go with it"
        );
    }

    #[test]
    fn the_first_revision_kept_aside_goes_once_every_receiver_has_it() {
        let cfg = two();
        let c = db();
        exec(&c, &sync(&cfg.receivers));
        rate(&c, "b", "330201", "very_dissatisfied", 100, 0);
        c.execute(
            "UPDATE ratings SET first = '{}', rev = 2 WHERE id = 'b'",
            [],
        )
        .unwrap();
        let first = || -> bool {
            !run(
                &c,
                &stmt(
                    "SELECT 1 FROM ratings WHERE id = 'b' AND first IS NOT NULL",
                    vec![],
                ),
            )
            .is_empty()
        };
        let p = claimed(&c, "province", 200);
        assert_eq!(p[0].acked, 0);
        exec(
            &c,
            &record(Queue::Ratings, "province", &p, &[Sent::Taken(1)], &cfg, 200),
        );
        assert!(first(), "dept has not had revision 1 yet");
        let d = claimed(&c, "dept", 200);
        exec(
            &c,
            &record(Queue::Ratings, "dept", &d, &[Sent::Taken(1)], &cfg, 200),
        );
        assert!(!first());
        // Each then is owed revision 2.
        assert_eq!(owed(&c, "province"), [("b".to_owned(), 1, 2)]);
        assert_eq!(owed(&c, "dept"), [("b".to_owned(), 1, 2)]);
    }

    #[test]
    fn the_sql_takes_what_the_receiver_says_it_takes() {
        let cfg = two();
        let c = db();
        exec(&c, &sync(&cfg.receivers));
        let mut n = 0;
        for region in ["330201", "3302", "330105", "320102"] {
            for level in wire::rating::Level::ALL {
                n += 1;
                let id = format!("r{n}");
                rate(&c, &id, region, level.as_str(), n, 0);
                for r in &cfg.receivers {
                    let has = run(
                        &c,
                        &stmt(
                            "SELECT 1 FROM deliveries WHERE receiver = ?1 AND id = ?2",
                            vec![r.name.as_str().into(), id.as_str().into()],
                        ),
                    );
                    assert_eq!(
                        !has.is_empty(),
                        r.takes(level.is_bad(), region),
                        "{} {region} {level:?}",
                        r.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_receiver_that_takes_results_gets_each_cases_result_after_its_rating() {
        let mut cfg = two();
        cfg.receivers[0].results = true;
        let c = db();
        exec(&c, &sync(&cfg.receivers));
        rate(&c, "b", "330201", "very_dissatisfied", 100, 0);
        let e = entry("330201");
        c.execute(
            "INSERT INTO cases (rating, opened_at, opened_rev, code, entry, level, tags, comment) \
             VALUES ('b', 100, 1, ?1, ?2, 'very_dissatisfied', '113', '打我电话 13812345678')",
            rusqlite::params![e.code.to_text(), serde_json::to_string(&e).unwrap()],
        )
        .unwrap();
        c.execute_batch(
            "INSERT INTO case_steps (case_id, at, actor, role, step, note) VALUES \
               (1, 150, '张三', 'handler', 'callback', '内部：13900001111 很凶'), \
               (1, 250, '李四', 'hall', 'close', '');
             UPDATE cases SET state = 'replied', reply = '已约谈窗口人员', reply_public = 1, \
               finding = 'true', about = 'staff' WHERE rating = 'b';",
        )
        .unwrap();
        let results = |now: i64| -> Vec<ResultClaim> {
            let s = claim_results("province", now, now + 600, CLAIM_LIMIT);
            let rows: Vec<ResultClaim> = typed(&c, &s[0]);
            run(&c, &s[1]);
            rows
        };
        assert!(results(200).is_empty(), "not closed yet");
        c.execute_batch("UPDATE cases SET state = 'closed', closed_at = 250 WHERE rating = 'b'")
            .unwrap();
        assert!(
            results(260).is_empty(),
            "province has not had the rating yet"
        );
        let owed_to = |table: &str| -> Vec<String> {
            run(
                &c,
                &stmt(
                    format!("SELECT receiver FROM {table} WHERE rev < want ORDER BY receiver"),
                    vec![],
                ),
            )
            .iter()
            .map(|r| r["receiver"].as_str().unwrap().to_owned())
            .collect()
        };
        assert_eq!(
            owed_to("case_deliveries"),
            ["province"],
            "dept takes no results"
        );
        let p = claimed(&c, "province", 260);
        exec(
            &c,
            &record(Queue::Ratings, "province", &p, &[Sent::Taken(1)], &cfg, 260),
        );
        let r = results(261);
        assert_eq!(r.len(), 1);
        let (o, rev) = result_outbound(&r[0], &cfg.receivers[0], 261).unwrap();
        assert_eq!(rev, 1);
        assert_eq!(header_of(&o, HEADER_IDEMPOTENCY), "case-b.1");
        let b: serde_json::Value = serde_json::from_str(&o.body).unwrap();
        assert_eq!(b["format"], "zsp.case");
        assert_eq!(b["state"], "closed");
        assert_eq!(b["finding"], "true");
        assert_eq!(b["reply"], "已约谈窗口人员");
        assert_eq!(
            b["steps"],
            serde_json::json!([
                {"step": "callback", "role": "handler", "at": wire::time::format_rfc3339_cst(150)},
                {"step": "close", "role": "hall", "at": wire::time::format_rfc3339_cst(250)}
            ])
        );
        for never in ["1381234", "1390000", "张三", "李四", "很凶", "打我电话"] {
            assert!(!o.body.contains(never), "{never}: {}", o.body);
        }
        // Signed with the province's own key.
        let ring = Keyring::new(KeyPurpose::Upstream, vec![cfg.receivers[0].key.clone()]).unwrap();
        envelope::verify(
            &ring,
            header_of(&o, HEADER_SIGNATURE),
            &envelope::Signed {
                idempotency_key: header_of(&o, HEADER_IDEMPOTENCY),
                revision: header_of(&o, HEADER_REVISION),
                body: o.body.as_bytes(),
            },
            261,
            300,
        )
        .unwrap();
        exec(
            &c,
            &record(Queue::Results, "province", &r, &[Sent::Taken(1)], &cfg, 262),
        );
        assert!(results(263).is_empty());
        // The citizen's 追评 reopens it: the new result is owed, without the reply once it is no
        // longer public.
        c.execute_batch(
            "UPDATE cases SET followup = 'unsatisfied', verdict = 'unsatisfied', followup_at = 300, \
             state = 'callback', reopened_at = 300, closed_at = NULL, reply_public = 0 WHERE rating = 'b'",
        )
        .unwrap();
        let r = results(301);
        let (o, rev) = result_outbound(&r[0], &cfg.receivers[0], 301).unwrap();
        assert_eq!((rev, header_of(&o, HEADER_IDEMPOTENCY)), (2, "case-b.2"));
        let b: serde_json::Value = serde_json::from_str(&o.body).unwrap();
        assert_eq!(
            (b["state"].as_str(), b["verdict"].as_str()),
            (Some("callback"), Some("unsatisfied"))
        );
        assert!(b["reply"].is_null() && b["closed_at"].is_null(), "{b}");
        // A receiver that is down backs off for its results as for its ratings.
        exec(
            &c,
            &record(
                Queue::Results,
                "province",
                &r,
                &[Sent::Down("upstream status 502".into())],
                &cfg,
                302,
            ),
        );
        assert!(results(303).is_empty());
        assert_eq!(results(332).len(), 1);
    }
}
