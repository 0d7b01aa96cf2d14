/*
 * group.c - consumer group membership: Kafka's classic (eager) rebalance protocol.
 *
 * The coordinator is found with FindCoordinator and is then just the connection
 * to that broker. A member moves
 *
 *   JOIN -> JOINING -> (leader: ASSIGN) -> SYNCING -> STABLE
 *                ^                                      |
 *                +------------- REVOKE <----------------+  heartbeat says rebalance,
 *                                                           or the leader sees new partitions
 *
 * JoinGroup carries protocol type "consumer" and one protocol per configured
 * assignor, each with the subscription in Kafka's ConsumerProtocol encoding, so
 * librdkafka and Java consumers can share the group (the coordinator picks an
 * assignor all members list). The leader gets every member's subscription, makes
 * sure it knows the partition counts, runs the chosen assignor (assign.c) and
 * sends the assignments with its SyncGroup; every member's SyncGroup answer
 * carries its own partitions, which become the consumer's assignment (starting
 * from the committed offsets).
 *
 * Revoking is eager: before rejoining, the member commits its positions (when
 * auto-commit is on), tells the application (REVOKE callback, where it may commit
 * itself), waits until no commit is in flight, and only then drops its partitions
 * and rejoins. A member that sent its last commit before the leader's SyncGroup
 * can therefore hand its partitions over without a record read twice.
 *
 * JoinGroup v4+ answers an unknown member with MEMBER_ID_REQUIRED and an id to
 * join with, which we do at once. Closing sends LeaveGroup, so the others
 * rebalance immediately instead of after session.timeout.ms.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "proto/kafka_errors.h"

#define JOIN_EXTRA_MS 5000

enum gstate {
    G_IDLE,    /* not subscribed: coordinator only (simple commits) */
    G_JOIN,    /* send JoinGroup when the coordinator is known */
    G_JOINING, /* JoinGroup in flight */
    G_ASSIGN,  /* leader: waiting for partition counts */
    G_SYNCING, /* SyncGroup in flight */
    G_STABLE,  /* assigned; heartbeating */
    G_REVOKE,  /* committing before rejoining */
    G_LEAVING, /* LeaveGroup in flight */
    G_LEFT,    /* done */
    G_FATAL,   /* an error the application must see; nothing more happens */
};

struct group {
    enum gstate st;
    char *member_id;
    int32_t generation;
    char *protocol;
    char **topics; /* subscription */
    size_t n_topics;
    int32_t coord_node;
    struct conn *coord;
    struct req *find; /* FindCoordinator in flight */
    struct req *step; /* JoinGroup, SyncGroup or LeaveGroup in flight */
    struct req *hb;   /* Heartbeat in flight */
    int64_t find_at;  /* no FindCoordinator before */
    int64_t join_at;  /* no JoinGroup before */
    int64_t next_hb;
    int64_t revoke_deadline;
    struct resp *join; /* leader: the JoinGroup answer with the members */
    bool leader;
    bool leaving;     /* grp_leave() has begun: take no further part */
    uint64_t md_seen; /* metadata version the leader last checked */
    int32_t *counts;  /* leader: partition counts it assigned with, per topic */
    size_t n_counts;
    char **count_topics;
};

static struct group *grp_get(struct brook_client *c)
{
    if (c->grp)
        return c->grp;
    if (!c->conf.group_id || !*c->conf.group_id)
        return NULL;
    struct group *g = calloc(1, sizeof *g);
    if (!g || !(g->member_id = strdup(""))) {
        free(g);
        return NULL;
    }
    g->generation = -1;
    g->coord_node = -1;
    c->grp = g;
    return g;
}

static void counts_free(struct group *g)
{
    for (size_t i = 0; i < g->n_counts; i++)
        free(g->count_topics[i]);
    free(g->count_topics);
    free(g->counts);
    g->count_topics = NULL;
    g->counts = NULL;
    g->n_counts = 0;
}

static void set_member(struct group *g, struct kstr id)
{
    char *m = strndup(id.p ? id.p : "", id.len > 0 ? (size_t)id.len : 0);
    if (!m)
        return; /* keep the old one; the coordinator will say it is unknown */
    free(g->member_id);
    g->member_id = m;
}

