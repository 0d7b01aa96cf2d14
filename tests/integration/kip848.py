"""kip848.py - KIP-848 consumer groups over the wire, with a consumer of our own.

No Kafka client here speaks ConsumerGroupHeartbeat, so this file has one: a
consumer that heartbeats, fetches what the coordinator assigns it, commits what
it has read (OffsetCommit v2 outside a generation, into the same
__consumer_offsets), and gives partitions back only after committing them,
as KIP-848's revocation asks. One driver runs every consumer in turns, so the
test needs no sleeps and no threads; each turn every consumer heartbeats.

Phases (argv[1]): main - three consumers read a topic of 6 partitions while
records keep coming; one leaves and a fourth joins midway; every record must be
read exactly once, and ConsumerGroupDescribe must show the final assignment.
Then the protocol's refusals: fencing, unknown members, a classic group's id,
static membership, regex subscriptions and bounds.

Usage: kip848.py PHASE HOST:PORT
"""
import struct
import sys

sys.path.insert(0, __file__.rsplit('/', 3)[0] + '/tests')
import kafkawire as kw  # noqa: E402

FAILED = []
COMMITS = {'member': 0, 'outside': 0}


def check(cond, name):
    print(('ok - ' if cond else 'not ok - ') + 'kip848: ' + name, flush=True)
    if not cond:
        FAILED.append(name)


# ---- flexible encodings ----

cstr, carray = kw.compact_string, kw.compact_array
Reader = kw.Reader


def hb_body(group, member, epoch, topics=None, owned=None, instance=None, rebalance=60000,
            assignor=None, regex=None, version=0):
    tps = None if owned is None else [
        tid + carray([struct.pack('>i', p) for p in sorted(ps)]) + b'\x00'
        for tid, ps in sorted(owned.items())]
    body = cstr(group) + cstr(member) + struct.pack('>i', epoch) + cstr(instance) + cstr(None)
    body += struct.pack('>i', rebalance)
    body += carray(None if topics is None else [cstr(t) for t in topics])
    if version >= 1:
        body += cstr(regex)
    return body + cstr(assignor) + carray(tps) + b'\x00'


def hb_parse(r):
    r.take('>i')
    out = {'err': r.take('>h'), 'msg': r.string(), 'member': r.string(), 'epoch': r.take('>i'),
           'interval': r.take('>i'), 'assignment': None}
    if r.take('>b') >= 0:
        def tp(rr):
            tid = rr.raw(16)
            parts = rr.array(Reader.i32)
            rr.tags()
            return tid, parts
        out['assignment'] = {tid: set(ps) for tid, ps in r.array(tp)}
        r.tags()
    return out


def describe_parse(r):
    r.take('>i')

    def tps(rr):
        def one(x):
            tid, name = x.raw(16), x.string()
            parts = x.array(Reader.i32)
            x.tags()
            return (tid, name, parts)
        v = rr.array(one)
        rr.tags()
        return v

    def member(rr):
        m = {'id': rr.string(), 'instance': rr.string(), 'rack': rr.string(),
             'epoch': rr.take('>i'), 'client': rr.string(), 'host': rr.string(),
             'topics': rr.array(Reader.string),
             'regex': rr.string(), 'assigned': tps(rr), 'target': tps(rr)}
        rr.tags()
        return m

    def group(rr):
        g = {'err': rr.take('>h'), 'msg': rr.string(), 'id': rr.string(), 'state': rr.string(),
             'epoch': rr.take('>i'), 'aepoch': rr.take('>i'), 'assignor': rr.string(),
             'members': rr.array(member), 'ops': rr.take('>i')}
        rr.tags()
        return g
    return r.array(group)


class Conn(kw.Conn):
    """A connection with the two KIP-848 calls."""

    def __init__(self, host, port):
        super().__init__(host, port, 'kip848')

    def heartbeat(self, *a, version=0, **k):
        return hb_parse(self.call(68, version, hb_body(*a, version=version, **k), True))

    def describe(self, groups):
        return describe_parse(self.call(
            69, 0, carray([cstr(g) for g in groups]) + b'\x00' + b'\x00', True))


