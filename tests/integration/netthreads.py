#!/usr/bin/python3
"""Network threads (num.network.threads=4) against a live brookd with its console.

  spread     eight connections, each set up (ApiVersions) before the next: the
             console's broker view counts two on each of the four loops.
  hand-off   the connections on loops 1-3 are closed, so loop 0 holds two and
             every new connection goes to loops 1-3. A librdkafka consumer
             group joins, reads and commits, and a transactional producer
             commits a transaction: their group and transaction requests run on
             the coordinators' loop 0 and are answered on the connection's loop.
             While they are connected loop 0 still holds exactly the two held
             connections, so none of theirs is on loop 0 (no shortcut taken);
             the committed offsets and the transaction's records read back.
  parked     a connection on loop 1-3 sends a JoinGroup that waits on loop 0
             (a second member of a stable group), a Metadata behind it, and
             closes: brookd closes it at once, not when the join ends.

  max-conn   (netthreads.py HOST:PORT --max-connections 5) twelve connections to
             a brookd of four loops and max.connections=5: exactly five are
             served, the rest closed at accept, whichever loops they would go to.

usage: netthreads.py HOST:PORT CONSOLE_URL | HOST:PORT --max-connections N
"""
import json
import socket
import struct
import sys
import time
import urllib.request

sys.path.insert(0, __file__.rsplit('/', 3)[0] + '/tests')
import kafkawire as kw  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

BROKER, CONSOLE = sys.argv[1], sys.argv[2]
HOST, PORT = BROKER.split(':')[0], int(BROKER.split(':')[1])
LOOPS = 4


def check(name, cond, detail=''):
    print(f'{"ok" if cond else "not ok"} - {name}{"" if cond or not detail else ": " + str(detail)}')
    return cond


def per_loop():
    with urllib.request.urlopen(CONSOLE + '/api/v1/broker', timeout=10) as r:
        return json.load(r)['network_threads']


def wait_counts(want, seconds=20):
    """Poll the console until the per-loop counts are want (closes are seen by
    each loop on its own thread); the last counts seen."""
    deadline = time.monotonic() + seconds
    while True:
        got = per_loop()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def api_versions(conn):
    r = conn.call(18, 0, b'', False)
    return r.i16() == 0


def max_connections(limit):
    served, conns = 0, []
    for i in range(12):
        c = kw.Conn(HOST, PORT, client=f'mc-{i}', timeout=10)
        conns.append(c)
        try:
            served += api_versions(c)
        except (EOFError, OSError):
            pass
    check(f'max.connections={limit} holds across four network threads', served == limit, served)
    for c in conns:
        c.close()


if CONSOLE == '--max-connections':
    max_connections(int(sys.argv[3]))
    sys.exit(0)

# ---- spread ----
held = []
for i in range(2 * LOOPS):
    c = kw.Conn(HOST, PORT, client=f'held-{i}')
    api_versions(c)  # accepted and set up on its loop
    held.append(c)
got = wait_counts([2] * LOOPS)
check('eight connections spread two to each of four network threads', got == [2] * LOOPS, got)

# accepts go round robin among equals from loop 1: connection i is on loop (i + 1) % 4
for i, c in enumerate(held):
    if (i + 1) % LOOPS != 0:
        c.close()
got = wait_counts([2, 0, 0, 0])
check('closing those on loops 1-3 leaves loop 0 two', got == [2, 0, 0, 0], got)

# ---- hand-off: groups ----
topic, group, n = 'nt-orders', 'nt-group', 300
admin = AdminClient({'bootstrap.servers': BROKER})
fs = admin.create_topics([NewTopic(topic, 3, 1)])
try:
    fs[topic].result(30)
    created = True
except Exception as e:  # noqa: BLE001 - reported below
    created = e
check('a topic of three partitions is created (the admin thread, from a loop other than 0)',
      created is True, created)
p = Producer({'bootstrap.servers': BROKER, 'linger.ms': 5})
for i in range(n):
    p.produce(topic, value=b'v%d' % i, partition=i % 3)
left = p.flush(30)
check('records produced over a loop other than 0', left == 0, left)

consumer = Consumer({'bootstrap.servers': BROKER, 'group.id': group, 'auto.offset.reset': 'earliest',
                     'enable.auto.commit': False, 'session.timeout.ms': 6000})
consumer.subscribe([topic])
seen, deadline = 0, time.monotonic() + 60
while seen < n and time.monotonic() < deadline:
    m = consumer.poll(0.5)
    if m is not None and not m.error():
        seen += 1
check('a consumer group on loops 1-3 joins and reads every record', seen == n, seen)
offsets = consumer.commit(asynchronous=False)
errs = [tp for tp in offsets if tp.error]
check('its commit (handed to loop 0) succeeds', offsets and not errs, errs)
counts = per_loop()
check('while it is connected loop 0 holds only the two held connections',
      counts[0] == 2 and sum(counts[1:]) >= 1, counts)
committed = consumer.committed([TopicPartition(topic, i) for i in range(3)], timeout=10)
check('OffsetFetch reads the commit back', sum(tp.offset for tp in committed) == n,
      [tp.offset for tp in committed])
consumer.close()

# ---- hand-off: transactions ----
tp = Producer({'bootstrap.servers': BROKER, 'transactional.id': 'nt-txn', 'linger.ms': 5})
tp.init_transactions(30)
tp.begin_transaction()
for i in range(10):
    tp.produce('nt-txn-topic', value=b't%d' % i, partition=0)
tp.commit_transaction(30)
counts = per_loop()
check('a transaction commits from loops 1-3 (InitProducerId, Produce, EndTxn on loop 0)',
      counts[0] == 2, counts)
rc = Consumer({'bootstrap.servers': BROKER, 'group.id': 'nt-reader', 'auto.offset.reset': 'earliest',
               'isolation.level': 'read_committed'})
rc.assign([TopicPartition('nt-txn-topic', 0, 0)])
got, deadline = [], time.monotonic() + 30
while len(got) < 10 and time.monotonic() < deadline:
    m = rc.poll(0.5)
    if m is not None and not m.error():
        got.append(m.value())
check('a read_committed consumer reads the transaction\'s ten records',
      got == [b't%d' % i for i in range(10)], got)
rc.close()

# a request of another kind waits behind a JoinGroup parked on loop 0 (a second
# member's join waits for the first to rejoin): the peer's close is still seen
a = kw.connect(HOST, PORT)
joined = kw.join_group_v0(a, 'parked', b'')
synced = joined and joined[0] == 0 and kw.sync_group_v0(a, 'parked', joined[1], joined[3], b'')
b = kw.connect(HOST, PORT)
b.sendall(kw.request(11, 0, 1, kw.string('parked') + struct.pack('>i', 30000) +
                     kw.string('') + kw.string('consumer') +
                     kw.array([kw.string('range') + kw.bytes_(b'')])) +
          kw.request(3, 0, 2, struct.pack('>i', 0)))
b.shutdown(socket.SHUT_WR)
t0 = time.monotonic()
closed = kw.closed_by_peer(b, 10)
check('a connection that closes while its JoinGroup waits on loop 0 is closed at once, '
      'not when the join ends', synced and closed and time.monotonic() - t0 < 5,
      f'synced {bool(synced)}, closed {closed} after {time.monotonic() - t0:.1f} s')
a.close()
b.close()
for c in held:
    c.close()
