#!/usr/bin/env bash
# test_runbook_cli.sh - `breakglass runbook lint|list|show|test` on the repository's
# runbooks/ and on broken copies: problems as FILE:LINE: MESSAGE with exit 1 (all of them,
# not the first), --json, the folder from --runbooks / BREAKGLASS_RUNBOOKS, `show`'s AWS
# CLI line run for real against dynalite, and `test` against a private dynalite.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[runbook-cli] "
BG=$BREAKGLASS_BIN
RB="$REPO_ROOT/runbooks"

e2e_expect_rc "lint of runbooks/ -> 0" 0 "$BG" runbook lint --runbooks "$RB"
e2e_check "lint says no problems" grep -q "no problems" <<<"$e2e_out"
e2e_expect_rc "lint --json -> 0" 0 "$BG" runbook lint --runbooks "$RB" --json
e2e_check "lint --json: ok, no problems" e2e_same_json ok "$e2e_out" '{"ok":true}'
e2e_expect_rc "BREAKGLASS_RUNBOOKS names the folder" 0 env BREAKGLASS_RUNBOOKS="$RB" "$BG" runbook list
e2e_check "list shows the examples" grep -q "^orders-of-customer .*Query .*orders" <<<"$e2e_out"
e2e_expect_rc "list --json -> 0" 0 "$BG" runbook list --runbooks "$RB" --json
e2e_check "list --json: ids and 64-hex hashes" "$PY" -c 'import json, re, sys
o = json.loads(sys.argv[1])["runbooks"]
ids = [r["id"] for r in o]
assert "orders-of-customer" in ids and "unstick-order" in ids, ids
assert all(re.fullmatch("[0-9a-f]{64}", r["hash"]) for r in o)' "$e2e_out"

# In a git checkout each runbook names the commit it came from; an edited one names none.
repo=$(e2e_tmpdir)
cp -r "$RB"/. "$repo"/
(cd "$repo" && git init -q && git -c user.email=e2e@example.com -c user.name=e2e add -A &&
	git -c user.email=e2e@example.com -c user.name=e2e commit -q -m runbooks) || e2e_fail "git init" "git"
head=$(git -C "$repo" rev-parse HEAD)
echo "# edited" >>"$repo/stuck-orders.yaml"
e2e_expect_rc "list --json in a git checkout -> 0" 0 "$BG" runbook list --runbooks "$repo" --json
e2e_check "a committed runbook names its commit, an edited one none" "$PY" -c 'import json, sys
o = {r["id"]: r for r in json.loads(sys.argv[1])["runbooks"]}
assert o["orders-of-customer"]["commit"] == sys.argv[2], o["orders-of-customer"]
assert o["stuck-orders"]["commit"] == "", o["stuck-orders"]' "$e2e_out" "$head"

# A broken copy: every problem, each with its file and line.
bad=$(e2e_tmpdir)
cp -r "$RB"/. "$bad"/
sed -i 's/pattern: "^CUSTOMER/pattren: "^CUSTOMER/; s/^limit: 25/limit: 5000/' "$bad/orders-of-customer.yaml"
printf 'id: x\nid: y\n' >"$bad/dup.yaml"
e2e_expect_rc "lint of a broken folder -> 1" 1 "$BG" runbook lint --runbooks "$bad"
e2e_check "unknown key reported with file and line" \
	grep -q "orders-of-customer.yaml:11: parameter customer: unknown key 'pattren'" <<<"$e2e_out"
e2e_check "bad limit reported with its line" grep -q "orders-of-customer.yaml:13: limit must be" <<<"$e2e_out"
e2e_check "duplicate key reported with its line" grep -q "dup.yaml:2: key 'id' given twice" <<<"$e2e_out"
e2e_check "the good template is not reported" eval '! grep -q "unstick-order.yaml" <<<"$e2e_out"'
e2e_expect_rc "lint --json of a broken folder -> 1" 1 "$BG" runbook lint --runbooks "$bad" --json
e2e_check "lint --json lists the problems with file and line" "$PY" -c 'import json, sys
o = json.loads(sys.argv[1]); p = o["problems"]
assert not o["ok"] and len(p) >= 4, p
assert any(x["file"] == "dup.yaml" and x["line"] == 2 for x in p), p' "$e2e_out"
e2e_expect_rc "list of a broken folder -> 1" 1 "$BG" runbook list --runbooks "$bad"
e2e_expect_rc "lint of no folder -> 2" 2 "$BG" runbook lint --runbooks "$bad/none"
e2e_expect_rc "runbook without a subcommand -> 2" 2 "$BG" runbook

# show: the template, its hash and an AWS CLI line that really runs.
e2e_expect_rc "show orders-of-customer -> 0" 0 "$BG" runbook show orders-of-customer --runbooks "$RB"
e2e_check "show prints the hash" grep -qE "^hash: +[0-9a-f]{64}$" <<<"$e2e_out"
e2e_check "show prints the aws command" grep -q "^aws dynamodb query" <<<"$e2e_out"
e2e_expect_rc "show of an unknown runbook -> 1" 1 "$BG" runbook show nope --runbooks "$RB"

# test: every example's tests pass against a private dynalite; a wrong expectation fails.
e2e_expect_rc "runbook test (a private dynalite) -> 0" 0 "$BG" runbook test --runbooks "$RB"
e2e_check "every test passes" grep -qE "^[1-9][0-9]* passed, 0 failed$" <<<"$e2e_out"
e2e_check "one PASS line per test" [ "$(grep -c "^PASS " <<<"$e2e_out")" -ge 7 ]
e2e_check "no dynalite left running" eval '! pgrep -f "dynalite --host 127.0.0.1 --port .* --createTableMs 0 --deleteTableMs 0$" >/dev/null'
wrong=$(e2e_tmpdir)
cp -r "$RB"/. "$wrong"/
sed -i 's/expect: {count: 3}/expect: {count: 4}/' "$wrong/orders-of-customer.yaml"
e2e_expect_rc "a failing runbook test -> 1" 1 "$BG" runbook test orders-of-customer --runbooks "$wrong"
e2e_check "it says what it got" grep -q "^FAIL orders-of-customer: the three stuck orders of customer 42: got 3, expected 4" <<<"$e2e_out"
e2e_expect_rc "runbook test --json -> 0" 0 "$BG" runbook test stuck-orders --runbooks "$RB" --json
e2e_check "runbook test --json: two tests passed" e2e_same_json passed "$e2e_out" '{"passed":2}'

# show's AWS CLI line, run for real (after `runbook test` left a loaded table behind in a
# dynalite of this test's own).
logs=$(e2e_tmpdir)
saved=$E2E_DYNALITE_URL
e2e_start_dynalite "$logs" || e2e_fail "a second dynalite" "$(tail -n 3 "$logs/dynalite.log")"
mine=$E2E_DYNALITE_URL
E2E_DYNALITE_URL=$saved
e2e_expect_rc "runbook test --endpoint (ours) -> 0" 0 "$BG" runbook test orders-of-customer --runbooks "$RB" --endpoint "$mine"
line=$("$BG" runbook show orders-of-customer --runbooks "$RB" | sed -n '/^aws dynamodb/,$p')
e2e_expect_rc "show's command runs" 0 env AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \
	bash -c "customer='CUSTOMER#42'; prefix='ORDER#'; $line --endpoint-url $mine --output json --query 'length(Items)'"
e2e_check "...and finds the three orders" [ "$e2e_out" = 3 ]
e2e_finish
