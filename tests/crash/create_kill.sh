#!/usr/bin/env bash
# create_kill.sh - topics answered created survive a kill -9 that follows at once.
#
# One CreateTopics of 1 000 topics (2 000 partitions); brookd gets SIGKILL as soon
# as the answer is read, restarts on the same data (recovery after a crash), and
# every topic must be listed with its partitions and take a record (acks=-1) at
# offset 0 in a partition whose directory the creation never made. (Power failures
# at the same point: tests/unit/test_powerloss.c's
# test_batch_creation_survives_power_failure.)
. "$(dirname "$0")/../lib.sh"
N=1000
CK="$ROOT/tests/crash/create_kill.py"
ck() { timeout -k 5 120 "$PY" "$CK" "$@"; }

brookd_start || exit 1
made=$(ck create "$PORT" $N)
brookd_kill
if [ "$made" = "$N" ]; then ok "create_kill: $N topics answered created"; else
    fail "create_kill: $N topics answered created" "$made"
fi
brookd_start || exit 1
got=$(ck check "$PORT" $N)
if [ "$got" = "listed $N written $N" ]; then ok "create_kill: all listed and writable after kill -9"; else
    fail "create_kill: all listed and writable after kill -9" "$got"
fi
brookd_stop
