#!/usr/bin/env bash
# kafkajs's admin over committed offsets against brookd: tests/compat/kafkajs/admin.js.
. "$(dirname "$0")/../lib.sh"
dir=$ROOT/tests/compat/kafkajs
if [ ! -d "$dir/node_modules/kafkajs" ]; then
    (cd "$dir" && timeout 300 npm install --no-audit --no-fund --silent) >/dev/null 2>&1
fi
if [ ! -d "$dir/node_modules/kafkajs" ]; then
    fail "kafkajs admin: npm install kafkajs@2.2.4"
    exit 0
fi
brookd_start -o group.initial.rebalance.delay.ms=0 || { fail "kafkajs admin: brookd starts"; exit 1; }
tool "kafkajs admin.js" timeout 180 node "$dir/admin.js" "$BROKER"
brookd_stop
check "kafkajs admin: brookd stops cleanly" [ $? -eq 0 ]
