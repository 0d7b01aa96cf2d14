/*
 * h_cluster.c - the cluster and its one log directory: DescribeCluster and
 * DescribeLogDirs.
 *
 * DescribeCluster answers this broker, the cluster id, and this node as the
 * controller, as a Kafka broker names a live broker there. A broker listener
 * serves endpoint type 1 (brokers) only: asked for controllers (2) it answers
 * MISMATCHED_ENDPOINT_TYPE, and UNSUPPORTED_ENDPOINT_TYPE for a type Kafka does
 * not know, as Kafka does (v0 cannot ask: its type is always 1).
 *
 * DescribeLogDirs answers the one directory of log.dirs, as its absolute path,
 * with each partition's size in bytes and no lag (there is no future replica),
 * and from v4 the file system's total and usable bytes (statvfs). A null topic
 * list asks for every partition; named topics that do not exist, and partitions
 * a topic does not have, are left out, and a partition named twice is answered
 * once, as Kafka filters its partitions by the set the request names. The answer
 * is bounded by the store's partitions, not by the request: each named topic is
 * answered once, its partitions marked in a bitmap of its own partition count.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "broker/private.h"
#include "lib/xalloc.h"

#define ENDPOINT_BROKERS     1
#define ENDPOINT_CONTROLLERS 2

void handle_describe_cluster(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_describe_cluster_req *req = rq->body;
    struct kafka_describe_cluster_resp *resp = response_new(rq);
    /* the answer's endpoint type stays 1, this listener's, as in Kafka's errors too */
    if (req->endpoint_type != ENDPOINT_BROKERS) {
        bool known = req->endpoint_type == ENDPOINT_CONTROLLERS;
        char why[64];
        snprintf(why, sizeof why, "Unsupported endpoint type %d", req->endpoint_type);
        resp->error_code = known ? KAFKA_MISMATCHED_ENDPOINT_TYPE : KAFKA_UNSUPPORTED_ENDPOINT_TYPE;
        resp->error_message =
            known ? KSTR("The request was sent to an endpoint of type BROKER, but we wanted an "
                         "endpoint of type CONTROLLER")
                  : kstr_from(pd_strdup(rq->pd, kstr_from(why)));
        resp->cluster_id = KSTR("");
        request_respond(rq, resp);
        return;
    }
    const char *host;
    int port;
    conn_advertised(rq->c, &host, &port);
    resp->cluster_id = kstr_from(b->cfg->cluster_id);
    resp->controller_id = b->cfg->node_id;
    resp->brokers = PENDING_NEW(rq->pd, struct kafka_describe_cluster_resp_broker, 1);
    resp->n_brokers = 1;
    resp->brokers[0] = (struct kafka_describe_cluster_resp_broker){
        b->cfg->node_id, kstr_from(pd_strdup(rq->pd, kstr_from(host))), port, KSTR_NULL};
    if (req->include_cluster_authorized_operations)
        resp->cluster_authorized_operations =
            request_allowed_operations(rq, broker_cluster_operations, AUTH_RES_CLUSTER, NULL);
    request_respond(rq, resp);
}

/* ---- DescribeLogDirs ---- */

/* The request's topic entries sorted by name (then position), so that the entries
 * naming one topic are a run: each run is answered once, with every partition
 * its entries name. */
struct log_dirs_plan {
    char **names; /* a null list: every topic, from the store (free) */
    int32_t *idx; /* named topics: the entries in name order (free) */
    int32_t n_idx;
    int32_t n;      /* topics to answer */
    uint64_t bytes; /* their arena bytes */
};

static int log_dirs_order(const void *pa, const void *pb, void *arg)
{
    const struct kafka_describe_log_dirs_req *req = arg;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    int c = kstr_compare(req->topics[a].topic, req->topics[b].topic);
    return c ? c : (a > b) - (a < b);
}

/* The end of the run of entries that starts at position i of pl->idx. */
static int32_t log_dirs_run_end(const struct kafka_describe_log_dirs_req *req,
                                const struct log_dirs_plan *pl, int32_t i)
{
    int32_t e = i + 1;
    while (e < pl->n_idx &&
           kstr_equal(req->topics[pl->idx[e]].topic, req->topics[pl->idx[i]].topic))
        e++;
    return e;
}

/* Arena bytes of one topic's entry with up to n partitions. */
static uint64_t log_dirs_topic_bytes(const char *name, int32_t n)
{
    return response_string_bytes((int64_t)strlen(name)) +
           response_bytes((uint64_t)n, sizeof(struct kafka_describe_log_dirs_resp_partition));
}

static void log_dirs_plan_make(struct broker *b, const struct kafka_describe_log_dirs_req *req,
                               struct log_dirs_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    if (req->n_topics < 0) {
        if (!(pl->names = store_topic_names(b->store)))
            xalloc_fail("topic names", 0);
        for (; pl->names[pl->n]; pl->n++) {
            struct store_topic *t = store_topic_get(b->store, pl->names[pl->n]);
            if (t)
                pl->bytes += log_dirs_topic_bytes(pl->names[pl->n], store_topic_partition_count(t));
            store_topic_put(t);
        }
        return;
    }
    pl->n_idx = req->n_topics;
    pl->idx = xmalloc(sizeof *pl->idx * ((size_t)pl->n_idx + 1));
    for (int32_t i = 0; i < pl->n_idx; i++)
        pl->idx[i] = i;
    qsort_r(pl->idx, (size_t)pl->n_idx, sizeof *pl->idx, log_dirs_order, (void *)req);
    for (int32_t i = 0; i < pl->n_idx; i = log_dirs_run_end(req, pl, i)) {
        char name[256];
        struct store_topic *t = NULL;
        if (broker_topic_cstr(req->topics[pl->idx[i]].topic, name))
            t = store_topic_get(b->store, name);
        if (t) {
            pl->bytes += log_dirs_topic_bytes(name, store_topic_partition_count(t));
            pl->n++;
        }
        store_topic_put(t);
    }
}

