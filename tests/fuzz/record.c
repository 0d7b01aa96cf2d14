/*
 * record.c - fuzz RecordBatch v2 (proto/record.c) and the codecs (proto/codec.c,
 * proto/snappy.c).
 *
 * Input: a control byte, then the bytes the mode wants.
 *   mode 0  a whole batch, as is (real CRCs: what a peer or a disk hands over)
 *   mode 1  a whole batch whose batchLength and CRC the target sets, so mutations
 *           reach the records instead of stopping at the CRC
 *   mode 2  i32 recordsCount, i32 lastOffsetDelta, u8 attribute bits, then the
 *           records section uncompressed: the target compresses it with the codec
 *           the control byte names and wraps it in a batch with a good CRC
 *   mode 3  u8 codec, u16 output limit (KiB), then bytes for codec_decompress()
 * Control bits: 0-1 the mode, 2 allow offset gaps (compacted batches), 3-5 the codec
 * for mode 2.
 *
 * Batch checks. batch_validate() has its own lean record walk, separate from the
 * iterator's parser (record.c says what validation accepts is exactly what
 * iteration can read), so the two are compared: the batch validates exactly when
 * the iterator (CRC checked) reads recordsCount records to the end with offset
 * deltas strictly increasing within [0, lastOffsetDelta] (the last one equal to it
 * unless gaps are allowed), and the statistics must agree. A valid batch is rebuilt
 * from its records with batch_builder (same codec and header fields) and must
 * validate and iterate to the same records.
 *
 * Codec checks: output within the limit; on error the writer as it was; a stream
 * that decompresses to L bytes does so again with a limit of exactly L and fails
 * with -EMSGSIZE with L - 1; compressing the output and decompressing that gives it
 * back.
 */
#include "tests/fuzz/fuzz.h"

#include "lib/crc32c.h"
#include "lib/reader.h"
#include "lib/writer.h"
#include "proto/record.h"

#define MAX_DECOMP  (4u << 20)
#define MAX_RECORDS (1 << 20)
#define PREFIX      "pre" /* bytes already in a writer before a codec call */

struct seen {
    int32_t records;
    int64_t key_bytes, value_bytes;
    int32_t null_keys, null_values;
    int64_t last_delta; /* -1 before the first record */
    bool deltas_ok;     /* strictly increasing, within [0, lastOffsetDelta] */
    uint32_t touch;     /* a sum over every byte handed out, so ASan sees them read */
};

static uint32_t touch(const uint8_t *p, int32_t len)
{
    uint32_t s = 0;
    for (int32_t i = 0; i < len; i++)
        s += p[i];
    return s;
}

/* Check one record against its batch and add it to s. */
static void record_note(const struct batch_header *h, const struct record *r, struct seen *s)
{
    int64_t delta = (int64_t)((uint64_t)r->offset - (uint64_t)h->base_offset);
    FUZZ_CHECK(delta >= INT32_MIN && delta <= INT32_MAX);
    if (delta <= s->last_delta || delta > h->last_offset_delta)
        s->deltas_ok = false;
    s->last_delta = delta;
    FUZZ_CHECK(r->key_len >= -1 && (r->key_len < 0) == (r->key == NULL));
    FUZZ_CHECK(r->value_len >= -1 && (r->value_len < 0) == (r->value == NULL));
    if (h->attributes & BATCH_ATTR_LOG_APPEND_TIME)
        FUZZ_CHECK(r->timestamp == h->max_timestamp);
    s->touch += touch(r->key, r->key_len) + touch(r->value, r->value_len);
    struct reader hr = r->headers;
    struct record_header rh;
    int32_t n = 0;
    int rc;
    while ((rc = record_header_next(&hr, &rh)) == 1) {
        FUZZ_CHECK(rh.key_len >= 0 && rh.value_len >= -1 && (rh.value_len < 0) == !rh.value);
        s->touch += touch(rh.key, rh.key_len) + touch(rh.value, rh.value_len);
        n++;
    }
    FUZZ_CHECK(rc == 0 && n == r->headers_count);
    s->records++;
    s->key_bytes += r->key_len > 0 ? r->key_len : 0;
    s->value_bytes += r->value_len > 0 ? r->value_len : 0;
    s->null_keys += r->key_len < 0;
    s->null_values += r->value_len < 0;
}

/* Iterate the whole batch; 0 when every record parsed and nothing trails. *init is
 * batch_iter_init()'s answer and *h the header it read. */
