/*
 * group.c - the group coordinator (Kafka's classic rebalance protocol) and
 * committed offsets.
 *
 * A group moves Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and
 * back to PreparingRebalance whenever a member joins, leaves, changes its
 * protocols or misses its session timeout. The join phase ends when every known
 * member has rejoined, or when the largest rebalance timeout has passed (members
 * that did not rejoin are removed); then the generation increases, a protocol all
 * members support is chosen by vote (INCONSISTENT_GROUP_PROTOCOL when none is),
 * the leader gets every member's metadata and the followers an empty list. The
 * leader's SyncGroup carries the assignments, which answer every waiting
 * SyncGroup. Static members (group.instance.id) keep their place across restarts
 * of the client. JoinGroup v4+ from an unknown member is answered with
 * MEMBER_ID_REQUIRED and a fresh member id, as Kafka does.
 *
 * Committed offsets are kept in memory and appended to the internal compacted
 * topic __consumer_offsets in Kafka's own key/value layout (key v1: group, topic,
 * partition; value v3: offset, leader epoch, metadata, commit time); the commit
 * is answered once that append is durable. At start the topic is read back, so
 * offsets survive restarts; compaction keeps one record per key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "broker/private.h"
#include "lib/clock.h"
#include "lib/hmap.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/reader.h"
#include "lib/writer.h"
#include "proto/record.h"

#define OFFSETS_TOPIC      "__consumer_offsets"
#define MAX_METADATA_BYTES 4096

enum group_state { EMPTY, PREPARING, COMPLETING, STABLE, DEAD };
static const char *const state_names[] = {"Empty", "PreparingRebalance", "CompletingRebalance",
                                          "Stable", "Dead"};

struct protocol {
    char *name;
    uint8_t *meta;
    int32_t len;
};

struct member {
    char *id;
    char *instance_id; /* static membership, or NULL */
    char *client_id, *client_host;
    int32_t session_ms, rebalance_ms;
    struct protocol *protocols;
    int nprotocols;
    uint8_t *assignment;
    int32_t assignment_len;
    struct pending *join_pd; /* a JoinGroup waiting for the join phase to end */
    struct pending *sync_pd; /* a SyncGroup waiting for the leader */
    int64_t last_seen_ms;    /* wall: last heartbeat or request */
    struct member *next;
};

struct group {
    char *id;
    enum group_state state;
    int32_t generation;
    char *protocol_type;
    char *protocol; /* chosen in the last join phase */
    char *leader;   /* member id */
    struct member *members;
    int nmembers;
    int64_t join_deadline_ms;   /* PREPARING: the join phase ends at the latest then */
    int64_t join_not_before_ms; /* PREPARING: group.initial.rebalance.delay.ms */
    struct group *next;
};

struct committed {
    int64_t offset;
    char *metadata;
    int64_t commit_ms;
};

struct pending_id;

struct groups {
    struct group *list;
    struct pending_id *pending_ids; /* ids handed out with MEMBER_ID_REQUIRED */
    struct hmap offsets;            /* "group\0topic\0partition" -> struct committed */
    struct store_topic *topic;      /* __consumer_offsets */
};

/* ---- small helpers ---- */

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r)
        abort();
    return r;
}

static char *kdup(struct kstr s)
{
    char *r = strndup(s.p ? s.p : "", s.len > 0 ? (size_t)s.len : 0);
    if (!r)
        abort();
    return r;
}

static void *xmemdup(const void *p, size_t n)
{
    void *r = malloc(n ? n : 1);
    if (!r)
        abort();
    if (n)
        memcpy(r, p, n);
    return r;
}

static size_t offset_key(char *buf, size_t size, const char *group, const char *topic, int32_t p)
{
    int n = snprintf(buf, size, "%s%c%s%c%d", group, 0, topic, 0, p);
    /* the key includes its final NUL: every part reads as a C string */
    return n < 0 || (size_t)n >= size ? 0 : (size_t)n + 1;
}

/* The partition at the end of an offsets key of len bytes (not NUL-terminated). */
static int32_t offset_key_partition(const char *key, size_t len)
{
    const char *topic = key + strlen(key) + 1, *p = topic + strlen(topic) + 1;
    int32_t part = 0;
    for (; p < key + len && *p >= '0' && *p <= '9'; p++)
        part = part * 10 + (*p - '0');
    return part;
}

static struct group *group_find(struct broker *b, struct kstr id)
{
    for (struct group *g = b->groups->list; g; g = g->next)
        if (kstr_eq(id, g->id))
            return g;
    return NULL;
}

static struct member *member_find(struct group *g, struct kstr id)
{
    for (struct member *m = g->members; m; m = m->next)
        if (kstr_eq(id, m->id))
            return m;
    return NULL;
}

static struct member *member_by_instance(struct group *g, struct kstr inst)
{
    if (kstr_is_null(inst))
        return NULL;
    for (struct member *m = g->members; m; m = m->next)
        if (m->instance_id && kstr_eq(inst, m->instance_id))
            return m;
    return NULL;
}

static char *new_member_id(struct kstr client_id)
{
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != sizeof r)
        abort();
    char buf[400];
    snprintf(buf, sizeof buf,
             "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             client_id.len > 0 ? (client_id.len < 255 ? client_id.len : 255) : 0,
             client_id.p ? client_id.p : "", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
             r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
    return xstrdup(buf);
}

static void protocols_free(struct member *m)
{
    for (int i = 0; i < m->nprotocols; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].meta);
    }
    free(m->protocols);
    m->protocols = NULL;
    m->nprotocols = 0;
}

static void set_protocols(struct member *m, const struct kafka_join_group_req *req)
{
    protocols_free(m);
    m->protocols = calloc((size_t)req->n_protocols + 1, sizeof *m->protocols);
    if (!m->protocols)
        abort();
    for (int32_t i = 0; i < req->n_protocols; i++) {
        m->protocols[i].name = kdup(req->protocols[i].name);
        int32_t len = req->protocols[i].metadata.len > 0 ? req->protocols[i].metadata.len : 0;
        m->protocols[i].meta = xmemdup(req->protocols[i].metadata.p, (size_t)len);
        m->protocols[i].len = len;
    }
    m->nprotocols = req->n_protocols;
}

