#!/usr/bin/env bash
# test_workflow.sh - issue 8's whole flow on a gateway of its own with a policy file,
# through the real CLI and HTTP and a real Prometheus Alertmanager (Debian's): an alert
# posted to Alertmanager's API reaches /hooks/alertmanager and opens an incident (SEV1
# from its severity label, its service from its label); a request naming each failing
# criterion; a request with MFA approved by another user; a runbook query through the
# grant; --wait with the approval in parallel; solo break-glass refused before solo_after
# and granted after it (the review becomes mandatory); an approval after the request
# expired; the alert resolving; a forged Alertmanager delivery. Codes from oathtool.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[workflow] "
BG=$BREAKGLASS_BIN
AM=$(command -v prometheus-alertmanager || true)
[ -n "$AM" ] || e2e_fail "prometheus-alertmanager is installed" "not found (scripts/install-deps.sh)"
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir)
mkdir -p "$dir/secrets"
head -c 24 /dev/urandom | base64 >"$dir/secrets/am.token"
chmod 600 "$dir/secrets/am.token"
cat >"$dir/oncall.yaml" <<'YAML'
rotations:
  - {name: db-primary, start: 2026-01-01T00:00:00Z, shift: 7d, members: [wf-resp]}
  - {name: db-secondary, start: 2026-01-01T00:00:00Z, shift: 7d, members: [wf-resp3]}
YAML
cat >"$dir/policy.yaml" <<'YAML'
criteria:
  - incident_open: {max_severity: 2}
  - alert_firing_within: {minutes: 30}
  - requester_on_call: {schedule_file: oncall.yaml}
  - reason: {min_length: 20}
  - ticket: {pattern: "^INC-[0-9]+$"}
  - runbook_allowed_for_service: true
  - max_duration: {minutes: 60}
approval:
  approvers: 1
  pending_expires: 20s
  solo_after: 6s
alerts:
  alertmanager: {bearer_token_file: secrets/am.token}
YAML

# --- the gateway, with the policy -----------------------------------------------------------
"$BG" init --data "$dir/data" --admin wf-admin --json >"$dir/admin.json" 2>"$dir/init.log" ||
	e2e_fail "init" "$(cat "$dir/init.log")"
AT=$(e2e_json token <"$dir/admin.json")
AS=$(e2e_json totp_secret <"$dir/admin.json")
e2e_note_secret "$AT"
# A policy with a mistake stops serve at start, naming the file and line.
printf 'criteria:\n  - reason: {min_length: 20}\n  - incident_open: {max_sevrity: 2}\n' >"$dir/broken.yaml"
e2e_expect_rc "serve with a broken policy -> 4" 4 env AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
	"$BG" serve --listen "127.0.0.1:$(e2e_free_port)" --upstream "$E2E_DYNALITE_URL" --data "$dir/data" --policy "$dir/broken.yaml"
e2e_check "...naming the line and the key" grep -q "broken.yaml:3: .*max_sevrity" <<<"$e2e_err"
printf 'alerts:\n  generic: {secret_file: secrets/none.secret}\n' >"$dir/nosecret.yaml"
e2e_expect_rc "serve with a missing secret file -> 4" 4 env AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
	"$BG" serve --listen "127.0.0.1:$(e2e_free_port)" --upstream "$E2E_DYNALITE_URL" --data "$dir/data" --policy "$dir/nosecret.yaml"
e2e_check "...naming the line and the file" grep -q "nosecret.yaml:2: .*secrets/none.secret: No such file" <<<"$e2e_err"

gwport=$(e2e_free_port)
env -u BREAKGLASS_TOKEN AWS_ACCESS_KEY_ID=gateway-upstream-key AWS_SECRET_ACCESS_KEY=gateway-upstream-secret \
	AWS_REGION=us-east-1 "$BG" serve --listen "127.0.0.1:$gwport" --upstream "$E2E_DYNALITE_URL" \
	--data "$dir/data" --public-url "http://127.0.0.1:$gwport" --runbooks "$REPO_ROOT/runbooks" \
	--policy "$dir/policy.yaml" >"$dir/gateway.log" 2>&1 &
e2e_pids+=($!)
e2e_wait_port "$gwport" "$!" 20 || e2e_fail "the gateway starts with the policy" "$(tail -n 5 "$dir/gateway.log")"
export BREAKGLASS_URL="http://127.0.0.1:$gwport"

