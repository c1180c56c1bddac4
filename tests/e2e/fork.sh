#!/bin/bash
# mvmm fork: children continue from the parent's instant (the test guest's count sequence
# carries on, consecutive, in every VM), 8 children at once, forks of forks (3 generations),
# 200 forks with children exiting and no leaked processes, fds or memfds, a child outliving a
# kill -9 of its parent, and snapshot -> restore twice through the CLI.
. "$(dirname "$0")/lib.sh"
set -e
require_kvm
export XDG_RUNTIME_DIR=$TMP/run
RUN=$XDG_RUNTIME_DIR/mvmm
mkdir -p "$XDG_RUNTIME_DIR"
PIDS=()
cleanup() {
	stop_all_vms "$RUN"
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

start_parent() {	# start_parent NAME COUNT_MS -> $PARENT_PID
	"$MVMM" run --name "$1" --cmdline "test=count count_ms=$2" >"$TMP/$1.out" 2>"$TMP/$1.err" </dev/null &
	PARENT_PID=$!
	PIDS+=("$PARENT_PID")
	for _ in $(seq 200); do
		[ -S "$RUN/$1.sock" ] && grep -q '^count: 3 ' "$TMP/$1.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "parent $1 did not start"
}

wait_gone() {	# wait_gone PID...: until every process has exited (max 60 s)
	for p in "$@"; do
		for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && fail "process $p still running"
	done
	return 0
}

# check_counts FILE: consecutive "count: N" lines ending in "result: 0"; prints the first N.
check_counts() {
	awk '/^count: / { n = $2 + 0; if (prev && n != prev + 1) { print "gap " prev " -> " n; bad = 1 }
			   if (!first) first = n; prev = n }
	     /^result: / { result = $2 }
	     END { if (bad || result != "0" || !first) { print "bad result=" result " first=" first; exit 1 }
		   print first }' "$1"
}

# 1. One child; both finish; the child starts where the parent was.
start_parent p1 3000
out=$("$MVMM" fork p1) || fail "mvmm fork p1"
read -r c1 c1pid c1sock <<<"$out"
[ -S "$c1sock" ] || fail "child socket $c1sock missing"
"$MVMM" status "$c1" | grep -q running || fail "child not running"
wait_gone "$PARENT_PID" "$c1pid"
pf=$(check_counts "$TMP/p1.out") || fail "parent counts: $pf"
cf=$(check_counts "$RUN/$c1.log") || fail "child counts: $cf"
[ "$pf" = 1 ] && [ "$cf" -gt 3 ] || fail "parent began at $pf, child at $cf"
pass "fork 1 -> 1: parent and child ran to result 0; child continued at count $cf"

# 2. Eight children at once.
start_parent p8 4000
"$MVMM" fork -n 8 --name eight p8 >"$TMP/eight.lst" || fail "fork -n 8"
[ "$(wc -l <"$TMP/eight.lst")" = 8 ] || fail "fork -n 8 listed $(wc -l <"$TMP/eight.lst") children"
[ "$("$MVMM" ls | grep -c running)" -ge 9 ] || fail "ls does not show 9 VMs"
wait_gone "$PARENT_PID" $(awk '{print $2}' "$TMP/eight.lst")
check_counts "$TMP/p8.out" >/dev/null || fail "parent of 8"
while read -r n _ _; do
	check_counts "$RUN/$n.log" >/dev/null || fail "child $n: $(tail -3 "$RUN/$n.log")"
done <"$TMP/eight.lst"
pass "fork into 8 children at once: all 9 VMs consistent"

# 3. Three generations: fork a child, then its child.
start_parent g0 5000
prev=g0
gens=()
for g in 1 2 3; do
	sleep 0.3
	out=$("$MVMM" fork --name "gen$g" "$prev") || fail "fork generation $g"
	read -r name pid _ <<<"$out"
	gens+=("$name:$pid")
	prev=$name
done
wait_gone "$PARENT_PID" $(printf '%s\n' "${gens[@]}" | cut -d: -f2)
last=1
for e in "${gens[@]}"; do
	f=$(check_counts "$RUN/${e%%:*}.log") || fail "generation ${e%%:*}: $f"
	[ "$f" -gt "$last" ] || fail "generation ${e%%:*} began at $f, before its parent ($last)"
	last=$f
done
pass "3 generations (fork of a fork of a fork) all consistent"

