#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Hostile traffic against a running dpcached, from a client network namespace.

Forged frames go out through an AF_PACKET socket; a second AF_PACKET socket
counts every frame that arrives on the client's interface from the server's
MAC (the server answers to the Ethernet source, so whatever it would send to
a forged address arrives here).  Each case measures bytes in (frames sent)
and bytes out (frames the server sent back to the case's sources) and prints
one row of a table: case, bytes in, bytes out, ratio, result.

Usage: hostile.py SERVER PORT IFACE DPCACHECTL NAME CTL_SOCKET
  (run in the client namespace; dpcached started with
   --allow subnet,203.0.113.0/24: 203.0.113.0/24 allowed but not trusted)
Exit 0 when every case passed, 1 otherwise.  Bounded: every loop has a count
and a deadline; about 20 s in all.
"""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

SERVER, PORT, IFACE, CTL, NAME, CTL_SOCK = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4], sys.argv[5], sys.argv[6]
ME = "198.18.0.2"
UNTRUSTED = "203.0.113.7"       # inside allow, outside trusted
VICTIM = "203.0.113.50"         # inside allow, outside trusted
ETH_P_ALL, ETH_P_IP, ETH_P_ARP = 0x0003, 0x0800, 0x0806
PACKET_OUTGOING = 4
SOL_PACKET, PACKET_STATISTICS = 263, 6

HDR = struct.Struct(">BBHBBHIIQ")
FRAME = struct.Struct(">HHHH")
OP = dict(GET=0x00, SET=0x01, FLUSH=0x08, NOOP=0x0a, APPEND=0x0e, STAT=0x10, APPENDQ=0x19)
AUTH_ERROR = 0x20

rows = []
rows_skipped = []
failed = []


def log(msg):
    print("  " + msg, file=sys.stderr, flush=True)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def req(op, key=b"", value=b"", extras=b"", opaque=0):
    return HDR.pack(0x80, op, len(key), len(extras), 0, 0, len(extras) + len(key) + len(value),
                    opaque, 0) + extras + key + value


def dgram(body, rid=1):
    return FRAME.pack(rid, 0, 1, 0) + body


def frame(src_ip, payload, sport=40000, eth_src=None, eth_dst=None, dst_ip=None, proto=17):
    """An Ethernet/IPv4/UDP frame (or ICMP when proto=1: payload is the ICMP message)."""
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip or SERVER)
    if proto == 17:
        ulen = 8 + len(payload)
        ph = src + dst + struct.pack("!BBH", 0, 17, ulen)
        u = struct.pack("!HHHH", sport, PORT, ulen, 0) + payload
        c = csum(ph + u) or 0xffff
        l4 = u[:6] + struct.pack("!H", c) + u[8:]
    else:
        l4 = payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), random.randrange(65536), 0, 64,
                     proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    f = (eth_dst or SRV_MAC) + (eth_src or MY_MAC) + b"\x08\x00" + ip + l4
    return f + b"\0" * (60 - len(f)) if len(f) < 60 else f


def icmp_echo(ident, seq):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"hostile-ping" + bytes(20)
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


# ---- the server's counters and config, over the control socket ---------------------------

def ctl(*args, timeout=10):
    return subprocess.run([CTL, "--name", NAME, "--timeout", "3000"] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def stats():
    r = ctl("stats", "--json")
    if r.returncode != 0:
        raise RuntimeError("dpcachectl stats: %s" % r.stderr.strip())
    return json.loads(r.stdout)["total"]


def config_set(k, v):
    r = ctl("config", "set", k, v)
    if r.returncode != 0:
        raise RuntimeError("config set %s %s: %s" % (k, v, r.stderr.strip()))


def delta(before, after, *names):
    return dict((n, after.get(n, 0) - before.get(n, 0)) for n in names)


# ---- the frame counter -------------------------------------------------------------------

class Counter:
    """Every frame from the server's MAC arriving on IFACE, with its time."""

    def __init__(self):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: 1 MiB answers
        self.s.bind((IFACE, ETH_P_ALL))
        self.s.settimeout(0.05)
        self.frames = []
        self.lock = threading.Lock()
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                f, addr = self.s.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == PACKET_OUTGOING or f[6:12] != SRV_MAC:
                continue
            with self.lock:
                self.frames.append((time.time(), f))

    def mark(self):
        with self.lock:
            return len(self.frames)

    def since(self, start):
        with self.lock:
            return list(self.frames[start:])

    def drops(self):
        st = self.s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        return struct.unpack("II", st)[1]


def ip_dst(f):
    return socket.inet_ntoa(f[30:34]) if f[12:14] == b"\x08\x00" and len(f) >= 34 else None


def settle(ctr, quiet=0.4, limit=5.0):
    """Wait until nothing arrived for `quiet` seconds (at most `limit`)."""
    t0 = time.time()
    n = ctr.mark()
    last = time.time()
    while time.time() - t0 < limit:
        time.sleep(0.05)
        m = ctr.mark()
        if m != n:
            n, last = m, time.time()
        elif time.time() - last >= quiet:
            break


# ---- a legitimate client (kernel UDP socket, 198.18.0.2: trusted) --------------------------

class Client:
    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)
        self.s.connect((SERVER, PORT))
        self.rid = random.randrange(1, 30000)

    def call(self, body, timeout=1.0, tries=3):
        """One datagram, its whole answer (binary responses); None when none came."""
        for _ in range(tries):
            self.rid = (self.rid + 1) & 0xffff
            rid = self.rid
            self.s.send(dgram(body, rid))
            parts, total, deadline = {}, None, time.time() + timeout
            while time.time() < deadline:
                self.s.settimeout(max(0.01, deadline - time.time()))
                try:
                    d = self.s.recv(65536)
                except socket.timeout:
                    break
                r, seq, tot, _ = FRAME.unpack_from(d)
                if r != rid:
                    continue
                parts[seq], total = d[8:], tot
                if len(parts) == total:
                    return b"".join(parts[i] for i in range(total))
        return None


