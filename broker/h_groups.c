/*
 * h_groups.c - the group APIs over the coordinator: JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, ListGroups, DescribeGroups and DeleteGroups, the group
 * timers, start and end, and the console's views.
 *
 * Each handler turns its decoded request into a call of broker/group.c's state
 * machine and its answer into the response. A JoinGroup or SyncGroup that must
 * wait is handed over as its struct pending (the coordinator's opaque waiter);
 * the coordinator answers it through group_api_ops, which builds the response in
 * the pending's arena. The clock is read here and passed in.
 *
 * The coordinator's timers run on one libevent timer armed for
 * groups_next_deadline(): every handler that may set a deadline re-arms it
 * (groups_timer_arm), so a session or rebalance timeout fires within a
 * millisecond or so of its time, not at the next sweep.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "broker/cgroup.h"
#include "broker/group.h"
#include "lib/clock.h"
#include "lib/log.h"

/* ---- responses ---- */

/*
 * Responses here borrow the group's strings and bytes instead of copying them:
 * pending_finish() encodes a response at once, before the group can change. The
 * arena then holds only the arrays, and what a group holds is bounded by
 * GROUP_MAX_BYTES and group.max.size.
 */

/* Close the connection of a waiting request whose answer does not fit its arena
 * (as Kafka closes a connection it cannot answer). */
static void pending_refuse(struct pending *pd, const char *why)
{
    struct request rq = {.c = pd->c, .pd = pd, .version = pd->api_version};
    rq.hdr.api_key = pd->api_key;
    request_refuse(&rq, why);
}

static void join_reply(struct pending *pd, const struct group *g, const struct member *m,
                       const struct join_result *res)
{
    int16_t err = res->err;
    struct kafka_join_group_resp *r = arena_alloc(&pd->arena, sizeof *r);
    if (!r) {
        pending_refuse(pd, "the JoinGroup response would pass its memory limit");
        return;
    }
    kafka_init(&kafka_join_group_resp_desc, r);
    r->error_code = err;
    if (!err && g) {
        r->generation_id = g->generation;
        r->protocol_type = kstr_from(g->protocol_type); /* v7+ */
        r->protocol_name = kstr_from(g->protocol ? g->protocol : "");
        r->leader = kstr_from(res->leader ? res->leader : "");
        r->skip_assignment = res->skip_assignment; /* v9+ */
    }
    if (m)
        r->member_id = kstr_from(m->id);
    if (!err && g && m && res->members) {
        r->members = arena_calloc(&pd->arena, (size_t)g->nmembers + 1, sizeof *r->members);
        if (!r->members) {
            pending_refuse(pd, "the JoinGroup response would pass its memory limit");
            return;
        }
        for (const struct member *x = g->members; x; x = x->next) {
            const struct protocol *p = member_protocol(x, g->protocol);
            struct kafka_join_group_resp_member *o = &r->members[r->n_members++];
            o->member_id = kstr_from(x->id);
            o->group_instance_id = x->instance_id ? kstr_from(x->instance_id) : KSTR_NULL;
            o->metadata = p ? (struct kbytes){p->meta, p->len} : (struct kbytes){NULL, 0};
        }
    }
    pd->resp = r;
    pending_finish(pd);
}

static void sync_reply(struct pending *pd, const struct group *g, const struct member *m,
                       int16_t err)
{
    struct kafka_sync_group_resp *r = arena_alloc(&pd->arena, sizeof *r);
    if (!r) {
        pending_refuse(pd, "the SyncGroup response would pass its memory limit");
        return;
    }
    kafka_init(&kafka_sync_group_resp_desc, r);
    r->error_code = err;
    if (!err && g) { /* v5+ */
        r->protocol_type = kstr_from(g->protocol_type);
        r->protocol_name = kstr_from(g->protocol);
    }
    if (!err && m && m->assignment_len > 0)
        r->assignment = (struct kbytes){m->assignment, m->assignment_len};
    pd->resp = r;
    pending_finish(pd);
}

static void api_join_done(void *waiter, const struct group *g, const struct member *m,
                          const struct join_result *r)
{
    join_reply(waiter, g, m, r);
}

static void api_sync_done(void *waiter, const struct group *g, const struct member *m, int16_t err)
{
    sync_reply(waiter, g, m, err);
}

