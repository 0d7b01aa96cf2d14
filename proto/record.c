/*
 * record.c - RecordBatch v2: header, framing, CRC, validation, iteration, building.
 *
 * Decoding has one parser. batch_iter checks the header and framing, decompresses
 * into its own bounded scratch buffer when the batch is compressed, and hands out
 * records one at a time as borrowed views. batch_validate() is that iterator run to
 * the end with the CRC checked, plus the offset-delta rules and the statistics, so
 * what validation accepts is exactly what iteration can read.
 *
 * Nothing read from the wire sizes anything: recordsCount is only compared with the
 * records that actually parse (and with max_records); each record is read inside the
 * sub-view its length prefix claims, and must fill it exactly, headers included.
 * Offsets and timestamps are base + delta computed modulo 2^64, so hostile values
 * wrap instead of overflowing (undefined behaviour in C); the builder subtracts the
 * same way, so any int64 timestamp round-trips.
 *
 * Check order in batch_iter_init follows what recovery and the Produce path need:
 * framing first (a bad length ends a log), then the CRC (anything it covers is
 * reported as corrupt, -EBADMSG), and only then the fields it protects (counts and
 * codec), so flipped bits never masquerade as an unsupported codec.
 *
 * Building appends each record once, uncompressed: its length prefix is computed from
 * varint sizes before the body is written. batch_builder_finish() writes the header
 * with the length and CRC zeroed, appends the records (compressed if asked), and
 * backpatches both.
 */
#include "proto/record.h"

#include <errno.h>
#include <string.h>

#include "lib/crc32c.h"

#define RECORDS_MIN_LENGTH (BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) /* smallest batchLength */

const struct batch_limits batch_limits_default = {
    .max_batch = 64u << 20,
    .max_decompressed = 256u << 20,
    .max_records = 4 << 20,
};

static const struct batch_limits *limits_or_default(const struct batch_limits *lim)
{
    return lim ? lim : &batch_limits_default;
}

