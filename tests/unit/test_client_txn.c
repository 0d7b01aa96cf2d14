/*
 * test_client_txn.c - libbrook's read_committed filtering over hand-built Fetch
 * answers: a partition's bytes (transactional batches of several producers, their
 * ABORT and COMMIT markers, plain batches) and the answer's aborted-transaction
 * list, walked batch by batch as the consumer walks them. Each case names the
 * offsets a consumer must see.
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

#include "client/private.h"

enum { PLAIN, TXN, ABORT, COMMIT };

/* Append one batch at base offset base with n records, of producer pid. */
static void put_batch(struct writer *out, int kind, int64_t pid, int64_t base, int n)
{
    struct batch_builder bb;
    batch_builder_init(&bb, CODEC_NONE, 1 << 20);
    bb.producer_id = pid;
    bb.producer_epoch = pid < 0 ? -1 : 0;
    bb.base_sequence = kind == PLAIN ? -1 : 0;
    if (kind == TXN)
        bb.attributes = BATCH_ATTR_TRANSACTIONAL;
    if (kind == ABORT || kind == COMMIT) {
        uint8_t key[4] = {0, 0, 0, kind == COMMIT}, value[6] = {0};
        bb.attributes = BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL;
        bb.base_sequence = -1;
        assert_int_equal(batch_builder_add(&bb, 1000, key, 4, value, 6, NULL, 0), 0);
    } else {
        for (int i = 0; i < n; i++)
            assert_int_equal(batch_builder_add(&bb, 1000, NULL, -1, "v", 1, NULL, 0), 0);
    }
    size_t at = out->len;
    assert_int_equal(batch_builder_finish(&bb, -1, out), 0);
    writer_set_be64(out, at + BATCH_OFF_BASE_OFFSET, (uint64_t)base);
    batch_builder_release(&bb);
}

/* Walk the bytes as the consumer does; the offsets of every record shown go
 * into seen. Returns how many. */
static size_t walk(const struct writer *data, bool committed,
                   const struct kafka_fetch_resp_aborted_transaction *ab, int32_t n_ab,
                   int64_t *seen, size_t max)
{
    struct txn_filter f;
    assert_int_equal(txn_filter_init(&f, committed, ab, n_ab), 0);
    size_t off = 0, n = 0;
    while (off < data->len) {
        size_t size;
        struct batch_header h;
        assert_int_equal(batch_frame(data->buf + off, data->len - off, data->len - off, &size), 0);
        assert_int_equal(batch_header_parse(data->buf + off, size, &h), 0);
        int skip = txn_filter_skip(&f, &h, data->buf + off, size);
        assert_true(skip == 0 || skip == 1);
        for (int32_t i = 0; !skip && i <= h.last_offset_delta; i++) {
            assert_true(n < max);
            seen[n++] = h.base_offset + i;
        }
        off += size;
    }
    txn_filter_release(&f);
    return n;
}

static void assert_offsets(const int64_t *seen, size_t n, const int64_t *want, size_t nw)
{
    assert_int_equal(n, nw);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(seen[i], want[i]);
}

/* Producer 1's transaction [0,1] aborts at 3 while producer 2's [2] commits at 4;
 * producer 1's next transaction (5) and a plain batch (6) are shown. */
static void test_aborted_interleaved(void **state)
{
    struct writer w;
    writer_init(&w, 1 << 20);
    put_batch(&w, TXN, 1, 0, 2);
    put_batch(&w, TXN, 2, 2, 1);
    put_batch(&w, ABORT, 1, 3, 0);
    put_batch(&w, COMMIT, 2, 4, 0);
    put_batch(&w, TXN, 1, 5, 1);
    put_batch(&w, PLAIN, -1, 6, 1);
    struct kafka_fetch_resp_aborted_transaction ab[] = {{1, 0}};
    int64_t seen[16];
    const int64_t committed[] = {2, 5, 6}, all[] = {0, 1, 2, 5, 6};
    assert_offsets(seen, walk(&w, true, ab, 1, seen, 16), committed, 3);
    /* read_uncommitted: everything but the markers, even with the list given */
    assert_offsets(seen, walk(&w, false, ab, 1, seen, 16), all, 5);
    writer_release(&w);
}

/* An aborted transaction starts only where its first offset is reached: the same
 * producer's committed transaction before it is shown, and the list may come in
 * any order. */
static void test_aborted_starts_at_first_offset(void **state)
{
    struct writer w;
    writer_init(&w, 1 << 20);
    put_batch(&w, TXN, 7, 10, 1);
    put_batch(&w, COMMIT, 7, 11, 0);
    put_batch(&w, TXN, 7, 12, 2);
    put_batch(&w, TXN, 8, 14, 1);
    put_batch(&w, ABORT, 7, 15, 0);
    put_batch(&w, ABORT, 8, 16, 0);
    put_batch(&w, TXN, 8, 17, 1);
    struct kafka_fetch_resp_aborted_transaction ab[] = {{8, 14}, {7, 12}};
    int64_t seen[16];
    const int64_t want[] = {10, 17};
    assert_offsets(seen, walk(&w, true, ab, 2, seen, 16), want, 2);
    writer_release(&w);
}

/* A fetch that starts inside an aborted transaction (its first offset below the
 * fetch) still hides it; a transaction whose ABORT is beyond the answer stays
 * hidden to the end; a COMMIT marker does not end an abort. */
static void test_aborted_spanning_fetches(void **state)
{
    struct writer w;
    writer_init(&w, 1 << 20);
    put_batch(&w, TXN, 3, 20, 2);
    put_batch(&w, PLAIN, -1, 22, 1);
    put_batch(&w, COMMIT, 3, 23, 0);
    put_batch(&w, TXN, 3, 24, 1);
    struct kafka_fetch_resp_aborted_transaction ab[] = {{3, 5}};
    int64_t seen[16];
    const int64_t want[] = {22};
    assert_offsets(seen, walk(&w, true, ab, 1, seen, 16), want, 1);
    writer_release(&w);
}

/* No list (null, -1 entries) hides nothing but markers. */
static void test_no_aborted_list(void **state)
{
    struct writer w;
    writer_init(&w, 1 << 20);
    put_batch(&w, TXN, 4, 0, 1);
    put_batch(&w, COMMIT, 4, 1, 0);
    int64_t seen[4];
    const int64_t want[] = {0};
    assert_offsets(seen, walk(&w, true, NULL, -1, seen, 4), want, 1);
    writer_release(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aborted_interleaved),
        cmocka_unit_test(test_aborted_starts_at_first_offset),
        cmocka_unit_test(test_aborted_spanning_fetches),
        cmocka_unit_test(test_no_aborted_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
