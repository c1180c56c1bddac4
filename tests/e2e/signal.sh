#!/bin/bash
# SIGTERM / SIGINT to `mvmm run` stop the VM cleanly: every thread joined, exit 128+signal.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm

for sig in TERM INT; do
	"$MVMM" run --cmdline "test=count count_ms=60000" >"$TMP/$sig.out" 2>"$TMP/$sig.err" </dev/null &
	pid=$!
	for _ in $(seq 100); do
		grep -q '^count: 3 ' "$TMP/$sig.out" 2>/dev/null && break
		sleep 0.1
	done
	expect_line "$TMP/$sig.out" '^count: 3 '
	kill -s "$sig" "$pid"
	set +e
	wait "$pid"
	rc=$?
	set -e
	want=$((128 + $(kill -l "$sig")))
	[ "$rc" = "$want" ] || { cat "$TMP/$sig.err"; fail "SIG$sig: exit $rc, want $want"; }
	[ ! -s "$TMP/$sig.err" ] || { cat "$TMP/$sig.err"; fail "SIG$sig: unexpected stderr"; }
	pass "SIG$sig stops the VM, exit $rc"
done
