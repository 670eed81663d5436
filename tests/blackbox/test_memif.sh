#!/usr/bin/env bash
# Black box: the real dpcached driven by a DPDK process (dpcache-bench) over
# memif, both in the root namespace, connected by a Unix socket file of this
# test's own:
#   1. one worker: `dpcache-bench --check` (every opcode, multi-get, CAS,
#      100 KiB and 1 MiB values over many datagrams; PASS/FAIL per check),
#      then a short bounded load run with content checks (JSON: no status,
#      content or protocol errors; hits and completions non-zero);
#   2. two workers, two memif queue pairs (bench --steer 2: each key's
#      partition picks UDP port and queue): the same checks and load;
#   each time a clean SIGTERM shutdown (exit status 0).
#   DPC_BIN=build/debug/bin tests/blackbox/test_memif.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init memif
[ -x "$DPC_BIN/dpcache-bench" ] || bb_fail "$DPC_BIN/dpcache-bench missing"
sock=$BB_TMP/memif.sock

# run_bench LABEL TIMEOUT [bench flags]: dpcache-bench as the memif client
run_bench() {
	local label=$1 limit=$2
	shift 2
	local out=$BB_TMP/bench-$label.out
	timeout "$limit" "$DPC_BIN/dpcache-bench" "--lcores=0@$BB_LAST_CPU" --no-pci $BB_EAL_MEM --file-prefix="${BB_PREFIX}b" \
		--vdev="net_memif0,role=client,socket=$sock,socket-abstract=no" -- "$@" >"$out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ]; then
		grep -v '^EAL\|^TELEMETRY' "$out" | tail -n 30 >&2
		bb_fail "dpcache-bench $label exited with status $rc"
	fi
	bb_log "bench $label: $(grep -cE '\bPASS\b' "$out") PASS lines, $(grep -cE '\bFAIL\b' "$out") FAIL lines"
}

load_fail() { # load_fail [BENCH_OUTPUT]
	[ -n "$1" ] && grep -v '^EAL\|^TELEMETRY' "$1" | tail -n 20 >&2
	bb_fail "load run results"
}

# check_load JSON [BENCH_OUTPUT]: a load run that completed requests without any error
check_load() {
	python3 - "$1" <<'PY' || { load_fail "${2:-}"; }
import json, sys
r = json.load(open(sys.argv[1]))["results"]
e = r["errors"]
print("  load: %d completed, %d hits, %d lost, %.0f req/s, errors %s" %
      (r["completed"], r["hits"], r["lost"], r["req_per_s"], e))
assert r["completed"] > 0, "no request completed"
assert r["hits"] > 0, "no GET hit after prefill"
assert e["status"] == 0 and e["content"] == 0 and e["protocol"] == 0, "errors in the load run"
PY
}

phase() { # phase WORKERS LCORES [bench flags]
	local workers=$1 lcores=$2
	shift 2
	# --memory 1G: building the 1 MiB value by ~750 appends writes ~400 MB of
	# replaced items; in a smaller log the store may answer a transient
	# ENOMEM while its reclaimer catches up, which --check counts as a
	# failure (test_kernel_udp retries those and reports them).
	# --admin subnet: --check sends FLUSH (admin commands: nobody by default).
	BB_LCORES=$lcores bb_start_dpcached "net_memif0,role=server,socket=$sock,socket-abstract=no" \
		--workers "$workers" --memory 1G --admin subnet
	run_bench "check-w$workers" 200 --check "$@"
	grep -qE '\bFAIL\b' "$BB_TMP/bench-check-w$workers.out" &&
		{ grep -E '\bFAIL\b' "$BB_TMP/bench-check-w$workers.out" >&2; bb_fail "conformance FAIL"; }
	run_bench "load-w$workers" 100 --keys 5000 --value-size 100 --prefill --warmup 1 --duration 2 \
		--outstanding 32 --quiet --json "$BB_TMP/load-w$workers.json" "$@"
	check_load "$BB_TMP/load-w$workers.json" "$BB_TMP/bench-load-w$workers.out"
	if [ -x "$DPC_BIN/dpcachectl" ]; then
		"$DPC_BIN/dpcachectl" --name "$BB_PREFIX" stats --json >"$BB_TMP/stats-w$workers.json" ||
			bb_fail "dpcachectl stats"
		python3 - "$BB_TMP/stats-w$workers.json" "$workers" <<'PY' || bb_fail "dpcachectl stats after load"
import json, sys
s = json.load(open(sys.argv[1]))
print("  dpcachectl: %s" % {k: v for k, v in s.items() if not isinstance(v, (dict, list))})
found = []
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "rx_packets" and isinstance(v, int):
                found.append(v)
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
walk(s)
assert s.get("workers") == int(sys.argv[2]), "dpcachectl reports %r workers" % s.get("workers")
assert found and max(found) > 0, "dpcachectl shows no rx_packets"
PY
	fi
	bb_stop_dpcached
}

# Everything on the last CPU, CPU 0 stays with the kernel (see lib.sh): dpcached's
# worker and the bench time-share it (dpcached sleeps whenever it runs dry).
phase 1 "$BB_LAST_CPU"
# Two workers on two lcores of that CPU: the main lcore runs worker 0 itself.
phase 2 "$BB_TWO_LCORES" --steer 2
echo "test_memif: PASS"
