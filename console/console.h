/*
 * console.h - the HTTP console (console.listeners), as the program that starts it
 * sees it: a web page and a JSON API over the store, the groups and the broker's
 * counters, and a Prometheus /metrics.
 *
 * The console is a module beside broker/ and calls no Kafka handler. It runs on an
 * event loop it is lent and reaches the rest of the daemon only through the
 * environment below: the store (which it reads and produces to directly), the
 * configuration keys it needs, and a small set of functions the broker provides -
 * a view of the consumer groups with their writes (an offset reset of a group
 * without members, deleting a group or its offsets of a topic), a topic's
 * configuration and partition count, a hand-off to a thread for slow work, the
 * descriptor reserve, and snapshots of the broker's identity, configuration and
 * counters - and the broker's users and ACLs, which decide who may log in and
 * what each user sees and may do (console/auth.c). Every function of the
 * environment is called on the loop thread, except the two that the Kafka API
 * also runs on the admin thread (a topic's configuration and partitions), which
 * are called there; strings it passes are borrowed for the duration of the call.
 *
 * The management writes (topic configuration, partitions, deleting a group or
 * its offsets) are the broker's own code paths for IncrementalAlterConfigs,
 * CreatePartitions, DeleteGroups and OffsetDelete, without their authorizer
 * check: the console asks the ACLs itself, with the user's principal. They answer
 * with Kafka's error code (proto/kafka_errors.h) and message.
 */
#ifndef BROOK_CONSOLE_CONSOLE_H
#define BROOK_CONSOLE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct auth_acls;
struct auth_creds;
struct auth_policy;
struct console;
struct event_base;
struct props;

#define CONSOLE_MAX_LISTENERS   8   /* Kafka listeners shown on the broker page */
#define CONSOLE_MAX_THREADS     64  /* network threads counted on the broker page */
#define CONSOLE_ADDR_MAX        300 /* "host:port", IPv6 hosts in brackets */
#define CONSOLE_API_SLOTS       64  /* request counters, by API key (the last: unknown) */
#define CONSOLE_LATENCY_BUCKETS 20  /* request latency histogram: 19 bounds and +Inf */

/* ---- the read-only view of groups ---- */

struct console_group_info {
    const char *id, *state; /* state as Kafka names it: "Stable", "Empty", ... */
    const char *protocol_type, *protocol, *leader; /* "" when none */
    int32_t generation;
    int nmembers;
    const char *type; /* "classic", or "consumer" (KIP-848) */
};
struct console_member_info {
    const char *id, *instance_id; /* instance_id NULL unless static */
    const char *client_id, *client_host;
    int32_t session_ms;
    const uint8_t *assignment; /* the leader's assignment while Stable, else NULL */
    int32_t assignment_len;
};
typedef void (*console_group_fn)(void *arg, const struct console_group_info *g);
typedef void (*console_member_fn)(void *arg, const struct console_member_info *m);
typedef void (*console_offset_fn)(void *arg, const char *group, const char *topic,
                                  int32_t partition, int64_t offset, const char *metadata,
                                  int64_t commit_ms);

/* One operation on a topic's configuration, as IncrementalAlterConfigs names them. */
enum console_config_opcode {
    CONSOLE_CONFIG_SET,
    CONSOLE_CONFIG_DELETE,
    CONSOLE_CONFIG_APPEND,
    CONSOLE_CONFIG_SUBTRACT
};
struct console_config_op {
    const char *name, *value; /* value NULL for DELETE */
    enum console_config_opcode op;
};

/* ---- snapshots of the broker ---- */

struct console_broker_info {
    int32_t node_id;
    const char *cluster_id;
    char advertised[CONSOLE_ADDR_MAX]; /* "host:port" clients are told */
    char listeners[CONSOLE_MAX_LISTENERS][CONSOLE_ADDR_MAX];
    int n_listeners;
    int64_t connections; /* open Kafka protocol connections */
    /* the same, by network thread (num.network.threads; loop 0 first) */
    int64_t thread_connections[CONSOLE_MAX_THREADS];
    int n_threads;
};
/* One configuration key: its effective value, and whether it was given (else it is
 * brook's default). */
/* The keys the console reads itself (console.max.connections, ...), NULL-ended;
 * brookd lists them with its own. */
extern const struct conf_key console_config_table[];

typedef void (*console_config_fn)(void *arg, const char *name, const char *value, bool given);

