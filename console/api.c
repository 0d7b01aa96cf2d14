/*
 * api.c - the console's JSON API for the broker, topics and producing:
 * GET /api/v1/broker, GET/POST /api/v1/topics, GET/DELETE /api/v1/topics/T and
 * POST /api/v1/topics/T/messages. docs/console.md is the reference; messages are
 * read in messages.c and groups served in groups.c.
 *
 * Handlers run on the loop thread and call the store directly, except creating
 * and deleting a topic: a topic of thousands of partitions takes seconds, so that
 * runs on the admin thread (console_offload) and is answered when it is done.
 * Answers are built with jansson and sent whole; errors are {"error": "...",
 * "status": N} with a 4xx status for anything the caller can fix.
 *
 * A produced record is one batch built here and appended like a Kafka client's;
 * the answer waits until the flusher reports it durable, as acks=all does.
 * Partition "auto" hashes the key with proto/partitioner.c (the Java client's default
 * partitioner, so the same key lands where a Java producer would put it); records
 * without a key go round-robin.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/private.h"
#include "lib/clock.h"
#include "lib/conftab.h"
#include "lib/log.h"
#include "lib/props.h"
#include "lib/writer.h"
#include "lib/xalloc.h"
#include "proto/partitioner.h"
#include "proto/record.h"

#define INTERNAL_PREFIX "__"
#define MAX_HEADERS     64
#define MAX_BATCH       (8 << 20)

struct store_topic *api_topic_ref(struct creq *cr, const char *name, enum auth_op op)
{
    if (!store_topic_name_valid(name, strlen(name))) {
        console_reply_error(cr->req, 400, "invalid topic name");
        return NULL;
    }
    /* before the lookup: whether a topic exists is not told to who may not see it */
    if (!console_require(cr, op, AUTH_RES_TOPIC, name))
        return NULL;
    struct store_topic *t = store_topic_get(cr->con->env.store, name);
    if (!t)
        console_reply_error(cr->req, 404, "unknown topic %s", name);
    return t;
}

/* ---- broker ---- */

static void config_entry(void *arg, const char *name, const char *value, bool given)
{
    bool secret = conf_key_sensitive(name); /* never shown, as DescribeConfigs */
    json_t *o = json_object();
    json_object_set_new(o, "name", console_str(name));
    json_object_set_new(o, "value", secret ? json_null() : console_str(value));
    json_object_set_new(o, "source", console_str(given ? "static" : "default"));
    json_object_set_new(o, "sensitive", json_boolean(secret));
    json_array_append_new(arg, o);
}

void api_broker(struct creq *cr)
{
    const struct console_env *env = &cr->con->env;
    struct console_broker_info bi = {0};
    env->broker_info(env->ctx, &bi);
    json_t *o = json_object();
    json_object_set_new(o, "node_id", json_integer(bi.node_id));
    json_object_set_new(o, "cluster_id", console_str(bi.cluster_id));
    json_object_set_new(o, "advertised", console_str(bi.advertised));
    json_t *ls = json_array();
    for (int i = 0; i < bi.n_listeners && i < CONSOLE_MAX_LISTENERS; i++)
        json_array_append_new(ls, console_str(bi.listeners[i]));
    json_object_set_new(o, "listeners", ls);
    json_object_set_new(o, "console", console_str(console_address(cr->con)));
    json_object_set_new(o, "read_only", json_boolean(cr->con->read_only));
    json_object_set_new(o, "connections", json_integer(bi.connections));
    json_t *threads = json_array();
    for (int i = 0; i < bi.n_threads && i < CONSOLE_MAX_THREADS; i++)
        json_array_append_new(threads, json_integer(bi.thread_connections[i]));
    json_object_set_new(o, "network_threads", threads);
    json_object_set_new(o, "user", console_str(cr->principal));
    json_t *cfg = json_array();
    /* the broker's configuration, as DescribeConfigs would give it */
    if (console_may(cr, AUTH_OP_DESCRIBE_CONFIGS, AUTH_RES_CLUSTER, NULL))
        env->config_foreach(env->ctx, config_entry, cfg);
    json_object_set_new(o, "config", cfg);
    console_reply_json(cr->req, 200, o);
}

