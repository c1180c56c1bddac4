#!/bin/bash
# Fork memory correctness with the guest's `forkmem` scenario: the guest keeps writing known
# patterns across its RAM while it is forked (parent into two children, then a child again);
# afterwards each VM checks every word of every page against "what was there at the fork
# instant plus only its own writes" and reports a hash of the region, which must equal the
# hash the VMM computes from its own view of that VM's RAM.  The generation id changed in each.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm
command -v curl >/dev/null || fail "curl is needed"
export XDG_RUNTIME_DIR=$TMP/run
RUN=$XDG_RUNTIME_DIR/mvmm
mkdir -p "$XDG_RUNTIME_DIR"
trap 'stop_all_vms "$RUN"; kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT

"$MVMM" run --name fm --mem 128M --cmdline "test=forkmem forkmem_mib=16 forkmem_ms=2500 forkmem_hold_ms=4000" \
	>"$TMP/fm.out" 2>"$TMP/fm.err" </dev/null &
PARENT=$!
for _ in $(seq 200); do grep -q '^forkmem: genid' "$TMP/fm.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.6
"$MVMM" fork -n 2 --name kid fm >"$TMP/kids" || fail "fork -n 2"
read -r k1 k1pid _ < <(sed -n 1p "$TMP/kids")
read -r k2 k2pid _ < <(sed -n 2p "$TMP/kids")
sleep 0.4
"$MVMM" fork --name grand "$k1" >"$TMP/grand" || fail "fork of a child"
read -r gk gkpid _ <"$TMP/grand"

# While each VM holds still after its hash line: hash the same region through the VMM.
hash_vm() {	# hash_vm CONSOLE SOCKET
	local con=$1 sock=$2 line gpa len want got
	for _ in $(seq 600); do grep -q '^forkmem: holding' "$con" 2>/dev/null && break; sleep 0.1; done
	line=$(grep '^forkmem: region' "$con") || { tail -5 "$con" >&2; fail "$con: no region hash"; }
	read -r _ _ gpa len _ want <<<"$line"
	got=$(curl -s --unix-socket "$sock" -X PUT -d "{\"gpa\":$((gpa)),\"len\":$len}" \
		http://localhost/vm/memory/hash | sed -n 's/.*"fnv1a64":"\(0x[0-9a-f]*\)".*/\1/p')
	[ "$got" = "$want" ] || fail "$con: guest hash $want, VMM view $got"
	echo "$want"
}
# Then its own verdict.
check_vm() {	# check_vm CONSOLE WANT_GENERATIONS HASH
	local con=$1 gens=$2
	for _ in $(seq 600); do grep -q '^result:' "$con" 2>/dev/null && break; sleep 0.1; done
	grep -q "^ok: forkmem [0-9]* pages verified, $gens generations" "$con" ||
		{ grep -E 'FAIL|forkmem: gen' "$con" | head; fail "$con: verification (want $gens generations)"; }
	grep -q '^result: 0' "$con" || fail "$con: result"
	pass "$(basename "$con"): every page verified, $gens generations, region hash $3 = VMM view"
}
h0=$(hash_vm "$TMP/fm.out" "$RUN/fm.sock")
h1=$(hash_vm "$RUN/$k1.log" "$RUN/$k1.sock")
h2=$(hash_vm "$RUN/$k2.log" "$RUN/$k2.sock")
h3=$(hash_vm "$RUN/$gk.log" "$RUN/$gk.sock")
check_vm "$TMP/fm.out" 2 "$h0"
check_vm "$RUN/$k1.log" 3 "$h1"
check_vm "$RUN/$k2.log" 2 "$h2"
check_vm "$RUN/$gk.log" 3 "$h3"
[ "$(printf '%s\n' "$h0" "$h1" "$h2" "$h3" | sort -u | wc -l)" = 4 ] || fail "two VMs ended with identical memory"
wait "$PARENT" || fail "parent exit $?"

# Snapshot a writing guest, restore it twice: both verify their memory, each a new generation.
"$MVMM" run --name sn --mem 128M --cmdline "test=forkmem forkmem_mib=16 forkmem_ms=2000" \
	>"$TMP/sn.out" 2>&1 </dev/null &
SN=$!
for _ in $(seq 200); do grep -q '^forkmem: genid' "$TMP/sn.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.5
"$MVMM" snapshot sn "$TMP/snap" || fail "snapshot"
wait "$SN" || fail "snapshotted VM exit $?"
grep -q '^ok: forkmem' "$TMP/sn.out" || fail "snapshotted VM failed its check"
for r in 1 2; do
	"$MVMM" restore "$TMP/snap" >"$TMP/r$r.out" 2>&1 </dev/null || { tail "$TMP/r$r.out"; fail "restore $r exit"; }
	grep -q '^ok: forkmem [0-9]* pages verified, 2 generations' "$TMP/r$r.out" ||
		{ tail "$TMP/r$r.out"; fail "restore $r: verification"; }
done
pass "snapshot of a writing guest restored twice: both verify every page (2 generations)"

# Live snapshot (userfaultfd write-protect) while the guest keeps writing: the VM is not stopped
# for the copy, yet the image is byte-exact as of one instant, so the restore verifies every page.
"$MVMM" run --name lv --mem 128M --cmdline "test=forkmem forkmem_mib=32 forkmem_ms=2500" \
	>"$TMP/lv.out" 2>&1 </dev/null &
LV=$!
for _ in $(seq 200); do grep -q '^forkmem: genid' "$TMP/lv.out" 2>/dev/null && break; sleep 0.05; done
sleep 0.5
"$MVMM" snapshot --live lv "$TMP/live" || fail "live snapshot"
wait "$LV" || fail "live-snapshotted VM exit $?"
grep -q '^ok: forkmem' "$TMP/lv.out" || fail "the VM failed its own check during the live snapshot"
"$MVMM" restore "$TMP/live" >"$TMP/lr.out" 2>&1 </dev/null || { tail "$TMP/lr.out"; fail "restore of the live snapshot"; }
grep -q '^ok: forkmem [0-9]* pages verified, 2 generations' "$TMP/lr.out" ||
	{ grep -E 'FAIL' "$TMP/lr.out" | head; fail "live snapshot not byte-exact"; }
pass "live snapshot of a writing guest restores byte-exact (every page verified)"
