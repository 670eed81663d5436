#!/usr/bin/env bash
# Black box: the real dpcached on an af_packet port (one end of a veth pair
# in a namespace of its own) against an ordinary kernel UDP client in a
# second namespace (tests/blackbox/kernel_udp.py: every opcode, multi-get,
# CAS, TTL, 100 KiB and 1 MiB values over many datagrams, malformed
# datagrams and frames with their drop counters, ARP, ICMP echo, the text
# protocol), then a clean SIGTERM shutdown (exit status 0); the same with two
# workers (writes handed to their owner), stopped by SIGINT.  Also dpcache-cli.
#   DPC_BIN=build/debug/bin tests/blackbox/test_kernel_udp.sh
# BB_PMD=af_xdp runs it over net_af_xdp instead of net_af_packet.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init kernel_udp
bb_netns

pmd=${BB_PMD:-af_packet}
vdev=$(bb_vdev "$pmd") || exit 1
# --admin subnet: kernel_udp.py sends FLUSH (admin commands: nobody by default).
bb_start_dpcached "$vdev" --admin subnet ${BB_DPC_FLAGS:-}

cli=("$DPC_BIN/dpcache-cli" -s "$BB_ADDR:$BB_PORT" -t 2000)
# drops: the packet and non-zero drop counters, for the log (lost datagrams show up
# here); over the control channel, which works when the port does not
drops() {
	bb_log "counters: $(timeout 20 "$DPC_BIN/dpcachectl" --name "$BB_PREFIX" stats --json |
		python3 -c 'import json, sys; t = json.load(sys.stdin)["total"]
print(" ".join("%s=%d" % (k, v) for k, v in t.items() if v and (k.startswith("drop_") or
      k in ("rx_packets", "tx_packets", "resp_datagrams", "idle_sleeps"))))')"
}
# dpcache-cli: exit codes are part of its contract
bb_cli_ns "${cli[@]}" set bb:cli hello >/dev/null || bb_fail "dpcache-cli set"
v=$(bb_cli_ns "${cli[@]}" get bb:cli) || bb_fail "dpcache-cli get (status $?)"
[ "$v" = hello ] || bb_fail "dpcache-cli get returned '$v'"
bb_cli_ns "${cli[@]}" get bb:nope >/dev/null 2>&1
[ $? -eq 1 ] || bb_fail "dpcache-cli get of a missing key must exit 1"
bb_cli_ns "${cli[@]}" add bb:cli x >/dev/null 2>&1
[ $? -eq 1 ] || bb_fail "dpcache-cli add of an existing key must exit 1"
[ "$(bb_cli_ns "${cli[@]}" incr bb:n 3 7)" = 7 ] || bb_fail "dpcache-cli incr with initial"
[ "$(bb_cli_ns "${cli[@]}" incr bb:n 3)" = 10 ] || bb_fail "dpcache-cli incr"
[ "$(bb_cli_ns "${cli[@]}" get bb:cli bb:nope bb:n 2>/dev/null)" = "bb:cli hello
bb:n 10" ] || bb_fail "dpcache-cli multi-get"
bb_cli_ns "${cli[@]}" stats | grep -q '^rx_packets [1-9]' || bb_fail "dpcache-cli stats"
bb_cli_ns "${cli[@]}" -r 0 -t 300 -s "$BB_ADDR:$((BB_PORT + 1))" version >/dev/null 2>&1
[ $? -eq 2 ] || bb_fail "dpcache-cli to a port nobody serves must time out with exit 2"

bb_cli_ns timeout 240 python3 "$here/kernel_udp.py" "$BB_ADDR" "$BB_PORT" "$BB_CLI_IF" "$pmd" ||
	{ drops; bb_diag; bb_fail "kernel_udp.py"; }
drops
[ "$(bb_stat drop_udp_port)" -ge 1 ] || bb_fail "the datagram to an unserved port was not counted"
# The idle back-off (idle_sleep_us, default on) slept while the client waited (e.g. the TTL test).
[ "$(bb_stat idle_sleeps)" -ge 1 ] || bb_fail "the idle worker never backed off (idle_sleeps=0)"
bb_stop_dpcached TERM

# Two workers (two queue pairs, two partitions; the main lcore runs worker 0;
# both lcores on the last CPU, see lib.sh):
# one client flow lands on one queue, so writes for the other partition are
# handed to their owner through its ring and answered from there.
case $pmd in
af_xdp) vdev2=$vdev ;; # one veth queue: af_xdp cannot open two here
*) vdev2="${vdev/qpairs=1/qpairs=2}" ;;
esac
if [ "$vdev2" != "$vdev" ]; then
	BB_LCORES=$BB_TWO_LCORES bb_start_dpcached "$vdev2" --workers 2 --admin subnet
	bb_cli_ns timeout 240 python3 "$here/kernel_udp.py" "$BB_ADDR" "$BB_PORT" "$BB_CLI_IF" "$pmd" ||
		{ drops; bb_diag; bb_fail "kernel_udp.py with two workers"; }
	drops
	fwd=$(bb_stat forwarded_out)
	[ "${fwd:-0}" -ge 1 ] || bb_fail "two workers: no write was forwarded to its owner (forwarded_out=$fwd)"
	[ "$(bb_stat forwarded_in)" = "$fwd" ] || bb_fail "forwarded_in != forwarded_out"
	bb_log "two workers: $fwd datagrams forwarded to their owner"
	bb_stop_dpcached INT
fi
echo "test_kernel_udp: PASS"
