/*
 * partitioner.c - murmur2 as Kafka's Java client computes it (the 32-bit
 * MurmurHash2 with the seed 0x9747b28c, bytes read little-endian in groups of
 * four), and the partition it picks. tests/unit/test_kafka.c checks both against
 * Java's and librdkafka's vectors.
 */
#include "proto/partitioner.h"

#define MURMUR2_M    0x5bd1e995u
#define MURMUR2_SEED 0x9747b28cu

uint32_t murmur2(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint32_t h = MURMUR2_SEED ^ (uint32_t)len;
    for (size_t i = 0; i < len / 4; i++, p += 4) {
        uint32_t k =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        k *= MURMUR2_M;
        k ^= k >> 24;
        k *= MURMUR2_M;
        h *= MURMUR2_M;
        h ^= k;
    }
    switch (len & 3) {
    case 3: h ^= (uint32_t)p[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)p[1] << 8;  /* fall through */
    case 1: h ^= p[0]; h *= MURMUR2_M;
    }
    h ^= h >> 13;
    h *= MURMUR2_M;
    h ^= h >> 15;
    return h;
}

int32_t murmur2_partition(const void *key, size_t len, int32_t n)
{
    return (int32_t)((murmur2(key, len) & 0x7fffffff) % (uint32_t)n);
}
