#!/usr/bin/env bash
# test_requests.sh - the access workflow (issue 8, point 4) through the real CLI and
# gateway, without a policy file (the defaults: one approver, 15 minutes, no solo): an
# incident, a request with MFA, the approvers it names, approval by another user, and a
# runbook query through the grant it becomes; --wait with the approval in parallel; a
# denial; and the refusals: self-approval, a wrong and a reused TOTP code, a second answer,
# a denial without a reason, a requester without the role, solo where policy forbids it.
# TOTP codes come from oathtool.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_RESPONDER_TOKEN:?}"
E2E_PREFIX="[requests] "
BG=$BREAKGLASS_BIN
RT=$E2E_RESPONDER_TOKEN
RS=$E2E_RESPONDER_SECRET
as_resp() { BREAKGLASS_TOKEN=$RT "$BG" "$@"; }

e2e_orders_table || e2e_fail "the orders table" "create-table"
adm=$(e2e_admin requests)
AT=$(printf '%s' "$adm" | e2e_json token)
AS=$(printf '%s' "$adm" | e2e_json totp_secret)
e2e_note_secret "$AT"
a1=$(e2e_new_user_as "$AT" "$AS" appr-one approver) || e2e_fail "approver one" "$a1"
a2=$(e2e_new_user_as "$AT" "$AS" appr-two approver) || e2e_fail "approver two" "$a2"
ra=$(e2e_new_user_as "$AT" "$AS" resp-appr responder,approver) || e2e_fail "responder+approver" "$ra"
A1T=$(printf '%s' "$a1" | e2e_json token) A1S=$(printf '%s' "$a1" | e2e_json totp_secret)
A2T=$(printf '%s' "$a2" | e2e_json token) A2S=$(printf '%s' "$a2" | e2e_json totp_secret)
RAT=$(printf '%s' "$ra" | e2e_json token) RAS=$(printf '%s' "$ra" | e2e_json totp_secret)
e2e_note_secret "$A1T"
e2e_note_secret "$A2T"
e2e_note_secret "$RAT"

e2e_expect_rc "the incident -> 0" 0 as_resp incident open --id INC-R1 --severity 1 --title "orders stuck"
REQ=(--incident INC-R1 --runbook orders-of-customer --reason "customer 42 sees three stuck orders" --ticket INC-R1 --for 10m)

# --- refusals before anything is asked ----------------------------------------------------
e2e_expect_rc "no --otp -> 2" 2 as_resp request "${REQ[@]}"
e2e_expect_rc "a runbook id with capitals -> 2" 2 as_resp request --incident INC-R1 --runbook Orders \
	--reason x --for 5m --otp 123456
e2e_expect_rc "an incident that does not exist -> 1" 1 as_resp request --incident INC-NONE \
	--runbook orders-of-customer --reason "customer 42 sees stuck orders" --for 5m --otp 123456
e2e_check "...named, with where to look" grep -q "no incident INC-NONE (breakglass incident list" <<<"$e2e_err"
e2e_expect_rc "an approver without the responder role may not request -> 1" 1 \
	env BREAKGLASS_TOKEN="$A1T" "$BG" request "${REQ[@]}" --otp 123456
e2e_check "...it says who may" grep -q "only a responder can request access" <<<"$e2e_err"

# --- request, approve, use -----------------------------------------------------------------
e2e_expect_rc "request with MFA -> 0" 0 as_resp request "${REQ[@]}" --otp "$(e2e_otp "$RS")" --json
R1=$(printf '%s' "$e2e_out" | e2e_json id)
e2e_check "pending, pinned, naming the approvers" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])
assert r["state"] == "pending" and r["requester"] == "responder" and r["incident"] == "INC-R1", r
assert [x["id"] for x in r["runbooks"]] == ["orders-of-customer"] and len(r["runbooks"][0]["hash"]) == 64, r
assert sorted(r["approvers"]) == ["appr-one", "appr-two", "resp-appr"], r["approvers"]
assert r["approvals_needed"] == 1 and r["criteria"] == [] and r["answers"] == [], r' "$e2e_out"
e2e_expect_rc "no creds before approval -> 1" 1 as_resp creds "$R1"
e2e_expect_rc "the requester cannot approve (no approver role) -> 1" 1 as_resp approve "$R1" --otp 123456
e2e_expect_rc "a wrong TOTP code -> 1" 1 env BREAKGLASS_TOKEN="$A1T" "$BG" approve "$R1" --otp "$(e2e_wrong_otp "$A1S")"
code=$(e2e_otp "$A1S")
e2e_expect_rc "approval by another user -> 0" 0 env BREAKGLASS_TOKEN="$A1T" "$BG" approve "$R1" --otp "$code"
e2e_check "approved: the grant has the request's id" eval 'grep -q "^state  *approved$" <<<"$e2e_out" && grep -q "^decided by  *appr-one$" <<<"$e2e_out" && grep -q "^grant  *$R1$" <<<"$e2e_out"'
e2e_expect_rc "a second answer -> 1" 1 env BREAKGLASS_TOKEN="$A2T" "$BG" approve "$R1" --otp "$(e2e_otp "$A2S")"
e2e_check "...it is approved already" grep -q "is approved already" <<<"$e2e_err"
e2e_expect_rc "the same TOTP code again (another request) -> 1" 1 env BREAKGLASS_TOKEN="$A1T" "$BG" deny "$R1" --otp "$code" --reason late
e2e_expect_rc "the runbook through the grant -> 0" 0 as_resp run orders-of-customer --grant "$R1" \
	--param customer=CUSTOMER#42 --json
