#!/usr/bin/env bash
# Shared helpers for black-box tests: source it from a test script.
#
#   bb_init NAME            unique names for this test run (namespaces, veths,
#                           EAL file prefix, temp dir), cleanup trap installed
#   bb_netns                create BB_SRV_NS/BB_CLI_NS joined by a veth pair
#                           (server end BB_SRV_IF without IP, client BB_CLI_IF
#                           198.18.0.2/24); dpcached answers for BB_ADDR
#   bb_start_dpcached VDEV [dpcache flags...]
#                           start $DPC_BIN/dpcached in BB_SRV_NS (or the root
#                           namespace if BB_SRV_NS is empty) on the EAL --vdev
#                           VDEV; waits for its "ready" line; sets BB_PID
#   bb_stop_dpcached [SIG]  SIGTERM (or SIG, e.g. INT), wait (bounded), fail unless
#                           exit status 0 and no sanitizer report
#   bb_cli_ns CMD...        run CMD in the client namespace
#   bb_tcp_prep             ready the namespaces for TCP through dpcached's exception
#                           path: the client sends full checksums and MTU-sized segments
#                           (no TSO/GSO: a port frame is at most 2 KiB), and the server
#                           namespace drops what its kernel sees directly on the
#                           DPDK-owned veth end (rp_filter: af_packet leaves the kernel
#                           a copy of every frame; only the TAP copy must count)
#   bb_stat NAME            one counter via the STAT opcode (dpcache-cli stats)
#   bb_fail MSG             print MSG and the daemon's log tail, exit 1
#   bb_diag                 print where the running dpcached's threads are
#
# Environment: DPC_BIN (required: the build's bin/ directory), BB_TIMEOUT
# (seconds to wait for readiness, default 60: ASan builds start slowly),
# BB_EAL_MEM (default "--no-huge -m 256 --no-shconf"), BB_LCORES (default: the
# machine's last CPU alone, so that one worker runs on the main lcore; an
# argument starting with -- is passed as is, e.g. "$BB_TWO_LCORES").
# CPU 0 is left to the kernel: a poller that hogs CPU 0 stalls its workqueue
# (seen here: "BUG: workqueue lockup - pool cpus=0", then every munmap, mlock
# and process start waits on lru_add_drain).  BB_TWO_LCORES puts two lcores
# on the last CPU (two workers; they time-share it, and sleep when idle).
# Under ASan/UBSan, every report is fatal to the test: bb_stop_dpcached fails
# on any sanitizer line in the log, leaks included (dpcached frees what it
# allocates and calls rte_eal_cleanup(); measured leak-free with net_ring,
# net_af_packet and net_memif; net_af_xdp's libxdp leaks 80 bytes per port,
# suppressed in tests/blackbox/lsan.supp).

set -uo pipefail

BB_ADDR=198.18.0.1
BB_PORT=11211
BB_PID=
BB_SRV_NS=
BB_CLI_NS=
BB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# shellcheck source=../../scripts/netns.sh
. "$BB_ROOT/scripts/netns.sh"

bb_log() { echo "[$BB_NAME] $*" >&2; }

bb_fail() {
	echo "[$BB_NAME] FAIL: $*" >&2
	if [ -n "${BB_LOG:-}" ] && [ -f "$BB_LOG" ]; then
		echo "[$BB_NAME] --- dpcached log (last 40 lines) ---" >&2
		tail -n 40 "$BB_LOG" >&2
	fi
	exit 1
}

bb_cleanup() {
	local rc=$?
	if [ -n "$BB_PID" ] && kill -0 "$BB_PID" 2>/dev/null; then
		kill -TERM "$BB_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$BB_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$BB_PID" 2>/dev/null
		wait "$BB_PID" 2>/dev/null
	fi
	for p in ${BB_EXTRA_PIDS:-}; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	dpc_netns_destroy $BB_SRV_NS $BB_CLI_NS
	# a dpcached that had to be killed leaves its control socket directory behind
	[ -n "${BB_PREFIX:-}" ] && rm -rf "/run/dpcache/$BB_PREFIX"
	[ -n "${BB_TMP:-}" ] && rm -rf "$BB_TMP"
	exit $rc
}

bb_init() {
	BB_NAME=$1
	: "${DPC_BIN:?DPC_BIN must point at the bin directory of a build}"
	[ -x "$DPC_BIN/dpcached" ] || { echo "[$BB_NAME] FAIL: $DPC_BIN/dpcached missing" >&2; exit 1; }
	[ "$(id -u)" -eq 0 ] || { echo "[$BB_NAME] FAIL: needs root (namespaces)" >&2; exit 1; }
	local id=$(( $$ % 100000 ))
	BB_ID=$id
	BB_PREFIX="dpcbb${id}"
	BB_SRV_IF="dbs${id}"
	BB_CLI_IF="dbc${id}"
	BB_TMP=$(mktemp -d "/tmp/dpcbb-$BB_NAME.XXXXXX")
	BB_LOG="$BB_TMP/dpcached.log"
	BB_TIMEOUT=${BB_TIMEOUT:-60}
	BB_EAL_MEM=${BB_EAL_MEM:---no-huge -m 256 --no-shconf}
	BB_LAST_CPU=$(( $(nproc) - 1 ))
	BB_LCORES=${BB_LCORES:-$BB_LAST_CPU}
	BB_TWO_LCORES="--lcores=(0,1)@$BB_LAST_CPU"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	# leaks of third-party libraries (libxdp under net_af_xdp): tests/blackbox/lsan.supp
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$BB_ROOT/tests/blackbox/lsan.supp}
	trap bb_cleanup EXIT
	trap 'exit 130' INT TERM
}

