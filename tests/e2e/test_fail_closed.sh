#!/usr/bin/env bash
# test_fail_closed.sh - nothing runs unlogged: while another process holds the store's
# write lock past the audit writer's busy timeout, a write through the gateway is refused
# with a non-retryable DynamoDB error and never reaches DynamoDB; once the lock is gone
# the same call goes through and is audited. Uses its own item in the Users table so the
# other tests' data is untouched.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${BREAKGLASS_URL:?}" "${E2E_ADMIN_TOKEN:?}"
E2E_PREFIX="[fail-closed] "
BG=$BREAKGLASS_BIN
item='{"id":{"S":"u-fail-closed"},"email":{"S":"fc@example.com"}}'
key='{"id":{"S":"u-fail-closed"}}'

e2e_responder_grant --table Users --op PutItem,GetItem --for 10m --reason "fail-closed test" || {
	e2e_finish
	exit 1
}
put() { "$AWS" --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" --output json dynamodb put-item --table-name Users --item "$item"; }
present() {
	[ -n "$(e2e_aws_direct dynamodb get-item --table-name Users --key "$key" \
		--consistent-read --query Item.id.S --output text | grep -v None)" ]
}

# Records from here on are this test's (read-only peek at the chain head).
start_seq=$("$PY" -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("select coalesce(max(seq), 0) from audit").fetchone()[0])' "$E2E_DATA/breakglass.db")

lockfile="$E2E_STATE/fc-locked"
releasefile="$E2E_STATE/fc-release"
rm -f "$lockfile" "$releasefile"
# The lock is held until the refused PutItem has returned (at most 60 s), not for a fixed
# time: on a loaded machine the AWS CLI's start-up plus the store's 5 s busy timeout could
# outlast a fixed hold, and the write would then go through.
"$PY" - "$E2E_DATA/breakglass.db" "$lockfile" "$releasefile" <<'PYEOF' &
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
    time.sleep(0.05)
c.execute("ROLLBACK")
PYEOF
locker=$!
e2e_pids+=("$locker")
for _ in $(seq 1 50); do [ -e "$lockfile" ] && break; sleep 0.1; done
e2e_check "the store's write lock is held" [ -e "$lockfile" ]

out=$(put 2>&1)
rc=$?
e2e_check "PutItem refused while the audit log cannot be written" [ "$rc" -ne 0 ]
e2e_check "the refusal is RequestRefusedException, not a retryable error" \
	grep -q "RequestRefusedException" <<<"$out"
e2e_check "the refused write never reached DynamoDB" eval '! present'

touch "$releasefile"
wait "$locker"
e2e_expect_rc "PutItem goes through once the audit log is writable again" 0 put
e2e_check "the write reached DynamoDB" present

# The refused call left no request record; the accepted one left request + response.
n=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --json --limit 1000 --after "$start_seq" |
	"$PY" -c 'import json, sys
g = sys.argv[1]
r = [x for x in json.load(sys.stdin)["records"] if x.get("grant_id") == g and x.get("op") == "PutItem"]
print(",".join(x["kind"] for x in r))' "$E2E_GRANT_ID")
e2e_check "audit holds exactly one request and one response for the PutItem ($n)" \
	[ "$n" = "request,response" ]

e2e_aws_direct dynamodb delete-item --table-name Users --key "$key" >/dev/null
e2e_finish
