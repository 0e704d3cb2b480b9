#!/usr/bin/env bash
# test_audit_sinks.sh - issue 9's audit sinks with the JSON lines transport, on a gateway
# of its own:
#   1. a required jsonl sink (a relative path, from the config file's folder) and a
#      best-effort one whose folder does not exist yet: requests pass, the required copy
#      holds every record and verifies on its own (`audit verify --file`), checkpoints
#      included; the best-effort one shows DOWN with its lag in `status`, `--json` and the
#      metrics; large items rotate the required file (PATH.1, PATH.2 ...) and the pieces
#      verify together.
#   2. the folder appears and the gateway restarts: the backlog arrives whole, from seq 1,
#      and nothing is sent twice (the file's last seq is read back).
#   3. a required sink that cannot write (/dev/full): a GetItem is refused, a PutItem
#      never reaches DynamoDB, status says why; the records are still in the store.
#   4. configuration mistakes stop serve with the file and line.
# Everything started here is stopped by PID.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[audit-sinks] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir) || exit 1
mkdir -p "$dir/conf"
"$BG" init --data "$dir/data" --admin as-admin --json >"$dir/admin.json" 2>"$dir/init.log" ||
	e2e_fail "init" "$(cat "$dir/init.log")"
AT=$(e2e_json token <"$dir/admin.json")
AS=$(e2e_json totp_secret <"$dir/admin.json")
e2e_note_secret "$AT"
E2E_DATA="$dir/data"
export BREAKGLASS_TOKEN=$AT

# The issue's example, with the sinks this build has and the paths of this test.
cat >"$dir/conf/serve.yaml" <<EOF
audit:
  checkpoint_every: 5
  checkpoint_seconds: 1
  sinks:
    - {type: jsonl, path: audit/audit.jsonl, max_bytes: 1048576, required: true}
    - {type: jsonl, path: $dir/later/copy.jsonl, required: false}
EOF
mkdir -p "$dir/conf/audit"
E2E_SERVE_ARGS=(--config "$dir/conf/serve.yaml")
e2e_serve "$dir" || e2e_fail "serve" "$(tail -n 5 "$dir/gateway.log")"

e2e_new_user_as "$AT" "$AS" as-resp responder >"$dir/resp.json" || e2e_fail "user add" "$(cat "$dir/resp.json")"
RT=$(e2e_json token <"$dir/resp.json")
e2e_note_secret "$RT"
e2e_grant "$AT" "$AS" --user as-resp --table orders --op GetItem --op PutItem --for 15m >"$dir/grant.json" ||
	e2e_fail "grant" "$(cat "$dir/grant.json")"
G=$(e2e_json id <"$dir/grant.json")
ddb() { BREAKGLASS_TOKEN=$RT "$BG" exec "$G" -- /usr/bin/aws dynamodb "$@"; }

