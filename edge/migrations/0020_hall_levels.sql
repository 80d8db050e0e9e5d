-- The city's and a region's results read a row a hall and month, not a row a staff member and
-- level: each hall's ratings of a month by level are the sums of its `tallies` rows, kept by
-- triggers on `tallies` as the ratings' triggers change them (a row is inserted at 0, then its
-- `n` moves). A level that is none of the five counts in `other`, as `tallies` has it.
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
CREATE TRIGGER hall_levels_out AFTER UPDATE ON tallies BEGIN
  UPDATE hall_levels SET very_satisfied = very_satisfied - (OLD.level = 'very_satisfied') * OLD.n,
    satisfied = satisfied - (OLD.level = 'satisfied') * OLD.n, basic = basic - (OLD.level = 'basic') * OLD.n,
    dissatisfied = dissatisfied - (OLD.level = 'dissatisfied') * OLD.n,
    very_dissatisfied = very_dissatisfied - (OLD.level = 'very_dissatisfied') * OLD.n,
    other = other - (OLD.level NOT IN ('very_satisfied', 'satisfied', 'basic', 'dissatisfied', 'very_dissatisfied')) * OLD.n
  WHERE month = OLD.month AND hall = OLD.hall;
  INSERT INTO hall_levels (month, hall, very_satisfied, satisfied, basic, dissatisfied, very_dissatisfied, other)
  VALUES (NEW.month, NEW.hall, (NEW.level = 'very_satisfied') * NEW.n, (NEW.level = 'satisfied') * NEW.n,
    (NEW.level = 'basic') * NEW.n, (NEW.level = 'dissatisfied') * NEW.n, (NEW.level = 'very_dissatisfied') * NEW.n,
    (NEW.level NOT IN ('very_satisfied', 'satisfied', 'basic', 'dissatisfied', 'very_dissatisfied')) * NEW.n)
  ON CONFLICT (month, hall) DO UPDATE SET very_satisfied = very_satisfied + excluded.very_satisfied,
    satisfied = satisfied + excluded.satisfied, basic = basic + excluded.basic,
    dissatisfied = dissatisfied + excluded.dissatisfied,
    very_dissatisfied = very_dissatisfied + excluded.very_dissatisfied, other = other + excluded.other;
END;
CREATE TRIGGER hall_levels_delete AFTER DELETE ON tallies BEGIN
  UPDATE hall_levels SET very_satisfied = very_satisfied - (OLD.level = 'very_satisfied') * OLD.n,
    satisfied = satisfied - (OLD.level = 'satisfied') * OLD.n, basic = basic - (OLD.level = 'basic') * OLD.n,
    dissatisfied = dissatisfied - (OLD.level = 'dissatisfied') * OLD.n,
    very_dissatisfied = very_dissatisfied - (OLD.level = 'very_dissatisfied') * OLD.n,
    other = other - (OLD.level NOT IN ('very_satisfied', 'satisfied', 'basic', 'dissatisfied', 'very_dissatisfied')) * OLD.n
  WHERE month = OLD.month AND hall = OLD.hall;
END;
-- Each hall's places from an index, never from each entry's JSON: the pages group halls by their
-- regions (this index also finds a hall's codes, as `entries_hall` did).
CREATE INDEX entries_place ON entries (hall, region);
DROP INDEX entries_hall;
