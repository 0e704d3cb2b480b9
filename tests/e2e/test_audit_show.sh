#!/usr/bin/env bash
# test_audit_show.sh - `breakglass audit show SEQ` (issue 9, point 3) on a gateway of its
# own: a PutItem and a GetItem through the gateway and a denied Scan; show of a request's
# seq and of its response's seq both give the pair (joined by request_id) with the body,
# sizes and consumed capacity, and the grant; a denial joins its own record; the human
# form shows the same; an unknown SEQ is exit 1 with a clear message, a SEQ that is not a
# number exit 2; a responder is refused (403, exit 1); the API route answers the same;
# the JSON-lines page `audit verify` reads holds the JSON page's records.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[audit-show] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir)
"$BG" init --data "$dir/data" --admin as-admin --json >"$dir/admin.json" 2>"$dir/init.log" ||
	e2e_fail "init" "$(cat "$dir/init.log")"
AT=$(e2e_json token <"$dir/admin.json")
AS=$(e2e_json totp_secret <"$dir/admin.json")
e2e_note_secret "$AT"
E2E_DATA="$dir/data"
e2e_serve "$dir" || e2e_fail "serve" "$(cat "$dir/gateway.log")"
export BREAKGLASS_TOKEN=$AT

e2e_new_user_as "$AT" "$AS" as-resp responder >"$dir/resp.json" || e2e_fail "user add" "$(cat "$dir/resp.json")"
RT=$(e2e_json token <"$dir/resp.json")
e2e_note_secret "$RT"
e2e_grant "$AT" "$AS" --user as-resp --table orders --op GetItem,PutItem --for 15m >"$dir/grant.json" ||
	e2e_fail "grant" "$(cat "$dir/grant.json")"
G=$(e2e_json id <"$dir/grant.json")

BREAKGLASS_TOKEN=$RT "$BG" exec "$G" -- /usr/bin/aws dynamodb put-item --table-name orders \
	--item '{"pk":{"S":"show#1"},"sk":{"S":"x"},"note":{"S":"hello"}}' \
	--return-consumed-capacity TOTAL >"$dir/put.json" 2>&1 || e2e_fail "put-item" "$(cat "$dir/put.json")"
BREAKGLASS_TOKEN=$RT "$BG" exec "$G" -- /usr/bin/aws dynamodb get-item --table-name orders \
	--key '{"pk":{"S":"show#1"},"sk":{"S":"x"}}' >/dev/null 2>&1 || e2e_fail "get-item" "failed"
BREAKGLASS_TOKEN=$RT "$BG" exec "$G" -- /usr/bin/aws dynamodb scan --table-name orders >/dev/null 2>&1
e2e_check "a Scan outside the grant is refused" [ $? -ne 0 ]

"$BG" audit tail --grant "$G" -n 100 --json >"$dir/tail.json" || e2e_fail "audit tail" "$(cat "$dir/tail.json")"
read -r REQ RESP DEN < <("$PY" -c 'import json, sys
rs = json.load(open(sys.argv[1]))["records"]
put = [r for r in rs if r["op"] == "PutItem"]
req = [r for r in put if r["kind"] == "request"][0]
resp = [r for r in put if r["kind"] == "response" and r["request_id"] == req["request_id"]][0]
den = [r for r in rs if r["kind"] == "denial"][0]
print(req["seq"], resp["seq"], den["seq"])' "$dir/tail.json")
e2e_check "the PutItem's request and response records are found" [ -n "${REQ:-}" ] && [ -n "${RESP:-}" ]

e2e_expect_rc "audit show REQUEST-SEQ --json -> 0" 0 "$BG" audit show "$REQ" --json
printf '%s' "$e2e_out" >"$dir/show_req.json"
e2e_check "...the record, the request and the response joined by request_id, the grant" "$PY" -c 'import json, sys
o = json.load(open(sys.argv[1])); req, resp, g = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
assert o["record"]["seq"] == req, o["record"]
assert o["request"]["seq"] == req and o["response"]["seq"] == resp
assert o["request"]["request_id"] == o["response"]["request_id"]
assert [r["seq"] for r in o["related"]] == [req, resp]
assert o["related_more"] is False
body = o["request"]["detail"]["body"]
assert body["TableName"] == "orders" and body["Item"]["note"] == {"S": "hello"}, body
d = o["response"]["detail"]
assert d["bytes"] > 0 and d["outcome"] == "answered" and o["response"]["status"] == 200
assert "consumed_capacity" in d
assert o["grant"]["id"] == g and o["grant"]["user"] == "as-resp"' "$dir/show_req.json" "$REQ" "$RESP" "$G"

e2e_expect_rc "audit show RESPONSE-SEQ --json -> 0" 0 "$BG" audit show "$RESP" --json
e2e_check "...the same pair, whichever seq was given" "$PY" -c 'import json, sys
a = json.load(open(sys.argv[1])); b = json.loads(sys.argv[2])
assert b["record"]["seq"] == int(sys.argv[3])
assert a["request"] == b["request"] and a["response"] == b["response"] and a["grant"] == b["grant"]' \
	"$dir/show_req.json" "$e2e_out" "$RESP"

e2e_expect_rc "audit show RESPONSE-SEQ (human) -> 0" 0 "$BG" audit show "$RESP"
e2e_check "...names both records, marks the one asked for, shows body, bytes and grant" "$PY" -c 'import sys
t = sys.argv[1]; req, resp, g = sys.argv[2], sys.argv[3], sys.argv[4]
assert t.startswith("audit record %s, request " % resp), t
lines = t.splitlines()
assert any(l.startswith("  request ") and (" %s " % req) in l for l in lines), t
assert any(l.startswith("* response") and (" %s " % resp) in l for l in lines), t
assert "body: " in t and "show#1" in t and "bytes: " in t and "consumed_capacity: " in t
assert ("grant    id=%s user=as-resp" % g) in t, t' "$e2e_out" "$REQ" "$RESP" "$G"

e2e_expect_rc "audit show DENIAL-SEQ --json -> 0" 0 "$BG" audit show "$DEN" --json
e2e_check "...a denial is its request's answer: response = the denial, no request record" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); s = int(sys.argv[2])
assert o["response"]["seq"] == s and o["response"]["kind"] == "denial" and o["request"] is None
assert o["response"]["decision"] == "deny" and o["response"]["detail"]["error"]' "$e2e_out" "$DEN"

