-- Sessions of the console: browsers signed in as one user. The browser holds a random
-- 256-bit id; only its SHA-256 digest is stored (id_hash), so that a copy of the database
-- signs nobody in. password_digest fingerprints the user's password hash at sign-in: a
-- new password ends the session. Times are Unix milliseconds (UTC). A session is found by
-- its id_hash before its client is known; the purge of idle sessions reads last_seen.
CREATE TABLE console_sessions (
    id_hash         TEXT    PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES clients (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    password_digest TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen);
