/*
 * test_record.c - proto/record.c and proto/codec.c: RecordBatch v2 and compression.
 *
 * The reference batch below is written out byte by byte from the format description
 * (docs: Kafka implementation notes, section 5.3), so the codec is checked against
 * the format rather than against itself: decoding it must give the records it spells
 * out, and building those records must give back the same bytes.
 *
 * Compressed data is produced both by codec_compress() and directly with the
 * libraries (raw snappy, streamed decompression bombs), so the decoders also see
 * shapes brook itself never writes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <lz4frame.h>
#include <snappy-c.h>

#include "proto/snappy.h"
#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#include "lib/crc32c.h"
#include "lib/reader.h"
#include "lib/writer.h"
#include "proto/record.h"

#define KiB     1024u
#define MiB     (1024u * 1024u)
#define BASE_TS 1700000000000LL

static const enum codec all_codecs[] = {CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD};
#define NCODECS (sizeof all_codecs / sizeof all_codecs[0])

/* ---- the hand-written reference batch ---- */

/* Record starts in the reference batch, and where each one's offsetDelta sits. */
#define REC0         61
#define REC1         81
#define REC2         93
#define OFFSET_DELTA 3 /* after the length, attributes and timestampDelta bytes */

/*
 * Three records, every varint zigzag-encoded by hand (n >= 0 -> 2n, -1 -> 1):
 *   0: key "k1", value "hello", header h1=v1, timestamp base+0, offset 0
 *   1: null key, value "world", no headers,   timestamp base+5, offset 1
 *   2: key "k3", null value, headers a=x, b=null, timestamp base+2, offset 2
 */
static const uint8_t reference[] = {
    /* baseOffset */ 0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    /* batchLength: 109 - 12 */ 0,
    0,
    0,
    97,
    /* partitionLeaderEpoch -1 */ 0xff,
    0xff,
    0xff,
    0xff,
    /* magic */ 2,
    /* crc, set by reference_batch() */ 0,
    0,
    0,
    0,
    /* attributes: no codec, create time */ 0,
    0,
    /* lastOffsetDelta */ 0,
    0,
    0,
    2,
    /* baseTimestamp 1700000000000 */ 0x00,
    0x00,
    0x01,
    0x8b,
    0xcf,
    0xe5,
    0x68,
    0x00,
    /* maxTimestamp, base + 5 */ 0x00,
    0x00,
    0x01,
    0x8b,
    0xcf,
    0xe5,
    0x68,
    0x05,
    /* producerId -1 */ 0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    /* producerEpoch -1 */ 0xff,
    0xff,
    /* baseSequence -1 */ 0xff,
    0xff,
    0xff,
    0xff,
    /* recordsCount */ 0,
    0,
    0,
    3,

    /* record 0 (offset 61): length 19 */ 0x26,
    /* attributes */ 0x00,
    /* timestampDelta 0 */ 0x00,
    /* offsetDelta 0 */ 0x00,
    /* key length 2 */ 0x04,
    'k',
    '1',
    /* value length 5 */ 0x0a,
    'h',
    'e',
    'l',
    'l',
    'o',
    /* headers count 1 */ 0x02,
    /* header key length 2 */ 0x04,
    'h',
    '1',
    /* header value length 2 */ 0x04,
    'v',
    '1',

    /* record 1 (offset 81): length 11 */ 0x16,
    /* attributes */ 0x00,
    /* timestampDelta 5 */ 0x0a,
    /* offsetDelta 1 */ 0x02,
    /* key length -1: null */ 0x01,
    /* value length 5 */ 0x0a,
    'w',
    'o',
    'r',
    'l',
    'd',
    /* headers count 0 */ 0x00,

    /* record 2 (offset 93): length 15 */ 0x1e,
    /* attributes */ 0x00,
    /* timestampDelta 2 */ 0x04,
    /* offsetDelta 2 */ 0x04,
    /* key length 2 */ 0x04,
    'k',
    '3',
    /* value length -1: null */ 0x01,
    /* headers count 2 */ 0x04,
    /* header key length 1 */ 0x02,
    'a',
    /* header value length 1 */ 0x02,
    'x',
    /* header key length 1 */ 0x02,
    'b',
    /* header value length -1: null */ 0x01,
};
#define REF_LEN 109
_Static_assert(sizeof reference == REF_LEN, "reference batch size");

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Recompute batchLength and the CRC after a test edited a batch. */
static void reseal(uint8_t *p, size_t len)
{
    put_be32(p + 8, (uint32_t)(len - 12));
    put_be32(p + 17, crc32c(0, p + 21, len - 21));
}

static void reference_batch(uint8_t out[REF_LEN])
{
    memcpy(out, reference, REF_LEN);
    put_be32(out + 17, crc32c(0, out + 21, REF_LEN - 21)); /* the CRC covers 21..end */
}

struct expected {
    int64_t offset;
    int64_t timestamp;
    const char *key; /* NULL: null */
    const char *value;
    int32_t headers_count;
    const char *header_keys[2];
    const char *header_values[2];
};

static const struct expected reference_records[] = {
    {0, BASE_TS, "k1", "hello", 1, {"h1"}, {"v1"}},
    {1, BASE_TS + 5, NULL, "world", 0, {NULL}, {NULL}},
    {2, BASE_TS + 2, "k3", NULL, 2, {"a", "b"}, {"x", NULL}},
};

static void assert_bytes(const uint8_t *p, int32_t len, const char *want)
{
    if (!want) {
        assert_int_equal(len, -1);
        assert_null(p);
        return;
    }
    assert_int_equal(len, (int32_t)strlen(want));
    assert_memory_equal(p, want, strlen(want));
}

static void assert_record(const struct record *r, int64_t base_offset, const struct expected *e)
{
    assert_true(r->offset == base_offset + e->offset);
    assert_true(r->timestamp == e->timestamp);
    assert_int_equal(r->attributes, 0);
    assert_bytes(r->key, r->key_len, e->key);
    assert_bytes(r->value, r->value_len, e->value);
    assert_int_equal(r->headers_count, e->headers_count);
    struct reader hr = r->headers;
    struct record_header h;
    for (int32_t i = 0; i < e->headers_count; i++) {
        assert_int_equal(record_header_next(&hr, &h), 1);
        assert_bytes(h.key, h.key_len, e->header_keys[i]);
        assert_bytes(h.value, h.value_len, e->header_values[i]);
    }
    assert_int_equal(record_header_next(&hr, &h), 0);
}

/* Iterate a batch and compare it with the reference records. */
static void assert_reference_records(const uint8_t *p, size_t len, int64_t base_offset)
{
    struct batch_iter it;
    struct record r;
    assert_int_equal(batch_iter_init(&it, p, len, NULL, true), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(batch_iter_next(&it, &r), 1);
        assert_record(&r, base_offset, &reference_records[i]);
    }
    assert_int_equal(batch_iter_next(&it, &r), 0);
    assert_int_equal(batch_iter_next(&it, &r), 0);
    batch_iter_release(&it);
}

