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
#include <strings.h>
#include <unistd.h>

#include "lib/conftab.h"
#include "lib/props.h"
#include "lib/version.h"

static char errbuf[512];

int broker_security_parse(const char *s, size_t len, enum broker_security *out)
{
    static const char *const names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && !strncasecmp(s, names[i], len)) {
            *out = (enum broker_security)i;
            return 0;
        }
    return -EINVAL;
}

const char *broker_security_name(enum broker_security s)
{
    switch (s) {
    case SEC_PLAINTEXT: return "PLAINTEXT";
    case SEC_SSL: return "SSL";
    case SEC_SASL_PLAINTEXT: return "SASL_PLAINTEXT";
    case SEC_SASL_SSL: return "SASL_SSL";
    }
    return "?";
}

int listen_addr_parse(const char *s, struct listen_addr *out)
{
    const char *p = strstr(s, "://");
    /* no name ("host:port", as -l takes it): one PLAINTEXT listener; a named one
     * takes Kafka's default map until listener.security.protocol.map says otherwise */
    size_t nl = p ? (size_t)(p - s) : 0;
    if (p && (nl == 0 || nl >= sizeof out->name))
        return -EINVAL;
    snprintf(out->name, sizeof out->name, "%.*s", p ? (int)nl : 9, p ? s : "PLAINTEXT");
    if (broker_security_parse(out->name, strlen(out->name), &out->security))
        out->security = SEC_PLAINTEXT; /* a custom name: the map must name its protocol */
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

#define I32                      INT32_MAX
#define NETWORK_THREADS_AUTO_MAX 8 /* num.network.threads=0: more loops than this rarely pay */

/* The keys the broker reads itself; the store's and the console's are in their
 * own tables (broker_config_tables, in views.c beside the console's view, lists
 * all three). */
const struct conf_key broker_config_table[] = {
    {"node.id", CONF_INT, "0", 0, I32, "This broker's id.", false, {NULL}},
    {"broker.id", CONF_INT, "0", 0, I32, "Used when node.id is not given.", false, {NULL}},
    {"listeners",
     CONF_LIST,
     "PLAINTEXT://127.0.0.1:9092",
     0,
     0,
     "Addresses the Kafka protocol is served on, NAME://host:port comma-separated (port 0: "
     "any free port); NAME's protocol is in listener.security.protocol.map.",
     false,
     {NULL}},
    {"advertised.listeners",
     CONF_LIST,
     NULL,
     0,
     0,
     "What clients are told to connect to, NAME://host:port per listener name (Metadata "
     "answers with the listener the request came in on): set it when listening on 0.0.0.0 "
     "or behind NAT; default: each listener as bound.",
     false,
     {NULL}},
    {"listener.security.protocol.map",
     CONF_STRING,
     "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
     0,
     0,
     "Each listener name's security protocol, NAME:PROTOCOL comma-separated; a name not "
     "in it cannot be used in listeners.",
     false,
     {NULL}},
    {"ssl.keystore.type",
     CONF_STRING,
     "PEM",
     0,
     0,
     "PEM only: JKS and PKCS12 are refused at start.",
     false,
     {NULL}},
    {"ssl.keystore.location",
     CONF_STRING,
     NULL,
     0,
     0,
     "A PEM file holding the private key and the certificate chain (leaf first) of SSL and "
     "SASL_SSL listeners.",
     false,
     {NULL}},
    {"ssl.keystore.certificate.chain",
     CONF_STRING,
     NULL,
     0,
     0,
     "The certificate chain as PEM text, instead of ssl.keystore.location.",
     false,
     {NULL}},
    {"ssl.keystore.key",
     CONF_STRING,
     NULL,
     0,
     0,
     "The private key as PEM text, with ssl.keystore.certificate.chain.",
     false,
     {NULL}},
    {"ssl.key.password",
     CONF_STRING,
     NULL,
     0,
     0,
     "The password of an encrypted private key.",
     false,
     {NULL}},
    {"ssl.truststore.type", CONF_STRING, "PEM", 0, 0, "PEM only.", false, {NULL}},
    {"ssl.truststore.location",
     CONF_STRING,
     NULL,
     0,
     0,
     "A PEM file of the CA certificates client certificates are checked against.",
     false,
     {NULL}},
    {"ssl.truststore.certificates",
     CONF_STRING,
     NULL,
     0,
     0,
     "The trusted CA certificates as PEM text, instead of ssl.truststore.location.",
     false,
     {NULL}},
    {"ssl.client.auth",
     CONF_STRING,
     "none",
     0,
     0,
     "none, requested or required: whether clients of SSL listeners present a certificate.",
     false,
     {NULL}},
    {"ssl.enabled.protocols",
     CONF_LIST,
     "TLSv1.2,TLSv1.3",
     0,
     0,
     "TLS versions offered (TLSv1.2, TLSv1.3).",
     false,
     {NULL}},
    {"ssl.protocol",
     CONF_STRING,
     "TLSv1.3",
     0,
     0,
     "Accepted for compatibility (TLS, TLSv1.2, TLSv1.3); ssl.enabled.protocols decides.",
     false,
     {NULL}},
    {"ssl.cipher.suites",
     CONF_LIST,
     NULL,
     0,
     0,
     "Cipher suites offered, IANA or OpenSSL names; not given: OpenSSL's defaults.",
     false,
     {NULL}},
    {"ssl.principal.mapping.rules",
     CONF_STRING,
     "DEFAULT",
     0,
     0,
     "How a client certificate's DN becomes the principal on SSL listeners: "
     "RULE:pattern/replacement/[LU] and DEFAULT (the whole DN), as Kafka's.",
     false,
     {NULL}},
    {"brook.ssl.handshake.timeout.ms",
     CONF_INT,
     "10000",
     100,
     I32,
     "A TLS handshake not finished within this closes the connection.",
     false,
     {NULL}},
    {"cluster.id",
     CONF_STRING,
     "brook-local-cluster",
     0,
     0,
     "The cluster id Metadata reports.",
     false,
     {NULL}},
    {"socket.request.max.bytes",
     CONF_INT,
     "104857600",
     1024,
     I32,
     "The largest request accepted; a larger one closes the connection.",
     false,
     {NULL}},
    {"connections.max.idle.ms",
     CONF_LONG,
     "600000",
     100,
     I32,
     "A connection idle this long is closed.",
     false,
     {NULL}},
    {"request.timeout.ms",
     CONF_INT,
     "30000",
     100,
     I32,
     "A request must arrive whole within this once it has begun.",
     false,
     {NULL}},
    {"num.network.threads",
     CONF_INT,
     "0",
     0,
     64,
     "Event loops serving Kafka connections, each on a thread of its own; connections are "
     "spread over them at accept. 0: the number of online CPUs, at most 8. The group and "
     "transaction coordinators, the console and the listeners stay on the first loop.",
     false,
     {NULL}},
    {"max.connections",
     CONF_INT,
     "100000",
     1,
     I32,
     "Kafka protocol connections held at once; more are closed at accept.",
     false,
     {NULL}},
    {"fetch.max.bytes",
     CONF_INT,
     "57671680",
     1024,
     I32,
     "The most record bytes one Fetch response carries.",
     false,
     {NULL}},
    {"max.incremental.fetch.session.cache.slots",
     CONF_INT,
     "1000",
     0,
     I32,
     "Fetch sessions (KIP-227) kept at once; 0 turns sessions off.",
     false,
     {NULL}},
    {"auto.create.topics.enable",
     CONF_BOOLEAN,
     "true",
     0,
     0,
     "Whether a Metadata request naming an unknown topic creates it.",
     false,
     {NULL}},
    {"default.replication.factor",
     CONF_INT,
     "1",
     1,
     1,
     "Always 1: brook is a single broker.",
     false,
     {NULL}},
    {"group.initial.rebalance.delay.ms",
     CONF_INT,
     "0",
     0,
     I32,
     "How long a new group waits for more members before its first rebalance.",
     false,
     {NULL}},
    {"group.min.session.timeout.ms",
     CONF_INT,
     "6000",
     1,
     I32,
     "The shortest session timeout a member may ask for.",
     false,
     {NULL}},
    {"group.max.session.timeout.ms",
     CONF_INT,
     "1800000",
     1,
     I32,
     "The longest session timeout a member may ask for.",
     false,
     {NULL}},
    {"group.max.size",
     CONF_INT,
     "1000",
     1,
     1000000,
     "Members one group may hold (Kafka's default is unbounded).",
     false,
     {NULL}},
    {"offset.metadata.max.bytes",
     CONF_INT,
     "4096",
     0,
     1 << 20,
     "The longest metadata string a committed offset may carry.",
     false,
     {NULL}},
    {"offsets.retention.minutes",
     CONF_INT,
     "10080",
     1,
     I32,
     "Committed offsets of a group without members expire after this.",
     false,
     {NULL}},
    {"offsets.retention.check.interval.ms",
     CONF_LONG,
     "600000",
     1,
     I32,
     "How often expired offsets are looked for.",
     false,
     {NULL}},
    {"transaction.max.timeout.ms",
     CONF_INT,
     "900000",
     1,
     I32,
     "The longest transaction.timeout.ms a producer may ask for; a longer one gets "
     "INVALID_TRANSACTION_TIMEOUT.",
     false,
     {NULL}},
    {"transactional.id.expiration.ms",
     CONF_INT,
     "604800000",
     1,
     I32,
     "A transactional id with no transaction open and no request for this long is forgotten.",
     false,
     {NULL}},
    {"group.consumer.session.timeout.ms",
     CONF_INT,
     "45000",
     1,
     I32,
     "A consumer group member (KIP-848) is removed when no heartbeat comes within this.",
     false,
     {NULL}},
    {"group.consumer.heartbeat.interval.ms",
     CONF_INT,
     "5000",
     1,
     I32,
     "How often consumer group members (KIP-848) are told to heartbeat.",
     false,
     {NULL}},
    {"group.consumer.max.size",
     CONF_INT,
     "1000",
     1,
     1000000,
     "Members one consumer group (KIP-848) may hold (Kafka's default is unbounded).",
     false,
     {NULL}},
    {"brook.groups.max",
     CONF_INT,
     "100000",
     1,
     10000000,
     "Consumer groups the coordinator keeps; new ones beyond get GROUP_MAX_SIZE_REACHED.",
     false,
     {NULL}},
    {"fuse.mount.dir",
     CONF_STRING,
     NULL,
     0,
     0,
     "Mount the topics as files at this directory; not given or empty: no mount.",
     false,
     {NULL}},
    {"fuse.max.threads", CONF_INT, "4", 1, 64, "Threads serving the mount.", false, {NULL}},
    {"fuse.partial.max.bytes",
     CONF_LONG,
     "67108864",
     1024,
     INT64_MAX,
     "Memory all lines written to the mount without their newline may hold together; past "
     "it a write() fails with ENOBUFS.",
     false,
     {NULL}},
    {"console.listeners",
     CONF_STRING,
     "127.0.0.1:8080",
     0,
     0,
     "The web console's address, or off.",
     false,
     {NULL}},
    {"console.read.only",
     CONF_BOOLEAN,
     "false",
     0,
     0,
     "Whether the console refuses everything that writes (creating, producing, editing a topic, "
     "resetting, deleting).",
     false,
     {NULL}},
    {"sasl.enabled.mechanisms",
     CONF_LIST,
     "SCRAM-SHA-256,SCRAM-SHA-512",
     0,
     0,
     "The SASL mechanisms SASL_* listeners offer: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.",
     false,
     {NULL}},
    {"connections.max.reauth.ms",
     CONF_LONG,
     "0",
     0,
     INT64_MAX,
     "The lifetime of a SASL session (KIP-368); the client re-authenticates before it ends "
     "or is disconnected. 0: sessions do not end.",
     false,
     {NULL}},
    {NULL, 0, NULL, 0, 0, NULL, false, {NULL}},
};

static int int_key(const struct props *p, const char *key, int64_t *out, const char **err)
{
    if (conf_get_i64(broker_config_table, p, key, out))
        return set_err(err, "invalid value for %s: %s", key, props_get(p, key));
    return 0;
}

static int bool_key(const struct props *p, const char *key, bool *out, const char **err)
{
    if (conf_get_bool(broker_config_table, p, key, out))
        return set_err(err, "invalid value for %s: %s", key, props_get(p, key));
    return 0;
}

/* Connections, requests and groups. */
static int apply_limits(struct broker_config *c, const char **err)
{
    const struct props *p = c->props;
    int64_t v;
    if (int_key(p, "socket.request.max.bytes", &c->max_request_bytes, err) ||
        int_key(p, "connections.max.idle.ms", &c->idle_ms, err) ||
        int_key(p, "request.timeout.ms", &c->request_timeout_ms, err) ||
        int_key(p, "connections.max.reauth.ms", &c->reauth_ms, err) ||
        int_key(p, "max.connections", &c->max_connections, err) ||
        int_key(p, "num.network.threads", &c->network_threads, err) ||
        int_key(p, "fetch.max.bytes", &c->fetch_max_bytes, err) ||
        int_key(p, "max.incremental.fetch.session.cache.slots", &c->fetch_session_slots, err) ||
        int_key(p, "group.initial.rebalance.delay.ms", &c->group_initial_delay_ms, err) ||
        int_key(p, "group.min.session.timeout.ms", &c->group_min_session_ms, err) ||
        int_key(p, "group.max.session.timeout.ms", &c->group_max_session_ms, err) ||
        int_key(p, "offset.metadata.max.bytes", &c->offset_metadata_max, err) ||
        int_key(p, "offsets.retention.check.interval.ms", &c->offsets_check_ms, err) ||
        int_key(p, "brook.groups.max", &c->groups_max, err) ||
        int_key(p, "group.consumer.session.timeout.ms", &c->cgroup_session_ms, err) ||
        int_key(p, "group.consumer.heartbeat.interval.ms", &c->cgroup_heartbeat_ms, err) ||
        int_key(p, "group.consumer.max.size", &c->cgroup_max_size, err) ||
        int_key(p, "transaction.max.timeout.ms", &c->txn_max_timeout_ms, err) ||
        int_key(p, "transactional.id.expiration.ms", &c->txn_id_expiration_ms, err))
        return -1;
    if (c->network_threads == 0) { /* one loop per CPU, up to NETWORK_THREADS_AUTO_MAX */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        c->network_threads = cpus < 1                          ? 1
                             : cpus > NETWORK_THREADS_AUTO_MAX ? NETWORK_THREADS_AUTO_MAX
                                                               : cpus;
    }
    if (int_key(p, "group.max.size", &v, err))
        return -1;
    c->group_max_size = (int32_t)v;
    if (int_key(p, "offsets.retention.minutes", &v, err))
        return -1;
    c->offsets_retention_ms = v * 60000;
    if (int_key(p, "default.replication.factor", &v, err))
        return -1;
    c->default_replication = (int32_t)v;
    return bool_key(p, "auto.create.topics.enable", &c->auto_create_topics, err);
}

/* The mount and the console. */
static int apply_fuse_console(struct broker_config *c, const char **err)
{
    const struct props *p = c->props;
    int64_t v;
    c->mount = conf_get_str(broker_config_table, p, "fuse.mount.dir");
    if (c->mount && !*c->mount)
        c->mount = NULL;
    if (int_key(p, "fuse.max.threads", &v, err) ||
        int_key(p, "fuse.partial.max.bytes", &c->fuse_partial_max, err))
        return -1;
    c->fuse_threads = (int32_t)v;
    const char *s = conf_get_str(broker_config_table, p, "console.listeners");
    c->console_enabled = strcmp(s, "off") != 0;
    if (c->console_enabled && listen_addr_parse(s, &c->console))
        return set_err(err, "invalid console.listeners: %s%s", s, "");
    return bool_key(p, "console.read.only", &c->console_read_only, err);
}

/* Derive the typed fields from c->props. */
static int apply_props(struct broker_config *c, const char **err)
{
    const struct props *p = c->props;
    const char *bad = NULL;
    if (store_config_from_props(&c->store, p, &bad))
        return set_err(err, "invalid value for %s: %s", bad, props_get(p, bad));
    int64_t v;
    if (int_key(p, props_get(p, "node.id") ? "node.id" : "broker.id", &v, err))
        return -1;
    c->node_id = (int32_t)v;
    if (parse_listeners(c, conf_get_str(broker_config_table, p, "listeners"), err))
        return -1;
    if (broker_config_listeners(c, err) ||
        int_key(p, "brook.ssl.handshake.timeout.ms", &c->tls_handshake_ms, err))
        return -1;
    c->cluster_id = conf_get_str(broker_config_table, p, "cluster.id");
    return apply_limits(c, err) || apply_fuse_console(c, err) ? -1 : 0;
}

/* One Markdown table cell: s with any '|' escaped, or fallback when s is NULL. */
static void md_cell(FILE *out, const char *s, const char *fallback)
{
    fputs(" ", out);
    for (s = s ? s : fallback; *s; s++)
        fputs(*s == '|' ? "\\|" : (char[]){*s, 0}, out);
    fputs(" |", out);
}

/* The key tables as the Markdown of docs/operations.md's generated section. */
static void print_config_docs(FILE *out)
{
    char range[64];
    fputs("| Key | Type | Default | Range | Description |\n|---|---|---|---|---|\n", out);
    for (size_t i = 0; broker_config_tables[i]; i++)
        for (const struct conf_key *k = broker_config_tables[i]; k->name; k++) {
            fprintf(out, "| `%s` |", k->name);
            md_cell(out, conf_type_name(k->type), "");
            md_cell(out, k->def, "(none)");
            md_cell(out, conf_range(k, range, sizeof range), "");
            md_cell(out, k->doc, "");
            fputs("\n", out);
        }
    fputs("\nTopic keys (set by CreateTopics or the console when a topic is created), each "
          "defaulting "
          "to its broker keys, the first one given winning:\n\n"
          "| Topic key | Type | Default from | Range | Description |\n|---|---|---|---|---|\n",
          out);
    for (const struct conf_key *k = topic_config_table; k->name; k++) {
        char from[160] = "";
        for (int i = 0; i < 3 && k->synonyms[i]; i++)
            snprintf(from + strlen(from), sizeof from - strlen(from), "%s`%s`", i ? ", " : "",
                     k->synonyms[i]);
        fprintf(out, "| `%s` |", k->name);
        md_cell(out, conf_type_name(k->type), "");
        md_cell(out, k->synonyms[0] ? from : k->def, "");
        md_cell(out, conf_range(k, range, sizeof range), "");
        md_cell(out, k->doc, "");
        fputs("\n", out);
    }
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
           "      --add-scram 'SCRAM-SHA-512=[name=N,password=P]'\n"
           "                          store a SCRAM user before listening (repeatable)\n"
           "      --help-config       print every configuration key as Markdown and exit\n"
           "      --help-apis         print the advertised API versions (tab-separated) and exit\n"
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
        {"help-config", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {"add-scram", required_argument, NULL, 'A'},
        {NULL, 0, NULL, 0},
    };
    memset(c, 0, sizeof *c);
    if (!(c->props = props_new()))
        return set_err(err, "out of memory%s%s", "", "");
    /* the file first, wherever -c appears, so that flags always win */
    optind = 1;
    opterr = 0; /* one line of our own, naming the option, rather than getopt's and ours */
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
        } else if (o == 'K') {
            print_config_docs(stdout);
            return 1;
        } else if (o == 'V') {
            printf("brookd %s\n", BROOK_VERSION);
            return 1;
        } else if (o == '?' || o == ':') {
            return set_err(err, "%s '%s'; see brookd --help",
                           optopt && strchr("codlmC", optopt) ? "missing argument for"
                                                              : "unknown option",
                           argv[optind - 1]);
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
        case 'A':
            if (c->n_add_scram >= BROKER_MAX_ADD_SCRAM)
                return set_err(err, "more than %s --add-scram options%s", "64", "");
            c->add_scram[c->n_add_scram++] = optarg;
            break;
        default: break;
        }
        if (rc)
            return set_err(err, "out of memory%s%s", "", "");
    }
    if (optind < argc)
        return set_err(err, "unexpected argument: %s%s", argv[optind], "");
    return apply_props(c, err);
}

size_t broker_config_unknown(const struct broker_config *c, char *buf, size_t size)
{
    const char *k, *v;
    size_t n = 0, used = 0;
    buf[0] = 0;
    for (size_t i = 0; props_at(c->props, i, &k, &v); i++) {
        if (broker_config_key(k) || broker_config_listener_key(k))
            continue;
        const struct conf_key *near = broker_config_suggest(k);
        int w = snprintf(buf + used, size - used, "%s%s%s%s%s", n ? ", " : "", k,
                         near ? " (did you mean " : "", near ? near->name : "", near ? "?)" : "");
        if (w < 0 || (size_t)w >= size - used) { /* cut at the last whole name */
            snprintf(buf + used, size - used, "%s", size - used > 5 ? ", ..." : "");
            used = size - 1;
        } else {
            used += (size_t)w;
        }
        n++;
    }
    return n;
}

void broker_config_release(struct broker_config *c)
{
    props_free(c->props);
    c->props = NULL;
}
