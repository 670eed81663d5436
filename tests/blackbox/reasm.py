#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Black-box test of IPv4 reassembly in a running dpcached (started with
--reasm_timeout_ms 300 --reasm_entries 16 --reasm_bytes 1M by test_reasm.sh).

1. Requests larger than one frame, from an ordinary kernel UDP socket: the
   kernel fragments them over the 1500-byte MTU veth; 20 KB and 60 KB binary
   SETs and the largest datagram (65,507 bytes of UDP payload), a 20 KB text
   SET, each read back whole (the answer spans datagrams of <= 1400 bytes).
2. Fragments built by hand on an AF_PACKET socket, each case checked on its
   counter: overlapping, timed out (incomplete), oversized (> 65,535 bytes),
   too many, bad length, evicted (more incomplete datagrams than entries);
   a request sent as fragments in reverse order is answered; a flood of
   incomplete fragments stays within reasm_bytes and the server answers
   afterwards.

Usage: reasm.py SERVER_IP PORT CLIENT_IFACE [PMD]   (exit 0: every check passed)
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_udp as ku  # noqa: E402  (same arguments: SERVER PORT IFACE [PMD])
from kernel_udp import OP, OK, FRAME, req, set_extras, expect, check, Fail  # noqa: E402

TIMEOUT_S = 0.3      # --reasm_timeout_ms 300
ENTRIES = 16         # --reasm_entries 16
BYTES = 1 << 20      # --reasm_bytes 1M
MY_IP = "198.18.0.2"


def test_large_requests(c):
    before = c.stats()
    pid = os.getpid()
    sizes = [20 * 1024, 60 * 1024]
    for n in sizes:
        k = b"bb:reasm:%d:%d" % (pid, n)
        v = bytes((i * 7 + n) & 0xff for i in range(n))
        expect(c.one(req(OP["SET"], k, v, set_extras(n, 0))), OK, "SET of %d bytes in one datagram" % n)
        r = expect(c.one(req(OP["GET"], k)), OK, "GET of the %d-byte value" % n)
        check(r["value"] == v, "%d-byte value read back differs" % n)
        check(struct.unpack(">I", r["extras"])[0] == n, "flags of the %d-byte value" % n)
    # the largest datagram: 65,507 bytes of UDP payload (8 frame + 24 + 8 extras + key + value)
    k = b"bb:reasm:max:%d" % pid
    vlen = 65507 - 8 - 24 - 8 - len(k)
    v = bytes((i * 13) & 0xff for i in range(vlen))
    expect(c.one(req(OP["SET"], k, v, set_extras())), OK, "SET in a 65,507-byte datagram")
    r = expect(c.one(req(OP["GET"], k)), OK, "GET of the largest value")
    check(r["value"] == v, "largest value read back differs")
    # text protocol, 20 KB in one datagram
    k = b"bb:reasm:text:%d" % pid
    v = b"t" * 20000
    check(ku.text_cmd(c, b"set " + k + b" 3 0 20000\r\n" + v + b"\r\n") == b"STORED\r\n", "text set 20 KB")
    got = ku.text_cmd(c, b"get " + k + b"\r\n")
    check(got == b"VALUE " + k + b" 3 20000\r\n" + v + b"\r\nEND\r\n", "text get 20 KB")
    after = c.stats()
    done = after["reasm_done"] - before["reasm_done"]
    frags = after["frag_in"] - before["frag_in"]
    check(done >= 4, "reasm_done +%d, want >= 4" % done)
    check(frags >= 14 + 42 + 45 + 14, "frag_in +%d, want >= 115" % frags)
    print("  20 KB, 60 KB, 65,507-byte and text 20 KB requests in one datagram: ok "
          "(%d datagrams from %d fragments)" % (done, frags))


class Raw:
    """Hand-built IPv4 fragments to dpcached, from the client's UDP port (replies reach c)."""

    def __init__(self, c):
        with open("/sys/class/net/%s/address" % ku.IFACE) as f:
            my_mac = bytes.fromhex(f.read().strip().replace(":", ""))
        srv_mac = None
        with open("/proc/net/arp") as f:
            for line in f.readlines()[1:]:
                p = line.split()
                if p[0] == ku.SERVER and p[3] != "00:00:00:00:00:00":
                    srv_mac = bytes.fromhex(p[3].replace(":", ""))
        check(srv_mac is not None, "no ARP entry for the server")
        self.eth = srv_mac + my_mac + b"\x08\x00"
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.s.bind((ku.IFACE, 0))
        self.sport = c.s.getsockname()[1]
        self.ipid = (os.getpid() * 7) & 0xffff

    def next_id(self):
        self.ipid = (self.ipid + 1) & 0xffff
        return self.ipid

    def frag(self, ipid, off, data, more):
        flags = (0x2000 if more else 0) | (off // 8)
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ipid, flags, 64, 17, 0,
                        socket.inet_aton(MY_IP), socket.inet_aton(ku.SERVER))
        h = h[:10] + struct.pack("!H", ku.csum(h)) + h[12:]
        self.s.send(self.eth + h + data)

    def udp(self, payload):
        return ku.udp_dgram(MY_IP, ku.SERVER, self.sport, ku.PORT, payload)


