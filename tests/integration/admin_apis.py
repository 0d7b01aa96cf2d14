#!/usr/bin/env python3
"""The admin APIs at Kafka 4.0's versions against a live brookd, from hand-built
frames: Metadata v8-12 (topic ids, requests by id, authorized operations),
CreateTopics v5-7, DeleteTopics v6, CreatePartitions v3, ApiVersions v4,
DescribeCluster, DescribeTopicPartitions (paging), DescribeLogDirs,
OffsetForLeaderEpoch, ElectLeaders, ListPartitionReassignments and
DescribeProducers. Each answer is checked field by field against what Kafka
answers a client on a single-node cluster.

usage: admin_apis.py HOST:PORT DATA_DIR
"""
import base64
import os
import struct
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import (Conn, Producer, Reader, array, compact_array,  # noqa: E402
                       compact_string, crc32c, string, tags, varint)
import tap  # noqa: E402
from tap import check  # noqa: E402

HOST, PORT = sys.argv[1].rsplit(':', 1)
PORT = int(PORT)
DATA = sys.argv[2]
TOPIC_OPS = 3576     # READ..DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
CLUSTER_OPS = 8096   # CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, *_CONFIGS, IDEMPOTENT_WRITE
INT32_MIN = -2147483648
ZERO = bytes(16)


# ---- flexible encoding ------------------------------------------------------------

cstr, carr = compact_string, compact_array  # most bodies here are flexible
TAGS = tags()  # no tagged fields


def exchange(api, version, body, flexible=True):
    """One request on a fresh connection (header v2 when flexible): a Reader of the
    answer after its header, or None when brookd closed the connection."""
    conn = Conn(HOST, PORT, 'admin_apis')
    try:
        return conn.call(api, version, body, flexible)
    except EOFError:
        return None
    finally:
        conn.close()


# ---- the APIs ---------------------------------------------------------------------

def metadata(version, topics, auto=False, topic_ops=False, cluster_ops=False):
    """Metadata v9+; topics: None (all) or [(name or None, id bytes)]."""
    items = None if topics is None else [
        (tid if version >= 10 else b'') + cstr(name) + TAGS for name, tid in topics]
    body = carr(items) + struct.pack('>?', auto)
    if version <= 10:
        body += struct.pack('>?', cluster_ops)
    body += struct.pack('>?', topic_ops) + TAGS
    r = exchange(3, version, body)
    out = {'throttle': r.i32()}

    def broker(r):
        b = (r.i32(), r.string(), r.i32(), r.string())
        r.tags()
        return b

    def partition(r):
        p = {'error': r.i16(), 'index': r.i32(), 'leader': r.i32(), 'epoch': r.i32(),
             'replicas': r.array(Reader.i32), 'isr': r.array(Reader.i32),
             'offline': r.array(Reader.i32)}
        r.tags()
        return p

    def topic(r):
        t = {'error': r.i16(), 'name': r.string()}
        t['id'] = r.uuid() if version >= 10 else None
        t['internal'] = r.take('>?')
        t['partitions'] = r.array(partition)
        t['ops'] = r.i32()
        r.tags()
        return t

    out['brokers'] = r.array(broker)
    out['cluster_id'] = r.string()
    out['controller'] = r.i32()
    out['topics'] = r.array(topic)
    out['cluster_ops'] = r.i32() if version <= 10 else None
    return out


def create_topics(version, topics, validate=False):
    """CreateTopics v5+: topics [(name, partitions, {config: value})]."""
    items = [cstr(n) + struct.pack('>ih', p, -1) + carr([]) +
             carr([cstr(k) + cstr(v) + TAGS for k, v in cfg.items()]) + TAGS
             for n, p, cfg in topics]
    r = exchange(19, version, carr(items) + struct.pack('>i?', 30000, validate) + TAGS)
    r.i32()

    def config(r):
        c = {'name': r.string(), 'value': r.string(), 'read_only': r.take('>?'),
             'source': r.i8(), 'sensitive': r.take('>?')}
        r.tags()
        return c

    def topic(r):
        t = {'name': r.string()}
        t['id'] = r.uuid() if version >= 7 else None
        t['error'] = r.i16()
        t['message'] = r.string()
        t['partitions'] = r.i32()
        t['rf'] = r.i16()
        t['configs'] = r.array(config)
        r.tags()
        return t
    return r.array(topic)


