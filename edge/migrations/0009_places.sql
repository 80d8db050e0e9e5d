-- Scopes name places, not names (release 0.9): a hall is a hall of a region, so two halls of
-- the same name in two districts are two places. Accounts and tokens that named halls by name
-- now name each (region, hall) pair the directory has under that name (the access they had); a
-- name the directory does not have is dropped. Alert routes gain the region of the hall they
-- name, where the directory has that hall in one region only (elsewhere it stays NULL: every
-- region, shown to a city-wide administrator only). Accounts gain must_change (a generated
-- password is replaced at the next login), and tokens two roles for machines: queue (a queue or
-- business system: 一事一评 links) and feed (a tablet's on-duty feed).

UPDATE accounts SET scope = json_object('places', json((SELECT json_group_array(json_object('region', e.region, 'hall', e.hall)) FROM (SELECT DISTINCT region, hall FROM entries WHERE hall IN (SELECT value FROM json_each(accounts.scope, '$.halls')) ORDER BY region, hall) AS e))) WHERE json_type(scope, '$.halls') = 'array';
UPDATE tokens SET scope = json_object('places', json((SELECT json_group_array(json_object('region', e.region, 'hall', e.hall)) FROM (SELECT DISTINCT region, hall FROM entries WHERE hall IN (SELECT value FROM json_each(tokens.scope, '$.halls')) ORDER BY region, hall) AS e))) WHERE json_type(scope, '$.halls') = 'array';

ALTER TABLE accounts ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;

CREATE TABLE tokens_v9 (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('city', 'hall', 'handler', 'queue', 'feed')),
  scope TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;
INSERT INTO tokens_v9 (id, name, role, scope, secret_hash, created_at, created_by, revoked_at) SELECT id, name, role, scope, secret_hash, created_at, created_by, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v9 RENAME TO tokens;

ALTER TABLE routes ADD COLUMN region TEXT;
UPDATE routes SET region = (SELECT MIN(region) FROM entries WHERE entries.hall = routes.hall) WHERE hall IS NOT NULL AND (SELECT COUNT(DISTINCT region) FROM entries WHERE entries.hall = routes.hall) = 1;
