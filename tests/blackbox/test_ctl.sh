#!/usr/bin/env bash
# Black box: dpcachectl against the real dpcached (af_packet port on a veth
# pair in namespaces of its own, traffic from a kernel UDP client).
#  - `stats --json` counts match the requests sent, exactly;
#  - `config get|set`: run-time settings change (and act: log_level), bad
#    values and start-up-only settings are refused with a clear error and
#    change nothing;
#  - `flush` makes stored keys miss on the wire;
#  - the Prometheus endpoint parses (HELP/TYPE per family, `name{labels} value`
#    samples) and agrees with the JSON stats; non-loopback listening is refused;
#  - `stats --watch --count`, --help everywhere, docs/operations.md lists every
#    setting and counter; clean errors (exit 3) once dpcached is gone;
#  - hostile bytes on the control socket (a NUL byte: once fatal, a request
#    with no newline, a 1 MB line, binary junk) get ERR answers and dpcached
#    lives; a slow client holds only its own connection (another client's
#    answer is timed while it holds one) until its deadline;
#  - socket permissions: socket 0660 and directory 0710 of group ctl_group
#    (nogroup here); a peer that is neither root nor in the group is refused
#    by the file system, and past it (CAP_DAC_OVERRIDE) by SO_PEERCRED;
#  - the Prometheus endpoint: a slow client does not delay a scrape, gets
#    408 at its deadline; a NUL in the request line gets 400.
#   DPC_BIN=build/debug/bin tests/blackbox/test_ctl.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bb_init ctl
bb_netns
[ -x "$DPC_BIN/dpcachectl" ] || bb_fail "$DPC_BIN/dpcachectl missing"

bb_start_dpcached "$(bb_vdev)" \
	--ctl-group nogroup
sock=/run/dpcache/$BB_PREFIX/dpcache_ctl.sock

ctl=("$DPC_BIN/dpcachectl" --name "$BB_PREFIX" --timeout 5000)
out=$BB_TMP/out
err=$BB_TMP/err

# ctl_run EXPECTED_STATUS ARGS...: run dpcachectl (bounded), stdout in $out, stderr in $err
ctl_run() {
	local want=$1
	shift
	timeout 30 "${ctl[@]}" "$@" >"$out" 2>"$err"
	local rc=$?
	[ "$rc" -eq "$want" ] || bb_fail "dpcachectl $* exited $rc, expected $want (stderr: $(cat "$err"))"
}

# A kernel UDP client speaking memcached binary in the client namespace.  Each
# request is one datagram, answered before the next is sent; no retries (a lost
# datagram would make counts inexact: the test then fails, it does not guess).
#   mc.py set KEY... | get-hit KEY... | get-miss KEY...
cat >"$BB_TMP/mc.py" <<'PY'
import socket, struct, sys
srv = (sys.argv[1], int(sys.argv[2]))
op, keys = sys.argv[3], sys.argv[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3.0)
HDR = struct.Struct(">BBHBBHIIQ")
for rid, key in enumerate(keys, 1):
    k = key.encode()
    if op == "set":
        extras, val, opcode = struct.pack(">II", 0, 0), b"v-" + k, 0x01
    else:
        extras, val, opcode = b"", b"", 0x00
    body = extras + k + val
    req = HDR.pack(0x80, opcode, len(k), len(extras), 0, 0, len(body), rid, 0) + body
    s.sendto(struct.pack(">HHHH", rid, 0, 1, 0) + req, srv)
    data, _ = s.recvfrom(65536)
    frid, seq, total, _ = struct.unpack_from(">HHHH", data)
    magic, rop, klen, elen, dt, status, blen, opaque, cas = HDR.unpack_from(data, 8)
    assert frid == rid and magic == 0x81 and rop == opcode and opaque == rid, (key, data[:32])
    want = {"set": 0, "get-hit": 0, "get-miss": 1}[op]
    if status != want:
        sys.exit(f"{op} {key}: status {status}, expected {want}")
    if op == "get-hit":
        v = data[8 + 24 + elen + klen: 8 + 24 + blen]
        if v != b"v-" + k:
            sys.exit(f"get {key}: value {v!r}")
PY
mc() { bb_cli_ns timeout 60 python3 "$BB_TMP/mc.py" "$BB_ADDR" "$BB_PORT" "$@" || bb_fail "mc.py $1"; }