int grp_init(struct brook_client *c, const char *const *topics, size_t n)
{
    struct group *g = grp_get(c);
    if (!g)
        return -ENOMEM;
    if (!(g->topics = calloc(n, sizeof *g->topics)))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!topics[i] || !*topics[i])
            return -EINVAL;
        if (!(g->topics[i] = strdup(topics[i])))
            return -ENOMEM;
        g->n_topics = i + 1;
        if (!md_want(c, topics[i], false))
            return -ENOMEM;
    }
    g->st = G_JOIN;
    c->dirty = true;
    return 0;
}

void grp_free(struct brook_client *c)
{
    struct group *g = c->grp;
    if (!g)
        return;
    if (g->find)
        req_orphan(g->find);
    if (g->step)
        req_orphan(g->step);
    if (g->hb)
        req_orphan(g->hb);
    for (size_t i = 0; i < g->n_topics; i++)
        free(g->topics[i]);
    free(g->topics);
    free(g->member_id);
    free(g->protocol);
    resp_free(g->join);
    counts_free(g);
    free(g);
    c->grp = NULL;
}

/* ---- the coordinator ---- */

static void lose_coordinator(struct brook_client *c, struct group *g)
{
    g->coord = NULL;
    g->coord_node = -1;
    g->find_at = c->now + c->conf.retry_backoff_ms;
    c->dirty = true;
}

static void on_find(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct group *g = c->grp;
    if (!g)
        return;
    g->find = NULL;
    struct coord_answer a = rs ? grp_coord_answer(rs) : (struct coord_answer){0};
    if (err || a.error_code) {
        g->find_at = c->now + c->conf.retry_backoff_ms;
        if (a.error_code && !kafka_error_retriable(a.error_code) &&
            a.error_code != KAFKA_COORDINATOR_NOT_AVAILABLE) {
            cons_report(c, kerr(a.error_code));
            if (g->st != G_IDLE)
                g->st = G_FATAL;
        }
        return;
    }
    struct conn *k = md_broker_conn(c, a.node_id);
    if (!k) {
        char *host = strndup(a.host.p ? a.host.p : "", a.host.len > 0 ? (size_t)a.host.len : 0);
        if (host)
            k = conn_new(c, a.node_id, host, a.port);
        free(host);
    }
    if (!k) {
        g->find_at = c->now + c->conf.retry_backoff_ms;
        return;
    }
    g->coord = k;
    g->coord_node = a.node_id;
    c->dirty = true;
}

struct coord_answer grp_coord_answer(const struct resp *rs)
{
    const struct kafka_find_coordinator_resp *r = rs->body;
    if (rs->version < 4)
        return (struct coord_answer){r->error_code, r->node_id, r->host, r->port};
    if (r->n_coordinators != 1)
        return (struct coord_answer){KAFKA_COORDINATOR_NOT_AVAILABLE, -1, KSTR(""), -1};
    const struct kafka_find_coordinator_resp_coordinator *k = &r->coordinators[0];
    return (struct coord_answer){k->error_code, k->node_id, k->host, k->port};
}

int grp_coord_ask(struct req *rq, const char *key)
{
    struct kafka_find_coordinator_req *b = rq->body;
    int err = 0;
    b->key = req_str(rq, key, &err);
    b->key_type = 0; /* a consumer group */
    if (!err && !(b->coordinator_keys = arena_calloc(&rq->arena, 1, sizeof(struct kstr))))
        err = -ENOMEM;
    if (!err) {
        b->coordinator_keys[0] = b->key;
        b->n_coordinator_keys = 1;
    }
    return err;
}

static void find_coordinator(struct brook_client *c, struct group *g)
{
    if (g->find || g->coord)
        return;
    if (c->now < g->find_at) {
        client_wake_at(c, g->find_at);
        return;
    }
    struct conn *k = md_any_conn(c, NULL);
    if (!k) {
        md_refresh(c);
        return;
    }
    struct req *rq = req_new(KAFKA_API_FIND_COORDINATOR, on_find, NULL);
    if (!rq)
        return;
    if (grp_coord_ask(rq, c->conf.group_id)) {
        req_free(rq);
        return;
    }
    g->find = rq;
    conn_send(k, rq);
}

