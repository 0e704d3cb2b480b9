#!/usr/bin/env bash
# test_users.sh - users and roles (issue 8, point 1) through the real CLI and gateway: the
# auditor role and users with several roles; user list; the QR code of a new user's TOTP
# secret; rotate-token and reset-totp; the lockout after wrong TOTP codes (and its audit
# records); disable (the API token refused, live grants revoked at once) and enable; the
# sole-admin recovery on the server's host.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_DATA:?}"
E2E_PREFIX="[users] "
BG=$BREAKGLASS_BIN

adm=$(e2e_admin users)
AT=$(printf '%s' "$adm" | e2e_json token)
AS=$(printf '%s' "$adm" | e2e_json totp_secret)
e2e_note_secret "$AT"
as_adm() { BREAKGLASS_TOKEN=$AT "$BG" "$@"; }

# --- several roles, the auditor ----------------------------------------------------------
e2e_expect_rc "user add with two roles -> 0" 0 as_adm user add u-multi --role responder,approver \
	--otp "$(e2e_otp "$AS")"
e2e_check "the answer shows both roles" grep -q "^role  *responder,approver$" <<<"$e2e_out"
e2e_check "and a QR code to scan" eval 'grep -q "Scan with an authenticator app" <<<"$e2e_out" && grep -q "█" <<<"$e2e_out"'
MT=$(sed -n 's/^token  *//p' <<<"$e2e_out")
e2e_note_secret "$MT"
aud=$(e2e_new_user_as "$AT" "$AS" u-audit auditor) || e2e_fail "auditor" "$aud"
UT=$(printf '%s' "$aud" | e2e_json token)
e2e_note_secret "$UT"
e2e_expect_rc "the auditor reads the audit log -> 0" 0 env BREAKGLASS_TOKEN="$UT" "$BG" audit tail --limit 3
e2e_expect_rc "the auditor sees the gateway's status -> 0" 0 env BREAKGLASS_TOKEN="$UT" "$BG" status
e2e_check "status: a valid identity from the environment" eval 'grep -q "^AWS identity  *valid$" <<<"$e2e_out" && grep -q "^  source  *environment" <<<"$e2e_out"'
e2e_check "status: the runbooks loaded" grep -q "^runbooks  *[1-9][0-9]* loaded from " <<<"$e2e_out"
e2e_check "status shows no secret" eval '! grep -q "gateway-upstream-secret" <<<"$e2e_out"'
e2e_expect_rc "status --json -> 0" 0 env BREAKGLASS_TOKEN="$UT" "$BG" status --json
e2e_check "status --json: identity.valid and its access key" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); i = o["identity"]
assert i["valid"] is True and i["access_key_id"] == "gateway-upstream-key", i' "$e2e_out"
e2e_check "the health check needs no token" eval '[ "$(curl -s "$BREAKGLASS_URL/api/v1/health")" = "{\"status\":\"ok\"}" ]'
e2e_expect_rc "a responder cannot see the status -> 1" 1 env BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" "$BG" status
e2e_expect_rc "the auditor cannot add users -> 1" 1 env BREAKGLASS_TOKEN="$UT" "$BG" user add x1 \
	--role responder --otp 123456
e2e_expect_rc "the auditor cannot list users -> 1" 1 env BREAKGLASS_TOKEN="$UT" "$BG" user list
e2e_expect_rc "whoami shows a set of roles" 0 env BREAKGLASS_TOKEN="$MT" "$BG" whoami --json
e2e_check "...responder,approver" e2e_same_json role "$e2e_out" '{"role":"responder,approver"}'
e2e_expect_rc "no grant for an auditor -> 1" 1 as_adm grant --user u-audit --table Orders --op Query \
	--for 5m --reason "e2e users" --otp 123456
