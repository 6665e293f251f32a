-- The member guard (issue 13): removing a member or changing its role checks that another
-- member with a user still holds the owner role (or an "owner or manager" role); found by
-- role, not by counting the organization's members (13,095 in the largest organization of
-- the 100,000-member bench world: 5–9 ms a check).
-- Migrations are append-only: never edit an applied one.
CREATE INDEX members_org_role ON members (organization_id, role, user_id);
