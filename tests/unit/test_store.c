/*
 * test_store.c - store/: append and read, recovery at every byte, bit flips,
 * concurrency, group commit, retention and roll, compaction (including a crash at
 * every step), idempotent producers, the journal, topics, and injected I/O faults.
 *
 * Every test works in its own mkdtemp directory. Faults come through the sysio
 * table; "crashes" are store_abandon() (no flush, no clean-shutdown marker).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
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

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/props.h"
#include "lib/sysio.h"
#include "proto/record.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

/* ---- helpers ---- */

static struct store *open_store(const char *dir, int64_t flush_ms)
{
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    c.flush_interval_ms = flush_ms;
    c.cleaner_enable = false; /* tests run the cleaner themselves */
    struct store *s = NULL;
    int rc = store_open(&c, &s);
    if (rc)
        fail_msg("store_open(%s): %s", dir, store_strerror(rc));
    return s;
}

/* Create topic name with partitions and "k=v" overrides (NULL-terminated). */
static void create_topic(struct store *s, const char *name, int parts, ...)
{
    struct props *p = props_new();
    va_list ap;
    va_start(ap, parts);
    for (const char *kv; (kv = va_arg(ap, const char *));)
        assert_int_equal(props_set_pair(p, kv), 0);
    va_end(ap);
    const char *bad = NULL;
    int rc = store_topic_create(s, name, parts, p, &bad);
    if (rc)
        fail_msg("create %s: %s (%s)", name, store_strerror(rc), bad ? bad : "-");
    props_free(p);
}

struct rec {
    int64_t offset;
    int64_t ts;
    int klen, vlen;
    char key[64];
    char value[256];
};

/* Every record from `from` to the high watermark, CRC-checked. Returns the count. */
static int read_all(struct store_partition *p, int64_t from, struct rec *out, int max)
{
    int n = 0;
    int64_t hw = store_partition_high_watermark(p);
    while (from < hw) {
        struct store_slice sl;
        assert_int_equal(store_partition_read(p, from, 4096, &sl), 0);
        if (sl.len == 0)
            break;
        uint8_t *buf = malloc((size_t)sl.len);
        assert_non_null(buf);
        assert_int_equal(file_pread_all(sl.fd, buf, (size_t)sl.len, sl.pos), 0);
        for (size_t off = 0; off < (size_t)sl.len;) {
            size_t size;
            assert_int_equal(batch_frame(buf + off, (size_t)sl.len - off, 1u << 30, &size), 0);
            assert_int_equal(
                batch_validate(buf + off, size, &batch_limits_default, true, NULL, NULL), 0);
            struct batch_iter it;
            struct record r;
            assert_int_equal(batch_iter_init(&it, buf + off, size, &batch_limits_default, true), 0);
            int rc;
            while ((rc = batch_iter_next(&it, &r)) == 1) {
                if (r.offset < from)
                    continue;
                assert_true(n < max);
                struct rec *o = &out[n++];
                memset(o, 0, sizeof *o);
                o->offset = r.offset;
                o->ts = r.timestamp;
                o->klen = r.key_len;
                o->vlen = r.value_len;
                if (r.key_len > 0)
                    memcpy(o->key, r.key, (size_t)r.key_len < 63 ? (size_t)r.key_len : 63);
                if (r.value_len > 0)
                    memcpy(o->value, r.value,
                           (size_t)r.value_len < 255 ? (size_t)r.value_len : 255);
            }
            assert_int_equal(rc, 0);
            batch_iter_release(&it);
            off += size;
        }
        free(buf);
        assert_true(sl.next_offset > from);
        from = sl.next_offset;
        store_slice_release(&sl);
    }
    return n;
}

/* Append one batch built by tu_batch; returns its base offset. */
static int64_t append(struct store_partition *p, int n, const char *keys, const char *vals,
                      int first, int64_t ts)
{
    struct writer w;
    writer_init(&w, 64u << 20);
    tu_batch(&w, n, keys, vals, first, ts);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    if (rc)
        fail_msg("append: %s", store_strerror(rc));
    writer_release(&w);
    return res.base_offset;
}

/* Append a single record with an explicit key and value (value NULL: tombstone). */
static int64_t append_kv(struct store_partition *p, const char *key, const char *value, int64_t ts)
{
    struct batch_builder b;
    struct writer w;
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    writer_init(&w, 1 << 20);
    assert_int_equal(batch_builder_add(&b, ts, key, (int32_t)strlen(key), value,
                                       value ? (int32_t)strlen(value) : -1, NULL, 0),
                     0);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    if (rc)
        fail_msg("append_kv: %s", store_strerror(rc));
    batch_builder_release(&b);
    writer_release(&w);
    return res.base_offset;
}

static void path_of(char *buf, size_t size, const char *dir, const char *rest)
{
    snprintf(buf, size, "%s/%s", dir, rest);
}

