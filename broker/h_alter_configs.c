/*
 * h_alter_configs.c - IncrementalAlterConfigs (44) and AlterConfigs (33): a topic's
 * overrides and the broker's dynamic keys.
 *
 * Both requests become one list of operations per resource: IncrementalAlterConfigs
 * sends SET, DELETE, APPEND and SUBTRACT on the current settings; AlterConfigs
 * replaces them all (every key it does not name goes back to its default), so it is
 * its SETs applied to an empty set. APPEND and SUBTRACT are for list keys only
 * (cleanup.policy, the throttled-replica lists), as in Kafka.
 *
 * Topics (resource type 2): the new overrides are checked as CreateTopics checks
 * them (store_topic_config_check, the same function), written to the topic's
 * metadata file and in force for the next append, roll, retention pass and
 * compaction. __consumer_offsets must stay compacted: the group coordinator keeps
 * committed offsets there.
 *
 * The broker (type 4, named "" for the cluster default or by this broker's id): the
 * dynamic keys are the store's topic defaults (log.retention.ms, log.segment.bytes,
 * log.cleanup.policy, message.max.bytes, compression.type, ... - the keys marked
 * dynamic in store_config_table, as Kafka lets these change at run time). Others
 * are refused with INVALID_REQUEST, naming the key: they are read once at start.
 * The dynamic set is checked together with server.properties, saved to
 * <log.dirs>/.broker.properties (read again at start, over server.properties), and
 * every topic's config is recomputed from the new defaults.
 *
 * Requests are checked and copied on the loop thread (sizes bounded before
 * anything is copied) and applied on the admin thread, since they write files;
 * the admin thread runs one at a time, so two alterations never interleave.
 *
 * The console edits a topic's configuration through alter_topic_configs(), on
 * the admin thread too: the same checks, one by one, and the same apply, so a
 * value the Kafka API refuses is refused there with the same message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/conftab.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/xalloc.h"

#define RESOURCE_TOPIC  2
#define RESOURCE_BROKER 4
#define OP_SET          0
#define OP_DELETE       1
#define OP_APPEND       2
#define OP_SUBTRACT     3
#define ALTER_KEY_MAX   255  /* longer than any key brook knows */
#define ALTER_VALUE_MAX 4096 /* a value longer than this is refused */
#define ALTER_WHY_MAX   320  /* an error message */
#define DYNAMIC_FILE    ".broker.properties"
#define ALTER_LIST_MAX  8192 /* an APPENDed list */

/* One resource: checked and copied on the loop thread, applied on the admin thread. */
struct alter_item {
    int8_t type;
    char *name;
    struct alter_op *ops;
    int32_t n_ops;
    bool refused;        /* the loop thread answered already */
    int16_t *error_code; /* the answer's (either request's) */
    struct kstr *error_message;
};

struct alter_job {
    struct alter_item *items;
    int32_t n;
    bool validate_only, incremental;
};

/* The request, one shape for both APIs. */
struct alter_view {
    const struct kafka_incremental_alter_configs_req *inc;
    const struct kafka_alter_configs_req *full;
};

static int32_t view_resources(const struct alter_view *v)
{
    return v->inc ? v->inc->n_resources : v->full->n_resources;
}

static void view_resource(const struct alter_view *v, int32_t i, int8_t *type, struct kstr *name,
                          int32_t *n)
{
    if (v->inc) {
        *type = v->inc->resources[i].resource_type;
        *name = v->inc->resources[i].resource_name;
        *n = v->inc->resources[i].n_configs;
    } else {
        *type = v->full->resources[i].resource_type;
        *name = v->full->resources[i].resource_name;
        *n = v->full->resources[i].n_configs;
    }
}

static void view_config(const struct alter_view *v, int32_t i, int32_t k, struct kstr *key,
                        struct kstr *value, int8_t *op)
{
    if (v->inc) {
        const struct kafka_incremental_alter_configs_req_alterable_config *c =
            &v->inc->resources[i].configs[k];
        *key = c->name, *value = c->value, *op = c->config_operation;
    } else {
        const struct kafka_alter_configs_req_alterable_config *c =
            &v->full->resources[i].configs[k];
        *key = c->name, *value = c->value, *op = OP_SET;
    }
}

/* ---- the broker's dynamic keys ---- */

