-- The directory's places as tables, kept by triggers on `entries`: the city's and a region's
-- results group halls by region and codes by hall, and read these rather than each entry's JSON
-- (`entries`' `hall` and `region` are computed from it on every read) or a hall's smallest region
-- worked out again for each page (on a city of 3,401 codes the three statements of its page took
-- 26 ms of SQLite on this machine, 16 with these tables).
--
-- code_places: each entry's code with its hall and region, as `entries` has them.
CREATE TABLE code_places (
  code TEXT PRIMARY KEY,
  hall TEXT,
  region TEXT
) WITHOUT ROWID;
CREATE INDEX code_places_hall ON code_places (hall, region);
-- hall_places: each hall of the directory with the smallest of its entries' regions (where the
-- pages put all its rows); a hall with no entry left has no row.
CREATE TABLE hall_places (
  hall TEXT PRIMARY KEY,
  region TEXT
) WITHOUT ROWID;
INSERT INTO code_places (code, hall, region) SELECT code, hall, region FROM entries;
INSERT INTO hall_places (hall, region) SELECT hall, MIN(region) FROM code_places WHERE hall IS NOT NULL GROUP BY hall;
-- A hall's row is worked out again from its codes whenever one of them comes, goes or changes.
CREATE VIEW hall_moves (hall) AS SELECT '' WHERE 0;
CREATE TRIGGER hall_moves_place INSTEAD OF INSERT ON hall_moves BEGIN
  DELETE FROM hall_places WHERE hall = NEW.hall;
  INSERT INTO hall_places (hall, region) SELECT hall, MIN(region) FROM code_places WHERE hall = NEW.hall GROUP BY hall;
END;
CREATE TRIGGER entries_place_insert AFTER INSERT ON entries BEGIN
  INSERT INTO code_places (code, hall, region) VALUES (NEW.code, NEW.hall, NEW.region);
  INSERT INTO hall_moves (hall) VALUES (NEW.hall);
END;
CREATE TRIGGER entries_place_delete AFTER DELETE ON entries BEGIN
  DELETE FROM code_places WHERE code = OLD.code;
  INSERT INTO hall_moves (hall) VALUES (OLD.hall);
END;
CREATE TRIGGER entries_place_update AFTER UPDATE ON entries BEGIN
  DELETE FROM code_places WHERE code = OLD.code;
  INSERT INTO code_places (code, hall, region) VALUES (NEW.code, NEW.hall, NEW.region);
  INSERT INTO hall_moves (hall) VALUES (OLD.hall);
  INSERT INTO hall_moves (hall) VALUES (NEW.hall);
END;
