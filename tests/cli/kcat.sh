#!/usr/bin/env bash
# brook and kcat on the same topics: each reads what the other wrote byte for byte,
# keyed records land on the same partitions as kcat's murmur2_random partitioner
# puts them (Java's default), and brook consume -J prints exactly kcat -J's JSON
# (the broker field aside).
. "$(dirname "$0")/../lib.sh"
BR="timeout -k 10 120 $ROOT/$BUILD/brook"
KC="timeout -k 10 120 kcat -b"

brookd_start || { fail "kcat: brookd starts"; exit 1; }
export BROOK_BROKERS=$BROKER

$PY - >"$T/in.txt" <<'PY'
import random
random.seed(5)
chars = [chr(c) for c in range(32, 127)]
for i in range(10000):
    v = ''.join(random.choice(chars) for _ in range(random.randint(1, 200)))
    print(f"user-{random.randint(0, 3000)}\t{v}")
PY
sort "$T/in.txt" >"$T/in.sorted"

$BR topic create by-brook by-kcat -p 6 >/dev/null
check "topic create -p 6" [ $? -eq 0 ]
$BR produce by-brook -K '\t' -H src=brook <"$T/in.txt"
check "brook produce of 10000 keyed records" [ $? -eq 0 ]
$KC "$BROKER" -P -t by-kcat -K $'\t' -H src=kcat -X partitioner=murmur2_random <"$T/in.txt"
check "kcat -P of the same records" [ $? -eq 0 ]

$KC "$BROKER" -C -t by-brook -e -q -f '%k\t%s\n' | sort >"$T/kcat-reads.txt"
check "kcat -C reads what brook produce wrote, byte for byte" cmp -s "$T/in.sorted" "$T/kcat-reads.txt"
$BR consume by-kcat -e -f '%k\t%s\n' | sort >"$T/brook-reads.txt"
check "brook consume reads what kcat -P wrote, byte for byte" cmp -s "$T/in.sorted" "$T/brook-reads.txt"

# per partition, in order: same keys, same values, same order
for p in 0 1 2 3 4 5; do
    $BR consume by-brook -p $p -e -f '%k\t%s\n' >"$T/b$p.txt"
    $KC "$BROKER" -C -t by-kcat -p $p -e -q -f '%k\t%s\n' >"$T/k$p.txt"
done
same=yes
for p in 0 1 2 3 4 5; do cmp -s "$T/b$p.txt" "$T/k$p.txt" || same=no; done
check "every key lands on the partition kcat (murmur2_random) chose, in the same order" [ $same = yes ]
check "all six partitions were used" [ "$(cat "$T"/b?.txt | wc -l)" = 10000 ] && [ -s "$T/b5.txt" ]
check "headers from kcat read back" [ "$($BR consume by-kcat -e -c 1 -f '%h')" = src=kcat ]

# JSON: awkward bytes in keys, values and headers, null keys and values
$PY - >"$T/odd.txt" <<'PY'
import sys
out = sys.stdout.buffer
rows = [b"plain\tvalue", b"\tempty key", b"k\t", b"q\"uote\\back\tsl\\ash\"",
        b"ctl\x01\x1f\x7f\tbell\x07tab\x0bff\x0ccr\x0d",
        b"utf8-\xc3\xa9\xe2\x82\xac\tsnow\xe2\x98\x83", b"bad-\xff\xfe\tbytes\x80\xc3",
        b"nul\x00key\tnul\x00value", b"slash/key\t</script>&amp;"]
rows += [bytes([b]) + b"\t" + bytes([b]) * 3 for b in range(1, 256) if b not in (9, 10)]
for r in rows:
    out.write(r + b"\n")
PY
$KC "$BROKER" -P -t json -K $'\t' -H h1=v1 -H nul -H 'q="x\y' <"$T/odd.txt"
printf 'nokey\n' | $KC "$BROKER" -P -t json -p 0
printf 'k\t\n' | $KC "$BROKER" -P -t json -K $'\t' -Z -p 0
$BR produce json -K '\t' -H 'b="x' -H n <"$T/odd.txt"
norm() { sed -E 's/"broker":-?[0-9]+/"broker":B/' | LC_ALL=C sort; }
$KC "$BROKER" -C -t json -e -q -J | norm >"$T/kcat.json"
$BR consume json -e -J | norm >"$T/brook.json"
check "the JSON test topic has every record ($(wc -l <"$T/kcat.json"))" \
    [ "$(wc -l <"$T/kcat.json")" = $((2 * $(wc -l <"$T/odd.txt") + 2)) ]
check "brook consume -J is byte for byte kcat -J (broker aside)" cmp -s "$T/kcat.json" "$T/brook.json"
jqnorm() { jq -c 'del(.broker)' | LC_ALL=C sort; }
$KC "$BROKER" -C -t json -e -q -J | jqnorm >"$T/kcat.jq"
$BR consume json -e -J | jqnorm >"$T/brook.jq"
check "and field by field for jq" cmp -s "$T/kcat.jq" "$T/brook.jq"
check "null keys and payloads are null" \
    [ "$(jq -r 'select(.key == null) | .payload' "$T/brook.jq")" = nokey ] &&
    [ "$(jq -r 'select(.payload == null) | .key' "$T/brook.jq")" = k ]
check "the broker field names this broker" \
    [ "$($BR consume json -e -c 1 -J | jq .broker)" = "$($KC "$BROKER" -C -t json -e -q -c 1 -J | jq .broker)" ]

brookd_stop
