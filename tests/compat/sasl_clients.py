#!/usr/bin/python3
"""sasl_clients.py HOST SASL_PORT SSL_PORT CA - kafka-python and confluent-kafka-python
with SCRAM-SHA-256 and SCRAM-SHA-512 against brookd's SASL_PLAINTEXT and SASL_SSL
listeners (user "admin", password "secret"): each produces records and reads them
back; a wrong password is refused. Prints "ok - ..." / "not ok - ..." lines."""
import sys
import time

import confluent_kafka
import confluent_kafka.admin
import kafka
from kafka.errors import KafkaError

HOST, SASL_PORT, SSL_PORT, CA = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
N = 200
failures = 0


def check(name, cond, why=''):
    global failures
    print(f'{"ok" if cond else "not ok"} - {name}{": " + why if why and not cond else ""}',
          flush=True)
    failures += 0 if cond else 1


def kp_conf(mech, proto, password='secret'):
    port = SASL_PORT if proto == 'SASL_PLAINTEXT' else SSL_PORT
    conf = dict(bootstrap_servers=f'{HOST}:{port}', security_protocol=proto, sasl_mechanism=mech,
                sasl_plain_username='admin', sasl_plain_password=password)
    if proto == 'SASL_SSL':
        conf.update(ssl_cafile=CA, ssl_check_hostname=False)
    return conf


def kafka_python(mech, proto):
    topic = f'kp-{mech}-{proto}'
    p = kafka.KafkaProducer(**kp_conf(mech, proto))
    for i in range(N):
        p.send(topic, f'v{i}'.encode())
    p.flush(timeout=30)
    p.close()
    c = kafka.KafkaConsumer(topic, auto_offset_reset='earliest', consumer_timeout_ms=10000,
                            **kp_conf(mech, proto))
    got = []
    for m in c:
        got.append(m.value.decode())
        if len(got) == N:
            break
    c.close()
    check(f'kafka-python: {N} records out and back with {mech} over {proto}',
          got == [f'v{i}' for i in range(N)], f'{len(got)} records')


def ck_conf(mech, proto, password='secret'):
    port = SASL_PORT if proto == 'SASL_PLAINTEXT' else SSL_PORT
    return {'bootstrap.servers': f'{HOST}:{port}', 'security.protocol': proto,
            'sasl.mechanisms': mech, 'sasl.username': 'admin', 'sasl.password': password,
            'ssl.ca.location': CA}


def confluent(mech, proto):
    topic = f'ck-{mech}-{proto}'
    p = confluent_kafka.Producer(ck_conf(mech, proto))
    for i in range(N):
        p.produce(topic, f'v{i}'.encode())
    left = p.flush(30)
    c = confluent_kafka.Consumer(dict(ck_conf(mech, proto), **{
        'group.id': f'g-{mech}-{proto}', 'auto.offset.reset': 'earliest'}))
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < N and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            got.append(m.value().decode())
    c.close()
    check(f'confluent-kafka: {N} records out and back with {mech} over {proto}',
          left == 0 and got == [f'v{i}' for i in range(N)], f'{len(got)} records')


def wrong_password():
    try:
        p = kafka.KafkaProducer(**kp_conf('SCRAM-SHA-512', 'SASL_PLAINTEXT', 'wrong'))
        p.close()
        refused = False
    except KafkaError:
        refused = True
    check('kafka-python with a wrong password is refused', refused)
    errors = []
    a = confluent_kafka.admin.AdminClient(dict(ck_conf('SCRAM-SHA-256', 'SASL_SSL', 'wrong'),
                                               error_cb=errors.append))
    try:
        a.list_topics(timeout=5)
        listed = True
    except confluent_kafka.KafkaException:
        listed = False
    a.poll(1)  # error_cb runs from poll
    check('confluent-kafka with a wrong password gets no metadata and an authentication error',
          not listed and any(e.code() == confluent_kafka.KafkaError._AUTHENTICATION for e in errors),
          str(errors[:1]))


for mech in ('SCRAM-SHA-256', 'SCRAM-SHA-512'):
    for proto in ('SASL_PLAINTEXT', 'SASL_SSL'):
        kafka_python(mech, proto)
        confluent(mech, proto)
wrong_password()
sys.exit(1 if failures else 0)
