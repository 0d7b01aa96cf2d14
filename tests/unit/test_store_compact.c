/*
 * test_store_compact.c - store/'s cleaner: compaction keeps the newest record of
 * every key and the recent tombstones, keeps offsets, survives a crash at every
 * step of its work, and never merges segments whose offsets an index could not
 * express; offsets a crash damaged in a compacted log are cut off.
 *
 * Every test works in its own mkdtemp directory and runs the cleaner itself
 * (store_partition_compact); crashes come through the sysio table.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "lib/props.h"
#include "lib/sysio.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/store.h"
#include "tests/unit/storeutil.h"
#include "tests/unit/testutil.h"

#define KEYS 5

/* What compaction must keep: for records in closed segments (offset < active), the
 * newest per key, without expired tombstones; everything in the active segment. */
static int expected_after_compaction(const struct tu_rec *all, int n, int64_t active,
                                     int64_t horizon, struct tu_rec *out)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        bool newer = false;
        for (int j = i + 1; j < n && all[j].offset < active; j++)
            if (!strcmp(all[j].key, all[i].key))
                newer = true;
        if (all[i].offset < active && (newer || (all[i].vlen < 0 && all[i].ts < horizon)))
            continue;
        out[m++] = all[i];
    }
    return m;
}

static int64_t active_base(struct store_partition *p, const char *dir)
{
    /* the active segment is the one starting at the largest base: find it on disk */
    struct store_partition_info info;
    store_partition_info(p, &info);
    int64_t best = 0;
    for (int64_t off = 0; off <= info.high_watermark; off++) {
        char name[128], path[4096];
        snprintf(name, sizeof name, "c-0/%020lld.log", (long long)off);
        tu_path(path, sizeof path, dir, name);
        if (access(path, F_OK) == 0)
            best = off;
    }
    return best;
}

static void fill_compacted(struct store_partition *p, int64_t now)
{
    for (int i = 0; i < 40; i++) {
        char key[16], val[32];
        snprintf(key, sizeof key, "k%d", i % KEYS);
        snprintf(val, sizeof val, "v-%d-padding-padding-padding", i);
        tu_append_kv(p, key, val, now);
        if (i == 20)
            tu_append_kv(p, "k3", NULL, now); /* a recent tombstone: kept */
        if (i == 21)
            tu_append_kv(p, "k4", NULL, now - 7200000); /* an expired one: dropped */
    }
}

static void check_same(const struct tu_rec *a, const struct tu_rec *b, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(a[i].offset, b[i].offset);
        assert_string_equal(a[i].key, b[i].key);
        assert_string_equal(a[i].value, b[i].value);
        assert_int_equal(a[i].vlen, b[i].vlen);
    }
}

static void test_compaction_keeps_newest_per_key(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "c", 1, "cleanup.policy=compact", "internal.segment.bytes=1024",
                    "delete.retention.ms=3600000", NULL);
    struct store_topic *t = store_topic_get(s, "c");
    struct store_partition *p = store_topic_partition(t, 0);
    int64_t now = clock_wall_ms();
    fill_compacted(p, now);
    static struct tu_rec all[128], want[128], got[128];
    int n = tu_read_all(p, 0, all, 128);
    assert_int_equal(n, 42);
    int64_t act = active_base(p, dir);
    assert_true(act > 10);
    int m = expected_after_compaction(all, n, act, now - 3600000, want);
    assert_true(m < n);
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    assert_int_equal(store_partition_compact(p), 1);
    assert_int_equal(tu_read_all(p, 0, got, 128), m);
    check_same(got, want, m);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_int_equal(info.high_watermark, 42); /* offsets are kept, the end too */
    store_topic_put(t);
    store_close(s);

    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            tu_forget_clean_shutdown(dir);
        s = tu_store_open(dir, -1);
        t = store_topic_get(s, "c");
        p = store_topic_partition(t, 0);
        assert_int_equal(tu_read_all(p, 0, got, 128), m);
        check_same(got, want, m);
        store_topic_put(t);
        store_close(s);
    }

    /* a second round after more writes compacts the new dirty part too */
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "c");
    p = store_topic_partition(t, 0);
    fill_compacted(p, now);
    n = tu_read_all(p, 0, all, 128);
    act = active_base(p, dir);
    m = expected_after_compaction(all, n, act, now - 3600000, want);
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    assert_int_equal(store_partition_compact(p), 1);
    assert_int_equal(tu_read_all(p, 0, got, 128), m);
    check_same(got, want, m);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* baseOffset is outside a batch's CRC. In a compacted topic offsets may jump, but
 * only where the cleaner made gaps: a jump past the cleaner checkpoint and the
 * recovery point (in a tail that was never synced, say) is damage, cut off. */
