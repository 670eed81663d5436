#!/usr/bin/env bash
# Black box: a fleet of three dpcached behind twemproxy (Debian's nutcracker).
#
#   namespace ...-cli: nutcracker (two pools over the same three servers:
#       `hash: md5` on 127.0.0.1:22122, twemproxy's default `hash: fnv1a_64` on
#       127.0.0.1:22123; both `distribution: ketama`, `auto_eject_hosts: true`),
#       and the clients; three veth pairs, 198.18.{1,2,3}.2/24
#   namespaces ...-s1/s2/s3: one dpcached each (tcp=yes, af_packet port,
#       198.18.{1,2,3}.1), all on the last CPU, sleeping when idle
#
# 1. Keys written through each pool over TCP (pymemcache) are read straight from
#    the dpcached over UDP (dpcache-cli): each key is on the server that
#    dpcache-cli's ketama picks with the pool's hash (`dpcache-cli -s A,B,C -H
#    HASH server KEY`), and on no other.
# 2. Stopping one dpcached makes twemproxy eject it (server_failure_limit 1):
#    writes go on (a request or two time out first), keys on the other two are
#    still served through the proxy, and the new keys are on the server that
#    the ketama of the two live servers picks.
#   DPC_BIN=build/debug/bin tests/blackbox/test_twemproxy.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init twemproxy
command -v nutcracker >/dev/null || bb_fail "nutcracker (twemproxy) not installed"

py=/usr/bin/python3 # Debian's, with python3-pymemcache
NKEYS=${TW_KEYS:-40}
CLI="dpcbb-${BB_ID}-tcli"
SRVS=()
PIDS=()
BB_CLI_NS=$CLI
BB_SRV_NS=""
for i in 1 2 3; do
	SRVS+=("dpcbb-${BB_ID}-s$i")
	BB_SRV_NS="$BB_SRV_NS dpcbb-${BB_ID}-s$i"
done
dpc_netns_destroy $BB_SRV_NS "$CLI"
ip netns add "$CLI" || bb_fail "netns $CLI"
ip -n "$CLI" link set lo up
ip netns exec "$CLI" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
for i in 1 2 3; do
	srv=${SRVS[$((i - 1))]} sif="tws$i${BB_ID}" cif="twc$i${BB_ID}"
	ip netns add "$srv" || bb_fail "netns $srv"
	ip netns exec "$srv" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$srv" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip -n "$srv" link set lo up
	ip -n "$srv" link add "$sif" type veth peer name "$cif" || bb_fail "veth $sif"
	ip -n "$srv" link set "$cif" netns "$CLI" || bb_fail "veth $cif"
	ip -n "$srv" link set "$sif" up
	ip -n "$CLI" addr add "198.18.$i.2/24" dev "$cif"
	ip -n "$CLI" link set "$cif" up
	dpc_netns_tcp_prep "$srv" "$CLI" "$cif" || bb_fail "TCP preparation of $srv"
done

# start_one I: dpcached for 198.18.I.1 in namespace sI; its pid in PIDS[I-1]
start_one() {
	local i=$1 srv=${SRVS[$(($1 - 1))]} log="$BB_TMP/dpcached$1.log"
	ip netns exec "$srv" "$DPC_BIN/dpcached" -l "$BB_LAST_CPU" --no-pci --no-huge -m 128 --no-shconf \
		"--file-prefix=${BB_PREFIX}t$i" "--vdev=net_af_packet0,iface=tws$i${BB_ID},qpairs=1,blocksz=4096,framesz=2048,framecnt=4096" \
		-- --name "${BB_PREFIX}t$i" --address "198.18.$i.1" --port 11211 --tcp yes --memory 32M \
		--idle-sleep-us 1000 >"$log" 2>&1 &
	PIDS[$((i - 1))]=$!
	BB_EXTRA_PIDS="${BB_EXTRA_PIDS:-} $!"
	local waited=0
	until grep -q "dpcached: ready" "$log"; do
		kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || { cat "$log" >&2; bb_fail "dpcached $i exited"; }
		[ $waited -ge $((BB_TIMEOUT * 10)) ] && bb_fail "dpcached $i not ready"
		sleep 0.1
		waited=$((waited + 1))
	done
	bb_log "dpcached $i ready (198.18.$i.1, pid ${PIDS[$((i - 1))]})"
}
for i in 1 2 3; do start_one "$i"; done

conf=$BB_TMP/nutcracker.yml
pool() { # pool NAME PORT HASH
	cat <<EOF
$1:
  listen: 127.0.0.1:$2
  hash: $3
  distribution: ketama
  auto_eject_hosts: true
  server_failure_limit: 1
  server_retry_timeout: 60000
  timeout: 400
  servers:
   - 198.18.1.1:11211:1
   - 198.18.2.1:11211:1
   - 198.18.3.1:11211:1
EOF
}
{ pool md5 22122 md5; pool fnv 22123 fnv1a_64; } >"$conf"
ip netns exec "$CLI" nutcracker -t -c "$conf" >/dev/null 2>&1 || bb_fail "nutcracker -t: bad configuration"
ip netns exec "$CLI" nutcracker -c "$conf" -o "$BB_TMP/nutcracker.log" -s 22222 -a 127.0.0.1 \
	-i 500 -p "$BB_TMP/nutcracker.pid" &
NC_PID=$!
BB_EXTRA_PIDS="$BB_EXTRA_PIDS $NC_PID"
sleep 0.5
kill -0 "$NC_PID" 2>/dev/null || { cat "$BB_TMP/nutcracker.log" >&2; bb_fail "nutcracker did not start"; }
bb_log "$(nutcracker -V 2>&1 | head -1 | awk '{print $NF}') pid $NC_PID: pools md5 :22122, fnv1a_64 :22123"

