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
#define NEW(pd, type, n) ((type *)pd_calloc((pd), (size_t)(n), sizeof(type)))

static void *pd_calloc(struct pending *pd, size_t n, size_t size)
{
    void *p = arena_calloc(&pd->arena, n ? n : 1, size);
    if (!p)
        abort(); /* the daemon's out-of-memory policy */
    return p;
}

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

void handle_metadata(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_metadata_req *req = rq->body;
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
    /* null topics, or an empty list in v0, means every topic */
    if (req->n_topics < 0 || (rq->version == 0 && req->n_topics == 0)) {
        char **names = store_topic_names(b->store);
        if (!names)
            abort();
        int32_t n = 0;
        while (names[n])
            n++;
        resp->topics = NEW(pd, struct kafka_metadata_resp_topic, n);
        for (int32_t i = 0; i < n; i++) {
            struct store_topic *t = store_topic_get(b->store, names[i]);
            if (t) /* deleted meanwhile otherwise */
                describe_topic(b, pd, t, &resp->topics[resp->n_topics++]);
            store_topic_put(t);
        }
        free(names);
    } else {
        bool create = rq->version < 4 || req->allow_auto_topic_creation;
        resp->topics = NEW(pd, struct kafka_metadata_resp_topic, req->n_topics);
        resp->n_topics = req->n_topics;
        for (int32_t i = 0; i < req->n_topics; i++) {
            struct kafka_metadata_resp_topic *out = &resp->topics[i];
            struct store_topic *t = broker_topic(b, req->topics[i].name, create, &out->error_code);
            if (t)
                describe_topic(b, pd, t, out);
            else
                out->name = kstr_from(pd_strdup(pd, req->topics[i].name));
            store_topic_put(t);
        }
    }
    request_respond(rq, resp);
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

static void describe_broker_configs(struct broker *b, struct pending *pd,
                                    const struct kafka_describe_configs_req_resource *in,
                                    struct kafka_describe_configs_resp_result *out)
{
    static const struct {
        const char *key, *def;
    } defaults[] = {
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
    const struct props *p = b->cfg->props;
    int32_t cap = (int32_t)(props_count(p) + sizeof defaults / sizeof *defaults);
    out->configs = NEW(pd, struct kafka_describe_configs_resp_config, cap);
    const char *k, *v;
    for (size_t i = 0; props_at(p, i, &k, &v); i++)
        if (wanted(in, k))
            put_config(pd, out, k, v, SOURCE_STATIC, cap);
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
        if (!props_get(p, defaults[i].key) && wanted(in, defaults[i].key))
            put_config(pd, out, defaults[i].key, defaults[i].def, SOURCE_DEFAULT, cap);
}

void handle_describe_configs(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_describe_configs_req *req = rq->body;
    struct kafka_describe_configs_resp *resp = response_new(rq);
    resp->results = NEW(pd, struct kafka_describe_configs_resp_result, req->n_resources);
    resp->n_results = req->n_resources;
    for (int32_t i = 0; i < req->n_resources; i++) {
        const struct kafka_describe_configs_req_resource *in = &req->resources[i];
        struct kafka_describe_configs_resp_result *out = &resp->results[i];
        out->resource_type = in->resource_type;
        out->resource_name = kstr_from(pd_strdup(pd, in->resource_name));
        out->error_message = KSTR_NULL;
        if (in->resource_type == RESOURCE_TOPIC)
            describe_topic_configs(b, pd, in, out);
        else if (in->resource_type == RESOURCE_BROKER)
            describe_broker_configs(b, pd, in, out);
        else {
            out->error_code = KAFKA_INVALID_REQUEST;
            out->error_message = KSTR("brook describes topics and the broker only");
        }
    }
    request_respond(rq, resp);
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
