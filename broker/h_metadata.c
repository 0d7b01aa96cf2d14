/*
 * h_metadata.c - Metadata, and finding a topic by the name a request gives.
 *
 * brook is one broker: every partition's leader, replica and ISR is this node, and
 * the controller is this node, so a Metadata answer is the list of topics with
 * their partition counts and this broker's advertised address.
 *
 * broker_topic() is how every handler turns a name from the wire into a topic:
 * the name is checked as the store checks it (a bad one is
 * INVALID_TOPIC_EXCEPTION), and an unknown topic is created on first use when
 * auto.create.topics.enable is on and the request allows it, as Kafka does.
 *
 * The answer's size is added up from the store before anything is built: every
 * topic's partitions, or the ones a request names. Kafka collects the names of a
 * request into a set, so a topic named a million times is answered once; what
 * still would not fit in RESPONSE_MAX_BYTES is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/log.h"
#include "lib/xalloc.h"

bool broker_topic_cstr(struct kstr name, char buf[256])
{
    if (name.len <= 0 || name.len > 249)
        return false;
    memcpy(buf, name.p, (size_t)name.len);
    buf[name.len] = 0;
    return store_topic_name_valid(buf, (size_t)name.len);
}

struct store_topic *broker_topic(struct broker *b, struct kstr name, bool create, int16_t *err)
{
    char buf[256];
    if (!broker_topic_cstr(name, buf)) {
        *err = KAFKA_INVALID_TOPIC_EXCEPTION;
        return NULL;
    }
    struct store_topic *t = store_topic_get(b->store, buf);
    if (t || !create || !b->cfg->auto_create_topics) {
        *err = t ? KAFKA_NONE : KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
        return t;
    }
    int rc = store_topic_create(b->store, buf, 0, NULL, NULL);
    if (rc == 0)
        log_info("brook.broker", "created topic %s (auto.create.topics.enable)", buf);
    t = store_topic_get(b->store, buf); /* or someone else created it meanwhile */
    *err = t ? KAFKA_NONE : rc == -EEXIST ? KAFKA_INVALID_TOPIC_EXCEPTION : kafka_error_from(rc);
    return t;
}

static void describe_topic(struct broker *b, struct pending *pd, struct store_topic *t,
                           struct kafka_metadata_resp_topic *out)
{
    int32_t n = store_topic_partition_count(t);
    out->name = kstr_from(pd_strdup(pd, kstr_from(store_topic_name(t))));
    out->is_internal = store_topic_name_internal(store_topic_name(t));
    out->partitions = PENDING_NEW(pd, struct kafka_metadata_resp_partition, n);
    out->n_partitions = n;
    int32_t *node = PENDING_NEW(pd, int32_t, 1);
    *node = b->cfg->node_id;
    for (int32_t i = 0; i < n; i++) {
        struct kafka_metadata_resp_partition *p = &out->partitions[i];
        p->partition_index = i;
        p->leader_id = b->cfg->node_id;
        p->leader_epoch = 0;
        p->replica_nodes = p->isr_nodes = node;
        p->n_replica_nodes = p->n_isr_nodes = 1;
    }
}

/* Arena bytes of one topic's Metadata entry, beside the array of entries. */
static uint64_t metadata_topic_bytes(size_t name_len, int32_t partitions)
{
    return response_string_bytes((int64_t)name_len) + response_bytes(1, sizeof(int32_t)) +
           response_bytes(partitions > 0 ? (uint64_t)partitions : 0,
                          sizeof(struct kafka_metadata_resp_partition));
}

/* Arena bytes of the answer for the topic called name: the partitions it has, or
 * would have once auto-created. */
static uint64_t metadata_name_bytes(struct broker *b, struct kstr name, bool create)
{
    char buf[256];
    if (!broker_topic_cstr(name, buf))
        return metadata_topic_bytes(name.len > 0 ? (size_t)name.len : 0, 0);
    struct store_topic *t = store_topic_get(b->store, buf);
    int32_t n = t                                      ? store_topic_partition_count(t)
                : create && b->cfg->auto_create_topics ? b->cfg->store.num_partitions
                                                       : 0;
    store_topic_put(t);
    return metadata_topic_bytes((size_t)name.len, n);
}

