/*
 * writer.c - growable writer with a hard maximum and backpatching.
 *
 * Growth doubles the allocation (starting at 256 bytes) but is clamped to max, so
 * a writer can never hold more than its limit whatever an encoder is asked to emit.
 */
#include "lib/writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void writer_init(struct writer *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

void writer_init_fixed(struct writer *w, void *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    w->max = cap;
    w->fixed = true;
}

void writer_release(struct writer *w)
{
    if (!w->fixed)
        free(w->buf);
    size_t max = w->max;
    memset(w, 0, sizeof *w);
    w->max = max;
}

void writer_reset(struct writer *w)
{
    w->len = 0;
    w->err = 0;
}

uint8_t *writer_detach(struct writer *w, size_t *len)
{
    if (w->err || w->fixed)
        return NULL;
    uint8_t *buf = w->buf;
    *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    if (!buf)
        buf = malloc(1); /* an empty result is still a buffer the caller frees */
    return buf;
}

int writer_grow(struct writer *w, size_t n)
{
    if (w->err)
        return w->err;
    if (n <= w->cap - w->len)
        return 0;
    if (w->fixed || n > w->max - w->len) {
        w->err = -EMSGSIZE;
        return w->err;
    }
    size_t want = w->len + n;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    if (cap > w->max)
        cap = w->max;
    uint8_t *p = realloc(w->buf, cap);
    if (!p) {
        w->err = -ENOMEM;
        return w->err;
    }
    w->buf = p;
    w->cap = cap;
    return 0;
}

void writer_bytes(struct writer *w, const void *p, size_t n)
{
    if (writer_grow(w, n))
        return;
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void writer_u8(struct writer *w, uint8_t v)
{
    writer_bytes(w, &v, 1);
}

void writer_be16(struct writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    writer_bytes(w, b, 2);
}

void writer_be32(struct writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    writer_bytes(w, b, 4);
}

void writer_be64(struct writer *w, uint64_t v)
{
    writer_be32(w, (uint32_t)(v >> 32));
    writer_be32(w, (uint32_t)v);
}

void writer_f64(struct writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    writer_be64(w, bits);
}

void writer_uvarlong(struct writer *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    writer_bytes(w, b, n);
}

void writer_uvarint(struct writer *w, uint32_t v)
{
    writer_uvarlong(w, v);
}

void writer_varint(struct writer *w, int32_t v)
{
    writer_uvarlong(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void writer_varlong(struct writer *w, int64_t v)
{
    writer_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t writer_reserve(struct writer *w, size_t n)
{
    if (writer_grow(w, n))
        return SIZE_MAX;
    size_t pos = w->len;
    memset(w->buf + pos, 0, n);
    w->len += n;
    return pos;
}

static uint8_t *patch_at(struct writer *w, size_t pos, size_t n)
{
    if (w->err || pos > w->len || n > w->len - pos)
        return NULL;
    return w->buf + pos;
}

void writer_set_be16(struct writer *w, size_t pos, uint16_t v)
{
    uint8_t *q = patch_at(w, pos, 2);
    if (q) {
        q[0] = (uint8_t)(v >> 8);
        q[1] = (uint8_t)v;
    }
}

void writer_set_be32(struct writer *w, size_t pos, uint32_t v)
{
    uint8_t *q = patch_at(w, pos, 4);
    if (q) {
        q[0] = (uint8_t)(v >> 24);
        q[1] = (uint8_t)(v >> 16);
        q[2] = (uint8_t)(v >> 8);
        q[3] = (uint8_t)v;
    }
}

void writer_set_be64(struct writer *w, size_t pos, uint64_t v)
{
    writer_set_be32(w, pos, (uint32_t)(v >> 32));
    writer_set_be32(w, pos + 4, (uint32_t)v);
}

size_t uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t varint_size(int32_t v)
{
    return uvarint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t varlong_size(int64_t v)
{
    return uvarint_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
