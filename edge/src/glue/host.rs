//! The host (`crate::host::Host`) over this runtime: the storage object, the clock, WebCrypto's
//! randomness and PBKDF2, `CompressionStream`, the site's files, the log.

use super::db::Db;
use super::env::now;
use crate::host::{Host, Isolate, Log};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use worker::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// The host over this runtime: the storage object, the clock, WebCrypto's randomness and
/// PBKDF2, `CompressionStream`, the site's files, the log.
pub struct Runtime<'a> {
    pub env: &'a Env,
    pub db: Db,
    pub isolate: Rc<Isolate>,
}

impl<'a> Host for Runtime<'a> {
    type Db = Db;

    fn db(&self) -> &Db {
        &self.db
    }

    fn now(&self) -> i64 {
        now()
    }

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
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
pub(super) fn call(
    on: &JsValue,
    name: &str,
    args: &js_sys::Array,
) -> std::result::Result<JsValue, String> {
    let f: js_sys::Function = js_sys::Reflect::get(on, &name.into())
        .map_err(js_fail(name))?
        .dyn_into()
        .map_err(|_| format!("{name} is not a function"))?;
    f.apply(on, args).map_err(js_fail(name))
}

/// A promise's value.
pub(super) async fn promised(v: JsValue) -> std::result::Result<JsValue, String> {
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
