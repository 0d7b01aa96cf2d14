#!/usr/bin/env bash
# Network threads: connections spread over four loops, and group and transaction
# requests from loops 1-3 handed to the coordinators' loop 0 and back
# (tests/integration/netthreads.py, the per-loop counts from the console).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../console/helpers.bash"
if ! /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
    echo "ok - network threads # SKIP python3-confluent-kafka is not installed"
    exit 0
fi
console_start -o num.network.threads=4 -o group.initial.rebalance.delay.ms=0 ||
    { fail "network threads: brookd starts with four"; exit 1; }
check "network threads: the log says four" grep -q '4 network threads' "$BROOKD_LOG"
tool "netthreads.py" timeout 180 /usr/bin/python3 "$ROOT/tests/integration/netthreads.py" \
    "$BROKER" "$C"
brookd_stop
check "network threads: brookd stops cleanly" [ $? -eq 0 ]
brookd_start -o num.network.threads=4 -o max.connections=5 ||
    { fail "network threads: brookd starts with max.connections=5"; exit 1; }
tool "netthreads.py --max-connections" timeout 60 /usr/bin/python3 \
    "$ROOT/tests/integration/netthreads.py" "$BROKER" --max-connections 5
brookd_stop
