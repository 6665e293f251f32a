-- Revisions and the change log (issue 13). Every write transaction that changes what the
-- decision index reads bumps `store_revision` and records what it touched in
-- `store_changes` (a JSON object), in the transaction (SQLite serializes writers).
-- Migrations are append-only: never edit an applied one.
CREATE TABLE store_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO store_revision (id, revision) VALUES (1, 0);

CREATE TABLE store_changes (
    revision INTEGER PRIMARY KEY,
    touched TEXT NOT NULL,
    committed_at INTEGER NOT NULL
);

-- The catch-up read exports a few organizations by id and their tokens (members, teams,
-- projects and grants are indexed by organization already, through their unique keys).
CREATE INDEX api_tokens_org ON api_tokens (organization_id);
