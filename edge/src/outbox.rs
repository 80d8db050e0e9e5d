//! The outbox: the ratings whose current revision the upstream has not acknowledged, when each is
//! tried next, the signed request that carries it, and when the storage object's alarm must
//! wake. Plain Rust, tested natively; `glue::forward` sends what this decides.
//!
//! Delivery is at least once: a rating is claimed for a lease before it is sent, marked
//! forwarded when the upstream answers 2xx, and otherwise tried again after an exponential
//! backoff. The receiver deduplicates on `Idempotency-Key`. Nothing unforwarded is ever pruned.

use crate::config::Config;
use crate::sql::{Stmt, stmt};
use crate::store::{RatingRow, rating_columns};
use serde::Deserialize;
use wire::envelope::{self, HEADER_IDEMPOTENCY, HEADER_REVISION, HEADER_SIGNATURE, HEADER_VERSION};

/// How many ratings one alarm claims; more due means the alarm wakes again at once.
pub const CLAIM_LIMIT: i64 = 25;
/// Retention runs from the alarm at most this often.
pub const PRUNE_EVERY_SECS: i64 = 3600;
/// A backlog whose oldest entry is older than this is reported by `/status` and the log.
pub const BACKLOG_ALERT_SECS: i64 = 3600;

/// Claims up to `limit` due ratings for a lease (so a crash mid-send only delays them), in one
/// statement, and returns them whole.
pub fn claim_due(now: i64, lease_until: i64, limit: i64) -> Stmt {
    stmt(
        concat!(
            "UPDATE ratings SET next_attempt_at = ?2 WHERE id IN (SELECT id FROM ratings WHERE ",
            crate::pending!(),
            " AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?3) RETURNING ",
            rating_columns!()
        ),
        vec![now.into(), lease_until.into(), limit.into()],
    )
}

/// The upstream acknowledged revision `rev`; a later revision (an amendment made meanwhile, or
/// the one that waited behind the first) is due at once.
pub fn mark_forwarded(id: &str, rev: i64, now: i64) -> Stmt {
    stmt(
        "UPDATE ratings SET forwarded_rev = MAX(forwarded_rev, ?2), forwarded_at = ?3, \
         attempts = 0, last_error = NULL, first = NULL, \
         next_attempt_at = CASE WHEN rev > ?2 THEN ?3 ELSE next_attempt_at END WHERE id = ?1",
        vec![id.into(), rev.into(), now.into()],
    )
}

/// A failed attempt: counted, with its reason (a status or a network error; never the body),
/// and due again after the backoff (which replaces the lease).
pub fn mark_failed(id: &str, retry_at: i64, why: &str) -> Stmt {
    let why: String = why.chars().take(200).collect();
    stmt(
        "UPDATE ratings SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 \
         WHERE id = ?1",
        vec![id.into(), why.into(), retry_at.into()],
    )
}

