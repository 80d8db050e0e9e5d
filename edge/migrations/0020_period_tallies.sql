-- The city's and a region's results read a period's rows, never a month's to be summed: a row a
-- hall and a row a code of each month and of its quarter (`period`: `2026-11`, `2026-Q4`), kept by
-- triggers on the running tallies they sum, as the ratings' and the 办件's triggers move those,
-- and on the 差评 cases they count.
--
-- Each table is written through a view whose INSTEAD OF trigger alone works out a row's counts
-- and adds them to its month's and its quarter's rows (`…_moves`, a change of counts each): the
-- triggers on the tallies and the backfill write into it.
--
-- hall_levels: a hall's ratings by level, the sums of its `tallies` rows (a level that is none of
-- the five counts in `other`, as `tallies` has it).
CREATE TABLE hall_levels (
  period TEXT NOT NULL,
  hall TEXT NOT NULL,
  very_satisfied INTEGER NOT NULL,
  satisfied INTEGER NOT NULL,
  basic INTEGER NOT NULL,
  dissatisfied INTEGER NOT NULL,
  very_dissatisfied INTEGER NOT NULL,
  other INTEGER NOT NULL,
  PRIMARY KEY (period, hall)
) WITHOUT ROWID;
CREATE VIEW level_moves (month, hall, level, n) AS SELECT '', '', '', 0 WHERE 0;
CREATE TRIGGER level_moves_count INSTEAD OF INSERT ON level_moves BEGIN
  INSERT INTO hall_levels (period, hall, very_satisfied, satisfied, basic, dissatisfied, very_dissatisfied, other)
  SELECT p.period, NEW.hall, (NEW.level = 'very_satisfied') * NEW.n, (NEW.level = 'satisfied') * NEW.n,
    (NEW.level = 'basic') * NEW.n, (NEW.level = 'dissatisfied') * NEW.n, (NEW.level = 'very_dissatisfied') * NEW.n,
    (NEW.level NOT IN ('very_satisfied', 'satisfied', 'basic', 'dissatisfied', 'very_dissatisfied')) * NEW.n
  FROM (SELECT NEW.month AS period UNION ALL SELECT substr(NEW.month, 1, 5) || 'Q' || ((CAST(substr(NEW.month, 6, 2) AS INTEGER) + 2) / 3)) AS p
  WHERE true
  ON CONFLICT (period, hall) DO UPDATE SET very_satisfied = very_satisfied + excluded.very_satisfied,
    satisfied = satisfied + excluded.satisfied, basic = basic + excluded.basic,
    dissatisfied = dissatisfied + excluded.dissatisfied,
    very_dissatisfied = very_dissatisfied + excluded.very_dissatisfied, other = other + excluded.other;
END;
INSERT INTO level_moves SELECT month, hall, level, n FROM tallies;
CREATE TRIGGER hall_levels_insert AFTER INSERT ON tallies BEGIN
  INSERT INTO level_moves VALUES (NEW.month, NEW.hall, NEW.level, NEW.n);
END;
CREATE TRIGGER hall_levels_n AFTER UPDATE OF n ON tallies BEGIN
  INSERT INTO level_moves VALUES (NEW.month, NEW.hall, NEW.level, NEW.n - OLD.n);
END;
-- code_periods: a code's 评价率 sums, those of its `served_tallies` rows (served, never, defaults)
-- and of its `code_tallies` rows (rated).
CREATE TABLE code_periods (
  period TEXT NOT NULL,
  code TEXT NOT NULL,
  served INTEGER NOT NULL,
  never INTEGER NOT NULL,
  defaults INTEGER NOT NULL,
  rated INTEGER NOT NULL,
  PRIMARY KEY (period, code)
) WITHOUT ROWID;
CREATE VIEW code_moves (month, code, served, never, defaults, rated) AS SELECT '', '', 0, 0, 0, 0 WHERE 0;
CREATE TRIGGER code_moves_count INSTEAD OF INSERT ON code_moves BEGIN
  INSERT INTO code_periods (period, code, served, never, defaults, rated)
  SELECT p.period, NEW.code, NEW.served, NEW.never, NEW.defaults, NEW.rated
  FROM (SELECT NEW.month AS period UNION ALL SELECT substr(NEW.month, 1, 5) || 'Q' || ((CAST(substr(NEW.month, 6, 2) AS INTEGER) + 2) / 3)) AS p
  WHERE true
  ON CONFLICT (period, code) DO UPDATE SET served = served + excluded.served, never = never + excluded.never,
    defaults = defaults + excluded.defaults, rated = rated + excluded.rated;
