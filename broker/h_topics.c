/*
 * h_topics.c - topic administration: CreateTopics, DeleteTopics,
 * CreatePartitions and DeleteRecords.
 *
 * CreateTopics, DeleteTopics and CreatePartitions can take a long time (a few
 * fsyncs per partition): they are checked and copied on the loop thread and run on
 * the admin thread (admin.c), which fills in their responses. DeleteRecords only
 * moves a partition's start offset and runs on the loop thread.
 *
 * brook is one broker: replication factors other than 1 are refused, and the
 * internal topic __consumer_offsets cannot be deleted.
 *
 * CreateTopics v5+ answers a created (or validated) topic with its partition count,
 * replication factor and every topic config with its source, as Kafka does; v7
 * adds the topic's id. The sources are the topic's own override
 * (DYNAMIC_TOPIC_CONFIG), a broker synonym the properties set
 * (STATIC_BROKER_CONFIG), else DEFAULT_CONFIG. DeleteTopics v6 names topics by
 * name or by id, with Kafka's INVALID_REQUEST for an entry with both or neither
 * and UNKNOWN_TOPIC_ID for an id brook does not know.
 *
 * Every handler adds up its response's size from the request's counts before it
 * touches the store (see RESPONSE_MAX_BYTES); what would not fit is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/xalloc.h"

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

#define SOURCE_TOPIC     1  /* DYNAMIC_TOPIC_CONFIG */
#define SOURCE_STATIC    4  /* STATIC_BROKER_CONFIG */
#define SOURCE_DEFAULT   5  /* DEFAULT_CONFIG */
#define CONFIG_VALUE_MAX 64 /* topic_config_value() renders values into this */

/* Arena bytes of the configs a v5+ answer lists for one topic. */
static uint64_t create_configs_bytes(void)
{
    uint64_t bytes = 0, n = 0;
    for (const struct conf_key *k = topic_config_table; k->name; k++, n++)
        bytes += response_string_bytes((int64_t)strlen(k->name)) +
                 response_string_bytes(CONFIG_VALUE_MAX);
    return bytes + response_bytes(n, sizeof(struct kafka_create_topics_resp_config));
}

/* Arena bytes of one CreateTopics topic: its answer (name, a message of at most
 * 320 bytes, from v5 its configs) and the copy the admin thread works from. */
static uint64_t create_item_bytes(struct kstr name, int16_t version)
{
    char buf[256];
    bool listed = version >= 5 && broker_topic_cstr(name, buf); /* what may be created */
    return response_string_bytes(name.len) * 2 + response_string_bytes(320) +
           (listed ? create_configs_bytes() : 0);
}

/* Where a topic key's value comes from: the override, a broker synonym the
 * properties give, or the default. */
static int8_t create_config_source(struct broker *b, const struct conf_key *k,
                                   const struct props *overrides)
{
    if (props_get(overrides, k->name))
        return SOURCE_TOPIC;
    for (int i = 0; i < 3 && k->synonyms[i]; i++)
        if (props_get(b->cfg->props, k->synonyms[i]))
            return SOURCE_STATIC;
    return SOURCE_DEFAULT;
}

/* Admin thread: the configs of a topic created with tc and overrides, for v5+. */
static void create_configs_fill(struct broker *b, struct pending *pd, const struct topic_config *tc,
                                const struct props *overrides,
                                struct kafka_create_topics_resp_topic *out)
{
    int32_t n = 0;
    for (const struct conf_key *k = topic_config_table; k->name; k++)
        n++;
    out->configs = PENDING_NEW(pd, struct kafka_create_topics_resp_config, n);
    out->n_configs = n;
    for (int32_t i = 0; i < n; i++) {
        const struct conf_key *k = &topic_config_table[i];
        char buf[CONFIG_VALUE_MAX];
        struct kafka_create_topics_resp_config *c = &out->configs[i];
        c->name = kstr_from(k->name); /* static */
        c->value =
            kstr_from(pd_strdup(pd, kstr_from(topic_config_value(tc, k->name, buf, sizeof buf))));
        c->config_source = create_config_source(b, k, overrides);
    }
}

