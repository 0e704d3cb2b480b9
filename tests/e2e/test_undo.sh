#!/usr/bin/env bash
# test_undo.sh - issue 10's safe writes, on a dynalite and a gateway of this test's own
# (the repository's runbooks, the orders table loaded from their fixtures): a runbook write
# (unstick-order, through `breakglass run`, boto3 and the AWS CLI) has its before-image on
# its response record and the request record says ReturnValues ALL_OLD was added; the
# clients that did not ask get no Attributes (and a correct x-amz-crc32: boto3 made no
# retry, the AWS CLI succeeded); `breakglass undo` puts the real item back (read from
# dynalite directly); an undo after a later change is refused with the difference and
# the item left alone; an undo is done once, not by another responder, by an admin; undo
# records in the audit, which still verifies; a table grant's writes are captured too (a
# PutItem that created an item is undone by deleting it, its key from DescribeTable; a
# DeleteItem by putting the item back), each answer naming its record
# (x-breakglass-audit-seq); batch and transaction writes and writes outside a template are
# denied for a runbook grant.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}"
E2E_PREFIX="[undo] "
BG=$BREAKGLASS_BIN

# --- lint: a write's ReturnValues, and updates undo cannot compute -------------------------
lint=$(e2e_tmpdir)
cp "$REPO_ROOT/runbooks/tables.yaml" "$lint/"
sed -e 's/^id: unstick-order/id: bump-order/' -e 's/^update: .*/update: "SET #status = :new ADD retries :one"/' \
	-e 's/^values: .*/values: {":stuck": {S: STUCK}, ":one": {N: "1"}}/' -e '/^tests:/,$d' \
	"$REPO_ROOT/runbooks/unstick-order.yaml" >"$lint/bump-order.yaml"
e2e_expect_rc "lint of an update undo cannot compute -> 0" 0 "$BG" runbook lint --runbooks "$lint"
e2e_check "...with a warning naming the file, line and clause" \
	grep -q "bump-order.yaml:8: warning: undo cannot compute ADD" <<<"$e2e_out"
printf 'return_values: [ALL_NEW]\n' >>"$lint/bump-order.yaml"
e2e_expect_rc "lint of a write allowing ReturnValues ALL_NEW -> 1" 1 "$BG" runbook lint --runbooks "$lint"
e2e_check "...says the gateway asks for ALL_OLD" grep -q "return_values: ALL_NEW cannot be allowed" <<<"$e2e_out"

logs=$(e2e_tmpdir)
# Our own dynalite: the orders items this test writes and undoes are nobody else's.
e2e_start_dynalite "$logs" || {
	e2e_fail "a dynalite of our own" "$(tail -n 5 "$logs"/*.log)"
	e2e_finish
	exit 1
}
e2e_orders_table || e2e_fail "the orders table" "create or load failed"
E2E_RUNBOOKS=$REPO_ROOT/runbooks
e2e_start_gateway "$logs" || {
	e2e_fail "a gateway of our own" "$(tail -n 5 "$logs"/*.log)"
	e2e_finish
	exit 1
}
ADM=$E2E_ADMIN_TOKEN
e2e_note_secret "$ADM"
resp=$(e2e_new_user undo-resp responder) || e2e_fail "responder" "$resp"
RT=$(printf '%s' "$resp" | e2e_json token)
other=$(e2e_new_user undo-other responder) || e2e_fail "other responder" "$other"
OT=$(printf '%s' "$other" | e2e_json token)
e2e_note_secret "$RT"
e2e_note_secret "$OT"
G=$(e2e_grant "$ADM" "$E2E_ADMIN_SECRET" --user undo-resp --runbook unstick-order --for 15m | e2e_json id)
[ -n "$G" ] || e2e_fail "grant" "no grant id"
envs=$(BREAKGLASS_TOKEN=$RT "$BG" creds "$G" --format env) || e2e_fail "creds" "$envs"
eval "$envs"
e2e_note_secret "$AWS_SECRET_ACCESS_KEY"
e2e_note_secret "$AWS_SESSION_TOKEN"

