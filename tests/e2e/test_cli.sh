#!/usr/bin/env bash
# test_cli.sh - the `breakglass` commands against the real server: exit codes (0 ok,
# 1 refused, 2 usage, 3 unreachable, 4 local), --json output on success and on every
# failure, the name rule, init's all-or-nothing, TOTP codes not spent on refused requests,
# and the credential formats.
#
# Scripts and runbooks branch on these exit codes, so each one is pinned here with the
# situation that should produce it. Run by run.sh, which starts dynalite and the gateway.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_RESPONDER_TOKEN:?}"
E2E_PREFIX="[cli] "
BG=$BREAKGLASS_BIN
RESP=$E2E_RESPONDER
RT=$E2E_RESPONDER_TOKEN

as_admin() { BREAKGLASS_TOKEN=$ADM_TOKEN "$BG" "$@"; }
as_resp() { BREAKGLASS_TOKEN=$RT "$BG" "$@"; }
json_ok() { printf '%s' "$1" | "$PY" -c 'import json, sys; o = json.load(sys.stdin); sys.exit(0 if isinstance(o, dict) else 1)'; }

# --- usage errors: exit 2, nothing sent ---------------------------------------------------
e2e_expect_rc "no command -> 2" 2 "$BG"
e2e_expect_rc "unknown command -> 2" 2 "$BG" frobnicate
e2e_expect_rc "--help -> 0" 0 "$BG" --help
e2e_check "--help lists the commands" grep -q "grant" <<<"$e2e_out"
e2e_expect_rc "grant --help -> 0" 0 "$BG" grant --help
e2e_expect_rc "unknown option -> 2" 2 "$BG" grants --bogus
e2e_expect_rc "grant with a bad duration -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" grant --user "$RESP" \
	--table Orders --op Query --for 15x --otp 123456
e2e_expect_rc "grant longer than 12h -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" grant --user "$RESP" \
	--table Orders --op Query --for 13h --otp 123456
e2e_expect_rc "grant without --op -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" grant --user "$RESP" \
	--table Orders --for 15m --otp 123456
e2e_expect_rc "grant with a bad table name -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" grant --user "$RESP" \
	--table 'Or ders' --op Query --for 15m --otp 123456
e2e_expect_rc "grant with a malformed --otp -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" grant --user "$RESP" \
	--table Orders --op Query --for 15m --otp 12ab56
e2e_expect_rc "audit tail --limit 0 -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" audit tail --limit 0
e2e_expect_rc "creds --format yaml -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" creds g1 --format yaml
e2e_expect_rc "exec without a command -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" exec g1 --
e2e_expect_rc "user add with an unknown role -> 2" 2 env BREAKGLASS_TOKEN=x "$BG" user add bob \
	--role root --otp 123456
e2e_expect_rc "no token -> 2" 2 env -u BREAKGLASS_TOKEN "$BG" whoami

# --- unreachable server: exit 3 -----------------------------------------------------------
dead=$(e2e_free_port)
e2e_expect_rc "unreachable server -> 3" 3 env BREAKGLASS_TOKEN="$E2E_ADMIN_TOKEN" "$BG" --url "http://127.0.0.1:$dead" whoami
e2e_check "unreachable: message on stderr" grep -q "^breakglass: cannot reach" <<<"$e2e_err"
e2e_expect_rc "unreachable server via BREAKGLASS_URL -> 3" 3 env BREAKGLASS_TOKEN="$E2E_ADMIN_TOKEN" \
	BREAKGLASS_URL="http://127.0.0.1:$dead" "$BG" grants

# --- whoami, authentication ---------------------------------------------------------------
e2e_expect_rc "whoami (admin) -> 0" 0 env BREAKGLASS_TOKEN="$E2E_ADMIN_TOKEN" "$BG" whoami
e2e_check "whoami prints 'admin (admin)'" [ "$e2e_out" = "admin (admin)" ]
e2e_expect_rc "whoami --json -> 0" 0 env BREAKGLASS_TOKEN="$E2E_ADMIN_TOKEN" "$BG" whoami --json
e2e_check "whoami --json is {user, role}" e2e_same_json user "$e2e_out" '{"user":"admin"}'
e2e_expect_rc "global --json before the command" 0 env BREAKGLASS_TOKEN="$RT" "$BG" --json whoami
e2e_check "responder whoami --json" e2e_same_json role "$e2e_out" '{"role":"responder"}'
e2e_expect_rc "bad token -> 1" 1 env BREAKGLASS_TOKEN=bgt_not_a_token "$BG" whoami
e2e_expect_rc "--token flag wins over BREAKGLASS_TOKEN" 0 env BREAKGLASS_TOKEN=bgt_not_a_token \
	"$BG" whoami --token "$E2E_ADMIN_TOKEN"

