#!/usr/bin/env bash
# Run every cmocka unit test binary in $1; fail if any fails.
set -uo pipefail
dir=${1:?usage: run-unit.sh BUILD/tests}
fail=0; n=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	start=$(date +%s.%N)
	if "$t"; then res=PASS; else res=FAIL; fail=$((fail + 1)); fi
	printf '%-40s %s (%.1fs)\n' "$(basename "$t")" "$res" "$(echo "$(date +%s.%N) - $start" | bc)"
done
echo "unit tests in $dir: $n run, $fail failed"
[ "$n" -gt 0 ] && [ "$fail" -eq 0 ]