static int64_t add_wrapping(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t sub_wrapping(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static uint32_t be32_at(const uint8_t *p)
{
    struct reader r;
    reader_init(&r, p, 4);
    return reader_be32(&r);
}

/* ---- header and framing ---- */

int batch_header_parse(const uint8_t *p, size_t len, struct batch_header *h)
{
    struct reader r;
    reader_init(&r, p, len);
    h->base_offset = (int64_t)reader_be64(&r);
    h->length = (int32_t)reader_be32(&r);
    h->leader_epoch = (int32_t)reader_be32(&r);
    h->magic = (int8_t)reader_u8(&r);
    if (!reader_ok(&r))
        return -EBADMSG;
    if (h->magic != BATCH_MAGIC)
        return -ENOTSUP;
    h->crc = reader_be32(&r);
    h->attributes = (int16_t)reader_be16(&r);
    h->last_offset_delta = (int32_t)reader_be32(&r);
    h->base_timestamp = (int64_t)reader_be64(&r);
    h->max_timestamp = (int64_t)reader_be64(&r);
    h->producer_id = (int64_t)reader_be64(&r);
    h->producer_epoch = (int16_t)reader_be16(&r);
    h->base_sequence = (int32_t)reader_be32(&r);
    h->records_count = (int32_t)reader_be32(&r);
    return reader_ok(&r) ? 0 : -EBADMSG;
}

int batch_frame(const uint8_t *p, size_t avail, size_t max, size_t *size)
{
    if (avail < BATCH_OFF_MAGIC + 1)
        return -EAGAIN;
    int32_t length = (int32_t)be32_at(p + BATCH_OFF_LENGTH);
    if (length < RECORDS_MIN_LENGTH)
        return -EBADMSG;
    if (p[BATCH_OFF_MAGIC] != BATCH_MAGIC)
        return -ENOTSUP;
    *size = BATCH_LOG_OVERHEAD + (size_t)length;
    if (*size > max)
        return -EMSGSIZE;
    return avail < *size ? -EAGAIN : 0;
}

bool batch_crc_ok(const uint8_t *p, size_t len)
{
    if (len < BATCH_HEADER_SIZE)
        return false;
    uint32_t want = be32_at(p + BATCH_OFF_CRC);
    return crc32c(0, p + BATCH_OFF_ATTRIBUTES, len - BATCH_OFF_ATTRIBUTES) == want;
}

void batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
    struct writer w;
    writer_init_fixed(&w, p + BATCH_OFF_BASE_OFFSET, 8);
    writer_be64(&w, (uint64_t)base_offset);
}

void batch_set_leader_epoch(uint8_t *p, int32_t epoch)
{
    struct writer w;
    writer_init_fixed(&w, p + BATCH_OFF_LEADER_EPOCH, 4);
    writer_be32(&w, (uint32_t)epoch);
}

int64_t batch_get_base_offset(const uint8_t *p)
{
    struct reader r;
    reader_init(&r, p + BATCH_OFF_BASE_OFFSET, 8);
    return (int64_t)reader_be64(&r);
}

/* The batch is len bytes and no more than the limit allows. */
static int frame_check(const struct batch_header *h, size_t len, const struct batch_limits *lim)
{
    if (len > lim->max_batch)
        return -EMSGSIZE;
    if (h->length < RECORDS_MIN_LENGTH || (size_t)h->length != len - BATCH_LOG_OVERHEAD)
        return -EBADMSG;
    return 0;
}

/* Fields the CRC protects, checked once it has been. */
static int fields_check(const struct batch_header *h, const struct batch_limits *lim)
{
    if (h->records_count < 0 || h->last_offset_delta < 0)
        return -EBADMSG;
    if (h->records_count > lim->max_records)
        return -EMSGSIZE;
    if ((h->attributes & BATCH_ATTR_CODEC_MASK) > CODEC_ZSTD)
        return -ENOTSUP;
    return 0;
}

/* ---- records ---- */

/* A length-prefixed byte run; length -1 is null, anything below is malformed. */
static void read_nullable(struct reader *r, const uint8_t **p, int32_t *len)
{
    *len = reader_varint(r);
    if (*len < -1)
        reader_fail(r, -EBADMSG);
    *p = *len < 0 ? NULL : reader_bytes(r, (size_t)*len);
}

int record_header_next(struct reader *headers, struct record_header *h)
{
    if (headers->err)
        return headers->err;
    if (reader_left(headers) == 0)
        return 0;
    h->key_len = reader_varint(headers);
    if (h->key_len < 0)
        reader_fail(headers, -EBADMSG); /* header keys are never null */
    h->key = reader_bytes(headers, h->key_len < 0 ? 0 : (size_t)h->key_len);
    read_nullable(headers, &h->value, &h->value_len);
    return reader_ok(headers) ? 1 : headers->err;
}

/* The headers view holds exactly count well-formed headers. */
static int headers_check(struct reader headers, int32_t count)
{
    struct record_header h;
    int32_t seen = 0;
    int rc;
    while ((rc = record_header_next(&headers, &h)) == 1)
        seen++;
    return rc < 0 || seen != count ? -EBADMSG : 0;
}

static int record_parse(struct reader *rd, const struct batch_header *h, struct record *r)
{
    int32_t size = reader_varint(rd);
    if (size < 0)
        return -EBADMSG;
    struct reader in = reader_sub(rd, (size_t)size);
    r->attributes = (int8_t)reader_u8(&in);
    int64_t timestamp_delta = reader_varlong(&in);
    int32_t offset_delta = reader_varint(&in);
    read_nullable(&in, &r->key, &r->key_len);
    read_nullable(&in, &r->value, &r->value_len);
    r->headers_count = reader_varint(&in);
    r->headers = reader_sub(&in, reader_left(&in));
    if (!reader_ok(&in) || r->headers_count < 0)
        return -EBADMSG;
    int rc = headers_check(r->headers, r->headers_count);
    if (rc)
        return rc;
    r->offset = add_wrapping(h->base_offset, offset_delta);
    if (h->attributes & BATCH_ATTR_LOG_APPEND_TIME)
        r->timestamp = h->max_timestamp;
    else
        r->timestamp = add_wrapping(h->base_timestamp, timestamp_delta);
    return 0;
}

/* ---- iterating ---- */

/* Point the iterator's reader at the records, decompressing them if needed. */
static int records_open(struct batch_iter *it, const uint8_t *p, size_t len,
                        const struct batch_limits *lim)
{
    const uint8_t *records = p + BATCH_HEADER_SIZE;
    size_t n = len - BATCH_HEADER_SIZE;
    enum codec codec = (enum codec)(it->h.attributes & BATCH_ATTR_CODEC_MASK);
    if (codec != CODEC_NONE) {
        int rc = codec_decompress(codec, records, n, lim->max_decompressed, &it->scratch);
        if (rc)
            return rc;
        records = it->scratch.buf;
        n = it->scratch.len;
    }
    reader_init(&it->rd, records, n);
    it->remaining = it->h.records_count;
    return 0;
}

static int batch_open(struct batch_iter *it, const uint8_t *p, size_t len,
                      const struct batch_limits *lim, bool check_crc)
{
    int rc = batch_header_parse(p, len, &it->h);
    if (rc)
        return rc;
    rc = frame_check(&it->h, len, lim);
    if (rc)
        return rc;
    if (check_crc && !batch_crc_ok(p, len))
        return -EBADMSG;
    rc = fields_check(&it->h, lim);
    if (rc)
        return rc;
    return records_open(it, p, len, lim);
}

int batch_iter_init(struct batch_iter *it, const uint8_t *p, size_t len,
                    const struct batch_limits *lim, bool check_crc)
{
    lim = limits_or_default(lim);
    memset(it, 0, sizeof *it);
    writer_init(&it->scratch, lim->max_decompressed);
    reader_init(&it->rd, NULL, 0);
    it->err = batch_open(it, p, len, lim, check_crc);
    return it->err;
}

int batch_iter_next(struct batch_iter *it, struct record *r)
{
    if (it->err)
        return it->err;
    if (it->remaining == 0) {
        if (reader_left(&it->rd))
            it->err = -EBADMSG; /* bytes after the last record the header counts */
        return it->err;
    }
    it->err = record_parse(&it->rd, &it->h, r);
    if (it->err)
        return it->err;
    it->remaining--;
    return 1;
}

void batch_iter_release(struct batch_iter *it)
{
    writer_release(&it->scratch);
    reader_init(&it->rd, NULL, 0);
    it->remaining = 0;
}

/* ---- validating ---- */

/*
 * A zigzag varint from [*pp, end) into *v: a 32-bit one (max_bytes 5) or a 64-bit
 * one (10); false when it runs past end, is too long, or its last byte carries bits
 * past 32 or 64 - exactly the encodings lib/reader.h refuses, so that what this
 * scan accepts the iterator can read. The validation scan's own decoder: it keeps
 * the record walk to plain pointer arithmetic.
 */
static inline bool scan_varint(const uint8_t **pp, const uint8_t *end, int max_bytes, int64_t *v)
{
    const uint8_t *q = *pp;
    const uint8_t past = max_bytes == 5 ? 0x70 : 0x7e; /* bits of the last byte past the width */
    uint64_t u = 0;
    for (int shift = 0; shift < 7 * max_bytes; shift += 7) {
        if (q == end)
            return false;
        uint8_t b = *q++;
        if (shift == 7 * (max_bytes - 1) && (b & past))
            return false;
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = q;
            *v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
            return true;
        }
    }
    return false;
}

