/*
 * test_cgroup.c - the KIP-848 consumer group state machine (broker/cgroup.c) and
 * its assignors (broker/cgroup_assign.c), without sockets, store or requests.
 *
 * Topics are a table of the test's (struct world): names, ids and partition
 * counts it may change between heartbeats. The clock is a number the test
 * passes to every call. A struct client plays a member as a well-behaved
 * consumer would: it keeps what each answer assigns and reports it on its next
 * heartbeat. The checks that matter most: no partition is ever owned by two
 * members, a partition moves only after its owner revoked it, and the counts
 * are balanced once everyone has reconciled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/cgroup.h"

/* ---- the topics ---- */

#define MAX_TOPICS 8

struct world {
    char names[MAX_TOPICS][32];
    int32_t nparts[MAX_TOPICS];
    int n;
    size_t classic_groups;
    int classic_state; /* what env_classic_state answers for every id */
};

static uint8_t *tid_of(int i)
{
    static uint8_t ids[MAX_TOPICS][16];
    memset(ids[i], 0, 16);
    ids[i][0] = (uint8_t)(0x10 + i);
    return ids[i];
}

static bool w_topic(void *arg, const char *name, uint8_t id[16], int32_t *nparts)
{
    struct world *w = arg;
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->names[i], name)) {
            memcpy(id, tid_of(i), 16);
            *nparts = w->nparts[i];
            return true;
        }
    return false;
}

static char **w_names(void *arg)
{
    struct world *w = arg;
    char **v = calloc((size_t)w->n + 1, sizeof *v);
    for (int i = 0; i < w->n; i++)
        v[i] = w->names[i];
    return v;
}

static size_t w_classic_count(void *arg)
{
    return ((struct world *)arg)->classic_groups;
}

static int w_classic_state(void *arg, const char *id)
{
    (void)id;
    return ((struct world *)arg)->classic_state;
}

struct fixture {
    struct world w;
    struct cgroups cs;
    int64_t now;
};

static int setup_with(void **state, int32_t max_size, int64_t groups_max)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->w.classic_state = -1;
    snprintf(f->w.names[0], 32, "orders");
    f->w.nparts[0] = 6;
    f->w.n = 1;
    struct cgroup_config cfg = {45000, 5000, max_size, groups_max};
    struct cgroup_env env = {&f->w, w_topic, w_names, w_classic_count, w_classic_state};
    cgroups_init(&f->cs, &cfg, &env);
    f->now = 1000000;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 1000, 100000);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    cgroups_release(&f->cs);
    free(f);
    return 0;
}

/* ---- a well-behaved member ---- */

struct client {
    char id[64];
    char instance[32]; /* "" when dynamic */
    int32_t epoch;
    struct cgroup_tp owned[64];
    int32_t nowned;
    const char *topics[4];
    int32_t ntopics;
    const char *assignor;
    int16_t err;
};

static struct cgroup_hb client_hb(struct fixture *f, struct client *c, int32_t epoch, bool join)
{
    (void)f;
    static struct kstr names[4];
    for (int32_t i = 0; i < c->ntopics; i++)
        names[i] = kstr_from(c->topics[i]);
    struct cgroup_hb hb = {
        .group_id = KSTR("g"),
        .member_id = kstr_from(c->id),
        .instance_id = c->instance[0] ? kstr_from(c->instance) : KSTR_NULL,
        .rack_id = KSTR_NULL,
        .epoch = epoch,
        .rebalance_ms = join ? 30000 : -1,
        .topics = names,
        .ntopics = join ? c->ntopics : -1,
        .regex = KSTR_NULL,
        .assignor = c->assignor ? kstr_from(c->assignor) : KSTR_NULL,
        .owned = c->owned,
        .nowned = join ? 0 : c->nowned,
        .client_id = KSTR("test"),
        .client_host = "/127.0.0.1",
    };
    return hb;
}

/* Send one heartbeat; keep what the answer assigns. */
static int16_t beat_as(struct fixture *f, struct client *c, int32_t epoch, bool join)
{
    struct cgroup_hb hb = client_hb(f, c, epoch, join);
    struct cgroup_answer a;
    c->err = cgroup_heartbeat(&f->cs, &hb, f->now, &a);
    if (c->err)
        return c->err;
    if (a.member_id)
        snprintf(c->id, sizeof c->id, "%s", a.member_id);
    c->epoch = a.epoch;
    if (a.send_assignment && a.m) {
        assert_true(a.m->assigned.n <= 64);
        c->nowned = a.m->assigned.n;
        if (c->nowned)
            memcpy(c->owned, a.m->assigned.v, (size_t)c->nowned * sizeof *c->owned);
    }
    return 0;
}

