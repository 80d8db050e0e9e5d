//! What the public reads: a 差评's status link (`/s/<token>`, and `/s` to type a code) and the
//! results pages (`/results`, `.json`, `.csv`). No session, no personal data; the status pages
//! are never cached and send no referrer, the results are cached for a few minutes.

use super::db::{Db, DbError};
use super::{Answer, body, now};
use crate::config::Config;
use crate::error::{self, ApiError};
use crate::fastlane::CaseRow;
use crate::receipt;
use crate::results::{self, CaseFacts, HallRow, TallyRow};
use std::cell::RefCell;
use std::collections::HashMap;
use worker::*;

fn page(html: String, status: u16, csp: &str, cache: &str) -> Answer {
    let r = Response::from_html(html)?.with_status(status);
    let h = r.headers();
    h.set("Content-Security-Policy", csp)?;
    h.set("X-Content-Type-Options", "nosniff")?;
    h.set("Referrer-Policy", "no-referrer")?;
    h.set("Cache-Control", cache)?;
    Ok(r)
}

fn status_page(html: String, status: u16) -> Answer {
    page(html, status, &receipt::csp(), "no-store")
}

/// `/s`, `/s?code=…` and `/s/<token>` (GET: the status; POST: the one 追评).
pub async fn receipt(mut req: Request, env: &Env, cfg: &Config, path: &str) -> Answer {
    if path == "/s" || path == "/s/" {
        let code = req
            .url()?
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned());
        return match code.as_deref().map(receipt::normalize) {
            None => status_page(receipt::ask(), 200),
            Some(Some(t)) => {
                let r = Response::empty()?.with_status(303);
                r.headers().set("Location", &format!("/s/{t}"))?;
                r.headers().set("Cache-Control", "no-store")?;
                r.headers().set("Referrer-Policy", "no-referrer")?;
                Ok(r)
            }
            Some(None) => status_page(receipt::gone(), 404),
        };
    }
    let Some(token) = receipt::normalize(&path["/s/".len()..]) else {
        return status_page(receipt::gone(), 404);
    };
    let db = Db::open(env)?;
    let t = now();
    let keep = i64::from(cfg.retention_days) * 86_400;
    let mut res = db.batch(receipt::lookup(&token, t, keep), false).await?;
    let case: Vec<CaseRow> = serde_json::from_value(res.pop().unwrap_or_default())
        .map_err(|e| super::internal("receipt", e))?;
    let held: Vec<receipt::Held> = serde_json::from_value(res.pop().unwrap_or_default())
        .map_err(|e| super::internal("receipt", e))?;
    #[derive(serde::Deserialize)]
    struct N {
        n: i64,
    }
    let misses: Vec<N> = serde_json::from_value(res.pop().unwrap_or_default())
        .map_err(|e| super::internal("receipt", e))?;
    if misses.first().is_some_and(|m| m.n >= receipt::MISS_BUDGET) {
        return status_page(receipt::busy(), 429);
    }
    if let (None, Some(h), Method::Get) = (case.first(), held.first(), req.method()) {
        return status_page(receipt::received(h, &token), 200);
    }
    let Some(c) = case.into_iter().next() else {
        // Counted; past the budget the count itself fails, which changes nothing here.
        let _ = db.batch(receipt::miss(t), false).await;
        return status_page(receipt::gone(), 404);
    };
    match req.method() {
        Method::Get => status_page(receipt::status(&c, &token, None), 200),
        Method::Post => {
            // Only this site's own page posts here.
            let origin = req.headers().get("Origin")?;
            let site = req.headers().get("Sec-Fetch-Site")?;
            let host = req.headers().get("Host")?.unwrap_or_default();
            if !crate::console::same_site(origin.as_deref(), site.as_deref(), &host) {
                return Err(ApiError::new(
                    403,
                    "receipt.cross_site",
                    "请在本站页面操作。",
                    "Refused.",
                ));
            }
            let b = body(&mut req, 1024).await?;
            let form = String::from_utf8_lossy(&b).into_owned();
            let unsatisfied = match form.trim() {
                "choice=satisfied" => false,
                "choice=unsatisfied" => true,
                _ => {
                    return Err(ApiError::new(
                        400,
                        "receipt.choice",
                        "请选择满意或仍不满意。",
                        "Choose one.",
                    ));
                }
            };
            let now_case: Option<CaseRow> = match db
                .batch(receipt::followup(c.id, unsatisfied, t), unsatisfied)
                .await
            {
                Ok(v) => {
                    let updated = v.into_iter().next().unwrap_or_default();
                    serde_json::from_value::<Vec<CaseRow>>(updated)
                        .map_err(|e| super::internal("receipt", e))?
                        .pop()
                }
                Err(DbError::Sql(_)) => None,
                Err(e) => return Err(e.into()),
            };
            let done = now_case.is_some();
            let said = match (done, unsatisfied) {
                (false, _) => "只能追评一次，且须在案件办结之后。",
                (true, false) => "感谢您的追评。",
                (true, true) => "已收到：您的差评将重新办理，工作人员会再次与您联系。",
            };
            status_page(
                receipt::status(&now_case.unwrap_or(c), &token, Some(said)),
                if done { 200 } else { 409 },
            )
        }
        _ => Err(error::METHOD),
    }
}

