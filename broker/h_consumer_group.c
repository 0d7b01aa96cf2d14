/*
 * h_consumer_group.c - ConsumerGroupHeartbeat and ConsumerGroupDescribe over
 * the KIP-848 state machine (broker/cgroup.c), and the broker's side of it:
 * topics from the store, the classic groups beside them, start, end and timers.
 *
 * A group id names either a classic group (group.c) or a consumer group, never
 * both with members. A consumer group's committed offsets are kept by the
 * classic coordinator's offsets map (an Empty classic group of the same id that
 * holds only offsets), so they live in __consumer_offsets and survive restarts;
 * the consumer group itself lives in memory and its members rejoin after a
 * restart (their heartbeats get UNKNOWN_MEMBER_ID, and they join at epoch 0).
 *
 * Answers borrow the group's strings and partition lists: request_respond()
 * encodes at once, before the state machine runs again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cgroup.h"
#include "broker/offsets.h"
#include "broker/group.h"
#include "lib/clock.h"
#include "lib/log.h"

/* Register the calls committed offsets make into consumer groups (or none). */
static void offsets_seam_set(bool on);

/* ---- the world the state machine sees ---- */

static bool env_topic(void *arg, const char *name, uint8_t id[16], int32_t *nparts)
{
    struct broker *b = arg;
    struct store_topic *t = store_topic_get(b->store, name);
    if (!t)
        return false;
    memcpy(id, store_topic_id(t), 16);
    *nparts = store_topic_partition_count(t);
    store_topic_put(t);
    return true;
}

static char **env_names(void *arg)
{
    struct broker *b = arg;
    return store_topic_names(b->store);
}

static size_t env_classic_count(void *arg)
{
    struct broker *b = arg;
    return b->groups ? b->groups->by_id.n : 0;
}

static int env_classic_state(void *arg, const char *group_id)
{
    struct broker *b = arg;
    struct group *g = b->groups ? group_find(b->groups, kstr_from(group_id)) : NULL;
    return g ? g->members != NULL : -1;
}

static const struct group_kind consumer_kind; /* below, with the classic APIs' view */
static void cgroups_timer_cb(int fd, short what, void *arg);

int cgroups_open(struct broker *b)
{
    b->cgroups = calloc(1, sizeof *b->cgroups);
    if (!b->cgroups)
        return -ENOMEM;
    struct cgroup_config cfg = {
        .session_ms = b->cfg->cgroup_session_ms,
        .heartbeat_ms = (int32_t)b->cfg->cgroup_heartbeat_ms,
        .max_size = (int32_t)b->cfg->cgroup_max_size,
        .groups_max = b->cfg->groups_max,
    };
    struct cgroup_env env = {b, env_topic, env_names, env_classic_count, env_classic_state};
    cgroups_init(b->cgroups, &cfg, &env);
    if (deadline_timer_init(&b->cgroups_timer, b->base, cgroups_timer_cb, b))
        return -ENOMEM;
    offsets_seam_set(true);
    if (b->groups)
        groups_set_other_kind(b->groups, &consumer_kind, b);
    return 0;
}

void cgroups_close(struct broker *b)
{
    if (!b->cgroups)
        return;
    offsets_seam_set(false);
    deadline_timer_release(&b->cgroups_timer);
    cgroups_release(b->cgroups);
    free(b->cgroups);
    b->cgroups = NULL;
}

/* Run what is due and arm the timer for the next deadline: after every heartbeat
 * and from the timer itself, so a session ends at its deadline, not at a sweep. */
static void cgroups_timer_arm(struct broker *b)
{
    int64_t now = clock_wall_ms();
    if (!b->cgroups)
        return;
    if (now >= cgroups_next_deadline(b->cgroups))
        cgroups_expire(b->cgroups, now);
    deadline_timer_set(&b->cgroups_timer, cgroups_next_deadline(b->cgroups), now);
}

static void cgroups_timer_cb(int fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd, (void)what;
    deadline_timer_fired(&b->cgroups_timer);
    cgroups_timer_arm(b);
}

void cgroups_tick(struct broker *b, int64_t now_ms)
{
    (void)now_ms; /* the timer keeps the time; the sweep only backs it up */
    cgroups_timer_arm(b);
}

bool cgroup_exists(struct broker *b, struct kstr group_id)
{
    return b->cgroups && cgroup_find(b->cgroups, group_id);
}

/*
 * The seam committed offsets offer consumer groups (broker/offsets.h):
 * OffsetCommit, OffsetFetch and OffsetDelete ask these calls about the ids
 * consumer groups own.
 */

