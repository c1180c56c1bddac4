#!/bin/bash
# virtio-blk end to end: the test guest's driver (guest/blk.c) against mvmm's device, with the
# disk contents checked on the host.  The pattern both sides compute is in blk_pattern.py (and
# guest/README.md); the guest's seed for a disk is blk_seed + its slot.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm
command -v python3 >/dev/null || { echo "SKIP: python3 is missing" >&2; exit 77; }
PATTERN=$(dirname "$0")/blk_pattern.py
pattern() { python3 "$PATTERN" "$@"; }

# guest_ok NAME: the run exited 0 and the guest reported no failure.
guest_ok() {
	local name=$1
	if [ "$(rc_of "$name")" != 0 ] || grep -q '^FAIL' "$TMP/$name.out"; then
		cat "$TMP/$name.out" "$TMP/$name.err"
		fail "$name: exit $(rc_of "$name")"
	fi
}

# 1. The guest writes the pattern over the whole disk (64 requests in flight) and flushes; the
#    host file then holds exactly that pattern, and its size is unchanged.
truncate -s 16M "$TMP/w.img"
run_vm write --disk "$TMP/w.img" --cmdline "test=blk blk_mode=write blk_seed=1234"
guest_ok write
expect_line "$TMP/write.out" '^blk: 0 capacity 32768 ro 0 id '
expect_line "$TMP/write.out" '^blk: 0 features .* depth 64 '
expect_line "$TMP/write.out" '^ok: blk 0 interrupt gsi 5 '
expect_line "$TMP/write.out" '^ok: blk 0 flush$'
expect_line "$TMP/write.out" '^ok: blk 0 write 32768 sectors$'
pattern check "$TMP/w.img" 1234 32768 || fail "the disk file does not hold the guest's pattern"
[ "$(stat -c %s "$TMP/w.img")" = $((16 << 20)) ] || fail "the disk file changed size"
pass "guest-written pattern is on the host file, byte for byte"

# 2. The host fills a 64 MiB file; the guest reads all 131072 sectors and checks them.  A wrong
#    seed, and one corrupted sector, must both be caught.
pattern write "$TMP/r.img" 77 131072
run_vm read --disk "$TMP/r.img" --cmdline "test=blk blk_mode=read blk_seed=77"
guest_ok read
expect_line "$TMP/read.out" '^ok: blk 0 read 131072 sectors$'
grep '^blk: 0 read ' "$TMP/read.out"
run_vm seed --disk "$TMP/r.img" --cmdline "test=blk blk_mode=read blk_seed=78"
[ "$(rc_of seed)" = 1 ] || fail "reading with the wrong seed gave exit $(rc_of seed), want 1"
expect_line "$TMP/seed.out" '^FAIL: blk 0: sector 0 word 0: '
dd if=/dev/zero of="$TMP/r.img" bs=512 seek=100000 count=1 conv=notrunc status=none
run_vm corrupt --disk "$TMP/r.img" --cmdline "test=blk blk_mode=read blk_seed=77"
[ "$(rc_of corrupt)" = 1 ] || fail "a corrupted sector gave exit $(rc_of corrupt), want 1"
expect_line "$TMP/corrupt.out" '^FAIL: blk 0: sector 100000 word 0: .* got 0x0000000000000000$'
pass "guest reads and checks a host-written 64 MiB disk; a wrong seed or sector is caught"

# 3. Flush reaches the file: a disk on tmpfs, and the guest stays up (test=count) after its
#    flush while the host reads the file, with O_DIRECT where the filesystem allows it; again
#    after the VM has exited.
SHM= pid=
trap 'rm -rf "$TMP" $SHM; [ -z "$pid" ] || kill "$pid" 2>/dev/null' EXIT
if [ -d /dev/shm ] && SHM=$(mktemp /dev/shm/mvmm-e2e-blk.XXXXXX 2>/dev/null); then
	img=$SHM
else
	img=$TMP/flush.img
fi
rm -f "$img"
truncate -s 8M "$img"
direct=
dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null && direct=-d:
"$MVMM" run --disk "$img" --cmdline "test=blk,count blk_mode=write blk_seed=55 count_ms=1500" \
	>"$TMP/flush.out" 2>"$TMP/flush.err" </dev/null &
pid=$!
for _ in $(seq 300); do
	grep -q '^ok: blk 0 flush$' "$TMP/flush.out" && break
	grep -q '^result: ' "$TMP/flush.out" && break
	sleep 0.1
done
expect_line "$TMP/flush.out" '^ok: blk 0 flush$'
pattern check "$direct$img" 55 16384 || fail "flushed data is not in the file while the VM runs"
# (a zombie still answers kill -0: the guest's last line says whether it had ended)
! grep -q '^result: ' "$TMP/flush.out" || fail "the VM ended before the host's read was done"
set +e
wait "$pid"
rc=$?
set -e
pid=
[ "$rc" = 0 ] || { cat "$TMP/flush.out" "$TMP/flush.err"; fail "flush run: exit $rc"; }
pattern check "$direct$img" 55 16384 || fail "flushed data is not in the file after the VM exit"
pass "flushed writes are in the file (${direct:+O_DIRECT, }$(stat -f -c %T "$img")) while the VM runs and after"

