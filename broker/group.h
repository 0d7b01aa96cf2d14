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

#define OFFSETS_TOPIC      "__consumer_offsets"
#define MAX_METADATA_BYTES 4096

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
    struct group *next;
};

struct committed {
    int64_t offset;
    char *metadata;
    int64_t commit_ms;
};

struct pending_id;

struct groups {
    struct group *list;
    struct pending_id *pending_ids; /* ids handed out with MEMBER_ID_REQUIRED */
    struct hmap offsets;            /* "group\0topic\0partition" -> struct committed */
    struct store_topic *topic;      /* __consumer_offsets */
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

/* group.c */
struct group *group_find(struct broker *b, struct kstr id);
/* A new Empty group, first in the list. */
struct group *group_new(struct broker *b, struct kstr id);
struct member *member_find(struct group *g, struct kstr id);

/* offsets.c */
/* Read __consumer_offsets back into the map. */
int offsets_load(struct broker *b);
int offsets_forget_group(struct broker *b, const char *group);
void offsets_release(struct groups *gs);
/* The map key of group/topic/partition into buf; its length with the final NUL,
 * or 0 if it does not fit. */
size_t offset_key(char *buf, size_t size, const char *group, const char *topic, int32_t p);

#endif
