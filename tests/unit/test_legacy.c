/*
 * test_legacy.c - proto/legacy.c: message sets of magic 0 and 1 to and from v2 batches.
 *
 * Two reference sets are written out byte by byte below, CRCs included (computed
 * apart from brook, from the format description), so the converter is checked
 * against the format and not against itself. The other sets are assembled here by
 * a small builder of the test's own (msg_put) with zlib's CRC-32, and compressed
 * straight with the libraries, including the shapes brook never writes (raw snappy,
 * lz4 frames with the header checksum Kafka wrote under magic 0). Down-converted
 * messages are parsed back by the test's own reader (msg_get), CRC checked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>

#include "lib/reader.h"
#include "lib/writer.h"
#include "proto/legacy.h"
#include "proto/record.h"

#define MiB     (1024u * 1024u)
#define BASE_TS 1700000000000LL
#define MAX     (1 * MiB)

/* magic 0: offset 0 key "k1" value "hello"; offset 1 null key, value "world" */
static const uint8_t ref_magic0[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x71, 0xef, 0x57, 0x70,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x31, 0x00, 0x00, 0x00, 0x05, 0x68, 0x65, 0x6c, 0x6c,
    0x6f, /* second message */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x13, 0x8b, 0xc0, 0xcd, 0x77,
    0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x05, 0x77, 0x6f, 0x72, 0x6c, 0x64,
};
#define REF0_SECOND 33 /* where the second message starts */

/* magic 1: key "k1" value "hello" at BASE_TS; key "k2" null value at BASE_TS + 5 */
static const uint8_t ref_magic1[] = {
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x1d,
    0x9e,
    0x34,
    0x95,
    0x96,
    0x01,
    0x00,
    0x00,
    0x00,
    0x01,
    0x8b,
    0xcf,
    0xe5,
    0x68,
    0x00,
    0x00,
    0x00,
    0x00,
    0x02,
    0x6b,
    0x31,
    0x00,
    0x00,
    0x00,
    0x05,
    0x68,
    0x65,
    0x6c,
    0x6c,
    0x6f,
    /* second message */
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x18,
    0xdc,
    0xbe,
    0x14,
    0xa1,
    0x01,
    0x00,
    0x00,
    0x00,
    0x01,
    0x8b,
    0xcf,
    0xe5,
    0x68,
    0x05,
    0x00,
    0x00,
    0x00,
    0x02,
    0x6b,
    0x32,
    0xff,
    0xff,
    0xff,
    0xff,
};

/* ---- the test's own message builder and reader ---- */

static void put_bytes(struct writer *w, const void *p, int32_t len)
{
    writer_be32(w, (uint32_t)len);
    if (len > 0)
        writer_bytes(w, p, (size_t)len);
}

/* One message; key/value NULL for null. */
static void msg_put(struct writer *w, int64_t off, int8_t magic, int8_t attr, int64_t ts,
                    const char *key, const void *val, int32_t vlen)
{
    struct writer body;
    writer_init(&body, 1u << 30);
    writer_u8(&body, (uint8_t)magic);
    writer_u8(&body, (uint8_t)attr);
    if (magic == 1)
        writer_be64(&body, (uint64_t)ts);
    put_bytes(&body, key, key ? (int32_t)strlen(key) : -1);
    put_bytes(&body, val, val ? vlen : -1);
    assert_true(writer_ok(&body));
    writer_be64(w, (uint64_t)off);
    writer_be32(w, (uint32_t)(body.len + 4));
    writer_be32(w, (uint32_t)crc32(0, body.buf, (uInt)body.len));
    writer_bytes(w, body.buf, body.len);
    writer_release(&body);
}

static void msg_str(struct writer *w, int64_t off, int8_t magic, int64_t ts, const char *key,
                    const char *val)
{
    msg_put(w, off, magic, 0, ts, key, val, val ? (int32_t)strlen(val) : -1);
}

struct tmsg {
    int64_t offset, ts;
    int8_t magic, attr;
    const uint8_t *key, *val;
    int32_t klen, vlen;
};

