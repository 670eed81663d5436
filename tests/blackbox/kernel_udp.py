#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Black-box protocol test of a running dpcached from an ordinary kernel UDP
socket (and, for malformed L2-L4 frames, an AF_PACKET socket) in a client
network namespace.  Independent of dpcache's own C codec: everything on the
wire is built and checked here with struct.

Usage: kernel_udp.py SERVER_IP PORT CLIENT_IFACE [PMD]
PMD (af_packet, af_xdp, ...) names dpcached's port driver.  IPv4 fragments
are left to reasm.py (test_reasm.sh).
Exit 0 when every check passed; otherwise 1 with the failed check named.
"""
import os
import random
import socket
import struct
import subprocess
import sys
import time

SERVER, PORT, IFACE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
PMD = sys.argv[4] if len(sys.argv) > 4 else "af_packet"

# memcached binary protocol
REQ, RES = 0x80, 0x81
OP = dict(GET=0x00, SET=0x01, ADD=0x02, REPLACE=0x03, DELETE=0x04, INCR=0x05, DECR=0x06,
          QUIT=0x07, FLUSH=0x08, GETQ=0x09, NOOP=0x0a, VERSION=0x0b, GETK=0x0c, GETKQ=0x0d,
          APPEND=0x0e, PREPEND=0x0f, STAT=0x10, SETQ=0x11, ADDQ=0x12, REPLACEQ=0x13,
          DELETEQ=0x14, INCRQ=0x15, DECRQ=0x16, QUITQ=0x17, FLUSHQ=0x18, APPENDQ=0x19,
          PREPENDQ=0x1a, TOUCH=0x1c, GAT=0x1d, GATQ=0x1e, GATK=0x23, GATKQ=0x24)
OK, ENOENT, EEXISTS, E2BIG, EINVAL, NOT_STORED, DELTA_BADVAL = 0, 1, 2, 3, 4, 5, 6
ENOMEM = 0x82
ETMPFAIL = 0x86             # "Temporary failure": transient, retry (e.g. a burst of large writes)
UNKNOWN_COMMAND = 0x81
MAX_PAYLOAD = 1400          # memcached's UDP datagram size, frame header included
HDR = struct.Struct(">BBHBBHIIQ")
FRAME = struct.Struct(">HHHH")

checks = 0


class Fail(Exception):
    pass


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise Fail(what)


def req(op, key=b"", value=b"", extras=b"", cas=0, opaque=0, bodylen=None, magic=REQ):
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode()
    bl = len(extras) + len(key) + len(value) if bodylen is None else bodylen
    return HDR.pack(magic, op, len(key), len(extras), 0, 0, bl, opaque, cas) + extras + key + value


def set_extras(flags=0, exptime=0):
    return struct.pack(">II", flags, exptime)


def arith_extras(delta, initial=0, exptime=0):
    return struct.pack(">QQI", delta, initial, exptime)


def parse_responses(buf):
    out, off = [], 0
    while off < len(buf):
        check(len(buf) - off >= 24, "response header truncated at %d of %d" % (off, len(buf)))
        magic, op, klen, elen, _dt, status, blen, opaque, cas = HDR.unpack_from(buf, off)
        check(magic == RES, "response magic 0x%02x" % magic)
        check(off + 24 + blen <= len(buf), "response body runs past the message")
        body = buf[off + 24: off + 24 + blen]
        out.append(dict(op=op, status=status, opaque=opaque, cas=cas, extras=body[:elen],
                        key=body[elen:elen + klen], value=body[elen + klen:]))
        off += 24 + blen
    return out


class Client:
    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE (root)
        except OSError:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.s.connect((SERVER, PORT))
        self.rid = random.randrange(1, 60000)
        self.last_dgrams = 0

    def next_id(self):
        self.rid = (self.rid + 1) & 0xffff
        return self.rid

    def send_raw(self, payload):
        self.s.send(payload)

    def recv_message(self, rid, timeout):
        """Datagrams of request id rid until all seq 0..total-1 arrived."""
        parts, total = {}, None
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None, parts, total
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None, parts, total
            if len(d) < 8:
                raise Fail("response datagram shorter than the frame header")
            r, seq, tot, _res = FRAME.unpack_from(d)
            if r != rid:
                continue
            check(len(d) <= MAX_PAYLOAD, "response datagram of %d bytes > %d" % (len(d), MAX_PAYLOAD))
            if total is None:
                total = tot
            check(tot == total, "total changed within one response (%d vs %d)" % (tot, total))
            check(seq < total, "seq %d >= total %d" % (seq, total))
            check(seq not in parts, "seq %d received twice" % seq)
            parts[seq] = d[8:]
            if len(parts) == total:
                for i in range(total - 1):
                    check(len(parts[i]) == MAX_PAYLOAD - 8,
                          "datagram %d of %d carries %d bytes, memcached fills %d" %
                          (i, total, len(parts[i]), MAX_PAYLOAD - 8))
                self.last_dgrams = total
                return b"".join(parts[i] for i in range(total)), parts, total

    def call(self, body, tries=3, timeout=2.0):
        """Send one request datagram; return its parsed responses."""
        for _ in range(tries):
            rid = self.next_id()
            self.send_raw(FRAME.pack(rid, 0, 1, 0) + body)
            msg, parts, total = self.recv_message(rid, timeout)
            if msg is not None:
                return parse_responses(msg)
            print("  (retry: %s of %s datagrams)" % (len(parts), total), file=sys.stderr)
        raise Fail("no complete response after %d tries" % tries)

    def silent(self, payload, rid, wait=0.3):
        """payload (raw datagram) must get no answer at all."""
        self.send_raw(payload)
        msg, parts, _ = self.recv_message(rid, wait)
        check(msg is None and not parts, "answer %r to a datagram that must be dropped: %r" %
              ((msg or b"")[:40], payload[:40]))

    def one(self, body):
        r = self.call(body)
        check(len(r) == 1, "expected 1 response, got %d" % len(r))
        return r[0]

    def stats(self):
        r = self.call(req(OP["STAT"]))
        check(r[-1]["key"] == b"" and r[-1]["op"] == OP["STAT"], "STAT not terminated by an empty key")
        out = {}
        for x in r[:-1]:
            v = x["value"].decode()
            out[x["key"].decode()] = int(v) if v.isdigit() else v
        return out


def expect(resp, status, what):
    check(resp["status"] == status, "%s: status 0x%04x, expected 0x%04x (%r)" %
          (what, resp["status"], status, resp["value"][:80]))
    return resp


def value_of(resp):
    return resp["value"]


# ------------------------------------------------------------------------------
def test_opcodes(c):
    k = "bb:op:%d" % os.getpid()
    expect(c.one(req(OP["GET"], k)), ENOENT, "GET miss")
    r = expect(c.one(req(OP["SET"], k, "v1", set_extras(0x1234, 0))), OK, "SET")
    check(r["cas"] != 0, "SET returned no CAS")
    r = expect(c.one(req(OP["GET"], k, opaque=0xdeadbeef)), OK, "GET hit")
    check(r["value"] == b"v1", "GET value %r" % r["value"])
    check(struct.unpack(">I", r["extras"])[0] == 0x1234, "GET flags")
    check(r["opaque"] == 0xdeadbeef, "opaque not echoed")
    check(r["key"] == b"", "GET must not return the key")
    r = expect(c.one(req(OP["GETK"], k)), OK, "GETK")
    check(r["key"] == k.encode() and r["value"] == b"v1", "GETK key/value")
    # GETQ miss + NOOP: only the NOOP comes back; GETQ hit: the value then NOOP
    r = c.call(req(OP["GETQ"], k + "x") + req(OP["NOOP"]))
    check([x["op"] for x in r] == [OP["NOOP"]], "GETQ miss must be silent")
    r = c.call(req(OP["GETQ"], k) + req(OP["NOOP"]))
    check([x["op"] for x in r] == [OP["GETQ"], OP["NOOP"]] and r[0]["value"] == b"v1", "GETQ hit")
    expect(c.one(req(OP["ADD"], k, "x", set_extras())), EEXISTS, "ADD existing")
    expect(c.one(req(OP["ADD"], k + "a", "a1", set_extras())), OK, "ADD new")
    expect(c.one(req(OP["REPLACE"], k + "none", "x", set_extras())), ENOENT, "REPLACE missing")
    expect(c.one(req(OP["REPLACE"], k, "v2", set_extras(7))), OK, "REPLACE existing")
    expect(c.one(req(OP["APPEND"], k, "-tail")), OK, "APPEND")
    expect(c.one(req(OP["PREPEND"], k, "head-")), OK, "PREPEND")
    r = expect(c.one(req(OP["GET"], k)), OK, "GET after append/prepend")
    check(r["value"] == b"head-v2-tail", "append/prepend result %r" % r["value"])
    check(struct.unpack(">I", r["extras"])[0] == 7, "APPEND/PREPEND must keep the flags")
    expect(c.one(req(OP["APPEND"], k + "none", "x")), NOT_STORED, "APPEND missing")
    expect(c.one(req(OP["PREPEND"], k + "none", "x")), NOT_STORED, "PREPEND missing")
    # quiet writes: silent on success, answer on error
    r = c.call(req(OP["SETQ"], k + "q", "q1", set_extras()) + req(OP["NOOP"]))
    check([x["op"] for x in r] == [OP["NOOP"]], "SETQ success must be silent")
    check(value_of(expect(c.one(req(OP["GET"], k + "q")), OK, "GET after SETQ")) == b"q1", "SETQ value")
    r = c.call(req(OP["ADDQ"], k + "q", "x", set_extras()) + req(OP["NOOP"]))
    check([(x["op"], x["status"]) for x in r] == [(OP["ADDQ"], EEXISTS), (OP["NOOP"], OK)],
          "ADDQ failure must answer: %r" % [(x["op"], x["status"]) for x in r])
    r = c.call(req(OP["DELETEQ"], k + "q") + req(OP["NOOP"]))
    check([x["op"] for x in r] == [OP["NOOP"]], "DELETEQ success must be silent")
    expect(c.one(req(OP["DELETE"], k)), OK, "DELETE")
    expect(c.one(req(OP["DELETE"], k)), ENOENT, "DELETE missing")
    expect(c.one(req(OP["GET"], k)), ENOENT, "GET after DELETE")
    # incr / decr
    n = k + "n"
    expect(c.one(req(OP["INCR"], n, extras=arith_extras(1, 0, 0xffffffff))), ENOENT, "INCR miss, no initial")
    r = expect(c.one(req(OP["INCR"], n, extras=arith_extras(5, 10))), OK, "INCR create")
    check(struct.unpack(">Q", r["value"])[0] == 10, "INCR create returns the initial value")
    r = expect(c.one(req(OP["INCR"], n, extras=arith_extras(5, 10))), OK, "INCR")
    check(struct.unpack(">Q", r["value"])[0] == 15, "INCR 10+5")
    r = expect(c.one(req(OP["DECR"], n, extras=arith_extras(100))), OK, "DECR")
    check(struct.unpack(">Q", r["value"])[0] == 0, "DECR stops at 0")
    r = expect(c.one(req(OP["INCR"], n, extras=arith_extras(2 ** 64 - 1))), OK, "INCR big")
    check(struct.unpack(">Q", r["value"])[0] == 2 ** 64 - 1, "INCR to max")
    r = expect(c.one(req(OP["INCR"], n, extras=arith_extras(2))), OK, "INCR wrap")
    check(struct.unpack(">Q", r["value"])[0] == 1, "INCR wraps at 2^64")
    r = expect(c.one(req(OP["GET"], n)), OK, "GET counter")
    # decimal text; shorter than before (20 digits), so padded to the old length as memcached's
    # in-place rewrite does
    check(r["value"] == b"1".ljust(20), "counter stored as decimal text: %r" % r["value"])
    expect(c.one(req(OP["SET"], n, "abc", set_extras())), OK, "SET text")
    expect(c.one(req(OP["INCR"], n, extras=arith_extras(1))), DELTA_BADVAL, "INCR non-numeric")
    # touch / gat
    expect(c.one(req(OP["SET"], k, "t", set_extras(3))), OK, "SET for touch")
    expect(c.one(req(OP["TOUCH"], k, extras=struct.pack(">I", 100))), OK, "TOUCH")
    expect(c.one(req(OP["TOUCH"], k + "none", extras=struct.pack(">I", 100))), ENOENT, "TOUCH missing")
    r = expect(c.one(req(OP["GAT"], k, extras=struct.pack(">I", 100))), OK, "GAT")
    check(r["value"] == b"t" and struct.unpack(">I", r["extras"])[0] == 3, "GAT value/flags")
    r = expect(c.one(req(OP["GATK"], k, extras=struct.pack(">I", 100))), OK, "GATK")
    check(r["key"] == k.encode(), "GATK key")
    expect(c.one(req(OP["GAT"], k + "none", extras=struct.pack(">I", 1))), ENOENT, "GAT missing")
    # noop, version, stat, unknown, quit
    expect(c.one(req(OP["NOOP"])), OK, "NOOP")
    r = expect(c.one(req(OP["VERSION"])), OK, "VERSION")
    check(len(r["value"]) > 0, "VERSION empty")
    st = c.stats()
    for name in ("cmd_get", "get_hits", "get_misses", "curr_items", "rx_packets", "drop_bad_magic"):
        check(name in st, "STAT lacks %s" % name)
    check(st["get_hits"] >= 5 and st["get_misses"] >= 3, "STAT hit/miss counts implausible")
    r = c.call(req(0x50, k) + req(OP["NOOP"]))
    check(r[0]["status"] == UNKNOWN_COMMAND and r[-1]["op"] == OP["NOOP"], "unknown opcode status")
    c.call(req(OP["QUIT"]) + req(OP["NOOP"]))  # QUIT answered, the NOOP behind it not read
    expect(c.one(req(OP["NOOP"])), OK, "still answering after QUIT")
    # flush
    expect(c.one(req(OP["SET"], k, "f", set_extras())), OK, "SET before FLUSH")
    expect(c.one(req(OP["FLUSH"])), OK, "FLUSH")
    expect(c.one(req(OP["GET"], k)), ENOENT, "GET after FLUSH")
    expect(c.one(req(OP["GET"], k + "a")), ENOENT, "GET after FLUSH (2)")
    r = c.call(req(OP["FLUSHQ"]) + req(OP["NOOP"]))
    check([x["op"] for x in r] == [OP["NOOP"]], "FLUSHQ must be silent")
    print("  opcodes: ok")


def test_multiget(c):
    keys = ["bb:mg:%d:%d" % (os.getpid(), i) for i in range(30)]
    for i, k in enumerate(keys):
        if i % 3 != 2:
            expect(c.one(req(OP["SET"], k, "value-%d" % i, set_extras(i))), OK, "SET " + k)
    body = b"".join(req(OP["GETKQ"], k, opaque=i) for i, k in enumerate(keys)) + req(OP["NOOP"], opaque=999)
    r = c.call(body)
    check(r[-1]["op"] == OP["NOOP"] and r[-1]["opaque"] == 999, "multi-get must end with the NOOP")
    hits = r[:-1]
    want = [i for i in range(30) if i % 3 != 2]
    check([x["opaque"] for x in hits] == want, "multi-get hits %r, want %r" % ([x["opaque"] for x in hits], want))
    for x in hits:
        i = x["opaque"]
        check(x["op"] == OP["GETKQ"] and x["status"] == OK, "GETKQ response")
        check(x["key"] == keys[i].encode() and x["value"] == b"value-%d" % i, "GETKQ key/value %d" % i)
        check(struct.unpack(">I", x["extras"])[0] == i, "GETKQ flags %d" % i)
    # GETK (not quiet) misses are answered
    r = c.call(req(OP["GETK"], keys[2]) + req(OP["GETK"], keys[0]))
    check([x["status"] for x in r] == [ENOENT, OK], "GETK miss+hit")
    check(r[0]["key"] == keys[2].encode(), "GETK miss carries the key")
    print("  multi-get: ok")


def test_cas(c):
    k = "bb:cas:%d" % os.getpid()
    c1 = expect(c.one(req(OP["SET"], k, "a", set_extras())), OK, "SET")["cas"]
    r = expect(c.one(req(OP["GET"], k)), OK, "GET cas")
    check(r["cas"] == c1, "GET returns the SET's CAS")
    expect(c.one(req(OP["SET"], k, "b", set_extras(), cas=c1 + 12345)), EEXISTS, "SET bad CAS")
    c2 = expect(c.one(req(OP["SET"], k, "c", set_extras(), cas=c1)), OK, "SET good CAS")["cas"]
    check(c2 != c1, "CAS must change on write")
    check(value_of(c.one(req(OP["GET"], k))) == b"c", "value after CAS write")
    expect(c.one(req(OP["REPLACE"], k, "d", set_extras(), cas=c1)), EEXISTS, "REPLACE stale CAS")
    expect(c.one(req(OP["APPEND"], k, "d", cas=c1)), EEXISTS, "APPEND stale CAS")
    expect(c.one(req(OP["DELETE"], k, cas=c1)), EEXISTS, "DELETE stale CAS")
    expect(c.one(req(OP["DELETE"], k, cas=c2)), OK, "DELETE right CAS")
    expect(c.one(req(OP["SET"], k, "e", set_extras(), cas=c2)), ENOENT, "SET with CAS on a missing key")
    print("  cas: ok")


def build_value(c, k, value):
    """SET the first chunk, APPEND the rest (a request must fit one datagram).

    An APPEND is not idempotent, so a lost answer must not make the client append twice:
    each APPEND carries the CAS of the previous write; when a resend finds the CAS
    changed (EEXISTS), the lost one was applied, which a GET confirms (and gives the CAS)."""
    chunk = 1300
    cas = expect(c.one(req(OP["SET"], k, value[:chunk], set_extras(42))), OK, "SET first chunk")["cas"]
    transient = resent = 0
    for off in range(chunk, len(value), chunk):
        end = min(off + chunk, len(value))
        for _ in range(200):
            r = c.one(req(OP["APPEND"], k, value[off:end], cas=cas))
            if r["status"] in (ENOMEM, ETMPFAIL):
                # transient by contract (stats: errors_nospace): the store reclaims
                # replaced items after a grace period, asynchronously
                transient += 1
                time.sleep(0.01)
                continue
            break
        if r["status"] == EEXISTS:
            g = expect(c.one(req(OP["GET"], k)), OK, "GET after an ambiguous APPEND at %d" % off)
            check(g["value"] == value[:end], "APPEND at %d: value after a resend is %d bytes, want %d" %
                  (off, len(g["value"]), end))
            cas, resent = g["cas"], resent + 1
            continue
        cas = expect(r, OK, "APPEND at %d" % off)["cas"]
    if resent:
        print("  (%d APPEND answers lost and resolved by CAS)" % resent, file=sys.stderr)
    return transient


def test_large(c):
    rnd = random.Random(20261127)
    for size in (100 * 1024, 1024 * 1024):
        k = "bb:large:%d:%d" % (os.getpid(), size)
        value = bytes(rnd.getrandbits(8) for _ in range(size))
        transient = build_value(c, k, value)
        r = c.one(req(OP["GET"], k))
        expect(r, OK, "GET %d bytes" % size)
        want = -(-(24 + 4 + size) // (MAX_PAYLOAD - 8))
        check(c.last_dgrams == want, "%d-byte value in %d datagrams, memcached uses %d" %
              (size, c.last_dgrams, want))
        check(len(r["value"]) == size and r["value"] == value, "%d-byte value content differs" % size)
        check(struct.unpack(">I", r["extras"])[0] == 42, "large value flags")
        # the same through GETK in a multi-get, behind a small hit
        r = c.call(req(OP["GETKQ"], k) + req(OP["NOOP"]))
        check(len(r) == 2 and r[0]["value"] == value and r[1]["op"] == OP["NOOP"], "GETKQ large")
        # the text protocol splits its answer the same way (recv_message checks full datagrams)
        t = text_cmd(c, b"get " + k.encode() + b"\r\n")
        check(t == b"VALUE %s 42 %d\r\n" % (k.encode(), size) + value + b"\r\nEND\r\n", "text get of %d bytes" % size)
        check(c.last_dgrams == -(-len(t) // (MAX_PAYLOAD - 8)), "text answer of %d bytes in %d datagrams" %
              (len(t), c.last_dgrams))
        print("  %d-byte value: ok (%d datagrams; %d transient out-of-memory answers while appending)"
              % (size, want, transient))
    # 1 MiB is the limit (max_value default): one more byte is too large
    k = "bb:large:%d:%d" % (os.getpid(), 1024 * 1024)
    # ten 1 MiB GETs in a row arrive whole (754 datagrams each; the client's receive buffer
    # holds 32 MiB), and a small request is answered after them
    for i in range(10):
        r = expect(c.one(req(OP["GET"], k)), OK, "1 MiB GET %d of 10 in a row" % (i + 1))
        check(len(r["value"]) == 1024 * 1024 and c.last_dgrams == 754,
              "1 MiB GET %d of 10: %d bytes in %d datagrams" % (i + 1, len(r["value"]), c.last_dgrams))
    expect(c.one(req(OP["NOOP"])), OK, "a small request after ten 1 MiB GETs")
    # A response larger than one maximal value (here: the 1 MiB value twice) is never sent in
    # part: the whole datagram is answered with one E2BIG for its first request (quiet or not),
    # counted in resp_over_cap (memcached would send it all; dpcached caps responses).
    before = c.stats()
    r = c.call(req(OP["GETKQ"], k, opaque=77) + req(OP["GETKQ"], k) + req(OP["NOOP"]))
    check(len(r) == 1 and r[0]["status"] == E2BIG and r[0]["op"] == OP["GETKQ"] and r[0]["opaque"] == 77,
          "oversized response: %r" % [(x["op"], x["status"]) for x in r])
    after = c.stats()
    check(after["resp_over_cap"] - before["resp_over_cap"] == 1, "oversized response not counted")
    r = c.one(req(OP["APPEND"], k, b"!"))
    expect(r, NOT_STORED, "APPEND past max_value (memcached: Not stored)")
    check(len(value_of(c.one(req(OP["GET"], k)))) == 1024 * 1024, "value intact after refused APPEND")


def test_ttl(c):
    k = "bb:ttl:%d" % os.getpid()
    expect(c.one(req(OP["SET"], k, "soon gone", set_extras(0, 2))), OK, "SET ttl 2")
    expect(c.one(req(OP["SET"], k + "keep", "stays", set_extras(0, 0))), OK, "SET ttl 0")
    expect(c.one(req(OP["SET"], k + "t", "touched", set_extras(0, 2))), OK, "SET ttl 2 (touch)")
    expect(c.one(req(OP["TOUCH"], k + "t", extras=struct.pack(">I", 100))), OK, "TOUCH to 100 s")
    expect(c.one(req(OP["GET"], k)), OK, "GET before expiry")
    time.sleep(3.2)
    expect(c.one(req(OP["GET"], k)), ENOENT, "GET after expiry")
    expect(c.one(req(OP["GET"], k + "keep")), OK, "exptime 0 never expires")
    expect(c.one(req(OP["GET"], k + "t")), OK, "touched item outlives its first TTL")
    # an absolute exptime in the past is already expired
    expect(c.one(req(OP["SET"], k + "abs", "x", set_extras(0, int(time.time()) - 100))), OK, "SET past abs")
    expect(c.one(req(OP["GET"], k + "abs")), ENOENT, "absolute exptime in the past")
    print("  ttl: ok")


def test_malformed(c):
    k = "bb:bad:%d" % os.getpid()
    before = c.stats()

    def rid():
        return c.next_id()

    # zero-length and short datagrams, total != 1
    c.silent(b"", -1)
    c.silent(b"\x00\x01\x00", -1)
    r = rid()
    c.silent(FRAME.pack(r, 0, 1, 0), r)                                    # frame only: no request
    r = rid()
    c.silent(FRAME.pack(r, 0, 2, 0) + req(OP["GET"], k), r)               # total 2
    r = rid()
    c.silent(FRAME.pack(r, 1, 0, 0) + req(OP["GET"], k), r)               # total 0
    r = rid()
    c.silent(FRAME.pack(r, 0, 1, 0) + req(OP["GET"], k)[:10], r)          # truncated header
    r = rid()
    c.silent(FRAME.pack(r, 0, 1, 0) + req(OP["SET"], k, "v", set_extras())[:-1], r)  # truncated body
    r = rid()
    c.silent(FRAME.pack(r, 0, 1, 0) + req(OP["GET"], k, bodylen=5000), r)  # lying bodylen
    r = rid()
    c.silent(FRAME.pack(r, 0, 1, 0) + req(OP["GET"], k, magic=0x81), r)    # response magic
    r = rid()
    c.silent(FRAME.pack(r, 0, 1, 0) + b"\x00" * 40, r)                     # zero magic

    # framed but invalid requests: answered with an error status
    expect(c.one(req(OP["GET"], k, extras=b"\x00" * 4)), EINVAL, "GET with extras")
    expect(c.one(req(OP["SET"], k, "v")), EINVAL, "SET without extras")
    expect(c.one(req(OP["GET"], "")), EINVAL, "GET without key")
    expect(c.one(req(OP["GET"], "k" * 251)), EINVAL, "GET key 251 bytes")
    expect(c.one(req(OP["SET"], "k" * 251, "v", set_extras())), EINVAL, "SET key 251 bytes")
    expect(c.one(req(OP["GET"], "k" * 250)), ENOENT, "GET key 250 bytes is valid")
    expect(c.one(req(OP["INCR"], k, extras=b"\x00" * 8)), EINVAL, "INCR with short extras")
    expect(c.one(req(OP["NOOP"], k)), EINVAL, "NOOP with a key")
    # keylen + extlen > bodylen (a lying header whose body fits the datagram)
    bad = HDR.pack(REQ, OP["GET"], 10, 0, 0, 0, 4, 0, 0) + b"abcd"
    expect(c.one(bad), UNKNOWN_COMMAND, "keylen > bodylen")
    # a valid request, then garbage: the first is answered, the rest dropped
    r = c.call(req(OP["NOOP"], opaque=5) + b"\x13" * 30)
    check(len(r) == 1 and r[0]["op"] == OP["NOOP"] and r[0]["opaque"] == 5, "request before garbage")
    r = c.call(req(OP["NOOP"], opaque=6) + req(OP["GET"], k)[:20])
    check(len(r) == 1 and r[0]["opaque"] == 6, "request before a truncated one")

    after = c.stats()

    def delta(name):
        return after[name] - before[name]
    check(delta("drop_frame_short") == 2, "drop_frame_short +%d, want +2" % delta("drop_frame_short"))
    check(delta("drop_frame_multi") == 2, "drop_frame_multi +%d, want +2" % delta("drop_frame_multi"))
    check(delta("drop_truncated") == 5, "drop_truncated +%d, want +5" % delta("drop_truncated"))
    check(delta("drop_bad_magic") == 3, "drop_bad_magic +%d, want +3" % delta("drop_bad_magic"))
    check(delta("errors_inval") >= 7, "errors_inval +%d, want >= 7" % delta("errors_inval"))
    expect(c.one(req(OP["SET"], k, "alive", set_extras())), OK, "still answering")
    print("  malformed datagrams: ok")


# ---- raw frames (AF_PACKET) -------------------------------------------------------
def csum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip_hdr(src, dst, proto, plen, ihl=5, frag=0, ver=4, good_csum=True, opts=b""):
    h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0, 20 + len(opts) + plen, 0x1234, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + opts
    c = csum(h)
    if not good_csum:
        c ^= 0x5555
    return h[:10] + struct.pack("!H", c) + h[12:]


def udp_dgram(src, dst, sport, dport, payload, good_csum=True):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(u))
    c = csum(ph + u) or 0xffff
    if not good_csum:
        c ^= 0x00ff
    return u[:6] + struct.pack("!H", c) + u[8:]


def test_raw_frames(c):
    my_ip = "198.18.0.2"
    with open("/sys/class/net/%s/address" % IFACE) as f:
        my_mac = bytes.fromhex(f.read().strip().replace(":", ""))
    srv_mac = None
    with open("/proc/net/arp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if parts[0] == SERVER and parts[3] != "00:00:00:00:00:00":
                srv_mac = bytes.fromhex(parts[3].replace(":", ""))
    check(srv_mac is not None, "no ARP entry for %s: dpcached did not answer ARP" % SERVER)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((IFACE, 0))
    eth = srv_mac + my_mac

    def udp_frame(payload, dport=PORT, good_udp=True, **ipkw):
        u = udp_dgram(my_ip, ipkw.pop("dst", SERVER), 40000, dport, payload, good_udp)
        return eth + b"\x08\x00" + ip_hdr(my_ip, ipkw.pop("dst_hdr", SERVER), 17, len(u), **ipkw) + u

    good = FRAME.pack(1, 0, 1, 0) + req(OP["NOOP"])
    before = c.stats()
    frames = {
        "drop_short": [eth + b"\x08\x00" + b"\x45\x00"],                         # truncated IPv4
        "drop_ethertype": [eth + b"\x86\xdd" + b"\x60" + b"\x00" * 60],           # IPv6
        "drop_ip_version": [udp_frame(good, ver=6)],
        "drop_ip_options": [udp_frame(good, ihl=6, opts=b"\x01\x01\x01\x00")],
        # (IPv4 fragments go to reassembly: tests/blackbox/reasm.py checks them)
        "drop_ip_csum": [udp_frame(good, good_csum=False)],
        "drop_not_us": [udp_frame(good, dst_hdr="198.18.0.77", dst="198.18.0.77")],
        "drop_proto": [eth + b"\x08\x00" + ip_hdr(my_ip, SERVER, 6, 20) + b"\x00" * 20],   # TCP
        "drop_udp_port": [udp_frame(good, dport=PORT + 100)],
        "drop_udp_csum": [udp_frame(good, good_udp=False)],
        "drop_ip_len": [udp_frame(good)[:-10]],                                   # IP total length lies
        "drop_arp_other": [eth[:6] + my_mac + b"\x08\x06" +
                           struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, my_mac,
                                       socket.inet_aton(my_ip), b"\x00" * 6,
                                       socket.inet_aton("198.18.0.99"))],
    }
    for name, fl in frames.items():
        for fr in fl:
            s.send(fr)
    time.sleep(0.3)
    after = c.stats()
    moved = dict((n, after[n] - before[n]) for n in after
                 if n.startswith("drop_") and isinstance(after[n], int) and after[n] != before[n])
    for name, fl in frames.items():
        d = after[name] - before[name]
        if d != len(fl):
            print("  drop counters moved: %r" % moved, file=sys.stderr)
        if name in ("drop_ethertype", "drop_arp_other", "drop_not_us"):
            check(d >= len(fl), "%s +%d, want >= %d" % (name, d, len(fl)))
        else:
            check(d == len(fl), "%s +%d, want %d" % (name, d, len(fl)))
    s.close()
    expect(c.one(req(OP["NOOP"])), OK, "still answering after raw frames")
    print("  malformed frames: ok")


def text_cmd(c, cmd, tries=3):
    """One text-protocol datagram, its whole (reassembled) answer; lost datagrams are retried
    (every text command these tests send is idempotent or checked for a retried answer)."""
    for _ in range(tries):
        rid = c.next_id()
        c.send_raw(FRAME.pack(rid, 0, 1, 0) + cmd)
        msg, parts, total = c.recv_message(rid, 2.0)
        if msg is not None:
            return msg
        print("  (text retry: %s of %s datagrams)" % (len(parts), total), file=sys.stderr)
    raise Fail("no answer to text command %r" % cmd[:40])


def test_text(c):
    """memcached's text protocol over UDP: same frame header, same store, same datagram split."""
    def text(cmd):
        return text_cmd(c, cmd)
    k = b"bb:text:%d" % os.getpid()
    check(text(b"set " + k + b" 5 0 5\r\nhello\r\n") == b"STORED\r\n", "text set")
    check(text(b"get " + k + b"\r\n") == b"VALUE " + k + b" 5 5\r\nhello\r\nEND\r\n", "text get")
    r = expect(c.one(req(OP["GET"], k)), OK, "binary GET of a text SET")
    check(r["value"] == b"hello" and struct.unpack(">I", r["extras"])[0] == 5, "text and binary share the store")
    # a binary SET read back as text, in a multi-key get with a miss in the middle
    expect(c.one(req(OP["SET"], k + b"b", "bin", set_extras(9))), OK, "binary SET")
    check(text(b"get " + k + b" " + k + b"none " + k + b"b\r\n") ==
          b"VALUE " + k + b" 5 5\r\nhello\r\nVALUE " + k + b"b 9 3\r\nbin\r\nEND\r\n", "text multi-key get")
    # gets / cas: the unique is the binary CAS
    g = text(b"gets " + k + b"\r\n").split(b"\r\n")[0].split()
    check(len(g) == 5 and g[0] == b"VALUE", "gets line %r" % g)
    unique = int(g[4])
    check(unique == expect(c.one(req(OP["GET"], k)), OK, "GET for CAS")["cas"], "gets unique == binary CAS")
    check(text(b"cas " + k + b" 1 0 3 %d\r\nnew\r\n" % (unique + 1)) == b"EXISTS\r\n", "text cas stale")
    check(text(b"cas " + k + b" 1 0 3 %d\r\nnew\r\n" % unique) in (b"STORED\r\n", b"EXISTS\r\n"),
          "text cas (a retried STORED answers EXISTS)")
    check(value_of(c.one(req(OP["GET"], k))) == b"new", "value after text cas")
    # several commands in one datagram, answered in order in one response
    check(text(b"set " + k + b"n 0 0 2\r\n10\r\nincr " + k + b"n 5\r\nget " + k + b"n\r\n") ==
          b"STORED\r\n15\r\nVALUE " + k + b"n 0 2\r\n15\r\nEND\r\n", "text pipeline set/incr/get")
    check(text(b"delete " + k + b"\r\n") in (b"DELETED\r\n", b"NOT_FOUND\r\n"), "text delete")
    check(text(b"get " + k + b"\r\n") == b"END\r\n", "text get miss")
    check(text(b"bogus_command\r\n").startswith(b"ERROR"), "text unknown command")
    check(text(b"version\r\n").startswith(b"VERSION "), "text version")
    print("  text protocol: ok")


