/*
 * h_fetch.c - Fetch with long polling, and ListOffsets.
 *
 * A Fetch reads, for each partition, whole batches from one segment starting at
 * the batch that holds the fetch offset; the bytes are not read here at all - the
 * response carries (fd, position, length) splices that the server sends with
 * sendfile. When fewer than min_bytes are available the request is parked: it is
 * answered as soon as an append (from any thread: the store's listener wakes the
 * loop) gives it enough, or when max_wait_ms expires, whichever comes first.
 *
 * brook has no fetch sessions: it always answers with session id 0, which every
 * client takes to mean "send full fetch requests".
 *
 * Bounds: the record bytes of one response are at most fetch.max.bytes (as in
 * Kafka, whatever the request's max_bytes says), and the partitions' headers of
 * Fetch and ListOffsets are counted against RESPONSE_MAX_BYTES before any work.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker/private.h"
#include "lib/xalloc.h"

struct fetch_part {
    struct store_topic *t; /* a reference, held while parked */
    struct store_partition *p;
    int64_t offset;
    int32_t max_bytes;
    struct kafka_fetch_resp_partition *out;
};

struct fetch_wait {
    struct broker *b;
    struct pending *pd;
    struct fetch_part *parts;
    int n_parts;
    int32_t max_bytes, min_bytes;
    struct event *timer;
    struct fetch_wait *prev, *next; /* parked list */
};

/* Fill the response: a slice per partition within the byte budgets. */
static void fetch_fill(struct fetch_wait *fw)
{
    int64_t budget = fw->max_bytes;
    for (int i = 0; i < fw->n_parts; i++) {
        struct fetch_part *fp = &fw->parts[i];
        struct kafka_fetch_resp_partition *out = fp->out;
        struct store_partition_info info;
        store_partition_info(fp->p, &info);
        out->high_watermark = out->last_stable_offset = info.high_watermark;
        out->log_start_offset = info.log_start_offset;
        if (budget <= 0 && i > 0)
            continue; /* the response is full: the client asks again */
        size_t want = (size_t)(fp->max_bytes < budget ? fp->max_bytes : budget);
        struct store_slice sl;
        int rc = store_partition_read(fp->p, fp->offset, want ? want : 1, &sl);
        if (sl.len > 0 && i > 0 && store_fd_held_too_many(sl.fd)) {
            /* each slice holds a descriptor until sent, and this one is near the
             * reserve the log keeps for itself: the response is full (the client asks
             * again), as when the byte budget is spent; the first partition is always
             * served, so that every fetch makes progress */
            store_slice_release(&sl);
            budget = 0;
            continue;
        }
        if (rc) {
            out->error_code = kafka_error_from(rc);
            continue;
        }
        if (sl.len > 0) {
            out->records = (struct krecords){NULL, sl.len, sl.fd, sl.pos};
            budget -= sl.len;
            metrics_topic(&fw->b->metrics, store_topic_name(fp->t), 0, 0, sl.len);
        }
    }
}

/* Whether enough is available to answer now. */
static bool fetch_ready(struct fetch_wait *fw)
{
    int64_t avail = 0;
    for (int i = 0; i < fw->n_parts; i++) {
        struct fetch_part *fp = &fw->parts[i];
        int64_t hw = store_partition_high_watermark(fp->p);
        if (fp->offset > hw || fp->offset < store_partition_log_start(fp->p))
            return true; /* an error to report */
        if (hw == fp->offset)
            continue;
        if (fw->min_bytes <= 1)
            return true;
        struct store_slice sl;
        if (store_partition_read(fp->p, fp->offset, (size_t)fw->min_bytes, &sl) == 0) {
            avail += sl.len;
            store_slice_release(&sl);
        }
        if (avail >= fw->min_bytes)
            return true;
    }
    return false;
}

static void fetch_complete(struct fetch_wait *fw)
{
    struct broker *b = fw->b;
    if (fw->timer) {
        event_free(fw->timer);
        fw->timer = NULL;
        if (fw->prev)
            fw->prev->next = fw->next;
        else
            b->parked = fw->next;
        if (fw->next)
            fw->next->prev = fw->prev;
    }
    fetch_fill(fw);
    for (int i = 0; i < fw->n_parts; i++)
        store_topic_put(fw->parts[i].t);
    pending_finish(fw->pd);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    fetch_complete(arg);
}

void fetch_on_append(struct broker *b)
{
    for (struct fetch_wait *fw = b->parked, *next; fw; fw = next) {
        next = fw->next;
        if (fetch_ready(fw))
            fetch_complete(fw);
    }
}

void fetch_abort_all(struct broker *b)
{
    while (b->parked)
        fetch_complete(b->parked);
}

