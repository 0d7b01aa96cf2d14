/*
 * cgroup.h - consumer groups of Kafka's second group protocol (KIP-848): the
 * state machine (broker/cgroup.c), its assignors (broker/cgroup_assign.c) and
 * what the handlers (broker/h_consumer_group.c) and the classic coordinator's
 * views call. Private to those files and their unit tests.
 *
 * The state machine does no I/O: topics are looked up through struct cgroup_env
 * (the store in brookd, a table in the unit tests), time is passed in as now_ms,
 * and cgroups_next_deadline() says when cgroups_expire() next has work. Answers
 * borrow the group's memory until the next call into it.
 */
#ifndef BROOK_BROKER_CGROUP_H
#define BROOK_BROKER_CGROUP_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/hmap.h"
#include "proto/kafka.h"
#include "proto/kafka_errors.h"

struct broker;
struct groups;

/* Topics one subscription may name, or its regex match (Kafka has no bound). */
#define CGROUP_MAX_TOPICS 1000
/* Partitions the assignor spreads over one group's members: the assignors'
 * work grows with partitions times members. Past it, the group's first
 * partitions (by topic name, then number) are assigned and a warning says so. */
#define CGROUP_MAX_PARTITIONS 20000
/* The longest subscription regex, member id, instance id, rack id or group id
 * brook keeps (bytes). */
#define CGROUP_REGEX_MAX 1024
#define CGROUP_NAME_MAX  1024
/* What one group may hold in member ids and subscribed names (all members), as
 * group.c bounds a classic group's metadata. */
#define CGROUP_MAX_BYTES (16u << 20)
/* INVALID_REGULAR_EXPRESSION, Kafka's answer to a regex that does not compile. */
#define CGROUP_INVALID_REGULAR_EXPRESSION 131

/* What the brokers' configuration says (copied in at start). */
struct cgroup_config {
    int64_t session_ms;   /* group.consumer.session.timeout.ms */
    int32_t heartbeat_ms; /* group.consumer.heartbeat.interval.ms */
    int32_t max_size;     /* group.consumer.max.size */
    int64_t groups_max;   /* brook.groups.max: shared with classic groups */
};

/* The topics as the broker knows them at the time of a call. */
struct cgroup_env {
    void *arg;
    /* Fill id and the partition count of topic name; false when there is none. */
    bool (*topic)(void *arg, const char *name, uint8_t id[16], int32_t *nparts);
    /* Every topic's name: a NULL-ended array the caller frees with free(). */
    char **(*names)(void *arg);
    /* Classic groups: how many exist, and whether one of that id has members
     * (1), none (0: it holds only offsets), or does not exist (-1). */
    size_t (*classic_count)(void *arg);
    int (*classic_state)(void *arg, const char *group_id);
};

/* One partition of a topic, by the topic's id. Sets of them are kept sorted. */
struct cgroup_tp {
    uint8_t topic_id[16];
    int32_t partition;
};
struct cgroup_tps {
    struct cgroup_tp *v;
    int32_t n;
};

/* A member's place in reconciling its assignment with the group's target. */
enum cgroup_member_state {
    CGM_STABLE,     /* it has its target (or all of it that is free) at the group's epoch */
    CGM_UNREVOKED,  /* it must first stop owning the partitions in revoking */
    CGM_UNRELEASED, /* at the target epoch, waiting for partitions others still own */
};

struct cgroup_member {
    char *id, *instance_id, *rack_id; /* instance_id, rack_id: NULL when none */
    char *client_id, *client_host;
    int32_t epoch, prev_epoch; /* epoch -2: a static member that left for a while */
    enum cgroup_member_state state;
    char **topics; /* subscribed names, sorted, unique */
    int32_t ntopics;
    char *regex; /* the subscription regex, or NULL */
    regex_t re;  /* compiled regex (valid when regex) */
    int32_t rebalance_ms;
    int64_t session_deadline_ms; /* removed when no heartbeat comes by then */
    int64_t revoke_deadline_ms;  /* CGM_UNREVOKED: removed when not revoked by then */
    struct cgroup_tps assigned;  /* what it owns now (what the last answer gave it) */
    struct cgroup_tps revoking;  /* what it must give up before it moves on */
    struct cgroup_tps target;    /* its share of the group's target assignment */
    size_t bytes;                /* its strings, as counted in the group's bytes */
    struct cgroup_member *next;
};

/* A topic a group's members subscribe to, as last seen. */
struct cgroup_topic {
    char *name;
    uint8_t id[16];
    int32_t nparts;
};

struct cgroup {
    char *id;
    int32_t epoch;            /* the group epoch: bumped by each change of members or topics */
    int32_t assignment_epoch; /* the epoch the target assignment was computed at */
    const char *assignor;     /* "uniform" or "range" (static strings) */
    struct cgroup_member *members;
    int32_t nmembers;
    size_t bytes;                /* what the members hold in strings (CGROUP_MAX_BYTES) */
    struct cgroup_topic *topics; /* the subscribed topics that exist, sorted by name */
    int32_t ntopics;
    char **wanted; /* the names members subscribe to (lists, regex matches), sorted */
    int32_t nwanted;
    bool wanted_dirty;    /* a subscription changed: rebuild wanted */
    int64_t regex_due_ms; /* when regexes are next matched again (INT64_MAX: none used) */
    struct cgroup *prev, *next;
};

