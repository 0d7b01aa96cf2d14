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
            snprintf(why, sizeof why, "invalid config %.*s",
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

/* Admin thread: create (or with validate_only, check) one topic. */
static void create_run(struct broker *b, struct pending *pd, struct create_item *it,
                       bool validate_only)
{
    struct kafka_create_topics_resp_topic *out = it->out;
    const char *bad = NULL;
    int rc;
    if (validate_only) {
        struct store_topic *t = store_topic_get(b->store, it->name);
        rc = t ? -EEXIST : store_topic_config_check(b->store, it->cfg, NULL, &bad);
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
    resp->topics = PENDING_NEW(pd, struct kafka_create_topics_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    struct create_job *job = PENDING_NEW(pd, struct create_job, 1);
    job->items = PENDING_NEW(pd, struct create_item, req->n_topics);
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
    resp->responses = PENDING_NEW(pd, struct kafka_delete_topics_resp_result, req->n_topic_names);
    resp->n_responses = req->n_topic_names;
    struct delete_job *job = PENDING_NEW(pd, struct delete_job, 1);
    job->names = PENDING_NEW(pd, char *, req->n_topic_names);
    job->out = resp->responses;
    job->n = req->n_topic_names;
    for (int32_t i = 0; i < req->n_topic_names; i++) {
        struct kafka_delete_topics_resp_result *out = &resp->responses[i];
        char name[256];
        out->name = kstr_from(pd_strdup(pd, req->topic_names[i]));
        if (!broker_topic_cstr(req->topic_names[i], name))
            out->error_code = KAFKA_INVALID_TOPIC_EXCEPTION;
        else if (!strncmp(name, "__consumer_offsets", 18))
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
    resp->topics = PENDING_NEW(pd, struct kafka_delete_records_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_delete_records_req_topic *in = &req->topics[i];
        struct kafka_delete_records_resp_topic *out = &resp->topics[i];
        int16_t err;
        struct store_topic *t = broker_topic(b, in->name, false, &err);
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
