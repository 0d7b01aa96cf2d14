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
 * wall clock (and above every id __transaction_state holds), so they stay unique
 * across restarts without being stored; a transactional id is the transaction
 * coordinator's (broker/h_txn.c).
 *
 * A transactional batch (KIP-890) is appended only when its producer's ongoing
 * transaction holds the partition: the coordinator says so (txn_produce_check).
 *
 * From Produce v8 a refused batch is explained: error_message, and record_errors
 * naming the records to blame by their index in the batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "broker/txn.h"
#include "lib/clock.h"
#include "proto/record.h"

/* record_errors listed for one partition (Kafka lists them all; the message names
 * how many there were) */
#define PRODUCE_MAX_RECORD_ERRORS 1000

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

/* Append every batch in the records blob; returns the last append's result, and
 * where the batch it failed on starts (*bad, len - *bad bytes at most). */
static int append_batches(struct store_partition *p, uint8_t *data, size_t len,
                          struct store_append *first, struct store_append *last, int64_t *records,
                          size_t *bad)
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
        *bad = off;
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

/* Name the records of a batch a compacted topic refuses (no key), as Kafka's
 * record_errors do; false when none is to blame. */
static bool produce_explain_keys(struct request *rq, const uint8_t *batch, size_t len,
                                 struct kafka_produce_resp_partition *out, int32_t *total)
{
    struct batch_iter it;
    struct record r;
    int32_t index = 0, n = 0, rc;
    *total = 0;
    if (!response_fits(rq, response_bytes(PRODUCE_MAX_RECORD_ERRORS,
                                          sizeof(struct kafka_produce_resp_record_error))))
        return false;
    out->record_errors =
        PENDING_NEW(rq->pd, struct kafka_produce_resp_record_error, PRODUCE_MAX_RECORD_ERRORS);
    if (batch_iter_init(&it, batch, len, NULL, false) == 0) {
        for (; (rc = batch_iter_next(&it, &r)) == 1; index++) {
            if (r.key_len >= 0 || ++*total > PRODUCE_MAX_RECORD_ERRORS)
                continue;
            out->record_errors[n++] = (struct kafka_produce_resp_record_error){
                index, KSTR("a compacted topic takes only records with keys")};
        }
    }
    batch_iter_release(&it);
    out->n_record_errors = n;
    return n > 0;
}

static bool topic_compacted(const struct store_topic *t)
{
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    return tc.cleanup_policy & CLEANUP_COMPACT;
}

/*
 * Produce v8+: say why a batch was refused as INVALID_RECORD - in error_message,
 * and for records that are to blame one by one (a null key on a compacted topic),
 * in record_errors with their index in the batch, as Kafka does.
 */
static void produce_explain(struct request *rq, struct store_topic *t, const uint8_t *batch,
                            size_t len, struct kafka_produce_resp_partition *out)
{
    struct batch_header h;
    const char *why = "the batch breaks the rules for a producer's batch";
    char buf[160];
    int32_t total;
    if (batch_header_parse(batch, len, &h) != 0)
        return;
    if (h.attributes & BATCH_ATTR_CONTROL)
        why = "a producer may not write control batches";
    else if (h.records_count <= 0)
        why = "a batch must hold at least one record";
    else if (h.records_count != (int64_t)h.last_offset_delta + 1)
        why = "the batch's record count does not match its offset range";
    else if (h.producer_id >= 0 && h.base_sequence < 0)
        why = "a batch with a producer id needs a base sequence";
    else if (topic_compacted(t) && produce_explain_keys(rq, batch, len, out, &total)) {
        snprintf(buf, sizeof buf,
                 "%d record(s) of the batch have no key, which a compacted topic refuses "
                 "(the first at index %d)",
                 (int)total, (int)out->record_errors[0].batch_index);
        why = buf;
    }
    out->error_message = kstr_from(pd_strdup(rq->pd, kstr_from(why)));
}

/* KIP-890: every transactional batch of the records must belong to an ongoing
 * transaction of the request's transactional id that holds this partition. */
static int16_t produce_txn_check(struct request *rq, struct store_topic *t, int32_t partition,
                                 const uint8_t *data, size_t len)
{
    const struct kafka_produce_req *req = rq->body;
    struct batch_header h;
    size_t size;
    /* no transactional id: no transaction can hold the batch. Such a Produce runs on
     * its connection's loop, which must not look into loop 0's coordinator */
    bool no_id = kstr_is_null(req->transactional_id);
    for (size_t off = 0; off < len && batch_frame(data + off, len - off, len - off, &size) == 0;
         off += size) {
        if (batch_header_parse(data + off, size, &h) != 0 ||
            !(h.attributes & BATCH_ATTR_TRANSACTIONAL) || (h.attributes & BATCH_ATTR_CONTROL))
            continue; /* the store refuses what does not parse, and control batches */
        int16_t err =
            no_id ? KAFKA_TRANSACTIONAL_ID_NOT_FOUND
                  : txn_produce_check(rq->c->b, req->transactional_id, h.producer_id,
                                      h.producer_epoch, kstr_from(store_topic_name(t)), partition);
        if (err)
            return err;
    }
    return KAFKA_NONE;
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
    out->error_code = produce_txn_check(rq, t, in->index, data, (size_t)in->records.len);
    if (out->error_code)
        return;
    struct store_append first, last;
    int64_t records;
    size_t bad = 0;
    int rc = append_batches(p, data, (size_t)in->records.len, &first, &last, &records, &bad);
    out->error_code = kafka_error_from(rc);
    if (rc == STORE_EINVALID_RECORD && rq->version >= 8)
        produce_explain(rq, t, data + bad, (size_t)in->records.len - bad, out);
    if (rc)
        return;
    out->base_offset = first.base_offset;
    out->log_append_time_ms = first.log_append_time;
    out->log_start_offset = last.log_start_offset;
    metrics_topic(&b->metrics, store_topic_name(t), records, in->records.len, 0, 0);
    if (acks == 0)
        return;
    produce_wait_durable(rq, p, last.last_offset + 1, out);
}

