#!/usr/bin/env python3
"""The admin APIs through real clients against a live brookd: kafka-python's
KafkaAdminClient and confluent-kafka's AdminClient (librdkafka) create, describe,
grow and delete topics at the highest versions they share with brook, now that
brook advertises Kafka 4.0's. Prints "ok - ..." / "not ok - ..." lines.

usage: admin_clients.py HOST:PORT
"""
import sys

broker = sys.argv[1]
failed = 0


def check(name, ok, detail=''):
    global failed
    print(('ok - ' if ok else 'not ok - ') + name, flush=True)
    if not ok:
        failed += 1
        if detail:
            print(f'# {detail}', flush=True)


def kafka_python():
    from kafka import KafkaAdminClient
    from kafka.admin import NewPartitions, NewTopic
    a = KafkaAdminClient(bootstrap_servers=broker, client_id='admin-clients',
                         request_timeout_ms=20000)
    a.create_topics([NewTopic('kp-admin', 3, 1, topic_configs={'retention.ms': '60000'})])
    desc = a.describe_topics(['kp-admin'])
    check('kafka-python: create_topics then describe_topics',
          desc and desc[0]['error_code'] == 0 and len(desc[0]['partitions']) == 3, f'{desc}')
    cluster = a.describe_cluster()
    check('kafka-python: describe_cluster names this broker as controller',
          len(cluster['brokers']) == 1 and
          cluster['controller_id'] == cluster['brokers'][0]['node_id'], f'{cluster}')
    a.create_partitions({'kp-admin': NewPartitions(5)})
    desc = a.describe_topics(['kp-admin'])
    check('kafka-python: create_partitions', len(desc[0]['partitions']) == 5, f'{desc}')
    a.delete_topics(['kp-admin'])
    check('kafka-python: delete_topics', 'kp-admin' not in a.list_topics())
    a.close()


def confluent():
    from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
    a = AdminClient({'bootstrap.servers': broker})
    for f in a.create_topics([NewTopic('ck-admin', 2, 1, config={'cleanup.policy': 'compact'})],
                             request_timeout=20).values():
        f.result()
    md = a.list_topics(timeout=20)
    t = md.topics.get('ck-admin')
    check('confluent-kafka: create_topics then list_topics',
          t is not None and t.error is None and len(t.partitions) == 2 and
          md.controller_id == md.orig_broker_id, f'{t}')
    for f in a.create_partitions([NewPartitions('ck-admin', 4)], request_timeout=20).values():
        f.result()
    n = len(a.list_topics('ck-admin', timeout=20).topics['ck-admin'].partitions)
    check('confluent-kafka: create_partitions', n == 4, f'{n} partitions')
    for f in a.delete_topics(['ck-admin'], request_timeout=20).values():
        f.result()
    # list_topics sends a Metadata request of its own; the deletion is answered once done
    check('confluent-kafka: delete_topics', 'ck-admin' not in a.list_topics(timeout=20).topics)


for fn in (kafka_python, confluent):
    try:
        fn()
    except Exception as e:
        check(f'{fn.__name__} runs to the end', False, repr(e))
sys.exit(1 if failed else 0)