static int16_t join(struct fixture *f, struct client *c)
{
    if (!c->ntopics) {
        c->topics[0] = "orders";
        c->ntopics = 1;
    }
    return beat_as(f, c, 0, true);
}

static int16_t beat(struct fixture *f, struct client *c)
{
    return beat_as(f, c, c->epoch, false);
}

/* No partition owned (assigned or revoking) by two members. */
static void assert_exclusive(struct fixture *f)
{
    struct cgroup *g = cgroup_find(&f->cs, KSTR("g"));
    if (!g)
        return;
    for (const struct cgroup_member *a = g->members; a; a = a->next)
        for (const struct cgroup_member *b = a->next; b; b = b->next)
            for (int32_t i = 0; i < a->assigned.n; i++) {
                const struct cgroup_tp *tp = &a->assigned.v[i];
                assert_false(cgroup_tps_has(&b->assigned, tp->topic_id, tp->partition));
                assert_false(cgroup_tps_has(&b->revoking, tp->topic_id, tp->partition));
            }
}

/* Heartbeat every client in turn until nothing changes (bounded). */
static void settle(struct fixture *f, struct client **cs, int n)
{
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < n; i++) {
            assert_int_equal(beat(f, cs[i]), 0);
            assert_exclusive(f);
        }
    }
    struct cgroup *g = cgroup_find(&f->cs, KSTR("g"));
    assert_non_null(g);
    assert_string_equal(cgroup_state_name(g), "Stable");
}

/* ---- tests ---- */

static void test_join_epochs(void **state)
{
    struct fixture *f = *state;
    struct client a = {0};
    assert_int_equal(join(f, &a), 0);
    assert_true(strlen(a.id) == 22); /* generated by the coordinator */
    assert_true(a.epoch >= 1);
    assert_int_equal(a.nowned, 6);
    struct cgroup *g = cgroup_find(&f->cs, KSTR("g"));
    assert_int_equal(g->epoch, a.epoch);
    assert_int_equal(g->assignment_epoch, g->epoch);
    int32_t e = a.epoch;
    assert_int_equal(beat(f, &a), 0);
    assert_int_equal(a.epoch, e); /* nothing changed: no new epoch */
}

static void test_revocation_before_reassignment(void **state)
{
    struct fixture *f = *state;
    struct client a = {0}, b = {0};
    assert_int_equal(join(f, &a), 0);
    int32_t ea = a.epoch;
    assert_int_equal(join(f, &b), 0);
    /* b's share is owned by a until a revokes it: b gets nothing yet */
    assert_int_equal(b.nowned, 0);
    assert_true(b.epoch > ea);
    assert_exclusive(f);
    /* a hears it must give up 3, keeps its epoch until it has */
    assert_int_equal(beat(f, &a), 0);
    assert_int_equal(a.nowned, 3);
    assert_int_equal(a.epoch, ea);
    /* b still waits: a has not reported the revocation yet */
    assert_int_equal(beat(f, &b), 0);
    assert_int_equal(b.nowned, 0);
    /* a reports owning only 3: it moves to the new epoch, and b gets the rest */
    assert_int_equal(beat(f, &a), 0);
    assert_int_equal(a.epoch, b.epoch);
    assert_int_equal(beat(f, &b), 0);
    assert_int_equal(b.nowned, 3);
    assert_exclusive(f);
}

static void test_fencing(void **state)
{
    struct fixture *f = *state;
    struct client a = {0}, b = {0};
    assert_int_equal(join(f, &a), 0);
    assert_int_equal(beat_as(f, &a, a.epoch + 1, false), KAFKA_FENCED_MEMBER_EPOCH);
    int32_t old = a.epoch;
    assert_int_equal(join(f, &b), 0);
    assert_int_equal(beat(f, &a), 0); /* revoking */
    assert_int_equal(beat(f, &a), 0); /* revoked: new epoch */
    assert_true(a.epoch > old);
    /* the previous epoch with a subset of the assignment: a lost answer, accepted */
    assert_int_equal(beat_as(f, &a, old, false), 0);
    /* an older epoch, or a previous one owning more: fenced */
    assert_int_equal(beat_as(f, &a, old - 1, false), KAFKA_FENCED_MEMBER_EPOCH);
    struct client ghost = {.id = "ghost", .epoch = 5};
    assert_int_equal(beat(f, &ghost), KAFKA_UNKNOWN_MEMBER_ID);
}

