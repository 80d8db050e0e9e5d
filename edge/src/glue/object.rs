//! The storage object: one SQLite-backed Durable Object (`Store`) that holds the directory,
//! revocations, used challenges, counters, ratings and the outbox, and the 差评 cases. It runs the
//! worker's batches, each in one transaction, and its alarm forwards ratings upstream, runs the
//! 差评 fast lane (`lane`) and prunes.
//!
//! Self-hosted, workerd keeps its database in `<data>/<uniqueKey>/<id>.sqlite`; on Cloudflare it
//! is a SQLite Durable Object. A response leaves only after its writes are on disk (the
//! runtime's output gate), so a citizen never hears "success" for a rating that a crash loses.

use super::env::{internal_log, now, settings};
use super::storage::{migrate, raw, rows, run, run_call};
use super::{forward, lane};
use crate::group;
use crate::outbox;
use std::cell::Cell;
use wasm_bindgen::prelude::*;
use worker::*;

#[durable_object(alarm)]
pub struct Store {
    state: State,
    env: Env,
    /// Why the schema could not be brought up to date; every request then fails with it.
    schema_error: Option<String>,
    /// When this instance last set the alarm (unix seconds), if it did.
    alarm_at: Cell<Option<i64>>,
    last_prune: Cell<i64>,
    /// When unrated 办件 were last looked at (`unrated`).
    last_unrated: Cell<i64>,
    /// Set until the first request: it then makes sure the alarm is set (after a restore, whose
    /// data comes without workerd's alarm table, or any start whose alarm was lost).
    unwoken: Cell<bool>,
}

impl DurableObject for Store {
    fn new(state: State, env: Env) -> Self {
        let schema_error = migrate(&state.storage()).err();
        if let Some(e) = &schema_error {
            console_error!("storage schema: {e}");
        } else if let Ok(s) = settings(&env) {
            lane::reseal(&state.storage(), &s.core.challenge_keys);
            // The receivers of the settings, each owed what it takes.
            if let Err(e) = run(&state.storage(), outbox::sync(&s.core.receivers)) {
                internal_log("receivers", e);
            }
        }
        Store {
            state,
            env,
            schema_error,
            alarm_at: Cell::new(None),
            last_prune: Cell::new(0),
            last_unrated: Cell::new(0),
            unwoken: Cell::new(true),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if let Some(e) = &self.schema_error {
            return Response::error(format!("schema: {e}"), 500);
        }
        let call = match req.text().await {
            Ok(t) => t,
            Err(e) => return Response::error(format!("call: {e}"), 400),
        };
        // Each batch its own transaction (a savepoint: a failure undoes only its statements);
        // the runtime commits them together when this turn ends, and holds the answer until
        // they are on disk. The call is run in JavaScript as it came, text in and text out.
        let storage = self.state.storage();
        let answers = match run_call(raw(&storage), &call) {
            Ok(a) => a,
            Err(e) => return Response::error(format!("call: {}", Error::from(e)), 400),
        };
        let first = self.unwoken.replace(false);
        if group::call_wakes(&call) || first {
            self.wake().await;
        }
        Response::ok(answers)
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_at.set(None);
        let storage = self.state.storage();
        let s = match settings(&self.env) {
            Ok(s) => s,
            Err(_) => {
                // The log names the setting; try again in a minute.
                self.set_alarm(now() + 60).await;
                return Response::ok("");
            }
        };
        let cfg = &s.core;
        let now_s = now();
        // 办件 left unrated first (a default rating given now is forwarded in this round), at
        // most every `EVERY_SECS`; skipped, the alarm comes back for it then (a batch may have
        // brought a new 办件).
        let unrated_wake = if now_s - self.last_unrated.get() >= crate::unrated::EVERY_SECS {
            self.last_unrated.set(now_s);
            lane::unrated(&storage, &s, now_s).map(|n| n.max(now_s + crate::unrated::EVERY_SECS))
        } else {
            Some(self.last_unrated.get() + crate::unrated::EVERY_SECS)
        };
        // Forwarding and the fast lane side by side: a 差评's alert never waits for a slow
        // upstream (each send has its own timeout).
        let forwarding = async {
            if cfg.forwarding() {
                forward::deliver(&storage, &self.env, cfg, now_s).await
            } else {
                false
            }
        };
        let alerts = lane::deliver(&storage, &self.env, &s, now_s);
        let (more, lane) = futures_util::future::join(forwarding, alerts).await;
        let now_s = now();
        if now_s - self.last_prune.get() >= outbox::PRUNE_EVERY_SECS {
            match run(
                &storage,
                crate::store::prune(
                    now_s,
                    cfg.retention_days,
                    s.rules.guard.held_days,
                    cfg.forwarding(),
                ),
            ) {
                Ok(_) => self.last_prune.set(now_s),
                Err(e) => internal_log("prune", e),
            }
        }
        let next = match rows::<outbox::Pending>(&storage, outbox::pending()) {
            Ok(p) => {
                let p = p.into_iter().next().unwrap_or_default();
                if let Some(alert) = outbox::backlog_alert(p.oldest, now_s) {
                    console_warn!("backlog: {alert}");
                }
                let due = if cfg.forwarding() { p.at } else { None };
                if more {
                    now_s
                } else {
                    let next = outbox::next_wake(now_s, due, self.last_prune.get());
                    [Some(next), lane, unrated_wake]
                        .into_iter()
                        .flatten()
                        .min()
                        .unwrap_or(next)
                }
            }
            Err(e) => {
                internal_log("outbox", e);
                now_s + 60
            }
        };
        self.set_alarm(next).await;
        Response::ok("")
    }
}

impl Store {
    /// A batch may have given the outbox work (a rating to forward, a 差评 to alert): the alarm
    /// is made due now, unless this instance already set it no later than that.
    async fn wake(&self) {
        let at = now();
        if self.alarm_at.get().is_none_or(|set| set > at) {
            self.set_alarm(at).await;
        }
    }

    async fn set_alarm(&self, at: i64) {
        // An absolute time (workers-rs reads a bare integer as an offset from now).
        let when = ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(at as f64 * 1000.0)));
        match self.state.storage().set_alarm(when).await {
            Ok(()) => self.alarm_at.set(Some(at)),
            // The rows are committed; the next batch tries again.
            Err(e) => internal_log("set alarm", e),
        }
    }
}
