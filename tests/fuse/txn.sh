#!/usr/bin/env bash
# txn.sh - the mounted files are read_committed: while a transaction is open, cat
# of the topic file, data and records show exactly the committed records (and
# st_size ends before the open batch); after an abort they still do, and a reader
# that had read to the end goes on with what follows without seeing any byte
# before its position change; after a commit the transaction's records appear.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt
mkdir -p "$M"
if ! daemon_start "$D" "$M" -o num.partitions=1; then
    not_ok "fuse txn: daemon starts"
    exit 1
fi
TC="$BUILD/tests/integration/txn_client"
t touch "$M/tx"
t sh -c "echo before >> '$M/tx'"

# a transaction held open by the client until its stdin closes
coproc OPEN { t "$TC" "$BROKER" tx open 3 fuse-1; }
for _ in 1 2 3 4; do read -r -t 30 line <&"${OPEN[0]}"; done
check "the transaction is open ($line)" [ "$line" = open ]
check "while it is open, cat of the topic shows only the committed line" \
    [ "$(t cat "$M/tx")" = before ]
check "so does the partition's data file" [ "$(t cat "$M/tx-0/data")" = before ]
check "st_size ends before the open transaction" [ "$(t stat -c %s "$M/tx")" = 7 ]
check "records shows one line, the committed record" \
    sh -c "[ \"\$(timeout 30 cat '$M/tx-0/records' | wc -l)\" = 1 ] &&
           timeout 30 cat '$M/tx-0/records' | grep -q '\"before\"'"

# a reader that has read to the end keeps its file open across the commit, and
# cat of follow waits at the end of the committed records
exec 7<"$M/tx"
head -c 7 <&7 >"$T/first"
t cat "$M/tx-0/follow" >"$T/follow.out" &
fpid=$!
exec {OPEN[1]}>&-
wait "$OPEN_PID"
check "the transaction commits" [ $? -eq 0 ]
for ((i = 0; i < 2000; i++)); do
    [ "$(wc -l <"$T/follow.out")" -ge 4 ] && break
    read -r -t 0.01 <>/dev/null 2>/dev/null || true
done
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
check "follow shows the committed line, then the transaction's records once it commits" \
    [ "$(tr '\n' , <"$T/follow.out")" = "before,open-0,open-1,open-2," ]
check "after the commit the open reader goes on with exactly its records" \
    [ "$(t cat <&7 | tr '\n' ,)" = "open-0,open-1,open-2," ]
exec 7<&-
check "and cat shows everything in append order" \
    [ "$(t cat "$M/tx" | tr '\n' ,)" = "before,open-0,open-1,open-2," ]

# an aborted transaction: its bytes never appear; what follows keeps its place
t "$TC" "$BROKER" tx abort 2 fuse-2 >/dev/null
check "an aborted transaction's records never appear" \
    [ "$(t cat "$M/tx" | tr '\n' ,)" = "before,open-0,open-1,open-2," ]
size=$(t stat -c %s "$M/tx")
t sh -c "echo after >> '$M/tx'"
check "a line appended after the abort is at the position after the aborted bytes" \
    [ "$(t tail -c +$((size + 1)) "$M/tx")" = after ]
check "cat shows the committed lines only, in order" \
    [ "$(t cat "$M/tx" | tr '\n' ,)" = "before,open-0,open-1,open-2,after," ]
check "records never shows aborted records" \
    sh -c "! timeout 30 cat '$M/tx-0/records' | grep -q abort-"
daemon_stop
