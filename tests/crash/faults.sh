#!/usr/bin/env bash
# faults.sh - a full disk and a failing disk under a live broker.
#
# faultd (tests/crash/faultd.c) is brookd behind the store's fault seam; the rules in
# $BROOK_FAULTS switch failures on and off while it runs. Over the Kafka protocol:
#   - ENOSPC or EIO on write (of a segment, or of the topic journal): producers get
#     KAFKA_STORAGE_ERROR (56) for acks=1 and
#     acks=-1, and librdkafka (kcat) "Disk error ..."; consumers get exactly the records
#     stored before; the segment holds only whole, valid batches (also when the undo
#     of the half-written batch fails too, and after a kill -9 and recovery); once
#     the fault clears, the same partition takes records again;
#   - EIO on fdatasync (or on the fsync of a partition directory after a roll): that
#     produce gets 56, and so does every later one on that partition, even after the
#     fault clears, while other partitions and topics work; after a restart the
#     partition works again and every acknowledged record is there.
. "$(dirname "$0")/../lib.sh"
BROOKD=$ROOT/$BUILD/tests/crash/faultd
FP="$ROOT/tests/crash/faults.py"
if [ ! -x "$BROOKD" ]; then
    fail "faults: $BROOKD is not built"
    exit 1
fi
export BROOK_FAULTS=$T/faults

faults() { # the rules, one argument each, replacing the control file at once
    printf '%s\n' "$@" >"$T/faults.new" && mv "$T/faults.new" "$BROOK_FAULTS"
}
clear_faults() { rm -f "$BROOK_FAULTS"; }
fp() { timeout -k 5 60 "$PY" "$FP" "$@"; }
produce() { fp produce "$BROKER" "$@"; } # TOPIC PART ACKS VALUE...: the error code
kcat_error() { # TOPIC PART VALUE: librdkafka's delivery error (acks=-1, no retries)
    printf '%s\n' "$3" | timeout 30 kcat -P -b "$BROKER" -t "$1" -p "$2" -X retries=0 \
        -X request.required.acks=-1 -X message.timeout.ms=10000 2>&1 | grep -q 'Disk error'
}
create() { # TOPIC, made by Metadata auto-creation
    timeout 30 "$PY" -c "import sys; sys.path.insert(0, '$ROOT/tests'); import kafkawire
kafkawire.ensure_topic('127.0.0.1', $PORT, '$1')"
}
values() { fp consume "$BROKER" "$1" "$2" | tr '\n' ' ' | sed 's/ $//'; }
expect() { # NAME WANT GOT
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "want '$2', got '$3'"; fi
}
hit() { grep -qE "faultd: $1" "$BROOKD_LOG"; }

if ! brookd_start -o num.partitions=2; then
    fail "faults: faultd starts"
    exit 1
fi

# ---- a full or failing disk on write ----
for err in ENOSPC EIO; do
    topic=w${err,,}
    create "$topic"
    expect "$err on write: produce before the fault" "0 0" \
        "$(produce "$topic" 0 1 a1) $(produce "$topic" 0 -1 a2 a3)"
    faults "pwrite $err /$topic-0/"
    expect "$err on write: acks=1 gets KAFKA_STORAGE_ERROR" 56 "$(produce "$topic" 0 1 lost1)"
    expect "$err on write: acks=-1 gets KAFKA_STORAGE_ERROR" 56 "$(produce "$topic" 0 -1 lost2)"
    check "$err on write: librdkafka's producer reports the disk error" kcat_error "$topic" 0 lost3
    check "$err on write: the fault hit the segment" hit "pwrite .*/$topic-0/0+\.log: $err"
    expect "$err on write: consumers get exactly the records stored before" "a1 a2 a3" \
        "$(values "$topic" 0)"
    expect "$err on write: the segment holds whole batches only" 3 \
        "$(fp segcheck "$DATA/$topic-0")"
    check "$err on write: the other partition works meanwhile" [ "$(produce "$topic" 1 -1 p1)" = 0 ]
    clear_faults
    expect "$err on write: the partition takes records once the fault clears" 0 \
        "$(produce "$topic" 0 -1 b1)"
    expect "$err on write: and serves them after the old ones" "a1 a2 a3 b1" "$(values "$topic" 0)"
done

# the topic journal (append order for the FUSE view) is full: the batch is refused too
create wjournal
expect "ENOSPC on the journal: produce before the fault" 0 "$(produce wjournal 0 -1 a1)"
faults "pwrite ENOSPC .journal"
expect "ENOSPC on the journal: the produce gets KAFKA_STORAGE_ERROR" 56 \
    "$(produce wjournal 0 -1 lost)"
check "ENOSPC on the journal: the fault hit the journal" hit "pwrite .*\.journal: ENOSPC"
clear_faults
expect "ENOSPC on the journal: consumers see only what was stored" a1 "$(values wjournal 0)"
expect "ENOSPC on the journal: the segment holds the one batch" 1 \
    "$(fp segcheck "$DATA/wjournal-0")"
expect "ENOSPC on the journal: appends resume" 0 "$(produce wjournal 0 -1 b1)"

