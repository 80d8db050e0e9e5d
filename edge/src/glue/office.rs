//! The office's worker as the citizen's reaches it. The citizen's worker answers only the
//! citizen's routes (`routes::Route::citizens`) and hands every other request, as it came, to the
//! office's worker through a service binding: its body streams through, and the office's answer
//! goes back to the client as it is. Two things cross with a request: on `/metrics` this
//! isolate's counters (`metrics::CITIZENS_HEADER`, which the office's exposition adds to its own),
//! and back, that the answer changed the directory (`directory::CHANGED_HEADER`): this isolate
//! then forgets its lookups before the client hears the answer, so a revocation takes effect on the
//! next scan, as it does in one worker.

use super::env::isolate;
use super::host::{call, promised};
use crate::routes::{Id, Route};
use crate::{directory, metrics};
use wasm_bindgen::{JsCast, JsValue};
use worker::*;

/// The service binding to the office's worker.
pub const BINDING: &str = "OFFICE";

/// The office's worker's answer to `req`, whose route `r` is not the citizen's.
pub async fn hand_on(req: web_sys::Request, env: &Env, r: &Route) -> Result<web_sys::Response> {
    let req = if r.id == Id::Metrics {
        with_counters(&req)?
    } else {
        req
    };
    let failed = |e: String| Error::RustError(format!("binding {BINDING}: {e}"));
    let office = js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(BINDING))?;
    let answer = call(&office, "fetch", &js_sys::Array::of1(&req)).map_err(failed)?;
    let answer: web_sys::Response = promised(answer).await.map_err(failed)?.dyn_into()?;
    if !answer.headers().has(directory::CHANGED_HEADER)? {
        return Ok(answer);
    }
    directory::forget(&isolate());
    // The signal is between the workers: the client's answer is the same without it.
    let headers = web_sys::Headers::new_with_headers(&answer.headers())?;
    headers.delete(directory::CHANGED_HEADER)?;
    let init = web_sys::ResponseInit::new();
    init.set_status(answer.status());
    init.set_status_text(&answer.status_text());
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(
        answer.body().as_ref(),
        &init,
    )?)
}

/// `req` with this isolate's counters in [`metrics::CITIZENS_HEADER`], in place of any the client
/// sent.
fn with_counters(req: &web_sys::Request) -> Result<web_sys::Request> {
    let text = isolate().with(|c: &mut metrics::Counters| c.text());
    let headers = web_sys::Headers::new_with_headers(&req.headers())?;
    headers.set(metrics::CITIZENS_HEADER, &text)?;
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers);
    Ok(web_sys::Request::new_with_request_and_init(req, &init)?)
}
