//! The adapter to the Workers runtime (workerd self-hosted, or Cloudflare): `fetch` turns the
//! runtime's request into a plain one (its body read within the route's limit), runs the route
//! table (`routes::handle`) over this runtime's host, and turns the answer back; the site's
//! files are streamed from the asset service as they are. The storage object with its alarm is
//! `object`; the alarm's sends are `forward` and `lane`.

mod db;
mod env;
#[cfg(feature = "office")]
mod forward;
mod host;
#[cfg(feature = "office")]
mod lane;
#[cfg(feature = "office")]
mod object;
#[cfg(not(feature = "office"))]
mod office;
#[cfg(feature = "office")]
mod storage;

use crate::error::ApiError;
use crate::host::Isolate;
use crate::http::{self, Body, Method};
use crate::routes::{self, Settings};
use db::Db;
use env::{internal_log, settings};
use host::Runtime;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;
use worker::*;

// ---- requests and answers ----

/// The headers the handlers and the adapter read (and the configured client-address header):
/// each is one crossing into JavaScript, so only these, and a post's only for a post.
const READ: [&str; 5] = [
    "host",
    "cookie",
    "accept-language",
    "authorization",
    "accept-encoding",
];
const READ_POST: [&str; 3] = ["content-type", "origin", "sec-fetch-site"];
/// A work-order system's event: its route and signature (`fastlane::bridge::caller`).
const READ_BRIDGE: [&str; 2] = ["zsp-bridge", "zsp-signature"];

/// The body, refused as soon as it is known to exceed `limit`: by its declared length, or while
/// it streams in, never after reading it whole.
async fn body(req: web_sys::Request, limit: usize) -> std::result::Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let failed = |e: JsValue| {
        internal_log("reading the body", Error::from(e));
        crate::error::UNAVAILABLE
    };
    match declared {
        Some(n) if n > limit as u64 => return Err(crate::error::TOO_LARGE),
        // The runtime delivers no more than the declared length: read it in one call (a
        // stream's reader costs a tenth of a submission's time).
        Some(_) => {
            let buffer = JsFuture::from(req.array_buffer().map_err(failed)?)
                .await
                .map_err(failed)?;
            return Ok(js_sys::Uint8Array::new(&buffer).to_vec());
        }
        None => {}
    }
    let mut req = Request::from(req);
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
async fn plain(
    req: web_sys::Request,
    mut out: http::Request,
    s: &Settings,
) -> std::result::Result<http::Request, ApiError> {
    let h = req.headers();
    let post = matches!(out.method, Method::Post | Method::Put | Method::Delete);
    let extra = [
        s.core.client_ip_header.as_deref(),
        s.core.https_header.as_deref(),
    ];
    // A post's route, found once: its body's limit, and whether it is a bridge's.
    let route = if post {
        routes::find(out.method, &out.path).ok().map(|(r, _)| r)
    } else {
        None
    };
    let bridge = route.is_some_and(|r| r.caller == routes::Caller::Bridge);
    // The citizen's worker's counters, which it hands on with `/metrics`.
    let metrics = out.method == Method::Get && out.path == "/metrics";
    let names = READ
        .iter()
        .chain(READ_POST.iter().filter(|_| post))
        .chain(READ_BRIDGE.iter().filter(|_| bridge))
        .chain([crate::metrics::CITIZENS_HEADER].iter().filter(|_| metrics))
        .copied()
        .chain(extra.into_iter().flatten());
    for name in names {
        if let Ok(Some(v)) = h.get(name) {
            out.set_header(name, &v);
        }
    }
    out.trust_https_header(s.core.https_header.as_deref());
    if let Some(r) = route {
        out.body = body(req, r.limit).await?;
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
    // An asset passed through precompressed keeps its bytes as they are.
    let mut encoded = false;
    // A streamed body's size is unknown: worth compressing.
    let len = match &r.body {
        Body::Paged(_) => usize::MAX,
        _ => r.body_bytes().len(),
    };
    let coding = http::encoding_for(accept, r.header("content-type").unwrap_or(""), len);
    let mut out = match r.body {
        Body::Asset(path) => match asset(env, accept, &path).await? {
            Some((a, e)) => {
                encoded = e;
                a
            }
            None => Response::from_bytes(ApiError::to_json(&crate::error::NOT_FOUND).into_bytes())?
                .with_status(404),
        },
        _ if head => Response::empty()?.with_status(r.status),
        Body::Paged(p) => Response::from_stream(pages(Db::new(env), p))?.with_status(r.status),
        Body::Empty => Response::empty()?.with_status(r.status),
        Body::Bytes(b) => Response::from_bytes(b)?.with_status(r.status),
    };
    let h = out.headers_mut();
    for (k, v) in &r.headers {
        h.set(k, v)?;
    }
    // What the edge renders goes out compressed where the client takes it: the runtime encodes
    // the body as it streams (`encodeBody: "automatic"`, the default).
    if !encoded
        && !head
        && let Some(coding) = coding
    {
        h.set("Content-Encoding", coding)?;
        h.append("Vary", "Accept-Encoding")?;
    }
    if encoded {
        out = out.with_encode_body(EncodeBody::Manual);
    }
    Ok(out)
}

/// A paged body as a stream: each page's statement asked of the storage object when the client
/// has taken the page before (and after a turn of the event loop, so what else waits, a
/// citizen's landing page, goes first); memory holds a page, whatever the size.
fn pages(
    db: Db,
    p: http::Paged,
) -> impl futures_util::Stream<Item = std::result::Result<Vec<u8>, String>> {
    use crate::host::Db as _;
    futures_util::stream::unfold(
        (db, p, Some(None::<Vec<crate::sql::Val>>)),
        |(db, p, state)| async move {
            let cursor = state?;
            let first = cursor.is_none();
            if !first {
                worker::Delay::from(std::time::Duration::from_millis(0)).await;
            }
            let stmt = p.0.borrow().query(cursor.as_deref());
            let page = match db.batch(vec![stmt], false).await {
                Ok(rows) => p.0.borrow_mut().page(crate::host::text(rows.last()), first),
                Err(e) => Err(e.to_string()),
            };
            Some(match page {
                Ok((bytes, next)) => (Ok(bytes), (db, p, next.map(Some))),
                Err(e) => {
                    console_error!("export page: {e}");
                    (Err(e), (db, p, None))
                }
            })
        },
    )
}

/// Streams `/assets/<name>` (and the like) from the build output, precompressed: brotli, then
/// gzip, then raw. The same body stream under our headers: no copy through WebAssembly memory.
async fn asset(env: &Env, accept: &str, path: &str) -> Result<Option<(Response, bool)>> {
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
        return Ok(Some((out, !encoding.is_empty())));
    }
    Ok(None)
}

