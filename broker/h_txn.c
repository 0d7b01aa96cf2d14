/*
 * h_txn.c - the transaction coordinator's APIs over broker/txn.c's state
 * machine: InitProducerId with a transactional id, AddPartitionsToTxn,
 * AddOffsetsToTxn, TxnOffsetCommit, EndTxn, DescribeTransactions and
 * ListTransactions; the __transaction_state topic; ending transactions; the
 * timeout timer; recovery at start; the KIP-890 check Produce makes.
 *
 * Every change to a transaction is a record of __transaction_state (one
 * partition, compacted), in Kafka's TransactionLog layout (value v1), written on
 * the loop thread; the request is answered once it is durable. The offsets a
 * transaction commits ride in the same record, in a tagged field of brook's own
 * (TXN_TAG_OFFSETS) that Kafka's readers skip, so that a PrepareCommit found at
 * a restart can still commit them.
 *
 * Ending one (EndTxn, InitProducerId over an Ongoing transaction, the timeout)
 * is a job on the admin thread, since markers wait for fsync: the Prepare*
 * record is made durable, a COMMIT or ABORT marker is written to every
 * partition (store_partition_end_txn), the offsets the transaction commits are
 * appended to __consumer_offsets and made durable, and the Complete* record,
 * built beforehand on the loop, is appended and made durable. The job then
 * hands itself back to the loop (a mutex-guarded list and one event), which
 * moves the transaction to Complete*, makes the offsets visible to OffsetFetch,
 * and answers the EndTxn that asked. A job that fails leaves the transaction in
 * Prepare*; the one-second sweep starts it again, as Kafka retries its markers.
 *
 * At start the topic is read back and whatever was left open is finished on
 * the starting thread before any client is served: PrepareCommit commits,
 * PrepareAbort and Ongoing abort. Producer ids stay unique across restarts:
 * they start from the wall clock shifted by 10 bits, and never below one past
 * the highest id __transaction_state holds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker/group.h"
#include "broker/offsets.h"
#include "broker/txn.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/reader.h"
#include "lib/writer.h"
#include "proto/record.h"

/* brook's tagged field in TransactionLogValue v1: the pending offsets. Far from
 * Kafka's tags (0-2) so that it never meets one. */
#define TXN_TAG_OFFSETS 10000
/* How often idle transactional ids are looked for (Kafka's
 * transaction.remove.expired.transaction.cleanup.interval.ms is an hour; the walk
 * is cheap, so a minute keeps short expirations close to their time). */
#define TXN_EXPIRY_CHECK_MS 60000
/* The largest record of one transaction: partitions and offsets within bounds. */
#define TXN_RECORD_MAX (16u << 20)

/* An end in progress, from the loop to the admin thread and back. */
struct txn_job {
    struct broker *b;
    char *id;
    int64_t pid;
    int16_t epoch;
    bool commit;
    struct txn_part *parts; /* copies */
    int32_t nparts;
    int64_t prepare_end; /* __transaction_state offset after the Prepare* record */
    struct store_topic *log, *offsets_topic; /* references: the job outlives no topic */
    struct writer offsets, complete;         /* built batches: __consumer_offsets, Complete* */
    int rc;
    struct txn_job *next;
};

struct txn_coord {
    struct txns ts;
    struct store_topic *topic;
    struct event *done_ev;
    struct deadline_timer timer; /* armed for txns_next_deadline */
    pthread_mutex_t mu;
    struct txn_job *done;   /* jobs finished by the admin thread (mu) */
    int64_t next_expiry_ms; /* when idle transactional ids are next looked for */
};

static struct txn_coord *coord(struct broker *b)
{
    return b->txn;
}

static struct store_partition *txn_log(struct broker *b)
{
    return store_topic_partition(coord(b)->topic, 0);
}

/* ---- records: Kafka's TransactionLogKey v0 and TransactionLogValue v1 ---- */

static void put_cstring(struct writer *w, const char *s)
{
    size_t n = strlen(s);
    writer_uvarint(w, (uint32_t)n + 1);
    writer_bytes(w, s, n);
}

static int part_cmp(const void *a, const void *b)
{
    const struct txn_part *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* TransactionPartitions: one entry per topic (parts sorted by topic). */
static void put_partitions(struct writer *w, const struct txn_part *parts, int32_t n)
{
    int32_t topics = 0;
    for (int32_t i = 0; i < n; i++)
        topics += i == 0 || strcmp(parts[i].topic, parts[i - 1].topic);
    writer_uvarint(w, (uint32_t)topics + 1);
    for (int32_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && !strcmp(parts[j].topic, parts[i].topic); j++)
            ;
        put_cstring(w, parts[i].topic);
        writer_uvarint(w, (uint32_t)(j - i) + 1);
        for (int32_t k = i; k < j; k++)
            writer_be32(w, (uint32_t)parts[k].partition);
        writer_uvarint(w, 0);
    }
}

/* brook's tagged field: per group, its pending offsets. */
static void put_offsets(struct writer *w, const struct txn *t)
{
    writer_uvarint(w, (uint32_t)t->ngroups + 1);
    for (int32_t g = 0; g < t->ngroups; g++) {
        put_cstring(w, t->groups[g]);
        int32_t n = 0;
        for (int32_t i = 0; i < t->noffsets; i++)
            n += t->offsets[i].group == g;
        writer_uvarint(w, (uint32_t)n + 1);
        for (int32_t i = 0; i < t->noffsets; i++) {
            const struct txn_offset *o = &t->offsets[i];
            if (o->group != g)
                continue;
            put_cstring(w, o->topic);
            writer_be32(w, (uint32_t)o->partition);
            writer_be64(w, (uint64_t)o->offset);
            writer_be32(w, (uint32_t)o->leader_epoch);
            put_cstring(w, o->metadata);
        }
    }
}

/* The value of t's record as it would be in state `state` (Complete* records are
 * built before the transaction is moved there: no partitions then). */
