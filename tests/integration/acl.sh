#!/usr/bin/env bash
# ACLs on a live brookd (tests/integration/acl.py): made by a super user, then
# enforced after a restart without one (they persist), bypassed by a super user,
# deleted; the ACL APIs without an authorizer; an authorizer brook lacks refused.
. "$(dirname "$0")/../lib.sh"
PY="timeout 120 python3 $ROOT/tests/integration/acl.py"
AUTHZ=(-o authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer)
phase() {
    local name=$1
    shift
    brookd_start "$@" || { fail "acl: brookd starts for phase $name"; return 1; }
    tool "acl.py $name" $PY "$name" "$BROKER"
    brookd_stop
    check "acl: brookd stops cleanly after phase $name" [ $? -eq 0 ]
}
phase setup "${AUTHZ[@]}" -o super.users=User:ANONYMOUS
phase enforce "${AUTHZ[@]}" -o 'super.users=User:admin; User:ops'
phase super "${AUTHZ[@]}" -o super.users=User:ANONYMOUS
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