struct conn *grp_coordinator(struct brook_client *c)
{
    struct group *g = grp_get(c);
    if (!g)
        return NULL;
    if (g->coord && g->coord->state == CONN_DOWN && g->coord->last_err && g->coord->failures > 2)
        lose_coordinator(c, g); /* gone for good, maybe moved: find it again */
    if (!g->coord)
        find_coordinator(c, g);
    return g->coord;
}

void grp_identity(struct brook_client *c, struct group_identity *id)
{
    struct group *g = c->grp;
    id->group_id = c->conf.group_id;
    bool member = g && (g->st == G_STABLE || g->st == G_REVOKE || g->st == G_LEAVING);
    id->member_id = member ? g->member_id : "";
    id->generation = member ? g->generation : -1;
}

bool grp_stable(const struct brook_client *c)
{
    const struct group *g = c->grp;
    return !g || g->st == G_IDLE || g->st == G_STABLE;
}

/* ---- rebalance callbacks ---- */

static void notify(struct brook_client *c, int event)
{
    if (!c->conf.rb_cb)
        return;
    struct brook_tp *tps;
    size_t n;
    if (cons_assignment(c, &tps, &n))
        return;
    c->conf.rb_cb(c->conf.rb_arg, event, tps, n);
    c->callbacks++;
    free(tps);
}

static void start_revoke(struct brook_client *c, struct group *g)
{
    if (g->st != G_STABLE)
        return;
    if (c->conf.auto_commit)
        cons_commit_start(c);
    notify(c, BROOK_REBALANCE_REVOKE);
    g->st = G_REVOKE;
    g->revoke_deadline = c->now + c->conf.request_timeout_ms;
    c->dirty = true;
}

/* Give up the assignment and join again (a join under way needs nothing more:
 * its answer carries the new generation). */
static void rejoin(struct brook_client *c, struct group *g, bool reset_member)
{
    if (reset_member)
        set_member(g, KSTR(""));
    if (g->st == G_STABLE)
        start_revoke(c, g);
}

void grp_on_commit_error(struct brook_client *c, int16_t code)
{
    struct group *g = c->grp;
    if (!g)
        return;
    switch (code) {
    case KAFKA_NOT_COORDINATOR:
    case KAFKA_COORDINATOR_NOT_AVAILABLE:
    case KAFKA_COORDINATOR_LOAD_IN_PROGRESS: lose_coordinator(c, g); break;
    case KAFKA_UNKNOWN_MEMBER_ID: rejoin(c, g, true); break;
    case KAFKA_ILLEGAL_GENERATION:
    case KAFKA_REBALANCE_IN_PROGRESS: rejoin(c, g, false); break;
    default: break;
    }
}

/* The group-level answer to a join, sync or heartbeat error; true if handled. */
static bool common_error(struct brook_client *c, struct group *g, int err, int16_t code)
{
    if (err) {
        lose_coordinator(c, g);
        return true;
    }
    switch (code) {
    case KAFKA_NOT_COORDINATOR:
    case KAFKA_COORDINATOR_NOT_AVAILABLE:
    case KAFKA_COORDINATOR_LOAD_IN_PROGRESS: lose_coordinator(c, g); return true;
    case KAFKA_UNKNOWN_MEMBER_ID: set_member(g, KSTR("")); return true;
    case KAFKA_ILLEGAL_GENERATION:
    case KAFKA_REBALANCE_IN_PROGRESS: return true;
    }
    return false;
}

static void fatal(struct brook_client *c, struct group *g, int16_t code)
{
    g->st = G_FATAL;
    cons_report(c, kerr(code));
}

/* ---- JoinGroup ---- */

