#!/usr/bin/env bash
# Where dpcached's time per request goes: the same closed-loop load (16 B keys,
# 32 B values, 90 % GET, window 256, memif; server on lcore 0, bench on lcore 1)
# against variants that each remove one cost, and against the bench's reflector
# (no store, no protocol work: the memif + bench floor):
#   default-1M      dpcached as shipped, 1M keys (items far out of the CPU caches)
#   nosweep-1M      --maintain_budget=1: no background expiry sweep per poll iteration
#   default-10K     10K keys: items stay in the CPU caches (no DRAM miss per GET)
#   nosweep-10K     both
#   reflector       dpcache-bench --reflect
# For dpcached it also prints its own cost, from its counters: TSC cycles of busy
# poll iterations / frames received (robust to the bench's speed).  With
# BREAKDOWN_PROFILE=1 each dpcached variant is also sampled with `perf record -e
# cpu-clock` (2 s) and its top functions printed.
#
# usage: perf/breakdown.sh [BUILD (build/release)] [DURATION_S (3)]
# Writes perf/results/breakdown.json (BREAKDOWN_OUT).  Busy polling: about 5 x (DURATION + 2) s.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-build/release}
dur=${2:-3}
out=${BREAKDOWN_OUT:-$PERF_ROOT/perf/results}
mkdir -p "$out/breakdown"
rm -f "$out"/breakdown/*
perf_init "$build"
PERF_CMDLOG=$out/breakdown/commands.txt
profile=${BREAKDOWN_PROFILE:-}
[ -n "$profile" ] && ! command -v perf >/dev/null && { perf_log "perf not installed: no profile"; profile=; }

work=(--key-size 16 --value-size 32 --get-ratio 0.9 --outstanding 256 --warmup 1 --duration "$dur"
      --quiet)
status=0

variant() { # NAME KEYS [dpcached flags...]
	local name=$1 keys=$2 pr=
	shift 2
	PERF_DPC_ARGS="$*" perf_start_dpcached 1 || { status=1; return; }
	if [ -n "$profile" ]; then
		local dp
		dp=$(pgrep -P "$PERF_PID")
		( sleep "$(python3 -c "print(1.5 + $dur / 2 - 1)")"
		  timeout 10 perf record -q -e cpu-clock -F 2999 -o "$PERF_TMP/$name.perf" -p "$dp" \
			-- sleep 2 >/dev/null 2>&1 ) &
		pr=$!
	fi
	perf_bench_memif "${work[@]}" --keys "$keys" --prefill --label "breakdown-$name" \
		--json "$out/breakdown/$name.json" >/dev/null || status=1
	perf_dpc_stats "$out/breakdown/$name-stats.json"
	[ -n "$pr" ] && wait "$pr"
	perf_stop
	echo "$name $(perf_psi)" >>"$out/breakdown/psi.txt"
	if [ -n "$profile" ] && [ -f "$PERF_TMP/$name.perf" ]; then
		perf report -i "$PERF_TMP/$name.perf" --stdio --no-children --sort dso,symbol 2>/dev/null |
			grep -E '^ +[0-9]' | head -12 >"$out/breakdown/$name-profile.txt"
	fi
}

perf_log "breakdown: 5 runs of $dur s (+1 s warm-up)"
variant default-1M 1000000
variant nosweep-1M 1000000 --maintain_budget=1
variant default-10K 10000
variant nosweep-10K 10000 --maintain_budget=1
if perf_start_reflector --value-size 32; then
	perf_bench_memif "${work[@]}" --keys 1000000 --get-ratio 1 --label breakdown-reflector \
		--json "$out/breakdown/reflector.json" >/dev/null || status=1
	perf_stop
	echo "reflector $(perf_psi)" >>"$out/breakdown/psi.txt"
fi

python3 - "$out" "$(perf_machine)" <<'EOF'
import json, os, sys
out, machine = sys.argv[1:3]
d = os.path.join(out, "breakdown")
psi = dict(l.split() for l in open(os.path.join(d, "psi.txt"))) if os.path.exists(
    os.path.join(d, "psi.txt")) else {}
rows = []
print(f"breakdown ({machine}): closed loop, window 256, 16 B keys, 32 B values")
print(f"  {'variant':13s} {'M req/s':>8s} {'p50 us':>8s} {'server ns/req':>14s} "
      f"{'frames/poll':>11s} {'bench cpu':>9s} {'psi %':>6s}")
for name in ["default-1M", "nosweep-1M", "default-10K", "nosweep-10K", "reflector"]:
    p = os.path.join(d, name + ".json")
    if not os.path.exists(p):
        print(f"  {name:13s} (not measured)")
        continue
    j = json.load(open(p)); r = j["results"]
    row = {"variant": name, "req_per_s": r["req_per_s"], "p50_us": r["latency_us"].get("p50", 0),
           "bench_cpu_share": r["cpu_share"], "cpu_pressure_avg10": float(psi.get(name, -1))}
    sp = os.path.join(d, name + "-stats.json")
    ns = fpp = None
    if os.path.exists(sp) and os.path.getsize(sp):
        t = json.load(open(sp))["total"]
        if t["rx_packets"]:
            ns = t["poll_cycles"] / t["rx_packets"] / j["tsc_hz"] * 1e9
            fpp = t["rx_packets"] / max(t["poll_busy"], 1)
            row["server_busy_ns_per_req"] = ns
            row["server_frames_per_busy_poll"] = fpp
    rows.append(row)
    print(f"  {name:13s} {r['req_per_s']/1e6:8.3f} {row['p50_us']:8.2f} "
          f"{'%14.1f' % ns if ns else '%14s' % '-'} {'%11.1f' % fpp if fpp else '%11s' % '-'} "
          f"{100*r['cpu_share']:8.0f}% {row['cpu_pressure_avg10']:6.1f}")
    prof = os.path.join(d, name + "-profile.txt")
    if os.path.exists(prof) and os.path.getsize(prof):
        for l in open(prof):
            print("      " + " ".join(l.split()))
json.dump({"machine": machine, "rows": rows}, open(os.path.join(out, "breakdown.json"), "w"), indent=1)
EOF
exit $status