e2e_check "three stuck orders of customer 42" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); items = o.get("Items") or o.get("items") or []
assert len(items) == 3, o' "$e2e_out"
e2e_expect_rc "requests shows it -> 0" 0 as_resp requests "$R1" --json
e2e_check "...with appr-one's answer and the grant" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])
assert [(a["approver"], a["decision"]) for a in r["answers"]] == [("appr-one", "approve")], r["answers"]
assert r["grant"]["id"] == r["id"] and r["grant"]["kind"] == "request" and r["grant"]["status"] == "active", r["grant"]' "$e2e_out"

# --- self-approval, denial -------------------------------------------------------------------
e2e_expect_rc "resp-appr requests -> 0" 0 env BREAKGLASS_TOKEN="$RAT" "$BG" request "${REQ[@]}" --otp "$(e2e_otp "$RAS")" --json
R2=$(printf '%s' "$e2e_out" | e2e_json id)
e2e_expect_rc "...and may not approve their own -> 1" 1 env BREAKGLASS_TOKEN="$RAT" "$BG" approve "$R2" --otp "$(e2e_otp "$RAS")"
e2e_check "...it says so" grep -q "cannot answer your own request" <<<"$e2e_err"
e2e_expect_rc "a denial without a reason -> 2" 2 env BREAKGLASS_TOKEN="$A2T" "$BG" deny "$R2" --otp 123456
e2e_expect_rc "a denial with a reason -> 0" 0 env BREAKGLASS_TOKEN="$A2T" "$BG" deny "$R2" --otp "$(e2e_otp "$A2S")" --reason "use the status runbook"
e2e_check "denied, with the reason" eval 'grep -q "^state  *denied$" <<<"$e2e_out" && grep -q "deny  *appr-two  *use the status runbook" <<<"$e2e_out"'
e2e_expect_rc "no creds for a denied request -> 1" 1 env BREAKGLASS_TOKEN="$RAT" "$BG" creds "$R2"

# --- solo where the policy forbids it --------------------------------------------------------
e2e_expect_rc "another request -> 0" 0 as_resp request "${REQ[@]}" --otp "$(e2e_otp "$RS")" --json
R3=$(printf '%s' "$e2e_out" | e2e_json id)
e2e_expect_rc "solo without a policy that allows it -> 1" 1 as_resp request --incident INC-R1 \
	--runbook orders-of-customer --solo --otp "$(e2e_otp "$RS")"
e2e_check "...it says the policy does not allow it" grep -q "does not allow solo break-glass" <<<"$e2e_err"

# --- --wait, approved in parallel --------------------------------------------------------------
out_w=$E2E_STATE/wait.out
code=$(e2e_otp "$RS")
as_resp request "${REQ[@]}" --otp "$code" --wait >"$out_w" 2>"$out_w.err" &
wpid=$!
RW=""
for _ in $(seq 1 100); do
	RW=$(as_resp requests --json | "$PY" -c 'import json, sys
r = [x for x in json.load(sys.stdin)["requests"] if x["state"] == "pending" and x["id"] != sys.argv[1]]
print(r[0]["id"] if r else "")' "$R3")
	[ -n "$RW" ] && break
	sleep 0.2
done
e2e_check "the waiting request is pending" test -n "$RW"
if [ -n "$RW" ]; then
	e2e_expect_rc "approve it while the requester waits -> 0" 0 env BREAKGLASS_TOKEN="$A2T" "$BG" approve "$RW" --otp "$(e2e_otp "$A2S")"
else
	kill "$wpid" 2>/dev/null
fi
wait "$wpid"
e2e_check "request --wait exits 0 once approved" test $? -eq 0
e2e_check "...having said who was asked" grep -q "request $RW is waiting for 1 approval(s); notified: appr-one, appr-two, resp-appr" "$out_w.err"
e2e_check "...and prints the grant" grep -q "^state  *approved$" "$out_w"

# --- the audit record ------------------------------------------------------------------------
e2e_expect_rc "the audit log -> 0" 0 env BREAKGLASS_TOKEN="$AT" "$BG" audit tail --json --limit 1000
e2e_check "request, approval, denial and refusals are on the record" "$PY" -c 'import json, sys
recs = json.loads(sys.argv[1])["records"]
k = [(r["kind"], r["actor"], r["decision"], r["grant_id"]) for r in recs]
r1, r2 = sys.argv[2], sys.argv[3]
assert ("request", "responder", "allow", r1) in k, k
assert ("request-approve", "appr-one", "allow", r1) in k, k
assert ("request-approve", "appr-two", "deny", r1) in k, k
assert ("request-approve", "resp-appr", "deny", r2) not in k  # refused before the record: not an approver action
assert ("request-deny", "appr-two", "allow", r2) in k, k' "$e2e_out" "$R1" "$R2"

e2e_finish
