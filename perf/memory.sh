#!/usr/bin/env bash
# Memory efficiency at equal memory, in one run on one machine, same bench, same workload:
# memcached 1.6 (one thread, kernel UDP, -m MEM) and dpcached (one worker, memif,
# --memory MEM), each started fresh for every combination of
#   mix:         50 % and 90 % GET
#   popularity:  Zipf 0.8 and 0.99
#   values:      32 B, 200 B, and a mix of 100 B .. MEM_MIX_MAX (one length per key,
#                log-uniform: dpcache-bench --value-size MIN-MAX)
#   look-aside:  without and with --fill-on-miss (a GET miss is followed by a SET)
# Both see the same request stream (one seed) and the same number of requests: memcached runs
# closed loop (window MEM_WINDOW, so that it loses nothing), dpcached open loop at the rate
# memcached reached; both after a prefill of every key (so both start full).  Reported per run: hit ratio of the measurement,
# items held at its end, bytes of memory per item held (MEM / items), and dpcached's live
# fraction of the log (live bytes / log bytes, the gauge dpcachectl reports).
# Prints a table, writes perf/results/memory.json (+ one bench JSON per run, and
# commands.txt).  Every process bounded by `timeout` and stopped by PID (perf/lib.sh).
# Run it under the machine's lock: flock /tmp/dpcache-run.lock perf/memory.sh
#
# usage: perf/memory.sh [BUILD (build/release)]
# env:   MEM_KEYS (500000)  MEM_MB (16)  (the issue: 2M keys, 64 MB; the default keeps its
#        cache-to-keyspace ratio at a quarter of the size: 24 combinations, ~22 min on the
#        shared 2-CPU machine (48 prefills and 48 runs of 15 s); MEM_VALUES etc. for a part)
#        MEM_WINDOW (32)  MEM_WARMUP (10)  MEM_DURATION (5)  MEM_MAX_ITEM (65536: both
#        servers' largest value in bytes, dpcached --max-value / memcached -I)
#        MEM_MIXES ("0.5 0.9")  MEM_ZIPFS ("0.8 0.99")  MEM_VALUES ("32 200 100-MAX")
#        MEM_MIX_MAX (8192: the largest value of the mix)  MEM_OUT (perf/results)
# A SET of a value over ~1.3 KiB is one UDP datagram in several IPv4 fragments: the kernel
# makes them for memcached, dpcache-bench's DPDK transport for dpcached (which reassembles).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# a bench run here is mostly its prefill of every key: memcached's took 14-34 s on the shared
# 2-CPU machine, dpcached's (Temporary failures sent again) as long; lib.sh's 30 s cut them short
PERF_RUN_LIMIT=${PERF_RUN_LIMIT:-120}
# shellcheck source=lib.sh
. "$here/lib.sh"

