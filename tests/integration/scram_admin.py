#!/usr/bin/env python3
"""DescribeUserScramCredentials (50) and AlterUserScramCredentials (51) on the wire:
what no well-behaved client sends, answered with Kafka's per-user errors.

- upserting a salted password: Describe shows the mechanism and iteration count, and
  the keys the broker derived from it verify a SCRAM proof made from the password
  (checked by a SCRAM-SHA-256 login over SaslAuthenticate on a SASL listener);
- a user altered twice for one mechanism: DUPLICATE_RESOURCE, and nothing of that
  user is changed; an unknown mechanism: UNSUPPORTED_SASL_MECHANISM; iterations out
  of 4096..16384, an empty name, a salted password of the wrong length:
  UNACCEPTABLE_CREDENTIAL; deleting what does not exist: RESOURCE_NOT_FOUND; a
  user with an error keeps its credentials while the other users of the request
  are changed;
- Describe: a user named twice, DUPLICATE_RESOURCE; an unknown one,
  RESOURCE_NOT_FOUND; a null or empty list, every user;
- more than 100 changes in one request: INVALID_REQUEST for every user, nothing
  changed.

usage: scram_admin.py ADMIN_HOST:PORT SASL_HOST:PORT
"""
import base64
import hashlib
import hmac
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import Conn, Writer  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402

HOST, PORT = sys.argv[1].rsplit(':', 1)
SHOST, SPORT = sys.argv[2].rsplit(':', 1)
SHA256, SHA512 = 1, 2
NONE, INVALID_REQUEST, UNSUPPORTED_MECH, AUTH_FAILED = 0, 42, 33, 58
NOT_FOUND, DUPLICATE, UNACCEPTABLE = 91, 92, 93
HASH = {SHA256: hashlib.sha256, SHA512: hashlib.sha512}


def salted(password, salt, iterations, mech):
    return hashlib.pbkdf2_hmac(HASH.get(mech, hashlib.sha512)().name, password.encode(), salt,
                               iterations)


def alter(deletions=(), upsertions=()):
    """{user: (error, message)} of one AlterUserScramCredentials v0."""
    w = Writer(True)
    w.array(deletions, lambda w, d: w.string(d[0]).i8(d[1]).tags())
    w.array(upsertions, lambda w, u: w.string(u[0]).i8(u[1]).i32(u[2]).bytes_(u[3])
            .bytes_(u[4]).tags())
    w.tags()
    c = Conn(HOST, int(PORT))
    r = c.call(51, 0, w.bytes(), True)
    c.close()
    r.i32()
    out = {}
    for _ in range(r.length()):
        user, err, msg = r.string(), r.i16(), r.string()
        r.tags()
        out[user] = (err, msg)
    return out


def upsert(name, password, mech=SHA512, iterations=4096, salt=b'NaCl-salt'):
    return (name, mech, iterations, salt, salted(password, salt, iterations, mech))


def describe(users):
    """(top error, {user: (error, [(mech, iterations)])}) of one Describe v0."""
    w = Writer(True)
    w.array(users, lambda w, u: w.string(u).tags())
    w.tags()
    c = Conn(HOST, int(PORT))
    r = c.call(50, 0, w.bytes(), True)
    c.close()
    r.i32()
    top = r.i16()
    r.string()
    out = {}
    for _ in range(r.length()):
        user, err = r.string(), r.i16()
        r.string()
        infos = []
        for _ in range(r.length()):
            infos.append((r.i8(), r.i32()))
            r.tags()
        r.tags()
        out[user] = (err, infos)
    return top, out


def scram_login(user, password):
    """A SCRAM-SHA-256 login over SaslHandshake v1 + SaslAuthenticate v2: the error
    code of the final step (0 when the broker's signature also verified)."""
    c = Conn(SHOST, int(SPORT))
    r = c.call(17, 1, Writer(False).string('SCRAM-SHA-256').bytes(), False)
    if r.i16() != 0:
        return -1
    nonce = base64.b64encode(os.urandom(18)).decode()
    bare = f'n={user},r={nonce}'

    def step(msg):
        r = c.call(36, 2, Writer(True).bytes_(msg.encode()).tags().bytes(), True)
        err = r.i16()
        r.string()
        return err, (r.bytes_() or b'').decode()
    err, first = step('n,,' + bare)
    if err:
        return err
    attrs = dict(kv.split('=', 1) for kv in first.split(','))
    sp = hashlib.pbkdf2_hmac('sha256', password.encode(), base64.b64decode(attrs['s']),
                             int(attrs['i']))
    ck = hmac.new(sp, b'Client Key', 'sha256').digest()
    without = f'c=biws,r={attrs["r"]}'
    auth = f'{bare},{first},{without}'.encode()
    sig = hmac.new(hashlib.sha256(ck).digest(), auth, 'sha256').digest()
    proof = bytes(a ^ b for a, b in zip(ck, sig))
    err, final = step(f'{without},p={base64.b64encode(proof).decode()}')
    c.close()
    if err:
        return err
    server_sig = hmac.new(hmac.new(sp, b'Server Key', 'sha256').digest(), auth, 'sha256').digest()
    return 0 if final == 'v=' + base64.b64encode(server_sig).decode() else -2


