/*
 * cli.c - brook, the command-line tool over libbrook.
 *
 *   brook [-b BROKERS] [-X key=value]... COMMAND ...
 *   topic list|describe|create|delete, produce, consume, group list|describe|seek|delete,
 *   metadata
 *
 * Shaped after kcat and rpk: a line of stdin is a record, consumed records are
 * printed with kcat's format tokens or its exact JSON envelope. Brokers come from
 * -b, then $BROOK_BROKERS, then localhost:9092. Global options (-b, -X, --timeout)
 * are accepted before the command and among its own options.
 *
 * Output rules: tables get Kafka's column headers and aligned columns on a
 * terminal, and plain tab-separated rows (no header) when piped; a progress line
 * goes to stderr during long produce and consume runs when stderr is a terminal.
 * Every failure is one line on stderr, "brook: what: why", and a non-zero exit:
 * 1 for failures at run time, 2 for bad usage.
 *
 * Consuming with a group commits by hand after processing: records are rendered
 * into a buffer, the buffer is written to stdout, and only then are the positions
 * committed (asynchronously while running, synchronously at the end and before a
 * rebalance takes partitions away), so no record is committed before it was
 * printed, and none is printed twice by two members of a group.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "client/brook.h"
#include "lib/version.h"

#define DEFAULT_BROKERS "localhost:9092"
#define READ_CHUNK      (1u << 20)
#define OUT_FLUSH       (256u << 10)
#define PROGRESS_MS     500
#define MAX_HEADERS     64
#define MAX_PARTS       1024

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- messages ---- */

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    fputs("brook: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("brook: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see brook --help)\n", stderr);
    return 2;
}

static void usage(FILE *out)
{
    fputs(
        "usage: brook [-b BROKERS] [-X key=value]... [--timeout MS] COMMAND ...\n"
        "\n"
        "commands:\n"
        "  topic list [-a]                     list topics (-a: internal ones too)\n"
        "  topic describe TOPIC...             partitions, leaders and offsets\n"
        "  topic create TOPIC [-p N] [-r N] [-c key=value]...\n"
        "  topic delete TOPIC...\n"
        "  produce TOPIC [-k KEY | -K SEP] [-H name=value]... [-p N] [-z CODEC] [-Z] [-v]\n"
        "                                      one line of stdin is one record\n"
        "  consume TOPIC [-g GROUP] [-p N]... [-o OFFSET] [-c COUNT] [-e] [-f FORMAT | -J]\n"
        "  group list\n"
        "  group describe GROUP...\n"
        "  group seek GROUP -o OFFSET [-t TOPIC] [-p N]\n"
        "  group delete GROUP...\n"
        "  metadata                            brokers and topics\n"
        "\n"
        "global options:\n"
        "  -b BROKERS      host:port[,host:port...] (default $BROOK_BROKERS, then " DEFAULT_BROKERS
        ")\n"
        "  -X key=value    a client setting by its Kafka name, e.g. -X acks=1\n"
        "  --timeout MS    how long to wait for brokers and admin answers (default 10000)\n"
        "\n"
        "OFFSET: beginning | end | N | -N (N before the end) | +N (N after the beginning)\n"
        "        | @TIME (ms since the epoch, YYYY-MM-DDTHH:MM:SS in UTC, or -1h, -30m ...)\n"
        "FORMAT: kcat's tokens %t %p %o %k %K %s %S %T %h, escapes \\n \\t \\r \\xHH\n"
        "        (default \"%s\\n\"); -J prints kcat's JSON envelope\n"
        "See brook(1) for details.\n",
        out);
}

/* ---- global options and the client ---- */

struct globals {
    const char *brokers;
    const char *xs[64];
    size_t nx;
    int timeout_ms;
};

static int global_opt(struct globals *g, int opt, const char *arg)
{
    char *end;
    long v;
    switch (opt) {
    case 'b': g->brokers = arg; return 0;
    case 'X':
        if (!strchr(arg, '=') || g->nx == sizeof g->xs / sizeof g->xs[0])
            return usage_error("bad -X '%s': expected key=value", arg);
        g->xs[g->nx++] = arg;
        return 0;
    case 'T':
        v = strtol(arg, &end, 10);
        if (*end || end == arg || v < 0 || v > INT32_MAX)
            return usage_error("bad --timeout '%s'", arg);
        g->timeout_ms = (int)v;
        return 0;
    }
    return usage_error("unknown option");
}

