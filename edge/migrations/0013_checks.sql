-- 差评 handled the way local rules say (#35): after the callback a handler checks the 差评
-- (核实: finding 属实 'true' / 部分属实 'partial' / 不属实 'false', and what it was about), and a
-- true one goes on one of two tracks (简易 'simple' / 复杂 'complex'), each with its own fix
-- deadline (`CASE_DEADLINES` 1w/2w/3w). A deadline may be extended once: asked with a reason and
-- a new date by a handler, approved or refused by a 大厅管理员.
ALTER TABLE cases ADD COLUMN finding TEXT CHECK (finding IN ('true', 'partial', 'false'));
ALTER TABLE cases ADD COLUMN about TEXT CHECK (about IN ('staff', 'process', 'waiting', 'system', 'policy'));
ALTER TABLE cases ADD COLUMN track TEXT CHECK (track IN ('simple', 'complex'));
ALTER TABLE cases ADD COLUMN checked_at INTEGER;
ALTER TABLE cases ADD COLUMN ext_state TEXT CHECK (ext_state IN ('asked', 'approved', 'refused'));
ALTER TABLE cases ADD COLUMN ext_reason TEXT;
ALTER TABLE cases ADD COLUMN ext_until INTEGER;
