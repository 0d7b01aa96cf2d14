/*
 * h_legacy.c - Produce v0-2 and Fetch v0-3: the message sets of magic 0 and 1.
 *
 * Kafka 4 dropped these versions; older clients (Go's kafka-go 0.2, sarama below
 * Version 0.11) speak nothing else. brook stores only RecordBatch v2, so this file
 * converts at the edge (proto/legacy.c does the bytes):
 *
 * - Produce: each partition's message set becomes one v2 batch, appended through
 *   store_partition_append() like any produced batch, then answered under the same
 *   acks rules as h_produce.c (durable under the flush policy for acks 1 and -1,
 *   no answer for acks 0). Up-conversion is held to the topic's max.message.bytes,
 *   both for the batch and for what wrappers decompress to.
 * - Fetch: batches are walked with a store cursor and each record becomes one
 *   uncompressed message (magic 1 for v2/v3, magic 0 for v0/v1, headers dropped),
 *   whole messages only within partition_max_bytes and the response budget; the
 *   first message may pass them (whole in v3, as KIP-74 lets it; cut in v0-2, as
 *   Kafka did, so an old client learns its fetch size is too small). The converted
 *   bytes live in one heap buffer per request, freed once the response is encoded.
 *
 * Long polling works as in h_fetch.c but on a list of its own (the loop's legacy_parked):
 * a request without enough data is parked with a timer for max_wait_ms, and the
 * loop's append notification (legacy_fetch_on_append, next to fetch_on_append)
 * answers it as soon as enough has arrived, so a client at the log end waits
 * rather than spins.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "broker/private.h"
#include "lib/xalloc.h"
#include "proto/legacy.h"
#include "proto/record.h"

/* ---- Produce v0-2 ---- */

/* Kafka's code for an up-conversion or append error. */
static int16_t legacy_error(int rc)
{
    if (rc == -EPROTO)
        return KAFKA_INVALID_RECORD;
    if (rc == -ENOTSUP)
        return KAFKA_CORRUPT_MESSAGE;
    return kafka_error_from(rc);
}

/* Convert in's message set to a batch and append it; 0 with *res, or an error. */
static int legacy_append(struct store_topic *t, struct store_partition *p,
                         const struct kafka_produce_req_partition *in, struct store_append *res)
{
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    size_t max = (size_t)tc.max_message_bytes;
    struct writer batch;
    if (in->records.len <= 0 || !in->records.p)
        return -EBADMSG;
    /* a batch compressed again may come out slightly larger than its records; the
     * store holds it to max.message.bytes */
    writer_init(&batch, max + max / 8 + 4096);
    int rc = legacy_upconvert(in->records.p, (size_t)in->records.len, max, &batch, NULL);
    if (!rc)
        rc = store_partition_append(p, batch.buf, batch.len, res);
    writer_release(&batch);
    return rc == STORE_EDUPLICATE_SEQ ? 0 : rc;
}

static void legacy_produce_partition(struct request *rq, struct store_topic *t, int16_t topic_err,
                                     const struct kafka_produce_req_partition *in,
                                     struct kafka_produce_resp_partition *out, int16_t acks)
{
    struct broker *b = rq->c->b;
    out->index = in->index;
    out->base_offset = -1;
    out->log_append_time_ms = -1;
    struct store_partition *p = t ? store_topic_partition(t, in->index) : NULL;
    if (!p) {
        out->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : topic_err;
        return;
    }
    struct store_append res;
    int rc = legacy_append(t, p, in, &res);
    out->error_code = legacy_error(rc);
    if (rc)
        return;
    out->base_offset = res.base_offset;
    metrics_topic(&b->metrics, store_topic_name(t), res.last_offset - res.base_offset + 1,
                  in->records.len, 0, 0);
    if (acks == 0)
        return;
    produce_wait_durable(rq, p, res.last_offset + 1, out);
}

