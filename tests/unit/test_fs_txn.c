/*
 * test_fs_txn.c - the mount's files are read_committed, over a real store: while
 * a transaction is open the topic and partition streams end before its first
 * batch (and everything appended after it in the topic file waits too); once it
 * aborts its bytes render as nothing and what followed appears at the positions
 * it always had; once it commits its records appear. A reader that has read to
 * some position never sees the bytes before it change. The records file (JSON)
 * shows committed records only.
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

#include "fs/store_private.h"
#include "lib/clock.h"
#include "lib/props.h"
#include "proto/record.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

#define PID 7000

/* Append one batch of values to partition q; transactional batches are PID's with
 * sequence *seq (advanced). */
static void append(struct store_topic *t, int q, bool txn, int32_t *seq, const char *const *v,
                   int n)
{
    struct batch_builder b;
    struct writer w;
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    writer_init(&w, 1 << 20);
    if (txn) {
        b.attributes = BATCH_ATTR_TRANSACTIONAL;
        b.producer_id = PID;
        b.producer_epoch = 0;
        b.base_sequence = *seq;
        *seq += n;
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(
            batch_builder_add(&b, clock_wall_ms(), NULL, -1, v[i], (int32_t)strlen(v[i]), NULL, 0),
            0);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    struct store_append res;
    assert_int_equal(store_partition_append(store_topic_partition(t, q), w.buf, w.len, &res), 0);
    batch_builder_release(&b);
    writer_release(&w);
}

static void end_txn(struct store_topic *t, int q, bool commit)
{
    int64_t off;
    assert_int_equal(store_partition_end_txn(store_topic_partition(t, q), PID, 0, commit, 0, &off),
                     0);
}

/* The whole stream from position from, read by st in small reads. */
static size_t read_from(struct fs_stream *st, int64_t from, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t k =
            fs_stream_read(st, from + (int64_t)n, (uint8_t *)out + n, cap - n < 5 ? cap - n : 5);
        assert_true(k >= 0);
        if (k == 0)
            break;
        n += (size_t)k;
    }
    out[n] = '\0';
    return n;
}

static void assert_fresh(struct store_topic *t, int32_t part, struct fs_jindex *jx,
                         const char *want)
{
    struct fs_stream st;
    char buf[512];
    fs_stream_init(&st, t, part, jx);
    read_from(&st, 0, buf, sizeof buf - 1);
    assert_string_equal(buf, want);
    fs_stream_release(&st);
}

struct env {
    char *dir;
    struct store *s;
    struct store_topic *t;
    struct fs_jindex jx;
};

static void env_open(struct env *e)
{
    struct store_config c;
    store_config_defaults(&c);
    e->dir = tu_mkdtemp();
    c.dir = e->dir;
    c.cleaner_enable = false;
    assert_int_equal(store_open(&c, &e->s), 0);
    struct props *p = props_new();
    assert_int_equal(store_topic_create(e->s, "tx", 2, p, NULL), 0);
    props_free(p);
    e->t = store_topic_get(e->s, "tx");
    fs_jindex_init(&e->jx);
}

static void env_close(struct env *e)
{
    fs_jindex_release(&e->jx);
    store_topic_put(e->t);
    store_close(e->s);
    tu_rmrf(e->dir);
    free(e->dir);
}

static void test_open_then_abort(void **state)
{
    struct env e;
    env_open(&e);
    int32_t seq = 0;
    const char *a0[] = {"a0"}, *a1[] = {"a1"}, *tx[] = {"t1-0", "t1-1"};
    append(e.t, 0, false, NULL, a0, 1);
    append(e.t, 1, true, &seq, tx, 2); /* open */
    append(e.t, 0, false, NULL, a1, 1);

    /* the topic file ends before the open batch; partition 0 has all of its own */
    assert_int_equal(fs_stream_size(e.t, -1), 3);
    assert_fresh(e.t, -1, &e.jx, "a0\n");
    assert_fresh(e.t, 0, &e.jx, "a0\na1\n");
    assert_fresh(e.t, 1, &e.jx, "");
    assert_int_equal(fs_stream_size(e.t, 1), 0);

    /* a reader at the end; a read far ahead finds nothing either */
    struct fs_stream st;
    char buf[512];
    fs_stream_init(&st, e.t, -1, &e.jx);
    assert_int_equal(read_from(&st, 0, buf, sizeof buf - 1), 3);
    assert_int_equal(fs_stream_read(&st, 8, (uint8_t *)buf, sizeof buf), 0);
    assert_true(fs_stream_at_end(&st, 3));

    end_txn(e.t, 1, false);
    /* the reader goes on from where it was: the aborted bytes never exist, a1 keeps
     * the position it had in the journal (3 + "t1-0\nt1-1\n") */
    assert_int_equal(read_from(&st, 3, buf, sizeof buf - 1), 3);
    assert_string_equal(buf, "a1\n");
    assert_int_equal(fs_stream_read(&st, 13, (uint8_t *)buf, 3), 3);
    assert_memory_equal(buf, "a1\n", 3);
    fs_stream_release(&st);
    assert_fresh(e.t, -1, &e.jx, "a0\na1\n");
    assert_fresh(e.t, 1, &e.jx, "");

    /* the next transaction of the same producer commits */
    const char *t2[] = {"t2-0"};
    append(e.t, 1, true, &seq, t2, 1);
    assert_fresh(e.t, -1, &e.jx, "a0\na1\n");
    end_txn(e.t, 1, true);
    assert_fresh(e.t, -1, &e.jx, "a0\na1\nt2-0\n");
    assert_fresh(e.t, 1, &e.jx, "t2-0\n");
    env_close(&e);
}

/* The records file: committed records only, markers and aborted data skipped,
 * nothing of an open transaction. */
static void test_records_committed(void **state)
{
    struct env e;
    env_open(&e);
    int32_t seq = 0;
    const char *ab[] = {"aborted"}, *ok[] = {"kept"}, *op[] = {"open"};
    struct store_partition *p = store_topic_partition(e.t, 1);
    append(e.t, 1, true, &seq, ab, 1);
    end_txn(e.t, 1, false);
    append(e.t, 1, true, &seq, ok, 1);
    end_txn(e.t, 1, true);
    append(e.t, 1, true, &seq, op, 1);
    struct fs_records r;
    char buf[4096];
    fs_records_init(&r, p);
    ssize_t n = fs_records_read(&r, 0, (uint8_t *)buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\"kept\""));
    assert_null(strstr(buf, "aborted"));
    assert_null(strstr(buf, "open"));
    assert_int_equal(strchr(buf, '\n') - buf + 1, n); /* one line */
    fs_records_release(&r);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_then_abort),
        cmocka_unit_test(test_records_committed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