/* Make the next open look like it follows a crash with no recovery point. */
static void forget_clean_shutdown(const char *dir)
{
    char path[4096];
    path_of(path, sizeof path, dir, ".brook_cleanshutdown");
    unlink(path);
    path_of(path, sizeof path, dir, "recovery-point-offset-checkpoint");
    unlink(path);
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

/* ---- names, topics, config ---- */

static void test_topic_names(void **state)
{
    assert_true(store_topic_name_valid("orders", 6));
    assert_true(store_topic_name_valid("a.b_c-D9", 8));
    assert_true(store_topic_name_valid("...", 3));
    assert_false(store_topic_name_valid(".", 1));
    assert_false(store_topic_name_valid("..", 2));
    assert_false(store_topic_name_valid("", 0));
    assert_false(store_topic_name_valid("a/b", 3));
    assert_false(store_topic_name_valid("a b", 3));
    assert_false(store_topic_name_valid("caf\xc3\xa9", 5));
    char long_name[251];
    memset(long_name, 'x', sizeof long_name);
    assert_true(store_topic_name_valid(long_name, 249));
    assert_false(store_topic_name_valid(long_name, 250));
}

static void test_topic_create_delete_collide(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    assert_int_equal(store_topic_create(s, "bad/name", 1, NULL, NULL), STORE_EINVALID_TOPIC);
    assert_int_equal(store_topic_create(s, "ok", 100001, NULL, NULL), STORE_EINVALID_PARTITIONS);
    create_topic(s, "x", 4, NULL);
    assert_int_equal(store_topic_create(s, "x", 1, NULL, NULL), -EEXIST);
    assert_int_equal(store_topic_create(s, "x-3", 1, NULL, NULL), -EEXIST); /* x's dir */
    create_topic(s, "x-4", 1, NULL);                                        /* x has no 4 */
    create_topic(s, "y-1", 1, NULL);
    assert_int_equal(store_topic_create(s, "y", 2, NULL, NULL), -EEXIST); /* y-1 exists */
    create_topic(s, "y", 1, NULL);
    assert_int_equal(store_topic_add_partitions(s, "y", 2), -EEXIST);
    assert_int_equal(store_topic_add_partitions(s, "y", 1), STORE_EINVALID_PARTITIONS);
    assert_int_equal(store_topic_add_partitions(s, "x", 6), -EEXIST); /* x-4 is a topic */
    assert_int_equal(store_topic_delete(s, "x-4"), 0);
    assert_int_equal(store_topic_add_partitions(s, "x", 6), 0);
    assert_int_equal(store_topic_create(s, "x-5", 1, NULL, NULL), -EEXIST);
    assert_int_equal(store_topic_create(s, "x-4", 1, NULL, NULL), -EEXIST);
    assert_int_equal(store_topic_create(s, "x-6", 1, NULL, NULL), 0);

    struct props *bad = props_new();
    props_set(bad, "retention.ms", "soon");
    const char *key = NULL;
    assert_int_equal(store_topic_create(s, "z", 1, bad, &key), STORE_EINVALID_CONFIG);
    assert_string_equal(key, "retention.ms");
    props_set(bad, "retention.ms", "1000");
    props_set(bad, "no.such.key", "1");
    assert_int_equal(store_topic_create(s, "z", 1, bad, &key), STORE_EINVALID_CONFIG);
    assert_string_equal(key, "no.such.key");
    props_free(bad);
    assert_null(store_topic_get(s, "z"));

    char **names = store_topic_names(s);
    assert_string_equal(names[0], "x");
    assert_string_equal(names[1], "x-6");
    assert_string_equal(names[2], "y");
    assert_string_equal(names[3], "y-1");
    assert_null(names[4]);
    free(names);

    /* a handle outlives deletion; the name can be reused at once */
    struct store_topic *t = store_topic_get(s, "x");
    append(store_topic_partition(t, 0), 3, NULL, "old", 0, 1000);
    assert_int_equal(store_topic_delete(s, "x"), 0);
    assert_int_equal(store_topic_delete(s, "x"), -ENOENT);
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 0)), 3);
    store_topic_put(t);
    char path[4096];
    path_of(path, sizeof path, dir, "x-0");
    assert_int_equal(access(path, F_OK), -1);
    create_topic(s, "x", 1, NULL);
    t = store_topic_get(s, "x");
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 0)), 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_longest_topic_name(void **state)
{
    char *dir = tu_mkdtemp();
    char name[250];
    memset(name, 'n', 249); /* Kafka's limit: fits with every suffix brook adds */
    name[249] = 0;
    struct store *s = open_store(dir, -1);
    create_topic(s, name, 2, "retention.ms=1000", NULL);
    struct store_topic *t = store_topic_get(s, name);
    assert_non_null(t);
    append(store_topic_partition(t, 1), 2, NULL, "v", 0, 1);
    store_topic_put(t);
    store_close(s);
    s = open_store(dir, -1);
    t = store_topic_get(s, name);
    assert_non_null(t);
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 1)), 2);
    store_topic_put(t);
    assert_int_equal(store_topic_delete(s, name), 0);
    store_close(s);
    s = open_store(dir, -1);
    assert_null(store_topic_get(s, name));
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_topic_persistence_and_adoption(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "keep", 3, "retention.ms=12345", "cleanup.policy=compact", NULL);
    struct store_topic *t = store_topic_get(s, "keep");
    uint8_t id[16];
    memcpy(id, store_topic_id(t), 16);
    append_kv(store_topic_partition(t, 2), "k", "v", 5);
    store_topic_put(t);
    store_close(s);

    /* a partition directory without metadata is adopted as a topic */
    char path[4096];
    path_of(path, sizeof path, dir, "stray-1");
    assert_int_equal(dir_make(path), 0);

    s = open_store(dir, -1);
    t = store_topic_get(s, "keep");
    assert_non_null(t);
    assert_int_equal(store_topic_partition_count(t), 3);
    assert_memory_equal(store_topic_id(t), id, 16);
    assert_int_equal(store_topic_config(t)->retention_ms, 12345);
    assert_int_equal(store_topic_config(t)->cleanup_policy, CLEANUP_COMPACT);
    assert_string_equal(props_get(store_topic_overrides(t), "retention.ms"), "12345");
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 2)), 1);
    store_topic_put(t);
    t = store_topic_get(s, "stray");
    assert_non_null(t);
    assert_int_equal(store_topic_partition_count(t), 2);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_config_from_props(void **state)
{
    struct props *p = props_new();
    struct store_config c;
    const char *bad = NULL;
    props_set(p, "log.dirs", "/var/lib/brook");
    props_set(p, "num.partitions", "3");
    props_set(p, "log.retention.hours", "2");
    props_set(p, "log.segment.bytes", "1048576");
    props_set(p, "log.cleanup.policy", "compact,delete");
    props_set(p, "log.flush.interval.ms", "1000");
    store_config_defaults(&c);
    assert_int_equal(store_config_from_props(&c, p, &bad), 0);
    assert_string_equal(c.dir, "/var/lib/brook");
    assert_int_equal(c.num_partitions, 3);
    assert_int_equal(c.topic.retention_ms, 2 * 3600 * 1000);
    assert_int_equal(c.topic.segment_bytes, 1048576);
    assert_int_equal(c.topic.cleanup_policy, CLEANUP_COMPACT | CLEANUP_DELETE);
    assert_int_equal(c.flush_interval_ms, 1000);
    props_set(p, "log.retention.ms", "500"); /* the finer key wins */
    assert_int_equal(store_config_from_props(&c, p, &bad), 0);
    assert_int_equal(c.topic.retention_ms, 500);
    props_set(p, "log.segment.bytes", "12");
    assert_int_equal(store_config_from_props(&c, p, &bad), STORE_EINVALID_CONFIG);
    assert_string_equal(bad, "log.segment.bytes");
    props_set(p, "log.segment.bytes", "1048576");
    props_set(p, "log.cleanup.policy", "shred");
    assert_int_equal(store_config_from_props(&c, p, &bad), STORE_EINVALID_CONFIG);
    assert_string_equal(bad, "log.cleanup.policy");
    props_free(p);
}

/* ---- append, read, restart ---- */

static void test_append_read_restart(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 2, "internal.segment.bytes=4096", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(append(p, 5, "k", "v", i * 5, 1000 + i), i * 5);
    assert_int_equal(store_partition_high_watermark(p), 500);
    assert_int_equal(store_partition_sync(p, 500), 0);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_true(info.segments > 1);
    assert_int_equal(info.durable_offset, 500);
    static struct rec recs[600];
    assert_int_equal(read_all(p, 0, recs, 600), 500);
    for (int i = 0; i < 500; i++) {
        char v[32];
        snprintf(v, sizeof v, "v-%d", i);
        assert_int_equal(recs[i].offset, i);
        assert_string_equal(recs[i].value, v);
    }
    /* reads from the middle of a batch start at that batch */
    struct store_slice sl;
    assert_int_equal(store_partition_read(p, 203, 1, &sl), 0);
    assert_int_equal(sl.first_offset, 200);
    assert_int_equal(sl.next_offset, 205);
    store_slice_release(&sl);
    assert_int_equal(store_partition_read(p, 501, 100, &sl), -ERANGE);
    assert_int_equal(store_partition_read(p, 500, 100, &sl), 0);
    assert_int_equal(sl.len, 0);
    store_topic_put(t);
    store_close(s);

    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            forget_clean_shutdown(dir);
        s = open_store(dir, -1);
        t = store_topic_get(s, "t");
        p = store_topic_partition(t, 1);
        assert_int_equal(store_partition_high_watermark(p), 500 + crash);
        assert_int_equal(read_all(p, 0, recs, 600), 500 + crash);
        assert_string_equal(recs[499].value, "v-499");
        assert_int_equal(append(p, 1, NULL, "more", 500, 5000), 500 + crash);
        store_topic_put(t);
        if (crash)
            store_abandon(s);
        else
            store_close(s);
    }
    tu_rmrf(dir);
    free(dir);
}

