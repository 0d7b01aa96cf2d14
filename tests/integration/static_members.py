#!/usr/bin/python3
"""Static group membership (KIP-345) and exact session timeouts, against a live brookd.

  restart-within   three librdkafka consumers of one group, each with its own
                   group.instance.id; one is closed and started again within its
                   session timeout (the group's leader, the harder case: it must
                   not assign again): it gets the same partitions back, and the
                   other two never see a rebalance (their rebalance callbacks are
                   not called) while the group stays at its generation.
  restart-after    the same member is closed and stays away past its session
                   timeout: the others see exactly one rebalance (the member's
                   removal); started again, it causes exactly one more.
  delete-after     a raw JoinGroup/SyncGroup member with a 6 s session timeout
                   stops; DeleteGroups sent 100 ms after its deadline succeeds (one
                   sent 300 ms before it is NON_EMPTY_GROUP), and the member is
                   seen gone within a few ms of the deadline.
  flexible         JoinGroup v9, SyncGroup v5, Heartbeat v4, LeaveGroup v5 and
                   DeleteGroups v2 around a static leader restarted with v9.
  versions         ListGroups v5 with state and type filters.

Each wait polls a condition until a deadline; "nothing happened" is checked over a
fixed window of several heartbeat intervals after the thing that could cause it.

usage: static_members.py HOST:PORT BROOKD_LOG
Needs python3-confluent-kafka (librdkafka).
"""
import os
import re
import struct
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import (Reader, array, bytes_, compact_array, compact_string,  # noqa: E402
                       connect, read_response, request, string)

BROKER = sys.argv[1]
LOG = sys.argv[2]
HOST, PORT = BROKER.rsplit(':', 1)
PORT = int(PORT)
TOPIC = 'static-members'
GROUP = 'static-group'
SESSION_MS = 6000
HEARTBEAT_MS = 300
QUIET_S = 3.0  # ten heartbeat intervals: a rebalance would be seen well within
failures = 0


def report(ok, name, why=''):
    global failures
    print(('ok - ' if ok else 'not ok - ') + name + ('' if ok or not why else ': ' + why),
          flush=True)
    failures += 0 if ok else 1


def wait_until(cond, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)  # a polling interval, not a synchronisation
    return cond()


def log_count(text):
    """Lines of brookd's log about GROUP that contain text."""
    with open(LOG, errors='replace') as f:
        return sum(1 for line in f if 'group %s:' % GROUP in line and text in line)


class Member:
    """One librdkafka consumer polled by its own thread; counts its rebalance callbacks."""

    def __init__(self, instance):
        self.instance = instance
        self.assigns = 0
        self.revokes = 0
        self.partitions = []
        self.lock = threading.Lock()
        self.stop = False
        self.c = Consumer({
            'bootstrap.servers': BROKER,
            'client.id': instance,  # brook's member ids start with it: the log names the leader
            'group.id': GROUP,
            'group.instance.id': instance,
            'session.timeout.ms': SESSION_MS,
            'heartbeat.interval.ms': HEARTBEAT_MS,
            'partition.assignment.strategy': 'range',
            'auto.offset.reset': 'earliest',
            'enable.auto.commit': False,
        })
        self.c.subscribe([TOPIC], on_assign=self.on_assign, on_revoke=self.on_revoke)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def on_assign(self, c, parts):
        with self.lock:
            self.assigns += 1
            self.partitions = sorted(p.partition for p in parts)

    def on_revoke(self, c, parts):
        with self.lock:
            self.revokes += 1
            self.partitions = []

    def run(self):
        while not self.stop:
            msg = self.c.poll(0.05)
            if msg is not None and msg.error() and msg.error().code() != KafkaError._PARTITION_EOF:
                print('# %s: %s' % (self.instance, msg.error()), flush=True)

    def counts(self):
        with self.lock:
            return self.assigns, self.revokes, list(self.partitions)

    def close(self):
        """Stop as a restarted process would: a static member sends no LeaveGroup."""
        self.stop = True
        self.t.join(10)
        self.c.close()


def all_assigned(members, n_parts=6):
    parts = []
    for m in members:
        a, _, p = m.counts()
        if a == 0 or not p:
            return False
        parts += p
    return sorted(parts) == list(range(n_parts))


def leader_instance():
    """The instance id of the group's current leader, from brookd's log."""
    leader = None
    with open(LOG, errors='replace') as f:
        for line in f:
            m = re.search(r'group %s: generation \d+ with \d+ members, protocol \S+, leader (\S+)'
                          % GROUP, line)
            if m:
                leader = m.group(1)
    return leader.rsplit('-', 5)[0] if leader else None


