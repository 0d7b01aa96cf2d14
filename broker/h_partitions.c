/*
 * h_partitions.c - questions about partitions whose answer on one node is short:
 * OffsetForLeaderEpoch, ElectLeaders, ListPartitionReassignments and
 * DescribeProducers.
 *
 * brook's every partition has had one leader, this node, in one epoch, 0 (what
 * Metadata answers), which began at the log start. So, by Kafka's rules:
 *
 * - OffsetForLeaderEpoch: a current_leader_epoch (v2+) above 0 is
 *   UNKNOWN_LEADER_EPOCH (from a leader brook has not seen), one below 0 other
 *   than -1 ("not given") FENCED_LEADER_EPOCH (older than the leader's). The end offset of
 *   epoch 0 is the log end offset (the high watermark: one node has no lag); of a
 *   later epoch, unknown (-1, -1); of an epoch below 0 other than -1, the start of
 *   epoch 0, since it is the first epoch known after it (Kafka's leader epoch cache
 *   answers so).
 * - ElectLeaders: the preferred leader already leads, so every partition named is
 *   ELECTION_NOT_NEEDED; with a null list (every partition) Kafka leaves out those
 *   that need no election, which here is all of them.
 * - ListPartitionReassignments: nothing is ever reassigned, so the list is empty,
 *   whatever the request names (Kafka leaves out unknown topics silently).
 * - DescribeProducers: the idempotent producers the partition keeps state for
 *   (store_partition_producers), with the first offset of a producer's open
 *   transaction on the partition (-1: none); the store keeps neither batch
 *   timestamps nor the coordinator epoch of markers, so those are -1.
 *
 * Each answer is sized from the request's counts (and, for DescribeProducers, the
 * store's producer counts) before it is built, as everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/xalloc.h"

#define LEADER_EPOCH 0 /* the one epoch of every partition */

/* ---- OffsetForLeaderEpoch ---- */

static void epoch_answer(struct store_partition *p,
                         const struct kafka_offset_for_leader_epoch_req_partition *in,
                         struct kafka_offset_for_leader_epoch_resp_epoch_end_offset *out)
{
    out->leader_epoch = -1;
    out->end_offset = -1;
    if (in->current_leader_epoch > LEADER_EPOCH) {
        out->error_code = KAFKA_UNKNOWN_LEADER_EPOCH;
        return;
    }
    if (in->current_leader_epoch != -1 && in->current_leader_epoch < LEADER_EPOCH) {
        out->error_code = KAFKA_FENCED_LEADER_EPOCH;
        return;
    }
    if (in->leader_epoch == LEADER_EPOCH) {
        out->leader_epoch = LEADER_EPOCH;
        out->end_offset = store_partition_high_watermark(p);
    } else if (in->leader_epoch < -1) {
        out->leader_epoch = in->leader_epoch;
        out->end_offset = store_partition_log_start(p);
    }
}

void handle_offset_for_leader_epoch(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_offset_for_leader_epoch_req *req = rq->body;
    uint64_t bytes = response_bytes((uint64_t)req->n_topics,
                                    sizeof(struct kafka_offset_for_leader_epoch_resp_topic_result));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += response_string_bytes(req->topics[i].topic.len) +
                 response_bytes((uint64_t)req->topics[i].n_partitions,
                                sizeof(struct kafka_offset_for_leader_epoch_resp_epoch_end_offset));
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the OffsetForLeaderEpoch response would pass the response limit");
        return;
    }
    struct kafka_offset_for_leader_epoch_resp *resp = response_new(rq);
    resp->topics =
        PENDING_NEW(pd, struct kafka_offset_for_leader_epoch_resp_topic_result, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_offset_for_leader_epoch_req_topic *in = &req->topics[i];
        struct kafka_offset_for_leader_epoch_resp_topic_result *out = &resp->topics[i];
        int16_t err = KAFKA_TOPIC_AUTHORIZATION_FAILED; /* Kafka: DESCRIBE on the topic */
        struct store_topic *t =
            request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, in->topic)
                ? broker_topic(b, in->topic, false, &err)
                : NULL;
        out->topic = kstr_from(pd_strdup(pd, in->topic));
        out->partitions = PENDING_NEW(
            pd, struct kafka_offset_for_leader_epoch_resp_epoch_end_offset, in->n_partitions);
        out->n_partitions = in->n_partitions;
        for (int32_t k = 0; k < in->n_partitions; k++) {
            struct kafka_offset_for_leader_epoch_resp_epoch_end_offset *po = &out->partitions[k];
            struct store_partition *p =
                t ? store_topic_partition(t, in->partitions[k].partition) : NULL;
            po->partition = in->partitions[k].partition;
            if (p) {
                epoch_answer(p, &in->partitions[k], po);
            } else {
                po->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : err;
                po->leader_epoch = -1;
                po->end_offset = -1;
            }
        }
        store_topic_put(t);
    }
    request_respond(rq, resp);
}