as_resp() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	BREAKGLASS_TOKEN="$RT" "$BG" "$@"; }
as_other() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	BREAKGLASS_TOKEN="$OT" "$BG" "$@"; }
as_admin() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	BREAKGLASS_TOKEN="$ADM" "$BG" "$@"; }
gw() { "$AWS" --endpoint-url "$BREAKGLASS_URL" --output json dynamodb "$@"; }
# The item as dynalite has it (canonical JSON), or "null".
item() { item_of CUSTOMER#42 "ORDER#$1"; }
item_of() { e2e_aws_direct dynamodb get-item --table-name orders --consistent-read \
	--key "{\"pk\":{\"S\":\"$1\"},\"sk\":{\"S\":\"$2\"}}" |
	"$PY" -c 'import json, sys; t = sys.stdin.read().strip(); print(json.dumps(json.loads(t).get("Item") if t else None, sort_keys=True))'; }
# Every audit record (as the admin sees them), one JSON array.
records() { as_admin audit tail --after 0 --limit 1000 --json |
	"$PY" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["records"]))'; }
# The seq of the newest record of KIND for our grant with op OP.
last_seq() { records | "$PY" -c 'import json, sys
r = [x for x in json.load(sys.stdin) if x["grant_id"] == sys.argv[1] and x["kind"] == sys.argv[2] and x["op"] == sys.argv[3]]
print(r[-1]["seq"] if r else "")' "$G" "$1" "$2"; }

orig1001=$(item 1001)
orig1002=$(item 1002)
orig1003=$(item 1003)

# --- a runbook write records its before-image ----------------------------------------------
e2e_expect_rc "run unstick-order on ORDER#1001 -> 0" 0 as_resp run unstick-order --grant "$G" \
	--param customer=CUSTOMER#42 --param order=ORDER#1001 --param new=PENDING
e2e_check "dynalite: ORDER#1001 is PENDING" eval '[ "$(item 1001 | "$PY" -c "import json,sys; print(json.load(sys.stdin)[\"status\"][\"S\"])")" = PENDING ]'
W1=$(last_seq response UpdateItem)
e2e_check "run prints the undo command with the write's response record" \
	grep -qx "undo: breakglass undo $W1 --grant $G" <<<"$e2e_out"
e2e_check "the write's response record holds the before-image, exactly the item before" "$PY" -c 'import json, sys
recs = json.loads(sys.argv[1]); seq = int(sys.argv[2]); orig = json.loads(sys.argv[3])
resp = [r for r in recs if r["seq"] == seq][0]
req = [r for r in recs if r["request_id"] == resp["request_id"] and r["kind"] == "request"][0]
d = resp["detail"]
assert json.dumps(d["before_image"], sort_keys=True) == json.dumps(orig, sort_keys=True), (d, orig)
assert d["key"] == {"pk": {"S": "CUSTOMER#42"}, "sk": {"S": "ORDER#1001"}}, d
assert req["detail"]["added"]["ReturnValues"] == "ALL_OLD", req["detail"]' "$(records)" "$W1" "$orig1001"

# boto3 and the AWS CLI did not ask for ReturnValues: they get no Attributes, with a CRC
# that checks (boto3 would retry on a mismatch; the CLI would fail after its retries).
"$PY" - "$BREAKGLASS_URL" <<'PY'
import boto3, sys
c = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1")
a = c.update_item(TableName="orders", Key={"pk": {"S": "CUSTOMER#42"}, "sk": {"S": "ORDER#1002"}},
                  UpdateExpression="SET #s = :new", ConditionExpression="#s = :stuck",
                  ExpressionAttributeNames={"#s": "status"},
                  ExpressionAttributeValues={":new": {"S": "CANCELLED"}, ":stuck": {"S": "STUCK"}})
ok = "Attributes" not in a and a["ResponseMetadata"]["RetryAttempts"] == 0
print(("PASS" if ok else "FAIL") + " [undo] boto3's write: no Attributes, no retry" + ("" if ok else ": %r" % a))
PY
e2e_expect_rc "the AWS CLI's write on ORDER#1003 -> 0" 0 gw update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1003"}}' --update-expression 'SET #s = :new' \
	--condition-expression '#s = :stuck' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":new":{"S":"PENDING"},":stuck":{"S":"STUCK"}}'
e2e_check "...prints no Attributes" eval '! grep -q Attributes <<<"$e2e_out"'
W2=$(records | "$PY" -c 'import json, sys
r = [x for x in json.load(sys.stdin) if x["kind"] == "response" and x["grant_id"] == sys.argv[1]
     and x["detail"].get("key", {}).get("sk") == {"S": "ORDER#1002"}]
print(r[-1]["seq"])' "$G")
W3REQ=$(last_seq request UpdateItem)

# --- undo: not by another responder, by the grant's user, once -------------------------------
e2e_expect_rc "undo by another responder -> 1" 1 as_other undo "$W1" --grant "$G"
e2e_check "...the item is still PENDING" eval '[ "$(item 1001 | grep -c PENDING)" = 1 ]'
e2e_expect_rc "undo with another grant named -> 1" 1 as_resp undo "$W1" --grant bg-AAAAAAAAAA
e2e_expect_rc "undo of a record that is not a write -> 1" 1 as_resp undo 1 --grant "$G"
e2e_expect_rc "undo without a seq -> 2" 2 as_resp undo --grant "$G"
e2e_expect_rc "undo $W1 --grant G by its user -> 0" 0 as_resp undo "$W1" --grant "$G"
e2e_check "...says what it put back" grep -q "^undone    the write of record $W1" <<<"$e2e_out"
e2e_check "dynalite: ORDER#1001 is exactly as before the write" [ "$(item 1001)" = "$orig1001" ]
e2e_expect_rc "the same undo again -> 1" 1 as_resp undo "$W1" --grant "$G"
e2e_check "...undone already" grep -q "undone already" <<<"$e2e_err"

# --- an undo after a later change is refused, with the difference, the item untouched -------
e2e_aws_direct dynamodb update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1002"}}' \
	--update-expression 'SET #s = :s, note = :n' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":s":{"S":"SHIPPED"},":n":{"S":"by hand"}}' >/dev/null
changed=$(item 1002)
e2e_expect_rc "undo after a later change -> 1" 1 as_resp undo "$W2" --grant "$G"
e2e_check "...says the item changed" grep -q "changed since the write" <<<"$e2e_err"
e2e_check "...shows the responder which attributes differ: status changed" grep -qF 'status changed since the write' <<<"$e2e_err"
e2e_check "...and the note added, without the values read past the runbook" eval 'grep -qF "note added since the write" <<<"$e2e_err" && ! grep -q "SHIPPED\|by hand" <<<"$e2e_err"'
e2e_check "dynalite: ORDER#1002 untouched" [ "$(item 1002)" = "$changed" ]
e2e_expect_rc "undo --json of it -> 1" 1 as_resp undo "$W2" --grant "$G" --json
e2e_check "...one JSON object with the message" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); assert o["exit"] == 1 and "status changed since the write" in o["message"], o' "$e2e_out"
e2e_expect_rc "an admin's undo of it -> 1 (refused the same)" 1 as_admin undo "$W2"
e2e_check "...shows the admin the values: status left CANCELLED, now SHIPPED" grep -qF 'status: the write left {"S":"CANCELLED"}, now {"S":"SHIPPED"}' <<<"$e2e_err"
e2e_check "...and the added note" grep -qF 'note: the write left null, now {"S":"by hand"}' <<<"$e2e_err"

# --- an admin may undo, and the request's seq names the write as well ---------------------------
e2e_expect_rc "undo by an admin, by the write's request seq -> 0" 0 as_admin undo "$W3REQ" --json
e2e_check "...answers the restore's records" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); assert o["op"] == "PutItem" and o["table"] == "orders" and o["request_seq"] > 0 and o["response_seq"] > o["request_seq"], o' "$e2e_out"
e2e_check "dynalite: ORDER#1003 is exactly as before the write" [ "$(item 1003)" = "$orig1003" ]