struct cgroups {
    struct cgroup_config cfg;
    struct cgroup_env env;
    struct cgroup *list; /* newest first */
    struct hmap by_id;   /* group id -> struct cgroup */
};

/* A ConsumerGroupHeartbeat as the state machine sees it; all borrowed. */
struct cgroup_hb {
    struct kstr group_id, member_id, instance_id, rack_id;
    int32_t epoch;
    int32_t rebalance_ms;      /* -1: unchanged */
    const struct kstr *topics; /* subscribed names (ntopics -1: unchanged) */
    int32_t ntopics;
    struct kstr regex;    /* null: unchanged */
    struct kstr assignor; /* null: unchanged */
    const struct cgroup_tp *owned;
    int32_t nowned; /* -1: unchanged (not sent) */
    struct kstr client_id;
    const char *client_host;
};

/* The answer to a heartbeat; strings and the member are borrowed from the group
 * until the next call into the state machine. */
struct cgroup_answer {
    int16_t err;
    const char *msg; /* with an error: a static sentence, or NULL */
    const char *member_id;
    int32_t epoch, heartbeat_ms;
    const struct cgroup_member *m; /* on success */
    bool send_assignment;          /* the answer carries m->assigned */
};

/* The Kafka names of a group's state ("Empty", "Assigning", "Reconciling",
 * "Stable"). */
const char *cgroup_state_name(const struct cgroup *g);

void cgroups_init(struct cgroups *cs, const struct cgroup_config *cfg,
                  const struct cgroup_env *env);
void cgroups_release(struct cgroups *cs);
struct cgroup *cgroup_find(struct cgroups *cs, struct kstr id);

/* Handle one heartbeat at now_ms; the answer goes to *out (out->err is also
 * returned). */
int16_t cgroup_heartbeat(struct cgroups *cs, const struct cgroup_hb *hb, int64_t now_ms,
                         struct cgroup_answer *out);
/* Remove members past their session or rebalance timeout, and groups left empty. */
void cgroups_expire(struct cgroups *cs, int64_t now_ms);
/* When cgroups_expire() next has work (INT64_MAX: never). */
int64_t cgroups_next_deadline(const struct cgroups *cs);
/* Kafka's rules for OffsetCommit (with the request's version: a member of a
 * consumer group commits with v9+, else UNSUPPORTED_VERSION), OffsetFetch (v9
 * names a member and epoch; none named: anyone may read) and OffsetDelete
 * (whether a member subscribes to the topic). A group id no consumer group has
 * gets KAFKA_NONE / false. */
int16_t cgroups_commit_allowed(struct cgroups *cs, struct kstr group, struct kstr member_id,
                               int32_t member_epoch, int16_t version);
int16_t cgroups_fetch_allowed(struct cgroups *cs, struct kstr group, struct kstr member_id,
                              int32_t member_epoch);
bool cgroups_subscribed(struct cgroups *cs, struct kstr group, struct kstr topic);

/* cgroup_assign.c: fill every member's target from the group's topics and
 * subscriptions, keeping what the uniform assignor can of the previous target.
 * Sets are sorted. */
void cgroup_assign(struct cgroup *g);
/* Whether a member subscribes to topic name (its list or its regex). */
bool cgroup_member_subscribes(const struct cgroup_member *m, const char *name);
/* Set helpers shared by the state machine and the assignors. */
int cgroup_tp_cmp(const void *a, const void *b);
bool cgroup_tps_has(const struct cgroup_tps *s, const uint8_t id[16], int32_t part);
void cgroup_tps_add(struct cgroup_tps *s, const uint8_t id[16], int32_t part); /* unsorted */
void cgroup_tps_sort(struct cgroup_tps *s);
void cgroup_tps_free(struct cgroup_tps *s);

/* h_consumer_group.c: the broker's side (start, end and timers are in private.h). */
/* Whether a consumer group of that id exists (classic APIs refuse to mix). */
bool cgroup_exists(struct broker *b, struct kstr group_id);

/* For ListGroups: how many consumer groups exist, and their entries written to
 * out (room for cgroup_count() of them; strings borrowed until the next call
 * into the state machine), adding their response bytes to *bytes. Returns how
 * many were written. */
struct kafka_list_groups_resp_group;
size_t cgroup_count(struct broker *b);
int32_t cgroup_list_groups(struct broker *b, struct kafka_list_groups_resp_group *out,
                           size_t *bytes);
/* For DescribeGroups: the response bytes of the consumer group of that id (0:
 * none), and its entry: protocol type "consumer", the assignor as protocol,
 * members without metadata or assignment (ConsumerGroupDescribe has those),
 * arrays from a. 0: described, -ENOENT: not a consumer group, -ENOMEM. */
struct arena;
struct kafka_describe_groups_resp_group;
size_t cgroup_describe_bytes(struct broker *b, struct kstr id);
int cgroup_describe_classic(struct broker *b, struct arena *a, struct kstr id,
                            struct kafka_describe_groups_resp_group *o);
/* For DeleteGroups: NON_EMPTY_GROUP for a consumer group (it exists while it has
 * members), GROUP_ID_NOT_FOUND for any other id. */
int16_t cgroup_delete_check(struct broker *b, struct kstr id);

#endif
