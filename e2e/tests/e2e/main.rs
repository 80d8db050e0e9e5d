//! One test binary for the whole stack (see `e2e/src/lib.rs`).

mod abuse;
mod bridge;
mod citizen;
mod console;
mod contract;
mod exports;
mod kiosk;
mod lane;
mod links;
mod logins;
mod pack;
mod workerd;
