#!/usr/bin/env bash
# Benchmarks custd against PocketBase on this machine, over loopback only.
#
# Seeds a fresh store of each with the same customers, drives both with wrk
# (scripts in bench/wrk) through the same scenarios and connection counts, and
# measures the disk's durable-write ceiling in the same run. Prints a Markdown
# report and writes it to bench/results/<date>-<n>.md.
#
#   scripts/bench.sh               # 10,000 customers, 15 s per run
#   scripts/bench.sh --large       # 1,000,000 customers
#   BENCH_DURATION=3s BENCH_RECORDS=2000 scripts/bench.sh   # a quick trial
#
# Environment: BENCH_RECORDS (10000), BENCH_DURATION (15s), BENCH_CONNECTIONS
# ("1 16 64"), BENCH_SCENARIOS ("get put search post"), BENCH_TARGETS ("custd
# pocketbase"), BENCH_DISK_DURATION (5s), BENCH_KEEP=1 keeps the stores and
# logs under bench/results/tmp.
#
# custd's store: BENCH_CUSTD_STORE=sqlite (default) or postgres, on a fresh
# database created on the server BENCH_POSTGRES
# (postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and dropped after.
# BENCH_CUSTD_PROCESSES=N (PostgreSQL only) runs N custd processes over that one
# database, with no balancer: each run's connections are split evenly between
# them, one wrk each, and the report sums their requests/s and server CPU and
# gives the slowest process's percentiles. BENCH_CUSTD_DB_OPTIONS adds parameters
# to custd's database URL only (for example pool_max_conns=16).
# BENCH_PROFILE=scenario/connections (put/64 by default; "none" for none) takes a
# CPU profile of custd, the first process, over that run and adds its top functions
# to the report (the profile itself stays under bench/results/tmp with BENCH_KEEP=1).
set -euo pipefail

records=${BENCH_RECORDS:-10000}
duration=${BENCH_DURATION:-15s}
connections=${BENCH_CONNECTIONS:-1 16 64}
# post runs last: it adds records, and the other scenarios should see the
# seeded count in both stores, not one grown by each server's create rate.
scenarios=${BENCH_SCENARIOS:-get put search post}
targets=${BENCH_TARGETS:-custd pocketbase}
disk_duration=${BENCH_DISK_DURATION:-5s}
custd_store=${BENCH_CUSTD_STORE:-sqlite}
custd_processes=${BENCH_CUSTD_PROCESSES:-1}
pg_server=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
custd_db_options=${BENCH_CUSTD_DB_OPTIONS:-}
profile=${BENCH_PROFILE:-put/64}
case $custd_store in
sqlite) [ "$custd_processes" = 1 ] || { echo "bench: several custd processes need BENCH_CUSTD_STORE=postgres" >&2; exit 2; } ;;
postgres) ;;
*) echo "bench: BENCH_CUSTD_STORE must be sqlite or postgres" >&2; exit 2 ;;
esac

while [ $# -gt 0 ]; do
	case $1 in
	--large) records=1000000 ;;
	-n) records=$2; shift ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results=$root/bench/results
mkdir -p "$results/tmp"
# The stores live on the repository's disk, not a tmpfs, so that durable writes
# cost what they cost.
tmp=$(mktemp -d "$results/tmp/run-XXXXXX")

pids=()
pg_db=""
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	# Give each server 10 s to shut down cleanly, then stop it.
	for pid in "${pids[@]}"; do
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$pg_db" ] && [ "${BENCH_KEEP:-}" != 1 ]; then
		psql "$pg_server" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
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

# wait_up waits up to 60 s for URL $1 to answer 200, while process $3 lives.
wait_up() {
	local url=$1 name=$2 pid=$3
	for _ in $(seq 600); do
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
	log "$name did not answer $url within 60 s"
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
	if [ "$1" = custd ]; then
		for q in "${custd_pids[@]}"; do sum=$((sum + $(cpu_ticks "$q"))); done
	else
		sum=$(cpu_ticks "${pid[$1]}")
	fi
	echo "$sum"
}

# peak_rss_mib prints the peak resident memory of process $1 in MiB.
peak_rss_mib() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

if ! command -v wrk >/dev/null; then
	log "installing wrk"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y wrk >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; }
fi