def setup_topic():
    admin = AdminClient({'bootstrap.servers': BROKER})
    fs = admin.create_topics([NewTopic(TOPIC, num_partitions=6, replication_factor=1)])
    for f in fs.values():
        try:
            f.result(30)
        except Exception as e:  # already there is fine
            if 'TOPIC_ALREADY_EXISTS' not in str(e):
                raise


def restart_within_and_after():
    setup_topic()
    members = [Member('pod-1'), Member('pod-2'), Member('pod-3')]
    report(wait_until(lambda: all_assigned(members), 60), 'three static members share 6 partitions')
    # let the group settle: every member holds its part and nothing is in flight
    wait_until(lambda: False, QUIET_S)
    # the leader is the harder case: it must not assign again, nor be asked to
    lead = leader_instance()
    report(lead in ('pod-1', 'pod-2', 'pod-3'), 'brookd names the leader', str(lead))
    print('# the leader, restarted: %s' % lead, flush=True)
    k = int(lead[-1]) - 1 if lead in ('pod-1', 'pod-2', 'pod-3') else 2
    members.append(members.pop(k))  # the one restarted is members[2]
    before = [m.counts() for m in members[:2]]
    rebalances = log_count('preparing rebalance')
    old_parts = members[2].counts()[2]

    members[2].close()
    members[2] = Member(lead)
    back = wait_until(lambda: members[2].counts()[2] == old_parts, 20)
    report(back, 'a static member restarted within its session timeout gets its partitions back',
           '%s then %s' % (old_parts, members[2].counts()[2]))
    wait_until(lambda: False, QUIET_S)
    after = [m.counts() for m in members[:2]]
    report(after == before, 'the other members see no rebalance (no callback called)',
           '%s then %s' % (before, after))
    report(log_count('preparing rebalance') == rebalances,
           'brookd starts no rebalance for the returning static member')
    report(log_count('left (LeaveGroup') == 0, 'a closing static member sends no LeaveGroup')

    # away past the session timeout: its removal is one rebalance for the others
    members[2].close()
    t_closed = time.monotonic()
    gone = wait_until(lambda: all(m.counts()[0] == b[0] + 1 and m.counts()[2]
                                  for m, b in zip(members[:2], before))
                      and all_assigned(members[:2]), SESSION_MS / 1000 + 20)
    took = time.monotonic() - t_closed
    report(gone, 'a static member away past its session timeout is removed (%.1f s)' % took)
    report(took >= SESSION_MS / 1000 - 0.5, 'not before its session timeout',
           'removed %.1f s after it stopped' % took)
    wait_until(lambda: False, QUIET_S)
    mid = [m.counts() for m in members[:2]]
    report([c[0] for c in mid] == [b[0] + 1 for b in before],
           'its removal is exactly one rebalance for the others', '%s then %s' % (before, mid))

    members[2] = Member(lead)
    report(wait_until(lambda: all_assigned(members), 30),
           'started again after the timeout, it is assigned partitions again')
    wait_until(lambda: False, QUIET_S)
    end = [m.counts() for m in members[:2]]
    report([c[0] for c in end] == [c[0] + 1 for c in mid],
           'its return is exactly one more rebalance', '%s then %s' % (mid, end))
    for m in members:
        m.close()


# ---- raw requests ----

def join_v1(s, group, session_ms, member=''):
    body = (string(group) + struct.pack('>ii', session_ms, session_ms) + string(member) +
            string('consumer') + array([string('range') + bytes_(b'\x00\x00')]))
    s.sendall(request(11, 1, 1, body))
    resp = read_response(s)
    off = 4
    err, gen = struct.unpack_from('>hi', resp, off)
    off += 6
    fields = []
    for _ in range(3):
        (n,) = struct.unpack_from('>h', resp, off)
        fields.append(resp[off + 2:off + 2 + max(n, 0)].decode())
        off += 2 + max(n, 0)
    return err, gen, fields[2]


def delete_group(s, group):
    s.sendall(request(42, 0, 3, array([string(group)])))
    resp = read_response(s)
    # correlation, throttle, results count, group id, error
    (n,) = struct.unpack_from('>h', resp, 12)
    return struct.unpack_from('>h', resp, 14 + n)[0]


def describe_state(s, group):
    s.sendall(request(15, 0, 4, array([string(group)])))
    resp = read_response(s)
    off = 4 + 4 + 2  # correlation, groups count, error
    (n,) = struct.unpack_from('>h', resp, off)
    off += 2 + n
    (n,) = struct.unpack_from('>h', resp, off)
    return resp[off + 2:off + 2 + n].decode()


