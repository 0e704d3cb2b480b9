#!/usr/bin/env bash
# test_notify.sh - notifications out (issue 8, point 5) with a gateway of its own (its own
# store and a policy file with two notify targets, one per format) and a loopback receiver
# (a small Python http.server) that checks each signed body's HMAC and timestamp the way
# our generic webhook is checked, and records what arrived.
#   1. incident -> request -> approve -> revoke, and a denied request: each event arrives
#      once at each target, the JSON ones validly signed; the request's carries the
#      criteria, the runbook's exact expressions and the approve command; the Slack ones
#      are mrkdwn blocks.
#   2. receiver down: a request's notification is queued and its failed attempts audited;
#      the gateway restarts (SIGTERM, same data directory), the receiver comes back, and
#      the notification arrives: none is lost.
# Everything started here is stopped by PID.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[notify] "
BG=$BREAKGLASS_BIN

dir=$(e2e_tmpdir) || exit 1
rport=$(e2e_free_port)
SECRET=notify-test-secret-$RANDOM$RANDOM
printf '%s\n' "$SECRET" >"$dir/siem.key"
chmod 600 "$dir/siem.key"
e2e_note_secret "$SECRET"
cat >"$dir/policy.yaml" <<EOF
criteria:
  - reason: {min_length: 10}
  - ticket: {pattern: "INC-[0-9]+"}
notify:
  - {name: chat, url: "http://127.0.0.1:$rport/slack", format: slack}
  - name: siem
    url: http://127.0.0.1:$rport/json
    format: json
    secret_file: siem.key
EOF

# The receiver: every POST is one line of JSON in $dir/arrived.jsonl:
# {path, event, valid (the signature and timestamp check, JSON target only), body}.
cat >"$dir/receiver.py" <<'PY'
import hashlib, hmac, json, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, secret, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ts = self.headers.get("X-Breakglass-Timestamp", "")
        sig = self.headers.get("X-Breakglass-Signature", "")
        valid = None
        if self.path == "/json":
            want = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            fresh = ts.isdigit() and abs(time.time() - int(ts)) <= 300
            valid = fresh and any(hmac.compare_digest("v1=" + want, s.strip())
                                  for s in sig.split(","))
        rec = {"path": self.path, "event": self.headers.get("X-Breakglass-Event"),
               "valid": valid, "body": json.loads(body)}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass

HTTPServer(("127.0.0.1", port), H).serve_forever()
PY

