/*
 * produce.c - brook produce: one line of stdin is one record.
 *
 * Lines are read in large chunks and produced through the event-loop API (never
 * one round trip per record); when buffer.memory is full the loop polls until
 * there is room. A key comes from -k or from each line split at -K's separator.
 * The exit status counts delivery reports, so it is non-zero when any record was
 * not delivered.
 *
 * With --transactional-id the whole input is one transaction: committed at the
 * end of input, aborted when a record fails or on SIGINT/SIGTERM, so a reader
 * at read_committed sees all of the input or none of it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/cli/cli.h"
#include "lib/grow.h"

/* ---- produce ---- */

struct produce_opts {
    const char *key;
    const char *key_sep;
    size_t key_sep_len;
    char sep_buf[64];
    struct brook_header headers[MAX_HEADERS];
    size_t n_headers;
    int32_t partition;
    const char *codec;
    bool null_empty;
    bool verbose;
    const char *txn_id; /* --transactional-id */
};

struct produce_state {
    uint64_t delivered, failed;
    int first_err;
    bool verbose;
};

/* A separator with kcat's escapes (\t \n \r \\ \xHH) decoded into out; its
 * length, or 0 when empty or too long. */
static size_t unescape_sep(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    while (*s && n < cap) {
        char ch = *s++;
        if (ch == '\\' && *s) {
            char e = *s++;
            ch = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
            if (e == 'x') {
                char *end;
                ch = (char)strtoul(s, &end, 16);
                if (end == s)
                    return 0;
                s = end;
            }
        }
        out[n++] = ch;
    }
    return *s ? 0 : n;
}

static int produce_opt(void *ctx, int opt, const char *arg)
{
    struct produce_opts *o = ctx;
    char *end;
    long v;
    switch (opt) {
    case 'k': o->key = arg; return 0;
    case 'K':
        o->key_sep_len = unescape_sep(arg, o->sep_buf, sizeof o->sep_buf);
        if (!o->key_sep_len)
            return cli_usage_error("bad key separator '%s'", arg);
        o->key_sep = o->sep_buf;
        return 0;
    case 'H': {
        if (o->n_headers == MAX_HEADERS)
            return cli_usage_error("too many headers");
        const char *eq = strchr(arg, '=');
        struct brook_header *h = &o->headers[o->n_headers++];
        h->key = arg;
        h->key_len = eq ? (size_t)(eq - arg) : strlen(arg);
        h->value = eq ? eq + 1 : NULL;
        h->value_len = eq ? strlen(eq + 1) : 0;
        return 0;
    }
    case 'p':
        v = strtol(arg, &end, 10);
        if (*end || end == arg || v < 0 || v > INT32_MAX)
            return cli_usage_error("bad partition '%s'", arg);
        o->partition = (int32_t)v;
        return 0;
    case 'z': o->codec = arg; return 0;
    case 'Z': o->null_empty = true; return 0;
    case 'v': o->verbose = true; return 0;
    case 'I':
        if (!*arg)
            return cli_usage_error("empty transactional id");
        o->txn_id = arg;
        return 0;
    }
    return cli_usage_error("unknown option -%c", opt);
}

static void on_delivery(void *arg, const struct brook_delivery *d)
{
    struct produce_state *s = arg;
    if (d->err) {
        s->failed++;
        if (!s->first_err)
            s->first_err = d->err;
        return;
    }
    s->delivered++;
    if (s->verbose)
        printf("%s\t%d\t%" PRId64 "\n", d->topic, d->partition, d->offset);
}

static void *find_sep(const char *p, size_t n, const char *sep, size_t sl)
{
    if (sl == 1)
        return memchr(p, sep[0], n);
    return memmem(p, n, sep, sl);
}

