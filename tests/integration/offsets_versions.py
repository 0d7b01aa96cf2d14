#!/usr/bin/env python3
"""Committed offsets and coordinator lookup at every version brook advertises,
from hand-built frames, against a live brookd.

offsets_versions.sh runs one phase of this script per brookd:

  main     OffsetCommit v0-9 each commit and OffsetFetch v0-9 each read back (v0
           and v1 too, which Kafka 4 no longer takes but sarama sends); an offset
           of -2 is kept as sent (an admin's "earliest"), not deleted; a null
           topic list names each topic once with all its partitions; OffsetFetch
           v8 answers many groups, each with its own error; v9's missing group
           and v8's stale generation; a static member's commits by instance id; FindCoordinator v0-6, batched keys, the
           transaction key type and the keys Kafka refuses; OffsetDelete of an
           Empty group, an unknown group and topic, a live group that subscribes
           to the topic and one of another protocol.
  restart  after a restart: every commit of main is read back (v1 records with an
           expiry included), the deleted offset stays deleted.
  expiry-commit, expiry-check  brookd with offsets.retention.check.interval.ms=500:
           an offset committed by v2 with retention_time_ms=1000 expires (the
           script waits for brookd's log to say so between the two phases), one
           committed by v8 (no retention of its own) does not.

usage: offsets_versions.py PHASE HOST:PORT
Standard library only.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import (Conn, Reader, array, bytes_, connect, create_topic,  # noqa: E402
                       read_response, request, string, tags)

PHASE = sys.argv[1]
HOST, PORT = sys.argv[2].rsplit(':', 1)
PORT = int(PORT)

CLIENT = 'offsets-versions'  # the client id of every request
TOPIC, OTHER = 'ov-topic', 'ov-other'
COMMIT, FETCH, FIND, JOIN, SYNC, DELETE = 8, 9, 10, 11, 14, 47
FLEX = {COMMIT: 8, FETCH: 6, FIND: 3}  # first flexible version of each API
NONE, UNKNOWN_TOPIC, ILLEGAL_GENERATION, INVALID_GROUP_ID = 0, 3, 22, 24
INVALID_REQUEST, GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, SUBSCRIBED = 42, 69, 68, 86
UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, COORDINATOR_NOT_AVAILABLE = 25, 82, 15

failures = 0


def report(name, good, why=''):
    global failures
    print(f'ok - {name}' if good else f'not ok - {name}: {why}', flush=True)
    failures += 0 if good else 1


# ---- frames: the flexible header from each API's first flexible version -------------

def flexible(api, version):
    return version >= FLEX.get(api, 99)


def frame(api, version, corr, body):
    return request(api, version, corr, body, CLIENT, flexible(api, version))


def exchange(api, version, body):
    """One request on a fresh connection: a Reader of the answer, or None if closed."""
    conn = Conn(HOST, PORT, CLIENT)
    try:
        return conn.call(api, version, body, flexible(api, version))
    except (OSError, EOFError):
        return None
    finally:
        conn.close()


# ---- OffsetCommit ------------------------------------------------------------------

def commit_body(v, group, parts, gen=-1, member='', instance=None, retention=-1,
                timestamp=-1, metadata='m'):
    """OffsetCommit v0-9 committing {topic: [(partition, offset)]}."""
    f = v >= 8
    body = string(group, f)
    if v >= 1:
        body += struct.pack('>i', gen) + string(member, f)
    if v >= 7:
        body += string(instance, f)
    if 2 <= v <= 4:
        body += struct.pack('>q', retention)
    topics = []
    for topic, offsets in parts.items():
        items = []
        for p, off in offsets:
            item = struct.pack('>iq', p, off)
            if v >= 6:
                item += struct.pack('>i', 3)  # leader epoch
            if v == 1:
                item += struct.pack('>q', timestamp)
            items.append(item + string(metadata, f) + tags(f))
        topics.append(string(topic, f) + array(items, f) + tags(f))
    return body + array(topics, f) + tags(f)


def commit(v, group, parts, **kw):
    """[(topic, partition, error)] of an OffsetCommit, or None when closed."""
    r = exchange(COMMIT, v, commit_body(v, group, parts, **kw))
    if r is None:
        return None
    if v >= 3:
        r.take('>i')
    out = []
    for _ in range(r.length(True)):
        name = r.string()
        for _ in range(r.length(True)):
            p, err = r.take('>i'), r.take('>h')
            r.tags()
            out.append((name, p, err))
        r.tags()
    return out


# ---- OffsetFetch -------------------------------------------------------------------

def fetch_topics(topics, f):
    if topics is None:
        return array(None, f)
    return array([string(t, f) + (array([struct.pack('>i', p) for p in ps], f)) + tags(f)
                for t, ps in topics.items()], f)


def read_partitions(r, v):
    """{partition: (offset, leader epoch, metadata, error)} of one topic."""
    out = {}
    for _ in range(r.length(True)):
        p, off = r.take('>i'), r.take('>q')
        epoch = r.take('>i') if v >= 5 else -1
        meta, err = r.string(), r.take('>h')
        r.tags()
        out[p] = (off, epoch, meta, err)
    return out


def read_topics(r, v):
    """[(topic, {partition: ...})] in the answer's order (a topic may repeat)."""
    out = []
    for _ in range(r.length(True)):
        name = r.string()
        out.append((name, read_partitions(r, v)))
        r.tags()
    return out


