#!/usr/bin/env python3
"""Small requests that ask for huge answers, against a live brookd under Guard.

Each case is a request that killed brookd (SIGABRT when its response arena ran
out) before responses were bounded: now it is answered as Kafka answers it, within
RESPONSE_MAX_BYTES (broker/private.h), while the control client keeps working,
brookd's RSS stays under the stated bound and its log barely grows.

usage: bounds.py HOST:PORT BROOKD_PID BROOKD_LOG [CASE...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from guard import Guard  # noqa: E402
from kafkawire import (create_topic, describe_configs_repeated_body,  # noqa: E402
                       describe_configs_results, metadata_repeated_body, metadata_topics,
                       request, send_big)

HOST, PORT = sys.argv[1].rsplit(':', 1)
PORT = int(PORT)
PID = int(sys.argv[2])
LOG = sys.argv[3]
# brookd idles at about 10 MiB and peaks near 35 MiB here (the 10 MB request, its
# decoded form, the answers); the rest is room for a sanitizer build
RSS_BOUND_MIB = 192
INVALID_REQUEST = 42

guard = Guard(HOST, PORT, PID, LOG, rss_bound_mib=RSS_BOUND_MIB)


def describe_configs_offsets_100k():
    """DescribeConfigs naming __consumer_offsets 100 000 times (2.5 MB): Kafka answers
    a resource named twice with INVALID_REQUEST ("Duplicate resource") everywhere."""
    n = 100000
    frame = request(32, 0, 1, describe_configs_repeated_body(2, '__consumer_offsets', n))
    resp = send_big(HOST, PORT, frame)
    if resp is None:
        print('# DescribeConfigs: connection closed', flush=True)
        return False
    res = describe_configs_results(resp)
    good = len(res) == n and all(r[0] == INVALID_REQUEST and r[3] == 0 for r in res)
    print(f'# DescribeConfigs x{n}: request {len(frame)} B, response {len(resp)} B', flush=True)
    # named once, the topic is still described
    one = describe_configs_results(send_big(HOST, PORT, request(
        32, 0, 2, describe_configs_repeated_body(2, '__consumer_offsets', 1))))
    return good and len(one) == 1 and one[0][0] == 0 and one[0][3] > 5


def metadata_wide_1300k():
    """Metadata naming a 50-partition topic 1.3 M times: answered once (Kafka takes
    the names as a set)."""
    if create_topic(HOST, PORT, 'wide50', 50) not in (0, 36):  # 36: already exists
        return False
    n = 1300000
    frame = request(3, 4, 1, metadata_repeated_body('wide50', n))
    resp = send_big(HOST, PORT, frame)
    if resp is None:
        print('# Metadata: connection closed', flush=True)
        return False
    topics = metadata_topics(resp)
    print(f'# Metadata x{n}: request {len(frame)} B, response {len(resp)} B', flush=True)
    return topics == [(0, 'wide50', 50)]


CASES = [
    ('bounds: DescribeConfigs naming __consumer_offsets 100000 times',
     describe_configs_offsets_100k),
    ('bounds: Metadata naming a 50-partition topic 1300000 times', metadata_wide_1300k),
]
wanted = set(sys.argv[4:])  # function names; none: every case
for name, fn in CASES:
    if not wanted or fn.__name__ in wanted:
        guard.case(name, fn)
sys.exit(guard.finish())
