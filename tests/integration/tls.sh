#!/usr/bin/env bash
# TLS listeners against kcat (librdkafka): server authentication, mutual TLS with
# the principal a certificate maps to, per-listener advertised addresses, a TLS
# client on a plaintext port and a plaintext client on a TLS port, keys refused at
# start, an encrypted key and inline PEM, and certificates reloaded on SIGHUP
# without dropping a connection. Certificates come from tests/certs.sh (openssl).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/certs.sh"
C=$T/certs
certs_make "$C"
KC="timeout 30 kcat -b"
SSL=(-X security.protocol=ssl -X "ssl.ca.location=$C/ca.pem")
ALICE=(-X "ssl.certificate.location=$C/alice.crt" -X "ssl.key.location=$C/alice.key")

export BROOK_LOG_LEVEL=debug # the principal of each TLS connection is a debug line
brookd_start -o 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0' \
    -o 'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL' \
    -o "ssl.keystore.location=$C/server.pem" \
    -o 'advertised.listeners=SSL://localhost:0' \
    -o listener.name.mtls.ssl.client.auth=required \
    -o "listener.name.mtls.ssl.truststore.location=$C/ca.pem" \
    -o 'listener.name.mtls.ssl.principal.mapping.rules=RULE:^CN=([^,]*),OU=eng,.*$/$1/U,DEFAULT' ||
    {
        fail "tls: brookd starts"
        exit 1
    }
P_SSL=$(listener_port SSL)
P_MTLS=$(listener_port MTLS)
check "one start-up line per listener, with its protocol" \
    grep -q "listener MTLS (SSL) on 127.0.0.1:$P_MTLS" "$BROOKD_LOG"

# server authentication: librdkafka verifies the certificate (CA and 127.0.0.1 in its SAN)
seq 1 1000 | sed 's/^/record-/' >"$T/in.txt"
$KC "127.0.0.1:$P_SSL" "${SSL[@]}" -X ssl.endpoint.identification.algorithm=https -P -t tls <"$T/in.txt"
check "kcat produces 1000 records over SSL, verifying the broker" [ $? -eq 0 ]
$KC "127.0.0.1:$P_SSL" "${SSL[@]}" -C -t tls -e -q >"$T/out.txt"
check "kcat consumes them back over SSL" cmp -s "$T/in.txt" "$T/out.txt"
$KC "$BROKER" -C -t tls -e -q >"$T/out2.txt"
check "the same records over the PLAINTEXT listener" cmp -s "$T/in.txt" "$T/out2.txt"

# Metadata names the listener the request came in on, as advertised
meta=$($KC "127.0.0.1:$P_SSL" "${SSL[@]}" -L 2>&1)
check "Metadata over SSL answers with SSL's advertised address" \
    grep -q "broker 0 at localhost:$P_SSL" <<<"$meta"
meta=$($KC "$BROKER" -L 2>&1)
check "Metadata over PLAINTEXT answers with PLAINTEXT's address" \
    grep -q "broker 0 at 127.0.0.1:$PORT" <<<"$meta"

# mutual TLS: the certificate names the principal, through the mapping rules
$KC "127.0.0.1:$P_MTLS" "${SSL[@]}" "${ALICE[@]}" -C -t tls -e -q >"$T/out3.txt"
check "kcat with a client certificate consumes over mTLS" cmp -s "$T/in.txt" "$T/out3.txt"
check "the mTLS connection's principal is User:ALICE (RULE ... /U)" \
    grep -q "TLS from 127.0.0.1:[0-9]* on MTLS: TLSv1.3, User:ALICE" "$BROOKD_LOG"
check "the SSL listener without client auth keeps User:ANONYMOUS" \
    grep -q "on SSL: TLSv1.3, User:ANONYMOUS" "$BROOKD_LOG"
$KC "127.0.0.1:$P_MTLS" "${SSL[@]}" -m 3 -L >/dev/null 2>&1
check "mTLS without a client certificate is refused" [ $? -ne 0 ]
check "... and the log says the peer sent no certificate" \
    grep -q "TLS handshake on listener MTLS failed: peer did not return a certificate" "$BROOKD_LOG"
$KC "127.0.0.1:$P_MTLS" "${SSL[@]}" -X "ssl.certificate.location=$C/mallory.crt" \
    -X "ssl.key.location=$C/mallory.key" -m 3 -L >/dev/null 2>&1
check "a certificate from another CA is refused" [ $? -ne 0 ]
check "... and the log says it failed verification" \
    grep -q "TLS handshake on listener MTLS failed: certificate verify failed" "$BROOKD_LOG"

# the wrong protocol on each kind of port: one clear line, never a request size
$KC "$BROKER" "${SSL[@]}" -m 2 -L >/dev/null 2>&1
check "a TLS client on the plaintext port is told so in the log" \
    grep -q "began a TLS handshake on plaintext listener PLAINTEXT" "$BROOKD_LOG"
$KC "127.0.0.1:$P_SSL" -m 2 -L >/dev/null 2>&1
check "a plaintext client on the TLS port is told so in the log" \
    grep -q "sent plaintext to TLS listener SSL (SSL); the client needs security.protocol=SSL" \
    "$BROOKD_LOG"
check "neither is logged as a request size" bash -c "! grep -q 'request size' '$BROOKD_LOG'"

