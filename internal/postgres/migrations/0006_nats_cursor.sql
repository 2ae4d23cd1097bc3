-- How far the publisher of the change feed to NATS JetStream has got: the last event_id
-- that JetStream acknowledged (and possibly a little less; it catches up from the stream).
-- It starts at 0, so that the stream receives every event, those written before it too.
INSERT INTO feed_cursors (name, value) VALUES ('nats', 0);