/* Loop thread: what can be refused without the store, and a copy of the rest. */
static void create_check(struct broker *b, struct pending *pd,
                         const struct kafka_create_topics_req_topic *in, struct create_item *it)
{
    char name[256];
    struct kafka_create_topics_resp_topic *out = it->out;
    out->error_message = KSTR_NULL; /* Kafka's on success */
    out->num_partitions = -1;
    out->replication_factor = -1;
    out->n_configs = -1;
    if (!broker_topic_cstr(in->name, name)) {
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
        /* checked before the configs are collected, so that a request cannot grow a
         * topic's overrides beyond the keys brook knows */
        struct kstr key = in->configs[i].name;
        if (!topic_config_known(key.p ? key.p : "", key.len > 0 ? (size_t)key.len : 0)) {
            char why[320];
            snprintf(why, sizeof why, "unknown topic config key '%.*s'",
                     in->configs[i].name.len > 0 ? (int)in->configs[i].name.len : 0,
                     in->configs[i].name.p ? in->configs[i].name.p : "");
            out->error_code = KAFKA_INVALID_CONFIG;
            out->error_message = kstr_from(pd_strdup(pd, kstr_from(why)));
            return;
        }
    }
    if (!(it->cfg = props_new()))
        xalloc_fail("props", 0);
    for (int32_t i = 0; i < in->n_configs; i++) {
        char k[256], v[1024];
        snprintf(k, sizeof k, "%.*s", in->configs[i].name.len > 0 ? in->configs[i].name.len : 0,
                 in->configs[i].name.p ? in->configs[i].name.p : "");
        snprintf(v, sizeof v, "%.*s", in->configs[i].value.len > 0 ? in->configs[i].value.len : 0,
                 in->configs[i].value.p ? in->configs[i].value.p : "");
        if (props_set(it->cfg, k, v))
            xalloc_fail("props", 0);
    }
    it->name = pd_strdup(pd, kstr_from(name));
}

/* Admin thread: answer for one topic, created by store_topics_create() with rc and
 * bad as it gave them, or with validate_only, checked here. */
static void create_run(struct broker *b, struct pending *pd, struct create_item *it,
                       bool validate_only, int rc, const char *bad)
{
    struct kafka_create_topics_resp_topic *out = it->out;
    struct topic_config tc = b->cfg->store.topic;
    if (validate_only) {
        struct store_topic *t = store_topic_get(b->store, it->name);
        rc = t ? -EEXIST : store_topic_config_check(b->store, it->cfg, NULL, &bad);
        store_topic_put(t);
    } else if (!rc) {
        log_info("brook.broker", "created topic %s with %d partitions", it->name, it->parts);
    }
    out->error_code = kafka_error_from(rc);
    if (rc == STORE_EINVALID_CONFIG && bad) {
        char why[320];
        const char *v = props_get(it->cfg, bad); /* bad points into cfg */
        snprintf(why, sizeof why, "invalid value '%.64s' for %s", v ? v : "", bad);
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
    if (out->error_code)
        return;
    out->num_partitions = it->parts;
    out->replication_factor = 1;
    struct store_topic *t = validate_only ? NULL : store_topic_get(b->store, it->name);
    if (t) { /* else deleted meanwhile, or only validated: no id, tc as checked */
        memcpy(out->topic_id, store_topic_id(t), sizeof out->topic_id);
        store_topic_config_get(t, &tc);
    }
    if (pd->api_version >= 5)
        create_configs_fill(b, pd, &tc, it->cfg, out);
    store_topic_put(t);
}

static void create_topics_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct create_job *job = ctx;
    /* all at once: a few syncs for the request, not a few per topic and partition */
    struct store_topic_new *v = xcalloc((size_t)job->n + 1, sizeof *v);
    size_t n = 0;
    for (int32_t i = 0; i < job->n; i++)
        if (job->items[i].name && !job->validate_only)
            v[n++] = (struct store_topic_new){job->items[i].name, job->items[i].parts,
                                              job->items[i].cfg, NULL, 0};
    int rc = n ? store_topics_create(b->store, v, n) : 0;
    for (size_t k = 0; rc && k < n; k++)
        v[k].rc = rc;
    for (int32_t i = 0, k = 0; i < job->n; i++) {
        struct create_item *it = &job->items[i];
        if (it->name && job->validate_only) {
            create_run(b, pd, it, true, 0, NULL);
        } else if (it->name) {
            create_run(b, pd, it, false, v[k].rc, v[k].bad_key);
            k++;
        }
        props_free(it->cfg); /* after create_run: bad_key points into it */
    }
    free(v);
}