struct console_topic_counts {
    int64_t messages_in, bytes_in, bytes_out, messages_out; /* messages out: Fetch v4+ */
};
struct console_broker_counts {
    int64_t requests[CONSOLE_API_SLOTS], request_errors[CONSOLE_API_SLOTS];
    int64_t connections, connections_total; /* open, and accepted ever */
    /* request latency by API key, from arrival to a ready response: requests per
     * bucket (not cumulative; the last is +Inf), their sum in nanoseconds, and
     * the buckets' upper bounds in microseconds */
    int64_t latency[CONSOLE_API_SLOTS][CONSOLE_LATENCY_BUCKETS];
    int64_t latency_sum_ns[CONSOLE_API_SLOTS];
    int64_t latency_le_us[CONSOLE_LATENCY_BUCKETS - 1];
};
typedef void (*console_topic_counts_fn)(void *arg, const char *topic,
                                        const struct console_topic_counts *c);

/* What the console is lent. ctx is the first argument of every function. */
struct console_env {
    struct event_base *base;
    struct store *store;

    /* configuration */
    const char *listen_host;   /* console.listeners ("" for any address) */
    int listen_port;           /* 0: any free port */
    bool read_only;            /* console.read.only */
    const struct props *props; /* everything as given: console.max.connections,
                                  console.request.timeout.ms, console.allowed.hosts,
                                  console.auth, console.session.ms, console.ssl.* */

    /* who may use it: the broker's users (NULL: none exist) and its ACLs (NULL, or a
     * policy that is not enabled: every user may do everything) */
    struct auth_creds *creds;
    struct auth_acls *acls;
    const struct auth_policy *policy;

    void *ctx;
    /* groups */
    void (*groups_foreach)(void *ctx, console_group_fn fn, void *arg);
    /* Describe one group into *out, calling fn (may be NULL) per member; -ENOENT. */
    int (*groups_describe)(void *ctx, const char *id, struct console_group_info *out,
                           console_member_fn fn, void *arg);
    /* Each committed offset of group (NULL: of every group). */
    void (*groups_foreach_offset)(void *ctx, const char *group, console_offset_fn fn, void *arg);
    /*
     * Commit offsets of n partitions of topic for a group without members: 1 when
     * already durable, 0 when done(arg, rc) will be called from the flusher, or a
     * negative errno (-EBUSY while the group has members).
     */
    int (*groups_reset_offsets)(void *ctx, const char *group, const char *topic,
                                const int32_t *partitions, const int64_t *offsets, int n,
                                store_done_fn done, void *arg);

    /* Delete a group and its offsets (DeleteGroups): the Kafka error code -
     * NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND. */
    int16_t (*groups_delete)(void *ctx, const char *group);
    /*
     * Delete group's committed offsets of topic (OffsetDelete): *err the Kafka
     * error (NON_EMPTY_GROUP, GROUP_SUBSCRIBED_TO_TOPIC, ...), *n how many were
     * deleted; returns as groups_reset_offsets (1 also when nothing was written).
     */
    int (*groups_delete_offsets)(void *ctx, const char *group, const char *topic, int16_t *err,
                                 int *n, store_done_fn done, void *arg);
    /* Admin thread: alter topic's config (IncrementalAlterConfigs) - the Kafka
     * error code, its message in why. */
    int16_t (*topic_alter_configs)(void *ctx, const char *topic,
                                   const struct console_config_op *ops, int n, bool validate_only,
                                   char *why, size_t whysize);
    /* Admin thread: grow topic to count partitions (CreatePartitions) - the Kafka
     * error code, *msg its message or NULL. */
    int16_t (*topic_add_partitions)(void *ctx, const char *topic, int32_t count, const char **msg);

    /* Run run(arg) on a thread that may block; 0, or -ESRCH when there is none. */
    int (*admin_post)(void *ctx, void (*run)(void *arg), void *arg);
    /* Whether a connection on descriptor fd eats into the descriptors kept back. */
    bool (*fd_reserve_reached)(int fd);

    void (*broker_info)(void *ctx, struct console_broker_info *out);
    /* Every configuration key the broker knows, then those it only keeps. */
    void (*config_foreach)(void *ctx, console_config_fn fn, void *arg);
    /* Counters: per topic for the n names (zero for a topic never counted), and
     * the broker's own, taken together. */
    void (*counts)(void *ctx, const char *const *topics, size_t n,
                   struct console_topic_counts *per_topic, struct console_broker_counts *out);
    /* fn for every topic the broker has counted (the time series' sampler: one
     * pass over all of them, however many). fn must be short: it runs under the
     * counters' lock. */
    void (*counts_foreach)(void *ctx, console_topic_counts_fn fn, void *arg);
    /* Count records the console produced into topic. */
    void (*count_produced)(void *ctx, const char *topic, int64_t messages, int64_t bytes);
};

/* Start the console on env (copied); *out is the console. 0 or a negative errno
 * (logged). */
int console_start(const struct console_env *env, struct console **out);
/* Close tails and connections, wait for outstanding durability callbacks, free.
 * Call after the loop has stopped and before the groups and the store close. */
void console_stop(struct console *con);
/* "host:port" the console is bound to (the real port), or NULL for NULL. */
const char *console_address(struct console *con);

#endif
