-- Clients (tenants), their users, their customers, and idempotency records.
-- Times are Unix milliseconds (UTC). Customer ids are unique across clients.

CREATE TABLE clients (
    id         INTEGER PRIMARY KEY,
    code       TEXT    NOT NULL,
    code_fold  TEXT    NOT NULL UNIQUE, -- lower-cased: codes match ignoring case
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    client_id     INTEGER NOT NULL REFERENCES clients (id),
    username      TEXT    NOT NULL,
    username_fold TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'readwrite', 'readonly')),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (client_id, username_fold)
) STRICT;

-- One row per customer: the whole customer as a JSON document (doc), and beside it the
-- values that searches filter and sort on, each with an index that leads with the client.
CREATE TABLE customers (
    customer_id        INTEGER PRIMARY KEY,
    client_id          INTEGER NOT NULL REFERENCES clients (id),
    version            INTEGER NOT NULL,
    account_number     TEXT,    -- NULL when null or empty, so only non-empty ones are unique
    registration_code  TEXT,    -- NULL when empty
    parent_customer_id INTEGER,
    agent_id           INTEGER,
    secondary_agent_id INTEGER,
    sold_by            INTEGER,
    created_by         INTEGER NOT NULL,
    bill_profile_id    INTEGER,
    status             TEXT    NOT NULL,
    is_parent          INTEGER NOT NULL,
    suspended          INTEGER NOT NULL,
    created_date       INTEGER NOT NULL,
    updated_date       INTEGER NOT NULL,
    activated_date     INTEGER,
    close_date         INTEGER,
    -- Lower-cased billing company_name, a line feed, and lower-cased billing first_name ||
    -- ' ' || last_name. No search text holds a control character, so none matches across
    -- the line feed.
    name_fold          TEXT    NOT NULL,
    email_fold         TEXT    NOT NULL, -- lower-cased email
    doc                BLOB    NOT NULL
) STRICT;

-- An index on (client_id, x) also holds the rowid (customer_id), so it serves both the
-- filter on x and the order "x, then customer_id".
CREATE INDEX customers_client ON customers (client_id);
CREATE UNIQUE INDEX customers_account_number ON customers (client_id, account_number);
CREATE UNIQUE INDEX customers_registration_code ON customers (client_id, registration_code);
CREATE INDEX customers_parent ON customers (client_id, parent_customer_id);
CREATE INDEX customers_agent ON customers (client_id, agent_id);
CREATE INDEX customers_secondary_agent ON customers (client_id, secondary_agent_id);
CREATE INDEX customers_sold_by ON customers (client_id, sold_by);
CREATE INDEX customers_created_by ON customers (client_id, created_by);
CREATE INDEX customers_bill_profile ON customers (client_id, bill_profile_id);
CREATE INDEX customers_status ON customers (client_id, status);
CREATE INDEX customers_is_parent ON customers (client_id, is_parent);
CREATE INDEX customers_suspended ON customers (client_id, suspended);
CREATE INDEX customers_created_date ON customers (client_id, created_date);
CREATE INDEX customers_updated_date ON customers (client_id, updated_date);
CREATE INDEX customers_activated_date ON customers (client_id, activated_date);
CREATE INDEX customers_close_date ON customers (client_id, close_date);

-- Substring search on names and email: FTS5 trigram indexes over the folded columns.
-- They store no text of their own (the customers table is their content) and no
-- positions (detail=none): a substring query of three or more characters finds the rows
-- that hold all its trigrams, in customer_id order, and FTS5 checks each against the
-- column's text. Without positions every write adds and merges far less index data.
-- Shorter substrings read the client's customers in order instead.
--
-- The store keeps them in step with customers itself, in the same transaction, with
-- plain statements in customer_id order: a trigger, or rows out of order, would make
-- FTS5 write its pending changes to disk (and merge them) once per customer instead of
-- once per transaction.
CREATE VIRTUAL TABLE customer_names USING fts5 (
    name_fold,
    content = 'customers', content_rowid = 'customer_id',
    tokenize = 'trigram case_sensitive 1', detail = none
);
CREATE VIRTUAL TABLE customer_emails USING fts5 (
    email_fold,
    content = 'customers', content_rowid = 'customer_id',
    tokenize = 'trigram case_sensitive 1', detail = none
);

CREATE TABLE sequences (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO sequences (name, value) VALUES ('address_id', 0);

-- One row per (user, Idempotency-Key): claimed when the request starts, completed with
-- its response, purged after a day.
CREATE TABLE idempotency_keys (
    user_id     INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    status      INTEGER,          -- NULL while the request runs
    etag        TEXT    NOT NULL DEFAULT '',
    location    TEXT    NOT NULL DEFAULT '',
    body        BLOB,
    PRIMARY KEY (user_id, key)
) STRICT;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
