#!/usr/bin/env bash
# lib.sh - shared helpers for the end-to-end tests and the demo: free loopback ports,
# dynalite and `breakglass serve` started in the background and stopped by PID on exit,
# TOTP codes that respect the server's one-use-per-step rule, and PASS/FAIL reporting.
#
# Sourced by tests/e2e/run.sh, the bash tests and scripts/demo.sh. The Python and
# JavaScript tests call it as a command for the few things they need from it:
#   bash lib.sh otp SECRET                  next usable TOTP code for SECRET
#   bash lib.sh new-user NAME ROLE          creates a user (as the run's admin), prints JSON
#   bash lib.sh admin NAME                  the admin made for test NAME (JSON, as new-user)
#   bash lib.sh grant TOKEN SECRET ARGS...  `breakglass grant ARGS --otp CODE --json` as that
#                                           admin (TOKEN, TOTP SECRET); prints the grant JSON
# Everything binds 127.0.0.1 only. Always /usr/bin/aws and /usr/bin/python3: other
# installs earlier on PATH may lack Debian's boto3 or be AWS CLI v1.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
AWS=/usr/bin/aws
PY=/usr/bin/python3
DYNALITE="$REPO_ROOT/node_modules/.bin/dynalite"

# Keep the clients away from the machine's AWS configuration and from real AWS: no
# profiles, no instance metadata, one attempt (a retried denial would hide a wrong status).
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard
export AWS_PAGER="" AWS_CLI_AUTO_PROMPT=off
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

e2e_pids=()
e2e_dirs=()
E2E_SERVE_ARGS=()

# e2e_scan_secrets PATH...: every noted secret (e2e_note_secret; 12 characters or more)
# found in a log, an audit record, a sink's output or an error message under PATH: the
# files are named for what they are (*.log, *.jsonl and rotated *.jsonl.N, the store's
# *.db and *.db-wal, captured *.out and *.err), never the files a test writes to hold a
# secret on purpose (init's JSON, creds in env form, secret files). Each file found is
# appended to $E2E_STATE/leaks, which run.sh reports.
e2e_scan_secrets() {
	local pats
	[ -n "${E2E_STATE:-}" ] && [ -s "$E2E_STATE/secrets" ] || return 0
	pats=$(awk 'length($0) >= 12' "$E2E_STATE/secrets" | sort -u)
	[ -n "$pats" ] || return 0
	find "$@" -type f \( -name '*.log' -o -name '*.jsonl' -o -name '*.jsonl.[0-9]*' \
		-o -name '*.db' -o -name '*.db-wal' -o -name '*.out' -o -name '*.err' \) -print0 2>/dev/null |
		xargs -0 -r grep -l -a -F -e "$pats" 2>/dev/null >>"$E2E_STATE/leaks"
	return 0
}

