/*
 * admin.c - topics and groups administration, as blocking calls.
 *
 * Each function is a short script of requests run with client_call(): metadata
 * from any broker, CreateTopics/DeleteTopics at the controller, ListGroups at
 * every broker, and for a group: FindCoordinator, then DescribeGroups and
 * OffsetFetch at the coordinator, ListOffsets at partition leaders for the lag.
 * They share one deadline, so a call's timeout bounds all of its requests.
 *
 * Results are one block each: an arena whose first allocation is the public
 * struct, with every string and array it points to in the same arena; the
 * matching _free function releases the arena.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "proto/kafka_errors.h"

#define RESULT_LIMIT (512u << 20)

/* ---- result blocks ---- */

struct result_head {
    struct arena *a;
    alignas(max_align_t) char pub[];
};

void *result_new(size_t size, struct arena **a)
{
    struct arena *ar = malloc(sizeof *ar);
    if (!ar)
        return NULL;
    arena_init(ar, RESULT_LIMIT);
    struct result_head *h = arena_alloc(ar, sizeof *h + size);
    if (!h) {
        arena_release(ar);
        free(ar);
        return NULL;
    }
    h->a = ar;
    *a = ar;
    return h->pub;
}

void result_free(void *pub)
{
    if (!pub)
        return;
    struct result_head *h = (struct result_head *)((char *)pub - offsetof(struct result_head, pub));
    struct arena *a = h->a;
    arena_release(a);
    free(a);
}

/* ---- partition offsets ---- */

struct tpo {
    const char *topic;
    int32_t partition;
    int32_t leader;
    int64_t ts;     /* ListOffsets timestamp: -2 earliest, -1 latest, or a time */
    int64_t offset; /* out, -1 unknown */
    int err;        /* out */
};

static int send_offsets(struct brook_client *c, struct conn *k, struct tpo *v, size_t n,
                        int32_t leader, int64_t deadline)
{
    struct req *rq = req_new(KAFKA_API_LIST_OFFSETS, NULL, NULL);
    struct kafka_list_offsets_req *b = rq ? rq->body : NULL;
    if (!rq || !(b->topics = arena_calloc(&rq->arena, n, sizeof *b->topics))) {
        req_free(rq);
        return -ENOMEM;
    }
    b->replica_id = -1;
    b->timeout_ms = c->conf.request_timeout_ms; /* v10+ */
    for (size_t i = 0; i < n; i++) {
        if (v[i].leader != leader)
            continue;
        struct kafka_list_offsets_req_topic *t = NULL;
        for (int32_t j = 0; j < b->n_topics && !t; j++)
            if (kstr_eq(b->topics[j].name, v[i].topic))
                t = &b->topics[j];
        if (!t) {
            t = &b->topics[b->n_topics++];
            t->name = kstr_from(v[i].topic);
            if (!(t->partitions = arena_calloc(&rq->arena, n, sizeof *t->partitions))) {
                req_free(rq);
                return -ENOMEM;
            }
        }
        t->partitions[t->n_partitions++] =
            (struct kafka_list_offsets_req_partition){.partition_index = v[i].partition,
                                                      .current_leader_epoch = -1,
                                                      .timestamp = v[i].ts,
                                                      .max_num_offsets = 1};
    }
    struct resp *rs;
    int rc = client_call(c, k, rq, deadline, &rs);
    if (rc)
        return rc;
    const struct kafka_list_offsets_resp *r = rs->body;
    for (int32_t t = 0; t < r->n_topics; t++)
        for (int32_t p = 0; p < r->topics[t].n_partitions; p++) {
            const struct kafka_list_offsets_resp_partition *rp = &r->topics[t].partitions[p];
            for (size_t i = 0; i < n; i++)
                if (v[i].leader == leader && v[i].partition == rp->partition_index &&
                    kstr_eq(r->topics[t].name, v[i].topic)) {
                    v[i].offset = rp->error_code ? -1 : rp->offset;
                    v[i].err = kerr(rp->error_code);
                }
        }
    resp_free(rs);
    return 0;
}

/* Look up v[i].offset for every entry, one request per leader. */
static int lookup_offsets(struct brook_client *c, struct tpo *v, size_t n, int64_t deadline)
{
    for (size_t i = 0; i < n; i++) {
        v[i].offset = -1;
        v[i].err = v[i].leader < 0 ? brook_err_kafka(KAFKA_LEADER_NOT_AVAILABLE) : 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].leader < 0)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = v[j].leader == v[i].leader;
        if (seen)
            continue;
        struct conn *k = md_broker_conn(c, v[i].leader);
        int rc = k ? send_offsets(c, k, v, n, v[i].leader, deadline)
                   : brook_err_kafka(KAFKA_LEADER_NOT_AVAILABLE);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- metadata ---- */

