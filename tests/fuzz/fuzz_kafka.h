/*
 * fuzz_kafka.h - checks the Kafka message targets (frame.c, api.c) share.
 *
 * The codec's promise is that what it decodes it can encode again, and that the
 * encoding is stable: decode(encode(m)) encodes to the very same bytes. Input bytes
 * need not come back byte for byte (a bool may be any non-zero byte, unknown tagged
 * fields are dropped, a known one equal to its default is not sent), so the check is
 * on the second round: encode, decode that, encode again, compare.
 *
 * Records fields carry RecordBatches; the broker frames and validates every batch
 * of a Produce request next (broker/h_produce.c), and a consumer does the same with
 * a Fetch response, so the targets run that walk over every records field too.
 */
#ifndef BROOK_TESTS_FUZZ_KAFKA_H
#define BROOK_TESTS_FUZZ_KAFKA_H

#include <string.h>

#include "proto/kafka.h"
#include "proto/record.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_OUT_MAX    (1u << 30) /* encodings are never near this */
#define FUZZ_DECOMP_MAX (4u << 20) /* decompressed records per batch, to keep runs fast */

/* The broker's arena limit for a frame of n bytes (broker/dispatch.c). */
static inline size_t fuzz_arena_limit(size_t n)
{
    size_t limit = n * 16 + (64u << 10);
    return limit < (512u << 20) ? limit : (512u << 20);
}

/* Frame and validate each batch of a records blob, as the Produce path does. */
static inline void fuzz_records_check(const struct krecords *rec, void *arg)
{
    (void)arg;
    if (!rec->p || rec->len <= 0)
        return;
    size_t len = (size_t)rec->len, off = 0, size;
    while (off < len && batch_frame(rec->p + off, len - off, len - off, &size) == 0) {
        struct batch_limits lim = {size, FUZZ_DECOMP_MAX, 1 << 20};
        struct batch_header h;
        struct batch_stats st;
        if (batch_validate(rec->p + off, size, &lim, false, &h, &st) == 0)
            FUZZ_CHECK(st.records == h.records_count && h.length == (int32_t)(size - 12));
        off += size;
    }
}

/* Call fn on every records field of a decoded struct d at s (and of its children). */
static inline void fuzz_struct_walk(const struct kafka_struct_desc *d, const void *s,
                                    void (*fn)(const struct krecords *rec, void *arg), void *arg)
{
    for (uint16_t i = 0; i < d->n_fields; i++) {
        const struct kafka_field *f = &d->fields[i];
        const char *m = (const char *)s + f->offset;
        if (f->type == KAFKA_T_RECORDS) {
            fn((const struct krecords *)m, arg);
        } else if (f->type == KAFKA_T_STRUCT) {
            fuzz_struct_walk(f->child, m, fn, arg);
        } else if (f->type == KAFKA_T_ARRAY && f->elem == KAFKA_T_STRUCT) {
            const char *items = *(const char *const *)m;
            int32_t n = *(const int32_t *)((const char *)s + f->count);
            for (int32_t k = 0; k < n; k++)
                fuzz_struct_walk(f->child, items + (size_t)k * f->child->size, fn, arg);
        }
    }
}

/* Encode s, decode the encoding, encode again: the decode must take all the bytes
 * and the two encodings must be equal. */
static inline void fuzz_kafka_fixpoint(const struct kafka_struct_desc *d, int16_t v, const void *s)
{
    struct kafka_out o1, o2;
    struct arena a;
    struct reader r;
    kafka_out_init(&o1, FUZZ_OUT_MAX);
    kafka_out_init(&o2, FUZZ_OUT_MAX);
    arena_init(&a, 1u << 30);
    int rc = kafka_encode(d, v, s, &o1);
    if (rc)
        fprintf(stderr, "%s v%d: a decoded message does not encode: %d\n", d->name, v, rc);
    FUZZ_CHECK(rc == 0 && o1.n_splices == 0);
    void *s2 = arena_alloc(&a, d->size);
    FUZZ_CHECK(s2 != NULL);
    reader_init(&r, o1.w.buf, o1.w.len);
    rc = kafka_decode(d, v, &r, &a, s2);
    if (rc || reader_left(&r))
        fprintf(stderr, "%s v%d: an encoding does not decode: %d, %zu bytes left\n", d->name, v, rc,
                reader_left(&r));
    FUZZ_CHECK(rc == 0 && reader_left(&r) == 0);
    rc = kafka_encode(d, v, s2, &o2);
    FUZZ_CHECK(rc == 0);
    if (o1.w.len != o2.w.len || (o1.w.len && memcmp(o1.w.buf, o2.w.buf, o1.w.len)))
        fprintf(stderr, "%s v%d: encoding is not stable (%zu then %zu bytes)\n", d->name, v,
                o1.w.len, o2.w.len);
    FUZZ_CHECK(o1.w.len == o2.w.len && (o1.w.len == 0 || !memcmp(o1.w.buf, o2.w.buf, o1.w.len)));
    arena_release(&a);
    kafka_out_release(&o1);
    kafka_out_release(&o2);
}

#endif
