#!/usr/bin/env bash
# follow.sh - reading as data arrives: `tail -f -s 0.1` of a topic file sees a line
# appended through another file within its poll interval; `cat follow` streams and
# SIGINT ends it promptly; O_NONBLOCK at the end is EAGAIN; poll() wakes on append.
# The measured latencies are printed in the ok lines.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt
mkdir -p "$M"
if ! daemon_start "$D" "$M" -o num.partitions=2; then
    not_ok "fuse follow: daemon starts"
    exit 1
fi
t touch "$M/events"
for i in $(seq 20); do t sh -c "echo old-$i >> '$M/events'"; done

out=$(probe tail "$M/events" "$M/events-0/data" 10)
case $out in
OK*) ms=$(echo "$out" | awk '{ print $6 }')
    check "tail -f -s 0.1 of the topic sees lines appended to events-0/data: $out" \
        awk -v m="$ms" 'BEGIN { exit !(m < 400) }' ;;
*) not_ok "tail -f -s 0.1 of the topic sees lines appended to events-0/data: $out" ;;
esac

out=$(probe follow "$M/events-1/follow" "$M/events-1/data" 20)
check "a read of follow at its end returns each appended line: $out" \
    sh -c "case '$out' in OK*) exit 0;; *) exit 1;; esac"
check "cat follow streams everything, then what is appended" \
    t sh -c "cat '$M/events-1/follow' > '$T/follow.out' & pid=\$!
             echo streamed >> '$M/events-1/data'
             for i in \$(seq 100); do grep -qx streamed '$T/follow.out' && break; sleep 0.05; done
             kill \$pid; grep -qx streamed '$T/follow.out' && grep -qx follow-0 '$T/follow.out'"
out=$(probe sigint "$M/events-0/follow")
case $out in
OK*) ms=$(echo "$out" | awk '{ print $2 }')
    check "SIGINT ends a cat blocked in follow promptly: $out" \
        awk -v m="$ms" 'BEGIN { exit !(m < 1000) }' ;;
*) not_ok "SIGINT ends a cat blocked in follow promptly: $out" ;;
esac
out=$(probe sigints "$M/events" 2 15)
check "120 readers of follow SIGINT'd while lines arrive: none hangs ($out)" \
    sh -c "case '$out' in OK*) exit 0;; *) exit 1;; esac"
check "O_NONBLOCK read of follow at its end: EAGAIN" \
    [ "$(probe nonblock "$M/events-0/follow")" = EAGAIN ]
check "O_NONBLOCK read of data at its end: end of file" \
    [ "$(probe nonblock "$M/events-0/data")" = EOF ]
out=$(probe poll "$M/events-0/follow" "$M/events-0/data")
check "poll() on follow wakes on append: $out" sh -c "case '$out' in OK*) exit 0;; *) exit 1;; esac"
out=$(probe poll "$M/events" "$M/events-1/data")
check "poll() on the topic file wakes on append: $out" \
    sh -c "case '$out' in OK*) exit 0;; *) exit 1;; esac"

# a reader parked in follow when its topic is deleted gets end of file
t touch "$M/doomed"
t sh -c "cat '$M/doomed-0/follow' > '$T/doomed.out'; echo \$? > '$T/doomed.rc'" &
bg=$!
wait_for 5 sh -c "grep -q request_wait_answer /proc/\$(pgrep -x cat | head -1)/wchan 2>/dev/null"
t rm "$M/doomed"
check "deleting the topic ends a cat parked in its follow (end of file)" \
    wait_for 5 sh -c "[ \"\$(cat '$T/doomed.rc' 2>/dev/null)\" = 0 ]"
wait "$bg"

# stopping the daemon with a reader parked in follow: the reader gets end of file
t sh -c "cat '$M/events-0/follow' > /dev/null; echo \$? > '$T/stop.rc'" &
bg=$!
wait_for 5 sh -c "grep -q request_wait_answer /proc/\$(pgrep -x cat | head -1)/wchan 2>/dev/null"
check "SIGTERM with a reader parked in follow unmounts cleanly" daemon_stop
check "...and the reader ended with end of file" wait_for 5 sh -c "[ \"\$(cat '$T/stop.rc')\" = 0 ]"
wait "$bg"
