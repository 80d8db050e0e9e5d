//! Forwarding, run by the storage object's alarm: claim what is due, send each rating's signed
//! envelope upstream, record what happened. What is due and what is sent are `outbox`'s rules.
//!
//! Self-hosted, the upstream is the `UPSTREAM` service binding, an `external` server at the
//! address of `UPSTREAM_URL` (workerd lets a worker reach no private address otherwise). On
//! Cloudflare, without that binding, the worker's own fetch goes to `UPSTREAM_URL`.

use super::env::{self, internal_log};
use super::storage::{rows, run};
use crate::config::Config;
use crate::outbox;
use crate::store::RatingRow;
use wasm_bindgen::JsValue;
use worker::*;

pub const UPSTREAM_BINDING: &str = "UPSTREAM";

/// How long the upstream may take to answer before the send counts as failed (and is retried
/// with the outbox's backoff). The alerts run beside it, and an alarm that is still waiting for
/// the upstream delays the next one's alerts by at most this.
const SEND_TIMEOUT_MS: u64 = 5_000;

/// One round of delivery. Returns whether more may be due at once (the claim was full).
pub async fn deliver(storage: &Storage, env: &Env, cfg: &Config, now: i64) -> bool {
    let lease = now + i64::from(cfg.forward_lease_secs);
    let due: Vec<RatingRow> =
        match rows(storage, outbox::claim_due(now, lease, outbox::CLAIM_LIMIT)) {
            Ok(d) => d,
            Err(e) => {
                internal_log("claim", e);
                return false;
            }
        };
    let sends = due.iter().map(|row| send(env, cfg, row, now));
    let results = futures_util::future::join_all(sends).await;
    let at = env::now();
    let mut failed = 0;
    let records = due
        .iter()
        .zip(results)
        .map(|(row, r)| {
            if let Err(why) = &r {
                failed += 1;
                console_warn!("forward {} failed: {why}", row.id);
            }
            outbox::record(row, cfg, at, r)
        })
        .collect();
    if let Err(e) = run(storage, records) {
        // The lease runs out and they are sent again: at least once.
        internal_log("record forwards", e);
    }
    if !due.is_empty() {
        console_log!("forwarded {} of {} due", due.len() - failed, due.len());
    }
    due.len() as i64 == outbox::CLAIM_LIMIT
}

/// Sends one rating's next revision; `Ok` (with that revision) only on a 2xx answer.
async fn send(
    env: &Env,
    cfg: &Config,
    row: &RatingRow,
    now: i64,
) -> std::result::Result<i64, String> {
    let url = cfg.upstream_url.as_deref().ok_or("UPSTREAM_URL unset")?;
    let (out, rev) = outbox::outbound(row, cfg, now)?;
    let request = || -> Result<Request> {
        let headers = Headers::new();
        for (k, v) in &out.headers {
            headers.set(k, v)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(JsValue::from_str(&out.body)));
        Request::new_with_init(url, &init)
    };
    let req = request().map_err(|e| format!("request: {e}"))?;
    let fetch = async {
        match env.service(UPSTREAM_BINDING) {
            Ok(upstream) => upstream.fetch_request(req).await,
            Err(_) => Fetch::Request(req).send().await,
        }
    };
    let Some(answer) = env::within(SEND_TIMEOUT_MS, fetch).await else {
        return Err("upstream gave no answer within 5 s".into());
    };
    match answer {
        Ok(r) if (200..300).contains(&r.status_code()) => Ok(rev),
        Ok(r) => Err(format!("upstream status {}", r.status_code())),
        Err(e) => Err(format!("upstream unreachable: {e}")),
    }
}