e2e_check "...auditors read the audit log and nothing else" grep -q "u-audit is an auditor" <<<"$e2e_err"
e2e_expect_rc "a role that does not exist -> 2" 2 as_adm user add x2 --role root --otp 123456
e2e_expect_rc "a role given twice -> 2" 2 as_adm user add x2 --role admin,admin --otp 123456

# --- user list ------------------------------------------------------------------------------
e2e_expect_rc "user list -> 0" 0 as_adm user list
e2e_check "it lists the auditor, active" grep -q "^u-audit  *auditor  *active$" <<<"$e2e_out"
e2e_expect_rc "user list --json -> 0" 0 as_adm user list --json
e2e_check "user list --json: names, roles, states" "$PY" -c 'import json, sys
u = {x["name"]: x for x in json.loads(sys.argv[1])["users"]}
assert u["u-multi"]["role"] == "responder,approver" and not u["u-multi"]["disabled"], u["u-multi"]
assert "token" not in u["u-multi"] and "totp_secret" not in u["u-multi"]' "$e2e_out"

# --- a second admin, for the TOTP tests ----------------------------------------------------
a2=$(e2e_new_user_as "$AT" "$AS" u-adm2 admin) || e2e_fail "second admin" "$a2"
A2T=$(printf '%s' "$a2" | e2e_json token)
A2S=$(printf '%s' "$a2" | e2e_json totp_secret)
e2e_note_secret "$A2T"

