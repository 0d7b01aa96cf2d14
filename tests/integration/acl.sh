#!/usr/bin/env bash
# ACLs on a live brookd (tests/integration/acl.py) with users authenticated by
# SASL PLAIN: made by a super user, enforced on another user after a restart
# (they persist), bypassed by the super user, deleted; the ACL APIs without an
# authorizer; the settings and files that stop the start.
. "$(dirname "$0")/../lib.sh"
PY="timeout 120 python3 $ROOT/tests/integration/acl.py"
AUTHZ=(-o authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
    -o 'super.users=User:ops; User:admin')
USERS=(-o 'listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0'
    -o sasl.enabled.mechanisms=PLAIN
    --add-scram 'SCRAM-SHA-512=[name=admin,password=admin-pw]'
    --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-pw]')
phase() {
    local name=$1
    shift
    brookd_start "${USERS[@]}" "$@" || { fail "acl: brookd starts for phase $name"; return 1; }
    tool "acl.py $name" $PY "$name" "$(listener_port SASL_PLAINTEXT)" "$(listener_port PLAINTEXT)"
    brookd_stop
    check "acl: brookd stops cleanly after phase $name" [ $? -eq 0 ]
}
phase setup "${AUTHZ[@]}"
phase enforce "${AUTHZ[@]}"

# the same through librdkafka (kcat) as alice: reading orders works, producing
# to it is refused with Kafka's error
brookd_start "${USERS[@]}" "${AUTHZ[@]}" || fail "acl: brookd starts for kcat"
KC=(timeout 30 kcat -b "127.0.0.1:$(listener_port SASL_PLAINTEXT)" -X security.protocol=SASL_PLAINTEXT
    -X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=alice-pw)
"${KC[@]}" -C -t orders -o beginning -c 1 -e >"$T/kc.out" 2>"$T/kc.err"
check "acl: kcat as alice reads orders" grep -q o1 "$T/kc.out"
echo nope | "${KC[@]}" -P -t orders >"$T/kc.out" 2>"$T/kc.err"
check "acl: kcat as alice cannot produce to orders" [ $? -ne 0 ]
check "acl: kcat says why: topic authorization failed" grep -qi "authorization" "$T/kc.err"
"${KC[@]}" -L >"$T/kc.out" 2>"$T/kc.err"
check "acl: kcat -L as alice lists orders" grep -q '"orders"' "$T/kc.out"
check "acl: kcat -L as alice does not list other" bash -c "! grep -q '\"other\"' '$T/kc.out'"
brookd_stop
phase super "${AUTHZ[@]}"
phase off

# an authorizer brook does not have, and a damaged ACL file, stop the start
for bad in "authorizer.class.name=com.example.Custom" "super.users=alice"; do
    "$BROOKD" -d "$DATA" -l 127.0.0.1:0 --console off -o "$bad" >"$T/bad.log" 2>&1 &
    pid=$!
    if timeout 20 tail --pid=$pid -f /dev/null; then wait $pid; rc=$?; else kill -9 $pid; rc=0; fi
    check "acl: $bad is refused at start" [ "$rc" -ne 0 ]
    check "acl: $bad: the refusal names the key" grep -q "${bad%%=*}" "$T/bad.log"
done
printf 'brook-acls 1\n2 3 3 3 User:a * orders' >"$DATA/.acls" # torn: no newline
"$BROOKD" -d "$DATA" -l 127.0.0.1:0 --console off "${AUTHZ[@]}" >"$T/bad.log" 2>&1 &
pid=$!
if timeout 20 tail --pid=$pid -f /dev/null; then wait $pid; rc=$?; else kill -9 $pid; rc=0; fi
check "acl: a damaged ACL file stops the start" [ "$rc" -ne 0 ]
check "acl: the refusal says the ACL file is damaged" grep -q "ACLs.*damaged" "$T/bad.log"
