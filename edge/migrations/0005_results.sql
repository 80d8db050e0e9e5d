-- Open to citizens (release 0.5): a 差评's private status link, its one 追评, and the running
-- tallies the public results are read from.

-- Capability links to a case: the SHA-256 of the token, never the token. Each 差评 submission
-- (and its 追评) gets one; they expire with the case (`fastlane::prune_receipts`).
CREATE TABLE receipts (
  digest TEXT PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX receipts_case ON receipts (case_id);

-- Status lookups that found nothing, per minute: past the budget every lookup of that minute is
-- refused, so tokens cannot be enumerated. The CHECK makes the count fail past it.
CREATE TABLE receipt_misses (
  minute INTEGER PRIMARY KEY,
  n INTEGER NOT NULL CONSTRAINT receipt_misses_budget CHECK (n <= 30)
) WITHOUT ROWID;

-- The reply a handler chose to show the citizen; the citizen's one 追评 after 办结 (satisfied or
-- unsatisfied, which reopens the case: its clock runs again from reopened_at).
ALTER TABLE cases ADD COLUMN reply_public INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN followup TEXT CHECK (followup IN ('satisfied', 'unsatisfied'));
ALTER TABLE cases ADD COLUMN followup_at INTEGER;
ALTER TABLE cases ADD COLUMN reopened_at INTEGER;
CREATE INDEX cases_month ON cases (opened_at);

-- Ratings by month (CST), hall, unit, staff member and level, kept by triggers as ratings are
-- written and amended, never decremented by retention: the public results read these, never the
-- ratings. (No conflict clause inside: the submission's upsert would override it.)
CREATE TABLE tallies (
  month TEXT NOT NULL,
  hall TEXT NOT NULL,
  dept TEXT NOT NULL,
  staff TEXT NOT NULL,
  level TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (month, hall, dept, staff, level)
) WITHOUT ROWID;

CREATE TRIGGER ratings_tally_insert AFTER INSERT ON ratings BEGIN
  INSERT INTO tallies (month, hall, dept, staff, level, n) SELECT
    strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'),
    COALESCE(json_extract(NEW.entry, '$.hall'), ''), COALESCE(json_extract(NEW.entry, '$.dept'), ''),
    COALESCE(json_extract(NEW.entry, '$.staff_id'), ''), NEW.level, 0
    WHERE NOT EXISTS (SELECT 1 FROM tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
      AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
      AND staff = COALESCE(json_extract(NEW.entry, '$.staff_id'), '') AND level = NEW.level);
  UPDATE tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
    AND staff = COALESCE(json_extract(NEW.entry, '$.staff_id'), '') AND level = NEW.level;
END;

CREATE TRIGGER ratings_tally_update AFTER UPDATE OF level, rated_at, entry ON ratings BEGIN
  UPDATE tallies SET n = n - 1 WHERE month = strftime('%Y-%m', OLD.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(OLD.entry, '$.hall'), '') AND dept = COALESCE(json_extract(OLD.entry, '$.dept'), '')
    AND staff = COALESCE(json_extract(OLD.entry, '$.staff_id'), '') AND level = OLD.level;
  INSERT INTO tallies (month, hall, dept, staff, level, n) SELECT
    strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'),
    COALESCE(json_extract(NEW.entry, '$.hall'), ''), COALESCE(json_extract(NEW.entry, '$.dept'), ''),
    COALESCE(json_extract(NEW.entry, '$.staff_id'), ''), NEW.level, 0
    WHERE NOT EXISTS (SELECT 1 FROM tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
      AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
      AND staff = COALESCE(json_extract(NEW.entry, '$.staff_id'), '') AND level = NEW.level);
  UPDATE tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
    AND staff = COALESCE(json_extract(NEW.entry, '$.staff_id'), '') AND level = NEW.level;
END;

-- The ratings already stored.
INSERT INTO tallies (month, hall, dept, staff, level, n)
  SELECT strftime('%Y-%m', rated_at + 28800, 'unixepoch'), COALESCE(json_extract(entry, '$.hall'), ''),
    COALESCE(json_extract(entry, '$.dept'), ''), COALESCE(json_extract(entry, '$.staff_id'), ''), level, COUNT(*)
  FROM ratings GROUP BY 1, 2, 3, 4, 5;
