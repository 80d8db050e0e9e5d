//! 掌上评, the page. The edge has already painted the header and a plain form; this module takes
//! over: it keeps whatever was chosen in that form, solves the challenge in the background, and
//! sends the rating with retries. The rules live in `model` (plain Rust, tested natively); the
//! code below only binds them to the DOM.

pub mod kiosk;
pub mod model;

// The kiosk module uses only part of the citizen page's binding.
#[cfg(target_arch = "wasm32")]
#[cfg_attr(feature = "kiosk", allow(dead_code))]
mod web;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// Called by the loader once the module is instantiated.
#[cfg(all(target_arch = "wasm32", not(feature = "kiosk")))]
#[wasm_bindgen]
pub fn start() {
    web::start();
}

/// Called by the hall tablet's loader (kiosk mode), in the module built with the `kiosk`
/// feature: neither page's module carries the other's code.
#[cfg(all(target_arch = "wasm32", feature = "kiosk"))]
#[wasm_bindgen]
pub fn start_kiosk() {
    web::kiosk::start();
}
