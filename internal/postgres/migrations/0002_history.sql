-- Every version of every customer, kept forever: who wrote it, how, and the customer as
-- stored (doc, the same bytes as customers.doc then). A version is also its client's
-- event in the change feed.
--
-- event_id is NOT given when the version is written: a sequence value taken inside a
-- write's transaction becomes visible only when that transaction commits, and writers
-- commit in another order than they took their values, so a reader could be given 7 and
-- later find 6. Versions are written with event_id NULL instead, and one sequencer at a
-- time (an advisory lock) numbers the committed ones in a transaction of its own, from the
-- counter in event_sequence: its numbers are larger than all that came before and become
-- visible together when it commits. See docs/decisions.md.
CREATE TABLE customer_versions (
    customer_id     integer     NOT NULL,
    version         bigint      NOT NULL,
    client_id       bigint      NOT NULL,
    event_id        bigint      UNIQUE,
    operation       text        NOT NULL,
    event_type      text        COLLATE "C" NOT NULL,
    changed_date    timestamptz NOT NULL,
    user_id         integer     NOT NULL,
    username        text        NOT NULL,
    request_id      text,
    idempotency_key text,
    doc             bytea       NOT NULL,
    PRIMARY KEY (customer_id, version)
);

-- The feed of one client in event_id order, and the versions still to be numbered.
CREATE INDEX customer_versions_feed ON customer_versions (client_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX customer_versions_pending ON customer_versions (changed_date, customer_id, version) WHERE event_id IS NULL;

-- The last event_id given; only the sequencer changes it.
CREATE TABLE event_sequence (last bigint NOT NULL);

-- Customers stored before history existed get their current version as the first one
-- history knows, recorded as an import by whoever created them.
INSERT INTO customer_versions (customer_id, version, client_id, event_id, operation, event_type, changed_date, user_id,
                               username, request_id, idempotency_key, doc)
SELECT c.customer_id, c.version, c.client_id, row_number() OVER (ORDER BY c.customer_id), 'IMPORT', 'CUSTOMER_CREATED',
       c.updated_date, c.created_by, coalesce(u.username || '@' || cl.code, ''), NULL, NULL, c.doc
FROM customers c
LEFT JOIN users u ON u.id = c.created_by
LEFT JOIN clients cl ON cl.id = c.client_id;
INSERT INTO event_sequence (last) SELECT coalesce(max(event_id), 0) FROM customer_versions;
