/*
 * metadata.c - what the client knows of the cluster: brokers, topics, leaders.
 *
 * Modules say which topics they need (md_want); the metadata pump keeps one
 * Metadata request in flight at a time covering them, re-asks when something is
 * missing or a module reported a moved leader (md_refresh, rate-limited by
 * retry.backoff.ms), and otherwise every metadata.max.age.ms. Topics the producer
 * needs are asked for with allow_auto_topic_creation, in a request of their own,
 * so that a consumer's or an admin's question never creates a topic.
 *
 * Brokers are connections keyed by node id. The bootstrap addresses start as
 * connections with negative ids; when an answer names a broker at the same host
 * and port, that connection takes the broker's id, so one broker is reached over
 * one connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "proto/kafka_errors.h"

struct md_broker {
    int32_t id;
    char *host;
    int32_t port;
};

struct metadata {
    struct hmap topics; /* name -> struct md_topic */
    struct md_broker *brokers;
    size_t n_brokers;
    int32_t controller;
    bool ready;         /* an answer has arrived */
    bool want;          /* a refresh was asked for */
    uint64_t version;   /* bumped when partitions or leaders change */
    int64_t next_age;   /* periodic refresh (monotonic ms) */
    int64_t not_before; /* rate limit for asked-for refreshes */
    struct req *inflight;
};

int md_init(struct brook_client *c)
{
    struct metadata *md = calloc(1, sizeof *md);
    if (!md)
        return -ENOMEM;
    hmap_init(&md->topics);
    md->controller = -1;
    md->next_age = NEVER;
    c->md = md;
    return 0;
}

static void topic_free(struct md_topic *t)
{
    free(t->name);
    free(t->parts);
    free(t);
}

static void brokers_free(struct metadata *md)
{
    for (size_t i = 0; i < md->n_brokers; i++)
        free(md->brokers[i].host);
    free(md->brokers);
    md->brokers = NULL;
    md->n_brokers = 0;
}

void md_free(struct brook_client *c)
{
    struct metadata *md = c->md;
    if (!md)
        return;
    if (md->inflight)
        req_orphan(md->inflight);
    size_t pos = 0;
    const void *key;
    size_t len;
    void *v;
    while (hmap_next(&md->topics, &pos, &key, &len, &v))
        topic_free(v);
    hmap_release(&md->topics);
    brokers_free(md);
    free(md);
    c->md = NULL;
}

struct md_topic *md_topic(struct brook_client *c, const char *topic)
{
    return hmap_get(&c->md->topics, topic, strlen(topic));
}

struct md_topic *md_want(struct brook_client *c, const char *topic, bool auto_create)
{
    struct md_topic *t = md_topic(c, topic);
    if (t) {
        t->auto_create |= auto_create;
        return t;
    }
    if (!(t = calloc(1, sizeof *t)) || !(t->name = strdup(topic))) {
        free(t);
        return NULL;
    }
    t->auto_create = auto_create;
    if (hmap_put(&c->md->topics, topic, strlen(topic), t)) {
        topic_free(t);
        return NULL;
    }
    c->md->want = true;
    c->dirty = true;
    return t;
}

void md_refresh(struct brook_client *c)
{
    if (!c->md->want) {
        c->md->want = true;
        c->dirty = true;
    }
}

uint64_t md_version(const struct brook_client *c)
{
    return c->md->version;
}

int32_t md_controller(const struct brook_client *c)
{
    return c->md->controller;
}

bool md_ready(const struct brook_client *c)
{
    return c->md->ready;
}

size_t md_brokers(const struct brook_client *c, int32_t *ids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < c->md->n_brokers && n < max; i++)
        ids[n++] = c->md->brokers[i].id;
    return n;
}

static const struct md_broker *broker_find(const struct metadata *md, int32_t id)
{
    for (size_t i = 0; i < md->n_brokers; i++)
        if (md->brokers[i].id == id)
            return &md->brokers[i];
    return NULL;
}

