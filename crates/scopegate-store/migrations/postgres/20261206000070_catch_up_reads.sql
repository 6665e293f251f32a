-- The catch-up read (issue 13): a write that changes some members, teams or projects of an
-- organization records their ids, and the index re-reads those rows alone: a member's team
-- memberships and grants are found by member id.
-- Migrations are append-only: never edit an applied one.
CREATE INDEX team_members_member ON team_members (member_id);
CREATE INDEX granular_grants_member ON granular_grants (member_id);

-- The ids of a JSON array of integers, for `… IN (SELECT scopegate_ids($1))`. Declared to
-- return few rows (a catch-up names a few organizations or rows): the planner's default
-- estimate for `jsonb_array_elements_text` (100 rows) made it choose sequential scans of
-- `users`, `members` and `team_members` (a 100,000-member world: ~50 ms per catch-up of one
-- organization instead of ~3 ms).
CREATE FUNCTION scopegate_ids(ids TEXT) RETURNS SETOF BIGINT
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 4
    AS $$ SELECT value::bigint FROM jsonb_array_elements_text(ids::jsonb) $$;
