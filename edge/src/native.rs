//! The host traits over plain Rust, for the native tests: the storage object is SQLite itself
//! (each batch one transaction, rolled back whole on an error, as the object's
//! `transactionSync`), the clock is set by the test, randomness is seeded, PBKDF2 and DEFLATE are
//! computed here, and the site's files are a minimal template with the edge's markers. Every
//! handler runs over it exactly as on workerd.

use crate::host::{Db, DbError, Host, Isolate, Log};
use crate::schema;
use crate::sql::{Stmt, Val};
use rusqlite::Connection;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::task::{Context, Poll};

/// SQLite with every migration applied.
pub struct Sqlite {
    conn: RefCell<Connection>,
    /// Batches that asked to wake the outbox.
    pub wakes: Cell<u32>,
}

impl Sqlite {
    pub fn memory() -> Sqlite {
        let c = Connection::open_in_memory().expect("SQLite in memory");
        c.execute_batch(schema::VERSIONS_TABLE).expect("versions");
        for m in schema::MIGRATIONS {
            for s in schema::statements(m.sql) {
                c.execute_batch(&s)
                    .unwrap_or_else(|e| panic!("{}: {e}", m.name));
            }
        }
        Sqlite {
            conn: RefCell::new(c),
            wakes: Cell::new(0),
        }
    }

    /// A copy of the database as it is now, by SQLite's online backup: a fixture built once and
    /// copied for each case that must start from it untouched.
    pub fn fork(&self) -> Sqlite {
        let mut c = Connection::open_in_memory().expect("SQLite in memory");
        let step = rusqlite::backup::Backup::new(&self.conn.borrow(), &mut c)
            .and_then(|b| b.step(-1))
            .expect("a copy of the test's database");
        assert_eq!(step, rusqlite::backup::StepResult::Done, "copied whole");
        Sqlite {
            conn: RefCell::new(c),
            wakes: Cell::new(0),
        }
    }

    /// The connection itself, for tests that run statements one by one.
    pub fn into_conn(self) -> Connection {
        self.conn.into_inner()
    }

    /// The connection, for a test's own statements.
    pub fn conn(&self) -> std::cell::Ref<'_, Connection> {
        self.conn.borrow()
    }

    /// Runs a batch in one transaction: the rows of each statement, or SQLite's words.
    pub fn run(&self, stmts: &[Stmt]) -> Result<Vec<serde_json::Value>, DbError> {
        let mut c = self.conn.borrow_mut();
        let tx = c
            .transaction()
            .map_err(|e| DbError::Runtime(e.to_string()))?;
        let mut out = vec![];
        for s in stmts {
            out.push(serde_json::Value::Array(
                query(&tx, s).map_err(|e| DbError::Sql(e.to_string()))?,
            ));
        }
        tx.commit().map_err(|e| DbError::Sql(e.to_string()))?;
        Ok(out)
    }
}

pub fn bind(v: &Val) -> rusqlite::types::Value {
    match v {
        Val::Int(i) => (*i).into(),
        Val::Text(t) => t.clone().into(),
        Val::Null => rusqlite::types::Value::Null,
    }
}

/// One statement's rows as JSON objects, as the storage object returns them.
pub fn query(c: &Connection, s: &Stmt) -> rusqlite::Result<Vec<serde_json::Value>> {
    let mut q = c.prepare_cached(&s.sql)?;
    let names: Vec<String> = q.column_names().iter().map(|n| n.to_string()).collect();
    let args: Vec<_> = s.args.iter().map(bind).collect();
    let mut rows = q.query(rusqlite::params_from_iter(args))?;
    let mut out = vec![];
    while let Some(r) = rows.next()? {
        let mut o = serde_json::Map::new();
        for (i, n) in names.iter().enumerate() {
            use rusqlite::types::ValueRef;
            let v = match r.get_ref(i)? {
                ValueRef::Integer(i) => i.into(),
                ValueRef::Real(f) => {
                    serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
                }
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Null => serde_json::Value::Null,
                // The object hands a BLOB over as an ArrayBuffer, which JSON shows as `{}`.
                ValueRef::Blob(_) => serde_json::Value::Object(Default::default()),
            };
            o.insert(n.clone(), v);
        }
        out.push(serde_json::Value::Object(o));
    }
    Ok(out)
}

