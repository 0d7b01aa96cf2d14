#!/usr/bin/env bash
# bench/groups_startup.sh [GROUPS] - brookd's start-up with many committed groups.
#
# Starts a brookd of its own (port 0, a temporary data directory), creates one
# topic and commits one offset for each of GROUPS consumer groups (default 100000;
# OffsetCommit v2, simple commits, 64 in flight on one connection), checks that
# ListGroups lists them all, and stops it. Then restarts it ROUNDS times (default
# 3) on the same data and reads the time brookd reports in its ready line ("brookd
# ready in X ms": from main() until every listener, __consumer_offsets read back
# and every group rebuilt; the listening socket is bound earlier, so the time to a
# first accepted connection would not include the groups). Checks that each round
# loaded every offset. Prints "KEY VALUE" lines (bench/bench.h's contract): groups,
# commit_s, and ready_ms per round plus ready_ms_best and ready_ms_median.
#
# BUILD selects brookd (default build); use an optimised, unsanitized build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BROOKD=$ROOT/$BUILD/brookd
ROUNDS=${ROUNDS:-3}
GROUPS_N=${1:-100000}
[ -x "$BROOKD" ] || { echo "bench/groups_startup.sh: $BROOKD not built (make)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/brook-bench-XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# ready_wait LOG: until brookd logs its ready line (at most 600 s; false if it died)
ready_wait() {
    local i
    for ((i = 0; i < 60000; i++)); do
        grep -q 'brookd ready' "$1" && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

"$BROOKD" -d "$T/data" -l 127.0.0.1:0 --console off >"$T/log" 2>&1 &
PID=$!
ready_wait "$T/log" || { cat "$T/log" >&2; exit 1; }
PORT=$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$T/log" | head -1 | cut -d: -f2)

# The load: pipelined simple commits, each answer checked; then ListGroups.
start=$(date +%s.%N)
KW=$ROOT/tests timeout 1800 python3 -c '
import os, struct, sys
sys.path.insert(0, os.environ["KW"])
from kafkawire import connect, ensure_topic, read_response, request, string
port, n = int(sys.argv[1]), int(sys.argv[2])
ensure_topic("127.0.0.1", port, "bench-groups")
s = connect("127.0.0.1", port)
s.settimeout(120)
def commit(i):
    body = (string(f"bench-group-{i:07d}") + struct.pack(">i", -1) + string("") +
            struct.pack(">q", -1) + struct.pack(">i", 1) + string("bench-groups") +
            struct.pack(">i", 1) + struct.pack(">iq", 0, i) + string(""))
    return request(8, 2, i, body)
sent = done = 0
while done < n:
    while sent < n and sent - done < 64:
        s.sendall(commit(sent))
        sent += 1
    resp = read_response(s)
    if resp[-2:] != b"\0\0":
        sys.exit(f"commit {done} failed: {resp!r}")
    done += 1
s.sendall(request(16, 0, 0, b""))
resp = read_response(s)
(count,) = struct.unpack_from(">i", resp, 6)
if count < n:
    sys.exit(f"ListGroups lists {count} groups, not {n}")
' "$PORT" "$GROUPS_N"
end=$(date +%s.%N)
kill -TERM "$PID"
wait "$PID" || true
PID=
echo "groups $GROUPS_N"
awk -v a="$start" -v b="$end" 'BEGIN { printf "commit_s %.1f\n", b - a }'

: >"$T/ready"
for ((r = 1; r <= ROUNDS; r++)); do
    "$BROOKD" -d "$T/data" -l 127.0.0.1:0 --console off >"$T/log.$r" 2>&1 &
    PID=$!
    ready_wait "$T/log.$r" || { cat "$T/log.$r" >&2; exit 1; }
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
    loaded=$(grep -oE 'loaded [0-9]+ committed offsets' "$T/log.$r" | cut -d' ' -f2)
    [ "$loaded" = "$GROUPS_N" ] || { echo "round $r loaded ${loaded:-no} offsets" >&2; exit 1; }
    grep -oE 'brookd ready in [0-9.]+' "$T/log.$r" | awk '{ print $4 }' >>"$T/ready"
    echo "ready_ms $(tail -1 "$T/ready")"
done
sort -n "$T/ready" | awk '{ v[NR] = $1 } END {
    printf "ready_ms_best %s\nready_ms_median %s\n", v[1], v[int((NR + 1) / 2)] }'
