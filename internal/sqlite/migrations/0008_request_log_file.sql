-- The request log moves to a database file of its own beside the store (requestlog/):
-- its batches no longer share the customers' writer, transactions and WAL, and its
-- commits no longer make every reading connection drop the pages it had cached. The
-- records kept so far move with it, in their order. Open attaches that file as
-- "requests" while it migrates.
INSERT INTO requests.request_logs (client_id, created_date, request_id, method, path, query, status, duration_us,
                                   username, username_fold, customer_id, idempotency_key, replayed, error)
SELECT client_id, created_date, request_id, method, path, query, status, duration_us,
       username, username_fold, customer_id, idempotency_key, replayed, error
FROM main.request_logs ORDER BY id;
DROP TABLE main.request_logs;
