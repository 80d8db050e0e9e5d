-- Secrets at rest: a route's address (a robot's key is in it) and signing secret are stored
-- sealed under the edge's challenge key (`wire::seal`); the storage object seals the routes
-- stored before this at its start (`fastlane::reseal`). What the console shows is kept beside.
ALTER TABLE routes ADD COLUMN shown TEXT NOT NULL DEFAULT '';
UPDATE routes SET shown = CASE WHEN instr(url, '?') > 0
  THEN substr(url, 1, instr(url, '?') - 1) || '?…（已隐藏）' ELSE url END;
-- A deleted route keeps neither.
UPDATE routes SET url = '', secret = '' WHERE deleted_at IS NOT NULL;

-- What the printed cards were signed with (each directory upload: the key's id and fingerprint,
-- never the key) and what the service last served with (`zsp serve`: the fingerprints of its
-- own secrets). `zsp check` compares them with zsp.env: data restored under other keys is
-- named before a single card fails. name: 'qr:<kid>', 'CHALLENGE_KEYS', 'UPSTREAM_KEYS',
-- 'ADMIN_TOKEN'.
CREATE TABLE key_prints (
  name TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  authority TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL
) WITHOUT ROWID;

-- 办件 served: the denominator of 评价率, each 办件 once. A 一事一评 link minted ('link') and a
-- queue or business system's report of one 办件 ('report') share the key of its 办件号 within its
-- authority; a tablet armed by its staff member ('kiosk') is one citizen served; a day's ticket
-- count for a window's code ('count', n) is replaced by a later report for the same code and day.
CREATE TABLE served (
  key TEXT PRIMARY KEY,
  source TEXT NOT NULL CHECK (source IN ('link', 'kiosk', 'report', 'count')),
  code TEXT NOT NULL,
  region TEXT NOT NULL,
  hall TEXT NOT NULL,
  day INTEGER NOT NULL,
  n INTEGER NOT NULL CHECK (n >= 0),
  project_no TEXT,
  matter TEXT,
  at INTEGER NOT NULL,
  -- A 办件 with its 办件号 rated through its link (by a citizen): 1.
  rated INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX served_place ON served (region, hall, day);
CREATE INDEX served_code ON served (code, day);

-- Counted ratings by month and code: 评价率's numerator by window, kept after the ratings leave
-- (as `tallies` keeps the levels). The ratings still stored are counted in.
CREATE TABLE code_tallies (
  month TEXT NOT NULL,
  code TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (month, code)
) WITHOUT ROWID;
INSERT INTO code_tallies (month, code, n)
  SELECT strftime('%Y-%m', rated_at + 28800, 'unixepoch'), code, COUNT(*) FROM ratings
  WHERE hold IN (0, 3) GROUP BY 1, 2;
CREATE TRIGGER ratings_code_tally_insert AFTER INSERT ON ratings WHEN NEW.hold IN (0, 3) BEGIN
  INSERT INTO code_tallies (month, code, n) SELECT strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'), NEW.code, 0
    WHERE NOT EXISTS (SELECT 1 FROM code_tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch') AND code = NEW.code);
  UPDATE code_tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch') AND code = NEW.code;
  UPDATE served SET rated = 1 WHERE NEW.project_no IS NOT NULL AND project_no = NEW.project_no AND code = NEW.code;
END;
CREATE TRIGGER ratings_code_tally_out AFTER UPDATE OF rated_at, hold ON ratings WHEN OLD.hold IN (0, 3) BEGIN
  UPDATE code_tallies SET n = n - 1 WHERE month = strftime('%Y-%m', OLD.rated_at + 28800, 'unixepoch') AND code = OLD.code;
END;
CREATE TRIGGER ratings_code_tally_in AFTER UPDATE OF rated_at, hold ON ratings WHEN NEW.hold IN (0, 3) BEGIN
  INSERT INTO code_tallies (month, code, n) SELECT strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'), NEW.code, 0
    WHERE NOT EXISTS (SELECT 1 FROM code_tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch') AND code = NEW.code);
  UPDATE code_tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch') AND code = NEW.code;
  UPDATE served SET rated = 1 WHERE NEW.project_no IS NOT NULL AND project_no = NEW.project_no AND code = NEW.code;
END;
