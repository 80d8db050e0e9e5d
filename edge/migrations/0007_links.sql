-- 一事一评 (release 0.7): a link minted by a hall's queue or business system for one 办件, rated
-- once (amended by a 追评) with its matter fixed, its 办件号 forwarded as projectNo.

-- token: the URL's 16 base32 letters (80 random bits). project_no: the 办件号, minted once
-- (minting again returns the same link). region and hall: the code's, for scopes.
CREATE TABLE links (
  token TEXT PRIMARY KEY,
  code TEXT NOT NULL,
  matter TEXT NOT NULL,
  project_no TEXT NOT NULL UNIQUE,
  region TEXT NOT NULL,
  hall TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  by_actor TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX links_expiry ON links (expires_at);

-- A rating made through a link carries its 办件号.
ALTER TABLE ratings ADD COLUMN project_no TEXT;
