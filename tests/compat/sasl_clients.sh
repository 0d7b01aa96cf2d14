#!/usr/bin/env bash
# kafka-python, confluent-kafka-python (tests/compat/sasl_clients.py) and kafkajs
# (tests/compat/kafkajs/sasl.js) with SCRAM-SHA-256/512 against brookd's SASL_PLAINTEXT
# and SASL_SSL listeners; kafkajs also re-authenticates (KIP-368) on a broker whose
# sessions last 3 s.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/certs.sh"
C=$T/certs
certs_make "$C"
export BROOK_LOG_LEVEL=debug # re-authentications are debug lines
brookd_start -o 'listeners=SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0' \
    -o "ssl.keystore.location=$C/server.pem" -o connections.max.reauth.ms=3000 \
    --add-scram 'SCRAM-SHA-256=[name=admin,password=secret]' \
    --add-scram 'SCRAM-SHA-512=[name=admin,password=secret]' || {
    fail "sasl clients: brookd starts"
    exit 1
}
P_SASL=$(listener_port SASL_PLAINTEXT)
P_SSL=$(listener_port SASL_SSL)
tool "sasl_clients.py" timeout 300 "$PY" "$ROOT/tests/compat/sasl_clients.py" 127.0.0.1 \
    "$P_SASL" "$P_SSL" "$C/ca.pem"

dir=$ROOT/tests/compat/kafkajs
if [ ! -d "$dir/node_modules/kafkajs" ]; then
    (cd "$dir" && timeout 300 npm install --no-audit --no-fund --silent) >/dev/null 2>&1
fi
if [ -d "$dir/node_modules/kafkajs" ]; then
    tool "kafkajs sasl.js" timeout 180 node "$dir/sasl.js" "127.0.0.1:$P_SASL" \
        "127.0.0.1:$P_SSL" "$C/ca.pem"
    n=$(grep -c " authenticated as User:admin" "$BROOKD_LOG")
    check "the broker saw the clients authenticate ($n times)" [ "$n" -gt 0 ]
    n=$(grep -c "re-authenticated as User:admin" "$BROOKD_LOG")
    check "kafkajs re-authenticated on its live connections ($n times)" [ "$n" -gt 0 ]
else
    fail "kafkajs: npm install kafkajs@2.2.4"
fi
brookd_stop
check "sasl clients: brookd stops cleanly" [ $? -eq 0 ]