/* Kafka: CREATE on the cluster, or on the topic. */
static bool create_allowed(struct request *rq, bool cluster, struct kstr name)
{
    return cluster || request_allowed_kstr(rq, AUTH_OP_CREATE, AUTH_RES_TOPIC, name);
}

static int create_name_order(const void *ctx, int32_t a, int32_t b)
{
    const struct kafka_create_topics_req *req = ctx;
    return kstr_compare(req->topics[a].name, req->topics[b].name);
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
        bytes += create_item_bytes(req->topics[i].name, rq->version);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the CreateTopics response would pass the response limit");
        return;
    }
    /* a name given twice is answered once, INVALID_REQUEST, and not created (Kafka) */
    uint8_t *mark = xcalloc((size_t)req->n_topics + 1, 1);
    request_duplicates_mark(req->n_topics, create_name_order, req, mark);
    struct kafka_create_topics_resp *resp = response_new(rq);
    bool cluster = request_allowed(rq, AUTH_OP_CREATE, AUTH_RES_CLUSTER, NULL);
    resp->topics = PENDING_NEW(pd, struct kafka_create_topics_resp_topic, req->n_topics);
    struct create_job *job = PENDING_NEW(pd, struct create_job, 1);
    job->items = PENDING_NEW(pd, struct create_item, req->n_topics);
    job->validate_only = req->validate_only;
    for (int32_t i = 0; i < req->n_topics; i++) {
        if (mark[i] & REQUEST_DUP_LATER)
            continue;
        struct kafka_create_topics_resp_topic *out = &resp->topics[resp->n_topics++];
        struct create_item *it = &job->items[job->n++];
        out->name = kstr_from(pd_strdup(pd, req->topics[i].name));
        it->out = out;
        if (!(mark[i] & REQUEST_DUP_ANY) && !create_allowed(rq, cluster, req->topics[i].name)) {
            *out = (struct kafka_create_topics_resp_topic){
                .name = out->name,
                .error_code = KAFKA_TOPIC_AUTHORIZATION_FAILED,
                .num_partitions = -1,
                .replication_factor = -1,
                .n_configs = -1,
            };
            continue;
        }
        if (!(mark[i] & REQUEST_DUP_ANY)) {
            create_check(b, pd, &req->topics[i], it);
            continue;
        }
        *out = (struct kafka_create_topics_resp_topic){
            .name = out->name,
            .error_code = KAFKA_INVALID_REQUEST,
            .error_message = KSTR("Duplicate topic name."),
            .num_partitions = -1,
            .replication_factor = -1,
            .n_configs = -1,
        };
    }
    free(mark);
    pd->resp = resp;
    admin_submit(rq, create_topics_run, job);
}

struct delete_job {
    char **names; /* NULL where the entry was answered already */
    struct kafka_delete_topics_resp_result *out;
    int32_t n;
};

static void delete_topics_run(struct broker *b, struct pending *pd, void *ctx)
{
    (void)pd;
    struct delete_job *job = ctx;
    for (int32_t i = 0; i < job->n; i++) {
        if (!job->names[i])
            continue;
        int rc = store_topic_delete(b->store, job->names[i]);
        job->out[i].error_code = kafka_error_from(rc);
        if (rc)
            job->out[i].error_message = kstr_from(store_strerror(rc));
        else
            log_info("brook.broker", "deleted topic %s", job->names[i]);
    }
}