/* ---- topics ---- */

static bool internal_topic(const char *name)
{
    return !strncmp(name, INTERNAL_PREFIX, 2);
}

static json_t *partition_json(struct store_partition *p, int64_t *msgs, int64_t *bytes)
{
    struct store_partition_info in;
    store_partition_info(p, &in);
    *msgs += in.high_watermark - in.log_start_offset;
    *bytes += in.size_bytes;
    json_t *o = json_object();
    json_object_set_new(o, "partition", json_integer(in.index));
    json_object_set_new(o, "log_start_offset", json_integer(in.log_start_offset));
    json_object_set_new(o, "end_offset", json_integer(in.high_watermark));
    json_object_set_new(o, "messages", json_integer(in.high_watermark - in.log_start_offset));
    json_object_set_new(o, "size_bytes", json_integer(in.size_bytes));
    json_object_set_new(o, "segments", json_integer(in.segments));
    json_object_set_new(o, "durable_offset", json_integer(in.durable_offset));
    json_object_set_new(o, "last_append_ms", json_integer(in.last_append_ms));
    return o;
}

/* The topic's summary; with detail, its partitions and config too. */
static json_t *topic_json(struct store_topic *t, bool detail)
{
    int64_t msgs = 0, bytes = 0;
    int32_t n = store_topic_partition_count(t);
    json_t *parts = json_array();
    for (int32_t i = 0; i < n; i++) {
        struct store_partition *p = store_topic_partition_figures(t, i);
        if (p) /* else the store could not open it (and said why in the log) */
            json_array_append_new(parts, partition_json(p, &msgs, &bytes));
    }
    struct topic_config tcv;
    store_topic_config_get(t, &tcv);
    const struct topic_config *tc = &tcv;
    json_t *o = json_object();
    json_object_set_new(o, "name", console_str(store_topic_name(t)));
    json_object_set_new(o, "internal", json_boolean(internal_topic(store_topic_name(t))));
    json_object_set_new(o, "partition_count", json_integer(n));
    json_object_set_new(o, "replication_factor", json_integer(1));
    json_object_set_new(o, "messages", json_integer(msgs));
    json_object_set_new(o, "size_bytes", json_integer(bytes));
    json_object_set_new(o, "cleanup_policy",
                        console_str(tc->cleanup_policy == CLEANUP_COMPACT  ? "compact"
                                    : tc->cleanup_policy == CLEANUP_DELETE ? "delete"
                                                                           : "compact,delete"));
    if (!detail) {
        json_decref(parts);
        return o;
    }
    json_object_set_new(o, "partitions", parts);
    json_t *cfg = json_array();
    char buf[128];
    struct props *ov = store_topic_overrides_copy(t);
    for (const struct conf_key *k = topic_config_table; k->name; k++) {
        json_t *e = json_object();
        const char *given = ov ? props_get(ov, k->name) : NULL;
        bool over = given != NULL;
        json_object_set_new(e, "name", console_str(k->name));
        json_object_set_new(
            e, "value",
            console_str(given ? given : topic_config_value(tc, k->name, buf, sizeof buf)));
        json_object_set_new(e, "overridden", json_boolean(over));
        json_object_set_new(e, "source", console_str(over ? "topic" : "default"));
        json_array_append_new(cfg, e);
    }
    props_free(ov);
    json_object_set_new(o, "config", cfg);
    return o;
}

void api_topics(struct creq *cr)
{
    char **names = store_topic_names(cr->con->env.store);
    if (!names)
        xalloc_fail("topic names", 0);
    json_t *arr = json_array();
    for (char **n = names; *n; n++) {
        if (!console_may(cr, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, *n))
            continue; /* as Metadata leaves out what a principal may not describe */
        struct store_topic *t = store_topic_get(cr->con->env.store, *n);
        if (t) /* or deleted meanwhile */
            json_array_append_new(arr, topic_json(t, false));
        store_topic_put(t);
    }
    free(names);
    json_t *o = json_object();
    json_object_set_new(o, "topics", arr);
    console_reply_json(cr->req, 200, o);
}

