/*
 * main.c - brook, the command-line tool over libbrook: options, messages, dispatch.
 *
 *   brook [-b BROKERS] [-X key=value]... COMMAND ...
 *   topic list|describe|create|delete, produce, consume, group list|describe|seek|delete,
 *   acl list|create|delete, metadata, user list|create|delete
 *
 * Shaped after kcat and rpk: a line of stdin is a record, consumed records are
 * printed with kcat's format tokens or its exact JSON envelope. Brokers come from
 * -b, then $BROOK_BROKERS, then localhost:9092. Global options (-b, -X, -F, --timeout)
 * are accepted before the command and among its own options.
 *
 * The tool is one file per command family (topic.c with metadata, produce.c,
 * consume.c, group.c, acl.c), output.c for what they print through, and this file for
 * what they share: option parsing, the configuration and client they start from,
 * and the one-line messages. cli.h is their private header.
 *
 * Every failure is one line on stderr, "brook: what: why", and a non-zero exit:
 * 1 for failures at run time, 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"
#include "lib/version.h"

volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
    (void)sig;
    cli_stop = 1;
}

/* ---- messages ---- */

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("brook: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_fail_broker(const struct brook_client *c, const char *fmt, ...)
{
    va_list ap;
    const char *why = brook_error_message(c);
    fputs("brook: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (why)
        fprintf(stderr, " (broker: %s)", why);
    fputc('\n', stderr);
    return 1;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("brook: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see brook --help)\n", stderr);
    return 2;
}

void cli_usage(FILE *out)
{
    fputs(
        "cli_usage: brook [-b BROKERS] [-X key=value]... [-F FILE]... [--timeout MS] COMMAND ...\n"
        "\n"
        "commands:\n"
        "  topic list [-a]                     list topics (-a: internal ones too)\n"
        "  topic describe TOPIC...             partitions, leaders and offsets\n"
        "  topic create TOPIC [-p N] [-r N] [-c key=value]...\n"
        "  topic delete TOPIC...\n"
        "  produce TOPIC [-k KEY | -K SEP] [-H name=value]... [-p N] [-z CODEC] [-Z] [-v]\n"
        "          [--transactional-id ID]     the whole input in one transaction\n"
        "                                      one line of stdin is one record\n"
        "  consume TOPIC [-g GROUP] [-p N]... [-o OFFSET] [-c COUNT] [-e] [-f FORMAT | -J]\n"
        "          [--isolation read_committed|read_uncommitted]   (default read_committed)\n"
        "  group list\n"
        "  group describe GROUP...\n"
        "  group seek GROUP -o OFFSET [-t TOPIC] [-p N]\n"
        "  group delete GROUP...\n"
        "  acl list [FILTER]                   ACLs (FILTER: the options below, any left out)\n"
        "  acl create --allow-principal|--deny-principal P --operation OP RESOURCE\n"
        "             [--resource-pattern-type literal|prefixed] [--host H]\n"
        "  acl delete [FILTER]                 RESOURCE: --topic T, --group G,\n"
        "                                      --transactional-id T or --cluster\n"
        "  metadata                            brokers and topics\n"
        "  mount DIR [--read-only] [-d] [--cache-dir DIR] [--cache-max BYTES] [--group G]\n"
        "                                      the cluster as files (docs/fuse.md)\n"
        "  user list                           SCRAM users and their mechanisms\n"
        "  user create NAME --password P|- [--mechanism SCRAM-SHA-512] [--iterations N]\n"
        "  user delete NAME... [--mechanism M] every credential, or the one of M\n"
        "\n"
        "global options:\n"
        "  -b BROKERS      host:port[,host:port...] (default $BROOK_BROKERS, then " DEFAULT_BROKERS
        ")\n"
        "  -F FILE         settings from FILE, a key=value per line (# comments), as kcat -F:\n"
        "                  keeps secrets such as sasl.password out of the process list\n"
        "  -X key=value    a client setting by its Kafka name, e.g. -X acks=1,\n"
        "                  -X security.protocol=sasl_ssl -X sasl.mechanism=SCRAM-SHA-512\n"
        "                  -X sasl.username=U -X sasl.password=P -X ssl.ca.location=ca.pem\n"
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

#define CONF_FILE_MAX (1 << 20) /* bytes of a -F file */

/* -F: each "key=value" line of path as if given with -X, in order; blank lines
 * and lines starting with '#' are skipped. 0 or an exit status. */
static int conf_file(struct globals *g, const char *path)
{
    if (g->nfiles == sizeof g->files / sizeof g->files[0])
        return cli_usage_error("too many -F files");
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail("cannot read %s: %s", path, strerror(errno));
    char *text = malloc(CONF_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, CONF_FILE_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!text || bad || n > CONF_FILE_MAX) {
        free(text);
        return cli_fail("cannot read %s: %s", path,
                        !text ? "out of memory"
                        : bad ? "read error"
                              : "larger than 1 MiB");
    }
    text[n] = 0;
    g->files[g->nfiles++] = text;
    for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        line += strspn(line, " \t");
        if (!*line || *line == '#')
            continue;
        if (!strchr(line, '=') || g->nx == sizeof g->xs / sizeof g->xs[0])
            return cli_usage_error("bad line in %s: expected key=value", path);
        g->xs[g->nx++] = line;
    }
    return 0;
}

static int global_opt(struct globals *g, int opt, const char *arg)
{
    char *end;
    long v;
    switch (opt) {
    case 'b': g->brokers = arg; return 0;
    case 'F': return conf_file(g, arg);
    case 'X':
        if (!strchr(arg, '=') || g->nx == sizeof g->xs / sizeof g->xs[0])
            return cli_usage_error("bad -X '%s': expected key=value", arg);
        g->xs[g->nx++] = arg;
        return 0;
    case 'T':
        v = strtol(arg, &end, 10);
        if (*end || end == arg || v < 0 || v > INT32_MAX)
            return cli_usage_error("bad --timeout '%s'", arg);
        g->timeout_ms = (int)v;
        return 0;
    }
    return cli_usage_error("unknown option");
}

static const char *brokers_of(const struct globals *g)
{
    const char *env = getenv("BROOK_BROKERS");
    return g->brokers ? g->brokers : env && *env ? env : DEFAULT_BROKERS;
}

/* A configuration: the brokers, then the command's defaults (key, value pairs,
 * NULL-terminated), then every -X, which therefore wins. Exit status on failure. */
int cli_conf_make(const struct globals *g, const char *const *defaults, struct brook_conf **out)
{
    struct brook_conf *conf = brook_conf_new();
    if (!conf)
        return cli_fail("out of memory");
    if (brook_conf_set(conf, "bootstrap.servers", brokers_of(g))) {
        brook_conf_free(conf);
        return cli_usage_error("bad broker list '%s'", brokers_of(g));
    }
    for (size_t i = 0; defaults && defaults[i]; i += 2)
        brook_conf_set(conf, defaults[i], defaults[i + 1]);
    for (size_t i = 0; i < g->nx; i++) {
        char key[256];
        const char *eq = strchr(g->xs[i], '=');
        size_t kl = (size_t)(eq - g->xs[i]);
        if (kl < sizeof key)
            snprintf(key, sizeof key, "%.*s", (int)kl, g->xs[i]);
        int rc = kl < sizeof key ? brook_conf_set(conf, key, eq + 1) : -ENOENT;
        if (rc) {
            brook_conf_free(conf);
            if (rc == -ENOENT)
                return cli_usage_error("-X %s: unknown client setting '%.*s' (brook(1) lists "
                                       "them)",
                                       g->xs[i], (int)kl, g->xs[i]);
            return cli_usage_error("-X %s: '%s' is not a valid value for %s", g->xs[i], eq + 1,
                                   key);
        }
    }
    *out = conf;
    return 0;
}

/* Make the client and reach the cluster; exit status on failure. */
int cli_client_open(const struct globals *g, const struct brook_conf *conf,
                    struct brook_client **out)
{
    int rc = brook_client_new(conf, out);
    if (rc == BROOK_ERR_CONFIG)
        return cli_usage_error("bad broker list '%s', or security.protocol sasl_* without "
                               "sasl.username and sasl.password",
                               brokers_of(g));
    if (rc)
        return cli_fail("cannot start the client: %s", brook_strerror(rc));
    int why = 0;
    rc = brook_client_connect(*out, g->timeout_ms, &why);
    if (rc) {
        cli_fail("cannot reach a broker at %s: %s", brokers_of(g), brook_strerror(why ? why : rc));
        brook_client_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

int cli_connect(const struct globals *g, struct brook_client **out)
{
    struct brook_conf *conf;
    int rc = cli_conf_make(g, NULL, &conf);
    if (rc)
        return rc;
    rc = cli_client_open(g, conf, out);
    brook_conf_free(conf);
    return rc;
}

int cli_parse_opts(int argc, char **argv, const char *spec, const struct option *longs,
                   struct globals *g, opt_handler *handle, void *ctx)
{
    char shortopts[64];
    snprintf(shortopts, sizeof shortopts, "b:X:F:h%s", spec);
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
            return cli_usage_error("%s: unknown option or missing argument '%s'", argv[0],
                                   argv[optind - 1]);
        if (opt == 'h') {
            cli_usage(stdout);
            return -1;
        }
        if (opt == 'b' || opt == 'X' || opt == 'F' || opt == 'T')
            rc = global_opt(g, opt, optarg);
        else
            rc = handle(ctx, opt, optarg);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_no_opts(void *ctx, int opt, const char *arg)
{
    return cli_usage_error("unknown option -%c", opt);
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

/* Run the command av[0] with its arguments; its exit status. */
static int command(int ac, char **av, struct globals *g)
{
    const char *cmd = av[0];
    if (!strcmp(cmd, "topic") || !strcmp(cmd, "topics"))
        return cli_topic(ac, av, g);
    if (!strcmp(cmd, "produce"))
        return cli_produce(ac, av, g);
    if (!strcmp(cmd, "consume"))
        return cli_consume(ac, av, g);
    if (!strcmp(cmd, "group") || !strcmp(cmd, "groups"))
        return cli_group(ac, av, g);
    if (!strcmp(cmd, "acl") || !strcmp(cmd, "acls"))
        return cli_acl(ac, av, g);
    if (!strcmp(cmd, "metadata"))
        return cli_metadata(ac, av, g);
    if (!strcmp(cmd, "user") || !strcmp(cmd, "users"))
        return cli_user(ac, av, g);
    if (!strcmp(cmd, "mount"))
        return cli_mount(ac, av, g);
    if (!strcmp(cmd, "help")) {
        cli_usage(stdout);
        return 0;
    }
    return cli_usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    static struct globals g = {.timeout_ms = 10000}; /* static: -F texts stay reachable */
    static const struct option longs[] = {{"timeout", required_argument, NULL, 'T'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, 'V'},
                                          {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "+b:X:F:hV", longs, NULL)) != -1) {
        if (opt == 'h') {
            cli_usage(stdout);
            return 0;
        }
        if (opt == 'V') {
            printf("brook %s\n", BROOK_VERSION);
            return 0;
        }
        if (opt == '?')
            return cli_usage_error("unknown option or missing argument '%s'", argv[optind - 1]);
        int rc = global_opt(&g, opt, optarg);
        if (rc)
            return rc;
    }
    if (optind >= argc)
        return cli_usage_error("expected a command");
    signals();
    int rc = command(argc - optind, argv + optind, &g);
    for (size_t i = 0; i < g.nfiles; i++)
        free(g.files[i]);
    return rc;
}
