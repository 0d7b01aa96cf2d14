"""guard.py - watch a live brookd while a test attacks it, standard library only.

A hostile case is only half a test: the other half is what everyone else sees
meanwhile. Guard runs a control client beside the case (one connection that
produces a record and fetches it back, again and again) and samples brookd's
resident memory and the growth of its log. After each case it asserts that

  - the control client made progress during the case and afterwards,
  - brookd's RSS stayed under the bound the test states (peak, sampled every 20 ms),
  - the log grew by at most `log_lines_per_s` lines per second of the case.

Used by the hostile-input tests under tests/integration/. Prints "ok - ..." /
"not ok - ..." lines like every other suite.
"""
import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafkawire import (connect, ensure_topic, produce_body, produce_error,  # noqa: E402
                       read_response, record_batch, request, string)


def rss_kib(pid):
    """Resident set size of process pid in KiB (0 once it is gone)."""
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def fetch_body(topic, offset, partition=0, max_wait_ms=0):
    """A Fetch v4 body for one partition."""
    return (struct.pack('>iiiib', -1, max_wait_ms, 1, 1 << 20, 0) + struct.pack('>i', 1) +
            string(topic) + struct.pack('>i', 1) +
            struct.pack('>iqi', partition, offset, 1 << 20))


def fetch_result(resp):
    """(error code, high watermark) of the single partition in a Fetch v4 response."""
    off = 4 + 4 + 4  # correlation id, throttle time, topics count
    (n,) = struct.unpack_from('>h', resp, off)
    off += 2 + n + 4  # name, partitions count
    _, err, hw = struct.unpack_from('>ihq', resp, off)
    return err, hw


class Control(threading.Thread):
    """One connection producing a record and fetching from the same partition, in turns."""

    def __init__(self, host, port, topic='control'):
        super().__init__(daemon=True)
        self.host, self.port, self.topic = host, port, topic
        self.ok = 0
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        ensure_topic(self.host, self.port, self.topic)
        s = connect(self.host, self.port)
        s.settimeout(30)
        corr, hw = 0, 0
        deadline = time.time() + 1800
        while not self.stop.is_set() and time.time() < deadline:
            corr += 1
            try:
                s.sendall(request(0, 3, corr, produce_body(self.topic, record_batch([b'ctl']))))
                resp = read_response(s)
                err = produce_error(resp) if resp else 'closed'
                if err == 0:
                    corr += 1
                    s.sendall(request(1, 4, corr, fetch_body(self.topic, hw)))
                    resp = read_response(s)
                    err, new_hw = fetch_result(resp) if resp else ('closed', hw)
                    if err == 0 and new_hw <= hw:
                        err = f'high watermark stuck at {hw}'
                    hw = new_hw
            except OSError as e:
                err = repr(e)
                s.close()
                s = connect(self.host, self.port)
                s.settimeout(30)
            with self.lock:
                if err == 0:
                    self.ok += 1
                else:
                    self.errors.append(err)
            self.stop.wait(0.01)
        s.close()

    def count(self):
        with self.lock:
            return self.ok

    def wait_progress(self, before, timeout=30):
        """Wait until the control client succeeded twice more after `before`."""
        end = time.time() + timeout
        while time.time() < end:
            if self.count() > before + 1:
                return True
            time.sleep(0.01)
        return False


class Sampler(threading.Thread):
    """Peak RSS of a process, sampled every 20 ms until stopped."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_kib(pid)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, rss_kib(self.pid))


def _lines(path):
    try:
        with open(path, 'rb') as f:
            return f.read().count(b'\n')
    except OSError:
        return 0


class Guard:
    """Runs cases against brookd at host:port (process pid, log file log_path)."""

    def __init__(self, host, port, pid, log_path, rss_bound_mib=256, log_lines_per_s=5):
        self.host, self.port, self.pid, self.log_path = host, port, pid, log_path
        self.rss_bound_kib = rss_bound_mib * 1024
        self.log_lines_per_s = log_lines_per_s
        self.failures = 0
        self.control = Control(host, port)
        self.control.start()
        if not self.control.wait_progress(0):
            self.result(False, 'the control client works before any case')

    def result(self, good, name):
        print(('ok - ' if good else 'not ok - ') + name, flush=True)
        self.failures += not good
        return good

    def case(self, name, fn, rss_bound_mib=None, log_lines=None):
        """Run fn() (True when brookd answered as it should) under watch."""
        bound = (rss_bound_mib * 1024) if rss_bound_mib else self.rss_bound_kib
        per_s = self.log_lines_per_s if log_lines is None else log_lines
        before = self.control.count()
        lines_before = _lines(self.log_path)
        sampler = Sampler(self.pid)
        sampler.start()
        t0 = time.time()
        try:
            good = fn()
        except Exception as e:  # a crash of the test itself is a failure, not an exception
            print(f'# {name}: {e!r}', flush=True)
            good = False
        secs = time.time() - t0
        progressed = self.control.wait_progress(before)
        sampler.stop.set()
        sampler.join()
        alive = rss_kib(self.pid) > 0
        grown = _lines(self.log_path) - lines_before
        self.result(good and alive, name)
        self.result(alive and progressed, f'{name}: the control client keeps working')
        self.result(sampler.peak <= bound,
                    f'{name}: peak RSS {sampler.peak // 1024} MiB <= {bound // 1024} MiB')
        self.result(grown <= per_s * max(secs, 1.0) + 3,
                    f'{name}: the log grew by {grown} lines in {secs:.1f} s')
        return good

    def finish(self):
        """Stop the control client; report whether it ever failed. Returns the exit code."""
        self.control.stop.set()
        self.control.join(30)
        errs = self.control.errors
        self.result(not errs, f'the control client never failed ({self.control.ok} rounds, '
                    f'errors: {errs[:5]})')
        return 1 if self.failures else 0