/* Parse one message at *r, checking its CRC; false at the end. */
static bool msg_get(struct reader *r, struct tmsg *m)
{
    if (reader_left(r) == 0)
        return false;
    m->offset = (int64_t)reader_be64(r);
    uint32_t size = reader_be32(r);
    assert_true(size <= reader_left(r));
    const uint8_t *body = reader_bytes(r, size);
    assert_int_equal(crc32(0, body + 4, size - 4),
                     (uint32_t)body[0] << 24 | body[1] << 16 | body[2] << 8 | body[3]);
    struct reader b;
    reader_init(&b, body + 4, size - 4);
    m->magic = (int8_t)reader_u8(&b);
    m->attr = (int8_t)reader_u8(&b);
    m->ts = m->magic == 1 ? (int64_t)reader_be64(&b) : -1;
    m->klen = (int32_t)reader_be32(&b);
    m->key = m->klen > 0 ? reader_bytes(&b, (size_t)m->klen) : NULL;
    m->vlen = (int32_t)reader_be32(&b);
    m->val = m->vlen > 0 ? reader_bytes(&b, (size_t)m->vlen) : NULL;
    assert_true(reader_ok(&b));
    assert_int_equal(reader_left(&b), 0);
    return true;
}

/* ---- checking a converted batch ---- */

struct want {
    const char *key, *val; /* NULL: null */
    int64_t ts;
};

static void check_batch(const struct writer *out, const struct want *want, int n, enum codec codec)
{
    struct batch_header h;
    struct batch_iter it;
    struct record r;
    assert_int_equal(batch_validate(out->buf, out->len, NULL, false, &h, NULL), 0);
    assert_int_equal(h.producer_id, -1);
    assert_int_equal(h.base_sequence, -1);
    assert_int_equal(h.attributes & BATCH_ATTR_CODEC_MASK, codec);
    assert_int_equal(h.attributes & BATCH_ATTR_LOG_APPEND_TIME, 0);
    assert_int_equal(h.records_count, n);
    assert_int_equal(batch_iter_init(&it, out->buf, out->len, NULL, true), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(batch_iter_next(&it, &r), 1);
        assert_int_equal(r.offset, i);
        assert_int_equal(r.timestamp, want[i].ts);
        assert_int_equal(r.headers_count, 0);
        if (want[i].key) {
            assert_int_equal(r.key_len, strlen(want[i].key));
            assert_memory_equal(r.key, want[i].key, r.key_len);
        } else {
            assert_int_equal(r.key_len, -1);
        }
        if (want[i].val) {
            assert_int_equal(r.value_len, strlen(want[i].val));
            assert_memory_equal(r.value, want[i].val, r.value_len);
        } else {
            assert_int_equal(r.value_len, -1);
        }
    }
    assert_int_equal(batch_iter_next(&it, &r), 0);
    batch_iter_release(&it);
}

static int up(const void *p, size_t len, size_t max, struct writer *out)
{
    int32_t count = -1;
    writer_reset(out);
    int rc = legacy_upconvert(p, len, max, out, &count);
    if (rc)
        assert_int_equal(out->len, 0); /* nothing half-written */
    return rc;
}

/* ---- up-conversion ---- */

static void test_magic0_reference(void **state)
{
    struct writer out;
    writer_init(&out, 2 * MAX);
    assert_int_equal(up(ref_magic0, sizeof ref_magic0, MAX, &out), 0);
    /* magic 0 has no timestamp: NO_TIMESTAMP (-1), as Kafka up-converts it */
    const struct want w[] = {{"k1", "hello", -1}, {NULL, "world", -1}};
    check_batch(&out, w, 2, CODEC_NONE);
    writer_release(&out);
}

static void test_magic1_reference(void **state)
{
    struct writer out;
    writer_init(&out, 2 * MAX);
    assert_int_equal(up(ref_magic1, sizeof ref_magic1, MAX, &out), 0);
    const struct want w[] = {{"k1", "hello", BASE_TS}, {"k2", NULL, BASE_TS + 5}};
    check_batch(&out, w, 2, CODEC_NONE);
    writer_release(&out);
}

/* Every cut of a set: whole messages convert, a cut inside one is corrupt. */
static void test_truncated(void **state)
{
    struct writer out;
    writer_init(&out, 2 * MAX);
    for (size_t n = 1; n < sizeof ref_magic0; n++)
        assert_int_equal(up(ref_magic0, n, MAX, &out), n == REF0_SECOND ? 0 : -EBADMSG);
    assert_int_equal(up(ref_magic1, 0, MAX, &out), -EPROTO); /* no records */
    writer_release(&out);
}