def fetch(v, group, topics=None, require_stable=False):
    """OffsetFetch v0-7: (error, [(topic, partitions)]) or None when closed."""
    f = v >= 6
    body = string(group, f) + fetch_topics(topics, f)
    if v >= 7:
        body += b'\x01' if require_stable else b'\x00'
    r = exchange(FETCH, v, body + tags(f))
    if r is None:
        return None
    if v >= 3:
        r.take('>i')
    topics = read_topics(r, v)
    err = r.take('>h') if v >= 2 else NONE
    return err, topics


def fetch_groups(v, groups):
    """OffsetFetch v8-9 of [(group, topics or None, member, epoch)]:
    [(group, error, [(topic, partitions)])] or None when closed."""
    items = []
    for g, topics, member, epoch in groups:
        item = string(g, True)
        if v >= 9:
            item += string(member, True) + struct.pack('>i', epoch)
        items.append(item + fetch_topics(topics, True) + tags(True))
    r = exchange(FETCH, v, array(items, True) + b'\x00' + tags(True))
    if r is None:
        return None
    r.take('>i')
    out = []
    for _ in range(r.length(True)):
        g = r.string()
        topics = read_topics(r, v)
        err = r.take('>h')
        r.tags()
        out.append((g, err, topics))
    r.tags()
    return out


def offsets_of(topics):
    """{(topic, partition): offset} of an answer."""
    return {(t, p): v[0] for t, ps in topics for p, v in ps.items()}


# ---- the other APIs ----------------------------------------------------------------

def find(v, keys, key_type=0):
    """FindCoordinator: [(key, error, node, host, port)] (v0-3: one, key None)."""
    f = v >= 3
    if v < 4:
        body = string(keys[0], f) + (struct.pack('>b', key_type) if v >= 1 else b'')
    else:
        body = struct.pack('>b', key_type) + array([string(k, True) for k in keys], True)
    r = exchange(FIND, v, body + tags(f))
    if r is None:
        return None
    if v >= 1:
        r.take('>i')
    if v < 4:
        err = r.take('>h')
        if v >= 1:
            r.string()
        node, host, port = r.take('>i'), r.string(), r.take('>i')
        return [(None, err, node, host, port)]
    out = []
    for _ in range(r.length(True)):
        key, node, host = r.string(), r.take('>i'), r.string()
        port, err = r.take('>i'), r.take('>h')
        r.string()
        r.tags()
        out.append((key, err, node, host, port))
    return out


