# tests/fuse/remote.bash - `brook mount` of a remote cluster, shared by remote.sh
# (brookd as the cluster) and remote_mock.sh (librdkafka's mock cluster, 3
# brokers). Sourced after lib.bash's fuse_setup; the caller sets B (the
# bootstrap brokers; ONE_B, when set, the one broker leading ONE) and TOPIC (a topic with
# several partitions that exists) and ONE (a topic with one partition).
#
#   mount_start MNT [args]   brook mount in the foreground under timeout; waits
#                            until MNT is mounted; sets MPID
#   mount_stop               SIGTERM; returns brook's exit status
#   remote_common MNT        the Must-show checks both clusters share

BROOK=$BUILD/brook
MPID=

mount_start() {
    local mnt=$1 i
    shift
    mkdir -p "$mnt" 2>/dev/null # a stale mount answers ENOTCONN: brook cleans it
    timeout -k 5 600 "$BROOK" -b "$B" -X delivery.timeout.ms=4000 -X request.timeout.ms=2000 \
        --timeout 5000 mount "$mnt" --cache-dir "$T/cache" "$@" 2>>"$T/mount.log" &
    MPID=$!
    for ((i = 0; i < 300; i++)); do # at most 15 s
        # statfs answered by a FUSE file system: neither a stale mount nor the
        # bare directory a stale one was just detached from
        stat -f -c %T "$mnt" 2>/dev/null | grep -q fuse && return 0
        kill -0 "$MPID" 2>/dev/null || break
        sleep 0.05
    done
    echo "# brook mount did not come up"
    return 1
}

mount_kill9() { # kill -9 brook itself (MPID is its timeout): leaves a stale mount
    local pid
    pid=$(pgrep -P "$MPID")
    kill -9 "$pid"
    wait "$MPID" 2>/dev/null
    MPID=
}

mount_cleanup() {
    if [ -n "$MPID" ]; then
        kill -TERM "$MPID" 2>/dev/null
        wait "$MPID" 2>/dev/null
    fi
    if [ "$FAILED" != 0 ] && [ -s "$T/mount.log" ]; then
        echo "--- brook mount's log"
        cat "$T/mount.log"
    fi
    fuse_cleanup
}
trap mount_cleanup EXIT

mount_stop() {
    local rc
    kill -TERM "$MPID"
    wait "$MPID"
    rc=$?
    MPID=
    return $rc
}

# kcat reading a whole topic (read_committed), values one per line, sorted
kcat_values() {
    t kcat -C -b "$B" -t "$1" -e -q -X isolation.level=read_committed -f '%s\n' | sort
}

lines() { # lines PREFIX N: PREFIX-1 .. PREFIX-N, sorted as sort sorts them
    seq "$2" | sed "s/^/$1-/" | sort
}

# remote_common MNT: what both clusters must show
remote_common() {
    local M=$1 out
    check "remote: the topics are listed" t test -f "$M/$TOPIC" -a -d "$M/$TOPIC-0" -a -f "$M/$TOPIC-0/follow"
    check "remote: no segment files (they are the cluster's)" \
        sh -c "! ls '$M/$TOPIC-0' | grep -q '\\.log\$'"

    # echo N lines >> the topic file: kcat reads exactly those N values
    for i in $(seq 40); do echo "echo-$i" >>"$M/$TOPIC" || echo "echo $i failed" >>"$T/errs"; done
    check "remote: 40 echo >> of the topic file all succeed" test ! -s "$T/errs"
    check "remote: kcat reads exactly the 40 lines echoed (no loss, no duplicate)" \
        diff <(kcat_values "$TOPIC") <(lines echo 40)

    # kcat -P N records, then cat shows them (and the echoed ones)
    seq 40 | sed 's/^/kcat-/' | t kcat -P -b "$B" -t "$TOPIC"
    check "remote: cat of the topic file shows the 40 produced records and the 40 echoed" \
        diff <(t cat "$M/$TOPIC" | sort) <(sort <(lines echo 40) <(lines kcat 40))
    local parts
    parts=$(ls -d "$M/$TOPIC"-[0-9]* | wc -l)
    check "remote: the partitions' data files hold what the topic file holds" \
        diff <(for ((p = 0; p < parts; p++)); do t cat "$M/$TOPIC-$p/data"; done | sort) \
        <(t cat "$M/$TOPIC" | sort)
    local sum=0 p
    for ((p = 0; p < parts; p++)); do sum=$((sum + $(stat -c %s "$M/$TOPIC-$p/data"))); done
    check "remote: st_size of the topic file is the sum of its partitions' ($sum)" \
        test "$(stat -c %s "$M/$TOPIC")" = "$sum" -a "$sum" = "$(t cat "$M/$TOPIC" | wc -c)"
    check "remote: records shows the partition's records as JSON lines" \
        sh -c "t() { timeout 30 \"\$@\"; }; t cat '$M/$TOPIC-0/records' | $PY -c '
import json, sys
n = 0
for line in sys.stdin:
    r = json.loads(line); assert r[\"key\"] is None and isinstance(r[\"offset\"], int); n += 1
sys.exit(0 if n > 0 else 1)'"

    # a second reader gets the same bytes at the same positions
    check "remote: two cats of the topic file give the same bytes" \
        cmp <(t cat "$M/$TOPIC") <(t cat "$M/$TOPIC")

    # promptness, through Kafka producers (one partition: kafkawire's producer)
    out=$(t $PY tests/fuse/kafka_probe.py tail "${ONE_B:-$B}" "$ONE" "$M/$ONE" 10)
    echo "# remote tail -f -s 0.1 latency (p50 p99 max ms): $out"
    check "remote: tail -f -s 0.1 shows a produced line within 200 ms ($out)" \
        awk -v m="${out##* }" 'BEGIN { exit !(m != "" && m < 200) }'
    out=$(t $PY tests/fuse/kafka_probe.py follow "${ONE_B:-$B}" "$ONE" "$M/$ONE-0/follow" 20)
    echo "# remote follow latency (p50 p99 max ms): $out"
    check "remote: follow shows a produced line within 50 ms, median ($out)" \
        awk -v m="${out%% *}" 'BEGIN { exit !(m != "" && m < 50) }'
    out=$(probe sigint "$M/$ONE-0/follow")
    check "remote: SIGINT ends a cat parked in follow promptly ($out)" \
        sh -c "case '$out' in OK*) exit 0;; *) exit 1;; esac"
}
