#!/usr/bin/env bash
# test_audit_verify.sh - issue 9's signed checkpoints and verification, on a gateway of
# its own (checkpoints every 4 records or 1 s): requests through the gateway (allowed and
# denied), `audit pubkey`, `audit export` and `audit verify` against the store and the
# export (exit 0), a filtered export (partial, whole); then each tamper of a copy of the
# export (edit, delete, insert, reorder, truncate behind a checkpoint another copy holds,
# a forged checkpoint signature) and of the store itself with sqlite3 after dropping the
# append-only triggers (edit, delete, truncate), each found with its seq and kind (exit 1).
# Also: a sink that does not say whether it is required is refused; the key is 0600.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[audit-verify] "
BG=$BREAKGLASS_BIN
e2e_orders_table || e2e_fail "the orders table" "create-table"

dir=$(e2e_tmpdir)
"$BG" init --data "$dir/data" --admin av-admin --json >"$dir/admin.json" 2>"$dir/init.log" ||
	e2e_fail "init" "$(cat "$dir/init.log")"
AT=$(e2e_json token <"$dir/admin.json")
AS=$(e2e_json totp_secret <"$dir/admin.json")
e2e_note_secret "$AT"
e2e_check "init made the signing key, mode 0600" [ "$(stat -c %a "$dir/data/audit-signing.key")" = 600 ]

printf 'audit:\n  checkpoint_every: 4\n  checkpoint_seconds: 10\n  sinks:\n    - {type: jsonl, path: audit/audit.jsonl}\n' >"$dir/sinks.yaml"
e2e_expect_rc "serve with a sink that does not say required -> 2" 2 env AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s \
	"$BG" serve --listen "127.0.0.1:$(e2e_free_port)" --upstream "$E2E_DYNALITE_URL" --data "$dir/data" --config "$dir/sinks.yaml"
e2e_check "...saying so, with the line" grep -q "sinks.yaml:5: an audit sink must say required: true" <<<"$e2e_err"

printf 'audit:\n  checkpoint_every: 4\n  checkpoint_seconds: 1\n' >"$dir/serve.yaml"
E2E_DATA="$dir/data"
E2E_SERVE_ARGS=(--config "$dir/serve.yaml")
e2e_serve "$dir" || e2e_fail "serve" "$(cat "$dir/gateway.log")"
export BREAKGLASS_TOKEN=$AT

# --- traffic ----------------------------------------------------------------------------
e2e_new_user_as "$AT" "$AS" av-resp responder >"$dir/resp.json" || e2e_fail "user add" "$(cat "$dir/resp.json")"
RT=$(e2e_json token <"$dir/resp.json")
e2e_note_secret "$RT"
e2e_grant "$AT" "$AS" --user av-resp --table orders --op GetItem --for 15m >"$dir/grant.json" ||
	e2e_fail "grant" "$(cat "$dir/grant.json")"
G=$(e2e_json id <"$dir/grant.json")
for i in 1 2 3 4 5 6; do
	BREAKGLASS_TOKEN=$RT "$BG" exec "$G" -- /usr/bin/aws dynamodb get-item --table-name orders \
		--key '{"pk":{"S":"o'$i'"},"sk":{"S":"x"}}' >/dev/null 2>&1
done
BREAKGLASS_TOKEN=$RT "$BG" exec "$G" -- /usr/bin/aws dynamodb scan --table-name orders >/dev/null 2>&1
e2e_check "a denied Scan was refused" [ $? -ne 0 ]
sleep 1.5 # the timer's checkpoint covers the tail

e2e_expect_rc "audit pubkey -> 0" 0 "$BG" audit pubkey
printf '%s\n' "$e2e_out" >"$dir/pub.pem"
e2e_check "pubkey is a PEM public key" openssl pkey -pubin -in "$dir/pub.pem" -noout
e2e_expect_rc "audit verify (the store, through the API) -> 0" 0 "$BG" audit verify --pubkey "$dir/pub.pem" --json
e2e_check "...ok, with checkpoints, from seq 1" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if o["ok"] and o["checkpoints"] >= 3 and o["first_seq"] == 1 and o["records"] >= 20 and o["signed_seq"] >= o["last_seq"] - 1 and not o["problems"] else 1)' "$e2e_out"
e2e_expect_rc "audit verify without --pubkey (the server's key) -> 0" 0 "$BG" audit verify
e2e_check "...says whole" grep -q "whole" <<<"$e2e_out"

