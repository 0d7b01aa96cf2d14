#!/usr/bin/env python3
"""bench/partitions.py [N...] - how brookd's costs grow with the number of partitions.

For each N (default 100 1000 10000 50000) a brookd of its own (port 0, a fresh
data directory under BENCH_DIR or /tmp, console off) is given N partitions as
N/10 topics of 10 partitions, created by CreateTopics requests of up to 1 000
topics each, and then measured:

  create_ms     the CreateTopics requests, first byte sent to last answer read
  metadata_ms   one Metadata v12 for every topic, on a connection of its own: from
                sending it to having read the whole answer
  stall_ms      the slowest ApiVersions answer another connection (another
                process) got while that Metadata was asked and decoded (what one
                big request costs others)
  stop_ms       SIGTERM to exit, after the creations (everything dirty)
  ready_ms      a restart on the same data: the time brookd reports in its ready
                line (from main() to serving, every partition usable)
  restop_ms     SIGTERM to exit of that restarted brookd, after one Metadata
  rss_kib       VmRSS of the restarted brookd after that Metadata

Separately, for the "1 000 topics at once" goal: topics1k_ms is one CreateTopics
of 1 000 topics of one partition on an empty broker.

Output: "KEY VALUE" lines (bench/bench.h's contract, KEY suffixed with _N), then
a Markdown table of the same figures. BUILD selects brookd (default build; use an
optimised, unsanitized build). Every wait is bounded; everything it starts is
stopped on exit. Talks the wire protocol through tests/kafkawire.py.
"""
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
import kafkawire as kw  # noqa: E402

BROOKD = os.path.join(ROOT, os.environ.get('BUILD', 'build'), 'brookd')
PARTS_PER_TOPIC = 10
TOPICS_PER_REQUEST = 1000
WAIT_S = 600


