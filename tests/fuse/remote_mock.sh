#!/usr/bin/env bash
# remote_mock.sh - `brook mount` of librdkafka's mock cluster with 3 brokers
# (tests/fuse/mockcluster.c): the same checks as against brookd (echo >> and
# kcat agree, kcat -P and cat agree, tail -f and follow are prompt, Ctrl-C ends
# a parked follow), plus what only several brokers show: leaders moving while
# lines are appended lose and duplicate nothing; the leader's broker taken
# down makes appends fail with EIO within the delivery timeout, and they work
# again once it is back.
source "$(dirname "$0")/lib.bash"
fuse_setup "$@"
source tests/fuse/remote.bash

MOCK=${MOCK:-$BUILD/tests/fuse/mockcluster} # librdkafka is not built for sanitizers
if [ ! -x "$MOCK" ]; then
    echo "not ok - remote mock: $MOCK is not built"
    exit 1
fi
mkfifo "$T/mock.in"
timeout -k 5 700 "$MOCK" 3 <"$T/mock.in" >"$T/mock.out" 2>>"$T/harness.log" &
HPID=$!
exec 7>"$T/mock.in" # held open: the cluster lives until the script ends
NCMD=0
mock() { # mock COMMAND...: one command to the cluster, waits for its answer
    NCMD=$((NCMD + 1))
    echo "$*" >&7
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(grep -cE '^(ok|error)$' "$T/mock.out")" -ge "$NCMD" ] && break
        sleep 0.05
    done
    [ "$(grep -E '^(ok|error)$' "$T/mock.out" | sed -n "${NCMD}p")" = ok ]
}
for ((i = 0; i < 200; i++)); do
    grep -q '^bootstrap ' "$T/mock.out" && break
    sleep 0.05
done
B=$(sed -n 's/^bootstrap //p' "$T/mock.out")
FIRST=${B%%,*} # broker 1
TOPIC=orders
ONE=solo
check "remote mock: the cluster has 3 brokers" test "$(echo "$B" | tr , '\n' | wc -l)" = 3
mock topic "$TOPIC" 4
mock topic "$ONE" 1
mock leader "$ONE" 0 1 # kafka_probe produces to the first broker
for p in 0 1 2 3; do mock leader "$TOPIC" "$p" $((p % 3 + 1)); done

M=$T/mnt
if ! mount_start "$M" -X fetch.max.wait.ms=10; then # the mock answers no fetch before its wait is over
    not_ok "remote mock: brook mount comes up"
    cat "$T/mount.log"
    exit 1
fi
ok "remote mock: brook mount comes up"
ONE_B=$FIRST remote_common "$M"

# leaders move while lines are appended: nothing lost, nothing twice
$PY - "$M/$TOPIC" >"$T/moving.err" 2>&1 <<'EOF' &
import os, sys
for i in range(1, 301):
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"moving-%d\n" % i)
    os.close(fd)  # acknowledged by the cluster when this returns
EOF
WPID=$!
moves=0
for round in 1 2 3 4 5 6; do
    for p in 0 1 2 3; do
        mock leader "$TOPIC" "$p" $(((p + round) % 3 + 1)) && moves=$((moves + 1))
    done
    sleep 0.1 # let appends go on between moves
done
wait "$WPID"
wrc=$?
check "remote mock: 300 appends while leaders moved $moves times all succeed" \
    sh -c "[ $wrc = 0 ] && [ $moves -ge 20 ] && ! test -s '$T/moving.err'"
check "remote mock: kcat reads each of them exactly once" \
    diff <(kcat_values "$TOPIC" | grep '^moving-') <(lines moving 300)
check "remote mock: cat of the topic file shows each exactly once" \
    diff <(t cat "$M/$TOPIC" | grep '^moving-' | sort) <(lines moving 300)

# the leader's broker down: appends fail with EIO within the delivery timeout
mock leader "$ONE" 0 2
mock down 2
t0=$(now)
t $PY -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.write(fd, b"lost\n")
os.close(fd)' "$M/$ONE-0/data" 2>"$T/eio.err"
rc=$?
took=$(elapsed "$t0" "$(now)")
echo "# mock: append with the leader's broker down failed after ${took} s"
check "remote mock: with the leader's broker down close() of an append fails with EIO (${took} s)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'Input/output error' '$T/eio.err'"
check "remote mock: ... within the delivery timeout and a margin (${took} s < 8 s)" \
    awk -v s="$took" 'BEGIN { exit !(s < 8) }'
check "remote mock: what is indexed still stats while the broker is down" \
    sh -c "timeout 30 stat -c %s '$M/$TOPIC' >/dev/null"
mock up 2
ok_again=0
for i in $(seq 40); do
    if t sh -c "echo back-$i >> '$M/$ONE-0/data'" 2>/dev/null; then
        ok_again=$i
        break
    fi
    sleep 0.25
done
check "remote mock: appends work again once the broker is back" test "$ok_again" -gt 0
check "remote mock: the line appended then is there once, the failed one never" \
    sh -c "v=\$(timeout 30 kcat -C -b '$B' -t '$ONE' -e -q -f '%s\n'); \
           [ \"\$(echo \"\$v\" | grep -cx back-$ok_again)\" = 1 ] && ! echo \"\$v\" | grep -qx lost"
check "remote mock: SIGTERM unmounts cleanly" mount_stop
exec 7>&-
[ "$FAILED" = 0 ]
