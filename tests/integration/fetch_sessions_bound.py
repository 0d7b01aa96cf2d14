"""fetch_sessions_bound.py - the fetch session cache under the largest legal requests.

Each case runs under tests/guard.py's Guard (a control client keeps producing and
fetching; peak RSS and log growth bounded):

  one connection      opens 3 000 sessions: it keeps only its newest 8, the first is
                      FETCH_SESSION_ID_NOT_FOUND, the newest still works.
  many connections    300 connections try 8 sessions each (2 400 > the 1 000 slots):
                      1 000 are made; a session no larger than every cached one is not
                      created (session id 0), and its client goes on with full fetches.
  large sessions      an incremental fetch growing a session of 40 000 partitions (of an
                      unknown topic id: each answered UNKNOWN_TOPIC_ID and kept) past
                      50 000 closes it (FETCH_SESSION_ID_NOT_FOUND); a full fetch of
                      60 000 gets no session; of 40 sessions of 40 000 from 40
                      connections only what 64 MiB holds is made.

usage: fetch_sessions_bound.py HOST:PORT BROOKD_PID BROOKD_LOG
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from fetch_versions import Conn, fetch  # noqa: E402
from guard import Guard  # noqa: E402

NO_TOPIC = b'\x42' * 16


def open_session(c, parts, v=17):
    err, sid, got, _ = fetch(c, v, [(NO_TOPIC, p, 0, 1024) for p in range(parts)],
                             session=(0, 0))
    return err, sid, got


def one_connection(host, port):
    c = Conn(host, port)
    ids = [open_session(c, 1)[1] for _ in range(3000)]
    first, _, _, _ = fetch(c, 17, [], session=(ids[0], 1))
    last, sid, _, _ = fetch(c, 17, [], session=(ids[-1], 1))
    c.s.close()
    print(f'# first session: {first}, newest: {last} (id {sid})')
    return all(ids) and len(set(ids)) == 3000 and first == 70 and last == 0 and sid == ids[-1]


def many_connections(host, port):
    conns = [Conn(host, port) for _ in range(300)]
    made = 0
    for c in conns:
        for _ in range(8):
            made += open_session(c, 2)[1] != 0
    late = Conn(host, port)
    err, sid, got = open_session(late, 1)
    for c in conns + [late]:
        c.s.close()
    print(f'# sessions made: {made} of 2 400, a smaller late one: err {err} id {sid}')
    return made == 1000 and err == 0 and sid == 0 and len(got) == 1 and got[0][2] == 100


def large_sessions(host, port):
    c = Conn(host, port)
    err, sid, _ = open_session(c, 40000)
    grown = fetch(c, 17, [(NO_TOPIC, p, 0, 1024) for p in range(40000, 50001)],
                  session=(sid, 1))[0] if sid else None
    err, big, got = open_session(c, 60000)
    ok = err == 0 and big == 0 and len(got) == 60000
    conns = [Conn(host, port) for _ in range(40)]
    made = 0
    for x in conns:
        err, sid, got = open_session(x, 40000)
        made += sid != 0
        ok &= err == 0 and len(got) == 40000
    for x in conns + [c]:
        x.s.close()
    print(f'# sessions of 40 000 partitions made: {made}/40; 60 000: id {big}; '
          f'grown past 50 000: {grown}')
    return ok and 0 < made < 40 and grown == 70


def main():
    host, port = sys.argv[1].rsplit(':', 1)
    port = int(port)
    pid, log = int(sys.argv[2]), sys.argv[3]
    bound = 3 if os.environ.get('FETCH_SANITIZED') else 1
    g = Guard(host, port, pid, log, rss_bound_mib=64 * bound)
    g.case('fetch sessions: one connection opening 3 000 keeps its newest 8',
           lambda: one_connection(host, port))
    g.case('fetch sessions: 2 400 tried from 300 connections fill the 1 000 slots and no more',
           lambda: many_connections(host, port))
    g.case('fetch sessions: sessions of 40 000 partitions stay within 64 MiB',
           lambda: large_sessions(host, port), rss_bound_mib=160 * bound)
    return g.finish()


if __name__ == '__main__':
    sys.exit(main())
