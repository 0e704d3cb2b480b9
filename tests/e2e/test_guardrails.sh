#!/usr/bin/env bash
# test_guardrails.sh - issue 10's guardrails, on a gateway of its own with a policy file:
#   rate: with guardrails.rate {per_second: 1, burst: 3}, boto3 firing GetItems at once
#   gets three through and the rest refused with RequestRateRefusedException (no retry by
#   botocore: RetryAttempts 0, one denial record each, nothing sent upstream for them);
#   after a pause the grant's requests pass again; another grant has its own bucket.
# Everything started here is stopped by PID.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[guardrails] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir) || exit 1
printf 'guardrails:\n  rate: {per_second: 1, burst: 3}\n' >"$dir/policy.yaml"
e2e_init_store "$dir" || e2e_fail "init" "breakglass init failed"
E2E_POLICY=$dir/policy.yaml e2e_serve "$dir" || e2e_fail "serve" "$(tail -n 5 "$dir/gateway.log")"
AT=$E2E_ADMIN_TOKEN AS=$E2E_ADMIN_SECRET
export BREAKGLASS_TOKEN=$AT
e2e_new_user_as "$AT" "$AS" gr-resp responder >"$dir/resp.json" || e2e_fail "user add" "$(cat "$dir/resp.json")"
RT=$(e2e_json token <"$dir/resp.json")
e2e_note_secret "$RT"
grant() { # prints the grant's id; its credentials go to $dir/$1.env
	local g
	g=$(e2e_grant "$AT" "$AS" --user gr-resp --table orders --op GetItem --for 15m | e2e_json id) || return 1
	BREAKGLASS_TOKEN=$RT "$BG" creds "$g" --format env >"$dir/$1.env" || return 1
	e2e_note_secret "$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$dir/$1.env" | tr -d "'\"")"
	printf '%s\n' "$g"
}
G1=$(grant g1) || e2e_fail "grant 1" "$G1"
G2=$(grant g2) || e2e_fail "grant 2" "$G2"

# fire ENVFILE N [PAUSE_S N2]: N GetItems at once with boto3, then after PAUSE_S seconds N2
# more; prints {"ok": [...], "refused": [[code, retries, message]...], "later_ok": n}.
fire() {
	(
		set -a
		source "$1"
		set +a
		"$PY" - "$BREAKGLASS_URL" "$2" "${3:-0}" "${4:-0}" <<'PY'
import json, sys, time
import boto3, botocore.config, botocore.exceptions
url, n, pause, n2 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
c = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                 config=botocore.config.Config(retries={"max_attempts": 5, "mode": "standard"}))
def one():
    try:
        c.get_item(TableName="orders", Key={"pk": {"S": "o1"}, "sk": {"S": "x"}})
        return None
    except botocore.exceptions.ClientError as e:
        return [e.response["Error"]["Code"], e.response["ResponseMetadata"].get("RetryAttempts"),
                e.response["Error"]["Message"]]
res = [one() for _ in range(n)]
later = 0
if n2:
    time.sleep(pause)
    later = sum(1 for _ in range(n2) if one() is None)
print(json.dumps({"ok": sum(1 for r in res if r is None), "refused": [r for r in res if r],
                  "later_ok": later}))
PY
	)
}
out=$(fire "$dir/g1.env" 6 2.2 2)
e2e_check "three of six at once pass (burst 3)" "$PY" -c 'import json, sys; o = json.loads(sys.argv[1]); sys.exit(0 if o["ok"] == 3 else 1)' "$out"
e2e_check "...the rest are refused with RequestRateRefusedException, not retried" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if len(o["refused"]) == 3 and all(r[0] == "RequestRateRefusedException" and r[1] == 0 for r in o["refused"]) else 1)' "$out"
e2e_check "...saying the rate and when to try again" "$PY" -c 'import json, re, sys
m = json.loads(sys.argv[1])["refused"][0][2]
sys.exit(0 if "1 requests a second here, 3 at once" in m and "guardrails.rate" in m and re.search(r"try again in [0-9]+ ms", m) else 1)' "$out"
e2e_check "after a pause the grant's requests pass again (2 of 2)" "$PY" -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1])["later_ok"] == 2 else 1)' "$out"
out2=$(fire "$dir/g2.env" 3)
e2e_check "another grant has a bucket of its own (3 of 3 at once)" "$PY" -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1])["ok"] == 3 else 1)' "$out2"
e2e_check "each refusal is one denial record (no retries), none forwarded" "$PY" -c 'import json, sys
recs = json.load(sys.stdin)["records"]
den = [r for r in recs if r["kind"] == "denial" and "guardrails.rate" in (r["reason"] or "")]
req = [r for r in recs if r["kind"] == "request"]
ok = len(den) == 3 and len(req) == 3 + 2 and all(r["detail"]["error"].endswith("#RequestRateRefusedException") for r in den)
sys.exit(0 if ok else 1)' \
	< <("$BG" audit tail -n 500 --grant "$G1" --json)
e2e_finish
