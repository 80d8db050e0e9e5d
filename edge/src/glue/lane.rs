//! The 差评 fast lane on the storage object's alarm: `fastlane::tick` over the object's own SQL,
//! then each message sent to its route and the outcome recorded (`fastlane::record`).
//!
//! Self-hosted, routes are reached through the `ALERTS` binding, a network service that allows
//! only the categories the operator set (`ZSP_ALERT_NETWORKS`); on Cloudflare, the worker's own
//! fetch.

use super::env::{self, internal_log};
use super::storage::run;
use crate::fastlane::{self, Message, Sql};
use crate::sql::Stmt;
use wasm_bindgen::JsValue;
use worker::*;

pub const ALERTS_BINDING: &str = "ALERTS";

/// How long a route may take to answer before the send counts as failed (and is retried).
const SEND_TIMEOUT_MS: u64 = 10_000;

struct ObjectSql<'a>(&'a Storage);

impl Sql for ObjectSql<'_> {
    fn query(&self, s: Stmt) -> std::result::Result<String, String> {
        let json = run(self.0, vec![s])?;
        let all: Vec<crate::host::Rows> = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        Ok(crate::host::text(all.last()).to_owned())
    }
    fn exec(&self, s: Vec<Stmt>) -> std::result::Result<(), String> {
        run(self.0, s).map(|_| ())
    }
}

/// At the object's start: the routes' secrets sealed under the current challenge key (those
/// stored in clear by an older release, or under a key since rotated).
pub fn reseal(storage: &Storage, ring: &wire::key::Keyring) {
    match fastlane::reseal(&ObjectSql(storage), ring) {
        Ok(0) => {}
        Ok(n) => console_log!("alert routes: {n} sealed under the current CHALLENGE_KEYS key"),
        Err(e) => internal_log("alert routes reseal", e),
    }
}

/// One round: open, remind, send. Returns when the lane wants the alarm back.
pub async fn deliver(
    storage: &Storage,
    env: &Env,
    s: &crate::routes::Settings,
    now: i64,
) -> Option<i64> {
    let lane = &s.lane;
    let db = ObjectSql(storage);
    let now_ms = js_sys::Date::now() as i64;
    let messages = match fastlane::tick(&db, lane, &s.core.challenge_keys, now, now_ms) {
        Ok(m) => m,
        Err(e) => {
            internal_log("fast lane", e);
            return Some(now + 60);
        }
    };
    let mut messages = messages;
    match crate::unrated::messages(
        &db,
        &s.core.challenge_keys,
        s.core.public_url.as_deref(),
        now,
    ) {
        Ok(m) => messages.extend(m),
        Err(e) => internal_log("invitations", e),
    }
    let digest_wake = match crate::analysis::queue(&db, lane, now) {
        Ok(w) => w,
        Err(e) => {
            internal_log("weekly digest", e);
            Some(now + 60)
        }
    };
    let busy: Vec<i64> = messages.iter().map(|m| m.route).collect();
    match crate::analysis::messages(&db, &s.core.challenge_keys, &busy, now, now_ms) {
        Ok(m) => messages.extend(m),
        Err(e) => internal_log("weekly digest", e),
    }
    let sends = messages.iter().map(|m| send(env, m));
    let results = futures_util::future::join_all(sends).await;
    let at = env::now();
    let mut records = vec![];
    for (m, r) in messages.iter().zip(results) {
        match &r {
            Ok(()) => console_log!(
                "alert: route {} took {} message(s) ({})",
                m.route,
                m.alerts.len(),
                m.kind
            ),
            // The route's address is a secret: its number only.
            Err(why) => console_warn!("alert: route {} failed: {why}", m.route),
        }
        records.extend(fastlane::record(m, r, at));
    }
    if !records.is_empty()
        && let Err(e) = run(storage, records)
    {
        internal_log("record alerts", e);
    }
    let lane_wake = match fastlane::next_wake(&db, lane, env::now()) {
        Ok(n) => n,
        Err(e) => {
            internal_log("fast lane", e);
            Some(now + 60)
        }
    };
    [lane_wake, digest_wake].into_iter().flatten().min()
}

/// 办件 left unrated: invitations queued and defaults given (`unrated::tick`). Returns when the
/// next falls due.
pub fn unrated(storage: &Storage, s: &crate::routes::Settings, now: i64) -> Option<i64> {
    match crate::unrated::tick(&ObjectSql(storage), &s.served, s.lane.hours, now) {
        Ok(next) => next,
        Err(e) => {
            internal_log("unrated 办件", e);
            Some(now + 60)
        }
    }
}

async fn send(env: &Env, m: &Message) -> std::result::Result<(), String> {
    let headers = Headers::new();
    let request = || -> Result<Request> {
        headers.set(
            "Content-Type",
            if m.kind == "dingtalk" {
                "application/json; charset=utf-8"
            } else {
                "application/json"
            },
        )?;
        for (k, v) in &m.headers {
            headers.set(k, v)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers.clone())
            .with_body(Some(JsValue::from_str(&m.body)));
        Request::new_with_init(&m.url, &init)
    };
    let req = request().map_err(|e| format!("request: {e}"))?;
    let fetch = async {
        match env.service(ALERTS_BINDING) {
            Ok(net) => net.fetch_request(req).await,
            Err(_) => Fetch::Request(req).send().await,
        }
    };
    let Some(answer) = env::within(SEND_TIMEOUT_MS, fetch).await else {
        return Err("no answer within 10 s".into());
    };
    match answer {
        Ok(mut r) => {
            let status = r.status_code();
            // Only a robot's success is read (for its errcode); no other answer is kept.
            let body = if (200..300).contains(&status) && m.kind != "webhook" {
                r.text().await.unwrap_or_default()
            } else {
                String::new()
            };
            fastlane::accepted(&m.kind, status, &body)
        }
        Err(e) => Err(format!("unreachable: {e}")),
    }
}
