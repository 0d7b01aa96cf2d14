#!/usr/bin/env bash
# loop.sh - the crash loop: brookd is killed with SIGKILL at random moments while
# Kafka producers and FUSE writers keep writing, and at the end every record any of
# them had acknowledged must be in the log, none corrupt, none out of order.
#
#   tests/crash/loop.sh                     the short run of `make test` (10 cycles)
#   CYCLES=100 tests/crash/loop.sh          the long run (`make crash CYCLES=100`)
#
# Knobs (environment): CYCLES, CRASH_SEED (replays the same kill moments),
# CRASH_RATE (records/s over all producers), CRASH_PRODUCERS, CRASH_WRITERS,
# CRASH_TIME_LIMIT (seconds for the whole run), CRASH_BROOKD_ARGS (more brookd
# arguments, e.g. "-o log.internal.segment.bytes=65536").
#
# How it goes:
# - brookd runs with its default durability (group commit: an acks=-1 produce and a
#   FUSE close() are answered after the fdatasync that covers them), 1 MiB segments
#   (so kills land around segment rolls too) and checkpoints every second (so they
#   land around checkpoint and producer-snapshot writes). It comes back on the same
#   port after each kill, so the producers are the same librdkafka instances for the
#   whole run and reconnect by themselves, as a real client would; half of them are
#   idempotent, which exercises InitProducerId and brook's producer state (rebuilt
#   from the snapshot and the log) across restarts; the others keep one request in
#   flight, so they may duplicate but never reorder. Each uses a different codec.
# - FUSE writers append one line per open/write/close to the topic file through
#   brookd's mount (-m), which lives in a private mount namespace (`unshare -m`); a
#   line counts when close() returned 0. While brookd is dead the mount answers
#   ENOTCONN and the writers retry the same line until it is acknowledged. Without
#   /dev/fuse the loop runs without them and says so with a skip line; where no
#   namespace can be had, the mount is made in the caller's namespace and taken
#   down at the end.
# - Kill moments: 0.2-5 s apart, drawn from a seed that is printed. The delay
#   between kills is the point of the test, not a synchronisation.
# - At the end the writers stop (producers flush, at most 60 s), brookd is killed
#   once more, so the last acknowledged records go through a recovery too, and
#   comes back; `kcat -L` must show the topic, then tests/crash/crashloop.c reads
#   every partition from its start to its high watermark over Kafka and checks it
#   against what was acknowledged (lost, corrupt, reordered: failures; duplicates and
#   unacknowledged-but-present records: counted), and that the FUSE topic file holds
#   the same records. Then SIGTERM must stop brookd cleanly.
# - brookd's own log must have no WARN or ERROR line, and every start after a kill
#   must report a recovery from an unclean shutdown that cut at most a torn tail (a
#   write the kill interrupted) and removed no segment (a hole in the log). Journal
#   entries dropped or rebuilt are counted; that the topic file matches Kafka's view
#   is what must hold.
# Figures (cycles, records, recovery time after a kill) are printed as "# ..." lines.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPT=$HERE/$(basename "$0")
FUSE=ns
if [ ! -e /dev/fuse ]; then
    FUSE=
elif [ -z "${BROOK_CRASH_NS:-}" ]; then
    if timeout 10 unshare -m --propagation private true 2>/dev/null; then
        exec env BROOK_CRASH_NS=1 unshare -m --propagation private bash "$SCRIPT" "$@"
    fi
    FUSE=host # no namespace: mount where we are, unmount at the end
fi
. "$HERE/../lib.sh"
CRASHLOOP=$ROOT/$BUILD/tests/crash/crashloop
CYCLES=${CYCLES:-10}
SEED=${CRASH_SEED:-$(($(date +%s%N) % 2147483648))}
if [ "$CYCLES" -le 10 ]; then RATE_DEFAULT=2000; else RATE_DEFAULT=8000; fi
RATE=${CRASH_RATE:-$RATE_DEFAULT}
PRODUCERS=${CRASH_PRODUCERS:-4}
WRITERS=${CRASH_WRITERS:-2}
LIMIT=${CRASH_TIME_LIMIT:-$((CYCLES * 8 + 240))}
TOPIC=crash
MNT=$T/mnt
ACKS=$T/acks
mkdir -p "$MNT" "$ACKS"
LOOP_ARGS=(-o log.segment.bytes=1048576 -o log.flush.offset.checkpoint.interval.ms=1000
    -o num.partitions=4 ${CRASH_BROOKD_ARGS:-})
