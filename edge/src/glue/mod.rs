//! The adapter to the Workers runtime (workerd self-hosted, or Cloudflare): `fetch` turns the
//! runtime's request into a plain one (its body read within the route's limit), runs the route
//! table (`routes::handle`) over this runtime's host, and turns the answer back; the site's
//! files are streamed from the asset service as they are. The storage object with its alarm is
//! `object`; the alarm's sends are `forward` and `lane`.

mod db;
mod forward;
mod lane;
mod object;

use crate::error::ApiError;
use crate::host::{Host, Isolate, Log};
use crate::http::{self, Body, Method};
use crate::routes::{self, Settings};
use db::Db;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use worker::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

thread_local! {
    static SETTINGS: RefCell<Option<Rc<Settings>>> = const { RefCell::new(None) };
    static ISOLATE: Rc<Isolate> = Rc::new(Isolate::default());
}

/// Logs an internal failure.
fn internal_log(what: &str, e: impl std::fmt::Display) {
    console_error!("{what}: {e}");
}

/// Every feature's settings, parsed once per isolate. A bad value stops every request with a log
/// line that names the variable.
fn settings(env: &Env) -> std::result::Result<Rc<Settings>, ApiError> {
    if let Some(s) = SETTINGS.with(|c| c.borrow().clone()) {
        return Ok(s);
    }
    // Vars and secrets are strings; self-hosted, a setting missing from the environment is
    // `null` (which workers-rs' typed getters cannot take).
    let get = |name: &str| {
        js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    match Settings::from_vars(&get) {
        Ok(s) => {
            let s = Rc::new(s);
            SETTINGS.with(|slot| *slot.borrow_mut() = Some(s.clone()));
            Ok(s)
        }
        Err(e) => {
            console_error!("configuration: {e}");
            Err(crate::error::UNAVAILABLE)
        }
    }
}

/// The host over this runtime: the storage object, the clock, WebCrypto's randomness and
/// PBKDF2, `CompressionStream`, the site's files, the log.
struct Runtime<'a> {
    env: &'a Env,
    db: Db,
    isolate: Rc<Isolate>,
}

impl Host for Runtime<'_> {
    type Db = Db;

    fn db(&self) -> &Db {
        &self.db
    }

    fn now(&self) -> i64 {
        now()
    }

    fn now_ms(&self) -> f64 {
        Date::now().as_millis() as f64
    }

    fn fill_random(&self, buf: &mut [u8]) {
        get_random_values(buf);
    }

    async fn pbkdf2(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> std::result::Result<Vec<u8>, String> {
        pbkdf2(password, salt, iterations).await
    }

    async fn deflate_raw(&self, raw: &[u8]) -> std::result::Result<Vec<u8>, String> {
        deflate(raw).await
    }

    async fn site_file(&self, name: &str) -> std::result::Result<String, String> {
        let mut r = self
            .env
            .assets("ASSETS")
            .map_err(|e| e.to_string())?
            .fetch(format!("http://assets/{name}"), None)
            .await
            .map_err(|e| e.to_string())?;
        if r.status_code() != 200 {
            return Err(format!("{name}: {}", r.status_code()));
        }
        r.text().await.map_err(|e| e.to_string())
    }

    fn log(&self, level: Log, line: &str) {
        match level {
            Log::Info => console_log!("{line}"),
            Log::Warn => console_warn!("{line}"),
            Log::Error => console_error!("{line}"),
        }
    }

    fn isolate(&self) -> &Isolate {
        &self.isolate
    }
}

fn js_fail(what: &str) -> impl Fn(JsValue) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

/// A method of a JavaScript object, called.
fn call(on: &JsValue, name: &str, args: &js_sys::Array) -> std::result::Result<JsValue, String> {
    let f: js_sys::Function = js_sys::Reflect::get(on, &name.into())
        .map_err(js_fail(name))?
        .dyn_into()
        .map_err(|_| format!("{name} is not a function"))?;
    f.apply(on, args).map_err(js_fail(name))
}

async fn promised(v: JsValue) -> std::result::Result<JsValue, String> {
    let p: js_sys::Promise = v.dyn_into().map_err(|_| "not a promise".to_owned())?;
    wasm_bindgen_futures::JsFuture::from(p)
        .await
        .map_err(js_fail("promise"))
}

/// PBKDF2-HMAC-SHA-256 through WebCrypto (native code in the runtime, not wasm).
async fn pbkdf2(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> std::result::Result<Vec<u8>, String> {
    let crypto =
        js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).map_err(js_fail("crypto"))?;
    let subtle = js_sys::Reflect::get(&crypto, &"subtle".into()).map_err(js_fail("subtle"))?;
    let usages = js_sys::Array::of1(&"deriveBits".into());
    let key = promised(call(
        &subtle,
        "importKey",
        &js_sys::Array::of5(
            &"raw".into(),
            &js_sys::Uint8Array::from(password).into(),
            &"PBKDF2".into(),
            &false.into(),
            &usages,
        ),
    )?)
    .await?;
    let params = js_sys::Object::new();
    for (k, v) in [
        ("name", JsValue::from("PBKDF2")),
        ("hash", "SHA-256".into()),
        ("salt", js_sys::Uint8Array::from(salt).into()),
        ("iterations", f64::from(iterations).into()),
    ] {
        js_sys::Reflect::set(&params, &k.into(), &v).map_err(js_fail("params"))?;
    }
    let bits = promised(call(
        &subtle,
        "deriveBits",
        &js_sys::Array::of3(&params, &key, &256.into()),
    )?)
    .await?;
    Ok(js_sys::Uint8Array::new(&bits).to_vec())
}

/// Raw DEFLATE by the runtime's `CompressionStream` (native code, not wasm):
/// `new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer()`.
async fn deflate(raw: &[u8]) -> std::result::Result<Vec<u8>, String> {
    use js_sys::{Array, Function, Reflect};
    let global = js_sys::global();
    let ctor = |name: &str| -> std::result::Result<Function, String> {
        Reflect::get(&global, &name.into())
            .map_err(js_fail(name))?
            .dyn_into()
            .map_err(|_| format!("{name} is not a constructor"))
    };
    let cs = Reflect::construct(
        &ctor("CompressionStream")?,
        &Array::of1(&"deflate-raw".into()),
    )
    .map_err(js_fail("CompressionStream"))?;
    let parts = Array::of1(&js_sys::Uint8Array::from(raw).into());
    let blob = Reflect::construct(&ctor("Blob")?, &Array::of1(&parts)).map_err(js_fail("Blob"))?;
    let stream = call(&blob, "stream", &Array::new())?;
    let piped = call(&stream, "pipeThrough", &Array::of1(&cs))?;
    let resp =
        Reflect::construct(&ctor("Response")?, &Array::of1(&piped)).map_err(js_fail("Response"))?;
    let buf = promised(call(&resp, "arrayBuffer", &Array::new())?).await?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

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
    if matches!(method, Method::Post | Method::Put | Method::Delete) {
        let limit = routes::body_limit(method, &out.path);
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
    let isolate = ISOLATE.with(Rc::clone);
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