static int iterate(const uint8_t *p, size_t n, const struct batch_limits *lim, bool crc,
                   struct seen *s, struct batch_header *h, int *init)
{
    struct batch_iter it;
    struct record r;
    int rc = *init = batch_iter_init(&it, p, n, lim, crc);
    *s = (struct seen){.last_delta = -1, .deltas_ok = true};
    if (rc == 0) {
        *h = it.h;
        while ((rc = batch_iter_next(&it, &r)) == 1)
            record_note(h, &r, s);
        FUZZ_CHECK(rc != 0 || s->records == h->records_count);
        FUZZ_CHECK(batch_iter_next(&it, &r) == rc); /* sticky */
    }
    batch_iter_release(&it);
    return rc;
}

/* Rebuild a valid batch from its records and compare the two. */
static void rebuild(const uint8_t *p, size_t n, const struct batch_limits *lim,
                    const struct batch_header *h)
{
    struct batch_builder b;
    struct batch_iter it;
    struct record r;
    enum codec codec = (enum codec)(h->attributes & BATCH_ATTR_CODEC_MASK);
    batch_builder_init(&b, codec, 2 * MAX_DECOMP);
    b.attributes = (int16_t)(h->attributes & ~BATCH_ATTR_CODEC_MASK);
    b.producer_id = h->producer_id;
    b.producer_epoch = h->producer_epoch;
    b.base_sequence = h->base_sequence;
    b.leader_epoch = h->leader_epoch;
    FUZZ_CHECK(batch_iter_init(&it, p, n, lim, true) == 0);
    while (batch_iter_next(&it, &r) == 1) {
        struct record_header *hs = fuzz_alloc(sizeof *hs * (size_t)r.headers_count);
        struct reader hr = r.headers;
        for (int32_t i = 0; i < r.headers_count; i++)
            FUZZ_CHECK(record_header_next(&hr, &hs[i]) == 1);
        int32_t delta = (int32_t)((uint64_t)r.offset - (uint64_t)h->base_offset);
        int rc = batch_builder_add_at(&b, delta, r.timestamp, r.key, r.key_len, r.value,
                                      r.value_len, hs, r.headers_count);
        free(hs);
        FUZZ_CHECK(rc == 0);
    }
    batch_iter_release(&it);

    struct writer out;
    writer_init(&out, 4 * MAX_DECOMP);
    FUZZ_CHECK(batch_builder_finish(&b, h->last_offset_delta, &out) == 0);
    batch_builder_release(&b);
    struct batch_limits lim2 = *lim;
    lim2.max_batch = out.len;
    struct batch_header h2;
    struct batch_stats st2;
    FUZZ_CHECK(batch_validate(out.buf, out.len, &lim2, true, &h2, &st2) == 0);
    FUZZ_CHECK(h2.records_count == h->records_count && h2.attributes == h->attributes &&
               h2.last_offset_delta == h->last_offset_delta && h2.producer_id == h->producer_id &&
               h2.base_sequence == h->base_sequence);

    /* the same records, one by one */
    struct batch_iter a, c;
    struct record ra, rc2;
    FUZZ_CHECK(batch_iter_init(&a, p, n, lim, true) == 0);
    FUZZ_CHECK(batch_iter_init(&c, out.buf, out.len, &lim2, true) == 0);
    for (;;) {
        int ka = batch_iter_next(&a, &ra), kc = batch_iter_next(&c, &rc2);
        FUZZ_CHECK(ka == kc && ka >= 0);
        if (ka == 0)
            break;
        FUZZ_CHECK((uint64_t)ra.offset - (uint64_t)h->base_offset ==
                   (uint64_t)rc2.offset - (uint64_t)h2.base_offset);
        FUZZ_CHECK(ra.timestamp == rc2.timestamp);
        FUZZ_CHECK(ra.key_len == rc2.key_len && ra.value_len == rc2.value_len &&
                   ra.headers_count == rc2.headers_count);
        FUZZ_CHECK(ra.key_len <= 0 || !memcmp(ra.key, rc2.key, (size_t)ra.key_len));
        FUZZ_CHECK(ra.value_len <= 0 || !memcmp(ra.value, rc2.value, (size_t)ra.value_len));
        struct record_header ha, hc;
        struct reader qa = ra.headers, qc = rc2.headers;
        while (record_header_next(&qa, &ha) == 1) {
            FUZZ_CHECK(record_header_next(&qc, &hc) == 1);
            FUZZ_CHECK(ha.key_len == hc.key_len && ha.value_len == hc.value_len);
            FUZZ_CHECK(!ha.key_len || !memcmp(ha.key, hc.key, (size_t)ha.key_len));
            FUZZ_CHECK(ha.value_len <= 0 || !memcmp(ha.value, hc.value, (size_t)ha.value_len));
        }
    }
    batch_iter_release(&a);
    batch_iter_release(&c);
    writer_release(&out);
}

