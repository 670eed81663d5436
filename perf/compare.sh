#!/usr/bin/env bash
# Side-by-side comparison in one run on one machine, same bench, same workload:
#   1. memcached 1.6 (one thread, pinned to CPU 0) over kernel UDP, bench pinned to CPU 1
#   2. dpcached (one worker on lcore 0) over memif, bench on lcore 1: closed loop (peak)
#   3. dpcached at half of that peak, open loop (Poisson): latency under load
#   4. the bench's ceiling over memif: dpcache-bench --reflect on lcore 0 (a responder
#      that keeps no data), bench on lcore 1
#   5. the bench's ceiling on one core: --dry-run (bench + reflector in one thread over a
#      net_ring pair; no second core, no memif)
# Workload: 16-byte keys, 32-byte values, 1M keys, 90 % GET, uniform, prefilled.
# dpcached's own figures come from its counters over the measured runs only: busy-poll
# ns per request (counters read before and after the peak run) and its in-server latency
# (RX burst -> TX burst of the reply, lat.h; histograms restarted with `dpcachectl config
# set latency_epoch` before each run, so the prefill is not in them).
# The store's reclaimer: its wake-ups and grace periods a second over the same spans (its
# counters, timestamps taken beside the counter reads).
# Prints the ratios and the targets of issues 4 and 12, writes perf/results/compare.json (+ one
# JSON per run, and commands.txt: every command as run).  Every run is bounded
# (`timeout`), every server stopped by PID.  Busy polling: about 5 x (DURATION + 2) s.
#
# usage: perf/compare.sh [BUILD (build/release)] [DURATION_S (5)]
# env:   COMPARE_KEYS (1000000) COMPARE_MC_WINDOW (64) COMPARE_DPC_WINDOW (256)
#        COMPARE_SKIP_REFLECT=1 (skip 4 and 5) COMPARE_OUT (perf/results)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-build/release}
dur=${2:-5}
keys=${COMPARE_KEYS:-1000000}
mc_win=${COMPARE_MC_WINDOW:-64}
dpc_win=${COMPARE_DPC_WINDOW:-256}
out=${COMPARE_OUT:-$PERF_ROOT/perf/results}
mkdir -p "$out"
perf_init "$build"
PERF_CMDLOG=$out/commands.txt
: >"$PERF_CMDLOG"
rm -f "$out"/compare-*.json "$out"/compare-*.json.t "$out"/compare-psi.txt

work=(--keys "$keys" --key-size 16 --value-size 32 --get-ratio 0.9 --dist uniform
      --warmup 1 --duration "$dur" --quiet)
status=0
# psi NAME: CPU pressure over the last 10 s (other load on the machine during the run)
psi() { echo "$1 $(perf_psi)" >>"$out/compare-psi.txt"; }

perf_log "machine: $(perf_machine); CPU pressure now $(perf_psi) %"
perf_log "1/5 memcached over kernel UDP (window $mc_win)"
if perf_start_memcached; then
	mc_desc=$PERF_SRV_DESC
	perf_bench_udp "${work[@]}" --prefill --outstanding "$mc_win" --label memcached-udp \
		--json "$out/compare-memcached.json" || status=1
	psi memcached
	perf_stop
else
	status=1
fi

