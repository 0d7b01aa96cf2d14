#!/usr/bin/env bash
# Browser tests of the console's management actions (suite "browser"): brookd on
# ephemeral ports, topics and groups seeded with kcat, then
# tests/browser/manage.test.js does each action through the page in Debian's
# chromium and reads its effect back with kcat and kafka-python - once against
# the normal broker (with a group that has a live member), once read-only.
. "$(dirname "$0")/lib.bash"

browser_need "browser management tests"

node_test() {
    MODE=$1 CONSOLE_URL=$C BROKER=$BROKER PY=$PY browser_run 120 "browser management run ($1)" manage.test.js
}

console_start || { fail "browser manage: brookd starts with the console"; exit 1; }
req POST /api/v1/topics '{"name":"mt","partitions":2}'
req POST /api/v1/topics '{"name":"other","partitions":1}'
seq 1 10 | $KC "$BROKER" -P -t mt -p 0
seq 1 10 | $KC "$BROKER" -P -t mt -p 1
seq 1 3 | $KC "$BROKER" -P -t other -p 0
$KC "$BROKER" -C -G g1 -c 20 -q -X auto.offset.reset=earliest mt >/dev/null 2>&1
$KC "$BROKER" -C -G g2 -c 20 -q -X auto.offset.reset=earliest mt >/dev/null 2>&1
$KC "$BROKER" -C -G g3 -c 20 -q -X auto.offset.reset=earliest mt >/dev/null 2>&1
# a group with a live member, for as long as the browser runs
member_start other busy 100 || fail "browser manage: the busy group's member joins"
node_test main
member_stop
brookd_stop

console_start -o console.read.only=true || { fail "browser manage: brookd restarts read-only"; exit 1; }
node_test readonly
brookd_stop
