-- The 差评 fast lane (release 0.4): a case for every 差评 and its steps (the ledger, 台账), the
-- chat routes its alerts go to, the alerts themselves as an outbox, the robots' recent sends (for
-- their 20-a-minute limit), the repeat rule's firings, and the working-day calendars.

-- One case per rated visit (the rating's id: an amendment, 追评, joins the same case). What the
-- ledger files is copied at opening, so the case outlives the rating's retention; the phone is
-- not copied (it is read from the rating, while the case is open, and each view is audited).
-- callback_due and fix_due stay NULL until the object's alarm has counted them (the calendar and
-- deadlines are settings it reads); guessed lists years counted Monday to Friday for want of a
-- calendar.
CREATE TABLE cases (
  id INTEGER PRIMARY KEY,
  rating TEXT NOT NULL UNIQUE,
  opened_at INTEGER NOT NULL,
  opened_rev INTEGER NOT NULL,
  code TEXT NOT NULL,
  entry TEXT NOT NULL,
  region TEXT GENERATED ALWAYS AS (json_extract(entry, '$.region')) VIRTUAL,
  hall TEXT GENERATED ALWAYS AS (json_extract(entry, '$.hall')) VIRTUAL,
  dept TEXT GENERATED ALWAYS AS (json_extract(entry, '$.dept')) VIRTUAL,
  staff TEXT GENERATED ALWAYS AS (json_extract(entry, '$.staff_id')) VIRTUAL,
  level TEXT NOT NULL,
  tags TEXT NOT NULL,
  matter TEXT,
  comment TEXT NOT NULL,
  callback_due INTEGER,
  fix_due INTEGER,
  guessed TEXT,
  state TEXT NOT NULL DEFAULT 'callback'
    CHECK (state IN ('callback', 'called', 'fixing', 'fixed', 'replied', 'closed', 'appealed')),
  -- The appeal branch: 申诉 (misrated | malicious), then 复核 (upheld | overturned).
  appeal TEXT CHECK (appeal IN ('misrated', 'malicious')),
  review TEXT CHECK (review IN ('upheld', 'overturned')),
  outcome TEXT CHECK (outcome IN ('reached', 'no_answer', 'no_phone')),
  measures TEXT,
  reply TEXT,
  called_at INTEGER,
  fixed_at INTEGER,
  replied_at INTEGER,
  closed_at INTEGER,
  -- Reminders already sent: 'callback' or 'fix', for the step they were about.
  soon_sent TEXT,
  overdue_sent TEXT,
  alerted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_open ON cases (state, callback_due);
CREATE INDEX cases_hall ON cases (hall, opened_at);
CREATE INDEX cases_staff ON cases (staff, opened_at);
CREATE INDEX cases_new ON cases (id) WHERE alerted = 0;

-- Each step: who, when, from which role, and a note (the audit log records it as well).
CREATE TABLE case_steps (
  case_id INTEGER NOT NULL REFERENCES cases (id),
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  step TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_steps_case ON case_steps (case_id, at);

-- Where alerts go: per hall and/or unit (NULL: any). kind wecom | dingtalk | webhook; url and
-- secret are secrets (never shown whole, never logged). audience: handlers (every 差评, reminders)
-- or supervisors (repeat 差评, overdue cases).
CREATE TABLE routes (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  hall TEXT,
  dept TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'webhook')),
  url TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  names INTEGER NOT NULL DEFAULT 0,
  audience TEXT NOT NULL CHECK (audience IN ('handlers', 'supervisors')),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER
);

-- The alerts' outbox: one row per event and route, never twice (the UNIQUE key); sent_at set
-- once the route acknowledged the message that carried it.
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  kind TEXT NOT NULL,
  route INTEGER NOT NULL REFERENCES routes (id),
  detail TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  UNIQUE (case_id, kind, route)
);
CREATE INDEX alerts_pending ON alerts (route, next_attempt_at) WHERE sent_at IS NULL;

-- Messages each robot route took, for the 20-a-minute limit (kept ten minutes).
CREATE TABLE route_sends (
  route INTEGER NOT NULL,
  at INTEGER NOT NULL,
  alerts INTEGER NOT NULL
);
CREATE INDEX route_sends_route ON route_sends (route, at);

-- The repeat rule's firings: one per staff member (matter '') or staff member and matter, and
-- not again within the rule's days.
CREATE TABLE repeats (
  staff TEXT NOT NULL,
  matter TEXT NOT NULL,
  case_id INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX repeats_pair ON repeats (staff, matter, at);

-- Working-day calendars edited in the console (wire::calendar's file, one a year). A year here
-- replaces the one shipped with the release.
CREATE TABLE calendars (
  year INTEGER PRIMARY KEY,
  json TEXT NOT NULL,
  by_actor TEXT NOT NULL,
  at INTEGER NOT NULL
);
