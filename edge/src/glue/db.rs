//! The worker's handle on the storage object, with group commit (`crate::group`): a batch that
//! finds no call to the object in flight goes at once; one that finds a call in flight waits, and
//! every batch that waited goes in the next call, sent by the first of them to see that no call
//! is in flight any more. The object runs each batch in its own transaction and commits them
//! together; a constraint that fails comes back to its own batch as `DbError::Sql` with SQLite's
//! words, for `store::conflict` to read.
//!
//! Requests share only plain memory (the queue, each batch's answer): a group's sender leaves the
//! others' answers there, and each waiting request looks on its own timer. No request resolves
//! another's promise: one whose client left is gone with its timers, and whatever it would have
//! run would have run as another request, with that one's I/O (workerd refuses that: "Cannot
//! perform I/O on behalf of a different request").

use super::env::{isolate, settings};
use crate::group::{self, Queue};
use crate::host::{DbError, Rows};
use crate::sql::Stmt;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;
use worker::*;

/// The binding's name in the worker's config, and the one object's name (see ARCHITECTURE.md,
/// "One storage object").
pub const BINDING: &str = "STORE";
pub const OBJECT_NAME: &str = "main";

/// The storage object's stub, opened on the first batch: a request that needs no storage (a
/// file, a landing page whose code this isolate looked up a moment ago) never opens it.
/// It holds its own handle on the environment (a reference to the runtime's object), so a
/// streamed answer can keep asking after the handler has returned.
pub struct Db {
    env: Env,
    stub: std::cell::OnceCell<std::result::Result<Stub, String>>,
}

/// A batch on its way: its statements as JSON, and where its answer goes (its own request
/// reads it there).
struct Member {
    json: String,
    wake: bool,
    answer: RefCell<Option<std::result::Result<Vec<Rows>, DbError>>>,
}

thread_local! {
    /// This isolate's batches waiting for a call, and its calls in flight.
    static QUEUE: RefCell<Queue<Rc<Member>>> = RefCell::new(Queue::default());
}

impl Db {
    pub fn new(env: &Env) -> Db {
        Db {
            env: env.clone(),
            stub: std::cell::OnceCell::new(),
        }
    }

    /// The one storage object of this deployment.
    fn stub(&self) -> std::result::Result<&Stub, DbError> {
        self.stub
            .get_or_init(|| {
                self.env
                    .durable_object(BINDING)
                    .and_then(|ns| ns.id_from_name(OBJECT_NAME)?.get_stub())
                    .map_err(|e| format!("binding {BINDING}: {e}"))
            })
            .as_ref()
            .map_err(|e| DbError::Runtime(e.clone()))
    }

    /// Sends a group as call `call` and leaves each member its answer.
    async fn send(&self, call: u64, group: Vec<Rc<Member>>) {
        let wake = group.iter().any(|m| m.wake);
        let body = group::call_json(group.iter().map(|m| m.json.as_str()), wake);
        let answers = self.call(body, group.len()).await;
        isolate().with(|c: &mut crate::metrics::Counters| c.call(group.len()));
        match answers {
            Ok(all) => {
                for (m, a) in group.iter().zip(all) {
                    *m.answer.borrow_mut() = Some(a);
                }
            }
            Err(e) => {
                for m in &group {
                    *m.answer.borrow_mut() = Some(Err(e.clone()));
                }
            }
        }
        QUEUE.with(|q| q.borrow_mut().returned(call));
    }

    /// One call: the object's answer to each of its `n` batches.
    async fn call(
        &self,
        body: String,
        n: usize,
    ) -> std::result::Result<Vec<std::result::Result<Vec<Rows>, DbError>>, DbError> {
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(JsValue::from_str(&body)));
        let req = Request::new_with_init("http://store/batch", &init)
            .map_err(|e| DbError::Runtime(e.to_string()))?;
        let r = self
            .stub()?
            .fetch_with_request(req)
            .await
            .map_err(|e| DbError::Runtime(e.to_string()))?;
        let status = r.status_code();
        // The body in one call (workers-rs' `text` reads a response chunk by chunk through a
        // stream reader: a tenth of a submission's time).
        let raw: web_sys::Response = r.into();
        let text = match raw.text() {
            Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_string()),
            Err(_) => None,
        }
        .ok_or_else(|| DbError::Runtime("reading the storage object's answer".into()))?;
        match status {
            200 => group::answers(&text, n),
            s => Err(DbError::Runtime(format!("{s}: {text}"))),
        }
    }
}

impl crate::host::Db for Db {
    async fn batch(&self, stmts: Vec<Stmt>, wake: bool) -> std::result::Result<Vec<Rows>, DbError> {
        let me = Rc::new(Member {
            json: group::batch_json(&stmts),
            wake,
            answer: RefCell::new(None),
        });
        // The setting's bound on a call (1: no grouping, each batch its own call, at once).
        let max = settings(&self.env).map_or(64, |s| s.core.storage_group) as usize;
        if max <= 1 {
            let answers = self
                .call(group::call_json([me.json.as_str()], wake), 1)
                .await;
            isolate().with(|c: &mut crate::metrics::Counters| c.call(1));
            return answers.and_then(|mut a| a.pop().unwrap_or_else(|| Ok(vec![])));
        }
        let arrived = js_sys::Date::now();
        let ticket = QUEUE.with(|q| q.borrow_mut().arrive(me.clone()));
        // It looks at once and then every `POLL_MS`, on its own timer: no other request ever
        // wakes it (a request may be gone, and what it would run then would run as another's).
        loop {
            if let Some(answer) = me.answer.borrow_mut().take() {
                return answer;
            }
            let now = js_sys::Date::now();
            // No call in flight: what waited longest goes (this batch, and those before it).
            let group = QUEUE.with(|q| q.borrow_mut().go(ticket, now, max));
            if let Some((call, group)) = group {
                self.send(call, group).await;
                continue;
            }
            if now - arrived >= group::GIVE_UP_MS as f64 {
                // Never sent now, if no call took it yet; else its outcome is unknown, as when
                // an answer is lost (a submission's retry learns it: `Conflict::Replayed`).
                let sent = !QUEUE.with(|q| q.borrow_mut().leave(ticket));
                return Err(DbError::Runtime(format!(
                    "no answer from the storage object after {} s ({})",
                    group::GIVE_UP_MS / 1000,
                    if sent {
                        "sent in a group"
                    } else {
                        "never sent"
                    }
                )));
            }
            Delay::from(std::time::Duration::from_millis(group::POLL_MS)).await;
        }
    }
}