/* Fill out with t's partitions: all when the run [from, to) of pl is empty, else
 * the ones its entries name. */
static void log_dirs_topic(struct pending *pd, struct store_topic *t,
                           const struct kafka_describe_log_dirs_req *req,
                           const struct log_dirs_plan *pl, int32_t from, int32_t to,
                           struct kafka_describe_log_dirs_resp_topic *out)
{
    int32_t n = store_topic_partition_count(t);
    uint8_t *want = xcalloc((size_t)n + 1, 1);
    for (int32_t i = 0; i < n && from == to; i++)
        want[i] = 1;
    for (int32_t r = from; r < to; r++) {
        const struct kafka_describe_log_dirs_req_topic *in = &req->topics[pl->idx[r]];
        for (int32_t k = 0; k < in->n_partitions; k++)
            if (in->partitions[k] >= 0 && in->partitions[k] < n)
                want[in->partitions[k]] = 1;
    }
    out->name = kstr_from(pd_strdup(pd, kstr_from(store_topic_name(t))));
    out->partitions = PENDING_NEW(pd, struct kafka_describe_log_dirs_resp_partition, n);
    for (int32_t i = 0; i < n; i++) {
        struct store_partition *p = want[i] ? store_topic_partition_figures(t, i) : NULL;
        if (!p)
            continue;
        struct store_partition_info info;
        store_partition_info(p, &info);
        out->partitions[out->n_partitions++] =
            (struct kafka_describe_log_dirs_resp_partition){i, info.size_bytes, 0, false};
    }
    free(want);
}

/* Answer the topics of the plan into r. */
static void log_dirs_fill(struct broker *b, struct pending *pd,
                          const struct kafka_describe_log_dirs_req *req,
                          const struct log_dirs_plan *pl,
                          struct kafka_describe_log_dirs_resp_result *r)
{
    r->topics = PENDING_NEW(pd, struct kafka_describe_log_dirs_resp_topic, pl->n);
    for (int32_t i = 0; pl->names && pl->names[i]; i++) {
        struct store_topic *t = store_topic_get(b->store, pl->names[i]);
        if (t && r->n_topics < pl->n) /* else deleted, or created, meanwhile */
            log_dirs_topic(pd, t, req, pl, 0, 0, &r->topics[r->n_topics++]);
        store_topic_put(t);
    }
    for (int32_t i = 0, e; i < pl->n_idx; i = e) {
        e = log_dirs_run_end(req, pl, i);
        char name[256];
        struct store_topic *t = NULL;
        if (broker_topic_cstr(req->topics[pl->idx[i]].topic, name))
            t = store_topic_get(b->store, name);
        if (t && r->n_topics < pl->n)
            log_dirs_topic(pd, t, req, pl, i, e, &r->topics[r->n_topics++]);
        store_topic_put(t);
    }
}

static void log_dirs_space(const char *dir, struct kafka_describe_log_dirs_resp_result *r)
{
    struct statvfs sv;
    if (statvfs(dir, &sv))
        return; /* -1: unknown, as the fields' default */
    r->total_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
    r->usable_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
}

void handle_describe_log_dirs(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_describe_log_dirs_req *req = rq->body;
    const char *dir = store_get_config(b->store)->dir;
    char real[PATH_MAX];
    if (!request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_CLUSTER, NULL)) { /* as Kafka */
        struct kafka_describe_log_dirs_resp *resp = response_new(rq);
        resp->error_code = KAFKA_CLUSTER_AUTHORIZATION_FAILED;
        request_respond(rq, resp);
        return;
    }
    struct log_dirs_plan pl;
    log_dirs_plan_make(b, req, &pl);
    if (!realpath(dir, real))
        snprintf(real, sizeof real, "%s", dir);
    pl.bytes += response_bytes((uint64_t)pl.n, sizeof(struct kafka_describe_log_dirs_resp_topic)) +
                response_string_bytes((int64_t)strlen(real));
    if (!response_fits(rq, pl.bytes)) {
        request_refuse(rq, "the DescribeLogDirs response would pass the response limit");
        goto cleanup;
    }
    struct kafka_describe_log_dirs_resp *resp = response_new(rq);
    struct kafka_describe_log_dirs_resp_result *r =
        PENDING_NEW(pd, struct kafka_describe_log_dirs_resp_result, 1);
    resp->results = r;
    resp->n_results = 1;
    r->log_dir = kstr_from(pd_strdup(pd, kstr_from(real)));
    r->total_bytes = r->usable_bytes = -1;
    log_dirs_space(real, r);
    log_dirs_fill(b, pd, req, &pl, r);
    request_respond(rq, resp);
cleanup:
    free(pl.names);
    free(pl.idx);
}
