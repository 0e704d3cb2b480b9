#!/usr/bin/env bash
# test_syslog_sink.sh - the syslog audit sinks (issue 9, point 4) on a gateway of its own,
# against a real rsyslogd this test starts (loopback only, free ports, its own
# configuration, stopped by PID): imtcp and imrelp write the MSG of each message to a file.
#  - both sinks up: requests go through, and both copies hold the trail (each line an
#    `audit export` line, intact) and verify with `audit verify --file`;
#  - a required relp:// sink with rsyslogd down: a DynamoDB request is refused and never
#    reaches dynalite;
#  - a best-effort tcp:// sink alone with rsyslogd down: requests work, `breakglass status`
#    shows the sink's lag; rsyslogd started: the backlog arrives.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[syslog-sink] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir)
RSYSLOGD=/usr/sbin/rsyslogd
[ -x "$RSYSLOGD" ] || RSYSLOGD=$(command -v rsyslogd)
tcp_port=$(e2e_free_port)
relp_port=$(e2e_free_port)
while [ "$relp_port" = "$tcp_port" ]; do relp_port=$(e2e_free_port); done

cat >"$dir/rsyslog.conf" <<EOF
# test_syslog_sink.sh's own rsyslogd: loopback only. The gateway's records can be large:
# raise rsyslog's 8k default (docs/audit-syslog.md).
global(workDirectory="$dir" maxMessageSize="4m")
module(load="imtcp")
module(load="imrelp")
input(type="imtcp" address="127.0.0.1" port="$tcp_port")
input(type="imrelp" address="127.0.0.1" port="$relp_port" maxDataSize="4m")
template(name="raw" type="string" string="%msg%\n")
if \$app-name == "breakglass" then {
  if \$inputname == "imtcp" then action(type="omfile" file="$dir/tcp.jsonl" template="raw")
  if \$inputname == "imrelp" then action(type="omfile" file="$dir/relp.jsonl" template="raw")
}
EOF

rs_pid=""
start_rsyslogd() {
	"$RSYSLOGD" -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >>"$dir/rsyslogd.log" 2>&1 &
	rs_pid=$!
	e2e_pids+=("$rs_pid")
	e2e_wait_port "$tcp_port" "$rs_pid" 15 && e2e_wait_port "$relp_port" "$rs_pid" 15
}
stop_rsyslogd() {
	[ -n "$rs_pid" ] || return 0
	kill "$rs_pid" 2>/dev/null
	wait "$rs_pid" 2>/dev/null
	rs_pid=""
}

# --- a gateway with both sinks ---------------------------------------------------------
"$BG" init --data "$dir/data" --admin sl-admin --json >"$dir/admin.json" 2>"$dir/init.log" ||
	e2e_fail "init" "$(cat "$dir/init.log")"
AT=$(e2e_json token <"$dir/admin.json")
AS=$(e2e_json totp_secret <"$dir/admin.json")
e2e_note_secret "$AT"
cat >"$dir/both.yaml" <<EOF
audit:
  checkpoint_every: 4
  checkpoint_seconds: 1
  sinks:
    - {type: syslog, address: "tcp://127.0.0.1:$tcp_port", required: false}
    - {type: syslog, address: "relp://127.0.0.1:$relp_port", required: true}
EOF
cat >"$dir/tcp-only.yaml" <<EOF
audit:
  checkpoint_every: 4
  checkpoint_seconds: 1
  sinks:
    - {type: syslog, address: "tcp://127.0.0.1:$tcp_port", required: false}
EOF

start_rsyslogd || e2e_fail "rsyslogd starts" "$(tail -n 20 "$dir/rsyslogd.log")"
E2E_DATA="$dir/data"
E2E_SERVE_ARGS=(--config "$dir/both.yaml")
e2e_serve "$dir" || e2e_fail "serve with syslog sinks" "$(tail -n 20 "$dir/gateway.log")"
export BREAKGLASS_TOKEN=$AT

e2e_new_user_as "$AT" "$AS" sl-resp responder >"$dir/resp.json" || e2e_fail "user add" "$(cat "$dir/resp.json")"
RT=$(e2e_json token <"$dir/resp.json")
e2e_note_secret "$RT"
e2e_grant "$AT" "$AS" --user sl-resp --table orders --op GetItem,PutItem --for 15m >"$dir/grant.json" ||
	e2e_fail "grant" "$(cat "$dir/grant.json")"
G=$(e2e_json id <"$dir/grant.json")