class Brookd:
    """One brookd on a data directory, started and waited for its ready line."""

    def __init__(self, data, log):
        self.log = log
        with open(log, 'w') as out:
            self.proc = subprocess.Popen(
                [BROOKD, '-d', data, '-l', '127.0.0.1:0', '--console', 'off'],
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            text = open(log).read()
            m = re.search(r'ready in ([0-9.]+) ms: kafka on 127\.0\.0\.1:([0-9]+)', text)
            if m:
                self.ready_ms, self.port = float(m.group(1)), int(m.group(2))
                return
            if self.proc.poll() is not None:
                raise RuntimeError('brookd exited: ' + text)
            time.sleep(0.005)
        raise RuntimeError('brookd not ready in time')

    def rss_kib(self):
        with open(f'/proc/{self.proc.pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        return -1

    def stop(self):
        """SIGTERM; milliseconds until it exited."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(WAIT_S)
        if rc != 0:
            raise RuntimeError(f'brookd exited with {rc}: ' + open(self.log).read())
        return (time.monotonic() - t0) * 1000

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def create_body(names, parts):
    """CreateTopics v4: topics, timeout_ms, validate_only."""
    w = kw.Writer(False)
    w.i32(len(names))
    for n in names:
        w.string(n).i32(parts).i16(1).i32(0).i32(0)
    return w.i32(600000).i8(0).bytes()


def create_topics(conn, names, parts):
    r = conn.call(19, 4, create_body(names, parts), False)
    r.i32()  # throttle_time_ms
    for _ in range(r.i32()):
        name, err, msg = r.string(), r.i16(), r.string()
        if err:
            raise RuntimeError(f'create {name}: error {err} {msg}')


def metadata_all(conn, took):
    """Metadata v12 for every topic; the number of partitions answered. took[0]
    gets the milliseconds from sending to the whole answer read (not decoded)."""
    body = kw.uvarint(0) + b'\x00\x00' + kw.tags()
    conn.corr += 1
    t0 = time.monotonic()
    conn.s.sendall(kw.request(3, 12, conn.corr, body, conn.client, True))
    resp = kw.read_response(conn.s)
    took[0] = (time.monotonic() - t0) * 1000
    r = kw.Reader(resp, True)
    if r.i32() != conn.corr:
        raise RuntimeError('Metadata: wrong correlation id')
    r.tags()
    r.i32()  # throttle
    for _ in range(r.uvarint() - 1):  # brokers
        r.i32(), r.string(), r.i32(), r.string(), r.tags()
    r.string(), r.i32()  # cluster id, controller
    parts = 0
    for _ in range(r.uvarint() - 1):
        r.i16(), r.string(), r.uuid(), r.bool()
        for _ in range(r.uvarint() - 1):
            r.i16(), r.i32(), r.i32(), r.i32()
            for _ in range(3):
                for _ in range(r.uvarint() - 1):
                    r.i32()
            r.tags()
            parts += 1
        r.i32(), r.tags()
    return parts


def control(port, started, done, worst):
    """In a process of its own (no lock shared with the busy one): ApiVersions
    round trips until done, the slowest into worst."""
    conn = kw.Conn('127.0.0.1', port, 'bench-control')
    started.set()
    while not done.is_set():
        t0 = time.monotonic()
        conn.call(18, 0, b'', False)
        worst.value = max(worst.value, (time.monotonic() - t0) * 1000)
    conn.close()


def stall_while(port, busy):
    """Slowest ApiVersions round trip on another connection while busy() runs."""
    started, done = multiprocessing.Event(), multiprocessing.Event()
    worst = multiprocessing.Value('d', 0.0)
    proc = multiprocessing.Process(target=control, args=(port, started, done, worst))
    proc.start()
    try:
        if not started.wait(WAIT_S):
            raise RuntimeError('control connection did not start')
        result = busy()
    finally:
        done.set()
        proc.join(WAIT_S)
        if proc.is_alive():
            proc.kill()
    return result, worst.value


def timed(fn):
    t0 = time.monotonic()
    fn()
    return (time.monotonic() - t0) * 1000


def measure(n, base):
    data, log = os.path.join(base, f'data{n}'), os.path.join(base, f'brookd{n}.log')
    topics = [f'bench-{i}' for i in range(max(1, n // PARTS_PER_TOPIC))]
    b = Brookd(data, log)
    try:
        conn = kw.Conn('127.0.0.1', b.port, 'bench', timeout=WAIT_S)

        def create():
            for i in range(0, len(topics), TOPICS_PER_REQUEST):
                create_topics(conn, topics[i:i + TOPICS_PER_REQUEST], PARTS_PER_TOPIC)
        f = {'create_ms': timed(create)}
        conn.close()
        f['stop_ms'] = b.stop()
    finally:
        b.kill()
    b = Brookd(data, log)
    try:
        f['ready_ms'] = b.ready_ms
        conn = kw.Conn('127.0.0.1', b.port, 'bench', timeout=WAIT_S)
        took = [0.0]
        got, f['stall_ms'] = stall_while(b.port, lambda: metadata_all(conn, took))
        f['metadata_ms'] = took[0]
        if got < len(topics) * PARTS_PER_TOPIC:
            raise RuntimeError(f'Metadata answered {got} partitions')
        conn.close()
        f['rss_kib'] = b.rss_kib()
        f['restop_ms'] = b.stop()
    finally:
        b.kill()
    shutil.rmtree(data, ignore_errors=True)
    return f


def topics_1k(base):
    data = os.path.join(base, 'data1k')
    b = Brookd(data, os.path.join(base, 'brookd1k.log'))
    try:
        conn = kw.Conn('127.0.0.1', b.port, 'bench', timeout=WAIT_S)
        ms = timed(lambda: create_topics(conn, [f'one-{i}' for i in range(1000)], 1))
        conn.close()
        b.stop()
    finally:
        b.kill()
    shutil.rmtree(data, ignore_errors=True)
    return ms


KEYS = ['ready_ms', 'stop_ms', 'restop_ms', 'create_ms', 'metadata_ms', 'stall_ms', 'rss_kib']


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000, 10000, 50000]
    if not os.access(BROOKD, os.X_OK):
        sys.exit(f'bench/partitions.py: {BROOKD} not built (make)')
    base = tempfile.mkdtemp(prefix='brook-bench-', dir=os.environ.get('BENCH_DIR'))
    rows = {}
    try:
        ms = topics_1k(base)
        print(f'topics1k_ms {ms:.1f}', flush=True)
        for n in sizes:
            rows[n] = measure(n, base)
            for k in KEYS:
                print(f'{k}_{n} {rows[n][k]:.1f}', flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print()
    print('| partitions | ' + ' | '.join(KEYS) + ' |')
    print('|---:|' + '---:|' * len(KEYS))
    for n in sizes:
        print(f'| {n} | ' + ' | '.join(f'{rows[n][k]:.0f}' for k in KEYS) + ' |')


if __name__ == '__main__':
    main()
