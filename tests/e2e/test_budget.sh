#!/usr/bin/env bash
# test_budget.sh - issue 10's capacity budgets, on a gateway of its own with a policy
# (guardrails.budget {read: 3}) and a runbook folder whose order-by-key has budget
# {read: 2}:
#   a table grant's GetItems (0.5 units each in dynalite) pass until 3 units are spent;
#   the next is refused with CapacityBudgetExceededException by boto3 (no retry), the
#   AWS CLI and the JS SDK v3, naming the budget, what was spent and how to get more;
#   none of the refused requests is forwarded (no request record); clients that did not
#   ask for ConsumedCapacity never see it; each response record holds the charge.
#   `grant show` and `status` show the spend against the budget; after a restart of the
#   gateway the budget is still spent.
#   A runbook grant's `breakglass run` (1 unit a run: consistent reads) passes twice and
#   is refused the third time by the runbook's own budget; `run` shows the spend.
#   A Query runbook with max_response_bytes: 120 has its three-order answer withheld with
#   ResponseSizeRefusedException; the response record says why.
#   `runbook lint` refuses a malformed budget and a size cap on a write.
# Everything started here is stopped by PID.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[budget] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir) || exit 1
rb=$(e2e_tmpdir) || exit 1
cp "$REPO_ROOT/runbooks/tables.yaml" "$rb/"
{ cat "$REPO_ROOT/runbooks/order-by-key.yaml"; printf 'budget: {read: 2}\n'; } >"$rb/order-by-key.yaml"
{ cat "$REPO_ROOT/runbooks/orders-of-customer.yaml"; printf 'max_response_bytes: 120\n'; } >"$rb/orders-of-customer.yaml"
printf 'guardrails:\n  budget: {read: 3}\n' >"$dir/policy.yaml"

# --- lint ------------------------------------------------------------------------------------
e2e_expect_rc "lint of a runbook with a budget -> 0" 0 "$BG" runbook lint --runbooks "$rb"
bad=$(e2e_tmpdir)
cp "$REPO_ROOT/runbooks/tables.yaml" "$bad/"
{ cat "$REPO_ROOT/runbooks/order-by-key.yaml"; printf 'budget: {reads: 2}\n'; } >"$bad/order-by-key.yaml"
{ cat "$REPO_ROOT/runbooks/unstick-order.yaml"; printf 'max_response_bytes: 1000\n'; } >"$bad/unstick-order.yaml"
e2e_expect_rc "lint of a misspelt budget and a size cap on a write -> 1" 1 "$BG" runbook lint --runbooks "$bad"
e2e_check "...names the misspelt key" grep -q "budget.reads: unknown key" <<<"$e2e_out$e2e_err"
e2e_check "...and the cap on a write" grep -q "max_response_bytes caps what a read returns" <<<"$e2e_out$e2e_err"
e2e_expect_rc "runbook show of a runbook with a budget -> 0" 0 "$BG" runbook show order-by-key --runbooks "$rb"
e2e_check "...shows the budget" grep -q "^budget: *read 2 capacity units a grant" <<<"$e2e_out"
e2e_expect_rc "runbook show --json -> 0" 0 "$BG" runbook show orders-of-customer --runbooks "$rb" --json
e2e_check "...has the size cap" "$PY" -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["max_response_bytes"] == 120 else 1)' <<<"$e2e_out"

# --- a gateway of our own ----------------------------------------------------------------------
e2e_init_store "$dir" || e2e_fail "init" "breakglass init failed"
E2E_RUNBOOKS=$rb E2E_POLICY=$dir/policy.yaml e2e_serve "$dir" || e2e_fail "serve" "$(tail -n 5 "$dir/gateway.log")"
AT=$E2E_ADMIN_TOKEN AS=$E2E_ADMIN_SECRET
export BREAKGLASS_TOKEN=$AT
e2e_new_user_as "$AT" "$AS" bu-resp responder >"$dir/resp.json" || e2e_fail "user add" "$(cat "$dir/resp.json")"
RT=$(e2e_json token <"$dir/resp.json")
e2e_note_secret "$RT"
G1=$(e2e_grant "$AT" "$AS" --user bu-resp --table orders --op GetItem --for 15m | e2e_json id)
[ -n "$G1" ] || e2e_fail "table grant" "no id"
BREAKGLASS_TOKEN=$RT "$BG" creds "$G1" --format env >"$dir/g1.env" || e2e_fail "creds" "g1"
e2e_note_secret "$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$dir/g1.env" | tr -d "'\"")"

