/*
 * h_describe_topics.c - DescribeTopicPartitions (KIP-966), Metadata's paged
 * successor that admin clients use to describe topics.
 *
 * The request names topics (an empty list: every topic), a cursor (the topic and
 * partition to resume at) and response_partition_limit. As Kafka does, brook
 * answers the distinct names at or after the cursor's topic in name order, the
 * cursor's topic from its partition, at most max(min(limit, 2000), 1) partitions
 * in all (2000 is Kafka's max.request.partition.size.limit default); when
 * partitions remain, next_cursor names where the next page starts. Named topics
 * that do not exist are answered UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION
 * for a name Kafka refuses) and take none of the limit; with an empty list they
 * cannot occur. A cursor whose topic is not among the names a request gives, or
 * whose partition is negative, makes Kafka answer INVALID_REQUEST for every topic
 * named; so does brook.
 *
 * Every topic answered carries the authorized operations Kafka gives without an
 * authorizer (every topic operation), as Kafka computes them for every topic here.
 * The answer holds at most 2000 partitions, but a request may name millions of
 * unknown topics: their entries are counted before anything is built.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/xalloc.h"

#define PARTITION_LIMIT_MAX 2000 /* Kafka's max.request.partition.size.limit default */

/* The names to answer, sorted and distinct, at or after the cursor's topic. */
struct dtp_plan {
    char **all;        /* every topic (an empty list): from the store (free) */
    int32_t *idx;      /* named topics: request entries in name order (free) */
    int32_t n;         /* names in the plan */
    bool cursor_named; /* the cursor's topic is among the names */
};

static int dtp_order(const void *pa, const void *pb, void *arg)
{
    const struct kafka_describe_topic_partitions_req *req = arg;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    int c = kstr_compare(req->topics[a].name, req->topics[b].name);
    return c ? c : (a > b) - (a < b);
}

static struct kstr dtp_cursor_topic(const struct kafka_describe_topic_partitions_req *req)
{
    return req->has_cursor ? req->cursor.topic_name : KSTR("");
}

static void dtp_plan_make(struct broker *b, const struct kafka_describe_topic_partitions_req *req,
                          struct dtp_plan *pl)
{
    struct kstr from = dtp_cursor_topic(req);
    memset(pl, 0, sizeof *pl);
    if (req->n_topics == 0) {
        if (!(pl->all = store_topic_names(b->store)))
            xalloc_fail("topic names", 0);
        int32_t k = 0;
        for (int32_t i = 0; pl->all[i]; i++) /* sorted already */
            if (kstr_compare(kstr_from(pl->all[i]), from) >= 0)
                pl->all[k++] = pl->all[i];
        pl->all[k] = NULL;
        pl->n = k;
        return;
    }
    int32_t *idx = xmalloc(sizeof *idx * ((size_t)req->n_topics + 1));
    for (int32_t i = 0; i < req->n_topics; i++)
        idx[i] = i;
    qsort_r(idx, (size_t)req->n_topics, sizeof *idx, dtp_order, (void *)req);
    for (int32_t i = 0; i < req->n_topics; i++) {
        struct kstr name = req->topics[idx[i]].name;
        if (pl->n && kstr_equal(req->topics[idx[pl->n - 1]].name, name))
            continue; /* named again */
        if (kstr_compare(name, from) < 0)
            continue;
        pl->cursor_named |= kstr_equal(name, from);
        idx[pl->n++] = idx[i];
    }
    pl->idx = idx;
}

static struct kstr dtp_plan_name(const struct kafka_describe_topic_partitions_req *req,
                                 const struct dtp_plan *pl, int32_t i)
{
    return pl->all ? kstr_from(pl->all[i]) : req->topics[pl->idx[i]].name;
}

