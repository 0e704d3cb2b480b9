#!/usr/bin/env bash
# test_runbooks.sh - a runbook grant through the real gateway with Debian's AWS CLI: the
# request the runbook describes (and the same request written differently) gets the same
# items as a direct call; everything else is an AccessDeniedException that is audited and
# never forwarded (the escape suite); pages past the cap; the write template with its
# condition.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_RESPONDER_TOKEN:?}"
E2E_PREFIX="[runbooks] "
BG=$BREAKGLASS_BIN
RB="$REPO_ROOT/runbooks"

# --- the table the example runbooks are for, loaded from their fixtures -------------------
e2e_aws_direct dynamodb create-table --table-name orders \
	--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
	AttributeName=status,AttributeType=S \
	--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
	--global-secondary-indexes 'IndexName=by-status,KeySchema=[{AttributeName=status,KeyType=HASH},{AttributeName=sk,KeyType=RANGE}],Projection={ProjectionType=ALL},ProvisionedThroughput={ReadCapacityUnits=5,WriteCapacityUnits=5}' \
	--provisioned-throughput ReadCapacityUnits=5,WriteCapacityUnits=5 >/dev/null
"$PY" - "$RB/fixtures/orders.json" "$E2E_DYNALITE_URL" <<'PY' || e2e_fail "load fixtures" "python"
import json, sys, boto3
items = json.load(open(sys.argv[1]))
# Five more orders of one customer, for paging.
items += [{"pk": {"S": "CUSTOMER#99"}, "sk": {"S": "ORDER#%d" % i}, "status": {"S": "PAID"}, "total": {"N": "1"}}
          for i in range(1, 6)]
c = boto3.client("dynamodb", endpoint_url=sys.argv[2], region_name="us-east-1",
                 aws_access_key_id="direct", aws_secret_access_key="direct")
for it in items:
    c.put_item(TableName="orders", Item=it)
PY

# --- the grant ---------------------------------------------------------------------------
adm=$(e2e_admin runbooks)
ADM_TOKEN=$(printf '%s' "$adm" | e2e_json token)
ADM_SECRET=$(printf '%s' "$adm" | e2e_json totp_secret)
g=$(e2e_grant "$ADM_TOKEN" "$ADM_SECRET" --user "$E2E_RESPONDER" --runbook orders-of-customer,unstick-order \
	--for 30m --reason "e2e runbooks")
