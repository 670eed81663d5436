#!/usr/bin/env bash
# Rate sweep: open loop (Poisson arrivals) at increasing rates against one
# target; writes one JSON per rate, a table (sweep-TARGET.dat: offered,
# achieved, loss, p50, p90, p99, p99.9 in us) and a latency-versus-
# throughput plot (sweep-TARGET.png, gnuplot).
#
# usage: perf/sweep.sh TARGET [BUILD (build/release)] [MAX_RATE] [STEPS (8)] [DURATION_S (3)]
#   TARGET: dpcached   dpcached, one worker on lcore 0, over memif; bench on lcore 1
#           memcached  memcached -t 1 pinned to CPU 0, kernel UDP; bench pinned to CPU 1
#           reflect    the bench's own responder over memif (ceiling of the bench)
#   MAX_RATE defaults: dpcached 8M, memcached 400K, reflect 12M (K/M suffixes).
#   Rates are MAX_RATE * i / STEPS, i = 1..STEPS.
# Workload (env SWEEP_ARGS adds flags): 1M keys (SWEEP_KEYS), 16 B keys, 32 B values,
# 90 % GET, prefilled once before the first rate.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

target=${1:?usage: perf/sweep.sh dpcached|memcached|reflect [BUILD] [MAX_RATE] [STEPS] [DURATION_S]}
build=${2:-build/release}
case $target in
	dpcached) max=${3:-8M} ;;
	memcached) max=${3:-400K} ;;
	reflect) max=${3:-12M} ;;
	*) echo "sweep.sh: unknown target $target" >&2; exit 2 ;;
esac
steps=${4:-8}
dur=${5:-3}
keys=${SWEEP_KEYS:-1000000}
out=${SWEEP_OUT:-$PERF_ROOT/perf/results}
mkdir -p "$out/sweep-$target"
perf_init "$build"

max_n=$(python3 -c "import sys; s=sys.argv[1]; m={'k':1e3,'K':1e3,'m':1e6,'M':1e6}; \
print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(float(s)))" "$max")
# shellcheck disable=SC2206
extra=(${SWEEP_ARGS:-})
work=(--keys "$keys" --key-size 16 --value-size 32 --get-ratio 0.9 --warmup 1 --duration "$dur"
      --quiet "${extra[@]}")

case $target in
	dpcached) perf_start_dpcached 1 || exit 1; run() { perf_bench_memif "$@"; } ;;
	memcached) perf_start_memcached || exit 1; run() { perf_bench_udp "$@"; } ;;
	reflect) perf_start_reflector --value-size 32 || exit 1; work+=(--get-ratio 1)
		 run() { perf_bench_memif "$@"; } ;;
esac
perf_log "sweep $target ($PERF_SRV_DESC) up to $max_n req/s in $steps steps of $dur s"

if [ "$target" != reflect ]; then
	perf_log "prefill"
	run "${work[@]}" --prefill --duration 0.1 --warmup 0 >/dev/null || exit 1
fi
status=0
for i in $(seq 1 "$steps"); do
	rate=$((max_n * i / steps))
	f=$out/sweep-$target/rate-$rate.json
	run "${work[@]}" --rate "$rate" --label "sweep-$target" --json "$f" | sed -n 2p >&2 || status=1
done

dat=$out/sweep-$target.dat
python3 - "$out/sweep-$target" "$dat" <<'EOF'
import glob, json, os, sys
d, dat = sys.argv[1], sys.argv[2]
rows = []
for f in glob.glob(os.path.join(d, "rate-*.json")):
    j = json.load(open(f))
    r = j["results"]; l = r["latency_us"]
    rows.append((r["offered_rate"], r["req_per_s"], r["loss_ratio"], l.get("p50", 0), l.get("p90", 0),
                 l.get("p99", 0), l.get("p99_9", 0)))
rows.sort()
with open(dat, "w") as o:
    o.write("# offered_req_s achieved_req_s loss_ratio p50_us p90_us p99_us p99_9_us\n")
    for r in rows:
        o.write("%.0f %.0f %.6f %.3f %.3f %.3f %.3f\n" % r)
print(open(dat).read(), end="")
EOF

png=$out/sweep-$target.png
if command -v gnuplot >/dev/null; then
	gnuplot <<EOF || status=1
set terminal pngcairo size 900,560 noenhanced
set output "$png"
set title "$target: latency vs throughput (open loop, Poisson; ${PERF_SRV_DESC})" font ",10"
set xlabel "achieved throughput (M requests/s)"
set ylabel "latency (us, log scale)"
set logscale y
set grid
set key top left
plot "$dat" using (\$2/1e6):4 with linespoints title "p50", \
     "$dat" using (\$2/1e6):6 with linespoints title "p99", \
     "$dat" using (\$2/1e6):7 with linespoints title "p99.9"
EOF
	perf_log "plot: $png"
else
	perf_log "gnuplot not installed: no plot"
fi
exit $status
