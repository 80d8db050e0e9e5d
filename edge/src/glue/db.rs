//! The worker's handle on the storage object: a batch of statements goes in as JSON, their rows
//! come back. The object runs the batch in one transaction; a constraint that fails comes back
//! as `DbError::Sql` with SQLite's words, for `store::conflict` to read.

use super::storage::{BINDING, OBJECT_NAME, SQL_ERROR};
use crate::host::DbError;
use crate::sql::{Batch, Stmt};
use wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;
use worker::*;

/// The storage object's stub, opened on the first batch: a request that needs no storage (a
/// file, a landing page whose code this isolate looked up a moment ago) never opens it.
/// It holds its own handle on the environment (a reference to the runtime's object), so a
/// streamed answer can keep asking after the handler has returned.
pub struct Db {
    env: Env,
    stub: std::cell::OnceCell<std::result::Result<Stub, String>>,
}

impl Db {
    pub fn new(env: &Env) -> Db {
        Db {
            env: env.clone(),
            stub: std::cell::OnceCell::new(),
        }
    }

    /// The one storage object of this deployment.
    fn stub(&self) -> std::result::Result<&Stub, DbError> {
        self.stub
            .get_or_init(|| {
                self.env
                    .durable_object(BINDING)
                    .and_then(|ns| ns.id_from_name(OBJECT_NAME)?.get_stub())
                    .map_err(|e| format!("binding {BINDING}: {e}"))
            })
            .as_ref()
            .map_err(|e| DbError::Runtime(e.clone()))
    }
}

impl crate::host::Db for Db {
    async fn batch(
        &self,
        stmts: Vec<Stmt>,
        wake: bool,
    ) -> std::result::Result<Vec<crate::host::Rows>, DbError> {
        let body = serde_json::to_string(&Batch { stmts, wake })
            .map_err(|e| DbError::Runtime(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(JsValue::from_str(&body)));
        let req = Request::new_with_init("http://store/batch", &init)
            .map_err(|e| DbError::Runtime(e.to_string()))?;
        let r = self
            .stub()?
            .fetch_with_request(req)
            .await
            .map_err(|e| DbError::Runtime(e.to_string()))?;
        let status = r.status_code();
        // The body in one call (workers-rs' `text` reads a response chunk by chunk through a
        // stream reader: a tenth of a submission's time).
        let raw: web_sys::Response = r.into();
        let text = match raw.text() {
            Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_string()),
            Err(_) => None,
        }
        .ok_or_else(|| DbError::Runtime("reading the storage object's answer".into()))?;
        match status {
            200 => serde_json::from_str(&text).map_err(|e| DbError::Runtime(e.to_string())),
            SQL_ERROR => Err(DbError::Sql(text)),
            s => Err(DbError::Runtime(format!("{s}: {text}"))),
        }
    }
}
