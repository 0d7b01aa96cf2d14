/*
 * txn.h - the transaction coordinator's state machine (broker/txn.c) and what the
 * Kafka handlers over it (broker/h_txn.c) and Produce (broker/h_produce.c) call.
 *
 * The state machine sees no request, connection or file: it keeps one struct txn
 * per transactional id and moves it between Kafka's states as InitProducerId,
 * AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn ask. Time is
 * passed in (now_ms, wall clock) and the next moment it must run is asked
 * (txns_next_deadline), so one timer serves every transaction and tests drive
 * it with a clock of their own.
 *
 * Ending a transaction is work the caller does: a call that moves a transaction
 * to PrepareCommit or PrepareAbort marks it `ending`; the caller persists that
 * state, writes the markers, and calls txn_complete(). Until then every request
 * for the id is answered CONCURRENT_TRANSACTIONS, as Kafka answers while its
 * markers are in flight. Each call that changes what is persisted sets `dirty`;
 * the caller writes the transaction's record and clears it.
 */
#ifndef BROOK_BROKER_TXN_H
#define BROOK_BROKER_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/hmap.h"
#include "proto/kafka.h"

struct broker;
struct request;

#define TXN_TOPIC "__transaction_state"

/* Bounds on what peers can make the coordinator hold (docs/protocol.md). */
#define TXN_MAX_IDS          100000     /* transactional ids kept */
#define TXN_MAX_ID_BYTES     4096       /* length of one transactional id */
#define TXN_MAX_PARTITIONS   10000      /* partitions in one transaction */
#define TXN_MAX_OFFSETS      10000      /* pending offsets in one transaction */
#define TXN_MAX_GROUPS       64         /* groups one transaction commits offsets of */
#define TXN_MAX_OFFSET_BYTES (1u << 20) /* their topics and metadata together */

/* Kafka's TransactionState, with the numbers its transaction log stores. */
enum txn_state {
    TXN_EMPTY = 0,
    TXN_ONGOING = 1,
    TXN_PREPARE_COMMIT = 2,
    TXN_PREPARE_ABORT = 3,
    TXN_COMPLETE_COMMIT = 4,
    TXN_COMPLETE_ABORT = 5,
    TXN_DEAD = 6,
    TXN_PREPARE_EPOCH_FENCE = 7,
};
#define TXN_STATES 8
/* Kafka's names of the states (DescribeTransactions, ListTransactions). */
extern const char *const txn_state_names[TXN_STATES];

struct txn_part {
    char *topic;
    int32_t partition;
};

/* An offset committed inside a transaction: visible at commit only. */
struct txn_offset {
    int32_t group; /* index into the transaction's groups */
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
};

struct txn {
    char *id;
    int64_t producer_id;
    int16_t epoch;
    int64_t prev_producer_id; /* KIP-360: the id/epoch before the last InitProducerId, */
    int16_t prev_epoch;       /* so that a retried InitProducerId is recognised */
    enum txn_state state;
    int32_t timeout_ms;
    int64_t start_ms;  /* the transaction's first partition or group; -1: none open */
    int64_t update_ms; /* the last change */
    struct txn_part *parts;
    int32_t nparts, cap_parts;
    struct hmap part_index; /* topic, NUL, partition -> index + 1 in parts */
    char **groups;          /* AddOffsetsToTxn's groups */
    int32_t ngroups;
    struct txn_offset *offsets;
    int32_t noffsets, cap_offsets;
    struct hmap offset_index; /* group index, topic, NUL, partition -> index + 1 */
    size_t offset_bytes;
    bool ending;   /* in Prepare*: markers to write (the caller's, then txn_complete) */
    bool writing;  /* the caller is writing them */
    bool dirty;    /* the persisted record is out of date */
    void *waiters; /* the caller's: requests answered when the end completes */
    struct txns *owner;
    struct txn *next;
};

/* How the coordinator hands out producer ids (one counter with idempotent producers). */
typedef int64_t (*txn_new_pid_fn)(void *ctx);

struct txns {
    struct hmap by_id;
    struct txn *list;
    int32_t n;
    int64_t max_timeout_ms; /* transaction.max.timeout.ms */
    txn_new_pid_fn new_pid;
    void *new_pid_ctx;
    struct hmap pending; /* group, NUL, topic, NUL, partition -> offsets pending (count) */
};

void txns_init(struct txns *ts, int64_t max_timeout_ms, txn_new_pid_fn new_pid, void *ctx);
void txns_release(struct txns *ts);
struct txn *txn_find(struct txns *ts, struct kstr id);

/*
 * InitProducerId with a transactional id (version: of the request). A new id
 * gets a new producer id with epoch 0; a known one an epoch bump, or a new
 * producer id when the epoch is exhausted. An Ongoing transaction is aborted
 * first (epoch fenced, `ending` set) and CONCURRENT_TRANSACTIONS returned: the
 * client retries. pid/epoch (v3+, -1 when not given): KIP-360, the producer's
 * current ones; a retry of the last call returns the same answer. *out: the
 * transaction (also on CONCURRENT_TRANSACTIONS), or NULL.
 */
int16_t txn_init_producer(struct txns *ts, struct kstr id, int32_t timeout_ms, int64_t pid,
                          int16_t epoch, int16_t version, int64_t now_ms, struct txn **out);

/* Whether pid/epoch may act on id's transaction: KAFKA_NONE with *out, else
 * INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (INVALID_PRODUCER_EPOCH when
 * fenced_v2 is false: the request's version predates PRODUCER_FENCED),
 * CONCURRENT_TRANSACTIONS while it ends. */
