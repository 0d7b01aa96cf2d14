#!/usr/bin/env python3
"""confluent-kafka (librdkafka) against the topics topic_configs.py made: reads the
LogAppendTime topic with the broker's timestamps, reads the zstd topic, and alters
a topic with alter_configs (AlterConfigs). Prints "ok - ..." / "not ok - ..." lines.

usage: topic_configs_ck.py HOST:PORT
"""
import os
import sys
import time

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer
from confluent_kafka.admin import AdminClient, ConfigResource

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tap  # noqa: E402
from tap import check  # noqa: E402

BROKER = sys.argv[1]


def read_all(topic, want, secs=20):
    c = Consumer({'bootstrap.servers': BROKER, 'group.id': 'ck-' + topic,
                  'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
    c.subscribe([topic])
    out, deadline = [], time.monotonic() + secs
    while len(out) < want and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            out.append(m)
    c.close()
    return out


now = int(time.time() * 1000)
msgs = read_all('lat', 2)
ts = [m.timestamp() for m in msgs]
check('topic_configs_ck: librdkafka sees LogAppendTime with the broker\'s time',
      len(ts) == 2 and all(t[0] == TIMESTAMP_LOG_APPEND_TIME and now - 600000 < t[1] <= now
                           for t in ts), ts)
msgs = read_all('z-zstd', 200)
check('topic_configs_ck: librdkafka reads the recompressed zstd topic',
      [m.value() for m in msgs] == [b'value-%d-%d' % (i, j) for i in range(4) for j in range(50)],
      len(msgs))
a = AdminClient({'bootstrap.servers': BROKER})
fs = a.alter_configs([ConfigResource('topic', 'ck-alt', set_config={'retention.ms': '4321'})])
err = None
try:
    for f in fs.values():
        f.result(timeout=30)
except Exception as e:  # noqa: BLE001 - reported as the failure
    err = e
fs = a.describe_configs([ConfigResource('topic', 'ck-alt')])
got = list(fs.values())[0].result(timeout=30)
check('topic_configs_ck: confluent-kafka alter_configs changes a topic config',
      err is None and got['retention.ms'].value == '4321', err)
sys.exit(tap.exit_status())