def test_quiet_opcodes(c):
    """The quiet variants not covered above: silent on success, answered on error."""
    k = "bb:quiet:%d" % os.getpid()

    def ops(body):
        return [(x["op"], x["status"]) for x in c.call(body + req(OP["NOOP"]))]
    expect(c.one(req(OP["SET"], k, "v", set_extras(1))), OK, "SET")
    check(ops(req(OP["REPLACEQ"], k, "w", set_extras(2))) == [(OP["NOOP"], OK)], "REPLACEQ success silent")
    check(ops(req(OP["REPLACEQ"], k + "x", "w", set_extras())) == [(OP["REPLACEQ"], ENOENT), (OP["NOOP"], OK)],
          "REPLACEQ missing answers")
    check(ops(req(OP["APPENDQ"], k, "a") + req(OP["PREPENDQ"], k, "p")) == [(OP["NOOP"], OK)],
          "APPENDQ/PREPENDQ success silent")
    check(ops(req(OP["PREPENDQ"], k + "x", "p")) == [(OP["PREPENDQ"], NOT_STORED), (OP["NOOP"], OK)],
          "PREPENDQ missing answers")
    check(value_of(c.one(req(OP["GET"], k))) == b"pwa", "value after quiet writes")
    n = k + "n"
    check(ops(req(OP["INCRQ"], n, extras=arith_extras(1, 40)) + req(OP["INCRQ"], n, extras=arith_extras(3)) +
              req(OP["DECRQ"], n, extras=arith_extras(1))) == [(OP["NOOP"], OK)], "INCRQ/DECRQ success silent")
    check(value_of(c.one(req(OP["GET"], n))) == b"42", "counter after INCRQ/DECRQ")
    check(ops(req(OP["DECRQ"], k, extras=arith_extras(1))) == [(OP["DECRQ"], DELTA_BADVAL), (OP["NOOP"], OK)],
          "DECRQ non-numeric answers")
    # GAT writes (the expiry): keys of one datagram stay in one partition (with several
    # workers, writes to a second foreign partition are answered ETMPFAIL, docs/design.md)
    r = c.call(req(OP["GATQ"], k, extras=struct.pack(">I", 100)) +
               req(OP["GATKQ"], k, extras=struct.pack(">I", 100)) + req(OP["NOOP"]))
    check([(x["op"], x["value"], x["key"]) for x in r] ==
          [(OP["GATQ"], b"pwa", b""), (OP["GATKQ"], b"pwa", k.encode()), (OP["NOOP"], b"", b"")],
          "GATQ/GATKQ hits answered: %r" % [(x["op"], x["status"]) for x in r])
    check(ops(req(OP["GATQ"], k + "x", extras=struct.pack(">I", 1))) == [(OP["NOOP"], OK)], "GATQ miss silent")
    check(ops(req(OP["GATKQ"], k + "x", extras=struct.pack(">I", 1))) == [(OP["NOOP"], OK)], "GATKQ miss silent")
    # QUITQ is silent and, as memcached closes the connection, ends the datagram: the NOOP
    # behind it is not read
    r = c.next_id()
    c.silent(FRAME.pack(r, 0, 1, 0) + req(OP["QUITQ"]) + req(OP["NOOP"]), r)
    expect(c.one(req(OP["NOOP"])), OK, "still answering after QUITQ")
    print("  quiet opcodes: ok")


