#!/usr/bin/env bash
# Other clients' transactions against brookd: confluent-kafka-python and kafkajs
# transactional producers commit and abort (tests/compat/txn_clients.py, .js); then
# read_committed consumers (confluent-kafka-python, kafka-python, kafkajs) see only
# the committed records, and read_uncommitted ones see all of them.
. "$(dirname "$0")/../lib.sh"
dir=$ROOT/tests/compat
if [ ! -d "$dir/kafkajs/node_modules/kafkajs" ]; then
    (cd "$dir/kafkajs" && timeout 300 npm install --no-audit --no-fund --silent) >/dev/null 2>&1
fi
brookd_start || { fail "txn_clients: brookd starts"; exit 1; }
tool "txn_clients.py produce" timeout 120 "$PY" "$dir/txn_clients.py" produce "$BROKER" txn-ckpy
tool "txn_clients.py read ckpy" timeout 180 "$PY" "$dir/txn_clients.py" read "$BROKER" txn-ckpy ckpy
if [ -d "$dir/kafkajs/node_modules/kafkajs" ]; then
    tool "txn_clients.js" timeout 120 env NODE_PATH="$dir/kafkajs/node_modules" \
        node "$dir/txn_clients.js" "$BROKER" txn-kjs
    tool "txn_clients.py read kjs" timeout 180 "$PY" "$dir/txn_clients.py" read "$BROKER" txn-kjs kjs
else
    fail "txn_clients: npm install kafkajs@2.2.4"
fi
brookd_stop
check "txn_clients: brookd stops cleanly" [ $? -eq 0 ]
