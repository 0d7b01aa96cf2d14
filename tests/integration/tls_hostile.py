"""tls_hostile.py - TLS handshakes that never finish, against a live brookd.

usage: tls_hostile.py HOST:PORT PID LOG CA_PEM HANDSHAKE_TIMEOUT_MS

HOST:PORT is an SSL listener. The guard's control client works over TLS on the
same listener (kafkawire's connect is wrapped), so the case shows whether one
TLS client is still served while a thousand others hold half-done handshakes:
each of those sends the first bytes of a ClientHello, or nothing at all, and
then waits. brookd must drop every one of them once the handshake timeout has
passed (its sweep runs each second), and log that at a bounded rate.
"""
import os
import selectors
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import guard  # noqa: E402
import kafkawire  # noqa: E402

STALLED = 1000
# a TLS record header announcing a 512-byte handshake message, and its first bytes
PARTIAL_HELLO = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])


def main():
    hostport, pid, log, ca, timeout_ms = sys.argv[1:6]
    host, port = hostport.rsplit(':', 1)
    port, timeout_s = int(port), int(timeout_ms) / 1000
    ctx = ssl.create_default_context(cafile=ca)
    plain_connect = kafkawire.connect

    def tls_connect(h, p):
        return ctx.wrap_socket(plain_connect(h, p), server_hostname=h)

    kafkawire.connect = guard.connect = tls_connect
    g = guard.Guard(host, port, int(pid), log, rss_bound_mib=256)

    def stalled_handshakes():
        socks = []
        for i in range(STALLED):
            s = socket.create_connection((host, port), timeout=10)
            if i % 2:
                s.sendall(PARTIAL_HELLO)
            socks.append(s)
        t0 = time.time()
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        open_ = len(socks)
        # every one must be closed within the timeout and one sweep (1 s), plus slack
        deadline = t0 + timeout_s + 1.0 + 1.5
        while open_ and time.time() < deadline:
            for key, _ in sel.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(4096)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    open_ -= 1
        took = time.time() - t0
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        print(f'# {STALLED - open_} of {STALLED} stalled handshakes dropped in {took:.1f} s '
              f'(timeout {timeout_s:.1f} s)', flush=True)
        return open_ == 0

    def fetches_never_read():
        """Pipeline Fetch requests for 8 MiB each over TLS and read no answer: brookd
        must stop encrypting once the socket's buffers and CONN_OUT_HIGH_WATER are
        full, as it stops in plaintext, rather than encrypt every answer into
        memory. Watched for 3 s, in which unbounded growth passes a GiB."""
        kafkawire.ensure_topic(host, port, 'tlsbig')
        p = kafkawire.Producer(host, port)
        for _ in range(64):  # 8 MiB
            if p.send('tlsbig', [b'x' * 1000] * 128) != 0:
                return False
        p.close()
        body = guard.fetch_body('tlsbig', 0)
        body = body[:-4] + struct.pack('>i', 16 << 20)  # partition max_bytes: all 8 MiB
        body = body[:12] + struct.pack('>i', 64 << 20) + body[16:]  # request max_bytes
        before = guard.rss_kib(int(pid))
        s = tls_connect(host, port)
        for corr in range(1, 501):  # 60 bytes each: all fit in the socket buffers
            s.sendall(kafkawire.request(1, 4, corr, body))
        peak, end = before, time.time() + 3
        while time.time() < end:
            peak = max(peak, guard.rss_kib(int(pid)))
            time.sleep(0.05)
        s.close()
        grown = (peak - before) // 1024
        print(f'# RSS grew by {grown} MiB while 500 answers of 8 MiB waited', flush=True)
        return grown < 64

    g.case(f'{STALLED} connections stalled mid-handshake are dropped within the handshake '
           f'timeout', stalled_handshakes)
    g.case('a TLS client that sends fetches and reads no answer is held to the output bound',
           fetches_never_read, rss_bound_mib=200)
    return g.finish()


if __name__ == '__main__':
    sys.exit(main())