/* ---- recovery ---- */

static void test_recovery_truncated_at_every_byte(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    int64_t bounds[7];
    for (int i = 0; i < 6; i++) {
        struct store_partition_info info;
        store_partition_info(p, &info);
        bounds[i] = info.size_bytes;
        append(p, 3, "key", "value", i * 3, 1000 + i);
    }
    struct store_partition_info info;
    store_partition_info(p, &info);
    bounds[6] = info.size_bytes;
    store_topic_put(t);
    store_close(s);

    char seg[4096];
    path_of(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    char *orig;
    size_t len;
    assert_int_equal(file_read_all(seg, 1 << 20, &orig, &len), 0);
    assert_int_equal((int64_t)len, bounds[6]);
    static struct rec recs[32];
    for (int64_t cut = bounds[4]; cut < bounds[6]; cut++) {
        write_file(seg, orig, (size_t)cut);
        forget_clean_shutdown(dir);
        s = open_store(dir, -1);
        t = store_topic_get(s, "t");
        p = store_topic_partition(t, 0);
        int whole = cut >= bounds[5] ? 5 : 4;
        assert_int_equal(store_partition_high_watermark(p), whole * 3);
        assert_int_equal(read_all(p, 0, recs, 32), whole * 3);
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
        assert_int_equal(append(p, 1, NULL, "next", 0, 1), whole * 3);
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
    struct store *s = open_store(dir, -1);
    struct store_recovery r;
    store_recovery_info(s, &r);
    assert_int_equal(r.partitions, 0); /* a new log */
    create_topic(s, "t", 1, "internal.segment.bytes=1024", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 20; i++)
        append(p, 5, "key", "value", i * 5, 1000 + i);
    struct store_segment_info *segs;
    size_t nsegs;
    assert_int_equal(store_partition_segments(p, &segs, &nsegs), 0);
    assert_true(nsegs >= 3);
    store_topic_put(t);
    store_close(s);

    s = open_store(dir, -1);
    store_recovery_info(s, &r);
    assert_true(r.clean);
    assert_int_equal(r.partitions, 1);
    assert_int_equal(r.segments_scanned, 0);
    assert_int_equal(r.bytes_cut + r.segments_removed + r.journal_dropped + r.journal_rebuilt, 0);
    store_close(s);

    /* a torn tail: 10 bytes of a batch that never finished */
    char seg[4096], name[64];
    snprintf(name, sizeof name, "t-0/%020lld.log", (long long)segs[nsegs - 1].base);
    path_of(seg, sizeof seg, dir, name);
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    forget_clean_shutdown(dir);
    s = open_store(dir, -1);
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
    path_of(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    assert_int_equal(truncate(seg, segs[0].size[STORE_FILE_LOG] - 1), 0);
    forget_clean_shutdown(dir);
    s = open_store(dir, -1);
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
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    int64_t bounds[5];
    for (int i = 0; i < 4; i++) {
        struct store_partition_info info;
        store_partition_info(p, &info);
        bounds[i] = info.size_bytes;
        append(p, 2, "k", "v", i * 2, 1000);
    }
    struct store_partition_info info;
    store_partition_info(p, &info);
    bounds[4] = info.size_bytes;
    store_topic_put(t);
    store_close(s);

    char seg[4096];
    path_of(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    char *orig;
    size_t len;
    assert_int_equal(file_read_all(seg, 1 << 20, &orig, &len), 0);
    static struct rec recs[16];
    /* every bit of the last batch, and a spread of bits in the second one */
    for (int64_t bit = bounds[1] * 8; bit < bounds[4] * 8; bit++) {
        if (bit >= bounds[2] * 8 && bit < bounds[3] * 8)
            bit = bounds[3] * 8;
        if (bit < bounds[2] * 8 && bit % 7)
            continue;
        orig[bit / 8] ^= (char)(1 << (bit % 8));
        write_file(seg, orig, len);
        orig[bit / 8] ^= (char)(1 << (bit % 8));
        forget_clean_shutdown(dir);
        s = open_store(dir, -1);
        t = store_topic_get(s, "t");
        p = store_topic_partition(t, 0);
        int good = bit < bounds[2] * 8 ? 1 : 3; /* batches before the damaged one */
        assert_int_equal(store_partition_high_watermark(p), good * 2);
        assert_int_equal(read_all(p, 0, recs, 16), good * 2);
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

static void test_append_rejects_bad_batches(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, "max.message.bytes=1000", NULL);
    create_topic(s, "c", 1, "cleanup.policy=compact", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct writer w;
    writer_init(&w, 1 << 20);
    tu_batch(&w, 3, "k", "v", 0, 1);
    struct store_append res;
    for (size_t i = BATCH_OFF_CRC * 8; i < w.len * 8; i += 5) {
        w.buf[i / 8] ^= (uint8_t)(1 << (i % 8));
        int rc = store_partition_append(p, w.buf, w.len, &res);
        assert_true(rc == -EBADMSG || rc == -ENOTSUP);
        w.buf[i / 8] ^= (uint8_t)(1 << (i % 8));
    }
    assert_int_equal(store_partition_append(p, w.buf, w.len - 1, &res), -EBADMSG);
    writer_reset(&w);
    tu_batch(&w, 20, "k", "a-long-enough-value-to-exceed-the-limit", 0, 1);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), -EMSGSIZE);
    assert_int_equal(store_partition_high_watermark(p), 0);
    store_topic_put(t);
    /* compacted topics need keys */
    t = store_topic_get(s, "c");
    writer_reset(&w);
    tu_batch(&w, 1, NULL, "v", 0, 1);
    assert_int_equal(store_partition_append(store_topic_partition(t, 0), w.buf, w.len, &res),
                     STORE_EINVALID_RECORD);
    store_topic_put(t);
    writer_release(&w);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Kafka's rules for producers' batches: one record per offset of the range, at least
 * one record, a sequence with a producer id. Each breach is refused whole. */
static void test_append_refuses_what_kafka_refuses(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_append res;
    struct writer w;
    writer_init(&w, 1 << 20);
    struct batch_builder b;

    /* records at deltas 0 and 1000: valid as a compacted batch, not from a producer */
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    assert_int_equal(batch_builder_add_at(&b, 0, 1, "k", 1, "a", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_add_at(&b, 1000, 1, "k", 1, "b", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    assert_int_equal(batch_validate(w.buf, w.len, NULL, true, NULL, NULL), 0);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), STORE_EINVALID_RECORD);
    batch_builder_release(&b);

    /* a batch with no records */
    writer_reset(&w);
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), STORE_EINVALID_RECORD);
    batch_builder_release(&b);

    /* a producer id without a sequence */
    writer_reset(&w);
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    b.producer_id = 7;
    b.producer_epoch = 0;
    assert_int_equal(batch_builder_add(&b, 1, "k", 1, "v", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), STORE_EINVALID_RECORD);
    batch_builder_release(&b);

    assert_int_equal(store_partition_high_watermark(p), 0);
    /* and the partition still takes a proper batch */
    writer_reset(&w);
    tu_batch(&w, 3, "k", "v", 0, 1);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), 0);
    assert_int_equal(store_partition_high_watermark(p), 3);
    store_topic_put(t);
    writer_release(&w);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- concurrency and group commit ---- */

struct appender {
    struct store_partition *p;
    int id;
};

static void *append_thread(void *arg)
{
    struct appender *a = arg;
    char vals[16];
    snprintf(vals, sizeof vals, "t%d", a->id);
    for (int i = 0; i < 250; i++)
        append(a->p, 4, NULL, vals, i * 4, 1);
    return NULL;
}

static void test_concurrent_appends_keep_order(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, "internal.segment.bytes=65536", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    pthread_t th[4];
    struct appender a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct appender){p, i};
        pthread_create(&th[i], NULL, append_thread, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(store_partition_high_watermark(p), 4000);
    static struct rec recs[4000];
    assert_int_equal(read_all(p, 0, recs, 4000), 4000);
    int next[4] = {0};
    for (int i = 0; i < 4000; i++) {
        int who, seq;
        assert_int_equal(recs[i].offset, i);
        assert_int_equal(sscanf(recs[i].value, "t%d-%d", &who, &seq), 2);
        assert_int_equal(seq, next[who]); /* each writer's records in its order */
        next[who]++;
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(next[i], 1000);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* A gate on fdatasync: the flusher blocks inside its first call until opened. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static int gate_waiting, log_syncs, done_count, done_rc;

static bool fd_is_log(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 4)
        return false;
    target[n] = 0;
    return !strcmp(target + n - 4, ".log");
}

static int gated_fdatasync(int fd)
{
    pthread_mutex_lock(&gate_mu);
    if (fd_is_log(fd)) {
        log_syncs++;
        gate_waiting++;
        pthread_cond_broadcast(&gate_cond);
        while (gate_closed)
            pthread_cond_wait(&gate_cond, &gate_mu);
        gate_waiting--;
    }
    pthread_mutex_unlock(&gate_mu);
    return sysio_real.fdatasync(fd);
}

static void on_durable(void *arg, int rc)
{
    pthread_mutex_lock(&gate_mu);
    done_count++;
    if (rc)
        done_rc = rc;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_mu);
}

static void test_group_commit(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    gate_closed = true;
    log_syncs = gate_waiting = done_count = done_rc = 0;
    sysio.fdatasync = gated_fdatasync;

    append(p, 1, NULL, "first", 0, 1);
    assert_int_equal(store_partition_when_durable(p, 1, on_durable, NULL), 0);
    pthread_mutex_lock(&gate_mu);
    while (gate_waiting == 0) /* the flusher is inside fdatasync for round 1 */
        pthread_cond_wait(&gate_cond, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    for (int i = 1; i < 10; i++) {
        append(p, 1, NULL, "more", i, 1);
        assert_int_equal(store_partition_when_durable(p, i + 1, on_durable, NULL), 0);
    }
    pthread_mutex_lock(&gate_mu);
    assert_int_equal(done_count, 0); /* nothing is acknowledged before its flush */
    gate_closed = false;
    pthread_cond_broadcast(&gate_cond);
    while (done_count < 10)
        pthread_cond_wait(&gate_cond, &gate_mu);
    assert_int_equal(log_syncs, 2); /* round 1, then one flush for the nine others */
    assert_int_equal(done_rc, 0);
    pthread_mutex_unlock(&gate_mu);
    sysio.fdatasync = sysio_real.fdatasync;
    assert_int_equal(store_partition_when_durable(p, 10, on_durable, NULL), 1);

    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_int_equal(info.durable_offset, 10);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_lazy_flush_mode(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, 50);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    append(p, 2, NULL, "v", 0, 1);
    /* counts as durable at once: the loss window is log.flush.interval.ms */
    assert_int_equal(store_partition_when_durable(p, 2, on_durable, NULL), 1);
    assert_int_equal(store_partition_sync(p, 2), 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- injected faults ---- */

static int fault_errno, fault_calls;
static bool fault_half;

static ssize_t faulty_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (fault_errno && fd_is_log(fd)) {
        if (fault_half && fault_calls++ == 0 && n > 1)
            return sysio_real.pwrite(fd, buf, n / 2, off); /* a short write first */
        errno = fault_errno;
        return -1;
    }
    return sysio_real.pwrite(fd, buf, n, off);
}

static int faulty_fdatasync(int fd)
{
    if (fault_errno && fd_is_log(fd)) {
        errno = fault_errno;
        return -1;
    }
    return sysio_real.fdatasync(fd);
}

static void test_injected_enospc_and_eio(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    append(p, 3, NULL, "ok", 0, 1);
    char seg[4096];
    path_of(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    static struct rec recs[16];

    sysio.pwrite = faulty_pwrite;
    int errs[] = {ENOSPC, EIO};
    for (int k = 0; k < 2; k++) {
        fault_errno = errs[k];
        fault_half = true;
        fault_calls = 0;
        struct writer w;
        writer_init(&w, 1 << 20);
        tu_batch(&w, 3, NULL, "lost", 0, 1);
        struct store_append res;
        assert_int_equal(store_partition_append(p, w.buf, w.len, &res), -errs[k]);
        writer_release(&w);
        assert_int_equal(store_partition_high_watermark(p), 3);
        assert_int_equal(tu_file_size(seg), size); /* the half-written batch is undone */
        assert_int_equal(read_all(p, 0, recs, 16), 3);
    }
    fault_errno = 0;
    assert_int_equal(append(p, 3, NULL, "ok", 3, 1), 3); /* writes resume */
    assert_int_equal(read_all(p, 0, recs, 16), 6);
    assert_string_equal(recs[5].value, "ok-5");
    sysio.pwrite = sysio_real.pwrite;

    /* an fdatasync error stops the partition: nothing more is acknowledged */
    sysio.fdatasync = faulty_fdatasync;
    fault_errno = EIO;
    append(p, 1, NULL, "unsure", 6, 1);
    assert_int_equal(store_partition_sync(p, 7), STORE_EFAILED);
    struct writer w;
    writer_init(&w, 1 << 20);
    tu_batch(&w, 1, NULL, "refused", 0, 1);
    struct store_append res;
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), STORE_EFAILED);
    assert_int_equal(store_partition_when_durable(p, 7, on_durable, NULL), STORE_EFAILED);
    writer_release(&w);
    fault_errno = 0;
    sysio.fdatasync = sysio_real.fdatasync;
    assert_int_equal(read_all(p, 0, recs, 16), 7); /* reads keep working */
    store_topic_put(t);
    store_abandon(s);

    /* after a restart the partition works again */
    s = open_store(dir, -1);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    assert_int_equal(append(p, 1, NULL, "again", 0, 1), 7);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* The journal entry of a batch cannot be written: the append fails like a failed
 * segment write, and nothing of the batch stays (the FUSE view could not show it). */
static bool fd_is_journal(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 8)
        return false;
    target[n] = 0;
    return !strcmp(target + n - 8, ".journal");
}

static ssize_t full_journal_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (fd_is_journal(fd)) {
        errno = ENOSPC;
        return -1;
    }
    return sysio_real.pwrite(fd, buf, n, off);
}

static void test_journal_write_fails_the_append(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 2, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    append(p, 2, NULL, "ok", 0, 1);
    char seg[4096];
    path_of(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    sysio.pwrite = full_journal_pwrite;
    struct writer w;
    writer_init(&w, 1 << 20);
    tu_batch(&w, 3, NULL, "lost", 0, 1);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    sysio.pwrite = sysio_real.pwrite;
    writer_release(&w);
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(store_partition_high_watermark(p), 2);
    assert_int_equal(tu_file_size(seg), size);
    int64_t records, values, total, first;
    store_journal_totals(t, -1, &records, &values);
    assert_int_equal(records, 2);
    assert_int_equal(append(p, 1, NULL, "again", 2, 1), 2); /* appends resume */
    append(store_topic_partition(t, 1), 1, NULL, "other", 0, 1);
    struct store_journal_entry e[4];
    assert_int_equal(store_journal_read(t, 0, e, 4, &total, &first), 3);
    assert_int_equal(e[1].base_offset, 2);
    assert_int_equal(e[1].records_before, 2);
    assert_int_equal(e[2].partition, 1);
    assert_int_equal(e[2].records_before, 3);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* After a failed flush the disk may no longer hold what the page cache showed: a
 * clean shutdown then leaves no clean-shutdown marker, so the next start checks
 * the segments as after a crash instead of trusting them. */
static void test_failed_flush_is_recovered_at_next_start(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    append(p, 2, NULL, "ok", 0, 1);
    assert_int_equal(store_partition_sync(p, 2), 0);
    sysio.fdatasync = faulty_fdatasync;
    fault_errno = EIO;
    append(p, 1, NULL, "unsure", 2, 1);
    int rc = store_partition_sync(p, 3);
    fault_errno = 0;
    sysio.fdatasync = sysio_real.fdatasync;
    assert_int_equal(rc, STORE_EFAILED);
    store_topic_put(t);
    store_close(s);
    char marker[4096];
    path_of(marker, sizeof marker, dir, ".brook_cleanshutdown");
    assert_int_equal(access(marker, F_OK), -1);

    /* what the disk lost behind the failed flush is found and cut off */
    char seg[4096];
    path_of(seg, sizeof seg, dir, "t-0/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    int fd = open(seg, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\0\0\0\0", 4, size - 8), 4);
    close(fd);
    s = open_store(dir, -1);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    static struct rec recs[8];
    assert_int_equal(store_partition_high_watermark(p), 2);
    assert_int_equal(read_all(p, 0, recs, 8), 2);
    assert_int_equal(append(p, 1, NULL, "again", 2, 1), 2);
    store_topic_put(t);
    store_close(s);
    assert_int_equal(access(marker, F_OK), 0); /* and a clean shutdown is one again */
    tu_rmrf(dir);
    free(dir);
}

/* ---- roll and retention ---- */

static void test_roll_by_size_and_age(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, "internal.segment.bytes=1024", NULL);
    create_topic(s, "age", 1, "segment.ms=1", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 20; i++)
        append(p, 3, "k", "0123456789012345678901234567890123456789", i * 3, 1);
    struct store_partition_info info;
    store_partition_info(p, &info);
    int batch = (int)(info.size_bytes / 20);
    int per_seg = 1024 / batch;
    assert_int_equal(info.segments, (20 + per_seg - 1) / per_seg);
    char path[4096];
    for (int k = 0; k < info.segments; k++) {
        char name[64];
        snprintf(name, sizeof name, "t-0/%020d.log", k * per_seg * 3);
        path_of(path, sizeof path, dir, name);
        int64_t sz = tu_file_size(path);
        assert_true(sz > 0 && sz <= 1024);
    }
    store_topic_put(t);

    t = store_topic_get(s, "age");
    p = store_topic_partition(t, 0);
    append(p, 1, NULL, "a", 0, 1);
    int64_t start = clock_wall_ms();
    while (clock_wall_ms() < start + 3) /* let segment.ms pass */
        ;
    append(p, 1, NULL, "b", 1, 1);
    store_partition_info(p, &info);
    assert_int_equal(info.segments, 2);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_retention_by_size_and_time(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "size", 1, "internal.segment.bytes=1024", "retention.bytes=2048", NULL);
    create_topic(s, "time", 1, "internal.segment.bytes=1024", "retention.ms=60000", NULL);
    create_topic(s, "all", 1, "retention.ms=1000", NULL);
    struct store_topic *t = store_topic_get(s, "size");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 30; i++)
        append(p, 3, "k", "0123456789012345678901234567890123456789", i * 3, clock_wall_ms());
    assert_true(store_run_retention(s) > 0);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_true(info.size_bytes >= 2048 - 1024);
    assert_true(info.size_bytes < 2048 + 1024);
    assert_true(info.log_start_offset > 0);
    struct store_slice sl;
    assert_int_equal(store_partition_read(p, 0, 100, &sl), -ERANGE);
    static struct rec recs[128];
    int n = read_all(p, info.log_start_offset, recs, 128);
    assert_int_equal(n, 90 - info.log_start_offset);
    assert_int_equal(recs[n - 1].offset, 89);
    store_topic_put(t);

    t = store_topic_get(s, "time");
    p = store_topic_partition(t, 0);
    int64_t now = clock_wall_ms();
    for (int i = 0; i < 15; i++) /* old records first, then recent ones */
        append(p, 3, "k", "0123456789012345678901234567890123456789", i * 3,
               i < 12 ? now - 3600000 : now);
    store_partition_info(p, &info);
    int before = info.segments;
    store_run_retention(s);
    store_partition_info(p, &info);
    assert_true(info.segments < before);
    n = read_all(p, info.log_start_offset, recs, 128);
    int recent = 0;
    for (int i = 0; i < n; i++)
        recent += recs[i].ts == now;
    assert_int_equal(recent, 9);  /* nothing recent was deleted */
    assert_true(n - recent < 12); /* only old records sharing a segment with recent ones */
    store_topic_put(t);

    /* when everything has expired, the active segment is rolled and deleted too */
    t = store_topic_get(s, "all");
    p = store_topic_partition(t, 0);
    append(p, 3, NULL, "old", 0, now - 3600000);
    store_run_retention(s);
    store_partition_info(p, &info);
    assert_int_equal(info.log_start_offset, 3);
    assert_int_equal(info.high_watermark, 3);
    assert_int_equal(store_partition_read(p, 3, 100, &sl), 0);
    assert_int_equal(sl.len, 0);
    assert_int_equal(append(p, 1, NULL, "new", 0, now), 3);
    store_topic_put(t);
    store_close(s);

    s = open_store(dir, -1); /* the log start survives a restart */
    t = store_topic_get(s, "all");
    assert_int_equal(store_partition_log_start(store_topic_partition(t, 0)), 3);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_offset_for_time_and_delete_records(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, "internal.segment.bytes=1024", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 40; i++)
        append(p, 2, NULL, "v", i * 2, 1000 * (i + 1));
    int64_t off, ts;
    assert_int_equal(store_partition_offset_for_time(p, 0, &off, &ts), 0);
    assert_int_equal(off, 0);
    assert_int_equal(ts, 1000);
    assert_int_equal(store_partition_offset_for_time(p, 15500, &off, &ts), 0);
    assert_int_equal(off, 30); /* batch 15 has timestamp 16000 */
    assert_int_equal(ts, 16000);
    assert_int_equal(store_partition_offset_for_time(p, 40000, &off, &ts), 0);
    assert_int_equal(off, 78);
    assert_int_equal(store_partition_offset_for_time(p, 40001, &off, &ts), -ENOENT);

    int64_t low;
    assert_int_equal(store_partition_delete_records(p, 81, &low), -ERANGE);
    assert_true(store_partition_delete_records(p, 33, &low) >= 0);
    assert_int_equal(low, 33);
    assert_int_equal(store_partition_log_start(p), 33);
    struct store_slice sl;
    assert_int_equal(store_partition_read(p, 32, 100, &sl), -ERANGE);
    assert_int_equal(store_partition_offset_for_time(p, 0, &off, &ts), 0);
    assert_true(off >= 33);
    store_topic_put(t);
    store_close(s);
    s = open_store(dir, -1);
    t = store_topic_get(s, "t");
    assert_int_equal(store_partition_log_start(store_topic_partition(t, 0)), 33);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- compaction ---- */

#define KEYS 5

/* What compaction must keep: for records in closed segments (offset < active), the
 * newest per key, without expired tombstones; everything in the active segment. */
static int expected_after_compaction(const struct rec *all, int n, int64_t active, int64_t horizon,
                                     struct rec *out)
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
        path_of(path, sizeof path, dir, name);
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
        append_kv(p, key, val, now);
        if (i == 20)
            append_kv(p, "k3", NULL, now); /* a recent tombstone: kept */
        if (i == 21)
            append_kv(p, "k4", NULL, now - 7200000); /* an expired one: dropped */
    }
}

static void check_same(const struct rec *a, const struct rec *b, int n)
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
    struct store *s = open_store(dir, -1);
    create_topic(s, "c", 1, "cleanup.policy=compact", "internal.segment.bytes=1024",
                 "delete.retention.ms=3600000", NULL);
    struct store_topic *t = store_topic_get(s, "c");
    struct store_partition *p = store_topic_partition(t, 0);
    int64_t now = clock_wall_ms();
    fill_compacted(p, now);
    static struct rec all[128], want[128], got[128];
    int n = read_all(p, 0, all, 128);
    assert_int_equal(n, 42);
    int64_t act = active_base(p, dir);
    assert_true(act > 10);
    int m = expected_after_compaction(all, n, act, now - 3600000, want);
    assert_true(m < n);
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    assert_int_equal(store_partition_compact(p), 1);
    assert_int_equal(read_all(p, 0, got, 128), m);
    check_same(got, want, m);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_int_equal(info.high_watermark, 42); /* offsets are kept, the end too */
    store_topic_put(t);
    store_close(s);

    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            forget_clean_shutdown(dir);
        s = open_store(dir, -1);
        t = store_topic_get(s, "c");
        p = store_topic_partition(t, 0);
        assert_int_equal(read_all(p, 0, got, 128), m);
        check_same(got, want, m);
        store_topic_put(t);
        store_close(s);
    }

    /* a second round after more writes compacts the new dirty part too */
    s = open_store(dir, -1);
    t = store_topic_get(s, "c");
    p = store_topic_partition(t, 0);
    fill_compacted(p, now);
    n = read_all(p, 0, all, 128);
    act = active_base(p, dir);
    m = expected_after_compaction(all, n, act, now - 3600000, want);
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    assert_int_equal(store_partition_compact(p), 1);
    assert_int_equal(read_all(p, 0, got, 128), m);
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
    struct store *s = open_store(dir, -1);
    create_topic(s, "c", 1, "cleanup.policy=compact", NULL);
    struct store_topic *t = store_topic_get(s, "c");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 4; i++) {
        char val[16];
        snprintf(val, sizeof val, "v%d", i);
        append_kv(p, "k", val, 1);
    }
    store_topic_put(t);
    store_abandon(s);
    char seg[4096];
    path_of(seg, sizeof seg, dir, "c-0/00000000000000000000.log");
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

    s = open_store(dir, -1);
    t = store_topic_get(s, "c");
    p = store_topic_partition(t, 0);
    static struct rec recs[8];
    assert_int_equal(store_partition_high_watermark(p), 3);
    assert_int_equal(read_all(p, 0, recs, 8), 3);
    assert_int_equal(append_kv(p, "k", "v3", 1), 3);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Fail every file-system call after the first `crash_after` made by the cleaner. */