static const char *brokers_of(const struct globals *g)
{
    const char *env = getenv("BROOK_BROKERS");
    return g->brokers ? g->brokers : env && *env ? env : DEFAULT_BROKERS;
}

/* A configuration: the brokers, then the command's defaults (key, value pairs,
 * NULL-terminated), then every -X, which therefore wins. Exit status on failure. */
static int conf_make(const struct globals *g, const char *const *defaults, struct brook_conf **out)
{
    struct brook_conf *conf = brook_conf_new();
    if (!conf)
        return fail("out of memory");
    if (brook_conf_set(conf, "bootstrap.servers", brokers_of(g))) {
        brook_conf_free(conf);
        return usage_error("bad broker list '%s'", brokers_of(g));
    }
    for (size_t i = 0; defaults && defaults[i]; i += 2)
        brook_conf_set(conf, defaults[i], defaults[i + 1]);
    for (size_t i = 0; i < g->nx; i++) {
        char key[256];
        const char *eq = strchr(g->xs[i], '=');
        size_t kl = (size_t)(eq - g->xs[i]);
        if (kl < sizeof key)
            snprintf(key, sizeof key, "%.*s", (int)kl, g->xs[i]);
        if (kl >= sizeof key || brook_conf_set(conf, key, eq + 1)) {
            brook_conf_free(conf);
            return usage_error("bad setting -X %s", g->xs[i]);
        }
    }
    *out = conf;
    return 0;
}

/* Make the client and reach the cluster; exit status on failure. */
static int client_open(const struct globals *g, const struct brook_conf *conf,
                       struct brook_client **out)
{
    int rc = brook_client_new(conf, out);
    if (rc == BROOK_ERR_CONFIG)
        return usage_error("bad broker list '%s'", brokers_of(g));
    if (rc)
        return fail("cannot start the client: %s", brook_strerror(rc));
    int why = 0;
    rc = brook_client_connect(*out, g->timeout_ms, &why);
    if (rc) {
        fail("cannot reach a broker at %s: %s", brokers_of(g), brook_strerror(why ? why : rc));
        brook_client_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

/* Parse a command's options: the global ones plus spec; calls handle for the rest.
 * Returns 0, or an exit status. */
typedef int opt_handler(void *ctx, int opt, const char *arg);

static int parse_opts(int argc, char **argv, const char *spec, const struct option *longs,
                      struct globals *g, opt_handler *handle, void *ctx)
{
    char shortopts[64];
    snprintf(shortopts, sizeof shortopts, "b:X:h%s", spec);
    static const struct option base[] = {{"timeout", required_argument, NULL, 'T'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const struct option *lo = longs ? longs : base;
    optind = 0; /* 0, not 1: glibc then forgets its state from the previous parse */
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
        int rc;
        if (opt == '?')
            return usage_error("%s: unknown option or missing argument '%s'", argv[0],
                               argv[optind - 1]);
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        if (opt == 'b' || opt == 'X' || opt == 'T')
            rc = global_opt(g, opt, optarg);
        else
            rc = handle(ctx, opt, optarg);
        if (rc)
            return rc;
    }
    return 0;
}

static int no_opts(void *ctx, int opt, const char *arg)
{
    return usage_error("unknown option -%c", opt);
}

/* ---- tables ---- */

struct table {
    size_t ncols;
    const char *const *head;
    char **cells;
    size_t n, cap;
};

__attribute__((format(printf, 2, 3))) static void cell(struct table *t, const char *fmt, ...)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **v = realloc(t->cells, cap * sizeof *v);
        if (!v)
            return;
        t->cells = v;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&t->cells[t->n], fmt, ap) < 0)
        t->cells[t->n] = NULL;
    va_end(ap);
    t->n++;
}

