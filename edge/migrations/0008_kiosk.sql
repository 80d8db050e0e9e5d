-- Kiosk mode (release 0.8): a hall tablet at a window (评价器, pf = 4), opened as
-- /kiosk/<token> with a device token a hall administrator created in the console.

-- id: the token's public name (8 letters, shown in the console and the audit log). digest: the
-- token's SHA-256 (hex): the token itself is shown once and never stored. code: the window's code.
CREATE TABLE kiosks (
  id TEXT PRIMARY KEY,
  digest TEXT NOT NULL UNIQUE,
  code TEXT NOT NULL,
  region TEXT NOT NULL,
  hall TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  by_actor TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX kiosks_code ON kiosks (code);

-- The staff member on duty at a window's tablets, set in the console or by the queue system;
-- photo: a JPEG or PNG of at most 256 KB, base64.
CREATE TABLE on_duty (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  staff_no TEXT NOT NULL,
  photo TEXT,
  photo_type TEXT,
  set_at INTEGER NOT NULL,
  by_actor TEXT NOT NULL
) WITHOUT ROWID;

-- A link minted with "kiosk": true arms the window's tablet for its 办件: the first tablet
-- that asks takes it (armed_at), once.
ALTER TABLE links ADD COLUMN kiosk INTEGER NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN armed_at INTEGER;
CREATE INDEX links_kiosk ON links (code, created_at) WHERE kiosk = 1 AND armed_at IS NULL;