static void test_leave_and_session_timeout(void **state)
{
    struct fixture *f = *state;
    struct client a = {0}, b = {0}, c = {0};
    struct client *all[] = {&a, &b, &c};
    for (int i = 0; i < 3; i++)
        assert_int_equal(join(f, all[i]), 0);
    settle(f, all, 3);
    assert_int_equal(a.nowned + b.nowned + c.nowned, 6);
    assert_int_equal(beat_as(f, &c, -1, false), 0); /* c leaves */
    settle(f, all, 2);
    assert_int_equal(a.nowned, 3);
    assert_int_equal(b.nowned, 3);
    /* b goes silent: after the session timeout a alone owns everything */
    assert_true(cgroups_next_deadline(&f->cs) <= f->now + 45000);
    f->now += 44999;
    assert_int_equal(beat(f, &a), 0);
    cgroups_expire(&f->cs, f->now);
    assert_int_equal(cgroup_find(&f->cs, KSTR("g"))->nmembers, 2);
    f->now += 2;
    cgroups_expire(&f->cs, f->now);
    assert_int_equal(cgroup_find(&f->cs, KSTR("g"))->nmembers, 1);
    assert_int_equal(beat(f, &b), KAFKA_UNKNOWN_MEMBER_ID);
    settle(f, all, 1);
    assert_int_equal(a.nowned, 6);
    /* the last member leaving drops the group */
    assert_int_equal(beat_as(f, &a, -1, false), 0);
    assert_null(cgroup_find(&f->cs, KSTR("g")));
}

static void test_rebalance_timeout(void **state)
{
    struct fixture *f = *state;
    struct client a = {0}, b = {0};
    assert_int_equal(join(f, &a), 0);
    assert_int_equal(join(f, &b), 0);
    struct client full = a;           /* owning all 6 */
    assert_int_equal(beat(f, &a), 0); /* told to revoke 3; never does */
    assert_int_equal(a.nowned, 3);
    for (int i = 0; i < 3; i++) {
        f->now += 10000;
        a = full;
        assert_int_equal(beat(f, &a), 0);
        assert_int_equal(beat(f, &b), 0);
    }
    assert_int_equal(b.nowned, 0);
    cgroups_expire(&f->cs, f->now);
    assert_int_equal(beat(f, &a), KAFKA_UNKNOWN_MEMBER_ID); /* removed after 30 s */
    assert_int_equal(beat(f, &b), 0);
    assert_int_equal(b.nowned, 6);
}

static void test_static_member(void **state)
{
    struct fixture *f = *state;
    struct client a = {.instance = "i-1"}, b = {0};
    assert_int_equal(join(f, &a), 0);
    assert_int_equal(join(f, &b), 0);
    struct client *all[] = {&a, &b};
    settle(f, all, 2);
    struct client dup = {.instance = "i-1"};
    assert_int_equal(join(f, &dup), KAFKA_UNRELEASED_INSTANCE_ID);
    int32_t epoch = a.epoch, gepoch = cgroup_find(&f->cs, KSTR("g"))->epoch;
    assert_int_equal(beat_as(f, &a, -2, false), 0);
    assert_int_equal(a.epoch, -2);
    /* the partitions stay with the absent member: b does not get them */
    assert_int_equal(beat(f, &b), 0);
    assert_int_equal(b.nowned, 3);
    struct client a2 = {.instance = "i-1"};
    assert_int_equal(join(f, &a2), 0);
    assert_string_not_equal(a2.id, a.id);
    assert_int_equal(a2.epoch, epoch);
    assert_int_equal(a2.nowned, 3);
    assert_int_equal(cgroup_find(&f->cs, KSTR("g"))->epoch, gepoch); /* no rebalance */
    assert_int_equal(beat(f, &a), KAFKA_UNKNOWN_MEMBER_ID);
    /* a static member gone for a while still times out */
    f->now += 46000;
    cgroups_expire(&f->cs, f->now);
    assert_null(cgroup_find(&f->cs, KSTR("g")));
}