# --- an admin of our own, users --------------------------------------------------------
adm=$(e2e_admin cli)
ADM_TOKEN=$(printf '%s' "$adm" | e2e_json token)
ADM_SECRET=$(printf '%s' "$adm" | e2e_json totp_secret)
e2e_note_secret "$ADM_TOKEN"
e2e_check "user add --json has token, totp_secret, totp_uri" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if o["token"] and o["totp_secret"] and o["totp_uri"].startswith("otpauth://totp/") else 1)' "$adm"
e2e_check "the TOTP secret is base32 (oathtool accepts it)" oathtool --totp -b "$ADM_SECRET"

e2e_expect_rc "wrong OTP -> 1" 1 env BREAKGLASS_TOKEN="$ADM_TOKEN" "$BG" user add someone --role responder \
	--otp "$(e2e_wrong_otp "$ADM_SECRET")"
e2e_check "wrong OTP: otp_invalid on stderr" grep -q "otp_invalid" <<<"$e2e_err"
e2e_expect_rc "user add of an existing user -> 1" 1 env BREAKGLASS_TOKEN="$ADM_TOKEN" "$BG" user add \
	"$RESP" --role responder --otp "$(e2e_otp "$ADM_SECRET")"

# A responder may not grant (needs the responder's own valid OTP to get that far).
e2e_expect_rc "responder cannot grant -> 1" 1 env BREAKGLASS_TOKEN="$RT" "$BG" grant --user "$RESP" \
	--table Orders --op Query --for 15m --reason "e2e: not an admin" --otp "$(e2e_otp "$E2E_RESPONDER_SECRET")"
e2e_expect_rc "responder cannot read the audit log -> 1" 1 env BREAKGLASS_TOKEN="$RT" "$BG" audit tail

# --- grants ------------------------------------------------------------------------------
e2e_expect_rc "grant (human output) -> 0" 0 env BREAKGLASS_TOKEN="$ADM_TOKEN" "$BG" grant --user "$RESP" \
	--table Orders --table Orders,Users --op GetItem --op Query,GetItem --for 1h30m \
	--otp "$(e2e_otp "$ADM_SECRET")" --reason "e2e cli: INC-1"
G=$(sed -n 's/^grant  *//p' <<<"$e2e_out")
e2e_check "human output names the grant, tables, ops, expiry" grep -q "^expires .*(in 1h29m\|^expires .*(in 1h30m" <<<"$e2e_out"
e2e_check "tables de-duplicated: Orders,Users" grep -q "^tables  *Orders,Users$" <<<"$e2e_out"
e2e_check "ops de-duplicated: GetItem,Query" grep -q "^ops  *GetItem,Query$" <<<"$e2e_out"

e2e_expect_rc "grant show ID --json (grantee) -> 0" 0 as_resp grant show "$G" --json
e2e_check "grant show: status active, user, reason" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if o["status"] == "active" and o["user"] == sys.argv[2] and o["reason"] == "e2e cli: INC-1" and o["tables"] == ["Orders", "Users"] else 1)' "$e2e_out" "$RESP"
e2e_expect_rc "grant show of an unknown id -> 1" 1 as_resp grant show g_does_not_exist
e2e_expect_rc "grants --json (admin) -> 0" 0 as_admin grants --json
e2e_check "grants --json lists the grant" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); sys.exit(0 if any(g["id"] == sys.argv[2] for g in o["grants"]) else 1)' "$e2e_out" "$G"
e2e_expect_rc "grants (human) -> 0" 0 as_resp grants
e2e_check "grants table has a header and the grant" grep -q "^ID .*$G" <<<"$(head -1 <<<"$e2e_out")$(grep "$G" <<<"$e2e_out")"
e2e_expect_rc "grant list == grants" 0 as_resp grant list --json