# the half-written batch cannot be cut off either: it stays past the end, unserved
create wtorn
expect "torn write: produce before the fault" 0 "$(produce wtorn 0 -1 a1)"
faults "pwrite ENOSPC /wtorn-0/" "ftruncate EIO /wtorn-0/"
expect "torn write: the produce gets KAFKA_STORAGE_ERROR" 56 \
    "$(produce wtorn 0 -1 "$(printf 'lost%.0s' $(seq 100))")"
check "torn write: the undo failed too" hit "ftruncate .*/wtorn-0/0+\.log: EIO"
expect "torn write: consumers do not see the torn batch" a1 "$(values wtorn 0)"
clear_faults
expect "torn write: appends go on over the torn bytes" 0 "$(produce wtorn 0 -1 b1)"
expect "torn write: and are served" "a1 b1" "$(values wtorn 0)"
check "torn write: the torn bytes are still in the file, past the end" \
    eval '! fp segcheck "$DATA/wtorn-0" >/dev/null 2>&1'

brookd_kill
if ! brookd_start -o num.partitions=2; then
    fail "faults: faultd restarts after kill -9"
    exit 1
fi
for topic in wenospc weio; do
    expect "after kill -9: $topic-0 holds whole, valid batches only" 4 \
        "$(fp segcheck "$DATA/$topic-0")"
    expect "after kill -9: $topic-0 serves what was stored" "a1 a2 a3 b1" "$(values $topic 0)"
done
expect "after kill -9: recovery cut the torn bytes off wtorn-0" 2 "$(fp segcheck "$DATA/wtorn-0")"
expect "after kill -9: wtorn-0 serves what was stored" "a1 b1" "$(values wtorn 0)"

# ---- a failed flush ----
create sync
create other
expect "fdatasync EIO: produce before the fault" "0 0 0" \
    "$(produce sync 0 -1 s1) $(produce sync 1 -1 t1) $(produce other 0 -1 o1)"
faults "fdatasync EIO /sync-0/"
expect "fdatasync EIO: acks=1 gets KAFKA_STORAGE_ERROR" 56 "$(produce sync 0 1 s2)"
check "fdatasync EIO: the fault hit the segment" hit "fdatasync .*/sync-0/0+\.log: EIO"
expect "fdatasync EIO: acks=-1 too" 56 "$(produce sync 0 -1 s3)"
expect "fdatasync EIO: the other partition works" 0 "$(produce sync 1 -1 t2)"
expect "fdatasync EIO: another topic works" 0 "$(produce other 0 -1 o2)"
clear_faults
expect "fdatasync EIO: nothing more is acknowledged after the fault clears (acks=1)" 56 \
    "$(produce sync 0 1 s4)"
expect "fdatasync EIO: nor with acks=-1" 56 "$(produce sync 0 -1 s5)"
check "fdatasync EIO: librdkafka's producer reports the disk error" kcat_error sync 0 s6
got=$(values sync 0)
check "fdatasync EIO: reads keep working, the acknowledged record first" \
    [ "${got%% *}" = s1 ]
check "fdatasync EIO: records refused after the failure are not stored" \
    eval '! grep -qE "s4|s5|s6" <<<"$got"'
expect "fdatasync EIO: the other partition serves its records" "t1 t2" "$(values sync 1)"

# the directory fsync that makes a new segment durable fails: the same
fp create "$BROKER" dsync internal.segment.bytes=1024
expect "fsync EIO on a new segment's directory: produce before the fault" 0 \
    "$(produce dsync 0 -1 d1)"
faults "fsync EIO /dsync-0"
expect "fsync EIO on a new segment's directory: the produce that rolls gets 56" 56 \
    "$(produce dsync 0 -1 "$(printf 'roll%.0s' $(seq 300))")"
check "fsync EIO on a new segment's directory: the fault hit the directory" \
    hit "fsync .*/dsync-0: EIO"
clear_faults
expect "fsync EIO on a new segment's directory: nothing more is acknowledged" 56 \
    "$(produce dsync 0 -1 d3)"

check "fdatasync EIO: brookd still stops cleanly" brookd_stop
if ! brookd_start -o num.partitions=2; then
    fail "faults: faultd restarts after the failed flush"
    exit 1
fi
expect "fdatasync EIO: after a restart the partition takes records again" 0 \
    "$(produce sync 0 -1 s7)"
got=$(values sync 0)
check "fdatasync EIO: and has every acknowledged record" \
    eval '[ "${got%% *}" = s1 ] && [ "${got##* }" = s7 ]'
expect "fdatasync EIO: the other topic kept its records" "o1 o2" "$(values other 0)"
expect "fsync EIO on a new segment's directory: after a restart records are taken again" 0 \
    "$(produce dsync 0 -1 d4)"
got=$(values dsync 0)
check "fsync EIO on a new segment's directory: with the acknowledged ones" \
    eval '[ "${got%% *}" = d1 ] && [ "${got##* }" = d4 ] && ! grep -q d3 <<<"$got"'
brookd_stop