def offset_delete(group, topics):
    """OffsetDelete v0 of {topic: [partitions]}: (error, {(topic, partition): error})."""
    body = string(group) + array([string(t) + array([struct.pack('>i', p) for p in ps])
                                  for t, ps in topics.items()])
    r = exchange(DELETE, 0, body)
    if r is None:
        return None
    err = r.take('>h')
    r.take('>i')
    out = {}
    for _ in range(r.length(True)):
        t = r.string()
        for _ in range(r.length(True)):
            p = r.take('>i')
            out[(t, p)] = r.take('>h')
    return err, out


def subscription(*topics):
    """ConsumerProtocolSubscription v0 naming topics."""
    return struct.pack('>h', 0) + array([string(t) for t in topics]) + bytes_(None)


def join_and_sync(sock, group, protocol_type, metadata):
    """A one-member group, Stable (JoinGroup v0 then SyncGroup v0 on sock)."""
    body = (string(group) + struct.pack('>i', 30000) + string('') + string(protocol_type) +
            array([string('range') + bytes_(metadata)]))
    sock.sendall(frame(JOIN, 0, 1, body))
    r = Reader(read_response(sock), False, 4)
    err, gen = r.take('>h'), r.take('>i')
    r.string()
    r.string()
    member = r.string()
    body = string(group) + struct.pack('>i', gen) + string(member) + array(
        [string(member) + bytes_(b'')])
    sock.sendall(frame(SYNC, 0, 2, body))
    r = Reader(read_response(sock), False, 4)
    return err, r.take('>h'), gen, member


# ---- the phases --------------------------------------------------------------------

EXPECT = {}  # (group, topic, partition) -> offset, checked again after the restart


def commits_each_version():
    for v in range(10):
        g = f'ov-g{v}'
        got = commit(v, g, {TOPIC: [(0, 100 + v), (1, 200 + v)]},
                     retention=3600000 if 2 <= v <= 4 else -1)
        report(f'OffsetCommit v{v}: a simple commit is stored',
               got == [(TOPIC, 0, NONE), (TOPIC, 1, NONE)], got)
        EXPECT[(g, TOPIC, 0)], EXPECT[(g, TOPIC, 1)] = 100 + v, 200 + v
    for v in range(10):  # each fetch version reads a commit of another version
        g = f'ov-g{(v + 3) % 10}'
        want = {(TOPIC, 0): 100 + (v + 3) % 10, (TOPIC, 1): 200 + (v + 3) % 10}
        if v < 8:
            got = fetch(v, g, {TOPIC: [0, 1]})
            good = got is not None and got[0] == NONE and offsets_of(got[1]) == want
        else:
            got = fetch_groups(v, [(g, {TOPIC: [0, 1]}, None, -1)])
            good = got is not None and got[0][1] == NONE and offsets_of(got[0][2]) == want
        report(f'OffsetFetch v{v}: reads back the commit of OffsetCommit v{(v + 3) % 10}',
               good, got)
    got = fetch(5, 'ov-g7', {TOPIC: [0]})
    epoch, meta = got[1][0][1][0][1:3] if got else (None, None)
    report('OffsetFetch v5: the leader epoch and metadata committed by v7 come back',
           (epoch, meta) == (3, 'm'), got)


def negative_offsets():
    for v in (2, 7, 8):
        g = f'ov-neg{v}'
        commit(v, g, {TOPIC: [(0, 50)]})
        got = commit(v, g, {TOPIC: [(0, -2)]})
        back = fetch(5, g, {TOPIC: [0]})
        report(f'OffsetCommit v{v} of offset -2 stores -2 (kafkajs resetOffsets earliest)',
               got == [(TOPIC, 0, NONE)] and back and offsets_of(back[1]) == {(TOPIC, 0): -2},
               (got, back))
        EXPECT[(g, TOPIC, 0)] = -2


