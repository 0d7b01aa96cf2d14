#!/usr/bin/env bash
# @platformatic/kafka (npm, the version pinned in tests/compat/platformatic/package.json)
# against brookd: tests/compat/platformatic/test.mjs.
. "$(dirname "$0")/../lib.sh"
dir=$ROOT/tests/compat/platformatic
if [ ! -d "$dir/node_modules/@platformatic/kafka" ]; then
    (cd "$dir" && timeout 300 npm ci --no-audit --no-fund --silent) >/dev/null 2>&1
fi
if [ ! -d "$dir/node_modules/@platformatic/kafka" ]; then
    fail "platformatic: npm ci @platformatic/kafka"
    exit 0
fi
brookd_start || { fail "platformatic: brookd starts"; exit 1; }
tool "platformatic test.mjs" timeout 180 node "$dir/test.mjs" "$BROKER"
brookd_stop
check "platformatic: brookd stops cleanly" [ $? -eq 0 ]
