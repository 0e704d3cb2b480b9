#!/usr/bin/env bash
# test_frozen_disk.sh - a stuck audit disk: a gateway whose data directory lives on its
# own small ext4 filesystem (a loop device made here) keeps answering while that
# filesystem is frozen (fsfreeze): every write is refused within the audit wait bound
# (RequestRefusedException, never silence, never forwarded), and once the filesystem is
# thawed the gateway serves again without a restart. Needs root (mount, fsfreeze), which
# the suite has on its machines.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[frozen-disk] "
BG=$BREAKGLASS_BIN
img=$E2E_STATE/frozen.img
mnt=$E2E_STATE/frozen
frozen=0
gw_pid=

cleanup_fs() {
	[ "$frozen" = 1 ] && fsfreeze -u "$mnt" 2>/dev/null
	[ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
	mountpoint -q "$mnt" && umount "$mnt"
	rm -f "$img"
}
trap 'cleanup_fs; e2e_cleanup' EXIT

mkdir -p "$mnt"
if ! { dd if=/dev/zero of="$img" bs=1M count=64 status=none && mkfs.ext4 -q "$img" &&
	mount -o loop "$img" "$mnt"; } 2>"$E2E_STATE/frozen-mount.err"; then
	e2e_fail "a loop-mounted ext4 for the data directory" "$(cat "$E2E_STATE/frozen-mount.err")"
	e2e_finish
	exit 1
fi

out=$("$BG" init --data "$mnt/data" --admin frz --json) || {
	e2e_fail "init on the loop filesystem" "$out"
	e2e_finish
	exit 1
}
adm_tok=$(printf '%s' "$out" | e2e_json token)
adm_sec=$(printf '%s' "$out" | e2e_json totp_secret)
port=$(e2e_free_port)
env -u BREAKGLASS_TOKEN -u BREAKGLASS_URL AWS_ACCESS_KEY_ID=gateway-upstream-key \
	AWS_SECRET_ACCESS_KEY=gateway-upstream-secret AWS_REGION=us-east-1 \
	"$BG" serve --listen "127.0.0.1:$port" --upstream "$E2E_DYNALITE_URL" --data "$mnt/data" \
	>>"$E2E_STATE/logs/gateway-frozen.log" 2>&1 &
gw_pid=$!
e2e_wait_port "$port" "$gw_pid" 20 || {
	e2e_fail "gateway on the loop filesystem starts" "$(tail -n 5 "$E2E_STATE/logs/gateway-frozen.log")"
	e2e_finish
	exit 1
}
export BREAKGLASS_URL="http://127.0.0.1:$port"
u=$(e2e_new_user_as "$adm_tok" "$adm_sec" frzresp responder) || {
	e2e_fail "user add" "$u"
	e2e_finish
	exit 1
}
resp_tok=$(printf '%s' "$u" | e2e_json token)
g=$(e2e_grant "$adm_tok" "$adm_sec" --user frzresp --table Users --op PutItem,GetItem --for 10m \
	--reason "frozen disk test") || {
	e2e_fail "grant" "$g"
	e2e_finish
	exit 1
}
gid=$(printf '%s' "$g" | e2e_json id)
envs=$(BREAKGLASS_TOKEN=$resp_tok "$BG" creds "$gid" --format env) || {
	e2e_fail "creds" "$envs"
	e2e_finish
	exit 1
}
eval "$envs"
e2e_note_secret "$AWS_SECRET_ACCESS_KEY"
e2e_note_secret "$AWS_SESSION_TOKEN"

# N concurrent PutItems (keys PREFIX-0..N-1) through the gateway with boto3; prints one
# line per request: seconds, then the error code or OK.
puts() {
	"$PY" - "$BREAKGLASS_URL" "$1" "$2" <<'PYEOF'
import sys, threading, time
import boto3, botocore.config
url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
cfg = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=60, connect_timeout=5)
c = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", config=cfg)
out = [None] * n
def one(i):
    t0 = time.monotonic()
    try:
        c.put_item(TableName="Users", Item={"id": {"S": "%s-%d" % (prefix, i)}})
        r = "OK"
    except Exception as e:
        r = getattr(e, "response", {}).get("Error", {}).get("Code") or type(e).__name__
    out[i] = "%.2f %s" % (time.monotonic() - t0, r)
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(out))
PYEOF
}
absent() { # KEY: not in DynamoDB
	[ -z "$(e2e_aws_direct dynamodb get-item --table-name Users --key "{\"id\":{\"S\":\"$1\"}}" \
		--consistent-read --query Item.id.S --output text | grep -v None)" ]
}

r=$(puts frz-before 1)
e2e_check "a write goes through before the freeze ($r)" [ "${r#* }" = OK ]

fsfreeze -f "$mnt" && frozen=1
r=$(puts frz-frozen 5)
echo "$r" | sed 's/^/    /'
slow=$(echo "$r" | awk '$1 > 20 {n++} END {print n + 0}')
refused=$(echo "$r" | grep -c ' RequestRefusedException$')
e2e_check "frozen disk: all 5 writes answered within 20 s (audit wait bound 10 s)" [ "$slow" -eq 0 ]
e2e_check "frozen disk: all 5 refused with RequestRefusedException ($refused)" [ "$refused" -eq 5 ]
ok=1
for i in 0 1 2 3 4; do absent "frz-frozen-$i" || ok=0; done
e2e_check "frozen disk: none of them reached DynamoDB" [ "$ok" = 1 ]
kill -0 "$gw_pid" 2>/dev/null
e2e_check "frozen disk: the gateway is still running" [ $? -eq 0 ]

fsfreeze -u "$mnt" && frozen=0
r=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
	r=$(puts frz-after 1)
	[ "${r#* }" = OK ] && break
	sleep 1
done
e2e_check "thawed: writes go through again without a restart ($r)" [ "${r#* }" = OK ]

kill -TERM "$gw_pid"
wait "$gw_pid"
rc=$?
gw_pid=
e2e_check "the gateway exits 0 on SIGTERM afterwards" [ "$rc" -eq 0 ]
e2e_finish
