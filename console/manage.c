/*
 * manage.c - the console's management writes: a topic's configuration
 * (POST /api/v1/topics/T/config), its partition count (POST .../partitions),
 * deleting its records below an offset (POST .../delete-records), deleting a
 * group (DELETE /api/v1/groups/G) and a group's committed offsets of one topic
 * (DELETE /api/v1/groups/G/offsets/T). Resetting a group's offsets is in
 * groups.c, beside the rest of the groups' API.
 *
 * Each is the broker's own code path for the Kafka request that does the same
 * (IncrementalAlterConfigs, CreatePartitions, DeleteRecords, DeleteGroups,
 * OffsetDelete), reached through the console's environment, so a value or a
 * state the Kafka API refuses is refused here with the same error and message.
 * Only the authorizer's question is asked here instead, with the user's
 * principal and the operation Kafka asks for: ALTER_CONFIGS on the topic, ALTER
 * on it, DELETE on it; DELETE on the group; DELETE on the group and READ on the
 * topic. The router refuses all of them in read-only mode and without the CSRF
 * token (console.c, auth.c).
 *
 * Configuration and partitions write files and run on the admin thread, as their
 * Kafka requests do (console_offload); the rest runs on the loop thread, and a
 * deletion of offsets is answered once its tombstones are durable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/private.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "proto/kafka_errors.h"

#define MAX_CONFIG_OPS  64     /* operations in one configuration edit */
#define MAX_PARTITIONS  100000 /* as topic creation bounds them */
#define CONFIG_WHY_MAX  320
#define INTERNAL_PREFIX "__"

/* The HTTP status of a Kafka error the caller could fix, or 500. */
static int kafka_status(int16_t code)
{
    switch (code) {
    case KAFKA_TOPIC_AUTHORIZATION_FAILED:
    case KAFKA_GROUP_AUTHORIZATION_FAILED:
    case KAFKA_CLUSTER_AUTHORIZATION_FAILED:
    case KAFKA_TOPIC_DELETION_DISABLED: return 403;
    case KAFKA_UNKNOWN_TOPIC_OR_PARTITION:
    case KAFKA_GROUP_ID_NOT_FOUND: return 404;
    case KAFKA_NON_EMPTY_GROUP:
    case KAFKA_GROUP_SUBSCRIBED_TO_TOPIC:
    case KAFKA_TOPIC_ALREADY_EXISTS: return 409;
    case KAFKA_INVALID_CONFIG:
    case KAFKA_INVALID_REQUEST:
    case KAFKA_INVALID_PARTITIONS:
    case KAFKA_INVALID_GROUP_ID:
    case KAFKA_OFFSET_OUT_OF_RANGE:
    case KAFKA_POLICY_VIOLATION: return 400;
    default: return 500;
    }
}

void console_reply_kafka(struct evhttp_request *req, int16_t code, const char *msg)
{
    const char *name = kafka_error_name(code);
    int status = kafka_status(code);
    json_t *body = json_object();
    json_object_set_new(body, "error", console_str(msg && *msg ? msg : name));
    json_object_set_new(body, "kafka_error", console_str(name));
    json_object_set_new(body, "status", json_integer(status));
    console_reply_json(req, status, body);
}

/* ---- a topic's configuration ---- */

struct config_job {
    struct evhttp_request *req;
    const struct console_env *env;
    char topic[256];
    struct console_config_op ops[MAX_CONFIG_OPS];
    char *names[MAX_CONFIG_OPS], *values[MAX_CONFIG_OPS]; /* owned copies */
    int n;
    bool validate_only;
    int16_t err;
    char why[CONFIG_WHY_MAX];
};

static void config_job_free(struct config_job *j)
{
    for (int i = 0; i < j->n; i++) {
        free(j->names[i]);
        free(j->values[i]);
    }
    free(j);
}

/* A JSON value as configuration text: a string, an integer or a boolean. */
static char *config_text(json_t *v)
{
    char num[32];
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return xstrdup(num);
    }
    if (json_is_boolean(v))
        return xstrdup(json_is_true(v) ? "true" : "false");
    return NULL;
}

static bool config_opcode(const char *s, enum console_config_opcode *out)
{
    static const char *const names[] = {"set", "delete", "append", "subtract"};
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, names[i])) {
            *out = (enum console_config_opcode)i;
            return true;
        }
    return false;
}

/* body.configs into j: 0, or -EINVAL after answering 400. */
static int config_ops_read(struct creq *cr, json_t *body, struct config_job *j)
{
    json_t *arr = json_object_get(body, "configs"), *x;
    size_t i;
    if (!json_is_array(arr) || !json_array_size(arr) || json_array_size(arr) > MAX_CONFIG_OPS) {
        console_reply_error(cr->req, 400, "configs must be an array of 1 to %d operations",
                            MAX_CONFIG_OPS);
        return -EINVAL;
    }
    json_array_foreach(arr, i, x)
    {
        const char *name = json_string_value(json_object_get(x, "name"));
        json_t *op = json_object_get(x, "op"), *v = json_object_get(x, "value");
        enum console_config_opcode code = CONSOLE_CONFIG_SET;
        if (!name || (op && !config_opcode(json_string_value(op), &code))) {
            console_reply_error(cr->req, 400,
                                "each config needs a name, and op set, delete, append or subtract");
            return -EINVAL;
        }
        char *text = v && !json_is_null(v) ? config_text(v) : NULL;
        if (v && !json_is_null(v) && !text) {
            console_reply_error(cr->req, 400, "config %.255s: the value must be a string or number",
                                name);
            return -EINVAL;
        }
        j->names[j->n] = xstrdup(name);
        j->values[j->n] = text;
        j->ops[j->n] = (struct console_config_op){j->names[j->n], text, code};
        j->n++;
    }
    return 0;
}

