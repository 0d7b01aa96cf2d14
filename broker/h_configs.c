/*
 * h_configs.c - DescribeConfigs: a topic's configs, and the broker's.
 *
 * Both come from the configuration tables (lib/conftab.h), so the names, values,
 * types and documentation are those parsing uses. A topic's configs are every
 * key of topic_config_table, each the topic's own override (DYNAMIC_TOPIC_CONFIG)
 * or the value it inherits from its broker synonyms (STATIC_BROKER_CONFIG when
 * the properties set one, else DEFAULT_CONFIG); asked for synonyms (v1+), each
 * config lists that chain, finest first, as Kafka does: the override, the broker
 * keys the properties set, and the default. The broker's configs are every key
 * of the broker's, the store's and the console's tables, as given or by default,
 * and the keys the properties give that brook does not read. Documentation (v3+)
 * is sent when asked for. brook describes topics and this broker only; other
 * resource types, another broker's id, or a resource named twice (Kafka:
 * "Duplicate resource") get INVALID_REQUEST in that resource's result.
 *
 * Each resource is walked twice: once to count its configs and the arena bytes
 * of their strings and synonyms, once to fill them. A request whose answer would
 * not fit in RESPONSE_MAX_BYTES is refused before anything is built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/conftab.h"
#include "lib/props.h"
#include "lib/xalloc.h"

#define RESOURCE_TOPIC  2
#define RESOURCE_BROKER 4
#define SOURCE_TOPIC    1 /* DYNAMIC_TOPIC_CONFIG */
#define SOURCE_BROKER   2 /* DYNAMIC_BROKER_CONFIG */
#define SOURCE_CLUSTER  3 /* DYNAMIC_DEFAULT_BROKER_CONFIG */
#define SOURCE_STATIC   4 /* STATIC_BROKER_CONFIG */
#define SOURCE_DEFAULT  5 /* DEFAULT_CONFIG */
#define MAX_SYNONYMS    8 /* the override, up to three broker keys twice, a default */

/* Where configs go: counted (pd NULL) or filled into out. */
struct config_sink {
    struct pending *pd;
    struct kafka_describe_configs_resp_result *out;
    const struct kafka_describe_configs_req_resource *in;
    const struct props *dyn; /* the dynamic broker keys, one copy for both walks */
    bool synonyms, docs;
    int32_t n;      /* configs so far */
    int32_t cap;    /* filling: entries in out->configs */
    uint64_t bytes; /* arena bytes they take */
};

struct synonym {
    const char *name, *value;
    int8_t source;
};

static bool wanted(const struct kafka_describe_configs_req_resource *in, const char *key)
{
    if (in->n_configuration_keys < 0)
        return true;
    for (int32_t i = 0; i < in->n_configuration_keys; i++)
        if (kstr_eq(in->configuration_keys[i], key))
            return true;
    return false;
}

static uint64_t str_bytes(const char *s)
{
    return response_string_bytes(s ? (int64_t)strlen(s) : -1);
}

/* A copy of s in the answer's arena (NULL stays the null string). */
static struct kstr sink_str(struct config_sink *o, const char *s)
{
    return s ? kstr_from(pd_strdup(o->pd, kstr_from(s))) : KSTR_NULL;
}

/* One config named k->name (or name, for keys in no table) with its synonyms. */
static void sink_put(struct config_sink *o, const struct conf_key *k, const char *name,
                     const char *value, bool read_only, const struct synonym *syn, int nsyn)
{
    if (!wanted(o->in, name))
        return;
    int8_t source = nsyn > 0 ? syn[0].source : SOURCE_STATIC;
    bool secret = conf_key_sensitive(name); /* Kafka answers null for its PASSWORD keys */
    if (!o->synonyms)
        nsyn = 0;
    if (secret)
        value = NULL;
    if (!o->pd) {
        o->bytes += str_bytes(name) + str_bytes(value);
        o->bytes +=
            response_bytes((uint64_t)nsyn, sizeof(struct kafka_describe_configs_resp_synonym));
        for (int i = 0; i < nsyn; i++)
            o->bytes += str_bytes(syn[i].name) + str_bytes(syn[i].value);
        o->n++;
        return;
    }
    if (o->n >= o->cap) /* the count is the table's, so this does not happen */
        return;
    struct kafka_describe_configs_resp_config *c = &o->out->configs[o->n++];
    c->name = sink_str(o, name);
    c->value = sink_str(o, value);
    c->read_only = read_only;
    c->is_sensitive = secret;
    c->config_source = source;
    c->is_default = source == SOURCE_DEFAULT;
    c->config_type = k ? (int8_t)k->type : 0;
    c->documentation = o->docs && k ? kstr_from(k->doc) : KSTR_NULL; /* static */
    c->synonyms = PENDING_NEW(o->pd, struct kafka_describe_configs_resp_synonym, nsyn);
    c->n_synonyms = nsyn;
    for (int i = 0; i < nsyn; i++)
        c->synonyms[i] = (struct kafka_describe_configs_resp_synonym){
            sink_str(o, syn[i].name), sink_str(o, secret ? NULL : syn[i].value), syn[i].source};
}

/* The chain a topic key's value comes from: the topic's override, the broker
 * synonyms the properties give, the first default among them. */
