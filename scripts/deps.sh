#!/usr/bin/env bash
# Install what dpcache needs to build and test (Debian 12).  Idempotent and
# quick when everything is present: checks with dpkg first, touches apt only
# for what is missing.
set -euo pipefail

PKGS=(build-essential pkg-config clang libclang-rt-14-dev
      dpdk libdpdk-dev liburcu-dev libcmocka-dev
      iproute2 ethtool python3 memcached gnuplot-nox clang-format
      libmemcached-tools python3-pymemcache python3-memcache nutcracker)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root (or install them) and retry" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