/* Entry i of a DeleteTopics request: its name (null when by id) and id. */
static struct kstr delete_entry(const struct request *rq, int32_t i, const uint8_t **id)
{
    static const uint8_t zero[16];
    const struct kafka_delete_topics_req *req = rq->body;
    if (rq->version < 6) {
        *id = zero;
        return req->topic_names[i];
    }
    *id = req->topics[i].topic_id;
    return req->topics[i].name;
}

/* Loop thread: the name to delete for one entry, or NULL with out's error set. */
static char *delete_check(struct broker *b, struct pending *pd, struct kstr name,
                          const uint8_t id[16], struct kafka_delete_topics_resp_result *out)
{
    static const uint8_t zero[16];
    bool by_id = memcmp(id, zero, sizeof zero) != 0;
    char buf[256];
    out->error_message = KSTR_NULL; /* Kafka's on success */
    memcpy(out->topic_id, id, sizeof out->topic_id);
    if (by_id == !kstr_is_null(name)) {
        out->error_code = KAFKA_INVALID_REQUEST;
        out->error_message = by_id ? KSTR("You may not specify both topic name and topic id.")
                                   : KSTR("Neither topic name nor id were specified.");
        out->name = kstr_is_null(name) ? KSTR_NULL : kstr_from(pd_strdup(pd, name));
        return NULL;
    }
    if (by_id) {
        struct store_topic *t = store_topic_get_id(b->store, id);
        if (t)
            snprintf(buf, sizeof buf, "%s", store_topic_name(t));
        store_topic_put(t);
        if (!t) {
            out->error_code = KAFKA_UNKNOWN_TOPIC_ID;
            out->name = KSTR_NULL;
            return NULL;
        }
        out->name = kstr_from(pd_strdup(pd, kstr_from(buf)));
    } else {
        out->name = kstr_from(pd_strdup(pd, name));
        if (!broker_topic_cstr(name, buf)) {
            out->error_code = KAFKA_INVALID_TOPIC_EXCEPTION;
            return NULL;
        }
    }
    if (!strncmp(buf, "__consumer_offsets", 18)) {
        out->error_code = KAFKA_INVALID_REQUEST; /* the offsets live there */
        out->error_message = KSTR("the internal topic __consumer_offsets cannot be deleted");
        return NULL;
    }
    return (char *)out->name.p; /* NUL-terminated: pd_strdup's copy */
}

static int delete_entry_order(const void *ctx, int32_t a, int32_t b)
{
    const struct request *rq = ctx;
    const uint8_t *ia, *ib;
    struct kstr na = delete_entry(rq, a, &ia), nb = delete_entry(rq, b, &ib);
    int c = (int)kstr_is_null(na) - (int)kstr_is_null(nb);
    if (!c)
        c = kstr_compare(na, nb);
    return c ? c : memcmp(ia, ib, 16);
}

void handle_delete_topics(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_delete_topics_req *req = rq->body;
    int32_t n = rq->version < 6 ? req->n_topic_names : req->n_topics;
    uint64_t bytes = response_bytes((uint64_t)n, sizeof(struct kafka_delete_topics_resp_result) +
                                                     sizeof(char *));
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *id;
        bytes += response_string_bytes(delete_entry(rq, i, &id).len) + response_string_bytes(249);
    }
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DeleteTopics response would pass the response limit");
        return;
    }
    struct kafka_delete_topics_resp *resp = response_new(rq);
    resp->responses = PENDING_NEW(pd, struct kafka_delete_topics_resp_result, n);
    struct delete_job *job = PENDING_NEW(pd, struct delete_job, 1);
    job->names = PENDING_NEW(pd, char *, n);
    job->out = resp->responses;
    /* an entry given twice is answered once, INVALID_REQUEST, and not deleted (Kafka) */
    uint8_t *mark = xcalloc((size_t)n + 1, 1);
    request_duplicates_mark(n, delete_entry_order, rq, mark);
    for (int32_t i = 0; i < n; i++) {
        if (mark[i] & REQUEST_DUP_LATER)
            continue;
        const uint8_t *id;
        struct kstr name = delete_entry(rq, i, &id);
        struct kafka_delete_topics_resp_result *out = &resp->responses[job->n];
        job->names[job->n++] = delete_check(b, pd, name, id, out);
        if (job->names[job->n - 1] &&
            !request_allowed(rq, AUTH_OP_DELETE, AUTH_RES_TOPIC, job->names[job->n - 1])) {
            job->names[job->n - 1] = NULL;
            out->error_code = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        }
        if (mark[i] & REQUEST_DUP_ANY) {
            job->names[job->n - 1] = NULL;
            out->error_code = KAFKA_INVALID_REQUEST;
            out->error_message =
                kstr_is_null(name) ? KSTR("Duplicate topic id.") : KSTR("Duplicate topic name.");
            if (kstr_is_null(name))
                out->name = KSTR_NULL; /* as Kafka answers a repeated id */
        }
    }
    resp->n_responses = job->n;
    free(mark);
    pd->resp = resp;
    admin_submit(rq, delete_topics_run, job);
}