# --- a table grant's writes are captured too: a PutItem that created an item, a DeleteItem ---
G2=$(e2e_grant "$ADM" "$E2E_ADMIN_SECRET" --user undo-resp --table orders --op PutItem,DeleteItem \
	--for 15m | e2e_json id)
[ -n "$G2" ] || e2e_fail "table grant" "no grant id"
c2=$(BREAKGLASS_TOKEN=$RT "$BG" creds "$G2" --format json) || e2e_fail "creds of the table grant" "$c2"
e2e_note_secret "$(printf '%s' "$c2" | e2e_json secret_access_key)"
e2e_note_secret "$(printf '%s' "$c2" | e2e_json session_token)"
orig2001=$(item_of CUSTOMER#7 ORDER#2001)
seqs=$("$PY" - "$c2" <<'PY'
import boto3, json, sys
c = json.loads(sys.argv[1])
calls = []
db = boto3.client("dynamodb", endpoint_url=c["endpoint"], region_name=c["region"],
                  aws_access_key_id=c["access_key_id"], aws_secret_access_key=c["secret_access_key"],
                  aws_session_token=c["session_token"])
db.meta.events.register("after-call.dynamodb", lambda http_response, **kw: calls.append(http_response.headers.get("x-breakglass-audit-seq")))
a = db.put_item(TableName="orders", Item={"pk": {"S": "CUSTOMER#7"}, "sk": {"S": "ORDER#9001"}, "status": {"S": "NEW"}},
                ConditionExpression="attribute_not_exists(pk)")
b = db.delete_item(TableName="orders", Key={"pk": {"S": "CUSTOMER#7"}, "sk": {"S": "ORDER#2001"}})
assert "Attributes" not in a and "Attributes" not in b, (a, b)
print(" ".join(calls))
PY
)
read -r P1 D1 <<<"$seqs"
e2e_check "a table grant's PutItem and DeleteItem: each answer names its record" [ -n "$P1" ] && [ -n "$D1" ]
e2e_expect_rc "undo of the PutItem that created ORDER#9001 -> 0" 0 as_resp undo "$P1" --grant "$G2" --json
e2e_check "...deleted it again (the key from DescribeTable)" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); assert o["op"] == "DeleteItem" and o["restored"] is None and o["key"]["sk"] == {"S": "ORDER#9001"}, o' "$e2e_out"
e2e_check "dynalite: no ORDER#9001" [ "$(item_of CUSTOMER#7 ORDER#9001)" = null ]
e2e_expect_rc "undo of the DeleteItem of ORDER#2001 -> 0" 0 as_resp undo "$D1" --grant "$G2"
e2e_check "dynalite: ORDER#2001 is back as it was" [ "$(item_of CUSTOMER#7 ORDER#2001)" = "$orig2001" ]

