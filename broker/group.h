/*
 * group.h - the group coordinator's state machine (broker/group.c), what the
 * Kafka handlers over it (broker/h_groups.c) and committed offsets
 * (broker/h_offsets.c) share: the group and member structures, the coordinator's
 * calls, and the few calls offsets and groups make into each other. Private to
 * those files and their unit tests.
 *
 * The state machine sees no request, connection or arena: a JoinGroup or
 * SyncGroup that must wait hands it an opaque waiter, and the answer comes back
 * through struct group_ops, with the group and member borrowed for the length of
 * the call. Time is always passed in (now_ms, wall clock), so tests drive it with
 * a clock of their own; the state machine arms no timer itself but says when it
 * next needs to run (groups_next_deadline), and the caller arms one timer for
 * that moment.
 */
#ifndef BROOK_BROKER_GROUP_H
#define BROOK_BROKER_GROUP_H

#include <stdlib.h>
#include <string.h>

#include "broker/deadline.h"
#include "broker/private.h"
#include "lib/hmap.h"
#include "lib/xalloc.h"

#define OFFSETS_TOPIC "__consumer_offsets"

/* What one group may hold in member ids and protocol metadata (all members, all
 * protocols), and in assignments: the leader's JoinGroup response and a
 * DescribeGroups entry carry it, so it bounds them. */
#define GROUP_MAX_BYTES (16u << 20)
/* Protocols one JoinGroup may name (clients name one per assignor: a few). The
 * rebalance compares every member's protocols with every other's. */
#define GROUP_MAX_PROTOCOLS 64
/* Member ids handed out with MEMBER_ID_REQUIRED and not yet used (each waits for
 * its session timeout); a peer could otherwise pile them up. */
#define PENDING_IDS_MAX 10000

enum group_state {
    GROUP_EMPTY,
    GROUP_PREPARING_REBALANCE,
    GROUP_COMPLETING_REBALANCE,
    GROUP_STABLE,
    GROUP_DEAD
};
/* Kafka's names of the states, indexed by enum group_state. */
extern const char *const group_state_names[];

struct protocol {
    char *name;
    uint8_t *meta;
    int32_t len;
};

struct member {
    char *id;
    char *instance_id; /* static membership, or NULL */
    char *client_id, *client_host;
    int32_t session_ms, rebalance_ms;
    struct protocol *protocols;
    int nprotocols;
    uint8_t *assignment;
    int32_t assignment_len;
    void *join_wait;      /* a JoinGroup waiting for the join phase to end */
    void *sync_wait;      /* a SyncGroup waiting for the leader */
    int64_t last_seen_ms; /* wall: last heartbeat or request; expiry at + session_ms */
    struct member *next;
};

struct group {
    char *id;
    enum group_state state;
    int32_t generation;
    char *protocol_type;
    char *protocol; /* chosen in the last join phase */
    char *leader;   /* member id */
    struct member *members;
    int nmembers;
    struct hmap by_member;      /* member id -> struct member */
    struct hmap by_instance;    /* group.instance.id -> struct member (static members) */
    int64_t join_deadline_ms;   /* PreparingRebalance: the join phase ends by then */
    int64_t join_not_before_ms; /* PreparingRebalance: group.initial.rebalance.delay.ms */
    int64_t empty_since_ms;     /* wall: when the last member left (0: not since start) */
    struct hmap offsets;        /* offset_key(topic, partition) -> struct committed */
    struct group *prev, *next;
};

struct committed {
    int64_t offset; /* as committed: negative values too (Kafka keeps them) */
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_ms;
    int64_t expire_ms; /* OffsetCommit v2-4's retention_time_ms as a deadline, or 0 */
};

struct pending_id;

/* How a JoinGroup is answered, beside the group and member. */
struct join_result {
    int16_t err;
    /* The leader to name: g->leader, except for a static member that came back
     * (Kafka names the leader as it was before the member's id changed). */
    const char *leader;
    bool members;         /* send every member's metadata (the leader's answer) */
    bool skip_assignment; /* JoinGroup v9+: the leader must not assign (KIP-814) */
};

/* How the coordinator answers the JoinGroups and SyncGroups it keeps waiting. Each
 * waiter is answered exactly once; g and m are borrowed for the call only. */
