-- A user can be disabled: it can no longer sign in, and keeps its row, since customers
-- (created_by) and idempotency keys name it.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
