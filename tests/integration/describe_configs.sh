#!/usr/bin/env bash
# DescribeConfigs with synonyms and documentation (tests/integration/describe_configs.py).
. "$(dirname "$0")/../lib.sh"
brookd_start -o log.retention.hours=48 -o log.segment.bytes=2097152 ||
    { fail "describe_configs: brookd starts"; exit 1; }
tool "describe_configs.py" timeout 120 python3 "$ROOT/tests/integration/describe_configs.py" \
    "$BROKER"
brookd_stop
check "describe_configs: brookd stops cleanly afterwards" [ $? -eq 0 ]