void api_topic(struct creq *cr)
{
    struct store_topic *t = api_topic_ref(cr, cr->seg[3], AUTH_OP_DESCRIBE);
    if (!t)
        return;
    json_t *o = topic_json(t, true);
    if (!console_may(cr, AUTH_OP_DESCRIBE_CONFIGS, AUTH_RES_TOPIC, cr->seg[3]))
        json_object_set_new(o, "config", json_array());
    console_reply_json(cr->req, 200, o);
    store_topic_put(t);
}

/* Topic config from a JSON object of strings, numbers or booleans. */
static int config_props(struct creq *cr, json_t *cfg, struct props *out)
{
    const char *k;
    json_t *v;
    if (!json_is_object(cfg)) {
        console_reply_error(cr->req, 400, "config must be an object");
        return -EINVAL;
    }
    json_object_foreach(cfg, k, v)
    {
        char num[64];
        const char *s = num;
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        else if (json_is_boolean(v))
            s = json_is_true(v) ? "true" : "false";
        else
            s = NULL;
        if (!s) {
            console_reply_error(cr->req, 400, "config %s must be a string or number", k);
            return -EINVAL;
        }
        if (props_set(out, k, s))
            xalloc_fail("props", 0);
    }
    return 0;
}

/* A topic creation or deletion on the admin thread: what it needs, what it found. */
struct topic_job {
    struct evhttp_request *req;
    struct store *store;
    char name[256];
    int32_t partitions;  /* create: 0 for num.partitions */
    struct props *props; /* create: the config (owned) */
    char bad[256];       /* create: the config key refused */
    json_t *answer;      /* create: the new topic (owned) */
};

static void topic_job_free(struct topic_job *j)
{
    props_free(j->props);
    json_decref(j->answer);
    free(j);
}

/* Admin thread. */
static int create_work(void *arg)
{
    struct topic_job *j = arg;
    const char *bad = NULL;
    int rc = store_topic_create(j->store, j->name, j->partitions, j->props, &bad);
    if (bad)
        snprintf(j->bad, sizeof j->bad, "%s", bad);
    if (rc)
        return rc;
    struct store_topic *t = store_topic_get(j->store, j->name);
    if (t)
        j->answer = topic_json(t, true);
    store_topic_put(t);
    return 0;
}

/* Loop thread: answer the creation. */
static void create_done(struct console *con, void *arg, int rc)
{
    struct topic_job *j = arg;
    struct evhttp_request *req = j->req;
    if (rc == -ECANCELED)
        console_reply_error(req, 503, "the broker is shutting down");
    else if (rc == -EEXIST)
        console_reply_error(req, 409, "topic %s already exists (or collides with a partition)",
                            j->name);
    else if (rc == STORE_EINVALID_CONFIG)
        console_reply_error(req, 400, "invalid config %s", j->bad);
    else if (rc == STORE_EINVALID_TOPIC || rc == STORE_EINVALID_PARTITIONS)
        console_reply_error(req, 400, "%s", store_strerror(rc));
    else if (rc)
        console_reply_error(req, 500, "cannot create %s: %s", j->name, store_strerror(rc));
    else if (!j->answer)
        console_reply_error(req, 409, "topic %s was deleted meanwhile", j->name);
    if (!rc) {
        log_info("brook.console", "created topic %s", j->name);
        if (j->answer)
            console_reply_json(req, 201, json_incref(j->answer));
    }
    topic_job_free(j);
}

static struct topic_job *topic_job_new(struct creq *cr, const char *name)
{
    struct topic_job *j = xcalloc(1, sizeof *j);
    j->req = cr->req;
    j->store = cr->con->env.store;
    snprintf(j->name, sizeof j->name, "%s", name);
    return j;
}

