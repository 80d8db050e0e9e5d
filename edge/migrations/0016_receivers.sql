-- Several receivers (#36.2): what each upstream receiver is owed is its own row, so that one
-- receiver that is down holds none of the others back and each has its own backlog, backoff
-- and order. `receivers` mirrors `UPSTREAMS` (written at every start of the storage object: a
-- receiver taken out of the settings is kept inactive, so that put back it resumes where it
-- stopped); `deliveries` is a rating as one receiver takes it:
--   rev       the revision it acknowledged (0: none yet)
--   want      the revision it is owed (the rating's own while the rating counts, else `rev`)
--   queued_at its place in the receiver's order (when the revision owed became owed)
--   due_at    not before (a lease while it is being sent, or its own backoff after a refusal)
-- A receiver that is unreachable or fails (no answer, 5xx, 408, 429, or 401/403/404) backs off
-- as a whole (`receivers.retry_at`); one that refuses one rating (another 4xx) only backs that
-- one off.
-- The ratings' own columns for the one upstream of earlier releases become the deliveries of a
-- receiver named `upstream` (what `UPSTREAM_URL` alone still configures); `next_attempt_at` stays
-- on the rating as the time its newest revision became owed.
-- A receiver that takes results (`results`) is also owed each 差评 case's result (#36.3): a
-- case's `results` counts its results (办结, and each later 追评 of the citizen's); its row of
-- `case_deliveries` (keyed by the case's rating) works as a rating's does, and is sent only
-- once the receiver has the rating.
CREATE TABLE receivers (
  name TEXT PRIMARY KEY,
  takes TEXT NOT NULL CHECK (takes IN ('all', 'bad')),
  region TEXT NOT NULL DEFAULT '',
  results INTEGER NOT NULL DEFAULT 0 CHECK (results IN (0, 1)),
  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  attempts INTEGER NOT NULL DEFAULT 0,
  retry_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_ok_at INTEGER
) WITHOUT ROWID;

CREATE TABLE deliveries (
  receiver TEXT NOT NULL,
  id TEXT NOT NULL,
  rev INTEGER NOT NULL DEFAULT 0,
  want INTEGER NOT NULL,
  queued_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  forwarded_at INTEGER,
  PRIMARY KEY (receiver, id)
) WITHOUT ROWID;
CREATE INDEX deliveries_owed ON deliveries (receiver, queued_at, id) WHERE rev < want;
CREATE INDEX deliveries_rating ON deliveries (id);

CREATE TABLE case_deliveries (
  receiver TEXT NOT NULL,
  id TEXT NOT NULL,
  rev INTEGER NOT NULL DEFAULT 0,
  want INTEGER NOT NULL,
  queued_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  forwarded_at INTEGER,
  PRIMARY KEY (receiver, id)
) WITHOUT ROWID;
CREATE INDEX case_deliveries_owed ON case_deliveries (receiver, queued_at, id) WHERE rev < want;
ALTER TABLE cases ADD COLUMN results INTEGER NOT NULL DEFAULT 0;

INSERT INTO receivers (name, takes, region, active) VALUES ('upstream', 'all', '', 0);
INSERT INTO deliveries (receiver, id, rev, want, queued_at, due_at, attempts, last_error, forwarded_at)
  SELECT 'upstream', id, forwarded_rev, CASE WHEN hold IN (0, 3) THEN rev ELSE forwarded_rev END,
    next_attempt_at, next_attempt_at, attempts, last_error, forwarded_at FROM ratings;

DROP INDEX ratings_pending;
DROP INDEX ratings_forwarded;
ALTER TABLE ratings DROP COLUMN forwarded_rev;
ALTER TABLE ratings DROP COLUMN forwarded_at;
ALTER TABLE ratings DROP COLUMN attempts;
ALTER TABLE ratings DROP COLUMN last_error;

-- A counted rating is owed to each active receiver that takes it: every level, or 差评 only,
-- and its region under the receiver's prefix. Once a receiver has one revision it is owed the
-- later ones, whatever they say (a 差评 amended to 满意 is told to the 差评 receiver too). (No
-- `OR IGNORE` here: the statement that fires a trigger, an upsert, decides its conflicts.)
CREATE TRIGGER ratings_owed_insert AFTER INSERT ON ratings WHEN NEW.hold IN (0, 3) BEGIN
  INSERT INTO deliveries (receiver, id, want, queued_at, due_at)
    SELECT name, NEW.id, NEW.rev, NEW.next_attempt_at, NEW.next_attempt_at FROM receivers
    WHERE active = 1 AND (takes = 'all' OR NEW.level IN ('dissatisfied', 'very_dissatisfied'))
      AND substr(COALESCE(NEW.region, ''), 1, length(region)) = region
      AND NOT EXISTS (SELECT 1 FROM deliveries WHERE receiver = receivers.name AND id = NEW.id);
END;
CREATE TRIGGER ratings_owed_update AFTER UPDATE OF rev, hold, next_attempt_at ON ratings BEGIN
  UPDATE deliveries SET want = CASE WHEN NEW.hold IN (0, 3) THEN NEW.rev ELSE rev END,
    queued_at = CASE WHEN NEW.rev != OLD.rev OR OLD.hold NOT IN (0, 3) THEN NEW.next_attempt_at ELSE queued_at END,
    due_at = NEW.next_attempt_at, attempts = 0, last_error = NULL
  WHERE id = NEW.id;
  INSERT INTO deliveries (receiver, id, want, queued_at, due_at)
    SELECT name, NEW.id, NEW.rev, NEW.next_attempt_at, NEW.next_attempt_at FROM receivers
    WHERE NEW.hold IN (0, 3) AND active = 1
      AND (takes = 'all' OR NEW.level IN ('dissatisfied', 'very_dissatisfied'))
      AND substr(COALESCE(NEW.region, ''), 1, length(region)) = region
      AND NOT EXISTS (SELECT 1 FROM deliveries WHERE receiver = receivers.name AND id = NEW.id);
END;
CREATE TRIGGER ratings_owed_delete AFTER DELETE ON ratings BEGIN
  DELETE FROM deliveries WHERE id = OLD.id;
END;

-- A case's results: 办结, and the citizen's 追评 after it (`verdict`); each owed to the active
-- receivers that take results and the case's region.
CREATE TRIGGER cases_result_closed AFTER UPDATE OF state ON cases
  WHEN NEW.state = 'closed' AND OLD.state != 'closed' BEGIN
  UPDATE cases SET results = results + 1 WHERE id = NEW.id;
END;
CREATE TRIGGER cases_result_verdict AFTER UPDATE OF verdict ON cases
  WHEN NEW.verdict IS NOT NULL AND NEW.verdict IS NOT OLD.verdict BEGIN
  UPDATE cases SET results = results + 1 WHERE id = NEW.id;
END;
CREATE TRIGGER cases_results_owed AFTER UPDATE OF results ON cases WHEN NEW.results > OLD.results BEGIN
  UPDATE case_deliveries SET want = NEW.results, queued_at = COALESCE(NEW.closed_at, NEW.followup_at, 0), due_at = 0,
    attempts = 0, last_error = NULL WHERE id = NEW.rating;
  INSERT INTO case_deliveries (receiver, id, want, queued_at, due_at)
    SELECT name, NEW.rating, NEW.results, COALESCE(NEW.closed_at, NEW.followup_at, 0), 0 FROM receivers
    WHERE active = 1 AND results = 1
      AND substr(COALESCE(NEW.region, ''), 1, length(region)) = region
      AND NOT EXISTS (SELECT 1 FROM case_deliveries WHERE receiver = receivers.name AND id = NEW.rating);
END;