/* ---- ElectLeaders ---- */

#define ELECTION_PREFERRED 0
#define ELECTION_UNCLEAN   1

/* One partition's answer, with the messages Kafka's controller gives. */
static void elect_partition(struct pending *pd, struct store_topic *t, struct kstr topic,
                            int32_t partition, int8_t type,
                            struct kafka_elect_leaders_resp_partition *out)
{
    char why[320];
    out->partition_id = partition;
    out->error_message = KSTR_NULL;
    if (type != ELECTION_PREFERRED && type != ELECTION_UNCLEAN) {
        out->error_code = KAFKA_INVALID_REQUEST;
        snprintf(why, sizeof why, "Unknown election type %d", type);
    } else if (t && store_topic_partition(t, partition)) {
        out->error_code = KAFKA_ELECTION_NOT_NEEDED; /* the preferred replica leads */
        return;
    } else {
        out->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        int len = topic.len > 0 ? topic.len : 0;
        if (t)
            snprintf(why, sizeof why, "No such partition as %.*s-%d", len, topic.p, partition);
        else
            snprintf(why, sizeof why, "No such topic as %.*s", len, topic.p ? topic.p : "");
    }
    out->error_message = kstr_from(pd_strdup(pd, kstr_from(why)));
}

void handle_elect_leaders(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_elect_leaders_req *req = rq->body;
    int32_t n = req->n_topic_partitions > 0 ? req->n_topic_partitions : 0;
    uint64_t bytes = response_bytes((uint64_t)n, sizeof(struct kafka_elect_leaders_resp_result));
    for (int32_t i = 0; i < n; i++) {
        uint64_t k = (uint64_t)req->topic_partitions[i].n_partitions;
        int64_t len = req->topic_partitions[i].topic.len;
        bytes += response_string_bytes(len) +
                 response_bytes(k, sizeof(struct kafka_elect_leaders_resp_partition)) +
                 k * response_string_bytes((len > 249 ? 249 : len) + 40); /* messages */
    }
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the ElectLeaders response would pass the response limit");
        return;
    }
    struct kafka_elect_leaders_resp *resp = response_new(rq);
    /* an unknown type fails the whole request in Kafka: INVALID_REQUEST at the top too */
    if (req->election_type != ELECTION_PREFERRED && req->election_type != ELECTION_UNCLEAN)
        resp->error_code = KAFKA_INVALID_REQUEST;
    if (!request_allowed(rq, AUTH_OP_ALTER, AUTH_RES_CLUSTER, NULL)) { /* Kafka: nothing else */
        resp->error_code = KAFKA_CLUSTER_AUTHORIZATION_FAILED;
        n = 0;
    }
    resp->replica_election_results = PENDING_NEW(pd, struct kafka_elect_leaders_resp_result, n);
    resp->n_replica_election_results = n; /* a null list: nothing needs an election */
    for (int32_t i = 0; i < n; i++) {
        const struct kafka_elect_leaders_req_topic_partitions *in = &req->topic_partitions[i];
        struct kafka_elect_leaders_resp_result *out = &resp->replica_election_results[i];
        int16_t err;
        struct store_topic *t = broker_topic(b, in->topic, false, &err);
        out->topic = kstr_from(pd_strdup(pd, in->topic));
        out->partition_result =
            PENDING_NEW(pd, struct kafka_elect_leaders_resp_partition, in->n_partitions);
        out->n_partition_result = in->n_partitions;
        for (int32_t k = 0; k < in->n_partitions; k++)
            elect_partition(pd, t, in->topic, in->partitions[k], req->election_type,
                            &out->partition_result[k]);
        store_topic_put(t);
    }
    request_respond(rq, resp);
}