static int dynamic_path(const struct broker *b, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/" DYNAMIC_FILE, b->cfg->store.dir);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The broker key name, when it may change at run time. */
static const struct conf_key *dynamic_key(const char *name)
{
    const struct conf_key *k = conf_find(store_config_table, name);
    return k && k->dynamic ? k : NULL;
}

struct props *broker_dynamic_copy(struct broker *b)
{
    struct props *p = props_new();
    const char *k, *v;
    if (!p)
        xalloc_fail("props", 0);
    pthread_mutex_lock(&b->dynamic_mu);
    for (size_t i = 0; b->dynamic && props_at(b->dynamic, i, &k, &v); i++)
        if (props_set(p, k, v))
            xalloc_fail("props", 0);
    pthread_mutex_unlock(&b->dynamic_mu);
    return p;
}

/* server.properties with the dynamic keys over it, as the store reads them into
 * *sc. 0, or STORE_EINVALID_CONFIG with *bad set (pointing into dyn or the static
 * properties, which outlive the call's use of it). */
static int dynamic_merge(struct broker *b, const struct props *dyn, struct store_config *sc,
                         struct props **merged, const char **bad)
{
    const char *k, *v;
    *merged = props_new();
    if (!*merged)
        xalloc_fail("props", 0);
    for (size_t i = 0; props_at(b->cfg->props, i, &k, &v); i++)
        if (props_set(*merged, k, v))
            xalloc_fail("props", 0);
    for (size_t i = 0; props_at(dyn, i, &k, &v); i++)
        if (props_set(*merged, k, v))
            xalloc_fail("props", 0);
    int rc = store_config_from_props(sc, *merged, bad);
    if (rc && *bad && props_get(dyn, *bad)) /* name the key as the client sent it */
        for (size_t i = 0; props_at(dyn, i, &k, &v); i++)
            if (!strcmp(k, *bad))
                *bad = k;
    return rc;
}

int broker_dynamic_load(struct broker *b)
{
    char path[4096];
    struct props *dyn = props_new(), *merged = NULL;
    struct store_config sc;
    const char *bad = NULL, *k, *v;
    int line = 0;
    pthread_mutex_init(&b->dynamic_mu, NULL);
    if (!dyn)
        return -ENOMEM;
    int rc = dynamic_path(b, path, sizeof path);
    if (!rc && (rc = props_load(dyn, path, &line)) == -ENOENT) {
        b->dynamic = dyn; /* none saved yet */
        return 0;
    }
    for (size_t i = 0; !rc && props_at(dyn, i, &k, &v); i++)
        if (!dynamic_key(k))
            bad = k, rc = STORE_EINVALID_CONFIG;
    if (!rc)
        rc = dynamic_merge(b, dyn, &sc, &merged, &bad);
    if (!rc)
        rc = store_set_topic_defaults(b->store, &sc.topic);
    if (rc) {
        if (rc == STORE_EINVALID_CONFIG)
            log_error("brook.broker", "%s: invalid or not dynamic: %s", path, bad ? bad : "?");
        else
            log_error("brook.broker", "%s: %s (line %d)", path, store_strerror(rc), line);
        props_free(dyn);
    } else {
        b->dynamic = dyn;
        if (props_count(dyn))
            log_info("brook.broker", "%zu dynamic broker configs from %s", props_count(dyn), path);
    }
    props_free(merged);
    return rc;
}

void broker_dynamic_free(struct broker *b)
{
    props_free(b->dynamic);
    b->dynamic = NULL;
    pthread_mutex_destroy(&b->dynamic_mu);
}

/* ---- operations ---- */

/* p without key. */
static struct props *props_without(const struct props *p, const char *key)
{
    struct props *n = props_new();
    const char *k, *v;
    if (!n)
        xalloc_fail("props", 0);
    for (size_t i = 0; props_at(p, i, &k, &v); i++)
        if (strcmp(k, key) && props_set(n, k, v))
            xalloc_fail("props", 0);
    return n;
}

static bool list_has(const char *list, const char *item, size_t len)
{
    for (const char *q = list; *q;) {
        while (*q == ',' || *q == ' ')
            q++;
        size_t n = strcspn(q, ", ");
        if (n && n == len && !memcmp(q, item, len))
            return true;
        q += n;
    }
    return false;
}

/* Add the items of `from` to buf (at *len) that keep() allows and buf lacks. */
static int list_walk(const char *from, const char *skip, char *buf, size_t size, size_t *len)
{
    for (const char *q = from; *q;) {
        while (*q == ',' || *q == ' ')
            q++;
        size_t n = strcspn(q, ", ");
        if (n && !list_has(buf, q, n) && !(skip && list_has(skip, q, n))) {
            int w = snprintf(buf + *len, size - *len, "%s%.*s", *len ? "," : "", (int)n, q);
            if (w < 0 || (size_t)w >= size - *len)
                return -EMSGSIZE;
            *len += (size_t)w;
        }
        q += n;
    }
    return 0;
}

/* APPEND or SUBTRACT the comma-separated items of `items` to or from `cur`, into
 * buf: Kafka's list arithmetic (an item already there is not added twice). */
static int list_apply(const char *cur, const char *items, bool append, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    int rc = list_walk(cur, append ? NULL : items, buf, size, &len);
    return rc || !append ? rc : list_walk(items, NULL, buf, size, &len);
}

/*
 * Apply the item's operations to *p (replaced as they go). cur_value gives a key's
 * value when *p does not (for APPEND and SUBTRACT). 0, or the error and *why.
 */
typedef const char *(*value_fn)(void *ctx, const char *key, char *buf, size_t size);

static int16_t ops_apply(const struct alter_item *it, struct props **p, value_fn value, void *ctx,
                         char *why, size_t whysize)
{
    for (int32_t i = 0; i < it->n_ops; i++) {
        const struct alter_op *o = &it->ops[i];
        char list[ALTER_LIST_MAX], buf[256];
        const char *v = o->value;
        if (o->op == OP_DELETE) {
            struct props *n = props_without(*p, o->key);
            props_free(*p);
            *p = n;
            continue;
        }
        if (o->op == OP_APPEND || o->op == OP_SUBTRACT) {
            const char *cur = props_get(*p, o->key);
            if (!cur)
                cur = value(ctx, o->key, buf, sizeof buf);
            if (list_apply(cur ? cur : "", o->value, o->op == OP_APPEND, list, sizeof list)) {
                snprintf(why, whysize, "the list %s would be too long", o->key);
                return KAFKA_INVALID_CONFIG;
            }
            v = list;
        }
        if (props_set(*p, o->key, v))
            xalloc_fail("props", 0);
    }
    return 0;
}

/* ---- topics ---- */

static const char *topic_value(void *ctx, const char *key, char *buf, size_t size)
{
    return topic_config_value(ctx, key, buf, size);
}

static int16_t alter_topic(struct broker *b, const struct alter_item *it, bool incremental,
                           bool validate_only, char *why, size_t whysize)
{
    struct store_topic *t = store_topic_get(b->store, it->name);
    struct topic_config now, next;
    const char *bad = NULL;
    int16_t err = 0;
    if (!t) {
        snprintf(why, whysize, "unknown topic");
        return KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
    }
    struct props *p = incremental ? store_topic_overrides_copy(t) : props_new();
    if (!p)
        xalloc_fail("props", 0);
    store_topic_config_get(t, &now);
    store_topic_put(t);
    if ((err = ops_apply(it, &p, topic_value, &now, why, whysize)))
        goto out;
    int rc = store_topic_config_check(b->store, p, &next, &bad);
    if (!rc && store_topic_name_internal(it->name) && next.cleanup_policy != CLEANUP_COMPACT) {
        snprintf(why, whysize, "%s must stay compacted: it holds the committed offsets", it->name);
        err = KAFKA_INVALID_CONFIG;
        goto out;
    }
    if (!rc)
        rc = store_topic_alter_config(b->store, it->name, p, validate_only, &bad);
    err = kafka_error_from(rc);
    if (rc == STORE_EINVALID_CONFIG)
        snprintf(why, whysize, "invalid value for %s", bad ? bad : "a config");
    else if (rc == -ENOENT)
        snprintf(why, whysize, "unknown topic");
    else if (rc)
        snprintf(why, whysize, "%s", store_strerror(rc));
    else if (!validate_only) { /* a peer may alter in a loop: the log is held to a rate */
        static struct log_limit limit;
        log_write_limited(&limit, LOG_INFO, "brook.broker", "configs of topic %s altered",
                          it->name);
    }
out:
    props_free(p);
    return err;
}

/* ---- the broker ---- */

static const char *broker_value(void *ctx, const char *key, char *buf, size_t size)
{
    struct broker *b = ctx;
    const char *v = props_get(b->cfg->props, key);
    const struct conf_key *k = conf_find(store_config_table, key);
    snprintf(buf, size, "%s", v ? v : k && k->def ? k->def : "");
    return buf;
}

static int16_t alter_broker(struct broker *b, const struct alter_item *it, bool incremental,
                            bool validate_only, char *why, size_t whysize)
{
    struct props *p = incremental ? broker_dynamic_copy(b) : props_new(), *merged = NULL;
    struct store_config sc;
    const char *bad = NULL;
    char path[4096];
    int16_t err;
    if (!p)
        xalloc_fail("props", 0);
    if ((err = ops_apply(it, &p, broker_value, b, why, whysize)))
        goto out;
    int rc = dynamic_merge(b, p, &sc, &merged, &bad);
    if (rc) {
        snprintf(why, whysize, "invalid value for %s", bad ? bad : "a config");
        err = KAFKA_INVALID_CONFIG;
        goto out;
    }
    if (validate_only)
        goto out;
    if ((rc = dynamic_path(b, path, sizeof path)) || (rc = props_save(p, path)) ||
        (rc = store_set_topic_defaults(b->store, &sc.topic))) {
        snprintf(why, whysize, "cannot save the dynamic configs: %s", store_strerror(rc));
        err = KAFKA_KAFKA_STORAGE_ERROR;
        goto out;
    }
    pthread_mutex_lock(&b->dynamic_mu);
    struct props *old = b->dynamic;
    b->dynamic = p;
    pthread_mutex_unlock(&b->dynamic_mu);
    p = old;
    static struct log_limit limit;
    log_write_limited(&limit, LOG_INFO, "brook.broker", "dynamic broker configs altered (%s)",
                      path);
out:
    props_free(merged);
    props_free(p);
    return err;
}

/* ---- the request ---- */

static void alter_run(struct broker *b, struct pending *pd, void *ctx)
{
    struct alter_job *job = ctx;
    for (int32_t i = 0; i < job->n; i++) {
        struct alter_item *it = &job->items[i];
        char why[ALTER_WHY_MAX] = "";
        if (it->refused)
            continue;
        int16_t err =
            it->type == RESOURCE_TOPIC
                ? alter_topic(b, it, job->incremental, job->validate_only, why, sizeof why)
                : alter_broker(b, it, job->incremental, job->validate_only, why, sizeof why);
        *it->error_code = err;
        *it->error_message = err ? kstr_from(pd_strdup(pd, kstr_from(why))) : KSTR_NULL;
    }
}

/* Loop thread: why one operation is refused (*err set), or NULL. Unknown keys are
 * refused before duplicates are looked for, so that the search for them (among at
 * most as many keys as the tables hold) stays short whatever a request sends. */
static const char *op_refusal(const struct alter_item *it, int32_t k, int16_t *err)
{
    const struct alter_op *o = &it->ops[k];
    const struct conf_key *ck = it->type == RESOURCE_TOPIC ? conf_find(topic_config_table, o->key)
                                                           : broker_config_key(o->key);
    *err = KAFKA_INVALID_REQUEST;
    if (o->op < OP_SET || o->op > OP_SUBTRACT)
        return "unknown config operation";
    if (!o->value && o->op != OP_DELETE)
        return "a null value (use DELETE)";
    *err = KAFKA_INVALID_CONFIG;
    if (!ck && !(it->type == RESOURCE_TOPIC && topic_config_known(o->key, strlen(o->key))))
        return "unknown config";
    *err = KAFKA_INVALID_REQUEST;
    for (int32_t j = 0; j < k; j++)
        if (!strcmp(it->ops[j].key, o->key))
            return "a config key named twice";
    if (it->type == RESOURCE_BROKER && !dynamic_key(o->key))
        return "not a dynamic broker config: set it in server.properties and restart";
    *err = KAFKA_INVALID_CONFIG;
    if ((o->op == OP_APPEND || o->op == OP_SUBTRACT) && (!ck || ck->type != CONF_LIST))
        return "APPEND and SUBTRACT are for list configs";
    return NULL;
}

/* Why a key or value of these lengths is refused before it is copied, or NULL. */
static const char *op_size_refusal(int64_t key_len, int64_t value_len, int16_t *err)
{
    *err = KAFKA_INVALID_CONFIG;
    if (key_len <= 0 || key_len > ALTER_KEY_MAX)
        return "unknown config";
    return value_len > ALTER_VALUE_MAX ? "a value too long" : NULL;
}

/* Loop thread: why resource i is refused (*err set), or NULL; copies its operations. */
static const char *item_check(struct broker *b, struct pending *pd, const struct alter_view *v,
                              int32_t i, bool dup, struct alter_item *it, int16_t *err,
                              const char **key)
{
    struct kstr name, k, val;
    int32_t n;
    int8_t op;
    view_resource(v, i, &it->type, &name, &n);
    *err = KAFKA_INVALID_REQUEST;
    *key = NULL;
    if (dup)
        return "Duplicate resource";
    if (it->type != RESOURCE_TOPIC && it->type != RESOURCE_BROKER)
        return "brook alters the configs of topics and the broker only";
    if (it->type == RESOURCE_BROKER && name.len > 0) {
        char id[16];
        snprintf(id, sizeof id, "%d", b->cfg->node_id);
        if (!kstr_eq(name, id))
            return "unexpected broker id: this broker's id, or empty, is expected";
    }
    it->name = pd_strdup(pd, name);
    it->ops = PENDING_NEW(pd, struct alter_op, n > 0 ? n : 0);
    it->n_ops = n > 0 ? n : 0;
    for (int32_t j = 0; j < it->n_ops; j++) {
        view_config(v, i, j, &k, &val, &op);
        const char *size_why = op_size_refusal(k.len, val.len, err);
        if (size_why)
            return size_why;
        it->ops[j] = (struct alter_op){pd_strdup(pd, k), val.p ? pd_strdup(pd, val) : NULL, op};
        const char *why = op_refusal(it, j, err);
        if (why) {
            *key = it->ops[j].key;
            return why;
        }
    }
    return NULL;
}

static int alter_resource_order(const void *ctx, int32_t a, int32_t b)
{
    const struct alter_view *v = ctx;
    struct kstr na, nb;
    int8_t ta, tb;
    int32_t n;
    view_resource(v, a, &ta, &na, &n);
    view_resource(v, b, &tb, &nb, &n);
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return kstr_compare(na, nb);
}

/* Arena bytes: the answers, and the copies of what the request sent. */
static uint64_t alter_bytes(const struct alter_view *v, int32_t n)
{
    uint64_t bytes =
        response_bytes((uint64_t)n, sizeof(struct kafka_alter_configs_resp_resource_response) +
                                        sizeof(struct alter_item));
    for (int32_t i = 0; i < n; i++) {
        struct kstr name, k, val;
        int32_t nc;
        int8_t type, op;
        view_resource(v, i, &type, &name, &nc);
        bytes += 2 * response_string_bytes(name.len) + response_string_bytes(ALTER_WHY_MAX);
        bytes += response_bytes(nc > 0 ? (uint64_t)nc : 0, sizeof(struct alter_op));
        for (int32_t j = 0; j < nc; j++) {
            view_config(v, i, j, &k, &val, &op);
            bytes += response_string_bytes(k.len) + response_string_bytes(val.len);
        }
    }
    return bytes;
}

/* Where one resource's answer goes: the two APIs' responses differ only in type. */
struct alter_slot {
    int16_t *error_code;
    struct kstr *error_message;
    int8_t *resource_type;
    struct kstr *resource_name;
};

/* Both APIs: fill items from the request and refuse what can be refused here, then
 * hand the job to the admin thread, which answers. */
static void alter_start(struct request *rq, const struct alter_view *v, bool validate_only,
                        void *resp, const struct alter_slot *slots)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    int32_t n = view_resources(v) > 0 ? view_resources(v) : 0;
    uint8_t *dup = xcalloc((size_t)n + 1, 1);
    struct alter_job *job = PENDING_NEW(pd, struct alter_job, 1);
    *job = (struct alter_job){PENDING_NEW(pd, struct alter_item, n), n, validate_only, v->inc};
    request_duplicates_mark(n, alter_resource_order, v, dup);
    for (int32_t i = 0; i < n; i++) {
        struct alter_item *it = &job->items[i];
        const struct alter_slot *sl = &slots[i];
        int16_t err;
        const char *key, *why = item_check(b, pd, v, i, dup[i] & REQUEST_DUP_ANY, it, &err, &key);
        struct kstr name;
        int32_t nc;
        view_resource(v, i, sl->resource_type, &name, &nc);
        *sl->resource_name = kstr_from(pd_strdup(pd, name));
        it->error_code = sl->error_code;
        it->error_message = sl->error_message;
        *sl->error_code = 0;
        *sl->error_message = KSTR_NULL;
        if (!why && !config_allowed(rq, *sl->resource_type, name, AUTH_OP_ALTER_CONFIGS)) {
            it->refused = true;
            *sl->error_code = *sl->resource_type == RESOURCE_TOPIC
                                  ? KAFKA_TOPIC_AUTHORIZATION_FAILED
                                  : KAFKA_CLUSTER_AUTHORIZATION_FAILED;
        } else if (why) {
            char text[ALTER_WHY_MAX];
            snprintf(text, sizeof text, "%s%s%s", why, key ? ": " : "", key ? key : "");
            it->refused = true;
            *sl->error_code = err;
            *sl->error_message = kstr_from(pd_strdup(pd, kstr_from(text)));
        }
    }
    free(dup);
    pd->resp = resp;
    admin_submit(rq, alter_run, job);
}

