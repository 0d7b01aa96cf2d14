/*
 * h_admin.c - ApiVersions, Metadata, topic administration (CreateTopics,
 * DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs), InitProducerId,
 * and the SASL requests brook declines.
 *
 * CreateTopics, DeleteTopics and CreatePartitions can take a long time (a few
 * fsyncs per partition): they are checked and copied on the loop thread and run on
 * the admin thread (admin.c), which fills in their responses.
 *
 * brook is one broker: every partition's leader, replica and ISR is this node, the
 * controller is this node, and replication factors other than 1 are refused.
 *
 * Every handler adds up its response's size from the request's counts before it
 * touches the store (see RESPONSE_MAX_BYTES). Metadata answers each topic once
 * however often it is named, and DescribeConfigs answers a resource named twice
 * with INVALID_REQUEST, as Kafka does; what still would not fit is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/props.h"

#define INTERNAL_PREFIX  "__"
#define NEW(pd, type, n) PENDING_NEW(pd, type, n)

/* Copy a topic name into buf as a C string; false if it cannot be one. */
static bool topic_cstr(struct kstr name, char buf[256])
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
    if (!topic_cstr(name, buf)) {
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

/* ---- duplicates in a request ---- */

#define DUP_LATER 1 /* an entry equal to an earlier one */
#define DUP_ANY   2 /* an entry equal to another, earlier or later */

struct dup_sort {
    int (*cmp)(const void *ctx, int32_t a, int32_t b); /* order of entries a and b */
    const void *ctx;
};

static int dup_order(const void *pa, const void *pb, void *arg)
{
    const struct dup_sort *ds = arg;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    int c = ds->cmp(ds->ctx, a, b);
    return c ? c : (a > b) - (a < b); /* equal entries in request order */
}

/*
 * Mark in mark[] (n bytes, zeroed by the caller) the entries of a request that
 * equal others, by cmp. Sorting indexes costs 4 bytes per entry and no allocation
 * per key, so a request of millions of names is checked in little memory.
 */
static void duplicates_mark(int32_t n, int (*cmp)(const void *, int32_t, int32_t), const void *ctx,
                            uint8_t *mark)
{
    int32_t *idx = malloc(sizeof *idx * (size_t)(n > 0 ? n : 1));
    if (!idx)
        abort();
    for (int32_t i = 0; i < n; i++)
        idx[i] = i;
    struct dup_sort ds = {cmp, ctx};
    qsort_r(idx, (size_t)n, sizeof *idx, dup_order, &ds);
    for (int32_t i = 1; i < n; i++) {
        if (cmp(ctx, idx[i - 1], idx[i]))
            continue;
        mark[idx[i]] |= DUP_LATER | DUP_ANY;
        mark[idx[i - 1]] |= DUP_ANY;
    }
    free(idx);
}

static int kstr_order(struct kstr a, struct kstr b)
{
    int32_t la = a.len > 0 ? a.len : 0, lb = b.len > 0 ? b.len : 0;
    int c = memcmp(a.p ? a.p : "", b.p ? b.p : "", (size_t)(la < lb ? la : lb));
    return c ? c : (la > lb) - (la < lb);
}

/* ---- ApiVersions ---- */

void handle_api_versions(struct request *rq)
{
    struct pending *pd = rq->pd;
    struct kafka_api_versions_resp *resp = response_new(rq);
    resp->api_keys = NEW(pd, struct kafka_api_versions_resp_api_key, n_advertised_apis);
    resp->n_api_keys = n_advertised_apis;
    for (int i = 0; i < n_advertised_apis; i++)
        resp->api_keys[i] = (struct kafka_api_versions_resp_api_key){
            advertised_apis[i].key, advertised_apis[i].min, advertised_apis[i].max};
    /* a version brook cannot decode is answered in v0 with the versions it has */
    if (rq->hdr.api_version > kafka_api_find(KAFKA_API_API_VERSIONS)->max_version)
        resp->error_code = KAFKA_UNSUPPORTED_VERSION;
    request_respond(rq, resp);
}

/* ---- Metadata ---- */

static void describe_topic(struct broker *b, struct pending *pd, struct store_topic *t,
                           struct kafka_metadata_resp_topic *out)
{
    int32_t n = store_topic_partition_count(t);
    out->name = kstr_from(pd_strdup(pd, kstr_from(store_topic_name(t))));
    out->is_internal = !strncmp(store_topic_name(t), INTERNAL_PREFIX, 2);
    out->partitions = NEW(pd, struct kafka_metadata_resp_partition, n);
    out->n_partitions = n;
    int32_t *node = NEW(pd, int32_t, 1);
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
    if (!topic_cstr(name, buf))
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
    return kstr_order(req->topics[a].name, req->topics[b].name);
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
    uint8_t *mark = calloc((size_t)n + 1, 1);
    int32_t *idx = malloc(sizeof *idx * ((size_t)n + 1));
    if (!mark || !idx)
        abort();
    duplicates_mark(n, metadata_name_order, req, mark);
    for (int32_t i = 0; i < n; i++) {
        if (mark[i] & DUP_LATER)
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
        abort();
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
    resp->brokers = NEW(pd, struct kafka_metadata_resp_broker, 1);
    resp->n_brokers = 1;
    resp->brokers[0] =
        (struct kafka_metadata_resp_broker){b->cfg->node_id, kstr_from(host), port, KSTR_NULL};
    resp->cluster_id = kstr_from(b->cfg->cluster_id);
    resp->controller_id = b->cfg->node_id;
    resp->topics = NEW(pd, struct kafka_metadata_resp_topic, n);
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

/* ---- CreateTopics, DeleteTopics, CreatePartitions: on the admin thread ---- */

/* One topic of a CreateTopics request, checked on the loop thread, created on the
 * admin thread. Everything lives in the pending's arena but cfg (freed there). */
struct create_item {
    char *name;        /* NULL when the name is invalid (out->error_code says so) */
    int32_t parts;     /* partitions to create */
    struct props *cfg; /* the topic's config overrides */
    struct kafka_create_topics_resp_topic *out;
};

struct create_job {
    struct create_item *items;
    int32_t n;
    bool validate_only;
};

/* Whether name is a topic config brook knows. Checked before the configs are
 * collected, so that a request cannot grow a topic's overrides beyond them. */
static bool topic_config_known(struct kstr name)
{
    for (int i = 0; topic_config_keys[i]; i++)
        if (kstr_eq(name, topic_config_keys[i]))
            return true;
    return false;
}

/* Arena bytes of one CreateTopics topic: its answer (name, a message of at most
 * 320 bytes) and the copy the admin thread works from. */
static uint64_t create_item_bytes(struct kstr name)
{
    return response_string_bytes(name.len) * 2 + response_string_bytes(320);
}

/* Loop thread: what can be refused without the store, and a copy of the rest. */
static void create_check(struct broker *b, struct pending *pd,
                         const struct kafka_create_topics_req_topic *in, struct create_item *it)
{
    char name[256];
    struct kafka_create_topics_resp_topic *out = it->out;
    out->num_partitions = -1;
    out->replication_factor = -1;
    out->n_configs = -1;
    if (!topic_cstr(in->name, name)) {
        out->error_code = KAFKA_INVALID_TOPIC_EXCEPTION;
        out->error_message = kstr_from(store_strerror(STORE_EINVALID_TOPIC));
        return;
    }
    if (in->replication_factor != -1 && in->replication_factor != 1) {
        out->error_code = KAFKA_INVALID_REPLICATION_FACTOR;
        out->error_message = KSTR("replication factor must be 1 on a single broker");
        return;
    }
    if (in->n_assignments <= 0 && in->num_partitions != -1 && in->num_partitions <= 0) {
        out->error_code = KAFKA_INVALID_PARTITIONS;
        out->error_message = KSTR("number of partitions must be at least 1");
        return;
    }
    it->parts = in->n_assignments > 0    ? in->n_assignments
                : in->num_partitions > 0 ? in->num_partitions
                                         : b->cfg->store.num_partitions;
    for (int32_t i = 0; i < in->n_configs; i++) {
        if (!topic_config_known(in->configs[i].name)) {
            char why[320];
            snprintf(why, sizeof why, "invalid config %.*s",
                     in->configs[i].name.len > 0 ? (int)in->configs[i].name.len : 0,
                     in->configs[i].name.p ? in->configs[i].name.p : "");
            out->error_code = KAFKA_INVALID_CONFIG;
            out->error_message = kstr_from(pd_strdup(pd, kstr_from(why)));
            return;
        }
    }
    if (!(it->cfg = props_new()))
        abort();
    for (int32_t i = 0; i < in->n_configs; i++) {
        char k[256], v[1024];
        snprintf(k, sizeof k, "%.*s", in->configs[i].name.len > 0 ? in->configs[i].name.len : 0,
                 in->configs[i].name.p ? in->configs[i].name.p : "");
        snprintf(v, sizeof v, "%.*s", in->configs[i].value.len > 0 ? in->configs[i].value.len : 0,
                 in->configs[i].value.p ? in->configs[i].value.p : "");
        if (props_set(it->cfg, k, v))
            abort();
    }
    it->name = pd_strdup(pd, kstr_from(name));
}

/* Admin thread: create (or with validate_only, check) one topic. */
static void create_run(struct broker *b, struct pending *pd, struct create_item *it,
                       bool validate_only)
{
    struct kafka_create_topics_resp_topic *out = it->out;
    const char *bad = NULL;
    int rc;
    if (validate_only) {
        struct topic_config tc = b->cfg->store.topic;
        struct store_topic *t = store_topic_get(b->store, it->name);
        rc = t ? -EEXIST : topic_config_apply(&tc, it->cfg, &bad);
        store_topic_put(t);
    } else {
        rc = store_topic_create(b->store, it->name, it->parts, it->cfg, &bad);
        if (!rc)
            log_info("brook.broker", "created topic %s with %d partitions", it->name, it->parts);
    }
    out->error_code = kafka_error_from(rc);
    if (rc == STORE_EINVALID_CONFIG && bad) {
        char why[320];
        snprintf(why, sizeof why, "invalid config %s", bad); /* bad points into cfg */
        out->error_message = kstr_from(pd_strdup(pd, kstr_from(why)));
    } else if (rc == -EEXIST) {
        struct store_topic *t = store_topic_get(b->store, it->name);
        out->error_message =
            t ? KSTR("topic already exists") : KSTR("name collides with a partition directory");
        out->error_code = t ? KAFKA_TOPIC_ALREADY_EXISTS : KAFKA_INVALID_TOPIC_EXCEPTION;
        store_topic_put(t);
    } else if (rc) {
        out->error_message = kstr_from(store_strerror(rc));
    }
    if (!out->error_code) {
        out->num_partitions = it->parts;
        out->replication_factor = 1;
    }
}

static void create_topics_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct create_job *job = ctx;
    for (int32_t i = 0; i < job->n; i++) {
        struct create_item *it = &job->items[i];
        if (it->name)
            create_run(b, pd, it, job->validate_only);
        props_free(it->cfg);
    }
}

void handle_create_topics(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_create_topics_req *req = rq->body;
    uint64_t bytes =
        response_bytes((uint64_t)req->n_topics,
                       sizeof(struct kafka_create_topics_resp_topic) + sizeof(struct create_item));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += create_item_bytes(req->topics[i].name);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the CreateTopics response would pass the response limit");
        return;
    }
    struct kafka_create_topics_resp *resp = response_new(rq);
    resp->topics = NEW(pd, struct kafka_create_topics_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    struct create_job *job = NEW(pd, struct create_job, 1);
    job->items = NEW(pd, struct create_item, req->n_topics);
    job->n = req->n_topics;
    job->validate_only = req->validate_only;
    for (int32_t i = 0; i < req->n_topics; i++) {
        struct kafka_create_topics_resp_topic *out = &resp->topics[i];
        out->name = kstr_from(pd_strdup(pd, req->topics[i].name));
        job->items[i].out = out;
        create_check(b, pd, &req->topics[i], &job->items[i]);
    }
    pd->resp = resp;
    admin_submit(rq, create_topics_run, job);
}

struct delete_job {
    char **names; /* NULL where the name was refused already */
    struct kafka_delete_topics_resp_result *out;
    int32_t n;
};

static void delete_topics_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct delete_job *job = ctx;
    for (int32_t i = 0; i < job->n; i++) {
        if (!job->names[i])
            continue;
        int rc = store_topic_delete(b->store, job->names[i]);
        job->out[i].error_code = kafka_error_from(rc);
        if (!rc)
            log_info("brook.broker", "deleted topic %s", job->names[i]);
    }
}

void handle_delete_topics(struct request *rq)
{
    struct pending *pd = rq->pd;
    struct kafka_delete_topics_req *req = rq->body;
    uint64_t bytes =
        response_bytes((uint64_t)req->n_topic_names,
                       sizeof(struct kafka_delete_topics_resp_result) + sizeof(char *));
    for (int32_t i = 0; i < req->n_topic_names; i++)
        bytes += response_string_bytes(req->topic_names[i].len) * 2;
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DeleteTopics response would pass the response limit");
        return;
    }
    struct kafka_delete_topics_resp *resp = response_new(rq);
    resp->responses = NEW(pd, struct kafka_delete_topics_resp_result, req->n_topic_names);
    resp->n_responses = req->n_topic_names;
    struct delete_job *job = NEW(pd, struct delete_job, 1);
    job->names = NEW(pd, char *, req->n_topic_names);
    job->out = resp->responses;
    job->n = req->n_topic_names;
    for (int32_t i = 0; i < req->n_topic_names; i++) {
        struct kafka_delete_topics_resp_result *out = &resp->responses[i];
        char name[256];
        out->name = kstr_from(pd_strdup(pd, req->topic_names[i]));
        if (!topic_cstr(req->topic_names[i], name))
            out->error_code = KAFKA_INVALID_TOPIC_EXCEPTION;
        else if (!strncmp(name, INTERNAL_PREFIX "consumer_offsets", 18))
            out->error_code = KAFKA_INVALID_REQUEST; /* the offsets live there */
        else
            job->names[i] = pd_strdup(pd, kstr_from(name));
    }
    pd->resp = resp;
    admin_submit(rq, delete_topics_run, job);
}

