#!/usr/bin/env bash
# Benchmarks custd, and variants of it, against PocketBase on this machine, over loopback only.
#
# Seeds a fresh store of each target with the same customers, drives each with wrk
# (scripts in bench/wrk) through the same scenarios and connection counts, and
# measures the disk's durable-write ceiling in the same run. Prints a Markdown
# report and writes it to bench/results/<date>-<n>.md.
#
#   scripts/bench.sh               # 10,000 customers, 15 s per run
#   scripts/bench.sh --large       # 1,000,000 customers
#   BENCH_DURATION=3s BENCH_RECORDS=2000 scripts/bench.sh   # a quick trial
#   BENCH_TARGETS="custd-base custd" BENCH_CONNECTIONS="16 64" scripts/bench.sh
#
# Environment: BENCH_RECORDS (10000), BENCH_DURATION (15s), BENCH_CONNECTIONS
# ("1 16 64"), BENCH_SCENARIOS ("get put search post"), BENCH_TARGETS ("custd
# pocketbase"), BENCH_DISK_DURATION (5s), BENCH_KEEP=1 keeps the stores and
# logs under bench/results/tmp.
#
# Targets: pocketbase, and any number of custd servers, each with a store of its own.
# BENCH_PB_REQUEST_LOG=off runs PocketBase at its fastest, with its request log off
# (on, PocketBase's default, otherwise); the report says which.
#
#   custd        the working tree's custd
#   custd-base   custd built from BENCH_BASE_REV (9ef2f57, the code before history,
#                webhooks, the request log and metrics), checked out with git worktree
#                into the run's folder and removed after the build
#   custd-quiet  the working tree's custd with the request log and metrics off
#                (CUSTD_REQUEST_LOG_DAYS=0 CUSTD_METRICS_ADDR=off)
#   custd-hooks  the working tree's custd with one active webhook receiver subscribed
#                to every event type, registered after seeding: bench/cmd/hookreceiver,
#                which answers at once and records each notification's delivery lag
#                (arrival minus the event's created_date). After each write run of this
#                target the script waits until no delivery is pending (at most
#                BENCH_HOOK_DRAIN seconds, 600) and reports the lag of the events
#                written during the run: count, p50, p99, max, and the drain time.
#   custd-NAME   any other name: the working tree's custd (custd-base-NAME: the base's)
# BENCH_ENV_<target, - as _> adds environment to that target's custd, words of
# VAR=VALUE (for example BENCH_ENV_custd_quiet="CUSTD_RATE_LIMIT=0").
# Runs take the targets in turn, in the given order and the reverse order
# alternately. BENCH_REFERENCE names the target the others' requests/s are divided
# by in the report (custd-base when it runs, otherwise none), besides PocketBase.
#
# custd's store: BENCH_CUSTD_STORE=sqlite (default) or postgres, one fresh database
# per custd target created on the server BENCH_POSTGRES
# (postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and dropped after.
# BENCH_CUSTD_PROCESSES=N (PostgreSQL only) runs N processes of each custd target
# over its database, with no balancer: each run's connections are split evenly
# between them, one wrk each, and the report sums their requests/s and server CPU and
# gives the slowest process's percentiles. BENCH_CUSTD_DB_OPTIONS adds parameters
# to custd's database URL only (for example pool_max_conns=16). Each custd run on
# PostgreSQL starts right after a CHECKPOINT.
# Seeding: a custd target on SQLite whose binary has the import command is seeded with
# custd import of a file of the customers (ids 1 to n) while it serves; any other target
# (PocketBase, custd on PostgreSQL, custd-base) over HTTP, 16 requests at a time.
# BENCH_SEED_COPY=1 seeds only the reference (or the first custd target),
# stops it and copies its store to the other custd targets (SQLite: the files;
# PostgreSQL: CREATE DATABASE ... TEMPLATE), then starts them all, timing each start
# (a newer custd migrates its copy then; on PostgreSQL each database is then vacuumed and
# analyzed, so that autovacuum's work after a migration stays out of the runs). BENCH_PG_GROW=1 (PostgreSQL, with
# BENCH_SEED_COPY=1 and 1,000,000 records) seeds 10,000 over HTTP and grows them to a
# million with bench/postgres-grow.sql before the copy.
# BENCH_SEED_STORE=DIR (with BENCH_SEED_COPY=1) keeps the seeded store in DIR (SQLite: its
# files; PostgreSQL: a database left on the server, named in DIR/database) with its ids,
# and a later run with the same DIR and settings copies that store to every custd target
# instead of seeding; BENCH_SCENARIOS=none then only seeds and keeps.
# BENCH_WAIT_LOAD=2.0 waits before the runs (and, with BENCH_SEED_COPY=1, before the
# copies start and migrate) until the 1-minute load average is below that, looking
# every 30 s, but not past BENCH_WAIT_UNTIL (a UTC time, HH:MM); the report says how
# long it waited and what the load was.
# BENCH_PROFILE=scenario/connections (put/64 by default; "none" for none) takes a
# CPU profile of each custd target, its first process, over that run and adds its top
# functions to the report (the profiles stay under bench/results/tmp with BENCH_KEEP=1).
set -euo pipefail

records=${BENCH_RECORDS:-10000}
duration=${BENCH_DURATION:-15s}
connections=${BENCH_CONNECTIONS:-1 16 64}
# post runs last: it adds records, and the other scenarios should see the
# seeded count in every store, not one grown by each server's create rate.
scenarios=${BENCH_SCENARIOS:-get put search post}
targets=${BENCH_TARGETS:-custd pocketbase}
disk_duration=${BENCH_DISK_DURATION:-5s}
custd_store=${BENCH_CUSTD_STORE:-sqlite}
custd_processes=${BENCH_CUSTD_PROCESSES:-1}
pg_server=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
custd_db_options=${BENCH_CUSTD_DB_OPTIONS:-}
profile=${BENCH_PROFILE:-put/64}
base_rev=${BENCH_BASE_REV:-9ef2f57}
seed_copy=${BENCH_SEED_COPY:-0}
pg_grow=${BENCH_PG_GROW:-0}
hook_drain=${BENCH_HOOK_DRAIN:-600}
pb_request_log=${BENCH_PB_REQUEST_LOG:-on}
case $pb_request_log in on | off) ;; *) echo "bench: BENCH_PB_REQUEST_LOG must be on or off" >&2; exit 2 ;; esac
seed_store=${BENCH_SEED_STORE:-}
wait_load_below=${BENCH_WAIT_LOAD:-}
wait_until=${BENCH_WAIT_UNTIL:-}
case $custd_store in
sqlite) [ "$custd_processes" = 1 ] || { echo "bench: several custd processes need BENCH_CUSTD_STORE=postgres" >&2; exit 2; } ;;
postgres) ;;
*) echo "bench: BENCH_CUSTD_STORE must be sqlite or postgres" >&2; exit 2 ;;
esac