# --- creds formats -----------------------------------------------------------------------
e2e_expect_rc "creds by someone else (admin) -> 1" 1 as_admin creds "$G"
e2e_expect_rc "creds --format env -> 0" 0 as_resp creds "$G"
envout=$e2e_out
e2e_check "env format: 7 export lines" [ "$(grep -c "^export AWS_[A-Z_]*='" <<<"$envout")" = 7 ]
got=$(env -i sh -c 'eval "$1"; printf "%s|%s|%s|%s|%s" "$AWS_ENDPOINT_URL_DYNAMODB" "$AWS_REGION" "$AWS_DEFAULT_REGION" "$AWS_ACCOUNT_ID_ENDPOINT_MODE" "${#AWS_SECRET_ACCESS_KEY}"' _ "$envout")
e2e_check "env format evaluates in sh" grep -q "^$BREAKGLASS_URL|us-east-1|us-east-1|disabled|[1-9]" <<<"$got"
e2e_expect_rc "creds --json -> 0" 0 as_resp creds "$G" --json
e2e_check "creds --json has every field" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if all(o.get(k) for k in ("grant", "access_key_id", "secret_access_key", "session_token", "expiration", "region", "endpoint")) else 1)' "$e2e_out"
e2e_note_secret "$(printf '%s' "$e2e_out" | e2e_json secret_access_key)"
e2e_note_secret "$(printf '%s' "$e2e_out" | e2e_json session_token)"
e2e_expect_rc "creds --format process -> 0" 0 as_resp creds "$G" --format process
e2e_check "process format: Version 1, keys, RFC 3339 Expiration" "$PY" -c 'import json, sys, datetime
o = json.loads(sys.argv[1])
assert o["Version"] == 1 and o["AccessKeyId"] and o["SecretAccessKey"] and o["SessionToken"]
datetime.datetime.strptime(o["Expiration"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
assert set(o) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}' "$e2e_out"
e2e_expect_rc "creds --json with --format env -> 2" 2 as_resp creds "$G" --json --format env

# --- exec --------------------------------------------------------------------------------
e2e_expect_rc "exec passes the command's exit status" 7 as_resp exec "$G" -- sh -c 'exit 7'
e2e_expect_rc "exec of a missing command -> 127" 127 as_resp exec "$G" -- /nonexistent/cmd
e2e_expect_rc "exec without -- also works" 0 as_resp exec "$G" true
e2e_expect_rc "exec sets BREAKGLASS_GRANT" 0 as_resp exec "$G" -- sh -c '[ "$BREAKGLASS_GRANT" = "$1" ]' _ "$G"

# --- revoke ------------------------------------------------------------------------------
e2e_expect_rc "revoke of an unknown grant -> 1" 1 as_admin revoke g_does_not_exist
e2e_expect_rc "revoke (admin) -> 0" 0 as_admin revoke "$G"
e2e_check "revoke prints the revoked grant" grep -q "^status  *revoked" <<<"$e2e_out"
e2e_expect_rc "creds after revoke -> 1" 1 as_resp creds "$G"

# --- audit tail --------------------------------------------------------------------------
e2e_expect_rc "audit tail (admin) -> 0" 0 as_admin audit tail --limit 5
e2e_check "audit tail: 5 lines, numbered" [ "$(grep -c '^[0-9][0-9]* ' <<<"$e2e_out")" = 5 ]
e2e_expect_rc "audit tail --after 2 --limit 3 --json -> 0" 0 as_admin audit tail --after 2 --limit 3 --json
e2e_check "audit --json: seqs 3,4,5" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); sys.exit(0 if [r["seq"] for r in o["records"]] == [3, 4, 5] else 1)' "$e2e_out"

# --- the output contract: with --json every failure is one object on stdout ------------------
# json_fail NAME RC CODE CMD...: exits RC, and stdout is exactly one JSON object
# {"error": CODE, "message": non-empty, "exit": RC} (CODE "" accepts any code).
json_fail() {
	local name=$1 rc=$2 code=$3
	shift 3
	e2e_expect_rc "$name -> $rc" "$rc" "$@"
	e2e_check "$name: --json error object" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
ok = isinstance(o, dict) and o.get("exit") == int(sys.argv[2]) and o.get("message")
ok = ok and isinstance(o.get("error"), str) and (sys.argv[3] == "" or o["error"] == sys.argv[3])
sys.exit(0 if ok else 1)' "$e2e_out" "$rc" "$code"
}
json_fail "usage error" 2 usage as_admin grant --user "$RESP" --bogus --json
json_fail "usage error before --json is reached" 2 usage as_admin grant --bogus x --json
json_fail "unknown command" 2 usage "$BG" --json frobnicate
json_fail "no token" 2 usage env -u BREAKGLASS_TOKEN "$BG" whoami --json
json_fail "unreachable server" 3 unreachable as_admin --url "http://127.0.0.1:$dead" grants --json
json_fail "bad token" 1 "" env BREAKGLASS_TOKEN=bgt_not_a_token "$BG" whoami --json
json_fail "unknown grant" 1 not_found as_admin grant show bg-nope --json
json_fail "--op query" 2 usage as_admin grant --user "$RESP" --table Orders --op query --for 1m \
	--reason "e2e: op" --otp 123456 --json
