#!/usr/bin/env bash
# test_cloudwatch_sink.sh - issue 9's CloudWatch Logs audit sink on a gateway of its own,
# configured with the issue's line as it is
#   - {type: cloudwatch, log_group: breakglass, log_stream: gw-1, region: us-east-1, required: false}
# and sent (AWS_ENDPOINT_URL_LOGS) to tests/e2e/cwlogs_receiver.py on loopback, which checks
# each request's signature against botocore's SigV4Auth (the gateway's own credentials,
# service logs) and each batch against the service model and PutLogEvents' quotas, and
# answers as the service does. The log group exists, the stream does not:
#   1. traffic through the gateway, one PutItem of 300 KB among it: the first PutLogEvents
#      finds no stream, the sink creates it and every record and checkpoint arrives, in
#      order, the 300 KB record as its redacted stub;
#   2. the messages, written out as JSON lines, verify with `audit verify --file` (signed
#      checkpoints, one record redacted) and are the export's records;
#   3. status shows the sink up, 0 behind; the receiver saw no breach.
#   4. the receiver stopped: requests still pass (best effort), status shows the sink DOWN
#      with its lag; started again, the backlog arrives and verifies.
# Everything started here is stopped by PID.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[cloudwatch-sink] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir) || exit 1
mkdir -p "$dir/conf" "$dir/rx"
"$BG" init --data "$dir/data" --admin cw-admin --json >"$dir/admin.json" 2>"$dir/init.log" ||
	e2e_fail "init" "$(cat "$dir/init.log")"
AT=$(e2e_json token <"$dir/admin.json")
AS=$(e2e_json totp_secret <"$dir/admin.json")
e2e_note_secret "$AT"
E2E_DATA="$dir/data"
export BREAKGLASS_TOKEN=$AT
e2e_note_secret gateway-upstream-secret # what the sink signs with (lib.sh e2e_serve)

# The receiver: the gateway's credentials (lib.sh e2e_serve), the group "breakglass" only.
rx_start() {
	rm -f "$dir/rx/port"
	"$PY" "$E2E_DIR_SELF/cwlogs_receiver.py" --port-file "$dir/rx/port" --out "$dir/rx/events.jsonl" \
		--violations "$dir/rx/violations" --requests "$dir/rx/requests" \
		--akid gateway-upstream-key --secret gateway-upstream-secret --region us-east-1 \
		--group breakglass ${RX_PORT:+--port "$RX_PORT"} >>"$dir/rx/receiver.log" 2>&1 &
	RX_PID=$!
	e2e_pids+=("$RX_PID")
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/rx/port" ] && break
		sleep 0.1
	done
	[ -s "$dir/rx/port" ] && RX_PORT=$(cat "$dir/rx/port")
}
E2E_DIR_SELF=$(cd "$(dirname "$0")" && pwd)
RX_PORT=
rx_start || e2e_fail "the receiver" "$(cat "$dir/rx/receiver.log")"
export AWS_ENDPOINT_URL_LOGS="http://127.0.0.1:$RX_PORT"

cat >"$dir/conf/serve.yaml" <<EOF
audit:
  checkpoint_every: 5
  checkpoint_seconds: 1
  sinks:
    - {type: cloudwatch, log_group: breakglass, log_stream: gw-1, region: us-east-1, required: false}
EOF
E2E_SERVE_ARGS=(--config "$dir/conf/serve.yaml")
e2e_serve "$dir" || e2e_fail "serve" "$(tail -n 5 "$dir/gateway.log")"

e2e_new_user_as "$AT" "$AS" cw-resp responder >"$dir/resp.json" || e2e_fail "user add" "$(cat "$dir/resp.json")"
RT=$(e2e_json token <"$dir/resp.json")
e2e_note_secret "$RT"
e2e_grant "$AT" "$AS" --user cw-resp --table orders --op GetItem --op PutItem --for 15m >"$dir/grant.json" ||
	e2e_fail "grant" "$(cat "$dir/grant.json")"
G=$(e2e_json id <"$dir/grant.json")
ddb() { BREAKGLASS_TOKEN=$RT "$BG" exec "$G" -- /usr/bin/aws dynamodb "$@"; }

