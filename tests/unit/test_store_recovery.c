/*
 * test_store_recovery.c - store/ opening a data directory after a crash: a segment
 * cut at every byte, bit flips, what the recovery report counts, and names and
 * offsets the loader must not take at face value. Nothing torn or corrupt is
 * served, and the log continues right after what survived.
 *
 * Every test works in its own mkdtemp directory; "crashes" are store_abandon() (no
 * flush, no clean-shutdown marker) or tu_forget_clean_shutdown() before an open.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fileio.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/store.h"
#include "tests/unit/storeutil.h"
#include "tests/unit/testutil.h"

/* ---- recovery ---- */

static void test_recovery_truncated_at_every_byte(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    int64_t bounds[7];
    for (int i = 0; i < 6; i++) {
        struct store_partition_info info;
        store_partition_info(p, &info);
        bounds[i] = info.size_bytes;
        tu_append(p, 3, "key", "value", i * 3, 1000 + i);
    }
    struct store_partition_info info;
    store_partition_info(p, &info);
    bounds[6] = info.size_bytes;
    store_topic_put(t);
    store_close(s);

    char seg[4096];
    tu_path(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    char *orig;
    size_t len;
    assert_int_equal(file_read_all(seg, 1 << 20, &orig, &len), 0);
    assert_int_equal((int64_t)len, bounds[6]);
    static struct tu_rec recs[32];
    for (int64_t cut = bounds[4]; cut < bounds[6]; cut++) {
        tu_write_file(seg, orig, (size_t)cut);
        tu_forget_clean_shutdown(dir);
        s = tu_store_open(dir, -1);
        t = store_topic_get(s, "t");
        p = store_topic_partition(t, 0);
        int whole = cut >= bounds[5] ? 5 : 4;
        assert_int_equal(store_partition_high_watermark(p), whole * 3);
        assert_int_equal(tu_read_all(p, 0, recs, 32), whole * 3);
        for (int i = 0; i < whole * 3; i++) {
            char v[32];
            snprintf(v, sizeof v, "value-%d", i);
            assert_string_equal(recs[i].value, v);
        }
        assert_int_equal(tu_file_size(seg), bounds[whole]); /* the torn tail is gone */
        int64_t total, first;
        struct store_journal_entry e[8];
        assert_int_equal(store_journal_read(t, 0, e, 8, &total, &first), whole);
        assert_int_equal(total, whole);
        /* the log continues right after the surviving batches */
        assert_int_equal(tu_append(p, 1, NULL, "next", 0, 1), whole * 3);
        store_topic_put(t);
        store_abandon(s);
    }
    free(orig);
    tu_rmrf(dir);
    free(dir);
}

/* What opening reports: nothing after a clean stop; after a crash the segments it
 * scanned, the torn bytes it cut, the segments after a hole it removed and the
 * journal entries it dropped and rebuilt. */
static void test_recovery_report(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    struct store_recovery r;
    store_recovery_info(s, &r);
    assert_int_equal(r.partitions, 0); /* a new log */
    tu_topic_create(s, "t", 1, "internal.segment.bytes=1024", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 20; i++)
        tu_append(p, 5, "key", "value", i * 5, 1000 + i);
    struct store_segment_info *segs;
    size_t nsegs;
    assert_int_equal(store_partition_segments(p, &segs, &nsegs), 0);
    assert_true(nsegs >= 3);
    store_topic_put(t);
    store_close(s);

    s = tu_store_open(dir, -1);
    store_recovery_info(s, &r);
    assert_true(r.clean);
    assert_int_equal(r.partitions, 1);
    assert_int_equal(r.segments_scanned, 0);
    assert_int_equal(r.bytes_cut + r.segments_removed + r.journal_dropped + r.journal_rebuilt, 0);
    store_close(s);

    /* a torn tail: 10 bytes of a batch that never finished */
    char seg[4096], name[64];
    snprintf(name, sizeof name, "t-0/%020lld.log", (long long)segs[nsegs - 1].base);
    tu_path(seg, sizeof seg, dir, name);
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    tu_forget_clean_shutdown(dir);
    s = tu_store_open(dir, -1);
    store_recovery_info(s, &r);
    assert_false(r.clean);
    assert_int_equal(r.partitions, 1);
    assert_int_equal(r.segments_scanned, (int)nsegs); /* no recovery point: all of them */
    int64_t total = 0;
    for (size_t i = 0; i < nsegs; i++)
        total += segs[i].size[STORE_FILE_LOG];
    assert_int_equal(r.bytes_scanned, total + 10);
    assert_int_equal(r.bytes_cut, 10);
    assert_int_equal(r.segments_removed, 0);
    assert_int_equal(r.journal_dropped + r.journal_rebuilt, 0);
    store_abandon(s);

    /* the first segment loses its last batch: the log ends there, later segments go,
     * and so do the journal entries of every batch after the cut */
    tu_path(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    assert_int_equal(truncate(seg, segs[0].size[STORE_FILE_LOG] - 1), 0);
    tu_forget_clean_shutdown(dir);
    s = tu_store_open(dir, -1);
    store_recovery_info(s, &r);
    assert_false(r.clean);
    assert_int_equal(r.segments_removed, (int)nsegs - 1);
    assert_true(r.bytes_cut > 0);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    int64_t kept = store_partition_high_watermark(p);
    assert_true(kept < segs[0].next_offset);
    assert_int_equal(r.journal_dropped, 20 - kept / 5);
    assert_int_equal(r.journal_rebuilt, 0);
    store_topic_put(t);
    store_close(s);
    free(segs);
    tu_rmrf(dir);
    free(dir);
}

static void test_bit_flips_never_served(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    int64_t bounds[5];
    for (int i = 0; i < 4; i++) {
        struct store_partition_info info;
        store_partition_info(p, &info);
        bounds[i] = info.size_bytes;
        tu_append(p, 2, "k", "v", i * 2, 1000);
    }
    struct store_partition_info info;
    store_partition_info(p, &info);
    bounds[4] = info.size_bytes;
    store_topic_put(t);
    store_close(s);

    char seg[4096];
    tu_path(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    char *orig;
    size_t len;
    assert_int_equal(file_read_all(seg, 1 << 20, &orig, &len), 0);
    static struct tu_rec recs[16];
    /* every bit of the last batch, and a spread of bits in the second one */
    for (int64_t bit = bounds[1] * 8; bit < bounds[4] * 8; bit++) {
        if (bit >= bounds[2] * 8 && bit < bounds[3] * 8)
            bit = bounds[3] * 8;
        if (bit < bounds[2] * 8 && bit % 7)
            continue;
        orig[bit / 8] ^= (char)(1 << (bit % 8));
        tu_write_file(seg, orig, len);
        orig[bit / 8] ^= (char)(1 << (bit % 8));
        tu_forget_clean_shutdown(dir);
        s = tu_store_open(dir, -1);
        t = store_topic_get(s, "t");
        p = store_topic_partition(t, 0);
        int good = bit < bounds[2] * 8 ? 1 : 3; /* batches before the damaged one */
        assert_int_equal(store_partition_high_watermark(p), good * 2);
        assert_int_equal(tu_read_all(p, 0, recs, 16), good * 2);
        for (int i = 0; i < good * 2; i++) {
            char v[16];
            snprintf(v, sizeof v, "v-%d", i);
            assert_string_equal(recs[i].value, v);
        }
        store_topic_put(t);
        store_abandon(s);
    }
    free(orig);
    tu_rmrf(dir);
    free(dir);
}

/* ---- names and offsets the loader must not take at face value ---- */

static void test_segment_names_strict(void **state)
{
    /* Files a lax number parser would take for segment 0 (strtoll skips a sign or
     * a space): the store must neither fail to open nor serve the segment twice. */
    static const char *const strays[] = {"+0000000000000000000.log", " 0000000000000000000.log",
                                         "-0000000000000000000.log", "0000000000000000000x.log"};
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "names", 1, NULL);
    struct store_topic *t = store_topic_get(s, "names");
    for (int i = 0; i < 3; i++)
        tu_append_kv(store_topic_partition(t, 0), "k", "v", 5);
    store_topic_put(t);
    store_close(s);
    char path[4096], *log;
    size_t len;
    tu_path(path, sizeof path, dir, "names-0/00000000000000000000.log");
    assert_int_equal(file_read_all(path, 1 << 20, &log, &len), 0);
    for (size_t i = 0; i < sizeof strays / sizeof *strays; i++) {
        snprintf(path, sizeof path, "%s/names-0/%s", dir, strays[i]);
        tu_write_file(path, log, len);
    }
    free(log);
    static struct tu_rec got[16];
    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            tu_forget_clean_shutdown(dir);
        s = tu_store_open(dir, -1);
        t = store_topic_get(s, "names");
        struct store_partition *p = store_topic_partition(t, 0);
        struct store_partition_info info;
        store_partition_info(p, &info);
        assert_int_equal(info.segments, 1);
        assert_int_equal(info.high_watermark, 3);
        assert_int_equal(tu_read_all(p, 0, got, 16), 3);
        store_topic_put(t);
        store_close(s);
    }
    for (size_t i = 0; i < sizeof strays / sizeof *strays; i++) {
        snprintf(path, sizeof path, "%s/names-0/%s", dir, strays[i]);
        assert_int_equal(access(path, F_OK), 0); /* not ours: left alone */
    }
    tu_rmrf(dir);
    free(dir);
}

static void test_recovery_ends_at_offsets_past_index_span(void **state)
{
    /* A segment (foreign, or damaged outside the CRC) holding a batch more than
     * INT32_MAX offsets past its base: no index entry can name it, so the log
     * ends before it, as at any batch that fails recovery. */
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "wide", 1, "cleanup.policy=compact", NULL);
    struct store_topic *wide = store_topic_get(s, "wide");
    assert_non_null(store_topic_partition(wide, 0)); /* its directory, made at first use */
    store_topic_put(wide);
    store_close(s);
    struct writer w;
    writer_init(&w, 1 << 20);
    tu_batch(&w, 2, "k", "v", 0, 1000);
    size_t first = w.len;
    tu_batch(&w, 1, "far", "v", 0, 1000);
    batch_set_leader_epoch(w.buf, 0);
    batch_set_leader_epoch(w.buf + first, 0);
    batch_set_base_offset(w.buf + first, 3000000000);
    char path[4096];
    static struct tu_rec got[16];
    for (int crash = 0; crash < 2; crash++) {
        tu_path(path, sizeof path, dir, "wide-0/00000000000000000000.log");
        tu_write_file(path, w.buf, w.len);
        tu_path(path, sizeof path, dir, "wide-0/00000000000000000000.index");
        unlink(path);
        tu_path(path, sizeof path, dir, "wide-0/00000000000000000000.timeindex");
        unlink(path);
        if (crash)
            tu_forget_clean_shutdown(dir);
        s = tu_store_open(dir, -1);
        struct store_topic *t = store_topic_get(s, "wide");
        struct store_partition *p = store_topic_partition(t, 0);
        assert_int_equal(store_partition_high_watermark(p), 2);
        assert_int_equal(tu_read_all(p, 0, got, 16), 2);
        store_topic_put(t);
        store_close(s);
    }
    writer_release(&w);
    tu_rmrf(dir);
    free(dir);
}

