#!/usr/bin/env python3
"""Topic configurations against a live brookd: every Kafka 4 topic key accepted,
LogAppendTime, timestamp bounds, compression.type, min.insync.replicas, and
IncrementalAlterConfigs / AlterConfigs for topics and the broker.

Runs in two phases around a restart of brookd, then hostile cases under tests/guard.py:
  topic_configs.py HOST:PORT DATA_DIR before   creates, produces, alters, checks
  topic_configs.py HOST:PORT DATA_DIR after    checks what the alterations left
  topic_configs.py HOST:PORT DATA_DIR hostile PID LOG
Prints "ok - ..." / "not ok - ..." lines. Needs Debian's python3 (kafka-python).
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import (Reader, array, compact_array, compact_string, connect,  # noqa: E402
                       crc32c, produce_body, read_response, request, string, uvarint, varint)
import tap  # noqa: E402
from tap import check  # noqa: E402

HOST, PORT = sys.argv[1].rsplit(':', 1)
PORT = int(PORT)
DATA, PHASE = sys.argv[2], sys.argv[3]
TOPIC, BROKER = 2, 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
NONE, INVALID_CONFIG, INVALID_REQUEST, UNKNOWN_TOPIC = 0, 40, 42, 3
INVALID_TIMESTAMP, NOT_ENOUGH_REPLICAS = 32, 19
DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT = 1, 2, 3

# Every topic key of Kafka 4 (and message.downconversion.enable, which older tools
# still send), each with a value Kafka accepts.
KAFKA4_KEYS = {
    'cleanup.policy': 'compact,delete', 'compression.gzip.level': '5',
    'compression.lz4.level': '9', 'compression.type': 'lz4', 'compression.zstd.level': '3',
    'delete.retention.ms': '86400000', 'file.delete.delay.ms': '60000',
    'flush.messages': '1000', 'flush.ms': '1000',
    'follower.replication.throttled.replicas': '0:0,1:0', 'index.interval.bytes': '4096',
    'leader.replication.throttled.replicas': '*', 'local.retention.bytes': '-2',
    'local.retention.ms': '-2', 'max.compaction.lag.ms': '86400000',
    'max.message.bytes': '2000000', 'message.downconversion.enable': 'true',
    'message.timestamp.after.max.ms': '3600000', 'message.timestamp.before.max.ms': '86400000',
    'message.timestamp.type': 'LogAppendTime', 'min.cleanable.dirty.ratio': '0.3',
    'min.compaction.lag.ms': '1000', 'min.insync.replicas': '1', 'preallocate': 'false',
    'remote.log.copy.disable': 'false', 'remote.log.delete.on.disable': 'false',
    'remote.storage.enable': 'false', 'retention.bytes': '-1', 'retention.ms': '604800000',
    'segment.bytes': '1073741824', 'segment.index.bytes': '10485760',
    'segment.jitter.ms': '1000', 'segment.ms': '604800000',
    'unclean.leader.election.enable': 'false',
}


def call(api, version, body, flexible=False):
    """One request on a fresh connection (header v2 when flexible); the raw answer."""
    s = connect(HOST, PORT)
    s.settimeout(60)
    s.sendall(request(api, version, 7, body, 'topic_configs', flexible))
    resp = read_response(s)
    s.close()
    return resp


def create(name, configs):
    """CreateTopics v0 of one partition; the error code and message-less answer."""
    cfg = array([string(k) + string(v) for k, v in configs.items()])
    body = array([string(name) + struct.pack('>ihi', 1, 1, 0) + cfg]) + struct.pack('>i', 60000)
    resp = call(19, 0, body)
    (nl,) = struct.unpack_from('>h', resp, 8)
    return struct.unpack_from('>h', resp, 10 + nl)[0]


def batch(values, ts, attributes=0):
    """A RecordBatch v2 of null-keyed records, every one at timestamp ts."""
    recs = b''
    for i, v in enumerate(values):
        body = b'\x00' + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = struct.pack('>hiqqqhii', attributes, len(values) - 1, ts, ts, -1, -1, -1,
                            len(values)) + recs
    rest = struct.pack('>ibI', -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack('>qi', 0, len(rest)) + rest


def produce(topic, data, acks=1):
    """Produce v3: (error, base offset, log append time)."""
    resp = call(0, 3, produce_body(topic, data, acks))
    off = 8
    (n,) = struct.unpack_from('>h', resp, off)
    off += 2 + n + 4
    _, err, base, lat = struct.unpack_from('>ihqq', resp, off)
    return err, base, lat


def fetch_batches(topic, offset=0):
    """Fetch v4 from partition 0: the raw batches."""
    body = struct.pack('>iiiib', -1, 100, 1, 1 << 20, 0) + \
        array([string(topic) + array([struct.pack('>iqi', 0, offset, 1 << 20)])])
    r = Reader(call(1, 4, body), False, 4)
    r.take('>i')
    r.take('>i')
    r.string()
    r.take('>i')
    _, err, _hw, _lso = r.take('>ihqq')
    n = r.take('>i')
    r.off += max(n, 0) * 16
    size = r.take('>i')
    data, out = r.buf[r.off:r.off + size], []
    while len(data) >= 12:
        (blen,) = struct.unpack_from('>i', data, 8)
        if len(data) < 12 + blen:
            break
        out.append(data[:12 + blen])
        data = data[12 + blen:]
    return err, out


def batch_fields(b):
    attrs, = struct.unpack_from('>h', b, 21)
    base_ts, max_ts = struct.unpack_from('>qq', b, 27)
    crc, = struct.unpack_from('>I', b, 17)
    return {'attrs': attrs, 'base_ts': base_ts, 'max_ts': max_ts,
            'crc_ok': crc == crc32c(b[21:])}


def segment_batches(topic):
    with open(os.path.join(DATA, f'{topic}-0', '0' * 20 + '.log'), 'rb') as f:
        data = f.read()
    out = []
    while len(data) >= 12:
        (blen,) = struct.unpack_from('>i', data, 8)
        out.append(data[:12 + blen])
        data = data[12 + blen:]
    return out


def alter_inc(resources, validate_only=False, version=0):
    """IncrementalAlterConfigs: resources [(type, name, [(key, op, value)])] ->
    [(error, message, type, name)]."""
    if version == 0:
        body = array([struct.pack('>b', t) + string(n) + array(
            [string(k) + struct.pack('>b', op) + string(v) for k, op, v in cfgs])
            for t, n, cfgs in resources]) + struct.pack('>?', validate_only)
    else:
        cs, carr = compact_string, compact_array
        body = carr([struct.pack('>b', t) + cs(n) + carr(
            [cs(k) + struct.pack('>b', op) + cs(v) + b'\x00' for k, op, v in cfgs]) + b'\x00'
            for t, n, cfgs in resources]) + struct.pack('>?', validate_only) + b'\x00'
    resp = call(44, version, body, flexible=version >= 1)
    r = Reader(resp, version >= 1, 4)
    out = []
    if version == 0:
        r.take('>i')
        for _ in range(r.take('>i')):
            out.append((r.take('>h'), r.string(), r.take('>b'), r.string()))
    else:
        r.uvarint()  # response header tagged fields
        r.take('>i')
        for _ in range(r.uvarint() - 1):
            out.append((r.take('>h'), r.string(), r.take('>b'), r.string()))
            r.uvarint()
    return out


def describe(rtype, name):
    """DescribeConfigs v1 with synonyms: {key: (value, source, read_only, synonyms)}."""
    body = array([struct.pack('>b', rtype) + string(name) + struct.pack('>i', -1)]) + b'\x01'
    r = Reader(call(32, 1, body), False, 4)
    r.take('>i')
    r.take('>i')
    err = r.take('>h')
    r.string()
    r.take('>b')
    r.string()
    out = {}
    for _ in range(r.take('>i')):
        k, v = r.string(), r.string()
        ro, src, _sens = r.take('>?b?')
        syn = [(r.string(), r.string(), r.take('>b')) for _ in range(r.take('>i'))]
        out[k] = (v, src, ro, syn)
    return err, out


def describe_v4(rtype, name):
    """DescribeConfigs v4 (flexible) with synonyms: {key: (value, source, type)}."""
    body = uvarint(2) + struct.pack('>b', rtype) + compact_string(name) + b'\x00' + b'\x00' + \
        struct.pack('>??', True, True) + b'\x00'
    r = Reader(call(32, 4, body, flexible=True), True, 4)
    r.uvarint()
    r.take('>i')
    r.uvarint()
    err = r.take('>h')
    r.string()
    r.take('>b')
    r.string()
    out = {}
    for _ in range(r.uvarint() - 1):
        k, v = r.string(), r.string()
        _ro, src, _sens = r.take('>?b?')
        for _ in range(r.uvarint() - 1):
            r.string(), r.string(), r.take('>b'), r.uvarint()
        ctype = r.take('>b')
        r.string()
        r.uvarint()
        out[k] = (v, src, ctype)
    r.uvarint()
    r.uvarint()
    return err, out, r.off == len(r.buf)


def log_start(topic):
    """ListOffsets v1, earliest, partition 0."""
    body = struct.pack('>i', -1) + array([string(topic) + array([struct.pack('>iq', 0, -2)])])
    r = Reader(call(2, 1, body), False, 4)
    r.take('>i')
    r.string()
    r.take('>i')
    _, err, _ts, off = r.take('>ihqq')
    return off


def wait_until(cond, secs=20):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if cond():
            return True
        s = connect(HOST, PORT)  # a bounded wait on the broker, not a sleep
        s.settimeout(0.05)
        try:
            s.recv(1)
        except OSError:
            pass
        s.close()
    return cond()


def phase_before():
    now = int(time.time() * 1000)

    # every key Kafka 4 defines, at once
    check('topic_configs: CreateTopics accepts every Kafka 4 topic key',
          create('every-key', KAFKA4_KEYS) == NONE)
    err, cfg = describe(TOPIC, 'every-key')
    check('topic_configs: DescribeConfigs lists every Kafka 4 key with the value set',
          err == 0 and all(cfg.get(k, (None,))[0] == v for k, v in KAFKA4_KEYS.items()),
          {k: cfg.get(k) for k, v in KAFKA4_KEYS.items() if cfg.get(k, (None,))[0] != v})
    check('topic_configs: remote.storage.enable=true is INVALID_CONFIG (no tiered storage)',
          create('remote', {'remote.storage.enable': 'true'}) == INVALID_CONFIG)
    check('topic_configs: a bad value of a no-op key is still refused',
          create('bad-noop', {'preallocate': 'maybe'}) == INVALID_CONFIG and
          create('bad-noop', {'leader.replication.throttled.replicas': 'x:y'}) ==
          INVALID_CONFIG)

    # min.insync.replicas above 1: created, but acks=all cannot be met
    check('topic_configs: min.insync.replicas=2 is accepted at creation, as Kafka does',
          create('isr2', {'min.insync.replicas': '2'}) == NONE)
    check('topic_configs: acks=all to it gets NOT_ENOUGH_REPLICAS, acks=1 is appended',
          produce('isr2', batch([b'a'], now), acks=-1)[0] == NOT_ENOUGH_REPLICAS and
          produce('isr2', batch([b'a'], now), acks=1)[0] == NONE)

    # LogAppendTime: the broker's clock in maxTimestamp, bit 3 set, CRC recomputed
    create('lat', {'message.timestamp.type': 'LogAppendTime'})
    t0 = int(time.time() * 1000)
    err, base, lat = produce('lat', batch([b'one', b'two'], 1000))
    t1 = int(time.time() * 1000)
    check('topic_configs: LogAppendTime: Produce answers the append time',
          err == 0 and t0 <= lat <= t1, (err, lat, t0, t1))
    err, got = fetch_batches('lat')
    f = batch_fields(got[0]) if got else {}
    check('topic_configs: LogAppendTime: the fetched batch has bit 3, maxTimestamp = append '
          'time, baseTimestamp kept, a valid CRC',
          err == 0 and f.get('attrs', 0) & 0x08 and f['max_ts'] == lat and
          f['base_ts'] == 1000 and f['crc_ok'], f)
    disk = batch_fields(segment_batches('lat')[0])
    check('topic_configs: LogAppendTime: the segment file holds the stamped batch',
          disk['attrs'] & 0x08 and disk['max_ts'] == lat and disk['crc_ok'], disk)
    check('topic_configs: CreateTime topics answer log_append_time -1',
          produce('isr2', batch([b'b'], now))[2] == -1)

    # timestamp bounds
    create('bounded', {'message.timestamp.before.max.ms': '3600000',
                       'message.timestamp.after.max.ms': '60000'})
    check('topic_configs: a record older than message.timestamp.before.max.ms is '
          'INVALID_TIMESTAMP', produce('bounded', batch([b'old'], now - 7200000))[0] ==
          INVALID_TIMESTAMP)
    check('topic_configs: a record further ahead than message.timestamp.after.max.ms is '
          'INVALID_TIMESTAMP', produce('bounded', batch([b'new'], now + 600000))[0] ==
          INVALID_TIMESTAMP)
    check('topic_configs: a record within both bounds is appended',
          produce('bounded', batch([b'fine'], now))[0] == NONE)

    # compression.type: uncompressed batches stored recompressed
    for codec, name in ((4, 'zstd'), (1, 'gzip'), (3, 'lz4'), (2, 'snappy')):
        create(f'z-{name}', {'compression.type': name})
        ok = all(produce(f'z-{name}', batch([b'value-%d-%d' % (i, j) for j in range(50)],
                                            now))[0] == 0 for i in range(4))
        disk = [batch_fields(b) for b in segment_batches(f'z-{name}')]
        err, got = fetch_batches(f'z-{name}')
        check(f'topic_configs: compression.type={name}: uncompressed batches are stored and '
              f'fetched as {name}',
              ok and len(disk) == 4 and all(d['attrs'] & 7 == codec and d['crc_ok']
                                            for d in disk) and
              len(got) == 4 and all(batch_fields(b)['attrs'] & 7 == codec for b in got), disk)
    create('z-none', {'compression.type': 'uncompressed'})
    err, _, _ = produce('z-none', batch([b'a', b'b'], now, attributes=0))
    check('topic_configs: compression.type=uncompressed keeps uncompressed batches as they are',
          err == 0 and batch_fields(segment_batches('z-none')[0])['attrs'] & 7 == 0)
    from kafka import KafkaConsumer
    c = KafkaConsumer('z-zstd', bootstrap_servers=f'{HOST}:{PORT}', auto_offset_reset='earliest',
                      consumer_timeout_ms=10000, enable_auto_commit=False)
    vals = [m.value for m in c]
    c.close()
    check('topic_configs: kafka-python reads the recompressed zstd topic',
          vals == [b'value-%d-%d' % (i, j) for i in range(4) for j in range(50)], len(vals))

    # IncrementalAlterConfigs on a topic
    create('alt', {'retention.ms': '100000'})
    create('ck-alt', {})  # for confluent-kafka's alter_configs
    r = alter_inc([(TOPIC, 'alt', [('retention.ms', SET, '1234')])], validate_only=True)
    check('topic_configs: IncrementalAlterConfigs validate_only answers without changing',
          r == [(0, None, TOPIC, 'alt')] and describe(TOPIC, 'alt')[1]['retention.ms'][0] ==
          '100000', r)
    r = alter_inc([(TOPIC, 'alt', [('retention.ms', SET, '1234'),
                                   ('cleanup.policy', APPEND, 'compact')])])
    err, cfg = describe(TOPIC, 'alt')
    check('topic_configs: IncrementalAlterConfigs v0 SET and APPEND apply',
          r == [(0, None, TOPIC, 'alt')] and cfg['retention.ms'][:2] == ('1234', DYNAMIC_TOPIC)
          and cfg['cleanup.policy'][0] == 'delete,compact', (r, cfg.get('cleanup.policy')))
    r = alter_inc([(TOPIC, 'alt', [('cleanup.policy', SUBTRACT, 'delete')])], version=1)
    check('topic_configs: IncrementalAlterConfigs v1 (flexible) SUBTRACT applies',
          r == [(0, None, TOPIC, 'alt')] and
          describe(TOPIC, 'alt')[1]['cleanup.policy'][0] == 'compact', r)
    r = alter_inc([(TOPIC, 'alt', [('retention.ms', APPEND, '5')]),
                   (TOPIC, 'alt2', [('no.such.key', SET, '1')]),
                   (TOPIC, 'missing', [('retention.ms', SET, '1')]),
                   (TOPIC, 'every-key', [('retention.ms', SET, 'soon')]),
                   (TOPIC, 'isr2', [('retention.ms', SET, '1'), ('retention.ms', DELETE, None)]),
                   (TOPIC, '__consumer_offsets', [('cleanup.policy', SET, 'delete')])])
    codes = [x[0] for x in r]
    check('topic_configs: refusals: APPEND to a non-list, an unknown key, an unknown topic, a '
          'bad value, a key twice, __consumer_offsets uncompacted',
          codes == [INVALID_CONFIG, INVALID_CONFIG, UNKNOWN_TOPIC, INVALID_CONFIG,
                    INVALID_REQUEST, INVALID_CONFIG] and all(x[1] for x in r), r)
    check('topic_configs: a refused alteration changes nothing',
          describe(TOPIC, 'every-key')[1]['retention.ms'][0] == '604800000' and
          describe(TOPIC, 'alt')[1]['retention.ms'][0] == '1234')

    # retention.ms altered live: the next retention pass deletes old segments
    create('ret', {'internal.segment.bytes': '1024', 'retention.ms': '-1'})
    for i in range(8):
        produce('ret', batch([b'x' * 300] * 3, now - 3600000))
    first = log_start('ret')
    r = alter_inc([(TOPIC, 'ret', [('retention.ms', SET, '60000')])])
    check('topic_configs: retention.ms altered live is applied by the next retention pass',
          first == 0 and r[0][0] == 0 and wait_until(lambda: log_start('ret') > 0),
          (first, r, log_start('ret')))

    err, cfg, whole = describe_v4(TOPIC, 'alt')
    check('topic_configs: DescribeConfigs v4 (flexible) answers the altered topic',
          err == 0 and whole and cfg['retention.ms'] == ('1234', DYNAMIC_TOPIC, 5) and
          len(cfg) == len(KAFKA4_KEYS), (err, whole, cfg.get('retention.ms'), len(cfg)))

    # the broker's dynamic keys
    r = alter_inc([(BROKER, '', [('log.retention.ms', SET, '7777777')])])
    err, cfg = describe(TOPIC, 'bounded')
    check('topic_configs: a dynamic broker key changes the default of every topic',
          r[0][0] == 0 and cfg['retention.ms'][0] == '7777777' and
          cfg['retention.ms'][3][0] == ('log.retention.ms', '7777777', DYNAMIC_DEFAULT), cfg.get(
              'retention.ms'))
    err, br = describe(BROKER, '0')
    check('topic_configs: DescribeConfigs of the broker shows it as DYNAMIC_BROKER_CONFIG',
          br['log.retention.ms'][:3] == ('7777777', DYNAMIC_BROKER, False), br['log.retention.ms'])
    r = alter_inc([(BROKER, '0', [('log.dirs', SET, '/elsewhere')]),
                   (BROKER, '9', [('log.retention.ms', SET, '1')]),
                   (BROKER, '', [('log.segment.bytes', SET, '12')])])
    check('topic_configs: the broker refuses a static key (INVALID_REQUEST), another id, a bad '
          'value (INVALID_CONFIG)',
          [x[0] for x in r] == [INVALID_REQUEST, INVALID_REQUEST, INVALID_CONFIG], r)

    # AlterConfigs (33) through kafka-python: replaces a topic's overrides
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=f'{HOST}:{PORT}')
    resp = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'alt',
                                           configs={'retention.ms': '5555'})])
    a.close()
    err, cfg = describe(TOPIC, 'alt')
    check('topic_configs: kafka-python alter_configs (AlterConfigs) replaces the overrides',
          resp.resources[0][0] == 0 and cfg['retention.ms'][:2] == ('5555', DYNAMIC_TOPIC) and
          cfg['cleanup.policy'][1] != DYNAMIC_TOPIC, resp)


def phase_after():
    err, cfg = describe(TOPIC, 'alt')
    check('topic_configs: an altered topic config survives a restart',
          cfg['retention.ms'][:2] == ('5555', DYNAMIC_TOPIC), cfg.get('retention.ms'))
    err, cfg = describe(TOPIC, 'bounded')
    check('topic_configs: a dynamic broker key survives a restart',
          cfg['retention.ms'][0] == '7777777', cfg.get('retention.ms'))
    err, got = fetch_batches('lat')
    check('topic_configs: LogAppendTime batches read back stamped after a restart',
          got and batch_fields(got[0])['attrs'] & 0x08 and batch_fields(got[0])['crc_ok'])


def phase_hostile(pid, log):
    from guard import Guard
    g = Guard(HOST, PORT, pid, log, rss_bound_mib=256)
    create('hostile', {})

    def many_unknown():
        r = alter_inc([(TOPIC, 'hostile', [(f'no.such.key.{i}', SET, '1')
                                           for i in range(300000)])])
        return [x[0] for x in r] == [INVALID_CONFIG]
    g.case('topic_configs: 300 000 unknown keys in one resource are refused at the first',
           many_unknown)

    def big_value():  # the longest a Kafka string may be: 32 767 bytes
        r = alter_inc([(TOPIC, 'hostile', [('cleanup.policy', SET, 'x' * 32767)])])
        return [x[0] for x in r] == [INVALID_CONFIG] and 'too long' in r[0][1]
    g.case('topic_configs: a 32 KiB value is refused (values stop at 4 KiB)', big_value)

    def many_resources():
        r = alter_inc([(TOPIC, f'none-{i}', [('retention.ms', SET, '1')])
                       for i in range(100000)])
        return len(r) == 100000 and all(x[0] == UNKNOWN_TOPIC for x in r)
    g.case('topic_configs: 100 000 unknown topics in one request are each answered',
           many_resources)

    def altered_in_a_loop():
        for i in range(1000):
            if alter_inc([(TOPIC, 'hostile', [('retention.ms', SET, str(100000 + i))])]) != \
                    [(0, None, TOPIC, 'hostile')]:
                return False
        return describe(TOPIC, 'hostile')[1]['retention.ms'][0] == '100999'
    g.case('topic_configs: 1 000 alterations in a row, each applied, the log held to its rate',
           altered_in_a_loop)
    return g.finish()


if PHASE == 'before':
    phase_before()
elif PHASE == 'after':
    phase_after()
else:
    tap.failed += phase_hostile(int(sys.argv[4]), sys.argv[5])
sys.exit(tap.exit_status())
