#!/bin/bash
# SPDX-License-Identifier: MIT
# Build a small Linux guest kernel and a busybox initramfs from Debian 12's packages, for
# `mvmm run --kernel`.  Output in OUT (default ./linux-guest): vmlinux, bzImage, initramfs.cpio,
# cmdline.txt.  About 4 minutes on 2 cores.
#
# The kernel is Debian's linux-source-6.1 with guest/linux/x86_64.config merged on tinyconfig
# (virtio-mmio command-line devices, virtio blk/net/rng/console, vsock, virtio-fs, ext4, no
# modules) and guest/linux/pvm-native-6.1.patch, three boot parameters that let it run on kvm-pvm
# hosts (harmless elsewhere).  The initramfs is busybox-static plus a small /init script.
#   tools/build-linux-guest.sh [OUT]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-linux-guest}" && cd "${1:-linux-guest}" && pwd)
WORK=$OUT/work

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
	linux-source-6.1 build-essential flex bison libelf-dev libssl-dev bc cpio busybox-static \
	xz-utils patch

mkdir -p "$WORK"
src=$(ls /usr/src/linux-source-6.1.tar.xz)
if [ ! -d "$WORK/linux" ]; then
	tar -xf "$src" -C "$WORK"
	mv "$WORK"/linux-source-6.1 "$WORK/linux"
	patch -d "$WORK/linux" -p1 <"$ROOT/guest/linux/pvm-native-6.1.patch"
fi
make -C "$WORK/linux" O="$WORK/build" ARCH=x86_64 tinyconfig >/dev/null
"$WORK/linux/scripts/kconfig/merge_config.sh" -m -O "$WORK/build" "$WORK/build/.config" \
	"$ROOT/guest/linux/x86_64.config" >/dev/null
make -C "$WORK/linux" O="$WORK/build" ARCH=x86_64 olddefconfig >/dev/null
make -C "$WORK/linux" O="$WORK/build" ARCH=x86_64 -j"$(nproc)" vmlinux bzImage
cp "$WORK/build/vmlinux" "$OUT/vmlinux"
cp "$WORK/build/arch/x86/boot/bzImage" "$OUT/bzImage"
cp "$ROOT/guest/linux/cmdline.txt" "$OUT/cmdline.txt"

# Initramfs: busybox and an /init that mounts the basics and starts a shell on the console.
rd=$WORK/initramfs
rm -rf "$rd"
mkdir -p "$rd"/{bin,dev,proc,sys,tmp,mnt}
cp /bin/busybox "$rd/bin/busybox"
for tool in sh mount umount ls cat echo poweroff reboot mkdir dmesg ip ps; do
	ln -sf busybox "$rd/bin/$tool"
done
cat >"$rd/init" <<'INIT'
#!/bin/sh
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "mvmm linux guest: /init running; 'reboot -f' ends the VM"
exec /bin/sh </dev/console >/dev/console 2>&1
INIT
chmod 755 "$rd/init"
(cd "$rd" && find . | cpio -o -H newc --quiet) >"$OUT/initramfs.cpio"
echo "built: $OUT/vmlinux $OUT/bzImage $OUT/initramfs.cpio"
echo "run:   build/mvmm run --kernel $OUT/vmlinux --initrd $OUT/initramfs.cpio --mem 256M --cmdline \"\$(cat $OUT/cmdline.txt)\""
