#!/usr/bin/env bash
# House-style checks that a machine can make: tabs for indent,
# no trailing blanks, lines <= 110 columns, no `volatile`, no assert() as
# a test, every public header documented.  Prints offending lines.
set -uo pipefail
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.c' -o -name '*.h')
bad=0
report() { echo "style: $1"; bad=1; }
for f in $files; do
	[ -f "$f" ] || continue
	grep -nE '[[:space:]]+$' "$f" | head -3 | while read -r l; do echo "style: $f:${l%%:*}: trailing whitespace"; done
	grep -qE '[[:space:]]+$' "$f" && bad=1
	awk -v f="$f" '{ gsub(/\t/, "        "); if (length($0) > 110) { printf "style: %s:%d: line over 110 columns\n", f, NR; e=1 } } END { exit e }' "$f" || bad=1
	if grep -nE '^ {8}' "$f" | grep -vE '^\s*[0-9]+:\s*\*' | head -1 | grep -q .; then
		report "$f: indent with tabs, not spaces ($(grep -nE '^ {8}' "$f" | head -1 | cut -d: -f1))"
	fi
	grep -nwE 'volatile' "$f" | grep -v 'style-ok' | head -1 | grep -q . && report "$f: 'volatile' (use C11 atomics with named orders)"
done
for f in $(git ls-files 'tests/unit/*.c' 2>/dev/null); do
	grep -nE '(^|[^_a-z])assert\(' "$f" | head -1 | grep -q . && report "$f: plain assert() in a test (use cmocka's assert_*)"
done
for h in $(git ls-files 'include/dpcache/*.h' 2>/dev/null); do
	grep -q '@file' "$h" || report "$h: public header without a @file comment"
done
[ $bad -eq 0 ] && echo "style: ok"
exit $bad
