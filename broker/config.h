/*
 * config.h - brookd's configuration: Kafka's server.properties keys, brook's own
 * fuse.* and console.* keys, and the command-line flags that override them.
 */
#ifndef BROOK_BROKER_CONFIG_H
#define BROOK_BROKER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct props;
struct tls_settings;

#define BROKER_MAX_LISTENERS 8
#define BROKER_MAX_ADD_SCRAM 64 /* --add-scram options on one command line */

/* The security protocol of a listener, as listener.security.protocol.map names it. */
enum broker_security { SEC_PLAINTEXT, SEC_SSL, SEC_SASL_PLAINTEXT, SEC_SASL_SSL };

struct listen_addr {
    char name[64];                 /* the listener name ("PLAINTEXT", "CLIENT", ...) */
    enum broker_security security; /* from the name through listener.security.protocol.map */
    char host[256];                /* numeric or name; "" or 0.0.0.0 for any */
    int port;                      /* 0: any free port */
};

/* Whether connections on a listener of this protocol must authenticate with SASL,
 * or speak TLS. */
static inline bool broker_security_sasl(enum broker_security s)
{
    return s == SEC_SASL_PLAINTEXT || s == SEC_SASL_SSL;
}
static inline bool broker_security_tls(enum broker_security s)
{
    return s == SEC_SSL || s == SEC_SASL_SSL;
}

struct broker_config {
    struct props *props; /* everything as given (file, then overrides), owned */
    struct store_config store;
    int32_t node_id; /* node.id / broker.id */
    struct listen_addr listeners[BROKER_MAX_LISTENERS];
    int n_listeners;
    struct listen_addr advertised[BROKER_MAX_LISTENERS]; /* by listener; port 0: bound */
    bool advertised_set[BROKER_MAX_LISTENERS];           /* advertised.listeners names it */
    int64_t tls_handshake_ms;                            /* brook.ssl.handshake.timeout.ms */
    int64_t max_request_bytes;                           /* socket.request.max.bytes */
    int64_t idle_ms;                                     /* connections.max.idle.ms */
    int64_t request_timeout_ms;     /* a request must arrive whole within this */
    int64_t reauth_ms;              /* connections.max.reauth.ms (KIP-368); 0: none */
    int64_t max_connections;        /* max.connections */
    int64_t network_threads;        /* num.network.threads (0 resolved to the CPUs) */
    int64_t fetch_max_bytes;        /* fetch.max.bytes: record bytes of one Fetch response */
    int64_t fetch_session_slots;    /* max.incremental.fetch.session.cache.slots */
    bool auto_create_topics;        /* auto.create.topics.enable */
    int32_t default_replication;    /* shown in DescribeConfigs only */
    int64_t group_initial_delay_ms; /* group.initial.rebalance.delay.ms */
    int64_t group_min_session_ms;   /* group.min.session.timeout.ms */
    int64_t group_max_session_ms;   /* group.max.session.timeout.ms */
    int32_t group_max_size;         /* group.max.size */
    int64_t offset_metadata_max;    /* offset.metadata.max.bytes */
    int64_t offsets_retention_ms;   /* offsets.retention.minutes, in ms */
    int64_t offsets_check_ms;       /* offsets.retention.check.interval.ms */
    int64_t groups_max;             /* brook.groups.max: groups the coordinator keeps */
    int64_t cgroup_session_ms;      /* group.consumer.session.timeout.ms */
    int64_t cgroup_heartbeat_ms;    /* group.consumer.heartbeat.interval.ms */
    int64_t cgroup_max_size;        /* group.consumer.max.size */
    int64_t txn_max_timeout_ms;     /* transaction.max.timeout.ms */
    int64_t txn_id_expiration_ms;   /* transactional.id.expiration.ms */
    const char *cluster_id;         /* cluster.id (brook's own default) */
    const char *mount;              /* fuse.mount.dir, NULL: no mount */
    int32_t fuse_threads;           /* fuse.max.threads */
    int64_t fuse_partial_max;       /* fuse.partial.max.bytes */
    struct listen_addr console;     /* console.listeners */
    bool console_enabled;           /* console.listeners != off */
    bool console_read_only;         /* console.read.only */
    const char *add_scram[BROKER_MAX_ADD_SCRAM]; /* --add-scram specs (argv's strings) */
    int n_add_scram;
};

/*
 * Build a config from the command line: -c/--config FILE, -o/--override k=v,
 * -d/--data DIR, -l/--listen HOST:PORT, -m/--mount DIR, --console HOST:PORT|off.
 * Returns 0; 1 when --help/--version printed and the program should exit 0; or -1
 * after writing a one-line message to *err (a static buffer).
 */
int broker_config_from_args(struct broker_config *c, int argc, char **argv, const char **err);

void broker_config_release(struct broker_config *c);

/* The given keys that no table describes (a misspelling, or a Kafka key brook does
 * not read), comma-separated into buf with the key each may have meant (cut with
 * "..." when it is full); returns how many there are. brookd warns once at start
 * and otherwise ignores them. */
size_t broker_config_unknown(const struct broker_config *c, char *buf, size_t size);

/* The keys brookd reads, one table per module that reads them (the broker's, the
 * store's, the console's), NULL-ended (views.c); and the entry of one key in any. */
extern const struct conf_key broker_config_table[];
extern const struct conf_key *const broker_config_tables[];
const struct conf_key *broker_config_key(const char *name);

/* The key of any table nearest to a misspelled name, or NULL (views.c). */
const struct conf_key *broker_config_suggest(const char *name);

/* A security protocol's name ("SASL_SSL", any case) of len bytes: 0 or -EINVAL;
 * and the name of one. */
int broker_security_parse(const char *s, size_t len, enum broker_security *out);
const char *broker_security_name(enum broker_security s);

/* Parse "NAME://host:port", "host:port" or "[v6]:port"; without a name the
 * listener is PLAINTEXT. 0 or -EINVAL. */
int listen_addr_parse(const char *s, struct listen_addr *out);

/* listener.c: each listener's security protocol and advertised address from
 * listener.security.protocol.map and advertised.listeners, and the keys refused
 * (broker_config_refusals); 0, or -1 with a one-line reason in *err. */
int broker_config_listeners(struct broker_config *c, const char **err);
int broker_config_refusals(const struct broker_config *c, const char **err);

/* What a listener of l's protocol bound to address `bound` leaves open to other
 * machines, as the end of a sentence for the start-up warning; NULL when bound to
 * loopback, or for SASL_SSL. */
const char *listener_exposure(const struct listen_addr *l, const char *bound);

/* Whether key is a listener-prefixed key (listener.name.NAME.ssl.*, .sasl.*). */
bool broker_config_listener_key(const char *key);

/* The value of key for listener l: listener.name.<name>.<key> if given, else key. */
const char *listener_get(const struct broker_config *c, const struct listen_addr *l,
                         const char *key);

/* Listener l's TLS settings from Kafka's ssl.* keys (strings borrowed from c),
 * and its ssl.principal.mapping.rules (NULL: DEFAULT). 0, or -EINVAL when both
 * a keystore file and inline PEM are given. */
int listener_tls_settings(const struct broker_config *c, const struct listen_addr *l,
                          struct tls_settings *s, const char **rules);

#endif
