#!/usr/bin/env bash
# demo.sh - a narrated break-glass incident, end to end, on this machine: a local
# DynamoDB (dynalite) stands in for production, `breakglass serve` guards it, an admin
# grants the on-call responder narrow temporary access, the responder reads what they need
# with the stock AWS CLI, a Scan is refused, the grant is revoked, and the audit trail
# shows all of it.
#
# Run by `make demo` (BREAKGLASS_BIN=build/release/breakglass). Everything binds to
# 127.0.0.1 on free ports and is stopped on exit. Exits 0 only if every step behaved as
# described: the demo doubles as a smoke test of the whole path.
set -uo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$REPO_ROOT/tests/e2e/lib.sh"
e2e_install_trap

: "${BREAKGLASS_BIN:=$REPO_ROOT/build/release/breakglass}"
if [ ! -x "$BREAKGLASS_BIN" ]; then
	echo "demo: $BREAKGLASS_BIN not found; run 'make demo' (or make, then this script)" >&2
	exit 1
fi
BG=$BREAKGLASS_BIN
WORK=$(e2e_tmpdir) || exit 1
E2E_STATE=$WORK/state
mkdir -p "$E2E_STATE"
export E2E_STATE

if [ -t 1 ]; then
	B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B="" D="" G="" R="" N=""
fi
step=0
heading() {
	step=$((step + 1))
	printf '\n%s== %d. %s%s\n' "$B" "$step" "$1" "$N"
}
say() { printf '%s\n' "$@"; }
# show WHO COMMAND...: prints the command as the person would type it (secrets elided).
show() {
	local who=$1
	shift
	printf '%s%s$ %s%s\n' "$D" "$who" "$*" "$N"
}
ok() { printf '%s   ok: %s%s\n' "$G" "$1" "$N"; }
die() {
	printf '%sdemo FAILED: %s%s\n' "$R" "$1" "$N" >&2
	[ -n "${E2E_GATEWAY_LOG:-}" ] && [ -f "$E2E_GATEWAY_LOG" ] && tail -n 15 "$E2E_GATEWAY_LOG" >&2
	exit 1
}
# show_cmd WHO ARGV...: like show, quoting each argument as a shell would need it, with
# the binaries' full paths shortened to their names.
show_cmd() {
	local who=$1 a line=""
	shift
	for a in "$@"; do
		case "$a" in
		"$BG") a=breakglass ;;
		"$AWS") a=aws ;;
		esac
		if [[ "$a" =~ ^[A-Za-z0-9_./:=,@+-]+$ ]]; then
			line+="$a "
		else
			case "$a" in
			*\'*) line+="$(printf '%q' "$a") " ;;
			*) line+="'$a' " ;;
			esac
		fi
	done
	show "$who" "${line% }"
}
# Text with a token-like secret shortened, for display.
elide() { printf '%.10s...' "$1"; }

say "${B}breakglass demo: a 2 a.m. incident on the Orders table${N}"
say "Orders for customer c-100 are stuck. The on-call responder, alice, has no production"
say "access. breakglass gives her a narrow, short-lived, audited door, and closes it after."

# ----------------------------------------------------------------------------------------
heading "A stand-in for production: dynalite with an Orders table"
say "dynalite is a local DynamoDB. The table is created and seeded directly (admin path),"
say "not through breakglass."
e2e_start_dynalite "$WORK" || die "dynalite did not start"
show ops "aws --endpoint-url $E2E_DYNALITE_URL dynamodb create-table --table-name Orders ..."
e2e_seed_tables >"$WORK/seed.log" 2>&1 || die "could not seed the tables (see $WORK/seed.log)"
ok "dynalite on $E2E_DYNALITE_URL, Orders holds 5 orders"

# ----------------------------------------------------------------------------------------
heading "Create the breakglass store and its first admin"
say "init creates the store and prints the admin's API token and TOTP secret, once."
show admin "breakglass init --data DIR --admin admin"
e2e_init_store "$WORK" || die "breakglass init failed (see $WORK/init.log)"
ok "store in $E2E_DATA; admin token $(elide "$E2E_ADMIN_TOKEN") (shown once), TOTP secret in the admin's authenticator"

heading "Start the gateway in front of DynamoDB"
say "serve verifies SigV4 with grant credentials, checks each request against the grant,"
say "writes the audit record before forwarding, and re-signs with its own AWS identity."
show ops "breakglass serve --listen 127.0.0.1:PORT --upstream $E2E_DYNALITE_URL --data $E2E_DATA"
e2e_serve "$WORK" || die "breakglass serve did not start (see $WORK/gateway.log)"
ok "gateway listening on $BREAKGLASS_URL (pid $E2E_GATEWAY_PID)"

# ----------------------------------------------------------------------------------------
heading "Enrol the on-call responder"
say "Creating a user needs the admin's current TOTP code (each code works once)."
code=$(e2e_otp "$E2E_ADMIN_SECRET") || die "oathtool failed"
show admin "export BREAKGLASS_TOKEN=<admin token>"
show admin "breakglass user add alice --role responder --otp $code"
out=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" user add alice --role responder --otp "$code" --json) ||
	die "user add failed"
