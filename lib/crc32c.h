/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
 *
 * On x86-64 CPUs with SSE4.2 the crc32 instruction is used; elsewhere a portable
 * slicing-by-8 table. The choice is made once, at the first call.
 */
#ifndef BROOK_LIB_CRC32C_H
#define BROOK_LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) over n bytes at p; returns the new CRC. Chaining calls
 * over consecutive pieces gives the CRC of the whole. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

/* The portable implementation, exposed so tests can compare the two. */
uint32_t crc32c_portable(uint32_t crc, const void *p, size_t n);

/* Whether crc32c() uses the hardware instruction on this CPU. */
int crc32c_hw_available(void);

#endif
