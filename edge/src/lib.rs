//! The 掌上评 edge: a worker for workerd (self-hosted) and Cloudflare. Everything but `glue` is
//! plain Rust, tested natively; `glue` (wasm32 only) binds it to the runtime: requests, the
//! storage object (one SQLite Durable Object) and its alarm.

pub mod cache;
pub mod config;
pub mod error;
pub mod outbox;
pub mod page;
pub mod schema;
pub mod store;
pub mod submit;

#[cfg(target_arch = "wasm32")]
mod glue;
