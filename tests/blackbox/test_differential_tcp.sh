#!/usr/bin/env bash
# Black box, differential over TCP: tests/blackbox/mcdiff.py --transport tcp,
# the same cases as test_differential.sh (every binary opcode and quiet
# variant, every text command and its odd forms, STAT groups, large values,
# packed requests, a seeded random sequence shrunk to the shortest divergence,
# the requests after which memcached closes the connection), sent over one TCP
# connection per protocol to Debian's memcached 1.6 (-p PORT -U 0 -l
# 127.0.0.1, in the client namespace, stopped by PID) and to dpcached (tcp=yes:
# the kernel behind its TAP exception port terminates TCP, the TCP thread
# serves it).  dpcached runs on net_af_xdp (BB_PMD=af_packet: af_packet), so
# make test runs TCP over af_xdp too (test_tcp.sh: af_packet).  Zero
# divergences; the UDP-only departures (udp-framing, next-datagram) do not
# apply: a step that showed one over UDP must compare equal here.
#   DPC_BIN=build/debug/bin tests/blackbox/test_differential_tcp.sh
# DIFF_SEED, DIFF_STEPS, DIFF_SECONDS, DIFF_ONLY as in test_differential.sh
# (default 3000 steps, 10 s).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init difftcp
command -v memcached >/dev/null || bb_fail "memcached is not installed (scripts/deps.sh)"
bb_netns
bb_tcp_prep

MC_PORT=11312
# ip netns exec execs memcached: $! is memcached itself
ip netns exec "$BB_CLI_NS" memcached -p "$MC_PORT" -U 0 -l 127.0.0.1 -t 1 -u nobody -m 64 \
	>"$BB_TMP/memcached.log" 2>&1 &
MC_PID=$!
BB_EXTRA_PIDS="$MC_PID"
vdev=$(bb_vdev af_xdp)
# --admin subnet: flush_all and stats reset are compared too
bb_start_dpcached "$vdev" --tcp yes --admin subnet ${BB_DPC_FLAGS:-}
kill -0 "$MC_PID" 2>/dev/null || bb_fail "memcached did not start: $(cat "$BB_TMP/memcached.log")"

bb_cli_ns timeout 120 python3 "$here/mcdiff.py" --transport tcp \
	--mc "127.0.0.1:$MC_PORT" --dp "$BB_ADDR:$BB_PORT" \
	--seed "${DIFF_SEED:-1}" --random-steps "${DIFF_STEPS:-3000}" \
	--random-seconds "${DIFF_SECONDS:-10}" ${DIFF_ONLY:+--only "$DIFF_ONLY"}
rc=$?

kill -TERM "$MC_PID" 2>/dev/null
wait "$MC_PID" 2>/dev/null
BB_EXTRA_PIDS=
bb_stop_dpcached TERM
[ $rc -eq 0 ] || bb_fail "mcdiff.py --transport tcp: divergences from memcached (status $rc)"
echo "test_differential_tcp: PASS"
