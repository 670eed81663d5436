#!/usr/bin/env bash
# Black box: test_kernel_udp.sh over net_af_xdp, the port `make run` uses
# (test_kernel_udp.sh itself runs over net_af_packet): every opcode, the text
# protocol, malformed frames, 100 KiB and 1 MiB values, ten 1 MiB GETs in a
# row then a small request, TTL; one worker (one veth queue: af_xdp cannot
# open two here).
#   DPC_BIN=build/debug/bin tests/blackbox/test_kernel_udp_xdp.sh
here=$(cd "$(dirname "$0")" && pwd)
BB_PMD=af_xdp exec "$here/test_kernel_udp.sh" "$@"
