/*
 * views.c - what the broker lends the console (console/console.h): the event
 * loop, the store and the console's configuration keys, and functions over the
 * broker's state - a read-only view of the group coordinator with its writes
 * (an offset reset, deleting a group or its offsets), a topic's configuration and
 * partitions (the Kafka handlers' own code paths), the admin thread, the descriptor reserve, and
 * snapshots of the broker's identity, its configuration (the keys of every configuration table) and
 * its counters.
 *
 * The console is a module of its own and never sees struct broker; these
 * functions translate. Each runs on the loop thread, as the console's handlers do,
 * so reading the broker's loop-owned fields needs no lock; the counters, which the
 * Kafka handlers update, are read under their mutex.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "broker/private.h"
#include "console/console.h"
#include "lib/conftab.h"
#include "lib/props.h"
#include "lib/xalloc.h"

/* ---- groups: group.c's views in the console's types ---- */

struct group_view {
    console_group_fn group;
    console_member_fn member;
    void *arg;
};

static void group_to_console(const struct group_info *g, struct console_group_info *out)
{
    *out = (struct console_group_info){g->id,     g->state,      g->protocol_type, g->protocol,
                                       g->leader, g->generation, g->nmembers,      "classic"};
}

static void view_group(void *arg, const struct group_info *g)
{
    struct group_view *v = arg;
    struct console_group_info cg;
    group_to_console(g, &cg);
    v->group(v->arg, &cg);
}

static void view_member(void *arg, const struct group_member_info *m)
{
    struct group_view *v = arg;
    const struct console_member_info cm = {
        m->id,         m->instance_id, m->client_id,     m->client_host,
        m->session_ms, m->assignment,  m->assignment_len};
    v->member(v->arg, &cm);
}

static void view_cgroup(void *arg, const struct group_info *g)
{
    struct group_view *v = arg;
    struct console_group_info cg;
    group_to_console(g, &cg);
    cg.type = "consumer";
    v->group(v->arg, &cg);
}

static void env_groups_foreach(void *ctx, console_group_fn fn, void *arg)
{
    struct group_view v = {.group = fn, .arg = arg};
    groups_foreach(ctx, view_group, &v);
    cgroups_foreach(ctx, view_cgroup, &v); /* after: one replaces its offsets' twin */
}

static int env_groups_describe(void *ctx, const char *id, struct console_group_info *out,
                               console_member_fn fn, void *arg)
{
    struct group_view v = {.member = fn, .arg = arg};
    struct group_info g;
    bool consumer = !cgroups_describe(ctx, id, &g, fn ? view_member : NULL, &v);
    int rc = consumer ? 0 : groups_describe(ctx, id, &g, fn ? view_member : NULL, &v);
    if (!rc)
        group_to_console(&g, out);
    if (consumer)
        out->type = "consumer";
    return rc;
}

static void env_groups_foreach_offset(void *ctx, const char *group, console_offset_fn fn, void *arg)
{
    groups_foreach_offset(ctx, group, fn, arg); /* the same callback type */
}

static int env_groups_reset_offsets(void *ctx, const char *group, const char *topic,
                                    const int32_t *partitions, const int64_t *offsets, int n,
                                    store_done_fn done, void *arg)
{
    return groups_reset_offsets(ctx, group, topic, partitions, offsets, n, done, arg);
}

static int16_t env_groups_delete(void *ctx, const char *group)
{
    return groups_delete_one(ctx, kstr_from(group));
}

static int env_groups_delete_offsets(void *ctx, const char *group, const char *topic, int16_t *err,
                                     int *n, store_done_fn done, void *arg)
{
    return groups_delete_offsets(ctx, group, topic, err, n, done, arg);
}

/* ---- topic administration, on the admin thread as the Kafka requests ---- */

static int16_t env_topic_alter_configs(void *ctx, const char *topic,
                                       const struct console_config_op *ops, int n,
                                       bool validate_only, char *why, size_t whysize)
{
    _Static_assert(CONSOLE_CONFIG_SUBTRACT == 3, "the opcodes are IncrementalAlterConfigs'");
    struct alter_op *a = xcalloc((size_t)n + 1, sizeof *a);
    for (int i = 0; i < n; i++)
        a[i] = (struct alter_op){ops[i].name, ops[i].value, (int8_t)ops[i].op};
    int16_t err = alter_topic_configs(ctx, topic, a, n, validate_only, why, whysize);
    free(a);
    return err;
}

static int16_t env_topic_add_partitions(void *ctx, const char *topic, int32_t count,
                                        const char **msg)
{
    return topics_add_partitions(ctx, kstr_from(topic), count, false, msg);
}

static int env_admin_post(void *ctx, void (*run)(void *arg), void *arg)
{
    return admin_post(ctx, run, arg);
}

/* ---- the broker's identity and configuration ---- */

_Static_assert(BROKER_MAX_LISTENERS <= CONSOLE_MAX_LISTENERS, "the console shows every listener");

static void env_broker_info(void *ctx, struct console_broker_info *out)
{
    struct broker *b = ctx;
    const char *host;
    int port;
    broker_advertised(b, &host, &port);
    snprintf(out->advertised, sizeof out->advertised, "%s:%d", host, port);
    out->node_id = b->cfg->node_id;
    out->cluster_id = b->cfg->cluster_id;
    out->connections = atomic_load(&b->nconns);
    for (int i = 0; i < b->n_loops && i < CONSOLE_MAX_THREADS; i++)
        out->thread_connections[out->n_threads++] = atomic_load(&b->loops[i].nconns);
    out->n_listeners = 0;
    for (int i = 0; i < b->n_listeners && i < CONSOLE_MAX_LISTENERS; i++)
        snprintf(out->listeners[out->n_listeners++], sizeof out->listeners[0], "%s:%d",
                 b->bound_host[i], b->bound_port[i]);
}