# Stops what this shell started, newest first, by PID: TERM, then KILL after 5 s; scans
# what the test leaves for secrets (e2e_scan_secrets), then removes its folders.
e2e_cleanup() {
	local i pid n
	for ((i = ${#e2e_pids[@]} - 1; i >= 0; i--)); do
		pid=${e2e_pids[$i]}
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null
		for ((n = 0; n < 50; n++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	e2e_pids=()
	# Folders made in a subshell (d=$(e2e_tmpdir)) are listed in a file, not the array.
	if [ -n "${E2E_STATE:-}" ] && [ -f "$E2E_STATE/tmpdirs.$$" ]; then
		mapfile -t -O "${#e2e_dirs[@]}" e2e_dirs <"$E2E_STATE/tmpdirs.$$"
		rm -f -- "$E2E_STATE/tmpdirs.$$"
	fi
	[ ${#e2e_dirs[@]} -gt 0 ] && e2e_scan_secrets "${e2e_dirs[@]}"
	for i in "${e2e_dirs[@]}"; do
		[ -n "$i" ] && rm -rf -- "$i"
	done
	e2e_dirs=()
}

# Installs the cleanup; an interrupt exits (which runs the EXIT trap once).
e2e_install_trap() {
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# A fresh temporary directory, removed on exit (also when made in a subshell, as
# d=$(e2e_tmpdir) does: $$ is the shell whose trap removes it).
e2e_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/breakglass-e2e.XXXXXX") || return 1
	e2e_dirs+=("$d")
	[ -n "${E2E_STATE:-}" ] && [ -d "$E2E_STATE" ] && printf '%s\n' "$d" >>"$E2E_STATE/tmpdirs.$$"
	printf '%s\n' "$d"
}

# A loopback TCP port nobody listens on right now.
e2e_free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Waits until something accepts TCP connections on 127.0.0.1:PORT (up to SECONDS, default
# 15) while PID (if given) is alive. Returns non-zero on timeout or if PID died.
e2e_wait_port() {
	local port=$1 pid=${2:-} secs=${3:-15} n
	for ((n = 0; n < secs * 20; n++)); do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# Reads FIELD from the JSON object on stdin (top-level key; prints "" if absent).
e2e_json() {
	"$PY" -c 'import json, sys
v = json.load(sys.stdin).get(sys.argv[1], "")
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' "$1"
}

# e2e_same_json KEY JSON1 JSON2: true if both documents have KEY and its values are equal
# (as JSON values, so key order and spacing do not matter).
e2e_same_json() {
	"$PY" -c 'import json, sys
k, a, b = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
sys.exit(0 if k in a and k in b and a[k] == b[k] else 1)' "$@" 2>/dev/null
}

# Starts dynalite (in memory) on a free loopback port. Sets E2E_DYNALITE_URL and
# E2E_DYNALITE_PID. Logs to $1/dynalite.log.
e2e_start_dynalite() {
	local logdir=$1 port pid try
	if [ ! -x "$DYNALITE" ]; then
		echo "e2e: $DYNALITE is missing (run 'make deps' or 'npm ci')" >&2
		return 1
	fi
	for try in 1 2 3; do
		port=$(e2e_free_port) || return 1
		"$DYNALITE" --host 127.0.0.1 --port "$port" --createTableMs 0 --deleteTableMs 0 \
			--updateTableMs 0 >>"$logdir/dynalite.log" 2>&1 &
		pid=$!
		e2e_pids+=("$pid")
		if e2e_wait_port "$port" "$pid" 20; then
			E2E_DYNALITE_URL="http://127.0.0.1:$port"
			E2E_DYNALITE_PID=$pid
			export E2E_DYNALITE_URL
			return 0
		fi
		kill "$pid" 2>/dev/null
	done
	echo "e2e: dynalite did not start (see $logdir/dynalite.log)" >&2
	return 1
}

# Runs /usr/bin/aws against dynalite directly (the admin path, not through the gateway).
e2e_aws_direct() {
	env -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=direct AWS_SECRET_ACCESS_KEY=direct \
		AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
		"$AWS" --endpoint-url "$E2E_DYNALITE_URL" --output json "$@"
}

# Creates and fills the tables the tests use: Orders (customer, order_id) with five
# orders of two customers, and Users (id) with two users.
e2e_seed_tables() {
	e2e_aws_direct dynamodb create-table --table-name Orders \
		--attribute-definitions AttributeName=customer,AttributeType=S \
		AttributeName=order_id,AttributeType=S \
		--key-schema AttributeName=customer,KeyType=HASH AttributeName=order_id,KeyType=RANGE \
		--billing-mode PAY_PER_REQUEST >/dev/null || return 1
	e2e_aws_direct dynamodb create-table --table-name Users \
		--attribute-definitions AttributeName=id,AttributeType=S \
		--key-schema AttributeName=id,KeyType=HASH \
		--billing-mode PAY_PER_REQUEST >/dev/null || return 1
	# One batch (DynamoDB takes up to 25 puts per call); the unicode and set attributes
	# check that bodies pass through the gateway byte for byte.
	e2e_aws_direct dynamodb batch-write-item --request-items '{
	  "Orders": [
	    {"PutRequest": {"Item": {"customer": {"S": "c-100"}, "order_id": {"S": "o-1"}, "total": {"N": "42.50"}, "state": {"S": "shipped"}}}},
	    {"PutRequest": {"Item": {"customer": {"S": "c-100"}, "order_id": {"S": "o-2"}, "total": {"N": "7"}, "state": {"S": "stuck"}}}},
	    {"PutRequest": {"Item": {"customer": {"S": "c-100"}, "order_id": {"S": "o-3"}, "total": {"N": "19.99"}, "state": {"S": "paid"}, "tags": {"SS": ["gift", "rush"]}}}},
	    {"PutRequest": {"Item": {"customer": {"S": "c-200"}, "order_id": {"S": "o-1"}, "total": {"N": "5"}, "state": {"S": "stuck"}}}},
	    {"PutRequest": {"Item": {"customer": {"S": "c-200"}, "order_id": {"S": "o-9"}, "total": {"N": "1000"}, "state": {"S": "paid"}, "note": {"S": "caf\u00e9 \u2603"}}}}
	  ],
	  "Users": [
	    {"PutRequest": {"Item": {"id": {"S": "u-1"}, "email": {"S": "a@example.com"}}}},
	    {"PutRequest": {"Item": {"id": {"S": "u-2"}, "email": {"S": "b@example.com"}}}}
	  ]
	}' >/dev/null || return 1
	[ "$(e2e_aws_direct dynamodb scan --table-name Orders --select COUNT --query Count)" = 5 ]
}

# The table the example runbooks are for (runbooks/tables.yaml), loaded with their
# fixtures, unless a test made it already.
e2e_orders_table() {
	e2e_aws_direct dynamodb describe-table --table-name orders >/dev/null 2>&1 && return 0
	e2e_aws_direct dynamodb create-table --table-name orders \
		--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
		AttributeName=status,AttributeType=S \
		--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
		--global-secondary-indexes 'IndexName=by-status,KeySchema=[{AttributeName=status,KeyType=HASH},{AttributeName=sk,KeyType=RANGE}],Projection={ProjectionType=ALL},ProvisionedThroughput={ReadCapacityUnits=5,WriteCapacityUnits=5}' \
		--provisioned-throughput ReadCapacityUnits=5,WriteCapacityUnits=5 >/dev/null || return 1
	"$PY" - "$REPO_ROOT/runbooks/fixtures/orders.json" "$E2E_DYNALITE_URL" <<'PY'
import json, sys, boto3
c = boto3.client("dynamodb", endpoint_url=sys.argv[2], region_name="us-east-1",
                 aws_access_key_id="direct", aws_secret_access_key="direct")
for it in json.load(open(sys.argv[1])):
    c.put_item(TableName="orders", Item=it)
PY
}

# `breakglass init` of a new store (admin "admin") in a temporary directory. Sets and
# exports E2E_DATA, E2E_ADMIN (name), E2E_ADMIN_TOKEN, E2E_ADMIN_SECRET.
e2e_init_store() {
	local logdir=$1 data out
	: "${BREAKGLASS_BIN:?BREAKGLASS_BIN must point to the breakglass binary}"
	data=$(e2e_tmpdir) || return 1
	out=$("$BREAKGLASS_BIN" init --data "$data/store" --admin admin --json 2>>"$logdir/init.log") || {
		echo "e2e: breakglass init failed (see $logdir/init.log)" >&2
		return 1
	}
	E2E_DATA="$data/store"
	E2E_ADMIN=admin
	E2E_ADMIN_TOKEN=$(printf '%s' "$out" | e2e_json token)
	E2E_ADMIN_SECRET=$(printf '%s' "$out" | e2e_json totp_secret)
	if [ -z "$E2E_ADMIN_TOKEN" ] || [ -z "$E2E_ADMIN_SECRET" ]; then
		echo "e2e: breakglass init --json printed no token/totp_secret" >&2
		return 1
	fi
	export E2E_DATA E2E_ADMIN E2E_ADMIN_TOKEN E2E_ADMIN_SECRET
}

# `breakglass serve` on a free loopback port for the store $E2E_DATA, with dynalite as
# upstream and dummy AWS credentials of its own for signing upstream, and the arguments in
# the array E2E_SERVE_ARGS if set, and the policy file $E2E_POLICY if set. Sets and
# exports BREAKGLASS_URL, E2E_GATEWAY_PID, E2E_GATEWAY_LOG.
e2e_serve() {
	local logdir=$1 port pid try
	E2E_GATEWAY_LOG="$logdir/gateway.log"
	for try in 1 2 3; do
		port=$(e2e_free_port) || return 1
		env -u BREAKGLASS_TOKEN -u BREAKGLASS_URL \
			AWS_ACCESS_KEY_ID=gateway-upstream-key AWS_SECRET_ACCESS_KEY=gateway-upstream-secret \
			AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
			"$BREAKGLASS_BIN" serve --listen "127.0.0.1:$port" --upstream "$E2E_DYNALITE_URL" \
			--data "$E2E_DATA" --public-url "http://127.0.0.1:$port" \
			--runbooks "${E2E_RUNBOOKS:-$REPO_ROOT/runbooks}" "${E2E_SERVE_ARGS[@]}" \
			${E2E_POLICY:+--policy "$E2E_POLICY"} >>"$E2E_GATEWAY_LOG" 2>&1 &
		pid=$!
		e2e_pids+=("$pid")
		if e2e_wait_port "$port" "$pid" 20; then
			BREAKGLASS_URL="http://127.0.0.1:$port"
			E2E_GATEWAY_PID=$pid
			export BREAKGLASS_URL E2E_GATEWAY_PID E2E_GATEWAY_LOG
			return 0
		fi
		kill "$pid" 2>/dev/null
	done
	echo "e2e: breakglass serve did not start (see $E2E_GATEWAY_LOG)" >&2
	return 1
}

# Both of the above.
e2e_start_gateway() {
	e2e_init_store "$1" && e2e_serve "$1"
}

# Prints the next TOTP code for SECRET that the server will accept: codes are accepted
# once per user, each 30 s step once and in increasing order, within one step of the
# server's clock. The last step used per secret is kept under $E2E_STATE/otp, so a burst
# of up to three codes (previous, current, next step) is free and later ones wait for the
# clock. A previous-step code is not used in the last 3 s of a step, when it could expire
# on the way to the server.
e2e_otp() {
	local secret=$1 dir f last now step into cand lo
	: "${E2E_STATE:?E2E_STATE is not set}"
	dir="$E2E_STATE/otp"
	mkdir -p "$dir" || return 1
	f="$dir/$(printf '%s' "$secret" | sha256sum | cut -c1-16)"
	(
		flock 9 || exit 1
		last=$(cat "$f" 2>/dev/null || echo 0)
		while :; do
			now=$(date +%s)
			step=$((now / 30))
			into=$((now % 30))
			lo=$((step - 1))
			[ "$into" -ge 27 ] && lo=$step
			cand=$((last + 1))
			[ "$cand" -lt "$lo" ] && cand=$lo
			[ "$cand" -le $((step + 1)) ] && break
			sleep $((30 - into))
		done
		printf '%s\n' "$cand" >"$f"
		oathtool --totp -b -N "@$((cand * 30))" "$secret"
	) 9>"$f.lock"
}

# A 6-digit code that is wrong for SECRET at every step the server could accept now.
e2e_wrong_otp() {
	local secret=$1 codes c
	codes=$(oathtool --totp -b -w 4 -N "now - 90 seconds" "$secret")
	for c in 000000 111111 222222 333333 444444; do
		if ! printf '%s\n' "$codes" | grep -qx "$c"; then
			printf '%s\n' "$c"
			return 0
		fi
	done
	return 1
}

# Creates user NAME with ROLE as the admin with API token TOKEN and TOTP secret SECRET;
# prints the answer ({name, role, token, totp_secret, totp_uri}).
e2e_new_user_as() {
	local token=$1 secret=$2 name=$3 role=$4 code
	code=$(e2e_otp "$secret") || return 1
	BREAKGLASS_TOKEN=$token "$BREAKGLASS_BIN" user add "$name" --role "$role" --otp "$code" --json
}

# The same as the run's first admin (from init).
e2e_new_user() {
	e2e_new_user_as "$E2E_ADMIN_TOKEN" "$E2E_ADMIN_SECRET" "$1" "$2"
}

# Creates one admin per test file (cli, aws, boto, js) up front, in a tree, so that no
# admin's TOTP budget (three codes at once, then one per 30 s) runs dry and nobody waits:
# the first admin makes two, the js admin makes two more and is not needed again until
# its budget has refilled. Each answer is kept in $E2E_STATE/admin-NAME.json.
e2e_make_admins() {
	local js cli t s
	js=$(e2e_new_user e2e-admin-js admin) || return 1
	printf '%s\n' "$js" >"$E2E_STATE/admin-js.json"
	cli=$(e2e_new_user e2e-admin-cli admin) || return 1
	printf '%s\n' "$cli" >"$E2E_STATE/admin-cli.json"
	t=$(printf '%s' "$js" | e2e_json token)
	s=$(printf '%s' "$js" | e2e_json totp_secret)
	e2e_new_user_as "$t" "$s" e2e-admin-aws admin >"$E2E_STATE/admin-aws.json" || return 1
	e2e_new_user_as "$t" "$s" e2e-admin-boto admin >"$E2E_STATE/admin-boto.json" || return 1
}

# Prints the admin made for test NAME (creating it now if e2e_make_admins did not).
e2e_admin() {
	local f="$E2E_STATE/admin-$1.json"
	if [ ! -s "$f" ]; then
		e2e_new_user "e2e-admin-$1" admin >"$f" || {
			rm -f "$f"
			return 1
		}
	fi
	cat "$f"
}

# As the admin with API token TOKEN and TOTP secret SECRET: breakglass grant ARGS... --json
e2e_grant() {
	local token=$1 secret=$2 code reason=()
	shift 2
	# A direct grant needs a reason; tests that do not care get one.
	case " $* " in *" --reason "*) ;; *) reason=(--reason "e2e test grant") ;; esac
	code=$(e2e_otp "$secret") || return 1
	BREAKGLASS_TOKEN=$token "$BREAKGLASS_BIN" grant "$@" "${reason[@]}" --otp "$code" --json
}

# --- PASS/FAIL reporting for bash tests --------------------------------------------------

e2e_passed=0
e2e_failed=0
E2E_PREFIX=${E2E_PREFIX:-}

# A grant for the run's responder (made by the run's admin; arguments as for `grant`),
# its credentials fetched and exported as AWS_* (they are noted as secrets), and its id in
# $E2E_GRANT_ID. On failure: a FAIL line, and returns 1.
e2e_responder_grant() {
	local g envs
	g=$(e2e_grant "$E2E_ADMIN_TOKEN" "$E2E_ADMIN_SECRET" --user "$E2E_RESPONDER" "$@") || {
		e2e_fail "grant for the test" "$g"
		return 1
	}
	E2E_GRANT_ID=$(printf '%s' "$g" | e2e_json id)
	# Fetching the credentials is itself an audited action.
	envs=$(BREAKGLASS_TOKEN=$E2E_RESPONDER_TOKEN "$BREAKGLASS_BIN" creds "$E2E_GRANT_ID" \
		--format env) || {
		e2e_fail "creds for the test" "$envs"
		return 1
	}
	eval "$envs"
	e2e_note_secret "$AWS_SECRET_ACCESS_KEY"
	e2e_note_secret "$AWS_SESSION_TOKEN"
}

e2e_pass() {
	e2e_passed=$((e2e_passed + 1))
	printf 'PASS %s%s\n' "$E2E_PREFIX" "$1"
}

# e2e_fail NAME DETAIL...
e2e_fail() {
	local name=$1
	shift
	e2e_failed=$((e2e_failed + 1))
	printf 'FAIL %s%s: %s\n' "$E2E_PREFIX" "$name" "$*"
}

# e2e_check NAME CONDITION-COMMAND... : PASS if the command succeeds.
e2e_check() {
	local name=$1
	shift
	if "$@"; then
		e2e_pass "$name"
	else
		e2e_fail "$name" "check failed: $*"
	fi
}

# e2e_expect_rc NAME RC COMMAND... : PASS if COMMAND exits with status RC. Its output is
# kept in $e2e_out / $e2e_err for further checks.
e2e_expect_rc() {
	local name=$1 want=$2 got
	shift 2
	e2e_out=$("$@" 2>"$E2E_STATE/stderr.$$")
	got=$?
	e2e_err=$(cat "$E2E_STATE/stderr.$$")
	# Error messages are scanned for secrets at the end of the run (run.sh).
	[ "$got" -ne 0 ] && printf '%s\n' "$e2e_err" >>"$E2E_STATE/errors.err"
	if [ "$got" -eq "$want" ]; then
		e2e_pass "$name"
		return 0
	fi
	e2e_fail "$name" "exit $got, want $want; stderr: $(printf '%s' "$e2e_err" | head -c 400)"
	return 1
}

# Remembers a secret (secret access key, session token, API token) so the audit test can
# check it never reached a log.
e2e_note_secret() {
	printf '%s\n' "$1" >>"$E2E_STATE/secrets"
}

# Exits with the bash test's status (non-zero if anything failed or nothing ran).
e2e_finish() {
	printf '%s: %d passed, %d failed\n' "${E2E_PREFIX:-test}" "$e2e_passed" "$e2e_failed" >&2
	[ "$e2e_failed" -eq 0 ] && [ "$e2e_passed" -gt 0 ]
}

# --- command mode (for the Python and JavaScript tests) -----------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	cmd=${1:-}
	shift || true
	case "$cmd" in
	otp) e2e_otp "$1" ;;
	wrong-otp) e2e_wrong_otp "$1" ;;
	new-user) e2e_new_user "$1" "$2" ;;
	admin) e2e_admin "$1" ;;
	grant) e2e_grant "$@" ;;
	*)
		echo "usage: lib.sh otp SECRET | wrong-otp SECRET | new-user NAME ROLE | admin NAME | grant TOKEN SECRET ARGS..." >&2
		exit 2
		;;
	esac
fi