# ---- fetch, commit ----

def fetch_body(topic, parts):
    """Fetch v4 of partitions {p: offset} of one topic, without waiting."""
    ps = [struct.pack('>iqi', p, off, 1 << 20) for p, off in sorted(parts.items())]
    return struct.pack('>iiiib', -1, 0, 1, 4 << 20, 0) + kw.array([kw.string(topic) +
                                                                   kw.array(ps)])


def batch_records(data):
    """[(offset, value)] of the record batches in data (v2 only)."""
    out, off = [], 0
    while off + 12 <= len(data):
        base, blen = struct.unpack_from('>qi', data, off)
        if off + 12 + blen > len(data):
            break  # a partial batch at the end
        r = Reader(data, False, off + 12 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4)
        (n,) = struct.unpack_from('>i', data, off + 12 + 45)
        r.off = off + 12 + 49
        for _ in range(n):
            r.varint()  # length
            r.take('>b')
            r.varint()
            delta = r.varint()
            kl = r.varint()
            r.raw(max(kl, 0))
            vl = r.varint()
            v = r.raw(max(vl, 0))
            for _ in range(r.varint()):
                r.raw(r.varint())
                r.raw(max(r.varint(), 0))
            out.append((base + delta, bytes(v)))
        off += 12 + blen
    return out


def fetch_parse(r):
    """{partition: (error, records)} of a Fetch v4 response for one topic."""
    r.take('>i')
    out = {}
    for _ in range(r.take('>i')):
        r.raw(r.take('>h'))
        for _ in range(r.take('>i')):
            p, err = r.take('>ih')
            r.take('>qq')
            na = r.take('>i')
            r.raw(16 * max(na, 0))
            data = r.raw(r.take('>i'))
            out[p] = (err, batch_records(bytes(data)))
    return out


def commit_body(group, topic, parts):
    """OffsetCommit v2 outside a generation: {p: offset}."""
    ps = [struct.pack('>iq', p, off) + kw.string('') for p, off in sorted(parts.items())]
    return kw.string(group) + struct.pack('>i', -1) + kw.string('') + struct.pack('>q', -1) + \
        kw.array([kw.string(topic) + kw.array(ps)])


def commit_body_member(group, member, epoch, topic, parts):
    """OffsetCommit v7 as a KIP-848 member: its id, its epoch as the generation."""
    ps = [struct.pack('>iqi', p, off, -1) + kw.string('') for p, off in sorted(parts.items())]
    return kw.string(group) + struct.pack('>i', epoch) + kw.string(member) + kw.string(None) + \
        kw.array([kw.string(topic) + kw.array(ps)])


def commit_body_v9(group, member, epoch, topic, parts):
    """OffsetCommit v9 (flexible): the member's id and epoch."""
    ps = [struct.pack('>iqi', p, off, -1) + cstr('') + b'\x00' for p, off in sorted(parts.items())]
    return cstr(group) + struct.pack('>i', epoch) + cstr(member) + cstr(None) + \
        carray([cstr(topic) + carray(ps) + b'\x00']) + b'\x00'


def commit_errors_v9(r):
    r.take('>i')
    errs = []

    def part(x):
        x.take('>i')
        errs.append(x.take('>h'))
        x.tags()

    def topic(x):
        x.string()
        x.array(part)
        x.tags()
    r.array(topic)
    return errs


def max_version(conn, api):
    """The highest version of api brookd advertises (ApiVersions v0), or -1."""
    r = conn.call(18, 0, b'', False)
    r.take('>h')
    for _ in range(r.take('>i')):
        key, _, hi = r.take('>hhh')
        if key == api:
            return hi
    return -1


def commit_errors(r, version=2):
    if version >= 3:
        r.take('>i')  # throttle time
    errs = []
    for _ in range(r.take('>i')):
        r.raw(r.take('>h'))
        for _ in range(r.take('>i')):
            errs.append(r.take('>ih')[1])
    return errs