static int txn_value(const struct txn *t, enum txn_state state, int64_t now, struct writer *w)
{
    bool open = state != TXN_COMPLETE_COMMIT && state != TXN_COMPLETE_ABORT && state != TXN_EMPTY;
    struct txn_part *sorted = NULL;
    writer_be16(w, 1);
    writer_be64(w, (uint64_t)t->producer_id);
    writer_be16(w, (uint16_t)t->epoch);
    writer_be32(w, (uint32_t)t->timeout_ms);
    writer_u8(w, (uint8_t)state);
    if (open && t->nparts) {
        sorted = xmalloc((size_t)t->nparts * sizeof *sorted);
        memcpy(sorted, t->parts, (size_t)t->nparts * sizeof *sorted);
        qsort(sorted, (size_t)t->nparts, sizeof *sorted, part_cmp);
    }
    put_partitions(w, sorted, open ? t->nparts : 0);
    free(sorted);
    writer_be64(w, (uint64_t)now);
    writer_be64(w, (uint64_t)(open ? t->start_ms : -1));
    bool offsets = open && t->ngroups > 0;
    writer_uvarint(w, offsets ? 1 : 0);
    if (offsets) {
        struct writer tag;
        writer_init(&tag, TXN_RECORD_MAX);
        put_offsets(&tag, t);
        writer_uvarint(w, TXN_TAG_OFFSETS);
        writer_uvarint(w, (uint32_t)tag.len);
        writer_bytes(w, tag.buf, tag.len);
        int rc = tag.err;
        writer_release(&tag);
        if (rc)
            return rc;
    }
    return w->err;
}

/* A batch of one record: t's key and its value in `state`, into out. */
static int txn_batch(const struct txn *t, enum txn_state state, int64_t now, struct writer *out)
{
    struct batch_builder bb;
    struct writer key, val;
    batch_builder_init(&bb, CODEC_NONE, TXN_RECORD_MAX + 4096);
    writer_init(&key, TXN_MAX_ID_BYTES + 4);
    writer_init(&val, TXN_RECORD_MAX);
    writer_be16(&key, 0);
    writer_be16(&key, (uint16_t)strlen(t->id));
    writer_bytes(&key, t->id, strlen(t->id));
    int rc = key.err ? key.err : txn_value(t, state, now, &val);
    if (!rc)
        rc = batch_builder_add(&bb, now, key.buf, (int32_t)key.len, val.buf, (int32_t)val.len, NULL,
                               0);
    if (!rc)
        rc = batch_builder_finish(&bb, -1, out);
    batch_builder_release(&bb);
    writer_release(&key);
    writer_release(&val);
    return rc;
}

/* Append t's record as it is now; *end: the offset after it. */
static int txn_persist(struct broker *b, struct txn *t, int64_t *end)
{
    struct writer out;
    struct store_append res;
    writer_init(&out, TXN_RECORD_MAX + 8192);
    int rc = txn_batch(t, t->state, clock_wall_ms(), &out);
    if (!rc)
        rc = store_partition_append(txn_log(b), out.buf, out.len, &res);
    writer_release(&out);
    if (rc)
        return rc;
    t->dirty = false;
    *end = res.last_offset + 1;
    return 0;
}

/* ---- reading records back ---- */

static char *get_cstring(struct reader *r, bool compact)
{
    int64_t n = compact ? (int64_t)reader_uvarint(r) - 1 : (int16_t)reader_be16(r);
    if (n < 0 || (size_t)n > reader_left(r)) {
        reader_fail(r, -EBADMSG);
        return NULL;
    }
    const uint8_t *p = reader_bytes_slow(r, (size_t)n);
    return p ? xstrndup((const char *)p, (size_t)n) : NULL;
}

static int32_t get_count(struct reader *r, bool compact)
{
    int64_t n = compact ? (int64_t)reader_uvarint(r) - 1 : (int32_t)reader_be32(r);
    if (n > (int64_t)reader_left(r)) /* every entry takes a byte at least */
        reader_fail(r, -EBADMSG);
    return reader_ok(r) && n > 0 ? (int32_t)n : 0;
}

static void skip_tags(struct reader *r)
{
    for (uint32_t n = reader_uvarint(r); n && reader_ok(r); n--) {
        reader_uvarint(r);
        reader_bytes_slow(r, reader_uvarint(r));
    }
}

static void read_partitions(struct reader *r, bool compact, struct txn *t)
{
    for (int32_t i = 0, n = get_count(r, compact); i < n && reader_ok(r); i++) {
        char *topic = get_cstring(r, compact);
        for (int32_t k = 0, np = get_count(r, compact); k < np && reader_ok(r); k++) {
            int32_t p = (int32_t)reader_be32(r);
            if (topic && reader_ok(r))
                txn_restore_part(t, topic, strlen(topic), p);
        }
        if (compact)
            skip_tags(r);
        free(topic);
    }
}

static void read_offsets(struct reader *r, struct txn *t)
{
    for (int32_t g = 0, ng = get_count(r, true); g < ng && reader_ok(r); g++) {
        char *group = get_cstring(r, true);
        for (int32_t i = 0, n = get_count(r, true); i < n && reader_ok(r); i++) {
            char *topic = get_cstring(r, true);
            int32_t part = (int32_t)reader_be32(r);
            int64_t off = (int64_t)reader_be64(r);
            int32_t le = (int32_t)reader_be32(r);
            char *meta = get_cstring(r, true);
            if (group && topic && meta && reader_ok(r))
                txn_restore_offset(t, kstr_from(group), topic, strlen(topic), part, off, le,
                                   kstr_from(meta));
            free(topic);
            free(meta);
        }
        free(group);
    }
}

static void read_tags(struct reader *r, struct txn *t)
{
    for (uint32_t n = reader_uvarint(r); n && reader_ok(r); n--) {
        uint32_t tag = reader_uvarint(r), size = reader_uvarint(r);
        const uint8_t *p = reader_bytes_slow(r, size);
        if (p && tag == TXN_TAG_OFFSETS) {
            struct reader sub;
            reader_init(&sub, p, size);
            read_offsets(&sub, t);
        }
    }
}

/* Apply one record of __transaction_state; the last one of an id wins. */
static void load_record(struct txns *ts, const struct record *rec, int64_t *max_pid)
{
    struct reader k, v;
    if (rec->key_len < 4)
        return;
    reader_init(&k, rec->key, (size_t)rec->key_len);
    if (reader_be16(&k) != 0)
        return;
    char *id = get_cstring(&k, false);
    if (!id || !*id)
        goto out;
    if (rec->value_len < 0) {
        txn_forget(ts, kstr_from(id));
        goto out;
    }
    reader_init(&v, rec->value, (size_t)rec->value_len);
    uint16_t version = reader_be16(&v);
    bool compact = version >= 1;
    int64_t pid = (int64_t)reader_be64(&v);
    int16_t epoch = (int16_t)reader_be16(&v);
    int32_t timeout = (int32_t)reader_be32(&v);
    uint8_t state = reader_u8(&v);
    if (!reader_ok(&v) || version > 1 || state >= TXN_STATES || state == TXN_DEAD) {
        log_warn("brook.txn", "%s: a record of %s brook cannot read: skipped", TXN_TOPIC, id);
        goto out;
    }
    struct txn *t = txn_restore(ts, kstr_from(id), pid, epoch, timeout, state, -1, 0);
    read_partitions(&v, compact, t);
    t->update_ms = (int64_t)reader_be64(&v);
    t->start_ms = (int64_t)reader_be64(&v);
    if (compact)
        read_tags(&v, t);
    if (pid > *max_pid)
        *max_pid = pid;
out:
    free(id);
}