/* ---- ListPartitionReassignments ---- */

void handle_list_partition_reassignments(struct request *rq)
{
    /* nothing is reassigned on one node: the answer never depends on the request */
    struct kafka_list_partition_reassignments_resp *resp = response_new(rq);
    resp->error_message = KSTR_NULL;
    if (!request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_CLUSTER, NULL))
        resp->error_code = KAFKA_CLUSTER_AUTHORIZATION_FAILED;
    request_respond(rq, resp);
}

/* ---- DescribeProducers ---- */

/* Arena bytes of one partition's answer: its producers now. */
static uint64_t producers_bytes(struct store_topic *t, int32_t index)
{
    struct store_partition *p = t ? store_topic_partition(t, index) : NULL;
    size_t n = p ? store_partition_producers(p, NULL, 0) : 0;
    return response_bytes(n, sizeof(struct kafka_describe_producers_resp_producer_state));
}

static void producers_partition(struct pending *pd, struct store_partition *p,
                                struct kafka_describe_producers_resp_partition_response *out)
{
    size_t max = store_partition_producers(p, NULL, 0);
    struct store_producer_info *info = xmalloc(sizeof *info * (max + 1));
    size_t n = store_partition_producers(p, info, max);
    if (n > max)
        n = max; /* the ones added meanwhile are left out: the answer was sized for max */
    out->active_producers = PENDING_NEW(pd, struct kafka_describe_producers_resp_producer_state, n);
    for (size_t i = 0; i < n; i++)
        out->active_producers[out->n_active_producers++] =
            (struct kafka_describe_producers_resp_producer_state){
                .producer_id = info[i].producer_id,
                .producer_epoch = info[i].producer_epoch,
                .last_sequence = info[i].last_sequence,
                .last_timestamp = -1,
                .coordinator_epoch = -1,
                .current_txn_start_offset = info[i].txn_first_offset,
            };
    free(info);
}

static uint64_t producers_request_bytes(struct broker *b,
                                        const struct kafka_describe_producers_req *req)
{
    uint64_t bytes = response_bytes((uint64_t)req->n_topics,
                                    sizeof(struct kafka_describe_producers_resp_topic_response));
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_describe_producers_req_topic_request *in = &req->topics[i];
        int16_t err;
        struct store_topic *t = broker_topic(b, in->name, false, &err);
        bytes += response_string_bytes(in->name.len) +
                 response_bytes((uint64_t)in->n_partition_indexes,
                                sizeof(struct kafka_describe_producers_resp_partition_response));
        for (int32_t k = 0; k < in->n_partition_indexes && t; k++)
            bytes += producers_bytes(t, in->partition_indexes[k]);
        store_topic_put(t);
        if (bytes > RESPONSE_MAX_BYTES)
            break; /* refused anyway: look no further */
    }
    return bytes;
}

void handle_describe_producers(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_describe_producers_req *req = rq->body;
    if (!response_fits(rq, producers_request_bytes(b, req))) {
        request_refuse(rq, "the DescribeProducers response would pass the response limit");
        return;
    }
    struct kafka_describe_producers_resp *resp = response_new(rq);
    resp->topics =
        PENDING_NEW(pd, struct kafka_describe_producers_resp_topic_response, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_describe_producers_req_topic_request *in = &req->topics[i];
        struct kafka_describe_producers_resp_topic_response *out = &resp->topics[i];
        int16_t err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        struct store_topic *t = request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_TOPIC, in->name)
                                    ? broker_topic(b, in->name, false, &err)
                                    : NULL;
        out->name = kstr_from(pd_strdup(pd, in->name));
        out->partitions = PENDING_NEW(pd, struct kafka_describe_producers_resp_partition_response,
                                      in->n_partition_indexes);
        out->n_partitions = in->n_partition_indexes;
        for (int32_t k = 0; k < in->n_partition_indexes; k++) {
            struct kafka_describe_producers_resp_partition_response *po = &out->partitions[k];
            struct store_partition *p =
                t ? store_topic_partition(t, in->partition_indexes[k]) : NULL;
            po->partition_index = in->partition_indexes[k];
            po->error_message = KSTR_NULL;
            if (p)
                producers_partition(pd, p, po);
            else
                po->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : err;
        }
        store_topic_put(t);
    }
    request_respond(rq, resp);
}
