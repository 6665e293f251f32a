-- The change feed of the decision API: every committed statement that can change a decision
-- notifies channel `scopegate_changes` (payload: the table), so that every replica sharing
-- this database refreshes its in-memory index. NOTIFY is delivered at commit, and only then.
-- Migrations are append-only: never edit an applied one.
CREATE FUNCTION scopegate_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('scopegate_changes', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
CREATE TRIGGER organizations_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
CREATE TRIGGER members_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON members
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
CREATE TRIGGER teams_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
CREATE TRIGGER team_members_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON team_members
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
CREATE TRIGGER projects_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
CREATE TRIGGER project_teams_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON project_teams
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
CREATE TRIGGER api_tokens_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
CREATE TRIGGER granular_grants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON granular_grants
    FOR EACH STATEMENT EXECUTE FUNCTION scopegate_notify_change();
