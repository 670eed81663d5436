#!/usr/bin/env bash
# Black box: fairness under load (tests/blackbox/fairness.py) on net_af_xdp,
# one worker: a small reply overtakes a 754-datagram response (chunked
# sending); max_response_datagrams changed at run time caps responses with an
# E2BIG / SERVER_ERROR answer; with fragments held up to reasm_bytes and the
# send backlog overflowing, small requests are still answered and no reply
# lacks an mbuf.
#   DPC_BIN=build/debug/bin tests/blackbox/test_fairness.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init fairness
bb_netns

# af_xdp whatever BB_PMD says: fairness.py's requests held as fragments need dpcached's reassembly
# (net_af_packet's fanout reassembles in the kernel and cuts them to one frame: test_reasm.sh)
vdev=$(BB_PMD=af_xdp bb_vdev) || exit 1
bb_start_dpcached "$vdev" --reasm_bytes 1M
bb_cli_ns timeout 150 python3 "$here/fairness.py" "$BB_ADDR" "$BB_PORT" "$BB_CLI_IF" af_xdp \
	"$DPC_BIN/dpcachectl" --name "$BB_PREFIX" --timeout 5000 || { bb_diag; bb_fail "fairness.py"; }
bb_stop_dpcached TERM
echo "test_fairness: PASS"
