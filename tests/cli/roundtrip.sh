#!/usr/bin/env bash
# brook produce then brook consume -e: 10 000 keyed records with headers round-trip
# byte for byte with every codec; -v reports each record's partition and offset;
# -o and -c pick the records asked for.
. "$(dirname "$0")/../lib.sh"
BR="timeout -k 10 120 $ROOT/$BUILD/brook"

brookd_start || { fail "roundtrip: brookd starts"; exit 1; }
export BROOK_BROKERS=$BROKER

# keys, values of every printable ASCII character but tab, some empty values
$PY - >"$T/in.txt" <<'PY'
import random
random.seed(11)
chars = [chr(c) for c in range(32, 127)]
for i in range(10000):
    v = ''.join(random.choice(chars) for _ in range(random.randint(0, 200)))
    print(f"key-{i}\t{v}")
PY

for z in none gzip snappy lz4 zstd; do
    $BR produce "rt-$z" -K '\t' -H trace=abc -H "h2=x y" -z $z <"$T/in.txt"
    check "produce 10000 records with $z" [ $? -eq 0 ]
    $BR consume "rt-$z" -e -f '%k\t%s\n' >"$T/out-$z.txt"
    check "consume -e returns them byte for byte ($z)" cmp -s "$T/in.txt" "$T/out-$z.txt"
    $BR consume "rt-$z" -e -f '%h\n' | sort | uniq -c >"$T/h-$z.txt"
    check "every record carries both headers ($z)" \
        [ "$(cat "$T/h-$z.txt" | tr -s ' ')" = " 10000 trace=abc,h2=x y" ]
done

# -v: one "topic partition offset" line per record
printf 'a\nb\nc\n' | $BR produce verbose -v >"$T/v.txt"
check "produce -v prints topic, partition and offset per record" \
    [ "$(cat "$T/v.txt")" = "$(printf 'verbose\t0\t0\nverbose\t0\t1\nverbose\t0\t2')" ]

# offsets and counts
seq 0 99 | $BR produce nums -p 0
check "consume -o 90 starts at an absolute offset" \
    [ "$($BR consume nums -o 90 -e | head -1)" = 90 ]
check "consume -o -5 reads the last five" [ "$($BR consume nums -o -5 -e | tr '\n' ,)" = "95,96,97,98,99," ]
check "consume -o +10 -c 2 skips ten and stops after two" \
    [ "$($BR consume nums -o +10 -c 2 | tr '\n' ,)" = "10,11," ]
check "consume -o end -e reads nothing" [ -z "$($BR consume nums -o end -e)" ]
check "consume -o @<future> -e reads nothing" [ -z "$($BR consume nums -o @+1h -e)" ]
check "consume -o @-1h -e reads everything" [ "$($BR consume nums -o @-1h -e | wc -l)" = 100 ]
# the same instant in UTC and as a local time with its offset (the console writes both)
t=$($BR consume nums -o 50 -c 1 -f '%T')
utc=$(date -u -d "@$((t / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((t % 1000)))
east=$(TZ=Asia/Kolkata date -d "@$((t / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((t % 1000)))
check "consume -o @TIME+05:30 starts where the same instant in UTC does" \
    [ "$($BR consume nums -o "@${east}+05:30" -c 1)" = "$($BR consume nums -o "@${utc}Z" -c 1)" ]
check "consume -f with %o %p %T %S" \
    [ "$($BR consume nums -o 7 -c 1 -f '%o/%p/%S/%K|%T\n' | cut -d'|' -f1)" = "7/0/1/-1" ]

# null values with -Z, keys with -k
printf 'k1\t\nk2\tv\n' | $BR produce tomb -K '\t' -Z
check "produce -Z makes empty values null" \
    [ "$($BR consume tomb -e -f '%k:%S ')" = "k1:-1 k2:1 " ]
printf 'x\ny\n' | $BR produce fixed -k same
check "produce -k gives every record the key" [ "$($BR consume fixed -e -f '%k%s ')" = "samex samey " ]

brookd_stop
check "brookd stops cleanly" [ $? -eq 0 ]
