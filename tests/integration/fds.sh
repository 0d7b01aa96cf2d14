#!/usr/bin/env bash
# Descriptors: brookd under a small RLIMIT_NOFILE serves a topic with sixteen times
# as many segments as it has descriptors, and everyone else meanwhile
# (tests/integration/fds.py). The limit is set before brookd starts, in this
# shell only.
. "$(dirname "$0")/../lib.sh"
NOFILE=256
ulimit -n $NOFILE || { fail "fds: ulimit -n $NOFILE"; exit 1; }
brookd_start || { fail "fds: brookd starts under ulimit -n $NOFILE"; exit 1; }
tool "fds.py" timeout 300 python3 "$ROOT/tests/integration/fds.py" "$BROKER" "$BROOKD_PID" \
    "$BROOKD_LOG" "$NOFILE"
segs=$(find "$DATA/many-0" -name '*.log' | wc -l)
check "the topic has more segments ($segs) than brookd has descriptors ($NOFILE)" \
    [ "$segs" -gt $((NOFILE * 8)) ]
brookd_stop
check "brookd stops cleanly after the many-segment topic" [ $? -eq 0 ]
