#!/usr/bin/env bash
# Black box: a TX queue that cannot drain (issue 9, "the mbuf pool"): dpcached
# on net_memif, dpcache-bench as the peer in open loop (20,000 requests/s) that
# stops reading replies for 1.5 s (--rx-pause): dpcached's TX ring toward it
# fills and stays full.  Meanwhile dpcached keeps receiving and processing
# every request (rx_packets, requests), the replies the queue refuses are
# dropped after tx_retries and counted (drop_tx_full), no reply lacks an mbuf
# (drop_nombuf 0); when the peer reads again, replies flow at once (a second
# closed-loop run: nothing lost, no error): a full TX queue is never a stall.
# (memif copies a frame into the shared ring and frees the mbuf at once, so
# here a full TX queue holds no mbufs; on a NIC it holds at most its
# descriptors, the pool's "TX descriptors" row in docs/design.md.)
#   DPC_BIN=build/debug/bin tests/blackbox/test_tx_full.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init tx_full
[ -x "$DPC_BIN/dpcache-bench" ] || bb_fail "$DPC_BIN/dpcache-bench missing"
sock=$BB_TMP/memif.sock

bb_start_dpcached "net_memif0,role=server,socket=$sock,socket-abstract=no" --memory 128M
bench() { # LABEL [flags]
	local label=$1
	shift
	timeout 60 "$DPC_BIN/dpcache-bench" "--lcores=0@$BB_LAST_CPU" --no-pci $BB_EAL_MEM \
		--file-prefix="${BB_PREFIX}b" --vdev="net_memif0,role=client,socket=$sock,socket-abstract=no" -- \
		--keys 1000 --quiet --json "$BB_TMP/$label.json" "$@" >"$BB_TMP/$label.out" 2>&1 ||
		{ grep -v '^EAL\|^TELEMETRY' "$BB_TMP/$label.out" | tail -n 20 >&2; bb_fail "bench $label failed"; }
}
stats() { timeout 20 "$DPC_BIN/dpcachectl" --name "$BB_PREFIX" stats --json >"$BB_TMP/$1.json" ||
	bb_fail "dpcachectl stats"; }

stats s0
bench paused --prefill --rate 20000 --warmup 0 --duration 3 --rx-pause 0.5:1.5 --timeout-us 100000
stats s1
bench after --warmup 0 --duration 1 --outstanding 8
stats s2
python3 - "$BB_TMP"/{s0,s1,s2,paused,after}.json <<'PY' || bb_fail "full TX queue"
import json, sys
s0, s1, s2 = (json.load(open(f))["total"] for f in sys.argv[1:4])
p, a = (json.load(open(f))["results"] for f in sys.argv[4:6])
d = {k: s1[k] - s0[k] for k in ("rx_packets", "requests", "tx_packets", "drop_tx_full", "drop_nombuf")}
print("  paused run: bench sent %d, completed %d, lost %d; dpcached rx %d, requests %d, tx %d, "
      "drop_tx_full %d, drop_nombuf %d" % (p["sent"], p["completed"], p["lost"], d["rx_packets"],
      d["requests"], d["tx_packets"], d["drop_tx_full"], d["drop_nombuf"]))
assert d["drop_tx_full"] > 1000, "the TX queue never filled (drop_tx_full +%d)" % d["drop_tx_full"]
assert p["lost"] > 0, "no reply was lost while the bench did not read"
# every request that reached dpcached was processed while its TX queue was full
assert d["rx_packets"] >= 0.99 * p["sent"], "rx %d of %d sent" % (d["rx_packets"], p["sent"])
assert d["requests"] >= d["rx_packets"], "requests %d < frames %d" % (d["requests"], d["rx_packets"])
assert d["drop_nombuf"] == 0 and s2["drop_nombuf"] == 0, "a reply found no mbuf"
e = a["errors"]
print("  after: completed %d, lost %d, errors %s; drop_tx_full +%d" %
      (a["completed"], a["lost"], e, s2["drop_tx_full"] - s1["drop_tx_full"]))
assert a["completed"] > 100 and a["lost"] == 0, "replies did not flow again after the pause"
assert e["status"] == 0 and e["content"] == 0 and e["protocol"] == 0, "errors %r" % e
PY
bb_stop_dpcached TERM
echo "test_tx_full: PASS"