static bool cgroup_offsets_owns(struct broker *b, struct kstr group_id)
{
    return cgroup_exists(b, group_id);
}

static int16_t cgroup_offsets_commit(struct broker *b, struct kstr group_id,
                                     const struct offsets_member *m)
{
    return cgroups_commit_allowed(b->cgroups, group_id, m->member_id, m->epoch, m->version);
}

static int16_t cgroup_offsets_fetch(struct broker *b, struct kstr group_id,
                                    const struct offsets_member *m)
{
    return cgroups_fetch_allowed(b->cgroups, group_id, m->member_id, m->epoch);
}

static bool cgroup_offsets_subscribed(struct broker *b, struct kstr group_id, struct kstr topic)
{
    return cgroups_subscribed(b->cgroups, group_id, topic);
}

static const struct offsets_consumer_ops cgroup_offsets_ops = {
    cgroup_offsets_owns, cgroup_offsets_commit, cgroup_offsets_fetch, cgroup_offsets_subscribed};

static void offsets_seam_set(bool on)
{
    offsets_consumer_ops_set(on ? &cgroup_offsets_ops : NULL);
}

/* ---- ConsumerGroupHeartbeat ---- */

/* The owned partitions of a request, flat (NULL with *n -1 when not sent; NULL
 * with *n 0 when they pass CGROUP_MAX_PARTITIONS, more than any member owns). */
static struct cgroup_tp *owned_flatten(const struct kafka_consumer_group_heartbeat_req *req,
                                       int32_t *n)
{
    *n = -1;
    if (req->n_topic_partitions < 0)
        return NULL;
    size_t total = 0;
    for (int32_t i = 0; i < req->n_topic_partitions; i++)
        total += (size_t)(req->topic_partitions[i].n_partitions > 0
                              ? req->topic_partitions[i].n_partitions
                              : 0);
    if (total > CGROUP_MAX_PARTITIONS) { /* no member can own more: refused, not copied */
        *n = 0;
        return NULL;
    }
    struct cgroup_tp *v = xcalloc(total + 1, sizeof *v);
    *n = 0;
    for (int32_t i = 0; i < req->n_topic_partitions; i++)
        for (int32_t j = 0; j < req->topic_partitions[i].n_partitions; j++) {
            memcpy(v[*n].topic_id, req->topic_partitions[i].topic_id, 16);
            v[(*n)++].partition = req->topic_partitions[i].partitions[j];
        }
    return v;
}

/* Topics of a sorted set: runs of one topic id. */
static int32_t tps_topics(const struct cgroup_tps *s)
{
    int32_t n = 0;
    for (int32_t i = 0; i < s->n; i++)
        if (i == 0 || memcmp(s->v[i].topic_id, s->v[i - 1].topic_id, 16))
            n++;
    return n;
}

static int hb_assignment(struct request *rq, struct kafka_consumer_group_heartbeat_resp *r,
                         const struct cgroup_tps *s)
{
    struct pending *pd = rq->pd;
    int32_t nt = tps_topics(s);
    if (!response_fits(rq,
                       response_bytes((uint64_t)nt + 1, sizeof *r->assignment.topic_partitions) +
                           response_bytes((uint64_t)s->n + 1, sizeof(int32_t))))
        return -EMSGSIZE;
    r->has_assignment = true;
    r->assignment.topic_partitions =
        PENDING_NEW(pd, struct kafka_consumer_group_heartbeat_resp_assigned, nt + 1);
    int32_t *parts = PENDING_NEW(pd, int32_t, s->n + 1);
    struct kafka_consumer_group_heartbeat_resp_assigned *cur = NULL;
    for (int32_t i = 0; i < s->n; i++) {
        if (!cur || memcmp(cur->topic_id, s->v[i].topic_id, 16)) {
            cur = &r->assignment.topic_partitions[r->assignment.n_topic_partitions++];
            memcpy(cur->topic_id, s->v[i].topic_id, 16);
            cur->partitions = parts + i;
        }
        cur->partitions[cur->n_partitions++] = s->v[i].partition;
    }
    return 0;
}

/* The client's address without the port, as DescribeGroups shows it. */
static void peer_host(const struct conn *c, char *buf, size_t size)
{
    snprintf(buf, size, "/%s", c->peer);
    char *colon = strrchr(buf, ':');
    if (colon)
        *colon = 0;
}

