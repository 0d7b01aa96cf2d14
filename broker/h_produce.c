/*
 * h_produce.c - Produce: append each partition's batches, then answer once they
 * are durable under the flush policy (acks 1 and -1), or never (acks 0).
 *
 * Every partition that needs a durability wait registers a callback with the
 * store; the flusher thread calls it, it records any flush error in that
 * partition's response and drops one wait; the last wait hands the request back
 * to the loop thread, which encodes the response. A guard wait held while the
 * request is being processed keeps an early callback from completing it half-way.
 *
 * The response is counted against RESPONSE_MAX_BYTES before anything is appended:
 * a request refused then has stored nothing.
 *
 * InitProducerId lives here too: it hands an idempotent producer the id its
 * batches carry, which the store checks sequence numbers by. Ids start from the
 * wall clock, so they stay unique across restarts without being stored; a
 * transactional id is refused, since brook has no transactions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/clock.h"
#include "proto/record.h"

struct produce_wait {
    struct broker *b;
    struct pending *pd;
    struct kafka_produce_resp_partition *out;
};

/* Flusher thread: the partition's appends are durable (or failed). */
static void on_durable(void *arg, int rc)
{
    struct produce_wait *w = arg;
    if (rc)
        w->out->error_code = kafka_error_from(rc);
    if (atomic_fetch_sub(&w->pd->waits, 1) == 1)
        broker_complete_async(w->b, w->pd);
}

/* Append every batch in the records blob; returns the last append's result. */
static int append_batches(struct store_partition *p, uint8_t *data, size_t len,
                          struct store_append *first, struct store_append *last, int64_t *records)
{
    size_t off = 0;
    int n = 0, rc = 0;
    *records = 0;
    while (off < len) {
        size_t size;
        rc = batch_frame(data + off, len - off, len - off, &size);
        if (rc) {
            rc = rc == -EAGAIN ? -EBADMSG : rc; /* a partial batch at the end */
            break;
        }
        rc = store_partition_append(p, data + off, size, last);
        if (rc && rc != STORE_EDUPLICATE_SEQ)
            break;
        if (n++ == 0)
            *first = *last;
        *records += last->last_offset - last->base_offset + 1;
        off += size;
        rc = 0;
    }
    return n == 0 && !rc ? -EBADMSG : rc;
}

static void produce_partition(struct request *rq, struct store_topic *t, int16_t topic_err,
                              const struct kafka_produce_req_partition *in,
                              struct kafka_produce_resp_partition *out, int16_t acks)
{
    struct broker *b = rq->c->b;
    out->index = in->index;
    out->base_offset = -1;
    out->log_append_time_ms = -1;
    out->log_start_offset = -1;
    struct store_partition *p = t ? store_topic_partition(t, in->index) : NULL;
    if (!p) {
        out->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : topic_err;
        return;
    }
    if (in->records.len <= 0 || !in->records.p) {
        out->error_code = KAFKA_CORRUPT_MESSAGE;
        return;
    }
    if (acks == -1 && !store_topic_in_sync(t)) { /* min.insync.replicas > 1: as Kafka */
        out->error_code = KAFKA_NOT_ENOUGH_REPLICAS;
        return;
    }
    /* the records are a view of the frame, which is ours to modify */
    uint8_t *data = (uint8_t *)(uintptr_t)in->records.p;
    struct store_append first, last;
    int64_t records;
    int rc = append_batches(p, data, (size_t)in->records.len, &first, &last, &records);
    out->error_code = kafka_error_from(rc);
    if (rc)
        return;
    out->base_offset = first.base_offset;
    out->log_append_time_ms = first.log_append_time;
    out->log_start_offset = last.log_start_offset;
    metrics_topic(&b->metrics, store_topic_name(t), records, in->records.len, 0);
    if (acks == 0)
        return;
    struct produce_wait *w = PENDING_NEW(rq->pd, struct produce_wait, 1);
    *w = (struct produce_wait){b, rq->pd, out};
    atomic_fetch_add(&rq->pd->waits, 1);
    rc = store_partition_when_durable(p, last.last_offset + 1, on_durable, w);
    if (rc != 0) { /* already durable (1), or failed: no callback will come */
        atomic_fetch_sub(&rq->pd->waits, 1);
        if (rc < 0)
            out->error_code = kafka_error_from(rc);
    }
}