int16_t txn_check(struct txns *ts, struct kstr id, int64_t pid, int16_t epoch, bool fenced_v2,
                  struct txn **out);

/* AddPartitionsToTxn for one partition (after txn_check): adds it, starting the
 * transaction (Ongoing) if need be. KAFKA_NONE, INVALID_TXN_STATE, or
 * POLICY_VIOLATION past TXN_MAX_PARTITIONS. */
int16_t txn_add_partition(struct txn *t, const char *topic, size_t topic_len, int32_t partition,
                          int64_t now_ms);
/* Whether the transaction holds topic/partition (verify_only, KIP-890). */
bool txn_has_partition(const struct txn *t, const char *topic, size_t topic_len, int32_t partition);
/* AddOffsetsToTxn (after txn_check): a group whose offsets the transaction
 * commits. KAFKA_NONE, or POLICY_VIOLATION past TXN_MAX_GROUPS. */
int16_t txn_add_group(struct txn *t, struct kstr group, int64_t now_ms);
/* TxnOffsetCommit for one partition (after txn_check): KAFKA_NONE,
 * INVALID_TXN_STATE (no AddOffsetsToTxn for this group), POLICY_VIOLATION past the
 * bounds. A second commit of the same partition replaces the first. */
int16_t txn_add_offset(struct txn *t, struct kstr group, const char *topic, size_t topic_len,
                       int32_t partition, int64_t offset, int32_t leader_epoch,
                       struct kstr metadata, int64_t now_ms);

/* EndTxn: KAFKA_NONE with *out in Prepare* (`ending`: the caller ends it), or
 * KAFKA_NONE with *out NULL (a retry of an end already complete), or the error. */
int16_t txn_end(struct txns *ts, struct kstr id, int64_t pid, int16_t epoch, bool commit,
                bool fenced_v2, int64_t now_ms, struct txn **out);
/* The caller wrote t's markers: PrepareCommit/PrepareAbort -> Complete*; the
 * partitions, group and offsets are dropped (read them before). */
void txn_complete(struct txns *ts, struct txn *t, int64_t now_ms);

/* Abort every Ongoing transaction open past its timeout (epoch bumped, as Kafka
 * fences the producer), returning how many were moved to PrepareAbort. */
int txns_expire(struct txns *ts, int64_t now_ms);
/* When txns_expire next has work; INT64_MAX: never. */
int64_t txns_next_deadline(const struct txns *ts);

/* Recovery: put a transaction as its last persisted record says (replacing what
 * is known of id), then its partitions and pending offsets; once every record
 * is read, txns_recover() aborts the Ongoing ones (epoch fenced) and returns how
 * many transactions are `ending`: the caller writes their markers before serving. */
struct txn *txn_restore(struct txns *ts, struct kstr id, int64_t pid, int16_t epoch,
                        int32_t timeout_ms, enum txn_state state, int64_t start_ms,
                        int64_t update_ms);
void txn_restore_part(struct txn *t, const char *topic, size_t topic_len, int32_t partition);
void txn_restore_offset(struct txn *t, struct kstr group, const char *topic, size_t topic_len,
                        int32_t partition, int64_t offset, int32_t leader_epoch,
                        struct kstr metadata);
int txns_recover(struct txns *ts, int64_t now_ms);
/* Forget every transactional id with no transaction open whose last change is
 * expiration_ms old (transactional.id.expiration.ms), calling gone(arg, id) for
 * each first (the caller writes its tombstone). Returns how many. */
int txns_expire_ids(struct txns *ts, int64_t now_ms, int64_t expiration_ms,
                    void (*gone)(void *arg, const char *id), void *arg);

/* Whether an open transaction holds an offset of group for topic/partition
 * (OffsetFetch's require_stable answers UNSTABLE_OFFSET_COMMIT then). */
bool txns_offset_pending(const struct txns *ts, struct kstr group, struct kstr topic,
                         int32_t partition);

/* Forget id (a tombstone read back). */
void txn_forget(struct txns *ts, struct kstr id);

/* ---- h_txn.c ---- */
/* KIP-890: whether pid/epoch of transactional_id has topic/partition in its
 * ongoing transaction: KAFKA_NONE, or INVALID_TXN_STATE / INVALID_PRODUCER_EPOCH /
 * PRODUCER_FENCED / TRANSACTIONAL_ID_NOT_FOUND as Kafka answers a produce. */
int16_t txn_produce_check(struct broker *b, struct kstr transactional_id, int64_t pid,
                          int16_t epoch, struct kstr topic, int32_t partition);
/* Open __transaction_state, read it back and finish what it left open (markers
 * written, Ongoing aborted) before any client is served. After groups_open. */
int txn_open(struct broker *b);
void txn_close(struct broker *b);
/* txns_offset_pending() of b's coordinator (false before it is open). */
bool txn_offset_pending(struct broker *b, struct kstr group, struct kstr topic, int32_t partition);
void txn_tick(struct broker *b, int64_t now_ms);
/* InitProducerId with a transactional id (h_produce.c hands it over). */
void txn_handle_init_producer_id(struct request *rq);
void handle_add_partitions_to_txn(struct request *rq);
void handle_add_offsets_to_txn(struct request *rq);
void handle_end_txn(struct request *rq);
void handle_txn_offset_commit(struct request *rq);
void handle_describe_transactions(struct request *rq);
void handle_list_transactions(struct request *rq);

#endif