static void table_print(struct table *t)
{
    bool tty = isatty(STDOUT_FILENO);
    size_t w[16] = {0};
    for (size_t c = 0; tty && c < t->ncols; c++)
        w[c] = strlen(t->head[c]);
    for (size_t i = 0; i < t->n; i++)
        if (t->cells[i] && strlen(t->cells[i]) > w[i % t->ncols])
            w[i % t->ncols] = strlen(t->cells[i]);
    for (size_t c = 0; tty && c < t->ncols; c++)
        printf("%-*s%s", c + 1 < t->ncols ? (int)w[c] : 0, t->head[c],
               c + 1 < t->ncols ? "  " : "\n");
    for (size_t i = 0; i < t->n; i++) {
        size_t c = i % t->ncols;
        const char *s = t->cells[i] ? t->cells[i] : "";
        bool last = c + 1 == t->ncols;
        if (tty)
            printf("%-*s%s", last ? 0 : (int)w[c], s, last ? "\n" : "  ");
        else
            printf("%s%s", s, last ? "\n" : "\t");
    }
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->n = t->cap = 0;
}

static char *ids_str(const int32_t *v, size_t n)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        return NULL;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? "," : "", v[i]);
    fclose(f);
    return s;
}

/* ---- progress ---- */

struct progress {
    bool on;
    const char *verb;
    int64_t start, last;
    uint64_t records, bytes;
    bool shown;
};

static void progress_init(struct progress *p, const char *verb)
{
    p->on = isatty(STDERR_FILENO);
    p->verb = verb;
    p->start = p->last = now_ms();
}

static void progress_show(struct progress *p, bool force)
{
    if (!p->on)
        return;
    int64_t t = now_ms();
    if (!force && (t - p->last < PROGRESS_MS || t - p->start < 1000))
        return;
    p->last = t;
    double secs = (double)(t - p->start) / 1000.0;
    fprintf(stderr, "\r%s %" PRIu64 " records, %.1f MB (%.0f records/s)\033[K", p->verb, p->records,
            (double)p->bytes / 1e6, secs > 0 ? (double)p->records / secs : 0.0);
    p->shown = true;
}

static void progress_end(struct progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
}

/* ---- output ---- */

/* Write the whole buffer to stdout; false when the reader has gone away or the
 * write failed (*err set to errno). */
static bool out_write(struct brook_buf *b, int *err)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(STDOUT_FILENO, b->p + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *err = n < 0 ? errno : EIO;
            return false;
        }
        off += (size_t)n;
    }
    b->len = 0;
    return true;
}

/* ---- topic commands ---- */

static int error_for_topic(const char *topic, int err)
{
    if (err == brook_err_kafka(3))
        return fail("topic '%s' does not exist", topic);
    return fail("topic '%s': %s", topic, brook_strerror(err));
}

static int topic_list(struct brook_client *c, const struct globals *g, bool all)
{
    struct brook_metadata *md;
    int rc = brook_metadata_get(c, NULL, 0, false, g->timeout_ms, &md);
    if (rc)
        return fail("cannot list topics: %s", brook_strerror(rc));
    static const char *const head[] = {"TOPIC", "PARTITIONS", "REPLICAS"};
    struct table t = {3, head, NULL, 0, 0};
    for (size_t i = 0; i < md->n_topics; i++) {
        const struct brook_topic_info *ti = &md->topics[i];
        if ((ti->internal || ti->name[0] == '_') && !all)
            continue;
        cell(&t, "%s", ti->name);
        cell(&t, "%zu", ti->n_partitions);
        cell(&t, "%zu", ti->n_partitions ? ti->partitions[0].n_replicas : 0);
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
        return fail("cannot describe topics: %s", brook_strerror(rc));
    static const char *const head[] = {"TOPIC", "PARTITION",        "LEADER",        "REPLICAS",
                                       "ISR",   "LOG-START-OFFSET", "LOG-END-OFFSET"};
    struct table t = {7, head, NULL, 0, 0};
    int status = 0;
    for (size_t i = 0; i < md->n_topics; i++) {
        const struct brook_topic_info *ti = &md->topics[i];
        if (ti->err) {
            status = error_for_topic(ti->name, ti->err);
            continue;
        }
        for (size_t k = 0; k < ti->n_partitions; k++) {
            const struct brook_partition_info *p = &ti->partitions[k];
            char *r = ids_str(p->replicas, p->n_replicas), *s = ids_str(p->isr, p->n_isr);
            cell(&t, "%s", ti->name);
            cell(&t, "%d", p->id);
            cell(&t, "%d", p->leader);
            cell(&t, "%s", r ? r : "");
            cell(&t, "%s", s ? s : "");
            cell(&t, "%" PRId64, p->log_start);
            cell(&t, "%" PRId64, p->log_end);
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
            return usage_error("bad partition count '%s'", arg);
        o->partitions = (int32_t)v;
        return 0;
    case 'r':
        if (*end || end == arg || v < 1 || v > INT16_MAX)
            return usage_error("bad replication factor '%s'", arg);
        o->replication = (int16_t)v;
        return 0;
    case 'c':
        if (!strchr(arg, '=') || o->nc + 1 == sizeof o->configs / sizeof o->configs[0])
            return usage_error("bad config '%s': expected key=value", arg);
        o->configs[o->nc++] = arg;
        return 0;
    }
    return usage_error("unknown option -%c", opt);
}

static int topic_create(struct brook_client *c, const struct globals *g, char **topics, size_t n,
                        const struct create_opts *o)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = brook_topic_create(c, topics[i], o->partitions, o->replication,
                                    o->nc ? o->configs : NULL, g->timeout_ms);
        if (rc == brook_err_kafka(36))
            status = fail("topic '%s' already exists", topics[i]);
        else if (rc)
            status = fail("cannot create topic '%s': %s", topics[i], brook_strerror(rc));
        else
            printf("Created topic %s.\n", topics[i]);
    }
    return status;
}

