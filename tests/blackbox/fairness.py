#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Black-box test of fairness under load in a running dpcached (one worker,
test_fairness.sh), from a kernel UDP client:

1. Chunked sending: a 1 MiB GET (754 datagrams) from one socket, a small GET
   from another right behind it: the small reply arrives before the large
   response's last datagram (without chunks the worker queues all 754 first).
2. The response cap: with max_response_datagrams 50 (set at run time through
   dpcachectl), a 100 KiB GET (74 datagrams), a text get of it and a
   60-key GETKQ multi-get each get one error (E2BIG / SERVER_ERROR), counted
   in resp_over_cap; back at 1024 the GET is whole again.
3. Everything full at once: fragments held up to reasm_bytes, six 1 MiB GETs
   in one burst (the send backlog holds four: the rest dropped, drop_backlog),
   then small requests are still answered and no reply lacked an mbuf
   (drop_nombuf stays 0): the pool leaves room for RX (docs/design.md, "mbufs").

Usage: fairness.py SERVER_IP PORT CLIENT_IFACE PMD DPCACHECTL...   (exit 0: passed)
"""
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_udp as ku  # noqa: E402
from kernel_udp import OP, OK, E2BIG, FRAME, req, set_extras, expect, check, Fail  # noqa: E402
import reasm  # noqa: E402

CTL = sys.argv[5:]
MIB = 1024 * 1024


def ctl_set(name, value):
    subprocess.run(CTL + ["config", "set", name, str(value)], check=True, capture_output=True, timeout=20)


def put_value(c, k, value):
    """SET the first 60,000 bytes in one datagram (reassembled), APPEND the rest likewise."""
    chunk = 60000
    expect(c.one(req(OP["SET"], k, value[:chunk], set_extras(1))), OK, "SET first 60 KB of %r" % k)
    for off in range(chunk, len(value), chunk):
        for _ in range(50):
            r = c.one(req(OP["APPEND"], k, value[off:off + chunk]))
            if r["status"] in (ku.ENOMEM, ku.ETMPFAIL):
                time.sleep(0.01)
                continue
            break
        expect(r, OK, "APPEND at %d" % off)


SO_TIMESTAMPNS = 35  # Linux: kernel receive time of each datagram (SCM_TIMESTAMPNS)


def recv_ts(sock, timeout):
    """One datagram and the kernel's receive time (ns), or (None, None) on timeout."""
    sock.settimeout(timeout)
    try:
        data, anc, _flags, _addr = sock.recvmsg(65536, 64)
    except socket.timeout:
        return None, None
    for level, kind, val in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", val[:16])
            return data, sec * 10**9 + nsec
    raise Fail("no receive timestamp")


def test_chunks(c, k):
    """Receive times from the kernel (SO_TIMESTAMPNS), not from when Python reads them."""
    other = ku.Client()
    kb = b"bb:fair:small:%d" % os.getpid()
    expect(other.one(req(OP["SET"], kb, b"small", set_extras())), OK, "SET small")
    for s_ in (c.s, other.s):
        s_.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    before = c.stats()
    wins = 0
    for trial in range(5):
        rid_big, rid_small = c.next_id(), other.next_id()
        c.send_raw(FRAME.pack(rid_big, 0, 1, 0) + req(OP["GET"], k))
        other.send_raw(FRAME.pack(rid_small, 0, 1, 0) + req(OP["GET"], kb))
        t_small = t_last = None
        while t_small is None:
            d, t = recv_ts(other.s, 3.0)
            check(d is not None, "trial %d: no small reply" % trial)
            if FRAME.unpack_from(d)[0] == rid_small:
                t_small = t
        got = 0
        while got < 754:
            d, t = recv_ts(c.s, 3.0)
            check(d is not None, "trial %d: %d of 754 large datagrams" % (trial, got))
            if FRAME.unpack_from(d)[0] == rid_big:
                got += 1
                t_last = t
        if t_small < t_last:
            wins += 1
    for s_ in (c.s, other.s):
        s_.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)
        s_.settimeout(None)
    after = c.stats()
    chunked = after["resp_chunked"] - before["resp_chunked"]
    check(chunked >= 5, "resp_chunked +%d, want >= 5" % chunked)
    check(wins >= 4, "the small reply came before the large response's last datagram in %d of 5 "
          "trials, want >= 4" % wins)
    print("  chunked sending: a small reply overtook a 754-datagram response in %d of 5 trials" % wins)


