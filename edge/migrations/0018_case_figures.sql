-- The public results of the city and its regions (#37.4) read each hall's cases of the period
-- from one index that holds every column they sum (no row of `cases` read, no entry's JSON
-- parsed), hall by hall from the halls that ever had a case (`case_halls`), in the index's
-- order (no sort). It replaces `cases_hall`, whose columns are its first two.
CREATE INDEX cases_figures ON cases (hall, opened_at, called_at, fixed_at, callback_due, fix_due, review, verdict);
DROP INDEX cases_hall;
CREATE TABLE case_halls (hall TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO case_halls (hall) SELECT DISTINCT hall FROM cases WHERE hall IS NOT NULL;
CREATE TRIGGER case_halls_insert AFTER INSERT ON cases WHEN NEW.hall IS NOT NULL BEGIN
  INSERT OR IGNORE INTO case_halls (hall) VALUES (NEW.hall);
END;
CREATE TRIGGER case_halls_entry AFTER UPDATE OF entry ON cases WHEN NEW.hall IS NOT NULL BEGIN
  INSERT OR IGNORE INTO case_halls (hall) VALUES (NEW.hall);
END;