static int crash_after, crash_calls;
static bool crashed;

static bool crash_now(void)
{
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
    static struct rec all[128], want[128], got[128];
    bool finished = false;
    for (crash_after = 0; !finished && crash_after < 200; crash_after++) {
        char *dir = tu_mkdtemp();
        struct store *s = open_store(dir, -1);
        create_topic(s, "c", 1, "cleanup.policy=compact", "internal.segment.bytes=1024",
                     "delete.retention.ms=3600000", NULL);
        struct store_topic *t = store_topic_get(s, "c");
        struct store_partition *p = store_topic_partition(t, 0);
        int64_t now = clock_wall_ms();
        fill_compacted(p, now);
        int n = read_all(p, 0, all, 128);
        int64_t act = active_base(p, dir);
        int m = expected_after_compaction(all, n, act, now - 3600000, want);
        assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);

        crash_calls = 0;
        crashed = false;
        sysio.open = c_open;
        sysio.pwrite = c_pwrite;
        sysio.fdatasync = c_fdatasync;
        sysio.fsync = c_fsync;
        sysio.rename = c_rename;
        sysio.unlink = c_unlink;
        int rc = store_partition_compact(p);
        finished = !crashed && rc == 1;
        sysio = sysio_real;
        store_topic_put(t);
        store_abandon(s); /* the crash */

        s = open_store(dir, -1);
        t = store_topic_get(s, "c");
        p = store_topic_partition(t, 0);
        int g = read_all(p, 0, got, 128);
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
    assert_true(finished);
    assert_true(crash_after > 5); /* the cleaner really had steps to interrupt */
}

