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
            // The file without its comments (`build.rs`).
            sql: include_str!(concat!(env!("OUT_DIR"), "/migrations/", $name)),
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
    migration!(10, "0010_abuse.sql"),
    migration!(11, "0011_sealed.sql"),
    migration!(12, "0012_unrated.sql"),
    migration!(13, "0013_checks.sql"),
    migration!(14, "0014_digest.sql"),
    migration!(15, "0015_served_tallies.sql"),
    migration!(16, "0016_receivers.sql"),
    migration!(17, "0017_workorders.sql"),
    migration!(18, "0018_case_figures.sql"),
    migration!(19, "0019_unrated_linked.sql"),
    migration!(20, "0020_period_tallies.sql"),
    migration!(21, "0021_directory_places.sql"),
    migration!(22, "0022_case_comments_kept.sql"),
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

    /// The statements of `ms` run on `c`, as the object runs them.
    fn apply(c: &rusqlite::Connection, ms: &[Migration]) {
        for m in ms {
            for s in statements(m.sql) {
                c.execute_batch(&s).unwrap();
            }
        }
    }

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

    /// What the worker embeds (`build.rs`) is each file's statements, as the file has them.
    #[test]
    fn the_embedded_migrations_are_the_files_statements() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for m in MIGRATIONS {
            let file = std::fs::read_to_string(dir.join(m.name)).unwrap();
            assert!(file.contains("--"), "{}: a file with comments", m.name);
            assert!(!m.sql.contains("--"), "{}", m.name);
            assert_eq!(statements(m.sql), statements(&file), "{}", m.name);
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

    #[test]
    fn migration_9_resolves_hall_scopes_to_places_and_routes_to_their_region() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        apply(&c, &MIGRATIONS[..8]);
        let entry = |region: &str, hall: &str, code: &str| {
            let j = serde_json::json!({"region": region, "hall": hall}).to_string();
            c.execute(
                "INSERT INTO entries (code, json) VALUES (?1, ?2)",
                rusqlite::params![code, j],
            )
            .unwrap();
        };
        entry("330105", "便民服务中心", "C1");
        entry("330106", "便民服务中心", "C2");
        entry("330102", "上城区市民中心", "C3");
        c.execute_batch(
            "INSERT INTO accounts (name, role, scope, password, created_at, created_by) VALUES \
               ('甲', 'hall', '{\"halls\":[\"便民服务中心\",\"已撤销的大厅\"]}', 'x', 0, 'op'), \
               ('乙', 'city', '{\"regions\":[\"3301\"]}', 'x', 0, 'op'), ('丙', 'city', '\"all\"', 'x', 0, 'op');
             INSERT INTO tokens (id, name, role, scope, secret_hash, created_at, created_by) VALUES \
               ('t1', '叫号', 'hall', '{\"halls\":[\"上城区市民中心\"]}', 'h', 0, 'op');
             INSERT INTO routes (name, hall, kind, url, audience, created_by, created_at) VALUES \
               ('同名', '便民服务中心', 'wecom', 'u', 'handlers', 'op', 0), ('唯一', '上城区市民中心', 'wecom', 'u', 'handlers', 'op', 0), \
               ('全部', NULL, 'wecom', 'u', 'handlers', 'op', 0);",
        )
        .unwrap();
        apply(&c, &MIGRATIONS[8..9]);
        let scope = |table: &str, key: &str| -> crate::access::Scope {
            let j: String = c
                .query_row(
                    &format!(
                        "SELECT scope FROM {table} WHERE {} = ?1",
                        if table == "tokens" { "id" } else { "name" }
                    ),
                    [key],
                    |r| r.get(0),
                )
                .unwrap();
            crate::access::Scope::from_json(&j).unwrap_or_else(|| panic!("{j}"))
        };
        use crate::access::{Place, Scope};
        let place = |r: &str, h: &str| Place {
            region: r.into(),
            hall: Some(h.into()),
        };
        assert_eq!(
            scope("accounts", "甲"),
            Scope::Places(vec![
                place("330105", "便民服务中心"),
                place("330106", "便民服务中心")
            ]),
            "the access it had: both halls of the name; a name the directory lacks is dropped"
        );
        assert_eq!(scope("accounts", "乙"), Scope::regions(&["3301"]));
        assert_eq!(scope("accounts", "丙"), Scope::All);
        assert_eq!(
            scope("tokens", "t1"),
            Scope::hall("330102", "上城区市民中心")
        );
        let region = |name: &str| -> Option<String> {
            c.query_row("SELECT region FROM routes WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(
            region("同名"),
            None,
            "two regions have the name: every region, as before"
        );
        assert_eq!(region("唯一").as_deref(), Some("330102"));
        assert_eq!(region("全部"), None);
        let must: i64 = c
            .query_row(
                "SELECT must_change FROM accounts WHERE name = '甲'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(must, 0);
        c.execute(
            "INSERT INTO tokens (id, name, role, scope, secret_hash, created_at, created_by) \
             VALUES ('t2', '叫号', 'queue', '\"all\"', 'h', 0, 'op')",
            [],
        )
        .unwrap();
        assert!(
            c.execute(
                "INSERT INTO tokens (id, name, role, scope, secret_hash, created_at, created_by) \
                 VALUES ('t3', 'x', 'root', '\"all\"', 'h', 0, 'op')",
                [],
            )
            .is_err()
        );
    }

    /// Migration 20's running tallies of each month and quarter, a hall's levels and cases and a
    /// code's 评价率 sums, start as the sums of the tallies already there (staff members' levels, codes'
    /// 办件 and ratings by month), and stay their sums as ratings arrive, change level or move out
    /// (held), as 办件 are served, rated and defaulted, and as 差评 cases open, move on, change
    /// hall or month and leave; a change to a summed tallies row other than its counts is refused.
    #[test]
    fn migration_20_sums_the_tallies_by_period_and_keeps_them_summed() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let apply = |ms: &[Migration]| apply(&c, ms);
        apply(&MIGRATIONS[..19]);
        let levels = [
            "very_satisfied",
            "satisfied",
            "basic",
            "dissatisfied",
            "odd",
        ];
        // A rating or a 办件 every 200,000 s: 80 of each span seven months and three quarters.
        let at = |i: usize| 1_790_000_000 + i as i64 * 200_000;
        let rate = |i: usize| {
            let e = serde_json::json!({"hall": format!("厅{}", i % 3), "dept": "单位",
                "staff_id": format!("S{}", i % 4)})
            .to_string();
            c.execute(
                "INSERT INTO ratings (id, code, device, day, assess_number, rev, last_submission, rated_at, level, tags, \
                 tag_version, comment, flagged, via, entry, next_attempt_at, project_no) \
                 VALUES (?1, ?5, ?1, 0, 1, 1, ?1, ?2, ?3, '', 1, '', 0, 'app', ?4, 0, ?6)",
                rusqlite::params![
                    format!("r{i}"),
                    at(i),
                    levels[i % 5],
                    e,
                    format!("C{}", i % 2),
                    i.is_multiple_of(3).then(|| format!("P{i}"))
                ],
            )
            .unwrap();
        };
        let serve = |i: usize| {
            c.execute(
                "INSERT INTO served (key, source, code, region, hall, day, n, project_no, at) \
                 VALUES (?1, ?2, ?3, '330102', '厅', ?4, ?5, ?6, ?4)",
                rusqlite::params![
                    format!("s{i}"),
                    ["link", "report", "count"][i % 3],
                    format!("C{}", i % 2),
                    at(i) / 86_400,
                    1 + (i % 3 == 2) as i64 * 4,
                    (i % 3 != 2).then(|| format!("P{i}"))
                ],
            )
            .unwrap();
        };
        // A 差评 case every 400,000 s, some without a hall, at each step of its way.
        let open = |i: usize| {
            let e = if i % 5 == 4 {
                "{}".to_owned()
            } else {
                serde_json::json!({"hall": format!("厅{}", i % 3)}).to_string()
            };
            c.execute(
                "INSERT INTO cases (rating, opened_at, opened_rev, code, entry, level, tags, comment, called_at, \
                 fixed_at, callback_due, fix_due, review, verdict) \
                 VALUES (?1, ?2, 1, 'C', ?3, 'dissatisfied', '', '', ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    format!("r{i}"),
                    at(2 * i),
                    e,
                    (!i.is_multiple_of(4)).then(|| at(2 * i) + 3600 * (i % 30) as i64),
                    (!i.is_multiple_of(3)).then(|| at(2 * i) + 36_000 * (i % 10) as i64),
                    (!i.is_multiple_of(6)).then(|| at(2 * i) + 8 * 3600),
                    (!i.is_multiple_of(7)).then(|| at(2 * i) + 40 * 3600),
                    [None, None, Some("upheld"), Some("overturned")][i % 4],
                    [None, Some("satisfied"), Some("basic"), Some("unsatisfied")][i % 4]
                ],
            )
            .unwrap();
        };
        (0..40).for_each(serve);
        (0..40).for_each(rate);
        (0..20).for_each(open);
        apply(&MIGRATIONS[19..20]);
        // The reference: each source row counted in its month and in its quarter, spelt as
        // `Period::parse` reads one.
        let periods = "(SELECT 0 AS q UNION ALL SELECT 1) AS k";
        let period = "CASE k.q WHEN 0 THEN month \
             ELSE printf('%s-Q%d', substr(month, 1, 4), (CAST(substr(month, 6) AS INTEGER) - 1) / 3 + 1) END";
        let read = |q: &str, columns: usize| -> Vec<Vec<String>> {
            let mut st = c.prepare(&format!("{q} ORDER BY 1, 2")).unwrap();
            st.query_map([], |r| {
                (0..columns)
                    .map(|k| r.get_ref(k).map(|v| format!("{v:?}")))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
        };
        let same = |when: &str| {
            let sums = format!(
                "SELECT {period}, hall, SUM((level = 'very_satisfied') * n), SUM((level = 'satisfied') * n), \
                 SUM((level = 'basic') * n), SUM((level = 'dissatisfied') * n), \
                 SUM((level = 'very_dissatisfied') * n), SUM((level = 'odd') * n) FROM tallies, {periods} GROUP BY 1, 2"
            );
            let kept = "SELECT period, hall, very_satisfied, satisfied, basic, dissatisfied, very_dissatisfied, \
                 other FROM hall_levels";
            let want = read(&sums, 8);
            assert!(want.len() >= 12, "{when}: {want:?}");
            assert_eq!(read(kept, 8), want, "{when}: hall_levels");
            let sums = format!(
                "SELECT {period}, code, SUM(served), SUM(never), SUM(defaults), SUM(rated) FROM \
                 (SELECT month, code, served, never, defaults, 0 AS rated FROM served_tallies \
                  UNION ALL SELECT month, code, 0, 0, 0, n FROM code_tallies), {periods} GROUP BY 1, 2"
            );
            let kept = "SELECT period, code, served, never, defaults, rated FROM code_periods";
            let want = read(&sums, 6);
            assert!(want.len() >= 12, "{when}: {want:?}");
            assert_eq!(read(kept, 6), want, "{when}: code_periods");
            let counted = "review IS NOT 'overturned'";
            let sums = format!(
                "SELECT {period}, hall IS NOT NULL, COALESCE(hall, ''), \
                   COUNT(CASE WHEN {counted} THEN 1 END), COUNT(CASE WHEN review IS 'overturned' THEN 1 END), \
                   COUNT(CASE WHEN {counted} AND called_at <= callback_due THEN 1 END), \
                   COUNT(CASE WHEN {counted} AND fixed_at <= fix_due THEN 1 END), \
                   COUNT(CASE WHEN {counted} AND verdict IS NOT NULL THEN 1 END), \
                   COUNT(CASE WHEN {counted} AND verdict IN ('satisfied', 'basic') THEN 1 END) \
                 FROM (SELECT strftime('%Y-%m', opened_at, 'unixepoch', '+8 hours') AS month, * FROM cases), {periods} \
                 GROUP BY 1, 2, 3"
            );
            // Rows whose cases all left stay, at nothing.
            let kept = "SELECT period, named, hall, bad, overturned, called_on_time, fixed_on_time, verdicts, \
                 verdicts_satisfied FROM case_periods WHERE bad + overturned > 0";
            let want = read(&sums, 9);
            assert!(want.len() >= 8, "{when}: {want:?}");
            assert_eq!(read(kept, 9), want, "{when}: case_periods");
        };
        same("backfilled");
        let labels: Vec<String> = c
            .prepare(
                "SELECT DISTINCT period FROM code_periods UNION SELECT period FROM hall_levels",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for p in &labels {
            assert!(crate::period::Period::parse(p).is_ok(), "{p}");
        }
        assert!(labels.iter().any(|p| p.contains("-Q")), "{labels:?}");
        (40..80).for_each(serve);
        (40..80).for_each(rate);
        (20..40).for_each(open);
        c.execute_batch(
            "UPDATE ratings SET level = 'basic' WHERE id IN ('r1', 'r2', 'r50'); \
             UPDATE ratings SET hold = 1 WHERE id IN ('r3', 'r60'); \
             UPDATE ratings SET rated_at = rated_at + 5000000 WHERE id = 'r4'; \
             UPDATE served SET defaulted_at = at WHERE key IN ('s1', 's4', 's41'); \
             UPDATE served SET n = n + 2 WHERE key IN ('s2', 's44'); \
             UPDATE cases SET called_at = opened_at + 60 WHERE called_at IS NULL AND id % 2 = 0; \
             UPDATE cases SET review = 'overturned' WHERE id IN (2, 22); \
             UPDATE cases SET review = 'upheld' WHERE id IN (4, 24); \
             UPDATE cases SET verdict = 'basic' WHERE id IN (1, 5, 25); \
             UPDATE cases SET fix_due = NULL WHERE id IN (6, 26); \
             UPDATE cases SET entry = '{\"hall\": \"厅9\"}' WHERE id IN (7, 27); \
             UPDATE cases SET entry = '{}' WHERE id IN (8, 28); \
             UPDATE cases SET opened_at = opened_at + 2600000 WHERE id IN (9, 29); \
             DELETE FROM cases WHERE id IN (10, 30);",
        )
        .unwrap();
        same("after ratings, 办件, amendments, holds and defaults");
        let moved: i64 = c
            .query_row(
                "SELECT SUM(very_satisfied + satisfied + basic + dissatisfied + very_dissatisfied + other) \
                 FROM hall_levels WHERE period NOT LIKE '%Q%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(moved, 78, "80 ratings, 2 held");
        let (rated, served): (i64, i64) = c
            .query_row(
                "SELECT SUM(rated), SUM(served) FROM code_periods WHERE period LIKE '%Q%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((rated, served), (78, 26 * 5 + 54 + 2 * 2));
        for refused in [
            "UPDATE tallies SET level = 'basic' WHERE level = 'odd'",
            "UPDATE tallies SET hall = '厅9'",
            "DELETE FROM tallies WHERE level = 'odd'",
            "UPDATE served_tallies SET code = 'C9'",
            "DELETE FROM served_tallies",
            "UPDATE code_tallies SET month = '2030-01'",
            "DELETE FROM code_tallies",
        ] {
            let e = c.execute_batch(refused).unwrap_err().to_string();
            assert!(e.contains("tallies"), "{refused}: {e}");
        }
        same("after the refused changes");
    }

    /// Migration 21's places start as the directory's (a hall's region the smallest of its
    /// entries') and stay so as entries come, go, change hall or region, and the whole directory
    /// is replaced; an entry without a hall has a code's row and no hall's.
    #[test]
    fn migration_21_keeps_the_directory_places_as_its_entries_have_them() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let apply = |ms: &[Migration]| apply(&c, ms);
        let put = |code: &str, region: &str, hall: &str| {
            let json =
                serde_json::json!({"code": code, "region": region, "hall": hall}).to_string();
            c.execute(
                "INSERT INTO entries (code, json) VALUES (?1, ?2)",
                rusqlite::params![code, json],
            )
            .unwrap();
        };
        let rows = |sql: &str| -> Vec<String> {
            let mut st = c.prepare(sql).unwrap();
            st.query_map([], |r| {
                Ok(format!(
                    "{:?}",
                    (0..r.as_ref().column_count())
                        .map(|i| r.get::<_, Option<String>>(i).unwrap())
                        .collect::<Vec<_>>()
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
        };
        let same = |when: &str| {
            assert_eq!(
                rows("SELECT code, hall, region FROM code_places ORDER BY code"),
                rows("SELECT code, hall, region FROM entries ORDER BY code"),
                "codes {when}"
            );
            assert_eq!(
                rows("SELECT hall, region FROM hall_places ORDER BY hall"),
                rows(
                    "SELECT hall, MIN(region) FROM entries WHERE hall IS NOT NULL GROUP BY hall ORDER BY hall"
                ),
                "halls {when}"
            );
        };
        apply(&MIGRATIONS[..20]);
        put("A1", "330102", "甲中心");
        put("A2", "330102", "甲中心");
        put("B1", "330105002", "乙站");
        put("B2", "330104001", "乙站");
        c.execute("INSERT INTO entries (code, json) VALUES ('N', '{}')", [])
            .unwrap();
        apply(&MIGRATIONS[20..21]);
        same("after the migration");
        assert_eq!(
            rows("SELECT region FROM hall_places WHERE hall = '乙站'"),
            [r#"[Some("330104001")]"#]
        );
        put("C1", "330106", "丙中心");
        put("B3", "330101001", "乙站");
        same("after inserts");
        c.execute("DELETE FROM entries WHERE code IN ('B3', 'C1', 'A1')", [])
            .unwrap();
        same("after deletes");
        c.execute(
            "UPDATE entries SET json = json_set(json, '$.region', '330103') WHERE code = 'B2'",
            [],
        )
        .unwrap();
        c.execute(
            "UPDATE entries SET json = json_set(json, '$.hall', '乙站') WHERE code = 'A2'",
            [],
        )
        .unwrap();
        same("after a region and a hall changed");
        assert!(rows("SELECT hall FROM hall_places WHERE hall = '甲中心'").is_empty());
        // The directory replaced as `store::replace_directory` does it.
        c.execute("DELETE FROM entries", []).unwrap();
        same("after the directory was emptied");
        put("D1", "330108", "丁中心");
        same("after a new directory");
    }
}
