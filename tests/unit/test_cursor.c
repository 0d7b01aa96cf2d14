/*
 * test_cursor.c - store/cursor.c, the one walk over a partition's batches: it
 * crosses segments in offset order, keeps one buffer (grown only for a run longer
 * than any before, as for a batch larger than a read), follows the log start when
 * it moves under the walk (or says -ERANGE when strict), stops at the high
 * watermark or the caller's end, and reports a batch that does not frame as
 * -EBADMSG without looping on it.
 *
 * Every test works in its own mkdtemp directory, on a topic whose segments roll
 * every KiB (internal.segment.bytes) so that a few dozen batches make many segments.
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

#define BATCHES 60 /* batches of RECORDS records each */
#define RECORDS 5

struct fixture {
    char *dir;
    struct store *s;
    struct store_topic *t;
    struct store_partition *p;
};

static void fixture_close(struct fixture *f)
{
    store_topic_put(f->t);
    store_close(f->s);
}

/* A topic "t" of one partition with BATCHES small batches over many segments. */
static int setup(void **state)
{
    struct fixture *f = tu_xmalloc(sizeof *f);
    f->dir = tu_mkdtemp();
    f->s = tu_store_open(f->dir, -1);
    tu_topic_create(f->s, "t", 1, "internal.segment.bytes=1024", NULL);
    f->t = store_topic_get(f->s, "t");
    f->p = store_topic_partition(f->t, 0);
    for (int i = 0; i < BATCHES; i++)
        tu_append(f->p, RECORDS, "k", "value", i * RECORDS, 1000 + i);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fixture_close(f);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Walk to the end; returns the batches seen and checks they follow each other. */
static int walk_all(struct store_cursor *c, int64_t *last)
{
    struct store_batch b;
    int n = 0, rc;
    while ((rc = store_cursor_next(c, &b)) == 1) {
        if (n)
            assert_int_equal(b.base_offset, *last + 1);
        assert_int_equal(batch_validate(b.data, b.len, NULL, false, NULL, NULL), 0);
        *last = b.last_offset;
        n++;
    }
    assert_int_equal(rc, 0);
    return n;
}

static void test_walk_across_segments(void **state)
{
    struct fixture *f = *state;
    struct store_partition_info info;
    store_partition_info(f->p, &info);
    assert_true(info.segments > 5);
    struct store_cursor c;
    store_cursor_open(&c, f->p, 0, 0);
    int64_t last = -1;
    assert_int_equal(walk_all(&c, &last), BATCHES);
    assert_int_equal(last + 1, store_partition_high_watermark(f->p));
    /* at the high watermark the walk stays ended */
    struct store_batch b;
    assert_int_equal(store_cursor_next(&c, &b), 0);
    store_cursor_close(&c);

    /* from the middle of a batch: the walk starts at the batch that holds it */
    store_cursor_open(&c, f->p, 7, 0);
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.base_offset, 5);
    assert_int_equal(b.last_offset, 9);
    store_cursor_close(&c);
}

static void test_buffer_reused(void **state)
{
    struct fixture *f = *state;
    struct store_cursor c;
    store_cursor_open(&c, f->p, 0, 0);
    store_cursor_limit(&c, INT64_MAX, 300); /* a few batches per read */
    struct store_batch b;
    int n = 0, grown = 0, rc;
    size_t cap = 0;
    while ((rc = store_cursor_next(&c, &b)) == 1) {
        assert_true(b.data >= c.buf && b.data + b.len <= c.buf + c.cap);
        if (c.cap != cap)
            grown++;
        cap = c.cap;
        assert_true(c.cap <= 300);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, BATCHES);
    /* runs of a few batches each, yet the buffer was allocated only as runs grew:
     * every batch is the same size, so at most a couple of times */
    assert_true(grown >= 1 && grown <= 3);
    store_cursor_close(&c);
    assert_null(c.buf);
}

static void test_log_start_moves_mid_walk(void **state)
{
    struct fixture *f = *state;
    struct store_cursor c, strict;
    store_cursor_open(&c, f->p, 0, 0);
    store_cursor_open(&strict, f->p, 0, STORE_CURSOR_STRICT);
    store_cursor_limit(&c, INT64_MAX, 200);
    store_cursor_limit(&strict, INT64_MAX, 200);
    struct store_batch b;
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.base_offset, 0);
    assert_int_equal(store_cursor_next(&strict, &b), 1);

    int64_t low;
    assert_int_equal(store_partition_delete_records(f->p, 152, &low), 0);
    assert_int_equal(low, 152);
    assert_true(c.next < low);

    /* what the cursor read stays readable; the next read starts at the log start,
     * in the batch that holds it, and records below it are outside the walk */
    int64_t last = b.last_offset;
    int rc, jumped = 0;
    while ((rc = store_cursor_next(&c, &b)) == 1) {
        if (b.base_offset != last + 1) {
            assert_int_equal(b.base_offset, 150);
            assert_int_equal(c.from, 152);
            jumped++;
        }
        last = b.last_offset;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(jumped, 1);
    assert_int_equal(last + 1, store_partition_high_watermark(f->p));

    /* strict: once past what it has read, the walk says the batches are gone */
    while ((rc = store_cursor_next(&strict, &b)) == 1)
        assert_true(b.last_offset < 152);
    assert_int_equal(rc, -ERANGE);
    store_cursor_close(&c);
    store_cursor_close(&strict);

    /* a walk that starts below the log start begins there */
    store_cursor_open(&c, f->p, 3, 0);
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.base_offset, 150);
    assert_int_equal(c.from, 152);
    store_cursor_close(&c);
    store_cursor_open(&c, f->p, 3, STORE_CURSOR_STRICT);
    assert_int_equal(store_cursor_next(&c, &b), -ERANGE);
    store_cursor_close(&c);
}