# rotate-token: the old token stops, the new one works.
# (Each admin's codes work once each, three at a time: the run's first admin helps out.)
as_first() { BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" "$@"; }
e2e_expect_rc "rotate-token -> 0" 0 as_first user rotate-token u-multi --otp "$(e2e_otp "$E2E_ADMIN_SECRET")" --json
MT2=$(printf '%s' "$e2e_out" | e2e_json token)
e2e_note_secret "$MT2"
e2e_expect_rc "the old token is refused" 1 env BREAKGLASS_TOKEN="$MT" "$BG" whoami
e2e_expect_rc "the new token works" 0 env BREAKGLASS_TOKEN="$MT2" "$BG" whoami

# Lockout: five wrong codes, then even a right one waits; each refusal is on the record.
wrong=$(e2e_wrong_otp "$A2S")
for i in 1 2 3 4; do
	BREAKGLASS_TOKEN=$A2T "$BG" user add "x-lock$i" --role responder --otp "$wrong" >/dev/null 2>&1
done
e2e_expect_rc "the fifth wrong code -> 1" 1 env BREAKGLASS_TOKEN="$A2T" "$BG" user add x-lock5 \
	--role responder --otp "$wrong"
e2e_check "...says the user is locked out" grep -q "u-adm2 is locked out for 300 s" <<<"$e2e_err"
e2e_expect_rc "a right code while locked out -> 1" 1 env BREAKGLASS_TOKEN="$A2T" "$BG" user add x-lock6 \
	--role responder --otp "$(e2e_otp "$A2S")"
e2e_check "...says when to try again" grep -q "may try again in [0-9]* s" <<<"$e2e_err"
e2e_expect_rc "user list shows the lockout" 0 as_adm user list
e2e_check "...locked" grep -q "^u-adm2 .*locked" <<<"$e2e_out"
e2e_check "the refused codes are audited" eval '[ "$(as_adm audit tail --after 0 --limit 1000 | grep -c " otp u-adm2 .* deny ")" -ge 6 ]'

# reset-totp: a new key (with its QR code); the lockout ends; old codes fail, new ones work.
e2e_expect_rc "reset-totp -> 0" 0 as_first user reset-totp u-adm2 --otp "$(e2e_otp "$E2E_ADMIN_SECRET")"
e2e_check "reset-totp shows the new secret and its QR code" eval 'grep -q "^totp secret " <<<"$e2e_out" && grep -q "█" <<<"$e2e_out"'
NEW=$(sed -n 's/^totp secret  *//p' <<<"$e2e_out")
e2e_expect_rc "a code from the old key -> 1" 1 env BREAKGLASS_TOKEN="$A2T" "$BG" user add x-old \
	--role responder --otp "$(oathtool --totp -b "$A2S")"
e2e_expect_rc "a code from the new key -> 0" 0 env BREAKGLASS_TOKEN="$A2T" "$BG" user add x-new \
	--role responder --otp "$(e2e_otp "$NEW")"

# --- disable: token refused, live grants revoked ------------------------------------------
g=$(e2e_grant "$E2E_ADMIN_TOKEN" "$E2E_ADMIN_SECRET" --user u-multi --table Orders --op Query --for 10m | e2e_json id)
eval "$(BREAKGLASS_TOKEN=$MT2 "$BG" creds "$g" --format env)"
e2e_note_secret "$AWS_SECRET_ACCESS_KEY"
e2e_note_secret "$AWS_SESSION_TOKEN"
q=("$AWS" --endpoint-url "$BREAKGLASS_URL" dynamodb query --table-name Orders
	--key-condition-expression "customer = :c" --expression-attribute-values '{":c":{"S":"c-100"}}')
e2e_expect_rc "the grant works before" 0 "${q[@]}"
as_a2() { BREAKGLASS_TOKEN=$A2T "$BG" "$@"; }
e2e_expect_rc "disable -> 0" 0 as_a2 user disable u-multi --otp "$(e2e_otp "$NEW")"
e2e_expect_rc "a disabled user's token is refused" 1 env BREAKGLASS_TOKEN="$MT2" "$BG" whoami
e2e_check "...saying so" grep -q "u-multi is disabled" <<<"$e2e_err"
e2e_expect_rc "their grant's credentials stop at once" 254 "${q[@]}"
e2e_check "...as revoked" grep -q "revoked" <<<"$e2e_err"
e2e_expect_rc "no new grant for a disabled user -> 1" 1 as_adm grant --user u-multi --table Orders \
	--op Query --for 5m --reason "e2e users" --otp 123456
e2e_check "...says so" grep -q "u-multi is disabled" <<<"$e2e_err"
e2e_expect_rc "an admin cannot disable themself -> 1" 1 as_a2 user disable u-adm2 --otp "$(e2e_otp "$NEW")"
e2e_check "...says so" grep -q "cannot disable themself" <<<"$e2e_err"

# --- recovery on the server's host ---------------------------------------------------------
e2e_expect_rc "recover a non-admin -> 2" 2 "$BG" recover --data "$E2E_DATA" --admin u-audit
e2e_expect_rc "recover an admin -> 0" 0 "$BG" recover --data "$E2E_DATA" --admin u-adm2 --json
R=$(printf '%s' "$e2e_out" | e2e_json token)
RS=$(printf '%s' "$e2e_out" | e2e_json totp_secret)
e2e_note_secret "$R"
e2e_expect_rc "the old token is refused" 1 env BREAKGLASS_TOKEN="$A2T" "$BG" whoami
e2e_expect_rc "the recovered token works" 0 env BREAKGLASS_TOKEN="$R" "$BG" whoami
e2e_expect_rc "with the recovered TOTP key" 0 env BREAKGLASS_TOKEN="$R" "$BG" user add x-rec \
	--role responder --otp "$(e2e_otp "$RS")"
e2e_check "the recovery is on the record" eval 'as_adm audit tail --after 0 --limit 1000 | grep -q " recover host .* allow "'

# enable: the token works again; the grant revoked with the user stays revoked.
e2e_expect_rc "enable -> 0" 0 env BREAKGLASS_TOKEN="$R" "$BG" user enable u-multi --otp "$(e2e_otp "$RS")"
e2e_expect_rc "the token works again" 0 env BREAKGLASS_TOKEN="$MT2" "$BG" whoami
e2e_expect_rc "the grant stays revoked" 254 "${q[@]}"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
e2e_finish
