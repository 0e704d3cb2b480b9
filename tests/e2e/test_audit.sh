#!/usr/bin/env bash
# test_audit.sh - after the client tests: the audit log, read with `breakglass audit tail
# --json`, holds a request and a response record for the allowed calls and a denial
# record for the denied ones, its hash chain links up, and no secret handed out during
# the run (secret access keys, session tokens, API tokens) appears in it, in the data
# directory or in the gateway's log.
#
# Runs last (run.sh orders it), so it sees what test_cli.sh, test_aws_cli.sh,
# test_boto3.py and test_js_sdk.mjs did; each of them notes its secrets in
# $E2E_STATE/secrets.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_ADMIN_TOKEN:?}"
E2E_PREFIX="[audit] "
BG=$BREAKGLASS_BIN

# Every record, paging with --after (1000 per page, the API's cap).
all="$E2E_STATE/audit.json"
: >"$all"
after=0
ok=1
while :; do
	page=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --json --after "$after" --limit 1000) || {
		ok=0
		break
	}
	printf '%s\n' "$page" >>"$all"
	last=$(printf '%s' "$page" | "$PY" -c 'import json, sys
r = json.load(sys.stdin)["records"]; print(r[-1]["seq"] if r else "")')
	[ -z "$last" ] && break
	after=$last
done
e2e_check "audit tail --json pages through the whole log" [ "$ok" = 1 ]

# Checks on the records, one PASS/FAIL line each (the Python prints them).
"$PY" - "$all" "$E2E_PREFIX" <<'EOF'
import json, sys
recs = []
for line in open(sys.argv[1]):
    if line.strip():
        recs.extend(json.loads(line)["records"])
prefix = sys.argv[2]
bad = 0
def check(ok, name, detail=""):
    global bad
    print(("PASS " if ok else "FAIL ") + prefix + name + ("" if ok else ": " + detail))
    bad += 0 if ok else 1

def has(kind, op=None, decision=None, pred=None):
    return [r for r in recs if r.get("kind") == kind and (op is None or r.get("op") == op)
            and (decision is None or r.get("decision") == decision) and (pred is None or pred(r))]

def tables(r):
    t = r.get("tables")
    return t if isinstance(t, list) else (t or "").split(",")

seqs = [r["seq"] for r in recs]
check(len(recs) > 0 and seqs == list(range(1, len(recs) + 1)), "seqs are 1..N without gaps",
      f"{len(recs)} records, first seqs {seqs[:5]}")
links = all(recs[i].get("prev_hash") == recs[i - 1].get("hash") for i in range(1, len(recs)))
check(links and all(r.get("hash") for r in recs), "each prev_hash is the previous record's hash")

for op in ("Query", "GetItem"):
    reqs = has("request", op, "allow", lambda r: "Orders" in tables(r))
    resps = has("response", op)
    check(len(reqs) > 0, f"request records for allowed {op} on Orders", f"{len(reqs)} found")
    check(len(resps) > 0 and any(r.get("status") == 200 for r in resps),
          f"response records (status 200) for {op}", f"{len(resps)} found")
    ids = {r.get("request_id") for r in reqs if r.get("request_id")}
    check(any(r.get("request_id") in ids for r in resps), f"{op}: a response shares its request's request_id")
    # Write-ahead: the request record comes before its response.
    first_req = {}
    for r in reqs:
        first_req.setdefault(r.get("request_id"), r["seq"])
    check(all(r["seq"] > first_req.get(r.get("request_id"), 0) for r in resps if r.get("request_id") in first_req),
          f"{op}: every response record follows its request record")

for op in ("Scan", "PutItem", "DeleteItem"):
    d = has("denial", op, "deny", lambda r: "Orders" in tables(r))
    check(len(d) > 0, f"denial records for {op} on Orders", f"{len(d)} found")
    # (Other test files may be granted writes elsewhere, e.g. on Users.)
    check(not has("request", op, "allow", lambda r: "Orders" in tables(r)),
          f"no allowed request record for {op} on Orders")
d = has("denial", decision="deny", pred=lambda r: "Users" in tables(r))
check(len(d) > 0, "denial records for the other table (Users)")
d = has("denial", decision="deny", pred=lambda r: "revoked" in (r.get("reason") or "").lower())
check(len(d) > 0, "denial records for revoked grants")
check(all(r.get("op") and r.get("tables") for r in d),
      "revoked-grant denials record the operation and tables attempted",
      str([(r.get("op"), r.get("tables")) for r in d if not (r.get("op") and r.get("tables"))][:3]))
d = has("denial", decision="deny",
        pred=lambda r: ((r.get("detail") or {}).get("error") or "").endswith("#ExpiredTokenException"))
check(len(d) > 0, "denial records for expired grants")
check(all(r.get("op") and r.get("tables") for r in d),
      "expired-grant denials record the operation and tables attempted",
      str([(r.get("op"), r.get("tables")) for r in d if not (r.get("op") and r.get("tables"))][:3]))
check(len(has("denial", pred=lambda r: not r.get("grant_id"))) > 0,
      "denials without a grant (unknown access keys) are recorded too")
check(len(has("creds")) > 0, "fetching creds is audited (kind creds)")
check(len(has("grant")) > 0 and len(has("revoke")) > 0, "grants and revocations are audited")
check(all(r.get("decision") == "deny" for r in has("denial")), "every denial record says deny")
sys.exit(1 if bad else 0)
EOF
py_rc=$?

# No secret anywhere: the audit as the API returns it, every file of the store, the log.
nsecrets=$(sort -u "$E2E_STATE/secrets" 2>/dev/null | grep -c .)
e2e_check "the tests handed out secrets to look for ($nsecrets)" [ "${nsecrets:-0}" -ge 8 ]
leaks=0
while IFS= read -r s; do
	[ -n "$s" ] || continue
	if grep -qF -- "$s" "$all"; then
		leaks=$((leaks + 1))
		echo "secret ${s:0:4}... found in the audit records" >&2
	fi
	if grep -rqaF -- "$s" "$E2E_DATA"; then
		leaks=$((leaks + 1))
		echo "secret ${s:0:4}... found under the data directory" >&2
	fi
	if grep -qaF -- "$s" "$E2E_GATEWAY_LOG"; then
		leaks=$((leaks + 1))
		echo "secret ${s:0:4}... found in the gateway log" >&2
	fi
done < <(sort -u "$E2E_STATE/secrets")
e2e_check "no secret access key, session token or API token in the audit, store or log" [ "$leaks" = 0 ]

# The human format: one line per record.
# (The same records: a timed checkpoint may have been added since $all was read.)
m=$("$PY" -c 'import json, sys; print(len(json.loads(open(sys.argv[1]).readline())["records"]))' "$all")
n=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --after 0 --limit "$m" | wc -l)
e2e_check "audit tail (human) prints one line per record" [ "$n" = "$m" ]
e2e_finish || exit 1
exit "$py_rc"
