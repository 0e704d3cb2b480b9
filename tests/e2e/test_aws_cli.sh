#!/usr/bin/env bash
# test_aws_cli.sh - Debian's AWS CLI v2 (/usr/bin/aws) against dynalite through the real
# gateway, with credentials minted by `breakglass grant` + `breakglass creds`.
#
# A grant for Orders with Query and GetItem: the allowed calls must return exactly what
# the same call returns straight from dynalite; everything else (Scan, writes, another
# table, a wrong secret, an unknown key, a wrong session token, an expired or revoked
# grant) must come back as the DynamoDB-shaped error the CLI understands, and writes must
# not reach the table. The ways a responder hands credentials to the CLI are covered too:
# `breakglass exec`, credential_process in a profile, --endpoint-url and
# AWS_ENDPOINT_URL_DYNAMODB. Run by run.sh, which starts dynalite and the gateway.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_RESPONDER_TOKEN:?}"
E2E_PREFIX="[aws-cli] "
BG=$BREAKGLASS_BIN
RESP=$E2E_RESPONDER

if [ ! -x "$AWS" ]; then
	e2e_fail "aws cli present" "$AWS not found"
	e2e_finish
	exit 1
fi

# --- setup: an admin of our own (fresh TOTP budget), a grant, its credentials ---------
adm=$(e2e_admin aws) || {
	e2e_fail setup "cannot create admin e2e-admin-aws"
	e2e_finish
	exit 1
}
ADM_TOKEN=$(printf '%s' "$adm" | e2e_json token)
ADM_SECRET=$(printf '%s' "$adm" | e2e_json totp_secret)
e2e_note_secret "$ADM_TOKEN"

grant=$(e2e_grant "$ADM_TOKEN" "$ADM_SECRET" --user "$RESP" --table Orders --op Query,GetItem \
	--for 15m --reason "e2e aws-cli") || {
	e2e_fail setup "breakglass grant failed: $grant"
	e2e_finish
	exit 1
}
G=$(printf '%s' "$grant" | e2e_json id)
creds=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" creds "$G" --json) || {
	e2e_fail setup "breakglass creds failed"
	e2e_finish
	exit 1
}
AKID=$(printf '%s' "$creds" | e2e_json access_key_id)
SECRET=$(printf '%s' "$creds" | e2e_json secret_access_key)
STOKEN=$(printf '%s' "$creds" | e2e_json session_token)
ENDPOINT=$(printf '%s' "$creds" | e2e_json endpoint)
e2e_note_secret "$SECRET"
e2e_note_secret "$STOKEN"
e2e_check "creds endpoint is the gateway" [ "$ENDPOINT" = "$BREAKGLASS_URL" ]

# The aws CLI through the gateway with the given key, secret and token.
gw_aws_as() {
	local akid=$1 secret=$2 token=$3
	shift 3
	AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN=$token \
		AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
		"$AWS" --endpoint-url "$BREAKGLASS_URL" --output json "$@"
}
gw_aws() { gw_aws_as "$AKID" "$SECRET" "$STOKEN" "$@"; }

QUERY_ARGS=(dynamodb query --table-name Orders --key-condition-expression "customer = :c"
	--expression-attribute-values '{":c":{"S":"c-100"}}')
GET_ARGS=(dynamodb get-item --table-name Orders --key '{"customer":{"S":"c-200"},"order_id":{"S":"o-9"}}')

# expect_error NAME CODE COMMAND...: the command fails and the CLI names the error CODE.
expect_error() {
	local name=$1 code=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q "($code)"; then
		e2e_pass "$name"
	else
		e2e_fail "$name" "want ($code), got exit $rc: $(printf '%s' "$out" | head -c 300)"
	fi
}

orders_snapshot() { e2e_aws_direct dynamodb scan --table-name Orders --consistent-read; }

# --- allowed calls return what dynalite returns ------------------------------------------
direct=$(e2e_aws_direct "${QUERY_ARGS[@]}")
via=$(gw_aws "${QUERY_ARGS[@]}" 2>&1)
if e2e_same_json Items "$direct" "$via" && e2e_same_json Count "$direct" "$via"; then
	e2e_pass "Query through the gateway = direct"
else
	e2e_fail "Query through the gateway = direct" "got: $(printf '%s' "$via" | head -c 300)"
fi

direct=$(e2e_aws_direct "${GET_ARGS[@]}")
via=$(gw_aws "${GET_ARGS[@]}" 2>&1)
if e2e_same_json Item "$direct" "$via"; then
	e2e_pass "GetItem through the gateway = direct (unicode attribute)"
else
	e2e_fail "GetItem through the gateway = direct (unicode attribute)" "got: $(printf '%s' "$via" | head -c 300)"
fi

args=(dynamodb query --table-name Orders --key-condition-expression "customer = :c AND begins_with(order_id, :p)"
	--expression-attribute-values '{":c":{"S":"c-100"},":p":{"S":"o-"}}' --projection-expression "order_id, #s"
	--expression-attribute-names '{"#s":"state"}' --no-scan-index-forward)
