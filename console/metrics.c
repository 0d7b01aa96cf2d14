/*
 * metrics.c - GET /metrics in the Prometheus text format (0.0.4).
 *
 * Names follow what existing Kafka dashboards query, so they work unchanged:
 *   - the JMX exporter's Kafka rules (lower-cased MBean names, counters with
 *     _total): kafka_server_brokertopicmetrics_{messagesin,bytesin,bytesout}_total
 *     by topic (plus the broker-wide line without a label, as Kafka has both),
 *     kafka_network_requestmetrics_requests_total by request,
 *     kafka_log_log_{size,logstartoffset,logendoffset,numlogsegments} by topic
 *     and partition, and the replica manager / controller gauges overview
 *     dashboards show (always healthy on one broker);
 *   - kafka_exporter's consumer-group names: kafka_consumergroup_current_offset,
 *     kafka_consumergroup_lag and kafka_consumergroup_members with the label
 *     "consumergroup", and kafka_topic_partition_{current,oldest}_offset;
 *   - the standard process_* metrics every Prometheus client library exports;
 *   - brook_* for what only brook has (connections, console streams).
 *
 * Counters come from the broker's snapshot (env.counts: what the Kafka handlers
 * and the console's produce counted); gauges are read from the store and the
 * group view at scrape time. Every family's samples are written together, as the format
 * requires.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "console/private.h"
#include "lib/hmap.h"
#include "lib/xalloc.h"
#include "proto/kafka.h"

struct topic_row {
    char *name;
    struct store_topic *t;
    int64_t msgs_in, bytes_in, bytes_out;
};

struct scrape {
    const struct console_env *env;
    struct console_broker_counts counts; /* the broker's, taken with the topics' */
    struct evbuffer *out;
    struct topic_row *topics;
    size_t ntopics;
};

