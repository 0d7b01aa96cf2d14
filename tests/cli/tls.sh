#!/usr/bin/env bash
# The brook CLI (libbrook) over TLS: server authentication against the test CA,
# the broker's name checked (localhost and 127.0.0.1 are in its certificate, so
# both verify; a CA that did not sign it fails), mutual TLS with a client
# certificate when the broker requires one, PEM given inline, and the one-line
# errors for a TLS client on a plaintext port and the reverse.
. "$(dirname "$0")/../lib.sh"
BROOK=$ROOT/$BUILD/brook
BR="timeout -k 10 60 $BROOK --timeout 5000"
C=$T/certs
bash "$ROOT/tests/certs.sh" "$C" # not sourced: it sets -e

# the port of listener NAME from the start-up lines of the current log
port_of() {
    grep -oE "listener $1 \([A-Z_]+\) on 127\.0\.0\.[12]:[0-9]+" "$BROOKD_LOG" | head -1 | cut -d: -f2
}

# OTHER is on another loopback address, which the broker's certificate does not name
brookd_start -o "listeners=PLAIN://127.0.0.1:0,TLS://127.0.0.1:0,OTHER://127.0.0.2:0" \
    -o "listener.security.protocol.map=PLAIN:PLAINTEXT,TLS:SSL,OTHER:SSL" \
    -o "ssl.keystore.location=$C/server.pem" || {
    fail "tls: brookd starts"
    exit 1
}
PLAIN=127.0.0.1:$(port_of PLAIN)
TLS=$(port_of TLS)
SSL=(-X security.protocol=ssl -X "ssl.ca.location=$C/ca.pem")

out=$($BR -b "127.0.0.1:$TLS" "${SSL[@]}" topic create secure -p 2 2>&1)
check "topic create over TLS" [ "$out" = "Created topic secure." ]
seq 1 500 | $BR -b "localhost:$TLS" "${SSL[@]}" produce secure 2>"$T/err"
check "produce over TLS, the broker's name checked as localhost" [ $? -eq 0 ]
n=$($BR -b "127.0.0.1:$TLS" "${SSL[@]}" consume secure -o beginning -e | wc -l)
check "consume over TLS reads every record ($n of 500)" [ "$n" -eq 500 ]
$BR -b "127.0.0.1:$TLS" "${SSL[@]}" group list >/dev/null
check "group list over TLS (every broker, by the advertised TLS address)" [ $? -eq 0 ]
# records larger than one TLS record (16 KiB) in one fetch: the same bytes as over
# plaintext, every batch's CRC checked by the client
head -c 1000 /dev/zero | tr '\0' x >"$T/kb"
for i in $(seq 1 200); do cat "$T/kb"; echo; done | $BR -b "$PLAIN" produce wide
$BR -b "$PLAIN" consume wide -o beginning -e >"$T/plain.out"
$BR -b "127.0.0.1:$TLS" "${SSL[@]}" consume wide -o beginning -e >"$T/tls.out" 2>"$T/err"
if cmp -s "$T/plain.out" "$T/tls.out"; then
    ok "200 KiB of records fetched over TLS arrive as over plaintext"
else
    fail "200 KiB of records fetched over TLS arrive as over plaintext" \
        "$(wc -l <"$T/plain.out") lines over plaintext, $(wc -l <"$T/tls.out") over TLS; \
$(cmp "$T/plain.out" "$T/tls.out" 2>&1 | head -1) $(head -1 "$T/err")"
fi
n=$($BR -b "127.0.0.1:$TLS" -X security.protocol=SSL -X "ssl.ca.pem=$(cat "$C/ca.pem")" \
    consume secure -o beginning -e -c 3 | wc -l)
check "the CA as inline PEM (ssl.ca.pem), the protocol in upper case" [ "$n" -eq 3 ]

$BR -b "127.0.0.1:$TLS" -X security.protocol=ssl -X "ssl.ca.location=$C/other-ca.pem" \
    topic list >/dev/null 2>"$T/err"
