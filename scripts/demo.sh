#!/usr/bin/env bash
# demo.sh - a narrated break-glass incident, end to end, on this machine: the runbooks
# are linted and tested, a local DynamoDB (dynalite) stands in for production,
# `breakglass serve` guards it with a policy, an alert opens an incident, the on-call
# responder requests two runbooks (the trigger criteria are checked) and an approver
# approves with MFA, the responder runs one (with `breakglass run` and with the stock AWS
# CLI), a wider read and a Scan are refused, the write runbook fixes an order, the grant is
# revoked, and the audit trail shows all of it.
#
# Run by `make demo` (BREAKGLASS_BIN=build/release/breakglass). Everything binds to
# 127.0.0.1 on free ports and is stopped on exit. Exits 0 only if every step behaved as
# described: the demo doubles as a smoke test of the whole path.
set -uo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$REPO_ROOT/tests/e2e/lib.sh"
e2e_install_trap

: "${BREAKGLASS_BIN:=$REPO_ROOT/build/release/breakglass}"
if [ ! -x "$BREAKGLASS_BIN" ]; then
	echo "demo: $BREAKGLASS_BIN not found; run 'make demo' (or make, then this script)" >&2
	exit 1
fi
BG=$BREAKGLASS_BIN
WORK=$(e2e_tmpdir) || exit 1
E2E_STATE=$WORK/state
mkdir -p "$E2E_STATE"
export E2E_STATE

if [ -t 1 ]; then
	B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B="" D="" G="" R="" N=""
fi
step=0
heading() {
	step=$((step + 1))
	printf '\n%s== %d. %s%s\n' "$B" "$step" "$1" "$N"
}
say() { printf '%s\n' "$@"; }
# show WHO COMMAND...: prints the command as the person would type it (secrets elided).
show() {
	local who=$1
	shift
	printf '%s%s$ %s%s\n' "$D" "$who" "$*" "$N"
}
ok() { printf '%s   ok: %s%s\n' "$G" "$1" "$N"; }
die() {
	printf '%sdemo FAILED: %s%s\n' "$R" "$1" "$N" >&2
	[ -n "${E2E_GATEWAY_LOG:-}" ] && [ -f "$E2E_GATEWAY_LOG" ] && tail -n 15 "$E2E_GATEWAY_LOG" >&2
	exit 1
}
# show_cmd WHO ARGV...: like show, quoting each argument as a shell would need it, with
# the binaries' full paths shortened to their names.
show_cmd() {
	local who=$1 a line=""
	shift
	for a in "$@"; do
		case "$a" in
		"$BG") a=breakglass ;;
		"$AWS") a=aws ;;
		esac
		if [[ "$a" =~ ^[A-Za-z0-9_./:=,@+-]+$ ]]; then
			line+="$a "
		else
			case "$a" in
			*\'*) line+="$(printf '%q' "$a") " ;;
			*) line+="'$a' " ;;
			esac
		fi
	done
	show "$who" "${line% }"
}
# Text with a token-like secret shortened, for display.
elide() { printf '%.10s...' "$1"; }

say "${B}breakglass demo: a 2 a.m. incident on the orders table${N}"
say "Orders of customer 42 are stuck. The on-call responder, alice, has no production access."
say "breakglass gives her exactly the tested runbooks she needs, short-lived and audited, and"
say "closes the door after."

# ----------------------------------------------------------------------------------------
heading "The runbooks: reviewed, tested query templates (runbooks/)"
say "Each emergency has a template in a git repository; lint checks every file, test runs"
say "each template's tests against fresh tables in a private dynalite."
show ops "breakglass runbook lint && breakglass runbook test"
"$BG" runbook lint --runbooks "$REPO_ROOT/runbooks" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "runbook lint failed"
"$BG" runbook test --runbooks "$REPO_ROOT/runbooks" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "runbook test failed"
show ops "breakglass runbook list"
"$BG" runbook list --runbooks "$REPO_ROOT/runbooks" | sed 's/^/    /'
ok "every runbook lints clean and passes its tests"