RECV_PID=""
start_receiver() {
	"$PY" "$dir/receiver.py" "$rport" "$SECRET" "$dir/arrived.jsonl" >>"$dir/receiver.log" 2>&1 &
	RECV_PID=$!
	e2e_pids+=("$RECV_PID")
	e2e_wait_port "$rport" "$RECV_PID" 10
}
stop_pid() { # TERM, then wait for it to go
	local pid=$1 n
	kill -TERM "$pid" 2>/dev/null
	for ((n = 0; n < 100; n++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
}

# arrived FILTER-PYTHON-EXPR: how many records match (r is one record, b its body).
arrived() {
	"$PY" -c 'import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line); b = r["body"]
        if eval(sys.argv[2]): n += 1
except FileNotFoundError:
    pass
print(n)' "$dir/arrived.jsonl" "$1"
}
# wait_arrived FILTER N SECONDS: true once N records match.
wait_arrived() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(arrived "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

start_receiver || e2e_fail "the receiver" "did not start"
e2e_init_store "$dir" || e2e_fail "init" "breakglass init failed"
E2E_POLICY=$dir/policy.yaml e2e_serve "$dir" || e2e_fail "serve" "$(tail -n 5 "$dir/gateway.log")"
e2e_note_secret "$E2E_ADMIN_TOKEN"
AT=$E2E_ADMIN_TOKEN AS=$E2E_ADMIN_SECRET
r=$(e2e_new_user_as "$AT" "$AS" nresp responder) || e2e_fail "responder" "$r"
a=$(e2e_new_user_as "$AT" "$AS" nappr approver) || e2e_fail "approver" "$a"
RT=$(printf '%s' "$r" | e2e_json token) RS=$(printf '%s' "$r" | e2e_json totp_secret)
PT=$(printf '%s' "$a" | e2e_json token) PS=$(printf '%s' "$a" | e2e_json totp_secret)
e2e_note_secret "$RT"
e2e_note_secret "$PT"
as_resp() { BREAKGLASS_TOKEN=$RT "$BG" "$@"; }

# --- 1. the workflow's events ---------------------------------------------------------------
e2e_expect_rc "an incident -> 0" 0 as_resp incident open --id INC-41 --severity 2 --title "orders stuck"
e2e_expect_rc "a request -> 0" 0 as_resp request --incident INC-41 --runbook orders-of-customer \
	--reason "customer 42 sees stuck orders" --ticket INC-41 --for 10m --otp "$(e2e_otp "$RS")" --json
R1=$(printf '%s' "$e2e_out" | e2e_json id)
e2e_expect_rc "approved -> 0" 0 env BREAKGLASS_TOKEN="$PT" "$BG" approve "$R1" --otp "$(e2e_otp "$PS")"
e2e_expect_rc "revoked -> 0" 0 as_resp revoke "$R1"
e2e_expect_rc "another request -> 0" 0 as_resp request --incident INC-41 --runbook orders-of-customer \
	--reason "customer 44 sees stuck orders" --ticket INC-41 --for 10m --otp "$(e2e_otp "$RS")" --json
RD=$(printf '%s' "$e2e_out" | e2e_json id)
e2e_expect_rc "denied -> 0" 0 env BREAKGLASS_TOKEN="$PT" "$BG" deny "$RD" --otp "$(e2e_otp "$PS")" \
	--reason "use the status runbook"
for ev in incident request approval revocation denial; do
	e2e_check "$ev: arrives at the JSON target" wait_arrived "r['path'] == '/json' and b['event'] == '$ev'" 1 15
	e2e_check "$ev: arrives at the Slack target" wait_arrived "r['path'] == '/slack' and r['event'] == '$ev'" 1 15
done
sleep 1.5 # a second pass would have sent any duplicate by now
e2e_check "each event arrived once per target, and nothing else" "$PY" -c 'import collections, json, sys
c = collections.Counter((json.loads(l)["path"], json.loads(l)["event"]) for l in open(sys.argv[1]))
want = {(p, e): 2 if e == "request" else 1 for p in ("/json", "/slack")
        for e in ("incident", "request", "approval", "revocation", "denial")}
assert dict(c) == want, c' "$dir/arrived.jsonl"
e2e_check "every JSON notification has a valid signature and a fresh timestamp" \
	test "$(arrived "r['path'] == '/json' and r['valid'] is not True")" = 0
e2e_check "the request's notification is what an approver decides on" "$PY" -c 'import json, sys
b = [json.loads(l)["body"] for l in open(sys.argv[1]) if json.loads(l)["path"] == "/json" and json.loads(l)["body"]["event"] == "request"][0]
rid = sys.argv[2]
assert isinstance(b["id"], int) and b["at"].endswith("Z"), b
assert b["approve_command"] == "breakglass approve %s --otp CODE" % rid, b["approve_command"]
rq = b["request"]
assert rq["id"] == rid and rq["requester"] == "nresp" and rq["ticket"] == "INC-41", rq
assert rq["duration_seconds"] == 600 and rq["reason"] == "customer 42 sees stuck orders", rq
assert [c["check"] for c in rq["criteria"]] == ["reason", "ticket"] and all(c["ok"] for c in rq["criteria"]), rq["criteria"]
rb = rq["runbooks"][0]
assert rb["id"] == "orders-of-customer" and rb["operation"] == "Query" and rb["table"] == "orders", rb
assert ":" in rb["key_condition"] and "aws dynamodb query" in rb["command"], rb
assert b["incident"] == {"id": "INC-41", "title": "orders stuck", "severity": 2, "open": True}, b["incident"]
assert b["approvers"] == ["nappr"] and b["gateway"].startswith("http://127.0.0.1:"), b' "$dir/arrived.jsonl" "$R1"
e2e_check "the approval carries the grant, the revocation who revoked it, the denial why" "$PY" -c 'import json, sys
bs = {json.loads(l)["body"]["event"]: json.loads(l)["body"] for l in open(sys.argv[1]) if json.loads(l)["path"] == "/json"}
rid = sys.argv[2]
assert bs["approval"]["approved_by"] == "nappr" and bs["approval"]["grant"]["id"] == rid, bs["approval"]
assert bs["revocation"]["revoked_by"] == "nresp" and bs["revocation"]["grant"]["id"] == rid, bs["revocation"]
assert bs["denial"]["denied_by"] == "nappr" and bs["denial"]["reason"] == "use the status runbook", bs["denial"]
assert bs["denial"]["request"]["id"] == sys.argv[3] and bs["denial"]["request"]["state"] == "denied", bs["denial"]
assert all("secret" not in json.dumps(b).lower() for b in bs.values())' "$dir/arrived.jsonl" "$R1" "$RD"
e2e_check "the Slack body is text and mrkdwn blocks, with the approve command" "$PY" -c 'import json, sys
b = [json.loads(l)["body"] for l in open(sys.argv[1]) if json.loads(l)["path"] == "/slack" and json.loads(l)["event"] == "request"][0]
assert b["text"].startswith("nresp asks for break-glass access"), b["text"]
assert all(x["type"] == "section" and x["text"]["type"] == "mrkdwn" for x in b["blocks"]), b
t = "\n".join(x["text"]["text"] for x in b["blocks"])
assert "`breakglass approve %s --otp CODE`" % sys.argv[2] in t and ":white_check_mark: ticket" in t, t
assert "key_condition:" in t, t' "$dir/arrived.jsonl" "$R1"
e2e_expect_rc "the audit log -> 0" 0 env BREAKGLASS_TOKEN="$AT" "$BG" audit tail --json --limit 1000
e2e_check "each delivery is audited (allow, HTTP 200, target and event; never the secret)" "$PY" -c 'import json, sys
recs = [r for r in json.loads(sys.argv[1])["records"] if r["kind"] == "notify"]
ok = [(r["detail"]["target"], r["detail"]["event"]) for r in recs if r["decision"] == "allow" and r["reason"] == "HTTP 200"]
assert sorted(ok) == sorted((t, e) for t in ("chat", "siem") for e in ("incident", "request", "request", "approval", "revocation", "denial")), ok
assert sys.argv[2] not in sys.argv[1]' "$e2e_out" "$SECRET"

# --- 2. receiver down, gateway restarted: nothing lost ---------------------------------------
stop_pid "$RECV_PID"
e2e_expect_rc "a request while the receiver is down -> 0" 0 as_resp request --incident INC-41 \
	--runbook orders-of-customer --reason "customer 43 sees stuck orders too" --ticket INC-41 \
	--for 5m --otp "$(e2e_otp "$RS")" --json
R2=$(printf '%s' "$e2e_out" | e2e_json id)
failed_attempts() {
	BREAKGLASS_TOKEN=$AT "$BG" audit tail --json --limit 1000 | "$PY" -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin)["records"] if r["kind"] == "notify" and r["decision"] == "deny" and r["grant_id"] == sys.argv[1]))' "$R2"
}
n=0
for _ in $(seq 1 50); do
	n=$(failed_attempts)
	[ "$n" -ge 2 ] && break
	sleep 0.2
