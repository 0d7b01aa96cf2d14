#!/usr/bin/env python3
"""Message sets of magic 0 and 1 against a live brookd: Produce v0-2, Fetch v0-3.

The sets are built here by hand (CRC-32 from zlib), produced with each old Produce
version, and read back with every old Fetch version (whose messages are parsed and
CRC-checked here) and with kcat (librdkafka, Fetch v4+: the stored v2 batches), so
keys, values, offsets and timestamps are checked on both paths. Hostile sets (a size
claiming gigabytes, a gzip bomb, a wrapper in a wrapper, a bad CRC) run under
tests/guard.py and must be refused with a clear error, storing nothing.

usage: legacy_formats.py HOST:PORT BROOKD_PID BROOKD_LOG
"""
import gzip
import os
import socket
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from guard import Guard  # noqa: E402
from kafkawire import (connect, ensure_topic, produce_body, produce_error,  # noqa: E402
                       read_response, record_batch, request, string)

HOST, PORT = sys.argv[1].rsplit(':', 1)
PORT = int(PORT)
PID = int(sys.argv[2])
LOG = sys.argv[3]
BASE_TS = 1700000000000

NONE, CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_RECORD = 0, 2, 10, 87
failures = 0


def result(good, name):
    global failures
    print(('ok - ' if good else 'not ok - ') + name, flush=True)
    failures += not good
    return good


# ---- message sets ----

def nbytes(b):
    return struct.pack('>i', -1) if b is None else struct.pack('>i', len(b)) + b


def message(offset, magic, value, key=None, ts=None, codec=0):
    body = struct.pack('>bb', magic, codec)
    if magic == 1:
        body += struct.pack('>q', ts)
    body += nbytes(key) + nbytes(value)
    body = struct.pack('>I', zlib.crc32(body)) + body
    return struct.pack('>qi', offset, len(body)) + body


def wrapper(magic, inner, ts=None, offset=0):
    return message(offset, magic, gzip.compress(inner), ts=ts, codec=1)


def parse_set(data):
    """[(offset, magic, attributes, ts, key, value)] of the whole messages in data;
    a partial message at the end is returned as ('partial', bytes)."""
    out, off = [], 0
    while off < len(data):
        if len(data) - off < 12:
            out.append(('partial', len(data) - off))
            break
        o, size = struct.unpack_from('>qi', data, off)
        if len(data) - off - 12 < size:
            out.append(('partial', len(data) - off))
            break
        body = data[off + 12:off + 12 + size]
        crc, magic, attr = struct.unpack_from('>Ibb', body, 0)
        assert zlib.crc32(body[4:]) == crc, f'bad CRC at offset {o}'
        p = 6
        ts = None
        if magic == 1:
            (ts,) = struct.unpack_from('>q', body, p)
            p += 8
        vals = []
        for _ in range(2):
            (n,) = struct.unpack_from('>i', body, p)
            p += 4
            vals.append(None if n < 0 else body[p:p + n])
            p += max(n, 0)
        out.append((o, magic, attr, ts, vals[0], vals[1]))
        off += 12 + size
    return out


# ---- requests ----

def produce(s, version, topic, mset, acks=1, partition=0, corr=1):
    """Error code and base offset of a Produce v0-2 of one partition."""
    body = (struct.pack('>hi', acks, 10000) + struct.pack('>i', 1) + string(topic) +
            struct.pack('>i', 1) + struct.pack('>ii', partition, len(mset)) + mset)
    s.sendall(request(0, version, corr, body))
    if acks == 0:
        return None, None
    resp = read_response(s)
    if resp is None:
        return 'closed', None
    off = 4 + 4
    (n,) = struct.unpack_from('>h', resp, off)
    off += 2 + n + 4
    _, err, base = struct.unpack_from('>ihq', resp, off)
    return err, base


