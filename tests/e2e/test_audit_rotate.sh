#!/usr/bin/env bash
# test_audit_rotate.sh - audit signing key rotation (issue 9, point 1: "key rotation is a
# recorded event") on a gateway of its own (checkpoints every 4 records or 1 s): an admin
# rotates with a TOTP code; the key-rotation record names both key ids and carries the new
# public key, and the checkpoint right after it is the old key's, every later one the new
# key's; the key files (0600, no .next left, audit-keys.pem with both public keys, no
# private key anywhere in the records or logs); `audit pubkey` is the new key, `--all`
# both; verify passes with the server's keys, with both files, with one file holding
# both, and reports unknown_key for exactly the old key's checkpoints given only the new
# key (and the reverse); a wrong code or a responder is refused and leaves no key behind;
# a restart keeps the new key; a rotation interrupted before its record is undone at the
# next start, one interrupted after its record is finished.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[audit-rotate] "
BG=$BREAKGLASS_BIN

dir=$(e2e_tmpdir)
D=$dir/data
"$BG" init --data "$D" --admin ar-admin --json >"$dir/admin.json" 2>"$dir/init.log" ||
	e2e_fail "init" "$(cat "$dir/init.log")"
AT=$(e2e_json token <"$dir/admin.json")
AS=$(e2e_json totp_secret <"$dir/admin.json")
e2e_note_secret "$AT"
printf 'audit:\n  checkpoint_every: 4\n  checkpoint_seconds: 1\n' >"$dir/serve.yaml"
E2E_DATA=$D
E2E_SERVE_ARGS=(--config "$dir/serve.yaml")
e2e_serve "$dir" || e2e_fail "serve" "$(cat "$dir/gateway.log")"
export BREAKGLASS_TOKEN=$AT

# Records: refused API calls (each one is a record) and a user.
traffic() {
	local i
	for i in 1 2 3 4 5 6; do curl -s -o /dev/null -H "Authorization: Bearer nope$i" "$BREAKGLASS_URL/api/v1/whoami"; done
}
traffic
e2e_new_user_as "$AT" "$AS" ar-resp responder >"$dir/resp.json" || e2e_fail "user add" "$(cat "$dir/resp.json")"
RT=$(e2e_json token <"$dir/resp.json")
e2e_note_secret "$RT"
sleep 1.5
e2e_check "audit-keys.pem made at start, with the key" [ "$(grep -c 'BEGIN PUBLIC KEY' "$D/audit-keys.pem")" = 1 ]
"$BG" audit pubkey >"$dir/old.pem"
OLD=$("$BG" audit pubkey --json | e2e_json key_id)
cp -p "$D/audit-signing.key" "$dir/old-private.key"

# --- refusals first: nothing made --------------------------------------------------------
e2e_expect_rc "rotate-key as a responder -> 1 (forbidden)" 1 env BREAKGLASS_TOKEN="$RT" "$BG" audit rotate-key --otp 123456
e2e_check "...only an admin" grep -q "only an admin can rotate" <<<"$e2e_err"
e2e_expect_rc "rotate-key with a wrong code -> 1" 1 "$BG" audit rotate-key --otp "$(e2e_wrong_otp "$AS")"
e2e_check "...no new key left behind" [ ! -e "$D/audit-signing.key.next" ]
e2e_expect_rc "rotate-key without --otp -> 2" 2 "$BG" audit rotate-key
e2e_check "the key did not change" [ "$("$BG" audit pubkey --json | e2e_json key_id)" = "$OLD" ]

# --- the rotation -------------------------------------------------------------------------
e2e_expect_rc "audit rotate-key --otp CODE --json -> 0" 0 "$BG" audit rotate-key --otp "$(e2e_otp "$AS")" --json
printf '%s' "$e2e_out" >"$dir/rot.json"
NEW=$(e2e_json new_key_id <"$dir/rot.json")
RSEQ=$(e2e_json seq <"$dir/rot.json")
CSEQ=$(e2e_json checkpoint_seq <"$dir/rot.json")
e2e_check "...old and new key ids, a record and its checkpoint right after it" "$PY" -c 'import json, sys
o = json.load(open(sys.argv[1]))
assert o["old_key_id"] == sys.argv[2] and len(o["new_key_id"]) == 16 and o["new_key_id"] != sys.argv[2]
assert o["checkpoint_seq"] == o["seq"] + 1, o
assert "PRIVATE" not in json.dumps(o)' "$dir/rot.json" "$OLD"
traffic
sleep 1.5
traffic
sleep 1.5

