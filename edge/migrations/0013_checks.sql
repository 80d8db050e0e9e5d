-- 差评 handled the way local rules say (#35): after the callback a handler checks the 差评
-- (核实: finding 属实 'true' / 部分属实 'partial' / 不属实 'false', and what it was about), and a
-- true one goes on one of two tracks (简易 'simple' / 复杂 'complex'), each with its own fix
-- deadline (`CASE_DEADLINES` 1w/2w/3w). A deadline may be extended once: asked with a reason and
-- a new date by a handler, approved or refused by a 大厅管理员.
ALTER TABLE cases ADD COLUMN finding TEXT CHECK (finding IN ('true', 'partial', 'false'));
ALTER TABLE cases ADD COLUMN about TEXT CHECK (about IN ('staff', 'process', 'waiting', 'system', 'policy'));
ALTER TABLE cases ADD COLUMN track TEXT CHECK (track IN ('simple', 'complex'));
ALTER TABLE cases ADD COLUMN checked_at INTEGER;
ALTER TABLE cases ADD COLUMN ext_state TEXT CHECK (ext_state IN ('asked', 'approved', 'refused'));
ALTER TABLE cases ADD COLUMN ext_reason TEXT;
ALTER TABLE cases ADD COLUMN ext_until INTEGER;

-- Fair attribution: a 差评 counts against the staff member only when it is about them
-- (`ratings.about`: suggested by its reasons when stored, `wire::rating::suggested_about`, then
-- the case's 核实); otherwise its tally goes to the hall and unit with no staff member. A new
-- classification moves the tally (the triggers below, on `about`).
ALTER TABLE ratings ADD COLUMN about TEXT;
DROP TRIGGER ratings_tally_insert;
DROP TRIGGER ratings_tally_out;
DROP TRIGGER ratings_tally_in;
CREATE TRIGGER ratings_tally_insert AFTER INSERT ON ratings WHEN NEW.hold IN (0, 3) AND NEW.via != 'default' BEGIN
  INSERT INTO tallies (month, hall, dept, staff, level, n) SELECT
    strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'),
    COALESCE(json_extract(NEW.entry, '$.hall'), ''), COALESCE(json_extract(NEW.entry, '$.dept'), ''),
    CASE WHEN NEW.about IS NOT NULL AND NEW.about != 'staff' THEN '' ELSE COALESCE(json_extract(NEW.entry, '$.staff_id'), '') END, NEW.level, 0
    WHERE NOT EXISTS (SELECT 1 FROM tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
      AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
      AND staff = CASE WHEN NEW.about IS NOT NULL AND NEW.about != 'staff' THEN '' ELSE COALESCE(json_extract(NEW.entry, '$.staff_id'), '') END AND level = NEW.level);
  UPDATE tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
    AND staff = CASE WHEN NEW.about IS NOT NULL AND NEW.about != 'staff' THEN '' ELSE COALESCE(json_extract(NEW.entry, '$.staff_id'), '') END AND level = NEW.level;
END;
CREATE TRIGGER ratings_tally_out AFTER UPDATE OF level, rated_at, entry, hold, via, about ON ratings
WHEN OLD.hold IN (0, 3) AND OLD.via != 'default' BEGIN
  UPDATE tallies SET n = n - 1 WHERE month = strftime('%Y-%m', OLD.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(OLD.entry, '$.hall'), '') AND dept = COALESCE(json_extract(OLD.entry, '$.dept'), '')
    AND staff = CASE WHEN OLD.about IS NOT NULL AND OLD.about != 'staff' THEN '' ELSE COALESCE(json_extract(OLD.entry, '$.staff_id'), '') END AND level = OLD.level;
END;
CREATE TRIGGER ratings_tally_in AFTER UPDATE OF level, rated_at, entry, hold, via, about ON ratings
WHEN NEW.hold IN (0, 3) AND NEW.via != 'default' BEGIN
  INSERT INTO tallies (month, hall, dept, staff, level, n) SELECT
    strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'),
    COALESCE(json_extract(NEW.entry, '$.hall'), ''), COALESCE(json_extract(NEW.entry, '$.dept'), ''),
    CASE WHEN NEW.about IS NOT NULL AND NEW.about != 'staff' THEN '' ELSE COALESCE(json_extract(NEW.entry, '$.staff_id'), '') END, NEW.level, 0
    WHERE NOT EXISTS (SELECT 1 FROM tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
      AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
      AND staff = CASE WHEN NEW.about IS NOT NULL AND NEW.about != 'staff' THEN '' ELSE COALESCE(json_extract(NEW.entry, '$.staff_id'), '') END AND level = NEW.level);
  UPDATE tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
    AND staff = CASE WHEN NEW.about IS NOT NULL AND NEW.about != 'staff' THEN '' ELSE COALESCE(json_extract(NEW.entry, '$.staff_id'), '') END AND level = NEW.level;
END;

-- The citizen's verdict on the fix (a municipal 接诉即办 rule): 满意, 基本满意 or 不满意, the last
-- reopening the case (`followup` keeps 'satisfied' / 'unsatisfied', whether it reopened).
ALTER TABLE cases ADD COLUMN verdict TEXT CHECK (verdict IN ('satisfied', 'basic', 'unsatisfied'));
UPDATE cases SET verdict = followup WHERE followup IS NOT NULL;

-- 好评 leads somewhere: a 非常满意 comment (masked as stored) a 大厅管理员 marked publishable; the
-- hall's results page shows the last few, without names or times. Kept after the rating leaves.
CREATE TABLE praise (
  rating TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  hall TEXT NOT NULL,
  comment TEXT NOT NULL,
  at INTEGER NOT NULL,
  by_actor TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX praise_hall ON praise (hall, at);

-- What the office learns (#35.4): the reasons given and the matters rated, by week (its Monday's
-- day number, China time), region and hall, kept as counts after the ratings leave (as
-- `tallies` keeps the levels). Counted ratings only, system defaults left out.
CREATE TABLE reason_tallies (
  week INTEGER NOT NULL,
  region TEXT NOT NULL,
  hall TEXT NOT NULL,
  tag INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (week, region, hall, tag)
) WITHOUT ROWID;
CREATE TABLE matter_tallies (
  week INTEGER NOT NULL,
  region TEXT NOT NULL,
  hall TEXT NOT NULL,
  matter TEXT NOT NULL,
  n INTEGER NOT NULL,
  bad INTEGER NOT NULL,
  PRIMARY KEY (week, region, hall, matter)
) WITHOUT ROWID;
CREATE TRIGGER ratings_reason_insert AFTER INSERT ON ratings WHEN NEW.hold IN (0, 3) AND NEW.via != 'default' BEGIN
  INSERT INTO reason_tallies (week, region, hall, tag, n) SELECT (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)), COALESCE(json_extract(NEW.entry, '$.region'), ''), COALESCE(json_extract(NEW.entry, '$.hall'), ''), j.value, 0 FROM json_each('[' || NEW.tags || ']') AS j
    WHERE NOT EXISTS (SELECT 1 FROM reason_tallies WHERE week = (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(NEW.entry, '$.region'), '') AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND tag = j.value);
  INSERT INTO matter_tallies (week, region, hall, matter, n, bad) SELECT (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)), COALESCE(json_extract(NEW.entry, '$.region'), ''), COALESCE(json_extract(NEW.entry, '$.hall'), ''), COALESCE(NEW.matter, ''), 0, 0
    WHERE NOT EXISTS (SELECT 1 FROM matter_tallies WHERE week = (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(NEW.entry, '$.region'), '') AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND matter = COALESCE(NEW.matter, ''));
  UPDATE reason_tallies SET n = n + 1 WHERE week = (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(NEW.entry, '$.region'), '') AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '')
    AND tag IN (SELECT value FROM json_each('[' || NEW.tags || ']'));
  UPDATE matter_tallies SET n = n + 1, bad = bad + (NEW.level IN ('dissatisfied', 'very_dissatisfied')) WHERE week = (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(NEW.entry, '$.region'), '') AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND matter = COALESCE(NEW.matter, '');