impl Db for Sqlite {
    fn batch(
        &self,
        stmts: Vec<Stmt>,
        wake: bool,
    ) -> impl Future<Output = Result<Vec<crate::host::Rows>, DbError>> {
        // As the storage object sends them: each statement's rows as JSON text.
        let r = self.run(&stmts).map(|all| {
            all.iter()
                .map(|rows| serde_json::value::to_raw_value(rows).expect("JSON values"))
                .collect()
        });
        if wake && r.is_ok() {
            self.wakes.set(self.wakes.get() + 1);
        }
        std::future::ready(r)
    }
}

/// The template the tests' pages are filled into: the edge's markers, an inline style, the
/// app's script and its preloads, as `xtask::site` writes `index.html`.
pub const TEMPLATE: &str = "<!doctype html><html lang=\"%ZSP_LANG%\"><head><meta charset=\"utf-8\">\
<title><!--zsp:title--></title><style>body{margin:0}</style>\
<link rel=\"modulepreload\" href=\"/assets/app-0123456789.js\"></head><body><!--zsp:header-->\
<main><!--zsp:main--></main><!--zsp:boot--><script type=\"module\" src=\"/assets/app-0123456789.js\"></script></body></html>";

/// The host of the native tests.
pub struct TestHost {
    pub db: Sqlite,
    /// Unix seconds.
    pub clock: Cell<i64>,
    rng: Cell<u64>,
    isolate: Isolate,
    pub logs: RefCell<Vec<String>>,
    /// Password hashes computed (PBKDF2 runs).
    pub hashes: Cell<u32>,
}

impl TestHost {
    pub fn new(now: i64) -> TestHost {
        TestHost {
            db: Sqlite::memory(),
            clock: Cell::new(now),
            rng: Cell::new(0x9e37_79b9_7f4a_7c15),
            isolate: Isolate::default(),
            logs: RefCell::new(vec![]),
            hashes: Cell::new(0),
        }
    }

    /// A host whose storage is a copy of this one's ([`Sqlite::fork`]), at the same time and
    /// with the same next random numbers; its isolate is a fresh one (no caches, no counters),
    /// as after a restart, and nothing logged yet.
    pub fn fork(&self) -> TestHost {
        TestHost {
            db: self.db.fork(),
            clock: Cell::new(self.clock.get()),
            rng: Cell::new(self.rng.get()),
            isolate: Isolate::default(),
            logs: RefCell::new(vec![]),
            hashes: Cell::new(0),
        }
    }

    pub fn advance(&self, secs: i64) {
        self.clock.set(self.clock.get() + secs);
    }

    /// The lines logged at `Error`.
    pub fn errors(&self) -> Vec<String> {
        self.logs
            .borrow()
            .iter()
            .filter(|l| l.starts_with("error: "))
            .cloned()
            .collect()
    }
}

impl Host for TestHost {
    type Db = Sqlite;

    fn db(&self) -> &Sqlite {
        &self.db
    }

    fn now(&self) -> i64 {
        self.clock.get()
    }

    fn now_ms(&self) -> f64 {
        self.clock.get() as f64 * 1000.0
    }

    fn fill_random(&self, buf: &mut [u8]) {
        // splitmix64: repeatable within a test, never the same value twice.
        for b in buf.iter_mut() {
            let mut z = self.rng.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            self.rng.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *b = (z ^ (z >> 31)) as u8;
        }
    }

