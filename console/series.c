/*
 * series.c - the console's time series: the broker's figures sampled once a
 * second on the loop, the last hour of each kept in memory, for the page's
 * charts and for scripts (GET /api/v1/series/...).
 *
 * What is sampled, every SERIES_TICK_MS:
 *   - per topic: records and bytes produced per second (Kafka producers, the
 *     console's produce and lines appended through the mount, as the broker's
 *     counters have them), bytes fetched per second, and its bytes on disk;
 *   - per group: its total lag, the sum over the partitions it has committed -
 *     unknown (null) while it has committed nothing, never 0;
 *   - the broker: requests per second, records and bytes in and out per second,
 *     open connections, and per API its requests per second and the p50 and p99
 *     of the latency of the requests of that second, interpolated in the
 *     histogram buckets as Prometheus' histogram_quantile does (null in a second
 *     without a request).
 *
 * Memory is bounded whatever the broker holds: every series is a ring of
 * SERIES_POINTS 32-bit floats (an hour, 14 400 bytes), and series exist for at
 * most SERIES_MAX_TOPICS topics, SERIES_MAX_GROUPS groups, the broker's own and
 * one set per API key - SERIES_MAX_RINGS rings, 7.4 MB at most. A broker of
 * 10 000 topics keeps a series for the ones that are busy: a topic gets its rings
 * when it is produced to or fetched from, or when the page asks for it; when the
 * budget is spent, a newcomer takes the place of the topic idle and unviewed for
 * longest, if that one has been so for SERIES_IDLE_MS (else it waits). Groups
 * the same, first come. The only cost per topic the broker counts is its
 * previous counters (a few dozen bytes in `seen`), which rates need.
 *
 * A topic's or group's rings start empty (NaN) when it is first tracked: its
 * history begins then. Times are the wall clock at each sample; rates divide by
 * the monotonic time between samples.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "console/private.h"
#include "lib/clock.h"
#include "lib/hmap.h"
#include "lib/xalloc.h"
#include "proto/kafka.h"

#define SERIES_POINTS     3600   /* an hour of samples */
#define SERIES_TICK_MS    1000   /* one a second */
#define SERIES_MAX_TOPICS 64     /* topics with series at once */
#define SERIES_MAX_GROUPS 64     /* groups with series at once */
#define SERIES_IDLE_MS    60000  /* idle and unviewed this long, a topic or group may give way */
#define SERIES_MAX_VALUES 131072 /* values in one answer (about 1 MB of JSON) */

/* the first TOPIC_COUNTS of a topic's series are rates of the broker's counters, in
 * the order of struct seen's */
enum {
    TS_PRODUCE_RECORDS,
    TS_PRODUCE_BYTES,
    TS_CONSUME_BYTES,
    TS_CONSUME_RECORDS,
    TS_DISK_BYTES,
    TS_N
};
enum {
    BS_REQUESTS,
    BS_PRODUCE_RECORDS,
    BS_PRODUCE_BYTES,
    BS_CONSUME_BYTES,
    BS_CONSUME_RECORDS,
    BS_CONNECTIONS,
    BS_N
};
#define TOPIC_COUNTS 4
enum { AS_REQUESTS, AS_P50, AS_P99, AS_N };

#define SERIES_MAX_RINGS                                                                           \
    (SERIES_MAX_TOPICS * TS_N + SERIES_MAX_GROUPS + BS_N + CONSOLE_API_SLOTS * AS_N)

static const char *const topic_names[TS_N] = {"produce_records", "produce_bytes", "consume_bytes",
                                              "consume_records", "disk_bytes"};
static const char *const broker_names[BS_N] = {"requests",      "produce_records", "produce_bytes",
                                               "consume_bytes", "consume_records", "connections"};
static const char *const api_names[AS_N] = {"requests", "p50_ms", "p99_ms"};

struct ring {
    float v[SERIES_POINTS]; /* the sample of tick k at k % SERIES_POINTS; NaN: none */
};

/* A topic or group with series. */
struct track {
    char *name;
    int64_t interest_ms; /* monotonic: when it was last active or viewed */
    struct ring *r[TS_N];
    int nrings;
};

