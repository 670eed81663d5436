#!/usr/bin/env bash
# Black box: dpcached's command line and config file.
#  - bad flag and config-file values are refused before EAL starts, with exit
#    status 2 and a message naming the setting, the value and what is allowed
#    (config file: "path:line:");
#  - --help lists every setting (exit 0);
#  - EAL arguments pass through (an unknown EAL option is EAL's error);
#  - start-up problems after EAL (no port, too few lcores, no such port_id)
#    exit 1 with a message saying what to give;
#  - a valid config file is applied and flags override it (checked with
#    dpcachectl config get), idle_sleep_us=0 busy-polls (no idle_sleeps)
#    and a run-time `config set idle_sleep_us` turns the back-off on;
#  - SIGINT stops it with exit status 0.
#   DPC_BIN=build/debug/bin tests/blackbox/test_flags.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init flags

D=$DPC_BIN/dpcached
EAL=(-l "$BB_LCORES" --no-pci $BB_EAL_MEM "--file-prefix=$BB_PREFIX")

# refused WANT_STATUS PATTERN ARGS...: dpcached ARGS must exit WANT_STATUS with PATTERN on stderr
refused() {
	local want=$1 pat=$2
	shift 2
	timeout -k 5 60 "$D" "$@" >"$BB_TMP/out" 2>"$BB_TMP/err"
	local rc=$?
	[ $rc -eq "$want" ] || bb_fail "dpcached $* exited $rc, want $want: $(tail -n 3 "$BB_TMP/err")"
	grep -qF -- "$pat" "$BB_TMP/err" ||
		bb_fail "dpcached $*: no '$pat' in: $(grep -v '^EAL\|^TELEMETRY' "$BB_TMP/err" | tail -n 3)"
}

# ---- flags: refused before EAL (no EAL arguments needed) ---------------------------
refused 2 "workers: 0 is out of range 1..64" -- --workers 0
refused 2 "workers: 'abc' is not a number" -- --workers abc
refused 2 "memory: '5Q' is not a size" -- --memory 5Q
refused 2 "address: '1.2.3' is not an IPv4 address" -- --address 1.2.3
refused 2 "eviction: 'lru' is not one of fifo|clock|s3fifo" -- --eviction lru
refused 2 "idle_sleep_us: 100001 is out of range 0..100000" -- --idle-sleep-us 100001
refused 2 "ring_size: 100 is not a power of 2" -- --ring-size 100
refused 2 "unknown setting 'bogus'" -- --bogus 1
refused 2 "--port: missing value" -- --port
refused 2 "$BB_TMP/none.conf: No such file or directory" -- --config "$BB_TMP/none.conf"
printf 'port = 11211\n# a comment\n\nmemory = 12X\n' >"$BB_TMP/bad.conf"
refused 2 "$BB_TMP/bad.conf:4: memory: '12X' is not a size" -- --config "$BB_TMP/bad.conf"
printf 'port 11211\n' >"$BB_TMP/bad2.conf"
refused 2 "$BB_TMP/bad2.conf:1:" -- --config "$BB_TMP/bad2.conf"

# ---- --help --------------------------------------------------------------------------
timeout 30 "$D" -- --help >"$BB_TMP/help" 2>&1 || bb_fail "dpcached -- --help exited $?"
for s in name address port workers memory max_value eviction tx_retries ring_size idle_sleep_us; do
	grep -q -- "--$s" "$BB_TMP/help" || bb_fail "--help does not list $s"
done

# ---- EAL arguments pass through; start-up errors after EAL ------------------------------
refused 1 "unrecognized option '--bogus-eal'" "${EAL[@]}" --bogus-eal -- --name "$BB_PREFIX"
refused 1 "EAL initialisation failed" "${EAL[@]}" --bogus-eal -- --name "$BB_PREFIX"
refused 1 "no DPDK port: give one with an EAL --vdev" "${EAL[@]}" -- --name "$BB_PREFIX"
memif="net_memif0,role=server,socket=$BB_TMP/memif.sock,socket-abstract=no"
# The refusals use net_null: a memif port probed and never started leaves its socket with the
# EAL's interrupt thread, which now and then races rte_eal_cleanup() (DPDK 22.11: a SIGSEGV in
# rte_intr_fd_get(), 1-2 runs in 60 under ASan, where the crash report then hangs).
refused 1 "workers=2 needs 2 lcores, EAL has 1" -l "$BB_LAST_CPU" --no-pci $BB_EAL_MEM \
	"--file-prefix=$BB_PREFIX" --vdev=net_null0 -- --name "$BB_PREFIX" --workers 2
refused 1 "port_id=3: no such port (1 available)" "${EAL[@]}" --vdev=net_null0 -- --name "$BB_PREFIX" \
	--port-id 3

# ---- a valid config file, flags override it -------------------------------------------------
cat >"$BB_TMP/good.conf" <<EOF
# dpcached test configuration
port = 12000
max_value = 1536K
tx_retries = 5
log_level = warning
idle_sleep_us = 0
EOF
bb_start_dpcached "$memif" --config "$BB_TMP/good.conf" --tx-retries 7
# a generous bound: other work on a small shared machine can delay the control thread
ctl=("$DPC_BIN/dpcachectl" --name "$BB_PREFIX" --timeout 15000)
get() { timeout 30 "${ctl[@]}" config get "$1"; }
[ "$(get port)" = 11211 ] || bb_fail "flag --port (lib.sh) must override the file: port=$(get port)"
[ "$(get max_value)" = 1536K ] || [ "$(get max_value)" = 1572864 ] ||
	bb_fail "config file max_value not applied: $(get max_value)"
[ "$(get tx_retries)" = 7 ] || bb_fail "flag must override the file: tx_retries=$(get tx_retries)"
[ "$(get log_level)" = warning ] || bb_fail "config file log_level not applied: $(get log_level)"
[ "$(get idle_sleep_us)" = 0 ] || bb_fail "config file idle_sleep_us not applied: $(get idle_sleep_us)"

# idle_sleep_us=0: the worker busy-polls (briefly) and never sleeps; then on at run time.
stat() {
	timeout 30 "${ctl[@]}" stats --json >"$BB_TMP/stat.json" 2>"$BB_TMP/stat.err" ||
		{ bb_diag; bb_fail "dpcachectl stats: $(cat "$BB_TMP/stat.err")"; }
	python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total']['$1'])" "$BB_TMP/stat.json"
}
loops0=$(stat poll_loops)
sleep 0.5
[ "$(stat poll_loops)" -gt "$loops0" ] || bb_fail "the worker does not poll ($(cat "$BB_TMP/stat.err"))"
[ "$(stat idle_sleeps)" -eq 0 ] || bb_fail "idle_sleep_us=0 must never sleep: idle_sleeps=$(stat idle_sleeps)"
timeout 30 "${ctl[@]}" config set idle_sleep_us 200 >/dev/null || bb_fail "config set idle_sleep_us 200"
for _ in $(seq 100); do [ "$(stat idle_sleeps)" -gt 0 ] && break; sleep 0.1; done
[ "$(stat idle_sleeps)" -gt 0 ] || bb_fail "idle_sleep_us=200 set at run time, but the worker never slept"
bb_stop_dpcached INT
echo "test_flags: PASS"
