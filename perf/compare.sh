#!/usr/bin/env bash
# Side-by-side comparison in one run on one machine, same bench, same workload:
#   1. memcached 1.6 (one thread, pinned to CPU 0) over kernel UDP, bench pinned to CPU 1
#   2. dpcached (one worker on lcore 0) over memif, bench on lcore 1
#   3. dpcached at half of its measured peak, open loop (latency under load)
#   4. the bench's own ceiling: dpcache-bench --reflect on lcore 0 over memif
# Workload: 16-byte keys, 32-byte values, 1M keys, 90 % GET, uniform, prefilled.
# Prints the ratio and writes perf/results/compare.json (+ one JSON per run).
#
# usage: perf/compare.sh [BUILD (build/release)] [DURATION_S (10)]
# env:   COMPARE_KEYS (1000000) COMPARE_MC_WINDOW (64) COMPARE_DPC_WINDOW (256) COMPARE_SKIP_REFLECT
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-build/release}
dur=${2:-10}
keys=${COMPARE_KEYS:-1000000}
mc_win=${COMPARE_MC_WINDOW:-64}
dpc_win=${COMPARE_DPC_WINDOW:-256}
out=${COMPARE_OUT:-$PERF_ROOT/perf/results}
mkdir -p "$out"
perf_init "$build"

work=(--keys "$keys" --key-size 16 --value-size 32 --get-ratio 0.9 --dist uniform
      --warmup 2 --duration "$dur" --quiet)
status=0

perf_log "machine: $(perf_machine)"
perf_log "1/4 memcached over kernel UDP (window $mc_win)"
if perf_start_memcached; then
	mc_desc=$PERF_SRV_DESC
	perf_bench_udp "${work[@]}" --prefill --outstanding "$mc_win" --label memcached-udp \
		--json "$out/compare-memcached.json" || status=1
	perf_stop
else
	status=1
fi

perf_log "2/4 dpcached over memif (window $dpc_win)"
if perf_start_dpcached 1; then
	dpc_desc=$PERF_SRV_DESC
	perf_bench_memif "${work[@]}" --prefill --outstanding "$dpc_win" --label dpcached-memif \
		--json "$out/compare-dpcached.json" || status=1
	peak=$(perf_json_get "$out/compare-dpcached.json" 'int(d["results"]["req_per_s"])' 2>/dev/null || echo 0)
	if [ "${peak:-0}" -gt 0 ]; then
		half=$((peak / 2))
		perf_log "3/4 dpcached at half of peak: open loop, $half req/s"
		perf_bench_memif "${work[@]}" --rate "$half" --label dpcached-memif-half-load \
			--json "$out/compare-dpcached-half.json" || status=1
	fi
	perf_stop
else
	status=1
fi

if [ -z "${COMPARE_SKIP_REFLECT:-}" ]; then
	perf_log "4/4 bench ceiling: reflector over memif (window $dpc_win)"
	if perf_start_reflector --value-size 32; then
		perf_bench_memif "${work[@]}" --get-ratio 1 --outstanding "$dpc_win" --label bench-ceiling-reflect \
			--json "$out/compare-reflect.json" || status=1
		perf_stop
	fi
fi

python3 - "$out" "$(perf_machine)" "${mc_desc:-}" "${dpc_desc:-}" <<'EOF'
import json, os, sys, time
out, machine, mc_desc, dpc_desc = sys.argv[1:5]
def load(name):
    p = os.path.join(out, name)
    return json.load(open(p)) if os.path.exists(p) else None
def summary(d, desc=""):
    if not d:
        return None
    r = d["results"]
    return {"server": desc or d["label"], "req_per_s": r["req_per_s"], "gets_per_s": r["gets_per_s"],
            "hit_ratio": r["hit_ratio"], "loss_ratio": r["loss_ratio"], "errors": r["errors"],
            "latency_us": r["latency_us"], "outstanding": d["workload"]["outstanding"],
            "offered_rate": r["offered_rate"]}
mc, dpc = load("compare-memcached.json"), load("compare-dpcached.json")
half, refl = load("compare-dpcached-half.json"), load("compare-reflect.json")
res = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine,
       "workload": (dpc or mc or {}).get("workload"),
       "memcached_udp": summary(mc, mc_desc), "dpcached_memif": summary(dpc, dpc_desc),
       "dpcached_memif_half_load": summary(half), "bench_ceiling_reflect": summary(refl)}
if mc and dpc and mc["results"]["req_per_s"] > 0:
    res["ratio_req_per_s"] = dpc["results"]["req_per_s"] / mc["results"]["req_per_s"]
    res["ratio_gets_per_s"] = dpc["results"]["gets_per_s"] / max(mc["results"]["gets_per_s"], 1e-9)
json.dump(res, open(os.path.join(out, "compare.json"), "w"), indent=1)
def line(name, s):
    if not s:
        print(f"  {name:28s} (not measured)")
        return
    l = s["latency_us"]
    print(f"  {name:28s} {s['req_per_s']/1e6:8.3f} M req/s  {s['gets_per_s']/1e6:8.3f} M GET/s  "
          f"hits {100*s['hit_ratio']:6.2f} %  loss {100*s['loss_ratio']:.4f} %  "
          f"p50 {l.get('p50',0):8.2f} us  p99 {l.get('p99',0):8.2f} us  p99.9 {l.get('p99_9',0):8.2f} us")
print(f"compare ({machine}):")
line("memcached, kernel UDP", res["memcached_udp"])
line("dpcached, memif", res["dpcached_memif"])
line("dpcached, memif, half load", res["dpcached_memif_half_load"])
line("bench ceiling (reflector)", res["bench_ceiling_reflect"])
if "ratio_req_per_s" in res:
    print(f"  dpcached / memcached: {res['ratio_req_per_s']:.1f}x requests/s, "
          f"{res['ratio_gets_per_s']:.1f}x GETs/s")
print(f"  JSON: {os.path.join(out, 'compare.json')}")
EOF
exit $status
