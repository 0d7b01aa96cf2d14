/*
 * test_offsets.c - who may commit, fetch and delete offsets (broker/h_offsets.c),
 * without a network: the classic rules, and the seam through which a consumer
 * group (KIP-848) judges its own members (broker/offsets.h).
 *
 * Each test opens a store in a fresh directory and the group coordinator on it,
 * makes groups through the console's reset path (groups_reset_offsets), and asks
 * the checks each OffsetCommit, OffsetFetch and OffsetDelete starts with. The
 * consumer groups are played by a fake that owns the ids starting with "cg" and
 * records what it was asked.
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
#include "broker/offsets.h"
#include "lib/log.h"
#include "tests/unit/grouputil.h"
#include "tests/unit/testutil.h"

struct fixture {
    char *dir;
    struct broker_config cfg;
    struct broker b;
};

static void fixture_open(struct fixture *f)
{
    const char *err = NULL;
    f->dir = tu_mkdtemp();
    if (gu_config_parse(&f->cfg, f->dir, NULL, &err))
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
    tu_rmrf(f->dir);
    free(f->dir);
}

static void ignore_done(void *arg, int rc)
{
    (void)arg;
    assert_int_equal(rc, 0);
}

/* An Empty group with one committed offset. */
static void make_group(struct fixture *f, const char *id)
{
    int32_t part = 0;
    int64_t off = 1;
    assert_in_range(groups_reset_offsets(&f->b, id, "orders", &part, &off, 1, ignore_done, NULL), 0,
                    1);
}

static int16_t commit(struct fixture *f, const char *group, int32_t gen, const char *member,
                      int16_t version, bool *create)
{
    struct kafka_offset_commit_req req = {.group_id = kstr_from(group),
                                          .generation_id_or_member_epoch = gen,
                                          .member_id = kstr_from(member),
                                          .group_instance_id = KSTR_NULL};
    return offsets_commit_check(&f->b, &req, version, create);
}

static int16_t fetch(struct fixture *f, const char *group, const char *member, int32_t epoch)
{
    struct kafka_offset_fetch_req_group rg = {.group_id = kstr_from(group),
                                              .member_id = member ? kstr_from(member) : KSTR_NULL,
                                              .member_epoch = epoch,
                                              .n_topics = -1};
    return offsets_fetch_check(&f->b, &rg, 9);
}

/* ---- the fake consumer-group coordinator ---- */

static struct offsets_member asked; /* the last member a check was asked about */
static int asked_count;

static bool fake_owns(struct broker *b, struct kstr id)
{
    (void)b;
    return id.len >= 2 && !memcmp(id.p, "cg", 2);
}

/* Member "m1" at epoch 7 commits with v9; an older epoch is stale, v8 too old. */
static int16_t fake_commit(struct broker *b, struct kstr id, const struct offsets_member *m)
{
    (void)b;
    (void)id;
    asked = *m;
    asked_count++;
    if (!kstr_eq(m->member_id, "m1"))
        return KAFKA_UNKNOWN_MEMBER_ID;
    if (m->version < 9)
        return KAFKA_UNSUPPORTED_VERSION;
    return m->epoch == 7 ? KAFKA_NONE : KAFKA_STALE_MEMBER_EPOCH;
}

static int16_t fake_fetch(struct broker *b, struct kstr id, const struct offsets_member *m)
{
    (void)b;
    (void)id;
    asked = *m;
    asked_count++;
    if (kstr_is_null(m->member_id))
        return KAFKA_NONE; /* an admin's fetch */
    if (!kstr_eq(m->member_id, "m1"))
        return KAFKA_UNKNOWN_MEMBER_ID;
    return m->epoch == 7 ? KAFKA_NONE : KAFKA_STALE_MEMBER_EPOCH;
}

static bool fake_subscribed(struct broker *b, struct kstr id, struct kstr topic)
{
    (void)b;
    (void)id;
    return kstr_eq(topic, "orders");
}

static const struct offsets_consumer_ops fake_ops = {fake_owns, fake_commit, fake_fetch,
                                                     fake_subscribed};

/* ---- tests ---- */

