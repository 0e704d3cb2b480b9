#!/usr/bin/env bash
# test_grant_tables.sh - `breakglass grant --table NoSuchTable` is granted with a warning,
# not silently (issue 6): the gateway asks dynalite with a re-signed DescribeTable. The
# warning is on stderr as "breakglass: warning: ...", in the --json object's "warnings",
# and in the grant's audit record; a table that exists gives none. A second gateway of
# its own, whose upstream does not answer, shows the check that cannot be made: a
# warning again, never a refused grant. Run by run.sh (dynalite and the gateway on
# 127.0.0.1).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_RESPONDER_TOKEN:?}"
E2E_PREFIX="[grant-tables] "
BG=$BREAKGLASS_BIN
RESP=$E2E_RESPONDER
MISSING="table NoSuchTable does not exist at the upstream (DescribeTable: ResourceNotFoundException); check the name"

adm=$(e2e_admin tables) || {
	e2e_fail setup "cannot create admin e2e-admin-tables"
	e2e_finish
	exit 1
}
ADM_TOKEN=$(printf '%s' "$adm" | e2e_json token)
ADM_SECRET=$(printf '%s' "$adm" | e2e_json totp_secret)
e2e_note_secret "$ADM_TOKEN"
as_admin() { BREAKGLASS_TOKEN=$ADM_TOKEN "$BG" "$@"; }

# --- a table dynalite does not have -----------------------------------------------------
e2e_expect_rc "grant --table NoSuchTable is granted (exit 0)" 0 as_admin grant --user "$RESP" \
	--table NoSuchTable --op GetItem --for 5m --otp "$(e2e_otp "$ADM_SECRET")" --reason "e2e tables"
e2e_check "the warning is on stderr" grep -qxF "breakglass: warning: $MISSING" <<<"$e2e_err"
e2e_check "the grant is printed on stdout" grep -q "^grant  *" <<<"$e2e_out"
G=$(sed -n 's/^grant  *//p' <<<"$e2e_out")

e2e_expect_rc "grant --json with Orders and NoSuchTable -> 0" 0 as_admin grant --user "$RESP" \
	--table Orders,NoSuchTable --op GetItem --for 5m --reason "e2e tables" --otp "$(e2e_otp "$ADM_SECRET")" --json
e2e_check "--json: the warnings are in the object, nothing on stderr" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if o["warnings"] == [sys.argv[2]] and o["status"] == "active" and not sys.argv[3] else 1)' \
	"$e2e_out" "$MISSING" "$e2e_err"

e2e_expect_rc "grant of an existing table -> 0" 0 as_admin grant --user "$RESP" --table Orders \
	--op GetItem --for 5m --reason "e2e tables" --otp "$(e2e_otp "$ADM_SECRET")" --json
e2e_check "no warnings for Orders" "$PY" -c 'import json, sys
sys.exit(0 if json.loads(sys.argv[1])["warnings"] == [] else 1)' "$e2e_out"

# The grant's audit record carries the warning.
recs=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --json --after 0 --limit 1000)
after=$(printf '%s' "$recs" | "$PY" -c 'import json, sys
r = json.load(sys.stdin)["records"]; print(r[-1]["seq"] if r else 0)')
while :; do
	page=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --json --after "$after" --limit 1000) || break
	n=$(printf '%s' "$page" | "$PY" -c 'import json, sys; r = json.load(sys.stdin)["records"]; print(r[-1]["seq"] if r else "")')
	[ -z "$n" ] && break
	recs=$(printf '%s\n%s' "$recs" "$page")
	after=$n
done
e2e_check "the grant's audit record holds the warning" "$PY" -c 'import json, sys
recs = [r for doc in sys.stdin.read().split("\n") if doc.strip() for r in json.loads(doc)["records"]]
sys.exit(0 if any(r["kind"] == "grant" and r["grant_id"] == sys.argv[1] and r["detail"].get("warnings") == [sys.argv[2]] for r in recs) else 1)' \
	"$G" "$MISSING" <<<"$recs"

# --- an upstream that does not answer: a gateway of our own over a store of our own ------
work=$(e2e_tmpdir) || exit 1
log="$work/gateway2.log"
out=$("$BG" init --data "$work/store" --admin admin2 --json 2>>"$log")
A2_TOKEN=$(printf '%s' "$out" | e2e_json token)
A2_SECRET=$(printf '%s' "$out" | e2e_json totp_secret)
e2e_note_secret "$A2_TOKEN"
port=$(e2e_free_port)
dead=$(e2e_free_port)
env -u BREAKGLASS_TOKEN -u BREAKGLASS_URL AWS_ACCESS_KEY_ID=gateway2-key AWS_SECRET_ACCESS_KEY=gateway2-secret \
	AWS_REGION=us-east-1 "$BG" serve --listen "127.0.0.1:$port" --upstream "http://127.0.0.1:$dead" \
	--data "$work/store" >>"$log" 2>&1 &
gw2=$!
e2e_pids+=("$gw2")
if ! e2e_wait_port "$port" "$gw2" 20; then
	e2e_fail "second gateway started" "$(tail -n 5 "$log")"
	e2e_finish
	exit 1
fi
as_admin2() { BREAKGLASS_TOKEN=$A2_TOKEN BREAKGLASS_URL="http://127.0.0.1:$port" "$BG" "$@"; }
as_admin2 user add r2 --role responder --otp "$(e2e_otp "$A2_SECRET")" --json >/dev/null 2>>"$log"
e2e_expect_rc "upstream down: the grant is still made (exit 0)" 0 as_admin2 grant --user r2 \
	--table Orders,Users --op GetItem --for 5m --reason "e2e tables" --otp "$(e2e_otp "$A2_SECRET")"
e2e_check "and the warning says the check could not be made, once" [ "$(grep -c "^breakglass: warning: could not check that table Orders exists: the upstream did not answer (DescribeTable: upstream http://127.0.0.1:$dead/: .*); the other tables were not checked$" <<<"$e2e_err")" = 1 ]

kill -TERM "$gw2"
wait "$gw2"
e2e_check "the second gateway exits 0 on SIGTERM" [ $? = 0 ]
# Its log joins this test's, where run.sh looks for sanitizer reports.
cat "$log"

e2e_finish