while [ $# -gt 0 ]; do
	case $1 in
	--large) records=1000000 ;;
	-n) records=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

# is_custd tells whether target $1 is a custd server.
is_custd() { case $1 in custd | custd-*) return 0 ;; esac; return 1; }

custd_targets=()
for t in $targets; do
	case $t in
	pocketbase) ;;
	custd | custd-[a-z0-9]*) [[ $t =~ ^custd(-[a-z0-9]+)*$ ]] || { echo "bench: target $t: custd-NAME takes letters, digits and -" >&2; exit 2; }
		custd_targets+=("$t") ;;
	*) echo "bench: unknown target $t (custd, custd-NAME or pocketbase)" >&2; exit 2 ;;
	esac
done
reference=${BENCH_REFERENCE-}
if [ -z "${BENCH_REFERENCE+set}" ]; then
	case " $targets " in *" custd-base "*) reference=custd-base ;; esac
fi
if [ -n "$reference" ] && [[ " $targets " != *" $reference "* ]]; then
	echo "bench: BENCH_REFERENCE=$reference is not one of BENCH_TARGETS" >&2
	exit 2
fi
if [ "$seed_copy" = 1 ]; then
	[ ${#custd_targets[@]} -gt 0 ] || { echo "bench: BENCH_SEED_COPY=1 needs a custd target" >&2; exit 2; }
	seed_source=${custd_targets[0]}
	is_custd "$reference" && seed_source=$reference
fi
if [ -n "$seed_store" ] && [ "$seed_copy" != 1 ]; then
	echo "bench: BENCH_SEED_STORE needs BENCH_SEED_COPY=1" >&2
	exit 2
fi
if [ "$scenarios" = none ] && [ -z "$seed_store" ]; then
	echo "bench: BENCH_SCENARIOS=none (seed only) needs BENCH_SEED_STORE" >&2
	exit 2
fi
if [ "$pg_grow" = 1 ]; then
	[ "$custd_store" = postgres ] && [ "$seed_copy" = 1 ] && [ "$records" = 1000000 ] ||
		{ echo "bench: BENCH_PG_GROW=1 needs BENCH_CUSTD_STORE=postgres, BENCH_SEED_COPY=1 and 1,000,000 records" >&2; exit 2; }
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results=$root/bench/results
mkdir -p "$results/tmp"
# The stores live on the repository's disk, not a tmpfs, so that durable writes
# cost what they cost.
tmp=$(mktemp -d "$results/tmp/run-XXXXXX")
base_src=$tmp/base-src
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

pids=()
pg_dbs=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	# Give each server 10 s to shut down cleanly, then stop it.
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-}" != 1 ]; then
		for db in "${pg_dbs[@]}"; do
			psql "$pg_server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
		done
	fi
	if [ -d "$base_src" ]; then
		git -C "$root" worktree remove --force "$base_src" 2>/dev/null || true
	fi
	if [ "${BENCH_KEEP:-}" = 1 ]; then
		echo "bench: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

# free_port prints the first port from $1 on that nothing listens on.
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((p + 1))
	done
	echo "$p"
}
next_port=18080
next_debug_port=19080

# wait_up waits up to $4 s (60) for URL $1 to answer 200, while process $3 lives.
wait_up() {
	local url=$1 name=$2 pid=$3 limit=${4:-60}
	for _ in $(seq $((limit * 10))); do
		if curl -fsS -o /dev/null "$url" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited while starting; its log:"
			tail -n 30 "$tmp/$name.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	log "$name did not answer $url within $limit s"
	exit 1
}