/* Produce one line; waits while the producer's buffer is full. */
static int produce_line(struct brook_client *c, const char *topic, const struct produce_opts *o,
                        const char *line, size_t n)
{
    struct brook_record r = BROOK_RECORD_INIT;
    r.topic = topic;
    r.partition = o->partition;
    r.headers = o->headers;
    r.n_headers = o->n_headers;
    r.value = line;
    r.value_len = n;
    if (o->key) {
        r.key = o->key;
        r.key_len = strlen(o->key);
    } else if (o->key_sep) {
        const char *sep = find_sep(line, n, o->key_sep, o->key_sep_len);
        if (sep) {
            r.key = line;
            r.key_len = (size_t)(sep - line);
            r.value = sep + o->key_sep_len;
            r.value_len = n - r.key_len - o->key_sep_len;
        }
    }
    if (o->null_empty && r.key && !r.key_len)
        r.key = NULL;
    if (o->null_empty && !r.value_len)
        r.value = NULL;
    int rc;
    while ((rc = brook_produce(c, &r, NULL)) == -ENOBUFS && !cli_stop)
        brook_poll(c, 10);
    return rc;
}

struct line_reader {
    char *buf;
    size_t cap, len, off, max;
    bool eof;
};

/* The next line of stdin (without its newline): 1, 0 at the end, or -errno. */
static int next_line(struct line_reader *lr, const char **line, size_t *n)
{
    for (;;) {
        char *nl = memchr(lr->buf + lr->off, '\n', lr->len - lr->off);
        if (nl) {
            *line = lr->buf + lr->off;
            *n = (size_t)(nl - *line);
            lr->off = (size_t)(nl - lr->buf) + 1;
            return 1;
        }
        if (lr->eof) {
            if (lr->off == lr->len)
                return 0;
            *line = lr->buf + lr->off;
            *n = lr->len - lr->off;
            lr->off = lr->len;
            return 1;
        }
        memmove(lr->buf, lr->buf + lr->off, lr->len - lr->off);
        lr->len -= lr->off;
        lr->off = 0;
        if (lr->len == lr->cap) {
            if (lr->cap >= lr->max)
                return -EMSGSIZE;
            if (ARRAY_GROW(lr->buf, lr->cap, lr->cap + 1)) /* doubles */
                return -ENOMEM;
        }
        ssize_t got = read(STDIN_FILENO, lr->buf + lr->len, lr->cap - lr->len);
        if (got < 0 && errno == EINTR && !cli_stop)
            continue;
        if (got < 0)
            return -errno;
        lr->eof = got == 0;
        lr->len += (size_t)got;
    }
}

static int produce_loop(struct brook_client *c, const char *topic, const struct produce_opts *o,
                        struct progress *pg)
{
    struct line_reader lr = {malloc(READ_CHUNK), READ_CHUNK, 0, 0, 64u << 20, false};
    if (!lr.buf)
        return -ENOMEM;
    const char *line = NULL;
    size_t n = 0;
    int rc = 0;
    while (!cli_stop && (rc = next_line(&lr, &line, &n)) == 1) {
        if (n == 0)
            continue; /* as kcat: an empty line is no record */
        if ((rc = produce_line(c, topic, o, line, n)))
            break;
        pg->records++;
        pg->bytes += n;
        if ((pg->records & 1023) == 0) {
            brook_poll(c, 0);
            progress_show(pg, false);
        }
    }
    free(lr.buf);
    return rc < 0 ? rc : 0;
}

/* With -p N, check before reading any input that the topic has partition N, so
 * the error names the real problem; a missing topic is created by the first record
 * only when -p 0 (which every new topic has). 0, or the exit status. */
static int produce_check_partition(struct brook_client *c, const struct globals *g,
                                   const char *topic, int32_t part)
{
    struct brook_metadata *md;
    int rc = brook_metadata_get(c, &topic, 1, false, g->timeout_ms, &md);
    if (rc)
        return cli_fail("cannot read metadata: %s", brook_strerror(rc));
    int status = 0;
    const struct brook_topic_info *t = md->n_topics == 1 ? &md->topics[0] : NULL;
    if (t && t->err && t->err != brook_err_kafka(3))
        status = cli_topic_error(topic, t->err);
    else if ((!t || t->err) && part > 0)
        status = cli_fail("topic '%s' does not exist, and a new topic's partitions depend on "
                          "the broker: create it first (brook topic create %s -p %d)",
                          topic, topic, part + 1);
    else if (t && !t->err && (size_t)part >= t->n_partitions)
        status =
            cli_fail("topic '%s' has %zu partition%s (0 to %zu): there is no partition %d", topic,
                     t->n_partitions, t->n_partitions == 1 ? "" : "s", t->n_partitions - 1, part);
    brook_metadata_free(md);
    return status;
}

