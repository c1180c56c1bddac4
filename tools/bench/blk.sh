#!/bin/bash
# SPDX-License-Identifier: MIT
# virtio-blk throughput: sequential (1 MiB) and random (4 KiB) reads and writes through the
# test guest (test=blkbench, guest/blkbench.c) next to the same I/O done by a host process on
# the same image file in the same run.  Prints a table; with --plot FILE.png also draws one
# (needs gnuplot).
#
#   tools/bench/blk.sh [path/to/mvmm] [--size 256M] [--dir DIR] [--depth 32] [--mib N]
#                      [--ms 10000] [--runs 3] [--modes seqread,seqwrite,randread,randwrite]
#                      [--host fio|uring] [--cache warm|cold] [--plot out.png]
#
# Both sides use the page cache, because the VMM opens the image without O_DIRECT
# (devices/virtio/blk.c): --cache warm (default) reads the image into it before every run,
# --cache cold drops it (POSIX_FADV_DONTNEED, after a sync).  The host side is fio (io_uring,
# buffered) when installed, else tools/bench/blkhost.c (the guest's exact block sequence
# through liburing, compiled here); --host picks one.  Each side's median of --runs runs (by
# MiB/s) is shown.  The guest's own columns: VM exits for notifications per 1000 requests,
# and the share of the time its CPL3 loop was busy (the rest it waited for the VMM).
set -euo pipefail

MVMM=build/mvmm
SIZE=256M DIR="" DEPTH=32 MIB="" MS=10000 RUNS=3 MODES=seqread,seqwrite,randread,randwrite
HOST="" CACHE=warm PLOT=""
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
	--plot) PLOT=${2:?--plot needs a file}; shift ;;
	-h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "blk.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
	esac
	shift
done
case $CACHE in warm|cold) ;; *) echo "blk.sh: --cache warm or cold" >&2; exit 64 ;; esac
[ -x "$MVMM" ] || { echo "blk.sh: $MVMM is not an executable (build first)" >&2; exit 66; }

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
fio) command -v fio >/dev/null || { echo "blk.sh: --host fio: apt-get install fio" >&2; exit 69; }
     HOSTDESC="fio $(fio --version | sed 's/^fio-//'), io_uring" ;;
uring) ${CC:-cc} -O2 -Wall -o "$TMP/blkhost" "$HERE/blkhost.c" -luring ||
	{ echo "blk.sh: cannot build blkhost.c (needs a C compiler and liburing-dev)" >&2; exit 69; }
       HOSTDESC="blkhost.c, io_uring (same block sequence)" ;;
*) echo "blk.sh: --host fio or uring" >&2; exit 64 ;;
esac

# A fully written image, so reads find data rather than holes.
bytes=$(numfmt --from=iec "$SIZE")
head -c "$bytes" /dev/urandom >"$IMG"
sync "$IMG"
FS=$(df --output=fstype "$IMG" | tail -n 1)
SEED=$((0x6d766d6d626c6b))		# BLKBENCH_SEED in guest/blkbench.h

prep() {	# page cache state before every run
	sync "$IMG"
	if [ "$CACHE" = cold ]; then
		dd if="$IMG" iflag=nocache count=0 status=none
	else
		cat "$IMG" >/dev/null
	fi
}

# One guest run: prints "<MiB/s> <IOPS> <bs> <depth> <kicks per 1k requests> <busy %>".
guest_run() {	# mode
	local out line
	out=$("$MVMM" run --disk "$IMG" --mem 256M --serial stdio --cmdline \
		"test=blkbench bench_mode=$1 bench_depth=$DEPTH bench_ms=$MS ${MIB:+bench_mib=$MIB}" \
		</dev/null 2>&1) || { echo "blk.sh: guest run failed:" >&2; echo "$out" >&2; return 1; }
	line=$(grep "^blkbench: $1 " <<<"$out") || { echo "$out" >&2; return 1; }
	# blkbench: <mode> bs B depth D bytes N ns T iops I mibps M kicks K kick_ns X guest_busy_pct P
	awk '{ printf "%s %s %s %s %.1f %s\n", $14, $12, $4, $6, $8 ? $16 * 1000 / ($8 / $4) : 0, $20 }' \
		<<<"$line"
}

