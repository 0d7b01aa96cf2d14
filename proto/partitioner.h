/*
 * partitioner.h - Kafka's default partitioner: which partition a keyed record
 * goes to. Java's producer (Utils.murmur2, then the positive part modulo the
 * partition count) and librdkafka's murmur2_random agree on it, so a key lands on
 * the same partition whichever of them, brook's client or the console produced it.
 */
#ifndef BROOK_PROTO_PARTITIONER_H
#define BROOK_PROTO_PARTITIONER_H

#include <stddef.h>
#include <stdint.h>

/* Java's murmur2 (seed 0x9747b28c) of len bytes. */
uint32_t murmur2(const void *key, size_t len);

/* The partition for a key among n (> 0): murmur2's positive part modulo n. */
int32_t murmur2_partition(const void *key, size_t len, int32_t n);

#endif
