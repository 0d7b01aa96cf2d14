/*
 * consumer.c - assigned partitions and where each starts reading; the consumer's loop.
 *
 * Each assigned partition moves through
 *   COMMITTED  (group members) ask the coordinator for the committed offset
 *   RESOLVE    turn the start specification into an offset with ListOffsets
 *   WAITING    a ListOffsets for it is in flight
 *   ACTIVE     fetch and hand out records (consumer_fetch.c)
 *   FAILED     a fatal error, reported once through brook_consumer_next()
 * A partition whose start is an absolute offset goes from RESOLVE to ACTIVE at
 * once; one without a committed offset goes from COMMITTED to RESOLVE with
 * auto.offset.reset as its start.
 *
 * The consumer is three files around the structures in private.h: this one
 * (assignment, starting positions, the loop, closing), consumer_fetch.c (pipelined
 * fetches, buffered responses, records handed out) and consumer_commit.c (offset
 * commits).
 *
 * Requests carry the assignment epoch they were made under; an answer that comes
 * back after the assignment changed (a rebalance) is dropped, so a revoked
 * partition's data is never handed out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "lib/grow.h"
#include "proto/kafka_errors.h"

static struct consumer *consumer_get(struct brook_client *c)
{
    if (c->cons)
        return c->cons;
    struct consumer *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->reset.kind = c->conf.auto_reset;
    cs->start = cs->reset;
    cs->next_auto_commit = c->now + c->conf.auto_commit_ms;
    c->cons = cs;
    return cs;
}

void cons_report(struct brook_client *c, int err)
{
    struct consumer *cs = consumer_get(c);
    if (cs && cs->n_err < CONS_ERRQ)
        cs->errq[cs->n_err++] = err;
    c->dirty = true;
}

/* ---- partitions ---- */

static void part_free(struct consumer *cs, struct cpart *p)
{
    cons_part_drop_data(cs, p);
    free(p->topic);
    free(p);
}

static struct cpart *part_find(struct consumer *cs, const char *topic, int32_t id)
{
    for (size_t i = 0; i < cs->n; i++)
        if (cs->parts[i]->id == id && !strcmp(cs->parts[i]->topic, topic))
            return cs->parts[i];
    return NULL;
}

static int part_add(struct brook_client *c, struct md_topic *md, int32_t id, enum cp_state state,
                    const struct brook_offset *start)
{
    struct consumer *cs = c->cons;
    if (part_find(cs, md->name, id))
        return 0;
    if (ARRAY_GROW(cs->parts, cs->cap, cs->n + 1))
        return -ENOMEM;
    struct cpart *p = calloc(1, sizeof *p);
    if (!p || !(p->topic = strdup(md->name))) {
        free(p);
        return -ENOMEM;
    }
    p->id = id;
    p->md = md;
    p->state = state;
    p->start = *start;
    p->pos = p->fetch_pos = p->hw = p->end = p->committed = -1;
    p->broker = -1;
    cs->parts[cs->n++] = p;
    cs->epoch++;
    c->dirty = true;
    return 0;
}

static void part_set_position(struct cpart *p, int64_t off)
{
    p->pos = p->fetch_pos = off < 0 ? 0 : off;
    p->fetched = false;
    p->state = CP_ACTIVE;
}

void cons_part_fail(struct brook_client *c, struct cpart *p, int err)
{
    p->state = CP_FAILED;
    cons_report(c, err);
}

void cons_part_retry(struct brook_client *c, struct cpart *p, bool refresh)
{
    p->retry_at = c->now + c->conf.retry_backoff_ms;
    if (refresh)
        md_refresh(c);
}

bool cons_leader_error(int16_t code)
{
    return code == KAFKA_NOT_LEADER_OR_FOLLOWER || code == KAFKA_LEADER_NOT_AVAILABLE ||
           code == KAFKA_UNKNOWN_TOPIC_OR_PARTITION || code == KAFKA_FENCED_LEADER_EPOCH ||
           code == KAFKA_UNKNOWN_LEADER_EPOCH || code == KAFKA_REPLICA_NOT_AVAILABLE ||
           code == KAFKA_UNKNOWN_TOPIC_ID; /* re-created: the metadata has its new id */
}

/* ---- assignment ---- */

