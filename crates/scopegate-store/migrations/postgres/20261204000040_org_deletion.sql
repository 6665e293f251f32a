-- Organization deletion as Sentry does it: DELETE marks the organization pending deletion
-- (the time its removal is due), a background task removes it after the grace period, and
-- PUT cancelDeletion restores it. NULL: active. (The organizations change-feed trigger
-- already fires on UPDATE.)
ALTER TABLE organizations ADD COLUMN deletion_scheduled_at BIGINT;
