#!/usr/bin/env bash
# bench/run.sh - breakglass benchmarks, side by side in one run (see bench/REPORT.md).
#
# Starts dynalite (in-memory) on loopback, nginx proxy_pass in front of it (1 worker and
# `auto` workers), and `breakglass serve` in front of the same dynalite; replays one
# signed DynamoDB Query with wrk (bench/replay.lua) directly, via nginx and via the
# gateway; measures latency at 1 connection, throughput at 32, the gateway's audit
# records, resident memory idle and with 256 open connections, start-up time, the
# data directory's fdatasync cost, and runs the C micro-benchmarks when built.
#
# Run by `make bench` with BREAKGLASS_BIN set. Without a gateway binary it still
# measures the direct and nginx paths. Raw outputs go to bench/out/ (git-ignored);
# the summary table is printed at the end and saved as bench/out/summary.txt.
#
# Knobs (environment): BENCH_DURATION (s per measured wrk run, 10), BENCH_WARMUP (s, 2),
# BENCH_ROUNDS (rounds of every wrk measurement, median reported, 2), BENCH_CONNS (32),
# BENCH_HOLD_CONNS (1024), BENCH_STARTUPS (10), BENCH_PACED_RATE (ticks/s, 200),
# BENCH_PERF (1: perf stat counts CPU time and context switches of each process),
# BENCH_SCALE (connection counts of the scaling runs, "1 8 32 128 512"),
# BENCH_SCALE_DURATION (s per scaling run, 5), BENCH_PROFILE (1: only a perf profile;
# BENCH_CALLGRAPH=dwarf for call chains through libc),
# BENCH_QUICK (1: only c=1 and c=32 runs of nginx and the gateway, for iterating),
# BENCH_SINKS (1: only the audit sinks' runs: the gateway with sinks on against it without),
# BENCH_GUARDRAILS (1: only the guardrails' runs: a runbook grant with masking, a budget and
# a rate on a second gateway against the plain table grant),
# BENCH_AVERIFY (1: only `audit verify` end to end against a gateway's store filled with
# BENCH_AVERIFY_RECORDS records, 300000, over BENCH_ROUNDS runs: bench/averify_e2e.sh;
# AVERIFY_BASE=another build's binary runs it side by side),
# BENCH_AB (another build's breakglass binary: only c=1 and c=32 runs of nginx, this build
# and that one, alternating round by round on the same store, with CPU and context
# switches per request: how a change is measured on a shared machine).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out
PY=/usr/bin/python3
BP=("$PY" "$ROOT/bench/bench.py")
DUR=${BENCH_DURATION:-10}
WARM=${BENCH_WARMUP:-2}
ROUNDS=${BENCH_ROUNDS:-2}
CONNS=${BENCH_CONNS:-32}
HOLD=${BENCH_HOLD_CONNS:-1024}
SCALE=${BENCH_SCALE:-1 8 32 128 512}
SCALE_DUR=${BENCH_SCALE_DURATION:-5}
STARTUPS=${BENCH_STARTUPS:-10}
PACED_RATE=${BENCH_PACED_RATE:-200}
BIN=${BREAKGLASS_BIN:-$ROOT/build/release/breakglass}
MICRO_DIR=$ROOT/build/release/bench
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true

if [ "${BENCH_AVERIFY:-0}" = 1 ]; then
	mkdir -p "$OUT"
	BREAKGLASS_BIN=$BIN AVERIFY_OUT=$OUT/averify bash bench/averify_e2e.sh \
		"${BENCH_AVERIFY_RECORDS:-300000}" "$ROUNDS" | tee "$OUT/averify.txt"
	exit "${PIPESTATUS[0]}"
fi

