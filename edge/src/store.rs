//! What the edge keeps in its Durable Object's SQLite, as SQL text and plain rows. The worker
//! sends these to the object, which runs each batch in one transaction (`glue::object`); every
//! rule that storage enforces (single use, 一次一评, bursts, the form budget) is a constraint
//! or an upsert here, never a read-then-write. The schema is `migrations/` (see `schema`).

pub use crate::sql::Val;
use crate::sql::{Stmt, stmt};
use crate::submit::Checked;
use serde::Deserialize;
use wire::directory::Entry;
use wire::envelope::Rating;
use wire::qr::{CodeId, Revocation, StaffRef};
use wire::rating::{Id128, Level, Phone, ValidRating};
use wire::time::Day;

// ---- landing and lookup ----

/// Rows: the entry (`kind` = 'entry', `ref` = its JSON), revocations naming the code or its
/// staff member, and the code's ratings since minute ?3 (`kind` = 'recent', the count in
/// `issued_before`). One round trip.
pub const LOOKUP: &str = "SELECT 'entry' AS kind, json AS ref, NULL AS issued_before FROM entries WHERE code = ?1 \
     UNION ALL SELECT kind, ref, issued_before FROM revocations WHERE ref = ?1 OR ref = ?2 \
     UNION ALL SELECT 'recent', '', COALESCE(SUM(n - f), 0) FROM bursts WHERE code = ?1 AND minute >= ?3";

/// The lookup of `code` at `now`, counting its ratings over the last `recent_minutes`: those
/// that counted (a held one is not) and came through the app, so neither a flood that is held
/// nor the plain form's posts raise the work asked of the page.
pub fn lookup(code: CodeId, now: i64, recent_minutes: u32) -> Stmt {
    let staff = code.staff.map(StaffRef::to_text).unwrap_or_default();
    let since = now / 60 - i64::from(recent_minutes) + 1;
    stmt(
        LOOKUP,
        vec![code.to_text().into(), staff.into(), since.into()],
    )
}

#[derive(Debug, Clone)]
pub struct LookupRow {
    pub kind: String,
    pub reference: String,
    pub issued_before: Option<i64>,
}
crate::row!(LookupRow { kind, reference as "ref", issued_before });

/// Turns LOOKUP's rows into what `submit::entry_for` needs. A stored entry that no longer parses
/// counts as missing (the adapter logs it).
pub fn read_lookup(rows: Vec<LookupRow>) -> Result<crate::submit::Lookup, String> {
    let mut out = crate::submit::Lookup::default();
    for r in rows {
        let day = r.issued_before.and_then(|d| u16::try_from(d).ok()).map(Day);
        match r.kind.as_str() {
            "recent" => out.recent = r.issued_before.map_or(0, |n| n.clamp(0, 1 << 30) as u32),
            "entry" => {
                out.entry = Some(
                    serde_json::from_str::<Entry>(&r.reference)
                        .map_err(|e| format!("stored entry: {e}"))?,
                )
            }
            "code" => {
                if let Some(code) = CodeId::parse(&r.reference) {
                    out.revocations.entries.push(Revocation::Code {
                        code,
                        issued_before: day,
                    });
                }
            }
            "staff" => {
                if let (Some(staff), Some(d)) = (StaffRef::parse(&r.reference), day) {
                    out.revocations.entries.push(Revocation::Staff {
                        staff,
                        issued_before: d,
                    });
                }
            }
            other => return Err(format!("unknown revocation kind {other}")),
        }
    }
    Ok(out)
}

// ---- accepting a rating ----

/// Where the batch failed, read from SQLite's error text (the constraint names its table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The challenge was used before: a replay, or the page's retry of a stored rating.
    Replayed,
    /// Another rating has this idempotency key (only a script chooses one that way).
    IdTaken,
    /// A 一事一评 link's rating, from another device than the one that gave it or on a later day.
    LinkRatedElsewhere,
}

pub fn conflict(message: &str) -> Option<Conflict> {
    if message.contains("used_challenges") {
        Some(Conflict::Replayed)
    } else if message.contains("ratings.id") {
        Some(Conflict::IdTaken)
    } else if message.contains("link_rated_elsewhere") {
        Some(Conflict::LinkRatedElsewhere)
    } else {
        None
    }
}

const USE_CHALLENGE: &str = "INSERT INTO used_challenges (nonce, expires_at) VALUES (?1, ?2)";
const SPEND_FORM: &str = "INSERT INTO form_spend (code, device, slot, n) VALUES (?1, ?2, ?3, 1) \
     ON CONFLICT (code, device, slot) DO UPDATE SET n = n + 1";
