-- The index by customer is kept apart from the records and brought up to date in bulk.
-- Kept by request_logs' own index, every record landed on a leaf of its own (its
-- customer's), so each record cost a page written to the WAL and checkpointed, three
-- times what the rest of its row and indexes cost. request_logs_customers is filled from
-- the records in order of (client, customer, time) many thousands at a time, when
-- enough records wait or before a read by customer, so that records of one customer
-- share the writes of a leaf (requestlog.go).
--
-- A record is in request_logs_customers once its id is at most request_logs_indexed's
-- through, and when it names a customer.
CREATE TABLE request_logs_customers (
    client_id    INTEGER NOT NULL,
    customer_id  INTEGER NOT NULL,
    created_date INTEGER NOT NULL,
    id           INTEGER NOT NULL, -- request_logs.id
    PRIMARY KEY (client_id, customer_id, created_date, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE request_logs_indexed (
    through INTEGER NOT NULL
) STRICT;

INSERT INTO request_logs_customers (client_id, customer_id, created_date, id)
SELECT client_id, customer_id, created_date, id FROM request_logs
WHERE customer_id IS NOT NULL ORDER BY client_id, customer_id, created_date, id;

INSERT INTO request_logs_indexed (through) SELECT coalesce(max(id), 0) FROM request_logs;

DROP INDEX request_logs_customer;