T0=$(date +%s)
log() { printf '[bench %3ds] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for t in wrk nginx oathtool sqlite3 curl node gnuplot; do
	command -v "$t" >/dev/null || die "$t is not installed (make deps installs it)"
done
[ -x "$PY" ] || die "$PY is missing"
[ -x /usr/bin/aws ] || die "/usr/bin/aws is missing"
[ -x node_modules/.bin/dynalite ] || die "node_modules/.bin/dynalite is missing (make deps)"

rm -rf "$OUT"
mkdir -p "$OUT"
# Everything temporary lives under bench/out/tmp: on the repository's filesystem, so the
# data directory is on a real disk (a tmpfs /tmp would make fdatasync free).
TMP=$OUT/tmp
DATA=$TMP/data
mkdir -p "$TMP" "$DATA"

PIDS=()
cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

busy_top() { # the busiest processes over half a second (top's second frame)
	top -b -n2 -d 0.5 -w 160 | awk '/^top -/ {n++} n == 2' | sed -n '7,11p' | sed 's/^/    /'
}

jget() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

wait_http() { # URL [tries]: wait until URL answers at all
	for _ in $(seq "${2:-200}"); do
		curl -s -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------------------------------
log "machine"
{
	echo "date: $(date -u +%FT%TZ)"
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "mem: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel: $(uname -sr)"
	echo "data dir fs: $(findmnt -no FSTYPE,SOURCE,OPTIONS -T "$DATA" 2>/dev/null || df -PT "$DATA" | awk 'NR==2 {print $2" on "$1}')"
	dev=$(basename "$(findmnt -no SOURCE -T "$DATA" 2>/dev/null)" 2>/dev/null || true)
	if [ -n "$dev" ] && [ -r "/sys/block/$dev/queue/write_cache" ]; then
		echo "data dir disk: $dev, write cache: $(cat "/sys/block/$dev/queue/write_cache"), rotational: $(cat "/sys/block/$dev/queue/rotational")"
	fi
	echo "loadavg before: $(cat /proc/loadavg)"
	echo "busiest processes before (other users share this machine):"
	busy_top
	echo "wrk: $(wrk -v 2>&1 | head -1)"
	echo "nginx: $(nginx -v 2>&1)"
	echo "node: $(node --version)"
	if [ -x "$BIN" ]; then echo "breakglass: $BIN"; else echo "breakglass: not built ($BIN)"; fi
	echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo none) $(git status --porcelain 2>/dev/null | wc -l) changed files"
	echo "rounds=$ROUNDS duration=${DUR}s warmup=${WARM}s conns=$CONNS"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

log "fdatasync on the data directory's filesystem"
"${BP[@]}" fsync "$TMP" 1000 >"$OUT/fsync.json"
cat "$OUT/fsync.json" >&2

DPORT=$("${BP[@]}" freeport)
N1PORT=$("${BP[@]}" freeport)
NAPORT=$("${BP[@]}" freeport)
GPORT=$("${BP[@]}" freeport)

# ---------------------------------------------------------------------------------------
log "dynalite on 127.0.0.1:$DPORT"
node_modules/.bin/dynalite --host 127.0.0.1 --port "$DPORT" --createTableMs 0 \
	--deleteTableMs 0 --updateTableMs 0 >"$OUT/dynalite.log" 2>&1 &
DYN_PID=$!
PIDS+=("$DYN_PID")
wait_http "http://127.0.0.1:$DPORT/" || die "dynalite did not start"

ddb() { AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x /usr/bin/aws --endpoint-url "http://127.0.0.1:$DPORT" dynamodb "$@"; }
ddb create-table --table-name Orders \
	--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
	--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
	--billing-mode PAY_PER_REQUEST >"$OUT/create-table.json"
# 20 items: customer#1 has 4 orders (what the benchmark queries), 16 others one each.
"$PY" - >"$TMP/items.json" <<'EOF'
import json
items = []
for i in range(20):
    c = 1 if i < 4 else i
    items.append({"PutRequest": {"Item": {
        "pk": {"S": "customer#%d" % c}, "sk": {"S": "order#%04d" % i},
        "status": {"S": "shipped" if i % 2 else "open"}, "total": {"N": str(10 * i + 5)},
        "note": {"S": "benchmark item %d" % i}}}})
print(json.dumps({"Orders": items}))
EOF
ddb batch-write-item --request-items "file://$TMP/items.json" >"$OUT/batch-write.json"
ddb query --table-name Orders --key-condition-expression 'pk = :p' \
	--expression-attribute-values '{":p":{"S":"customer#1"}}' --select COUNT >"$OUT/direct-query.json"
log "table Orders: $(jget "$OUT/direct-query.json" Count) items for customer#1"

# ---------------------------------------------------------------------------------------
start_nginx() { # NAME WORKERS PORT
	local d=$TMP/$1
	mkdir -p "$d"
	sed -e "s|@PREFIX@|$d|g" -e "s|@WORKERS@|$2|g" -e "s|@PORT@|$3|g" \
		-e "s|@UPSTREAM_PORT@|$DPORT|g" bench/nginx.conf.in >"$d/nginx.conf"
	cp "$d/nginx.conf" "$OUT/$1.conf"
	nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" >"$OUT/$1.log" 2>&1 &
	PIDS+=("$!")
	eval "${1^^}_PID=$!"
	wait_http "http://127.0.0.1:$3/" || die "nginx ($1) did not start: $(cat "$d/error.log")"
}
log "nginx (1 worker) on 127.0.0.1:$N1PORT, nginx (auto workers) on 127.0.0.1:$NAPORT"
start_nginx nginx_w1 1 "$N1PORT"
start_nginx nginx_auto auto "$NAPORT"

# ---------------------------------------------------------------------------------------
HAVE_GW=0
GW_PID=

# Opens $HOLD keep-alive connections to the gateway, one signed Query on each, and reads
# its RSS while they are held open. LABEL NAME: log label, output file name.
hold_conns() {
	log "RSS with $HOLD open connections ($1)"
	AWS_ACCESS_KEY_ID=$GW_AK AWS_SECRET_ACCESS_KEY=$GW_SK AWS_SESSION_TOKEN=$GW_ST \
		"${BP[@]}" conns "127.0.0.1:$GPORT" "$GW_PID" "$HOLD" >"$OUT/$2.json" ||
		log "connection hold failed"
	log "$(cat "$OUT/$2.json")"
}

if [ -x "$BIN" ]; then
	HAVE_GW=1
	log "breakglass init"
	"$BIN" init --data "$DATA" --admin admin --json >"$TMP/init.json"
	ADMIN_TOKEN=$(jget "$TMP/init.json" token)
	ADMIN_SECRET=$(jget "$TMP/init.json" totp_secret)

	serve_cmd() { # PORT: sets SERVE to the gateway's command line
		SERVE=(env AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x "$BIN" serve --listen "127.0.0.1:$1"
			--upstream "http://127.0.0.1:$DPORT" --data "$DATA" --region us-east-1
			--max-connections 2048)
	}

	log "start-up time, fresh store ($STARTUPS runs)"
	serve_cmd "$("${BP[@]}" freeport)"
	"${BP[@]}" startup "$STARTUPS" "$OUT/startup-fresh.log" -- "${SERVE[@]}" \
		>"$OUT/startup-fresh.json" || log "start-up measurement failed: $(cat "$OUT/startup-fresh.json")"

	log "breakglass serve on 127.0.0.1:$GPORT"
	serve_cmd "$GPORT"
	"${SERVE[@]}" >"$OUT/gateway.log" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_http "http://127.0.0.1:$GPORT/" || die "gateway did not start: $(cat "$OUT/gateway.log")"

	export BREAKGLASS_URL=http://127.0.0.1:$GPORT
	BREAKGLASS_TOKEN=$ADMIN_TOKEN "$BIN" user add oncall --role responder \
		--otp "$(oathtool --totp -b "$ADMIN_SECRET")" --json >"$TMP/user.json" ||
		die "user add failed: $(cat "$TMP/user.json")"
	ONCALL_TOKEN=$(jget "$TMP/user.json" token)
	# Each TOTP code is accepted once; the server accepts the next step's code too.
	if ! BREAKGLASS_TOKEN=$ADMIN_TOKEN "$BIN" grant --user oncall --table Orders --op Query,GetItem \
		--for 1h --reason "benchmark" --otp "$(oathtool --totp -b -N 'now + 30 seconds' "$ADMIN_SECRET")" \
		--json >"$TMP/grant.json"; then
		log "grant with the next step's code refused; waiting for the next 30 s step"
		sleep $((31 - $(date +%s) % 30))
		BREAKGLASS_TOKEN=$ADMIN_TOKEN "$BIN" grant --user oncall --table Orders --op Query,GetItem \
			--for 1h --reason "benchmark" --otp "$(oathtool --totp -b -N 'now + 30 seconds' "$ADMIN_SECRET")" \
			--json >"$TMP/grant.json" || die "grant failed: $(cat "$TMP/grant.json")"
	fi
	GRANT=$(jget "$TMP/grant.json" id)
	BREAKGLASS_TOKEN=$ONCALL_TOKEN "$BIN" creds "$GRANT" --format json >"$TMP/creds.json" ||
		die "creds failed: $(cat "$TMP/creds.json")"
	GW_AK=$(jget "$TMP/creds.json" access_key_id)
	GW_SK=$(jget "$TMP/creds.json" secret_access_key)
	GW_ST=$(jget "$TMP/creds.json" session_token)
	log "grant $GRANT for oncall, access key $GW_AK"

	# One request through the gateway with the real AWS CLI, then the idle RSS.
	AWS_ACCESS_KEY_ID=$GW_AK AWS_SECRET_ACCESS_KEY=$GW_SK AWS_SESSION_TOKEN=$GW_ST \
		/usr/bin/aws --endpoint-url "http://127.0.0.1:$GPORT" dynamodb query --table-name Orders \
		--key-condition-expression 'pk = :p' --expression-attribute-values '{":p":{"S":"customer#1"}}' \
		--select COUNT >"$OUT/gateway-query.json" || die "query through the gateway failed"
	sleep 1
	"${BP[@]}" mem "$GW_PID" >"$OUT/mem-idle.json"
	log "gateway idle memory (KiB): $(cat "$OUT/mem-idle.json")"
	hold_conns "before any load" conns-fresh
else
	log "no gateway binary at $BIN: measuring the direct and nginx paths only"
fi

audit_count() { # request and response records (not the signed checkpoints between them)
	sqlite3 -cmd ".timeout 10000" "$DATA/breakglass.db" \
		"select count(*) from audit where kind in ('request', 'response');"
}

sign_for() { # PORT OUTFILE: sign the Query for 127.0.0.1:PORT (grant creds when present)
	if [ "$HAVE_GW" = 1 ]; then
		AWS_ACCESS_KEY_ID=$GW_AK AWS_SECRET_ACCESS_KEY=$GW_SK AWS_SESSION_TOKEN=$GW_ST \
			"${BP[@]}" sign "127.0.0.1:$1" "$2"
	else
		AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=x AWS_SESSION_TOKEN=bench-token \
			"${BP[@]}" sign "127.0.0.1:$1" "$2"
	fi
}

: >"$OUT/audit-counts.txt"
run_wrk() { # KIND(lat|thr) NAME PORT ROUND
	local kind=$1 name=$2 port=$3 round=$4 req=$TMP/req-$2-$3.txt
	local out=$OUT/$kind-$name-r$round.txt threads conns before after
	if [ "$kind" = lat ]; then threads=1 conns=1; else threads=2 conns=$CONNS; fi
	sign_for "$port" "$req"
	# A copy for the record, without the grant's session token and signature.
	sed -e 's/^\(X-Amz-Security-Token: \).*/\1<redacted>/' -e 's/Signature=[0-9a-f]*/Signature=<redacted>/' \
		"$req" >"$OUT/request-$name.txt"
	BENCH_REQ=$req wrk -t"$threads" -c"$conns" -d"${WARM}s" -s bench/replay.lua \
		"http://127.0.0.1:$port/" >"$OUT/warmup-$kind-$name-r$round.txt" 2>&1 || true
	sleep 0.3
	if [ "$name" = breakglass ]; then before=$(audit_count); fi
	local labels=("dynalite=$DYN_PID")
	case $name in
	nginx_w1) labels+=("nginx=$NGINX_W1_PID") ;;
	nginx_auto) labels+=("nginx=$NGINX_AUTO_PID") ;;
	breakglass) labels+=("breakglass=$GW_PID") ;;
	breakglass_sinks) labels+=("breakglass=$GWS_PID") ;;
	breakglass_guarded) labels+=("breakglass=$GWG_PID") ;;
	breakglass_b) labels+=("breakglass=$GWB_PID") ;;
	esac
	BENCH_REQ=$req "${BP[@]}" wrk "$out" "${labels[@]}" -- \
		wrk -t"$threads" -c"$conns" -d"${DUR}s" --latency -s bench/replay.lua "http://127.0.0.1:$port/" || true
	if [ "$name" = breakglass ]; then
		sleep 0.5
		after=$(audit_count)
		echo "$(basename "$out") $before $after $conns" >>"$OUT/audit-counts.txt"
	fi
	log "$kind $name round $round: $(grep '^BENCHJSON' "$out" | cut -c10- |
		"$PY" -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print("rps %s p50 %sus p99 %sus non200 %s sockerr %s %s" % (d.get("rps"), d.get("p50_us"), d.get("p99_us"), d.get("non200"), d.get("socket_errors"), d.get("first_error","")[:120]))')"
}