static int topic_synonyms(const struct conf_key *k, const char *override, const struct props *p,
                          const struct props *dyn, struct synonym *syn)
{
    int n = 0;
    const char *def = NULL, *def_name = NULL;
    if (override)
        syn[n++] = (struct synonym){k->name, override, SOURCE_TOPIC};
    for (int i = 0; i < 3 && k->synonyms[i]; i++) {
        const struct conf_key *b = broker_config_key(k->synonyms[i]);
        const char *v = props_get(p, k->synonyms[i]);
        const char *d = props_get(dyn, k->synonyms[i]);
        if (d)
            syn[n++] = (struct synonym){k->synonyms[i], d, SOURCE_CLUSTER};
        if (v)
            syn[n++] = (struct synonym){k->synonyms[i], v, SOURCE_STATIC};
        if (!def && b && b->def)
            def = b->def, def_name = b->name;
    }
    if (!k->synonyms[0] && k->def)
        def = k->def, def_name = k->name;
    if (def)
        syn[n++] = (struct synonym){def_name, def, SOURCE_DEFAULT};
    return n;
}

static void describe_topic_configs(struct broker *b, struct config_sink *o, struct store_topic *t)
{
    struct props *over = store_topic_overrides_copy(t);
    struct topic_config tc;
    if (!over)
        xalloc_fail("props", 0);
    store_topic_config_get(t, &tc);
    for (const struct conf_key *k = topic_config_table; k->name; k++) {
        struct synonym syn[MAX_SYNONYMS];
        char buf[64];
        const char *v = props_get(over, k->name);
        int n = topic_synonyms(k, v, b->cfg->props, o->dyn, syn);
        if (!v)
            v = topic_config_value(&tc, k->name, buf, sizeof buf);
        sink_put(o, k, k->name, v, false, syn, n);
    }
    props_free(over);
}

static void describe_broker_configs(struct broker *b, struct config_sink *o)
{
    const struct props *p = b->cfg->props;
    /* the dynamic keys apply cluster-wide and to this broker alike: shown as the
     * scope asked for */
    int8_t dyn_source = o->in->resource_name.len > 0 ? SOURCE_BROKER : SOURCE_CLUSTER;
    for (size_t i = 0; broker_config_tables[i]; i++)
        for (const struct conf_key *k = broker_config_tables[i]; k->name; k++) {
            const char *v = props_get(p, k->name), *d = props_get(o->dyn, k->name);
            struct synonym syn[3];
            int n = 0;
            if (d)
                syn[n++] = (struct synonym){k->name, d, dyn_source};
            if (v)
                syn[n++] = (struct synonym){k->name, v, SOURCE_STATIC};
            if (k->def || !n)
                syn[n++] = (struct synonym){k->name, k->def, SOURCE_DEFAULT};
            bool dynamic = broker_config_tables[i] == store_config_table && k->dynamic;
            sink_put(o, k, k->name, syn[0].value, !dynamic, syn, n);
        }
    const char *k, *v;
    for (size_t i = 0; props_at(p, i, &k, &v); i++) /* keys brook only keeps */
        if (!broker_config_key(k)) {
            struct synonym syn = {k, v, SOURCE_STATIC};
            sink_put(o, NULL, k, v, true, &syn, 1);
        }
}

/* Count (o->pd NULL) or fill the configs of one resource that is not refused. */
static void describe_resource(struct broker *b, struct config_sink *o)
{
    if (o->in->resource_type != RESOURCE_TOPIC) {
        describe_broker_configs(b, o);
        return;
    }
    int16_t err;
    struct store_topic *t = broker_topic(b, o->in->resource_name, false, &err);
    if (!t) {
        if (o->pd) {
            o->out->error_code = err;
            o->out->error_message = KSTR("unknown topic");
        }
        return;
    }
    describe_topic_configs(b, o, t);
    store_topic_put(t);
}

/* The configs of resource in, into out: counted first, then built. */
static void describe_fill(struct broker *b, struct pending *pd, struct config_sink *o)
{
    struct config_sink count = *o;
    count.pd = NULL;
    describe_resource(b, &count);
    o->out->configs = PENDING_NEW(pd, struct kafka_describe_configs_resp_config, count.n);
    o->pd = pd;
    o->cap = count.n;
    describe_resource(b, o);
    o->out->n_configs = o->n;
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

/* Kafka: op on the topic for a topic, on the cluster for the broker. */
bool config_allowed(struct request *rq, int8_t type, struct kstr name, enum auth_op op)
{
    return type == RESOURCE_TOPIC ? request_allowed_kstr(rq, op, AUTH_RES_TOPIC, name)
                                  : request_allowed(rq, op, AUTH_RES_CLUSTER, NULL);
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
    struct props *dyn = broker_dynamic_copy(b);
    request_duplicates_mark(n, config_resource_order, req, dup);
    uint64_t bytes = response_bytes((uint64_t)n, sizeof(struct kafka_describe_configs_resp_result));
    for (int32_t i = 0; i < n; i++) {
        const struct kafka_describe_configs_req_resource *in = &req->resources[i];
        bytes += response_string_bytes(in->resource_name.len);
        if (config_resource_refusal(b, in, dup[i] & REQUEST_DUP_ANY))
            continue;
        struct config_sink count = {.in = in,
                                    .dyn = dyn,
                                    .synonyms = req->include_synonyms,
                                    .docs = req->include_documentation};
        describe_resource(b, &count);
        bytes += count.bytes + response_bytes((uint64_t)count.n,
                                              sizeof(struct kafka_describe_configs_resp_config));
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
        } else if (!config_allowed(rq, in->resource_type, out->resource_name,
                                   AUTH_OP_DESCRIBE_CONFIGS)) {
            out->error_code = in->resource_type == RESOURCE_TOPIC
                                  ? KAFKA_TOPIC_AUTHORIZATION_FAILED
                                  : KAFKA_CLUSTER_AUTHORIZATION_FAILED;
        } else {
            struct config_sink o = {.in = in,
                                    .out = out,
                                    .dyn = dyn,
                                    .synonyms = req->include_synonyms,
                                    .docs = req->include_documentation};
            describe_fill(b, pd, &o);
        }
    }
    request_respond(rq, resp);
cleanup:
    props_free(dyn);
    free(dup);
}