# to_seconds prints a wrk duration (30, 30s, 2m, 1h) in whole seconds.
to_seconds() {
	case $1 in
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

# result_field prints the value of key $2 in wrk's RESULT line $1.
result_field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# cpu_ticks prints the user+system CPU time of process $1 in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# target_ticks prints the CPU ticks of target $1's server processes, summed.
target_ticks() {
	local sum=0 q
	for q in ${tpids[$1]}; do sum=$((sum + $(cpu_ticks "$q"))); done
	echo "$sum"
}

# own_ticks prints the CPU ticks of this script and the children it has waited for
# (wrk, curl), in clock ticks.
own_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$$/stat"; }

# busy_ticks prints the machine's busy time, all CPUs, in clock ticks.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }

# peak_rss_mib prints the peak resident memory of process $1 in MiB: its own memory and
# the file pages it maps (a memory-mapped database), which the kernel can drop.
peak_rss_mib() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# rss_field_mib prints field $2 (RssAnon: the process's own memory; RssFile: file pages
# it maps) of process $1's resident memory now, in MiB.
rss_field_mib() { awk -v f="$2:" '$1 == f {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# note_anon records the largest anonymous resident memory seen of target $1's first
# process, sampled after seeding and after each of its runs (the kernel keeps no peak of it).
note_anon() {
	local a
	a=$(rss_field_mib "${pid[$1]}" RssAnon 2>/dev/null) || return 0
	[ -n "$a" ] || return 0
	if [ -z "${anon_max[$1]:-}" ] || [ "$a" -gt "${anon_max[$1]}" ]; then anon_max[$1]=$a; fi
}

# now_ms prints the time in Unix milliseconds.
now_ms() { date +%s%3N; }

# wait_load waits, with BENCH_WAIT_LOAD set, until the 1-minute load average is below
# it, looking every 30 s, but not past BENCH_WAIT_UNTIL (a UTC time, HH:MM); $1 says
# what waits, for the report.
load_notes=()
wait_load() {
	[ -n "$wait_load_below" ] || return 0
	local deadline=9999999999 w0 load
	[ -z "$wait_until" ] || deadline=$(date -u -d "$wait_until" +%s)
	w0=$(date +%s)
	while :; do
		load=$(cut -d' ' -f1 /proc/loadavg)
		if awk -v l="$load" -v m="$wait_load_below" 'BEGIN {exit !(l < m)}'; then
			load_notes+=("- $1: load average $(cut -d' ' -f1-3 /proc/loadavg) after waiting $(($(date +%s) - w0)) s for the 1-minute figure to fall below $wait_load_below")
			return 0
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			load_notes+=("- $1: load average $(cut -d' ' -f1-3 /proc/loadavg); it had not fallen below $wait_load_below by $wait_until UTC (waited $(($(date +%s) - w0)) s), measured anyway")
			return 0
		fi
		log "load average $load, waiting for it to fall below $wait_load_below"
		sleep 30
	done
}

for tool in wrk jq; do
	if ! command -v $tool >/dev/null; then
		log "installing $tool"
		sudo=""
		[ "$(id -u)" = 0 ] || sudo=sudo
		$sudo apt-get install -y $tool >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y $tool >/dev/null; }
	fi
done

log "building the benchmark tools"
# The revision is taken now: the tree may change while the benchmark runs.
custd_rev=$(cd "$root" && git describe --always --dirty 2>/dev/null || echo "(no commit)")
declare -A bin
for t in "${custd_targets[@]}"; do
	case $t in
	custd-base | custd-base-*)
		bin[$t]=$tmp/custd-base
		if [ ! -x "$tmp/custd-base" ]; then
			base_desc=$(git -C "$root" log -1 --format='%h (%s)' "$base_rev")
			git -C "$root" worktree add --quiet --detach "$base_src" "$base_rev"
			(cd "$base_src" && go build -o "$tmp/custd-base" ./cmd/custd)
			git -C "$root" worktree remove --force "$base_src"
		fi
		;;
	*)
		bin[$t]=$tmp/custd
		[ -x "$tmp/custd" ] || (cd "$root" && go build -o "$tmp/custd" ./cmd/custd)
		;;
	esac
done
(cd "$root/bench" && go build -o "$tmp/" ./pocketbase ./cmd/seed ./cmd/diskbench ./cmd/hookreceiver)
pb_version=$(cd "$root/bench" && go list -m -f '{{.Version}}' github.com/pocketbase/pocketbase)

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
# Per target: its base URL, first process, processes and URLs (space-separated), the
# port of its profiler, its database, the seeding rate, the memory after seeding, how
# long its start took.
declare -A url pid tpids turls dport db seed_rate seed_how rss_seeded start_secs hooks hook_url env_of anon_max
for t in "${custd_targets[@]}"; do
	case $t in
	custd-quiet) env_of[$t]="CUSTD_REQUEST_LOG_DAYS=0 CUSTD_METRICS_ADDR=off" ;;
	custd-hooks | custd-*-hooks) env_of[$t]="CUSTD_WEBHOOK_ALLOW_PRIVATE=1"; hooks[$t]=1 ;;
	*) env_of[$t]="" ;;
	esac
	v=BENCH_ENV_${t//-/_}
	env_of[$t]+=" ${!v:-}"
done
declare -A user=([pocketbase]=bench@example.com)
for t in "${custd_targets[@]}"; do user[$t]=admin@demo; done

# create_store makes target $1's empty store: a SQLite folder, or a PostgreSQL
# database (a copy of database $2 when given).
create_store() {
	local t=$1 from=${2:-} name
	if [ "$custd_store" = postgres ]; then
		name=custd_bench_$$_${t//-/_}
		pg_dbs+=("$name")
		psql "$pg_server" -qc "CREATE DATABASE $name${from:+ TEMPLATE $from}" >/dev/null
		db[$t]=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$name#" <<<"$pg_server")
		if [ -n "$custd_db_options" ]; then
			case ${db[$t]} in *\?*) db[$t]+="&$custd_db_options" ;; *) db[$t]+="?$custd_db_options" ;; esac
		fi
	else
		mkdir -p "$tmp/$t-data"
		db[$t]="sqlite:$tmp/$t-data/custd.db"
	fi
}

# pg_name prints the PostgreSQL database name of target $1.
pg_name() { echo "custd_bench_$$_${1//-/_}"; }

# store_mib prints the size of target $1's store in MiB.
store_mib() {
	if [ "$custd_store" = postgres ]; then
		psql "$pg_server" -Atc "SELECT round(pg_database_size('$(pg_name "$1")') / 1048576.0)"
	else
		du -sm "$tmp/$1-data" | cut -f1
	fi
}

# start_custd starts target $1's processes and waits up to $2 s (60) for each to
# answer; start_secs records how long the first took.
start_custd() {
	local t=$1 limit=${2:-60} port i t0 extra
	tpids[$t]="" turls[$t]=""
	for i in $(seq "$custd_processes"); do
		port=$(free_port "$next_port")
		next_port=$((port + 1))
		extra=()
		if [ "$i" = 1 ]; then
			dport[$t]=$(free_port "$next_debug_port")
			next_debug_port=$((dport[$t] + 1))
			extra=("CUSTD_DEBUG_ADDR=127.0.0.1:${dport[$t]}")
		fi
		local name=$t
		[ "$i" = 1 ] || name=$t-$i
		t0=$(date +%s.%N)
		# shellcheck disable=SC2086 # env_of holds VAR=VALUE words
		env CUSTD_DB="${db[$t]}" CUSTD_ADDR="127.0.0.1:$port" CUSTD_ADMIN_PASSWORD="$password" \
			"${extra[@]}" ${env_of[$t]} "${bin[$t]}" serve >>"$tmp/$name.log" 2>&1 &
		local p=$!
		pids+=("$p")
		tpids[$t]+=" $p"
		turls[$t]+=" http://127.0.0.1:$port"
		wait_up "http://127.0.0.1:$port/healthz" "$name" "$p" "$limit"
		if [ "$i" = 1 ]; then
			pid[$t]=$p
			url[$t]=http://127.0.0.1:$port
			start_secs[$t]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
		fi
	done
}

