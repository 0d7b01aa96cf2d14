/*
 * consume.c - brook consume: records to stdout, rendered as kcat renders them.
 *
 * Consuming with a group commits by hand after processing: records are rendered
 * into a buffer, the buffer is written to stdout, and only then are the positions
 * committed (asynchronously while running, synchronously at the end and before a
 * rebalance takes partitions away), so no record is committed before it was
 * printed, and none is printed twice by two members of a group.
 *
 * It reads read_committed unless told otherwise (--isolation): what it prints is
 * what brook's other views show, never a record a transaction may still abort.
 * Kafka's consumers default to read_uncommitted; -X isolation.level=... and
 * --isolation both choose.
 *
 * Where reading starts is -o (default: the beginning); a position the broker
 * says is out of range (-o past the end, or records removed by retention) moves by
 * auto.offset.reset as in Kafka's clients, by default to the end, and a warning
 * names the partition's valid range.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"

/* ---- consume ---- */

struct consume_opts {
    const char *group;
    int32_t parts[MAX_PARTS];
    size_t n_parts;
    const char *offset;
    int64_t count; /* -1: no limit */
    bool exit_at_end;
    const char *format;
    bool json;
    const char *isolation; /* isolation.level */
};

struct consume_state {
    struct brook_client *c;
    struct brook_buf out;
    bool group;
    int werr;    /* write error (errno) */
    bool closed; /* stdout's reader went away */
};

static int consume_opt(void *ctx, int opt, const char *arg)
{
    struct consume_opts *o = ctx;
    char *end;
    long long v;
    switch (opt) {
    case 'g': o->group = arg; return 0;
    case 'p':
        v = strtoll(arg, &end, 10);
        if (*end || end == arg || v < 0 || v > INT32_MAX || o->n_parts == MAX_PARTS)
            return cli_usage_error("bad partition '%s'", arg);
        o->parts[o->n_parts++] = (int32_t)v;
        return 0;
    case 'o': o->offset = arg; return 0;
    case 'c':
        v = strtoll(arg, &end, 10);
        if (*end || end == arg || v < 0)
            return cli_usage_error("bad count '%s'", arg);
        o->count = v;
        return 0;
    case 'e': o->exit_at_end = true; return 0;
    case 'f': o->format = arg; return 0;
    case 'J': o->json = true; return 0;
    case 'I':
        if (strcmp(arg, "read_committed") && strcmp(arg, "read_uncommitted"))
            return cli_usage_error("bad isolation '%s': read_committed or read_uncommitted", arg);
        o->isolation = arg;
        return 0;
    }
    return cli_usage_error("unknown option -%c", opt);
}

/* Write what was rendered, then (in a group) commit it. */
static bool consume_flush(struct consume_state *s)
{
    if (!s->out.len)
        return true;
    if (!cli_out_write(&s->out, &s->werr)) {
        s->closed = true;
        return false;
    }
    if (s->group)
        brook_commit(s->c, false, 0);
    return true;
}

static void on_rebalance(void *arg, int event, const struct brook_tp *parts, size_t n)
{
    struct consume_state *s = arg;
    if (event == BROOK_REBALANCE_REVOKE)
        consume_flush(s); /* and commit before the partitions go to another member */
}

/* auto.offset.reset as the user gave it (-X), or Kafka's default. */
static const char *reset_word(const struct globals *g)
{
    const char *word = "latest";
    for (size_t i = 0; i < g->nx; i++)
        if (!strncmp(g->xs[i], "auto.offset.reset=", 18))
            word = g->xs[i] + 18;
    return word;
}

/* A position out of range is never silent: say what the valid range is and where
 * reading goes on, as kcat does. */
static void on_offset_reset(void *arg, const struct brook_tp *tp, int64_t log_start,
                            int64_t log_end, int to)
{
    const char *word = arg;
    const char *next = to == BROOK_OFFSET_BEGINNING ? "reading from the beginning"
                       : to == BROOK_OFFSET_END     ? "reading from the end"
                                                    : "stopping";
    if (log_start >= 0 && log_end >= 0)
        fprintf(stderr,
                "brook: warning: offset %" PRId64 " is out of range for '%s' partition %d "
                "(valid offsets %" PRId64 "..%" PRId64 "); %s (auto.offset.reset=%s)\n",
                tp->offset, tp->topic, tp->partition, log_start, log_end, next, word);
    else
        fprintf(stderr,
                "brook: warning: offset %" PRId64 " is out of range for '%s' partition %d; "
                "%s (auto.offset.reset=%s)\n",
                tp->offset, tp->topic, tp->partition, next, word);
}

/* Check the topic and the partitions asked for; exit status on failure. */
static int consume_check(struct brook_client *c, const struct globals *g, const char *topic,
                         const struct consume_opts *o)
{
    struct brook_metadata *md;
    int rc = brook_metadata_get(c, &topic, 1, false, g->timeout_ms, &md);
    if (rc)
        return cli_fail("cannot read metadata: %s", brook_strerror(rc));
    int status = 0;
    if (md->n_topics != 1 || md->topics[0].err)
        status = cli_topic_error(topic, md->n_topics ? md->topics[0].err : brook_err_kafka(3));
    for (size_t i = 0; !status && i < o->n_parts; i++)
        if ((size_t)o->parts[i] >= md->topics[0].n_partitions)
            status = cli_fail("topic '%s' has no partition %d", topic, o->parts[i]);
    brook_metadata_free(md);
    return status;
}

