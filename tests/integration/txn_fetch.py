"""txn_fetch.py - the read_committed path on the wire: a transactional producer in
hand-built frames (InitProducerId with a transactional id, AddPartitionsToTxn,
Produce of batches with attribute 0x10, EndTxn), then Fetch at every version from 4
and ListOffsets from 2 with isolation_level 1: the last stable offset stops at the
oldest open transaction, the aborted transactions of the range are listed, and the
markers are Kafka's control batches.

usage: txn_fetch.py HOST:PORT DATA_DIR
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fetch_versions as fv  # noqa: E402
from fetch_versions import W, Conn, check, create, topic_id  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from kafkawire import crc32c, varint  # noqa: E402

TOPIC = 'txf'


def txn_batch(pid, epoch, seq, values):
    """A transactional RecordBatch v2 (attribute 0x10) of null-keyed records."""
    recs = b''
    for i, v in enumerate(values):
        body = b'\x00' + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    now = int(time.time() * 1000)
    after = struct.pack('>hiqqqhii', 0x10, len(values) - 1, now, now, pid, epoch, seq,
                        len(values)) + recs
    rest = struct.pack('>ibI', -1, 2, crc32c(after)) + after
    return struct.pack('>qi', 0, len(rest)) + rest


def init_pid(c, txn_id):
    w = W(True).string(txn_id).i32(60000).i64(-1).i16(-1).tags()
    r, _ = c.call(22, 4, bytes(w.b), True)
    r.i32()
    return r.i16(), r.i64(), r.i16()


def add_partitions(c, txn_id, pid, epoch):
    w = W(True).string(txn_id).i64(pid).i16(epoch)
    w.array([0], lambda w, _: w.string(TOPIC).array([0], lambda w, p: w.i32(p)).tags()).tags()
    r, _ = c.call(24, 3, bytes(w.b), True)
    r.i32()
    errs = []
    r.array(lambda r: (r.string(), r.array(lambda r: (errs.append((r.i32(), r.i16())[1]),
                                                      r.tags())), r.tags()))
    return errs[0] if errs else -1


def produce_txn(c, txn_id, batch):
    w = W(False).string(txn_id).i16(-1).i32(10000)
    w.array([0], lambda w, _: w.string(TOPIC).array([0], lambda w, _: w.i32(0).bytes_(batch)))
    r, _ = c.call(0, 3, bytes(w.b), False)
    r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    return None


def end_txn(c, txn_id, pid, epoch, commit):
    w = W(True).string(txn_id).i64(pid).i16(epoch).i8(1 if commit else 0).tags()
    r, _ = c.call(26, 3, bytes(w.b), True)
    r.i32()
    return r.i16()


def fetch_committed(c, v, tid, offset):
    """(error, hw, lso, aborted [(pid, first)], records) of partition 0, read_committed."""
    body = bytearray(fv.fetch_body(v, [(tid if v >= 13 else TOPIC, 0, offset, 1 << 20)]))
    body[16 if v <= 14 else 12] = 1  # isolation_level: read_committed
    flex = v >= 12
    r, _ = c.call(1, v, bytes(body), flex)
    r.i32()
    if v >= 7:
        r.i16(), r.i32()
    out = []

    def rpart(r):
        p, e, hw, lso = r.i32(), r.i16(), r.i64(), r.i64()
        if v >= 5:
            r.i64()
        ab = r.array(lambda r: (r.i64(), r.i64(), r.tags())[:2])
        if v >= 11:
            r.i32()
        recs = r.bytes_() or b''
        r.tags()
        out.append((e, hw, lso, ab, recs))

    def rtop(r):
        r.uuid() if v >= 13 else r.string()
        r.array(rpart)
        r.tags()
    r.array(rtop)
    r.tags()
    return out[0]


def latest(c, v, isolation):
    """ListOffsets latest (-1) of partition 0 at version v (2+) with an isolation level."""
    flex = v >= 6
    w = W(flex).i32(-1).i8(isolation)

    def part(w, _):
        w.i32(0)
        if v >= 4:
            w.i32(-1)
        w.i64(-1).tags()
    w.array([0], lambda w, _: w.string(TOPIC).array([0], part).tags())
    if v >= 10:
        w.i32(5000)
    w.tags()
    r, _ = c.call(2, v, bytes(w.b), flex)
    r.i32()
    out = []

    def rpart(r):
        p, e, ts, off = r.i32(), r.i16(), r.i64(), r.i64()
        if v >= 4:
            r.i32()
        r.tags()
        out.append((e, off))
    r.array(lambda r: (r.string(), r.array(rpart), r.tags()))
    r.tags()
    return out[0]


def txn_start(c, pid):
    """DescribeProducers v0: current_txn_start_offset of producer pid on partition 0."""
    w = W(True)
    w.array([0], lambda w, _: w.string(TOPIC).array([0], lambda w, p: w.i32(p)).tags()).tags()
    r, _ = c.call(61, 0, bytes(w.b), True)
    r.i32()
    found = {}

    def rprod(r):
        p, _, _, _, _, start = r.i64(), r.i32(), r.i32(), r.i64(), r.i32(), r.i64()
        r.tags()
        found[p] = start

    def rpart(r):
        r.i32(), r.i16(), r.string()
        r.array(rprod)
        r.tags()
    r.array(lambda r: (r.string(), r.array(rpart), r.tags()))
    r.tags()
    return found.get(pid)


def batch_heads(recs):
    """[(base offset, attributes, producer id)] of the whole batches in recs."""
    out, o = [], 0
    while o + 61 <= len(recs):
        base, n = struct.unpack_from('>qi', recs, o)
        if o + 12 + n > len(recs):
            break
        attrs = struct.unpack_from('>h', recs, o + 21)[0]
        pid = struct.unpack_from('>q', recs, o + 43)[0]
        out.append((base, attrs, pid, bytes(recs[o:o + 12 + n])))
        o += 12 + n
    return out


def main():
    host, port = sys.argv[1].rsplit(':', 1)
    data = sys.argv[2]
    c = Conn(host, int(port))
    check(create(c, TOPIC, 1) == 0, 'txn_fetch: a topic is created')
    tid = topic_id(data, TOPIC)
    err, pid, epoch = init_pid(c, 'txf-app')
    if not check(err == 0 and pid >= 0, f'txn_fetch: InitProducerId with a transactional id ({err})'):
        return 1
    check(add_partitions(c, 'txf-app', pid, epoch) == 0, 'txn_fetch: AddPartitionsToTxn')
    produce_txn(c, 'txf-app', txn_batch(pid, epoch, 0, [b'c0', b'c1', b'c2']))
    for v in range(4, 18):
        e, hw, lso, ab, recs = fetch_committed(c, v, tid, 0)
        check(e == 0 and hw == 3 and lso == 0 and recs == b'' and ab == [],
              f'txn_fetch: Fetch v{v} read_committed stops at the open transaction '
              f'(hw {hw}, lso {lso}, {len(recs)} bytes)')
    check(txn_start(c, pid) == 0, 'txn_fetch: DescribeProducers shows the open transaction at 0')
    for v in range(2, 11):
        check(latest(c, v, 1) == (0, 0) and latest(c, v, 0) == (0, 3),
              f'txn_fetch: ListOffsets v{v} latest is the LSO (0) under read_committed, '
              'the high watermark (3) under read_uncommitted')
    check(end_txn(c, 'txf-app', pid, epoch, True) == 0, 'txn_fetch: EndTxn commit')
    check(txn_start(c, pid) == -1, 'txn_fetch: DescribeProducers: no open transaction after it')
    e, hw, lso, ab, recs = fetch_committed(c, 4, tid, 0)
    heads = batch_heads(recs)
    check(hw == 4 and lso == 4 and ab == [] and [h[1] for h in heads] == [0x10, 0x30],
          'txn_fetch: after the commit the data and its COMMIT marker are stable '
          f'({[(h[0], h[1]) for h in heads]})')
    if heads:
        marker = heads[-1][3]
        check(marker[61:] == bytes([32, 0, 0, 0, 8, 0, 0, 0, 1, 12, 0, 0]) + marker[-5:-1] +
              b'\x00' and struct.unpack_from('>i', marker, 57)[0] == 1,
              'txn_fetch: the marker is one control record: key version 0 type 1 (COMMIT)')
    # a second transaction, aborted, with the first one's data before it
    check(add_partitions(c, 'txf-app', pid, epoch) == 0, 'txn_fetch: AddPartitionsToTxn again')
    produce_txn(c, 'txf-app', txn_batch(pid, epoch, 3, [b'a0', b'a1']))
    check(end_txn(c, 'txf-app', pid, epoch, False) == 0, 'txn_fetch: EndTxn abort')
    for v in range(4, 18):
        e, hw, lso, ab, recs = fetch_committed(c, v, tid, 0)
        check(e == 0 and hw == 7 and lso == 7 and ab == [(pid, 4)],
              f'txn_fetch: Fetch v{v} lists the aborted transaction ({ab}, lso {lso})')
    e, hw, lso, ab, recs = fetch_committed(c, 4, tid, 7)
    check(e == 0 and ab == [] and recs == b'', 'txn_fetch: nothing aborted past the marker')
    many_aborted(c, tid, pid, epoch)
    return 1 if fv.FAILS else 0


def many_aborted(c, tid, pid, epoch):
    """Past 1 000 aborted transactions in one range, the answer is cut before the first
    one it does not list, and the next Fetch lists the rest: aborted data never comes
    without its entry."""
    seq, start, firsts = 5, 7, []
    for i in range(1010):
        if add_partitions(c, 'txf-app', pid, epoch) != 0:
            check(False, f'txn_fetch: AddPartitionsToTxn #{i}')
            return
        produce_txn(c, 'txf-app', txn_batch(pid, epoch, seq, [b'x']))
        firsts.append(start + 2 * i)
        seq += 1
        if end_txn(c, 'txf-app', pid, epoch, False) != 0:
            check(False, f'txn_fetch: EndTxn abort #{i}')
            return
    offset, listed, rounds = start, [], 0
    while offset < start + 2 * 1010 and rounds < 10:
        e, hw, lso, ab, recs = fetch_committed(c, 16, tid, offset)
        heads = batch_heads(recs)
        if e or not heads:
            break
        end = heads[-1][0] + 1
        data = [h[0] for h in heads if h[1] == 0x10]
        check(len(ab) <= 1000 and all(f in [a[1] for a in ab] for f in data),
              f'txn_fetch: Fetch from {offset}: {len(ab)} aborted listed, every aborted '
              f'batch returned is among them ({len(data)} batches)')
        listed += [a[1] for a in ab if a[1] >= offset]
        offset, rounds = end, rounds + 1
    check(sorted(set(listed)) == firsts,
          f'txn_fetch: 1 010 aborted transactions listed over {rounds} fetches')


if __name__ == '__main__':
    sys.exit(main())
