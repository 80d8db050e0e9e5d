-- The alarm looks at 办件 left unrated every 10 s, oldest first (`unrated::tick`), but only one
-- whose 一事一评 link exists can be invited or given its default. A queue system's report of a
-- 办件 that has no link was read again at every round for as long as it stayed unrated: the
-- results bench's 600,000 such 办件 held the object's one thread for 2 s each time, and every
-- request waited. Such a 办件 is now marked (`linked = 0`) and kept out of the alarm's index
-- until its link is minted.
ALTER TABLE served ADD COLUMN linked INTEGER NOT NULL DEFAULT 1;
UPDATE served SET linked = 0 WHERE project_no IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM links l WHERE l.project_no = served.project_no AND l.code = served.code);
DROP INDEX served_unrated;
CREATE INDEX served_unrated ON served (at) WHERE rated = 0 AND project_no IS NOT NULL AND linked = 1;
CREATE TRIGGER served_linked_insert AFTER INSERT ON served WHEN NEW.project_no IS NOT NULL BEGIN
  UPDATE served SET linked = EXISTS (SELECT 1 FROM links l
    WHERE l.project_no = NEW.project_no AND l.code = NEW.code) WHERE key = NEW.key;
END;
CREATE TRIGGER links_served AFTER INSERT ON links BEGIN
  UPDATE served SET linked = 1 WHERE project_no = NEW.project_no AND code = NEW.code AND linked = 0;
END;
