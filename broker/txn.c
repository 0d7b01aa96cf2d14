/*
 * txn.c - the transaction coordinator's state machine: transactional ids, their
 * producer ids and epochs, and the transaction each has open.
 *
 * The rules are Kafka's (KIP-98, KIP-360, KIP-588), without the second phase of
 * KIP-890 (an epoch bump per transaction): InitProducerId bumps the epoch, or
 * hands out a new producer id when the epoch is exhausted, and fences the
 * producer that held the old one; a transaction starts with its first partition
 * or group and moves, at EndTxn or its timeout, through PrepareCommit or
 * PrepareAbort (markers being written by the caller) to CompleteCommit or
 * CompleteAbort. A timed-out transaction is aborted with its epoch bumped, so
 * the producer that left it is fenced, as Kafka's coordinator does.
 *
 * Transactions are kept in a hash map by id and a list; the list is short enough
 * (TXN_MAX_IDS) that the deadline is found by walking it: only Ongoing
 * transactions have one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/txn.h"
#include "lib/xalloc.h"
#include "proto/kafka_errors.h"

const char *const txn_state_names[TXN_STATES] = {
    "Empty",          "Ongoing",       "PrepareCommit", "PrepareAbort",
    "CompleteCommit", "CompleteAbort", "Dead",          "PrepareEpochFence"};

/* A NUL-terminated copy of a string the caller checked (no NUL inside). */
static char *txn_kdup(struct kstr s)
{
    return xstrndup(s.p ? s.p : "", s.len > 0 ? (size_t)s.len : 0);
}

/* Kafka's isEpochExhausted: an epoch this high is never bumped again. */
#define EPOCH_EXHAUSTED (INT16_MAX - 1)

void txns_init(struct txns *ts, int64_t max_timeout_ms, txn_new_pid_fn new_pid, void *ctx)
{
    memset(ts, 0, sizeof *ts);
    hmap_init(&ts->by_id);
    hmap_init(&ts->pending);
    ts->max_timeout_ms = max_timeout_ms;
    ts->new_pid = new_pid;
    ts->new_pid_ctx = ctx;
}

/* The key of a partition in part_index / offset_index: [group index,] topic, NUL,
 * partition. Topics are bounded by the request (int16 length). */
struct txn_key {
    uint8_t buf[4 + 32768 + 1 + 4];
    size_t len;
};

static void txn_key_make(struct txn_key *k, int32_t group, const char *topic, size_t topic_len,
                         int32_t partition)
{
    size_t n = topic_len < 32768 ? topic_len : 32768;
    memcpy(k->buf, &group, 4);
    memcpy(k->buf + 4, topic, n);
    k->buf[4 + n] = 0;
    memcpy(k->buf + 5 + n, &partition, 4);
    k->len = 9 + n;
}

static void index_put(struct hmap *m, const struct txn_key *k, int32_t i)
{
    if (hmap_put(m, k->buf, k->len, (void *)(uintptr_t)(i + 1)))
        xalloc_fail("hmap", 0);
}

/* The key of an offset in txns.pending (allocated: group and topic are int16-sized). */
static uint8_t *pending_key(struct kstr group, const char *topic, size_t topic_len,
                            int32_t partition, size_t *len)
{
    size_t glen = group.len > 0 ? (size_t)group.len : 0;
    uint8_t *k = xmalloc(glen + topic_len + 6);
    memcpy(k, group.p, glen);
    k[glen] = 0;
    memcpy(k + glen + 1, topic, topic_len);
    k[glen + 1 + topic_len] = 0;
    memcpy(k + glen + 2 + topic_len, &partition, 4);
    *len = glen + topic_len + 6;
    return k;
}

