-- Integrations (Sentry Apps): an app with scopes, installed on organizations. An installed
-- integration holds its scopes, with global reach, in every organization it is installed on.
-- Scopes are stored as a JSON list, like api_tokens.scopes (implied scopes already added by
-- the caller). Migrations are append-only: never edit an applied one.
CREATE TABLE integrations (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE integration_installations (
    integration_id BIGINT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (integration_id, organization_id)
);
CREATE INDEX integration_installations_org ON integration_installations (organization_id);
