/*
 * consumer.c - assigned partitions: where to start, pipelined fetches, records, commits.
 *
 * Each assigned partition moves through
 *   COMMITTED  (group members) ask the coordinator for the committed offset
 *   RESOLVE    turn the start specification into an offset with ListOffsets
 *   ACTIVE     fetch and hand out records
 *   FAILED     a fatal error, reported once through brook_consumer_next()
 *
 * Fetching is pipelined: each broker has one Fetch in flight covering every active
 * partition it leads, and the next one goes out as soon as the answer arrives,
 * while the application is still working through what came back. Each partition
 * keeps two offsets: fetch_pos, one past the last whole batch received, and pos,
 * one past the last record handed out; the first runs ahead of the second by at
 * most queued.max.messages.kbytes of buffered responses.
 *
 * Fetched bytes are never copied: a Fetch response frame (handed over by the
 * connection without a copy) is shared, reference-counted, by the chunks of every
 * partition it carried, and records are iterated in place (or in the iterator's
 * buffer when compressed). A message handed out points there until the next call.
 *
 * Requests carry the assignment epoch they were made under; an answer that comes
 * back after the assignment changed (a rebalance) is dropped, so a revoked
 * partition's data is never handed out.
 *
 * Commits: brook_commit() and the auto-commit timer mark the positions as wanted;
 * one OffsetCommit is in flight at a time and carries the latest positions when it
 * goes, so any number of commit calls cost one request per round trip.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "proto/kafka_errors.h"

#define ERRQ 16

enum cp_state { CP_COMMITTED, CP_RESOLVE, CP_WAITING, CP_ACTIVE, CP_FAILED };

struct fbuf {
    struct resp *rs;
    int refs;
};

struct fchunk {
    struct fchunk *next;
    struct fbuf *fb;
    const uint8_t *p;
    size_t len, off;
};

struct cpart {
    char *topic;
    int32_t id;
    struct md_topic *md;
    enum cp_state state;
    struct brook_offset start; /* RESOLVE: where to go */
    int64_t pos;               /* next offset to hand out */
    int64_t fetch_pos;         /* next offset to fetch */
    int64_t hw;                /* high watermark of the last answer, -1 unknown */
    int64_t committed;         /* last offset committed, -1 none */
    int64_t retry_at;
    bool fetching; /* in a Fetch in flight */
    bool fetched;  /* a Fetch has answered since the position was set */
    int32_t broker;
    struct fchunk *chunks, *tail;
    size_t buffered;
    struct batch_iter it;
    bool in_batch;
};

struct pending_assign {
    struct pending_assign *next;
    struct md_topic *md;
    int32_t *ids; /* NULL: every partition */
    size_t n;
    struct brook_offset start;
};

struct consumer {
    struct cpart **parts;
    size_t n, cap;
    struct pending_assign *pending;
    size_t cursor;
    struct brook_message msg;
    struct brook_header *hdrs;
    size_t hdr_cap;
    size_t buffered;
    uint64_t epoch;            /* bumped whenever the assignment changes */
    bool group_mode;           /* subscribed */
    struct brook_offset reset; /* start where nothing is committed (kind 0: fail) */
    bool commit_want;
    struct req *commit_req;
    int commit_err;
    int64_t next_auto_commit;
    struct req *offsets_req;
    int errq[ERRQ];
    int n_err;
};

/* A request's view of the partitions it covers. */
struct preqs {
    uint64_t epoch;
    struct conn *k;
    size_t n;
    struct cpart **p;
    int64_t *off; /* commits: the offsets sent */
};

static struct consumer *consumer_get(struct brook_client *c)
{
    if (c->cons)
        return c->cons;
    struct consumer *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->reset.kind = c->conf.auto_reset;
    cs->next_auto_commit = c->now + c->conf.auto_commit_ms;
    c->cons = cs;
    return cs;
}

void cons_report(struct brook_client *c, int err)
{
    struct consumer *cs = consumer_get(c);
    if (cs && cs->n_err < ERRQ)
        cs->errq[cs->n_err++] = err;
    c->dirty = true;
}

/* ---- partitions ---- */

