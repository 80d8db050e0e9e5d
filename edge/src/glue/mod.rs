//! The adapter to the Workers runtime (workerd self-hosted, or Cloudflare): `fetch` turns the
//! runtime's request into a plain one (its body read within the route's limit), runs the route
//! table (`routes::handle`) over this runtime's host, and turns the answer back; the site's
//! files are streamed from the asset service as they are. The storage object with its alarm is
//! `object`; the alarm's sends are `forward` and `lane`.

mod db;
mod env;
mod forward;
mod host;
mod lane;
mod object;
mod storage;

use crate::error::ApiError;
use crate::host::Isolate;
use crate::http::{self, Body, Method};
use crate::routes::{self, Settings};
use db::Db;
use env::{internal_log, settings};
use host::Runtime;
use std::rc::Rc;
use worker::*;

// ---- requests and answers ----

/// The headers the handlers and the adapter read (and the configured client-address header):
/// each is one crossing into JavaScript, so only these.
const READ: [&str; 8] = [
    "host",
    "cookie",
    "content-type",
    "origin",
    "sec-fetch-site",
    "accept-language",
    "authorization",
    "accept-encoding",
];

/// The body, refused as soon as it is known to exceed `limit`: by its declared length, or while
/// it streams in, never after reading it whole.
async fn body(req: &mut Request, limit: usize) -> std::result::Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => return Err(crate::error::TOO_LARGE),
        // The runtime delivers no more than the declared length: read it in one call (a
        // stream's reader costs a tenth of a submission's time).
        Some(_) => {
            return req.bytes().await.map_err(|e| {
                internal_log("reading the body", e);
                crate::error::UNAVAILABLE
            });
        }
        None => {}
    }
    let mut out = Vec::new();
    let Ok(mut stream) = req.stream() else {
        return Ok(out);
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            internal_log("reading the body", e);
            crate::error::UNAVAILABLE
        })?;
        if out.len() + chunk.len() > limit {
            return Err(crate::error::TOO_LARGE);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The runtime's request as a plain one, its body read within the route's limit.
async fn plain(mut req: Request, s: &Settings) -> std::result::Result<http::Request, ApiError> {
    let url = req.url().map_err(|_| crate::error::NOT_FOUND)?;
    let method = Method::parse(req.method().as_ref());
    let mut out = http::Request::new(method, url.as_str());
    let h = req.headers();
    let extra = s.core.client_ip_header.as_deref();
    for name in READ.iter().copied().chain(extra) {
        if let Ok(Some(v)) = h.get(name) {
            out.set_header(name, &v);
        }
    }
    if matches!(method, Method::Post | Method::Put | Method::Delete)
        && let Some(limit) = routes::body_limit(method, &out.path)
    {
        out.body = body(&mut req, limit).await?;
    }
    Ok(out)
}

/// A plain answer as the runtime's; a file of the site's streamed from the asset service.
async fn answer(
    env: &Env,
    req: Option<&http::Request>,
    r: http::Response,
    head: bool,
) -> Result<Response> {
    let accept = req.and_then(|r| r.header("accept-encoding")).unwrap_or("");
    let mut out = match r.body {
        Body::Asset(path) => match asset(env, accept, &path).await? {
            Some(a) => a,
            None => Response::from_bytes(ApiError::to_json(&crate::error::NOT_FOUND).into_bytes())?
                .with_status(404),
        },
        _ if head => Response::empty()?.with_status(r.status),
        Body::Empty => Response::empty()?.with_status(r.status),
        Body::Bytes(b) => Response::from_bytes(b)?.with_status(r.status),
    };
    let asset = out.headers().has("Content-Encoding").unwrap_or(false);
    let h = out.headers_mut();
    for (k, v) in &r.headers {
        h.set(k, v)?;
    }
    if asset {
        out = out.with_encode_body(EncodeBody::Manual);
    }
    Ok(out)
}

/// Streams `/assets/<name>` (and the like) from the build output, precompressed: brotli, then
/// gzip, then raw. The same body stream under our headers: no copy through WebAssembly memory.
async fn asset(env: &Env, accept: &str, path: &str) -> Result<Option<Response>> {
    let assets = env.assets("ASSETS")?;
    let mut tried = vec![];
    if accept.contains("br") {
        tried.push(("br", ".br"));
    }
    if accept.contains("gzip") {
        tried.push(("gzip", ".gz"));
    }
    tried.push(("", ""));
    for (encoding, suffix) in tried {
        let r = assets
            .fetch(format!("http://assets{path}{suffix}"), None)
            .await?;
        if r.status_code() != 200 {
            continue;
        }
        let out = Response::from_body(r.body().clone())?;
        if !encoding.is_empty() {
            out.headers().set("Content-Encoding", encoding)?;
        }
        return Ok(Some(out));
    }
    Ok(None)
}

/// Runs the table over this runtime's host.
async fn run(
    req: Request,
    env: &Env,
    isolate: Rc<Isolate>,
) -> std::result::Result<(routes::Handled, http::Request), ApiError> {
    let s = settings(env)?;
    let host = Runtime {
        env,
        db: Db::open(env)?,
        isolate,
    };
    let r = plain(req, &s).await?;
    Ok((routes::handle(&host, &s, &r).await, r))
}

/// Every request: routed, answered, counted, and logged in one line without personal data.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let method = Method::parse(req.method().as_ref());
    let route = routes::log_name(method, &req.path());
    let isolate = env::isolate();
    let (h, plain) = match run(req, &env, isolate.clone()).await {
        Ok((h, r)) => (h, Some(r)),
        // Before the table: the settings, the storage object's binding, the body's size.
        Err(e) => (
            routes::Handled {
                response: http::Response::json(e.status, e.to_json()),
                error: Some(e.code),
                route,
            },
            None,
        ),
    };
    let status = h.response.status;
    isolate
        .with(|c: &mut crate::metrics::Counters| c.count(h.route, method == Method::Post, status));
    console_log!(
        "{}",
        crate::metrics::log_line(
            method.as_str(),
            h.route,
            status,
            h.error,
            Date::now().as_millis().saturating_sub(started)
        )
    );
    answer(&env, plain.as_ref(), h.response, method == Method::Head).await
}
