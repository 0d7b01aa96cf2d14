#!/usr/bin/env python3
"""kafka_probe.py - timings and writers for the FUSE tests that involve Kafka.

  kafka_probe.py follow BROKER TOPIC FILE N   produce N records over TCP one by one
                                              while reading FILE (a follow file):
                                              prints "p50 p99 max" latency in ms
  kafka_probe.py tail BROKER TOPIC FILE N     the same through `tail -f -s 0.1 FILE`
  kafka_probe.py write FILE PREFIX N          append "PREFIX-<i>" lines, one write() each

Latency is from just before the produce request is sent to the moment the line
is read. Every wait is bounded.
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import kafkawire  # noqa: E402


def percentiles(values):
    v = sorted(values)
    return v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))], v[-1]


def measure(broker, topic, reader, n):
    """Produce n values; reader.wait(value) returns when the line was read."""
    host, port = broker.rsplit(':', 1)
    p = kafkawire.Producer(host, int(port))
    lat = []
    for i in range(n):
        value = f'probe-{os.getpid()}-{i}'.encode()
        reader.expect(value)
        t0 = time.monotonic()
        if p.send(topic, [value]) != 0:
            raise SystemExit(f'produce failed at {i}')
        if not reader.wait(10):
            raise SystemExit(f'line {i} never arrived')
        lat.append((reader.when - t0) * 1000)
    p.close()
    return percentiles(lat)


class LineReader(threading.Thread):
    """Reads lines from a binary stream, noting when the expected one arrives."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.cond = threading.Condition()
        self.want = None
        self.when = None

    def expect(self, value):
        with self.cond:
            self.want, self.when = value, None

    def wait(self, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: self.when is not None, timeout)

    def run(self):
        for line in self.stream:
            now = time.monotonic()
            with self.cond:
                if line.rstrip(b'\n') == self.want:
                    self.when = now
                    self.cond.notify_all()


def follow(broker, topic, path, n):
    f = open(path, 'rb', buffering=0)
    os.lseek(f.fileno(), 0, os.SEEK_END)  # only new records
    r = LineReader(iter(f.readline, b''))
    r.start()
    return measure(broker, topic, r, n)


def warm_up(broker, topic, reader):
    """Produce until a record comes through reader: one produced before a freshly
    started `tail -n 0` has taken the file's size is behind where tail starts."""
    host, port = broker.rsplit(':', 1)
    p = kafkawire.Producer(host, int(port))
    for i in range(40):
        value = f'warm-up-{os.getpid()}-{i}'.encode()
        reader.expect(value)
        if p.send(topic, [value]) != 0:
            raise SystemExit(f'produce failed at warm-up {i}')
        if reader.wait(0.5):
            p.close()
            return
    raise SystemExit('no warm-up record arrived')


def tail(broker, topic, path, n):
    t = subprocess.Popen(['tail', '-n', '0', '-s', '0.1', '-f', path], stdout=subprocess.PIPE)
    try:
        r = LineReader(iter(t.stdout.readline, b''))
        r.start()
        warm_up(broker, topic, r)  # tail is polling once one has come through
        return measure(broker, topic, r, n)
    finally:
        t.kill()


def write(path, prefix, n):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    for i in range(n):
        os.write(fd, f'{prefix}-{i}\n'.encode())
    os.close(fd)


def main():
    mode = sys.argv[1]
    if mode in ('follow', 'tail'):
        fn = follow if mode == 'follow' else tail
        p50, p99, mx = fn(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        print(f'{p50:.2f} {p99:.2f} {mx:.2f}')
    elif mode == 'write':
        write(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit('usage: see the comment at the top')


if __name__ == '__main__':
    main()
