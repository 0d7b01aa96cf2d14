#!/usr/bin/env python3
"""Hostile input against a live brookd, while a control producer keeps producing.

Each case opens its own connection and sends one malformed or abusive request;
brookd must answer it with the right Kafka error, or close that connection, and
keep serving everyone else: after every case the control producer's next produce
must succeed, and brookd's memory must not have grown by what a hostile count
asked for. Prints "ok - ..." / "not ok - ..." lines. Standard library only.

usage: hostile.py HOST:PORT BROOKD_PID
"""
import struct
import sys
import time

HOST, PORT = sys.argv[1].rsplit(':', 1)
PORT = int(PORT)
PID = int(sys.argv[2])
failures = 0


def result(good, name):
    global failures
    print(('ok - ' if good else 'not ok - ') + name, flush=True)
    failures += not good


sys.path.insert(0, __file__.rsplit('/', 2)[0])
from kafkawire import (produce_body, produce_error, read_response,  # noqa: E402
                       record_batch, request, string)
from kafkawire import closed_by_peer  # noqa: E402
from kafkawire import connect as _connect  # noqa: E402
from guard import Control  # noqa: E402
import kafkawire  # noqa: E402


def connect():
    return _connect(HOST, PORT)


def rss_kib():
    with open(f'/proc/{PID}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def ensure_topic(name):
    kafkawire.ensure_topic(HOST, PORT, name)


ensure_topic('hostile')
control = Control(HOST, PORT)
control.start()
control.wait_progress(0)


def case(name, fn):
    before = control.count()
    try:
        good = fn()
    except Exception as e:  # a crash of the test itself is a failure, not an exception
        print(f'# {name}: {e!r}', flush=True)
        good = False
    result(good, name)
    result(control.wait_progress(before), f'{name}: the control producer keeps producing')


def frame_negative():
    s = connect()
    s.sendall(struct.pack('>i', -1) + b'junk')
    return closed_by_peer(s)


def frame_too_large():
    s = connect()
    s.sendall(struct.pack('>i', 200 * 1024 * 1024))  # above socket.request.max.bytes
    return closed_by_peer(s)


def unknown_api():
    s = connect()
    s.sendall(request(9999, 0, 1, b''))
    return closed_by_peer(s)


def unsupported_version():
    s = connect()
    s.sendall(request(3, 99, 1, struct.pack('>i', 0)))
    return closed_by_peer(s)


def api_versions_too_new():
    s = connect()
    s.sendall(request(18, 99, 7, b''))
    resp = read_response(s)
    corr, err = struct.unpack_from('>ih', resp, 0)
    (count,) = struct.unpack_from('>i', resp, 6)
    return corr == 7 and err == 35 and count > 10  # UNSUPPORTED_VERSION, v0 body


def array_count_minus_one():
    s = connect()  # CreateTopics v0 whose (non-nullable) topic array has count -1
    s.sendall(request(19, 0, 1, struct.pack('>ii', -1, 1000)))
    return closed_by_peer(s)


def array_count_huge():
    before = rss_kib()
    s = connect()  # Metadata v1 claiming 2^31-1 topics in a 12-byte body
    s.sendall(request(3, 1, 1, struct.pack('>i', 0x7FFFFFFF) + b'\x00\x01a'))
    closed = closed_by_peer(s)
    return closed and rss_kib() - before < 10 * 1024


def string_length_huge():
    s = connect()  # Metadata v1 with one topic whose name claims 32767 bytes
    s.sendall(request(3, 1, 1, struct.pack('>ih', 1, 32767) + b'abc'))
    return closed_by_peer(s)


def truncated_body():
    s = connect()
    whole = request(0, 3, 1, produce_body('t', record_batch([b'x'])))
    cut = whole[4:4 + 30]  # header and the start of the body only
    s.sendall(struct.pack('>i', len(cut)) + cut)
    return closed_by_peer(s)


def six_byte_varint():
    s = connect()  # ApiVersions v3: a compact string length in six varint bytes
    body = b'\x80\x80\x80\x80\x80\x01abc' + b'\x01' + b'\x00'
    s.sendall(request(18, 3, 1, body))
    return closed_by_peer(s)


def bad_crc():
    s = connect()
    s.sendall(request(0, 3, 1, produce_body('hostile', record_batch([b'bad'], corrupt_crc=True))))
    return produce_error(read_response(s)) == 2  # CORRUPT_MESSAGE


def too_large():
    s = connect()
    big = record_batch([b'x' * (1100 * 1024)])  # over max.message.bytes (1 MiB)
    s.sendall(request(0, 3, 1, produce_body('hostile', big)))
    return produce_error(read_response(s)) == 10  # MESSAGE_TOO_LARGE


def large_requests():
    """Requests far above libevent's 4 KiB read are assembled in order, whether they
    arrive in one write or split inside the size prefix and the body: the batch CRC
    is checked, so a byte out of place would be CORRUPT_MESSAGE."""
    s = connect()
    errors = []
    for corr in (1, 2):
        value = bytes((corr * 7 + i * 13) & 0xff for i in range(900 * 1024))
        req = request(0, 3, corr, produce_body('hostile', record_batch([value])))
        if corr == 1:
            s.sendall(req)
        else:
            for a, b in ((0, 2), (2, 5000), (5000, len(req))):
                s.sendall(req[a:b])
        errors.append(produce_error(read_response(s)))
    return errors == [0, 0]


def invalid_topic_produce():
    s = connect()
    s.sendall(request(0, 3, 1, produce_body('bad/name', record_batch([b'x']))))
    return produce_error(read_response(s)) == 17  # INVALID_TOPIC_EXCEPTION


def invalid_topic_metadata():
    s = connect()
    s.sendall(request(3, 1, 1, struct.pack('>i', 1) + string('bad name')))
    resp = read_response(s)
    off = 4
    (nb,) = struct.unpack_from('>i', resp, off)
    off += 4
    for _ in range(nb):
        off += 4
        (hl,) = struct.unpack_from('>h', resp, off)
        off += 2 + hl + 4
        (rl,) = struct.unpack_from('>h', resp, off)
        off += 2 + max(rl, 0)
    off += 4 + 4  # controller id, topic count
    (err,) = struct.unpack_from('>h', resp, off)
    return err == 17


def invalid_topic_create():
    s = connect()
    body = struct.pack('>i', 1) + string('..') + struct.pack('>ihii', 1, 1, 0, 0)
    s.sendall(request(19, 0, 1, body + struct.pack('>i', 1000)))
    resp = read_response(s)
    (nl,) = struct.unpack_from('>h', resp, 8)
    (err,) = struct.unpack_from('>h', resp, 10 + nl)
    return err == 17


def create_many_partitions():
    """CreateTopics v0 of 600 partitions, then on the same
    connection Metadata v0 for that topic: the control producer keeps producing
    while the topic is made (the event loop is not the one making it), and the
    Metadata answer, to a request sent behind the create, sees every partition."""
    s = connect()
    name = 'wide-topic'
    body = struct.pack('>i', 1) + string(name) + struct.pack('>ihii', 600, 1, 0, 0)
    meta = struct.pack('>i', 1) + string(name)
    s.sendall(request(19, 0, 1, body + struct.pack('>i', 60000)) + request(3, 0, 2, meta))
    before = control.count()
    sent = time.monotonic()
    create = read_response(s)
    took = time.monotonic() - sent
    during = control.count() - before
    metadata = read_response(s)
    (nl,) = struct.unpack_from('>h', create, 8)
    (err,) = struct.unpack_from('>h', create, 10 + nl)
    print(f'# 600 partitions created in {took * 1000:.0f} ms; '
          f'{during} control produces meanwhile', flush=True)
    # Metadata v0: brokers (id, host, port), then topics (error, name, partitions)
    off = 4
    (nb,) = struct.unpack_from('>i', metadata, off)
    off += 4
    for _ in range(nb):
        (hl,) = struct.unpack_from('>h', metadata, off + 4)
        off += 4 + 2 + hl + 4
    off += 4  # topic count
    (terr, tl) = struct.unpack_from('>hh', metadata, off)
    (parts,) = struct.unpack_from('>i', metadata, off + 4 + tl)
    # the control client's cycle is a produce, a fetch and 10 ms of rest: a creation
    # shorter than a few cycles (a topic is one metadata file until its partitions
    # are first used) cannot show others served meanwhile; a longer one must
    served = during > 0 or took < 0.1
    return err == 0 and terr == 0 and parts == 600 and served


def garbage_stream():
    s = connect()  # a valid size followed by bytes that decode to nothing sensible
    s.sendall(struct.pack('>i', 64) + bytes(range(64)))
    return closed_by_peer(s)


case('a negative frame size closes the connection', frame_negative)
case('a frame above socket.request.max.bytes closes the connection', frame_too_large)
case('an unknown api key closes the connection', unknown_api)
case('an unsupported version closes the connection', unsupported_version)
case('ApiVersions at an unknown version gets UNSUPPORTED_VERSION in v0', api_versions_too_new)
case('an array count of -1 closes the connection', array_count_minus_one)
case('an array count of INT32_MAX closes it without allocating for it', array_count_huge)
case('a string longer than the frame closes the connection', string_length_huge)
case('a truncated body closes the connection', truncated_body)
case('a 6-byte varint closes the connection', six_byte_varint)
case('a batch with a bad CRC gets CORRUPT_MESSAGE', bad_crc)
case('an oversized batch gets MESSAGE_TOO_LARGE', too_large)
case('900 KiB requests, in one write or split mid-prefix, are stored intact', large_requests)
case('producing to an invalid topic name gets INVALID_TOPIC_EXCEPTION', invalid_topic_produce)
case('metadata for an invalid topic name gets INVALID_TOPIC_EXCEPTION', invalid_topic_metadata)
case('CreateTopics with an invalid name gets INVALID_TOPIC_EXCEPTION', invalid_topic_create)
case('a frame of garbage closes the connection', garbage_stream)
case('a CreateTopics of 600 partitions: others are served meanwhile, and a request '
     'behind it on its connection sees the topic', create_many_partitions)

control.stop.set()
control.join(30)
result(not control.errors, f'the control producer never failed ({control.ok} produced, '
       f'errors: {control.errors[:5]})')
sys.exit(1 if failures else 0)