newest() { "$BG" audit tail -n 1 --json | "$PY" -c 'import json, sys; r = json.load(sys.stdin)["records"]; print(r[-1]["seq"] if r else 0)'; }
# received_upto N: true once the receiver holds records up to seq N (in their messages).
received_upto() {
	local i
	for ((i = 0; i < 150; i++)); do
		"$PY" -c 'import json, sys
seqs = [json.loads(json.loads(l)["message"])["seq"] for l in open(sys.argv[1])]
sys.exit(0 if seqs and max(seqs) >= int(sys.argv[2]) else 1)' "$dir/rx/events.jsonl" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# messages OUT: the received messages as JSON lines, as `audit export` writes them; a
# message received twice (delivery is at least once) is written once, as readers do.
messages() {
	"$PY" -c 'import json, sys
seen = set()
with open(sys.argv[2], "w") as out:
    for l in open(sys.argv[1]):
        m = json.loads(l)["message"]
        if m not in seen:
            seen.add(m)
            out.write(m + "\n")' "$dir/rx/events.jsonl" "$1"
}

# --- 1. traffic; the stream is made on the way --------------------------------------------------
for i in 1 2 3; do
	e2e_expect_rc "GetItem $i through the gateway -> 0" 0 ddb get-item --table-name orders \
		--key '{"pk":{"S":"cw'$i'"},"sk":{"S":"x"}}'
done
big=$(head -c 300000 /dev/zero | tr '\0' 'x')
printf '{"pk":{"S":"cwbig"},"sk":{"S":"x"},"blob":{"S":"%s"}}' "$big" >"$dir/item.json"
e2e_expect_rc "PutItem of 300 KB -> 0" 0 ddb put-item --table-name orders --item "file://$dir/item.json"
e2e_expect_rc "GetItem after it -> 0" 0 ddb get-item --table-name orders --key '{"pk":{"S":"cw1"},"sk":{"S":"x"}}'
sleep 1.5 # the timer's checkpoint
head_seq=$(newest)
e2e_check "every record reaches CloudWatch Logs (up to seq $head_seq)" received_upto "$head_seq"
e2e_check "the first PutLogEvents found no stream, CreateLogStream made it, PutLogEvents again" "$PY" -c 'import sys
lines = [l.split() for l in open(sys.argv[1])]
ok = (lines[0][:3] == ["Logs_20140328.PutLogEvents", "400", "ResourceNotFoundException"]
      and lines[1][:2] == ["Logs_20140328.CreateLogStream", "200"]
      and lines[2][:2] == ["Logs_20140328.PutLogEvents", "200"]
      and all(l[1] == "200" for l in lines[2:]))
sys.exit(0 if ok else 1)' "$dir/rx/requests"
e2e_check "...into breakglass/gw-1, in seq order, each record once, timestamps in order" "$PY" -c 'import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
seqs = [json.loads(e["message"])["seq"] for e in evs]
ts = [e["timestamp"] for e in evs]
ok = (all(e["group"] == "breakglass" and e["stream"] == "gw-1" for e in evs)
      and seqs == list(range(1, len(seqs) + 1)) and ts == sorted(ts))
sys.exit(0 if ok else 1)' "$dir/rx/events.jsonl"
e2e_check "...the 300 KB request record as its redacted stub, the rest whole, checkpoints too" "$PY" -c 'import json, sys
recs = [json.loads(json.loads(l)["message"]) for l in open(sys.argv[1])]
stubs = [r for r in recs if r.get("redacted")]
ok = (len(stubs) == 1 and sorted(stubs[0]) == ["hash", "prev_hash", "redacted", "seq"]
      and any(r.get("kind") == "checkpoint" for r in recs))
sys.exit(0 if ok else 1)' "$dir/rx/events.jsonl"

# --- 2. the copy verifies on its own --------------------------------------------------------------
"$BG" audit pubkey >"$dir/pub.pem"
messages "$dir/cw.jsonl"
e2e_expect_rc "the messages verify with audit verify --file -> 0" 0 "$BG" audit verify --file "$dir/cw.jsonl" \
	--pubkey "$dir/pub.pem" --json
e2e_check "...from seq 1, signed checkpoints, one record redacted" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if o["ok"] and o["first_seq"] == 1 and o["checkpoints"] >= 2 and o["redacted"] == 1 else 1)' "$e2e_out"
e2e_check "...and they are the export's records" "$PY" -c 'import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = {r["seq"]: r for r in map(json.loads, sys.stdin)}
sys.exit(0 if all(r.get("redacted") or b.get(r["seq"]) == r for r in a) and len(a) >= 10 else 1)' \
	"$dir/cw.jsonl" < <("$BG" audit export)
e2e_check "...and the store verifies against them (--reference)" "$BG" audit verify --pubkey "$dir/pub.pem" \
	--reference "$dir/cw.jsonl"

# --- 3. status, and the receiver's verdict --------------------------------------------------------
e2e_expect_rc "status -> 0" 0 "$BG" status
e2e_check "status shows the sink up, 0 behind" grep -Eq "cloudwatch:us-east-1/breakglass/gw-1 \(best effort\): up, 0 behind" <<<"$e2e_out"
e2e_check "the receiver found every request signed as botocore signs it and every batch within the model and quotas" \
	[ ! -s "$dir/rx/violations" ]

# --- 4. CloudWatch Logs unreachable: best effort, the backlog afterwards ------------------------
kill -TERM "$RX_PID"
wait "$RX_PID" 2>/dev/null
e2e_expect_rc "with the receiver down a GetItem still passes (best effort) -> 0" 0 ddb get-item --table-name orders \
	--key '{"pk":{"S":"cw2"},"sk":{"S":"x"}}'
sleep 1.5
e2e_expect_rc "status -> 0" 0 "$BG" status
e2e_check "status shows the sink DOWN with its lag" grep -Eq "cloudwatch:us-east-1/breakglass/gw-1 \(best effort\): DOWN, [1-9][0-9]* behind" <<<"$e2e_out"
rx_start || e2e_fail "the receiver again" "$(cat "$dir/rx/receiver.log")"
head_seq=$(newest)
e2e_check "started again on its port, the backlog arrives (up to seq $head_seq)" received_upto "$head_seq"
messages "$dir/cw2.jsonl"
e2e_expect_rc "...and the whole copy verifies -> 0" 0 "$BG" audit verify --file "$dir/cw2.jsonl" --pubkey "$dir/pub.pem"
e2e_check "...still no breach seen by the receiver" [ ! -s "$dir/rx/violations" ]
e2e_check "no secret in the gateway's log or the receiver's files" "$PY" -c 'import sys
text = "".join(open(f, errors="replace").read() for f in sys.argv[1:])
sys.exit(1 if "gateway-upstream-secret" in text else 0)' "$dir/gateway.log" "$dir/rx/events.jsonl" "$dir/rx/requests"

kill -TERM "$E2E_GATEWAY_PID"
wait "$E2E_GATEWAY_PID"
e2e_check "the gateway exits 0 on SIGTERM" [ $? -eq 0 ]
e2e_check "no sanitizer report in the gateway's log" bash -c '! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$1"' _ "$dir/gateway.log"
e2e_finish