done
e2e_check "the failed attempts are audited (deny, with curl's error)" test "$n" -ge 2
e2e_check "...and nothing arrived meanwhile" test "$(arrived "b.get('request', {}).get('id') == '$R2'")" = 0
stop_pid "$E2E_GATEWAY_PID"
e2e_check "the gateway stopped on SIGTERM" eval '! kill -0 "$E2E_GATEWAY_PID" 2>/dev/null'
E2E_POLICY=$dir/policy.yaml e2e_serve "$dir" || e2e_fail "serve again" "$(tail -n 5 "$dir/gateway.log")"
sleep 1
e2e_check "...restarted with the receiver still down: still nothing" test "$(arrived "b.get('request', {}).get('id') == '$R2'")" = 0
start_receiver || e2e_fail "the receiver again" "did not start"
e2e_check "after the restart the queued notification arrives at the JSON target, signed" \
	wait_arrived "r['path'] == '/json' and r['valid'] is True and b['event'] == 'request' and b['request']['id'] == '$R2'" 1 30
e2e_check "...and at the Slack target" \
	wait_arrived "r['path'] == '/slack' and '$R2' in b['text'] + json.dumps(b['blocks'])" 1 30
sleep 1.5
e2e_check "...once each" test "$(arrived "b.get('request', {}).get('id') == '$R2' or '$R2' in json.dumps(b.get('blocks', ''))")" = 2
e2e_expect_rc "the audit log after the restart -> 0" 0 env BREAKGLASS_TOKEN="$AT" "$BG" audit tail --json --limit 1000
e2e_check "...records the delivery" "$PY" -c 'import json, sys
recs = json.loads(sys.argv[1])["records"]
assert any(r["kind"] == "notify" and r["decision"] == "allow" and r["grant_id"] == sys.argv[2] for r in recs)' "$e2e_out" "$R2"
stop_pid "$E2E_GATEWAY_PID"
e2e_check "no secret in the gateway's log" eval '! grep -qF "$SECRET" "$dir/gateway.log"'
e2e_check "no sanitizer report in this gateway's log (it has stopped)" eval \
	'! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error" "$dir/gateway.log"'

e2e_finish