/* ---- idempotent producers ---- */

static int append_idem(struct store_partition *p, int64_t pid, int16_t epoch, int32_t seq, int n,
                       struct store_append *res)
{
    struct batch_builder b;
    struct writer w;
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = seq;
    for (int i = 0; i < n; i++)
        batch_builder_add(&b, 1, NULL, -1, "x", 1, NULL, 0);
    writer_init(&w, 1 << 20);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    int rc = store_partition_append(p, w.buf, w.len, res);
    batch_builder_release(&b);
    writer_release(&w);
    return rc;
}

static void test_idempotent_producer(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_append res;
    assert_int_equal(append_idem(p, 1000, 0, 0, 3, &res), 0);
    assert_int_equal(append_idem(p, 1000, 0, 3, 2, &res), 0);
    assert_int_equal(res.base_offset, 3);
    assert_int_equal(append_idem(p, 1000, 0, 0, 3, &res), STORE_EDUPLICATE_SEQ);
    assert_int_equal(res.base_offset, 0);
    assert_int_equal(res.last_offset, 2);
    assert_int_equal(append_idem(p, 1000, 0, 9, 1, &res), STORE_EOUT_OF_ORDER_SEQ);
    assert_int_equal(append_idem(p, 1000, 1, 5, 1, &res), STORE_EOUT_OF_ORDER_SEQ);
    assert_int_equal(append_idem(p, 1000, 1, 0, 1, &res), 0); /* new epoch starts at 0 */
    assert_int_equal(append_idem(p, 1000, 0, 5, 1, &res), STORE_EPRODUCER_FENCED);
    assert_int_equal(append_idem(p, 2000, 0, 0, 1, &res), 0);
    assert_int_equal(store_partition_high_watermark(p), 7);
    store_topic_put(t);
    store_abandon(s); /* state comes back from the log itself */

    s = open_store(dir, -1);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    assert_int_equal(append_idem(p, 1000, 1, 0, 1, &res), STORE_EDUPLICATE_SEQ);
    assert_int_equal(res.base_offset, 5);
    assert_int_equal(append_idem(p, 1000, 1, 1, 1, &res), 0);
    store_topic_put(t);
    store_close(s); /* and from the snapshot after a clean shutdown */
    s = open_store(dir, -1);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    assert_int_equal(append_idem(p, 1000, 1, 1, 1, &res), STORE_EDUPLICATE_SEQ);
    assert_int_equal(append_idem(p, 2000, 0, 1, 1, &res), 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Checkpoints (and producer snapshots with them) written from two threads at once
 * - the maintenance thread and DeleteRecords, or the cleaner - all succeed: the
 * writers share temporary file names, so they take turns. */
static void *checkpoint_thread(void *arg)
{
    struct store_partition *p = arg;
    intptr_t failures = 0;
    for (int i = 0; i < 150; i++) {
        int64_t low;
        failures += store_partition_delete_records(p, 0, &low) != 0;
    }
    return (void *)failures;
}

static void test_concurrent_checkpoints(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_append res;
    assert_int_equal(append_idem(p, 1000, 0, 0, 3, &res), 0); /* a snapshot to write */
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, checkpoint_thread, p), 0);
    intptr_t failures = 0;
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(th[i], &r);
        failures += (intptr_t)r;
    }
    assert_int_equal(failures, 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- the journal ---- */

/* A journal rebuilt after a crash lists the batch that holds the log start even
 * when DeleteRecords moved the log start into it: its later records are still
 * there to be shown. */
static void test_journal_rebuilt_from_mid_batch_log_start(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "j", 1, NULL);
    struct store_topic *t = store_topic_get(s, "j");
    struct store_partition *p = store_topic_partition(t, 0);
    append(p, 5, NULL, "val", 0, 1);
    append(p, 2, NULL, "val", 5, 1);
    int64_t low;
    assert_int_equal(store_partition_delete_records(p, 2, &low), 0);
    char jpath[4096], id[33];
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", store_topic_id(t)[i]);
    snprintf(jpath, sizeof jpath, "%s/.topics/%s.journal", dir, id);
    store_topic_put(t);
    store_abandon(s);
    assert_int_equal(truncate(jpath, 16), 0); /* the entries were never synced */

    s = open_store(dir, -1);
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
    struct store *s = open_store(dir, -1);
    create_topic(s, "j", 3, NULL);
    struct store_topic *t = store_topic_get(s, "j");
    const int order[] = {0, 2, 1, 0, 2};
    for (int i = 0; i < 5; i++)
        append(store_topic_partition(t, order[i]), i + 1, NULL, "val", 0, 1);
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
    path_of(seg, sizeof seg, dir, "j-2/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    assert_int_equal(truncate(seg, size - 10), 0);
    forget_clean_shutdown(dir);
    s = open_store(dir, -1);
    t = store_topic_get(s, "j");
    assert_int_equal(store_journal_read(t, 0, e, 8, &total, &first), 4);
    assert_int_equal(e[3].partition, 0);
    store_topic_put(t);
    store_close(s);

    /* without a journal, it is rebuilt from the partitions, one after the other */
    char jpath[4096], id[33];
    t = store_topic_get(s = open_store(dir, -1), "j");
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", store_topic_id(t)[i]);
    store_topic_put(t);
    store_close(s);
    snprintf(jpath, sizeof jpath, "%s/.topics/%s.journal", dir, id);
    assert_int_equal(unlink(jpath), 0);
    s = open_store(dir, -1);
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
    struct store *s = open_store(dir, -1);
    create_topic(s, "long", 2, NULL);
    struct store_topic *t = store_topic_get(s, "long");
    for (int i = 0; i < N; i++)
        append(store_topic_partition(t, i % 2), 1, NULL, "v", i, 1);
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
    s = open_store(dir, -1);
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
    path_of(seg, sizeof seg, dir, "long-1/00000000000000000000.log");
    int64_t size = tu_file_size(seg);
    assert_int_equal(truncate(seg, size - 1), 0);
    forget_clean_shutdown(dir);
    s = open_store(dir, -1);
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
static int preads;

static ssize_t counting_pread(int fd, void *buf, size_t n, off_t off)
{
    preads++;
    return sysio_real.pread(fd, buf, n, off);
}

static void test_start_reads_little(void **state)
{
    enum { N = 3000 };
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "quiet", 1, NULL);
    struct store_topic *t = store_topic_get(s, "quiet");
    for (int i = 0; i < N; i++)
        append(store_topic_partition(t, 0), 1, NULL, "v", i, 1);
    store_topic_put(t);
    store_close(s);
    char snap[4096];
    path_of(snap, sizeof snap, dir, "quiet-0/producer.snapshot");
    struct stat st0, st1;
    assert_int_equal(stat(snap, &st0), 0);

    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            forget_clean_shutdown(dir);
        preads = 0;
        sysio.pread = counting_pread;
        s = open_store(dir, -1);
        sysio.pread = sysio_real.pread;
        if (preads >= 100)
            fail_msg("%d preads", preads);
        t = store_topic_get(s, "quiet");
        assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 0)), N);
        store_topic_put(t);
        store_close(s);
    }
    /* nothing was appended since: the snapshot was left as it was */
    assert_int_equal(stat(snap, &st1), 0);
    assert_int_equal(st0.st_ino, st1.st_ino);
    tu_rmrf(dir);
    free(dir);
}

