#!/usr/bin/env bash
# test_runbook_reload.sh - a gateway of this test's own, on a copy of runbooks/: a grant
# pins its runbooks, so a runbook edited after the grant is refused for that grant once
# the gateway reloads (SIGHUP) and a new grant works; a file that fails lint on reload is
# refused, loudly, and its previous version stays in force.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}" "${E2E_DYNALITE_URL:?}"
E2E_PREFIX="[runbook-reload] "
BG=$BREAKGLASS_BIN

logs=$(e2e_tmpdir)
rb=$(e2e_tmpdir)
cp -r "$REPO_ROOT/runbooks"/. "$rb"/
# Our own store, gateway, admin and responder (the run's gateway reads the repository's
# folder, which this test must not edit).
E2E_RUNBOOKS=$rb
e2e_start_gateway "$logs" || { e2e_fail "a gateway of our own" "$(tail -n 5 "$logs"/*.log)"; e2e_finish; exit 1; }
resp=$(e2e_new_user reload-resp responder) || e2e_fail "responder" "$resp"
RT=$(printf '%s' "$resp" | e2e_json token)
e2e_note_secret "$RT"
e2e_aws_direct dynamodb create-table --table-name events \
	--attribute-definitions AttributeName=device,AttributeType=S AttributeName=ts,AttributeType=N \
	--key-schema AttributeName=device,KeyType=HASH AttributeName=ts,KeyType=RANGE \
	--billing-mode PAY_PER_REQUEST >/dev/null 2>&1
e2e_aws_direct dynamodb put-item --table-name events \
	--item '{"device":{"S":"DEV-HOT1"},"ts":{"N":"1700000001"},"kind":{"S":"error"}}' >/dev/null

grant() { e2e_grant "$E2E_ADMIN_TOKEN" "$E2E_ADMIN_SECRET" --user reload-resp --runbook newest-events --for 10m | e2e_json id; }
run() { BREAKGLASS_TOKEN=$RT "$BG" run newest-events --grant "$1" --param device=DEV-HOT1 --json; }
reload() {
	kill -HUP "$E2E_GATEWAY_PID"
	# The reload logs one line when done.
	for _ in $(seq 50); do
		[ "$(grep -c "runbooks reloaded" "$E2E_GATEWAY_LOG")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

G1=$(grant)
e2e_expect_rc "the runbook runs with the grant" 0 run "$G1"
e2e_check "...and finds the event" e2e_same_json count "$e2e_out" '{"count":1}'

# Edited after the grant: the grant's pin no longer matches.
sed -i 's/^limit: 20$/limit: 10/' "$rb/newest-events.yaml"
e2e_check "SIGHUP reloads the folder" reload 1
e2e_expect_rc "the edited runbook is refused for the old grant" 1 run "$G1"
e2e_check "...saying it changed after the grant" grep -q "changed after the grant" <<<"$e2e_err"
G2=$(grant)
e2e_expect_rc "a new grant pins the new version" 0 run "$G2"

# A broken edit: refused at reload, loudly; the version before stays in force.
printf 'pattren: oops\n' >>"$rb/newest-events.yaml"
e2e_check "SIGHUP again" reload 2
e2e_check "the problem is logged with file and line" grep -q "newest-events.yaml:[0-9]*: unknown key 'pattren'" "$E2E_GATEWAY_LOG"
e2e_check "...and that the previous version stays" grep -q "newest-events.yaml refused, its previous version stays in force" "$E2E_GATEWAY_LOG"
e2e_expect_rc "the grant made before the broken edit still runs" 0 run "$G2"
e2e_finish