def delete_topics_v6(entries):
    """entries [(name or None, id)] -> [(name, id, error, message)]."""
    body = carr([cstr(n) + tid + TAGS for n, tid in entries]) + struct.pack('>i', 30000) + TAGS
    r = exchange(20, 6, body)
    r.i32()

    def result(r):
        x = (r.string(), r.uuid(), r.i16(), r.string())
        r.tags()
        return x
    return r.array(result)


def create_topic(name, partitions, cfg=None):
    t = create_topics(7, [(name, partitions, cfg or {})])[0]
    assert t['error'] in (0, 36), t
    return t


def describe_cluster(version, ops=False, endpoint=1):
    body = struct.pack('>?', ops) + (struct.pack('>b', endpoint) if version >= 1 else b'') + TAGS
    r = exchange(60, version, body)
    out = {'throttle': r.i32(), 'error': r.i16(), 'message': r.string()}
    out['endpoint'] = r.i8() if version >= 1 else None
    out['cluster_id'] = r.string()
    out['controller'] = r.i32()

    def broker(r):
        b = (r.i32(), r.string(), r.i32(), r.string())
        r.tags()
        return b
    out['brokers'] = r.array(broker)
    out['ops'] = r.i32()
    return out


def dtp(names, limit=2000, cursor=None):
    """DescribeTopicPartitions: (topics, next cursor)."""
    body = carr([cstr(n) + TAGS for n in names]) + struct.pack('>i', limit)
    body += (b'\x01' + cstr(cursor[0]) + struct.pack('>i', cursor[1]) + TAGS) if cursor else b'\xff'
    r = exchange(75, 0, body + TAGS)
    r.i32()

    def partition(r):
        p = {'error': r.i16(), 'index': r.i32(), 'leader': r.i32(), 'epoch': r.i32(),
             'replicas': r.array(Reader.i32), 'isr': r.array(Reader.i32),
             'elr': r.array(Reader.i32), 'last_elr': r.array(Reader.i32),
             'offline': r.array(Reader.i32)}
        r.tags()
        return p

    def topic(r):
        t = {'error': r.i16(), 'name': r.string(), 'id': r.uuid(), 'internal': r.take('>?'),
             'partitions': r.array(partition), 'ops': r.i32()}
        r.tags()
        return t
    topics = r.array(topic)
    nxt = None
    if r.take('>b') == 1:
        nxt = (r.string(), r.i32())
        r.tags()
    return topics, nxt


def log_dirs(version, topics):
    """DescribeLogDirs: topics None or [(name, [partitions])]."""
    flex = version >= 2
    items = None if topics is None else [
        string(n, flex) + array([struct.pack('>i', p) for p in ps], flex) + tags(flex)
        for n, ps in topics]
    r = exchange(35, version, array(items, flex) + tags(flex), flexible=flex)
    r.i32()
    top = r.i16() if version >= 3 else 0
    s_, arr = r.string, r.array

    def partition(r):
        p = (r.i32(), r.i64(), r.i64(), r.take('>?'))
        r.tags()
        return p

    def topic(r):
        t = (s_(), arr(partition))
        r.tags()
        return t

    def result(r):
        x = {'error': r.i16(), 'dir': s_(), 'topics': arr(topic)}
        if version >= 4:
            x['total'], x['usable'] = r.i64(), r.i64()
        r.tags()
        return x
    return top, arr(result)


def offset_for_epoch(version, topic, parts):
    """OffsetForLeaderEpoch; parts [(partition, current epoch, epoch)] ->
    [(error, partition, epoch, end offset)]."""
    flex = version >= 4
    items = []
    for p, cur, ep in parts:
        items.append(struct.pack('>i', p) + (struct.pack('>i', cur) if version >= 2 else b'') +
                     struct.pack('>i', ep) + tags(flex))
    body = (struct.pack('>i', -1) if version >= 3 else b'') + \
        array([string(topic, flex) + array(items, flex) + tags(flex)], flex) + tags(flex)
    r = exchange(23, version, body, flexible=flex)
    if version >= 2:
        r.i32()

    def part(r):
        x = (r.i16(), r.i32(), r.i32() if version >= 1 else None, r.i64())
        r.tags()
        return x

    def top(r):
        x = (r.string(), r.array(part))
        r.tags()
        return x
    return r.array(top)[0][1]


