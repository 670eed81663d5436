#!/usr/bin/env bash
# Black box: one source cannot fill a forwarding ring (issue 9, fairness;
# tests/blackbox/ringshare.py).  dpcached with two workers on net_af_packet
# (qpairs=2) and --ring_size 64: a flood of quiet SETs from one source, about
# half of them writes for the other worker's partition, fills the owner's ring
# while the owner is preempted when ring_source_share is 100 (drop_ring_full);
# at 25 % (the default) the flood is cut at its share (drop_ring_share), the
# ring never fills (drop_ring_full +0) and two other sources' SETs are answered.
#   DPC_BIN=build/debug/bin tests/blackbox/test_ring_share.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init ring_share
bb_netns
[ -x "$DPC_BIN/dpcachectl" ] || bb_fail "$DPC_BIN/dpcachectl missing"
for a in 198.18.0.3 198.18.0.4; do
	bb_cli_ns ip addr add "$a/24" dev "$BB_CLI_IF" || bb_fail "cannot add $a"
done

BB_LCORES=$BB_TWO_LCORES bb_start_dpcached \
	"net_af_packet0,iface=$BB_SRV_IF,qpairs=2,blocksz=4096,framesz=2048,framecnt=4096" \
	--workers 2 --ring_size 64
bb_cli_ns timeout 120 python3 "$here/ringshare.py" "$BB_ADDR" "$BB_PORT" "$BB_CLI_IF" af_packet \
	"$DPC_BIN/dpcachectl" --name "$BB_PREFIX" --timeout 5000 || { bb_diag; bb_fail "ringshare.py"; }
bb_stop_dpcached TERM
echo "test_ring_share: PASS"
