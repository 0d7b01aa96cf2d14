/*
 * reader.c - bounded big-endian and varint reads with a sticky error.
 *
 * Multi-byte integers are assembled with explicit shifts, never by overlaying
 * structs or casting pointers, so alignment and host byte order never matter. The
 * hot reads (a byte, a one-byte varint, a run of bytes that is there) are inline in
 * reader.h; these functions are their general cases.
 */
#include "lib/reader.h"

#include <errno.h>
#include <string.h>

void reader_init(struct reader *r, const void *p, size_t len)
{
    static const uint8_t empty[1];

    r->p = p ? p : empty;
    r->len = p ? len : 0;
    r->off = 0;
    r->err = 0;
}

void reader_fail(struct reader *r, int err)
{
    if (!r->err)
        r->err = err;
}

/* Pointer to the next n bytes, advancing; NULL after (or on) an error. */
static const uint8_t *take(struct reader *r, size_t n)
{
    if (r->err)
        return NULL;
    if (n > r->len - r->off) {
        r->err = -EBADMSG;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}

uint8_t reader_u8_slow(struct reader *r)
{
    const uint8_t *q = take(r, 1);
    return q ? q[0] : 0;
}

uint16_t reader_be16(struct reader *r)
{
    const uint8_t *q = take(r, 2);
    return q ? (uint16_t)((unsigned)q[0] << 8 | q[1]) : 0;
}

uint32_t reader_be32(struct reader *r)
{
    const uint8_t *q = take(r, 4);
    if (!q)
        return 0;
    return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

uint64_t reader_be64(struct reader *r)
{
    uint64_t hi = reader_be32(r);
    return hi << 32 | reader_be32(r);
}

double reader_f64(struct reader *r)
{
    uint64_t bits = reader_be64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

uint64_t reader_uvarlong_slow(struct reader *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        const uint8_t *q = take(r, 1);
        if (!q)
            return 0;
        if (shift == 63 && (*q & 0x7e)) /* bits past 64 */
            break;
        v |= (uint64_t)(*q & 0x7f) << shift;
        if (!(*q & 0x80))
            return v;
    }
    reader_fail(r, -EBADMSG);
    return 0;
}

uint32_t reader_uvarint_slow(struct reader *r)
{
    uint32_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        const uint8_t *q = take(r, 1);
        if (!q)
            return 0;
        if (shift == 28 && (*q & 0x70)) /* bits past 32 */
            break;
        v |= (uint32_t)(*q & 0x7f) << shift;
        if (!(*q & 0x80))
            return v;
    }
    reader_fail(r, -EBADMSG);
    return 0;
}

const uint8_t *reader_bytes_slow(struct reader *r, size_t n)
{
    return take(r, n);
}

void reader_skip(struct reader *r, size_t n)
{
    (void)take(r, n);
}

struct reader reader_sub(struct reader *r, size_t n)
{
    struct reader sub;
    const uint8_t *q = take(r, n);
    reader_init(&sub, q, q ? n : 0);
    sub.err = q ? 0 : r->err;
    return sub;
}
