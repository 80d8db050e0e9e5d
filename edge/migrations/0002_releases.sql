-- Which releases have opened this data, and when: the upgrade history an operator reads, and what
-- `zsp serve` of an older release names when it refuses data this schema is newer than.
CREATE TABLE releases (
  release TEXT PRIMARY KEY,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL
) WITHOUT ROWID;
