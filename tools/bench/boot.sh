#!/bin/bash
# SPDX-License-Identifier: MIT
# Boot latency of `mvmm run` with the embedded test guest: time to the guest's banner and to
# process exit (test=boot, 64 MiB), next to a plain fork()+exec() of /bin/true measured in the
# same run.  Prints a table; with --plot FILE.png also draws one (needs gnuplot).
#   tools/bench/boot.sh [path/to/mvmm] [runs] [--plot out.png]
set -euo pipefail
MVMM=${1:-build/mvmm}
RUNS=${2:-30}
PLOT=""
[ "${3:-}" = "--plot" ] && PLOT=${4:?--plot needs a file}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Times in microseconds, one per line, into $TMP/<name>.
for i in $(seq "$RUNS"); do
	t0=$(date +%s%N)
	/bin/true
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000 )) >>"$TMP/forkexec"

	# Banner time: the first console line reaches a pipe; exit time: the process is gone.
	t0=$(date +%s%N)
	"$MVMM" run --mem 64M --cmdline "test=boot" </dev/null 2>/dev/null | {
		read -r first
		t1=$(date +%s%N)
		echo $(( (t1 - t0) / 1000 )) >>"$TMP/banner"
		case $first in "mvmm-guest: boot ok"*) ;; *) echo "unexpected first line: $first" >&2 ;; esac
		cat >/dev/null
	}
	t2=$(date +%s%N)
	echo $(( (t2 - t0) / 1000 )) >>"$TMP/exit"
done

stats() {	# p50 p90 min of a file of numbers
	sort -n "$1" | awk '{ a[NR] = $1 }
		END { p50 = int((NR + 1) / 2); p90 = int(NR * 0.9); if (p90 < 1) p90 = 1;
		      printf "%8d %8d %8d", a[p50], a[p90], a[1] }'
}
printf '%-40s %8s %8s %8s\n' "boot latency, $RUNS runs (us)" p50 p90 min
printf '%-40s %s\n' "baseline: fork+exec /bin/true" "$(stats "$TMP/forkexec")"
printf '%-40s %s\n' "mvmm run -> guest banner" "$(stats "$TMP/banner")"
printf '%-40s %s\n' "mvmm run -> exit (test=boot)" "$(stats "$TMP/exit")"

if [ -n "$PLOT" ]; then
	command -v gnuplot >/dev/null || { echo "--plot needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
	paste "$TMP/forkexec" "$TMP/banner" "$TMP/exit" >"$TMP/data"
	gnuplot -e "set terminal png size 800,500; set output '$PLOT'; set ylabel 'us';
		set xlabel 'run'; plot '$TMP/data' u 1 w lp t 'fork+exec', '' u 2 w lp t 'banner',
		'' u 3 w lp t 'exit'"
	echo "plot: $PLOT"
fi
