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
from kafkawire import connect, read_response, request, string  # noqa: E402

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
    cmds = {'commit': commit, 'fetch': fetch, 'partial': partial, 'two': two}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        raise SystemExit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == '__main__':
    main()