static int topic_delete(struct brook_client *c, const struct globals *g, char **topics, size_t n)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = brook_topic_delete(c, topics[i], g->timeout_ms);
        if (rc)
            status = error_for_topic(topics[i], rc);
        else
            printf("Deleted topic %s.\n", topics[i]);
    }
    return status;
}

static int list_all_opt(void *ctx, int opt, const char *arg)
{
    if (opt != 'a')
        return usage_error("unknown option -%c", opt);
    *(bool *)ctx = true;
    return 0;
}

static int cmd_topic(int argc, char **argv, struct globals *g)
{
    if (argc < 2)
        return usage_error("topic: expected list, describe, create or delete");
    const char *sub = argv[1];
    struct create_opts co = {-1, -1, {NULL}, 0};
    bool all = false;
    int rc;
    if (!strcmp(sub, "create"))
        rc = parse_opts(argc - 1, argv + 1, "p:r:c:", NULL, g, create_opt, &co);
    else if (!strcmp(sub, "list"))
        rc = parse_opts(argc - 1, argv + 1, "a", NULL, g, list_all_opt, &all);
    else if (!strcmp(sub, "describe") || !strcmp(sub, "delete"))
        rc = parse_opts(argc - 1, argv + 1, "", NULL, g, no_opts, NULL);
    else
        return usage_error("topic: unknown subcommand '%s'", sub);
    if (rc)
        return rc < 0 ? 0 : rc;
    char **names = argv + 1 + optind;
    size_t n = (size_t)(argc - 1 - optind);
    if (strcmp(sub, "list") && n == 0)
        return usage_error("topic %s: expected a topic name", sub);
    if (!strcmp(sub, "list") && n)
        return usage_error("topic list: unexpected argument '%s'", names[0]);
    struct brook_conf *conf;
    struct brook_client *c;
    if ((rc = conf_make(g, NULL, &conf)))
        return rc;
    rc = client_open(g, conf, &c);
    brook_conf_free(conf);
    if (rc)
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
            return usage_error("bad key separator '%s'", arg);
        o->key_sep = o->sep_buf;
        return 0;
    case 'H': {
        if (o->n_headers == MAX_HEADERS)
            return usage_error("too many headers");
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
            return usage_error("bad partition '%s'", arg);
        o->partition = (int32_t)v;
        return 0;
    case 'z': o->codec = arg; return 0;
    case 'Z': o->null_empty = true; return 0;
    case 'v': o->verbose = true; return 0;
    }
    return usage_error("unknown option -%c", opt);
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
    while ((rc = brook_produce(c, &r, NULL)) == -ENOBUFS && !stop_flag)
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
            char *p = realloc(lr->buf, lr->cap * 2);
            if (!p)
                return -ENOMEM;
            lr->buf = p;
            lr->cap *= 2;
        }
        ssize_t got = read(STDIN_FILENO, lr->buf + lr->len, lr->cap - lr->len);
        if (got < 0 && errno == EINTR && !stop_flag)
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
    while (!stop_flag && (rc = next_line(&lr, &line, &n)) == 1) {
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

static int cmd_produce(int argc, char **argv, struct globals *g)
{
    struct produce_opts o = {.partition = BROOK_PARTITION_ANY};
    int rc = parse_opts(argc, argv, "k:K:H:p:z:Zv", NULL, g, produce_opt, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind + 1 != argc)
        return usage_error("produce: expected one topic");
    if (o.key && o.key_sep)
        return usage_error("produce: -k and -K do not go together");
    const char *topic = argv[optind];
    struct brook_conf *conf;
    if ((rc = conf_make(g, NULL, &conf)))
        return rc;
    if (o.codec && brook_conf_set(conf, "compression.type", o.codec)) {
        brook_conf_free(conf);
        return usage_error("unknown codec '%s' (none, gzip, snappy, lz4, zstd)", o.codec);
    }
    struct produce_state st = {.verbose = o.verbose};
    brook_conf_set_delivery_cb(conf, on_delivery, &st);
    struct brook_client *c;
    rc = client_open(g, conf, &c);
    brook_conf_free(conf);
    if (rc)
        return rc;
    struct progress pg = {0};
    progress_init(&pg, "produced");
    rc = produce_loop(c, topic, &o, &pg);
    int frc = brook_flush(c, -1);
    progress_end(&pg);
    fflush(stdout);
    int status = 0;
    if (rc == -EMSGSIZE)
        status = fail("a record exceeds max.request.size (-X max.request.size=...)");
    else if (rc)
        status = fail("cannot produce to '%s': %s", topic, brook_strerror(rc));
    else if (st.failed && brook_err_kafka_code(st.first_err) == 3)
        status = error_for_topic(topic, st.first_err);
    else if (st.failed)
        status = fail("%" PRIu64 " records not delivered to '%s': %s", st.failed, topic,
                      brook_strerror(st.first_err));
    else if (frc)
        status = fail("cannot deliver to '%s': %s", topic, brook_strerror(frc));
    brook_client_free(c);
    return status;
}

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
            return usage_error("bad partition '%s'", arg);
        o->parts[o->n_parts++] = (int32_t)v;
        return 0;
    case 'o': o->offset = arg; return 0;
    case 'c':
        v = strtoll(arg, &end, 10);
        if (*end || end == arg || v < 0)
            return usage_error("bad count '%s'", arg);
        o->count = v;
        return 0;
    case 'e': o->exit_at_end = true; return 0;
    case 'f': o->format = arg; return 0;
    case 'J': o->json = true; return 0;
    }
    return usage_error("unknown option -%c", opt);
}