/// After the upsert: the rating counted on its code's minute if it counts (?1 code, ?2 minute,
/// ?3 1 for the plain form, ?4 device, ?5 day, ?6 submission).
const COUNT_BURST: &str = "INSERT INTO bursts (code, minute, n, f) SELECT ?1, ?2, 1, ?3 FROM ratings \
     WHERE code = ?1 AND device = ?4 AND day = ?5 AND last_submission = ?6 AND hold IN (0, 3) \
     ON CONFLICT (code, minute) DO UPDATE SET n = n + 1, f = f + excluded.f";
/// After the upsert: a held submission past the code's day's keep (?1 code, ?2 day, ?3 device,
/// ?4 submission) was not stored; it is counted.
const COUNT_OVERFLOW: &str = "INSERT INTO held_overflow (code, day, n) SELECT ?1, ?2, 1 \
     WHERE NOT EXISTS (SELECT 1 FROM ratings WHERE code = ?1 AND device = ?3 AND day = ?2 AND last_submission = ?4) \
     ON CONFLICT (code, day) DO UPDATE SET n = n + 1";
/// A 一事一评 link's rater (?1 the link's rating device, ?2 the device that rates, ?3 today): the
/// first is kept; another device, or another day, fails `link_rated_elsewhere` and undoes the
/// whole submission.
const KEEP_LINK_RATER: &str = "INSERT INTO link_raters (device, rater, day) VALUES (?1, ?2, ?3) \
     ON CONFLICT (device) DO UPDATE SET elsewhere = (rater != excluded.rater OR day != excluded.day)";
const COUNT_ADDRESS: &str = "INSERT INTO addresses (code, net, minute, n) VALUES (?1, ?2, ?3, 1) \
     ON CONFLICT (code, net, minute) DO UPDATE SET n = n + 1";
/// The upsert: ?1 id, ?2 code, ?3 device, ?4 day, ?5 now, ?6 level, ?7 tags, ?8 tag version,
/// ?9 matter, ?10 comment, ?11 phone, ?12 minute, ?13 via, ?14 entry, ?15 address digest,
/// ?16 form slot, ?17 the signals found before storage ([`found_before`]), ?18 the link's 办件号,
/// ?19 whom a 差评 counts against as its reasons suggest (`wire::rating::suggested_about`; a
/// checked case's classification stands through a 追评);
/// `{signals}` is [`signals_sql`]. An amendment keeps a rejected rating rejected, holds a rating when a signal fires, and keeps the first
/// revision aside while a receiver has none of it, or none has been owed it yet (revisions go
/// upstream in order). A citizen's
/// rating of a 办件 that had its system default (`served::DEFAULT_VIA`) replaces it as the
/// first rating (its assessNumber stays 1, its revision is the next).
const UPSERT_RATING: &str = "INSERT INTO ratings (id, code, device, day, assess_number, rev, \
     last_submission, rated_at, level, tags, tag_version, matter, comment, phone, flagged, via, \
     entry, next_attempt_at, hold, signals, project_no, about) SELECT ?1, ?2, ?3, ?4, 1, 1, ?1, ?5, ?6, ?7, \
     ?8, ?9, ?10, ?11, s.signals != '', ?13, ?14, ?5, s.signals != '', s.signals, ?18, ?19 \
     FROM ({signals}) AS s WHERE s.signals = '' \
     OR (SELECT COUNT(*) FROM ratings WHERE code = ?2 AND day = ?4 AND hold = 1) < {held_keep} \
     ON CONFLICT (code, device, day) DO UPDATE SET \
     assess_number = CASE WHEN via = 'default' THEN assess_number ELSE 2 END, rev = rev + 1, \
     last_submission = excluded.last_submission, rated_at = excluded.rated_at, \
     level = excluded.level, tags = excluded.tags, tag_version = excluded.tag_version, \
     matter = excluded.matter, comment = excluded.comment, phone = excluded.phone, \
     flagged = MAX(flagged, excluded.flagged), via = excluded.via, entry = excluded.entry, \
     about = CASE WHEN EXISTS (SELECT 1 FROM cases WHERE cases.rating = ratings.id \
       AND cases.finding IS NOT NULL) THEN about ELSE excluded.about END, \
     next_attempt_at = excluded.next_attempt_at, \
     hold = CASE WHEN hold = 2 THEN 2 WHEN excluded.hold = 1 THEN 1 ELSE hold END, \
     signals = CASE WHEN excluded.signals != '' THEN excluded.signals ELSE signals END, \
     first = CASE WHEN first IS NULL AND (EXISTS (SELECT 1 FROM deliveries d \
       WHERE d.id = ratings.id AND d.rev = 0) OR NOT EXISTS (SELECT 1 FROM deliveries d \
       WHERE d.id = ratings.id)) THEN json_object('rated_at', rated_at, \
     'level', level, 'tags', tags, 'tag_version', tag_version, 'matter', matter, 'comment', comment, \
     'phone', phone, 'entry', entry, 'via', via) ELSE first END \
     RETURNING id, assess_number, rev, flagged";

