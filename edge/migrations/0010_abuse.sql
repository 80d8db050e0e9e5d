-- Abuse resistance, third round: nobody outside can turn the service against the office.

-- Password hashes granted, per second and client: the global and per-client budgets (kept an
-- hour). The client is the address the trusted proxy names (`CLIENT_IP_HEADER`).
CREATE TABLE login_spend (
  second INTEGER NOT NULL,
  client TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (second, client)
) WITHOUT ROWID;
CREATE INDEX login_spend_client ON login_spend (client, second);

-- The clients an account logged in from (90 days): past the account-wide lock.
CREATE TABLE login_clients (
  account TEXT NOT NULL,
  client TEXT NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (account, client)
) WITHOUT ROWID;

-- Refused logins counted per quarter of an hour, client and reason, each with the one audit
-- entry (seq) that shows the count (kept a day; the audit entry for ever).
CREATE TABLE login_refusals (
  slot INTEGER NOT NULL,
  account TEXT NOT NULL,
  client TEXT NOT NULL,
  reason TEXT NOT NULL,
  n INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  seq INTEGER,
  PRIMARY KEY (slot, account, client, reason)
) WITHOUT ROWID;

-- A code's minute counts only the ratings that counted (a held flood no longer raises its
-- signal or its proof of work), and `f` of them came through the plain form (they do not raise
-- the work asked of the app's citizens either).
ALTER TABLE bursts ADD COLUMN f INTEGER NOT NULL DEFAULT 0;

-- Held submissions past a code's day's keep (HELD_KEEP): counted, not stored.
CREATE TABLE held_overflow (
  code TEXT NOT NULL,
  day INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (code, day)
) WITHOUT ROWID;

-- Status-link lookups that found nothing, per minute and client (the day's digest of its
-- address, '' when no proxy names it): a budget per client under a ceiling for everyone, instead
-- of one budget that a stranger could spend for every citizen. Kept ten minutes.
DROP TABLE receipt_misses;
CREATE TABLE status_misses (
  minute INTEGER NOT NULL,
  client TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (minute, client)
) WITHOUT ROWID;