/* Every check on one batch of n bytes. */
static void batch_check(const uint8_t *p, size_t n, bool gaps)
{
    struct batch_limits lim = {n, MAX_DECOMP, MAX_RECORDS};
    struct batch_header vh, h = {0};
    struct batch_stats st;
    struct seen s;
    int init;
    int v = batch_validate(p, n, &lim, gaps, &vh, &st);
    int it = iterate(p, n, &lim, true, &s, &h, &init);
    bool model = init == 0 && it == 0 && s.deltas_ok &&
                 (gaps || s.records == 0 || s.last_delta == h.last_offset_delta);
    if ((v == 0) != model)
        fprintf(stderr, "validate %d, iterate %d/%d, deltas %s, last delta %lld of %d\n", v, init,
                it, s.deltas_ok ? "ok" : "bad", (long long)s.last_delta,
                init ? -1 : h.last_offset_delta);
    FUZZ_CHECK((v == 0) == model);
    if (init)
        FUZZ_CHECK(v == init);
    if (v == 0) {
        FUZZ_CHECK(st.records == s.records && st.key_bytes == s.key_bytes &&
                   st.value_bytes == s.value_bytes && st.null_keys == s.null_keys &&
                   st.null_values == s.null_values);
        FUZZ_CHECK(vh.base_offset == h.base_offset && vh.crc == h.crc &&
                   vh.records_count == h.records_count && vh.length == h.length);
        size_t size;
        FUZZ_CHECK(batch_frame(p, n, n, &size) == 0 && size == n);
        FUZZ_CHECK(batch_crc_ok(p, n));
    }
    /* without the CRC check, a batch whose CRC is right reads the same */
    if (init == 0 && batch_crc_ok(p, n)) {
        struct seen s2;
        struct batch_header h2;
        int init2;
        FUZZ_CHECK(iterate(p, n, &lim, false, &s2, &h2, &init2) == it && init2 == 0);
        FUZZ_CHECK(s2.records == s.records && s2.touch == s.touch);
    }
    if (v == 0)
        rebuild(p, n, &lim, &h);
}

/* Set batchLength and the CRC of the n bytes at p (n >= the header size). */
static void batch_seal(uint8_t *p, size_t n)
{
    struct writer w;
    writer_init_fixed(&w, p + BATCH_OFF_LENGTH, 4);
    writer_be32(&w, (uint32_t)(n - BATCH_LOG_OVERHEAD));
    writer_init_fixed(&w, p + BATCH_OFF_CRC, 4);
    writer_be32(&w, crc32c(0, p + BATCH_OFF_ATTRIBUTES, n - BATCH_OFF_ATTRIBUTES));
}

/* Mode 2: a batch around records the target compresses. */
static void wrapped(const uint8_t *data, size_t size, enum codec codec, bool gaps)
{
    struct reader r;
    reader_init(&r, data, size);
    int32_t count = (int32_t)reader_be32(&r);
    int32_t last = (int32_t)reader_be32(&r);
    uint8_t attrs = reader_u8(&r);
    size_t n = SIZE_MAX;
    const uint8_t *records = fuzz_take(&r, &n);

    struct writer w;
    writer_init(&w, 4 * MAX_DECOMP);
    writer_be64(&w, 1000);      /* baseOffset */
    writer_be32(&w, 0);         /* batchLength, sealed below */
    writer_be32(&w, 0);         /* partitionLeaderEpoch */
    writer_u8(&w, BATCH_MAGIC); /* magic */
    writer_be32(&w, 0);         /* crc, sealed below */
    writer_be16(&w, (uint16_t)((attrs & 0x78) | (int)codec));
    writer_be32(&w, (uint32_t)last);
    writer_be64(&w, 1700000000000);
    writer_be64(&w, 1700000000999);
    writer_be64(&w, (uint64_t)-1); /* producerId */
    writer_be16(&w, (uint16_t)-1); /* producerEpoch */
    writer_be32(&w, (uint32_t)-1); /* baseSequence */
    writer_be32(&w, (uint32_t)count);
    FUZZ_CHECK(writer_ok(&w) && w.len == BATCH_HEADER_SIZE);
    FUZZ_CHECK(codec_compress(codec, records, n, &w) == 0);

    /* what was compressed comes back */
    struct writer back;
    writer_init(&back, MAX_DECOMP);
    int rc = codec_decompress(codec, w.buf + BATCH_HEADER_SIZE, w.len - BATCH_HEADER_SIZE,
                              MAX_DECOMP, &back);
    FUZZ_CHECK(rc == 0 || (rc == -EMSGSIZE && n > MAX_DECOMP));
    FUZZ_CHECK(rc || (back.len == n && (n == 0 || !memcmp(back.buf, records, n))));
    writer_release(&back);

    batch_seal(w.buf, w.len);
    batch_check(w.buf, w.len, gaps);
    writer_release(&w);
}