/* What a partition reads back: its offsets and every record. */
struct lazy_view {
    int64_t hw, log_start;
    int n;
    struct tu_rec recs[64];
};

static void lazy_view_take(struct store *s, int32_t k, struct lazy_view *v)
{
    struct store_topic *t = store_topic_get(s, "lz");
    struct store_partition *p = store_topic_partition(t, k);
    assert_non_null(p);
    v->hw = store_partition_high_watermark(p);
    v->log_start = store_partition_log_start(p);
    v->n = tu_read_all(p, v->log_start, v->recs, 64);
    store_topic_put(t);
}

static void lazy_view_check(struct store *s, int32_t k, const struct lazy_view *want)
{
    struct lazy_view *got = calloc(1, sizeof *got);
    lazy_view_take(s, k, got);
    assert_int_equal(got->hw, want->hw);
    assert_int_equal(got->log_start, want->log_start);
    assert_int_equal(got->n, want->n);
    for (int i = 0; i < want->n; i++) {
        assert_int_equal(got->recs[i].offset, want->recs[i].offset);
        assert_string_equal(got->recs[i].value, want->recs[i].value);
    }
    free(got);
}

/* Append to partition k and wait until it is durable (acknowledged). */
static void lazy_append(struct store *s, int32_t k, int n, int first)
{
    struct store_topic *t = store_topic_get(s, "lz");
    struct store_partition *p = store_topic_partition(t, k);
    assert_non_null(p);
    int64_t base = tu_append(p, n, "k", "lazy", first, 1000 + first);
    assert_int_equal(store_partition_sync(p, base + n), 0);
    store_topic_put(t);
}