/// The signals of `guard`, as one SQL row (`signals`: their names, space-separated; empty when
/// none fires). The client's own counters (its address's, counted with this rating before the
/// upsert) hold that client alone; the code's (`bursts`: the ratings that counted, this one not
/// yet) stand in for the client only when no address is known, since then no client can be told
/// from another. While a code is that busy, plain-form posts are held even from a new address
/// (`busy`): the form asks for no proof of work.
fn signals_sql(g: &crate::guard::Settings) -> String {
    let mut parts = vec!["?17".to_owned()];
    let over = |table: &str, filter: &str, plus: &str, r: &crate::guard::Rate| {
        format!(
            "(SELECT COALESCE(SUM(n), 0) FROM {table} WHERE code = ?2{filter} AND minute > ?12 - {}){plus} > {}",
            r.minutes, r.count
        )
    };
    if !g.code_rates.is_empty() {
        let any = |table: &str, filter: &str, plus: &str| {
            let all: Vec<String> = g
                .code_rates
                .iter()
                .map(|r| over(table, filter, plus, r))
                .collect();
            all.join(" OR ")
        };
        let client = any("addresses", " AND net = ?15", "");
        let code = any("bursts", "", " + 1");
        parts.push(format!(
            "CASE WHEN ?15 IS NOT NULL AND ({client}) OR ?15 IS NULL AND ({code}) THEN 'rate ' ELSE '' END"
        ));
        parts.push(format!(
            "CASE WHEN ?15 IS NOT NULL AND ?13 = 'form' AND ({code}) THEN 'busy ' ELSE '' END"
        ));
    }
    if let Some(r) = &g.address_rate {
        parts.push(format!(
            "CASE WHEN ?15 IS NOT NULL AND {} THEN 'address ' ELSE '' END",
            over("addresses", " AND net = ?15", "", r)
        ));
    }
    parts.push(format!(
        "CASE WHEN COALESCE((SELECT n FROM form_spend WHERE code = ?2 AND device = ?3 AND slot = ?16), 0) > {} \
         THEN 'form ' ELSE '' END",
        crate::guard::FORM_PER_DEVICE
    ));
    format!("SELECT RTRIM({}) AS signals", parts.join(" || "))
}

/// The signals found before storage, each followed by a space: outside the rating hours, and
/// the handler's own (`Checked::flag`).
fn found_before(c: &Checked, rules: &Rules) -> String {
    let mut s = String::new();
    if rules.guard.outside_hours(c.now) {
        s.push_str("hours ");
    }
    if let Some(f) = c.flag {
        s.push_str(f);
        s.push(' ');
    }
    s
}

/// The submission's upsert with the signals of `g`: made once, when the settings are read, not
/// for every submission.
pub fn upsert_sql(g: &crate::guard::Settings) -> String {
    UPSERT_RATING
        .replace("{signals}", &signals_sql(g))
        .replace("{held_keep}", &g.held_keep.to_string())
}

/// The rules a submission's transaction applies: the guard's settings, and the upsert made from
/// them once.
#[derive(Debug, Clone)]
pub struct Rules {
    pub guard: crate::guard::Settings,
    upsert_sql: String,
}

impl Rules {
    pub fn new(guard: crate::guard::Settings) -> Rules {
        Rules {
            upsert_sql: upsert_sql(&guard),
            guard,
        }
    }
}

/// The form budget's window.
pub const FORM_SLOT_SECS: i64 = 600;