def committed(conn, group, topic, p):
    body = kw.string(group) + kw.array([kw.string(topic) + kw.array([struct.pack('>i', p)])])
    r = conn.call(9, 1, body, False)
    r.take('>i')
    r.raw(r.take('>h'))
    r.take('>i')
    _, off = r.take('>iq')
    return off


class Consumer:
    """A KIP-848 member that reads each record of its partitions once, in turns."""

    def __init__(self, host, port, group, topic, tid, name):
        self.c = Conn(host, port)
        self.group, self.topic, self.tid, self.name = group, topic, tid, name
        self.member, self.epoch = '', 0
        self.owned = {}  # partition -> next offset to read
        self.seen = []
        self.errors = []
        self.joined = False
        self.phase = int(name[1:]) % 3
        self.commit_v9 = max_version(self.c, 8) >= 9

    def commit(self, parts):
        """Commit as a member: with v9 (its epoch) where brookd offers it; else v7
        with the epoch as generation, and where OffsetCommit knows only classic
        groups (UNKNOWN_MEMBER_ID) outside a generation."""
        if not parts:
            return
        if self.commit_v9:
            errs = commit_errors_v9(self.c.call(
                8, 9, commit_body_v9(self.group, self.member, self.epoch, self.topic, parts),
                True))
            COMMITS['member'] += 1
            if any(errs):
                self.errors.append(('commit', errs))
            return
        errs = commit_errors(self.c.call(
            8, 7, commit_body_member(self.group, self.member, self.epoch, self.topic, parts),
            False), 7)
        if errs and all(e == 25 for e in errs):
            COMMITS['outside'] += 1
            errs = commit_errors(self.c.call(
                8, 2, commit_body(self.group, self.topic, parts), False))
        else:
            COMMITS['member'] += 1
        if any(errs):
            self.errors.append(('commit', errs))

    def heartbeat(self):
        owned = {self.tid: set(self.owned)} if self.owned else {}
        if not self.joined:
            a = self.c.heartbeat(self.group, '', 0, topics=[self.topic], owned={})
        else:
            a = self.c.heartbeat(self.group, self.member, self.epoch, owned=owned)
        if a['err']:
            self.errors.append(('heartbeat', a['err'], a['msg']))
            return
        self.joined = True
        self.member, self.epoch = a['member'] or self.member, a['epoch']
        if a['assignment'] is not None:
            self.apply(a['assignment'].get(self.tid, set()))

    def apply(self, parts):
        gone = [p for p in self.owned if p not in parts]
        self.commit({p: self.owned[p] for p in gone})  # commit, then give up
        for p in gone:
            del self.owned[p]
        for p in parts:
            if p not in self.owned:
                off = committed(self.c, self.group, self.topic, p)
                self.owned[p] = max(off, 0)

    def poll(self):
        if not self.owned:
            return 0
        got = fetch_parse(self.c.call(1, 4, fetch_body(self.topic, self.owned), False))
        n = 0
        for p, (err, recs) in got.items():
            if err:
                self.errors.append(('fetch', p, err))
                continue
            for off, v in recs:
                if off >= self.owned[p]:
                    self.seen.append(v)
                    self.owned[p] = off + 1
                    n += 1
        self.commit(dict(self.owned))
        return n

    def leave(self):
        self.commit(dict(self.owned))
        a = self.c.heartbeat(self.group, self.member, -1)
        self.owned = {}
        return a

    def turn(self, rnd):
        # heartbeats are rarer than fetches, as with real clients: a partition
        # handed to a new member before its owner heard of it would be read twice
        if not self.joined or rnd % 3 == self.phase:
            self.heartbeat()
        return self.poll()


def topic_id(conn, group, topic):
    """The id of topic as ConsumerGroupDescribe names it (Metadata may not yet)."""
    for g in conn.describe([group]):
        for m in g['members'] or []:
            for tid, name, _ in m['target']:
                if name == topic:
                    return tid
    return None