# SIGHUP: new certificates for new connections, the old connection stays
mkdir -p "$T/certs2"
certs_make "$T/certs2"
cp "$C/server.pem" "$C/server.pem.old"
cp "$T/certs2/server.pem" "$C/server.pem" # read only when brookd is told to reload
# a connection made before the reload, used again after it (Metadata v4 both times)
ROOT=$ROOT timeout 60 $PY - "$P_SSL" "$C/ca.pem" "$BROOKD_PID" "$BROOKD_LOG" >"$T/reload.txt" 2>&1 <<'PY'
import os, signal, socket, ssl, struct, sys, time
sys.path.insert(0, os.environ['ROOT'] + '/tests')
from kafkawire import read_response, request
port, ca, pid, log = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=10),
                    server_hostname='127.0.0.1')
meta = lambda corr: request(3, 4, corr, struct.pack('>i', -1) + b'\x00')
s.sendall(meta(1))
print('before', 'answered' if read_response(s) else 'closed', flush=True)
os.kill(pid, signal.SIGHUP)
end = time.time() + 10
while time.time() < end and b'certificates reloaded' not in open(log, 'rb').read():
    time.sleep(0.01)
s.sendall(meta(2))
print('after', 'answered' if read_response(s) else 'closed', flush=True)
PY
check "SIGHUP reloads the SSL listener's certificates" \
    grep -q 'listener SSL: certificates reloaded' "$BROOKD_LOG"
check "a connection from before the reload keeps working after it" \
    [ "$(tr '\n' ' ' <"$T/reload.txt")" = "before answered after answered " ]
$KC "127.0.0.1:$P_SSL" -X security.protocol=ssl -X "ssl.ca.location=$T/certs2/ca.pem" -m 5 -L \
    >/dev/null 2>&1
check "a new connection gets the new certificate" [ $? -eq 0 ]
$KC "127.0.0.1:$P_SSL" "${SSL[@]}" -m 3 -L >/dev/null 2>&1
check "... which the old CA no longer verifies" [ $? -ne 0 ]
cp "$C/server.pem.old" "$C/server.pem"
brookd_stop
check "brookd stops cleanly" [ $? -eq 0 ]
unset BROOK_LOG_LEVEL

# keys refused at start with the reason, never a plaintext broker instead
refused() { # NAME EXPECTED-TEXT ARGS...
    local name=$1 want=$2 out
    shift 2
    out=$(timeout 20 "$BROOKD" -d "$T/refused" -l 127.0.0.1:0 --console off "$@" 2>&1)
    local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$want" <<<"$out"; then ok "$name"; else fail "$name" "status $rc: $out"; fi
}
refused "ssl.keystore.type=JKS is refused with a reason" "ssl.keystore.type=JKS is not supported" \
    -o 'listeners=SSL://127.0.0.1:0' -o ssl.keystore.type=JKS -o "ssl.keystore.location=$C/server.pem"
refused "a listener name the map does not know is refused" "listener CLIENT has no security protocol" \
    -o 'listeners=CLIENT://127.0.0.1:0'
refused "ssl.client.auth=maybe is refused" "ssl.client.auth=maybe is not supported" \
    -o ssl.client.auth=maybe
refused "ssl.keystore.password on a PEM store is refused" "no store password" \
    -o ssl.keystore.password=x
refused "advertised.listeners naming no listener is refused" "which is not in listeners" \
    -o 'advertised.listeners=SSL://h:1'
out=$(timeout 20 "$BROOKD" -d "$T/refused" --console off -o 'listeners=SSL://127.0.0.1:0' 2>&1)
rc=$?
check "an SSL listener without a certificate stops brookd, saying so" \
    bash -c "[ $rc -ne 0 ] && grep -q 'no certificate: set ssl.keystore.location' <<<'$out'"
out=$(timeout 20 "$BROOKD" -d "$T/refused" --console off -o 'listeners=SSL://127.0.0.1:0' \
    -o "ssl.keystore.location=$C/server-enc.pem" -o ssl.key.password=wrong 2>&1)
rc=$?
check "a wrong ssl.key.password stops brookd, saying so" \
    bash -c "[ $rc -ne 0 ] && grep -q 'cannot read the private key' <<<'$out'"

# an encrypted key, and the key material inline (ssl.keystore.certificate.chain / .key)
brookd_start -o 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,INLINE://127.0.0.1:0' \
    -o "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,INLINE:SSL" \
    -o "ssl.keystore.location=$C/server-enc.pem" -o ssl.key.password=secret \
    -o "listener.name.inline.ssl.keystore.certificate.chain=$(cat "$T/certs2/server.crt")" \
    -o "listener.name.inline.ssl.keystore.key=$(cat "$T/certs2/server.key")" ||
    fail "tls: brookd starts with an encrypted key and inline PEM"
$KC "127.0.0.1:$(listener_port SSL)" "${SSL[@]}" -m 5 -L >/dev/null 2>&1
check "an encrypted key with ssl.key.password serves TLS" [ $? -eq 0 ]
$KC "127.0.0.1:$(listener_port INLINE)" -X security.protocol=ssl \
    -X "ssl.ca.location=$T/certs2/ca.pem" -m 5 -L >/dev/null 2>&1
check "inline PEM (listener.name.inline.ssl.keystore.*) serves TLS" [ $? -eq 0 ]
check "listener-prefixed keys are not warned about as unknown" \
    bash -c "! grep -q 'does not read.*listener.name' '$BROOKD_LOG'"
brookd_stop
