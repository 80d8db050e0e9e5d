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

/// `count` copies of the one real rating over the days before it (7 s apart), across 12 halls,
/// 40 units and 800 staff, mostly satisfied; how long the writing took.
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
               r.tags, r.tag_version, r.matter, r.comment, r.phone, r.flagged, r.via, \
               json_set(r.entry, '$.hall', '大厅' || (n.i % 12), '$.dept', '单位' || (n.i % 40), '$.staff_id', 'S' || (n.i % 800)), \
               r.next_attempt_at \
             FROM n, (SELECT * FROM ratings LIMIT 1) AS r",
            numbered("id"),
            numbered("device"),
            numbered("last_submission")
        ),
        [],
    )?;
    Ok(t.elapsed())
}