def test_cap(c):
    pid = os.getpid()
    k = b"bb:fair:100k:%d" % pid
    v = bytes((i * 7) & 0xff for i in range(100 * 1024))
    put_value(c, k, v)
    keys = [b"bb:fair:mg:%d:%d" % (pid, i) for i in range(60)]
    for kk in keys:
        expect(c.one(req(OP["SET"], kk, b"m" * 1300, set_extras())), OK, "SET multi-get key")
    before = c.stats()
    ctl_set("max_response_datagrams", 50)
    r = c.call(req(OP["GET"], k, opaque=5))
    check(len(r) == 1 and r[0]["status"] == E2BIG and r[0]["opaque"] == 5,
          "GET of 74 datagrams under a cap of 50: %r" % [(x["op"], x["status"]) for x in r])
    t = ku.text_cmd(c, b"get " + k + b"\r\n")
    check(t == b"SERVER_ERROR response too large\r\n", "text get over the cap: %r" % t[:60])
    body = b"".join(req(OP["GETKQ"], kk, opaque=100 + i) for i, kk in enumerate(keys)) + req(OP["NOOP"])
    r = c.call(body)
    check(len(r) == 1 and r[0]["status"] == E2BIG and r[0]["op"] == OP["GETKQ"] and r[0]["opaque"] == 100,
          "60-key multi-get over the cap: %r" % [(x["op"], x["status"]) for x in r][:4])
    after = c.stats()
    check(after["resp_over_cap"] - before["resp_over_cap"] == 3,
          "resp_over_cap +%d, want +3" % (after["resp_over_cap"] - before["resp_over_cap"]))
    ctl_set("max_response_datagrams", 1024)
    r = expect(c.one(req(OP["GET"], k)), OK, "GET back under the default cap")
    check(r["value"] == v and c.last_dgrams == 74, "100 KiB value after the cap is lifted")
    r = c.call(body)
    check(len(r) == 61 and r[-1]["op"] == OP["NOOP"], "multi-get under the default cap")
    print("  response cap: GET, text get and a 60-key multi-get over 50 datagrams answered "
          "E2BIG / SERVER_ERROR; whole again at 1024")


def test_all_full(c, k):
    raw = reasm.Raw(c)
    before = c.stats()
    # fragments held up to the bound (12 incomplete datagrams of 44 fragments each)
    base = raw.next_id()
    raw.ipid = (raw.ipid + 12) & 0xffff
    for n in range(528):
        raw.frag((base + n % 12) & 0xffff, (n // 12) * 1480, b"\x00" * 1480, True)
    # six 1 MiB GETs in one burst: four fit the send backlog
    rids = [c.next_id() for _ in range(6)]
    for rid in rids:
        c.send_raw(FRAME.pack(rid, 0, 1, 0) + req(OP["GET"], k))
    held = c.stats()
    time.sleep(0.5)
    for _ in range(5):
        expect(c.one(req(OP["NOOP"])), OK, "a small request with everything full")
    after = c.stats()
    raw.s.close()
    dropped = after["drop_backlog"] - before["drop_backlog"]
    check(dropped >= 754, "drop_backlog +%d: the six GETs did not overflow the backlog" % dropped)
    check(after["drop_nombuf"] == before["drop_nombuf"], "drop_nombuf +%d: a reply found no mbuf" %
          (after["drop_nombuf"] - before["drop_nombuf"]))
    check(held["reasm_bytes"] > 0, "no fragments held during the burst")
    print("  all full (reasm_bytes %d held, backlog overflowed by %d datagrams): small requests "
          "answered, drop_nombuf +0" % (held["reasm_bytes"], dropped))


def main():
    c = ku.Client()
    t0 = time.time()
    k = b"bb:fair:1m:%d" % os.getpid()
    try:
        put_value(c, k, bytes((i * 13) & 0xff for i in range(MIB)))
        test_chunks(c, k)
        test_cap(c)
        test_all_full(c, k)
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    print("fairness.py: %d checks passed in %.1f s" % (ku.checks, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