/// One batch (a transaction): use the challenge, count the rating on its network address (and
/// the form's budget of its device), then insert or amend the rating, held when a signal of
/// `guard` fires, due for forwarding at once (a held one is not forwarded); count it on its code
/// if it counts; and open or amend its 差评 case (`fastlane::open_case`; a held rating opens none).
/// A held rating past the code's day's keep (`HELD_KEEP`) is not stored, only counted
/// (`held_overflow`), so a flood grows storage by a bounded amount; its upsert returns no row.
/// Any constraint failure undoes all of it. Returns the statements and the index of the upsert,
/// whose row ([`Accepted`]) is the answer.
pub fn accept(c: &Checked, rules: &Rules, receipt: Option<&str>) -> (Vec<Stmt>, usize) {
    let code = c.payload.code.to_text();
    let device = c.device.to_text();
    let minute = c.now / 60;
    let slot = c.now / FORM_SLOT_SECS;
    let mut out = vec![stmt(
        USE_CHALLENGE,
        vec![wire::key::hex(&c.nonce).into(), c.nonce_until.into()],
    )];
    if c.via == crate::submit::Via::Form {
        out.push(stmt(
            SPEND_FORM,
            vec![code.clone().into(), device.clone().into(), slot.into()],
        ));
    }
    if let Some(net) = &c.address {
        out.push(stmt(
            COUNT_ADDRESS,
            vec![code.clone().into(), net.clone().into(), minute.into()],
        ));
    }
    if let Some((rater, day)) = c.link_rater {
        out.push(stmt(
            KEEP_LINK_RATER,
            vec![
                device.clone().into(),
                rater.to_text().into(),
                i64::from(day.0).into(),
            ],
        ));
    }
    let r = &c.rating;
    let tags = tag_list(&r.tags);
    out.push(stmt(
        rules.upsert_sql.clone(),
        vec![
            c.submission.to_text().into(),
            code.clone().into(),
            device.clone().into(),
            i64::from(c.day.0).into(),
            c.now.into(),
            r.level.as_str().into(),
            tags.into(),
            i64::from(r.tag_version).into(),
            r.matter.clone().into(),
            r.comment.clone().into(),
            r.phone.as_ref().map(|p| p.as_str().to_owned()).into(),
            minute.into(),
            c.via.as_str().into(),
            serde_json::to_string(&c.entry)
                .expect("plain struct")
                .into(),
            c.address.clone().into(),
            slot.into(),
            found_before(c, rules).into(),
            c.project_no.clone().into(),
            wire::rating::suggested_about(r.level, &r.tags).into(),
        ],
    ));
    let upsert = out.len() - 1;
    let day = i64::from(c.day.0);
    let submission = c.submission.to_text();
    if c.flag == Some(crate::guard::SELFTEST) {
        // The operator's test: rejected at once (held ones wait in the review queue, where a
        // release would count it), so it counts nowhere and is never forwarded.
        out.push(stmt(
            "UPDATE ratings SET hold = 2 WHERE code = ?1 AND device = ?2 AND day = ?3 \
             AND last_submission = ?4 AND hold = 1",
            vec![
                code.clone().into(),
                device.clone().into(),
                day.into(),
                submission.clone().into(),
            ],
        ));
    }
    out.push(stmt(
        COUNT_BURST,
        vec![
            code.clone().into(),
            minute.into(),
            i64::from(c.via == crate::submit::Via::Form).into(),
            device.clone().into(),
            day.into(),
            submission.clone().into(),
        ],
    ));
    out.push(stmt(
        COUNT_OVERFLOW,
        vec![
            code.clone().into(),
            day.into(),
            device.clone().into(),
            submission.into(),
        ],
    ));
    let bad = c.rating.level.is_bad();
    out.extend(crate::fastlane::open_case(&code, &device, day, c.now, bad));
    if let Some(token) = receipt {
        out.push(crate::fastlane::receipt::add(
            token, &code, &device, day, c.now,
        ));
    }
    (out, upsert)
}

/// What the upsert returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub id: String,
    pub assess_number: i64,
    pub rev: i64,
    pub flagged: i64,
}
crate::row!(Accepted {
    id,
    assess_number,
    rev,
    flagged
});

/// The answer to a submission held past its code's day's keep and not stored: what a stored one
/// would have answered, so its sender learns nothing.
pub fn unstored(c: &Checked) -> Accepted {
    Accepted {
        id: c.submission.to_text(),
        assess_number: 1,
        rev: 1,
        flagged: 1,
    }
}

/// After a replay conflict: was this exact submission stored already (a retry whose answer was
/// lost)? Then the retry gets the same answer.
pub fn by_submission(submission: Id128, code: CodeId) -> Stmt {
    stmt(
        "SELECT id, assess_number, rev, flagged FROM ratings WHERE last_submission = ?1 AND code = ?2",
        vec![submission.to_text().into(), code.to_text().into()],
    )
}

/// The success body of `POST /api/rate` (`wire::page::Accepted`).
pub fn accepted_json(a: &Accepted, c: &Checked, receipt: Option<&str>, next: &str) -> String {
    wire::page::Accepted {
        id: &a.id,
        assess_number: a.assess_number.clamp(1, 2) as u8,
        bad: c.rating.level.is_bad(),
        callback: c.rating.phone.is_some(),
        day: c.day,
        receipt,
        next,
    }
    .to_json()
}

// ---- ratings ----

