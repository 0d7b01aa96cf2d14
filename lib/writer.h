/*
 * writer.h - a growable byte writer with a hard maximum.
 *
 * Encoders append big-endian integers, varints and byte runs; the buffer grows on
 * the heap up to `max` bytes and never past it. Like the reader, errors are sticky:
 * the first failure (-ENOMEM, or -EMSGSIZE when the maximum would be exceeded) is
 * kept in err and later writes do nothing, so an encoder checks once at the end.
 *
 * Lengths that are only known after their contents are written use
 * reserve-then-backpatch: writer_reserve() returns the position of a gap that
 * writer_set_be32() fills in later.
 */
#ifndef BROOK_LIB_WRITER_H
#define BROOK_LIB_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct writer {
    uint8_t *buf; /* owned heap buffer, or the caller's when fixed */
    size_t len;   /* bytes written */
    size_t cap;   /* bytes allocated */
    size_t max;   /* hard limit on len */
    int err;      /* 0, or the first error (negative errno); sticky */
    bool fixed;   /* buf belongs to the caller and never grows */
};

/* A heap writer that may grow to max bytes. Allocates nothing until written. */
void writer_init(struct writer *w, size_t max);

/* A writer over the caller's buffer of cap bytes; it never reallocates. */
void writer_init_fixed(struct writer *w, void *buf, size_t cap);

/* Free the heap buffer (not a fixed one) and reset to empty. */
void writer_release(struct writer *w);

/* Forget the contents but keep the allocation and the maximum. */
void writer_reset(struct writer *w);

/* Hand the heap buffer to the caller (who frees it); the writer is left empty.
 * Returns NULL if the writer failed or holds a fixed buffer. */
uint8_t *writer_detach(struct writer *w, size_t *len);

static inline bool writer_ok(const struct writer *w)
{
    return w->err == 0;
}

/* Make room for n more bytes; returns 0 or the (sticky) error. */
int writer_grow(struct writer *w, size_t n);

void writer_u8(struct writer *w, uint8_t v);
void writer_be16(struct writer *w, uint16_t v);
void writer_be32(struct writer *w, uint32_t v);
void writer_be64(struct writer *w, uint64_t v);
void writer_f64(struct writer *w, double v);
void writer_varint(struct writer *w, int32_t v);
void writer_varlong(struct writer *w, int64_t v);
void writer_uvarint(struct writer *w, uint32_t v);
void writer_uvarlong(struct writer *w, uint64_t v);
void writer_bytes(struct writer *w, const void *p, size_t n);

/* Reserve n bytes (zeroed) and return their position, for a later backpatch.
 * Returns SIZE_MAX after an error. */
size_t writer_reserve(struct writer *w, size_t n);

/* Overwrite already-written bytes at pos (ignored if out of range or failed). */
void writer_set_be16(struct writer *w, size_t pos, uint16_t v);
void writer_set_be32(struct writer *w, size_t pos, uint32_t v);
void writer_set_be64(struct writer *w, size_t pos, uint64_t v);

/* Encoded size of an unsigned varint / zigzag varint / zigzag varlong. */
size_t uvarint_size(uint64_t v);
size_t varint_size(int32_t v);
size_t varlong_size(int64_t v);

#endif
