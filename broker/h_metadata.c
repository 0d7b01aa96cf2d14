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
 *
 * Topic ids (v10+): every answer carries the topic's id. From v12 a request may
 * name topics by id instead (name null): when any id is set Kafka answers the ids
 * alone - a known one as its topic, an unknown one with UNKNOWN_TOPIC_ID and a
 * null name - and never auto-creates. v10 and v11 carry the id field but may not
 * use it: a set id or a null name there makes Kafka answer INVALID_REQUEST for
 * every topic, and so does brook.
 *
 * Authorized operations (v8+): brook has no ACLs, and Kafka without an authorizer
 * answers every operation a resource supports, so that is the bit field brook
 * gives when the client asks; unasked, the field keeps Kafka's "not computed"
 * value, INT32_MIN.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/xalloc.h"

bool broker_topic_cstr(struct kstr name, char buf[256])
{
    if (name.len <= 0 || name.len > 249)
        return false;
    memcpy(buf, name.p, (size_t)name.len);
    buf[name.len] = 0;
    return store_topic_name_valid(buf, (size_t)name.len);
}

int broker_state_topic_open(struct broker *b, const char *name, const char *module,
                            struct store_topic **out)
{
    struct store_topic *t = store_topic_get(b->store, name);
    if (!t) {
        struct props *cfg = props_new();
        if (!cfg)
            return -ENOMEM;
        props_set(cfg, "cleanup.policy", "compact");
        props_set(cfg, "segment.bytes", "104857600");
        int rc = store_topic_create(b->store, name, 1, cfg, NULL);
        props_free(cfg);
        if (rc)
            return rc;
        if (!(t = store_topic_get(b->store, name)))
            return -ENOENT;
    }
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    if (tc.cleanup_policy != CLEANUP_COMPACT) {
        /* retention would delete the state; never adopt such a topic */
        log_error(module,
                  "%s is not compacted (cleanup.policy must be compact): refusing to start "
                  "(docs/operations.md says how to repair it)",
                  name);
        store_topic_put(t);
        return STORE_EINVALID_CONFIG;
    }
    *out = t;
    return 0;
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

/* Kafka's AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7,
 * DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
 * IDEMPOTENT_WRITE 12; a resource's field has bit (1 << code) per operation. */
const int32_t broker_topic_operations =
    1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 10 | 1 << 11;
const int32_t broker_cluster_operations =
    1 << 5 | 1 << 7 | 1 << 8 | 1 << 9 | 1 << 10 | 1 << 11 | 1 << 12;

/* The operations of mask rq's peer may do on the resource, as Kafka's
 * *_authorized_operations fields carry them. */
int32_t request_allowed_operations(struct request *rq, int32_t mask, enum auth_resource type,
                                   const char *name)
{
    int32_t out = 0;
    for (int op = AUTH_OP_READ; op <= AUTH_OP_IDEMPOTENT_WRITE; op++)
        if ((mask & 1 << op) && request_allowed(rq, (enum auth_op)op, type, name))
            out |= 1 << op;
    return out;
}

/* A topic named in a Metadata request, when DESCRIBE on it is allowed: known, or
 * auto-created when that is on, asked for and CREATE (on the cluster or the
 * topic) allowed; an unknown topic brook would have created but for CREATE gets
 * TOPIC_AUTHORIZATION_FAILED, as in Kafka. */
static struct store_topic *metadata_topic(struct request *rq, struct kstr name, bool create,
                                          int16_t *err)
{
    struct broker *b = rq->c->b;
    if (!request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, name)) {
        *err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        return NULL;
    }
    struct store_topic *t = broker_topic(b, name, false, err);
    if (t || !create || !b->cfg->auto_create_topics || *err != KAFKA_UNKNOWN_TOPIC_OR_PARTITION)
        return t;
    if (!request_allowed(rq, AUTH_OP_CREATE, AUTH_RES_CLUSTER, NULL) &&
        !request_allowed_kstr(rq, AUTH_OP_CREATE, AUTH_RES_TOPIC, name)) {
        *err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        return NULL;
    }
    return broker_topic(b, name, true, err);
}

