#!/usr/bin/env bash
# Network-namespace helpers shared by scripts/run.sh and tests/blackbox/lib.sh.
# Source it; every function works on names the caller passes, so that each
# user creates and removes only what it made itself.
#
#   dpc_netns_create SRV_NS CLI_NS SRV_IF CLI_IF CLI_CIDR
#       two namespaces joined by a veth pair: SRV_IF (no IP: DPDK owns it)
#       in SRV_NS, CLI_IF with CLI_CIDR (e.g. 198.18.0.2/24) in CLI_NS.
#   dpc_netns_destroy NS...      delete namespaces (their veth ends go too)
#   dpc_netns_exists NS          true if the namespace exists
#   dpc_netns_busy NS            true if any process runs inside NS
#   dpc_netns_neigh CLI_NS CLI_IF IP MAC   pin a static ARP entry (optional)
#   dpc_netns_tcp_prep SRV_NS CLI_NS CLI_IF  ready both for TCP through dpcached's
#       exception path (tcp=yes): the client interface sends full checksums and
#       MTU-sized segments (tx checksum, TSO, GSO off: frames reach a DPDK port
#       of 2 KiB buffers, and the kernel behind the TAP checks TCP checksums);
#       the server namespace filters by reverse path (rp_filter=1), so that a
#       frame its kernel also sees on the DPDK-owned veth end (af_packet leaves
#       it a copy) is dropped there and only the TAP copy counts

dpc_netns_exists() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"
}

dpc_netns_busy() {
	dpc_netns_exists "$1" && [ -n "$(ip netns pids "$1" 2>/dev/null)" ]
}

dpc_netns_destroy() {
	local ns
	for ns in "$@"; do
		dpc_netns_exists "$ns" && ip netns delete "$ns" 2>/dev/null
	done
	return 0
}

dpc_netns_create() {
	local srv=$1 cli=$2 sif=$3 cif=$4 cidr=$5
	ip netns add "$srv" || return 1
	ip netns add "$cli" || { ip netns delete "$srv"; return 1; }
	# Create the pair inside the server namespace, then move one end: no
	# interface ever appears in the machine's own namespace.
	ip -n "$srv" link add "$sif" type veth peer name "$cif" || return 1
	ip -n "$srv" link set "$cif" netns "$cli" || return 1
	local ns
	for ns in "$srv" "$cli"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
		ip -n "$ns" link set lo up
	done
	ip -n "$srv" link set "$sif" up || return 1
	ip -n "$cli" addr add "$cidr" dev "$cif" || return 1
	ip -n "$cli" link set "$cif" up || return 1
	return 0
}

dpc_netns_neigh() {
	ip -n "$1" neigh replace "$3" lladdr "$4" dev "$2" nud permanent
}

dpc_netns_tcp_prep() {
	local srv=$1 cli=$2 cif=$3
	ip netns exec "$cli" ethtool -K "$cif" tx off tso off gso off >/dev/null 2>&1 || return 1
	ip netns exec "$srv" sysctl -qw net.ipv4.conf.all.rp_filter=1 >/dev/null || return 1
	ip netns exec "$srv" sysctl -qw net.ipv4.conf.default.rp_filter=1 >/dev/null || return 1
	return 0
}