static bool supports(const struct member *m, const char *protocol)
{
    for (int i = 0; i < m->nprotocols; i++)
        if (!strcmp(m->protocols[i].name, protocol))
            return true;
    return false;
}

static bool supports_k(const struct member *m, struct kstr protocol)
{
    for (int i = 0; i < m->nprotocols; i++)
        if (kstr_eq(protocol, m->protocols[i].name))
            return true;
    return false;
}

/* Whether a JoinGroup carries exactly the protocols m has. */
static bool same_protocols(const struct member *m, const struct kafka_join_group_req *req)
{
    if (m->nprotocols != req->n_protocols)
        return false;
    for (int i = 0; i < m->nprotocols; i++) {
        const struct kafka_join_group_req_protocol *p = &req->protocols[i];
        int32_t len = p->metadata.len > 0 ? p->metadata.len : 0;
        if (!kstr_eq(p->name, m->protocols[i].name) || len != m->protocols[i].len ||
            (len && memcmp(p->metadata.p, m->protocols[i].meta, (size_t)len)))
            return false;
    }
    return true;
}

static const struct protocol *member_protocol(const struct member *m, const char *name)
{
    for (int i = 0; name && i < m->nprotocols; i++)
        if (!strcmp(m->protocols[i].name, name))
            return &m->protocols[i];
    return NULL;
}

/* ---- responses ---- */

static void join_reply(struct pending *pd, struct group *g, struct member *m, int16_t err)
{
    struct kafka_join_group_resp *r = arena_alloc(&pd->arena, sizeof *r);
    if (!r)
        abort();
    kafka_init(&kafka_join_group_resp_desc, r);
    r->error_code = err;
    if (!err && g) {
        r->generation_id = g->generation;
        r->protocol_name = kstr_from(pd_strdup(pd, kstr_from(g->protocol)));
        r->leader = kstr_from(pd_strdup(pd, kstr_from(g->leader)));
    }
    if (m)
        r->member_id = kstr_from(pd_strdup(pd, kstr_from(m->id)));
    if (!err && g && m && g->leader && !strcmp(g->leader, m->id)) {
        r->members = arena_calloc(&pd->arena, (size_t)g->nmembers + 1, sizeof *r->members);
        if (!r->members)
            abort();
        for (struct member *x = g->members; x; x = x->next) {
            const struct protocol *p = member_protocol(x, g->protocol);
            struct kafka_join_group_resp_member *o = &r->members[r->n_members++];
            o->member_id = kstr_from(pd_strdup(pd, kstr_from(x->id)));
            o->group_instance_id =
                x->instance_id ? kstr_from(pd_strdup(pd, kstr_from(x->instance_id))) : KSTR_NULL;
            o->metadata = p ? (struct kbytes){p->meta, p->len} : (struct kbytes){NULL, 0};
            if (p) { /* copy: the member may change before the response is sent */
                uint8_t *copy = arena_alloc(&pd->arena, (size_t)p->len + 1);
                if (!copy)
                    abort();
                memcpy(copy, p->meta, (size_t)p->len);
                o->metadata.p = copy;
            }
        }
    }
    pd->resp = r;
    pending_finish(pd);
}

static void sync_reply(struct pending *pd, const struct member *m, int16_t err)
{
    struct kafka_sync_group_resp *r = arena_alloc(&pd->arena, sizeof *r);
    if (!r)
        abort();
    kafka_init(&kafka_sync_group_resp_desc, r);
    r->error_code = err;
    if (!err && m && m->assignment_len > 0) {
        uint8_t *copy = arena_alloc(&pd->arena, (size_t)m->assignment_len);
        if (!copy)
            abort();
        memcpy(copy, m->assignment, (size_t)m->assignment_len);
        r->assignment = (struct kbytes){copy, m->assignment_len};
    }
    pd->resp = r;
    pending_finish(pd);
}

/* ---- membership ---- */