log "building the benchmark tools"
# The revision is taken now: the tree may change while the benchmark runs.
custd_rev=$(cd "$root" && git describe --always --dirty 2>/dev/null || echo "(no commit)")
case " $targets " in *" custd "*) (cd "$root" && go build -o "$tmp/custd" ./cmd/custd) ;; esac
(cd "$root/bench" && go build -o "$tmp/" ./pocketbase ./cmd/seed ./cmd/diskbench)
pb_version=$(cd "$root/bench" && go list -m -f '{{.Version}}' github.com/pocketbase/pocketbase)

log "measuring the disk"
"$tmp/diskbench" -dir "$tmp" -duration "$disk_duration" >"$tmp/disk.md"

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
declare -A url pid seed_rate rss_seeded
declare -A user=([custd]=admin@demo [pocketbase]=bench@example.com)
port=18080
for target in $targets; do
	port=$(free_port "$port")
	url[$target]=http://127.0.0.1:$port
	case $target in
	custd)
		if [ "$custd_store" = postgres ]; then
			pg_db=custd_bench_$$
			psql "$pg_server" -qc "CREATE DATABASE $pg_db" >/dev/null
			custd_db=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$pg_db#" <<<"$pg_server")
			if [ -n "$custd_db_options" ]; then
				case $custd_db in *\?*) custd_db+="&$custd_db_options" ;; *) custd_db+="?$custd_db_options" ;; esac
			fi
		else
			mkdir -p "$tmp/custd-data"
			custd_db="sqlite:$tmp/custd-data/custd.db"
		fi
		debug_port=$(free_port $((port + 1000)))
		CUSTD_DB="$custd_db" CUSTD_ADDR="127.0.0.1:$port" CUSTD_ADMIN_PASSWORD="$password" \
			CUSTD_DEBUG_ADDR="127.0.0.1:$debug_port" "$tmp/custd" serve >"$tmp/custd.log" 2>&1 &
		health=/healthz
		;;
	pocketbase)
		"$tmp/pocketbase" serve --http "127.0.0.1:$port" --dir "$tmp/pb-data" --bench-password "$password" \
			>"$tmp/pocketbase.log" 2>&1 &
		health=/api/health
		;;
	*) log "unknown target $target"; exit 2 ;;
	esac
	pid[$target]=$!
	pids+=("${pid[$target]}")
	wait_up "${url[$target]}$health" "$target" "${pid[$target]}"
	port=$((port + 1))
	if [ "$target" = custd ]; then
		custd_urls=("${url[custd]}")
		custd_pids=("${pid[custd]}")
		for i in $(seq 2 "$custd_processes"); do
			port=$(free_port "$port")
			CUSTD_DB="$custd_db" CUSTD_ADDR="127.0.0.1:$port" CUSTD_ADMIN_PASSWORD="$password" \
				"$tmp/custd" serve >"$tmp/custd-$i.log" 2>&1 &
			pids+=("$!")
			custd_pids+=("$!")
			custd_urls+=("http://127.0.0.1:$port")
			wait_up "http://127.0.0.1:$port$health" "custd-$i" "$!"
			port=$((port + 1))
		done
	fi
done

# The put and post bodies come from the same templates for both targets.
"$tmp/seed" -n 0 -templates "$tmp/templates.jsonl"
# custd is seeded with custd import (from a file of the same customers, ids 1 to n),
# while its server runs; PocketBase over HTTP, 16 requests at a time.
for target in $targets; do
	log "seeding $records customers into $target"
	jsonl=()
	[ "$target" = custd ] && jsonl=(-jsonl "$tmp/custd.jsonl")
	"$tmp/seed" -target "$target" -url "${url[$target]}" -user "${user[$target]}" -password "$password" \
		-n "$records" -ids "$tmp/$target.ids" -auth "$tmp/$target.auth" "${jsonl[@]}" 2>"$tmp/seed-$target.log" ||
		{ tail -n 5 "$tmp/seed-$target.log" >&2; exit 1; }
	if [ "$target" = custd ]; then
		CUSTD_DB="$custd_db" "$tmp/custd" import --client demo "$tmp/custd.jsonl" >"$tmp/import.out" 2>>"$tmp/seed-$target.log" ||
			{ tail -n 5 "$tmp/seed-$target.log" >&2; exit 1; }
		cat "$tmp/import.out" >&2
		seed_rate[$target]=$(sed -n 's/.*(\([0-9,]*\) per second)$/\1/p' "$tmp/import.out" | tr -d , | tail -n 1)
		rm -f "$tmp/custd.jsonl"
	else
		tail -n 1 "$tmp/seed-$target.log" >&2
		seed_rate[$target]=$(sed -n 's/.*(\([0-9]*\)\/s)$/\1/p' "$tmp/seed-$target.log" | tail -n 1)
	fi
	rss_seeded[$target]=$(peak_rss_mib "${pid[$target]}")
