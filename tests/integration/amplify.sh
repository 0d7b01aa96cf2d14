#!/usr/bin/env bash
# The response-amplification pass: for each API, the request with the
# most response per request byte, against a live brookd under tests/guard.py
# (tests/integration/amplify.py). The cases of the non-group APIs share one
# brookd; each group API's case gets a fresh brookd and data directory, so that
# one broker taken down does not hide how the others fare.
. "$(dirname "$0")/../lib.sh"
AMP=$ROOT/tests/integration/amplify.py
case $BUILD in */san | san) export AMPLIFY_SANITIZED=1 ;; esac # RSS bound x2 (ASan's redzones)

run() { # run CASE... against a fresh brookd
    rm -rf "$DATA"
    brookd_start -o socket.request.max.bytes=104857600 || { fail "amplify $*: brookd starts"; return; }
    tool "amplify.py $*" timeout 600 python3 "$AMP" "$BROKER" "$BROOKD_PID" "$BROOKD_LOG" "$@"
    brookd_stop
    check "amplify $*: brookd stops cleanly afterwards" [ $? -eq 0 ]
}

mapfile -t core < <(python3 "$AMP" --list core)
run "${core[@]}"
for c in $(python3 "$AMP" --list groups); do
    run "$c"
done
