"""fetch_versions.py - Fetch v4-17, ListOffsets v1-10, Produce v3-11 and InitProducerId
v0-5 on the wire, fetch sessions (KIP-227) and the fetch-size rule (KIP-74).

Every frame is built by hand here, at each version, so that a field brook reads or
writes at the wrong place shows as a wrong value, not as a client quietly retrying.

usage: fetch_versions.py HOST:PORT DATA_DIR    (DATA_DIR: where topic ids are kept)
"""
import glob
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from kafkawire import connect, read_response, record_batch, uvarint  # noqa: E402

FAILS = 0


def check(good, name):
    global FAILS
    print(('ok - ' if good else 'not ok - ') + name, flush=True)
    FAILS += not good
    return good


# ---- a writer and a reader for both encodings (flex: compact and tagged) ----

class W:
    def __init__(self, flex):
        self.flex, self.b = flex, bytearray()

    def i8(self, v): self.b += struct.pack('>b', v); return self
    def i16(self, v): self.b += struct.pack('>h', v); return self
    def i32(self, v): self.b += struct.pack('>i', v); return self
    def i64(self, v): self.b += struct.pack('>q', v); return self
    def uuid(self, v): self.b += v; return self

    def string(self, s):
        if s is None:
            self.b += uvarint(0) if self.flex else struct.pack('>h', -1)
        else:
            e = s.encode()
            self.b += (uvarint(len(e) + 1) if self.flex else struct.pack('>h', len(e))) + e
        return self

    def bytes_(self, v):
        if v is None:
            self.b += uvarint(0) if self.flex else struct.pack('>i', -1)
        else:
            self.b += (uvarint(len(v) + 1) if self.flex else struct.pack('>i', len(v))) + v
        return self

    def array(self, items, fn):
        self.b += uvarint(len(items) + 1) if self.flex else struct.pack('>i', len(items))
        for it in items:
            fn(self, it)
        return self

    def tags(self):
        if self.flex:
            self.b += b'\x00'
        return self


class R:
    def __init__(self, b, flex):
        self.b, self.o, self.flex = b, 0, flex

    def _u(self, fmt, n):
        v = struct.unpack_from(fmt, self.b, self.o)[0]
        self.o += n
        return v

    def i8(self): return self._u('>b', 1)
    def i16(self): return self._u('>h', 2)
    def i32(self): return self._u('>i', 4)
    def i64(self): return self._u('>q', 8)

    def uv(self):
        v = shift = 0
        while True:
            c = self.b[self.o]
            self.o += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return v

    def uuid(self):
        self.o += 16
        return bytes(self.b[self.o - 16:self.o])

    def length(self, wide):
        if self.flex:
            return self.uv() - 1
        return self.i32() if wide else self.i16()

    def string(self):
        n = self.length(False)
        if n < 0:
            return None
        self.o += n
        return bytes(self.b[self.o - n:self.o]).decode()

    def bytes_(self):
        n = self.length(True)
        if n < 0:
            return None
        self.o += n
        return bytes(self.b[self.o - n:self.o])

    def array(self, fn):
        n = self.length(True)
        return None if n < 0 else [fn(self) for _ in range(n)]

    def tags(self):
        if self.flex:
            for _ in range(self.uv()):
                self.uv()
                self.o += self.uv()


def frame(api, version, corr, body, flex):
    hdr = struct.pack('>hhi', api, version, corr) + struct.pack('>h', 8) + b'versions'
    if flex:
        hdr += b'\x00'
    msg = hdr + body
    return struct.pack('>i', len(msg)) + msg


class Conn:
    def __init__(self, host, port):
        self.s = connect(host, port)
        self.s.settimeout(60)
        self.corr = 0

    def call(self, api, version, body, flex):
        self.corr += 1
        self.s.sendall(frame(api, version, self.corr, body, flex))
        resp = read_response(self.s)
        if resp is None:
            raise EOFError(f'api {api} v{version}: connection closed')
        r = R(resp, flex)
        corr = r.i32()
        if corr != self.corr:
            raise ValueError(f'correlation {corr} != {self.corr}')
        r.tags()  # response header v1
        return r, len(resp)


# ---- Produce ----