perf_log "2/5 dpcached over memif (window $dpc_win)"
if perf_start_dpcached 1; then
	dpc_desc=$PERF_SRV_DESC
	# the prefill alone first, so that dpcached's own figures below cover the measured run only
	perf_bench_memif "${work[@]}" --prefill --warmup 0 --duration 0.01 --outstanding "$dpc_win" \
		--label dpcached-prefill >/dev/null || status=1
	perf_dpc_ctl config set latency_epoch 1
	perf_dpc_stats "$out/compare-dpcached-stats0.json"
	date +%s.%N >"$out/compare-dpcached-stats0.json.t"
	perf_bench_memif "${work[@]}" --outstanding "$dpc_win" --label dpcached-memif \
		--json "$out/compare-dpcached.json" || status=1
	psi dpcached
	perf_dpc_stats "$out/compare-dpcached-stats.json"
	date +%s.%N >"$out/compare-dpcached-stats.json.t"
	peak=$(perf_json_get "$out/compare-dpcached.json" 'int(d["results"]["req_per_s"])' 2>/dev/null || echo 0)
	if [ "${peak:-0}" -gt 0 ]; then
		half=$((peak / 2))
		perf_log "3/5 dpcached at half of peak: open loop, $half req/s"
		perf_dpc_ctl config set latency_epoch 2
		perf_dpc_stats "$out/compare-dpcached-half-stats0.json"
	date +%s.%N >"$out/compare-dpcached-half-stats0.json.t"
		perf_bench_memif "${work[@]}" --rate "$half" --label dpcached-memif-half-load \
			--json "$out/compare-dpcached-half.json" || status=1
		psi dpcached_half
		perf_dpc_stats "$out/compare-dpcached-half-stats.json"
	date +%s.%N >"$out/compare-dpcached-half-stats.json.t"
	fi
	perf_stop
else
	status=1
fi

if [ -z "${COMPARE_SKIP_REFLECT:-}" ]; then
	perf_log "4/5 bench ceiling: reflector over memif (window $dpc_win)"
	if perf_start_reflector --value-size 32; then
		perf_bench_memif "${work[@]}" --get-ratio 1 --outstanding "$dpc_win" \
			--label bench-ceiling-reflect --json "$out/compare-reflect.json" || status=1
		psi reflect
		perf_stop
	fi
	perf_log "5/5 bench ceiling on one core: --dry-run (window $dpc_win)"
	perf_bench_dry "${work[@]}" --get-ratio 1 --outstanding "$dpc_win" \
		--label bench-ceiling-dry-run --json "$out/compare-dry-run.json" || status=1
	psi dry_run
fi

python3 - "$out" "$(perf_machine)" "${mc_desc:-}" "${dpc_desc:-}" <<'EOF'
import json, os, sys, time
out, machine, mc_desc, dpc_desc = sys.argv[1:5]
def load(name):
    p = os.path.join(out, name)
    return json.load(open(p)) if os.path.exists(p) else None
psi = {}
if os.path.exists(os.path.join(out, "compare-psi.txt")):
    for ln in open(os.path.join(out, "compare-psi.txt")):
        k, v = ln.split()
        psi[k] = float(v)
def summary(d, desc="", key=""):
    if not d:
        return None
    r = d["results"]
    return {"server": desc or d["label"], "req_per_s": r["req_per_s"], "gets_per_s": r["gets_per_s"],
            "hit_ratio": r["hit_ratio"], "loss_ratio": r["loss_ratio"], "errors": r["errors"],
            "latency_us": r["latency_us"], "outstanding": d["workload"]["outstanding"],
            "offered_rate": r["offered_rate"], "bench_cpu_share": r["cpu_share"],
            "bench_cpu_ns_per_req": r["cpu_ns_per_req"], "cpu_pressure_avg10": psi.get(key, -1)}
mc, dpc = load("compare-memcached.json"), load("compare-dpcached.json")
half, refl = load("compare-dpcached-half.json"), load("compare-reflect.json")
dry = load("compare-dry-run.json")
res = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine,
       "workload": (dpc or mc or {}).get("workload"),
       "memcached_udp": summary(mc, mc_desc, "memcached"),
       "dpcached_memif": summary(dpc, dpc_desc, "dpcached"),
       "dpcached_memif_half_load": summary(half, "", "dpcached_half"),
       "bench_ceiling_reflect": summary(refl, "", "reflect"),
       "bench_ceiling_dry_run": summary(dry, "", "dry_run")}