/* The previous counters of one topic the broker counts (for rates). */
struct seen {
    int64_t c[TOPIC_COUNTS];  /* messages in, bytes in, bytes out, messages out */
    float rate[TOPIC_COUNTS]; /* per second over the last tick */
    int64_t tick;             /* the tick rate is for */
    bool active;              /* the counters moved in that tick */
    char name[];
};

struct series {
    struct console *con;
    struct event *timer;
    int64_t tick;                /* samples taken */
    int64_t t_ms[SERIES_POINTS]; /* wall time of each, by tick % SERIES_POINTS */
    int64_t last_ns;             /* monotonic time of the last sample */
    struct hmap seen;            /* topic -> struct seen */
    struct track *topics[SERIES_MAX_TOPICS];
    int ntopics;
    struct track *groups[SERIES_MAX_GROUPS];
    int ngroups;
    struct ring *broker[BS_N];
    struct ring *api[CONSOLE_API_SLOTS][AS_N]; /* made when the API first serves */
    struct console_broker_counts prev;
    int64_t rings;           /* allocated, for the index */
    int64_t last_us, max_us; /* how long the last and the longest sample took */
    /* this tick's candidates: active topics without series */
    struct seen *want[SERIES_MAX_TOPICS];
    int nwant;
    double totals[TOPIC_COUNTS]; /* this tick's rates summed over every topic */
    double dt;                   /* seconds since the previous sample (0 before the first) */
};

/* ---- rings ---- */

static struct ring *ring_new(struct series *s)
{
    struct ring *r = xcalloc(1, sizeof *r);
    for (int i = 0; i < SERIES_POINTS; i++)
        r->v[i] = NAN;
    s->rings++;
    return r;
}

static void ring_free(struct series *s, struct ring *r)
{
    if (r)
        s->rings--;
    free(r);
}

static void ring_put(const struct series *s, struct ring *r, double v)
{
    r->v[s->tick % SERIES_POINTS] = (float)v;
}

/* ---- tracks: topics and groups with series ---- */

static struct track *track_find(struct track **v, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i]->name, name))
            return v[i];
    return NULL;
}

static void track_free(struct series *s, struct track *t)
{
    for (int i = 0; i < t->nrings; i++)
        ring_free(s, t->r[i]);
    free(t->name);
    free(t);
}

/* Remove v[i], keeping the others in order. */
static void track_remove(struct series *s, struct track **v, int *n, int i)
{
    track_free(s, v[i]);
    memmove(&v[i], &v[i + 1], (size_t)(*n - i - 1) * sizeof *v);
    (*n)--;
}

/*
 * A track for name in v (of at most max), made when missing: when v is full and
 * evict is set, the one whose interest is oldest gives way if that is older than
 * SERIES_IDLE_MS. NULL when none may.
 */
static struct track *track_get(struct series *s, struct track **v, int *n, int max,
                               const char *name, int nrings, int64_t now_ms, bool evict)
{
    struct track *t = track_find(v, *n, name);
    if (t)
        return t;
    if (*n == max && !evict)
        return NULL;
    if (*n == max) {
        int old = 0;
        for (int i = 1; i < *n; i++)
            if (v[i]->interest_ms < v[old]->interest_ms)
                old = i;
        if (now_ms - v[old]->interest_ms < SERIES_IDLE_MS)
            return NULL;
        track_remove(s, v, n, old);
    }
    t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name);
    t->interest_ms = now_ms;
    t->nrings = nrings;
    for (int i = 0; i < nrings; i++)
        t->r[i] = ring_new(s);
    v[(*n)++] = t;
    return t;
}

/* ---- sampling: topics ---- */

