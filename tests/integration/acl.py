"""acl.py - ACLs enforced on a live brookd, from hand-built frames.

Run by acl.sh in phases, brookd restarted between them (the ACLs persist):
  setup   the super user admin (SASL PLAIN) creates topics and ACLs for alice
  enforce alice, authenticated, may do what the ACLs say and nothing else; an
          unauthenticated peer on the PLAINTEXT listener (User:ANONYMOUS) nothing
  super   admin bypasses the ACLs, then deletes them
  off     no authorizer: the ACL APIs answer SECURITY_DISABLED

argv: phase, the SASL_PLAINTEXT listener's port, the PLAINTEXT listener's port.
"""
import struct
import sys

sys.path.insert(0, sys.path[0] + '/..')
from kafkawire import (Conn, Writer, bytes_, metadata_body, metadata_topics,  # noqa: E402
                       produce_body, produce_error, record_batch, string)

TOPIC, GROUP, CLUSTER = 2, 3, 4
LITERAL, PREFIXED, ANY_PATTERN = 3, 4, 1
READ, WRITE, ALTER, ANY_OP = 3, 4, 7, 1
DENY, ALLOW, ANY_PERM = 2, 3, 1
ME = 'User:alice'
HOST = '127.0.0.1'
TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED = 29, 30
CLUSTER_AUTHORIZATION_FAILED, SECURITY_DISABLED = 31, 54

failures = 0


def check(name, cond, detail=''):
    global failures
    print(('ok - ' if cond else 'not ok - ') + 'acl: ' + name +
          ('' if cond or not detail else ': ' + str(detail)))
    failures += 0 if cond else 1


def login(port, user):
    """A connection authenticated as user with SASL PLAIN (SaslHandshake v1,
    SaslAuthenticate v0); None for an unauthenticated one (port: PLAINTEXT)."""
    c = Conn(HOST, port)
    if user is None:
        return c
    r = c.call(17, 1, string('PLAIN'), False)
    assert r.i16() == 0, 'SaslHandshake'
    r = c.call(36, 0, bytes_(b'\0' + user.encode() + b'\0' + user.encode() + b'-pw'), False)
    assert r.i16() == 0, 'SaslAuthenticate'
    return c


def produce(c, topic, value=b'x'):
    """Produce v3 of one record: the partition's error code."""
    r = c.call(0, 3, produce_body(topic, record_batch([value])), False)
    return produce_error(r.buf)


def create_topics(c, names):
    """CreateTopics v1 of one-partition topics: their error codes."""
    w = Writer(False).array(names, lambda w, n: w.string(n).i32(1).i16(1).i32(0).i32(0))
    r = c.call(19, 1, w.i32(10000).i8(0).bytes(), False)
    return [e for _, e, _ in r.array(lambda r: (r.string(), r.i16(), r.string()))]


def create_acls(c, acls):
    """CreateAcls v1; the error code of each creation."""
    w = Writer(False).array(acls, lambda w, a: w.i8(a[0]).string(a[1]).i8(a[2]).string(a[3])
                            .string('*').i8(a[4]).i8(a[5]))
    r = c.call(30, 1, w.bytes(), False)
    r.i32()
    return r.array(lambda r: (r.i16(), r.string())[0])


def describe_acls(c):
    """DescribeAcls v1 of everything: (error, [(type, name, pattern, principal, op, perm)])."""
    body = Writer(False).i8(1).string(None).i8(ANY_PATTERN).string(None).string(None) \
        .i8(ANY_OP).i8(ANY_PERM).bytes()
    r = c.call(29, 1, body, False)
    r.i32()
    err = r.i16()
    r.string()
    out = []

    def resource(r):
        rt, name, pat = r.i8(), r.string(), r.i8()
        for principal, host, op, perm in r.array(lambda r: (r.string(), r.string(), r.i8(),
                                                          r.i8())):
            out.append((rt, name, pat, principal, op, perm))
    r.array(resource)
    return err, out


def delete_all_acls(c):
    """DeleteAcls v1 with a filter matching everything: (error, bindings deleted)."""
    body = Writer(False).array([0], lambda w, _: w.i8(1).string(None).i8(ANY_PATTERN)
                               .string(None).string(None).i8(ANY_OP).i8(ANY_PERM)).bytes()
    r = c.call(31, 1, body, False)
    r.i32()
    res = r.array(lambda r: (r.i16(), r.string(), r.array(
        lambda r: (r.i16(), r.string(), r.i8(), r.string(), r.i8(), r.string(), r.string(),
                   r.i8(), r.i8()))))
    return res[0][0], len(res[0][2])


def join_group(c, group):
    """JoinGroup v0's error code."""
    body = string(group) + struct.pack('>i', 10000) + string('') + string('consumer') + \
        struct.pack('>i', 1) + string('range') + struct.pack('>i', 0)
    r = c.call(11, 0, body, False)
    return r.i16()


def find_coordinator(c, group):
    r = c.call(10, 0, string(group), False)
    return r.i16()


