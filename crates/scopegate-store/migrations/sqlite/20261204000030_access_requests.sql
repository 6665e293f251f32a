-- Access requests (Sentry's OrganizationAccessRequest): a member asking to join a team of a
-- closed-membership organization, or asked for by another member (`requester_user_id`).
-- At most one per (team, member). Approving deletes the row and creates the membership in
-- the same transaction; denying deletes it. A request grants nothing by itself, so the
-- decision index does not read this table.
-- Migrations are append-only: never edit an applied one.
CREATE TABLE access_requests (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    requester_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (team_id, member_id)
);
CREATE INDEX access_requests_org ON access_requests (organization_id);