static void seen_count(void *arg, const char *topic, const struct console_topic_counts *c)
{
    struct series *s = arg;
    size_t len = strlen(topic);
    struct seen *e = hmap_get(&s->seen, topic, len);
    const int64_t now[TOPIC_COUNTS] = {c->messages_in, c->bytes_in, c->bytes_out, c->messages_out};
    if (!e) {
        e = xcalloc(1, sizeof *e + len + 1);
        memcpy(e->name, topic, len);
        if (hmap_put(&s->seen, e->name, len, e))
            xalloc_fail("series", len);
        /* counted first in this tick: from zero, unless the sampler has just begun */
        if (s->tick == 0)
            memcpy(e->c, now, sizeof e->c);
    }
    double dt = s->dt;
    e->active = false;
    for (int i = 0; i < TOPIC_COUNTS; i++) {
        e->active |= now[i] != e->c[i];
        e->rate[i] = dt > 0 ? (float)((double)(now[i] - e->c[i]) / dt) : NAN;
        e->c[i] = now[i];
    }
    e->tick = s->tick;
    for (int i = 0; i < TOPIC_COUNTS; i++)
        s->totals[i] += isnan(e->rate[i]) ? 0 : e->rate[i];
    if (e->active && s->nwant < SERIES_MAX_TOPICS && !track_find(s->topics, s->ntopics, topic))
        s->want[s->nwant++] = e;
}

/* Bytes of topic's segments, or -1 when the topic is gone. */
static int64_t topic_disk(struct console *con, const char *name)
{
    struct store_topic *t = store_topic_get(con->env.store, name);
    if (!t)
        return -1;
    int64_t sum = 0;
    for (int32_t k = 0, n = store_topic_partition_count(t); k < n; k++) {
        struct store_partition *p = store_topic_partition(t, k);
        struct store_partition_info in;
        if (!p)
            continue;
        store_partition_info(p, &in);
        sum += in.size_bytes;
    }
    store_topic_put(t);
    return sum;
}

static void sample_topics(struct series *s, int64_t now_ms)
{
    s->nwant = 0;
    memset(s->totals, 0, sizeof s->totals);
    s->con->env.counts_foreach(s->con->env.ctx, seen_count, s);
    for (int i = 0; i < s->nwant; i++)
        track_get(s, s->topics, &s->ntopics, SERIES_MAX_TOPICS, s->want[i]->name, TS_N, now_ms,
                  true);
    for (int i = 0; i < s->ntopics; i++) {
        struct track *t = s->topics[i];
        int64_t disk = topic_disk(s->con, t->name);
        if (disk < 0) { /* deleted: a topic of that name later starts afresh */
            track_remove(s, s->topics, &s->ntopics, i--);
            continue;
        }
        struct seen *e = hmap_get(&s->seen, t->name, strlen(t->name));
        bool now = e && e->tick == s->tick;
        for (int k = 0; k < TOPIC_COUNTS; k++)
            ring_put(s, t->r[k], now ? e->rate[k] : s->tick ? 0 : NAN);
        ring_put(s, t->r[TS_DISK_BYTES], (double)disk);
        if (now && e->active)
            t->interest_ms = now_ms;
    }
}

/* ---- sampling: groups ---- */

static void group_listed(void *arg, const struct console_group_info *g)
{
    struct series *s = arg;
    /* first come: a group listed never displaces another (a viewer's may) */
    track_get(s, s->groups, &s->ngroups, SERIES_MAX_GROUPS, g->id, 1, clock_mono_ms(), false);
}

struct lag_sum {
    struct console *con;
    int64_t lag;
    bool committed;
};

static void lag_add(void *arg, const char *group, const char *topic, int32_t part, int64_t offset,
                    const char *meta, int64_t when)
{
    struct lag_sum *ls = arg;
    struct store_topic *t = store_topic_get(ls->con->env.store, topic);
    struct store_partition *p = t ? store_topic_partition(t, part) : NULL;
    int64_t end = p ? store_partition_high_watermark(p) : -1;
    store_topic_put(t);
    if (end < 0)
        return; /* the topic is gone: no lag to count */
    ls->committed = true;
    ls->lag += end > offset ? end - offset : 0;
}

static void sample_groups(struct series *s)
{
    const struct console_env *env = &s->con->env;
    /* the list only while there is room: with the budget spent, a tick costs the
     * groups with series, however many groups the broker has */
    if (s->ngroups < SERIES_MAX_GROUPS)
        env->groups_foreach(env->ctx, group_listed, s);
    for (int i = 0; i < s->ngroups; i++) {
        struct track *t = s->groups[i];
        struct console_group_info gi;
        if (env->groups_describe(env->ctx, t->name, &gi, NULL, NULL)) { /* deleted */
            track_remove(s, s->groups, &s->ngroups, i--);
            continue;
        }
        struct lag_sum ls = {s->con, 0, false};
        env->groups_foreach_offset(env->ctx, t->name, lag_add, &ls);
        ring_put(s, t->r[0], ls.committed ? (double)ls.lag : NAN);
    }
}