int brook_assign(struct brook_client *c, const char *topic, const int32_t *parts, size_t n,
                 const struct brook_offset *start)
{
    if (!topic || !*topic || !start || (n && !parts))
        return -EINVAL;
    struct consumer *cs = consumer_get(c);
    if (!cs)
        return -ENOMEM;
    if (cs->group_mode)
        return BROOK_ERR_STATE;
    struct pending_assign *pa = calloc(1, sizeof *pa);
    if (!pa)
        return -ENOMEM;
    if (n && !(pa->ids = malloc(n * sizeof *pa->ids))) {
        free(pa);
        return -ENOMEM;
    }
    if (n)
        memcpy(pa->ids, parts, n * sizeof *parts);
    pa->n = n;
    pa->start = *start;
    if (!(pa->md = md_want(c, topic, false))) {
        free(pa->ids);
        free(pa);
        return -ENOMEM;
    }
    pa->next = cs->pending;
    cs->pending = pa;
    c->dirty = true;
    return 0;
}

/* Turn assignments by hand into partitions once their topic is known. */
static void run_pending(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    for (struct pending_assign **pp = &cs->pending; *pp;) {
        struct pending_assign *pa = *pp;
        if (!pa->md->known) {
            pp = &pa->next;
            continue;
        }
        int err = kerr(pa->md->err);
        size_t n = pa->ids ? pa->n : (size_t)pa->md->n_parts;
        for (size_t i = 0; i < n && !err; i++) {
            int32_t id = pa->ids ? pa->ids[i] : (int32_t)i;
            if (id < 0 || id >= pa->md->n_parts)
                err = brook_err_kafka(KAFKA_UNKNOWN_TOPIC_OR_PARTITION);
            else
                err = part_add(c, pa->md, id, CP_RESOLVE, &pa->start);
        }
        if (err)
            cons_report(c, err);
        *pp = pa->next;
        free(pa->ids);
        free(pa);
    }
}

int cons_set_assignment(struct brook_client *c, const struct brook_tp *tps, size_t n)
{
    struct consumer *cs = c->cons;
    cons_clear_assignment(c);
    for (size_t i = 0; i < n; i++) {
        struct md_topic *md = md_want(c, tps[i].topic, false);
        if (!md || part_add(c, md, tps[i].partition, CP_COMMITTED, &cs->start))
            return -ENOMEM;
    }
    return 0;
}

void cons_clear_assignment(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if (!cs)
        return;
    for (size_t i = 0; i < cs->n; i++)
        part_free(cs, cs->parts[i]);
    cs->n = 0;
    cs->cursor = 0;
    cs->epoch++;
}

int cons_assignment(const struct brook_client *c, struct brook_tp **out, size_t *n)
{
    const struct consumer *cs = c->cons;
    size_t count = cs ? cs->n : 0;
    *out = calloc(count + 1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++)
        (*out)[i] = (struct brook_tp){cs->parts[i]->topic, cs->parts[i]->id, cs->parts[i]->pos};
    *n = count;
    return 0;
}

int brook_assignment(const struct brook_client *c, struct brook_tp **out, size_t *n)
{
    struct brook_tp *tps;
    size_t count;
    int rc = cons_assignment(c, &tps, &count);
    if (rc)
        return rc;
    for (size_t i = 0; i < count; i++)
        if (!(tps[i].topic = strdup(tps[i].topic))) {
            brook_tps_free(tps, i);
            return -ENOMEM;
        }
    *out = tps;
    *n = count;
    return 0;
}

void brook_tps_free(struct brook_tp *tps, size_t n)
{
    if (!tps)
        return;
    for (size_t i = 0; i < n; i++)
        free((char *)tps[i].topic);
    free(tps);
}

int brook_subscribe(struct brook_client *c, const char *const *topics, size_t n,
                    const struct brook_offset *start)
{
    if (!topics || !n)
        return -EINVAL;
    if (!c->conf.group_id || !*c->conf.group_id)
        return BROOK_ERR_STATE;
    struct consumer *cs = consumer_get(c);
    if (!cs)
        return -ENOMEM;
    if (cs->group_mode || cs->n || cs->pending)
        return BROOK_ERR_STATE;
    if (start)
        cs->start = *start;
    cs->group_mode = true;
    return grp_init(c, topics, n);
}

/* ---- where to start: committed offsets ---- */

int cons_preqs_init(struct req *rq, struct consumer *cs, struct conn *k, size_t n, bool offs)
{
    struct preqs *pr = arena_alloc(&rq->arena, sizeof *pr);
    if (!pr || !(pr->p = arena_calloc(&rq->arena, n + 1, sizeof *pr->p)))
        return -ENOMEM;
    if (offs && !(pr->off = arena_calloc(&rq->arena, n + 1, sizeof *pr->off)))
        return -ENOMEM;
    pr->epoch = cs->epoch;
    pr->k = k;
    rq->arg = pr;
    return 0;
}

