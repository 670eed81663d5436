#!/usr/bin/env bash
# Black box: `make install` and `make uninstall` of the build under test.
#  - `make install DESTDIR=<tmp>` puts exactly the expected tree in place
#    (binaries 0755, dpcache-hugepages, sample dpcache.conf and dpcache.env,
#    two systemd unit templates, docs), with /usr/local paths in the units;
#  - the installed dpcached --help and dpcachectl --help run;
#  - the sample dpcache.conf names every setting of dpcached's table, and
#    only those, each with the table's default, and loads cleanly once
#    uncommented (a bad value in it is caught: the check can fail);
#  - the unit has Restart=on-failure, the hugepage ExecStartPre, the
#    capabilities DPDK needs; `systemd-analyze verify` finds nothing to say
#    about either unit (when systemd-analyze is installed);
#  - a reinstall keeps a changed dpcache.conf; uninstall removes every file
#    it installed and keeps the changed config.
#   DPC_BUILD=build/debug DPC_BIN=build/debug/bin tests/blackbox/test_install.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init install
: "${DPC_BUILD:?DPC_BUILD must name the build directory (e.g. build/debug)}"
build=$(cd "$DPC_BUILD" && pwd)
flavour=$(basename "$build")
mk() { timeout 300 make -C "$BB_ROOT" --no-print-directory BUILD="$build" FLAVOUR="$flavour" "$@"; }

stage=$BB_TMP/stage
mk install DESTDIR="$stage" >"$BB_TMP/install.log" 2>&1 || { cat "$BB_TMP/install.log"; bb_fail "make install"; }
(cd "$stage" && find . -type f -printf '%m %p\n' | sort) >"$BB_TMP/tree"
cat >"$BB_TMP/want" <<'TREE'
644 ./usr/local/etc/dpcache/dpcache.conf
644 ./usr/local/etc/dpcache/dpcache.conf.sample
644 ./usr/local/etc/dpcache/dpcache.env
644 ./usr/local/etc/dpcache/dpcache.env.sample
644 ./usr/local/lib/systemd/system/dpcache-metrics@.service
644 ./usr/local/lib/systemd/system/dpcached@.service
644 ./usr/local/share/doc/dpcache/operations.md
755 ./usr/local/bin/dpcache-bench
755 ./usr/local/bin/dpcache-cli
755 ./usr/local/bin/dpcachectl
755 ./usr/local/bin/dpcached
755 ./usr/local/sbin/dpcache-hugepages
TREE
diff "$BB_TMP/want" "$BB_TMP/tree" >&2 || bb_fail "installed tree differs (- expected, + installed)"
echo "install: $(wc -l <"$BB_TMP/tree") files in place under DESTDIR"

# ---- the installed binaries run -------------------------------------------------------
timeout 30 "$stage/usr/local/bin/dpcached" -- --help >"$BB_TMP/help" 2>&1 || bb_fail "installed dpcached --help"
grep -q '^  --ctl_group=NAME  default root' "$BB_TMP/help" || bb_fail "dpcached --help: $(head -5 "$BB_TMP/help")"
timeout 30 "$stage/usr/local/bin/dpcachectl" --help | grep -q '^Usage: dpcachectl' || bb_fail "dpcachectl --help"

# ---- the sample config: the table's settings, all of them, with their defaults ----------
conf=$stage/usr/local/etc/dpcache/dpcache.conf
python3 - "$BB_TMP/help" "$conf" <<'PY' || bb_fail "sample dpcache.conf vs dpcached's settings table"
import re, sys
table = dict(re.findall(r"^  --([a-z_0-9]+)=\S+(?:  \([^)]*\))?  default (\S+?),?(?: changeable.*)?$",
                        open(sys.argv[1]).read(), re.M))