static int metadata_call(struct brook_client *c, const char *const *topics, size_t n,
                         int64_t deadline, struct resp **out)
{
    struct req *rq = req_new(KAFKA_API_METADATA, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_metadata_req *b = rq->body;
    b->allow_auto_topic_creation = false;
    b->n_topics = -1; /* all */
    if (n) {
        int err = 0;
        if (!(b->topics = arena_calloc(&rq->arena, n, sizeof *b->topics))) {
            req_free(rq);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            b->topics[i].name = req_str(rq, topics[i], &err);
        b->n_topics = (int32_t)n;
        if (err) {
            req_free(rq);
            return err;
        }
    }
    int rc = client_call(c, NULL, rq, deadline, out);
    if (!rc)
        md_apply(c, (*out)->body);
    return rc;
}

static int by_topic_name(const void *a, const void *b)
{
    return strcmp(((const struct brook_topic_info *)a)->name,
                  ((const struct brook_topic_info *)b)->name);
}

static int by_partition_id(const void *a, const void *b)
{
    int32_t x = ((const struct brook_partition_info *)a)->id;
    int32_t y = ((const struct brook_partition_info *)b)->id;
    return (x > y) - (x < y);
}

static int32_t *copy_ids(struct arena *a, const int32_t *v, int32_t n)
{
    int32_t *out = arena_calloc(a, (size_t)(n > 0 ? n : 0) + 1, sizeof *out);
    if (out && n > 0)
        memcpy(out, v, (size_t)n * sizeof *v);
    return out;
}

static int fill_partitions(struct arena *a, struct brook_topic_info *ti,
                           const struct kafka_metadata_resp_topic *rt)
{
    struct brook_partition_info *ps = arena_calloc(a, (size_t)rt->n_partitions + 1, sizeof *ps);
    if (!ps)
        return -ENOMEM;
    for (int32_t k = 0; k < rt->n_partitions; k++) {
        const struct kafka_metadata_resp_partition *rp = &rt->partitions[k];
        struct brook_partition_info *p = &ps[k];
        p->id = rp->partition_index;
        p->err = kerr(rp->error_code);
        p->leader = rp->leader_id;
        p->replicas = copy_ids(a, rp->replica_nodes, rp->n_replica_nodes);
        p->n_replicas = (size_t)rp->n_replica_nodes;
        p->isr = copy_ids(a, rp->isr_nodes, rp->n_isr_nodes);
        p->n_isr = (size_t)rp->n_isr_nodes;
        p->log_start = p->log_end = -1;
        if (!p->replicas || !p->isr)
            return -ENOMEM;
    }
    qsort(ps, (size_t)rt->n_partitions, sizeof *ps, by_partition_id);
    ti->partitions = ps;
    ti->n_partitions = (size_t)rt->n_partitions;
    return 0;
}

/* The id of the broker a bootstrap connection (node -1) reached: the one listed at
 * its host and port, else the only one listed, else -1. */
static int32_t answering_broker(const struct conn *k, const struct brook_broker_info *bs, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        if (bs[i].port == k->port && !strcmp(bs[i].host, k->host))
            return bs[i].id;
    return n == 1 ? bs[0].id : -1;
}

static int build_metadata(struct brook_client *c, const struct resp *rs,
                          struct brook_metadata **out)
{
    const struct kafka_metadata_resp *r = rs->body;
    struct arena *a;
    struct brook_metadata *md = result_new(sizeof *md, &a);
    if (!md)
        return -ENOMEM;
    md->controller_id = r->controller_id;
    md->cluster_id = kstr_is_null(r->cluster_id) ? NULL : kstr_dup(a, r->cluster_id);
    md->orig_broker_id = rs->conn->node;
    char name[300];
    snprintf(name, sizeof name, "%s:%d", rs->conn->host, rs->conn->port);
    md->orig_broker_name = arena_strndup(a, name, strlen(name));
    struct brook_broker_info *bs = arena_calloc(a, (size_t)r->n_brokers + 1, sizeof *bs);
    struct brook_topic_info *ts = arena_calloc(a, (size_t)r->n_topics + 1, sizeof *ts);
    if (!bs || !ts || !md->orig_broker_name)
        goto oom;
    for (int32_t i = 0; i < r->n_brokers; i++) {
        bs[i] = (struct brook_broker_info){
            r->brokers[i].node_id, kstr_dup(a, r->brokers[i].host), r->brokers[i].port,
            kstr_is_null(r->brokers[i].rack) ? NULL : kstr_dup(a, r->brokers[i].rack)};
        if (!bs[i].host)
            goto oom;
    }
    if (md->orig_broker_id < 0) /* a bootstrap connection: which broker it reached */
        md->orig_broker_id = answering_broker(rs->conn, bs, r->n_brokers);
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kafka_metadata_resp_topic *rt = &r->topics[i];
        ts[i].name = kstr_dup(a, rt->name);
        ts[i].err = kerr(rt->error_code);
        ts[i].internal = rt->is_internal;
        if (!ts[i].name || fill_partitions(a, &ts[i], rt))
            goto oom;
    }
    qsort(ts, (size_t)r->n_topics, sizeof *ts, by_topic_name);
    md->brokers = bs;
    md->n_brokers = (size_t)r->n_brokers;
    md->topics = ts;
    md->n_topics = (size_t)r->n_topics;
    *out = md;
    return 0;
oom:
    result_free(md);
    return -ENOMEM;
}

/* Fill log_start and log_end of every partition. */
static int metadata_offsets(struct brook_client *c, struct brook_metadata *md, int64_t deadline)
{
    size_t n = 0;
    for (size_t i = 0; i < md->n_topics; i++)
        n += md->topics[i].n_partitions;
    struct tpo *v = calloc(2 * n + 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < md->n_topics; i++)
        for (size_t j = 0; j < md->topics[i].n_partitions; j++) {
            const struct brook_partition_info *p = &md->topics[i].partitions[j];
            v[k++] = (struct tpo){md->topics[i].name, p->id, p->leader, -2, -1, 0};
            v[k++] = (struct tpo){md->topics[i].name, p->id, p->leader, -1, -1, 0};
        }
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) { /* earliest, then latest */
        struct tpo *w = calloc(n + 1, sizeof *w);
        if (!w) {
            rc = -ENOMEM;
            break;
        }
        for (size_t i = 0; i < n; i++)
            w[i] = v[2 * i + (size_t)pass];
        rc = lookup_offsets(c, w, n, deadline);
        for (size_t i = 0; i < n; i++)
            v[2 * i + (size_t)pass] = w[i];
        free(w);
    }
    k = 0;
    for (size_t i = 0; i < md->n_topics && !rc; i++)
        for (size_t j = 0; j < md->topics[i].n_partitions; j++, k += 2) {
            struct brook_partition_info *p =
                (struct brook_partition_info *)&md->topics[i].partitions[j];
            p->log_start = v[k].offset;
            p->log_end = v[k + 1].offset;
        }
    free(v);
    return rc;
}