def null_topics():
    g = 'ov-all'
    commit(5, g, {TOPIC: [(2, 12), (0, 10), (1, 11)], OTHER: [(1, 21), (0, 20)]})
    for v in (2, 5, 7, 8, 9):
        if v < 8:
            got = fetch(v, g, None)
            topics = got[1] if got else []
        else:
            got = fetch_groups(v, [(g, None, None, -1)])
            topics = got[0][2] if got else []
        names = [t for t, _ in topics]
        report(f'OffsetFetch v{v} with a null topic list names each topic once with all '
               f'its partitions', sorted(names) == [OTHER, TOPIC] and
               {t: sorted(ps) for t, ps in topics} == {TOPIC: [0, 1, 2], OTHER: [0, 1]} and
               offsets_of(topics)[(TOPIC, 2)] == 12, topics)


def many_groups():
    got = fetch_groups(8, [('ov-g1', {TOPIC: [0]}, None, -1), ('ov-missing', {TOPIC: [0, 1]},
                                                                 None, -1),
                           ('', {TOPIC: [0]}, None, -1), ('ov-all', None, None, -1)])
    good = got is not None and len(got) == 4
    if good:
        g1, missing, empty, allg = got
        good = (g1[1] == NONE and offsets_of(g1[2]) == {(TOPIC, 0): 101} and
                missing[1] == NONE and offsets_of(missing[2]) == {(TOPIC, 0): -1, (TOPIC, 1): -1}
                and empty[1] == NONE and offsets_of(empty[2]) == {(TOPIC, 0): -1} and
                len(offsets_of(allg[2])) == 5)
    report('OffsetFetch v8: four groups in one request, each answered on its own', good, got)
    got = fetch_groups(9, [('ov-g1', {TOPIC: [0]}, 'someone', 4)])
    report('OffsetFetch v9: a classic group answers whatever member and epoch are named',
           got is not None and got[0][1] == NONE, got)
    got = fetch(7, 'ov-g1', {TOPIC: [0]}, require_stable=True)
    report('OffsetFetch v7 with require_stable is answered (nothing is pending)',
           got is not None and got[0] == NONE and offsets_of(got[1]) == {(TOPIC, 0): 101}, got)
    got = fetch(1, 'ov-g1\x00x', {TOPIC: [0]})
    report('OffsetFetch v1 of a group id with a NUL is not the group before the NUL',
           got is not None and got[1][0][1][0][0] == -1, got)


def commit_errors():
    got = commit(9, 'ov-nogroup', {TOPIC: [(0, 1)]}, gen=4, member='m')
    report('OffsetCommit v9 to a group that does not exist, in a generation: '
           'GROUP_ID_NOT_FOUND', got == [(TOPIC, 0, GROUP_ID_NOT_FOUND)], got)
    got = commit(8, 'ov-nogroup', {TOPIC: [(0, 1)]}, gen=4, member='m')
    report('OffsetCommit v8 to a group that does not exist, in a generation: '
           'ILLEGAL_GENERATION', got == [(TOPIC, 0, ILLEGAL_GENERATION)], got)
    got = commit(1, 'ov-g1', {TOPIC: [(7, 1)], 'ov-nosuch': [(0, 1)]})
    report('OffsetCommit v1 to an unknown partition and topic: UNKNOWN_TOPIC_OR_PARTITION',
           got == [(TOPIC, 7, UNKNOWN_TOPIC), ('ov-nosuch', 0, UNKNOWN_TOPIC)], got)


