//! The 掌上评 edge: a worker for workerd (self-hosted) and Cloudflare. Everything but `glue` is
//! plain Rust, tested natively; `glue` (wasm32 only) binds it to the runtime: requests, the
//! storage object (one SQLite Durable Object) and its alarm. `runtime` writes workerd's config
//! and `zsp` (native only) is the operator's command around workerd (`src/bin/zsp.rs`).
//! ARCHITECTURE.md gives the layers and which module may use which.

pub mod sql;
pub mod error;
pub mod http;
pub mod host;
pub mod access;
pub mod cache;
pub mod config;
pub mod console;
pub mod fastlane;
pub mod guard;
pub mod kiosk;
pub mod links;
pub mod metrics;
pub mod outbox;
pub mod page;
pub mod receipt;
pub mod results;
pub mod runtime;
pub mod schema;
pub mod store;
pub mod submit;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(not(target_arch = "wasm32"))]
pub mod zsp;

#[cfg(target_arch = "wasm32")]
mod glue;