struct cpart *cons_preqs_find(struct preqs *pr, struct kstr topic, int32_t id)
{
    for (size_t i = 0; i < pr->n; i++)
        if (pr->p[i]->id == id && kstr_eq(topic, pr->p[i]->topic))
            return pr->p[i];
    return NULL;
}

int cons_offsets_mirror(struct req *rq)
{
    struct kafka_offset_fetch_req *b = rq->body;
    struct kafka_offset_fetch_req_group *g = arena_calloc(&rq->arena, 1, sizeof *g);
    if (!g)
        return -ENOMEM;
    kafka_init(&kafka_offset_fetch_req_group_desc, g);
    g->group_id = b->group_id;
    g->n_topics = b->n_topics; /* -1: every topic the group has offsets for */
    if (b->n_topics > 0 &&
        !(g->topics = arena_calloc(&rq->arena, (size_t)b->n_topics, sizeof *g->topics)))
        return -ENOMEM;
    for (int32_t i = 0; i < b->n_topics; i++)
        g->topics[i] = (struct kafka_offset_fetch_req_topics){
            b->topics[i].name, b->topics[i].partition_indexes, b->topics[i].n_partition_indexes};
    b->groups = g;
    b->n_groups = 1;
    return 0;
}

int cons_offsets_flatten(struct resp *rs)
{
    struct kafka_offset_fetch_resp *r = rs->body;
    if (rs->version < 8)
        return 0;
    if (r->n_groups != 1)
        return BROOK_ERR_PROTOCOL;
    const struct kafka_offset_fetch_resp_group *g = &r->groups[0];
    r->error_code = g->error_code;
    r->n_topics = 0;
    if (!(r->topics = arena_calloc(&rs->arena, (size_t)g->n_topics + 1, sizeof *r->topics)))
        return -ENOMEM;
    for (int32_t t = 0; t < g->n_topics; t++) {
        struct kafka_offset_fetch_resp_topic *out = &r->topics[r->n_topics++];
        int32_t n = g->topics[t].n_partitions;
        out->name = g->topics[t].name;
        if (!(out->partitions = arena_calloc(&rs->arena, (size_t)n + 1, sizeof *out->partitions)))
            return -ENOMEM;
        for (int32_t k = 0; k < n; k++) {
            const struct kafka_offset_fetch_resp_partitions *p = &g->topics[t].partitions[k];
            out->partitions[out->n_partitions++] = (struct kafka_offset_fetch_resp_partition){
                p->partition_index, p->committed_offset, p->committed_leader_epoch, p->metadata,
                p->error_code};
        }
    }
    return 0;
}

static void on_offset_fetch(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct consumer *cs = c->cons;
    struct preqs *pr = rq->arg;
    if (cs && cs->offsets_req == rq)
        cs->offsets_req = NULL;
    if (!cs || pr->epoch != cs->epoch)
        return;
    if (!err && rs)
        err = cons_offsets_flatten(rs);
    const struct kafka_offset_fetch_resp *r = rs && !err ? rs->body : NULL;
    int16_t code = r ? r->error_code : 0;
    if (err || code) {
        if (code == KAFKA_NOT_COORDINATOR || code == KAFKA_COORDINATOR_NOT_AVAILABLE || err)
            grp_on_commit_error(c, code ? code : KAFKA_COORDINATOR_NOT_AVAILABLE);
        for (size_t i = 0; i < pr->n; i++)
            cons_part_retry(c, pr->p[i], false);
        return;
    }
    for (int32_t t = 0; t < r->n_topics; t++)
        for (int32_t k = 0; k < r->topics[t].n_partitions; k++) {
            const struct kafka_offset_fetch_resp_partition *rp = &r->topics[t].partitions[k];
            struct cpart *p = cons_preqs_find(pr, r->topics[t].name, rp->partition_index);
            if (!p || p->state != CP_COMMITTED)
                continue;
            if (rp->error_code) {
                cons_part_retry(c, p, false);
            } else if (rp->committed_offset >= 0) {
                p->committed = rp->committed_offset;
                part_set_position(p, rp->committed_offset);
            } else if (cs->start.kind) {
                p->start = cs->start;
                p->state = CP_RESOLVE;
            } else {
                cons_part_fail(c, p, brook_err_kafka(KAFKA_OFFSET_OUT_OF_RANGE));
            }
        }
    c->dirty = true;
}

