/*
 * consumer_fetch.c - pipelined fetches and the records they bring.
 *
 * Each broker has one Fetch in flight covering every active partition it leads,
 * and the next one goes out as soon as the answer arrives, while the application
 * is still working through what came back. Each partition keeps two offsets:
 * fetch_pos, one past the last whole batch received, and pos, one past the last
 * record handed out; the first runs ahead of the second by at most
 * queued.max.messages.kbytes of buffered responses.
 *
 * Fetched bytes are never copied: a Fetch response frame (handed over by the
 * connection without a copy) is shared, reference-counted, by the chunks of every
 * partition it carried, and records are iterated in place (or in the iterator's
 * buffer when compressed). A message handed out points there until the next call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "lib/grow.h"
#include "proto/kafka_errors.h"

/* ---- buffered responses ---- */

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
    txn_filter_release(&ch->txn);
    fbuf_unref(ch->fb);
    free(ch);
}

void cons_part_drop_data(struct consumer *cs, struct cpart *p)
{
    if (p->in_batch) {
        batch_iter_release(&p->it);
        p->in_batch = false;
    }
    while (p->chunks)
        chunk_pop(cs, p);
}

/* ---- fetching ---- */

static void append_chunk(struct brook_client *c, struct cpart *p, struct fbuf *fb,
                         const uint8_t *data, size_t len,
                         const struct kafka_fetch_resp_partition *rp)
{
    struct consumer *cs = c->cons;
    struct fchunk *ch = calloc(1, sizeof *ch);
    if (!ch)
        return; /* the data is fetched again: fetch_pos did not move */
    if (txn_filter_init(&ch->txn, c->conf.isolation == 1, rp->aborted_transactions,
                        rp->n_aborted_transactions)) {
        free(ch);
        return;
    }
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
static bool take_records(struct brook_client *c, struct cpart *p,
                         const struct kafka_fetch_resp_partition *rp, struct resp *rs,
                         struct fbuf **fb)
{
    struct krecords recs = rp->records;
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
    append_chunk(c, p, *fb, recs.p, off, rp);
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
        /* read_committed reads stop at the last stable offset: that is its end */
        p->end = c->conf.isolation == 1 && rs->version >= 4 && rp->last_stable_offset >= 0
                     ? rp->last_stable_offset
                     : rp->high_watermark;
        p->broker = broker;
        if (!take_records(c, p, rp, rs, fb))
            cons_part_retry(c, p, false);
        else
            p->fetched = true;
        return;
    }
    if (code == KAFKA_OFFSET_OUT_OF_RANGE) {
        struct brook_tp tp = {p->topic, p->id, p->fetch_pos}; /* before the drop moves it */
        cons_part_drop_data(c->cons, p);
        if (c->conf.reset_cb)
            c->conf.reset_cb(c->conf.reset_arg, &tp, rp->log_start_offset, rp->high_watermark,
                             c->cons->reset.kind);
        if (!c->cons->reset.kind) {
            cons_part_fail(c, p, kerr(code));
            return;
        }
        p->start = c->cons->reset;
        p->state = CP_RESOLVE;
        return;
    }
    if (cons_leader_error(code) || kafka_error_retriable(code)) {
        cons_part_retry(c, p, true);
        return;
    }
    cons_part_fail(c, p, kerr(code));
}

/* The partition of a Fetch v13+ answer, which names topics by id only. */
static struct cpart *preqs_find_id(struct preqs *pr, const uint8_t id[16], int32_t part)
{
    for (size_t i = 0; i < pr->n; i++)
        if (pr->p[i]->id == part && !memcmp(pr->p[i]->md->id, id, 16))
            return pr->p[i];
    return NULL;
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
            cons_part_retry(c, pr->p[i], true);
        return;
    }
    struct fbuf *fb = NULL;
    for (int32_t t = 0; t < r->n_responses; t++)
        for (int32_t k = 0; k < r->responses[t].n_partitions; k++) {
            const struct kafka_fetch_resp_topic *rt = &r->responses[t];
            const struct kafka_fetch_resp_partition *rp = &rt->partitions[k];
            struct cpart *p = rs->version >= 13
                                  ? preqs_find_id(pr, rt->topic_id, rp->partition_index)
                                  : cons_preqs_find(pr, rt->topic, rp->partition_index);
            if (p && p->state == CP_ACTIVE)
                fetch_partition(c, p, rp, rs, &fb, rs->broker);
        }
    if (fb)
        fbuf_unref(fb);
}

static int fill_fetch(struct brook_client *c, struct req *rq)
{
    static const uint8_t zero_id[16];
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
            /* v13+ names topics by id: without one, stay at v12 */
            memcpy(t->topic_id, pr->p[i]->md->id, sizeof t->topic_id);
            if (!memcmp(t->topic_id, zero_id, sizeof zero_id) && rq->vmax > 12)
                rq->vmax = 12;
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
    if (!rq || cons_preqs_init(rq, c->cons, k, n, false)) {
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

void cons_run_fetch(struct brook_client *c)
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
        if (ARRAY_GROW(cs->hdrs, cs->hdr_cap, n + 1))
            return -ENOMEM;
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
        int skip = txn_filter_skip(&ch->txn, &h, start, size);
        if (skip < 0) {
            cons_report(c, skip);
            ch->off -= size; /* try the batch again on the next call */
            return 0;
        }
        if (skip || h.base_offset + h.last_offset_delta < p->pos)
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
            p->fetch_pos < p->end)
            return false;
    }
    return true;
}