G=$(printf '%s' "$g" | e2e_json id)
e2e_check "a runbook grant is made" [ -n "$G" ]
e2e_check "it pins both runbooks with their hashes" "$PY" -c 'import json, re, sys
g = json.loads(sys.argv[1])
assert g["kind"] == "runbook" and sorted(r["id"] for r in g["runbooks"]) == ["orders-of-customer", "unstick-order"]
assert all(re.fullmatch("[0-9a-f]{64}", r["hash"]) for r in g["runbooks"])
assert g["tables"] == ["orders"] and sorted(g["ops"]) == ["Query", "UpdateItem"], g' "$g"
hash=$("$BG" runbook list --runbooks "$RB" --json | "$PY" -c 'import json, sys
print([r["hash"] for r in json.load(sys.stdin)["runbooks"] if r["id"] == "orders-of-customer"][0])')
e2e_expect_rc "grant show lists the pinned runbooks" 0 env BREAKGLASS_TOKEN="$ADM_TOKEN" "$BG" grant show "$G"
e2e_check "grant show: runbook orders-of-customer @ its hash" grep -q "^runbook  *orders-of-customer @ $hash\$" <<<"$e2e_out"
e2e_expect_rc "a grant naming an unknown runbook -> 1" 1 env BREAKGLASS_TOKEN="$ADM_TOKEN" "$BG" grant \
	--user "$E2E_RESPONDER" --runbook no-such-runbook --for 5m --reason "e2e runbooks" --otp "$(e2e_otp "$ADM_SECRET")"
e2e_check "...says which" grep -q "no runbook no-such-runbook" <<<"$e2e_err"
e2e_expect_rc "runbooks and tables together -> 2" 2 env BREAKGLASS_TOKEN="$ADM_TOKEN" "$BG" grant \
	--user "$E2E_RESPONDER" --runbook orders-of-customer --table orders --op Query --for 5m --otp 123456

envs=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" creds "$G" --format env) || e2e_fail "creds" "$envs"
eval "$envs"
e2e_note_secret "$AWS_SECRET_ACCESS_KEY"
e2e_note_secret "$AWS_SESSION_TOKEN"
gw() { "$AWS" --endpoint-url "$BREAKGLASS_URL" --output json dynamodb "$@"; }
direct_items=$(e2e_aws_direct dynamodb query --table-name orders \
	--key-condition-expression 'pk = :c AND begins_with(sk, :p)' \
	--expression-attribute-values '{":c":{"S":"CUSTOMER#42"},":p":{"S":"ORDER#"}}' \
	--projection-expression 'pk, sk, #s, #t' --expression-attribute-names '{"#s":"status","#t":"total"}' \
	--query Items)
same_items() { "$PY" -c 'import json, sys
a = json.loads(sys.argv[1]); b = json.loads(sys.argv[2])
k = lambda i: json.dumps(i, sort_keys=True)
sys.exit(0 if sorted(map(k, a)) == sorted(map(k, b)) and len(a) == 3 else 1)' "$1" "$2"; }

# --- the runbook's own request, and the same request written differently ------------------
e2e_expect_rc "the runbook's query (as runbook show prints it) -> 0" 0 gw query --table-name orders \
	--key-condition-expression 'pk = :customer AND begins_with(sk, :prefix)' \
	--projection-expression 'pk, sk, #status, #total' \
	--expression-attribute-names '{"#status":"status","#total":"total"}' \
	--expression-attribute-values '{":customer":{"S":"CUSTOMER#42"},":prefix":{"S":"ORDER#"}}' \
	--page-size 25 --max-items 100 --query Items
e2e_check "the same three items as a direct call" same_items "$e2e_out" "$direct_items"
e2e_expect_rc "other placeholders, spacing, AND's operands swapped -> 0" 0 gw query --table-name orders \
	--key-condition-expression 'begins_with ( sk , :x )   and   #k = :y' \
	--projection-expression '#t,pk ,#s,sk' \
	--expression-attribute-names '{"#k":"pk","#s":"status","#t":"total"}' \
	--expression-attribute-values '{":y":{"S":"CUSTOMER#42"},":x":{"S":"ORDER#"}}' --query Items
e2e_check "...the same items" same_items "$e2e_out" "$direct_items"
e2e_expect_rc "a narrower projection and a smaller Limit -> 0" 0 gw query --table-name orders \
	--key-condition-expression 'pk = :c AND begins_with(sk, :p)' --projection-expression 'pk, sk' \
	--expression-attribute-values '{":c":{"S":"CUSTOMER#42"},":p":{"S":"RETURN#"}}' --page-size 5 --query Items
e2e_check "...returns the one return" "$PY" -c 'import json, sys; i = json.loads(sys.argv[1]); sys.exit(0 if len(i) == 1 and set(i[0]) == {"pk", "sk"} else 1)' "$e2e_out"

# --- the escape suite: every one denied, audited, never forwarded ----------------------------
denied() { # NAME ARGS... : AccessDeniedException, exit 254
	local name=$1
	shift
	e2e_expect_rc "$name -> denied" 254 gw "$@"
	e2e_check "$name: AccessDeniedException" grep -q "AccessDeniedException" <<<"$e2e_err"
}
KC='pk = :c AND begins_with(sk, :p)'
V='{":c":{"S":"CUSTOMER#42"},":p":{"S":"ORDER#"}}'
N='{"#s":"status","#t":"total"}'
P='pk, sk, #s, #t'
before=$(BREAKGLASS_TOKEN=$ADM_TOKEN "$BG" audit tail --after 0 --limit 1000 --json | "$PY" -c 'import json, sys; r = json.load(sys.stdin)["records"]; print(r[-1]["seq"])')
denied "another table" query --table-name Orders --key-condition-expression 'customer = :c' \
	--expression-attribute-values '{":c":{"S":"c-100"}}'
denied "another index" query --table-name orders --index-name by-status \
	--key-condition-expression '#s = :c' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":c":{"S":"STUCK"}}'
denied "a Scan" scan --table-name orders
denied "an added filter" query --table-name orders --key-condition-expression "$KC" \
	--filter-expression '#s = :st' --projection-expression "$P" \
	--expression-attribute-names "$N" \
	--expression-attribute-values '{":c":{"S":"CUSTOMER#42"},":p":{"S":"ORDER#"},":st":{"S":"STUCK"}}'
denied "a changed comparator" query --table-name orders --key-condition-expression 'pk = :c AND sk > :p' \
	--projection-expression "$P" --expression-attribute-names "$N" --expression-attribute-values "$V"
denied "a wider projection" query --table-name orders --key-condition-expression "$KC" \
	--projection-expression "$P, email" --expression-attribute-names "$N" --expression-attribute-values "$V"
e2e_check "...the message names what differed" grep -q "email" <<<"$e2e_err"
denied "no projection" query --table-name orders --key-condition-expression "$KC" --expression-attribute-values "$V"
denied "Select ALL_ATTRIBUTES" query --table-name orders --key-condition-expression "$KC" \
	--projection-expression "$P" --expression-attribute-names "$N" --expression-attribute-values "$V" \
	--select ALL_ATTRIBUTES
denied "#name aliased onto another attribute" query --table-name orders --key-condition-expression "$KC" \
	--projection-expression "$P" --expression-attribute-names '{"#s":"email","#t":"total"}' \
	--expression-attribute-values "$V"
denied "a larger Limit" query --table-name orders --key-condition-expression "$KC" \
	--projection-expression "$P" --expression-attribute-names "$N" --expression-attribute-values "$V" \
	--page-size 26 --max-items 26
denied "legacy KeyConditions" query --table-name orders \
	--key-conditions '{"pk":{"AttributeValueList":[{"S":"CUSTOMER#42"}],"ComparisonOperator":"EQ"}}'
denied "a parameter outside its pattern" query --table-name orders --key-condition-expression "$KC" \
	--projection-expression "$P" --expression-attribute-names "$N" \
	--expression-attribute-values '{":c":{"S":"CUSTOMER#x"},":p":{"S":"ORDER#"}}'
e2e_check "...the message names the parameter and its rule" grep -q "parameter customer must match" <<<"$e2e_err"
denied "a parameter of the wrong type" query --table-name orders --key-condition-expression "$KC" \
	--projection-expression "$P" --expression-attribute-names "$N" \
	--expression-attribute-values '{":c":{"N":"42"},":p":{"S":"ORDER#"}}'
denied "a parameter outside its enum" query --table-name orders --key-condition-expression "$KC" \
	--projection-expression "$P" --expression-attribute-names "$N" \
	--expression-attribute-values '{":c":{"S":"CUSTOMER#42"},":p":{"S":"INVOICE#"}}'
denied "PartiQL" execute-statement --statement "SELECT * FROM orders"
denied "a batch" batch-get-item --request-items '{"orders":{"Keys":[{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"}}]}}'
denied "a transaction" transact-get-items --transact-items '[{"Get":{"TableName":"orders","Key":{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"}}}}]'
denied "a write without the condition" update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"}}' --update-expression 'SET #s = :n' \
	--expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":n":{"S":"PENDING"}}'
denied "a wider update" update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"}}' --update-expression 'SET #s = :n, total = :z' \
	--condition-expression '#s = :st' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":n":{"S":"PENDING"},":st":{"S":"STUCK"},":z":{"N":"0"}}'
denied "a write of another fixed value" update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"}}' --update-expression 'SET #s = :n' \
	--condition-expression '#s = :st' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":n":{"S":"PENDING"},":st":{"S":"SHIPPED"}}'
# Nothing of these reached DynamoDB: the gateway writes a "request" record before it forwards
# anything, and every record since is a denial.
e2e_check "every escape is on the record as a denial, none was forwarded" "$PY" -c 'import json, sys, subprocess
recs = json.loads(subprocess.run([sys.argv[1], "audit", "tail", "--after", sys.argv[2], "--limit", "1000", "--json"],
    capture_output=True, text=True, env={"BREAKGLASS_TOKEN": sys.argv[3], "BREAKGLASS_URL": sys.argv[4]}).stdout)["records"]
mine = [r for r in recs if r["grant_id"] == sys.argv[5]]
assert len(mine) == 20, len(mine)
assert all(r["kind"] == "denial" and r["decision"] == "deny" for r in mine), [(r["kind"], r["reason"]) for r in mine]' \
	"$BG" "$before" "$ADM_TOKEN" "$BREAKGLASS_URL" "$G"
e2e_check "the item the denied writes aimed at is unchanged" eval '[ "$(e2e_aws_direct dynamodb get-item --table-name orders --key "{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":\"ORDER#1001\"}}" --query Item.status.S)" = "\"STUCK\"" ]'

# --- the Limit is added when absent (tightened, never widened) -----------------------------
e2e_expect_rc "no Limit: allowed, tightened" 0 gw query --table-name orders --key-condition-expression "$KC" \
	--projection-expression "$P" --expression-attribute-names "$N" --expression-attribute-values "$V" --no-paginate
e2e_check "the audit shows the runbook, its parameters and the Limit added" "$PY" -c 'import json, sys, subprocess
recs = json.loads(subprocess.run([sys.argv[1], "audit", "tail", "--after", "0", "--limit", "1000", "--json"],
    capture_output=True, text=True, env={"BREAKGLASS_TOKEN": sys.argv[2], "BREAKGLASS_URL": sys.argv[3]}).stdout)["records"]
r = [r for r in recs if r["grant_id"] == sys.argv[4] and r["kind"] == "request"][-1]
rb = r["detail"]["runbook"]
assert rb["id"] == "orders-of-customer" and rb["params"] == {"customer": {"S": "CUSTOMER#42"}, "prefix": {"S": "ORDER#"}}, rb
assert rb["tightened"] == {"Limit": 25}, rb' "$BG" "$ADM_TOKEN" "$BREAKGLASS_URL" "$G"

# --- paging: four pages for one set of parameters, then denied -----------------------------
"$PY" - "$BREAKGLASS_URL" <<'PY'
import boto3, os, sys
from botocore.exceptions import ClientError
c = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1")
args = dict(TableName="orders", KeyConditionExpression="pk = :c AND begins_with(sk, :p)",
            ProjectionExpression="pk, sk, #s, #t", ExpressionAttributeNames={"#s": "status", "#t": "total"},
            ExpressionAttributeValues={":c": {"S": "CUSTOMER#99"}, ":p": {"S": "ORDER#"}}, Limit=1)
pages, start, first_lek = 0, None, None
while True:
    try:
        a = c.query(**args, **({"ExclusiveStartKey": start} if start else {}))
    except ClientError as e:
        print("PASS [runbooks] the fifth page is denied" if pages == 4 and e.response["Error"]["Code"] == "AccessDeniedException"
              else "FAIL [runbooks] the fifth page is denied: %d pages, %s" % (pages, e))
        break
    pages += 1
    start = a.get("LastEvaluatedKey")
    first_lek = first_lek or start
    if not start:
        print("FAIL [runbooks] the fifth page is denied: ran out after %d pages" % pages)
        break
# A key remembered from an earlier page cannot restart the count past the cap.
c.query(**args)
try:
    c.query(**args, ExclusiveStartKey=start)
    print("FAIL [runbooks] a remembered LastEvaluatedKey is refused: it was allowed")
except ClientError as e:
    print("PASS [runbooks] a remembered LastEvaluatedKey is refused" if e.response["Error"]["Code"] == "AccessDeniedException"
          else "FAIL [runbooks] a remembered LastEvaluatedKey is refused: %s" % e)
PY

# --- breakglass run: the same runbooks without writing the request ---------------------------
as_resp() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" "$BG" "$@"; }
e2e_expect_rc "run orders-of-customer -> 0" 0 as_resp run orders-of-customer --grant "$G" \
	--param customer=CUSTOMER#42
e2e_check "run prints a table of the three orders" eval '[ "$(grep -c "^CUSTOMER#42 *ORDER#100[123] " <<<"$e2e_out")" = 3 ]'
e2e_check "...with the pages and capacity" grep -q "^(3 items, 1 page, .* capacity units)$" <<<"$e2e_out"
e2e_expect_rc "run --json -> 0" 0 as_resp run orders-of-customer --grant "$G" --param customer=CUSTOMER#42 --json
e2e_check "run --json: the same items as a direct call" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); d = json.loads(sys.argv[2])
k = lambda i: json.dumps(i, sort_keys=True)
assert o["runbook"] == "orders-of-customer" and o["count"] == 3 and o["pages"] == 1, o
assert sorted(map(k, o["items"])) == sorted(map(k, d)), (o["items"], d)' "$e2e_out" "$direct_items"
e2e_expect_rc "run with a parameter outside its pattern -> 1" 1 as_resp run orders-of-customer --grant "$G" \
	--param customer=CUSTOMER#x