user() { e2e_new_user_as "$AT" "$AS" "$1" "$2" || e2e_fail "user add $1" "failed"; }
u=$(user wf-resp responder) RT=$(e2e_json token <<<"$u") RS=$(e2e_json totp_secret <<<"$u")
u=$(user wf-resp2 responder) R2T=$(e2e_json token <<<"$u")
u=$(user wf-appr approver) PT=$(e2e_json token <<<"$u") PS=$(e2e_json totp_secret <<<"$u")
u=$(user wf-resp3 responder) R3T=$(e2e_json token <<<"$u") R3S=$(e2e_json totp_secret <<<"$u")
for t in "$RT" "$R2T" "$PT" "$R3T"; do e2e_note_secret "$t"; done
as() { local t=$1; shift; BREAKGLASS_TOKEN=$t "$BG" "$@"; }

# --- a real Alertmanager, its receiver the gateway ------------------------------------------
amport=$(e2e_free_port)
cat >"$dir/am.yml" <<YAML
route:
  receiver: breakglass
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: breakglass
    webhook_configs:
      - url: http://127.0.0.1:$gwport/hooks/alertmanager
        send_resolved: true
        max_alerts: 64
        http_config:
          authorization:
            credentials_file: $dir/secrets/am.token
YAML
"$AM" --config.file="$dir/am.yml" --storage.path="$dir/am-data" \
	--web.listen-address="127.0.0.1:$amport" --cluster.listen-address= >"$dir/am.log" 2>&1 &
e2e_pids+=($!)
e2e_wait_port "$amport" "$!" 20 || e2e_fail "Alertmanager starts" "$(tail -n 5 "$dir/am.log")"