static void test_corrupt_crc(void **state)
{
    struct writer out;
    uint8_t bad[sizeof ref_magic1];
    writer_init(&out, 2 * MAX);
    for (size_t i = 12; i < sizeof bad; i++) { /* every byte the CRC or the body holds */
        if (i >= 41 && i < 53)
            continue; /* the second message's offset and size: outside its CRC */
        memcpy(bad, ref_magic1, sizeof bad);
        bad[i] ^= 0x01;
        int rc = up(bad, sizeof bad, MAX, &out);
        assert_true(rc == -EBADMSG || rc == -ENOTSUP); /* a flipped magic is not a set */
    }
    writer_release(&out);
}

/* Sizes and lengths that claim more than was sent. */
static void test_huge_sizes(void **state)
{
    struct writer set, out;
    writer_init(&set, MAX);
    writer_init(&out, 2 * MAX);
    writer_be64(&set, 0);
    writer_be32(&set, 0x7fffffff); /* message_size */
    writer_bytes(&set, ref_magic0 + 12, 21);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EBADMSG);

    /* a key length past the message, with a CRC that matches */
    writer_reset(&set);
    msg_str(&set, 0, 1, BASE_TS, "k", "v");
    size_t key_len_at = 8 + 4 + 4 + 1 + 1 + 8;
    writer_set_be32(&set, key_len_at, 0x7ffffff0);
    writer_set_be32(&set, 12, (uint32_t)crc32(0, set.buf + 16, (uInt)(set.len - 16)));
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EBADMSG);

    /* a size below the smallest message */
    writer_reset(&set);
    writer_be64(&set, 0);
    writer_be32(&set, 5);
    writer_bytes(&set, "\0\0\0\0\0", 5);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EBADMSG);
    writer_release(&set);
    writer_release(&out);
}

static void test_not_a_message_set(void **state)
{
    struct writer set, out;
    writer_init(&set, MAX);
    writer_init(&out, 2 * MAX);
    uint8_t v2[] = {0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 14, 0xff,
                    0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0,  0};
    assert_int_equal(up(v2, sizeof v2, MAX, &out), -ENOTSUP); /* magic 2 */
    msg_put(&set, 0, 1, CODEC_ZSTD, BASE_TS, NULL, "x", 1);   /* zstd came with v2 */
    assert_int_equal(up(set.buf, set.len, MAX, &out), -ENOTSUP);
    writer_release(&set);
    writer_release(&out);
}

/* ---- wrappers ---- */

/* The inner set of three messages; magic 1 offsets relative, magic 0 absolute. */
static void inner_set(struct writer *w, int8_t magic)
{
    int64_t base = magic == 1 ? 0 : 500;
    msg_str(w, base + 0, magic, BASE_TS + 1, "a", "one");
    msg_str(w, base + 1, magic, BASE_TS + 2, NULL, "two");
    msg_str(w, base + 2, magic, BASE_TS + 3, "c", NULL);
}

static void compress_raw_snappy(const struct writer *in, struct writer *out)
{
    size_t n = snappy_max_compressed_length(in->len);
    assert_int_equal(writer_grow(out, n), 0);
    assert_int_equal(snappy_compress((const char *)in->buf, in->len, (char *)out->buf, &n),
                     SNAPPY_OK);
    out->len = n;
}

static void compress_lz4(const struct writer *in, struct writer *out)
{
    size_t n = LZ4F_compressFrameBound(in->len, NULL);
    assert_int_equal(writer_grow(out, n), 0);
    n = LZ4F_compressFrame(out->buf, n, in->buf, in->len, NULL);
    assert_false(LZ4F_isError(n));
    out->len = n;
}

enum shape { SHAPE_LIB, SHAPE_RAW_SNAPPY, SHAPE_LZ4_FRAME, SHAPE_LZ4_KAFKA0 };

/* A set of one wrapper (at offset 2 for magic 1: the last inner offset) holding
 * inner_set(magic), compressed with codec in the given shape. */
static void wrapper_set(struct writer *set, int8_t magic, enum codec codec, enum shape shape)
{
    struct writer inner, z;
    writer_init(&inner, MAX);
    writer_init(&z, MAX);
    inner_set(&inner, magic);
    if (shape == SHAPE_RAW_SNAPPY) {
        compress_raw_snappy(&inner, &z);
    } else if (shape == SHAPE_LZ4_FRAME || shape == SHAPE_LZ4_KAFKA0) {
        compress_lz4(&inner, &z);
        if (shape == SHAPE_LZ4_KAFKA0)
            z.buf[6] ^= 0x5a; /* the header checksum byte, as Kafka's magic-0 writer got it wrong */
    } else {
        assert_int_equal(codec_compress(codec, inner.buf, inner.len, &z), 0);
    }
    msg_put(set, magic == 1 ? 2 : 0, magic, (int8_t)codec, BASE_TS + 3, NULL, z.buf,
            (int32_t)z.len);
    writer_release(&inner);
    writer_release(&z);
}

