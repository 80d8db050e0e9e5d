//! The 掌上评 edge: a worker for workerd (self-hosted) and Cloudflare. Everything but `glue` is
//! plain Rust, tested natively over SQLite (`native`); `glue` (wasm32 only) binds it to the
//! runtime. ARCHITECTURE.md gives the layers and which module may use which: the foundation
//! (statements, errors, requests, the host, access control, settings), the citizen's path, the
//! forwarding and the fast lane above it, then the console, the public pages, tablets and links,
//! then the route table (`routes`), then the glue. `runtime` writes workerd's config and `zsp`
//! (native only) is the operator's command around workerd (`src/bin/zsp.rs`).

// The foundation.
pub mod access;
pub mod cache;
pub mod config;
pub mod error;
pub mod group;
pub mod host;
pub mod http;
pub mod metrics;
pub mod period;
pub mod row;
pub mod schema;
pub mod sql;
// The citizen's path, forwarding and the fast lane.
pub mod analysis;
pub mod citizen;
pub mod directory;
pub mod fastlane;
pub mod guard;
pub mod links;
pub mod outbox;
pub mod page;
pub mod served;
pub mod store;
pub mod submit;
pub mod unrated;
// The console, the public pages, tablets, links' API, the operator's.
pub mod console;
pub mod kiosk;
pub mod ops;
pub mod public;
pub mod report;
// Every route.
pub mod routes;
// The runtime.
#[cfg(target_arch = "wasm32")]
mod glue;
// Beside: the tests' host, workerd's config, the operator's command.
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod runtime;
#[cfg(not(target_arch = "wasm32"))]
pub mod zsp;
