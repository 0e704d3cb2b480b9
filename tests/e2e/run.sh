#!/usr/bin/env bash
# run.sh - the end-to-end suite: real clients (AWS CLI, boto3, AWS SDK for JavaScript v3,
# the breakglass CLI) against dynalite through a real `breakglass serve`.
#
# Starts one dynalite and one gateway for the whole run (start-up and seeding cost a few
# seconds; every test file gets its own admin, made at setup, and its own grants, so the
# files do not interfere), runs each test file, prints each test's PASS/FAIL line, and
# ends with exactly "N passed, M failed"; exits non-zero if anything failed. A test file that cannot run
# (missing client, crash, no result lines) counts as a failure, never a skip. Builds
# nothing: `make e2e` passes BREAKGLASS_BIN.
#   BREAKGLASS_BIN=build/asan/breakglass bash tests/e2e/run.sh [test_file ...]
# Logs (dynalite, gateway, each test's output) are written to a private directory and, if
# anything failed, copied to $E2E_LOG_DIR (default build/e2e-logs/RUN-ID) for inspection;
# concurrent runs (several engineers, `make check` in CI) never share one.
set -uo pipefail
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
source "$E2E_DIR/lib.sh"
e2e_install_trap

: "${BREAKGLASS_BIN:?set BREAKGLASS_BIN to the breakglass binary (make e2e does)}"
if [ ! -x "$BREAKGLASS_BIN" ]; then
	echo "run.sh: $BREAKGLASS_BIN is not an executable" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
BREAKGLASS_BIN=$(cd "$(dirname "$BREAKGLASS_BIN")" && pwd)/$(basename "$BREAKGLASS_BIN")
export BREAKGLASS_BIN
# Sanitizer reports must fail the run, and must land in the logs we scan.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A library's own leaks that breakglass cannot free (each explained in the file).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$REPO_ROOT/tests/lsan.supp:print_suppressions=0}
export NODE_NO_WARNINGS=1 PYTHONDONTWRITEBYTECODE=1

started=$(date +%s)
E2E_STATE=$(e2e_tmpdir) || exit 1
e2e_dirs+=("$E2E_STATE") # made in a subshell, before there was a list to put it in
export E2E_STATE
LOG_DIR=$E2E_STATE/logs
mkdir -p "$LOG_DIR"