def elect(version, topics, etype=0):
    flex = version >= 2
    tp = None if topics is None else [
        string(n, flex) + array([struct.pack('>i', p) for p in ps], flex) + tags(flex)
        for n, ps in topics]
    body = (struct.pack('>b', etype) if version >= 1 else b'') + array(tp, flex) + \
        struct.pack('>i', 1000)
    r = exchange(43, version, body + tags(flex), flexible=flex)
    r.i32()
    top = r.i16() if version >= 1 else 0

    def part(r):
        x = (r.i32(), r.i16(), r.string())
        r.tags()
        return x

    def res(r):
        x = (r.string(), r.array(part))
        r.tags()
        return x
    return top, r.array(res)


def reassignments(topics):
    tp = None if topics is None else [
        cstr(n) + carr([struct.pack('>i', p) for p in ps]) + TAGS for n, ps in topics]
    r = exchange(46, 0, struct.pack('>i', 1000) + carr(tp) + TAGS)
    r.i32()
    err, msg = r.i16(), r.string()
    return err, msg, r.array(lambda r: r.string())


def describe_producers(topic, parts):
    body = carr([cstr(topic) + carr([struct.pack('>i', p) for p in parts]) + TAGS]) + TAGS
    r = exchange(61, 0, body)
    r.i32()

    def state(r):
        x = dict(zip(('pid', 'epoch', 'last_seq', 'last_ts', 'coord_epoch', 'txn_start'),
                     (r.i64(), r.i32(), r.i32(), r.i64(), r.i32(), r.i64())))
        r.tags()
        return x

    def part(r):
        x = {'index': r.i32(), 'error': r.i16(), 'message': r.string(), 'producers': r.array(state)}
        r.tags()
        return x

    def top(r):
        x = (r.string(), r.array(part))
        r.tags()
        return x
    return r.array(top)[0][1]


