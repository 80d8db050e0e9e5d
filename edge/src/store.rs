//! What the edge keeps in its Durable Object's SQLite, as SQL text and plain rows. The worker
//! sends these to the object, which runs each batch in one transaction (`glue::object`); every
//! rule that storage enforces (single use, 一次一评, bursts, the form budget) is a constraint
//! or an upsert here, never a read-then-write. The schema is `migrations/` (see `schema`).

use crate::config::Config;
use crate::submit::Checked;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use wire::directory::Entry;
use wire::qr::{CodeId, Revocation, StaffRef};
use wire::rating::{Id128, Level, Phone, Rating, ValidRating};
use wire::time::Day;

/// A bound value. Integers travel as JavaScript numbers (exact to 2^53).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Val {
    Int(i64),
    Text(String),
    Null,
}

/// Read by the JSON value's own type. (serde's `untagged` would try each variant in turn and
/// format an error message for every string that is not an integer: a tenth of the storage
/// object's time per batch.)
impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Val, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Val;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer, a string or null")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Val, E> {
                Ok(Val::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Val, E> {
                i64::try_from(v)
                    .map(Val::Int)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_str<E>(self, v: &str) -> Result<Val, E> {
                Ok(Val::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Val, E> {
                Ok(Val::Text(v))
            }
            fn visit_unit<E>(self) -> Result<Val, E> {
                Ok(Val::Null)
            }
            fn visit_none<E>(self) -> Result<Val, E> {
                Ok(Val::Null)
            }
        }
        d.deserialize_any(V)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// One statement and its arguments, as the worker sends it to the storage object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stmt {
    pub sql: Cow<'static, str>,
    pub args: Vec<Val>,
}

pub(crate) fn stmt(sql: impl Into<Cow<'static, str>>, args: Vec<Val>) -> Stmt {
    Stmt {
        sql: sql.into(),
        args,
    }
}

/// What the worker asks of the storage object: statements run in one transaction, their rows
/// returned in order. `wake`: the batch may have given the outbox work, so the object makes sure
/// its alarm is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub stmts: Vec<Stmt>,
    #[serde(default)]
    pub wake: bool,
}

// ---- landing and lookup ----

/// Rows: first the entry (`kind` = 'entry', `ref` = its JSON), then revocations naming the code
/// or its staff member. One round trip.
pub const LOOKUP: &str = "SELECT 'entry' AS kind, json AS ref, NULL AS issued_before FROM entries WHERE code = ?1 \
     UNION ALL SELECT kind, ref, issued_before FROM revocations WHERE ref = ?1 OR ref = ?2";

pub fn lookup(code: CodeId) -> Stmt {
    let staff = code.staff.map(StaffRef::to_text).unwrap_or_default();
    stmt(LOOKUP, vec![code.to_text().into(), staff.into()])
}

#[derive(Debug, Clone, Deserialize)]
pub struct LookupRow {
    pub kind: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub issued_before: Option<i64>,
}

/// Turns LOOKUP's rows into what `submit::entry_for` needs. A stored entry that no longer parses
/// counts as missing (the adapter logs it).
pub fn read_lookup(rows: Vec<LookupRow>) -> Result<crate::submit::Lookup, String> {
    let mut out = crate::submit::Lookup::default();
    for r in rows {
        let day = r.issued_before.and_then(|d| u16::try_from(d).ok()).map(Day);
        match r.kind.as_str() {
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
    /// The form path's budget for this code is spent.
    Budget,
}

pub fn conflict(message: &str) -> Option<Conflict> {
    if message.contains("used_challenges") {
        Some(Conflict::Replayed)
    } else if message.contains("form_budget_spent") {
        Some(Conflict::Budget)
    } else {
        None
    }
}

const USE_CHALLENGE: &str = "INSERT INTO used_challenges (nonce, expires_at) VALUES (?1, ?2)";
const SPEND_FORM_BUDGET: &str = "INSERT INTO form_budget (code, slot, n) VALUES (?1, ?2, 1) \
     ON CONFLICT (code, slot) DO UPDATE SET n = n + 1";
const COUNT_BURST: &str = "INSERT INTO bursts (code, minute, n) VALUES (?1, ?2, 1) \
     ON CONFLICT (code, minute) DO UPDATE SET n = n + 1";
const UPSERT_RATING: &str = "INSERT INTO ratings (id, code, device, day, assess_number, rev, \
     last_submission, rated_at, level, tags, tag_version, matter, comment, phone, flagged, via, \
     entry, next_attempt_at) VALUES (?1, ?2, ?3, ?4, 1, 1, ?1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
     COALESCE((SELECT n FROM bursts WHERE code = ?2 AND minute = ?12), 0) > ?13, ?14, ?15, ?16) \
     ON CONFLICT (code, device, day) DO UPDATE SET assess_number = 2, rev = rev + 1, \
     last_submission = excluded.last_submission, rated_at = excluded.rated_at, \
     level = excluded.level, tags = excluded.tags, tag_version = excluded.tag_version, \
     matter = excluded.matter, comment = excluded.comment, phone = excluded.phone, \
     flagged = MAX(flagged, excluded.flagged), via = excluded.via, entry = excluded.entry, \
     attempts = 0, next_attempt_at = excluded.next_attempt_at, last_error = NULL \
     RETURNING id, assess_number, rev, flagged";

/// The form budget's window.
pub const FORM_SLOT_SECS: i64 = 600;

/// One batch (a transaction): use the challenge, spend the budget (form path), count the burst,
/// then insert or amend the rating, due for forwarding at once, and open or amend its 差评 case
/// (`fastlane::open_case`). Any constraint failure undoes all of it. Returns the statements and
/// the index of the upsert, whose row ([`Accepted`]) is the answer.
pub fn accept(c: &Checked, cfg: &Config, receipt: Option<&str>) -> (Vec<Stmt>, usize) {
    let code = c.payload.code.to_text();
    let minute = c.now / 60;
    let mut out = vec![stmt(
        USE_CHALLENGE,
        vec![
            wire::key::hex(&c.challenge.nonce).into(),
            (c.challenge.issued_at as i64 + cfg.policy.max_age_secs as i64).into(),
        ],
    )];
    if c.via == crate::submit::Via::Form {
        out.push(stmt(
            SPEND_FORM_BUDGET,
            vec![code.clone().into(), (c.now / FORM_SLOT_SECS).into()],
        ));
    }
    out.push(stmt(COUNT_BURST, vec![code.clone().into(), minute.into()]));
    let r = &c.rating;
    let tags = tag_list(&r.tags);
    out.push(stmt(
        UPSERT_RATING,
        vec![
            c.submission.to_text().into(),
            code.into(),
            c.device.to_text().into(),
            i64::from(c.day.0).into(),
            c.now.into(),
            r.level.as_str().into(),
            tags.into(),
            i64::from(r.tag_version).into(),
            r.matter.clone().into(),
            r.comment.clone().into(),
            r.phone.as_ref().map(|p| p.as_str().to_owned()).into(),
            minute.into(),
            i64::from(cfg.burst_per_minute).into(),
            c.via.as_str().into(),
            serde_json::to_string(&c.entry)
                .expect("plain struct")
                .into(),
            // Due at once: the object's alarm forwards it (an amendment is due again).
            c.now.into(),
        ],
    ));
    let upsert = out.len() - 1;
    let (code, device, day) = (
        c.payload.code.to_text(),
        c.device.to_text(),
        i64::from(c.day.0),
    );
    let bad = c.rating.level.is_bad();
    out.extend(crate::fastlane::open_case(&code, &device, day, c.now, bad));
    if let Some(token) = receipt {
        out.push(crate::receipt::add(token, &code, &device, day, c.now));
    }
    (out, upsert)
}

/// What the upsert returns.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Accepted {
    pub id: String,
    pub assess_number: i64,
    pub rev: i64,
    pub flagged: i64,
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
pub fn accepted_json(
    a: &Accepted,
    level: Level,
    phone: bool,
    day: Day,
    receipt: Option<&str>,
) -> String {
    wire::page::Accepted {
        id: &a.id,
        assess_number: a.assess_number.clamp(1, 2) as u8,
        bad: level.is_bad(),
        callback: phone,
        day,
        receipt,
    }
    .to_json()
}

// ---- ratings ----

#[derive(Debug, Clone, Deserialize)]
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
    pub forwarded_rev: i64,
    pub forwarded_at: Option<i64>,
    pub attempts: i64,
}

/// Every `RatingRow` column, for a `SELECT` or a `RETURNING`.
macro_rules! rating_columns {
    () => {
        "id, code, device, day, assess_number, rev, rated_at, level, tags, tag_version, \
         matter, comment, phone, flagged, via, entry, forwarded_rev, forwarded_at, attempts"
    };
}
pub(crate) use rating_columns;

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
            },
            entry,
        ))
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