# newest: the store's newest seq. lines FILE...: the records in the files.
newest() { "$BG" audit tail -n 1 --json | "$PY" -c 'import json, sys; r = json.load(sys.stdin)["records"]; print(r[-1]["seq"] if r else 0)'; }
lines() { cat "$@" 2>/dev/null | grep -c '^{' ; }
# wait_lines N FILE...: true once the files hold N records.
wait_lines() {
	local n=$1 i
	shift
	for ((i = 0; i < 100; i++)); do
		[ "$(lines "$@")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- 1. traffic, the required copy, the best-effort sink down --------------------------------
for i in 1 2 3; do
	e2e_expect_rc "GetItem $i through the gateway -> 0" 0 ddb get-item --table-name orders \
		--key '{"pk":{"S":"o'$i'"},"sk":{"S":"x"}}'
done
# Five items of ~300 KB: their request records take the required file past 1 MB.
big=$(head -c 300000 /dev/zero | tr '\0' 'x')
for i in 1 2 3 4 5; do
	printf '{"pk":{"S":"big%s"},"sk":{"S":"x"},"blob":{"S":"%s"}}' "$i" "$big" >"$dir/item.json"
	e2e_expect_rc "PutItem of 300 KB ($i) -> 0" 0 ddb put-item --table-name orders --item "file://$dir/item.json"
done
e2e_expect_rc "GetItem of an item there -> 0" 0 ddb get-item --table-name orders --key '{"pk":{"S":"big2"},"sk":{"S":"x"}}' \
	--projection-expression "pk, sk"
# What the records say (docs/audit.md, "What is recorded").
e2e_check "the response record: the item's key, the body's SHA-256, no body; the request's User-Agent" "$PY" -c 'import json, re, sys
recs = json.load(sys.stdin)["records"]
resp = [r for r in recs if r["kind"] == "response" and r["op"] == "GetItem"][-1]
req = [r for r in recs if r["kind"] == "request" and r["request_id"] == resp["request_id"]][0]
d = resp["detail"]
ok = (d["items"] == 1 and d["keys"] == [{"pk": {"S": "big2"}, "sk": {"S": "x"}}]
      and re.fullmatch("[0-9a-f]{64}", d["body_sha256"]) and "body" not in d
      and "aws-cli/" in req["detail"]["user_agent"])
empty = [r for r in recs if r["kind"] == "response" and r["op"] == "GetItem"][0]["detail"]
sys.exit(0 if ok and empty["items"] == 0 and "keys" not in empty else 1)' < <("$BG" audit tail -n 200 --grant "$G" --json)
# What the gateway runs by is on the record: at start, and after each SIGHUP reload.
kill -HUP "$E2E_GATEWAY_PID"
for i in $(seq 50); do grep -q "runbooks reloaded" "$dir/gateway.log" && break; sleep 0.1; done
e2e_check "config records: the config file's SHA-256 at start, the runbooks' hashes, the sinks; a reload after SIGHUP" "$PY" -c 'import hashlib, json, sys
recs = [r for r in json.load(sys.stdin)["records"] if r["kind"] == "config"]
start = [r for r in recs if r["detail"]["event"] == "start"][-1]["detail"]
reload = [r for r in recs if r["detail"]["event"] == "runbooks-reload"]
want = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
ok = (start["config"] == {"path": sys.argv[1], "sha256": want} and start["policy"] is None
      and len(start["runbooks"]["templates"]) >= 1
      and all(len(t["hash"]) == 64 for t in start["runbooks"]["templates"])
      and [x["required"] for x in start["sinks"]] == [True, False] and len(reload) == 1
      and reload[0]["actor"] == "gateway")
sys.exit(0 if ok else 1)' "$dir/conf/serve.yaml" < <("$BG" audit tail -n 1000 --json)
sleep 1.5 # the timer's checkpoint
head_seq=$(newest)
copy=("$dir/conf/audit/audit.jsonl"*)
e2e_check "the required copy holds every record ($head_seq)" wait_lines "$head_seq" "${copy[@]}"
copy=($(ls "$dir/conf/audit/audit.jsonl".* | sort -t. -k3 -n) "$dir/conf/audit/audit.jsonl")
e2e_check "...rotated past 1 MB into audit.jsonl.1, ... (${#copy[@]} files)" [ "${#copy[@]}" -ge 2 ]
e2e_check "...each piece within 1 MB but for one record" "$PY" -c 'import os, sys
sys.exit(0 if all(os.path.getsize(f) < 1048576 + 700000 for f in sys.argv[1:]) else 1)' "${copy[@]}"
e2e_check "...mode 0600" [ "$(stat -c %a "$dir/conf/audit/audit.jsonl")" = 600 ]
"$BG" audit pubkey >"$dir/pub.pem"
cat "${copy[@]}" >"$dir/joined.jsonl"
e2e_expect_rc "the required copy verifies on its own -> 0" 0 "$BG" audit verify --file "$dir/joined.jsonl" \
	--pubkey "$dir/pub.pem" --json
e2e_check "...whole from seq 1, with signed checkpoints" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if o["ok"] and not o["partial"] and o["first_seq"] == 1 and o["checkpoints"] >= 2 else 1)' "$e2e_out"
e2e_check "...and the store verifies against it (--reference)" "$BG" audit verify --pubkey "$dir/pub.pem" \
	--reference "$dir/joined.jsonl"
e2e_check "...its lines are the export's records" "$PY" -c 'import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in sys.stdin]
b = {r["seq"]: r for r in b}
sys.exit(0 if all(b.get(r["seq"]) == r for r in a) and len(a) >= 10 else 1)' "$dir/joined.jsonl" \
	< <("$BG" audit export)

e2e_expect_rc "status -> 0" 0 "$BG" status
e2e_check "status shows the required sink up" grep -q "audit.jsonl (required): up, 0 behind" <<<"$e2e_out"
e2e_check "...and the best-effort one DOWN with its lag" grep -Eq "copy.jsonl \(best effort\): DOWN, [1-9][0-9]* behind" <<<"$e2e_out"
e2e_check "...and why" grep -q "cannot open it: No such file or directory" <<<"$e2e_out"
e2e_expect_rc "status --json -> 0" 0 "$BG" status --json
e2e_check "status --json: head_seq and each sink's lag" "$PY" -c 'import json, sys
a = json.loads(sys.argv[1])["audit"]
s = {x["name"].split("/")[-1]: x for x in a["sinks"]}
r, b = s["audit.jsonl"], s["copy.jsonl"]
sys.exit(0 if a["head_seq"] >= 10 and r["required"] and r["up"] and b["lag"] >= 10 and not b["up"]
         and b["delivered_seq"] == 0 and b["failures"] >= 1 and b["type"] == "jsonl" else 1)' "$e2e_out"
metrics=$(curl -s -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/api/v1/metrics")
e2e_check "metrics: the lag per sink (Prometheus text)" grep -Eq '^breakglass_audit_sink_lag_records\{sink="jsonl:[^"]*copy.jsonl",type="jsonl",required="false"\} [1-9]' <<<"$metrics"
e2e_check "metrics: up 0 for the sink that is down" grep -Eq '^breakglass_audit_sink_up\{sink="jsonl:[^"]*copy.jsonl".*\} 0$' <<<"$metrics"
e2e_check "metrics: HELP and TYPE lines" grep -q '^# TYPE breakglass_audit_sink_lag_records gauge' <<<"$metrics"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RT" "$BREAKGLASS_URL/api/v1/metrics")
e2e_check "metrics are refused to a responder (403)" [ "$code" = 403 ]
e2e_check "GET /metrics (Prometheus' default path) serves the same" eval 'curl -s -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/metrics" | grep -q "^breakglass_audit_sink_lag_records{"'
code=$(curl -s -o /dev/null -w '%{http_code}' "$BREAKGLASS_URL/metrics")
e2e_check "...and without a token is refused (401)" [ "$code" = 401 ]
curl -s -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/metrics" >"$dir/metrics.txt"
e2e_check "the metrics pass promtool check metrics (Prometheus' own linter)" eval 'promtool check metrics <"$dir/metrics.txt" >"$dir/promtool.out" 2>&1 || { cat "$dir/promtool.out" >&2; false; }'
e2e_check "...requests by operation and decision, latency histograms, grants, audit batches" "$PY" -c 'import re, sys
t = open(sys.argv[1]).read()
need = [r"^breakglass_requests_total\{operation=\"GetItem\",decision=\"allow\"\} [1-9]",
        r"^breakglass_requests_total\{operation=\"PutItem\",decision=\"allow\"\} 5$",
        r"^breakglass_gateway_added_seconds_bucket\{le=\"\+Inf\"\} [1-9]",
        r"^breakglass_upstream_seconds_count [1-9]", r"^breakglass_live_grants 1$",
        r"^breakglass_pending_requests 0$", r"^breakglass_overdue_reviews 0$",
        r"^breakglass_audit_batches_total [1-9]", r"^breakglass_audit_commit_seconds_count [1-9]"]
miss = [n for n in need if not re.search(n, t, re.M)]
print(miss, file=sys.stderr)
sys.exit(1 if miss else 0)' "$dir/metrics.txt"

# --- 2. the backlog survives a restart -----------------------------------------------------------
kill -TERM "$E2E_GATEWAY_PID"
wait "$E2E_GATEWAY_PID" 2>/dev/null
mkdir -p "$dir/later"
e2e_serve "$dir" || e2e_fail "serve again" "$(tail -n 5 "$dir/gateway.log")"
head_seq=$(newest)
e2e_check "after the restart the backlog arrives whole ($head_seq records)" wait_lines "$head_seq" "$dir/later/copy.jsonl"
e2e_expect_rc "...and verifies on its own -> 0" 0 "$BG" audit verify --file "$dir/later/copy.jsonl" --pubkey "$dir/pub.pem" --json
e2e_check "...from seq 1" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); sys.exit(0 if o["ok"] and o["first_seq"] == 1 else 1)' "$e2e_out"
e2e_expect_rc "GetItem after the restart -> 0" 0 ddb get-item --table-name orders --key '{"pk":{"S":"o1"},"sk":{"S":"x"}}'
kill -TERM "$E2E_GATEWAY_PID"
wait "$E2E_GATEWAY_PID" 2>/dev/null
e2e_serve "$dir" || e2e_fail "serve a third time" "$(tail -n 5 "$dir/gateway.log")"
sleep 1
copy=($(ls "$dir/conf/audit/audit.jsonl".* | sort -t. -k3 -n) "$dir/conf/audit/audit.jsonl")
cat "${copy[@]}" >"$dir/joined.jsonl"
e2e_check "no record was written twice to either copy, all in order" "$PY" -c 'import json, sys
for f in sys.argv[1:]:
    seqs = [json.loads(l)["seq"] for l in open(f)]
    if seqs != list(range(1, len(seqs) + 1)):
        sys.exit(1)' "$dir/later/copy.jsonl" "$dir/joined.jsonl"
# The grant's credentials, for part 3 (where fetching them would itself be refused).
BREAKGLASS_TOKEN=$RT "$BG" creds "$G" --format env >"$dir/creds.env" || e2e_fail "creds" "$(cat "$dir/creds.env")"
e2e_note_secret "$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$dir/creds.env" | tr -d "'\"")"
e2e_note_secret "$(sed -n 's/^export AWS_SESSION_TOKEN=//p' "$dir/creds.env" | tr -d "'\"")"
kill -TERM "$E2E_GATEWAY_PID"
wait "$E2E_GATEWAY_PID" 2>/dev/null

