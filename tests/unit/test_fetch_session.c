/*
 * test_fetch_session.c - broker/fetch_session.c's cache without sockets.
 *
 * Each test builds a cache with a small slot count and drives it with a fake
 * clock (a number passed to every call), so eviction of idle sessions is tested
 * without waiting. Partitions are named by topic name (a session of Fetch v7-12)
 * unless a test says otherwise; what a test checks is what h_fetch.c relies on:
 * lookups and their errors, the answer order, Kafka's rule for which partitions an
 * incremental answer carries, and every bound.
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

#include "broker/private.h"

static const uint8_t no_id[16];

static struct fetch_session *new_session(struct fetch_sessions *c, uint64_t owner, int parts,
                                         int64_t now)
{
    struct fetch_session *s;
    assert_int_equal(fetch_sessions_create(c, owner, false, parts, now, &s), 0);
    for (int i = 0; i < parts; i++)
        assert_int_equal(fetch_session_set(c, s, no_id, KSTR("t"), i, 0, 1024), 0);
    return s;
}

/* The partitions of s in answer order, as "topic:partition" joined by spaces. */
static const char *order(const struct fetch_session *s)
{
    static char buf[512];
    size_t n = 0;
    buf[0] = 0;
    for (int32_t i = s->head; i >= 0; i = s->parts[i].next)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s:%d", n ? " " : "",
                              s->topics[s->parts[i].topic].name, s->parts[i].partition);
    return buf;
}

static void test_find_errors(void **state)
{
    (void)state;
    struct fetch_sessions c;
    fetch_sessions_init(&c, 10, 1 << 20, 1);
    struct fetch_session *s = new_session(&c, 1, 2, 0), *got;
    assert_int_not_equal(s->id, 0);
    assert_int_equal(fetch_sessions_find(&c, s->id, 1, false, 0, &got), KAFKA_NONE);
    assert_ptr_equal(got, s);
    assert_int_equal(fetch_sessions_find(&c, s->id, 2, false, 0, &got),
                     KAFKA_INVALID_FETCH_SESSION_EPOCH);
    assert_int_equal(fetch_sessions_find(&c, s->id + 1, 1, false, 0, &got),
                     KAFKA_FETCH_SESSION_ID_NOT_FOUND);
    assert_int_equal(fetch_sessions_find(&c, s->id, 1, true, 0, &got),
                     KAFKA_FETCH_SESSION_TOPIC_ID_ERROR);
    fetch_session_next_epoch(s);
    assert_int_equal(fetch_sessions_find(&c, s->id, 2, false, 0, &got), KAFKA_NONE);
    s->epoch = INT32_MAX;
    fetch_session_next_epoch(s);
    assert_int_equal(s->epoch, 1); /* wraps to 1: 0 and -1 mean full fetches */
    int32_t id = s->id;
    fetch_sessions_remove(&c, id);
    assert_int_equal(fetch_sessions_find(&c, id, 1, false, 0, &got),
                     KAFKA_FETCH_SESSION_ID_NOT_FOUND);
    assert_int_equal(c.bytes, 0);
    fetch_sessions_release(&c);
}

static void test_order_and_forget(void **state)
{
    (void)state;
    struct fetch_sessions c;
    fetch_sessions_init(&c, 10, 1 << 20, 2);
    struct fetch_session *s;
    assert_int_equal(fetch_sessions_create(&c, 1, false, 4, 0, &s), 0);
    assert_int_equal(fetch_session_set(&c, s, no_id, KSTR("a"), 0, 5, 100), 0);
    assert_int_equal(fetch_session_set(&c, s, no_id, KSTR("b"), 0, 6, 100), 0);
    assert_int_equal(fetch_session_set(&c, s, no_id, KSTR("a"), 1, 7, 100), 0);
    assert_int_equal(fetch_session_set(&c, s, no_id, KSTR("b"), 1, 8, 100), 0);
    assert_string_equal(order(s), "a:0 b:0 a:1 b:1");
    /* an update keeps the place and changes the offset */
    assert_int_equal(fetch_session_set(&c, s, no_id, KSTR("b"), 0, 60, 200), 0);
    int32_t i = fetch_session_part_find(s, fetch_session_topic_find(s, no_id, KSTR("b")), 0);
    assert_int_equal(s->parts[i].fetch_offset, 60);
    assert_int_equal(s->parts[i].max_bytes, 200);
    assert_int_equal(s->n_parts, 4);
    fetch_session_move_last(s, i);
    assert_string_equal(order(s), "a:0 a:1 b:1 b:0");
    fetch_session_forget(&c, s, no_id, KSTR("a"), 0);  /* the first: the last takes its slot */
    fetch_session_forget(&c, s, no_id, KSTR("zz"), 3); /* unknown: ignored */
    assert_string_equal(order(s), "a:1 b:1 b:0");
    assert_int_equal(s->n_parts, 3);
    for (int k = 0; k < s->n_parts; k++) /* every partition is still found where it is */
        assert_int_equal(fetch_session_part_find(s, s->parts[k].topic, s->parts[k].partition), k);
    fetch_session_forget(&c, s, no_id, KSTR("b"), 0);
    fetch_session_forget(&c, s, no_id, KSTR("b"), 1);
    fetch_session_forget(&c, s, no_id, KSTR("a"), 1);
    assert_int_equal(s->n_parts, 0);
    assert_int_equal(s->head, -1);
    fetch_sessions_release(&c);
    assert_int_equal(c.n, 0);
}

