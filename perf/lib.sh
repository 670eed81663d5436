#!/usr/bin/env bash
# Shared helpers for the perf/ scripts (source it).  Every server these
# helpers start is remembered by PID and stopped by PID in perf_cleanup
# (installed as an EXIT trap by perf_init).
#
#   perf_init BUILD          check binaries, make a temp dir, install the trap
#   perf_start_dpcached W    dpcached with W workers on lcores 0..W-1, memif server
#   perf_start_memcached     memcached 1.6, one thread, kernel UDP, pinned to CPU 0
#   perf_start_reflector     dpcache-bench --reflect on lcore 0, memif server (bench ceiling)
#   perf_stop                stop the server started last
#   perf_bench_memif ARGS    dpcache-bench on lcore 1 over the memif client
#   perf_bench_udp ARGS      dpcache-bench pinned to CPU 1 over kernel UDP to memcached
#
# Environment: PERF_SRV_CPU (0), PERF_CLI_CPU (1), PERF_EAL_MEM ("--no-huge -m 512
# --no-shconf"), PERF_DPC_MEMORY (512M), PERF_MC_PORT (11311).

set -uo pipefail

PERF_SRV_CPU=${PERF_SRV_CPU:-0}
PERF_CLI_CPU=${PERF_CLI_CPU:-1}
PERF_EAL_MEM=${PERF_EAL_MEM:---no-huge -m 512 --no-shconf}
PERF_DPC_MEMORY=${PERF_DPC_MEMORY:-512M}
PERF_MC_PORT=${PERF_MC_PORT:-11311}
PERF_PID=
PERF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

perf_log() { echo "[perf] $*" >&2; }

perf_stop() {
	if [ -n "$PERF_PID" ] && kill -0 "$PERF_PID" 2>/dev/null; then
		kill -TERM "$PERF_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PERF_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PERF_PID" 2>/dev/null
	fi
	[ -n "$PERF_PID" ] && wait "$PERF_PID" 2>/dev/null
	PERF_PID=
	return 0
}

perf_cleanup() {
	local rc=$?
	perf_stop
	[ -n "${PERF_TMP:-}" ] && rm -rf "$PERF_TMP"
	exit $rc
}

perf_init() {
	PERF_BUILD=${1:?usage: perf_init BUILD}
	PERF_BIN=$PERF_BUILD/bin
	[ -x "$PERF_BIN/dpcache-bench" ] || { perf_log "$PERF_BIN/dpcache-bench missing (make)"; exit 1; }
	PERF_TMP=$(mktemp -d /tmp/dpcperf.XXXXXX)
	PERF_SOCK=$PERF_TMP/memif.sock
	PERF_ID=$$
	trap perf_cleanup EXIT
	trap 'exit 130' INT TERM
}

perf_memif() {
	echo "--vdev=net_memif0,role=$1,socket=$PERF_SOCK,socket-abstract=no"
}

# perf_wait_line FILE REGEX SECONDS
perf_wait_line() {
	for _ in $(seq $(($3 * 10))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		kill -0 "$PERF_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

perf_start_dpcached() {
	local w=${1:-1} last
	[ -x "$PERF_BIN/dpcached" ] || { perf_log "$PERF_BIN/dpcached missing"; return 1; }
	last=$((PERF_SRV_CPU + w - 1))
	PERF_SRV_LOG=$PERF_TMP/dpcached.log
	rm -f "$PERF_SOCK"
	# shellcheck disable=SC2086
	"$PERF_BIN/dpcached" --no-pci $PERF_EAL_MEM --file-prefix="dpcperf-srv$PERF_ID" \
		-l "$PERF_SRV_CPU-$last" "$(perf_memif server)" -- \
		--workers "$w" --memory "$PERF_DPC_MEMORY" >"$PERF_SRV_LOG" 2>&1 &
	PERF_PID=$!
	perf_wait_line "$PERF_SRV_LOG" 'ready' 30 || { perf_log "dpcached did not start:"; \
		tail -20 "$PERF_SRV_LOG" >&2; return 1; }
	PERF_SRV_DESC="dpcached $w worker(s) on lcore(s) $PERF_SRV_CPU-$last, memif"
}

perf_start_reflector() {
	PERF_SRV_LOG=$PERF_TMP/reflector.log
	rm -f "$PERF_SOCK"
	# shellcheck disable=SC2086
	"$PERF_BIN/dpcache-bench" --no-pci $PERF_EAL_MEM --file-prefix="dpcperf-refl$PERF_ID" \
		-l "$PERF_SRV_CPU" "$(perf_memif server)" -- --reflect --quiet "$@" >"$PERF_SRV_LOG" 2>&1 &
	PERF_PID=$!
	perf_wait_line "$PERF_SRV_LOG" 'reflect: port' 30 || { perf_log "reflector did not start:"; \
		tail -20 "$PERF_SRV_LOG" >&2; return 1; }
	PERF_SRV_DESC="dpcache-bench --reflect on lcore $PERF_SRV_CPU, memif"
}

perf_start_memcached() {
	command -v memcached >/dev/null || { perf_log "memcached not installed"; return 1; }
	PERF_SRV_LOG=$PERF_TMP/memcached.log
	taskset -c "$PERF_SRV_CPU" memcached -U "$PERF_MC_PORT" -p 0 -t 1 -l 127.0.0.1 -m 2048 -I 2m \
		-u root >"$PERF_SRV_LOG" 2>&1 &
	PERF_PID=$!
	# wait until it answers a NOOP over UDP
	for _ in $(seq 50); do
		if timeout 2 "$PERF_BIN/dpcache-bench" --transport udp --server "127.0.0.1:$PERF_MC_PORT" \
			--keys 10 --get-ratio 1 --duration 0.05 --warmup 0 --quiet >/dev/null 2>&1; then
			PERF_MC_VERSION=$(memcached -V | awk '{print $2}')
			PERF_SRV_DESC="memcached $PERF_MC_VERSION -t 1 pinned to CPU $PERF_SRV_CPU, kernel UDP"
			return 0
		fi
		sleep 0.1
	done
	perf_log "memcached did not answer"
	return 1
}

perf_bench_memif() {
	# shellcheck disable=SC2086
	"$PERF_BIN/dpcache-bench" --no-pci $PERF_EAL_MEM --file-prefix="dpcperf-cli$PERF_ID" \
		-l "$PERF_CLI_CPU" "$(perf_memif client)" -- "$@" 2> >(grep -vE '^(EAL|TELEMETRY)|mp action' >&2)
}

perf_bench_udp() {
	taskset -c "$PERF_CLI_CPU" "$PERF_BIN/dpcache-bench" --transport udp \
		--server "127.0.0.1:$PERF_MC_PORT" "$@"
}

# perf_json_get FILE EXPR   (python expression on `d`, the parsed JSON)
perf_json_get() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

perf_machine() {
	local cpu
	cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
	echo "$(nproc) CPUs, $cpu, $(uname -r)"
}
