-- fieldlog ledger schema, version 2: the demand workflow and the working-day calendar.
--
-- A demand's state is derived from its events (docs/workflow.md): each event names the event it
-- follows (parent_id), so two actions taken concurrently on different replicas after the same
-- event are siblings, and both are kept and shown as a workflow conflict. The action's own data
-- (departments, deadlines, the reply, the enterprise's verdict) travels in the event, as JSON.
ALTER TABLE demand_events ADD COLUMN parent_id BLOB;   -- the event this one follows; NULL for the first
ALTER TABLE demand_events ADD COLUMN data TEXT;        -- JSON object, keys per action (docs/workflow.md)

-- Scope "registry": official working-day calendars beyond the years this build ships, one row per
-- year, loaded by the operator (`fieldlog calendar load FILE`). The row id is derived from the year,
-- so loading a year again replaces it.
CREATE TABLE calendars(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    year INTEGER,
    days TEXT,            -- one line per exception: "YYYY-MM-DD holiday" or "YYYY-MM-DD workday"
    source TEXT           -- where the operator took it from (the State Council notice)
);