/* ---- the timer ---- */

/* Run the coordinator's timers that are due and arm the one libevent timer for
 * the next deadline (none when nothing is due ever). Called after every request
 * that may set a deadline, and by the timer itself. */
static void groups_timer_arm(struct broker *b)
{
    struct groups *gs = b->groups;
    int64_t now = clock_wall_ms();
    if (groups_next_deadline(gs) <= now)
        groups_expire_members(gs, now);
    deadline_timer_set(&gs->timer, groups_next_deadline(gs), now);
}

static void groups_timer_cb(int fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd, (void)what;
    deadline_timer_fired(&b->groups->timer);
    groups_timer_arm(b);
}

static const struct group_ops group_api_ops = {api_join_done, api_sync_done};

/* ---- JoinGroup, SyncGroup, Heartbeat, LeaveGroup ---- */

/* The client's address without the port, for DescribeGroups. */
static char *peer_host(const struct conn *c)
{
    char buf[sizeof c->peer + 1];
    snprintf(buf, sizeof buf, "/%s", c->peer);
    char *colon = strrchr(buf, ':');
    if (colon)
        *colon = 0;
    return xstrdup(buf);
}

/* Answer a JoinGroup the coordinator did not keep. */
static void join_answer_now(struct request *rq, int16_t err, struct kstr member_id)
{
    struct kafka_join_group_resp *r = response_new(rq);
    if (!r) {
        request_refuse(rq, "the JoinGroup response would pass its memory limit");
        return;
    }
    r->error_code = err;
    r->member_id = member_id; /* encoded before the request is freed */
    request_respond(rq, r);
}

void handle_join_group(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_join_group_req *req = rq->body;
    if (req->n_protocols > GROUP_MAX_PROTOCOLS) { /* Kafka has no error for it */
        request_refuse(rq, "JoinGroup names more than 64 protocols");
        return;
    }
    if (!request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_GROUP, req->group_id)) {
        join_answer_now(rq, KAFKA_GROUP_AUTHORIZATION_FAILED, req->member_id);
        return;
    }
    if (cgroup_exists(b, req->group_id)) { /* a consumer group (KIP-848) with members */
        join_answer_now(rq, KAFKA_INCONSISTENT_GROUP_PROTOCOL, req->member_id);
        return;
    }
    char *host = peer_host(rq->c);
    struct group_join j = {
        .group_id = req->group_id,
        .member_id = req->member_id,
        .instance_id = req->group_instance_id,
        .protocol_type = req->protocol_type,
        .client_id = rq->hdr.client_id,
        .client_host = host,
        .session_ms = req->session_timeout_ms,
        .rebalance_ms = rq->version >= 1 ? req->rebalance_timeout_ms : req->session_timeout_ms,
        .protocols = req->protocols,
        .nprotocols = req->n_protocols,
        .id_required = rq->version >= 4,
        .skip_assignment = rq->version >= 9,
        .reason = req->reason,
    };
    const char *id = NULL;
    int16_t err = group_join(b->groups, &j, rq->pd, clock_wall_ms(), &id);
    free(host);
    if (err)
        join_answer_now(rq, err, id ? kstr_from(id) : req->member_id);
    groups_timer_arm(b);
}

void handle_sync_group(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_sync_group_req *req = rq->body;
    if (!request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_GROUP, req->group_id)) {
        struct kafka_sync_group_resp *r = response_new(rq);
        r->error_code = KAFKA_GROUP_AUTHORIZATION_FAILED;
        r->assignment = (struct kbytes){(const uint8_t *)"", 0};
        request_respond(rq, r);
        return;
    }
    struct group_sync s = {
        .group_id = req->group_id,
        .member_id = req->member_id,
        .instance_id = req->group_instance_id,
        .protocol_type = req->protocol_type,
        .protocol = req->protocol_name,
        .generation = req->generation_id,
        .assignments = req->assignments,
        .nassignments = req->n_assignments,
    };
    if (group_sync(b->groups, &s, rq->pd, clock_wall_ms()))
        request_refuse(rq, "SyncGroup assignments pass 16 MiB"); /* Kafka has no error for it */
    groups_timer_arm(b);
}

