-- 掌上评 edge storage: the SQLite database of the one storage object (a Durable Object). It is
-- the durable outbox, not the system of record: the upstream 好差评 platform is. Rows leave once
-- forwarded and past the retention period.

-- Directory: one row per printed code, the JSON entry written by qr-gen (wire::directory::Entry).
CREATE TABLE entries (
  code TEXT PRIMARY KEY,
  json TEXT NOT NULL
) WITHOUT ROWID;

-- Revocations: kind 'code' (ref = code id) or 'staff' (ref = staff ref); issued_before is a Day
-- number (days since 1970-01-01, CST) or NULL for "every print of this code".
CREATE TABLE revocations (
  kind TEXT NOT NULL CHECK (kind IN ('code', 'staff')),
  ref TEXT NOT NULL,
  issued_before INTEGER
);
CREATE INDEX revocations_ref ON revocations (ref);

-- Single use of challenges, strongly consistent: the PRIMARY KEY is the guard.
CREATE TABLE used_challenges (
  nonce TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX used_challenges_expiry ON used_challenges (expires_at);

-- Submissions per code per minute: more than one window can serve is flagged, never dropped.
CREATE TABLE bursts (
  code TEXT NOT NULL,
  minute INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (code, minute)
) WITHOUT ROWID;

-- The no-JavaScript form cannot do proof of work: a stricter budget per code per 10 minutes.
-- The CHECK makes the increment fail (and with it the whole submission batch) past the budget.
CREATE TABLE form_budget (
  code TEXT NOT NULL,
  slot INTEGER NOT NULL,
  n INTEGER NOT NULL CONSTRAINT form_budget_spent CHECK (n <= 6),
  PRIMARY KEY (code, slot)
) WITHOUT ROWID;

-- Ratings: one row per device, code and day ("一次一评"); a same-day resubmission amends it
-- (追评: assess_number 2, rev + 1). forwarded_rev < rev means the upstream still owes an ack.
CREATE TABLE ratings (
  id TEXT PRIMARY KEY,
  code TEXT NOT NULL,
  device TEXT NOT NULL,
  day INTEGER NOT NULL,
  assess_number INTEGER NOT NULL,
  rev INTEGER NOT NULL,
  last_submission TEXT NOT NULL,
  rated_at INTEGER NOT NULL,
  level TEXT NOT NULL,
  tags TEXT NOT NULL,
  tag_version INTEGER NOT NULL,
  matter TEXT,
  comment TEXT NOT NULL,
  phone TEXT,
  flagged INTEGER NOT NULL,
  via TEXT NOT NULL,
  entry TEXT NOT NULL,
  forwarded_rev INTEGER NOT NULL DEFAULT 0,
  forwarded_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  UNIQUE (code, device, day)
);
CREATE INDEX ratings_last_submission ON ratings (last_submission);
CREATE INDEX ratings_pending ON ratings (next_attempt_at) WHERE forwarded_rev < rev;
CREATE INDEX ratings_forwarded ON ratings (forwarded_at) WHERE forwarded_at IS NOT NULL;