static void member_free(struct member *m)
{
    if (m->join_pd)
        join_reply(m->join_pd, NULL, NULL, KAFKA_UNKNOWN_MEMBER_ID);
    if (m->sync_pd)
        sync_reply(m->sync_pd, NULL, KAFKA_UNKNOWN_MEMBER_ID);
    protocols_free(m);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

static void prepare_rebalance(struct broker *b, struct group *g, const char *why);

static void member_remove(struct broker *b, struct group *g, struct member *m, const char *why)
{
    for (struct member **pp = &g->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    g->nmembers--;
    log_info("brook.group", "group %s: member %s left (%s)", g->id, m->id, why);
    if (g->leader && !strcmp(g->leader, m->id)) {
        free(g->leader);
        g->leader = NULL;
    }
    member_free(m);
    if (g->state == STABLE || g->state == COMPLETING || g->state == PREPARING)
        prepare_rebalance(b, g, why);
}

static void prepare_rebalance(struct broker *b, struct group *g, const char *why)
{
    /* members waiting in SyncGroup must rejoin */
    for (struct member *m = g->members; m; m = m->next)
        if (m->sync_pd) {
            sync_reply(m->sync_pd, NULL, KAFKA_REBALANCE_IN_PROGRESS);
            m->sync_pd = NULL;
        }
    int64_t now = clock_wall_ms();
    if (g->state != PREPARING) {
        int32_t max = 0;
        for (struct member *m = g->members; m; m = m->next)
            if (m->rebalance_ms > max)
                max = m->rebalance_ms;
        g->join_deadline_ms = now + max;
        g->join_not_before_ms = g->state == EMPTY ? now + b->cfg->group_initial_delay_ms : 0;
        log_info("brook.group", "group %s: preparing rebalance (%s)", g->id, why);
    }
    g->state = PREPARING;
}

/* Choose the protocol: each member votes for its first choice among those every
 * member supports. NULL when there is none. */
static const char *choose_protocol(struct group *g)
{
    const char *best = NULL;
    int best_votes = -1;
    if (!g->members)
        return NULL;
    for (int i = 0; i < g->members->nprotocols; i++) {
        const char *cand = g->members->protocols[i].name;
        bool all = true;
        for (struct member *m = g->members; m && all; m = m->next)
            all = supports(m, cand);
        if (!all)
            continue;
        int votes = 0;
        for (struct member *m = g->members; m; m = m->next)
            for (int k = 0; k < m->nprotocols; k++) {
                bool common = true;
                for (struct member *x = g->members; x && common; x = x->next)
                    common = supports(x, m->protocols[k].name);
                if (common) { /* m's first common choice */
                    votes += !strcmp(m->protocols[k].name, cand);
                    break;
                }
            }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

/* End the join phase if everyone is in (or time is up). */
static void maybe_complete_join(struct broker *b, struct group *g, int64_t now)
{
    if (g->state != PREPARING || now < g->join_not_before_ms)
        return;
    bool all = true;
    for (struct member *m = g->members; m; m = m->next)
        all = all && m->join_pd;
    if (!all && now < g->join_deadline_ms)
        return;
    for (struct member *m = g->members, *next; m; m = next) { /* time is up for these */
        next = m->next;
        if (!m->join_pd) {
            for (struct member **pp = &g->members; *pp; pp = &(*pp)->next)
                if (*pp == m) {
                    *pp = m->next;
                    break;
                }
            g->nmembers--;
            log_info("brook.group", "group %s: member %s removed (did not rejoin in time)", g->id,
                     m->id);
            member_free(m);
        }
    }
    g->generation++;
    free(g->protocol);
    g->protocol = NULL;
    if (!g->members) {
        g->state = EMPTY;
        free(g->leader);
        g->leader = NULL;
        return;
    }
    const char *proto = choose_protocol(g);
    g->protocol = proto ? xstrdup(proto) : NULL;
    if (!g->leader || !member_find(g, kstr_from(g->leader))) {
        free(g->leader);
        g->leader = xstrdup(g->members->id);
    }
    g->state = COMPLETING;
    log_info("brook.group", "group %s: generation %d with %d members, protocol %s, leader %s",
             g->id, g->generation, g->nmembers, g->protocol ? g->protocol : "-", g->leader);
    for (struct member *m = g->members; m; m = m->next) {
        struct pending *pd = m->join_pd;
        m->join_pd = NULL;
        m->last_seen_ms = now;
        join_reply(pd, g, m, KAFKA_NONE);
    }
}

static struct group *group_new(struct broker *b, struct kstr id)
{
    struct group *g = calloc(1, sizeof *g);
    if (!g)
        abort();
    g->id = kdup(id);
    g->state = EMPTY;
    g->next = b->groups->list;
    b->groups->list = g;
    return g;
}

static void group_free(struct group *g)
{
    while (g->members) {
        struct member *m = g->members;
        g->members = m->next;
        member_free(m);
    }
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g);
}

/* ---- JoinGroup ---- */

static int16_t join_check(struct broker *b, struct group *g, const struct kafka_join_group_req *req)
{
    if (req->group_id.len <= 0)
        return KAFKA_INVALID_GROUP_ID;
    if (req->session_timeout_ms < b->cfg->group_min_session_ms ||
        req->session_timeout_ms > b->cfg->group_max_session_ms)
        return KAFKA_INVALID_SESSION_TIMEOUT;
    if (req->n_protocols <= 0 || req->protocol_type.len <= 0)
        return KAFKA_INCONSISTENT_GROUP_PROTOCOL;
    if (!g || !g->members)
        return KAFKA_NONE;
    if (!kstr_eq(req->protocol_type, g->protocol_type))
        return KAFKA_INCONSISTENT_GROUP_PROTOCOL;
    for (int32_t i = 0; i < req->n_protocols; i++) { /* one protocol in common with all */
        bool all = true;
        for (struct member *m = g->members; m && all; m = m->next)
            if (!kstr_eq(req->member_id, m->id))
                all = supports_k(m, req->protocols[i].name);
        if (all)
            return KAFKA_NONE;
    }
    return KAFKA_INCONSISTENT_GROUP_PROTOCOL;
}

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

/* Remember an id handed out with MEMBER_ID_REQUIRED (a member that may join). */
struct pending_id {
    char *id;
    int64_t until_ms;
    struct pending_id *next;
};
static bool take_pending_id(struct groups *gs, struct kstr id)
{
    for (struct pending_id **pp = &gs->pending_ids; *pp; pp = &(*pp)->next)
        if (kstr_eq(id, (*pp)->id)) {
            struct pending_id *x = *pp;
            *pp = x->next;
            free(x->id);
            free(x);
            return true;
        }
    return false;
}

void handle_join_group(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_join_group_req *req = rq->body;
    struct group *g = group_find(b, req->group_id);
    int16_t err = join_check(b, g, req);
    bool fresh = req->member_id.len <= 0;
    int64_t now = clock_wall_ms();
    struct member *m = NULL;
    if (!err && !fresh) {
        m = g ? member_find(g, req->member_id) : NULL;
        if (!m && !take_pending_id(b->groups, req->member_id))
            err = KAFKA_UNKNOWN_MEMBER_ID;
    }
    if (!err && fresh && g)
        m = member_by_instance(g, req->group_instance_id);
    if (!err && fresh && !m && rq->version >= 4 && kstr_is_null(req->group_instance_id)) {
        /* KIP-394: hand out an id and let the client join with it */
        struct pending_id *x = calloc(1, sizeof *x);
        if (!x)
            abort();
        x->id = new_member_id(rq->hdr.client_id);
        x->until_ms = now + req->session_timeout_ms;
        x->next = b->groups->pending_ids;
        b->groups->pending_ids = x;
        struct kafka_join_group_resp *r = response_new(rq);
        r->error_code = KAFKA_MEMBER_ID_REQUIRED;
        r->member_id = kstr_from(pd_strdup(pd, kstr_from(x->id)));
        request_respond(rq, r);
        return;
    }
    if (!err && !m && g && g->nmembers >= b->cfg->group_max_size)
        err = KAFKA_GROUP_MAX_SIZE_REACHED;
    if (err) {
        struct kafka_join_group_resp *r = response_new(rq);
        r->error_code = err;
        r->member_id = kstr_from(pd_strdup(pd, req->member_id));
        request_respond(rq, r);
        return;
    }
    if (!g)
        g = group_new(b, req->group_id);
    bool is_new = !m;
    if (is_new) {
        m = calloc(1, sizeof *m);
        if (!m)
            abort();
        m->id = fresh ? new_member_id(rq->hdr.client_id) : kdup(req->member_id);
        m->instance_id = kstr_is_null(req->group_instance_id) ? NULL : kdup(req->group_instance_id);
        m->next = g->members;
        g->members = m;
        g->nmembers++;
        log_info("brook.group", "group %s: member %s joined", g->id, m->id);
    } else if (fresh) { /* a static member came back: it gets a new member id */
        free(m->id);
        m->id = new_member_id(rq->hdr.client_id);
    }
    bool unchanged = !is_new && same_protocols(m, req);
    if (!unchanged)
        set_protocols(m, req);
    free(m->client_id);
    free(m->client_host);
    m->client_id = kdup(rq->hdr.client_id);
    m->client_host = peer_host(rq->c);
    m->session_ms = req->session_timeout_ms;
    m->rebalance_ms = rq->version >= 1 ? req->rebalance_timeout_ms : req->session_timeout_ms;
    m->last_seen_ms = now;
    if (!g->protocol_type)
        g->protocol_type = kdup(req->protocol_type);
    bool leader = g->leader && !strcmp(g->leader, m->id);
    if (unchanged && !fresh && (g->state == COMPLETING || (g->state == STABLE && !leader))) {
        join_reply(pd, g, m, KAFKA_NONE); /* nothing changed: the current generation */
        return;
    }
    if (m->join_pd) /* a retried JoinGroup replaces the earlier one */
        join_reply(m->join_pd, NULL, m, KAFKA_REBALANCE_IN_PROGRESS);
    m->join_pd = pd;
    prepare_rebalance(b, g, is_new ? "a member joined" : "a member rejoined");
    maybe_complete_join(b, g, now);
}

/* ---- SyncGroup, Heartbeat, LeaveGroup ---- */

/* The member a group request names, checking group, member and generation. */
static struct member *check_member(struct broker *b, struct kstr group, struct kstr member,
                                   int32_t generation, struct group **gp, int16_t *err)
{
    struct group *g = group_find(b, group);
    struct member *m = g ? member_find(g, member) : NULL;
    *gp = g;
    *err = !m                            ? KAFKA_UNKNOWN_MEMBER_ID
           : generation != g->generation ? KAFKA_ILLEGAL_GENERATION
                                         : KAFKA_NONE;
    if (m)
        m->last_seen_ms = clock_wall_ms();
    return *err ? NULL : m;
}

void handle_sync_group(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_sync_group_req *req = rq->body;
    struct group *g;
    int16_t err;
    struct member *m = check_member(b, req->group_id, req->member_id, req->generation_id, &g, &err);
    if (!err && g->state == PREPARING)
        err = KAFKA_REBALANCE_IN_PROGRESS;
    if (err) {
        sync_reply(rq->pd, NULL, err);
        return;
    }
    if (g->state == STABLE) {
        sync_reply(rq->pd, m, KAFKA_NONE);
        return;
    }
    if (m->sync_pd)
        sync_reply(m->sync_pd, NULL, KAFKA_REBALANCE_IN_PROGRESS);
    m->sync_pd = rq->pd;
    if (strcmp(g->leader, m->id))
        return; /* a follower waits for the leader's assignments */
    for (struct member *x = g->members; x; x = x->next) {
        free(x->assignment);
        x->assignment = NULL;
        x->assignment_len = 0;
    }
    for (int32_t i = 0; i < req->n_assignments; i++) {
        struct member *x = member_find(g, req->assignments[i].member_id);
        int32_t len = req->assignments[i].assignment.len;
        if (!x || len <= 0)
            continue;
        free(x->assignment);
        x->assignment = xmemdup(req->assignments[i].assignment.p, (size_t)len);
        x->assignment_len = len;
    }
    g->state = STABLE;
    log_info("brook.group", "group %s: generation %d is stable", g->id, g->generation);
    for (struct member *x = g->members; x; x = x->next)
        if (x->sync_pd) {
            struct pending *pd = x->sync_pd;
            x->sync_pd = NULL;
            sync_reply(pd, x, KAFKA_NONE);
        }
}

void handle_heartbeat(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_heartbeat_req *req = rq->body;
    struct kafka_heartbeat_resp *r = response_new(rq);
    struct group *g;
    (void)check_member(b, req->group_id, req->member_id, req->generation_id, &g, &r->error_code);
    if (!r->error_code && g->state == PREPARING)
        r->error_code = KAFKA_REBALANCE_IN_PROGRESS;
    request_respond(rq, r);
}

static int16_t leave_one(struct broker *b, struct group *g, struct kstr member, struct kstr inst)
{
    struct member *m =
        g ? (member.len > 0 ? member_find(g, member) : member_by_instance(g, inst)) : NULL;
    if (!m)
        return KAFKA_UNKNOWN_MEMBER_ID;
    member_remove(b, g, m, "LeaveGroup");
    maybe_complete_join(b, g, clock_wall_ms());
    return KAFKA_NONE;
}

void handle_leave_group(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_leave_group_req *req = rq->body;
    struct kafka_leave_group_resp *r = response_new(rq);
    struct group *g = group_find(b, req->group_id);
    if (rq->version < 3) {
        r->error_code = leave_one(b, g, req->member_id, KSTR_NULL);
    } else {
        r->members = arena_calloc(&pd->arena, (size_t)req->n_members + 1, sizeof *r->members);
        if (!r->members)
            abort();
        r->n_members = req->n_members;
        for (int32_t i = 0; i < req->n_members; i++) {
            struct kafka_leave_group_resp_member *o = &r->members[i];
            o->member_id = kstr_from(pd_strdup(pd, req->members[i].member_id));
            o->group_instance_id =
                kstr_is_null(req->members[i].group_instance_id)
                    ? KSTR_NULL
                    : kstr_from(pd_strdup(pd, req->members[i].group_instance_id));
            o->error_code =
                leave_one(b, g, req->members[i].member_id, req->members[i].group_instance_id);
        }
    }
    request_respond(rq, r);
}

/* ---- timers ---- */

void groups_tick(struct broker *b, int64_t now)
{
    if (!b->groups)
        return;
    for (struct pending_id **pp = &b->groups->pending_ids; *pp;) {
        if ((*pp)->until_ms < now) {
            struct pending_id *x = *pp;
            *pp = x->next;
            free(x->id);
            free(x);
        } else {
            pp = &(*pp)->next;
        }
    }
    for (struct group *g = b->groups->list; g; g = g->next) {
        for (struct member *m = g->members, *next; m; m = next) {
            next = m->next;
            if (!m->join_pd && !m->sync_pd && now - m->last_seen_ms > m->session_ms)
                member_remove(b, g, m, "session timeout");
        }
        maybe_complete_join(b, g, now);
    }
}

/* ---- committed offsets ---- */

static void put_str16(struct writer *w, const char *s)
{
    size_t n = strlen(s);
    writer_be16(w, (uint16_t)n);
    writer_bytes(w, s, n);
}

/* Append the commit records (or tombstones when value is false) as one batch. */
struct commit_rec {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *metadata;
};

static int offsets_append(struct broker *b, const char *group, const struct commit_rec *recs, int n,
                          bool tombstones, int64_t *end)
{
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    struct batch_builder bb;
    struct writer key, val, out;
    int64_t now = clock_wall_ms();
    batch_builder_init(&bb, CODEC_NONE, 64u << 20);
    writer_init(&key, 1 << 16);
    writer_init(&val, 1 << 16);
    writer_init(&out, 64u << 20);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        writer_reset(&key);
        writer_reset(&val);
        writer_be16(&key, 1);
        put_str16(&key, group);
        put_str16(&key, recs[i].topic);
        writer_be32(&key, (uint32_t)recs[i].partition);
        writer_be16(&val, 3);
        writer_be64(&val, (uint64_t)recs[i].offset);
        writer_be32(&val, (uint32_t)-1); /* leader epoch */
        put_str16(&val, recs[i].metadata ? recs[i].metadata : "");
        writer_be64(&val, (uint64_t)now);
        rc = key.err ? key.err : val.err;
        if (!rc)
            rc = batch_builder_add(&bb, now, key.buf, (int32_t)key.len, tombstones ? NULL : val.buf,
                                   tombstones ? -1 : (int32_t)val.len, NULL, 0);
    }
    if (!rc)
        rc = batch_builder_finish(&bb, -1, &out);
    struct store_append res;
    if (!rc)
        rc = store_partition_append(p, out.buf, out.len, &res);
    if (!rc)
        *end = res.last_offset + 1;
    batch_builder_release(&bb);
    writer_release(&key);
    writer_release(&val);
    writer_release(&out);
    return rc;
}

static void offset_set(struct broker *b, const char *group, const char *topic, int32_t part,
                       int64_t offset, const char *metadata, int64_t when)
{
    char k[1024];
    size_t kl = offset_key(k, sizeof k, group, topic, part);
    if (!kl)
        return;
    struct committed *c = hmap_get(&b->groups->offsets, k, kl);
    if (offset < 0) {
        if (c) {
            hmap_del(&b->groups->offsets, k, kl);
            free(c->metadata);
            free(c);
        }
        return;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c || hmap_put(&b->groups->offsets, k, kl, c))
            abort();
    }
    free(c->metadata);
    c->metadata = xstrdup(metadata);
    c->offset = offset;
    c->commit_ms = when;
}

int64_t groups_committed(struct broker *b, const char *group, const char *topic, int32_t part)
{
    char k[1024];
    size_t kl = offset_key(k, sizeof k, group, topic, part);
    struct committed *c = kl ? hmap_get(&b->groups->offsets, k, kl) : NULL;
    return c ? c->offset : -1;
}

struct commit_wait {
    struct broker *b;
    struct pending *pd;
    struct kafka_offset_commit_resp *resp;
};

static void commit_durable(void *arg, int rc)
{
    struct commit_wait *w = arg;
    if (rc)
        for (int32_t i = 0; i < w->resp->n_topics; i++)
            for (int32_t k = 0; k < w->resp->topics[i].n_partitions; k++)
                w->resp->topics[i].partitions[k].error_code = kafka_error_from(rc);
    if (__atomic_sub_fetch(&w->pd->waits, 1, __ATOMIC_ACQ_REL) == 0)
        broker_complete_async(w->b, w->pd);
}

static int16_t commit_check(struct broker *b, struct kafka_offset_commit_req *req, bool *create)
{
    struct group *g = group_find(b, req->group_id);
    *create = false;
    if (req->group_id.len <= 0)
        return KAFKA_INVALID_GROUP_ID;
    if (req->generation_id_or_member_epoch < 0 && (!g || g->state == EMPTY)) {
        *create = !g; /* a simple commit, outside any generation */
        return KAFKA_NONE;
    }
    if (!g)
        return KAFKA_UNKNOWN_MEMBER_ID;
    /* commits stay open while a rebalance is prepared (eager consumers commit as they
     * give up partitions) but not between the join and the leader's assignment */
    if (g->state == COMPLETING)
        return KAFKA_REBALANCE_IN_PROGRESS;
    struct member *m = member_find(g, req->member_id);
    if (!m)
        return KAFKA_UNKNOWN_MEMBER_ID;
    m->last_seen_ms = clock_wall_ms();
    return req->generation_id_or_member_epoch != g->generation ? KAFKA_ILLEGAL_GENERATION
                                                               : KAFKA_NONE;
}

void handle_offset_commit(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_offset_commit_req *req = rq->body;
    struct kafka_offset_commit_resp *r = response_new(rq);
    bool create;
    int16_t err = commit_check(b, req, &create);
    char *group = pd_strdup(pd, req->group_id);
    int total = 0;
    for (int32_t i = 0; i < req->n_topics; i++)
        total += req->topics[i].n_partitions;
    struct commit_rec *recs = arena_calloc(&pd->arena, (size_t)total + 1, sizeof *recs);
    r->topics = arena_calloc(&pd->arena, (size_t)req->n_topics + 1, sizeof *r->topics);
    if (!recs || !r->topics)
        abort();
    r->n_topics = req->n_topics;
    int n = 0;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_offset_commit_req_topic *ti = &req->topics[i];
        struct kafka_offset_commit_resp_topic *to = &r->topics[i];
        char *topic = pd_strdup(pd, ti->name);
        to->name = kstr_from(topic);
        to->partitions =
            arena_calloc(&pd->arena, (size_t)ti->n_partitions + 1, sizeof *to->partitions);
        if (!to->partitions)
            abort();
        to->n_partitions = ti->n_partitions;
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            const struct kafka_offset_commit_req_partition *pi = &ti->partitions[k];
            to->partitions[k].partition_index = pi->partition_index;
            to->partitions[k].error_code = err;
            if (!err && pi->committed_metadata.len > MAX_METADATA_BYTES)
                to->partitions[k].error_code = KAFKA_OFFSET_METADATA_TOO_LARGE;
            if (to->partitions[k].error_code)
                continue;
            recs[n++] = (struct commit_rec){topic, pi->partition_index, pi->committed_offset,
                                            pd_strdup(pd, pi->committed_metadata)};
        }
    }
    pd->resp = r;
    int64_t end = 0;
    int rc = n ? offsets_append(b, group, recs, n, false, &end) : 0;
    if (rc) {
        for (int32_t i = 0; i < r->n_topics; i++)
            for (int32_t k = 0; k < r->topics[i].n_partitions; k++)
                r->topics[i].partitions[k].error_code = kafka_error_from(rc);
        pending_finish(pd);
        return;
    }
    if (create && n)
        group_new(b, req->group_id);
    for (int i = 0; i < n; i++)
        offset_set(b, group, recs[i].topic, recs[i].partition, recs[i].offset, recs[i].metadata,
                   clock_wall_ms());
    struct commit_wait *w = arena_alloc(&pd->arena, sizeof *w);
    if (!w)
        abort();
    *w = (struct commit_wait){b, pd, r};
    pd->waits = 2; /* the guard and the durability wait */
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    if (!n || store_partition_when_durable(p, end, commit_durable, w) != 0)
        pd->waits = 1;
    pending_release_wait(pd);
}

