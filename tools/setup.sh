#!/bin/bash
# SPDX-License-Identifier: MIT
# Install mvmm's build dependencies (Debian 12) and build it into ./build.
#   tools/setup.sh            deps (when run as root or with sudo) + release build
#   tools/setup.sh --deps     dependencies only
set -euo pipefail
cd "$(dirname "$0")/.."

DEPS=(build-essential cmake pkg-config libcmocka-dev cpio util-linux curl python3 zlib1g-dev libcurl4-openssl-dev libmicrohttpd-dev libjson-c-dev clang libclang-rt-14-dev liburing-dev)

install_deps() {
	local missing=()
	for p in "${DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "setup: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_deps
[ "${1:-}" = "--deps" ] && exit 0

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
if [ ! -w /dev/kvm ]; then
	echo "setup: note: /dev/kvm is missing or not writable for $(id -un);" \
	     "add yourself to the 'kvm' group (sudo adduser $(id -un) kvm) and log in again" >&2
fi
echo "setup: built ./build/mvmm"
