-- Abuse resistance, second round (release 0.6): a rating that looks like stuffing is kept and
-- held, neither counted nor alerted nor forwarded until an administrator releases it.

-- hold: 0 counted, 1 held (疑似刷评, waiting for review), 2 rejected (kept, never forwarded),
-- 3 released (counted). signals: what held it, space-separated (rate, address, hours, form).
-- first: a rating's first revision, kept while a 追评 made before the first forward waits for it
-- (the upstream sees assessNumber 1 before 2).
ALTER TABLE ratings ADD COLUMN hold INTEGER NOT NULL DEFAULT 0 CHECK (hold IN (0, 1, 2, 3));
ALTER TABLE ratings ADD COLUMN signals TEXT NOT NULL DEFAULT '';
ALTER TABLE ratings ADD COLUMN first TEXT;
CREATE INDEX ratings_held ON ratings (hold, rated_at) WHERE hold IN (1, 2);

-- Each review decision: who released or rejected which rating, and why it was held.
CREATE TABLE reviews (
  rating TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('release', 'reject')),
  by_actor TEXT NOT NULL,
  at INTEGER NOT NULL,
  signals TEXT NOT NULL
);
CREATE INDEX reviews_rating ON reviews (rating);

-- Ratings per code, network address and minute: the address only as a keyed digest whose key
-- changes every day (`submit::address_digest`); rows leave after a day (`store::prune`).
CREATE TABLE addresses (
  code TEXT NOT NULL,
  net TEXT NOT NULL,
  minute INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (code, net, minute)
) WITHOUT ROWID;

-- The no-JavaScript form's budget, now per device: past it a post is held, never refused.
DROP TABLE form_budget;
CREATE TABLE form_spend (
  code TEXT NOT NULL,
  device TEXT NOT NULL,
  slot INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (code, device, slot)
) WITHOUT ROWID;

-- A status link names its rating (a held 差评 has no case until it is released).
CREATE TABLE receipts_by_rating (
  digest TEXT PRIMARY KEY,
  rating TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO receipts_by_rating (digest, rating, created_at)
  SELECT r.digest, c.rating, r.created_at FROM receipts r JOIN cases c ON c.id = r.case_id;
DROP TABLE receipts;
ALTER TABLE receipts_by_rating RENAME TO receipts;
CREATE INDEX receipts_rating ON receipts (rating);

-- Tallies count what counts: held and rejected ratings stay out, a released one comes in.
DROP TRIGGER ratings_tally_insert;
DROP TRIGGER ratings_tally_update;

CREATE TRIGGER ratings_tally_insert AFTER INSERT ON ratings WHEN NEW.hold IN (0, 3) BEGIN
  INSERT INTO tallies (month, hall, dept, staff, level, n) SELECT
    strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'),
    COALESCE(json_extract(NEW.entry, '$.hall'), ''), COALESCE(json_extract(NEW.entry, '$.dept'), ''),
    COALESCE(json_extract(NEW.entry, '$.staff_id'), ''), NEW.level, 0
    WHERE NOT EXISTS (SELECT 1 FROM tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
      AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
      AND staff = COALESCE(json_extract(NEW.entry, '$.staff_id'), '') AND level = NEW.level);
  UPDATE tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
    AND staff = COALESCE(json_extract(NEW.entry, '$.staff_id'), '') AND level = NEW.level;
END;

CREATE TRIGGER ratings_tally_out AFTER UPDATE OF level, rated_at, entry, hold ON ratings
WHEN OLD.hold IN (0, 3) BEGIN
  UPDATE tallies SET n = n - 1 WHERE month = strftime('%Y-%m', OLD.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(OLD.entry, '$.hall'), '') AND dept = COALESCE(json_extract(OLD.entry, '$.dept'), '')
    AND staff = COALESCE(json_extract(OLD.entry, '$.staff_id'), '') AND level = OLD.level;
END;

CREATE TRIGGER ratings_tally_in AFTER UPDATE OF level, rated_at, entry, hold ON ratings
WHEN NEW.hold IN (0, 3) BEGIN
  INSERT INTO tallies (month, hall, dept, staff, level, n) SELECT
    strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch'),
    COALESCE(json_extract(NEW.entry, '$.hall'), ''), COALESCE(json_extract(NEW.entry, '$.dept'), ''),
    COALESCE(json_extract(NEW.entry, '$.staff_id'), ''), NEW.level, 0
    WHERE NOT EXISTS (SELECT 1 FROM tallies WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
      AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
      AND staff = COALESCE(json_extract(NEW.entry, '$.staff_id'), '') AND level = NEW.level);
  UPDATE tallies SET n = n + 1 WHERE month = strftime('%Y-%m', NEW.rated_at + 28800, 'unixepoch')
    AND hall = COALESCE(json_extract(NEW.entry, '$.hall'), '') AND dept = COALESCE(json_extract(NEW.entry, '$.dept'), '')
    AND staff = COALESCE(json_extract(NEW.entry, '$.staff_id'), '') AND level = NEW.level;
END;
