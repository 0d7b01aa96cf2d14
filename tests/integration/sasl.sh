#!/usr/bin/env bash
# SASL on brookd: kcat (librdkafka) with PLAIN over SASL_PLAINTEXT and SCRAM-SHA-256/512
# over SASL_PLAINTEXT and SASL_SSL, v0 handshakes with bare tokens, a wrong password,
# the gate and the failures on the wire (sasl_wire.py), KIP-368 re-authentication,
# --add-scram (idempotent, and the credentials file holds no password), and
# mechanisms brook does not offer refused at start.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/certs.sh"
C=$T/certs
certs_make "$C"
KC="timeout 30 kcat -b"
USERS=(--add-scram 'SCRAM-SHA-512=[name=admin,password=secret]'
    --add-scram 'SCRAM-SHA-256=[name=admin,password=secret]'
    --add-scram 'SCRAM-SHA-512=[name=other,iterations=4096,password="o,ther-pw"]')
LISTENERS=(-o 'listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0'
    -o "ssl.keystore.location=$C/server.pem"
    -o 'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512')

brookd_start "${LISTENERS[@]}" "${USERS[@]}" || {
    fail "sasl: brookd starts"
    exit 1
}
P_SASL=$(listener_port SASL_PLAINTEXT)
P_SSL=$(listener_port SASL_SSL)
check "--add-scram stores each user before listening" \
    grep -q "add-scram: user other (SCRAM-SHA-512) stored" "$BROOKD_LOG"
check "the credentials file holds no password" \
    bash -c "! grep -q -e secret -e other-pw '$DATA/.scram-credentials'"

lacks() { ! grep -q "$2" <<<"$1"; }
sasl() { # MECH PROTOCOL [PASSWORD]
    echo -X "security.protocol=$2" -X "sasl.mechanisms=$1" -X sasl.username=admin \
        -X "sasl.password=${3:-secret}" -X "ssl.ca.location=$C/ca.pem"
}
seq 1 500 | sed 's/^/rec-/' >"$T/in.txt"
$KC "127.0.0.1:$P_SASL" $(sasl PLAIN SASL_PLAINTEXT) -P -t plain <"$T/in.txt"
check "kcat produces with PLAIN over SASL_PLAINTEXT" [ $? -eq 0 ]
$KC "127.0.0.1:$P_SASL" $(sasl PLAIN SASL_PLAINTEXT) -C -t plain -e -q >"$T/out.txt"
check "kcat consumes them back with PLAIN" cmp -s "$T/in.txt" "$T/out.txt"
for m in SCRAM-SHA-512 SCRAM-SHA-256; do
    for proto in SASL_PLAINTEXT SASL_SSL; do
        p=$P_SASL
        [ $proto = SASL_SSL ] && p=$P_SSL
        $KC "127.0.0.1:$p" $(sasl $m $proto) -P -t "t-$m-$proto" <"$T/in.txt"
        check "kcat produces with $m over $proto" [ $? -eq 0 ]
        $KC "127.0.0.1:$p" $(sasl $m $proto) -C -t "t-$m-$proto" -e -q >"$T/out.txt"
        check "kcat consumes them back with $m over $proto" cmp -s "$T/in.txt" "$T/out.txt"
    done
done
check "the log names the authenticated principal" \
    grep -q "authenticated as User:admin (SCRAM-SHA-512)" "$BROOKD_LOG"
for m in PLAIN SCRAM-SHA-256; do
    out=$($KC "127.0.0.1:$P_SASL" $(sasl $m SASL_PLAINTEXT) -X api.version.request=false \
        -X broker.version.fallback=0.10.0 -L 2>&1)
    check "kcat with a v0 handshake (bare tokens) authenticates with $m" \
        grep -q "broker 0 at" <<<"$out"
done

out=$($KC "127.0.0.1:$P_SSL" $(sasl SCRAM-SHA-512 SASL_SSL wrong) -m 5 -L 2>&1)
check "kcat with a wrong password is refused" [ $? -ne 0 ]
check "... with the broker's SASL_AUTHENTICATION_FAILED message" \
    grep -q "Authentication failed: invalid username or password" <<<"$out"
out=$($KC "127.0.0.1:$P_SASL" -m 3 -L 2>&1)
check "kcat without SASL on a SASL listener gets no metadata" lacks "$out" 'broker 0 at'
# the client may see the close before the loop that closed it has written its line
check "the log says why that connection was closed" \
    wait_for_line "$BROOKD_LOG" 10 "api 3 before SASL authentication"

tool "sasl_wire.py" timeout 120 "$PY" "$ROOT/tests/integration/sasl_wire.py" 127.0.0.1 "$P_SASL" "$PORT"
brookd_stop
check "sasl: brookd stops cleanly" [ $? -eq 0 ]

# --add-scram again: the same user and password change nothing, a new password replaces
sum=$(md5sum <"$DATA/.scram-credentials")
brookd_start "${LISTENERS[@]}" "${USERS[@]}" || fail "sasl: brookd restarts"
check "--add-scram with the same password is a no-op" \
    grep -q "add-scram: user admin (SCRAM-SHA-512) is already set" "$BROOKD_LOG"
