#!/usr/bin/env bash
# test_close.sh - issue 11's teardown and review sign-off, on a gateway of its own with a
# policy whose review deadline is 3 s: an incident with two approved requests (one by a
# user who is also an approver), a runbook query, then `close`: both grants revoked (a
# request with the old credentials is refused at the gateway), the incident resolved,
# the review opened, the audit chain verified; closing again changes nothing; the review
# goes overdue (status, review list --overdue); the requesters may not sign it, an
# approver who did not ask can, once; everything on the record.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[close] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir) || exit 1
printf 'review: {deadline: 3s}\n' >"$dir/policy.yaml"
e2e_init_store "$dir" || e2e_fail "init" "breakglass init failed"
E2E_POLICY=$dir/policy.yaml e2e_serve "$dir" || e2e_fail "serve" "$(tail -n 5 "$dir/gateway.log")"
AT=$E2E_ADMIN_TOKEN AS=$E2E_ADMIN_SECRET
export BREAKGLASS_TOKEN=$AT
user() { # NAME ROLES: prints "TOKEN SECRET"
	local u
	u=$(e2e_new_user_as "$AT" "$AS" "$1" "$2") || return 1
	printf '%s %s\n' "$(printf '%s' "$u" | e2e_json token)" "$(printf '%s' "$u" | e2e_json totp_secret)"
}
read -r RT RS < <(user cl-resp responder) || e2e_fail "responder" ""
read -r A1T A1S < <(user cl-appr1 approver) || e2e_fail "approver 1" ""
read -r A2T A2S < <(user cl-appr2 approver) || e2e_fail "approver 2" ""
read -r XT XS < <(user cl-both responder,approver) || e2e_fail "responder+approver" ""
for t in "$RT" "$A1T" "$A2T" "$XT"; do e2e_note_secret "$t"; done

as() { local t=$1; shift; BREAKGLASS_TOKEN=$t "$BG" "$@"; }
e2e_expect_rc "the incident -> 0" 0 as "$RT" incident open --id INC-C1 --severity 1 --title "orders stuck"
REQ=(--incident INC-C1 --runbook orders-of-customer --reason "customer 42 sees three stuck orders" --ticket INC-C1 --for 30m)
e2e_expect_rc "a request -> 0" 0 as "$RT" request "${REQ[@]}" --otp "$(e2e_otp "$RS")" --json
R1=$(printf '%s' "$e2e_out" | e2e_json id)
e2e_expect_rc "...approved -> 0" 0 as "$A1T" approve "$R1" --otp "$(e2e_otp "$A1S")"
e2e_expect_rc "another, by a responder who is also an approver -> 0" 0 as "$XT" request "${REQ[@]}" --otp "$(e2e_otp "$XS")" --json
R2=$(printf '%s' "$e2e_out" | e2e_json id)
e2e_expect_rc "...approved -> 0" 0 as "$A2T" approve "$R2" --otp "$(e2e_otp "$A2S")"
e2e_expect_rc "the runbook through the first grant -> 0" 0 as "$RT" run orders-of-customer --grant "$R1" --param customer=CUSTOMER#42
as "$RT" creds "$R1" --format env >"$dir/r1.env" || e2e_fail "creds" "$(cat "$dir/r1.env")"
e2e_note_secret "$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$dir/r1.env" | tr -d "'\"")"
old() { (set -a; source "$dir/r1.env"; set +a; AWS_MAX_ATTEMPTS=1 /usr/bin/aws --endpoint-url "$BREAKGLASS_URL" dynamodb "$@"); }

e2e_expect_rc "status before the close -> 0" 0 "$BG" status
e2e_check "status lists both live grants with the time they have left" eval 'grep -Eq "^grants +2 live" <<<"$e2e_out" &&
	grep -Eq "^  grant +$R1 of cl-resp, (29|30)m[0-9]{2}s left" <<<"$e2e_out" && grep -Eq "^  grant +$R2 of cl-both, " <<<"$e2e_out"'
cd "$dir" || exit 1 # close writes its report here
e2e_expect_rc "close -> 0" 0 as "$RT" close INC-C1 --reason "orders flow again"
e2e_check "...a responder cannot read the trail: the report is not written, and who can is said" eval '[ ! -e "$dir/INC-C1-report.html" ] &&
	grep -q "report    not written: it reads the audit trail, which takes an admin or an auditor" <<<"$e2e_out"'
e2e_check "...both grants revoked, resolved now, review opened, audit whole" eval 'grep -q "^incident  INC-C1 closed (resolved now)" <<<"$e2e_out" &&
	grep -q "^revoked   2 grant(s)" <<<"$e2e_out" && grep -q "$R1" <<<"$e2e_out" && grep -q "$R2" <<<"$e2e_out" &&
	grep -q "^review    opened, due " <<<"$e2e_out" && grep -Eq "^audit     whole: [0-9]+ records verified" <<<"$e2e_out" &&
	grep -q "breakglass report INC-C1 --format html" <<<"$e2e_out"'
