#!/usr/bin/env bash
# test_readme_by_hand.sh - runs the README's "By hand" block verbatim (the lines between
# <!-- by-hand:begin --> and <!-- by-hand:end -->, fences dropped) in a fresh HOME, from
# the repository, with free ports in DDB_PORT and GW_PORT (the block's only knobs), and
# checks what a newcomer would see: the item read through the grant, the revocation, the
# audit trail. Whatever the block started is stopped by its process group.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}"
E2E_PREFIX="[readme] "

home=$(e2e_tmpdir)
block="$home/by-hand.sh"
sed -n '/^<!-- by-hand:begin -->$/,/^<!-- by-hand:end -->$/p' "$REPO_ROOT/README.md" |
	sed '1d;$d' | sed '/^```/d' >"$block"
e2e_check "README has a by-hand block" [ "$(grep -c . "$block")" -gt 20 ]

ddb=$(e2e_free_port)
gw=$(e2e_free_port)
while [ "$gw" = "$ddb" ]; do gw=$(e2e_free_port); done
# A clean environment: no test variables, Debian's clients first on PATH, and no way out to
# real AWS even if the fence broke (no credentials outside the block's own dummy ones).
setsid env -i HOME="$home" PATH="/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 \
	DDB_PORT="$ddb" GW_PORT="$gw" AWS_EC2_METADATA_DISABLED=true \
	bash -euo pipefail -c 'cd "$1" && source "$2"' _ "$REPO_ROOT" "$block" \
	>"$home/out.log" 2>&1 &
pid=$!
e2e_pids+=("$pid")
# The block waits up to 30 s for a fresh TOTP code; allow for a slow machine beyond that.
for ((i = 0; i < 600; i++)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.5
done
if kill -0 "$pid" 2>/dev/null; then
	kill -- -"$pid" 2>/dev/null
	e2e_fail "the block finishes within 5 min" "$(tail -n 20 "$home/out.log")"
fi
wait "$pid"
rc=$?
# Anything it left running (it should have stopped both) goes now.
kill -- -"$pid" 2>/dev/null
out=$(cat "$home/out.log")
if [ "$rc" -eq 0 ]; then
	e2e_pass "the by-hand block runs verbatim (exit 0)"
else
	e2e_fail "the by-hand block runs verbatim" "exit $rc: $(tail -n 20 "$home/out.log")"
fi
e2e_check "it installed breakglass under ~/.local" [ -x "$home/.local/bin/breakglass" ]
e2e_check "and the man page" [ -s "$home/.local/share/man/man1/breakglass.1" ]
e2e_check "bob read the stuck order through the gateway" grep -q '"STUCK"' <<<"$out"
e2e_check "revoke printed the revoked grant" grep -qE '^status +revoked' <<<"$out"
e2e_check "the audit tail shows the get-item and the revocation" \
	eval 'grep -q " GetItem " <<<"$out" && grep -q " revoke " <<<"$out"'
e2e_check "nothing left listening on the block's ports" \
	eval '! (exec 3<>"/dev/tcp/127.0.0.1/$gw") 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$ddb") 2>/dev/null'
e2e_finish
