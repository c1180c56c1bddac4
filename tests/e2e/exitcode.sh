#!/bin/bash
# The guest's result code (test-exit port + i8042 reset) becomes mvmm's exit status; a failing
# guest check gives a non-zero status; console output can go to a file.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm

for code in 0 1 5 42 63; do
	run_vm "x$code" --cmdline "test=boot exit=$code"
	[ "$(rc_of "x$code")" = "$code" ] || fail "guest exit=$code gave status $(rc_of "x$code")"
done
pass "guest result codes 0 1 5 42 63 propagate"

# Codes above 63 are reported as 63 (64 and up are mvmm's own codes).
run_vm big --cmdline "test=boot exit=200"
[ "$(rc_of big)" = 63 ] || fail "guest exit=200 gave status $(rc_of big), want 63"
pass "guest code 200 clamps to 63"

# A failing check inside the guest: expect_cpus that cannot hold.
run_vm wrongcpus --cpus 1 --cmdline "test=boot expect_cpus=3"
[ "$(rc_of wrongcpus)" = 1 ] || fail "failing guest check gave status $(rc_of wrongcpus), want 1"
expect_line "$TMP/wrongcpus.out" '^FAIL'
pass "a failing guest check exits 1"

# An unknown test name is a failure, not silently ignored.
run_vm unknown --cmdline "test=nosuchtest"
[ "$(rc_of unknown)" = 1 ] || fail "unknown guest test gave status $(rc_of unknown)"
pass "unknown guest test fails"

# --serial file:PATH
run_vm tofile --serial "file:$TMP/console.txt"
[ "$(rc_of tofile)" = 0 ] || fail "--serial file: exit $(rc_of tofile)"
[ ! -s "$TMP/tofile.out" ] || fail "--serial file: console also went to stdout"
expect_line "$TMP/console.txt" '^mvmm-guest: boot ok'
pass "--serial file:PATH captures the console"