# jget FILE EXPR: evaluate a python expression over the JSON document j in FILE
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- ping, version, help ---------------------------------------------------------
ctl_run 0 ping
grep -q "^pong from '$BB_PREFIX'" "$out" || bb_fail "ping: $(cat "$out")"
ctl_run 0 version
grep -q '^dpcached [0-9]' "$out" || bb_fail "version: $(cat "$out")"
for c in "" stats config flush ping version metrics; do
	ctl_run 0 $c --help
	grep -q '^Usage: dpcachectl' "$out" || bb_fail "dpcachectl $c --help"
done
ctl_run 2 frobnicate
ctl_run 2 stats --count 2

# ---- hostile bytes and slow clients on the control socket -------------------------------
cat >"$BB_TMP/hostile.py" <<'PY'
import os, socket, subprocess, sys, time
path, ctl = sys.argv[1], sys.argv[2:]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s
def exchange(data, shut=False):
    s = conn()
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out
def ping(timeout_ms=1000):
    t0 = time.monotonic()
    r = subprocess.run(ctl + ["--timeout", str(timeout_ms), "ping"], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, time.monotonic() - t0, (r.stdout + r.stderr).strip()
junk = bytes((i * 2654435761 >> 13) & 0xff for i in range(1 << 20))
cases = [("a NUL byte (ping\\0\\n)", b"ping\0\n", False, b"ERR request holds a NUL byte"),
         ("no newline", b"ping", True, b"ERR request not terminated by a newline"),
         ("a 1 MB line", b"x" * (1 << 20) + b"\n", False, b"ERR request too long"),
         ("1 MB of binary junk", junk, True, b"ERR "),
         ("escape sequences", b"stats\x1b[2J\n", False, b"ERR request holds a non-printable byte")]
for name, data, shut, want in cases:
    ans = exchange(data, shut)
    assert ans.startswith(want), (name, ans[:100])
    rc, _, out = ping()
    assert rc == 0, (name, "dpcached no longer answers", out)
    print(f"control socket: {name}: {ans.decode().strip()!r}; dpcached still answers")
# A slow client: one byte every 0.2 s, a request that never ends.  Others are answered at once.
slow = conn()
slow.send(b"p")
t_slow = time.monotonic()
worst = 0.0
for i in range(5):
    rc, dt, out = ping(1000)  # gives up after 1 s: half the server's 2 s deadline
    assert rc == 0, ("another client was not answered while a slow one held a connection", out)
    worst = max(worst, dt)
    slow.send(b"i")
    time.sleep(0.2)
print(f"control socket: slow client holding a connection; 5 other clients answered, slowest "
      f"dpcachectl ping took {worst * 1000:.1f} ms")
slow.settimeout(10)
ans = slow.recv(1000)
held = time.monotonic() - t_slow
assert ans.startswith(b"ERR no complete request within 2000 ms"), ans
print(f"control socket: slow client cut off after {held:.2f} s: {ans.decode().strip()!r}")
PY
timeout 90 python3 "$BB_TMP/hostile.py" "$sock" "${ctl[@]}" || bb_fail "hostile bytes / slow client"
kill -0 "$BB_PID" || bb_fail "dpcached died"

# ---- socket permissions: ctl_group nogroup -------------------------------------------------
[ "$(stat -c '%a %U %G %F' "$sock")" = "660 root nogroup socket" ] ||
	bb_fail "control socket: $(stat -c '%a %U %G %F' "$sock")"
[ "$(stat -c '%a %U %G' "$(dirname "$sock")")" = "710 root nogroup" ] ||
	bb_fail "control socket directory: $(stat -c '%a %U %G' "$(dirname "$sock")")"
# as_user ARGS...: dpcachectl ping as another user (setpriv), status in $?, output in $out/$err
as_user() { timeout 30 setpriv "$@" -- "${ctl[@]}" ping >"$out" 2>"$err"; }
as_user --reuid=nobody --regid=nogroup --clear-groups
[ $? -eq 0 ] || bb_fail "nobody (group nogroup = ctl_group) refused: $(cat "$err")"
as_user --reuid=12345 --regid=12345 --groups=65534
[ $? -eq 0 ] || bb_fail "uid 12345 with supplementary group nogroup refused: $(cat "$err")"
as_user --reuid=12345 --regid=12345 --clear-groups
rc=$?
[ $rc -eq 3 ] && grep -q 'permission denied on' "$err" ||
	bb_fail "uid 12345 (not in ctl_group) was not refused by the file system: $rc $(cat "$out" "$err")"
as_user --reuid=12345 --regid=12345 --clear-groups --inh-caps=+dac_override --ambient-caps=+dac_override
rc=$?
[ $rc -eq 1 ] && grep -q 'permission denied: uid 12345 is not root and not in group nogroup' "$err" ||
	bb_fail "uid 12345 past the file system was not refused by SO_PEERCRED: $rc $(cat "$out" "$err")"
echo "control socket: uid 12345 refused by the file system and, with CAP_DAC_OVERRIDE, by SO_PEERCRED"
ctl_run 0 stats --json
[ "$(jget "$out" "j['control']['refused_peer']")" -eq 1 ] || bb_fail "refused_peer: $(jget "$out" "j['control']")"
[ "$(jget "$out" "j['control']['timeouts']")" -ge 1 ] || bb_fail "timeouts: $(jget "$out" "j['control']")"
[ "$(jget "$out" "j['control']['errors']")" -ge 6 ] || bb_fail "errors: $(jget "$out" "j['control']")"

# ---- stats: exact counts -----------------------------------------------------------
ctl_run 0 stats --json
cp "$out" "$BB_TMP/before.json"
keys=$(seq -f 'ctl:%g' 0 19)
misses=$(seq -f 'nokey:%g' 0 9)
mc set $keys
mc get-hit $keys
mc get-miss $misses
ctl_run 0 stats --json
cp "$out" "$BB_TMP/after.json"
d() { echo $(( $(jget "$BB_TMP/after.json" "j['total']['$1']") - $(jget "$BB_TMP/before.json" "j['total']['$1']") )); }
[ "$(d cmd_set)" -eq 20 ] || bb_fail "cmd_set grew by $(d cmd_set), sent 20"
[ "$(d cmd_get)" -eq 30 ] || bb_fail "cmd_get grew by $(d cmd_get), sent 30"
[ "$(d get_hits)" -eq 20 ] || bb_fail "get_hits grew by $(d get_hits), expected 20"
[ "$(d get_misses)" -eq 10 ] || bb_fail "get_misses grew by $(d get_misses), expected 10"
[ "$(d requests)" -eq 50 ] || bb_fail "requests grew by $(d requests), sent 50"
[ "$(d resp_datagrams)" -eq 50 ] || bb_fail "resp_datagrams grew by $(d resp_datagrams), expected 50"
[ "$(d rx_packets)" -ge 50 ] || bb_fail "rx_packets grew by $(d rx_packets) only"
f=$BB_TMP/after.json
[ "$(jget "$f" "j['total']['get_hits'] + j['total']['get_misses'] == j['total']['cmd_get']")" = True ] ||
	bb_fail "totals inconsistent: hits + misses != gets"
[ "$(jget "$f" "all(sum(w[k] for w in j['per_worker']) == v for k, v in j['total'].items())")" = True ] ||
	bb_fail "total is not the sum of the workers"
[ "$(jget "$f" "j['store']['total']['items']")" -eq 20 ] || bb_fail "store items: $(jget "$f" "j['store']")"
[ "$(jget "$f" "j['name']")" = "$BB_PREFIX" ] || bb_fail "stats name"
ctl_run 0 stats
grep -qE '^cmd_set +[0-9]+ ' "$out" || bb_fail "human stats table: $(head -5 "$out")"
grep -q '^hit ratio ' "$out" || bb_fail "human stats: no hit ratio"

# ---- watch ------------------------------------------------------------------------
ctl_run 0 stats --watch 0.2 --count 3 --json
[ "$(wc -l <"$out")" -eq 3 ] || bb_fail "stats --watch --count 3 gave $(wc -l <"$out") lines"
python3 -c '
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    s = json.loads(line)
    assert s["sample"] == i and "rates" in s and "cmd_get" in s["rates"], line[:200]
' "$out" || bb_fail "stats --watch --json lines"

# ---- config ------------------------------------------------------------------------
ctl_run 0 config get log_level
[ "$(cat "$out")" = info ] || bb_fail "log_level is '$(cat "$out")', expected info"
ctl_run 0 config set log_level debug
[ "$(cat "$out")" = "log_level = debug" ] || bb_fail "config set said '$(cat "$out")'"
ctl_run 0 config get log_level
[ "$(cat "$out")" = debug ] || bb_fail "log_level did not change"
grep -q 'config set log_level = debug' "$BB_LOG" || bb_fail "the change is not in dpcached's log"
ctl_run 0 config set tx_retries 3
ctl_run 1 config set tx_retries 5000
grep -q 'tx_retries: 5000 is out of range 0..1024' "$err" || bb_fail "bad value error: $(cat "$err")"
ctl_run 0 config get tx_retries
[ "$(cat "$out")" = 3 ] || bb_fail "a refused value changed tx_retries to $(cat "$out")"
ctl_run 1 config set workers 2
grep -q 'workers: cannot be changed at run time' "$err" || bb_fail "start-up setting: $(cat "$err")"
ctl_run 1 config set maintain_budget abc
grep -q "maintain_budget: 'abc' is not a number" "$err" || bb_fail "non-number: $(cat "$err")"
ctl_run 1 config set no_such_setting 1
grep -q "unknown setting 'no_such_setting'" "$err" || bb_fail "unknown setting: $(cat "$err")"
ctl_run 0 config get --json
cp "$out" "$BB_TMP/config.json"
[ "$(jget "$BB_TMP/config.json" "j['workers'] + ' ' + j['log_level'] + ' ' + j['maintain_budget']")" = \
	"1 debug 64" ] || bb_fail "config after refused changes: $(cat "$BB_TMP/config.json")"

# ---- flush: visible on the wire ------------------------------------------------------
mc get-hit ctl:0
ctl_run 0 flush
mc get-miss ctl:0 ctl:19

# ---- Prometheus ----------------------------------------------------------------------
ctl_run 1 metrics --listen 0.0.0.0:0 --max-requests 1
grep -q 'loopback addresses only' "$err" || bb_fail "non-loopback listen: $(cat "$err")"
ctl_run 1 metrics --listen 198.18.0.2:9100 --max-requests 1
timeout 60 "${ctl[@]}" metrics --listen 127.0.0.1:0 --max-requests 5 --duration 50 --request-timeout 1000 \
	>"$BB_TMP/prom.out" \
	2>"$BB_TMP/prom.err" &
prom_pid=$!
BB_EXTRA_PIDS="$prom_pid"
for _ in $(seq 100); do grep -q '^listening on' "$BB_TMP/prom.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$BB_TMP/prom.out")
[ -n "$port" ] || bb_fail "metrics did not start: $(cat "$BB_TMP/prom.out" "$BB_TMP/prom.err")"
ctl_run 0 stats --json
cp "$out" "$BB_TMP/prom.json"
python3 - "$port" "$BB_TMP/prom.json" "${ctl[@]}" <<'PY' || bb_fail "Prometheus endpoint"
import json, re, subprocess, sys, urllib.request
port, stats = sys.argv[1], json.load(open(sys.argv[2]))
r = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
helps, types, samples = set(), {}, {}
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)\})? (-?[0-9.eE+]+|NaN|[+-]Inf)$')
for line in r.read().decode().splitlines():
    if line.startswith("# HELP "):
        helps.add(line.split()[2])
    elif line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        assert kind in ("counter", "gauge"), line
        assert name not in types, "family declared twice: " + name
        types[name] = kind
    else:
        m = sample.match(line)
        assert m, "bad sample line: " + line
        name = m.group(1)
        assert name in helps and name in types, "sample before HELP/TYPE: " + line
        if types[name] == "counter":
            assert name.endswith("_total"), name
        samples[name + (m.group(2) or "")] = float(m.group(5))