static void describe_topic(struct broker *b, struct pending *pd, struct store_topic *t,
                           struct kafka_metadata_resp_topic *out)
{
    int32_t n = store_topic_partition_count(t);
    out->name = kstr_from(pd_strdup(pd, kstr_from(store_topic_name(t))));
    memcpy(out->topic_id, store_topic_id(t), sizeof out->topic_id);
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

static int metadata_id_order(const void *ctx, int32_t a, int32_t b)
{
    const struct kafka_metadata_req *req = ctx;
    return memcmp(req->topics[a].topic_id, req->topics[b].topic_id, 16);
}

static bool metadata_id_set(const uint8_t id[16])
{
    static const uint8_t zero[16];
    return memcmp(id, zero, sizeof zero) != 0;
}

/* The distinct ids of a v12 request by id, as metadata_distinct does for names. */
static void metadata_distinct_ids(struct broker *b, const struct kafka_metadata_req *req,
                                  int32_t **out, int32_t *n_out, uint64_t *bytes)
{
    int32_t n = req->n_topics, k = 0;
    uint8_t *mark = xcalloc((size_t)n + 1, 1);
    int32_t *idx = xmalloc(sizeof *idx * ((size_t)n + 1));
    request_duplicates_mark(n, metadata_id_order, req, mark);
    for (int32_t i = 0; i < n; i++) {
        if ((mark[i] & REQUEST_DUP_LATER) || !metadata_id_set(req->topics[i].topic_id))
            continue;
        struct store_topic *t = store_topic_get_id(b->store, req->topics[i].topic_id);
        *bytes +=
            t ? metadata_topic_bytes(strlen(store_topic_name(t)), store_topic_partition_count(t))
              : metadata_topic_bytes(0, 0);
        store_topic_put(t);
        idx[k++] = i;
    }
    free(mark);
    *bytes += response_bytes((uint64_t)k, sizeof(struct kafka_metadata_resp_topic));
    *out = idx;
    *n_out = k;
}

/* How a request names its topics. */
enum metadata_mode { METADATA_ALL, METADATA_NAMES, METADATA_IDS, METADATA_INVALID };

static enum metadata_mode metadata_mode_of(const struct request *rq)
{
    const struct kafka_metadata_req *req = rq->body;
    /* null topics, or an empty list in v0, means every topic */
    if (req->n_topics < 0 || (rq->version == 0 && req->n_topics == 0))
        return METADATA_ALL;
    bool ids = false, null_names = false;
    for (int32_t i = 0; i < req->n_topics; i++) {
        ids |= metadata_id_set(req->topics[i].topic_id);
        null_names |= kstr_is_null(req->topics[i].name);
    }
    if (rq->version < 12 && (ids || null_names))
        return METADATA_INVALID;
    return ids ? METADATA_IDS : METADATA_NAMES;
}

/* Kafka's answer to a v10-11 request that uses ids: INVALID_REQUEST per topic. */
static void metadata_invalid(struct request *rq)
{
    struct kafka_metadata_req *req = rq->body;
    uint64_t bytes =
        response_bytes((uint64_t)req->n_topics, sizeof(struct kafka_metadata_resp_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += response_string_bytes(req->topics[i].name.len);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the Metadata response would pass the response limit");
        return;
    }
    struct kafka_metadata_resp *resp = response_new(rq);
    resp->topics = PENDING_NEW(rq->pd, struct kafka_metadata_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        struct kafka_metadata_resp_topic *out = &resp->topics[i];
        out->error_code = KAFKA_INVALID_REQUEST;
        out->topic_authorized_operations = INT32_MIN;
        out->name = kstr_from(pd_strdup(rq->pd, req->topics[i].name));
        memcpy(out->topic_id, req->topics[i].topic_id, sizeof out->topic_id);
    }
    request_respond(rq, resp);
}

/* The answer's fixed part: this broker, the cluster and the controller. */
static struct kafka_metadata_resp *metadata_resp_new(struct request *rq, int32_t n)
{
    struct broker *b = rq->c->b;
    struct kafka_metadata_req *req = rq->body;
    struct kafka_metadata_resp *resp = response_new(rq);
    const char *host;
    int port;
    conn_advertised(rq->c, &host, &port);
    resp->brokers = PENDING_NEW(rq->pd, struct kafka_metadata_resp_broker, 1);
    resp->n_brokers = 1;
    resp->brokers[0] =
        (struct kafka_metadata_resp_broker){b->cfg->node_id, kstr_from(host), port, KSTR_NULL};
    resp->cluster_id = kstr_from(b->cfg->cluster_id);
    resp->controller_id = b->cfg->node_id;
    if (req->include_cluster_authorized_operations)
        resp->cluster_authorized_operations =
            request_allowed_operations(rq, broker_cluster_operations, AUTH_RES_CLUSTER, NULL);
    resp->topics = PENDING_NEW(rq->pd, struct kafka_metadata_resp_topic, n);
    return resp;
}

/* The topic of distinct entry i of a request by id, or UNKNOWN_TOPIC_ID, or
 * TOPIC_AUTHORIZATION_FAILED (no name) without DESCRIBE on it. */
static void metadata_by_id(struct request *rq, const uint8_t id[16],
                           struct kafka_metadata_resp_topic *out)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct store_topic *t = store_topic_get_id(b->store, id);
    if (t && !request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, store_topic_name(t))) {
        out->error_code = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        out->name = KSTR_NULL;
        memcpy(out->topic_id, id, sizeof out->topic_id);
    } else if (t) {
        describe_topic(b, pd, t, out);
    } else {
        out->error_code = KAFKA_UNKNOWN_TOPIC_ID;
        out->name = KSTR_NULL;
        memcpy(out->topic_id, id, sizeof out->topic_id);
    }
    store_topic_put(t);
}