direct=$(e2e_aws_direct "${args[@]}")
via=$(gw_aws "${args[@]}" 2>&1)
if e2e_same_json Items "$direct" "$via"; then
	e2e_pass "Query with projection and sort order = direct"
else
	e2e_fail "Query with projection and sort order = direct" "got: $(printf '%s' "$via" | head -c 300)"
fi

# --- denied calls -------------------------------------------------------------------------
before=$(orders_snapshot)
expect_error "Scan denied" AccessDeniedException gw_aws dynamodb scan --table-name Orders
expect_error "PutItem denied" AccessDeniedException gw_aws dynamodb put-item --table-name Orders \
	--item '{"customer":{"S":"c-100"},"order_id":{"S":"o-evil"},"total":{"N":"1"}}'
expect_error "DeleteItem denied" AccessDeniedException gw_aws dynamodb delete-item --table-name Orders \
	--key '{"customer":{"S":"c-100"},"order_id":{"S":"o-1"}}'
expect_error "UpdateItem denied" AccessDeniedException gw_aws dynamodb update-item --table-name Orders \
	--key '{"customer":{"S":"c-100"},"order_id":{"S":"o-2"}}' --update-expression "SET #s = :v" \
	--expression-attribute-names '{"#s":"state"}' --expression-attribute-values '{":v":{"S":"hacked"}}'
after=$(orders_snapshot)
if e2e_same_json Items "$before" "$after"; then
	e2e_pass "Orders unchanged after denied writes"
else
	e2e_fail "Orders unchanged after denied writes" "a denied write reached dynalite"
fi
expect_error "Query on another table denied" AccessDeniedException gw_aws dynamodb query \
	--table-name Users --key-condition-expression "id = :i" --expression-attribute-values '{":i":{"S":"u-1"}}'
expect_error "GetItem on another table denied" AccessDeniedException gw_aws dynamodb get-item \
	--table-name Users --key '{"id":{"S":"u-1"}}'
expect_error "DescribeTable (not granted) denied" AccessDeniedException gw_aws dynamodb describe-table \
	--table-name Orders

# --- authentication failures --------------------------------------------------------------
expect_error "wrong secret -> InvalidSignatureException" InvalidSignatureException \
	gw_aws_as "$AKID" "${SECRET}x" "$STOKEN" "${QUERY_ARGS[@]}"
expect_error "unknown access key -> UnrecognizedClientException" UnrecognizedClientException \
	gw_aws_as "BGAKNOSUCHKEY0000000" "$SECRET" "$STOKEN" "${QUERY_ARGS[@]}"
expect_error "wrong session token -> UnrecognizedClientException" UnrecognizedClientException \
	gw_aws_as "$AKID" "$SECRET" "${STOKEN}x" "${QUERY_ARGS[@]}"

# --- ways to hand the credentials to the CLI ----------------------------------------------
direct=$(e2e_aws_direct "${QUERY_ARGS[@]}")

# breakglass exec: the grant's env; Debian's aws (2.9) ignores AWS_ENDPOINT_URL_DYNAMODB,
# so exec adds --endpoint-url for it.
via=$(BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" AWS_PROFILE=nonexistent "$BG" exec "$G" -- "$AWS" --output json "${QUERY_ARGS[@]}" 2>&1)
if e2e_same_json Items "$direct" "$via"; then
	e2e_pass "breakglass exec -- aws dynamodb query = direct"
else
	e2e_fail "breakglass exec -- aws dynamodb query = direct" "got: $(printf '%s' "$via" | head -c 300)"
fi

via=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" exec "$G" -- "$AWS" --endpoint-url "$BREAKGLASS_URL" \
	--output json "${QUERY_ARGS[@]}" 2>&1)
if e2e_same_json Items "$direct" "$via"; then
	e2e_pass "breakglass exec -- aws --endpoint-url ... query = direct"
else
	e2e_fail "breakglass exec -- aws --endpoint-url ... query = direct" "got: $(printf '%s' "$via" | head -c 300)"
fi

env_seen=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN AWS_PROFILE=prod "$BG" exec "$G" -- sh -c \
	'printf "%s|%s|%s|%s|%s" "$AWS_ENDPOINT_URL_DYNAMODB" "$AWS_REGION" "$AWS_ACCOUNT_ID_ENDPOINT_MODE" "${AWS_PROFILE-unset}" "$AWS_ACCESS_KEY_ID"')
e2e_check "exec sets AWS_ENDPOINT_URL_DYNAMODB, region, endpoint mode; unsets AWS_PROFILE" \
	[ "$env_seen" = "$BREAKGLASS_URL|us-east-1|disabled|unset|$AKID" ]

# AWS_ENDPOINT_URL_DYNAMODB on its own: honoured by AWS CLI >= 2.13 only.
ver=$("$AWS" --version 2>&1 | sed -n 's#^aws-cli/\([0-9]*\)\.\([0-9]*\)\..*#\1 \2#p')
read -r vmaj vmin <<<"${ver:-0 0}"
if [ "$vmaj" -gt 2 ] || { [ "$vmaj" -eq 2 ] && [ "$vmin" -ge 13 ]; }; then
	via=$(AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$STOKEN \
		AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=$BREAKGLASS_URL \
		"$AWS" --output json "${QUERY_ARGS[@]}" 2>&1)
	if e2e_same_json Items "$direct" "$via"; then
		e2e_pass "AWS_ENDPOINT_URL_DYNAMODB (no --endpoint-url) = direct"
	else
		e2e_fail "AWS_ENDPOINT_URL_DYNAMODB (no --endpoint-url) = direct" "got: $(printf '%s' "$via" | head -c 300)"
	fi
