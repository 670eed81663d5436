#!/usr/bin/env bash
# `make run`: start dpcached on a network of its own, on a machine with no NIC.
#
#   scripts/run.sh [BUILD_DIR] [-- extra dpcache flags]
#
# Creates two network namespaces joined by a veth pair:
#   dpc-srv: dpc-srv0, no IP address; dpcached owns it through net_af_xdp
#            (falls back to net_af_packet) and answers for 198.18.0.1; TCP on the
#            same address and port through its exception interface dpc-dpcache
#            (a kernel TAP interface that dpcached creates: tcp=yes)
#   dpc-cli: dpc-cli0 with 198.18.0.2/24, for clients (dpcache-cli, dpcache-bench,
#            any memcached client over TCP)
# reserves hugepages when it can (scripts/hugepages.sh; else --no-huge), starts
# dpcached there and prints what to paste.  Ctrl-C stops dpcached and removes
# the namespaces.  Environment: DPC_RUN_PMD=af_xdp|af_packet forces a port
# driver, DPC_RUN_LCORES the EAL core list (default: the last CPU alone; one
# worker then runs on the main lcore, and it sleeps when idle: idle_sleep_us).
set -uo pipefail

build=${1:-build/release}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
bin=$build/bin
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
. scripts/netns.sh

SRV=dpc-srv CLI=dpc-cli SIF=dpc-srv0 CIF=dpc-cli0
ADDR=198.18.0.1 PORT=11211 NAME=dpcache
lcores=${DPC_RUN_LCORES:-$(( $(nproc) - 1 ))}
pid=
log=$(mktemp /tmp/dpcache-run.XXXXXX.log)

die() { echo "run.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, hugepages)"
[ -x "$bin/dpcached" ] || die "$bin/dpcached not built (make FLAVOUR=release bins)"

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		echo
		echo "run.sh: stopping dpcached (pid $pid)"
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && { echo "run.sh: dpcached did not stop, killing it"; kill -KILL "$pid"; }
		wait "$pid" 2>/dev/null
		echo "run.sh: dpcached exited with status $?"
	fi
	dpc_netns_destroy "$SRV" "$CLI"
	echo "run.sh: removed namespaces $SRV and $CLI"
	rm -f "$log"
}

# Our namespaces from an earlier run: reuse the names, unless one is in use.
for ns in "$SRV" "$CLI"; do
	if dpc_netns_busy "$ns"; then
		die "namespace $ns is in use (another make run?): pids $(ip netns pids "$ns" | tr '\n' ' ')"
	fi
done
dpc_netns_destroy "$SRV" "$CLI"
trap cleanup EXIT
trap 'exit 130' INT TERM
dpc_netns_create "$SRV" "$CLI" "$SIF" "$CIF" "198.18.0.2/24" || die "cannot create the veth network"
dpc_netns_tcp_prep "$SRV" "$CLI" "$CIF" || die "cannot prepare the veth network for TCP"

mem_args=$(scripts/hugepages.sh --eal-args)

start() { # start PMD: 0 when dpcached reports ready
	local vdev pmd=$1
	shift
	case $pmd in
	af_xdp) vdev="net_af_xdp0,iface=$SIF,start_queue=0,queue_count=1" ;;
	af_packet) vdev="net_af_packet0,iface=$SIF,qpairs=1,blocksz=4096,framesz=2048,framecnt=4096" ;;
	esac
	# shellcheck disable=SC2086
	ip netns exec "$SRV" "$bin/dpcached" -l "$lcores" --no-pci $mem_args --file-prefix="$NAME" \
		--vdev="$vdev" -- --name "$NAME" --address "$ADDR" --port "$PORT" --tcp yes "$@" >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 600); do # 60 s: a busy machine may be slow to fault in hugepages
		grep -q "dpcached: ready" "$log" && return 0
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; pid=; return 1; }
		sleep 0.1
	done
	return 1
}

pmds=${DPC_RUN_PMD:-af_xdp af_packet}
ok=
for pmd in $pmds; do
	if start "$pmd" "$@"; then
		ok=$pmd
		break
	fi
	echo "run.sh: dpcached did not start on net_$pmd:" >&2
	sed 's/^/    /' "$log" | tail -n 15 >&2
	[ -n "$pid" ] && { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }
done
[ -n "$ok" ] || die "dpcached could not start on any port driver ($pmds)"
cat "$log"

cli="ip netns exec $CLI $bin/dpcache-cli -s $ADDR:$PORT"
cat <<EOF

dpcached is running (pid $pid) on net_$ok in namespace $SRV.
  address  $ADDR   (ARP and ping answered by dpcached)
  UDP port $PORT   (memcached binary and text protocols, memcached UDP frame header)
  TCP port $PORT   (the same protocols and store; the kernel terminates TCP behind dpcached)
  client   namespace $CLI, interface $CIF, 198.18.0.2/24
  sources  answered: allow = subnet (198.18.0.0/24); flush_all, stats reset, verbosity over
           UDP: admin = none (dpcachectl flush works); docs/operations.md "Security"

Paste into another terminal:
  $cli set foo bar
  $cli get foo
  $cli stats
  ip netns exec $CLI /usr/bin/python3 -c "from pymemcache.client.base import Client; c = Client(('$ADDR', $PORT)); c.set('hello', 'over tcp'); print(c.get('hello'), c.get('foo'))"
  ip netns exec $CLI bash -c 'exec 3<>/dev/tcp/$ADDR/$PORT; printf "get foo hello\\r\\nquit\\r\\n" >&3; cat <&3'
EOF
if command -v memccapable >/dev/null; then
	# memccapable flushes: admin commands need the client in `admin`
	echo "  $bin/dpcachectl --name $NAME config set admin subnet"
	echo "  ip netns exec $CLI memccapable -h $ADDR -p $PORT -b"
fi
if command -v ping >/dev/null; then
	echo "  ip netns exec $CLI ping -c 3 $ADDR"
fi
if [ -x "$bin/dpcachectl" ]; then
	echo "  $bin/dpcachectl --name $NAME stats"
fi
echo
echo "Ctrl-C stops dpcached and removes the namespaces.  Log follows:"
tail -n 0 -f "$log" --pid="$pid" &
tailpid=$!
wait "$pid"
rc=$?
pid=
kill "$tailpid" 2>/dev/null
echo "run.sh: dpcached exited with status $rc"
exit $rc