check "a CA that did not sign the broker's certificate: refused" [ $? -eq 1 ]
check "... with one line naming the TLS handshake" grep -q "TLS handshake failed" "$T/err"
$BR -b "127.0.0.1:$TLS" -X security.protocol=ssl -X "ssl.ca.location=$C/other-ca.pem" \
    -X enable.ssl.certificate.verification=false topic list >/dev/null
check "enable.ssl.certificate.verification=false connects all the same" [ $? -eq 0 ]
$BR -b "127.0.0.1:$TLS" -X security.protocol=ssl -X "ssl.ca.location=$T/missing.pem" \
    topic list >/dev/null 2>"$T/err"
check "a CA file that does not exist: one line naming the TLS settings" \
    grep -q "TLS settings could not be loaded" "$T/err"
$BR -b "127.0.0.2:$(port_of OTHER)" "${SSL[@]}" topic list >/dev/null 2>"$T/err"
check "an address the certificate does not name: refused" grep -q "TLS handshake failed" "$T/err"
$BR -b "127.0.0.2:$(port_of OTHER)" "${SSL[@]}" -X ssl.endpoint.identification.algorithm=none \
    topic list >/dev/null
check "... accepted with ssl.endpoint.identification.algorithm=none" [ $? -eq 0 ]
$BR -b "$PLAIN" "${SSL[@]}" topic list >/dev/null 2>"$T/err"
check "TLS to a plaintext port: a TLS handshake error, not a protocol one" \
    grep -q "TLS handshake failed" "$T/err"
$BR -b "127.0.0.1:$TLS" topic list >/dev/null 2>"$T/err"
check "plaintext to a TLS port: refused" [ $? -eq 1 ]
$BR -b "127.0.0.1:$TLS" -X security.protocol=tls topic list >/dev/null 2>"$T/err"
check "an unknown security.protocol is a usage error" [ $? -eq 2 ]
$BR -b "127.0.0.1:$TLS" -X sasl.mechanism=GSSAPI topic list >/dev/null 2>"$T/err"
check "sasl.mechanism=GSSAPI is refused (libbrook has no Kerberos)" [ $? -eq 2 ]
brookd_stop

# mutual TLS: the broker requires a certificate from its CA
brookd_start -o "listeners=TLS://127.0.0.1:0" -o "listener.security.protocol.map=TLS:SSL" \
    -o "ssl.keystore.location=$C/server.pem" -o "ssl.truststore.location=$C/ca.pem" \
    -o ssl.client.auth=required || {
    fail "tls: brookd starts with ssl.client.auth=required"
    exit 1
}
TLS=127.0.0.1:$(port_of TLS)
MTLS=("${SSL[@]}" -X "ssl.certificate.location=$C/alice.crt" -X "ssl.key.location=$C/alice.key")
echo hello | $BR -b "$TLS" "${MTLS[@]}" produce mutual
check "mTLS: produce with alice's certificate" [ $? -eq 0 ]
check "mTLS: consume with alice's certificate" \
    [ "$($BR -b "$TLS" "${MTLS[@]}" consume mutual -o beginning -e)" = hello ]
$BR -b "$TLS" "${SSL[@]}" topic list >/dev/null 2>"$T/err"
check "mTLS: no client certificate, no connection" [ $? -eq 1 ]
$BR -b "$TLS" "${SSL[@]}" -X "ssl.certificate.location=$C/mallory.crt" \
    -X "ssl.key.location=$C/mallory.key" topic list >/dev/null 2>"$T/err"
check "mTLS: a certificate from another CA, no connection" [ $? -eq 1 ]
$BR -b "$TLS" "${SSL[@]}" -X "ssl.certificate.pem=$(cat "$C/alice.crt")" \
    -X "ssl.key.pem=$(cat "$C/alice.key")" topic list >/dev/null
check "mTLS: the certificate and key as inline PEM" [ $? -eq 0 ]
brookd_stop
check "brookd stops cleanly" [ $? -eq 0 ]