def produce(c, v, topic, batch, partition=0):
    flex = v >= 9
    w = W(flex)
    if v >= 3:
        w.string(None)
    w.i16(-1).i32(10000)

    def part(w, _):
        w.i32(partition).bytes_(batch).tags()

    def top(w, _):
        w.string(topic).array([0], part).tags()
    w.array([0], top).tags()
    r, _ = c.call(0, v, bytes(w.b), flex)

    def rpart(r):
        p = {'index': r.i32(), 'error': r.i16(), 'base': r.i64()}
        if v >= 2:
            p['append_time'] = r.i64()
        if v >= 5:
            p['log_start'] = r.i64()
        if v >= 8:
            p['record_errors'] = r.array(lambda r: (r.i32(), (r.string(), r.tags())[0]))
            p['message'] = r.string()
        r.tags()
        return p

    def rtop(r):
        name = r.string()
        parts = r.array(rpart)
        r.tags()
        return name, parts
    tops = r.array(rtop)
    if v >= 1:
        r.i32()
    r.tags()
    return tops[0][1][0]


# ---- Fetch ----

def fetch_body(v, parts, max_bytes=50 << 20, session=(0, -1), forgotten=(), max_wait=0,
               min_bytes=1):
    """parts: [(topic name or id, partition, offset, partition_max_bytes)]."""
    flex = v >= 12
    w = W(flex)
    if v <= 14:
        w.i32(-1)
    w.i32(max_wait).i32(min_bytes).i32(max_bytes).i8(0)
    if v >= 7:
        w.i32(session[0]).i32(session[1])
    groups = []
    for t, p, off, pmax in parts:
        if not groups or groups[-1][0] != t:
            groups.append((t, []))
        groups[-1][1].append((p, off, pmax))

    def key(w, t):
        w.uuid(t) if v >= 13 else w.string(t)

    def part(w, x):
        p, off, pmax = x
        w.i32(p)
        if v >= 9:
            w.i32(-1)
        w.i64(off)
        if v >= 12:
            w.i32(-1)
        if v >= 5:
            w.i64(-1)
        w.i32(pmax).tags()

    def top(w, g):
        key(w, g[0])
        w.array(g[1], part).tags()
    w.array(groups, top)
    if v >= 7:
        fg = {}
        for t, p in forgotten:
            fg.setdefault(t, []).append(p)

        def ftop(w, item):
            key(w, item[0])
            w.array(item[1], lambda w, p: w.i32(p)).tags()
        w.array(list(fg.items()), ftop)
    if v >= 11:
        w.string('')
    w.tags()
    return bytes(w.b)


def fetch(c, v, parts, **kw):
    """(error, session id, [(topic key, partition, error, hw, log start, records)], size)."""
    flex = v >= 12
    r, size = c.call(1, v, fetch_body(v, parts, **kw), flex)
    r.i32()
    err = r.i16() if v >= 7 else 0
    sid = r.i32() if v >= 7 else 0
    out = []

    def rpart(r, t):
        p, e, hw = r.i32(), r.i16(), r.i64()
        r.i64()
        ls = r.i64() if v >= 5 else -1
        r.array(lambda r: (r.i64(), r.i64(), r.tags()))
        if v >= 11:
            r.i32()
        recs = r.bytes_() or b''
        r.tags()
        out.append((t, p, e, hw, ls, recs))

    def rtop(r):
        t = r.uuid() if v >= 13 else r.string()
        r.array(lambda r: rpart(r, t))
        r.tags()
    r.array(rtop)
    r.tags()
    return err, sid, out, size


def batches(recs):
    """[(base offset, last offset, size)] of the whole batches in a records blob."""
    out, o = [], 0
    while o + 12 <= len(recs):
        base, n = struct.unpack_from('>qi', recs, o)
        if o + 12 + n > len(recs):
            break
        (delta,) = struct.unpack_from('>i', recs, o + 23)
        out.append((base, base + delta, 12 + n))
        o += 12 + n
    return out


def next_offset(recs, current):
    b = batches(recs)
    return b[-1][1] + 1 if b else current


# ---- set-up: topics through Metadata v4 auto-creation; ids from the data directory ----

def create(c, name, partitions=1, compact=False):
    # CreateTopics v0: [topic: name, partitions, replication, assignments[], configs[]]
    w = W(False).i32(1).string(name).i32(partitions).i16(1).i32(0)
    if compact:
        w.i32(1).string('cleanup.policy').string('compact')
    else:
        w.i32(0)
    w.i32(30000)
    r, _ = c.call(19, 0, bytes(w.b), False)
    r.i32()
    r.string()
    return r.i16()