/* One codec_decompress() into a writer holding PREFIX; returns its answer. */
static int decompress(enum codec codec, const uint8_t *in, size_t n, size_t max_out,
                      size_t writer_max, struct writer *w)
{
    writer_init(w, writer_max);
    writer_bytes(w, PREFIX, strlen(PREFIX));
    int rc = codec_decompress(codec, in, n, max_out, w);
    FUZZ_CHECK(w->err == 0 && w->len >= strlen(PREFIX) && !memcmp(w->buf, PREFIX, strlen(PREFIX)));
    if (rc)
        FUZZ_CHECK(w->len == strlen(PREFIX)); /* left as it was */
    else
        FUZZ_CHECK(w->len - strlen(PREFIX) <= max_out && w->len <= writer_max);
    return rc;
}

/* Mode 3: codec_decompress() straight on the input. */
static void codec_check(const uint8_t *data, size_t size)
{
    struct reader r;
    reader_init(&r, data, size);
    enum codec codec = (enum codec)(reader_u8(&r) % 6); /* 5: not a codec */
    size_t max_out = (size_t)reader_be16(&r) % 1024 * 1024 + 1023;
    size_t n = SIZE_MAX;
    const uint8_t *in = fuzz_take(&r, &n);
    struct writer w;
    int rc = decompress(codec, in, n, max_out, SIZE_MAX, &w);
    if (codec > CODEC_ZSTD)
        FUZZ_CHECK(rc == -ENOTSUP);
    FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc == -ENOTSUP);
    if (rc == 0) {
        size_t len = w.len - strlen(PREFIX);
        struct writer w2;
        /* a limit of exactly what it produced is enough, one byte less is not */
        FUZZ_CHECK(decompress(codec, in, n, len, SIZE_MAX, &w2) == 0 && w2.len == w.len &&
                   !memcmp(w2.buf, w.buf, w.len));
        writer_release(&w2);
        if (len > 0) {
            FUZZ_CHECK(decompress(codec, in, n, len - 1, SIZE_MAX, &w2) == -EMSGSIZE);
            writer_release(&w2);
            /* the writer's own maximum is a limit too */
            FUZZ_CHECK(decompress(codec, in, n, max_out, w.len - 1, &w2) == -EMSGSIZE);
            writer_release(&w2);
        }
        /* and it compresses back */
        struct writer c;
        writer_init(&c, 8 * MAX_DECOMP);
        FUZZ_CHECK(codec_compress(codec, w.buf + strlen(PREFIX), len, &c) == 0);
        FUZZ_CHECK(decompress(codec, c.buf, c.len, len, SIZE_MAX, &w2) == 0 && w2.len == w.len &&
                   !memcmp(w2.buf, w.buf, w.len));
        writer_release(&w2);
        writer_release(&c);
    }
    writer_release(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    bool gaps = ctl & 4;
    data++;
    size--;
    switch (ctl & 3) {
    case 0: batch_check(data, size, gaps); break;
    case 1: {
        uint8_t *p = fuzz_alloc(size);
        memcpy(p, data, size);
        if (size >= BATCH_HEADER_SIZE)
            batch_seal(p, size);
        batch_check(p, size, gaps);
        free(p);
        break;
    }
    case 2: wrapped(data, size, (enum codec)((ctl >> 3 & 7) % 5), gaps); break;
    case 3: codec_check(data, size); break;
    }
    return 0;
}