ALICE_TOKEN=$(printf '%s' "$out" | e2e_json token)
[ -n "$ALICE_TOKEN" ] || die "user add printed no token"
ok "alice enrolled: token $(elide "$ALICE_TOKEN") and a TOTP secret, handed over once"
show alice "breakglass whoami"
BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" whoami || die "whoami failed"

# ----------------------------------------------------------------------------------------
heading "The admin grants alice Query and GetItem on Orders, for 15 minutes"
say "Nothing else: no Scan, no writes, no other table. The grant mints SigV4 credentials"
say "that only this gateway honours."
code=$(e2e_otp "$E2E_ADMIN_SECRET") || die "oathtool failed"
show admin "breakglass grant --user alice --table Orders --op Query,GetItem --for 15m --otp $code --reason 'INC-4711 stuck orders'"
out=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" grant --user alice --table Orders --op Query,GetItem \
	--for 15m --otp "$code" --reason "INC-4711 stuck orders") || die "grant failed"
printf '%s\n' "$out" | sed 's/^/    /'
GRANT=$(printf '%s\n' "$out" | sed -n 's/^grant  *//p')
[ -n "$GRANT" ] || die "no grant id in the output"
ok "grant $GRANT"

# ----------------------------------------------------------------------------------------
heading "alice reads the stuck orders with the stock AWS CLI"
say "breakglass exec puts the grant's credentials and the gateway endpoint in the"
say "command's environment; nothing is written to disk or to ~/.aws."
show alice "export BREAKGLASS_TOKEN=<alice's token>"
query=("$AWS" dynamodb query --table-name Orders --key-condition-expression "customer = :c"
	--expression-attribute-values '{":c":{"S":"c-100"}}'
	--projection-expression "order_id, #s, #t" --expression-attribute-names '{"#s":"state","#t":"total"}'
	--output table)
show_cmd alice "$BG" exec "$GRANT" -- "${query[@]}"
BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" exec "$GRANT" -- "${query[@]}" || die "the query through the gateway failed"
getitem=("$AWS" dynamodb get-item --table-name Orders --key '{"customer":{"S":"c-100"},"order_id":{"S":"o-2"}}' --output json)
show_cmd alice "$BG" exec "$GRANT" -- "${getitem[@]}"
item=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" exec "$GRANT" -- "${getitem[@]}") || die "get-item failed"
printf '%s\n' "$item" | sed 's/^/    /'
grep -q '"stuck"' <<<"$item" || die "get-item did not return order o-2"
ok "Query and GetItem answered through the gateway"

# ----------------------------------------------------------------------------------------
heading "A Scan is not part of the grant: refused"
say "A full-table Scan burns read capacity on a table that is already on fire."
show_cmd alice "$BG" exec "$GRANT" -- "$AWS" dynamodb scan --table-name Orders
out=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" exec "$GRANT" -- "$AWS" dynamodb scan --table-name Orders 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
[ "$rc" -ne 0 ] && grep -q "(AccessDeniedException)" <<<"$out" || die "the Scan was not denied"
ok "AccessDeniedException, and the denial is audited"

# ----------------------------------------------------------------------------------------
heading "Incident over: revoke the grant"
say "alice keeps a copy of the credentials in her shell, to show they die with the grant."
creds_env=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" creds "$GRANT") || die "creds failed"
show admin "breakglass revoke $GRANT"
BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" revoke "$GRANT" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || die "revoke failed"
ok "revoked"

heading "The next call is refused"
show alice "eval \"\$(breakglass creds $GRANT)\"   # (fetched before the revoke)"
show alice "aws --endpoint-url \$AWS_ENDPOINT_URL_DYNAMODB dynamodb query --table-name Orders ..."
out=$( (eval "$creds_env" && "$AWS" --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" dynamodb query \
	--table-name Orders --key-condition-expression "customer = :c" \
	--expression-attribute-values '{":c":{"S":"c-100"}}') 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
[ "$rc" -ne 0 ] && grep -q "(AccessDeniedException)" <<<"$out" || die "the revoked credentials still worked"
show alice "breakglass exec $GRANT -- aws dynamodb query ..."
out=$(BREAKGLASS_TOKEN=$ALICE_TOKEN "$BG" exec "$GRANT" -- "$AWS" dynamodb query --table-name Orders \
	--key-condition-expression "customer = :c" --expression-attribute-values '{":c":{"S":"c-100"}}' 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
[ "$rc" -eq 1 ] || die "exec with a revoked grant exited $rc, want 1"
ok "old credentials refused by the gateway; new ones refused by the API (exit 1)"

# ----------------------------------------------------------------------------------------
heading "The audit trail"
say "Every API action, every request (written before it was forwarded), every response"
say "and every denial, hash-chained. Columns: seq time kind actor grant op tables decision"
say "status reason."
show admin "breakglass audit tail"
audit=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --limit 1000) || die "audit tail failed"
printf '%s\n' "$audit" | sed 's/^/    /'
grep -q " request .* Query " <<<"$audit" || die "no request record for the Query"
grep -q " response .* Query " <<<"$audit" || die "no response record for the Query"
grep -q " denial .* Scan " <<<"$audit" || die "no denial record for the Scan"
ok "request, response and denial records are all there"

printf '\n%sDemo complete:%s grant, scoped access, denial, revocation and audit all behaved.\n' "$B" "$N"
say "(Everything this demo started is being stopped now.)"
exit 0