static void fbuf_unref(struct fbuf *fb)
{
    if (--fb->refs == 0) {
        resp_free(fb->rs);
        free(fb);
    }
}

static void chunk_pop(struct consumer *cs, struct cpart *p)
{
    struct fchunk *ch = p->chunks;
    p->chunks = ch->next;
    if (!p->chunks)
        p->tail = NULL;
    p->buffered -= ch->len;
    cs->buffered -= ch->len;
    fbuf_unref(ch->fb);
    free(ch);
}

static void part_drop_data(struct consumer *cs, struct cpart *p)
{
    if (p->in_batch) {
        batch_iter_release(&p->it);
        p->in_batch = false;
    }
    while (p->chunks)
        chunk_pop(cs, p);
}

static void part_free(struct consumer *cs, struct cpart *p)
{
    part_drop_data(cs, p);
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
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 16;
        struct cpart **v = realloc(cs->parts, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        cs->parts = v;
        cs->cap = cap;
    }
    struct cpart *p = calloc(1, sizeof *p);
    if (!p || !(p->topic = strdup(md->name))) {
        free(p);
        return -ENOMEM;
    }
    p->id = id;
    p->md = md;
    p->state = state;
    p->start = *start;
    p->pos = p->fetch_pos = p->hw = p->committed = -1;
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

static void part_fail(struct brook_client *c, struct cpart *p, int err)
{
    p->state = CP_FAILED;
    cons_report(c, err);
}

static void part_retry(struct brook_client *c, struct cpart *p, bool refresh)
{
    p->retry_at = c->now + c->conf.retry_backoff_ms;
    if (refresh)
        md_refresh(c);
}

static bool leader_error(int16_t code)
{
    return code == KAFKA_NOT_LEADER_OR_FOLLOWER || code == KAFKA_LEADER_NOT_AVAILABLE ||
           code == KAFKA_UNKNOWN_TOPIC_OR_PARTITION || code == KAFKA_FENCED_LEADER_EPOCH ||
           code == KAFKA_UNKNOWN_LEADER_EPOCH || code == KAFKA_REPLICA_NOT_AVAILABLE;
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
        if (!md || part_add(c, md, tps[i].partition, CP_COMMITTED, &cs->reset))
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
        cs->reset = *start;
    cs->group_mode = true;
    return grp_init(c, topics, n);
}

/* ---- where to start: committed offsets ---- */

static int preqs_init(struct req *rq, struct consumer *cs, struct conn *k, size_t n, bool offs)
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

static struct cpart *preqs_find(struct preqs *pr, struct kstr topic, int32_t id)
{
    for (size_t i = 0; i < pr->n; i++)
        if (pr->p[i]->id == id && kstr_eq(topic, pr->p[i]->topic))
            return pr->p[i];
    return NULL;
}

static void on_offset_fetch(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct consumer *cs = c->cons;
    struct preqs *pr = rq->arg;
    if (cs && cs->offsets_req == rq)
        cs->offsets_req = NULL;
    if (!cs || pr->epoch != cs->epoch)
        return;
    const struct kafka_offset_fetch_resp *r = rs ? rs->body : NULL;
    int16_t code = r ? r->error_code : 0;
    if (err || code) {
        if (code == KAFKA_NOT_COORDINATOR || code == KAFKA_COORDINATOR_NOT_AVAILABLE || err)
            grp_on_commit_error(c, code ? code : KAFKA_COORDINATOR_NOT_AVAILABLE);
        for (size_t i = 0; i < pr->n; i++)
            part_retry(c, pr->p[i], false);
        return;
    }
    for (int32_t t = 0; t < r->n_topics; t++)
        for (int32_t k = 0; k < r->topics[t].n_partitions; k++) {
            const struct kafka_offset_fetch_resp_partition *rp = &r->topics[t].partitions[k];
            struct cpart *p = preqs_find(pr, r->topics[t].name, rp->partition_index);
            if (!p || p->state != CP_COMMITTED)
                continue;
            if (rp->error_code) {
                part_retry(c, p, false);
            } else if (rp->committed_offset >= 0) {
                p->committed = rp->committed_offset;
                part_set_position(p, rp->committed_offset);
            } else if (cs->reset.kind) {
                p->start = cs->reset;
                p->state = CP_RESOLVE;
            } else {
                part_fail(c, p, brook_err_kafka(KAFKA_OFFSET_OUT_OF_RANGE));
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
    return 0;
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
    if (!rq || preqs_init(rq, cs, k, n, false)) {
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
            part_retry(c, pr->p[i], true);
        }
    if (err)
        return;
    const struct kafka_list_offsets_resp *r = rs->body;
    for (int32_t t = 0; t < r->n_topics; t++)
        for (int32_t k = 0; k < r->topics[t].n_partitions; k++) {
            const struct kafka_list_offsets_resp_partition *rp = &r->topics[t].partitions[k];
            struct cpart *p = preqs_find(pr, r->topics[t].name, rp->partition_index);
            if (!p || p->state != CP_WAITING)
                continue;
            p->state = CP_RESOLVE;
            if (!rp->error_code)
                resolved(c, p, rp->offset);
            else if (leader_error(rp->error_code) || kafka_error_retriable(rp->error_code))
                part_retry(c, p, true);
            else
                part_fail(c, p, kerr(rp->error_code));
        }
    for (size_t i = 0; i < pr->n; i++)
        if (pr->p[i]->state == CP_WAITING) { /* not in the answer */
            pr->p[i]->state = CP_RESOLVE;
            part_retry(c, pr->p[i], true);
        }
}

static int send_list_offsets(struct brook_client *c, struct conn *k, struct cpart **v, size_t n)
{
    struct consumer *cs = c->cons;
    struct req *rq = req_new(KAFKA_API_LIST_OFFSETS, on_list_offsets, NULL);
    if (!rq || preqs_init(rq, cs, k, n, false))
        goto oom;
    struct kafka_list_offsets_req *b = rq->body;
    struct preqs *pr = rq->arg;
    b->replica_id = -1;
    b->isolation_level = c->conf.isolation;
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

/* ---- fetching ---- */

static void append_chunk(struct consumer *cs, struct cpart *p, struct fbuf *fb, const uint8_t *data,
                         size_t len)
{
    struct fchunk *ch = calloc(1, sizeof *ch);
    if (!ch)
        return; /* the data is fetched again: fetch_pos did not move */
    ch->fb = fb;
    fb->refs++;
    ch->p = data;
    ch->len = len;
    if (p->tail)
        p->tail->next = ch;
    else
        p->chunks = ch;
    p->tail = ch;
    p->buffered += len;
    cs->buffered += len;
}

/* Take in one partition's records; returns false when memory ran out. */
static bool take_records(struct brook_client *c, struct cpart *p, struct krecords recs,
                         struct resp *rs, struct fbuf **fb)
{
    size_t off = 0, len = recs.len > 0 ? (size_t)recs.len : 0;
    int64_t next = p->fetch_pos;
    while (off < len) {
        size_t size;
        struct batch_header h;
        if (batch_frame(recs.p + off, len - off, len - off, &size) ||
            batch_header_parse(recs.p + off, size, &h))
            break; /* a partial batch at the end: fetched again next time */
        next = h.base_offset + h.last_offset_delta + 1;
        off += size;
    }
    if (off == 0)
        return true;
    if (!*fb) {
        struct fbuf *nb = calloc(1, sizeof *nb);
        if (!nb || !(nb->rs = resp_take(rs))) {
            free(nb);
            return false;
        }
        *fb = nb;
        nb->refs = 1; /* ours until the answer is processed */
    }
    size_t before = p->buffered;
    append_chunk(c->cons, p, *fb, recs.p, off);
    if (p->buffered != before && next > p->fetch_pos)
        p->fetch_pos = next;
    return true;
}

static void fetch_partition(struct brook_client *c, struct cpart *p,
                            const struct kafka_fetch_resp_partition *rp, struct resp *rs,
                            struct fbuf **fb, int32_t broker)
{
    int16_t code = rp->error_code;
    if (code == KAFKA_NONE) {
        p->hw = rp->high_watermark;
        p->broker = broker;
        if (!take_records(c, p, rp->records, rs, fb))
            part_retry(c, p, false);
        else
            p->fetched = true;
        return;
    }
    if (code == KAFKA_OFFSET_OUT_OF_RANGE) {
        part_drop_data(c->cons, p);
        if (!c->cons->reset.kind) {
            part_fail(c, p, kerr(code));
            return;
        }
        p->start = c->cons->reset;
        p->state = CP_RESOLVE;
        return;
    }
    if (leader_error(code) || kafka_error_retriable(code)) {
        part_retry(c, p, true);
        return;
    }
    part_fail(c, p, kerr(code));
}

static void on_fetch(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct consumer *cs = c->cons;
    struct preqs *pr = rq->arg;
    pr->k->fetching = false;
    if (!cs || pr->epoch != cs->epoch)
        return;
    for (size_t i = 0; i < pr->n; i++)
        pr->p[i]->fetching = false;
    const struct kafka_fetch_resp *r = rs ? rs->body : NULL;
    if (err || r->error_code) {
        for (size_t i = 0; i < pr->n; i++)
            part_retry(c, pr->p[i], true);
        return;
    }
    struct fbuf *fb = NULL;
    for (int32_t t = 0; t < r->n_responses; t++)
        for (int32_t k = 0; k < r->responses[t].n_partitions; k++) {
            const struct kafka_fetch_resp_partition *rp = &r->responses[t].partitions[k];
            struct cpart *p = preqs_find(pr, r->responses[t].topic, rp->partition_index);
            if (p && p->state == CP_ACTIVE)
                fetch_partition(c, p, rp, rs, &fb, rs->broker);
        }
    if (fb)
        fbuf_unref(fb);
}

static int fill_fetch(struct brook_client *c, struct req *rq)
{
    struct kafka_fetch_req *b = rq->body;
    struct preqs *pr = rq->arg;
    b->replica_id = -1;
    b->max_wait_ms = c->conf.fetch_max_wait_ms;
    b->min_bytes = c->conf.fetch_min_bytes;
    b->max_bytes = c->conf.fetch_max_bytes;
    b->isolation_level = c->conf.isolation;
    b->session_id = 0;
    b->session_epoch = -1;
    b->rack_id = KSTR("");
    if (!(b->topics = arena_calloc(&rq->arena, pr->n, sizeof *b->topics)))
        return -ENOMEM;
    for (size_t i = 0; i < pr->n; i++) {
        struct kafka_fetch_req_topic *t = NULL;
        for (int32_t j = 0; j < b->n_topics && !t; j++)
            if (kstr_eq(b->topics[j].topic, pr->p[i]->topic))
                t = &b->topics[j];
        if (!t) {
            t = &b->topics[b->n_topics++];
            t->topic = kstr_from(pr->p[i]->topic);
            if (!(t->partitions = arena_calloc(&rq->arena, pr->n, sizeof *t->partitions)))
                return -ENOMEM;
        }
        struct kafka_fetch_req_partition *fp = &t->partitions[t->n_partitions++];
        fp->partition = pr->p[i]->id;
        fp->current_leader_epoch = -1;
        fp->fetch_offset = pr->p[i]->fetch_pos;
        fp->last_fetched_epoch = -1;
        fp->log_start_offset = -1;
        fp->partition_max_bytes = c->conf.part_fetch_bytes;
    }
    return 0;
}

static bool fetchable(struct brook_client *c, struct cpart *p)
{
    if (p->state != CP_ACTIVE || p->fetching)
        return false;
    if (c->now < p->retry_at) {
        client_wake_at(c, p->retry_at);
        return false;
    }
    return true;
}

static void send_fetch(struct brook_client *c, struct conn *k, struct cpart **v, size_t n)
{
    struct req *rq = req_new(KAFKA_API_FETCH, on_fetch, NULL);
    if (!rq || preqs_init(rq, c->cons, k, n, false)) {
        req_free(rq);
        return;
    }
    struct preqs *pr = rq->arg;
    memcpy(pr->p, v, n * sizeof *v);
    pr->n = n;
    if (fill_fetch(c, rq)) {
        req_free(rq);
        return;
    }
    rq->extra_ms = c->conf.fetch_max_wait_ms;
    for (size_t i = 0; i < n; i++)
        v[i]->fetching = true;
    k->fetching = true;
    conn_send(k, rq);
}

static void run_fetch(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if ((int64_t)cs->buffered >= c->conf.queued_max_bytes)
        return; /* the application must catch up first */
    struct cpart **v = malloc((cs->n + 1) * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < cs->n; i++) {
        if (!fetchable(c, cs->parts[i]))
            continue;
        struct conn *k = md_leader(c, cs->parts[i]->md, cs->parts[i]->id);
        if (!k || k->fetching)
            continue;
        size_t n = 0;
        for (size_t j = i; j < cs->n; j++)
            if (fetchable(c, cs->parts[j]) && md_leader(c, cs->parts[j]->md, cs->parts[j]->id) == k)
                v[n++] = cs->parts[j];
        send_fetch(c, k, v, n);
    }
    free(v);
}

/* ---- handing out records ---- */

static int fill_headers(struct consumer *cs, const struct record *rec)
{
    struct reader hr = rec->headers;
    size_t n = 0;
    struct record_header h;
    int rc;
    while ((rc = record_header_next(&hr, &h)) == 1) {
        if (n == cs->hdr_cap) {
            size_t cap = cs->hdr_cap ? cs->hdr_cap * 2 : 8;
            struct brook_header *v = realloc(cs->hdrs, cap * sizeof *v);
            if (!v)
                return -ENOMEM;
            cs->hdrs = v;
            cs->hdr_cap = cap;
        }
        cs->hdrs[n++] = (struct brook_header){(const char *)h.key, (size_t)h.key_len,
                                              h.value_len < 0 ? NULL
                                              : h.value       ? (const void *)h.value
                                                              : "",
                                              h.value_len < 0 ? 0 : (size_t)h.value_len};
    }
    cs->msg.headers = cs->hdrs;
    cs->msg.n_headers = n;
    return rc;
}

static int fill_message(struct consumer *cs, struct cpart *p, const struct record *rec)
{
    struct brook_message *m = &cs->msg;
    m->topic = p->topic;
    m->partition = p->id;
    m->offset = rec->offset;
    m->timestamp = rec->timestamp;
    m->log_append_time = (p->it.h.attributes & BATCH_ATTR_LOG_APPEND_TIME) != 0;
    m->key = rec->key_len < 0 ? NULL : rec->key ? (const void *)rec->key : "";
    m->key_len = rec->key_len < 0 ? 0 : (size_t)rec->key_len;
    m->value = rec->value_len < 0 ? NULL : rec->value ? (const void *)rec->value : "";
    m->value_len = rec->value_len < 0 ? 0 : (size_t)rec->value_len;
    m->high_watermark = p->hw;
    m->broker = p->broker;
    return fill_headers(cs, rec);
}

/* Start iterating the next usable batch of p's chunks: 1, 0 when none is left. */
static int next_batch(struct brook_client *c, struct cpart *p)
{
    struct consumer *cs = c->cons;
    while (p->chunks) {
        struct fchunk *ch = p->chunks;
        size_t size;
        struct batch_header h;
        if (ch->off >= ch->len ||
            batch_frame(ch->p + ch->off, ch->len - ch->off, ch->len - ch->off, &size) ||
            batch_header_parse(ch->p + ch->off, size, &h)) {
            chunk_pop(cs, p);
            continue;
        }
        const uint8_t *start = ch->p + ch->off;
        ch->off += size;
        if ((h.attributes & BATCH_ATTR_CONTROL) || h.base_offset + h.last_offset_delta < p->pos)
            continue;
        int rc = batch_iter_init(&p->it, start, size, NULL, c->conf.check_crcs);
        if (rc) {
            batch_iter_release(&p->it);
            cons_report(c, rc == -EBADMSG ? brook_err_kafka(KAFKA_CORRUPT_MESSAGE) : rc);
            continue;
        }
        p->in_batch = true;
        return 1;
    }
    return 0;
}

/* The next record of p at or after its position: 1, 0 when none is buffered. */
static int part_next(struct brook_client *c, struct cpart *p, struct record *rec)
{
    for (;;) {
        if (!p->in_batch && !next_batch(c, p))
            return 0;
        int rc = batch_iter_next(&p->it, rec);
        if (rc == 1 && rec->offset >= p->pos)
            return 1;
        if (rc == 1)
            continue;
        batch_iter_release(&p->it);
        p->in_batch = false;
        if (rc < 0)
            cons_report(c, brook_err_kafka(KAFKA_CORRUPT_MESSAGE));
    }
}

int brook_consumer_next(struct brook_client *c, const struct brook_message **m)
{
    struct consumer *cs = c->cons;
    *m = NULL;
    if (!cs)
        return 0;
    if (cs->n_err) {
        int err = cs->errq[0];
        memmove(cs->errq, cs->errq + 1, (size_t)--cs->n_err * sizeof *cs->errq);
        return err;
    }
    for (size_t i = 0; i < cs->n; i++) {
        size_t idx = (cs->cursor + i) % cs->n;
        struct cpart *p = cs->parts[idx];
        if (p->state != CP_ACTIVE || (!p->chunks && !p->in_batch))
            continue;
        struct record rec;
        if (part_next(c, p, &rec) != 1)
            continue;
        cs->cursor = idx;
        if (fill_message(cs, p, &rec) < 0) {
            cons_report(c, brook_err_kafka(KAFKA_CORRUPT_MESSAGE));
            p->pos = rec.offset + 1;
            continue;
        }
        p->pos = rec.offset + 1;
        *m = &cs->msg;
        if (p->buffered < cs->buffered || !p->chunks)
            c->dirty = true; /* room for the next fetch */
        return 1;
    }
    if (cs->n)
        cs->cursor = (cs->cursor + 1) % cs->n;
    return 0;
}

bool brook_consumer_at_end(const struct brook_client *c)
{
    const struct consumer *cs = c->cons;
    if (!cs || cs->pending || (cs->group_mode && !grp_stable(c)))
        return false;
    for (size_t i = 0; i < cs->n; i++) {
        const struct cpart *p = cs->parts[i];
        if (p->state == CP_FAILED)
            continue;
        if (p->state != CP_ACTIVE || !p->fetched || p->chunks || p->in_batch ||
            p->fetch_pos < p->hw)
            return false;
    }
    return true;
}

/* ---- commits ---- */

int cons_commit_start(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if (!c->conf.group_id || !*c->conf.group_id)
        return BROOK_ERR_STATE;
    if (!cs)
        return 0;
    cs->commit_want = true;
    c->dirty = true;
    return 0;
}

bool cons_commit_busy(const struct brook_client *c)
{
    return c->cons && (c->cons->commit_want || c->cons->commit_req);
}

int cons_commit_error(struct brook_client *c)
{
    if (!c->cons)
        return 0;
    int err = c->cons->commit_err;
    c->cons->commit_err = 0;
    return err;
}

bool cons_all_committed(const struct brook_client *c)
{
    const struct consumer *cs = c->cons;
    for (size_t i = 0; cs && i < cs->n; i++) {
        const struct cpart *p = cs->parts[i];
        if (p->state == CP_ACTIVE && p->pos >= 0 && p->pos != p->committed)
            return false;
    }
    return true;
}

static void on_commit(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct consumer *cs = c->cons;
    struct preqs *pr = rq->arg;
    if (!cs)
        return;
    cs->commit_req = NULL;
    if (err) {
        cs->commit_err = err;
        cs->commit_want = true;
        grp_on_commit_error(c, KAFKA_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    const struct kafka_offset_commit_resp *r = rs->body;
    for (int32_t t = 0; t < r->n_topics; t++)
        for (int32_t k = 0; k < r->topics[t].n_partitions; k++) {
            const struct kafka_offset_commit_resp_partition *rp = &r->topics[t].partitions[k];
            if (rp->error_code) {
                cs->commit_err = kerr(rp->error_code);
                grp_on_commit_error(c, rp->error_code);
                continue;
            }
            if (pr->epoch != cs->epoch)
                continue; /* the partitions are gone; the commit still counted */
            for (size_t i = 0; i < pr->n; i++)
                if (pr->p[i]->id == rp->partition_index &&
                    kstr_eq(r->topics[t].name, pr->p[i]->topic))
                    pr->p[i]->committed = pr->off[i];
        }
}

static int fill_commit(struct brook_client *c, struct req *rq)
{
    struct kafka_offset_commit_req *b = rq->body;
    struct preqs *pr = rq->arg;
    struct group_identity id;
    grp_identity(c, &id);
    int err = 0;
    b->group_id = req_str(rq, id.group_id, &err);
    b->member_id = req_str(rq, id.member_id ? id.member_id : "", &err);
    b->generation_id_or_member_epoch = id.generation;
    b->retention_time_ms = -1;
    b->topics = arena_calloc(&rq->arena, pr->n, sizeof *b->topics);
    if (err || !b->topics)
        return -ENOMEM;
    for (size_t i = 0; i < pr->n; i++) {
        struct kafka_offset_commit_req_topic *t = NULL;
        for (int32_t j = 0; j < b->n_topics && !t; j++)
            if (kstr_eq(b->topics[j].name, pr->p[i]->topic))
                t = &b->topics[j];
        if (!t) {
            t = &b->topics[b->n_topics++];
            t->name = kstr_from(pr->p[i]->topic);
            if (!(t->partitions = arena_calloc(&rq->arena, pr->n, sizeof *t->partitions)))
                return -ENOMEM;
        }
        struct kafka_offset_commit_req_partition *cp = &t->partitions[t->n_partitions++];
        cp->partition_index = pr->p[i]->id;
        cp->committed_offset = pr->off[i];
        cp->committed_leader_epoch = -1;
        cp->committed_metadata = KSTR("");
    }
    return 0;
}

static void run_commit(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if (c->conf.auto_commit && c->conf.group_id && grp_stable(c)) {
        if (c->now >= cs->next_auto_commit) {
            cs->commit_want = true;
            cs->next_auto_commit = c->now + c->conf.auto_commit_ms;
        }
        client_wake_at(c, cs->next_auto_commit);
    }
    if (!cs->commit_want || cs->commit_req)
        return;
    size_t n = 0;
    for (size_t i = 0; i < cs->n; i++) {
        struct cpart *p = cs->parts[i];
        n += p->state == CP_ACTIVE && p->pos >= 0 && p->pos != p->committed;
    }
    if (!n) {
        cs->commit_want = false;
        return;
    }
    struct conn *k = grp_coordinator(c);
    if (!k)
        return;
    struct req *rq = req_new(KAFKA_API_OFFSET_COMMIT, on_commit, NULL);
    if (!rq || preqs_init(rq, cs, k, n, true))
        goto fail;
    struct preqs *pr = rq->arg;
    for (size_t i = 0; i < cs->n; i++) {
        struct cpart *p = cs->parts[i];
        if (p->state == CP_ACTIVE && p->pos >= 0 && p->pos != p->committed) {
            pr->off[pr->n] = p->pos;
            pr->p[pr->n++] = p;
        }
    }
    if (fill_commit(c, rq))
        goto fail;
    cs->commit_want = false;
    cs->commit_req = rq;
    conn_send(k, rq);
    return;
fail:
    req_free(rq);
}

static bool commit_done(struct brook_client *c, void *arg)
{
    if (cons_commit_busy(c))
        return false;
    if (cons_all_committed(c))
        return true;
    cons_commit_start(c); /* a failed attempt: go again until the deadline */
    return false;
}

int brook_commit(struct brook_client *c, bool wait, int timeout_ms)
{
    int rc = cons_commit_start(c);
    if (rc || !wait)
        return rc;
    cons_commit_error(c);
    rc = client_wait(c, commit_done, NULL, client_deadline(c, timeout_ms));
    int err = cons_commit_error(c);
    return rc == -ETIMEDOUT && err ? err : rc;
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
    run_fetch(c);
    if (c->conf.group_id)
        run_commit(c);
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
