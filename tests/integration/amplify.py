#!/usr/bin/env python3
"""The response-amplification pass: for each API brook serves, the request that
asks for the most response per request byte, against a live brookd under Guard.

Each case is answered within the response limit (RESPONSE_MAX_BYTES, 95 MiB,
broker/private.h; a Fetch's records within fetch.max.bytes) or refused by closing
the connection, as Kafka does for a request it cannot answer. Meanwhile Guard's
control client must keep producing and fetching, brookd's peak RSS must stay
under RSS_BOUND_MIB and its log must grow by a few lines per second at most.

Request sizes: repeated-item requests are about FRAME bytes (the ratio, not the
size, is what each case is about; FRAME already asks every handler for far more
than the limit); the group cases use the sizes that used to take brookd down.
The group APIs' cases can each take brookd down where groups are not yet
bounded; amplify.sh runs each of them against a brookd of its own, so that one
failure does not hide the others.

usage: amplify.py HOST:PORT BROOKD_PID BROOKD_LOG [CASE...]
       amplify.py --list core|groups     (the case names, one per line)
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from guard import Guard  # noqa: E402
from kafkawire import (Producer, TooLarge, array, bytes_, compact_string, connect,  # noqa: E402
                       crc32c, create_topic, join_group_v0, metadata_body, metadata_topics,
                       read_response, repeated, request, request_flexible, send_big, string,
                       sync_group_v0, uvarint, varint)

FRAME = 32 << 20
RESPONSE_MAX = 95 << 20  # RESPONSE_MAX_BYTES
FETCH_MAX = 57671680  # fetch.max.bytes (Kafka's default)
# brookd idles near 10 MiB; a FRAME request decodes into at most 16 times its size
# (the decoder's arena limit: 512 MiB, which 16 M two-byte names come near) and a
# response is refused before it passes RESPONSE_MAX. Measured peaks: 343 MiB
# (DeleteTopics, 16 M names decoded) and 341 MiB (ListGroups over 98 000 groups with
# 700-byte ids), under 200 MiB for every other case. An ASan build needs about twice
# that (559 MiB after the earlier cases in the same brookd; 771 MiB for ListGroups).
RSS_BOUND_MIB = 512 * (2 if os.environ.get('AMPLIFY_SANITIZED') == '1' else 1)
TOPIC = 'amp'
PARTS = 200
GROUP_CASES = ['offset_commit', 'offset_fetch', 'join_group', 'heartbeat', 'leave_group',
               'sync_group', 'describe_groups', 'list_groups', 'delete_groups']
HOST, PORT, PID, LOG = None, 0, 0, None


def exchange(name, api, version, body, answer=False, limit=RESPONSE_MAX + (1 << 20),
             flexible=False):
    """Send one request; good when it is answered within limit, or refused (closed)
    unless answer is set. Prints the sizes."""
    frame = (request_flexible if flexible else request)(api, version, 7, body)
    try:
        resp = send_big(HOST, PORT, frame, limit=limit)
    except TooLarge as e:
        print(f'# {name}: request {len(frame)} B -> {e}, above {limit} B', flush=True)
        return False
    if resp is None:
        print(f'# {name}: request {len(frame)} B -> connection closed', flush=True)
        return not answer
    print(f'# {name}: request {len(frame)} B -> response {len(resp)} B '
          f'({len(resp) / len(frame):.2f} per request byte)', flush=True)
    return struct.unpack_from('>i', resp, 0)[0] == 7 and len(resp) <= limit


def one_topic(name, items):
    """A non-flexible topic array of one topic with the given encoded partitions."""
    return struct.pack('>i', 1) + string(name) + items


def setup():
    """The topics the cases name: a wide one with 1 MiB in partition 0, and a few more."""
    assert create_topic(HOST, PORT, TOPIC, PARTS) in (0, 36)
    assert create_topic(HOST, PORT, 'ampdr', 1) in (0, 36)
    for i in range(20):
        create_topic(HOST, PORT, f'amp-{i}', 10)
    producer = Producer(HOST, PORT)
    for _ in range(64):  # 1 MiB in partition 0, for Fetch
        assert producer.send(TOPIC, [b'v' * 1000] * 16) == 0
    producer.close()


# ---- the cases, in api key order ---------------------------------------------------

def produce():
    item = struct.pack('>ii', 0, -1)  # partition 0, null records: CORRUPT_MESSAGE each
    body = string(None) + struct.pack('>hi', 1, 10000) + one_topic(
        TOPIC, repeated(item, FRAME // len(item)))
    return exchange('Produce', 0, 7, body)


def fetch_body(n):
    item = struct.pack('>iiqqi', 0, -1, 0, -1, 1 << 20)
    return (struct.pack('>iiiibii', -1, 0, 1, 0x7FFFFFFF, 0, 0, -1) +
            one_topic(TOPIC, repeated(item, n)) + struct.pack('>i', 0) + string(''))


def fetch():
    # partition 0 (1 MiB) named 2000 times, 1 MiB each: records capped by fetch.max.bytes
    return exchange('Fetch', 1, 11, fetch_body(2000), answer=True,
                    limit=FETCH_MAX + (1 << 20))


def fetch_many():
    return exchange('Fetch, many partitions', 1, 11, fetch_body(FRAME // 28))


def list_offsets():
    item = struct.pack('>iq', 0, -1)
    body = struct.pack('>ib', -1, 0) + one_topic(TOPIC, repeated(item, FRAME // len(item)))
    return exchange('ListOffsets', 2, 3, body)


def metadata_all():
    frame = request(3, 4, 7, metadata_body(None))
    resp = send_big(HOST, PORT, frame)
    topics = metadata_topics(resp) if resp else []
    print(f'# Metadata (every topic): request {len(frame)} B -> response '
          f'{len(resp) if resp else 0} B, {len(topics)} topics', flush=True)
    return (0, TOPIC, PARTS) in topics


def metadata_distinct():
    names = [f'missing-{i}' for i in range(FRAME // 16)]  # distinct, not auto-created
    return exchange('Metadata, distinct unknown names', 3, 4, metadata_body(names))


def commit_body(group, metadata, n):
    item = struct.pack('>iq', 0, 1) + string(metadata)
    return (string(group) + struct.pack('>i', -1) + string('') + struct.pack('>q', -1) +
            one_topic(TOPIC, repeated(item, n)))


def offset_commit():
    return exchange('OffsetCommit', 8, 2, commit_body('ampg', '', 100000))


def offset_fetch():
    # a commit with 4 KiB of metadata, then that partition named 20 000 times
    if not exchange('OffsetCommit with 4 KiB metadata', 8, 2, commit_body('ampf', 'm' * 4096, 1),
                    answer=True):
        return False
    body = string('ampf') + one_topic(TOPIC, repeated(struct.pack('>i', 0), 20000))
    return exchange('OffsetFetch', 9, 5, body)


def find_coordinator():
    return exchange('FindCoordinator', 10, 2, string('g' * 32767) + b'\x00', answer=True)


def offset_fetch_groups():
    # OffsetFetch v8: a group with 200 committed partitions (100 bytes of metadata
    # each) named 4.8 M times, every offset of it each time (7 request bytes per group)
    commit = commit_body('ampo', 'm' * 100, 0)[:-4] + struct.pack('>i', PARTS) + b''.join(
        struct.pack('>iq', p, p) + string('m' * 100) for p in range(PARTS))
    if not exchange('OffsetCommit of 200 partitions', 8, 2, commit, answer=True):
        return False
    group = compact_string('ampo') + b'\x00\x00'  # id, null topics, tags
    body = uvarint(FRAME // len(group) + 1) + group * (FRAME // len(group)) + b'\x00\x00'
    return exchange('OffsetFetch v8, many groups', 9, 8, body, flexible=True)


def find_coordinator_keys():
    # FindCoordinator v4: 5.6 M keys, 'a' and the empty key in turn (INVALID_REQUEST
    # with a message): 22 response bytes per request byte. A quarter FRAME keeps the
    # decoded keys (16 bytes each) well within the decoder's limit.
    pairs = FRAME // 4 // 3
    body = b'\x00' + uvarint(2 * pairs + 1) + b'\x02a\x01' * pairs + b'\x00'
    return exchange('FindCoordinator v4, many keys', 10, 4, body, flexible=True)


def offset_delete():
    # OffsetDelete: one committed partition named 8 M times (6 response bytes for
    # each 4 of the request; one tombstone)
    if not exchange('OffsetCommit', 8, 2, commit_body('ampd', '', 1), answer=True):
        return False
    body = string('ampd') + one_topic(TOPIC, repeated(struct.pack('>i', 0), FRAME // 4))
    return exchange('OffsetDelete', 47, 0, body)


def join_group():
    body = (string('ampj') + struct.pack('>ii', 30000, 30000) + string('') + string('consumer') +
            array([string('range') + bytes_(b'j' * (65 << 20))]))
    return exchange('JoinGroup 65 MiB metadata', 11, 1, body)


def heartbeat():
    body = string('h' * 32767) + struct.pack('>i', 1) + string('m' * 32767)
    return exchange('Heartbeat', 12, 0, body, answer=True)


def leave_group():
    item = string('') + string(None)
    return exchange('LeaveGroup', 13, 3, string('ampl') + repeated(item, FRAME // len(item)))


def sync_group():
    # the leader of a one-member group assigns itself 16 MiB: the most it gets back
    s = connect(HOST, PORT)
    joined = join_group_v0(s, 'amps', b'meta')
    if not joined or joined[0] != 0:
        print(f'# SyncGroup: join answered {joined}', flush=True)
        s.close()
        return False
    _, gen, _, member = joined
    resp = sync_group_v0(s, 'amps', gen, member, b'a' * (16 << 20))
    s.close()
    print(f'# SyncGroup: 16 MiB assignment -> response {len(resp) if resp else 0} B', flush=True)
    return resp is None or len(resp) <= RESPONSE_MAX + (1 << 20)


def describe_groups():
    # a member with 1 MiB of metadata, and the group named 80 times
    s = connect(HOST, PORT)
    joined = join_group_v0(s, 'ampd', b'd' * (1 << 20))
    good = False
    if joined and joined[0] == 0:
        sync_group_v0(s, 'ampd', joined[1], joined[3], b'x')
        good = exchange('DescribeGroups x80', 15, 0, repeated(string('ampd'), 80))
    else:
        print(f'# DescribeGroups: join answered {joined}', flush=True)
    s.close()
    return good


def list_groups():
    # ~98 000 groups with 700-byte ids (committed offsets), then one ListGroups
    s = connect(HOST, PORT)
    s.settimeout(120)
    n, window = 98000, 100
    for start in range(0, n, window):
        end = min(start + window, n)
        s.sendall(b''.join(request(8, 2, i, commit_body(f'{i:08d}' + 'g' * 692, '', 1))
                           for i in range(start, end)))
        for i in range(start, end):
            if read_response(s) is None:
                print(f'# ListGroups: commit {i} closed the connection', flush=True)
                s.close()
                return False
    s.close()
    return exchange('ListGroups after 98000 groups', 16, 0, b'')


def sasl_handshake():
    return exchange('SaslHandshake', 17, 1, string('M' * 32767), answer=True)


def api_versions():
    # the longest legal client name: strings end at 32767 bytes
    body = compact_string('c' * 32767) + compact_string('1') + b'\x00'
    return exchange('ApiVersions', 18, 3, body, answer=True)


def create_topics():
    item = string('') + struct.pack('>ihii', 1, 1, 0, 0)  # an invalid name each
    body = repeated(item, FRAME // len(item)) + struct.pack('>ib', 1000, 1)
    return exchange('CreateTopics', 19, 4, body)


def delete_topics():
    body = repeated(string(''), FRAME // 2) + struct.pack('>i', 1000)
    return exchange('DeleteTopics', 20, 3, body)


def delete_records():
    item = struct.pack('>iq', 0, 0)
    body = one_topic('ampdr', repeated(item, FRAME // len(item))) + struct.pack('>i', 1000)
    return exchange('DeleteRecords', 21, 1, body)


def init_producer_id():
    return exchange('InitProducerId', 22, 1, string(None) + struct.pack('>i', 1000), answer=True)


def describe_configs():
    # every topic and the broker (by id and as defaults), each once, with synonyms
    frame = request(3, 4, 7, metadata_body(None))
    names = [t[1] for t in metadata_topics(send_big(HOST, PORT, frame))]
    res = [struct.pack('>b', 4) + string(b) + struct.pack('>i', -1) for b in ('', '0')]
    res += [struct.pack('>b', 2) + string(n) + struct.pack('>i', -1) for n in names]
    return exchange('DescribeConfigs', 32, 1, array(res) + b'\x01', answer=True)


def sasl_authenticate():
    return exchange('SaslAuthenticate', 36, 1, bytes_(b's' * FRAME), answer=True)


def create_partitions():
    item = string('') + struct.pack('>ii', 2, -1)
    body = repeated(item, FRAME // len(item)) + struct.pack('>ib', 1000, 1)
    return exchange('CreatePartitions', 37, 1, body)


def delete_groups():
    return exchange('DeleteGroups', 42, 1, repeated(string(''), FRAME // 2))


# ---- the admin APIs at their flexible versions ----

def flex_repeated(item, n):
    """A compact array of n copies of one encoded item."""
    return uvarint(n + 1) + item * n


def one_topic_flex(name, items):
    """A compact topic array of one topic with the given compact partition array."""
    return b'\x02' + compact_string(name) + items + b'\x00'


def metadata_ids():
    n = FRAME // 18  # an unknown id, a null name and no tags each
    ids = os.urandom(16 * n)
    body = uvarint(n + 1) + b''.join(ids[i:i + 16] + b'\x00\x00' for i in range(0, 16 * n, 16))
    return exchange('Metadata v12, distinct unknown ids', 3, 12, body + b'\x00\x00\x00',
                    flexible=True)


def metadata_id_repeated():
    # the 200-partition topic's id named 1.8 M times: answered once, as Kafka's set
    by_name = b'\x02' + bytes(16) + compact_string(TOPIC) + b'\x00' + b'\x00\x00\x00'
    resp = send_big(HOST, PORT, request_flexible(3, 12, 7, by_name))
    off = 4 + 1 + 4  # correlation id, header tags, throttle
    nb = resp[off] - 1
    off += 1
    for _ in range(nb):  # node id, host, port, rack, tags
        off += 4
        off += resp[off] + 4  # compact host (short), port
        off += max(resp[off], 1) + 1  # rack (null: 0), tags
    off += resp[off]  # cluster id
    off += 4 + 1 + 2  # controller, topics count, error code
    off += resp[off]  # name
    tid = resp[off:off + 16]
    n = FRAME // 18
    body = uvarint(n + 1) + (tid + b'\x00\x00') * n + b'\x00\x00\x00'
    return exchange('Metadata v12, one id named 1.8 M times', 3, 12, body, answer=True,
                    limit=1 << 20, flexible=True)


def offset_for_leader_epoch():
    item = struct.pack('>iii', 0, -1, 0) + b'\x00'
    body = struct.pack('>i', -1) + one_topic_flex(TOPIC, flex_repeated(item, FRAME // len(item)))
    return exchange('OffsetForLeaderEpoch v4', 23, 4, body + b'\x00', flexible=True)


def describe_log_dirs():
    # the 200-partition topic named 8000 times with every partition: answered once
    parts = b''.join(struct.pack('>i', p) for p in range(PARTS))
    item = compact_string(TOPIC) + uvarint(PARTS + 1) + parts + b'\x00'
    body = flex_repeated(item, FRAME // len(item) // 4)
    return exchange('DescribeLogDirs v4', 35, 4, body + b'\x00', answer=True, flexible=True)


def elect_leaders():
    body = b'\x00' + one_topic_flex(TOPIC, flex_repeated(struct.pack('>i', 0), FRAME // 4))
    return exchange('ElectLeaders v2', 43, 2, body + struct.pack('>i', 1000) + b'\x00',
                    flexible=True)


def list_partition_reassignments():
    body = struct.pack('>i', 1000) + one_topic_flex(TOPIC, flex_repeated(struct.pack('>i', 0),
                                                                         FRAME // 4))
    return exchange('ListPartitionReassignments', 46, 0, body + b'\x00', answer=True,
                    flexible=True)


def describe_cluster():
    return exchange('DescribeCluster v1', 60, 1, b'\x01\x01\x00', answer=True, flexible=True)


def idempotent_batch(pid):
    rec = b'\x00' + varint(0) + varint(0) + varint(-1) + varint(1) + b'p' + varint(0)
    after_crc = struct.pack('>hiqqqhii', 0, 0, 0, 0, pid, 0, 0, 1) + varint(len(rec)) + rec
    rest = struct.pack('>ibI', -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack('>qi', 0, len(rest)) + rest


def describe_producers():
    # 2000 idempotent producers on partition 1, then that partition named 1000 times:
    # 74 MB of producers, the most that fits (a partition named 8 M times is refused
    # by the partition entries alone)
    s = connect(HOST, PORT)
    s.settimeout(120)
    for start in range(0, 2000, 100):
        for pid in range(start, start + 100):
            batch = idempotent_batch(1000 + pid)
            body = (string(None) + struct.pack('>hi', 1, 10000) + struct.pack('>i', 1) +
                    string(TOPIC) + struct.pack('>iii', 1, 1, len(batch)) + batch)
            s.sendall(request(0, 3, pid, body))
        for _ in range(100):
            if read_response(s) is None:
                s.close()
                return False
    s.close()
    body = one_topic_flex(TOPIC, flex_repeated(struct.pack('>i', 1), 1000))
    return exchange('DescribeProducers', 61, 0, body + b'\x00', answer=True, flexible=True)


def txn_begin(txn_id, group=None):
    """InitProducerId v1 for txn_id (and AddOffsetsToTxn v1 for group): (pid, epoch)."""
    s = connect(HOST, PORT)
    s.sendall(request(22, 1, 1, string(txn_id) + struct.pack('>i', 60000)))
    resp = read_response(s)
    err, pid, epoch = struct.unpack_from('>hqh', resp, 8)
    assert err == 0, err
    if group:
        s.sendall(request(25, 1, 2, string(txn_id) + struct.pack('>qh', pid, epoch) +
                          string(group)))
        assert struct.unpack_from('>h', read_response(s), 8)[0] == 0
    s.close()
    return pid, epoch


def add_partitions_to_txn():
    # v5, one transaction naming one partition 8 M times: added once, each answered
    pid, epoch = txn_begin('amp-txn')
    n = FRAME // 4
    txn = (compact_string('amp-txn') + struct.pack('>qh?', pid, epoch, False) +
           one_topic_flex(TOPIC, flex_repeated(struct.pack('>i', 0), n)) + b'\x00')
    return exchange('AddPartitionsToTxn v5', 24, 5, b'\x02' + txn + b'\x00', flexible=True)


def txn_offset_commit():
    # v1, one partition with an empty metadata named 2.4 M times: kept once
    pid, epoch = txn_begin('amp-txn-offsets', 'amp-txn-group')
    item = struct.pack('>iq', 0, 1) + string('')
    body = (string('amp-txn-offsets') + string('amp-txn-group') + struct.pack('>qh', pid, epoch) +
            one_topic(TOPIC, repeated(item, FRAME // len(item))))
    return exchange('TxnOffsetCommit v1', 28, 1, body)


def describe_topic_partitions():
    names = b''.join(compact_string(f'missing-{i}') + b'\x00' for i in range(FRAME // 16))
    body = uvarint(FRAME // 16 + 1) + names + struct.pack('>i', 2000) + b'\xff\x00'
    return exchange('DescribeTopicPartitions, distinct unknown names', 75, 0, body,
                    flexible=True)


CASES = [
    ('Produce: one partition named 4 M times, null records', produce),
    ('Fetch: a 1 MiB partition named 2000 times', fetch),
    ('Fetch: one partition named 1.2 M times', fetch_many),
    ('ListOffsets: one partition named 2.8 M times', list_offsets),
    ('Metadata: every topic', metadata_all),
    ('Metadata: 2 M distinct unknown names', metadata_distinct),
    ('OffsetCommit: one partition named 100000 times', offset_commit),
    ('OffsetFetch: a partition with 4 KiB metadata named 20000 times', offset_fetch),
    ('OffsetFetch v8: a group of 200 offsets named 4.8 M times', offset_fetch_groups),
    ('FindCoordinator: a 32 KiB key', find_coordinator),
    ('FindCoordinator v4: 5.6 M keys, every other one empty', find_coordinator_keys),
    ('JoinGroup v1: 65 MiB of protocol metadata', join_group),
    ('Heartbeat: 32 KiB group and member ids', heartbeat),
    ('LeaveGroup: 8 M members', leave_group),
    ('SyncGroup: a 16 MiB assignment to the leader itself', sync_group),
    ('DescribeGroups: a group with 1 MiB of member metadata named 80 times', describe_groups),
    ('ListGroups: 98000 groups with 700-byte ids', list_groups),
    ('SaslHandshake: a 32 KiB mechanism', sasl_handshake),
    ('ApiVersions v3: a 32 KiB client name', api_versions),
    ('CreateTopics: 2 M invalid names', create_topics),
    ('DeleteTopics: 16 M names', delete_topics),
    ('DeleteRecords: one partition named 2.8 M times', delete_records),
    ('InitProducerId', init_producer_id),
    ('AddPartitionsToTxn v5: one partition named 8 M times', add_partitions_to_txn),
    ('TxnOffsetCommit: one partition named 2.4 M times', txn_offset_commit),
    ('DescribeConfigs: the broker and every topic', describe_configs),
    ('SaslAuthenticate: 32 MiB of auth bytes', sasl_authenticate),
    ('CreatePartitions: 3.3 M entries', create_partitions),
    ('DeleteGroups: 16 M names', delete_groups),
    ('OffsetDelete: one partition named 8 M times', offset_delete),
    ('Metadata v12: 1.8 M distinct unknown ids', metadata_ids),
    ('Metadata v12: one id named 1.8 M times', metadata_id_repeated),
    ('OffsetForLeaderEpoch v4: one partition named 2.5 M times', offset_for_leader_epoch),
    ('DescribeLogDirs v4: a 200-partition topic named 8000 times', describe_log_dirs),
    ('ElectLeaders v2: one partition named 8 M times', elect_leaders),
    ('ListPartitionReassignments: one partition named 8 M times', list_partition_reassignments),
    ('DescribeCluster v1 with authorized operations', describe_cluster),
    ('DescribeProducers: 2000 producers, their partition named 1000 times', describe_producers),
    ('DescribeTopicPartitions: 2 M distinct unknown names', describe_topic_partitions),
]


def main():
    global HOST, PORT, PID, LOG
    if sys.argv[1] == '--list':
        for _, fn in CASES:
            if (fn.__name__ in GROUP_CASES) == (sys.argv[2] == 'groups'):
                print(fn.__name__)
        return 0
    HOST, PORT = sys.argv[1].rsplit(':', 1)
    PORT, PID, LOG = int(PORT), int(sys.argv[2]), sys.argv[3]
    wanted = set(sys.argv[4:])
    guard = Guard(HOST, PORT, PID, LOG, rss_bound_mib=RSS_BOUND_MIB)
    setup()
    for name, fn in CASES:
        if not wanted or fn.__name__ in wanted:
            guard.case('amplify: ' + name, fn)
    return guard.finish()


sys.exit(main())
