#!/bin/bash
# SPDX-License-Identifier: MIT
# virtio-blk throughput: sequential (1 MiB) and random (4 KiB) reads and writes through the
# test guest (test=blkbench, guest/blkbench.c) next to the same I/O done by a host process on
# the same image file in the same run.  Prints a table; with --plot FILE.png also draws one
# (needs gnuplot).
#
#   tools/bench/blk.sh [path/to/mvmm] [--size 256M] [--dir DIR] [--depth 32] [--ms 2000]
#                      [--mib N] [--runs 5] [--modes seqread,seqwrite,randread,randwrite]
#                      [--host fio|uring] [--cache warm|cold] [--pin] [-v] [--plot out.png]
#
# Every run lasts --ms on both sides (or moves --mib MiB, sequential I/O wrapping around the
# image, if that ends first); guest and host runs alternate, and each side's median of --runs
# runs (by MiB/s) is shown.  Both sides go through the page cache, because the VMM opens the
# image without O_DIRECT (devices/virtio/blk.c): --cache warm (default) reads the image into
# it before every run, --cache cold drops it (POSIX_FADV_DONTNEED after a sync).  The host
# side is fio (io_uring, buffered) when installed, else tools/bench/blkhost.c (the guest's
# block sequence through liburing, compiled here); --host picks one.  --pin puts the VMM's
# event-loop thread (all of virtio-blk's I/O) and the vCPU thread on different CPUs.  The
# guest's own columns: VM exits for notifications per 1000 requests, what one cost the vCPU
# (from the QueueNotify store to the next instruction), and the share of the time its CPL3
# loop was busy (reaping, refilling and kicking; the rest it waited for the VMM).  -v prints
# every run.
set -euo pipefail

MVMM=build/mvmm
SIZE=256M DIR="" DEPTH=32 MIB="" MS=2000 RUNS=5 MODES=seqread,seqwrite,randread,randwrite
HOST="" CACHE=warm PIN=0 VERBOSE=0 PLOT=""
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then MVMM=$1; shift; fi
while [ $# -gt 0 ]; do
	case $1 in
	--size) SIZE=${2:?}; shift ;;
	--dir) DIR=${2:?}; shift ;;
	--depth) DEPTH=${2:?}; shift ;;
	--mib) MIB=${2:?}; shift ;;
	--ms) MS=${2:?}; shift ;;
	--runs) RUNS=${2:?}; shift ;;
	--modes) MODES=${2:?}; shift ;;
	--host) HOST=${2:?}; shift ;;
	--cache) CACHE=${2:?}; shift ;;
	--pin) PIN=1 ;;
	-v) VERBOSE=1 ;;
	--plot) PLOT=${2:?--plot needs a file}; shift ;;
	-h|--help) sed -n '3,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "blk.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
	esac
	shift
done
case $CACHE in warm|cold) ;; *) echo "blk.sh: --cache warm or cold" >&2; exit 64 ;; esac
[ "$MS" -gt 0 ] || [ -n "$MIB" ] || { echo "blk.sh: --ms 0 needs --mib" >&2; exit 64; }
[ -x "$MVMM" ] || { echo "blk.sh: $MVMM is not an executable (build first)" >&2; exit 66; }
if [ -n "$PLOT" ] && ! command -v gnuplot >/dev/null; then
	echo "blk.sh: --plot needs gnuplot (apt-get install gnuplot-nox)" >&2
	exit 69
fi

HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "$HOST" ]; then
	if command -v fio >/dev/null; then
		HOST=fio
	else
		echo "blk.sh: fio not found (apt-get install fio); using tools/bench/blkhost.c" >&2
		HOST=uring
	fi
fi
TMP=$(mktemp -d)
IMGDIR=${DIR:-$TMP}
IMG=$IMGDIR/blkbench-$$.img
trap 'rm -rf "$TMP"; rm -f "$IMG"' EXIT
case $HOST in
fio)
	command -v fio >/dev/null || { echo "blk.sh: --host fio: apt-get install fio" >&2; exit 69; }
	HOSTDESC="fio $(fio --version | sed 's/^fio-//') io_uring" ;;