END;
CREATE TRIGGER ratings_reason_out AFTER UPDATE OF level, tags, matter, rated_at, entry, hold, via ON ratings WHEN OLD.hold IN (0, 3) AND OLD.via != 'default' BEGIN
  UPDATE reason_tallies SET n = n - 1 WHERE week = (CAST((OLD.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((OLD.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(OLD.entry, '$.region'), '') AND hall = COALESCE(json_extract(OLD.entry, '$.hall'), '')
    AND tag IN (SELECT value FROM json_each('[' || OLD.tags || ']'));
  UPDATE matter_tallies SET n = n - 1, bad = bad - (OLD.level IN ('dissatisfied', 'very_dissatisfied')) WHERE week = (CAST((OLD.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((OLD.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(OLD.entry, '$.region'), '') AND hall = COALESCE(json_extract(OLD.entry, '$.hall'), '') AND matter = COALESCE(OLD.matter, '');
END;
CREATE TRIGGER ratings_reason_in AFTER UPDATE OF level, tags, matter, rated_at, entry, hold, via ON ratings WHEN NEW.hold IN (0, 3) AND NEW.via != 'default' BEGIN
  INSERT INTO reason_tallies (week, region, hall, tag, n) SELECT (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)), COALESCE(json_extract(NEW.entry, '$.region'), ''), COALESCE(json_extract(NEW.entry, '$.hall'), ''), j.value, 0 FROM json_each('[' || NEW.tags || ']') AS j
    WHERE NOT EXISTS (SELECT 1 FROM reason_tallies WHERE week = (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(NEW.entry, '$.region'), '') AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND tag = j.value);
  INSERT INTO matter_tallies (week, region, hall, matter, n, bad) SELECT (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)), COALESCE(json_extract(NEW.entry, '$.region'), ''), COALESCE(json_extract(NEW.entry, '$.hall'), ''), COALESCE(NEW.matter, ''), 0, 0
    WHERE NOT EXISTS (SELECT 1 FROM matter_tallies WHERE week = (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(NEW.entry, '$.region'), '') AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND matter = COALESCE(NEW.matter, ''));
  UPDATE reason_tallies SET n = n + 1 WHERE week = (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(NEW.entry, '$.region'), '') AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '')
    AND tag IN (SELECT value FROM json_each('[' || NEW.tags || ']'));
  UPDATE matter_tallies SET n = n + 1, bad = bad + (NEW.level IN ('dissatisfied', 'very_dissatisfied')) WHERE week = (CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) - ((CAST((NEW.rated_at + 28800) / 86400 AS INTEGER) + 3) % 7)) AND region = COALESCE(json_extract(NEW.entry, '$.region'), '') AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND matter = COALESCE(NEW.matter, '');
END;