def metadata(c, names, auto_create=False):
    r = c.call(3, 4, metadata_body(names, auto_create), False)
    return {name: err for err, name, _ in metadata_topics(r.buf)}


def fetch_error(c, topic):
    """Fetch v4 of partition 0 from offset 0: (error, record bytes)."""
    body = struct.pack('>iiiib', -1, 0, 1, 1 << 20, 0) + struct.pack('>i', 1) + string(topic) + \
        struct.pack('>i', 1) + struct.pack('>iqi', 0, 0, 1 << 20)
    r = c.call(1, 4, body, False)
    r.i32()
    r.i32()  # throttle, topics
    r.string()
    r.i32()
    r.i32()
    err = r.i16()
    r.i64()
    r.i64()
    r.array(lambda r: (r.i64(), r.i64()))
    return err, r.i32()


def list_offsets_error(c, topic):
    """ListOffsets v1 of partition 0, latest: its error code."""
    body = struct.pack('>i', -1) + struct.pack('>i', 1) + string(topic) + \
        struct.pack('>i', 1) + struct.pack('>iq', 0, -1)
    r = c.call(2, 1, body, False)
    return r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(),
                                                              r.i64()))))[0][1][0][1]


def delete_topic_error(c, topic):
    """DeleteTopics v1 of one topic: its error code."""
    r = c.call(20, 1, struct.pack('>i', 1) + string(topic) + struct.pack('>i', 10000), False)
    r.i32()
    return r.array(lambda r: (r.string(), r.i16()))[0][1]


def init_producer_id_error(c, txn_id):
    """InitProducerId v0: its error code."""
    r = c.call(22, 0, string(txn_id) + struct.pack('>i', 60000), False)
    r.i32()
    return r.i16()


def describe_configs_error(c, rtype, name):
    """DescribeConfigs v0 of one resource, every key: its error code."""
    body = struct.pack('>i', 1) + struct.pack('>b', rtype) + string(name) + struct.pack('>i', -1)
    r = c.call(32, 0, body, False)
    r.i32()
    return r.array(lambda r: (r.i16(), r.string(), r.i8(), r.string(), r.array(
        lambda r: (r.string(), r.string(), r.i8(), r.i8(), r.i8()))))[0][0]


def metadata_operations(c, topic):
    """Metadata v8 of one topic, authorized operations asked for: (topic's, cluster's)."""
    body = struct.pack('>i', 1) + string(topic) + b'\x00\x01\x01'
    r = c.call(3, 8, body, False)
    r.i32()
    r.array(lambda r: (r.i32(), r.string(), r.i32(), r.string()))
    r.string()
    r.i32()

    def topic_entry(r):
        r.i16()
        r.string()
        r.bool()
        r.array(lambda r: (r.i16(), r.i32(), r.i32(), r.i32(), r.array(lambda r: r.i32()),
                           r.array(lambda r: r.i32()), r.array(lambda r: r.i32())))
        return r.i32()
    ops = r.array(topic_entry)[0]
    return ops, r.i32()


def setup(sasl, plain):
    c = login(sasl, 'admin')
    errs = create_topics(c, ['orders', 'other', 'logs-a', 'logs-secret-1'])
    check('setup: the super user creates topics', errs == [0, 0, 0, 0], errs)
    check('setup: the super user produces to orders', produce(c, 'orders', b'o1') == 0)
    errs = create_acls(c, [
        (TOPIC, 'orders', LITERAL, ME, READ, ALLOW),
        (GROUP, 'g-ok', LITERAL, ME, READ, ALLOW),
        (TOPIC, 'logs-', PREFIXED, ME, WRITE, ALLOW),
        (TOPIC, 'logs-secret', PREFIXED, ME, WRITE, DENY),
    ])
    check('setup: CreateAcls creates every binding', errs == [0, 0, 0, 0], errs)
    bad = create_acls(c, [(CLUSTER, 'not-the-cluster', LITERAL, ME, ALTER, ALLOW),
                          (TOPIC, 't', LITERAL, 'no-colon', READ, ALLOW)])
    check('setup: bindings Kafka refuses get INVALID_REQUEST', bad == [42, 42], bad)
    err, acls = describe_acls(c)
    check('setup: DescribeAcls lists the four bindings', err == 0 and len(acls) == 4, acls)
    c.close()


