#!/usr/bin/env bash
# Run every black-box test (tests/blackbox/test_*.sh|py) against the
# binaries in $1/bin.  Each test starts the real dpcached in network
# namespaces or over memif that it creates itself, and cleans up after itself.
set -uo pipefail
build=${1:?usage: run-blackbox.sh BUILD}
export DPC_BUILD=$build DPC_BIN=$build/bin
fail=0; n=0
for t in tests/blackbox/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	start=$(date +%s)
	if timeout -k 10 300 "$t"; then res=PASS; else res=FAIL; fail=$((fail + 1)); fi
	printf '%-40s %s (%ss, %s)\n' "$(basename "$t")" "$res" "$(( $(date +%s) - start ))" "$build"
done
echo "black-box tests with $build: $n run, $fail failed"
[ "$fail" -eq 0 ]
