-- The request log: one row per API request of a client (its "Recent Requests"), written
-- in batches by the server and kept CUSTD_REQUEST_LOG_DAYS days. It holds no request or
-- response body and no credential; query is the query string with every value that could
-- be secret masked before it is stored. Times are Unix milliseconds (UTC).
--
-- This is a database file of its own beside the store (the store's path with
-- "-requests" added): see requestlog.go. client_id is the id of a client of that store.
CREATE TABLE request_logs (
    id              INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL,
    created_date    INTEGER NOT NULL,
    request_id      TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    query           TEXT    NOT NULL,
    status          INTEGER NOT NULL,
    duration_us     INTEGER NOT NULL,
    username        TEXT    NOT NULL,
    username_fold   TEXT    NOT NULL, -- lower-cased: usernames match ignoring case
    customer_id     INTEGER,          -- NULL when the path names no customer
    idempotency_key TEXT,             -- NULL without an Idempotency-Key
    replayed        INTEGER NOT NULL,
    error           TEXT              -- NULL below 400
) STRICT;

-- Reads are newest first: an index on (client_id, x, created_date) also holds the rowid,
-- so it serves the filter on x and the order "created_date, then id" read backwards. The
-- purge deletes client by client through request_logs_client.
CREATE INDEX request_logs_client ON request_logs (client_id, created_date);
CREATE INDEX request_logs_status ON request_logs (client_id, status, created_date);
CREATE INDEX request_logs_method ON request_logs (client_id, method, created_date);
CREATE INDEX request_logs_customer ON request_logs (client_id, customer_id, created_date);
CREATE INDEX request_logs_username ON request_logs (client_id, username_fold, created_date);