def stable_member(s, group):
    """Join group as its only member and make it Stable; when the broker last saw it."""
    err, gen, member = join_v1(s, group, SESSION_MS)
    body = (string(group) + struct.pack('>i', gen) + string(member) +
            array([string(member) + bytes_(b'')]))
    s.sendall(request(14, 0, 2, body))
    read_response(s)
    return time.monotonic()  # the broker saw the member no later than this


def delete_after_timeout():
    s = connect(HOST, PORT)
    group = 'deadline-group'
    deadline = stable_member(s, group) + SESSION_MS / 1000
    time.sleep(max(0.0, deadline - 0.3 - time.monotonic()))  # time itself is the subject
    early = delete_group(s, group)
    report(early == 68, 'DeleteGroups 300 ms before the session timeout is NON_EMPTY_GROUP',
           'error %d' % early)
    time.sleep(max(0.0, deadline + 0.1 - time.monotonic()))
    err = delete_group(s, group)
    report(err == 0, 'DeleteGroups 100 ms after the last session timeout succeeds', 'error %d' % err)

    # how late the removal is: DescribeGroups as fast as answers come, from just before
    group = 'deadline-measured'
    deadline = stable_member(s, group) + SESSION_MS / 1000
    time.sleep(max(0.0, deadline - 0.05 - time.monotonic()))
    state = describe_state(s, group)
    while state != 'Empty' and time.monotonic() < deadline + 2:
        state = describe_state(s, group)
    late_ms = (time.monotonic() - deadline) * 1000
    report(state == 'Empty' and late_ms < 50,
           'the member is removed at its session timeout (%+.0f ms from the deadline as the '
           'client measures it)' % late_ms)
    s.close()


# ---- flexible versions ----

def flex_call(s, api, version, corr, body):
    """Sends a flexible request on s; a Reader of its answer after the header."""
    s.sendall(request(api, version, corr, body, 'static-members', True))
    r = Reader(read_response(s), True, 4)
    r.tags()
    return r


def list_groups_v5(s, states, types):
    body = (compact_array([compact_string(x) for x in states]) +
            compact_array([compact_string(x) for x in types]) + b'\x00')
    r = flex_call(s, 16, 5, 9, body)
    r.i32()  # throttle
    err = r.i16()

    def group(r):
        g = (r.string(), r.string(), r.string(), r.string())  # id, protocol type, state, type
        r.tags()
        return g
    return err, r.array(group)


def join_v9(s, group, instance, member=''):
    """JoinGroup v9: (error, generation, protocol type, protocol, leader, skip, member id,
    member ids listed)."""
    body = (compact_string(group) + struct.pack('>ii', SESSION_MS, SESSION_MS) +
            compact_string(member) + compact_string(instance) + compact_string('consumer') +
            compact_array([compact_string('range') + bytes_(b'\x00\x01', True) + b'\x00']) +
            compact_string('restarted') + b'\x00')
    r = flex_call(s, 11, 9, 11, body)
    r.i32()
    err, gen = r.i16(), r.i32()
    ptype, proto, leader = r.string(), r.string(), r.string()
    skip = r.i8() == 1
    mid = r.string()

    def listed(r):
        x = r.string()
        r.string()  # instance id
        r.bytes_()  # metadata
        r.tags()
        return x
    return err, gen, ptype, proto, leader, skip, mid, r.array(listed) or []


def sync_v5(s, group, gen, member, instance, assignments, proto='range'):
    """SyncGroup v5: (error, protocol type, protocol, assignment)."""
    body = (compact_string(group) + struct.pack('>i', gen) + compact_string(member) +
            compact_string(instance) + compact_string('consumer') + compact_string(proto) +
            compact_array([compact_string(m) + bytes_(a, True) + b'\x00'
                           for m, a in assignments]) + b'\x00')
    r = flex_call(s, 14, 5, 12, body)
    r.i32()
    err = r.i16()
    ptype, pname = r.string(), r.string()
    return err, ptype, pname, r.bytes_()


def heartbeat_v4(s, group, gen, member, instance):
    body = (compact_string(group) + struct.pack('>i', gen) + compact_string(member) +
            compact_string(instance) + b'\x00')
    r = flex_call(s, 12, 4, 13, body)
    r.i32()
    return r.i16()