/* The broker's, the store's and the console's keys: what DescribeConfigs, the
 * console's broker view and --help-config list. Here because only this file of
 * broker/ may see the console's table. */
const struct conf_key *const broker_config_tables[] = {
    broker_config_table, store_config_table, console_config_table, authz_config_table, NULL};

const struct conf_key *broker_config_key(const char *name)
{
    const struct conf_key *k = NULL;
    for (size_t i = 0; !k && broker_config_tables[i]; i++)
        k = conf_find(broker_config_tables[i], name);
    return k;
}

const struct conf_key *broker_config_suggest(const char *name)
{
    const struct conf_key *best = NULL, *k;
    size_t dist = SIZE_MAX;
    for (size_t i = 0; broker_config_tables[i]; i++)
        if ((k = conf_closest(broker_config_tables[i], name, &dist)))
            best = k;
    return best;
}

/* Every key of the configuration tables, as given or by default. A key no table
 * describes is not shown: brookd does not read it, and listing it beside the keys
 * that are set would say it took effect (the start-up warning names it). */
static void env_config_foreach(void *ctx, console_config_fn fn, void *arg)
{
    const struct props *p = ((struct broker *)ctx)->cfg->props;
    for (size_t i = 0; broker_config_tables[i]; i++)
        for (const struct conf_key *k = broker_config_tables[i]; k->name; k++) {
            const char *given = props_get(p, k->name);
            fn(arg, k->name, given ? given : k->def ? k->def : "", given != NULL);
        }
}

/* ---- counters (metrics.c's, under their mutex) ---- */

/* The latency histograms, bucket by bucket (metrics_latency adds without the lock). */
static void env_latency(struct metrics *m, struct console_broker_counts *out)
{
    _Static_assert(METRICS_LATENCY_BUCKETS == CONSOLE_LATENCY_BUCKETS, "the same buckets");
    _Static_assert(sizeof m->latency_sum_ns == sizeof out->latency_sum_ns, "one per API key");
    memcpy(out->latency_le_us, metrics_latency_le_us, sizeof out->latency_le_us);
    for (int k = 0; k < CONSOLE_API_SLOTS; k++) {
        for (int i = 0; i < CONSOLE_LATENCY_BUCKETS; i++)
            out->latency[k][i] = atomic_load_explicit(&m->latency[k][i], memory_order_relaxed);
        out->latency_sum_ns[k] = atomic_load_explicit(&m->latency_sum_ns[k], memory_order_relaxed);
    }
}

static void env_counts(void *ctx, const char *const *topics, size_t n,
                       struct console_topic_counts *per_topic, struct console_broker_counts *out)
{
    struct broker *b = ctx;
    struct metrics *m = &b->metrics;
    _Static_assert(sizeof m->requests == sizeof out->requests, "one slot per API key");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < n; i++) {
        struct topic_metrics *tm = metrics_topic_find(m, topics[i]);
        per_topic[i] = tm ? (struct console_topic_counts){tm->messages_in, tm->bytes_in,
                                                          tm->bytes_out, tm->messages_out}
                          : (struct console_topic_counts){0};
    }
    memcpy(out->requests, m->requests, sizeof out->requests);
    memcpy(out->request_errors, m->request_errors, sizeof out->request_errors);
    pthread_mutex_unlock(&m->mu);
    out->connections = atomic_load(&b->nconns);
    out->connections_total = atomic_load_explicit(&m->connections_total, memory_order_relaxed);
    env_latency(m, out);
}

static void env_counts_foreach(void *ctx, console_topic_counts_fn fn, void *arg)
{
    struct metrics *m = &((struct broker *)ctx)->metrics;
    pthread_mutex_lock(&m->mu);
    for (struct topic_metrics *tm = m->topics; tm; tm = tm->next)
        fn(arg, tm->name,
           &(struct console_topic_counts){tm->messages_in, tm->bytes_in, tm->bytes_out,
                                          tm->messages_out});
    pthread_mutex_unlock(&m->mu);
}

static void env_count_produced(void *ctx, const char *topic, int64_t messages, int64_t bytes)
{
    metrics_topic(&((struct broker *)ctx)->metrics, topic, messages, bytes, 0, 0);
}

bool broker_console_env(struct broker *b, struct console_env *env)
{
    const struct broker_config *c = b->cfg;
    if (!c->console_enabled)
        return false;
    *env = (struct console_env){
        .base = b->base,
        .store = b->store,
        .listen_host = c->console.host,
        .listen_port = c->console.port,
        .read_only = c->console_read_only,
        .props = c->props,
        .creds = b->creds,
        .acls = b->acls,
        .policy = &b->policy,
        .ctx = b,
        .groups_foreach = env_groups_foreach,
        .groups_describe = env_groups_describe,
        .groups_foreach_offset = env_groups_foreach_offset,
        .groups_reset_offsets = env_groups_reset_offsets,
        .groups_delete = env_groups_delete,
        .groups_delete_offsets = env_groups_delete_offsets,
        .topic_alter_configs = env_topic_alter_configs,
        .topic_add_partitions = env_topic_add_partitions,
        .admin_post = env_admin_post,
        .fd_reserve_reached = server_fd_reserve_reached,
        .broker_info = env_broker_info,
        .config_foreach = env_config_foreach,
        .counts = env_counts,
        .counts_foreach = env_counts_foreach,
        .count_produced = env_count_produced,
    };
    return true;
}