static int fill_protocols(struct brook_client *c, struct group *g, struct req *rq)
{
    struct kafka_join_group_req *b = rq->body;
    struct writer w;
    writer_init(&w, 1u << 20);
    int rc = assign_encode_subscription((const char *const *)g->topics, g->n_topics, &w);
    uint8_t *meta = rc ? NULL : arena_alloc(&rq->arena, w.len + 1);
    if (meta)
        memcpy(meta, w.buf, w.len);
    size_t meta_len = w.len;
    writer_release(&w);
    if (!meta)
        return rc ? rc : -ENOMEM;
    const char *list = c->conf.assignors ? c->conf.assignors : "range";
    b->protocols = arena_calloc(&rq->arena, strlen(list) / 2 + 2, sizeof *b->protocols);
    if (!b->protocols)
        return -ENOMEM;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ", ");
        if (n) {
            char *name = arena_strndup(&rq->arena, p, n);
            if (!name)
                return -ENOMEM;
            b->protocols[b->n_protocols++] = (struct kafka_join_group_req_protocol){
                {name, (int32_t)n}, {meta, (int32_t)meta_len}};
        }
        p += n;
        p += strspn(p, ", ");
    }
    return b->n_protocols ? 0 : BROOK_ERR_CONFIG;
}

static void on_join(struct brook_client *c, struct req *rq, int err, struct resp *rs);

static void send_join(struct brook_client *c, struct group *g)
{
    if (g->step)
        return;
    if (c->now < g->join_at) {
        client_wake_at(c, g->join_at);
        return;
    }
    struct conn *k = grp_coordinator(c);
    if (!k)
        return;
    struct req *rq = req_new(KAFKA_API_JOIN_GROUP, on_join, NULL);
    if (!rq)
        return;
    struct kafka_join_group_req *b = rq->body;
    int err = 0;
    b->group_id = req_str(rq, c->conf.group_id, &err);
    b->member_id = req_str(rq, g->member_id, &err);
    b->session_timeout_ms = c->conf.session_timeout_ms;
    b->rebalance_timeout_ms = c->conf.max_poll_ms;
    b->protocol_type = KSTR("consumer");
    if (err || (err = fill_protocols(c, g, rq))) {
        req_free(rq);
        if (err == BROOK_ERR_CONFIG) {
            g->st = G_FATAL;
            cons_report(c, err);
        }
        return;
    }
    rq->extra_ms = (int64_t)c->conf.max_poll_ms + JOIN_EXTRA_MS;
    g->step = rq;
    g->st = G_JOINING;
    conn_send(k, rq);
}

static void send_sync(struct brook_client *c, struct group *g, struct req *rq);
static void on_sync(struct brook_client *c, struct req *rq, int err, struct resp *rs);

static struct req *sync_new(struct brook_client *c, struct group *g)
{
    struct req *rq = req_new(KAFKA_API_SYNC_GROUP, on_sync, NULL);
    if (!rq)
        return NULL;
    struct kafka_sync_group_req *b = rq->body;
    int err = 0;
    b->group_id = req_str(rq, c->conf.group_id, &err);
    b->member_id = req_str(rq, g->member_id, &err);
    b->generation_id = g->generation;
    /* v5 names them, and Kafka checks them against the group's */
    b->protocol_type = KSTR("consumer");
    if (g->protocol)
        b->protocol_name = req_str(rq, g->protocol, &err);
    if (err) {
        req_free(rq);
        return NULL;
    }
    return rq;
}

static void on_join(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct group *g = c->grp;
    if (!g || g->step != rq)
        return;
    g->step = NULL;
    g->st = G_JOIN;
    const struct kafka_join_group_resp *r = rs ? rs->body : NULL;
    int16_t code = r ? r->error_code : 0;
    if (code == KAFKA_MEMBER_ID_REQUIRED) {
        set_member(g, r->member_id);
        return;
    }
    if (err || code) {
        if (!common_error(c, g, err, code))
            fatal(c, g, code);
        g->join_at = c->now + c->conf.retry_backoff_ms;
        return;
    }
    g->generation = r->generation_id;
    set_member(g, r->member_id);
    free(g->protocol);
    g->protocol = strndup(r->protocol_name.p ? r->protocol_name.p : "",
                          r->protocol_name.len > 0 ? (size_t)r->protocol_name.len : 0);
    g->leader = kstr_eq(r->leader, g->member_id);
    if (g->leader) {
        resp_free(g->join);
        if (!(g->join = resp_take(rs)))
            return; /* out of memory: join again */
        g->st = G_ASSIGN;
        return;
    }
    struct req *sq = sync_new(c, g);
    if (sq)
        send_sync(c, g, sq);
}