# 4. 200 forks, each child stopped at once: nothing may leak.
start_parent big 600000
fds_before=$(ls /proc/"$PARENT_PID"/fd | wc -l)
for i in $(seq 200); do
	out=$("$MVMM" fork --name loop big) || fail "fork #$i"
	"$MVMM" stop "${out%% *}" || fail "stop child #$i"
done
# Only the parent's pool of ready children (mvmm keeps one) may remain.  Ours are the fork
# children with a file open in this test's runtime dir, or spawned by this parent.
our_children() {	# prints "pid ppid" of this test's fork-child processes
	local pid ppid
	ps -eo pid=,ppid=,args= | grep -- '__fork-child' | grep -v grep | while read -r pid ppid _; do
		if [ "$ppid" = "$PARENT_PID" ] || ls -l /proc/"$pid"/fd 2>/dev/null | grep -q "$RUN/"; then
			echo "$pid $ppid"
		fi
	done
}
for _ in $(seq 30); do
	left=$(our_children | grep -vc " $PARENT_PID\$" || true)
	[ "$left" = 0 ] && break
	sleep 0.1
done
[ "$left" = 0 ] || { our_children; fail "$left child processes left after 200 forks"; }
pooled=$(our_children | grep -c " $PARENT_PID\$" || true)
[ "$pooled" -le 1 ] || fail "$pooled pooled children, the pool holds 1"
zombies=$(ps -o stat= --ppid "$PARENT_PID" | grep -c Z || true)
[ "$zombies" = 0 ] || fail "$zombies zombie children"
fds_after=$(ls /proc/"$PARENT_PID"/fd | wc -l)
memfds=$(ls -l /proc/"$PARENT_PID"/fd | grep -c 'memfd:' || true)
maps=$(wc -l </proc/"$PARENT_PID"/maps)
# The parent keeps its RAM layers (compacted every 32 forks): bounded, not growing per fork.
[ "$memfds" -le 34 ] || fail "$memfds memfds open in the parent after 200 forks"
[ "$fds_after" -le $((fds_before + 33)) ] || fail "parent fds $fds_before -> $fds_after"
[ ! -e "$RUN"/loop-*.sock ] 2>/dev/null || true
[ "$(ls "$RUN" | grep -c '^loop-.*\.sock$' || true)" = 0 ] || fail "children left sockets"
"$MVMM" status big | grep -q running || fail "parent not running after 200 forks"
"$MVMM" stop big
wait_gone "$PARENT_PID"
sleep 0.5
[ -z "$(our_children)" ] || fail "pooled child outlived its parent"
pass "200 forks: no processes (but the 1 pooled), zombies or sockets left; parent fds $fds_before -> $fds_after, $memfds memfds, $maps maps"

# 4b. A fork that fails midway (out of file descriptors after a few children) cleans up every
# child it made, and the parent runs on and can fork again.
prlimit --nofile=22:22 "$MVMM" run --name lim --cmdline "test=count count_ms=600000" \
	>"$TMP/lim.out" 2>"$TMP/lim.err" </dev/null &
PARENT_PID=$!
PIDS+=("$PARENT_PID")
for _ in $(seq 200); do [ -S "$RUN/lim.sock" ] && grep -q '^count: 3 ' "$TMP/lim.out" 2>/dev/null && break; sleep 0.05; done
set +e
"$MVMM" fork -n 8 --name part lim >"$TMP/part.out" 2>"$TMP/part.err"; rc=$?
set -e
[ "$rc" != 0 ] && grep -q 'Too many open files' "$TMP/part.err" || fail "fork past the fd limit: exit $rc"
sleep 0.5
[ "$(ls "$RUN" | grep -c '^part-' || true)" = 0 ] || fail "failed fork left files: $(ls "$RUN")"
[ -z "$(our_children | grep -v " $PARENT_PID\$")" ] && [ "$(our_children | wc -l)" -le 1 ] ||
	{ our_children; fail "failed fork left children"; }
"$MVMM" status lim | grep -q running || fail "parent not running after a failed fork"
out=$("$MVMM" fork lim) || fail "fork after a failed fork"
"$MVMM" stop "${out%% *}"
"$MVMM" stop lim
wait_gone "$PARENT_PID"
pass "fork failing midway (fd limit): children and their files cleaned, parent runs on and forks again"

