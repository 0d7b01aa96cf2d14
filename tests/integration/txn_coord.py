"""txn_coord.py - the transaction coordinator on the wire, in hand-built frames.

txn_coord.sh runs one phase per brookd:

  main     InitProducerId (timeout validated), AddPartitionsToTxn (unknown
           partitions and OPERATION_NOT_ATTEMPTED), Produce of a transactional
           batch (KIP-890: refused on a partition outside the transaction),
           AddOffsetsToTxn, TxnOffsetCommit (invisible to OffsetFetch until the
           commit), DescribeTransactions, ListTransactions (state and duration
           filters), EndTxn commit, then abort; a second InitProducerId fences
           the first producer (PRODUCER_FENCED from v2/v4, INVALID_PRODUCER_EPOCH
           before); InitProducerId over an Ongoing transaction aborts it; a
           transaction open past its timeout is aborted by the coordinator.
  crash    leaves one transaction Ongoing and writes, for a second one, the
           PrepareCommit record a coordinator writes before its markers; the
           shell then kills brookd with SIGKILL.
  restart  after the restart: the Ongoing transaction was aborted (its data
           listed as aborted, its epoch bumped), the PrepareCommit one committed,
           and new producer ids are above every earlier one.

usage: txn_coord.py PHASE HOST:PORT STATE_FILE
"""
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fetch_versions as fv  # noqa: E402
from fetch_versions import check, create  # noqa: E402
from kafkawire import Conn, Writer  # noqa: E402
from txn_fetch import txn_batch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from kafkawire import crc32c, varint  # noqa: E402

TOPIC, OTHER = 'tc', 'tc-other'
NONE, UNKNOWN_TOPIC, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE = 0, 3, 47, 48
TXN_ID_NOT_FOUND = 105
INVALID_TIMEOUT, CONCURRENT, NOT_ATTEMPTED, FENCED, NOT_FOUND = 50, 51, 55, 90, 105


def init_pid(c, txn_id, timeout=60000, v=4, pid=-1, epoch=-1):
    w = Writer(v >= 2).string(txn_id).i32(timeout)
    if v >= 3:
        w.i64(pid).i16(epoch)
    r = c.call(22, v, bytes(w.tags().b), v >= 2)
    r.i32()
    return r.i16(), r.i64(), r.i16()


def init_until_done(c, txn_id, timeout=60000):
    """InitProducerId, retried while the coordinator aborts (bounded)."""
    for _ in range(200):
        res = init_pid(c, txn_id, timeout)
        if res[0] != CONCURRENT:
            return res
        time.sleep(0.05)  # a retry backoff, as clients have: not synchronisation
    return res


def add_parts(c, txn_id, pid, epoch, parts, v=3):
    """AddPartitionsToTxn v0-3: {(topic, partition): error}."""
    flex = v >= 3
    topics = {}
    for t, p in parts:
        topics.setdefault(t, []).append(p)
    w = Writer(flex).string(txn_id).i64(pid).i16(epoch)
    w.array(list(topics.items()),
            lambda w, tp: w.string(tp[0]).array(tp[1], lambda w, p: w.i32(p)).tags()).tags()
    r = c.call(24, v, bytes(w.b), flex)
    r.i32()
    out = {}

    def rtop(r):
        name = r.string()
        r.array(lambda r: (out.__setitem__((name, r.i32()), r.i16()), r.tags()))
        r.tags()
    r.array(rtop)
    return out


def produce_txn(c, txn_id, topic, partition, batch):
    w = Writer(False).string(txn_id).i16(-1).i32(10000)
    w.array([0], lambda w, _: w.string(topic).array([0],
                                                   lambda w, _: w.i32(partition).bytes_(batch)))
    r = c.call(0, 3, bytes(w.b), False)
    errs = []
    r.array(lambda r: (r.string(), r.array(lambda r: errs.append((r.i32(), r.i16(), r.i64(),
                                                                   r.i64())[1]))))
    return errs[0]


def add_offsets(c, txn_id, pid, epoch, group, v=1):
    w = Writer(v >= 3).string(txn_id).i64(pid).i16(epoch).string(group).tags()
    r = c.call(25, v, bytes(w.b), v >= 3)
    r.i32()
    return r.i16()