/* ---- sampling: the broker ---- */

/* The q-quantile (0..1) of the requests counted in d, in milliseconds, linear
 * inside the bucket it falls in; the last finite bound for the +Inf bucket. */
static double quantile_ms(const int64_t *d, const int64_t *le_us, double q)
{
    int64_t n = 0, below = 0;
    for (int i = 0; i < CONSOLE_LATENCY_BUCKETS; i++)
        n += d[i];
    if (n <= 0)
        return NAN;
    double rank = q * (double)n;
    for (int i = 0; i < CONSOLE_LATENCY_BUCKETS - 1; i++) {
        if (d[i] > 0 && (double)(below + d[i]) >= rank) {
            double lo = i ? (double)le_us[i - 1] : 0, hi = (double)le_us[i];
            return (lo + (hi - lo) * (rank - (double)below) / (double)d[i]) / 1000.0;
        }
        below += d[i];
    }
    return (double)le_us[CONSOLE_LATENCY_BUCKETS - 2] / 1000.0;
}

static void sample_api(struct series *s, int k, const struct console_broker_counts *now, double dt)
{
    int64_t d[CONSOLE_LATENCY_BUCKETS], n = 0;
    for (int i = 0; i < CONSOLE_LATENCY_BUCKETS; i++)
        n += d[i] = now->latency[k][i] - s->prev.latency[k][i];
    int64_t req = now->requests[k] - s->prev.requests[k];
    if (!s->api[k][0] && !req && !n)
        return; /* never served: no rings */
    for (int i = 0; i < AS_N; i++)
        if (!s->api[k][i])
            s->api[k][i] = ring_new(s);
    ring_put(s, s->api[k][AS_REQUESTS], dt > 0 ? (double)req / dt : NAN);
    ring_put(s, s->api[k][AS_P50], quantile_ms(d, now->latency_le_us, 0.50));
    ring_put(s, s->api[k][AS_P99], quantile_ms(d, now->latency_le_us, 0.99));
}

static void sample_broker(struct series *s)
{
    struct console_broker_counts *now = xcalloc(1, sizeof *now);
    const struct console_env *env = &s->con->env;
    env->counts(env->ctx, NULL, 0, NULL, now);
    double dt = s->dt;
    int64_t req = 0;
    for (int k = 0; k < CONSOLE_API_SLOTS; k++) {
        req += now->requests[k] - s->prev.requests[k];
        if (s->tick)
            sample_api(s, k, now, dt);
    }
    bool rates = s->tick && dt > 0;
    ring_put(s, s->broker[BS_REQUESTS], rates ? (double)req / dt : NAN);
    for (int i = 0; i < TOPIC_COUNTS; i++)
        ring_put(s, s->broker[BS_PRODUCE_RECORDS + i], rates ? s->totals[i] : NAN);
    ring_put(s, s->broker[BS_CONNECTIONS], (double)now->connections);
    s->prev = *now;
    free(now);
}

static void series_tick(evutil_socket_t fd, short what, void *arg)
{
    struct series *s = arg;
    int64_t began = clock_mono_ns(), now_ms = began / 1000000;
    s->dt = s->last_ns ? (double)(began - s->last_ns) / 1e9 : 0;
    s->t_ms[s->tick % SERIES_POINTS] = clock_wall_ms();
    sample_topics(s, now_ms);
    sample_groups(s);
    sample_broker(s);
    s->last_ns = began;
    s->last_us = (clock_mono_ns() - began) / 1000;
    if (s->last_us > s->max_us)
        s->max_us = s->last_us;
    s->tick++;
}