assert samples["dpcache_up"] == 1
t = stats["total"]
def c(name, unit):
    return f"dpcache_{name}" + ("" if name == unit or name.endswith("_" + unit) else f"_{unit}") + "_total"
for name, unit in [("cmd_get", "requests"), ("cmd_set", "requests"), ("get_hits", "requests"),
                   ("get_misses", "requests"), ("requests", "requests"), ("cmd_flush", "requests")]:
    for w, per in enumerate(stats["per_worker"]):
        assert samples[c(name, unit) + f'{{worker="{w}"}}'] == per[name], (name, w)
    assert samples[c(name, unit) + '{worker="total"}'] == t[name], (name, t[name])
# Store items are a gauge: the owner's background sweep (paced by the idle back-off) may still
# be dropping flushed items between the snapshots; with no requests arriving they only fall.
later = json.loads(subprocess.run(sys.argv[3:] + ["stats", "--json"], check=True,
                                  capture_output=True).stdout)
items = samples['dpcache_store_items{partition="total"}']
assert later["store"]["total"]["items"] <= items <= stats["store"]["total"]["items"], \
    (later["store"]["total"]["items"], items, stats["store"]["total"]["items"])
assert samples["dpcache_workers"] == stats["workers"]
# every counter of the JSON has its family
for name in t:
    assert any(k.startswith((f"dpcache_{name}_", f"dpcache_{name}{{")) for k in samples), name
