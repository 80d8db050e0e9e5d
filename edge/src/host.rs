//! What a handler needs of the world, as traits: the storage object ([`Db`]: a batch of
//! statements in one transaction), the clock, randomness, the runtime's PBKDF2 and DEFLATE, the
//! site's files, and this isolate's memory ([`Isolate`]). The runtime's implementation is
//! `glue`; `native` implements them over SQLite, so every handler runs in the native tests.

use crate::error::{self, ApiError};
use crate::sql::Stmt;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;

/// Why a batch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    /// The batch was rolled back: SQLite's message (a constraint names its table).
    Sql(String),
    /// The storage object could not be reached or failed otherwise.
    Runtime(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Sql(m) => write!(f, "storage: {m}"),
            DbError::Runtime(m) => write!(f, "storage object: {m}"),
        }
    }
}

/// The storage object.
pub trait Db {
    /// Runs `stmts` in one transaction; each statement's rows (a JSON array of row objects), in
    /// order. `wake`: the batch may have given the outbox work.
    fn batch(
        &self,
        stmts: Vec<Stmt>,
        wake: bool,
    ) -> impl Future<Output = Result<Vec<Rows>, DbError>>;
}

/// One statement's rows as the storage object sent them: a JSON array of row objects, kept as
/// text until [`typed`] parses it, once, into the rows' own type (never through a
/// `serde_json::Value`: that was a second parse of every row, and a decoder of each row type
/// from a `Value` in the worker's code).
pub type Rows = Box<serde_json::value::RawValue>;

/// The log's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    Info,
    Warn,
    Error,
}

/// Everything else a handler asks of the runtime.
pub trait Host {
    type Db: Db;
    fn db(&self) -> &Self::Db;
    /// Unix seconds.
    fn now(&self) -> i64;
    /// Unix milliseconds.
    fn now_ms(&self) -> f64;
    fn fill_random(&self, buf: &mut [u8]);
    /// PBKDF2-HMAC-SHA-256, 32 bytes.
    fn pbkdf2(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> impl Future<Output = Result<Vec<u8>, String>>;
    /// Raw DEFLATE (RFC 1951).
    fn deflate_raw(&self, raw: &[u8]) -> impl Future<Output = Result<Vec<u8>, String>>;
    /// A text file of the site's build (`index.html`, `kiosk.html`).
    fn site_file(&self, name: &str) -> impl Future<Output = Result<String, String>>;
    fn log(&self, level: Log, line: &str);
    /// What this isolate remembers between requests.
    fn isolate(&self) -> &Isolate;
}

/// `N` random bytes.
pub fn random<const N: usize>(h: &impl Host) -> [u8; N] {
    let mut b = [0u8; N];
    h.fill_random(&mut b);
    b
}

/// Logs an internal failure and answers with the one public error for it.
pub fn internal(h: &impl Host, what: &str, e: impl std::fmt::Display) -> ApiError {
    h.log(Log::Error, &format!("{what}: {e}"));
    error::UNAVAILABLE
}

/// One batch, its failure as it came: for a caller that reads a constraint's words.
pub async fn try_run(h: &impl Host, stmts: Vec<Stmt>, wake: bool) -> Result<Vec<Rows>, DbError> {
    h.db().batch(stmts, wake).await
}

/// One batch, a storage failure logged and answered as `server.unavailable`.
pub async fn run(h: &impl Host, stmts: Vec<Stmt>, wake: bool) -> Result<Vec<Rows>, ApiError> {
    if stmts.is_empty() && !wake {
        return Ok(vec![]);
    }
    h.db()
        .batch(stmts, wake)
        .await
        .map_err(|e| internal(h, "storage", e))
}

/// A paged body read whole: each page's statement run in turn until the last (the native
/// tests).
pub async fn drain(h: &impl Host, p: &crate::http::Paged) -> Result<Vec<u8>, ApiError> {
    let mut out = vec![];
    let mut cursor: Option<Vec<crate::sql::Val>> = None;
    let mut first = true;
    loop {
        let stmt = p.0.borrow().query(cursor.as_deref());
        let rows = run(h, vec![stmt], false).await?.pop();
        let (bytes, next) =
            p.0.borrow_mut()
                .page(text(rows.as_ref()), first)
                .map_err(|e| internal(h, "page", e))?;
        out.extend(bytes);
        first = false;
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// One statement's rows, typed.
pub async fn rows<T: crate::row::Row>(h: &impl Host, s: Stmt) -> Result<Vec<T>, ApiError> {
    let mut all = run(h, vec![s], false).await?;
    typed(h, all.pop())
}

/// One statement's rows, typed, from a batch's answer.
pub fn typed<T: crate::row::Row>(h: &impl Host, rows: Option<Rows>) -> Result<Vec<T>, ApiError> {
    match rows {
        Some(r) => crate::row::read(r.get()).map_err(|e| internal(h, "rows", e)),
        None => Ok(vec![]),
    }
}

/// A statement's rows as text: `[]` for a statement not run.
pub fn text(rows: Option<&Rows>) -> &str {
    rows.map_or("[]", |r| r.get())
}

/// How many rows a statement returned (none for a statement not run).
pub fn count(rows: Option<&Rows>) -> usize {
    rows.and_then(|r| crate::row::read::<crate::row::Any>(r.get()).ok())
        .map_or(0, |v| v.len())
}

/// What an isolate keeps between requests, one value per type: each feature keeps its own
/// (the directory's lookups, the results' memo, the request counters) without this module
/// knowing them.
#[derive(Default)]
pub struct Isolate {
    slots: RefCell<HashMap<TypeId, Box<dyn Any>>>,
}

impl Isolate {
    /// Runs `f` on this isolate's `T` (made with `Default` on first use).
    pub fn with<T: Default + 'static, R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut slots = self.slots.borrow_mut();
        let slot = slots
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()));
        f(slot.downcast_mut::<T>().expect("one value per type"))
    }
}