/* Write what was rendered, then (in a group) commit it. */
static bool consume_flush(struct consume_state *s)
{
    if (!s->out.len)
        return true;
    if (!out_write(&s->out, &s->werr)) {
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

/* Check the topic and the partitions asked for; exit status on failure. */
static int consume_check(struct brook_client *c, const struct globals *g, const char *topic,
                         const struct consume_opts *o)
{
    struct brook_metadata *md;
    int rc = brook_metadata_get(c, &topic, 1, false, g->timeout_ms, &md);
    if (rc)
        return fail("cannot read metadata: %s", brook_strerror(rc));
    int status = 0;
    if (md->n_topics != 1 || md->topics[0].err)
        status = error_for_topic(topic, md->n_topics ? md->topics[0].err : brook_err_kafka(3));
    for (size_t i = 0; !status && i < o->n_parts; i++)
        if ((size_t)o->parts[i] >= md->topics[0].n_partitions)
            status = fail("topic '%s' has no partition %d", topic, o->parts[i]);
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
    while (!stop_flag && !s->closed && (o->count < 0 || got < o->count)) {
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
    const char *const plain[] = {"auto.offset.reset", "earliest", NULL};
    const char *const group[] = {"auto.offset.reset",  "earliest", "group.id", o->group,
                                 "enable.auto.commit", "false",    NULL};
    int rc = conf_make(g, o->group ? group : plain, conf);
    if (!rc && o->group)
        brook_conf_set_rebalance_cb(*conf, on_rebalance, s);
    return rc;
}

static int consume_finish(struct consume_state *s, const struct globals *g, int rc)
{
    int status = 0;
    consume_flush(s);
    if (rc)
        status = fail("consume: %s", brook_strerror(rc));
    if (s->werr && s->werr != EPIPE)
        status = fail("cannot write the output: %s", strerror(s->werr));
    if (s->group && !s->closed) {
        int crc = brook_commit(s->c, true, g->timeout_ms);
        if (crc && !status)
            status = fail("cannot commit offsets: %s", brook_strerror(crc));
    }
    brook_consumer_close(s->c, g->timeout_ms);
    return status;
}

static int cmd_consume(int argc, char **argv, struct globals *g)
{
    struct consume_opts o = {.count = -1};
    int rc = parse_opts(argc, argv, "g:p:o:c:ef:J", NULL, g, consume_opt, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind + 1 != argc)
        return usage_error("consume: expected one topic");
    if (o.group && o.n_parts)
        return usage_error("consume: -p and -g do not go together");
    if (o.json && o.format)
        return usage_error("consume: -f and -J do not go together");
    const char *topic = argv[optind];
    struct brook_offset start = {BROOK_OFFSET_BEGINNING, 0};
    if (o.offset && brook_offset_parse(o.offset, wall_ms(), &start))
        return usage_error("bad offset '%s'", o.offset);
    struct brook_format *f = NULL;
    size_t bad = 0;
    if (!o.json && brook_format_new(o.format ? o.format : "%s\\n", &f, &bad))
        return usage_error("bad format '%s' at character %zu", o.format, bad + 1);
    struct consume_state s = {.group = o.group != NULL};
    struct brook_conf *conf = NULL;
    if (!(rc = consume_conf(g, &o, &s, &conf)))
        rc = client_open(g, conf, &s.c);
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

/* ---- groups ---- */

static int group_list(struct brook_client *c, const struct globals *g)
{
    struct brook_group_list *l;
    int rc = brook_groups_list(c, g->timeout_ms, &l);
    if (rc)
        return fail("cannot list groups: %s", brook_strerror(rc));
    static const char *const head[] = {"GROUP", "STATE", "MEMBERS"};
    struct table t = {3, head, NULL, 0, 0};
    for (size_t i = 0; i < l->n_groups; i++) {
        struct brook_group_info *gi = NULL;
        brook_group_describe(c, l->groups[i].group_id, g->timeout_ms, &gi);
        cell(&t, "%s", l->groups[i].group_id);
        cell(&t, "%s", gi ? gi->state : "?");
        cell(&t, "%zu", gi ? gi->n_members : 0);
        brook_group_info_free(gi);
    }
    table_print(&t);
    brook_group_list_free(l);
    return 0;
}

static const struct brook_member_info *member_of(const struct brook_group_info *gi, const char *id)
{
    for (size_t i = 0; id && i < gi->n_members; i++)
        if (!strcmp(gi->members[i].member_id, id))
            return &gi->members[i];
    return NULL;
}

static void describe_rows(struct table *t, const struct brook_group_info *gi)
{
    for (size_t i = 0; i < gi->n_offsets; i++) {
        const struct brook_group_offset *o = &gi->offsets[i];
        const struct brook_member_info *m = member_of(gi, o->member_id);
        cell(t, "%s", gi->group_id);
        cell(t, "%s", o->topic);
        cell(t, "%d", o->partition);
        if (o->committed >= 0)
            cell(t, "%" PRId64, o->committed);
        else
            cell(t, "-");
        if (o->log_end >= 0)
            cell(t, "%" PRId64, o->log_end);
        else
            cell(t, "-");
        if (o->lag >= 0)
            cell(t, "%" PRId64, o->lag);
        else
            cell(t, "-");
        cell(t, "%s", m ? m->member_id : "-");
        cell(t, "%s", m ? m->client_host : "-");
        cell(t, "%s", m ? m->client_id : "-");
    }
}

static int group_describe(struct brook_client *c, const struct globals *g, char **groups, size_t n)
{
    static const char *const head[] = {"GROUP",          "TOPIC",          "PARTITION",
                                       "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                       "CONSUMER-ID",    "HOST",           "CLIENT-ID"};
    struct table t = {9, head, NULL, 0, 0};
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        struct brook_group_info *gi;
        int rc = brook_group_describe(c, groups[i], g->timeout_ms, &gi);
        if (rc) {
            status = fail("cannot describe group '%s': %s", groups[i], brook_strerror(rc));
            continue;
        }
        if (!strcmp(gi->state, "Dead") && !gi->n_offsets)
            status = fail("group '%s' does not exist", groups[i]);
        else if (!gi->n_members && isatty(STDERR_FILENO))
            fprintf(stderr, "Consumer group '%s' has no active members.\n", groups[i]);
        describe_rows(&t, gi);
        brook_group_info_free(gi);
    }
    if (t.n)
        table_print(&t);
    else
        free(t.cells);
    return status;
}

struct seek_opts {
    const char *offset;
    const char *topic;
    int32_t partition;
};

static int seek_opt(void *ctx, int opt, const char *arg)
{
    struct seek_opts *o = ctx;
    char *end;
    long v;
    switch (opt) {
    case 'o': o->offset = arg; return 0;
    case 't': o->topic = arg; return 0;
    case 'p':
        v = strtol(arg, &end, 10);
        if (*end || end == arg || v < 0 || v > INT32_MAX)
            return usage_error("bad partition '%s'", arg);
        o->partition = (int32_t)v;
        return 0;
    }
    return usage_error("unknown option -%c", opt);
}

static int group_seek(struct brook_client *c, const struct globals *g, const char *group,
                      const struct seek_opts *o, const struct brook_offset *to)
{
    int rc = brook_group_seek(c, group, o->topic, o->partition, to, g->timeout_ms);
    if (rc == BROOK_ERR_GROUP_ACTIVE)
        return fail("group '%s' has active members; stop them before seeking", group);
    if (rc == brook_err_kafka(3))
        return error_for_topic(o->topic ? o->topic : "?", rc);
    if (rc)
        return fail("cannot seek group '%s': %s", group, brook_strerror(rc));
    struct brook_group_info *gi;
    if ((rc = brook_group_describe(c, group, g->timeout_ms, &gi)))
        return fail("cannot describe group '%s': %s", group, brook_strerror(rc));
    static const char *const head[] = {"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"};
    struct table t = {4, head, NULL, 0, 0};
    for (size_t i = 0; i < gi->n_offsets; i++) {
        const struct brook_group_offset *go = &gi->offsets[i];
        if ((o->topic && strcmp(go->topic, o->topic)) ||
            (o->partition >= 0 && go->partition != o->partition))
            continue;
        cell(&t, "%s", group);
        cell(&t, "%s", go->topic);
        cell(&t, "%d", go->partition);
        cell(&t, "%" PRId64, go->committed);
    }
    table_print(&t);
    brook_group_info_free(gi);
    return 0;
}

static int group_delete(struct brook_client *c, const struct globals *g, char **groups, size_t n)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = brook_group_delete(c, groups[i], g->timeout_ms);
        if (rc == brook_err_kafka(69))
            status = fail("group '%s' does not exist", groups[i]);
        else if (rc == brook_err_kafka(68))
            status = fail("group '%s' has active members", groups[i]);
        else if (rc)
            status = fail("cannot delete group '%s': %s", groups[i], brook_strerror(rc));
        else
            printf("Deleted group %s.\n", groups[i]);
    }
    return status;
}

static int cmd_group(int argc, char **argv, struct globals *g)
{
    if (argc < 2)
        return usage_error("group: expected list, describe, seek or delete");
    const char *sub = argv[1];
    struct seek_opts so = {NULL, NULL, -1};
    int rc;
    if (!strcmp(sub, "seek"))
        rc = parse_opts(argc - 1, argv + 1, "o:t:p:", NULL, g, seek_opt, &so);
    else if (!strcmp(sub, "list") || !strcmp(sub, "describe") || !strcmp(sub, "delete"))
        rc = parse_opts(argc - 1, argv + 1, "", NULL, g, no_opts, NULL);
    else
        return usage_error("group: unknown subcommand '%s'", sub);
    if (rc)
        return rc < 0 ? 0 : rc;
    char **names = argv + 1 + optind;
    size_t n = (size_t)(argc - 1 - optind);
    if (!strcmp(sub, "list") ? n != 0 : n == 0)
        return usage_error(n ? "group list: unexpected argument '%s'"
                             : "group %s: expected a group",
                           n ? names[0] : sub);
    if (!strcmp(sub, "seek") && n != 1)
        return usage_error("group seek: expected one group");
    struct brook_offset to;
    if (!strcmp(sub, "seek") && !so.offset)
        return usage_error("group seek: expected -o OFFSET");
    if (!strcmp(sub, "seek") && brook_offset_parse(so.offset, wall_ms(), &to))
        return usage_error("bad offset '%s'", so.offset);
    if (!strcmp(sub, "seek") && so.partition >= 0 && !so.topic)
        return usage_error("group seek: -p needs -t TOPIC");
    struct brook_conf *conf;
    struct brook_client *c;
    if ((rc = conf_make(g, NULL, &conf)))
        return rc;
    rc = client_open(g, conf, &c);
    brook_conf_free(conf);
    if (rc)
        return rc;
    if (!strcmp(sub, "list"))
        rc = group_list(c, g);
    else if (!strcmp(sub, "describe"))
        rc = group_describe(c, g, names, n);
    else if (!strcmp(sub, "seek"))
        rc = group_seek(c, g, names[0], &so, &to);
    else
        rc = group_delete(c, g, names, n);
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
            char *r = ids_str(p->replicas, p->n_replicas), *s = ids_str(p->isr, p->n_isr);
            printf("    partition %d, leader %d, replicas: %s, isrs: %s, offsets %" PRId64
                   "..%" PRId64 "\n",
                   p->id, p->leader, r ? r : "", s ? s : "", p->log_start, p->log_end);
            free(r);
            free(s);
        }
    }
}

