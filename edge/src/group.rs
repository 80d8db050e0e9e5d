//! Group commit: the batches that reach for the storage object while a call to it is in flight
//! wait, and go together in the next call; the object runs each in its own transaction (a
//! savepoint: one batch's failure undoes only its own statements) and commits them at once. A
//! burst of submissions costs one crossing into the object and one commit, not one each, and a
//! batch that arrives when no call is in flight goes at once (nothing waits for company).
//!
//! Here are the call's format (`call_json`, each batch's answer read by `answers`) and the queue
//! that forms the groups (`Queue`); `glue::db` sends them and `glue::object` runs them (in
//! JavaScript, `glue/batch.js`, which reads the call and writes the answers).

use crate::host::{DbError, Rows};
use crate::sql::Stmt;
use serde::Deserialize;

/// A batch as JSON, written by its own request when it arrives (the sender of its group only
/// joins the texts).
pub fn batch_json(stmts: &[Stmt]) -> String {
    serde_json::to_string(stmts).expect("statements are plain values")
}

/// A call's body from its batches' JSON (`batch_json`): `{"wake":…,"batches":[…]}`, each batch
/// run in its own transaction, in order. `wake`: one of them may have given the outbox work, so
/// the object makes sure its alarm is due ([`call_wakes`]).
pub fn call_json<'a>(batches: impl IntoIterator<Item = &'a str>, wake: bool) -> String {
    let mut out = String::from("{\"wake\":");
    out.push_str(if wake { "true" } else { "false" });
    out.push_str(",\"batches\":[");
    for (i, b) in batches.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(b);
    }
    out.push_str("]}");
    out
}

/// Whether a call (`call_json`'s) asks the object to make its alarm due.
pub fn call_wakes(call: &str) -> bool {
    call.starts_with("{\"wake\":true,")
}

/// A batch's answer: its statements' rows (the JSON array of arrays the object made), or the
/// words of what undid it (SQLite's, for a constraint).
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    rows: Option<Vec<Rows>>,
    #[serde(default)]
    error: Option<String>,
}

/// Each batch's outcome from the object's answers to a call of `n` batches: its rows, or
/// `DbError::Sql` with the words of the constraint that undid it.
pub fn answers(text: &str, n: usize) -> Result<Vec<Result<Vec<Rows>, DbError>>, DbError> {
    let all: Vec<Answer> = serde_json::from_str(text)
        .map_err(|e| DbError::Runtime(format!("the storage object's answer: {e}")))?;
    if all.len() != n {
        return Err(DbError::Runtime(format!(
            "the storage object answered {} batches of {n}",
            all.len()
        )));
    }
    all.into_iter()
        .enumerate()
        .map(|(i, a)| match a {
            Answer {
                rows: Some(rows),
                error: None,
            } => Ok(Ok(rows)),
            Answer {
                rows: None,
                error: Some(e),
            } => Ok(Err(DbError::Sql(e))),
            _ => Err(DbError::Runtime(format!(
                "the storage object's answer to batch {i}: not its rows or an error alone"
            ))),
        })
        .collect()
}

// ---- forming the groups ----

/// A call in flight this long (ms) is taken for lost: its request was cancelled, say, and will
/// never come back. Waiting batches then go as if nothing were in flight. (A long call taken for
/// lost costs only grouping: the object takes the next call beside it, each with its batches.)
pub const LOST_MS: f64 = 2_000.0;
/// How often a waiting batch looks for its answer, or whether the call it waited for came back
/// (ms).
pub const POLL_MS: u64 = 1;
/// How long a batch waits for its answer before it says so (ms).
pub const GIVE_UP_MS: u64 = 10_000;

/// The batches waiting for a call, and the call in flight with when it started (a call starts
/// only when none is in flight, so there is at most one). Times are the caller's clock in ms.
#[derive(Debug)]
pub struct Queue<T> {
    next: u64,
    waiting: Vec<(u64, T)>,
    in_flight: Option<(u64, f64)>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            next: 0,
            waiting: vec![],
            in_flight: None,
        }
    }
}

