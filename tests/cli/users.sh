#!/usr/bin/env bash
# SCRAM users managed over the wire (brook user list|create|delete over
# DescribeUserScramCredentials / AlterUserScramCredentials), then used: a user
# made with the CLI logs in with SCRAM-SHA-256 and -512 over SASL_PLAINTEXT and
# SASL_SSL, and PLAIN checks the same store; a wrong password and a deleted user
# are refused with SASL_AUTHENTICATION_FAILED; a changed password takes effect;
# the users survive a restart. Kafka's per-user errors come back as one line.
. "$(dirname "$0")/../lib.sh"
BROOK=$ROOT/$BUILD/brook
BR="timeout -k 10 60 $BROOK --timeout 5000"
C=$T/certs
bash "$ROOT/tests/certs.sh" "$C" # not sourced: it sets -e

port_of() {
    grep -oE "listener $1 \([A-Z_]+\) on 127\.0\.0\.1:[0-9]+" "$BROOKD_LOG" | head -1 | cut -d: -f2
}

start() {
    brookd_start -o "listeners=ADMIN://127.0.0.1:0,SASL://127.0.0.1:0,SASLTLS://127.0.0.1:0" \
        -o "listener.security.protocol.map=ADMIN:PLAINTEXT,SASL:SASL_PLAINTEXT,SASLTLS:SASL_SSL" \
        -o "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" \
        -o "ssl.keystore.location=$C/server.pem" "$@" || {
        fail "users: brookd starts"
        exit 1
    }
    ADMIN=127.0.0.1:$(port_of ADMIN)
    SASL=127.0.0.1:$(port_of SASL)
    SASLTLS=127.0.0.1:$(port_of SASLTLS)
}
start

# as USER with PASSWORD and MECHANISM over SASL_PLAINTEXT: the rest of the arguments
as() {
    local user=$1 pass=$2 mech=$3
    shift 3
    $BR -b "$SASL" -X security.protocol=sasl_plaintext -X "sasl.mechanism=$mech" \
        -X "sasl.username=$user" -X "sasl.password=$pass" "$@"
}

check "no users at first" [ -z "$($BR -b "$ADMIN" user list)" ]
out=$($BR -b "$ADMIN" user create alice --password 'wonder land')
check "user create says what it set" [ "$out" = "user alice: SCRAM-SHA-512 credential set" ]
echo 'pa,ss=word' | $BR -b "$ADMIN" user create bob --password - --mechanism SCRAM-SHA-256 \
    --iterations 4096 >/dev/null
check "user create with the password on stdin, SHA-256, 4096 rounds" [ $? -eq 0 ]
$BR -b "$ADMIN" user create 'c,a=rol' --password secret >/dev/null
check "a name with ',' and '=' (escaped in SCRAM's messages)" [ $? -eq 0 ]
check "user list: a row per credential, names in order" [ "$($BR -b "$ADMIN" user list)" = \
    "$(printf 'alice\tSCRAM-SHA-512\t8192\nbob\tSCRAM-SHA-256\t4096\nc,a=rol\tSCRAM-SHA-512\t8192')" ]

# logging in with what was made
echo one | as alice 'wonder land' SCRAM-SHA-512 produce logins
check "SCRAM-SHA-512 login over SASL_PLAINTEXT, then produce" [ $? -eq 0 ]
check "... and consume" \
    [ "$(as alice 'wonder land' SCRAM-SHA-512 consume logins -o beginning -e)" = one ]
as bob 'pa,ss=word' SCRAM-SHA-256 topic list >/dev/null
check "SCRAM-SHA-256 login" [ $? -eq 0 ]
as 'c,a=rol' secret SCRAM-SHA-512 topic list >/dev/null
check "SCRAM login of a name with ',' and '='" [ $? -eq 0 ]
as alice 'wonder land' PLAIN topic list >/dev/null
check "PLAIN checks the same store" [ $? -eq 0 ]
printf '# alice, kept out of the process list\nsecurity.protocol=sasl_plaintext\n\n' >"$T/alice.conf"
printf ' sasl.mechanism=SCRAM-SHA-512\nsasl.username=alice\nsasl.password=wonder land\n' \
    >>"$T/alice.conf"
check "settings from a file (-F), comments and blank lines skipped" \
    [ "$($BR -b "$SASL" -F "$T/alice.conf" consume logins -o beginning -e)" = one ]
n=$($BR -b "$SASLTLS" -X security.protocol=sasl_ssl -X "ssl.ca.location=$C/ca.pem" \
    -X sasl.mechanism=SCRAM-SHA-512 -X sasl.username=alice -X "sasl.password=wonder land" \
    consume logins -o beginning -e | wc -l)
check "SCRAM-SHA-512 over SASL_SSL" [ "$n" -eq 1 ]
$BR -b "$SASLTLS" -X security.protocol=SASL_SSL -X "ssl.ca.location=$C/ca.pem" \
    -X sasl.mechanism=SCRAM-SHA-256 -X sasl.username=bob -X "sasl.password=pa,ss=word" \
    topic list >/dev/null
