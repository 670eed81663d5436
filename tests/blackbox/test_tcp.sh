#!/usr/bin/env bash
# Black box: memcached over TCP through dpcached's exception path.  The real
# dpcached (tcp=yes) on an af_packet port in a namespace of its own; its kernel
# TAP interface holds 198.18.0.1 and terminates TCP; clients in a second
# namespace (tests/blackbox/tcp_clients.py):
#   memccapable -b and -a (libmemcached's conformance tests), 27/27 each;
#   pymemcache and python-memcache: set, get, gets, cas, incr, decr, delete,
#   touch, multi-get, a 1 MiB value both ways, TTL;
#   raw sockets: pipelined text and binary requests, GETKQ..NOOP, noreply,
#   quit, a 1 GB request claim and a never-ending line closed, not buffered;
#   max_connections and idle_timeout changed at run time (dpcachectl), then
#   enforced; the TCP counters over STAT and dpcachectl;
#   two TCP threads (tcp_threads=2, SO_REUSEPORT listeners): 32 clients at once
#   are served, both threads accept some, curr_connections adds up over them
#   (and max_connections counts over both);
#   UDP still served beside TCP, from the same store; clean SIGTERM stop.
#   DPC_BIN=build/debug/bin tests/blackbox/test_tcp.sh
# The port: net_af_packet with the debug build, net_af_xdp with the ASan build,
# so that make test (which runs both) covers both PMDs at no extra time;
# BB_PMD=af_packet|af_xdp picks one.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init tcp
bb_netns
bb_tcp_prep

vdev=$(bb_vdev)
bb_log "port: ${vdev%%,*}"
# memccapable flushes: the client subnet may run admin commands
# two TCP threads: everything below runs against both (the default, 1, runs in
# test_differential_tcp.sh and test_twemproxy.sh)
bb_start_dpcached "$vdev" --tcp yes --tcp-threads 2 --admin subnet ${BB_DPC_FLAGS:-}
grep -q "tcp $BB_PORT (kernel interface" "$BB_LOG" || bb_fail "ready line does not name TCP"

py=/usr/bin/python3 # Debian's, with python3-pymemcache and python3-memcache
ctl=("$DPC_BIN/dpcachectl" --name "$BB_PREFIX" --timeout 5000)
clients() { bb_cli_ns timeout 120 "$py" "$here/tcp_clients.py" "$BB_ADDR" "$BB_PORT" "$@"; }
total() { # a counter's total over the control channel
	timeout 20 "${ctl[@]}" stats --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["total"][sys.argv[1]])' "$1"
}

for mode in -b -a; do
	out=$(bb_cli_ns timeout 120 memccapable -h "$BB_ADDR" -p "$BB_PORT" -t 10 "$mode" 2>&1)
	rc=$?
	echo "$out" | sed "s/^/[$BB_NAME] memccapable $mode: /" >&2
	passed=$(echo "$out" | grep -c '\[pass\]')
	[ $rc -eq 0 ] && [ "$passed" -eq 27 ] && echo "$out" | grep -q '^All tests passed' ||
		bb_fail "memccapable $mode: $passed of 27 passed (exit $rc)"
	bb_log "memccapable $mode: $passed/27 passed"
done

clients clients || bb_fail "client libraries over TCP"
clients raw || bb_fail "raw TCP requests"
clients threads 32 2 "/run/dpcache/$BB_PREFIX/dpcache_ctl.sock" || bb_fail "two TCP threads"

# the same store over UDP
v=$(bb_cli_ns "$DPC_BIN/dpcache-cli" -s "$BB_ADDR:$BB_PORT" -t 2000 get r:b) || bb_fail "UDP get"
[ "$v" = BB ] || bb_fail "a key set over TCP reads '$v' over UDP"
bb_cli_ns "$DPC_BIN/dpcache-cli" -s "$BB_ADDR:$BB_PORT" set u:k fromudp >/dev/null || bb_fail "UDP set"
bb_cli_ns "$py" -c "
from pymemcache.client.base import Client
import sys
sys.exit(Client(('$BB_ADDR', $BB_PORT), timeout=5).get('u:k') != b'fromudp')" ||
	bb_fail "a key set over UDP is not read over TCP"
bb_log "UDP and TCP share the store"