void handle_offset_fetch(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_offset_fetch_req *req = rq->body;
    struct kafka_offset_fetch_resp *r = response_new(rq);
    char *group = pd_strdup(pd, req->group_id);
    if (req->n_topics < 0) { /* every partition the group committed */
        size_t pos = 0, len, count = b->groups->offsets.n;
        const void *key;
        void *val;
        r->topics = arena_calloc(&pd->arena, count + 1, sizeof *r->topics);
        if (!r->topics)
            abort();
        while (hmap_next(&b->groups->offsets, &pos, &key, &len, &val)) {
            const char *g = key, *topic = g + strlen(g) + 1;
            if (strcmp(g, group))
                continue;
            const struct committed *c = val;
            struct kafka_offset_fetch_resp_topic *to = &r->topics[r->n_topics++];
            to->name = kstr_from(pd_strdup(pd, kstr_from(topic)));
            to->partitions = arena_calloc(&pd->arena, 1, sizeof *to->partitions);
            if (!to->partitions)
                abort();
            to->n_partitions = 1;
            to->partitions[0] = (struct kafka_offset_fetch_resp_partition){
                offset_key_partition(g, len), c->offset, -1,
                kstr_from(pd_strdup(pd, kstr_from(c->metadata))), 0};
        }
        request_respond(rq, r);
        return;
    }
    r->topics = arena_calloc(&pd->arena, (size_t)req->n_topics + 1, sizeof *r->topics);
    if (!r->topics)
        abort();
    r->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_offset_fetch_req_topic *ti = &req->topics[i];
        struct kafka_offset_fetch_resp_topic *to = &r->topics[i];
        char *topic = pd_strdup(pd, ti->name);
        to->name = kstr_from(topic);
        to->partitions =
            arena_calloc(&pd->arena, (size_t)ti->n_partition_indexes + 1, sizeof *to->partitions);
        if (!to->partitions)
            abort();
        to->n_partitions = ti->n_partition_indexes;
        for (int32_t k = 0; k < ti->n_partition_indexes; k++) {
            char key[1024];
            size_t kl = offset_key(key, sizeof key, group, topic, ti->partition_indexes[k]);
            const struct committed *c = kl ? hmap_get(&b->groups->offsets, key, kl) : NULL;
            to->partitions[k] = (struct kafka_offset_fetch_resp_partition){
                ti->partition_indexes[k], c ? c->offset : -1, -1,
                kstr_from(c ? pd_strdup(pd, kstr_from(c->metadata)) : ""), 0};
        }
    }
    request_respond(rq, r);
}