void handle_metadata(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_metadata_req *req = rq->body;
    enum metadata_mode mode = metadata_mode_of(rq);
    if (mode == METADATA_INVALID) {
        metadata_invalid(rq);
        return;
    }
    bool create = rq->version < 4 || req->allow_auto_topic_creation;
    uint64_t bytes = 0;
    int32_t n = 0, *distinct = NULL;
    char **names = mode == METADATA_ALL ? metadata_all(b, &n, &bytes) : NULL;
    if (mode == METADATA_NAMES)
        metadata_distinct(b, req, create, &distinct, &n, &bytes);
    else if (mode == METADATA_IDS)
        metadata_distinct_ids(b, req, &distinct, &n, &bytes);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the Metadata response would pass the response limit");
        goto cleanup;
    }
    struct kafka_metadata_resp *resp = metadata_resp_new(rq, n);
    for (int32_t i = 0; i < n; i++) {
        struct kafka_metadata_resp_topic *out = &resp->topics[resp->n_topics];
        if (mode == METADATA_ALL) {
            /* the whole list holds only what the peer may DESCRIBE (Kafka) */
            struct store_topic *t = request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, names[i])
                                        ? store_topic_get(b->store, names[i])
                                        : NULL;
            if (t) /* deleted meanwhile otherwise */
                describe_topic(b, pd, t, &resp->topics[resp->n_topics++]);
            store_topic_put(t);
            continue;
        }
        resp->n_topics++;
        if (mode == METADATA_IDS) {
            metadata_by_id(rq, req->topics[distinct[i]].topic_id, out);
            continue;
        }
        struct kstr name = req->topics[distinct[i]].name;
        struct store_topic *t = metadata_topic(rq, name, create, &out->error_code);
        if (t)
            describe_topic(b, pd, t, out);
        else
            out->name = kstr_from(pd_strdup(pd, name));
        store_topic_put(t);
    }
    for (int32_t i = 0; i < resp->n_topics; i++) { /* unknown ids get none, as in Kafka */
        struct kafka_metadata_resp_topic *t = &resp->topics[i];
        t->topic_authorized_operations = INT32_MIN;
        if (req->include_topic_authorized_operations && t->error_code != KAFKA_UNKNOWN_TOPIC_ID &&
            !kstr_is_null(t->name))
            t->topic_authorized_operations = request_allowed_operations(
                rq, broker_topic_operations, AUTH_RES_TOPIC, pd_strdup(pd, t->name));
    }
    request_respond(rq, resp);
cleanup:
    free(names);
    free(distinct);
}
