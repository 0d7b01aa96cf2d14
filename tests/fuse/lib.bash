# tests/fuse/lib.bash - shared by the FUSE test scripts (sourced, not run: the
# test runner runs tests/fuse/*.sh, so this file is not named .sh).
#
# fuse_setup "$@" re-executes the calling script inside a private mount namespace
# (`unshare -m --propagation private`, so nothing leaks onto the host and a crashed
# daemon's mount dies with the namespace), or prints "skip - ..." and exits when
# there is no /dev/fuse or no right to unshare. Then:
#
#   daemon_start DIR MNT [brookd args]   start brookd with its topics mounted at MNT and
#                                    Kafka on a free port; wait for its "ready" line
#                                    and for MNT in /proc/self/mountinfo; sets PORT
#                                    and BROKER (127.0.0.1:PORT) for Kafka clients
#   daemon_stop                          SIGTERM, wait; returns the daemon's exit status
#   daemon_kill9                         kill -9 the daemon (leaves a stale mount)
#   t CMD...                         CMD under `timeout` (every FUSE command goes here)
#   check NAME CMD...                "ok - NAME" if CMD succeeds, else "not ok - NAME"
#   probe ARGS...                    tests/fuse/probe.py under timeout
#
# The daemon is brookd. Its log goes to $T/harness.log, printed when a script ends
# with failures.

set -uo pipefail
SCRIPT=$(readlink -f "$0")
cd "${BROOK_ROOT:-$(dirname "$SCRIPT")/../..}" || exit 1
BUILD=${BUILD:-build}
HARNESS=${FUSE_DAEMON:-$BUILD/brookd}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
FAILED=0
HPID=
T=

fuse_setup() {
    if [ ! -e /dev/fuse ]; then
        echo "skip - fuse: no /dev/fuse"
        exit 0
    fi
    if [ -z "${BROOK_FUSE_NS:-}" ]; then
        if ! timeout 10 unshare -m --propagation private true 2>/dev/null; then
            echo "skip - fuse: cannot unshare a mount namespace (needs root)"
            exit 0
        fi
        exec env BROOK_FUSE_NS=1 timeout -k 10 "${FUSE_SCRIPT_TIMEOUT:-800}" \
            unshare -m --propagation private bash "$SCRIPT" "$@"
    fi
    if [ ! -x "$HARNESS" ]; then
        echo "not ok - fuse: $HARNESS is not built"
        exit 1
    fi
    T=$(mktemp -d)
    : >"$T/harness.log"
    trap fuse_cleanup EXIT
}

fuse_cleanup() {
    if [ -n "$HPID" ]; then
        kill -TERM "$HPID" 2>/dev/null
        wait "$HPID" 2>/dev/null
    fi
    # whatever is still mounted under $T (a killed daemon's mount) goes lazily
    grep -o " $T/[^ ]*" /proc/self/mountinfo | while read -r m; do
        timeout 10 umount -l "$m" 2>/dev/null
    done
    if [ "$FAILED" != 0 ] && [ -f "$T/harness.log" ]; then
        echo "--- daemon log"
        cat "$T/harness.log"
    fi
    rm -rf "$T"
}

t() {
    timeout -k 5 "${CMD_TIMEOUT:-60}" "$@"
}

probe() {
    timeout -k 5 "${CMD_TIMEOUT:-60}" "$PY" tests/fuse/probe.py "$@"
}

probe_kafka() {
    timeout -k 5 "${CMD_TIMEOUT:-60}" "$PY" tests/fuse/kafka_probe.py "$@"
}

ok() {
    echo "ok - $1"
}

not_ok() {
    echo "not ok - $1"
    FAILED=$((FAILED + 1))
}

check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

mounted() {
    awk -v m="$1" '$5 == m && / - fuse/ { found = 1 } END { exit !found }' /proc/self/mountinfo
}

not_mounted() {
    ! mounted "$1"
}

# daemon_start DIR MNT [args]: brookd runs under timeout (bounded even if it hangs);
# its "ready" line names the Kafka port. Internal topics (__consumer_offsets) show
# in the mount like any other.
daemon_start() {
    local dir=$1 mnt=$2 log=$T/harness.log i
    shift 2
    local from=$(wc -l <"$log" 2>/dev/null || echo 0)
    timeout -k 5 "${DAEMON_TIMEOUT:-700}" "$HARNESS" -d "$dir" -m "$mnt" -l 127.0.0.1:0 \
        --console off "$@" 2>>"$log" &
    HPID=$!
    for ((i = 0; i < 3000; i++)); do # at most 30 s
        if tail -n +"$((from + 1))" "$log" | grep -q 'brookd ready'; then
            break
        fi
        kill -0 "$HPID" 2>/dev/null || break
        read -r -t 0.01 <>/dev/null 2>/dev/null || true
    done
    PORT=$(tail -n +"$((from + 1))" "$log" | grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' |
        head -1 | cut -d: -f2)
    BROKER=127.0.0.1:$PORT
    if [ -z "$PORT" ] || ! mounted "$mnt"; then
        echo "# brookd did not come up"
        return 1
    fi
}

daemon_stop() {
    local rc
    kill -TERM "$HPID"
    wait "$HPID"
    rc=$?
    HPID=
    return $rc
}

daemon_kill9() {
    local child
    child=$(pgrep -P "$HPID")
    kill -9 "$child"
    wait "$HPID" 2>/dev/null
    HPID=
}

# wait_for SECONDS CMD...: poll CMD every 0.05 s until it succeeds (bounded)
wait_for() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# seconds since the epoch with milliseconds, for rough timings
now() {
    date +%s.%N
}

elapsed() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}
