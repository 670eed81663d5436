#!/usr/bin/env bash
# Black box, differential: the same requests to Debian's memcached 1.6 and to
# dpcached over real UDP, answers compared field by field
# (tests/blackbox/mcdiff.py: every binary opcode and quiet variant, every text
# command and its odd forms, STAT groups, large values, packed datagrams, and
# a seeded random sequence that is shrunk to the shortest divergence).
# dpcached runs on an af_xdp port (BB_PMD=af_packet: af_packet) in a namespace of its own; memcached
# (-U PORT -p 0 -l 127.0.0.1) and the client run in the client namespace;
# memcached is stopped by PID.  Zero divergences, except the deliberate
# departures listed in mcdiff.py and docs/design.md.
#   DPC_BIN=build/debug/bin tests/blackbox/test_differential.sh
# DIFF_SEED=N picks the random sequence (default 1); DIFF_STEPS, DIFF_SECONDS
# bound it (default 3000 steps, 15 s).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init differential
command -v memcached >/dev/null || bb_fail "memcached is not installed (scripts/deps.sh)"
bb_netns

MC_PORT=11311
# ip netns exec execs memcached: $! is memcached itself (a shell function would fork)
ip netns exec "$BB_CLI_NS" memcached -U "$MC_PORT" -p 0 -l 127.0.0.1 -t 1 -u nobody -m 64 \
	>"$BB_TMP/memcached.log" 2>&1 &
MC_PID=$!
BB_EXTRA_PIDS="$MC_PID"
# --admin subnet: flush_all and stats reset are compared too (admin commands: nobody by default).
# net_af_xdp by default: requests larger than one frame are reassembled by dpcached there.
# BB_PMD=af_packet: the kernel's fanout defragments and cuts them to one frame, so those cases
# are reported as pending.
vdev=$(bb_vdev af_xdp)
bb_start_dpcached "$vdev" --admin subnet
kill -0 "$MC_PID" 2>/dev/null || bb_fail "memcached did not start: $(cat "$BB_TMP/memcached.log")"

bb_cli_ns timeout 150 python3 "$here/mcdiff.py" --mc "127.0.0.1:$MC_PORT" --dp "$BB_ADDR:$BB_PORT" \
	--seed "${DIFF_SEED:-1}" --random-steps "${DIFF_STEPS:-3000}" \
	--random-seconds "${DIFF_SECONDS:-15}" ${DIFF_ONLY:+--only "$DIFF_ONLY"}
rc=$?

kill -TERM "$MC_PID" 2>/dev/null
wait "$MC_PID" 2>/dev/null
BB_EXTRA_PIDS=
bb_stop_dpcached TERM
[ $rc -eq 0 ] || bb_fail "mcdiff.py: divergences from memcached (status $rc)"
echo "test_differential: PASS"
