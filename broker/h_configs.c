/*
 * h_configs.c - DescribeConfigs: a topic's configs, and the broker's.
 *
 * A topic's configs are every key brook knows for topics (topic_config_keys),
 * each either the topic's own override (DYNAMIC_TOPIC_CONFIG) or the value it
 * inherits (DEFAULT_CONFIG). The broker's are what its properties file set
 * (STATIC_BROKER_CONFIG) and the defaults of the few keys clients commonly ask
 * for. brook describes topics and this broker only; other resource types, another
 * broker's id, or a resource named twice (Kafka: "Duplicate resource") get
 * INVALID_REQUEST in that resource's result.
 *
 * The answer's size is added up before it is built, from the configs each
 * resource has; a request whose answer would not fit in RESPONSE_MAX_BYTES is
 * refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/props.h"
#include "lib/xalloc.h"

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
    out->configs = PENDING_NEW(pd, struct kafka_describe_configs_resp_config, cap);
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
    out->configs = PENDING_NEW(pd, struct kafka_describe_configs_resp_config, cap);
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
    return kstr_compare(ra->resource_name, rb->resource_name);
}

void handle_describe_configs(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_describe_configs_req *req = rq->body;
    int32_t n = req->n_resources > 0 ? req->n_resources : 0;
    uint8_t *dup = xcalloc((size_t)n + 1, 1);
    request_duplicates_mark(n, config_resource_order, req, dup);
    uint64_t bytes = response_bytes((uint64_t)n, sizeof(struct kafka_describe_configs_resp_result));
    for (int32_t i = 0; i < n; i++) {
        const struct kafka_describe_configs_req_resource *in = &req->resources[i];
        bytes += response_string_bytes(in->resource_name.len);
        if (config_resource_refusal(b, in, dup[i] & REQUEST_DUP_ANY))
            continue;
        bytes += in->resource_type == RESOURCE_TOPIC ? topic_configs_bytes(b, in->resource_name)
                                                     : broker_configs_bytes(b);
    }
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DescribeConfigs response would pass the response limit");
        goto cleanup;
    }
    struct kafka_describe_configs_resp *resp = response_new(rq);
    resp->results = PENDING_NEW(pd, struct kafka_describe_configs_resp_result, n);
    resp->n_results = n;
    for (int32_t i = 0; i < n; i++) {
        const struct kafka_describe_configs_req_resource *in = &req->resources[i];
        struct kafka_describe_configs_resp_result *out = &resp->results[i];
        const char *refusal = config_resource_refusal(b, in, dup[i] & REQUEST_DUP_ANY);
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
