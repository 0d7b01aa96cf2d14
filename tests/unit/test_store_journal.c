/*
 * test_store_journal.c - the topic journal of store/: entries in append order
 * with consistent totals, cut where a crash lost a batch, rebuilt from the
 * partitions when damaged or missing (also past the first chunk it is read in,
 * and from a log start inside a batch), and a start that reads a few chunks.
 *
 * Every test works in its own mkdtemp directory; "crashes" are store_abandon() or
 * tu_forget_clean_shutdown() before an open.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/sysio.h"
#include "store/store.h"
#include "tests/unit/storeutil.h"
#include "tests/unit/testutil.h"

/* A journal rebuilt after a crash lists the batch that holds the log start even
 * when DeleteRecords moved the log start into it: its later records are still
 * there to be shown. */
static void test_journal_rebuilt_from_mid_batch_log_start(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "j", 1, NULL);
    struct store_topic *t = store_topic_get(s, "j");
    struct store_partition *p = store_topic_partition(t, 0);
    tu_append(p, 5, NULL, "val", 0, 1);
    tu_append(p, 2, NULL, "val", 5, 1);
    int64_t low;
    assert_int_equal(store_partition_delete_records(p, 2, &low), 0);
    char jpath[4096], id[33];
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", store_topic_id(t)[i]);
    snprintf(jpath, sizeof jpath, "%s/.topics/%s.journal", dir, id);
    store_topic_put(t);
    store_abandon(s);
    assert_int_equal(truncate(jpath, 16), 0); /* the entries were never synced */

    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "j");
    struct store_journal_entry e[4];
    int64_t total, first;
    assert_int_equal(store_journal_read(t, 0, e, 4, &total, &first), 2);
    assert_int_equal(e[0].base_offset, 0);
    assert_int_equal(e[0].records, 5);
    assert_int_equal(e[1].base_offset, 5);
    assert_int_equal(e[1].records_before, 5);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_journal_order_and_recovery(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "j", 3, NULL);
    struct store_topic *t = store_topic_get(s, "j");
    const int order[] = {0, 2, 1, 0, 2};
    for (int i = 0; i < 5; i++)
        tu_append(store_topic_partition(t, order[i]), i + 1, NULL, "val", 0, 1);
    struct store_journal_entry e[8];
    int64_t total, first;
    assert_int_equal(store_journal_read(t, 0, e, 8, &total, &first), 5);
    int64_t recs = 0, vals = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(e[i].partition, order[i]);
        assert_int_equal(e[i].records, i + 1);
        assert_int_equal(e[i].records_before, recs);
        assert_int_equal(e[i].values_before, vals);
        int64_t v = 0;
        for (int k = 0; k < i + 1; k++)
            v += (int64_t)strlen("val-") + (k >= 10 ? 2 : 1);
        assert_int_equal(e[i].value_bytes, v);
        recs += i + 1;
        vals += v;
    }
    assert_int_equal(e[3].base_offset, 1);
    assert_int_equal(e[3].part_records_before, 1);
    assert_int_equal(e[3].part_values_before, e[0].value_bytes);
    assert_int_equal(e[4].part_records_before, 2);
    int64_t r, v;
    store_journal_totals(t, -1, &r, &v);
    assert_int_equal(r, recs);
    assert_int_equal(v, vals);
    store_journal_totals(t, 0, &r, &v);
    assert_int_equal(r, 1 + 4);
    assert_int_equal(v, e[0].value_bytes + e[3].value_bytes);
    store_topic_put(t);
    store_close(s);

    /* lose partition 2's last batch: the journal is cut where it is missing */
    char seg[4096];
    tu_path(seg, sizeof seg, dir, "j-2/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    assert_int_equal(truncate(seg, size - 10), 0);
    tu_forget_clean_shutdown(dir);
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "j");
    assert_int_equal(store_journal_read(t, 0, e, 8, &total, &first), 4);
    assert_int_equal(e[3].partition, 0);
    store_topic_put(t);
    store_close(s);

    /* without a journal, it is rebuilt from the partitions, one after the other */
    char jpath[4096], id[33];
    t = store_topic_get(s = tu_store_open(dir, -1), "j");
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", store_topic_id(t)[i]);
    store_topic_put(t);
    store_close(s);
    snprintf(jpath, sizeof jpath, "%s/.topics/%s.journal", dir, id);
    assert_int_equal(unlink(jpath), 0);
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "j");
    assert_int_equal(store_journal_read(t, 0, e, 8, &total, &first), 4);
    assert_int_equal(e[0].partition, 0);
    assert_int_equal(e[1].partition, 0);
    assert_int_equal(e[2].partition, 1);
    assert_int_equal(e[3].partition, 2);
    assert_int_equal(e[3].records_before, 1 + 4 + 3);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* A journal longer than the chunks it is read in: a damaged entry past the first
 * chunk is cut at start even after a clean shutdown, and the partitions fill it in
 * again; after a crash the entry of a lost batch ends it, wherever it lies. */
