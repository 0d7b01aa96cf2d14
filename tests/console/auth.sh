#!/usr/bin/env bash
# The console asks who you are: with users in the credential store, no API answer
# and no page data without a login; the session cookie is HttpOnly and
# SameSite=Strict; a write without the session's CSRF token is refused; /metrics
# takes HTTP basic; a user the ACLs do not allow to delete gets 403 and sees only
# the topics it may describe; console.auth=none is refused off loopback, and an
# exposed plain-HTTP console is warned about at start.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"
KC="timeout 60 kcat -b"
JAR=$T/jar
ALICE='SCRAM-SHA-512=[name=alice,password=alice-secret]'
BOB='SCRAM-SHA-256=[name=bob,password=bob-secret]'

# areq METHOD PATH [BODY [CSRF]]: a request with the cookie jar; sets STATUS, $T/body,
# and the answer's headers in $T/headers
areq() {
    local args=(-s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 20 -b "$JAR" -c "$JAR"
        -X "$1" "$C$2")
    [ $# -ge 3 ] && args+=(-H "Content-Type: application/json" --data-binary "$3")
    [ -n "${4:-}" ] && args+=(-H "X-CSRF-Token: $4")
    STATUS=$(curl "${args[@]}")
}
# login USER PASSWORD: a fresh jar, then POST /api/v1/login; sets CSRF
login() {
    rm -f "$JAR"
    areq POST /api/v1/login "{\"user\":\"$1\",\"password\":\"$2\"}"
    CSRF=$(jget 'd["csrf"]')
}
header() { sed -n "s/^$1: //Ip" "$T/headers" | tr -d '\r'; }

console_start --add-scram "$ALICE" --add-scram "$BOB" ||
    { fail "console auth: brookd starts with users"; exit 1; }
grep -q 'console on http://127.0.0.1:[0-9]*/ (login)' "$BROOKD_LOG"
check "with users and console.auth unset, the console asks for a login" [ $? = 0 ]
echo hello | $KC "$BROKER" -P -t orders -p 0
echo secret | $KC "$BROKER" -P -t payments -p 0

# ---- nothing without a login ----
leaks=
for path in /api/v1/broker /api/v1/topics /api/v1/topics/orders \
    "/api/v1/topics/orders/messages?partition=0&offset=0" /api/v1/topics/orders/tail \
    /api/v1/groups /api/v1/groups/g1; do
    areq GET "$path"
    is_error 401 || leaks="$leaks $path:$STATUS"
    grep -q -e orders -e hello "$T/body" && leaks="$leaks $path(data)"
done
check "every API read answers 401 without a login, and no data${leaks:+ ($leaks)}" [ -z "$leaks" ]
areq POST /api/v1/topics '{"name":"x"}'
is_error 401
check "a write without a login is a 401" [ $? = 0 ]
areq DELETE /api/v1/topics/orders
check "a delete without a login is a 401" is_error 401
areq GET /
[ "$STATUS" = 200 ] && ! grep -q -e orders -e payments "$T/body"
check "the page itself is served and carries no data" [ $? = 0 ]
areq GET /metrics
[ "$STATUS" = 401 ] && header WWW-Authenticate | grep -q '^Basic realm="brook"'
check "/metrics without credentials is a 401 asking for HTTP basic" [ $? = 0 ]
areq GET /healthz
check "/healthz needs no login" [ "$STATUS" = 200 ]
areq GET /api/v1/session
[ "$STATUS" = 401 ] && [ "$(jget 'd["auth"]')" = login ]
check "GET /api/v1/session says a login is needed" [ $? = 0 ]

# ---- the login ----
login alice wrong-password
check "a wrong password is a 401" is_error 401
[ ! -s "$JAR" ] || ! grep -q brook_session "$JAR"
check "a failed login sets no cookie" [ $? = 0 ]
login mallory alice-secret
check "an unknown user is a 401" is_error 401
login alice alice-secret
check "the right password logs in (200)" [ "$STATUS" = 200 ]
cookie=$(header Set-Cookie)
case "$cookie" in
*HttpOnly*SameSite=Strict*) ok "the session cookie is HttpOnly and SameSite=Strict" ;;
*) fail "the session cookie is HttpOnly and SameSite=Strict" "$cookie" ;;
esac
case "$cookie" in *Secure*) fail "no Secure flag over plain HTTP" "$cookie" ;; *) ok "no Secure flag over plain HTTP" ;; esac
check "the login answers a 64-hex CSRF token" [ "${#CSRF}" = 64 ]
areq GET /api/v1/topics
[ "$STATUS" = 200 ] && grep -q orders "$T/body"
check "with the session, the API answers" [ $? = 0 ]
areq GET /api/v1/session
[ "$STATUS" = 200 ] && [ "$(jget 'd["user"]')" = alice ] && [ "$(jget 'd["csrf"]')" = "$CSRF" ]
check "GET /api/v1/session names the user and gives the token again" [ $? = 0 ]