#[derive(Debug, Clone)]
pub struct RatingRow {
    pub id: String,
    pub code: String,
    pub device: String,
    pub day: i64,
    pub assess_number: i64,
    pub rev: i64,
    pub rated_at: i64,
    pub level: String,
    pub tags: String,
    pub tag_version: i64,
    pub matter: Option<String>,
    pub comment: String,
    pub phone: Option<String>,
    pub flagged: i64,
    pub via: String,
    pub entry: String,
    /// Every receiver that takes it has its newest revision (1), or not yet, or there is none
    /// (0).
    pub forwarded: i64,
    /// 0 counted, 1 held, 2 rejected, 3 released.
    pub hold: i64,
    /// The signals that held it (`guard::signal_label`'s names, space-separated).
    pub signals: String,
    /// The first revision, kept while a 追评 made before the first forward waits for it.
    pub first: Option<String>,
    /// The 办件号 of the 一事一评 link it came through.
    pub project_no: Option<String>,
}
crate::row!(RatingRow {
    id,
    code,
    device,
    day,
    assess_number,
    rev,
    rated_at,
    level,
    tags,
    tag_version,
    matter,
    comment,
    phone,
    flagged,
    via,
    entry,
    forwarded,
    hold,
    signals,
    first,
    project_no
});

/// A first revision as the upsert keeps it aside (`json_object` of its columns).
#[derive(Debug, Clone, Deserialize)]
struct FirstRevision {
    rated_at: i64,
    level: String,
    tags: String,
    tag_version: i64,
    matter: Option<String>,
    comment: String,
    phone: Option<String>,
    entry: String,
    /// Absent in what releases before the system default rating kept.
    #[serde(default)]
    via: Option<String>,
}

/// Every `RatingRow` column, for a `SELECT` or a `RETURNING`.
macro_rules! rating_columns {
    () => {
        concat!(
            "id, code, device, day, assess_number, rev, rated_at, level, tags, tag_version, \
             matter, comment, phone, flagged, via, entry, \
             (EXISTS (SELECT 1 FROM deliveries d WHERE d.id = ratings.id AND d.rev > 0) AND NOT ",
            $crate::pending!(),
            ") AS forwarded, hold, signals, first, project_no"
        )
    };
}
pub(crate) use rating_columns;

/// Every `RatingRow` column, for a test's own `SELECT`.
pub const RATING_COLUMNS: &str = rating_columns!();

/// The `tags` column and the export's tag codes: the codes in the order chosen, joined by commas.
fn tag_list(tags: &[u16]) -> String {
    tags.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl RatingRow {
    /// The shared crate's record and the directory entry it was given under.
    pub fn to_rating(&self) -> Result<(Rating, Entry), String> {
        // The `tags` column's format is `tag_list`'s: codes joined by commas.
        let bad = |what: &str| format!("stored rating {}: bad {what}", self.id);
        let id = Id128::parse(&self.id).ok_or_else(|| bad("id"))?;
        let device = Id128::parse(&self.device).ok_or_else(|| bad("device"))?;
        let code = CodeId::parse(&self.code).ok_or_else(|| bad("code"))?;
        let level = Level::parse(&self.level).ok_or_else(|| bad("level"))?;
        let tags = self
            .tags
            .split(',')
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<u16>().map_err(|_| bad("tags")))
            .collect::<Result<Vec<_>, _>>()?;
        let phone = match &self.phone {
            None => None,
            Some(p) => Some(Phone::parse(p).ok_or_else(|| bad("phone"))?),
        };
        let entry: Entry = serde_json::from_str(&self.entry).map_err(|_| bad("entry"))?;
        Ok((
            Rating {
                id,
                code,
                device,
                assess_number: self.assess_number.clamp(1, 2) as u8,
                rated_at: self.rated_at,
                rating: ValidRating {
                    level,
                    tags,
                    tag_version: u16::try_from(self.tag_version).map_err(|_| bad("tag version"))?,
                    matter: self.matter.clone(),
                    comment: self.comment.clone(),
                    phone,
                },
                flagged: self.flagged != 0,
                project_no: self.project_no.clone(),
                channel: crate::submit::Via::channel(&self.via),
            },
            entry,
        ))
    }

    /// The revision a receiver that acknowledged revision `acked` gets next: the first, kept
    /// aside while a 追评 made before the first forward waits behind it (the receiver sees
    /// assessNumber 1 before 2), else this one.
    pub fn next_revision(&self, acked: i64) -> Result<RatingRow, String> {
        let Some(first) = self.first.as_deref().filter(|_| acked == 0) else {
            return Ok(self.clone());
        };
        let f: FirstRevision = serde_json::from_str(first)
            .map_err(|e| format!("stored rating {}: first revision: {e}", self.id))?;
        Ok(RatingRow {
            assess_number: 1,
            rev: 1,
            rated_at: f.rated_at,
            level: f.level,
            tags: f.tags,
            tag_version: f.tag_version,
            matter: f.matter,
            comment: f.comment,
            phone: f.phone,
            entry: f.entry,
            via: f.via.unwrap_or_else(|| self.via.clone()),
            first: None,
            ..self.clone()
        })
    }

    /// The receiver deduplicates on this: the rating id, and for each amendment `id.rev`.
    pub fn idempotency_key(&self) -> String {
        if self.rev <= 1 {
            self.id.clone()
        } else {
            format!("{}.{}", self.id, self.rev)
        }
    }
}

