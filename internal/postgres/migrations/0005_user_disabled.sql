-- A user can be disabled: it can no longer sign in, and keeps its row, since customers
-- (created_by) and idempotency keys name it.
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;
