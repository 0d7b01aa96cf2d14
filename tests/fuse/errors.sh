#!/usr/bin/env bash
# errors.sh - everything the view refuses, and with which errno: non-append
# opens, truncation, renames and writes to read-only files get EPERM; bad topic
# names EINVAL; names colliding with a partition directory EEXIST; a line longer
# than max.message.bytes EFBIG, with nothing of it stored.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt
mkdir -p "$M"
# message.max.bytes=1000: the longest line is 930 bytes (61-byte batch header, a
# 9-byte record frame); num.partitions=4 so that x has partitions 0..3
if ! daemon_start "$D" "$M" -o num.partitions=4 -o message.max.bytes=1000; then
    not_ok "fuse errors: daemon starts"
    exit 1
fi
t touch "$M/x"
t sh -c "echo first >> '$M/x-0/data'"

expect() { # expect ERRNO NAME probe-args...
    local want=$1 name=$2 got
    shift 2
    got=$(probe "$@")
    if [ "$got" = "$want" ]; then ok "$name: $want"; else not_ok "$name: want $want, got $got"; fi
}

expect EPERM "open for writing without O_APPEND" errno open "$M/x" wronly
expect EPERM "open read-write without O_APPEND" errno open "$M/x-0/data" rdwr
expect EPERM "open with O_TRUNC" errno open "$M/x" wronly,append,trunc
expect OK "open with O_APPEND" errno open "$M/x" wronly,append
expect OK "open read-only" errno open "$M/x" rdonly
expect EPERM "truncate to 0" errno truncate "$M/x" 0
expect EPERM "truncate to grow" errno truncate "$M/x-0/data" 100
expect EPERM "rename a topic" errno rename "$M/x" "$M/y"
expect EPERM "rename a partition file" errno rename "$M/x-0/data" "$M/x-0/other"
expect EPERM "write to follow" errno open "$M/x-0/follow" wronly,append
expect EPERM "write to records" errno open "$M/x-0/records" wronly,append
expect EPERM "write to a segment file" errno open "$M/x-0/00000000000000000000.log" wronly,append
expect EPERM "write to an index file" errno open "$M/x-0/00000000000000000000.index" wronly,append
expect EPERM "mkdir" errno mkdir "$M/newdir"
expect EPERM "rmdir of a partition directory" errno rmdir "$M/x-1"
expect EPERM "symlink" errno symlink x "$M/link"
expect EPERM "hard link" errno link "$M/x" "$M/x2"
expect EPERM "unlink a partition file" errno unlink "$M/x-0/data"
expect EPERM "create a file in a partition directory" errno open "$M/x-0/new" wronly,creat
expect EPERM "chmod" errno chmod "$M/x" 600
check "the shell's > on an existing topic fails (Operation not permitted)" \
    t sh -c "sh -c 'echo y > $M/x' 2>&1 | grep -q 'Operation not permitted'"
check "refused writes stored nothing" [ "$(t cat "$M/x")" = first ]

expect EINVAL "touch a name with a space" errno mknod "$M/bad name"
expect EINVAL "touch a name with ':'" errno open "$M/a:b" wronly,creat
expect EINVAL "touch a 250-character name" errno mknod "$M/$(printf 'n%.0s' $(seq 250))"
# (249 is Kafka's limit, but the store keeps <name>.properties(.tmp) beside the data, so
# its longest workable name is 240 characters: see the report)
expect OK "touch a 240-character name" errno mknod "$M/$(printf 'n%.0s' $(seq 240))"
expect EEXIST "create x-3 while x has partition 3" errno open "$M/x-3" wronly,creat,excl
expect EEXIST "mknod x-3 while x has partition 3" errno mknod "$M/x-3"
t touch "$M/y-2"
expect EEXIST "create y while a topic y-2 exists (y would get partition 2)" \
    errno open "$M/y" wronly,creat
check "no topic y was made" t sh -c "[ ! -e '$M/y' ] && [ ! -e '$D/y-0' ]"
expect OK "create x-7 (x has partitions 0..3 only)" errno mknod "$M/x-7"
expect EEXIST "create an existing topic exclusively" errno open "$M/x" wronly,creat,excl

long930=$(printf 'a%.0s' $(seq 930))
long931=$(printf 'b%.0s' $(seq 931))
part894=$(printf 'c%.0s' $(seq 894))
part100=$(printf 'd%.0s' $(seq 100))
t touch "$M/big"
expect OK "a 930-byte line fits max.message.bytes=1000" write "$M/big-0/data" "$long930\n"
expect EFBIG "a 931-byte line does not" write "$M/big-0/data" "$long931\n"
expect OK,EFBIG,EFBIG,OK \
    "a line growing past the limit fails that write and the one with its rest; the next is stored" \
    write "$M/big-1/data" "start-$part894" "$part100" "tail\nnext\n" "after\n"
expect OK,EFBIG "a write holding an overlong line stores none of its lines" \
    write "$M/big-2/data" "ok\n" "ok2\n$long931\nok3\n"
check "nothing partial of an overlong line was ever stored" \
    t sh -c "[ \"\$(cat '$M/big-0/data')\" = '$long930' ] &&
             [ \"\$(cat '$M/big-1/data')\" = after ] && [ \"\$(cat '$M/big-2/data')\" = ok ]"
check "the records behind them are intact" \
    t sh -c "[ \$(jq -r .value '$M/big-0/records' | wc -c) = 931 ]"

check "rm of a topic that does not exist: ENOENT" \
    t sh -c "rm '$M/nonexistent' 2>&1 | grep -q 'No such file'"
check "SIGTERM unmounts cleanly" daemon_stop
if daemon_start "$D" "$M" -o delete.topic.enable=false; then
    expect EPERM "rm with delete.topic.enable=false" errno unlink "$M/x"
    check "the topic is still there" t test -f "$M/x"
    daemon_stop
else
    not_ok "daemon restarts with delete.topic.enable=false"
fi