/* Arena bytes of a Fetch response to req, with the request's parking state. */
static uint64_t fetch_bytes(const struct kafka_fetch_req *req)
{
    uint64_t bytes = response_bytes(1, sizeof(struct fetch_wait)) +
                     response_bytes((uint64_t)req->n_topics, sizeof(struct kafka_fetch_resp_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes +=
            response_string_bytes(req->topics[i].topic.len) +
            response_bytes((uint64_t)req->topics[i].n_partitions,
                           sizeof(struct kafka_fetch_resp_partition) + sizeof(struct fetch_part));
    return bytes;
}

void handle_fetch(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_fetch_req *req = rq->body;
    if (!response_fits(rq, fetch_bytes(req))) {
        request_refuse(rq, "the Fetch response would pass the response limit");
        return;
    }
    struct kafka_fetch_resp *resp = response_new(rq);
    struct fetch_wait *fw = PENDING_NEW(pd, struct fetch_wait, 1);
    int64_t total = 0;
    for (int32_t i = 0; i < req->n_topics; i++)
        total += req->topics[i].n_partitions;
    int32_t max_bytes = req->max_bytes;
    if (rq->version < 3 || max_bytes > b->cfg->fetch_max_bytes || max_bytes < 0)
        max_bytes = (int32_t)b->cfg->fetch_max_bytes;
    *fw =
        (struct fetch_wait){.b = b, .pd = pd, .max_bytes = max_bytes, .min_bytes = req->min_bytes};
    fw->parts = PENDING_NEW(pd, struct fetch_part, total);
    resp->responses = PENDING_NEW(pd, struct kafka_fetch_resp_topic, req->n_topics);
    resp->n_responses = req->n_topics;
    bool error = false;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_fetch_req_topic *ti = &req->topics[i];
        struct kafka_fetch_resp_topic *to = &resp->responses[i];
        to->topic = kstr_from(pd_strdup(pd, ti->topic));
        to->partitions = PENDING_NEW(pd, struct kafka_fetch_resp_partition, ti->n_partitions);
        to->n_partitions = ti->n_partitions;
        int16_t err;
        struct store_topic *t = broker_topic(b, ti->topic, false, &err);
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            struct kafka_fetch_resp_partition *po = &to->partitions[k];
            kafka_init(&kafka_fetch_resp_partition_desc, po);
            po->partition_index = ti->partitions[k].partition;
            po->records = (struct krecords){(const uint8_t *)"", 0, -1, 0};
            struct store_partition *p = t ? store_topic_partition(t, po->partition_index) : NULL;
            if (!p) {
                po->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : err;
                error = true;
                continue;
            }
            fw->parts[fw->n_parts++] =
                (struct fetch_part){store_topic_ref(t), p, ti->partitions[k].fetch_offset,
                                    ti->partitions[k].partition_max_bytes, po};
        }
        store_topic_put(t);
    }
    pd->resp = resp;
    if (error || req->max_wait_ms <= 0 || b->stopping || fetch_ready(fw)) {
        fetch_complete(fw);
        return;
    }
    fw->timer = evtimer_new(b->base, timer_cb, fw);
    if (!fw->timer)
        xalloc_fail("event", 0);
    struct timeval tv = {req->max_wait_ms / 1000, (req->max_wait_ms % 1000) * 1000};
    evtimer_add(fw->timer, &tv);
    fw->next = b->parked;
    if (b->parked)
        b->parked->prev = fw;
    b->parked = fw;
}

/* ---- ListOffsets ---- */

#define LATEST   -1
#define EARLIEST -2

void handle_list_offsets(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_list_offsets_req *req = rq->body;
    uint64_t bytes =
        response_bytes((uint64_t)req->n_topics, sizeof(struct kafka_list_offsets_resp_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += response_string_bytes(req->topics[i].name.len) +
                 response_bytes((uint64_t)req->topics[i].n_partitions,
                                sizeof(struct kafka_list_offsets_resp_partition));
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the ListOffsets response would pass the response limit");
        return;
    }
    struct kafka_list_offsets_resp *resp = response_new(rq);
    resp->topics = PENDING_NEW(pd, struct kafka_list_offsets_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_list_offsets_req_topic *ti = &req->topics[i];
        struct kafka_list_offsets_resp_topic *to = &resp->topics[i];
        to->name = kstr_from(pd_strdup(pd, ti->name));
        to->partitions =
            PENDING_NEW(pd, struct kafka_list_offsets_resp_partition, ti->n_partitions);
        to->n_partitions = ti->n_partitions;
        int16_t err;
        struct store_topic *t = broker_topic(b, ti->name, false, &err);
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            struct kafka_list_offsets_resp_partition *po = &to->partitions[k];
            int64_t ts = ti->partitions[k].timestamp;
            *po = (struct kafka_list_offsets_resp_partition){ti->partitions[k].partition_index, 0,
                                                             -1, -1, 0};
            struct store_partition *p = t ? store_topic_partition(t, po->partition_index) : NULL;
            if (!p) {
                po->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : err;
                po->leader_epoch = -1;
            } else if (ts == LATEST) {
                po->offset = store_partition_high_watermark(p);
            } else if (ts == EARLIEST) {
                po->offset = store_partition_log_start(p);
            } else {
                int rc = store_partition_offset_for_time(p, ts, &po->offset, &po->timestamp);
                if (rc == -ENOENT)
                    po->offset = po->timestamp = -1; /* no record that late */
                else if (rc)
                    po->error_code = kafka_error_from(rc);
            }
        }
        store_topic_put(t);
    }
    request_respond(rq, resp);
}
