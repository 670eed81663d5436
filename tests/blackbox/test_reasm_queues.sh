#!/usr/bin/env bash
# Black box: the fragments of one datagram arriving on different RX queues
# still meet (issue 8).  dpcached with two workers on net_memif with two
# queue pairs; dpcache-bench is the memif peer with --steer 2 --frag-spread:
# every request larger than one frame leaves as IPv4 fragments, fragment f on
# queue (q + f) % 2, so each worker receives part of every datagram.  memif is
# used because it is the one port here where the sender picks the RX queue a
# frame reaches (memif queue i of the client is queue i of the server):
# af_xdp/af_packet on a veth spread frames by the kernel's own rules.
#   1. SETs of 3,000-byte values (3 fragments each) and 8-key multi-gets with
#      200-byte keys (1,824 bytes: 2 fragments each), prefilled so that every
#      GET must hit: no error, nothing lost, every value read back as written;
#   2. dpcached's own counters: each worker took fragments in (frag_in) and
#      handed fragments of the other's datagrams over (frag_forwarded), the
#      datagrams were reassembled (reasm_done) and none was given up
#      (reasm_drop_*), no ring refused one (drop_ring_full, drop_ring_chains, drop_ring_share).
# Without the hand-over (dpc_reasm_rx_owner() answering the receiving worker)
# the fragments of a datagram sit in two tables until reasm_timeout_ms: every
# fragmented request is lost and the bench's prefill never completes.
#   DPC_BIN=build/debug/bin tests/blackbox/test_reasm_queues.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init reasm_queues
[ -x "$DPC_BIN/dpcache-bench" ] || bb_fail "$DPC_BIN/dpcache-bench missing"
sock=$BB_TMP/memif.sock

BB_LCORES=$BB_TWO_LCORES bb_start_dpcached "net_memif0,role=server,socket=$sock,socket-abstract=no" \
	--workers 2 --memory 256M
timeout 90 "$DPC_BIN/dpcache-bench" "--lcores=0@$BB_LAST_CPU" --no-pci $BB_EAL_MEM \
	--file-prefix="${BB_PREFIX}b" --vdev="net_memif0,role=client,socket=$sock,socket-abstract=no" -- \
	--steer 2 --frag-spread --keys 1000 --key-size 200 --value-size 3000 --batch 8 --get-ratio 0.5 \
	--prefill --warmup 0.2 --duration 1 --outstanding 8 --timeout-us 500000 --quiet \
	--json "$BB_TMP/bench.json" >"$BB_TMP/bench.out" 2>&1 ||
	{ grep -v '^EAL\|^TELEMETRY' "$BB_TMP/bench.out" | tail -n 20 >&2; bb_fail "dpcache-bench failed"; }
timeout 20 "$DPC_BIN/dpcachectl" --name "$BB_PREFIX" stats --json >"$BB_TMP/stats.json" ||
	bb_fail "dpcachectl stats --json"
python3 - "$BB_TMP/bench.json" "$BB_TMP/stats.json" <<'PY' || bb_fail "fragments across queues"
import json, sys
r = json.load(open(sys.argv[1]))["results"]
s = json.load(open(sys.argv[2]))
e = r["errors"]
print("  bench: %d completed, %d hits, %d misses, %d lost, errors %s" %
      (r["completed"], r["hits"], r["misses"], r["lost"], e))
assert r["completed"] > 100, "only %d requests completed" % r["completed"]
assert e["status"] == 0 and e["content"] == 0 and e["protocol"] == 0, "errors %r" % e
assert r["misses"] == 0 and r["hits"] > 0, "hits %d misses %d after prefill" % (r["hits"], r["misses"])
assert r["lost"] == 0, "%d requests lost" % r["lost"]
w = s["per_worker"]
assert len(w) == 2, "per_worker: %d entries" % len(w)
for i, x in enumerate(w):
    print("  worker %d: frag_in %d frag_forwarded %d reasm_done %d forwarded_in %d forwarded_out %d" %
          (i, x["frag_in"], x["frag_forwarded"], x["reasm_done"], x["forwarded_in"], x["forwarded_out"]))
    assert x["frag_in"] > 0, "worker %d reassembled nothing" % i
    assert x["frag_forwarded"] > 0, "worker %d handed no fragment to the other" % i
t = s["total"]
# every SET is 3 fragments, every multi-get 2: the bench's requests were all fragmented
assert t["reasm_done"] >= r["completed"], "reasm_done %d < %d completed" % (t["reasm_done"], r["completed"])
given_up = {k: v for k, v in t.items() if k.startswith("reasm_drop_") and v}
assert not given_up, "reassembly gave up: %r" % given_up
assert t["drop_ring_full"] == t["drop_ring_chains"] == t["drop_ring_share"] == 0, "a ring refused one"
print("  total: frag_in %d, frag_forwarded %d, reasm_done %d, forwarded_out %d" %
      (t["frag_in"], t["frag_forwarded"], t["reasm_done"], t["forwarded_out"]))
PY
bb_stop_dpcached TERM
echo "test_reasm_queues: PASS"
