-- Grows a PostgreSQL store seeded by the store benchmark with 10,000 customers into one
-- of 1,000,000, in SQL, in minutes instead of the hour that a million creates through
-- the Store take on a 2-core machine. Each seeded customer is copied 99 times under new
-- ids, account numbers, registration codes and emails; names, statuses, dates and the
-- rest repeat, so the searched values keep the seeded distribution.
--
--   CUSTD_BENCH_CUSTOMERS=10000 go test -run '^$' -bench 'Store/GetByID' -benchtime 1x ./internal/postgres/
--   psql -h 127.0.0.1 -U postgres -d test -c 'CREATE DATABASE custd_bench_1000000 TEMPLATE custd_bench_10000'
--   psql -h 127.0.0.1 -U postgres -d custd_bench_1000000 -f bench/postgres-grow.sql
--   CUSTD_BENCH_CUSTOMERS=1000000 go test -run '^$' -bench . ./internal/postgres/
--
-- (with CUSTD_TEST_POSTGRES set for the go test commands). The seeded customers have
-- ids 1 to 10000 and account numbers AC-00000000 to AC-00009999 (storetest.SeedForBenchmark
-- and scripts/bench.sh's seeding make them so), so the grown ones, with larger ids and
-- numbers from AC-00010000 on, collide with none.
\set ON_ERROR_STOP on
BEGIN;
DO $$
BEGIN
    IF (SELECT count(*) FROM customers) <> 10000 OR (SELECT max(customer_id) FROM customers) <> 10000 THEN
        RAISE EXCEPTION 'expected the 10,000 customers of the store benchmark, with ids 1 to 10000';
    END IF;
END $$;

INSERT INTO customers (customer_id, client_id, version, account_number, registration_code,
    parent_customer_id, agent_id, secondary_agent_id, sold_by, created_by, bill_profile_id,
    status, is_parent, suspended, created_date, updated_date, activated_date, close_date,
    company_fold, person_fold, email_fold, doc)
SELECT n.id, c.client_id, c.version, n.account_number, n.registration_code,
    c.parent_customer_id, c.agent_id, c.secondary_agent_id, c.sold_by, c.created_by, c.bill_profile_id,
    c.status, c.is_parent, c.suspended, c.created_date, c.updated_date, c.activated_date, c.close_date,
    c.company_fold, c.person_fold, lower(n.email),
    convert_to(jsonb_set(jsonb_set(jsonb_set(jsonb_set(convert_from(c.doc, 'UTF8')::jsonb,
        '{id}', to_jsonb(n.id)),
        '{account_number}', to_jsonb(n.account_number)),
        '{registration_code}', to_jsonb(n.registration_code)),
        '{email}', to_jsonb(n.email))::text, 'UTF8')
FROM customers c
CROSS JOIN generate_series(1, 99) AS k
CROSS JOIN LATERAL (
    SELECT c.customer_id + k * 10000 AS id,
        'AC-' || lpad((c.customer_id - 1 + k * 10000)::text, 8, '0') AS account_number,
        upper(substr(md5('custd ' || (c.customer_id + k * 10000)), 1, 12)) AS registration_code,
        regexp_replace(convert_from(c.doc, 'UTF8')::jsonb ->> 'email', '[0-9]+@', (c.customer_id - 1 + k * 10000) || '@') AS email
) AS n;

SELECT setval('customer_ids', (SELECT max(customer_id) FROM customers));
COMMIT;
VACUUM ANALYZE customers;