post_alert() { # $1: startsAt or endsAt JSON fragment
	curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$amport/api/v2/alerts" \
		-H 'Content-Type: application/json' -d "[{\"labels\": {\"alertname\": \"OrdersThrottled\",
		\"severity\": \"critical\", \"service\": \"orders\", \"table\": \"orders\"}, \"annotations\":
		{\"summary\": \"orders is throttled\"}, $1}]"
}
incidents() { as "$RT" incident list --all --json; }
e2e_check "an alert posted to Alertmanager's API -> 200" test "$(post_alert "\"startsAt\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"")" = 200
INC=""
for _ in $(seq 1 100); do
	INC=$(incidents | "$PY" -c 'import json, sys
l = [i for i in json.load(sys.stdin)["incidents"] if i["source"] == "alertmanager"]
print(l[0]["id"] if l else "")')
	[ -n "$INC" ] && break
	sleep 0.2
done
e2e_check "Alertmanager's webhook opened an incident" test -n "$INC"
e2e_expect_rc "incident show -> 0" 0 as "$RT" incident show "$INC" --json
e2e_check "SEV1 from the severity label, service orders, the alert firing" "$PY" -c 'import json, sys
i = json.loads(sys.argv[1])
assert (i["severity"], i["service"], i["state"], i["alerts_firing"]) == (1, "orders", "open", 1), i
a = i["alerts"][0]
assert (a["name"], a["state"], a["summary"]) == ("OrdersThrottled", "firing", "orders is throttled"), a' "$e2e_out"

# --- every failing criterion named (and no TOTP code spent on a refusal) ------------------------
e2e_expect_rc "a request failing four criteria -> 1" 1 as "$R2T" request --incident "$INC" \
	--runbook orders-of-customer --reason "too short" --ticket JIRA-9 --for 2h --otp 123456
e2e_check "...not on call" grep -q "wf-resp2 is not on call" <<<"$e2e_err"
e2e_check "...the reason too short" grep -q "reason is 9 characters; at least 20" <<<"$e2e_err"
e2e_check "...the ticket's pattern" grep -qi "ticket" <<<"$e2e_err"
e2e_check "...the duration" grep -q "requested 2h; the policy allows at most 1h" <<<"$e2e_err"
e2e_expect_rc "the refused request is kept -> 0" 0 as "$PT" requests --json
e2e_check "...with every criterion's result" "$PY" -c 'import json, sys
r = [x for x in json.loads(sys.argv[1])["requests"] if x["requester"] == "wf-resp2"][0]
assert r["state"] == "refused", r
res = {c["check"]: c["ok"] for c in r["criteria"]}
assert res == {"incident_open": True, "alert_firing_within": True, "requester_on_call": False,
               "reason": False, "ticket": False, "runbook_allowed_for_service": True,
               "max_duration": False}, res' "$e2e_out"
e2e_expect_rc "a runbook not for the incident's service -> 1" 1 as "$RT" request --incident "$INC" \
	--runbook newest-events --reason "customer 42 sees three stuck orders" --ticket INC-7 --for 10m --otp 123456
e2e_check "...named" grep -q "runbook_allowed_for_service\|not allowed for\|events" <<<"$e2e_err"

# --- request with MFA, approval by another user, the runbook through the grant ------------------
REQ=(--incident "$INC" --runbook orders-of-customer --reason "customer 42 sees three stuck orders" --ticket INC-7 --for 10m)
e2e_expect_rc "a request meeting every criterion -> 0" 0 as "$RT" request "${REQ[@]}" --otp "$(e2e_otp "$RS")" --json
R1=$(e2e_json id <<<"$e2e_out")
e2e_check "pending, seven criteria passed" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["state"] == "pending" and len(r["criteria"]) == 7 and all(c["ok"] for c in r["criteria"]), r' "$e2e_out"
e2e_expect_rc "solo before solo_after -> 1" 1 as "$RT" request --incident "$INC" --runbook orders-of-customer --solo --otp 123456
e2e_check "...with how long to wait" grep -q "solo break-glass is allowed once the request has waited 6 s" <<<"$e2e_err"
e2e_expect_rc "approved by wf-appr -> 0" 0 as "$PT" approve "$R1" --otp "$(e2e_otp "$PS")" --json
e2e_check "the grant is made" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1]); assert r["state"] == "approved" and r["grant"]["status"] == "active", r' "$e2e_out"
e2e_expect_rc "the runbook through the grant -> 0" 0 as "$RT" run orders-of-customer --grant "$R1" --param customer=CUSTOMER#42 --json
e2e_check "three stuck orders" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); assert len(o.get("Items") or o.get("items") or []) == 3, o' "$e2e_out"

# --- more time needs a new approval -----------------------------------------------------------------
e2e_expect_rc "extend the grant -> 0" 0 as "$RT" extend "$R1" --for 30m --json
RE=$(e2e_json id <<<"$e2e_out")
e2e_check "a new request for the same incident and runbooks, pending" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["state"] == "pending" and r["id"] != sys.argv[2] and r["incident"] == sys.argv[3], r
assert [x["id"] for x in r["runbooks"]] == ["orders-of-customer"], r' "$e2e_out" "$R1" "$INC"
e2e_expect_rc "approved -> 0" 0 as "$PT" approve "$RE" --otp "$(e2e_otp "$PS")" --json
e2e_check "the first grant now runs 30 minutes from now" "$PY" -c 'import json, sys, datetime
g = json.loads(sys.argv[1])["grant"]
exp = datetime.datetime.strptime(g["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
left = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
assert g["id"] == sys.argv[2] and 1700 < left <= 1800, (g, left)' "$e2e_out" "$R1"
e2e_expect_rc "only the grantee, a responder, asks for more time -> 1" 1 as "$PT" extend "$R1" --for 5m

# --- --wait, approved in parallel ----------------------------------------------------------------
code=$(e2e_otp "$R3S")
as "$R3T" request "${REQ[@]}" --otp "$code" --wait >"$dir/wait.out" 2>"$dir/wait.err" &
wpid=$!
RW=""
for _ in $(seq 1 100); do
	RW=$(as "$PT" requests --json | "$PY" -c 'import json, sys
r = [x for x in json.load(sys.stdin)["requests"] if x["requester"] == "wf-resp3" and x["state"] == "pending"]
print(r[0]["id"] if r else "")')
	[ -n "$RW" ] && break
	sleep 0.2
done
if [ -n "$RW" ]; then
	e2e_expect_rc "approve while the requester waits -> 0" 0 as "$PT" approve "$RW" --otp "$(e2e_otp "$PS")"
else
	e2e_fail "the waiting request is pending" "not found"
	kill "$wpid" 2>/dev/null
fi
wait "$wpid"
e2e_check "request --wait exits 0 once approved" test $? -eq 0
e2e_check "...and prints the grant" grep -q "^state  *approved$" "$dir/wait.out"

# --- solo break-glass after solo_after --------------------------------------------------------------
e2e_expect_rc "another request -> 0" 0 as "$RT" request "${REQ[@]}" --otp "$(e2e_otp "$RS")" --json
RS1=$(e2e_json id <<<"$e2e_out")
sleep 7
e2e_expect_rc "solo after solo_after -> 0" 0 as "$RT" request --incident "$INC" --runbook orders-of-customer --solo --otp "$(e2e_otp "$RS")" --json
e2e_check "approved solo, at once, as a grant" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["id"] == sys.argv[2] and r["state"] == "approved" and r["solo"] is True, r
assert r["grant"]["kind"] == "solo" and r["grant"]["status"] == "active", r["grant"]' "$e2e_out" "$RS1"
e2e_expect_rc "incident show -> 0" 0 as "$RT" incident show "$INC" --json
e2e_check "the incident's review is now mandatory" "$PY" -c 'import json, sys
assert json.loads(sys.argv[1])["review_required"] is True' "$e2e_out"

# --- an approval after the request expired ----------------------------------------------------------
e2e_expect_rc "a request left unanswered -> 0" 0 as "$R3T" request "${REQ[@]}" --otp "$(e2e_otp "$R3S")" --json
RX=$(e2e_json id <<<"$e2e_out")
sleep 21
e2e_expect_rc "requests shows it expired -> 0" 0 as "$PT" requests "$RX" --json
e2e_check "...state expired" "$PY" -c 'import json, sys; assert json.loads(sys.argv[1])["state"] == "expired"' "$e2e_out"
e2e_expect_rc "approving it now -> 1" 1 as "$PT" approve "$RX" --otp "$(e2e_otp "$PS")"
e2e_check "...it expired unanswered" grep -q "expired at .* unanswered" <<<"$e2e_err"

# --- a forged delivery, then the alert resolves ------------------------------------------------------
n_before=$(incidents | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["incidents"]))')
e2e_check "a delivery with the wrong bearer token -> 401" test "$(curl -s -o /dev/null -w '%{http_code}' \
	-X POST "$BREAKGLASS_URL/hooks/alertmanager" -H 'Authorization: Bearer wrong' -H 'Content-Type: application/json' \
	-d '{"version":"4","groupKey":"{}:{alertname=\"Forged\"}","status":"firing","receiver":"x","groupLabels":{},"commonLabels":{"severity":"critical"},"commonAnnotations":{},"externalURL":"","truncatedAlerts":0,"alerts":[{"status":"firing","labels":{"alertname":"Forged"},"annotations":{},"startsAt":"2026-12-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"f"}]}')" = 401
e2e_check "...and opened nothing" test "$(incidents | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["incidents"]))')" = "$n_before"
e2e_check "the alert ends in Alertmanager -> 200" test "$(post_alert "\"endsAt\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"")" = 200
ok=""
for _ in $(seq 1 100); do
	ok=$(as "$RT" incident show "$INC" --json | "$PY" -c 'import json, sys
i = json.load(sys.stdin); print("yes" if i["alerts_firing"] == 0 and i["alerts_resolved_at"] else "")')
	[ -n "$ok" ] && break
	sleep 0.2
done
e2e_check "the resolved alert reaches the incident, which stays open" test "$ok" = yes
e2e_expect_rc "status -> 0" 0 as "$AT" status
e2e_check "status: the policy, one open incident, the live grants" eval 'grep -q "^policy  *$dir/policy.yaml$" <<<"$e2e_out" && grep -q "^incidents  *1 open$" <<<"$e2e_out" && grep -q "^grants  *3 live$" <<<"$e2e_out" && grep -q "^requests  *0 pending$" <<<"$e2e_out"'
e2e_expect_rc "the audit log -> 0" 0 as "$AT" audit tail --json --limit 1000
e2e_check "alerts, the refused hook, requests and the solo are on the record" "$PY" -c 'import json, sys
k = [(r["kind"], r["actor"], r["decision"]) for r in json.loads(sys.argv[1])["records"]]
for want in [("alert", "alertmanager", "allow"), ("hook", "alertmanager", "deny"),
             ("request", "wf-resp2", "deny"), ("request", "wf-resp", "allow"),
             ("request-approve", "wf-appr", "allow"), ("request-solo", "wf-resp", "allow")]:
    assert want in k, (want, k)' "$e2e_out"
e2e_check "no secret in the gateway's log" eval '! grep -qF "$(cat "$dir/secrets/am.token")" "$dir/gateway.log"'

e2e_finish
