/*
 * group.h - what the group coordinator (broker/group.c) and committed offsets
 * (broker/offsets.c) share: the group and member structures, and the few calls
 * one makes into the other. Private to those two files.
 */
#ifndef BROOK_BROKER_GROUP_H
#define BROOK_BROKER_GROUP_H

#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/hmap.h"

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
/* The largest response a group API builds (ListGroups, DescribeGroups,
 * OffsetFetch); beyond it the request is refused. */
#define GROUP_RESPONSE_MAX_BYTES (96u << 20)

enum group_state { EMPTY, PREPARING, COMPLETING, STABLE, DEAD };
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
    struct pending *join_pd; /* a JoinGroup waiting for the join phase to end */
    struct pending *sync_pd; /* a SyncGroup waiting for the leader */
    int64_t last_seen_ms;    /* wall: last heartbeat or request */
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
    int64_t join_deadline_ms;   /* PREPARING: the join phase ends at the latest then */
    int64_t join_not_before_ms; /* PREPARING: group.initial.rebalance.delay.ms */
    int64_t empty_since_ms;     /* wall: when the last member left (0: not since start) */
    struct hmap offsets;        /* offset_key(topic, partition) -> struct committed */
    struct group *prev, *next;
};

struct committed {
    int64_t offset;
    char *metadata;
    int64_t commit_ms;
};

struct pending_id;

struct groups {
    struct group *list;             /* every group, newest first */
    struct hmap by_id;              /* group id -> struct group */
    size_t noffsets;                /* committed offsets, all groups */
    struct pending_id *pending_ids; /* ids handed out with MEMBER_ID_REQUIRED */
    size_t npending_ids;            /* at most PENDING_IDS_MAX */
    struct store_topic *topic;      /* __consumer_offsets */
    int64_t next_expiry_ms;         /* wall: when offsets next expire (the retention check) */
};

/* The daemon's out-of-memory policy: these abort instead of failing. */
static inline char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r)
        abort();
    return r;
}

static inline char *kdup(struct kstr s)
{
    char *r = strndup(s.p ? s.p : "", s.len > 0 ? (size_t)s.len : 0);
    if (!r)
        abort();
    return r;
}

static inline void *xmemdup(const void *p, size_t n)
{
    void *r = malloc(n ? n : 1);
    if (!r)
        abort();
    if (n)
        memcpy(r, p, n);
    return r;
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

/* group.c */
/* The group of that id (up to its first NUL, as stored), or NULL. */
struct group *group_find(struct broker *b, struct kstr id);
/* A new Empty group, first in the list. The caller checks groups_full() first,
 * except when reading the offsets back at start. */
struct group *group_new(struct broker *b, struct kstr id);
/* Forget a group that has neither members nor offsets. */
void group_drop(struct broker *b, struct group *g);
/* Whether brook.groups.max groups exist already (a warning says so when true). */
bool groups_full(struct broker *b);
struct member *member_find(struct group *g, struct kstr id);

/* offsets.c */
/* Read __consumer_offsets back into the groups' maps, creating groups. */
int offsets_load(struct broker *b);
int offsets_forget_group(struct broker *b, struct group *g);
/* Free a group's committed offsets (memory only). */
void offsets_release(struct broker *b, struct group *g);
/* Expire the offsets of Empty groups older than offsets.retention.minutes, writing
 * tombstones; groups left without offsets are dropped. */
void offsets_expire(struct broker *b, int64_t now);

#endif
