-- The admin console (release 0.3): accounts with roles and scopes, their sessions and login
-- failures, automation tokens, the audit log, the history of uploads, and what scopes filter on.

-- Where a code or a rating belongs, read from its directory entry's JSON: what every scoped query
-- filters on (`console::sql::Scope`). Virtual columns: nothing is rewritten.
ALTER TABLE entries ADD COLUMN region TEXT GENERATED ALWAYS AS (json_extract(json, '$.region')) VIRTUAL;
ALTER TABLE entries ADD COLUMN hall TEXT GENERATED ALWAYS AS (json_extract(json, '$.hall')) VIRTUAL;
ALTER TABLE ratings ADD COLUMN region TEXT GENERATED ALWAYS AS (json_extract(entry, '$.region')) VIRTUAL;
ALTER TABLE ratings ADD COLUMN hall TEXT GENERATED ALWAYS AS (json_extract(entry, '$.hall')) VIRTUAL;
CREATE INDEX entries_hall ON entries (hall);
CREATE INDEX ratings_hall_time ON ratings (hall, rated_at);
CREATE INDEX ratings_time ON ratings (rated_at);

-- Revocations belong to the authority that made them (a region prefix; '' for the whole
-- deployment, as before authorities), and to the hall and region of the code or staff member
-- they name (NULL for rows older than this release), with who and why.
ALTER TABLE revocations ADD COLUMN authority TEXT NOT NULL DEFAULT '';
ALTER TABLE revocations ADD COLUMN region TEXT;
ALTER TABLE revocations ADD COLUMN hall TEXT;
ALTER TABLE revocations ADD COLUMN reason TEXT;
ALTER TABLE revocations ADD COLUMN by_actor TEXT;
ALTER TABLE revocations ADD COLUMN at INTEGER;

-- Accounts. role: city (市级管理员), hall (大厅管理员), handler (差评处理人). scope: JSON
-- {"halls":[…]} or {"regions":[…]} (region-code prefixes) or {"all":true}.
CREATE TABLE accounts (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('city', 'hall', 'handler')),
  scope TEXT NOT NULL,
  password TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Sessions: the cookie's SHA-256, never the cookie; the CSRF token every form carries.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL REFERENCES accounts (name),
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions (account);

-- Failed logins, per account and client, for the lockout rule (kept a day).
CREATE TABLE login_failures (
  account TEXT NOT NULL,
  client TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX login_failures_account ON login_failures (account, at);

-- Automation tokens: `zspt_<id>_<secret>`; the secret's SHA-256 is kept, never the secret.
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('city', 'hall', 'handler')),
  scope TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;

-- The audit log: every write and every export of unmasked data. Never pruned.
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);

-- Uploads: staged for a preview (applied_at NULL), then applied; kept as the history.
CREATE TABLE uploads (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('directory', 'revocations')),
  authority TEXT NOT NULL,
  actor TEXT NOT NULL,
  staged_at INTEGER NOT NULL,
  applied_at INTEGER,
  summary TEXT NOT NULL,
  body TEXT
);