# --- 3. a required sink that cannot take records refuses requests ------------------------------
cat >"$dir/conf/full.yaml" <<EOF
audit:
  sinks:
    - {type: jsonl, path: /dev/full, required: true}
EOF
E2E_SERVE_ARGS=(--config "$dir/conf/full.yaml")
e2e_serve "$dir" || e2e_fail "serve with /dev/full" "$(tail -n 5 "$dir/gateway.log")"
before=$(newest)
# The AWS CLI straight at the gateway with the grant's credentials (no retries: each
# attempt would be refused alike).
direct() { (set -a; source "$dir/creds.env"; AWS_MAX_ATTEMPTS=1 /usr/bin/aws --endpoint-url "$BREAKGLASS_URL" --region us-east-1 dynamodb "$@"); }
direct get-item --table-name orders --key '{"pk":{"S":"o1"},"sk":{"S":"x"}}' >"$dir/refused.out" 2>"$dir/refused.err"
e2e_check "GetItem with the required sink failing is refused" [ $? -ne 0 ]
e2e_check "...saying the audit is unavailable (fail closed)" grep -q "audit log is unavailable" "$dir/refused.err"
printf '{"pk":{"S":"never"},"sk":{"S":"x"}}' >"$dir/never.json"
direct put-item --table-name orders --item "file://$dir/never.json" >/dev/null 2>"$dir/never.err"
e2e_check "a PutItem is refused too" grep -q "audit log is unavailable" "$dir/never.err"
e2e_expect_rc "fetching credentials is refused too (its record cannot be copied)" 3 \
	env BREAKGLASS_TOKEN="$RT" "$BG" creds "$G" --format env