static void check_wrapper(int8_t magic, enum codec codec, enum shape shape)
{
    struct writer set, out;
    writer_init(&set, MAX);
    writer_init(&out, 2 * MAX);
    wrapper_set(&set, magic, codec, shape);
    msg_str(&set, 9, magic, BASE_TS + 4, "d", "after"); /* a plain message after it */
    assert_int_equal(up(set.buf, set.len, MAX, &out), 0);
    int64_t t = magic == 1 ? BASE_TS : -1;
    const struct want w[] = {{"a", "one", magic ? t + 1 : -1},
                             {NULL, "two", magic ? t + 2 : -1},
                             {"c", NULL, magic ? t + 3 : -1},
                             {"d", "after", magic ? t + 4 : -1}};
    check_batch(&out, w, 4, codec); /* stored compressed as sent */
    writer_release(&set);
    writer_release(&out);
}

static void test_wrappers(void **state)
{
    for (int8_t magic = 0; magic <= 1; magic++) {
        check_wrapper(magic, CODEC_GZIP, SHAPE_LIB);
        check_wrapper(magic, CODEC_SNAPPY, SHAPE_LIB); /* xerial framing */
        check_wrapper(magic, CODEC_SNAPPY, SHAPE_RAW_SNAPPY);
        check_wrapper(magic, CODEC_LZ4, SHAPE_LZ4_FRAME);
    }
    check_wrapper(0, CODEC_LZ4, SHAPE_LZ4_KAFKA0);
}

/* Under magic 1 an lz4 frame must be a correct one. */
static void test_lz4_magic1_checksum(void **state)
{
    struct writer set, out;
    writer_init(&set, MAX);
    writer_init(&out, 2 * MAX);
    wrapper_set(&set, 1, CODEC_LZ4, SHAPE_LZ4_KAFKA0);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EBADMSG);
    writer_release(&set);
    writer_release(&out);
}

/* Wrap an inner set the test made into one wrapper of magic. */
static void wrap(struct writer *set, int8_t magic, const struct writer *inner)
{
    struct writer z;
    writer_init(&z, MAX);
    assert_int_equal(codec_compress(CODEC_GZIP, inner->buf, inner->len, &z), 0);
    msg_put(set, 0, magic, CODEC_GZIP, BASE_TS, NULL, z.buf, (int32_t)z.len);
    writer_release(&z);
}

static void test_wrapper_refusals(void **state)
{
    struct writer set, inner, nested, out;
    writer_init(&set, MAX);
    writer_init(&inner, MAX);
    writer_init(&nested, MAX);
    writer_init(&out, 2 * MAX);

    /* a wrapper inside a wrapper */
    wrapper_set(&nested, 1, CODEC_GZIP, SHAPE_LIB);
    wrap(&set, 1, &nested);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EPROTO);

    /* magic 1 inner offsets that are not 0, 1, 2 */
    writer_reset(&set);
    msg_str(&inner, 0, 1, BASE_TS, "a", "1");
    msg_str(&inner, 2, 1, BASE_TS, "b", "2");
    wrap(&set, 1, &inner);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EPROTO);

    /* ... which magic 0 does not care about */
    writer_reset(&set);
    writer_reset(&inner);
    msg_str(&inner, 7, 0, -1, "a", "1");
    msg_str(&inner, 3, 0, -1, "b", "2");
    wrap(&set, 0, &inner);
    assert_int_equal(up(set.buf, set.len, MAX, &out), 0);

    /* an inner magic other than the wrapper's */
    writer_reset(&set);
    writer_reset(&inner);
    msg_str(&inner, 0, 0, -1, "a", "1");
    wrap(&set, 1, &inner);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EPROTO);

    /* an empty inner set, and a value that is not gzip */
    writer_reset(&set);
    writer_reset(&inner);
    wrap(&set, 1, &inner);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EBADMSG);
    writer_reset(&set);
    msg_put(&set, 0, 1, CODEC_GZIP, BASE_TS, NULL, "not gzip", 8);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EBADMSG);

    /* wrappers with an empty or a null value, of every codec and magic */
    for (int8_t magic = 0; magic <= 1; magic++) {
        for (int codec = CODEC_GZIP; codec <= CODEC_LZ4; codec++) {
            writer_reset(&set);
            msg_put(&set, 0, magic, (int8_t)codec, BASE_TS, NULL, "", 0);
            assert_int_equal(up(set.buf, set.len, MAX, &out), -EBADMSG);
            writer_reset(&set);
            msg_put(&set, 0, magic, (int8_t)codec, BASE_TS, NULL, NULL, 0);
            assert_int_equal(up(set.buf, set.len, MAX, &out), -EBADMSG);
        }
    }

    writer_release(&set);
    writer_release(&inner);
    writer_release(&nested);
    writer_release(&out);
}