static const struct record_header headers0[] = {
    {(const uint8_t *)"h1", 2, (const uint8_t *)"v1", 2},
};
static const struct record_header headers2[] = {
    {(const uint8_t *)"a", 1, (const uint8_t *)"x", 1},
    {(const uint8_t *)"b", 1, NULL, -1},
};

/* The reference records, through the builder. */
static void build_reference(enum codec codec, struct writer *out)
{
    struct batch_builder b;
    batch_builder_init(&b, codec, MiB);
    assert_int_equal(batch_builder_add(&b, BASE_TS, "k1", 2, "hello", 5, headers0, 1), 0);
    assert_int_equal(batch_builder_add(&b, BASE_TS + 5, NULL, -1, "world", 5, NULL, 0), 0);
    assert_int_equal(batch_builder_add(&b, BASE_TS + 2, "k3", 2, NULL, -1, headers2, 2), 0);
    assert_int_equal(batch_builder_finish(&b, -1, out), 0);
    batch_builder_release(&b);
}

static int validate(const uint8_t *p, size_t len)
{
    return batch_validate(p, len, NULL, false, NULL, NULL);
}

/* ---- 1. the reference batch ---- */

static void test_reference_decodes(void **state)
{
    uint8_t batch[REF_LEN];
    reference_batch(batch);
    struct batch_header h;
    assert_int_equal(batch_header_parse(batch, sizeof batch, &h), 0);
    assert_int_equal(h.length, 97);
    assert_int_equal(h.leader_epoch, -1);
    assert_int_equal(h.magic, 2);
    assert_int_equal(h.crc, crc32c(0, batch + 21, REF_LEN - 21));
    assert_int_equal(h.last_offset_delta, 2);
    assert_true(h.base_timestamp == BASE_TS && h.max_timestamp == BASE_TS + 5);
    assert_true(h.producer_id == -1);
    assert_int_equal(h.producer_epoch, -1);
    assert_int_equal(h.base_sequence, -1);
    assert_int_equal(h.records_count, 3);
    assert_true(batch_crc_ok(batch, sizeof batch));
    assert_reference_records(batch, sizeof batch, 0);
}

static void test_builder_reencodes_reference(void **state)
{
    uint8_t batch[REF_LEN];
    reference_batch(batch);
    struct writer out;
    writer_init(&out, MiB);
    writer_bytes(&out, "prefix", 6); /* finish appends */
    build_reference(CODEC_NONE, &out);
    assert_int_equal(out.len, 6 + REF_LEN);
    assert_memory_equal(out.buf, "prefix", 6);
    assert_memory_equal(out.buf + 6, batch, REF_LEN);
    writer_release(&out);
}

/* ---- 2. validation ---- */

static void test_validate_accepts_reference(void **state)
{
    uint8_t batch[REF_LEN];
    reference_batch(batch);
    struct batch_header h;
    struct batch_stats st;
    assert_int_equal(batch_validate(batch, sizeof batch, NULL, false, &h, &st), 0);
    assert_int_equal(h.records_count, 3);
    assert_int_equal(st.records, 3);
    assert_true(st.key_bytes == 4);
    assert_true(st.value_bytes == 10);
    assert_int_equal(st.null_values, 1);
    assert_int_equal(st.null_keys, 1);
}

