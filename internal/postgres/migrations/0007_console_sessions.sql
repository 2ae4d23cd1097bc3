-- Sessions of the console: the same table as SQLite's 0007_console_sessions.sql, in
-- PostgreSQL's types. The browser holds a random 256-bit id; only its SHA-256 digest is
-- stored (id_hash), so that a copy of the database signs nobody in. password_digest
-- fingerprints the user's password hash at sign-in: a new password ends the session. A
-- session is found by its id_hash before its client is known; the purge of idle sessions
-- reads last_seen.
CREATE TABLE console_sessions (
    id_hash         text        COLLATE "C" PRIMARY KEY,
    client_id       bigint      NOT NULL REFERENCES clients (id),
    user_id         integer     NOT NULL REFERENCES users (id),
    password_digest text        NOT NULL,
    created_at      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL
);

CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen);
