#!/usr/bin/env bash
# Black box: dpcache-bench --prefill of mixed large values (100 B .. 8 KiB, one
# length per key) into a dpcached much smaller than the keys (2M for ~7 MB), over
# memif: evicting at that pace, dpcached refuses part of the writes with Temporary
# failure while grace periods catch up (DPC_NOSPACE, a documented, retryable
# answer: ~9 k of them here) and the bench must send those SETs again.  Asserted from the
# bench's JSON and its prefill line:
#   - "stored" is sane: at most the keys, and every key is either stored or given
#     up (stored + gave_up == keys, nothing lost on memif).  Before the fix the
#     count of failed SETQs of a reused slot was never reset, and "stored"
#     wrapped below zero (printed as 1844674407...);
#   - Temporary failures happened (the store's nospace > 0) and each was
#     retried or, after the last try, given up (retries + gave_up == nospace);
#     at most 1 % of the keys given up;
#   - the prefill line prints prefill_retries.
#   DPC_BIN=build/debug/bin tests/blackbox/test_bench_prefill.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init bench_prefill
[ -x "$DPC_BIN/dpcache-bench" ] || bb_fail "$DPC_BIN/dpcache-bench missing"
sock=$BB_TMP/memif.sock
keys=4000

bb_start_dpcached "net_memif0,role=server,socket=$sock,socket-abstract=no" --workers 1 \
	--memory 2M --max_value 16K
out=$BB_TMP/bench.out
timeout -k 5 60 "$DPC_BIN/dpcache-bench" "--lcores=0@$BB_LAST_CPU" --no-pci $BB_EAL_MEM \
	--file-prefix="${BB_PREFIX}b" --vdev="net_memif0,role=client,socket=$sock,socket-abstract=no" -- \
	--keys "$keys" --value-size 100-8192 --get-ratio 1 --prefill --warmup 0 --duration 0.2 \
	--outstanding 32 --seed 1 --quiet --json "$BB_TMP/prefill.json" >"$out" 2>&1 ||
	{ grep -v '^EAL\|^TELEMETRY' "$out" | tail -n 20 >&2; bb_fail "dpcache-bench exited with an error"; }
line=$(grep '^prefill:' "$out") || bb_fail "no prefill line"
echo "[bench_prefill] $line" >&2
grep -q 'prefill_retries' <<<"$line" || bb_fail "the prefill line does not report prefill_retries"
timeout 20 "$DPC_BIN/dpcachectl" --name "$BB_PREFIX" stats --json >"$BB_TMP/stats.json" ||
	bb_fail "dpcachectl stats"
python3 - "$BB_TMP/prefill.json" "$BB_TMP/stats.json" "$keys" <<'PY' || bb_fail "prefill results"
import json, sys
d = json.load(open(sys.argv[1]))
st = json.load(open(sys.argv[2]))
keys = int(sys.argv[3])
p = d["prefill"]
nospace = st["store"]["total"]["nospace"]
print("  prefill: stored %d of %d, retries %d, gave up %d, lost %d; the store's nospace %d" %
      (p["sets_ok"], keys, p["retries"], p["gave_up"], p["lost"], nospace))
assert nospace > 0, "the server never refused a write: the test proves nothing (memory too large?)"
assert p["lost"] == 0, "datagrams lost on memif"
assert p["sets_ok"] <= keys, "stored %d > %d keys (wrapped below zero?)" % (p["sets_ok"], keys)
assert p["sets_ok"] + p["gave_up"] == keys, \
    "stored %d + given up %d != %d keys" % (p["sets_ok"], p["gave_up"], keys)
assert p["retries"] > 0, "Temporary failures were not retried"
# each refusal is one Temporary failure answer: sent again, or (the last try) given up
assert p["retries"] + p["gave_up"] == nospace, \
    "the store refused %d writes, the bench retried %d and gave up %d" % (nospace, p["retries"], p["gave_up"])
assert p["gave_up"] <= keys // 100, "gave up %d keys" % p["gave_up"]
assert p["errors"]["content"] == 0 and p["errors"]["protocol"] == 0, "errors: %r" % p["errors"]
PY
bb_stop_dpcached
echo "test_bench_prefill: PASS"