# --- the records -------------------------------------------------------------------------------
e2e_check "the undos are on the record: request and response with undo_of, refusals as kind undo" "$PY" -c 'import json, sys
recs = json.loads(sys.argv[1]); w1 = int(sys.argv[2]); w2 = int(sys.argv[3])
reqs = [r for r in recs if r["kind"] == "request" and r["detail"].get("undo_of") == w1]
assert len(reqs) == 1 and reqs[0]["actor"] == "undo-resp" and reqs[0]["op"] == "PutItem", reqs
assert reqs[0]["request_id"] == "undo-%d" % w1, reqs
cond = reqs[0]["detail"]["body"]["ConditionExpression"]
assert "#u" in cond, cond
resps = [r for r in recs if r["kind"] == "response" and r["request_id"] == "undo-%d" % w1]
assert len(resps) == 1 and resps[0]["status"] == 200, resps
denied = [r for r in recs if r["kind"] == "undo" and r["detail"].get("undo_of") == w2]
assert denied and denied[-1]["decision"] == "deny" and denied[-1]["detail"]["difference"], denied
admin = [r for r in recs if r["kind"] == "request" and r["actor"] == "admin" and "undo_of" in r["detail"]]
assert len(admin) == 1, admin' "$(records)" "$W1" "$W2"
e2e_expect_rc "audit verify passes" 0 as_admin audit verify

# --- batch and transaction writes, and writes outside the template, are denied --------------
denied() { # NAME ARGS... : AccessDeniedException, exit 254
	local name=$1
	shift
	e2e_expect_rc "$name -> denied" 254 gw "$@"
	e2e_check "$name: AccessDeniedException" grep -q "AccessDeniedException" <<<"$e2e_err"
}
denied "BatchWriteItem" batch-write-item --request-items \
	'{"orders":[{"PutRequest":{"Item":{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"},"status":{"S":"GONE"}}}}]}'
denied "TransactWriteItems" transact-write-items --transact-items \
	'[{"Update":{"TableName":"orders","Key":{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"}},"UpdateExpression":"SET #s = :n","ConditionExpression":"#s = :o","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":n":{"S":"PENDING"},":o":{"S":"STUCK"}}}}]'
denied "a PutItem outside the template" put-item --table-name orders \
	--item '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"},"status":{"S":"GONE"}}' \
	--condition-expression 'attribute_exists(pk)'
denied "a DeleteItem outside the template" delete-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"}}' --condition-expression 'attribute_exists(pk)'
denied "the runbook's update asking ReturnValues ALL_NEW" update-item --table-name orders \
	--key '{"pk":{"S":"CUSTOMER#42"},"sk":{"S":"ORDER#1001"}}' --update-expression 'SET #s = :new' \
	--condition-expression '#s = :stuck' --expression-attribute-names '{"#s":"status"}' \
	--expression-attribute-values '{":new":{"S":"PENDING"},":stuck":{"S":"STUCK"}}' --return-values ALL_NEW
e2e_check "dynalite: ORDER#1001 still as before" [ "$(item 1001)" = "$orig1001" ]
e2e_finish