void handle_heartbeat(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_heartbeat_req *req = rq->body;
    struct kafka_heartbeat_resp *r = response_new(rq);
    if (!r) {
        request_refuse(rq, "the Heartbeat response would pass its memory limit");
        return;
    }
    if (!request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_GROUP, req->group_id))
        r->error_code = KAFKA_GROUP_AUTHORIZATION_FAILED;
    else
        r->error_code =
            group_heartbeat(b->groups, req->group_id, req->member_id, req->group_instance_id,
                            req->generation_id, clock_wall_ms());
    request_respond(rq, r);
}

void handle_leave_group(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_leave_group_req *req = rq->body;
    struct kafka_leave_group_resp *r = response_new(rq);
    if (!r) {
        request_refuse(rq, "the LeaveGroup response would pass its memory limit");
        return;
    }
    if (!request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_GROUP, req->group_id)) {
        r->error_code = KAFKA_GROUP_AUTHORIZATION_FAILED;
    } else if (rq->version < 3) {
        r->error_code = group_leave(b->groups, req->group_id, req->member_id, KSTR_NULL, KSTR_NULL,
                                    clock_wall_ms());
    } else if (!group_find(b->groups, req->group_id)) {
        r->error_code = KAFKA_UNKNOWN_MEMBER_ID; /* Kafka: the group is not found */
    } else {
        r->members = arena_calloc(&pd->arena, (size_t)req->n_members + 1, sizeof *r->members);
        if (!r->members) {
            request_refuse(rq, "the LeaveGroup response would pass its memory limit");
            return;
        }
        r->n_members = req->n_members;
        for (int32_t i = 0; i < req->n_members; i++) {
            struct kafka_leave_group_resp_member *o = &r->members[i];
            /* the request's strings: the response is encoded before it is freed */
            o->member_id = req->members[i].member_id;
            o->group_instance_id = req->members[i].group_instance_id;
            o->error_code = group_leave(b->groups, req->group_id, req->members[i].member_id,
                                        req->members[i].group_instance_id, req->members[i].reason,
                                        clock_wall_ms());
        }
    }
    request_respond(rq, r);
    groups_timer_arm(b);
}

/* ---- timers ---- */

void groups_tick(struct broker *b, int64_t now)
{
    if (!b->groups)
        return;
    if (now >= b->groups->next_expiry_ms) {
        offsets_expire(b, now);
        b->groups->next_expiry_ms = now + b->cfg->offsets_check_ms;
    }
    groups_timer_arm(b); /* a safety net: the timer is armed by wall time, which may jump */
}

/* ---- ListGroups, DescribeGroups, DeleteGroups ---- */

/* Every state name a group of any type has (ListGroups' filter is matched
 * against these, case-insensitively, as Kafka matches it). */
static const char *const listed_states[] = {
    "Empty", "PreparingRebalance", "CompletingRebalance", "Stable",
    "Dead",  "Assigning",          "Reconciling",         "NotReady"};
static const char *const listed_types[] = {"classic", "consumer"};
#define N_LISTED_STATES (sizeof listed_states / sizeof *listed_states)
#define N_LISTED_TYPES  (sizeof listed_types / sizeof *listed_types)

/* The entries of table that a filter names, as a bit mask; all ones when the
 * filter is empty (no filter). Kafka trims and lowercases state names and
 * lowercases type names; a name it does not know matches no group. */
static uint32_t list_filter_mask(const struct kstr *names, int32_t n, const char *const *table,
                                 size_t ntable, bool trim)
{
    uint32_t mask = 0;
    if (n <= 0)
        return UINT32_MAX;
    for (int32_t i = 0; i < n; i++) {
        const char *p = names[i].p ? names[i].p : "";
        size_t len = names[i].len > 0 ? (size_t)names[i].len : 0;
        for (; trim && len && (*p == ' ' || *p == '\t'); p++, len--)
            ;
        for (; trim && len && (p[len - 1] == ' ' || p[len - 1] == '\t'); len--)
            ;
        for (size_t k = 0; k < ntable; k++)
            if (strlen(table[k]) == len && !strncasecmp(table[k], p, len))
                mask |= 1u << k;
    }
    return mask;
}

