#!/usr/bin/env bash
# test_drill.sh - `breakglass drill` end to end (issue 11, point 4): a scenario that passes
# (every step shown and timed, alert to first query and the responder commands in
# result.json, the report in three formats, the audit export verifying offline with the
# keys kept beside it, DRILL in the trail, `drill list` showing it); every runbook of the
# folder without a scenario, the history from BREAKGLASS_DRILL_HISTORY, --json; a
# scenario with a broken runbook (a parameter its rules refuse) and one the folder lacks
# (both named, exit 1, the drill still closed and reported, listed as FAILED with their
# names); a scenario with a mistake (file:line, exit 2); and nothing of the run's own
# gateway touched, no temporary folder left behind.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}"
E2E_PREFIX="[drill] "
BG=$BREAKGLASS_BIN
RB="$REPO_ROOT/runbooks"
export BREAKGLASS_DYNALITE="$DYNALITE"

dir=$(e2e_tmpdir)
hist="$dir/history"
mkdir -p "$dir/tmp"
# The drill must not need (nor touch) the run's gateway: its URL and an admin's token
# are in the environment on purpose.
drill() { TMPDIR="$dir/tmp" BREAKGLASS_URL="${BREAKGLASS_URL:-}" \
	BREAKGLASS_TOKEN="${E2E_ADMIN_TOKEN:-}" "$BG" drill --runbooks "$RB" "$@"; }

# --- a scenario that passes ----------------------------------------------------------------
e2e_expect_rc "drill --scenario examples/drill.yaml -> 0" 0 \
	drill --scenario "$REPO_ROOT/examples/drill.yaml" --history "$hist"
out=$e2e_out
for step in "setup: local DynamoDB" "setup: gateway" "alert -> incident" "request (responder)" \
	"approve (scripted)" "run orders-of-customer" "run unstick-order" "close" \
	"audit: signed checkpoint" "report" "audit export + verify"; do
	e2e_check "progress: '$step' passed with its time" \
		grep -qE "^  ok   $(sed 's/[().+]/\\&/g' <<<"$step") +[0-9.]+ ms" <<<"$out"
done
e2e_check "progress: alert to first query in 2 responder commands" \
	grep -qE "^alert -> first successful query: [0-9.]+ ms of tool time in 2 responder commands" <<<"$out"
e2e_check "progress: passed, and where the results are" grep -qE "^drill [0-9a-fTZ-]+: passed$" <<<"$out"
folder=$(sed -n 's/^results: //p' <<<"$out")
e2e_check "the drill has a folder in the history" test -d "$folder"
e2e_check "result.json: passed, every step timed, alert to first query recorded" "$PY" - "$folder/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] is True and r["result"] == "passed", r
assert r["scenario"] == "orders stuck", r
names = [s["step"] for s in r["steps"]]
for want in ["alert -> incident", "request (responder)", "approve (scripted)",
             "run orders-of-customer", "run unstick-order", "close", "report",
             "audit export + verify"]:
    assert want in names, (want, names)
assert all(s["ok"] and isinstance(s["ms"], (int, float)) and s["ms"] >= 0 for s in r["steps"]), r["steps"]
t = r["alert_to_first_query_ms"]
assert isinstance(t, (int, float)) and 0 < t < 60000, t
assert r["responder_commands_to_first_query"] == 2, r
assert r["responder_commands"] == 3, r
assert r["path_ms"] >= t, r
assert isinstance(r["target_met"], bool), r  # a figure, not a timed assertion
assert [(b["id"], b["ok"]) for b in r["runbooks"]] == [("orders-of-customer", True), ("unstick-order", True)], r["runbooks"]
assert r["failed_runbooks"] == [], r
assert r["incident"] and r["request"] and r["started_at"] and r["user"], r
PY
for f in report.html report.md report.json audit.jsonl audit-pubkey.pem gateway.log; do
	e2e_check "the drill kept $f" test -s "$folder/$f"
