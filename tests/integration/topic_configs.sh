#!/usr/bin/env bash
# Topic configurations: every Kafka 4 key, LogAppendTime, timestamp bounds,
# compression.type read back by every client, IncrementalAlterConfigs and
# AlterConfigs applied live and kept across a restart (tests/integration/topic_configs.py).
. "$(dirname "$0")/../lib.sh"
here=$ROOT/tests/integration
brookd_start -o log.retention.check.interval.ms=100 ||
    { fail "topic_configs: brookd starts"; exit 1; }
tool "topic_configs.py before" timeout 180 "$PY" "$here/topic_configs.py" "$BROKER" "$DATA" before

ts=$(timeout 60 kcat -C -b "$BROKER" -t lat -o beginning -e -q -f '%T\n' 2>/dev/null)
now=$(($(date +%s) * 1000))
ok=1
for t in $ts; do [ "$t" -gt $((now - 600000)) ] && [ "$t" -le "$now" ] || ok=0; done
check "topic_configs: kcat reads LogAppendTime records with the broker's time" \
    [ "$ok" = 1 -a "$(echo "$ts" | wc -w)" = 2 ]
n=$(timeout 60 kcat -C -b "$BROKER" -t z-zstd -o beginning -e -q -f '%s\n' 2>/dev/null |
    grep -c '^value-')
check "topic_configs: kcat reads the recompressed zstd topic ($n of 200)" [ "$n" = 200 ]

tool "topic_configs_ck.py" timeout 120 "$PY" "$here/topic_configs_ck.py" "$BROKER"
js=$ROOT/tests/compat/kafkajs
if [ ! -d "$js/node_modules/kafkajs" ]; then
    (cd "$js" && timeout 300 npm install --no-audit --no-fund --silent) >/dev/null 2>&1
fi
if [ -d "$js/node_modules/kafkajs" ]; then
    tool "topic_configs.js" timeout 120 node "$here/topic_configs.js" "$BROKER"
else
    fail "topic_configs: npm install kafkajs@2.2.4"
fi

brookd_stop
check "topic_configs: brookd stops cleanly" [ $? -eq 0 ]
check "topic_configs: the dynamic broker keys are saved under log.dirs" \
    grep -qx 'log.retention.ms=7777777' "$DATA/.broker.properties"
brookd_start || { fail "topic_configs: brookd restarts"; exit 1; }
tool "topic_configs.py after" timeout 120 "$PY" "$here/topic_configs.py" "$BROKER" "$DATA" after
tool "topic_configs.py hostile" timeout 300 "$PY" "$here/topic_configs.py" "$BROKER" "$DATA" \
    hostile "$BROOKD_PID" "$BROOKD_LOG"
brookd_stop
check "topic_configs: brookd stops cleanly after the restart" [ $? -eq 0 ]