def find_coordinator():
    for v in range(4):
        got = find(v, ['ov-g1'])
        report(f'FindCoordinator v{v} names this node for a group',
               got and got[0][1] == NONE and got[0][3] == HOST and got[0][4] == PORT, got)
    for v in (1, 3):
        got = find(v, ['txn-1'], key_type=1)
        report(f'FindCoordinator v{v} names this node for a transactional id',
               got and got[0][1] == NONE and got[0][4] == PORT, got)
        got = find(v, [''])
        report(f'FindCoordinator v{v} with an empty group id: INVALID_REQUEST',
               got and got[0][1] == INVALID_REQUEST and got[0][2] == -1, got)
    for v in (4, 5, 6):
        got = find(v, ['a', 'b', '', 'a'])
        report(f'FindCoordinator v{v} answers each batched key on its own',
               got is not None and [(k, e) for k, e, *_ in got] ==
               [('a', NONE), ('b', NONE), ('', INVALID_REQUEST), ('a', NONE)] and
               got[0][4] == PORT, got)
    got = find(6, ['t1', 't2'], key_type=1)
    report('FindCoordinator v6 names this node for batched transactional ids',
           got is not None and [e for _, e, *_ in got] == [NONE, NONE], got)
    got = (find(6, ['s1'], key_type=2) or []) + (find(5, ['s1'], key_type=2) or [])
    report('FindCoordinator for a share group: COORDINATOR_NOT_AVAILABLE in v6 (no share '
           'groups), INVALID_REQUEST before', [e for _, e, *_ in got] ==
           [COORDINATOR_NOT_AVAILABLE, INVALID_REQUEST], got)


def join_static(sock, group, instance):
    """A one-member group of a static member, Stable (JoinGroup v5, SyncGroup v3):
    (join error, sync error, generation, member id)."""
    body = (string(group) + struct.pack('>ii', 30000, 30000) + string('') + string(instance) +
            string('consumer') + array([string('range') + bytes_(subscription(TOPIC))]))
    sock.sendall(frame(JOIN, 5, 1, body))
    r = Reader(read_response(sock), False, 4)
    r.take('>i')
    err, gen = r.take('>h'), r.take('>i')
    r.string()
    r.string()
    member = r.string()
    body = (string(group) + struct.pack('>i', gen) + string(member) + string(instance) +
            array([string(member) + bytes_(b'')]))
    sock.sendall(frame(SYNC, 3, 2, body))
    r = Reader(read_response(sock), False, 4)
    r.take('>i')
    return err, r.take('>h'), gen, member


def static_members():
    sock = connect(HOST, PORT)
    joined = join_static(sock, 'ov-static', 'inst-1')
    gen, member = joined[2], joined[3]
    got = [commit(7, 'ov-static', {TOPIC: [(0, 9)]}, gen=gen, member=m, instance=i)
           for m, i in ((member, 'inst-1'), ('someone-else', 'inst-1'), (member, 'inst-2'))]
    report('OffsetCommit v7 of a static member: its own instance id commits, another '
           'member id under it is FENCED_INSTANCE_ID, an unknown instance UNKNOWN_MEMBER_ID',
           joined[:2] == (NONE, NONE) and got == [[(TOPIC, 0, NONE)],
                                                   [(TOPIC, 0, FENCED_INSTANCE_ID)],
                                                   [(TOPIC, 0, UNKNOWN_MEMBER_ID)]],
           (joined, got))
    sock.close()


