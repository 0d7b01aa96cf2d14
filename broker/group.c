/*
 * group.c - the group coordinator: Kafka's classic rebalance protocol.
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
 * Groups are found through a hash map of their ids (start-up rebuilds 100 000 of
 * them in well under a second). Everything a request can multiply is bounded
 * before the answer is built (group.h): the members (group.max.size), the bytes a
 * group holds (GROUP_MAX_BYTES), the protocols of a join, the groups themselves
 * (brook.groups.max), and every response (GROUP_RESPONSE_MAX_BYTES). Past a
 * bound, the answer is Kafka's error where it has one, or a closed connection.
 *
 * Committed offsets are broker/offsets.c's; the types both share are in
 * broker/group.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "broker/group.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/props.h"

const char *const group_state_names[] = {"Empty", "PreparingRebalance", "CompletingRebalance",
                                         "Stable", "Dead"};

/* ---- small helpers ---- */

/* The bytes of an id as groups are keyed: up to its first NUL, as kdup keeps it. */
static size_t group_key_len(struct kstr id)
{
    return id.len > 0 ? strnlen(id.p, (size_t)id.len) : 0;
}

struct group *group_find(struct broker *b, struct kstr id)
{
    return hmap_get(&b->groups->by_id, id.p ? id.p : "", group_key_len(id));
}

bool groups_full(struct broker *b)
{
    return b->groups->by_id.n >= (size_t)b->cfg->groups_max;
}

/* A group id brook keeps: not empty and without NUL bytes (its key is a C string). */
static bool group_id_valid(struct kstr id)
{
    return id.len > 0 && group_key_len(id) == (size_t)id.len;
}

struct member *member_find(struct group *g, struct kstr id)
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

