/*
 * test_group_coord.c - broker/group.c's state machine without sockets or requests.
 *
 * Each test starts a coordinator (groups_init) with brookd's default
 * configuration, or one override, and a fake clock: a number the test advances
 * and passes to every call, so session and rebalance timeouts pass without
 * waiting. The coordinator answers waiting JoinGroups and SyncGroups through
 * struct group_ops; here the waiter is a struct answer that records the last
 * answer and counts them, so a test sees both what was answered and that
 * nothing was answered yet. Member ids are random: tests read them from answers.
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

#include "broker/group.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "tests/unit/grouputil.h"
#include "tests/unit/testutil.h"

/* What the coordinator last answered one waiting request. */
struct answer {
    int calls; /* answers so far: exactly one is the rule */
    int16_t err;
    int32_t generation;
    char member_id[128];
    char leader[128];
    char protocol[64];
    int nmembers;         /* JoinGroup: metadata entries (the leader gets them all) */
    bool skip_assignment; /* JoinGroup v9+ */
    char assignment[64];  /* SyncGroup: as a string */
};

static void fake_join_done(void *waiter, const struct group *g, const struct member *m,
                           const struct join_result *r)
{
    struct answer *a = waiter;
    a->calls++;
    a->err = r->err;
    snprintf(a->member_id, sizeof a->member_id, "%s", m ? m->id : "");
    if (!g)
        return;
    a->generation = g->generation;
    snprintf(a->leader, sizeof a->leader, "%s", r->leader ? r->leader : "");
    snprintf(a->protocol, sizeof a->protocol, "%s", g->protocol ? g->protocol : "");
    a->nmembers = r->members ? g->nmembers : 0;
    a->skip_assignment = r->skip_assignment;
}

static void fake_sync_done(void *waiter, const struct group *g, const struct member *m, int16_t err)
{
    struct answer *a = waiter;
    (void)g;
    a->calls++;
    a->err = err;
    a->assignment[0] = 0;
    if (m && m->assignment_len > 0)
        snprintf(a->assignment, sizeof a->assignment, "%.*s", (int)m->assignment_len,
                 (const char *)m->assignment);
}

static const struct group_ops fake_ops = {fake_join_done, fake_sync_done};

static void quiet_join_done(void *waiter, const struct group *g, const struct member *m,
                            const struct join_result *r)
{
    (void)waiter, (void)g, (void)m, (void)r;
}

static void quiet_sync_done(void *waiter, const struct group *g, const struct member *m,
                            int16_t err)
{
    (void)waiter, (void)g, (void)m, (void)err;
}

/* For teardown: a test that failed half-way leaves waiters that lived on its
 * stack, which must not be written to any more. */
static const struct group_ops quiet_ops = {quiet_join_done, quiet_sync_done};

struct fixture {
    char *dir;
    struct broker_config cfg;
    struct groups gs;
    int64_t now; /* the fake clock, wall ms */
};

static struct fixture *fixture_new(const char *override)
{
    struct fixture *f = tu_xmalloc(sizeof *f);
    const char *err = NULL;
    memset(f, 0, sizeof *f);
    f->dir = tu_mkdtemp();
    if (gu_config_parse(&f->cfg, f->dir, override, &err))
        fail_msg("config: %s", err ? err : "?");
    groups_init(&f->gs, &f->cfg, &fake_ops);
    f->now = 1000000;
    return f;
}

static void fixture_free(struct fixture *f)
{
    groups_release(&f->gs);
    broker_config_release(&f->cfg);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
}

static int setup(void **state)
{
    *state = fixture_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    f->gs.ops = &quiet_ops;
    fixture_free(f);
    return 0;
}

/* A JoinGroup's fields; protocols is a comma-separated list of names, each with
 * metadata "meta-<name>". */
struct join_args {
    const char *group, *member, *instance, *type, *protocols;
    int32_t session_ms, rebalance_ms;
    bool v4, v9;
};

/* Join as a says; the error answered at once, or KAFKA_NONE when the coordinator
 * kept w. *id (when not NULL) gets a MEMBER_ID_REQUIRED id. */
static int16_t join_full(struct fixture *f, struct join_args a, struct answer *w, char *id,
                         size_t idlen)
{
    struct kafka_join_group_req_protocol protos[8];
    char names[256], metas[8][64];
    int32_t n = 0;
    snprintf(names, sizeof names, "%s", a.protocols ? a.protocols : "range");
    for (char *save = NULL, *p = strtok_r(names, ",", &save); p && n < 8;
         p = strtok_r(NULL, ",", &save), n++) {
        snprintf(metas[n], sizeof metas[n], "meta-%s", p);
        protos[n].name = kstr_from(p);
        protos[n].metadata = (struct kbytes){(const uint8_t *)metas[n], (int32_t)strlen(metas[n])};
    }
    struct group_join j = {
        .group_id = kstr_from(a.group ? a.group : "g"),
        .member_id = kstr_from(a.member ? a.member : ""),
        .instance_id = a.instance ? kstr_from(a.instance) : KSTR_NULL,
        .protocol_type = kstr_from(a.type ? a.type : "consumer"),
        .client_id = KSTR("client"),
        .client_host = "/127.0.0.1",
        .session_ms = a.session_ms ? a.session_ms : 10000,
        .rebalance_ms = a.rebalance_ms ? a.rebalance_ms : 30000,
        .protocols = protos,
        .nprotocols = n,
        .id_required = a.v4 || a.v9,
        .skip_assignment = a.v9,
    };
    const char *given = NULL;
    int16_t err = group_join(&f->gs, &j, w, f->now, &given);
    if (id)
        snprintf(id, idlen, "%s", given && err == KAFKA_MEMBER_ID_REQUIRED ? given : "");
    return err;
}

