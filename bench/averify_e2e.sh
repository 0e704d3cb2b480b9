#!/usr/bin/env bash
# bench/averify_e2e.sh - `breakglass audit verify` end to end against a running gateway's
# store (issue 9's target: >= 200,000 records/s including checkpoint signatures).
#
# `breakglass init` makes a data directory on the repository's disk; `averify_bench fill`
# appends N records through the real committer (checkpoints signed by the directory's
# key every 1000 records); `breakglass serve` starts on it; then `breakglass audit verify`
# runs ROUNDS times against the gateway: the wall time of the whole command, the gateway's
# reading and page building included, and the CPU time the gateway and the CLI spent.
# With AVERIFY_BASE set to another build's binary, that build's gateway serves a copy of
# the same store and its CLI verifies it, alternately with this build's, round by round
# (side by side: the machine is shared and its load moves). Then, once, `audit export` and
# `audit verify --file` on it for scale. Prints each run, the medians and the load
# average; fails unless every run says whole. Run by bench/run.sh with BENCH_AVERIFY=1,
# or on its own after `make bench`'s build:
#
#   bash bench/averify_e2e.sh [N [ROUNDS]]    defaults 300000 and 5
#
# BREAKGLASS_BIN (default build/release/breakglass), AVERIFY_BASE (unset: no comparison),
# AVERIFY_OUT (default bench/out/averify).
set -euo pipefail

cd "$(dirname "$0")/.."
N=${1:-300000}
ROUNDS=${2:-5}
BIN=${BREAKGLASS_BIN:-$PWD/build/release/breakglass}
BASE=${AVERIFY_BASE:-}
FILL=$PWD/build/release/bench/averify_bench
OUT=${AVERIFY_OUT:-$PWD/bench/out/averify}
PY=/usr/bin/python3

[ -x "$BIN" ] || { echo "averify_e2e: $BIN is not built" >&2; exit 1; }
[ -x "$FILL" ] || { echo "averify_e2e: $FILL is not built (make build/release/bench/averify_bench)" >&2; exit 1; }
[ -z "$BASE" ] || [ -x "$BASE" ] || { echo "averify_e2e: AVERIFY_BASE=$BASE is not executable" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
DATA=$OUT/data
PIDS=()
cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$DATA" "$DATA-base" "$OUT/export.jsonl"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

jget() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
now() { date +%s.%N; }
cpu_ms() { awk '{print ($14 + $15) * 10}' "/proc/$1/stat"; } # utime + stime, 100 Hz ticks
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
serve() { # BIN DATA LOG: starts a gateway, sets URL and PID
	local port
	port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x "$1" serve --listen "127.0.0.1:$port" \
		--upstream http://127.0.0.1:9 --data "$2" --region us-east-1 >"$3" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	URL=http://127.0.0.1:$port
	for _ in $(seq 200); do
		curl -s -o /dev/null --max-time 1 "$URL/" && return 0
		sleep 0.05
	done
	echo "averify_e2e: the gateway ($1) did not start: $(tail -3 "$3")" >&2
	exit 1
}
run() { # NAME BIN URL GW_PID ROUND: one timed `audit verify`, one line of output
	local name=$1 bin=$2 url=$3 gw=$4 r=$5 load t0 t1 c0 c1 recs rate
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	c0=$(cpu_ms "$gw")
	t0=$(now)
	BREAKGLASS_URL=$url /usr/bin/time -f '%U %S' -o "$OUT/$name-$r.time" "$bin" audit verify --json \
		>"$OUT/$name-$r.json"
	t1=$(now)
	c1=$(cpu_ms "$gw")
	[ "$(jget "$OUT/$name-$r.json" ok)" = True ] || { echo "averify_e2e: $name: the trail did not verify" >&2; exit 1; }
	recs=$(jget "$OUT/$name-$r.json" records)
	rate=$("$PY" -c "print(round($recs / ($t1 - $t0)))")
	echo "$rate" >>"$OUT/$name.rates"
	printf '%-4s run %d: %d records in %.2f s = %6d records/s; CPU: gateway %d ms, CLI %s s user+sys; load %s\n' \
		"$name" "$r" "$recs" "$("$PY" -c "print($t1 - $t0)")" "$rate" "$((c1 - c0))" \
		"$(awk '{print $1 "+" $2}' "$OUT/$name-$r.time")" "$load"
}

echo "date: $(date -u +%FT%TZ); $(nproc) vCPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo none), $(git status --porcelain 2>/dev/null | wc -l) changed files; new: $BIN${BASE:+; base: $BASE}"
"$BIN" init --data "$DATA" --admin admin --json >"$OUT/init.json"
export BREAKGLASS_TOKEN
BREAKGLASS_TOKEN=$(jget "$OUT/init.json" token)
"$FILL" fill "$DATA" "$N" 1000
[ -z "$BASE" ] || cp -r "$DATA" "$DATA-base"

serve "$BIN" "$DATA" "$OUT/serve.log"
NEW_URL=$URL NEW_PID=$PID
if [ -n "$BASE" ]; then
	serve "$BASE" "$DATA-base" "$OUT/serve-base.log"
	BASE_URL=$URL BASE_PID=$PID
fi
for r in $(seq "$ROUNDS"); do
	[ -z "$BASE" ] || run base "$BASE" "$BASE_URL" "$BASE_PID" "$r"
	run new "$BIN" "$NEW_URL" "$NEW_PID" "$r"
done
if [ -n "$BASE" ]; then
	echo "audit verify end to end, base: median $(median <"$OUT/base.rates") records/s over $ROUNDS runs"
fi
m=$(median <"$OUT/new.rates")
echo "audit verify end to end: median $m records/s over $ROUNDS runs (target >= 200000: $([ "$m" -ge 200000 ] && echo PASS || echo MISS))"

BREAKGLASS_URL=$NEW_URL "$BIN" audit export >"$OUT/export.jsonl"
t0=$(now)
BREAKGLASS_URL=$NEW_URL "$BIN" audit verify --file "$OUT/export.jsonl" --json >"$OUT/verify-file.json"
t1=$(now)
printf 'audit verify --file on its export: %.2f s = %d records/s\n' "$("$PY" -c "print($t1 - $t0)")" \
	"$("$PY" -c "print(round($(jget "$OUT/verify-file.json" records) / ($t1 - $t0)))")"
echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
