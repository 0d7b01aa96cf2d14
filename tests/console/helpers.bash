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