static int txn_load(struct broker *b, int64_t *max_pid)
{
    struct store_cursor cur;
    struct store_batch batch;
    int rc, n = 0;
    store_cursor_open(&cur, txn_log(b), 0, 0);
    while ((rc = store_cursor_next(&cur, &batch)) == 1) {
        struct batch_iter it;
        struct record rec;
        rc = batch_iter_init(&it, batch.data, batch.len, NULL, true);
        bool control = !rc && (it.h.attributes & BATCH_ATTR_CONTROL);
        while (!rc && !control && (rc = batch_iter_next(&it, &rec)) == 1) {
            load_record(&coord(b)->ts, &rec, max_pid);
            n++;
            rc = 0;
        }
        batch_iter_release(&it);
        if (rc)
            break;
    }
    store_cursor_close(&cur);
    if (!rc)
        log_info("brook.txn", "loaded %d transactional ids from %d records of %s", coord(b)->ts.n,
                 n, TXN_TOPIC);
    return rc;
}

/* ---- ending transactions ---- */

static void job_free(struct txn_job *j)
{
    for (int32_t i = 0; i < j->nparts; i++)
        free(j->parts[i].topic);
    free(j->parts);
    free(j->id);
    writer_release(&j->offsets);
    writer_release(&j->complete);
    store_topic_put(j->log);
    store_topic_put(j->offsets_topic);
    free(j);
}

/* Admin thread (or the starting thread): everything of an end that waits for a disk. */
static void job_write(struct txn_job *j)
{
    struct broker *b = j->b;
    struct store_partition *log = store_topic_partition(j->log, 0);
    int rc = store_partition_sync(log, j->prepare_end);
    for (int32_t i = 0; i < j->nparts && !rc; i++) {
        struct store_topic *t = store_topic_get(b->store, j->parts[i].topic);
        struct store_partition *p = t ? store_topic_partition(t, j->parts[i].partition) : NULL;
        int64_t off;
        if (p) /* a partition deleted since has nothing to mark */
            rc = store_partition_end_txn(p, j->pid, j->epoch, j->commit, 0, &off);
        store_topic_put(t);
    }
    struct store_append res;
    if (!rc && j->offsets.len) {
        struct store_partition *op = store_topic_partition(j->offsets_topic, 0);
        rc = store_partition_append(op, j->offsets.buf, j->offsets.len, &res);
        if (!rc)
            rc = store_partition_sync(op, res.last_offset + 1);
    }
    if (!rc)
        rc = store_partition_append(log, j->complete.buf, j->complete.len, &res);
    if (!rc)
        rc = store_partition_sync(log, res.last_offset + 1);
    j->rc = rc;
}

static void job_run(void *arg)
{
    struct txn_job *j = arg;
    struct txn_coord *tc = coord(j->b);
    job_write(j);
    pthread_mutex_lock(&tc->mu);
    j->next = tc->done;
    tc->done = j;
    pthread_mutex_unlock(&tc->mu);
    event_active(tc->done_ev, EV_READ, 1);
}

/* The commit records of group g's pending offsets (borrowing t's strings). */
static int group_recs(const struct txn *t, int32_t g, int64_t now, struct commit_rec *recs)
{
    int n = 0;
    for (int32_t i = 0; i < t->noffsets; i++) {
        const struct txn_offset *o = &t->offsets[i];
        if (o->group == g)
            recs[n++] = (struct commit_rec){
                kstr_from(o->topic),    o->partition, o->offset, o->leader_epoch,
                kstr_from(o->metadata), now,          0};
    }
    return n;
}

/* The __consumer_offsets batches of t's offsets, one per group, into out. */
static int offsets_batches(const struct txn *t, int64_t now, struct writer *out)
{
    struct commit_rec *recs = xcalloc((size_t)t->noffsets + 1, sizeof *recs);
    int rc = 0;
    for (int32_t g = 0; g < t->ngroups && !rc; g++) {
        int n = group_recs(t, g, now, recs);
        if (n)
            rc = offsets_txn_batch(kstr_from(t->groups[g]), recs, n, now, out);
    }
    free(recs);
    return rc;
}

/* Make t's offsets visible (loop thread, after they are durable). */
static void offsets_apply(struct broker *b, const struct txn *t, int64_t now)
{
    struct commit_rec *recs = xcalloc((size_t)t->noffsets + 1, sizeof *recs);
    for (int32_t g = 0; g < t->ngroups; g++) {
        int n = group_recs(t, g, now, recs);
        if (n)
            offsets_txn_apply(b, kstr_from(t->groups[g]), recs, n);
    }
    free(recs);
}

/* A job for ending t (in Prepare*, its record appended up to prepare_end). */
static struct txn_job *job_new(struct broker *b, struct txn *t, int64_t prepare_end, int *rc)
{
    struct txn_job *j = xcalloc(1, sizeof *j);
    int64_t now = clock_wall_ms();
    j->b = b;
    j->id = xstrdup(t->id);
    j->pid = t->producer_id;
    j->epoch = t->epoch;
    j->commit = t->state == TXN_PREPARE_COMMIT;
    j->prepare_end = prepare_end;
    j->log = store_topic_ref(coord(b)->topic);
    j->offsets_topic = store_topic_ref(b->groups->topic);
    j->parts = xcalloc((size_t)t->nparts + 1, sizeof *j->parts);
    for (int32_t i = 0; i < t->nparts; i++)
        j->parts[j->nparts++] =
            (struct txn_part){xstrdup(t->parts[i].topic), t->parts[i].partition};
    writer_init(&j->offsets, 64u << 20);
    writer_init(&j->complete, TXN_RECORD_MAX + 8192);
    *rc = j->commit ? offsets_batches(t, now, &j->offsets) : 0;
    if (!*rc)
        *rc = txn_batch(t, j->commit ? TXN_COMPLETE_COMMIT : TXN_COMPLETE_ABORT, now, &j->complete);
    return j;
}

static void end_answer(struct pending *pd, int16_t err)
{
    if (!pd)
        return;
    struct kafka_end_txn_resp *r = pd->resp;
    r->error_code = err;
    pending_finish(pd);
}