# BENCH_PROFILE=1: only a CPU profile of the gateway under the throughput load (perf
# record with call graphs for DUR seconds), written to bench/out/perf.txt; then stop.
if [ "${BENCH_PROFILE:-0}" = 1 ] && [ "$HAVE_GW" = 1 ]; then
	sign_for "$GPORT" "$TMP/prof-req.txt"
	BENCH_REQ=$TMP/prof-req.txt wrk -t2 -c"$CONNS" -d"$((DUR + 4))s" -s bench/replay.lua \
		"http://127.0.0.1:$GPORT/" >"$OUT/prof-wrk.txt" 2>&1 &
	wrk_pid=$!
	sleep 2
	if [ "${BENCH_STRACE:-0}" = 1 ]; then # system calls by kind, for a few seconds
		timeout -s INT 4 strace -c -f -p "$GW_PID" -o "$OUT/strace.txt" >/dev/null 2>&1 || true
	fi
	# BENCH_CALLGRAPH=dwarf unwinds through libraries built without frame pointers (libc).
	perf record -F 2000 --call-graph "${BENCH_CALLGRAPH:-fp}" -p "$GW_PID" -o "$OUT/perf.data" -- sleep "$DUR" >/dev/null 2>&1 ||
		die "perf record failed"
	wait "$wrk_pid"
	perf report -i "$OUT/perf.data" --no-children --percent-limit 0.7 --stdio \
		--sort dso,symbol -g none >"$OUT/perf.txt" 2>/dev/null
	perf report -i "$OUT/perf.data" --children --percent-limit 2 --stdio --sort symbol \
		-g caller,0.5,callee,function,percent --max-stack 12 >"$OUT/perf-callers.txt" 2>/dev/null
	log "profile: bench/out/perf.txt, bench/out/perf-callers.txt; load: $(grep -m1 'Requests/sec' "$OUT/prof-wrk.txt")"
	exit 0