check "SCRAM-SHA-256 over SASL_SSL" [ $? -eq 0 ]

if command -v kcat >/dev/null; then
    timeout 30 kcat -b "$SASL" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-256 \
        -X sasl.username=bob -X "sasl.password=pa,ss=word" -L >/dev/null 2>&1
    check "kcat (librdkafka) logs in as a user brook user created" [ $? -eq 0 ]
fi
as alice wrong SCRAM-SHA-512 topic list >/dev/null 2>"$T/err"
check "a wrong password is refused" [ $? -eq 1 ]
check "... with SASL_AUTHENTICATION_FAILED in one line" grep -q "SASL authentication failed" "$T/err"
as bob 'pa,ss=word' SCRAM-SHA-512 topic list >/dev/null 2>"$T/err"
check "a mechanism the user has no credential for is refused" [ $? -eq 1 ]
as alice 'wonder land' SCRAM-SHA-256 --timeout 3000 topic list >/dev/null 2>&1
check "... either way" [ $? -eq 1 ]
$BR -b "$SASL" topic list >/dev/null 2>&1
check "a client without SASL on a SASL listener is refused" [ $? -eq 1 ]

# Kafka's errors, one line each
$BR -b "$ADMIN" user create carol --password x --iterations 100 2>"$T/err"
check "too few iterations: refused before anything is sent" \
    grep -q "cannot create user 'carol': unacceptable credential" "$T/err"
$BR -b "$ADMIN" user delete nobody 2>"$T/err"
check "deleting a user that does not exist: one line" \
    [ "$(cat "$T/err")" = "brook: cannot delete user 'nobody': no such user" ]
$BR -b "$ADMIN" user delete bob --mechanism SCRAM-SHA-512 2>"$T/err"
check "deleting a credential the user does not have" \
    grep -q "no such user with SCRAM-SHA-512" "$T/err"
$BR -b "$ADMIN" user create x --password y --mechanism SCRAM-SHA-1 2>"$T/err"
check "an unknown mechanism is a usage error" [ $? -eq 2 ]

# a new password replaces the old one at once, on a new connection
$BR -b "$ADMIN" user create alice --password changed >/dev/null
as alice 'wonder land' SCRAM-SHA-512 topic list >/dev/null 2>&1
check "after a password change the old one is refused" [ $? -eq 1 ]
as alice changed SCRAM-SHA-512 topic list >/dev/null
check "... and the new one accepted" [ $? -eq 0 ]

# users are kept across a restart
brookd_stop
start
check "users survive a restart" [ "$($BR -b "$ADMIN" user list | cut -f1 | tr '\n' ,)" = "alice,bob,c,a=rol," ]
as alice changed SCRAM-SHA-512 topic list >/dev/null
check "... and log in after it" [ $? -eq 0 ]

# admin over SASL itself: the credential calls on an authenticated connection
as alice changed SCRAM-SHA-512 user delete 'c,a=rol' >/dev/null
check "user delete over an authenticated connection" [ $? -eq 0 ]
as 'c,a=rol' secret SCRAM-SHA-512 --timeout 3000 topic list >/dev/null 2>&1
check "a deleted user cannot log in" [ $? -eq 1 ]
brookd_stop

# with ACLs on, managing users takes ALTER on the cluster and listing them DESCRIBE
start -o authorizer.class.name=brook -o super.users=User:admin \
    --add-scram 'SCRAM-SHA-512=[name=admin,password=root]'
as bob 'pa,ss=word' SCRAM-SHA-256 user list >/dev/null 2>"$T/err"
check "ACLs: a user without DESCRIBE on the cluster cannot list users" \
    grep -q "not authorized for the cluster" "$T/err"
as bob 'pa,ss=word' SCRAM-SHA-256 user create bob --password mine >/dev/null 2>"$T/err"
check "ACLs: nor change a password, even its own, without ALTER on the cluster" \
    grep -q "not authorized for the cluster" "$T/err"
as bob 'pa,ss=word' SCRAM-SHA-256 topic list >/dev/null
check "... and the password is unchanged" [ $? -eq 0 ]
as admin root SCRAM-SHA-512 acl create --allow-principal User:bob --operation DESCRIBE \
    --cluster >/dev/null
check "ACLs: with DESCRIBE on the cluster bob lists users" \
    [ "$(as bob 'pa,ss=word' SCRAM-SHA-256 user list | cut -f1 | sort -u | tr '\n' ,)" = "admin,alice,bob," ]
as admin root SCRAM-SHA-512 user create carol --password x >/dev/null
check "ACLs: a super user creates users" [ $? -eq 0 ]
brookd_stop
check "brookd stops cleanly" [ $? -eq 0 ]