END;
INSERT INTO code_moves SELECT month, code, served, never, defaults, 0 FROM served_tallies;
INSERT INTO code_moves SELECT month, code, 0, 0, 0, n FROM code_tallies;
CREATE TRIGGER code_periods_served_insert AFTER INSERT ON served_tallies BEGIN
  INSERT INTO code_moves VALUES (NEW.month, NEW.code, NEW.served, NEW.never, NEW.defaults, 0);
END;
CREATE TRIGGER code_periods_served AFTER UPDATE OF served, never, defaults ON served_tallies BEGIN
  INSERT INTO code_moves VALUES (NEW.month, NEW.code, NEW.served - OLD.served, NEW.never - OLD.never,
    NEW.defaults - OLD.defaults, 0);
END;
CREATE TRIGGER code_periods_rated_insert AFTER INSERT ON code_tallies BEGIN
  INSERT INTO code_moves VALUES (NEW.month, NEW.code, 0, 0, 0, NEW.n);
END;
CREATE TRIGGER code_periods_rated AFTER UPDATE OF n ON code_tallies BEGIN
  INSERT INTO code_moves VALUES (NEW.month, NEW.code, 0, 0, 0, NEW.n - OLD.n);
END;
-- case_periods: a hall's 差评 cases by the period they were opened in (China Standard Time, as
-- the pages' periods run), the counts the pages add up; the cases that name no hall under
-- `named` 0. The times the medians take stay in `cases_figures`, read case by case.
CREATE TABLE case_periods (
  period TEXT NOT NULL,
  named INTEGER NOT NULL,
  hall TEXT NOT NULL,
  bad INTEGER NOT NULL,
  overturned INTEGER NOT NULL,
  called_on_time INTEGER NOT NULL,
  fixed_on_time INTEGER NOT NULL,
  verdicts INTEGER NOT NULL,
  verdicts_satisfied INTEGER NOT NULL,
  PRIMARY KEY (period, named, hall)
) WITHOUT ROWID;
-- A case counted into its periods (`sign` 1) or out of them (-1).
CREATE VIEW case_moves (opened_at, hall, review, called_at, callback_due, fixed_at, fix_due, verdict, sign) AS
  SELECT 0, '', '', 0, 0, 0, 0, '', 0 WHERE 0;
CREATE TRIGGER case_moves_count INSTEAD OF INSERT ON case_moves BEGIN
  INSERT INTO case_periods (period, named, hall, bad, overturned, called_on_time, fixed_on_time, verdicts, verdicts_satisfied)
  SELECT p.period, NEW.hall IS NOT NULL, COALESCE(NEW.hall, ''),
    NEW.sign * (NEW.review IS NOT 'overturned'),
    NEW.sign * (NEW.review IS 'overturned'),
    NEW.sign * ((NEW.review IS NOT 'overturned' AND NEW.called_at <= NEW.callback_due) IS 1),
    NEW.sign * ((NEW.review IS NOT 'overturned' AND NEW.fixed_at <= NEW.fix_due) IS 1),
    NEW.sign * (NEW.review IS NOT 'overturned' AND NEW.verdict IS NOT NULL),
    NEW.sign * ((NEW.review IS NOT 'overturned' AND NEW.verdict IN ('satisfied', 'basic')) IS 1)
  FROM (SELECT strftime('%Y-%m', NEW.opened_at + 28800, 'unixepoch') AS period
    UNION ALL SELECT substr(strftime('%Y-%m', NEW.opened_at + 28800, 'unixepoch'), 1, 5) || 'Q' || ((CAST(substr(strftime('%Y-%m', NEW.opened_at + 28800, 'unixepoch'), 6, 2) AS INTEGER) + 2) / 3)) AS p
  WHERE true
  ON CONFLICT (period, named, hall) DO UPDATE SET bad = bad + excluded.bad,
    overturned = overturned + excluded.overturned, called_on_time = called_on_time + excluded.called_on_time,
    fixed_on_time = fixed_on_time + excluded.fixed_on_time, verdicts = verdicts + excluded.verdicts,
    verdicts_satisfied = verdicts_satisfied + excluded.verdicts_satisfied;
