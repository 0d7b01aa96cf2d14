#!/usr/bin/env python3
"""Descriptors: a topic of thousands of segments under a small RLIMIT_NOFILE.

brookd runs with `ulimit -n` set low by fds.sh. A client creates a topic whose
segments hold one batch each (internal.segment.bytes, Kafka's key for tests) and
produces several times more batches than there are descriptors. Before segment
files went through a bounded cache, each kept its descriptor open: produce hung,
also to other topics, CreateTopics failed with EMFILE and connections were
refused. Now all of that must keep working, every record must read back from
offset 0 across all segments, and segment.bytes below Kafka's 1 MiB floor must
be refused with INVALID_CONFIG. Runs under tests/guard.py's Guard (control
client, RSS and log bounds). Standard library only.

usage: fds.py HOST:PORT BROOKD_PID BROOKD_LOG NOFILE
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from guard import Guard, fetch_body  # noqa: E402
from kafkawire import (connect, produce_body, produce_error, read_response,  # noqa: E402
                       record_batch, request, string)

HOST, PORT = sys.argv[1].rsplit(':', 1)
PORT = int(PORT)
PID, LOG, NOFILE = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
BATCHES = 16 * NOFILE  # one segment each: sixteen times the process's descriptors
VALUE = b'x' * 700    # a batch of ~770 bytes: a 1 KiB segment holds one
INVALID_CONFIG = 40


def create_topics_body(name, configs, partitions=1):
    """A CreateTopics v2 body for one topic with (key, value) configs."""
    body = struct.pack('>i', 1) + string(name) + struct.pack('>ihi', partitions, 1, 0)
    body += struct.pack('>i', len(configs))
    for k, v in configs:
        body += string(k) + string(v)
    return body + struct.pack('>ib', 10000, 0)


def create_topic(name, configs, partitions=1):
    """The error code CreateTopics answers for one topic."""
    s = connect(HOST, PORT)
    s.settimeout(20)
    try:
        s.sendall(request(19, 2, 1, create_topics_body(name, configs, partitions)))
        resp = read_response(s)
    finally:
        s.close()
    off = 4 + 4 + 4  # correlation id, throttle time, topics count
    (n,) = struct.unpack_from('>h', resp, off)
    return struct.unpack_from('>h', resp, off + 2 + n)[0]


def produce_many(topic, count, window=64):
    """Produce count one-record batches, `window` in flight; True when all succeed."""
    s = connect(HOST, PORT)
    s.settimeout(20)
    sent = done = 0
    try:
        while done < count:
            while sent < count and sent - done < window:
                sent += 1
                s.sendall(request(0, 3, sent, produce_body(topic, record_batch([VALUE]))))
            resp = read_response(s)
            if not resp or produce_error(resp) != 0:
                print(f'# produce {done} to {topic}: {produce_error(resp) if resp else "closed"}')
                return False
            done += 1
        return True
    except OSError as e:
        print(f'# produce {done} to {topic}: {e!r}')
        return False
    finally:
        s.close()


def batches_in(records):
    """(records, offset after the last batch) of the record batches in a Fetch answer."""
    n, nxt, off = 0, None, 0
    while off + 61 <= len(records):
        base, length = struct.unpack_from('>qi', records, off)
        if off + 12 + length > len(records):
            break  # a partial batch at the end of the response
        (delta,) = struct.unpack_from('>i', records, off + 23)
        (cnt,) = struct.unpack_from('>i', records, off + 57)
        n += cnt
        nxt = base + delta + 1
        off += 12 + length
    return n, nxt


def fetch_records(resp):
    """(error, high watermark, records bytes) of the one partition in a Fetch v4 answer."""
    off = 4 + 4 + 4
    (n,) = struct.unpack_from('>h', resp, off)
    off += 2 + n + 4
    _, err, hw, _ = struct.unpack_from('>ihqq', resp, off)
    off += 4 + 2 + 8 + 8
    (aborted,) = struct.unpack_from('>i', resp, off)
    off += 4 + max(aborted, 0) * 16
    (size,) = struct.unpack_from('>i', resp, off)
    return err, hw, resp[off + 4:off + 4 + max(size, 0)]


def consume_all(topic, expect):
    """Read the topic from offset 0 to its end; True when `expect` records come back."""
    s = connect(HOST, PORT)
    s.settimeout(20)
    offset = got = corr = 0
    try:
        for _ in range(4 * expect + 10):
            corr += 1
            s.sendall(request(1, 4, corr, fetch_body(topic, offset)))
            err, hw, records = fetch_records(read_response(s))
            if err:
                print(f'# fetch {topic} at {offset}: error {err}')
                return False
            if offset >= hw:
                break
            n, nxt = batches_in(records)
            if nxt is None or nxt <= offset:
                print(f'# fetch {topic} at {offset}: no progress ({len(records)} bytes)')
                return False
            got, offset = got + n, nxt
        print(f'# read {got} records of {expect} from offset 0 to {offset}')
        return got == expect
    finally:
        s.close()


def connections_accepted(count):
    """Open count new connections at once; True when each answers ApiVersions."""
    socks = []
    try:
        for i in range(count):
            s = connect(HOST, PORT)
            s.settimeout(10)
            socks.append(s)
            s.sendall(request(18, 0, i, b''))
        for s in socks:
            resp = read_response(s)
            if not resp or struct.unpack_from('>h', resp, 4)[0] != 0:
                return False
        return True
    except OSError as e:
        print(f'# connection {len(socks)}: {e!r}')
        return False
    finally:
        for s in socks:
            s.close()


def open_fds():
    return len(os.listdir(f'/proc/{PID}/fd'))


def main():
    g = Guard(HOST, PORT, PID, LOG, rss_bound_mib=256)
    g.case('CreateTopics with segment.bytes=1024 (below the 1 MiB floor) gets INVALID_CONFIG',
           lambda: create_topic('tiny', [('segment.bytes', '1024')]) == INVALID_CONFIG)
    g.case('CreateTopics with segment.bytes=1048575 gets INVALID_CONFIG',
           lambda: create_topic('tiny', [('segment.bytes', '1048575')]) == INVALID_CONFIG)
    g.case('CreateTopics with segment.bytes=1048576 is accepted',
           lambda: create_topic('floor', [('segment.bytes', '1048576')]) == 0)

    def many_segments():
        rc = create_topic('many', [('internal.segment.bytes', '1024')])
        if rc == INVALID_CONFIG:  # a brook without the internal key: the client's way
            rc = create_topic('many', [('segment.bytes', '1024')])
        return rc == 0 and produce_many('many', BATCHES)
    g.case(f'{BATCHES} batches, one segment each, under RLIMIT_NOFILE {NOFILE}', many_segments)
    fds = open_fds()
    g.result(fds < NOFILE // 2,
             f'brookd holds {fds} descriptors for {BATCHES} segments (limit {NOFILE})')
    g.case('produce to the many-segment topic still works', lambda: produce_many('many', 50))
    g.case('produce to an unrelated topic works',
           lambda: create_topic('other', []) == 0 and produce_many('other', 50))
    g.case('CreateTopics works', lambda: create_topic('fresh', []) == 0)
    g.case('new connections are accepted', lambda: connections_accepted(NOFILE // 4))
    g.case(f'every record reads back from offset 0 across all {BATCHES} segments',
           lambda: consume_all('many', BATCHES + 50))
    return g.finish()


sys.exit(main())
