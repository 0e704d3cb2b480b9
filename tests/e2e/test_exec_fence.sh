#!/usr/bin/env bash
# test_exec_fence.sh - `breakglass exec` leaves no path to real AWS (issue 6, point 4).
#
# Debian 12's AWS CLI (2.9) and boto3 (1.26) ignore AWS_ENDPOINT_URL_DYNAMODB. Under exec,
# `aws` from bash -c must still reach the gateway (the wrapper exec puts first on PATH),
# and what heads for AWS anyway (an explicit --endpoint-url at AWS, boto3 without
# endpoint_url) must end as a CONNECT the gateway refuses and audits: the audit log is how
# the test knows the request went there and nowhere else. Also: the wrapper's private
# directory and its removal, a missing aws, exit statuses and signals.
#
# Nothing here may reach the internet even if the fence broke: AWS_CA_BUNDLE is a CA made
# here, so a TLS handshake with real AWS fails before any signed byte is sent. Run by
# run.sh, which starts dynalite and the gateway on 127.0.0.1.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_RESPONDER_TOKEN:?}"
E2E_PREFIX="[exec-fence] "
BG=$BREAKGLASS_BIN
AWS_HOST=dynamodb.us-east-1.amazonaws.com

work=$(e2e_tmpdir) || exit 1
mkdir -p "$work/tmp" "$work/empty"
# The fail-safe: a CA nobody else uses, for every client started below.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=breakglass-e2e-no-such-ca \
	-keyout "$work/ca.key" -out "$work/ca.pem" >/dev/null 2>&1 || {
	e2e_fail setup "openssl could not make the fail-safe CA"
	e2e_finish
	exit 1
}
export AWS_CA_BUNDLE="$work/ca.pem" REQUESTS_CA_BUNDLE="$work/ca.pem" SSL_CERT_FILE="$work/ca.pem"
# exec's private directory goes under TMPDIR (XDG_RUNTIME_DIR would win), and the aws on
# PATH is Debian's.
unset XDG_RUNTIME_DIR
export TMPDIR="$work/tmp" PATH="/usr/bin:/bin"

e2e_responder_grant --table Orders --op GetItem,Query --for 15m --reason "e2e exec fence" || {
	e2e_finish
	exit 1
}
G=$E2E_GRANT_ID
as_resp() { BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" "$@"; }

# Audit records after SEQ (all pages), one JSON object per line, into FILE.
audit_after() {
	local after=$1 out=$2 page last
	: >"$out"
	while :; do
		page=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --json --after "$after" --limit 1000) || return 1
		last=$(printf '%s' "$page" | "$PY" -c 'import json, sys
recs = json.load(sys.stdin)["records"]
with open(sys.argv[1], "a") as f:
    for r in recs:
        f.write(json.dumps(r) + "\n")
print(recs[-1]["seq"] if recs else "")' "$out")
		[ -z "$last" ] && return 0
		after=$last
	done
}
last_seq() {
	audit_after 0 "$work/all.jsonl" && "$PY" -c 'import json, sys
print(max([json.loads(l)["seq"] for l in open(sys.argv[1]) if l.strip()] or [0]))' "$work/all.jsonl"
}
# audit_has SEQ KIND PYTHON-PREDICATE-ON-r: a record after SEQ of that kind matching it.
audit_has() {
	audit_after "$1" "$work/since.jsonl" || return 1
	"$PY" -c 'import json, sys
kind, pred = sys.argv[2], eval("lambda r: " + sys.argv[3])
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(r.get("kind") == kind and pred(r) for r in recs) else 1)' "$work/since.jsonl" "$2" "$3"
}

KEY='{"customer":{"S":"c-200"},"order_id":{"S":"o-9"}}'
direct=$(e2e_aws_direct dynamodb get-item --table-name Orders --key "$KEY")

# --- aws from bash -c reaches the gateway ------------------------------------------------
seq0=$(last_seq)
e2e_expect_rc "exec -- bash -c 'aws dynamodb get-item' (aws 2.9) -> 0" 0 as_resp exec "$G" -- \
	bash -c 'aws --output json dynamodb get-item --table-name Orders --key "$1"' _ "$KEY"
if e2e_same_json Item "$direct" "$e2e_out"; then
	e2e_pass "bash -c aws get-item returns the item"
else
	e2e_fail "bash -c aws get-item returns the item" "got: $(printf '%s' "$e2e_out" | head -c 300)"
fi
e2e_check "the gateway's audit holds that GetItem (it reached the gateway)" audit_has "$seq0" request \
	"r['op'] == 'GetItem' and r['grant_id'] == '$G'"
e2e_check "and its answer" audit_has "$seq0" response "r['op'] == 'GetItem' and r['status'] == 200"

e2e_expect_rc "exec -- sh -c: aws is the wrapper, in a private directory" 0 as_resp exec "$G" -- \
	sh -c 'p=$(command -v aws); d=${p%/aws}; printf "%s|%s|%s|%s" "$d" "$(stat -c %a "$d")" "$(stat -c %a "$p")" "${PATH%%:*}"'
IFS='|' read -r wdir wmode fmode first <<<"$e2e_out"
ok=no
[ "${wdir#"$TMPDIR"/breakglass-exec-}" != "$wdir" ] && [ "$wmode" = 700 ] && [ "$fmode" = 700 ] &&
	[ "$first" = "$wdir" ] && ok=yes
e2e_check "wrapper directory under TMPDIR, mode 700, wrapper 700, first on PATH ($e2e_out)" [ "$ok" = yes ]
e2e_check "the wrapper's directory is gone after exec" [ ! -e "$wdir" ]
e2e_check "nothing left under TMPDIR" [ -z "$(ls -A "$TMPDIR")" ]

