#!/usr/bin/python3
"""kafka_python_clients.py - drive kafka-python 2.0.2 through the usual calls, to
capture its traffic (tests/tools/kafka_capture.sh runs it behind the capture proxy).

    kafka_python_clients.py BOOTSTRAP TOPIC GROUP [clients|admin]
    kafka_python_clients.py --encode OUTDIR

"clients" (the default) produces a few records (with and without keys and
headers) and consumes them in a consumer group with a commit; "admin" makes the
admin calls kafka-python offers.

--encode needs no broker: it builds the admin and SASL requests the way
KafkaAdminClient does, at every version kafka-python has, and saves the exact
frames kafka-python's protocol layer (KafkaProtocol.send_request) would put on
the wire, named as kafka_capture.py names them. librdkafka's mock cluster has
none of these apis, so this is how their real client bytes are obtained.
Errors from calls the broker may not support are printed, not fatal: the point is
the frames on the wire. Needs /usr/bin/python3 (python3-kafka is installed there).
"""

import os
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.protocol import admin as proto
from kafka.protocol.parser import KafkaProtocol


def try_call(what, fn):
    try:
        print(what, "->", fn())
    except Exception as e:  # noqa: BLE001 - any failure is just reported
        print(what, "failed:", type(e).__name__, e)


def produce(bootstrap, topic):
    p = KafkaProducer(bootstrap_servers=bootstrap, client_id="capture-producer", linger_ms=5)
    for i in range(3):
        p.send(topic, value=b"value-%d" % i, key=b"key-%d" % i, partition=0)
    p.send(topic, value=b"with headers", headers=[("h1", b"v1")], partition=0)
    p.send(topic, value=None, key=b"tombstone", partition=0)
    p.flush(timeout=10)
    p.close(timeout=5)


def consume(bootstrap, topic, group):
    c = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id="capture-consumer",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=4000,
    )
    got = 0
    for _ in c:
        got += 1
        if got >= 5:
            break
    try_call("commit", c.commit)
    tp = TopicPartition(topic, 0)
    try_call("committed", lambda: c.committed(tp))
    try_call("offsets_for_times", lambda: c.offsets_for_times({tp: 0}))
    try_call("end_offsets", lambda: c.end_offsets([tp]))
    c.close()
    print("consumed", got)


def admin(bootstrap, topic, group):
    a = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="capture-admin", request_timeout_ms=5000
    )
    try_call("list_topics", a.list_topics)
    try_call(
        "create_topics",
        lambda: a.create_topics([NewTopic(topic + "-new", 2, 1, topic_configs={"x": "1"})]),
    )
    try_call("create_partitions", lambda: a.create_partitions({topic: NewPartitions(6)}))
    try_call(
        "describe_configs",
        lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]),
    )
    try_call("list_consumer_groups", a.list_consumer_groups)
    try_call("describe_consumer_groups", lambda: a.describe_consumer_groups([group]))
    try_call("list_consumer_group_offsets", lambda: a.list_consumer_group_offsets(group))
    try_call("delete_consumer_groups", lambda: a.delete_consumer_groups([group]))
    try_call("delete_topics", lambda: a.delete_topics([topic + "-new"]))
    a.close()


def admin_requests():
    """(api name, request classes by version, arguments by version) as the admin
    client would build them."""
    conv = KafkaAdminClient
    topic = NewTopic("encoded-topic", 3, 1, topic_configs={"cleanup.policy": "compact"})
    assigned = NewTopic("encoded-assigned", -1, -1, replica_assignments={0: [1], 1: [1]})
    topics = [conv._convert_new_topic_request(topic), conv._convert_new_topic_request(assigned)]
    config = conv._convert_describe_config_resource_request(
        ConfigResource(ConfigResourceType.TOPIC, "encoded-topic", configs={"retention.ms": None})
    )
    config_all = conv._convert_describe_config_resource_request(
        ConfigResource(ConfigResourceType.BROKER, "1")
    )
    parts = conv._convert_create_partitions_request("encoded-topic", NewPartitions(6))
    parts_assigned = conv._convert_create_partitions_request(
        "encoded-topic", NewPartitions(5, [[1], [1]])
    )
    return [
        (
            "create_topics",
            proto.CreateTopicsRequest,
            lambda v: (topics, 30000) + ((False,) if v else ()),
        ),
        ("delete_topics", proto.DeleteTopicsRequest, lambda v: (["encoded-topic", "x"], 30000)),
        ("list_groups", proto.ListGroupsRequest, lambda v: ()),
        (
            "describe_groups",
            proto.DescribeGroupsRequest,
            lambda v: ((["encoded-group"],) + ((True,) if v >= 3 else ())),
        ),
        (
            "describe_configs",
            proto.DescribeConfigsRequest,
            lambda v: ([config, config_all],) + ((True,) if v else ()),
        ),
        (
            "create_partitions",
            proto.CreatePartitionsRequest,
            lambda v: ([parts, parts_assigned], 30000, False),
        ),
        ("delete_groups", proto.DeleteGroupsRequest, lambda v: (["encoded-group", "g2"],)),
        ("sasl_handshake", proto.SaslHandShakeRequest, lambda v: ("PLAIN",)),
        ("sasl_authenticate", proto.SaslAuthenticateRequest, lambda v: (b"\0user\0secret",)),
    ]


def encode(outdir):
    os.makedirs(outdir, exist_ok=True)
    seq = 0
    for name, classes, args in admin_requests():
        for version, cls in enumerate(classes):
            wire = KafkaProtocol(client_id="capture-admin")
            wire.send_request(cls(*args(version)), correlation_id=seq + 7)
            seq += 1
            path = os.path.join(outdir, "%05d-%s-v%d-req.bin" % (seq, name, version))
            with open(path, "wb") as fp:
                fp.write(wire.send_bytes())


def main():
    if sys.argv[1] == "--encode":
        encode(sys.argv[2])
        return
    bootstrap, topic, group = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else "clients"
    if mode == "admin":
        admin(bootstrap, topic, group)
    else:
        produce(bootstrap, topic)
        consume(bootstrap, topic, group)


if __name__ == "__main__":
    main()