/* ---- FindCoordinator, ListGroups, DescribeGroups, DeleteGroups ---- */

void handle_find_coordinator(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_find_coordinator_req *req = rq->body;
    struct kafka_find_coordinator_resp *r = response_new(rq);
    const char *host;
    int port;
    broker_advertised(b, &host, &port);
    if (req->key_type != 0) {
        r->error_code = KAFKA_COORDINATOR_NOT_AVAILABLE; /* no transaction coordinator */
        r->error_message = KSTR("brook has no transactions");
        r->node_id = -1;
        r->host = KSTR("");
        r->port = -1;
    } else {
        r->node_id = b->cfg->node_id;
        r->host = kstr_from(host);
        r->port = port;
        r->error_message = KSTR_NULL;
    }
    request_respond(rq, r);
}

void handle_list_groups(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_list_groups_resp *r = response_new(rq);
    int n = 0;
    for (struct group *g = b->groups->list; g; g = g->next)
        n++;
    r->groups = arena_calloc(&pd->arena, (size_t)n + 1, sizeof *r->groups);
    if (!r->groups)
        abort();
    for (struct group *g = b->groups->list; g; g = g->next)
        r->groups[r->n_groups++] = (struct kafka_list_groups_resp_group){
            kstr_from(pd_strdup(pd, kstr_from(g->id))),
            kstr_from(pd_strdup(pd, kstr_from(g->protocol_type)))};
    request_respond(rq, r);
}

