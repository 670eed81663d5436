#!/usr/bin/env bash
# Build every libFuzzer target (tests/fuzz/fuzz_*.c) with clang + ASan/UBSan
# and run each for $1 seconds (default 20).  Seeds: tests/fuzz/corpus/NAME/.
# Crashes are kept in build/fuzz/crash-NAME-* and fail the run.
set -euo pipefail
secs=${1:-20}
out=build/fuzz
mkdir -p "$out"
CFLAGS="-std=gnu11 -g -O1 -D_GNU_SOURCE -DDPC_DEBUG -DDPC_FUZZ -march=corei7 -Iinclude -Ilib -Idataplane/engine \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined"
srcs=$(ls lib/*.c dataplane/engine/*.c 2>/dev/null || true)
headers=$(ls include/dpcache/*.h lib/*.h dataplane/engine/*.h 2>/dev/null || true)
# The library is compiled once (instrumented for coverage, not linked with
# libFuzzer's main), in parallel; each target then only compiles itself and links.
objdir=$out/obj
mkdir -p "$objdir"
objs=
stale=
for src in $srcs; do
	obj=$objdir/$(echo "${src%.c}" | tr / _).o
	objs="$objs $obj"
	# shellcheck disable=SC2086
	if [ ! -e "$obj" ] || [ -n "$(find "$src" $headers -newer "$obj" 2>/dev/null | head -1)" ]; then
		stale="$stale $src:$obj"
	fi
done
if [ -n "$stale" ]; then
	echo "fuzz: compiling the library ($(echo $stale | wc -w) files)"
	# shellcheck disable=SC2086
	printf '%s\n' $stale | CFLAGS="$CFLAGS" xargs -P "$(nproc)" -n 1 \
		sh -c 'exec clang $CFLAGS -fsanitize=fuzzer-no-link -c -o "${0#*:}" "${0%%:*}"'
fi
status=0
for f in tests/fuzz/fuzz_*.c; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .c)
	bin=$out/$name
	# shellcheck disable=SC2086
	if [ ! -x "$bin" ] || [ -n "$(find $objs "$f" -newer "$bin" 2>/dev/null | head -1)" ]; then
		echo "fuzz: building $name"
		# shellcheck disable=SC2086
		clang $CFLAGS -fsanitize=fuzzer -o "$bin" "$f" $objs \
			$(pkg-config --libs liburcu-qsbr liburcu-cds) -lpthread -lm
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
