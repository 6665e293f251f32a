-- The catch-up read (issue 13): a write that changes some members, teams or projects of an
-- organization records their ids, and the index re-reads those rows alone: a member's team
-- memberships and grants are found by member id.
-- Migrations are append-only: never edit an applied one.
CREATE INDEX team_members_member ON team_members (member_id);
CREATE INDEX granular_grants_member ON granular_grants (member_id);
