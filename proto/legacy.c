/*
 * legacy.c - message sets (magic 0 and 1) to RecordBatch v2 and back (legacy.h).
 *
 * Up-conversion walks the produced set with a bounded reader: a message is taken
 * only when its stated size fits in what is left, and its key and value lengths in
 * that size, so nothing is sized from a peer's number beyond the bytes it sent. A
 * wrapper's value is decompressed through codec_decompress() with the request's
 * remaining decompression budget as the cap, so a small bomb stops at the cap. The
 * records go into a batch_builder whose own maximum bounds the batch.
 *
 * Facts of the old formats that the code below depends on:
 * - The CRC is CRC-32 (IEEE, zlib's crc32) over magic..end of the message.
 * - Kafka never nests wrappers: an inner message with a codec is refused, and so is
 *   an inner magic other than the wrapper's. Inner offsets of magic 1 are relative
 *   and must run 0, 1, 2, ...; magic 0 inner offsets carry nothing (the broker
 *   assigns offsets anyway).
 * - lz4 under magic 0 was written by Kafka's own frame writer with a header checksum
 *   computed over the frame's magic number as well as its descriptor, which the lz4
 *   frame format (and liblz4) reject; Kafka's reader ignores that byte for magic 0.
 *   So for magic 0 the byte is recomputed before liblz4 sees the frame; magic 1
 *   frames must be right as they are.
 * - snappy wrappers are xerial-framed (Java clients) or one raw block (others);
 *   codec_decompress() takes both.
 *
 * Down-conversion writes messages straight into the caller's writer and checks the
 * byte limit before each message, so a response holds whole messages only (except
 * the Fetch v0-2 case legacy.h describes).
 */
#include "proto/legacy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lib/reader.h"
#include "proto/record.h"

#define MSG_MIN_BODY 14 /* crc, magic, attributes, key and value lengths */
#define LZ4_MAGIC    0x184D2204u

size_t legacy_message_size(int8_t magic, int32_t key_len, int32_t value_len)
{
    size_t n = magic == 0 ? LEGACY_MAGIC0_OVERHEAD : LEGACY_MAGIC1_OVERHEAD;
    return n + (size_t)(key_len > 0 ? key_len : 0) + (size_t)(value_len > 0 ? value_len : 0);
}

/* ---- reading messages ---- */

struct msg {
    int64_t offset;
    int8_t magic;
    int8_t attributes;
    int64_t timestamp; /* -1 for magic 0 */
    const uint8_t *key, *value;
    int32_t key_len, value_len; /* -1: null */
};

/* An int32 length and that many bytes, all within r. */
static int msg_field(struct reader *r, const uint8_t **p, int32_t *len)
{
    *len = (int32_t)reader_be32(r);
    *p = NULL;
    if (*len < -1 || (*len > 0 && (size_t)*len > reader_left(r)))
        return -EBADMSG;
    if (*len > 0)
        *p = reader_bytes(r, (size_t)*len);
    return reader_ok(r) ? 0 : -EBADMSG;
}

/* The next message of the set in r: 1, 0 at the end, or an error. */
static int msg_next(struct reader *r, struct msg *m)
{
    if (reader_left(r) == 0)
        return 0;
    m->offset = (int64_t)reader_be64(r);
    uint32_t size = reader_be32(r);
    if (!reader_ok(r) || size < MSG_MIN_BODY || size > reader_left(r))
        return -EBADMSG; /* truncated, or a size that is not there */
    struct reader body = reader_sub(r, size);
    uint32_t crc = reader_be32(&body);
    const uint8_t *covered = body.p + body.off;
    m->magic = (int8_t)reader_u8(&body);
    if (m->magic < 0 || m->magic > 1)
        return -ENOTSUP;
    if ((uint32_t)crc32(0, covered, size - 4) != crc)
        return -EBADMSG;
    m->attributes = (int8_t)reader_u8(&body);
    m->timestamp = m->magic == 1 ? (int64_t)reader_be64(&body) : -1;
    int rc = msg_field(&body, &m->key, &m->key_len);
    if (!rc)
        rc = msg_field(&body, &m->value, &m->value_len);
    if (!rc && (!reader_ok(&body) || reader_left(&body) != 0))
        rc = -EBADMSG; /* bytes after the value */
    return rc ? rc : 1;
}

/* ---- decompressing a wrapper's value ---- */