def test_raw_fragments(c):
    raw = Raw(c)
    cases = []

    def case(name, fn, want=1):
        before = c.stats()
        fn()
        time.sleep(0.05)
        cases.append((name, before, want))

    def overlap():
        i = raw.next_id()
        raw.frag(i, 0, b"\x00" * 16, True)
        raw.frag(i, 8, b"\x00" * 16, True)

    def duplicate():
        i = raw.next_id()
        raw.frag(i, 0, b"\x00" * 16, True)
        raw.frag(i, 0, b"\x00" * 16, True)

    def oversize():
        i = raw.next_id()
        raw.frag(i, 0, b"\x00" * 16, True)
        raw.frag(i, 65512, b"\x00" * 16, False)   # ends at 65,528 + 20 > 65,535

    def too_many():
        i = raw.next_id()
        for k in range(65):                         # reasm_max_frags 64 (default)
            raw.frag(i, k * 8, b"\x00" * 8, True)

    def bad():
        raw.frag(raw.next_id(), 0, b"\x00" * 12, True)  # not a multiple of 8, MF set

    case("reasm_drop_overlap", overlap)
    case("reasm_drop_overlap", duplicate)
    case("reasm_drop_oversize", oversize)
    case("reasm_drop_too_many", too_many)
    case("reasm_drop_bad", bad)
    for name, before, want in cases:
        after = c.stats()
        d = after[name] - before[name]
        check(d >= want, "%s +%d, want +%d" % (name, d, want))
    print("  overlapping, duplicate, oversized, too many, bad fragments: each counted and freed")

    # incomplete: held (gauge), then given up at the timeout
    before = c.stats()
    raw.frag(raw.next_id(), 0, b"\x00" * 16, True)
    time.sleep(0.05)
    mid = c.stats()
    check(mid["reasm_entries"] >= 1, "reasm_entries %d while a datagram is incomplete" % mid["reasm_entries"])
    check(mid["reasm_bytes"] > 0, "reasm_bytes 0 while a fragment is held")
    time.sleep(TIMEOUT_S + 0.4)
    after = c.stats()
    d = after["reasm_drop_timeout"] - before["reasm_drop_timeout"]
    check(d >= 1, "reasm_drop_timeout +%d, want +1" % d)
    check(after["reasm_entries"] == 0, "reasm_entries %d after the timeout" % after["reasm_entries"])
    check(after["reasm_bytes"] == 0, "reasm_bytes %d after the timeout" % after["reasm_bytes"])
    print("  incomplete datagram: held (reasm_entries %d), given up at the timeout" % mid["reasm_entries"])

    # more incomplete datagrams than entries: the oldest are evicted
    before = c.stats()
    for _ in range(ENTRIES + 4):
        raw.frag(raw.next_id(), 0, b"\x00" * 16, True)
    time.sleep(0.05)
    after = c.stats()
    d = after["reasm_drop_evicted"] - before["reasm_drop_evicted"]
    check(d >= 4, "reasm_drop_evicted +%d, want >= 4" % d)
    check(after["reasm_entries"] <= ENTRIES, "reasm_entries %d > %d" % (after["reasm_entries"], ENTRIES))
    time.sleep(TIMEOUT_S + 0.4)

    # a request in fragments, last first: answered like any other
    k = b"bb:reasm:raw:%d" % os.getpid()
    v = bytes(range(256)) * 12
    rid = c.next_id()
    dgram = raw.udp(FRAME.pack(rid, 0, 1, 0) + req(OP["SET"], k, v, set_extras(5)))
    i = raw.next_id()
    offs = list(range(0, len(dgram), 1000))
    for off in reversed(offs):
        raw.frag(i, off, dgram[off:off + 1000], off + 1000 < len(dgram))
    msg, _, _ = c.recv_message(rid, 2.0)
    check(msg is not None, "no answer to a SET sent as %d fragments in reverse order" % len(offs))
    r = ku.parse_responses(msg)
    check(len(r) == 1 and r[0]["status"] == OK, "SET from reversed fragments: %r" % r)
    r = expect(c.one(req(OP["GET"], k)), OK, "GET of the value SET by fragments")
    check(r["value"] == v, "value SET by reversed fragments differs")
    print("  a SET in %d fragments, last first: answered, stored" % len(offs))

    # flood: 528 incomplete 1480-byte fragments of 12 datagrams (fewer than reasm_entries, more
    # than reasm_bytes holds at 2,304 bytes of mbuf each): the bytes held stay bounded
    before = c.stats()
    peak = 0
    base = raw.next_id()
    raw.ipid = (raw.ipid + 12) & 0xffff
    for n in range(528):
        raw.frag((base + n % 12) & 0xffff, (n // 12) * 1480, b"\x00" * 1480, True)
        if n % 100 == 99:
            peak = max(peak, c.stats()["reasm_bytes"])
    after = c.stats()
    peak = max(peak, after["reasm_bytes"])
    check(peak <= BYTES, "reasm_bytes %d > reasm_bytes bound %d" % (peak, BYTES))
    check(after["drop_nombuf"] == before["drop_nombuf"], "responses ran out of mbufs during the flood")
    d = after["reasm_drop_evicted"] - before["reasm_drop_evicted"]
    check(d >= 1, "the flood evicted nothing (reasm_drop_evicted +%d): the bound was not reached" % d)
    expect(c.one(req(OP["NOOP"])), OK, "answering after the fragment flood")
    r = expect(c.one(req(OP["GET"], k)), OK, "GET after the flood")
    check(r["value"] == v, "value after the flood")
    raw.s.close()
    print("  flood of 528 incomplete fragments: reasm_bytes peak %d <= %d, still answering" % (peak, BYTES))


def main():
    c = ku.Client()
    t0 = time.time()
    for t in (test_large_requests, test_raw_fragments):
        try:
            t(c)
        except Fail as e:
            print("FAIL in %s: %s" % (t.__name__, e), file=sys.stderr)
            return 1
    s = c.stats()
    print("reasm.py: %d checks passed in %.1f s; counters: %s" % (
        ku.checks, time.time() - t0,
        " ".join("%s=%s" % (n, s[n]) for n in sorted(s)
                 if n.startswith("reasm_") or n in ("frag_in", "drop_ip_fragment"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
