#!/usr/bin/env bash
# test_tls.sh - TLS on the listener: a second gateway on the same store serves HTTPS with
# a certificate from a CA made here, and the three real clients reach DynamoDB through it
# trusting only that CA (the AWS CLI with --ca-bundle, boto3 with verify=, the JS SDK v3
# with an https.Agent's ca); a client that does not trust the CA is refused by TLS itself;
# plain HTTP is refused off loopback, a key readable by others is refused, and SIGTERM
# stops the TLS gateway with exit 0.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_ADMIN_TOKEN:?}"
E2E_PREFIX="[tls] "
BG=$BREAKGLASS_BIN
dir=$(mktemp -d "$E2E_STATE/tls.XXXXXX")

# --- a CA and a server certificate for 127.0.0.1 -------------------------------------------
(
	cd "$dir" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=breakglass test CA" -keyout ca.key -out ca.pem &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/CN=127.0.0.1" -keyout server.key -out server.csr &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext.cnf &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile ext.cnf -out server.pem && chmod 600 server.key
) >"$dir/openssl.log" 2>&1 || {
	e2e_fail "make a test CA and certificate" "$(tail -n 5 "$dir/openssl.log")"
	e2e_finish
	exit 1
}

# --- a grant, made before the TLS gateway starts (it loads live grants at start-up) --------
e2e_responder_grant --table Orders --op Query,GetItem --for 10m --reason "tls test" || {
	e2e_finish
	exit 1
}

start_tls_gateway() {
	local port=$1 log=$2
	shift 2
	env -u BREAKGLASS_TOKEN -u BREAKGLASS_URL \
		AWS_ACCESS_KEY_ID=gateway-upstream-key AWS_SECRET_ACCESS_KEY=gateway-upstream-secret \
		AWS_REGION=us-east-1 "$BG" serve --listen "127.0.0.1:$port" --upstream "$E2E_DYNALITE_URL" \
		--data "$E2E_DATA" "$@" >>"$log" 2>&1 &
	tls_pid=$!
	e2e_pids+=("$tls_pid")
}

port=$(e2e_free_port)
log="$E2E_STATE/logs/gateway-tls.log"
start_tls_gateway "$port" "$log" --tls-cert "$dir/server.pem" --tls-key "$dir/server.key"
if ! e2e_wait_port "$port" "$tls_pid" 20; then
	e2e_fail "TLS gateway starts" "$(tail -n 5 "$log")"
	e2e_finish
	exit 1
fi
url="https://127.0.0.1:$port"
e2e_check "start-up line names https://" grep -q "serving DynamoDB and the API on $url" "$log"

KEY='{"customer":{"S":"c-200"},"order_id":{"S":"o-9"}}'
want=$(e2e_aws_direct dynamodb get-item --table-name Orders --key "$KEY")

# --- AWS CLI ----------------------------------------------------------------------------------
got=$("$AWS" --endpoint-url "$url" --ca-bundle "$dir/ca.pem" --output json dynamodb get-item \
	--table-name Orders --key "$KEY" 2>"$dir/aws.err")
if [ -n "$want" ] && e2e_same_json Item "$got" "$want"; then
	e2e_pass "aws --ca-bundle: GetItem over TLS = direct"
else
	e2e_fail "aws --ca-bundle: GetItem over TLS = direct" "got: $got $(head -c 300 "$dir/aws.err")"
fi
e2e_expect_rc "aws without the CA: refused by certificate verification" 255 \
	"$AWS" --endpoint-url "$url" --cli-read-timeout 5 --cli-connect-timeout 5 dynamodb \
	get-item --table-name Orders --key "$KEY"
if printf '%s' "$e2e_err" | grep -qi "certificate\|SSL"; then
	e2e_pass "the untrusted client's error is about the certificate"
else
	e2e_fail "the untrusted client's error is about the certificate" "$(printf '%s' "$e2e_err" | head -c 300)"
fi

# --- boto3 ------------------------------------------------------------------------------------
out=$("$PY" - "$url" "$dir/ca.pem" <<'PYEOF' 2>&1
import json, sys
import boto3
url, ca = sys.argv[1], sys.argv[2]
c = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", verify=ca)
r = c.query(TableName="Orders", KeyConditionExpression="customer = :c",
            ExpressionAttributeValues={":c": {"S": "c-200"}})
print(json.dumps({"count": r["Count"]}))
PYEOF
)
direct=$(e2e_aws_direct dynamodb query --table-name Orders --key-condition-expression "customer = :c" \
	--expression-attribute-values '{":c":{"S":"c-200"}}' --query Count --output text)
if [ "$out" = "{\"count\": $direct}" ] && [ "$direct" -gt 0 ]; then
	e2e_pass "boto3 verify=CA: Query over TLS = direct ($direct items)"
else
	e2e_fail "boto3 verify=CA: Query over TLS = direct" "got: $out, direct $direct"
fi

# --- AWS SDK for JavaScript v3 ------------------------------------------------------------------
out=$(cd "$REPO_ROOT" && node --input-type=module - "$url" "$dir/ca.pem" <<'JSEOF' 2>&1
import { readFileSync } from "node:fs";
import https from "node:https";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";
const [url, ca] = process.argv.slice(2);
const client = new DynamoDBClient({
  endpoint: url, region: "us-east-1",
  requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: readFileSync(ca) }) }),
});
const r = await client.send(new GetItemCommand({ TableName: "Orders",
  Key: { customer: { S: "c-200" }, order_id: { S: "o-9" } } }));
console.log(JSON.stringify({ found: r.Item !== undefined }));
JSEOF
)
if [ "$out" = '{"found":true}' ]; then
	e2e_pass "JS SDK v3 with the CA in its https.Agent: GetItem over TLS"
else
	e2e_fail "JS SDK v3 with the CA in its https.Agent: GetItem over TLS" "got: $(printf '%s' "$out" | head -c 400)"
fi

# --- plain HTTP to the TLS port gets no HTTP answer ------------------------------------------------
plain=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null)
if [ "$plain" = "000" ]; then
	e2e_pass "plain HTTP to the TLS listener gets no HTTP answer"
else
	e2e_fail "plain HTTP to the TLS listener gets no HTTP answer" "HTTP $plain"
fi

# --- SIGTERM: drains and exits 0 ---------------------------------------------------------------
kill -TERM "$tls_pid"
wait "$tls_pid"
e2e_check "TLS gateway exits 0 on SIGTERM" test $? -eq 0

# --- refused configurations ----------------------------------------------------------------------
e2e_expect_rc "plain HTTP off loopback is refused (usage error)" 2 \
	env AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y "$BG" serve --listen 0.0.0.0:0 --data "$E2E_DATA"
if printf '%s' "$e2e_err" | grep -q "needs TLS"; then
	e2e_pass "the refusal says TLS is needed"
else
	e2e_fail "the refusal says TLS is needed" "$e2e_err"
fi
chmod 644 "$dir/server.key"
e2e_expect_rc "a TLS key readable by others is refused (local failure, 4)" 4 \
	env AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y "$BG" serve --listen "127.0.0.1:0" \
	--data "$E2E_DATA" --upstream "$E2E_DYNALITE_URL" --tls-cert "$dir/server.pem" --tls-key "$dir/server.key"
e2e_finish