[ -n "$FUSE" ] && LOOP_ARGS+=(-m "$MNT")
PROD= WRITE=

now_ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}
START=$(now_ms)
DEADLINE=$((START + LIMIT * 1000))

# SIGTERM the program a `timeout` wrapper ($1) runs, not the wrapper (which would
# follow it with a SIGCONT that can upset a sanitizer's exit-time checks)
stop_child() {
    local kid
    kid=$(pgrep -P "$1")
    kill -TERM "${kid:-$1}" 2>/dev/null
}

# SIGKILL a `timeout` wrapper and the program it runs (which would outlive it)
kill_wrapped() {
    local kid
    kid=$(pgrep -P "$1")
    kill -9 $kid "$1" 2>/dev/null
}

cleanup() {
    [ -n "$PROD" ] && kill_wrapped "$PROD"
    [ -n "$WRITE" ] && kill_wrapped "$WRITE"
    [ -n "$BROOKD_PID" ] && kill -9 "$BROOKD_PID" 2>/dev/null
    wait 2>/dev/null
    if [ "$FUSE" = host ]; then
        timeout 10 fusermount3 -u -z "$MNT" 2>/dev/null
    elif [ "$FUSE" = ns ]; then
        timeout 10 umount -l "$MNT" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# print the last lines of a file for a failure's diagnosis
show() {
    echo "# --- $1 (last lines)"
    tail -n 20 "$1" 2>/dev/null | sed 's/^/#   /'
}

median_max() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
                    printf "%s %s\n", v[int((NR + 1) / 2)], v[NR] }'
}

if [ -n "$FUSE" ]; then WHO="$WRITERS FUSE writers"; else WHO="no FUSE writers"; fi
echo "# seed $SEED (CRASH_SEED=$SEED replays these kill moments), $CYCLES cycles," \
    "$PRODUCERS producers at $RATE records/s, $WHO"
[ -z "$FUSE" ] && echo "skip - crash loop FUSE writers: no /dev/fuse"
RANDOM=$SEED

if ! brookd_start "${LOOP_ARGS[@]}"; then
    fail "crash loop: brookd starts"
    exit 1
fi
# the writers' own bound leaves them time to flush after the cycles' deadline
timeout -k 10 "$((LIMIT + 120))" "$CRASHLOOP" produce "$BROKER" "$TOPIC" "$ACKS" -n "$PRODUCERS" \
    -p 4 -r "$RATE" >"$T/produce.out" 2>"$T/produce.err" &
PROD=$!
if [ -n "$FUSE" ]; then
    for ((i = 0; i < 300; i++)); do # the producers create the topic: at most 30 s
        [ -e "$MNT/$TOPIC" ] && break
        read -r -t 0.1 <>/dev/null 2>/dev/null || true
    done
    timeout -k 10 "$((LIMIT + 120))" "$CRASHLOOP" fuse "$MNT/$TOPIC" "$ACKS" -n "$WRITERS" \
        >"$T/fuse.out" 2>&1 &
    WRITE=$!
fi

# the cycles: run for a random 0.2-5 s, kill -9, restart on the same port
cycles=0 alive=1
: >"$T/recovery.ms"
: >"$T/startup.ms"
for ((c = 1; c <= CYCLES; c++)); do
    ms=$((200 + (RANDOM * 32768 + RANDOM) % 4801))
    sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    if ! kill -0 "$PROD" 2>/dev/null || { [ -n "$WRITE" ] && ! kill -0 "$WRITE" 2>/dev/null; }; then
        alive=0
        break
    fi
    t0=$(now_ms)
    brookd_kill
    if ! brookd_start -l "$BROKER" "${LOOP_ARGS[@]}"; then
        fail "crash loop: brookd comes back after kill -9 number $c"
        show "$BROOKD_LOG"
        exit 1
    fi
    echo $(($(now_ms) - t0)) >>"$T/recovery.ms"
    sed -n 's/.*brookd ready in \([0-9.]*\) ms.*/\1/p' "$BROOKD_LOG" >>"$T/startup.ms"
    cycles=$c
    [ "$(now_ms)" -lt "$DEADLINE" ] || break