def fetch(s, version, topic, offset, part_max=1 << 20, max_wait=0, min_bytes=1,
          max_bytes=1 << 20, corr=2):
    """(error, high watermark, message set bytes) of a Fetch v0-3 of one partition."""
    body = struct.pack('>iii', -1, max_wait, min_bytes)
    if version >= 3:
        body += struct.pack('>i', max_bytes)
    body += (struct.pack('>i', 1) + string(topic) + struct.pack('>i', 1) +
             struct.pack('>iqi', 0, offset, part_max))
    s.sendall(request(1, version, corr, body))
    resp = read_response(s)
    if resp is None:
        return 'closed', None, None
    off = 4 + (4 if version >= 1 else 0)
    off += 4  # topics count
    (n,) = struct.unpack_from('>h', resp, off)
    off += 2 + n + 4
    _, err, hw, size = struct.unpack_from('>ihqi', resp, off)
    off += 18
    return err, hw, resp[off:off + max(size, 0)]


# ---- the round trip ----

TOPIC = 'legacy'
# what is produced, in order: (produce version, message set, [(key, value, ts)])
PLAIN0 = [(b'k0', b'v0'), (None, b'v1')]
GZ0 = [(b'k2', b'v2'), (b'k3', None), (None, b'v4')]
PLAIN1 = [(b'k5', b'v5', BASE_TS + 5), (None, b'v6', BASE_TS + 6)]
GZ1 = [(b'k7', b'v7', BASE_TS + 7), (b'k8', b'v8', BASE_TS + 8), (b'k9', b'\x00\xff', BASE_TS + 9)]


def sets():
    plain0 = b''.join(message(i, 0, v, k) for i, (k, v) in enumerate(PLAIN0))
    # magic 0 inner offsets are absolute (anything: the broker assigns them)
    gz0 = wrapper(0, b''.join(message(40 + i, 0, v, k) for i, (k, v) in enumerate(GZ0)))
    plain1 = b''.join(message(i, 1, v, k, ts) for i, (k, v, ts) in enumerate(PLAIN1))
    # magic 1 inner offsets are relative, and the wrapper holds the last one
    gz1 = wrapper(1, b''.join(message(i, 1, v, k, ts) for i, (k, v, ts) in enumerate(GZ1)),
                  ts=BASE_TS + 9, offset=len(GZ1) - 1)
    return [(0, plain0, len(PLAIN0)), (1, gz0, len(GZ0)), (2, plain1, len(PLAIN1)),
            (2, gz1, len(GZ1))]


EXPECT = ([(k, v, -1) for k, v in PLAIN0 + GZ0] + PLAIN1 + GZ1)


def round_trip():
    ensure_topic(HOST, PORT, TOPIC)
    s = connect(HOST, PORT)
    base = 0
    for version, mset, count in sets():
        err, off = produce(s, version, TOPIC, mset)
        kind = 'gzip' if mset[17] & 7 else 'plain'  # the first message's magic, attributes
        result(err == NONE and off == base,
               f'Produce v{version} of a magic {mset[16]} {kind} set is stored at offset {base} '
               f'(got error {err}, offset {off})')
        base += count
    for version in range(4):
        err, hw, data = fetch(s, version, TOPIC, 0)
        msgs = parse_set(data) if err == NONE else []
        magic = 1 if version >= 2 else 0
        got = [(m[4], m[5], m[3] if magic else -1) for m in msgs]
        want = [(k, v, ts if magic else -1) for k, v, ts in EXPECT]
        result(err == NONE and hw == len(EXPECT) and got == want and
               [m[0] for m in msgs] == list(range(len(EXPECT))) and
               all(m[1] == magic and m[2] == 0 for m in msgs),
               f'Fetch v{version} returns every record as an uncompressed magic {magic} message '
               f'with absolute offsets, keys, values{" and timestamps" if magic else ""}')
    # from the middle of a wrapper's records
    err, _, data = fetch(s, 3, TOPIC, 3)
    msgs = parse_set(data)
    result(err == NONE and [m[0] for m in msgs] == list(range(3, len(EXPECT))),
           'Fetch v3 from inside a converted batch starts at the offset asked for')
    s.close()
    kcat_reads()


