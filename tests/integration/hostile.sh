#!/usr/bin/env bash
# Malformed and abusive requests against a live brookd, each while a control
# producer keeps producing (tests/integration/hostile.py).
. "$(dirname "$0")/../lib.sh"
brookd_start -o socket.request.max.bytes=104857600 || { fail "hostile: brookd starts"; exit 1; }
tool "hostile.py" timeout 300 python3 "$ROOT/tests/integration/hostile.py" "$BROKER" "$BROOKD_PID"
brookd_stop
check "brookd is still healthy and stops cleanly after hostile input" [ $? -eq 0 ]
