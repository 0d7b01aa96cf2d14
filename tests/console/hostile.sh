#!/usr/bin/env bash
# The console against a hostile page and hostile peers (tests/console/hostile.py):
# DNS rebinding, HEAD, slow requests, large bodies, a topic of 15 000 partitions,
# 1 100 incomplete requests under RLIMIT_NOFILE 1024, and a storm of wrong
# logins against a console that asks for one - each while a Kafka
# control client keeps producing and fetching (tests/guard.py).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"
PY=${PY:-python3}
ARGS=(-o console.request.timeout.ms=2000 -o console.allowed.hosts=brook.test)

console_start "${ARGS[@]}" || { fail "console hostile: brookd starts"; exit 1; }
tool "hostile.py" timeout 600 $PY "$ROOT/tests/console/hostile.py" "$CPORT" "$BROKER" \
    "$BROOKD_PID" "$BROOKD_LOG" rebind,head,slowloris,bodies,partitions
brookd_stop
check "brookd stops cleanly after the hostile console cases" [ $? -eq 0 ]

# descriptor exhaustion lowers brookd's limit: a brookd of its own
rm -rf "$DATA"
console_start "${ARGS[@]}" || { fail "console hostile: brookd starts again"; exit 1; }
tool "hostile.py flood" timeout 300 $PY "$ROOT/tests/console/hostile.py" "$CPORT" "$BROKER" \
    "$BROOKD_PID" "$BROOKD_LOG" flood
brookd_stop
check "brookd stops cleanly after the descriptor flood" [ $? -eq 0 ]

# a storm of logins: a user in the store (the console asks for a login), its keys
# derived with many iterations so that each check costs what a careful setup costs
rm -rf "$DATA"
console_start "${ARGS[@]}" --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret,iterations=16384]' ||
    { fail "console hostile: brookd starts with a user"; exit 1; }
tool "hostile.py logins" timeout 300 $PY "$ROOT/tests/console/hostile.py" "$CPORT" "$BROKER" \
    "$BROOKD_PID" "$BROOKD_LOG" logins
brookd_stop
check "brookd stops cleanly after the login storm" [ $? -eq 0 ]