def kcat_reads():
    out = subprocess.run(['timeout', '60', 'kcat', '-b', f'{HOST}:{PORT}', '-C', '-t', TOPIC,
                          '-e', '-q', '-f', '%o|%k|%s|%T\\n'], capture_output=True)
    lines = out.stdout.decode('latin-1').splitlines()
    want = []
    for i, (k, v, ts) in enumerate(EXPECT):
        k = (k or b'').decode('latin-1')
        v = (v or b'').decode('latin-1')
        want.append(f'{i}|{k}|{v}|{ts}')
    result(lines == want, 'kcat (Fetch v4+) reads the up-converted records: keys, values, '
           'offsets, create-time timestamps (-1 for magic 0)')
    if lines != want:
        print(f'# kcat: {lines!r}\n# want: {want!r}', flush=True)


def limits():
    """Whole messages within partition_max_bytes; the first one past it cut (v0-2) or
    whole (v3)."""
    s = connect(HOST, PORT)
    first = len(message(0, 0, b'v0', b'k0'))
    err, _, data = fetch(s, 0, TOPIC, 0, part_max=first + 10)
    result(err == NONE and len(data) == first and len(parse_set(data)) == 1,
           'Fetch v0 sends whole messages only within partition_max_bytes')
    err, _, data = fetch(s, 1, TOPIC, 0, part_max=10)
    result(err == NONE and len(data) == 10 and parse_set(data) == [('partial', 10)],
           'Fetch v1 cuts a first message larger than partition_max_bytes at that size, as Kafka did')
    err, _, data = fetch(s, 3, TOPIC, 0, part_max=10, max_bytes=10)
    msgs = parse_set(data)
    result(err == NONE and len(msgs) == 1 and msgs[0][0] == 0,
           'Fetch v3 sends a first message larger than the limits whole (KIP-74)')
    err, _, _ = fetch(s, 2, TOPIC, 1000)
    result(err == 1, 'Fetch v2 past the end gets OFFSET_OUT_OF_RANGE')
    s.close()


def long_poll():
    """A fetch at the log end waits for max_wait_ms, or for the next produce."""
    s = connect(HOST, PORT)
    end = len(EXPECT)
    t0 = time.monotonic()
    err, _, data = fetch(s, 2, TOPIC, end, max_wait=400)
    waited = time.monotonic() - t0
    result(err == NONE and data == b'' and waited >= 0.35,
           f'Fetch v2 at the log end waits max_wait_ms before answering empty ({waited:.2f} s)')
    w = connect(HOST, PORT)
    t0 = time.monotonic()
    s.sendall(request(1, 0, 9, struct.pack('>iii', -1, 20000, 1) + struct.pack('>i', 1) +
                      string(TOPIC) + struct.pack('>i', 1) + struct.pack('>iqi', 0, end, 1 << 20)))
    s.settimeout(0.3)
    try:
        early = s.recv(1)
    except socket.timeout:
        early = None
    s.settimeout(30)
    err, _ = produce(w, 1, TOPIC, message(0, 0, b'late', b'kl'))
    resp = read_response(s) if early is None else None
    waited = time.monotonic() - t0
    good = early is None and err == NONE and resp is not None and b'late' in resp
    result(good and waited < 10,
           f'a parked Fetch v0 is answered by the next produce, not by its 20 s timeout '
           f'({waited:.2f} s)')
    s.close()
    w.close()


def acks0():
    s = connect(HOST, PORT)
    produce(s, 2, TOPIC, message(0, 1, b'quiet', None, BASE_TS), acks=0)
    err, hw, _ = fetch(s, 2, TOPIC, 0, corr=3)
    result(err == NONE and hw == len(EXPECT) + 2,
           'Produce v2 with acks=0 is stored and not answered (the next answer is the fetch)')
    s.close()


# ---- hostile sets, under the guard ----

guard = None


def hw_of(topic):
    s = connect(HOST, PORT)
    _, hw, _ = fetch(s, 3, topic, 0, part_max=1)
    s.close()
    return hw


def refused(topic, version, mset, want):
    ensure_topic(HOST, PORT, topic)
    before = hw_of(topic)
    s = connect(HOST, PORT)
    s.settimeout(60)
    err, _ = produce(s, version, topic, mset)
    s.close()
    after = hw_of(topic)
    print(f'# {topic}: error {err}, high watermark {before} -> {after}', flush=True)
    return err == want and before == after == 0


def huge_size():
    m = message(0, 1, b'x', None, BASE_TS)
    bad = m[:8] + struct.pack('>i', 0x7fffff00) + m[12:]
    return refused('legacy-huge', 2, bad, CORRUPT_MESSAGE)