# ---- CSRF ----
areq POST /api/v1/topics '{"name":"made","partitions":1}'
check "a write with the cookie but without X-CSRF-Token is a 403" is_error 403
areq POST /api/v1/topics '{"name":"made","partitions":1}' "$(printf '%064d' 0)"
check "a write with another token is a 403" is_error 403
areq DELETE /api/v1/topics/orders
check "a delete without the token is a 403" is_error 403
areq POST /api/v1/topics/orders/messages '{"value":"x"}'
check "a produce without the token is a 403" is_error 403
areq GET /api/v1/topics/made
check "the refused write did nothing" is_error 404
areq POST /api/v1/topics '{"name":"made","partitions":1}' "$CSRF"
check "the same write with the token is done (201)" [ "$STATUS" = 201 ]

# ---- /metrics by HTTP basic ----
code=$(curl -s -o "$T/prom" -w '%{http_code}' -u alice:alice-secret "$C/metrics")
[ "$code" = 200 ] && grep -q '^kafka_server_brokertopicmetrics_messagesin_total' "$T/prom"
check "/metrics with HTTP basic answers the scrape" [ $? = 0 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:nope "$C/metrics")
check "/metrics with a wrong basic password is a 401" [ "$code" = 401 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Basic !!!' "$C/metrics")
check "/metrics with malformed basic credentials is a 401" [ "$code" = 401 ]
areq GET /metrics
check "/metrics with the session cookie answers" [ "$STATUS" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:alice-secret "$C/api/v1/topics")
check "HTTP basic opens /metrics only, not the API" [ "$code" = 401 ]

# ---- the session's end ----
code=$(curl -s -o /dev/null -w '%{http_code}' -b "brook_session=$(printf '%064d' 7)" \
    "$C/api/v1/topics")
check "a made-up session cookie is a 401" [ "$code" = 401 ]
# a live tail opened in the session, to see it end with the session
: >"$T/tail.out"
curl -s -N --max-time 60 -b "$JAR" "$C/api/v1/topics/orders/tail" >"$T/tail.out" 2>/dev/null &
TAIL_PID=$!
wait_until 10 grep -q '^event: hello' "$T/tail.out"
check "a live tail opens in the session" [ $? = 0 ]
areq POST /api/v1/logout '' "$CSRF"
check "logout answers 200" [ "$STATUS" = 200 ]
wait_until 10 grep -q '"reason":"session ended"' "$T/tail.out" &&
    wait_until 10 sh -c "! kill -0 $TAIL_PID 2>/dev/null"
check "logout ends the session's live tail at once (event: end, session ended)" [ $? = 0 ]
kill "$TAIL_PID" 2>/dev/null
wait "$TAIL_PID" 2>/dev/null
areq GET /api/v1/topics
check "after logout the cookie opens nothing" is_error 401

# ---- users made and removed while brookd runs (AlterUserScramCredentials) ----
BROOK="timeout 60 $ROOT/$BUILD/brook -b $BROKER"
$BROOK user create carol --password carol-secret >/dev/null
login carol carol-secret
check "a user created while brookd runs (brook user create) logs in" [ "$STATUS" = 200 ]
$BROOK user delete carol >/dev/null
areq GET /api/v1/topics
check "deleting the user ends its session at once (401)" is_error 401

# ---- sessions are bounded: 1 025 logins keep 1 024, ending the oldest ----
$PY - "$CPORT" <<'PY' >"$T/sessions.out" 2>&1
import http.client, json, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
def call(method, path, body=None, cookie=None):
    h = {'Content-Type': 'application/json'}
    if cookie:
        h['Cookie'] = cookie
    conn.request(method, path, body, h)
    r = conn.getresponse()
    r.read()
    return r.status, r.getheader('Set-Cookie', '')
cookies = []
for i in range(1025):
    st, c = call('POST', '/api/v1/login', json.dumps({'user': 'alice', 'password': 'alice-secret'}))
    assert st == 200, st
    cookies.append(c.split(';')[0])
first = call('GET', '/api/v1/topics', cookie=cookies[0])[0]
second = call('GET', '/api/v1/topics', cookie=cookies[1])[0]
last = call('GET', '/api/v1/topics', cookie=cookies[-1])[0]
print(first, second, last)
sys.exit(0 if (first, second, last) == (401, 200, 200) else 1)
PY
check "1 025 logins keep 1 024 sessions: the oldest ends, the rest work ($(tail -1 "$T/sessions.out"))" [ $? = 0 ]

check "brookd stops cleanly" brookd_stop

# ---- on loopback with console.auth unset: open until the first user exists ----
# (not in a subshell: brookd_start numbers its logs in a variable of this shell)
USERS_DATA=$DATA
DATA=$T/data-fresh
console_start || { fail "console auth: brookd starts without users"; exit 1; }
areq GET /api/v1/topics
check "no user yet: the loopback console answers without a login" [ "$STATUS" = 200 ]
timeout 60 "$ROOT/$BUILD/brook" -b "$BROKER" user create dave --password dave-secret >/dev/null
areq GET /api/v1/topics
check "the first user created closes it: the next request needs a login (401)" is_error 401
brookd_stop
DATA=$USERS_DATA

# ---- ACLs: the same users, with the authorizer on ----
# the harness administers over the plaintext listener as User:ANONYMOUS, a super user
console_start -o authorizer.class.name=brook -o 'super.users=User:alice;User:ANONYMOUS' \
    -o allow.everyone.if.no.acl.found=false ||
    { fail "console auth: brookd restarts with ACLs on"; exit 1; }
acl_allow bob READ TOPIC orders >"$T/acl.out" 2>&1
check "an ACL lets bob read orders (CreateAcls)" [ $? = 0 ]
login bob bob-secret
check "bob logs in" [ "$STATUS" = 200 ]
areq GET /api/v1/topics
check "bob's topic list holds only what he may describe" \
    [ "$(jget '[t["name"] for t in d["topics"]]')" = "['orders']" ]
areq GET /api/v1/topics/payments
check "a topic bob may not describe is a 403" is_error 403
areq GET /api/v1/topics/no-such-topic
check "... and so is one that does not exist (its absence is not told)" is_error 403
areq GET "/api/v1/topics/orders/messages?partition=0&offset=0"
[ "$STATUS" = 200 ] && [ "$(jget 'd["messages"][0]["value"]')" = hello ]
check "bob reads orders" [ $? = 0 ]
areq DELETE /api/v1/topics/orders '' "$CSRF"
is_error 403 && grep -q 'User:bob may not Delete topic orders' "$T/body"
check "bob, without delete permission, gets 403 deleting orders" [ $? = 0 ]
areq GET /api/v1/topics/orders
check "... and orders is still there" [ "$STATUS" = 200 ]
areq POST /api/v1/topics/orders/messages '{"value":"x"}' "$CSRF"
check "bob may not produce to orders (403)" is_error 403
areq POST /api/v1/topics '{"name":"bobs","partitions":1}' "$CSRF"
check "bob may not create topics (403)" is_error 403
areq GET /api/v1/broker
[ "$STATUS" = 200 ] && [ "$(jget 'len(d["config"])')" = 0 ]
check "bob sees the broker but not its configuration" [ $? = 0 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -u bob:bob-secret "$C/metrics")
check "bob may not scrape /metrics (403: Describe on the cluster)" [ "$code" = 403 ]
login alice alice-secret
areq DELETE /api/v1/topics/payments '' "$CSRF"
check "alice, a super user, deletes payments" [ "$STATUS" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:alice-secret "$C/metrics")
check "alice scrapes /metrics" [ "$code" = 200 ]
brookd_stop