void handle_consumer_group_heartbeat(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_consumer_group_heartbeat_req *req = rq->body;
    struct kafka_consumer_group_heartbeat_resp *r = response_new(rq);
    if (!r) {
        request_refuse(rq, "the ConsumerGroupHeartbeat response would pass its memory limit");
        return;
    }
    /* Kafka: READ on the group, then DESCRIBE on every topic subscribed by name */
    int16_t denied = request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_GROUP, req->group_id)
                         ? KAFKA_NONE
                         : KAFKA_GROUP_AUTHORIZATION_FAILED;
    for (int32_t i = 0; !denied && i < req->n_subscribed_topic_names; i++)
        if (!request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC,
                                  req->subscribed_topic_names[i]))
            denied = KAFKA_TOPIC_AUTHORIZATION_FAILED;
    if (denied) {
        r->error_code = denied;
        request_respond(rq, r);
        return;
    }
    char host[sizeof rq->c->peer + 1];
    peer_host(rq->c, host, sizeof host);
    struct cgroup_hb hb = {
        .group_id = req->group_id,
        .member_id = req->member_id,
        .instance_id = req->instance_id,
        .rack_id = req->rack_id,
        .epoch = req->member_epoch,
        .rebalance_ms = req->rebalance_timeout_ms,
        .topics = req->subscribed_topic_names,
        .ntopics = req->n_subscribed_topic_names,
        .regex = rq->version >= 1 ? req->subscribed_topic_regex : KSTR_NULL,
        .assignor = req->server_assignor,
        .client_id = rq->hdr.client_id,
        .client_host = host,
    };
    struct cgroup_answer a = {.err = KAFKA_INVALID_REQUEST,
                              .msg = "TopicPartitions name more partitions than a group assigns",
                              .epoch = req->member_epoch};
    struct cgroup_tp *owned = owned_flatten(req, &hb.nowned);
    hb.owned = owned;
    if (owned || hb.nowned < 0)
        cgroup_heartbeat(b->cgroups, &hb, clock_wall_ms(), &a);
    free(owned);
    cgroups_timer_arm(b); /* the heartbeat moved this member's deadline */
    r->error_code = a.err;
    r->error_message = a.msg ? kstr_from(a.msg) : KSTR_NULL;
    r->member_id = a.member_id ? kstr_from(a.member_id) : req->member_id;
    r->member_epoch = a.epoch;
    r->heartbeat_interval_ms = a.heartbeat_ms;
    if (!a.err && a.m && a.send_assignment && hb_assignment(rq, r, &a.m->assigned)) {
        request_refuse(rq, "the ConsumerGroupHeartbeat response would pass 95 MiB");
        return;
    }
    request_respond(rq, r);
}

/* ---- ConsumerGroupDescribe ---- */

/* Response bytes one described group takes at most. */
static uint64_t describe_bytes(const struct cgroup *g)
{
    uint64_t n = 256 + strlen(g->id);
    for (const struct cgroup_member *m = g->members; m; m = m->next) {
        n += 512 + strlen(m->id) + strlen(m->client_id) + strlen(m->client_host);
        n += m->instance_id ? strlen(m->instance_id) : 0;
        n += m->rack_id ? strlen(m->rack_id) : 0;
        n += m->regex ? strlen(m->regex) : 0;
        for (int32_t i = 0; i < m->ntopics; i++)
            n += 32 + strlen(m->topics[i]);
        /* each partition may open a topic of its own: id, name, array */
        n += (uint64_t)(m->assigned.n + m->target.n) * (4 + 64 + 256);
    }
    return n;
}

static const char *topic_name(const struct cgroup *g, const uint8_t id[16])
{
    for (int32_t i = 0; i < g->ntopics; i++)
        if (!memcmp(g->topics[i].id, id, 16))
            return g->topics[i].name;
    return "";
}

/* Fill one side of a member's description (both sides have the same layout). */
#define DESCRIBE_TPS(pd, g, s, out, type)                                                          \
    do {                                                                                           \
        int32_t *parts_ = PENDING_NEW(pd, int32_t, (s)->n + 1);                                    \
        (out)->topic_partitions = PENDING_NEW(pd, type, tps_topics(s) + 1);                        \
        type *cur_ = NULL;                                                                         \
        for (int32_t i_ = 0; i_ < (s)->n; i_++) {                                                  \
            if (!cur_ || memcmp(cur_->topic_id, (s)->v[i_].topic_id, 16)) {                        \
                cur_ = &(out)->topic_partitions[(out)->n_topic_partitions++];                      \
                memcpy(cur_->topic_id, (s)->v[i_].topic_id, 16);                                   \
                cur_->topic_name = kstr_from(topic_name(g, cur_->topic_id));                       \
                cur_->partitions = parts_ + i_;                                                    \
            }                                                                                      \
            cur_->partitions[cur_->n_partitions++] = (s)->v[i_].partition;                         \
        }                                                                                          \
    } while (0)

