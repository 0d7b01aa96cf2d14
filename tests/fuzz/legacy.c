/*
 * legacy.c - fuzz the message-set converter (proto/legacy.c).
 *
 * Input: a control byte, then a message set.
 *   bit 0  the target rewrites each top-level message's CRC to the right one, so that
 *          mutations reach the fields and wrappers behind it instead of stopping there
 *   bit 1  down-convert to magic 1 (else magic 0) in the round trip
 *
 * Checks: on error nothing is left in the output writer; a set that converts gives
 * one batch that validates (CRC included) with as many records as the converter
 * said; converting that batch back to a message set and up again gives a batch of
 * the same records (keys, values, and timestamps when the round trip is magic 1).
 */
#include "tests/fuzz/fuzz.h"

#include <zlib.h>

#include "lib/writer.h"
#include "proto/legacy.h"
#include "proto/record.h"

#define MAX_BYTES (1u << 20)

/* Set each top-level message's CRC in buf (n bytes) to what its bytes give. */
static void crc_fix(uint8_t *buf, size_t n)
{
    size_t off = 0;
    while (n - off >= 16) {
        uint32_t size = (uint32_t)buf[off + 8] << 24 | (uint32_t)buf[off + 9] << 16 |
                        (uint32_t)buf[off + 10] << 8 | buf[off + 11];
        if (size < 4 || size > n - off - 12)
            return;
        uint32_t crc = (uint32_t)crc32(0, buf + off + 16, size - 4);
        for (int i = 0; i < 4; i++)
            buf[off + 12 + i] = (uint8_t)(crc >> (24 - 8 * i));
        off += 12 + size;
    }
}

static bool same_record(const struct record *a, const struct record *b, bool ts)
{
    return a->key_len == b->key_len && a->value_len == b->value_len &&
           (a->key_len <= 0 || memcmp(a->key, b->key, (size_t)a->key_len) == 0) &&
           (a->value_len <= 0 || memcmp(a->value, b->value, (size_t)a->value_len) == 0) &&
           (!ts || a->timestamp == b->timestamp);
}

/* The records of batches a and b agree. */
static void check_same(const struct writer *a, const struct writer *b, bool ts)
{
    struct batch_iter ia, ib;
    struct record ra, rb;
    FUZZ_CHECK(batch_iter_init(&ia, a->buf, a->len, NULL, true) == 0);
    FUZZ_CHECK(batch_iter_init(&ib, b->buf, b->len, NULL, true) == 0);
    int ka, kb;
    while ((ka = batch_iter_next(&ia, &ra)) == 1) {
        kb = batch_iter_next(&ib, &rb);
        FUZZ_CHECK(kb == 1 && same_record(&ra, &rb, ts));
    }
    FUZZ_CHECK(ka == 0 && batch_iter_next(&ib, &rb) == 0);
    batch_iter_release(&ia);
    batch_iter_release(&ib);
}

static void round_trip(const struct writer *batch, int32_t count, int8_t magic)
{
    struct writer set, again;
    struct legacy_down d;
    int32_t count2 = -1;
    writer_init(&set, 64u << 20);
    writer_init(&again, 2 * MAX_BYTES);
    legacy_down_init(&d, &set, magic, 0, SIZE_MAX);
    FUZZ_CHECK(legacy_down_batch(&d, batch->buf, batch->len) == 0);
    FUZZ_CHECK(d.messages == count);
    int rc = legacy_upconvert(set.buf, set.len, 4 * MAX_BYTES, &again, &count2);
    FUZZ_CHECK(rc == 0 && count2 == count);
    check_same(batch, &again, magic == 1);
    writer_release(&set);
    writer_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r;
    reader_init(&r, data, size);
    uint8_t ctl = reader_u8(&r);
    size_t n = reader_left(&r);
    uint8_t *set = fuzz_alloc(n);
    memcpy(set, fuzz_take(&r, &n), n);
    if (ctl & 1)
        crc_fix(set, n);
    struct writer out;
    int32_t count = -1;
    writer_init(&out, 2 * MAX_BYTES);
    int rc = legacy_upconvert(set, n, MAX_BYTES, &out, &count);
    if (rc) {
        FUZZ_CHECK(out.len == 0);
    } else {
        struct batch_header h;
        FUZZ_CHECK(batch_validate(out.buf, out.len, NULL, false, &h, NULL) == 0);
        FUZZ_CHECK(count > 0 && h.records_count == count);
        round_trip(&out, count, (ctl & 2) ? 1 : 0);
    }
    writer_release(&out);
    free(set);
    return 0;
}