def test_arp_ping(c):
    """The kernel must resolve SERVER by ARP (dpcached answers); ICMP echo must be answered."""
    before = c.stats()
    subprocess.run(["ip", "neigh", "flush", "dev", IFACE], check=False)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.connect((SERVER, 0))
    ident = os.getpid() & 0xffff
    for seq in range(3):
        payload = b"dpcache-ping-%d" % seq + bytes(range(40))
        h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
        h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
        s.send(h)
        deadline = time.time() + 2
        got = False
        while time.time() < deadline and not got:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                d = s.recv(2048)
            except socket.timeout:
                break
            ihl = (d[0] & 0x0f) * 4
            icmp = d[ihl:]
            if len(icmp) >= 8 and icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (ident, seq):
                check(icmp[8:] == payload, "echo reply payload differs")
                check(csum(icmp) == 0, "echo reply ICMP checksum")
                check(csum(d[:ihl]) == 0, "echo reply IPv4 checksum")
                got = True
        check(got, "no ICMP echo reply for seq %d" % seq)
    s.close()
    after = c.stats()
    check(after["icmp_echo"] - before["icmp_echo"] == 3, "icmp_echo counter")
    check(after["arp_replies"] - before["arp_replies"] >= 1, "arp_replies counter")
    print("  arp + ping: ok")


def main():
    c = Client()
    t0 = time.time()
    tests = [test_arp_ping, test_opcodes, test_quiet_opcodes, test_text, test_multiget, test_cas, test_malformed, test_raw_frames, test_large, test_ttl]
    for t in tests:
        try:
            t(c)
        except Fail as e:
            print("FAIL in %s: %s" % (t.__name__, e), file=sys.stderr)
            return 1
    print("kernel_udp.py: %d checks passed in %.1f s" % (checks, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