static void test_compacted_offsets_checked_after_a_crash(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "c", 1, "cleanup.policy=compact", NULL);
    struct store_topic *t = store_topic_get(s, "c");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 4; i++) {
        char val[16];
        snprintf(val, sizeof val, "v%d", i);
        tu_append_kv(p, "k", val, 1);
    }
    store_topic_put(t);
    store_abandon(s);
    char seg[4096];
    tu_path(seg, sizeof seg, dir, "c-0/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    uint8_t head[12];
    int64_t pos = 0;
    for (int i = 0; i < 3; i++) { /* to the last batch */
        assert_int_equal(pread(fd, head, sizeof head, pos), (ssize_t)sizeof head);
        pos += 12 + ((int64_t)head[8] << 24 | head[9] << 16 | head[10] << 8 | head[11]);
    }
    assert_true(pos < size);
    uint8_t off7 = 3 + 100; /* offset 3 becomes 103 */
    assert_int_equal(pwrite(fd, &off7, 1, pos + 7), 1);
    close(fd);

    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "c");
    p = store_topic_partition(t, 0);
    static struct tu_rec recs[8];
    assert_int_equal(store_partition_high_watermark(p), 3);
    assert_int_equal(tu_read_all(p, 0, recs, 8), 3);
    assert_int_equal(tu_append_kv(p, "k", "v3", 1), 3);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Fail every file-system call after the first `crash_after` made by the cleaner. */
static _Atomic int crash_after, crash_calls; /* the flusher makes calls too */
static _Atomic bool crashed, crash_armed;

static bool crash_now(void)
{
    if (!crash_armed)
        return false;
    if (crashed || ++crash_calls > crash_after)
        crashed = true;
    return crashed;
}
static int c_open(const char *path, int flags, mode_t mode)
{
    if (crash_now())
        return errno = EIO, -1;
    return sysio_real.open(path, flags, mode);
}
static ssize_t c_pwrite(int fd, const void *b, size_t n, off_t off)
{
    if (crash_now())
        return errno = EIO, -1;
    return sysio_real.pwrite(fd, b, n, off);
}
static int c_fdatasync(int fd)
{
    if (crash_now())
        return errno = EIO, -1;
    return sysio_real.fdatasync(fd);
}
static int c_fsync(int fd)
{
    if (crash_now())
        return errno = EIO, -1;
    return sysio_real.fsync(fd);
}
static int c_rename(const char *a, const char *b)
{
    if (crash_now())
        return errno = EIO, -1;
    return sysio_real.rename(a, b);
}
static int c_unlink(const char *path)
{
    if (crash_now())
        return errno = EIO, -1;
    return sysio_real.unlink(path);
}

