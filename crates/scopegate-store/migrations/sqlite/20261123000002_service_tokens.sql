-- Service tokens (kind 'service': callers of the decision API, /v1/) need no new column:
-- they have neither a user nor an organization. Index the kind, which the decision API's
-- index loads by. Migrations are append-only: never edit an applied one.
CREATE INDEX api_tokens_kind ON api_tokens (kind);
