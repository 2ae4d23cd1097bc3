-- Webhook receivers, their subscriptions, and the deliveries of events to them.

CREATE TABLE webhook_receivers (
    id           INTEGER PRIMARY KEY,
    client_id    INTEGER NOT NULL REFERENCES clients (id),
    url          TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    secret       TEXT    NOT NULL,
    created_date INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_receivers_client ON webhook_receivers (client_id);

CREATE TABLE webhook_subscriptions (
    id           INTEGER PRIMARY KEY,
    client_id    INTEGER NOT NULL REFERENCES clients (id),
    receiver_id  INTEGER NOT NULL REFERENCES webhook_receivers (id),
    event_type   TEXT    NOT NULL,
    created_date INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_subscriptions_client ON webhook_subscriptions (client_id);

-- One row per (receiver, event). A pending delivery is sent when next_attempt_date has
-- come and no earlier pending delivery of the same receiver and customer is left: the
-- events of one customer reach a receiver in order. lease_owner and lease_until mark an
-- attempt in progress.
CREATE TABLE webhook_deliveries (
    id                INTEGER PRIMARY KEY,
    client_id         INTEGER NOT NULL,
    receiver_id       INTEGER NOT NULL,
    event_id          INTEGER NOT NULL,
    event_type        TEXT    NOT NULL,
    object_id         INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    status            TEXT    NOT NULL,
    attempts          INTEGER NOT NULL,
    created_date      INTEGER NOT NULL,
    last_attempt_date INTEGER,
    last_status_code  INTEGER,
    last_error        TEXT    NOT NULL,
    next_attempt_date INTEGER,
    lease_owner       TEXT,
    lease_until       INTEGER,
    UNIQUE (receiver_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_client ON webhook_deliveries (client_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_date) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_line ON webhook_deliveries (receiver_id, object_id, event_id) WHERE status = 'PENDING';

-- How far a consumer of the change feed of every client (the webhook fan-out) has read.
CREATE TABLE feed_cursors (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO feed_cursors (name, value) SELECT 'webhooks', coalesce(max(event_id), 0) FROM customer_versions;