// ---- retention ----

/// The reviewer named on what nobody decided in time.
pub const EXPIRED_REVIEW: &str = "（逾期未处理）";

/// Retention (PIPL art. 19): used challenges after they expire, counters (and the address
/// digests) after a day, forwarded and rejected ratings after `retention_days`. Held ratings
/// nobody decided within `held_days` are rejected first (one audit entry with their count), so
/// they go with the rejected. Ratings still to be forwarded are never pruned.
pub fn prune(now: i64, retention_days: u32, held_days: u32, forwarding: bool) -> Vec<Stmt> {
    // Held and rejected ratings are read through their partial index (`ratings_held`, on
    // `hold IN (1, 2)`), which SQLite takes only when the statement names its condition: without
    // it, each of these read every rating older than the hold (2 s of the object's one thread a
    // prune at a million ratings).
    let keep = now - i64::from(retention_days) * 86_400;
    let held_before = now - i64::from(held_days) * 86_400;
    vec![
        // A closed case keeps its steps, dates, tags and figures for the statistics; the
        // citizen's words leave with the retention.
        stmt(
            "UPDATE cases SET comment = '' WHERE closed_at < ?1 AND comment != ''",
            vec![keep.into()],
        ),
        stmt(
            "INSERT INTO audit (at, actor, role, action, target, detail) \
             SELECT ?1, ?4, 'city', 'rating.reject.expired', '', \
             printf('%d held ratings nobody decided within %d days rejected', COUNT(*), ?3) \
             FROM ratings WHERE hold = 1 AND hold IN (1, 2) AND rated_at < ?2 HAVING COUNT(*) > 0",
            vec![
                now.into(),
                held_before.into(),
                i64::from(held_days).into(),
                EXPIRED_REVIEW.into(),
            ],
        ),
        stmt(
            "INSERT INTO reviews (rating, decision, by_actor, at, signals) \
             SELECT id, 'reject', ?3, ?1, signals FROM ratings \
             WHERE hold = 1 AND hold IN (1, 2) AND rated_at < ?2",
            vec![now.into(), held_before.into(), EXPIRED_REVIEW.into()],
        ),
        stmt(
            "UPDATE ratings SET hold = 2 WHERE hold = 1 AND hold IN (1, 2) AND rated_at < ?1",
            vec![held_before.into()],
        ),
        stmt(
            "DELETE FROM held_overflow WHERE day < ?1",
            vec![
                (i64::from(Day::from_unix(now).map_or(0, |d| d.0)) - i64::from(retention_days))
                    .into(),
            ],
        ),
        crate::fastlane::receipt::prune(now, i64::from(retention_days) * 86_400),
        stmt(
            "DELETE FROM used_challenges WHERE expires_at < ?1",
            vec![now.into()],
        ),
        stmt(
            "DELETE FROM bursts WHERE minute < ?1",
            vec![(now / 60 - 1440).into()],
        ),
        stmt(
            "DELETE FROM addresses WHERE minute < ?1",
            vec![(now / 60 - 1440).into()],
        ),
        // Who rated a link is kept while its link lives (30 days at most) and as long as the
        // ratings are.
        stmt(
            "DELETE FROM link_raters WHERE day < ?1",
            vec![
                (i64::from(Day::from_unix(now).map_or(0, |d| d.0))
                    - i64::from(retention_days).max(31))
                .into(),
            ],
        ),
        stmt(
            "DELETE FROM form_spend WHERE slot < ?1",
            vec![(now / FORM_SLOT_SECS - 144).into()],
        ),
        // A rating leaves after the retention once every receiver has it (or none takes it),
        // or rejected; with forwarding off nothing is owed, so any decided one (never while its
        // case is open). The
        // public tallies keep their counts (their triggers count writes, not deletions).
        // The operator's test ratings (`zsp selftest`) leave at the first prune an hour after.
        stmt(
            "DELETE FROM ratings WHERE hold = 2 AND hold IN (1, 2) \
             AND (' ' || signals || ' ') LIKE '% selftest %' AND rated_at < ?1",
            vec![(now - 3600).into()],
        ),
        stmt(
            concat!(
                "DELETE FROM ratings WHERE rated_at < ?1 AND (hold = 2 \
                 OR ?2 = 1 AND hold IN (0, 3) AND NOT ",
                crate::pending!(),
                " AND COALESCE((SELECT MAX(d.forwarded_at) FROM deliveries d \
                   WHERE d.id = ratings.id), 0) < ?1 \
                 OR ?2 = 0 AND hold != 1 AND NOT EXISTS \
                   (SELECT 1 FROM cases WHERE cases.rating = ratings.id AND cases.closed_at IS NULL))"
            ),
            vec![keep.into(), i64::from(forwarding).into()],
        ),
    ]
}