def offset_deletes():
    g = 'ov-del'
    commit(2, g, {TOPIC: [(0, 5), (1, 6)], OTHER: [(0, 7)]})
    got = offset_delete(g, {TOPIC: [0, 9], 'ov-nosuch': [0]})
    back = fetch(5, g, {TOPIC: [0, 1]})
    report('OffsetDelete of an Empty group forgets the partitions named, and only them',
           got == (NONE, {(TOPIC, 0): NONE, (TOPIC, 9): NONE, ('ov-nosuch', 0): UNKNOWN_TOPIC})
           and back and offsets_of(back[1]) == {(TOPIC, 0): -1, (TOPIC, 1): 6}, (got, back))
    EXPECT[(g, TOPIC, 0)], EXPECT[(g, TOPIC, 1)] = -1, 6
    got = offset_delete(g, {OTHER: [0, 0, 0]})
    back = fetch(5, g, {OTHER: [0]})
    report('OffsetDelete naming one partition three times deletes it once, answers each',
           got == (NONE, {(OTHER, 0): NONE}) and back and
           offsets_of(back[1]) == {(OTHER, 0): -1}, (got, back))
    EXPECT[(g, OTHER, 0)] = -1
    got = offset_delete('ov-nosuchgroup', {TOPIC: [0]})
    report('OffsetDelete of an unknown group: GROUP_ID_NOT_FOUND',
           got is not None and got[0] == GROUP_ID_NOT_FOUND, got)
    got = offset_delete('', {TOPIC: [0]})
    report('OffsetDelete with an empty group id: INVALID_GROUP_ID',
           got is not None and got[0] == INVALID_GROUP_ID, got)

    live = connect(HOST, PORT)
    joined = join_and_sync(live, 'ov-live', 'consumer', subscription(TOPIC))
    commit(2, 'ov-live', {TOPIC: [(0, 1)], OTHER: [(0, 2)]}, gen=joined[2], member=joined[3])
    got = offset_delete('ov-live', {TOPIC: [0], OTHER: [0]})
    back = fetch(5, 'ov-live', {TOPIC: [0], OTHER: [0]})
    report('OffsetDelete of a live consumer group: GROUP_SUBSCRIBED_TO_TOPIC for its topic, '
           'the other topic deleted', joined[:2] == (NONE, NONE) and
           got == (NONE, {(TOPIC, 0): SUBSCRIBED, (OTHER, 0): NONE}) and back and
           offsets_of(back[1]) == {(TOPIC, 0): 1, (OTHER, 0): -1}, (joined, got, back))
    other = connect(HOST, PORT)
    joined = join_and_sync(other, 'ov-connect', 'connect', b'anything')
    got = offset_delete('ov-connect', {TOPIC: [0]})
    report('OffsetDelete of a live group of another protocol: NON_EMPTY_GROUP',
           got is not None and got[0] == NON_EMPTY_GROUP, (joined, got))
    live.close()
    other.close()


def main_phase():
    for t, n in ((TOPIC, 3), (OTHER, 2)):
        err = create_topic(HOST, PORT, t, n)
        report(f'create {t}', err in (0, 36), err)
    commits_each_version()
    negative_offsets()
    null_topics()
    many_groups()
    commit_errors()
    static_members()
    find_coordinator()
    offset_deletes()
    with open(os.environ['OV_EXPECT'], 'w') as f:
        for (g, t, p), off in sorted(EXPECT.items()):
            f.write(f'{g} {t} {p} {off}\n')


def restart_phase():
    with open(os.environ['OV_EXPECT']) as f:
        want = [line.split() for line in f]
    bad = []
    for g, t, p, off in want:
        got = fetch(5, g, {t: [int(p)]})
        if got is None or offsets_of(got[1]) != {(t, int(p)): int(off)}:
            bad.append((g, t, p, off, got))
    report(f'after a restart the {len(want)} committed and deleted offsets read back as they '
           'were (v1 records with an expiry, -2, tombstones of OffsetDelete)',
           want and not bad, bad[:3])


def expiry_commit_phase():
    err = create_topic(HOST, PORT, TOPIC, 3)
    report(f'create {TOPIC}', err in (0, 36), err)
    short = commit(2, 'ov-short', {TOPIC: [(0, 1)]}, retention=1000)
    kept = commit(8, 'ov-kept', {TOPIC: [(0, 2)]})
    report('commits with and without a retention of their own',
           short == kept == [(TOPIC, 0, NONE)], (short, kept))


def expiry_check_phase():
    short = fetch(5, 'ov-short', {TOPIC: [0]})
    kept = fetch(5, 'ov-kept', {TOPIC: [0]})
    report('an offset committed by v2 with retention_time_ms=1000 has expired; '
           'one committed by v8 stays', short and offsets_of(short[1]) == {(TOPIC, 0): -1} and
           kept and offsets_of(kept[1]) == {(TOPIC, 0): 2}, (short, kept))


{'main': main_phase, 'restart': restart_phase, 'expiry-commit': expiry_commit_phase,
 'expiry-check': expiry_check_phase}[PHASE]()
sys.exit(1 if failures else 0)
