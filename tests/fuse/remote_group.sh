#!/usr/bin/env bash
# remote_group.sh - `brook mount --group G` with brookd as the cluster: a
# partition's follow starts at G's committed offset and commits what its reader
# took (head -n K commits exactly K); a second reader as G goes on at K, through
# the records that exist into new ones; with nothing committed a reader sees
# only new records (auto.offset.reset=latest); data ignores the group; while G
# has active members the commit is refused, the reader still reads and the
# mount's log says why; an open follow commits while it is read.
source "$(dirname "$0")/lib.bash"
fuse_setup "$@"
source tests/fuse/remote.bash

M=$T/mnt
mkdir -p "$T/data"
timeout -k 5 300 "$BUILD/brookd" -d "$T/data" -l 127.0.0.1:0 --console off 2>>"$T/harness.log" &
HPID=$!
for ((i = 0; i < 300; i++)); do
    grep -q 'brookd ready' "$T/harness.log" && break
    sleep 0.05
done
PORT=$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$T/harness.log" | tail -1 | cut -d: -f2)
B=127.0.0.1:$PORT
G=readers
t "$BROOK" -b "$B" topic create g -p 1 >/dev/null
t "$BROOK" -b "$B" topic create late -p 1 >/dev/null
seq 0 9 | sed 's/^/r-/' | t kcat -P -b "$B" -t g
seq 0 4 | sed 's/^/old-/' | t kcat -P -b "$B" -t late
t "$BROOK" -b "$B" group seek "$G" -o 2 -t g >/dev/null

committed() { # committed TOPIC: G's committed offset of TOPIC's partition 0
    t "$BROOK" -b "$B" group describe "$G" | awk -v t="$1" '$2 == t && $3 == 0 { print $4 }'
}
# committed_is TOPIC N: G's committed offset becomes N (RELEASE reaches the
# mount after close() returned: bounded wait, at most 10 s)
committed_is() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(committed "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
produce() { echo "$2" | t kcat -P -b "$B" -t "$1"; }
# reader OUT N FILE: head -n N of FILE in the background (READER is its pid)
reader() {
    timeout 30 head -n "$2" "$3" >"$1" &
    READER=$!
}
# feed TOPIC PREFIX: produce PREFIX-1, PREFIX-2, ... until READER exits (bounded)
feed() {
    local i
    for ((i = 1; i <= 100; i++)); do
        kill -0 "$READER" 2>/dev/null || break
        produce "$1" "$2-$i"
        sleep 0.1
    done
    wait "$READER"
}

if ! mount_start "$M" --group "$G"; then
    not_ok "group: brook mount --group comes up"
    exit 1
fi
ok "group: brook mount --group comes up"

t head -n 4 "$M/g-0/follow" >"$T/first"
check "group: follow starts at the group's committed offset (2)" \
    cmp "$T/first" <(printf 'r-%s\n' 2 3 4 5)
check "group: closing follow after head -n 4 commits offset 6" \
    committed_is g 6

reader "$T/second" 5 "$M/g-0/follow"
produce g new-1
wait "$READER"
check "group: a second reader as the group gets records 6..9 then a new one" \
    cmp "$T/second" <(printf '%s\n' r-6 r-7 r-8 r-9 new-1)
check "group: ... and commits after them (11)" committed_is g 11
check "group: data ignores the group (starts at the first record)" \
    sh -c "timeout 30 head -n 1 '$M/g-0/data' | grep -qx r-0"

reader "$T/late" 1 "$M/late-0/follow"
feed late new
check "group: with nothing committed a reader sees only new records (latest)" \
    grep -qx 'new-[0-9]*' "$T/late"
took=$(sed -n 's/^new-//p' "$T/late")   # new-J is offset 4+J
check "group: ... and commits after the one it took ($((5 + ${took:-0})))" \
    committed_is late $((5 + ${took:-0}))

# a member of the group (kcat's balanced consumer, of the other topic so that
# its own commits leave g alone): the mount's commits are refused, its reader
# reads on
timeout -k 5 60 kcat -C -b "$B" -G "$G" -q late >/dev/null 2>&1 &
KCAT=$!
for ((i = 0; i < 200; i++)); do # at most 10 s
    grep -q "group $G: generation .* is stable" "$T/harness.log" && break
    sleep 0.05
done
# a reader that holds follow open while the member is there (one read is one
# record), closing it once told to
timeout 30 $PY -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
with open(sys.argv[2], "wb") as f:
    f.write(os.read(fd, 65536))
for _ in range(300):
    if os.path.exists(sys.argv[2] + ".close"):
        break
    time.sleep(0.05)
os.close(fd)' "$M/g-0/follow" "$T/member" &
READER=$!
produce g during-1
logged() {
    grep -q "Cannot commit offset 12 of g-0 to group $G: the group has active members" "$T/mount.log"
}
for ((i = 0; i < 100; i++)); do # the committer tries after a second (at most 10 s)
    logged && break
    sleep 0.1
done
check "group: with an active member the reader still reads (from 11)" \
    cmp "$T/member" <(echo during-1)
check "group: ... the mount's log says why its commit failed" logged
check "group: ... the commit is refused (still 11: $(committed g))" test "$(committed g)" = 11
kill "$KCAT" 2>/dev/null
wait "$KCAT" 2>/dev/null
touch "$T/member.close"
wait "$READER"
check "group: once the member left, closing that reader commits 12" committed_is g 12
check "group: ... and the refusal was logged once" \
    test "$(grep -c 'Cannot commit offset' "$T/mount.log")" = 1

# a reader that keeps follow open commits as it goes (at most once a second)
timeout 30 cat "$M/g-0/follow" >"$T/live" &
CAT=$!
for v in live-1 live-2 live-3; do produce g "$v"; done
for ((i = 0; i < 100; i++)); do # at most 10 s
    [ "$(committed g)" = 15 ] && break
    sleep 0.1
done
check "group: an open follow commits while it is read (15: $(committed g))" \
    sh -c "[ '$(committed g)' = 15 ] && kill -0 $CAT"
check "group: ... having read from the committed offset on" \
    cmp "$T/live" <(printf '%s\n' live-1 live-2 live-3)
kill "$CAT" 2>/dev/null
wait "$CAT" 2>/dev/null

check "group: SIGTERM unmounts cleanly" mount_stop
[ "$FAILED" = 0 ]