static void join_reply(struct pending *pd, struct group *g, struct member *m, int16_t err)
{
    struct kafka_join_group_resp *r = arena_alloc(&pd->arena, sizeof *r);
    if (!r) {
        pending_refuse(pd, "the JoinGroup response would pass its memory limit");
        return;
    }
    kafka_init(&kafka_join_group_resp_desc, r);
    r->error_code = err;
    if (!err && g) {
        r->generation_id = g->generation;
        r->protocol_name = kstr_from(g->protocol ? g->protocol : "");
        r->leader = kstr_from(g->leader ? g->leader : "");
    }
    if (m)
        r->member_id = kstr_from(m->id);
    if (!err && g && m && g->leader && !strcmp(g->leader, m->id)) {
        r->members = arena_calloc(&pd->arena, (size_t)g->nmembers + 1, sizeof *r->members);
        if (!r->members) {
            pending_refuse(pd, "the JoinGroup response would pass its memory limit");
            return;
        }
        for (struct member *x = g->members; x; x = x->next) {
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

static void sync_reply(struct pending *pd, const struct member *m, int16_t err)
{
    struct kafka_sync_group_resp *r = arena_alloc(&pd->arena, sizeof *r);
    if (!r) {
        pending_refuse(pd, "the SyncGroup response would pass its memory limit");
        return;
    }
    kafka_init(&kafka_sync_group_resp_desc, r);
    r->error_code = err;
    if (!err && m && m->assignment_len > 0)
        r->assignment = (struct kbytes){m->assignment, m->assignment_len};
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
 * member supports. NULL when there is none. The candidates are the first member's
 * protocols that all support; then one pass counts the votes, so the work is
 * members x protocols^2 (protocols <= GROUP_MAX_PROTOCOLS). */
static const char *choose_protocol(struct group *g)
{
    const struct member *first = g->members;
    if (!first || !first->nprotocols)
        return NULL;
    int n = first->nprotocols, *votes = calloc((size_t)n, sizeof *votes);
    if (!votes)
        abort();
    for (int i = 0; i < n; i++) { /* -1: not supported by every member */
        for (const struct member *m = g->members; m && !votes[i]; m = m->next)
            votes[i] = supports(m, first->protocols[i].name) ? 0 : -1;
    }
    for (const struct member *m = g->members; m; m = m->next)
        for (int k = 0, done = 0; k < m->nprotocols && !done; k++)
            for (int i = 0; i < n && !done; i++)
                if (votes[i] >= 0 && !strcmp(m->protocols[k].name, first->protocols[i].name)) {
                    votes[i]++; /* m's first common choice */
                    done = 1;
                }
    int best = -1;
    for (int i = 0; i < n; i++)
        if (votes[i] >= 0 && (best < 0 || votes[i] > votes[best]))
            best = i;
    free(votes);
    return best < 0 ? NULL : first->protocols[best].name;
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
        g->empty_since_ms = now;
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

struct group *group_new(struct broker *b, struct kstr id)
{
    struct group *g = calloc(1, sizeof *g);
    if (!g)
        abort();
    g->id = kdup(id);
    g->state = EMPTY;
    hmap_init(&g->offsets);
    if (hmap_put(&b->groups->by_id, g->id, strlen(g->id), g))
        abort();
    g->next = b->groups->list;
    if (g->next)
        g->next->prev = g;
    b->groups->list = g;
    return g;
}

static void group_free(struct broker *b, struct group *g)
{
    offsets_release(b, g);
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

/* Take g out of the list and the map (not freed). */
static void group_unlink(struct broker *b, struct group *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        b->groups->list = g->next;
    if (g->next)
        g->next->prev = g->prev;
    hmap_del(&b->groups->by_id, g->id, strlen(g->id));
}

void group_drop(struct broker *b, struct group *g)
{
    group_unlink(b, g);
    log_info("brook.group", "group %s removed: no members and no committed offsets", g->id);
    group_free(b, g);
}

/* ---- JoinGroup ---- */

/* What a member holds against GROUP_MAX_BYTES. */
static size_t member_bytes(const struct member *m)
{
    size_t n = strlen(m->id) + (m->instance_id ? strlen(m->instance_id) : 0);
    for (int i = 0; i < m->nprotocols; i++)
        n += strlen(m->protocols[i].name) + (size_t)m->protocols[i].len;
    return n;
}

/* What a JoinGroup would make its member hold (the id not yet chosen: 300 bytes). */
static size_t join_bytes(const struct kafka_join_group_req *req)
{
    size_t n = 300 + (req->group_instance_id.len > 0 ? (size_t)req->group_instance_id.len : 0);
    for (int32_t i = 0; i < req->n_protocols; i++)
        n += (size_t)(req->protocols[i].name.len > 0 ? req->protocols[i].name.len : 0) +
             (size_t)(req->protocols[i].metadata.len > 0 ? req->protocols[i].metadata.len : 0);
    return n;
}

/* Whether the group can take this join within GROUP_MAX_BYTES (a rejoining member
 * counts with what it sends now, not with what it had). */
static bool join_fits(const struct group *g, const struct kafka_join_group_req *req)
{
    size_t total = join_bytes(req);
    for (const struct member *m = g ? g->members : NULL; m && total <= GROUP_MAX_BYTES; m = m->next)
        if (!kstr_eq(req->member_id, m->id))
            total += member_bytes(m);
    return total <= GROUP_MAX_BYTES;
}

static int16_t join_check(struct broker *b, struct group *g, const struct kafka_join_group_req *req)
{
    if (!group_id_valid(req->group_id))
        return KAFKA_INVALID_GROUP_ID;
    if (!join_fits(g, req)) {
        log_warn_every("brook.group",
                       "JoinGroup refused: group %.*s would hold more than %u bytes "
                       "of member ids and protocol metadata",
                       (int)(req->group_id.len < 255 ? req->group_id.len : 255), req->group_id.p,
                       GROUP_MAX_BYTES);
        return KAFKA_GROUP_MAX_SIZE_REACHED;
    }
    if (!g && groups_full(b)) {
        log_warn_every("brook.group", "group %.*s not created: brook.groups.max (%lld) reached",
                       (int)(req->group_id.len < 255 ? req->group_id.len : 255), req->group_id.p,
                       (long long)b->cfg->groups_max);
        return KAFKA_GROUP_MAX_SIZE_REACHED;
    }
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
            gs->npending_ids--;
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
    if (req->n_protocols > GROUP_MAX_PROTOCOLS) { /* Kafka has no error for it */
        request_refuse(rq, "JoinGroup names more than 64 protocols");
        return;
    }
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
    /* KIP-394: hand out an id and let the client join with it; past PENDING_IDS_MAX
     * ids waiting, the member joins at once, as before v4 (the list stays bounded) */
    if (!err && fresh && !m && rq->version >= 4 && kstr_is_null(req->group_instance_id) &&
        b->groups->npending_ids < PENDING_IDS_MAX) {
        struct pending_id *x = calloc(1, sizeof *x);
        if (!x)
            abort();
        x->id = new_member_id(rq->hdr.client_id);
        x->until_ms = now + req->session_timeout_ms;
        x->next = b->groups->pending_ids;
        b->groups->pending_ids = x;
        b->groups->npending_ids++;
        struct kafka_join_group_resp *r = response_new(rq);
        if (!r) {
            request_refuse(rq, "the JoinGroup response would pass its memory limit");
            return;
        }
        r->error_code = KAFKA_MEMBER_ID_REQUIRED;
        r->member_id = kstr_from(x->id);
        request_respond(rq, r);
        return;
    }
    if (!err && !m && g && g->nmembers >= b->cfg->group_max_size)
        err = KAFKA_GROUP_MAX_SIZE_REACHED;
    if (err) {
        struct kafka_join_group_resp *r = response_new(rq);
        if (!r) {
            request_refuse(rq, "the JoinGroup response would pass its memory limit");
            return;
        }
        r->error_code = err;
        r->member_id = req->member_id; /* encoded before the request is freed */
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
    size_t total = 0;
    for (int32_t i = 0; i < req->n_assignments; i++)
        total +=
            (size_t)(req->assignments[i].assignment.len > 0 ? req->assignments[i].assignment.len
                                                            : 0);
    if (total > GROUP_MAX_BYTES) { /* Kafka has no error for it: the leader is refused */
        m->sync_pd = NULL;
        request_refuse(rq, "SyncGroup assignments pass 16 MiB");
        return;
    }
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
    if (!r) {
        request_refuse(rq, "the LeaveGroup response would pass its memory limit");
        return;
    }
    if (rq->version < 3) {
        r->error_code = leave_one(b, g, req->member_id, KSTR_NULL);
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
            b->groups->npending_ids--;
        } else {
            pp = &(*pp)->next;
        }
    }
    if (now >= b->groups->next_expiry_ms) {
        offsets_expire(b, now);
        b->groups->next_expiry_ms = now + b->cfg->offsets_check_ms;
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
    size_t n = b->groups->by_id.n, bytes = 0;
    if (r)
        r->groups = arena_calloc(&pd->arena, n + 1, sizeof *r->groups);
    for (struct group *g = b->groups->list; r && r->groups && g; g = g->next) {
        const char *type = g->protocol_type ? g->protocol_type : "";
        r->groups[r->n_groups++] =
            (struct kafka_list_groups_resp_group){kstr_from(g->id), kstr_from(type)};
        bytes += 8 + strlen(g->id) + strlen(type);
    }
    if (!r || !r->groups || bytes > GROUP_RESPONSE_MAX_BYTES) {
        request_refuse(rq, "the ListGroups response would pass 96 MiB");
        return;
    }
    request_respond(rq, r);
}

/* Response bytes a DescribeGroups entry for g takes at most (up to a bit more than
 * limit: counting stops there). */
static size_t describe_bytes(const struct group *g, size_t limit)
{
    size_t n = 64 + strlen(g->id);
    if (g->protocol_type)
        n += strlen(g->protocol_type);
    if (g->protocol)
        n += strlen(g->protocol);
    for (const struct member *m = g->members; m && n <= limit; m = m->next) {
        const struct protocol *p = member_protocol(m, g->protocol);
        n += 32 + strlen(m->id) + (m->instance_id ? strlen(m->instance_id) : 0) +
             strlen(m->client_id ? m->client_id : "") +
             strlen(m->client_host ? m->client_host : "") + (p ? (size_t)p->len : 0) +
             (size_t)(g->state == STABLE && m->assignment_len > 0 ? m->assignment_len : 0);
    }
    return n;
}

static int describe_one(struct pending *pd, struct group *g, struct kstr id,
                        struct kafka_describe_groups_resp_group *o)
{
    kafka_init(&kafka_describe_groups_resp_group_desc, o);
    o->group_id = id; /* the request's: encoded before it is freed */
    if (!g) {
        o->group_state = KSTR("Dead");
        o->protocol_type = o->protocol_data = KSTR("");
        return 0;
    }
    o->group_state = kstr_from(group_state_names[g->state]);
    o->protocol_type = kstr_from(g->protocol_type ? g->protocol_type : "");
    o->protocol_data = kstr_from(g->protocol ? g->protocol : "");
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
        if (p)
            x->member_metadata = (struct kbytes){p->meta, p->len};
        if (g->state == STABLE && m->assignment_len > 0)
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
    for (int32_t i = 0; i < req->n_groups && bytes <= GROUP_RESPONSE_MAX_BYTES; i++) {
        struct group *g = group_find(b, req->groups[i]);
        bytes += g ? describe_bytes(g, GROUP_RESPONSE_MAX_BYTES) : 64;
        bytes += req->groups[i].len > 0 ? (size_t)req->groups[i].len : 0;
    }
    if (r && bytes <= GROUP_RESPONSE_MAX_BYTES)
        r->groups = arena_calloc(&pd->arena, (size_t)req->n_groups + 1, sizeof *r->groups);
    if (!r || !r->groups) {
        request_refuse(rq, "the DescribeGroups response would pass 96 MiB");
        return;
    }
    r->n_groups = req->n_groups;
    for (int32_t i = 0; i < req->n_groups && !rc; i++)
        rc = describe_one(pd, group_find(b, req->groups[i]), req->groups[i], &r->groups[i]);
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
    group_unlink(b, g);
    log_info("brook.group", "group %s deleted", g->id);
    group_free(b, g);
    return 0;
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
        struct group *g = group_find(b, req->groups_names[i]);
        struct kafka_delete_groups_resp_result *o = &r->results[i];
        o->group_id = req->groups_names[i]; /* encoded before the request is freed */
        if (!g)
            o->error_code = KAFKA_GROUP_ID_NOT_FOUND;
        else if (g->members)
            o->error_code = KAFKA_NON_EMPTY_GROUP;
        else
            o->error_code = kafka_error_from(group_delete(b, g));
    }
    request_respond(rq, r);
}

int groups_open(struct broker *b)
{
    b->groups = calloc(1, sizeof *b->groups);
    if (!b->groups)
        return -ENOMEM;
    hmap_init(&b->groups->by_id);
    b->groups->next_expiry_ms = clock_wall_ms() + b->cfg->offsets_check_ms;
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
    if (store_topic_config(t)->cleanup_policy != CLEANUP_COMPACT) {
        /* retention would delete committed offsets; never adopt such a topic */
        log_error("brook.group",
                  "%s is not compacted (cleanup.policy must be compact): refusing to start "
                  "(docs/operations.md says how to repair it)",
                  OFFSETS_TOPIC);
        groups_close(b);
        return STORE_EINVALID_CONFIG;
    }
    /* groups that have committed offsets exist (Empty) after a restart; those whose
     * offsets were all forgotten later in the log do not */
    int rc = offsets_load(b);
    for (struct group *g = b->groups->list, *next; g; g = next) {
        next = g->next;
        if (!g->offsets.n) {
            group_unlink(b, g);
            group_free(b, g);
        }
    }
    return rc;
}

void groups_close(struct broker *b)
{
    if (!b->groups)
        return;
    while (b->groups->list) {
        struct group *g = b->groups->list;
        b->groups->list = g->next;
        group_free(b, g);
    }
    hmap_release(&b->groups->by_id);
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