static void test_compaction_crash_at_every_step(void **state)
{
    static struct tu_rec all[128], want[128], got[128];
    bool finished = false;
    /* the sysio table is changed only while no store thread runs; crash_armed arms it */
    sysio.open = c_open;
    sysio.pwrite = c_pwrite;
    sysio.fdatasync = c_fdatasync;
    sysio.fsync = c_fsync;
    sysio.rename = c_rename;
    sysio.unlink = c_unlink;
    for (crash_after = 0; !finished && crash_after < 200; crash_after++) {
        char *dir = tu_mkdtemp();
        struct store *s = tu_store_open(dir, -1);
        tu_topic_create(s, "c", 1, "cleanup.policy=compact", "internal.segment.bytes=1024",
                        "delete.retention.ms=3600000", NULL);
        struct store_topic *t = store_topic_get(s, "c");
        struct store_partition *p = store_topic_partition(t, 0);
        int64_t now = clock_wall_ms();
        fill_compacted(p, now);
        int n = tu_read_all(p, 0, all, 128);
        int64_t act = active_base(p, dir);
        int m = expected_after_compaction(all, n, act, now - 3600000, want);
        assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);

        crash_calls = 0;
        crashed = false;
        crash_armed = true;
        int rc = store_partition_compact(p);
        finished = !crashed && rc == 1;
        crash_armed = false;
        store_topic_put(t);
        store_abandon(s); /* the crash */

        s = tu_store_open(dir, -1);
        t = store_topic_get(s, "c");
        p = store_topic_partition(t, 0);
        int g = tu_read_all(p, 0, got, 128);
        /* every record that had to be kept is there, intact; nothing else is new */
        int w = 0;
        for (int i = 0; i < g; i++) {
            int j = 0;
            while (j < n && all[j].offset != got[i].offset)
                j++;
            assert_true(j < n);
            check_same(&got[i], &all[j], 1);
            if (w < m && want[w].offset == got[i].offset)
                w++;
        }
        assert_int_equal(w, m);
        if (finished)
            assert_int_equal(g, m);
        store_topic_put(t);
        store_close(s);
        tu_rmrf(dir);
        free(dir);
    }
    sysio = sysio_real;
    assert_true(finished);
    assert_true(crash_after > 5); /* the cleaner really had steps to interrupt */
}

/* A batch at base offset `base` whose records sit at the given offset deltas (wide
 * gaps, as compaction leaves them), leader epoch 0 as brook writes, appended to w. */
static void batch_deltas(struct writer *w, int64_t base, int n, const char *const *keys,
                         const int32_t *deltas)
{
    struct batch_builder b;
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    b.leader_epoch = 0; /* the one brook writes */
    size_t at = w->len;
    for (int i = 0; i < n; i++)
        assert_int_equal(batch_builder_add_at(&b, deltas[i], 1000 + i, keys[i],
                                              (int32_t)strlen(keys[i]), "v", 1, NULL, 0),
                         0);
    assert_int_equal(batch_builder_finish(&b, -1, w), 0);
    batch_set_base_offset(w->buf + at, base);
    batch_builder_release(&b);
}

static void test_compaction_keeps_offset_span(void **state)
{
    /* A compacted log with wide offset gaps (here written by hand, as a log from
     * elsewhere would hold them: producers cannot skip offsets) in three segments,
     * two of which together span more than INT32_MAX offsets, what an index entry
     * can express relative to its segment's base: compaction must not merge them. */
    static const char *const k1[] = {"a", "b"}, *const k2[] = {"c", "d"}, *const k3[] = {"e", "f"};
    static const int32_t wide[] = {0, 2000000000}, narrow[] = {0, 200000000};
    static const struct {
        int64_t base;
        const char *const *keys;
        const int32_t *deltas;
    } segs[] = {{0, k1, wide}, {2000000001, k2, narrow}, {2200000002, k3, wide}};
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "span", 1, "cleanup.policy=compact", NULL);
    struct store_topic *made = store_topic_get(s, "span");
    assert_non_null(store_topic_partition(made, 0)); /* its directory, made at first use */
    store_topic_put(made);
    store_close(s);
    char path[4096];
    struct writer w;
    writer_init(&w, 1 << 20);
    for (size_t i = 0; i < 3; i++) {
        writer_reset(&w);
        batch_deltas(&w, segs[i].base, 2, segs[i].keys, segs[i].deltas);
        char name[64];
        snprintf(name, sizeof name, "span-0/%020" PRId64 ".log", segs[i].base);
        tu_path(path, sizeof path, dir, name);
        tu_write_file(path, w.buf, w.len);
    }
    writer_release(&w);
    tu_path(path, sizeof path, dir, "span-0/00000000000000000000.index");
    unlink(path);
    tu_path(path, sizeof path, dir, "span-0/00000000000000000000.timeindex");
    unlink(path);
    tu_path(path, sizeof path, dir, "cleaner-offset-checkpoint"); /* no gap bound known */
    unlink(path);
    s = tu_store_open(dir, -1);
    struct store_topic *t = store_topic_get(s, "span");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_int_equal(info.segments, 3);
    int64_t hw = info.high_watermark;
    assert_int_equal(hw, 4200000003);
    assert_true(store_partition_compact(p) >= 0);
    static struct tu_rec got[16];
    assert_int_equal(tu_read_all(p, 0, got, 16), 6);
    store_topic_put(t);
    store_close(s);
    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            tu_forget_clean_shutdown(dir);
        s = tu_store_open(dir, -1);
        t = store_topic_get(s, "span");
        p = store_topic_partition(t, 0);
        store_partition_info(p, &info);
        assert_int_equal(info.high_watermark, hw);
        assert_int_equal(tu_read_all(p, 0, got, 16), 6);
        static const int64_t offsets[] = {0,          2000000000, 2000000001,
                                          2200000001, 2200000002, 4200000002};
        for (int i = 0; i < 6; i++)
            assert_int_equal(got[i].offset, offsets[i]);
        store_topic_put(t);
        store_close(s);
    }
    tu_rmrf(dir);
    free(dir);
}

