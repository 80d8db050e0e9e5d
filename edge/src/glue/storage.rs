//! The storage object's SQL: a batch of statements in one `transactionSync`, their rows as JSON,
//! and the migrations; what the object, the forwarding and the fast lane run on its storage.

use super::env::now;
use crate::schema;
use crate::sql::{Stmt, stmt};
use wasm_bindgen::prelude::*;
use worker::*;

#[wasm_bindgen(module = "/src/glue/batch.js")]
extern "C" {
    /// A batch (`group::batch_json`) in one `transactionSync`: its statements' rows as JSON.
    #[wasm_bindgen(catch, js_name = runBatch)]
    fn run_batch(storage: &JsValue, batch: &str) -> std::result::Result<String, JsValue>;
    /// A call (`group::call_json`): each batch's answer (`group::answers`), as JSON.
    #[wasm_bindgen(catch, js_name = runCall)]
    pub fn run_call(storage: &JsValue, call: &str) -> std::result::Result<String, JsValue>;
}

/// The object's storage as the runtime's object (for `run_call`).
pub fn raw(storage: &Storage) -> &JsValue {
    storage.as_raw().as_ref()
}

/// Runs statements in one transaction; their rows, as a JSON array of arrays of row objects.
/// The statements cross into JavaScript as one JSON text, and the rows come back as one
/// (`batch.js`).
pub fn run(storage: &Storage, stmts: Vec<Stmt>) -> std::result::Result<String, String> {
    run_batch(raw(storage), &crate::group::batch_json(&stmts))
        .map_err(|e| Error::from(e).to_string())
}

/// One statement's rows, typed.
pub fn rows<T: crate::row::Row>(storage: &Storage, s: Stmt) -> std::result::Result<Vec<T>, String> {
    first_rows(storage, vec![s])
}

/// Runs statements in one transaction; the first one's rows, typed (a claim and its lease).
pub fn first_rows<T: crate::row::Row>(
    storage: &Storage,
    stmts: Vec<Stmt>,
) -> std::result::Result<Vec<T>, String> {
    let json = run(storage, stmts)?;
    let all: Vec<crate::host::Rows> = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    match all.first() {
        Some(r) => crate::row::read(r.get()),
        None => Ok(vec![]),
    }
}

/// Brings the schema up to date: each pending migration and its record in one transaction.
pub fn migrate(storage: &Storage) -> std::result::Result<(), String> {
    run(storage, vec![stmt(schema::VERSIONS_TABLE, vec![])])?;
    struct Applied {
        version: i64,
    }
    crate::row!(Applied { version });
    let applied = rows::<Applied>(storage, stmt(schema::APPLIED, vec![]))?
        .pop()
        .map_or(0, |a| a.version);
    for m in schema::pending(applied)? {
        let mut stmts: Vec<Stmt> = schema::statements(m.sql)
            .into_iter()
            .map(|s| stmt(s, vec![]))
            .collect();
        stmts.push(stmt(
            schema::RECORD,
            vec![m.version.into(), m.name.into(), now().into()],
        ));
        run(storage, stmts).map_err(|e| format!("{}: {e}", m.name))?;
        console_log!("storage schema: applied {}", m.name);
    }
    run(
        storage,
        vec![stmt(
            schema::OPENED,
            vec![schema::RELEASE.into(), now().into()],
        )],
    )?;
    Ok(())
}
