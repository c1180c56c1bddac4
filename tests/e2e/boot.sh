#!/bin/bash
# mvmm run boots the embedded test guest; the guest's checks pass, the e820 map it received is
# exactly the one the VMM built, its memory test covers the RAM, and its result code is ours.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm

# The default: no arguments at all.
run_vm default
[ "$(rc_of default)" = 0 ] || { cat "$TMP/default.out" "$TMP/default.err"; fail "plain 'mvmm run' exited $(rc_of default)"; }
expect_line "$TMP/default.out" '^mvmm-guest: boot ok'
expect_line "$TMP/default.out" '^result: 0'
pass "plain mvmm run boots the test guest"

for mem in 64M 256M 1G 4G; do
	# Two vCPUs share the memory test (first touch of each page is slow on PVM hosts).
	run_vm "m$mem" --mem "$mem" --cpus 2 --log-level debug --cmdline "console=ttyS0 test=boot,memory"
	out=$TMP/m$mem.out err=$TMP/m$mem.err
	[ "$(rc_of "m$mem")" = 0 ] || { cat "$out" "$err"; fail "--mem $mem: exit $(rc_of "m$mem")"; }
	expect_line "$out" '^mvmm-guest: boot ok'
	expect_line "$out" '^cmdline: console=ttyS0 test=boot,memory$'
	expect_line "$out" '^ok: memory'
	grep -q '^FAIL' "$out" && fail "--mem $mem: guest reported a failure"
	# e820 as built by the VMM (debug log) == e820 as seen by the guest.
	sed -n 's/^mvmm: debug: boot: \(e820: [0-9].*\)$/\1/p' "$err" >"$TMP/vmm.e820"
	grep '^e820: [0-9]' "$out" >"$TMP/guest.e820" || true
	[ -s "$TMP/vmm.e820" ] || fail "VMM logged no e820 map"
	diff -u "$TMP/vmm.e820" "$TMP/guest.e820" || fail "--mem $mem: guest e820 differs from the VMM's"
	# Usable RAM reported by the guest matches --mem minus the 384 KiB legacy hole + 4 KiB EBDA.
	mib=$(sed -n 's/^e820: total-usable-mib \([0-9]*\)$/\1/p' "$out")
	case $mem in *G) want=$(( ${mem%G} * 1024 - 1 )) ;; *M) want=$(( ${mem%M} - 1 )) ;; esac
	[ "$mib" = "$want" ] || fail "--mem $mem: guest sees $mib MiB usable, want $want"
	pass "--mem $mem: e820 identical on both sides, memory test ok, $mib MiB usable"
done