old get-item --table-name orders --key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1"}}' >/dev/null 2>"$dir/old.err"
e2e_check "a request with the old credentials is refused at the gateway" grep -q "AccessDeniedException" "$dir/old.err"
e2e_check "...saying the grant was revoked" grep -q "was revoked at .* by cl-resp" "$dir/old.err"
e2e_expect_rc "the runbook through the grant after close -> 1" 1 as "$RT" run orders-of-customer --grant "$R1" --param customer=CUSTOMER#42
e2e_expect_rc "the incident shows resolved -> 0" 0 as "$RT" incident show INC-C1 --json
e2e_check "...resolved by cl-resp" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); sys.exit(0 if o["state"] == "resolved" and o["resolved_by"] == "cl-resp" else 1)' "$e2e_out"
e2e_expect_rc "close again --json -> 0" 0 as "$A1T" close INC-C1 --json
e2e_check "...with --json no report unless named" [ ! -e "$dir/INC-C1-report.html" ]
e2e_check "...nothing more to revoke, the first review kept" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if o["revoked_count"] == 0 and not o["review_opened"] and not o["resolved_now"] and o["review"]["opened_by"] == "cl-resp" and o["audit"]["ok"] else 1)' "$e2e_out"
e2e_expect_rc "close --json --report FILE -> 0" 0 as "$AT" close INC-C1 --json --report "$dir/INC-C1-report.md"
e2e_check "...one JSON document: the close's answer with the report written" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if o["audit"]["ok"] and o["report"]["format"] == "md" and o["report"]["out"].endswith("INC-C1-report.md") and o["report"]["verified"] else 1)' "$e2e_out"
e2e_expect_rc "the admin closes again, naming the report -> 0" 0 as "$AT" close INC-C1 --report "$dir/INC-C1-report.html"
e2e_check "...the post-incident report is written, 0600, with the incident and no script" eval 'test -s "$dir/INC-C1-report.html" &&
	[ "$(stat -c %a "$dir/INC-C1-report.html")" = 600 ] && grep -q "INC-C1" "$dir/INC-C1-report.html" &&
	! grep -qi "<script" "$dir/INC-C1-report.html" && grep -q "INC-C1-report.html" <<<"$e2e_out"'
e2e_check "...it shows the close and the revoked grants" eval 'grep -q "incident closed by cl-resp: 2 grant(s) revoked" "$dir/INC-C1-report.html"'
e2e_expect_rc "an unknown incident -> 1" 1 as "$RT" close INC-NOPE
e2e_expect_rc "a bad id -> 2" 2 as "$RT" close "bad id"

# --- the review --------------------------------------------------------------------------
sleep 3.2 # past the deadline
e2e_expect_rc "status -> 0" 0 "$BG" status
e2e_check "status counts the overdue review" grep -q "^reviews  *1 overdue" <<<"$e2e_out"
e2e_expect_rc "review list --overdue -> 0" 0 as "$RT" review list --overdue
e2e_check "...shows INC-C1 overdue" grep -Eq "^INC-C1 +overdue +due " <<<"$e2e_out"
printf 'The payment provider stalled; orders stuck.\nWe add an alarm on its queue depth.\n' >"$dir/learnings.md"
e2e_expect_rc "a responder cannot sign -> 1" 1 as "$RT" review INC-C1 --sign --learnings "$dir/learnings.md" --otp "$(e2e_otp "$RS")"
e2e_expect_rc "an approver who requested access cannot sign -> 1" 1 as "$XT" review INC-C1 --sign --learnings "$dir/learnings.md" --otp "$(e2e_otp "$XS")"
e2e_check "...it says someone else must" grep -q "asked for access during incident INC-C1" <<<"$e2e_err"
e2e_expect_rc "signing without --otp -> 2" 2 as "$A1T" review INC-C1 --sign --learnings "$dir/learnings.md"
e2e_expect_rc "learnings from a missing file -> 2" 2 as "$A1T" review INC-C1 --sign --learnings "$dir/nope.md" --otp 123456
e2e_expect_rc "an approver who did not ask signs -> 0" 0 as "$A1T" review INC-C1 --sign --learnings "$dir/learnings.md" --otp "$(e2e_otp "$A1S")"
e2e_check "...signed by cl-appr1" grep -Eq "^INC-C1 +signed +by cl-appr1 at " <<<"$e2e_out"
e2e_expect_rc "a second signature -> 1" 1 as "$A2T" review INC-C1 --sign --learnings "$dir/learnings.md" --otp "$(e2e_otp "$A2S")"
e2e_check "...signed already" grep -q "signed by cl-appr1 already" <<<"$e2e_err"
e2e_expect_rc "review list --json -> 0" 0 as "$RT" review list --json
e2e_check "...signed, with the learnings" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])["reviews"][0]
sys.exit(0 if r["state"] == "signed" and "queue depth" in r["learnings"] and r["signed_by"] == "cl-appr1" else 1)' "$e2e_out"
e2e_expect_rc "review list --overdue -> 0" 0 as "$RT" review list --overdue
e2e_check "...none overdue now" grep -q "^no reviews" <<<"$e2e_out"
e2e_check "the record: the close with the grants it revoked, the signature" "$PY" -c 'import json, sys
recs = json.load(sys.stdin)["records"]
close = [r for r in recs if r["kind"] == "incident-close"]
sign = [r for r in recs if r["kind"] == "review-sign" and r["decision"] == "allow"]
ok = (len(close) == 4 and sorted(close[0]["detail"]["grants"]) == sorted(sys.argv[1:3])
      and close[0]["actor"] == "cl-resp" and all(c["detail"]["grants"] == [] for c in close[1:])
      and len(sign) == 1 and sign[0]["actor"] == "cl-appr1")
sys.exit(0 if ok else 1)' "$R1" "$R2" < <("$BG" audit tail -n 500 --json)
e2e_finish
