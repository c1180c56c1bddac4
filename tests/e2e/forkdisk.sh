#!/bin/bash
# Disks across fork: each child gets its own copy-on-write image of every writable disk as it
# was at the fork instant.  (1) Writes to the parent's image after the fork are invisible to
# the children, which read back exactly the pre-fork contents.  (2) Children that write their
# disks never change the parent's image.  Read-only disks are shared.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm
PATTERN=$(dirname "$0")/blk_pattern.py
export XDG_RUNTIME_DIR=$TMP/run
RUN=$XDG_RUNTIME_DIR/mvmm
mkdir -p "$XDG_RUNTIME_DIR"
trap 'stop_all_vms "$RUN"; kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
SECTORS=8192	# 4 MiB

wait_exit() {	# wait_exit PID
	for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	fail "process $1 still running"
}

# (1) The parent's disk holds pattern 5; after the fork the host rewrites it with pattern 9
# (standing in for the parent's own later writes).  Children must still read pattern 5.
python3 "$PATTERN" write "$TMP/d1.img" 5 $SECTORS
python3 "$PATTERN" write "$TMP/ro.img" 6 $SECTORS
"$MVMM" run --name p1 --disk "$TMP/d1.img" --disk "$TMP/ro.img,ro" --cmdline \
	"test=count,blk count_ms=1500 blk_mode=read blk_seed=5 blk_sectors=$SECTORS" \
	>"$TMP/p1.out" 2>&1 </dev/null &
P1=$!
for _ in $(seq 200); do grep -q '^count: 3 ' "$TMP/p1.out" 2>/dev/null && break; sleep 0.05; done
"$MVMM" fork -n 2 p1 >"$TMP/kids1" || fail "fork"
python3 "$PATTERN" write "$TMP/d1.img.new" 9 $SECTORS
cat "$TMP/d1.img.new" >"$TMP/d1.img"	# in place: same inode the parent has open
set +e
wait "$P1"; prc=$?
set -e
# The parent reads pattern 9 where it expects 5 on its first disk: it must notice (exit 1).
[ "$prc" = 1 ] && grep -q '^FAIL: blk' "$TMP/p1.out" || fail "parent did not see the host's rewrite ($prc)"
while read -r name pid _; do
	wait_exit "$pid"
	grep -q '^ok: blk 0 read' "$RUN/$name.log" || { tail -5 "$RUN/$name.log"; fail "$name: writable disk not the fork-instant copy"; }
	grep -q '^ok: blk 1 read' "$RUN/$name.log" || fail "$name: shared read-only disk"
	grep -q '^result: 0' "$RUN/$name.log" || fail "$name: result"
done <"$TMP/kids1"
pass "children read the fork-instant disk (pattern 5) after the parent's image changed to pattern 9"

# (2) Children write their disks; the parent's image stays byte for byte what it was.
python3 "$PATTERN" write "$TMP/d2.img" 11 $SECTORS
before=$(sha256sum <"$TMP/d2.img")
"$MVMM" run --name p2 --disk "$TMP/d2.img" --cmdline \
	"test=count,blk count_ms=1500 blk_mode=rw blk_seed=12 blk_sectors=$SECTORS" \
	>"$TMP/p2.out" 2>&1 </dev/null &
P2=$!
for _ in $(seq 200); do grep -q '^count: 3 ' "$TMP/p2.out" 2>/dev/null && break; sleep 0.05; done
"$MVMM" fork -n 2 p2 >"$TMP/kids2" || fail "fork"
"$MVMM" stop p2	# the parent never reaches its own write
wait "$P2" || true
while read -r name pid _; do
	wait_exit "$pid"
	grep -q '^ok: blk 0 write/read' "$RUN/$name.log" || { tail -5 "$RUN/$name.log"; fail "$name: write/read"; }
done <"$TMP/kids2"
[ "$(sha256sum <"$TMP/d2.img")" = "$before" ] || fail "a child wrote the parent's disk image"
python3 "$PATTERN" check "$TMP/d2.img" 11 $SECTORS || fail "parent image changed"
leftover=$(ls "$RUN" | grep -c '\.img$' || true)
[ "$leftover" = 0 ] || fail "$leftover disk copies left in the runtime dir"
pass "children wrote their own copies; the parent's image is unchanged; no copies left behind"
