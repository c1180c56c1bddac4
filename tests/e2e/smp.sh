#!/bin/bash
# --cpus N: the guest finds N CPUs in the MP table and brings the APs up with INIT/SIPI.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm

for n in 1 2 4; do
	run_vm "c$n" --cpus "$n" --cmdline "test=boot,smp expect_cpus=$n"
	out=$TMP/c$n.out
	expect_line "$out" "^cpus: $n\$"
	if [ "$(rc_of "c$n")" != 0 ]; then
		cat "$out" "$TMP/c$n.err"
		fail "--cpus $n: exit $(rc_of "c$n")"
	fi
	expect_line "$out" "^ok: smp $n cpus running"
	pass "--cpus $n: guest sees and runs $n CPUs"
done