fi

# The audit sinks' cost (issue 9): a second gateway on the same store with a required JSON
# lines sink (and, when this build has syslog sinks and rsyslogd is installed, a
# best-effort syslog sink to an rsyslog of its own over TCP), its c=32 throughput measured
# alternately with the plain gateway's.
sinks_runs() {
	local sdir=$TMP/sinks sport rport conf
	mkdir -p "$sdir"
	sport=$("${BP[@]}" freeport)
	conf=$sdir/serve.yaml
	printf 'audit:\n  sinks:\n    - {type: jsonl, path: audit.jsonl, max_bytes: 104857600, required: true}\n' >"$conf"
	local help_text
	help_text=$("$BIN" help serve 2>/dev/null || true) # (grep -q on a pipe: SIGPIPE, pipefail)
	if command -v rsyslogd >/dev/null && grep -q 'tcp://' <<<"$help_text"; then
		rport=$("${BP[@]}" freeport)
		cat >"$sdir/rsyslog.conf" <<EOF
global(workDirectory="$sdir" maxMessageSize="4m")
module(load="imtcp" MaxSessions="16")
input(type="imtcp" address="127.0.0.1" port="$rport" ruleset="bg")
template(name="raw" type="string" string="%msg%\n")
ruleset(name="bg") { action(type="omfile" file="$sdir/syslog.out" template="raw") }
EOF
		rsyslogd -n -f "$sdir/rsyslog.conf" -i "$sdir/rsyslog.pid" >"$OUT/rsyslog.log" 2>&1 &
		PIDS+=("$!")
		sleep 1
		printf '    - {type: syslog, address: "tcp://127.0.0.1:%s", required: false}\n' "$rport" >>"$conf"
	fi
	cp "$conf" "$OUT/sinks-serve.yaml"
	serve_cmd "$sport"
	"${SERVE[@]}" --config "$conf" >"$OUT/gateway-sinks.log" 2>&1 &
	GWS_PID=$!
	PIDS+=("$GWS_PID")
	wait_http "http://127.0.0.1:$sport/" || die "gateway with sinks did not start: $(cat "$OUT/gateway-sinks.log")"
	for r in $(seq "$ROUNDS"); do
		run_wrk thr breakglass "$GPORT" "s$r"
		run_wrk thr breakglass_sinks "$sport" "s$r"
	done
	"${BP[@]}" sinks "$OUT" | tee "$OUT/sinks.txt" >&2
	sleep 1
	log "sink copies: $(wc -l <"$sdir/audit.jsonl") JSON lines$(
		[ -f "$sdir/syslog.out" ] && echo ", $(wc -l <"$sdir/syslog.out") syslog messages")"
	kill -TERM "$GWS_PID"
	wait "$GWS_PID" 2>/dev/null || true
}
if [ "${BENCH_SINKS:-0}" = 1 ] && [ "$HAVE_GW" = 1 ]; then
	sinks_runs
	exit 0