static void describe_member(struct pending *pd, const struct cgroup *g,
                            const struct cgroup_member *m,
                            struct kafka_consumer_group_describe_resp_member *o)
{
    o->member_id = kstr_from(m->id);
    o->instance_id = kstr_from(m->instance_id);
    o->rack_id = kstr_from(m->rack_id);
    o->member_epoch = m->epoch;
    o->client_id = kstr_from(m->client_id);
    o->client_host = kstr_from(m->client_host);
    o->subscribed_topic_names = PENDING_NEW(pd, struct kstr, m->ntopics + 1);
    for (int32_t i = 0; i < m->ntopics; i++)
        o->subscribed_topic_names[o->n_subscribed_topic_names++] = kstr_from(m->topics[i]);
    o->subscribed_topic_regex = kstr_from(m->regex);
    DESCRIBE_TPS(pd, g, &m->assigned, &o->assignment,
                 struct kafka_consumer_group_describe_resp_assigned);
    DESCRIBE_TPS(pd, g, &m->target, &o->target_assignment,
                 struct kafka_consumer_group_describe_resp_target);
}

static void describe_group(struct broker *b, struct pending *pd, struct kstr id,
                           struct kafka_consumer_group_describe_resp_described_group *o)
{
    struct cgroup *g = cgroup_find(b->cgroups, id);
    o->group_id = id; /* the request's: encoded before it is freed */
    o->authorized_operations = INT32_MIN;
    o->assignor_name = KSTR("");
    if (!g) {
        o->error_code = KAFKA_GROUP_ID_NOT_FOUND;
        o->error_message = KSTR("the group is not a consumer group");
        o->group_state = KSTR("Dead");
        return;
    }
    o->group_state = kstr_from(cgroup_state_name(g));
    o->group_epoch = g->epoch;
    o->assignment_epoch = g->assignment_epoch;
    o->assignor_name = kstr_from(g->assignor);
    o->members = PENDING_NEW(pd, struct kafka_consumer_group_describe_resp_member, g->nmembers + 1);
    for (const struct cgroup_member *m = g->members; m; m = m->next)
        describe_member(pd, g, m, &o->members[o->n_members++]);
}

void handle_consumer_group_describe(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_consumer_group_describe_req *req = rq->body;
    struct kafka_consumer_group_describe_resp *r = response_new(rq);
    /* size first: naming one large group many times multiplies it */
    uint64_t bytes = response_bytes((uint64_t)req->n_group_ids + 1, sizeof *r->groups);
    for (int32_t i = 0; i < req->n_group_ids && bytes <= RESPONSE_MAX_BYTES; i++) {
        struct cgroup *g = cgroup_find(b->cgroups, req->group_ids[i]);
        bytes += 128 + (g ? describe_bytes(g) : 0);
    }
    if (!r || bytes > RESPONSE_MAX_BYTES || !response_fits(rq, bytes)) {
        request_refuse(rq, "the ConsumerGroupDescribe response would pass 95 MiB");
        return;
    }
    r->groups = PENDING_NEW(rq->pd, struct kafka_consumer_group_describe_resp_described_group,
                            req->n_group_ids + 1);
    r->n_groups = req->n_group_ids;
    for (int32_t i = 0; i < req->n_group_ids; i++) {
        if (request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, req->group_ids[i])) {
            describe_group(b, rq->pd, req->group_ids[i], &r->groups[i]);
            continue;
        }
        kafka_init(&kafka_consumer_group_describe_resp_described_group_desc, &r->groups[i]);
        r->groups[i].group_id = req->group_ids[i]; /* encoded before the request is freed */
        r->groups[i].error_code = KAFKA_GROUP_AUTHORIZATION_FAILED;
        r->groups[i].group_state = r->groups[i].assignor_name = KSTR("");
    }
    request_respond(rq, r);
}

/* ---- ListGroups and DescribeGroups (the classic APIs' view of these groups) ---- */

size_t cgroup_count(struct broker *b)
{
    return b->cgroups ? b->cgroups->by_id.n : 0;
}