/* Count one more (delta 1) or one fewer (-1) pending offset of group/topic/partition. */
static void pending_adjust(struct txns *ts, const char *group, const char *topic, int32_t partition,
                           int delta)
{
    size_t len;
    uint8_t *k = pending_key(kstr_from(group), topic, strlen(topic), partition, &len);
    uintptr_t n = (uintptr_t)hmap_get(&ts->pending, k, len) + (uintptr_t)(intptr_t)delta;
    if (n == 0)
        hmap_del(&ts->pending, k, len);
    else if (hmap_put(&ts->pending, k, len, (void *)n))
        xalloc_fail("hmap", 0);
    free(k);
}

bool txns_offset_pending(const struct txns *ts, struct kstr group, struct kstr topic,
                         int32_t partition)
{
    if (!ts->pending.n || topic.len < 0)
        return false;
    size_t len;
    uint8_t *k = pending_key(group, topic.p, (size_t)topic.len, partition, &len);
    bool found = hmap_get(&ts->pending, k, len) != NULL;
    free(k);
    return found;
}

/* Drop the open transaction's partitions, groups and offsets. */
static void txn_clear(struct txn *t)
{
    for (int32_t i = 0; i < t->nparts; i++)
        free(t->parts[i].topic);
    for (int32_t i = 0; i < t->noffsets; i++) {
        pending_adjust(t->owner, t->groups[t->offsets[i].group], t->offsets[i].topic,
                       t->offsets[i].partition, -1);
        free(t->offsets[i].topic);
        free(t->offsets[i].metadata);
    }
    for (int32_t i = 0; i < t->ngroups; i++)
        free(t->groups[i]);
    free(t->parts);
    free(t->offsets);
    free(t->groups);
    t->parts = NULL;
    t->offsets = NULL;
    t->groups = NULL;
    t->nparts = t->cap_parts = t->noffsets = t->cap_offsets = t->ngroups = 0;
    hmap_release(&t->part_index);
    hmap_release(&t->offset_index);
    hmap_init(&t->part_index);
    hmap_init(&t->offset_index);
    t->offset_bytes = 0;
    t->start_ms = -1;
}

static void txn_free(struct txn *t)
{
    txn_clear(t);
    hmap_release(&t->part_index);
    hmap_release(&t->offset_index);
    free(t->id);
    free(t);
}

void txns_release(struct txns *ts)
{
    for (struct txn *t = ts->list, *next; t; t = next) {
        next = t->next;
        txn_free(t);
    }
    hmap_release(&ts->by_id);
    hmap_release(&ts->pending);
    ts->list = NULL;
    ts->n = 0;
}

struct txn *txn_find(struct txns *ts, struct kstr id)
{
    if (id.len <= 0)
        return NULL;
    return hmap_get(&ts->by_id, id.p, (size_t)id.len);
}

static struct txn *txn_new(struct txns *ts, struct kstr id)
{
    struct txn *t = xcalloc(1, sizeof *t);
    t->id = txn_kdup(id);
    t->producer_id = -1;
    t->epoch = -1;
    t->prev_producer_id = -1;
    t->prev_epoch = -1;
    t->start_ms = -1;
    t->owner = ts;
    hmap_init(&t->part_index);
    hmap_init(&t->offset_index);
    if (hmap_put(&ts->by_id, t->id, (size_t)id.len, t))
        xalloc_fail("hmap", 0);
    t->next = ts->list;
    ts->list = t;
    ts->n++;
    return t;
}