fi

# The guardrails' cost (issue 10): a second gateway on the same store with a runbook folder
# (the benchmark's Query as a runbook that masks `note`, with a budget) and a policy with a
# rate and a budget far above what the run spends, so every check runs and none refuses; a
# runbook grant's Query through it (matched, tightened to the runbook's Limit, capacity
# charged and stripped, `note` masked, CRC recomputed) measured alternately with the plain
# table grant's through the first gateway.
guardrails_runs() {
	local gdir=$TMP/guarded gport code
	mkdir -p "$gdir/runbooks"
	gport=$("${BP[@]}" freeport)
	printf 'Orders:\n  partition_key: {pk: S}\n  sort_key: {sk: S}\n' >"$gdir/runbooks/tables.yaml"
	printf '%s\n' 'id: orders-bench' 'title: The orders of one customer (benchmark)' \
		'when: Always; it is the benchmark query.' 'table: Orders' 'operation: Query' \
		'key_condition: "pk = :customer"' 'params:' \
		'  customer: {type: S, pattern: "^customer#[0-9]{1,6}$"}' 'limit: 25' 'mask: [note]' \
		'budget: {read: 1000000000}' >"$gdir/runbooks/orders-bench.yaml"
	printf 'guardrails:\n  rate: {per_second: 1000000, burst: 1000000}\n  budget: {read: 1000000000, write: 1000}\n' \
		>"$gdir/policy.yaml"
	cp "$gdir/policy.yaml" "$OUT/guarded-policy.yaml"
	cp "$gdir/runbooks/orders-bench.yaml" "$OUT/guarded-runbook.yaml"
	serve_cmd "$gport"
	"${SERVE[@]}" --runbooks "$gdir/runbooks" --policy "$gdir/policy.yaml" >"$OUT/gateway-guarded.log" 2>&1 &
	GWG_PID=$!
	PIDS+=("$GWG_PID")
	wait_http "http://127.0.0.1:$gport/" || die "guarded gateway did not start: $(cat "$OUT/gateway-guarded.log")"
	sleep $((31 - $(date +%s) % 30)) # a TOTP step of its own for the grant
	code=$(oathtool --totp -b "$ADMIN_SECRET")
	BREAKGLASS_URL=http://127.0.0.1:$gport BREAKGLASS_TOKEN=$ADMIN_TOKEN "$BIN" grant --user oncall \
		--runbook orders-bench --for 1h --reason "benchmark" --otp "$code" --json >"$TMP/rgrant.json" ||
		die "runbook grant failed: $(cat "$TMP/rgrant.json")"
	BREAKGLASS_URL=http://127.0.0.1:$gport BREAKGLASS_TOKEN=$ONCALL_TOKEN "$BIN" creds \
		"$(jget "$TMP/rgrant.json" id)" --format json >"$TMP/rcreds.json" || die "runbook creds failed"
	local ak=$GW_AK sk=$GW_SK st=$GW_ST rak rsk rst r
	rak=$(jget "$TMP/rcreds.json" access_key_id)
	rsk=$(jget "$TMP/rcreds.json" secret_access_key)
	rst=$(jget "$TMP/rcreds.json" session_token)
	for r in $(seq "$ROUNDS"); do
		GW_AK=$ak GW_SK=$sk GW_ST=$st
		run_wrk thr breakglass "$GPORT" "g$r"
		GW_AK=$rak GW_SK=$rsk GW_ST=$rst
		run_wrk thr breakglass_guarded "$gport" "g$r"
	done
	GW_AK=$ak GW_SK=$sk GW_ST=$st
	"${BP[@]}" guardrails "$OUT" | tee "$OUT/guardrails.txt" >&2
	kill -TERM "$GWG_PID"
	wait "$GWG_PID" 2>/dev/null || true
}
if [ "${BENCH_GUARDRAILS:-0}" = 1 ] && [ "$HAVE_GW" = 1 ]; then
	guardrails_runs
	exit 0
