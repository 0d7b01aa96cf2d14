#!/usr/bin/env bash
# Requests whose answer would be many times their size (issue 14, finding 1), each
# under tests/guard.py: answered within the response limit or refused, while a
# control client keeps producing and fetching (tests/integration/bounds.py).
. "$(dirname "$0")/../lib.sh"
brookd_start -o socket.request.max.bytes=104857600 || { fail "bounds: brookd starts"; exit 1; }
tool "bounds.py" timeout 600 python3 "$ROOT/tests/integration/bounds.py" "$BROKER" "$BROOKD_PID" \
    "$BROOKD_LOG"
brookd_stop
check "bounds: brookd stops cleanly afterwards" [ $? -eq 0 ]
