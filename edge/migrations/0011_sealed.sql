-- Secrets at rest: a route's address (a robot's key is in it) and signing secret are stored
-- sealed under the edge's challenge key (`wire::seal`); the storage object seals the routes
-- stored before this at its start (`fastlane::reseal`). What the console shows is kept beside.
ALTER TABLE routes ADD COLUMN shown TEXT NOT NULL DEFAULT '';
UPDATE routes SET shown = CASE WHEN instr(url, '?') > 0
  THEN substr(url, 1, instr(url, '?') - 1) || '?…（已隐藏）' ELSE url END;
-- A deleted route keeps neither.
UPDATE routes SET url = '', secret = '' WHERE deleted_at IS NOT NULL;