def server(key, d, s0name, s1name):
    # dpcached's own figures over one run: TSC cycles of its busy poll iterations per frame
    # received (counters before and after it; the whole life if there is no "before"), in ns
    # at the bench's TSC rate (same machine), and its in-server latency over that run
    s1, s0 = load(s1name), load(s0name)
    if not (s1 and d and res.get(key)):
        return
    t = dict(s1["total"])
    if s0:
        t = {k: v - s0["total"].get(k, 0) if isinstance(v, int) else v for k, v in t.items()}
    if t["rx_packets"]:
        res[key]["server_busy_ns_per_req"] = t["poll_cycles"] / t["rx_packets"] / d["tsc_hz"] * 1e9
        res[key]["server_frames_per_busy_poll"] = t["rx_packets"] / max(t["poll_busy"], 1)
    # the store's reclaimer over the same span (builds with the reclaim_* counters)
    st0 = (s0 or {}).get("store", {}).get("total", {})
    st1 = s1.get("store", {}).get("total", {})
    try:
        span = float(open(os.path.join(out, s1name + ".t")).read()) - \
               float(open(os.path.join(out, s0name + ".t")).read())
    except (OSError, ValueError):
        span = 0
    if span > 0 and "reclaim_wakeups" in st1:
        res[key]["reclaim_wakeups_per_s"] = (st1["reclaim_wakeups"] - st0.get("reclaim_wakeups", 0)) / span
        res[key]["reclaim_grace_periods_per_s"] = \
            (st1["reclaim_grace_periods"] - st0.get("reclaim_grace_periods", 0)) / span
        res[key]["nospace"] = st1.get("nospace", 0) - st0.get("nospace", 0)
    if "latency_ns" in s1:
        res[key]["server_latency_us"] = {k: v / 1e3 if k != "samples" else v
                                         for k, v in s1["latency_ns"]["total"].items()}
server("dpcached_memif", dpc, "compare-dpcached-stats0.json", "compare-dpcached-stats.json")
server("dpcached_memif_half_load", half, "compare-dpcached-half-stats0.json",
       "compare-dpcached-half-stats.json")
if mc and dpc and mc["results"]["req_per_s"] > 0:
    res["ratio_req_per_s"] = dpc["results"]["req_per_s"] / mc["results"]["req_per_s"]
    res["ratio_gets_per_s"] = dpc["results"]["gets_per_s"] / max(mc["results"]["gets_per_s"], 1e-9)
tg = {}
if dpc:
    tg["dpcached_gets_per_s_ge_8M"] = dpc["results"]["gets_per_s"] >= 8e6
if "ratio_gets_per_s" in res:
    tg["ratio_ge_20x"] = res["ratio_gets_per_s"] >= 20
if half and "p99" in half["results"]["latency_us"]:
    tg["half_load_p99_lt_20us"] = half["results"]["latency_us"]["p99"] < 20
# issue 12
d = res["dpcached_memif"] or {}
if "server_busy_ns_per_req" in d:
    tg["server_ns_per_req_le_100"] = d["server_busy_ns_per_req"] <= 100
if dpc and refl and refl["results"]["req_per_s"] > 0:
    res["ratio_to_reflector"] = dpc["results"]["req_per_s"] / refl["results"]["req_per_s"]
    tg["ge_0_9x_reflector"] = res["ratio_to_reflector"] >= 0.9
if "ratio_req_per_s" in res:
    tg["ratio_ge_25x"] = res["ratio_req_per_s"] >= 25
h = res["dpcached_memif_half_load"] or {}
if h.get("server_latency_us", {}).get("samples"):
    tg["half_load_server_p99_le_5us"] = h["server_latency_us"]["p99"] <= 5
