#!/usr/bin/env bash
# KIP-368 with libbrook (tests/integration/reauth.c): connections.max.reauth.ms=1000,
# and a client producing one record at a time for three lifetimes over
# SASL_PLAINTEXT (SCRAM-SHA-512) and SASL_SSL (PLAIN). Every record is delivered,
# brookd logs one authentication per connection and closes no session.
. "$(dirname "$0")/../lib.sh"
C=$T/certs
bash "$ROOT/tests/certs.sh" "$C" # not sourced: it sets -e
brookd_start -o "listeners=SASL://127.0.0.1:0,SASLTLS://127.0.0.1:0" \
    -o "listener.security.protocol.map=SASL:SASL_PLAINTEXT,SASLTLS:SASL_SSL" \
    -o "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512" -o connections.max.reauth.ms=1000 \
    -o "ssl.keystore.location=$C/server.pem" \
    --add-scram 'SCRAM-SHA-512=[name=admin,password=secret]' ||
    { fail "reauth: brookd starts"; exit 1; }
port_of() {
    grep -oE "listener $1 \([A-Z_]+\) on 127\.0\.0\.1:[0-9]+" "$BROOKD_LOG" | head -1 | cut -d: -f2
}
REAUTH="timeout 60 $ROOT/$BUILD/tests/integration/reauth"
tool "reauth" $REAUTH "127.0.0.1:$(port_of SASL)" 1000 sasl_plaintext SCRAM-SHA-512 admin secret
tool "reauth" $REAUTH "127.0.0.1:$(port_of SASLTLS)" 1000 sasl_ssl PLAIN admin secret \
    "$C/ca.pem"
n=$(grep -c 'authenticated as User:admin' "$BROOKD_LOG")
check "reauth: one authentication per client connection, renewed in place ($n)" [ "$n" -eq 2 ]
check "reauth: no session ended without re-authentication" \
    bash -c "! grep -q 'session' '$BROOKD_LOG'"
brookd_stop
check "reauth: brookd stops cleanly afterwards" [ $? -eq 0 ]
