#!/usr/bin/env bash
# test_report.sh - the post-incident report (issue 11, point 2) on a gateway of its own:
# an incident, a request with MFA approved by a second user, a runbook query through
# `breakglass run` and the same query with /usr/bin/aws, a denied Scan, revocation; then
# `breakglass report INC --format json` checked field by field against the incident's
# audit records (`audit export --incident`), the markdown and HTML written, the HTML
# checked for external references and a hostile alert title shown inert, and rendered in
# headless Chromium at a phone's width, the screenshot kept as an artefact.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[report] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir)
cat >"$dir/policy.yaml" <<'YAML'
criteria:
  - incident_open: {max_severity: 3}
  - reason: {min_length: 20}
approval:
  approvers: 1
YAML
printf 'audit:\n  checkpoint_every: 1000\n  checkpoint_seconds: 1\n' >"$dir/serve.yaml"
E2E_SERVE_ARGS=(--config "$dir/serve.yaml")
e2e_init_store "$dir" || e2e_fail "init" "breakglass init failed"
E2E_POLICY=$dir/policy.yaml e2e_serve "$dir" || e2e_fail "serve" "$(tail -n 5 "$dir/gateway.log")"
e2e_note_secret "$E2E_ADMIN_TOKEN"
AT=$E2E_ADMIN_TOKEN AS=$E2E_ADMIN_SECRET
r=$(e2e_new_user_as "$AT" "$AS" rep-resp responder) || e2e_fail "responder" "$r"
a=$(e2e_new_user_as "$AT" "$AS" rep-appr approver) || e2e_fail "approver" "$a"
RT=$(printf '%s' "$r" | e2e_json token) RS=$(printf '%s' "$r" | e2e_json totp_secret)
PT=$(printf '%s' "$a" | e2e_json token) PS=$(printf '%s' "$a" | e2e_json totp_secret)
e2e_note_secret "$RT"
e2e_note_secret "$PT"
as_resp() { BREAKGLASS_TOKEN=$RT "$BG" "$@"; }
as_adm() { BREAKGLASS_TOKEN=$AT "$BG" "$@"; }

# --- the incident --------------------------------------------------------------------------
HOSTILE='orders <script>alert("x")</script> & "quotes" '"'"'too'"'"
e2e_expect_rc "an incident with a hostile title -> 0" 0 as_resp incident open --id INC-77 --severity 2 \
	--title "$HOSTILE"
e2e_expect_rc "a request with MFA -> 0" 0 as_resp request --incident INC-77 --runbook orders-of-customer \
	--reason "customer 42 sees stuck orders <b>now</b>" --ticket INC-77 --for 10m --otp "$(e2e_otp "$RS")" --json
R1=$(printf '%s' "$e2e_out" | e2e_json id)
e2e_expect_rc "approved by another user -> 0" 0 env BREAKGLASS_TOKEN="$PT" "$BG" approve "$R1" \
	--otp "$(e2e_otp "$PS")" --reason "looks right"
e2e_expect_rc "the runbook through breakglass run -> 0" 0 as_resp run orders-of-customer --grant "$R1" \
	--param customer=CUSTOMER#42 --json
ddb() { BREAKGLASS_TOKEN=$RT "$BG" exec "$R1" -- /usr/bin/aws dynamodb "$@"; }
e2e_expect_rc "the same query with /usr/bin/aws -> 0" 0 ddb query --table-name orders \
	--key-condition-expression 'pk = :c AND begins_with(sk, :p)' --projection-expression 'pk, sk, #s, #t' \
	--expression-attribute-names '{"#s":"status","#t":"total"}' \
	--expression-attribute-values '{":c":{"S":"CUSTOMER#42"},":p":{"S":"ORDER#"}}' \
	--return-consumed-capacity TOTAL
e2e_expect_rc "a Scan -> denied (254)" 254 ddb scan --table-name orders
e2e_expect_rc "revoked -> 0" 0 as_resp revoke "$R1"
sleep 2 # a checkpoint covers the revocation (checkpoint_seconds: 1)

# --- the incident's records, and the report built from them ----------------------------------
e2e_expect_rc "audit export --incident -> 0" 0 as_adm audit export --incident INC-77
printf '%s\n' "$e2e_out" >"$dir/export.jsonl"
e2e_check "the export holds the incident's records and its grant's (creds, queries, denial, revoke)" \
	"$PY" -c 'import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
kept = [r for r in recs if not r.get("redacted") and r["kind"] != "checkpoint"]
kinds = [r["kind"] for r in kept]
for k in ("incident-open", "request", "request-approve", "creds", "response", "denial", "revoke"):
    assert k in kinds, (k, kinds)