void api_topic_create(struct creq *cr)
{
    json_t *body, *cfg;
    if (console_body(cr, &body))
        return;
    const char *name = json_string_value(json_object_get(body, "name"));
    json_t *parts = json_object_get(body, "partitions");
    struct props *props = props_new();
    if (!props)
        xalloc_fail("props", 0);
    if (!name || !store_topic_name_valid(name, strlen(name))) {
        console_reply_error(cr->req, 400, "name must be a topic name ([A-Za-z0-9._-], 1-249)");
        goto out;
    }
    /* as CreateTopics: Create on the cluster, or on the topic */
    if (!console_may(cr, AUTH_OP_CREATE, AUTH_RES_CLUSTER, NULL) &&
        !console_require(cr, AUTH_OP_CREATE, AUTH_RES_TOPIC, name))
        goto out;
    if (parts && (!json_is_integer(parts) || json_integer_value(parts) < 1 ||
                  json_integer_value(parts) > 100000)) {
        console_reply_error(cr->req, 400, "partitions must be an integer from 1 to 100000");
        goto out;
    }
    if ((cfg = json_object_get(body, "config")) && config_props(cr, cfg, props))
        goto out;
    struct topic_job *j = topic_job_new(cr, name);
    j->partitions = parts ? (int32_t)json_integer_value(parts) : 0;
    j->props = props;
    props = NULL;
    console_offload(cr->con, create_work, create_done, j);
out:
    props_free(props);
    json_decref(body);
}

/* Admin thread. */
static int delete_work(void *arg)
{
    struct topic_job *j = arg;
    return store_topic_delete(j->store, j->name);
}

/* Loop thread: answer the deletion. */
static void delete_done(struct console *con, void *arg, int rc)
{
    struct topic_job *j = arg;
    struct evhttp_request *req = j->req;
    if (rc == -ECANCELED)
        console_reply_error(req, 503, "the broker is shutting down");
    else if (rc == -ENOENT)
        console_reply_error(req, 404, "unknown topic %s", j->name);
    else if (rc == STORE_EDELETE_DISABLED)
        console_reply_error(req, 403, "delete.topic.enable is false");
    else if (rc)
        console_reply_error(req, 500, "cannot delete %s: %s", j->name, store_strerror(rc));
    if (!rc) {
        log_info("brook.console", "deleted topic %s", j->name);
        json_t *o = json_object();
        json_object_set_new(o, "deleted", console_str(j->name));
        console_reply_json(req, 200, o);
    }
    topic_job_free(j);
}

void api_topic_delete(struct creq *cr)
{
    const char *name = cr->seg[3];
    struct store_topic *t = api_topic_ref(cr, name, AUTH_OP_DELETE);
    if (!t)
        return;
    store_topic_put(t);
    if (internal_topic(name)) {
        console_reply_error(cr->req, 400, "%s is internal and cannot be deleted", name);
        return;
    }
    console_offload(cr->con, delete_work, delete_done, topic_job_new(cr, name));
}
/* ---- produce ---- */

/* Bytes of one field: a string as text or base64 (per `<name>_encoding`), any other
 * JSON value as its compact text; JSON null or absent gives *len = -1. */
struct bytes {
    uint8_t *p; /* owned */
    int32_t len;
};

static int field_bytes(struct creq *cr, json_t *obj, const char *name, struct bytes *out)
{
    char enc_key[64];
    snprintf(enc_key, sizeof enc_key, "%s_encoding", name);
    json_t *v = json_object_get(obj, name);
    const char *enc = json_string_value(json_object_get(obj, enc_key));
    *out = (struct bytes){NULL, -1};
    if (enc && strcmp(enc, "text") && strcmp(enc, "base64")) {
        console_reply_error(cr->req, 400, "%s must be text or base64", enc_key);
        return -EINVAL;
    }
    if (!v || json_is_null(v))
        return 0;
    size_t n;
    if (json_is_string(v) && enc && !strcmp(enc, "base64")) {
        out->p = console_base64_decode(json_string_value(v), json_string_length(v), &n);
        if (!out->p) {
            console_reply_error(cr->req, 400, "%s is not valid base64", name);
            return -EINVAL;
        }
    } else if (json_is_string(v)) {
        n = json_string_length(v);
        out->p = xmalloc(n + 1);
        memcpy(out->p, json_string_value(v), n);
    } else {
        out->p = (uint8_t *)json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        n = out->p ? strlen((char *)out->p) : 0;
    }
    out->len = (int32_t)n;
    return 0;
}