done

declare -A label=(
	[get]="GET one by id"
	[put]="PUT replace (PocketBase: PATCH)"
	[post]="POST create"
	[search]="search name, page 2 of 20 (PocketBase: list)"
)
declare -A rps
rows=()
errors_seen=()
hz=$(getconf CLK_TCK)
nproc=$(nproc)
seconds=$(to_seconds "$duration")
run=0

for scenario in $scenarios; do
	for c in $connections; do
		for target in $targets; do
			run=$((run + 1))
			key=$target/$scenario/$c
			p=${pid[$target]}
			if ! kill -0 "$p" 2>/dev/null; then
				rows+=("| $target | ${label[$scenario]} | $c | server exited | | | | | |")
				continue
			fi
			log "$scenario, $c connections, $target"
			procs=(0)
			[ "$target" = custd ] && mapfile -t procs < <(seq 0 $((${#custd_pids[@]} - 1)))
			n=${#procs[@]}
			cpu0=$(target_ticks "$target")
			t0=$(date +%s.%N)
			profiler=""
			if [ "$target" = custd ] && [ "$scenario/$c" = "$profile" ]; then
				# The profile covers the run but its first and last second.
				sleep 1 &&
					curl -sf -o "$tmp/custd-$scenario-$c.pprof" \
						"http://127.0.0.1:$debug_port/debug/pprof/profile?seconds=$((seconds > 3 ? seconds - 2 : 1))" &
				profiler=$!
			fi
			wrk_pids=()
			for i in "${procs[@]}"; do
				target_url=${url[$target]}
				[ "$target" = custd ] && target_url=${custd_urls[$i]}
				cc=$(((c + n - 1 - i) / n)) # the connections split evenly, the first processes taking any rest
				[ "$cc" -ge 1 ] || continue
				th=$((cc < nproc ? cc : nproc))
				timeout $((seconds + 60)) wrk -t"$th" -c"$cc" -d"$duration" --timeout 30s \
					-s "$root/bench/wrk/$scenario.lua" "$target_url" -- \
					target="$target" ids="$tmp/$target.ids" auth="$tmp/$target.auth" \
					templates="$tmp/templates.jsonl" tag="r$run-$i" >"$tmp/wrk-$target-$scenario-$c-$i.txt" 2>&1 &
				wrk_pids+=("$!")
			done
			wait "${wrk_pids[@]}" || true
			t1=$(date +%s.%N)
			[ -z "$profiler" ] || wait "$profiler" || errors_seen+=("- custd, $scenario, $c connections: no CPU profile")
			if ! kill -0 "$p" 2>/dev/null; then
				rows+=("| $target | ${label[$scenario]} | $c | server exited | | | | | |")
				errors_seen+=("- $target, $scenario, $c connections: the server exited; last log lines: $(tail -n 3 "$tmp/$target.log" | tr '\n' ' ')")
				continue
			fi
			cpu1=$(target_ticks "$target")
			out=$tmp/wrk-$target-$scenario-$c.txt
			cat "$tmp/wrk-$target-$scenario-$c-"*.txt >"$out"
			# One RESULT line for the run: requests/s and errors summed over the wrk
			# instances, the percentiles of the slowest.
			result=$(awk '/^RESULT / {
					n++
					for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
					rps += v["rps"]; non2xx += v["non2xx"]; sock += v["socket_errors"]
					if (v["p50_ms"] > p50) p50 = v["p50_ms"]
					if (v["p99_ms"] > p99) p99 = v["p99_ms"]
				}
				END { if (n) printf "RESULT rps=%.1f p50_ms=%s p99_ms=%s non2xx=%d socket_errors=%d\n", rps, p50, p99, non2xx, sock }' "$out")
			if [ -z "$result" ]; then
				rows+=("| $target | ${label[$scenario]} | $c | wrk failed | | | | | |")
				errors_seen+=("- $target, $scenario, $c connections: wrk printed no result: $(tail -n 2 "$out" | tr '\n' ' ')")
				continue
			fi
			rps[$key]=$(result_field "$result" rps)
			errors=$(($(result_field "$result" non2xx) + $(result_field "$result" socket_errors)))
			cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
				'BEGIN {printf "%.0f", (b - a) / hz / (t1 - t0) * 100}')
			rows+=("| $target | ${label[$scenario]} | $c | $(printf %.0f "${rps[$key]}") | $(result_field "$result" p50_ms) | $(result_field "$result" p99_ms) | $errors | $cpu | RATIO:$scenario/$c |")
			if grep -q '^FIRST_ERROR ' "$out"; then
				errors_seen+=("- $target, $scenario, $c connections: $errors errors; first: \`$(sed -n 's/^FIRST_ERROR //p' "$out" | head -n 1 | cut -c1-200)\`")
			fi
		done
	done
done

# whole prints number $1 rounded, or a dash when there is none.
whole() { if [ -n "$1" ]; then printf %.0f "$1"; else echo "—"; fi; }

# ratio prints custd's requests/s over PocketBase's for scenario/connections $1.
ratio() {
	local a=${rps[custd/$1]:-} b=${rps[pocketbase/$1]:-}
	if [ -z "$a" ] || [ -z "$b" ]; then echo "—"; return; fi
	awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "—"}'
}

n=1
while [ -e "$results/$(date +%F)-$n.md" ]; do n=$((n + 1)); done
report=$results/$(date +%F)-$n.md
{
	echo "# custd and PocketBase under load, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- machine: $nproc CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
	store_name=SQLite
	[ "$custd_store" = postgres ] && store_name=PostgreSQL
	[ "$custd_processes" -gt 1 ] && store_name="$store_name, $custd_processes processes (connections split evenly, no balancer)"
	echo "- custd $custd_rev on $store_name; PocketBase $pb_version (default settings, request log on); $(go version | cut -d' ' -f3)"
	echo "- $records customers seeded in each (custd with custd import, PocketBase over HTTP, 16 requests at a time):$(for t in $targets; do printf ' %s %s/s' "$t" "${seed_rate[$t]:-—}"; done)"
	echo "- wrk $duration per run, up to $nproc threads, on the same machine as the servers; server CPU is the server process's user+system time over the run (100% = one core)"
	echo
	echo "## Disk"
	echo
	cat "$tmp/disk.md"
	echo
	echo "## Load"
	echo
	echo "| target | scenario | connections | requests/s | p50 ms | p99 ms | errors | server CPU % | custd/PocketBase |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for r in "${rows[@]}"; do
		case $r in
		"| custd "*RATIO:*) k=${r##*RATIO:}; k=${k%% *}; echo "${r%RATIO:*}$(ratio "$k") |" ;;
		*RATIO:*) echo "${r%RATIO:*}|" ;;
		*) echo "$r" ;;
		esac
	done
	echo
	echo "## Targets"
	echo
	echo "| comparison | custd req/s | PocketBase req/s | custd/PocketBase |"
	echo "|---|---:|---:|---:|"
	for t in "put/64:PUT at 64 connections against PocketBase's PATCH" "get/16:GET by id at 16 connections" "search/16:search page at 16 connections against PocketBase's list"; do
		k=${t%%:*}
		printf '| %s | %s | %s | %s |\n' "${t#*:}" "$(whole "${rps[custd/$k]:-}")" "$(whole "${rps[pocketbase/$k]:-}")" "$(ratio "$k")"
	done
	echo
	echo "## Memory"
	echo
	echo "| target | peak RSS after seeding (MiB) | peak RSS at the end (MiB) |"
	echo "|---|---:|---:|"
	for target in $targets; do
		end=$(peak_rss_mib "${pid[$target]}" 2>/dev/null || echo "exited") # the first process
		echo "| $target | ${rss_seeded[$target]} | $end |"
	done
	pprof_file=$tmp/custd-${profile/\//-}.pprof
	if [ -s "$pprof_file" ]; then
		echo
		echo "## Where custd's CPU time goes: ${label[${profile%/*}]}, ${profile#*/} connections"
		echo
		echo "A CPU profile of the first custd process over the run (go tool pprof -top; flat is time in"
		echo "the function itself, cum includes what it calls)."
		echo
		echo '```'
		go tool pprof -top -nodecount=25 "$tmp/custd" "$pprof_file" 2>/dev/null | sed -n '/^Duration/,$p'
		echo
		go tool pprof -top -cum -nodecount=40 "$tmp/custd" "$pprof_file" 2>/dev/null | sed -n '/^ *flat/,$p'
		echo '```'
	fi
	if [ ${#errors_seen[@]} -gt 0 ]; then
		echo
		echo "## Errors"
		echo
		printf '%s\n' "${errors_seen[@]}"
	fi
} >"$report"

cat "$report"
log "wrote ${report#"$root"/}"