/* Without a consumer-group coordinator every group is classic, as Kafka judges it. */
static void test_classic_rules(void **state)
{
    (void)state;
    struct fixture f;
    fixture_open(&f);
    bool create;
    assert_int_equal(commit(&f, "new", -1, "", 2, &create), KAFKA_NONE);
    assert_true(create); /* a simple commit makes the group */
    assert_int_equal(commit(&f, "", -1, "", 2, &create), KAFKA_INVALID_GROUP_ID);
    /* a commit in a generation to a group that does not exist */
    assert_int_equal(commit(&f, "gone", 3, "m", 8, &create), KAFKA_ILLEGAL_GENERATION);
    assert_int_equal(commit(&f, "gone", 3, "m", 9, &create), KAFKA_GROUP_ID_NOT_FOUND);
    make_group(&f, "empty");
    assert_int_equal(commit(&f, "empty", -1, "", 9, &create), KAFKA_NONE);
    assert_false(create);
    assert_int_equal(commit(&f, "empty", 3, "m", 9, &create), KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(fetch(&f, "empty", "anyone", 4), KAFKA_NONE);
    assert_int_equal(fetch(&f, "", NULL, -1), KAFKA_NONE); /* answered as unknown */
    struct group *g;
    assert_int_equal(offsets_delete_check(&f.b, KSTR("empty"), &g), KAFKA_NONE);
    assert_non_null(g);
    assert_int_equal(offsets_delete_check(&f.b, KSTR("gone"), &g), KAFKA_GROUP_ID_NOT_FOUND);
    assert_int_equal(offsets_delete_check(&f.b, KSTR(""), &g), KAFKA_INVALID_GROUP_ID);
    fixture_close(&f);
}

/* A consumer group's own coordinator decides, and is asked only about its ids. */
static void test_consumer_seam(void **state)
{
    (void)state;
    struct fixture f;
    fixture_open(&f);
    offsets_consumer_ops_set(&fake_ops);
    bool create;
    asked_count = 0;
    assert_int_equal(commit(&f, "cg1", 7, "m1", 9, &create), KAFKA_NONE);
    assert_true(create); /* no struct group holds its offsets yet */
    assert_int_equal(asked.epoch, 7);
    assert_int_equal(asked.version, 9);
    assert_true(kstr_eq(asked.member_id, "m1"));
    assert_true(kstr_is_null(asked.instance_id));
    assert_int_equal(commit(&f, "cg1", 6, "m1", 9, &create), KAFKA_STALE_MEMBER_EPOCH);
    assert_false(create);
    assert_int_equal(commit(&f, "cg1", 7, "m1", 8, &create), KAFKA_UNSUPPORTED_VERSION);
    assert_int_equal(commit(&f, "cg1", 7, "m2", 9, &create), KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(fetch(&f, "cg1", "m1", 7), KAFKA_NONE);
    assert_int_equal(fetch(&f, "cg1", "m1", 5), KAFKA_STALE_MEMBER_EPOCH);
    assert_int_equal(fetch(&f, "cg1", "m9", 7), KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(fetch(&f, "cg1", NULL, -1), KAFKA_NONE);
    assert_int_equal(asked_count, 8);
    /* another id stays classic, and the fake is not asked about it */
    assert_int_equal(commit(&f, "plain", -1, "", 9, &create), KAFKA_NONE);
    assert_true(create);
    assert_int_equal(commit(&f, "plain", 3, "m", 9, &create), KAFKA_GROUP_ID_NOT_FOUND);
    assert_int_equal(fetch(&f, "plain", "m", 3), KAFKA_NONE);
    assert_int_equal(asked_count, 8);
    /* a consumer group may lose offsets while it has members (no struct group here) */
    struct group *g;
    assert_int_equal(offsets_delete_check(&f.b, KSTR("cg1"), &g), KAFKA_NONE);
    assert_null(g);
    offsets_consumer_ops_set(NULL);
    assert_int_equal(commit(&f, "cg1", 6, "m1", 9, &create), KAFKA_GROUP_ID_NOT_FOUND);
    fixture_close(&f);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classic_rules),
        cmocka_unit_test(test_consumer_seam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