done
check "the producers and FUSE writers ran through every kill" [ "$alive" = 1 ]
check "the crash loop did its $CYCLES cycles within ${LIMIT} s ($cycles)" [ "$cycles" = "$CYCLES" ]
read -r rmed rmax < <(median_max <"$T/recovery.ms")
read -r smed smax < <(median_max <"$T/startup.ms")
echo "# $cycles kill -9 cycles; back on its port after a kill: median $rmed ms, max $rmax ms" \
    "(brookd's own start-up: median $smed ms, max $smax ms)"

# stop writing: producers flush what is still in flight against the live broker
[ -n "$WRITE" ] && stop_child "$WRITE"
stop_child "$PROD"
wait "$PROD"
prod_rc=$?
PROD=
if [ -n "$WRITE" ]; then
    wait "$WRITE"
    write_rc=$?
    WRITE=
    cat "$T/fuse.out"
    check "the FUSE writers stop and report" [ "$write_rc" = 0 ]
fi
cat "$T/produce.out"
if ! check "the producers stop and report" [ "$prod_rc" = 0 ]; then
    show "$T/produce.err"
fi

# once more, after the last acknowledgement: kill -9, restart, then check everything
brookd_kill
if ! brookd_start -l "$BROKER" "${LOOP_ARGS[@]}"; then
    fail "crash loop: brookd comes back after the last kill -9"
    show "$BROOKD_LOG"
    exit 1
fi
check "after the last restart kcat -L lists the topic with its 4 partitions" \
    sh -c "timeout 30 kcat -L -b '$BROKER' -t $TOPIC 2>&1 | grep -c 'partition [0-3],' | grep -qx 4"
t0=$(now_ms)
timeout -k 10 600 "$CRASHLOOP" check "$BROKER" "$TOPIC" "$ACKS" ${FUSE:+-f "$MNT/$TOPIC"}
check_rc=$?
[ $check_rc -le 1 ] || fail "crashloop check exited with status $check_rc"
echo "# the check took $(($(now_ms) - t0)) ms"
brookd_stop
check "SIGTERM then stops brookd cleanly" [ $? -eq 0 ]

# brookd's own log: a recovery after every kill that cut at most a torn tail (a
# write SIGKILL interrupted), and no warnings or errors
starts=$BROOKD_STARTS
cat "$T"/brookd.*.log | grep 'recovered after an unclean shutdown' >"$T/recoveries"
check "every start after a kill -9 reports recovering from an unclean shutdown" \
    [ "$(wc -l <"$T/recoveries")" -eq "$((starts - 1))" ]
read -r cut torn removed dropped rebuilt < <(sed -E 's/.* ([0-9]+) bytes of torn tail cut, ([0-9]+) segments removed; journal: ([0-9]+) entries dropped, ([0-9]+) rebuilt.*/\1 \2 \3 \4/' \
    "$T/recoveries" | awk '{ c += $1; t += ($1 > 0); r += $2; d += $3; b += $4 }
                           END { print c + 0, t + 0, r + 0, d + 0, b + 0 }')
echo "# recoveries: $torn of $((starts - 1)) cut a torn tail ($cut bytes in all);" \
    "journal entries dropped $dropped, rebuilt $rebuilt"
check "no recovery removed a segment (a hole in the log: $removed)" [ "$removed" = 0 ]
cat "$T"/brookd.*.log | grep -E '\] (WARN|ERROR) ' | sort | uniq -c | sort -rn | head -n 10 \
    >"$T/warnings"
check "brookd logged no warning or error over $starts starts" [ ! -s "$T/warnings" ]
sed 's/^/# /' "$T/warnings"
cat "$T"/brookd.*.log | grep 'recovered after an unclean shutdown' | tail -n 1 | sed 's/^/# last: /'
echo "# total time $((($(now_ms) - START) / 1000)) s"