total_pass=0
total_fail=0
summary() {
	local secs=$(($(date +%s) - started)) keep
	if [ "$total_fail" -gt 0 ]; then
		keep=${E2E_LOG_DIR:-$REPO_ROOT/build/e2e-logs/$(date +%Y%m%d-%H%M%S)-$$}
		mkdir -p "$keep" && cp -r "$LOG_DIR"/. "$keep"/ && echo "e2e: logs kept in $keep"
	fi
	echo "e2e: ${secs}s"
	echo "$total_pass passed, $total_fail failed"
}
setup_failed() {
	echo "FAIL setup: $*"
	for f in "$LOG_DIR"/*.log; do
		[ -s "$f" ] && { echo "--- $f (tail)"; tail -n 20 "$f"; }
	done
	total_fail=$((total_fail + 1))
	summary
	exit 1
}

# --- one dynalite, one gateway, one responder ------------------------------------------
echo "== setup"
e2e_start_dynalite "$LOG_DIR" || setup_failed "dynalite did not start"
e2e_seed_tables >>"$LOG_DIR/seed.log" 2>&1 || setup_failed "seeding Orders/Users in dynalite failed"
e2e_start_gateway "$LOG_DIR" || setup_failed "the gateway did not start"
echo "dynalite $E2E_DYNALITE_URL, gateway $BREAKGLASS_URL (pid $E2E_GATEWAY_PID)"
resp=$(e2e_new_user responder responder 2>>"$LOG_DIR/setup.log") ||
	setup_failed "breakglass user add responder failed: $(tail -n 3 "$LOG_DIR/setup.log")"
E2E_RESPONDER=responder
E2E_RESPONDER_TOKEN=$(printf '%s' "$resp" | e2e_json token)
E2E_RESPONDER_SECRET=$(printf '%s' "$resp" | e2e_json totp_secret)
[ -n "$E2E_RESPONDER_TOKEN" ] || setup_failed "user add --json printed no token"
export E2E_RESPONDER E2E_RESPONDER_TOKEN E2E_RESPONDER_SECRET
e2e_make_admins 2>>"$LOG_DIR/setup.log" || setup_failed "creating the test admins failed: $(tail -n 3 "$LOG_DIR/setup.log")"
e2e_note_secret "$E2E_ADMIN_TOKEN"
e2e_note_secret "$E2E_RESPONDER_TOKEN"

# --- the tests: every tests/e2e/test_*.{sh,py,mjs}; the client tests first, the audit
# test last (it checks what the others did), any other file in between ------------------
first=(test_cli.sh test_aws_cli.sh test_boto3.py test_js_sdk.mjs)
tests=("${first[@]}")
for f in "$E2E_DIR"/test_*.sh "$E2E_DIR"/test_*.py "$E2E_DIR"/test_*.mjs; do
	t=$(basename "$f")
	[ -f "$f" ] || continue
	case " ${first[*]} test_audit.sh " in *" $t "*) continue ;; esac
	tests+=("$t")
done
tests+=(test_audit.sh)
if [ $# -gt 0 ]; then
	tests=("$@")
fi

run_one() {
	local t=$1
	case "$t" in
	*.sh) timeout 600 bash "$E2E_DIR/$t" ;;
	test_botocore_signer.py) timeout 600 env -u SIGV4_SIGN_TOOL "$PY" "$E2E_DIR/$t" ;;
	*.py) timeout 600 "$PY" "$E2E_DIR/$t" ;;
	*.mjs)
		if ! command -v node >/dev/null; then
			echo "FAIL [$t] node is not installed"
			return 1
		fi
		(cd "$REPO_ROOT" && timeout 600 node "$E2E_DIR/$t")
		;;
	*)
		echo "FAIL [$t] unknown test type"
		return 1
		;;
	esac
}

for t in "${tests[@]}"; do
	echo "== $t"
	log="$LOG_DIR/${t%.*}.log"
	if [ ! -f "$E2E_DIR/$t" ]; then
		echo "FAIL [$t] no such test file"
		total_fail=$((total_fail + 1))
		continue
	fi
	t0=$(date +%s)
	run_one "$t" >"$log" 2>&1
	rc=$?
	# Show the result lines live-ish (after the file) and the rest only on failure.
	grep -E '^(PASS|FAIL) ' "$log"
	p=$(grep -c '^PASS ' "$log" 2>/dev/null)
	f=$(grep -c '^FAIL ' "$log" 2>/dev/null)
	p=${p:-0} f=${f:-0}
	if [ "$t" = test_botocore_signer.py ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		# Another engineer's test with its own output format: one result for the file.
		if [ "$rc" -eq 0 ]; then
			echo "PASS [$t]"
			p=1
		else
			echo "FAIL [$t]: exit $rc"
			f=1
		fi
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL [$t]: exited with status $rc without a FAIL line"
		f=$((f + 1))
	elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ]; then
		echo "FAIL [$t]: ran no test"
		f=$((f + 1))
	fi
	if [ "$f" -gt 0 ]; then
		echo "--- $t output (tail):"
		grep -vE '^(PASS|FAIL) ' "$log" | tail -n 25
	fi
	echo "-- $t: $p passed, $f failed ($(($(date +%s) - t0))s)"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if ! kill -0 "$E2E_GATEWAY_PID" 2>/dev/null; then
		echo "FAIL [run] the gateway died during $t; log tail:"
		tail -n 30 "$E2E_GATEWAY_LOG"
		total_fail=$((total_fail + 1))
		break
	fi
done

# --- the gateway stops cleanly on SIGTERM, with no sanitizer report --------------------
echo "== shutdown"
if kill -0 "$E2E_GATEWAY_PID" 2>/dev/null; then
	kill -TERM "$E2E_GATEWAY_PID"
	for ((n = 0; n < 100; n++)); do
		kill -0 "$E2E_GATEWAY_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$E2E_GATEWAY_PID" 2>/dev/null; then
		echo "FAIL [run] the gateway did not exit within 10 s of SIGTERM"
		total_fail=$((total_fail + 1))
	else
		wait "$E2E_GATEWAY_PID"
		grc=$?
		if [ "$grc" -eq 0 ]; then
			echo "PASS [run] the gateway exits 0 on SIGTERM"
			total_pass=$((total_pass + 1))
		else
			echo "FAIL [run] the gateway exited $grc on SIGTERM"
			total_fail=$((total_fail + 1))
		fi
	fi
fi
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$E2E_GATEWAY_LOG" "$LOG_DIR"/*.log 2>/dev/null; then
	echo "FAIL [run] sanitizer report in the logs:"
	grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$LOG_DIR"/*.log
	grep -hE -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$LOG_DIR"/*.log | head -n 40
	total_fail=$((total_fail + 1))
else
	echo "PASS [run] no sanitizer report in any log"
	total_pass=$((total_pass + 1))
fi

# --- no secret anywhere: every log, record, sink output and error message of the run ---
# Each test scanned its own folders when it ended (lib.sh, e2e_scan_secrets); here the
# run's logs, the shared gateway's store and the error messages tests saw.
e2e_scan_secrets "$LOG_DIR" "$E2E_DATA" "$E2E_STATE/errors.err"
nsecrets=$(awk 'length($0) >= 12' "$E2E_STATE/secrets" 2>/dev/null | sort -u | wc -l)
if [ -s "$E2E_STATE/leaks" ]; then
	echo "FAIL [run] a secret was found in (file names only):"
	sort -u "$E2E_STATE/leaks" | sed 's/^/    /'
	total_fail=$((total_fail + 1))
elif [ "$nsecrets" -lt 8 ] && [ $# -eq 0 ]; then
	echo "FAIL [run] the tests noted only $nsecrets secrets to look for"
	total_fail=$((total_fail + 1))
else
	echo "PASS [run] none of the $nsecrets secrets the tests handed out is in any log, audit record, sink output or error message"
	total_pass=$((total_pass + 1))
fi

summary
[ "$total_fail" -eq 0 ]