/* Admin thread. */
static int config_work(void *arg)
{
    struct config_job *j = arg;
    j->err = j->env->topic_alter_configs(j->env->ctx, j->topic, j->ops, j->n, j->validate_only,
                                         j->why, sizeof j->why);
    return 0;
}

/* Loop thread. */
static void config_done(struct console *con, void *arg, int rc)
{
    struct config_job *j = arg;
    if (rc == -ECANCELED)
        console_reply_error(j->req, 503, "the broker is shutting down");
    else if (j->err)
        console_reply_kafka(j->req, j->err, j->why);
    else {
        json_t *o = json_object();
        json_object_set_new(o, "topic", console_str(j->topic));
        json_object_set_new(o, "altered", json_integer(j->n));
        json_object_set_new(o, "validate_only", json_boolean(j->validate_only));
        console_reply_json(j->req, 200, o);
    }
    config_job_free(j);
}

void api_topic_config(struct creq *cr)
{
    json_t *body = NULL;
    struct store_topic *t = api_topic_ref(cr, cr->seg[3], AUTH_OP_ALTER_CONFIGS);
    struct config_job *j = xcalloc(1, sizeof *j);
    if (!t || console_body(cr, &body) || config_ops_read(cr, body, j))
        goto out;
    j->req = cr->req;
    j->env = &cr->con->env;
    j->validate_only = json_is_true(json_object_get(body, "validate_only"));
    snprintf(j->topic, sizeof j->topic, "%s", cr->seg[3]);
    console_offload(cr->con, config_work, config_done, j);
    j = NULL;
out:
    if (j)
        config_job_free(j);
    store_topic_put(t);
    json_decref(body);
}

/* ---- partitions ---- */

struct partitions_job {
    struct evhttp_request *req;
    const struct console_env *env;
    char topic[256];
    int32_t count;
    int16_t err;
    const char *msg;
};

/* Admin thread. */
static int partitions_work(void *arg)
{
    struct partitions_job *j = arg;
    j->err = j->env->topic_add_partitions(j->env->ctx, j->topic, j->count, &j->msg);
    return 0;
}

/* Loop thread. */
static void partitions_done(struct console *con, void *arg, int rc)
{
    struct partitions_job *j = arg;
    if (rc == -ECANCELED)
        console_reply_error(j->req, 503, "the broker is shutting down");
    else if (j->err)
        console_reply_kafka(j->req, j->err, j->msg);
    else {
        log_info("brook.console", "topic %s grown to %d partitions", j->topic, j->count);
        json_t *o = json_object();
        json_object_set_new(o, "topic", console_str(j->topic));
        json_object_set_new(o, "partition_count", json_integer(j->count));
        console_reply_json(j->req, 200, o);
    }
    free(j);
}

void api_topic_partitions(struct creq *cr)
{
    json_t *body = NULL, *count;
    struct store_topic *t = api_topic_ref(cr, cr->seg[3], AUTH_OP_ALTER);
    if (!t || console_body(cr, &body))
        goto out;
    count = json_object_get(body, "count");
    if (!json_is_integer(count) || json_integer_value(count) < 1 ||
        json_integer_value(count) > MAX_PARTITIONS) {
        console_reply_error(cr->req, 400, "count must be an integer from 1 to %d", MAX_PARTITIONS);
        goto out;
    }
    struct partitions_job *j = xcalloc(1, sizeof *j);
    j->req = cr->req;
    j->env = &cr->con->env;
    j->count = (int32_t)json_integer_value(count);
    snprintf(j->topic, sizeof j->topic, "%s", cr->seg[3]);
    console_offload(cr->con, partitions_work, partitions_done, j);
out:
    store_topic_put(t);
    json_decref(body);
}

/* ---- deleting records ---- */

/* body.partitions ([{partition, offset}]) checked against t: every partition
 * exists and every offset is -1 (the end) or within the log. 0, or -EINVAL after
 * answering. */