/* Loop thread: a job is back. */
static void job_finish(struct broker *b, struct txn_job *j)
{
    struct txn *t = txn_find(&coord(b)->ts, kstr_from(j->id));
    bool same = t && t->producer_id == j->pid && t->epoch == j->epoch && t->ending;
    struct pending *waiter = same ? t->waiters : NULL;
    if (same) {
        t->waiters = NULL;
        t->writing = false;
    }
    if (j->rc) {
        log_error("brook.txn", "transaction %s: %s markers not written (%s); retried", j->id,
                  j->commit ? "COMMIT" : "ABORT", store_strerror(j->rc));
        end_answer(waiter, kafka_error_from(j->rc));
    } else if (same) {
        int64_t now = clock_wall_ms();
        if (j->commit)
            offsets_apply(b, t, now);
        txn_complete(&coord(b)->ts, t, now);
        t->dirty = false; /* the job wrote the Complete* record */
        end_answer(waiter, KAFKA_NONE);
    }
    job_free(j);
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct broker *b = arg;
    struct txn_coord *tc = coord(b);
    (void)fd, (void)what;
    pthread_mutex_lock(&tc->mu);
    struct txn_job *list = tc->done;
    tc->done = NULL;
    pthread_mutex_unlock(&tc->mu);
    while (list) {
        struct txn_job *next = list->next;
        job_finish(b, list);
        list = next;
    }
}

/* Start ending t (in Prepare*): persist its state, then the job; waiter (an
 * EndTxn's pending, or NULL) is answered when it is done. */
static int txn_end_start(struct broker *b, struct txn *t, struct pending *waiter)
{
    int64_t end = 0;
    int rc = txn_persist(b, t, &end);
    struct txn_job *j = rc ? NULL : job_new(b, t, end, &rc);
    if (rc) {
        if (j)
            job_free(j);
        return rc;
    }
    t->writing = true;
    t->waiters = waiter;
    if (admin_post(b, job_run, j) == -ESRCH) { /* no admin thread: here and now */
        job_write(j);
        job_finish(b, j);
    }
    return 0;
}

/* Start every end that is due and not yet under way (after a failed job too). */
static void txn_ends_start(struct broker *b)
{
    for (struct txn *t = coord(b)->ts.list; t; t = t->next)
        if (t->ending && !t->writing && txn_end_start(b, t, NULL))
            log_error("brook.txn", "transaction %s cannot be ended now; retried", t->id);
}

/* ---- the timer ---- */

static void txn_timer_arm(struct broker *b)
{
    struct txn_coord *tc = coord(b);
    int64_t now = clock_wall_ms();
    if (txns_next_deadline(&tc->ts) <= now && txns_expire(&tc->ts, now) > 0)
        txn_ends_start(b);
    deadline_timer_set(&tc->timer, txns_next_deadline(&tc->ts), now);
}

static void timer_cb(int fd, short what, void *arg)
{
    struct broker *b = arg;
    (void)fd, (void)what;
    deadline_timer_fired(&coord(b)->timer);
    txn_timer_arm(b);
}

/* A tombstone for an expired transactional id (compaction then drops its records). */
static void id_gone(void *arg, const char *id)
{
    struct broker *b = arg;
    struct batch_builder bb;
    struct writer key, out;
    struct store_append res;
    batch_builder_init(&bb, CODEC_NONE, TXN_MAX_ID_BYTES + 4096);
    writer_init(&key, TXN_MAX_ID_BYTES + 4);
    writer_init(&out, TXN_MAX_ID_BYTES + 8192);
    writer_be16(&key, 0);
    writer_be16(&key, (uint16_t)strlen(id));
    writer_bytes(&key, id, strlen(id));
    int rc = key.err ? key.err
                     : batch_builder_add(&bb, clock_wall_ms(), key.buf, (int32_t)key.len, NULL, -1,
                                         NULL, 0);
    if (!rc)
        rc = batch_builder_finish(&bb, -1, &out);
    if (!rc)
        rc = store_partition_append(txn_log(b), out.buf, out.len, &res);
    if (rc) /* the id comes back at the next start, and expires again */
        log_warn("brook.txn", "no tombstone for expired transactional id %s: %s", id,
                 store_strerror(rc));
    batch_builder_release(&bb);
    writer_release(&key);
    writer_release(&out);
}

void txn_tick(struct broker *b, int64_t now_ms)
{
    struct txn_coord *tc = coord(b);
    if (!tc)
        return;
    txn_ends_start(b);
    txn_timer_arm(b);
    if (now_ms < tc->next_expiry_ms)
        return;
    int64_t every = b->cfg->txn_id_expiration_ms;
    tc->next_expiry_ms = now_ms + (every < TXN_EXPIRY_CHECK_MS ? every : TXN_EXPIRY_CHECK_MS);
    int n = txns_expire_ids(&tc->ts, now_ms, b->cfg->txn_id_expiration_ms, id_gone, b);
    if (n)
        log_info("brook.txn", "%d transactional ids expired (transactional.id.expiration.ms)", n);
}

/* ---- answering once a record is durable ---- */

struct txn_wait {
    struct broker *b;
    struct pending *pd;
    void (*fail)(void *resp, int16_t err);
};

static void wait_durable(void *arg, int rc)
{
    struct txn_wait *w = arg;
    if (rc)
        w->fail(w->pd->resp, kafka_error_from(rc));
    if (atomic_fetch_sub(&w->pd->waits, 1) == 1)
        broker_complete_async(w->b, w->pd);
}

/* Answer rq with resp once t's record (when t changed) is durable. */
static void answer_persisted(struct request *rq, void *resp, struct txn *t,
                             void (*fail)(void *resp, int16_t err))
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    int64_t end = 0;
    pd->resp = resp;
    pd->waits = 1;
    int rc = t && t->dirty ? txn_persist(b, t, &end) : 0;
    if (rc)
        fail(resp, kafka_error_from(rc));
    if (!rc && end) {
        struct txn_wait *w = PENDING_NEW(pd, struct txn_wait, 1);
        *w = (struct txn_wait){b, pd, fail};
        pd->waits = 2;
        rc = store_partition_when_durable(txn_log(b), end, wait_durable, w);
        if (rc != 0) {
            pd->waits = 1;
            if (rc < 0)
                fail(resp, kafka_error_from(rc));
        }
    }
    pending_release_wait(pd);
    txn_timer_arm(b);
}

/* ---- InitProducerId ---- */

static void init_fail(void *resp, int16_t err)
{
    struct kafka_init_producer_id_resp *r = resp;
    r->error_code = err;
    r->producer_id = -1;
    r->producer_epoch = -1;
}