def idempotent_batch(pid, epoch, seq, n):
    """A RecordBatch v2 of n records from producer pid."""
    recs = b''
    for i in range(n):
        body = b'\x00' + varint(0) + varint(i) + varint(-1) + varint(1) + b'x' + varint(0)
        recs += varint(len(body)) + body
    after_crc = struct.pack('>hiqqqhii', 0, n - 1, 0, 0, pid, epoch, seq, n) + recs
    rest = struct.pack('>ibI', -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack('>qi', 0, len(rest)) + rest


def produce_raw(topic, batch, partition=0):
    body = (string(None) + struct.pack('>hi', -1, 10000) + struct.pack('>i', 1) + string(topic) +
            struct.pack('>i', 1) + struct.pack('>ii', partition, len(batch)) + batch)
    r = exchange(0, 3, body, flexible=False)
    r.i32()
    r.string()
    r.i32()
    return r.take('>ih')[1]


# ---- the cases --------------------------------------------------------------------

def test_api_versions():
    r = exchange(18, 4, cstr('admin_apis') + cstr('1') + TAGS)
    err = r.i16()

    def key(r):
        k = (r.i16(), r.i16(), r.i16())
        r.tags()
        return k
    keys = {k: (lo, hi) for k, lo, hi in r.array(key)}
    check('ApiVersions v4 is answered', err == 0, f'error {err}')
    want = {3: 12, 19: 7, 20: 6, 37: 3, 18: 4, 23: 4, 35: 4, 43: 2, 46: 0, 60: 1, 61: 0, 75: 0}
    got = {k: keys.get(k, (None, None))[1] for k in want}
    check('ApiVersions v4 advertises the admin APIs at Kafka 4.0\'s versions', got == want,
          f'{got}')


def test_metadata():
    created = create_topic('md', 3)
    tid = created['id']
    check('CreateTopics v7 answers a topic id', tid != ZERO and created['error'] in (0, 36))
    m = metadata(12, [('md', ZERO)])
    t = m['topics'][0]
    check('Metadata v12 by name: the topic with its id', t['error'] == 0 and t['id'] == tid and
          t['name'] == 'md' and len(t['partitions']) == 3, f'{t}')
    check('Metadata v12: leader epoch 0, this node as leader, replica and ISR',
          all(p['epoch'] == 0 and p['replicas'] == [p['leader']] == p['isr'] and
              p['offline'] == [] for p in t['partitions']))
    check('Metadata v12: authorized operations not asked for are INT32_MIN',
          t['ops'] == INT32_MIN, f"{t['ops']}")
    p = Producer(HOST, PORT)  # a partition's directory is made at its first use
    check('Produce to md-2 (which makes its directory)', p.send('md', [b'x'], partition=2) == 0)
    p.close()
    with open(os.path.join(DATA, 'md-2', 'partition.metadata')) as f:
        meta = f.read()
    want = base64.urlsafe_b64encode(tid).decode().rstrip('=')
    check('partition.metadata names the id Metadata answers, as Kafka writes it',
          meta == f'version: 0\ntopic_id: {want}\n', repr(meta))
    m = metadata(12, [(None, tid), (None, tid)], topic_ops=True)
    check('Metadata v12 by id: the topic, once, with its name',
          len(m['topics']) == 1 and m['topics'][0]['name'] == 'md' and
          m['topics'][0]['id'] == tid and m['topics'][0]['error'] == 0, f"{m['topics']}")
    check('Metadata v12: topic authorized operations asked for are every topic operation',
          m['topics'][0]['ops'] == TOPIC_OPS, f"{m['topics'][0]['ops']}")
    unknown = uuid.uuid4().bytes
    m = metadata(12, [(None, unknown)], auto=True)
    t = m['topics'][0]
    check('Metadata v12: an unknown id is UNKNOWN_TOPIC_ID with a null name',
          t['error'] == 100 and t['name'] is None and t['id'] == unknown and
          t['ops'] == INT32_MIN and metadata(12, [('md-x', ZERO)])['topics'][0]['error'] == 3,
          f'{t}')
    m = metadata(11, [('md', tid)])
    check('Metadata v11 with a topic id is INVALID_REQUEST',
          m['topics'][0]['error'] == 42, f"{m['topics']}")
    m = metadata(10, [('md', ZERO)], topic_ops=True, cluster_ops=True)
    check('Metadata v10: cluster authorized operations asked for',
          m['cluster_ops'] == CLUSTER_OPS and m['topics'][0]['ops'] == TOPIC_OPS and
          m['topics'][0]['id'] == tid, f"{m['cluster_ops']}")
    m = metadata(9, [('md', ZERO)])
    check('Metadata v9: no cluster operations unless asked', m['cluster_ops'] == INT32_MIN)
    m = metadata(12, [('md-auto', ZERO)], auto=True)
    t = m['topics'][0]
    check('Metadata v12 by name still auto-creates', t['error'] == 0 and t['id'] != ZERO and
          len(t['partitions']) > 0, f'{t}')
    m = metadata(12, None)
    names = {t['name']: t['id'] for t in m['topics']}
    check('Metadata v12, every topic: ids included', names.get('md') == tid)


def test_create_delete():
    t = create_topics(7, [('cfg', 2, {'retention.ms': '12345'})])[0]
    cfg = {c['name']: c for c in t['configs'] or []}
    check('CreateTopics v7: partitions, replication factor, id, a null message',
          t['error'] == 0 and t['message'] is None and t['partitions'] == 2 and t['rf'] == 1 and t['id'] != ZERO, f'{t}')
    check('CreateTopics v7: an override is listed as DYNAMIC_TOPIC_CONFIG',
          cfg.get('retention.ms', {}).get('value') == '12345' and
          cfg['retention.ms']['source'] == 1, f"{cfg.get('retention.ms')}")
    check('CreateTopics v7: a key set by no one is DEFAULT_CONFIG',
          cfg.get('cleanup.policy', {}).get('source') == 5 and
          cfg['cleanup.policy']['value'] == 'delete', f"{cfg.get('cleanup.policy')}")
    check('CreateTopics v7: log.segment.bytes given to the broker is STATIC_BROKER_CONFIG',
          cfg.get('segment.bytes', {}).get('source') == 4 and
          cfg['segment.bytes']['value'] == '2097152', f"{cfg.get('segment.bytes')}")
    again = create_topics(7, [('cfg', 2, {})])[0]
    check('CreateTopics v7: an existing topic is TOPIC_ALREADY_EXISTS, no configs',
          again['error'] == 36 and again['configs'] is None and again['partitions'] == -1,
          f'{again}')
    v = create_topics(5, [('validated', 4, {})], validate=True)[0]
    check('CreateTopics v5 validate_only: counts and configs, nothing created',
          v['error'] == 0 and v['partitions'] == 4 and v['configs'] and
          metadata(12, [('validated', ZERO)])['topics'][0]['error'] == 3, f'{v}')
    # DeleteTopics v6 by id, by name, and Kafka's INVALID_REQUEST cases
    d1 = create_topic('del-id', 1)['id']
    create_topic('del-name', 1)
    unknown = uuid.uuid4().bytes
    res = delete_topics_v6([(None, d1), ('del-name', ZERO), (None, unknown),
                            ('cfg', t['id']), (None, ZERO)])
    check('DeleteTopics v6 by id: deleted, answered with its name',
          res[0][:3] == ('del-id', d1, 0), f'{res[0]}')
    check('DeleteTopics v6 by name, a null message',
          res[1][0] == 'del-name' and res[1][2] == 0 and res[1][3] is None, f'{res[1]}')
    check('DeleteTopics v6: an unknown id is UNKNOWN_TOPIC_ID', res[2][2] == 100, f'{res[2]}')
    check('DeleteTopics v6: both name and id is INVALID_REQUEST', res[3][2] == 42, f'{res[3]}')
    check('DeleteTopics v6: neither is INVALID_REQUEST', res[4][2] == 42, f'{res[4]}')
    gone = [metadata(12, [q])['topics'][0]['error']
            for q in ((None, d1), ('del-name', ZERO), ('cfg', ZERO))]
    check('DeleteTopics v6: the deleted topics are gone, the refused one is not',
          gone == [100, 3, 0], f'{gone}')
    m = metadata(12, [(None, t['id']), ('pb', ZERO)])['topics']
    check('Metadata v12 naming ids and names answers the ids alone, as Kafka',
          [(x['name'], x['error']) for x in m] == [('cfg', 0)], f'{m}')
    res = delete_topics_v6([('__consumer_offsets', ZERO)])
    check('DeleteTopics v6: __consumer_offsets is refused with a message',
          res[0][2] == 42 and res[0][3], f'{res}')
    # a topic named twice in one request: answered once, INVALID_REQUEST, untouched
    res = create_topics(7, [('twice', 1, {}), ('once', 1, {}), ('twice', 2, {})])
    check('CreateTopics: a name given twice is one INVALID_REQUEST and is not created',
          [(x['name'], x['error']) for x in res] == [('twice', 42), ('once', 0)] and
          metadata(12, [('twice', ZERO)])['topics'][0]['error'] == 3, f'{res}')
    once = metadata(12, [('once', ZERO)])['topics'][0]['id']
    res = delete_topics_v6([('once', ZERO), ('once', ZERO), (None, once), (None, once)])
    check('DeleteTopics: a name or id given twice is one INVALID_REQUEST, nothing deleted',
          [(x[0], x[2], x[3]) for x in res] == [
              ('once', 42, 'Duplicate topic name.'), (None, 42, 'Duplicate topic id.')] and
          metadata(12, [('once', ZERO)])['topics'][0]['error'] == 0, f'{res}')
    # CreatePartitions v3 (flexible)
    body = carr([cstr('cfg') + struct.pack('>i', 5) + b'\x00' + TAGS]) + \
        struct.pack('>i?', 30000, False) + TAGS
    r = exchange(37, 3, body)
    r.i32()
    res = r.array(lambda r: (r.string(), r.i16(), r.string(), r.tags()))
    check('CreatePartitions v3 grows a topic',
          res[0][1] == 0 and res[0][2] is None and len(metadata(12, [('cfg', ZERO)])['topics'][0]['partitions']) == 5,
          f'{res}')


def test_describe_cluster():
    for v in (0, 1):
        c = describe_cluster(v)
        check(f'DescribeCluster v{v}: this broker, the cluster id, a controller',
              c['error'] == 0 and len(c['brokers']) == 1 and c['brokers'][0][2] == PORT and
              c['cluster_id'] and c['controller'] == c['brokers'][0][0] and
              c['ops'] == INT32_MIN, f'{c}')
    c = describe_cluster(1, ops=True)
    check('DescribeCluster: cluster authorized operations asked for', c['ops'] == CLUSTER_OPS)
    c = describe_cluster(1, endpoint=2)
    check('DescribeCluster v1: controllers asked of a broker is MISMATCHED_ENDPOINT_TYPE',
          c['error'] == 114 and c['brokers'] == [] and c['endpoint'] == 1 and
          c['message'] == 'The request was sent to an endpoint of type BROKER, but we wanted '
          'an endpoint of type CONTROLLER', f'{c}')
    c = describe_cluster(1, endpoint=7)
    check('DescribeCluster v1: an unknown endpoint type is UNSUPPORTED_ENDPOINT_TYPE',
          c['error'] == 115 and c['message'] == 'Unsupported endpoint type 7', f'{c}')


def test_describe_topic_partitions():
    create_topic('pa', 5)
    create_topic('pb', 3)
    topics, nxt = dtp(['pb', 'pa', 'pa'], limit=4)
    check('DescribeTopicPartitions: names in order, each once, the limit kept',
          [t['name'] for t in topics] == ['pa'] and len(topics[0]['partitions']) == 4 and
          nxt == ('pa', 4), f'{topics} {nxt}')
    t = topics[0]
    check('DescribeTopicPartitions: ids, operations, empty ELR lists',
          t['id'] == metadata(12, [('pa', ZERO)])['topics'][0]['id'] and t['ops'] == TOPIC_OPS and
          all(p['elr'] == [] and p['last_elr'] == [] and p['epoch'] == 0
              for p in t['partitions']), f'{t}')
    topics, nxt = dtp(['pb', 'pa'], limit=4, cursor=nxt)
    check('DescribeTopicPartitions: the next page from the cursor',
          [(t['name'], [p['index'] for p in t['partitions']]) for t in topics] ==
          [('pa', [4]), ('pb', [0, 1, 2])] and nxt is None, f'{topics} {nxt}')
    topics, nxt = dtp(['pa', 'pb'], limit=5)
    check('DescribeTopicPartitions: a limit that ends with a topic points at the next one',
          [t['name'] for t in topics] == ['pa'] and nxt == ('pb', 0), f'{nxt}')
    topics, nxt = dtp(['pa'], limit=0)
    check('DescribeTopicPartitions: a limit below 1 counts as 1',
          len(topics[0]['partitions']) == 1 and nxt == ('pa', 1), f'{nxt}')
    topics, _ = dtp(['nope', 'bad/name', 'pb'])
    check('DescribeTopicPartitions: unknown and invalid names get their errors',
          [(t['name'], t['error']) for t in topics] ==
          [('bad/name', 17), ('nope', 3), ('pb', 0)], f'{topics}')
    topics, _ = dtp(['pa'], cursor=('pb', 0))
    check('DescribeTopicPartitions: a cursor topic not named is INVALID_REQUEST',
          [t['error'] for t in topics] == [42], f'{topics}')
    topics, _ = dtp([], cursor=('pa', -1))
    check('DescribeTopicPartitions: a negative cursor partition is INVALID_REQUEST',
          topics == [], f'{topics}')
    topics, nxt = dtp([], limit=2000, cursor=('pb', 2))
    check('DescribeTopicPartitions, every topic from a cursor',
          topics[0]['name'] == 'pb' and [p['index'] for p in topics[0]['partitions']] == [2] and
          all(t['name'] >= 'pb' for t in topics), f'{[t["name"] for t in topics]}')
    topics, nxt = dtp([], limit=1, cursor=('pa', 5))
    check('DescribeTopicPartitions, every topic, limit 1 past the cursor topic\'s end',
          [(t['name'], len(t['partitions'])) for t in topics] == [('pa', 0), ('pb', 1)] and
          nxt == ('pb', 1), f'{topics} {nxt}')
    create_topic('wide', 2100)
    topics, nxt = dtp(['wide'], limit=100000)
    check('DescribeTopicPartitions: at most 2000 partitions per answer',
          len(topics[0]['partitions']) == 2000 and nxt == ('wide', 2000), f'{nxt}')


def test_log_dirs():
    create_topic('ld', 2)
    p = Producer(HOST, PORT)
    assert p.send('ld', [b'y' * 100] * 10) == 0
    p.close()
    real = os.path.realpath(DATA)
    for v in (0, 1, 2, 3, 4):
        top, res = log_dirs(v, [('ld', [0, 0, 1, 7]), ('ld', [1]), ('nope', [0])])
        ok = top == 0 and len(res) == 1 and res[0]['error'] == 0 and res[0]['dir'] == real
        topics = res[0]['topics'] if ok else []
        ok = ok and len(topics) == 1 and topics[0][0] == 'ld' and \
            [x[0] for x in topics[0][1]] == [0, 1] and topics[0][1][0][1] > 1000 and \
            topics[0][1][1][1] == 0 and all(x[2] == 0 and not x[3] for x in topics[0][1])
        if v >= 4:
            ok = ok and res[0]['total'] > 0 and 0 <= res[0]['usable'] <= res[0]['total']
        check(f'DescribeLogDirs v{v}: the log dir, each named partition once, sizes', ok,
              f'{top} {res}')
    top, res = log_dirs(4, None)
    names = {t[0]: len(t[1]) for t in res[0]['topics']}
    check('DescribeLogDirs v4, every partition', names.get('ld') == 2 and names.get('md') == 3,
          f'{names}')


def test_offset_for_leader_epoch():
    create_topic('ep', 2)
    p = Producer(HOST, PORT)
    assert p.send('ep', [b'a'] * 7) == 0
    p.close()
    for v in (0, 1, 2, 3, 4):
        res = offset_for_epoch(v, 'ep', [(0, 0, 0), (1, 0, 0), (9, 0, 0)])
        want = [(0, 0, 0 if v >= 1 else None, 7), (0, 1, 0 if v >= 1 else None, 0),
                (3, 9, -1 if v >= 1 else None, -1)]
        check(f'OffsetForLeaderEpoch v{v}: epoch 0 ends at the log end', res == want, f'{res}')
    res = offset_for_epoch(4, 'ep', [(0, -1, 1), (0, 1, 0), (0, -5, 0), (0, -1, -3)])
    check('OffsetForLeaderEpoch: a later epoch is unknown (-1, -1)', res[0] == (0, 0, -1, -1),
          f'{res[0]}')
    check('OffsetForLeaderEpoch: a current epoch ahead is UNKNOWN_LEADER_EPOCH',
          res[1][0] == 75, f'{res[1]}')
    check('OffsetForLeaderEpoch: a current epoch behind is FENCED_LEADER_EPOCH',
          res[2][0] == 74, f'{res[2]}')
    check('OffsetForLeaderEpoch: an epoch before the first ends where epoch 0 starts',
          res[3] == (0, 0, -3, 0), f'{res[3]}')
    res = offset_for_epoch(4, 'nope', [(0, -1, 0)])
    check('OffsetForLeaderEpoch: an unknown topic', res[0][0] == 3, f'{res}')


def test_elect_and_reassign():
    create_topic('el', 2)
    for v in (0, 1, 2):
        top, res = elect(v, [('el', [0, 1, 5]), ('nope', [0])])
        errs = [(r[0], [(p[0], p[1]) for p in r[1]]) for r in res]
        check(f'ElectLeaders v{v}: ELECTION_NOT_NEEDED, unknown partitions and topics',
              top == 0 and errs == [('el', [(0, 84), (1, 84), (5, 3)]), ('nope', [(0, 3)])],
              f'{top} {errs}')
    top, res = elect(2, None)
    check('ElectLeaders v2, every partition: none needs an election', top == 0 and res == [],
          f'{res}')
    top, res = elect(2, [('el', [0])], etype=1)
    check('ElectLeaders v2 unclean: not needed either', res[0][1][0][1] == 84, f'{res}')
    top, res = elect(2, [('el', [0])], etype=5)
    check('ElectLeaders v2: an unknown election type is INVALID_REQUEST, as Kafka answers it',
          top == 42 and res[0][1][0][1:] == (42, 'Unknown election type 5'), f'{top} {res}')
    top, res = elect(1, [('el', [7]), ('nope', [0])])
    check('ElectLeaders: Kafka\'s messages for unknown partitions and topics',
          [p[2] for r in res for p in r[1]] == ['No such partition as el-7',
                                                 'No such topic as nope'], f'{res}')
    check('ListPartitionReassignments, every topic: none',
          reassignments(None) == (0, None, []))
    check('ListPartitionReassignments, named and unknown topics: none',
          reassignments([('el', [0, 1]), ('nope', [0])]) == (0, None, []))


def test_describe_producers():
    create_topic('pr', 2)
    assert produce_raw('pr', idempotent_batch(4242, 3, 0, 5)) == 0
    assert produce_raw('pr', idempotent_batch(4242, 3, 5, 2)) == 0
    assert produce_raw('pr', idempotent_batch(77, 0, 0, 1)) == 0
    res = describe_producers('pr', [0, 1, 9])
    got = sorted((s['pid'], s['epoch'], s['last_seq'], s['last_ts'], s['coord_epoch'],
                  s['txn_start']) for s in res[0]['producers'])
    check('DescribeProducers: the idempotent producers of a partition',
          res[0]['error'] == 0 and got == [(77, 0, 0, -1, -1, -1), (4242, 3, 6, -1, -1, -1)],
          f'{res[0]}')
    check('DescribeProducers: a partition without producers', res[1]['producers'] == [] and
          res[1]['error'] == 0)
    check('DescribeProducers: an unknown partition', res[2]['error'] == 3, f'{res[2]}')
    check('DescribeProducers: an unknown topic', describe_producers('nope', [0])[0]['error'] == 3)


def delete_records(version, topic, partition, offset):
    """DeleteRecords of one partition: (low_watermark, error_code)."""
    flex = version >= 2
    part = struct.pack('>iq', partition, offset) + tags(flex)
    body = array([string(topic, flex) + array([part], flex) + tags(flex)], flex) + \
        struct.pack('>i', 10000) + tags(flex)
    r = exchange(21, version, body, flexible=flex)
    r.i32()  # throttle
    def one_part(r):
        v = (r.i32(), r.i64(), r.i16())
        r.tags()
        return v
    def one_topic(r):
        name = r.string()
        parts = r.array(one_part)
        r.tags()
        return name, parts
    topics = r.array(one_topic)
    _, parts = topics[0]
    return parts[0][1], parts[0][2]


def test_delete_records():
    create_topic('dr', 1)
    produce_raw('dr', idempotent_batch(-1, -1, -1, 6))
    check('DeleteRecords v2 (flexible) moves the log start',
          delete_records(2, 'dr', 0, 3) == (3, 0), f'{delete_records(2, "dr", 0, 3)}')
    check('DeleteRecords v1 moves it further', delete_records(1, 'dr', 0, 4) == (4, 0))
    check('DeleteRecords v2 past the high watermark is OFFSET_OUT_OF_RANGE',
          delete_records(2, 'dr', 0, 7)[1] == 1)
    check('DeleteRecords v2 of an unknown partition is UNKNOWN_TOPIC_OR_PARTITION',
          delete_records(2, 'dr', 5, 1)[1] == 3)


def main():
    for fn in (test_api_versions, test_delete_records, test_metadata, test_create_delete, test_describe_cluster,
               test_describe_topic_partitions, test_log_dirs, test_offset_for_leader_epoch,
               test_elect_and_reassign, test_describe_producers):
        try:
            fn()
        except Exception as e:  # a malformed answer or a closed connection
            check(f'{fn.__name__} runs to the end', False, repr(e))
    return tap.exit_status()


sys.exit(main())