// ---- status and retention ----

pub fn status() -> Stmt {
    stmt(STATUS, vec![])
}

const STATUS: &str = "SELECT \
     (SELECT COUNT(*) FROM ratings WHERE forwarded_rev < rev) AS backlog, \
     (SELECT MIN(rated_at) FROM ratings WHERE forwarded_rev < rev) AS oldest_pending, \
     (SELECT COUNT(*) FROM ratings) AS stored, \
     (SELECT COUNT(*) FROM ratings WHERE flagged = 1) AS flagged, \
     (SELECT COUNT(*) FROM entries) AS codes";

#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    pub backlog: i64,
    pub oldest_pending: Option<i64>,
    pub stored: i64,
    pub flagged: i64,
    pub codes: i64,
}

/// What `/status` tells an administrator. `alert` says when the backlog has stalled.
pub fn status_json(s: &Status, cfg: &Config, now: i64) -> String {
    serde_json::json!({
        "ok": true,
        "forwarding": if cfg.forwarding() { "on" } else { "off (UPSTREAM_URL unset: ratings stay in storage)" },
        "backlog": s.backlog,
        "oldest_pending_age_secs": s.oldest_pending.map(|t| (now - t).max(0)),
        "alert": crate::outbox::backlog_alert(s.oldest_pending, now),
        "stored": s.stored,
        "flagged": s.flagged,
        "codes": s.codes,
    })
    .to_string()
}

