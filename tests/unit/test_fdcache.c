/*
 * test_fdcache.c - store/fdcache.c: segment files opened on demand, at most
 * log.max.open.files kept open, least recently used closed first, never one under
 * a user (not even when the segment is freed meanwhile); descriptors kept by the
 * cache never fail an append when the process runs out of them; the segment.bytes
 * floor; and a batch's max timestamp recorded even when its index entry finds no
 * memory.
 *
 * Every test works in its own mkdtemp directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/props.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/private.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

/* ---- helpers ---- */

static struct store *open_store(const char *dir, int64_t max_open)
{
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    c.flush_interval_ms = -1;
    c.cleaner_enable = false;
    c.max_open_files = max_open;
    struct store *s = NULL;
    int rc = store_open(&c, &s);
    if (rc)
        fail_msg("store_open(%s): %s", dir, store_strerror(rc));
    return s;
}

/* Create topic name (one partition) with "k=v" overrides; returns store_topic_create's rc. */
static int create_topic(struct store *s, const char *name, ...)
{
    struct props *p = props_new();
    va_list ap;
    va_start(ap, name);
    for (const char *kv; (kv = va_arg(ap, const char *));)
        assert_int_equal(props_set_pair(p, kv), 0);
    va_end(ap);
    const char *bad = NULL;
    int rc = store_topic_create(s, name, 1, p, &bad);
    props_free(p);
    return rc;
}

static struct store_partition *partition(struct store *s, const char *name)
{
    struct store_topic *t = store_topic_get(s, name);
    assert_non_null(t);
    struct store_partition *p = store_topic_partition(t, 0);
    store_topic_put(t); /* the store keeps the topic */
    return p;
}

static int append_one(struct store_partition *p, int i, int64_t ts)
{
    struct writer w;
    writer_init(&w, 1 << 20);
    char val[32];
    snprintf(val, sizeof val, "v%06d", i);
    tu_batch(&w, 1, NULL, val, 0, ts);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    writer_release(&w);
    return rc;
}

/* Descriptors this process has open. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own */
}

/* Read every batch from offset 0, checking values run v000000 .. v<n-1>. */
static void read_back(struct store_partition *p, int n)
{
    int64_t off = 0;
    int seen = 0;
    while (off < store_partition_high_watermark(p)) {
        struct store_slice sl;
        assert_int_equal(store_partition_read(p, off, 1 << 16, &sl), 0);
        assert_true(sl.len > 0);
        uint8_t *buf = malloc((size_t)sl.len);
        assert_int_equal(file_pread_all(sl.fd, buf, (size_t)sl.len, sl.pos), 0);
        for (size_t at = 0; at < (size_t)sl.len;) {
            size_t size;
            struct batch_iter it;
            struct record r;
            assert_int_equal(batch_frame(buf + at, (size_t)sl.len - at, 1u << 30, &size), 0);
            assert_int_equal(batch_iter_init(&it, buf + at, size, &batch_limits_default, true), 0);
            while (batch_iter_next(&it, &r) == 1) {
                char want[32];
                snprintf(want, sizeof want, "v%06d-0", seen++); /* tu_batch: "<prefix>-<i>" */
                assert_int_equal(r.value_len, (int)strlen(want));
                assert_memory_equal(r.value, want, strlen(want));
            }
            batch_iter_release(&it);
            at += size;
        }
        free(buf);
        off = sl.next_offset;
        store_slice_release(&sl);
    }
    assert_int_equal(seen, n);
}

/* ---- tests ---- */

/* Thousands of segments, a cap of 8: never more than 8 segment files open, and
 * every record still reads back from offset 0, across a restart too. */
