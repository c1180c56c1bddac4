#!/bin/bash
# Bad user input: a clear one-line error on stderr, the documented exit status, nothing run.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm

check() {	# check NAME WANT_RC PATTERN args...
	local name=$1 want=$2 pattern=$3
	shift 3
	set +e
	"$MVMM" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	local rc=$?
	set -e
	[ "$rc" = "$want" ] || { cat "$TMP/$name.err"; fail "$name: exit $rc, want $want"; }
	[ "$(wc -l <"$TMP/$name.err")" = 1 ] || { cat "$TMP/$name.err"; fail "$name: error is not one line"; }
	grep -q -- "$pattern" "$TMP/$name.err" || { cat "$TMP/$name.err"; fail "$name: error lacks '$pattern'"; }
	! grep -q 'mvmm-guest' "$TMP/$name.out" || fail "$name: a guest ran"
	pass "$name -> $want: $(cat "$TMP/$name.err")"
}

echo 'not a kernel at all' >"$TMP/junk"
head -c 100 /dev/zero >"$TMP/zeros"
: >"$TMP/empty"
printf '\177ELF\002\001\001' >"$TMP/truncelf"

check nocmd 64 'no command given'
check badcmd 64 "unknown command 'frobnicate'" frobnicate
check badflag 64 "unknown option '--bogus'" run --bogus
check novalue 64 "needs a value" run --mem
check mem_word 64 "--mem 'lots'" run --mem lots
check mem_small 64 "--mem '1M'" run --mem 1M
check mem_odd 64 "--mem '257M'" run --mem 257M
check mem_huge 64 "--mem '99999999999999999999'" run --mem 99999999999999999999
check cpus_zero 64 "--cpus '0'" run --cpus 0
check cpus_many 64 "--cpus '65'" run --cpus 65
check cpus_word 64 "--cpus 'two'" run --cpus two
check serial_bad 64 "--serial 'tcp:1'" run --serial tcp:1
check level_bad 64 "--log-level 'loud'" run --log-level loud
check extra_arg 64 "unexpected argument 'extra'" run extra
check nokernel 66 "kernel '$TMP/missing'" run --kernel "$TMP/missing"
check dirkernel 66 "not a regular file" run --kernel "$TMP"
check emptykernel 65 "empty file" run --kernel "$TMP/empty"
check junkkernel 65 "kernel" run --kernel "$TMP/junk"
check zerokernel 65 "kernel" run --kernel "$TMP/zeros"
check truncelf 65 "kernel" run --kernel "$TMP/truncelf"
check noinitrd 66 "initrd '$TMP/missing'" run --initrd "$TMP/missing"
check longcmdline 65 "command line" run --cmdline "$(head -c 5000 /dev/zero | tr '\0' x)"

# A real Linux kernel with an initrd too large for RAM.
if [ -r "$(dirname "$0")/../../../shared/linux/bzImage" ]; then
	truncate -s 40M "$TMP/bigrd"
	check bigrd 65 "initrd" run --mem 32M --kernel "$(dirname "$0")/../../../shared/linux/bzImage" --initrd "$TMP/bigrd"
fi

# No permission on /dev/kvm (run as nobody) -> 69.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ] && ! setpriv --reuid=65534 --regid=65534 --clear-groups test -w /dev/kvm; then
	cp "$MVMM" "$TMP/mvmm-copy" && chmod 755 "$TMP" "$TMP/mvmm-copy"
	set +e
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/mvmm-copy" run >"$TMP/nokvm.out" 2>"$TMP/nokvm.err" </dev/null
	rc=$?
	set -e
	[ "$rc" = 69 ] || { cat "$TMP/nokvm.err"; fail "no /dev/kvm permission: exit $rc, want 69"; }
	grep -q '/dev/kvm' "$TMP/nokvm.err" || fail "no /dev/kvm permission: error does not name /dev/kvm"
	[ "$(wc -l <"$TMP/nokvm.err")" = 1 ] || fail "no /dev/kvm permission: error is not one line"
	pass "no /dev/kvm permission -> 69: $(cat "$TMP/nokvm.err")"
fi

# --help works and exits 0.
"$MVMM" run --help | grep -q -- '--kernel' || fail "run --help"
"$MVMM" --help | grep -q 'exit codes' || fail "--help"
pass "help texts"