struct group_ops {
    /* r->err NONE: m joined generation g. Otherwise g is NULL and m (when not
     * NULL) names the member answered. */
    void (*join_done)(void *waiter, const struct group *g, const struct member *m,
                      const struct join_result *r);
    /* err NONE: m's assignment in g; otherwise g and m are NULL. */
    void (*sync_done)(void *waiter, const struct group *g, const struct member *m, int16_t err);
};

struct event;

struct groups {
    const struct broker_config *cfg; /* group.* limits and delays */
    const struct group_ops *ops;
    struct group *list;             /* every group, newest first */
    struct hmap by_id;              /* group id -> struct group */
    size_t noffsets;                /* committed offsets, all groups */
    struct pending_id *pending_ids; /* ids handed out with MEMBER_ID_REQUIRED */
    size_t npending_ids;            /* at most PENDING_IDS_MAX */
    struct store_topic *topic;      /* __consumer_offsets */
    int64_t next_expiry_ms;         /* wall: when offsets next expire (the retention check) */
    int64_t next_deadline_ms;       /* wall: no timer is due before (INT64_MAX: none) */
    struct deadline_timer timer;    /* h_groups.c's, armed for next_deadline_ms */
    const struct group_kind *other; /* groups of another type, or NULL */
    void *other_ctx;                /* other's argument */
};

/* A C string of a request's string, under the daemon's out-of-memory policy. */
static inline char *kdup(struct kstr s)
{
    return xstrndup(s.p, s.len > 0 ? (size_t)s.len : 0);
}

/* A key of a group's offsets map: topic, NUL, then the partition's 4 bytes. Short
 * keys stay in buf; long ones (a topic name may have up to 32767 bytes on disk)
 * are allocated. */
struct offset_key {
    char *p;
    size_t len;
    char buf[256 + 5];
};
void offset_key_init(struct offset_key *k, const char *topic, size_t topic_len, int32_t part);
void offset_key_release(struct offset_key *k);
/* The partition of a key the map holds (its topic is the key as a C string). */
int32_t offset_key_partition(const void *key, size_t len);

/* group.c: the state machine */

/* A JoinGroup as the coordinator sees it; every field is borrowed for the call. */
struct group_join {
    struct kstr group_id, member_id, instance_id, protocol_type;
    struct kstr client_id;   /* prefix of new member ids */
    const char *client_host; /* for DescribeGroups */
    int32_t session_ms, rebalance_ms;
    const struct kafka_join_group_req_protocol *protocols;
    int32_t nprotocols;   /* at most GROUP_MAX_PROTOCOLS (the caller refuses more) */
    bool id_required;     /* JoinGroup v4+: an unknown member first gets an id (KIP-394) */
    bool skip_assignment; /* JoinGroup v9+: a returning static leader may skip assigning */
    struct kstr reason;   /* v8+: why the client joins (logged), or null */
};

/* A SyncGroup; every field is borrowed for the call. */
struct group_sync {
    struct kstr group_id, member_id, instance_id;
    struct kstr protocol_type, protocol; /* v5+: checked against the group's, or null */
    int32_t generation;
    const struct kafka_sync_group_req_assignment *assignments; /* the leader's */
    int32_t nassignments;
};

/* Start an empty coordinator answering through ops (cfg and ops outlive it). */
void groups_init(struct groups *gs, const struct broker_config *cfg, const struct group_ops *ops);
/* Free every group and pending id (waiters are answered UNKNOWN_MEMBER_ID). */
void groups_release(struct groups *gs);
/* The group of that id (up to its first NUL, as stored), or NULL. */
struct group *group_find(struct groups *gs, struct kstr id);
/* A new Empty group, first in the list. The caller checks groups_full() first,
 * except when reading the offsets back at start. */
struct group *group_new(struct groups *gs, struct kstr id);
/* Forget a group that has neither members nor offsets. */
void group_drop(struct groups *gs, struct group *g);
/* Take a group out of the coordinator and free it, saying nothing. */
void group_forget(struct groups *gs, struct group *g);
/* Whether brook.groups.max groups exist already (a warning says so when true). */
bool groups_full(struct groups *gs);
struct member *member_find(struct group *g, struct kstr id);
/* m's metadata for the protocol of that name, or NULL. */
const struct protocol *member_protocol(const struct member *m, const char *name);

/* A JoinGroup. KAFKA_NONE: the waiter is taken and answered through
 * ops->join_done, perhaps before this returns. Otherwise the error to answer at
 * once (waiter not taken); with MEMBER_ID_REQUIRED *id is the id handed out,
 * valid until the next call into the coordinator. */
