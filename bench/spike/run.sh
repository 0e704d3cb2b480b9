#!/usr/bin/env bash
# bench/spike/run.sh - the transport spike of issue 5, side by side in one run.
#
# Builds the four spike servers (make -C bench/spike) and runs bench/spike/run.py, which
# measures them on 127.0.0.1 with wrk and raw sockets (see bench/SPIKE.md). Arguments are
# passed to run.py (--rounds 3 --duration 8 --conns 32 --hold 1024 by default). The
# output goes to the terminal and to build/spike/out/ (results.json, run.log).
set -euo pipefail
cd "$(dirname "$0")/../.."
for t in wrk make cc pkg-config top; do
	command -v "$t" >/dev/null || { echo "run.sh: $t is not installed" >&2; exit 1; }
done
for p in libmicrohttpd-dev libevent-dev libh2o-evloop-dev libhttp-parser-dev libssl-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		{ echo "run.sh: Debian package $p is missing (apt-get install $p)" >&2; exit 1; }
done
make -C bench/spike
mkdir -p build/spike/out
{
	echo "== machine"
	echo "nproc: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo
	echo "kernel: $(uname -r)"
	echo "== versions"
	dpkg-query -W -f='${Package} ${Version}\n' libmicrohttpd12 libevent-2.1-7 libh2o-evloop0.13 \
		libhttp-parser2.9 libcurl4 wrk
} | tee build/spike/out/machine.txt
/usr/bin/python3 bench/spike/run.py "$@" 2>&1 | tee build/spike/out/run.log
