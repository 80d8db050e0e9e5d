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

-- A tablet's arming by the staff member's press is a row on the server, not only the tablet's
-- script: its one live arming (arm, a random token), when it was made, and the submission that
-- took it. A tablet arms again only KIOSK_ARM_SECS after an arming that was taken; a rating that
-- names no live arming is held for review (signal `unarmed`).
ALTER TABLE kiosks ADD COLUMN arm TEXT;
ALTER TABLE kiosks ADD COLUMN armed_at INTEGER;
ALTER TABLE kiosks ADD COLUMN arm_taken TEXT;

-- A token may carry its last moment (the end of the day an administrator chose); a leaked
-- token then stops by itself.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;

-- A 办件号 is unique within its issuing authority (AUTHORITIES; '' when the deployment is one),
-- not across the deployment: one authority's hall can neither take another's 办件号 nor learn
-- that it exists. Links minted before this release keep authority ''.
CREATE TABLE links_v10 (
  token TEXT PRIMARY KEY,
  code TEXT NOT NULL,
  matter TEXT NOT NULL,
  project_no TEXT NOT NULL,
  authority TEXT NOT NULL DEFAULT '',
  region TEXT NOT NULL,
  hall TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  by_actor TEXT NOT NULL,
  kiosk INTEGER NOT NULL DEFAULT 0,
  armed_at INTEGER,
  UNIQUE (authority, project_no)
) WITHOUT ROWID;
INSERT INTO links_v10 (token, code, matter, project_no, region, hall, created_at, expires_at, revoked_at, by_actor, kiosk, armed_at)
  SELECT token, code, matter, project_no, region, hall, created_at, expires_at, revoked_at, by_actor, kiosk, armed_at FROM links;
DROP TABLE links;
ALTER TABLE links_v10 RENAME TO links;
CREATE INDEX links_expiry ON links (expires_at);
CREATE INDEX links_kiosk ON links (code, created_at) WHERE kiosk = 1 AND armed_at IS NULL;

-- Who gave a link's rating (the device its page's cookie named, keyed by the link's rating
-- device) and on which day: only that device, that day, may amend it. `elsewhere` is set by an
-- attempt from another device or day, and its CHECK undoes that attempt's whole transaction.
CREATE TABLE link_raters (
  device TEXT PRIMARY KEY,
  rater TEXT NOT NULL,
  day INTEGER NOT NULL,
  elsewhere INTEGER NOT NULL DEFAULT 0 CONSTRAINT link_rated_elsewhere CHECK (elsewhere = 0)
) WITHOUT ROWID;
