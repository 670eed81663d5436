#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Independent reference for lib/ketama.c: libmemcached's weighted ketama
(MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED) written from its description with
python's hashlib, no C involved.  Prints the vectors embedded in
tests/unit/test_ketama.c; `--check` re-derives them and compares with the
table in that file (run by hand when the table is touched)."""
import hashlib
import re
import struct
import sys


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def points_of(weight, total, n):
    pct = f32(f32(weight) / f32(total))
    g = f32(f32(f32(pct * 160.0) / 4.0) * f32(n))
    g = f32(g + 0.0000000001)
    return int(g // 1) * 4


def continuum(servers):
    total = sum(w or 1 for _, _, w in servers)
    pts = []
    for i, (host, port, w) in enumerate(servers):
        for j in range(points_of(w or 1, total, len(servers)) // 4):
            name = f"{host}-{j}" if port == 11211 else f"{host}:{port}-{j}"
            d = hashlib.md5(name.encode()).digest()
            for x in range(4):
                pts.append((struct.unpack_from('<I', d, 4 * x)[0], i))
    pts.sort()
    return pts


def key_hash(key):
    return struct.unpack_from('<I', hashlib.md5(key).digest(), 0)[0]


def pick(pts, key):
    h = key_hash(key)
    for v, i in pts:
        if v >= h:
            return i
    return pts[0][1]


SETS = {
    'equal3': [("198.18.0.1", 11211, 1), ("198.18.0.2", 11211, 1), ("198.18.0.3", 11211, 1)],
    'ports_weighted': [("10.0.0.1", 11211, 100), ("10.0.0.1", 11212, 200), ("cache.example", 9999, 50),
                       ("10.0.0.2", 11211, 0)],
}
KEYS = [b"", b"a", b"key:1", b"key:2", b"key:3", b"user:12345", b"dpcache", b"x" * 40] + \
       [f"k{i}".encode() for i in range(0, 1000, 37)]


def generate():
    out = []
    for name, servers in SETS.items():
        pts = continuum(servers)
        out.append(f"/* {name}: {len(pts)} points */")
        for k in KEYS:
            out.append(f'\t{{ "{k.decode()}", {len(k)}u, 0x{key_hash(k):08x}u, {pick(pts, k)}u }},')
    return out


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--check':
        src = open('tests/unit/test_ketama.c').read()
        missing = [l for l in generate() if l.startswith('\t{') and l not in src]
        print("ok" if not missing else "MISMATCH:\n" + "\n".join(missing))
        sys.exit(1 if missing else 0)
    print("\n".join(generate()))
