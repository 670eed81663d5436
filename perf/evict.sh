#!/usr/bin/env bash
# Eviction policies end to end on the real server: dpcached (one worker, memif) with
# --eviction fifo|clock|s3fifo, driven by dpcache-bench --fill-on-miss (look-aside: every
# GET miss is followed by a SET of that key, as an application uses a cache), 16-byte keys,
# 32-byte values, EVICT_KEYS keys, 100 % GET requests (plus the fills).
#   1. hit ratio at 1, 10 and 25 % cache (memory for that share of the keys), Zipf 0.8
#      and 0.99: a fresh server per run, warm-up, then the measured hit ratio;
#   2. scan resistance, at 10 % cache and Zipf 0.99: warm up, measure (before), then a
#      one-pass scan (SETs of EVICT_SCAN_KEYS other keys, 15-byte keys, each about once,
#      10x the cache), then the hit ratio of the Zipf load in the first second after it
#      (after) and a second later (recovered);
#   3. GET throughput per policy: every key fits (prefilled), Zipf 0.99, closed loop; also
#      dpcached's own cost per request from its counters (busy poll cycles / packets).
# Prints a table and writes EVICT_OUT/evict.json (+ one bench JSON per run).  Every run is
# bounded (`timeout`) and every server stopped by PID (perf/lib.sh).  Busy polling: about
# 3 x (6 x (1 + WARMUP + DURATION) + 8 + 6) s; run it under the machine's lock, one policy
# at a time if others wait for it:
#     flock /tmp/dpcache-run.lock perf/evict.sh build/release
#     EVICT_POLICIES=clock flock /tmp/dpcache-run.lock perf/evict.sh build/release
# (the table is printed from every policy's results found in EVICT_OUT).
#
# usage: perf/evict.sh [BUILD (build/release)]
# env:   EVICT_POLICIES ("fifo clock s3fifo")  EVICT_KEYS (2000000)  EVICT_ZIPFS ("0.8 0.99";
#        empty: only the scan and throughput runs)
#        EVICT_FRACS ("0.01 0.10 0.25")  EVICT_WARMUP (3)  EVICT_DURATION (2)
#        EVICT_ITEM_BYTES (73: memory per item held: 60-byte item + index + reserve)
#        EVICT_SCAN_KEYS (10 x the 10 % cache)  EVICT_WINDOW (128)  EVICT_OUT (perf/results/evict)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-build/release}
policies=${EVICT_POLICIES:-fifo clock s3fifo}
keys=${EVICT_KEYS:-2000000}
zipfs=${EVICT_ZIPFS-0.8 0.99}     # empty: skip the hit-ratio runs
fracs=${EVICT_FRACS:-0.01 0.10 0.25}
warm=${EVICT_WARMUP:-3}
dur=${EVICT_DURATION:-2}
ib=${EVICT_ITEM_BYTES:-73}
win=${EVICT_WINDOW:-128}
out=${EVICT_OUT:-$PERF_ROOT/perf/results/evict}
scan_keys=${EVICT_SCAN_KEYS:-$(python3 -c "print(int($keys * 0.10 * 10))")}
mkdir -p "$out"
perf_init "$build"
PERF_CMDLOG=$out/commands.txt
touch "$PERF_CMDLOG"

work=(--keys "$keys" --key-size 16 --value-size 32 --get-ratio 1 --fill-on-miss
      --outstanding "$win" --quiet)
status=0

# mem FRACTION: --memory (KiB) for that share of the keys (at least 1 MiB)
mem() { python3 -c "import math; print(max(1024, math.ceil($keys * $1 * $ib / 1024)))"; }

# start POLICY MEM_MB: a fresh dpcached
start() {
	PERF_DPC_MEMORY=${2}K PERF_DPC_ARGS="--eviction $1 --max_value 1024 --item_size_hint 60" \
		perf_start_dpcached 1
}

