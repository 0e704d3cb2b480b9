#!/usr/bin/env bash
# Compiles a few sources into one sanitized executable with the project's warning flags,
# without building the whole library: useful while other modules are mid-edit.
#   scripts/build-one.sh OUT SOURCE.c...      (links cmocka too, for unit tests)
# src/common/ (buffers, errors, crypto helpers, validators) is the layer every module
# stands on, so its sources are always added (those named on the command line once).
set -euo pipefail
out=$1; shift
srcs=("$@")
for c in "$(dirname "$0")"/../src/common/*.c; do
	name=src/common/$(basename "$c")
	case " $* " in *"$name "*) ;; *) srcs+=("$c") ;; esac
done
PKGS="libmicrohttpd libcurl libcrypto jansson yaml-0.1 sqlite3 liboath cmocka"
exec ${CC:-cc} -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wpedantic -Werror -Wformat=2 \
	-Wshadow -Wvla -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-I"$(dirname "$0")/../src" $(pkg-config --cflags $PKGS) "${srcs[@]}" -o "$out" \
	$(pkg-config --libs $PKGS) -lpthread