fi

# BENCH_AB=BINARY: a second gateway from another build on the same store and upstream, and
# the quick runs alternating nginx, this build (breakglass) and that one (breakglass_b).
if [ -n "${BENCH_AB:-}" ] && [ "$HAVE_GW" = 1 ]; then
	[ -x "$BENCH_AB" ] || die "BENCH_AB=$BENCH_AB is not an executable"
	BPORT=$("${BP[@]}" freeport)
	BIN=$BENCH_AB serve_cmd "$BPORT"
	"${SERVE[@]}" >"$OUT/gateway-b.log" 2>&1 &
	GWB_PID=$!
	PIDS+=("$GWB_PID")
	wait_http "http://127.0.0.1:$BPORT/" || die "gateway B did not start: $(cat "$OUT/gateway-b.log")"
	log "gateway B ($BENCH_AB, $(git -C "$(dirname "$BENCH_AB")" rev-parse --short HEAD 2>/dev/null || echo '?')) on 127.0.0.1:$BPORT"
	for r in $(seq "$ROUNDS"); do
		for k in lat thr; do
			run_wrk "$k" nginx_w1 "$N1PORT" "$r"
			run_wrk "$k" breakglass "$GPORT" "$r"
			run_wrk "$k" breakglass_b "$BPORT" "$r"
		done
	done
	"${BP[@]}" quick "$OUT" | tee "$OUT/quick.txt"
	"${BP[@]}" ab "$OUT" | tee "$OUT/ab.txt"
	exit 0