# ----------------------------------------------------------------------------------------
heading "A stand-in for production: dynalite with the orders table"
say "dynalite is a local DynamoDB. The table is created and loaded directly (admin path),"
say "not through breakglass."
e2e_start_dynalite "$WORK" || die "dynalite did not start"
show ops "aws --endpoint-url $E2E_DYNALITE_URL dynamodb create-table --table-name orders ..."
e2e_aws_direct dynamodb create-table --table-name orders \
	--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
	AttributeName=status,AttributeType=S \
	--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
	--global-secondary-indexes 'IndexName=by-status,KeySchema=[{AttributeName=status,KeyType=HASH},{AttributeName=sk,KeyType=RANGE}],Projection={ProjectionType=ALL}' \
	--billing-mode PAY_PER_REQUEST >"$WORK/seed.log" 2>&1 || die "could not create the table"
e2e_aws_direct dynamodb batch-write-item --request-items "$("$PY" -c 'import json, sys
print(json.dumps({"orders": [{"PutRequest": {"Item": i}} for i in json.load(open(sys.argv[1]))]}))' \
	"$REPO_ROOT/runbooks/fixtures/orders.json")" >>"$WORK/seed.log" 2>&1 || die "could not load the orders"
ok "dynalite on $E2E_DYNALITE_URL, orders holds 6 orders"

# ----------------------------------------------------------------------------------------
heading "Create the breakglass store and its first admin"
say "init creates the store and prints the admin's API token and TOTP secret, once."
show admin "breakglass init --data DIR --admin admin"
e2e_init_store "$WORK" || die "breakglass init failed (see $WORK/init.log)"
ok "store in $E2E_DATA; admin token $(elide "$E2E_ADMIN_TOKEN") (shown once), TOTP secret in the admin's authenticator"

heading "The policy: what counts as an emergency"
say "A short, strict checklist: an open SEV1/SEV2 incident with an alert firing in the last"
say "30 minutes, the requester on call, a reason and a ticket, runbooks meant for the"
say "incident's service, at most an hour; one approver who is not the requester."
mkdir -p "$WORK/policy/secrets"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/policy/secrets/generic.secret"
chmod 600 "$WORK/policy/secrets/generic.secret"
cat >"$WORK/policy/oncall.yaml" <<'YAML'
rotations:
  - {name: orders-oncall, start: 2026-01-05T09:00:00Z, shift: 7d, members: [alice]}
YAML
cat >"$WORK/policy/policy.yaml" <<'YAML'
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
  pending_expires: 15m
alerts:
  generic: {secret_file: secrets/generic.secret}
guardrails:
  rate: {per_second: 5, burst: 20}
  budget: {read: 50, write: 10}
YAML
sed 's/^/    /' "$WORK/policy/policy.yaml"

heading "Start the gateway in front of DynamoDB, with the runbooks and the policy"
say "serve verifies SigV4 with grant credentials, checks each request against the grant and"
say "its runbooks, writes the audit record before forwarding, and re-signs with its own AWS"
say "identity. It also takes alerts (/hooks/...) and requests for access."
show ops "breakglass serve --listen 127.0.0.1:PORT --upstream $E2E_DYNALITE_URL --data $E2E_DATA --runbooks runbooks --policy policy.yaml"
E2E_SERVE_ARGS=(--policy "$WORK/policy/policy.yaml")
e2e_serve "$WORK" || die "breakglass serve did not start (see $WORK/gateway.log)"
ok "gateway listening on $BREAKGLASS_URL (pid $E2E_GATEWAY_PID)"

# ----------------------------------------------------------------------------------------
heading "Enrol the on-call responder and an approver"
say "Creating a user needs the admin's current TOTP code (each code works once)."
show admin "export BREAKGLASS_TOKEN=<admin token>"
code=$(e2e_otp "$E2E_ADMIN_SECRET") || die "oathtool failed"
show admin "breakglass user add alice --role responder --otp $code"
out=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" user add alice --role responder --otp "$code" --json) ||
	die "user add failed"