impl<T> Queue<T> {
    fn ticket(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Whether a call is in flight at `now` (one taken for lost is forgotten).
    fn flying(&mut self, now: f64) -> bool {
        self.in_flight = self.in_flight.filter(|(_, at)| now - at < LOST_MS);
        self.in_flight.is_some()
    }

    /// A batch reaches for the object: it waits under the ticket returned, and calls `go` at
    /// once and then every `POLL_MS` until it has its answer.
    pub fn arrive(&mut self, t: T) -> u64 {
        let id = self.ticket();
        self.waiting.push((id, t));
        id
    }

    /// Whether the batch of ticket `id` still waits for a call (no group took it yet).
    pub fn waits(&self, id: u64) -> bool {
        self.waiting.iter().any(|(i, _)| *i == id)
    }

    /// The waiting batch of ticket `id` looks at `now`: when it still waits and no call is in
    /// flight, the `max` batches that have waited longest go as one call (its id), in flight from
    /// `now`. The batch that looked may not be among them (more waited before it): it waits on.
    pub fn go(&mut self, id: u64, now: f64, max: usize) -> Option<(u64, Vec<T>)> {
        if !self.waits(id) || self.flying(now) {
            return None;
        }
        let call = self.ticket();
        self.in_flight = Some((call, now));
        let n = max.clamp(1, self.waiting.len());
        Some((call, self.waiting.drain(..n).map(|(_, t)| t).collect()))
    }

    /// The batch of ticket `id` gives up waiting: taken out, if no call took it yet (then it is
    /// never sent); whether it was.
    pub fn leave(&mut self, id: u64) -> bool {
        let before = self.waiting.len();
        self.waiting.retain(|(i, _)| *i != id);
        self.waiting.len() < before
    }

    /// Call `call` came back (answered or failed); one taken for lost changes nothing.
    pub fn returned(&mut self, call: u64) {
        self.in_flight = self.in_flight.filter(|(c, _)| *c != call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Val, stmt};

    #[test]
    fn a_call_travels_as_json_and_back() {
        let b1 = vec![stmt(
            "SELECT ?1, ?2, ?3",
            vec![Val::Int(-(1 << 52)), "中\"文".into(), Val::Null],
        )];
        let b2 = vec![stmt("SELECT 1", vec![]), stmt("SELECT 2", vec![])];
        let text = call_json([batch_json(&b1).as_str(), &batch_json(&b2)], true);
        // What `batch.js` reads: the batches, each `[{sql, args}]`, and whether to wake.
        let read: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            read,
            serde_json::json!({"wake": true, "batches": [
                [{"sql": "SELECT ?1, ?2, ?3", "args": [-(1i64 << 52), "中\"文", null]}],
                [{"sql": "SELECT 1", "args": []}, {"sql": "SELECT 2", "args": []}],
            ]})
        );
        assert!(call_wakes(&text));
        let none = call_json([], false);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&none).unwrap(),
            serde_json::json!({"wake": false, "batches": []})
        );
        assert!(!call_wakes(&none));
    }

    #[test]
    fn each_batch_gets_its_own_answer() {
        // As `batch.js` writes them.
        let text = r#"[{"rows":[[{"a":1}],[]]},{"error":"UNIQUE constraint failed: used_challenges.nonce \"x\""},{"rows":[]}]"#;
        let got = answers(text, 3).unwrap();
        assert_eq!(got.len(), 3);
        let first = got[0].as_ref().unwrap();
        assert_eq!(
            first.iter().map(|r| r.get()).collect::<Vec<_>>(),
            [r#"[{"a":1}]"#, "[]"]
        );
        assert_eq!(
            got[1].as_ref().unwrap_err(),
            &DbError::Sql("UNIQUE constraint failed: used_challenges.nonce \"x\"".into())
        );
        assert!(got[2].as_ref().unwrap().is_empty());
        // An answer that does not fit the call is the object's failure, never a batch's rows.
        assert!(matches!(answers(text, 2), Err(DbError::Runtime(_))));
        assert!(matches!(answers("[{}]", 1), Err(DbError::Runtime(_))));
        assert!(matches!(
            answers(r#"[{"rows":[],"error":"x"}]"#, 1),
            Err(DbError::Runtime(_))
        ));
        assert!(matches!(answers("oops", 1), Err(DbError::Runtime(_))));
    }

    #[test]
    fn batches_arriving_during_a_call_go_together_in_the_next() {
        let mut q = Queue::default();
        // Nothing in flight: the first goes at once, alone.
        let a = q.arrive("a");
        let (c1, g) = q.go(a, 0.0, 64).expect("sent");
        assert_eq!(g, ["a"]);
        assert!(!q.waits(a));
        // Three arrive while it is in flight: they wait, and looking again changes nothing.
        let w: Vec<u64> = ["b", "c", "d"].iter().map(|t| q.arrive(*t)).collect();
        assert!(
            w.iter()
                .all(|id| q.go(*id, 1.0, 64).is_none() && q.waits(*id))
        );
        // It comes back: the first of them to look again sends all three.
        q.returned(c1);
        let (c2, g) = q.go(w[2], 2.0, 64).expect("sent");
        assert_eq!(g, ["b", "c", "d"]);
        // The others look again: they are in that call, and wait for their answers.
        assert!(w.iter().all(|id| !q.waits(*id)));
        assert_eq!(q.go(w[0], 2.0, 64), None);
        // One arrives during that call; the call comes back and it goes alone.
        let e = q.arrive("e");
        assert_eq!(q.go(e, 3.0, 64), None);
        q.returned(c2);
        let (c3, g) = q.go(e, 4.0, 64).expect("sent");
        assert_eq!(g, ["e"]);
        q.returned(c3);
        // A call that came back twice, or that never was, changes nothing.
        q.returned(c3);
        q.returned(999);
        let f = q.arrive("f");
        assert_eq!(q.go(f, 5.0, 64).map(|(_, g)| g), Some(vec!["f"]));
    }

    #[test]
    fn a_call_carries_at_most_max_batches_the_oldest_first() {
        let mut q = Queue::default();
        let ids: Vec<u64> = (1..=5).map(|t| q.arrive(t)).collect();
        // The last to arrive looks first: the two oldest go, and it waits on.
        let (c, g) = q.go(ids[4], 0.0, 2).expect("sent");
        assert_eq!(g, [1, 2]);
        assert!(q.waits(ids[4]));
        q.returned(c);
        let (c, g) = q.go(ids[4], 1.0, 2).expect("sent");
        assert_eq!(g, [3, 4]);
        q.returned(c);
        let (_, g) = q.go(ids[4], 2.0, 2).expect("sent");
        assert_eq!(g, [5]);
        // A max of 0 is taken as 1: a call carries at least the batch that waited longest.
        let x = q.arrive(6);
        assert_eq!(q.go(x, LOST_MS + 3.0, 0).map(|(_, g)| g), Some(vec![6]));
    }

    #[test]
    fn a_call_that_never_comes_back_stops_holding_batches() {
        let mut q = Queue::default();
        let first = q.arrive(1);
        let (lost, _) = q.go(first, 0.0, 64).expect("sent");
        // Within LOST_MS, batches wait for it.
        let w = q.arrive(2);
        assert_eq!(q.go(w, LOST_MS - 1.0, 64), None);
        // After it, the waiting one goes.
        let (c, g) = q.go(w, LOST_MS + 1.0, 64).expect("sent");
        assert_eq!(g, [2]);
        // The lost call comes back after all: the one in flight still holds arrivals.
        q.returned(lost);
        let w3 = q.arrive(3);
        assert_eq!(q.go(w3, LOST_MS + 2.0, 64), None);
        q.returned(c);
        assert_eq!(q.go(w3, LOST_MS + 3.0, 64).map(|(_, g)| g), Some(vec![3]));
        // One that gives up while it waits is never sent; one already sent cannot leave.
        let w4 = q.arrive(4);
        let w5 = q.arrive(5);
        assert!(q.leave(w4));
        assert!(!q.waits(w4) && q.waits(w5));
        assert!(!q.leave(w3));
        assert_eq!(
            q.go(w5, 2.0 * LOST_MS + 4.0, 64).map(|(_, g)| g),
            Some(vec![5])
        );
    }
}