int series_start(struct console *con)
{
    struct series *s = xcalloc(1, sizeof *s);
    s->con = con;
    hmap_init(&s->seen);
    for (int i = 0; i < BS_N; i++)
        s->broker[i] = ring_new(s);
    s->timer = event_new(con->env.base, -1, EV_PERSIST, series_tick, s);
    struct timeval tv = {SERIES_TICK_MS / 1000, (SERIES_TICK_MS % 1000) * 1000};
    if (!s->timer || event_add(s->timer, &tv)) {
        con->series = s;
        series_stop(con);
        return -ENOMEM;
    }
    con->series = s;
    series_tick(-1, 0, s); /* the counters' starting point */
    return 0;
}

void series_stop(struct console *con)
{
    struct series *s = con->series;
    if (!s)
        return;
    if (s->timer)
        event_free(s->timer);
    while (s->ntopics)
        track_remove(s, s->topics, &s->ntopics, s->ntopics - 1);
    while (s->ngroups)
        track_remove(s, s->groups, &s->ngroups, s->ngroups - 1);
    for (int i = 0; i < BS_N; i++)
        ring_free(s, s->broker[i]);
    for (int k = 0; k < CONSOLE_API_SLOTS; k++)
        for (int i = 0; i < AS_N; i++)
            ring_free(s, s->api[k][i]);
    size_t pos = 0;
    const void *key;
    size_t len;
    void *v;
    while (hmap_next(&s->seen, &pos, &key, &len, &v))
        free(v);
    hmap_release(&s->seen);
    free(s);
    con->series = NULL;
}

/* ---- the API ---- */

/* The window an answer covers: ticks [*from, s->tick) with a time after since. */
static int64_t window_from(const struct series *s, int64_t since)
{
    int64_t from = s->tick > SERIES_POINTS ? s->tick - SERIES_POINTS : 0;
    int64_t lo = from, hi = s->tick; /* times increase with ticks: bisect */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->t_ms[mid % SERIES_POINTS] > since)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void put_str(struct evbuffer *out, const char *str)
{
    json_t *j = console_str(str);
    char *text = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    if (!text)
        xalloc_fail("json", 0);
    evbuffer_add(out, text, strlen(text));
    free(text);
}

static void put_times(const struct series *s, struct evbuffer *out, int64_t from)
{
    evbuffer_add_printf(out, "\"interval_ms\":%d,\"t\":[", SERIES_TICK_MS);
    for (int64_t k = from; k < s->tick; k++)
        evbuffer_add_printf(out, "%s%lld", k > from ? "," : "",
                            (long long)s->t_ms[k % SERIES_POINTS]);
    evbuffer_add(out, "]", 1);
}

/* "name":[v, ...] for ticks [from, s->tick); NaN is null (unknown). */
static void put_ring(const struct series *s, struct evbuffer *out, const char *name,
                     const struct ring *r, int64_t from, bool comma)
{
    evbuffer_add_printf(out, "%s\"%s\":[", comma ? "," : "", name);
    for (int64_t k = from; k < s->tick; k++) {
        float v = r ? r->v[k % SERIES_POINTS] : NAN;
        if (isnan(v))
            evbuffer_add_printf(out, "%snull", k > from ? "," : "");
        else
            evbuffer_add_printf(out, "%s%.6g", k > from ? "," : "", (double)v);
    }
    evbuffer_add(out, "]", 1);
}

static void put_track(const struct series *s, struct evbuffer *out, const struct track *t,
                      const char *const *names, int64_t from)
{
    evbuffer_add(out, "{", 1);
    for (int i = 0; i < t->nrings; i++)
        put_ring(s, out, names[i], t->r[i], from, i > 0);
    evbuffer_add(out, "}", 1);
}

static void reply(struct creq *cr, struct evbuffer *out)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(cr->req);
    evbuffer_add(out, "}\n", 2);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Cache-Control", "no-store");
    console_send(cr->req, 200, out);
    evbuffer_free(out);
}

/*
 * The since= (wall ms: samples after it) and last= (the last N samples)
 * parameters, and the buffer of the answer, begun; NULL after answering 400. An
 * answer of nseries series holds at most SERIES_MAX_VALUES values: a longer window
 * loses its start (what a viewer holds waiting to be sent stays bounded).
 */
