#!/usr/bin/python3
"""kafka-python 2.0.2 (Debian's python3-kafka) against brookd: admin, produce with
keys, headers and gzip, a consumer group that commits, and offsets read back.
usage: kafka_python.py HOST:PORT -- prints "ok - ..." / "not ok - ..." lines."""
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import InvalidConfigurationError

broker = sys.argv[1]
failures = 0


def result(good, name):
    global failures
    print(('ok' if good else 'not ok') + ' - kafka-python: ' + name, flush=True)
    failures += not good


N = 2000
admin = KafkaAdminClient(bootstrap_servers=broker, client_id='kp-compat')
admin.create_topics([NewTopic('kp', 2, 1), NewTopic('kp-tmp', 1, 1)])
result({'kp', 'kp-tmp'} <= set(admin.list_topics()), 'create_topics and list_topics')
admin.delete_topics(['kp-tmp'])
result('kp-tmp' not in admin.list_topics(), 'delete_topics')
# the error names the bad key, which brookd once read after freeing it
try:
    admin.create_topics([NewTopic('kp-badcfg', 1, 1, topic_configs={'retention.ms': 'abc'})])
    refused = 'not refused'
except InvalidConfigurationError as e:
    refused = str(e)
except Exception as e:  # noqa: BLE001 - anything else is the failure to report
    refused = 'failed: %r' % e
named = "error_message=\"invalid value 'abc' for retention.ms\"" in refused
if not named:
    print(refused, file=sys.stderr)
result(named and 'kp-badcfg' not in admin.list_topics(),
       'create_topics with an invalid config value gets INVALID_CONFIG naming the key')


def create_error(name, partitions):
    """The error code CreateTopics answers for one topic (0 when created)."""
    try:
        resp = admin.create_topics([NewTopic(name, partitions, 1)])
        return resp.topic_errors[0][1]
    except Exception as e:  # kafka-python raises its error class, which knows the code
        return getattr(e, 'errno', -1)


# partition directories are <topic>-<N>: names that would share one are refused as
# through the mount (INVALID_TOPIC_EXCEPTION, 17), whichever topic came first
admin.create_topics([NewTopic('kpx', 4, 1), NewTopic('kpy-2', 1, 1)])
result(create_error('kpx-3', 1) == 17, 'CreateTopics kpx-3 while kpx has partition 3: refused')
result(create_error('kpy', 3) == 17, 'CreateTopics kpy (3 partitions) while kpy-2 exists: refused')
result(create_error('kpx-7', 1) == 0, 'CreateTopics kpx-7 (kpx has partitions 0..3): created')
result('kpy' not in admin.list_topics(), 'the refused topic was not made')

producer = KafkaProducer(bootstrap_servers=broker, acks='all', compression_type='gzip',
                         linger_ms=5)
futures = [producer.send('kp', key=b'k%d' % i, value=b'value-%d' % i,
                         headers=[('idx', str(i).encode())]) for i in range(N)]
producer.flush(60)
metas = [f.get(30) for f in futures]
result(len(metas) == N and all(m.offset >= 0 for m in metas), f'{N} records acknowledged')
producer.close()

consumer = KafkaConsumer('kp', bootstrap_servers=broker, group_id='kp-group',
                         auto_offset_reset='earliest', enable_auto_commit=False,
                         consumer_timeout_ms=10000)
seen, bad = {}, 0
for m in consumer:
    i = int(m.key[1:])
    bad += m.value != b'value-%d' % i or dict(m.headers).get('idx') != str(i).encode()
    seen[i] = seen.get(i, 0) + 1
    if len(seen) == N:
        break
consumer.commit()
result(len(seen) == N and bad == 0, f'the group reads all {N} records intact ({len(seen)})')
result(all(n == 1 for n in seen.values()), 'no record read twice')
committed = sum(consumer.committed(TopicPartition('kp', p)) or 0 for p in range(2))
result(committed == N, f'committed offsets add up to {committed}')
consumer.close()

groups = [g for g, _ in admin.list_consumer_groups()]
result('kp-group' in groups, 'list_consumer_groups lists the group')
offsets = admin.list_consumer_group_offsets('kp-group')
result(sum(o.offset for o in offsets.values()) == N, 'list_consumer_group_offsets')
admin.close()
sys.exit(1 if failures else 0)