static int metadata_name_order(const void *ctx, int32_t a, int32_t b)
{
    const struct kafka_metadata_req *req = ctx;
    return kstr_compare(req->topics[a].name, req->topics[b].name);
}

/*
 * The distinct names of a Metadata request, in request order, into *out (an
 * array the caller frees) and their answer's size into *bytes. Kafka collects the
 * names into a set, so a topic named a million times is answered once.
 */
static void metadata_distinct(struct broker *b, const struct kafka_metadata_req *req, bool create,
                              int32_t **out, int32_t *n_out, uint64_t *bytes)
{
    int32_t n = req->n_topics > 0 ? req->n_topics : 0, k = 0;
    uint8_t *mark = xcalloc((size_t)n + 1, 1);
    int32_t *idx = xmalloc(sizeof *idx * ((size_t)n + 1));
    request_duplicates_mark(n, metadata_name_order, req, mark);
    for (int32_t i = 0; i < n; i++) {
        if (mark[i] & REQUEST_DUP_LATER)
            continue;
        *bytes += metadata_name_bytes(b, req->topics[i].name, create);
        idx[k++] = i;
    }
    free(mark);
    *bytes += response_bytes((uint64_t)k, sizeof(struct kafka_metadata_resp_topic));
    *out = idx;
    *n_out = k;
}

/* Every topic (a null list): names from the store, the answer's size in *bytes. */
static char **metadata_all(struct broker *b, int32_t *n_out, uint64_t *bytes)
{
    char **names = store_topic_names(b->store);
    if (!names)
        xalloc_fail("topic names", 0);
    int32_t n = 0;
    for (; names[n]; n++)
        *bytes += metadata_name_bytes(b, kstr_from(names[n]), false);
    *bytes += response_bytes((uint64_t)n, sizeof(struct kafka_metadata_resp_topic));
    *n_out = n;
    return names;
}

void handle_metadata(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_metadata_req *req = rq->body;
    /* null topics, or an empty list in v0, means every topic */
    bool all = req->n_topics < 0 || (rq->version == 0 && req->n_topics == 0);
    bool create = rq->version < 4 || req->allow_auto_topic_creation;
    uint64_t bytes = 0;
    int32_t n = 0, *distinct = NULL;
    char **names = all ? metadata_all(b, &n, &bytes) : NULL;
    if (!all)
        metadata_distinct(b, req, create, &distinct, &n, &bytes);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the Metadata response would pass the response limit");
        goto cleanup;
    }
    struct kafka_metadata_resp *resp = response_new(rq);
    const char *host;
    int port;
    broker_advertised(b, &host, &port);
    resp->brokers = PENDING_NEW(pd, struct kafka_metadata_resp_broker, 1);
    resp->n_brokers = 1;
    resp->brokers[0] =
        (struct kafka_metadata_resp_broker){b->cfg->node_id, kstr_from(host), port, KSTR_NULL};
    resp->cluster_id = kstr_from(b->cfg->cluster_id);
    resp->controller_id = b->cfg->node_id;
    resp->topics = PENDING_NEW(pd, struct kafka_metadata_resp_topic, n);
    for (int32_t i = 0; i < n && all; i++) {
        struct store_topic *t = store_topic_get(b->store, names[i]);
        if (t) /* deleted meanwhile otherwise */
            describe_topic(b, pd, t, &resp->topics[resp->n_topics++]);
        store_topic_put(t);
    }
    for (int32_t i = 0; i < n && !all; i++) {
        struct kafka_metadata_resp_topic *out = &resp->topics[resp->n_topics++];
        struct kstr name = req->topics[distinct[i]].name;
        struct store_topic *t = broker_topic(b, name, create, &out->error_code);
        if (t)
            describe_topic(b, pd, t, out);
        else
            out->name = kstr_from(pd_strdup(pd, name));
        store_topic_put(t);
    }
    request_respond(rq, resp);
cleanup:
    free(names);
    free(distinct);
}