END;
INSERT INTO case_moves SELECT opened_at, hall, review, called_at, callback_due, fixed_at, fix_due, verdict, 1 FROM cases;
CREATE TRIGGER case_periods_insert AFTER INSERT ON cases BEGIN
  INSERT INTO case_moves VALUES (NEW.opened_at, NEW.hall, NEW.review, NEW.called_at, NEW.callback_due, NEW.fixed_at, NEW.fix_due, NEW.verdict, 1);
END;
CREATE TRIGGER case_periods_update AFTER UPDATE OF entry, opened_at, review, called_at, callback_due, fixed_at, fix_due, verdict
  ON cases BEGIN
  INSERT INTO case_moves VALUES (OLD.opened_at, OLD.hall, OLD.review, OLD.called_at, OLD.callback_due, OLD.fixed_at, OLD.fix_due, OLD.verdict, -1);
  INSERT INTO case_moves VALUES (NEW.opened_at, NEW.hall, NEW.review, NEW.called_at, NEW.callback_due, NEW.fixed_at, NEW.fix_due, NEW.verdict, 1);
END;
CREATE TRIGGER case_periods_delete AFTER DELETE ON cases BEGIN
  INSERT INTO case_moves VALUES (OLD.opened_at, OLD.hall, OLD.review, OLD.called_at, OLD.callback_due, OLD.fixed_at, OLD.fix_due, OLD.verdict, -1);
END;
-- A month's running tally row only ever moves its counts (the ratings' and the 办件's triggers
-- insert it, then count on it): anything else would leave the periods' rows behind, so it is
-- refused.
CREATE TRIGGER tallies_keys_stay BEFORE UPDATE OF month, hall, dept, staff, level ON tallies BEGIN
  SELECT RAISE(ABORT, 'a tallies row keeps its month, hall, unit, staff member and level');
END;
CREATE TRIGGER tallies_stay BEFORE DELETE ON tallies BEGIN
  SELECT RAISE(ABORT, 'tallies rows are running sums and are never deleted');
END;
CREATE TRIGGER served_tallies_keys_stay BEFORE UPDATE OF month, code ON served_tallies BEGIN
  SELECT RAISE(ABORT, 'a served_tallies row keeps its month and code');
END;
CREATE TRIGGER served_tallies_stay BEFORE DELETE ON served_tallies BEGIN
  SELECT RAISE(ABORT, 'served_tallies rows are running sums and are never deleted');
END;
CREATE TRIGGER code_tallies_keys_stay BEFORE UPDATE OF month, code ON code_tallies BEGIN
  SELECT RAISE(ABORT, 'a code_tallies row keeps its month and code');
END;
CREATE TRIGGER code_tallies_stay BEFORE DELETE ON code_tallies BEGIN
  SELECT RAISE(ABORT, 'code_tallies rows are running sums and are never deleted');
END;
-- Each hall's places from an index, never from each entry's JSON: the pages group halls by their
-- regions (this index also finds a hall's codes, as `entries_hall` did).
CREATE INDEX entries_place ON entries (hall, region);
DROP INDEX entries_hall;
