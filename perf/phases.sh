#!/usr/bin/env bash
# Where a poll iteration's time goes, and which iterations set the in-server percentiles.
# Needs a diagnostic build (five more TSC reads per iteration, never the shipped one):
#   make FLAVOUR=release BUILD=build/phases EXTRA_CFLAGS=-DDPC_WORKER_PHASES bins
# Same workload as perf/compare.sh (16 B keys, 32 B values, 1M keys, 90 % GET, uniform,
# prefilled; dpcached one worker on lcore 0, bench on lcore 1, memif), two runs, each with
# a fresh dpcached: closed loop (window 256, the peak) and open loop at PHASES_RATE (half
# of the peak by default).  The counters are restarted (latency_epoch) after the prefill.
# Per run, from the worker's own figures (printed when it stops):
#   - ns per busy iteration in each stage (rx_burst, frame processing, the ring of
#     forwarded writes, tx_flush, store maintenance, QSBR quiescent state), over the
#     iterations that carried at most 2 frames (the per-iteration costs) and over all;
#   - busy iterations by length (< 5, 10, 20, 50, 100 us, and above) with the requests
#     they carried: the in-server latency of a request is its iteration's length.
# Prints them, writes perf/results/phases.json (PHASES_OUT).  Busy polling ~2 x (DURATION+3) s.
#
# usage: perf/phases.sh [BUILD (build/phases)] [DURATION_S (4)]
# env:   PHASES_RATE (req/s of the open-loop run; default half of the closed-loop peak)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-build/phases}
dur=${2:-4}
out=${PHASES_OUT:-$PERF_ROOT/perf/results}
mkdir -p "$out/phases"
rm -f "$out"/phases/*
perf_init "$build"
PERF_CMDLOG=$out/phases/commands.txt
: >"$PERF_CMDLOG"
grep -aq 'phases %s:' "$PERF_BIN/dpcached" ||
	{ perf_log "$PERF_BIN/dpcached is not a DPC_WORKER_PHASES build (see the header)"; exit 1; }

work=(--keys 1000000 --key-size 16 --value-size 32 --get-ratio 0.9 --dist uniform
      --warmup 1 --duration "$dur" --quiet)
status=0

run() { # NAME [bench args...]
	local name=$1
	shift
	perf_start_dpcached 1 || { status=1; return; }
	perf_bench_memif "${work[@]}" --prefill --warmup 0 --duration 0.01 --outstanding 256 \
		>/dev/null || status=1
	perf_dpc_ctl config set latency_epoch 1
	perf_bench_memif "${work[@]}" "$@" --label "phases-$name" \
		--json "$out/phases/$name.json" >/dev/null || status=1
	perf_stop
	grep -E 'phases (small|all|length)' "$PERF_SRV_LOG" | sed 's/^[^:]*: //' \
		>"$out/phases/$name.txt"
	echo "== $name: $(perf_json_get "$out/phases/$name.json" \
		'"%.3f M req/s" % (d["results"]["req_per_s"] / 1e6)' 2>/dev/null)"
	cat "$out/phases/$name.txt"
}

perf_log "machine: $(perf_machine); CPU pressure now $(perf_psi) %"
run peak --outstanding 256
rate=${PHASES_RATE:-$(perf_json_get "$out/phases/peak.json" \
	'int(d["results"]["req_per_s"] / 2)' 2>/dev/null || echo 0)}
if [ "${rate:-0}" -gt 0 ]; then
	run half --rate "$rate"
else
	status=1
fi

python3 - "$out" <<'EOF' || status=1
import json, os, re, sys
out = sys.argv[1]
res = {"benchmark": "phases", "runs": {}}
for name in ("peak", "half"):
    p = os.path.join(out, "phases", name + ".txt")
    if not os.path.exists(p):
        continue
    r = {"stages_ns": {}, "lengths": []}
    for ln in open(p):
        m = re.match(r"phases (small|all): (\d+) busy iterations, ([\d.]+) frames each, ns:(.*)", ln)
        if m:
            v = m.group(4).split()
            r["stages_ns"][m.group(1)] = {"iterations": int(m.group(2)),
                                          "frames": float(m.group(3)),
                                          **{v[i]: float(v[i + 1]) for i in range(0, len(v), 2)}}
        m = re.match(r"phases length (<|>=)\s*(\d+) us: (\d+) iterations, (\d+) requests, mean (\d+) ns", ln)
        if m:
            r["lengths"].append({"bound": m.group(1) + m.group(2) + " us", "iterations": int(m.group(3)),
                                 "requests": int(m.group(4)), "mean_ns": int(m.group(5))})
    tot = sum(x["requests"] for x in r["lengths"]) or 1
    for x in r["lengths"]:
        x["request_share"] = round(x["requests"] / tot, 5)
    res["runs"][name] = r
json.dump(res, open(os.path.join(out, "phases.json"), "w"), indent=1)
print("JSON:", os.path.join(out, "phases.json"))
EOF
exit $status
