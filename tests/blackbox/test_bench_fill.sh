#!/usr/bin/env bash
# Black box: dpcache-bench --fill-on-miss (look-aside caching) against the real
# dpcached over memif.  No prefill, GETs only, keys this dpcached has never
# seen: the warm-up must miss, every miss must be followed by a SET of that
# key (fills == misses, none dropped), and once the 2000 keys are filled the
# measured hit ratio must be >= 99 %.  Without the fills the hit ratio of a
# GET-only run stays at 0, so each assertion can fail.
#   DPC_BIN=build/debug/bin tests/blackbox/test_bench_fill.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init bench_fill
[ -x "$DPC_BIN/dpcache-bench" ] || bb_fail "$DPC_BIN/dpcache-bench missing"
sock=$BB_TMP/memif.sock

bb_start_dpcached "net_memif0,role=server,socket=$sock,socket-abstract=no" --workers 1 --memory 64M
out=$BB_TMP/bench.out
timeout 60 "$DPC_BIN/dpcache-bench" "--lcores=0@$BB_LAST_CPU" --no-pci $BB_EAL_MEM \
	--file-prefix="${BB_PREFIX}b" --vdev="net_memif0,role=client,socket=$sock,socket-abstract=no" -- \
	--keys 2000 --get-ratio 1 --fill-on-miss --warmup 1 --duration 1 --outstanding 16 --quiet \
	--json "$BB_TMP/fill.json" >"$out" 2>&1 ||
	{ grep -v '^EAL\|^TELEMETRY' "$out" | tail -n 20 >&2; bb_fail "dpcache-bench exited with an error"; }
grep -E '^  (hits|fills)' "$out" >&2
python3 - "$BB_TMP/fill.json" <<'PY' || bb_fail "fill-on-miss results"
import json, sys
d = json.load(open(sys.argv[1]))
w, r = d["warmup"], d["results"]
assert d["workload"]["fill_on_miss"] is True
e = r["errors"]
assert e["status"] == 0 and e["content"] == 0 and e["protocol"] == 0, "errors: %r" % e
assert w["misses"] > 0, "the warm-up never missed: keys were already there?"
assert w["fills_dropped"] == 0 and r["fills_dropped"] == 0, "misses not followed by a SET"
# a miss answered at the end of one phase is filled in the next: compare the sums
misses, fills = w["misses"] + r["misses"], w["fills"] + r["fills"]
assert misses - 16 <= fills <= misses, "fills %d vs misses %d" % (fills, misses)
assert r["hit_ratio"] >= 0.99, "hit ratio %.4f after the fills" % r["hit_ratio"]
print("  warm-up hit ratio %.4f (%d misses), measured %.4f, fills %d" %
      (w["hit_ratio"], w["misses"], r["hit_ratio"], fills))
PY
bb_stop_dpcached
echo "test_bench_fill: PASS"
