#!/bin/bash
# virtio-rng end to end: the test guest reads random bytes from mvmm's device, several requests
# in flight, the first through an interrupt; the bytes are not zeros and two reads differ.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm

run_vm rng --rng --cmdline "test=rng"
if [ "$(rc_of rng)" != 0 ] || grep -q '^FAIL' "$TMP/rng.out"; then
	cat "$TMP/rng.out" "$TMP/rng.err"
	fail "--rng: exit $(rc_of rng)"
fi
expect_line "$TMP/rng.out" '^virtio: 0 0xd0000000 irq 5 .* device 4 (rng)'
expect_line "$TMP/rng.out" '^ok: rng 0 interrupt gsi 5 '
expect_line "$TMP/rng.out" '^ok: rng 8192 bytes$'
pass "guest reads 2 x 4 KiB from virtio-rng"

# More than a queue's worth of 512-byte requests, and after two disks (slot 2, GSI 7).
truncate -s 1M "$TMP/a.img" "$TMP/b.img"
run_vm big --disk "$TMP/a.img" --disk "$TMP/b.img" --rng --cmdline "test=rng rng_bytes=65536"
if [ "$(rc_of big)" != 0 ] || grep -q '^FAIL' "$TMP/big.out"; then
	cat "$TMP/big.out" "$TMP/big.err"
	fail "rng_bytes=65536: exit $(rc_of big)"
fi
expect_line "$TMP/big.out" '^virtio: 2 0xd0002000 irq 7 .* device 4 (rng)'
expect_line "$TMP/big.out" '^ok: rng 2 interrupt gsi 7 '
expect_line "$TMP/big.out" '^ok: rng 131072 bytes$'
pass "guest reads 2 x 64 KiB from virtio-rng in slot 2"

# Each boot gets different bytes.
first() { sed -n 's/^rng: .* first \(0x[0-9a-f]*\)$/\1/p' "$TMP/$1.out"; }
[ -n "$(first rng)" ] && [ "$(first rng)" != "$(first big)" ] ||
	fail "two boots read the same first bytes: $(first rng) $(first big)"
pass "two boots read different bytes"

# No --rng: the guest finds no device and says so.
run_vm none --cmdline "test=rng"
[ "$(rc_of none)" = 1 ] || fail "test=rng without --rng gave exit $(rc_of none), want 1"
expect_line "$TMP/none.out" '^FAIL: rng: no virtio-rng device'
pass "no --rng, no device"
