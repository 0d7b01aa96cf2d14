#!/usr/bin/python3
"""sasl_wire.py HOST SASL_PORT PLAIN_PORT [reauth] - SASL on the wire, as no
well-behaved client would use it: the gate before authentication, a failed
authentication and what follows it, handshakes out of turn, oversized tokens,
SCRAM spoken by hand (RFC 5802 computed here with hashlib), and, with "reauth"
(a broker started with connections.max.reauth.ms), KIP-368 re-authentication.

The broker has user "admin" with password "secret" for PLAIN, SCRAM-SHA-256 and
SCRAM-SHA-512. Prints "ok - ..." / "not ok - ..." lines.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
from kafkawire import (Conn, bytes_, closed_by_peer, metadata_body, read_response,  # noqa: E402
                       request, string)

HOST, PORT, PLAIN_PORT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
MODE = sys.argv[4] if len(sys.argv) > 4 else 'gate'
SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM = 58, 34, 33
failures = 0


def check(name, cond, why=''):
    global failures
    if cond:
        print(f'ok - sasl wire: {name}', flush=True)
    else:
        failures += 1
        print(f'not ok - sasl wire: {name}{": " + why if why else ""}', flush=True)


def handshake(c, mech, version=1):
    r = c.call(17, version, string(mech), False)
    err = r.i16()
    mechs = r.array(lambda x: x.string())
    return err, mechs


def authenticate(c, token, version=2):
    flex = version >= 2
    r = c.call(36, version, bytes_(token, flex) + (b'\x00' if flex else b''), flex)
    err = r.i16()
    msg = r.string()
    data = r.bytes_()
    lifetime = r.i64() if version >= 1 else 0
    return err, msg, data, lifetime


def metadata_ok(c):
    """Whether a Metadata v4 request is answered."""
    try:
        c.call(3, 4, metadata_body([]), False)
        return True
    except (EOFError, OSError):
        return False


def scram_login(c, mech, user, password, version=2, nonce_twice=False):
    """SCRAM by hand; returns (error, server signature verified, session lifetime)."""
    h = {'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512'}[mech]
    cnonce = base64.b64encode(os.urandom(18)).decode()
    bare = f'n={user},r={cnonce}'
    err, msg, sfirst, _ = authenticate(c, ('n,,' + bare).encode(), version)
    if err:
        return err, False, 0
    attrs = dict(kv.split('=', 1) for kv in sfirst.decode().split(','))
    nonce = attrs['r']
    salted = hashlib.pbkdf2_hmac(h, password.encode(), base64.b64decode(attrs['s']),
                                 int(attrs['i']))
    ckey = hmac.new(salted, b'Client Key', h).digest()
    stored = hashlib.new(h, ckey).digest()
    # librdkafka sends its nonce again in front of the server's: accepted as Kafka does
    without = f'c=biws,r={cnonce + nonce if nonce_twice else nonce}'
    am = f'{bare},{sfirst.decode()},{without}'.encode()
    proof = bytes(a ^ b for a, b in zip(ckey, hmac.new(stored, am, h).digest()))
    final = f'{without},p={base64.b64encode(proof).decode()}'.encode()
    err, msg, sfinal, lifetime = authenticate(c, final, version)
    if err:
        return err, False, lifetime
    skey = hmac.new(salted, b'Server Key', h).digest()
    want = b'v=' + base64.b64encode(hmac.new(skey, am, h).digest())
    return err, sfinal == want, lifetime


def plain(user, password):
    return b'\0' + user.encode() + b'\0' + password.encode()


def new():
    return Conn(HOST, PORT, client='sasl_wire', timeout=10)


def gate_tests():
    c = new()
    r = c.call(18, 0, b'', False)
    check('ApiVersions is served before authentication', r.i16() == 0)
    check('Metadata before authentication closes the connection, unanswered', not metadata_ok(c))
    c.close()

    c = new()
    err, mechs = handshake(c, 'PLAIN')
    check('SaslHandshake v1 PLAIN is accepted and lists the enabled mechanisms',
          err == 0 and set(mechs) == {'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'}, str(mechs))
    err, msg, _, _ = authenticate(c, plain('admin', 'wrong'))
    check('a wrong PLAIN password gets SASL_AUTHENTICATION_FAILED',
          err == SASL_AUTHENTICATION_FAILED, f'{err} {msg}')
    check('... and no other request is served after it', not metadata_ok(c))
    c.close()

    # a failed attempt with a request already pipelined behind it: neither is served
    c = new()
    handshake(c, 'PLAIN')
    c.s.sendall(request(36, 1, 50, bytes_(plain('admin', 'nope'))) +
                request(3, 4, 51, metadata_body([])))
    first = read_response(c.s)
    err = struct.unpack_from('>h', first, 4)[0] if first else None
    check('a pipelined request behind a failed authentication is not answered',
          err == SASL_AUTHENTICATION_FAILED and read_response(c.s) is None, str(err))
    c.close()

    c = new()
    err, _ = handshake(c, 'GSSAPI')
    check('SaslHandshake with GSSAPI gets UNSUPPORTED_SASL_MECHANISM', err == UNSUPPORTED_SASL_MECHANISM)
    check('... and the connection closes', closed_by_peer(c.s, 5))

    c = new()
    err, msg, _, _ = authenticate(c, plain('admin', 'secret'))
    check('SaslAuthenticate without a handshake gets ILLEGAL_SASL_STATE and a close',
          err == ILLEGAL_SASL_STATE and closed_by_peer(c.s, 5), str(err))

    c = new()
    handshake(c, 'PLAIN')
    err, _ = handshake(c, 'PLAIN')
    check('a second SaslHandshake in one exchange gets ILLEGAL_SASL_STATE', err == ILLEGAL_SASL_STATE)
    c.close()

    c = new()
    handshake(c, 'SCRAM-SHA-256')
    err, msg, _, _ = authenticate(c, b'n,,n=admin,r=' + b'x' * 5000)
    check('a SCRAM message over 4096 bytes fails authentication',
          err == SASL_AUTHENTICATION_FAILED and closed_by_peer(c.s, 5), str(err))

    c = new()
    handshake(c, 'SCRAM-SHA-256')
    err, ok, _ = scram_login(c, 'SCRAM-SHA-256', 'nobody', 'secret')
    check('SCRAM for an unknown user fails only at the proof', err == SASL_AUTHENTICATION_FAILED)
    c.close()

    for mech in ('SCRAM-SHA-256', 'SCRAM-SHA-512'):
        c = new()
        handshake(c, mech)
        err, ok, _ = scram_login(c, mech, 'admin', 'secret', nonce_twice=True)
        check(f'{mech} by hand: authenticated, the server signature verifies', err == 0 and ok)
        check(f'{mech} by hand: Metadata is then served', metadata_ok(c))
        c.close()
        c = new()
        handshake(c, mech)
        err, ok, _ = scram_login(c, mech, 'admin', 'wrong')
        check(f'{mech} with a wrong password gets SASL_AUTHENTICATION_FAILED',
              err == SASL_AUTHENTICATION_FAILED and not metadata_ok(c))
        c.close()

    # a v0 handshake: the tokens follow as bare frames
    c = new()
    err, _ = handshake(c, 'PLAIN', version=0)
    tok = plain('admin', 'secret')
    c.s.sendall(struct.pack('>i', len(tok)) + tok)
    answer = read_response(c.s)
    check('a v0 handshake takes a bare PLAIN token and answers an empty one',
          err == 0 and answer == b'')
    check('... then Metadata is served', metadata_ok(c))
    c.close()
    c = new()
    handshake(c, 'PLAIN', version=0)
    tok = plain('admin', 'wrong')
    c.s.sendall(struct.pack('>i', len(tok)) + tok)
    check('a bare token with a wrong password closes the connection', closed_by_peer(c.s, 5))

    # a plaintext listener: SASL requests are answered ILLEGAL_SASL_STATE, nothing is gated
    p = Conn(HOST, PLAIN_PORT, timeout=10)
    err, _ = handshake(p, 'PLAIN')
    check('SaslHandshake on a PLAINTEXT listener gets ILLEGAL_SASL_STATE',
          err == ILLEGAL_SASL_STATE and metadata_ok(p))
    p.close()


def reauth_tests():
    c = new()
    handshake(c, 'SCRAM-SHA-512')
    err, ok, lifetime = scram_login(c, 'SCRAM-SHA-512', 'admin', 'secret')
    check('SaslAuthenticate v2 tells the session lifetime (connections.max.reauth.ms)',
          err == 0 and lifetime == 2000, str(lifetime))
    # re-authenticate on the same connection, as KIP-368 clients do before the end
    err, _ = handshake(c, 'SCRAM-SHA-512')
    err2, ok, lifetime = scram_login(c, 'SCRAM-SHA-512', 'admin', 'secret')
    check('re-authentication on a live connection succeeds', err == 0 and err2 == 0 and ok)
    check('... and requests go on being served', metadata_ok(c))
    c.close()
    idle = new()
    handshake(idle, 'PLAIN')
    authenticate(idle, plain('admin', 'secret'))
    check('a connection that does not re-authenticate is served until its session ends',
          metadata_ok(idle))
    start = time.monotonic()
    closed = closed_by_peer(idle.s, 10)
    took = time.monotonic() - start
    check('... and is closed when it ends', closed and took < 6, f'{took:.1f} s')
    print(f'# closed {took:.2f} s after its last answer (session 2.0 s, sweep 1 s)')

    # a re-authentication may not change the principal
    c = new()
    handshake(c, 'SCRAM-SHA-512')
    scram_login(c, 'SCRAM-SHA-512', 'admin', 'secret')
    err, _ = handshake(c, 'SCRAM-SHA-512')
    err, ok, _ = scram_login(c, 'SCRAM-SHA-512', 'other', 'o,ther-pw')
    check('a re-authentication as another user fails and closes',
          err == SASL_AUTHENTICATION_FAILED and not metadata_ok(c), str(err))
    c.close()


def crowd_tests():
    """Many PLAIN attempts at once (each a key derivation of about 10 ms) must not
    stall the other clients: a control connection on the PLAINTEXT listener times
    ApiVersions round trips meanwhile."""
    import threading
    stop = threading.Event()
    lat = []

    def control():
        p = Conn(HOST, PLAIN_PORT, timeout=10)
        while not stop.is_set():
            t = time.perf_counter()
            p.call(18, 0, b'', False)
            lat.append(time.perf_counter() - t)
        p.close()

    refused = []

    def attacker():
        for _ in range(8):
            c = new()
            handshake(c, 'PLAIN')
            err, _, _, _ = authenticate(c, plain('admin', 'guess'), version=1)
            refused.append(err == SASL_AUTHENTICATION_FAILED)
            c.close()

    ctl = threading.Thread(target=control)
    ctl.start()
    start = time.monotonic()
    threads = [threading.Thread(target=attacker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    stop.set()
    ctl.join()
    lat.sort()
    median, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
    print(f'# {len(refused)} PLAIN attempts in {took:.1f} s; control ApiVersions: '
          f'{len(lat)} round trips, median {median:.2f} ms, p99 {p99:.1f} ms')
    check('128 concurrent wrong PLAIN attempts are all refused', len(refused) == 128 and all(refused))
    check('... while a control client is answered in a median under 5 ms', median < 5,
          f'{median:.2f} ms')


def stalled_tests():
    """Connections that stop half-way through SASL (after the handshake, or after
    SCRAM's first message) are closed 10 s after they connected, whatever
    connections.max.idle.ms says."""
    conns = []
    for i in range(200):
        c = new()
        handshake(c, 'SCRAM-SHA-256' if i % 2 else 'PLAIN')
        if i % 2:
            authenticate(c, b'n,,n=admin,r=stall')
        conns.append(c)
    start = time.monotonic()
    closed = sum(closed_by_peer(c.s, max(0.1, 20 - (time.monotonic() - start))) for c in conns)
    took = time.monotonic() - start
    print(f'# {closed} of 200 stalled exchanges closed within {took:.1f} s')
    check('200 exchanges stalled mid-way are all closed within the 10 s bound (and a sweep)',
          closed == 200 and took < 12.5, f'{closed} closed in {took:.1f} s')
    for c in conns:
        c.close()


{'reauth': reauth_tests, 'crowd': crowd_tests, 'stalled': stalled_tests}.get(MODE, gate_tests)()
sys.exit(1 if failures else 0)