def status_of(resp):
    return HDR.unpack_from(resp)[5] if resp and len(resp) >= 24 else None


def value_len(resp):
    if not resp or len(resp) < 24:
        return None
    _m, _op, klen, elen, _dt, st, blen, _o, _c = HDR.unpack_from(resp)
    return blen - klen - elen if st == 0 else None


# ---- the cases ---------------------------------------------------------------------------

def row(case, bin_, bout, ok, why):
    ratio = "%.2f" % (bout / bin_) if bin_ else "-"
    rows.append((case, bin_, bout, ratio, ("PASS" if ok else "FAIL") + " " + why))
    if not ok:
        failed.append(case)


def run_case(ctr, tx, frames, dsts, gap=0.0):
    """Send frames; bytes sent, bytes back to any of dsts (None: any IPv4/ARP frame)."""
    start = ctr.mark()
    sent = 0
    for f in frames:
        tx.send(f)
        sent += len(f)
        if gap:
            time.sleep(gap)
    settle(ctr)
    # None: every IPv4 frame (ARP replies to the client kernel's own probes are not answers)
    back = [f for _t, f in ctr.since(start)
            if (ip_dst(f) is not None if dsts is None else ip_dst(f) in dsts)]
    return sent, sum(len(f) for f in back), back


def case_outside_allow(ctr, tx):
    srcs = ["192.0.2.%d" % i for i in range(1, 21)] + ["100.64.%d.1" % i for i in range(20)]
    bodies = [req(OP["GET"], b"hb:big"), req(OP["GET"], b"hb:small"), b"get hb:small\r\n",
              req(OP["FLUSH"]), req(OP["STAT"]), req(OP["NOOP"])]
    frames = [frame(s, dgram(bodies[i % len(bodies)], i)) for i, s in enumerate(srcs)]
    b = stats()
    sent, back, _ = run_case(ctr, tx, frames, set(srcs))
    d = delta(b, stats(), "drop_src_denied")
    row("forged sources outside allow", sent, back, back == 0 and d["drop_src_denied"] == len(frames),
        "no byte back, drop_src_denied +%d" % d["drop_src_denied"])