static int fill_offset_fetch(struct req *rq, struct consumer *cs, const char *group)
{
    struct kafka_offset_fetch_req *b = rq->body;
    struct preqs *pr = rq->arg;
    int err = 0;
    b->group_id = req_str(rq, group, &err);
    b->topics = arena_calloc(&rq->arena, pr->n + 1, sizeof *b->topics);
    if (err || !b->topics)
        return -ENOMEM;
    for (size_t i = 0; i < pr->n; i++) {
        struct kafka_offset_fetch_req_topic *t = NULL;
        for (int32_t k = 0; k < b->n_topics && !t; k++)
            if (kstr_eq(b->topics[k].name, pr->p[i]->topic))
                t = &b->topics[k];
        if (!t) {
            t = &b->topics[b->n_topics++];
            t->name = kstr_from(pr->p[i]->topic);
            if (!(t->partition_indexes = arena_calloc(&rq->arena, pr->n, sizeof(int32_t))))
                return -ENOMEM;
        }
        t->partition_indexes[t->n_partition_indexes++] = pr->p[i]->id;
    }
    return cons_offsets_mirror(rq);
}

static void run_committed(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if (cs->offsets_req)
        return;
    size_t n = 0;
    for (size_t i = 0; i < cs->n; i++)
        if (cs->parts[i]->state == CP_COMMITTED) {
            if (c->now < cs->parts[i]->retry_at) {
                client_wake_at(c, cs->parts[i]->retry_at);
                return;
            }
            n++;
        }
    struct conn *k = n ? grp_coordinator(c) : NULL;
    if (!k)
        return;
    struct req *rq = req_new(KAFKA_API_OFFSET_FETCH, on_offset_fetch, NULL);
    if (!rq || cons_preqs_init(rq, cs, k, n, false)) {
        req_free(rq);
        return;
    }
    struct preqs *pr = rq->arg;
    for (size_t i = 0; i < cs->n; i++)
        if (cs->parts[i]->state == CP_COMMITTED)
            pr->p[pr->n++] = cs->parts[i];
    if (fill_offset_fetch(rq, cs, c->conf.group_id)) {
        req_free(rq);
        return;
    }
    cs->offsets_req = rq;
    conn_send(k, rq);
}

/* ---- where to start: ListOffsets ---- */

static int64_t spec_timestamp(const struct brook_offset *s)
{
    switch (s->kind) {
    case BROOK_OFFSET_BEGINNING:
    case BROOK_OFFSET_FROM_START: return -2;
    case BROOK_OFFSET_TIME: return s->value;
    default: return -1;
    }
}

static void resolved(struct brook_client *c, struct cpart *p, int64_t off)
{
    switch (p->start.kind) {
    case BROOK_OFFSET_TIME:
        if (off < 0) { /* nothing at or after that time: start at the end */
            p->start.kind = BROOK_OFFSET_END;
            p->state = CP_RESOLVE;
            return;
        }
        break;
    case BROOK_OFFSET_FROM_START: off += p->start.value; break;
    case BROOK_OFFSET_FROM_END: off = off > p->start.value ? off - p->start.value : 0; break;
    default: break;
    }
    part_set_position(p, off);
    c->dirty = true;
}

static void on_list_offsets(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct consumer *cs = c->cons;
    struct preqs *pr = rq->arg;
    if (!cs || pr->epoch != cs->epoch)
        return;
    for (size_t i = 0; i < pr->n; i++)
        if (pr->p[i]->state == CP_WAITING && err) {
            pr->p[i]->state = CP_RESOLVE;
            cons_part_retry(c, pr->p[i], true);
        }
    if (err)
        return;
    const struct kafka_list_offsets_resp *r = rs->body;
    for (int32_t t = 0; t < r->n_topics; t++)
        for (int32_t k = 0; k < r->topics[t].n_partitions; k++) {
            const struct kafka_list_offsets_resp_partition *rp = &r->topics[t].partitions[k];
            struct cpart *p = cons_preqs_find(pr, r->topics[t].name, rp->partition_index);
            if (!p || p->state != CP_WAITING)
                continue;
            p->state = CP_RESOLVE;
            if (!rp->error_code)
                resolved(c, p, rp->offset);
            else if (cons_leader_error(rp->error_code) || kafka_error_retriable(rp->error_code))
                cons_part_retry(c, p, true);
            else
                cons_part_fail(c, p, kerr(rp->error_code));
        }
    for (size_t i = 0; i < pr->n; i++)
        if (pr->p[i]->state == CP_WAITING) { /* not in the answer */
            pr->p[i]->state = CP_RESOLVE;
            cons_part_retry(c, pr->p[i], true);
        }
}

