//! What the operator's monitoring and scripts read and run: `/status` (for anyone that the edge
//! answers; with a city-wide bearer, the outbox's figures), `/metrics` (Prometheus' text, the
//! operator's), and retention on demand (`POST /admin/prune`).

use crate::access::{self, Actor, Scope};
use crate::config::Config;
use crate::host::{self, Host};
use crate::http::{Answer, Request, Response};
use crate::metrics::{self, Counters};
use crate::outbox::{self, Status};

async fn figures(
    h: &impl Host,
) -> Result<(Status, Vec<outbox::ReceiverStatus>), crate::error::ApiError> {
    let mut res = host::run(h, outbox::status(), false).await?;
    let receivers: Vec<outbox::ReceiverStatus> = host::typed(h, res.pop())?;
    let s: Vec<Status> = host::typed(h, res.pop())?;
    let s = s
        .into_iter()
        .next()
        .ok_or_else(|| host::internal(h, "status", "no row"))?;
    Ok((s, receivers))
}

/// Whether an actor sees the whole deployment: the operator, or a city-wide 市级管理员 token.
pub fn city_wide(me: &Actor) -> bool {
    me.role == access::Role::City && me.scope == Scope::All
}

/// `GET /status`.
pub async fn status(h: &impl Host, cfg: &Config, req: &Request) -> Answer {
    // `receivers` holds those of the settings (`outbox::sync`, at the object's start).
    let client = crate::guard::client_of(cfg, req, h.now());
    let me = access::bearer(h, cfg.admin_token.as_deref(), client.as_deref(), req).await;
    if !me.as_ref().is_ok_and(city_wide) {
        return Ok(Response::json(
            200,
            serde_json::json!({"ok": true}).to_string(),
        ));
    }
    let (s, receivers) = figures(h).await?;
    Ok(Response::json(
        200,
        outbox::status_json(&s, &receivers, h.now()),
    ))
}

/// `GET /metrics`: this isolate's counters (and the citizen's worker's, [`metrics::CITIZENS_HEADER`])
/// and the outbox's figures.
pub async fn prometheus(h: &impl Host, cfg: &Config, req: &Request) -> Answer {
    let (s, receivers) = figures(h).await?;
    let now = h.now();
    let spend: Option<access::HashSpend> = host::rows(h, access::hash_spend(now)).await?.pop();
    let spend = spend.unwrap_or(access::HashSpend { peak: 0, total: 0 });
    // 评价率 of this month, city-wide: over the codes that have served figures.
    let month = crate::period::Period::current(now);
    let codes: Vec<crate::served::CodeRate> = host::rows(
        h,
        crate::served::code_rates(&access::Scope::All, None, &month.months),
    )
    .await?;
    let rate = crate::served::Rate::of(&codes);
    let gauges: [metrics::Gauge; 13] = [
        (
            "zsp_served_this_month",
            "办件 served this month (links minted, tablets armed, queue systems' reports): 评价率's denominator.",
            rate.served,
        ),
        (
            "zsp_rated_where_served_this_month",
            "Ratings given by citizens this month at the codes that have served figures (主动评价率 = this ÷ zsp_served_this_month).",
            rate.rated,
        ),
        (
            "zsp_served_never_rated_this_month",
            "办件 with a 办件号 served this month and never rated (by a citizen or by default).",
            rate.never,
        ),
        (
            "zsp_default_ratings_this_month",
            "System default ratings (DEFAULT_RATING) standing for 办件 served this month (实际评价率 = (rated + this) ÷ served).",
            rate.defaults,
        ),
        (
            "zsp_forward_backlog",
            "Ratings stored here that some receiver has not acknowledged.",
            s.backlog,
        ),
        (
            "zsp_forward_oldest_age_seconds",
            "Age of the oldest rating not yet acknowledged upstream (0 when there is none).",
            s.oldest_pending.map_or(0, |t| (now - t).max(0)),
        ),
        (
            "zsp_forwarding_enabled",
            "1 when a receiver is set (UPSTREAMS or UPSTREAM_URL) and ratings are forwarded.",
            i64::from(cfg.forwarding()),
        ),
        ("zsp_ratings_stored", "Ratings in storage.", s.stored),
        (
            "zsp_ratings_held",
            "Ratings held for review (疑似刷评), waiting for a decision.",
            s.held,
        ),
        ("zsp_codes", "Printed codes in the directory.", s.codes),
        (
            "zsp_login_hashes_peak_per_second",
            "Console password hashes in the busiest second of the last ten minutes (LOGIN_HASHES_PER_SEC bounds it).",
            spend.peak,
        ),
        (
            "zsp_results_computed",
            "Public results computed (not read from the memo) since this isolate started.",
            crate::public::results::computed(h) as i64,
        ),
        (
            "zsp_login_hashes_last_10m",
            "Console password hashes in the last ten minutes.",
            spend.total,
        ),
    ];
    let per = |f: &dyn Fn(&outbox::ReceiverStatus) -> i64| -> Vec<(String, i64)> {
        receivers
            .iter()
            .map(|r| (format!("{{receiver=\"{}\"}}", r.name), f(r)))
            .collect()
    };
    let labelled: [metrics::Family; 3] = [
        (
            "zsp_receiver_backlog",
            "Ratings a receiver has not acknowledged, by receiver.",
            per(&|r| r.backlog),
        ),
        (
            "zsp_receiver_oldest_age_seconds",
            "Age of the oldest revision a receiver is owed (0 when none), by receiver.",
            per(&|r| r.oldest.map_or(0, |t| (now - t).max(0))),
        ),
        (
            "zsp_receiver_failing_rounds",
            "Rounds in a row a receiver was down (no answer, 5xx, 408, 429, 401, 403, 404); 0 when it answered last.",
            per(&|r| r.attempts),
        ),
    ];
    let mut counters = h.isolate().with(|c: &mut Counters| c.clone());
    // The citizen's worker's, which it hands on with the request.
    if let Some(citizens) = req.header(metrics::CITIZENS_HEADER) {
        match Counters::read(citizens) {
            Ok(c) => counters.add(&c),
            Err(e) => h.log(host::Log::Error, &e),
        }
    }
    let text = metrics::prometheus(&counters, &gauges, &labelled);
    Ok(
        Response::bytes(200, "text/plain; version=0.0.4; charset=utf-8", text)
            .with("Cache-Control", "no-store"),
    )
}

/// `POST /admin/prune`: retention now, as the alarm runs it hourly.
pub async fn prune(h: &impl Host, cfg: &Config, held_days: u32) -> Answer {
    host::run(
        h,
        crate::store::prune(h.now(), cfg.retention_days, held_days, cfg.forwarding()),
        false,
    )
    .await?;
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true}).to_string(),
    ))
}