/* Arena bytes of the answer to req, with a durability wait per partition. */
static uint64_t produce_bytes(const struct kafka_produce_req *req)
{
    uint64_t bytes =
        response_bytes((uint64_t)req->n_topic_data + 1, sizeof(struct kafka_produce_resp_topic));
    for (int32_t i = 0; i < req->n_topic_data; i++) {
        const struct kafka_produce_req_topic *ti = &req->topic_data[i];
        bytes += response_string_bytes(ti->name.len) +
                 response_bytes((uint64_t)ti->n_partition_data + 1,
                                sizeof(struct kafka_produce_resp_partition)) +
                 (uint64_t)ti->n_partition_data * response_bytes(1, sizeof(struct produce_wait));
    }
    return bytes;
}

void handle_produce(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_produce_req *req = rq->body;
    if (!response_fits(rq, produce_bytes(req))) {
        request_refuse(rq, "the Produce response would pass the response limit");
        return;
    }
    struct kafka_produce_resp *resp = response_new(rq);
    int16_t refuse = KAFKA_NONE;
    if (rq->version < 3)
        refuse = KAFKA_UNSUPPORTED_VERSION; /* magic v0/v1 message sets */
    else if (req->acks != 0 && req->acks != 1 && req->acks != -1)
        refuse = KAFKA_INVALID_REQUIRED_ACKS;
    else if (!kstr_is_null(req->transactional_id))
        refuse = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED; /* no transactions */
    resp->responses = PENDING_NEW(pd, struct kafka_produce_resp_topic, req->n_topic_data + 1);
    resp->n_responses = req->n_topic_data;
    pd->resp = resp;
    pd->waits = 1; /* the guard */
    for (int32_t i = 0; i < req->n_topic_data; i++) {
        const struct kafka_produce_req_topic *ti = &req->topic_data[i];
        struct kafka_produce_resp_topic *to = &resp->responses[i];
        to->name = kstr_from(pd_strdup(pd, ti->name));
        to->partition_responses =
            PENDING_NEW(pd, struct kafka_produce_resp_partition, ti->n_partition_data + 1);
        to->n_partition_responses = ti->n_partition_data;
        int16_t err = refuse;
        struct store_topic *t = refuse ? NULL : broker_topic(b, ti->name, false, &err);
        for (int32_t k = 0; k < ti->n_partition_data; k++) {
            struct kafka_produce_resp_partition *po = &to->partition_responses[k];
            kafka_init(&kafka_produce_resp_partition_desc, po);
            produce_partition(rq, t, err, &ti->partition_data[k], po, req->acks);
        }
        store_topic_put(t);
    }
    if (req->acks == 0) {
        pd->noreply = true; /* Kafka sends nothing back for acks=0 */
        pd->resp = NULL;
    }
    pending_release_wait(pd);
}

/* ---- InitProducerId ---- */

void handle_init_producer_id(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_init_producer_id_req *req = rq->body;
    struct kafka_init_producer_id_resp *resp = response_new(rq);
    if (!kstr_is_null(req->transactional_id) && req->transactional_id.len > 0) {
        resp->error_code = KAFKA_INVALID_REQUEST; /* brook has no transactions */
    } else {
        /* ids stay unique across restarts: they start from the clock */
        if (!b->next_producer_id)
            b->next_producer_id = clock_wall_ms() << 10;
        resp->producer_id = b->next_producer_id++;
        resp->producer_epoch = 0;
    }
    request_respond(rq, resp);
}