/// Retention (PIPL art. 19): used challenges after they expire, counters after a day, and
/// forwarded ratings after `retention_days`. Unforwarded ratings are never pruned.
pub fn prune(now: i64, cfg: &Config) -> Vec<Stmt> {
    let keep = now - i64::from(cfg.retention_days) * 86_400;
    vec![
        crate::receipt::prune(now, i64::from(cfg.retention_days) * 86_400),
        stmt(
            "DELETE FROM used_challenges WHERE expires_at < ?1",
            vec![now.into()],
        ),
        stmt(
            "DELETE FROM bursts WHERE minute < ?1",
            vec![(now / 60 - 1440).into()],
        ),
        stmt(
            "DELETE FROM form_budget WHERE slot < ?1",
            vec![(now / FORM_SLOT_SECS - 144).into()],
        ),
        stmt(
            "DELETE FROM ratings WHERE forwarded_rev >= rev AND forwarded_at < ?1",
            vec![keep.into()],
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

pub const EXPORT_HEADER: [&str; 19] = [
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
    "待复核",
    "已转发",
];

/// One rating's export columns (`EXPORT_HEADER`), the phone masked unless `full_phone`.
pub fn export_cells(row: &RatingRow, full_phone: bool) -> Result<[String; 19], String> {
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
        yes(r.flagged),
        yes(row.forwarded_rev >= row.rev),
    ])
}

/// The export as Excel opens it: UTF-8 with BOM, the phone masked unless `full_phone`.
pub fn export_csv(rows: &[RatingRow], full_phone: bool) -> Result<String, String> {
    let mut out = String::from(wire::csv::BOM);
    wire::csv::line(&mut out, &EXPORT_HEADER);
    for row in rows {
        let cells = export_cells(row, full_phone)?;
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        wire::csv::line(&mut out, &refs);
    }
    Ok(out)
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

    /// A stored 差评, amended twice, its first revision forwarded.
    pub(crate) fn row() -> RatingRow {
        let entry = Entry::example("A01", None);
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
            forwarded_rev: 1,
            forwarded_at: None,
            attempts: 0,
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
    fn batches_travel_as_json_and_back() {
        let b = Batch {
            stmts: vec![stmt(
                "SELECT ?1, ?2, ?3",
                vec![Val::Int(-(1 << 52)), "中\"文".into(), Val::Null],
            )],
            wake: true,
        };
        let text = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Batch>(&text).unwrap(), b);
        assert!(serde_json::from_str::<Batch>(r#"{"stmts":[{"sql":"x","args":[1.5]}]}"#).is_err());
    }

    #[test]
    fn constraint_messages() {
        assert_eq!(
            conflict("Error: UNIQUE constraint failed: used_challenges.nonce: SQLITE_CONSTRAINT"),
            Some(Conflict::Replayed)
        );
        assert_eq!(
            conflict("Error: CHECK constraint failed: form_budget_spent: SQLITE_CONSTRAINT"),
            Some(Conflict::Budget)
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
}