void handle_produce_legacy(struct request *rq)
{
    produce_request(rq, legacy_produce_partition);
}

/* ---- Fetch v0-3 ---- */

#define LEGACY_CONN_MAX (2 * (int64_t)CONN_OUT_HIGH_WATER) /* see legacy_complete() */

struct legacy_part {
    struct store_topic *t; /* a reference, held while parked */
    struct store_partition *p;
    int64_t offset;
    int32_t max_bytes;
    size_t start, len; /* the partition's messages in the request's buffer */
    struct kafka_fetch_resp_partition *out;
};

struct legacy_wait {
    struct broker *b;
    struct pending *pd;
    struct legacy_part *parts;
    int n_parts;
    int8_t magic;
    bool kip74; /* v3: the first message may pass the limits */
    int64_t max_bytes;
    int32_t min_bytes;
    struct event *timer;
    struct legacy_wait *prev, *next; /* b->legacy_parked */
};

/* Convert lp's messages into buf within limit bytes; 0 or an error. */
static int legacy_part_fill(struct legacy_wait *lw, struct legacy_part *lp, size_t limit,
                            bool whole_ok, bool cut_ok, struct writer *buf)
{
    struct store_cursor c;
    struct store_batch sb;
    struct legacy_down d;
    int rc;
    legacy_down_init(&d, buf, lw->magic, lp->offset, limit);
    d.first_whole = whole_ok;
    d.first_partial = cut_ok;
    store_cursor_open(&c, lp->p, lp->offset, STORE_CURSOR_STRICT);
    while ((rc = store_cursor_next(&c, &sb)) == 1) {
        rc = legacy_down_batch(&d, sb.data, sb.len);
        if (rc)
            break;
    }
    store_cursor_close(&c);
    lp->start = d.start;
    lp->len = buf->len - d.start;
    if (rc == 1 || (rc < 0 && lp->len > 0))
        rc = 0; /* full, or an error past what is already converted: send that */
    return rc;
}

/* Fill the response: each partition's messages within the byte budgets. */
static void legacy_fill(struct legacy_wait *lw, struct writer *buf)
{
    int64_t budget = lw->max_bytes;
    bool first = true;
    for (int i = 0; i < lw->n_parts; i++) {
        struct legacy_part *lp = &lw->parts[i];
        struct kafka_fetch_resp_partition *out = lp->out;
        out->high_watermark = store_partition_high_watermark(lp->p);
        if (budget <= 0)
            continue; /* the response is full: the client asks again */
        int64_t limit = lp->max_bytes < budget ? lp->max_bytes : budget;
        /* a first message larger than the limit: v3 sends it whole while the response
         * is empty; v0-2 cut it, but only at the partition's own limit, which is what
         * the client can raise */
        bool whole_ok = lw->kip74 && first, cut_ok = !lw->kip74 && lp->max_bytes <= budget;
        int rc = legacy_part_fill(lw, lp, (size_t)(limit > 0 ? limit : 0), whole_ok, cut_ok, buf);
        if (rc) {
            out->error_code = kafka_error_from(rc);
            continue;
        }
        if (lp->len > 0) {
            first = false;
            budget -= (int64_t)lp->len;
            metrics_topic(&lw->b->metrics, store_topic_name(lp->t), 0, 0, 0, (int64_t)lp->len);
        }
    }
    for (int i = 0; i < lw->n_parts; i++) /* buf no longer moves */
        if (lw->parts[i].len > 0)
            lw->parts[i].out->records =
                (struct krecords){buf->buf + lw->parts[i].start, (int64_t)lw->parts[i].len, -1, 0};
}

/* Add to *avail the bytes stored in lp from its offset, up to want; whether that
 * reached want. A read stops at a segment's end and before a batch that would pass
 * its maximum, so one read may tell less than there is: read on until told enough
 * or the end (each read takes at least one batch, so this ends). */
