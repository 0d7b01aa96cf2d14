/*
 * topic.c - brook topic list|describe|create|delete and brook metadata.
 *
 * Each subcommand is one admin call per topic named; a failure for one topic is
 * reported and the others still run, and the exit status says that one failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"

/* ---- topic commands ---- */

static int topic_list(struct brook_client *c, const struct globals *g, bool all)
{
    struct brook_metadata *md;
    int rc = brook_metadata_get(c, NULL, 0, false, g->timeout_ms, &md);
    if (rc)
        return cli_fail("cannot list topics: %s", brook_strerror(rc));
    static const char *const head[] = {"TOPIC", "PARTITIONS", "REPLICAS"};
    struct table t = {3, head, NULL, 0, 0};
    for (size_t i = 0; i < md->n_topics; i++) {
        const struct brook_topic_info *ti = &md->topics[i];
        if ((ti->internal || ti->name[0] == '_') && !all)
            continue;
        table_cell(&t, "%s", ti->name);
        table_cell(&t, "%zu", ti->n_partitions);
        table_cell(&t, "%zu", ti->n_partitions ? ti->partitions[0].n_replicas : 0);
    }
    table_print(&t);
    brook_metadata_free(md);
    return 0;
}

static int topic_describe(struct brook_client *c, const struct globals *g, char **topics, size_t n)
{
    struct brook_metadata *md;
    int rc = brook_metadata_get(c, (const char *const *)topics, n, true, g->timeout_ms, &md);
    if (rc)
        return cli_fail("cannot describe topics: %s", brook_strerror(rc));
    static const char *const head[] = {"TOPIC", "PARTITION",        "LEADER",        "REPLICAS",
                                       "ISR",   "LOG-START-OFFSET", "LOG-END-OFFSET"};
    struct table t = {7, head, NULL, 0, 0};
    int status = 0;
    for (size_t i = 0; i < md->n_topics; i++) {
        const struct brook_topic_info *ti = &md->topics[i];
        if (ti->err) {
            status = cli_topic_error(ti->name, ti->err);
            continue;
        }
        for (size_t k = 0; k < ti->n_partitions; k++) {
            const struct brook_partition_info *p = &ti->partitions[k];
            char *r = cli_ids_str(p->replicas, p->n_replicas), *s = cli_ids_str(p->isr, p->n_isr);
            table_cell(&t, "%s", ti->name);
            table_cell(&t, "%d", p->id);
            table_cell(&t, "%d", p->leader);
            table_cell(&t, "%s", r ? r : "");
            table_cell(&t, "%s", s ? s : "");
            table_cell(&t, "%" PRId64, p->log_start);
            table_cell(&t, "%" PRId64, p->log_end);
            free(r);
            free(s);
        }
    }
    table_print(&t);
    brook_metadata_free(md);
    return status;
}

struct create_opts {
    int32_t partitions;
    int16_t replication;
    const char *configs[64];
    size_t nc;
};

static int create_opt(void *ctx, int opt, const char *arg)
{
    struct create_opts *o = ctx;
    char *end;
    long v = strtol(arg, &end, 10);
    switch (opt) {
    case 'p':
        if (*end || end == arg || v < 1 || v > 1000000)
            return cli_usage_error("bad partition count '%s'", arg);
        o->partitions = (int32_t)v;
        return 0;
    case 'r':
        if (*end || end == arg || v < 1 || v > INT16_MAX)
            return cli_usage_error("bad replication factor '%s'", arg);
        o->replication = (int16_t)v;
        return 0;
    case 'c':
        if (!strchr(arg, '=') || o->nc + 1 == sizeof o->configs / sizeof o->configs[0])
            return cli_usage_error("bad config '%s': expected key=value", arg);
        o->configs[o->nc++] = arg;
        return 0;
    }
    return cli_usage_error("unknown option -%c", opt);
}

static int topic_create(struct brook_client *c, const struct globals *g, char **topics, size_t n,
                        const struct create_opts *o)
{
    int status = 0;
    /* one request for every name: the broker creates them together */
    int *results = calloc(n, sizeof *results);
    if (!results)
        return cli_fail("out of memory");
    int err = brook_topics_create(c, (const char *const *)topics, n, o->partitions, o->replication,
                                  o->nc ? o->configs : NULL, g->timeout_ms, results);
    for (size_t i = 0; i < n; i++) {
        int rc = err ? err : results[i];
        if (rc == brook_err_kafka(36))
            status = cli_fail("topic '%s' already exists", topics[i]);
        else if (rc)
            status =
                cli_fail_broker(c, "cannot create topic '%s': %s", topics[i], brook_strerror(rc));
        else
            printf("Created topic %s.\n", topics[i]);
    }
    free(results);
    return status;
}

