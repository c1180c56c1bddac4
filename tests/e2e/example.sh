#!/bin/bash
# The example embedder builds against the *installed* libmvmm through pkg-config and boots the
# test guest with it; its exit status is the guest's result code.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm
BUILD=${2:?build dir}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v pkg-config >/dev/null || fail "pkg-config missing"

cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null
export PKG_CONFIG_PATH=$TMP/prefix/lib/pkgconfig:$TMP/prefix/lib/x86_64-linux-gnu/pkgconfig
pkg-config --exists mvmm || fail "pkg-config does not find the installed mvmm.pc"
[ -f "$TMP/prefix/include/mvmm/mvmm.h" ] || fail "header not installed"
GUEST=$TMP/prefix/share/mvmm/mvmm-guest.elf
[ -f "$GUEST" ] || fail "test guest not installed"

# A sanitizer build of the library needs the same runtime in the program.
extra=()
libdir=$(realpath "$(pkg-config --variable=libdir mvmm)")
if ldd "$libdir/libmvmm.so" | grep -q libasan; then
	extra=(-fsanitize=address,undefined)
fi
cc -Wall -Wextra -Werror "${extra[@]}" "$SRC/tools/examples/embed.c" \
	$(pkg-config --cflags --libs mvmm) -o "$TMP/embed" || fail "example does not build"
LD_LIBRARY_PATH=$libdir ldd "$TMP/embed" | grep -q "$libdir/libmvmm.so" || fail "example is not linked to the installed library"

set +e
LD_LIBRARY_PATH=$libdir "$TMP/embed" "$GUEST" "test=boot exit=7" >"$TMP/embed.out" 2>"$TMP/embed.err"
rc=$?
set -e
[ "$rc" = 7 ] || { cat "$TMP/embed.out" "$TMP/embed.err"; fail "example exited $rc, want the guest's 7"; }
expect_line "$TMP/embed.out" '^mvmm-guest: boot ok'
expect_line "$TMP/embed.out" '^embed: VM stopped, reason 1, guest code 7'
pass "example built with pkg-config against the installed libmvmm boots the guest (exit 7)"
