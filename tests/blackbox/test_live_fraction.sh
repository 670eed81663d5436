#!/usr/bin/env bash
# Black box: the live fraction of the log (live item bytes / log bytes) of the
# real dpcached under the write-heavy workload of the memory-efficiency issue,
# scaled down: 50 % GET / 50 % SET, Zipf 0.99, 16-byte keys, 200-byte values,
# a key space ~8x what the cache holds, from dpcache-bench over kernel UDP
# (af_packet port in a namespace), in runs of 8 s until the writes have turned
# the cache over 5 times (at most 4 runs).  Hot keys are overwritten many times per
# lap of the log; without dead-space reuse their dead copies filled the log
# (live fraction 39 %), with it the gauge must read >= 85 %.  The gauge is
# read three ways, which must agree once the load has stopped: dpcachectl
# stats --json (per partition and total), the STAT opcode (dpcache-cli stats:
# store_live_fraction_bp, live_fraction_bp_p0) and Prometheus.
#   DPC_BIN=build/debug/bin tests/blackbox/test_live_fraction.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init live_fraction
bb_netns

vdev=$(bb_vdev)
bb_start_dpcached "$vdev" --memory 4M --max-value 16K --item-size-hint 228
ctl=("$DPC_BIN/dpcachectl" --name "$BB_PREFIX")

# Load until the writes have turned the cache over 5 times (steady state), in runs of 8 s,
# at most 4 (a slow build, e.g. ASan, needs more of them than a debug build).
sets=0
for run in 1 2 3 4; do
	bb_cli_ns timeout 60 "$DPC_BIN/dpcache-bench" --transport udp --server "$BB_ADDR:$BB_PORT" \
		--keys 120000 --key-size 16 --value-size 200 --get-ratio 0.5 --dist zipf:0.99 \
		--warmup 0 --duration "${BB_LIVE_SECONDS:-8}" --outstanding 32 --quiet --seed "$run" \
		--json "$BB_TMP/bench.json" >"$BB_TMP/bench.out" 2>&1
	# exit 1 = errors seen: a write answered "temporary failure" (ENOMEM while a grace
	# period lags, retryable) is one; wrong content or protocol are checked below
	rc=$?
	[ $rc -le 1 ] || { tail -n 20 "$BB_TMP/bench.out" >&2; bb_fail "dpcache-bench exited with $rc"; }
	timeout 20 "${ctl[@]}" stats --json >"$BB_TMP/stats.json" || bb_fail "dpcachectl stats"
	sets=$(python3 -c 'import json, sys
b, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(int(sys.argv[3]) + b["results"]["sets"])' "$BB_TMP/bench.json" "$BB_TMP/stats.json" "$sets")
	items=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["store"]["total"]["items"])' \
		"$BB_TMP/stats.json")
	bb_log "run $run: $sets SETs in all, $items items"
	[ "$sets" -ge $((5 * items)) ] && break
done

# Prometheus: one scrape
timeout 60 "${ctl[@]}" metrics --listen 127.0.0.1:0 --max-requests 1 --duration 50 \
	>"$BB_TMP/prom.out" 2>"$BB_TMP/prom.err" &
BB_EXTRA_PIDS=$!
for _ in $(seq 100); do grep -q '^listening on' "$BB_TMP/prom.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$BB_TMP/prom.out")
[ -n "$port" ] || bb_fail "metrics did not start: $(cat "$BB_TMP/prom.out" "$BB_TMP/prom.err")"
python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode())' \
	"$port" >"$BB_TMP/prom.txt" || bb_fail "Prometheus scrape"

stat_total=$(bb_stat store_live_fraction_bp)
stat_p0=$(bb_stat live_fraction_bp_p0)
python3 - "$BB_TMP/bench.json" "$BB_TMP/stats.json" "$BB_TMP/prom.txt" "$stat_total" "$stat_p0" \
	"$sets" <<'PY' ||
import json, re, sys
bench, st = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
prom, stat_total, stat_p0 = open(sys.argv[3]).read(), sys.argv[4], sys.argv[5]
sets = int(sys.argv[6])
r, s = bench["results"], st["store"]
tot, p0 = s["total"], s["per_partition"][0]
e = r["errors"]
assert e["content"] == 0 and e["protocol"] == 0, "bench errors: %r" % e
lf = p0["live_fraction_bp"]
print("  %d SETs, %d items, live %.1f MB in a %.1f MB log: live fraction %.2f %% (holes reused %d)"
      % (sets, tot["items"], p0["bytes_used"] / 1e6, p0["log_bytes"] / 1e6, lf / 100,
         p0["holes_reused"]))
# steady state: the writes turned the cache over several times
assert sets >= 5 * max(tot["items"], 1), "only %d SETs for %d items" % (sets, tot["items"])
assert tot["log_bytes"] > 0 and p0["log_bytes"] == tot["log_bytes"]
assert lf == p0["bytes_used"] * 10000 // p0["log_bytes"], "gauge is not live / log: %r" % p0
assert tot["live_fraction_bp"] == lf, "total %d vs partition %d" % (tot["live_fraction_bp"], lf)
m = re.search(r'^dpcache_store_live_fraction_bp\{partition="0"\} (\d+)$', prom, re.M)
assert m and int(m.group(1)) == lf, "Prometheus: %s" % (m.group(0) if m else "no sample")
assert stat_total == str(lf) and stat_p0 == str(lf), "STAT: %s / %s vs %d" % (stat_total, stat_p0, lf)
assert lf >= 8500, "live fraction %.2f %% < 85 %%" % (lf / 100)
PY
	bb_fail "live fraction"
bb_stop_dpcached
echo "test_live_fraction: PASS"