static void test_batch_larger_than_a_read(void **state)
{
    struct fixture *f = *state;
    size_t big = 20000;
    char *value = tu_xmalloc(big + 1);
    memset(value, 'v', big);
    value[big] = 0;
    int64_t off = tu_append_kv(f->p, "big", value, 5000);
    free(value);
    tu_append(f->p, RECORDS, "k", "after", 0, 5001);

    struct store_cursor c;
    store_cursor_open(&c, f->p, off - 1, 0);
    store_cursor_limit(&c, INT64_MAX, 1024);
    struct store_batch b;
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.last_offset, off - 1);
    assert_true(c.cap <= 1024);
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.base_offset, off);
    assert_true(b.len > big && c.cap >= b.len);
    assert_int_equal(batch_validate(b.data, b.len, NULL, false, NULL, NULL), 0);
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.base_offset, off + 1);
    assert_int_equal(store_cursor_next(&c, &b), 0);
    store_cursor_close(&c);
}

static void test_end_bound(void **state)
{
    struct fixture *f = *state;
    struct store_cursor c;
    store_cursor_open(&c, f->p, 0, 0);
    store_cursor_limit(&c, 20, 0);
    struct store_batch b;
    int64_t bases[8];
    int n = 0, rc;
    while ((rc = store_cursor_next(&c, &b)) == 1 && n < 8)
        bases[n++] = b.base_offset;
    assert_int_equal(rc, 0);
    assert_int_equal(n, 4);
    assert_int_equal(bases[3], 15);
    assert_int_equal(store_cursor_next(&c, &b), 0);
    store_cursor_close(&c);

    /* a bound inside a batch still hands that batch out: its records are the
     * caller's to cut */
    store_cursor_open(&c, f->p, 0, 0);
    store_cursor_limit(&c, 12, 0);
    for (n = 0; (rc = store_cursor_next(&c, &b)) == 1;)
        n++;
    assert_int_equal(rc, 0);
    assert_int_equal(n, 3);
    store_cursor_close(&c);

    /* at the high watermark the walk is empty; past it, out of range */
    int64_t hw = store_partition_high_watermark(f->p);
    store_cursor_open(&c, f->p, hw, 0);
    assert_int_equal(store_cursor_next(&c, &b), 0);
    store_cursor_seek(&c, f->p, hw + 5);
    assert_int_equal(store_cursor_next(&c, &b), -ERANGE);
    store_cursor_close(&c);
}

/* Overwrite the batchLength of the batch at file position pos with len. */
static void damage_length(const char *path, int64_t pos, uint32_t len)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t be[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    assert_int_equal(file_pwrite_all(fd, be, sizeof be, pos + 8), 0);
    close(fd);
}

static void test_damaged_batch(void **state)
{
    struct fixture *f = *state;
    /* damage the length of the first segment's second batch under the running
     * store (as a failing disk would), so that it no longer frames */
    struct store_segment_info *segs;
    size_t nsegs;
    assert_int_equal(store_partition_segments(f->p, &segs, &nsegs), 0);
    assert_true(nsegs > 2 && segs[0].next_offset >= 10);
    int64_t second_base = segs[1].base;
    free(segs);
    char path[4096];
    tu_path(path, sizeof path, f->dir, "t-0/00000000000000000000.log");
    uint8_t head[12];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(file_pread_all(fd, head, sizeof head, 0), 0);
    close(fd);
    int64_t first_len =
        BATCH_LOG_OVERHEAD + (int64_t)((uint32_t)head[8] << 24 | (uint32_t)head[9] << 16 |
                                       (uint32_t)head[10] << 8 | head[11]);
    damage_length(path, first_len, 0x7fffff00u);

    struct store_cursor c;
    store_cursor_open(&c, f->p, 0, 0);
    struct store_batch b;
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.base_offset, 0);
    assert_int_equal(store_cursor_next(&c, &b), -EBADMSG);
    /* the walk goes on after the damaged run: at the next segment */
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.base_offset, second_base);
    store_cursor_close(&c);

    /* a walk that starts at the damaged batch finds the damage where its read
     * would start, and ends there instead of asking again and again */
    store_cursor_open(&c, f->p, 5, 0);
    assert_int_equal(store_cursor_next(&c, &b), -EBADMSG);
    assert_int_equal(store_cursor_next(&c, &b), 0);
    store_cursor_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_walk_across_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_start_moves_mid_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_larger_than_a_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
