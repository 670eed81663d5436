#!/usr/bin/env bash
# Black box, hostile traffic (issue 9): dpcached (net_af_packet with the debug build, net_af_xdp with ASan: bb_vdev) with its
# default exposure settings plus one allowed-but-untrusted prefix
# (--allow subnet,203.0.113.0/24), attacked from the client namespace with
# raw sockets by tests/blackbox/hostile.py, which counts every frame that
# comes back on the client's interface and prints, per case, bytes in, bytes
# out and their ratio:
#   forged sources outside allow        nothing comes back
#   1 MiB GET from an untrusted source  bytes back <= 3 x bytes sent
#   forged flush_all / FLUSH            refused (AUTH_ERROR / CLIENT_ERROR), cache intact
#   broadcast/multicast/martian sources dropped, nothing back, counted by reason
#   forged GET flood at one victim      bytes to the victim <= its src_rate bucket
#   APPEND flood                        another client keeps being answered
#   control socket: NUL byte, slow client   dpcached lives and answers others
# Then dpcached must still answer and stop cleanly (exit 0, no sanitizer report).
#   DPC_BIN=build/debug/bin tests/blackbox/test_hostile.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init hostile
bb_netns
[ -x "$DPC_BIN/dpcachectl" ] || bb_fail "$DPC_BIN/dpcachectl missing"

bb_start_dpcached "$(bb_vdev)" \
	--allow "subnet,203.0.113.0/24" --memory 512M
sock=/run/dpcache/$BB_PREFIX/dpcache_ctl.sock
[ -S "$sock" ] || bb_fail "no control socket for $BB_PREFIX"

# BB_HOSTILE_CTL=skip leaves out the control-socket case.
BB_HOSTILE_CTL=${BB_HOSTILE_CTL:-run} bb_cli_ns timeout 120 python3 "$here/hostile.py" "$BB_ADDR" "$BB_PORT" "$BB_CLI_IF" \
	"$DPC_BIN/dpcachectl" "$BB_PREFIX" "$sock"
rc=$?
bb_log "counters: $(timeout 20 "$DPC_BIN/dpcachectl" --name "$BB_PREFIX" stats --json 2>/dev/null |
	python3 -c 'import json, sys; t = json.load(sys.stdin)["total"]
print(" ".join("%s=%d" % (k, v) for k, v in t.items() if v and (k.startswith("drop_") or
      k in ("rx_packets", "tx_packets", "refused_admin", "resp_budget_cut"))))')"
[ $rc -eq 0 ] || bb_fail "hostile.py: a case failed (table above)"
v=$(bb_cli_ns "$DPC_BIN/dpcache-cli" -s "$BB_ADDR:$BB_PORT" -t 2000 version) ||
	bb_fail "dpcached no longer answers after the attacks"
bb_log "still answering: $v"
bb_stop_dpcached TERM
rm -rf "/var/run/dpdk/$BB_PREFIX" # EAL's runtime dir of our unique prefix
echo "test_hostile: PASS"
