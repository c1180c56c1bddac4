#!/bin/bash
# SPDX-License-Identifier: MIT
# Live fork of a running VM (PUT /vm/fork, fork/): parent pause, time until a child runs,
# memory per child, fork-of-fork by generation and a 100-child fan-out, for each guest size
# side by side, next to host baselines measured in the same run (process fork() of as much
# written anonymous memory, 4 KiB and MADV_HUGEPAGE; a full memory copy; exec of mvmm; bare
# KVM VM creation; the pagemap scan a later fork does).  Prints one table with the targets of
# the fork issue next to the measurements; with --plot FILE.png also draws them (gnuplot).
#
#   tools/bench/fork.sh [path/to/mvmm] [--mem-list 256M,1G] [--forks 50] [--gens 10]
#                       [--chains 3] [--fanout 100] [--reps 10] [--sections 1,2,3,4,5]
#                       [--wait-idle SEC] [--quick] [-v] [--plot out.png]
#
# 1. Latency: a parent running test=count is forked --forks times, one child each, and every
#    child is stopped (and gone) before the next fork.  Parent pause = GET /metrics
#    fork.last_pause_us (pause -> layers -> state -> resume); child running = last_total_us
#    (pause began -> the child acked, which it does right after starting its vCPU threads,
#    so about when its first guest instruction runs: PVM has no kvm_entry tracepoint to check
#    it); HTTP = curl's time_total of the PUT.  With perf (as root), 10 more forks are traced
#    (sched_process_fork/exec, the child's recvmsg and ack) to split the child's time.
#    The first fork of a VM freezes its shared RAM (zero copy, memslot swap); every later
#    fork copies the pages written since into a new layer (dirty pages found by reading
#    /proc/self/pagemap over all RAM), and every 32nd layer is compacted (O(RAM), in the pause).
# 2. Memory: a parent runs test=forkmem over 1 % and 10 % of RAM (round-robin writes for the
#    whole run); after one full pass it is forked into 2 children, which carry on writing the
#    same region, i.e. each child writes that share of RAM after the fork.  Once a child's
#    private copies of guest RAM stop growing, its smaps are read: PSS, private (USS), the
#    anonymous (copied-on-write) part of its guest-RAM mappings and the VMM's own private
#    memory.  Then the parent is forked once more (a delta fork with the region dirty) and
#    the memfd layers it holds are summed (stat -L blocks of its memfd: fds).
# 3. Fork-of-fork: generation 0 runs test=forkmem over 1 % of RAM; each generation is forked
#    after 0.5 s of writing, then stopped, and its child is forked next, --gens times, in
#    --chains chains; the median per generation is shown.
# 4. Fan-out: one PUT /vm/fork with count=--fanout on a test=count parent: wall time, and the
#    summed PSS of all VMM processes with every child alive (the test guests spin, so 100
#    children share 2 CPUs), plus the growth of anonymous + shmem + kernel memory (page
#    tables, slab, stacks) in /proc/meminfo over the same time.
# 5. Baselines (run first, before any VM): see the top.  All timings are wall clock on a
#    2-CPU machine: other work skews them, so the CPU load before the start is printed, and
#    --wait-idle SEC waits up to SEC seconds for the CPUs to be < 10 % busy first.
# --quick: 256M only, 10 forks, 1 chain of 10 generations, 20-child fan-out, 3 baseline reps
#    (options given explicitly still win).  A full run takes 6-9 minutes on an idle 2-CPU
#    machine, a third of it the two 100-child fan-outs (every test guest spins).
# --sections: run only these parts (numbers as above).
# Private runtime dir: children's sockets and logs go to a temporary XDG_RUNTIME_DIR/mvmm.
set -euo pipefail

MVMM=build/mvmm
MEMS=256M,1G FORKS=50 GENS=10 CHAINS=3 FANOUT=100 REPS=10 QUICK=0 VERBOSE=0 PLOT=""
SECTIONS=1,2,3,4,5 WAIT_IDLE=0
for a in "$@"; do
	[ "$a" = --quick ] && { QUICK=1; MEMS=256M FORKS=10 CHAINS=1 FANOUT=20 REPS=3; }
done
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then MVMM=$1; shift; fi
while [ $# -gt 0 ]; do
	case $1 in
	--mem-list) MEMS=${2:?}; shift ;;
	--forks) FORKS=${2:?}; shift ;;
	--gens) GENS=${2:?}; shift ;;
	--chains) CHAINS=${2:?}; shift ;;
	--fanout) FANOUT=${2:?}; shift ;;
	--reps) REPS=${2:?}; shift ;;
	--sections) SECTIONS=${2:?}; shift ;;
	--wait-idle) WAIT_IDLE=${2:?}; shift ;;
	--quick) QUICK=1 ;;
	-v) VERBOSE=1 ;;
	--plot) PLOT=${2:?--plot needs a file}; shift ;;
	-h|--help) sed -n '3,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "fork.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
	esac
	shift
done
[ -x "$MVMM" ] || { echo "fork.sh: $MVMM is not an executable (build first)" >&2; exit 66; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "fork.sh: no access to /dev/kvm" >&2; exit 69; }
for t in curl python3; do
	command -v $t >/dev/null || { echo "fork.sh: needs $t" >&2; exit 69; }
done
if [ -n "$PLOT" ] && ! command -v gnuplot >/dev/null; then
	echo "fork.sh: --plot needs gnuplot (apt-get install gnuplot-nox)" >&2
	exit 69
fi
[ "$FANOUT" -le 256 ] || { echo "fork.sh: --fanout at most 256 (MVMM_MAX_FORK)" >&2; exit 64; }
MVMM=$(realpath "$MVMM")
HERE=$(cd "$(dirname "$0")" && pwd)
TRACED=10
HAVE_PERF=0
command -v perf >/dev/null && [ "$(id -u)" = 0 ] && HAVE_PERF=1
# The pyenv-style shims cost 0.3 s per start: call the interpreter itself.
PY=$(python3 -c 'import sys; print(sys.executable)')

