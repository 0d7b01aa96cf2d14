#!/usr/bin/env python3
"""create_kill.py - the client side of create_kill.sh (raw wire, every wait bounded).

  create_kill.py create PORT N   one CreateTopics v4 of N topics ck-0 .. ck-<N-1>
                                 (topic i has 1 + i % 3 partitions): prints how many
                                 were answered created
  create_kill.py check PORT N    Metadata v1 of every topic: each ck-i is listed with
                                 its partitions; then one Produce v3 (acks=-1) of a
                                 record to the last partition of each: prints
                                 "listed L written W" (W: answered without error at
                                 offset 0)
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import kafkawire as kw  # noqa: E402


def parts_of(i):
    return 1 + i % 3


def create(conn, n):
    w = kw.Writer(False)
    w.i32(n)
    for i in range(n):
        w.string(f'ck-{i}').i32(parts_of(i)).i16(1).i32(0).i32(0)
    r = conn.call(19, 4, w.i32(120000).i8(0).bytes(), False)
    r.i32()  # throttle
    ok = 0
    for _ in range(r.i32()):
        name, err, msg = r.string(), r.i16(), r.string()
        ok += err == 0
        if err:
            print(f'# {name}: error {err} {msg}')
    return ok


def listed(conn):
    """{topic: partitions} from Metadata v1 for every topic."""
    r = conn.call(3, 1, struct.pack('>i', -1), False)
    for _ in range(r.i32()):  # brokers
        r.i32(), r.string(), r.i32(), r.string()
    r.i32()  # controller
    out = {}
    for _ in range(r.i32()):
        err, name, _internal = r.i16(), r.string(), r.bool()
        n = r.i32()
        for _ in range(n):
            r.i16(), r.i32(), r.i32()
            for _ in range(2):  # replicas, isr
                for _ in range(r.i32()):
                    r.i32()
        if err == 0:
            out[name] = n
    return out


def produce_all(conn, names):
    """One Produce v3 (acks=-1) of a record to the last partition of each topic;
    how many were answered without error at offset 0."""
    batch = kw.record_batch([b'after the crash'])
    w = kw.Writer(False)
    w.string(None).i16(-1).i32(60000).i32(len(names))
    for name, part in names:
        w.string(name).i32(1).i32(part).i32(len(batch)).raw(batch)
    r = conn.call(0, 3, w.bytes(), False)
    good = 0
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            _part, err, base, _ts = r.i32(), r.i16(), r.i64(), r.i64()
            good += err == 0 and base == 0
            if err:
                print(f'# produce {name}: error {err}')
    return good


def main(argv):
    cmd, port, n = argv[1], int(argv[2]), int(argv[3])
    conn = kw.Conn('127.0.0.1', port, 'create-kill', timeout=120)
    if cmd == 'create':
        print(create(conn, n))
    else:
        got = listed(conn)
        ok = [i for i in range(n) if got.get(f'ck-{i}') == parts_of(i)]
        written = 0
        for k in range(0, len(ok), 250):  # requests of a bounded size
            written += produce_all(conn, [(f'ck-{i}', parts_of(i) - 1) for i in ok[k:k + 250]])
        print(f'listed {len(ok)} written {written}')
    conn.close()


if __name__ == '__main__':
    main(sys.argv)
