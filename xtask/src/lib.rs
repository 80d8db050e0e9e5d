//! The automation's building blocks, shared by `cargo xtask` and the tests that run the whole
//! stack (`e2e/tests/`): setup, the app build, the local worker.

pub mod edge;
pub mod fs;
pub mod pack;
pub mod robots;
pub mod seed;
pub mod setup;
pub mod sh;
pub mod site;
pub mod stages;
