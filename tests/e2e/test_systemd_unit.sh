#!/usr/bin/env bash
# test_systemd_unit.sh - contrib/breakglass.service is a valid, hardened unit.
#
# systemd-analyze verify (systemd 252 in Debian 12; it runs without systemd as PID 1, so
# in containers too) must accept the unit without a single warning: an unknown or
# misspelt directive is only a warning to it, so any output fails the test. ExecStart is
# pointed at the binary under test (verify checks that it is executable) and the man page
# check is off (--man=no: the page is installed by `make install`, not here). Then the
# directives the deployment relies on (docs/deploy.md) are checked one by one, and
# `systemd-analyze security --offline` must rate the exposure 2.0 or lower. A missing
# systemd-analyze is a failure, never a skip (scripts/install-deps.sh installs systemd).
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
source "$E2E_DIR/lib.sh"
e2e_install_trap
E2E_PREFIX="[systemd] "
UNIT="$REPO_ROOT/contrib/breakglass.service"

if ! command -v systemd-analyze >/dev/null; then
	e2e_fail "systemd-analyze is installed" "install the systemd package (make deps)"
	e2e_finish
	exit 1
fi
dir=$(e2e_tmpdir) || exit 1
sed "s#^ExecStart=/usr/local/bin/breakglass #ExecStart=$BREAKGLASS_BIN #" "$UNIT" >"$dir/breakglass.service"
e2e_check "ExecStart names /usr/local/bin/breakglass serve" grep -q '^ExecStart=/usr/local/bin/breakglass serve ' "$UNIT"

out=$(systemd-analyze verify --man=no "$dir/breakglass.service" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
	e2e_pass "systemd-analyze verify: no error, no warning"
else
	e2e_fail "systemd-analyze verify: no error, no warning" "exit $rc: $out"
fi

# The check above would see a misspelt directive.
sed 's/^ProtectSystem=/ProtectSytem=/' "$dir/breakglass.service" >"$dir/typo.service"
out=$(systemd-analyze verify --man=no "$dir/typo.service" 2>&1)
case "$out" in
*ProtectSytem*) e2e_pass "a misspelt directive is reported by verify" ;;
*) e2e_fail "a misspelt directive is reported by verify" "$out" ;;
esac

has() { grep -qxF "$1" "$UNIT"; }
for d in 'User=breakglass' 'StateDirectory=breakglass' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service' \
	'ExecReload=/bin/kill -HUP $MAINPID' 'KillSignal=SIGTERM' 'CapabilityBoundingSet='; do
	e2e_check "the unit sets $d" has "$d"
done
# The stop timeout leaves the drain (drain_timeout, default 10 s) time to finish.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$UNIT")
e2e_check "TimeoutStopSec ($stop s) is above the default drain timeout (10 s)" [ "${stop:-0}" -gt 10 ]

out=$(systemd-analyze security --offline=yes --threshold=20 --no-pager "$dir/breakglass.service" 2>&1)
rc=$?
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ "$rc" -eq 0 ] && [ -n "$level" ]; then
	e2e_pass "systemd-analyze security: exposure $level (at most 2.0)"
else
	e2e_fail "systemd-analyze security: exposure at most 2.0" "exit $rc, level '${level}'"
fi
e2e_finish
