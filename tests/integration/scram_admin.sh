#!/usr/bin/env bash
# DescribeUserScramCredentials / AlterUserScramCredentials on the wire, Kafka's
# per-user errors and the bound on changes per request (tests/integration/scram_admin.py).
. "$(dirname "$0")/../lib.sh"
brookd_start -o "listeners=PLAIN://127.0.0.1:0,SASL://127.0.0.1:0" \
    -o "listener.security.protocol.map=PLAIN:PLAINTEXT,SASL:SASL_PLAINTEXT" \
    -o "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512" ||
    { fail "scram_admin: brookd starts"; exit 1; }
port_of() {
    grep -oE "listener $1 \([A-Z_]+\) on 127\.0\.0\.1:[0-9]+" "$BROOKD_LOG" | head -1 | cut -d: -f2
}
tool "scram_admin.py" timeout 120 python3 "$ROOT/tests/integration/scram_admin.py" \
    "127.0.0.1:$(port_of PLAIN)" "127.0.0.1:$(port_of SASL)"
brookd_stop
check "scram_admin: brookd stops cleanly afterwards" [ $? -eq 0 ]