def case_untrusted_big_get(ctr, tx):
    frames = []
    for i in range(10):
        frames.append(frame(UNTRUSTED, dgram(req(OP["GET"], b"hb:big"), 100 + i), sport=41000 + i))
        frames.append(frame(UNTRUSTED, dgram(req(OP["GET"], b"hb:small"), 200 + i), sport=42000 + i))
    b = stats()
    sent, back, got = run_case(ctr, tx, frames, {UNTRUSTED}, gap=0.002)
    d = delta(b, stats(), "drop_amplification", "resp_budget_cut")
    # resp_budget_cut: the 1 MiB responses were given up while being built, at the source's
    # budget (a few KB), not after a 1 MiB copy
    ok = back <= 3 * sent and back > 0 and d["drop_amplification"] >= 10 and d["resp_budget_cut"] >= 10
    row("1 MiB GET, allowed untrusted source", sent, back, ok,
        "<= 3x (%d frames back: the small GETs), drop_amplification +%d, resp_budget_cut +%d"
        % (len(got), d["drop_amplification"], d["resp_budget_cut"]))


def case_forged_flush(ctr, tx, cli):
    srcs = ["192.0.2.66", UNTRUSTED, ME]   # outside allow; untrusted; trusted, not admin
    frames = []
    for i, s in enumerate(srcs):
        frames.append(frame(s, dgram(req(OP["FLUSH"]), 300 + i), sport=43000 + i))
        frames.append(frame(s, dgram(b"flush_all\r\n", 310 + i), sport=43100 + i))
        frames.append(frame(s, dgram(b"flush_all noreply\r\n", 320 + i), sport=43200 + i))
    b = stats()
    sent, back, got = run_case(ctr, tx, frames, set(srcs), gap=0.002)
    d = delta(b, stats(), "refused_admin", "drop_src_denied")
    # the answers: AUTH_ERROR (binary) and CLIENT_ERROR (text), to the two allowed sources only
    answers = [f[42 + 8:] for f in got if ip_dst(f) in (UNTRUSTED, ME)]
    auth = sum(1 for a in answers if len(a) >= 24 and a[0] == 0x81 and status_of(a) == AUTH_ERROR)
    txt = sum(1 for a in answers if a.startswith(b"CLIENT_ERROR permission denied"))
    to_denied = [f for f in got if ip_dst(f) == "192.0.2.66"]
    small = cli.call(req(OP["GET"], b"hb:small"))
    mid = cli.call(req(OP["GET"], b"hb:mid"), timeout=2.0)
    intact = value_len(small) == 10 and value_len(mid) == 10000
    if not intact:
        log("after the forged flushes: hb:small %r, hb:mid %r" % (value_len(small), value_len(mid)))
    ok = intact and not to_denied and auth == 2 and txt == 4 and d["refused_admin"] == 6 and \
        back <= 3 * sent
    row("forged flush_all / FLUSH", sent, back, ok,
        "cache intact=%s, %d AUTH_ERROR + %d CLIENT_ERROR answers, refused_admin +%d"
        % (intact, auth, txt, d["refused_admin"]))


def case_group_sources(ctr, tx):
    g = b"get hb:small\r\n"
    frames = [
        frame(ME, dgram(g), eth_src=b"\xff" * 6),                       # Ethernet broadcast source
        frame(ME, dgram(g), eth_src=b"\x01\x00\x5e\x00\x00\xfb"),       # Ethernet multicast source
        frame(ME, dgram(g), eth_dst=b"\xff" * 6),                       # broadcast to our IP
        frame(ME, dgram(g), eth_dst=b"\x02\x11\x22\x33\x44\x55"),       # someone else's MAC
        frame("255.255.255.255", dgram(g)), frame("224.0.0.251", dgram(g)),
        frame("198.18.0.255", dgram(g)), frame("0.0.0.0", dgram(g)),
        frame("127.0.0.1", dgram(g)), frame(SERVER, dgram(g)),
        frame(ME, dgram(g), sport=0),                                   # UDP source port 0
        frame("224.0.0.1", icmp_echo(7, 1), proto=1),                  # ping from multicast
    ]
    b = stats()
    sent, back, _ = run_case(ctr, tx, frames, None)
    names = ("drop_eth_src", "drop_eth_dst", "drop_src_martian", "drop_udp_sport0")
    d = delta(b, stats(), *names)
    want = dict(drop_eth_src=2, drop_eth_dst=2, drop_src_martian=7, drop_udp_sport0=1)
    ok = back == 0 and d == want
    row("broadcast/multicast/martian sources", sent, back, ok,
        "no byte back, " + " ".join("%s +%d" % (n[5:], d[n]) for n in names))


