#!/usr/bin/env bash
# kafkajs (npm) against brookd: see tests/compat/kafkajs/test.js.
. "$(dirname "$0")/../lib.sh"
dir=$ROOT/tests/compat/kafkajs
if [ ! -d "$dir/node_modules/kafkajs" ]; then
    (cd "$dir" && timeout 300 npm install --no-audit --no-fund --silent) >/dev/null 2>&1
fi
if [ ! -d "$dir/node_modules/kafkajs" ]; then
    fail "kafkajs: npm install kafkajs@2.2.4"
    exit 0
fi
# a broker setting from the configuration, for the describeConfigs synonyms check
brookd_start -o log.retention.hours=100 || { fail "kafkajs: brookd starts"; exit 1; }
tool "kafkajs test.js" timeout 180 node "$dir/test.js" "$BROKER"
brookd_stop
check "kafkajs: brookd stops cleanly" [ $? -eq 0 ]