# limits changed at run time, then enforced
timeout 20 "${ctl[@]}" config set max_connections 5 >/dev/null || bb_fail "config set max_connections"
clients maxconn 5 || bb_fail "max_connections"
timeout 20 "${ctl[@]}" config set max_connections 1024 >/dev/null || bb_fail "config set max_connections"
timeout 20 "${ctl[@]}" config set idle_timeout 2 >/dev/null || bb_fail "config set idle_timeout"
clients idle 2 || bb_fail "idle_timeout"
# the allow list applies to TCP: a source outside it gets no connection and nothing back
timeout 20 "${ctl[@]}" config set allow 198.18.0.9/32 >/dev/null || bb_fail "config set allow"
clients refused || bb_fail "a source outside allow was served over TCP"
timeout 20 "${ctl[@]}" config set allow subnet >/dev/null || bb_fail "config set allow"

# admin commands over TCP follow the admin list, by the connection's peer: with admin none a
# text flush_all and a binary FLUSH are refused with the protocol's errors and the data stays
timeout 20 "${ctl[@]}" config set admin none >/dev/null || bb_fail "config set admin"
refused0=$(bb_stat refused_admin)
bb_cli_ns timeout 30 "$py" - "$BB_ADDR" "$BB_PORT" <<'PY' || bb_fail "admin commands over TCP from a peer outside admin"
import socket, struct, sys
addr = (sys.argv[1], int(sys.argv[2]))
def talk(data, want):
    s = socket.create_connection(addr, timeout=5)
    s.sendall(data)
    buf = b""
    while len(buf) < want:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    s.close()
    return buf
t = talk(b"set adm:k 0 0 2\r\nAK\r\nflush_all\r\nget adm:k\r\n", 40)
assert t == b"STORED\r\nCLIENT_ERROR permission denied\r\nVALUE adm:k 0 2\r\nAK\r\nEND\r\n", t
flush = struct.pack(">BBHBBHIIQ", 0x80, 0x08, 0, 0, 0, 0, 0, 7, 0)
b = talk(flush, 24)
assert len(b) >= 24 and b[1] == 0x08 and struct.unpack(">H", b[6:8])[0] == 0x20, b
t = talk(b"get adm:k\r\n", 25)
assert t == b"VALUE adm:k 0 2\r\nAK\r\nEND\r\n", t
print("admin over TCP: flush_all and FLUSH refused, data intact")
PY
[ "$(bb_stat refused_admin)" -ge $((refused0 + 2)) ] || bb_fail "refused_admin not counted for TCP"
timeout 20 "${ctl[@]}" config set admin subnet >/dev/null || bb_fail "config set admin"
bb_log "admin list applies over TCP (refused_admin counted)"

# counters (memcached's names), over STAT (UDP) and dpcachectl, which agree
for c in total_connections rejected_connections conn_refused idle_kicks conn_too_large curr_connections \
	conn_yields tcp_jobs tcp_jobs_run exc_to_kernel exc_from_kernel tcp_bytes_read tcp_bytes_written; do
	s=$(bb_stat "$c")
	t=$(total "$c")
	bb_log "counter $c: STAT $s, dpcachectl $t"
	[ -n "$s" ] && [ -n "$t" ] || bb_fail "counter $c missing"
	# no connection is open now: only the exception path's frames may still move
	[[ $c == exc_* ]] || [ "$s" = "$t" ] || bb_fail "counter $c: STAT says $s, dpcachectl $t"
done
[ "$(bb_stat rejected_connections)" -ge 1 ] || bb_fail "rejected_connections not counted"
[ "$(bb_stat idle_kicks)" -ge 1 ] || bb_fail "idle_kicks not counted"
[ "$(bb_stat conn_too_large)" -ge 2 ] || bb_fail "conn_too_large not counted"
[ "$(bb_stat total_connections)" -ge 20 ] || bb_fail "total_connections too low"
[ "$(bb_stat exc_from_kernel)" -gt 100 ] || bb_fail "exc_from_kernel too low"
# the pipelined 61 GETKQ + NOOP ran 20 at a time (reqs_per_event)
[ "$(bb_stat conn_yields)" -ge 1 ] || bb_fail "conn_yields not counted"
[ "$(bb_stat tcp_jobs_run)" -eq "$(bb_stat tcp_jobs)" ] || bb_fail "tcp_jobs_run != tcp_jobs"

bb_stop_dpcached TERM
echo "test_tcp: PASS"