# boto N: N GetItems with boto3 (standard retries on); prints {"ok", "cc_seen", "refused"}.
boto() {
	(
		set -a
		source "$dir/g1.env"
		set +a
		"$PY" - "$BREAKGLASS_URL" "$1" <<'PY'
import json, sys
import boto3, botocore.config, botocore.exceptions
url, n = sys.argv[1], int(sys.argv[2])
c = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                 config=botocore.config.Config(retries={"max_attempts": 5, "mode": "standard"}))
ok, cc, refused = 0, 0, []
for _ in range(n):
    try:
        a = c.get_item(TableName="orders", Key={"pk": {"S": "CUSTOMER#42"}, "sk": {"S": "ORDER#1001"}})
        ok += 1
        cc += "ConsumedCapacity" in a
        assert a["ResponseMetadata"]["RetryAttempts"] == 0, a["ResponseMetadata"]
    except botocore.exceptions.ClientError as e:
        refused.append([e.response["Error"]["Code"], e.response["ResponseMetadata"].get("RetryAttempts"),
                        e.response["Error"]["Message"]])
print(json.dumps({"ok": ok, "cc_seen": cc, "refused": refused}))
PY
	)
}
out=$(boto 7)
e2e_check "boto3: six GetItems (0.5 units each) pass under a 3-unit budget" "$PY" -c 'import json, sys; o = json.loads(sys.argv[1]); sys.exit(0 if o["ok"] == 6 else 1)' "$out"
e2e_check "...none of them shows ConsumedCapacity (the client did not ask)" "$PY" -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1])["cc_seen"] == 0 else 1)' "$out"
e2e_check "...the seventh is refused: CapacityBudgetExceededException, not retried" "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])["refused"]
sys.exit(0 if len(r) == 1 and r[0][0] == "CapacityBudgetExceededException" and r[0][1] == 0 else 1)' "$out"
e2e_check "...naming the budget, the spend and how to get more" "$PY" -c 'import json, sys
m = json.loads(sys.argv[1])["refused"][0][2]
sys.exit(0 if "read budget: 3 of 3 read capacity units" in m and "guardrails.budget" in m and "new grant" in m else 1)' "$out"
(
	set -a
	source "$dir/g1.env"
	set +a
	/usr/bin/aws dynamodb get-item --endpoint-url "$BREAKGLASS_URL" --region us-east-1 --table-name orders \
		--key '{"pk": {"S": "CUSTOMER#42"}, "sk": {"S": "ORDER#1001"}}' >"$dir/cli.out" 2>"$dir/cli.err"
	echo $? >"$dir/cli.rc"
)
e2e_check "AWS CLI: refused too, with the exception's name" grep -q "CapacityBudgetExceededException" "$dir/cli.err"
e2e_check "...and a non-zero exit" test "$(cat "$dir/cli.rc")" -ne 0
js=$(
	set -a
	source "$dir/g1.env"
	set +a
	cd "$REPO_ROOT" && node --input-type=module -e '
import * as ddb from "@aws-sdk/client-dynamodb";
const c = new ddb.DynamoDBClient({region: "us-east-1", endpoint: process.argv[1], maxAttempts: 3});
try {
  await c.send(new ddb.GetItemCommand({TableName: "orders", Key: {pk: {S: "CUSTOMER#42"}, sk: {S: "ORDER#1001"}}}));
  console.log(JSON.stringify({ok: true}));
} catch (e) {
  console.log(JSON.stringify({ok: false, name: e.name, attempts: e.$metadata && e.$metadata.attempts}));
}' "$BREAKGLASS_URL" 2>&1
)
e2e_check "JS SDK v3: refused with CapacityBudgetExceededException after one attempt" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); sys.exit(0 if o.get("name") == "CapacityBudgetExceededException" and o.get("attempts") == 1 else 1)' "$js"
e2e_check "the trail: 6 requests forwarded, 6 charged responses, 3 denials, nothing else" "$PY" -c 'import json, sys
recs = json.load(sys.stdin)["records"]
kinds = [r["kind"] for r in recs]
resp = [r for r in recs if r["kind"] == "response"]
den = [r for r in recs if r["kind"] == "denial"]
ok = kinds.count("request") == 6 and len(resp) == 6 and len(den) == 3
ok = ok and all(r["detail"]["charged"]["read"] == 0.5 and r["detail"]["consumed_capacity"]["CapacityUnits"] == 0.5 for r in resp)
ok = ok and all(r["detail"]["error"].endswith("#CapacityBudgetExceededException") for r in den)
sys.exit(0 if ok else 1)' < <("$BG" audit tail -n 500 --grant "$G1" --json)

