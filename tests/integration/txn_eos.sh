#!/usr/bin/env bash
# Exactly-once consume-transform-produce through brookd's transactions
# (tests/integration/txn_eos.c): the application is killed with SIGKILL in the middle
# of its transactions again and again, then - separately - brookd is; at the end the
# output topic holds exactly one result per input record under read_committed, and
# the group's committed offsets cover every input record.
#
# A kill waits for the application's progress marker ("open K": a transaction's
# records are delivered, its commit not yet asked for; the application holds it open
# HOLD_MS so that the kill lands inside it). Nothing sleeps to synchronise.
#
#   tests/integration/txn_eos.sh                  the short form of make test
#   TXN_EOS_LONG=1 tests/integration/txn_eos.sh   100 application kills, 20 of brookd,
#                                                 on 20 000 records
. "$(dirname "$0")/../lib.sh"
EOS=$ROOT/$BUILD/tests/integration/txn_eos
if [ -n "${TXN_EOS_LONG:-}" ]; then
    N=20000 APP_KILLS=100 BROOKD_KILLS=20
else
    N=2000 APP_KILLS=10 BROOKD_KILLS=4
fi
HOLD_MS=100
APP=

now_ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}

opens() { cat "$1" 2>/dev/null | grep -c '^open'; }

# wait (at most $3 s) until file $1 has more than $2 "open" lines; with $4 (a topic
# name), an application that exited with a fatal error is started again, at most
# MAX_RESTARTS times in a phase (a client may always meet one; whether brookd's
# restarts cause them is checked on its own)
RESTARTS=0 MAX_RESTARTS=0
wait_opens() {
    local file=$1 more=$2 secs=$3 name=${4:-} i rc
    for ((i = 0; i < secs * 100; i++)); do
        [ "$(opens "$file")" -gt "$more" ] && return 0
        if [ -n "$APP" ] && ! kill -0 "$APP" 2>/dev/null; then
            wait "$APP"
            rc=$?
            APP=
            [ -n "$name" ] && [ $rc -eq 3 ] && [ $RESTARTS -lt $MAX_RESTARTS ] || return 1
            RESTARTS=$((RESTARTS + 1))
            app_start "$name" "$file"
        fi
        read -r -t 0.01 <>/dev/null 2>/dev/null || true
    done
    return 1
}

app_start() { # NAME PROGRESS
    timeout -k 5 300 "$EOS" app "$BROKER" "$1" "$N" "$2" "$HOLD_MS" 2>>"$T/app.err" &
    APP=$!
}

app_kill() {
    local kid
    kid=$(pgrep -P "$APP")
    kill -9 $kid "$APP" 2>/dev/null
    wait "$APP" 2>/dev/null
    APP=
}

# wait for the application to finish; restart it (within the same bound) when it
# exits with a fatal error
app_finish() { # NAME PROGRESS
    local rc
    [ -n "$APP" ] || return 1
    while :; do
        wait "$APP"
        rc=$?
        APP=
        [ $rc -ne 3 ] || [ $RESTARTS -ge $MAX_RESTARTS ] && break
        RESTARTS=$((RESTARTS + 1))
        app_start "$1" "$2"
    done
    echo "# application restarts after a fatal error: $RESTARTS"
    return $rc
}

brookd_start || { fail "txn_eos: brookd starts"; exit 1; }
t0=$(now_ms)

# --- the application killed mid-transaction ---
check "txn_eos: $N input records" timeout 60 "$EOS" input "$BROKER" eos-a "$N" 3
P=$T/progress.a
mid=0
for ((k = 1; k <= APP_KILLS; k++)); do
    before=$(opens "$P")
    app_start eos-a "$P"
    if ! wait_opens "$P" "$((before + 1))" 60; then # one commit in each life, then a kill
        fail "txn_eos: the application makes progress before kill $k"
        break
    fi
    app_kill
    [ "$(tail -n 1 "$P" | cut -d' ' -f1)" = open ] && mid=$((mid + 1))
done
echo "# $APP_KILLS application kills, $mid of them inside a transaction"
check "txn_eos: the application kills landed inside transactions ($mid of $APP_KILLS)" \
    [ "$mid" -ge $((APP_KILLS * 8 / 10)) ]
app_start eos-a "$P"
check "txn_eos: the last incarnation of the application finishes" app_finish eos-a "$P"
tool "txn_eos check after application kills" timeout 120 "$EOS" check "$BROKER" eos-a "$N"
echo "# application-kill phase: $(($(now_ms) - t0)) ms"

# --- brookd killed mid-transaction ---
t0=$(now_ms)
check "txn_eos: $N more input records" timeout 60 "$EOS" input "$BROKER" eos-b "$N" 3
P=$T/progress.b
RESTARTS=0 MAX_RESTARTS=$((BROOKD_KILLS + 1)) # one per kill: the fencing is checked apart
: >"$T/app.err"
app_start eos-b "$P"
bmid=0
for ((k = 1; k <= BROOKD_KILLS; k++)); do
    before=$(opens "$P")
    if ! wait_opens "$P" "$((before + 1))" 60 eos-b; then
        fail "txn_eos: the application makes progress before brookd's kill $k"
        break
    fi
    brookd_kill
    [ "$(tail -n 1 "$P" | cut -d' ' -f1)" = open ] && bmid=$((bmid + 1))
    if ! brookd_start -l "$BROKER"; then
        fail "txn_eos: brookd comes back after kill -9 number $k"
        exit 1
    fi
done
echo "# $BROOKD_KILLS kills of brookd, $bmid of them inside a transaction"
check "txn_eos: the application finishes across brookd's kills" app_finish eos-b "$P"
tool "txn_eos check after brookd kills" timeout 120 "$EOS" check "$BROKER" eos-b "$N"
# brook aborts a transaction left Ongoing by a crash when it starts again (Kafka
# keeps it until its timeout): the producer of that transaction is fenced and the
# application starts again, at most once per brookd kill, and loses nothing
fenced=$(grep -c '_FENCED' "$T/app.err")
check "txn_eos: a brookd restart costs the application at most one restart ($RESTARTS restarts, $fenced fenced, $BROOKD_KILLS kills)" \
    [ "$RESTARTS" -le "$BROOKD_KILLS" ]
echo "# brookd-kill phase: $(($(now_ms) - t0)) ms"
[ -s "$T/app.err" ] && sort "$T/app.err" | uniq -c | sort -rn | head -n 5 | sed 's/^/# app: /'
brookd_stop
check "txn_eos: brookd stops cleanly" [ $? -eq 0 ]