/* Skip a length-prefixed run (length -1: null) and return its length in *len. */
static inline bool scan_bytes(const uint8_t **pp, const uint8_t *end, int64_t *len)
{
    if (!scan_varint(pp, end, 5, len) || *len < -1 || (*len > 0 && *len > end - *pp))
        return false;
    if (*len > 0)
        *pp += *len;
    return true;
}

/*
 * Walk the records of a batch as batch_iter would, without building them: every
 * record's length, fields and headers must fit it exactly, offset deltas must
 * increase within [0, lastOffsetDelta], and the count must match the header. This
 * is the hot part of every append, hence the separate, lean walk.
 */
static int records_scan(const uint8_t *p, size_t n, const struct batch_header *h, bool allow_gaps,
                        struct batch_stats *st)
{
    const uint8_t *q = p, *end = p + n;
    int64_t prev = -1;
    while (q < end) {
        int64_t size, ts, delta, klen, vlen, nh, hk, hv;
        if (!scan_varint(&q, end, 5, &size) || size < 0 || size > end - q)
            return -EBADMSG;
        const uint8_t *rend = q + size;
        if (q == rend)
            return -EBADMSG;
        q++; /* attributes */
        if (!scan_varint(&q, rend, 10, &ts) || !scan_varint(&q, rend, 5, &delta) ||
            !scan_bytes(&q, rend, &klen) || !scan_bytes(&q, rend, &vlen) ||
            !scan_varint(&q, rend, 5, &nh) || nh < 0)
            return -EBADMSG;
        for (int64_t i = 0; i < nh; i++)
            if (!scan_bytes(&q, rend, &hk) || hk < 0 || !scan_bytes(&q, rend, &hv))
                return -EBADMSG;
        if (q != rend || delta <= prev || delta > h->last_offset_delta ||
            st->records >= h->records_count)
            return -EBADMSG;
        prev = delta;
        st->records++;
        st->key_bytes += klen > 0 ? klen : 0;
        st->value_bytes += vlen > 0 ? vlen : 0;
        st->null_values += vlen < 0;
        st->null_keys += klen < 0;
    }
    if (st->records != h->records_count)
        return -EBADMSG;
    if (!allow_gaps && st->records > 0 && prev != h->last_offset_delta)
        return -EBADMSG;
    return 0;
}

