-- 办件 left unrated (#34): the invitation and the system default rating.
--
-- Routes gain the audience 'invites' (the business system that sends the citizen an SMS), and
-- the alerts' outbox carries invitations beside case alerts: an invitation names its 办件 (the
-- `served` key) instead of a case. Both tables are rebuilt (SQLite cannot change a CHECK); the
-- new outbox refers to the new routes table before the old ones are dropped, so that no row ever
-- points at a missing route, whether or not foreign keys are enforced.
CREATE TABLE routes_v12 (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  hall TEXT,
  dept TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'webhook')),
  url TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  names INTEGER NOT NULL DEFAULT 0,
  audience TEXT NOT NULL CHECK (audience IN ('handlers', 'supervisors', 'invites')),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER,
  region TEXT,
  shown TEXT NOT NULL DEFAULT '',
  -- An invitation goes only to a generic webhook: the business system holds the contact.
  CHECK (audience != 'invites' OR kind = 'webhook')
);
INSERT INTO routes_v12 (id, name, hall, dept, kind, url, secret, names, audience, created_by, created_at, deleted_at, region, shown)
  SELECT id, name, hall, dept, kind, url, secret, names, audience, created_by, created_at, deleted_at, region, shown FROM routes;
CREATE TABLE alerts_v12 (
  id INTEGER PRIMARY KEY,
  case_id INTEGER REFERENCES cases (id),
  kind TEXT NOT NULL,
  route INTEGER NOT NULL REFERENCES routes_v12 (id),
  detail TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  -- An invitation's 办件 (`served.key`); NULL for a case's alert.
  served TEXT,
  CHECK ((case_id IS NULL) != (served IS NULL)),
  UNIQUE (case_id, kind, route)
);
INSERT INTO alerts_v12 (id, case_id, kind, route, detail, created_at, sent_at, attempts, next_attempt_at, last_error)
  SELECT id, case_id, kind, route, detail, created_at, sent_at, attempts, next_attempt_at, last_error FROM alerts;
DROP TABLE alerts;
DROP TABLE routes;
ALTER TABLE routes_v12 RENAME TO routes;
ALTER TABLE alerts_v12 RENAME TO alerts;
CREATE INDEX alerts_pending ON alerts (route, next_attempt_at) WHERE sent_at IS NULL;
CREATE UNIQUE INDEX alerts_invite ON alerts (served, route) WHERE served IS NOT NULL;

-- A served 办件's invitation (queued once, whether or not a route took it) and its system
-- default rating (given once, when its period ran out unrated).
ALTER TABLE served ADD COLUMN invited_at INTEGER;
ALTER TABLE served ADD COLUMN defaulted_at INTEGER;
CREATE INDEX served_unrated ON served (at) WHERE rated = 0 AND project_no IS NOT NULL;
-- 评价率 by code and period read from the index alone (`served::code_rates`); a rating through a
-- link finds its 办件 by 办件号 (the tally triggers), and the alarm a 办件's link.
DROP INDEX served_code;
CREATE INDEX served_rates ON served (code, day, source, n, rated, defaulted_at);
CREATE INDEX served_project ON served (project_no) WHERE project_no IS NOT NULL;
CREATE INDEX links_project ON links (project_no);

-- A system default rating (via 'default') is stored as a rating, forwarded upstream on its own
-- channel, and counted apart: never in the level tallies (满意率), never in 主动评价率's numerator,
-- never as the citizen's rating of the 办件. A citizen's later rating of the same 办件 replaces it
-- (the row's via changes) and is counted from then.
DROP TRIGGER ratings_tally_insert;
DROP TRIGGER ratings_tally_out;
DROP TRIGGER ratings_tally_in;
DROP TRIGGER ratings_code_tally_insert;
DROP TRIGGER ratings_code_tally_out;
DROP TRIGGER ratings_code_tally_in;
CREATE TRIGGER ratings_tally_insert AFTER INSERT ON ratings WHEN NEW.hold IN (0, 3) AND NEW.via != 'default' BEGIN
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
CREATE TRIGGER ratings_tally_out AFTER UPDATE OF level, rated_at, entry, hold, via ON ratings
WHEN OLD.hold IN (0, 3) AND OLD.via != 'default' BEGIN
  UPDATE tallies SET n = n - 1 WHERE month = strftime('%Y-%m', OLD.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(OLD.entry, '$.hall'), '') AND dept = COALESCE(json_extract(OLD.entry, '$.dept'), '')
    AND staff = COALESCE(json_extract(OLD.entry, '$.staff_id'), '') AND level = OLD.level;
END;
CREATE TRIGGER ratings_tally_in AFTER UPDATE OF level, rated_at, entry, hold, via ON ratings
WHEN NEW.hold IN (0, 3) AND NEW.via != 'default' BEGIN
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
CREATE TRIGGER ratings_code_tally_insert AFTER INSERT ON ratings WHEN NEW.hold IN (0, 3) AND NEW.via != 'default' BEGIN
  INSERT INTO code_tallies (month, code, n) SELECT strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'), NEW.code, 0
    WHERE NOT EXISTS (SELECT 1 FROM code_tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch') AND code = NEW.code);
  UPDATE code_tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch') AND code = NEW.code;
  UPDATE served SET rated = 1 WHERE NEW.project_no IS NOT NULL AND project_no = NEW.project_no AND code = NEW.code;
END;
CREATE TRIGGER ratings_code_tally_out AFTER UPDATE OF rated_at, hold, via ON ratings WHEN OLD.hold IN (0, 3) AND OLD.via != 'default' BEGIN
  UPDATE code_tallies SET n = n - 1 WHERE month = strftime('%Y-%m', OLD.rated_at + 28800, 'unixepoch') AND code = OLD.code;
END;
CREATE TRIGGER ratings_code_tally_in AFTER UPDATE OF rated_at, hold, via ON ratings WHEN NEW.hold IN (0, 3) AND NEW.via != 'default' BEGIN
  INSERT INTO code_tallies (month, code, n) SELECT strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'), NEW.code, 0
    WHERE NOT EXISTS (SELECT 1 FROM code_tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch') AND code = NEW.code);
  UPDATE code_tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch') AND code = NEW.code;
  UPDATE served SET rated = 1 WHERE NEW.project_no IS NOT NULL AND project_no = NEW.project_no AND code = NEW.code;
END;