static void test_by_id(void **state)
{
    (void)state;
    struct fetch_sessions c;
    fetch_sessions_init(&c, 10, 1 << 20, 3);
    struct fetch_session *s;
    uint8_t a[16], b[16];
    memset(a, 0xaa, sizeof a);
    memset(b, 0xbb, sizeof b);
    assert_int_equal(fetch_sessions_create(&c, 1, true, 2, 0, &s), 0);
    assert_int_equal(fetch_session_set(&c, s, a, KSTR_NULL, 0, 1, 10), 0);
    assert_int_equal(fetch_session_set(&c, s, b, KSTR_NULL, 0, 2, 10), 0);
    assert_int_equal(fetch_session_set(&c, s, a, KSTR_NULL, 0, 3, 10), 0);
    assert_int_equal(s->n_parts, 2);
    assert_int_equal(s->n_topics, 2);
    assert_null(s->topics[0].name);
    assert_int_equal(
        s->parts[fetch_session_part_find(s, fetch_session_topic_find(s, a, KSTR_NULL), 0)]
            .fetch_offset,
        3);
    fetch_sessions_release(&c);
}

/* Kafka's rule: records, an error, or a changed high watermark or log start. */
static void test_changed_rule(void **state)
{
    (void)state;
    struct fetch_session_part p = {.high_watermark = -1, .log_start = -1};
    assert_true(fetch_session_part_changed(&p, KAFKA_NONE, 10, 0, false)); /* first answer */
    assert_false(fetch_session_part_changed(&p, KAFKA_NONE, 10, 0, false));
    assert_true(fetch_session_part_changed(&p, KAFKA_NONE, 10, 0, true)); /* records */
    assert_true(fetch_session_part_changed(&p, KAFKA_NONE, 11, 0, false));
    assert_false(fetch_session_part_changed(&p, KAFKA_NONE, 11, 0, false));
    assert_true(fetch_session_part_changed(&p, KAFKA_NONE, 11, 5, false)); /* log start */
    assert_true(fetch_session_part_changed(&p, KAFKA_OFFSET_OUT_OF_RANGE, 11, 5, false));
    assert_true(fetch_session_part_changed(&p, KAFKA_OFFSET_OUT_OF_RANGE, 11, 5, false));
    /* once the error is gone the partition is answered again, same watermark or not */
    assert_true(fetch_session_part_changed(&p, KAFKA_NONE, 11, 5, false));
    assert_false(fetch_session_part_changed(&p, KAFKA_NONE, 11, 5, false));
}

static void test_slots_and_eviction(void **state)
{
    (void)state;
    struct fetch_sessions c;
    fetch_sessions_init(&c, 3, 1 << 20, 4);
    int64_t now = 1000;
    struct fetch_session *s1 = new_session(&c, 1, 1, now);
    struct fetch_session *s2 = new_session(&c, 2, 2, now);
    struct fetch_session *s3 = new_session(&c, 3, 3, now);
    int32_t id1 = s1->id, id2 = s2->id;
    struct fetch_session *got, *s;
    /* full: a session no larger than the smallest is not created */
    assert_int_equal(fetch_sessions_create(&c, 4, false, 1, now, &s), -ENOSPC);
    assert_int_equal(c.n, 3);
    /* a larger one evicts the smallest */
    assert_int_equal(fetch_sessions_create(&c, 4, false, 2, now, &s), 0);
    assert_int_equal(fetch_sessions_find(&c, id1, 1, false, now, &got),
                     KAFKA_FETCH_SESSION_ID_NOT_FOUND);
    assert_int_equal(c.n, 3);
    /* a session idle past the eviction time goes first, whatever its size */
    now += FETCH_SESSION_EVICT_MS / 2;
    assert_int_equal(fetch_sessions_find(&c, s3->id, 1, false, now, &got), KAFKA_NONE);
    assert_int_equal(fetch_sessions_find(&c, s->id, 1, false, now, &got), KAFKA_NONE);
    now += FETCH_SESSION_EVICT_MS / 2 + 1;
    assert_int_equal(fetch_sessions_create(&c, 5, false, 1, now, &s), 0);
    assert_int_equal(fetch_sessions_find(&c, id2, 1, false, now, &got),
                     KAFKA_FETCH_SESSION_ID_NOT_FOUND);
    assert_int_equal(c.n, 3);
    fetch_sessions_release(&c);
    /* no slots: no sessions */
    fetch_sessions_init(&c, 0, 1 << 20, 5);
    assert_int_equal(fetch_sessions_create(&c, 1, false, 1, 0, &s), -ENOSPC);
    fetch_sessions_release(&c);
}

