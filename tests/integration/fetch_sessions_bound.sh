#!/usr/bin/env bash
# The fetch session cache under the largest legal requests, each case while a control
# client keeps producing and fetching (tests/integration/fetch_sessions_bound.py).
. "$(dirname "$0")/../lib.sh"
case $BUILD in */san | san) export FETCH_SANITIZED=1 ;; esac # bounds x3 (ASan's redzones)
brookd_start || { fail "fetch sessions: brookd starts"; exit 1; }
tool "fetch_sessions_bound.py" timeout 600 python3 \
    "$ROOT/tests/integration/fetch_sessions_bound.py" "$BROKER" "$BROOKD_PID" "$BROOKD_LOG"
brookd_stop
check "fetch sessions: brookd stops cleanly afterwards" [ $? -eq 0 ]
