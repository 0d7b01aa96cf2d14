#!/usr/bin/env bash
# The console's records views and transactions: GET .../messages is
# read_committed by default (committed records only, up to the last stable
# offset); isolation=read_uncommitted shows aborted and open records and the
# markers, each marked; a bad isolation is a 400.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/helpers.bash"
BR="timeout -k 10 60 $ROOT/$BUILD/brook"
TC="timeout -k 10 60 $ROOT/$BUILD/tests/integration/txn_client"

console_start || { fail "console txn: brookd starts"; exit 1; }
export BROOK_BROKERS=$BROKER
$BR topic create tx -p 1 >/dev/null
echo plain | $BR produce tx -p 0
$TC "$BROKER" tx abort 2 c-1 >/dev/null
$TC "$BROKER" tx commit 1 c-1 >/dev/null
coproc OPEN { $TC "$BROKER" tx open 1 c-2; }
for _ in 1 2 3 4; do read -r -t 30 line <&"${OPEN[0]}"; done
check "a transaction is open ($line)" [ "$line" = open ]

# offsets: plain 0, abort-0 1, abort-1 2, ABORT 3, commit-0 4, COMMIT 5, open-0 6
req GET '/api/v1/topics/tx/messages?offset=0'
check "messages default to read_committed: committed records only" \
    [ "$STATUS" = 200 -a "$(jget '[m["value"] for m in d["messages"]]')" = "['plain', 'commit-0']" ]
check "the answer says its isolation and ends at the last stable offset" \
    [ "$(jget 'd["isolation"], d["partitions"][0]["end_offset"]')" = "('read_committed', 6)" ]
req GET '/api/v1/topics/tx/messages'
check "newest (read_committed) shows no aborted or open record" \
    [ "$(jget 'sorted(m["value"] for m in d["messages"])')" = "['commit-0', 'plain']" ]
req GET '/api/v1/topics/tx/messages?offset=0&isolation=read_uncommitted'
want="[(0, None, None), (1, 'aborted', None), (2, 'aborted', None), (3, None, 'abort'), (4, 'committed', None), (5, None, 'commit'), (6, 'open', None)]"
got=$(jget '[(m["offset"], m.get("txn"), m.get("control")) for m in d["messages"]]')
check "read_uncommitted marks aborted, committed and open records, and the markers" \
    [ "$got" = "$want" ]
check "read_uncommitted ends at the high watermark" \
    [ "$(jget 'd["partitions"][0]["end_offset"]')" = 7 ]
check "markers name their producer and carry no key or value" \
    [ "$(jget '[(m["producer_id"] >= 0, m["key"], m["value"]) for m in d["messages"] if "control" in m]')" = \
      "[(True, None, None), (True, None, None)]" ]
req GET '/api/v1/topics/tx/messages?isolation=dirty'
check "a bad isolation is a 400 with a JSON error" is_error 400

# many aborted transactions (more than a scan first asks the index for)
$BR topic create many -p 1 >/dev/null
$TC "$BROKER" many aborts 150 c-3 >/dev/null
check "150 transactions aborted" [ $? -eq 0 ]
req GET '/api/v1/topics/many/messages?offset=0&limit=1000'
check "read_committed shows none of them" [ "$(jget 'len(d["messages"])')" = 0 ]
req GET '/api/v1/topics/many/messages?offset=0&limit=1000&isolation=read_uncommitted'
check "read_uncommitted marks all 150 records aborted, each followed by its ABORT marker" \
    [ "$(jget '[(m.get("txn"), m.get("control")) for m in d["messages"]] == [("aborted", None), (None, "abort")] * 150')" = True ]

exec {OPEN[1]}>&-
wait "$OPEN_PID"
check "the open transaction commits" [ $? -eq 0 ]
req GET '/api/v1/topics/tx/messages?offset=0'
check "once committed, read_committed shows its record" \
    [ "$(jget '[m["value"] for m in d["messages"]]')" = "['plain', 'commit-0', 'open-0']" ]
brookd_stop