struct conn *md_broker_conn(struct brook_client *c, int32_t node)
{
    struct conn *k = conn_find_node(c, node);
    if (k || node < 0)
        return k;
    const struct md_broker *b = broker_find(c->md, node);
    if (!b)
        return NULL;
    for (k = c->conns; k; k = k->next)
        if (k->node < 0 && k->port == b->port && !strcmp(k->host, b->host)) {
            k->node = node;
            return k;
        }
    return conn_new(c, node, b->host, b->port);
}

struct conn *md_leader(struct brook_client *c, const struct md_topic *t, int32_t partition)
{
    if (!t || !t->known || partition < 0 || partition >= t->n_parts ||
        t->parts[partition].leader < 0) {
        md_refresh(c);
        return NULL;
    }
    struct conn *k = md_broker_conn(c, t->parts[partition].leader);
    if (!k)
        md_refresh(c);
    return k;
}

static int conn_rank(const struct conn *k, int64_t now)
{
    switch (k->state) {
    case CONN_READY: return 0;
    case CONN_HANDSHAKE:
    case CONN_CONNECTING: return 1;
    case CONN_DOWN: return now >= k->retry_at ? 2 + (k->failures > 0) : -1;
    }
    return -1;
}

struct conn *md_any_conn(struct brook_client *c, const struct conn *skip)
{
    struct conn *best = NULL;
    int best_rank = 99;
    for (struct conn *k = c->conns; k; k = k->next) {
        int r = conn_rank(k, c->now);
        if (k == skip || r < 0)
            continue;
        if (r < best_rank || (r == best_rank && r >= 2 && k->failed_at < best->failed_at)) {
            best = k;
            best_rank = r;
        }
    }
    return best;
}

/* ---- answers ---- */

static int apply_brokers(struct brook_client *c, const struct kafka_metadata_resp *r)
{
    struct metadata *md = c->md;
    struct md_broker *b = calloc((size_t)r->n_brokers + 1, sizeof *b);
    if (!b)
        return -ENOMEM;
    size_t n = 0;
    for (int32_t i = 0; i < r->n_brokers; i++) {
        const struct kafka_metadata_resp_broker *rb = &r->brokers[i];
        b[n].id = rb->node_id;
        b[n].port = rb->port;
        if (!(b[n].host = strndup(rb->host.p ? rb->host.p : "",
                                  rb->host.len > 0 ? (size_t)rb->host.len : 0)))
            break;
        n++;
    }
    if (n < (size_t)r->n_brokers) {
        for (size_t i = 0; i < n; i++)
            free(b[i].host);
        free(b);
        return -ENOMEM;
    }
    brokers_free(md);
    md->brokers = b;
    md->n_brokers = n;
    md->controller = r->controller_id;
    for (size_t i = 0; i < n; i++)
        md_broker_conn(c, b[i].id); /* adopt bootstrap connections by address */
    return 0;
}

static bool parts_differ(const struct md_topic *t, const struct md_part *p, int32_t n)
{
    if (t->n_parts != n)
        return true;
    for (int32_t i = 0; i < n; i++)
        if (t->parts[i].leader != p[i].leader || t->parts[i].err != p[i].err)
            return true;
    return false;
}

static void apply_topic(struct brook_client *c, struct md_topic *t,
                        const struct kafka_metadata_resp_topic *rt)
{
    t->known = true;
    t->err = rt->error_code;
    memcpy(t->id, rt->topic_id, sizeof t->id); /* zero before v10: Fetch then names it */
    if (rt->error_code == KAFKA_LEADER_NOT_AVAILABLE ||
        rt->error_code == KAFKA_UNKNOWN_TOPIC_OR_PARTITION)
        c->md->want |= t->auto_create; /* being created: ask again */
    if (rt->error_code)
        return;
    int32_t n = 0;
    for (int32_t i = 0; i < rt->n_partitions; i++)
        if (rt->partitions[i].partition_index >= n && rt->partitions[i].partition_index < 1000000)
            n = rt->partitions[i].partition_index + 1;
    struct md_part *p = calloc((size_t)n + 1, sizeof *p);
    if (!p)
        return; /* keep the old view; the next refresh tries again */
    for (int32_t i = 0; i < n; i++)
        p[i] = (struct md_part){i, KAFKA_LEADER_NOT_AVAILABLE, -1};
    for (int32_t i = 0; i < rt->n_partitions; i++) {
        const struct kafka_metadata_resp_partition *rp = &rt->partitions[i];
        if (rp->partition_index < 0 || rp->partition_index >= n)
            continue;
        p[rp->partition_index].err = rp->error_code;
        p[rp->partition_index].leader = rp->error_code ? -1 : rp->leader_id;
    }
    if (parts_differ(t, p, n))
        c->md->version++;
    free(t->parts);
    t->parts = p;
    t->n_parts = n;
}

