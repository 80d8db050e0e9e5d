-- 评价率 read, not computed (#37.4): the served 办件 counted by month and code as they are written,
-- the way ratings are (`code_tallies`). A results page, the console's 评价率, the report and
-- `/metrics` read a period's months here instead of grouping every served row of it.
--   served:   Σ n
--   never:    a 办件 with a 办件号 (link or report) neither rated by a citizen nor defaulted
--   defaults: a 办件 whose standing rating is the system default
CREATE TABLE served_tallies (
  month TEXT NOT NULL,
  code TEXT NOT NULL,
  served INTEGER NOT NULL,
  never INTEGER NOT NULL,
  defaults INTEGER NOT NULL,
  PRIMARY KEY (month, code)
) WITHOUT ROWID;
INSERT INTO served_tallies (month, code, served, never, defaults)
  SELECT strftime('%Y-%m', day * 86400, 'unixepoch'), code, SUM(n),
    SUM(source IN ('link', 'report') AND rated = 0 AND COALESCE(defaulted_at, 0) = 0),
    SUM(rated = 0 AND COALESCE(defaulted_at, 0) > 0)
  FROM served GROUP BY 1, 2;
CREATE TRIGGER served_tally_insert AFTER INSERT ON served BEGIN
  INSERT INTO served_tallies (month, code, served, never, defaults) VALUES (
    strftime('%Y-%m', NEW.day * 86400, 'unixepoch'), NEW.code, NEW.n,
    NEW.source IN ('link', 'report') AND NEW.rated = 0 AND COALESCE(NEW.defaulted_at, 0) = 0,
    NEW.rated = 0 AND COALESCE(NEW.defaulted_at, 0) > 0)
  ON CONFLICT (month, code) DO UPDATE SET served = served + excluded.served,
    never = never + excluded.never, defaults = defaults + excluded.defaults;
END;
CREATE TRIGGER served_tally_update AFTER UPDATE OF n, rated, defaulted_at, day, code, source ON served BEGIN
  UPDATE served_tallies SET served = served - OLD.n,
    never = never - (OLD.source IN ('link', 'report') AND OLD.rated = 0 AND COALESCE(OLD.defaulted_at, 0) = 0),
    defaults = defaults - (OLD.rated = 0 AND COALESCE(OLD.defaulted_at, 0) > 0)
  WHERE month = strftime('%Y-%m', OLD.day * 86400, 'unixepoch') AND code = OLD.code;
  INSERT INTO served_tallies (month, code, served, never, defaults) VALUES (
    strftime('%Y-%m', NEW.day * 86400, 'unixepoch'), NEW.code, NEW.n,
    NEW.source IN ('link', 'report') AND NEW.rated = 0 AND COALESCE(NEW.defaulted_at, 0) = 0,
    NEW.rated = 0 AND COALESCE(NEW.defaulted_at, 0) > 0)
  ON CONFLICT (month, code) DO UPDATE SET served = served + excluded.served,
    never = never + excluded.never, defaults = defaults + excluded.defaults;
END;