build=${1:-build/release}
keys=${MEM_KEYS:-500000}
mb=${MEM_MB:-16}
win=${MEM_WINDOW:-32}
# Warm-up and measurement in seconds at memcached's rate (~70-100 k req/s here): 1-1.5 M
# requests after the prefill, so that both caches are measured near their steady state.
# S3-FIFO trails an LRU for the first few hundred thousand requests after a prefill of
# never-read keys (docs/design.md: the post-prefill transient); 1.5 s runs measured that.
warm=${MEM_WARMUP:-10}
dur=${MEM_DURATION:-5}
maxitem=${MEM_MAX_ITEM:-65536}
mixes=${MEM_MIXES:-0.5 0.9}
zipfs=${MEM_ZIPFS:-0.8 0.99}
mixmax=${MEM_MIX_MAX:-8192}
values=${MEM_VALUES:-32 200 100-$mixmax}
out=${MEM_OUT:-$PERF_ROOT/perf/results}
mkdir -p "$out/memory"
perf_init "$build"
PERF_CMDLOG=$out/memory/commands.txt
: >"$PERF_CMDLOG"
rm -f "$out"/memory/*.json
PERF_MC_MEMORY=$mb
# memcached wants its largest slab chunk at most -I: half of it (no value here is chunked)
PERF_MC_ARGS="-I $maxitem -o slab_chunk_max=$((maxitem / 2))"
PERF_DPC_MEMORY=${mb}M
# dpcached's reclaimer thread off the worker's CPU: a busy worker sharing it delays grace
# periods, and writes then get transient ENOMEM (a hit-ratio run, not a throughput run)
PERF_SRV_PIN=${MEM_SRV_PIN:-0}
PERF_DPC_ARGS="--max-value $maxitem ${PERF_DPC_ARGS:-}"
status=0

# mc_stats FILE: memcached's "stats" over UDP (text protocol behind the 8-byte frame header)
mc_stats() {
	python3 - "$PERF_MC_PORT" >"$1" <<'EOF' || status=1
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n", ("127.0.0.1", int(sys.argv[1])))
buf = b""
while not buf.endswith(b"END\r\n"):
    buf += s.recv(65536)[8:]
st = {}
for ln in buf.decode().split("\r\n"):
    p = ln.split()
    if len(p) == 3 and p[0] == "STAT":
        st[p[1]] = p[2]
json.dump(st, sys.stdout)
EOF
}

n=0
for vs in $values; do for z in $zipfs; do for g in $mixes; do for fill in 0 1; do
	n=$((n + 1))
	name="v${vs}-z${z}-g${g}-f${fill}"
	work=(--keys "$keys" --key-size 16 --value-size "$vs" --get-ratio "$g" --dist "zipf:$z"
	      --prefill --warmup "$warm" --duration "$dur" --outstanding "$win" --seed 1 --quiet)
	[ "$fill" = 1 ] && work+=(--fill-on-miss)
	perf_log "$n: values $vs, Zipf $z, $(python3 -c "print(round(100*$g))") % GET, fill-on-miss $fill"
	if perf_start_memcached; then
		perf_bench_udp "${work[@]}" --label "memcached-$name" --json "$out/memory/mc-$name.json" \
			>/dev/null || status=1
		mc_stats "$out/memory/mc-$name-stats.json"
		perf_stop
	else
		status=1
	fi
	# the same number of requests: memcached's rate (at least 10 k/s)
	rate=$(perf_json_get "$out/memory/mc-$name.json" 'max(10000, int(d["results"]["req_per_s"]))' \
	       2>/dev/null || echo 10000)
	if perf_start_dpcached 1; then
		perf_bench_memif "${work[@]}" --rate "$rate" --label "dpcached-$name" \
			--json "$out/memory/dpc-$name.json" >/dev/null || status=1
		perf_dpc_stats "$out/memory/dpc-$name-stats.json"
		perf_stop
	else
		status=1
	fi
done; done; done; done

python3 - "$out" "$(perf_machine)" "$keys" "$mb" "$win" "$warm" "$dur" "$maxitem" <<'EOF'
import glob, json, os, sys, time
out, machine, keys, mb, win, warm, dur, maxitem = sys.argv[1:9]
mem = int(mb) << 20
def load(p):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return None
rows = []
for p in sorted(glob.glob(os.path.join(out, "memory", "mc-v*-f?.json"))):
    name = os.path.basename(p)[3:-5]
    vs, z, g, f = name[1:].split("-z")[0], name.split("-z")[1].split("-g")[0], \
        name.split("-g")[1].split("-f")[0], name.split("-f")[1]
    mc, mcs = load(p), load(os.path.join(out, "memory", f"mc-{name}-stats.json"))
    dp = load(os.path.join(out, "memory", f"dpc-{name}.json"))
    dps = load(os.path.join(out, "memory", f"dpc-{name}-stats.json"))
    r = {"values": vs, "zipf": float(z), "get_ratio": float(g), "fill_on_miss": f == "1"}
    if mc:
        r["memcached"] = {"hit_ratio": mc["results"]["hit_ratio"], "requests": mc["results"]["sent"],
                          "req_per_s": mc["results"]["req_per_s"],
                          "loss_ratio": mc["results"]["loss_ratio"]}
        if mcs:
            items = int(mcs.get("curr_items", 0))
            r["memcached"].update(items=items, bytes=int(mcs.get("bytes", 0)),
                                  bytes_per_item=mem / items if items else None)
    if dp:
        r["dpcached"] = {"hit_ratio": dp["results"]["hit_ratio"], "requests": dp["results"]["sent"],
                         "req_per_s": dp["results"]["req_per_s"],
                         "loss_ratio": dp["results"]["loss_ratio"]}
        if dps:
            st = dps["store"]["total"]
            items = st["items"]
            r["dpcached"].update(items=items, bytes=st["bytes_used"],
                                 bytes_per_item=mem / items if items else None,
                                 live_fraction=[q.get("live_fraction_bp", 0) / 1e4
                                                for q in dps["store"]["per_partition"]])
    rows.append(r)
key = lambda r: ({"32": 0, "200": 1}.get(r["values"], 2), r["zipf"], r["get_ratio"], r["fill_on_miss"])
rows.sort(key=key)
res = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine,
       "workload": {"keys": int(keys), "key_size": 16, "memory_bytes": mem, "mc_window": int(win),
                    "warmup_s": float(warm), "duration_s": float(dur), "max_item": maxitem,
                    "prefill": True},
       "rows": rows}
ge = [r for r in rows if "memcached" in r and "dpcached" in r]
res["dpcached_ge_memcached"] = sum(r["dpcached"]["hit_ratio"] >= r["memcached"]["hit_ratio"] for r in ge)
res["combinations"] = len(ge)
json.dump(res, open(os.path.join(out, "memory.json"), "w"), indent=1)
print(f"memory efficiency ({machine}): {keys} keys of 16 B, {mb} MB each, warm-up {warm} s, "
      f"measured {dur} s, memcached closed loop (window {win}), dpcached open loop at memcached's rate")
print("| values | Zipf | GET | fill | memcached hits | dpcached hits | memcached items | dpcached items "
      "| memcached B/item | dpcached B/item | dpcached live | requests (mc / dpc) | loss (mc / dpc) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
def pct(x):
    return f"{100 * x:.2f} %" if x is not None else "-"
for r in rows:
    m, d = r.get("memcached", {}), r.get("dpcached", {})
    lf = d.get("live_fraction")
    print(f"| {r['values']} | {r['zipf']} | {100 * r['get_ratio']:.0f} % | "
          f"{'yes' if r['fill_on_miss'] else 'no'} | {pct(m.get('hit_ratio'))} | "
          f"{pct(d.get('hit_ratio'))} | {m.get('items', '-')} | {d.get('items', '-')} | "
          f"{m.get('bytes_per_item') or 0:.0f} | {d.get('bytes_per_item') or 0:.0f} | "
          f"{', '.join(f'{100 * x:.1f} %' for x in lf) if lf else '-'} | "
          f"{m.get('requests', '-')} / {d.get('requests', '-')} | "
          f"{pct(m.get('loss_ratio'))} / {pct(d.get('loss_ratio'))} |")
print(f"dpcached's hit ratio >= memcached's in {res['dpcached_ge_memcached']} of {res['combinations']} "
      f"combinations")
print(f"JSON: {os.path.join(out, 'memory.json')}")
EOF
exit $status
