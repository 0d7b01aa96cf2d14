/*
 * offsets.h - the seam between committed offsets (broker/h_offsets.c) and the
 * coordinator of consumer groups (KIP-848).
 *
 * Offsets are committed, fetched and deleted through the same handlers for both
 * kinds of group; only who may do so differs. A classic group judges a commit by
 * its generation and member id (h_offsets.c does that over broker/group.h). A
 * consumer group judges it by its members' epochs, which only its own
 * coordinator knows: that coordinator registers these calls at start, and while
 * none is registered every group is classic.
 *
 * Whichever kind a group is, its committed offsets live in the struct group of
 * the same id (group_find), and go to __consumer_offsets the same way.
 */
#ifndef BROOK_BROKER_OFFSETS_H
#define BROOK_BROKER_OFFSETS_H

#include "broker/private.h"

/* Who commits or fetches, as the request names them (borrowed for the call). */
struct offsets_member {
    struct kstr member_id;   /* KSTR_NULL or "" when the request names none */
    struct kstr instance_id; /* KSTR_NULL when none */
    int32_t epoch;           /* generation_id_or_member_epoch / member_epoch; -1: none */
    int16_t version;         /* of the OffsetCommit or OffsetFetch */
};

/* Every call is made on the loop thread; group_id is valid (not empty, no NUL). */
struct offsets_consumer_ops {
    /* Whether a consumer group has that id. The calls below are made only for
     * the ids it owns; the others are classic groups. */
    bool (*owns)(struct broker *b, struct kstr group_id);
    /* OffsetCommit: the Kafka error code the commit gets: KAFKA_NONE to store it
     * (a missing struct group is then created), STALE_MEMBER_EPOCH,
     * UNKNOWN_MEMBER_ID, UNSUPPORTED_VERSION (a member of the consumer protocol
     * committing below v9), ... */
    int16_t (*commit_check)(struct broker *b, struct kstr group_id, const struct offsets_member *m);
    /* OffsetFetch: KAFKA_NONE or the group's error code (v9 names a member). */
    int16_t (*fetch_check)(struct broker *b, struct kstr group_id, const struct offsets_member *m);
    /* OffsetDelete: whether the group's members subscribe to the topic
     * (GROUP_SUBSCRIBED_TO_TOPIC then). */
    bool (*subscribed)(struct broker *b, struct kstr group_id, struct kstr topic);
};

/* Register the consumer groups' calls (NULL: none). Called on the loop thread
 * before any request is served; ops outlives the broker. */
void offsets_consumer_ops_set(const struct offsets_consumer_ops *ops);

/* The checks each request starts with, before any partition (h_offsets.c; also
 * called by the unit tests). A commit's error for all its partitions (*create:
 * the commit makes the group); a fetched group's error; an OffsetDelete's group
 * error (*g: the group, or NULL). */
struct group;
int16_t offsets_commit_check(struct broker *b, const struct kafka_offset_commit_req *req,
                             int16_t version, bool *create);
int16_t offsets_fetch_check(struct broker *b, const struct kafka_offset_fetch_req_group *rg,
                            int16_t version);
int16_t offsets_delete_check(struct broker *b, struct kstr id, struct group **g);

/* One commit record (or tombstone), borrowing its strings. */
struct commit_rec {
    struct kstr topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    struct kstr metadata;
    int64_t commit_ms;
    int64_t expire_ms; /* 0: none */
};

/*
 * A transaction's offsets (TxnOffsetCommit) become committed at its commit: the
 * coordinator builds their __consumer_offsets batch on the loop thread
 * (offsets_txn_batch: group's records, Kafka's layout, into out), appends it and
 * waits for it off the loop, then makes them visible to OffsetFetch
 * (offsets_txn_apply, loop thread: the group is created when unknown).
 */
struct writer;
int offsets_txn_batch(struct kstr group, const struct commit_rec *recs, int n, int64_t now,
                      struct writer *out);
void offsets_txn_apply(struct broker *b, struct kstr group, const struct commit_rec *recs, int n);

#endif
