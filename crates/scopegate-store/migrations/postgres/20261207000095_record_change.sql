-- A write's change record in one round trip (issue 13). A write transaction ends by bumping
-- `store_revision`, logging what it touched in `store_changes` and notifying
-- `scopegate_changes`; the bump's row lock is held from that statement to the commit, so
-- every other writer's commit waits for this one's remaining round trips. As three
-- statements, that was three round trips and the commit under the lock; as this one
-- function, one and the commit. The payload is '{"revision":N' followed by `payload_tail`
-- (',"orgs":[…],…}' or '}', written by the caller).
-- Migrations are append-only: never edit an applied one.
CREATE FUNCTION scopegate_record_change(touched TEXT, committed_at BIGINT, payload_tail TEXT)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    bumped BIGINT;
BEGIN
    UPDATE store_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision INTO bumped;
    INSERT INTO store_changes (revision, touched, committed_at) VALUES (bumped, touched, committed_at);
    PERFORM pg_notify('scopegate_changes', '{"revision":' || bumped || payload_tail);
    RETURN bumped;
END
$$;
