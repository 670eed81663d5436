#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Black-box test of dpcached over TCP with real client libraries (Debian's
python3-pymemcache and python3-memcache) and with raw sockets for what the
libraries do not exercise: pipelining, the binary quiet multi-get, noreply,
quit, a request over the size limit, and the connection limits.

usage: tcp_clients.py ADDR PORT PHASE
  PHASE clients  pymemcache and python-memcache: set, get, gets, cas, incr,
                 decr, delete, touch, multi-get, a 1 MiB value both ways, TTL
  PHASE raw      pipelined text and binary requests, GETKQ..NOOP, noreply,
                 quit, a 1 GB request claim closed (not buffered), text
                 request that never ends closed
  PHASE maxconn N  N connections served, the next one refused
  PHASE idle S   a connection idle for more than S seconds is closed
  PHASE refused  (the client outside `allow`) the connection is closed, nothing answered
  PHASE threads N K SOCK  N clients at once, each on its own connection and thread: set, get,
                 a pipelined burst; with tcp_threads=K every TCP thread accepted some
                 (t<i>.total_connections from the control socket SOCK), and the
                 threads' curr_connections add up to N while they are open (on the
                 control channel and in STAT over TCP), 0 after
Prints one line per check; exits 1 at the first failure.
"""
import socket
import struct
import sys
import threading
import time

ADDR, PORT, PHASE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
MIB = 1 << 20


def ok(what):
    print(f"  ok  {what}", flush=True)


def fail(what):
    print(f"  FAIL {what}", flush=True)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)
    ok(what)


# ---- real client libraries ------------------------------------------------

def clients():
    from pymemcache.client.base import Client
    import memcache

    c = Client((ADDR, PORT), timeout=10, connect_timeout=10, default_noreply=False)
    check(c.version().startswith(b"1.6"), f"pymemcache version {c.version()!r}")
    check(c.set("pm:a", b"alpha") is True, "pymemcache set")
    check(c.get("pm:a") == b"alpha", "pymemcache get")
    v, cas = c.gets("pm:a")
    check(v == b"alpha" and cas is not None and int(cas) > 0, f"pymemcache gets (cas {cas!r})")
    check(c.cas("pm:a", b"beta", cas) is True, "pymemcache cas with the right unique")
    check(c.cas("pm:a", b"gamma", cas) is False, "pymemcache cas with a stale unique: EXISTS")
    check(c.get("pm:a") == b"beta", "pymemcache cas stored the first value only")
    check(c.set("pm:n", b"10") is True and c.incr("pm:n", 5) == 15, "pymemcache incr")
    check(c.decr("pm:n", 20) == 0, "pymemcache decr stops at 0")
    check(c.incr("pm:none", 1) is None, "pymemcache incr on a missing key: NOT_FOUND")
    check(c.add("pm:a", b"x") is False, "pymemcache add on an existing key: NOT_STORED")
    check(c.append("pm:a", b"+") is True and c.prepend("pm:a", b"-") is True and
          c.get("pm:a") == b"-beta+", "pymemcache append, prepend")
    check(c.touch("pm:a", 100) is True and c.touch("pm:zz", 100) is False, "pymemcache touch")
    many = {f"pm:m{i}": f"v{i}".encode() for i in range(50)}
    check(c.set_many(many) == [], "pymemcache set_many (50 keys, one pipelined write)")
    got = c.get_many(list(many) + ["pm:missing"])
    check(got == many, "pymemcache get_many: 50 hits, the miss left out")
    big = bytes(range(256)) * (MIB // 256)
    check(c.set("pm:big", big) is True, "pymemcache set of a 1 MiB value")
    check(c.get("pm:big") == big, "pymemcache get of the 1 MiB value, byte for byte")
    check(c.delete("pm:big") is True and c.get("pm:big") is None, "pymemcache delete")
    check(c.delete("pm:big") is False, "pymemcache delete of a missing key: NOT_FOUND")
    check(c.set("pm:ttl", b"t", expire=1) is True and c.get("pm:ttl") == b"t", "pymemcache TTL set")
    time.sleep(2.2)
    check(c.get("pm:ttl") is None, "pymemcache TTL: gone after 2 s")
    check(c.set("pm:nr", b"q", noreply=True) is True and c.get("pm:nr") == b"q",
          "pymemcache noreply set, then get")
    c.close()

    m = memcache.Client([f"{ADDR}:{PORT}"], socket_timeout=10, cache_cas=True)
    check(bool(m.set("py:a", "alpha")), "python-memcache set")
    check(m.get("py:a") == "alpha", "python-memcache get")
    check(m.gets("py:a") == "alpha" and len(m.cas_ids) == 1, f"python-memcache gets (cas ids {m.cas_ids})")
    check(bool(m.cas("py:a", "beta")), "python-memcache cas")
    check(m.get("py:a") == "beta", "python-memcache value after cas")
    check(m.set("py:n", "7") and m.incr("py:n", 3) == 10 and m.decr("py:n", 4) == 6,
          "python-memcache incr, decr")
    check(bool(m.touch("py:a", 100)), "python-memcache touch")
    m.set_multi({"py:x": "1", "py:y": "2", "py:z": "3"})
    check(m.get_multi(["py:x", "py:y", "py:z", "py:nope"]) == {"py:x": "1", "py:y": "2", "py:z": "3"},
          "python-memcache get_multi")
    big = "b" * (MIB - 512)  # python-memcache refuses values >= its SERVER_MAX_VALUE_LENGTH (1 MiB)
    check(bool(m.set("py:big", big)) and m.get("py:big") == big, "python-memcache large value")
    check(bool(m.delete("py:a")) and m.get("py:a") is None, "python-memcache delete")
    check(bool(m.set("py:ttl", "t", time=1)) and m.get("py:ttl") == "t", "python-memcache TTL set")
    time.sleep(2.2)
    check(m.get("py:ttl") is None, "python-memcache TTL: gone after 2 s")
    m.disconnect_all()


# ---- raw sockets ------------------------------------------------------------

def conn():
    s = socket.create_connection((ADDR, PORT), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_until(s, end, limit=4 * MIB):
    buf = b""
    while not buf.endswith(end):
        d = s.recv(65536)
        if not d:
            break
        buf += d
        if len(buf) > limit:
            break
    return buf


def recv_n(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            break
        buf += d
    return buf


def closed(s, timeout=10):
    """True if the server closes the connection (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def breq(op, key=b"", extras=b"", value=b"", opaque=0, cas=0):
    body = extras + key + value
    return struct.pack(">BBHBBHIIQ", 0x80, op, len(key), len(extras), 0, 0, len(body), opaque,
                       cas) + body


def bres(s):
    hdr = recv_n(s, 24)
    if len(hdr) < 24:
        fail("binary response header")
    magic, op, klen, elen, _, status, blen, opaque, cas = struct.unpack(">BBHBBHIIQ", hdr)
    body = recv_n(s, blen)
    return dict(op=op, status=status, opaque=opaque, cas=cas, extras=body[:elen],
                key=body[elen:elen + klen], value=body[elen + klen:])


def raw():
    # text: pipelined in one write, answered in order
    s = conn()
    s.sendall(b"set r:a 5 0 1\r\nA\r\nset r:b 6 0 2\r\nBB\r\nget r:a r:b r:none\r\n"
              b"delete r:a noreply\r\nget r:a\r\nincr r:c 1\r\nversion\r\n")
    out = recv_until(s, b"\r\n", 1 << 16)
    while out.count(b"\r\n") < 9:
        out += s.recv(65536)
    want = (b"STORED\r\nSTORED\r\nVALUE r:a 5 1\r\nA\r\nVALUE r:b 6 2\r\nBB\r\nEND\r\n"
            b"END\r\nNOT_FOUND\r\nVERSION ")
    check(out.startswith(want), f"text: 7 pipelined requests answered in order, noreply silent")
    s.sendall(b"GET r:b\r\n")
    check(recv_until(s, b"\r\n") == b"ERROR\r\n", "text: an unknown command is ERROR")
    s.sendall(b"quit\r\n")
    check(closed(s), "text: quit closes the connection")

    # binary: pipelined SETQs then the multi-get idiom GETKQ... + NOOP
    s = conn()
    keys = [f"bq:{i}".encode() for i in range(100)]
    s.sendall(b"".join(breq(0x11, k, struct.pack(">II", 9, 0), b"val-" + k, opaque=i)
                       for i, k in enumerate(keys)) + breq(0x0a, opaque=0xfeed))
    r = bres(s)
    check(r["op"] == 0x0a and r["opaque"] == 0xfeed and r["status"] == 0,
          "binary: 100 pipelined SETQ are silent, then NOOP")
    s.sendall(b"".join(breq(0x0d, k, opaque=i) for i, k in enumerate(keys[:60])) +
              breq(0x0d, b"bq:missing", opaque=999) + breq(0x0a, opaque=0xbeef))
    seen = {}
    while True:
        r = bres(s)
        if r["op"] == 0x0a:
            break
        seen[r["key"]] = (r["value"], struct.unpack(">I", r["extras"])[0], r["opaque"])
    check(len(seen) == 60 and all(seen[k] == (b"val-" + k, 9, i) for i, k in enumerate(keys[:60])),
          "binary: GETKQ x61 + NOOP: 60 hits with key, flags and opaque, the miss silent")
    # a 1 MiB value both ways over binary
    big = bytes(range(251)) * (MIB // 251)
    s.sendall(breq(0x01, b"bq:big", struct.pack(">II", 0, 0), big, opaque=5))
    r = bres(s)
    check(r["status"] == 0 and r["cas"] != 0, "binary: SET of a 1 MiB value")
    s.sendall(breq(0x00, b"bq:big", opaque=6))
    r = bres(s)
    check(r["status"] == 0 and r["value"] == big, "binary: GET of the 1 MiB value")
    # too large by a little: memcached's E2BIG, and the connection goes on
    s.sendall(breq(0x01, b"bq:big", struct.pack(">II", 0, 0), b"x" * (MIB + 1), opaque=7))
    r = bres(s)
    check(r["status"] == 3 and r["opaque"] == 7, "binary: SET of 1 MiB + 1 byte: E2BIG")
    s.sendall(breq(0x00, b"bq:big", opaque=8))
    r = bres(s)
    check(r["status"] == 1, "binary: the refused SET removed the old value (as memcached)")
    s.sendall(breq(0x07, opaque=9))
    r = bres(s)
    check(r["op"] == 0x07 and r["status"] == 0 and closed(s), "binary: QUIT answered, then closed")

    # a 1 GB request claim: answered and closed after at most the limit, not buffered
    s = conn()
    s.sendall(struct.pack(">BBHBBHIIQ", 0x80, 0x01, 3, 8, 0, 0, 1 << 30, 42, 0) + b"\0" * 8 + b"key")
    sent = 0
    chunk = b"z" * 65536
    try:
        while sent < 64 * MIB:
            s.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    except socket.timeout:
        fail("the server stopped reading but did not close")
    r = bres(s)
    check(r["status"] == 3 and r["opaque"] == 42, f"binary: 1 GB claim answered E2BIG after "
          f"{sent // MIB} MiB sent")
    check(closed(s), "binary: ... and the connection closed")
    s = conn()
    try:
        s.sendall(b"get " + b"k" * (8 * MIB))
    except (BrokenPipeError, ConnectionResetError):
        pass
    check(closed(s), "text: a command line that never ends is closed (not buffered)")
    # the server is fine afterwards
    s = conn()
    s.sendall(b"get r:b\r\n")
    check(recv_until(s, b"END\r\n") == b"VALUE r:b 6 2\r\nBB\r\nEND\r\n", "still serving")
    s.close()


def maxconn(n):
    socks = [conn() for _ in range(n)]
    for s in socks:
        s.sendall(b"version\r\n")
        if not recv_until(s, b"\r\n").startswith(b"VERSION"):
            fail("a connection under the limit is served")
    ok(f"{n} connections served")
    extra = conn()
    got = recv_until(extra, b"\r\n")
    check(got == b"ERROR Too many open connections\r\n" and closed(extra),
          f"connection {n + 1}: refused with memcached's answer")
    socks.pop().close()
    time.sleep(0.3)
    again = conn()
    again.sendall(b"version\r\n")
    check(recv_until(again, b"\r\n").startswith(b"VERSION"), "one closed: a new one is served")
    for s in socks + [again]:
        s.close()


def idle(secs):
    s = conn()
    busy = conn()
    s.sendall(b"version\r\n")
    recv_until(s, b"\r\n")
    t0 = time.time()
    while time.time() - t0 < secs + 1.5:
        busy.sendall(b"version\r\n")
        recv_until(busy, b"\r\n")
        time.sleep(0.3)
    check(closed(s, 3), f"an idle connection is closed after {secs} s")
    busy.sendall(b"version\r\n")
    check(recv_until(busy, b"\r\n").startswith(b"VERSION"), "a busy one is not")
    busy.close()


def refused():
    """The source checks drop a refused source's frames before they reach the exception
    path (its SYN included), and the TCP server closes at accept what still comes: either way
    no connection is served and nothing is answered."""
    try:
        s = socket.create_connection((ADDR, PORT), timeout=3)
    except (socket.timeout, TimeoutError, ConnectionRefusedError, OSError):
        ok("a source outside allow: no connection (its frames are dropped)")
        return
    got = b""
    try:
        s.sendall(b"version\r\n")
        got = s.recv(100)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    check(got == b"" and closed(s), "a source outside allow: closed at accept, nothing sent")


def ctl_stats(path):
    """The control channel's stats answer (dpcache/ctl.h): {key: value}."""
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.settimeout(5)
    u.connect(path)
    u.sendall(b"stats\n")
    data = b""
    while True:
        d = u.recv(65536)
        if not d:
            break
        data += d
    u.close()
    lines = data.decode().splitlines()
    if not lines or lines[0] != "OK":
        fail(f"control channel: {lines[:1]}")
    return dict(ln.split(" ", 1) for ln in lines[1:] if " " in ln)


def per_thread(st, name, k):
    """Counter name of TCP threads t0..t<k-1> (absent lines are 0)."""
    return [int(st.get(f"t{i}.{name}", "0")) for i in range(k)]


def threads(n, k, sock):
    before = per_thread(ctl_stats(sock), "total_connections", k)
    socks, errors = [None] * n, []
    start = threading.Barrier(n)
    held = threading.Event()

    def client(i):
        try:
            start.wait(10)
            s = conn()
            socks[i] = s
            key, val = f"thr:{i}".encode(), (b"v%d" % i) * 50
            s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(val), val))
            if recv_until(s, b"\r\n") != b"STORED\r\n":
                errors.append(f"client {i}: set")
            burst = b"get %s\r\n" % key * 20
            s.sendall(burst)
            want = (b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (key, len(val), val)) * 20
            if recv_n(s, len(want)) != want:
                errors.append(f"client {i}: pipelined gets")
            held.wait(30)
        except Exception as e:  # noqa: BLE001 (reported as a failure)
            errors.append(f"client {i}: {e}")

    ts = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    deadline = time.time() + 30
    while time.time() < deadline and sum(x is not None for x in socks) < n and not errors:
        time.sleep(0.05)
    time.sleep(0.5)
    st = ctl_stats(sock)
    curr = per_thread(st, "curr_connections", k)
    total = [a - b for a, b in zip(per_thread(st, "total_connections", k), before)]
    # STAT over TCP sums every thread's counters too (not only the workers')
    stat = {}
    if socks[0] is not None:
        socks[0].sendall(b"stats\r\n")
        for ln in recv_until(socks[0], b"END\r\n").decode().splitlines():
            f = ln.split(" ")
            if len(f) == 3 and f[0] == "STAT":
                stat[f[1]] = f[2]
    held.set()
    for t in ts:
        t.join(30)
    check(not errors, f"{n} concurrent clients: set, get, 20 pipelined gets each "
          f"({'; '.join(errors[:3]) or 'all answered'})")
    check(all(x > 0 for x in total) and sum(total) == n,
          f"every one of {k} TCP threads accepted connections: {total}")
    check(sum(curr) == n, f"curr_connections over the threads while open: {curr} (sum {n})")
    check(stat.get("curr_connections") == str(n),
          f"STAT over TCP: curr_connections {stat.get('curr_connections')} (every thread's)")
    for s in socks:
        if s is not None:
            s.close()
    deadline = time.time() + 10
    while time.time() < deadline and sum(per_thread(ctl_stats(sock), "curr_connections", k)):
        time.sleep(0.1)
    check(sum(per_thread(ctl_stats(sock), "curr_connections", k)) == 0,
          "curr_connections back to 0 after they closed")


if PHASE == "clients":
    clients()
elif PHASE == "raw":
    raw()
elif PHASE == "maxconn":
    maxconn(int(sys.argv[4]))
elif PHASE == "refused":
    refused()
elif PHASE == "threads":
    threads(int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
elif PHASE == "idle":
    idle(int(sys.argv[4]))
else:
    fail(f"unknown phase {PHASE}")
print(f"tcp_clients {PHASE}: all checks passed")