"$BG" audit export >"$dir/x.jsonl"
e2e_check "the key-rotation record: both key ids and the new public key, by the admin" "$PY" -c 'import json, sys
rs = {r["seq"]: r for r in map(json.loads, open(sys.argv[1]))}
r = rs[int(sys.argv[2])]
assert r["kind"] == "key-rotation" and r["actor"] == "ar-admin" and r["decision"] == "allow", r
d = r["detail"]
assert d["old_key_id"] == sys.argv[3] and d["new_key_id"] == sys.argv[4]
assert d["new_public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")' "$dir/x.jsonl" "$RSEQ" "$OLD" "$NEW"
e2e_check "checkpoints: the old key's up to and over the rotation record, the new key's after" "$PY" -c 'import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rseq, cseq, old, new = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
cps = [r for r in rs if r["kind"] == "checkpoint"]
c = [r for r in cps if r["seq"] == cseq][0]
assert c["detail"]["key_id"] == old and c["detail"]["covers_seq"] == rseq, c
assert all(r["detail"]["key_id"] == old for r in cps if r["seq"] <= cseq)
later = [r for r in cps if r["seq"] > cseq]
assert len(later) >= 2 and all(r["detail"]["key_id"] == new for r in later), later' "$dir/x.jsonl" "$RSEQ" "$CSEQ" "$OLD" "$NEW"

e2e_check "the key file is the new key, mode 0600" [ "$(stat -c %a "$D/audit-signing.key")" = 600 ] && ! cmp -s "$D/audit-signing.key" "$dir/old-private.key"
e2e_check "no .next file is left" [ ! -e "$D/audit-signing.key.next" ]
e2e_check "audit-keys.pem holds both public keys, mode 0600" [ "$(grep -c 'BEGIN PUBLIC KEY' "$D/audit-keys.pem")" = 2 ] && [ "$(stat -c %a "$D/audit-keys.pem")" = 600 ]
e2e_check "no private key in the trail or the gateway's log" eval '! grep -q "PRIVATE" "$dir/x.jsonl" "$E2E_GATEWAY_LOG"'

e2e_expect_rc "audit pubkey -> the new key" 0 "$BG" audit pubkey --json
e2e_check "...its id" [ "$(e2e_json key_id <<<"$e2e_out")" = "$NEW" ]
"$BG" audit pubkey >"$dir/new.pem"
e2e_expect_rc "audit pubkey --all -> 0" 0 "$BG" audit pubkey --all
printf '%s\n' "$e2e_out" >"$dir/all.pem"
e2e_check "...both keys, oldest first" "$PY" -c 'import sys
t = open(sys.argv[1]).read(); o = open(sys.argv[2]).read().strip(); n = open(sys.argv[3]).read().strip()
assert t.count("BEGIN PUBLIC KEY") == 2 and t.index(o) < t.index(n)' "$dir/all.pem" "$dir/old.pem" "$dir/new.pem"

e2e_expect_rc "verify (the server's keys) -> 0" 0 "$BG" audit verify --json
e2e_check "...whole, signed to the end" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); assert o["ok"] and o["checkpoints"] >= 4 and o["signed_seq"] >= o["last_seq"] - 1, o' "$e2e_out"
e2e_expect_rc "verify --pubkey old.pem --pubkey new.pem -> 0" 0 "$BG" audit verify --pubkey "$dir/old.pem" --pubkey "$dir/new.pem"
e2e_expect_rc "verify --pubkey all.pem (both keys in one file) -> 0" 0 "$BG" audit verify --pubkey "$dir/all.pem"
e2e_expect_rc "verify --file export --pubkey all.pem -> 0" 0 "$BG" audit verify --file "$dir/x.jsonl" --pubkey "$dir/all.pem"
e2e_expect_rc "verify with only the new key -> 1" 1 "$BG" audit verify --pubkey "$dir/new.pem" --json
e2e_check "...unknown_key for exactly the old key's checkpoints" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); cseq = int(sys.argv[2])
rs = [json.loads(l) for l in open(sys.argv[3])]
old_cps = [r["seq"] for r in rs if r["kind"] == "checkpoint" and r["seq"] <= cseq]
assert {p["kind"] for p in o["problems"]} == {"unknown_key"}, o
assert sorted(p["seq"] for p in o["problems"]) == old_cps, (o["problems"], old_cps)' "$e2e_out" "$CSEQ" "$dir/x.jsonl"
e2e_expect_rc "verify with only the old key -> 1" 1 "$BG" audit verify --pubkey "$dir/old.pem" --json
e2e_check "...unknown_key only after the handover" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); cseq = int(sys.argv[2])
assert o["problems"] and all(p["kind"] == "unknown_key" and p["seq"] > cseq for p in o["problems"]), o' "$e2e_out" "$CSEQ"
e2e_expect_rc "audit show of the rotation record -> 0" 0 "$BG" audit show "$RSEQ"
e2e_check "...shows it with both key ids" grep -q "new_key_id: $NEW" <<<"$e2e_out"

