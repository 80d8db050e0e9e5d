//! The data folder of a self-hosted edge: workerd keeps the storage object's SQLite database in
//! `<data>/<UNIQUE_KEY>/<object id>.sqlite` (WAL mode, POSIX locks: workerd wraps SQLite's own
//! unix VFS), beside its alarm table `metadata.sqlite`. zsp reads it with SQLite itself:
//!
//! - the schema version, so that `zsp serve` refuses data newer than its pack before workerd
//!   starts;
//! - `backup`: `VACUUM INTO`, one read transaction, so a consistent copy while the service
//!   writes (WAL readers never block the writer);
//! - `restore`: only with the service stopped (the lock `zsp serve` hands to workerd), and only
//!   after the file has been checked; what it replaces is moved aside, never deleted.

use crate::runtime::UNIQUE_KEY;
use crate::schema;
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

type Result<T> = std::result::Result<T, String>;

/// The table a backup carries (and a restore drops): what it is a copy of.
const BACKUP_TABLE: &str = "zsp_backup";

/// The storage object's database in `data`, if the service has made it yet.
pub fn database(data: &Path) -> Result<Option<PathBuf>> {
    let dir = data.join(UNIQUE_KEY);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut found = vec![];
    for e in entries {
        let p = e.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".sqlite") && name != "metadata.sqlite" {
            found.push(p);
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(format!(
            "{}: more than one storage database ({}); only one object is ever made",
            dir.display(),
            found.len()
        )),
    }
}

fn open(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let c = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // workerd may hold the write lock for a moment (a batch, a checkpoint).
    c.busy_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    Ok(c)
}