struct produce_args {
    struct bytes key, value;
    struct record_header headers[MAX_HEADERS];
    struct bytes hkeys[MAX_HEADERS], hvals[MAX_HEADERS];
    int nheaders;
    int64_t timestamp;
    int64_t partition; /* -1: auto */
};

static void produce_args_release(struct produce_args *a)
{
    free(a->key.p);
    free(a->value.p);
    for (int i = 0; i < a->nheaders; i++) {
        free(a->hkeys[i].p);
        free(a->hvals[i].p);
    }
}

/* One header {"key": ..., "value": ..., "value_encoding": ...}. */
static int header_arg(struct creq *cr, json_t *h, struct produce_args *a)
{
    int i = a->nheaders++; /* counted at once, so that release frees what is parsed */
    if (!json_is_object(h) || !json_is_string(json_object_get(h, "key"))) {
        console_reply_error(cr->req, 400, "each header needs a string key");
        return -EINVAL;
    }
    if (field_bytes(cr, h, "key", &a->hkeys[i]) || field_bytes(cr, h, "value", &a->hvals[i]))
        return -EINVAL;
    a->headers[i] =
        (struct record_header){a->hkeys[i].p, a->hkeys[i].len, a->hvals[i].p, a->hvals[i].len};
    return 0;
}

static int headers_args(struct creq *cr, json_t *hs, struct produce_args *a)
{
    if (!hs || json_is_null(hs))
        return 0;
    if (json_is_object(hs)) { /* {"name": "value", ...} */
        json_t *arr = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(hs, k, v)
        {
            json_t *o = json_object();
            json_object_set_new(o, "key", console_str(k));
            json_object_set(o, "value", v);
            json_array_append_new(arr, o);
        }
        int rc = headers_args(cr, arr, a);
        json_decref(arr);
        return rc;
    }
    if (!json_is_array(hs) || json_array_size(hs) > MAX_HEADERS) {
        console_reply_error(cr->req, 400, "headers must be an array of at most %d {key, value}",
                            MAX_HEADERS);
        return -EINVAL;
    }
    size_t i;
    json_t *h;
    json_array_foreach(hs, i, h) if (header_arg(cr, h, a)) return -EINVAL;
    return 0;
}

static int produce_args(struct creq *cr, json_t *body, int32_t nparts, struct produce_args *a)
{
    json_t *part = json_object_get(body, "partition"), *ts = json_object_get(body, "timestamp");
    memset(a, 0, sizeof *a);
    a->key.len = a->value.len = -1;
    a->partition = -1;
    bool is_auto = !part || json_is_null(part) ||
                   (json_is_string(part) && !strcmp(json_string_value(part), "auto"));
    if (!is_auto) {
        if (!json_is_integer(part) || json_integer_value(part) < 0 ||
            json_integer_value(part) >= nparts) {
            console_reply_error(cr->req, 400, "partition must be auto or 0 to %d", nparts - 1);
            return -EINVAL;
        }
        a->partition = json_integer_value(part);
    }
    a->timestamp = clock_wall_ms();
    if (ts && !json_is_null(ts)) {
        if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
            console_reply_error(cr->req, 400, "timestamp must be milliseconds since the epoch");
            return -EINVAL;
        }
        a->timestamp = json_integer_value(ts);
    }
    if (field_bytes(cr, body, "key", &a->key) || field_bytes(cr, body, "value", &a->value))
        return -EINVAL;
    return headers_args(cr, json_object_get(body, "headers"), a);
}