# gauges (a level, not a total): no _total suffix
assert types["dpcache_reasm_bytes"] == "gauge" and types["dpcache_reasm_entries_datagrams"] == "gauge"
print("prometheus: %d families, %d samples" % (len(types), len(samples)))
PY
# a slow HTTP client does not delay a scrape, and gets 408 at its deadline; a NUL gets 400
python3 - "$port" <<'PY' || bb_fail "Prometheus endpoint: slow client / hostile bytes"
import socket, sys, time, urllib.request
port = int(sys.argv[1])
slow = socket.create_connection(("127.0.0.1", port), timeout=10)
slow.send(b"GET /metr")
t0 = time.monotonic()
r = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
body = r.read()
dt = time.monotonic() - t0
assert r.status == 200 and b"dpcache_up 1" in body, r.status
print(f"prometheus: scrape answered in {dt * 1000:.1f} ms while a slow client held a connection")
ans = slow.recv(1000)
held = time.monotonic() - t0
assert ans.startswith(b"HTTP/1.0 408 Request Timeout"), ans[:80]
print(f"prometheus: slow client got 408 after {held:.2f} s (--request-timeout 1000)")
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"GET /metrics\0 HTTP/1.0\r\n\r\n")
ans = s.recv(1000)
assert ans.startswith(b"HTTP/1.0 400 Bad Request"), ans[:80]
print("prometheus: a NUL in the request line: 400")
PY
# the fifth request is a 404; then --max-requests 5 ends the exporter
python3 -c "
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen('http://127.0.0.1:$port/nope', timeout=10)
    sys.exit('no 404')
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code == 404 else 'status %d' % e.code)
" || bb_fail "unknown path"
wait "$prom_pid" || bb_fail "dpcachectl metrics exited with $?"
BB_EXTRA_PIDS=