int batch_validate(const uint8_t *p, size_t len, const struct batch_limits *lim, bool allow_gaps,
                   struct batch_header *h, struct batch_stats *st)
{
    struct batch_iter it;
    struct batch_stats stats = {0};
    int rc = batch_iter_init(&it, p, len, lim, true);
    if (rc)
        goto release_iter;
    rc = records_scan(it.rd.p, it.rd.len, &it.h, allow_gaps, &stats);
    if (rc)
        goto release_iter;
    if (h)
        *h = it.h;
    if (st)
        *st = stats;
release_iter:
    batch_iter_release(&it);
    return rc;
}

/* ---- building ---- */

void batch_builder_init(struct batch_builder *b, enum codec codec, size_t max)
{
    memset(b, 0, sizeof *b);
    writer_init(&b->records, max);
    b->codec = codec;
    b->producer_id = -1;
    b->producer_epoch = -1;
    b->base_sequence = -1;
    b->leader_epoch = -1;
    batch_builder_reset(b);
}

void batch_builder_release(struct batch_builder *b)
{
    writer_release(&b->records);
    batch_builder_reset(b);
}

void batch_builder_reset(struct batch_builder *b)
{
    writer_reset(&b->records);
    b->base_timestamp = -1;
    b->max_timestamp = -1;
    b->count = 0;
    b->last_delta = -1;
}

size_t batch_builder_size(const struct batch_builder *b)
{
    return b->records.len;
}

static bool bytes_arg_ok(const void *p, int32_t len, bool nullable)
{
    return len >= (nullable ? -1 : 0) && (p || len <= 0);
}

static bool record_args_ok(const void *key, int32_t key_len, const void *value, int32_t value_len,
                           const struct record_header *headers, int32_t headers_count)
{
    if (!bytes_arg_ok(key, key_len, true) || !bytes_arg_ok(value, value_len, true))
        return false;
    if (headers_count < 0 || (headers_count > 0 && !headers))
        return false;
    for (int32_t i = 0; i < headers_count; i++) {
        if (!bytes_arg_ok(headers[i].key, headers[i].key_len, false) ||
            !bytes_arg_ok(headers[i].value, headers[i].value_len, true))
            return false;
    }
    return true;
}

/* Encoded size of a length-prefixed run. */
static uint64_t nullable_size(int32_t len)
{
    return varint_size(len) + (len > 0 ? (uint64_t)len : 0);
}

/* Size of a record after its length prefix; anything over INT32_MAX means too big. */
static uint64_t record_body_size(int64_t timestamp_delta, int32_t offset_delta, int32_t key_len,
                                 int32_t value_len, const struct record_header *headers,
                                 int32_t headers_count)
{
    uint64_t n = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta) +
                 nullable_size(key_len) + nullable_size(value_len) + varint_size(headers_count);
    for (int32_t i = 0; i < headers_count && n <= INT32_MAX; i++)
        n += nullable_size(headers[i].key_len) + nullable_size(headers[i].value_len);
    return n;
}

static void write_nullable(struct writer *w, const void *p, int32_t len)
{
    writer_varint(w, len);
    if (len > 0)
        writer_bytes(w, p, (size_t)len);
}

int batch_builder_add(struct batch_builder *b, int64_t timestamp, const void *key, int32_t key_len,
                      const void *value, int32_t value_len, const struct record_header *headers,
                      int32_t headers_count)
{
    if (b->last_delta == INT32_MAX)
        return -EMSGSIZE;
    return batch_builder_add_at(b, b->last_delta + 1, timestamp, key, key_len, value, value_len,
                                headers, headers_count);
}