static bool list_name_in(const char *name, uint32_t mask, const char *const *table, size_t ntable)
{
    for (size_t k = 0; k < ntable; k++)
        if (!strcasecmp(table[k], name))
            return mask & (1u << k);
    return mask == UINT32_MAX;
}

struct list_ctx {
    struct broker *b;
    struct request *rq;
    bool all; /* DESCRIBE on the cluster: every group, else those DESCRIBE allows */
    struct kafka_list_groups_resp *r;
    size_t cap, bytes;
    uint32_t states, types;
};

static void list_one(void *arg, const struct group_listing *l)
{
    struct list_ctx *x = arg;
    /* a consumer group's offsets sit in an Empty classic group of its id: list it once */
    if (!strcmp(l->type, "classic") && cgroup_exists(x->b, kstr_from(l->id)))
        return;
    if (x->r->n_groups >= (int32_t)x->cap ||
        (!x->all && !request_allowed(x->rq, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, l->id)) ||
        !list_name_in(l->state, x->states, listed_states, N_LISTED_STATES) ||
        !list_name_in(l->type, x->types, listed_types, N_LISTED_TYPES))
        return;
    /* the strings stay the coordinator's: the response is encoded before it runs again */
    x->r->groups[x->r->n_groups++] = (struct kafka_list_groups_resp_group){
        .group_id = kstr_from(l->id),
        .protocol_type = kstr_from(l->protocol_type),
        .group_state = kstr_from(l->state),
        .group_type = kstr_from(l->type),
    };
    x->bytes += 16 + strlen(l->id) + strlen(l->protocol_type) + strlen(l->state) + strlen(l->type);
}

void handle_list_groups(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_list_groups_req *req = rq->body;
    struct kafka_list_groups_resp *r = response_new(rq);
    struct list_ctx x = {
        .b = b,
        .rq = rq,
        .all = request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_CLUSTER, NULL),
        .r = r,
        .cap = groups_count(b->groups),
        .states = list_filter_mask(req->states_filter, rq->version >= 4 ? req->n_states_filter : 0,
                                   listed_states, N_LISTED_STATES, true),
        .types = list_filter_mask(req->types_filter, rq->version >= 5 ? req->n_types_filter : 0,
                                  listed_types, N_LISTED_TYPES, false),
    };
    if (r)
        r->groups = arena_calloc(&pd->arena, x.cap + 1, sizeof *r->groups);
    if (r && r->groups)
        groups_list(b->groups, list_one, &x);
    if (!r || !r->groups || x.bytes > RESPONSE_MAX_BYTES) {
        request_refuse(rq, "the ListGroups response would pass 95 MiB");
        return;
    }
    request_respond(rq, r);
}

/* The operations a group supports, of which DescribeGroups v3+ reports those the
 * peer may do: READ (3), DELETE (6), DESCRIBE (8), DESCRIBE_CONFIGS (10) and
 * ALTER_CONFIGS (11), as bits. */
#define GROUP_AUTHORIZED_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11))

/* Response bytes a DescribeGroups entry for g takes at most (up to a bit more than
 * limit: counting stops there). */
static size_t describe_bytes(const struct group *g, size_t limit)
{
    size_t n = 64 + strlen(g->id);
    if (g->protocol_type)
        n += strlen(g->protocol_type);
    if (g->protocol)
        n += strlen(g->protocol);
    bool stable = g->state == GROUP_STABLE; /* metadata is described then only */
    for (const struct member *m = g->members; m && n <= limit; m = m->next) {
        const struct protocol *p = stable ? member_protocol(m, g->protocol) : NULL;
        n += 32 + strlen(m->id) + (m->instance_id ? strlen(m->instance_id) : 0) +
             strlen(m->client_id ? m->client_id : "") +
             strlen(m->client_host ? m->client_host : "") + (p ? (size_t)p->len : 0) +
             (size_t)(stable && m->assignment_len > 0 ? m->assignment_len : 0);
    }
    return n;
}