def topic_id(data, name):
    for path in glob.glob(os.path.join(data, '.topics', '*.properties')):
        props = dict(line.strip().split('=', 1) for line in open(path) if '=' in line)
        if props.get('brook.name') == name:
            return bytes.fromhex(props['brook.topic.id'].replace('-', ''))
    raise KeyError(name)


def main():
    host, port = sys.argv[1].rsplit(':', 1)
    data = sys.argv[2]
    c = Conn(host, int(port))
    check(create(c, 'fv', 3) == 0, 'a topic of 3 partitions is created')
    tid = topic_id(data, 'fv')

    # Produce at every version: v0-2 refused, v3-11 append and answer in their layout
    for v in range(0, 12):
        p = produce(c, v, 'fv', record_batch([b'v%d' % v]))
        if v < 3:
            check(p['error'] == 35, f'Produce v{v} is answered UNSUPPORTED_VERSION')
        else:
            check(p['error'] == 0 and p['base'] == v - 3,
                  f'Produce v{v} appends at offset {v - 3} ({p})')
    check(create(c, 'fv_compact', 1, compact=True) == 0, 'a compacted topic is created')
    keyless = record_batch([b'a', b'b'])
    p = produce(c, 11, 'fv_compact', keyless)
    check(p['error'] == 87 and p['record_errors'] == [(0, p['record_errors'][0][1]),
                                                      (1, p['record_errors'][1][1])]
          and p['message'], f'Produce v11: keyless records on a compacted topic are named '
          f'one by one ({p})')
    p = produce(c, 7, 'fv_compact', keyless)
    check(p['error'] == 87, 'Produce v7: the same batch is INVALID_RECORD, without the list')

    # Fetch at every version, by name to v12 and by id from v13
    for v in range(4, 18):
        key = tid if v >= 13 else 'fv'
        err, sid, parts, _ = fetch(c, v, [(key, 0, 0, 1 << 20)])
        got = parts[0] if parts else None
        good = (err == 0 and sid == 0 and len(parts) == 1 and got[0] == key and
                got[2] == 0 and got[3] == 9 and len(batches(got[5])) == 9)
        check(good, f'Fetch v{v} returns the 9 batches of partition 0 with the high watermark')
    for v in (13, 17):
        err, _, parts, _ = fetch(c, v, [(b'\x01' * 16, 0, 0, 1 << 20)])
        check(err == 0 and len(parts) == 1 and parts[0][0] == b'\x01' * 16 and parts[0][2] == 100,
              f'Fetch v{v}: an unknown topic id is UNKNOWN_TOPIC_ID ({parts})')

    list_offsets(c)
    init_producer_id(c)
    sessions(c, tid)
    kip74(c, data)
    return 1 if FAILS else 0


def list_offsets_call(c, v, topic, partition, ts):
    flex = v >= 6
    w = W(flex).i32(-1)
    if v >= 2:
        w.i8(0)

    def part(w, _):
        w.i32(partition)
        if v >= 4:
            w.i32(-1)
        w.i64(ts).tags()

    def top(w, _):
        w.string(topic).array([0], part).tags()
    w.array([0], top)
    if v >= 10:
        w.i32(5000)
    w.tags()
    r, _ = c.call(2, v, bytes(w.b), flex)
    if v >= 2:
        r.i32()

    def rpart(r):
        p = (r.i32(), r.i16(), r.i64(), r.i64(), r.i32() if v >= 4 else None)
        r.tags()
        return p

    def rtop(r):
        r.string()
        ps = r.array(rpart)
        r.tags()
        return ps
    return r.array(rtop)[0][0]


