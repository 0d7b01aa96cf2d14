#!/usr/bin/env bash
# kafka-python (Debian's python3-kafka) against brookd: tests/compat/kafka_python.py.
. "$(dirname "$0")/../lib.sh"
brookd_start || { fail "kafka-python: brookd starts"; exit 1; }
tool "kafka_python.py" timeout 180 "$PY" "$ROOT/tests/compat/kafka_python.py" "$BROKER"
brookd_stop
check "kafka-python: brookd stops cleanly" [ $? -eq 0 ]