// ---- administration ----

/// Replacing the directory: delete, then insert in chunks of JSON arrays (each well under a
/// megabyte, the platform's limit for one argument), all in one batch.
pub fn replace_directory(entries: &[Entry]) -> Vec<Stmt> {
    let mut out = vec![stmt("DELETE FROM entries", vec![])];
    for chunk in entries.chunks(500) {
        let arr: Vec<String> = chunk
            .iter()
            .map(|e| serde_json::to_string(e).expect("plain struct"))
            .collect();
        out.push(stmt(
            "INSERT INTO entries (code, json) SELECT json_extract(value, '$.code'), json(value) \
             FROM json_each(?1)",
            vec![format!("[{}]", arr.join(",")).into()],
        ));
    }
    out
}

pub(crate) fn revocation_stmt(r: &Revocation) -> Stmt {
    let (kind, reference, before) = match *r {
        Revocation::Code {
            code,
            issued_before,
        } => ("code", code.to_text(), issued_before),
        Revocation::Staff {
            staff,
            issued_before,
        } => ("staff", staff.to_text(), Some(issued_before)),
    };
    stmt(
        "INSERT INTO revocations (kind, ref, issued_before) VALUES (?1, ?2, ?3)",
        vec![
            kind.into(),
            reference.into(),
            before.map(|d| i64::from(d.0)).into(),
        ],
    )
}

pub const EXPORT_HEADER: [&str; 20] = [
    "评价编号",
    "评价时间",
    "评价次数",
    "区划代码",
    "大厅",
    "窗口",
    "窗口单位",
    "工号",
    "姓名",
    "满意度",
    "满意度代码(GB/T 39046)",
    "满意度(省级接口)",
    "评价内容代码",
    "评价内容",
    "事项编码",
    "文字评价",
    "回访电话",
    "疑似刷评",
    "已转发",
    "评价渠道",
];

/// One rating's export columns (`EXPORT_HEADER`), the phone masked unless `full_phone`.
pub fn export_cells(row: &RatingRow, full_phone: bool) -> Result<[String; 20], String> {
    let (r, e) = row.to_rating()?;
    let v = &r.rating;
    let tag_names = v
        .tags
        .iter()
        .filter_map(|c| wire::rating::tag(*c).map(|t| t.zh))
        .collect::<Vec<_>>()
        .join("；");
    let phone = match &v.phone {
        Some(p) if full_phone => p.as_str().to_owned(),
        Some(p) => p.masked(),
        None => String::new(),
    };
    let yes = |b: bool| if b { "是" } else { "否" }.to_owned();
    Ok([
        row.id.clone(),
        wire::time::format_cst(r.rated_at),
        r.assess_number.to_string(),
        e.region,
        e.hall,
        e.window,
        e.dept,
        e.staff_id.unwrap_or_default(),
        e.staff_name.unwrap_or_default(),
        v.level.label_zh().to_owned(),
        v.level.gbt39046_code().to_string(),
        v.level.provincial_code().to_string(),
        tag_list(&v.tags),
        tag_names,
        v.matter.clone().unwrap_or_default(),
        v.comment.clone(),
        phone,
        hold_label(row.hold).to_owned(),
        yes(row.forwarded != 0),
        via_label(&row.via).to_owned(),
    ])
}

/// How a rating came (the export's 评价渠道 column): a system default rating is told apart.
pub fn via_label(via: &str) -> &'static str {
    match via {
        "kiosk" => "政务大厅平板",
        v if v == crate::served::DEFAULT_VIA => "系统默认评价",
        _ => "二维码",
    }
}

/// A rating's review state in words (the export's 疑似刷评 column).
pub fn hold_label(hold: i64) -> &'static str {
    match hold {
        1 => "待复核",
        2 => "已驳回",
        3 => "已放行",
        _ => "否",
    }
}

/// The export as Excel opens it: UTF-8 with BOM, the phone masked unless `full_phone`.
pub fn export_csv(rows: &[RatingRow], full_phone: bool) -> Result<String, String> {
    let mut out = export_csv_head();
    export_csv_lines(&mut out, rows, full_phone)?;
    Ok(out)
}

/// What an export CSV starts with: Excel's BOM and the header line.
pub fn export_csv_head() -> String {
    let mut out = String::from(wire::csv::BOM);
    wire::csv::line(&mut out, &EXPORT_HEADER);
    out
}

/// Rows of an export CSV, appended to `out`.
pub fn export_csv_lines(
    out: &mut String,
    rows: &[RatingRow],
    full_phone: bool,
) -> Result<(), String> {
    for row in rows {
        let cells = export_cells(row, full_phone)?;
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        wire::csv::line(out, &refs);
    }
    Ok(())
}

