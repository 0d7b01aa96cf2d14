#!/usr/bin/env bash
# The console over HTTPS (console.ssl.*) with certificates made by tests/certs.sh,
# the keys it refuses at start, console.auth=none refused off loopback, and the
# start-up warning for a console exposed over plain HTTP.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"
bash "$(dirname "$0")/../certs.sh" "$T/certs" || { fail "console tls: tests/certs.sh"; exit 1; }
CA=$T/certs/ca.pem

# ---- HTTPS ----
brookd_start --console 127.0.0.1:0 -o "console.ssl.keystore.location=$T/certs/server.pem" \
    --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]' ||
    { fail "console tls: brookd starts with console.ssl.keystore.location"; exit 1; }
CPORT=$(grep -oE 'console on 127\.0\.0\.1:[0-9]+' "$BROOKD_LOG" | head -1 | cut -d: -f2)
grep -q "console on https://127.0.0.1:$CPORT/" "$BROOKD_LOG"
check "the start-up line names https" [ $? = 0 ]
out=$(curl -s --max-time 10 --cacert "$CA" "https://localhost:$CPORT/healthz")
check "/healthz over HTTPS, the certificate verified against the test CA" [ "$out" = ok ]
code=$(curl -s -o /dev/null -D "$T/headers" -w '%{http_code}' --max-time 10 --cacert "$CA" \
    -H 'Content-Type: application/json' --data-binary '{"user":"alice","password":"alice-secret"}' \
    "https://localhost:$CPORT/api/v1/login")
check "a login over HTTPS answers 200" [ "$code" = 200 ]
grep -i '^Set-Cookie: brook_session=.*HttpOnly; SameSite=Strict; Secure' "$T/headers" >/dev/null
check "over HTTPS the session cookie is Secure as well" [ $? = 0 ]
curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$CPORT/healthz"
check "plain HTTP on the HTTPS port gets no answer" [ $? != 0 ]
out=$(curl -s --max-time 10 --cacert "$CA" "https://localhost:$CPORT/healthz")
check "the console still answers HTTPS after the plain request" [ "$out" = ok ]
check "brookd stops cleanly" brookd_stop

# ---- the same key material as PEM text (a data directory without users from here) ----
DATA=$T/data-nousers
brookd_start --console 127.0.0.1:0 \
    -o "console.ssl.keystore.certificate.chain=$(cat "$T/certs/server.crt")" \
    -o "console.ssl.keystore.key=$(cat "$T/certs/server.key")" ||
    fail "console tls: brookd starts with inline PEM"
CPORT=$(grep -oE 'console on 127\.0\.0\.1:[0-9]+' "$BROOKD_LOG" | head -1 | cut -d: -f2)
out=$(curl -s --max-time 10 --cacert "$CA" "https://localhost:$CPORT/healthz")
check "console.ssl.keystore.certificate.chain and .key serve HTTPS" [ "$out" = ok ]
curl -s --max-time 10 --cacert "$CA" -o "$T/broker.json" "https://localhost:$CPORT/api/v1/broker"
grep -q '"console.ssl.keystore.key"' "$T/broker.json" && ! grep -q 'PRIVATE KEY' "$T/broker.json"
check "the broker view lists console.ssl.keystore.key without the key itself" [ $? = 0 ]
brookd_stop

# ---- an encrypted key: its password is never shown ----
brookd_start --console 127.0.0.1:0 -o "console.ssl.keystore.location=$T/certs/server-enc.pem" \
    -o console.ssl.key.password=secret || fail "console tls: brookd starts with an encrypted key"
CPORT=$(grep -oE 'console on 127\.0\.0\.1:[0-9]+' "$BROOKD_LOG" | head -1 | cut -d: -f2)
curl -s --max-time 10 --cacert "$CA" -o "$T/broker.json" "https://localhost:$CPORT/api/v1/broker"
check "an encrypted console key serves HTTPS with console.ssl.key.password" \
    grep -q '"console.ssl.key.password"' "$T/broker.json"
