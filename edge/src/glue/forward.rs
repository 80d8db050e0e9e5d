//! Forwarding, run by the storage object's alarm: for each receiver, claim what it is due, send
//! each rating's signed envelope in order (then, to a receiver that takes results, each 差评
//! case's result), record what happened. Receivers run side by side, so one that is down or
//! slow holds none of the others back. What is due, in which order, what is sent and what a
//! failure means are `outbox`'s rules.
//!
//! Self-hosted, a receiver is a service binding ([`binding`]), an `external` server at its URL's
//! address (workerd lets a worker reach no private address otherwise). On Cloudflare, without
//! that binding, the worker's own fetch goes to the URL.

use super::env::{self, internal_log};
use super::storage::{first_rows, run};
use crate::config::{Config, Receiver};
use crate::outbox::{self, Claimed, Outbound, Owed, Queue, ResultClaim, Sent};
use wasm_bindgen::JsValue;
use worker::*;

pub use crate::config::upstream_binding as binding;

/// How long a receiver may take to answer before the send counts as failed (and the receiver
/// backs off). The alerts run beside it, and an alarm that is still waiting for a receiver
/// delays the next one's alerts by at most this.
const SEND_TIMEOUT_MS: u64 = 5_000;

/// One round of delivery to every receiver. Returns whether more may be due at once (a claim
/// was full).
pub async fn deliver(storage: &Storage, env: &Env, cfg: &Config, now: i64) -> bool {
    let rounds = cfg
        .receivers
        .iter()
        .map(|r| round(storage, env, cfg, r, now));
    futures_util::future::join_all(rounds)
        .await
        .into_iter()
        .any(|full| full)
}

/// One receiver's round: its ratings, then (unless it went down) its cases' results, each
/// claim sent one after another, in order, until the end or until the receiver is down.
async fn round(storage: &Storage, env: &Env, cfg: &Config, r: &Receiver, now: i64) -> bool {
    let lease = now + i64::from(cfg.forward_lease_secs);
    let claim = outbox::claim(&r.name, now, lease, outbox::CLAIM_LIMIT);
    let Some((full, down)) = queue(storage, cfg, r, Queue::Ratings, claim, |c: &Claimed| {
        send(env, r, outbox::outbound(&c.row, c.acked, r, cfg, now))
    })
    .await
    else {
        return false;
    };
    if down || !r.results {
        return full;
    }
    let claim = outbox::claim_results(&r.name, now, lease, outbox::CLAIM_LIMIT);
    let results = queue(storage, cfg, r, Queue::Results, claim, |c: &ResultClaim| {
        send(env, r, outbox::result_outbound(c, r, now))
    })
    .await;
    full || results.is_some_and(|(full, _)| full)
}

/// One queue of a receiver's round: claimed, sent in order (stopping when the receiver is down),
/// recorded. Whether the claim was full and all taken, and whether the receiver went down;
/// `None` when the claim failed.
async fn queue<T, F, Fut>(
    storage: &Storage,
    cfg: &Config,
    r: &Receiver,
    which: Queue,
    claim: Vec<crate::sql::Stmt>,
    send_one: F,
) -> Option<(bool, bool)>
where
    T: crate::row::Row + Owed,
    F: Fn(&T) -> Fut,
    Fut: std::future::Future<Output = Sent>,
{
    let due: Vec<T> = match first_rows(storage, claim) {
        Ok(d) => d,
        Err(e) => {
            internal_log("claim", e);
            return None;
        }
    };
    if due.is_empty() {
        return Some((false, false));
    }
    let mut outcomes = Vec::with_capacity(due.len());
    for c in &due {
        let sent = send_one(c).await;
        let down = matches!(sent, Sent::Down(_));
        if let Sent::Refused(why) | Sent::Down(why) = &sent {
            console_warn!("forward {} to {} failed: {why}", c.id(), r.name);
        }
        outcomes.push(sent);
        if down {
            break;
        }
    }
    let taken = outcomes
        .iter()
        .filter(|o| matches!(o, Sent::Taken(_)))
        .count();
    let down = outcomes.iter().any(|o| matches!(o, Sent::Down(_)));
    if let Err(e) = run(
        storage,
        outbox::record(which, &r.name, &due, &outcomes, cfg, env::now()),
    ) {
        // The lease runs out and they are sent again: at least once.
        internal_log("record forwards", e);
    }
    console_log!(
        "forwarded {taken} of {} due to {} ({which:?})",
        due.len(),
        r.name
    );
    Some((
        due.len() as i64 == outbox::CLAIM_LIMIT && taken == due.len(),
        down,
    ))
}

/// Sends one signed request (a rating's next revision, or a case's result) to `r`.
async fn send(env: &Env, r: &Receiver, out: std::result::Result<(Outbound, i64), String>) -> Sent {
    let (out, rev) = match out {
        Ok(o) => o,
        Err(why) => return Sent::Refused(why),
    };
    let request = || -> Result<Request> {
        let headers = Headers::new();
        for (k, v) in &out.headers {
            headers.set(k, v)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(JsValue::from_str(&out.body)));
        Request::new_with_init(&r.url, &init)
    };
    let req = match request() {
        Ok(req) => req,
        Err(e) => return Sent::Refused(format!("request: {e}")),
    };
    let fetch = async {
        match env.service(&binding(&r.name)) {
            Ok(upstream) => upstream.fetch_request(req).await,
            Err(_) => Fetch::Request(req).send().await,
        }
    };
    match env::within(SEND_TIMEOUT_MS, fetch).await {
        None => Sent::Down("upstream gave no answer within 5 s".into()),
        Some(Ok(answer)) => outbox::judge(answer.status_code(), rev),
        Some(Err(e)) => Sent::Down(format!("upstream unreachable: {e}")),
    }
}
