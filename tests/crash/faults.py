#!/usr/bin/env python3
"""faults.py - the client side of the fault tests (tests/crash/faults.sh, fuse_faults.sh).

  faults.py produce BROKER TOPIC PART ACKS VALUE...  one Produce v3 of a batch with the
                                                     values (raw wire): prints its error code
  faults.py create BROKER TOPIC KEY=VALUE...         CreateTopics (kafka-python), one partition,
                                                     with those topic configs
  faults.py consume BROKER TOPIC PART                kafka-python consumer from the log start
                                                     to the high watermark: one value a line
  faults.py segcheck DIR                             every DIR/*.log is whole RecordBatch v2
                                                     batches with good CRCs to its last byte:
                                                     prints the number of records
  faults.py append PATH DATA                         open(O_APPEND), write, close: prints OK,
                                                     or write:ERRNO / close:ERRNO

Every network wait is bounded.
"""
import errno
import glob
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import kafkawire  # noqa: E402


def split(broker):
    host, port = broker.rsplit(':', 1)
    return host, int(port)


def produce(broker, topic, part, acks, values):
    p = kafkawire.Producer(*split(broker))
    print(p.send(topic, [v.encode() for v in values], partition=int(part), acks=int(acks)))
    p.close()


def create(broker, topic, configs):
    from kafka.admin import KafkaAdminClient, NewTopic
    a = KafkaAdminClient(bootstrap_servers=broker, request_timeout_ms=10000)
    a.create_topics([NewTopic(topic, 1, 1, topic_configs=dict(c.split('=', 1) for c in configs))])
    a.close()


def consume(broker, topic, part):
    from kafka import KafkaConsumer, TopicPartition
    tp = TopicPartition(topic, int(part))
    c = KafkaConsumer(bootstrap_servers=broker, group_id=None, enable_auto_commit=False,
                      request_timeout_ms=10000)
    c.assign([tp])
    c.seek_to_beginning(tp)
    end = c.end_offsets([tp])[tp]
    deadline = time.monotonic() + 20
    while c.position(tp) < end and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=500).values():
            for r in records:
                print(r.value.decode())
    at = c.position(tp)
    c.close()
    if at < end:
        sys.exit(f'consume: stopped at offset {at} of {end}')


def segcheck(d):
    records = 0
    for path in sorted(glob.glob(os.path.join(d, '*.log'))):
        data = open(path, 'rb').read()
        off = 0
        while off < len(data):
            if len(data) - off < 61:
                sys.exit(f'{path}: {len(data) - off} stray bytes at {off}')
            length, = struct.unpack_from('>i', data, off + 8)
            magic = data[off + 16]
            crc, = struct.unpack_from('>I', data, off + 17)
            end = off + 12 + length
            if magic != 2 or length < 49 or end > len(data):
                sys.exit(f'{path}: no whole batch at {off}')
            if kafkawire.crc32c(data[off + 21:end]) != crc:
                sys.exit(f'{path}: bad CRC in the batch at {off}')
            records += struct.unpack_from('>i', data, off + 57)[0]
            off = end
    print(records)


def append(path, data):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as e:
        print('open:' + errno.errorcode.get(e.errno, str(e.errno)))
        return
    where = 'write'
    try:
        os.write(fd, data.encode().decode('unicode_escape').encode('latin-1'))
        where = 'close'
        os.close(fd)
        print('OK')
    except OSError as e:
        if where == 'write':
            try:
                os.close(fd)
            except OSError:
                pass
        print(where + ':' + errno.errorcode.get(e.errno, str(e.errno)))


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == 'produce':
        produce(args[0], args[1], args[2], args[3], args[4:])
    elif cmd == 'create':
        create(args[0], args[1], args[2:])
    elif cmd == 'consume':
        consume(*args)
    elif cmd == 'segcheck':
        segcheck(*args)
    elif cmd == 'append':
        append(*args)
    else:
        sys.exit(f'unknown command {cmd}')


if __name__ == '__main__':
    main(sys.argv)
