//! The storage object's SQL: a batch of statements in one `transactionSync`, their rows as JSON,
//! and the migrations; what the object, the forwarding and the fast lane run on its storage.

use super::env::now;
use crate::schema;
use crate::sql::{Stmt, Val};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use worker::*;

/// The binding's name in the worker's config, and the one object's name (see ARCHITECTURE.md,
/// "One storage object").
pub const BINDING: &str = "STORE";
pub const OBJECT_NAME: &str = "main";

fn to_js(v: &Val) -> SqlStorageValue {
    match v {
        Val::Int(i) => SqlStorageValue::Integer(*i),
        Val::Text(t) => SqlStorageValue::String(t.clone()),
        Val::Null => SqlStorageValue::Null,
    }
}

/// Runs `f` inside `storage.transactionSync`: everything it executes commits together, or, when
/// it fails, none of it does. (workers-rs exposes only the asynchronous transaction.)
fn transaction(
    storage: &Storage,
    f: impl FnOnce() -> std::result::Result<(), String> + 'static,
) -> std::result::Result<(), String> {
    let raw: &JsValue = storage.as_raw().as_ref();
    let sync = js_sys::Reflect::get(raw, &JsValue::from_str("transactionSync"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("storage.transactionSync is missing (an SQLite-backed object is needed)")?;
    let body = Closure::once(move || -> std::result::Result<JsValue, JsValue> {
        f().map(|()| JsValue::UNDEFINED)
            .map_err(|e| js_sys::Error::new(&e).into())
    });
    sync.call1(raw, body.as_ref().unchecked_ref())
        .map(|_| ())
        .map_err(|e| Error::from(e).to_string())
}

/// Runs statements in one transaction; their rows, as a JSON array of arrays of row objects.
/// A JavaScript method of `target`, to call.
fn method(target: &JsValue, name: &str) -> std::result::Result<js_sys::Function, String> {
    js_sys::Reflect::get(target, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| format!("{name} is missing"))
}

pub fn run(storage: &Storage, stmts: Vec<Stmt>) -> std::result::Result<String, String> {
    let sql: JsValue = storage.sql().as_ref().clone();
    let out = Rc::new(RefCell::new(String::new()));
    let result = out.clone();
    transaction(storage, move || {
        // Each statement's rows in one call (`exec(…).toArray()`): a few crossings into
        // JavaScript a statement, not four a row.
        let exec = method(&sql, "exec")?;
        let all = js_sys::Array::new();
        for s in &stmts {
            let call = js_sys::Array::new();
            call.push(&JsValue::from_str(&s.sql));
            for v in &s.args {
                call.push(&JsValue::from(to_js(v)));
            }
            let cursor = exec
                .apply(&sql, &call)
                .map_err(|e| Error::from(e).to_string())?;
            let rows = method(&cursor, "toArray")?
                .call0(&cursor)
                .map_err(|e| Error::from(e).to_string())?;
            all.push(&rows);
        }
        let json = js_sys::JSON::stringify(&all).map_err(|e| Error::from(e).to_string())?;
        *result.borrow_mut() = String::from(json);
        Ok(())
    })?;
    Ok(out.take())
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
    let sql = storage.sql();
    sql.exec(schema::VERSIONS_TABLE, None)
        .map_err(|e| e.to_string())?;
    #[derive(serde::Deserialize)]
    struct Applied {
        version: i64,
    }
    let applied: Applied = sql
        .exec(schema::APPLIED, None)
        .and_then(|c| c.one())
        .map_err(|e| e.to_string())?;
    for m in schema::pending(applied.version)? {
        let sql = storage.sql();
        transaction(storage, move || {
            for s in schema::statements(m.sql) {
                sql.exec(&s, None).map_err(|e| format!("{}: {e}", m.name))?;
            }
            sql.exec(
                schema::RECORD,
                vec![m.version.into(), m.name.into(), now().into()],
            )
            .map_err(|e| e.to_string())?;
            Ok(())
        })?;
        console_log!("storage schema: applied {}", m.name);
    }
    sql.exec(schema::OPENED, vec![schema::RELEASE.into(), now().into()])
        .map_err(|e| e.to_string())?;
    Ok(())
}