fi

# BENCH_QUICK=1: only the c=1 latency and c=32 throughput runs of nginx (1 worker) and the
# gateway, side by side, for iterating on the gateway; the per-run figures are logged.
if [ "${BENCH_QUICK:-0}" = 1 ] && [ "$HAVE_GW" = 1 ]; then
	for r in $(seq "$ROUNDS"); do
		for k in lat thr; do
			run_wrk "$k" nginx_w1 "$N1PORT" "$r"
			run_wrk "$k" breakglass "$GPORT" "$r"
		done
	done
	"${BP[@]}" quick "$OUT" | tee "$OUT/quick.txt"
	exit 0
fi

for r in $(seq "$ROUNDS"); do
	log "round $r/$ROUNDS: latency at 1 connection (${DUR}s each)"
	run_wrk lat direct "$DPORT" "$r"
	run_wrk lat nginx "$N1PORT" "$r"
	if [ "$HAVE_GW" = 1 ]; then run_wrk lat breakglass "$GPORT" "$r"; fi
	log "round $r/$ROUNDS: paced interleaved latency ($PACED_RATE/s, ${DUR}s, one request per path per tick)"
	paced=(direct="127.0.0.1:$DPORT:$TMP/paced-direct.txt" nginx="127.0.0.1:$N1PORT:$TMP/paced-nginx.txt")
	sign_for "$DPORT" "$TMP/paced-direct.txt"
	sign_for "$N1PORT" "$TMP/paced-nginx.txt"
	if [ "$HAVE_GW" = 1 ]; then
		sign_for "$GPORT" "$TMP/paced-breakglass.txt"
		paced+=(breakglass="127.0.0.1:$GPORT:$TMP/paced-breakglass.txt")
	fi
	pids="dynalite=$DYN_PID,nginx=$NGINX_W1_PID"
	if [ "$HAVE_GW" = 1 ]; then pids+=",breakglass=$GW_PID"; fi
	BENCH_PACED_PIDS=$pids "${BP[@]}" paced "$OUT/paced-r$r.json" "$PACED_RATE" "$DUR" "${paced[@]}" >/dev/null ||
		log "paced run failed"
	log "$(cat "$OUT/paced-r$r.json" 2>/dev/null)"
	log "round $r/$ROUNDS: throughput at $CONNS connections (${DUR}s each)"
	run_wrk thr direct "$DPORT" "$r"
	run_wrk thr nginx_w1 "$N1PORT" "$r"
	run_wrk thr nginx_auto "$NAPORT" "$r"
	if [ "$HAVE_GW" = 1 ]; then run_wrk thr breakglass "$GPORT" "$r"; fi