static int count_of(const struct client *c, int topic)
{
    int n = 0;
    for (int32_t i = 0; i < c->nowned; i++)
        n += c->owned[i].topic_id[0] == 0x10 + topic;
    return n;
}

static void test_uniform_balance_and_stickiness(void **state)
{
    struct fixture *f = *state;
    f->w.nparts[0] = 10;
    struct client c[4] = {0};
    struct client *all[] = {&c[0], &c[1], &c[2], &c[3]};
    for (int i = 0; i < 3; i++)
        assert_int_equal(join(f, &c[i]), 0);
    settle(f, all, 3);
    int min = 99, max = 0;
    for (int i = 0; i < 3; i++) {
        min = c[i].nowned < min ? c[i].nowned : min;
        max = c[i].nowned > max ? c[i].nowned : max;
    }
    assert_int_equal(c[0].nowned + c[1].nowned + c[2].nowned, 10);
    assert_true(max - min <= 1);
    /* a fourth joins: each earlier member keeps all but what it gives up */
    struct client before[3];
    memcpy(before, c, sizeof before);
    assert_int_equal(join(f, &c[3]), 0);
    settle(f, all, 4);
    assert_int_equal(c[0].nowned + c[1].nowned + c[2].nowned + c[3].nowned, 10);
    for (int i = 0; i < 3; i++)
        for (int32_t k = 0; k < c[i].nowned; k++) {
            bool kept = false;
            for (int32_t j = 0; j < before[i].nowned; j++)
                kept |= !cgroup_tp_cmp(&c[i].owned[k], &before[i].owned[j]);
            if (!kept) {
                for (int x = 0; x < 4; x++) {
                    fprintf(stderr, "c%d %s before:", x, c[x].id);
                    for (int y = 0; x < 3 && y < before[x].nowned; y++)
                        fprintf(stderr, " %d", before[x].owned[y].partition);
                    fprintf(stderr, " after:");
                    for (int y = 0; y < c[x].nowned; y++)
                        fprintf(stderr, " %d", c[x].owned[y].partition);
                    fprintf(stderr, "\n");
                }
            }
            assert_true(kept); /* nothing moved between old members */
        }
    assert_true(c[3].nowned == 2 || c[3].nowned == 3);
}

static void test_range_assignor(void **state)
{
    struct fixture *f = *state;
    snprintf(f->w.names[1], 32, "payments");
    f->w.nparts[0] = 5;
    f->w.nparts[1] = 5;
    f->w.n = 2;
    struct client a = {.id = "a", .assignor = "range"}, b = {.id = "b", .assignor = "range"};
    a.topics[0] = b.topics[0] = "orders";
    a.topics[1] = b.topics[1] = "payments";
    a.ntopics = b.ntopics = 2;
    assert_int_equal(join(f, &a), 0);
    assert_int_equal(join(f, &b), 0);
    struct client *all[] = {&a, &b};
    settle(f, all, 2);
    assert_string_equal(cgroup_find(&f->cs, KSTR("g"))->assignor, "range");
    /* consecutive runs per topic, the same numbers of both: a 0-2, b 3-4 */
    assert_int_equal(count_of(&a, 0), 3);
    assert_int_equal(count_of(&a, 1), 3);
    assert_int_equal(count_of(&b, 0), 2);
    assert_int_equal(a.owned[0].partition, 0);
    assert_int_equal(a.owned[2].partition, 2);
    assert_int_equal(a.owned[3].partition, 0);
    assert_int_equal(b.owned[0].partition, 3);
}

static void test_topic_changes(void **state)
{
    struct fixture *f = *state;
    struct client a = {0}, b = {0};
    struct client *all[] = {&a, &b};
    a.topics[0] = b.topics[0] = "orders";
    a.topics[1] = b.topics[1] = "later";
    a.ntopics = b.ntopics = 2;
    assert_int_equal(join(f, &a), 0);
    assert_int_equal(join(f, &b), 0);
    settle(f, all, 2);
    assert_int_equal(a.nowned + b.nowned, 6);
    f->w.nparts[0] = 8; /* partitions added */
    settle(f, all, 2);
    assert_int_equal(a.nowned + b.nowned, 8);
    snprintf(f->w.names[1], 32, "later"); /* a subscribed topic is created */
    f->w.nparts[1] = 2;
    f->w.n = 2;
    settle(f, all, 2);
    assert_int_equal(a.nowned + b.nowned, 10);
    snprintf(f->w.names[0], 32, "gone"); /* and one is deleted */
    settle(f, all, 2);
    assert_int_equal(a.nowned + b.nowned, 2);
}

