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
#   perf_bench_dry ARGS      dpcache-bench --dry-run on lcore 1 (bench + reflector, one thread)
#   perf_psi                 CPU pressure (% of the last 10 s some task waited for a CPU)
#
# Every busy-polling process runs under `timeout` (PERF_RUN_LIMIT seconds on top of
# its own --duration/--warmup) and is stopped by PID: never left running.
#
# Environment: PERF_SRV_CPU (0), PERF_CLI_CPU (1), PERF_EAL_MEM ("--no-huge -m 512
# --no-shconf"), PERF_DPC_MEMORY (512M), PERF_MC_PORT (11311), PERF_DPC_ARGS (extra
# dpcached flags), PERF_WAIT_QUIET (0 s), PERF_QUIET_PSI (15 %), PERF_RUN_LIMIT (30),
# PERF_SRV_LIMIT (300: a server is killed by its own `timeout` after that many seconds
# even if this script dies), PERF_KEEP (keep the servers' logs), PERF_SRV_PIN (1: every
# thread of dpcached and of the reflector stays on the server's CPUs, see below; 0: only
# the lcores are pinned, EAL's rule puts the other threads on the remaining CPUs),
# PERF_MC_MEMORY (2048 MB, memcached -m), PERF_MC_ARGS (-I 2m: extra memcached flags).

set -uo pipefail

PERF_SRV_CPU=${PERF_SRV_CPU:-0}
PERF_CLI_CPU=${PERF_CLI_CPU:-1}
PERF_EAL_MEM=${PERF_EAL_MEM:---no-huge -m 512 --no-shconf}
PERF_DPC_MEMORY=${PERF_DPC_MEMORY:-512M}
PERF_MC_PORT=${PERF_MC_PORT:-11311}
PERF_DPC_ARGS=${PERF_DPC_ARGS:-}
PERF_MC_MEMORY=${PERF_MC_MEMORY:-2048}
PERF_MC_ARGS=${PERF_MC_ARGS:--I 2m}
PERF_RUN_LIMIT=${PERF_RUN_LIMIT:-30}
PERF_SRV_LIMIT=${PERF_SRV_LIMIT:-300}
# PERF_SRV_PIN=1 (default): start the server under `taskset -c <its lcores' CPUs>`.  dpcached
# puts its non-worker threads (the store's reclaimer, dpc-ctl, EAL's interrupt and telemetry
# threads) on the CPUs its lcores do not use, which on a 2-CPU machine is the bench's CPU:
# the reclaimer alone woke ~5000 times a second there and took 10-16 % of that CPU under a
# 10 % SET load (measured with `ps -eLo pid,tid,psr,comm` and /proc/PID/task/*/stat), the
# bench thread ran 86-88 % of the time.  Pinned, the server's whole cost stays on the
# server's CPU, where a one-core comparison must count it.  Write-heavy runs want 0: a
# reclaimer behind a busy worker delays grace periods and writes get transient ENOMEM.
PERF_SRV_PIN=${PERF_SRV_PIN:-1}
# PERF_NICE=N (e.g. -5): run servers and bench at that nice level, so that other jobs on a
# shared machine disturb the measurement less (CFS weight; never a real-time class: a
# busy poller at real-time priority would starve the kernel's own work on that CPU).
PERF_NICE=${PERF_NICE:-0}
PERF_PID=
PERF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

perf_log() { echo "[perf] $*" >&2; }

# perf_cmd CMD...: run CMD; with PERF_CMDLOG set, append it (shell-quoted) to that file first.
# perf_exec CMD...: the same, but exec'd: `perf_exec CMD &` leaves $! = CMD's own PID.
perf_cmd() {
	if [ -n "${PERF_CMDLOG:-}" ]; then
		printf '%q ' "$@" | sed 's/ $//' >>"$PERF_CMDLOG"
		echo >>"$PERF_CMDLOG"
	fi
	"$@"
}

perf_exec() {
	if [ -n "${PERF_CMDLOG:-}" ]; then
		printf '%q ' "$@" | sed 's/ $//' >>"$PERF_CMDLOG"
		echo " &" >>"$PERF_CMDLOG"
	fi
	exec "$@"
}

