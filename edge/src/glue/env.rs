//! What every part of the adapter shares: the clock, the log, this isolate's memory and its
//! settings (parsed once per isolate; a bad value stops every request with a log line that names
//! the variable).

use crate::error::ApiError;
use crate::host::Isolate;
use crate::routes::Settings;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use worker::*;

pub fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

thread_local! {
    static SETTINGS: RefCell<Option<Rc<Settings>>> = const { RefCell::new(None) };
    static ISOLATE: Rc<Isolate> = Rc::new(Isolate::default());
}

/// This isolate's memory (the lookups, the memo, the counters).
pub fn isolate() -> Rc<Isolate> {
    ISOLATE.with(Rc::clone)
}

/// A send's answer within `ms` milliseconds, or none: no host that accepts a connection and never
/// answers holds the alarm (and the alerts behind it).
#[cfg(feature = "office")]
pub async fn within<T>(ms: u64, f: impl std::future::Future<Output = T>) -> Option<T> {
    let timeout = Delay::from(std::time::Duration::from_millis(ms));
    futures_util::pin_mut!(f);
    futures_util::pin_mut!(timeout);
    match futures_util::future::select(f, timeout).await {
        futures_util::future::Either::Left((a, _)) => Some(a),
        futures_util::future::Either::Right(_) => None,
    }
}

/// Logs an internal failure.
pub fn internal_log(what: &str, e: impl std::fmt::Display) {
    console_error!("{what}: {e}");
}

/// Every feature's settings, parsed once per isolate. A bad value stops every request with a log
/// line that names the variable.
pub fn settings(env: &Env) -> std::result::Result<Rc<Settings>, ApiError> {
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
