#!/usr/bin/python3
"""Transactional producers of other clients against brookd, and what read_committed
consumers see of them (tests/compat/txn_clients.sh runs it).

  txn_clients.py produce BROKER TOPIC
      confluent-kafka-python: three transactions of R records over the 2 partitions
      of TOPIC, the first and the last committed, the middle one aborted
  txn_clients.py read BROKER TOPIC CLIENT
      the records CLIENT's producer (this one or txn_clients.js) wrote to TOPIC:
      a read_committed consumer (confluent-kafka-python; kafka-python where it has
      isolation_level) sees each committed record once and no aborted one; a
      read_uncommitted one sees all three transactions

Record values: "<client> <txn> <i>", txn 0 and 2 committed, 1 aborted.
Prints "ok - ..." / "not ok - ..." lines; exits 1 on any failure."""
import sys
import time

import confluent_kafka as ck
import confluent_kafka.admin

R = 40
failures = 0


def result(good, name):
    global failures
    print(('ok' if good else 'not ok') + ' - ' + name, flush=True)
    failures += not good


def produce(broker, topic):
    admin = ck.admin.AdminClient({'bootstrap.servers': broker})
    if topic not in admin.list_topics(timeout=30).topics:
        for f in admin.create_topics([ck.admin.NewTopic(topic, 2, 1)]).values():
            f.result(30)
    p = ck.Producer({'bootstrap.servers': broker, 'transactional.id': 'ckpy-' + topic,
                     'linger.ms': 5})
    p.init_transactions(30)
    for txn in range(3):
        p.begin_transaction()
        for i in range(R):
            p.produce(topic, ('ckpy %d %d' % (txn, i)).encode(), partition=i % 2)
        p.flush(30)  # in the log before the end, so read_uncommitted has them all
        if txn == 1:
            p.abort_transaction(30)
        else:
            p.commit_transaction(30)
    result(True, 'confluent-kafka-python %s: a transactional producer commits, aborts and '
           'commits again' % ck.version()[0])


def want(client, committed_only):
    txns = (0, 2) if committed_only else (0, 1, 2)
    return sorted('%s %d %d' % (client, t, i) for t in txns for i in range(R))


def read_ck(broker, topic, isolation):
    c = ck.Consumer({'bootstrap.servers': broker, 'group.id': 'txn-reader-ck',
                     'isolation.level': isolation, 'enable.partition.eof': True,
                     'enable.auto.commit': False})
    c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(2)])
    got, eofs, end = [], set(), time.monotonic() + 60
    while len(eofs) < 2 and time.monotonic() < end:
        m = c.poll(0.1)
        if m is None:
            continue
        if m.error():
            if m.error().code() == ck.KafkaError._PARTITION_EOF:
                eofs.add(m.partition())
            continue
        got.append(m.value().decode(errors='replace'))
    c.close()
    return sorted(got) if len(eofs) == 2 else None


def read_kafka_python(broker, topic):
    import kafka
    try:
        c = kafka.KafkaConsumer(bootstrap_servers=broker, isolation_level='read_committed',
                                enable_auto_commit=False, consumer_timeout_ms=5000)
    except (kafka.errors.KafkaConfigurationError, AssertionError, TypeError) as e:
        return 'kafka-python %s has no isolation_level (%s)' % (kafka.__version__, e)
    tps = [kafka.TopicPartition(topic, p) for p in range(2)]
    c.assign(tps)
    c.seek_to_beginning()
    ends = c.end_offsets(tps)  # read_committed: the last stable offsets
    got, end = [], time.monotonic() + 60
    while any(c.position(tp) < ends[tp] for tp in tps) and time.monotonic() < end:
        for recs in c.poll(timeout_ms=200).values():
            got += [r.value.decode(errors='replace') for r in recs]
    c.close()
    return sorted(got)


def read(broker, topic, client):
    got = read_ck(broker, topic, 'read_committed')
    result(got == want(client, True),
           'confluent-kafka-python read_committed sees each of %s\'s %d committed records '
           'once and none aborted (%s read)' % (client, 2 * R, None if got is None else len(got)))
    got = read_ck(broker, topic, 'read_uncommitted')
    result(got == want(client, False),
           'confluent-kafka-python read_uncommitted sees all %d of %s\'s records (%s read)'
           % (3 * R, client, None if got is None else len(got)))
    got = read_kafka_python(broker, topic)
    if isinstance(got, str):
        print('skip - kafka-python read_committed: ' + got, flush=True)
    else:
        result(got == want(client, True),
               'kafka-python isolation_level=read_committed sees only %s\'s committed records '
               '(%d read)' % (client, len(got)))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'produce':
        produce(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == 'read':
        read(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