    fn pbkdf2(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> impl Future<Output = Result<Vec<u8>, String>> {
        self.hashes.set(self.hashes.get() + 1);
        std::future::ready(Ok(pbkdf2_sha256(password, salt, iterations).to_vec()))
    }

    fn deflate_raw(&self, raw: &[u8]) -> impl Future<Output = Result<Vec<u8>, String>> {
        std::future::ready(Ok(miniz_oxide::deflate::compress_to_vec(raw, 6)))
    }

    fn site_file(&self, name: &str) -> impl Future<Output = Result<String, String>> {
        std::future::ready(match name {
            "index.html" | "kiosk.html" => Ok(TEMPLATE.to_owned()),
            other => Err(format!("no site file {other}")),
        })
    }

    fn log(&self, level: Log, line: &str) {
        let l = match level {
            Log::Info => "info",
            Log::Warn => "warn",
            Log::Error => "error",
        };
        self.logs.borrow_mut().push(format!("{l}: {line}"));
    }

    fn isolate(&self) -> &Isolate {
        &self.isolate
    }
}

/// PBKDF2-HMAC-SHA-256 (RFC 8018), one 32-byte block: what WebCrypto computes in the runtime.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    type H = Hmac<sha2::Sha256>;
    let mac = H::new_from_slice(password).expect("any key length");
    let mut u: [u8; 32] = {
        let mut m = mac.clone();
        m.update(salt);
        m.update(&1u32.to_be_bytes());
        m.finalize().into_bytes().into()
    };
    let mut t = u;
    for _ in 1..iterations {
        let mut m = mac.clone();
        m.update(&u);
        u = m.finalize().into_bytes().into();
        t.iter_mut().zip(u).for_each(|(a, b)| *a ^= b);
    }
    t
}

/// An answer as a client receives it: a paged body (an export) read whole.
pub fn settle(h: &TestHost, mut r: crate::http::Response) -> crate::http::Response {
    if let crate::http::Body::Paged(p) = &r.body {
        let bytes = block_on(crate::host::drain(h, p)).expect("the pages read");
        r.body = crate::http::Body::Bytes(bytes);
    }
    r
}

/// Runs a handler's future to its end. Natively nothing waits (storage, PBKDF2 and DEFLATE
/// answer at once), so one poll finishes it; a future that would wait is a bug here.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a native future waited"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::stmt;

    #[test]
    fn pbkdf2_matches_rfc_7914s_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64), first 32 bytes.
        let out = pbkdf2_sha256(b"passwd", b"salt", 1);
        assert_eq!(
            wire::key::hex(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn a_failing_batch_changes_nothing() {
        let h = TestHost::new(1_800_000_000);
        let ok = stmt(
            "INSERT INTO used_challenges (nonce, expires_at) VALUES ('a', 1)",
            vec![],
        );
        block_on(h.db.batch(vec![ok.clone()], true)).unwrap();
        let err = block_on(h.db.batch(
            vec![
                stmt(
                    "INSERT INTO used_challenges (nonce, expires_at) VALUES ('b', 1)",
                    vec![],
                ),
                ok,
            ],
            false,
        ))
        .unwrap_err();
        assert!(
            matches!(&err, DbError::Sql(m) if m.contains("used_challenges")),
            "{err:?}"
        );
        let n = block_on(h.db.batch(
            vec![stmt("SELECT COUNT(*) AS n FROM used_challenges", vec![])],
            false,
        ))
        .unwrap();
        assert_eq!(n[0].get(), r#"[{"n":1}]"#);
        assert_eq!(h.db.wakes.get(), 1);
    }

    #[test]
    fn a_fork_starts_as_a_copy_and_goes_its_own_way() {
        let insert = |h: &TestHost, nonce: &str| {
            block_on(h.db.batch(
                vec![stmt(
                    "INSERT INTO used_challenges (nonce, expires_at) VALUES (?1, 1)",
                    vec![nonce.into()],
                )],
                false,
            ))
            .unwrap();
        };
        let nonces = |h: &TestHost| {
            let rows = block_on(h.db.batch(
                vec![stmt(
                    "SELECT group_concat(nonce) AS n FROM (SELECT nonce FROM used_challenges ORDER BY nonce)",
                    vec![],
                )],
                false,
            ))
            .unwrap();
            rows[0].get().to_owned()
        };
        let h = TestHost::new(1_800_000_000);
        insert(&h, "a");
        h.advance(5);
        let f = h.fork();
        assert_eq!(f.clock.get(), 1_800_000_005);
        insert(&f, "b");
        insert(&h, "c");
        assert_eq!(nonces(&h), r#"[{"n":"a,c"}]"#);
        assert_eq!(nonces(&f), r#"[{"n":"a,b"}]"#);
    }
}