static void test_regex_subscription(void **state)
{
    struct fixture *f = *state;
    struct client a = {0};
    struct cgroup_hb hb = client_hb(f, &a, 0, true);
    struct cgroup_answer ans;
    hb.ntopics = 0;
    hb.regex = KSTR("ord[a-z]+");
    assert_int_equal(cgroup_heartbeat(&f->cs, &hb, f->now, &ans), 0);
    assert_int_equal(ans.m->assigned.n, 6);
    snprintf(a.id, sizeof a.id, "%s", ans.member_id);
    a.epoch = ans.epoch;
    a.nowned = 6;
    memcpy(a.owned, ans.m->assigned.v, 6 * sizeof *a.owned);
    snprintf(f->w.names[1], 32, "ordinals"); /* a new topic the regex matches */
    f->w.nparts[1] = 2;
    snprintf(f->w.names[2], 32, "__ordinals"); /* internal: never matched */
    f->w.nparts[2] = 2;
    f->w.n = 3;
    f->now += 4999; /* topics are matched again every heartbeat interval */
    assert_int_equal(beat(f, &a), 0);
    assert_int_equal(a.nowned, 6);
    f->now += 1;
    assert_int_equal(beat(f, &a), 0);
    assert_int_equal(a.nowned, 8);
}

static void test_bounds_and_refusals(void **state)
{
    struct fixture *f = *state;
    struct client a = {0};
    a.assignor = "sticky";
    assert_int_equal(join(f, &a), KAFKA_UNSUPPORTED_ASSIGNOR);
    a.assignor = NULL;
    /* joining must carry an empty owned list and a rebalance timeout */
    struct cgroup_hb hb = client_hb(f, &a, 0, true);
    struct cgroup_answer ans;
    hb.nowned = -1;
    hb.topics = (struct kstr[]){KSTR("orders")};
    hb.ntopics = 1;
    assert_int_equal(cgroup_heartbeat(&f->cs, &hb, f->now, &ans), KAFKA_INVALID_REQUEST);
    hb.nowned = 0;
    hb.rebalance_ms = -1;
    assert_int_equal(cgroup_heartbeat(&f->cs, &hb, f->now, &ans), KAFKA_INVALID_REQUEST);
    hb.rebalance_ms = 1000;
    hb.ntopics = CGROUP_MAX_TOPICS + 1;
    assert_int_equal(cgroup_heartbeat(&f->cs, &hb, f->now, &ans), KAFKA_INVALID_REQUEST);
    hb.ntopics = 0;
    hb.regex = KSTR("(a{1,99}){1,99}");
    assert_int_equal(cgroup_heartbeat(&f->cs, &hb, f->now, &ans),
                     CGROUP_INVALID_REGULAR_EXPRESSION);
    hb.regex = KSTR("ord.*");
    assert_int_equal(cgroup_heartbeat(&f->cs, &hb, f->now, &ans), 0);
    assert_int_equal(ans.m->assigned.n, 6); /* the regex matched "orders" */
    /* a classic group with members keeps its id */
    f->w.classic_state = 1;
    hb.group_id = KSTR("other");
    assert_int_equal(cgroup_heartbeat(&f->cs, &hb, f->now, &ans), KAFKA_GROUP_ID_NOT_FOUND);
    /* brook.groups.max counts classic groups too */
    f->w.classic_state = -1;
    f->w.classic_groups = 99999;
    assert_int_equal(cgroup_heartbeat(&f->cs, &hb, f->now, &ans), KAFKA_GROUP_MAX_SIZE_REACHED);
}