fn read_only(path: &Path) -> Result<Connection> {
    open(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
}

fn has_table(c: &Connection, name: &str) -> Result<bool> {
    c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(|e| e.to_string())
}

/// The schema version the data is at (0 before the first migration).
fn version_of(c: &Connection) -> Result<i64> {
    if !has_table(c, "zsp_schema")? {
        return Ok(0);
    }
    c.query_row(schema::APPLIED, [], |r| r.get(0))
        .map_err(|e| e.to_string())
}

/// The schema version of the data in `data` (`None`: no data yet).
pub fn data_version(data: &Path) -> Result<Option<i64>> {
    match database(data)? {
        None => Ok(None),
        Some(db) => version_of(&read_only(&db)?).map(Some),
    }
}

/// The data's database opened read-only, when the service has made it and its schema has
/// `table`; with its path, for the messages.
fn with_table(data: &Path, table: &str) -> Result<Option<(Connection, PathBuf)>> {
    let Some(db) = database(data)? else {
        return Ok(None);
    };
    let c = read_only(&db)?;
    Ok(has_table(&c, table)?.then_some((c, db)))
}

/// When the oldest rating that is not waiting for review was given (none: no data or no rating).
pub fn oldest_rating(data: &Path) -> Result<Option<i64>> {
    let Some((c, db)) = with_table(data, "ratings")? else {
        return Ok(None);
    };
    c.query_row(
        "SELECT MIN(rated_at) FROM ratings WHERE hold != 1",
        [],
        |r| r.get(0),
    )
    .map_err(|e| format!("{}: {e}", db.display()))
}

/// What the data records of keys (`key_prints`): name, fingerprint, authority. Empty before the
/// service made the data, or at a schema without the table.
pub fn key_prints(data: &Path) -> Result<Vec<(String, String, String)>> {
    let Some((c, db)) = with_table(data, "key_prints")? else {
        return Ok(vec![]);
    };
    let mut q = c
        .prepare("SELECT name, fingerprint, authority FROM key_prints ORDER BY name")
        .map_err(|e| format!("{}: {e}", db.display()))?;
    let rows = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|r| r.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", db.display()))?;
    Ok(rows)
}

/// The directory entries whose ratings `mapping` could not fill (a required field without its
/// value: `wire::envelope::Mapping::missing`), each as `区划 大厅 窗口 (code): fields`.
pub fn unmappable(
    data: &Path,
    mapping: wire::envelope::Mapping,
    region: &str,
) -> Result<Vec<String>> {
    if mapping.fields().is_empty() {
        return Ok(vec![]);
    }
    let Some((c, db)) = with_table(data, "entries")? else {
        return Ok(vec![]);
    };
    let mut q = c
        .prepare("SELECT json FROM entries ORDER BY code")
        .map_err(|e| format!("{}: {e}", db.display()))?;
    let jsons = q
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|r| r.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", db.display()))?;
    let mut out = vec![];
    for j in jsons {
        let e: wire::directory::Entry =
            serde_json::from_str(&j).map_err(|e| format!("{}: an entry: {e}", db.display()))?;
        let missing = mapping.missing(&e);
        if !missing.is_empty() && e.region.starts_with(region) {
            out.push(format!(
                "{} {} {} ({}): {}",
                e.region,
                e.hall,
                e.window,
                e.code,
                missing
                    .iter()
                    .map(|f| format!("{}（{}）", f.name, f.item))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(out)
}

/// The first code of the directory (by code), for `zsp selftest`.
pub fn first_entry(data: &Path) -> Result<Option<wire::directory::Entry>> {
    let Some((c, db)) = with_table(data, "entries")? else {
        return Ok(None);
    };
    let json: Option<String> = c
        .query_row("SELECT json FROM entries ORDER BY code LIMIT 1", [], |r| {
            r.get(0)
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(format!("{}: {e}", db.display())),
        })?;
    json.map(|j| serde_json::from_str(&j).map_err(|e| format!("{}: an entry: {e}", db.display())))
        .transpose()
}

/// Records the fingerprints of the secrets `zsp serve` starts with (the service is not running:
/// `serve` holds the lock). Nothing before the service made the data.
pub fn record_served(data: &Path, prints: &[(&str, String)]) -> Result<()> {
    let Some(db) = database(data)? else {
        return Ok(());
    };
    let c = open(&db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    if !has_table(&c, "key_prints")? {
        return Ok(());
    }
    for (name, fp) in prints {
        c.execute(
            "INSERT INTO key_prints (name, fingerprint, authority, at) VALUES (?1, ?2, '', ?3) \
             ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, at = excluded.at",
            rusqlite::params![name, fp, now()],
        )
        .map_err(|e| format!("{}: {e}", db.display()))?;
    }
    Ok(())
}

/// The newest schema this build knows.
pub fn latest() -> i64 {
    schema::MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Refuses data newer than this build, naming both versions; says what a start will migrate.
pub fn startable(data: &Path) -> Result<String> {
    match data_version(data)? {
        None => Ok(format!(
            "no data yet in {}: the first request creates it (schema {})",
            data.display(),
            latest()
        )),
        Some(v) => {
            schema::pending(v).map_err(|e| {
                let by = database(data)
                    .ok()
                    .flatten()
                    .and_then(|db| read_only(&db).ok())
                    .and_then(|c| {
                        c.query_row(schema::LAST_RELEASE, [], |r| r.get::<_, String>(0))
                            .ok()
                    })
                    .map(|r| format!(" (last opened by zhangshangping {r})"))
                    .unwrap_or_default();
                format!("{}{by}: {e}", data.display())
            })?;
            Ok(if v < latest() {
                format!(
                    "data at schema {v}: this release migrates it to {} on start, once",
                    latest()
                )
            } else {
                format!("data at schema {v}, this release's")
            })
        }
    }
}

/// Whether a `zsp serve` holds the data folder's lock (false when the lock cannot be opened:
/// that is no proof of a service).
pub fn serving(data: &Path) -> bool {
    matches!(ServeLock::take(data), Err(e) if e.contains("is in use"))
}

/// The lock `zsp serve` holds (through workerd) for as long as the service runs.
pub struct ServeLock {
    file: File,
}

impl ServeLock {
    /// Takes the data folder's lock, or says the service is running.
    pub fn take(data: &Path) -> Result<ServeLock> {
        let path = data.join("zsp.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return Err(format!(
                "{} is in use: zsp serve is running on it (stop it first: systemctl stop zhangshangping)",
                data.display()
            ));
        }
        Ok(ServeLock { file })
    }

    /// Keeps the lock across `exec`: workerd inherits the descriptor and holds the lock until it
    /// exits.
    pub fn inherit(&self) -> Result<()> {
        let fd = self.file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this value owns.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
            return Err(format!(
                "the data folder's lock: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
}

/// What a backup holds, as `zsp backup` and `zsp restore` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub schema: i64,
    pub ratings: i64,
    pub unforwarded: i64,
    pub codes: i64,
    pub bytes: u64,
    pub taken_at: i64,
    pub release: String,
    pub database: String,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ratings ({} not yet forwarded), {} codes, schema {}, {:.1} MB, taken at {} by zhangshangping {}",
            self.ratings,
            self.unforwarded,
            self.codes,
            self.schema,
            self.bytes as f64 / 1e6,
            wire::time::Day::from_unix(self.taken_at)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            self.release
        )
    }
}

fn count(c: &Connection, sql: &str) -> Result<i64> {
    c.query_row(sql, [], |r| r.get(0))
        .map_err(|e| e.to_string())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn fsync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// An online, consistent copy of the data into `out`, written beside it first and renamed into
/// place once complete and checked.
pub fn backup(data: &Path, out: &Path, release: &str) -> Result<Summary> {
    let db = database(data)?.ok_or_else(|| {
        format!(
            "{}: no data yet (the service creates it on its first request)",
            data.display()
        )
    })?;
    let name = db
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(format!(
            "{}: the folder {} does not exist",
            out.display(),
            folder.display()
        ));
    }
    let tmp = out.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    // Readable by its owner only from its first byte, whatever the caller's umask (SQLite
    // writes into an empty file it is given).
    drop(private_file(&tmp)?);
    let tmp_text = tmp
        .to_str()
        .ok_or_else(|| format!("{}: not a UTF-8 path", tmp.display()))?;
    read_only(&db)?
        .execute("VACUUM INTO ?1", [tmp_text])
        .map_err(|e| format!("copying {} into {}: {e}", db.display(), tmp.display()))?;
    {
        let c = open(&tmp, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        c.execute_batch(&format!(
            "CREATE TABLE {BACKUP_TABLE} (database TEXT NOT NULL, taken_at INTEGER NOT NULL, release TEXT NOT NULL)"
        ))
        .and_then(|_| {
            c.execute(
                &format!("INSERT INTO {BACKUP_TABLE} VALUES (?1, ?2, ?3)"),
                rusqlite::params![name, now(), release],
            )
        })
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    }
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    let summary = check_backup(&tmp)?;
    std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))?;
    fsync_dir(folder);
    Ok(summary)
}

/// Creates `path` empty, readable and writable by its owner only (0600).
fn private_file(path: &Path) -> Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Opens a backup and checks it whole: SQLite's integrity check, the table that makes it ours,
/// a schema this build can serve.
pub fn check_backup(file: &Path) -> Result<Summary> {
    let bytes = std::fs::metadata(file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    let c = read_only(file)?;
    let bad = |why: String| format!("{} is not a usable backup: {why}", file.display());
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| bad(e.to_string()))?;
    if ok != "ok" {
        return Err(bad(format!("SQLite's integrity check says {ok}")));
    }
    if !has_table(&c, BACKUP_TABLE).map_err(bad)? {
        return Err(bad("it was not made by zsp backup".into()));
    }
    let (database, taken_at, release) = c
        .query_row(
            &format!("SELECT database, taken_at, release FROM {BACKUP_TABLE}"),
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| bad(e.to_string()))?;
    let valid_name = database.ends_with(".sqlite")
        && database != "metadata.sqlite"
        && !database.contains(['/', '\\'])
        && !database.starts_with('.');
    if !valid_name {
        return Err(bad(format!("it names no storage database ({database:?})")));
    }
    let v = version_of(&c).map_err(bad)?;
    schema::pending(v).map_err(bad)?;
    Ok(Summary {
        schema: v,
        ratings: count(&c, "SELECT count(*) FROM ratings").map_err(bad)?,
        // Held and rejected ratings are never forwarded: not owed (from schema 6, which has them);
        // from schema 16 what is owed is each receiver's.
        unforwarded: count(
            &c,
            if v >= 16 {
                concat!("SELECT count(*) FROM ratings WHERE ", crate::pending!())
            } else if v >= 6 {
                "SELECT count(*) FROM ratings WHERE forwarded_rev < rev AND hold IN (0, 3)"
            } else {
                "SELECT count(*) FROM ratings WHERE forwarded_rev < rev"
            },
        )
        .map_err(bad)?,
        codes: count(&c, "SELECT count(*) FROM entries").map_err(bad)?,
        bytes,
        taken_at,
        release,
        database,
    })
}

/// Replaces the data in `data` with a backup: the service must be stopped (its lock is taken
/// for the whole restore) and the file is checked first. The replaced files move to
/// `<data>/before-restore-<unix time>/`; earlier such copies are removed unless `keep_all`
/// (personal data is not kept in copies nobody asked for).
pub fn restore(data: &Path, file: &Path, keep_all: bool) -> Result<(Summary, Option<PathBuf>)> {
    let summary = check_backup(file)?;
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let _lock = ServeLock::take(data)?;
    let dir = data.join(UNIQUE_KEY);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let target = dir.join(&summary.database);
    let tmp = dir.join(format!("{}.restoring", summary.database));
    let _ = std::fs::remove_file(&tmp);
    // Copied into a file that is its owner's alone from its first byte, whatever the backup's
    // mode was (`fs::copy` would give it the source's).
    let mut from = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    std::io::copy(&mut from, &mut private_file(&tmp)?)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    {
        let c = open(&tmp, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        c.execute_batch(&format!("DROP TABLE {BACKUP_TABLE}"))
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
    }
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut aside = None;
    let old: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".sqlite") || n.ends_with(".sqlite-wal") || n.ends_with(".sqlite-shm")
        })
        .filter(|p| !p.ends_with("metadata.sqlite"))
        .collect();
    if !old.is_empty() {
        if !keep_all {
            let earlier = std::fs::read_dir(data)
                .map_err(|e| format!("{}: {e}", data.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("before-restore-"))
                });
            for p in earlier {
                std::fs::remove_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
        let to = data.join(format!("before-restore-{}", now()));
        std::fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
        for p in old {
            let name = p.file_name().unwrap_or_default();
            std::fs::rename(&p, to.join(name)).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        aside = Some(to);
    }
    std::fs::rename(&tmp, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    fsync_dir(&dir);
    Ok((summary, aside))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zsp-data-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join(UNIQUE_KEY)).unwrap();
        d
    }

    /// A data folder as the worker leaves it: every migration applied, a few rows.
    fn served(name: &str, version: i64) -> PathBuf {
        let d = folder(name);
        let c = Connection::open(d.join(UNIQUE_KEY).join("abc123.sqlite")).unwrap();
        c.execute_batch("PRAGMA journal_mode=WAL").unwrap();
        c.execute_batch(schema::VERSIONS_TABLE).unwrap();
        for m in schema::MIGRATIONS.iter().filter(|m| m.version <= version) {
            for s in schema::statements(m.sql) {
                c.execute_batch(&s).unwrap();
            }
            c.execute(schema::RECORD, rusqlite::params![m.version, m.name, 1])
                .unwrap();
        }
        c.execute("INSERT INTO entries VALUES ('c1', '{}')", [])
            .unwrap();
        d
    }

    #[test]
    fn a_backup_restores_into_another_folder_and_moves_the_old_data_aside() {
        let a = served("a", latest());
        let out = a.join("b.sqlite");
        let s = backup(&a, &out, "9.9.9").unwrap();
        assert_eq!((s.codes, s.ratings, s.schema), (1, 0, latest()));
        assert_eq!(s.database, "abc123.sqlite");
        assert!(!out.with_extension("partial").exists());
        let nowhere = a.join("no/such/folder/b.sqlite");
        assert!(
            backup(&a, &nowhere, "9.9.9")
                .unwrap_err()
                .contains("does not exist")
        );
        let b = served("b", latest());
        let (r, aside) = restore(&b, &out, false).unwrap();
        assert_eq!(r, s);
        assert!(aside.unwrap().join("abc123.sqlite").exists());
        let db = database(&b).unwrap().unwrap();
        assert!(!has_table(&read_only(&db).unwrap(), BACKUP_TABLE).unwrap());
        assert_eq!(data_version(&b).unwrap(), Some(latest()));
        // Owner-only, whatever the umask (the test runs under the caller's, commonly 022).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&out), 0o600, "the backup");
            assert_eq!(mode(&db), 0o600, "the restored data");
        }
        // Restored again (a second later): only the last copy of what it replaced is kept…
        std::thread::sleep(std::time::Duration::from_millis(1100));
        restore(&b, &out, false).unwrap();
        let copies = || {
            std::fs::read_dir(&b)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("before-restore-")
                })
                .count()
        };
        assert_eq!(copies(), 1);
        // …unless the operator asks for all.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        restore(&b, &out, true).unwrap();
        assert_eq!(copies(), 2);
    }

    /// A backup a release before several receivers took (its ratings owed by their own
    /// columns) says what it owes as one taken now does.
    #[test]
    fn a_backup_of_any_schema_says_how_many_ratings_are_owed() {
        for (version, owed) in [(5, 1), (15, 1), (latest(), 0)] {
            let a = served(&format!("v{version}"), version);
            let c = Connection::open(a.join(UNIQUE_KEY).join("abc123.sqlite")).unwrap();
            c.execute(
                "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, \
                 rated_at, level, tags, tag_version, comment, flagged, via, entry, next_attempt_at) \
                 VALUES ('r1', 'c1', 'd', 0, 1, 1, 'r1', 1, 'satisfied', '', 1, '', 0, 'app', '{}', 1)",
                [],
            )
            .unwrap();
            drop(c);
            let out = a.join("b.sqlite");
            let s = backup(&a, &out, "9.9.9").unwrap();
            // With no receiver in the settings (the latest schema's `receivers`, all inactive),
            // nothing is owed.
            assert_eq!(
                (s.schema, s.ratings, s.unforwarded),
                (version, 1, owed),
                "{version}"
            );
        }
    }

    #[test]
    fn restore_refuses_while_serving_and_bad_files_before_touching_anything() {
        let a = served("c", latest());
        let out = a.join("b.sqlite");
        backup(&a, &out, "1").unwrap();
        let lock = ServeLock::take(&a).unwrap();
        let e = restore(&a, &out, false).unwrap_err();
        assert!(e.contains("zsp serve is running"), "{e}");
        drop(lock);
        let junk = a.join("junk.sqlite");
        std::fs::write(&junk, b"not a database at all").unwrap();
        assert!(
            restore(&a, &junk, false)
                .unwrap_err()
                .contains("not a usable backup")
        );
        let plain = a.join("plain.sqlite");
        Connection::open(&plain)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        assert!(
            restore(&a, &plain, false)
                .unwrap_err()
                .contains("not made by zsp backup")
        );
        assert!(
            restore(&a, &a.join("missing.sqlite"), false)
                .unwrap_err()
                .contains("missing.sqlite")
        );
        // Nothing was moved aside.
        assert!(std::fs::read_dir(&a).unwrap().all(|e| {
            !e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("before-")
        }));
    }

    #[test]
    fn data_newer_than_this_build_is_refused_by_name() {
        let a = served("d", latest());
        let db = database(&a).unwrap().unwrap();
        let c = Connection::open(&db).unwrap();
        c.execute(
            schema::RECORD,
            rusqlite::params![latest() + 1, "9999_future.sql", 2],
        )
        .unwrap();
        c.execute(schema::OPENED, rusqlite::params!["9.0.0", 5])
            .unwrap();
        drop(c);
        let e = startable(&a).unwrap_err();
        assert!(
            e.contains(&format!("schema version {}", latest() + 1)),
            "{e}"
        );
        assert!(e.contains("last opened by zhangshangping 9.0.0"), "{e}");
        assert!(startable(&folder("e")).unwrap().contains("no data yet"));
    }
}
