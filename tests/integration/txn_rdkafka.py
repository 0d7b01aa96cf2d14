"""txn_rdkafka.py - librdkafka's transactional producer (confluent-kafka-python)
against brookd: init, a committed transaction with offsets sent to it, an
aborted one; a read_committed consumer sees exactly the committed records and
the group's offset is the one the transaction committed.

usage: txn_rdkafka.py HOST:PORT
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def check(good, name):
    print(('ok - ' if good else 'not ok - ') + name, flush=True)
    return good


def main():
    broker = sys.argv[1]
    topic, ok = 'txn-rdk', True
    p = Producer({'bootstrap.servers': broker, 'transactional.id': 'rdk-app'})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=b'committed-%d' % i)
    probe = Consumer({'bootstrap.servers': broker, 'group.id': 'rdk-group'})
    p.send_offsets_to_transaction([TopicPartition(topic, 0, 5)],
                                  probe.consumer_group_metadata(), 30)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=b'aborted-%d' % i)
    p.flush(30)
    p.abort_transaction(30)
    committed = probe.committed([TopicPartition(topic, 0)], 30)[0].offset
    ok &= check(committed == 5, f'txn_rdkafka: send_offsets_to_transaction commits ({committed})')
    probe.close()
    c = Consumer({'bootstrap.servers': broker, 'group.id': 'rdk-reader',
                  'isolation.level': 'read_committed', 'auto.offset.reset': 'earliest',
                  'enable.partition.eof': True})
    c.assign([TopicPartition(topic, 0, 0)])
    seen, deadline = [], time.monotonic() + 30
    while time.monotonic() < deadline:
        m = c.poll(1)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                break
            continue
        seen.append(m.value())
    c.close()
    ok &= check(seen == [b'committed-%d' % i for i in range(10)],
                f'txn_rdkafka: read_committed sees the 10 committed records only ({len(seen)})')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
