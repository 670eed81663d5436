#!/usr/bin/env bash
# Build every libFuzzer target (tests/fuzz/fuzz_*.c) with clang + ASan/UBSan
# and run each for $1 seconds (default 20).  Seeds: tests/fuzz/corpus/NAME/.
# Crashes are kept in build/fuzz/crash-NAME-* and fail the run.
set -euo pipefail
secs=${1:-20}
out=build/fuzz
mkdir -p "$out"
CFLAGS="-std=gnu11 -g -O1 -D_GNU_SOURCE -DDPC_DEBUG -DDPC_FUZZ -march=corei7 -Iinclude -Ilib -Idataplane/engine \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
srcs=$(ls lib/*.c dataplane/engine/*.c 2>/dev/null || true)
status=0
for f in tests/fuzz/fuzz_*.c; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .c)
	bin=$out/$name
	if [ ! -x "$bin" ] || [ -n "$(find $srcs "$f" include -newer "$bin" 2>/dev/null | head -1)" ]; then
		echo "fuzz: building $name"
		# shellcheck disable=SC2086
		clang $CFLAGS -o "$bin" "$f" $srcs $(pkg-config --libs liburcu-qsbr liburcu-cds) -lpthread -lm
	fi
	corpus=$out/corpus-$name
	mkdir -p "$corpus"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	echo "fuzz: running $name for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$name-" "$corpus" $seeds >"$out/$name.log" 2>&1; then
		echo "fuzz: $name FAILED; see $out/$name.log"; tail -30 "$out/$name.log"; status=1
	else
		grep -E 'stat::number_of_executed_units|cov:' "$out/$name.log" | tail -2 | sed "s/^/  $name: /"
	fi
done
exit $status