assert all(r.get("grant_id") == sys.argv[2] or (r.get("detail") or {}).get("incident") == "INC-77" for r in kept), kept
assert recs[-1]["kind"] == "checkpoint", recs[-1]' "$dir/export.jsonl" "$R1"
e2e_expect_rc "audit verify the export -> 0" 0 as_adm audit verify --file "$dir/export.jsonl"
as_adm audit pubkey >"$dir/audit.pem"
e2e_expect_rc "report --format json -> 0" 0 as_adm report INC-77 --format json --pubkey "$dir/audit.pem"
printf '%s' "$e2e_out" >"$dir/report.json"
e2e_check "the report holds every event, field by field against the audit records" "$PY" - \
	"$dir/report.json" "$dir/export.jsonl" "$R1" "$HOSTILE" <<'PY'
import json, sys
from datetime import datetime
m = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
R1, hostile = sys.argv[3], sys.argv[4]
kept = [r for r in recs if not r.get("redacted") and r["kind"] != "checkpoint"]
by = lambda k: [r for r in kept if r["kind"] == k]
ms = lambda ts: datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
# every record is on the timeline, except responses (folded into their query)
assert [t["seq"] for t in m["timeline"]] == [r["seq"] for r in kept if r["kind"] != "response"], m["timeline"]
inc = m["incident"]
o = by("incident-open")[0]
assert inc["id"] == "INC-77" and inc["title"] == hostile and inc["severity"] == 2, inc
assert inc["opened_at"] == o["ts"] and inc["opened_by"] == "rep-resp", inc
acc = [r for r in by("request") if r["op"] == "request"][0]
appr = by("request-approve")[0]
rev = by("revoke")[0]
assert len(m["requests"]) == 1, m["requests"]
q = m["requests"][0]
assert q["id"] == R1 and q["seq"] == acc["seq"] and q["requester"] == "rep-resp", q
assert q["reason"] == acc["detail"]["reason"] and q["runbooks"] == acc["detail"]["runbooks"], q
assert q["criteria"] == acc["detail"]["criteria"] and q["duration_seconds"] == 600 and q["mfa"] is True, q
assert [(c["check"], c["ok"]) for c in q["criteria"]] == [("incident_open", True), ("reason", True)], q["criteria"]
assert [(a["actor"], a["decision"], a["reason"], a["seq"]) for a in q["approvals"]] == \
    [("rep-appr", "approve", "looks right", appr["seq"])], q["approvals"]
assert appr["detail"]["grant"] == R1 and q["expires_at"] == appr["detail"]["grant_expires_at"], appr
assert q["granted_at"] == appr["ts"] and q["solo"] is False and q["grant_inferred"] is False, q
assert q["revoked_at"] == rev["ts"] and q["revoked_by"] == "rep-resp" and q["state"] == "revoked", q
ddb = [r for r in by("request") if r["op"] != "request"]
resp = {r["request_id"]: r for r in by("response")}
assert len(m["queries"]) == len(ddb) == 2, m["queries"]
for got, r in zip(m["queries"], ddb):
    a = resp[r["request_id"]]
    assert got["seq"] == r["seq"] and got["response_seq"] == a["seq"], got
    assert got["ts"] == r["ts"] and got["actor"] == r["actor"] and got["grant"] == R1, got
    assert got["op"] == "Query" and got["tables"] == "orders", got
    assert got["runbook"] == r["detail"]["runbook"] and got["runbook"]["id"] == "orders-of-customer", got
    assert got["items"] == a["detail"]["items"] == 3 and got["count"] == a["detail"]["count"], got
    assert got["keys"] == a["detail"]["keys"] and got["keys_total"] == 3, got
    assert abs(got["consumed_capacity"] - a["detail"]["consumed_capacity"]["CapacityUnits"]) < 1e-9, got
    assert got["latency_ms"] == round(ms(a["ts"]) - ms(r["ts"])), (got, r["ts"], a["ts"])
    assert got["status"] == 200 and got["outcome"] == "answered", got
assert got["user_agent"] == r["detail"]["user_agent"], got
den = by("denial")
assert [(d["seq"], d["op"], d["reason"], d["actor"]) for d in m["denials"]] == \
    [(d["seq"], "Scan", d["reason"], "rep-resp") for d in den], m["denials"]
