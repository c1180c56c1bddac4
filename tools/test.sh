#!/bin/bash
# SPDX-License-Identifier: MIT
# Build with ASan+UBSan and -Werror into ./build-asan and run every test tier with CTest.
#   tools/test.sh               all tests (unit, kvm, e2e, linux)
#   tools/test.sh -L unit       any extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMVMM_SANITIZE=address,undefined \
	-DMVMM_WERROR=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure --timeout 300 "$@"

# Second compiler + the libFuzzer targets, each run for a short fixed budget (label fuzz).
if [ $# -eq 0 ] && command -v clang >/dev/null; then
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMVMM_FUZZ=ON -DMVMM_WERROR=ON \
		-DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j"$(nproc)"
	ctest --test-dir build-fuzz --output-on-failure -L fuzz
fi
