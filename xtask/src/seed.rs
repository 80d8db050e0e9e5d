//! Storage filled for the benchmarks and the tests that need volume: copies of one real rating
//! (made through the worker, so every column is as the edge writes it), written straight into
//! the storage object's SQLite file while the worker is stopped.

use anyhow::Result;
use std::time::{Duration, Instant};

/// Six base32 letters for `n.i` (SQL), to put inside a copied id: ids are 26 base32 letters
/// (16 bytes), so characters 20 to 25 carry 30 bits freely.
fn b32(shift: u32) -> String {
    format!("substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', ((n.i >> {shift}) & 31) + 1, 1)")
}

/// `col` of the real rating with its 20th to 25th letters replaced by `n.i`.
pub fn numbered(col: &str) -> String {
    let digits: Vec<String> = (0..6).rev().map(|k| b32(5 * k)).collect();
    format!(
        "substr(r.{col}, 1, 19) || {} || substr(r.{col}, 26)",
        digits.join(" || ")
    )
}

/// `count` copies of the one real rating over the days before it (7 s apart), spread over the
/// directory's codes other than the real one (as [`directory`] makes them: each copy carries its
/// code and that code's entry, so every tally is as a real roster's; with no other code, the
/// real one's), mostly satisfied, over 300
/// matters; a 差评 carries one of its level's national reasons. How long the writing took.
pub fn ratings(c: &rusqlite::Connection, count: i64) -> Result<Duration> {
    let t = Instant::now();
    c.execute_batch(
        "CREATE TEMP TABLE seed_codes (i INTEGER PRIMARY KEY, code TEXT NOT NULL, json TEXT NOT NULL); \
         INSERT INTO seed_codes (i, code, json) SELECT ROW_NUMBER() OVER (ORDER BY code) - 1, code, json \
           FROM entries WHERE code != (SELECT code FROM ratings LIMIT 1) \
             OR NOT EXISTS (SELECT 1 FROM entries WHERE code != (SELECT code FROM ratings LIMIT 1));",
    )?;
    c.execute(
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, rated_at, \
               level, tags, tag_version, matter, comment, phone, flagged, via, entry, next_attempt_at) \
             SELECT {}, m.code, {}, r.day, 1, 1, {}, r.rated_at - n.i * 7, \
               CASE WHEN n.i % 50 = 0 THEN 'dissatisfied' WHEN n.i % 97 = 0 THEN 'very_dissatisfied' \
                 WHEN n.i % 7 = 0 THEN 'basic' WHEN n.i % 3 = 0 THEN 'satisfied' ELSE 'very_satisfied' END, \
               CASE WHEN n.i % 50 = 0 THEN CAST(207 + n.i % 8 AS TEXT) WHEN n.i % 97 = 0 THEN CAST(108 + n.i % 8 AS TEXT) \
                 ELSE r.tags END, r.tag_version, '3212-QY-' || printf('%03d', n.i % 300), r.comment, r.phone, r.flagged, r.via, \
               m.json, r.next_attempt_at \
             FROM n, (SELECT * FROM ratings LIMIT 1) AS r \
             JOIN seed_codes m ON m.i = n.i % (SELECT COUNT(*) FROM seed_codes)",
            numbered("id"),
            numbered("device"),
            numbered("last_submission"),
        ),
        [],
    )?;
    c.execute_batch("DROP TABLE seed_codes")?;
    Ok(t.elapsed())
}

/// [`ratings`] without what the ratings' triggers keep beside them (the tallies, the receivers'
/// deliveries), for a test of what reads the ratings alone (the export): the triggers are set
/// aside for the writing and put back as they were, in one transaction, so that the machine's
/// time goes to what the test measures. The tallies then lack these ratings.
pub fn ratings_untallied(c: &rusqlite::Connection, count: i64) -> Result<Duration> {
    let triggers: Vec<(String, String)> = c
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ratings'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    c.execute_batch("BEGIN")?;
    for (name, _) in &triggers {
        c.execute_batch(&format!("DROP TRIGGER \"{name}\""))?;
    }
    let took = ratings(c, count)?;
    for (_, sql) in &triggers {
        c.execute_batch(sql)?;
    }
    c.execute_batch("COMMIT")?;
    Ok(took)
}

/// The halls of the seeded city: 1,625 in 7 districts, as the seed city.
pub const HALLS: i64 = 1625;
/// Its printed codes: 3,400, as the seed city prints (two or three a hall).
pub const CODES: i64 = 3400;

/// Hall `i`'s region: one in 25 at its district's own level (`3212NN`), the rest in the
/// district's 12 towns (`3212NNTTT`).
pub fn hall_region(i: i64) -> String {
    let district = format!("3212{:02}", i % 7 + 2);
    if i % 25 == 0 {
        district
    } else {
        format!("{district}{:03}", (i / 7) % 12 + 1)
    }
}

/// The seeded city's roster beside `real`: [`CODES`] staff members' codes over its [`HALLS`]
/// halls, each with a window, a unit (one of 40) and a 工号, as qr-gen makes them.
pub fn directory(real: &wire::directory::Entry) -> wire::directory::Directory {
    use wire::directory::Entry;
    use wire::qr::{CodeId, StaffRef, WindowRef};
    let mut entries = vec![real.clone()];
    for i in 0..CODES {
        let region = hall_region(i % HALLS);
        let hall = format!("大厅{:04}", i % HALLS);
        let window = format!("W{}", i / HALLS + 1);
        let staff = format!("S{i:04}");
        entries.push(Entry {
            code: CodeId {
                window: WindowRef::derive(&region, &hall, &window),
                staff: Some(StaffRef::derive(&region, &staff)),
            },
            region,
            hall,
            window,
            dept: format!("单位{:02}", i % 40),
            staff_id: Some(staff),
            staff_name: Some(format!("员工{i}")),
            ..real.clone()
        });
    }
    wire::directory::Directory::new(entries)
}