uring)
	${CC:-cc} -O2 -Wall -o "$TMP/blkhost" "$HERE/blkhost.c" -luring || {
		echo "blk.sh: cannot build blkhost.c (needs a C compiler and liburing-dev)" >&2
		exit 69
	}
	HOSTDESC="blkhost.c io_uring, same block sequence" ;;
*) echo "blk.sh: --host fio or uring" >&2; exit 64 ;;
esac

# A fully written image, so reads find data rather than holes.
bytes=$(numfmt --from=iec "$SIZE")
head -c "$bytes" /dev/urandom >"$IMG"
sync "$IMG"
FS=$(df --output=fstype "$IMG" | tail -n 1)
SEED=$((0x6d766d6d626c6b))		# BLKBENCH_SEED in guest/blkbench.h
# Without --mib a run is bounded by time only.
VOLUME=$(( ${MIB:-1048576} << 20 ))

prep() {	# the page cache state every run starts from
	sync "$IMG"
	if [ "$CACHE" = cold ]; then
		dd if="$IMG" iflag=nocache count=0 status=none
	else
		cat "$IMG" >/dev/null
	fi
}

# Thread ids in creation order are: main, event loop, vCPU 0 (vm_start() in vmm/vm.c).
pin_threads() {	# pid
	local t=() i
	for i in $(seq 200); do
		mapfile -t t < <(ls "/proc/$1/task" 2>/dev/null | sort -n)
		[ "${#t[@]}" -ge 3 ] && break
		sleep 0.005
	done
	[ "${#t[@]}" -ge 3 ] || { echo "blk.sh: --pin: no vCPU thread in $1" >&2; return; }
	taskset -p -c 1 "${t[1]}" >/dev/null
	taskset -p -c 0 "${t[2]}" >/dev/null
}

# One guest run: prints "<MiB/s> <IOPS> <bs> <depth> <kicks per 1k requests> <busy %>
# <us per kick>".
guest_run() {	# mode
	local pid line
	"$MVMM" run --disk "$IMG" --mem 256M --serial stdio --cmdline "test=blkbench \
		bench_mode=$1 bench_depth=$DEPTH bench_ms=$MS bench_mib=$((VOLUME >> 20))" \
		</dev/null >"$TMP/out" 2>&1 &
	pid=$!
	[ "$PIN" = 1 ] && pin_threads "$pid"
	wait "$pid" || { echo "blk.sh: guest run failed:" >&2; cat "$TMP/out" >&2; return 1; }
	line=$(grep "^blkbench: $1 " "$TMP/out") || { cat "$TMP/out" >&2; return 1; }
	# blkbench: MODE bs B depth D bytes N ns T iops I mibps M kicks K kick_ns X guest_busy_pct P
	awk '{ printf "%s %s %s %s %.1f %s %.1f\n", $14, $12, $4, $6,
		$8 ? $16 * 1000 / ($8 / $4) : 0, $20, $18 / 1000 }' <<<"$line"
}

# One host run of the same pattern: prints "<MiB/s> <IOPS>".
host_run() {	# mode bs depth
	local rw limit
	if [ "$HOST" = uring ]; then
		"$TMP/blkhost" "$IMG" "$1" "$2" "$3" "$VOLUME" "$MS" "$SEED" | awk '{ print $14, $12 }'
		return
	fi
	case $1 in seqread) rw=read ;; seqwrite) rw=write ;; *) rw=$1 ;; esac
	limit=(--io_size="$VOLUME")
	[ -z "$MIB" ] && limit=(--time_based)
	[ "$MS" -gt 0 ] && limit+=(--runtime="${MS}ms")
	# Terse v3: fields 7/8 are read KiB/s and IOPS, 48/49 the same for writes.
	fio --name=blk --filename="$IMG" --rw="$rw" --bs="$2" --iodepth="$3" --ioengine=io_uring \
		--direct=0 --invalidate=0 --size="$bytes" "${limit[@]}" --norandommap \
		--randrepeat=0 --gtod_reduce=1 --iodepth_batch_submit="$3" \
		--iodepth_batch_complete_max="$3" --output-format=terse --terse-version=3 |
		awk -F';' -v w="$1" '$1 == 3 {
			if (w ~ /write/) { bw = $48; io = $49 } else { bw = $7; io = $8 }
			printf "%.1f %d\n", bw / 1024, io }'
}