static void test_segments_never_hold_more_than_the_cap(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    int before = open_fds();
    struct store *s = open_store(dir, 8);
    assert_int_equal(create_topic(s, "t", "internal.segment.bytes=1024", NULL), 0);
    struct store_partition *p = partition(s, "t");
    enum { N = 3000 }; /* ~13 batches per 1 KiB segment: ~230 segments */
    for (int i = 0; i < N; i++)
        assert_int_equal(append_one(p, i, 1000 + i), 0);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_true(info.segments > 200);
    size_t open, evictions;
    fdcache_stats(&s->fds, &open, &evictions);
    assert_true(open <= 8);
    assert_true(evictions > 0);
    /* the lock, a journal, the cache: far fewer than one per segment */
    assert_true(open_fds() - before <= 8 + 4);
    read_back(p, N);
    fdcache_stats(&s->fds, &open, &evictions);
    assert_true(open <= 8);
    store_close(s);
    assert_int_equal(open_fds(), before);

    s = open_store(dir, 8); /* loading them all opens each once, keeps 8 */
    p = partition(s, "t");
    fdcache_stats(&s->fds, &open, &evictions);
    assert_true(open <= 8);
    read_back(p, N);
    assert_int_equal(append_one(p, N, 1000 + N), 0);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* The least recently used unpinned file is closed first, and opened again (with
 * the same bytes) when it is needed; pinned files stay open past the cap. */
static void test_lru_order_and_pins(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct fdcache c;
    fdcache_init(&c, 2);
    struct segment *seg[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(segment_create(&c, dir, i * 100, &seg[i]), 0);
        int fd = fdcache_pin(seg[i]);
        assert_true(fd >= 0);
        char b = (char)('a' + i);
        assert_int_equal(file_pwrite_all(fd, &b, 1, 0), 0);
        fdcache_unpin(seg[i]);
    }
    size_t open, ev;
    fdcache_stats(&c, &open, &ev);
    assert_int_equal(open, 2);
    assert_int_equal(seg[0]->fd, -1); /* the oldest went */
    assert_true(seg[1]->fd >= 0 && seg[2]->fd >= 0);

    /* using 1 makes 2 the oldest: opening 0 again closes 2, not 1 */
    assert_true(fdcache_pin(seg[1]) >= 0);
    fdcache_unpin(seg[1]);
    int fd0 = fdcache_pin(seg[0]);
    assert_true(fd0 >= 0);
    char b = 0;
    assert_int_equal(file_pread_all(fd0, &b, 1, 0), 0);
    assert_int_equal(b, 'a');
    fdcache_stats(&c, &open, &ev);
    assert_int_equal(open, 2);
    assert_int_equal(seg[2]->fd, -1);

    /* 0, 1 and 2 pinned: three open over a cap of two, none closed */
    assert_true(fdcache_pin(seg[1]) >= 0);
    int fd2 = fdcache_pin(seg[2]);
    assert_true(fd2 >= 0);
    fdcache_stats(&c, &open, &ev);
    assert_int_equal(open, 3);
    assert_true(fcntl(fd0, F_GETFD) >= 0 && fcntl(seg[1]->fd, F_GETFD) >= 0);
    assert_int_equal(file_pread_all(fd2, &b, 1, 0), 0);
    assert_int_equal(b, 'c');
    fdcache_unpin(seg[0]);
    fdcache_unpin(seg[1]);
    fdcache_unpin(seg[2]);
    fdcache_stats(&c, &open, &ev);
    assert_int_equal(open, 2);
    /* freed while pinned (retention under a flush): the pin keeps the descriptor
     * open and the segment alive; the last unpin closes and frees both */
    int fd1 = fdcache_pin(seg[1]);
    segment_free(seg[1]);
    assert_true(fcntl(fd1, F_GETFD) >= 0);
    assert_int_equal(file_pread_all(fd1, &b, 1, 0), 0);
    assert_int_equal(b, 'b');
    fdcache_unpin(seg[1]);
    fdcache_stats(&c, &open, &ev);
    assert_int_equal(open, 1);
    segment_free(seg[0]);
    segment_free(seg[2]);
    fdcache_stats(&c, &open, &ev);
    assert_int_equal(open, 0);
    fdcache_destroy(&c);
    tu_rmrf(dir);
    free(dir);
}

/* A reader's slice is a descriptor of its own: closing the cached one (by reading
 * every other segment through a cache of 2) leaves it readable. */
static void test_slice_survives_eviction(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, 2);
    assert_int_equal(create_topic(s, "t", "internal.segment.bytes=1024", NULL), 0);
    struct store_partition *p = partition(s, "t");
    for (int i = 0; i < 200; i++)
        assert_int_equal(append_one(p, i, 1000), 0);
    struct store_slice first;
    assert_int_equal(store_partition_read(p, 0, 4096, &first), 0);
    read_back(p, 200); /* every segment in turn: segment 0's cached fd is closed */
    size_t open, ev;
    fdcache_stats(&s->fds, &open, &ev);
    assert_true(open <= 2);
    uint8_t buf[BATCH_HEADER_SIZE];
    assert_int_equal(file_pread_all(first.fd, buf, sizeof buf, first.pos), 0);
    struct batch_header h;
    assert_int_equal(batch_header_parse(buf, sizeof buf, &h), 0);
    assert_int_equal(h.base_offset, 0);
    store_slice_release(&first);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* With every descriptor of the process in use, appends (which roll, creating files)
 * and a topic creation still succeed: the store closes files it only caches. */
static void test_out_of_descriptors_evicts(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, 100000); /* the cache alone never closes */
    assert_int_equal(create_topic(s, "t", "internal.segment.bytes=1024", NULL), 0);
    struct store_partition *p = partition(s, "t");
    int i = 0;
    for (; i < 1500; i++)
        assert_int_equal(append_one(p, i, 1000), 0);
    size_t cached, ev;
    fdcache_stats(&s->fds, &cached, &ev);
    assert_true(cached > 100);

    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)open_fds() + 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int *fill = calloc(low.rlim_cur, sizeof *fill);
    size_t nfill = 0;
    int fd;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        fill[nfill++] = fd;
    assert_int_equal(errno, EMFILE);

    int rc = 0;
    for (int k = 0; k < 300 && !rc; k++, i++)
        rc = append_one(p, i, 1000);
    assert_int_equal(rc, 0);
    assert_int_equal(create_topic(s, "u", NULL), 0);
    assert_int_equal(append_one(partition(s, "u"), 0, 1000), 0);
    fdcache_stats(&s->fds, &cached, &ev);
    assert_true(ev > 0);
    /* a reader's own descriptor closes no cached file: it may be refused, and asked
     * again; with the fillers gone it reads everything (read_back below) */
    struct store_slice sl;
    rc = store_partition_read(p, 0, 4096, &sl);
    if (rc != -EMFILE)
        assert_int_equal(rc, 0);
    store_slice_release(&sl);

    for (size_t k = 0; k < nfill; k++)
        close(fill[k]);
    free(fill);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    read_back(p, i);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Kafka's floor: segment.bytes and log.segment.bytes at least 1 MiB; the internal
 * key for tests goes lower; a topic stored with a smaller segment.bytes by an
 * earlier version still loads, rolled at the floor. */
