#!/usr/bin/env bash
# test_masking.sh - issue 10's masking, on a gateway of this test's own with a runbook
# folder of its own: a customers table whose items hold an email and a card map, a GetItem
# runbook with `mask: [email, card.last4]` and a Query runbook with the same mask and
# `mask_hash: true`, and an UpdateItem runbook returning ALL_OLD with the same mask. lint
# refuses a mask on a key attribute; `runbook show` shows the mask.
# Then masking_clients.py: the AWS CLI, boto3 and the JS SDK v3 through the gateway see the
# marker and never the values (the CLI and boto3 check the recomputed x-amz-crc32; one
# request upstream per call, so no retries), equal emails show equal hashes, and the
# response records hold no plain value and the SHA-256 of the unmasked answer (the same
# request's raw body from dynalite).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[masking] "
BG=$BREAKGLASS_BIN

logs=$(e2e_tmpdir)
rb=$(e2e_tmpdir)
mkdir -p "$rb/fixtures"
cat >"$rb/tables.yaml" <<'EOF'
customers:
  partition_key: {team: S}
  sort_key: {id: S}
EOF
cat >"$rb/customer-by-key.yaml" <<'EOF'
id: customer-by-key
title: One customer by team and id
when: A customer's account must be looked at during an incident.
table: customers
operation: GetItem
key: {team: ":team", id: ":id"}
params:
  team: {type: S, pattern: "^T[0-9]{1,6}$"}
  id: {type: S, pattern: "^c[0-9]{1,6}$"}
mask: [email, card.last4]
EOF
cat >"$rb/customers-of-team.yaml" <<'EOF'
id: customers-of-team
title: The customers of one team
when: Several customers of a team report the same problem.
table: customers
operation: Query
key_condition: "team = :team"
params:
  team: {type: S, pattern: "^T[0-9]{1,6}$"}
limit: 10
mask: [email, card.last4]
mask_hash: true
EOF

cat >"$rb/customer-state.yaml" <<'EOF'
id: customer-state
title: Unlock or lock one customer
when: A customer's account is stuck in the wrong state after an outage.
table: customers
operation: UpdateItem
key: {team: ":team", id: ":id"}
update: "SET #st = :new"
condition: "#st = :old"
names: {"#st": state}
params:
  team: {type: S, pattern: "^T[0-9]{1,6}$"}
  id: {type: S, pattern: "^c[0-9]{1,6}$"}
  old: {type: S, enum: [ACTIVE, LOCKED]}
  new: {type: S, enum: [ACTIVE, LOCKED]}
return_values: [ALL_OLD]
mask: [email, card.last4]
EOF

# --- lint and show ---------------------------------------------------------------------------
e2e_expect_rc "lint of the masking runbooks -> 0" 0 "$BG" runbook lint --runbooks "$rb"
e2e_expect_rc "runbook show customer-by-key -> 0" 0 "$BG" runbook show customer-by-key --runbooks "$rb"
e2e_check "...shows the masked paths" grep -q "^masked: *email" <<<"$e2e_out"
e2e_check "...and card.last4" grep -q "^ *card.last4$" <<<"$e2e_out"
e2e_expect_rc "runbook show --json -> 0" 0 "$BG" runbook show customers-of-team --runbooks "$rb" --json
e2e_check "...mask and mask_hash in the JSON" "$PY" -c 'import json, sys
o = json.load(sys.stdin)
sys.exit(0 if o["mask"] == ["email", "card.last4"] and o["mask_hash"] is True else 1)' <<<"$e2e_out"
bad=$(e2e_tmpdir)
cp "$rb/tables.yaml" "$bad/"
sed 's/^mask: .*/mask: [email, team, "card..last4"]/' "$rb/customer-by-key.yaml" >"$bad/customer-by-key.yaml"
e2e_expect_rc "lint of a mask on a key attribute -> 1" 1 "$BG" runbook lint --runbooks "$bad"
e2e_check "...names the file, line and key attribute" \
	grep -q "customer-by-key.yaml:10: mask path team: team is a key attribute of table customers" <<<"$e2e_out$e2e_err"
e2e_check "...and the malformed path" grep -q "card..last4" <<<"$e2e_out$e2e_err"