done

if [ "$HAVE_GW" = 1 ]; then sinks_runs; fi
if [ "$HAVE_GW" = 1 ]; then guardrails_runs; fi

# Scaling: throughput and p99 over connection counts on each path, drawn with gnuplot.
log "scaling: $SCALE connections, ${SCALE_DUR}s each, on each path"
for c in $SCALE; do
	for p in direct:"$DPORT" nginx_w1:"$N1PORT" breakglass:"$GPORT"; do
		name=${p%%:*} port=${p##*:}
		if [ "$name" = breakglass ] && [ "$HAVE_GW" != 1 ]; then continue; fi
		sign_for "$port" "$TMP/scale-req.txt"
		labels=(dynalite="$DYN_PID")
		case $name in nginx_w1) labels+=(nginx="$NGINX_W1_PID") ;; breakglass) labels+=(breakglass="$GW_PID") ;; esac
		BENCH_REQ=$TMP/scale-req.txt "${BP[@]}" wrk "$OUT/scale-$name-c$c-r1.txt" "${labels[@]}" -- \
			wrk -t"$((c < 2 ? 1 : 2))" -c"$c" -d"${SCALE_DUR}s" --latency -s bench/replay.lua \
			"http://127.0.0.1:$port/" || true
	done
done
"${BP[@]}" scaling "$OUT" >"$OUT/scaling.txt" && cat "$OUT/scaling.txt" >&2
(cd "$OUT" && gnuplot scaling.gp) || log "gnuplot failed"

if [ "$HAVE_GW" = 1 ]; then
	sqlite3 -cmd ".timeout 10000" "$DATA/breakglass.db" \
		"select kind, count(*) from audit group by kind;" >"$OUT/audit-kinds.txt" || true
	log "audit records by kind: $(tr '\n' ' ' <"$OUT/audit-kinds.txt")"

	hold_conns "after the load" conns-loaded
	"${BP[@]}" mem "$GW_PID" >"$OUT/mem-after.json"
	# Where resident memory sits after the load (largest anonymous mappings first).
	awk '/^[0-9a-f]+-[0-9a-f]+ / {m=$0} /^Anonymous:/ && $2 > 512 {print $2 " kB " m}' \
		"/proc/$GW_PID/smaps" 2>/dev/null | sort -rn | head -20 >"$OUT/smaps-after.txt" || true

	log "stopping the gateway; start-up time with the populated store ($STARTUPS runs)"
	kill -TERM "$GW_PID"
	wait "$GW_PID" 2>/dev/null || true
	serve_cmd "$("${BP[@]}" freeport)"
	"${BP[@]}" startup "$STARTUPS" "$OUT/startup-populated.log" -- "${SERVE[@]}" \
		>"$OUT/startup-populated.json" || log "start-up measurement failed: $(cat "$OUT/startup-populated.json")"
	echo "audit records: $(audit_count)" >>"$OUT/startup-populated.log"
fi

# ---------------------------------------------------------------------------------------
for b in machine_probe sigv4_bench audit_bench averify_bench report_bench; do
	if [ -x "$MICRO_DIR/$b" ]; then
		log "$b"
		args=()
		case $b in audit_bench | machine_probe) args=("$TMP") ;; esac # the data dir's filesystem
		(cd "$TMP" && timeout 120 "$MICRO_DIR/$b" "${args[@]}") >"$OUT/$b.txt" 2>&1 || log "$b failed (rc $?)"
		cat "$OUT/$b.txt" >&2
	else
		log "$b not built ($MICRO_DIR/$b)"
	fi
done

{
	echo "loadavg after: $(cat /proc/loadavg)"
	echo "busiest processes after:"
	busy_top
} >>"$OUT/machine.txt"
log "done in $(($(date +%s) - T0)) s; raw outputs in bench/out/"
"${BP[@]}" summary "$OUT" | tee "$OUT/summary.txt"
