-- The 12345 work-order bridge (#36.4): a route of kind `workorder` (audience `orders`, and only
-- that kind has it) takes each 差评 as a work order and sends back what became of it, signed with
-- its own key (`inbound`, sealed like the route's address and secret). Both tables are rebuilt
-- (SQLite cannot change a CHECK) as in 0012: the new outbox refers to the new routes table before
-- the old ones are dropped, so no row ever points at a missing route.
CREATE TABLE routes_v17 (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  hall TEXT,
  dept TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'webhook', 'workorder')),
  url TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  names INTEGER NOT NULL DEFAULT 0,
  audience TEXT NOT NULL CHECK (audience IN ('handlers', 'supervisors', 'invites', 'orders')),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER,
  region TEXT,
  shown TEXT NOT NULL DEFAULT '',
  -- The key the work-order system signs its events with (sealed); '' for every other kind.
  inbound TEXT NOT NULL DEFAULT '',
  CHECK (audience != 'invites' OR kind = 'webhook'),
  CHECK ((audience = 'orders') = (kind = 'workorder'))
);
INSERT INTO routes_v17 (id, name, hall, dept, kind, url, secret, names, audience, created_by, created_at, deleted_at, region, shown)
  SELECT id, name, hall, dept, kind, url, secret, names, audience, created_by, created_at, deleted_at, region, shown FROM routes;
CREATE TABLE alerts_v17 (
  id INTEGER PRIMARY KEY,
  case_id INTEGER REFERENCES cases (id),
  kind TEXT NOT NULL,
  route INTEGER NOT NULL REFERENCES routes_v17 (id),
  detail TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  served TEXT,
  week INTEGER,
  CHECK ((case_id IS NOT NULL) + (served IS NOT NULL) + (week IS NOT NULL) = 1),
  UNIQUE (case_id, kind, route)
);
INSERT INTO alerts_v17 (id, case_id, kind, route, detail, created_at, sent_at, attempts, next_attempt_at, last_error, served, week)
  SELECT id, case_id, kind, route, detail, created_at, sent_at, attempts, next_attempt_at, last_error, served, week FROM alerts;
DROP TABLE alerts;
DROP TABLE routes;
ALTER TABLE routes_v17 RENAME TO routes;
ALTER TABLE alerts_v17 RENAME TO alerts;
CREATE INDEX alerts_pending ON alerts (route, next_attempt_at) WHERE sent_at IS NULL;
CREATE UNIQUE INDEX alerts_invite ON alerts (served, route) WHERE served IS NOT NULL;
CREATE UNIQUE INDEX alerts_digest ON alerts (week, route) WHERE week IS NOT NULL;

-- The order's number in the work-order system (its `received` event).
ALTER TABLE cases ADD COLUMN order_no TEXT;

-- Each event a bridge sent, by the bridge's own id: the same id again is a replay, answered
-- with the case as it is and changing nothing.
CREATE TABLE case_events (
  route INTEGER NOT NULL REFERENCES routes (id),
  id TEXT NOT NULL,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (route, id)
) WITHOUT ROWID;
CREATE INDEX case_events_case ON case_events (case_id, at);