static uint32_t rotl32(uint32_t x, int r)
{
    return x << r | x >> (32 - r);
}

/* XXH32 with seed 0 of fewer than 16 bytes: the lz4 frame header checksum. */
static uint32_t xxh32_short(const uint8_t *p, size_t n)
{
    const uint32_t p1 = 0x9E3779B1u, p2 = 0x85EBCA77u, p3 = 0xC2B2AE3Du, p4 = 0x27D4EB2Fu,
                   p5 = 0x165667B1u;
    uint32_t h = p5 + (uint32_t)n;
    for (; n >= 4; p += 4, n -= 4) {
        uint32_t v =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        h = rotl32(h + v * p3, 17) * p4;
    }
    for (; n > 0; p++, n--)
        h = rotl32(h + *p * p5, 11) * p1;
    h ^= h >> 15;
    h *= p2;
    h ^= h >> 13;
    h *= p3;
    return h ^ h >> 16;
}

/* Rewrite the header checksum of the lz4 frame in buf (a copy) to the one the frame
 * format defines. -EBADMSG if it is not an lz4 frame header. */
static int lz4_header_fix(uint8_t *buf, size_t n)
{
    if (n < 7)
        return -EBADMSG;
    uint32_t magic =
        (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
    if (magic != LZ4_MAGIC)
        return -EBADMSG;
    uint8_t flg = buf[4];
    size_t desc = 2 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0); /* content size, dict id */
    if (4 + desc + 1 > n)
        return -EBADMSG;
    buf[4 + desc] = (uint8_t)(xxh32_short(buf + 4, desc) >> 8);
    return 0;
}

/* Decompress a wrapper's value into out, at most max_out bytes. */
static int legacy_inflate(enum codec codec, int8_t magic, const uint8_t *in, size_t n,
                          size_t max_out, struct writer *out)
{
    if (codec != CODEC_LZ4 || magic != 0)
        return codec_decompress(codec, in, n, max_out, out);
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, in, n);
    int rc = lz4_header_fix(copy, n);
    if (!rc)
        rc = codec_decompress(codec, copy, n, max_out, out);
    free(copy);
    return rc;
}

/* ---- up-conversion ---- */

struct up {
    struct batch_builder bb;
    size_t budget;   /* decompressed bytes still allowed */
    bool have_codec; /* bb.codec was taken from a wrapper */
};

static int up_add(struct up *u, const struct msg *m, int64_t timestamp)
{
    return batch_builder_add(&u->bb, timestamp, m->key, m->key_len, m->value, m->value_len, NULL,
                             0);
}

/* The inner messages of wrapper w, decompressed in set. */
static int up_inner(struct up *u, const struct msg *w, const struct writer *set)
{
    struct reader r;
    struct msg m;
    int32_t i = 0;
    int rc;
    reader_init(&r, set->buf, set->len);
    while ((rc = msg_next(&r, &m)) == 1) {
        if ((m.attributes & LEGACY_ATTR_CODEC_MASK) != 0 || m.magic != w->magic)
            return -EPROTO; /* a wrapper in a wrapper, or mixed magic */
        if (m.magic == 1 && m.offset != i)
            return -EPROTO; /* magic 1 inner offsets are 0, 1, 2, ... */
        int64_t ts = w->attributes & LEGACY_ATTR_LOG_APPEND ? w->timestamp : m.timestamp;
        rc = up_add(u, &m, ts);
        if (rc)
            return rc;
        i++;
    }
    if (rc == -ENOTSUP)
        return -EPROTO; /* an inner magic the wrapper cannot hold */
    return rc ? rc : i == 0 ? -EBADMSG : 0;
}

static int up_wrapper(struct up *u, const struct msg *w, int codec)
{
    if (codec > CODEC_LZ4)
        return -ENOTSUP; /* zstd came with RecordBatch v2 */
    if (w->value_len <= 0)
        return -EBADMSG; /* no codec's stream is empty */
    struct writer set;
    writer_init(&set, u->budget);
    int rc = legacy_inflate((enum codec)codec, w->magic, w->value, (size_t)w->value_len, u->budget,
                            &set);
    if (rc && rc != -EMSGSIZE && rc != -ENOMEM)
        rc = -EBADMSG;
    if (!rc) {
        u->budget -= set.len;
        rc = up_inner(u, w, &set);
    }
    if (!rc && !u->have_codec) {
        u->bb.codec = (enum codec)codec; /* stored compressed as it was sent */
        u->have_codec = true;
    }
    writer_release(&set);
    return rc;
}

