#!/usr/bin/env bash
# Black box: IPv4 reassembly (tests/blackbox/reasm.py).  dpcached on net_af_xdp
# (one end of a veth pair, MTU 1500) against a kernel UDP client in a second
# namespace: 20 KB, 60 KB and 65,507-byte requests in one datagram (the kernel
# fragments them), read back whole; hand-made fragments (overlapping, duplicate,
# oversized, too many, bad, incomplete until the timeout, more incomplete
# datagrams than entries, a flood beyond reasm_bytes), each on its counter; the
# server answers afterwards; clean SIGTERM shutdown with fragments still held.
# net_af_packet is not used here: its socket fanout reassembles in the kernel
# (PACKET_FANOUT_FLAG_DEFRAG) and then cuts the datagram to one frame
# (docs/design.md, "IPv4 reassembly").
#   DPC_BIN=build/debug/bin tests/blackbox/test_reasm.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init reasm
bb_netns

vdev=$(BB_PMD=af_xdp bb_vdev) || exit 1   # af_xdp whatever BB_PMD says (see above)
bb_start_dpcached "$vdev" --reasm_timeout_ms 300 --reasm_entries 16 --reasm_bytes 1M
bb_cli_ns timeout 120 python3 "$here/reasm.py" "$BB_ADDR" "$BB_PORT" "$BB_CLI_IF" af_xdp ||
	{ bb_diag; bb_fail "reasm.py"; }
# leave one incomplete datagram held: shutdown frees it (ASan: no leak, no crash)
bb_stop_dpcached TERM
echo "test_reasm: PASS"