e2e_check "--op query suggests Query" grep -q "did you mean Query" <<<"$e2e_err"
json_fail "revoked grant's creds" 1 "" as_resp creds "$G" --json
json_fail "exec of a revoked grant" 1 "" as_resp --json exec "$G" -- true
json_fail "help of no command" 2 usage "$BG" help frobnicate --json

# --- names: the rule is stated, and checked before anything changes ----------------------------
nd=$(e2e_tmpdir)
e2e_expect_rc "init --admin alice@example.com -> 2" 2 "$BG" init --data "$nd/x" --admin alice@example.com
e2e_check "the message states the rule" grep -q "A-Z a-z 0-9 . _ -" <<<"$e2e_err"
e2e_check "a refused init leaves nothing behind" [ ! -e "$nd/x" ]
e2e_expect_rc "user add 'a b' -> 2" 2 as_admin user add "a b" --role responder --otp 123456
e2e_check "user add states the rule" grep -q "A-Z a-z 0-9 . _ -" <<<"$e2e_err"

# init is all or nothing: with a 1 KiB file size limit the store cannot be written; the
# files and the directories that run made are removed, and the retry succeeds.
e2e_expect_rc "init that fails part-way -> 4" 4 bash -c 'trap "" XFSZ; ulimit -f 1; exec "$0" init --data "$1/new/sub" --admin alice' "$BG" "$nd"
e2e_check "init that failed left nothing behind" [ ! -e "$nd/new" ]
e2e_expect_rc "init again -> 0" 0 "$BG" init --data "$nd/new/sub" --admin alice
json_fail "init on an existing store" 4 exists "$BG" init --data "$nd/new/sub" --admin bob --json
e2e_check "the existing store is untouched" env BREAKGLASS_DATA="$nd/new/sub" sh -c '[ -s "$BREAKGLASS_DATA/breakglass.db" ] && [ -s "$BREAKGLASS_DATA/master.key" ]'

# --- serve: local failures are 4, bad settings 2 --------------------------------------------
busy=${BREAKGLASS_URL##*:}
json_fail "serve on a busy port" 4 local env AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
	"$BG" serve --data "$nd/new/sub" --listen "127.0.0.1:$busy" --json
e2e_check "busy port: one clear line" [ "$(grep -c . <<<"$e2e_err")" = 1 ]
json_fail "serve without a store" 4 local env AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
	"$BG" serve --data "$nd/none" --listen 127.0.0.1:0 --json
json_fail "serve without AWS credentials" 4 local env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	HOME="$nd" "$BG" serve --data "$nd/new/sub" --listen 127.0.0.1:0 --json
json_fail "serve with a bad setting" 2 usage "$BG" serve --data "$nd/new/sub" --listen 127.0.0.1:99999 --json
json_fail "serve with an unknown option" 2 usage "$BG" serve --lsten x --json

# --- a TOTP code is not spent on a refused request ----------------------------------------------
code=$(e2e_otp "$ADM_SECRET")
e2e_expect_rc "user add of a taken name -> 1" 1 as_admin user add "$RESP" --role responder --otp "$code"
e2e_expect_rc "grant with an unknown op -> 2" 2 as_admin grant --user "$RESP" --table Orders --op Qeury --for 1m --reason "e2e: op" --otp "$code"
e2e_expect_rc "a direct grant without --reason -> 2" 2 as_admin grant --user "$RESP" --table Orders --op Query --for 1m --otp "$code"
e2e_check "...it says a reason is needed" grep -q "missing --reason" <<<"$e2e_err"
e2e_expect_rc "the same code still works" 0 as_admin user add e2e-cli-spare --role responder --otp "$code"
e2e_expect_rc "...once" 1 as_admin user add e2e-cli-spare2 --role responder --otp "$code"
e2e_check "reuse says when the next code comes" grep -qE "next code appears in your authenticator in [0-9]+ s" <<<"$e2e_err"

# --- revoke says who --------------------------------------------------------------------------
g2=$(e2e_grant "$ADM_TOKEN" "$ADM_SECRET" --user "$RESP" --table Orders --op Query --for 5m | e2e_json id)
e2e_expect_rc "revoke by the grantee -> 0" 0 as_resp revoke "$g2"
e2e_check "revoke's output says who revoked" grep -q "^revoked by  *$RESP\$" <<<"$e2e_out"

e2e_finish
