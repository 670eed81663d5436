#!/usr/bin/env bash
# Multi-core scaling: dpcached with 1, 2, 4, 8 workers (one memif queue pair and one table
# partition each), the bench steering every key to its owner (--steer W: partition p ->
# UDP port 11211+p and memif queue p), server and bench on separate CPUs.  Per run: the
# total rate (bench), each worker's rate (its rx_packets over the measured run, from
# dpcachectl before and after), the ratio to 1 worker, dpcached's busy-poll ns/request,
# the bench's CPU share.  Workload: 16 B keys, 32 B values, 90 % GET, uniform, prefilled.
#
# usage: perf/scaling.sh [BUILD (build/release)] [SECONDS (3)] [WORKER COUNTS ("1 2 4 8")]
# env:   SCALING_SRV_CPUS   CPUs for the workers (default: all but the last CPU); a run with
#                           more workers than CPUs puts several lcores on one CPU (they
#                           time-share it: that measures the mechanism, not scaling)
#        SCALING_BENCH_CPUS CPUs for the bench (default: the last CPU)
#        SCALING_BENCH_LCORES bench lcores (default: 1 per bench CPU; at most the worker count
#                           of a run, since each bench lcore needs partitions of its own)
#        SCALING_KEYS (1000000) SCALING_WINDOW (256 per bench lcore) SCALING_OUT (perf/results)
# Writes SCALING_OUT/scaling.json and scaling/ (per-run JSON).  Busy polling: about
# runs x (SECONDS + 4) s.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-build/release}
dur=${2:-3}
counts=${3:-1 2 4 8}
ncpu=$(nproc)
srv_cpus=${SCALING_SRV_CPUS:-0-$((ncpu > 1 ? ncpu - 2 : 0))}
cli_cpus=${SCALING_BENCH_CPUS:-$((ncpu - 1))}
keys=${SCALING_KEYS:-1000000}
win=${SCALING_WINDOW:-256}
out=${SCALING_OUT:-$PERF_ROOT/perf/results}
mkdir -p "$out/scaling"
rm -f "$out"/scaling/*
perf_init "$build"
PERF_CMDLOG=$out/scaling/commands.txt
: >"$PERF_CMDLOG"

# cpu_count LIST: how many CPUs a taskset-style list ("0-3,8") names
cpu_count() {
	python3 -c 'import sys
n = 0
for p in sys.argv[1].split(","):
    a, _, b = p.partition("-")
    n += int(b or a) - int(a) + 1
print(n)' "$1"
}
nbench_cpus=$(cpu_count "$cli_cpus")
work=(--keys "$keys" --key-size 16 --value-size 32 --get-ratio 0.9 --dist uniform --quiet)
status=0
perf_log "machine: $(perf_machine); workers on CPU(s) $srv_cpus, bench on CPU(s) $cli_cpus"

for w in $counts; do
	bl=${SCALING_BENCH_LCORES:-$nbench_cpus}
	[ "$bl" -gt "$w" ] && bl=$w
	perf_log "$w worker(s) on CPU(s) $srv_cpus, bench: $bl lcore(s) on CPU(s) $cli_cpus, --steer $w"
	PERF_SRV_LCORES="--lcores=(0-$((w - 1)))@($srv_cpus)" PERF_SRV_CPUS=$srv_cpus \
		perf_start_dpcached "$w" || { status=1; continue; }
	blc="--lcores=(0-$((bl - 1)))@($cli_cpus)"
	PERF_CLI_LCORES=$blc perf_bench_memif "${work[@]}" --steer "$w" --prefill --warmup 0 \
		--duration 0.01 --outstanding "$win" >/dev/null || status=1
	perf_dpc_stats "$out/scaling/w$w-stats0.json"
	PERF_CLI_LCORES=$blc perf_bench_memif "${work[@]}" --steer "$w" --warmup 0.5 \
		--duration "$dur" --outstanding "$win" --label "scaling-w$w" \
		--json "$out/scaling/w$w.json" >/dev/null || status=1
	perf_dpc_stats "$out/scaling/w$w-stats1.json"
	echo "$w $bl $(perf_psi)" >>"$out/scaling/runs.txt"
	perf_stop
done

python3 - "$out" "$(perf_machine)" "$srv_cpus" "$cli_cpus" <<'EOF'
import json, os, sys, time
out, machine, srv_cpus, cli_cpus = sys.argv[1:5]
rows = []
for ln in open(os.path.join(out, "scaling", "runs.txt")) if os.path.exists(os.path.join(out, "scaling", "runs.txt")) else []:
    w, bl, psi = ln.split()
    w, bl = int(w), int(bl)
    try:
        b = json.load(open(os.path.join(out, "scaling", f"w{w}.json")))
        s0 = json.load(open(os.path.join(out, "scaling", f"w{w}-stats0.json")))
        s1 = json.load(open(os.path.join(out, "scaling", f"w{w}-stats1.json")))
    except (OSError, ValueError):
        rows.append({"workers": w, "failed": True})
        continue
    r = b["results"]
    secs = r["seconds"] + b["workload"]["warmup_s"]   # the counters cover warm-up + measurement
    per = [(x1["rx_packets"] - x0["rx_packets"]) / secs for x0, x1 in zip(s0["per_worker"], s1["per_worker"])]
    rx = s1["total"]["rx_packets"] - s0["total"]["rx_packets"]
    cyc = s1["total"]["poll_cycles"] - s0["total"]["poll_cycles"]
    errs = sum(r["errors"].values())
    rows.append({"workers": w, "bench_lcores": bl, "req_per_s": r["req_per_s"], "per_worker_req_per_s": per,
                 "server_busy_ns_per_req": cyc / rx / b["tsc_hz"] * 1e9 if rx else None,
                 "bench_cpu_share": r["cpu_share"], "lost": r["lost"], "errors": errs,
                 "p50_us": r["latency_us"].get("p50"), "p99_us": r["latency_us"].get("p99"),
                 "cpu_pressure_avg10": float(psi)})
base = next((x["req_per_s"] for x in rows if x.get("workers") == 1 and not x.get("failed")), None)
for x in rows:
    if base and not x.get("failed"):
        x["ratio_to_1"] = x["req_per_s"] / base
json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine, "server_cpus": srv_cpus,
           "bench_cpus": cli_cpus, "runs": rows}, open(os.path.join(out, "scaling.json"), "w"), indent=1)
print(f"scaling ({machine}; workers on CPU(s) {srv_cpus}, bench on CPU(s) {cli_cpus}; --steer = workers):")
print("  workers  bench lcores   M req/s  x 1 worker  server ns/req  bench cpu  lost  errors  per worker M req/s")
for x in rows:
    if x.get("failed"):
        print(f"  {x['workers']:7d}  (failed)")
        continue
    ns = f"{x['server_busy_ns_per_req']:13.1f}" if x["server_busy_ns_per_req"] else f"{'-':>13s}"
    print(f"  {x['workers']:7d}  {x['bench_lcores']:12d}  {x['req_per_s']/1e6:8.3f}  {x.get('ratio_to_1', 0):10.2f}"
          f"  {ns}  {100*x['bench_cpu_share']:8.0f} %  {x['lost']:4d}  {x['errors']:6d}  "
          + " ".join(f"{v/1e6:.3f}" for v in x["per_worker_req_per_s"]))
print(f"  JSON: {os.path.join(out, 'scaling.json')}")
EOF
exit $status
