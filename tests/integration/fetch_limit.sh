#!/usr/bin/env bash
# KIP-74 with librdkafka: fetch.max.bytes=1000000 over partitions of 800 KiB batches
# (tests/integration/fetch_limit.c), with receive.message.max.bytes at the smallest
# value librdkafka allows for it.
. "$(dirname "$0")/../lib.sh"
brookd_start || { fail "fetch_limit: brookd starts"; exit 1; }
tool "fetch_limit" timeout 180 "$ROOT/$BUILD/tests/integration/fetch_limit" "$BROKER" big
brookd_stop
check "fetch_limit: brookd stops cleanly afterwards" [ $? -eq 0 ]
