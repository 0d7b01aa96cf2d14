#!/usr/bin/env bash
# remote.sh - `brook mount` with brookd as the remote cluster: appends and reads
# through the mount agree with kcat, tail -f and follow are prompt, Ctrl-C ends
# a parked follow, a broker taken down makes appends fail with EIO within the
# delivery timeout and work again when it returns (nothing appended twice),
# positions survive a remount (the index on disk), SIGTERM unmounts, a second
# mount over a live one is refused, a stale
# mount of a killed brook is cleaned at the next start, --read-only refuses
# changes, and when retention moves the log start the index is corrected:
# readers go on without repeats or torn lines, positions in live data hold.
source "$(dirname "$0")/lib.bash"
fuse_setup "$@"
source tests/fuse/remote.bash

M=$T/mnt
DATA=$T/data
mkdir -p "$DATA"
start_brookd() { # start_brookd [listen]: brookd without a mount of its own
    timeout -k 5 700 "$BUILD/brookd" -d "$DATA" -l "${1:-127.0.0.1:0}" --console off \
        2>>"$T/harness.log" &
    HPID=$!
    local i from=${2:-0}
    for ((i = 0; i < 300; i++)); do
        [ "$(grep -c 'brookd ready' "$T/harness.log")" -gt "${from:-0}" ] && break
        sleep 0.05
    done
    PORT=$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$T/harness.log" | tail -1 | cut -d: -f2)
    B=127.0.0.1:$PORT
}
start_brookd
TOPIC=orders
ONE=solo
t "$BROOK" -b "$B" topic create "$TOPIC" -p 3 >/dev/null
t "$BROOK" -b "$B" topic create "$ONE" -p 1 >/dev/null

if ! mount_start "$M"; then
    not_ok "remote: brook mount comes up"
    cat "$T/mount.log"
    exit 1
fi
ok "remote: brook mount comes up"
remote_common "$M"

# touch and rm go to the cluster
listed() { # (kcat -L -t would create the topic: the broker auto-creates)
    t kcat -L -b "$B" 2>/dev/null | grep -q "topic \"$1\" with [1-9]"
}
check "remote: touch creates a topic in the cluster" \
    sh -c "timeout 30 touch '$M/fresh'" && listed fresh
check "remote: rm deletes it" sh -c "timeout 30 rm '$M/fresh'" && ! listed fresh

# positions are kept on disk: a remount shows the same bytes at the same places
t cat "$M/$TOPIC" >"$T/before"
check "remote: SIGTERM unmounts cleanly (exit 0)" mount_stop
check "remote: the mountpoint is no longer mounted" not_mounted "$M"
check "remote: the index is kept in the cache directory" sh -c "ls '$T/cache' | grep -q '$TOPIC.idx'"
mount_start "$M"
check "remote: after a remount the topic file shows the same bytes" cmp "$T/before" <(t cat "$M/$TOPIC")

# a broker taken down: appends fail with EIO within the delivery timeout (4 s)
t cat "$M/$ONE" >/dev/null
kill -TERM "$HPID"
wait "$HPID"
t0=$(now)
t $PY -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.write(fd, b"lost\n")
os.close(fd)  # waits for the cluster: the error comes here' "$M/$ONE" 2>"$T/eio.err"
rc=$?
t1=$(now)
took=$(elapsed "$t0" "$t1")
echo "# append with the broker down failed after ${took} s: $(cat "$T/eio.err")"
check "remote: with the broker down close() of an append fails with EIO (${took} s)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'Input/output error' '$T/eio.err'"
check "remote: ... within the delivery timeout and a margin (${took} s < 8 s)" \
    awk -v s="$took" 'BEGIN { exit !(s < 8) }'
check "remote: stat of what is indexed still answers while the broker is down" \
    sh -c "timeout 30 stat -c %s '$M/$TOPIC' >/dev/null"
start_brookd "127.0.0.1:$PORT" 1
ok_again=0
for i in $(seq 40); do # the cluster is back: appends work again (bounded)
    if t sh -c "echo back-$i >> '$M/$ONE'" 2>/dev/null; then
        ok_again=$i
        break
    fi
    sleep 0.25
done
check "remote: appends work again once the broker is back" test "$ok_again" -gt 0
check "remote: the line appended then is there once, the failed one never" \
    sh -c "v=\$(timeout 30 kcat -C -b '$B' -t '$ONE' -e -q -f '%s\n'); \
           [ \"\$(echo \"\$v\" | grep -cx back-$ok_again)\" = 1 ] && ! echo \"\$v\" | grep -qx lost"

# a stale mount: kill -9 brook, then the next start cleans it up
mount_kill9
# (statfs: it always reaches the daemon, where stat may be answered from the
# kernel's cache of the root's attributes)
check "remote: a killed brook leaves a stale mount" sh -c "! stat -f '$M' >/dev/null 2>&1"
check "remote: the next brook mount cleans its stale mount and mounts" mount_start "$M"
check "remote: ... leaving one mount there, not a new one over the stale one" \
    test "$(awk -v m="$M" '$5 == m' /proc/self/mountinfo | wc -l)" = 1