/* After a clean stop, partitions open at first use (or in the background): one
 * opened that way reads back exactly what the running store served, takes appends,
 * and survives a crash that follows, as an eagerly opened one does; a partition
 * left closed through a clean stop keeps its offsets. */
static void test_lazy_open_matches_eager(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "lz", 3, "internal.segment.bytes=1024", NULL);
    for (int i = 0; i < 12; i++)
        lazy_append(s, 0, 3, i * 3);
    lazy_append(s, 1, 2, 0);
    struct store_topic *t = store_topic_get(s, "lz");
    int64_t low;
    assert_int_equal(store_partition_delete_records(store_topic_partition(t, 1), 1, &low), 0);
    store_topic_put(t);
    struct lazy_view *want = calloc(3, sizeof *want);
    for (int32_t k = 0; k < 3; k++)
        lazy_view_take(s, k, &want[k]);
    assert_int_equal(want[0].n, 36);
    assert_int_equal(want[1].log_start, 1); /* kept by the checkpoints alone */
    store_close(s);

    /* a clean start reads no partition; a stop right after writes their offsets back */
    s = tu_store_open(dir, -1);
    struct store_recovery r;
    store_recovery_info(s, &r);
    assert_true(r.clean);
    assert_int_equal(r.partitions, 3);
    assert_int_equal(r.segments_scanned, 0);
    store_close(s);

    s = tu_store_open(dir, -1);
    for (int32_t k = 0; k < 3; k++)
        lazy_view_check(s, k, &want[k]);
    lazy_append(s, 0, 2, 36); /* on a segment opened lazily */
    lazy_append(s, 2, 1, 0);
    for (int32_t k = 0; k < 3; k += 2)
        lazy_view_take(s, k, &want[k]);
    assert_int_equal(want[0].n, 38);
    store_abandon(s); /* a crash: the next start recovers every partition eagerly */

    s = tu_store_open(dir, -1);
    store_recovery_info(s, &r);
    assert_false(r.clean);
    assert_int_equal(r.bytes_cut + r.segments_removed, 0);
    for (int32_t k = 0; k < 3; k++)
        lazy_view_check(s, k, &want[k]);
    store_close(s);

    /* and once more cleanly, against the same truth */
    s = tu_store_open(dir, -1);
    for (int32_t k = 2; k >= 0; k--)
        lazy_view_check(s, k, &want[k]);
    store_close(s);
    free(want);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovery_truncated_at_every_byte),
        cmocka_unit_test(test_recovery_report),
        cmocka_unit_test(test_lazy_open_matches_eager),
        cmocka_unit_test(test_bit_flips_never_served),
        cmocka_unit_test(test_segment_names_strict),
        cmocka_unit_test(test_recovery_ends_at_offsets_past_index_span),
    };
    return cmocka_run_group_tests_name("store recovery", tests, NULL, NULL);
}
