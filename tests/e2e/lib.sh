# SPDX-License-Identifier: MIT
# Helpers for the e2e drivers: each driver gets the mvmm binary as $1.
set -u
MVMM=${1:?usage: $0 path/to/mvmm}
TMP=$(mktemp -d /tmp/mvmm-e2e.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pass() {
	echo "PASS: $*"
}

require_kvm() {
	if [ ! -e /dev/kvm ]; then
		echo "SKIP: /dev/kvm is missing on this machine" >&2
		exit 77
	fi
}

# run_vm NAME [mvmm run args...]: stdout -> $TMP/NAME.out, stderr -> $TMP/NAME.err,
# exit status -> $TMP/NAME.rc.  Never fails itself.
run_vm() {
	local name=$1
	shift
	set +e
	timeout 90 "$MVMM" run "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	echo $? >"$TMP/$name.rc"
	set -e
}

rc_of() {
	cat "$TMP/$1.rc"
}

expect_line() {
	local file=$1 pattern=$2
	grep -q -- "$pattern" "$file" || {
		echo "--- $file"; cat "$file"; fail "no line matching '$pattern' in $(basename "$file")"
	}
}

# stop_all_vms DIR: stop every VM serving a socket in DIR (fork children included), so a failed
# test leaves no VMM processes behind.
stop_all_vms() {
	local s
	for s in "$1"/*.sock; do
		[ -S "$s" ] && timeout 5 "$MVMM" stop "$s" >/dev/null 2>&1
	done
	return 0
}
