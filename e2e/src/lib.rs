//! The end-to-end tests live in `tests/e2e/`, next to the Node and Chromium scripts they drive
//! (`e2e/*.mjs`). They need what `cargo xtask test` builds and installs first (the worker, the
//! page, workerd, Chromium, Node's packages), so each is `#[ignore]`d with that reason and
//! `cargo xtask test` runs them with `--include-ignored`.