static void family(struct scrape *s, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(s->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped. */
static void label(struct evbuffer *out, const char *name, const char *v, bool last)
{
    evbuffer_add_printf(out, "%s=\"", name);
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            evbuffer_add_printf(out, "\\%c", *p);
        else if (*p == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, p, 1);
    }
    evbuffer_add(out, last ? "\"}" : "\",", 2);
}

/* ---- topics ---- */

static void snapshot_topics(struct scrape *s)
{
    char **names = store_topic_names(s->env->store);
    size_t n = 0;
    if (!names)
        xalloc_fail("topic names", 0);
    while (names[n])
        n++;
    s->topics = xcalloc(n + 1, sizeof *s->topics);
    struct console_topic_counts *c = xcalloc(n + 1, sizeof *c);
    s->env->counts(s->env->ctx, (const char *const *)names, n, c, &s->counts);
    for (size_t i = 0; i < n; i++) {
        struct store_topic *t = store_topic_get(s->env->store, names[i]);
        if (!t)
            continue;
        struct topic_row *r = &s->topics[s->ntopics++];
        r->name = names[i];
        r->t = t;
        r->msgs_in = c[i].messages_in;
        r->bytes_in = c[i].bytes_in;
        r->bytes_out = c[i].bytes_out;
    }
    free(c);
    s->topics[s->ntopics].name = (char *)names; /* freed with the rows */
}

static void release_topics(struct scrape *s)
{
    for (size_t i = 0; i < s->ntopics; i++)
        store_topic_put(s->topics[i].t);
    free(s->topics[s->ntopics].name);
    free(s->topics);
}

enum topic_field { T_MSGS_IN, T_BYTES_IN, T_BYTES_OUT };

static int64_t topic_value(const struct topic_row *r, enum topic_field f)
{
    return f == T_MSGS_IN ? r->msgs_in : f == T_BYTES_IN ? r->bytes_in : r->bytes_out;
}

static void topic_counter(struct scrape *s, const char *name, const char *help, enum topic_field f)
{
    int64_t total = 0;
    family(s, name, "counter", help);
    for (size_t i = 0; i < s->ntopics; i++)
        total += topic_value(&s->topics[i], f);
    evbuffer_add_printf(s->out, "%s %lld\n", name, (long long)total);
    for (size_t i = 0; i < s->ntopics; i++) {
        evbuffer_add_printf(s->out, "%s{", name);
        label(s->out, "topic", s->topics[i].name, true);
        evbuffer_add_printf(s->out, " %lld\n", (long long)topic_value(&s->topics[i], f));
    }
}

enum part_field { P_SIZE, P_START, P_END, P_SEGMENTS };

static int64_t part_value(const struct store_partition_info *in, enum part_field f)
{
    switch (f) {
    case P_SIZE: return in->size_bytes;
    case P_START: return in->log_start_offset;
    case P_END: return in->high_watermark;
    default: return in->segments;
    }
}

static void partition_gauge(struct scrape *s, const char *name, const char *help, enum part_field f)
{
    family(s, name, "gauge", help);
    for (size_t i = 0; i < s->ntopics; i++) {
        int32_t n = store_topic_partition_count(s->topics[i].t);
        for (int32_t k = 0; k < n; k++) {
            struct store_partition_info in;
            char part[16];
            struct store_partition *p = store_topic_partition_figures(s->topics[i].t, k);
            if (!p) /* one the store could not open has no figures */
                continue;
            store_partition_info(p, &in);
            snprintf(part, sizeof part, "%d", k);
            evbuffer_add_printf(s->out, "%s{", name);
            label(s->out, "partition", part, false);
            label(s->out, "topic", s->topics[i].name, true);
            evbuffer_add_printf(s->out, " %lld\n", (long long)part_value(&in, f));
        }
    }
}

static void gauge(struct scrape *s, const char *name, const char *help, int64_t v)
{
    family(s, name, "gauge", help);
    evbuffer_add_printf(s->out, "%s %lld\n", name, (long long)v);
}

static void cluster_gauges(struct scrape *s)
{
    int64_t parts = 0;
    for (size_t i = 0; i < s->ntopics; i++)
        parts += store_topic_partition_count(s->topics[i].t);
    gauge(s, "kafka_server_replicamanager_partitioncount", "Partitions on this broker.", parts);
    gauge(s, "kafka_server_replicamanager_leadercount", "Partitions this broker leads.", parts);
    gauge(s, "kafka_server_replicamanager_underreplicatedpartitions",
          "Under-replicated partitions (none: one broker, replication factor 1).", 0);
    gauge(s, "kafka_controller_kafkacontroller_activecontrollercount",
          "Whether this broker is the controller.", 1);
    gauge(s, "kafka_controller_kafkacontroller_offlinepartitionscount",
          "Partitions without a leader.", 0);
    gauge(s, "kafka_controller_kafkacontroller_globaltopiccount", "Topics.", (int64_t)s->ntopics);
    gauge(s, "kafka_controller_kafkacontroller_globalpartitioncount", "Partitions.", parts);
}

/* ---- requests ---- */

static void request_counters(struct scrape *s)
{
    const int64_t *req = s->counts.requests, *err = s->counts.request_errors;
    for (int pass = 0; pass < 2; pass++) {
        const char *name = pass ? "kafka_network_requestmetrics_errors_total"
                                : "kafka_network_requestmetrics_requests_total";
        family(s, name, "counter",
               pass ? "Requests that could not be decoded or are not supported, by request."
                    : "Kafka protocol requests received, by request.");
        for (int16_t k = 0; k < CONSOLE_API_SLOTS; k++) {
            const struct kafka_api *api = kafka_api_find(k);
            int64_t v = pass ? err[k] : req[k];
            if (!api && !v)
                continue;
            evbuffer_add_printf(s->out, "%s{", name);
            if (pass)
                label(s->out, "error", "INVALID_REQUEST", false);
            label(s->out, "request", api ? api->name : "Unknown", true);
            evbuffer_add_printf(s->out, " %lld\n", (long long)v);
        }
    }
}

/* Latency, as one histogram per API that has served a request (brook_, since
 * Kafka's own RequestMetrics are JMX percentiles, not a histogram). */
static void request_latency(struct scrape *s)
{
    const char *name = "brook_request_duration_seconds";
    family(s, name, "histogram",
           "Kafka protocol request time from arrival until the response is ready, by API.");
    for (int16_t k = 0; k < CONSOLE_API_SLOTS; k++) {
        const struct kafka_api *api = kafka_api_find(k);
        const int64_t *b = s->counts.latency[k];
        int64_t cum = 0;
        for (int i = 0; i < CONSOLE_LATENCY_BUCKETS; i++)
            cum += b[i];
        if (!cum)
            continue;
        const char *an = api ? api->name : "Unknown";
        cum = 0;
        for (int i = 0; i < CONSOLE_LATENCY_BUCKETS; i++) {
            char le[32];
            cum += b[i];
            if (i < CONSOLE_LATENCY_BUCKETS - 1)
                snprintf(le, sizeof le, "%g", (double)s->counts.latency_le_us[i] / 1e6);
            else
                snprintf(le, sizeof le, "+Inf");
            evbuffer_add_printf(s->out, "%s_bucket{", name);
            label(s->out, "api", an, false);
            label(s->out, "le", le, true);
            evbuffer_add_printf(s->out, " %lld\n", (long long)cum);
        }
        evbuffer_add_printf(s->out, "%s_sum{", name);
        label(s->out, "api", an, true);
        evbuffer_add_printf(s->out, " %.9f\n", (double)s->counts.latency_sum_ns[k] / 1e9);
        evbuffer_add_printf(s->out, "%s_count{", name);
        label(s->out, "api", an, true);
        evbuffer_add_printf(s->out, " %lld\n", (long long)cum);
    }
}

/* ---- consumer groups ---- */

/* The lag of an offset committed on a partition: its end offset minus the
 * commit, 0 for a commit past the end; -1 when the topic or partition is gone
 * since the commit (such offsets have no lag to tell). */
static int64_t group_partition_lag(struct scrape *s, const char *topic, int32_t part,
                                   int64_t offset)
{
    struct store_topic *t = store_topic_get(s->env->store, topic);
    struct store_partition *p = t ? store_topic_partition(t, part) : NULL;
    int64_t end = p ? store_partition_high_watermark(p) : -1;
    store_topic_put(t);
    if (end < 0)
        return -1;
    return end > offset ? end - offset : 0;
}

struct lag_pass {
    struct scrape *s;
    bool lag; /* lag, or the committed offset */
};

static void group_offset(void *arg, const char *group, const char *topic, int32_t part,
                         int64_t offset, const char *meta, int64_t when)
{
    struct lag_pass *lp = arg;
    int64_t lag = group_partition_lag(lp->s, topic, part, offset);
    if (lag < 0)
        return; /* the topic is gone */
    char ps[16];
    snprintf(ps, sizeof ps, "%d", part);
    const char *name = lp->lag ? "kafka_consumergroup_lag" : "kafka_consumergroup_current_offset";
    evbuffer_add_printf(lp->s->out, "%s{", name);
    label(lp->s->out, "consumergroup", group, false);
    label(lp->s->out, "partition", ps, false);
    label(lp->s->out, "topic", topic, true);
    evbuffer_add_printf(lp->s->out, " %lld\n", (long long)(lp->lag ? lag : offset));
}

/* Total lag per group: the sum over its committed partitions. A group that has
 * committed nothing has no lag to tell (its consumers' position is unknown, not
 * at the end): brook_consumergroup_lag leaves it out and
 * brook_consumergroup_lag_unknown says 1. */
struct group_total {
    struct scrape *s;
    struct hmap lag; /* group id -> its total lag (an int64_t; committed groups only) */
    bool unknown;
};

static void total_offset(void *arg, const char *group, const char *topic, int32_t part,
                         int64_t offset, const char *meta, int64_t when)
{
    struct group_total *gt = arg;
    int64_t lag = group_partition_lag(gt->s, topic, part, offset);
    if (lag < 0)
        return; /* the topic is gone */
    int64_t *sum = hmap_get(&gt->lag, group, strlen(group));
    if (!sum) {
        sum = xcalloc(1, sizeof *sum);
        if (hmap_put(&gt->lag, group, strlen(group), sum))
            xalloc_fail("group lag", strlen(group));
    }
    *sum += lag;
}

static void total_group(void *arg, const struct console_group_info *g)
{
    struct group_total *gt = arg;
    const int64_t *sum = hmap_get(&gt->lag, g->id, strlen(g->id));
    const char *name = gt->unknown ? "brook_consumergroup_lag_unknown" : "brook_consumergroup_lag";
    if (!gt->unknown && !sum)
        return;
    evbuffer_add_printf(gt->s->out, "%s{", name);
    label(gt->s->out, "consumergroup", g->id, true);
    evbuffer_add_printf(gt->s->out, " %lld\n", gt->unknown ? (long long)!sum : (long long)*sum);
}

static void group_totals(struct scrape *s)
{
    struct group_total gt = {.s = s};
    hmap_init(&gt.lag);
    s->env->groups_foreach_offset(s->env->ctx, NULL, total_offset, &gt);
    family(s, "brook_consumergroup_lag", "gauge",
           "Total lag of a consumer group over the partitions it has committed; absent while "
           "it has committed nothing.");
    s->env->groups_foreach(s->env->ctx, total_group, &gt);
    gt.unknown = true;
    family(s, "brook_consumergroup_lag_unknown", "gauge",
           "1 while a consumer group has committed no offset, so its lag is unknown.");
    s->env->groups_foreach(s->env->ctx, total_group, &gt);
    size_t pos = 0;
    const void *key;
    size_t len;
    void *v;
    while (hmap_next(&gt.lag, &pos, &key, &len, &v))
        free(v);
    hmap_release(&gt.lag);
}

static void group_members(void *arg, const struct console_group_info *g)
{
    struct scrape *s = arg;
    evbuffer_add_printf(s->out, "kafka_consumergroup_members{");
    label(s->out, "consumergroup", g->id, true);
    evbuffer_add_printf(s->out, " %d\n", g->nmembers);
}

static void group_metrics(struct scrape *s)
{
    struct lag_pass lp = {s, false};
    family(s, "kafka_consumergroup_current_offset", "gauge",
           "Committed offset of a consumer group, by group, topic and partition.");
    s->env->groups_foreach_offset(s->env->ctx, NULL, group_offset, &lp);
    lp.lag = true;
    family(s, "kafka_consumergroup_lag", "gauge",
           "End offset minus the committed offset, by group, topic and partition.");
    s->env->groups_foreach_offset(s->env->ctx, NULL, group_offset, &lp);
    family(s, "kafka_consumergroup_members", "gauge", "Members of a consumer group.");
    s->env->groups_foreach(s->env->ctx, group_members, s);
    group_totals(s);
}

/* ---- the process ---- */

static int64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int64_t n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* Read a /proc file (whose size stat does not know) into buf, NUL-terminated. */
static bool read_proc(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    return n > 0;
}

/* Start time: the process's start in clock ticks after boot, plus boot time. */
static double start_time(void)
{
    static char stat[4096], boot[1 << 16];
    unsigned long long ticks = 0;
    if (!read_proc("/proc/self/stat", stat, sizeof stat) ||
        !read_proc("/proc/stat", boot, sizeof boot))
        return 0;
    const char *p = strrchr(stat, ')'), *b = strstr(boot, "\nbtime ");
    for (int field = 2; p && *p && field < 22; p++) /* field 22 is starttime */
        field += *p == ' ';
    if (!p || !b || sscanf(p, "%llu", &ticks) != 1)
        return 0;
    return strtod(b + 7, NULL) + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static void process_metrics(struct scrape *s)
{
    struct rusage ru;
    struct rlimit rl;
    unsigned long long vsz = 0, rss = 0;
    char statm[256];
    getrusage(RUSAGE_SELF, &ru);
    if (read_proc("/proc/self/statm", statm, sizeof statm))
        sscanf(statm, "%llu %llu", &vsz, &rss);
    long page = sysconf(_SC_PAGESIZE);
    family(s, "process_cpu_seconds_total", "counter", "User and system CPU time in seconds.");
    evbuffer_add_printf(s->out, "process_cpu_seconds_total %.3f\n",
                        (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                            (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    gauge(s, "process_resident_memory_bytes", "Resident memory in bytes.", (int64_t)rss * page);
    gauge(s, "process_virtual_memory_bytes", "Virtual memory in bytes.", (int64_t)vsz * page);
    gauge(s, "process_open_fds", "Open file descriptors.", open_fds());
    getrlimit(RLIMIT_NOFILE, &rl);
    gauge(s, "process_max_fds", "The limit on open file descriptors.", (int64_t)rl.rlim_cur);
    family(s, "process_start_time_seconds", "gauge", "Start time since the Unix epoch.");
    evbuffer_add_printf(s->out, "process_start_time_seconds %.2f\n", start_time());
}

static void brook_metrics(struct scrape *s, struct console *con)
{
    gauge(s, "brook_connections", "Open Kafka protocol connections.", s->counts.connections);
    family(s, "brook_connections_accepted_total", "counter",
           "Kafka protocol connections accepted.");
    evbuffer_add_printf(s->out, "brook_connections_accepted_total %lld\n",
                        (long long)s->counts.connections_total);
    family(s, "brook_console_http_requests_total", "counter", "Console HTTP requests.");
    evbuffer_add_printf(s->out, "brook_console_http_requests_total %lld\n",
                        (long long)con->http_requests);
    gauge(s, "brook_console_live_tails", "Open live-tail streams.", con->ntails);
    gauge(s, "brook_console_live_tail_unsent_bytes",
          "Bytes queued for live-tail viewers that their sockets have not taken yet.",
          (int64_t)tail_unsent_total(con));
    family(s, "brook_console_live_tails_opened_total", "counter", "Live-tail streams opened.");
    evbuffer_add_printf(s->out, "brook_console_live_tails_opened_total %lld\n",
                        (long long)con->tails_opened);
    gauge(s, "brook_console_connections", "Open console connections.", con->nconns);
    family(s, "brook_console_connections_refused_total", "counter",
           "Console connections closed at accept: console.max.connections or the descriptor "
           "reserve.");
    evbuffer_add_printf(s->out, "brook_console_connections_refused_total %lld\n",
                        (long long)con->refused);
    family(s, "brook_console_request_deadline_total", "counter",
           "Console connections closed at console.request.timeout.ms.");
    evbuffer_add_printf(s->out, "brook_console_request_deadline_total %lld\n",
                        (long long)con->deadline_closed);
    family(s, "brook_console_logins_total", "counter",
           "Passwords checked for console logins and /metrics scrapes, by result.");
    evbuffer_add_printf(s->out, "brook_console_logins_total{result=\"ok\"} %lld\n",
                        (long long)con->logins_ok);
    evbuffer_add_printf(s->out, "brook_console_logins_total{result=\"failed\"} %lld\n",
                        (long long)con->logins_failed);
}

void console_metrics_serve(struct creq *cr)
{
    /* every topic and group is named here: the cluster's Describe, as a whole */
    if (!console_require(cr, AUTH_OP_DESCRIBE, AUTH_RES_CLUSTER, NULL))
        return;
    struct scrape s = {.env = &cr->con->env, .out = evbuffer_new()};
    if (!s.out)
        xalloc_fail("evbuffer", 0);
    snapshot_topics(&s);
    topic_counter(&s, "kafka_server_brokertopicmetrics_messagesin_total",
                  "Messages appended, by topic.", T_MSGS_IN);
    topic_counter(&s, "kafka_server_brokertopicmetrics_bytesin_total",
                  "Record batch bytes received from producers, by topic.", T_BYTES_IN);
    topic_counter(&s, "kafka_server_brokertopicmetrics_bytesout_total",
                  "Record batch bytes sent to consumers, by topic.", T_BYTES_OUT);
    request_counters(&s);
    request_latency(&s);
    partition_gauge(&s, "kafka_log_log_size", "Bytes of a partition's segments.", P_SIZE);
    partition_gauge(&s, "kafka_log_log_logstartoffset", "First offset kept.", P_START);
    partition_gauge(&s, "kafka_log_log_logendoffset", "Offset of the next record.", P_END);
    partition_gauge(&s, "kafka_log_log_numlogsegments", "Segment files.", P_SEGMENTS);
    partition_gauge(&s, "kafka_topic_partition_current_offset",
                    "End offset (kafka_exporter's name).", P_END);
    partition_gauge(&s, "kafka_topic_partition_oldest_offset",
                    "Log start offset (kafka_exporter's name).", P_START);
    cluster_gauges(&s);
    group_metrics(&s);
    process_metrics(&s);
    brook_metrics(&s, cr->con);
    release_topics(&s);
    struct evkeyvalq *h = evhttp_request_get_output_headers(cr->req);
    evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    console_send(cr->req, 200, s.out);
    evbuffer_free(s.out);
}