ALICE_TOKEN=$(printf '%s' "$out" | e2e_json token)
ALICE_SECRET=$(printf '%s' "$out" | e2e_json totp_secret)
[ -n "$ALICE_TOKEN" ] || die "user add printed no token"
code=$(e2e_otp "$E2E_ADMIN_SECRET") || die "oathtool failed"
show admin "breakglass user add bob --role approver --otp $code"
out=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" user add bob --role approver --otp "$code" --json) ||
	die "user add failed"
BOB_TOKEN=$(printf '%s' "$out" | e2e_json token)
BOB_SECRET=$(printf '%s' "$out" | e2e_json totp_secret)
ok "alice (responder) and bob (approver) enrolled: each a token and a TOTP secret, handed over once"

# ----------------------------------------------------------------------------------------
heading "2:04 a.m.: an alert fires"
say "The monitoring system posts a signed alert to the gateway (here the generic JSON hook;"
say "Alertmanager, PagerDuty and CloudWatch-through-SNS work the same). It opens an incident."
body='{"id":"orders-stuck-1","group":"orders-stuck","status":"firing","severity":"critical","service":"orders","title":"Orders stuck in STUCK for 10 minutes"}'
ts=$(date +%s)
sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$(cat "$WORK/policy/secrets/generic.secret")" | sed 's/^.* //')
show monitoring "curl -X POST $BREAKGLASS_URL/hooks/generic -H 'X-Breakglass-Timestamp: $ts' -H 'X-Breakglass-Signature: v1=...' -d '$body'"
out=$(curl -s -X POST "$BREAKGLASS_URL/hooks/generic" -H "X-Breakglass-Timestamp: $ts" \
	-H "X-Breakglass-Signature: v1=$sig" -H 'Content-Type: application/json' -d "$body")
printf '    %s\n' "$out"
INC=$(printf '%s' "$out" | e2e_json incident)
[ -n "$INC" ] || die "the alert opened no incident"
show alice "breakglass incident list"
BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" incident list | sed 's/^/    /'
ok "incident $INC, SEV1, service orders"

# ----------------------------------------------------------------------------------------
heading "alice asks for two runbooks; bob approves"
say "The request names the incident, the runbooks, a reason and a ticket; the gateway checks"
say "every criterion and keeps the results. alice waits; bob sees what she asked for and"
say "approves with his own TOTP code. The grant shares the request's id."
code=$(e2e_otp "$ALICE_SECRET") || die "oathtool failed"
show alice "breakglass request --incident $INC --runbook orders-of-customer,unstick-order --reason 'customer 42 sees three stuck orders' --ticket INC-4711 --for 15m --otp $code --wait"
BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" request --incident "$INC" --runbook orders-of-customer,unstick-order \
	--reason "customer 42 sees three stuck orders" --ticket INC-4711 --for 15m --otp "$code" --wait \
	>"$WORK/request.out" 2>"$WORK/request.err" &