def txn_offset_commit(c, txn_id, group, pid, epoch, topic, partition, offset):
    w = Writer(False).string(txn_id).string(group).i64(pid).i16(epoch)
    w.array([0], lambda w, _: w.string(topic).array(
        [0], lambda w, _: w.i32(partition).i64(offset).string('meta')))
    r = c.call(28, 1, bytes(w.b), False)
    r.i32()
    errs = []
    r.array(lambda r: (r.string(), r.array(lambda r: errs.append((r.i32(), r.i16())[1]))))
    return errs[0]


def end_txn(c, txn_id, pid, epoch, commit, v=3):
    w = Writer(v >= 3).string(txn_id).i64(pid).i16(epoch).i8(1 if commit else 0).tags()
    r = c.call(26, v, bytes(w.b), v >= 3)
    r.i32()
    return r.i16()


def offset_fetch(c, group, topic, partition):
    w = Writer(False).string(group).array([0], lambda w, _: w.string(topic).array(
        [0], lambda w, _: w.i32(partition)))
    r = c.call(9, 1, bytes(w.b), False)
    out = []
    r.array(lambda r: (r.string(), r.array(lambda r: out.append(
        (r.i32(), r.i64(), r.string(), r.i16())[1]))))
    return out[0]


def offset_fetch_stable(c, group, topic, partition):
    """OffsetFetch v7 with require_stable: (offset, error) of one partition."""
    w = Writer(True).string(group).array([0], lambda w, _: w.string(topic).array(
        [partition], lambda w, p: w.i32(p)).tags()).i8(1).tags()
    r = c.call(9, 7, bytes(w.b), True)
    r.i32()
    out = []
    r.array(lambda r: (r.string(), r.array(lambda r: out.append(
        (r.i32(), r.i64(), r.i32(), r.string(), r.i16(), r.tags())[1:5:3])), r.tags()))
    return out[0]


def describe(c, txn_id):
    """(error, state, pid, epoch, {topic: [partitions]}, start time)."""
    w = Writer(True).array([txn_id], lambda w, t: w.string(t)).tags()
    r = c.call(65, 0, bytes(w.b), True)
    r.i32()
    out = []

    def rstate(r):
        err, _, state, _, start, pid, epoch = (r.i16(), r.string(), r.string(), r.i32(),
                                               r.i64(), r.i64(), r.i16())
        topics = {}
        r.array(lambda r: (topics.__setitem__(r.string(), r.array(lambda r: r.i32())),
                           r.tags()))
        r.tags()
        out.append((err, state, pid, epoch, topics, start))
    r.array(rstate)
    return out[0]


def list_txns(c, states=(), duration=-1):
    w = Writer(True).array(list(states), lambda w, s: w.string(s)).array([], None).i64(duration)
    r = c.call(66, 1, bytes(w.tags().b), True)
    r.i32()
    err = r.i16()
    unknown = r.array(lambda r: r.string())
    got = r.array(lambda r: (r.string(), r.i64(), r.string(), r.tags())[:3])
    return err, unknown, got


def fetch_rc(c, topic, partition):
    """(hw, lso, aborted [(pid, first offset)]) of a partition, read_committed (Fetch v4)."""
    body = bytearray(fv.fetch_body(4, [(topic, partition, 0, 1 << 20)]))
    body[16] = 1  # isolation_level: read_committed
    r = c.call(1, 4, bytes(body), False)
    r.i32()
    out = []

    def rpart(r):
        r.i32(), r.i16()
        hw, lso = r.i64(), r.i64()
        ab = r.array(lambda r: (r.i64(), r.i64()))
        r.bytes_()
        out.append((hw, lso, ab or []))
    r.array(lambda r: (r.string(), r.array(rpart)))
    return out[0]


