#!/usr/bin/env bash
# Black box: dpcache-bench on two lcores against the real dpcached (two
# workers, memif, two queue pairs, --steer 2: each bench lcore owns one
# partition, its queue and its keys):
#   1. closed loop with prefill: a row per lcore, both lcores completed
#      requests, the merged counters are the sum of the rows, no errors, all
#      GETs hit (each lcore prefilled its own slice), and the port's own
#      counters (rte_eth_stats) are reported beside ours;
#   2. dpcached's in-server latency (every request measured, per worker and
#      merged, ordered percentiles) in dpcachectl stats, JSON and Prometheus,
#      and its replies sent in their requests' own mbufs (resp_in_place);
#   3. open loop at an aggregate --rate of 20000/s: the total is about that
#      rate and each lcore sends about half of it.
#   DPC_BIN=build/debug/bin tests/blackbox/test_bench_lcores.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init bench_lcores
[ -x "$DPC_BIN/dpcache-bench" ] || bb_fail "$DPC_BIN/dpcache-bench missing"
sock=$BB_TMP/memif.sock

# Everything on the last CPU (CPU 0 stays with the kernel): two workers, two bench lcores.
BB_LCORES=$BB_TWO_LCORES bb_start_dpcached "net_memif0,role=server,socket=$sock,socket-abstract=no" \
	--workers 2 --memory 256M

run_bench() { # LABEL [bench flags]
	local label=$1
	shift
	timeout 90 "$DPC_BIN/dpcache-bench" "--lcores=(0,1)@$BB_LAST_CPU" --no-pci $BB_EAL_MEM \
		--file-prefix="${BB_PREFIX}b" --vdev="net_memif0,role=client,socket=$sock,socket-abstract=no" -- \
		--steer 2 --quiet --json "$BB_TMP/$label.json" "$@" >"$BB_TMP/$label.out" 2>&1 ||
		{ grep -v '^EAL\|^TELEMETRY' "$BB_TMP/$label.out" | tail -n 20 >&2; bb_fail "bench $label failed"; }
	grep -E '^  (requests|per lcore| +[0-9])|^  port' "$BB_TMP/$label.out" >&2
}

run_bench closed --keys 5000 --prefill --warmup 0.5 --duration 1 --outstanding 16
python3 - "$BB_TMP/closed.json" <<'PY' || bb_fail "two-lcore closed-loop results"
import json, sys
r = json.load(open(sys.argv[1]))["results"]
rows = r["per_lcore"]
assert r["lcores"] == 2 and len(rows) == 2, "rows: %r" % rows
for k in ("completed", "hits", "sent", "lost"):
    assert sum(x[k] for x in rows) == r[k], "%s: rows %r, total %r" % (k, [x[k] for x in rows], r[k])
assert all(x["completed"] > 0 for x in rows), "an lcore completed nothing"
e = r["errors"]
assert e["status"] == 0 and e["content"] == 0 and e["protocol"] == 0, "errors %r" % e
assert r["misses"] == 0 and r["hits"] > 0, "hits %d misses %d after each lcore's prefill" % (r["hits"], r["misses"])
p = r["ports"]
assert len(p) == 1 and p[0]["ipackets"] >= r["completed"], "port counters %r" % p
print("  closed: %d + %d completed, port rx %d imissed %d" %
      (rows[0]["completed"], rows[1]["completed"], p[0]["ipackets"], p[0]["imissed"]))
PY