# The grant's credentials, fetched once while the sinks are up (with the required sink
# down, fetching them is refused too); then the AWS CLI straight at the gateway, one attempt.
BREAKGLASS_TOKEN=$RT "$BG" creds "$G" --format env >"$dir/creds.env" || e2e_fail "creds" "$(cat "$dir/creds.env")"
e2e_note_secret "$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$dir/creds.env" | tr -d "'\"")"
e2e_note_secret "$(sed -n 's/^export AWS_SESSION_TOKEN=//p' "$dir/creds.env" | tr -d "'\"")"
ddb() { (set -a; source "$dir/creds.env"; AWS_MAX_ATTEMPTS=1 /usr/bin/aws --endpoint-url "$BREAKGLASS_URL" --region us-east-1 dynamodb "$@"); }
put_item() { ddb put-item --table-name orders --item '{"pk":{"S":"'"$1"'"},"sk":{"S":"syslog"}}'; }
present() {
	[ -n "$(e2e_aws_direct dynamodb get-item --table-name orders --consistent-read \
		--key '{"pk":{"S":"'"$1"'"},"sk":{"S":"syslog"}}' --query Item.pk.S --output text | grep -v None)" ]
}
# The highest seq of the store (through the API).
head_seq() { "$BG" audit tail -n 1 --json | "$PY" -c 'import json, sys
r = json.load(sys.stdin)["records"]; print(max([x["seq"] for x in r] or [0]))'; }
# wait_copy FILE SEQ: until FILE holds a record of seq >= SEQ (up to 20 s).
wait_copy() {
	local i
	for i in $(seq 1 200); do
		"$PY" - "$1" "$2" <<'PYEOF' && return 0
import json, sys
try:
    seqs = [json.loads(l)["seq"] for l in open(sys.argv[1]) if l.strip()]
except (OSError, ValueError):
    sys.exit(1)
sys.exit(0 if seqs and max(seqs) >= int(sys.argv[2]) else 1)
PYEOF
		sleep 0.1
	done
	return 1
}
# same_as_export FILE: FILE, repeats dropped, holds each record exactly as `audit export`
# writes it, from seq 1 without a gap up to its last, and verifies.
same_as_export() {
	"$BG" audit export >"$dir/export.jsonl" || return 1
	awk '!seen[$0]++' "$1" >"$1.once"
	"$PY" - "$1.once" "$dir/export.jsonl" <<'PYEOF' || return 1
import json, sys
copy = [l.rstrip("\n") for l in open(sys.argv[1])]
exp = {json.loads(l)["seq"]: l.rstrip("\n") for l in open(sys.argv[2])}
seqs = [json.loads(l)["seq"] for l in copy]
assert seqs == list(range(1, len(seqs) + 1)), "seqs %s" % seqs[:20]
bad = [s for s, l in zip(seqs, copy) if exp.get(s) != l]
assert not bad, "lines differ from the export at seqs %s" % bad[:10]
PYEOF
	"$BG" audit verify --file "$1.once" >"$dir/verify.out" 2>&1
}

# --- both sinks up ---------------------------------------------------------------------
e2e_expect_rc "PutItem through the gateway with both sinks up -> 0" 0 put_item sl-1
e2e_check "...reached dynalite" present sl-1
e2e_expect_rc "GetItem -> 0" 0 ddb get-item --table-name orders --key '{"pk":{"S":"sl-1"},"sk":{"S":"syslog"}}'
sleep 1.2 # a checkpoint covers the tail
want=$(head_seq)
e2e_check "the RELP copy reaches seq $want" wait_copy "$dir/relp.jsonl" "$want"
e2e_check "the TCP copy reaches seq $want" wait_copy "$dir/tcp.jsonl" "$want"
e2e_check "the RELP copy is the export, line for line, and verifies" same_as_export "$dir/relp.jsonl"
e2e_check "the TCP copy is the export, line for line, and verifies" same_as_export "$dir/tcp.jsonl"

# --- the required RELP sink down: fail closed ----------------------------------------------
stop_rsyslogd
out=$(put_item sl-2 2>&1)
e2e_check "PutItem refused while the required RELP sink is down" [ $? -ne 0 ]
e2e_check "...saying the audit log is unavailable (fail closed)" grep -q "audit log is unavailable" <<<"$out"
e2e_expect_rc "fetching credentials is refused too" 3 env BREAKGLASS_TOKEN="$RT" "$BG" creds "$G" --format env
e2e_check "...and never reached dynalite" eval '! present sl-2'
start_rsyslogd || e2e_fail "rsyslogd restarts" "$(tail -n 20 "$dir/rsyslogd.log")"
ok=1
for _ in $(seq 1 40); do put_item sl-3 >/dev/null 2>&1 && { ok=0; break; }; sleep 0.5; done
e2e_check "PutItem goes through once rsyslogd is back" [ "$ok" = 0 ]
e2e_check "...reached dynalite" present sl-3

# --- a best-effort TCP sink alone, rsyslogd down: requests work, lag shows, backlog arrives
kill "$E2E_GATEWAY_PID" 2>/dev/null
wait "$E2E_GATEWAY_PID" 2>/dev/null
stop_rsyslogd
E2E_SERVE_ARGS=(--config "$dir/tcp-only.yaml")
e2e_serve "$dir" || e2e_fail "serve with a best-effort TCP sink" "$(tail -n 20 "$dir/gateway.log")"
e2e_expect_rc "PutItem with the best-effort sink down -> 0" 0 put_item sl-4
e2e_check "...reached dynalite" present sl-4
e2e_expect_rc "GetItem -> 0" 0 ddb get-item --table-name orders --key '{"pk":{"S":"sl-4"},"sk":{"S":"syslog"}}'
sleep 1.2
want=$(head_seq)
e2e_expect_rc "breakglass status -> 0" 0 "$BG" status --json
e2e_check "status --json: the TCP sink down, records behind" "$PY" -c 'import json, sys
a = json.loads(sys.argv[1])["audit"]
s = [x for x in a["sinks"] if x["name"] == "syslog:tcp://127.0.0.1:" + sys.argv[2]]
sys.exit(0 if len(s) == 1 and not s[0]["up"] and s[0]["lag"] > 0 and not s[0]["required"] else 1)' "$e2e_out" "$tcp_port"
e2e_expect_rc "breakglass status -> 0" 0 "$BG" status
e2e_check "...shows the lag" grep -Eq "syslog:tcp://127.0.0.1:$tcp_port \(best effort\): DOWN, [1-9][0-9]* behind" <<<"$e2e_out"
start_rsyslogd || e2e_fail "rsyslogd restarts" "$(tail -n 20 "$dir/rsyslogd.log")"
e2e_check "the backlog reaches the TCP copy (seq $want)" wait_copy "$dir/tcp.jsonl" "$want"
e2e_check "the TCP copy is the export, line for line, and verifies" same_as_export "$dir/tcp.jsonl"

e2e_finish