/// The export as an .xlsx worksheet's XML (the codes columns as numbers).
pub fn export_sheet(rows: &[RatingRow], full_phone: bool) -> Result<String, String> {
    use wire::xlsx::Cell;
    let mut w = wire::xlsx::SheetWriter::new(&EXPORT_HEADER);
    for row in rows {
        let c = export_cells(row, full_phone)?;
        let cells: Vec<Cell> = c
            .iter()
            .enumerate()
            .map(|(i, t)| match (i, t.parse::<i64>()) {
                (2 | 10 | 11, Ok(n)) => Cell::Int(n),
                _ => Cell::Text(t),
            })
            .collect();
        w.row(&cells);
    }
    Ok(w.finish())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use wire::rating::TAG_CONTENT_VERSION;

    /// A stored 差评, amended twice.
    pub(crate) fn row() -> RatingRow {
        let entry = Entry {
            dept_code: Some("11330102MB1234567B".into()),
            ..Entry::example("A01", None)
        };
        RatingRow {
            id: Id128([1; 16]).to_text(),
            code: entry.code.to_text(),
            device: Id128([2; 16]).to_text(),
            day: 20_000,
            assess_number: 2,
            rev: 3,
            rated_at: 1_795_000_000,
            level: "very_dissatisfied".into(),
            tags: "108,115".into(),
            tag_version: i64::from(TAG_CONTENT_VERSION),
            matter: None,
            comment: "=HYPERLINK(\"http://x\")".into(),
            phone: Some("13812345678".into()),
            flagged: 1,
            via: "app".into(),
            entry: serde_json::to_string(&entry).unwrap(),
            forwarded: 0,
            hold: 3,
            signals: "rate".into(),
            first: None,
            project_no: None,
        }
    }

    #[test]
    fn export_is_excel_safe_and_masks_the_phone() {
        let csv = export_csv(&[row()], false).unwrap();
        assert!(export_csv(&[row()], true).unwrap().contains("13812345678"));
        let x = export_sheet(&[row()], false).unwrap();
        assert!(
            x.contains("<c r=\"C2\"><v>2</v></c>") && x.contains("138****5678"),
            "{x}"
        );
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("138****5678"));
        assert!(!csv.contains("13812345678"));
        assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""));
        assert!(csv.contains("非常不满意,5,1,\"108,115\""));
        assert_eq!(csv.matches("\r\n").count(), 2);
    }

    #[test]
    fn amendments_get_their_own_idempotency_key() {
        let mut r = row();
        assert_eq!(r.idempotency_key(), format!("{}.3", r.id));
        r.rev = 1;
        assert_eq!(r.idempotency_key(), r.id);
    }

    #[test]
    fn constraint_messages() {
        assert_eq!(
            conflict("Error: UNIQUE constraint failed: used_challenges.nonce: SQLITE_CONSTRAINT"),
            Some(Conflict::Replayed)
        );
        assert_eq!(
            conflict("Error: no such table: ratings: SQLITE_ERROR"),
            None
        );
    }

    #[test]
    fn lookup_rows() {
        let l = read_lookup(vec![
            LookupRow {
                kind: "entry".into(),
                reference: row().entry,
                issued_before: None,
            },
            LookupRow {
                kind: "code".into(),
                reference: row().code,
                issued_before: None,
            },
        ])
        .unwrap();
        assert!(l.entry.is_some());
        assert_eq!(l.revocations.entries.len(), 1);
        assert!(
            read_lookup(vec![LookupRow {
                kind: "entry".into(),
                reference: "{".into(),
                issued_before: None
            }])
            .is_err()
        );
    }

    /// A prune reads held and rejected ratings through their partial index, not every rating
    /// older than the hold (each such read cost 0.6 s of the object's thread at a million), and
    /// the cases whose comments it empties through theirs, not every case (6 ms at 30,103).
    #[test]
    fn a_prune_reads_held_ratings_and_kept_comments_through_their_indexes() {
        let c = crate::console::sql::tests::db();
        let read: Vec<(Stmt, &str)> = prune(2_000_000_000, 365, 7, true)
            .into_iter()
            .filter_map(|s| {
                let index = if s.sql.contains("hold = 1") || s.sql.contains("selftest") {
                    "ratings_held"
                } else if s.sql.contains("UPDATE cases SET comment") {
                    "cases_comment_kept"
                } else {
                    return None;
                };
                Some((s, index))
            })
            .collect();
        assert_eq!(read.len(), 5);
        for (s, index) in &read {
            let mut q = c.prepare(&format!("EXPLAIN QUERY PLAN {}", s.sql)).unwrap();
            let args: Vec<_> = s.args.iter().map(crate::native::bind).collect();
            let plan: Vec<String> = q
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(
                plan.iter().any(|p| p.contains(index)),
                "{}: {plan:?}",
                s.sql
            );
        }
    }
}