done
e2e_check "the report says DRILL and holds both queries" "$PY" - "$folder/report.json" <<'PY'
import json, sys
r = json.dumps(json.load(open(sys.argv[1])))
assert "DRILL: orders stuck" in r, r[:400]
assert "orders-of-customer" in r and "unstick-order" in r
PY
e2e_check "report.md's title line says DRILL" grep -q "DRILL: orders stuck" "$folder/report.md"
e2e_expect_rc "the audit export verifies offline with the kept keys -> 0" 0 \
	"$BG" audit verify --file "$folder/audit.jsonl" --pubkey "$folder/audit-pubkey.pem"
e2e_check "...whole" grep -q "whole" <<<"$e2e_out"
e2e_check "the trail marks the drill: its alert's title, the request's reason" "$PY" - "$folder/audit.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
alerts = [r for r in recs if r.get("kind") == "alert"]
assert alerts and alerts[0]["detail"]["title"] == "DRILL: orders stuck", alerts
assert any("DRILL orders stuck" in json.dumps(r) for r in recs if r.get("kind") == "request")
PY
e2e_check "no secret of the drill in what it kept" eval '! grep -rqiE "totp_secret|BREAKGLASS_TOKEN=|secret_access_key\"" "$folder"'

e2e_expect_rc "drill list -> 0" 0 "$BG" drill list --history "$hist"
e2e_check "drill list shows it passed" grep -qE "^$(basename "$folder") +orders stuck +passed +[0-9]+ ms +-$" <<<"$e2e_out"

# --- every runbook of the folder, the history from the environment, --json ----------------
e2e_expect_rc "drill (every runbook) --json, history from BREAKGLASS_DRILL_HISTORY -> 0" 0 \
	env BREAKGLASS_DRILL_HISTORY="$hist" TMPDIR="$dir/tmp" "$BG" drill --runbooks "$RB" --json
e2e_check "...one JSON object: every runbook of the folder ran and passed" "$PY" - "$e2e_out" "$RB" <<'PY'
import json, os, sys
r = json.loads(sys.argv[1])
ids = sorted(f[:-5] for f in os.listdir(sys.argv[2]) if f.endswith(".yaml") and f != "tables.yaml")
assert r["ok"] and sorted(b["id"] for b in r["runbooks"]) == ids, (r["runbooks"], ids)
assert all(b["ok"] for b in r["runbooks"]), r["runbooks"]
assert os.path.isfile(os.path.join(r["folder"], "result.json")), r
PY

# --- broken runbooks: named, exit 1, still closed and reported ------------------------------
cat >"$dir/broken.yaml" <<'YAML'
name: orders stuck, broken
alert: {alertname: OrdersThrottled, severity: critical}
runbooks:
  - {id: orders-of-customer, params: {customer: "CUSTOMER#42"}}
  - {id: unstick-order, params: {customer: "CUSTOMER#42", order: "not-an-order", new: PENDING}}
  - {id: no-such-runbook}
YAML
e2e_expect_rc "a drill with broken runbooks -> 1" 1 drill --scenario "$dir/broken.yaml" --history "$hist"
out=$e2e_out
e2e_check "...the refused parameters named with the runbook" \
	grep -qE "^  FAIL run unstick-order .*parameter order must match" <<<"$out"