/* ---- listeners ---- */

static int heard;
static int64_t heard_hw;

static void on_append(void *arg, struct store_partition *p, int64_t hw)
{
    heard++;
    heard_hw = hw;
}

static void test_listeners(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    heard = 0;
    assert_int_equal(store_listen(s, on_append, NULL), 0);
    append(store_topic_partition(t, 0), 4, NULL, "v", 0, 1);
    assert_int_equal(heard, 1);
    assert_int_equal(heard_hw, 4);
    store_unlisten(s, on_append, NULL);
    append(store_topic_partition(t, 0), 1, NULL, "v", 0, 1);
    assert_int_equal(heard, 1);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_segment_files(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "t", 1, "internal.segment.bytes=1024", "index.interval.bytes=100", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 12; i++)
        append(p, 3, "k", "0123456789012345678901234567890123456789", i * 3, 1000 + i);
    struct store_segment_info *segs;
    size_t n;
    assert_int_equal(store_partition_segments(p, &segs, &n), 0);
    assert_true(n >= 3);
    assert_int_equal(segs[0].base, 0);
    assert_int_equal(segs[1].base, segs[0].next_offset);
    /* the .log of a closed segment reads as the file on disk */
    char path[4096], *disk;
    size_t len;
    path_of(path, sizeof path, dir, "t-0/00000000000000000000.log");
    assert_int_equal(file_read_all(path, 1 << 20, &disk, &len), 0);
    assert_int_equal((int64_t)len, segs[0].size[0]);
    char buf[2048];
    assert_int_equal(store_partition_segment_pread(p, 0, STORE_FILE_LOG, buf, sizeof buf, 0),
                     (ssize_t)len);
    assert_memory_equal(buf, disk, len);
    assert_int_equal(store_partition_segment_pread(p, 0, STORE_FILE_LOG, buf, 10, 5), 10);
    assert_memory_equal(buf, disk + 5, 10);
    free(disk);
    /* the rolled segment's index matches its file; the active one's is in memory */
    path_of(path, sizeof path, dir, "t-0/00000000000000000000.index");
    assert_int_equal(file_read_all(path, 1 << 20, &disk, &len), 0);
    assert_true(len > 8);
    assert_int_equal((int64_t)len, segs[0].size[1]);
    assert_int_equal(store_partition_segment_pread(p, 0, STORE_FILE_INDEX, buf, 3, 5), 3);
    assert_memory_equal(buf, disk + 5, 3);
    free(disk);
    int64_t last = segs[n - 1].base;
    assert_true(segs[n - 1].size[1] >= 8);
    assert_int_equal(store_partition_segment_pread(p, last, STORE_FILE_INDEX, buf, 8, 0), 8);
    assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8); /* first entry: rel 0, pos 0 */
    assert_int_equal(store_partition_segment_pread(p, last, STORE_FILE_TIMEINDEX, buf, 12, 0), 12);
    assert_int_equal(store_partition_segment_pread(p, 7, STORE_FILE_LOG, buf, 1, 0), -ENOENT);
    free(segs);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- names and offsets the loader must not take at face value ---- */

