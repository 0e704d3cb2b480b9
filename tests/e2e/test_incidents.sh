#!/usr/bin/env bash
# test_incidents.sh - incidents by hand (issue 8, point 2) through the real CLI and gateway:
# open, list (open by default, --all), show with history, resolve with a reason; usage
# errors before anything is sent; who may open and resolve; every change on the audit
# record.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}"
E2E_PREFIX="[incidents] "
BG=$BREAKGLASS_BIN
as_resp() { BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" "$@"; }

adm=$(e2e_admin incidents)
AT=$(printf '%s' "$adm" | e2e_json token)
AS=$(printf '%s' "$adm" | e2e_json totp_secret)
e2e_note_secret "$AT"
aud=$(e2e_new_user_as "$AT" "$AS" inc-auditor auditor) || e2e_fail "auditor" "$aud"
UT=$(printf '%s' "$aud" | e2e_json token)
e2e_note_secret "$UT"
as_aud() { BREAKGLASS_TOKEN=$UT "$BG" "$@"; }

# --- usage errors: nothing is sent ------------------------------------------------------
e2e_expect_rc "incident with no subcommand -> 2" 2 as_resp incident
e2e_expect_rc "an unknown subcommand -> 2" 2 as_resp incident close INC-1
e2e_expect_rc "open without --title -> 2" 2 as_resp incident open --id INC-1 --severity 1
e2e_expect_rc "severity 0 -> 2" 2 as_resp incident open --id INC-1 --severity 0 --title x
e2e_expect_rc "severity 6 -> 2" 2 as_resp incident open --id INC-1 --severity 6 --title x
e2e_expect_rc "an id with a space -> 2" 2 as_resp incident open --id "INC 1" --severity 1 --title x
e2e_expect_rc "a title of two lines -> 2" 2 as_resp incident open --id INC-1 --severity 1 --title "$(printf 'a\nb')"
e2e_expect_rc "--reason belongs to resolve -> 2" 2 as_resp incident open --id INC-1 --severity 1 --title x --reason y
e2e_expect_rc "incident --help -> 0" 0 as_resp incident --help
e2e_check "the help names the four subcommands" eval 'grep -q "breakglass incident open --id ID --severity N --title TEXT" <<<"$e2e_out" && grep -q "incident resolve ID" <<<"$e2e_out"'

# --- open, list, show, resolve ------------------------------------------------------------
e2e_expect_rc "a responder opens an incident -> 0" 0 as_resp incident open --id INC-4711 --severity 1 \
	--title "orders API returns 500" --service orders
e2e_check "the answer shows it open, SEV1" eval 'grep -q "^incident  *INC-4711$" <<<"$e2e_out" && grep -q "^severity  *1$" <<<"$e2e_out" && grep -q "^state  *open$" <<<"$e2e_out"'
e2e_expect_rc "the same id again -> 1" 1 as_resp incident open --id INC-4711 --severity 2 --title again
e2e_check "...it says the incident exists" grep -q "INC-4711 already exists" <<<"$e2e_err"
e2e_expect_rc "an auditor may not open one -> 1" 1 as_aud incident open --id INC-9 --severity 3 --title x
e2e_expect_rc "incident list -> 0" 0 as_aud incident list
e2e_check "the open incident is listed" grep -q "^INC-4711  *1  *open  *0  *orders  .*orders API returns 500$" <<<"$e2e_out"
e2e_expect_rc "incident list --json -> 0" 0 as_aud incident list --json
e2e_check "list --json: id, source, severity, state, alerts" "$PY" -c 'import json, sys
l = {i["id"]: i for i in json.loads(sys.argv[1])["incidents"]}
i = l["INC-4711"]
assert (i["source"], i["severity"], i["state"], i["alerts"], i["service"]) == ("manual", 1, "open", [], "orders"), i' "$e2e_out"
e2e_expect_rc "an incident that does not exist -> 1" 1 as_aud incident show INC-0
e2e_expect_rc "an auditor may not resolve -> 1" 1 as_aud incident resolve INC-4711
e2e_expect_rc "the responder resolves it -> 0" 0 as_resp incident resolve INC-4711 --reason "rolled back 4.2.1"
e2e_check "it shows who and why" eval 'grep -q "^state  *resolved$" <<<"$e2e_out" && grep -q "^resolved by  *responder$" <<<"$e2e_out" && grep -q "resolved  *responder  *rolled back 4.2.1$" <<<"$e2e_out"'
e2e_expect_rc "resolving it again -> 1" 1 as_resp incident resolve INC-4711
e2e_check "...it says when it was resolved" grep -q "was resolved already, at 20" <<<"$e2e_err"
e2e_expect_rc "incident list (open ones) -> 0" 0 as_resp incident list
e2e_check "the resolved incident is not listed" eval '! grep -q "^INC-4711 " <<<"$e2e_out"'
e2e_expect_rc "incident list --all -> 0" 0 as_resp incident list --all
e2e_check "...but with --all it is" grep -q "^INC-4711  *1  *resolved " <<<"$e2e_out"
e2e_expect_rc "incident show --json -> 0" 0 as_resp incident show INC-4711 --json
e2e_check "show --json: the history, oldest first" "$PY" -c 'import json, sys
i = json.loads(sys.argv[1])
k = [(e["kind"], e["actor"]) for e in i["events"]]
assert k == [("opened", "responder"), ("resolved", "responder")], k
assert i["resolved_by"] == "responder" and i["resolved_at"], i' "$e2e_out"

e2e_expect_rc "an unknown API token -> 1" 1 env BREAKGLASS_TOKEN=bgt_not-a-real-token "$BG" incident list

# --- audit tail: the newest, narrowed, followed ------------------------------------------------
e2e_expect_rc "audit tail --incident -> 0" 0 as_aud audit tail --incident INC-4711 --json
e2e_check "...only the incident's records, oldest first" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])["records"]
assert [x["kind"] for x in r] == ["incident-open", "incident-open", "incident-resolve", "incident-resolve"], [x["kind"] for x in r]
assert [x["seq"] for x in r] == sorted(x["seq"] for x in r)' "$e2e_out"
e2e_expect_rc "audit tail -n 2 --user responder -> 0" 0 as_aud audit tail -n 2 --user responder
e2e_check "...two lines, both by the responder" eval '[ "$(wc -l <<<"$e2e_out")" = 2 ] && [ "$(grep -c " responder " <<<"$e2e_out")" = 2 ]'
e2e_expect_rc "audit tail --since in the future -> 0" 0 as_aud audit tail --since 2999-01-01T00:00:00Z --json
e2e_check "...nothing" e2e_same_json records "$e2e_out" '{"records":[]}'
e2e_expect_rc "audit tail --since garbage -> 2" 2 as_aud audit tail --since yesterday
follow=$E2E_STATE/follow.out
as_aud audit tail -f --incident INC-FOLLOW --json >"$follow" 2>&1 &
fpid=$!
sleep 1.5
as_resp incident open --id INC-FOLLOW --severity 3 --title "followed" >/dev/null
for _ in $(seq 1 50); do grep -q '"incident-open"' "$follow" && break; sleep 0.2; done
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
e2e_check "audit tail -f prints a new record as it commits, one JSON line" "$PY" -c 'import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{") and "seq" in l]
assert any(r["kind"] == "incident-open" and r["detail"]["incident"] == "INC-FOLLOW" for r in lines), lines' "$follow"