def list_offsets(c):
    import time
    check(create(c, 'fv_ts', 1) == 0, 'a topic for timestamps is created')
    now = int(time.time() * 1000)
    # three batches: the largest timestamp is in the second one (offset 1)
    for ts in (now - 5000, now + 60000, now):
        b = bytearray(record_batch([b'x']))
        struct.pack_into('>qq', b, 27, ts, ts)
        from kafkawire import crc32c
        struct.pack_into('>I', b, 17, crc32c(bytes(b[21:])))
        produce(c, 3, 'fv_ts', bytes(b))
    for v in range(1, 11):
        _, err, _, off, epoch = list_offsets_call(c, v, 'fv_ts', 0, -1)
        check(err == 0 and off == 3 and (epoch == 0 if v >= 4 else epoch is None),
              f'ListOffsets v{v}: latest is 3, leader epoch 0 from v4')
        _, err, _, off, _ = list_offsets_call(c, v, 'fv_ts', 0, -2)
        check(err == 0 and off == 0, f'ListOffsets v{v}: earliest is 0')
    for v in (7, 10):
        _, err, ts, off, epoch = list_offsets_call(c, v, 'fv_ts', 0, -3)
        check(err == 0 and off == 1 and ts == now + 60000 and epoch == 0,
              f'ListOffsets v{v}: max timestamp (-3) is the record at offset 1 ({off}, {ts})')
    _, err, ts, off, _ = list_offsets_call(c, 10, 'fv', 2, -3)
    check(err == 0 and off == -1 and ts == -1, 'ListOffsets v10: -3 on an empty partition is -1')
    _, err, ts, off, _ = list_offsets_call(c, 10, 'fv_ts', 0, now - 1000)
    check(err == 0 and off == 1, 'ListOffsets v10: by time finds the first record that late')


def init_producer_id(c):
    ids = set()
    for v in range(0, 6):
        flex = v >= 2
        w = W(flex).string(None).i32(60000)
        if v >= 3:
            w.i64(-1).i16(-1)
        r, _ = c.call(22, v, bytes(w.tags().b), flex)
        r.i32()
        err, pid, epoch = r.i16(), r.i64(), r.i16()
        ids.add(pid)
        check(err == 0 and pid > 0 and epoch == 0, f'InitProducerId v{v} hands out an id')
    check(len(ids) == 6, 'every InitProducerId gets a new id')
    for v in (3, 5):
        w = W(True).string(None).i32(60000).i64(pid).i16(0).tags()
        r, _ = c.call(22, v, bytes(w.b), True)
        r.i32()
        err, new, epoch = r.i16(), r.i64(), r.i16()
        check(err == 0 and new not in ids and epoch == 0,
              f'InitProducerId v{v} naming its id and epoch gets a fresh id (as Kafka, no '
              'transactional id)')
        w = W(True).string(None).i32(60000).i64(pid).i16(-1).tags()
        r, _ = c.call(22, v, bytes(w.b), True)
        r.i32()
        check(r.i16() == 42, f'InitProducerId v{v}: an id without an epoch is INVALID_REQUEST')
    w = W(True).string('txn').i32(60000).i64(-1).i16(-1).tags()
    r, _ = c.call(22, 5, bytes(w.b), True)
    r.i32()
    err, txn_pid, epoch = r.i16(), r.i64(), r.i16()
    check(err == 0 and txn_pid not in ids and epoch == 0,
          'InitProducerId v5 with a transactional id gets its own id (the coordinator\'s)')


def summary(parts):
    """What a client learns from a response: per partition, its answer."""
    return {(t, p): (e, hw, ls, recs) for t, p, e, hw, ls, recs in parts}


