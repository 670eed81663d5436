#!/usr/bin/env bash
# A/B of dpcached variants in one run, alternating (A B A B ...) so that the
# machine's load drifts over both alike.  Each round and variant: start
# dpcached (one worker on lcore PERF_SRV_CPU), prefill, then a measured run of
# the bench (one build for every variant, so that only the server differs),
# with dpcached's counters read just before and after it: the server's own
# cost is the TSC cycles of its busy poll iterations per frame received during
# the measured run only.
#
# usage: perf/ab.sh ROUNDS SECONDS NAME=BUILD[:DPCACHED_FLAGS] [NAME=BUILD[:FLAGS]...]
#   e.g. perf/ab.sh 5 3 before=build/ab-a after=build/ab-b
#        perf/ab.sh 5 3 sweep=build/release nosweep=build/release:--maintain_budget=1
# env:   AB_BENCH (bench binary's build; default the first variant's), AB_KEYS (1000000),
#        AB_WINDOW (256), AB_RATE (open loop at this rate instead of a closed window),
#        AB_GET_RATIO (0.9), AB_OUT (a directory for the per-run JSON; default a temp dir),
#        AB_SRV_PIN_<NAME>=0 (that variant's non-worker threads are not pinned: see lib.sh)
# Prints one line per run and, per variant, the median and range of req/s, the
# server's ns/request, the bench's CPU share, the server's in-server p99 (lat.h, the
# measured run only) and its reclaimer's wake-ups a second (0 for builds without the
# reclaim_* counters).  Busy polling: about
# ROUNDS x variants x (SECONDS + 3) s.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -ge 3 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
rounds=$1 dur=$2
shift 2
names=() builds=() flags=()
for v in "$@"; do
	n=${v%%=*} rest=${v#*=}
	b=${rest%%:*} f=
	[[ $rest == *:* ]] && f=${rest#*:}
	[ -x "$b/bin/dpcached" ] || { perf_log "$b/bin/dpcached missing"; exit 1; }
	names+=("$n") builds+=("$b") flags+=("$f")
done
bench_build=${AB_BENCH:-${builds[0]}}
perf_init "$bench_build"
out=${AB_OUT:-$PERF_TMP/ab}
mkdir -p "$out"
keys=${AB_KEYS:-1000000}
load=(--outstanding "${AB_WINDOW:-256}")
[ -n "${AB_RATE:-}" ] && load=(--rate "$AB_RATE")
work=(--keys "$keys" --key-size 16 --value-size 32 --get-ratio "${AB_GET_RATIO:-0.9}" --dist uniform
      --quiet)

for ((r = 1; r <= rounds; r++)); do
	for i in "${!names[@]}"; do
		n=${names[$i]}
		pinvar=AB_SRV_PIN_$n
		PERF_BIN=${builds[$i]}/bin PERF_DPC_ARGS=${flags[$i]} PERF_SRV_PIN=${!pinvar:-${PERF_SRV_PIN:-1}} \
			perf_start_dpcached 1 || exit 1
		PERF_BIN=$bench_build/bin perf_bench_memif "${work[@]}" --prefill --warmup 0 --duration 0.2 \
			--outstanding 256 >/dev/null || true
		# in-server latency of the measured run only (not the prefill)
		PERF_BIN=${builds[$i]}/bin perf_dpc_ctl config set latency_epoch "$r"
		PERF_BIN=${builds[$i]}/bin perf_dpc_stats "$out/$n-$r-s0.json"
		PERF_BIN=$bench_build/bin perf_bench_memif "${work[@]}" "${load[@]}" --warmup 0.5 \
			--duration "$dur" --json "$out/$n-$r.json" >/dev/null || true
		PERF_BIN=${builds[$i]}/bin perf_dpc_stats "$out/$n-$r-s1.json"
		perf_stop
		echo "$(perf_psi)" >"$out/$n-$r.psi"
	done
done

python3 - "$out" "$rounds" "${names[@]}" <<'EOF'
import json, os, statistics, sys
out, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = {n: [] for n in names}
for r in range(1, rounds + 1):
    for n in names:
        try:
            b = json.load(open(f"{out}/{n}-{r}.json"))
            s0 = json.load(open(f"{out}/{n}-{r}-s0.json"))["total"]
            s1 = json.load(open(f"{out}/{n}-{r}-s1.json"))["total"]
        except (OSError, ValueError, KeyError):
            print(f"  round {r} {n:12s} (failed)")
            continue
        res = b["results"]
        rx = s1["rx_packets"] - s0["rx_packets"]
        cyc = s1["poll_cycles"] - s0["poll_cycles"]
        busy = s1["poll_busy"] - s0["poll_busy"]
        ns = cyc / rx / b["tsc_hz"] * 1e9 if rx else float("nan")
        lat = res["latency_us"]
        psi = open(f"{out}/{n}-{r}.psi").read().strip()
        row = dict(req=res["req_per_s"] / 1e6, ns=ns, fpp=rx / max(busy, 1), cpu=100 * res["cpu_share"],
                   p50=lat.get("p50", 0), p99=lat.get("p99", 0), err=sum(res["errors"].values()))
        sl = json.load(open(f"{out}/{n}-{r}-s1.json")).get("latency_ns", {}).get("total", {})
        row["sp99"] = sl.get("p99", float("nan")) / 1e3
        # the reclaimer's wake-ups and grace periods a second (builds that count them)
        st0 = json.load(open(f"{out}/{n}-{r}-s0.json")).get("store", {}).get("total", {})
        st1 = json.load(open(f"{out}/{n}-{r}-s1.json")).get("store", {}).get("total", {})
        dur = b["results"].get("seconds", 0) or float("nan")
        row["wake"] = (st1.get("reclaim_wakeups", 0) - st0.get("reclaim_wakeups", 0)) / dur
        row["gp"] = (st1.get("reclaim_grace_periods", 0) - st0.get("reclaim_grace_periods", 0)) / dur
        rows[n].append(row)
        print(f"  round {r} {n:12s} {row['req']:7.3f} M req/s  server {ns:6.1f} ns/req "
              f"({row['fpp']:4.1f} frames/poll)  p50 {row['p50']:7.2f} p99 {row['p99']:7.2f} us  "
              f"bench cpu {row['cpu']:3.0f} %  psi {psi} %  errors {row['err']}  "
              f"server p99 {row['sp99']:6.2f} us  reclaimer {row['wake']:5.0f} wake-ups/s "
              f"{row['gp']:5.0f} grace periods/s")
print("summary (median [min .. max] over rounds):")
for n in names:
    rs = rows[n]
    if not rs:
        continue
    def f(k, fmt):
        v = [x[k] for x in rs]
        return f"{fmt.format(statistics.median(v))} [{fmt.format(min(v))} .. {fmt.format(max(v))}]"
    print(f"  {n:12s} M req/s {f('req', '{:.3f}')}  server ns/req {f('ns', '{:.1f}')}  "
          f"bench cpu % {f('cpu', '{:.0f}')}  server p99 us {f('sp99', '{:.2f}')}  "
          f"reclaimer wake-ups/s {f('wake', '{:.0f}')}")
EOF
