#!/usr/bin/env bash
# Rate sweep: open loop (Poisson arrivals) at increasing rates against one
# target; writes one JSON per rate, a table (sweep-TARGET.dat) and a
# latency-versus-throughput plot (sweep-TARGET.png, gnuplot).
#
# usage: perf/sweep.sh TARGET [BUILD (build/release)] [MAX_RATE (auto)] [STEPS (8)] [DURATION_S (2)]
#   TARGET: dpcached   dpcached, one worker on lcore 0, over memif; bench on lcore 1
#           memcached  memcached -t 1 pinned to CPU 0, kernel UDP; bench pinned to CPU 1
#           reflect    the bench's own responder over memif (ceiling of the bench)
#   MAX_RATE: "auto" (or empty) first measures the peak in closed loop (window
#   SWEEP_WINDOW, 256 over memif, 64 over UDP) and sweeps up to 1.1 x that peak;
#   or a rate (K/M suffixes).  Rates are MAX_RATE * i / STEPS, i = 1..STEPS.
# Workload (env SWEEP_ARGS adds flags): SWEEP_KEYS (1M) keys, 16 B keys, 32 B values,
# 90 % GET (reflect: 100 %), prefilled once (with the peak run).  Each point: 0.5 s
# warm-up + DURATION_S, under `timeout`; the server is stopped by PID at the end.
# Busy polling in all: about (STEPS + 1) x (DURATION_S + 1.5) s.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

target=${1:?usage: perf/sweep.sh dpcached|memcached|reflect [BUILD] [MAX_RATE] [STEPS] [DURATION_S]}
build=${2:-build/release}
max=${3:-auto}
steps=${4:-8}
dur=${5:-2}
case $target in
	dpcached|reflect) win=${SWEEP_WINDOW:-256} ;;
	memcached) win=${SWEEP_WINDOW:-64} ;;
	*) echo "sweep.sh: unknown target $target" >&2; exit 2 ;;
esac
keys=${SWEEP_KEYS:-1000000}
out=${SWEEP_OUT:-$PERF_ROOT/perf/results}
rm -rf "$out/sweep-$target"
mkdir -p "$out/sweep-$target"
perf_init "$build"
PERF_CMDLOG=$out/sweep-$target/commands.txt

# shellcheck disable=SC2206
extra=(${SWEEP_ARGS:-})
work=(--keys "$keys" --key-size 16 --value-size 32 --get-ratio 0.9 --warmup 0.5 --duration "$dur"
      --quiet "${extra[@]}")

case $target in
	dpcached) perf_start_dpcached 1 || exit 1; run() { perf_bench_memif "$@"; } ;;
	memcached) perf_start_memcached || exit 1; run() { perf_bench_udp "$@"; } ;;
	reflect) perf_start_reflector --value-size 32 || exit 1; work+=(--get-ratio 1)
		 run() { perf_bench_memif "$@"; } ;;
esac

status=0
prefill=(--prefill)
[ "$target" = reflect ] && prefill=()
if [ -z "$max" ] || [ "$max" = auto ]; then
	perf_log "sweep $target: peak first (closed loop, window $win)"
	run "${work[@]}" "${prefill[@]}" --outstanding "$win" --label "sweep-$target-peak" \
		--json "$out/sweep-$target/peak.json" | sed -n 2p >&2 || status=1
	peak=$(perf_json_get "$out/sweep-$target/peak.json" 'int(d["results"]["req_per_s"])' 2>/dev/null)
	[ "${peak:-0}" -gt 0 ] || { perf_log "no peak measured"; exit 1; }
	max_n=$((peak * 11 / 10))
else
	max_n=$(python3 -c "import sys; s=sys.argv[1]; m={'k':1e3,'K':1e3,'m':1e6,'M':1e6}; \
print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(float(s)))" "$max")
	if [ ${#prefill[@]} -gt 0 ]; then
		perf_log "prefill"
		run "${work[@]}" --prefill --duration 0.1 --warmup 0 >/dev/null || exit 1
	fi
fi
perf_log "sweep $target ($PERF_SRV_DESC) up to $max_n req/s in $steps steps of $dur s"

for i in $(seq 1 "$steps"); do
	rate=$((max_n * i / steps))
	f=$out/sweep-$target/rate-$rate.json
	run "${work[@]}" --rate "$rate" --label "sweep-$target" --json "$f" | sed -n 2p >&2 || status=1
	echo "$rate $(perf_psi)" >>"$out/sweep-$target/psi.txt"
done

dat=$out/sweep-$target.dat
python3 - "$out/sweep-$target" "$dat" <<'EOF'
import glob, json, os, sys
d, dat = sys.argv[1], sys.argv[2]
psi = {}
if os.path.exists(os.path.join(d, "psi.txt")):
    for ln in open(os.path.join(d, "psi.txt")):
        r, v = ln.split()
        psi[float(r)] = float(v)
rows = []
for f in glob.glob(os.path.join(d, "rate-*.json")):
    j = json.load(open(f))
    r = j["results"]; l = r["latency_us"]
    rows.append((r["offered_rate"], r["req_per_s"], r["loss_ratio"], l.get("p50", 0), l.get("p90", 0),
                 l.get("p99", 0), l.get("p99_9", 0), l.get("p99_99", 0), r["cpu_share"],
                 psi.get(r["offered_rate"], -1)))
rows.sort()
with open(dat, "w") as o:
    o.write("# offered_req_s achieved_req_s loss_ratio p50_us p90_us p99_us p99_9_us p99_99_us "
            "bench_cpu_share cpu_pressure_pct\n")
    for r in rows:
        o.write("%.0f %.0f %.6f %.3f %.3f %.3f %.3f %.3f %.3f %.1f\n" % r)
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