int32_t cgroup_list_groups(struct broker *b, struct kafka_list_groups_resp_group *out,
                           size_t *bytes)
{
    int32_t n = 0;
    for (const struct cgroup *g = b->cgroups ? b->cgroups->list : NULL; g; g = g->next) {
        out[n++] = (struct kafka_list_groups_resp_group){
            .group_id = kstr_from(g->id),
            .protocol_type = KSTR("consumer"),
            .group_state = kstr_from(cgroup_state_name(g)),
            .group_type = KSTR("consumer"),
        };
        *bytes += 32 + strlen(g->id);
    }
    return n;
}

size_t cgroup_describe_bytes(struct broker *b, struct kstr id)
{
    struct cgroup *g = b->cgroups ? cgroup_find(b->cgroups, id) : NULL;
    if (!g)
        return 0;
    size_t n = 64 + strlen(g->id);
    for (const struct cgroup_member *m = g->members; m; m = m->next)
        n += 32 + strlen(m->id) + strlen(m->client_id) + strlen(m->client_host) +
             (m->instance_id ? strlen(m->instance_id) : 0);
    return n;
}

int cgroup_describe_classic(struct broker *b, struct arena *a, struct kstr id,
                            struct kafka_describe_groups_resp_group *o)
{
    struct cgroup *g = b->cgroups ? cgroup_find(b->cgroups, id) : NULL;
    if (!g)
        return -ENOENT;
    kafka_init(&kafka_describe_groups_resp_group_desc, o);
    o->group_id = id; /* the request's: encoded before it is freed */
    o->group_state = kstr_from(cgroup_state_name(g));
    o->protocol_type = KSTR("consumer");
    o->protocol_data = kstr_from(g->assignor);
    o->members = arena_calloc(a, (size_t)g->nmembers + 1, sizeof *o->members);
    if (!o->members)
        return -ENOMEM;
    for (const struct cgroup_member *m = g->members; m; m = m->next)
        o->members[o->n_members++] = (struct kafka_describe_groups_resp_member){
            .member_id = kstr_from(m->id),
            .group_instance_id = kstr_from(m->instance_id),
            .client_id = kstr_from(m->client_id),
            .client_host = kstr_from(m->client_host),
        };
    return 0;
}

int16_t cgroup_delete_check(struct broker *b, struct kstr id)
{
    return cgroup_exists(b, id) ? KAFKA_NON_EMPTY_GROUP : KAFKA_GROUP_ID_NOT_FOUND;
}

/* The classic APIs see these groups through group.h's struct group_kind. */
static size_t kind_count(void *ctx)
{
    return cgroup_count(ctx);
}

static void kind_foreach(void *ctx, group_listing_fn fn, void *arg)
{
    struct broker *b = ctx;
    for (const struct cgroup *g = b->cgroups ? b->cgroups->list : NULL; g; g = g->next) {
        struct group_listing l = {g->id, "consumer", cgroup_state_name(g), "consumer"};
        fn(arg, &l);
    }
}

static int kind_describe(void *ctx, struct kstr id, struct arena *a,
                         struct kafka_describe_groups_resp_group *o)
{
    return cgroup_describe_classic(ctx, a, id, o);
}

static int16_t kind_delete(void *ctx, struct kstr id)
{
    return cgroup_delete_check(ctx, id);
}

static const struct group_kind consumer_kind = {kind_count, kind_foreach, kind_describe,
                                                kind_delete};

/* ---- the console's views ---- */

static void cgroup_info_fill(const struct cgroup *g, struct group_info *out)
{
    *out = (struct group_info){
        .id = g->id,
        .state = cgroup_state_name(g),
        .protocol_type = "consumer",
        .protocol = g->assignor,
        .leader = "", /* the coordinator assigns: there is no leader */
        .generation = g->epoch,
        .nmembers = g->nmembers,
    };
}

void cgroups_foreach(struct broker *b, groups_group_fn fn, void *arg)
{
    struct group_info info;
    for (const struct cgroup *g = b->cgroups ? b->cgroups->list : NULL; g; g = g->next) {
        cgroup_info_fill(g, &info);
        fn(arg, &info);
    }
}

int cgroups_describe(struct broker *b, const char *id, struct group_info *out, groups_member_fn fn,
                     void *arg)
{
    struct cgroup *g = b->cgroups ? cgroup_find(b->cgroups, kstr_from(id)) : NULL;
    if (!g)
        return -ENOENT;
    cgroup_info_fill(g, out);
    for (const struct cgroup_member *m = g->members; m && fn; m = m->next) {
        struct group_member_info mi = {
            .id = m->id,
            .instance_id = m->instance_id,
            .client_id = m->client_id,
            .client_host = m->client_host,
            .session_ms = (int32_t)b->cgroups->cfg.session_ms,
        };
        fn(arg, &mi);
    }
    return 0;
}
