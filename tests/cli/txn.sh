#!/usr/bin/env bash
# Transactions through brook's own client: brook produce --transactional-id commits
# the whole input at its end and aborts it on a bad record; libbrook's
# transactional API commits, aborts, keeps a transaction open, is fenced by a
# second producer with the same id, and commits a group's offsets with the
# transaction; brook consume reads read_committed by default (--isolation
# read_uncommitted shows aborted and open records too, never the markers) and
# -e does not wait for an open transaction.
. "$(dirname "$0")/../lib.sh"
BR="timeout -k 10 60 $ROOT/$BUILD/brook"
TC="timeout -k 10 60 $ROOT/$BUILD/tests/integration/txn_client"

brookd_start || { fail "txn: brookd starts"; exit 1; }
export BROOK_BROKERS=$BROKER
$BR topic create tx -p 1 >/dev/null
$BR topic create txo -p 1 >/dev/null

# the CLI: one transaction per input
printf 'a\nb\nc\n' | $BR produce tx --transactional-id cli-1
check "produce --transactional-id commits the input" [ $? -eq 0 ]
check "consume (read_committed by default) shows it" \
    [ "$($BR consume tx -e | tr '\n' ,)" = "a,b,c," ]
big=$(head -c 4000 /dev/zero | tr '\0' x)
printf 'd\ne\n%s\n' "$big" | $BR -X max.request.size=1024 produce tx --transactional-id cli-1 \
    2>"$T/abort.err"
check "a record that cannot be sent fails the run and aborts its transaction" \
    [ $? -ne 0 ] && grep -q "transaction aborted" "$T/abort.err"
check "the aborted records are never read committed" \
    [ "$($BR consume tx -e | tr '\n' ,)" = "a,b,c," ]
check "--transactional-id with acks=1 is refused as a configuration error" \
    sh -c "echo x | $BR -X acks=1 produce tx --transactional-id cli-2 2>&1 | grep -q 'configuration'"
check "--isolation with a bad level is a usage error" \
    sh -c "! $BR consume tx -e --isolation dirty 2>/dev/null"

# the API: an aborted transaction whose records are in the log
$TC "$BROKER" tx abort 3 api-1 >"$T/abort.out"
check "brook_txn_abort after the records were written" [ $? -eq 0 ]
$TC "$BROKER" tx commit 2 api-1 >"$T/commit.out"
check "the same transactional id commits the next transaction" [ $? -eq 0 ]
check "read_committed: committed records only, in order" \
    [ "$($BR consume tx -e | tr '\n' ,)" = "a,b,c,commit-0,commit-1," ]
check "read_uncommitted: the aborted ones too, in order, no markers" \
    [ "$($BR consume tx -e --isolation read_uncommitted -f '%s,')" = \
      "a,b,c,abort-0,abort-1,abort-2,commit-0,commit-1," ]
check "offsets of read_committed records skip markers and aborted data" \
    [ "$($BR consume tx -e -f '%o,')" = "0,1,2,8,9," ]

# an open transaction: read_committed -e ends before it; it shows once committed
coproc OPEN { $TC "$BROKER" txo open 2 api-2; }
read -r -t 30 line <&"${OPEN[0]}"; read -r -t 30 line <&"${OPEN[0]}"
read -r -t 30 line <&"${OPEN[0]}"; read -r -t 30 line <&"${OPEN[0]}"
check "the transaction is open ($line)" [ "$line" = open ]
check "consume -e (read_committed) ends at once before the open transaction" \
    [ "$($BR consume txo -e | wc -c)" = 0 ]
check "consume --isolation read_uncommitted shows the open records" \
    [ "$($BR consume txo -e --isolation read_uncommitted | tr '\n' ,)" = "open-0,open-1," ]
exec {OPEN[1]}>&-
wait "$OPEN_PID"
check "the open transaction commits" [ $? -eq 0 ]
check "and then read_committed shows it" [ "$($BR consume txo -e | tr '\n' ,)" = "open-0,open-1," ]

# fencing
$TC "$BROKER" txo fence 1 api-3 >"$T/fence.out"
check "a second producer with the same id fences the first (BROOK_ERR_FENCED)" [ $? -eq 0 ]
grep -q "first commit: fenced" "$T/fence.out"
check "the fencing error says what happened" [ $? -eq 0 ]
check "only the second producer's transaction is read committed" \
    [ "$($BR consume txo -e | tr '\n' ,)" = "open-0,open-1,second-0," ]

# offsets in a transaction
$TC "$BROKER" txo offsets 4 api-4 >"$T/offsets.out"
check "send_offsets then commit" [ $? -eq 0 ]
check "the group's offset is committed with the transaction" \
    sh -c "$BR group describe txg | grep -qP '^txg\ttxo\t0\t4\t'"
brookd_stop