def case_victim_flood(ctr, tx):
    rate, burst = 64 * 1024, 16 * 1024
    config_set("src_rate", "64K")
    config_set("src_burst", "16K")
    frames = [frame(VICTIM, dgram(req(OP["GET"], b"hb:c100"), i & 0xffff), sport=44000 + (i % 1000))
              for i in range(3000)]
    b = stats()
    start = ctr.mark()
    t0 = time.time()
    sent = 0
    for i, f in enumerate(frames):   # about 3000 per second, for at most 1.5 s
        if time.time() - t0 > 1.5:
            break
        tx.send(f)
        sent += len(f)
        if i % 30 == 29:
            time.sleep(0.01)
    settle(ctr)
    got = [(t, f) for t, f in ctr.since(start) if ip_dst(f) == VICTIM]
    back = sum(len(f) for _t, f in got)
    t_last = max([t for t, _f in got] or [t0])
    budget = min(3 * sent, burst + rate * (t_last - t0 + 0.05))
    d = delta(b, stats(), "drop_src_rate", "drop_amplification")
    config_set("src_rate", "1M")
    config_set("src_burst", "64K")
    ok = back <= budget and d["drop_src_rate"] > 0 and back > 0
    row("flood of forged GETs at one victim", sent, back, ok,
        "<= budget %d (src_burst 16K + src_rate 64K/s x %.2f s), drop_src_rate +%d"
        % (budget, t_last - t0, d["drop_src_rate"]))


def ctl_ping_ok(timeout_s=3.0):
    try:
        r = subprocess.run([CTL, "--name", NAME, "--timeout", "2000", "ping"], capture_output=True,
                           text=True, timeout=timeout_s)
        return r.returncode == 0
    except subprocess.TimeoutExpired:
        return False


def case_ctl(cli):
    sent = got = 0
    # a NUL byte in a request line
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    nul_ok = False
    try:
        s.connect(CTL_SOCK)
        s.sendall(b"ping\0\n")
        sent += 6
        ans = s.recv(4096)
        got += len(ans)
        nul_ok = ans.startswith(b"ERR")
    except OSError as e:
        log("control socket, NUL: %s" % e)
    finally:
        s.close()
    alive_nul = ctl_ping_ok()
    # a slow client: one byte every 0.5 s for 4 s, while others ask
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow_ok = udp_ok = checked = False
    cut = None
    t0 = time.time()
    try:
        slow.connect(CTL_SOCK)
        for ch in b"stats\n"[:-1]:
            slow.send(bytes([ch]))
            sent += 1
            time.sleep(0.5)
            if time.time() - t0 > 1.0 and not checked:
                checked = True
                slow_ok = ctl_ping_ok(3.0)
                udp_ok = status_of(cli.call(req(OP["GET"], b"hb:small"))) in (0, 1)
            if time.time() - t0 > 4.0:
                break
    except (BrokenPipeError, ConnectionResetError):
        cut = time.time() - t0   # the server's per-connection deadline (ctl_timeout_ms)
    except OSError as e:
        log("control socket, slow client: %s" % e)
    finally:
        slow.close()
    alive = ctl_ping_ok() and status_of(cli.call(req(OP["NOOP"]))) == 0
    ok = nul_ok and alive_nul and slow_ok and udp_ok and alive
    row("control socket: NUL byte, slow client", sent, got, ok,
        "NUL answered ERR=%s, alive=%s, others served during a slow client=%s%s"
        % (nul_ok, alive_nul and alive, slow_ok and udp_ok,
           ", it was cut after %.1f s" % cut if cut is not None else ""))


def case_append_flood(ctr, tx, cli):
    flooder = "198.18.0.7"          # on our subnet (trusted): no byte limit applies
    cli.call(req(OP["SET"], b"hb:app", b"a" * 1300, struct.pack(">II", 0, 0)))
    for i in range(200):            # a 256 KiB value, rewritten whole by every APPEND
        if i % 20 == 19:
            cli.call(req(OP["APPEND"], b"hb:app", b"a" * 1300))
        else:
            cli.s.send(dgram(req(OP["APPENDQ"], b"hb:app", b"a" * 1300), 1))
    flood = [frame(flooder, dgram(req(OP["APPENDQ"], b"hb:app", b"x" * 20), i & 0xffff),
                   sport=45000 + (i % 100)) for i in range(3000)]
    start = ctr.mark()
    answered = asked = sent = 0
    t0 = time.time()
    i = 0
    while i < len(flood) and time.time() - t0 < 3.0:
        for f in flood[i:i + 100]:
            tx.send(f)
            sent += len(f)
        i += 100
        asked += 1
        r = cli.call(req(OP["GET"], b"hb:small"), timeout=1.0, tries=1)
        answered += status_of(r) in (0, 1)   # a hit, or a miss if the flood evicted it
    settle(ctr)
    back = sum(len(f) for _t, f in ctr.since(start) if ip_dst(f) == flooder)
    b = stats()
    ok = asked > 0 and answered >= asked * 9 // 10 and status_of(cli.call(req(OP["NOOP"]))) == 0
    row("flood of APPENDs to a 256 KiB value", sent, back, ok,
        "other client answered %d/%d during it (cmd_append %d)" % (answered, asked, b["cmd_append"]))