void produce_wait_durable(struct request *rq, struct store_partition *p, int64_t end,
                          struct kafka_produce_resp_partition *out)
{
    struct produce_wait *w = PENDING_NEW(rq->pd, struct produce_wait, 1);
    *w = (struct produce_wait){rq->c->b, rq->pd, out};
    atomic_fetch_add(&rq->pd->waits, 1);
    int rc = store_partition_when_durable(p, end, on_durable, w);
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

void produce_request(struct request *rq, produce_partition_fn fn)
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
    if (req->acks != 0 && req->acks != 1 && req->acks != -1)
        refuse = KAFKA_INVALID_REQUIRED_ACKS;
    /* as Kafka: WRITE on the transactional id for the whole request, then WRITE
     * on each topic, before anything about the topic is looked at */
    else if (req->transactional_id.len > 0 &&
             !request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TRANSACTIONAL_ID,
                                   req->transactional_id))
        refuse = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    resp->responses = PENDING_NEW(pd, struct kafka_produce_resp_topic, req->n_topic_data + 1);
    resp->n_responses = req->n_topic_data;
    pd->resp = resp;
    pd->waits = 1; /* the guard: no callback completes the request half-way */
    for (int32_t i = 0; i < req->n_topic_data; i++) {
        const struct kafka_produce_req_topic *ti = &req->topic_data[i];
        struct kafka_produce_resp_topic *to = &resp->responses[i];
        to->name = kstr_from(pd_strdup(pd, ti->name));
        to->partition_responses =
            PENDING_NEW(pd, struct kafka_produce_resp_partition, ti->n_partition_data + 1);
        to->n_partition_responses = ti->n_partition_data;
        int16_t err = refuse;
        if (!err && !request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TOPIC, ti->name))
            err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        struct store_topic *t = err ? NULL : broker_topic(b, ti->name, false, &err);
        for (int32_t k = 0; k < ti->n_partition_data; k++) {
            struct kafka_produce_resp_partition *po = &to->partition_responses[k];
            kafka_init(&kafka_produce_resp_partition_desc, po);
            fn(rq, t, err, &ti->partition_data[k], po, req->acks);
        }
        store_topic_put(t);
    }
    if (req->acks == 0) {
        pd->noreply = true; /* Kafka sends nothing back for acks=0 */
        pd->resp = NULL;
    }
    pending_release_wait(pd);
}

void handle_produce(struct request *rq)
{
    produce_request(rq, produce_partition);
}

/* ---- InitProducerId ---- */

int64_t broker_producer_id_new(struct broker *b)
{
    if (!b->next_producer_id) /* txn_open sets it at start; tests may not */
        b->next_producer_id = clock_wall_ms() << 10;
    return b->next_producer_id++;
}

/* Kafka's authorization of InitProducerId: WRITE on the transactional id; without
 * one, IDEMPOTENT_WRITE on the cluster or WRITE on some topic. */
static int16_t init_producer_id_denied(struct request *rq, struct kstr transactional_id)
{
    if (!kstr_is_null(transactional_id))
        return request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TRANSACTIONAL_ID, transactional_id)
                   ? KAFKA_NONE
                   : KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    if (request_allowed(rq, AUTH_OP_IDEMPOTENT_WRITE, AUTH_RES_CLUSTER, NULL) ||
        request_allowed_any(rq, AUTH_OP_WRITE, AUTH_RES_TOPIC))
        return KAFKA_NONE;
    return KAFKA_CLUSTER_AUTHORIZATION_FAILED;
}

/*
 * As Kafka's coordinator does for a producer without a transactional id: every
 * request gets a fresh id with epoch 0, also one that names its current id and
 * epoch (v3+, KIP-360) - an idempotent producer bumps its epoch itself, and a new
 * id starts its sequences afresh. The id and epoch must be given together (else
 * INVALID_REQUEST, as Kafka checks); an empty transactional id is INVALID_REQUEST
 * as in Kafka; any other goes to the transaction coordinator.
 */
void handle_init_producer_id(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_init_producer_id_req *req = rq->body;
    bool no_id = req->producer_id == -1, no_epoch = req->producer_epoch == -1;
    int16_t denied = init_producer_id_denied(rq, req->transactional_id);
    if (!denied && req->transactional_id.len > 0 && no_id == no_epoch) {
        txn_handle_init_producer_id(rq);
        return;
    }
    struct kafka_init_producer_id_resp *resp = response_new(rq);
    resp->producer_id = -1;
    resp->producer_epoch = -1;
    if (denied) {
        resp->error_code = denied;
    } else if (!kstr_is_null(req->transactional_id) || no_id != no_epoch) {
        resp->error_code = KAFKA_INVALID_REQUEST;
    } else {
        resp->producer_id = broker_producer_id_new(b);
        resp->producer_epoch = 0;
    }
    request_respond(rq, resp);
}