wait_pid=$!
GRANT=""
for _ in $(seq 1 100); do
	GRANT=$(BREAKGLASS_TOKEN=$BOB_TOKEN "$BG" requests --json 2>/dev/null | "$PY" -c 'import json, sys
r = [x for x in json.load(sys.stdin)["requests"] if x["state"] == "pending"]
print(r[0]["id"] if r else "")')
	[ -n "$GRANT" ] && break
	sleep 0.2
done
[ -n "$GRANT" ] || die "no pending request (see $WORK/request.err)"
sed 's/^/    /' "$WORK/request.err"
show bob "breakglass requests $GRANT"
BREAKGLASS_TOKEN=$BOB_TOKEN "$BG" requests "$GRANT" | sed 's/^/    /'
code=$(e2e_otp "$BOB_SECRET") || die "oathtool failed"
show bob "breakglass approve $GRANT --otp $code"
BREAKGLASS_TOKEN=$BOB_TOKEN "$BG" approve "$GRANT" --otp "$code" >/dev/null || die "approve failed"
wait "$wait_pid" || die "request --wait did not end approved (see $WORK/request.err)"
say "alice's terminal, once bob approved:"
sed 's/^/    /' "$WORK/request.out"
ok "grant $GRANT, approved by bob"

# ----------------------------------------------------------------------------------------
heading "alice runs the runbook: the stuck orders of customer 42"
say "breakglass run renders the runbook, checks her parameters against its rules, and sends"
say "the request through the gateway with the grant's credentials."
show alice "export BREAKGLASS_TOKEN=<alice's token>"
show alice "breakglass run orders-of-customer --grant $GRANT --param customer=CUSTOMER#42"
out=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" run orders-of-customer --grant "$GRANT" --param customer=CUSTOMER#42) ||
	die "run failed"
printf '%s\n' "$out" | sed 's/^/    /'
[ "$(grep -c "STUCK" <<<"$out")" -eq 3 ] || die "run did not find the three stuck orders"
ok "three stuck orders"

heading "The stock AWS CLI works too, for exactly the runbook's query"
say "breakglass exec puts the grant's credentials and the gateway endpoint in the command's"
say "environment; the gateway compares the request with the runbook by structure."
query=("$AWS" dynamodb query --table-name orders
	--key-condition-expression "pk = :c AND begins_with(sk, :p)"
	--expression-attribute-values '{":c":{"S":"CUSTOMER#42"},":p":{"S":"ORDER#"}}'
	--projection-expression "pk, sk, #s, #t" --expression-attribute-names '{"#s":"status","#t":"total"}'
	--output table)
show_cmd alice "$BG" exec "$GRANT" -- "${query[@]}"
BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" exec "$GRANT" -- "${query[@]}" || die "the query through the gateway failed"
ok "the runbook's query, written by hand, answered through the gateway"

# ----------------------------------------------------------------------------------------
heading "Anything else is refused: a wider read, a Scan"
say "Asking for one more attribute (email), or scanning the table that is on fire, is not"
say "what the runbook allows."
wider=("$AWS" dynamodb query --table-name orders
	--key-condition-expression "pk = :c AND begins_with(sk, :p)"
	--expression-attribute-values '{":c":{"S":"CUSTOMER#42"},":p":{"S":"ORDER#"}}'
	--projection-expression "pk, sk, #s, #t, email" --expression-attribute-names '{"#s":"status","#t":"total"}')
show_cmd alice "$BG" exec "$GRANT" -- "${wider[@]}"
out=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" exec "$GRANT" -- "${wider[@]}" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
[ "$rc" -ne 0 ] && grep -q "(AccessDeniedException)" <<<"$out" || die "the wider query was not denied"
show_cmd alice "$BG" exec "$GRANT" -- "$AWS" dynamodb scan --table-name orders
out=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" exec "$GRANT" -- "$AWS" dynamodb scan --table-name orders 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
[ "$rc" -ne 0 ] && grep -q "(AccessDeniedException)" <<<"$out" || die "the Scan was not denied"
ok "AccessDeniedException, saying what differed; the denials are audited"

# ----------------------------------------------------------------------------------------
heading "alice fixes one order with the write runbook"
say "unstick-order moves an order back only if it is still STUCK (its condition)."
show alice "breakglass run unstick-order --grant $GRANT --param customer=CUSTOMER#42 --param order=ORDER#1001 --param new=PENDING"
BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" run unstick-order --grant "$GRANT" --param customer=CUSTOMER#42 \
	--param order=ORDER#1001 --param new=PENDING | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the write runbook failed"
ok "order ORDER#1001 is PENDING again"

# ----------------------------------------------------------------------------------------
heading "Incident over: close it"
say "alice keeps a copy of the credentials in her shell, to show they die with the grant."
creds_env=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" creds "$GRANT") || die "creds failed"
say "close revokes every grant of the incident, resolves it, opens its review and verifies"
say "the audit chain, in one step."
OUTDIR=$REPO_ROOT/build/demo # kept after the demo, unlike its working folder
mkdir -p "$OUTDIR"
show alice "breakglass close $INC --reason 'orders flow again'"
BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" close "$INC" --reason "orders flow again" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "close failed"
ok "closed: grant revoked, incident resolved, review open, audit trail whole"

heading "The post-incident report"
say "Built from the audit trail alone, by someone who may read it (an admin or an auditor):"
say "the timeline, each query with its runbook, parameters, items and latency, the denials,"
say "the anomalies, and the trail's verification."
show admin "breakglass report $INC --format html --out $OUTDIR/$INC-report.html"
BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" report "$INC" --format html --out "$OUTDIR/$INC-report.html" |
	sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the report failed"
ok "report written: $OUTDIR/$INC-report.html"
if command -v chromium >/dev/null; then
	chromium --headless --no-sandbox --disable-gpu --window-size=412,900 \
		--screenshot="$OUTDIR/$INC-report.png" "file://$OUTDIR/$INC-report.html" >/dev/null 2>&1 &&
		ok "rendered once in headless Chromium: $OUTDIR/$INC-report.png"
fi

heading "The next call is refused"
show alice "eval \"\$(breakglass creds $GRANT)\"   # (fetched before the revoke)"
show alice "aws --endpoint-url \$AWS_ENDPOINT_URL_DYNAMODB dynamodb query --table-name orders ..."
out=$( (eval "$creds_env" && "${query[@]}" --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB") 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
[ "$rc" -ne 0 ] && grep -q "(AccessDeniedException)" <<<"$out" || die "the revoked credentials still worked"
show alice "breakglass exec $GRANT -- aws dynamodb query ..."
out=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" exec "$GRANT" -- "${query[@]}" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
[ "$rc" -eq 1 ] || die "exec with a revoked grant exited $rc, want 1"
ok "old credentials refused by the gateway; new ones refused by the API (exit 1)"

heading "The review"
say "Someone who did not ask for access signs what was learned, with their own TOTP code."
printf 'The payment provider stalled and orders stuck in STUCK.\nunstick-order moved ORDER#1001 back; we add an alarm on the provider queue.\n' >"$WORK/learnings.md"
code=$(e2e_otp "$BOB_SECRET") || die "oathtool failed"
show bob "breakglass review $INC --sign --learnings learnings.md --otp $code"
BREAKGLASS_TOKEN=$BOB_TOKEN "$BG" review "$INC" --sign --learnings "$WORK/learnings.md" --otp "$code" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the review sign-off failed"
ok "review signed by bob"

# ----------------------------------------------------------------------------------------
heading "The audit trail"
say "Every API action, every request (written before it was forwarded), every response"
say "and every denial, hash-chained. Columns: seq time kind actor grant op tables decision"
say "status reason."
show admin "breakglass audit tail"
audit=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --limit 1000) || die "audit tail failed"
printf '%s\n' "$audit" | sed 's/^/    /'
grep -q " request .* Query " <<<"$audit" || die "no request record for the Query"
grep -q " response .* Query " <<<"$audit" || die "no response record for the Query"
grep -q " request .* UpdateItem " <<<"$audit" || die "no request record for the fix"
grep -q " denial .* Scan " <<<"$audit" || die "no denial record for the Scan"
grep -q " alert  *generic " <<<"$audit" || die "no record of the alert"
grep -q " request-approve  *bob " <<<"$audit" || die "no record of bob's approval"
grep -q " incident-close  *alice " <<<"$audit" || die "no record of the close"
grep -q " review-sign  *bob " <<<"$audit" || die "no record of the review's sign-off"
ok "the alert, the request and its approval, requests, responses and denials are all there"

printf '\n%sDemo complete:%s runbooks, an alert, a request and its approval, run, denials, a fix, the close, the review and the audit trail all behaved.\n' "$B" "$N"
say "(Everything this demo started is being stopped now.)"
exit 0