# One host run of the same pattern: prints "<MiB/s> <IOPS>".
host_run() {	# mode bs depth
	local volume=$((${MIB:-$((bytes >> 20))} << 20)) rw
	if [ "$HOST" = uring ]; then
		"$TMP/blkhost" "$IMG" "$1" "$2" "$3" "$volume" "$MS" "$SEED" |
			awk '{ print $14, $12 }'
		return
	fi
	case $1 in seqread) rw=read ;; seqwrite) rw=write ;; *) rw=$1 ;; esac
	# Terse v3: fields 7/8 read KiB/s and IOPS, 48/49 the same for writes.
	fio --name=blk --filename="$IMG" --rw="$rw" --bs="$2" --iodepth="$3" --ioengine=io_uring \
		--direct=0 --invalidate=0 --size="$bytes" --io_size="$volume" \
		--runtime="$(((MS + 999) / 1000))" --norandommap --randrepeat=0 --gtod_reduce=1 \
		--iodepth_batch_submit="$3" --iodepth_batch_complete_max="$3" \
		--output-format=terse --terse-version=3 |
		awk -F';' -v w="$1" '{ if ($1 != 3) next
			if (w ~ /write/) { bw = $48; io = $49 } else { bw = $7; io = $8 }
			printf "%.1f %d\n", bw / 1024, io }'
}

median() {	# file of lines; the line with the median first field
	sort -n "$1" | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

[ "$(awk '{ print ($1 > 0.5) }' /proc/loadavg)" = 1 ] &&
	echo "blk.sh: warning: load average $(cut -d' ' -f1 /proc/loadavg) before the start:" \
		"other work on this machine will skew the numbers" >&2

: >"$TMP/table"
for mode in ${MODES//,/ }; do
	: >"$TMP/g" ; : >"$TMP/h"
	for _ in $(seq "$RUNS"); do
		prep
		g=$(guest_run "$mode")
		echo "$g" >>"$TMP/g"
		read -r _ _ bs depth _ _ <<<"$g"
		prep
		host_run "$mode" "$bs" "$depth" >>"$TMP/h"
	done
	read -r gm gi bs depth kicks busy <<<"$(median "$TMP/g")"
	read -r hm hi <<<"$(median "$TMP/h")"
	echo "$mode $bs $depth $gm $gi $hm $hi $kicks $busy" >>"$TMP/table"
done

echo "virtio-blk vs host: $SIZE image on $FS ($IMGDIR), buffered I/O, page cache $CACHE;" \
	"host: $HOSTDESC; median of $RUNS runs"
awk 'function size(b) { return b % 1048576 ? (b % 1024 ? b : b / 1024 "K") : b / 1048576 "M" }
	BEGIN { printf "%-10s %8s %5s %11s %10s %10s %10s %7s %12s %10s\n", "mode", "bs",
		"depth", "guest MiB/s", "guest IOPS", "host MiB/s", "host IOPS", "ratio",
		"kicks/1k req", "guest busy" }
	{ printf "%-10s %8s %5s %11.1f %10d %10.1f %10d %7.2f %12.1f %9s%%\n", $1, size($2), $3, $4,
		$5, $6, $7, ($6 > 0 ? $4 / $6 : 0), $8, $9 }' "$TMP/table"
awk '$1 ~ /^seq/ { r = $6 > 0 ? $4 / $6 : 0
	printf "target: %s at %.0f%% of the host (>= 90%%): %s\n", $1, r * 100, (r >= 0.9 ? "met" : "MISSED") }' \
	"$TMP/table"

if [ -n "$PLOT" ]; then
	command -v gnuplot >/dev/null || { echo "--plot needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
	gnuplot -e "set terminal png size 1000,450; set output '$PLOT';
		set multiplot layout 1,2 title 'virtio-blk through the guest vs the host ($CACHE page cache, $HOST)';
		set style data histograms; set style histogram clustered gap 1; set style fill solid 0.8 border -1;
		set boxwidth 0.9; set grid ytics; set yrange [0:*]; set xtics nomirror;
		set ylabel 'MiB/s'; set key top right;
		plot '$TMP/table' u 4:xtic(1) t 'guest', '' u 6 t 'host';
		set ylabel 'guest / host'; unset key; set yrange [0:*];
		plot '$TMP/table' u (\$6 > 0 ? \$4 / \$6 : 0):xtic(1) t 'ratio' lc rgb '#4477aa', 0.9 w l dt 2 lc rgb 'red' t '90 %'"
	echo "plot: $PLOT"
fi