/* 64 MiB of zeros in a gzip wrapper stops at the 1 MiB budget. */
static void test_gzip_bomb(void **state)
{
    struct writer set, out;
    z_stream z = {0};
    static uint8_t zeros[64 * 1024];
    size_t cap = 1 * MiB;
    uint8_t *gz = malloc(cap);
    assert_non_null(gz);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    for (int i = 0; i < 1024; i++) {
        z.next_in = zeros;
        z.avail_in = sizeof zeros;
        assert_int_equal(deflate(&z, i == 1023 ? Z_FINISH : Z_NO_FLUSH),
                         i == 1023 ? Z_STREAM_END : Z_OK);
    }
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    writer_init(&set, 2 * MiB);
    writer_init(&out, 2 * MAX);
    msg_put(&set, 0, 1, CODEC_GZIP, BASE_TS, NULL, gz, (int32_t)n);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EMSGSIZE);
    /* two wrappers of 0.6 MiB each pass the budget together */
    writer_reset(&set);
    struct writer inner;
    writer_init(&inner, 2 * MiB);
    static char big[600 * 1024];
    memset(big, 'x', sizeof big);
    msg_put(&inner, 0, 1, 0, BASE_TS, NULL, big, (int32_t)sizeof big);
    wrap(&set, 1, &inner);
    assert_int_equal(up(set.buf, set.len, MAX, &out), 0);
    wrap(&set, 1, &inner);
    assert_int_equal(up(set.buf, set.len, MAX, &out), -EMSGSIZE);
    writer_release(&inner);
    writer_release(&set);
    writer_release(&out);
    free(gz);
}

/* ---- down-conversion ---- */

/* A v2 batch at base 100: keys, null key, tombstone, headers; codec as given. */
static void v2_batch(struct writer *out, enum codec codec, int16_t extra_attr)
{
    struct batch_builder b;
    struct record_header h = {(const uint8_t *)"h", 1, (const uint8_t *)"v", 1};
    batch_builder_init(&b, codec, MAX);
    b.attributes = extra_attr;
    assert_int_equal(batch_builder_add(&b, BASE_TS, "k0", 2, "v0", 2, &h, 1), 0);
    assert_int_equal(batch_builder_add(&b, BASE_TS + 7, NULL, -1, "v1", 2, NULL, 0), 0);
    assert_int_equal(batch_builder_add(&b, BASE_TS + 3, "k2", 2, NULL, -1, NULL, 0), 0);
    assert_int_equal(batch_builder_finish(&b, -1, out), 0);
    batch_builder_release(&b);
    batch_set_base_offset(out->buf, 100);
}

static void test_down_roundtrip(void **state)
{
    const enum codec codecs[] = {CODEC_NONE, CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD};
    for (size_t c = 0; c < sizeof codecs / sizeof *codecs; c++) {
        for (int8_t magic = 0; magic <= 1; magic++) {
            struct writer batch, msgs, back;
            struct legacy_down d;
            struct tmsg m;
            writer_init(&batch, MAX);
            writer_init(&msgs, MAX);
            writer_init(&back, 2 * MAX);
            v2_batch(&batch, codecs[c], 0);
            legacy_down_init(&d, &msgs, magic, 100, MAX);
            assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), 0);
            assert_int_equal(d.messages, 3);
            assert_int_equal(d.next, 103);
            struct reader r;
            reader_init(&r, msgs.buf, msgs.len);
            const int64_t ts[] = {BASE_TS, BASE_TS + 7, BASE_TS + 3};
            for (int i = 0; i < 3; i++) {
                assert_true(msg_get(&r, &m));
                assert_int_equal(m.offset, 100 + i); /* absolute */
                assert_int_equal(m.magic, magic);
                assert_int_equal(m.attr, 0); /* uncompressed, create time */
                assert_int_equal(m.ts, magic ? ts[i] : -1);
            }
            assert_false(msg_get(&r, &m));
            /* and back: the same records, headers gone */
            assert_int_equal(up(msgs.buf, msgs.len, MAX, &back), 0);
            const struct want w[] = {{"k0", "v0", magic ? ts[0] : -1},
                                     {NULL, "v1", magic ? ts[1] : -1},
                                     {"k2", NULL, magic ? ts[2] : -1}};
            check_batch(&back, w, 3, CODEC_NONE);
            writer_release(&batch);
            writer_release(&msgs);
            writer_release(&back);
        }
    }
}