check "remote: and shows the topic" sh -c "timeout 30 stat -c %s '$M/$TOPIC' 2>&1"
# a second brook mount over that live one (without the check it mounts over it
# and serves until the timeout ends it with 124)
timeout -k 5 20 "$BROOK" -b "$B" mount "$M" --cache-dir "$T/cache2" >"$T/second.out" 2>&1
rc=$?
check "remote: a second brook mount over the live one exits at once with 1 ($rc)" [ "$rc" -eq 1 ]
check "remote: ... saying a file system is mounted there already" \
    grep -q "cannot mount at $M: a file system is mounted there already" "$T/second.out"
check "remote: ... and the first one still serves, alone" sh -c \
    "timeout 30 test -s '$M/$TOPIC' && [ \$(awk -v m='$M' '\$5 == m' /proc/self/mountinfo | wc -l) = 1 ]"
check "remote: --read-only is not set here: writable" t test -w "$M/$TOPIC"
mount_stop

mount_start "$M" --read-only
check "remote: --read-only refuses appends with EROFS" \
    sh -c "timeout 30 sh -c \"echo x >> '$M/$TOPIC'\" 2>&1 | grep -q 'Read-only file system'"
check "remote: --read-only still reads" t test -s "$M/$TOPIC"
mount_stop

# the log start moves (retention on the cluster: 1 KiB segments, 4 KiB kept per
# partition): the index is corrected, positions stay, readers go on
kill -TERM "$HPID"
wait "$HPID"
DATA=$T/data2
mkdir -p "$DATA"
timeout -k 5 700 "$BUILD/brookd" -d "$DATA" -l 127.0.0.1:0 --console off \
    -o log.internal.segment.bytes=1024 -o log.retention.bytes=4096 \
    -o log.retention.check.interval.ms=100 2>>"$T/harness.log" &
HPID=$!
for ((i = 0; i < 300; i++)); do
    [ "$(grep -c 'brookd ready' "$T/harness.log")" -ge 3 ] && break
    sleep 0.05
done
B=127.0.0.1:$(grep -oE 'kafka on 127\.0\.0\.1:[0-9]+' "$T/harness.log" | tail -1 | cut -d: -f2)
late_lines() { # 200 lines of about 100 bytes: 20 segments of 1 KiB
    seq -f 'late-%g' 1 200 | awk '{ printf "%s-%090d\n", $0, 0 }'
}
all_lines() {
    seq -f 'early-%g' 1 20
    late_lines
}
retention_done() { # the first segment is gone
    [ ! -e "$DATA/ret-0/00000000000000000000.log" ]
}
mount_start "$M"
t touch "$M/ret"
for i in $(seq 20); do t sh -c "echo early-$i >> '$M/ret'"; done
before=$(t stat -c %s "$M/ret")
: >"$T/ret.rest"
: >"$T/ret.err"
t bash -c "$(declare -f wait_for retention_done now late_lines); DATA='$DATA'
    exec 8<'$M/ret' && head -c 30 <&8 >'$T/ret.head' &&
    late_lines | timeout 120 kcat -P -b '$B' -t ret -X linger.ms=0 -X batch.num.messages=1 &&
    wait_for 20 retention_done && echo done >'$T/retention.out' && cat <&8 >'$T/ret.rest' 2>'$T/ret.err'"
check "remote: retention on the cluster deleted the first segment" \
    [ "$(cat "$T/retention.out" 2>/dev/null)" = done ]
t cat "$M/ret" >"$T/ret.live"
first=$(head -n 1 "$T/ret.live")
check "remote: after the log start moved, cat gives the live lines from a whole line ($first) to the last" \
    t sh -c "$(declare -f all_lines late_lines); all_lines | sed -n '/^$first\$/,\$p' | diff - '$T/ret.live' >'$T/ret.diff' || { head -5 '$T/ret.diff'; false; }"
cat >"$T/inorder.py" <<'EOF'
import sys
want = open(sys.argv[1]).read().split("\n")[:-1]
got = open(sys.argv[2]).read().split("\n")[:-1]
pos = {v: i for i, v in enumerate(want)}
idx = [pos.get(v, -1) for v in got]
bad = [(k, v) for k, (v, i) in enumerate(zip(got, idx)) if i < 0 or (k and i <= idx[k - 1])]
if bad or not got or got[-1] != want[-1]:
    print("# read %d lines; out of order or torn: %r; last %r; %s" %
          (len(got), bad[:3], got[-1:], open(sys.argv[3]).read().strip() if len(sys.argv) > 3 else ""))
    sys.exit(1)
EOF
all_lines >"$T/ret.all"
cat "$T/ret.head" "$T/ret.rest" >"$T/ret.read"
check "remote: a reader that was inside deleted data went on without repeats or torn lines" \
    $PY "$T/inorder.py" "$T/ret.all" "$T/ret.read" "$T/ret.err"
check "remote: st_size did not go down when the log start moved ($(t stat -c %s "$M/ret") >= $before)" \
    [ "$(t stat -c %s "$M/ret")" -ge "$before" ]
t tail -c 300 "$M/ret" >"$T/ret.tail"
check "remote: a read at an offset in the live data gives the bytes at that position" \
    cmp "$T/ret.tail" <(all_lines | tail -c 300)
mount_stop

[ "$FAILED" = 0 ]