# In-server latency (RX burst -> TX burst of the reply), per worker, merged by dpcached:
# in `dpcachectl stats` (text and JSON) and on the Prometheus endpoint.
ctl=("$DPC_BIN/dpcachectl" --name "$BB_PREFIX")
timeout 20 "${ctl[@]}" stats --json >"$BB_TMP/stats.json" || bb_fail "dpcachectl stats --json"
timeout 20 "${ctl[@]}" stats >"$BB_TMP/stats.txt" || bb_fail "dpcachectl stats"
grep -A5 '^in-server latency' "$BB_TMP/stats.txt" >&2 || bb_fail "no in-server latency in dpcachectl stats"
timeout 30 "${ctl[@]}" metrics --listen 127.0.0.1:0 --max-requests 1 --duration 25 >"$BB_TMP/prom.out" 2>&1 &
prom_pid=$!
BB_EXTRA_PIDS="$prom_pid"
for _ in $(seq 100); do grep -q '^listening on' "$BB_TMP/prom.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$BB_TMP/prom.out")
[ -n "$port" ] || bb_fail "metrics did not start: $(cat "$BB_TMP/prom.out")"
python3 - "$BB_TMP/stats.json" "$port" <<'PY' || bb_fail "in-server latency figures"
import json, sys, urllib.request
s = json.load(open(sys.argv[1]))
lat = s["latency_ns"]
t, w = lat["total"], lat["per_worker"]
print("  in-server latency: %r" % t)
assert len(w) == 2, "per-worker latency: %r" % w
# every request processed was measured (the bench has stopped: nothing in flight)
assert t["samples"] == s["total"]["requests"], "samples %d, requests %d" % (t["samples"], s["total"]["requests"])
assert sum(x["samples"] for x in w) == t["samples"]
# single-datagram replies go out in their request's own mbuf (all but the prefill's: a
# datagram of 17 SETQs leaves no room for a reply behind it in a 2 KiB mbuf)
tot = s["total"]
assert tot["resp_in_place"] >= 0.9 * tot["resp_datagrams"] > 0, \
    "in place %d of %d reply datagrams" % (tot["resp_in_place"], tot["resp_datagrams"])
for x in [t] + w:
    assert 0 < x["p50"] <= x["p99"] <= x["p99_9"] <= x["max"], "not ordered: %r" % x
    assert x["max"] <= 10000000, "beyond the 10 ms range: %r" % x
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[2], timeout=10).read().decode()
q = [l for l in body.splitlines() if l.startswith('dpcache_request_latency_seconds{worker="total",quantile="0.5"}')]
assert len(q) == 1 and abs(float(q[0].split()[1]) * 1e9 - t["p50"]) <= 1, "Prometheus: %r" % q
assert 'dpcache_request_latency_samples_total{worker="total"} %d' % t["samples"] in body
PY
wait "$prom_pid"
BB_EXTRA_PIDS=
# a new latency_epoch: each worker empties its histogram at its next busy iteration
timeout 20 "${ctl[@]}" config set latency_epoch 7 >/dev/null || bb_fail "config set latency_epoch"

run_bench open --keys 5000 --rate 20000 --warmup 0.5 --duration 2
timeout 20 "${ctl[@]}" stats --json >"$BB_TMP/stats2.json" || bb_fail "dpcachectl stats --json"
python3 - "$BB_TMP/stats.json" "$BB_TMP/stats2.json" <<'PY' || bb_fail "latency_epoch restart"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
n = b["total"]["requests"] - a["total"]["requests"]
got = b["latency_ns"]["total"]["samples"]
print("  after latency_epoch: %d samples for the %d requests since" % (got, n))
assert got == n, "the histograms were not restarted: %d samples, %d requests since" % (got, n)
PY
python3 - "$BB_TMP/open.json" <<'PY' || bb_fail "two-lcore open-loop rate split"
import json, sys
r = json.load(open(sys.argv[1]))["results"]
rows = r["per_lcore"]
assert 0.8 * 20000 <= r["req_per_s"] <= 1.2 * 20000, "aggregate %.0f req/s for --rate 20000" % r["req_per_s"]
for x in rows:
    assert 0.35 <= x["sent"] / r["sent"] <= 0.65, "lcore %d sent %d of %d" % (x["lcore"], x["sent"], r["sent"])
print("  open: %.0f req/s in all, lcores sent %s" % (r["req_per_s"], [x["sent"] for x in rows]))
PY
bb_stop_dpcached
echo "test_bench_lcores: PASS"