void txn_handle_init_producer_id(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_init_producer_id_req *req = rq->body;
    struct kafka_init_producer_id_resp *resp = response_new(rq);
    struct txn *t;
    int64_t pid = rq->version >= 3 ? req->producer_id : -1;
    int16_t epoch = rq->version >= 3 ? req->producer_epoch : -1;
    int16_t err =
        txn_init_producer(&coord(b)->ts, req->transactional_id, req->transaction_timeout_ms, pid,
                          epoch, rq->version, clock_wall_ms(), &t);
    init_fail(resp, err);
    if (!err) {
        resp->producer_id = t->producer_id;
        resp->producer_epoch = t->epoch;
    }
    if (t && t->ending && !t->writing) { /* an Ongoing transaction is aborted first */
        int rc = txn_end_start(b, t, NULL);
        if (rc)
            init_fail(resp, kafka_error_from(rc));
        request_respond(rq, resp);
        return;
    }
    answer_persisted(rq, resp, err ? NULL : t, init_fail);
}

/* ---- AddPartitionsToTxn ---- */

/* One transaction's partitions, as both request shapes carry them. */
struct add_set {
    struct kstr id;
    int64_t pid;
    int16_t epoch;
    bool verify_only;
    int32_t ntopics;
    const struct kstr *(*topic_name)(const void *topics, int32_t i);
    const void *topics;
};

/* A topic clients may name in a transaction (a reference), or NULL. */
static struct store_topic *txn_topic_get(struct broker *b, struct kstr topic)
{
    int16_t err;
    struct store_topic *t = topic.len > 0 ? broker_topic(b, topic, false, &err) : NULL;
    if (t && store_topic_name_internal(store_topic_name(t))) {
        store_topic_put(t);
        return NULL;
    }
    return t;
}

static bool partition_in(struct store_topic *t, int32_t partition)
{
    return t && partition >= 0 && partition < store_topic_partition_count(t);
}

/* The answer for one transaction's topics: results (n topics, each with its
 * partitions) filled with errors. v4 and v3 results share their layout. */
static void add_partitions_one(struct request *rq, struct kstr id, int64_t pid, int16_t epoch,
                               bool verify_only, bool fenced_v2,
                               const struct kafka_add_partitions_to_txn_req_topic *topics,
                               int32_t ntopics,
                               struct kafka_add_partitions_to_txn_resp_topic_result *out,
                               struct txn **touched)
{
    struct broker *b = rq->c->b;
    struct txn *t = NULL;
    /* Kafka's order: WRITE on the transactional id, then on every topic (the
     * allowed ones then get OPERATION_NOT_ATTEMPTED), then the partitions */
    bool id_ok = request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TRANSACTIONAL_ID, id);
    int16_t err = id_ok ? txn_check(&coord(b)->ts, id, pid, epoch, fenced_v2, &t)
                        : KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    bool denied = false;
    for (int32_t i = 0; i < ntopics && id_ok && !denied; i++)
        denied = !request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TOPIC, topics[i].name);
    if (denied)
        err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
    bool unknown = false;
    for (int32_t i = 0; i < ntopics && !unknown && id_ok && !denied; i++) {
        struct store_topic *st = txn_topic_get(b, topics[i].name);
        for (int32_t k = 0; k < topics[i].n_partitions; k++)
            unknown |= !partition_in(st, topics[i].partitions[k]);
        store_topic_put(st);
    }
    int64_t now = clock_wall_ms();
    for (int32_t i = 0; i < ntopics; i++) {
        const struct kafka_add_partitions_to_txn_req_topic *ti = &topics[i];
        struct store_topic *st = unknown ? txn_topic_get(b, ti->name) : NULL;
        int16_t topic_err = err;
        if (denied && request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TOPIC, ti->name))
            topic_err = KAFKA_OPERATION_NOT_ATTEMPTED;
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            struct kafka_add_partitions_to_txn_resp_partition_result *po =
                &out[i].results_by_partition[k];
            int32_t part = ti->partitions[k];
            po->partition_index = part;
            if (unknown)
                po->partition_error_code = partition_in(st, part)
                                               ? KAFKA_OPERATION_NOT_ATTEMPTED
                                               : KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
            else if (err)
                po->partition_error_code = topic_err;
            else if (verify_only)
                po->partition_error_code =
                    txn_has_partition(t, ti->name.p, (size_t)ti->name.len, part)
                        ? KAFKA_NONE
                        : KAFKA_INVALID_TXN_STATE;
            else
                po->partition_error_code =
                    txn_add_partition(t, ti->name.p, (size_t)ti->name.len, part, now);
        }
        store_topic_put(st);
    }
    *touched = !err && !unknown && !verify_only ? t : NULL;
}

/* Arena bytes of the results for topics. */
static uint64_t add_bytes(const struct kafka_add_partitions_to_txn_req_topic *topics, int32_t n)
{
    uint64_t bytes = response_bytes((uint64_t)n + 1,
                                    sizeof(struct kafka_add_partitions_to_txn_resp_topic_result));
    for (int32_t i = 0; i < n; i++)
        bytes += response_string_bytes(topics[i].name.len) +
                 response_bytes((uint64_t)topics[i].n_partitions + 1,
                                sizeof(struct kafka_add_partitions_to_txn_resp_partition_result));
    return bytes;
}

static struct kafka_add_partitions_to_txn_resp_topic_result *
add_results(struct pending *pd, const struct kafka_add_partitions_to_txn_req_topic *topics,
            int32_t n)
{
    struct kafka_add_partitions_to_txn_resp_topic_result *out =
        PENDING_NEW(pd, struct kafka_add_partitions_to_txn_resp_topic_result, n + 1);
    for (int32_t i = 0; i < n; i++) {
        /* copied: the answer is encoded once the record is durable, after the request */
        out[i].name = kstr_from(pd_strdup(pd, topics[i].name));
        out[i].results_by_partition =
            PENDING_NEW(pd, struct kafka_add_partitions_to_txn_resp_partition_result,
                        topics[i].n_partitions + 1);
        out[i].n_results_by_partition = topics[i].n_partitions;
    }
    return out;
}