# stop_target stops target $1's processes, cleanly (SIGTERM), within 120 s.
stop_target() {
	local p q keep=()
	for p in ${tpids[$1]}; do kill "$p" 2>/dev/null || true; done
	for p in ${tpids[$1]}; do
		for _ in $(seq 1200); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for q in "${pids[@]}"; do [[ " ${tpids[$1]} " == *" $q "* ]] || keep+=("$q"); done
	pids=("${keep[@]}")
}

# seed creates $2 customers in target $1: a custd on SQLite whose binary has the import
# command gets them with custd import (a file of the same customers, ids 1 to n, written
# by the seed command), while its server runs; every other target over HTTP, 16
# requests at a time. seed_how records which.
seed() {
	local t=$1 n=$2 kind=$1
	is_custd "$t" && kind=custd
	if [ "$kind" = custd ] && [ "$custd_store" = sqlite ] && "${bin[$t]}" help import >/dev/null 2>&1; then
		log "seeding $n customers into $t with custd import"
		"$tmp/seed" -target custd -url "${url[$t]}" -user "${user[$t]}" -password "$password" \
			-n "$n" -ids "$tmp/$t.ids" -auth "$tmp/$t.auth" -jsonl "$tmp/$t-seed.jsonl" 2>"$tmp/seed-$t.log" ||
			{ tail -n 5 "$tmp/seed-$t.log" >&2; exit 1; }
		CUSTD_DB="${db[$t]}" "${bin[$t]}" import --client demo "$tmp/$t-seed.jsonl" >"$tmp/import-$t.out" 2>>"$tmp/seed-$t.log" ||
			{ tail -n 5 "$tmp/seed-$t.log" >&2; exit 1; }
		cat "$tmp/import-$t.out" >&2
		seed_rate[$t]=$(sed -n 's/.*(\([0-9,]*\) per second)\.*$/\1/p' "$tmp/import-$t.out" | tr -d , | tail -n 1)
		seed_how[$t]="custd import"
		rm -f "$tmp/$t-seed.jsonl"
		return
	fi
	log "seeding $n customers into $t over HTTP"
	"$tmp/seed" -target "$kind" -url "${url[$t]}" -user "${user[$t]}" -password "$password" \
		-n "$n" -ids "$tmp/$t.ids" -auth "$tmp/$t.auth" 2>"$tmp/seed-$t.log" ||
		{ tail -n 5 "$tmp/seed-$t.log" >&2; exit 1; }
	tail -n 1 "$tmp/seed-$t.log" >&2
	seed_rate[$t]=$(sed -n 's/.*(\([0-9]*\)\/s)$/\1/p' "$tmp/seed-$t.log" | tail -n 1)
	seed_how[$t]="over HTTP"
}

# The put and post bodies come from the same templates for every target.
"$tmp/seed" -n 0 -templates "$tmp/templates.jsonl"

copy_notes=()
saved=""
if [ "$seed_copy" = 1 ]; then
	seed_info="records=$records store=$custd_store source=$seed_source grow=$pg_grow"
	case $seed_source in custd-base | custd-base-*) seed_info+=" base=$(git -C "$root" rev-parse "$base_rev")" ;; esac
	saved=""
	if [ -n "$seed_store" ] && [ -f "$seed_store/info" ]; then
		saved=$seed_store
		[ "$(cat "$saved/info")" = "$seed_info" ] ||
			{ log "$saved holds another store ($(cat "$saved/info")), not $seed_info"; exit 2; }
		copy_notes+=("- copies of one store seeded earlier and kept in ${saved#"$root"/}:")
		while read -r line; do copy_notes+=("  $line"); done <"$saved/notes"
	fi
fi
if [ "$seed_copy" = 1 ] && [ -z "$saved" ]; then
	create_store "$seed_source"
	start_custd "$seed_source"
	if [ "$pg_grow" = 1 ]; then
		seed "$seed_source" 10000
		stop_target "$seed_source"
		log "growing $seed_source's store to 1,000,000 customers (bench/postgres-grow.sql)"
		g0=$(date +%s)
		psql "${db[$seed_source]%%\?*}" -q -f "$root/bench/postgres-grow.sql" >"$tmp/grow.log" 2>&1 ||
			{ tail -n 5 "$tmp/grow.log" >&2; exit 1; }
		copy_notes+=("- $seed_source: 10,000 customers seeded ${seed_how[$seed_source]} (${seed_rate[$seed_source]}/s), grown to 1,000,000 with bench/postgres-grow.sql in $(($(date +%s) - g0)) s; store $(store_mib "$seed_source") MiB")
		# The grown customer i has id i + 1 (postgres-grow.sql), after the seeded ones.
		seq 10001 1000000 >>"$tmp/$seed_source.ids"
		seed_rate[$seed_source]="grown"
	else
		seed "$seed_source" "$records"
		stop_target "$seed_source"
		copy_notes+=("- $seed_source: $records customers seeded ${seed_how[$seed_source]}, ${seed_rate[$seed_source]}/s; store $(store_mib "$seed_source") MiB")
	fi
	if [ -n "$seed_store" ]; then
		log "keeping $seed_source's store in $seed_store"
		mkdir -p "$seed_store"
		if [ "$custd_store" = postgres ]; then
			kept=custd_bench_seed_$(date +%s)
			psql "$pg_server" -qc "CREATE DATABASE $kept TEMPLATE $(pg_name "$seed_source")" >/dev/null
			echo "$kept" >"$seed_store/database"
		else
			mkdir -p "$seed_store/data"
			cp "$tmp/$seed_source-data/"* "$seed_store/data/"
		fi
		cp "$tmp/$seed_source.ids" "$seed_store/ids"
		cp "$tmp/$seed_source.auth" "$seed_store/auth"
		printf '%s\n' "${copy_notes[@]}" >"$seed_store/notes"
		echo "$seed_info" >"$seed_store/info"
	fi
	if [ "$scenarios" = none ]; then
		log "seeded; no scenario to run"
		exit 0
	fi