struct partitions_job {
    const struct kafka_create_partitions_req_topic *in; /* copied into pd's arena */
    struct kafka_create_partitions_resp_result *out;
    int32_t n;
    bool validate_only;
};

static void create_partitions_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct partitions_job *job = ctx;
    for (int32_t i = 0; i < job->n; i++) {
        struct kafka_create_partitions_resp_result *out = &job->out[i];
        int16_t err;
        struct store_topic *t = broker_topic(b, job->out[i].name, false, &err);
        int rc = 0;
        if (t && job->in[i].count <= store_topic_partition_count(t))
            rc = STORE_EINVALID_PARTITIONS;
        else if (t && !job->validate_only)
            rc = store_topic_add_partitions(b->store, store_topic_name(t), job->in[i].count);
        out->error_code = t ? kafka_error_from(rc) : err;
        if (rc == STORE_EINVALID_PARTITIONS)
            out->error_message = KSTR("the new count must exceed the current partition count");
        else if (rc == -EEXIST)
            out->error_message = KSTR("a new partition directory would collide with a topic");
        store_topic_put(t);
    }
}

void handle_create_partitions(struct request *rq)
{
    struct pending *pd = rq->pd;
    struct kafka_create_partitions_req *req = rq->body;
    uint64_t bytes = response_bytes((uint64_t)req->n_topics,
                                    sizeof(struct kafka_create_partitions_resp_result) +
                                        sizeof(struct kafka_create_partitions_req_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += response_string_bytes(req->topics[i].name.len);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the CreatePartitions response would pass the response limit");
        return;
    }
    struct kafka_create_partitions_resp *resp = response_new(rq);
    resp->results = NEW(pd, struct kafka_create_partitions_resp_result, req->n_topics);
    resp->n_results = req->n_topics;
    struct partitions_job *job = NEW(pd, struct partitions_job, 1);
    struct kafka_create_partitions_req_topic *in =
        NEW(pd, struct kafka_create_partitions_req_topic, req->n_topics);
    job->in = in;
    job->out = resp->results;
    job->n = req->n_topics;
    job->validate_only = req->validate_only;
    for (int32_t i = 0; i < req->n_topics; i++) {
        resp->results[i].name = kstr_from(pd_strdup(pd, req->topics[i].name));
        in[i].count = req->topics[i].count; /* the rest of the request is not needed */
    }
    pd->resp = resp;
    admin_submit(rq, create_partitions_run, job);
}

/* ---- DeleteRecords ---- */

void handle_delete_records(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_delete_records_req *req = rq->body;
    uint64_t bytes =
        response_bytes((uint64_t)req->n_topics, sizeof(struct kafka_delete_records_resp_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += response_string_bytes(req->topics[i].name.len) +
                 response_bytes((uint64_t)req->topics[i].n_partitions,
                                sizeof(struct kafka_delete_records_resp_partition));
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DeleteRecords response would pass the response limit");
        return;
    }
    struct kafka_delete_records_resp *resp = response_new(rq);
    resp->topics = NEW(pd, struct kafka_delete_records_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_delete_records_req_topic *in = &req->topics[i];
        struct kafka_delete_records_resp_topic *out = &resp->topics[i];
        int16_t err;
        struct store_topic *t = broker_topic(b, in->name, false, &err);
        out->name = kstr_from(pd_strdup(pd, in->name));
        out->partitions = NEW(pd, struct kafka_delete_records_resp_partition, in->n_partitions);
        out->n_partitions = in->n_partitions;
        for (int32_t k = 0; k < in->n_partitions; k++) {
            struct kafka_delete_records_resp_partition *po = &out->partitions[k];
            po->partition_index = in->partitions[k].partition_index;
            po->low_watermark = -1;
            struct store_partition *p = t ? store_topic_partition(t, po->partition_index) : NULL;
            if (!p) {
                po->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : err;
                continue;
            }
            int rc =
                store_partition_delete_records(p, in->partitions[k].offset, &po->low_watermark);
            po->error_code = kafka_error_from(rc < 0 ? rc : 0);
        }
        store_topic_put(t);
    }
    request_respond(rq, resp);
}

/* ---- DescribeConfigs ---- */

#define RESOURCE_TOPIC  2
#define RESOURCE_BROKER 4
#define SOURCE_TOPIC    1 /* DYNAMIC_TOPIC_CONFIG */
#define SOURCE_STATIC   4 /* STATIC_BROKER_CONFIG */
#define SOURCE_DEFAULT  5 /* DEFAULT_CONFIG */

static bool wanted(const struct kafka_describe_configs_req_resource *in, const char *key)
{
    if (in->n_configuration_keys < 0)
        return true;
    for (int32_t i = 0; i < in->n_configuration_keys; i++)
        if (kstr_eq(in->configuration_keys[i], key))
            return true;
    return false;
}

static void put_config(struct pending *pd, struct kafka_describe_configs_resp_result *out,
                       const char *key, const char *value, int8_t source, int32_t cap)
{
    if (out->n_configs >= cap)
        return;
    struct kafka_describe_configs_resp_config *c = &out->configs[out->n_configs++];
    c->name = kstr_from(pd_strdup(pd, kstr_from(key)));
    c->value = kstr_from(pd_strdup(pd, kstr_from(value)));
    c->config_source = source;
    c->is_default = source == SOURCE_DEFAULT;
    c->documentation = KSTR_NULL;
}

static void describe_topic_configs(struct broker *b, struct pending *pd,
                                   const struct kafka_describe_configs_req_resource *in,
                                   struct kafka_describe_configs_resp_result *out)
{
    int16_t err;
    struct store_topic *t = broker_topic(b, in->resource_name, false, &err);
    if (!t) {
        out->error_code = err;
        out->error_message = KSTR("unknown topic");
        return;
    }
    int32_t cap = 0;
    while (topic_config_keys[cap])
        cap++;
    out->configs = NEW(pd, struct kafka_describe_configs_resp_config, cap);
    const struct props *over = store_topic_overrides(t);
    for (int32_t i = 0; topic_config_keys[i]; i++) {
        const char *key = topic_config_keys[i];
        if (!wanted(in, key))
            continue;
        char buf[64];
        const char *v = props_get(over, key);
        put_config(pd, out, key,
                   v ? v : topic_config_value(store_topic_config(t), key, buf, sizeof buf),
                   v ? SOURCE_TOPIC : SOURCE_DEFAULT, cap);
    }
    store_topic_put(t);
}

static const struct {
    const char *key, *def;
} broker_defaults[] = {
    {"log.dirs", "./brook-data"},
    {"num.partitions", "1"},
    {"log.segment.bytes", "1073741824"},
    {"log.retention.hours", "168"},
    {"auto.create.topics.enable", "true"},
    {"delete.topic.enable", "true"},
    {"message.max.bytes", "1048588"},
    {"default.replication.factor", "1"},
    {"socket.request.max.bytes", "104857600"},
};
#define N_BROKER_DEFAULTS (sizeof broker_defaults / sizeof *broker_defaults)

static void describe_broker_configs(struct broker *b, struct pending *pd,
                                    const struct kafka_describe_configs_req_resource *in,
                                    struct kafka_describe_configs_resp_result *out)
{
    const struct props *p = b->cfg->props;
    int32_t cap = (int32_t)(props_count(p) + N_BROKER_DEFAULTS);
    out->configs = NEW(pd, struct kafka_describe_configs_resp_config, cap);
    const char *k, *v;
    for (size_t i = 0; props_at(p, i, &k, &v); i++)
        if (wanted(in, k))
            put_config(pd, out, k, v, SOURCE_STATIC, cap);
    for (size_t i = 0; i < N_BROKER_DEFAULTS; i++)
        if (!props_get(p, broker_defaults[i].key) && wanted(in, broker_defaults[i].key))
            put_config(pd, out, broker_defaults[i].key, broker_defaults[i].def, SOURCE_DEFAULT,
                       cap);
}

/* Arena bytes of one config entry with its key and value. */
static uint64_t config_bytes(size_t key_len, size_t value_len)
{
    return response_string_bytes((int64_t)key_len) + response_string_bytes((int64_t)value_len);
}

/* Arena bytes of every config of topic name (none when it does not exist). */
static uint64_t topic_configs_bytes(struct broker *b, struct kstr name)
{
    int16_t err;
    struct store_topic *t = broker_topic(b, name, false, &err);
    if (!t)
        return 0;
    const struct props *over = store_topic_overrides(t);
    uint64_t bytes = 0;
    int32_t n = 0;
    for (; topic_config_keys[n]; n++) {
        const char *v = props_get(over, topic_config_keys[n]);
        bytes += config_bytes(strlen(topic_config_keys[n]), v ? strlen(v) : 64);
    }
    store_topic_put(t);
    return bytes + response_bytes((uint64_t)n, sizeof(struct kafka_describe_configs_resp_config));
}

/* Arena bytes of the broker's configs. */
static uint64_t broker_configs_bytes(struct broker *b)
{
    const struct props *p = b->cfg->props;
    uint64_t bytes = 0;
    const char *k, *v;
    for (size_t i = 0; props_at(p, i, &k, &v); i++)
        bytes += config_bytes(strlen(k), strlen(v));
    for (size_t i = 0; i < N_BROKER_DEFAULTS; i++)
        bytes += config_bytes(strlen(broker_defaults[i].key), strlen(broker_defaults[i].def));
    return bytes + response_bytes(props_count(p) + N_BROKER_DEFAULTS,
                                  sizeof(struct kafka_describe_configs_resp_config));
}

/*
 * Why resource i cannot be described, or NULL. A resource named twice is an
 * INVALID_REQUEST in every place it appears (Kafka: "Duplicate resource"); so is a
 * broker other than this one (Kafka's resource name is the broker id, or empty for
 * the cluster defaults). dup: the resource's (type, name) appears more than once.
 */
static const char *config_resource_refusal(struct broker *b,
                                           const struct kafka_describe_configs_req_resource *in,
                                           bool dup)
{
    if (dup)
        return "Duplicate resource";
    if (in->resource_type == RESOURCE_BROKER && in->resource_name.len > 0) {
        char id[16];
        snprintf(id, sizeof id, "%d", b->cfg->node_id);
        if (!kstr_eq(in->resource_name, id))
            return "unexpected broker id: this broker's id, or empty, is expected";
    }
    if (in->resource_type != RESOURCE_TOPIC && in->resource_type != RESOURCE_BROKER)
        return "brook describes topics and the broker only";
    return NULL;
}

static int config_resource_order(const void *ctx, int32_t a, int32_t b)
{
    const struct kafka_describe_configs_req *req = ctx;
    const struct kafka_describe_configs_req_resource *ra = &req->resources[a],
                                                     *rb = &req->resources[b];
    if (ra->resource_type != rb->resource_type)
        return ra->resource_type < rb->resource_type ? -1 : 1;
    return kstr_order(ra->resource_name, rb->resource_name);
}

void handle_describe_configs(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_describe_configs_req *req = rq->body;
    int32_t n = req->n_resources > 0 ? req->n_resources : 0;
    uint8_t *dup = calloc((size_t)n + 1, 1);
    if (!dup)
        abort();
    duplicates_mark(n, config_resource_order, req, dup);
    uint64_t bytes = response_bytes((uint64_t)n, sizeof(struct kafka_describe_configs_resp_result));
    for (int32_t i = 0; i < n; i++) {
        const struct kafka_describe_configs_req_resource *in = &req->resources[i];
        bytes += response_string_bytes(in->resource_name.len);
        if (config_resource_refusal(b, in, dup[i] & DUP_ANY))
            continue;
        bytes += in->resource_type == RESOURCE_TOPIC ? topic_configs_bytes(b, in->resource_name)
                                                     : broker_configs_bytes(b);
    }
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DescribeConfigs response would pass the response limit");
        goto cleanup;
    }
    struct kafka_describe_configs_resp *resp = response_new(rq);
    resp->results = NEW(pd, struct kafka_describe_configs_resp_result, n);
    resp->n_results = n;
    for (int32_t i = 0; i < n; i++) {
        const struct kafka_describe_configs_req_resource *in = &req->resources[i];
        struct kafka_describe_configs_resp_result *out = &resp->results[i];
        const char *refusal = config_resource_refusal(b, in, dup[i] & DUP_ANY);
        out->resource_type = in->resource_type;
        out->resource_name = kstr_from(pd_strdup(pd, in->resource_name));
        out->error_message = KSTR_NULL;
        if (refusal) {
            out->error_code = KAFKA_INVALID_REQUEST;
            out->error_message = kstr_from(refusal);
        } else if (in->resource_type == RESOURCE_TOPIC) {
            describe_topic_configs(b, pd, in, out);
        } else {
            describe_broker_configs(b, pd, in, out);
        }
    }
    request_respond(rq, resp);
cleanup:
    free(dup);
}

/* ---- InitProducerId and SASL ---- */

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

void handle_sasl_handshake(struct request *rq)
{
    struct kafka_sasl_handshake_resp *resp = response_new(rq);
    resp->error_code = KAFKA_UNSUPPORTED_SASL_MECHANISM;
    request_respond(rq, resp);
}

void handle_sasl_authenticate(struct request *rq)
{
    struct kafka_sasl_authenticate_resp *resp = response_new(rq);
    resp->error_code = KAFKA_ILLEGAL_SASL_STATE;
    resp->error_message = KSTR("brook does not authenticate clients");
    request_respond(rq, resp);
}