# Keys are "<i><PREFIX>fleet": the varying part first, so that fnv1a_64 spreads them too (it
# hashes byte by byte: keys that differ only in their last bytes land close on the ring)
# proxy_set PORT PREFIX N: N keys through the proxy (retried: ejection costs a timeout)
proxy_set() {
	ip netns exec "$CLI" timeout 120 "$py" - "$@" <<'PY'
import sys, time
from pymemcache.client.base import Client
port, prefix, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = Client(("127.0.0.1", port), timeout=3, connect_timeout=3, default_noreply=False)
failed = 0
for i in range(n):
    for attempt in range(6):
        try:
            if c.set(f"{i}{prefix}fleet", f"v-{i}{prefix}fleet".encode()):
                break
        except Exception as e:
            failed += 1
            c.close()
            time.sleep(0.3)
    else:
        sys.exit(f"{i}{prefix}fleet: not stored through the proxy")
print(f"{n} keys {prefix}* stored through 127.0.0.1:{port} ({failed} failed tries)")
PY
}
# check_placed HASH PREFIX N SERVERS: each key is on the server ketama picks, over UDP, and
# on no other live server
check_placed() {
	local hash=$1 prefix=$2 n=$3 servers=$4 keys=() k srv other hits=0
	for ((j = 0; j < n; j++)); do keys+=("$j${prefix}fleet"); done
	local -A count=()
	while read -r k srv; do
		local v
		v=$(ip netns exec "$CLI" "$DPC_BIN/dpcache-cli" -s "$srv" -t 2000 get "$k") ||
			bb_fail "$k: not on $srv (where ketama/$hash puts it) over UDP"
		[ "$v" = "v-$k" ] || bb_fail "$k on $srv reads '$v'"
		for other in ${servers//,/ }; do
			[ "$other:11211" = "$srv" ] && continue
			ip netns exec "$CLI" "$DPC_BIN/dpcache-cli" -s "$other:11211" -t 2000 get "$k" >/dev/null 2>&1
			[ $? -eq 1 ] || bb_fail "$k: also on $other (ketama/$hash says $srv)"
		done
		count[$srv]=$((${count[$srv]:-0} + 1))
		hits=$((hits + 1))
	done < <(ip netns exec "$CLI" "$DPC_BIN/dpcache-cli" -s "$servers" -H "$hash" server "${keys[@]}")
	[ "$hits" -eq "$n" ] || bb_fail "dpcache-cli placed $hits of $n keys"
	local spread=""
	for srv in "${!count[@]}"; do spread="$spread $srv:${count[$srv]}"; done
	bb_log "ketama/$hash: all $n keys $prefix* on the server dpcache-cli picks, over UDP (${spread# })"
}

ALL=198.18.1.1,198.18.2.1,198.18.3.1
proxy_set 22122 m: "$NKEYS" || bb_fail "writes through the md5 pool"
proxy_set 22123 f: "$NKEYS" || bb_fail "writes through the fnv1a_64 pool"
check_placed md5 m: "$NKEYS" "$ALL"
check_placed fnv1a_64 f: "$NKEYS" "$ALL"

# one server goes away: ejected, the others keep serving
kill -TERM "${PIDS[1]}"
wait "${PIDS[1]}" || bb_fail "dpcached 2 exited with status $?"
bb_log "dpcached 2 stopped"
proxy_set 22123 e: "$NKEYS" || bb_fail "writes through the proxy after a server stopped"
sleep 1 # nutcracker's stats (-i 500)
ejects=$(ip netns exec "$CLI" "$py" -c '
import json, socket
s = socket.create_connection(("127.0.0.1", 22222), timeout=5)
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(json.loads(buf)["fnv"]["server_ejects"])') || bb_fail "nutcracker stats"
[ "$ejects" -ge 1 ] || bb_fail "nutcracker did not eject the stopped server (server_ejects $ejects)"
bb_log "nutcracker ejected the stopped server (pool fnv: server_ejects $ejects)"
LIVE=198.18.1.1,198.18.3.1
check_placed fnv1a_64 e: "$NKEYS" "$LIVE"
# keys that lived on the two others are where they were (consistent hashing)
ip netns exec "$CLI" "$DPC_BIN/dpcache-cli" -s "$ALL" -H fnv1a_64 server $(for ((j = 0; j < NKEYS; j++)); do
	echo "${j}f:fleet"; done) | awk '$2 != "198.18.2.1:11211" {print $1}' >"$BB_TMP/kept"
kept=$(wc -l <"$BB_TMP/kept")
ip netns exec "$CLI" timeout 60 "$py" - "$BB_TMP/kept" <<'PY' || bb_fail "keys on the live servers"
import sys
from pymemcache.client.base import Client
keys = open(sys.argv[1]).read().split()
got = Client(("127.0.0.1", 22123), timeout=3).get_many(keys)
bad = [k for k in keys if got.get(k) != f"v-{k}".encode()]
if bad:
    sys.exit(f"{len(bad)} of {len(keys)} keys on the live servers not served: {bad[:5]}")
PY
bb_log "the $kept f:* keys of the two live servers are still served through the proxy"

for i in 1 3; do
	kill -TERM "${PIDS[$((i - 1))]}"
	wait "${PIDS[$((i - 1))]}" || bb_fail "dpcached $i exited with status $?"
	grep -qE "ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:" "$BB_TMP/dpcached$i.log" &&
		{ cat "$BB_TMP/dpcached$i.log" >&2; bb_fail "sanitizer report from dpcached $i"; }
done
kill -TERM "$NC_PID" 2>/dev/null
wait "$NC_PID" 2>/dev/null
bb_log "fleet stopped cleanly"
echo "test_twemproxy: PASS"
