#!/usr/bin/env python3
"""Fairness inside the event loop: a connection that pipelines many requests gets a
bounded number of them handled before another ready connection's turn.

brookd is stopped (SIGSTOP) while a flood connection sends FLOOD small Produce
requests (acks=0, one record each, to topic `fair`) and then a control connection
sends one ListOffsets(latest) for the same partition; then brookd continues. Both
sockets are ready in the same loop iteration, the flood's first. The high
watermark in the control's answer counts the flood requests handled before it:
at most a pass's worth (FRAMES_PER_PASS, 8, broker/server.c) and a second pass
as slack. Before the bound, a pass handled all that one 4 KiB read held (33 of
these requests), and a flood of expensive requests held every other connection
for as long. Afterwards every flood record must be stored.

Then BAD connections each send one request brookd cannot decode and are closed:
the log may grow by a few lines (log_warn_every), not one line (and one write)
per bad request, which is what the mutated-frame stream of the hostile-load
suite cost everyone else.

usage: fairness.py HOST:PORT BROOKD_PID BROOKD_LOG
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import (closed_by_peer, connect, ensure_topic, produce_body, read_response,  # noqa: E402
                       record_batch, request, string)

TOPIC = 'fair'
FLOOD = 200  # 23 KB: fits the socket buffers while brookd is stopped
BOUND = 16   # two passes of FRAMES_PER_PASS
BAD = 300
LOG_LINES = 20  # rate-limited: 5 per call site per 10 s, then a count
failed = False


def result(ok, name):
    global failed
    failed |= not ok
    print(f'{"ok" if ok else "not ok"} - {name}', flush=True)


def list_offsets_body():
    """ListOffsets v1: latest offset of partition 0 of TOPIC."""
    return (struct.pack('>i', -1) + struct.pack('>i', 1) + string(TOPIC) +
            struct.pack('>iiq', 1, 0, -1))


def latest(resp):
    """(error, offset) from a ListOffsets v1 response of one partition."""
    off = 4 + 4  # correlation id, topics count
    (n,) = struct.unpack_from('>h', resp, off)
    off += 2 + n + 4  # name, partitions count
    _, err, _, offset = struct.unpack_from('>ihqq', resp, off)
    return err, offset


def state(pid):
    with open(f'/proc/{pid}/stat') as f:
        return f.read().rsplit(')', 1)[1].split()[0]


def wait_state(pid, want):
    """Bounded wait until brookd is (or no longer is) stopped."""
    for _ in range(2000):
        if (state(pid) == 'T') == want:
            return True
        time.sleep(0.001)
    return False


def lines(path):
    with open(path, 'rb') as f:
        return f.read().count(b'\n')


def bad_requests(host, port, log):
    """BAD connections, each closed by brookd for a request that does not decode."""
    before, closed = lines(log), 0
    for i in range(BAD):
        s = connect(host, port)
        # a header that ends inside its client id, or a Metadata body that ends early
        s.sendall(struct.pack('>ihhih', 6, 3, 1, i, 40) if i % 2 else
                  request(3, 1, i, struct.pack('>i', 5)))
        closed += closed_by_peer(s)
        s.close()
    grown = lines(log) - before
    result(closed == BAD, f'fairness: brookd closed all {BAD} connections with a bad request '
           f'({closed})')
    result(grown <= LOG_LINES, f'fairness: {BAD} bad requests grow the log by at most '
           f'{LOG_LINES} lines ({grown})')


def main():
    host, port = sys.argv[1].rsplit(':', 1)
    port, pid = int(port), int(sys.argv[2])
    ensure_topic(host, port, TOPIC)
    flood, control = connect(host, port), connect(host, port)
    frame = request(0, 3, 1, produce_body(TOPIC, record_batch([b'x']), acks=0))
    print(f'# {FLOOD} Produce requests of {len(frame)} bytes; one 4 KiB read holds '
          f'{4096 // len(frame)}', flush=True)
    os.kill(pid, 19)  # SIGSTOP
    try:
        result(wait_state(pid, True), 'fairness: brookd is stopped while the requests are sent')
        flood.sendall(frame * FLOOD)
        control.sendall(request(2, 1, 7, list_offsets_body()))
    finally:
        os.kill(pid, 18)  # SIGCONT
    control.settimeout(10)
    resp = read_response(control)
    err, seen = latest(resp) if resp else (-1, -1)
    print(f'# the control request saw {seen} of the {FLOOD} flood requests handled before it')
    result(err == 0 and 0 <= seen <= BOUND,
           f'fairness: a control request waits for at most {BOUND} of a flood\'s '
           f'pipelined requests (saw {seen}, error {err})')
    done = -1
    for _ in range(1000):  # bounded: every flood record is stored
        control.sendall(request(2, 1, 8, list_offsets_body()))
        done = latest(read_response(control))[1]
        if done >= FLOOD:
            break
        time.sleep(0.005)
    result(done == FLOOD, f'fairness: all {FLOOD} flood records are stored ({done})')
    flood.close()
    control.close()
    bad_requests(host, port, sys.argv[3])
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