def gzip_bomb():
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    bomb = b''.join(z.compress(chunk) for _ in range(512)) + z.flush()  # 512 MiB of zeros
    return refused('legacy-bomb', 2, message(0, 1, bomb, None, BASE_TS, codec=1),
                   MESSAGE_TOO_LARGE)


def nested():
    inner = wrapper(1, message(0, 1, b'deep', None, BASE_TS), ts=BASE_TS)
    return refused('legacy-nested', 2, wrapper(1, inner, ts=BASE_TS), INVALID_RECORD)


def bad_crc():
    m = bytearray(message(0, 0, b'v', b'k'))
    m[-1] ^= 1
    return refused('legacy-crc', 0, bytes(m), CORRUPT_MESSAGE)


def phase(fn):
    """Run one group of checks; a connection brookd closes fails it, not the rest."""
    try:
        fn()
    except (OSError, struct.error, AssertionError) as e:
        result(False, f'{fn.__name__}: {e!r}')


def pipelined_fetches():
    """100 Fetch v0 pipelined on one connection, parked at the end of an empty
    partition with min_bytes 8 MB, then 8 MB produced: every one of them completes at
    once. Converted
    answers are bytes in memory until sent (newer fetches send from the files), so
    without a bound each would hold the 8 MB; the connection holds at most 32 MiB
    and one message more, and the answers past that are empty."""
    topic, n = 'legacy-pipe', 100
    ensure_topic(HOST, PORT, topic)
    s = connect(HOST, PORT)
    body = (struct.pack('>iii', -1, 60000, 8000000) + struct.pack('>i', 1) + string(topic) +
            struct.pack('>i', 1) + struct.pack('>iqi', 0, 0, 16 << 20))
    s.sendall(b''.join(request(1, 0, 100 + i, body) for i in range(n)))
    p = connect(HOST, PORT)
    t0 = time.monotonic()
    for i in range(9):
        p.sendall(request(0, 3, i, produce_body(topic, record_batch([bytes(900)] * 1000))))
        if produce_error(read_response(p)) != NONE:
            return False
    p.close()
    s.settimeout(60)
    sizes = []
    for i in range(n):
        resp = read_response(s)
        if resp is None:
            return False
        (corr,) = struct.unpack_from('>i', resp, 0)
        off = 4 + 4
        (k,) = struct.unpack_from('>h', resp, off)
        off += 2 + k + 4
        _, err, _, size = struct.unpack_from('>ihqi', resp, off)
        if corr != 100 + i or err != NONE:
            return False
        sizes.append(size)
    s.close()
    secs = time.monotonic() - t0
    full = sum(1 for x in sizes if x > 0)
    print(f'# {n} pipelined fetches: {full} answered with data, {sum(sizes) >> 20} MiB in all, '
          f'{secs:.1f} s after the first produce', flush=True)
    # answered once min_bytes was there, well before max_wait_ms (60 s)
    return 0 < full < n and sum(sizes) <= (32 + 9) << 20 and secs < 30


def main():
    global guard
    for fn in (round_trip, limits, long_poll, acks0):
        phase(fn)
    guard = Guard(HOST, PORT, PID, LOG, rss_bound_mib=192)
    guard.case('Produce v2 with a message claiming 2 GiB gets CORRUPT_MESSAGE, nothing stored',
               huge_size)
    guard.case('Produce v2 with a 512 MiB gzip bomb gets MESSAGE_TOO_LARGE, nothing stored',
               gzip_bomb)
    guard.case('Produce v2 with a wrapper inside a wrapper gets INVALID_RECORD, nothing stored',
               nested)
    guard.case('Produce v0 with a bad CRC gets CORRUPT_MESSAGE, nothing stored', bad_crc)
    # brookd peaks at 45 MiB here (630 MiB without the bound); a sanitizer build keeps
    # freed memory in quarantine (up to 256 MiB) and peaks near 210 MiB
    guard.case('100 pipelined Fetch v0 answered at once hold at most 32 MiB of converted '
               'messages', pipelined_fetches, rss_bound_mib=320)
    rc = guard.finish()
    sys.exit(1 if failures or rc else 0)


main()