static int describe_one(struct groups *gs, struct pending *pd, struct group *g, struct kstr id,
                        struct kafka_describe_groups_resp_group *o)
{
    kafka_init(&kafka_describe_groups_resp_group_desc, o);
    o->group_id = id; /* the request's: encoded before it is freed */
    if (gs->other) {  /* first: a consumer group's offsets make an Empty classic one */
        int rc = gs->other->describe(gs->other_ctx, id, &pd->arena, o);
        if (rc != -ENOENT)
            return rc;
        kafka_init(&kafka_describe_groups_resp_group_desc, o);
        o->group_id = id;
    }
    if (!g) {
        o->group_state = KSTR("Dead");
        o->protocol_type = o->protocol_data = KSTR("");
        return 0;
    }
    /* as Kafka: the protocol, metadata and assignments only of a Stable group */
    bool stable = g->state == GROUP_STABLE;
    o->group_state = kstr_from(group_state_names[g->state]);
    o->protocol_type = kstr_from(g->protocol_type ? g->protocol_type : "");
    o->protocol_data = kstr_from(stable && g->protocol ? g->protocol : "");
    o->members = arena_calloc(&pd->arena, (size_t)g->nmembers + 1, sizeof *o->members);
    if (!o->members)
        return -ENOMEM;
    for (struct member *m = g->members; m; m = m->next) {
        struct kafka_describe_groups_resp_member *x = &o->members[o->n_members++];
        const struct protocol *p = member_protocol(m, g->protocol);
        x->member_id = kstr_from(m->id);
        x->group_instance_id = m->instance_id ? kstr_from(m->instance_id) : KSTR_NULL;
        x->client_id = kstr_from(m->client_id ? m->client_id : "");
        x->client_host = kstr_from(m->client_host ? m->client_host : "");
        if (p && stable)
            x->member_metadata = (struct kbytes){p->meta, p->len};
        if (stable && m->assignment_len > 0)
            x->member_assignment = (struct kbytes){m->assignment, m->assignment_len};
    }
    return 0;
}

void handle_describe_groups(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_describe_groups_req *req = rq->body;
    struct kafka_describe_groups_resp *r = response_new(rq);
    size_t bytes = 0;
    int rc = 0;
    /* size first: naming one large group many times multiplies it */
    for (int32_t i = 0; i < req->n_groups && bytes <= RESPONSE_MAX_BYTES; i++) {
        struct group *g = group_find(b->groups, req->groups[i]);
        bytes += g ? describe_bytes(g, RESPONSE_MAX_BYTES) : 64;
        bytes += cgroup_describe_bytes(b, req->groups[i]);
        bytes += req->groups[i].len > 0 ? (size_t)req->groups[i].len : 0;
    }
    if (r && bytes <= RESPONSE_MAX_BYTES)
        r->groups = arena_calloc(&pd->arena, (size_t)req->n_groups + 1, sizeof *r->groups);
    if (!r || !r->groups) {
        request_refuse(rq, "the DescribeGroups response would pass 95 MiB");
        return;
    }
    r->n_groups = req->n_groups;
    for (int32_t i = 0; i < req->n_groups && !rc; i++) {
        char *id = pd_strdup(pd, req->groups[i]);
        if (!request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, id)) {
            kafka_init(&kafka_describe_groups_resp_group_desc, &r->groups[i]);
            r->groups[i].group_id = req->groups[i];
            r->groups[i].error_code = KAFKA_GROUP_AUTHORIZATION_FAILED;
            r->groups[i].group_state = r->groups[i].protocol_type = r->groups[i].protocol_data =
                KSTR("");
            continue;
        }
        rc = describe_one(b->groups, pd, group_find(b->groups, req->groups[i]), req->groups[i],
                          &r->groups[i]);
        if (req->include_authorized_operations)
            r->groups[i].authorized_operations =
                request_allowed_operations(rq, GROUP_AUTHORIZED_OPERATIONS, AUTH_RES_GROUP, id);
    }
    if (rc) {
        request_refuse(rq, "the DescribeGroups response would pass its memory limit");
        return;
    }
    request_respond(rq, r);
}

/* Forget a group and its offsets (with tombstones so they stay forgotten). */
static int group_delete(struct broker *b, struct group *g)
{
    int rc = offsets_forget_group(b, g);
    if (rc)
        return rc;
    log_info("brook.group", "group %s deleted", g->id);
    group_forget(b->groups, g);
    return 0;
}

