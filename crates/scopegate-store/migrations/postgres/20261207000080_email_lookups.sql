-- The invite's duplicate check (issue 13): a member of the organization whose own email, or
-- whose user's email, is the invited address, case-insensitively. Without these expression
-- indexes the check read every member of the organization (13,095 in the largest of the
-- 100,000-member bench world).
-- Migrations are append-only: never edit an applied one.
CREATE INDEX members_org_lower_email ON members (organization_id, lower(email));
CREATE INDEX users_lower_email ON users (lower(email));