perf_stop() {
	if [ -n "$PERF_PID" ] && kill -0 "$PERF_PID" 2>/dev/null; then
		kill -TERM "$PERF_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PERF_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$PERF_PID" 2>/dev/null; then
			# PERF_PID is `timeout`; its child is the server: both by PID
			for c in $(pgrep -P "$PERF_PID"); do kill -KILL "$c" 2>/dev/null; done
			kill -KILL "$PERF_PID" 2>/dev/null
		fi
	fi
	[ -n "$PERF_PID" ] && wait "$PERF_PID" 2>/dev/null
	PERF_PID=
	return 0
}

perf_cleanup() {
	local rc=$? d
	perf_stop
	# EAL runtime directories of this run's processes (their names carry our PID)
	for d in /var/run/dpdk/dpcperf-{cli,srv,refl,dry}"${PERF_ID:-none}"; do
		[ -d "$d" ] && rm -rf "$d"
	done
	if [ -n "${PERF_TMP:-}" ]; then
		if [ -n "${PERF_KEEP:-}" ]; then perf_log "logs kept in $PERF_TMP"; else rm -rf "$PERF_TMP"; fi
	fi
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

# perf_srv_pin CPUS: the taskset prefix that keeps a server's every thread on CPUS (PERF_SRV_PIN)
perf_srv_pin() {
	[ "${PERF_SRV_PIN:-1}" != 0 ] && echo "taskset -c $1"
}

# PERF_SRV_LCORES (e.g. "--lcores=(0-3)@0") and PERF_SRV_CPUS ("0"): dpcached's EAL lcore
# argument and the CPUs its threads are pinned to, instead of lcores = CPUs PERF_SRV_CPU..+W-1
# (perf/scaling.sh: more workers than CPUs).  PERF_CLI_LCORES likewise for the bench.
perf_start_dpcached() {
	local w=${1:-1} last lc cpus
	[ -x "$PERF_BIN/dpcached" ] || { perf_log "$PERF_BIN/dpcached missing"; return 1; }
	last=$((PERF_SRV_CPU + w - 1))
	lc=${PERF_SRV_LCORES:--l $PERF_SRV_CPU-$last}
	cpus=${PERF_SRV_CPUS:-$PERF_SRV_CPU-$last}
	PERF_SRV_LOG=$PERF_TMP/dpcached.log
	rm -f "$PERF_SOCK"
	# shellcheck disable=SC2086
	# --name is also its EAL --file-prefix and names its control socket (dpcachectl --name)
	PERF_DPC_NAME=dpcperf-srv$PERF_ID
	perf_exec timeout -k 5 "$PERF_SRV_LIMIT" nice -n "$PERF_NICE" $(perf_srv_pin "$cpus") \
		"$PERF_BIN/dpcached" --no-pci $PERF_EAL_MEM \
		$lc "$(perf_memif server)" -- \
		--workers "$w" --memory "$PERF_DPC_MEMORY" --name "$PERF_DPC_NAME" $PERF_DPC_ARGS \
		>"$PERF_SRV_LOG" 2>&1 &
	PERF_PID=$!
	perf_wait_line "$PERF_SRV_LOG" 'ready' 30 || { perf_log "dpcached did not start:"; \
		tail -20 "$PERF_SRV_LOG" >&2; return 1; }
	PERF_SRV_DESC="dpcached $w worker(s) on CPU(s) $cpus, memif"
}

# perf_dpc_stats FILE: dpcached's counters (dpcachectl stats --json) into FILE
perf_dpc_stats() {
	timeout 10 "$PERF_BIN/dpcachectl" --name "$PERF_DPC_NAME" stats --json >"$1" 2>/dev/null
}

# perf_dpc_ctl ARGS: dpcachectl ARGS against the dpcached started last (output discarded)
perf_dpc_ctl() {
	timeout 10 "$PERF_BIN/dpcachectl" --name "$PERF_DPC_NAME" "$@" >/dev/null 2>&1
}

perf_start_reflector() {
	PERF_SRV_LOG=$PERF_TMP/reflector.log
	rm -f "$PERF_SOCK"
	# shellcheck disable=SC2086
	perf_exec nice -n "$PERF_NICE" $(perf_srv_pin "$PERF_SRV_CPU") "$PERF_BIN/dpcache-bench" \
		--no-pci $PERF_EAL_MEM --file-prefix="dpcperf-refl$PERF_ID" \
		-l "$PERF_SRV_CPU" "$(perf_memif server)" -- --reflect --quiet \
		--reflect-seconds "$PERF_SRV_LIMIT" "$@" >"$PERF_SRV_LOG" 2>&1 &
	PERF_PID=$!
	perf_wait_line "$PERF_SRV_LOG" 'reflect: port' 30 || { perf_log "reflector did not start:"; \
		tail -20 "$PERF_SRV_LOG" >&2; return 1; }
	PERF_SRV_DESC="dpcache-bench --reflect on lcore $PERF_SRV_CPU, memif"
}

perf_start_memcached() {
	command -v memcached >/dev/null || { perf_log "memcached not installed"; return 1; }
	PERF_SRV_LOG=$PERF_TMP/memcached.log
	# shellcheck disable=SC2086
	perf_exec timeout -k 5 "$PERF_SRV_LIMIT" nice -n "$PERF_NICE" taskset -c "$PERF_SRV_CPU" \
		memcached -U "$PERF_MC_PORT" -p 0 -t 1 -l 127.0.0.1 -m "$PERF_MC_MEMORY" $PERF_MC_ARGS \
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

# Seconds a bench run may take: its own warm-up + duration (read from ARGS) + PERF_RUN_LIMIT.
perf_limit() {
	local a w=1 d=5 prev=
	for a in "$@"; do
		case $prev in --warmup) w=$a ;; --duration) d=$a ;; esac
		prev=$a
	done
	python3 -c "import math,sys; print(math.ceil(float(sys.argv[1]) + float(sys.argv[2]) + \
int(sys.argv[3])))" "$w" "$d" "$PERF_RUN_LIMIT"
}