fi
if [ "$seed_copy" = 1 ]; then
	wait_load "before copying the store and starting the targets (the copies' migrations are timed)"
	for t in "${custd_targets[@]}"; do
		c0=$(date +%s.%N)
		if [ -n "$saved" ]; then
			log "copying the kept store to $t"
			if [ "$custd_store" = postgres ]; then
				create_store "$t" "$(cat "$saved/database")"
			else
				create_store "$t"
				cp "$saved/data/"* "$tmp/$t-data/"
			fi
			cp "$saved/ids" "$tmp/$t.ids"
			cp "$saved/auth" "$tmp/$t.auth"
		else
			[ "$t" != "$seed_source" ] || continue
			log "copying $seed_source's store to $t"
			if [ "$custd_store" = postgres ]; then
				create_store "$t" "$(pg_name "$seed_source")"
			else
				create_store "$t"
				cp "$tmp/$seed_source-data/"* "$tmp/$t-data/"
			fi
			cp "$tmp/$seed_source.ids" "$tmp/$t.ids"
			cp "$tmp/$seed_source.auth" "$tmp/$t.auth"
		fi
		copy_notes+=("- $t: a copy of that store ($(awk -v a="$c0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}') s to copy)")
		seed_rate[$t]="copy"
	done
	for t in "${custd_targets[@]}"; do
		log "starting $t"
		log_lines=0
		[ ! -e "$tmp/$t.log" ] || log_lines=$(wc -l <"$tmp/$t.log")
		start_custd "$t" 7200
		rss_seeded[$t]=$(peak_rss_mib "${pid[$t]}")
	note_anon "$t"
		note_anon "$t"
		migrations=$(tail -n +$((log_lines + 1)) "$tmp/$t.log" |
			sed -n 's/.*"msg":"applied migration".*"name":"\([^"]*\)".*/\1/p' | paste -sd ' ')
		copy_notes+=("- $t started in ${start_secs[$t]} s${migrations:+, applying migrations $migrations}; its store is then $(store_mib "$t") MiB")
		if [ "$custd_store" = postgres ]; then
			# A migration that wrote many rows leaves autovacuum work that would otherwise
			# fall into the runs; every copy gets the same treatment.
			v0=$(date +%s)
			psql "${db[$t]%%\?*}" -qc "VACUUM ANALYZE" >/dev/null
			copy_notes+=("- $t: VACUUM ANALYZE of its database took $(($(date +%s) - v0)) s")
		fi
		log "$t started in ${start_secs[$t]} s${migrations:+ (migrations $migrations)}"
	done
else
	for t in "${custd_targets[@]}"; do
		create_store "$t"
		start_custd "$t"
	done
fi
if [[ " $targets " == *" pocketbase "* ]]; then
	port=$(free_port "$next_port")
	next_port=$((port + 1))
	url[pocketbase]=http://127.0.0.1:$port
	"$tmp/pocketbase" serve --http "127.0.0.1:$port" --dir "$tmp/pb-data" --bench-password "$password" \
		--bench-request-log "$pb_request_log" >"$tmp/pocketbase.log" 2>&1 &
	pid[pocketbase]=$!
	tpids[pocketbase]=$!
	turls[pocketbase]=${url[pocketbase]}
	pids+=("$!")
	wait_up "${url[pocketbase]}/api/health" pocketbase "${pid[pocketbase]}"
fi
for t in $targets; do
	[ -z "${seed_rate[$t]:-}" ] || continue
	seed "$t" "$records"
	rss_seeded[$t]=$(peak_rss_mib "${pid[$t]}")
	note_anon "$t"
done

# api calls custd target $1's API as admin@demo: method $2, path $3, JSON body $4.
api() {
	curl -fsS -X "$2" -H "Authorization: $(cat "$tmp/$1.auth")" -H 'Content-Type: application/json' \
		${4:+--data "$4"} "${url[$1]}$3"
}

# The webhook receivers, registered after seeding so that only the runs' writes notify.
declare -A hook_pid hook_port
for t in "${custd_targets[@]}"; do
	[ -n "${hooks[$t]:-}" ] || continue
	hook_port[$t]=$(free_port "$next_port")
	next_port=$((hook_port[$t] + 1))
	"$tmp/hookreceiver" -addr "127.0.0.1:${hook_port[$t]}" >"$tmp/$t-hooks.txt" 2>"$tmp/$t-hookreceiver.log" &
	hook_pid[$t]=$!
	pids+=("$!")
	hook_url[$t]=http://127.0.0.1:${hook_port[$t]}
	wait_up "${hook_url[$t]}/stats" "$t-hookreceiver" "${hook_pid[$t]}"
	rid=$(api "$t" POST /v1/WebhookReceivers "{\"url\": \"${hook_url[$t]}/\", \"description\": \"benchmark receiver\"}" | jq -r .id)
	status=$(api "$t" GET "/v1/WebhookReceivers/$rid" | jq -r '.status // .records[0].status')
	[ "$status" = ACTIVE ] || { log "$t: the webhook receiver is $status, not ACTIVE"; exit 1; }
	for e in CUSTOMER_CREATED CUSTOMER_UPDATED CUSTOMER_CLOSED; do
		api "$t" POST /v1/WebhookSubscriptions "{\"webhook_receiver_id\": $rid, \"event_type\": \"$e\"}" >/dev/null
	done
	log "$t: webhook receiver $rid at ${hook_url[$t]} subscribed to every event type"
done

# pending_deliveries tells whether custd target $1 has a pending webhook delivery.
pending_deliveries() {
	[ "$(api "$1" GET '/v1/WebhookDeliveries?status=PENDING&page_size=1' | jq '.records | length')" != 0 ]
}

wait_load "before the runs"
log "measuring the disk"
"$tmp/diskbench" -dir "$tmp" -duration "$disk_duration" >"$tmp/disk.md"

