/*
 * test_groups.c - broker/h_groups.c and broker/h_offsets.c without a network: the keys of
 * committed offsets, the group configuration keys, offsets read back at start, and
 * offsets retention with its tombstones.
 *
 * Each test opens a store in a fresh directory and the group coordinator on it
 * (groups_open), commits through the console's reset path (groups_reset_offsets,
 * the one entry that needs no request), closes and reopens to read the offsets
 * back, and calls offsets_expire() with a clock of its choosing, so nothing here
 * waits for the retention to pass.
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

#include "broker/config.h"
#include "broker/group.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "tests/unit/grouputil.h"
#include "tests/unit/testutil.h"

/* A coordinator on a store in dir, configured by "key=value" overrides. */
struct fixture {
    char *dir;
    struct broker_config cfg;
    struct broker b;
};

static void fixture_open(struct fixture *f, const char *override)
{
    const char *err = NULL;
    if (gu_config_parse(&f->cfg, f->dir, override, &err))
        fail_msg("config: %s", err ? err : "?");
    f->cfg.store.cleaner_enable = false;
    memset(&f->b, 0, sizeof f->b);
    f->b.cfg = &f->cfg;
    int rc = store_open(&f->cfg.store, &f->b.store);
    if (rc)
        fail_msg("store_open: %s", store_strerror(rc));
    assert_int_equal(groups_open(&f->b), 0);
}

static void fixture_close(struct fixture *f)
{
    groups_close(&f->b);
    store_close(f->b.store);
    broker_config_release(&f->cfg);
}

static int commits_done;

static void count_done(void *arg, int rc)
{
    (void)arg;
    assert_int_equal(rc, 0);
    __atomic_add_fetch(&commits_done, 1, __ATOMIC_SEQ_CST);
}

static void commit(struct fixture *f, const char *group, const char *topic, int32_t part,
                   int64_t offset)
{
    /* 1: durable already, 0: count_done will say so */
    assert_in_range(groups_reset_offsets(&f->b, group, topic, &part, &offset, 1, count_done, NULL),
                    0, 1);
}

static void count_group(void *arg, const struct group_info *g)
{
    (void)g;
    ++*(int *)arg;
}

static int group_count(struct fixture *f)
{
    int n = 0;
    groups_foreach(&f->b, count_group, &n);
    return n;
}

/* ---- tests ---- */

static void test_offset_key_any_length(void **state)
{
    (void)state;
    size_t lens[] = {1, 249, 256, 1500, 32767};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *topic = malloc(lens[i] + 1);
        assert_non_null(topic);
        memset(topic, 't', lens[i]);
        topic[lens[i]] = 0;
        struct offset_key k;
        offset_key_init(&k, topic, lens[i], 7 + (int32_t)i);
        assert_int_equal(k.len, lens[i] + 5);
        assert_string_equal(k.p, topic); /* the topic reads as a C string */
        assert_int_equal(offset_key_partition(k.p, k.len), 7 + (int32_t)i);
        offset_key_release(&k);
        free(topic);
    }
}

static void test_config_keys(void **state)
{
    (void)state;
    struct fixture f = {.dir = tu_mkdtemp()};
    fixture_open(&f, NULL);
    assert_int_equal(f.cfg.offset_metadata_max, 4096);
    assert_int_equal(f.cfg.offsets_retention_ms, 10080LL * 60000);
    assert_int_equal(f.cfg.offsets_check_ms, 600000);
    assert_int_equal(f.cfg.groups_max, 100000);
    fixture_close(&f);
    const char *bad[] = {"offsets.retention.minutes=0", "brook.groups.max=0",
                         "offset.metadata.max.bytes=-1", "offsets.retention.check.interval.ms=0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct broker_config c;
        const char *err = NULL;
        assert_int_not_equal(gu_config_parse(&c, f.dir, bad[i], &err), 0);
        assert_non_null(err);
        broker_config_release(&c);
    }
    tu_rmrf(f.dir);
    free(f.dir);
}

/* Many groups are read back whole, each with its own offsets. */
static void test_reload_many_groups(void **state)
{
    (void)state;
    struct fixture f = {.dir = tu_mkdtemp()};
    enum { N = 20000 };
    fixture_open(&f, NULL);
    char id[64];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "group-%05d", i);
        commit(&f, id, "orders", i % 3, i);
    }
    fixture_close(&f);
    fixture_open(&f, NULL);
    assert_int_equal(group_count(&f), N);
    for (int i = 0; i < N; i += 997) {
        snprintf(id, sizeof id, "group-%05d", i);
        assert_int_equal(groups_committed(&f.b, id, "orders", i % 3), i);
        assert_int_equal(groups_committed(&f.b, id, "orders", (i + 1) % 3), -1);
    }
    fixture_close(&f);
    tu_rmrf(f.dir);
    free(f.dir);
}

/* Offsets of Empty groups expire with tombstones, their groups go, and a restart
 * reads the tombstones back; younger offsets stay. */
static void test_retention(void **state)
{
    (void)state;
    struct fixture f = {.dir = tu_mkdtemp()};
    const char *one_minute = "offsets.retention.minutes=1";
    fixture_open(&f, one_minute);
    commit(&f, "old", "orders", 0, 10);
    commit(&f, "old", "orders", 1, 11);
    int64_t now = clock_wall_ms();
    offsets_expire(&f.b, now); /* nothing is a minute old yet */
    assert_int_equal(groups_committed(&f.b, "old", "orders", 1), 11);
    offsets_expire(&f.b, now + 61000);
    assert_int_equal(groups_committed(&f.b, "old", "orders", 0), -1);
    assert_int_equal(groups_committed(&f.b, "old", "orders", 1), -1);
    assert_int_equal(group_count(&f), 0);
    commit(&f, "young", "orders", 0, 5);
    fixture_close(&f);
    fixture_open(&f, one_minute);
    assert_int_equal(groups_committed(&f.b, "old", "orders", 0), -1);
    assert_int_equal(groups_committed(&f.b, "young", "orders", 0), 5);
    assert_int_equal(group_count(&f), 1);
    fixture_close(&f);
    tu_rmrf(f.dir);
    free(f.dir);
}

/* brook.groups.max stops new groups, not those already there. */
static void test_group_cap(void **state)
{
    (void)state;
    struct fixture f = {.dir = tu_mkdtemp()};
    const char *two = "brook.groups.max=2";
    fixture_open(&f, two);
    commit(&f, "a", "orders", 0, 1);
    commit(&f, "b", "orders", 0, 1);
    int32_t part = 0;
    int64_t off = 1;
    assert_int_equal(groups_reset_offsets(&f.b, "c", "orders", &part, &off, 1, count_done, NULL),
                     -ENOSPC);
    commit(&f, "a", "orders", 1, 2); /* an existing group still commits */
    assert_int_equal(group_count(&f), 2);
    fixture_close(&f);
    tu_rmrf(f.dir);
    free(f.dir);
}

int main(void)
{
    log_set_level(LOG_WARN); /* a line per reset otherwise */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_key_any_length),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_reload_many_groups),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_group_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
