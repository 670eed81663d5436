#!/usr/bin/env bash
# Reserve 2 MiB hugepages for DPDK and mount hugetlbfs at /dev/hugepages.
#   scripts/hugepages.sh             reserve (DPC_HUGEPAGES, default 256 pages), report, exit 0/1
#   scripts/hugepages.sh --eal-args  also print the EAL memory arguments to use on stdout:
#                                    "--huge-unlink" with hugepages, else "--no-huge -m 256 --no-shconf"
# Messages go to stderr.  Never shrinks an existing reservation.
set -uo pipefail
want=${DPC_HUGEPAGES:-256}
min_free=${DPC_HUGEPAGES_MIN:-64}
eal=0
[ "${1:-}" = "--eal-args" ] && eal=1

fallback() {
	echo "hugepages: $1; falling back to --no-huge -m 256 --no-shconf (works, about 10 % slower)" >&2
	[ $eal -eq 1 ] && echo "--no-huge -m 256 --no-shconf"
	exit 1
}

[ "$(id -u)" -eq 0 ] || fallback "not root, cannot reserve hugepages"
nr=/proc/sys/vm/nr_hugepages
[ -w $nr ] || fallback "$nr is not writable (container?)"
cur=$(cat $nr)
if [ "$cur" -lt "$want" ]; then
	echo "$want" > $nr 2>/dev/null || true
fi
free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
size=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
[ "${free:-0}" -ge "$min_free" ] || fallback "only ${free:-0} hugepages free after asking for $want"
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null ||
		fallback "cannot mount hugetlbfs at /dev/hugepages"
fi
echo "hugepages: $free x $((size / 1024)) MiB free, hugetlbfs at /dev/hugepages" >&2
[ $eal -eq 1 ] && echo "--huge-unlink"
exit 0