e2e_expect_rc "exec sets the fence: proxies at the gateway, NO_PROXY its host" 0 as_resp exec "$G" -- \
	sh -c 'printf "%s|%s|%s|%s|%s" "$HTTPS_PROXY" "$http_proxy" "$ALL_PROXY" "$NO_PROXY" "$no_proxy"'
e2e_check "proxy variables" [ "$e2e_out" = "$BREAKGLASS_URL|$BREAKGLASS_URL|$BREAKGLASS_URL|127.0.0.1|127.0.0.1" ]

# --- what heads for AWS goes to the gateway and is refused --------------------------------
seq0=$(last_seq)
e2e_expect_rc "exec -- bash -c 'aws --endpoint-url https://$AWS_HOST ...' runs" 0 as_resp exec "$G" -- \
	bash -c "aws --endpoint-url https://$AWS_HOST dynamodb list-tables; echo \"aws exit \$?\""
e2e_check "and aws fails ($e2e_out)" grep -q "^aws exit [1-9]" <<<"$e2e_out"
e2e_check "the CLI names the refused proxy" grep -qi "proxy" <<<"$e2e_err"
e2e_check "the gateway's audit holds the proxy refusal for $AWS_HOST:443" audit_has "$seq0" denial \
	"r['detail'].get('proxy_target') == '$AWS_HOST:443' and r['reason'].startswith('proxy request refused: CONNECT $AWS_HOST:443')"

seq0=$(last_seq)
boto_get='import boto3, json, sys
c = boto3.client("dynamodb")
print(json.dumps(c.get_item(TableName="Orders", Key=json.loads(sys.argv[1]))["Item"]))'
e2e_expect_rc "exec -- python3 boto3 1.26 without endpoint_url fails" 1 as_resp exec "$G" -- \
	"$PY" -c "$boto_get" "$KEY"
e2e_check "boto3 fails on the proxy" grep -qi "proxy" <<<"$e2e_err"
e2e_check "exec notes the boto3 endpoint_url rule for Python" grep -q "^breakglass: note: boto3 older than 1.28" <<<"$e2e_err"
e2e_check "the gateway's audit holds boto3's proxy refusal for $AWS_HOST:443" audit_has "$seq0" denial \
	"r['detail'].get('proxy_target') == '$AWS_HOST:443'"

boto_env='import boto3, json, os, sys
c = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
print(json.dumps({"Item": c.get_item(TableName="Orders", Key=json.loads(sys.argv[1]))["Item"]}))'
e2e_expect_rc "exec -- python3 boto3 with endpoint_url from the env -> 0" 0 as_resp exec "$G" -- \
	"$PY" -c "$boto_env" "$KEY"
if e2e_same_json Item "$direct" "$e2e_out"; then
	e2e_pass "boto3 with endpoint_url returns the item"
else
	e2e_fail "boto3 with endpoint_url returns the item" "got: $(printf '%s' "$e2e_out" | head -c 300)"
fi
printf '#!/usr/bin/python3\nprint("hi")\n' >"$work/script"
chmod 755 "$work/script"
e2e_expect_rc "a script with a python #! line gets the note too" 0 as_resp exec "$G" -- "$work/script"
e2e_check "note on stderr" grep -q "^breakglass: note: boto3" <<<"$e2e_err"
e2e_expect_rc "no note for sh" 0 as_resp exec "$G" -- sh -c true
e2e_check "stderr empty" [ -z "$e2e_err" ]

# --- no aws on PATH: the wrapper says so -----------------------------------------------------
e2e_expect_rc "no aws on PATH -> 127 from the wrapper" 127 env PATH="$work/empty" \
	BREAKGLASS_TOKEN="$E2E_RESPONDER_TOKEN" "$BG" exec "$G" -- /bin/sh -c 'aws --version'
e2e_check "the wrapper names the problem" grep -q "no aws command found" <<<"$e2e_err"

# --- exit statuses and signals ----------------------------------------------------------------
e2e_expect_rc "exit status passes through" 3 as_resp exec "$G" -- sh -c 'exit 3'
e2e_expect_rc "not executable -> 126" 126 as_resp exec "$G" -- "$work/ca.pem"
# How a parent sees exec end: Python's returncode is -N for "killed by signal N".
died_of() {
	"$PY" -c 'import subprocess, sys
print(subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL).returncode)' "$@" 2>/dev/null
}
got=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN died_of "$BG" exec "$G" -- sh -c 'kill -TERM $$')
e2e_check "command killed by SIGTERM: exec dies of SIGTERM (got $got)" [ "$got" = -15 ]
got=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN died_of "$BG" exec "$G" -- sh -c 'kill -INT $$')
e2e_check "command killed by SIGINT: exec dies of SIGINT (got $got)" [ "$got" = -2 ]

# SIGTERM to exec reaches the command (which exits 42 on it); the directory is removed.
rm -f "$work/ready"
BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BG" exec "$G" -- sh -c \
	'trap "exit 42" TERM; echo "${PATH%%:*}" >"$1.tmp"; mv "$1.tmp" "$1"; while :; do sleep 0.1; done' \
	_ "$work/ready" &
pid=$!
for ((n = 0; n < 300; n++)); do
	[ -s "$work/ready" ] && break
	sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
rc=$?
e2e_check "SIGTERM to exec is forwarded: the command's exit 42 comes back (got $rc)" [ "$rc" = 42 ]
ok=no
[ -s "$work/ready" ] && [ ! -e "$(cat "$work/ready")" ] && ok=yes
e2e_check "and the directory is removed" [ "$ok" = yes ]

e2e_finish
