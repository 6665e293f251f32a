-- Invites: who sent them (Sentry's inviter_id: a member may cancel or resend the invites they
-- sent; removing a member removes their pending invites) and when they expire (Sentry's
-- token_expires_at, 30 days; `reinvite` with `regenerate` renews it).
-- Migrations are append-only: never edit an applied one.
ALTER TABLE members ADD COLUMN inviter_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE members ADD COLUMN invite_expires_at BIGINT;
UPDATE members SET invite_expires_at = created_at + 2592000 WHERE user_id IS NULL;
CREATE INDEX members_inviter ON members (organization_id, inviter_user_id);
