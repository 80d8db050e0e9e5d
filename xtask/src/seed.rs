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

/// `count` copies of the one real rating over the days before it (7 s apart), across the
/// [`HALLS`] halls of [`hall_region`] (a city of 7 districts), 40 units, 800 staff and 300
/// matters, mostly satisfied; a 差评 carries one of its level's national reasons. How long the
/// writing took.
pub fn ratings(c: &rusqlite::Connection, count: i64) -> Result<Duration> {
    let t = Instant::now();
    c.execute(
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, rated_at, \
               level, tags, tag_version, matter, comment, phone, flagged, via, entry, next_attempt_at) \
             SELECT {}, r.code, {}, r.day, 1, 1, {}, r.rated_at - n.i * 7, \
               CASE WHEN n.i % 50 = 0 THEN 'dissatisfied' WHEN n.i % 97 = 0 THEN 'very_dissatisfied' \
                 WHEN n.i % 7 = 0 THEN 'basic' WHEN n.i % 3 = 0 THEN 'satisfied' ELSE 'very_satisfied' END, \
               CASE WHEN n.i % 50 = 0 THEN CAST(207 + n.i % 8 AS TEXT) WHEN n.i % 97 = 0 THEN CAST(108 + n.i % 8 AS TEXT) \
                 ELSE r.tags END, r.tag_version, '3212-QY-' || printf('%03d', n.i % 300), r.comment, r.phone, r.flagged, r.via, \
               json_set(r.entry, '$.hall', printf('大厅%04d', n.i % {HALLS}), '$.region', {region}, \
                 '$.dept', '单位' || (n.i % 40), '$.staff_id', 'S' || (n.i % 800)), \
               r.next_attempt_at \
             FROM n, (SELECT * FROM ratings LIMIT 1) AS r",
            numbered("id"),
            numbered("device"),
            numbered("last_submission"),
            region = region_sql("(n.i % 1625)"),
        ),
        [],
    )?;
    Ok(t.elapsed())
}

/// The halls the copies spread over: a city of 1,625 halls in 7 districts, as the seed city.
pub const HALLS: i64 = 1625;

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

/// [`hall_region`] in SQL, of the expression `i`.
fn region_sql(i: &str) -> String {
    format!(
        "CASE WHEN {i} % 25 = 0 THEN '3212' || printf('%02d', {i} % 7 + 2) \
         ELSE '3212' || printf('%02d', {i} % 7 + 2) || printf('%03d', ({i} / 7) % 12 + 1) END"
    )
}
