-- Tokens as Sentry's tests define them (issue 10). Migrations are append-only: never edit an
-- applied one.
-- - A personal token may have no name: `name` becomes nullable (NULL = no name).
-- - New tokens keep the last four characters of their secret for display
--   (`tokenLastCharacters`); NULL for tokens created before, whose secret was never stored.
-- - `user_id` of an org auth token now names its creator, whose access bounds the token
--   (docs/decision.md §7); NULL (no creator) for tokens created before, and for imported or
--   CLI-made ones. ON DELETE CASCADE: deleting the creator deletes her org tokens.
-- SQLite cannot drop a NOT NULL constraint: the table is rebuilt, keeping every id (no
-- table references api_tokens).
CREATE TABLE api_tokens_new (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    token_last_characters TEXT
);
INSERT INTO api_tokens_new (id, kind, user_id, organization_id, name, token_hash, token_prefix,
                            scopes, created_at)
    SELECT id, kind, user_id, organization_id, name, token_hash, token_prefix, scopes, created_at
    FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_kind ON api_tokens (kind);