# 4. A read-only disk: the guest's write completes with IOERR, reads work, and the file is
#    unchanged byte for byte.  Asking for a read-only disk where there is none fails.
pattern write "$TMP/ro.img" 5 2048
before=$(sha256sum <"$TMP/ro.img")
run_vm ro --disk "$TMP/ro.img,ro" --cmdline "test=blk_ro,blk,blk_flush blk_mode=rw blk_seed=5"
guest_ok ro
expect_line "$TMP/ro.out" '^blk: 0 capacity 2048 ro 1 '
expect_line "$TMP/ro.out" '^ok: blk ro write rejected slot 0$'
expect_line "$TMP/ro.out" '^blk: 0 read-only: not written$'
[ "$(sha256sum <"$TMP/ro.img")" = "$before" ] || fail "the read-only disk file changed"
run_vm roread --disk "$TMP/ro.img,ro" --cmdline "test=blk blk_mode=read blk_seed=5"
guest_ok roread
expect_line "$TMP/roread.out" '^ok: blk 0 read 2048 sectors$'
run_vm notro --disk "$TMP/ro.img" --cmdline "test=blk_ro"
[ "$(rc_of notro)" = 1 ] || fail "test=blk_ro on a writable disk gave exit $(rc_of notro), want 1"
[ "$(sha256sum <"$TMP/ro.img")" = "$before" ] || fail "the read-only disk file changed"
pass "read-only disk: write rejected with IOERR, file unchanged"

# 5. Two disks with ids at once: each reports its id and holds its own pattern.
truncate -s 8M "$TMP/a.img"
truncate -s 4M "$TMP/b.img"
run_vm two --disk "$TMP/a.img,id=alpha" --disk "$TMP/b.img,id=beta-disk" \
	--cmdline "test=blk blk_seed=100"
guest_ok two
expect_line "$TMP/two.out" '^blk: 0 capacity 16384 ro 0 id alpha$'
expect_line "$TMP/two.out" '^blk: 1 capacity 8192 ro 0 id beta-disk$'
expect_line "$TMP/two.out" '^ok: blk 0 write/read 16384 sectors$'
expect_line "$TMP/two.out" '^ok: blk 1 write/read 8192 sectors$'
expect_line "$TMP/two.out" '^ok: blk 1 interrupt gsi 6 '
pattern check "$TMP/a.img" 100 16384 || fail "disk alpha does not hold its pattern"
pattern check "$TMP/b.img" 101 8192 || fail "disk beta does not hold its pattern"
pass "two disks with ids, each with its own data"

# 6. DISCARD and WRITE_ZEROES of a range inside the pattern read back as zeros in the guest,
#    and the host file has zeros there and the pattern around it.
truncate -s 4M "$TMP/z.img"
run_vm zero --disk "$TMP/z.img" --cmdline "test=blk_discard,blk_zeroes blk_seed=9"
guest_ok zero
for op in discard write-zeroes; do
	if ! grep -q "^blk: 0 $op max" "$TMP/zero.out"; then
		echo "note: the device does not offer $op"
		continue
	fi
	len=$(sed -n "s/^blk: 0 $op max .* range \([0-9]*\)+.*/\1/p" "$TMP/zero.out")
	expect_line "$TMP/zero.out" "^ok: blk 0 $op $len sectors"
done
if [ -n "${len:-}" ]; then
	pattern check "$TMP/z.img" 9 "$len" || fail "discard/write-zeroes touched sectors before the range"
	pattern zero "$TMP/z.img" "$len" "$len" || fail "the zeroed range is not zeros in the file"
	pass "discard / write-zeroes leave zeros in the file, the pattern around them"
fi

# 7. Malformed rings (loops, buffers outside RAM, avail index far ahead, writable before
#    readable, ...): each makes the device need a reset, the VMM keeps running, the guest
#    resets the device and it works again; mvmm exits with the guest's code.
truncate -s 2M "$TMP/bad.img"
run_vm bad --disk "$TMP/bad.img" --cmdline "test=blk_bad,blk blk_seed=3 exit=7"
if [ "$(rc_of bad)" != 7 ] || grep -q '^FAIL' "$TMP/bad.out"; then
	cat "$TMP/bad.out" "$TMP/bad.err"
	fail "malformed rings: exit $(rc_of bad), want the guest's 7 and no FAIL"
fi
for c in loop oob wrap avail order head next nested indirect-len; do
	grep -q "^blk_bad: $c: feature .* not negotiated" "$TMP/bad.out" && continue
	expect_line "$TMP/bad.out" "^ok: blk_bad $c -> needs-reset$"
done
expect_line "$TMP/bad.out" '^ok: blk 0 write/read 4096 sectors$'
expect_line "$TMP/bad.out" '^result: 7$'
expect_line "$TMP/bad.err" 'device needs reset'
pattern check "$TMP/bad.img" 3 4096 || fail "the disk is wrong after the malformed-ring run"
pass "malformed rings -> DEVICE_NEEDS_RESET, reset recovers, VMM unharmed"
