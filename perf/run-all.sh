#!/usr/bin/env bash
# `make bench`: every benchmark in order, results (JSON, tables, PNG) under perf/results/.
#   1. table_bench --quick (perf/table_bench.c, one core, no polling), if built (not with
#      BENCH_QUICK=1)
#   2. compare.sh: memcached vs dpcached side by side (+ half-load latency, bench ceilings)
#   3. breakdown.sh: where dpcached's time per request goes (variants vs the reflector)
#   4. sweep.sh for dpcached and memcached, then plot.sh: latency-versus-throughput PNGs
# Bounded: every run has a fixed duration and runs under `timeout`; busy polling on both
# cores in all about 3 minutes (BENCH_QUICK=1: about 1 minute), in runs of a few seconds.
# usage: perf/run-all.sh [BUILD (build/release)]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/release}
out=$here/results
mkdir -p "$out"
if [ -n "${BENCH_QUICK:-}" ]; then
	dur=2 steps=4 sdur=1
else
	dur=5 steps=8 sdur=2
fi
fail=0

if [ -x "$build/bin/table_bench" ] && [ -z "${BENCH_QUICK:-}" ]; then
	echo "== table_bench --quick (engine, one core)"
	timeout 600 "$build/bin/table_bench" --quick --json "$out/table_bench.json" || fail=1
fi
echo "== compare (dpcached vs memcached, ${dur} s each)"
"$here/compare.sh" "$build" "$dur" || fail=1
if [ -z "${BENCH_QUICK:-}" ]; then
	echo "== breakdown (dpcached's cost per request)"
	"$here/breakdown.sh" "$build" 3 || fail=1
fi
echo "== sweep dpcached"
"$here/sweep.sh" dpcached "$build" auto "$steps" "$sdur" || fail=1
echo "== sweep memcached"
"$here/sweep.sh" memcached "$build" auto "$steps" "$sdur" || fail=1
"$here/plot.sh" "$out" || fail=1
echo "results in $out"
[ $fail -eq 0 ]
