#!/usr/bin/env bash
# `make bench`: every benchmark in order, results as JSON under perf/results/.
#   1. table_bench (perf/table_bench.c), if built
#   2. compare.sh: memcached vs dpcached side by side (+ half-load latency, bench ceiling)
#   3. sweep.sh for dpcached and memcached: latency-versus-throughput plots
# usage: perf/run-all.sh [BUILD (build/release)]
# env: BENCH_QUICK=1 for short runs (3 s instead of 10 s, 5 sweep steps).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/release}
out=$here/results
mkdir -p "$out"
quick=${BENCH_QUICK:-}
dur=$([ -n "$quick" ] && echo 3 || echo 10)
steps=$([ -n "$quick" ] && echo 5 || echo 8)
fail=0

if [ -x "$build/bin/table_bench" ]; then
	echo "== table_bench"
	"$build/bin/table_bench" || fail=1
fi
echo "== compare (dpcached vs memcached, ${dur} s each)"
"$here/compare.sh" "$build" "$dur" || fail=1
echo "== sweep dpcached"
"$here/sweep.sh" dpcached "$build" "" "$steps" 3 || fail=1
echo "== sweep memcached"
"$here/sweep.sh" memcached "$build" "" "$steps" 3 || fail=1
echo "results in $out"
[ $fail -eq 0 ]
