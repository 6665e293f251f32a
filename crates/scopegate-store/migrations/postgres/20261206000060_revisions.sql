-- Revisions and the change log (issue 13). Every write transaction that changes what the
-- decision index reads bumps `store_revision` (its last statements: the row lock is held to
-- the commit, so revision order is commit order) and records what it touched in
-- `store_changes`; the same transaction notifies `scopegate_changes` with
-- '{"revision":N,"orgs":[…],…}' (delivered at commit). The per-table triggers of
-- `…03_change_feed.sql` and `…04_integrations.sql` are replaced by that one notification.
-- Migrations are append-only: never edit an applied one.
CREATE TABLE store_revision (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO store_revision (id, revision) VALUES (1, 0);

CREATE TABLE store_changes (
    revision BIGINT PRIMARY KEY,
    touched TEXT NOT NULL,
    committed_at BIGINT NOT NULL
);

DROP TRIGGER users_changed ON users;
DROP TRIGGER organizations_changed ON organizations;
DROP TRIGGER members_changed ON members;
DROP TRIGGER teams_changed ON teams;
DROP TRIGGER team_members_changed ON team_members;
DROP TRIGGER projects_changed ON projects;
DROP TRIGGER project_teams_changed ON project_teams;
DROP TRIGGER api_tokens_changed ON api_tokens;
DROP TRIGGER granular_grants_changed ON granular_grants;
DROP TRIGGER integrations_changed ON integrations;
DROP TRIGGER integration_installations_changed ON integration_installations;
DROP FUNCTION scopegate_notify_change();

-- The catch-up read exports a few organizations by id and their tokens (members, teams,
-- projects and grants are indexed by organization already, through their unique keys).
CREATE INDEX api_tokens_org ON api_tokens (organization_id);
