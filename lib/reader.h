/*
 * reader.h - a bounded reader over borrowed bytes.
 *
 * Every decoder in brook (wire frames, record batches, segment files) reads through
 * this: a view {p, len, off} plus a sticky error. A read past the end, or a malformed
 * varint, sets err to -EBADMSG and makes every later read return zero, so a decoder
 * can read a whole structure and check reader_ok() once at the end instead of after
 * each field. Nothing here allocates; sub-views and byte runs point into the input,
 * which must outlive them.
 *
 * Integers are big-endian as in Kafka. Varints follow Kafka (protobuf's encoding):
 * signed ones are zigzag-encoded, a 32-bit varint has at most 5 bytes and a 64-bit
 * one at most 10; longer or overflowing encodings are errors.
 */
#ifndef BROOK_LIB_READER_H
#define BROOK_LIB_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reader {
    const uint8_t *p; /* first byte of the view (borrowed) */
    size_t len;       /* bytes in the view */
    size_t off;       /* next byte to read */
    int err;          /* 0, or the first error (negative errno); sticky */
};

/* Start reading len bytes at p. */
void reader_init(struct reader *r, const void *p, size_t len);

/* Record an error (first one wins); later reads return zero. */
void reader_fail(struct reader *r, int err);

static inline bool reader_ok(const struct reader *r)
{
    return r->err == 0;
}

/* Bytes left to read (0 after an error). */
static inline size_t reader_left(const struct reader *r)
{
    return r->err ? 0 : r->len - r->off;
}

uint8_t reader_u8(struct reader *r);
uint16_t reader_be16(struct reader *r);
uint32_t reader_be32(struct reader *r);
uint64_t reader_be64(struct reader *r);
double reader_f64(struct reader *r);

/* Zigzag varint (int32, at most 5 bytes) and varlong (int64, at most 10 bytes). */
int32_t reader_varint(struct reader *r);
int64_t reader_varlong(struct reader *r);
/* Unsigned varint as used by compact lengths and tagged fields (at most 5 bytes). */
uint32_t reader_uvarint(struct reader *r);
uint64_t reader_uvarlong(struct reader *r);

/* Borrow the next n bytes; NULL (and an error) if fewer are left. For n == 0
 * returns a non-NULL pointer into the view. */
const uint8_t *reader_bytes(struct reader *r, size_t n);

/* Skip n bytes. */
void reader_skip(struct reader *r, size_t n);

/* A sub-view of the next n bytes, consumed from r. On error the sub-view is empty
 * and carries the error too. */
struct reader reader_sub(struct reader *r, size_t n);

#endif