static void test_segment_bytes_floor(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, 0);
    assert_int_equal(create_topic(s, "a", "segment.bytes=1024", NULL), STORE_EINVALID_CONFIG);
    assert_int_equal(create_topic(s, "a", "segment.bytes=1048575", NULL), STORE_EINVALID_CONFIG);
    assert_int_equal(create_topic(s, "a", "internal.segment.bytes=1023", NULL),
                     STORE_EINVALID_CONFIG);
    assert_int_equal(create_topic(s, "a", "segment.bytes=1048576", NULL), 0);
    /* the internal key wins, in either order */
    assert_int_equal(
        create_topic(s, "b", "internal.segment.bytes=4096", "segment.bytes=2097152", NULL), 0);
    struct store_topic *t = store_topic_get(s, "b");
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    assert_int_equal(tc.segment_bytes, 4096);
    store_topic_put(t);
    store_close(s);

    /* a stored override below the floor, as an earlier version wrote it */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "sed -i 's/^segment.bytes=1048576$/segment.bytes=1024/' %s/.topics/*.properties", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "grep -qx 'segment.bytes=1024' %s/.topics/*.properties", dir);
    assert_int_equal(system(cmd), 0);
    s = open_store(dir, 0);
    t = store_topic_get(s, "a");
    assert_non_null(t);
    store_topic_config_get(t, &tc);
    assert_int_equal(tc.segment_bytes, 1 << 20);
    store_topic_put(t);
    store_close(s);

    struct store_config c;
    struct props *p = props_new();
    const char *bad = NULL;
    store_config_defaults(&c);
    props_set(p, "log.segment.bytes", "1048575");
    assert_int_equal(store_config_from_props(&c, p, &bad), STORE_EINVALID_CONFIG);
    assert_string_equal(bad, "log.segment.bytes");
    props_set(p, "log.segment.bytes", "1048576");
    props_set(p, "log.internal.segment.bytes", "2048");
    props_set(p, "log.max.open.files", "77");
    assert_int_equal(store_config_from_props(&c, p, &bad), 0);
    assert_int_equal(c.topic.segment_bytes, 2048);
    assert_int_equal(c.max_open_files, 77);
    props_set(p, "log.max.open.files", "-1");
    assert_int_equal(store_config_from_props(&c, p, &bad), STORE_EINVALID_CONFIG);
    props_free(p);
    tu_rmrf(dir);
    free(dir);
}

static void *no_memory(void *p, size_t n)
{
    (void)p, (void)n;
    return NULL;
}

/* A batch whose index entry finds no memory is still described by its segment: its
 * timestamp counts for time lookups (and retention), its creation time is set. */