"$BG" audit export >"$dir/x.jsonl"
e2e_check "audit export -> JSON lines with seq, prev_hash, hash and checkpoints" "$PY" -c 'import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert all({"seq", "prev_hash", "hash"} <= set(r) for r in rs)
assert [r["seq"] for r in rs] == list(range(1, len(rs) + 1))
assert sum(r["kind"] == "checkpoint" for r in rs) >= 3' "$dir/x.jsonl"
e2e_expect_rc "audit verify --file export -> 0" 0 "$BG" audit verify --file "$dir/x.jsonl" --pubkey "$dir/pub.pem"

# A filtered export: the grant's records, the others between them redacted.
"$BG" audit export --grant "$G" >"$dir/g.jsonl"
e2e_check "filtered export: the grant's records in full, others redacted" "$PY" -c 'import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
full = [r for r in rs if not r.get("redacted") and r["kind"] != "checkpoint"]
assert full and all(r["grant_id"] == sys.argv[2] for r in full)
assert any(r.get("redacted") for r in rs) or True
assert rs[-1]["kind"] == "checkpoint"' "$dir/g.jsonl" "$G"
e2e_expect_rc "verify --file filtered --json -> 0, partial" 0 "$BG" audit verify --file "$dir/g.jsonl" --pubkey "$dir/pub.pem" --json
e2e_check "...ok and partial" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); sys.exit(0 if o["ok"] and o["partial"] else 1)' "$e2e_out"

# --- tampering with a copy of the export ------------------------------------------------------
# tamper NAME PYTHON: writes $dir/NAME.jsonl from the export's records rs (a list).
tamper() {
	"$PY" - "$dir/x.jsonl" "$dir/$1.jsonl" "$2" <<'EOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
exec(sys.argv[3])
with open(sys.argv[2], "w") as f:
    for r in rs:
        f.write(json.dumps(r) + "\n")
EOF
}
# expect NAME SEQ KIND [verify args]: verify finds KIND at SEQ, exit 1.
expect() {
	local name=$1 seq=$2 kind=$3
	shift 3
	e2e_expect_rc "$name: verify -> 1" 1 "$BG" audit verify --pubkey "$dir/pub.pem" --json "$@"
	e2e_check "$name: $kind at seq $seq" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1])