def phase_main(host, port):
    topic, group, nparts, per_round = 'k848', 'k848-group', 6, 60
    check(kw.create_topic(host, port, topic, nparts) == 0, 'topic of 6 partitions created')
    prod = kw.Producer(host, port)
    seq = 0

    def produce_round():
        nonlocal seq
        for p in range(nparts):
            vals = [('r-%d' % (seq + i)).encode() for i in range(per_round // nparts)]
            seq += len(vals)
            if prod.send(topic, vals, partition=p) != 0:
                FAILED.append('produce')
    admin = Conn(host, port)
    first = Consumer(host, port, group, topic, b'\x00' * 16, 'c0')
    first.heartbeat()
    tid = topic_id(admin, group, topic)
    check(tid is not None and len(tid) == 16, 'the assignment names the topic by its id')
    first.tid = tid
    cons = [first] + [Consumer(host, port, group, topic, tid, 'c%d' % i) for i in (1, 2)]
    gone = []
    for rnd in range(40):
        if rnd < 30:
            produce_round()
        if rnd == 10:  # one leaves midway
            a = cons[1].leave()
            check(a['err'] == 0 and a['epoch'] == -1, 'a member leaves with epoch -1')
            gone.append(cons.pop(1))
        if rnd == 15:  # and another joins
            cons.append(Consumer(host, port, group, topic, tid, 'c3'))
        for c in cons:
            c.turn(rnd)
    # drain: every member keeps its turns until nothing is left to read
    for rnd in range(40, 240):
        if sum(c.turn(rnd) for c in cons) == 0 and all(
                len(c.owned) >= 1 for c in cons) and \
                sum(len(c.seen) for c in cons + gone) >= seq:
            break
    seen = [v for c in cons + gone for v in c.seen]
    dup = len(seen) - len(set(seen))
    want = set(('r-%d' % i).encode() for i in range(seq))
    lost = len(want - set(seen))
    print('# records %d, read %d, duplicates %d, lost %d' % (seq, len(seen), dup, lost))
    print('# commits as a member %(member)d, outside a generation %(outside)d' % COMMITS)
    check(not any(c.errors for c in cons + gone), 'no consumer saw an error: %s' %
          [c.errors[:3] for c in cons + gone if c.errors])
    check(dup == 0, 'no record read twice while one member left and one joined')
    check(lost == 0, 'no record lost while one member left and one joined')
    check(all(c.seen for c in cons + gone), 'every member read records')
    d = admin.describe([group])[0]
    members = d['members'] or []
    owned_by = {}
    for m in members:
        for t, name, parts in m['assigned']:
            for p in parts:
                owned_by.setdefault((name, p), []).append(m['id'])
    check(d['err'] == 0 and d['state'] == 'Stable' and len(members) == 3,
          'ConsumerGroupDescribe: a Stable group of 3 members (%s, %d)' % (d['state'],
                                                                          len(members)))
    check(sorted(owned_by) == [(topic, p) for p in range(nparts)] and
          all(len(v) == 1 for v in owned_by.values()),
          'ConsumerGroupDescribe: each partition assigned to exactly one member')
    counts = sorted(sum(len(p) for _, _, p in m['assigned']) for m in members)
    check(counts == [2, 2, 2], 'uniform: 6 partitions over 3 members, 2 each (%s)' % counts)
    check(all(m['assigned'] == m['target'] for m in members) and d['assignor'] == 'uniform',
          'ConsumerGroupDescribe: assignments reached their targets')
    lg = admin.call(16, 2, b'', False)
    lg.take('>ih')
    listed = {}
    for _ in range(lg.take('>i')):
        gid = lg.raw(lg.take('>h')).decode()
        listed[gid] = lg.raw(lg.take('>h')).decode()
    check(listed.get(group) == 'consumer' and list(listed).count(group) == 1,
          'ListGroups lists the consumer group once, protocol type consumer')
    dg = admin.call(15, 0, kw.array([kw.string(group)]), False)
    dg.take('>i')
    err = dg.take('>h')
    fields = [dg.raw(dg.take('>h')).decode() for _ in range(4)]
    check(err == 0 and fields[1:] == ['Stable', 'consumer', 'uniform'] and dg.take('>i') == 3,
          'DescribeGroups describes the consumer group: %s' % fields)
    s = kw.connect(host, port)
    j = kw.join_group_v0(s, group, b'')
    check(j and j[0] == 23, 'JoinGroup on a consumer group with members: '
          'INCONSISTENT_GROUP_PROTOCOL (%s)' % (j,))
    s.close()
    for c in cons:
        c.leave()
    admin.close()


def phase_refusals(host, port):
    topic, group = 'k848-r', 'k848-r'
    kw.create_topic(host, port, topic, 2)
    c = Conn(host, port)
    a = c.heartbeat(group, 'nobody', 3, owned={})
    check(a['err'] == 25, 'a heartbeat of an unknown member: UNKNOWN_MEMBER_ID (%d)' % a['err'])
    a = c.heartbeat(group, '', 0, topics=[topic], owned={})
    mid, ep = a['member'], a['epoch']
    check(a['err'] == 0 and mid and ep >= 1, 'a member joins and gets an id and an epoch')
    a = c.heartbeat(group, mid, ep + 1, owned={})
    check(a['err'] == 110, 'an epoch from the future: FENCED_MEMBER_EPOCH (%d)' % a['err'])
    a = c.heartbeat(group, mid, 0, topics=[topic], owned=None)
    check(a['err'] == 42, 'joining without TopicPartitions: INVALID_REQUEST (%d)' % a['err'])
    a = c.heartbeat(group, '', 0, topics=[topic], owned={}, assignor='sticky')
    check(a['err'] == 112, 'an unknown assignor: UNSUPPORTED_ASSIGNOR (%d)' % a['err'])
    a = c.heartbeat(group, '', 0, topics=['t%d' % i for i in range(1001)], owned={})
    check(a['err'] == 42, 'a subscription of 1001 topics: INVALID_REQUEST (%d)' % a['err'])
    # static members: a temporary leave keeps the partitions for the replacement
    s1 = c.heartbeat('k848-s', '', 0, topics=[topic], owned={}, instance='inst-1')
    a = c.heartbeat('k848-s', '', 0, topics=[topic], owned={}, instance='inst-1')
    check(a['err'] == 111, 'a second member with an instance id in use: UNRELEASED_INSTANCE_ID')
    a = c.heartbeat('k848-s', s1['member'], -2, instance='inst-1')
    check(a['err'] == 0 and a['epoch'] == -2, 'a static member leaves for a while (epoch -2)')
    s2 = c.heartbeat('k848-s', '', 0, topics=[topic], owned={}, instance='inst-1')
    check(s2['err'] == 0 and s2['epoch'] == s1['epoch'] and s2['assignment'] ==
          s1['assignment'] and s2['member'] != s1['member'],
          'a static member rejoins with its partitions and epoch, without a rebalance')
    # regexes (v1)
    a = c.heartbeat('k848-x', '', 0, topics=[], owned={}, regex='k848-r|nomatch', version=1)
    parts = sum(len(v) for v in (a['assignment'] or {}).values())
    check(a['err'] == 0 and parts == 2, 'a regex subscription gets the matching topic (%d)' % parts)
    a = c.heartbeat('k848-y', '', 0, topics=[], owned={}, regex='(a', version=1)
    check(a['err'] == 131, 'a regex that does not compile: INVALID_REGULAR_EXPRESSION')
    a = c.heartbeat('k848-y', '', 0, topics=[], owned={}, regex='(a{1,100}){1,100}', version=1)
    check(a['err'] == 131, 'a regex with interval counts is refused (bounded matcher)')
    # a classic group with members keeps its id
    s = kw.connect(host, port)
    kw.join_group_v0(s, 'k848-classic', b'')
    a = c.heartbeat('k848-classic', '', 0, topics=[topic], owned={})
    check(a['err'] == 69, 'the id of a classic group with members: GROUP_ID_NOT_FOUND (%d)'
          % a['err'])
    s.close()
    d = c.describe(['no-such-group'])[0]
    check(d['err'] == 69, 'ConsumerGroupDescribe of an unknown group: GROUP_ID_NOT_FOUND')
    c.close()


def phase_restart(host, port):
    c = Conn(host, port)
    a = c.heartbeat('k848-group', 'a-member-before-restart', 7, owned={})
    check(a['err'] == 25, 'after a restart a member hears UNKNOWN_MEMBER_ID (%d)' % a['err'])
    a = c.heartbeat('k848-group', '', 0, topics=['k848'], owned={})
    parts = sum(len(v) for v in (a['assignment'] or {}).values())
    check(a['err'] == 0 and parts == 6, 'and rejoins at epoch 0 with every partition')
    offs = [committed(c, 'k848-group', 'k848', p) for p in range(6)]
    check(all(o > 0 for o in offs), 'committed offsets survive the restart (%s)' % offs)
    c.close()


def phase_timeout(host, port):
    """brookd runs with group.consumer.session.timeout.ms=1500: a member that stops
    heartbeating is gone 150 ms after its deadline (no sweep makes it wait)."""
    import time
    c = Conn(host, port)
    a = c.heartbeat('k848-timeout', '', 0, topics=['k848'], owned={})
    last = time.monotonic()
    check(a['err'] == 0, 'a member joins the group that will time out (%d)' % a['err'])
    time.sleep(max(0.0, last + 1.5 + 0.15 - time.monotonic()))  # the deadline is the event
    g = c.describe(['k848-timeout'])[0]
    members = len(g['members'] or [])
    check(members == 0, 'its session timeout removed it within 150 ms (%d members, %s)'
          % (members, g['state']))
    c.close()


def phase_hostile(host, port, pid, log):
    """Peers that multiply: each case while a control client keeps working."""
    from guard import Guard
    topic = 'k848-h'
    kw.create_topic(host, port, topic, 6)
    g = Guard(host, port, int(pid), log)
    c = Conn(host, port)

    def full_group():
        errs = [c.heartbeat('k848-big', '', 0, topics=[topic], owned={})['err']
                for _ in range(1001)]
        return errs[:1000] == [0] * 1000 and errs[1000] == 81
    g.case('kip848: 1000 members join, the 1001st gets GROUP_MAX_SIZE_REACHED', full_group)

    def describe_many():
        body = kw.uvarint(100001) + cstr('k848-big') * 100000 + b'\x00\x00'
        s = kw.connect(host, port)
        s.sendall(kw.request_flexible(69, 0, 1, body, 'kip848'))
        return kw.answer_or_close(s) is None  # 100000 x 1000 members: refused, not built
    g.case('kip848: ConsumerGroupDescribe naming a 1000-member group 100000 times is refused',
           describe_many)

    def owned_huge():
        owned = {b'\x01' * 16: set(range(1000000))}
        a = c.heartbeat('k848-big', 'nobody', 1, owned=owned)
        return a['err'] == 42
    g.case('kip848: a heartbeat owning a million partitions: INVALID_REQUEST', owned_huge)

    def regex_heavy():
        rx = '(' + '|'.join('k848-h' + '.*' * 8 for _ in range(20)) + ')'
        a = c.heartbeat('k848-rx', '', 0, topics=[], owned={}, regex=rx[:1024], version=1)
        return a['err'] in (0, 131)
    g.case('kip848: a long regex of many stars is answered', regex_heavy)
    c.close()
    return g.finish()


def main():
    phase, addr = sys.argv[1], sys.argv[2]
    host, port = addr.rsplit(':', 1)
    if phase == 'hostile':
        sys.exit(phase_hostile(host, int(port), sys.argv[3], sys.argv[4]) or (1 if FAILED else 0))
    {'main': phase_main, 'refusals': phase_refusals, 'restart': phase_restart,
     'timeout': phase_timeout}[phase](host, int(port))
    sys.exit(1 if FAILED else 0)


if __name__ == '__main__':
    main()