/* ---- the leader's assignment ---- */

struct leader_plan {
    struct assign_member *m;
    size_t n;
    struct assign_topic *t;
    size_t nt;
    struct arena a;
};

static void plan_release(struct leader_plan *pl)
{
    assign_members_release(pl->m, pl->n);
    arena_release(&pl->a);
}

static bool topic_listed(const struct assign_topic *t, size_t nt, struct kstr name)
{
    for (size_t i = 0; i < nt; i++)
        if (kstr_eq(name, t[i].name))
            return true;
    return false;
}

/* Decode every member's subscription; 1 when every topic's partitions are known,
 * 0 when metadata is still needed, or an error. */
static int plan_build(struct brook_client *c, const struct kafka_join_group_resp *r,
                      struct leader_plan *pl)
{
    arena_init(&pl->a, 64u << 20);
    pl->m = arena_calloc(&pl->a, (size_t)r->n_members + 1, sizeof *pl->m);
    size_t cap = 16;
    pl->t = arena_calloc(&pl->a, cap, sizeof *pl->t);
    if (!pl->m || !pl->t)
        return -ENOMEM;
    bool ready = true;
    for (int32_t i = 0; i < r->n_members; i++) {
        struct assign_member *m = &pl->m[pl->n++];
        struct kstr *topics;
        size_t n;
        const struct kbytes *meta = &r->members[i].metadata;
        if (!(m->id = kstr_dup(&pl->a, r->members[i].member_id)))
            return -ENOMEM;
        if (assign_decode_subscription(meta->p, meta->len > 0 ? (size_t)meta->len : 0, &pl->a,
                                       &topics, &n))
            continue; /* unreadable: this member gets nothing */
        const char **names = arena_calloc(&pl->a, n + 1, sizeof *names);
        if (!names)
            return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
            if (!(names[k] = kstr_dup(&pl->a, topics[k])))
                return -ENOMEM;
            if (topic_listed(pl->t, pl->nt, topics[k]))
                continue;
            if (pl->nt + 1 == cap) {
                struct assign_topic *t = arena_calloc(&pl->a, cap * 2, sizeof *t);
                if (!t)
                    return -ENOMEM;
                memcpy(t, pl->t, pl->nt * sizeof *t);
                pl->t = t;
                cap *= 2;
            }
            struct md_topic *md = md_want(c, names[k], false);
            if (!md)
                return -ENOMEM;
            ready &= md->known;
            pl->t[pl->nt++] =
                (struct assign_topic){names[k], md->known && !md->err ? md->n_parts : 0};
        }
        m->topics = names;
        m->n_topics = n;
    }
    return ready;
}

static int remember_counts(struct group *g, const struct leader_plan *pl)
{
    counts_free(g);
    g->counts = calloc(pl->nt + 1, sizeof *g->counts);
    g->count_topics = calloc(pl->nt + 1, sizeof *g->count_topics);
    if (!g->counts || !g->count_topics)
        return -ENOMEM;
    for (size_t i = 0; i < pl->nt; i++) {
        if (!(g->count_topics[i] = strdup(pl->t[i].name)))
            return -ENOMEM;
        g->counts[i] = pl->t[i].partitions;
        g->n_counts = i + 1;
    }
    return 0;
}

static int fill_assignments(struct req *rq, const struct leader_plan *pl)
{
    struct kafka_sync_group_req *b = rq->body;
    b->assignments = arena_calloc(&rq->arena, pl->n + 1, sizeof *b->assignments);
    if (!b->assignments)
        return -ENOMEM;
    for (size_t i = 0; i < pl->n; i++) {
        struct writer w;
        writer_init(&w, 64u << 20);
        int rc = assign_encode_assignment(pl->m[i].tps, pl->m[i].n_tps, &w);
        uint8_t *p = rc ? NULL : arena_alloc(&rq->arena, w.len + 1);
        if (p)
            memcpy(p, w.buf, w.len);
        size_t len = w.len;
        writer_release(&w);
        if (!p)
            return rc ? rc : -ENOMEM;
        char *id = arena_strndup(&rq->arena, pl->m[i].id, strlen(pl->m[i].id));
        if (!id)
            return -ENOMEM;
        b->assignments[b->n_assignments++] =
            (struct kafka_sync_group_req_assignment){{id, (int32_t)strlen(id)}, {p, (int32_t)len}};
    }
    return 0;
}