static int render(const struct consume_opts *o, const struct brook_format *f,
                  const struct brook_message *m, struct brook_buf *out)
{
    return o->json ? brook_json_render(m, out) : brook_format_render(f, m, out);
}

static int consume_loop(struct consume_state *s, const struct consume_opts *o,
                        const struct brook_format *f, struct progress *pg)
{
    int64_t got = 0;
    while (!cli_stop && !s->closed && (o->count < 0 || got < o->count)) {
        const struct brook_message *m;
        int rc = brook_consumer_next(s->c, &m);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            if ((rc = render(o, f, m, &s->out)))
                return rc;
            got++;
            pg->records++;
            pg->bytes += m->value_len;
            if (s->out.len >= OUT_FLUSH)
                consume_flush(s);
            continue;
        }
        consume_flush(s);
        progress_show(pg, false);
        if (o->exit_at_end && brook_consumer_at_end(s->c))
            break;
        brook_poll(s->c, 100);
    }
    return 0;
}

static int consume_setup(struct brook_client *c, const char *topic, const struct consume_opts *o,
                         const struct brook_offset *start)
{
    if (o->group)
        return brook_subscribe(c, &topic, 1, start);
    return brook_assign(c, topic, o->parts, o->n_parts, start);
}

static int consume_conf(const struct globals *g, const struct consume_opts *o,
                        struct consume_state *s, struct brook_conf **conf)
{
    const char *iso = o->isolation ? o->isolation : "read_committed";
    const char *const plain[] = {"isolation.level", iso, NULL};
    const char *const group[] = {
        "group.id", o->group, "enable.auto.commit", "false", "isolation.level", iso, NULL};
    int rc = cli_conf_make(g, o->group ? group : plain, conf);
    if (rc)
        return rc;
    if (o->group)
        brook_conf_set_rebalance_cb(*conf, on_rebalance, s);
    brook_conf_set_offset_reset_cb(*conf, on_offset_reset, (void *)reset_word(g));
    return 0;
}

static int consume_finish(struct consume_state *s, const struct globals *g, int rc)
{
    int status = 0;
    consume_flush(s);
    if (rc)
        status = cli_fail("consume: %s", brook_strerror(rc));
    if (s->werr && s->werr != EPIPE)
        status = cli_fail("cannot write the output: %s", strerror(s->werr));
    if (s->group && !s->closed) {
        int crc = brook_commit(s->c, true, g->timeout_ms);
        if (crc && !status)
            status = cli_fail("cannot commit offsets: %s", brook_strerror(crc));
    }
    brook_consumer_close(s->c, g->timeout_ms);
    return status;
}

int cli_consume(int argc, char **argv, struct globals *g)
{
    struct consume_opts o = {.count = -1};
    static const struct option longs[] = {{"timeout", required_argument, NULL, 'T'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"isolation", required_argument, NULL, 'I'},
                                          {NULL, 0, NULL, 0}};
    int rc = cli_parse_opts(argc, argv, "g:p:o:c:ef:J", longs, g, consume_opt, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind + 1 != argc)
        return cli_usage_error("consume: expected one topic");
    if (o.group && o.n_parts)
        return cli_usage_error("consume: -p and -g do not go together");
    if (o.json && o.format)
        return cli_usage_error("consume: -f and -J do not go together");
    const char *topic = argv[optind];
    struct brook_offset start = {BROOK_OFFSET_BEGINNING, 0};
    if (o.offset && brook_offset_parse(o.offset, cli_wall_ms(), &start))
        return cli_usage_error("bad offset '%s'", o.offset);
    struct brook_format *f = NULL;
    size_t bad = 0;
    if (!o.json && brook_format_new(o.format ? o.format : "%s\\n", &f, &bad))
        return cli_usage_error("bad format '%s' at character %zu", o.format, bad + 1);
    struct consume_state s = {.group = o.group != NULL};
    struct brook_conf *conf = NULL;
    if (!(rc = consume_conf(g, &o, &s, &conf)))
        rc = cli_client_open(g, conf, &s.c);
    brook_conf_free(conf);
    if (!rc && (rc = consume_check(s.c, g, topic, &o)))
        brook_client_free(s.c);
    if (rc) {
        brook_format_free(f);
        return rc;
    }
    struct progress pg = {0};
    progress_init(&pg, "consumed");
    rc = consume_setup(s.c, topic, &o, &start);
    if (!rc)
        rc = consume_loop(&s, &o, f, &pg);
    progress_end(&pg);
    int status = consume_finish(&s, g, rc);
    brook_client_free(s.c);
    brook_format_free(f);
    free(s.out.p);
    return status;
}