static void test_journal_long_cut_and_rebuilt(void **state)
{
    enum { N = 2 * 1024 + 500, BAD = 1024 + 300 };
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "long", 2, NULL);
    struct store_topic *t = store_topic_get(s, "long");
    for (int i = 0; i < N; i++)
        tu_append(store_topic_partition(t, i % 2), 1, NULL, "v", i, 1);
    char jpath[4096], id[33];
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", store_topic_id(t)[i]);
    snprintf(jpath, sizeof jpath, "%s/.topics/%s.journal", dir, id);
    store_topic_put(t);
    store_close(s);

    /* one flipped bit in entry BAD */
    int fd = open(jpath, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    off_t at = 16 + (off_t)BAD * 64 + 20;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    s = tu_store_open(dir, -1);
    struct store_recovery r;
    store_recovery_info(s, &r);
    assert_true(r.clean);
    assert_int_equal(r.journal_dropped, N - BAD);
    assert_int_equal(r.journal_rebuilt, N - BAD);
    t = store_topic_get(s, "long");
    struct store_journal_entry e[8];
    int64_t total, first, recs, vals;
    assert_int_equal(store_journal_read(t, BAD - 1, e, 2, &total, &first), 2);
    assert_int_equal(total, N);
    assert_int_equal(e[0].base_offset, (BAD - 1) / 2); /* kept as it was */
    assert_int_equal(e[1].partition, 0);               /* then partition 0's rest */
    assert_int_equal(e[1].records_before, BAD);
    store_journal_totals(t, -1, &recs, &vals);
    assert_int_equal(recs, N);
    store_topic_put(t);
    store_close(s);

    /* a crash that lost partition 1's last batch: the journal ends before its entry */
    char seg[4096];
    tu_path(seg, sizeof seg, dir, "long-1/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    assert_int_equal(truncate(seg, size - 1), 0);
    tu_forget_clean_shutdown(dir);
    s = tu_store_open(dir, -1);
    store_recovery_info(s, &r);
    assert_false(r.clean);
    t = store_topic_get(s, "long");
    assert_int_equal(store_journal_read(t, 0, e, 1, &total, &first), 1);
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 1)), N / 2 - 1);
    assert_int_equal(total, N - 1);
    assert_int_equal(r.journal_dropped, 1);
    store_journal_totals(t, -1, &recs, &vals);
    assert_int_equal(recs, N - 1);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Opening a log of many small batches reads a handful of chunks, not a header or a
 * journal entry at a time: a partition without idempotent producers has a producer
 * snapshot too, so nothing is replayed from the start of the log. */
static _Atomic int preads; /* the store's threads may read too */

static ssize_t counting_pread(int fd, void *buf, size_t n, off_t off)
{
    preads++;
    return sysio_real.pread(fd, buf, n, off);
}

static void test_start_reads_little(void **state)
{
    enum { N = 3000 };
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "quiet", 1, NULL);
    struct store_topic *t = store_topic_get(s, "quiet");
    for (int i = 0; i < N; i++)
        tu_append(store_topic_partition(t, 0), 1, NULL, "v", i, 1);
    store_topic_put(t);
    store_close(s);
    char snap[4096];
    tu_path(snap, sizeof snap, dir, "quiet-0/producer.snapshot");
    struct stat st0, st1;
    assert_int_equal(stat(snap, &st0), 0);

    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            tu_forget_clean_shutdown(dir);
        preads = 0;
        sysio.pread = counting_pread; /* changed only while no store thread runs */
        s = tu_store_open(dir, -1);
        int n = preads;
        if (n >= 100)
            fail_msg("%d preads", n);
        t = store_topic_get(s, "quiet");
        assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 0)), N);
        store_topic_put(t);
        store_close(s);
        sysio.pread = sysio_real.pread;
    }
    /* nothing was appended since: the snapshot was left as it was */
    assert_int_equal(stat(snap, &st1), 0);
    assert_int_equal(st0.st_ino, st1.st_ino);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_order_and_recovery),
        cmocka_unit_test(test_journal_long_cut_and_rebuilt),
        cmocka_unit_test(test_start_reads_little),
        cmocka_unit_test(test_journal_rebuilt_from_mid_batch_log_start),
    };
    return cmocka_run_group_tests_name("store journal", tests, NULL, NULL);
}