TMP=$(mktemp -d)
export XDG_RUNTIME_DIR=$TMP/xdg
RUN=$XDG_RUNTIME_DIR/mvmm
mkdir -p "$RUN"
RES=$TMP/results	# "<size MiB> <key> <values...>" lines, rendered at the end
: >"$RES"
: >"$TMP/pids"
cleanup() {
	local p
	# Every VMM this script started (parents) or made (children), by pid; nothing else.
	while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$TMP/pids"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { [ "$VERBOSE" = 1 ] && echo "fork.sh: $*" >&2 || true; }
say() { echo "fork.sh: $*" >&2; }
res() { echo "$*" >>"$RES"; }

${CC:-cc} -O2 -Wall -o "$TMP/forkhost" "$HERE/forkhost.c" || {
	echo "fork.sh: cannot build forkhost.c" >&2
	exit 69
}

# --- helpers ----------------------------------------------------------------------------------

api() {	# METHOD SOCK PATH [BODY]: the response body
	curl -s --max-time 30 -X "$1" --unix-socket "$2" ${4:+-d "$4"} "http://localhost$3"
}

jnum() {	# KEY < json: the first integer value of KEY
	grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# fork_req SOCK COUNT: PUT /vm/fork; children's "pid sock" lines into $TMP/kids; prints
# "<http code> <wall us>".
fork_req() {
	local out code t
	out=$(curl -s --max-time 300 -X PUT --unix-socket "$1" -d "{\"count\":$2,\"name\":\"b\"}" \
		-o "$TMP/fork.json" -w '%{http_code} %{time_total}' http://localhost/vm/fork) || true
	read -r code t <<<"${out:-0 0}"
	paste -d' ' <(grep -o '"pid":[0-9]*' "$TMP/fork.json" | cut -d: -f2) \
		<(grep -o '"api_sock":"[^"]*"' "$TMP/fork.json" | cut -d'"' -f4) >"$TMP/kids" || true
	cut -d' ' -f1 "$TMP/kids" >>"$TMP/pids"
	if [ "$code" != 200 ]; then
		say "fork of $1 failed: HTTP $code $(cat "$TMP/fork.json")"
		res 0 fork_fail "$code"
	fi
	echo "$code $(awk -v t="$t" 'BEGIN { printf "%d", t * 1e6 }')"
}

fork_metrics() {	# SOCK: "<last_pause_us> <last_total_us>"
	local m
	m=$(api GET "$1" /metrics)
	echo "$(jnum last_pause_us <<<"$m") $(jnum last_total_us <<<"$m")"
}

wait_gone() {	# PID...: until each has exited (10 s, then SIGKILL)
	local p i
	for p in "$@"; do
		for i in $(seq 1000); do kill -0 "$p" 2>/dev/null || break; sleep 0.01; done
		if kill -0 "$p" 2>/dev/null; then
			say "process $p did not exit after stop: killing it"
			res 0 stuck "$p"
			kill -9 "$p" 2>/dev/null || true
		fi
	done
}

stop_vm() {	# PID SOCK: PUT /vm/stop and wait until the process is gone
	api PUT "$2" /vm/stop >/dev/null || kill "$1" 2>/dev/null || true
	wait_gone "$1"
}

# start_vm NAME MEM CMDLINE READY_REGEX: a parent VMM with its API on $RUN/NAME.sock, console
# in $TMP/NAME.out, log (info) in $TMP/NAME.err; sets VM_PID and VM_SOCK.
start_vm() {
	local i
	"$MVMM" run --name "$1" --mem "$2" --log-level info --cmdline "$3" \
		</dev/null >"$TMP/$1.out" 2>"$TMP/$1.err" &
	VM_PID=$!
	VM_SOCK=$RUN/$1.sock
	echo "$VM_PID" >>"$TMP/pids"
	for i in $(seq 400); do
		[ -S "$VM_SOCK" ] && grep -q "$4" "$TMP/$1.out" 2>/dev/null && return 0
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.05
	done
	say "VM $1 did not start: $(tail -n 3 "$TMP/$1.out" "$TMP/$1.err")"
	exit 70
}

# memstat PID...: per pid "pid pss priv ram_anon ram_pss vmm_priv rss" in KiB, where ram_* are
# the guest-RAM mappings (memfd mvmm-ram / mvmm-layer) and vmm_priv the private rest.  The
# smaps header lines ("addr-addr perms off dev inode path") decide whether what follows is RAM.
memstat() {
	local p
	for p in "$@"; do
		awk -v pid="$p" '
			/^[0-9a-f]+-[0-9a-f]+ / { ram = ($0 ~ /memfd:mvmm-(ram|layer)/); next }
			$3 != "kB" { next }
			$1 == "Pss:" { pss += $2; if (ram) rpss += $2 }
			$1 == "Private_Clean:" || $1 == "Private_Dirty:" { priv += $2; if (!ram) vpriv += $2 }
			$1 == "Anonymous:" && ram { anon += $2 }
			$1 == "Rss:" { rss += $2 }
			END { print pid, pss + 0, priv + 0, anon + 0, rpss + 0, vpriv + 0, rss + 0 }' \
			"/proc/$p/smaps" 2>/dev/null || echo "$p 0 0 0 0 0 0"
	done
}

descendants() {	# PID: every process below it (children, grandchildren, ...), one per line
	ps -e -o pid=,ppid= | awk -v root="$1" '{ parent[$1] = $2 }
		END { for (p in parent) { q = parent[p]; n = 0
			while (q != root && (q in parent) && n++ < 64) q = parent[q]
			if (q == root) print p } }'
}

# spares PID: processes below PID waiting to become a fork child (the pool each VM keeps):
# single-threaded, where a fork child runs its loop, vCPU and API threads.  busy_kids PID: those
# that run a VM.
threads_of() { awk '$1 == "Threads:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
spares() {
	local p
	for p in $(descendants "$1"); do [ "$(threads_of "$p")" = 1 ] && echo "$p"; done
	return 0
}
busy_kids() {
	local p
	for p in $(descendants "$1"); do [ "$(threads_of "$p")" -gt 1 ] && echo "$p"; done
	return 0
}

pool_size() {	# PID: its spares right now (call when it has no fork children alive)
	spares "$1" | wc -l
}

layers() {	# PID: "<bytes of mvmm-ram memfds> <bytes of mvmm-layer memfds> <number of layers>"
	local f t b ram=0 lay=0 n=0
	for f in /proc/"$1"/fd/*; do
		t=$(readlink "$f" 2>/dev/null) || continue
		case $t in
		*memfd:mvmm-ram*) b=$(stat -L -c '%b*%B' "$f"); ram=$((ram + b)); n=$((n + 1)) ;;
		*memfd:mvmm-layer*) b=$(stat -L -c '%b*%B' "$f"); lay=$((lay + b)); n=$((n + 1)) ;;
		esac
	done
	echo "$ram $lay $n"
}

status_kib() {	# PID FIELD (from /proc/PID/status)
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

on() {	# section N is wanted; also notes how many VMMs of others run at its start
	[[ ",$SECTIONS," == *",$1,"* ]] || return 1
	res 0 foreign "$(foreign_vmms)"
}

foreign_vmms() {	# mvmm processes on this machine that this script did not start or make
	local n=0 p
	for p in $(pgrep -x mvmm; pgrep -x exe); do
		grep -qx "$p" "$TMP/pids" && continue
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'mvmm\| __fork-child' && n=$((n + 1))
	done
	echo "$n"
}

cpu_busy() {	# percent of CPU time not idle over one second
	local a b
	read -ra a < <(head -n 1 /proc/stat)
	sleep 1
	read -ra b < <(head -n 1 /proc/stat)
	awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN { split(a, x); split(b, y); t = 0
		for (i = 2; i <= 9; i++) t += y[i] - x[i]
		print t ? int(100 - (y[5] - x[5] + y[6] - x[6]) * 100 / t) : 0 }'
}

sysmem() {	# KiB of anonymous + shmem/memfd + kernel (page tables, slab, stacks) memory in use
	awk '$1 ~ /^(AnonPages|Shmem|PageTables|SecPageTables|SUnreclaim|KernelStack):$/ { s += $2 }
		END { print s }' /proc/meminfo
}

mib_of() { numfmt --from=iec "$1" | awk '{ print int($1 / 1048576) }'; }

# Fail lines of the forkmem check in the consoles of a VM and its children so far.
check_consoles() {	# LABEL FILES...
	local f bad=0
	for f in "${@:2}"; do
		[ -f "$f" ] || continue
		if grep -q '^FAIL' "$f"; then
			say "$1: $(grep -m 3 '^FAIL\|^forkmem: page' "$f" | tr '\n' ' ') ($f)"
			bad=$((bad + 1))
		fi
	done
	[ "$bad" = 0 ] || res 0 console_fail "$1" "$bad"
}

IFS=, read -ra SIZES <<<"$MEMS"
for s in "${SIZES[@]}"; do
	m=$(mib_of "$s")
	[ "$m" -ge 16 ] || { echo "fork.sh: --mem-list: $s is too small" >&2; exit 64; }
done

# --- 5. host baselines (first, while no VM spins) -----------------------------------------------

busy=$(cpu_busy)
for i in $(seq "$WAIT_IDLE"); do
	[ "$busy" -lt 10 ] && break
	busy=$(cpu_busy)
done
res 0 busy_start "$busy"
T_START=$SECONDS
[ "$busy" -gt 10 ] && say "warning: the CPUs were $busy % busy before the start: other work on" \
	"this machine will skew the numbers"
on 5 && say "baselines: process fork(), memcpy, KVM VM creation, exec, pagemap scan" &&
for s in "${SIZES[@]}"; do
	m=$(mib_of "$s")
	"$TMP/forkhost" fork "$m" "$REPS" 4k >"$TMP/f4k"
	res "$m" base_fork4k_parent $(awk '{ print $1 }' "$TMP/f4k")
	res "$m" base_fork4k_child $(awk '{ print $2 }' "$TMP/f4k")
	"$TMP/forkhost" fork "$m" "$REPS" thp >"$TMP/fthp"
	res "$m" base_forkthp_parent $(awk '{ print $1 }' "$TMP/fthp")
	res "$m" base_forkthp_child $(awk '{ print $2 }' "$TMP/fthp")
	res "$m" base_thp_kib $(awk 'END { print $3 }' "$TMP/fthp")
	read -r bw fresh < <("$TMP/forkhost" memcpy "$m")
	res "$m" base_memcpy_mbs "$bw"
	res "$m" base_copy_fresh_ms "$fresh"
	"$TMP/forkhost" kvm "$m" "$REPS" >"$TMP/kvm"
	for i in 1 2 3 4 5; do
		res "$m" "base_kvm$i" $(awk -v i="$i" '{ print $i }' "$TMP/kvm")
	done
	res "$m" base_pagemap $("$TMP/forkhost" pagemap "$m" "$REPS" | awk '{ print $1 }')
done
if [[ ",$SECTIONS," == *,5,* ]]; then
	res 0 base_exec_mvmm $("$TMP/forkhost" spawn "$REPS" "$MVMM" --help)
	res 0 base_exec_true $("$TMP/forkhost" spawn "$REPS" /bin/true)
	res 0 nr_libs "$(ldd "$MVMM" | grep -c '=>')"
fi

# --- 1. latency -----------------------------------------------------------------------------------

on 1 && for s in "${SIZES[@]}"; do
	m=$(mib_of "$s")
	say "$s: $FORKS forks of a test=count parent, each child stopped before the next"
	start_vm "lat$m" "$s" "test=count count_ms=3600000" '^count: 3 '
	psock=$VM_SOCK ppid=$VM_PID
	for i in $(seq 5); do
		curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$psock" http://localhost/metrics
	done | awk '{ printf "%d ", $1 * 1e6 }' >"$TMP/http"
	res "$m" http_get_metrics $(cat "$TMP/http")
	sleep 0.2
	res "$m" pool_at_start "$(spares "$ppid" | wc -l)"
	pause=() total=() wall=()
	for i in $(seq "$FORKS"); do
		read -r code w < <(fork_req "$psock" 1)
		[ "$code" = 200 ] || continue
		read -r p t < <(fork_metrics "$psock")
		pause+=("$p") total+=("$t") wall+=("$w")
		read -r kpid ksock <"$TMP/kids"
		log "$s fork $i: pause $p us, child running $t us, HTTP $w us"
		stop_vm "$kpid" "$ksock"
		sleep 0.02
	done
	res "$m" pause "${pause[@]}"
	res "$m" total "${total[@]}"
	res "$m" wall "${wall[@]}"
	# The parent's own account of each fork: layer copy and layer count.
	res "$m" copy_kib $(sed -n 's/.*layer copy \([0-9]*\) KiB.*/\1/p' "$TMP/lat$m.err")
	res "$m" nlayers $(sed -n 's/.*KiB; \([0-9]*\) layers.*/\1/p' "$TMP/lat$m.err")
	# The same through the CLI (a client process + libcurl + HTTP).
	cli=()
	for i in $(seq 5); do
		t0=$(date +%s%N)
		out=$("$MVMM" fork "$psock") || { say "mvmm fork failed"; res 0 fork_fail cli; continue; }
		t1=$(date +%s%N)
		cli+=($(( (t1 - t0) / 1000 )))
		read -r _ kpid ksock <<<"$out"
		echo "$kpid" >>"$TMP/pids"
		stop_vm "$kpid" "$ksock"
	done
	res "$m" cli_wall "${cli[@]}"
	# Where a child's time goes (perf tracepoints; PVM has no kvm_entry tracepoint, so the ack
	# stands for the first instruction): a few more forks, traced, not in the numbers above.
	if [ "$HAVE_PERF" = 1 ]; then
		perf record -q -k mono -o "$TMP/perf.data" -e sched:sched_process_exec \
			-e syscalls:sys_enter_recvmsg -e syscalls:sys_exit_recvmsg \
			-e syscalls:sys_enter_sendmsg -e syscalls:sys_enter_sendto \
			-p "$ppid" 2>"$TMP/perf.err" &
		perf_pid=$!
		sleep 0.5
		for i in $(seq "$TRACED"); do
			read -r code _ < <(fork_req "$psock" 1)
			[ "$code" = 200 ] || continue
			read -r kpid ksock <"$TMP/kids"
			stop_vm "$kpid" "$ksock"
		done
		kill -INT "$perf_pid"
		wait "$perf_pid" 2>/dev/null || true
		# Per child process (exec'd mvmm): exec -> waiting for its VM (ld.so, libraries,
		# main; off the fork path if it was pre-spawned), the parent's hand-off sendmsg ->
		# received, received -> VM runs (its ack), and 1 if it was waiting before the hand-off
		# (taken from the pool).  Children's own spares exec but never receive: left out.
		res "$m" trace $(perf script -i "$TMP/perf.data" -F pid,time,event 2>/dev/null | awk -v pp="$ppid" '
			{ split($1, a, "/"); pid = a[1]; t = $2; sub(/:$/, "", t); ev = $3 }
			ev ~ /sched_process_exec/ { ex[pid] = t; next }
			ev ~ /sys_enter_sendmsg/ && pid == pp { sent = t; next }
			ev ~ /sys_enter_recvmsg/ && (pid in ex) && !(pid in re) { re[pid] = t; next }
			ev ~ /sys_exit_recvmsg/ && (pid in re) && !(pid in rx) { rx[pid] = t; snd[pid] = sent; next }
			ev ~ /sys_enter_sendto/ && (pid in rx) && !(pid in ack) { ack[pid] = t
				printf "%d %d %d %d ", (re[pid] - ex[pid]) * 1e6, (rx[pid] - snd[pid]) * 1e6,
					(t - rx[pid]) * 1e6, re[pid] < snd[pid] }')
	fi
	read -r _ lay n < <(layers "$ppid")
	res "$m" lat_parent_layers "$n" "$lay"
	sleep 0.3
	# Fork children still below the parent (its pool's spares do not count) ...
	res "$m" lat_left_children "$(busy_kids "$ppid" | wc -l)" "$(pool_size "$ppid")"
	# ... and the spares must go with it.
	spares "$ppid" >>"$TMP/pids"
	stop_vm "$ppid" "$psock"
	wait "$ppid" 2>/dev/null || true
done

# --- 2. memory per child ------------------------------------------------------------------------

on 2 && for s in "${SIZES[@]}"; do
	m=$(mib_of "$s")
	for pct in 1 10; do
		w=$(( (m * pct + 50) / 100 ))
		[ "$w" -ge 1 ] || w=1
		say "$s: memory of 2 children each writing $w MiB ($pct % of RAM) after the fork"
		name=mem$m-$pct
		start_vm "$name" "$s" "test=forkmem forkmem_mib=$w forkmem_ms=3600000" 'writing for'
		psock=$VM_SOCK ppid=$VM_PID
		# One full pass over the region before the fork: it is all in the shared memfd.
		for i in $(seq 600); do
			[ "$(status_kib "$ppid" RssShmem)" -ge $((w * 1024)) ] && break
			sleep 0.05
		done
		sleep 0.3
		read -r code _ < <(fork_req "$psock" 2)
		[ "$code" = 200 ] || { stop_vm "$ppid" "$psock"; continue; }
		read -r p t < <(fork_metrics "$psock")
		res "$m" "mem${pct}_fork1_pause" "$p"
		mapfile -t kids <"$TMP/kids"
		kpids=()
		for k in "${kids[@]}"; do kpids+=("${k%% *}"); done
		# Until every child's private copies of guest RAM stop growing (or reach the region).
		t0=$(date +%s%N)
		prev=""
		for i in $(seq 300); do
			sleep 0.1
			cur=$(memstat "${kpids[@]}" | awk '{ print $4 }' | tr '\n' ' ')
			done_all=1
			for a in $cur; do [ "$a" -ge $((w * 1024)) ] || done_all=0; done
			[ "$done_all" = 1 ] && [ "$cur" = "$prev" ] && break
			prev=$cur
		done
		t1=$(date +%s%N)
		res "$m" "mem${pct}_settle_ms" $(( (t1 - t0) / 1000000 ))
		res "$m" "mem${pct}_written_kib" $((w * 1024))
		memstat "${kpids[@]}" >"$TMP/kmem"
		# Each VM keeps a pre-spawned spare process (the fork pool): its memory, per child.
		for k in "${kpids[@]}"; do
			sp=$(spares "$k" | tr '\n' ' ')
			printf '%s\n' $sp >>"$TMP/pids"
			memstat $sp | awk '{ s += $2; v += $3 } END { print s + 0, v + 0, NR }'
		done >"$TMP/kspare"
		res "$m" "mem${pct}_child_spare_pss" $(awk '{ print $1 }' "$TMP/kspare")
		res "$m" "mem${pct}_child_spare_n" $(awk '{ print $3 }' "$TMP/kspare")
		res "$m" "mem${pct}_child_pss" $(awk '{ print $2 }' "$TMP/kmem")
		res "$m" "mem${pct}_child_priv" $(awk '{ print $3 }' "$TMP/kmem")
		res "$m" "mem${pct}_child_ram_anon" $(awk '{ print $4 }' "$TMP/kmem")
		res "$m" "mem${pct}_child_ram_pss" $(awk '{ print $5 }' "$TMP/kmem")
		res "$m" "mem${pct}_child_vmm_priv" $(awk '{ print $6 }' "$TMP/kmem")
		res "$m" "mem${pct}_parent" $(memstat "$ppid" | cut -d' ' -f2-)
		res "$m" "mem${pct}_layers1" $(layers "$ppid")
		# A second fork of the parent: its delta (the region, rewritten since) becomes a layer.
		read -r code _ < <(fork_req "$psock" 1)
		if [ "$code" = 200 ]; then
			read -r p t < <(fork_metrics "$psock")
			res "$m" "mem${pct}_fork2_pause" "$p"
			res "$m" "mem${pct}_fork2_total" "$t"
			res "$m" "mem${pct}_fork2_copy_kib" \
				"$(sed -n 's/.*layer copy \([0-9]*\) KiB.*/\1/p' "$TMP/$name.err" | tail -n 1)"
			res "$m" "mem${pct}_layers2" $(layers "$ppid")
			read -r kp ks <"$TMP/kids"
			kids+=("$kp $ks")
		fi
		for k in "${kids[@]}"; do stop_vm "${k%% *}" "${k#* }"; done
		stop_vm "$ppid" "$psock"
		wait "$ppid" 2>/dev/null || true
		check_consoles "$s forkmem $pct %" "$TMP/$name.out" "$RUN"/b-*.log
		rm -f "$RUN"/b-*.log
	done
done

# --- 3. fork of fork ------------------------------------------------------------------------------

on 3 && for s in "${SIZES[@]}"; do
	m=$(mib_of "$s")
	w=$(( (m + 50) / 100 ))
	[ "$w" -ge 1 ] || w=1
	for c in $(seq "$CHAINS"); do
		say "$s: fork-of-fork chain $c, $GENS generations (test=forkmem over $w MiB)"
		start_vm "gen$m-$c" "$s" "test=forkmem forkmem_mib=$w forkmem_ms=3600000" 'writing for'
		vpid=$VM_PID vsock=$VM_SOCK
		for g in $(seq "$GENS"); do
			sleep 0.5
			read -r _ lay0 _ < <(layers "$vpid")
			read -r code wall < <(fork_req "$vsock" 1)
			if [ "$code" != 200 ]; then
				res "$m" gen_fail "$g"
				break
			fi
			read -r p t < <(fork_metrics "$vsock")
			read -r _ lay1 n < <(layers "$vpid")
			res "$m" "gen$g" "$p" "$t" "$wall" "$((lay1 - lay0))" "$n"
			log "$s chain $c generation $g: pause $p us, child $t us, HTTP $wall us, new layer $((lay1 - lay0)) B, $n layers"
			read -r kpid ksock <"$TMP/kids"
			stop_vm "$vpid" "$vsock"
			vpid=$kpid vsock=$ksock
		done
		stop_vm "$vpid" "$vsock"
		check_consoles "$s fork-of-fork chain $c" "$TMP/gen$m-$c.out" "$RUN"/b-*.log
		rm -f "$RUN"/b-*.log
	done
done

# --- 4. fan-out -----------------------------------------------------------------------------------

on 4 && for s in "${SIZES[@]}"; do
	m=$(mib_of "$s")
	say "$s: fan-out, $FANOUT children in one request"
	start_vm "fan$m" "$s" "test=count count_ms=3600000" '^count: 3 '
	psock=$VM_SOCK ppid=$VM_PID
	sleep 0.3
	mem0=$(sysmem)
	read -r code wall < <(fork_req "$psock" "$FANOUT")
	if [ "$code" = 200 ]; then
		read -r p t < <(fork_metrics "$psock")
		mapfile -t kids <"$TMP/kids"
		kpids=()
		for k in "${kids[@]}"; do kpids+=("${k%% *}"); done
		# When each child process was spawned (clock ticks since boot): the spacing is the
		# time one child took, as the parent makes them one after the other.
		for k in "${kpids[@]}"; do
			awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$k/stat" 2>/dev/null
		done | sort -n >"$TMP/starts"
		hz=$(getconf CLK_TCK)
		# (the first one may be a spare spawned long before: left out)
		spacing=$(awk -v hz="$hz" 'NR > 1 { t[++n] = $1 } END { k = n >= 20 ? 10 : int(n / 2);
			if (k < 2) { print "0 0"; exit }
			printf "%d %d\n", (t[k] - t[1]) * 1e6 / hz / (k - 1), (t[n] - t[n - k + 1]) * 1e6 / hz / (k - 1) }' "$TMP/starts")
		sleep 1
		mapfile -t spare < <(spares "$ppid")
		printf '%s\n' "${spare[@]}" >>"$TMP/pids"
		memstat "$ppid" "${kpids[@]}" >"$TMP/fmem"
		memstat "${spare[@]}" >"$TMP/fspare"
		mem1=$(sysmem)
		alive=0
		for k in "${kpids[@]}"; do kill -0 "$k" 2>/dev/null && alive=$((alive + 1)); done
		res "$m" fan "$wall" "$p" "$t" "${#kpids[@]}" "$alive" \
			"$(awk '{ s += $2 } END { print s }' "$TMP/fmem")" \
			"$(awk 'NR > 1 { s += $2 } END { print s }' "$TMP/fmem")" \
			"$(awk 'NR > 1 { s += $3 } END { print s }' "$TMP/fmem")" \
			"$((mem1 - mem0))" 0 \
			"$(awk 'NR > 1 { s += $6 } END { print s }' "$TMP/fmem")" $spacing \
			"${#spare[@]}" "$(awk '{ s += $2 } END { print s + 0 }' "$TMP/fspare")"
		# SIGTERM is a clean stop for a child VMM (cmd_child.c); then the parent.
		for k in "${kpids[@]}"; do kill -TERM "$k" 2>/dev/null || true; done
		wait_gone "${kpids[@]}"
	fi
	stop_vm "$ppid" "$psock"
	wait "$ppid" 2>/dev/null || true
	rm -f "$RUN"/b-*.log
done

res 0 runtime_s $((SECONDS - T_START))

# --- leftovers: every VMM we started or made must be gone ----------------------------------------
left=0
while read -r p; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done <"$TMP/pids"
res 0 left_procs "$left"
res 0 left_sockets "$(find "$RUN" -name '*.sock' | wc -l)"

# --- the table ------------------------------------------------------------------------------------

"$PY" - "$RES" "$MEMS" "$FORKS" "$GENS" "$CHAINS" "$FANOUT" "$REPS" "$TMP/plot" "$SECTIONS" <<'EOF'
import sys, statistics, os
resf, mems, forks, gens, chains, fanout, reps, plotdir, sections = sys.argv[1:]
sections = set(sections.split(','))
cur = ['0']
gens, fanout = int(gens), int(fanout)
R = {}
for line in open(resf):
    f = line.split()
    if len(f) < 2:
        continue
    R.setdefault((int(f[0]), f[1]), []).append([float(x) if x.replace('.', '', 1).lstrip('-').isdigit() else x for x in f[2:]])
def get(size, key, i=-1):
    v = R.get((size, key))
    return v[i] if v else []
def pct(v, p):	# nearest rank
    v = sorted(v)
    if not v:
        return None
    k = max(1, -(-len(v) * p // 100))
    return v[int(k) - 1]
sizes = []
for s in mems.split(','):
    import subprocess
    sizes.append(int(subprocess.check_output(['numfmt', '--from=iec', s]).decode()) >> 20)
def ms(x, d=2):
    return '-' if x is None else f'{x / 1000:.{d}f}'
def mib(kib, d=1):
    return '-' if kib is None else f'{kib / 1024:.{d}f}'
rows = []	# (label, target, [cell per size], verdict per size or None)
def row(label, target, cells, verdict=None):
    if cur[0] in sections:
        rows.append((label, target, cells, verdict))
def sect(t):
    cur[0] = t.split('.')[0]
    if cur[0] in sections:
        rows.append((t, None, None, None))
def ok(b):
    return None if b is None else ('ok' if b else 'MISSED')

sect(f'1. latency: {forks} forks of a test=count parent, 1 child each, child stopped before the next')
def both(s, key, lim):	# the verdict on p50 and on p99
    v = get(s, key)
    if s != 256 or not v:
        return None
    return f'p50 {ok(pct(v, 50) <= lim)}, p99 {ok(pct(v, 99) <= lim)}'
row('parent pause p50 / p99 / max, ms', '<= 1 ms @256M',
    [f'{ms(pct(get(s, "pause"), 50))} / {ms(pct(get(s, "pause"), 99))} / {ms(max(get(s, "pause"), default=None))}' for s in sizes],
    [both(s, 'pause', 1000) for s in sizes])
row('  first fork (freeze: memslot swap), ms', '', [ms(get(s, 'pause')[0] if get(s, 'pause') else None) for s in sizes])
def compaction(s):	# a later fork after which the parent holds 1 layer: it compacted
    p = get(s, 'pause'); n = get(s, 'nlayers')
    c = [p[i] for i in range(1, min(len(p), len(n))) if n[i] == 1]
    return c
def later(s):
    p = get(s, 'pause'); n = get(s, 'nlayers')
    return [p[i] for i in range(1, min(len(p), len(n))) if n[i] != 1]
row('  later forks (delta layer), p50 / max, ms', '', [f'{ms(pct(later(s), 50))} / {ms(max(later(s), default=None))}' for s in sizes])
row('  forks that compacted 32 layers (O(RAM)), ms', '', [' '.join(ms(x) for x in compaction(s)) or '-' for s in sizes])
row('fork request -> child running p50 / p99, ms', '<= 2 ms @256M',
    [f'{ms(pct(get(s, "total"), 50))} / {ms(pct(get(s, "total"), 99))}' for s in sizes],
    [both(s, 'total', 2000) for s in sizes])
row('  of which after the parent resumed, p50, ms', '', [ms(pct([t - p for t, p in zip(get(s, 'total'), get(s, 'pause'))], 50)) for s in sizes])
row('PUT /vm/fork HTTP wall p50 / p99, ms', '', [f'{ms(pct(get(s, "wall"), 50))} / {ms(pct(get(s, "wall"), 99))}' for s in sizes])
row('  (GET /metrics HTTP wall p50, ms)', '', [ms(pct(get(s, 'http_get_metrics'), 50)) for s in sizes])
def tr(s, i):
    v = get(s, 'trace')
    return [v[j] for j in range(i, len(v) - len(v) % 4, 4)] if v else []
row(f'  traced forks ({len(tr(sizes[0], 3))}): children that came from the pool', '',
    [f'{int(sum(tr(s, 3)))} of {len(tr(s, 3))}' if tr(s, 0) else '- (no perf)' for s in sizes])
row('  child: hand-off sent -> received / -> VM runs (ack), p50 ms', '',
    [' / '.join(ms(pct(tr(s, i), 50)) for i in (1, 2)) if tr(s, 0) else '-' for s in sizes])
row('  child exec -> ready (ld.so, libs, main), p50 ms', 'off path if pooled',
    [ms(pct(tr(s, 0), 50)) if tr(s, 0) else '-' for s in sizes])
row('pool: spare processes the parent keeps', '', [str(int(get(s, 'pool_at_start')[0])) if get(s, 'pool_at_start') else '-' for s in sizes])
row('`mvmm fork` CLI wall p50 (5 forks), ms', '', [ms(pct(get(s, 'cli_wall'), 50)) for s in sizes])
row('parent layers after all forks: n / MiB', '', [f'{int(get(s, "lat_parent_layers")[0])} / {mib(get(s, "lat_parent_layers")[1] / 1024)}' if get(s, 'lat_parent_layers') else '-' for s in sizes])

for p in (1, 10):
    sect(f'2. memory: 2 children each writing {p} % of RAM after the fork (test=forkmem), per child')
    def w(s): 
        v = get(s, f'mem{p}_written_kib'); return v[0] if v else None
    row('written by each child, MiB', '', [mib(w(s)) for s in sizes])
    def rng(s, key):
        v = get(s, key)
        return '-' if not v else ' / '.join(mib(x) for x in v)
    row('child PSS (whole VMM process), MiB', '<= 1.1 x written + 0.5', [rng(s, f'mem{p}_child_pss') for s in sizes],
        [ok(max(get(s, f'mem{p}_child_pss')) <= 1.1 * w(s) + 512) if get(s, f'mem{p}_child_pss') else None for s in sizes])
    row('child private (USS), MiB', '<= 1.1 x written + 0.5', [rng(s, f'mem{p}_child_priv') for s in sizes],
        [ok(max(get(s, f'mem{p}_child_priv')) <= 1.1 * w(s) + 512) if get(s, f'mem{p}_child_priv') else None for s in sizes])
    def withspare(s):
        return [a + b for a, b in zip(get(s, f'mem{p}_child_pss'), get(s, f'mem{p}_child_spare_pss'))]
    row('child PSS + its pool spare process(es), MiB', '<= 1.1 x written + 0.5',
        [' / '.join(mib(x) for x in withspare(s)) + f' ({int(sum(get(s, f"mem{p}_child_spare_n")))} spares)' if get(s, f'mem{p}_child_spare_n') else '-' for s in sizes],
        [ok(max(withspare(s)) <= 1.1 * w(s) + 512) if get(s, f'mem{p}_child_spare_n') and sum(get(s, f'mem{p}_child_spare_n')) else None for s in sizes])
    row('  guest-RAM copies (anon in RAM maps), MiB', '<= 1.1 x written + 0.5', [rng(s, f'mem{p}_child_ram_anon') for s in sizes],
        [ok(max(get(s, f'mem{p}_child_ram_anon')) <= 1.1 * w(s) + 512) if get(s, f'mem{p}_child_ram_anon') else None for s in sizes])
    row('  guest-RAM PSS (copies + shared share), MiB', '', [rng(s, f'mem{p}_child_ram_pss') for s in sizes])
    row('  VMM process private (not RAM), MiB', '', [rng(s, f'mem{p}_child_vmm_priv') for s in sizes])
    row('  VMM process PSS (not RAM: + binary, libraries), MiB', '',
        [' / '.join(mib(a - b) for a, b in zip(get(s, f'mem{p}_child_pss'), get(s, f'mem{p}_child_ram_pss'))) or '-' for s in sizes])
    row('  time until the copies stopped growing, ms', '', [str(int(get(s, f'mem{p}_settle_ms')[0])) if get(s, f'mem{p}_settle_ms') else '-' for s in sizes])
    row('parent pause, 1st fork (freeze), ms', '', [ms((get(s, f'mem{p}_fork1_pause') or [None])[0]) for s in sizes])
    def lay(s, k, i):
        v = get(s, k); return v[i] if v else None
    row('parent memfds after 1st fork: base / layers, MiB', '', [f'{mib(lay(s, f"mem{p}_layers1", 0) and lay(s, f"mem{p}_layers1", 0) / 1024)} / {mib(lay(s, f"mem{p}_layers1", 1) is not None and lay(s, f"mem{p}_layers1", 1) / 1024)}' for s in sizes])
    row('2nd fork of the parent (region dirty): pause, ms', '', [ms((get(s, f'mem{p}_fork2_pause') or [None])[0]) for s in sizes])
    row('  parent\'s private RAM copies ~0.3 s before it, MiB', '', [mib(lay(s, f'mem{p}_parent', 2)) for s in sizes])
    row('  copied into the new layer, MiB', '~ those (it writes on)', [mib((get(s, f'mem{p}_fork2_copy_kib') or [None])[0]) for s in sizes])
    row('  parent memfds after it: base / layers, MiB', '', [f'{mib(lay(s, f"mem{p}_layers2", 0) and lay(s, f"mem{p}_layers2", 0) / 1024)} / {mib(lay(s, f"mem{p}_layers2", 1) is not None and lay(s, f"mem{p}_layers2", 1) / 1024)}' for s in sizes])

sect(f'3. fork-of-fork: generation g forked after 0.5 s of writing 1 % of RAM; median of {chains} chain(s)')
def gen(s, g, i):
    v = R.get((s, f'gen{g}'))
    return statistics.median(x[i] for x in v) if v else None
for g in range(1, gens + 1):
    row(f'gen {g:2d}: pause / child running / HTTP, ms', 'flat' if g == 1 else '',
        [f'{ms(gen(s, g, 0))} / {ms(gen(s, g, 1))} / {ms(gen(s, g, 2))}' for s in sizes])
def flat(s, i):
    v = [gen(s, g, i) for g in range(1, gens + 1) if gen(s, g, i) is not None]
    return v
def flatness(s, i):
    v = flat(s, i)
    if len(v) < 4:
        return None
    a = statistics.median(v[:len(v) // 2]); b = statistics.median(v[len(v) // 2:])
    return b / a if a else None
row('later half / first half (pause, child), x', 'flat: <= 1.5x',
    [f'{flatness(s, 0) or 0:.2f} / {flatness(s, 1) or 0:.2f}' for s in sizes],
    [ok(flatness(s, 0) is not None and flatness(s, 0) <= 1.5 and (flatness(s, 1) or 0) <= 1.5) if flat(s, 0) else None for s in sizes])
def newlayer(s):	# gen 1 forks a VM that never forked: a freeze, nothing copied
    v = [x[3] for g in range(2, gens + 1) for x in R.get((s, f'gen{g}'), [])]
    return mib(statistics.median(v) / 1024) if v else '-'
row('new layer per fork, gen >= 2, p50, MiB (layers held by the last)', '~ 1 % of RAM',
    [f'{newlayer(s)} ({int(gen(s, gens, 4)) if gen(s, gens, 4) else "-"})' for s in sizes])

sect(f'4. fan-out: {fanout} children in one PUT /vm/fork (test=count parent)')
def fan(s, i):
    v = get(s, 'fan'); return v[i] if v else None
row('total wall (HTTP) / per child, ms', '', [f'{ms(fan(s, 0), 0)} / {ms(fan(s, 0) and fan(s, 0) / fanout, 1)}' for s in sizes])
row('  per child: first 10 / last 10 spawned, ms', '', [f'{ms(fan(s, 11), 0)} / {ms(fan(s, 12), 0)}' for s in sizes])
row('parent pause, ms', '', [ms(fan(s, 1)) for s in sizes])
row('children running / alive after 1 s', '', [f'{fan(s, 3) and int(fan(s, 3))} / {fan(s, 4) and int(fan(s, 4))}' for s in sizes])
row('sum of PSS, parent + children, MiB', '', [mib(fan(s, 5), 0) for s in sizes])
row('  + pool spares: count / PSS, MiB', '', [f'{fan(s, 13) and int(fan(s, 13))} / {mib(fan(s, 14), 0)}' for s in sizes])
row('  PSS per child / private per child, MiB', '', [f'{mib(fan(s, 6) and fan(s, 6) / fanout)} / {mib(fan(s, 7) and fan(s, 7) / fanout)}' for s in sizes])
row('system memory growth (anon+shmem+kernel), MiB', '', [mib(fan(s, 8), 0) for s in sizes])

sect(f'5. baselines, same run (median of {reps}; memcpy at the measured bandwidth)')
def med(s, k):
    v = get(s, k); return statistics.median(v) if v else None
row('process fork(), 4 KiB pages: in parent / child runs, ms', '', [f'{ms(med(s, "base_fork4k_parent"))} / {ms(med(s, "base_fork4k_child"))}' for s in sizes])
row('process fork(), MADV_HUGEPAGE: in parent / child runs, ms', '', [f'{ms(med(s, "base_forkthp_parent"))} / {ms(med(s, "base_forkthp_child"))}' for s in sizes])
row('  (THP actually backing it, MiB)', '', [mib((get(s, 'base_thp_kib') or [None])[0], 0) for s in sizes])
row('full copy of RAM at memcpy bandwidth, ms', '', [f'{s / (get(s, "base_memcpy_mbs")[0] / 1.048576) * 1000:.1f} ({get(s, "base_memcpy_mbs")[0] / 1000:.1f} GB/s)' if get(s, 'base_memcpy_mbs') else '-' for s in sizes])
row('full copy into fresh memory (page faults), ms', '', [f'{get(s, "base_copy_fresh_ms")[0]:.0f}' if get(s, 'base_copy_fresh_ms') else '-' for s in sizes])
row('bare KVM VM creation (VM, slot, irqchip, PIT, vCPU), ms', '', [ms(med(s, 'base_kvm1')) for s in sizes])
row('  VM / memslot / irqchip+PIT / vCPU, ms', '', [' / '.join(ms(med(s, f'base_kvm{i}')) for i in (2, 3, 4, 5)) for s in sizes])
row('pagemap scan of all RAM (as a later fork does), ms', '', [ms(med(s, 'base_pagemap')) for s in sizes])
ex = get(0, 'base_exec_mvmm'); et = get(0, 'base_exec_true'); nl = get(0, 'nr_libs')
row(f'spawn+exec+exit: mvmm ({int(nl[0]) if nl else "?"} libs) / /bin/true, ms', '',
    [f'{ms(statistics.median(ex))} / {ms(statistics.median(et))}' if ex else '-' for s in sizes])

# Render.
w0 = max(len(r[0]) for r in rows if r[2] is not None) + 1
wt = max(len(r[1] or '') for r in rows) + 1
cw = [max([len(f'{s} MiB')] + [len(r[2][i]) + (len(r[3][i]) + 3 if r[3] and r[3][i] else 0) for r in rows if r[2]]) + 2 for i, s in enumerate(sizes)]
hdr = f'{"":<{w0}}{"target":<{wt}}' + ''.join(f'{(str(s) + " MiB") if s < 1024 else (str(s // 1024) + " GiB"):>{cw[i]}}' for i, s in enumerate(sizes))
bs = get(0, 'busy_start')
fo = [x[0] for x in R.get((0, 'foreign'), [])]
print(f'mvmm fork benchmark; {os.cpu_count()} CPUs, {bs[0]:.0f} % busy before the start' if bs else '',
      f'; other VMMs running at the section starts: {" ".join(str(int(x)) for x in fo)}' if fo else '',
      f'; {get(0, "runtime_s")[0]:.0f} s' if get(0, 'runtime_s') else '', sep='')
print(hdr)
for label, target, cells, verdict in rows:
    if cells is None:
        print(label)
        continue
    line = f'{label:<{w0}}{target or "":<{wt}}'
    for i, c in enumerate(cells):
        if verdict and verdict[i]:
            c = f'{c} [{verdict[i]}]'
        line += f'{c:>{cw[i]}}'
    print(line)
checks = []
for k in ('fork_fail', 'console_fail', 'stuck'):
    for v in R.get((0, k), []):
        checks.append(f'{k} {" ".join(str(x) for x in v)}')
for s in sizes:
    if R.get((s, 'gen_fail')):
        checks.append(f'{s} MiB: fork-of-fork chain broke at generation {R[(s, "gen_fail")]}')
    lc = get(s, 'lat_left_children')
    if lc and lc[0]:
        checks.append(f'{s} MiB: {int(lc[0])} child processes of the latency parent left after stopping them')
lp = get(0, 'left_procs'); ls = get(0, 'left_sockets')
if lp and lp[0]:
    checks.append(f'{int(lp[0])} VMM processes still alive at the end')
if ls and ls[0]:
    checks.append(f'{int(ls[0])} API sockets left in the runtime dir')
print('checks: ' + ('all forks succeeded, no forkmem FAIL, nothing left behind' if not checks else '; '.join(checks)))

# Data for the plot: pause and child-running per fork, per size; generations.
os.makedirs(plotdir, exist_ok=True)
for s in sizes:
    with open(f'{plotdir}/lat{s}', 'w') as f:
        for i, (p, t) in enumerate(zip(get(s, 'pause'), get(s, 'total'))):
            f.write(f'{i + 1} {p / 1000} {t / 1000}\n')
    with open(f'{plotdir}/gen{s}', 'w') as f:
        for g in range(1, gens + 1):
            if gen(s, g, 0) is not None:
                f.write(f'{g} {gen(s, g, 0) / 1000} {gen(s, g, 1) / 1000}\n')
EOF

if [ -n "$PLOT" ]; then
	lat="" gen=""
	for s in "${SIZES[@]}"; do
		m=$(mib_of "$s")
		[ -s "$TMP/plot/lat$m" ] &&
			lat+="'$TMP/plot/lat$m' u 1:2 w lp t 'pause $s', '' u 1:3 w lp t 'child running $s', "
		[ -s "$TMP/plot/gen$m" ] &&
			gen+="'$TMP/plot/gen$m' u 1:2 w lp t 'pause $s', '' u 1:3 w lp t 'child running $s', "
	done
	if [ -z "$lat$gen" ]; then
		say "--plot: nothing to plot (sections 1 and 3 did not run)"
	else
		n=0
		[ -n "$lat" ] && n=$((n + 1))
		[ -n "$gen" ] && n=$((n + 1))
		cmd="set terminal png size 1000,$((n * 400)); set output '$PLOT'; set multiplot layout $n,1;
			set logscale y; set ylabel 'ms'; set key outside right;"
		[ -n "$lat" ] && cmd+="set title 'fork latency per fork (each child stopped before the next)';
			set xlabel 'fork #'; plot ${lat%, }, 1 w l lw 2 lc rgb 'gray50' t 'target: pause 1 ms',
			2 w l lw 2 lc rgb 'red' t 'target: child 2 ms';"
		[ -n "$gen" ] && cmd+="set title 'fork of fork by generation (median of $CHAINS)';
			set xlabel 'generation'; plot ${gen%, };"
		gnuplot -e "$cmd unset multiplot"
		echo "plot: $PLOT"
	fi
fi
