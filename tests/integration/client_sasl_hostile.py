#!/usr/bin/env python3
"""libbrook's SCRAM client against a broker that is not what it claims: the brook
CLI logs in to a fake broker on loopback that answers ApiVersions, SaslHandshake
and SaslAuthenticate (v0) itself, each case misbehaving in one way:

- badsig:   a server-final whose signature is not HMAC(ServerKey, AuthMessage), as
            a broker that does not hold the user's keys must send;
- badnonce: a server-first whose nonce does not extend the client's;
- iter:     an iteration count of a billion, which would make the client hash for
            minutes (SCRAM's bounds are 4096..16384);
- error:    e=invalid-proof in server-final (a refusal in SCRAM's own words);
- plainerr: SASL_AUTHENTICATION_FAILED to PLAIN.

In each case the client must fail in one line, quickly, and send nothing but the
handshake: no Metadata, no other request reaches the fake broker.

usage: client_sasl_hostile.py BROOK_BINARY
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import Reader, read_exact  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402

BROOK = sys.argv[1]
API_VERSIONS, SASL_HANDSHAKE, SASL_AUTH = 18, 17, 36
SALT = b'fake-broker-salt'


def s16(s):
    b = s.encode()
    return struct.pack('>h', len(b)) + b


def by32(b):
    return struct.pack('>i', -1) if b is None else struct.pack('>i', len(b)) + b


class Fake:
    """One fake broker on 127.0.0.1:0 for one case; records the api keys it got."""

    def __init__(self, case):
        self.case, self.apis = case, []
        self.ls = socket.socket()
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(8)
        self.ls.settimeout(20)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            while True:
                c, _ = self.ls.accept()
                threading.Thread(target=self.conn, args=(c,), daemon=True).start()
        except OSError:
            return

    def conn(self, c):
        c.settimeout(20)
        state = {}
        try:
            while True:
                head = read_exact(c, 4)
                frame = head and read_exact(c, struct.unpack('>i', head)[0])
                if not frame:
                    c.close()
                    return
                r = Reader(frame)
                api, ver, corr = r.i16(), r.i16(), r.i32()
                r.string()
                self.apis.append(api)
                body = self.answer(api, ver, r, state)
                if body is None:
                    c.close()
                    return
                out = struct.pack('>i', corr) + body
                c.sendall(struct.pack('>i', len(out)) + out)
        except (OSError, EOFError, struct.error):
            c.close()

    def answer(self, api, ver, r, state):
        if api == API_VERSIONS:  # v2: error, [key min max], throttle
            keys = [(18, 0, 2), (17, 1, 1), (36, 0, 0), (3, 0, 12)]
            return (struct.pack('>hi', 0, len(keys)) +
                    b''.join(struct.pack('>hhh', *k) for k in keys) + struct.pack('>i', 0))
        if api == SASL_HANDSHAKE:
            state['mech'] = r.string()
            return struct.pack('>hi', 0, 1) + s16(state['mech'])
        if api == SASL_AUTH:
            return self.auth(r.bytes_(), state)
        return None  # anything else: the client should never have sent it

    def auth(self, msg, state):
        def ok(b):
            return struct.pack('>h', 0) + s16('') + by32(b)
        if self.case == 'plainerr':
            return struct.pack('>h', 58) + s16('Authentication failed') + by32(b'')
        text = msg.decode()
        if text.startswith('n,,'):  # client-first
            attrs = dict(kv.split('=', 1) for kv in text[3:].split(','))
            nonce = attrs['r'] + 'srv'
            if self.case == 'badnonce':
                nonce = 'someone-else' + nonce
            iters = 1000000000 if self.case == 'iter' else 4096
            first = f'r={nonce},s={base64.b64encode(SALT).decode()},i={iters}'
            state['auth'] = f'{text[3:]},{first}'
            return ok(first.encode())
        # client-final: answer with a signature made from a password we do not know
        without = text[:text.index(',p=')]
        auth = f'{state["auth"]},{without}'.encode()
        if self.case == 'error':
            return ok(b'e=invalid-proof')
        sp = hashlib.pbkdf2_hmac('sha512', b'not the password', SALT, 4096)
        sk = hmac.new(sp, b'Server Key', 'sha512').digest()
        sig = hmac.new(sk, auth, 'sha512').digest()
        return ok(b'v=' + base64.b64encode(sig))


def login(fake, mech):
    t0 = time.monotonic()
    p = subprocess.run([BROOK, '-b', f'127.0.0.1:{fake.port}', '--timeout', '4000',
                        '-X', 'security.protocol=sasl_plaintext', '-X', f'sasl.mechanism={mech}',
                        '-X', 'sasl.username=alice', '-X', 'sasl.password=secret', 'topic', 'list'],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr.strip(), time.monotonic() - t0


for case, mech, want in [
        ('badsig', 'SCRAM-SHA-512', "the broker's proof did not verify"),
        ('badnonce', 'SCRAM-SHA-512', 'could not be understood'),
        ('iter', 'SCRAM-SHA-512', 'could not be understood'),
        ('error', 'SCRAM-SHA-512', 'SASL authentication failed'),
        ('plainerr', 'PLAIN', 'SASL authentication failed')]:
    fake = Fake(case)
    rc, err, secs = login(fake, mech)
    check(f'{case}: the login fails in one line naming why ({want})',
          rc == 1 and want in err and err.count('\n') == 0, f'rc {rc}: {err}')
    check(f'{case}: within the timeout ({secs:.1f} s)', secs < 10)
    others = sorted(set(fake.apis) - {API_VERSIONS, SASL_HANDSHAKE, SASL_AUTH})
    check(f'{case}: nothing but the handshake was sent', not others and SASL_AUTH in fake.apis,
          f'apis {fake.apis}')
    fake.ls.close()

sys.exit(tap.exit_status())
