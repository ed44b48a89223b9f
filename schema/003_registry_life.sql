-- fieldlog ledger schema, version 3: the registry's life.
--
-- A department, cadre or enterprise is retired, never deleted: its rows, its history and every
-- record that names it stay; a retired unit takes no new cadre, a retired cadre no new linkage or
-- device, a retired enterprise no new linkage, visit or demand (its open demands are still
-- handled to the end). Retiring again with no date brings it back (docs/ledger.md).
ALTER TABLE departments ADD COLUMN retired_on TEXT;   -- YYYY-MM-DD, NULL while in service
ALTER TABLE cadres ADD COLUMN retired_on TEXT;
ALTER TABLE enterprises ADD COLUMN retired_on TEXT;
ALTER TABLE enterprises ADD COLUMN short_name TEXT;   -- 简称, what people call it; looked up like the name