static void test_down_limits(void **state)
{
    struct writer batch, msgs;
    struct legacy_down d;
    writer_init(&batch, MAX);
    writer_init(&msgs, MAX);
    v2_batch(&batch, CODEC_GZIP, 0);
    size_t s0 = legacy_message_size(1, 2, 2), s1 = legacy_message_size(1, -1, 2);

    /* room for two whole messages and a bit: two, and the third is next */
    legacy_down_init(&d, &msgs, 1, 100, s0 + s1 + 5);
    assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), 1);
    assert_int_equal(d.messages, 2);
    assert_int_equal(d.next, 102);
    assert_int_equal(msgs.len, s0 + s1);

    /* from the middle of the batch */
    writer_reset(&msgs);
    legacy_down_init(&d, &msgs, 0, 101, MAX);
    assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), 0);
    assert_int_equal(d.messages, 2);
    struct reader r;
    struct tmsg m;
    reader_init(&r, msgs.buf, msgs.len);
    assert_true(msg_get(&r, &m));
    assert_int_equal(m.offset, 101);

    /* a first message over the limit: nothing, whole (KIP-74), or cut */
    writer_reset(&msgs);
    legacy_down_init(&d, &msgs, 1, 100, 10);
    assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), 1);
    assert_int_equal(msgs.len, 0);
    legacy_down_init(&d, &msgs, 1, 100, 10);
    d.first_whole = true;
    assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), 1);
    assert_int_equal(msgs.len, s0);
    assert_int_equal(d.messages, 1);
    writer_reset(&msgs);
    legacy_down_init(&d, &msgs, 1, 100, 10);
    d.first_partial = true;
    assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), 1);
    assert_int_equal(msgs.len, 10);

    /* a writer that runs out: whole messages only */
    struct writer small;
    uint8_t room[60];
    writer_init_fixed(&small, room, sizeof room);
    legacy_down_init(&d, &small, 1, 100, MAX);
    assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), -EMSGSIZE);
    assert_int_equal(small.len, s0);
    writer_release(&batch);
    writer_release(&msgs);
}

/* Control batches carry no messages; log-append time shows in the attributes. */
static void test_down_control_and_log_append(void **state)
{
    struct writer batch, msgs;
    struct legacy_down d;
    struct tmsg m;
    struct reader r;
    writer_init(&batch, MAX);
    writer_init(&msgs, MAX);
    v2_batch(&batch, CODEC_NONE, BATCH_ATTR_CONTROL);
    legacy_down_init(&d, &msgs, 1, 100, MAX);
    assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), 0);
    assert_int_equal(msgs.len, 0);
    assert_int_equal(d.next, 103);

    writer_reset(&batch);
    v2_batch(&batch, CODEC_NONE, BATCH_ATTR_LOG_APPEND_TIME);
    legacy_down_init(&d, &msgs, 1, 100, MAX);
    assert_int_equal(legacy_down_batch(&d, batch.buf, batch.len), 0);
    reader_init(&r, msgs.buf, msgs.len);
    assert_true(msg_get(&r, &m));
    assert_int_equal(m.attr, LEGACY_ATTR_LOG_APPEND);
    writer_release(&batch);
    writer_release(&msgs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magic0_reference),
        cmocka_unit_test(test_magic1_reference),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt_crc),
        cmocka_unit_test(test_huge_sizes),
        cmocka_unit_test(test_not_a_message_set),
        cmocka_unit_test(test_wrappers),
        cmocka_unit_test(test_lz4_magic1_checksum),
        cmocka_unit_test(test_wrapper_refusals),
        cmocka_unit_test(test_gzip_bomb),
        cmocka_unit_test(test_down_roundtrip),
        cmocka_unit_test(test_down_limits),
        cmocka_unit_test(test_down_control_and_log_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