e2e_expect_rc "audit show 1 (init: no grant) -> 0" 0 "$BG" audit show 1 --json
e2e_check "...kind init, grant null" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); assert o["record"]["kind"] == "init" and o["grant"] is None' "$e2e_out"

e2e_expect_rc "audit show 999999 (no such record) -> 1" 1 "$BG" audit show 999999
e2e_check "...saying there is no such record" grep -q "there is no audit record 999999" <<<"$e2e_err"
e2e_expect_rc "audit show abc -> 2 (usage)" 2 "$BG" audit show abc
e2e_check "...saying it is not a sequence number" grep -q "not a sequence number" <<<"$e2e_err"
e2e_expect_rc "audit show (no SEQ) -> 2" 2 "$BG" audit show
e2e_expect_rc "a responder: audit show -> 1 (forbidden)" 1 env BREAKGLASS_TOKEN="$RT" "$BG" audit show "$REQ"
e2e_check "...403, an admin or an auditor only" grep -q "only an admin or an auditor" <<<"$e2e_err"

code=$(curl -s -o "$dir/api.json" -w '%{http_code}' -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/api/v1/audit/$RESP")
e2e_check "GET /api/v1/audit/SEQ -> 200 with the record" [ "$code" = 200 ] && grep -q "\"seq\": *$RESP" "$dir/api.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/api/v1/audit/0")
e2e_check "GET /api/v1/audit/0 -> 404" [ "$code" = 404 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/api/v1/audit/12x")
e2e_check "GET /api/v1/audit/12x -> 404" [ "$code" = 404 ]
# The JSON-lines page `audit verify` reads: the same records as the JSON page, keys sorted.
curl -s -D "$dir/page.head" -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/api/v1/audit?after=0&limit=7&format=jsonl" >"$dir/page.jsonl"
curl -s -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/api/v1/audit?after=0&limit=7" >"$dir/page.json"
e2e_check "GET /api/v1/audit?format=jsonl: the JSON page's records, one a line, keys sorted" "$PY" -c 'import json, sys
lines = open(sys.argv[1]).read().splitlines()
recs = json.load(open(sys.argv[2]))["records"]
assert len(lines) == 7 and [json.loads(l) for l in lines] == recs
assert all(list(json.loads(l)) == sorted(json.loads(l)) for l in lines)' "$dir/page.jsonl" "$dir/page.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/api/v1/audit?tail=5&format=jsonl")
e2e_check "format=jsonl with tail -> 400" [ "$code" = 400 ]
e2e_check "format=jsonl: X-Audit-Last-Seq is the last line's seq" "$PY" -c 'import json, sys
head = open(sys.argv[1]).read().lower()
last = [l.split(":", 1)[1].strip() for l in head.splitlines() if l.startswith("x-audit-last-seq:")]
lines = open(sys.argv[2]).read().splitlines()
assert last == [str(json.loads(lines[-1])["seq"])], (last, lines[-1][:80])' "$dir/page.head" "$dir/page.jsonl"
code=$(curl -s -D "$dir/end.head" -o "$dir/end.jsonl" -w '%{http_code}' -H "Authorization: Bearer $AT" "$BREAKGLASS_URL/api/v1/audit?after=999999&format=jsonl")
e2e_check "format=jsonl past the end -> 200, empty, X-Audit-Last-Seq: 0" [ "$code" = 200 ] && [ ! -s "$dir/end.jsonl" ] &&
	grep -qi '^x-audit-last-seq: 0' "$dir/end.head"
e2e_expect_rc "audit verify still whole" 0 "$BG" audit verify

e2e_finish
