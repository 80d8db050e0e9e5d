//! The storage object's schema: the SQL files of `edge/migrations/`, applied in order when the
//! object starts, each in its own transaction with its version recorded in `zsp_schema`. A file
//! once released is never edited; a change is a new file.

/// One migration: its version (the file's number), file name and SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $name)),
        }
    };
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_init.sql"),
    migration!(2, "0002_releases.sql"),
    migration!(3, "0003_console.sql"),
    migration!(4, "0004_cases.sql"),
    migration!(5, "0005_results.sql"),
    migration!(6, "0006_held.sql"),
    migration!(7, "0007_links.sql"),
    migration!(8, "0008_kiosk.sql"),
    migration!(9, "0009_places.sql"),
];

/// The table that records what has been applied (created before anything else).
pub const VERSIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS zsp_schema (\
     version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)";

pub const APPLIED: &str = "SELECT COALESCE(MAX(version), 0) AS version FROM zsp_schema";

pub const RECORD: &str = "INSERT INTO zsp_schema (version, name, applied_at) VALUES (?1, ?2, ?3)";

/// This release has opened the data (?1 release, ?2 unix time): run at every start, after the
/// migrations.
pub const OPENED: &str = "INSERT INTO releases (release, first_at, last_at) VALUES (?1, ?2, ?2) \
     ON CONFLICT (release) DO UPDATE SET last_at = excluded.last_at";

/// The release that opened the data last.
pub const LAST_RELEASE: &str = "SELECT release FROM releases ORDER BY last_at DESC LIMIT 1";

/// The release this build is.
pub const RELEASE: &str = env!("CARGO_PKG_VERSION");

/// The migrations newer than `applied`, oldest first. Data newer than this build (a downgrade)
/// is refused rather than run against a schema the code does not know.
pub fn pending(applied: i64) -> Result<&'static [Migration], String> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    if applied > latest {
        return Err(format!(
            "the data is at schema version {applied}, newer than this build's {latest}: \
             run the newer release, or restore a backup made by this one"
        ));
    }
    let from = MIGRATIONS.partition_point(|m| m.version <= applied);
    Ok(&MIGRATIONS[from..])
}

/// The statements of one migration file, split at the semicolons that end a line (the files keep
/// one statement per such line; comments are dropped).
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    for line in sql.lines() {
        let code = line.split("--").next().unwrap_or("").trim_end();
        if code.trim().is_empty() {
            continue;
        }
        cur.push_str(code);
        cur.push('\n');
        // A trigger's body has statements of its own: it ends at `END;`.
        let trigger = cur.trim_start().starts_with("CREATE TRIGGER");
        if code.ends_with(';') && (!trigger || code.trim() == "END;") {
            out.push(cur.trim().trim_end_matches(';').to_owned());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_listed_in_order_and_numbered_by_its_name() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(files, listed, "a migration file is not in MIGRATIONS");
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
        }
    }

    #[test]
    fn pending_migrations() {
        assert_eq!(pending(0).unwrap().len(), MIGRATIONS.len());
        assert!(pending(MIGRATIONS.len() as i64).unwrap().is_empty());
        let e = pending(99).unwrap_err();
        assert!(e.contains("version 99"), "{e}");
    }

    #[test]
    fn statements_split_at_line_ends_without_comments() {
        let s = statements(
            "-- a\nCREATE TABLE a (\n  x INTEGER -- note; here\n);\nCREATE INDEX i ON a (x);\n",
        );
        assert_eq!(
            s,
            vec![
                "CREATE TABLE a (\n  x INTEGER\n)",
                "CREATE INDEX i ON a (x)"
            ]
        );
        let all = statements(MIGRATIONS[0].sql);
        assert!(all.len() >= 10, "{all:?}");
        assert!(all.iter().all(|s| !s.contains("--") && !s.ends_with(';')));
    }
}