int batch_builder_add_at(struct batch_builder *b, int32_t offset_delta, int64_t timestamp,
                         const void *key, int32_t key_len, const void *value, int32_t value_len,
                         const struct record_header *headers, int32_t headers_count)
{
    if (offset_delta <= b->last_delta ||
        !record_args_ok(key, key_len, value, value_len, headers, headers_count))
        return -EINVAL;
    int64_t timestamp_delta = b->count ? sub_wrapping(timestamp, b->base_timestamp) : 0;
    uint64_t body =
        record_body_size(timestamp_delta, offset_delta, key_len, value_len, headers, headers_count);
    struct writer *w = &b->records;
    if (body > INT32_MAX || varint_size((int32_t)body) + body > w->max - w->len)
        return -EMSGSIZE;
    size_t mark = w->len;
    writer_varint(w, (int32_t)body);
    writer_u8(w, 0); /* record attributes: none are defined */
    writer_varlong(w, timestamp_delta);
    writer_varint(w, offset_delta);
    write_nullable(w, key, key_len);
    write_nullable(w, value, value_len);
    writer_varint(w, headers_count);
    for (int32_t i = 0; i < headers_count; i++) {
        write_nullable(w, headers[i].key, headers[i].key_len);
        write_nullable(w, headers[i].value, headers[i].value_len);
    }
    if (!writer_ok(w)) {
        int rc = w->err;
        w->len = mark; /* only -ENOMEM gets here; the builder stays usable */
        w->err = 0;
        return rc;
    }
    if (b->count == 0 || timestamp > b->max_timestamp)
        b->max_timestamp = timestamp;
    if (b->count == 0)
        b->base_timestamp = timestamp;
    b->count++;
    b->last_delta = offset_delta;
    return 0;
}

static void header_write(const struct batch_builder *b, int32_t last_offset_delta,
                         struct writer *out)
{
    writer_be64(out, 0); /* baseOffset: the log assigns it */
    writer_be32(out, 0); /* batchLength, patched by batch_seal() */
    writer_be32(out, (uint32_t)b->leader_epoch);
    writer_u8(out, BATCH_MAGIC);
    writer_be32(out, 0); /* crc, patched by batch_seal() */
    writer_be16(out, (uint16_t)((b->attributes & ~BATCH_ATTR_CODEC_MASK) | (int)b->codec));
    writer_be32(out, (uint32_t)last_offset_delta);
    writer_be64(out, (uint64_t)b->base_timestamp);
    writer_be64(out, (uint64_t)b->max_timestamp);
    writer_be64(out, (uint64_t)b->producer_id);
    writer_be16(out, (uint16_t)b->producer_epoch);
    writer_be32(out, (uint32_t)b->base_sequence);
    writer_be32(out, (uint32_t)b->count);
}

/* Fill in batchLength and the CRC of the batch written at start. */
static int batch_seal(struct writer *out, size_t start)
{
    size_t size = out->len - start;
    if (size - BATCH_LOG_OVERHEAD > INT32_MAX)
        return -EMSGSIZE;
    writer_set_be32(out, start + BATCH_OFF_LENGTH, (uint32_t)(size - BATCH_LOG_OVERHEAD));
    uint32_t crc = crc32c(0, out->buf + start + BATCH_OFF_ATTRIBUTES, size - BATCH_OFF_ATTRIBUTES);
    writer_set_be32(out, start + BATCH_OFF_CRC, crc);
    return 0;
}

int batch_builder_finish(struct batch_builder *b, int32_t last_offset_delta, struct writer *out)
{
    if (out->err)
        return out->err;
    if ((unsigned)b->codec > CODEC_ZSTD)
        return -ENOTSUP;
    if (last_offset_delta < 0)
        last_offset_delta = b->last_delta < 0 ? 0 : b->last_delta;
    else if (last_offset_delta < b->last_delta)
        return -EINVAL;
    size_t start = out->len;
    header_write(b, last_offset_delta, out);
    int rc = out->err;
    if (!rc)
        rc = codec_compress(b->codec, b->records.buf, b->records.len, out);
    if (!rc)
        rc = batch_seal(out, start);
    if (rc) {
        out->len = start;
        out->err = 0;
    }
    return rc;
}