check "... the credentials file is unchanged" [ "$sum" = "$(md5sum <"$DATA/.scram-credentials")" ]
brookd_stop
brookd_start "${LISTENERS[@]}" --add-scram 'SCRAM-SHA-512=[name=admin,password=new-secret]' ||
    fail "sasl: brookd restarts"
P_SASL=$(listener_port SASL_PLAINTEXT)
$KC "127.0.0.1:$P_SASL" $(sasl SCRAM-SHA-512 SASL_PLAINTEXT new-secret) -L >/dev/null 2>&1
check "--add-scram with a new password replaces the old" [ $? -eq 0 ]
$KC "127.0.0.1:$P_SASL" $(sasl SCRAM-SHA-512 SASL_PLAINTEXT secret) -m 5 -L >/dev/null 2>&1
check "... and the old password no longer works" [ $? -ne 0 ]
brookd_stop

# KIP-368: sessions of 2 s, re-authentication on the same connection
brookd_start "${LISTENERS[@]}" "${USERS[@]}" -o connections.max.reauth.ms=2000 ||
    fail "sasl: brookd starts with connections.max.reauth.ms"
tool "sasl_wire.py reauth" timeout 120 "$PY" "$ROOT/tests/integration/sasl_wire.py" 127.0.0.1 \
    "$(listener_port SASL_PLAINTEXT)" "$PORT" reauth
brookd_stop

# what brook does not offer is refused at start, with the reason
for bad in GSSAPI OAUTHBEARER SCRAM-SHA-1; do
    timeout 20 "$BROOKD" -d "$T/d2" -l 127.0.0.1:0 --console off \
        -o listeners=SASL_PLAINTEXT://127.0.0.1:0 -o "sasl.enabled.mechanisms=$bad" >"$T/bad.log" 2>&1
    rc=$?
    check "sasl.enabled.mechanisms=$bad is refused at start" \
        bash -c "[ $rc -ne 0 ] && grep -q 'sasl.enabled.mechanisms: .*$bad' '$T/bad.log'"
done
for key in 'sasl.jaas.config=x required;' \
    'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=x required;' \
    'sasl.server.callback.handler.class=com.example.H' 'sasl.kerberos.service.name=kafka'; do
    timeout 20 "$BROOKD" -d "$T/d2" -l 127.0.0.1:0 --console off \
        -o listeners=SASL_PLAINTEXT://127.0.0.1:0 -o "$key" >"$T/bad.log" 2>&1
    rc=$?
    check "${key%%=*} is refused at start, with the reason" \
        bash -c "[ $rc -ne 0 ] && grep -q '${key%%=*} is not supported: brook keeps SASL users' '$T/bad.log'"
done
timeout 20 "$BROOKD" -d "$T/d3" -l 127.0.0.1:0 --console off \
    --add-scram 'SCRAM-SHA-512=[name=admin,iterations=100,password=x]' >"$T/bad.log" 2>&1
check "--add-scram with iterations below 4096 is refused" \
    bash -c "[ $? -ne 0 ] && grep -q 'iterations must be from 4096' '$T/bad.log'"

# one listener's own mechanisms (listener.name.<name>.sasl.enabled.mechanisms)
brookd_start "${LISTENERS[@]}" "${USERS[@]}" \
    -o listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN ||
    fail "sasl: brookd starts with a listener's own mechanisms"
out=$($KC "127.0.0.1:$(listener_port SASL_PLAINTEXT)" $(sasl SCRAM-SHA-512 SASL_PLAINTEXT) -m 5 -L 2>&1)
check "a listener offering PLAIN only turns SCRAM away, naming what it offers" \
    grep -q "Unsupported SASL mechanism: broker's supported mechanisms: PLAIN" <<<"$out"
$KC "127.0.0.1:$(listener_port SASL_PLAINTEXT)" $(sasl PLAIN SASL_PLAINTEXT) -L >/dev/null 2>&1
check "... and takes PLAIN" [ $? -eq 0 ]
$KC "127.0.0.1:$(listener_port SASL_SSL)" $(sasl SCRAM-SHA-512 SASL_SSL) -L >/dev/null 2>&1
check "... while the other listener keeps the broker-wide mechanisms" [ $? -eq 0 ]
brookd_stop

# a crowd of PLAIN attempts (a key derivation each) beside a control client, and
# exchanges left half-done
brookd_start "${LISTENERS[@]}" "${USERS[@]}" || fail "sasl: brookd starts for the crowd"
tool "sasl_wire.py crowd" timeout 120 "$PY" "$ROOT/tests/integration/sasl_wire.py" 127.0.0.1 \
    "$(listener_port SASL_PLAINTEXT)" "$PORT" crowd
tool "sasl_wire.py stalled" timeout 120 "$PY" "$ROOT/tests/integration/sasl_wire.py" 127.0.0.1 \
    "$(listener_port SASL_PLAINTEXT)" "$PORT" stalled
brookd_stop