int legacy_upconvert(const uint8_t *p, size_t len, size_t max_bytes, struct writer *out,
                     int32_t *count)
{
    struct up u = {.budget = max_bytes};
    struct reader r;
    struct msg m;
    int rc;
    batch_builder_init(&u.bb, CODEC_NONE, max_bytes);
    reader_init(&r, p, len);
    while ((rc = msg_next(&r, &m)) == 1) {
        int codec = m.attributes & LEGACY_ATTR_CODEC_MASK;
        rc = codec ? up_wrapper(&u, &m, codec) : up_add(&u, &m, m.timestamp);
        if (rc)
            goto release;
    }
    if (rc)
        goto release;
    if (u.bb.count == 0) {
        rc = -EPROTO; /* Kafka refuses a produce without records */
        goto release;
    }
    rc = batch_builder_finish(&u.bb, -1, out);
    if (!rc && count)
        *count = u.bb.count;
release:
    batch_builder_release(&u.bb);
    return rc;
}

/* ---- down-conversion ---- */

void legacy_down_init(struct legacy_down *d, struct writer *out, int8_t magic, int64_t from,
                      size_t limit)
{
    *d = (struct legacy_down){
        .out = out, .start = out->len, .limit = limit, .magic = magic, .from = from, .next = from};
}

static void down_write(struct legacy_down *d, const struct record *r, bool log_append)
{
    struct writer *w = d->out;
    size_t size = legacy_message_size(d->magic, r->key_len, r->value_len);
    size_t pos = w->len;
    writer_be64(w, (uint64_t)r->offset);
    writer_be32(w, (uint32_t)(size - 12));
    writer_be32(w, 0); /* the crc, once the rest is written */
    writer_u8(w, (uint8_t)d->magic);
    writer_u8(w, d->magic == 1 && log_append ? LEGACY_ATTR_LOG_APPEND : 0);
    if (d->magic == 1)
        writer_be64(w, (uint64_t)r->timestamp);
    writer_be32(w, (uint32_t)r->key_len);
    if (r->key_len > 0)
        writer_bytes(w, r->key, (size_t)r->key_len);
    writer_be32(w, (uint32_t)r->value_len);
    if (r->value_len > 0)
        writer_bytes(w, r->value, (size_t)r->value_len);
    if (writer_ok(w))
        writer_set_be32(w, pos + 12, (uint32_t)crc32(0, w->buf + pos + 16, (uInt)(size - 16)));
}

/* One record as a message: 0, 1 when out is full, or the writer's error. */
static int down_message(struct legacy_down *d, const struct record *r, bool log_append)
{
    size_t size = legacy_message_size(d->magic, r->key_len, r->value_len);
    size_t used = d->out->len - d->start;
    bool fits = used + size <= d->limit;
    bool first = d->messages == 0;
    if (!fits && !(first && (d->first_whole || d->first_partial)))
        return 1;
    size_t pos = d->out->len;
    down_write(d, r, log_append);
    if (!writer_ok(d->out)) { /* no half message: back to the last whole one */
        int rc = d->out->err;
        d->out->len = pos;
        d->out->err = 0;
        return rc;
    }
    d->messages++;
    d->next = r->offset + 1;
    if (fits)
        return 0;
    if (!d->first_whole)
        d->out->len = d->start + d->limit; /* cut: the client sees a partial message */
    return 1;
}

int legacy_down_batch(struct legacy_down *d, const uint8_t *p, size_t len)
{
    struct batch_iter it;
    struct record r;
    int rc = batch_iter_init(&it, p, len, NULL, false);
    if (rc)
        goto release;
    int64_t end = it.h.base_offset + it.h.last_offset_delta + 1;
    if (!(it.h.attributes & BATCH_ATTR_CONTROL)) {
        bool log_append = it.h.attributes & BATCH_ATTR_LOG_APPEND_TIME;
        while ((rc = batch_iter_next(&it, &r)) == 1) {
            if (r.offset < d->from)
                continue;
            rc = down_message(d, &r, log_append);
            if (rc)
                goto release;
        }
        if (rc)
            goto release;
    }
    if (end > d->next)
        d->next = end; /* past records compaction removed, or a control batch */
release:
    batch_iter_release(&it);
    return rc;
}
