#!/usr/bin/env python3
"""A TCP -> memcached-UDP shim, for clients that speak TCP only (memccapable).

    tcp2udp.py --listen HOST:PORT --server HOST:PORT [--seconds S]

Each request read from a TCP connection (a binary request by its header's
bodylen; a text command line, with its data block for storage commands) is
sent as one UDP datagram with the memcached frame header, followed by a
sentinel datagram (a binary NOOP under its own request id).  Every datagram
of the request's id that arrives before the sentinel's answer is the reply:
multi-datagram messages are put together by sequence number and written to
the TCP connection.  A quiet request (or noreply) thus gets no bytes, as over
TCP.  After QUIT (binary or text) the TCP connection is closed, as memcached
closes it.  One thread and one UDP socket per connection; the process exits
after --seconds (a bound for tests).
"""
import argparse
import socket
import struct
import sys
import threading
import time

HDR = struct.Struct(">BBHBBHIIQ")
FRAME = struct.Struct(">HHHH")
NOOP = HDR.pack(0x80, 0x0a, 0, 0, 0, 0, 0, 0x5e5e5e5e, 0)
STORAGE = (b"set", b"add", b"replace", b"append", b"prepend", b"cas")
QUIT_OPS = (0x07, 0x17)


class Reader:
    """Requests, one at a time, from a TCP byte stream."""

    def __init__(self, conn):
        self.c, self.buf = conn, b""

    def _fill(self, n):
        while len(self.buf) < n:
            d = self.c.recv(1 << 20)
            if not d:
                return False
            self.buf += d
        return True

    def _take(self, n):
        r, self.buf = self.buf[:n], self.buf[n:]
        return r

    def next(self):
        """(request bytes, is_quit), or None at end of stream."""
        if not self._fill(1):
            return None
        if self.buf[0] == 0x80:
            if not self._fill(24):
                return None
            op = self.buf[1]
            bodylen = struct.unpack_from(">I", self.buf, 8)[0]
            if not self._fill(24 + bodylen):
                return None
            return self._take(24 + bodylen), op in QUIT_OPS
        while b"\n" not in self.buf:
            if len(self.buf) > (1 << 20) or not self._fill(len(self.buf) + 1):
                return None
        n = self.buf.index(b"\n") + 1
        line = self.buf[:n]
        t = line.split()
        extra = 0
        if t and t[0] in STORAGE and len(t) >= 5:
            try:
                extra = int(t[4]) + 2
            except ValueError:
                extra = 0
            if extra < 2:
                extra = 0
        if not self._fill(n + extra):
            return None
        return self._take(n + extra), bool(t) and t[0] == b"quit"


def serve(conn, server, timeout):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root)
    except OSError:
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    u.connect(server)
    rid = (id(conn) >> 4) & 0x7fff
    rd = Reader(conn)
    try:
        while True:
            r = rd.next()
            if r is None:
                break
            req, quit_ = r
            rid = (rid + 2) & 0xffff
            sid = (rid + 1) & 0xffff
            u.send(FRAME.pack(rid, 0, 1, 0) + req)
            u.send(FRAME.pack(sid, 0, 1, 0) + NOOP)
            msgs, cur, seen = [], None, False
            deadline = time.time() + timeout
            while True:
                whole = cur is not None and len(cur[1]) == cur[0]
                if seen and whole:
                    break
                left = deadline - time.time()
                if left <= 0:
                    break
                u.settimeout(left)
                try:
                    d = u.recv(65536)
                except socket.timeout:
                    break
                if len(d) < 8:
                    continue
                r_id, seq, total, _ = FRAME.unpack_from(d)
                if r_id == sid:
                    seen = True
                    if cur is None:
                        # nothing yet: a large answer may come after the small one (a server
                        # sends it in chunks); wait a little for it, a quiet request has none
                        deadline = min(deadline, time.time() + 0.05)
                    continue
                if r_id != rid or total == 0:
                    continue
                deadline = time.time() + timeout
                if seq == 0 or cur is None:
                    cur = (total, {})
                    msgs.append(cur)
                cur[1][seq] = d[8:]
            out = b"".join(b"".join(m[i] for i in sorted(m)) for _t, m in msgs)
            if out:
                conn.sendall(out)
            if quit_:
                break
    except OSError:
        pass
    finally:
        conn.close()
        u.close()


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--timeout", type=float, default=2.0, help="per-request answer wait")
    a = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(hostport(a.listen))
    ls.listen(16)
    ls.settimeout(0.5)
    end = time.time() + a.seconds
    print("tcp2udp: %s -> udp %s" % (a.listen, a.server), flush=True)
    while time.time() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(c, hostport(a.server), a.timeout), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
