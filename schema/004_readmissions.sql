-- fieldlog ledger schema, version 4: readmission of a forked feed.
--
-- One device key used on two laptops forks its feed in a scope: two commits with one number. The
-- feed is excluded from there on, everywhere, until the operator decides which branch counts
-- (docs/merge.md, "Readmission of a forked feed"). One row per feed and place decided; its id is
-- derived from the key, the scope and the sequence, so deciding again updates the same row.
CREATE TABLE readmissions(
    id BLOB PRIMARY KEY, scope TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    public_key TEXT,      -- the forked device's Ed25519 key, 64 hex digits
    feed_scope TEXT,      -- the scope of the forked feed (ent:<enterprise uuid>)
    fork_seq INTEGER,     -- the place decided: the sequence number where the feed forked
    chosen TEXT,          -- the commit readmitted there (64 hex digits), or NULL: no branch
    decided_at TEXT,      -- ISO 8601 UTC
    decided_by TEXT,      -- who decided: a console account, or "命令行" for the CLI
    note TEXT             -- 说明
);