static void describe_one(struct pending *pd, struct group *g, struct kstr id,
                         struct kafka_describe_groups_resp_group *o)
{
    kafka_init(&kafka_describe_groups_resp_group_desc, o);
    o->group_id = kstr_from(pd_strdup(pd, id));
    if (!g) {
        o->group_state = KSTR("Dead");
        o->protocol_type = o->protocol_data = KSTR("");
        return;
    }
    o->group_state = kstr_from(state_names[g->state]);
    o->protocol_type = kstr_from(pd_strdup(pd, kstr_from(g->protocol_type)));
    o->protocol_data = kstr_from(pd_strdup(pd, kstr_from(g->protocol)));
    o->members = arena_calloc(&pd->arena, (size_t)g->nmembers + 1, sizeof *o->members);
    if (!o->members)
        abort();
    for (struct member *m = g->members; m; m = m->next) {
        struct kafka_describe_groups_resp_member *x = &o->members[o->n_members++];
        const struct protocol *p = member_protocol(m, g->protocol);
        x->member_id = kstr_from(pd_strdup(pd, kstr_from(m->id)));
        x->group_instance_id =
            m->instance_id ? kstr_from(pd_strdup(pd, kstr_from(m->instance_id))) : KSTR_NULL;
        x->client_id = kstr_from(pd_strdup(pd, kstr_from(m->client_id)));
        x->client_host = kstr_from(pd_strdup(pd, kstr_from(m->client_host)));
        if (p) {
            uint8_t *copy = arena_alloc(&pd->arena, (size_t)p->len + 1);
            if (!copy)
                abort();
            memcpy(copy, p->meta, (size_t)p->len);
            x->member_metadata = (struct kbytes){copy, p->len};
        }
        if (g->state == STABLE && m->assignment_len > 0) {
            uint8_t *copy = arena_alloc(&pd->arena, (size_t)m->assignment_len);
            if (!copy)
                abort();
            memcpy(copy, m->assignment, (size_t)m->assignment_len);
            x->member_assignment = (struct kbytes){copy, m->assignment_len};
        }
    }
}

