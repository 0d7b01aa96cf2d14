#!/usr/bin/env bash
# Hostile load against a live brookd while a control producer and consumer keep working
# (tests/integration/hostile_load.c): mutated frames, idle connections, churn at the fd
# limit and EMFILE, slowloris clients. The short run is part of make test; HOSTILE=full
# (make hostile) runs the full sizes and, on a build without sanitizers, holds brookd
# to the memory goals. HOSTILE_FRAMES names another directory of frames to mutate.
. "$(dirname "$0")/../lib.sh"
LOAD=$ROOT/$BUILD/tests/integration/hostile_load
FRAMES_DIR=${HOSTILE_FRAMES:-$ROOT/tests/data/kafka}
if [ "${HOSTILE:-short}" = full ]; then
    FRAMES=1000000 IDLE=10000 SLOW=1000 UNLOADED=10 HOLD=10 LIMITS=-M DEADLINE=1800
else
    FRAMES=50000 IDLE=1000 SLOW=200 UNLOADED=3 HOLD=2 LIMITS= DEADLINE=300
fi
case $BUILD in */san | san) LIMITS= ;; esac # ASan's redzones and quarantine are no figure
REQUEST_TIMEOUT_MS=1000 IDLE_MS=4000
ulimit -n "$(ulimit -Hn)" 2>/dev/null # brookd and the load each hold IDLE connections

# mutated frames, idle connections and the fd limit, on one broker: auto-creation is off
# so that mutated topic names do not turn into topics (the captures' own are made first)
brookd_start -o auto.create.topics.enable=false || { fail "hostile load: brookd starts"; exit 1; }
tool "hostile_load frames, idle, churn" timeout $DEADLINE "$LOAD" -u $UNLOADED -t $HOLD $LIMITS \
    -d "$FRAMES_DIR" -F $((DEADLINE / 2)) -T capture-topic -T encoded-topic \
    "$BROKER" "$BROOKD_PID" frames=$FRAMES idle=$IDLE churn=256
check "hostile load: brookd logged the connections it refused at the fd limit" \
    grep -q 'refusing connections: the last file descriptors are kept' "$BROOKD_LOG"
check "hostile load: brookd logged accept failing with EMFILE" \
    grep -q 'accept failed: Too many open files' "$BROOKD_LOG"
brookd_stop
check "hostile load: brookd stops cleanly after frames, idle connections and churn" [ $? -eq 0 ]

# slowloris, against short request and idle timeouts
brookd_start -o request.timeout.ms=$REQUEST_TIMEOUT_MS -o connections.max.idle.ms=$IDLE_MS ||
    { fail "hostile load: brookd starts with short timeouts"; exit 1; }
tool "hostile_load slowloris" timeout $DEADLINE "$LOAD" -u $UNLOADED -t $HOLD \
    -R $REQUEST_TIMEOUT_MS -I $IDLE_MS "$BROKER" "$BROOKD_PID" slowloris=$SLOW
brookd_stop
check "hostile load: brookd stops cleanly after the slowloris clients" [ $? -eq 0 ]