int16_t group_join(struct groups *gs, const struct group_join *j, void *waiter, int64_t now_ms,
                   const char **id);
/* A SyncGroup. 0: the waiter is taken and answered through ops->sync_done, perhaps
 * before this returns. -EMSGSIZE: the leader's assignments pass GROUP_MAX_BYTES
 * (Kafka has no error for it; the waiter is not taken). */
int group_sync(struct groups *gs, const struct group_sync *s, void *waiter, int64_t now_ms);
/* A Heartbeat's error code. instance_id (null before v3) fences a replaced
 * static member: FENCED_INSTANCE_ID. */
int16_t group_heartbeat(struct groups *gs, struct kstr group_id, struct kstr member_id,
                        struct kstr instance_id, int32_t generation, int64_t now_ms);
/* One member leaving, named by member id (checked against instance_id when both
 * are given) or, with an empty member id, by instance id alone; its error code. */
int16_t group_leave(struct groups *gs, struct kstr group_id, struct kstr member_id,
                    struct kstr instance_id, struct kstr reason, int64_t now_ms);
/* Whether a member of g may commit offsets at that generation, as Kafka checks an
 * OffsetCommit of a classic group: KAFKA_NONE, or UNKNOWN_MEMBER_ID,
 * FENCED_INSTANCE_ID, ILLEGAL_GENERATION or REBALANCE_IN_PROGRESS. A generation
 * below 0 with no member is a commit from outside the group (allowed while
 * Empty). A member allowed counts as seen (its session starts again). */
int16_t group_commit_allowed(struct group *g, struct kstr member_id, struct kstr instance_id,
                             int32_t generation, int64_t now_ms);
/* The timers: pending ids expire, members past their session timeout are removed,
 * join phases past their rebalance timeout (or initial delay) end. Everything due
 * at or before now_ms happens. */
void groups_expire_members(struct groups *gs, int64_t now_ms);
/* When groups_expire_members next has something to do (wall ms; INT64_MAX: never).
 * It may be early, never late: the caller runs the timers then and asks again. */
int64_t groups_next_deadline(const struct groups *gs);

/* Groups of every type, as ListGroups and DescribeGroups show them. Classic groups
 * are this file's; another type (KIP-848 "consumer" groups) plugs in through
 * struct group_kind, so both APIs list it beside them. */
struct group_listing {
    const char *id;
    const char *type;          /* "classic", "consumer" */
    const char *state;         /* Kafka's name: "Stable", "Empty", ... */
    const char *protocol_type; /* "consumer" and the like; "" when none */
};
typedef void (*group_listing_fn)(void *arg, const struct group_listing *l);

struct kafka_describe_groups_resp_group;
struct group_kind {
    /* Groups of this type now (bounds ListGroups before it is built). */
    size_t (*count)(void *ctx);
    /* fn for each group of this type; strings are borrowed for the call. */
    void (*foreach)(void *ctx, group_listing_fn fn, void *arg);
    /* DescribeGroups of id: 0 with *o filled (from arena a, strings borrowed until
     * the response is encoded), -ENOENT when no group of this type has that id,
     * -ENOMEM when a runs out. */
    int (*describe)(void *ctx, struct kstr id, struct arena *a,
                    struct kafka_describe_groups_resp_group *o);
    /* DeleteGroups of id: its error code (GROUP_ID_NOT_FOUND when not of this
     * type); NULL: groups of this type are not deleted here. */
    int16_t (*delete_group)(void *ctx, struct kstr id);
};
/* Let groups of another type show in ListGroups and DescribeGroups (kind and ctx
 * outlive gs). */
void groups_set_other_kind(struct groups *gs, const struct group_kind *kind, void *ctx);
/* fn for every group: the classic ones, then those of the other type. */
void groups_list(struct groups *gs, group_listing_fn fn, void *arg);
/* How many groups groups_list would show. */
size_t groups_count(const struct groups *gs);

/* h_offsets.c */
/* Read __consumer_offsets back into the groups' maps, creating groups. */
int offsets_load(struct broker *b);
int offsets_forget_group(struct broker *b, struct group *g);
/* Free a group's committed offsets (memory only). */
void offsets_release(struct groups *gs, struct group *g);
/* Expire the offsets of Empty groups older than offsets.retention.minutes, writing
 * tombstones; groups left without offsets are dropped. */
void offsets_expire(struct broker *b, int64_t now);

#endif
