#!/usr/bin/env bash
# Failures are one line on stderr and a non-zero exit: broker down, wrong port
# (nothing listening, and something that is not Kafka), unknown topic, bad offset
# syntax, bad flags, bad formats.
. "$(dirname "$0")/../lib.sh"
BROOK=$ROOT/$BUILD/brook

# expect NAME STATUS REGEX CMD...: CMD exits with STATUS, prints nothing on stdout
# and exactly one line on stderr, matching REGEX.
expect() {
    local name=$1 want=$2 re=$3 rc
    shift 3
    timeout -k 10 30 "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    if [ $rc -ne "$want" ]; then
        fail "$name" "exit status $rc, wanted $want: $(head -c 300 "$T/err")"
    elif [ -s "$T/out" ]; then
        fail "$name" "printed on stdout: $(head -c 300 "$T/out")"
    elif [ "$(wc -l <"$T/err")" != 1 ]; then
        fail "$name" "stderr has $(wc -l <"$T/err") lines: $(head -c 300 "$T/err")"
    elif ! grep -qE "$re" "$T/err"; then
        fail "$name" "unexpected message: $(cat "$T/err")"
    else
        ok "$name"
    fi
}

brookd_start || { fail "errors: brookd starts"; exit 1; }
seq 1 10 | timeout -k 10 30 "$BROOK" -b "$BROKER" produce present

expect "unknown topic (consume)" 1 "^brook: topic 'absent' does not exist$" \
    "$BROOK" -b "$BROKER" consume absent -e
expect "unknown topic (describe)" 1 "topic 'absent' does not exist" \
    "$BROOK" -b "$BROKER" topic describe absent
expect "unknown topic (delete)" 1 "topic 'absent' does not exist" \
    "$BROOK" -b "$BROKER" topic delete absent
expect "unknown partition" 1 "has no partition 7" "$BROOK" -b "$BROKER" consume present -p 7 -e
expect "bad offset syntax" 2 "^brook: bad offset 'soon'" "$BROOK" -b "$BROKER" consume present -o soon
expect "bad offset time" 2 "bad offset '@2024-02-30x'" \
    "$BROOK" -b "$BROKER" consume present -o @2024-02-30x
expect "bad relative offset" 2 "bad offset '-x'" "$BROOK" -b "$BROKER" consume present -o -x
expect "bad seek offset" 2 "bad offset 'later'" "$BROOK" -b "$BROKER" group seek g -o later
expect "bad format token" 2 "bad format '%s %Q'" "$BROOK" -b "$BROKER" consume present -f '%s %Q'
expect "unknown flag" 2 "unknown option" "$BROOK" -b "$BROKER" consume present --frobnicate
expect "missing flag argument" 2 "missing argument" "$BROOK" -b "$BROKER" consume present -o
expect "unknown command" 2 "unknown command 'launch'" "$BROOK" -b "$BROKER" launch
expect "unknown codec" 2 "unknown codec 'brotli'" "$BROOK" -b "$BROKER" produce present -z brotli
expect "bad -X setting" 2 "X linger.ms=soon: .soon. is not a valid value for linger.ms" \
    "$BROOK" -b "$BROKER" -X linger.ms=soon topic list
expect "bad broker list" 2 "bad broker list 'host:99999'" "$BROOK" -b host:99999 topic list
expect "unresolvable host" 1 "cannot reach a broker at no-such-host.invalid:9092" \
    "$BROOK" -b no-such-host.invalid:9092 topic list

# wrong port: something that is not Kafka answers
$PY -u - >"$T/http.port" <<'PY' &
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    c.close()
PY
HTTP=$!
for ((i = 0; i < 200; i++)); do # poll, at most 10 s
    [ -s "$T/http.port" ] && break
    sleep 0.05
done
expect "wrong port (an HTTP server)" 1 "cannot reach a broker at 127.0.0.1:$(cat "$T/http.port"): that port answered in HTTP" \
    "$BROOK" -b "127.0.0.1:$(cat "$T/http.port")" consume present -e
kill $HTTP

# a broker that does not create topics on demand: produce fails at once
brookd_stop
brookd_start -o auto.create.topics.enable=false || { fail "errors: brookd restarts"; exit 1; }
expect "produce to a topic the broker will not create" 1 "^brook: topic 'fresh' does not exist$" \
    sh -c "echo x | exec '$BROOK' -b '$BROKER' produce fresh"

# broker down: the same port once brookd has stopped, and a port nobody listens on
brookd_stop
expect "broker down (consume)" 1 "^brook: cannot reach a broker at $BROKER: connection refused$" \
    "$BROOK" -b "$BROKER" consume present -e
expect "broker down (produce)" 1 "cannot reach a broker at $BROKER: connection refused" \
    sh -c "echo x | exec '$BROOK' -b '$BROKER' produce present"
expect "broker down (group list)" 1 "cannot reach a broker" "$BROOK" -b "$BROKER" group list
expect "wrong port (nothing listening), via BROOK_BROKERS" 1 \
    "cannot reach a broker at 127.0.0.1:1: connection refused" env BROOK_BROKERS=127.0.0.1:1 "$BROOK" metadata
expect "every bootstrap broker down" 1 "cannot reach a broker at 127.0.0.1:1,127.0.0.1:2" \
    "$BROOK" -b 127.0.0.1:1,127.0.0.1:2 topic list