static int cmd_metadata(int argc, char **argv, struct globals *g)
{
    int rc = parse_opts(argc, argv, "", NULL, g, no_opts, NULL);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind != argc)
        return usage_error("metadata: unexpected argument '%s'", argv[optind]);
    struct brook_conf *conf;
    struct brook_client *c;
    if ((rc = conf_make(g, NULL, &conf)))
        return rc;
    rc = client_open(g, conf, &c);
    brook_conf_free(conf);
    if (rc)
        return rc;
    struct brook_metadata *md;
    rc = brook_metadata_get(c, NULL, 0, true, g->timeout_ms, &md);
    if (rc) {
        brook_client_free(c);
        return fail("cannot read metadata: %s", brook_strerror(rc));
    }
    print_metadata(md);
    brook_metadata_free(md);
    brook_client_free(c);
    return 0;
}

/* ---- main ---- */

static void signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    struct globals g = {.timeout_ms = 10000};
    static const struct option longs[] = {{"timeout", required_argument, NULL, 'T'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, 'V'},
                                          {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "+b:X:hV", longs, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        if (opt == 'V') {
            printf("brook %s\n", BROOK_VERSION);
            return 0;
        }
        if (opt == '?')
            return usage_error("unknown option or missing argument '%s'", argv[optind - 1]);
        int rc = global_opt(&g, opt, optarg);
        if (rc)
            return rc;
    }
    if (optind >= argc)
        return usage_error("expected a command");
    signals();
    char **av = argv + optind;
    int ac = argc - optind;
    const char *cmd = av[0];
    if (!strcmp(cmd, "topic") || !strcmp(cmd, "topics"))
        return cmd_topic(ac, av, &g);
    if (!strcmp(cmd, "produce"))
        return cmd_produce(ac, av, &g);
    if (!strcmp(cmd, "consume"))
        return cmd_consume(ac, av, &g);
    if (!strcmp(cmd, "group") || !strcmp(cmd, "groups"))
        return cmd_group(ac, av, &g);
    if (!strcmp(cmd, "metadata"))
        return cmd_metadata(ac, av, &g);
    if (!strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    return usage_error("unknown command '%s'", cmd);
}