/// The earliest time any pending rating is due (`at` is null when none is pending), and the
/// oldest pending rating's time, for the backlog alert.
pub fn pending() -> Stmt {
    stmt(
        concat!(
            "SELECT MIN(next_attempt_at) AS at, MIN(rated_at) AS oldest FROM ratings WHERE ",
            crate::pending!()
        ),
        vec![],
    )
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Pending {
    pub at: Option<i64>,
    pub oldest: Option<i64>,
}

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

/// The signed envelope of the revision a rating sends next (`RatingRow::next_revision`), and
/// that revision's number.
pub fn outbound(row: &RatingRow, cfg: &Config, now: i64) -> Result<(Outbound, i64), String> {
    let keys = cfg
        .upstream_keys
        .as_ref()
        .ok_or("forwarding without UPSTREAM_KEYS")?;
    let row = row.next_revision()?;
    let (mut rating, entry) = row.to_rating()?;
    if row.via == crate::served::DEFAULT_VIA {
        rating.channel = cfg.default_channel.ok_or(
            "a system default rating waits: set UPSTREAM_DEFAULT_CHANNEL to the channel code the platform expects for it",
        )?;
    }
    let body = envelope::body(cfg.mapping, &rating, &entry)?;
    let key = row.idempotency_key();
    let revision = row.rev.to_string();
    let sig = envelope::sign(
        keys.current(),
        now,
        &envelope::Signed {
            idempotency_key: &key,
            revision: &revision,
            body: body.as_bytes(),
        },
    );
    Ok((
        Outbound {
            headers: vec![
                ("Content-Type", "application/json; charset=utf-8".into()),
                (HEADER_VERSION, envelope::ENVELOPE_VERSION.to_string()),
                (HEADER_IDEMPOTENCY, key),
                (HEADER_REVISION, revision),
                (HEADER_SIGNATURE, sig),
            ],
            body,
        },
        row.rev,
    ))
}

/// What one attempt came to, as the statement that records it: `Ok(revision)` acknowledged.
pub fn record(row: &RatingRow, cfg: &Config, now: i64, result: Result<i64, String>) -> Stmt {
    match result {
        Ok(rev) => mark_forwarded(&row.id, rev, now),
        Err(why) => {
            let attempt = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
            mark_failed(&row.id, now + i64::from(cfg.retry_delay(attempt)), &why)
        }
    }
}

// ---- status ----

pub fn status() -> Stmt {
    stmt(STATUS, vec![])
}

const STATUS: &str = concat!(
    "SELECT (SELECT COUNT(*) FROM ratings WHERE ",
    crate::pending!(),
    ") AS backlog, (SELECT MIN(rated_at) FROM ratings WHERE ",
    crate::pending!(),
    ") AS oldest_pending, \
     (SELECT COUNT(*) FROM ratings) AS stored, \
     (SELECT COUNT(*) FROM ratings WHERE hold = 1) AS held, \
     (SELECT COUNT(*) FROM entries) AS codes"
);

#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    pub backlog: i64,
    pub oldest_pending: Option<i64>,
    pub stored: i64,
    /// Held for review (疑似刷评), waiting for a decision.
    pub held: i64,
    pub codes: i64,
}

/// What `/status` tells an administrator. `alert` says when the backlog has stalled.
pub fn status_json(s: &Status, forwarding: bool, now: i64) -> String {
    serde_json::json!({
        "ok": true,
        "forwarding": if forwarding { "on" } else { "off (UPSTREAM_URL unset: ratings stay in storage)" },
        "backlog": s.backlog,
        "oldest_pending_age_secs": s.oldest_pending.map(|t| (now - t).max(0)),
        "alert": backlog_alert(s.oldest_pending, now),
        "stored": s.stored,
        "held": s.held,
        "codes": s.codes,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::row;
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
        let (o, rev) = outbound(&row(), &cfg, 1_795_000_100).unwrap();
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
        let mut r = row();
        r.forwarded_rev = 0;
        r.first = Some(
            serde_json::json!({"rated_at": 1_794_999_000, "level": "satisfied", "tags": "406",
                "tag_version": r.tag_version, "matter": null, "comment": "first", "phone": null,
                "entry": r.entry})
            .to_string(),
        );
        let (o, rev) = outbound(&r, &cfg, 1_795_000_100).unwrap();
        assert_eq!(rev, 1);
        let b: serde_json::Value = serde_json::from_str(&o.body).unwrap();
        assert_eq!(b["assess_number"], 1);
        assert_eq!(b["comment"], "first");
        assert_eq!(b["level"], "satisfied");
        let key = header_of(&o, HEADER_IDEMPOTENCY);
        assert_eq!(key, r.id, "revision 1 under the rating's own key");
        // Once revision 1 is taken, the current one follows.
        r.forwarded_rev = 1;
        let (o, rev) = outbound(&r, &cfg, 1_795_000_100).unwrap();
        assert_eq!(rev, 3);
        assert!(o.body.contains("\"assess_number\":2"));
    }

    #[test]
    fn failures_back_off_and_successes_clear() {
        let cfg = crate::config::tests::parse(&crate::config::tests::vars()).unwrap();
        let mut r = row();
        r.attempts = 2;
        let failed = record(&r, &cfg, 1000, Err("upstream status 503".into()));
        // The third attempt failed: 30 s doubled twice.
        assert_eq!(failed.args[2], 1120.into());
        assert_eq!(failed.args[1], "upstream status 503".into());
        let ok = record(&r, &cfg, 1000, Ok(3));
        assert_eq!(ok.args, vec![r.id.clone().into(), 3.into(), 1000.into()]);
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

    #[test]
    fn claims_return_whole_rows() {
        let s = claim_due(10, 610, CLAIM_LIMIT);
        assert!(s.sql.contains("RETURNING id, code, device"));
        assert!(s.sql.ends_with("hold, signals, first, project_no"));
    }
}