/* Append one batch whose records have keys keys[i] at offset deltas deltas[i]. */
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

static void test_segment_names_strict(void **state)
{
    /* Files a lax number parser would take for segment 0 (strtoll skips a sign or
     * a space): the store must neither fail to open nor serve the segment twice. */
    static const char *const strays[] = {"+0000000000000000000.log", " 0000000000000000000.log",
                                         "-0000000000000000000.log", "0000000000000000000x.log"};
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "names", 1, NULL);
    struct store_topic *t = store_topic_get(s, "names");
    for (int i = 0; i < 3; i++)
        append_kv(store_topic_partition(t, 0), "k", "v", 5);
    store_topic_put(t);
    store_close(s);
    char path[4096], *log;
    size_t len;
    path_of(path, sizeof path, dir, "names-0/00000000000000000000.log");
    assert_int_equal(file_read_all(path, 1 << 20, &log, &len), 0);
    for (size_t i = 0; i < sizeof strays / sizeof *strays; i++) {
        snprintf(path, sizeof path, "%s/names-0/%s", dir, strays[i]);
        write_file(path, log, len);
    }
    free(log);
    static struct rec got[16];
    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            forget_clean_shutdown(dir);
        s = open_store(dir, -1);
        t = store_topic_get(s, "names");
        struct store_partition *p = store_topic_partition(t, 0);
        struct store_partition_info info;
        store_partition_info(p, &info);
        assert_int_equal(info.segments, 1);
        assert_int_equal(info.high_watermark, 3);
        assert_int_equal(read_all(p, 0, got, 16), 3);
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
    struct store *s = open_store(dir, -1);
    create_topic(s, "span", 1, "cleanup.policy=compact", NULL);
    store_close(s);
    char path[4096];
    struct writer w;
    writer_init(&w, 1 << 20);
    for (size_t i = 0; i < 3; i++) {
        writer_reset(&w);
        batch_deltas(&w, segs[i].base, 2, segs[i].keys, segs[i].deltas);
        char name[64];
        snprintf(name, sizeof name, "span-0/%020" PRId64 ".log", segs[i].base);
        path_of(path, sizeof path, dir, name);
        write_file(path, w.buf, w.len);
    }
    writer_release(&w);
    path_of(path, sizeof path, dir, "span-0/00000000000000000000.index");
    unlink(path);
    path_of(path, sizeof path, dir, "span-0/00000000000000000000.timeindex");
    unlink(path);
    path_of(path, sizeof path, dir, "cleaner-offset-checkpoint"); /* no gap bound known */
    unlink(path);
    s = open_store(dir, -1);
    struct store_topic *t = store_topic_get(s, "span");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_int_equal(info.segments, 3);
    int64_t hw = info.high_watermark;
    assert_int_equal(hw, 4200000003);
    assert_true(store_partition_compact(p) >= 0);
    static struct rec got[16];
    assert_int_equal(read_all(p, 0, got, 16), 6);
    store_topic_put(t);
    store_close(s);
    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            forget_clean_shutdown(dir);
        s = open_store(dir, -1);
        t = store_topic_get(s, "span");
        p = store_topic_partition(t, 0);
        store_partition_info(p, &info);
        assert_int_equal(info.high_watermark, hw);
        assert_int_equal(read_all(p, 0, got, 16), 6);
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