static struct evbuffer *begin(struct creq *cr, int64_t nseries, int64_t *from)
{
    const struct series *s = cr->con->series;
    int64_t since, last;
    if (console_param_i64(cr, "since", 0, 0, INT64_MAX, &since) ||
        console_param_i64(cr, "last", SERIES_POINTS, 0, SERIES_POINTS, &last))
        return NULL;
    struct evbuffer *out = evbuffer_new();
    if (!out)
        xalloc_fail("evbuffer", 0);
    *from = window_from(s, since);
    if (*from < s->tick - last)
        *from = s->tick - last;
    if (nseries > 0 && (s->tick - *from) * nseries > SERIES_MAX_VALUES)
        *from = s->tick - SERIES_MAX_VALUES / nseries;
    evbuffer_add(out, "{", 1);
    put_times(s, out, *from);
    return out;
}

void api_series_index(struct creq *cr)
{
    const struct series *s = cr->con->series;
    struct evbuffer *out = evbuffer_new();
    if (!out)
        xalloc_fail("evbuffer", 0);
    evbuffer_add_printf(out,
                        "{\"interval_ms\":%d,\"points\":%d,\"memory_bytes\":%lld,"
                        "\"memory_bound_bytes\":%lld,\"topics_counted\":%zu,\"sample_us\":%lld,"
                        "\"sample_max_us\":%lld,\"topics\":{\"budget\":%d,\"tracked\":[",
                        SERIES_TICK_MS, SERIES_POINTS,
                        (long long)s->rings * (long long)sizeof(struct ring),
                        (long long)SERIES_MAX_RINGS * (long long)sizeof(struct ring), s->seen.n,
                        (long long)s->last_us, (long long)s->max_us, SERIES_MAX_TOPICS);
    for (int i = 0, n = 0; i < s->ntopics; i++)
        if (console_may(cr, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, s->topics[i]->name)) {
            if (n++)
                evbuffer_add(out, ",", 1);
            put_str(out, s->topics[i]->name);
        }
    evbuffer_add_printf(out, "]},\"groups\":{\"budget\":%d,\"tracked\":[", SERIES_MAX_GROUPS);
    for (int i = 0, n = 0; i < s->ngroups; i++)
        if (console_may(cr, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, s->groups[i]->name)) {
            if (n++)
                evbuffer_add(out, ",", 1);
            put_str(out, s->groups[i]->name);
        }
    evbuffer_add(out, "]}", 2);
    reply(cr, out);
}