sample = dict(re.findall(r"^#([a-z_0-9]+) = (.*)$", open(sys.argv[2]).read(), re.M))
assert len(table) >= 20, table
assert set(sample) == set(table), ("only in the sample:", set(sample) - set(table),
                                   "only in the table:", set(table) - set(sample))
bad = {k: (sample[k], table[k]) for k in table if sample[k] != table[k]}
assert not bad, ("defaults differ (sample, table):", bad)
print(f"install: sample dpcache.conf lists all {len(table)} settings with the table's defaults")
PY
gen=$build/dist/gen-conf
sed 's/^#\([a-z_0-9]* = \)/\1/' "$conf" >"$BB_TMP/all.conf"
"$gen" --check "$BB_TMP/all.conf" || bb_fail "the uncommented sample does not load"
sed 's/^workers = .*/workers = 0/' "$BB_TMP/all.conf" >"$BB_TMP/bad.conf"
"$gen" --check "$BB_TMP/bad.conf" 2>"$BB_TMP/bad.err" && bb_fail "a bad value in the sample was not caught"
grep -q 'workers: 0 is out of range 1..64' "$BB_TMP/bad.err" || bb_fail "bad sample: $(cat "$BB_TMP/bad.err")"

# ---- the units --------------------------------------------------------------------------
unit=$stage/usr/local/lib/systemd/system/dpcached@.service
for want in 'ExecStartPre=/usr/local/sbin/dpcache-hugepages' \
	'ExecStart=/usr/local/bin/dpcached $DPCACHE_EAL_ARGS -- --config /usr/local/etc/dpcache/%i.conf --name %i' \
	'EnvironmentFile=-/usr/local/etc/dpcache/%i.env' 'Restart=on-failure' 'LimitMEMLOCK=infinity'; do
	grep -qxF "$want" "$unit" || bb_fail "dpcached@.service lacks: $want"
done
for cap in CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_SYS_ADMIN; do
	grep -q "^CapabilityBoundingSet=.*\b$cap\b" "$unit" || bb_fail "dpcached@.service lacks $cap"
done
if command -v systemd-analyze >/dev/null; then
	# Installed for real under a prefix of ours, so that verify finds the commands the units run.
	p=$BB_TMP/prefix/usr
	mk install PREFIX="$p" >>"$BB_TMP/install.log" 2>&1 || bb_fail "make install PREFIX=$p"
	for u in dpcached@.service dpcache-metrics@.service; do
		timeout 60 systemd-analyze verify "$p/lib/systemd/system/$u" >"$BB_TMP/verify" 2>&1 ||
			bb_fail "systemd-analyze verify $u: $(cat "$BB_TMP/verify")"
		[ ! -s "$BB_TMP/verify" ] || bb_fail "systemd-analyze verify $u: $(cat "$BB_TMP/verify")"
	done
	mk uninstall PREFIX="$p" >>"$BB_TMP/install.log" 2>&1 || bb_fail "make uninstall PREFIX=$p"
	echo "install: systemd-analyze verify: both units clean"
else
	echo "install: systemd-analyze not installed: units not verified"
fi

# ---- reinstall keeps a changed config; uninstall removes the rest -----------------------------
echo "memory = 1G" >>"$conf"
mk install DESTDIR="$stage" >"$BB_TMP/reinstall.log" 2>&1 || bb_fail "make install (again)"
grep -q "keeping .*/dpcache.conf" "$BB_TMP/reinstall.log" || bb_fail "reinstall: $(cat "$BB_TMP/reinstall.log")"
tail -1 "$conf" | grep -qx "memory = 1G" || bb_fail "reinstall overwrote the changed dpcache.conf"
mk uninstall DESTDIR="$stage" >"$BB_TMP/uninstall.log" 2>&1 || bb_fail "make uninstall"
left=$(cd "$stage" && find . -type f | sort)
[ "$left" = "./usr/local/etc/dpcache/dpcache.conf" ] || bb_fail "after uninstall: $left"
echo "test_install: PASS"
