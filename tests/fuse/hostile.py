#!/usr/bin/env python3
"""hostile.py - the probes of tests/fuse/hostile.sh, one line of output each.

  hostile.py commit BROKER GROUP TOPIC OFFSET   OffsetCommit v2 of partition 0:
                                                the error code
  hostile.py fetch BROKER GROUP TOPIC           OffsetFetch v1 of partition 0:
                                                "offset error"
  hostile.py partial PID PATH MIB               append MIB MiB of 'x' without a
                                                newline in 1 MiB write() calls,
                                                sampling the RSS of process PID:
                                                "OK|ERRNO accepted_mib growth_mib"
  hostile.py guarded BROKER PID LOG PATH MIB    `partial` as a tests/guard.py case:
                                                a control client produces and
                                                fetches meanwhile, brookd's peak
                                                RSS stays within 64 MiB of where
                                                it started and its LOG quiet; the
                                                guard's ok lines, then "RESULT"
                                                and what `partial` prints
  hostile.py produce BROKER TOPIC MIB           Produce v3 of one batch holding a
                                                MIB MiB record to partition 0:
                                                the error code
  hostile.py two PATH_A PATH_B MIB              handle A holds MIB MiB without a
                                                newline, then handle B tries the
                                                same: "A B b_accepted_mib"; B is
                                                closed, then A ends its line

Every socket has a timeout; the writers stop at the first error.
"""
import errno
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
import guard  # noqa: E402
from kafkawire import (connect, produce_body, produce_error, read_response,  # noqa: E402
                       record_batch, request, string)

MIB = 1 << 20


def call(broker, api, version, body):
    host, port = broker.rsplit(':', 1)
    s = connect(host, int(port))
    s.settimeout(20)
    try:
        s.sendall(request(api, version, 1, body))
        resp = read_response(s)
    finally:
        s.close()
    if resp is None:
        raise SystemExit('closed')
    return resp


def skip_string(resp, off):
    (n,) = struct.unpack_from('>h', resp, off)
    return off + 2 + max(n, 0)


def commit(broker, group, topic, offset):
    body = (string(group) + struct.pack('>i', -1) + string('') + struct.pack('>q', -1) +
            struct.pack('>i', 1) + string(topic) + struct.pack('>i', 1) +
            struct.pack('>iq', 0, int(offset)) + string(None))
    resp = call(broker, 8, 2, body)
    off = skip_string(resp, 4 + 4) + 4  # correlation id, topics count, name, partitions
    print(struct.unpack_from('>ih', resp, off)[1])


def fetch(broker, group, topic):
    body = (string(group) + struct.pack('>i', 1) + string(topic) + struct.pack('>i', 1) +
            struct.pack('>i', 0))
    resp = call(broker, 9, 1, body)
    off = skip_string(resp, 4 + 4) + 4
    _, offset = struct.unpack_from('>iq', resp, off)
    off = skip_string(resp, off + 12)
    (err,) = struct.unpack_from('>h', resp, off)
    print(offset, err)


def produce(broker, topic, mib):
    batch = record_batch([b'x' * (int(mib) * MIB)])
    print(produce_error(call(broker, 0, 3, produce_body(topic, batch))))


def append(fd, mib):
    """Write mib MiB of 'x' through fd: (errno name or OK, bytes accepted)."""
    chunk = b'x' * MIB
    done = 0
    while done < mib * MIB:
        try:
            done += os.write(fd, chunk[:min(MIB, mib * MIB - done)])
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno)), done
    return 'OK', done


def partial(pid, path, mib):
    sampler = guard.Sampler(int(pid))
    base = sampler.peak
    sampler.start()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        res, done = append(fd, int(mib))
    finally:
        os.close(fd)
        sampler.stop.set()
        sampler.join()
    print(res, done // MIB, (sampler.peak - base) // 1024)


def guarded(broker, pid, log, path, mib):
    host, port = broker.rsplit(':', 1)
    g = guard.Guard(host, int(port), int(pid), log)
    bound = guard.rss_kib(int(pid)) // 1024 + 64
    got = []

    def case():
        sampler = guard.Sampler(int(pid))
        base = sampler.peak
        sampler.start()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            got.extend(append(fd, int(mib)))
        finally:
            os.close(fd)
            sampler.stop.set()
            sampler.join()
        got.append((sampler.peak - base) // 1024)
        return got[0] == 'EFBIG'

    g.case(f'a {mib} MiB line without newline is refused under watch', case, rss_bound_mib=bound)
    g.finish()
    if len(got) == 3:
        print('RESULT', got[0], got[1] // MIB, got[2])


def two(path_a, path_b, mib):
    a = os.open(path_a, os.O_WRONLY | os.O_APPEND)
    b = os.open(path_b, os.O_WRONLY | os.O_APPEND)
    try:
        res_a, _ = append(a, int(mib))
        res_b, done_b = append(b, int(mib))
        os.close(b)
        b = -1
        os.write(a, b'\n')
    finally:
        os.close(a)
        if b >= 0:
            os.close(b)
    print(res_a, res_b, done_b // MIB)


def main():
    cmds = {'commit': commit, 'fetch': fetch, 'partial': partial, 'guarded': guarded,
            'produce': produce, 'two': two}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        raise SystemExit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == '__main__':
    main()