declare -A label=(
	[get]="GET one by id"
	[put]="PUT replace (PocketBase: PATCH)"
	[post]="POST create"
	[search]="search name, page 2 of 20 (PocketBase: list)"
)
declare -A rps p99 lag_p99
rows=()
hook_rows=()
errors_seen=()
hz=$(getconf CLK_TCK)
nproc=$(nproc)
seconds=$(to_seconds "$duration")
run=0
order=0
read -r -a forward <<<"$targets"
backward=()
for ((i = ${#forward[@]} - 1; i >= 0; i--)); do backward+=("${forward[$i]}"); done

for scenario in $scenarios; do
	for c in $connections; do
		order=$((order + 1))
		in_turn=("${forward[@]}")
		[ $((order % 2)) = 1 ] || in_turn=("${backward[@]}")
		for target in "${in_turn[@]}"; do
			run=$((run + 1))
			key=$target/$scenario/$c
			kind=$target
			is_custd "$target" && kind=custd
			p=${pid[$target]}
			if ! kill -0 "$p" 2>/dev/null; then
				rows+=("$key|server exited | | | | |")
				continue
			fi
			log "$scenario, $c connections, $target"
			if [ "$custd_store" = postgres ] && is_custd "$target"; then
				# Every run starts just after a checkpoint: the first change of a page after
				# one writes the whole page to the WAL, so a run's figure otherwise depends on
				# where the server's checkpoints happen to fall.
				psql "$pg_server" -qc CHECKPOINT >/dev/null
			fi
			# Every run starts with the previous run's writes on disk (its WAL, the checkpoint
			# after it, the kernel's dirty pages), so that they are not written during this
			# run, which is another target's when the targets take turns.
			sync
			sleep 2
			sync
			read -r -a procs <<<"${turls[$target]}"
			n=${#procs[@]}
			cpu0=$(target_ticks "$target")
			own0=$(own_ticks)
			busy0=$(busy_ticks)
			t0=$(date +%s.%N)
			t0_ms=$(now_ms)
			profiler=""
			pprof_file=$tmp/$target-$scenario-$c.pprof
			if is_custd "$target" && [ "$scenario/$c" = "$profile" ]; then
				# The profile covers the run but its first and last second.
				sleep 1 &&
					curl -sf -o "$pprof_file" \
						"http://127.0.0.1:${dport[$target]}/debug/pprof/profile?seconds=$((seconds > 3 ? seconds - 2 : 1))" &
				profiler=$!
			fi
			wrk_pids=()
			for i in $(seq 0 $((n - 1))); do
				cc=$(((c + n - 1 - i) / n)) # the connections split evenly, the first processes taking any rest
				[ "$cc" -ge 1 ] || continue
				th=$((cc < nproc ? cc : nproc))
				timeout $((seconds + 60)) wrk -t"$th" -c"$cc" -d"$duration" --timeout 30s \
					-s "$root/bench/wrk/$scenario.lua" "${procs[$i]}" -- \
					target="$kind" ids="$tmp/$target.ids" auth="$tmp/$target.auth" \
					templates="$tmp/templates.jsonl" tag="r$run-$i" >"$tmp/wrk-$target-$scenario-$c-$i.txt" 2>&1 &
				wrk_pids+=("$!")
			done
			wait "${wrk_pids[@]}" || true
			t1=$(date +%s.%N)
			t1_ms=$(now_ms)
			note_anon "$target"
			[ -z "$profiler" ] || wait "$profiler" || errors_seen+=("- $target, $scenario, $c connections: no CPU profile")
			if ! kill -0 "$p" 2>/dev/null; then
				rows+=("$key|server exited | | | | |")
				errors_seen+=("- $target, $scenario, $c connections: the server exited; last log lines: $(tail -n 3 "$tmp/$target.log" | tr '\n' ' ')")
				continue
			fi
			cpu1=$(target_ticks "$target")
			own1=$(own_ticks)
			busy1=$(busy_ticks)
			out=$tmp/wrk-$target-$scenario-$c.txt
			cat "$tmp/wrk-$target-$scenario-$c-"*.txt >"$out"
			# One RESULT line for the run: requests/s, requests and errors summed over the
			# wrk instances, the percentiles of the slowest.
			result=$(awk '/^RESULT / {
					n++
					for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
					rps += v["rps"]; reqs += v["requests"]; non2xx += v["non2xx"]; sock += v["socket_errors"]
					if (v["p50_ms"] > p50) p50 = v["p50_ms"]
					if (v["p99_ms"] > p99) p99 = v["p99_ms"]
				}
				END { if (n) printf "RESULT rps=%.1f requests=%d p50_ms=%s p99_ms=%s non2xx=%d socket_errors=%d\n", rps, reqs, p50, p99, non2xx, sock }' "$out")
			if [ -z "$result" ]; then
				rows+=("$key|wrk failed | | | | |")
				errors_seen+=("- $target, $scenario, $c connections: wrk printed no result: $(tail -n 2 "$out" | tr '\n' ' ')")
				continue
			fi
			rps[$key]=$(result_field "$result" rps)
			p99[$key]=$(result_field "$result" p99_ms)
			errors=$(($(result_field "$result" non2xx) + $(result_field "$result" socket_errors)))
			cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
				'BEGIN {printf "%.0f", (b - a) / hz / (t1 - t0) * 100}')
			# What else ran: the machine's busy time less this server's and this script's
			# (wrk, the profiler's curl): other users' work, the idle targets, the kernel.
			other=$(awk -v s="$((cpu1 - cpu0))" -v o="$((own1 - own0))" -v a="$busy0" -v b="$busy1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
				'BEGIN {x = (b - a - s - o) / hz / (t1 - t0) * 100; if (x < 0) x = 0; printf "%.0f", x}')
			rows+=("$key|$(printf %.0f "${rps[$key]}") | $(result_field "$result" p50_ms) | ${p99[$key]} | $errors | $cpu | $other")
			if grep -q '^FIRST_ERROR ' "$out"; then
				errors_seen+=("- $target, $scenario, $c connections: $errors errors; first: \`$(sed -n 's/^FIRST_ERROR //p' "$out" | head -n 1 | cut -c1-200)\`")
			fi
			if [ -n "${hooks[$target]:-}" ] && { [ "$scenario" = put ] || [ "$scenario" = post ]; }; then
				# Every event of the run is fanned out within a few polls of the worker;
				# then the run's notifications are all in once none is pending. The
				# profiled run's drain is profiled too, its first 20 s.
				drain_profiler=""
				if [ -n "$profiler" ]; then
					curl -sf -o "$tmp/$target-$scenario-$c-drain.pprof" \
						"http://127.0.0.1:${dport[$target]}/debug/pprof/profile?seconds=20" &
					drain_profiler=$!
				fi
				sleep 0.5
				drained=""
				while :; do
					if ! pending_deliveries "$target"; then
						t2=$(date +%s.%N)
						drained=$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.1f", b - a}')
						break
					fi
					if [ "$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN {print (b - a > '"$hook_drain"')}')" = 1 ]; then
						t2=$(date +%s.%N)
						drained="over $hook_drain"
						errors_seen+=("- $target, $scenario, $c connections: deliveries still pending $hook_drain s after the run")
						break
					fi
					sleep 0.5
				done
				cpu2=$(target_ticks "$target")
				[ -z "$drain_profiler" ] || wait "$drain_profiler" || errors_seen+=("- $target, $scenario, $c connections: no CPU profile of the drain")
				writes=$(($(result_field "$result" requests) - $(result_field "$result" non2xx)))
				stats=$(curl -fsS "${hook_url[$target]}/stats?from=$t0_ms&to=$t1_ms")
				lag_p99[$key]=$(result_field " $stats" p99_ms)
				events=$(result_field " $stats" events)
				# Deliveries per second from the run's start to the last one, and the
				# server's CPU while only the backlog was left.
				delivered=$(awk -v n="$events" -v a="$t0" -v b="$t2" 'BEGIN {printf "%.0f", n / (b - a)}')
				drain_cpu=$(awk -v a="$cpu1" -v b="$cpu2" -v hz="$hz" -v t1="$t1" -v t2="$t2" \
					'BEGIN {if (t2 - t1 > 1) printf "%.0f", (b - a) / hz / (t2 - t1) * 100; else print "—"}')
				hook_rows+=("| $target | ${label[$scenario]} | $c | $writes | $events | $(result_field " $stats" p50_ms) | ${lag_p99[$key]} | $(result_field " $stats" max_ms) | $drained | $delivered | $drain_cpu |")
			fi
		done
	done
done

# whole prints number $1 rounded, or a dash when there is none.
whole() { if [ -n "$1" ]; then printf %.0f "$1"; else echo "—"; fi; }

# ratio prints target $1's requests/s over target $2's for scenario/connections $3.
ratio() {
	local a=${rps[$1/$3]:-} b=${rps[$2/$3]:-}
	if [ -z "$a" ] || [ -z "$b" ] || [ "$1" = "$2" ]; then echo "—"; return; fi
	awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "—"}'
}

has_target() { [[ " $targets " == *" $1 "* ]]; }

n=1
while [ -e "$results/$(date +%F)-$n.md" ]; do n=$((n + 1)); done
report=$results/$(date +%F)-$n.md
ref_col=""
[ -z "$reference" ] || ref_col=" ÷ $reference |"
pb_col=""
has_target pocketbase && pb_col=" ÷ PocketBase |"
{
	title="custd"
	[ ${#custd_targets[@]} -le 1 ] || title="${custd_targets[*]}"
	title=${title// /, }
	has_target pocketbase && title+=" and PocketBase"
	echo "# $title under load, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- machine: $nproc CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
	echo "- load average (1, 5, 15 min) when the script started: $load_start; at its end: $(cut -d' ' -f1-3 /proc/loadavg)"
	[ ${#load_notes[@]} = 0 ] || printf '%s\n' "${load_notes[@]}"
	store_name=SQLite
	[ "$custd_store" = postgres ] && store_name="PostgreSQL $(psql "$pg_server" -Atc 'SHOW server_version' 2>/dev/null | cut -d' ' -f1)"
	[ "$custd_processes" -gt 1 ] && store_name="$store_name, $custd_processes processes per target (connections split evenly, no balancer)"
	echo "- custd $custd_rev on $store_name; $(go version | cut -d' ' -f3)"
	for t in "${custd_targets[@]}"; do
		case $t in
		custd) d="the working tree" ;;
		custd-base | custd-base-*) d="built from $base_desc" ;;
		*) d="the working tree's custd" ;;
		esac
		e=$(echo ${env_of[$t]})
		[ -z "${hooks[$t]:-}" ] || d+=", one active webhook receiver (bench/cmd/hookreceiver) subscribed to every event type"
		echo "- $t: $d${e:+, with $e}"
	done
	if [ "$pb_request_log" = on ]; then
		has_target pocketbase && echo "- pocketbase: PocketBase $pb_version (default settings, request log on)"
	else
		has_target pocketbase && echo "- pocketbase: PocketBase $pb_version at its fastest: default settings but its request log off (logs kept 0 days)"
	fi
	if [ "$seed_copy" = 1 ]; then
		echo "- stores:"
		printf '  %s\n' "${copy_notes[@]}"
	else
		echo "- $records customers seeded in each (custd on SQLite with custd import, the others over HTTP, 16 requests at a time):$(for t in $targets; do printf ' %s %s/s (%s)' "$t" "${seed_rate[$t]}" "${seed_how[$t]}"; done)"
	fi
	echo "- wrk $duration per run, up to $nproc threads, on the same machine as the servers; the targets take each scenario in turn, in alternating order"
	other_note="other users' work, the idle targets, the kernel"
	[ "$custd_store" != postgres ] || other_note="PostgreSQL's backends, $other_note"
	echo "- server CPU is the target's server processes' user+system time over the run (100% = one core); other CPU is the machine's busy time less that and wrk's: $other_note"
	echo "- command: \`$(env | grep '^BENCH_' | sort | tr '\n' ' ')scripts/bench.sh\`"
	echo
	echo "## Disk"
	echo
	cat "$tmp/disk.md"
	echo
	echo "## Load"
	echo
	echo "| target | scenario | connections | requests/s | p50 ms | p99 ms | errors | server CPU % | other CPU % |$ref_col$pb_col"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|${ref_col:+---:|}${pb_col:+---:|}"
	for r in "${rows[@]}"; do
		k=${r%%|*}
		t=${k%%/*} sc=${k#*/}
		s=${sc%/*} cn=${sc#*/}
		line="| $t | ${label[$s]} | $cn | ${r#*|} |"
		[ -z "$reference" ] || line+=" $(ratio "$t" "$reference" "$sc") |"
		if [ -n "$pb_col" ]; then
			if is_custd "$t"; then line+=" $(ratio "$t" pocketbase "$sc") |"; else line+=" — |"; fi
		fi
		echo "$line"
	done
	if [ ${#hook_rows[@]} -gt 0 ]; then
		echo
		echo "## Webhook deliveries"
		echo
		echo "Notifications of the events written during each run: delivery lag is the receiver's arrival"
		echo "time less the event's created_date (the write's commit, milliseconds); drained is how long"
		echo "after the run's end the last pending delivery was made; deliveries/s counts from the run's"
		echo "start to then; server CPU is custd's while only the backlog was left (after the run)."
		echo "Writes acknowledged are wrk's 2xx responses, which leave out the requests in flight when the"
		echo "run ended (up to one per connection), whose events are notified too."
		echo
		echo "| target | scenario | connections | writes acknowledged | events notified | lag p50 ms | lag p99 ms | lag max ms | drained after s | deliveries/s | server CPU % while draining |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		printf '%s\n' "${hook_rows[@]}"
	fi
	echo
	echo "## Targets"
	echo
	echo "| target | measured | ratio | goal | met? |"
	echo "|---|---|---:|---:|---|"
	# check prints a row comparing target $1 with target $2 at scenario/connections $3
	# against the least ratio $4, described by $5.
	check() {
		has_target "$1" && has_target "$2" || return 0
		local r
		r=$(ratio "$1" "$2" "$3")
		[ "$r" != "—" ] || return 0
		echo "| $5 | $1 $(whole "${rps[$1/$3]}")/s, $2 $(whole "${rps[$2/$3]}")/s | $r | ≥ $4 | $(awk -v r="$r" -v g="$4" 'BEGIN {print (r >= g) ? "yes" : "**no**"}') |"
	}
	# PocketBase against custd, or the first custd target when custd does not run.
	for t in "${custd_targets[@]:0:1}"; do
		has_target custd && t=custd
		check "$t" pocketbase put/64 2.0 "$t: PUT at 64 connections against PocketBase's PATCH"
		check "$t" pocketbase get/16 1.5 "$t: GET by id at 16 connections against PocketBase"
		check "$t" pocketbase search/16 3.0 "$t: search page at 16 connections against PocketBase's list"
	done
	check custd custd-base put/64 1.00 "PUT at 64 connections, not slower than before the new features"
	check custd custd-base get/16 1.00 "GET by id at 16 connections, not slower than before"
	check custd custd-base search/16 1.00 "search page at 16 connections, not slower than before"
	check custd custd-base put/64 0.85 "PUT at 64 connections with history, against the code without"
	check custd-quiet custd-base put/64 0.85 "PUT at 64 connections with history (request log and metrics off), against the code without"
	check custd-hooks custd put/64 0.80 "PUT at 64 connections with one active webhook receiver, against none"
	check custd custd-quiet put/64 0.90 "PUT at 64 connections with the request log and metrics, against both off"
	check custd custd-quiet get/16 0.90 "GET by id at 16 connections with the request log and metrics, against both off"
	for t in "${custd_targets[@]}"; do
		l=${lag_p99[$t/put/64]:-}
		[ -n "$l" ] || continue
		echo "| $t: webhook delivery lag p99 during PUT at 64 connections | $l ms | | < 1000 ms | $(awk -v l="$l" 'BEGIN {print (l < 1000) ? "yes" : "**no**"}') |"
	done
	echo
	echo "## Memory"
	echo
	echo "Peak RSS (VmHWM) counts the file pages a process maps, which the kernel can drop"
	echo "(custd maps its SQLite store); anonymous RSS (RssAnon) is the process's own memory,"
	echo "sampled after seeding and after each run, and RssFile the mapped file pages at the end."
	echo
	echo "| target | peak RSS after seeding (MiB) | peak RSS at the end (MiB) | largest anonymous RSS seen (MiB) | file pages mapped at the end (MiB) |"
	echo "|---|---:|---:|---:|---:|"
	for t in $targets; do
		end=$(peak_rss_mib "${pid[$t]}" 2>/dev/null || echo "exited") # the first process
		file=$(rss_field_mib "${pid[$t]}" RssFile 2>/dev/null || echo "—")
		echo "| $t | ${rss_seeded[$t]} | $end | ${anon_max[$t]:-—} | ${file:-—} |"
	done
	for t in "${custd_targets[@]}"; do
		pprof_file=$tmp/$t-${profile/\//-}-drain.pprof
		[ -s "$pprof_file" ] || continue
		echo
		echo "## Where $t's CPU time goes after the ${label[${profile%/*}]} run at ${profile#*/} connections, delivering the backlog"
		echo
		echo "A CPU profile of the first $t process over the first 20 s after the run, while its webhook"
		echo "worker delivered the run's notifications and nothing else was asked of it."
		echo
		echo '```'
		go tool pprof -top -nodecount=25 "${bin[$t]}" "$pprof_file" 2>/dev/null | sed -n '/^Duration/,$p'
		echo
		go tool pprof -top -cum -nodecount=40 "${bin[$t]}" "$pprof_file" 2>/dev/null | sed -n '/^ *flat/,$p'
		echo '```'
	done
	for t in "${custd_targets[@]}"; do
		pprof_file=$tmp/$t-${profile/\//-}.pprof
		[ -s "$pprof_file" ] || continue
		echo
		echo "## Where $t's CPU time goes: ${label[${profile%/*}]}, ${profile#*/} connections"
		echo
		echo "A CPU profile of the first $t process over the run (go tool pprof -top; flat is time in"
		echo "the function itself, cum includes what it calls)."
		echo
		echo '```'
		go tool pprof -top -nodecount=25 "${bin[$t]}" "$pprof_file" 2>/dev/null | sed -n '/^Duration/,$p'
		echo
		go tool pprof -top -cum -nodecount=40 "${bin[$t]}" "$pprof_file" 2>/dev/null | sed -n '/^ *flat/,$p'
		echo '```'
	done
	if [ ${#errors_seen[@]} -gt 0 ]; then
		echo
		echo "## Errors"
		echo
		printf '%s\n' "${errors_seen[@]}"
	fi
} >"$report"

# The receivers' figures for the whole run, after a clean stop.
for t in "${!hook_pid[@]}"; do
	kill "${hook_pid[$t]}" 2>/dev/null || true
	wait "${hook_pid[$t]}" 2>/dev/null || true
	if [ -s "$tmp/$t-hooks.txt" ]; then
		{
			echo
			echo "$t's webhook receiver over the whole run: $(cat "$tmp/$t-hooks.txt")"
		} >>"$report"
	fi
done

cat "$report"
log "wrote ${report#"$root"/}"