def wait_state(c, txn_id, state, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        d = describe(c, txn_id)
        if d[1] == state:
            return d
        time.sleep(0.05)
    return describe(c, txn_id)


def keyed_batch(key, value):
    """A plain RecordBatch v2 of one keyed record."""
    body = b'\x00' + varint(0) + varint(0) + varint(len(key)) + key + varint(len(value)) + \
        value + varint(0)
    recs = varint(len(body)) + body
    now = int(time.time() * 1000)
    after = struct.pack('>hiqqqhii', 0, 0, now, now, -1, -1, -1, 1) + recs
    rest = struct.pack('>ibI', -1, 2, crc32c(after)) + after
    return struct.pack('>qi', 0, len(rest)) + rest


def prepare_commit_record(txn_id, pid, epoch, topic, partitions):
    """Kafka's TransactionLog key v0 and value v0 for a transaction in PrepareCommit."""
    key = struct.pack('>hh', 0, len(txn_id)) + txn_id.encode()
    now = int(time.time() * 1000)
    value = struct.pack('>hqhib', 0, pid, epoch, 60000, 2) + struct.pack('>i', 1)
    value += struct.pack('>h', len(topic)) + topic.encode() + struct.pack('>i', len(partitions))
    value += b''.join(struct.pack('>i', p) for p in partitions) + struct.pack('>qq', now, now)
    return keyed_batch(key, value)


def produce_plain(c, topic, batch):
    w = Writer(False).string(None).i16(-1).i32(10000)
    w.array([0], lambda w, _: w.string(topic).array([0], lambda w, _: w.i32(0).bytes_(batch)))
    r = c.call(0, 3, bytes(w.b), False)
    errs = []
    r.array(lambda r: (r.string(), r.array(lambda r: errs.append((r.i32(), r.i16(), r.i64(),
                                                                   r.i64())[1]))))
    return errs[0]


def phase_main(c, c2):
    check(create(c, TOPIC, 2) == 0 and create(c, OTHER, 1) == 0, 'txn_coord: topics created')
    check(init_pid(c, 'app', timeout=900001)[0] == INVALID_TIMEOUT,
          'txn_coord: a timeout over transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT')
    err, pid, epoch = init_pid(c, 'app')
    check(err == NONE and pid > 0 and epoch == 0, f'txn_coord: InitProducerId ({err} {pid} {epoch})')
    got = add_parts(c, 'app', pid, epoch, [(TOPIC, 0), ('nope', 0), (TOPIC, 9)])
    check(got == {(TOPIC, 0): NOT_ATTEMPTED, ('nope', 0): UNKNOWN_TOPIC,
                  (TOPIC, 9): UNKNOWN_TOPIC},
          f'txn_coord: unknown partitions fail, the others are not attempted ({got})')
    got = add_parts(c, 'app', pid, epoch, [(TOPIC, 0), (TOPIC, 1)])
    check(got == {(TOPIC, 0): NONE, (TOPIC, 1): NONE}, f'txn_coord: AddPartitionsToTxn ({got})')
    check(produce_txn(c, 'app', TOPIC, 0, txn_batch(pid, epoch, 0, [b'c0', b'c1'])) == NONE,
          'txn_coord: a transactional batch is appended')
    err = produce_txn(c, 'app', OTHER, 0, txn_batch(pid, epoch, 0, [b'x']))
    check(err == INVALID_TXN_STATE,
          f'txn_coord: KIP-890 - a batch for a partition outside the transaction is refused ({err})')
    err = produce_txn(c, None, TOPIC, 0, txn_batch(pid, epoch, 1, [b'y']))
    check(err == TXN_ID_NOT_FOUND,
          f'txn_coord: a transactional batch in a Produce without transactional id is refused ({err})')
    check(add_offsets(c, 'app', pid, epoch, 'grp') == NONE, 'txn_coord: AddOffsetsToTxn')
    check(txn_offset_commit(c, 'app', 'grp', pid, epoch, TOPIC, 0, 7) == NONE,
          'txn_coord: TxnOffsetCommit')
    check(offset_fetch(c, 'grp', TOPIC, 0) == -1,
          'txn_coord: the transaction\'s offset is invisible before the commit')
    got = offset_fetch_stable(c, 'grp', TOPIC, 0)
    check(got == (-1, 88), f'txn_coord: OffsetFetch require_stable answers UNSTABLE_OFFSET_COMMIT '
          f'while the offset is pending ({got})')
    d = describe(c, 'app')
    check(d[0] == NONE and d[1] == 'Ongoing' and d[4] == {TOPIC: [0, 1]} and d[5] > 0,
          f'txn_coord: DescribeTransactions shows the open transaction ({d})')
    check(describe(c, 'unknown-id')[0] == NOT_FOUND,
          'txn_coord: DescribeTransactions of an unknown id is TRANSACTIONAL_ID_NOT_FOUND')
    err, unknown, got = list_txns(c, ['Ongoing', 'Bogus'])
    check(err == NONE and unknown == ['Bogus'] and got == [('app', pid, 'Ongoing')],
          f'txn_coord: ListTransactions filters by state ({got} {unknown})')
    _, _, got = list_txns(c, [], duration=3600000)
    check(got == [], f'txn_coord: ListTransactions v1 filters by duration ({got})')
    check(end_txn(c, 'app', pid, epoch, True) == NONE, 'txn_coord: EndTxn commit')
    check(offset_fetch(c, 'grp', TOPIC, 0) == 7, 'txn_coord: the offset is visible after the commit')
    got = offset_fetch_stable(c, 'grp', TOPIC, 0)
    check(got == (7, 0), f'txn_coord: ... and stable ({got})')
    hw, lso, ab = fetch_rc(c, TOPIC, 0)
    check(hw == 3 and lso == 3 and ab == [], f'txn_coord: the data is committed ({hw} {lso} {ab})')
    check(describe(c, 'app')[1] == 'CompleteCommit', 'txn_coord: the state is CompleteCommit')
    check(end_txn(c, 'app', pid, epoch, True) == NONE, 'txn_coord: a retried commit succeeds')
    # abort
    add_parts(c, 'app', pid, epoch, [(TOPIC, 0)])
    produce_txn(c, 'app', TOPIC, 0, txn_batch(pid, epoch, 2, [b'a0']))
    check(end_txn(c, 'app', pid, epoch, False) == NONE, 'txn_coord: EndTxn abort')
    hw, lso, ab = fetch_rc(c, TOPIC, 0)
    check(ab == [(pid, 3)] and lso == hw, f'txn_coord: the data is aborted ({hw} {lso} {ab})')
    # fencing: a second producer with the same id
    err, pid2, epoch2 = init_pid(c2, 'app')
    check(err == NONE and pid2 == pid and epoch2 == 1, f'txn_coord: a second InitProducerId bumps '
          f'the epoch ({err} {pid2} {epoch2})')
    got = add_parts(c, 'app', pid, epoch, [(TOPIC, 0)], v=3)
    check(got == {(TOPIC, 0): FENCED}, f'txn_coord: the first producer is fenced ({got})')
    got = add_parts(c, 'app', pid, epoch, [(TOPIC, 0)], v=1)
    check(got == {(TOPIC, 0): INVALID_PRODUCER_EPOCH},
          f'txn_coord: ... INVALID_PRODUCER_EPOCH before v2 ({got})')
    check(end_txn(c, 'app', pid, epoch, True, v=1) == INVALID_PRODUCER_EPOCH and
          end_txn(c, 'app', pid, epoch, True, v=2) == FENCED,
          'txn_coord: the fenced producer\'s EndTxn fails')
    check(init_pid(c, 'app', v=3, pid=pid + 1, epoch=0)[0] == INVALID_PRODUCER_EPOCH and
          init_pid(c, 'app', v=4, pid=pid + 1, epoch=0)[0] == FENCED,
          'txn_coord: KIP-360 - InitProducerId naming another producer id is fenced')
    # InitProducerId over an Ongoing transaction aborts it
    add_parts(c2, 'app', pid2, epoch2, [(TOPIC, 1)])
    produce_txn(c2, 'app', TOPIC, 1, txn_batch(pid2, epoch2, 0, [b'z']))
    check(produce_txn(c, 'app', TOPIC, 1, txn_batch(pid, epoch, 1, [b'zombie'])) ==
          INVALID_PRODUCER_EPOCH, 'txn_coord: the zombie\'s produce is refused')
    err, _, _ = init_pid(c, 'app')
    check(err == CONCURRENT, f'txn_coord: InitProducerId over an Ongoing transaction is '
          f'CONCURRENT_TRANSACTIONS ({err})')
    err, _, epoch3 = init_until_done(c, 'app')
    hw, lso, ab = fetch_rc(c, TOPIC, 1)
    # partition 1 starts with the first transaction's COMMIT marker (offset 0)
    check(err == NONE and epoch3 == 3 and ab == [(pid, 1)] and lso == hw,
          f'txn_coord: ... which is aborted, then the epoch bumped ({err} {epoch3} {ab})')
    # the coordinator aborts a transaction open past its timeout
    err, spid, sepoch = init_pid(c, 'slow', timeout=500)
    add_parts(c, 'slow', spid, sepoch, [(OTHER, 0)])
    produce_txn(c, 'slow', OTHER, 0, txn_batch(spid, sepoch, 0, [b'late']))
    d = wait_state(c, 'slow', 'CompleteAbort')
    hw, lso, ab = fetch_rc(c, OTHER, 0)
    check(d[1] == 'CompleteAbort' and d[3] == sepoch + 1 and ab == [(spid, 0)],
          f'txn_coord: a transaction past its timeout is aborted, its producer fenced ({d} {ab})')
    check(end_txn(c, 'slow', spid, sepoch, True) == FENCED,
          'txn_coord: ... and its commit fails with PRODUCER_FENCED')


def phase_crash(c, state_file):
    err, opid, oepoch = init_pid(c, 'crash-ongoing')
    add_parts(c, 'crash-ongoing', opid, oepoch, [(TOPIC, 1)])
    check(produce_txn(c, 'crash-ongoing', TOPIC, 1,
                      txn_batch(opid, oepoch, 0, [b'o1', b'o2'])) == NONE,
          'txn_coord: crash - a transaction is left Ongoing')
    hw_before = fetch_rc(c, TOPIC, 1)[0]
    err, ppid, pepoch = init_pid(c, 'crash-prepare')
    add_parts(c, 'crash-prepare', ppid, pepoch, [(OTHER, 0)])
    check(produce_txn(c, 'crash-prepare', OTHER, 0, txn_batch(ppid, pepoch, 0, [b'p1'])) == NONE,
          'txn_coord: crash - a second transaction has data')
    err = produce_plain(c, '__transaction_state',
                        prepare_commit_record('crash-prepare', ppid, pepoch, OTHER, [0]))
    check(err == NONE, f'txn_coord: crash - its PrepareCommit record is written ({err})')
    json.dump({'opid': opid, 'oepoch': oepoch, 'ppid': ppid, 'pepoch': pepoch,
               'first': hw_before - 2}, open(state_file, 'w'))


def phase_restart(c, state_file):
    st = json.load(open(state_file))
    d = describe(c, 'crash-ongoing')
    hw, lso, ab = fetch_rc(c, TOPIC, 1)
    check(d[1] == 'CompleteAbort' and d[3] == st['oepoch'] + 1 and (st['opid'], st['first']) in ab
          and lso == hw, f'txn_coord: restart - the Ongoing transaction was aborted ({d} {ab})')
    d = describe(c, 'crash-prepare')
    hw, lso, ab = fetch_rc(c, OTHER, 0)
    check(d[1] == 'CompleteCommit' and (st['ppid'], hw - 2) not in ab and lso == hw,
          f'txn_coord: restart - the PrepareCommit transaction was committed ({d} {ab} {hw})')
    err, pid, _ = init_pid(c, 'after-restart')
    check(err == NONE and pid > max(st['opid'], st['ppid']),
          f'txn_coord: restart - new producer ids are above the earlier ones ({pid})')
    d = describe(c, 'app')
    check(d[1] == 'Empty' and d[3] == 3, f'txn_coord: restart - every id is read back ({d})')


def phase_expiry(c, state_file):
    err, _, _ = init_pid(c, 'short-lived')
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and describe(c, 'short-lived')[0] != NOT_FOUND:
        time.sleep(0.1)
    check(err == NONE and describe(c, 'short-lived')[0] == NOT_FOUND,
          'txn_coord: an idle transactional id expires (transactional.id.expiration.ms)')


def phase_expired(c, state_file):
    check(describe(c, 'short-lived')[0] == NOT_FOUND,
          'txn_coord: an expired transactional id stays forgotten after a restart')


def main():
    phase, addr, state_file = sys.argv[1], sys.argv[2], sys.argv[3]
    host, port = addr.rsplit(':', 1)
    c = Conn(host, int(port))
    if phase == 'main':
        phase_main(c, Conn(host, int(port)))
    elif phase == 'crash':
        phase_crash(c, state_file)
    elif phase == 'expiry':
        phase_expiry(c, state_file)
    elif phase == 'expired':
        phase_expired(c, state_file)
    else:
        phase_restart(c, state_file)
    return 1 if fv.FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
