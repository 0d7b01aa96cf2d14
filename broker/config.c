/*
 * config.c - brookd's configuration from server.properties, overrides and flags.
 *
 * Precedence, lowest first: built-in defaults, the -c file, then each -o pair and
 * each shortcut flag (-d, -l, -m, --console) in command-line order. Keys are
 * Kafka's where Kafka has one; brook's own live under fuse.* and console.*.
 * Defaults serve a laptop: 127.0.0.1:9092, console on 127.0.0.1:8080, data in
 * ./brook-data, no mount unless asked for.
 */
#include "broker/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/props.h"
#include "lib/version.h"

static char errbuf[512];

int listen_addr_parse(const char *s, struct listen_addr *out)
{
    const char *p = strstr(s, "://");
    p = p ? p + 3 : s;
    const char *colon;
    size_t hl;
    if (*p == '[') { /* [v6]:port */
        const char *end = strchr(p, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        hl = (size_t)(end - p - 1);
        if (hl >= sizeof out->host)
            return -EINVAL;
        memcpy(out->host, p + 1, hl);
        colon = end + 1;
    } else {
        colon = strrchr(p, ':');
        if (!colon)
            return -EINVAL;
        hl = (size_t)(colon - p);
        if (hl >= sizeof out->host)
            return -EINVAL;
        memcpy(out->host, p, hl);
    }
    out->host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 0 || port > 65535)
        return -EINVAL;
    out->port = (int)port;
    return 0;
}

static int set_err(const char **err, const char *fmt, const char *a, const char *b)
{
    snprintf(errbuf, sizeof errbuf, fmt, a, b);
    *err = errbuf;
    return -1;
}

static int parse_listeners(struct broker_config *c, const char *v, const char **err)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v);
    c->n_listeners = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (c->n_listeners == BROKER_MAX_LISTENERS ||
            listen_addr_parse(tok, &c->listeners[c->n_listeners]))
            return set_err(err, "invalid listeners: %s%s", v, "");
        c->n_listeners++;
    }
    if (!c->n_listeners)
        return set_err(err, "invalid listeners: %s%s", v, "");
    return 0;
}

static int int_key(const struct props *p, const char *key, int64_t def, int64_t min, int64_t max,
                   int64_t *out, const char **err)
{
    if (props_get_i64(p, key, def, min, max, out))
        return set_err(err, "invalid value for %s: %s", key, props_get(p, key));
    return 0;
}

/* Derive the typed fields from c->props. */
static int apply_props(struct broker_config *c, const char **err)
{
    const struct props *p = c->props;
    const char *bad = NULL;
    store_config_defaults(&c->store);
    if (store_config_from_props(&c->store, p, &bad))
        return set_err(err, "invalid value for %s: %s", bad, props_get(p, bad));
    int64_t v;
    const char *s = props_get(p, "node.id");
    if (int_key(p, s ? "node.id" : "broker.id", 0, 0, INT32_MAX, &v, err))
        return -1;
    c->node_id = (int32_t)v;
    s = props_get(p, "listeners");
    if (parse_listeners(c, s ? s : "PLAINTEXT://127.0.0.1:9092", err))
        return -1;
    s = props_get(p, "advertised.listeners");
    c->advertised_set = s != NULL;
    if (s && listen_addr_parse(s, &c->advertised))
        return set_err(err, "invalid advertised.listeners: %s%s", s, "");
    if (int_key(p, "socket.request.max.bytes", 104857600, 1024, INT32_MAX, &c->max_request_bytes,
                err) ||
        int_key(p, "connections.max.idle.ms", 600000, 100, INT32_MAX, &c->idle_ms, err) ||
        int_key(p, "request.timeout.ms", 30000, 100, INT32_MAX, &c->request_timeout_ms, err) ||
        int_key(p, "max.connections", 100000, 1, INT32_MAX, &c->max_connections, err) ||
        int_key(p, "fetch.max.bytes", 57671680, 1024, INT32_MAX, &c->fetch_max_bytes, err) ||
        int_key(p, "group.initial.rebalance.delay.ms", 0, 0, INT32_MAX, &c->group_initial_delay_ms,
                err) ||
        int_key(p, "group.min.session.timeout.ms", 6000, 1, INT32_MAX, &c->group_min_session_ms,
                err) ||
        int_key(p, "group.max.session.timeout.ms", 1800000, 1, INT32_MAX, &c->group_max_session_ms,
                err))
        return -1;
    if (int_key(p, "group.max.size", 1000, 1, 1000000, &v, err))
        return -1;
    c->group_max_size = (int32_t)v;
    if (int_key(p, "offset.metadata.max.bytes", 4096, 0, 1 << 20, &c->offset_metadata_max, err) ||
        int_key(p, "offsets.retention.minutes", 10080, 1, INT32_MAX, &v, err) ||
        int_key(p, "offsets.retention.check.interval.ms", 600000, 1, INT32_MAX,
                &c->offsets_check_ms, err) ||
        int_key(p, "brook.groups.max", 100000, 1, 10000000, &c->groups_max, err))
        return -1;
    c->offsets_retention_ms = v * 60000;
    if (int_key(p, "default.replication.factor", 1, 1, 1, &v, err))
        return -1;
    c->default_replication = (int32_t)v;
    if (props_get_bool(p, "auto.create.topics.enable", true, &c->auto_create_topics))
        return set_err(err, "invalid value for %s: %s", "auto.create.topics.enable",
                       props_get(p, "auto.create.topics.enable"));
    c->cluster_id = props_get(p, "cluster.id");
    if (!c->cluster_id)
        c->cluster_id = "brook-local-cluster";
    c->mount = props_get(p, "fuse.mount.dir");
    if (c->mount && !*c->mount)
        c->mount = NULL;
    if (int_key(p, "fuse.max.threads", 4, 1, 64, &v, err))
        return -1;
    c->fuse_threads = (int32_t)v;
    if (int_key(p, "fuse.partial.max.bytes", 64 << 20, 1024, INT64_MAX, &c->fuse_partial_max, err))
        return -1;
    s = props_get(p, "console.listeners");
    if (!s)
        s = "127.0.0.1:8080";
    c->console_enabled = strcmp(s, "off") != 0;
    if (c->console_enabled && listen_addr_parse(s, &c->console))
        return set_err(err, "invalid console.listeners: %s%s", s, "");
    if (props_get_bool(p, "console.read.only", false, &c->console_read_only))
        return set_err(err, "invalid value for %s: %s", "console.read.only",
                       props_get(p, "console.read.only"));
    return 0;
}