def enforce(sasl, plain):
    c = login(sasl, 'alice')
    check('a reader of orders cannot produce to it (TOPIC_AUTHORIZATION_FAILED)',
          produce(c, 'orders') == TOPIC_AUTHORIZATION_FAILED)
    check('a prefixed ALLOW lets it produce to logs-a', produce(c, 'logs-a') == 0)
    check('a prefixed DENY beats the prefixed ALLOW on logs-secret-1',
          produce(c, 'logs-secret-1') == TOPIC_AUTHORIZATION_FAILED)
    check('no ACL on other: cannot produce', produce(c, 'other') == TOPIC_AUTHORIZATION_FAILED)
    listed = metadata(c, None)
    check('Metadata lists only the topics it may describe',
          sorted(listed) == ['logs-a', 'logs-secret-1', 'orders'], sorted(listed))
    named = metadata(c, ['other', 'orders'])
    check('Metadata naming a hidden topic answers TOPIC_AUTHORIZATION_FAILED',
          named == {'other': TOPIC_AUTHORIZATION_FAILED, 'orders': 0}, named)
    created = metadata(c, ['brand-new'], auto_create=True)
    check('auto-creation without CREATE is refused',
          created == {'brand-new': TOPIC_AUTHORIZATION_FAILED}, created)
    check('CreateTopics without CREATE is refused',
          create_topics(c, ['brand-new2']) == [TOPIC_AUTHORIZATION_FAILED])
    ops = metadata_operations(c, 'orders')
    check('Metadata reports the operations it may do: READ and DESCRIBE on orders, none on '
          'the cluster', ops == ((1 << READ) | (1 << 8), 0), ops)
    err, n = fetch_error(c, 'orders')
    check('it reads orders', err == 0 and n > 0, (err, n))
    err, n = fetch_error(c, 'other')
    check('it cannot read other', err == TOPIC_AUTHORIZATION_FAILED, err)
    check('no group ACL: FindCoordinator refused',
          find_coordinator(c, 'g-bad') == GROUP_AUTHORIZATION_FAILED)
    check('no group ACL: JoinGroup refused (GROUP_AUTHORIZATION_FAILED)',
          join_group(c, 'g-bad') == GROUP_AUTHORIZATION_FAILED)
    check('a group ACL lets it find its coordinator', find_coordinator(c, 'g-ok') == 0)
    check('ListOffsets of a topic it may describe', list_offsets_error(c, 'orders') == 0)
    check('ListOffsets of a hidden topic: TOPIC_AUTHORIZATION_FAILED',
          list_offsets_error(c, 'other') == TOPIC_AUTHORIZATION_FAILED)
    check('DescribeConfigs of a topic without DESCRIBE_CONFIGS: TOPIC_AUTHORIZATION_FAILED',
          describe_configs_error(c, 2, 'orders') == TOPIC_AUTHORIZATION_FAILED)
    check('DescribeConfigs of the broker: CLUSTER_AUTHORIZATION_FAILED',
          describe_configs_error(c, 4, '') == CLUSTER_AUTHORIZATION_FAILED)
    check('DeleteTopics without DELETE: TOPIC_AUTHORIZATION_FAILED',
          delete_topic_error(c, 'orders') == TOPIC_AUTHORIZATION_FAILED)
    check('an idempotent producer id with WRITE on some topic',
          init_producer_id_error(c, None) == 0)
    check('a transactional id without WRITE on it: TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
          init_producer_id_error(c, 'tx') == 53)
    errs = create_acls(c, [(TOPIC, 'other', LITERAL, ME, READ, ALLOW)])
    check('CreateAcls without ALTER on the cluster: CLUSTER_AUTHORIZATION_FAILED',
          errs == [CLUSTER_AUTHORIZATION_FAILED], errs)
    err, _ = describe_acls(c)
    check('DescribeAcls without DESCRIBE on the cluster: CLUSTER_AUTHORIZATION_FAILED',
          err == CLUSTER_AUTHORIZATION_FAILED, err)
    c.close()
    c = login(plain, None)
    check('an unauthenticated peer sees no topic', metadata(c, None) == {})
    check('without WRITE anywhere, no idempotent producer id: CLUSTER_AUTHORIZATION_FAILED',
          init_producer_id_error(c, None) == CLUSTER_AUTHORIZATION_FAILED)
    check('an unauthenticated peer cannot read orders',
          fetch_error(c, 'orders')[0] == TOPIC_AUTHORIZATION_FAILED)
    c.close()
    c = login(sasl, 'admin')
    listed = metadata(c, None)
    check('the refused creations created nothing',
          'brand-new' not in listed and 'brand-new2' not in listed, sorted(listed))
    c.close()


def superuser(sasl, plain):
    c = login(sasl, 'admin')
    check('a super user bypasses the ACLs',
          produce(c, 'orders') == 0 and produce(c, 'logs-secret-1') == 0)
    check('a super user describes the broker configs', describe_configs_error(c, 4, '') == 0)
    err, acls = describe_acls(c)
    check('the bindings survived the restarts', err == 0 and len(acls) == 4, acls)
    err, n = delete_all_acls(c)
    check('DeleteAcls removes every binding its filter matches', err == 0 and n == 4, (err, n))
    err, acls = describe_acls(c)
    check('none is left', err == 0 and acls == [], acls)
    c.close()


def off(sasl, plain):
    c = login(plain, None)
    err, _ = describe_acls(c)
    check('without an authorizer the ACL APIs answer SECURITY_DISABLED',
          err == SECURITY_DISABLED, err)
    c.close()


if __name__ == '__main__':
    phase, sasl_port, plain_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    {'setup': setup, 'enforce': enforce, 'super': superuser, 'off': off}[phase](sasl_port,
                                                                             plain_port)
    sys.exit(1 if failures else 0)
