#!/usr/bin/env bash
# test_help.sh - the manual: every command has a full --help page (no command without
# one), every option a page documents is one the command accepts (and every `serve`
# setting is documented), --version, the committed man page docs/breakglass.1 is what the
# binary generates and renders without warnings, and `make install PREFIX=...` installs
# the binary and the page. Needs no server.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
e2e_install_trap
: "${E2E_STATE:?run me through tests/e2e/run.sh}"
E2E_PREFIX="[help] "
BG=$BREAKGLASS_BIN

# The commands, as `breakglass --help` lists them.
mapfile -t cmds < <("$BG" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
e2e_check "--help lists at least the 12 commands" [ "${#cmds[@]}" -ge 12 ]
for want in init serve whoami user grant grants creds exec revoke audit help version; do
	e2e_check "--help lists $want" grep -qx "$want" < <(printf '%s\n' "${cmds[@]}")
done

# Every command: a page with every section, the same from `help CMD`, exit 0, on stdout.
for c in "${cmds[@]}"; do
	page=$("$BG" "$c" --help 2>"$E2E_STATE/help.err")
	rc=$?
	ok=1
	[ "$rc" -eq 0 ] || ok=0
	[ -s "$E2E_STATE/help.err" ] && ok=0
	for section in NAME SYNOPSIS DESCRIPTION "COMMON OPTIONS" EXAMPLES "EXIT STATUS"; do
		grep -qx "$section" <<<"$page" || ok=0
	done
	grep -q "^    breakglass $c" <<<"$page" || ok=0
	e2e_check "$c --help: a full page (exit $rc)" [ "$ok" -eq 1 ]
	e2e_check "help $c = $c --help" [ "$("$BG" help "$c")" = "$page" ]
	e2e_check "$c -h = $c --help" [ "$("$BG" "$c" -h)" = "$page" ]
	width=$(awk '{ if (length > m) m = length } END { print m + 0 }' <<<"$page")
	# Examples may be longer (verbatim command lines); prose is wrapped at 79.
	long=$(sed -n '/^EXAMPLES$/,/^EXIT STATUS$/!p' <<<"$page" | awk 'length > 79' | wc -l)
	e2e_check "$c --help: prose fits 80 columns (widest line $width)" [ "$long" -eq 0 ]

	# Each documented --option is accepted: with a dummy value it may fail, but never as
	# an unknown option.
	opts=$(sed -n '/^OPTIONS$/,/^COMMON OPTIONS$/p' <<<"$page" | grep -oE '^    --[a-z-]+' | tr -d ' ')
	for o in $opts; do
		err=$("$BG" "$c" "$o" x --help 2>&1 >/dev/null)
		e2e_check "$c accepts its documented $o" eval '! grep -q "unknown option" <<<"$err"'
	done
done

# Every page mentions the exit codes and client pages the environment.
e2e_check "grant --help has ENVIRONMENT (BREAKGLASS_TOKEN)" grep -q "BREAKGLASS_TOKEN" < <("$BG" grant --help)
e2e_check "exec --help documents 127" grep -qE '^    127 ' < <("$BG" exec --help)

# Every serve setting (config.c's key table) is on serve's page, and accepted.
serve_page=$("$BG" serve --help)
flags=$(grep -oE 'K\("[a-z_]+", "--[a-z-]+"' "$REPO_ROOT/src/gateway/config.c" | grep -oE -- '--[a-z-]+')
e2e_check "config.c has settings to check" [ -n "$flags" ]
for f in $flags; do
	e2e_check "serve --help documents $f" grep -qE "^    $f( |$)" <<<"$serve_page"
done
e2e_check "serve --help documents --config" grep -qE "^    --config " <<<"$serve_page"

# Unknown topics and commands are usage errors.
e2e_expect_rc "help frobnicate -> 2" 2 "$BG" help frobnicate
e2e_expect_rc "help breakglass -> 0" 0 "$BG" help breakglass
e2e_check "help breakglass is the tool's page" grep -q "emergency access to DynamoDB" <<<"$e2e_out"

# --- --version ----------------------------------------------------------------------------
want_version=$(cat "$REPO_ROOT/VERSION")
e2e_expect_rc "--version -> 0" 0 "$BG" --version
e2e_check "--version prints 'breakglass $want_version'" [ "$(head -n 1 <<<"$e2e_out")" = "breakglass $want_version" ]
e2e_check "--version names the libraries" grep -q "libcurl .*OpenSSL .*sqlite" <<<"$e2e_out"
e2e_expect_rc "version --json -> 0" 0 "$BG" version --json
e2e_check "version --json" e2e_same_json version "$e2e_out" "{\"version\":\"$want_version\"}"

# --- the man page ---------------------------------------------------------------------------
"$BG" help --man >"$E2E_STATE/breakglass.1"
e2e_check "docs/breakglass.1 is up to date (make man)" cmp -s "$E2E_STATE/breakglass.1" "$REPO_ROOT/docs/breakglass.1"
warn=$(groff -man -Tutf8 -ww -z "$REPO_ROOT/docs/breakglass.1" 2>&1)
e2e_check "the man page renders without groff warnings" [ -z "$warn" ]
rendered=$(MANWIDTH=80 man -l "$REPO_ROOT/docs/breakglass.1" 2>/dev/null)
for c in "${cmds[@]}"; do
	e2e_check "the man page has a section for $c" grep -qE "^   breakglass $c\$" <<<"$rendered"
done
e2e_check "the man page has EXIT STATUS" grep -q "^EXIT STATUS" <<<"$rendered"

# --- make install ---------------------------------------------------------------------------
prefix=$(e2e_tmpdir)/usr
bdir=$(dirname "$BG")
# -o: install the binary under test as it is (never rebuild it here).
if make -s -C "$REPO_ROOT" --no-print-directory -o "$bdir/breakglass" install BUILD="$bdir" \
	PREFIX="$prefix" >"$E2E_STATE/install.log" 2>&1; then
	e2e_pass "make install PREFIX=..."
else
	e2e_fail "make install PREFIX=..." "$(tail -n 5 "$E2E_STATE/install.log")"
fi
e2e_check "installed binary runs" [ "$("$prefix/bin/breakglass" --version | head -n 1)" = "breakglass $want_version" ]
e2e_check "installed binary is executable, not writable by others" \
	[ "$(stat -c %a "$prefix/bin/breakglass")" = 755 ]
e2e_check "installed man page is the committed one" cmp -s "$prefix/share/man/man1/breakglass.1" "$REPO_ROOT/docs/breakglass.1"
e2e_check "man finds it under the prefix" eval 'MANWIDTH=80 man -M "$prefix/share/man" breakglass 2>/dev/null | grep -q "^NAME"'
make -s -C "$REPO_ROOT" --no-print-directory uninstall PREFIX="$prefix" >/dev/null 2>&1
e2e_check "make uninstall removes both" [ ! -e "$prefix/bin/breakglass" ] && [ ! -e "$prefix/share/man/man1/breakglass.1" ]

e2e_finish