/* Every partition of the v3 answer gets err (a failed write). */
static void add_fail(void *resp, int16_t err)
{
    struct kafka_add_partitions_to_txn_resp *r = resp;
    for (int32_t i = 0; i < r->n_results_by_topic_v3_and_below; i++) {
        struct kafka_add_partitions_to_txn_resp_v3_topic_result *t =
            &r->results_by_topic_v3_and_below[i];
        for (int32_t k = 0; k < t->n_results_by_partition; k++)
            t->results_by_partition[k].partition_error_code = err;
    }
    for (int32_t x = 0; x < r->n_results_by_transaction; x++)
        for (int32_t i = 0; i < r->results_by_transaction[x].n_topic_results; i++) {
            struct kafka_add_partitions_to_txn_resp_topic_result *t =
                &r->results_by_transaction[x].topic_results[i];
            for (int32_t k = 0; k < t->n_results_by_partition; k++)
                t->results_by_partition[k].partition_error_code = err;
        }
}

static void add_partitions_v3(struct request *rq, struct kafka_add_partitions_to_txn_req *req,
                              struct kafka_add_partitions_to_txn_resp *r)
{
    /* the v3 topic and result structs are laid out as the v4 ones */
    const struct kafka_add_partitions_to_txn_req_topic *topics =
        (const struct kafka_add_partitions_to_txn_req_topic *)req->v3_and_below_topics;
    int32_t n = req->n_v3_and_below_topics;
    if (!response_fits(rq, add_bytes(topics, n))) {
        request_refuse(rq, "the AddPartitionsToTxn response would pass the response limit");
        return;
    }
    struct kafka_add_partitions_to_txn_resp_topic_result *out = add_results(rq->pd, topics, n);
    struct txn *t;
    add_partitions_one(rq, req->v3_and_below_transactional_id, req->v3_and_below_producer_id,
                       req->v3_and_below_producer_epoch, false, rq->version >= 2, topics, n, out,
                       &t);
    r->results_by_topic_v3_and_below =
        (struct kafka_add_partitions_to_txn_resp_v3_topic_result *)out;
    r->n_results_by_topic_v3_and_below = n;
    answer_persisted(rq, r, t, add_fail);
}

/* v4+: several transactions, each persisted; answered once all are durable. */
static void add_partitions_v4(struct request *rq, struct kafka_add_partitions_to_txn_req *req,
                              struct kafka_add_partitions_to_txn_resp *r)
{
    struct broker *b = rq->c->b;
    uint64_t bytes = response_bytes((uint64_t)req->n_transactions + 1,
                                    sizeof(struct kafka_add_partitions_to_txn_resp_result));
    for (int32_t x = 0; x < req->n_transactions; x++)
        bytes += response_string_bytes(req->transactions[x].transactional_id.len) +
                 add_bytes(req->transactions[x].topics, req->transactions[x].n_topics);
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the AddPartitionsToTxn response would pass the response limit");
        return;
    }
    r->results_by_transaction = PENDING_NEW(rq->pd, struct kafka_add_partitions_to_txn_resp_result,
                                            req->n_transactions + 1);
    r->n_results_by_transaction = req->n_transactions;
    struct txn *last = NULL;
    for (int32_t x = 0; x < req->n_transactions; x++) {
        const struct kafka_add_partitions_to_txn_req_transaction *in = &req->transactions[x];
        struct kafka_add_partitions_to_txn_resp_result *o = &r->results_by_transaction[x];
        o->transactional_id = kstr_from(pd_strdup(rq->pd, in->transactional_id));
        o->topic_results = add_results(rq->pd, in->topics, in->n_topics);
        o->n_topic_results = in->n_topics;
        struct txn *t;
        add_partitions_one(rq, in->transactional_id, in->producer_id, in->producer_epoch,
                           in->verify_only, true, in->topics, in->n_topics, o->topic_results, &t);
        int64_t end;
        /* all but the last are appended here; the last one's durability covers them */
        if (last && last->dirty && last != t && txn_persist(b, last, &end))
            add_fail(r, KAFKA_KAFKA_STORAGE_ERROR);
        if (t)
            last = t;
    }
    answer_persisted(rq, r, last, add_fail);
}

void handle_add_partitions_to_txn(struct request *rq)
{
    struct kafka_add_partitions_to_txn_req *req = rq->body;
    struct kafka_add_partitions_to_txn_resp *r = response_new(rq);
    if (rq->version >= 4)
        add_partitions_v4(rq, req, r);
    else
        add_partitions_v3(rq, req, r);
}

/* ---- AddOffsetsToTxn ---- */

static void error_fail(void *resp, int16_t err)
{
    /* AddOffsetsToTxn and EndTxn answers start with throttle time and error code */
    ((struct kafka_add_offsets_to_txn_resp *)resp)->error_code = err;
}

static bool group_id_ok(struct kstr g)
{
    return g.len > 0 && strnlen(g.p, (size_t)g.len) == (size_t)g.len;
}

void handle_add_offsets_to_txn(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_add_offsets_to_txn_req *req = rq->body;
    struct kafka_add_offsets_to_txn_resp *r = response_new(rq);
    struct txn *t = NULL;
    if (!request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TRANSACTIONAL_ID, req->transactional_id))
        r->error_code = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    else if (!request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_GROUP, req->group_id))
        r->error_code = KAFKA_GROUP_AUTHORIZATION_FAILED;
    else if (!group_id_ok(req->group_id))
        r->error_code = KAFKA_INVALID_GROUP_ID;
    else
        r->error_code = txn_check(&coord(b)->ts, req->transactional_id, req->producer_id,
                                  req->producer_epoch, rq->version >= 2, &t);
    if (!r->error_code)
        r->error_code = txn_add_group(t, req->group_id, clock_wall_ms());
    answer_persisted(rq, r, r->error_code ? NULL : t, error_fail);
}

/* ---- TxnOffsetCommit ---- */

static void offset_commit_fail(void *resp, int16_t err)
{
    struct kafka_txn_offset_commit_resp *r = resp;
    for (int32_t i = 0; i < r->n_topics; i++)
        for (int32_t k = 0; k < r->topics[i].n_partitions; k++)
            r->topics[i].partitions[k].error_code = err;
}

