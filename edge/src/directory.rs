//! The directory as every feature reads it: what it says about a code on the citizen's path
//! (its entry, the revocations naming it, its recent ratings; kept in this isolate's memory for
//! `DIRECTORY_CACHE_SECS`), and a code within an administrator's or a token's scope.

use crate::access::{self, Actor, Scope, scoped};
use crate::config::Config;
use crate::error::ApiError;
use crate::host::{self, Host, Isolate};
use crate::sql::Stmt;
use crate::{store, submit};
use wire::qr::CodeId;

#[derive(Default)]
struct Lookups {
    cache: Option<crate::cache::TtlCache<CodeId, submit::Lookup>>,
    /// How many times they were forgotten (`forget`).
    forgotten: u64,
}

/// The header with which the office's worker tells the citizen's that an answer changed the
/// directory (`forgotten` moved while it was handled): the citizen's forgets its lookups too.
pub const CHANGED_HEADER: &str = "zsp-directory-changed";

/// What the directory says about a code: from this isolate's memory (`DIRECTORY_CACHE_SECS`),
/// else one query.
pub async fn lookup(
    h: &impl Host,
    cfg: &Config,
    guard: &crate::guard::Settings,
    code: CodeId,
) -> Result<submit::Lookup, ApiError> {
    let t = h.now_ms();
    let ttl = f64::from(cfg.directory_cache_secs) * 1000.0;
    let cached = h.isolate().with(|c: &mut Lookups| {
        c.cache
            .get_or_insert_with(|| crate::cache::TtlCache::new(ttl, 50_000))
            .get(&code, t)
    });
    if let Some(l) = cached {
        return Ok(l);
    }
    let rows: Vec<store::LookupRow> =
        host::rows(h, store::lookup(code, h.now(), guard.pow_rise.minutes)).await?;
    let l = store::read_lookup(rows).map_err(|e| host::internal(h, "lookup", e))?;
    h.isolate().with(|c: &mut Lookups| {
        if let Some(c) = c.cache.as_mut() {
            c.put(code, l.clone(), t);
        }
    });
    Ok(l)
}

/// After a directory or revocation change: this isolate asks storage again at once.
pub fn forget_lookups(h: &impl Host) {
    forget(h.isolate());
}

/// [`forget_lookups`] on an isolate's memory: the citizen's worker's, when the office's answer
/// says [`CHANGED_HEADER`].
pub fn forget(isolate: &Isolate) {
    isolate.with(|c: &mut Lookups| {
        if let Some(c) = c.cache.as_mut() {
            c.clear();
        }
        c.forgotten += 1;
    });
}

/// How many times this isolate's lookups were forgotten.
pub fn forgotten(isolate: &Isolate) -> u64 {
    isolate.with(|c: &mut Lookups| c.forgotten)
}

// ---- codes within a scope ----

#[derive(Debug, Clone)]
pub struct CodeRow {
    pub code: String,
    pub json: String,
    /// The reason of a revocation naming this code or its staff member, if any.
    pub revoked: Option<String>,
}
crate::row!(CodeRow {
    code,
    json,
    revoked
});

pub(crate) const CODE_SELECT: &str = "SELECT code, json, \
     (SELECT COALESCE(reason, '已作废') FROM revocations r WHERE r.ref = entries.code \
        OR (r.kind = 'staff' AND r.ref = substr(entries.code, 9)) LIMIT 1) AS revoked FROM entries";

pub fn code(scope: &Scope, code: &str) -> Stmt {
    scoped(
        &format!("{CODE_SELECT} WHERE code = ?1 AND {{scope}}"),
        scope,
        vec![code.into()],
    )
}

/// A code of the directory within the actor's scope, with its entry; out of scope and unknown
/// are the same answer (`access::NOT_FOUND`).
pub async fn code_in_scope(
    h: &impl Host,
    me: &Actor,
    code: &str,
) -> Result<(CodeRow, wire::directory::Entry), ApiError> {
    let rows: Vec<CodeRow> = host::rows(h, self::code(&me.scope, code)).await?;
    let row = rows.into_iter().next().ok_or(access::NOT_FOUND)?;
    let e = serde_json::from_str(&row.json).map_err(|e| host::internal(h, "entry", e))?;
    Ok((row, e))
}