static int topic_delete(struct brook_client *c, const struct globals *g, char **topics, size_t n)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = brook_topic_delete(c, topics[i], g->timeout_ms);
        if (rc == brook_err_kafka(3))
            status = cli_topic_error(topics[i], rc);
        else if (rc)
            status =
                cli_fail_broker(c, "cannot delete topic '%s': %s", topics[i], brook_strerror(rc));
        else
            printf("Deleted topic %s.\n", topics[i]);
    }
    return status;
}

static int list_all_opt(void *ctx, int opt, const char *arg)
{
    if (opt != 'a')
        return cli_usage_error("unknown option -%c", opt);
    *(bool *)ctx = true;
    return 0;
}

int cli_topic(int argc, char **argv, struct globals *g)
{
    if (argc < 2)
        return cli_usage_error("topic: expected list, describe, create or delete");
    const char *sub = argv[1];
    struct create_opts co = {-1, -1, {NULL}, 0};
    bool all = false;
    int rc;
    if (!strcmp(sub, "create"))
        rc = cli_parse_opts(argc - 1, argv + 1, "p:r:c:", NULL, g, create_opt, &co);
    else if (!strcmp(sub, "list"))
        rc = cli_parse_opts(argc - 1, argv + 1, "a", NULL, g, list_all_opt, &all);
    else if (!strcmp(sub, "describe") || !strcmp(sub, "delete"))
        rc = cli_parse_opts(argc - 1, argv + 1, "", NULL, g, cli_no_opts, NULL);
    else
        return cli_usage_error("topic: unknown subcommand '%s'", sub);
    if (rc)
        return rc < 0 ? 0 : rc;
    char **names = argv + 1 + optind;
    size_t n = (size_t)(argc - 1 - optind);
    if (strcmp(sub, "list") && n == 0)
        return cli_usage_error("topic %s: expected a topic name", sub);
    if (!strcmp(sub, "list") && n)
        return cli_usage_error("topic list: unexpected argument '%s'", names[0]);
    struct brook_client *c;
    if ((rc = cli_connect(g, &c)))
        return rc;
    if (!strcmp(sub, "list"))
        rc = topic_list(c, g, all);
    else if (!strcmp(sub, "describe"))
        rc = topic_describe(c, g, names, n);
    else if (!strcmp(sub, "create"))
        rc = topic_create(c, g, names, n, &co);
    else
        rc = topic_delete(c, g, names, n);
    brook_client_free(c);
    return rc;
}

/* ---- metadata ---- */

static void print_metadata(const struct brook_metadata *md)
{
    printf("Metadata from broker %d (%s), cluster %s:\n", md->orig_broker_id, md->orig_broker_name,
           md->cluster_id ? md->cluster_id : "-");
    printf(" %zu brokers:\n", md->n_brokers);
    for (size_t i = 0; i < md->n_brokers; i++)
        printf("  broker %d at %s:%d%s\n", md->brokers[i].id, md->brokers[i].host,
               md->brokers[i].port, md->brokers[i].id == md->controller_id ? " (controller)" : "");
    printf(" %zu topics:\n", md->n_topics);
    for (size_t i = 0; i < md->n_topics; i++) {
        const struct brook_topic_info *t = &md->topics[i];
        printf("  topic \"%s\" with %zu partitions%s%s\n", t->name, t->n_partitions,
               t->err ? ": " : ":", t->err ? brook_strerror(t->err) : "");
        for (size_t k = 0; k < t->n_partitions; k++) {
            const struct brook_partition_info *p = &t->partitions[k];
            char *r = cli_ids_str(p->replicas, p->n_replicas), *s = cli_ids_str(p->isr, p->n_isr);
            printf("    partition %d, leader %d, replicas: %s, isrs: %s, offsets %" PRId64
                   "..%" PRId64 "\n",
                   p->id, p->leader, r ? r : "", s ? s : "", p->log_start, p->log_end);
            free(r);
            free(s);
        }
    }
}

int cli_metadata(int argc, char **argv, struct globals *g)
{
    int rc = cli_parse_opts(argc, argv, "", NULL, g, cli_no_opts, NULL);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind != argc)
        return cli_usage_error("metadata: unexpected argument '%s'", argv[optind]);
    struct brook_client *c;
    if ((rc = cli_connect(g, &c)))
        return rc;
    struct brook_metadata *md;
    rc = brook_metadata_get(c, NULL, 0, true, g->timeout_ms, &md);
    if (rc) {
        brook_client_free(c);
        return cli_fail("cannot read metadata: %s", brook_strerror(rc));
    }
    print_metadata(md);
    brook_metadata_free(md);
    brook_client_free(c);
    return 0;
}