void txn_forget(struct txns *ts, struct kstr id)
{
    struct txn *t = txn_find(ts, id);
    if (!t)
        return;
    hmap_del(&ts->by_id, id.p, (size_t)id.len);
    for (struct txn **pp = &ts->list; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    ts->n--;
    txn_free(t);
}

static bool txn_is_ending(const struct txn *t)
{
    return t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT ||
           t->state == TXN_PREPARE_EPOCH_FENCE || t->ending;
}

/* Move an Ongoing transaction to PrepareCommit/PrepareAbort: the caller ends it. */
static void txn_prepare(struct txn *t, bool commit, int64_t now_ms)
{
    t->state = commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT;
    t->ending = true;
    t->dirty = true;
    t->update_ms = now_ms;
}

/* Abort an Ongoing transaction and fence its producer (Kafka's
 * prepareAbortOrFenceTransaction): the epoch is bumped unless exhausted. */
static void txn_fence_abort(struct txn *t, int64_t now_ms)
{
    if (t->epoch < EPOCH_EXHAUSTED)
        t->epoch++;
    txn_prepare(t, false, now_ms);
}

static int16_t fenced(bool fenced_v2)
{
    return fenced_v2 ? KAFKA_PRODUCER_FENCED : KAFKA_INVALID_PRODUCER_EPOCH;
}

/* A new id or epoch for a transactional id with no transaction open. */
static int16_t txn_bump(struct txns *ts, struct txn *t, int64_t pid, int16_t epoch, bool fenced_v2)
{
    bool given = pid >= 0;
    /* KIP-360: the producer names its id; a stranger is fenced (Kafka's isValidProducerId) */
    if (given && t->epoch >= 0 && pid != t->producer_id &&
        !(pid == t->prev_producer_id && epoch >= EPOCH_EXHAUSTED))
        return fenced(fenced_v2);
    if (given && t->epoch >= 0 && pid == t->prev_producer_id && pid != t->producer_id)
        return KAFKA_NONE; /* a retry after a rotation whose answer was lost */
    if (t->epoch >= EPOCH_EXHAUSTED || t->producer_id < 0) {
        t->prev_producer_id = t->producer_id;
        t->prev_epoch = t->epoch;
        t->producer_id = ts->new_pid(ts->new_pid_ctx);
        t->epoch = 0;
        return KAFKA_NONE;
    }
    if (given && t->epoch >= 0 && epoch != t->epoch) {
        if (epoch == t->prev_epoch)
            return KAFKA_NONE; /* a retry: the bump it asked for was made */
        return fenced(fenced_v2);
    }
    t->prev_producer_id = t->producer_id;
    t->prev_epoch = t->epoch;
    t->epoch++;
    return KAFKA_NONE;
}

int16_t txn_init_producer(struct txns *ts, struct kstr id, int32_t timeout_ms, int64_t pid,
                          int16_t epoch, int16_t version, int64_t now_ms, struct txn **out)
{
    *out = NULL;
    if (id.len <= 0 || id.len > TXN_MAX_ID_BYTES)
        return KAFKA_INVALID_REQUEST;
    if (timeout_ms <= 0 || timeout_ms > ts->max_timeout_ms)
        return KAFKA_INVALID_TRANSACTION_TIMEOUT;
    struct txn *t = txn_find(ts, id);
    if (!t) {
        if (ts->n >= TXN_MAX_IDS)
            return KAFKA_POLICY_VIOLATION;
        t = txn_new(ts, id);
    }
    *out = t;
    if (txn_is_ending(t))
        return KAFKA_CONCURRENT_TRANSACTIONS;
    if (t->state == TXN_ONGOING) {
        if (pid >= 0 && pid != t->producer_id)
            return fenced(version >= 4);
        txn_fence_abort(t, now_ms); /* the client retries once the abort is written */
        return KAFKA_CONCURRENT_TRANSACTIONS;
    }
    int16_t err = txn_bump(ts, t, pid, epoch, version >= 4);
    if (err)
        return err;
    t->timeout_ms = timeout_ms;
    t->state = TXN_EMPTY;
    t->update_ms = now_ms;
    t->dirty = true;
    txn_clear(t);
    return KAFKA_NONE;
}

int16_t txn_check(struct txns *ts, struct kstr id, int64_t pid, int16_t epoch, bool fenced_v2,
                  struct txn **out)
{
    struct txn *t = txn_find(ts, id);
    *out = t;
    if (!t || t->producer_id != pid)
        return KAFKA_INVALID_PRODUCER_ID_MAPPING;
    if (epoch != t->epoch)
        return fenced(fenced_v2);
    if (txn_is_ending(t))
        return KAFKA_CONCURRENT_TRANSACTIONS;
    return KAFKA_NONE;
}

/* The transaction starts with its first partition or group. */
static int16_t txn_begin(struct txn *t, int64_t now_ms)
{
    if (t->state == TXN_ONGOING)
        return KAFKA_NONE;
    if (t->state != TXN_EMPTY && t->state != TXN_COMPLETE_COMMIT && t->state != TXN_COMPLETE_ABORT)
        return KAFKA_INVALID_TXN_STATE;
    txn_clear(t);
    t->state = TXN_ONGOING;
    t->start_ms = now_ms;
    t->dirty = true;
    return KAFKA_NONE;
}

bool txn_has_partition(const struct txn *t, const char *topic, size_t topic_len, int32_t partition)
{
    if (t->state != TXN_ONGOING)
        return false;
    struct txn_key k;
    txn_key_make(&k, 0, topic, topic_len, partition);
    return hmap_get(&t->part_index, k.buf, k.len) != NULL;
}

int16_t txn_add_partition(struct txn *t, const char *topic, size_t topic_len, int32_t partition,
                          int64_t now_ms)
{
    if (txn_has_partition(t, topic, topic_len, partition))
        return KAFKA_NONE;
    if (t->state == TXN_ONGOING && t->nparts >= TXN_MAX_PARTITIONS)
        return KAFKA_POLICY_VIOLATION;
    int16_t err = txn_begin(t, now_ms);
    if (err)
        return err;
    txn_restore_part(t, topic, topic_len, partition);
    t->update_ms = now_ms;
    t->dirty = true;
    return KAFKA_NONE;
}

static int32_t txn_group_index(const struct txn *t, struct kstr group)
{
    for (int32_t i = 0; i < t->ngroups; i++)
        if (strlen(t->groups[i]) == (size_t)group.len &&
            !memcmp(t->groups[i], group.p, (size_t)group.len))
            return i;
    return -1;
}

int16_t txn_add_group(struct txn *t, struct kstr group, int64_t now_ms)
{
    if (t->state == TXN_ONGOING && txn_group_index(t, group) >= 0)
        return KAFKA_NONE;
    if (t->state == TXN_ONGOING && t->ngroups >= TXN_MAX_GROUPS)
        return KAFKA_POLICY_VIOLATION;
    int16_t err = txn_begin(t, now_ms);
    if (err)
        return err;
    t->groups = xrealloc(t->groups, (size_t)(t->ngroups + 1) * sizeof *t->groups);
    t->groups[t->ngroups++] = txn_kdup(group);
    t->update_ms = now_ms;
    t->dirty = true;
    return KAFKA_NONE;
}

static struct txn_offset *txn_offset_find(struct txn *t, int32_t g, const char *topic,
                                          size_t topic_len, int32_t partition)
{
    struct txn_key k;
    txn_key_make(&k, g, topic, topic_len, partition);
    uintptr_t i = (uintptr_t)hmap_get(&t->offset_index, k.buf, k.len);
    return i ? &t->offsets[i - 1] : NULL;
}

int16_t txn_add_offset(struct txn *t, struct kstr group, const char *topic, size_t topic_len,
                       int32_t partition, int64_t offset, int32_t leader_epoch,
                       struct kstr metadata, int64_t now_ms)
{
    int32_t g = t->state == TXN_ONGOING ? txn_group_index(t, group) : -1;
    if (g < 0)
        return KAFKA_INVALID_TXN_STATE; /* AddOffsetsToTxn comes first */
    size_t meta_len = metadata.len > 0 ? (size_t)metadata.len : 0;
    struct txn_offset *o = txn_offset_find(t, g, topic, topic_len, partition);
    size_t bytes = t->offset_bytes + meta_len + (o ? 0 : topic_len + 32);
    if (o)
        bytes -= strlen(o->metadata);
    if (bytes > TXN_MAX_OFFSET_BYTES || (!o && t->noffsets >= TXN_MAX_OFFSETS))
        return KAFKA_POLICY_VIOLATION;
    if (!o) {
        if (t->noffsets == t->cap_offsets) {
            t->cap_offsets = t->cap_offsets ? 2 * t->cap_offsets : 8;
            t->offsets = xrealloc(t->offsets, (size_t)t->cap_offsets * sizeof *t->offsets);
        }
        struct txn_key k;
        txn_key_make(&k, g, topic, topic_len, partition);
        index_put(&t->offset_index, &k, t->noffsets);
        o = &t->offsets[t->noffsets++];
        *o = (struct txn_offset){.group = g, .topic = xstrndup(topic, topic_len)};
        o->partition = partition;
        pending_adjust(t->owner, t->groups[g], o->topic, partition, 1);
    }
    free(o->metadata);
    o->metadata = xstrndup(metadata.p ? metadata.p : "", meta_len);
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    t->offset_bytes = bytes;
    t->update_ms = now_ms;
    t->dirty = true;
    return KAFKA_NONE;
}

/* EndTxn on a transaction in state s that is not Ongoing (Kafka's table). */
static int16_t end_other(enum txn_state s, bool commit)
{
    switch (s) {
    case TXN_COMPLETE_COMMIT: return commit ? KAFKA_NONE : KAFKA_INVALID_TXN_STATE;
    case TXN_COMPLETE_ABORT: return commit ? KAFKA_INVALID_TXN_STATE : KAFKA_NONE;
    case TXN_PREPARE_COMMIT:
        return commit ? KAFKA_CONCURRENT_TRANSACTIONS : KAFKA_INVALID_TXN_STATE;
    case TXN_PREPARE_ABORT: return commit ? KAFKA_INVALID_TXN_STATE : KAFKA_CONCURRENT_TRANSACTIONS;
    case TXN_PREPARE_EPOCH_FENCE: return KAFKA_CONCURRENT_TRANSACTIONS;
    default: return KAFKA_INVALID_TXN_STATE;
    }
}

int16_t txn_end(struct txns *ts, struct kstr id, int64_t pid, int16_t epoch, bool commit,
                bool fenced_v2, int64_t now_ms, struct txn **out)
{
    struct txn *t = txn_find(ts, id);
    *out = NULL;
    if (!t || t->producer_id != pid)
        return KAFKA_INVALID_PRODUCER_ID_MAPPING;
    if (epoch != t->epoch)
        return fenced(fenced_v2);
    if (t->state != TXN_ONGOING)
        return end_other(t->state, commit);
    txn_prepare(t, commit, now_ms);
    *out = t;
    return KAFKA_NONE;
}

void txn_complete(struct txns *ts, struct txn *t, int64_t now_ms)
{
    (void)ts;
    if (t->state == TXN_PREPARE_COMMIT)
        t->state = TXN_COMPLETE_COMMIT;
    else if (t->state == TXN_PREPARE_ABORT || t->state == TXN_PREPARE_EPOCH_FENCE)
        t->state = TXN_COMPLETE_ABORT;
    txn_clear(t);
    t->ending = false;
    t->writing = false;
    t->update_ms = now_ms;
    t->dirty = true;
}

/* When t's transaction times out; INT64_MAX when none is open. */
static int64_t txn_deadline(const struct txn *t)
{
    if (t->state != TXN_ONGOING || t->start_ms < 0)
        return INT64_MAX;
    return t->start_ms + t->timeout_ms;
}

int txns_expire(struct txns *ts, int64_t now_ms)
{
    int n = 0;
    for (struct txn *t = ts->list; t; t = t->next)
        if (txn_deadline(t) <= now_ms) {
            txn_fence_abort(t, now_ms);
            n++;
        }
    return n;
}

int txns_expire_ids(struct txns *ts, int64_t now_ms, int64_t expiration_ms,
                    void (*gone)(void *arg, const char *id), void *arg)
{
    int n = 0;
    for (struct txn *t = ts->list, *next; t; t = next) {
        next = t->next;
        bool idle = t->state == TXN_EMPTY || t->state == TXN_COMPLETE_COMMIT ||
                    t->state == TXN_COMPLETE_ABORT;
        if (!idle || t->ending || t->update_ms > now_ms - expiration_ms)
            continue;
        gone(arg, t->id);
        txn_forget(ts, kstr_from(t->id));
        n++;
    }
    return n;
}

int64_t txns_next_deadline(const struct txns *ts)
{
    int64_t at = INT64_MAX;
    for (const struct txn *t = ts->list; t; t = t->next) {
        int64_t d = txn_deadline(t);
        if (d < at)
            at = d;
    }
    return at;
}

struct txn *txn_restore(struct txns *ts, struct kstr id, int64_t pid, int16_t epoch,
                        int32_t timeout_ms, enum txn_state state, int64_t start_ms,
                        int64_t update_ms)
{
    struct txn *t = txn_find(ts, id);
    if (!t)
        t = txn_new(ts, id);
    txn_clear(t);
    t->producer_id = pid;
    t->epoch = epoch;
    t->timeout_ms = timeout_ms;
    t->state = state;
    t->start_ms = start_ms;
    t->update_ms = update_ms;
    t->ending = state == TXN_PREPARE_COMMIT || state == TXN_PREPARE_ABORT;
    t->writing = false;
    t->dirty = false;
    if (state == TXN_PREPARE_EPOCH_FENCE) {
        t->state = TXN_PREPARE_ABORT;
        t->ending = true;
        t->dirty = true;
    }
    return t;
}

void txn_restore_part(struct txn *t, const char *topic, size_t topic_len, int32_t partition)
{
    struct txn_key k;
    txn_key_make(&k, 0, topic, topic_len, partition);
    if (hmap_get(&t->part_index, k.buf, k.len))
        return; /* a record naming a partition twice */
    index_put(&t->part_index, &k, t->nparts);
    if (t->nparts == t->cap_parts) {
        t->cap_parts = t->cap_parts ? 2 * t->cap_parts : 8;
        t->parts = xrealloc(t->parts, (size_t)t->cap_parts * sizeof *t->parts);
    }
    t->parts[t->nparts++] = (struct txn_part){xstrndup(topic, topic_len), partition};
}

void txn_restore_offset(struct txn *t, struct kstr group, const char *topic, size_t topic_len,
                        int32_t partition, int64_t offset, int32_t leader_epoch,
                        struct kstr metadata)
{
    int32_t g = txn_group_index(t, group);
    if (g < 0) {
        t->groups = xrealloc(t->groups, (size_t)(t->ngroups + 1) * sizeof *t->groups);
        t->groups[g = t->ngroups++] = txn_kdup(group);
    }
    if (t->noffsets == t->cap_offsets) {
        t->cap_offsets = t->cap_offsets ? 2 * t->cap_offsets : 8;
        t->offsets = xrealloc(t->offsets, (size_t)t->cap_offsets * sizeof *t->offsets);
    }
    size_t meta_len = metadata.len > 0 ? (size_t)metadata.len : 0;
    struct txn_key k;
    txn_key_make(&k, g, topic, topic_len, partition);
    if (hmap_get(&t->offset_index, k.buf, k.len))
        return; /* a record naming an offset twice */
    index_put(&t->offset_index, &k, t->noffsets);
    t->offsets[t->noffsets++] =
        (struct txn_offset){g,
                            xstrndup(topic, topic_len),
                            partition,
                            offset,
                            leader_epoch,
                            xstrndup(metadata.p ? metadata.p : "", meta_len)};
    t->offset_bytes += meta_len + topic_len + 32;
    pending_adjust(t->owner, t->groups[g], t->offsets[t->noffsets - 1].topic, partition, 1);
}

int txns_recover(struct txns *ts, int64_t now_ms)
{
    int n = 0;
    for (struct txn *t = ts->list; t; t = t->next) {
        if (t->state == TXN_ONGOING)
            txn_fence_abort(t, now_ms);
        n += t->ending;
    }
    return n;
}