static int records_check(struct creq *cr, struct store_topic *t, json_t *parts)
{
    size_t i;
    json_t *x;
    int32_t n = store_topic_partition_count(t);
    if (!json_is_array(parts) || !json_array_size(parts) || json_array_size(parts) > (size_t)n) {
        console_reply_error(cr->req, 400,
                            "partitions must be an array of 1 to %d {partition, offset}", n);
        return -EINVAL;
    }
    json_array_foreach(parts, i, x)
    {
        json_t *p = json_object_get(x, "partition"), *o = json_object_get(x, "offset");
        if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) >= n ||
            !json_is_integer(o) || json_integer_value(o) < -1) {
            console_reply_error(cr->req, 400,
                                "each entry needs a partition of the topic and an offset (-1: "
                                "the end)");
            return -EINVAL;
        }
        struct store_partition *sp = store_topic_partition(t, (int32_t)json_integer_value(p));
        int64_t hw = sp ? store_partition_high_watermark(sp) : -1;
        if (!sp || json_integer_value(o) > hw) {
            char why[160];
            snprintf(why, sizeof why, "offset %lld is above partition %lld's end offset %lld",
                     (long long)json_integer_value(o), (long long)json_integer_value(p),
                     (long long)hw);
            console_reply_kafka(cr->req, KAFKA_OFFSET_OUT_OF_RANGE, why);
            return -EINVAL;
        }
    }
    return 0;
}

void api_records_delete(struct creq *cr)
{
    json_t *body = NULL, *parts, *x;
    const char *name = cr->seg[3];
    struct store_topic *t = api_topic_ref(cr, name, AUTH_OP_DELETE);
    size_t i;
    if (!t || console_body(cr, &body))
        goto out;
    if (!strncmp(name, INTERNAL_PREFIX, 2)) {
        console_reply_error(cr->req, 400, "%s is internal: its records are the broker's", name);
        goto out;
    }
    if (records_check(cr, t, parts = json_object_get(body, "partitions")))
        goto out;
    json_t *arr = json_array();
    json_array_foreach(parts, i, x)
    {
        int32_t p = (int32_t)json_integer_value(json_object_get(x, "partition"));
        int64_t low = -1, off = json_integer_value(json_object_get(x, "offset"));
        int rc = store_partition_delete_records(store_topic_partition(t, p), off, &low);
        json_t *o = json_object();
        json_object_set_new(o, "partition", json_integer(p));
        json_object_set_new(o, "low_watermark", json_integer(low));
        if (rc < 0)
            json_object_set_new(o, "error", console_str(store_strerror(rc)));
        json_array_append_new(arr, o);
    }
    log_info("brook.console", "records of %s deleted below the offsets given", name);
    json_t *o = json_object();
    json_object_set_new(o, "topic", console_str(name));
    json_object_set_new(o, "partitions", arr);
    console_reply_json(cr->req, 200, o);
out:
    store_topic_put(t);
    json_decref(body);
}

/* ---- deleting a group, or its offsets of a topic ---- */

void api_group_delete(struct creq *cr)
{
    const char *group = cr->seg[3];
    if (!console_require(cr, AUTH_OP_DELETE, AUTH_RES_GROUP, group))
        return;
    int16_t err = cr->con->env.groups_delete(cr->con->env.ctx, group);
    if (err) {
        char why[320];
        snprintf(why, sizeof why, "%s %.255s",
                 err == KAFKA_NON_EMPTY_GROUP ? "the group has members: stop its consumers before "
                                                "deleting"
                                              : "cannot delete group",
                 group);
        console_reply_kafka(cr->req, err, why);
        return;
    }
    log_info("brook.console", "deleted group %s", group);
    json_t *o = json_object();
    json_object_set_new(o, "deleted", console_str(group));
    console_reply_json(cr->req, 200, o);
}

void api_offsets_delete(struct creq *cr)
{
    const char *group = cr->seg[3], *topic = cr->seg[5];
    const struct console_env *env = &cr->con->env;
    /* as OffsetDelete: Delete on the group, then Read on the topic */
    if (!console_require(cr, AUTH_OP_DELETE, AUTH_RES_GROUP, group))
        return;
    struct store_topic *t = api_topic_ref(cr, topic, AUTH_OP_READ);
    if (!t)
        return;
    store_topic_put(t);
    struct console_answer *ow = console_answer_new(cr->req, json_object(), "the tombstones");
    struct console_wait *w = console_wait_new(cr->con, console_answer_durable, ow);
    int16_t err = 0;
    int n = 0;
    int rc = env->groups_delete_offsets(env->ctx, group, topic, &err, &n, console_wait_durable, w);
    json_object_set_new(ow->answer, "group", console_str(group));
    json_object_set_new(ow->answer, "topic", console_str(topic));
    json_object_set_new(ow->answer, "deleted", json_integer(n));
    if (rc == 0)
        return; /* answered when the tombstones are durable */
    console_wait_cancel(w);
    if (rc < 0)
        console_reply_error(cr->req, 500, "cannot delete offsets: %s", store_strerror(rc));
    else if (err)
        console_reply_kafka(cr->req, err,
                            err == KAFKA_NON_EMPTY_GROUP ? "the group has members: stop its "
                                                           "consumers first"
                            : err == KAFKA_GROUP_SUBSCRIBED_TO_TOPIC
                                ? "the group's members subscribe to the topic"
                                : NULL);
    else
        console_answer_durable(cr->con, ow, 0);
    if (rc < 0 || err)
        console_answer_drop(ow);
}