! grep -q '"secret"' "$T/broker.json" &&
    $PY -c 'import json,sys; d=json.load(open(sys.argv[1]))
c=[x for x in d["config"] if x["name"]=="console.ssl.key.password"][0]
sys.exit(0 if c["value"] is None and c["sensitive"] else 1)' "$T/broker.json"
check "the broker view shows a password as null, marked sensitive, as DescribeConfigs would" [ $? = 0 ]
brookd_stop

# ---- ... and DescribeConfigs over the Kafka protocol does the same ----
brookd_start -o ssl.key.password=do-not-show || fail "console tls: brookd starts with ssl.key.password"
$PY - "$BROKER" <<'PY'
import sys
from kafka.admin import KafkaAdminClient, ConfigResource, ConfigResourceType
a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
r = a.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")])
entry = [e for e in r[0].resources[0][4] if e[0] == "ssl.key.password"]
# (name, value, read_only, source, is_sensitive, synonyms)
sys.exit(0 if entry and entry[0][1] is None and entry[0][4] else 1)
PY
check "DescribeConfigs answers ssl.key.password as null, is_sensitive" [ $? = 0 ]
brookd_stop

# refused [ARGS...]: brookd exits at start, with a line naming KEY ($1)
refused() {
    local key=$1 log=$T/refused.log
    shift
    timeout 20 "$BROOKD" -d "$DATA" -l 127.0.0.1:0 "$@" >"$log" 2>&1
    local rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && grep -q "$key" "$log"
}
check "console.ssl.keystore.type=JKS is refused at start with the reason" \
    refused 'keystore.type=JKS is not supported' --console 127.0.0.1:0 \
    -o console.ssl.keystore.type=JKS -o "console.ssl.keystore.location=$T/certs/server.pem"
check "an unreadable console keystore is refused at start" \
    refused 'console.ssl' --console 127.0.0.1:0 -o "console.ssl.keystore.location=$T/none.pem"
check "console.auth=none is refused on an address other than loopback" \
    refused 'console.auth=none is refused' --console 0.0.0.0:0 -o console.auth=none
check "a console.auth that is neither none nor login is refused" \
    refused 'invalid value for console.auth' --console 127.0.0.1:0 -o console.auth=maybe

# ---- exposure: the console bound to every address ----
# (no user exists, so nobody can log in while it is bound)
brookd_start --console 0.0.0.0:0 || fail "console tls: brookd starts with the console on 0.0.0.0"
CPORT=$(grep -oE 'console on 0\.0\.0\.0:[0-9]+' "$BROOKD_LOG" | head -1 | cut -d: -f2)
grep -q 'WARN.*console on 0.0.0.0:[0-9]* is plain HTTP.*passwords and session cookies' \
    "$BROOKD_LOG"
check "a plain-HTTP console on 0.0.0.0 logs what it exposes" [ $? = 0 ]
grep -q 'WARN.*no user exists yet' "$BROOKD_LOG"
check "... and that nobody can log in yet" [ $? = 0 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$CPORT/api/v1/topics")
check "with console.auth unset, the console on 0.0.0.0 asks for a login (401)" [ "$code" = 401 ]
brookd_stop
brookd_start --console 0.0.0.0:0 -o "console.ssl.keystore.location=$T/certs/server.pem" ||
    fail "console tls: brookd starts with an HTTPS console on 0.0.0.0"
! grep -q 'is plain HTTP' "$BROOKD_LOG"
check "an HTTPS console on 0.0.0.0 is not warned about as plain HTTP" [ $? = 0 ]
brookd_stop
brookd_start --console 127.0.0.1:0
! grep -q 'WARN.*console' "$BROOKD_LOG"
check "the default loopback console logs no warning" [ $? = 0 ]
brookd_stop