static void test_note_batch_without_memory(void **state)
{
    (void)state;
    struct segment seg = {.base = 0, .fd = -1, .max_ts = -1, .created_ms = -1};
    segment_realloc = no_memory;
    int rc = segment_note_batch(&seg, 0, 0, 5000, 100, 4096);
    segment_realloc = realloc;
    assert_int_equal(rc, -ENOMEM);
    assert_int_equal(seg.max_ts, 5000);
    assert_true(seg.created_ms > 0);
    assert_int_equal(seg.n_idx, 0);

    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, 0);
    assert_int_equal(create_topic(s, "t", "index.interval.bytes=0", NULL), 0);
    struct store_partition *p = partition(s, "t");
    assert_int_equal(append_one(p, 0, 1000), 0);
    segment_realloc = no_memory; /* the second batch's index entries cannot be added */
    rc = append_one(p, 1, 9000);
    segment_realloc = realloc;
    assert_int_equal(rc, 0); /* in the log and the journal: the append stands */
    int64_t off, ts;
    assert_int_equal(store_partition_offset_for_time(p, 5000, &off, &ts), 0);
    assert_int_equal(off, 1);
    assert_int_equal(ts, 9000);
    read_back(p, 2);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static bool exists(const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* file.delete.delay.ms: segments removed by DeleteRecords (as by retention) are
 * renamed *.deleted and unlinked once the delay is past; a stop before then leaves
 * them to the next start, which unlinks them; a delay of 0 unlinks at once. */
static void test_file_delete_delay(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), pdir[4096];
    struct store *s = open_store(dir, 0);
    assert_int_equal(
        create_topic(s, "d", "internal.segment.bytes=1024", "file.delete.delay.ms=3600000", NULL),
        0);
    assert_int_equal(
        create_topic(s, "now", "internal.segment.bytes=1024", "file.delete.delay.ms=0", NULL), 0);
    struct store_partition *p = partition(s, "d"), *q = partition(s, "now");
    for (int i = 0; i < 80; i++) {
        assert_int_equal(append_one(p, i, 1000), 0);
        assert_int_equal(append_one(q, i, 1000), 0);
    }
    int64_t low;
    assert_true(store_partition_delete_records(p, 30, &low) == 0);
    assert_true(store_partition_delete_records(q, 30, &low) == 0);
    const char *first = "00000000000000000000.log";
    snprintf(pdir, sizeof pdir, "%s/d-0", dir);
    assert_false(exists(pdir, first));
    assert_true(exists(pdir, "00000000000000000000.log.deleted"));
    snprintf(pdir, sizeof pdir, "%s/now-0", dir);
    assert_false(exists(pdir, first));
    assert_false(exists(pdir, "00000000000000000000.log.deleted"));

    /* due: the maintenance pass unlinks them (called here with a later clock) */
    snprintf(pdir, sizeof pdir, "%s/d-0", dir);
    assert_int_equal(store_reap_retired(s, INT64_MAX - 1), INT64_MAX);
    assert_false(exists(pdir, "00000000000000000000.log.deleted"));

    /* not due when the store stops: the next start removes them */
    assert_true(store_partition_delete_records(p, 75, &low) == 0);
    int64_t next = store_reap_retired(s, clock_mono_ms());
    assert_true(next > clock_mono_ms() + 3500000);
    store_close(s);
    DIR *d = opendir(pdir);
    int left = 0;
    for (struct dirent *e; (e = readdir(d));)
        left += strstr(e->d_name, ".deleted") != NULL;
    closedir(d);
    assert_true(left > 0);
    s = open_store(dir, 0);
    d = opendir(pdir);
    for (struct dirent *e; (e = readdir(d));)
        assert_null(strstr(e->d_name, ".deleted"));
    closedir(d);
    assert_int_equal(store_partition_log_start(partition(s, "d")), low);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* segment.index.bytes: a segment is rolled once its offset index (8 bytes an entry)
 * or time index (12) is full, as Kafka's isFull - with an offset entry per batch
 * (index.interval.bytes=0), one timestamp (one time entry) and 24 bytes, every
 * segment holds three batches. */
static void test_segment_index_bytes(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = open_store(dir, 0);
    assert_int_equal(create_topic(s, "i", "segment.index.bytes=24", "index.interval.bytes=0", NULL),
                     0);
    struct store_partition *p = partition(s, "i");
    for (int i = 0; i < 10; i++)
        assert_int_equal(append_one(p, i, 1000), 0);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_int_equal(info.segments, 4);
    read_back(p, 10);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments_never_hold_more_than_the_cap),
        cmocka_unit_test(test_lru_order_and_pins),
        cmocka_unit_test(test_slice_survives_eviction),
        cmocka_unit_test(test_out_of_descriptors_evicts),
        cmocka_unit_test(test_segment_bytes_floor),
        cmocka_unit_test(test_note_batch_without_memory),
        cmocka_unit_test(test_file_delete_delay),
        cmocka_unit_test(test_segment_index_bytes),
    };
    return cmocka_run_group_tests_name("fdcache", tests, NULL, NULL);
}