/* Whether the answer to n resources fits, else the request is refused. */
static bool alter_fits(struct request *rq, const struct alter_view *v, int32_t n, const char *api)
{
    if (response_fits(rq, alter_bytes(v, n) + response_bytes((uint64_t)n, 3 * sizeof(void *))))
        return true;
    char why[96];
    snprintf(why, sizeof why, "the %s response would pass the response limit", api);
    request_refuse(rq, why);
    return false;
}

void handle_incremental_alter_configs(struct request *rq)
{
    struct kafka_incremental_alter_configs_req *req = rq->body;
    struct alter_view v = {.inc = req};
    int32_t n = req->n_resources > 0 ? req->n_resources : 0;
    if (!alter_fits(rq, &v, n, "IncrementalAlterConfigs"))
        return;
    struct kafka_incremental_alter_configs_resp *resp = response_new(rq);
    resp->responses = PENDING_NEW(rq->pd, struct kafka_incremental_alter_configs_resp_response, n);
    resp->n_responses = n;
    struct alter_slot *slots = PENDING_NEW(rq->pd, struct alter_slot, n);
    for (int32_t i = 0; i < n; i++) {
        struct kafka_incremental_alter_configs_resp_response *o = &resp->responses[i];
        slots[i] = (struct alter_slot){&o->error_code, &o->error_message, &o->resource_type,
                                       &o->resource_name};
    }
    alter_start(rq, &v, req->validate_only, resp, slots);
}

