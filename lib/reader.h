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

/* Out-of-line versions; the inline functions below handle the common case (enough
 * bytes, a one-byte varint) themselves and call these for the rest. */
uint8_t reader_u8_slow(struct reader *r);
uint32_t reader_uvarint_slow(struct reader *r);
uint64_t reader_uvarlong_slow(struct reader *r);
const uint8_t *reader_bytes_slow(struct reader *r, size_t n);

uint16_t reader_be16(struct reader *r);
uint32_t reader_be32(struct reader *r);
uint64_t reader_be64(struct reader *r);
double reader_f64(struct reader *r);

static inline uint8_t reader_u8(struct reader *r)
{
    if (!r->err && r->off < r->len)
        return r->p[r->off++];
    return reader_u8_slow(r);
}

/* Varints of up to three bytes when at least `room` bytes are left (so no bounds
 * check is needed); 0 with *n = 0 for everything else. */
static inline uint64_t reader_varint_fast(const struct reader *r, size_t room, size_t *n)
{
    *n = 0;
    if (r->err || r->len - r->off < room)
        return 0;
    const uint8_t *q = r->p + r->off;
    if (!(q[0] & 0x80))
        return *n = 1, q[0];
    if (!(q[1] & 0x80))
        return *n = 2, (uint64_t)(q[0] & 0x7f) | (uint64_t)q[1] << 7;
    if (!(q[2] & 0x80))
        return *n = 3,
               (uint64_t)(q[0] & 0x7f) | (uint64_t)(q[1] & 0x7f) << 7 | (uint64_t)q[2] << 14;
    return 0;
}

/* Unsigned varint as used by compact lengths and tagged fields (at most 5 bytes). */
static inline uint32_t reader_uvarint(struct reader *r)
{
    size_t n;
    uint32_t v = (uint32_t)reader_varint_fast(r, 5, &n);
    if (n) {
        r->off += n;
        return v;
    }
    return reader_uvarint_slow(r);
}

static inline uint64_t reader_uvarlong(struct reader *r)
{
    size_t n;
    uint64_t v = reader_varint_fast(r, 10, &n);
    if (n) {
        r->off += n;
        return v;
    }
    return reader_uvarlong_slow(r);
}

/* Zigzag varint (int32, at most 5 bytes) and varlong (int64, at most 10 bytes). */
static inline int32_t reader_varint(struct reader *r)
{
    uint32_t u = reader_uvarint(r);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

static inline int64_t reader_varlong(struct reader *r)
{
    uint64_t u = reader_uvarlong(r);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

/* Borrow the next n bytes; NULL (and an error) if fewer are left. For n == 0
 * returns a non-NULL pointer into the view. */
static inline const uint8_t *reader_bytes(struct reader *r, size_t n)
{
    if (!r->err && n <= r->len - r->off) {
        const uint8_t *q = r->p + r->off;
        r->off += n;
        return q;
    }
    return reader_bytes_slow(r, n);
}

/* Skip n bytes. */
void reader_skip(struct reader *r, size_t n);

/* A sub-view of the next n bytes, consumed from r. On error the sub-view is empty
 * and carries the error too. */
struct reader reader_sub(struct reader *r, size_t n);

#endif