/* max.compaction.lag.ms: a log whose dirty part is far below min.cleanable.dirty.ratio
 * is left alone - until its oldest dirty record is older than the lag, when the
 * cleaner's own pass (not a forced one) compacts it. The lag is set by an
 * alteration of the live topic, as AlterConfigs makes it. */
static void test_max_compaction_lag_forces_cleaning(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    c.cleaner_enable = true; /* store_run_compaction() runs only then */
    struct store *s = NULL;
    assert_int_equal(store_open(&c, &s), 0);
    tu_topic_create(s, "c", 1, "cleanup.policy=compact", "internal.segment.bytes=1024",
                    "min.cleanable.dirty.ratio=0.99", NULL);
    struct store_topic *t = store_topic_get(s, "c");
    struct store_partition *p = store_topic_partition(t, 0);
    int64_t old = clock_wall_ms() - 7200000;
    fill_compacted(p, old);
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    assert_int_equal(store_partition_compact(p), 1); /* a clean part to weigh against */
    for (int i = 0; i < 24; i++) {                   /* a small dirty part, two hours old */
        char key[16];
        snprintf(key, sizeof key, "k%d", i % KEYS);
        tu_append_kv(p, key, "newer-value-padding-padding", old);
    }
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    static struct tu_rec before[256], after[256];
    int n = tu_read_all(p, 0, before, 256);

    assert_int_equal(store_run_compaction(s), 0); /* the ratio is not reached */
    assert_int_equal(tu_read_all(p, 0, after, 256), n);

    const char *bad = NULL;
    struct props *o = store_topic_overrides_copy(t);
    assert_non_null(o);
    assert_int_equal(props_set(o, "max.compaction.lag.ms", "3600000"), 0);
    assert_int_equal(store_topic_alter_config(s, "c", o, false, &bad), 0);
    props_free(o);
    assert_int_equal(store_run_compaction(s), 1); /* overdue: cleaned whatever the ratio */
    int m = tu_read_all(p, 0, after, 256);
    assert_true(m < n);
    int64_t act = active_base(p, dir);
    for (int i = 0; i < m; i++) /* below the active segment, one record per key */
        for (int j = i + 1; j < m && after[j].offset < act; j++)
            assert_string_not_equal(after[i].key, after[j].key);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compaction_keeps_newest_per_key),
        cmocka_unit_test(test_compaction_crash_at_every_step),
        cmocka_unit_test(test_compacted_offsets_checked_after_a_crash),
        cmocka_unit_test(test_compaction_keeps_offset_span),
        cmocka_unit_test(test_max_compaction_lag_forces_cleaning),
    };
    return cmocka_run_group_tests_name("store compaction", tests, NULL, NULL);
}