static bool legacy_stored(struct legacy_part *lp, int64_t want, int64_t *avail)
{
    int64_t offset = lp->offset, got = 0;
    while (got < want) {
        struct store_slice sl;
        if (store_partition_read(lp->p, offset, (size_t)(want - got), &sl) != 0)
            break;
        store_slice_release(&sl);
        if (sl.len == 0)
            break;
        got += sl.len;
        offset = sl.next_offset;
    }
    *avail += got;
    return got >= want;
}

/* Whether enough is stored to answer now (stored bytes stand for converted ones). */
static bool legacy_ready(struct legacy_wait *lw)
{
    int64_t avail = 0;
    for (int i = 0; i < lw->n_parts; i++) {
        struct legacy_part *lp = &lw->parts[i];
        int64_t hw = store_partition_high_watermark(lp->p);
        if (lp->offset > hw || lp->offset < store_partition_log_start(lp->p))
            return true; /* an error to report */
        if (hw == lp->offset)
            continue;
        if (lw->min_bytes <= 1)
            return true;
        if (legacy_stored(lp, lw->min_bytes - avail, &avail))
            return true;
    }
    return false;
}

/* Bytes c holds in memory for the peer: answers encoded but waiting for an earlier
 * one, and its socket's unsent output. */
static int64_t legacy_conn_held(const struct conn *c)
{
    if (!c->bev)
        return INT64_MAX; /* closed: nothing will be sent */
    int64_t held = (int64_t)evbuffer_get_length(bufferevent_get_output(c->bev));
    for (const struct pending *pd = c->head; pd; pd = pd->next)
        if (pd->ready)
            held += (int64_t)pd->out.w.len;
    return held;
}

static void legacy_complete(struct legacy_wait *lw)
{
    struct net_loop *l = lw->pd->c->loop;
    if (lw->timer) {
        event_free(lw->timer);
        lw->timer = NULL;
        if (lw->prev)
            lw->prev->next = lw->next;
        else
            l->legacy_parked = lw->next;
        if (lw->next)
            lw->next->prev = lw->prev;
    }
    /* Unlike newer fetches, sent from the files, these answers are bytes in memory
     * until the peer reads them. A client that pipelines fetches (none needs to) could
     * make each of them hold a budget's worth; what its connection already holds
     * comes off the budget instead, so it holds at most LEGACY_CONN_MAX and one
     * message more. */
    int64_t room = LEGACY_CONN_MAX - legacy_conn_held(lw->pd->c);
    if (room < lw->max_bytes)
        lw->max_bytes = room > 0 ? room : 0;
    /* room for the budget and one message past it (the first, when it is larger) */
    struct writer buf;
    writer_init(&buf, (size_t)lw->max_bytes + batch_limits_default.max_batch + 64);
    legacy_fill(lw, &buf);
    for (int i = 0; i < lw->n_parts; i++)
        store_topic_put(lw->parts[i].t);
    pending_finish(lw->pd); /* encodes the response: buf is copied out */
    writer_release(&buf);
}

static void legacy_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    legacy_complete(arg);
}

void legacy_fetch_on_append(struct net_loop *l)
{
    for (struct legacy_wait *lw = l->legacy_parked, *next; lw; lw = next) {
        next = lw->next;
        if (legacy_ready(lw))
            legacy_complete(lw);
    }
}

void legacy_fetch_abort_all(struct net_loop *l)
{
    while (l->legacy_parked)
        legacy_complete(l->legacy_parked);
}

