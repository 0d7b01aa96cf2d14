#!/usr/bin/env bash
# A thousand TLS handshakes left unfinished while a control client keeps producing
# and fetching over TLS (tests/integration/tls_hostile.py).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/certs.sh"
certs_make "$T/certs"
brookd_start -o 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0' \
    -o "ssl.keystore.location=$T/certs/server.pem" -o brook.ssl.handshake.timeout.ms=2000 \
    -o max.connections=5000 || {
    fail "tls_hostile: brookd starts"
    exit 1
}
tool "tls_hostile.py" timeout 300 python3 "$ROOT/tests/integration/tls_hostile.py" \
    "127.0.0.1:$(listener_port SSL)" "$BROOKD_PID" "$BROOKD_LOG" "$T/certs/ca.pem" 2000
check "the handshake timeouts are logged, rate-limited" \
    grep -q "TLS handshake not finished in 2000 ms" "$BROOKD_LOG"
brookd_stop
check "brookd is still healthy and stops cleanly after stalled handshakes" [ $? -eq 0 ]