/* The usual join: group "g", member id as given ("" for a new member). */
static int16_t join(struct fixture *f, const char *member, struct answer *w)
{
    return join_full(f, (struct join_args){.member = member}, w, NULL, 0);
}

/* SyncGroup of member at generation gen; the leader's assignments are
 * "member=assignment" pairs. */
static int sync_group(struct fixture *f, const char *member, int32_t gen, struct answer *w, int n,
                      const char *const *pairs)
{
    struct kafka_sync_group_req_assignment as[8];
    char ids[8][128];
    for (int i = 0; i < n && i < 8; i++) {
        const char *eq = strchr(pairs[i], '=');
        snprintf(ids[i], sizeof ids[i], "%.*s", (int)(eq - pairs[i]), pairs[i]);
        as[i].member_id = kstr_from(ids[i]);
        as[i].assignment = (struct kbytes){(const uint8_t *)eq + 1, (int32_t)strlen(eq + 1)};
    }
    struct group_sync s = {
        .group_id = KSTR("g"),
        .member_id = kstr_from(member),
        .instance_id = KSTR_NULL,
        .protocol_type = KSTR_NULL,
        .protocol = KSTR_NULL,
        .generation = gen,
        .assignments = as,
        .nassignments = n,
    };
    return group_sync(&f->gs, &s, w, f->now);
}

static int16_t heartbeat(struct fixture *f, const char *member, int32_t gen)
{
    return group_heartbeat(&f->gs, KSTR("g"), kstr_from(member), KSTR_NULL, gen, f->now);
}

static struct group *group_g(struct fixture *f)
{
    return group_find(&f->gs, KSTR("g"));
}

/* One member in a Stable group "g" at generation 1; its id into id. */
static void one_stable(struct fixture *f, char *id, size_t len)
{
    struct answer j = {0}, s = {0};
    assert_int_equal(join(f, "", &j), KAFKA_NONE);
    assert_int_equal(j.calls, 1);
    snprintf(id, len, "%s", j.member_id);
    char pair[200];
    snprintf(pair, sizeof pair, "%s=a0", id);
    const char *pairs[] = {pair};
    assert_int_equal(sync_group(f, id, j.generation, &s, 1, pairs), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
}

/* Two members a and b in a Stable group "g" (a leads), at the generation returned. */
static int32_t two_stable(struct fixture *f, char *a, char *b, size_t len)
{
    struct answer jb = {0}, ja2 = {0}, sa = {0}, sb = {0};
    one_stable(f, a, len);
    assert_int_equal(join(f, "", &jb), KAFKA_NONE);
    assert_int_equal(join(f, a, &ja2), KAFKA_NONE);
    assert_int_equal(ja2.calls, 1);
    assert_int_equal(jb.calls, 1);
    snprintf(b, len, "%s", jb.member_id);
    char pa[200], pb[200];
    snprintf(pa, sizeof pa, "%s=pa", a);
    snprintf(pb, sizeof pb, "%s=pb", b);
    const char *pairs[] = {pa, pb};
    assert_int_equal(sync_group(f, b, jb.generation, &sb, 0, NULL), 0);
    assert_int_equal(sync_group(f, a, ja2.generation, &sa, 2, pairs), 0);
    assert_int_equal(sb.calls, 1);
    assert_string_equal(sb.assignment, "pb");
    return ja2.generation;
}

/* ---- tests ---- */

/* A member joins an empty group, leads generation 1, and its SyncGroup makes it
 * Stable with the assignment it gave itself. */
static void test_join_empty_to_stable(void **state)
{
    struct fixture *f = *state;
    struct answer j = {0}, s = {0};
    assert_null(group_g(f));
    assert_int_equal(join(f, "", &j), KAFKA_NONE);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.err, KAFKA_NONE);
    assert_int_equal(j.generation, 1);
    assert_string_equal(j.leader, j.member_id);
    assert_string_equal(j.protocol, "range");
    assert_int_equal(j.nmembers, 1);
    assert_int_equal(group_g(f)->state, GROUP_COMPLETING_REBALANCE);
    char pair[200];
    snprintf(pair, sizeof pair, "%s=mine", j.member_id);
    const char *pairs[] = {pair};
    assert_int_equal(sync_group(f, j.member_id, 1, &s, 1, pairs), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.err, KAFKA_NONE);
    assert_string_equal(s.assignment, "mine");
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    assert_int_equal(heartbeat(f, j.member_id, 1), KAFKA_NONE);
}

/* A second member starts a rebalance; it waits until the first rejoins, then the
 * leader gets both members' metadata and the follower none. */
static void test_second_member_rebalances(void **state)
{
    struct fixture *f = *state;
    char a[128];
    one_stable(f, a, sizeof a);
    struct answer jb = {0}, ja = {0};
    assert_int_equal(join(f, "", &jb), KAFKA_NONE);
    assert_int_equal(jb.calls, 0); /* waits for a */
    assert_int_equal(group_g(f)->state, GROUP_PREPARING_REBALANCE);
    assert_int_equal(heartbeat(f, a, 1), KAFKA_REBALANCE_IN_PROGRESS);
    assert_int_equal(join(f, a, &ja), KAFKA_NONE);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(ja.generation, 2);
    assert_int_equal(jb.generation, 2);
    assert_string_equal(ja.leader, a);
    assert_string_equal(jb.leader, a);
    assert_int_equal(ja.nmembers, 2);
    assert_int_equal(jb.nmembers, 0);
    assert_int_equal(group_g(f)->state, GROUP_COMPLETING_REBALANCE);
    assert_int_equal(heartbeat(f, a, 1), KAFKA_ILLEGAL_GENERATION);
}

/* A follower's SyncGroup waits for the leader's and then gets its own part. */
static void test_follower_waits_for_leader(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_stable(f, a, b, sizeof a);
    assert_int_equal(gen, 2);
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    /* a Stable group answers a SyncGroup at once with what it has */
    struct answer s = {0};
    assert_int_equal(sync_group(f, b, gen, &s, 0, NULL), 0);
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.assignment, "pb");
}