int brook_metadata_get(struct brook_client *c, const char *const *topics, size_t n, bool offsets,
                       int timeout_ms, struct brook_metadata **out)
{
    *out = NULL;
    int64_t deadline = client_deadline(c, timeout_ms);
    struct resp *rs;
    int rc = metadata_call(c, topics, n, deadline, &rs);
    if (rc)
        return rc;
    rc = build_metadata(c, rs, out);
    resp_free(rs);
    if (!rc && offsets && (rc = metadata_offsets(c, *out, deadline))) {
        brook_metadata_free(*out);
        *out = NULL;
    }
    return rc;
}

void brook_metadata_free(struct brook_metadata *md)
{
    result_free(md);
}

/* ---- topics ---- */

/* The controller's connection (any broker's when unknown). */
static struct conn *controller(struct brook_client *c)
{
    int32_t id = md_controller(c);
    return id >= 0 ? md_broker_conn(c, id) : NULL;
}

static int fill_configs(struct req *rq, struct kafka_create_topics_req_topic *t,
                        const char *const *configs)
{
    size_t n = 0;
    while (configs && configs[n])
        n++;
    if (!n)
        return 0;
    if (!(t->configs = arena_calloc(&rq->arena, n, sizeof *t->configs)))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(configs[i], '=');
        if (!eq || eq == configs[i])
            return -EINVAL;
        char *name = arena_strndup(&rq->arena, configs[i], (size_t)(eq - configs[i]));
        if (!name)
            return -ENOMEM;
        t->configs[i].name = kstr_from(name);
        int err = 0;
        t->configs[i].value = req_str(rq, eq + 1, &err);
        if (err)
            return err;
    }
    t->n_configs = (int32_t)n;
    return 0;
}

void admin_note(struct brook_client *c, struct kstr msg)
{
    free(c->admin_msg);
    c->admin_msg = msg.p && msg.len > 0 ? strndup(msg.p, (size_t)msg.len) : NULL;
}

const char *brook_error_message(const struct brook_client *c)
{
    return c->admin_msg;
}

/* Each topic's answer into results[]: the one at its own position when it names
 * it (a name asked twice gets both of its answers), else the first by that name (a
 * broker may answer in any order); one not answered gets BROOK_ERR_PROTOCOL. */
static void create_results(const struct kafka_create_topics_resp *r, const char *const *names,
                           size_t n, int *results)
{
    for (size_t i = 0; i < n; i++) {
        results[i] = BROOK_ERR_PROTOCOL;
        if (i < (size_t)r->n_topics && kstr_eq(r->topics[i].name, names[i])) {
            results[i] = kerr(r->topics[i].error_code);
            continue;
        }
        for (int32_t k = 0; k < r->n_topics; k++)
            if (kstr_eq(r->topics[k].name, names[i])) {
                results[i] = kerr(r->topics[k].error_code);
                break;
            }
    }
}

