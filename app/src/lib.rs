//! 掌上评, the page. The edge has already painted the header and a plain form; this module takes
//! over: it keeps whatever was chosen in that form, solves the challenge in the background, and
//! sends the rating with retries. The rules live in `model` (plain Rust, tested natively); the
//! code below only binds them to the DOM.

pub mod model;

#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// Called by the loader once the module is instantiated.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
pub fn start() {
    web::start();
}
