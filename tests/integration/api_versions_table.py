#!/usr/bin/env python3
"""brookd's live ApiVersions answer is its advertised_apis table, as `brookd
--help-apis` prints it: the same APIs, in the same order, with the same ranges,
in v0 (int32 arrays) and in v3 (compact arrays, flexible header).

Prints "ok - ..." / "not ok - ..." lines.

usage: api_versions_table.py HOST:PORT TABLE   (TABLE: the --help-apis output)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import Reader, connect, read_response, request  # noqa: E402
import tap  # noqa: E402
from tap import check  # noqa: E402

HOST, PORT = sys.argv[1].rsplit(':', 1)
PORT = int(PORT)


def parse(resp, version):
    """(correlation id, error code, [(key, min, max)]) of an ApiVersions response."""
    r = Reader(resp, version >= 3)
    corr, err = r.i32(), r.i16()
    keys = []
    for _ in range(r.length(True)):
        keys.append(r.take('>hhh'))
        if version >= 3:
            assert r.uvarint() == 0, 'no tagged fields expected in an api_keys entry'
    return corr, err, keys


table = []
with open(sys.argv[2]) as f:
    for line in f:
        if line.startswith('#') or not line.strip():
            continue
        cols = line.rstrip('\n').split('\t')
        table.append((int(cols[1]), int(cols[2]), int(cols[3])))
check('api versions table: --help-apis lists ApiVersions', any(k == 18 for k, _, _ in table))

for version, body in ((0, b''), (3, b'\x06brook\x040.1\x00')):
    s = connect(HOST, PORT)
    s.sendall(request(18, version, 7, body))
    resp = read_response(s)
    s.close()
    if resp is None:
        check(f'api versions table: ApiVersions v{version} is answered', False)
        continue
    corr, err, keys = parse(resp, version)
    check(f'api versions table: ApiVersions v{version} answers without error',
          corr == 7 and err == 0, f'correlation {corr}, error {err}')
    check(f'api versions table: ApiVersions v{version} answer is the advertised_apis table',
          keys == table, f'answered {keys}, table {table}')
    for key, lo, hi in keys:
        if lo > hi or lo < 0:
            check(f'api versions table: v{version} range of api {key} is sane', False,
                  f'{lo}-{hi}')
sys.exit(tap.exit_status())