void handle_alter_configs(struct request *rq)
{
    struct kafka_alter_configs_req *req = rq->body;
    struct alter_view v = {.full = req};
    int32_t n = req->n_resources > 0 ? req->n_resources : 0;
    if (!alter_fits(rq, &v, n, "AlterConfigs"))
        return;
    struct kafka_alter_configs_resp *resp = response_new(rq);
    resp->responses = PENDING_NEW(rq->pd, struct kafka_alter_configs_resp_resource_response, n);
    resp->n_responses = n;
    struct alter_slot *slots = PENDING_NEW(rq->pd, struct alter_slot, n);
    for (int32_t i = 0; i < n; i++) {
        struct kafka_alter_configs_resp_resource_response *o = &resp->responses[i];
        slots[i] = (struct alter_slot){&o->error_code, &o->error_message, &o->resource_type,
                                       &o->resource_name};
    }
    alter_start(rq, &v, req->validate_only, resp, slots);
}

/* ---- the console ---- */

int16_t alter_topic_configs(struct broker *b, const char *topic, const struct alter_op *ops,
                            int32_t n, bool validate_only, char *why, size_t whysize)
{
    struct alter_item it = {.type = RESOURCE_TOPIC, .name = (char *)topic, .n_ops = 0};
    int16_t err = 0;
    it.ops = xcalloc((size_t)n + 1, sizeof *it.ops);
    for (int32_t j = 0; j < n && !err; j++) {
        const struct alter_op *o = &ops[j];
        const char *refusal = op_size_refusal((int64_t)strlen(o->key),
                                              o->value ? (int64_t)strlen(o->value) : 0, &err);
        if (refusal) { /* as alter_start words it: no key named */
            snprintf(why, whysize, "%s", refusal);
            break;
        }
        it.ops[it.n_ops++] = *o;
        if ((refusal = op_refusal(&it, j, &err)))
            snprintf(why, whysize, "%s: %s", refusal, o->key);
        else
            err = 0;
    }
    if (!err)
        err = alter_topic(b, &it, true, validate_only, why, whysize);
    free(it.ops);
    return err;
}
