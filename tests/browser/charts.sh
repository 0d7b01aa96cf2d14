#!/usr/bin/env bash
# Browser tests of the console's charts (suite "browser"): a paced producer puts
# 200 records/s into a topic for 10 s while the topic's page is open, and
# tests/browser/charts.test.js checks the produce chart's points (its DOM) and the
# series API against that rate; a group that has joined but committed nothing
# shows an unknown lag, a group that committed shows end minus commit; the
# Metrics page charts latency by API; nothing is wider than its box at 1 280 and
# 390 px. About 20 s.
. "$(dirname "$0")/lib.bash"

browser_need "chart tests"

console_start || { fail "charts: brookd starts with the console"; exit 1; }
req POST /api/v1/topics '{"name":"rate","partitions":1}'
req POST /api/v1/topics '{"name":"lagged","partitions":1}'
seq 1 50 | $KC "$BROKER" -P -t lagged -p 0
# "committed": read 20 of the 50 and commit them
$PY - "$BROKER" <<'PY' || fail "charts: the group 'committed' commits offset 20"
import sys
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='committed', enable_auto_commit=False)
c.commit({TopicPartition('lagged', 0): OffsetAndMetadata(20, '')})
c.close()
PY

# "nocommit": a member that joins, reads and never commits, until told to stop
member_start lagged nocommit
check "a consumer of the group 'nocommit' joins without committing" [ $? -eq 0 ]

CONSOLE_URL=$C BROKER=$BROKER PY=$PY PRODUCER="$HERE/paced_producer.py" \
    browser_run 120 "chart tests" charts.test.js

member_stop
brookd_stop
check "brookd stops cleanly after the chart tests" [ $? -eq 0 ]
