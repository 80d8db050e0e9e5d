-- The weekly digest (#35.4): on the set morning each supervisors' route gets the 分析 of its
-- place for the weeks before. A digest goes through the alerts' outbox like a case's alert or an
-- invitation, and names its week (the Monday, as a day number) instead of a case or a 办件: the
-- table is rebuilt (SQLite cannot change a CHECK), its rows and indexes kept.
CREATE TABLE alerts_v14 (
  id INTEGER PRIMARY KEY,
  case_id INTEGER REFERENCES cases (id),
  kind TEXT NOT NULL,
  route INTEGER NOT NULL REFERENCES routes (id),
  detail TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  served TEXT,
  -- A digest's week: the day number of its Monday; NULL for a case's alert or an invitation.
  week INTEGER,
  CHECK ((case_id IS NOT NULL) + (served IS NOT NULL) + (week IS NOT NULL) = 1),
  UNIQUE (case_id, kind, route)
);
INSERT INTO alerts_v14 (id, case_id, kind, route, detail, created_at, sent_at, attempts, next_attempt_at, last_error, served)
  SELECT id, case_id, kind, route, detail, created_at, sent_at, attempts, next_attempt_at, last_error, served FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v14 RENAME TO alerts;
CREATE INDEX alerts_pending ON alerts (route, next_attempt_at) WHERE sent_at IS NULL;
CREATE UNIQUE INDEX alerts_invite ON alerts (served, route) WHERE served IS NOT NULL;
-- One digest a week a route, whatever the restarts.
CREATE UNIQUE INDEX alerts_digest ON alerts (week, route) WHERE week IS NOT NULL;