median() {	# file of lines: the line with the median first field
	sort -n "$1" | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
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
busy=$(cpu_busy)
[ "$busy" -gt 10 ] &&
	echo "blk.sh: warning: the CPUs were $busy% busy before the start: other work on this" \
		"machine will skew the numbers" >&2

: >"$TMP/table"
for mode in ${MODES//,/ }; do
	: >"$TMP/g"
	: >"$TMP/h"
	for run in $(seq "$RUNS"); do
		prep
		g=$(guest_run "$mode")
		echo "$g" >>"$TMP/g"
		read -r _ _ bs depth _ <<<"$g"
		prep
		h=$(host_run "$mode" "$bs" "$depth")
		echo "$h" >>"$TMP/h"
		[ "$VERBOSE" = 1 ] && echo "run $run $mode: guest MiB/s IOPS bs depth kicks/1k" \
			"busy% us/kick: $g; host MiB/s IOPS: $h" >&2
	done
	read -r gm gi bs depth kicks busy kick_us <<<"$(median "$TMP/g")"
	read -r hm hi <<<"$(median "$TMP/h")"
	echo "$mode $bs $depth $gm $gi $hm $hi $kicks $busy $kick_us" >>"$TMP/table"
done

limit="${MS} ms"
[ -n "$MIB" ] && limit="$MIB MiB or $limit"
[ "$PIN" = 1 ] && limit="$limit, loop and vCPU threads pinned apart"
echo "virtio-blk vs host: $SIZE image on $FS, buffered I/O, page cache $CACHE, runs of $limit;" \
	"host: $HOSTDESC; median of $RUNS runs"
awk 'function size(b) { return b % 1048576 ? (b % 1024 ? b : b / 1024 "K") : b / 1048576 "M" }
	BEGIN { printf "%-10s %5s %5s %11s %10s %10s %10s %6s %12s %8s %10s\n", "mode", "bs",
		"depth", "guest MiB/s", "guest IOPS", "host MiB/s", "host IOPS", "ratio",
		"kicks/1k req", "us/kick", "guest busy" }
	{ printf "%-10s %5s %5s %11.1f %10d %10.1f %10d %6.2f %12.1f %8.1f %9s%%\n", $1,
		size($2), $3, $4, $5, $6, $7, ($6 > 0 ? $4 / $6 : 0), $8, $10, $9 }' "$TMP/table"
awk '$1 ~ /^seq/ { r = $6 > 0 ? $4 / $6 : 0
	printf "target: %s at %.0f%% of the host (>= 90%%): %s\n", $1, r * 100,
		(r >= 0.9 ? "met" : "MISSED") }' "$TMP/table"

if [ -n "$PLOT" ]; then
	gnuplot -e "set terminal png size 1000,450; set output '$PLOT';
		set multiplot layout 1,2 title 'virtio-blk through the guest vs the host' .
			' ($CACHE page cache, host: $HOST)';
		set style data histograms; set style histogram clustered gap 1;
		set style fill solid 0.8 border -1; set boxwidth 0.9; set grid ytics;
		set yrange [0:*]; set ylabel 'MiB/s'; set key top right;
		plot '$TMP/table' u 4:xtic(1) t 'guest', '' u 6 t 'host';
		set ylabel 'guest / host'; set key top right;
		plot '$TMP/table' u (\$6 > 0 ? \$4 / \$6 : 0):xtic(1) t 'ratio' lc rgb '#4477aa',
			0.9 w l lw 2 lc rgb 'red' t 'target 0.9'"
	echo "plot: $PLOT"
fi
