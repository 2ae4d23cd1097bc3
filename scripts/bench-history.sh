#!/usr/bin/env bash
# Measures what customer history costs in custd: the bytes a version takes on disk,
# and how fast the history of a customer changed many times reads.
#
#   scripts/bench-history.sh                       # SQLite and PostgreSQL, 10,000 changes
#   BENCH_STORES=sqlite BENCH_CHANGES=2000 scripts/bench-history.sh   # a quick trial
#
# For each store it starts the working tree's custd on a fresh store (SQLite under
# bench/results/tmp, PostgreSQL a database created on BENCH_POSTGRES and dropped
# after), creates one customer, replaces it BENCH_CHANGES times over HTTP (16 at a
# time, each time with another benchmark customer's values), and measures the size
# of customer_versions with its indexes before and after (SQLite: dbstat;
# PostgreSQL: pg_total_relation_size of customer_events and customer_version_data,
# the tables behind the view customer_versions), and the whole store's growth. Then it times
# GET /v1/Customers/{id}/History pages, BENCH_READS (200) reads each, one at a time
# (bench/cmd/history). Prints a Markdown report.
set -euo pipefail

stores=${BENCH_STORES:-sqlite postgres}
changes=${BENCH_CHANGES:-10000}
reads=${BENCH_READS:-200}
pg_server=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$root/bench/results/tmp"
tmp=$(mktemp -d "$root/bench/results/tmp/history-XXXXXX")
server=""
pg_db=""
cleanup() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	[ -z "$pg_db" ] || psql "$pg_server" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench-history: $*" >&2; }

free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

log "building"
custd_rev=$(cd "$root" && git describe --always --dirty 2>/dev/null || echo "(no commit)")
(cd "$root" && go build -o "$tmp/custd" ./cmd/custd)
(cd "$root/bench" && go build -o "$tmp/history" ./cmd/history)
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

# sizes prints the bytes of customer_versions with its indexes, its rows, the bytes
# of the whole store, a version's row in bytes on average, and the dead row versions
# of customer_versions (PostgreSQL; - for SQLite), for store $1 at database $2.
sizes() {
	if [ "$1" = sqlite ]; then
		sqlite3 "file:$2?mode=ro" "SELECT
			(SELECT sum(pgsize) FROM dbstat WHERE name IN
				(SELECT name FROM sqlite_schema WHERE tbl_name = 'customer_versions')),
			(SELECT count(*) FROM customer_versions),
			(SELECT sum(pgsize) FROM dbstat),
			(SELECT sum(payload) FROM dbstat WHERE name = 'customer_versions' AND pagetype IN ('leaf', 'overflow'))
				/ (SELECT count(*) FROM customer_versions),
			'-'" | tr '|' ' '
	else
		psql "$2" -Atc "SELECT pg_stat_force_next_flush()" >/dev/null
		# customer_versions is a view of customer_events and customer_version_data (0008).
		psql "$2" -Atc "SELECT pg_total_relation_size('customer_events') + pg_total_relation_size('customer_version_data'),
			(SELECT count(*) FROM customer_version_data), pg_database_size(current_database()),
			(SELECT avg(pg_column_size(e.*) + pg_column_size(d.*))::int FROM customer_events e
				JOIN customer_version_data d USING (customer_id, version)),
			(SELECT sum(n_dead_tup) FROM pg_stat_user_tables WHERE relname IN ('customer_events', 'customer_version_data'))" | tr '|' ' '
	fi
}

out=()
for store in $stores; do
	port=$(free_port 18480)
	if [ "$store" = sqlite ]; then
		db_path=$tmp/sqlite/custd.db
		mkdir -p "$tmp/sqlite"
		db="sqlite:$db_path"
		size_db=$db_path
	else
		pg_db=custd_history_$$
		psql "$pg_server" -qc "CREATE DATABASE $pg_db" >/dev/null
		db=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$pg_db#" <<<"$pg_server")
		size_db=$db
	fi
	CUSTD_DB="$db" CUSTD_ADDR="127.0.0.1:$port" CUSTD_ADMIN_PASSWORD="$password" "$tmp/custd" serve >"$tmp/custd-$store.log" 2>&1 &
	server=$!
	for _ in $(seq 600); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
		kill -0 "$server" 2>/dev/null || { tail -n 20 "$tmp/custd-$store.log" >&2; exit 1; }
		sleep 0.1
	done
	h=("$tmp/history" -url "http://127.0.0.1:$port" -password "$password")
	id=$("${h[@]}" -create)
	read -r v0 n0 s0 _ _ <<<"$(sizes "$store" "$size_db")"
	log "$store: replacing customer $id $changes times"
	replaced=$("${h[@]}" -id "$id" -changes "$changes")
	read -r v1 n1 s1 row1 dead1 <<<"$(sizes "$store" "$size_db")"
	log "$store: reading its history"
	timings=$("${h[@]}" -id "$id" -reads "$reads")
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=""
	if [ "$store" = postgres ]; then
		psql "$pg_server" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
		pg_db=""
		name="PostgreSQL $(psql "$pg_server" -Atc 'SHOW server_version' | cut -d' ' -f1)"
		how="pg_total_relation_size of customer_events and customer_version_data: the tables, their TOAST and their indexes; the store: pg_database_size"
	else
		name=SQLite
		how="dbstat: the pages of customer_versions and its indexes; the store: every page"
	fi
	out+=("### $name" ""
		"- $replaced"
		"- customer_versions: $n0 → $n1 versions, $v0 → $v1 bytes: **$(((v1 - v0) / (n1 - n0))) bytes a version** ($how)"
		"- a version's row: $row1 bytes on average$([ "$dead1" = - ] || echo ", and $dead1 dead row versions when measured (PostgreSQL: each version's customer_events row is updated once when the sequencer numbers it)")"
		"- the whole store grew by $(((s1 - s0) / (n1 - n0))) bytes a write (the version, the request log's record, the customer's pages rewritten)"
		"- history reads, one at a time:"
		"$(sed 's/^/  - /' <<<"$timings")"
		"")
done

echo "# The cost of history, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- custd $custd_rev; $(go version | cut -d' ' -f3); one customer replaced $changes times over HTTP, each time with another benchmark customer's values"
echo "- command: \`$(env | grep '^BENCH_' | sort | tr '\n' ' ')scripts/bench-history.sh\`"
echo
printf '%s\n' "${out[@]}"
