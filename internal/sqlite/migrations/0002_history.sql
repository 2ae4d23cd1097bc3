-- Every version of every customer, kept forever: who wrote it, how, and the customer as
-- stored (doc, the same bytes as customers.doc then). A version is also its client's
-- event in the change feed: event_id is the rowid, so the single writer gives each new
-- version the next id, in commit order, and a reader's snapshot holds every event up to
-- the last one it sees.
CREATE TABLE customer_versions (
    event_id        INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL,
    customer_id     INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    operation       TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    changed_date    INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    username        TEXT    NOT NULL,
    request_id      TEXT,
    idempotency_key TEXT,
    doc             BLOB    NOT NULL,
    UNIQUE (customer_id, version)
) STRICT;

-- The feed of one client in event_id order (the index holds the rowid).
CREATE INDEX customer_versions_feed ON customer_versions (client_id);

-- Customers stored before history existed get their current version as the first one
-- history knows, recorded as an import by whoever created them.
INSERT INTO customer_versions (client_id, customer_id, version, operation, event_type, changed_date, user_id,
                               username, request_id, idempotency_key, doc)
SELECT c.client_id, c.customer_id, c.version, 'IMPORT', 'CUSTOMER_CREATED', c.updated_date, c.created_by,
       coalesce(u.username || '@' || cl.code, ''), NULL, NULL, c.doc
FROM customers c
LEFT JOIN users u ON u.id = c.created_by
LEFT JOIN clients cl ON cl.id = c.client_id
ORDER BY c.customer_id;