/* Start the transaction: 0, or the exit status. */
static int txn_start(struct brook_client *c, const struct globals *g)
{
    int rc = brook_txn_init(c, g->timeout_ms);
    if (!rc)
        rc = brook_txn_begin(c);
    return rc ? cli_fail("cannot start a transaction: %s", brook_strerror(rc)) : 0;
}

/* End the transaction: commit when everything went well, else abort. Returns
 * the exit status so far, or a new failure. */
static int txn_finish(struct brook_client *c, const struct globals *g, int status)
{
    if (!status && !cli_stop) {
        int rc = brook_txn_commit(c, g->timeout_ms);
        if (!rc)
            return 0;
        status = cli_fail("cannot commit the transaction: %s", brook_strerror(rc));
        if (rc == BROOK_ERR_FENCED)
            return status;
    }
    int rc = brook_txn_abort(c, g->timeout_ms);
    if (rc)
        return cli_fail("cannot abort the transaction: %s", brook_strerror(rc));
    fprintf(stderr, "brook: transaction aborted: no record of it will be read committed\n");
    return status ? status : 1;
}

int cli_produce(int argc, char **argv, struct globals *g)
{
    struct produce_opts o = {.partition = BROOK_PARTITION_ANY};
    static const struct option longs[] = {{"timeout", required_argument, NULL, 'T'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"transactional-id", required_argument, NULL, 'I'},
                                          {NULL, 0, NULL, 0}};
    int rc = cli_parse_opts(argc, argv, "k:K:H:p:z:Zv", longs, g, produce_opt, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind + 1 != argc)
        return cli_usage_error("produce: expected one topic");
    if (o.key && o.key_sep)
        return cli_usage_error("produce: -k and -K do not go together");
    const char *topic = argv[optind];
    struct brook_conf *conf;
    if ((rc = cli_conf_make(g, NULL, &conf)))
        return rc;
    if (o.codec && brook_conf_set(conf, "compression.type", o.codec)) {
        brook_conf_free(conf);
        return cli_usage_error("unknown codec '%s' (none, gzip, snappy, lz4, zstd)", o.codec);
    }
    if (o.txn_id && brook_conf_set(conf, "transactional.id", o.txn_id)) {
        brook_conf_free(conf);
        return cli_usage_error("bad transactional id '%s'", o.txn_id);
    }
    struct produce_state st = {.verbose = o.verbose};
    brook_conf_set_delivery_cb(conf, on_delivery, &st);
    struct brook_client *c;
    rc = cli_client_open(g, conf, &c);
    brook_conf_free(conf);
    if (rc)
        return rc;
    if (o.partition != BROOK_PARTITION_ANY &&
        (rc = produce_check_partition(c, g, topic, o.partition))) {
        brook_client_free(c);
        return rc;
    }
    if (o.txn_id && (rc = txn_start(c, g))) {
        brook_client_free(c);
        return rc;
    }
    struct progress pg = {0};
    progress_init(&pg, "produced");
    rc = produce_loop(c, topic, &o, &pg);
    int frc = o.txn_id && (rc || cli_stop) ? 0 : brook_flush(c, -1);
    progress_end(&pg);
    fflush(stdout);
    int status = 0;
    if (rc == -EMSGSIZE)
        status = cli_fail("a record exceeds max.request.size (-X max.request.size=...)");
    else if (rc)
        status = cli_fail("cannot produce to '%s': %s", topic, brook_strerror(rc));
    else if (st.failed && brook_err_kafka_code(st.first_err) == 3)
        status = cli_topic_error(topic, st.first_err);
    else if (st.failed)
        status = cli_fail("%" PRIu64 " records not delivered to '%s': %s", st.failed, topic,
                          brook_strerror(st.first_err));
    else if (frc)
        status = cli_fail("cannot deliver to '%s': %s", topic, brook_strerror(frc));
    if (o.txn_id)
        status = txn_finish(c, g, status);
    brook_client_free(c);
    return status;
}
