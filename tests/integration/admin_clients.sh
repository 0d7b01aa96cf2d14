#!/usr/bin/env bash
# The admin APIs through kafka-python and confluent-kafka (tests/integration/admin_clients.py).
. "$(dirname "$0")/../lib.sh"
brookd_start || { fail "admin_clients: brookd starts"; exit 1; }
tool "admin_clients.py" timeout 180 "$PY" "$ROOT/tests/integration/admin_clients.py" \
    "$BROKER"
brookd_stop
check "admin_clients: brookd stops cleanly afterwards" [ $? -eq 0 ]