e2e_check "...the missing runbook named" grep -qE "^  FAIL run no-such-runbook .*no runbook no-such-runbook" <<<"$out"
e2e_check "...the good runbook still ran" grep -qE "^  ok   run orders-of-customer " <<<"$out"
e2e_check "...closed and reported all the same" grep -qE "^  ok   report " <<<"$out"
e2e_check "...the summary names both" grep -qE "^failed runbooks: no-such-runbook, unstick-order$" <<<"$out"
e2e_check "...FAILED" grep -qE "^drill [0-9a-fTZ-]+: FAILED$" <<<"$out"
bfolder=$(sed -n 's/^results: //p' <<<"$out")
e2e_check "result.json of the broken drill: FAILED, each runbook's error" "$PY" - "$bfolder/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] is False and r["result"] == "FAILED", r
assert r["failed_runbooks"] == ["no-such-runbook", "unstick-order"], r["failed_runbooks"]
b = {x["id"]: x for x in r["runbooks"]}
assert b["orders-of-customer"]["ok"] and not b["unstick-order"]["ok"], b
assert "parameter order" in b["unstick-order"]["error"], b
assert isinstance(r["alert_to_first_query_ms"], (int, float)), r
PY
e2e_expect_rc "the broken drill with --json -> 1" 1 drill --scenario "$dir/broken.yaml" --history "$dir/h-json" --json
e2e_check "...one JSON object with error, message naming the runbooks, exit" "$PY" - "$e2e_out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert (r["error"], r["exit"], r["ok"]) == ("drill_failed", 1, False), r
assert r["message"] == "runbooks failed: no-such-runbook, unstick-order", r["message"]
PY
e2e_check "the broken drill's report exists" test -s "$bfolder/report.html"
e2e_expect_rc "drill list -> 0" 0 "$BG" drill list --history "$hist"
e2e_check "drill list: the broken drill first, FAILED, naming its runbooks" "$PY" - "$e2e_out" "$(basename "$bfolder")" <<'PY'
import sys
lines = sys.argv[1].splitlines()
assert lines[0].startswith("DRILL"), lines
first = lines[1].split()
assert first[0] == sys.argv[2] and "FAILED" in first and first[-1] == "no-such-runbook,unstick-order", lines
assert len(lines) == 4 and all("passed" in l for l in lines[2:]), lines
PY
e2e_expect_rc "drill list --json -> 0" 0 "$BG" drill list --history "$hist" --json
e2e_check "...newest first, the failed runbooks of each" "$PY" - "$e2e_out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])["drills"]
assert len(d) == 3 and [x["ok"] for x in d] == [False, True, True], d
assert d[0]["failed_runbooks"] == ["no-such-runbook", "unstick-order"], d[0]
assert d[0]["id"] > d[1]["id"] > d[2]["id"], d
PY

# --- mistakes before anything starts --------------------------------------------------------
printf 'name: x\nrunbooks:\n  - {id: a, parms: {}}\n' >"$dir/typo.yaml"
e2e_expect_rc "a scenario with a mistake -> 2" 2 drill --scenario "$dir/typo.yaml" --history "$hist"
e2e_check "...with its file and line" grep -q "typo.yaml:3: .*parms" <<<"$e2e_err"
e2e_expect_rc "a missing scenario file -> 2" 2 drill --scenario "$dir/none.yaml" --history "$hist"
e2e_expect_rc "drill list with --scenario -> 2" 2 "$BG" drill list --scenario "$dir/typo.yaml"
e2e_expect_rc "drill list of an empty history -> 0" 0 "$BG" drill list --history "$dir/empty"
e2e_check "...says so" grep -q "no drills yet" <<<"$e2e_out"

# --- no DynamoDB to rehearse against: exit 3, the failed step recorded and listed ---------
e2e_expect_rc "a drill without dynalite -> 3" 3 env -C "$dir" BREAKGLASS_DYNALITE= PATH=/nonexistent \
	TMPDIR="$dir/tmp" "$BG" drill --runbooks "$RB" --history "$dir/nodb"
e2e_check "...says which step failed" grep -qE "^  FAIL setup: local DynamoDB .*cannot start dynalite" <<<"$e2e_out"
e2e_expect_rc "drill list -> 0" 0 "$BG" drill list --history "$dir/nodb" --json
e2e_check "...FAILED at that step, no runbook blamed" "$PY" - "$e2e_out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])["drills"]
assert len(d) == 1 and not d[0]["ok"] and d[0]["failed_runbooks"] == [], d
assert d[0]["failed_step"] == "setup: local DynamoDB", d
assert d[0]["alert_to_first_query_ms"] is None, d
PY

# --- nothing of the run's gateway touched, nothing left behind -----------------------------
if [ -n "${BREAKGLASS_URL:-}" ] && [ -n "${E2E_ADMIN_TOKEN:-}" ]; then
	e2e_expect_rc "the run's gateway: audit tail -> 0" 0 \
		env BREAKGLASS_TOKEN="$E2E_ADMIN_TOKEN" "$BG" audit tail -n 1000 --json
	e2e_check "...holds no record of a drill" eval '! grep -q "DRILL" <<<"$e2e_out"'
fi
e2e_check "no temporary folder left behind" test -z "$(ls -A "$dir/tmp")"
e2e_finish