bb_netns() {
	BB_SRV_NS="dpcbb-${BB_ID}-srv"
	BB_CLI_NS="dpcbb-${BB_ID}-cli"
	dpc_netns_destroy "$BB_SRV_NS" "$BB_CLI_NS"
	dpc_netns_create "$BB_SRV_NS" "$BB_CLI_NS" "$BB_SRV_IF" "$BB_CLI_IF" 198.18.0.2/24 ||
		bb_fail "cannot create namespaces/veth"
}

bb_cli_ns() { ip netns exec "$BB_CLI_NS" "$@"; }

bb_tcp_prep() {
	dpc_netns_tcp_prep "$BB_SRV_NS" "$BB_CLI_NS" "$BB_CLI_IF" || bb_fail "cannot prepare TCP"
}

# bb_vdev [DEFAULT]: the --vdev value for the server's end of the veth pair, for the PMD in
# BB_PMD, else DEFAULT, else by build: net_af_xdp with an ASan build, net_af_packet otherwise, so
# that make test (which runs every suite with both builds) covers both ports at no extra time.
bb_vdev() {
	local pmd=${BB_PMD:-${1:-}}
	if [ -z "$pmd" ]; then
		case ${DPC_BIN%/} in
		*asan*) pmd=af_xdp ;;
		*) pmd=af_packet ;;
		esac
	fi
	case $pmd in
	af_xdp) echo "net_af_xdp0,iface=$BB_SRV_IF,start_queue=0,queue_count=1" ;;
	af_packet) echo "net_af_packet0,iface=$BB_SRV_IF,qpairs=1,blocksz=4096,framesz=2048,framecnt=4096" ;;
	*) bb_fail "BB_PMD: '$pmd' is not af_packet or af_xdp" ;;
	esac
}

# bb_start_dpcached VDEV [dpcache flags...]
bb_start_dpcached() {
	local vdev=$1
	shift
	local lc=(-l "$BB_LCORES")
	[[ $BB_LCORES == --* ]] && lc=("$BB_LCORES") # e.g. --lcores=(0,1)@1
	local cmd=("$DPC_BIN/dpcached" "${lc[@]}" --no-pci $BB_EAL_MEM "--file-prefix=$BB_PREFIX"
		"--vdev=$vdev" -- --name "$BB_PREFIX" --address "$BB_ADDR" --port "$BB_PORT" "$@")
	[ -n "$BB_SRV_NS" ] && cmd=(ip netns exec "$BB_SRV_NS" "${cmd[@]}")
	bb_log "starting: ${cmd[*]}"
	"${cmd[@]}" >"$BB_LOG" 2>&1 &
	BB_PID=$!
	local waited=0
	while ! grep -q "dpcached: ready" "$BB_LOG" 2>/dev/null; do
		kill -0 "$BB_PID" 2>/dev/null || { wait "$BB_PID"; local rc=$?; BB_PID=;
			bb_fail "dpcached exited during start-up (status $rc)"; }
		[ $waited -ge $((BB_TIMEOUT * 10)) ] && bb_fail "dpcached not ready after ${BB_TIMEOUT}s"
		sleep 0.1
		waited=$((waited + 1))
	done
	bb_log "dpcached ready (pid $BB_PID)"
}

bb_stop_dpcached() {
	local sig=${1:-TERM}
	[ -n "$BB_PID" ] || return 0
	kill -"$sig" "$BB_PID" 2>/dev/null
	local i
	for i in $(seq 200); do
		kill -0 "$BB_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BB_PID" 2>/dev/null; then
		bb_diag
		kill -KILL "$BB_PID"
		wait "$BB_PID" 2>/dev/null
		BB_PID=
		bb_fail "dpcached did not stop within 20 s of SIG$sig"
	fi
	wait "$BB_PID"
	local rc=$?
	BB_PID=
	[ $rc -eq 0 ] || bb_fail "dpcached exited with status $rc after SIG$sig"
	grep -qE "ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:" "$BB_LOG" &&
		bb_fail "sanitizer report in the dpcached log"
	bb_log "dpcached stopped cleanly (SIG$sig, exit status 0)"
}

# bb_diag: where the running dpcached is (threads, state, CPU time, kernel wait
# channel, user stacks with gdb when installed), for a failure report
bb_diag() {
	local pid=${BB_PID:-}
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
	local dpid t
	# ip netns exec execs dpcached: BB_PID is dpcached itself
	dpid=$pid
	for t in /proc/"$dpid"/task/*; do
		echo "[$BB_NAME] thread ${t##*/} $(cat "$t/comm") cpus $(taskset -pc "${t##*/}" 2>/dev/null |
			sed 's/.*: //') state/utime/stime $(awk '{print $3, $14, $15}' "$t/stat")" \
			"wchan $(cat "$t/wchan")" >&2
	done
	if command -v gdb >/dev/null; then
		timeout 60 gdb -p "$dpid" -batch -ex "thread apply all bt 15" 2>&1 | grep -E '^(#|Thread)' >&2
	fi
}

bb_stat() {
	bb_cli_ns "$DPC_BIN/dpcache-cli" -s "$BB_ADDR:$BB_PORT" stats | awk -v n="$1" '$1 == n {print $2}'
}