def leave_v5(s, group, instance):
    """LeaveGroup v5 of one member named by instance id: (error, member error)."""
    body = (compact_string(group) +
            compact_array([compact_string('') + compact_string(instance) +
                           compact_string('scaled down') + b'\x00']) + b'\x00')
    r = flex_call(s, 13, 5, 14, body)
    r.i32()
    err = r.i16()
    n = r.length(True)
    r.string()  # member id
    r.string()  # instance id
    return err, r.i16() if n > 0 else None


def delete_v2(s, group):
    r = flex_call(s, 42, 2, 15, compact_array([compact_string(group)]) + b'\x00')
    r.i32()
    r.length(True)
    r.string()  # group id
    return r.i16()


def describe_v5(s, group):
    """DescribeGroups v5 with authorized operations: (error, state, protocol, [(member,
    instance, assignment)], authorized operations)."""
    r = flex_call(s, 15, 5, 16, compact_array([compact_string(group)]) + b'\x01\x00')
    r.i32()
    r.length(True)
    err = r.i16()
    r.string()  # group id
    state = r.string()
    r.string()  # protocol type
    proto = r.string()

    def member(r):
        mid, inst = r.string(), r.string()
        r.string()  # client id
        r.string()  # client host
        r.bytes_()  # metadata
        assignment = r.bytes_()
        r.tags()
        return mid, inst, assignment
    members = r.array(member) or []
    return err, state, proto, members, r.i32()


def static_flexible():
    """The newest versions end to end: a static leader restarted with JoinGroup v9 is
    told to skip the assignment (KIP-814) and keeps what it had."""
    group = 'flexible-group'
    s = connect(HOST, PORT)
    err, gen, ptype, proto, leader, skip, first, listed = join_v9(s, group, 'pod-9')
    report(err == 0 and leader == first and listed == [first] and not skip and
           ptype == 'consumer' and proto == 'range',
           'JoinGroup v9: a new static member leads, with protocol type and name',
           str((err, leader, first, listed, skip, ptype, proto)))
    res = sync_v5(s, group, gen, first, 'pod-9', [(first, b'A')])
    report(res == (0, 'consumer', 'range', b'A'), 'SyncGroup v5 names the protocol', str(res))
    res = describe_v5(s, group)
    report(res == (0, 'Stable', 'range', [(first, 'pod-9', b'A')], 3400),
           'DescribeGroups v5 with instance ids and authorized operations', str(res))
    s2 = connect(HOST, PORT)
    err, gen2, _, _, leader, skip, again, listed = join_v9(s2, group, 'pod-9')
    report(err == 0 and gen2 == gen and leader == again != first and skip and listed == [again],
           'JoinGroup v9: the static leader restarted keeps its generation and skips assigning',
           str((err, gen, gen2, leader, again, skip, listed)))
    res = sync_v5(s2, group, gen, again, 'pod-9', [])
    report(res == (0, 'consumer', 'range', b'A'), 'and its SyncGroup returns what it had', str(res))
    res = sync_v5(s2, group, gen, again, 'pod-9', [], proto='roundrobin')
    report(res[0] == 23, 'SyncGroup v5 naming another protocol is INCONSISTENT_GROUP_PROTOCOL',
           str(res))
    err = heartbeat_v4(s, group, gen, first, 'pod-9')
    report(err == 82, 'Heartbeat v4 from the replaced member id is FENCED_INSTANCE_ID', str(err))
    report(heartbeat_v4(s2, group, gen, again, 'pod-9') == 0, 'Heartbeat v4 from the new id')
    res = leave_v5(s2, group, 'pod-9')
    report(res == (0, 0), 'LeaveGroup v5 by instance id', str(res))
    err = delete_v2(s2, group)
    report(err == 0, 'DeleteGroups v2 of the emptied group', str(err))
    s.close()
    s2.close()


def versions():
    s = connect(HOST, PORT)
    group = 'listed-group'
    err, gen, member = join_v1(s, group, SESSION_MS)
    _, all_groups = list_groups_v5(s, [], [])
    mine = [g for g in all_groups if g[0] == group]
    report(mine == [(group, 'consumer', 'CompletingRebalance', 'classic')],
           'ListGroups v5 gives state and type', str(mine))
    _, f1 = list_groups_v5(s, [' completingrebalance '], ['CLASSIC'])
    report(group in [g[0] for g in f1], 'ListGroups filters match as Kafka (trimmed, any case)')
    _, f2 = list_groups_v5(s, ['Stable'], [])
    _, f3 = list_groups_v5(s, [], ['consumer'])
    report(group not in [g[0] for g in f2] and group not in [g[0] for g in f3],
           'ListGroups leaves out other states and types')
    s.close()


static_flexible()
versions()
restart_within_and_after()
delete_after_timeout()
sys.exit(1 if failures else 0)