static void usage(void)
{
    printf("usage: brookd [options]\n"
           "  -c, --config FILE       read server.properties-style configuration\n"
           "  -o, --override K=V      set a configuration key (repeatable)\n"
           "  -d, --data DIR          log.dirs (default ./brook-data)\n"
           "  -l, --listen HOST:PORT  listeners (default 127.0.0.1:9092; port 0 picks one)\n"
           "  -m, --mount DIR         fuse.mount.dir: mount topics as files at DIR\n"
           "      --console HOST:PORT console.listeners (default 127.0.0.1:8080), or off\n"
           "      --version           print the version and exit\n"
           "  -h, --help              print this help and exit\n");
}

int broker_config_from_args(struct broker_config *c, int argc, char **argv, const char **err)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"override", required_argument, NULL, 'o'},
        {"data", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"mount", required_argument, NULL, 'm'},
        {"console", required_argument, NULL, 'C'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(c, 0, sizeof *c);
    if (!(c->props = props_new()))
        return set_err(err, "out of memory%s%s", "", "");
    /* the file first, wherever -c appears, so that flags always win */
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "c:o:d:l:m:hV", opts, NULL)) != -1) {
        if (o == 'c') {
            int line = 0;
            int rc = props_load(c->props, optarg, &line);
            if (rc == -EINVAL) {
                char at[32];
                snprintf(at, sizeof at, "%d", line);
                return set_err(err, "%s: bad line %s", optarg, at);
            }
            if (rc)
                return set_err(err, "%s: %s", optarg, strerror(-rc));
        } else if (o == 'h') {
            usage();
            return 1;
        } else if (o == 'V') {
            printf("brookd %s\n", BROOK_VERSION);
            return 1;
        } else if (o == '?') {
            return set_err(err, "unknown option; see brookd --help%s%s", "", "");
        }
    }
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:o:d:l:m:hV", opts, NULL)) != -1) {
        int rc = 0;
        switch (o) {
        case 'o':
            rc = props_set_pair(c->props, optarg);
            if (rc == -EINVAL)
                return set_err(err, "--override needs key=value, got %s%s", optarg, "");
            break;
        case 'd': rc = props_set(c->props, "log.dirs", optarg); break;
        case 'l': rc = props_set(c->props, "listeners", optarg); break;
        case 'm': rc = props_set(c->props, "fuse.mount.dir", optarg); break;
        case 'C': rc = props_set(c->props, "console.listeners", optarg); break;
        default: break;
        }
        if (rc)
            return set_err(err, "out of memory%s%s", "", "");
    }
    if (optind < argc)
        return set_err(err, "unexpected argument: %s%s", argv[optind], "");
    return apply_props(c, err);
}

void broker_config_release(struct broker_config *c)
{
    props_free(c->props);
    c->props = NULL;
}