static uint64_t offset_commit_bytes(const struct kafka_txn_offset_commit_req *req)
{
    uint64_t bytes = response_bytes((uint64_t)req->n_topics + 1,
                                    sizeof(struct kafka_txn_offset_commit_resp_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += response_string_bytes(req->topics[i].name.len) +
                 response_bytes((uint64_t)req->topics[i].n_partitions + 1,
                                sizeof(struct kafka_txn_offset_commit_resp_partition));
    return bytes;
}

void handle_txn_offset_commit(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_txn_offset_commit_req *req = rq->body;
    if (!response_fits(rq, offset_commit_bytes(req))) {
        request_refuse(rq, "the TxnOffsetCommit response would pass the response limit");
        return;
    }
    struct kafka_txn_offset_commit_resp *r = response_new(rq);
    struct txn *t = NULL;
    int16_t err = group_id_ok(req->group_id) ? KAFKA_NONE : KAFKA_INVALID_GROUP_ID;
    if (!request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TRANSACTIONAL_ID, req->transactional_id))
        err = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    else if (!request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_GROUP, req->group_id))
        err = KAFKA_GROUP_AUTHORIZATION_FAILED;
    if (!err) /* INVALID_PRODUCER_EPOCH for a fenced producer, as Kafka's group coordinator */
        err = txn_check(&coord(b)->ts, req->transactional_id, req->producer_id, req->producer_epoch,
                        false, &t);
    int64_t now = clock_wall_ms();
    r->topics = PENDING_NEW(pd, struct kafka_txn_offset_commit_resp_topic, req->n_topics + 1);
    r->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_txn_offset_commit_req_topic *ti = &req->topics[i];
        struct kafka_txn_offset_commit_resp_topic *to = &r->topics[i];
        to->name = kstr_from(pd_strdup(pd, ti->name)); /* encoded after the request is freed */
        to->partitions =
            PENDING_NEW(pd, struct kafka_txn_offset_commit_resp_partition, ti->n_partitions + 1);
        to->n_partitions = ti->n_partitions;
        struct store_topic *st = err ? NULL : txn_topic_get(b, ti->name);
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            const struct kafka_txn_offset_commit_req_partition *pi = &ti->partitions[k];
            struct kafka_txn_offset_commit_resp_partition *po = &to->partitions[k];
            po->partition_index = pi->partition_index;
            if (err)
                po->error_code = err;
            else if (!request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_TOPIC, ti->name))
                po->error_code = KAFKA_TOPIC_AUTHORIZATION_FAILED;
            else if (!partition_in(st, pi->partition_index))
                po->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
            else if (pi->committed_metadata.len > b->cfg->offset_metadata_max)
                po->error_code = KAFKA_OFFSET_METADATA_TOO_LARGE;
            else
                po->error_code = txn_add_offset(t, req->group_id, ti->name.p, (size_t)ti->name.len,
                                                pi->partition_index, pi->committed_offset,
                                                rq->version >= 2 ? pi->committed_leader_epoch : -1,
                                                pi->committed_metadata, now);
        }
        store_topic_put(st);
    }
    answer_persisted(rq, r, err ? NULL : t, offset_commit_fail);
}

/* ---- EndTxn ---- */

void handle_end_txn(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_end_txn_req *req = rq->body;
    struct kafka_end_txn_resp *r = response_new(rq);
    struct txn *t;
    r->producer_id = -1;
    r->producer_epoch = -1;
    if (!request_allowed_kstr(rq, AUTH_OP_WRITE, AUTH_RES_TRANSACTIONAL_ID,
                              req->transactional_id)) {
        r->error_code = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        request_respond(rq, r);
        return;
    }
    r->error_code =
        txn_end(&coord(b)->ts, req->transactional_id, req->producer_id, req->producer_epoch,
                req->committed, rq->version >= 2, clock_wall_ms(), &t);
    if (r->error_code || !t) {
        request_respond(rq, r);
        return;
    }
    rq->pd->resp = r;
    int rc = txn_end_start(b, t, rq->pd);
    if (rc) {
        t->waiters = NULL;
        r->error_code = kafka_error_from(rc);
        request_respond(rq, r);
    }
    txn_timer_arm(b);
}

/* ---- DescribeTransactions, ListTransactions ---- */

static void describe_one(struct pending *pd, const struct txn *t,
                         struct kafka_describe_transactions_resp_transaction_state *o)
{
    o->transaction_state = kstr_from(txn_state_names[t->state]);
    o->transaction_timeout_ms = t->timeout_ms;
    o->transaction_start_time_ms = t->start_ms;
    o->producer_id = t->producer_id;
    o->producer_epoch = t->epoch;
    struct txn_part *sorted = xmalloc(((size_t)t->nparts + 1) * sizeof *sorted);
    if (t->nparts) /* parts is NULL when there are none */
        memcpy(sorted, t->parts, (size_t)t->nparts * sizeof *sorted);
    qsort(sorted, (size_t)t->nparts, sizeof *sorted, part_cmp);
    o->topics = PENDING_NEW(pd, struct kafka_describe_transactions_resp_topic_data, t->nparts + 1);
    for (int32_t i = 0, j; i < t->nparts; i = j) {
        struct kafka_describe_transactions_resp_topic_data *d = &o->topics[o->n_topics++];
        for (j = i; j < t->nparts && !strcmp(sorted[j].topic, sorted[i].topic); j++)
            ;
        d->topic = kstr_from(pd_strdup(pd, kstr_from(sorted[i].topic)));
        d->partitions = PENDING_NEW(pd, int32_t, j - i + 1);
        for (int32_t k = i; k < j; k++)
            d->partitions[d->n_partitions++] = sorted[k].partition;
    }
    free(sorted);
}

void handle_describe_transactions(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_describe_transactions_req *req = rq->body;
    uint64_t bytes =
        response_bytes((uint64_t)req->n_transactional_ids + 1,
                       sizeof(struct kafka_describe_transactions_resp_transaction_state));
    for (int32_t i = 0; i < req->n_transactional_ids; i++) {
        const struct txn *t = txn_find(&coord(b)->ts, req->transactional_ids[i]);
        if (t) /* a topic entry and its name per partition at most */
            bytes += (uint64_t)t->nparts * (response_bytes(1, 64) + response_string_bytes(255));
    }
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the DescribeTransactions response would pass the response limit");
        return;
    }
    struct kafka_describe_transactions_resp *r = response_new(rq);
    r->transaction_states =
        PENDING_NEW(rq->pd, struct kafka_describe_transactions_resp_transaction_state,
                    req->n_transactional_ids + 1);
    r->n_transaction_states = req->n_transactional_ids;
    for (int32_t i = 0; i < req->n_transactional_ids; i++) {
        struct kafka_describe_transactions_resp_transaction_state *o = &r->transaction_states[i];
        const struct txn *t = txn_find(&coord(b)->ts, req->transactional_ids[i]);
        o->transactional_id = req->transactional_ids[i];
        o->producer_id = -1;
        o->producer_epoch = -1;
        o->transaction_state = KSTR("");
        o->transaction_start_time_ms = -1;
        if (!request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_TRANSACTIONAL_ID,
                                  o->transactional_id))
            o->error_code = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        else if (!t)
            o->error_code = KAFKA_TRANSACTIONAL_ID_NOT_FOUND;
        else
            describe_one(rq->pd, t, o);
    }
    request_respond(rq, r);
}