# ---- upsert, describe, log in ----
res = alter(upsertions=[upsert('ann', 'pw-ann', SHA256, 4096), upsert('ann', 'pw-ann', SHA512,
                                                                     8192)])
check('upserting two mechanisms of one user: one result, no error', res == {'ann': (0, None)},
      str(res))
top, d = describe(['ann'])
check('describe shows both mechanisms with their iterations',
      top == 0 and d == {'ann': (0, [(SHA256, 4096), (SHA512, 8192)])}, str(d))
check('the keys derived from the salted password verify a SCRAM-SHA-256 login',
      scram_login('ann', 'pw-ann') == 0)
check('... and refuse a wrong password', scram_login('ann', 'wrong') == AUTH_FAILED)

# ---- Kafka's per-user errors ----
res = alter(upsertions=[upsert('dup', 'a'), upsert('dup', 'b')])
check('the same user and mechanism twice: DUPLICATE_RESOURCE', res['dup'][0] == DUPLICATE, str(res))
check('... and nothing of it stored', describe(['dup'])[1]['dup'][0] == NOT_FOUND)
res = alter(deletions=[('ann', SHA256)], upsertions=[upsert('ann', 'x', SHA256)])
check('a deletion and an upsertion of one credential: DUPLICATE_RESOURCE',
      res['ann'][0] == DUPLICATE, str(res))
res = alter(upsertions=[upsert('m', 'x', 3)])
check('an unknown mechanism: UNSUPPORTED_SASL_MECHANISM', res['m'][0] == UNSUPPORTED_MECH,
      str(res))
res = alter(upsertions=[upsert('few', 'x', SHA512, 4095), upsert('many', 'x', SHA512, 16385)])
check('iterations below 4096 and above 16384: UNACCEPTABLE_CREDENTIAL',
      res['few'][0] == UNACCEPTABLE and res['many'][0] == UNACCEPTABLE, str(res))
res = alter(upsertions=[upsert('', 'x')])
check('an empty user name: UNACCEPTABLE_CREDENTIAL', res[''][0] == UNACCEPTABLE, str(res))
res = alter(upsertions=[('short', SHA512, 4096, b'salt', b'0123456789')])
check('a salted password not of the hash\'s length: UNACCEPTABLE_CREDENTIAL',
      res['short'][0] == UNACCEPTABLE, str(res))
res = alter(deletions=[('ghost', SHA256)])
check('deleting a credential that does not exist: RESOURCE_NOT_FOUND',
      res['ghost'][0] == NOT_FOUND, str(res))
res = alter(deletions=[('ann', SHA256), ('ann', SHA512), ('nobody', SHA256)],
            upsertions=[upsert('bea', 'pw')])
check('one user\'s error leaves the others to be changed',
      res == {'ann': (0, None), 'nobody': (NOT_FOUND, res['nobody'][1]), 'bea': (0, None)},
      str(res))
res = alter(deletions=[('bea', SHA512), ('bea', SHA256)])
check('a user with an error keeps its credentials',
      res['bea'][0] == NOT_FOUND and describe(['bea'])[1]['bea'] == (0, [(SHA512, 4096)]),
      str(res))

# ---- Describe ----
top, d = describe(['bea', 'bea', 'zed'])
check('describe: a user named twice DUPLICATE_RESOURCE, an unknown one RESOURCE_NOT_FOUND',
      d['bea'][0] == DUPLICATE and d['zed'][0] == NOT_FOUND and len(d) == 2, str(d))
top, everyone = describe(None)
top2, everyone2 = describe([])
check('describe with a null or an empty list: every user',
      sorted(everyone) == ['bea'] and everyone == everyone2, str(everyone))

# ---- a bound on the work one request buys ----
many = [upsert(f'u{i:03}', 'x', SHA512, 4096) for i in range(101)]
res = alter(upsertions=many)
check('101 changes in one request: INVALID_REQUEST for every user',
      len(res) == 101 and all(e == INVALID_REQUEST for e, _ in res.values()), str(res)[:200])
check('... and none made', sorted(describe(None)[1]) == ['bea'])
res = alter(upsertions=many[:100])
check('100 changes are accepted', len(res) == 100 and all(e == 0 for e, _ in res.values()))

sys.exit(tap.exit_status())