e2e_check "...names the rule" grep -q "parameter customer must match" <<<"$e2e_err"
e2e_expect_rc "run without a required parameter -> 1" 1 as_resp run orders-of-customer --grant "$G"
e2e_check "...says it is required" grep -q "parameter customer is required" <<<"$e2e_err"
e2e_expect_rc "run with an unknown parameter -> 1" 1 as_resp run orders-of-customer --grant "$G" \
	--param customer=CUSTOMER#42 --param colour=red
e2e_expect_rc "run of a runbook the grant does not name -> 1" 1 as_resp run stuck-orders --grant "$G" \
	--param status=STUCK
e2e_check "...says so" grep -q "does not name runbook stuck-orders" <<<"$e2e_err"
e2e_expect_rc "run by someone else -> 1" 1 env BREAKGLASS_TOKEN="$ADM_TOKEN" "$BG" run orders-of-customer \
	--grant "$G" --param customer=CUSTOMER#42
e2e_expect_rc "run --param without = -> 2" 2 as_resp run orders-of-customer --grant "$G" --param customer

# --- the write template ---------------------------------------------------------------------
e2e_expect_rc "the runbook's conditional update -> 0" 0 gw update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1002"}}' --update-expression 'SET #s = :new' \
	--condition-expression '#s = :stuck' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":new":{"S":"PENDING"},":stuck":{"S":"STUCK"}}'
