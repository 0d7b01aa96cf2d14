#!/usr/bin/env bash
# The admin APIs at Kafka 4.0's versions, from hand-built frames
# (tests/integration/admin_apis.py).
. "$(dirname "$0")/../lib.sh"
brookd_start -o log.segment.bytes=2097152 || { fail "admin_apis: brookd starts"; exit 1; }
tool "admin_apis.py" timeout 300 python3 "$ROOT/tests/integration/admin_apis.py" "$BROKER" "$DATA"
brookd_stop
check "admin_apis: brookd stops cleanly afterwards" [ $? -eq 0 ]