/* A member that stops heartbeating is removed after its session timeout, and the
 * others rebalance without it. */
static void test_session_timeout(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_stable(f, a, b, sizeof a);
    f->now += 6000;
    assert_int_equal(heartbeat(f, a, gen), KAFKA_NONE);
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(group_g(f)->nmembers, 2); /* b: 6 s of 10 */
    f->now += 4001;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(group_g(f)->nmembers, 1);
    assert_null(member_find(group_g(f), kstr_from(b)));
    assert_int_equal(group_g(f)->state, GROUP_PREPARING_REBALANCE);
    assert_int_equal(heartbeat(f, b, gen), KAFKA_UNKNOWN_MEMBER_ID);
    struct answer ja = {0};
    assert_int_equal(join(f, a, &ja), KAFKA_NONE);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(ja.generation, gen + 1);
    assert_int_equal(ja.nmembers, 1);
}

/* The join phase ends at the rebalance timeout; members that did not rejoin by
 * then are removed. */
static void test_rebalance_timeout(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_stable(f, a, b, sizeof a);
    struct answer jc = {0}, ja = {0};
    assert_int_equal(join(f, "", &jc), KAFKA_NONE);
    assert_int_equal(join(f, a, &ja), KAFKA_NONE);
    assert_int_equal(ja.calls + jc.calls, 0); /* b has not rejoined */
    /* b stays alive (heartbeats) but never rejoins: only the rebalance timeout,
     * 30 s, can end the phase */
    for (int t = 5000; t <= 30000; t += 5000) {
        f->now += 5000;
        assert_int_equal(heartbeat(f, b, gen), KAFKA_REBALANCE_IN_PROGRESS);
        groups_expire_members(&f->gs, f->now);
        if (t < 30000)
            assert_int_equal(ja.calls + jc.calls, 0);
    }
    assert_int_equal(ja.calls, 1);
    assert_int_equal(jc.calls, 1);
    assert_int_equal(ja.generation, gen + 1);
    assert_int_equal(group_g(f)->nmembers, 2);
    assert_null(member_find(group_g(f), kstr_from(b)));
    assert_int_equal(ja.nmembers + jc.nmembers, 2); /* the leader's list */
}

/* A static member that comes back with its instance id takes its old place under
 * a new member id; the old id is no longer known. */
static void test_static_member_rejoin(void **state)
{
    struct fixture *f = *state;
    struct answer j1 = {0}, j2 = {0};
    struct join_args args = {.instance = "pod-1"};
    assert_int_equal(join_full(f, args, &j1, NULL, 0), KAFKA_NONE);
    assert_int_equal(j1.calls, 1);
    char old[128];
    snprintf(old, sizeof old, "%s", j1.member_id);
    assert_string_equal(member_find(group_g(f), kstr_from(old))->instance_id, "pod-1");
    args.v4 = true; /* a static member gets no MEMBER_ID_REQUIRED */
    assert_int_equal(join_full(f, args, &j2, NULL, 0), KAFKA_NONE);
    assert_int_equal(j2.calls, 1);
    assert_int_equal(group_g(f)->nmembers, 1);
    assert_string_not_equal(j2.member_id, old);
    assert_string_equal(j2.leader, j2.member_id);
    assert_int_equal(heartbeat(f, old, j2.generation), KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(f, j2.member_id, j2.generation), KAFKA_NONE);
}

/* LeaveGroup removes a member (by id or by instance id) and rebalances the rest;
 * the last member leaving makes the group Empty. */
