-- Tokens as Sentry's tests define them (issue 10). Migrations are append-only: never edit an
-- applied one.
-- - A personal token may have no name: `name` becomes nullable (NULL = no name).
-- - New tokens keep the last four characters of their secret for display
--   (`tokenLastCharacters`); NULL for tokens created before, whose secret was never stored.
-- - `user_id` of an org auth token now names its creator, whose access bounds the token
--   (docs/decision.md §7); NULL (no creator) for tokens created before, and for imported or
--   CLI-made ones. ON DELETE CASCADE: deleting the creator deletes her org tokens.
-- The change-feed trigger of api_tokens (…_change_feed.sql) stays as it is.
ALTER TABLE api_tokens ALTER COLUMN name DROP NOT NULL;
ALTER TABLE api_tokens ADD COLUMN token_last_characters TEXT;