struct produce_wait {
    struct evhttp_request *req;
    char topic[256];
    int32_t partition;
    int64_t offset, timestamp;
};

static void produce_durable(struct console *con, void *arg, int rc)
{
    struct produce_wait *w = arg;
    if (rc == -ECANCELED) {
        console_reply_error(w->req, 503, "the broker is shutting down");
    } else if (rc) {
        console_reply_error(w->req, 500, "the record was written but flushing failed: %s",
                            store_strerror(rc));
    } else {
        json_t *o = json_object();
        json_object_set_new(o, "topic", console_str(w->topic));
        json_object_set_new(o, "partition", json_integer(w->partition));
        json_object_set_new(o, "offset", json_integer(w->offset));
        json_object_set_new(o, "timestamp", json_integer(w->timestamp));
        console_reply_json(w->req, 200, o);
    }
    free(w);
}

static int32_t choose_partition(struct console *con, const struct produce_args *a, int32_t n)
{
    if (a->partition >= 0)
        return (int32_t)a->partition;
    if (a->key.len >= 0)
        return murmur2_partition(a->key.p, (size_t)a->key.len, n);
    return (int32_t)(con->round_robin++ % (uint32_t)n);
}

static void append_failed(struct creq *cr, int rc)
{
    if (rc == -EMSGSIZE)
        console_reply_error(cr->req, 413, "the record is larger than max.message.bytes");
    else if (rc == STORE_EINVALID_RECORD)
        console_reply_error(cr->req, 400, "%s", store_strerror(rc));
    else
        console_reply_error(cr->req, rc == STORE_EFAILED ? 503 : 500, "cannot append: %s",
                            store_strerror(rc));
}

/* Build the one-record batch and append it; answer once it is durable. */
static void produce_append(struct creq *cr, struct store_topic *t, struct produce_args *a)
{
    struct batch_builder bb;
    struct writer out;
    struct store_append res;
    int32_t part = choose_partition(cr->con, a, store_topic_partition_count(t));
    struct store_partition *p = store_topic_partition(t, part);
    if (!p) { /* the store could not open it */
        console_reply_error(cr->req, 503, "partition %d cannot be opened", part);
        return;
    }
    batch_builder_init(&bb, CODEC_NONE, MAX_BATCH);
    writer_init(&out, MAX_BATCH);
    int rc = batch_builder_add(&bb, a->timestamp, a->key.p, a->key.len, a->value.p, a->value.len,
                               a->headers, a->nheaders);
    if (!rc)
        rc = batch_builder_finish(&bb, -1, &out);
    if (!rc)
        rc = store_partition_append(p, out.buf, out.len, &res);
    if (rc) {
        append_failed(cr, rc);
        goto out;
    }
    cr->con->env.count_produced(cr->con->env.ctx, store_topic_name(t), 1, (int64_t)out.len);
    struct produce_wait *w = xcalloc(1, sizeof *w);
    *w = (struct produce_wait){cr->req, "", part, res.base_offset, a->timestamp};
    snprintf(w->topic, sizeof w->topic, "%s", store_topic_name(t));
    if ((rc = console_when_durable(cr->con, p, res.last_offset + 1, produce_durable, w))) {
        free(w);
        console_reply_error(cr->req, 503, "cannot wait for the flush: %s", store_strerror(rc));
    }
out:
    batch_builder_release(&bb);
    writer_release(&out);
}

void api_produce(struct creq *cr)
{
    json_t *body = NULL;
    struct produce_args a;
    struct store_topic *t = api_topic_ref(cr, cr->seg[3], AUTH_OP_WRITE);
    if (!t)
        return;
    memset(&a, 0, sizeof a);
    if (!console_body(cr, &body) && !produce_args(cr, body, store_topic_partition_count(t), &a))
        produce_append(cr, t, &a);
    produce_args_release(&a);
    json_decref(body);
    store_topic_put(t);
}
