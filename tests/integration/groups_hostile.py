#!/usr/bin/env python3
"""Hostile input to the group coordinator and committed offsets, against a live brookd.

Every case runs under tests/guard.py's Guard: a control client keeps producing and
fetching, brookd's peak RSS stays under the case's bound, its log grows by a few
lines per second at most. groups_hostile.sh starts and restarts brookd and runs
one phase of this script each time:

  main          JoinGroup with 65 MiB of protocol metadata, or naming 100 000
                protocols (the vote compared each with each); OffsetFetch naming one
                partition 20 000 times after a commit with 4 KiB of metadata;
                DescribeGroups naming a large group 80 times; ListGroups over many
                long-id groups (in total more than a response arena holds);
                OffsetCommit for an unknown topic, partition and an invalid name;
                a commit whose group id + topic pass 1 KiB, then OffsetFetch.
  restart       after a restart: ListGroups still answers every group; the long
                key is still committed.
  retention     brookd runs with offsets.retention.minutes=1 and brook.groups.max=2:
                a third group is refused with GROUP_MAX_SIZE_REACHED; the offsets of
                the Empty groups expire within the minute plus the check interval,
                and the groups go with them (then a new group fits again).
  retention-restart  after a restart the expired offsets stay expired (tombstones).

GROUPS_HOSTILE_ONLY=case_a,case_b runs only those cases (to try each on its own).
GROUPS_HOSTILE_FULL=1 lists 98 000 groups of 700-byte ids instead of 2 200 groups
of 32 000-byte ids (the same 68 MiB of ids, much slower to commit).

usage: groups_hostile.py PHASE HOST:PORT BROOKD_PID BROOKD_LOG
Standard library only.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from guard import Guard  # noqa: E402
from kafkawire import (Reader, answer_or_close, connect, ensure_topic,  # noqa: E402
                       read_response, request, string, sync_group_v0)

PHASE = sys.argv[1]
HOST, PORT = sys.argv[2].rsplit(':', 1)
PORT = int(PORT)
PID = int(sys.argv[3])
LOG = sys.argv[4]

TOPIC = 'gh-topic'
FULL = os.environ.get('GROUPS_HOSTILE_FULL') == '1'
LIST_N, LIST_LEN = (98000, 700) if FULL else (2200, 32000)
# ASan's redzones and quarantine are no figure: bounds are 3x under a sanitizer build
SCALE = 3 if os.environ.get('GROUPS_SANITIZED') == '1' else 1
LONG_GROUP = 'long-' + 'g' * 1500  # group id + topic pass the old 1 KiB key buffer

OFFSET_COMMIT, OFFSET_FETCH, JOIN_GROUP, DESCRIBE_GROUPS, LIST_GROUPS = 8, 9, 11, 15, 16
GROUP_MAX_SIZE_REACHED, UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE = 81, 3, 12


# ---- wire helpers ------------------------------------------------------------------

def answer(resp):
    """A classic Reader of resp past its correlation id."""
    return Reader(resp, False, 4)


def commit_body(group, topic, parts, metadata=''):
    """OffsetCommit v2: a simple commit (generation -1) of (partition, offset) pairs."""
    body = string(group) + struct.pack('>i', -1) + string('') + struct.pack('>q', -1)
    body += struct.pack('>i', 1) + string(topic) + struct.pack('>i', len(parts))
    for p, off in parts:
        body += struct.pack('>iq', p, off) + string(metadata)
    return body


def commit_errors(resp):
    """[(topic, partition, error)] of an OffsetCommit v2 response."""
    r, out = answer(resp), []
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            out.append((name, r.i32(), r.i16()))
    return out


def commit(s, group, topic, parts, metadata='', corr=1):
    s.sendall(request(OFFSET_COMMIT, 2, corr, commit_body(group, topic, parts, metadata)))
    return commit_errors(read_response(s))


def fetch_body(group, topic, parts):
    """OffsetFetch v1 naming these partitions of one topic."""
    return (string(group) + struct.pack('>i', 1) + string(topic) +
            struct.pack('>i', len(parts)) + b''.join(struct.pack('>i', p) for p in parts))


def fetch_offsets(resp):
    """[(partition, offset, metadata length, error)] of an OffsetFetch v1 response."""
    r, out = answer(resp), []
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p, off, meta, err = r.i32(), r.i64(), r.string(), r.i16()
            out.append((p, off, len(meta or ''), err))
    return out


def fetch_one(s, group, topic, part=0):
    s.sendall(request(OFFSET_FETCH, 1, 1, fetch_body(group, topic, [part])))
    return fetch_offsets(read_response(s))[0][1]


def list_groups(s):
    """The group ids of a ListGroups v0 response, or None when brookd closed."""
    s.sendall(request(LIST_GROUPS, 0, 1, b''))
    resp = answer_or_close(s, 60)
    if resp is None:
        return None
    r = answer(resp)
    if r.i16() != 0:
        return None
    return [(r.string(), r.string())[0] for _ in range(r.i32())]


def join_body(group, member, metadata, session_ms=30000):
    """JoinGroup v1 with one protocol "range"."""
    return (string(group) + struct.pack('>ii', session_ms, session_ms) + string(member) +
            string('consumer') + struct.pack('>i', 1) + string('range') +
            struct.pack('>i', len(metadata)) + metadata)


def join(s, group, metadata):
    """(error, member id) of a JoinGroup v1."""
    s.sendall(request(JOIN_GROUP, 1, 1, join_body(group, '', metadata)))
    resp = answer_or_close(s, 60)
    if resp is None:
        return None, None
    r = answer(resp)
    err, _, _, _, member = r.i16(), r.i32(), r.string(), r.string(), r.string()
    return err, member


def describe_body(groups):
    return struct.pack('>i', len(groups)) + b''.join(string(g) for g in groups)


# ---- phase main ----------------------------------------------------------------------

def case_join_65mib():
    s = connect(HOST, PORT)
    err, _ = join(s, 'gh-huge-join', b'm' * (65 << 20))
    s.close()
    print(f'# JoinGroup with 65 MiB of metadata: error {err}', flush=True)
    return err == GROUP_MAX_SIZE_REACHED


def case_join_many_protocols():
    """100 000 protocols: the protocol vote compared each with each (minutes of CPU)."""
    protos = [f'p{i:06d}' for i in range(100000)]
    body = (string('gh-protocols') + struct.pack('>ii', 30000, 30000) + string('') +
            string('consumer') + struct.pack('>i', len(protos)) +
            b''.join(string(p) + struct.pack('>i', 0) for p in protos))
    s = connect(HOST, PORT)
    s.sendall(request(JOIN_GROUP, 1, 1, body))
    resp = answer_or_close(s, 20)
    s.close()
    print(f'# JoinGroup naming 100 000 protocols: '
          f'{"closed" if resp is None else "error %d" % answer(resp).i16()}', flush=True)
    return resp is None


def case_fetch_20000():
    s = connect(HOST, PORT)
    errs = commit(s, 'gh-fetch', TOPIC, [(0, 42)], metadata='x' * 4096)
    over = commit(s, 'gh-fetch', TOPIC, [(0, 43)], metadata='x' * 4097)
    if errs != [(TOPIC, 0, 0)] or over != [(TOPIC, 0, OFFSET_METADATA_TOO_LARGE)]:
        print(f'# commit with 4096 and 4097 bytes of metadata: {errs}, {over}', flush=True)
        return False
    s.sendall(request(OFFSET_FETCH, 1, 2, fetch_body('gh-fetch', TOPIC, [0] * 20000)))
    resp = answer_or_close(s, 60)
    s.close()
    if resp is None:  # refused is an answer too, as long as brookd lives
        print('# OffsetFetch x 20 000: connection closed', flush=True)
        return True
    got = fetch_offsets(resp)
    print(f'# OffsetFetch x 20 000: {len(got)} partitions, {len(resp)} bytes', flush=True)
    return len(got) == 20000 and all(g == (0, 42, 4096, 0) for g in got)


def case_describe_80():
    s = connect(HOST, PORT)
    err, member = join(s, 'gh-large', b'd' * (2 << 20))
    if err != 0:
        print(f'# JoinGroup with 2 MiB of metadata: error {err}', flush=True)
        return False
    sync_group_v0(s, 'gh-large', 1, member, b'')  # Stable: only then is metadata described
    d = connect(HOST, PORT)
    d.sendall(request(DESCRIBE_GROUPS, 0, 1, describe_body(['gh-large'])))
    r = answer(read_response(d))
    r.i32()
    err, gid, state = r.i16(), r.string(), r.string()
    r.string(), r.string()
    nmembers = r.i32()
    mid, _, _, meta = r.string(), r.string(), r.string(), r.bytes_()
    once = err == 0 and gid == 'gh-large' and nmembers == 1 and mid == member and \
        len(meta) == 2 << 20
    print(f'# DescribeGroups once: error {err}, state {state}, {nmembers} member(s), '
          f'{len(meta)} bytes of metadata', flush=True)
    d.sendall(request(DESCRIBE_GROUPS, 0, 2, describe_body(['gh-large'] * 80)))
    resp = answer_or_close(d, 60)
    d.close()
    s.close()
    if resp is not None:
        r = answer(resp)
        n = r.i32()
        print(f'# DescribeGroups x 80 answered: {n} groups, {len(resp)} bytes', flush=True)
        return once and n == 80
    print('# DescribeGroups x 80: connection closed', flush=True)
    return once


def list_ids(i):
    return f'gh-list-{i:06d}-'.ljust(LIST_LEN, 'l')


def case_list_many():
    s = connect(HOST, PORT)
    s.settimeout(120)
    window = 64  # commits in flight on one connection
    sent = done = 0
    while done < LIST_N:
        while sent < LIST_N and sent - done < window:
            s.sendall(request(OFFSET_COMMIT, 2, sent, commit_body(list_ids(sent), TOPIC,
                                                                 [(0, 7)])))
            sent += 1
        errs = commit_errors(read_response(s))
        if errs != [(TOPIC, 0, 0)]:
            print(f'# commit {done}: {errs}', flush=True)
            return False
        done += 1
    s.close()
    return check_list()


def check_list():
    s = connect(HOST, PORT)
    ids = list_groups(s)
    s.close()
    if ids is None:
        print('# ListGroups: no answer', flush=True)
        return False
    listed = sum(1 for g in ids if g.startswith('gh-list-'))
    print(f'# ListGroups: {len(ids)} groups, {listed} of {LIST_N} long ids', flush=True)
    return listed == LIST_N and set(ids) >= {list_ids(0), list_ids(LIST_N - 1)}


def case_commit_unknown():
    s = connect(HOST, PORT)
    cases = [('gh-no-such-topic', 0), ('bad/name', 0), (TOPIC, 99), (TOPIC, -1)]
    good = True
    for topic, part in cases:
        errs = commit(s, 'gh-unknown', topic, [(part, 5)])
        print(f'# commit to {topic}/{part}: {errs}', flush=True)
        good = good and errs == [(topic, part, UNKNOWN_TOPIC_OR_PARTITION)]
    s.sendall(request(OFFSET_FETCH, 1, 9, fetch_body('gh-unknown', 'gh-no-such-topic', [0])))
    good = good and fetch_offsets(read_response(s))[0][1] == -1
    s.close()
    return good


def case_long_key():
    s = connect(HOST, PORT)
    errs = commit(s, LONG_GROUP, TOPIC, [(0, 1234)])
    off = fetch_one(s, LONG_GROUP, TOPIC)
    s.close()
    print(f'# long key: commit {errs}, fetch {off}', flush=True)
    return errs == [(TOPIC, 0, 0)] and off == 1234


def check_long_key():
    s = connect(HOST, PORT)
    off = fetch_one(s, LONG_GROUP, TOPIC)
    s.close()
    print(f'# long key after restart: {off}', flush=True)
    return off == 1234


# ---- phase retention -------------------------------------------------------------------

def commit_err(s, group, off=1):
    return commit(s, group, TOPIC, [(0, off)])[0][2]


def retention():
    s = connect(HOST, PORT)
    first = [commit_err(s, 'gh-expire-1'), commit_err(s, 'gh-expire-2')]
    third = commit_err(s, 'gh-expire-3')
    print(f'# commits of three groups with brook.groups.max=2: {first + [third]}', flush=True)
    capped = first == [0, 0] and third == GROUP_MAX_SIZE_REACHED
    t0 = time.time()
    expired = False
    while time.time() - t0 < 80 and not expired:  # 60 s retention, 0.5 s checks
        expired = fetch_one(s, 'gh-expire-1', TOPIC) == -1
        if not expired:
            time.sleep(0.5)
    secs = time.time() - t0
    ids = list_groups(s)
    after = commit_err(s, 'gh-expire-3')
    s.close()
    print(f'# expired after {secs:.1f} s; groups listed: {ids}; new group then: {after}',
          flush=True)
    return capped and expired and secs >= 55 and ids == [] and after == 0


def retention_restart():
    s = connect(HOST, PORT)
    offs = [fetch_one(s, g, TOPIC) for g in ('gh-expire-1', 'gh-expire-2')]
    ids = list_groups(s)
    s.close()
    print(f'# after restart: offsets {offs}, groups {ids}', flush=True)
    return offs == [-1, -1] and ids == ['gh-expire-3']


# ---- main ------------------------------------------------------------------------------

class Only:
    """Runs only the cases GROUPS_HOSTILE_ONLY names (function names, comma-separated),
    to show each case on its own against an older build; all of them by default."""

    def __init__(self, guard):
        self.g = guard
        self.only = set(filter(None, os.environ.get('GROUPS_HOSTILE_ONLY', '').split(',')))

    def case(self, name, fn, **kw):
        if not self.only or fn.__name__ in self.only:
            self.g.case(name, fn, **kw)


def main():
    ensure_topic(HOST, PORT, TOPIC)
    guard = Guard(HOST, PORT, PID, LOG, rss_bound_mib=256 * SCALE)
    g = Only(guard)
    if PHASE == 'main':  # the case that leaves brookd largest comes last
        g.case('groups: JoinGroup with 65 MiB of metadata is GROUP_MAX_SIZE_REACHED',
               case_join_65mib, rss_bound_mib=256 * SCALE)
        g.case('groups: JoinGroup naming 100 000 protocols is refused at once',
               case_join_many_protocols, rss_bound_mib=256 * SCALE)
        g.case('groups: OffsetFetch naming a 4 KiB-metadata partition 20 000 times',
               case_fetch_20000, rss_bound_mib=384 * SCALE)
        g.case('groups: DescribeGroups naming a 2 MiB group 80 times', case_describe_80,
               rss_bound_mib=384 * SCALE)
        g.case('groups: OffsetCommit to unknown topics and partitions is '
               'UNKNOWN_TOPIC_OR_PARTITION', case_commit_unknown, rss_bound_mib=384 * SCALE)
        g.case('groups: a commit whose group id + topic pass 1 KiB is fetched back',
               case_long_key, rss_bound_mib=384 * SCALE)
        g.case(f'groups: ListGroups over {LIST_N} groups of {LIST_LEN}-byte ids',
               case_list_many, rss_bound_mib=512 * SCALE, log_lines=20)
    elif PHASE == 'restart':
        g.case(f'groups: ListGroups over {LIST_N} long-id groups after a restart', check_list,
               rss_bound_mib=512 * SCALE)
        g.case('groups: the long-key commit survives a restart', check_long_key,
               rss_bound_mib=512 * SCALE)
    elif PHASE == 'retention':
        g.case('groups: brook.groups.max caps groups; offsets of Empty groups expire '
               '(offsets.retention.minutes) and their groups go', retention, log_lines=1)
    elif PHASE == 'retention-restart':
        g.case('groups: expired offsets stay expired after a restart', retention_restart)
    return guard.finish()


if __name__ == '__main__':
    socket.setdefaulttimeout(120)
    sys.exit(main())