/* Members subscribing to 1000 long names each: the group stops at 16 MiB. */
static void test_group_bytes(void **state)
{
    struct fixture *f = *state;
    static char names[CGROUP_MAX_TOPICS][250];
    static struct kstr ks[CGROUP_MAX_TOPICS];
    for (int i = 0; i < CGROUP_MAX_TOPICS; i++) {
        memset(names[i], 'x', 249);
        snprintf(names[i], 250, "%04d", i);
        names[i][4] = 'x';
        ks[i] = (struct kstr){names[i], 249};
    }
    int16_t err = 0;
    int joined = 0;
    for (int i = 0; i < 100 && !err; i++) {
        struct client c = {0};
        struct cgroup_hb hb = client_hb(f, &c, 0, true);
        struct cgroup_answer a;
        hb.topics = ks;
        hb.ntopics = CGROUP_MAX_TOPICS;
        err = cgroup_heartbeat(&f->cs, &hb, f->now, &a);
        joined += !err;
    }
    assert_int_equal(err, KAFKA_GROUP_MAX_SIZE_REACHED);
    assert_true(joined >= 60 && joined < 70); /* 250 KB each */
    assert_true(cgroup_find(&f->cs, KSTR("g"))->bytes <= CGROUP_MAX_BYTES);
}

static void test_max_size(void **state)
{
    struct fixture *f = *state;
    struct client c[3] = {0};
    assert_int_equal(join(f, &c[0]), 0);
    assert_int_equal(join(f, &c[1]), 0);
    assert_int_equal(join(f, &c[2]), KAFKA_GROUP_MAX_SIZE_REACHED);
}

static int setup_small(void **state)
{
    return setup_with(state, 2, 100000);
}

static void test_commit_check(void **state)
{
    struct fixture *f = *state;
    struct client a = {0};
    assert_int_equal(cgroups_commit_allowed(&f->cs, KSTR("g"), KSTR("x"), 1, 9), KAFKA_NONE);
    assert_int_equal(join(f, &a), 0);
    assert_int_equal(cgroups_commit_allowed(&f->cs, KSTR("g"), kstr_from(a.id), a.epoch, 9),
                     KAFKA_NONE);
    assert_int_equal(cgroups_commit_allowed(&f->cs, KSTR("g"), kstr_from(a.id), a.epoch - 1, 9),
                     KAFKA_STALE_MEMBER_EPOCH);
    assert_int_equal(cgroups_commit_allowed(&f->cs, KSTR("g"), KSTR("x"), 1, 9),
                     KAFKA_UNKNOWN_MEMBER_ID);
}

static void test_offsets_rules(void **state)
{
    struct fixture *f = *state;
    struct client a = {0};
    struct kstr g = KSTR("g");
    /* no consumer group of that id: every commit goes, as to an Empty group */
    assert_int_equal(cgroups_commit_allowed(&f->cs, g, KSTR_NULL, -1, 9), 0);
    assert_int_equal(join(f, &a), 0);
    struct kstr id = kstr_from(a.id);
    assert_int_equal(cgroups_commit_allowed(&f->cs, g, id, a.epoch, 9), 0);
    assert_int_equal(cgroups_commit_allowed(&f->cs, g, id, a.epoch, 8), KAFKA_UNSUPPORTED_VERSION);
    assert_int_equal(cgroups_commit_allowed(&f->cs, g, id, a.epoch + 1, 9),
                     KAFKA_STALE_MEMBER_EPOCH);
    assert_int_equal(cgroups_commit_allowed(&f->cs, g, KSTR(""), -1, 9), KAFKA_UNKNOWN_MEMBER_ID);
    /* fetch: an admin (no member, epoch -1) may; a member must be at its epoch */
    assert_int_equal(cgroups_fetch_allowed(&f->cs, g, KSTR_NULL, -1), 0);
    assert_int_equal(cgroups_fetch_allowed(&f->cs, g, id, a.epoch), 0);
    assert_int_equal(cgroups_fetch_allowed(&f->cs, g, id, a.epoch - 1), KAFKA_STALE_MEMBER_EPOCH);
    assert_int_equal(cgroups_fetch_allowed(&f->cs, g, KSTR("x"), 3), KAFKA_UNKNOWN_MEMBER_ID);
    assert_true(cgroups_subscribed(&f->cs, g, KSTR("orders")));
    assert_false(cgroups_subscribed(&f->cs, g, KSTR("payments")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_epochs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_before_reassignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fencing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_and_session_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uniform_balance_and_stickiness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_assignor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regex_subscription, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_size, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_commit_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