static int send_list_offsets(struct brook_client *c, struct conn *k, struct cpart **v, size_t n)
{
    struct consumer *cs = c->cons;
    struct req *rq = req_new(KAFKA_API_LIST_OFFSETS, on_list_offsets, NULL);
    if (!rq || cons_preqs_init(rq, cs, k, n, false))
        goto oom;
    struct kafka_list_offsets_req *b = rq->body;
    struct preqs *pr = rq->arg;
    b->replica_id = -1;
    b->isolation_level = c->conf.isolation;
    b->timeout_ms = c->conf.request_timeout_ms; /* v10+ */
    if (!(b->topics = arena_calloc(&rq->arena, n, sizeof *b->topics)))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        struct kafka_list_offsets_req_topic *t = NULL;
        for (int32_t j = 0; j < b->n_topics && !t; j++)
            if (kstr_eq(b->topics[j].name, v[i]->topic))
                t = &b->topics[j];
        if (!t) {
            t = &b->topics[b->n_topics++];
            t->name = kstr_from(v[i]->topic);
            if (!(t->partitions = arena_calloc(&rq->arena, n, sizeof *t->partitions)))
                goto oom;
        }
        struct kafka_list_offsets_req_partition *pp = &t->partitions[t->n_partitions++];
        pp->partition_index = v[i]->id;
        pp->current_leader_epoch = -1;
        pp->timestamp = spec_timestamp(&v[i]->start);
        pr->p[pr->n++] = v[i];
        v[i]->state = CP_WAITING;
    }
    conn_send(k, rq);
    return 0;
oom:
    req_free(rq);
    return -ENOMEM;
}

static void run_resolve(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    struct cpart **v = malloc((cs->n + 1) * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < cs->n; i++) {
        struct cpart *p = cs->parts[i];
        if (p->state != CP_RESOLVE)
            continue;
        if (p->start.kind == BROOK_OFFSET_AT) {
            part_set_position(p, p->start.value);
            continue;
        }
        if (c->now < p->retry_at) {
            client_wake_at(c, p->retry_at);
            continue;
        }
        struct conn *k = md_leader(c, p->md, p->id);
        if (!k)
            continue;
        size_t n = 0;
        for (size_t j = i; j < cs->n; j++) { /* everything this leader can answer */
            struct cpart *q = cs->parts[j];
            if (q->state == CP_RESOLVE && q->start.kind != BROOK_OFFSET_AT &&
                c->now >= q->retry_at && md_leader(c, q->md, q->id) == k)
                v[n++] = q;
        }
        send_list_offsets(c, k, v, n);
    }
    free(v);
}

/* ---- the loop ---- */

void cons_run(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if (!cs)
        return;
    if (cs->pending)
        run_pending(c);
    run_committed(c);
    run_resolve(c);
    cons_run_fetch(c);
    if (c->conf.group_id)
        cons_run_commit(c);
}

static bool commits_settled(struct brook_client *c, void *arg)
{
    return !cons_commit_busy(c);
}

static bool group_left(struct brook_client *c, void *arg)
{
    return grp_leave(c);
}

int brook_consumer_close(struct brook_client *c, int timeout_ms)
{
    struct consumer *cs = c->cons;
    if (!cs)
        return 0;
    int64_t deadline = client_deadline(c, timeout_ms);
    int rc = 0;
    if (c->conf.group_id && c->conf.auto_commit) {
        cons_commit_start(c);
        rc = client_wait(c, commits_settled, NULL, deadline);
        int err = cons_commit_error(c);
        rc = rc ? rc : err;
    } else if (c->conf.group_id) {
        client_wait(c, commits_settled, NULL, deadline);
    }
    if (cs->group_mode) {
        int left = client_wait(c, group_left, NULL, deadline);
        rc = rc ? rc : left;
    }
    cons_clear_assignment(c);
    return rc;
}

void cons_free(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if (!cs)
        return;
    cons_clear_assignment(c);
    while (cs->pending) {
        struct pending_assign *pa = cs->pending;
        cs->pending = pa->next;
        free(pa->ids);
        free(pa);
    }
    free(cs->parts);
    free(cs->hdrs);
    free(cs);
    c->cons = NULL;
}
