#!/usr/bin/env bash
# Installs every Debian package and pinned npm tool the build, tests, demo and
# benchmarks need, and nothing when all are present. Uses sudo when not root.
# Called by `make deps`, which `make check`, `make demo` and `make bench` run first.
set -euo pipefail

cd "$(dirname "$0")/.."

PKGS=(
	build-essential pkg-config clang llvm libclang-rt-14-dev
	libhttp-parser-dev libcurl4-openssl-dev libssl-dev libjansson-dev
	libyaml-dev zlib1g-dev libsqlite3-dev sqlite3 liboath-dev oathtool libcmocka-dev libqrencode-dev
	awscli python3 python3-boto3 python3-botocore
	curl procps ca-certificates openssl
	nginx-light wrk gnuplot-nox
	man-db groff-base jq prometheus-alertmanager prometheus
	rsyslog rsyslog-relp librelp-dev
	chromium fonts-dejavu-core
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

# Node.js may come from elsewhere with npm bundled (the Debian npm package would
# conflict with it), so ask for the commands rather than the packages.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# systemd-analyze checks contrib/breakglass.service (tests/e2e/test_systemd_unit.sh); it
# works without systemd running as PID 1, as in containers.
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm tools (dynalite, AWS SDK for JavaScript v3) pinned by package-lock.json.
if [ ! -x node_modules/.bin/dynalite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "install-deps: npm ci"
	npm ci --no-audit --no-fund --loglevel=error
fi