static void test_recovery_ends_at_offsets_past_index_span(void **state)
{
    /* A segment (foreign, or damaged outside the CRC) holding a batch more than
     * INT32_MAX offsets past its base: no index entry can name it, so the log
     * ends before it, as at any batch that fails recovery. */
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    create_topic(s, "wide", 1, "cleanup.policy=compact", NULL);
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
    static struct rec got[16];
    for (int crash = 0; crash < 2; crash++) {
        path_of(path, sizeof path, dir, "wide-0/00000000000000000000.log");
        write_file(path, w.buf, w.len);
        path_of(path, sizeof path, dir, "wide-0/00000000000000000000.index");
        unlink(path);
        path_of(path, sizeof path, dir, "wide-0/00000000000000000000.timeindex");
        unlink(path);
        if (crash)
            forget_clean_shutdown(dir);
        s = open_store(dir, -1);
        struct store_topic *t = store_topic_get(s, "wide");
        struct store_partition *p = store_topic_partition(t, 0);
        assert_int_equal(store_partition_high_watermark(p), 2);
        assert_int_equal(read_all(p, 0, got, 16), 2);
        store_topic_put(t);
        store_close(s);
    }
    writer_release(&w);
    tu_rmrf(dir);
    free(dir);
}

static void test_dir_locked(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, -1);
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    struct store *other = NULL;
    assert_int_equal(store_open(&c, &other), -EBUSY);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_topic_create_delete_collide),
        cmocka_unit_test(test_longest_topic_name),
        cmocka_unit_test(test_topic_persistence_and_adoption),
        cmocka_unit_test(test_config_from_props),
        cmocka_unit_test(test_append_read_restart),
        cmocka_unit_test(test_recovery_truncated_at_every_byte),
        cmocka_unit_test(test_recovery_report),
        cmocka_unit_test(test_bit_flips_never_served),
        cmocka_unit_test(test_append_rejects_bad_batches),
        cmocka_unit_test(test_append_refuses_what_kafka_refuses),
        cmocka_unit_test(test_concurrent_appends_keep_order),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_lazy_flush_mode),
        cmocka_unit_test(test_injected_enospc_and_eio),
        cmocka_unit_test(test_journal_write_fails_the_append),
        cmocka_unit_test(test_failed_flush_is_recovered_at_next_start),
        cmocka_unit_test(test_roll_by_size_and_age),
        cmocka_unit_test(test_retention_by_size_and_time),
        cmocka_unit_test(test_offset_for_time_and_delete_records),
        cmocka_unit_test(test_compaction_keeps_newest_per_key),
        cmocka_unit_test(test_compaction_crash_at_every_step),
        cmocka_unit_test(test_compacted_offsets_checked_after_a_crash),
        cmocka_unit_test(test_idempotent_producer),
        cmocka_unit_test(test_concurrent_checkpoints),
        cmocka_unit_test(test_journal_order_and_recovery),
        cmocka_unit_test(test_journal_long_cut_and_rebuilt),
        cmocka_unit_test(test_start_reads_little),
        cmocka_unit_test(test_journal_rebuilt_from_mid_batch_log_start),
        cmocka_unit_test(test_listeners),
        cmocka_unit_test(test_segment_files),
        cmocka_unit_test(test_segment_names_strict),
        cmocka_unit_test(test_compaction_keeps_offset_span),
        cmocka_unit_test(test_recovery_ends_at_offsets_past_index_span),
        cmocka_unit_test(test_dir_locked),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