assert [a["kind"] for a in m["anomalies"]] == ["denial"], m["anomalies"]
assert m["writes"] == [], m["writes"]
assert abs(m["capacity"]["total"] - 1.0) < 1e-9 and m["capacity"]["budget"] is None, m["capacity"]
assert [p["seq"] for p in m["capacity_points"]] == [resp[r["request_id"]]["seq"] for r in ddb]
v = m["verification"]
cps = [r["seq"] for r in recs if r["kind"] == "checkpoint"]
assert v["done"] and v["ok"] and v["records"] == len(recs), v
assert v["first_checkpoint"] == cps[0] and v["last_checkpoint"] == cps[-1], v
assert v["signed_seq"] >= kept[-1]["seq"], v
assert m["counts"]["queries"] == 2 and m["counts"]["denials"] == 1, m["counts"]
PY

e2e_expect_rc "report with a budget of 1 unit -> 0" 0 as_adm report INC-77 --format json --budget 1
e2e_check "...the budget is in the model, not passed (1.0 of 1)" "$PY" -c 'import json, sys
m = json.loads(sys.argv[1]); assert m["capacity"]["budget"] == 1.0, m["capacity"]
assert "budget_exhausted" not in [a["kind"] for a in m["anomalies"]], m["anomalies"]' "$e2e_out"
e2e_expect_rc "report with a budget of 0 units -> 0" 0 as_adm report INC-77 --format json --budget 0
e2e_check "...exhausted by the first response" "$PY" -c 'import json, sys
m = json.loads(sys.argv[1]); a = [x for x in m["anomalies"] if x["kind"] == "budget_exhausted"]
assert len(a) == 1 and a[0]["seq"] == m["queries"][0]["response_seq"], m["anomalies"]' "$e2e_out"
as_adm report INC-77 >"$dir/stdout.md" 2>/dev/null
e2e_check "the markdown on stdout shows each criterion's result" \
	grep -q "Criterion reason: held" "$dir/stdout.md"
e2e_expect_rc "report --format md --out -> 0" 0 as_adm report INC-77 --format md --out "$dir/report.md"
e2e_check "...says where and what" grep -q "report written to $dir/report.md (.* bytes): 2 queries, 1 denials, 1 anomalies; audit trail verified" <<<"$e2e_out"
e2e_check "the markdown names the request, the runbook, the denial and the learnings" eval \
	'grep -q "$R1" "$dir/report.md" && grep -q "orders-of-customer" "$dir/report.md" && grep -q "dynamodb:Scan" "$dir/report.md" && grep -q "^## Learnings" "$dir/report.md"'
e2e_check "...with the hostile title escaped" eval \
	'grep -qF "orders &lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; \"quotes\"" "$dir/report.md" && ! grep -q "<script" "$dir/report.md"'
e2e_expect_rc "report --format html --out --json -> 0" 0 as_adm report INC-77 --format html --out "$dir/report.html" --json
e2e_check "...the summary as JSON" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); assert o["verified"] is True and o["queries"] == 2 and o["format"] == "html", o' "$e2e_out"
e2e_check "the HTML is one file: no script, no external reference" "$PY" - "$dir/report.html" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
assert "<script" not in h.lower(), "a script element"
assert not re.search(r"""(src|href|action|poster|data)\s*=\s*["']?\s*(https?:)?//""", h, re.I), "an external src/href"
assert not re.search(r"@import|url\s*\(", h, re.I), "CSS that fetches"
assert h.count("<svg") == 1 and h.count("</svg>") == 1 and "<polyline" in h, "the chart"
assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;too&#39;" in h
assert "&lt;b&gt;now&lt;/b&gt;" in h and "@media print" in h and "width=device-width" in h
PY
e2e_expect_rc "report of an incident with no records -> 1" 1 as_adm report INC-NONE
e2e_expect_rc "report with an unknown format -> 2" 2 as_adm report INC-77 --format pdf
e2e_expect_rc "a responder may not read the audit trail -> 1" 1 as_resp report INC-77

# --- the HTML in headless Chromium, at a phone's width -----------------------------------------
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || e2e_fail "chromium is installed" "not found (scripts/install-deps.sh)"
shot=$E2E_STATE/logs/report.png
rm -f "$shot"
e2e_expect_rc "chromium renders the report -> 0" 0 timeout 90 "$CHROME" --headless --no-sandbox \
	--disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir="$dir/chromium" \
	--screenshot="$shot" --window-size=412,900 "file://$dir/report.html"
# Kept beyond the run too (the suite removes its state folder when everything passed).
mkdir -p "$REPO_ROOT/build/e2e-logs" && cp -f "$shot" "$dir/report.html" "$REPO_ROOT/build/e2e-logs/" 2>/dev/null
e2e_check "the screenshot is kept, and is not blank" "$PY" - "$shot" <<'PY'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (412, 900), (w, h)
assert len(b) > 10000, len(b)  # a blank page compresses to a few hundred bytes
PY
e2e_finish
