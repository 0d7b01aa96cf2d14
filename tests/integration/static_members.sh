#!/usr/bin/env bash
# Static group membership and exact session timeouts with librdkafka consumers and
# raw requests (tests/integration/static_members.py).
. "$(dirname "$0")/../lib.sh"
if ! /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
    echo "ok - static members # SKIP python3-confluent-kafka is not installed"
    exit 0
fi
brookd_start -o group.initial.rebalance.delay.ms=0 || { fail "static members: brookd starts"; exit 1; }
tool "static_members.py" timeout 300 /usr/bin/python3 "$ROOT/tests/integration/static_members.py" \
    "$BROKER" "$BROOKD_LOG"
brookd_stop
check "static members: brookd stops cleanly" [ $? -eq 0 ]
