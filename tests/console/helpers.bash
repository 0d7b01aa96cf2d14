# tests/console/helpers.bash - helpers for the console and browser suites, sourced
# after tests/lib.sh (named .bash so that tests/run does not take it for a test).
#
#   console_start [ARGS...]   brookd_start with the console on 127.0.0.1:0; sets CPORT, C
#   req METHOD PATH [BODY [CONTENT-TYPE]]
#                             one HTTP request; sets STATUS, the body in $T/body
#   jget EXPR                 evaluate a Python expression over the last body (as d)
#   is_error STATUS           the last answer had STATUS and a JSON error body
#   wait_until SECS CMD...    poll CMD until it succeeds
#   member_start TOPIC GROUP [SECS] / member_stop
#                             a live group member that never commits
#   console_start_users [ARGS...]
#                             console_start with users alice and bob and ACLs on
#   acl_allow USER OP TYPE NAME [OP TYPE NAME...]
#                             CreateAcls: allow User:USER each OP on each resource
#   fuse_start NAME / fuse_stop
#                             another brookd with a FUSE mount, in its own namespace

console_start() {
    brookd_start --console 127.0.0.1:0 "$@" || return 1
    CPORT=$(grep -oE 'console on 127\.0\.0\.1:[0-9]+' "$BROOKD_LOG" | head -1 | cut -d: -f2)
    C=http://127.0.0.1:$CPORT
    [ -n "$CPORT" ]
}

req() {
    local method=$1 path=$2 args
    args=(-s -o "$T/body" -w '%{http_code}' --max-time 20 -X "$method" "$C$path")
    if [ $# -ge 3 ]; then
        args+=(-H "Content-Type: ${4-application/json}" --data-binary "$3")
    fi
    STATUS=$(curl "${args[@]}")
}

jget() {
    $PY -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2], {"d": d}))' "$T/body" "$1" 2>/dev/null
}

is_error() {
    [ "$STATUS" = "$1" ] && [ "$(jget 'd["status"]')" = "$1" ] &&
        [ -n "$(jget 'd["error"]')" ]
}

# Poll until CMD succeeds, at most SECS seconds (every 50 ms); false on timeout.
wait_until() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# member_start TOPIC GROUP [SECS]: a live member of GROUP reading TOPIC that never
# commits (tests/tools/group_member.py), for at most SECS (60) seconds; returns
# once it holds partitions, false if it did not get any within 60 s.
# member_stop: it leaves the group; returns once it has exited.
member_start() {
    rm -f "$T/member.ready" "$T/member.stop"
    $PY "$ROOT/tests/tools/group_member.py" "$BROKER" "$1" "$2" "$T/member.ready" "$T/member.stop" \
        "${3:-60}" >"$T/member.log" 2>&1 &
    MEMBER_PID=$!
    wait_until 60 [ -e "$T/member.ready" ]
}

member_stop() {
    touch "$T/member.stop"
    timeout 20 tail --pid="$MEMBER_PID" -f /dev/null || kill "$MEMBER_PID" 2>/dev/null
    wait "$MEMBER_PID" 2>/dev/null
}

# console_start_users [ARGS...]: console_start with the users alice (password
# alice-secret, SCRAM-SHA-512, a super user) and bob (bob-secret, SCRAM-SHA-256),
# and brook's authorizer on. The harness administers over the plaintext listener
# as User:ANONYMOUS, a super user too.
console_start_users() {
    console_start --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]' \
        --add-scram 'SCRAM-SHA-256=[name=bob,password=bob-secret]' \
        -o authorizer.class.name=brook -o 'super.users=User:alice;User:ANONYMOUS' "$@"
}

# acl_allow USER OP TYPE NAME [OP TYPE NAME...]: one CreateAcls (kafka-python)
# allowing User:USER each OP (READ, DESCRIBE...) on the resource of TYPE (TOPIC,
# GROUP...) called NAME, from any host; false when the broker refuses any of them.
acl_allow() {
    $PY - "$BROKER" "$@" <<'PY'
import sys
from kafka.admin import (KafkaAdminClient, ACL, ACLOperation, ACLPermissionType,
                         ResourcePattern, ResourceType)
broker, user, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
if not rest or len(rest) % 3:
    sys.exit("acl_allow USER OP TYPE NAME [OP TYPE NAME...]")
acls = [ACL("User:" + user, "*", ACLOperation[op], ACLPermissionType.ALLOW,
            ResourcePattern(ResourceType[kind], name))
        for op, kind, name in zip(rest[0::3], rest[1::3], rest[2::3])]
a = KafkaAdminClient(bootstrap_servers=broker)
r = a.create_acls(acls)
a.close()
sys.exit(1 if r["failed"] else 0)
PY
}

# fuse_start NAME: another brookd, with the console and its FUSE view mounted on
# a new directory FUSE_MNT, inside a private mount namespace and for at most
# 300 s; sets FUSE_PID (brookd itself, for nsenter -t), C and BROKER. Where this
# machine cannot mount, prints "skip - NAME: why" and returns 1. fuse_stop (call
# it either way) stops that brookd and removes FUSE_MNT.
fuse_start() {
    local name=$1
    FUSE_PID="" FUSE_WRAP="" FUSE_MNT=""
    [ -e /dev/fuse ] || { echo "skip - $name: no /dev/fuse"; return 1; }
    if ! command -v unshare >/dev/null || ! command -v nsenter >/dev/null; then
        echo "skip - $name: unshare/nsenter missing"
        return 1
    fi
    FUSE_MNT=$(mktemp -d "${TMPDIR:-/tmp}/brook-mnt-XXXXXX")
    timeout 300 unshare -m --propagation private "$BROOKD" -d "$T/fusedata" -l 127.0.0.1:0 \
        --console 127.0.0.1:0 -m "$FUSE_MNT" >"$T/fuse.log" 2>&1 &
    FUSE_WRAP=$! # timeout's pid; unshare execs brookd as its child
    wait_until 20 grep -qs 'brookd ready' "$T/fuse.log" && FUSE_PID=$(pgrep -P "$FUSE_WRAP" | head -1)
    if [ -z "$FUSE_PID" ]; then
        echo "skip - $name: brookd -m did not start: $(tail -1 "$T/fuse.log")"
        return 1
    fi
    if ! wait_until 10 grep -q " $FUSE_MNT " "/proc/$FUSE_PID/mountinfo"; then
        echo "skip - $name: brookd -m did not mount $FUSE_MNT (no FUSE view in this build)"
        return 1
    fi
    C=http://127.0.0.1:$(grep -oE 'console on 127\.0\.0\.1:[0-9]+' "$T/fuse.log" | cut -d: -f2)
    BROKER=127.0.0.1:$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$T/fuse.log" | cut -d: -f2)
}

fuse_stop() {
    [ -n "${FUSE_WRAP:-}" ] || return 0
    kill -TERM "$FUSE_WRAP" 2>/dev/null # timeout passes it on to brookd
    timeout 30 tail --pid="$FUSE_WRAP" -f /dev/null || kill -9 ${FUSE_PID:+"$FUSE_PID"} "$FUSE_WRAP" 2>/dev/null
    wait "$FUSE_WRAP" 2>/dev/null
    rmdir "$FUSE_MNT" 2>/dev/null
    FUSE_WRAP=""
}