int16_t groups_delete_one(struct broker *b, struct kstr id)
{
    struct group *g = group_find(b->groups, id);
    if (cgroup_exists(b, id) && b->groups->other && b->groups->other->delete_group)
        return b->groups->other->delete_group(b->groups->other_ctx, id);
    if (!g)
        return KAFKA_GROUP_ID_NOT_FOUND;
    if (g->members || g->state != GROUP_EMPTY)
        return KAFKA_NON_EMPTY_GROUP;
    return kafka_error_from(group_delete(b, g));
}

void handle_delete_groups(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_delete_groups_req *req = rq->body;
    struct kafka_delete_groups_resp *r = response_new(rq);
    if (r)
        r->results = arena_calloc(&pd->arena, (size_t)req->n_groups_names + 1, sizeof *r->results);
    if (!r || !r->results) {
        request_refuse(rq, "the DeleteGroups response would pass its memory limit");
        return;
    }
    r->n_results = req->n_groups_names;
    for (int32_t i = 0; i < req->n_groups_names; i++) {
        struct kafka_delete_groups_resp_result *o = &r->results[i];
        o->group_id = req->groups_names[i]; /* encoded before the request is freed */
        if (!request_allowed_kstr(rq, AUTH_OP_DELETE, AUTH_RES_GROUP, o->group_id))
            o->error_code = KAFKA_GROUP_AUTHORIZATION_FAILED;
        else
            o->error_code = groups_delete_one(b, o->group_id);
    }
    request_respond(rq, r);
}

/* ---- start and end ---- */

int groups_open(struct broker *b)
{
    b->groups = calloc(1, sizeof *b->groups);
    if (!b->groups)
        return -ENOMEM;
    groups_init(b->groups, b->cfg, &group_api_ops);
    if (deadline_timer_init(&b->groups->timer, b->base, groups_timer_cb, b))
        return -ENOMEM;
    b->groups->next_expiry_ms = clock_wall_ms() + b->cfg->offsets_check_ms;
    int rc = broker_state_topic_open(b, OFFSETS_TOPIC, "brook.group", &b->groups->topic);
    if (rc) {
        groups_close(b);
        return rc;
    }
    /* groups that have committed offsets exist (Empty) after a restart; those whose
     * offsets were all forgotten later in the log do not */
    rc = offsets_load(b);
    for (struct group *g = b->groups->list, *next; g; g = next) {
        next = g->next;
        if (!g->offsets.n)
            group_forget(b->groups, g);
    }
    return rc;
}

void groups_close(struct broker *b)
{
    if (!b->groups)
        return;
    groups_release(b->groups);
    deadline_timer_release(&b->groups->timer);
    store_topic_put(b->groups->topic);
    free(b->groups);
    b->groups = NULL;
}

/* ---- read-only views and offset resets, for the console ---- */

static void group_info_fill(const struct group *g, struct group_info *out)
{
    *out = (struct group_info){
        .id = g->id,
        .state = group_state_names[g->state],
        .protocol_type = g->protocol_type ? g->protocol_type : "",
        .protocol = g->protocol ? g->protocol : "",
        .leader = g->leader ? g->leader : "",
        .generation = g->generation,
        .nmembers = g->nmembers,
    };
}

void groups_foreach(struct broker *b, groups_group_fn fn, void *arg)
{
    struct group_info info;
    for (struct group *g = b->groups ? b->groups->list : NULL; g; g = g->next) {
        group_info_fill(g, &info);
        fn(arg, &info);
    }
}

int groups_describe(struct broker *b, const char *id, struct group_info *out, groups_member_fn fn,
                    void *arg)
{
    struct group *g = b->groups ? group_find(b->groups, kstr_from(id)) : NULL;
    if (!g)
        return -ENOENT;
    group_info_fill(g, out);
    for (const struct member *m = g->members; m && fn; m = m->next) {
        struct group_member_info mi = {
            .id = m->id,
            .instance_id = m->instance_id,
            .client_id = m->client_id ? m->client_id : "",
            .client_host = m->client_host ? m->client_host : "",
            .session_ms = m->session_ms,
            .assignment = g->state == GROUP_STABLE ? m->assignment : NULL,
            .assignment_len = g->state == GROUP_STABLE ? m->assignment_len : 0,
        };
        fn(arg, &mi);
    }
    return 0;
}
