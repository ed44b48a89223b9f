-- What a storage-1 build of fieldlog (13d40d5 and every build before it) runs first when it
-- opens a replica: Replica.installEngineTables, verbatim. StorageFixtureTests runs it on a
-- replica of storage 2, which must refuse it.
CREATE TABLE IF NOT EXISTS _meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _writer(token INTEGER);
CREATE TABLE IF NOT EXISTS _commits(
    id BLOB PRIMARY KEY,
    author BLOB NOT NULL,
    scope TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hlc INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    registry_seq INTEGER NOT NULL,
    body BLOB NOT NULL,
    signature BLOB NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT,
    reason_code TEXT,
    received INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS _commits_feed ON _commits(author, scope, seq);
-- Only the commits that wait, by feed: settling reads a feed's waiting commits, never
-- the whole feed (the index keyed by status alone made writes to one feed quadratic).
DROP INDEX IF EXISTS _commits_pending;
CREATE INDEX IF NOT EXISTS _commits_waiting ON _commits(author, scope, seq) WHERE status = 1;
CREATE INDEX IF NOT EXISTS _commits_cut_off ON _commits(author) WHERE status = 2 AND reason_code = 'revoked';
CREATE TABLE IF NOT EXISTS _feeds(
    author BLOB NOT NULL,
    scope TEXT NOT NULL,
    head_seq INTEGER NOT NULL,
    fork_seq INTEGER,
    PRIMARY KEY(author, scope)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _versions(
    tbl TEXT NOT NULL,
    row BLOB NOT NULL,
    col TEXT NOT NULL,
    commit_id BLOB NOT NULL,
    scope TEXT NOT NULL,
    author BLOB NOT NULL,
    seq INTEGER NOT NULL,
    hlc INTEGER NOT NULL,
    value,
    supersedes BLOB,
    valid INTEGER NOT NULL,
    PRIMARY KEY(tbl, row, col, commit_id)
) WITHOUT ROWID;
-- No index of versions by commit: an exclusion finds a commit's cells from its body.
DROP INDEX IF EXISTS _versions_commit;
CREATE TABLE IF NOT EXISTS _conflicts(
    tbl TEXT NOT NULL,
    row BLOB NOT NULL,
    col TEXT NOT NULL,
    scope TEXT NOT NULL,
    PRIMARY KEY(tbl, row, col)
) WITHOUT ROWID;
