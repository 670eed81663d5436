#!/usr/bin/env bash
# Black box, third-party clients from Debian's libmemcached-tools against
# dpcached over UDP, with Debian's memcached 1.6 as the reference:
#   - memccapable -b and -a (27 sub-tests each; TCP only, so carried over UDP by
#     tests/blackbox/tcp2udp.py: one request per datagram, multi-datagram replies
#     put together), 27/27 each required from dpcached;
#   - memcslap -U -b -t set (binary SETQ over UDP, fire and forget; the server's
#     total_items shows what was stored);
#   - memcaslap -U (text over UDP, 10 % of the GETs verified): 0 verify failures.
# Each run is bounded (timeout, request counts).  memccapable's lines are printed.
#   DPC_BIN=build/debug/bin tests/blackbox/test_memccapable.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init memccapable
for t in memcached memccapable memcslap memcaslap; do
	command -v $t >/dev/null || bb_fail "$t is not installed (scripts/deps.sh)"
done
bb_netns

MC_PORT=11311 SHIM_DP=23001 SHIM_MC=23002
ip netns exec "$BB_CLI_NS" memcached -U "$MC_PORT" -p 0 -l 127.0.0.1 -t 1 -u nobody -m 64 \
	>"$BB_TMP/memcached.log" 2>&1 &
MC_PID=$!
BB_EXTRA_PIDS="$MC_PID" # stopped by bb_cleanup even if dpcached fails to start
# --admin subnet: memccapable flushes (admin commands: nobody by default)
bb_start_dpcached "$(bb_vdev)" \
	--admin subnet
ip netns exec "$BB_CLI_NS" python3 "$here/tcp2udp.py" --listen "127.0.0.1:$SHIM_DP" \
	--server "$BB_ADDR:$BB_PORT" --seconds 150 >"$BB_TMP/shim-dp.log" 2>&1 &
SHIM1=$!
ip netns exec "$BB_CLI_NS" python3 "$here/tcp2udp.py" --listen "127.0.0.1:$SHIM_MC" \
	--server "127.0.0.1:$MC_PORT" --seconds 150 >"$BB_TMP/shim-mc.log" 2>&1 &
SHIM2=$!
BB_EXTRA_PIDS="$MC_PID $SHIM1 $SHIM2"
for _ in $(seq 50); do
	grep -q tcp2udp "$BB_TMP/shim-dp.log" && grep -q tcp2udp "$BB_TMP/shim-mc.log" && break
	sleep 0.1
done
kill -0 "$MC_PID" 2>/dev/null || bb_fail "memcached did not start: $(cat "$BB_TMP/memcached.log")"

# stat NAME HOST:PORT: one general statistic over UDP (binary STAT)
stat() {
	bb_cli_ns python3 - "$1" "$2" <<'PY'
import socket, struct, sys
name, (host, port) = sys.argv[1].encode(), sys.argv[2].rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(struct.pack(">HHHH", 7, 0, 1, 0) + struct.pack(">BBHBBHIIQ", 0x80, 0x10, 0, 0, 0, 0, 0, 0, 0),
         (host, int(port)))
buf = {}
while True:
    d = s.recv(65536)
    rid, seq, tot, _ = struct.unpack(">HHHH", d[:8])
    buf[seq] = d[8:]
    if len(buf) == tot:
        break
b = b"".join(buf[i] for i in sorted(buf))
while len(b) >= 24:
    _, _, kl, el, _, _, bl, _, _ = struct.unpack(">BBHBBHIIQ", b[:24])
    if b[24 + el:24 + el + kl] == name:
        print(b[24 + el + kl:24 + bl].decode())
    b = b[24 + bl:]
PY
}

fail=0
declare -A passed stored
for target in memcached dpcached; do
	port=$SHIM_MC
	[ $target = dpcached ] && port=$SHIM_DP
	for mode in -b -a; do
		out=$(bb_cli_ns timeout 90 memccapable -h 127.0.0.1 -p "$port" -t 5 $mode 2>&1)
		n=$(grep -c '\[pass\]' <<<"$out")
		passed[$target$mode]=$n
		sed "s/^/[memccapable] $target $mode: /" <<<"$out"
		echo "[memccapable] $target $mode: $n/27 passed"
	done
done
for mode in -b -a; do
	[ "${passed[dpcached$mode]}" = 27 ] || { echo "memccapable $mode: dpcached passed ${passed[dpcached$mode]}/27"; fail=1; }
done

# memcslap: binary SETQ over UDP, fire and forget, 2 threads x 2000; memcached first as the
# reference (a client that does not wait loses datagrams in socket buffers on the way: dpcached
# must store at least as many as memcached does)
for target in memcached dpcached; do
	srv=127.0.0.1:$MC_PORT
	[ $target = dpcached ] && srv=$BB_ADDR:$BB_PORT
	before=$(stat total_items "$srv")
	out=$(bb_cli_ns timeout 60 memcslap --servers="$srv" --udp --binary --test=set \
		--concurrency=2 --execute-number=2000 2>&1)
	rc=$?
	sleep 0.3
	after=$(stat total_items "$srv")
	echo "[memcslap] $target: $(grep -E 'Time to set' <<<"$out" | tr -s ' ') (status $rc); total_items $before -> $after"
	[ $rc -eq 0 ] || { echo "memcslap against $target failed: $out"; fail=1; }
	stored[$target]=$((after - before))
	if [ $target = dpcached ]; then
		echo "[memcslap] dpcached: rx_packets $(stat rx_packets "$srv"), drops: $(bb_cli_ns "$DPC_BIN/dpcache-cli" \
			-s "$srv" stats | awk '$1 ~ /^drop_/ && $2 > 0 {printf "%s=%s ", $1, $2}')"
		[ "${stored[dpcached]}" -ge "${stored[memcached]}" ] ||
			{ echo "memcslap: dpcached stored ${stored[dpcached]}, memcached ${stored[memcached]}"; fail=1; }
	fi
done

# memcaslap: text over UDP, 20000 operations (10 % sets), 10 % of the GETs verified, 200-byte values
for target in memcached dpcached; do
	srv=127.0.0.1:$MC_PORT
	[ $target = dpcached ] && srv=$BB_ADDR:$BB_PORT
	out=$(bb_cli_ns timeout 60 memcaslap -s "$srv" -U -x 20000 -T 1 -c 8 -v 0.1 -X 200 2>&1)
	rc=$?
	vf=$(awk '/^verify_failed:/ {print $2}' <<<"$out")
	echo "[memcaslap] $target: status $rc, $(grep -E '^(cmd_get|cmd_set|get_misses|verify_misses|verify_failed|packet_drop|udp_timeout):' <<<"$out" | tr '\n' ' ')"
	if [ $target = dpcached ] && { [ $rc -ne 0 ] || [ "${vf:-x}" != 0 ]; }; then
		echo "memcaslap against dpcached: status $rc, verify_failed=${vf:-?}"
		fail=1
	fi
done

for p in $SHIM1 $SHIM2 $MC_PID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
BB_EXTRA_PIDS=
bb_stop_dpcached TERM
[ $fail -eq 0 ] || bb_fail "third-party clients: see above"
echo "test_memccapable: PASS"