e2e_check "...saying the action was not done" grep -q "audit_unavailable" <<<"$e2e_out$e2e_err"
e2e_aws_direct dynamodb get-item --table-name orders --key '{"pk":{"S":"never"},"sk":{"S":"x"}}' >"$dir/never.out" 2>&1
e2e_check "...and its item never reached DynamoDB" [ ! -s "$dir/never.out" ]
e2e_check "the refused requests' records are in the store all the same" [ "$(newest)" -gt "$before" ]
e2e_expect_rc "status -> 0" 0 "$BG" status
e2e_check "status: the sink is DOWN and says why" grep -q "No space left on device" <<<"$e2e_out"
e2e_check "the gateway's log says so" grep -q "audit sink jsonl:/dev/full: .*No space left on device" "$dir/gateway.log"
kill -TERM "$E2E_GATEWAY_PID"
wait "$E2E_GATEWAY_PID" 2>/dev/null

# --- 4. configuration mistakes ------------------------------------------------------------------
bad() { # bad NAME YAML-SINK-LINE EXPECTED-MESSAGE
	printf 'audit:\n  sinks:\n    - %s\n' "$2" >"$dir/conf/bad.yaml"
	e2e_expect_rc "$1 -> 2" 2 env AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s "$BG" serve \
		--listen "127.0.0.1:$(e2e_free_port)" --upstream "$E2E_DYNALITE_URL" --data "$dir/data" \
		--config "$dir/conf/bad.yaml"
	e2e_check "...$3" grep -qF "$3" <<<"$e2e_err"
}
bad "an unknown type" "{type: kafka, required: true}" "bad.yaml:3: unknown audit sink type 'kafka'"
bad "a jsonl sink without a path" "{type: jsonl, required: true}" "bad.yaml:3: a jsonl sink needs a path"
bad "a setting of another type" "{type: jsonl, path: a.jsonl, address: 'tcp://x:1', required: true}" \
	"address is not a setting of a jsonl sink"
bad "a rotation size below 1 MB" "{type: jsonl, path: a.jsonl, max_bytes: 1000, required: true}" "max_bytes"
bad "required: yes" "{type: jsonl, path: a.jsonl, required: yes}" "required"
printf 'not a record\n' >"$dir/other.txt"
printf 'audit:\n  sinks:\n    - {type: jsonl, path: %s, required: false}\n' "$dir/other.txt" >"$dir/conf/bad.yaml"
e2e_expect_rc "a file that is not a trail -> 4" 4 env AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s "$BG" serve \
	--listen "127.0.0.1:$(e2e_free_port)" --upstream "$E2E_DYNALITE_URL" --data "$dir/data" --config "$dir/conf/bad.yaml"
e2e_check "...is not an audit record" grep -qF "is not an audit record" <<<"$e2e_err"
e2e_check "...and that file is left as it was" [ "$(cat "$dir/other.txt")" = "not a record" ]
e2e_finish