# With PERF_WAIT_QUIET=S: before a measurement, wait up to S seconds for the machine's
# CPU pressure (avg10) to fall below PERF_QUIET_PSI (15) %: other work disturbs the figures.
perf_wait_quiet() {
	local s=${PERF_WAIT_QUIET:-0} p i
	[ "$s" -gt 0 ] || return 0
	for ((i = 0; i < s; i++)); do
		p=$(perf_psi)
		python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" \
			"$p" "${PERF_QUIET_PSI:-15}" && return 0
		sleep 1
	done
	perf_log "machine still busy after ${s} s (CPU pressure $(perf_psi) %): measuring anyway"
}

perf_bench_memif() {
	perf_wait_quiet
	# shellcheck disable=SC2086
	perf_cmd timeout -k 5 "$(perf_limit "$@")" nice -n "$PERF_NICE" "$PERF_BIN/dpcache-bench" \
		--no-pci $PERF_EAL_MEM \
		--file-prefix="dpcperf-cli$PERF_ID" ${PERF_CLI_LCORES:--l $PERF_CLI_CPU} "$(perf_memif client)" -- "$@" \
		2> >(grep -vE '^(EAL|TELEMETRY)|mp action|memif_connect_client' >&2)
}

perf_bench_udp() {
	perf_wait_quiet
	perf_cmd timeout -k 5 "$(perf_limit "$@")" nice -n "$PERF_NICE" taskset -c "$PERF_CLI_CPU" \
		"$PERF_BIN/dpcache-bench" \
		--transport udp --server "127.0.0.1:$PERF_MC_PORT" "$@"
}

perf_bench_dry() {
	perf_wait_quiet
	# shellcheck disable=SC2086
	perf_cmd timeout -k 5 "$(perf_limit "$@")" nice -n "$PERF_NICE" "$PERF_BIN/dpcache-bench" \
		--no-pci $PERF_EAL_MEM \
		--file-prefix="dpcperf-dry$PERF_ID" -l "$PERF_CLI_CPU" -- --dry-run "$@" \
		2> >(grep -vE '^(EAL|TELEMETRY)|mp action|memif_connect_client' >&2)
}

perf_psi() {
	awk '/^some/ { sub("avg10=", "", $2); print $2; exit }' /proc/pressure/cpu 2>/dev/null || echo -1
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