/* Kafka's error answer: every named topic with INVALID_REQUEST. */
static void dtp_invalid(struct request *rq)
{
    struct kafka_describe_topic_partitions_req *req = rq->body;
    uint64_t bytes = response_bytes((uint64_t)req->n_topics,
                                    sizeof(struct kafka_describe_topic_partitions_resp_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += response_string_bytes(req->topics[i].name.len);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DescribeTopicPartitions response would pass the response limit");
        return;
    }
    struct kafka_describe_topic_partitions_resp *resp = response_new(rq);
    resp->topics =
        PENDING_NEW(rq->pd, struct kafka_describe_topic_partitions_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        resp->topics[i].error_code = KAFKA_INVALID_REQUEST;
        resp->topics[i].topic_authorized_operations = INT32_MIN;
        resp->topics[i].name = kstr_from(pd_strdup(rq->pd, req->topics[i].name));
    }
    request_respond(rq, resp);
}

/* Partitions [from, to) of t into out; node is this broker's id, shared. */
static void dtp_topic(struct pending *pd, struct store_topic *t, int32_t from, int32_t to,
                      int32_t *node, struct kafka_describe_topic_partitions_resp_topic *out)
{
    memcpy(out->topic_id, store_topic_id(t), sizeof out->topic_id);
    out->is_internal = store_topic_name_internal(store_topic_name(t));
    out->partitions = PENDING_NEW(pd, struct kafka_describe_topic_partitions_resp_partition,
                                  to > from ? to - from : 0);
    for (int32_t i = from; i < to; i++)
        out->partitions[out->n_partitions++] =
            (struct kafka_describe_topic_partitions_resp_partition){
                .partition_index = i,
                .leader_id = *node,
                .leader_epoch = 0,
                .replica_nodes = node,
                .n_replica_nodes = 1,
                .isr_nodes = node,
                .n_isr_nodes = 1,
                .n_eligible_leader_replicas = 0, /* Kafka: empty lists, not null */
                .n_last_known_elr = 0,
            };
}

/* Answer the plan's topics within limit partitions; false when it does not fit. */
static bool dtp_fill(struct request *rq, const struct dtp_plan *pl, int32_t limit)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_describe_topic_partitions_req *req = rq->body;
    /* every topic of a full list takes at least one partition of the limit (but the
     * cursor's, which may have none left): at most limit + 1 of them are answered */
    int32_t cap = pl->all && pl->n > limit + 1 ? limit + 1 : pl->n;
    uint64_t bytes =
        response_bytes((uint64_t)cap, sizeof(struct kafka_describe_topic_partitions_resp_topic)) +
        response_bytes((uint64_t)limit,
                       sizeof(struct kafka_describe_topic_partitions_resp_partition)) +
        response_bytes(1, sizeof(int32_t)) + response_string_bytes(249); /* node, cursor */
    for (int32_t i = 0; i < cap; i++)
        bytes += response_string_bytes(dtp_plan_name(req, pl, i).len);
    if (!response_fits(rq, bytes))
        return false;
    struct kafka_describe_topic_partitions_resp *resp = response_new(rq);
    resp->topics = PENDING_NEW(pd, struct kafka_describe_topic_partitions_resp_topic, cap);
    int32_t *node = PENDING_NEW(pd, int32_t, 1);
    *node = b->cfg->node_id;
    int32_t remaining = limit;
    for (int32_t i = 0; i < pl->n; i++) {
        struct kstr name = dtp_plan_name(req, pl, i);
        if (remaining == 0) { /* the next page starts with this topic */
            resp->has_next_cursor = true;
            resp->next_cursor.topic_name = kstr_from(pd_strdup(pd, name));
            break;
        }
        if (resp->n_topics == cap)
            break; /* only topics without partitions could get here */
        struct kafka_describe_topic_partitions_resp_topic *out = &resp->topics[resp->n_topics];
        bool may = request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, name);
        out->error_code = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        struct store_topic *t = may ? broker_topic(b, name, false, &out->error_code) : NULL;
        if (!t && pl->all)
            continue; /* deleted meanwhile, or hidden: Kafka leaves it out of a full list */
        resp->n_topics++;
        out->name = kstr_from(pd_strdup(pd, name));
        out->topic_authorized_operations =
            t ? request_allowed_operations(rq, broker_topic_operations, AUTH_RES_TOPIC,
                                           store_topic_name(t))
              : INT32_MIN;
        if (!t)
            continue;
        int32_t count = store_topic_partition_count(t);
        int32_t from = kstr_equal(name, dtp_cursor_topic(req)) ? req->cursor.partition_index : 0;
        int32_t to = from < count ? (count - from > remaining ? from + remaining : count) : from;
        dtp_topic(pd, t, from, to, node, out);
        store_topic_put(t);
        remaining -= to - from;
        if (to < count) {
            resp->has_next_cursor = true;
            resp->next_cursor.topic_name = out->name;
            resp->next_cursor.partition_index = to;
            break;
        }
    }
    request_respond(rq, resp);
    return true;
}

void handle_describe_topic_partitions(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_describe_topic_partitions_req *req = rq->body;
    struct dtp_plan pl;
    dtp_plan_make(b, req, &pl);
    int32_t limit = req->response_partition_limit;
    limit = limit < 1 ? 1 : limit > PARTITION_LIMIT_MAX ? PARTITION_LIMIT_MAX : limit;
    bool bad_cursor = req->has_cursor &&
                      (req->cursor.partition_index < 0 || (req->n_topics > 0 && !pl.cursor_named));
    if (bad_cursor)
        dtp_invalid(rq);
    else if (!dtp_fill(rq, &pl, limit))
        request_refuse(rq, "the DescribeTopicPartitions response would pass the response limit");
    free(pl.all);
    free(pl.idx);
}
