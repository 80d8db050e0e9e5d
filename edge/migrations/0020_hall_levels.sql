-- The city's and a region's results read a row a hall and month, not a row a staff member and
-- level: each hall's ratings of a month by level are the sums of its `tallies` rows, kept by
-- triggers on `tallies` as the ratings' triggers change them (a row is inserted, at 0, then only
-- its `n` moves). A level that is none of the five counts in `other`, as `tallies` has it.
CREATE TABLE hall_levels (
  month TEXT NOT NULL,
  hall TEXT NOT NULL,
  very_satisfied INTEGER NOT NULL,
  satisfied INTEGER NOT NULL,
  basic INTEGER NOT NULL,
  dissatisfied INTEGER NOT NULL,
  very_dissatisfied INTEGER NOT NULL,
  other INTEGER NOT NULL,
  PRIMARY KEY (month, hall)
) WITHOUT ROWID;
INSERT INTO hall_levels (month, hall, very_satisfied, satisfied, basic, dissatisfied, very_dissatisfied, other)
  SELECT month, hall, SUM((level = 'very_satisfied') * n), SUM((level = 'satisfied') * n), SUM((level = 'basic') * n),
    SUM((level = 'dissatisfied') * n), SUM((level = 'very_dissatisfied') * n),
    SUM((level NOT IN ('very_satisfied', 'satisfied', 'basic', 'dissatisfied', 'very_dissatisfied')) * n)
  FROM tallies GROUP BY month, hall;
CREATE TRIGGER hall_levels_insert AFTER INSERT ON tallies BEGIN
  INSERT INTO hall_levels (month, hall, very_satisfied, satisfied, basic, dissatisfied, very_dissatisfied, other)
  VALUES (NEW.month, NEW.hall, (NEW.level = 'very_satisfied') * NEW.n, (NEW.level = 'satisfied') * NEW.n,
    (NEW.level = 'basic') * NEW.n, (NEW.level = 'dissatisfied') * NEW.n, (NEW.level = 'very_dissatisfied') * NEW.n,
    (NEW.level NOT IN ('very_satisfied', 'satisfied', 'basic', 'dissatisfied', 'very_dissatisfied')) * NEW.n)
  ON CONFLICT (month, hall) DO UPDATE SET very_satisfied = very_satisfied + excluded.very_satisfied,
    satisfied = satisfied + excluded.satisfied, basic = basic + excluded.basic,
    dissatisfied = dissatisfied + excluded.dissatisfied,
    very_dissatisfied = very_dissatisfied + excluded.very_dissatisfied, other = other + excluded.other;
END;
CREATE TRIGGER hall_levels_n AFTER UPDATE OF n ON tallies BEGIN
  UPDATE hall_levels SET very_satisfied = very_satisfied + (NEW.level = 'very_satisfied') * (NEW.n - OLD.n),
    satisfied = satisfied + (NEW.level = 'satisfied') * (NEW.n - OLD.n),
    basic = basic + (NEW.level = 'basic') * (NEW.n - OLD.n),
    dissatisfied = dissatisfied + (NEW.level = 'dissatisfied') * (NEW.n - OLD.n),
    very_dissatisfied = very_dissatisfied + (NEW.level = 'very_dissatisfied') * (NEW.n - OLD.n),
    other = other + (NEW.level NOT IN ('very_satisfied', 'satisfied', 'basic', 'dissatisfied', 'very_dissatisfied'))
      * (NEW.n - OLD.n)
  WHERE month = NEW.month AND hall = NEW.hall;
END;
-- A tallies row only ever moves its `n` (the ratings' triggers insert it at 0 and count on it):
-- anything else would leave `hall_levels` behind, so it is refused.
CREATE TRIGGER tallies_keys_stay BEFORE UPDATE OF month, hall, dept, staff, level ON tallies BEGIN
  SELECT RAISE(ABORT, 'a tallies row keeps its month, hall, unit, staff member and level');
END;
CREATE TRIGGER tallies_stay BEFORE DELETE ON tallies BEGIN
  SELECT RAISE(ABORT, 'tallies rows are running sums and are never deleted');
END;
-- Each hall's places from an index, never from each entry's JSON: the pages group halls by their
-- regions (this index also finds a hall's codes, as `entries_hall` did).
CREATE INDEX entries_place ON entries (hall, region);
DROP INDEX entries_hall;