e2e_check "the order is PENDING now" eval '[ "$(e2e_aws_direct dynamodb get-item --table-name orders --key "{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":\"ORDER#1002\"}}" --query Item.status.S)" = "\"PENDING\"" ]'
e2e_expect_rc "again: DynamoDB's condition refuses it" 254 gw update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1002"}}' --update-expression 'SET #s = :new' \
	--condition-expression '#s = :stuck' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":new":{"S":"PENDING"},":stuck":{"S":"STUCK"}}'
e2e_check "...ConditionalCheckFailedException" grep -q "ConditionalCheckFailed" <<<"$e2e_err"
e2e_expect_rc "run unstick-order -> 0" 0 as_resp run unstick-order --grant "$G" \
	--param customer=CUSTOMER#42 --param order=ORDER#1003 --param new=CANCELLED
e2e_check "...says what it did" grep -q "^done: UpdateItem by runbook unstick-order" <<<"$e2e_out"
e2e_check "the order is CANCELLED now" eval '[ "$(e2e_aws_direct dynamodb get-item --table-name orders --key "{\"pk\":{\"S\":\"CUSTOMER#42\"},\"sk\":{\"S\":\"ORDER#1003\"}}" --query Item.status.S)" = "\"CANCELLED\"" ]'
e2e_expect_rc "run unstick-order again: the condition refuses it -> 1" 1 as_resp run unstick-order --grant "$G" \
	--param customer=CUSTOMER#42 --param order=ORDER#1003 --param new=PENDING
e2e_check "...ConditionalCheckFailedException" grep -q "ConditionalCheckFailed" <<<"$e2e_err"
denied "an order id outside the pattern" update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"RETURN#7"}}' --update-expression 'SET #s = :new' \
	--condition-expression '#s = :stuck' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":new":{"S":"PENDING"},":stuck":{"S":"STUCK"}}'
e2e_finish