# --- restarts ---------------------------------------------------------------------------
restart() {
	kill -TERM "$E2E_GATEWAY_PID"
	wait "$E2E_GATEWAY_PID" 2>/dev/null
	e2e_serve "$dir"
}
restart || e2e_fail "restart" "$(tail -5 "$dir/gateway.log")"
traffic
sleep 1.5
e2e_check "after a restart the new key still signs" [ "$("$BG" audit pubkey --json | e2e_json key_id)" = "$NEW" ]
e2e_expect_rc "...and the trail verifies" 0 "$BG" audit verify

# A rotation cut short before its record: a .next key and no record naming it.
kill -TERM "$E2E_GATEWAY_PID"
wait "$E2E_GATEWAY_PID" 2>/dev/null
(umask 077 && openssl genpkey -algorithm ed25519 -out "$D/audit-signing.key.next" 2>/dev/null)
e2e_serve "$dir" || e2e_fail "restart" "$(tail -5 "$dir/gateway.log")"
e2e_check "an unrecorded rotation is undone at start: .next removed" [ ! -e "$D/audit-signing.key.next" ]
e2e_check "...said so in the log" grep -q "removed the audit key .* of a rotation that was never recorded" "$dir/gateway.log"
e2e_check "...the key is unchanged" [ "$("$BG" audit pubkey --json | e2e_json key_id)" = "$NEW" ]

# A rotation cut short after its record: the old key file and pubs as before the
# rename, the new key still in .next.
cp -p "$D/audit-signing.key" "$dir/new-private.key"
e2e_expect_rc "a second rotation -> 0" 0 "$BG" audit rotate-key --otp "$(e2e_otp "$AS")" --json
NEW2=$(e2e_json new_key_id <<<"$e2e_out")
kill -TERM "$E2E_GATEWAY_PID"
wait "$E2E_GATEWAY_PID" 2>/dev/null
mv "$D/audit-signing.key" "$D/audit-signing.key.next"
cp -p "$dir/new-private.key" "$D/audit-signing.key"
"$PY" - "$D/audit-keys.pem" <<'EOF'
import sys
t = open(sys.argv[1]).read()
blocks = t.split("-----END PUBLIC KEY-----\n")
open(sys.argv[1], "w").write("-----END PUBLIC KEY-----\n".join(blocks[:2]) + "-----END PUBLIC KEY-----\n")
EOF
e2e_serve "$dir" || e2e_fail "restart" "$(tail -5 "$dir/gateway.log")"
e2e_check "a recorded rotation is finished at start: .next moved into place" [ ! -e "$D/audit-signing.key.next" ] && [ "$("$BG" audit pubkey --json | e2e_json key_id)" = "$NEW2" ]
e2e_check "...said so in the log" grep -q "finished the audit key rotation to key id $NEW2" "$dir/gateway.log"
e2e_check "...audit-keys.pem has all three keys" [ "$(grep -c 'BEGIN PUBLIC KEY' "$D/audit-keys.pem")" = 3 ]
traffic
sleep 1.5
e2e_expect_rc "three keys: the trail verifies with the server's keys" 0 "$BG" audit verify --json
"$BG" audit export >"$dir/x3.jsonl"
e2e_check "...with checkpoints of all three keys" "$PY" -c 'import json, sys
ids = {r["detail"]["key_id"] for r in map(json.loads, open(sys.argv[1])) if r["kind"] == "checkpoint"}
assert ids == set(sys.argv[2:]), ids' "$dir/x3.jsonl" "$OLD" "$NEW" "$NEW2"

e2e_finish