# ---- docs/operations.md lists every setting and every counter ---------------------------
python3 - "$BB_ROOT/docs/operations.md" "$BB_TMP/config.json" "$BB_TMP/prom.json" <<'PY' ||
import json, sys
doc = open(sys.argv[1]).read()
missing = [f"setting {k}" for k in json.load(open(sys.argv[2])) if f"| `{k}` |" not in doc]
missing += [f"counter {k}" for k in json.load(open(sys.argv[3]))["total"] if f"| `{k}` |" not in doc]
sys.exit("docs/operations.md lacks: " + ", ".join(missing) if missing else 0)
PY
	bb_fail "docs/operations.md is out of date with the settings/counters tables"

# ---- log_level acts: at `error`, dpcached's NOTICE lines (e.g. "stopping") are not printed ----
grep -q 'dpcached: ready' "$BB_LOG" || bb_fail "no ready line"
ctl_run 0 config set log_level error
bb_stop_dpcached
grep -q 'dpcached: stopping' "$BB_LOG" && bb_fail "log_level=error still printed a NOTICE line"

# ---- dpcached gone: a clean error, not a hang ------------------------------------------
ctl_run 3 ping
grep -q 'dpcached is not running' "$err" || bb_fail "not running: $(cat "$err")"
ctl_run 3 stats --json
[ ! -e "$sock" ] || bb_fail "control socket left behind"
[ ! -e "$(dirname "$sock")" ] || bb_fail "control socket directory left behind"
rm -rf "/var/run/dpdk/$BB_PREFIX" # EAL's runtime dir of our unique prefix
echo "test_ctl: PASS"