static void run_assign(struct brook_client *c, struct group *g)
{
    struct leader_plan pl = {0};
    int rc = plan_build(c, g->join->body, &pl);
    if (rc == 0) { /* waiting for metadata */
        plan_release(&pl);
        return;
    }
    struct req *rq = rc < 0 ? NULL : sync_new(c, g);
    if (rq)
        rc = assign_run(g->protocol, pl.m, pl.n, pl.t, pl.nt);
    if (rq && !rc)
        rc = remember_counts(g, &pl);
    if (rq && !rc)
        rc = fill_assignments(rq, &pl);
    plan_release(&pl);
    if (!rq || rc) {
        req_free(rq);
        if (rc == -EINVAL) {
            fatal(c, g, KAFKA_INCONSISTENT_GROUP_PROTOCOL);
            return;
        }
        g->st = G_JOIN; /* out of memory: try the whole round again */
        g->join_at = c->now + c->conf.retry_backoff_ms;
        return;
    }
    g->md_seen = md_version(c);
    resp_free(g->join);
    g->join = NULL;
    send_sync(c, g, rq);
}

/* ---- SyncGroup ---- */

static void send_sync(struct brook_client *c, struct group *g, struct req *rq)
{
    struct conn *k = grp_coordinator(c);
    if (!k) {
        req_free(rq);
        g->st = G_JOIN;
        return;
    }
    rq->extra_ms = (int64_t)c->conf.max_poll_ms;
    g->step = rq;
    g->st = G_SYNCING;
    conn_send(k, rq);
}

static void on_sync(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct group *g = c->grp;
    if (!g || g->step != rq)
        return;
    g->step = NULL;
    g->st = G_JOIN;
    const struct kafka_sync_group_resp *r = rs ? rs->body : NULL;
    int16_t code = r ? r->error_code : 0;
    if (err || code) {
        if (!common_error(c, g, err, code))
            fatal(c, g, code);
        return;
    }
    struct arena a;
    arena_init(&a, 64u << 20);
    struct brook_tp *tps;
    size_t n;
    int rc = assign_decode_assignment(
        r->assignment.p, r->assignment.len > 0 ? (size_t)r->assignment.len : 0, &a, &tps, &n);
    if (!rc)
        rc = cons_set_assignment(c, tps, n);
    arena_release(&a);
    if (rc) {
        g->join_at = c->now + c->conf.retry_backoff_ms;
        return;
    }
    g->st = G_STABLE;
    g->next_hb = c->now + c->conf.heartbeat_ms;
    notify(c, BROOK_REBALANCE_ASSIGN);
}

/* ---- Heartbeat ---- */

static void on_heartbeat(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct group *g = c->grp;
    if (!g || g->hb != rq)
        return;
    g->hb = NULL;
    const struct kafka_heartbeat_resp *r = rs ? rs->body : NULL;
    int16_t code = r ? r->error_code : 0;
    if (err) {
        g->next_hb = c->now + c->conf.retry_backoff_ms;
        return;
    }
    switch (code) {
    case KAFKA_NONE: break;
    case KAFKA_REBALANCE_IN_PROGRESS:
    case KAFKA_ILLEGAL_GENERATION: rejoin(c, g, false); break;
    case KAFKA_UNKNOWN_MEMBER_ID: rejoin(c, g, true); break;
    case KAFKA_NOT_COORDINATOR:
    case KAFKA_COORDINATOR_NOT_AVAILABLE:
    case KAFKA_COORDINATOR_LOAD_IN_PROGRESS: lose_coordinator(c, g); break;
    default:
        if (g->st == G_STABLE)
            fatal(c, g, code);
    }
}