res["targets"] = tg
json.dump(res, open(os.path.join(out, "compare.json"), "w"), indent=1)
def line(name, s):
    if not s:
        print(f"  {name:27s} (not measured)")
        return
    l = s["latency_us"]
    print(f"  {name:27s} {s['req_per_s']/1e6:7.3f} M req/s {s['gets_per_s']/1e6:7.3f} M GET/s  "
          f"hits {100*s['hit_ratio']:6.2f} %  loss {100*s['loss_ratio']:.4f} %  "
          f"p50 {l.get('p50',0):7.2f}  p99 {l.get('p99',0):7.2f}  p99.9 {l.get('p99_9',0):8.2f} us  "
          f"[bench cpu {100*s['bench_cpu_share']:3.0f} %, psi {s['cpu_pressure_avg10']:.0f} %]")
print(f"compare ({machine}):")
line("memcached, kernel UDP", res["memcached_udp"])
line("dpcached, memif", res["dpcached_memif"])
line("dpcached, memif, half load", res["dpcached_memif_half_load"])
line("bench ceiling, reflector", res["bench_ceiling_reflect"])
line("bench ceiling, dry run", res["bench_ceiling_dry_run"])
d = res["dpcached_memif"] or {}
if "server_busy_ns_per_req" in d:
    print(f"  dpcached's own cost: {d['server_busy_ns_per_req']:.1f} ns of busy polling per request "
          f"({d['server_frames_per_busy_poll']:.1f} frames per busy poll), i.e. at most "
          f"{1e3 / d['server_busy_ns_per_req']:.2f} M req/s on its core")
for key, what in (("dpcached_memif", "peak"), ("dpcached_memif_half_load", "half load")):
    l = (res[key] or {}).get("server_latency_us")
    if l and l.get("samples"):
        print(f"  dpcached in-server latency, {what:9s}: p50 {l['p50']:6.2f}  p99 {l['p99']:6.2f}  "
              f"p99.9 {l['p99_9']:7.2f}  max {l['max']:8.2f} us  ({l['samples']} requests, "
              f"RX burst -> TX burst of the reply)")
for key, what in (("dpcached_memif", "peak"), ("dpcached_memif_half_load", "half load")):
    d = res[key] or {}
    if "reclaim_wakeups_per_s" in d:
        print(f"  dpcached's reclaimer, {what:9s}: {d['reclaim_wakeups_per_s']:6.0f} wake-ups/s, "
              f"{d['reclaim_grace_periods_per_s']:6.0f} grace periods/s, {d['nospace']} NOSPACE answers")
if "ratio_req_per_s" in res:
    print(f"  dpcached / memcached: {res['ratio_req_per_s']:.1f}x requests/s, "
          f"{res['ratio_gets_per_s']:.1f}x GETs/s")
if "ratio_to_reflector" in res:
    print(f"  dpcached / bench reflector: {res['ratio_to_reflector']:.2f}x requests/s")
names = {"dpcached_gets_per_s_ge_8M": "dpcached >= 8 M GETs/s, server on one core",
         "ratio_ge_20x": "dpcached >= 20x memcached (GETs/s)",
         "half_load_p99_lt_20us": "p99 < 20 us at half of peak load",
         "server_ns_per_req_le_100": "dpcached <= 100 ns busy polling per request",
         "ge_0_9x_reflector": "dpcached >= 0.9x the reflector, same run",
         "ratio_ge_25x": "dpcached >= 25x memcached (requests/s)",
         "half_load_server_p99_le_5us": "in-server p99 <= 5 us at half load"}
for k, v in tg.items():
    print(f"  target {names[k]:45s} {'reached' if v else 'NOT reached'}")
low = [k for k, s in res.items() if isinstance(s, dict) and "bench_cpu_share" in s
       and (s["bench_cpu_share"] < 0.95 or s["cpu_pressure_avg10"] > 5)]
if low:
    print(f"  WARNING: other load on the machine during {', '.join(low)} (bench thread ran "
          f"< 95 % of the time or CPU pressure > 5 %): figures are disturbed; rerun when quiet")
print(f"  JSON: {os.path.join(out, 'compare.json')}")
EOF
exit $status