void handle_describe_groups(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_describe_groups_req *req = rq->body;
    struct kafka_describe_groups_resp *r = response_new(rq);
    r->groups = arena_calloc(&pd->arena, (size_t)req->n_groups + 1, sizeof *r->groups);
    if (!r->groups)
        abort();
    r->n_groups = req->n_groups;
    for (int32_t i = 0; i < req->n_groups; i++)
        describe_one(pd, group_find(b, req->groups[i]), req->groups[i], &r->groups[i]);
    request_respond(rq, r);
}

/* Forget a group and its offsets (with tombstones so they stay forgotten). */
static int group_delete(struct broker *b, struct group *g)
{
    struct commit_rec recs[256];
    int n = 0, rc = 0;
    size_t pos = 0, len;
    const void *key;
    void *val;
    int64_t end;
    for (;;) {
        bool more = hmap_next(&b->groups->offsets, &pos, &key, &len, &val);
        if (more) {
            const char *gid = key;
            if (strcmp(gid, g->id))
                continue;
            const char *topic = gid + strlen(gid) + 1;
            recs[n++] = (struct commit_rec){topic, offset_key_partition(gid, len), 0, NULL};
        }
        if (n && (n == 256 || !more)) {
            if ((rc = offsets_append(b, g->id, recs, n, true, &end)))
                return rc;
            for (int i = 0; i < n; i++) /* deleting invalidates the iteration: restart */
                offset_set(b, g->id, recs[i].topic, recs[i].partition, -1, NULL, 0);
            n = 0;
            pos = 0;
            continue;
        }
        if (!more)
            break;
    }
    for (struct group **pp = &b->groups->list; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    log_info("brook.group", "group %s deleted", g->id);
    group_free(g);
    return 0;
}

void handle_delete_groups(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_delete_groups_req *req = rq->body;
    struct kafka_delete_groups_resp *r = response_new(rq);
    r->results = arena_calloc(&pd->arena, (size_t)req->n_groups_names + 1, sizeof *r->results);
    if (!r->results)
        abort();
    r->n_results = req->n_groups_names;
    for (int32_t i = 0; i < req->n_groups_names; i++) {
        struct group *g = group_find(b, req->groups_names[i]);
        struct kafka_delete_groups_resp_result *o = &r->results[i];
        o->group_id = kstr_from(pd_strdup(pd, req->groups_names[i]));
        if (!g)
            o->error_code = KAFKA_GROUP_ID_NOT_FOUND;
        else if (g->members)
            o->error_code = KAFKA_NON_EMPTY_GROUP;
        else
            o->error_code = kafka_error_from(group_delete(b, g));
    }
    request_respond(rq, r);
}

/* ---- start and stop ---- */

static char *get_str16(struct reader *r)
{
    int16_t n = (int16_t)reader_be16(r);
    const uint8_t *p = n >= 0 ? reader_bytes(r, (size_t)n) : NULL;
    if (!p)
        return NULL;
    char *s = strndup((const char *)p, (size_t)n);
    if (!s)
        abort();
    return s;
}

/* Apply one record of __consumer_offsets read back at start. */
static void load_record(struct broker *b, const struct record *rec)
{
    struct reader k, v;
    if (rec->key_len < 2)
        return;
    reader_init(&k, rec->key, (size_t)rec->key_len);
    int16_t kv = (int16_t)reader_be16(&k);
    if (kv != 0 && kv != 1)
        return; /* group metadata: brook does not keep it */
    char *group = get_str16(&k), *topic = get_str16(&k);
    int32_t part = (int32_t)reader_be32(&k);
    if (reader_ok(&k) && group && topic) {
        if (rec->value_len < 0) {
            offset_set(b, group, topic, part, -1, NULL, 0);
        } else {
            reader_init(&v, rec->value, (size_t)rec->value_len);
            int16_t vv = (int16_t)reader_be16(&v);
            int64_t off = (int64_t)reader_be64(&v);
            if (vv >= 3)
                (void)reader_be32(&v); /* leader epoch */
            char *meta = get_str16(&v);
            int64_t when = (int64_t)reader_be64(&v);
            if (reader_ok(&v) && meta)
                offset_set(b, group, topic, part, off, meta, when);
            free(meta);
        }
    }
    free(group);
    free(topic);
}

static int offsets_load(struct broker *b)
{
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    int64_t off = store_partition_log_start(p), hw = store_partition_high_watermark(p);
    int rc = 0, n = 0;
    while (off < hw && !rc) {
        struct store_slice sl;
        if ((rc = store_partition_read(p, off, 1 << 20, &sl)) || !sl.len) {
            store_slice_release(&sl);
            break;
        }
        uint8_t *buf = malloc((size_t)sl.len);
        if (!buf)
            abort();
        if (pread(sl.fd, buf, (size_t)sl.len, sl.pos) != sl.len)
            rc = -EIO;
        for (size_t pos = 0; !rc && pos < (size_t)sl.len;) {
            size_t size;
            struct batch_iter it;
            struct record rec;
            if ((rc = batch_frame(buf + pos, (size_t)sl.len - pos, (size_t)sl.len, &size)))
                break;
            rc = batch_iter_init(&it, buf + pos, size, NULL, true);
            while (!rc && (rc = batch_iter_next(&it, &rec)) == 1) {
                load_record(b, &rec);
                n++;
                rc = 0;
            }
            batch_iter_release(&it);
            pos += size;
        }
        free(buf);
        off = sl.next_offset;
        store_slice_release(&sl);
    }
    if (!rc)
        log_info("brook.group", "loaded %zu committed offsets from %d records of %s",
                 b->groups->offsets.n, n, OFFSETS_TOPIC);
    return rc;
}

int groups_open(struct broker *b)
{
    b->groups = calloc(1, sizeof *b->groups);
    if (!b->groups)
        return -ENOMEM;
    hmap_init(&b->groups->offsets);
    struct store_topic *t = store_topic_get(b->store, OFFSETS_TOPIC);
    if (!t) {
        struct props *cfg = props_new();
        if (!cfg)
            return -ENOMEM;
        props_set(cfg, "cleanup.policy", "compact");
        props_set(cfg, "segment.bytes", "104857600");
        int rc = store_topic_create(b->store, OFFSETS_TOPIC, 1, cfg, NULL);
        props_free(cfg);
        if (rc)
            return rc;
        t = store_topic_get(b->store, OFFSETS_TOPIC);
        if (!t)
            return -ENOENT;
    }
    b->groups->topic = t;
    /* groups that have committed offsets exist (Empty) after a restart */
    int rc = offsets_load(b);
    size_t pos = 0, len;
    const void *key;
    void *val;
    while (!rc && hmap_next(&b->groups->offsets, &pos, &key, &len, &val))
        if (!group_find(b, kstr_from(key)))
            group_new(b, kstr_from(key));
    return rc;
}

void groups_close(struct broker *b)
{
    if (!b->groups)
        return;
    while (b->groups->list) {
        struct group *g = b->groups->list;
        b->groups->list = g->next;
        group_free(g);
    }
    size_t pos = 0, len;
    const void *key;
    void *val;
    while (hmap_next(&b->groups->offsets, &pos, &key, &len, &val)) {
        struct committed *c = val;
        free(c->metadata);
        free(c);
    }
    hmap_release(&b->groups->offsets);
    while (b->groups->pending_ids) {
        struct pending_id *x = b->groups->pending_ids;
        b->groups->pending_ids = x->next;
        free(x->id);
        free(x);
    }
    store_topic_put(b->groups->topic);
    free(b->groups);
    b->groups = NULL;
}

/* ---- read-only views and offset resets, for the console ---- */

static void group_info_fill(const struct group *g, struct group_info *out)
{
    *out = (struct group_info){
        .id = g->id,
        .state = state_names[g->state],
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
    struct group *g = b->groups ? group_find(b, kstr_from(id)) : NULL;
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
            .assignment = g->state == STABLE ? m->assignment : NULL,
            .assignment_len = g->state == STABLE ? m->assignment_len : 0,
        };
        fn(arg, &mi);
    }
    return 0;
}

