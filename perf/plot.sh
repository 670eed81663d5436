#!/usr/bin/env bash
# One latency-versus-throughput plot of every sweep found (perf/sweep.sh output):
# p50 and p99 per target, log-log, to compare targets whose peaks differ 10-fold.
# usage: perf/plot.sh [RESULTS_DIR (perf/results)] -> RESULTS_DIR/latency-vs-throughput.png
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/results}
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not installed" >&2; exit 1; }
plots=()
for t in dpcached memcached reflect; do
	f=$dir/sweep-$t.dat
	[ -s "$f" ] || continue
	case $t in
		dpcached) name="dpcached, memif" ;;
		memcached) name="memcached -t 1, kernel UDP" ;;
		reflect) name="bench reflector, memif" ;;
	esac
	plots+=("\"$f\" using (\$2/1e6):4 with linespoints title \"$name p50\"")
	plots+=("\"$f\" using (\$2/1e6):6 with linespoints dashtype 2 title \"$name p99\"")
done
[ ${#plots[@]} -gt 0 ] || { echo "plot.sh: no sweep-*.dat in $dir" >&2; exit 1; }
spec=$(IFS=,; echo "${plots[*]}")
png=$dir/latency-vs-throughput.png
gnuplot <<GP
set terminal pngcairo size 960,620 noenhanced
set output "$png"
set title "latency vs throughput, open loop (Poisson), 16 B keys, 32 B values, 90 % GET; \
server on one core" font ",10"
set xlabel "achieved throughput (M requests/s, log scale)"
set ylabel "latency (us, log scale)"
set logscale xy
set grid
set key outside bottom center horizontal maxrows 2
plot $spec
GP
echo "plot: $png"