# --- a gateway of our own --------------------------------------------------------------------
E2E_RUNBOOKS=$rb
e2e_start_gateway "$logs" || {
	e2e_fail "a gateway of our own" "$(tail -n 5 "$logs"/*.log)"
	e2e_finish
	exit 1
}
resp=$(e2e_new_user mask-resp responder) || e2e_fail "responder" "$resp"
RT=$(printf '%s' "$resp" | e2e_json token)
e2e_note_secret "$RT"
e2e_aws_direct dynamodb create-table --table-name customers \
	--attribute-definitions AttributeName=team,AttributeType=S AttributeName=id,AttributeType=S \
	--key-schema AttributeName=team,KeyType=HASH AttributeName=id,KeyType=RANGE \
	--billing-mode PAY_PER_REQUEST >/dev/null 2>&1
e2e_aws_direct dynamodb batch-write-item --request-items '{"customers": [
  {"PutRequest": {"Item": {"team": {"S": "T1"}, "id": {"S": "c1"}, "name": {"S": "Ada"},
     "email": {"S": "shared.person@example.com"},
     "card": {"M": {"last4": {"S": "4242"}, "brand": {"S": "visa"}}}}}},
  {"PutRequest": {"Item": {"team": {"S": "T1"}, "id": {"S": "c2"}, "name": {"S": "Bob"}, "state": {"S": "LOCKED"},
     "email": {"S": "shared.person@example.com"},
     "card": {"M": {"last4": {"S": "9876"}, "brand": {"S": "amex"}}}}}},
  {"PutRequest": {"Item": {"team": {"S": "T1"}, "id": {"S": "c3"}, "name": {"S": "Cy"},
     "email": {"S": "other.person@example.com"}}}}
]}' >/dev/null || e2e_fail "seed customers" "batch-write-item"

G=$(e2e_grant "$E2E_ADMIN_TOKEN" "$E2E_ADMIN_SECRET" --user mask-resp \
	--runbook customer-by-key,customers-of-team,customer-state --for 15m | e2e_json id)
[ -n "$G" ] || e2e_fail "grant" "no grant id"
envs=$(BREAKGLASS_TOKEN=$RT "$BG" creds "$G" --format env) || e2e_fail "creds" "$envs"
eval "$envs"
e2e_note_secret "$AWS_SECRET_ACCESS_KEY"
e2e_note_secret "$AWS_SESSION_TOKEN"

# The clients, the raw answers and the audit records (PASS/FAIL lines of their own).
E2E_MASK_GRANT=$G E2E_ADMIN_TOKEN=$E2E_ADMIN_TOKEN "$PY" "$E2E_DIR/masking_clients.py" >"$logs/clients.out" 2>&1
rc=$?
grep -E '^(PASS|FAIL) ' "$logs/clients.out"
e2e_passed=$((e2e_passed + $(grep -c '^PASS ' "$logs/clients.out")))
e2e_failed=$((e2e_failed + $(grep -c '^FAIL ' "$logs/clients.out")))
[ "$rc" -eq 0 ] || e2e_fail "masking_clients.py" "exit $rc: $(grep -vE '^(PASS|FAIL) ' "$logs/clients.out" | tail -n 5)"

# --- safe writes: the write's before-image is masked on the record, so undo refuses it ------
W=$(BREAKGLASS_TOKEN=$E2E_ADMIN_TOKEN "$BG" audit tail --after 0 --limit 1000 --json | "$PY" -c 'import json, sys
r = [x for x in json.load(sys.stdin)["records"] if x["kind"] == "response" and x["op"] == "UpdateItem" and x["status"] == 200]
assert r and all(x["detail"]["before_image_masked"] is True for x in r), r
assert all("masked" in json.dumps(x["detail"]["before_image"]) for x in r), r
print(r[0]["seq"])')
e2e_check "a masking runbook's write: its before-image is masked on the record" [ -n "$W" ]
e2e_expect_rc "undo of it -> 1" 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	BREAKGLASS_TOKEN="$RT" "$BG" undo "$W" --grant "$G"
e2e_check "...says the runbook masks values the trail does not hold" grep -q "values the runbook masks" <<<"$e2e_err"
e2e_finish