void md_apply(struct brook_client *c, const struct kafka_metadata_resp *r)
{
    struct metadata *md = c->md;
    if (apply_brokers(c, r))
        return;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kafka_metadata_resp_topic *rt = &r->topics[i];
        if (rt->name.len <= 0)
            continue;
        struct md_topic *t = hmap_get(&md->topics, rt->name.p, (size_t)rt->name.len);
        if (t)
            apply_topic(c, t, rt);
    }
    md->ready = true;
    c->dirty = true;
}

static void on_metadata(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct metadata *md = c->md;
    md->inflight = NULL;
    if (err) {
        md->want = true;
        return;
    }
    md_apply(c, rs->body);
    md->next_age = c->now + c->conf.metadata_max_age_ms;
}

/* Fill rq's topic list: the auto-create topics still missing if any (then
 * *create is set), else every tracked topic. */
static int fill_topics(struct brook_client *c, struct req *rq, bool *create)
{
    struct kafka_metadata_req *body = rq->body;
    struct metadata *md = c->md;
    size_t pos = 0, n = 0;
    const void *key;
    size_t len;
    void *v;
    *create = false;
    while (hmap_next(&md->topics, &pos, &key, &len, &v)) {
        struct md_topic *t = v;
        *create |= t->auto_create && (!t->known || t->err);
    }
    body->topics = arena_calloc(&rq->arena, md->topics.n + 1, sizeof *body->topics);
    if (!body->topics)
        return -ENOMEM;
    pos = 0;
    while (hmap_next(&md->topics, &pos, &key, &len, &v)) {
        struct md_topic *t = v;
        if (*create && !(t->auto_create && (!t->known || t->err)))
            continue;
        t->create_asked |= *create;
        body->topics[n++].name = (struct kstr){t->name, (int32_t)strlen(t->name)};
    }
    body->n_topics = (int32_t)n;
    body->allow_auto_topic_creation = *create;
    return 0;
}

static bool refresh_due(struct brook_client *c)
{
    struct metadata *md = c->md;
    if (md->want || !md->ready)
        return md->want;
    size_t pos = 0;
    const void *key;
    size_t len;
    void *v;
    while (hmap_next(&md->topics, &pos, &key, &len, &v))
        if (!((struct md_topic *)v)->known)
            return true;
    if (c->now >= md->next_age)
        return md->topics.n > 0;
    client_wake_at(c, md->next_age);
    return false;
}

void md_run(struct brook_client *c)
{
    struct metadata *md = c->md;
    if (md->inflight || !refresh_due(c))
        return;
    if (c->now < md->not_before) {
        client_wake_at(c, md->not_before);
        return;
    }
    struct conn *k = md_any_conn(c, NULL);
    if (!k) {
        for (struct conn *x = c->conns; x; x = x->next)
            client_wake_at(c, x->retry_at);
        return;
    }
    struct req *rq = req_new(KAFKA_API_METADATA, on_metadata, NULL);
    bool create;
    if (!rq || fill_topics(c, rq, &create)) {
        req_free(rq);
        client_wake_at(c, c->now + c->conf.retry_backoff_ms);
        return;
    }
    md->want = false;
    md->not_before = c->now + c->conf.retry_backoff_ms;
    md->inflight = rq;
    conn_send(k, rq);
}