struct partitions_job {
    const struct kafka_create_partitions_req_topic *in; /* copied into pd's arena */
    struct kafka_create_partitions_resp_result *out;
    int32_t n;
    bool validate_only;
};

int16_t topics_add_partitions(struct broker *b, struct kstr topic, int32_t count,
                              bool validate_only, const char **msg)
{
    int16_t err;
    struct store_topic *t = broker_topic(b, topic, false, &err);
    int rc = 0;
    *msg = NULL;
    if (t && count <= store_topic_partition_count(t))
        rc = STORE_EINVALID_PARTITIONS;
    else if (t && !validate_only)
        rc = store_topic_add_partitions(b->store, store_topic_name(t), count);
    if (rc == STORE_EINVALID_PARTITIONS)
        *msg = "the new count must exceed the current partition count";
    else if (rc == -EEXIST)
        *msg = "a new partition directory would collide with a topic";
    if (t)
        err = kafka_error_from(rc);
    store_topic_put(t);
    return err;
}

static void create_partitions_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct partitions_job *job = ctx;
    for (int32_t i = 0; i < job->n; i++) {
        struct kafka_create_partitions_resp_result *out = &job->out[i];
        if (out->error_code)
            continue; /* refused by the authorizer */
        const char *msg;
        out->error_code =
            topics_add_partitions(b, out->name, job->in[i].count, job->validate_only, &msg);
        if (msg)
            out->error_message = kstr_from(msg);
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
    resp->results = PENDING_NEW(pd, struct kafka_create_partitions_resp_result, req->n_topics);
    resp->n_results = req->n_topics;
    struct partitions_job *job = PENDING_NEW(pd, struct partitions_job, 1);
    struct kafka_create_partitions_req_topic *in =
        PENDING_NEW(pd, struct kafka_create_partitions_req_topic, req->n_topics);
    job->in = in;
    job->out = resp->results;
    job->n = req->n_topics;
    job->validate_only = req->validate_only;
    for (int32_t i = 0; i < req->n_topics; i++) {
        resp->results[i].name = kstr_from(pd_strdup(pd, req->topics[i].name));
        resp->results[i].error_message = KSTR_NULL; /* Kafka's on success */
        in[i].count = req->topics[i].count;         /* the rest of the request is not needed */
        if (!request_allowed_kstr(rq, AUTH_OP_ALTER, AUTH_RES_TOPIC, req->topics[i].name))
            resp->results[i].error_code = KAFKA_TOPIC_AUTHORIZATION_FAILED;
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
    resp->topics = PENDING_NEW(pd, struct kafka_delete_records_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_delete_records_req_topic *in = &req->topics[i];
        struct kafka_delete_records_resp_topic *out = &resp->topics[i];
        int16_t err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        struct store_topic *t = request_allowed_kstr(rq, AUTH_OP_DELETE, AUTH_RES_TOPIC, in->name)
                                    ? broker_topic(b, in->name, false, &err)
                                    : NULL;
        out->name = kstr_from(pd_strdup(pd, in->name));
        out->partitions =
            PENDING_NEW(pd, struct kafka_delete_records_resp_partition, in->n_partitions);
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
