#!/usr/bin/env bash
# Fairness inside the event loop (tests/integration/fairness.py): a connection
# pipelining requests gets a bounded number handled before another connection's
# request, and requests that do not decode cost a few log lines, not one each.
# Runs in about two seconds.
. "$(dirname "$0")/../lib.sh"
brookd_start || { fail "fairness: brookd starts"; exit 1; }
tool "fairness.py" timeout 60 python3 "$(dirname "$0")/fairness.py" "$BROKER" "$BROOKD_PID" "$BROOKD_LOG"
brookd_stop
check "fairness: brookd stops cleanly" [ $? -eq 0 ]
