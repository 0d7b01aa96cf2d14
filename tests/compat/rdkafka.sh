#!/usr/bin/env bash
# librdkafka's C API against brookd: every codec, a consumer group through
# rebalances, and committed offsets across a restart (clean, then after kill -9).
. "$(dirname "$0")/../lib.sh"
RDK=$ROOT/$BUILD/tests/compat/rdkafka

brookd_start || { fail "rdkafka: brookd starts"; exit 1; }
tool "rdkafka codecs" timeout 300 "$RDK" codecs "$BROKER"
tool "rdkafka group" timeout 300 "$RDK" group "$BROKER" groups "$T/committed"
brookd_stop
check "brookd stops cleanly" [ $? -eq 0 ]
brookd_start || { fail "rdkafka: brookd restarts"; exit 1; }
tool "rdkafka committed" timeout 60 "$RDK" committed "$BROKER" groups "$T/committed"
brookd_kill
brookd_start || { fail "rdkafka: brookd restarts after kill -9"; exit 1; }
tool "rdkafka committed" timeout 60 "$RDK" committed "$BROKER" groups "$T/committed"
brookd_stop