void groups_foreach_offset(struct broker *b, const char *group, groups_offset_fn fn, void *arg)
{
    size_t pos = 0, len;
    const void *key;
    void *val;
    while (b->groups && hmap_next(&b->groups->offsets, &pos, &key, &len, &val)) {
        /* "group\0topic\0partition": the partition is not NUL-terminated */
        const char *g = key, *topic = g + strlen(g) + 1, *part = topic + strlen(topic) + 1;
        char num[16];
        snprintf(num, sizeof num, "%.*s", (int)(len - (size_t)(part - g)), part);
        const struct committed *c = val;
        if (!group || !strcmp(g, group))
            fn(arg, g, topic, atoi(num), c->offset, c->metadata, c->commit_ms);
    }
}

int groups_reset_offsets(struct broker *b, const char *group, const char *topic,
                         const int32_t *partitions, const int64_t *offsets, int n,
                         store_done_fn done, void *arg)
{
    if (!*group || n <= 0 || strlen(group) > 255)
        return -EINVAL;
    struct group *g = group_find(b, kstr_from(group));
    if (g && (g->state != EMPTY || g->members))
        return -EBUSY;
    struct commit_rec *recs = calloc((size_t)n, sizeof *recs);
    if (!recs)
        abort();
    for (int i = 0; i < n; i++)
        recs[i] = (struct commit_rec){topic, partitions[i], offsets[i], ""};
    int64_t end = 0;
    int rc = offsets_append(b, group, recs, n, false, &end);
    free(recs);
    if (rc)
        return rc;
    if (!g)
        group_new(b, kstr_from(group));
    for (int i = 0; i < n; i++)
        offset_set(b, group, topic, partitions[i], offsets[i], "", clock_wall_ms());
    log_info("brook.group", "group %s: %d committed offsets of %s reset from the console", group, n,
             topic);
    return store_partition_when_durable(store_topic_partition(b->groups->topic, 0), end, done, arg);
}