static void test_validate_rejects_every_bit_flip(void **state)
{
    uint8_t batch[REF_LEN];
    reference_batch(batch);
    for (size_t i = 0; i < REF_LEN; i++) {
        for (int bit = 0; bit < 8; bit++) {
            batch[i] ^= (uint8_t)(1u << bit);
            int rc = validate(batch, sizeof batch);
            if (i < 8 || (i >= 12 && i < 16)) /* baseOffset, leader epoch: not covered */
                assert_int_equal(rc, 0);
            else if (i == 16) /* magic */
                assert_int_equal(rc, -ENOTSUP);
            else /* batchLength, the CRC itself, everything the CRC covers */
                assert_int_equal(rc, -EBADMSG);
            batch[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(validate(batch, sizeof batch), 0);
}

static void test_validate_rejects_truncation(void **state)
{
    uint8_t batch[REF_LEN + 1];
    reference_batch(batch);
    for (size_t cut = 0; cut < REF_LEN; cut++) {
        struct batch_iter it;
        assert_true(validate(batch, cut) < 0);
        assert_true(batch_iter_init(&it, batch, cut, NULL, false) < 0);
        batch_iter_release(&it);
    }
    batch[REF_LEN] = 0; /* one byte more than batchLength says */
    assert_int_equal(validate(batch, REF_LEN + 1), -EBADMSG);
}

static void test_validate_rejects_wrong_count(void **state)
{
    static const int32_t wrong[] = {0, 1, 2, 4, 1000, -1, INT32_MIN};
    uint8_t batch[REF_LEN];
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        reference_batch(batch);
        put_be32(batch + 57, (uint32_t)wrong[i]);
        reseal(batch, sizeof batch);
        assert_int_equal(validate(batch, sizeof batch), -EBADMSG);
    }
    struct batch_limits lim = batch_limits_default;
    lim.max_records = 2;
    reference_batch(batch);
    assert_int_equal(batch_validate(batch, sizeof batch, &lim, false, NULL, NULL), -EMSGSIZE);
}

/* Reference batch with the three offset deltas replaced (zigzag bytes written here). */
static int validate_deltas(int32_t d0, int32_t d1, int32_t d2, int32_t last, bool gaps)
{
    uint8_t batch[REF_LEN];
    reference_batch(batch);
    batch[REC0 + OFFSET_DELTA] = (uint8_t)(d0 < 0 ? -2 * d0 - 1 : 2 * d0);
    batch[REC1 + OFFSET_DELTA] = (uint8_t)(d1 < 0 ? -2 * d1 - 1 : 2 * d1);
    batch[REC2 + OFFSET_DELTA] = (uint8_t)(d2 < 0 ? -2 * d2 - 1 : 2 * d2);
    put_be32(batch + 23, (uint32_t)last);
    reseal(batch, sizeof batch);
    return batch_validate(batch, sizeof batch, NULL, gaps, NULL, NULL);
}

static void test_validate_offset_deltas(void **state)
{
    assert_int_equal(validate_deltas(0, 1, 2, 2, false), 0);
    assert_int_equal(validate_deltas(1, 0, 2, 2, false), -EBADMSG); /* out of order */
    assert_int_equal(validate_deltas(0, 2, 1, 2, true), -EBADMSG);
    assert_int_equal(validate_deltas(0, 0, 2, 2, true), -EBADMSG); /* repeated */
    assert_int_equal(validate_deltas(0, 1, 1, 1, true), -EBADMSG);
    assert_int_equal(validate_deltas(-1, 1, 2, 2, true), -EBADMSG); /* negative */
    assert_int_equal(validate_deltas(0, 1, 3, 2, true), -EBADMSG);  /* past lastOffsetDelta */
    assert_int_equal(validate_deltas(0, 1, 2, -1, true), -EBADMSG);
    /* compaction leaves gaps and may drop the last record */
    assert_int_equal(validate_deltas(0, 3, 7, 7, false), 0);
    assert_int_equal(validate_deltas(0, 1, 2, 5, false), -EBADMSG);
    assert_int_equal(validate_deltas(0, 1, 2, 5, true), 0);
    assert_int_equal(validate_deltas(2, 4, 5, 9, true), 0);
}

static void test_validate_rejects_trailing_garbage(void **state)
{
    uint8_t batch[REF_LEN + 1];
    /* a byte after the last record */
    reference_batch(batch);
    batch[REF_LEN] = 0;
    reseal(batch, sizeof batch);
    assert_int_equal(validate(batch, sizeof batch), -EBADMSG);
    /* the same byte inside the last record, whose length claims it */
    batch[REC2] = 0x20; /* length 16 */
    reseal(batch, sizeof batch);
    assert_int_equal(validate(batch, sizeof batch), -EBADMSG);
    /* a record length past the end, and a negative one */
    reference_batch(batch);
    batch[REC2] = 0x20;
    reseal(batch, REF_LEN);
    assert_int_equal(validate(batch, REF_LEN), -EBADMSG);
    batch[REC2] = 0x01;
    reseal(batch, REF_LEN);
    assert_int_equal(validate(batch, REF_LEN), -EBADMSG);
}

static void test_validate_rejects_bad_lengths_inside(void **state)
{
    static const struct {
        size_t at;
        uint8_t byte;
    } edits[] = {
        {REC0 + 4, 0x03},  /* key length -2 */
        {REC0 + 4, 0x7e},  /* key length 63: past the record */
        {REC0 + 7, 0x03},  /* value length -2 */
        {REC0 + 13, 0x01}, /* headers count -1 */
        {REC0 + 13, 0x04}, /* headers count 2, one present */
        {REC0 + 13, 0x00}, /* headers count 0, one present */
        {REC0 + 14, 0x01}, /* null header key */
        {REC2 + 15, 0x03}, /* header value length -2 */
        {REC1 + 4, 0x80},  /* key length varint runs on into the value */
    };
    uint8_t batch[REF_LEN];
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        reference_batch(batch);
        batch[edits[i].at] = edits[i].byte;
        reseal(batch, sizeof batch);
        assert_int_equal(validate(batch, sizeof batch), -EBADMSG);
    }
}

static void test_validate_limits_magic_codec(void **state)
{
    uint8_t batch[REF_LEN];
    struct batch_limits lim = batch_limits_default;
    reference_batch(batch);
    lim.max_batch = REF_LEN - 1;
    assert_int_equal(batch_validate(batch, sizeof batch, &lim, false, NULL, NULL), -EMSGSIZE);
    lim.max_batch = REF_LEN;
    assert_int_equal(batch_validate(batch, sizeof batch, &lim, false, NULL, NULL), 0);
    for (int codec = 5; codec <= 7; codec++) {
        reference_batch(batch);
        batch[22] = (uint8_t)codec;
        reseal(batch, sizeof batch);
        assert_int_equal(validate(batch, sizeof batch), -ENOTSUP);
    }
    struct batch_header h;
    reference_batch(batch);
    batch[16] = 1;
    assert_int_equal(batch_header_parse(batch, sizeof batch, &h), -ENOTSUP);
    assert_int_equal(batch_header_parse(batch, 16, &h), -EBADMSG);
    batch[16] = 2;
    assert_int_equal(batch_header_parse(batch, 60, &h), -EBADMSG);
    assert_int_equal(batch_header_parse(batch, 61, &h), 0);
    assert_false(batch_crc_ok(batch, 60));
}

static void test_iter_without_crc_check(void **state)
{
    uint8_t batch[REF_LEN];
    reference_batch(batch);
    batch[17] ^= 1;
    struct batch_iter it;
    assert_int_equal(batch_iter_init(&it, batch, sizeof batch, NULL, true), -EBADMSG);
    struct record r;
    assert_int_equal(batch_iter_next(&it, &r), -EBADMSG); /* sticky */
    batch_iter_release(&it);
    assert_false(batch_crc_ok(batch, sizeof batch));
    assert_int_equal(batch_iter_init(&it, batch, sizeof batch, NULL, false), 0);
    batch_iter_release(&it);
}

static void test_rewrite_base_offset_and_epoch(void **state)
{
    uint8_t batch[REF_LEN];
    reference_batch(batch);
    batch_set_base_offset(batch, 0x123456789abcLL);
    batch_set_leader_epoch(batch, 7);
    assert_true(batch_get_base_offset(batch) == 0x123456789abcLL);
    struct batch_header h;
    assert_int_equal(batch_validate(batch, sizeof batch, NULL, false, &h, NULL), 0);
    assert_int_equal(h.leader_epoch, 7);
    assert_reference_records(batch, sizeof batch, 0x123456789abcLL);
    /* hostile base offsets wrap instead of overflowing */
    batch_set_base_offset(batch, INT64_MAX);
    assert_int_equal(validate(batch, sizeof batch), 0);
}

static void test_control_and_log_append_time(void **state)
{
    uint8_t batch[REF_LEN];
    reference_batch(batch);
    batch[22] = BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_LOG_APPEND_TIME;
    batch[REC1 + 1] = 0x5a; /* record attributes are carried through */
    reseal(batch, sizeof batch);
    struct batch_header h;
    assert_int_equal(batch_validate(batch, sizeof batch, NULL, false, &h, NULL), 0);
    assert_true(h.attributes & BATCH_ATTR_CONTROL);
    struct batch_iter it;
    struct record r;
    assert_int_equal(batch_iter_init(&it, batch, sizeof batch, NULL, true), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(batch_iter_next(&it, &r), 1);
        assert_true(r.timestamp == BASE_TS + 5); /* maxTimestamp, not base + delta */
        assert_int_equal(r.attributes, i == 1 ? 0x5a : 0);
    }
    assert_int_equal(batch_iter_next(&it, &r), 0);
    batch_iter_release(&it);

    /* a control record as the builder writes it: key = version 0, type 1 (COMMIT) */
    static const uint8_t key[] = {0, 0, 0, 1}, value[] = {0, 0, 0, 0, 0, 0};
    struct batch_builder b;
    struct writer out;
    writer_init(&out, MiB);
    batch_builder_init(&b, CODEC_NONE, KiB);
    b.attributes = BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL;
    b.producer_id = 42;
    b.producer_epoch = 3;
    assert_int_equal(batch_builder_add(&b, BASE_TS, key, 4, value, 6, NULL, 0), 0);
    assert_int_equal(batch_builder_finish(&b, -1, &out), 0);
    assert_int_equal(batch_validate(out.buf, out.len, NULL, false, &h, NULL), 0);
    assert_int_equal(h.attributes, BATCH_ATTR_CONTROL | BATCH_ATTR_TRANSACTIONAL);
    assert_true(h.producer_id == 42 && h.producer_epoch == 3);
    assert_int_equal(batch_iter_init(&it, out.buf, out.len, NULL, true), 0);
    assert_int_equal(batch_iter_next(&it, &r), 1);
    assert_memory_equal(r.key, key, 4);
    batch_iter_release(&it);
    batch_builder_release(&b);
    writer_release(&out);
}

/* ---- the builder ---- */

static void test_builder_add_at_and_gaps(void **state)
{
    struct batch_builder b;
    struct writer out;
    writer_init(&out, MiB);
    batch_builder_init(&b, CODEC_NONE, MiB);
    assert_int_equal(batch_builder_add_at(&b, 0, 10, "a", 1, "1", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_add_at(&b, 3, 30, "b", 1, "2", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_add_at(&b, 3, 40, "c", 1, "3", 1, NULL, 0), -EINVAL);
    assert_int_equal(batch_builder_add_at(&b, 7, 5, "d", 1, "4", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_add(&b, INT64_MIN, NULL, -1, NULL, -1, NULL, 0), 0); /* 8 */
    assert_int_equal(batch_builder_finish(&b, 6, &out), -EINVAL);
    assert_int_equal(out.len, 0);
    assert_int_equal(batch_builder_finish(&b, -1, &out), 0);
    struct batch_header h;
    assert_int_equal(batch_validate(out.buf, out.len, NULL, false, &h, NULL), 0);
    assert_int_equal(h.last_offset_delta, 8);
    assert_true(h.base_timestamp == 10 && h.max_timestamp == 30);
    struct batch_iter it;
    struct record r;
    static const int64_t offsets[] = {0, 3, 7, 8}, stamps[] = {10, 30, 5, INT64_MIN};
    assert_int_equal(batch_iter_init(&it, out.buf, out.len, NULL, true), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(batch_iter_next(&it, &r), 1);
        assert_true(r.offset == offsets[i] && r.timestamp == stamps[i]);
    }
    batch_iter_release(&it);
    /* a last delta past the records: only valid where gaps are allowed */
    writer_reset(&out);
    assert_int_equal(batch_builder_finish(&b, 12, &out), 0);
    assert_int_equal(batch_validate(out.buf, out.len, NULL, false, NULL, NULL), -EBADMSG);
    assert_int_equal(batch_validate(out.buf, out.len, NULL, true, NULL, NULL), 0);
    batch_builder_release(&b);
    writer_release(&out);
}

static void test_builder_limits_and_reset(void **state)
{
    struct batch_builder b;
    struct writer out;
    char value[100];
    memset(value, 'v', sizeof value);
    writer_init(&out, MiB);
    batch_builder_init(&b, CODEC_GZIP, 250);
    int added = 0;
    while (batch_builder_add(&b, BASE_TS, NULL, -1, value, sizeof value, NULL, 0) == 0)
        added++;
    assert_int_equal(added, 2);
    assert_true(batch_builder_size(&b) <= 250);
    assert_int_equal(batch_builder_add(&b, BASE_TS, NULL, -1, value, 10, NULL, 0), 0);
    assert_int_equal(batch_builder_add(&b, BASE_TS, "k", -2, NULL, -1, NULL, 0), -EINVAL);
    assert_int_equal(batch_builder_add(&b, BASE_TS, NULL, 3, NULL, -1, NULL, 0), -EINVAL);
    static const struct record_header null_key = {NULL, -1, NULL, -1};
    assert_int_equal(batch_builder_add(&b, BASE_TS, NULL, -1, NULL, -1, &null_key, 1), -EINVAL);
    assert_int_equal(batch_builder_add(&b, BASE_TS, NULL, -1, NULL, -1, NULL, 1), -EINVAL);
    /* out too small: error, and out is as it was */
    struct writer small;
    writer_init(&small, 70);
    writer_bytes(&small, "xy", 2);
    assert_int_equal(batch_builder_finish(&b, -1, &small), -EMSGSIZE);
    assert_int_equal(small.len, 2);
    assert_true(writer_ok(&small));
    writer_release(&small);
    assert_int_equal(batch_builder_finish(&b, -1, &out), 0);
    struct batch_stats st;
    assert_int_equal(batch_validate(out.buf, out.len, NULL, false, NULL, &st), 0);
    assert_int_equal(st.records, 3);
    /* reset keeps the settings, forgets the records */
    batch_builder_reset(&b);
    assert_int_equal(batch_builder_size(&b), 0);
    writer_reset(&out);
    assert_int_equal(batch_builder_finish(&b, -1, &out), 0);
    struct batch_header h;
    assert_int_equal(batch_validate(out.buf, out.len, NULL, false, &h, &st), 0);
    assert_int_equal(h.records_count, 0);
    assert_int_equal(h.attributes & BATCH_ATTR_CODEC_MASK, CODEC_GZIP);
    assert_true(h.base_timestamp == -1);
    batch_builder_release(&b);
    writer_release(&out);
}

/* ---- 3. codecs ---- */

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

enum input_kind { INPUT_EMPTY, INPUT_ONE, INPUT_RANDOM, INPUT_TEXT, INPUT_KINDS };

/* Test inputs: empty, one byte, 1 MiB random-ish, 10 MiB highly compressible text. */
static uint8_t *make_input(enum input_kind kind, size_t *n)
{
    static const size_t sizes[] = {0, 1, MiB, 10 * MiB};
    static const char *const words[] = {
        "brook appended this record to the log, ", "a consumer fetched the batch again, ",
        "the segment rolled over at one gibibyte, ", "compaction kept the newest value, ",
        "the producer retried with the same sequence.\n"};
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    *n = sizes[kind];
    uint8_t *p = malloc(*n + 1);
    assert_non_null(p);
    for (size_t i = 0; i < *n;) {
        if (kind != INPUT_TEXT) {
            p[i++] = (uint8_t)xorshift(&seed);
            continue;
        }
        const char *w = words[xorshift(&seed) % 5];
        for (size_t k = 0; w[k] && i < *n; k++)
            p[i++] = (uint8_t)w[k];
    }
    if (kind == INPUT_ONE)
        p[0] = 'x';
    return p;
}

static void assert_roundtrip(enum codec codec, const uint8_t *in, size_t n)
{
    struct writer z, out;
    writer_init(&z, 64 * MiB);
    writer_init(&out, 64 * MiB);
    assert_int_equal(codec_compress(codec, in, n, &z), 0);
    if (codec != CODEC_NONE && n == 10 * MiB)
        assert_true(z.len < n / 4);
    writer_bytes(&out, "pre", 3); /* decompression appends */
    assert_int_equal(codec_decompress(codec, z.buf, z.len, n, &out), 0);
    assert_int_equal(out.len, 3 + n);
    assert_memory_equal(out.buf, "pre", 3);
    assert_true(memcmp(out.buf + 3, in, n) == 0);
    if (n > 0) { /* one byte over the limit is refused, and nothing stays appended */
        out.len = 3;
        assert_int_equal(codec_decompress(codec, z.buf, z.len, n - 1, &out), -EMSGSIZE);
        assert_int_equal(out.len, 3);
        assert_true(writer_ok(&out));
    }
    writer_release(&z);
    writer_release(&out);
}

static void test_codec_roundtrip(void **state)
{
    for (int kind = 0; kind < INPUT_KINDS; kind++) {
        size_t n;
        uint8_t *in = make_input(kind, &n);
        assert_roundtrip(CODEC_NONE, in, n);
        for (size_t c = 0; c < NCODECS; c++)
            assert_roundtrip(all_codecs[c], in, n);
        free(in);
    }
}

static void test_codec_batch_roundtrip(void **state)
{
    uint8_t *in[INPUT_KINDS];
    size_t n[INPUT_KINDS];
    for (int k = 0; k < INPUT_KINDS; k++)
        in[k] = make_input(k, &n[k]);
    for (size_t c = 0; c < NCODECS; c++) {
        struct batch_builder b;
        struct writer out;
        batch_builder_init(&b, all_codecs[c], 64 * MiB);
        writer_init(&out, 64 * MiB);
        for (int k = 0; k < INPUT_KINDS; k++)
            assert_int_equal(
                batch_builder_add(&b, BASE_TS + k, "key", 3, in[k], (int32_t)n[k], headers2, 2), 0);
        assert_int_equal(batch_builder_finish(&b, -1, &out), 0);
        assert_true(out.len < 4 * MiB); /* the random MiB does not compress, the text does */
        struct batch_header h;
        struct batch_stats st;
        assert_int_equal(batch_validate(out.buf, out.len, NULL, false, &h, &st), 0);
        assert_int_equal(h.attributes & BATCH_ATTR_CODEC_MASK, all_codecs[c]);
        assert_int_equal(st.records, INPUT_KINDS);
        assert_true(st.value_bytes == (int64_t)(1 + MiB + 10 * MiB));
        struct batch_iter it;
        struct record r;
        assert_int_equal(batch_iter_init(&it, out.buf, out.len, NULL, true), 0);
        for (int k = 0; k < INPUT_KINDS; k++) {
            assert_int_equal(batch_iter_next(&it, &r), 1);
            assert_int_equal(r.value_len, (int32_t)n[k]);
            assert_true(memcmp(r.value, in[k], n[k]) == 0);
            assert_true(r.timestamp == BASE_TS + k);
        }
        assert_int_equal(batch_iter_next(&it, &r), 0);
        batch_iter_release(&it);
        batch_builder_release(&b);
        writer_release(&out);
    }
    for (int k = 0; k < INPUT_KINDS; k++)
        free(in[k]);
}

/* A batch whose records section is the given bytes, flagged with codec. */
static void batch_around(struct writer *out, int codec, const void *records, size_t n,
                         int32_t count)
{
    writer_bytes(out, reference, 61);
    out->buf[22] = (uint8_t)codec;
    put_be32(out->buf + 57, (uint32_t)count);
    writer_bytes(out, records, n);
    assert_true(writer_ok(out));
    reseal(out->buf, out->len);
}

static void test_validate_reads_varints_as_the_iterator(void **state)
{
    /* one record (null key, value "x", no headers) whose timestampDelta is a 10-byte
     * varint ending in `last`: 0x01 is the 64th bit, 0x02 a bit past 64 */
    static const struct {
        uint8_t last;
        int want;
    } cases[] = {{0x00, 0}, {0x01, 0}, {0x02, -EBADMSG}, {0x40, -EBADMSG}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t rec[] = {0x20, 0x00, 0x80,          0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                         0x80, 0x80, cases[i].last, 0x00, 0x01, 0x02, 'x',  0x00};
        struct writer w;
        writer_init(&w, 4096);
        batch_around(&w, CODEC_NONE, rec, sizeof rec, 1);
        put_be32(w.buf + 23, 0); /* lastOffsetDelta */
        reseal(w.buf, w.len);
        assert_int_equal(validate(w.buf, w.len), cases[i].want);
        struct batch_iter it;
        struct record r;
        assert_int_equal(batch_iter_init(&it, w.buf, w.len, NULL, true), 0);
        assert_int_equal(batch_iter_next(&it, &r), cases[i].want ? cases[i].want : 1);
        batch_iter_release(&it);
        writer_release(&w);
    }
    /* an over-long 32-bit varint is refused by both, a padded one taken by both */
    static const uint8_t deltas[][5] = {{0x80, 0x80, 0x80, 0x80, 0x10},
                                        {0x80, 0x80, 0x80, 0x80, 0x00}};
    for (size_t i = 0; i < 2; i++) {
        uint8_t rec[] = {0x16,         0x00,         0x00, deltas[i][0], deltas[i][1], deltas[i][2],
                         deltas[i][3], deltas[i][4], 0x01, 0x02,         'x',          0x00};
        struct writer w;
        writer_init(&w, 4096);
        batch_around(&w, CODEC_NONE, rec, sizeof rec, 1);
        put_be32(w.buf + 23, 0);
        reseal(w.buf, w.len);
        int want = i == 0 ? -EBADMSG : 0;
        assert_int_equal(validate(w.buf, w.len), want);
        struct batch_iter it;
        struct record r;
        assert_int_equal(batch_iter_init(&it, w.buf, w.len, NULL, true), 0);
        assert_int_equal(batch_iter_next(&it, &r), want ? want : 1);
        batch_iter_release(&it);
        writer_release(&w);
    }
}

static void test_snappy_raw_decodes(void **state)
{
    for (int kind = 0; kind < INPUT_KINDS; kind++) {
        size_t n, clen;
        uint8_t *in = make_input(kind, &n);
        clen = snappy_max_compressed_length(n);
        char *raw = malloc(clen);
        assert_non_null(raw);
        assert_int_equal(snappy_compress((const char *)in, n, raw, &clen), SNAPPY_OK);
        struct writer out;
        writer_init(&out, 64 * MiB);
        assert_int_equal(codec_decompress(CODEC_SNAPPY, raw, clen, n, &out), 0);
        assert_int_equal(out.len, n);
        assert_true(n == 0 || memcmp(out.buf, in, n) == 0);
        if (n > 0)
            assert_int_equal(codec_decompress(CODEC_SNAPPY, raw, clen, n - 1, &out), -EMSGSIZE);
        writer_release(&out);
        free(raw);
        free(in);
    }
    /* the reference records compressed as one raw snappy buffer, as librdkafka sends */
    char raw[256];
    size_t clen = sizeof raw;
    assert_int_equal(snappy_compress((const char *)reference + 61, REF_LEN - 61, raw, &clen),
                     SNAPPY_OK);
    struct writer batch;
    writer_init(&batch, MiB);
    batch_around(&batch, CODEC_SNAPPY, raw, clen, 3);
    assert_reference_records(batch.buf, batch.len, 0);
    writer_release(&batch);
}

/* brook's own raw snappy against libsnappy, both ways, and on hostile input */
static void test_snappy_own_matches_libsnappy(void **state)
{
    for (int kind = 0; kind < INPUT_KINDS; kind++) {
        size_t n;
        uint8_t *in = make_input(kind, &n);
        uint8_t *ours = malloc(snappy_raw_bound(n));
        uint8_t *back = malloc(n + 1);
        assert_non_null(ours);
        assert_non_null(back);
        size_t olen = snappy_raw_compress(in, n, ours);
        assert_true(olen <= snappy_raw_bound(n));
        size_t ulen = 0;
        assert_int_equal(snappy_uncompressed_length((const char *)ours, olen, &ulen), SNAPPY_OK);
        assert_int_equal(ulen, n);
        assert_int_equal(snappy_uncompress((const char *)ours, olen, (char *)back, &ulen),
                         SNAPPY_OK); /* libsnappy reads what we write */
        assert_true(n == 0 || memcmp(back, in, n) == 0);
        memset(back, 0, n + 1);
        assert_int_equal(snappy_raw_decompress(ours, olen, back, n), 0);
        assert_true(n == 0 || memcmp(back, in, n) == 0);
        size_t clen = snappy_max_compressed_length(n);
        char *theirs = malloc(clen);
        assert_non_null(theirs);
        assert_int_equal(snappy_compress((const char *)in, n, theirs, &clen), SNAPPY_OK);
        memset(back, 0, n + 1);
        assert_int_equal(snappy_raw_decompress((uint8_t *)theirs, clen, back, n), 0);
        assert_true(n == 0 || memcmp(back, in, n) == 0); /* and we read what it writes */
        /* every truncation fails cleanly; some bit flips in the first KiB too */
        size_t cuts = olen < 4096 ? olen : 4096;
        for (size_t cut = 0; cut < cuts; cut++)
            assert_int_not_equal(snappy_raw_decompress(ours, cut, back, n), 0);
        for (size_t i = 0; i < (olen < 1024 ? olen : 1024) * 8; i += 3) {
            ours[i / 8] ^= (uint8_t)(1 << (i % 8));
            (void)snappy_raw_decompress(ours, olen, back, n); /* no crash, no overrun */
            ours[i / 8] ^= (uint8_t)(1 << (i % 8));
        }
        free(theirs);
        free(ours);
        free(back);
        free(in);
    }
    /* a copy reaching before the start, and one past the declared length */
    const uint8_t before[] = {4, 0x01 | (0 << 2), 0x05};
    uint8_t out[16];
    assert_int_equal(snappy_raw_decompress(before, sizeof before, out, 4), -EBADMSG);
    const uint8_t past[] = {2, 0x04, 'a', 'b'}; /* a 2-byte literal in a 2-byte block */
    assert_int_equal(snappy_raw_decompress(past, sizeof past, out, 2), 0);
    const uint8_t longer[] = {2, 0x08, 'a', 'b', 'c'};
    assert_int_equal(snappy_raw_decompress(longer, sizeof longer, out, 2), -EBADMSG);
}

static void test_codec_names(void **state)
{
    enum codec c;
    for (int i = CODEC_NONE; i <= CODEC_ZSTD; i++) {
        assert_int_equal(codec_parse(codec_name(i), &c), 0);
        assert_int_equal(c, i);
    }
    assert_string_equal(codec_name(CODEC_SNAPPY), "snappy");
    assert_null(codec_name(5));
    assert_null(codec_name(-1));
    assert_int_equal(codec_parse("brotli", &c), -EINVAL);
    assert_int_equal(codec_parse(NULL, &c), -EINVAL);
    struct writer w;
    writer_init(&w, KiB);
    assert_int_equal(codec_compress((enum codec)5, "x", 1, &w), -ENOTSUP);
    assert_int_equal(codec_decompress((enum codec)5, "x", 1, KiB, &w), -ENOTSUP);
    assert_int_equal(w.len, 0);
    writer_release(&w);
}

/*
 * Corrupt input never crashes (ASan watches) nor passes the limit, and truncation is
 * always an error. gzip (CRC-32) and zstd (xxhash) carry checksums, so a flipped bit
 * is rejected or lands in bits nobody reads (gzip's MTIME and OS bytes, padding after
 * the last deflate block, spare bits in zstd's headers and tables) and decodes to the
 * original: never to different data. lz4 frames and snappy, as Kafka's Java producer
 * writes them, have no content checksum, so a flipped literal decodes to different
 * bytes (the batch CRC is what catches that); their magic and frame descriptor are
 * still checked.
 */
static void corrupt_one(enum codec codec, const uint8_t *in, size_t n)
{
    struct writer z, out;
    writer_init(&z, MiB);
    writer_init(&out, MiB);
    assert_int_equal(codec_compress(codec, in, n, &z), 0);
    for (size_t cut = 0; cut < z.len; cut++) {
        int rc = codec_decompress(codec, z.buf, cut, 2 * n, &out);
        if (codec == CODEC_SNAPPY && cut == 16) /* the xerial header alone: empty */
            assert_true(rc == 0 && out.len == 0);
        else
            assert_int_equal(rc, -EBADMSG);
        writer_reset(&out);
    }
    size_t rejected = 0, flips = 0;
    for (size_t at = 0; at < z.len; at++) {
        for (int bit = 0; bit < 8; bit++, flips++) {
            z.buf[at] ^= (uint8_t)(1u << bit);
            int rc = codec_decompress(codec, z.buf, z.len, 2 * n, &out);
            assert_true(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE);
            assert_true(out.len <= 2 * n);
            rejected += rc != 0;
            bool same = rc == 0 && out.len == n && memcmp(out.buf, in, n) == 0;
            if (codec == CODEC_GZIP || codec == CODEC_ZSTD)
                assert_true(rc != 0 || same);
            if ((codec == CODEC_LZ4 && at < 7) || (codec == CODEC_SNAPPY && at < 8))
                assert_int_not_equal(rc, 0);
            z.buf[at] ^= (uint8_t)(1u << bit);
            writer_reset(&out);
        }
    }
    print_message("    %-6s %zu compressed bytes: %zu of %zu bit flips rejected\n",
                  codec_name(codec), z.len, rejected, flips);
    writer_release(&z);
    writer_release(&out);
}

static void test_codec_rejects_corrupt(void **state)
{
    size_t n = 3000;
    uint8_t *text = make_input(INPUT_TEXT, &(size_t){0});
    for (size_t c = 0; c < NCODECS; c++)
        corrupt_one(all_codecs[c], text, n);
    /* raw snappy: a bad preamble or a truncated body */
    char raw[4096];
    size_t clen = sizeof raw;
    assert_int_equal(snappy_compress((const char *)text, n, raw, &clen), SNAPPY_OK);
    struct writer out;
    writer_init(&out, MiB);
    for (size_t cut = 0; cut < clen; cut++)
        assert_int_equal(codec_decompress(CODEC_SNAPPY, raw, cut, MiB, &out), -EBADMSG);
    assert_int_equal(codec_decompress(CODEC_SNAPPY, "\xff\xff\xff\xff\xff\xff", 6, MiB, &out),
                     -EBADMSG);
    assert_int_equal(out.len, 0);
    writer_release(&out);
    free(text);
}

/* ---- decompression bombs: 1 GiB of zeros, decoded with a 1 MiB limit ---- */

#define BOMB_PIECES 1024 /* pieces of 1 MiB */

static const uint8_t zeros[MiB];

static void gzip_bomb(struct writer *w)
{
    z_stream z = {0};
    assert_int_equal(
        deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    for (int i = 0; i < BOMB_PIECES; i++) {
        int flush = i == BOMB_PIECES - 1 ? Z_FINISH : Z_NO_FLUSH, zrc;
        z.next_in = zeros;
        z.avail_in = MiB;
        do {
            assert_int_equal(writer_grow(w, 64 * KiB), 0);
            z.next_out = w->buf + w->len;
            z.avail_out = 64 * KiB;
            zrc = deflate(&z, flush);
            w->len += 64 * KiB - z.avail_out;
        } while (flush == Z_FINISH ? zrc != Z_STREAM_END : z.avail_in || !z.avail_out);
    }
    deflateEnd(&z);
}

static void lz4_bomb(struct writer *w)
{
    LZ4F_cctx *cctx;
    assert_false(LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)));
    size_t bound = LZ4F_compressBound(MiB, NULL);
    uint8_t *tmp = malloc(bound);
    assert_non_null(tmp);
    writer_bytes(w, tmp, LZ4F_compressBegin(cctx, tmp, bound, NULL));
    for (int i = 0; i < BOMB_PIECES; i++)
        writer_bytes(w, tmp, LZ4F_compressUpdate(cctx, tmp, bound, zeros, MiB, NULL));
    writer_bytes(w, tmp, LZ4F_compressEnd(cctx, tmp, bound, NULL));
    assert_true(writer_ok(w));
    free(tmp);
    LZ4F_freeCompressionContext(cctx);
}

/* Streamed, so the frame does not declare its size (unless sized). */
static void zstd_bomb(struct writer *w, bool sized)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    if (sized)
        ZSTD_CCtx_setPledgedSrcSize(cctx, (unsigned long long)BOMB_PIECES * MiB);
    for (int i = 0; i < BOMB_PIECES; i++) {
        ZSTD_inBuffer ib = {zeros, MiB, 0};
        ZSTD_EndDirective end = i == BOMB_PIECES - 1 ? ZSTD_e_end : ZSTD_e_continue;
        size_t left;
        do {
            assert_int_equal(writer_grow(w, 64 * KiB), 0);
            ZSTD_outBuffer ob = {w->buf + w->len, 64 * KiB, 0};
            left = ZSTD_compressStream2(cctx, &ob, &ib, end);
            assert_false(ZSTD_isError(left));
            w->len += ob.pos;
        } while (end == ZSTD_e_end ? left != 0 : ib.pos < ib.size);
    }
    ZSTD_freeCCtx(cctx);
}

/* xerial framing: the same 32 KiB block of zeros, 32768 times. */
static void snappy_bomb(struct writer *w)
{
    char block[40000]; /* > snappy_max_compressed_length(32 KiB) */
    size_t blen = sizeof block;
    assert_int_equal(snappy_compress((const char *)zeros, 32 * KiB, block, &blen), SNAPPY_OK);
    writer_bytes(w, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16);
    for (unsigned i = 0; i < BOMB_PIECES * 32; i++) {
        writer_be32(w, (uint32_t)blen);
        writer_bytes(w, block, blen);
    }
    assert_true(writer_ok(w));
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The bomb is refused quickly, with out never grown past max_cap bytes. */
static void assert_bomb_refused(enum codec codec, const struct writer *bomb, size_t max_cap)
{
    struct writer out;
    struct timespec t0;
    writer_init(&out, SIZE_MAX); /* only max_out stands between the bomb and memory */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(codec_decompress(codec, bomb->buf, bomb->len, MiB, &out), -EMSGSIZE);
    double took = seconds_since(&t0);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= max_cap);
    print_message("    %-6s bomb of %zu bytes refused in %.3f s\n", codec_name(codec), bomb->len,
                  took);
    assert_true(took < 2.0);
    writer_release(&out);
}

static void test_bomb_gzip(void **state)
{
    struct writer bomb;
    writer_init(&bomb, 256 * MiB);
    gzip_bomb(&bomb);
    assert_bomb_refused(CODEC_GZIP, &bomb, MiB);
    /* and as a batch's records, against max_decompressed */
    struct writer batch;
    struct batch_limits lim = batch_limits_default;
    lim.max_decompressed = MiB;
    writer_init(&batch, 256 * MiB);
    batch_around(&batch, CODEC_GZIP, bomb.buf, bomb.len, 1);
    assert_int_equal(batch_validate(batch.buf, batch.len, &lim, false, NULL, NULL), -EMSGSIZE);
    writer_release(&batch);
    writer_release(&bomb);
}

static void test_bomb_snappy(void **state)
{
    struct writer bomb;
    writer_init(&bomb, 256 * MiB);
    snappy_bomb(&bomb);
    assert_bomb_refused(CODEC_SNAPPY, &bomb, MiB);
    /* raw snappy claiming 1 GiB from 10 bytes: more than snappy can expand, corrupt */
    static const uint8_t raw[] = {0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x00, 0xfe, 0x01, 0x00};
    struct writer out;
    writer_init(&out, SIZE_MAX);
    assert_int_equal(codec_decompress(CODEC_SNAPPY, raw, sizeof raw, MiB, &out), -EBADMSG);
    /* 4 MiB claimed and really encoded (one zero, then 64-byte copies of it): refused
     * by the claim, before anything is allocated */
    writer_reset(&bomb);
    writer_bytes(&bomb, "\x80\x80\x80\x02\x00\x00", 6);
    writer_bytes(&bomb, "\xfa\x01\x00", 3); /* a copy of 63: 1 + 63 + 65535 * 64 */
    for (int i = 0; i < 65535; i++)
        writer_bytes(&bomb, "\xfe\x01\x00", 3);
    assert_int_equal(codec_decompress(CODEC_SNAPPY, bomb.buf, bomb.len, 8 * MiB, &out), 0);
    assert_int_equal(out.len, 4 * MiB);
    writer_release(&out);
    writer_init(&out, SIZE_MAX);
    assert_int_equal(codec_decompress(CODEC_SNAPPY, bomb.buf, bomb.len, MiB, &out), -EMSGSIZE);
    assert_int_equal(out.cap, 0);
    writer_release(&out);
    writer_release(&bomb);
}

static void test_bomb_lz4(void **state)
{
    struct writer bomb;
    writer_init(&bomb, 256 * MiB);
    lz4_bomb(&bomb);
    assert_bomb_refused(CODEC_LZ4, &bomb, MiB);
    writer_release(&bomb);
}

static void test_bomb_zstd(void **state)
{
    struct writer bomb;
    writer_init(&bomb, 256 * MiB);
    zstd_bomb(&bomb, false);
    assert_true(ZSTD_getFrameContentSize(bomb.buf, bomb.len) == ZSTD_CONTENTSIZE_UNKNOWN);
    assert_bomb_refused(CODEC_ZSTD, &bomb, MiB);
    writer_reset(&bomb);
    zstd_bomb(&bomb, true);
    assert_true(ZSTD_getFrameContentSize(bomb.buf, bomb.len) == (unsigned long long)1 << 30);
    assert_bomb_refused(CODEC_ZSTD, &bomb, 0); /* refused by its declared size */
    writer_release(&bomb);
}

/* ---- 4. framing ---- */

static void test_frame_every_split(void **state)
{
    struct writer stream;
    writer_init(&stream, MiB);
    uint8_t ref[REF_LEN];
    reference_batch(ref);
    writer_bytes(&stream, ref, REF_LEN);
    build_reference(CODEC_ZSTD, &stream);
    const size_t sizes[2] = {REF_LEN, stream.len - REF_LEN};
    size_t total = stream.len, size;

    /* every prefix of the first batch */
    for (size_t have = 0; have < REF_LEN; have++) {
        size = 0;
        assert_int_equal(batch_frame(stream.buf, have, MiB, &size), -EAGAIN);
        if (have >= 17)
            assert_int_equal(size, REF_LEN);
    }
    /* the stream arriving in two reads, split anywhere: both batches come out whole */
    uint8_t *buf = malloc(total);
    assert_non_null(buf);
    for (size_t split = 0; split <= total; split++) {
        size_t have = 0, pos = 0, found = 0;
        const size_t arrivals[2] = {split, total};
        for (int a = 0; a < 2; a++) {
            memcpy(buf + have, stream.buf + have, arrivals[a] - have);
            have = arrivals[a];
            int rc;
            while ((rc = batch_frame(buf + pos, have - pos, MiB, &size)) == 0) {
                assert_true(found < 2);
                assert_int_equal(size, sizes[found]);
                assert_int_equal(validate(buf + pos, size), 0);
                pos += size;
                found++;
            }
            assert_int_equal(rc, -EAGAIN);
        }
        assert_int_equal(found, 2);
        assert_int_equal(pos, total);
    }
    free(buf);

    /* errors come before waiting for more */
    uint8_t bad[17];
    memcpy(bad, ref, 17);
    put_be32(bad + 8, 48);
    assert_int_equal(batch_frame(bad, 17, MiB, &size), -EBADMSG);
    put_be32(bad + 8, 0x80000000u);
    assert_int_equal(batch_frame(bad, 17, MiB, &size), -EBADMSG);
    put_be32(bad + 8, 49);
    assert_int_equal(batch_frame(bad, 17, MiB, &size), -EAGAIN);
    bad[16] = 1;
    assert_int_equal(batch_frame(bad, 17, MiB, &size), -ENOTSUP);
    assert_int_equal(batch_frame(ref, REF_LEN, REF_LEN - 1, &size), -EMSGSIZE);
    assert_int_equal(batch_frame(ref, REF_LEN, REF_LEN, &size), 0);
    writer_release(&stream);
}

/* ---- 5. records of a compressed batch live in the iterator's scratch ---- */

static void test_iter_compressed_points_into_scratch(void **state)
{
    for (size_t c = 0; c < NCODECS; c++) {
        struct writer batch;
        writer_init(&batch, MiB);
        build_reference(all_codecs[c], &batch);
        assert_int_equal(validate(batch.buf, batch.len), 0);
        struct batch_iter it;
        struct record r;
        assert_int_equal(batch_iter_init(&it, batch.buf, batch.len, NULL, true), 0);
        const uint8_t *lo = it.scratch.buf, *hi = it.scratch.buf + it.scratch.len;
        assert_int_equal(it.scratch.len, REF_LEN - 61);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(batch_iter_next(&it, &r), 1);
            assert_record(&r, 0, &reference_records[i]);
            const uint8_t *p = r.key ? r.key : r.value;
            assert_true(p >= lo && p < hi);
            assert_false(p >= batch.buf && p < batch.buf + batch.len);
            struct reader hr = r.headers;
            struct record_header h;
            while (record_header_next(&hr, &h) == 1)
                assert_true(h.key >= lo && h.key + h.key_len <= hi);
        }
        assert_int_equal(batch_iter_next(&it, &r), 0);
        batch_iter_release(&it);
        /* decompressed, the records are byte for byte the reference's */
        assert_int_equal(batch_iter_init(&it, batch.buf, batch.len, NULL, true), 0);
        assert_memory_equal(it.scratch.buf, reference + 61, REF_LEN - 61);
        batch_iter_release(&it);
        writer_release(&batch);
    }
}

static void test_compressed_batch_trailing_garbage(void **state)
{
    uint8_t records[REF_LEN - 61 + 1];
    memcpy(records, reference + 61, REF_LEN - 61);
    records[REF_LEN - 61] = 0;
    for (size_t c = 0; c < NCODECS; c++) {
        struct writer z, batch;
        writer_init(&z, MiB);
        writer_init(&batch, MiB);
        assert_int_equal(codec_compress(all_codecs[c], records, sizeof records - 1, &z), 0);
        batch_around(&batch, all_codecs[c], z.buf, z.len, 3);
        assert_int_equal(validate(batch.buf, batch.len), 0);
        /* garbage after the compressed stream, then inside it */
        writer_reset(&batch);
        writer_bytes(&z, "\x00", 1);
        batch_around(&batch, all_codecs[c], z.buf, z.len, 3);
        assert_int_equal(validate(batch.buf, batch.len), -EBADMSG);
        writer_reset(&z);
        writer_reset(&batch);
        assert_int_equal(codec_compress(all_codecs[c], records, sizeof records, &z), 0);
        batch_around(&batch, all_codecs[c], z.buf, z.len, 3);
        assert_int_equal(validate(batch.buf, batch.len), -EBADMSG);
        /* the count is still checked against what decompresses */
        writer_reset(&batch);
        batch_around(&batch, all_codecs[c], z.buf, z.len, 4);
        assert_int_equal(validate(batch.buf, batch.len), -EBADMSG);
        writer_release(&z);
        writer_release(&batch);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_decodes),
        cmocka_unit_test(test_builder_reencodes_reference),
        cmocka_unit_test(test_validate_accepts_reference),
        cmocka_unit_test(test_validate_rejects_every_bit_flip),
        cmocka_unit_test(test_validate_rejects_truncation),
        cmocka_unit_test(test_validate_rejects_wrong_count),
        cmocka_unit_test(test_validate_offset_deltas),
        cmocka_unit_test(test_validate_rejects_trailing_garbage),
        cmocka_unit_test(test_validate_rejects_bad_lengths_inside),
        cmocka_unit_test(test_validate_reads_varints_as_the_iterator),
        cmocka_unit_test(test_validate_limits_magic_codec),
        cmocka_unit_test(test_iter_without_crc_check),
        cmocka_unit_test(test_rewrite_base_offset_and_epoch),
        cmocka_unit_test(test_control_and_log_append_time),
        cmocka_unit_test(test_builder_add_at_and_gaps),
        cmocka_unit_test(test_builder_limits_and_reset),
        cmocka_unit_test(test_snappy_own_matches_libsnappy),
        cmocka_unit_test(test_codec_names),
        cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_codec_batch_roundtrip),
        cmocka_unit_test(test_snappy_raw_decodes),
        cmocka_unit_test(test_codec_rejects_corrupt),
        cmocka_unit_test(test_bomb_gzip),
        cmocka_unit_test(test_bomb_snappy),
        cmocka_unit_test(test_bomb_lz4),
        cmocka_unit_test(test_bomb_zstd),
        cmocka_unit_test(test_frame_every_split),
        cmocka_unit_test(test_iter_compressed_points_into_scratch),
        cmocka_unit_test(test_compressed_batch_trailing_garbage),
    };
    return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