void api_series_broker(struct creq *cr)
{
    if (!console_require(cr, AUTH_OP_DESCRIBE, AUTH_RES_CLUSTER, NULL))
        return;
    const struct series *s = cr->con->series;
    int64_t from, nseries = BS_N;
    for (int k = 0; k < CONSOLE_API_SLOTS; k++)
        nseries += s->api[k][0] ? AS_N : 0;
    struct evbuffer *out = begin(cr, nseries, &from);
    if (!out)
        return;
    evbuffer_add(out, ",\"series\":{", 11);
    for (int i = 0; i < BS_N; i++)
        put_ring(s, out, broker_names[i], s->broker[i], from, i > 0);
    evbuffer_add(out, "},\"apis\":{", 10);
    for (int k = 0, n = 0; k < CONSOLE_API_SLOTS; k++) {
        const struct kafka_api *api = kafka_api_find((int16_t)k);
        if (!s->api[k][0])
            continue;
        evbuffer_add_printf(out, "%s\"%s\":{", n++ ? "," : "", api ? api->name : "Unknown");
        for (int i = 0; i < AS_N; i++)
            put_ring(s, out, api_names[i], s->api[k][i], from, i > 0);
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add(out, "}", 1);
    reply(cr, out);
}

/* GET /api/v1/series/topics: every topic with series that cr may describe. */
void api_series_topics(struct creq *cr)
{
    const struct series *s = cr->con->series;
    int64_t from, nseries = 0;
    for (int i = 0; i < s->ntopics; i++)
        nseries += console_may(cr, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, s->topics[i]->name) ? TS_N : 0;
    struct evbuffer *out = begin(cr, nseries, &from);
    if (!out)
        return;
    evbuffer_add(out, ",\"topics\":{", 11);
    for (int i = 0, n = 0; i < s->ntopics; i++) {
        if (!console_may(cr, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, s->topics[i]->name))
            continue;
        if (n++)
            evbuffer_add(out, ",", 1);
        put_str(out, s->topics[i]->name);
        evbuffer_add(out, ":", 1);
        put_track(s, out, s->topics[i], topic_names, from);
    }
    evbuffer_add(out, "}", 1);
    reply(cr, out);
}

/* GET /api/v1/series/topics/T: its series, which the asking makes (a page showing
 * a quiet topic charts it from then on) when the budget allows. */
void api_series_topic(struct creq *cr)
{
    struct series *s = cr->con->series;
    struct store_topic *st = api_topic_ref(cr, cr->seg[4], AUTH_OP_DESCRIBE);
    if (!st)
        return;
    store_topic_put(st);
    int64_t from;
    struct evbuffer *out = begin(cr, TS_N, &from);
    if (!out)
        return;
    struct track *t = track_get(s, s->topics, &s->ntopics, SERIES_MAX_TOPICS, cr->seg[4], TS_N,
                                clock_mono_ms(), true);
    evbuffer_add(out, ",\"topic\":", 9);
    put_str(out, cr->seg[4]);
    if (t) {
        t->interest_ms = clock_mono_ms();
        evbuffer_add_printf(out, ",\"tracked\":true,\"series\":");
        put_track(s, out, t, topic_names, from);
    } else {
        evbuffer_add_printf(out,
                            ",\"tracked\":false,\"reason\":\"series are kept for %d topics "
                            "at once, all busy now\",\"series\":{}",
                            SERIES_MAX_TOPICS);
    }
    reply(cr, out);
}

/* GET /api/v1/series/groups: the lag of every group with series cr may describe. */
void api_series_groups(struct creq *cr)
{
    const struct series *s = cr->con->series;
    int64_t from, nseries = 0;
    for (int i = 0; i < s->ngroups; i++)
        nseries += console_may(cr, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, s->groups[i]->name);
    struct evbuffer *out = begin(cr, nseries, &from);
    if (!out)
        return;
    evbuffer_add(out, ",\"groups\":{", 11);
    for (int i = 0, n = 0; i < s->ngroups; i++) {
        if (!console_may(cr, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, s->groups[i]->name))
            continue;
        if (n++)
            evbuffer_add(out, ",", 1);
        put_str(out, s->groups[i]->name);
        evbuffer_add(out, ":", 1);
        put_track(s, out, s->groups[i], (const char *const[]){"lag"}, from);
    }
    evbuffer_add(out, "}", 1);
    reply(cr, out);
}

void api_series_group(struct creq *cr)
{
    struct series *s = cr->con->series;
    const struct console_env *env = &cr->con->env;
    const char *id = cr->seg[4];
    struct console_group_info gi;
    if (!console_require(cr, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, id))
        return;
    if (env->groups_describe(env->ctx, id, &gi, NULL, NULL)) {
        console_reply_error(cr->req, 404, "unknown group %s", id);
        return;
    }
    int64_t from;
    struct evbuffer *out = begin(cr, 1, &from);
    if (!out)
        return;
    struct track *t =
        track_get(s, s->groups, &s->ngroups, SERIES_MAX_GROUPS, id, 1, clock_mono_ms(), true);
    evbuffer_add(out, ",\"group\":", 9);
    put_str(out, id);
    if (t) {
        t->interest_ms = clock_mono_ms();
        struct lag_sum ls = {cr->con, 0, false};
        env->groups_foreach_offset(env->ctx, id, lag_add, &ls);
        evbuffer_add_printf(out, ",\"tracked\":true,\"lag_unknown\":%s,\"series\":",
                            ls.committed ? "false" : "true");
        put_track(s, out, t, (const char *const[]){"lag"}, from);
    } else {
        evbuffer_add_printf(out,
                            ",\"tracked\":false,\"reason\":\"series are kept for %d groups "
                            "at once, all busy now\",\"series\":{}",
                            SERIES_MAX_GROUPS);
    }
    reply(cr, out);
}