static void send_heartbeat(struct brook_client *c, struct group *g)
{
    if (g->hb)
        return;
    if (c->now < g->next_hb) {
        client_wake_at(c, g->next_hb);
        return;
    }
    struct conn *k = grp_coordinator(c);
    if (!k)
        return;
    struct req *rq = req_new(KAFKA_API_HEARTBEAT, on_heartbeat, NULL);
    if (!rq)
        return;
    struct kafka_heartbeat_req *b = rq->body;
    int err = 0;
    b->group_id = req_str(rq, c->conf.group_id, &err);
    b->member_id = req_str(rq, g->member_id, &err);
    b->generation_id = g->generation;
    if (err) {
        req_free(rq);
        return;
    }
    g->hb = rq;
    g->next_hb = c->now + c->conf.heartbeat_ms;
    client_wake_at(c, g->next_hb);
    conn_send(k, rq);
}

/* The leader rejoins when a subscribed topic's partition count changed. */
static void check_partitions(struct brook_client *c, struct group *g)
{
    if (!g->leader || g->md_seen == md_version(c))
        return;
    g->md_seen = md_version(c);
    for (size_t i = 0; i < g->n_counts; i++) {
        struct md_topic *t = md_topic(c, g->count_topics[i]);
        if (t && t->known && !t->err && t->n_parts != g->counts[i]) {
            rejoin(c, g, false);
            return;
        }
    }
}

/* ---- LeaveGroup ---- */

static void on_leave(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct group *g = c->grp;
    if (g && g->step == rq) {
        g->step = NULL;
        g->st = G_LEFT;
    }
}

static void send_leave(struct brook_client *c, struct group *g)
{
    struct conn *k = g->coord;
    struct req *rq = k ? req_new(KAFKA_API_LEAVE_GROUP, on_leave, NULL) : NULL;
    if (!rq) {
        g->st = G_LEFT;
        return;
    }
    struct kafka_leave_group_req *b = rq->body;
    int err = 0;
    b->group_id = req_str(rq, c->conf.group_id, &err);
    b->member_id = req_str(rq, g->member_id, &err);
    b->members = arena_calloc(&rq->arena, 1, sizeof *b->members);
    if (err || !b->members) {
        req_free(rq);
        g->st = G_LEFT;
        return;
    }
    b->members[0].member_id = b->member_id;
    b->members[0].group_instance_id = KSTR_NULL;
    b->n_members = 1;
    g->step = rq;
    g->st = G_LEAVING;
    conn_send(k, rq);
}

/* Stop taking part before leaving: forget requests under way, tell the
 * application its partitions go (it may commit them now). */
static void leave_start(struct brook_client *c, struct group *g)
{
    g->leaving = true;
    if (g->st == G_STABLE || g->st == G_REVOKE)
        notify(c, BROOK_REBALANCE_REVOKE);
    if (g->step)
        req_orphan(g->step);
    g->step = NULL;
    if (g->hb)
        req_orphan(g->hb);
    g->hb = NULL;
    g->revoke_deadline = c->now + c->conf.request_timeout_ms;
}

bool grp_leave(struct brook_client *c)
{
    struct group *g = c->grp;
    if (!g || g->st == G_LEFT || g->st == G_FATAL || g->st == G_IDLE)
        return true;
    if (g->st == G_LEAVING)
        return false;
    if (!g->leaving)
        leave_start(c, g);
    if (cons_commit_busy(c) && c->now < g->revoke_deadline)
        return false; /* the last commits go out under our membership */
    cons_clear_assignment(c);
    if (!*g->member_id || !g->coord) {
        g->st = G_LEFT;
        return true;
    }
    send_leave(c, g);
    return g->st == G_LEFT;
}

/* ---- the loop ---- */

void grp_run(struct brook_client *c)
{
    struct group *g = c->grp;
    if (!g || g->leaving)
        return;
    if (!g->coord && g->st != G_IDLE && g->st != G_LEFT && g->st != G_FATAL && g->st != G_LEAVING)
        find_coordinator(c, g);
    switch (g->st) {
    case G_JOIN: send_join(c, g); break;
    case G_ASSIGN: run_assign(c, g); break;
    case G_STABLE:
        send_heartbeat(c, g);
        check_partitions(c, g);
        break;
    case G_REVOKE:
        if (cons_commit_busy(c) && c->now < g->revoke_deadline) {
            client_wake_at(c, g->revoke_deadline);
            break;
        }
        cons_clear_assignment(c);
        g->st = G_JOIN;
        send_join(c, g);
        break;
    default: break;
    }
}