static void test_leave(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_stable(f, a, b, sizeof a);
    assert_int_equal(group_leave(&f->gs, KSTR("g"), KSTR("nobody"), KSTR_NULL, KSTR_NULL, f->now),
                     KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(group_leave(&f->gs, KSTR("other"), kstr_from(b), KSTR_NULL, KSTR_NULL, f->now),
                     KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(group_leave(&f->gs, KSTR("g"), kstr_from(b), KSTR_NULL, KSTR_NULL, f->now),
                     KAFKA_NONE);
    assert_int_equal(group_g(f)->nmembers, 1);
    assert_int_equal(group_g(f)->state, GROUP_PREPARING_REBALANCE);
    assert_int_equal(heartbeat(f, a, gen), KAFKA_REBALANCE_IN_PROGRESS);
    assert_int_equal(group_leave(&f->gs, KSTR("g"), kstr_from(a), KSTR_NULL, KSTR_NULL, f->now),
                     KAFKA_NONE);
    assert_int_equal(group_g(f)->nmembers, 0);
    assert_int_equal(group_g(f)->state, GROUP_EMPTY);
    /* by instance id */
    struct answer j = {0};
    assert_int_equal(join_full(f, (struct join_args){.instance = "pod-9"}, &j, NULL, 0),
                     KAFKA_NONE);
    assert_int_equal(group_g(f)->nmembers, 1);
    assert_int_equal(group_leave(&f->gs, KSTR("g"), KSTR(""), KSTR("pod-9"), KSTR_NULL, f->now),
                     KAFKA_NONE);
    assert_int_equal(group_g(f)->nmembers, 0);
}

/* A join with no protocol in common with every member, or another protocol type,
 * is INCONSISTENT_GROUP_PROTOCOL; among common ones, the members' first choices
 * vote. */
static void test_protocol_vote(void **state)
{
    struct fixture *f = *state;
    struct answer j1 = {0}, j2 = {0}, j3 = {0}, bad = {0};
    assert_int_equal(
        join_full(f, (struct join_args){.protocols = "roundrobin,range"}, &j1, NULL, 0),
        KAFKA_NONE);
    assert_string_equal(j1.protocol, "roundrobin");
    assert_int_equal(join_full(f, (struct join_args){.protocols = "sticky"}, &bad, NULL, 0),
                     KAFKA_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(join_full(f, (struct join_args){.type = "connect"}, &bad, NULL, 0),
                     KAFKA_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(bad.calls, 0);
    assert_int_equal(group_g(f)->nmembers, 1);
    assert_int_equal(
        join_full(f, (struct join_args){.protocols = "roundrobin,range"}, &j2, NULL, 0),
        KAFKA_NONE);
    assert_int_equal(
        join_full(f, (struct join_args){.protocols = "range,sticky,roundrobin"}, &j3, NULL, 0),
        KAFKA_NONE);
    struct answer r1 = {0};
    assert_int_equal(
        join_full(f, (struct join_args){.member = j1.member_id, .protocols = "roundrobin,range"},
                  &r1, NULL, 0),
        KAFKA_NONE);
    assert_int_equal(r1.calls, 1);
    assert_int_equal(j2.calls, 1);
    assert_int_equal(j3.calls, 1);
    /* two votes against one, though the newest member (whose protocols are the
     * candidates) prefers range */
    assert_string_equal(r1.protocol, "roundrobin");
    assert_string_equal(j3.protocol, "roundrobin");
}

/* JoinGroup v4+ without a member id gets MEMBER_ID_REQUIRED and an id that then
 * joins; an id never handed out is UNKNOWN_MEMBER_ID, and a handed-out id
 * expires after the session timeout. */
static void test_member_id_required(void **state)
{
    struct fixture *f = *state;
    struct answer w = {0};
    char id[256], late[256];
    struct join_args args = {.v4 = true};
    assert_int_equal(join_full(f, args, &w, id, sizeof id), KAFKA_MEMBER_ID_REQUIRED);
    assert_true(strlen(id) > 0);
    assert_int_equal(w.calls, 0);
    assert_null(group_g(f)); /* nothing created yet */
    args.member = "made-up";
    assert_int_equal(join_full(f, args, &w, NULL, 0), KAFKA_UNKNOWN_MEMBER_ID);
    args.member = id;
    assert_int_equal(join_full(f, args, &w, NULL, 0), KAFKA_NONE);
    assert_int_equal(w.calls, 1);
    assert_string_equal(w.member_id, id);
    /* an id not used within the session timeout is forgotten */
    args.member = NULL;
    args.group = "h";
    assert_int_equal(join_full(f, args, &w, late, sizeof late), KAFKA_MEMBER_ID_REQUIRED);
    f->now += 10001;
    groups_expire_members(&f->gs, f->now);
    args.member = late;
    assert_int_equal(join_full(f, args, &w, NULL, 0), KAFKA_UNKNOWN_MEMBER_ID);
}

/* Heartbeat and SyncGroup name a group, member and generation; each wrong part
 * has its error. */
static void test_illegal_generation_unknown_member(void **state)
{
    struct fixture *f = *state;
    char a[128];
    one_stable(f, a, sizeof a);
    assert_int_equal(heartbeat(f, a, 1), KAFKA_NONE);
    assert_int_equal(heartbeat(f, a, 2), KAFKA_ILLEGAL_GENERATION);
    assert_int_equal(heartbeat(f, a, 0), KAFKA_ILLEGAL_GENERATION);
    assert_int_equal(heartbeat(f, "stranger", 1), KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(group_heartbeat(&f->gs, KSTR("nogroup"), kstr_from(a), KSTR_NULL, 1, f->now),
                     KAFKA_UNKNOWN_MEMBER_ID);
    struct answer s1 = {0}, s2 = {0};
    assert_int_equal(sync_group(f, a, 7, &s1, 0, NULL), 0);
    assert_int_equal(s1.calls, 1);
    assert_int_equal(s1.err, KAFKA_ILLEGAL_GENERATION);
    assert_int_equal(sync_group(f, "stranger", 1, &s2, 0, NULL), 0);
    assert_int_equal(s2.err, KAFKA_UNKNOWN_MEMBER_ID);
}

/* During a rebalance, SyncGroup is REBALANCE_IN_PROGRESS, and a follower already
 * waiting in SyncGroup is told so when the rebalance starts. */
static void test_sync_during_rebalance(void **state)
{
    struct fixture *f = *state;
    char a[128];
    one_stable(f, a, sizeof a);
    struct answer jb = {0}, ja = {0}, sb = {0}, jc = {0}, sa = {0};
    assert_int_equal(join(f, "", &jb), KAFKA_NONE);
    assert_int_equal(sync_group(f, a, 1, &sa, 0, NULL), 0);
    assert_int_equal(sa.err, KAFKA_REBALANCE_IN_PROGRESS);
    assert_int_equal(join(f, a, &ja), KAFKA_NONE);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(sync_group(f, jb.member_id, jb.generation, &sb, 0, NULL), 0);
    assert_int_equal(sb.calls, 0); /* the follower waits for the leader */
    assert_int_equal(join(f, "", &jc), KAFKA_NONE);
    assert_int_equal(sb.calls, 1);
    assert_int_equal(sb.err, KAFKA_REBALANCE_IN_PROGRESS);
}

/* A retried JoinGroup replaces the one waiting, which is answered
 * REBALANCE_IN_PROGRESS; an unchanged rejoin of a Stable follower is answered
 * with the current generation and starts no rebalance. */
static void test_rejoin_cases(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_stable(f, a, b, sizeof a);
    struct answer jb = {0};
    assert_int_equal(join(f, b, &jb), KAFKA_NONE);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(jb.generation, gen);
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    struct answer jc = {0}, jb1 = {0}, jb2 = {0};
    assert_int_equal(join(f, "", &jc), KAFKA_NONE);
    assert_int_equal(join(f, b, &jb1), KAFKA_NONE);
    assert_int_equal(join(f, b, &jb2), KAFKA_NONE);
    assert_int_equal(jb1.calls, 1);
    assert_int_equal(jb1.err, KAFKA_REBALANCE_IN_PROGRESS);
    assert_string_equal(jb1.member_id, b);
    assert_int_equal(jb2.calls, 0);
}

/* Joins outside the configured bounds get their errors and change nothing. */
static void test_join_bounds(void **state)
{
    struct fixture *f = *state;
    struct answer w = {0};
    assert_int_equal(join_full(f, (struct join_args){.session_ms = 5999}, &w, NULL, 0),
                     KAFKA_INVALID_SESSION_TIMEOUT);
    assert_int_equal(join_full(f, (struct join_args){.session_ms = 1800001}, &w, NULL, 0),
                     KAFKA_INVALID_SESSION_TIMEOUT);
    assert_int_equal(join_full(f, (struct join_args){.group = ""}, &w, NULL, 0),
                     KAFKA_INVALID_GROUP_ID);
    assert_int_equal(join_full(f, (struct join_args){.type = ""}, &w, NULL, 0),
                     KAFKA_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(join_full(f, (struct join_args){.instance = ""}, &w, NULL, 0),
                     KAFKA_INVALID_GROUP_ID);
    assert_int_equal(w.calls, 0);
    assert_null(group_g(f));
}

/* group.max.size stops the member after the last one that fits. */
static void test_group_max_size(void **state)
{
    (void)state;
    struct fixture *f = fixture_new("group.max.size=2");
    struct answer w1 = {0}, w2 = {0}, w3 = {0};
    assert_int_equal(join(f, "", &w1), KAFKA_NONE);
    assert_int_equal(join(f, "", &w2), KAFKA_NONE);
    assert_int_equal(join(f, "", &w3), KAFKA_GROUP_MAX_SIZE_REACHED);
    assert_int_equal(w3.calls, 0);
    assert_int_equal(group_g(f)->nmembers, 2);
    fixture_free(f);
}

/* group.initial.rebalance.delay.ms holds the first join phase of an Empty group
 * open for that long, even when everyone is in. */
static void test_initial_rebalance_delay(void **state)
{
    (void)state;
    struct fixture *f = fixture_new("group.initial.rebalance.delay.ms=3000");
    struct answer w1 = {0}, w2 = {0};
    assert_int_equal(join(f, "", &w1), KAFKA_NONE);
    assert_int_equal(join(f, "", &w2), KAFKA_NONE);
    f->now += 2999;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(w1.calls + w2.calls, 0);
    f->now += 1;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(w1.calls, 1);
    assert_int_equal(w2.calls, 1);
    assert_int_equal(w1.generation, 1);
    fixture_free(f);
}

/* Closing the coordinator answers every waiting request once. */
static void test_release_answers_waiters(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL);
    char a[128];
    one_stable(f, a, sizeof a);
    struct answer jb = {0};
    assert_int_equal(join(f, "", &jb), KAFKA_NONE);
    assert_int_equal(jb.calls, 0);
    fixture_free(f);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(jb.err, KAFKA_UNKNOWN_MEMBER_ID);
}

/* Two static members, pod-a (leading) and pod-b, in a Stable group "g"; their ids
 * into a and b; the generation returned. */
static int32_t two_static(struct fixture *f, char *a, char *b, size_t len)
{
    struct answer ja = {0}, jb = {0}, ja2 = {0}, sa = {0}, sb = {0};
    assert_int_equal(
        join_full(f, (struct join_args){.instance = "pod-a", .v4 = true}, &ja, NULL, 0),
        KAFKA_NONE);
    assert_int_equal(ja.calls, 1);
    snprintf(a, len, "%s", ja.member_id);
    assert_int_equal(
        join_full(f, (struct join_args){.instance = "pod-b", .v4 = true}, &jb, NULL, 0),
        KAFKA_NONE);
    assert_int_equal(
        join_full(f, (struct join_args){.member = a, .instance = "pod-a"}, &ja2, NULL, 0),
        KAFKA_NONE);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(ja2.calls, 1);
    assert_string_equal(ja2.leader, a);
    snprintf(b, len, "%s", jb.member_id);
    char pa[200], pb[200];
    snprintf(pa, sizeof pa, "%s=pa", a);
    snprintf(pb, sizeof pb, "%s=pb", b);
    const char *pairs[] = {pa, pb};
    assert_int_equal(sync_group(f, b, jb.generation, &sb, 0, NULL), 0);
    assert_int_equal(sync_group(f, a, ja2.generation, &sa, 2, pairs), 0);
    assert_string_equal(sb.assignment, "pb");
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    return ja2.generation;
}

static int16_t heartbeat_static(struct fixture *f, const char *member, const char *inst,
                                int32_t gen)
{
    return group_heartbeat(&f->gs, KSTR("g"), kstr_from(member), kstr_from(inst), gen, f->now);
}

/* KIP-345: a static follower whose client restarts (no member id, its instance
 * id) gets the current generation at once under a new id, the group stays
 * Stable (nobody else rebalances), and its SyncGroup returns what it had. The
 * old id naming the instance is fenced everywhere; without the instance it is
 * simply unknown. */
static void test_static_rejoin_no_rebalance(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_static(f, a, b, sizeof a);
    struct answer j = {0}, s = {0};
    assert_int_equal(join_full(f, (struct join_args){.instance = "pod-b", .v4 = true}, &j, NULL, 0),
                     KAFKA_NONE);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.err, KAFKA_NONE);
    assert_string_not_equal(j.member_id, b);
    assert_int_equal(j.generation, gen);
    assert_string_equal(j.leader, a);
    assert_int_equal(j.nmembers, 0);
    assert_false(j.skip_assignment);
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    assert_int_equal(group_g(f)->nmembers, 2);
    assert_int_equal(heartbeat(f, a, gen), KAFKA_NONE); /* the leader sees no rebalance */
    assert_int_equal(sync_group(f, j.member_id, gen, &s, 0, NULL), 0);
    assert_int_equal(s.err, KAFKA_NONE);
    assert_string_equal(s.assignment, "pb");
    /* the replaced id */
    assert_int_equal(heartbeat_static(f, b, "pod-b", gen), KAFKA_FENCED_INSTANCE_ID);
    assert_int_equal(heartbeat(f, b, gen), KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat_static(f, j.member_id, "pod-b", gen), KAFKA_NONE);
    assert_int_equal(heartbeat_static(f, j.member_id, "pod-z", gen), KAFKA_UNKNOWN_MEMBER_ID);
    struct answer s2 = {0};
    struct group_sync sy = {.group_id = KSTR("g"),
                            .member_id = kstr_from(b),
                            .instance_id = KSTR("pod-b"),
                            .protocol_type = KSTR_NULL,
                            .protocol = KSTR_NULL,
                            .generation = gen};
    assert_int_equal(group_sync(&f->gs, &sy, &s2, f->now), 0);
    assert_int_equal(s2.err, KAFKA_FENCED_INSTANCE_ID);
    assert_int_equal(group_commit_allowed(group_g(f), kstr_from(b), KSTR("pod-b"), gen, f->now),
                     KAFKA_FENCED_INSTANCE_ID);
    assert_int_equal(group_leave(&f->gs, KSTR("g"), kstr_from(b), KSTR("pod-b"), KSTR_NULL, f->now),
                     KAFKA_FENCED_INSTANCE_ID);
    struct answer jold = {0};
    assert_int_equal(
        join_full(f, (struct join_args){.member = b, .instance = "pod-b"}, &jold, NULL, 0),
        KAFKA_FENCED_INSTANCE_ID);
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    assert_int_equal(group_g(f)->nmembers, 2);
}

/* The leader's client restarts: before v9 the answer names the leader as it was
 * (the old id), so the client does not assign and its SyncGroup gets what it
 * had; the group's leader is the new id from then on. From v9 the new id is
 * named leader with every member and skip_assignment (KIP-814). */
static void test_static_leader_rejoin(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_static(f, a, b, sizeof a);
    struct answer j = {0}, s = {0};
    assert_int_equal(join_full(f, (struct join_args){.instance = "pod-a", .v4 = true}, &j, NULL, 0),
                     KAFKA_NONE);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.generation, gen);
    assert_string_equal(j.leader, a); /* the old id */
    assert_int_equal(j.nmembers, 0);
    assert_false(j.skip_assignment);
    assert_string_equal(group_g(f)->leader, j.member_id);
    assert_int_equal(sync_group(f, j.member_id, gen, &s, 0, NULL), 0);
    assert_string_equal(s.assignment, "pa");
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    struct answer j9 = {0};
    assert_int_equal(
        join_full(f, (struct join_args){.instance = "pod-a", .v9 = true}, &j9, NULL, 0),
        KAFKA_NONE);
    assert_int_equal(j9.calls, 1);
    assert_int_equal(j9.generation, gen);
    assert_string_equal(j9.leader, j9.member_id);
    assert_int_equal(j9.nmembers, 2);
    assert_true(j9.skip_assignment);
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    assert_int_equal(heartbeat(f, b, gen), KAFKA_NONE);
}

/* A static member coming back with protocols that change the group's choice
 * rebalances; one coming back while the leader assigns fences its waiting
 * SyncGroup and rebalances (its old id may be in the assignment). */
static void test_static_rejoin_rebalances(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_static(f, a, b, sizeof a);
    struct answer bad = {0};
    assert_int_equal(join_full(f,
                               (struct join_args){.instance = "pod-b", .protocols = "roundrobin"},
                               &bad, NULL, 0),
                     KAFKA_INCONSISTENT_GROUP_PROTOCOL); /* nothing in common with pod-a */
    /* new protocols that leave the choice (range) alone: no rebalance */
    struct answer j = {0};
    assert_int_equal(
        join_full(f, (struct join_args){.instance = "pod-b", .protocols = "roundrobin,range"}, &j,
                  NULL, 0),
        KAFKA_NONE);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.generation, gen);
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    /* CompletingRebalance: b waits in SyncGroup, then its client restarts */
    struct answer ja = {0}, sb = {0}, jb = {0}, j2 = {0};
    assert_int_equal(
        join_full(f, (struct join_args){.member = a, .instance = "pod-a"}, &ja, NULL, 0),
        KAFKA_NONE); /* the leader rejoining rebalances */
    assert_int_equal(join_full(f,
                               (struct join_args){.member = j.member_id,
                                                  .instance = "pod-b",
                                                  .protocols = "roundrobin,range"},
                               &jb, NULL, 0),
                     KAFKA_NONE);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(jb.generation, gen + 1);
    assert_int_equal(sync_group(f, jb.member_id, jb.generation, &sb, 0, NULL), 0);
    assert_int_equal(sb.calls, 0);
    assert_int_equal(join_full(f, (struct join_args){.instance = "pod-b"}, &j2, NULL, 0),
                     KAFKA_NONE);
    assert_int_equal(sb.calls, 1);
    assert_int_equal(sb.err, KAFKA_FENCED_INSTANCE_ID);
    assert_int_equal(group_g(f)->state, GROUP_PREPARING_REBALANCE);
}

/* A lone static member coming back preferring another protocol changes the
 * vote, so the group rebalances (here at once: it is the only member). */
static void test_static_rejoin_new_choice(void **state)
{
    struct fixture *f = *state;
    struct answer j = {0}, s = {0}, j2 = {0};
    assert_int_equal(
        join_full(f, (struct join_args){.instance = "pod-s", .protocols = "range,roundrobin"}, &j,
                  NULL, 0),
        KAFKA_NONE);
    char pair[200];
    snprintf(pair, sizeof pair, "%s=x", j.member_id);
    const char *pairs[] = {pair};
    assert_int_equal(sync_group(f, j.member_id, j.generation, &s, 1, pairs), 0);
    assert_int_equal(group_g(f)->state, GROUP_STABLE);
    assert_int_equal(
        join_full(f, (struct join_args){.instance = "pod-s", .protocols = "roundrobin,range"}, &j2,
                  NULL, 0),
        KAFKA_NONE);
    assert_int_equal(j2.calls, 1);
    assert_int_equal(j2.generation, j.generation + 1);
    assert_string_equal(j2.protocol, "roundrobin");
    assert_string_equal(j2.leader, j2.member_id);
    assert_int_equal(group_g(f)->state, GROUP_COMPLETING_REBALANCE);
}

/* A static member does not leave when its client closes: only its session
 * timeout removes it, exactly at last heartbeat + session.timeout.ms, and the
 * coordinator's next deadline is that moment. */
static void test_static_member_session_timeout(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_static(f, a, b, sizeof a);
    int64_t t0 = f->now;
    f->now += 3000;
    assert_int_equal(heartbeat(f, a, gen), KAFKA_NONE);
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(groups_next_deadline(&f->gs), t0 + 10000); /* b's */
    f->now = t0 + 9999;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(group_g(f)->nmembers, 2);
    f->now = t0 + 10000;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(group_g(f)->nmembers, 1);
    assert_int_equal(group_g(f)->state, GROUP_PREPARING_REBALANCE);
    /* a must rejoin; until it does, its own session timeout runs on */
    assert_int_equal(groups_next_deadline(&f->gs), t0 + 13000);
}

/* Every deadline is kept to the millisecond: the join phase's rebalance timeout,
 * and the last member's session timeout, after which the group is Empty (so
 * DeleteGroups 100 ms later succeeds). A deadline set by a request is never later
 * than the coordinator's next deadline says. */
static void test_deadlines_exact(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_stable(f, a, b, sizeof a);
    int64_t t0 = f->now;
    assert_true(groups_next_deadline(&f->gs) <= t0 + 10000);
    struct answer jc = {0}, ja = {0};
    assert_int_equal(join(f, "", &jc), KAFKA_NONE);
    assert_int_equal(join(f, a, &ja), KAFKA_NONE);
    assert_true(groups_next_deadline(&f->gs) <= t0 + 30000);
    for (int i = 0; i < 6; i++) { /* b heartbeats and never rejoins */
        f->now += 4999;
        assert_int_equal(heartbeat(f, b, gen), KAFKA_REBALANCE_IN_PROGRESS);
        groups_expire_members(&f->gs, f->now);
    }
    assert_int_equal(groups_next_deadline(&f->gs), t0 + 30000);
    f->now = t0 + 29999;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(ja.calls, 0);
    f->now = t0 + 30000;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(ja.calls, 1);
    /* both members stop: the group empties at the last session timeout */
    int64_t t1 = f->now;
    assert_int_equal(groups_next_deadline(&f->gs), t1 + 10000);
    f->now = t1 + 9999;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(group_g(f)->nmembers, 2);
    f->now = t1 + 10000;
    groups_expire_members(&f->gs, f->now);
    assert_int_equal(group_g(f)->nmembers, 0);
    assert_int_equal(group_g(f)->state, GROUP_EMPTY);
    assert_int_equal(groups_next_deadline(&f->gs), INT64_MAX);
}

/* OffsetCommit's checks as Kafka makes them for a classic group. */
static void test_commit_allowed(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128];
    int32_t gen = two_static(f, a, b, sizeof a);
    struct group *g = group_g(f);
    assert_int_equal(group_commit_allowed(g, kstr_from(a), KSTR("pod-a"), gen, f->now), KAFKA_NONE);
    assert_int_equal(group_commit_allowed(g, kstr_from(a), KSTR_NULL, gen, f->now), KAFKA_NONE);
    assert_int_equal(group_commit_allowed(g, kstr_from(a), KSTR_NULL, gen + 1, f->now),
                     KAFKA_ILLEGAL_GENERATION);
    assert_int_equal(group_commit_allowed(g, KSTR("x"), KSTR_NULL, gen, f->now),
                     KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(group_commit_allowed(g, kstr_from(a), KSTR("pod-b"), gen, f->now),
                     KAFKA_FENCED_INSTANCE_ID);
    assert_int_equal(group_commit_allowed(g, KSTR(""), KSTR_NULL, -1, f->now),
                     KAFKA_UNKNOWN_MEMBER_ID); /* from outside, while the group has members */
    struct answer jc = {0};
    assert_int_equal(join(f, "", &jc), KAFKA_NONE); /* PreparingRebalance: commits go on */
    assert_int_equal(group_commit_allowed(g, kstr_from(a), KSTR_NULL, gen, f->now), KAFKA_NONE);
}

/* LeaveGroup by instance id alone (an administrator's), by a handed-out id that
 * never joined, and of a whole group. */
static void test_leave_static(void **state)
{
    struct fixture *f = *state;
    char a[128], b[128], pending[256];
    two_static(f, a, b, sizeof a);
    assert_int_equal(group_leave(&f->gs, KSTR("g"), KSTR(""), KSTR("pod-x"), KSTR_NULL, f->now),
                     KAFKA_UNKNOWN_MEMBER_ID);
    assert_int_equal(
        group_leave(&f->gs, KSTR("g"), KSTR(""), KSTR("pod-b"), KSTR("rolling"), f->now),
        KAFKA_NONE);
    assert_null(member_find(group_g(f), kstr_from(b)));
    struct answer w = {0};
    assert_int_equal(join_full(f, (struct join_args){.v4 = true}, &w, pending, sizeof pending),
                     KAFKA_MEMBER_ID_REQUIRED);
    assert_int_equal(
        group_leave(&f->gs, KSTR("g"), kstr_from(pending), KSTR_NULL, KSTR_NULL, f->now),
        KAFKA_NONE);
    assert_int_equal(join_full(f, (struct join_args){.member = pending}, &w, NULL, 0),
                     KAFKA_UNKNOWN_MEMBER_ID);
    /* a handed-out id cannot take an instance id another member holds */
    assert_int_equal(join_full(f, (struct join_args){.v4 = true}, &w, pending, sizeof pending),
                     KAFKA_MEMBER_ID_REQUIRED);
    assert_int_equal(
        join_full(f, (struct join_args){.member = pending, .instance = "pod-a"}, &w, NULL, 0),
        KAFKA_FENCED_INSTANCE_ID);
    assert_int_equal(group_g(f)->nmembers, 1);
    assert_string_equal(member_find(group_g(f), kstr_from(a))->instance_id, "pod-a");
}

/* SyncGroup v5 names the protocol type and name; a mismatch is
 * INCONSISTENT_GROUP_PROTOCOL. */
static void test_sync_protocol_check(void **state)
{
    struct fixture *f = *state;
    char a[128];
    one_stable(f, a, sizeof a);
    struct answer s1 = {0}, s2 = {0}, s3 = {0};
    struct group_sync sy = {.group_id = KSTR("g"),
                            .member_id = kstr_from(a),
                            .instance_id = KSTR_NULL,
                            .protocol_type = KSTR("connect"),
                            .protocol = KSTR_NULL,
                            .generation = 1};
    assert_int_equal(group_sync(&f->gs, &sy, &s1, f->now), 0);
    assert_int_equal(s1.err, KAFKA_INCONSISTENT_GROUP_PROTOCOL);
    sy.protocol_type = KSTR("consumer");
    sy.protocol = KSTR("roundrobin");
    assert_int_equal(group_sync(&f->gs, &sy, &s2, f->now), 0);
    assert_int_equal(s2.err, KAFKA_INCONSISTENT_GROUP_PROTOCOL);
    sy.protocol = KSTR("range");
    assert_int_equal(group_sync(&f->gs, &sy, &s3, f->now), 0);
    assert_int_equal(s3.err, KAFKA_NONE);
    assert_string_equal(s3.assignment, "a0");
}

/* groups_list shows classic groups and those of another type that plug in. */
static size_t other_count(void *ctx)
{
    (void)ctx;
    return 1;
}

static void other_foreach(void *ctx, group_listing_fn fn, void *arg)
{
    (void)ctx;
    struct group_listing l = {"cg", "consumer", "Assigning", "consumer"};
    fn(arg, &l);
}

static int other_describe(void *ctx, struct kstr id, struct arena *a,
                          struct kafka_describe_groups_resp_group *o)
{
    (void)ctx, (void)id, (void)a, (void)o;
    return -ENOENT;
}

static void list_collect(void *arg, const struct group_listing *l)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s/%s/%s;", l->id, l->type, l->state);
}

static void test_list_other_kind(void **state)
{
    struct fixture *f = *state;
    char a[128], out[256] = "";
    one_stable(f, a, sizeof a);
    static const struct group_kind other = {other_count, other_foreach, other_describe, NULL};
    groups_set_other_kind(&f->gs, &other, NULL);
    assert_int_equal(groups_count(&f->gs), 2);
    groups_list(&f->gs, list_collect, out);
    assert_string_equal(out, "g/classic/Stable;cg/consumer/Assigning;");
}

/* A LeaveGroup may name millions of members (8 M in 64 MiB): each is found by
 * hash, not by a walk through up to group.max.size members. 1000 members, then a
 * million leaves naming an unknown instance, in well under the 5 s bound (a walk
 * takes about 1e9 comparisons). */
static void test_leave_many_names(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL);
    struct answer *w = tu_xmalloc(1000 * sizeof *w);
    memset(w, 0, 1000 * sizeof *w);
    for (int i = 0; i < 1000; i++) {
        char inst[32];
        snprintf(inst, sizeof inst, "pod-%04d", i);
        assert_int_equal(join_full(f, (struct join_args){.instance = inst}, &w[i], NULL, 0),
                         KAFKA_NONE);
    }
    assert_int_equal(group_g(f)->nmembers, 1000);
    int64_t t0 = clock_mono_ms();
    for (int i = 0; i < 1000000; i++)
        assert_int_equal(
            group_leave(&f->gs, KSTR("g"), KSTR(""), KSTR("pod-none"), KSTR_NULL, f->now),
            KAFKA_UNKNOWN_MEMBER_ID);
    int64_t took = clock_mono_ms() - t0;
    printf("# 1 000 000 leaves naming an unknown instance in a 1000-member group: %lld ms\n",
           (long long)took);
    assert_true(took < 5000);
    assert_int_equal(group_leave(&f->gs, KSTR("g"), KSTR(""), KSTR("pod-0999"), KSTR_NULL, f->now),
                     KAFKA_NONE);
    assert_int_equal(group_g(f)->nmembers, 999);
    f->gs.ops = &quiet_ops;
    fixture_free(f);
    free(w);
}

int main(void)
{
    log_set_level(LOG_WARN); /* a line per join otherwise */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_empty_to_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_member_rebalances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follower_waits_for_leader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member_rejoin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_vote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_id_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_illegal_generation_unknown_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_during_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejoin_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_bounds, setup, teardown),
        cmocka_unit_test(test_group_max_size),
        cmocka_unit_test(test_initial_rebalance_delay),
        cmocka_unit_test(test_release_answers_waiters),
        cmocka_unit_test_setup_teardown(test_static_rejoin_no_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_leader_rejoin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_rejoin_rebalances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_rejoin_new_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member_session_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadlines_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_static, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_protocol_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_other_kind, setup, teardown),
        cmocka_unit_test(test_leave_many_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