# 5. kill -9 the parent: the child lives on and finishes.
start_parent orphan 3000
out=$("$MVMM" fork orphan) || fail "fork orphan"
read -r oc ocpid _ <<<"$out"
kill -9 "$PARENT_PID"
sleep 0.5
kill -0 "$ocpid" 2>/dev/null || fail "child died with its parent"
"$MVMM" status "$oc" | grep -q running || fail "orphan child not running"
wait_gone "$ocpid"
check_counts "$RUN/$oc.log" >/dev/null || fail "orphan child: $(tail -3 "$RUN/$oc.log")"
"$MVMM" ls >/dev/null 2>"$TMP/ls.err"
grep -q "removed stale socket .*orphan.sock" "$TMP/ls.err" || fail "dead parent's socket not cleaned"
pass "child survives kill -9 of its parent and finishes; ls cleans the dead parent's socket"

# 6. Snapshot through the CLI, restore twice, both continue from the snapshot.
start_parent snap 3000
"$MVMM" snapshot snap "$TMP/snapdir" || fail "mvmm snapshot"
set +e
"$MVMM" snapshot snap "$TMP/snapdir" 2>"$TMP/again.err"; rc=$?
set -e
[ "$rc" = 75 ] && grep -q 'already exists' "$TMP/again.err" || fail "snapshot over an existing dir: $rc"
wait_gone "$PARENT_PID"
"$MVMM" restore "$TMP/snapdir" >"$TMP/r1.out" 2>&1 </dev/null &
r1=$!
"$MVMM" restore "$TMP/snapdir" >"$TMP/r2.out" 2>&1 </dev/null &
r2=$!
wait "$r1" || fail "restore 1 exited $?"
wait "$r2" || fail "restore 2 exited $?"
f1=$(check_counts "$TMP/r1.out") || fail "restore 1: $f1"
f2=$(check_counts "$TMP/r2.out") || fail "restore 2: $f2"
[ "$f1" = "$f2" ] && [ "$f1" -gt 3 ] || fail "restores began at $f1 and $f2"
pass "snapshot -> restore twice: both continue at count $f1"

# The state file validates with mvmm-statedump; a corrupted copy does not.
STATEDUMP=$(dirname "$MVMM")/mvmm-statedump
"$STATEDUMP" "$TMP/snapdir/state.bin" >"$TMP/dump.out" || fail "statedump rejects a good state"
grep -q 'all CRCs ok' "$TMP/dump.out" && grep -q '^  vcpu/0 ' "$TMP/dump.out" || fail "statedump output"
cp "$TMP/snapdir/state.bin" "$TMP/bad.bin"
printf 'X' | dd of="$TMP/bad.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
set +e
"$STATEDUMP" "$TMP/bad.bin" >"$TMP/dump.bad"; rc=$?
set -e
[ "$rc" = 1 ] && grep -q INVALID "$TMP/dump.bad" || fail "statedump accepts a corrupt state ($rc)"
pass "mvmm-statedump validates the snapshot's state and rejects a corrupted copy"

# 7. Corrupt snapshot dirs: one-line error, data-error status, no VM.
bad_snap() {	# bad_snap NAME CMD WANT_RC
	cp -r "$TMP/snapdir" "$TMP/$1"
	(cd "$TMP/$1" && eval "$2")
	set +e
	"$MVMM" restore "$TMP/$1" >"$TMP/$1.out" 2>"$TMP/$1.err" </dev/null; local rc=$?
	set -e
	[ "$rc" = "$3" ] || { cat "$TMP/$1.err"; fail "$1: exit $rc, want $3"; }
	[ "$(wc -l <"$TMP/$1.err")" = 1 ] || { cat "$TMP/$1.err"; fail "$1: not one line"; }
	! grep -q '^count:' "$TMP/$1.out" || fail "$1: a guest ran"
	pass "corrupt snapshot '$1' -> $rc: $(cat "$TMP/$1.err")"
}
bad_snap nomanifest "rm manifest.json" 66
bad_snap badstate "printf 'XXXX' | dd of=state.bin bs=1 seek=40 conv=notrunc 2>/dev/null" 65
bad_snap shortmem "truncate -s 1M memory.bin" 65
bad_snap version "sed -i 's/\"version\": *1,/\"version\": 7,/' manifest.json" 65
set +e
"$MVMM" restore "$TMP/nosuchdir" 2>"$TMP/nodir.err"; rc=$?
set -e
[ "$rc" = 66 ] || fail "restore of a missing dir: $rc"
pass "restore of a missing dir -> 66"