static int create_once(struct brook_client *c, const char *const *names, size_t n,
                       int32_t partitions, int16_t replication, const char *const *configs,
                       int64_t deadline, int timeout_ms, int *results)
{
    struct req *rq = req_new(KAFKA_API_CREATE_TOPICS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_create_topics_req *b = rq->body;
    int err = 0;
    b->topics = arena_calloc(&rq->arena, n, sizeof *b->topics);
    if (!b->topics) {
        req_free(rq);
        return -ENOMEM;
    }
    b->n_topics = (int32_t)n;
    for (size_t i = 0; i < n && !err; i++) {
        b->topics[i].name = req_str(rq, names[i], &err);
        b->topics[i].num_partitions = partitions;
        b->topics[i].replication_factor = replication;
        if (!err)
            err = fill_configs(rq, &b->topics[i], configs);
    }
    b->timeout_ms = timeout_ms < 0 ? 60000 : timeout_ms;
    struct resp *rs;
    int rc = client_call_built(c, controller(c), rq, err, deadline, &rs);
    if (rc)
        return rc;
    create_results(rs->body, names, n, results);
    const struct kafka_create_topics_resp *r = rs->body;
    struct kstr msg = KSTR_NULL; /* the broker's reason for the first topic refused */
    for (int32_t k = 0; k < r->n_topics && !msg.p; k++)
        if (r->topics[k].error_code)
            msg = r->topics[k].error_message;
    admin_note(c, msg);
    resp_free(rs);
    return 0;
}

/* One request for all; asked again once if the broker it reached is not the
 * controller (then every topic says so). */
static int create_topics(struct brook_client *c, const char *const *names, size_t n,
                         int32_t partitions, int16_t replication, const char *const *configs,
                         int timeout_ms, int *results)
{
    int64_t deadline = client_deadline(c, timeout_ms);
    int rc =
        create_once(c, names, n, partitions, replication, configs, deadline, timeout_ms, results);
    if (!rc && results[0] == brook_err_kafka(KAFKA_NOT_CONTROLLER)) {
        struct resp *rs;
        if (!(rc = metadata_call(c, NULL, 0, deadline, &rs))) {
            resp_free(rs);
            rc = create_once(c, names, n, partitions, replication, configs, deadline, timeout_ms,
                             results);
        }
    }
    md_refresh(c);
    return rc;
}

int brook_topic_create(struct brook_client *c, const char *name, int32_t partitions,
                       int16_t replication, const char *const *configs, int timeout_ms)
{
    if (!name || !*name)
        return -EINVAL;
    int result;
    int rc = create_topics(c, &name, 1, partitions, replication, configs, timeout_ms, &result);
    return rc ? rc : result;
}

int brook_topics_create(struct brook_client *c, const char *const *names, size_t n,
                        int32_t partitions, int16_t replication, const char *const *configs,
                        int timeout_ms, int *results)
{
    if (!names || !results || n == 0 || n > INT32_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !*names[i])
            return -EINVAL;
    return create_topics(c, names, n, partitions, replication, configs, timeout_ms, results);
}

int brook_topic_delete(struct brook_client *c, const char *name, int timeout_ms)
{
    if (!name || !*name)
        return -EINVAL;
    int64_t deadline = client_deadline(c, timeout_ms);
    struct req *rq = req_new(KAFKA_API_DELETE_TOPICS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_delete_topics_req *b = rq->body;
    int err = 0;
    if (!(b->topic_names = arena_calloc(&rq->arena, 1, sizeof *b->topic_names))) {
        req_free(rq);
        return -ENOMEM;
    }
    b->topic_names[0] = req_str(rq, name, &err);
    b->n_topic_names = 1;
    /* v6 names topics in structs that may carry an id instead: ours is by name */
    if (!(b->topics = arena_calloc(&rq->arena, 1, sizeof *b->topics))) {
        req_free(rq);
        return -ENOMEM;
    }
    b->topics[0].name = b->topic_names[0];
    b->n_topics = 1;
    b->timeout_ms = timeout_ms < 0 ? 60000 : timeout_ms;
    struct resp *rs;
    int rc = client_call_built(c, controller(c), rq, err, deadline, &rs);
    if (rc)
        return rc;
    const struct kafka_delete_topics_resp *r = rs->body;
    rc = r->n_responses == 1 ? kerr(r->responses[0].error_code) : BROOK_ERR_PROTOCOL;
    admin_note(c, r->n_responses == 1 ? r->responses[0].error_message : KSTR_NULL);
    resp_free(rs);
    md_refresh(c);
    return rc;
}

/* ---- groups ---- */

static int ensure_metadata(struct brook_client *c, int64_t deadline)
{
    if (md_ready(c))
        return 0;
    struct resp *rs;
    int rc = metadata_call(c, NULL, 0, deadline, &rs);
    resp_free(rs);
    return rc;
}

static int add_listing(struct arena *a, struct brook_group_listing **v, size_t *n, size_t *cap,
                       const struct kafka_list_groups_resp_group *g)
{
    for (size_t i = 0; i < *n; i++)
        if (kstr_eq(g->group_id, (*v)[i].group_id))
            return 0;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct brook_group_listing *nv = arena_calloc(a, nc, sizeof *nv);
        if (!nv)
            return -ENOMEM;
        if (*n)
            memcpy(nv, *v, *n * sizeof *nv);
        *v = nv;
        *cap = nc;
    }
    struct kstr type = g->group_type.len > 0 ? g->group_type : KSTR("classic");
    (*v)[*n] = (struct brook_group_listing){kstr_dup(a, g->group_id), kstr_dup(a, g->protocol_type),
                                            kstr_dup(a, type)};
    if (!(*v)[*n].group_id || !(*v)[*n].protocol_type || !(*v)[*n].group_type)
        return -ENOMEM;
    (*n)++;
    return 0;
}

static int by_group_id(const void *a, const void *b)
{
    return strcmp(((const struct brook_group_listing *)a)->group_id,
                  ((const struct brook_group_listing *)b)->group_id);
}

int brook_groups_list(struct brook_client *c, int timeout_ms, struct brook_group_list **out)
{
    *out = NULL;
    int64_t deadline = client_deadline(c, timeout_ms);
    int rc = ensure_metadata(c, deadline);
    if (rc)
        return rc;
    struct arena *a;
    struct brook_group_list *l = result_new(sizeof *l, &a);
    if (!l)
        return -ENOMEM;
    struct brook_group_listing *v = NULL;
    size_t n = 0, cap = 0;
    int32_t ids[256];
    size_t nb = md_brokers(c, ids, 256);
    for (size_t i = 0; i < nb && !rc; i++) {
        struct conn *k = md_broker_conn(c, ids[i]);
        struct req *rq = k ? req_new(KAFKA_API_LIST_GROUPS, NULL, NULL) : NULL;
        struct resp *rs;
        if (!rq) {
            rc = -ENOMEM;
            break;
        }
        if ((rc = client_call(c, k, rq, deadline, &rs)))
            break;
        const struct kafka_list_groups_resp *r = rs->body;
        rc = kerr(r->error_code);
        for (int32_t g = 0; g < r->n_groups && !rc; g++)
            rc = add_listing(a, &v, &n, &cap, &r->groups[g]);
        resp_free(rs);
    }
    if (rc) {
        result_free(l);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof *v, by_group_id);
    l->groups = v;
    l->n_groups = n;
    *out = l;
    return 0;
}

void brook_group_list_free(struct brook_group_list *l)
{
    result_free(l);
}

static int coordinator_sync(struct brook_client *c, const char *group, int64_t deadline,
                            struct conn **out)
{
    struct req *rq = req_new(KAFKA_API_FIND_COORDINATOR, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    int err = grp_coord_ask(rq, group);
    struct resp *rs;
    int rc = client_call_built(c, NULL, rq, err, deadline, &rs);
    if (rc)
        return rc;
    struct coord_answer a = grp_coord_answer(rs);
    rc = kerr(a.error_code);
    if (!rc) {
        *out = md_broker_conn(c, a.node_id);
        if (!*out) {
            char *host = kstr_dup(&rs->arena, a.host);
            *out = host ? conn_new(c, a.node_id, host, a.port) : NULL;
        }
        rc = *out ? 0 : -ENOMEM;
    }
    resp_free(rs);
    return rc;
}

static int describe_call(struct brook_client *c, struct conn *k, const char *group,
                         int64_t deadline, struct resp **out)
{
    struct req *rq = req_new(KAFKA_API_DESCRIBE_GROUPS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_describe_groups_req *b = rq->body;
    int err = 0;
    if (!(b->groups = arena_calloc(&rq->arena, 1, sizeof *b->groups))) {
        req_free(rq);
        return -ENOMEM;
    }
    b->groups[0] = req_str(rq, group, &err);
    b->n_groups = 1;
    if (err) {
        req_free(rq);
        return err;
    }
    int rc = client_call(c, k, rq, deadline, out);
    if (rc)
        return rc;
    const struct kafka_describe_groups_resp *r = (*out)->body;
    rc = r->n_groups == 1 ? kerr(r->groups[0].error_code) : BROOK_ERR_PROTOCOL;
    if (rc) {
        resp_free(*out);
        *out = NULL;
    }
    return rc;
}

static int offset_fetch_call(struct brook_client *c, struct conn *k, const char *group,
                             int64_t deadline, struct resp **out)
{
    struct req *rq = req_new(KAFKA_API_OFFSET_FETCH, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    if (rq->vmin < 2)
        rq->vmin = 2; /* null topics, "every partition", came with v2 */
    struct kafka_offset_fetch_req *b = rq->body;
    int err = 0;
    b->group_id = req_str(rq, group, &err);
    b->n_topics = -1; /* every topic the group has offsets for */
    if (err || (err = cons_offsets_mirror(rq))) {
        req_free(rq);
        return err;
    }
    int rc = client_call(c, k, rq, deadline, out);
    if (rc)
        return rc;
    const struct kafka_offset_fetch_resp *r = (*out)->body;
    if ((rc = cons_offsets_flatten(*out)) || (rc = kerr(r->error_code))) {
        resp_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The leader of topic/partition from the client's metadata (tracking the topic). */
static int32_t leader_of(struct brook_client *c, const char *topic, int32_t partition)
{
    struct md_topic *t = md_topic(c, topic);
    if (!t || !t->known || partition >= t->n_parts)
        return -1;
    return t->parts[partition].leader;
}

/* Make the client's metadata cover these topics. */
static int track_topics(struct brook_client *c, const char *const *topics, size_t n,
                        int64_t deadline)
{
    for (size_t i = 0; i < n; i++)
        if (!md_want(c, topics[i], false))
            return -ENOMEM;
    if (!n)
        return 0;
    struct resp *rs;
    int rc = metadata_call(c, topics, n, deadline, &rs);
    resp_free(rs);
    return rc;
}

struct group_build {
    struct arena *a;
    struct brook_group_info *g;
    struct brook_group_offset *offs;
    size_t n_offs, cap_offs;
};

static struct brook_group_offset *offset_slot(struct group_build *gb, const char *topic,
                                              int32_t partition)
{
    for (size_t i = 0; i < gb->n_offs; i++)
        if (gb->offs[i].partition == partition && !strcmp(gb->offs[i].topic, topic))
            return &gb->offs[i];
    if (gb->n_offs == gb->cap_offs) {
        size_t cap = gb->cap_offs ? gb->cap_offs * 2 : 32;
        struct brook_group_offset *v = arena_calloc(gb->a, cap, sizeof *v);
        if (!v)
            return NULL;
        if (gb->n_offs)
            memcpy(v, gb->offs, gb->n_offs * sizeof *v);
        gb->offs = v;
        gb->cap_offs = cap;
    }
    struct brook_group_offset *o = &gb->offs[gb->n_offs++];
    *o = (struct brook_group_offset){topic, partition, -1, -1, -1, NULL};
    return o;
}

static int build_members(struct group_build *gb, const struct kafka_describe_groups_resp_group *rg)
{
    struct brook_group_info *g = gb->g;
    struct arena *a = gb->a;
    g->group_id = kstr_dup(a, rg->group_id);
    g->state = kstr_dup(a, rg->group_state);
    g->protocol_type = kstr_dup(a, rg->protocol_type);
    g->protocol = kstr_dup(a, rg->protocol_data);
    struct brook_member_info *m = arena_calloc(a, (size_t)rg->n_members + 1, sizeof *m);
    if (!g->group_id || !g->state || !g->protocol_type || !g->protocol || !m)
        return -ENOMEM;
    bool consumer = kstr_eq(rg->protocol_type, "consumer");
    for (int32_t i = 0; i < rg->n_members; i++) {
        const struct kafka_describe_groups_resp_member *rm = &rg->members[i];
        m[i].member_id = kstr_dup(a, rm->member_id);
        m[i].client_id = kstr_dup(a, rm->client_id);
        m[i].client_host = kstr_dup(a, rm->client_host);
        if (!m[i].member_id || !m[i].client_id || !m[i].client_host)
            return -ENOMEM;
        struct brook_tp *tps;
        size_t n;
        if (!consumer ||
            assign_decode_assignment(
                rm->member_assignment.p,
                rm->member_assignment.len > 0 ? (size_t)rm->member_assignment.len : 0, a, &tps, &n))
            continue;
        m[i].assignment = tps;
        m[i].n_assignment = n;
        for (size_t k = 0; k < n; k++) {
            struct brook_group_offset *o = offset_slot(gb, tps[k].topic, tps[k].partition);
            if (!o)
                return -ENOMEM;
            o->member_id = m[i].member_id;
        }
    }
    g->members = m;
    g->n_members = (size_t)rg->n_members;
    return 0;
}

static int build_committed(struct group_build *gb, const struct kafka_offset_fetch_resp *r)
{
    for (int32_t t = 0; t < r->n_topics; t++) {
        char *topic = kstr_dup(gb->a, r->topics[t].name);
        if (!topic)
            return -ENOMEM;
        for (int32_t p = 0; p < r->topics[t].n_partitions; p++) {
            const struct kafka_offset_fetch_resp_partition *rp = &r->topics[t].partitions[p];
            if (rp->error_code || rp->committed_offset < 0)
                continue;
            struct brook_group_offset *o = offset_slot(gb, topic, rp->partition_index);
            if (!o)
                return -ENOMEM;
            o->committed = rp->committed_offset;
        }
    }
    return 0;
}

static int by_topic_partition(const void *a, const void *b)
{
    const struct brook_group_offset *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Log end offsets and lag for every row. */
static int build_lag(struct brook_client *c, struct group_build *gb, int64_t deadline)
{
    size_t n = gb->n_offs;
    const char **topics = calloc(n + 1, sizeof *topics);
    struct tpo *v = calloc(n + 1, sizeof *v);
    int rc = topics && v ? 0 : -ENOMEM;
    size_t nt = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        bool seen = false;
        for (size_t k = 0; k < nt && !seen; k++)
            seen = !strcmp(topics[k], gb->offs[i].topic);
        if (!seen)
            topics[nt++] = gb->offs[i].topic;
    }
    if (!rc)
        rc = track_topics(c, topics, nt, deadline);
    for (size_t i = 0; i < n && !rc; i++)
        v[i] = (struct tpo){gb->offs[i].topic,
                            gb->offs[i].partition,
                            leader_of(c, gb->offs[i].topic, gb->offs[i].partition),
                            -1,
                            -1,
                            0};
    if (!rc)
        rc = lookup_offsets(c, v, n, deadline);
    for (size_t i = 0; i < n && !rc; i++) {
        struct brook_group_offset *o = &gb->offs[i];
        o->log_end = v[i].offset;
        o->lag = o->committed >= 0 && o->log_end >= 0 ? o->log_end - o->committed : -1;
    }
    free(topics);
    free(v);
    return rc;
}

static int describe_into(struct brook_client *c, const char *group, int64_t deadline,
                         struct group_build *gb)
{
    struct conn *k;
    struct resp *dr = NULL, *of = NULL;
    int rc = coordinator_sync(c, group, deadline, &k);
    if (!rc)
        rc = describe_call(c, k, group, deadline, &dr);
    if (!rc)
        rc = offset_fetch_call(c, k, group, deadline, &of);
    if (!rc)
        rc = build_members(gb, &((const struct kafka_describe_groups_resp *)dr->body)->groups[0]);
    if (!rc)
        rc = build_committed(gb, of->body);
    resp_free(dr);
    resp_free(of);
    if (!rc)
        rc = build_lag(c, gb, deadline);
    if (!rc && gb->n_offs)
        qsort(gb->offs, gb->n_offs, sizeof *gb->offs, by_topic_partition);
    gb->g->offsets = gb->offs;
    gb->g->n_offsets = gb->n_offs;
    return rc;
}

int brook_group_describe(struct brook_client *c, const char *group, int timeout_ms,
                         struct brook_group_info **out)
{
    *out = NULL;
    if (!group || !*group)
        return -EINVAL;
    struct group_build gb = {0};
    if (!(gb.g = result_new(sizeof *gb.g, &gb.a)))
        return -ENOMEM;
    int rc = describe_into(c, group, client_deadline(c, timeout_ms), &gb);
    if (rc) {
        result_free(gb.g);
        return rc;
    }
    *out = gb.g;
    return 0;
}

void brook_group_info_free(struct brook_group_info *g)
{
    result_free(g);
}

/* ---- moving a group's offsets ---- */

static int64_t spec_ts(const struct brook_offset *to)
{
    switch (to->kind) {
    case BROOK_OFFSET_BEGINNING:
    case BROOK_OFFSET_FROM_START: return -2;
    case BROOK_OFFSET_TIME: return to->value;
    default: return -1;
    }
}

/* Resolve the target offset of each entry (v[i].offset). */
static int seek_targets(struct brook_client *c, struct tpo *v, size_t n,
                        const struct brook_offset *to, int64_t deadline)
{
    if (to->kind == BROOK_OFFSET_AT) {
        for (size_t i = 0; i < n; i++)
            v[i].offset = to->value;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        v[i].ts = spec_ts(to);
    int rc = lookup_offsets(c, v, n, deadline);
    for (size_t i = 0; i < n && !rc; i++) {
        if (v[i].err)
            return v[i].err;
        if (to->kind == BROOK_OFFSET_TIME && v[i].offset < 0) { /* nothing after: the end */
            v[i].ts = -1;
            if ((rc = lookup_offsets(c, &v[i], 1, deadline)) || (rc = v[i].err))
                return rc;
        }
        if (to->kind == BROOK_OFFSET_FROM_START)
            v[i].offset += to->value;
        if (to->kind == BROOK_OFFSET_FROM_END)
            v[i].offset = v[i].offset > to->value ? v[i].offset - to->value : 0;
    }
    return rc;
}

static int commit_offsets(struct brook_client *c, struct conn *k, const char *group,
                          const struct tpo *v, size_t n, int64_t deadline)
{
    struct req *rq = req_new(KAFKA_API_OFFSET_COMMIT, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_offset_commit_req *b = rq->body;
    int err = 0;
    b->group_id = req_str(rq, group, &err);
    b->member_id = KSTR("");
    b->generation_id_or_member_epoch = -1;
    b->retention_time_ms = -1;
    b->topics = arena_calloc(&rq->arena, n + 1, sizeof *b->topics);
    for (size_t i = 0; i < n && !err && b->topics; i++) {
        struct kafka_offset_commit_req_topic *t = NULL;
        for (int32_t j = 0; j < b->n_topics && !t; j++)
            if (kstr_eq(b->topics[j].name, v[i].topic))
                t = &b->topics[j];
        if (!t) {
            t = &b->topics[b->n_topics++];
            t->name = kstr_from(v[i].topic);
            if (!(t->partitions = arena_calloc(&rq->arena, n, sizeof *t->partitions)))
                err = -ENOMEM;
        }
        if (!err)
            t->partitions[t->n_partitions++] =
                (struct kafka_offset_commit_req_partition){.partition_index = v[i].partition,
                                                           .committed_offset = v[i].offset,
                                                           .committed_leader_epoch = -1,
                                                           .commit_timestamp = -1,
                                                           .committed_metadata = KSTR("")};
    }
    if (err || !b->topics) {
        req_free(rq);
        return err ? err : -ENOMEM;
    }
    struct resp *rs;
    int rc = client_call(c, k, rq, deadline, &rs);
    if (rc)
        return rc;
    const struct kafka_offset_commit_resp *r = rs->body;
    for (int32_t t = 0; t < r->n_topics && !rc; t++)
        for (int32_t p = 0; p < r->topics[t].n_partitions && !rc; p++)
            rc = kerr(r->topics[t].partitions[p].error_code);
    resp_free(rs);
    return rc;
}

/* The partitions to move: topic's (one or all), or every committed one. */
static int seek_partitions(struct brook_client *c, const struct brook_group_info *g,
                           const char *topic, int32_t partition, int64_t deadline, struct tpo **out,
                           size_t *n)
{
    *n = 0;
    if (!topic) {
        *out = calloc(g->n_offsets + 1, sizeof **out);
        if (!*out)
            return -ENOMEM;
        for (size_t i = 0; i < g->n_offsets; i++)
            if (partition < 0 || g->offsets[i].partition == partition)
                (*out)[(*n)++] =
                    (struct tpo){g->offsets[i].topic,
                                 g->offsets[i].partition,
                                 leader_of(c, g->offsets[i].topic, g->offsets[i].partition),
                                 -1,
                                 -1,
                                 0};
        return 0;
    }
    int rc = track_topics(c, &topic, 1, deadline);
    struct md_topic *t = md_topic(c, topic);
    if (rc || !t)
        return rc ? rc : -ENOMEM;
    if (t->err)
        return kerr(t->err);
    if (partition >= t->n_parts)
        return brook_err_kafka(KAFKA_UNKNOWN_TOPIC_OR_PARTITION);
    *out = calloc((size_t)t->n_parts + 1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    for (int32_t p = 0; p < t->n_parts; p++)
        if (partition < 0 || p == partition)
            (*out)[(*n)++] = (struct tpo){topic, p, t->parts[p].leader, -1, -1, 0};
    return 0;
}

int brook_group_seek(struct brook_client *c, const char *group, const char *topic,
                     int32_t partition, const struct brook_offset *to, int timeout_ms)
{
    if (!group || !*group || !to)
        return -EINVAL;
    int64_t deadline = client_deadline(c, timeout_ms);
    struct brook_group_info *g;
    int rc = brook_group_describe(c, group, timeout_ms, &g);
    if (rc)
        return rc;
    struct tpo *v = NULL;
    size_t n = 0;
    struct conn *k = NULL;
    if (g->n_members > 0)
        rc = BROOK_ERR_GROUP_ACTIVE;
    if (!rc)
        rc = seek_partitions(c, g, topic, partition, deadline, &v, &n);
    if (!rc)
        rc = seek_targets(c, v, n, to, deadline);
    if (!rc && n)
        rc = coordinator_sync(c, group, deadline, &k);
    if (!rc && n)
        rc = commit_offsets(c, k, group, v, n, deadline);
    free(v);
    brook_group_info_free(g);
    return rc;
}

int brook_group_delete(struct brook_client *c, const char *group, int timeout_ms)
{
    if (!group || !*group)
        return -EINVAL;
    int64_t deadline = client_deadline(c, timeout_ms);
    struct conn *k;
    int rc = coordinator_sync(c, group, deadline, &k);
    if (rc)
        return rc;
    struct req *rq = req_new(KAFKA_API_DELETE_GROUPS, NULL, NULL);
    if (!rq)
        return -ENOMEM;
    struct kafka_delete_groups_req *b = rq->body;
    int err = 0;
    if (!(b->groups_names = arena_calloc(&rq->arena, 1, sizeof *b->groups_names))) {
        req_free(rq);
        return -ENOMEM;
    }
    b->groups_names[0] = req_str(rq, group, &err);
    b->n_groups_names = 1;
    struct resp *rs;
    if ((rc = client_call_built(c, k, rq, err, deadline, &rs)))
        return rc;
    const struct kafka_delete_groups_resp *r = rs->body;
    rc = r->n_results == 1 ? kerr(r->results[0].error_code) : BROOK_ERR_PROTOCOL;
    resp_free(rs);
    return rc;
}
