# tests/lib.sh - shared shell helpers for the integration suites.
#
# Source it from a test script. It gives:
#   ok NAME / fail NAME [why]      one TAP-like line each ("ok - NAME", "not ok - NAME")
#   check NAME CMD...              ok or fail on CMD's exit status
#   brookd_start [ARGS...]         start brookd on 127.0.0.1:0 with a temporary data dir,
#                                  wait for its ready line; sets BROOKD_PID, PORT, BROKER,
#                                  DATA (reused across restarts), BROOKD_LOG
#   brookd_stop                    SIGTERM and wait (bounded); returns brookd's status
#   brookd_kill                    SIGKILL and wait
#   listener_port NAME             the port listener NAME is bound to (from BROOKD_LOG's
#                                  "listener NAME (PROTOCOL) on HOST:PORT" line)
# Every wait is bounded; nothing sleeps to synchronise.
set -u
BUILD=${BUILD:-build}
ROOT=${BROOK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BROOKD=$ROOT/$BUILD/brookd
T=$(mktemp -d "${TMPDIR:-/tmp}/brook-it-XXXXXX")
DATA=$T/data
BROOKD_PID=
_cleanup() {
    [ -n "$BROOKD_PID" ] && kill -9 "$BROOKD_PID" 2>/dev/null
    rm -rf "$T"
}
trap _cleanup EXIT

ok() { echo "ok - $1"; }
fail() { echo "not ok - $1${2:+: $2}"; }
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}

# Run a test program that prints its own ok/not ok lines; a non-zero exit without
# them (a crash, a timeout, a missing binary) still counts as a failure.
tool() {
    local name=$1 rc
    shift
    "$@"
    rc=$?
    [ $rc -eq 0 ] || fail "$name exited with status $rc"
}

# Wait (at most $2 seconds, default 10) until the file $1 contains the regex $3.
wait_for_line() {
    local file=$1 secs=${2:-10} re=$3 i
    for ((i = 0; i < secs * 100; i++)); do
        grep -qE "$re" "$file" 2>/dev/null && return 0
        kill -0 "$BROOKD_PID" 2>/dev/null || return 1
        read -r -t 0.01 <>/dev/null 2>/dev/null || true
    done
    return 1
}

brookd_start() {
    BROOKD_LOG=$T/brookd.$((${BROOKD_STARTS:-0} + 1)).log
    BROOKD_STARTS=$((${BROOKD_STARTS:-0} + 1))
    # BROOKD_ARGS: options every start takes (e.g. -o num.network.threads=4), before the script's own
    # shellcheck disable=SC2086
    "$BROOKD" -d "$DATA" -l 127.0.0.1:0 --console off ${BROOKD_ARGS:-} "$@" >"$BROOKD_LOG" 2>&1 &
    BROOKD_PID=$!
    if ! wait_for_line "$BROOKD_LOG" 20 'brookd ready'; then
        echo "brookd did not start:" >&2
        cat "$BROOKD_LOG" >&2
        return 1
    fi
    PORT=$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$BROOKD_LOG" | head -1 | cut -d: -f2)
    BROKER=127.0.0.1:$PORT
}

listener_port() {
    grep -oE "listener $1 \([A-Z_]+\) on [^ ]+:[0-9]+" "$BROOKD_LOG" | head -1 | grep -oE '[0-9]+$'
}

brookd_stop() {
    [ -n "$BROOKD_PID" ] || return 0
    kill -TERM "$BROOKD_PID" 2>/dev/null
    local st=0
    timeout 30 tail --pid="$BROOKD_PID" -f /dev/null || { kill -9 "$BROOKD_PID"; st=99; }
    wait "$BROOKD_PID" || st=$?
    BROOKD_PID=
    return $st
}

brookd_kill() {
    [ -n "$BROOKD_PID" ] || return 0
    kill -9 "$BROOKD_PID" 2>/dev/null
    wait "$BROOKD_PID" 2>/dev/null
    BROOKD_PID=
}

# Debian's python3 with the kafka module (the python3 first on PATH may not see it).
PY=/usr/bin/python3