/// How long an isolate reuses a period's computed results (the responses say the same to any
/// cache in front, for longer).
const RESULTS_MEMO_SECS: i64 = 60;

type Memo = HashMap<(Option<String>, String), (i64, results::Results, Vec<String>)>;

thread_local! {
    /// Computed results by hall and period: when, the figures, the halls with ratings.
    static MEMO: RefCell<Memo> = RefCell::new(HashMap::new());
}

/// The figures of `hall` (or the city) for `period`, and the halls with ratings in it.
async fn compute(
    env: &Env,
    cfg: &Config,
    hall: Option<&str>,
    period: &results::Period,
) -> std::result::Result<(results::Results, Vec<String>), ApiError> {
    let db = Db::open(env)?;
    let mut res = db
        .batch(
            vec![
                results::tallies(period, hall),
                results::cases(period, hall),
                results::halls(period),
            ],
            false,
        )
        .await?;
    let rows = |v: Option<serde_json::Value>| v.unwrap_or_default();
    let halls: Vec<HallRow> =
        serde_json::from_value(rows(res.pop())).map_err(|e| super::internal("results", e))?;
    let cases: Vec<CaseFacts> =
        serde_json::from_value(rows(res.pop())).map_err(|e| super::internal("results", e))?;
    let tallies: Vec<TallyRow> =
        serde_json::from_value(rows(res.pop())).map_err(|e| super::internal("results", e))?;
    let min = i64::from(cfg.results_min_staff);
    let r = results::compute(hall, period, &tallies, &cases, min);
    Ok((r, halls.into_iter().map(|h| h.hall).collect()))
}

/// `/results` (the page), `/results.json`, `/results.csv`: `?hall=…&period=2026-11|2026-Q4`.
pub async fn results(req: &Request, env: &Env, cfg: &Config, path: &str) -> Answer {
    let pairs: Vec<(String, String)> = req
        .url()?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (hall, period) = results::params(&pairs, now()).map_err(|d| ApiError {
        detail: Some(d),
        ..ApiError::new(
            400,
            "results.params",
            "统计期或大厅有误。",
            "Bad period or hall.",
        )
    })?;
    let t = now();
    let key = (hall.clone(), period.label.clone());
    let memo = MEMO.with(|m| {
        m.borrow()
            .get(&key)
            .filter(|(at, _, _)| t - at < RESULTS_MEMO_SECS)
            .map(|(_, r, h)| (r.clone(), h.clone()))
    });
    let (r, halls) = match memo {
        Some(v) => v,
        None => {
            let (r, halls) = compute(env, cfg, hall.as_deref(), &period).await?;
            MEMO.with(|m| {
                let mut m = m.borrow_mut();
                if m.len() >= 64 {
                    m.clear();
                }
                m.insert(key, (t, r.clone(), halls.clone()));
            });
            (r, halls)
        }
    };
    let cache = "public, max-age=300";
    let file = |body: String, ctype: &str| -> Answer {
        let out = Response::from_bytes(body.into_bytes())?;
        out.headers().set("Content-Type", ctype)?;
        out.headers().set("Cache-Control", cache)?;
        Ok(out)
    };
    match path {
        "/results.json" => file(r.to_json(), "application/json; charset=utf-8"),
        "/results.csv" => file(r.to_csv(), "text/csv; charset=utf-8"),
        _ => {
            let query = pairs
                .iter()
                .map(|(k, v)| {
                    let v = percent_encoding::utf8_percent_encode(
                        v,
                        percent_encoding::NON_ALPHANUMERIC,
                    );
                    format!("{k}={v}")
                })
                .collect::<Vec<_>>()
                .join("&");
            let names = if hall.is_none() { halls } else { vec![] };
            page(
                results::page(&r, &query, &names),
                200,
                &results::csp(),
                cache,
            )
        }
    }
}