static void test_per_owner(void **state)
{
    (void)state;
    struct fetch_sessions c;
    fetch_sessions_init(&c, 1000, 1 << 20, 6);
    int32_t first = new_session(&c, 7, 1, 0)->id;
    for (int i = 1; i < FETCH_SESSIONS_PER_OWNER + 5; i++)
        new_session(&c, 7, 1, i);
    new_session(&c, 8, 1, 100);
    assert_int_equal(c.n, FETCH_SESSIONS_PER_OWNER + 1);
    struct fetch_session *got;
    assert_int_equal(fetch_sessions_find(&c, first, 1, false, 200, &got),
                     KAFKA_FETCH_SESSION_ID_NOT_FOUND);
    fetch_sessions_release(&c);
}

static void test_size_bounds(void **state)
{
    (void)state;
    struct fetch_sessions c;
    fetch_sessions_init(&c, 10, 64 << 20, 7);
    struct fetch_session *s;
    assert_int_equal(fetch_sessions_create(&c, 1, false, FETCH_SESSION_MAX_PARTS + 1, 0, &s),
                     -ENOSPC);
    assert_int_equal(fetch_sessions_create(&c, 1, false, 1, 0, &s), 0);
    int rc = 0;
    for (int i = 0; i <= FETCH_SESSION_MAX_PARTS && !rc; i++)
        rc = fetch_session_set(&c, s, no_id, KSTR("t"), i, 0, 1);
    assert_int_equal(rc, -E2BIG);
    assert_int_equal(s->n_parts, FETCH_SESSION_MAX_PARTS);
    fetch_sessions_release(&c);
    /* the byte bound: a cache of 64 KiB takes only small sessions */
    fetch_sessions_init(&c, 10, 64 << 10, 8);
    assert_int_equal(fetch_sessions_create(&c, 1, false, 4000, 0, &s), -ENOSPC);
    assert_int_equal(fetch_sessions_create(&c, 1, false, 10, 0, &s), 0);
    rc = 0;
    for (int i = 0; i < 4000 && !rc; i++)
        rc = fetch_session_set(&c, s, no_id, KSTR("t"), i, 0, 1);
    assert_int_equal(rc, -E2BIG);
    assert_true(c.bytes < (64 << 10) * 2);
    fetch_sessions_release(&c);
}

/* Adding and forgetting ever new topics keeps a session's topic table small. */
static void test_topics_do_not_pile_up(void **state)
{
    (void)state;
    struct fetch_sessions c;
    fetch_sessions_init(&c, 10, 64 << 20, 9);
    struct fetch_session *s;
    assert_int_equal(fetch_sessions_create(&c, 1, false, 1, 0, &s), 0);
    char name[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "topic-%d", i);
        assert_int_equal(fetch_session_set(&c, s, no_id, kstr_from(name), 0, 0, 1), 0);
        fetch_session_forget(&c, s, no_id, kstr_from(name), 0);
    }
    assert_true(s->n_topics <= 65);
    assert_true(c.bytes < 64 << 10);
    fetch_sessions_release(&c);
}

/* A session a parked fetch holds outlives its eviction (ASan sees a use after free). */
static void test_held_session_survives_eviction(void **state)
{
    (void)state;
    struct fetch_sessions c;
    fetch_sessions_init(&c, 1, 1 << 20, 10);
    struct fetch_session *s = new_session(&c, 1, 1, 0), *t;
    s->refs++;
    assert_int_equal(fetch_sessions_create(&c, 2, false, 5, 0, &t), 0); /* evicts s */
    assert_false(s->cached);
    assert_int_equal(s->parts[0].partition, 0);
    fetch_session_put(s);
    fetch_sessions_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_errors),
        cmocka_unit_test(test_order_and_forget),
        cmocka_unit_test(test_by_id),
        cmocka_unit_test(test_changed_rule),
        cmocka_unit_test(test_slots_and_eviction),
        cmocka_unit_test(test_per_owner),
        cmocka_unit_test(test_size_bounds),
        cmocka_unit_test(test_topics_do_not_pile_up),
        cmocka_unit_test(test_held_session_survives_eviction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