else
	# This CLI predates the variable; what matters is that it never leaves for real AWS
	# under exec: the env is set (checked above) and exec's --endpoint-url wins. A plain
	# `eval "$(breakglass creds G)"` + aws with --endpoint-url must work too:
	via=$(eval "$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" creds "$G")" &&
		"$AWS" --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" --output json "${QUERY_ARGS[@]}" 2>&1)
	if e2e_same_json Items "$direct" "$via"; then
		e2e_pass "eval \"\$(breakglass creds G)\" + --endpoint-url \$AWS_ENDPOINT_URL_DYNAMODB = direct (aws-cli $vmaj.$vmin ignores the variable itself)"
	else
		e2e_fail "eval creds + --endpoint-url \$AWS_ENDPOINT_URL_DYNAMODB = direct" "got: $(printf '%s' "$via" | head -c 300)"
	fi
fi

# credential_process in a profile of a temporary AWS config file.
cfgdir=$(e2e_tmpdir)
cat >"$cfgdir/config" <<EOF
[profile breakglass]
region = us-east-1
credential_process = $BG creds $G --format process
EOF
via=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	AWS_CONFIG_FILE="$cfgdir/config" AWS_PROFILE=breakglass BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" \
	"$AWS" --endpoint-url "$BREAKGLASS_URL" --output json "${QUERY_ARGS[@]}" 2>&1)
if e2e_same_json Items "$direct" "$via"; then
	e2e_pass "credential_process profile + --endpoint-url = direct"
else
	e2e_fail "credential_process profile + --endpoint-url = direct" "got: $(printf '%s' "$via" | head -c 300)"
fi
via=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	AWS_CONFIG_FILE="$cfgdir/config" AWS_PROFILE=breakglass BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" \
	"$AWS" --endpoint-url "$BREAKGLASS_URL" dynamodb scan --table-name Orders 2>&1)
if printf '%s' "$via" | grep -q "(AccessDeniedException)"; then
	e2e_pass "credential_process profile: Scan denied"
else
	e2e_fail "credential_process profile: Scan denied" "got: $(printf '%s' "$via" | head -c 300)"
fi

# --- expiry ------------------------------------------------------------------------------
short=$(e2e_grant "$ADM_TOKEN" "$ADM_SECRET" --user "$RESP" --table Orders --op Query,GetItem \
	--for 2s --reason "e2e expiry")
SG=$(printf '%s' "$short" | e2e_json id)
screds=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" creds "$SG" --json)
S_AKID=$(printf '%s' "$screds" | e2e_json access_key_id)
S_SECRET=$(printf '%s' "$screds" | e2e_json secret_access_key)
S_TOKEN=$(printf '%s' "$screds" | e2e_json session_token)
e2e_note_secret "$S_SECRET"
e2e_note_secret "$S_TOKEN"
if [ -z "$S_AKID" ]; then
	e2e_fail "short grant and its creds" "grant: $short"
else
	sleep 3
	expect_error "expired grant -> ExpiredTokenException" ExpiredTokenException \
		gw_aws_as "$S_AKID" "$S_SECRET" "$S_TOKEN" "${QUERY_ARGS[@]}"
	e2e_expect_rc "creds of an expired grant refused (exit 1)" 1 \
		env BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" "$BG" creds "$SG"
	st=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" grant show "$SG" --json | e2e_json status)
	e2e_check "expired grant shows status expired" [ "$st" = expired ]
fi

# --- revocation --------------------------------------------------------------------------
e2e_expect_rc "breakglass revoke (by the grantee)" 0 env BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" \
	"$BG" revoke "$G" --json
st=$(printf '%s' "$e2e_out" | e2e_json status)
e2e_check "revoke answers status revoked" [ "$st" = revoked ]
out=$(gw_aws "${QUERY_ARGS[@]}" 2>&1)
if printf '%s' "$out" | grep -q "(AccessDeniedException)" && printf '%s' "$out" | grep -qi revoked; then
	e2e_pass "revoked grant -> AccessDeniedException (message says revoked)"
else
	e2e_fail "revoked grant -> AccessDeniedException (message says revoked)" "got: $(printf '%s' "$out" | head -c 300)"
fi
e2e_expect_rc "exec with a revoked grant refused (exit 1)" 1 env BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" \
	"$BG" exec "$G" -- "$AWS" "${QUERY_ARGS[@]}"
e2e_expect_rc "revoking twice is refused or a no-op, never a server error" 0 sh -c \
	'BREAKGLASS_TOKEN="$1" "$2" revoke "$3" >/dev/null 2>&1; rc=$?; [ $rc -le 1 ]' _ \
	"$E2E_RESPONDER_TOKEN" "$BG" "$G"

e2e_finish