/// Runs the table over this runtime's host.
async fn run(
    req: web_sys::Request,
    first: http::Request,
    env: &Env,
    isolate: Rc<Isolate>,
) -> std::result::Result<(routes::Handled, http::Request), ApiError> {
    let s = settings(env)?;
    let host = Runtime {
        env,
        db: Db::new(env),
        isolate,
    };
    let r = plain(req, first, &s).await?;
    Ok((routes::handle(&host, &s, &r).await, r))
}

/// Every request: routed, answered, counted, and logged in one line without personal data.
/// The runtime's request as it comes (workers-rs' `Request` would read its `cf` object, method,
/// URL and headers into JavaScript objects first, some of it twice).
///
/// The citizen's worker hands every route but the citizen's to the office's worker (`office`);
/// the office's says so in its answer when the request changed the directory.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let started = js_sys::Date::now();
    // The URL as the runtime has it: split here, not parsed by the url crate.
    let method = Method::parse(&req.method());
    let first = http::Request::new(method, &req.url());
    #[cfg(not(feature = "office"))]
    if let Ok((r, _)) = routes::find(method, &first.path)
        && !r.citizens()
    {
        return match office::hand_on(req, &env, r).await {
            Ok(a) => Ok(a),
            // Not bound, or it failed: said in the log, never to the client.
            Err(e) => {
                internal_log("the office's worker", e);
                let e = crate::error::UNAVAILABLE;
                let r = http::Response::json(e.status, e.to_json());
                answer(&env, None, r, false).await.map(Into::into)
            }
        };
    }
    let path = first.path.clone();
    let isolate = env::isolate();
    #[cfg(feature = "office")]
    let forgotten = crate::directory::forgotten(&isolate);
    let (h, plain) = match run(req, first, &env, isolate.clone()).await {
        Ok((h, r)) => (h, Some(r)),
        // Before the table: the settings, the storage object's binding, the body's size.
        Err(e) => (
            routes::Handled {
                response: http::Response::json(e.status, e.to_json()),
                error: Some(e.code),
                route: routes::log_name(method, &path),
            },
            None,
        ),
    };
    // For the citizen's worker in front, which then forgets its own.
    #[cfg(feature = "office")]
    let h = {
        let mut h = h;
        if crate::directory::forgotten(&isolate) != forgotten {
            h.response.set(crate::directory::CHANGED_HEADER, "1");
        }
        h
    };
    let status = h.response.status;
    // The operator's test rating counts nowhere, not even here (its log line names it).
    let post = method == Method::Post && h.error != Some(crate::guard::SELFTEST);
    isolate.with(|c: &mut crate::metrics::Counters| c.count(h.route, post, status));
    console_log!(
        "{}",
        crate::metrics::log_line(
            method.as_str(),
            h.route,
            status,
            h.error,
            (js_sys::Date::now() - started).max(0.0) as u64
        )
    );
    answer(&env, plain.as_ref(), h.response, method == Method::Head)
        .await
        .map(Into::into)
}