def sessions(c, tid):
    """A session's incremental answers carry exactly the partitions a full fetch shows
    changed, with the same bytes, over a scripted run of produces."""
    check(create(c, 'fs', 4) == 0, 'a topic of 4 partitions for sessions is created')
    for v in (7, 12, 13, 17):
        key = topic_id(DATA, 'fs') if v >= 13 else 'fs'
        full = Conn(HOST, PORT)
        inc = Conn(HOST, PORT)
        # start every fetcher at the high watermark, then write into partition 0
        offsets = {p: fetch(c, 4, [('fs', p, 0, 1 << 20)])[2][0][3] for p in range(4)}
        produce(c, 3, 'fs', record_batch([b'x']), 0)
        parts = [(key, p, offsets[p], 1 << 20) for p in range(4)]
        err, sid, first, _ = fetch(inc, v, parts, session=(0, 0))
        check(err == 0 and sid != 0 and len(first) == 4,
              f'Fetch v{v}: a full fetch with epoch 0 opens a session ({err}, {sid})')
        known = summary(first)
        inc_off = dict(offsets)
        for p in range(4):
            inc_off[p] = next_offset(known[(key, p)][3], inc_off[p])
        full_off = dict(inc_off)
        last_full = {k: (e, hw, ls) for k, (e, hw, ls, _) in known.items()}
        epoch, script = 1, [[0], [1, 1], [], [3], [0, 2], [], [2, 2, 2]]
        same = True
        for step, writes in enumerate(script):
            for p in writes:
                produce(c, 3, 'fs', record_batch([b's%d-%d' % (step, p)]), p)
            changed = [(key, p, inc_off[p], 1 << 20) for p in range(4)
                       if inc_off[p] != offsets[p]]
            offsets = dict(inc_off)
            err, sid2, got, _ = fetch(inc, v, changed, session=(sid, epoch))
            epoch += 1
            _, _, whole, _ = fetch(full, v, [(key, p, full_off[p], 1 << 20) for p in range(4)])
            want = {}
            for t, p, e, hw, ls, recs in whole:
                if recs or (e, hw, ls) != last_full[(t, p)] or e:
                    want[(t, p)] = (e, hw, ls, recs)
                last_full[(t, p)] = (e, hw, ls)
                full_off[p] = next_offset(recs, full_off[p])
            have = summary(got)
            for (t, p), ans in have.items():
                inc_off[p] = next_offset(ans[3], inc_off[p])
            if err or sid2 != sid or have != want:
                same = False
                print(f'# v{v} step {step}: err {err} sid {sid2}/{sid}\n#  incremental '
                      f'{sorted((k[1], a[1], len(a[3])) for k, a in have.items())}\n#  full '
                      f'{sorted((k[1], a[1], len(a[3])) for k, a in want.items())}')
                break
        check(same and inc_off == full_off,
              f'Fetch v{v}: the session\'s incremental answers equal what full fetches show '
              f'changed over {len(script)} steps')
        # a long poll over the session: answered by the produce, with that partition only
        moved = [(key, p, inc_off[p], 1 << 20) for p in range(4) if inc_off[p] != offsets[p]]
        inc.corr += 1
        inc.s.sendall(frame(1, v, inc.corr, fetch_body(v, moved, session=(sid, epoch),
                                                       max_wait=20000), v >= 12))
        epoch += 1
        produce(c, 3, 'fs', record_batch([b'poll']), 2)
        r = R(read_response(inc.s), v >= 12)
        polled = r.i32() == inc.corr
        r.tags()
        r.i32()
        polled &= r.i16() == 0 and r.i32() == sid
        parts_seen = []
        for _ in range(r.length(True)):
            r.uuid() if v >= 13 else r.string()
            for _ in range(r.length(True)):
                parts_seen.append(r.i32())
                r.i16()
                hw = r.i64()
                r.i64()
                if v >= 5:
                    r.i64()
                r.array(lambda r: (r.i64(), r.i64(), r.tags()))
                if v >= 11:
                    r.i32()
                recs = r.bytes_() or b''
                inc_off[parts_seen[-1]] = next_offset(recs, inc_off[parts_seen[-1]])
                r.tags()
            r.tags()
        check(polled and parts_seen == [2],
              f'Fetch v{v}: a long poll over the session is answered with the partition '
              f'written to ({parts_seen})')
        # two polls sent at once: the first is answered when the second arrives
        for e, moved in ((epoch, [(key, 2, inc_off[2], 1 << 20)]), (epoch + 1, [])):
            inc.corr += 1
            inc.s.sendall(frame(1, v, inc.corr, fetch_body(v, moved, session=(sid, e),
                                                           max_wait=20000), v >= 12))
        epoch += 2
        first = R(read_response(inc.s), v >= 12)
        first_ok = first.i32() == inc.corr - 1
        first.tags()
        first.i32()
        first_ok &= first.i16() == 0 and first.i32() == sid and first.length(True) == 0
        after = produce(c, 3, 'fs', record_batch([b'second']), 1)['base'] + 1
        second = R(read_response(inc.s), v >= 12)
        second_ok = second.i32() == inc.corr
        second.tags()
        second.i32()
        second_ok &= second.i16() == 0 and second.i32() == sid and second.length(True) == 1
        check(first_ok and second_ok,
              f'Fetch v{v}: a poll parked on the session is answered (empty) when the next '
              'one arrives, which then waits for data')
        produce(c, 3, 'fs', record_batch([b'resync']), 1)
        err, _, got, _ = fetch(inc, v, [(key, 1, after, 1 << 20)], session=(sid, epoch))
        epoch += 1
        check(err == 0 and [(x[1], len(batches(x[5]))) for x in got] == [(1, 1)],
              f'Fetch v{v}: the session goes on after the polls ({err})')
        # forgetting a partition drops it; an emptied session closes
        err, sid3, got, _ = fetch(inc, v, [], session=(sid, epoch),
                                  forgotten=[(key, 0), (key, 1), (key, 2)])
        epoch += 1
        produce(c, 3, 'fs', record_batch([b'after']), 0)
        err, _, got, _ = fetch(inc, v, [], session=(sid, epoch))
        epoch += 1
        check(err == 0 and all(p == 3 for _, p, *_ in got),
              f'Fetch v{v}: forgotten partitions are no longer answered ({got and got[0][:2]})')
        err, _, got, _ = fetch(inc, v, [], session=(sid, epoch + 5))
        check(err == 71, f'Fetch v{v}: a wrong epoch is INVALID_FETCH_SESSION_EPOCH ({err})')
        err, sid4, got, _ = fetch(inc, v, [], session=(sid, epoch),
                                  forgotten=[(key, 3)])
        check(err == 0 and sid4 == 0, f'Fetch v{v}: forgetting every partition closes the session')
        err, _, got, _ = fetch(inc, v, [], session=(sid, epoch + 1))
        check(err == 70, f'Fetch v{v}: a closed session is FETCH_SESSION_ID_NOT_FOUND ({err})')
        err, sid5, _, _ = fetch(inc, v, parts, session=(0, -1))
        check(err == 0 and sid5 == 0, f'Fetch v{v}: epoch -1 fetches without a session')
        full.s.close()
        inc.s.close()