/* Whether t passes ListTransactions' filters (states as a mask of txn_state). */
static bool list_match(const struct txn *t, uint32_t states,
                       const struct kafka_list_transactions_req *req, int64_t min_ms, int64_t now)
{
    if (!(states & (1u << t->state)))
        return false;
    bool pid_ok = req->n_producer_id_filters == 0;
    for (int32_t i = 0; i < req->n_producer_id_filters && !pid_ok; i++)
        pid_ok = req->producer_id_filters[i] == t->producer_id;
    if (!pid_ok)
        return false;
    /* duration_filter: transactions running longer than that (Kafka: open ones) */
    return min_ms < 0 || (t->start_ms >= 0 && now - t->start_ms > min_ms);
}

void handle_list_transactions(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_list_transactions_req *req = rq->body;
    struct txn_coord *tc = coord(b);
    uint64_t bytes = response_bytes((uint64_t)tc->ts.n + 1,
                                    sizeof(struct kafka_list_transactions_resp_transaction_state)) +
                     response_bytes((uint64_t)req->n_state_filters + 1, sizeof(struct kstr));
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the ListTransactions response would pass the response limit");
        return;
    }
    struct kafka_list_transactions_resp *r = response_new(rq);
    r->unknown_state_filters = PENDING_NEW(pd, struct kstr, req->n_state_filters + 1);
    uint32_t states = req->n_state_filters ? 0 : UINT32_MAX;
    for (int32_t i = 0; i < req->n_state_filters; i++) {
        int s = -1;
        for (int k = 0; k < TXN_STATES; k++)
            if ((int32_t)strlen(txn_state_names[k]) == req->state_filters[i].len &&
                !memcmp(txn_state_names[k], req->state_filters[i].p,
                        (size_t)req->state_filters[i].len))
                s = k;
        if (s < 0)
            r->unknown_state_filters[r->n_unknown_state_filters++] = req->state_filters[i];
        else
            states |= 1u << s;
    }
    int64_t min_ms = rq->version >= 1 ? req->duration_filter : -1;
    int64_t now = clock_wall_ms();
    r->transaction_states =
        PENDING_NEW(pd, struct kafka_list_transactions_resp_transaction_state, tc->ts.n + 1);
    /* as Kafka: only the ids the peer may DESCRIBE */
    for (const struct txn *t = tc->ts.list; t; t = t->next)
        if (list_match(t, states, req, min_ms, now) &&
            request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_TRANSACTIONAL_ID, t->id))
            r->transaction_states[r->n_transaction_states++] =
                (struct kafka_list_transactions_resp_transaction_state){
                    kstr_from(t->id), t->producer_id, kstr_from(txn_state_names[t->state])};
    request_respond(rq, r);
}

/* ---- KIP-890: the check Produce makes ---- */

int16_t txn_produce_check(struct broker *b, struct kstr transactional_id, int64_t pid,
                          int16_t epoch, struct kstr topic, int32_t partition)
{
    struct txn *t = coord(b) ? txn_find(&coord(b)->ts, transactional_id) : NULL;
    if (!t)
        return KAFKA_TRANSACTIONAL_ID_NOT_FOUND;
    if (t->producer_id != pid)
        return KAFKA_INVALID_TXN_STATE;
    if (epoch < t->epoch)
        return KAFKA_INVALID_PRODUCER_EPOCH;
    if (epoch != t->epoch ||
        !txn_has_partition(t, topic.p, topic.len > 0 ? (size_t)topic.len : 0, partition))
        return KAFKA_INVALID_TXN_STATE;
    return KAFKA_NONE;
}

bool txn_offset_pending(struct broker *b, struct kstr group, struct kstr topic, int32_t partition)
{
    return coord(b) && txns_offset_pending(&coord(b)->ts, group, topic, partition);
}

/* ---- start and end ---- */

static int64_t new_pid(void *ctx)
{
    return broker_producer_id_new(ctx);
}

static int txn_topic_open(struct broker *b)
{
    return broker_state_topic_open(b, TXN_TOPIC, "brook.txn", &coord(b)->topic);
}

/* Finish, on this thread, every transaction the log left open. */
static int txn_recover(struct broker *b)
{
    struct txn_coord *tc = coord(b);
    int n = txns_recover(&tc->ts, clock_wall_ms());
    for (struct txn *t = tc->ts.list; t; t = t->next) {
        if (!t->ending)
            continue;
        log_info("brook.txn", "transaction %s (producer %lld, epoch %d): %s after the restart",
                 t->id, (long long)t->producer_id, t->epoch,
                 t->state == TXN_PREPARE_COMMIT ? "committing" : "aborting");
        int64_t end;
        int rc = txn_persist(b, t, &end);
        struct txn_job *j = rc ? NULL : job_new(b, t, end, &rc);
        if (!rc) {
            t->writing = true;
            job_write(j);
            rc = j->rc;
            job_finish(b, j);
            j = NULL;
        }
        if (j)
            job_free(j);
        if (rc)
            return rc;
    }
    if (n)
        log_info("brook.txn", "%d transactions finished after the restart", n);
    return 0;
}

int txn_open(struct broker *b)
{
    struct txn_coord *tc = xcalloc(1, sizeof *tc);
    b->txn = tc;
    pthread_mutex_init(&tc->mu, NULL);
    txns_init(&tc->ts, b->cfg->txn_max_timeout_ms, new_pid, b);
    if (deadline_timer_init(&tc->timer, b->base, timer_cb, b) ||
        (b->base && !(tc->done_ev = event_new(b->base, -1, 0, done_cb, b))))
        return -ENOMEM;
    int64_t max_pid = -1;
    int rc = txn_topic_open(b);
    if (!rc)
        rc = txn_load(b, &max_pid);
    if (rc)
        return rc;
    int64_t clock_ids = clock_wall_ms() << 10;
    b->next_producer_id = max_pid + 1 > clock_ids ? max_pid + 1 : clock_ids;
    return txn_recover(b);
}

void txn_close(struct broker *b)
{
    struct txn_coord *tc = coord(b);
    if (!tc)
        return;
    /* jobs the admin thread finished after the loop ended: their requests' connections
     * are gone, and what they wrote is read back at the next start */
    while (tc->done) {
        struct txn_job *j = tc->done;
        tc->done = j->next;
        job_free(j);
    }
    txns_release(&tc->ts);
    deadline_timer_release(&tc->timer);
    if (tc->done_ev)
        event_free(tc->done_ev);
    store_topic_put(tc->topic);
    pthread_mutex_destroy(&tc->mu);
    free(tc);
    b->txn = NULL;
}
