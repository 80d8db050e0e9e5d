//! The 掌上评 edge: a Cloudflare Worker. Everything but `glue` is plain Rust, tested natively;
//! `glue` (wasm32 only) binds it to the Workers runtime: requests, D1, the Queue, cron.

pub mod cache;
pub mod config;
pub mod error;
pub mod page;
pub mod store;
pub mod submit;

#[cfg(target_arch = "wasm32")]
mod glue;