e2e_expect_rc "grant show -> 0" 0 "$BG" grant show "$G1"
e2e_check "...shows the spend against the budget" grep -q "^capacity *read 3 of 3 units (spent), write 0 units" <<<"$e2e_out"
e2e_expect_rc "grant show --json -> 0" 0 "$BG" grant show "$G1" --json
e2e_check "...usage in the JSON" "$PY" -c 'import json, sys
u = json.load(sys.stdin)["usage"]
sys.exit(0 if u["capacity"]["read"] == {"spent": 3.0, "budget": 3.0} and u["capacity"]["write"]["budget"] is None and u["seconds_left"] > 0 else 1)' <<<"$e2e_out"
e2e_expect_rc "status -> 0" 0 "$BG" status
e2e_check "...shows the grant's spend" grep -q "read 3 of 3 units (spent)" <<<"$e2e_out"

# --- a restart keeps the budget spent -----------------------------------------------------------
kill "$E2E_GATEWAY_PID" && wait "$E2E_GATEWAY_PID" 2>/dev/null
E2E_RUNBOOKS=$rb E2E_POLICY=$dir/policy.yaml e2e_serve "$dir" || e2e_fail "serve again" "$(tail -n 5 "$dir/gateway.log")"
out=$(boto 1)
e2e_check "after a restart: still refused (the spend is rebuilt from the trail)" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); sys.exit(0 if o["ok"] == 0 and o["refused"][0][0] == "CapacityBudgetExceededException" else 1)' "$out"
e2e_expect_rc "grant show after the restart -> 0" 0 "$BG" grant show "$G1"
e2e_check "...still 3 of 3" grep -q "^capacity *read 3 of 3 units (spent)" <<<"$e2e_out"

# --- a runbook's own budget ------------------------------------------------------------------------
G2=$(e2e_grant "$AT" "$AS" --user bu-resp --runbook order-by-key --for 15m | e2e_json id)
[ -n "$G2" ] || e2e_fail "runbook grant" "no id"
run() {
	BREAKGLASS_TOKEN=$RT "$BG" run order-by-key --grant "$G2" --param customer=CUSTOMER#42 --param order=ORDER#1001
}
e2e_expect_rc "run 1 (1 unit: a consistent read) -> 0" 0 run
e2e_check "...shows the spend and time left" grep -Eq "^grant $G2: read 1 of 3 units, write 0 units, [0-9]+m.* left" <<<"$e2e_out"
e2e_expect_rc "run 2 -> 0" 0 run
e2e_expect_rc "run 3 -> 1 (refused)" 1 run
e2e_check "...by the runbook's budget, by name" grep -q "runbook order-by-key has spent its read budget: 2 of 2 read capacity units (the runbook's budget)" <<<"$e2e_err"
e2e_expect_rc "grant show of the runbook grant -> 0" 0 "$BG" grant show "$G2"
e2e_check "...the runbook's spend against its budget" grep -Eq "runbook +order-by-key: read 2 of 2 units \(spent\)" <<<"$e2e_out"

# --- a runbook's response size cap ------------------------------------------------------------------
G3=$(e2e_grant "$AT" "$AS" --user bu-resp --runbook orders-of-customer --for 15m | e2e_json id)
[ -n "$G3" ] || e2e_fail "runbook grant 3" "no id"
e2e_expect_rc "run orders-of-customer (3 orders, over 120 bytes) -> 1 (withheld)" 1 \
	env BREAKGLASS_TOKEN="$RT" "$BG" run orders-of-customer --grant "$G3" --param customer=CUSTOMER#42
e2e_check "...ResponseSizeRefusedException naming the runbook and its cap" \
	grep -Eq "ResponseSizeRefusedException: breakglass: the answer is [0-9]+ bytes, over runbook orders-of-customer's max_response_bytes \(120\)" <<<"$e2e_err"
e2e_check "...the response record has the reason and the capacity, no keys" "$PY" -c 'import json, sys
resp = [r for r in json.load(sys.stdin)["records"] if r["kind"] == "response"]
d = resp[-1]["detail"] if resp else {}
sys.exit(0 if "max_response_bytes" in d.get("size_error", "") and d.get("charged") and "keys" not in d else 1)' \
	< <("$BG" audit tail -n 50 --grant "$G3" --json)
e2e_finish
