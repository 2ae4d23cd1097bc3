-- Event ids in a narrow table of their own. 0002 numbered a version by updating its row in
-- customer_versions, which wrote the whole row (the customer's document with it) a second
-- time and left the first as a dead row. A version is now two rows written once, in one
-- statement: customer_events, small, which the sequencer updates to give it its event_id,
-- and customer_version_data, the version as stored, which nothing updates.
--
-- customer_versions becomes a view joining the two, with the columns it had, so that what
-- reads versions or the feed (and the SQL of docs/decisions.md) reads them as before.
CREATE TABLE customer_events (
    customer_id  integer     NOT NULL,
    version      bigint      NOT NULL,
    client_id    bigint      NOT NULL,
    changed_date timestamptz NOT NULL,
    event_id     bigint,
    PRIMARY KEY (customer_id, version)
);

INSERT INTO customer_events (customer_id, version, client_id, changed_date, event_id)
SELECT customer_id, version, client_id, changed_date, event_id FROM customer_versions;

-- The feed of every client and of one client in event_id order, and the versions still to
-- be numbered (those indexes hold no entry for the others).
CREATE UNIQUE INDEX customer_events_id ON customer_events (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX customer_events_feed ON customer_events (client_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX customer_events_pending ON customer_events (changed_date, customer_id, version) WHERE event_id IS NULL;

-- Dropping the columns drops the indexes on them; the rows keep their bytes until they
-- are rewritten, which costs nothing now.
ALTER TABLE customer_versions DROP COLUMN event_id, DROP COLUMN client_id, DROP COLUMN changed_date;
ALTER TABLE customer_versions RENAME TO customer_version_data;
ALTER TABLE customer_version_data RENAME CONSTRAINT customer_versions_pkey TO customer_version_data_pkey;

CREATE VIEW customer_versions AS
SELECT e.customer_id, e.version, e.client_id, e.event_id, d.operation, d.event_type, e.changed_date, d.user_id,
       d.username, d.request_id, d.idempotency_key, d.doc
FROM customer_events e
JOIN customer_version_data d ON d.customer_id = e.customer_id AND d.version = e.version;

-- The planner's statistics of the new table, and of the old one under its new name, now:
-- a history page joins the two, and without statistics (autovacuum off, or not yet come
-- round) it is planned as if both were empty, reading every version of the customer
-- before sorting. ANALYZE reads a sample, not the tables.
ANALYZE customer_events;
ANALYZE customer_version_data;