perf_log "machine: $(perf_machine); CPU pressure now $(perf_psi) %"
for pol in $policies; do
	for z in $zipfs; do
		for f in $fracs; do
			m=$(mem "$f")
			perf_log "$pol: Zipf $z, cache $f of $keys keys ($m KiB)"
			if start "$pol" "$m"; then
				perf_bench_memif "${work[@]}" --dist "zipf:$z" --warmup "$warm" \
					--duration "$dur" --label "$pol-z$z-c$f" \
					--json "$out/hit-$pol-z$z-c$f.json" || status=1
				perf_dpc_stats "$out/stats-$pol-z$z-c$f.json"
				perf_stop
			else
				status=1
			fi
		done
	done
	m=$(mem 0.10)
	perf_log "$pol: scan of $scan_keys keys through a 10 % cache ($m KiB), Zipf 0.99"
	if start "$pol" "$m"; then
		perf_bench_memif "${work[@]}" --dist zipf:0.99 --warmup "$warm" --duration "$dur" \
			--label "$pol-scan-before" --json "$out/scan-$pol-before.json" || status=1
		perf_bench_memif --keys "$scan_keys" --key-size 15 --value-size 32 --get-ratio 0 \
			--dist uniform --outstanding "$win" --quiet --warmup 0 --duration 1 \
			--label "$pol-scan" --json "$out/scan-$pol-scan.json" || status=1
		# other seeds: the same seed would replay the keys the first run requested
		perf_bench_memif "${work[@]}" --dist zipf:0.99 --warmup 0 --duration 1 --seed 2 \
			--label "$pol-scan-after" --json "$out/scan-$pol-after.json" || status=1
		perf_bench_memif "${work[@]}" --dist zipf:0.99 --warmup 0 --duration 1 --seed 3 \
			--label "$pol-scan-recovered" --json "$out/scan-$pol-recovered.json" || status=1
		perf_stop
	else
		status=1
	fi
	m=$(python3 -c "import math; print(math.ceil($keys * $ib * 1.3 / 1024))")
	perf_log "$pol: GET throughput, every key held ($m KiB), Zipf 0.99"
	if start "$pol" "$m"; then
		get=(--keys "$keys" --key-size 16 --value-size 32 --get-ratio 1 --dist zipf:0.99
		     --outstanding 256 --quiet)
		perf_bench_memif "${get[@]}" --prefill --warmup 0 --duration 1 \
			--label "$pol-get-fill" --json "$out/get-$pol-fill.json" || status=1
		perf_dpc_stats "$out/get-$pol-stats0.json"
		perf_bench_memif "${get[@]}" --warmup 0 --duration "$dur" --seed 2 \
			--label "$pol-get" --json "$out/get-$pol.json" || status=1
		perf_dpc_stats "$out/get-$pol-stats1.json"
		perf_stop
	else
		status=1
	fi
done

# The table and evict.json, from every result present in $out.
python3 - "$out" "$keys" "${EVICT_ZIPFS:-0.8 0.99}" "$fracs" <<'EOF'
import json, os, sys
out, keys, zipfs, fracs = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
pols = ["fifo", "clock", "s3fifo"]
def load(name):
    p = os.path.join(out, name)
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return None
def hr(d):
    return None if d is None else 100.0 * d["results"]["hit_ratio"]
def fmt(v, w=8, p=2):
    return ("%*.*f" % (w, p, v)) if v is not None else "%*s" % (w, "-")
res = {"benchmark": "evict", "keys": keys, "hit_ratio": [], "scan": [], "get": []}
print("hit ratio %% (dpcached over memif, --fill-on-miss, %d keys, 16 B keys, 32 B values)" % keys)
print("%-6s %-6s" % ("zipf", "cache") + "".join("%9s" % p for p in pols))
for z in zipfs:
    for f in fracs:
        row = {"zipf": float(z), "cache_fraction": float(f)}
        line = "%-6s %5.0f%%" % (z, float(f) * 100)
        for p in pols:
            v = hr(load("hit-%s-z%s-c%s.json" % (p, z, f)))
            row[p] = v
            line += " " + fmt(v)
        res["hit_ratio"].append(row)
        print(line)
print("\nscan resistance (10 % cache, Zipf 0.99): hit ratio % before a one-pass scan, in the "
      "first second after it, one second later")
print("%-8s %9s %9s %9s" % ("policy", "before", "after", "recovered"))
for p in pols:
    b, a, r = (hr(load("scan-%s-%s.json" % (p, s))) for s in ("before", "after", "recovered"))
    res["scan"].append({"policy": p, "before": b, "after": a, "recovered": r})
    print("%-8s %s %s %s" % (p, fmt(b, 9), fmt(a, 9), fmt(r, 9)))
print("\nGET throughput (every key held, Zipf 0.99, closed loop 256); dpcached's busy poll "
      "time per request from its counters")
print("%-8s %12s %9s %12s" % ("policy", "GET/s", "hit %", "server ns/req"))
for p in pols:
    d = load("get-%s.json" % p)
    s0, s1 = load("get-%s-stats0.json" % p), load("get-%s-stats1.json" % p)
    g = d["results"]["gets_per_s"] if d else None
    ns = None
    if s0 and s1 and d and d.get("tsc_hz"):
        pk = s1["total"]["rx_packets"] - s0["total"]["rx_packets"]
        cy = s1["total"]["poll_cycles"] - s0["total"]["poll_cycles"]
        ns = cy / pk / d["tsc_hz"] * 1e9 if pk else None
    res["get"].append({"policy": p, "gets_per_s": g, "hit_ratio": hr(d), "server_ns_per_req": ns})
    print("%-8s %12s %s %12s" % (p, ("%12.0f" % g) if g else "-", fmt(hr(d), 9),
                                 ("%12.1f" % ns) if ns else "-"))
json.dump(res, open(os.path.join(out, "evict.json"), "w"), indent=1)
print("\n(%s)" % os.path.join(out, "evict.json"))
EOF
exit $status
