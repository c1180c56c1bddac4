#!/bin/bash
# A real Linux kernel boots through `mvmm run` to a static /init in an initramfs, which prints
# its marker and reboots (i8042 -> mvmm exits 0).  Uses $MVMM_LINUX_KERNEL, else the prebuilt
# kernel in shared/linux/ (tools/build-linux-guest.sh makes one from Debian's sources).
. "$(dirname "$0")/lib.sh"
set -e
require_kvm
INIT=${2:?linux_init binary}
KDIR=${3:-}
KERNEL=${MVMM_LINUX_KERNEL:-$KDIR/vmlinux}
if [ ! -r "$KERNEL" ]; then
	echo "SKIP: no Linux kernel at '$KERNEL' (set MVMM_LINUX_KERNEL or run tools/build-linux-guest.sh)"
	exit 77
fi
command -v cpio >/dev/null || fail "cpio is needed to build the test initramfs (apt-get install cpio)"
CMDLINE=$(cat "$KDIR/cmdline.txt" 2>/dev/null || echo "console=ttyS0 reboot=k panic=-1")

mkdir -p "$TMP/root/dev" "$TMP/root/proc"
cp "$INIT" "$TMP/root/init"
(cd "$TMP/root" && find . | cpio -o -H newc --quiet) >"$TMP/initrd.cpio"

start=$(date +%s)
set +e
timeout 240 "$MVMM" run --kernel "$KERNEL" --initrd "$TMP/initrd.cpio" --mem 128M \
	--cmdline "$CMDLINE" >"$TMP/linux.out" 2>"$TMP/linux.err" </dev/null
rc=$?
set -e
secs=$(( $(date +%s) - start ))
if ! grep -q '^MVMM-LINUX-INIT-OK pid 1' "$TMP/linux.out"; then
	tail -40 "$TMP/linux.out"; cat "$TMP/linux.err"
	fail "Linux did not reach /init (exit $rc after ${secs}s)"
fi
[ "$rc" = 0 ] || { tail -20 "$TMP/linux.out"; cat "$TMP/linux.err"; fail "Linux reboot gave exit $rc"; }
grep '^linux-init:' "$TMP/linux.out"
pass "Linux ran /init as pid 1 and rebooted cleanly in ${secs}s"