static uint64_t legacy_fetch_bytes(const struct kafka_fetch_req *req)
{
    uint64_t bytes = response_bytes(1, sizeof(struct legacy_wait)) +
                     response_bytes((uint64_t)req->n_topics, sizeof(struct kafka_fetch_resp_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes +=
            response_string_bytes(req->topics[i].topic.len) +
            response_bytes((uint64_t)req->topics[i].n_partitions,
                           sizeof(struct kafka_fetch_resp_partition) + sizeof(struct legacy_part));
    return bytes;
}

/* The response budget: fetch.max.bytes, and v3's max_bytes when smaller; never more
 * than half the response limit, so that one message past it still fits. */
static int64_t legacy_budget(const struct request *rq, const struct kafka_fetch_req *req)
{
    int64_t max = rq->c->b->cfg->fetch_max_bytes;
    if (rq->version >= 3 && req->max_bytes >= 0 && req->max_bytes < max)
        max = req->max_bytes;
    return max < (int64_t)RESPONSE_MAX_BYTES / 2 ? max : (int64_t)RESPONSE_MAX_BYTES / 2;
}

static void legacy_park(struct legacy_wait *lw, int32_t max_wait_ms)
{
    struct net_loop *l = lw->pd->c->loop;
    lw->timer = evtimer_new(l->base, legacy_timer_cb, lw);
    if (!lw->timer)
        xalloc_fail("event", 0);
    struct timeval tv = {max_wait_ms / 1000, (max_wait_ms % 1000) * 1000};
    evtimer_add(lw->timer, &tv);
    lw->next = l->legacy_parked;
    if (l->legacy_parked)
        l->legacy_parked->prev = lw;
    l->legacy_parked = lw;
}

void handle_fetch_legacy(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_fetch_req *req = rq->body;
    if (!response_fits(rq, legacy_fetch_bytes(req))) {
        request_refuse(rq, "the Fetch response would pass the response limit");
        return;
    }
    struct kafka_fetch_resp *resp = response_new(rq);
    struct legacy_wait *lw = PENDING_NEW(pd, struct legacy_wait, 1);
    int64_t total = 0;
    for (int32_t i = 0; i < req->n_topics; i++)
        total += req->topics[i].n_partitions;
    *lw = (struct legacy_wait){.b = b,
                               .pd = pd,
                               .magic = rq->version >= 2 ? 1 : 0,
                               .kip74 = rq->version >= 3,
                               .max_bytes = legacy_budget(rq, req),
                               .min_bytes = req->min_bytes};
    lw->parts = PENDING_NEW(pd, struct legacy_part, total);
    resp->responses = PENDING_NEW(pd, struct kafka_fetch_resp_topic, req->n_topics);
    resp->n_responses = req->n_topics;
    bool error = false;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_fetch_req_topic *ti = &req->topics[i];
        struct kafka_fetch_resp_topic *to = &resp->responses[i];
        to->topic = kstr_from(pd_strdup(pd, ti->topic));
        to->partitions = PENDING_NEW(pd, struct kafka_fetch_resp_partition, ti->n_partitions);
        to->n_partitions = ti->n_partitions;
        int16_t err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        struct store_topic *t = request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_TOPIC, ti->topic)
                                    ? broker_topic(b, ti->topic, false, &err)
                                    : NULL;
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            struct kafka_fetch_resp_partition *po = &to->partitions[k];
            const struct kafka_fetch_req_partition *pi = &ti->partitions[k];
            kafka_init(&kafka_fetch_resp_partition_desc, po);
            po->partition_index = pi->partition;
            po->records = (struct krecords){(const uint8_t *)"", 0, -1, 0};
            struct store_partition *p = t ? store_topic_partition(t, pi->partition) : NULL;
            if (!p) {
                po->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : err;
                error = true;
                continue;
            }
            lw->parts[lw->n_parts++] = (struct legacy_part){
                .t = store_topic_ref(t),
                .p = p,
                .offset = pi->fetch_offset,
                .max_bytes = pi->partition_max_bytes,
                .out = po,
            };
        }
        store_topic_put(t);
    }
    pd->resp = resp;
    if (error || req->max_wait_ms <= 0 || rq->c->loop->stopping || legacy_ready(lw))
        legacy_complete(lw);
    else
        legacy_park(lw, req->max_wait_ms);
}