def kip74(c, data):
    """Partitions of ~800 KiB batches, max_bytes 1 000 000: every response stays within
    max_bytes but for the first partition's first batch, and everything is read."""
    check(create(c, 'big', 4) == 0, 'a topic of 4 partitions for large batches is created')
    stored = 0
    for p in range(4):
        for i in range(3):
            v = bytes([p * 3 + i]) * (800 * 1024)
            stored += produce(c, 3, 'big', record_batch([v]), p)['error'] == 0
    check(stored == 12, f'12 batches of 800 KiB are stored ({stored})')
    for v in (4, 11, 12, 17):
        key = topic_id(data, 'big') if v >= 13 else 'big'
        offs = {p: 0 for p in range(4)}
        worst, rounds, rule = 0, 0, True
        while any(offs[p] < 3 for p in range(4)) and rounds < 100:
            rounds += 1
            _, _, parts, _ = fetch(c, v, [(key, p, offs[p], 1 << 20) for p in range(4)],
                                   max_bytes=1000000)
            total, first = 0, None
            for _, p, e, hw, ls, recs in parts:
                if not recs:
                    continue
                b = batches(recs)
                if first is None:
                    first = b[0][2]
                total += len(recs)
                offs[p] = b[-1][1] + 1
            worst = max(worst, total)
            if total > 1000000 and (first is None or total - first > 0):
                rule = False
        check(rule and all(offs[p] == 3 for p in range(4)),
              f'Fetch v{v}, max_bytes 1000000: all 12 batches read in {rounds} rounds, '
              f'largest answer {worst} bytes of records (one batch)')
    # partition_max_bytes below a batch: only the first partition gets one
    _, _, parts, _ = fetch(c, 11, [('big', p, 0, 1000) for p in range(4)])
    got = [p for _, p, _, _, _, recs in parts if recs]
    check(got == [0], f'partition_max_bytes 1000: only the first partition passes it ({got})')
    # several batches fit: 3 MB lets three through, never a fourth partial one
    _, _, parts, _ = fetch(c, 11, [('big', p, 0, 4 << 20) for p in range(4)], max_bytes=3000000)
    total = sum(len(recs) for *_, recs in parts)
    check(2400000 < total <= 3000000, f'max_bytes 3000000 returns {total} bytes of whole batches')


if __name__ == '__main__':
    HOST, PORT = sys.argv[1].rsplit(':', 1)
    PORT = int(PORT)
    DATA = sys.argv[2]
    sys.exit(main())