# --- the audit record ---------------------------------------------------------------------
e2e_expect_rc "the audit log -> 0" 0 as_aud audit tail --json --limit 1000
e2e_check "opening and resolving are on the record, naming the incident" "$PY" -c 'import json, sys
recs = json.loads(sys.argv[1])["records"]
recs = [r for r in recs if (r.get("detail") or {}).get("incident") == "INC-4711"]
kinds = [(r["kind"], r["actor"], r["decision"]) for r in recs]
assert ("incident-open", "responder", "allow") in kinds and ("incident-resolve", "responder", "allow") in kinds, kinds' "$e2e_out"
e2e_check "refusals of the API are on the record too, never the token" "$PY" -c 'import json, sys
recs = [r for r in json.loads(sys.argv[1])["records"] if r["kind"] == "api-refused"]
role = [r for r in recs if r["actor"] == "inc-auditor" and r["detail"]["path"] == "/api/v1/incidents"
        and r["detail"]["method"] == "POST" and r["detail"]["status"] == 403]
tok = [r for r in recs if r["actor"] is None and r["detail"]["status"] == 401]
assert role and tok and all(r["decision"] == "deny" for r in recs), recs[-3:]
assert "bgt_not-a-real-token" not in sys.argv[1]' "$e2e_out"

e2e_finish
