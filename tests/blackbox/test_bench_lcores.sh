#!/usr/bin/env bash
# Black box: dpcache-bench on two lcores against the real dpcached (two
# workers, memif, two queue pairs, --steer 2: each bench lcore owns one
# partition, its queue and its keys):
#   1. closed loop with prefill: a row per lcore, both lcores completed
#      requests, the merged counters are the sum of the rows, no errors, all
#      GETs hit (each lcore prefilled its own slice), and the port's own
#      counters (rte_eth_stats) are reported beside ours;
#   2. open loop at an aggregate --rate of 20000/s: the total is about that
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

run_bench open --keys 5000 --rate 20000 --warmup 0.5 --duration 2
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