def main():
    global SRV_MAC, MY_MAC
    random.seed(9)
    with open("/sys/class/net/%s/address" % IFACE) as f:
        MY_MAC = bytes.fromhex(f.read().strip().replace(":", ""))
    cli = Client()
    if status_of(cli.call(req(OP["NOOP"]))) != 0:
        print("hostile.py: the server does not answer a NOOP", file=sys.stderr)
        return 1
    SRV_MAC = None
    with open("/proc/net/arp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[0] == SERVER and p[3] != "00:00:00:00:00:00":
                SRV_MAC = bytes.fromhex(p[3].replace(":", ""))
    if SRV_MAC is None:
        print("hostile.py: no ARP entry for the server", file=sys.stderr)
        return 1
    # the data the attacks go after
    ex = struct.pack(">II", 0, 0)
    assert status_of(cli.call(req(OP["SET"], b"hb:small", b"s" * 10, ex))) == 0
    assert status_of(cli.call(req(OP["SET"], b"hb:c100", b"c" * 100, ex))) == 0
    # hb:mid (10000 bytes) and hb:big (1 MiB) built from <= 1300-byte pieces (no IP fragments)
    for key, size in ((b"hb:mid", 10000), (b"hb:big", 1 << 20)):
        assert status_of(cli.call(req(OP["SET"], key, b"m" * 1000, ex))) == 0
        have = 1000
        while have < size:
            n = min(1300, size - have)
            for _ in range(100):  # ENOMEM / ETMPFAIL: transient, the reclaimer catches up
                st = status_of(cli.call(req(OP["APPEND"], key, b"m" * n)))
                if st not in (0x82, 0x86):
                    break
                time.sleep(0.01)
            assert st == 0, "APPEND while building %s: status %r" % (key, st)
            have += n
    assert value_len(cli.call(req(OP["GET"], b"hb:big"), timeout=3.0)) == 1 << 20

    ctr = Counter()
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    tx.bind((IFACE, 0))
    time.sleep(0.2)
    cases = [lambda: case_outside_allow(ctr, tx), lambda: case_untrusted_big_get(ctr, tx),
             lambda: case_forged_flush(ctr, tx, cli), lambda: case_group_sources(ctr, tx),
             lambda: case_victim_flood(ctr, tx), lambda: case_append_flood(ctr, tx, cli),
             lambda: case_ctl(cli)]
    if os.environ.get("BB_HOSTILE_CTL", "run") == "skip":
        cases.pop()
        rows_skipped.append("control socket: NUL byte, slow client")
    for c in cases:
        try:
            c()
        except Exception as e:  # a case that crashed is a failed case, the others still run
            rows.append((c.__name__, 0, 0, "-", "FAIL %s: %s" % (type(e).__name__, e)))
            failed.append(str(e))
    ctr.stop = True
    lost = ctr.drops()

    w = max(len(r[0]) for r in rows + [(c,) for c in rows_skipped])
    print("%-*s | %9s | %9s | %6s | %s" % (w, "case", "bytes in", "bytes out", "ratio", "result"))
    print("-" * w + "-+-----------+-----------+--------+-------")
    for r in rows:
        print("%-*s | %9d | %9d | %6s | %s" % (w, r[0], r[1], r[2], r[3], r[4]))
    for case in rows_skipped:
        print("%-*s | %9s | %9s | %6s | %s" % (w, case, "-", "-", "-",
                                              "SKIPPED (BB_HOSTILE_CTL=skip, see test_hostile.sh)"))
    if lost:
        print("hostile.py: the counting socket lost %d frames: counts are low" % lost)
        failed.append("counter lost frames")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