sys.exit(0 if not o["ok"] and any(p["seq"] == int(sys.argv[2]) and p["kind"] == sys.argv[3] for p in o["problems"]) else 1)' "$e2e_out" "$seq" "$kind"
}
# A request record in the middle, and the last checkpoint.
MID=$("$PY" -c 'import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
print([r["seq"] for r in rs if r["kind"] == "request"][2])' "$dir/x.jsonl")
CP=$("$PY" -c 'import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
print([r["seq"] for r in rs if r["kind"] == "checkpoint"][-2])' "$dir/x.jsonl")

tamper edit "rs[$MID - 1]['reason'] = 'nothing to see'"
expect "edited record" "$MID" edited --file "$dir/edit.jsonl"
tamper delete "del rs[$MID - 1]"
expect "deleted record" "$MID" deleted --file "$dir/delete.jsonl"
tamper insert "f = dict(rs[$MID - 1]); f['actor'] = 'mallory'; rs.insert($MID, f)"
expect "inserted record" "$MID" inserted --file "$dir/insert.jsonl"
tamper reorder "rs[$MID - 1], rs[$MID] = rs[$MID], rs[$MID - 1]"
expect "reordered records" "$MID" reordered --file "$dir/reorder.jsonl"
tamper forged "s = rs[$CP - 1]['detail']['sig']; rs[$CP - 1]['detail']['sig'] = ('1' if s[0] == '0' else '0') + s[1:]"
expect "forged checkpoint signature" "$CP" bad_signature --file "$dir/forged.jsonl"
tamper truncated "del rs[$CP - 2:]"
e2e_expect_rc "truncated export alone cannot tell -> 0" 0 "$BG" audit verify --pubkey "$dir/pub.pem" --file "$dir/truncated.jsonl"
expect "truncated behind a checkpoint the full export holds" "$((CP - 1))" truncated --file "$dir/truncated.jsonl" --reference "$dir/x.jsonl"

# --- paging: a server whose pages say where they end (X-Audit-Last-Seq) --------------------
# `audit verify` asks for the next page before it has read this one, after the seq the
# header names; once through a page it holds the server to it. A server serving the export
# 5 records a page: without the header (an older gateway), with it, lying low (the page
# holds a record past where it says it ends: cannot go on) and lying high (records skipped:
# the chain says where).
cat >"$dir/pages.py" <<'PAGES'
import http.server, json, sys, urllib.parse
lines = open(sys.argv[1], "rb").read().splitlines(keepends=True)
mode = sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        after = int(q["after"][0])
        page = [l for l in lines if json.loads(l)["seq"] > after][:5]
        body = b"".join(page)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Content-Length", str(len(body)))
        last = json.loads(page[-1])["seq"] if page else 0
        if mode == "low" and page: last -= 1
        if mode == "high" and page: last += 2
        if mode != "none": self.send_header("X-Audit-Last-Seq", str(last))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
PAGES
pages() { # MODE: serves the export in pages; sets PAGES_URL
	local port
	port=$(e2e_free_port)
	"$PY" "$dir/pages.py" "$dir/x.jsonl" "$port" "$1" &
	e2e_pids+=($!)
	e2e_wait_port "$port" $! || e2e_fail "page server ($1)" "did not start"
	PAGES_URL=http://127.0.0.1:$port
}
whole_export() {
	"$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); n = sum(1 for _ in open(sys.argv[2]))
sys.exit(0 if o["ok"] and o["records"] == n and o["first_seq"] == 1 else 1)' "$e2e_out" "$dir/x.jsonl"
}
pages none
BREAKGLASS_URL=$PAGES_URL e2e_expect_rc "pages without X-Audit-Last-Seq (one at a time) -> 0" 0 \
	"$BG" audit verify --pubkey "$dir/pub.pem" --json
e2e_check "...whole, every record" whole_export
pages true
BREAKGLASS_URL=$PAGES_URL e2e_expect_rc "pages with X-Audit-Last-Seq (one ahead) -> 0" 0 \
	"$BG" audit verify --pubkey "$dir/pub.pem" --json
e2e_check "...whole, every record" whole_export
pages low
BREAKGLASS_URL=$PAGES_URL e2e_expect_rc "a page holding a record past its X-Audit-Last-Seq -> 3" 3 \
	"$BG" audit verify --pubkey "$dir/pub.pem"
e2e_check "...cannot go on" grep -q "says it ends at seq 4 but holds seq 5: cannot go on" <<<"$e2e_err"
pages high
BREAKGLASS_URL=$PAGES_URL expect "pages whose X-Audit-Last-Seq skips records" 6 deleted

# --- tampering with the store itself ------------------------------------------------------
db="$dir/data/breakglass.db"
sql() { sqlite3 -cmd ".timeout 5000" "$db" "$@"; }
e2e_check "the store refuses an UPDATE of the audit table" bash -c '! sqlite3 "$1" "UPDATE audit SET reason = 1 WHERE seq = 2" 2>/dev/null' _ "$db"
sql "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;" ||
	e2e_fail "drop the triggers" "sqlite3"
sql "UPDATE audit SET reason = 'nothing to see' WHERE seq = $MID"
expect "store: edited record" "$MID" edited
sql "DELETE FROM audit WHERE seq = $((MID + 1))"
expect "store: deleted record" "$((MID + 1))" deleted
sql "DELETE FROM audit WHERE seq >= $((CP - 1))"
expect "store: tail truncated behind a checkpoint the export holds" "$((CP - 1))" truncated --reference "$dir/x.jsonl"

e2e_finish
