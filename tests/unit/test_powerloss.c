/*
 * test_powerloss.c - power failures and process crashes at random points, then
 * recovery: no acknowledged record is lost, nothing corrupt is served.
 *
 * The disk is simdisk.h's model of what a disk would really hold, under the sysio
 * table: what was made durable, what is pending, and what a power failure keeps.
 *
 * A round opens the store (recovery, which in a quarter of the rounds is itself cut
 * short by the failure), checks it, then runs a random workload (appends to plain,
 * compacted and size-retained partitions, idempotent batches, durability waits,
 * compaction, retention, DeleteRecords, checkpoints from the maintenance thread, a
 * scratch topic created and deleted) until the Nth mutating call, chosen at
 * random: from there every mutating call fails with EIO (a pwrite first writes a
 * random prefix), the store is abandoned, and either
 *
 *  - the power fails (simdisk_power_fail: durable content plus a random, torn
 *    share of what was pending) and the data directory is rebuilt from that; or
 *  - only the process dies: the files stay as they are, nothing pending becomes
 *    durable, and a later power failure can still take it away.
 *
 * After each recovery: every offset reported durable (store_partition_sync,
 * store_partition_when_durable) is present with the record appended there; every
 * batch read through store_partition_read passes its CRC and carries records that
 * were appended at exactly those offsets; plain partitions have no gaps; a compacted
 * partition still has, for every acknowledged record, one of its key at that offset
 * or later; after a process crash nothing that was written is missing; the topic
 * journal lists every batch once, in order, with consistent totals; an idempotent
 * producer retrying its last batch gets it back as a duplicate and its lost batches
 * are taken again in order; a log start DeleteRecords returned stays; and appends
 * work. The real files live in /dev/shm when there is one (the model decides what
 * is durable, so a disk would only slow things down). Many small rounds run within
 * a few seconds; BROOK_POWERLOSS_SEED and BROOK_POWERLOSS_ITERS pick the seed and the
 * number of iterations (thread timing still varies from run to run), and
 * BROOK_POWERLOSS_VERBOSE=1 adds every pending namespace operation to the report
 * printed when a check fails.
 *
 * The scenario tests at the end make certain what the random rounds found once:
 * each failed before the fix it guards.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/props.h"
#include "lib/sysio.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/store.h"
#include "tests/unit/simdisk.h"
#include "tests/unit/testutil.h"

#define DEFAULT_ITERS 400
#define ROUNDS_MAX    4
#define CRASH_RANGE   300 /* the crash comes within this many mutating calls */

static uint64_t iter_seed;
static int iter_no, round_no;

/* Figures for the summary line. */
static struct {
    long recoveries, power_failures, process_crashes, crashed_recoveries;
    long long records_checked, acked_checked;
} stats;

/* Fail the test with the seed and what the crash did. */
static void pl_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pl_fail(int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sysio = sysio_real;
    fprintf(stderr, "--- what the crashes did:\n%s---\n", simdisk_report());
    fail_msg("line %d: %s (iteration %d, round %d; rerun with BROOK_POWERLOSS_SEED=%" PRIu64
             " BROOK_POWERLOSS_ITERS=1)",
             line, msg, iter_no, round_no, iter_seed);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            pl_fail(__LINE__, __VA_ARGS__);                                                        \
    } while (0)

/* ---- what the test appended: expectations per partition ---- */

enum kind { PLAIN, COMPACT, RETAIN };

struct exp_rec {
    uint64_t uid; /* 0: nothing known at this offset */
    int32_t key;  /* -1: no key */
};

/* A batch an idempotent producer got appended. */
struct idem_batch {
    int64_t base;
    int32_t seq, n;
    uint64_t uid0;
};

struct exp_part {
    const char *topic;
    int32_t index;
    enum kind kind;
    struct exp_rec *recs; /* by offset; n == the high watermark */
    size_t n, cap;
    int64_t acked;         /* every offset below was reported durable */
    int64_t max_log_start; /* highest log start seen */
    int64_t min_log_start; /* the last log start DeleteRecords made durable */
    int64_t pid;           /* the idempotent producer of a plain partition */
    int32_t next_seq;
    struct idem_batch *sent;
    size_t nsent, capsent;
    struct store_partition *p; /* this round's handle */
    /* The first append that failed once the machine was dying: its batch may have
     * been written whole before the failure (say, of its journal entry), and its
     * undo failed as well. Its producer got an error, as when a broker dies before
     * answering: finding it after recovery is a duplicate to come, not damage. */
    struct {
        bool set;
        uint64_t uid0;
        int n;
        int32_t keys[8], seq;
    } maybe;
};

#define NPARTS 5
static struct exp_part parts[NPARTS];
static pthread_mutex_t exp_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_uid;

enum topic_state { T_ABSENT, T_MAYBE, T_PRESENT };

struct exp_topic {
    const char *name;
    int32_t partitions;
    const char *config[5];
    enum topic_state state;
    struct store_topic *t;
};

static struct exp_topic topics[] = {
    {"a", 3, {"internal.segment.bytes=1024", "index.interval.bytes=200", NULL}, T_ABSENT, NULL},
    {"c",
     1,
     {"cleanup.policy=compact", "internal.segment.bytes=1024", "delete.retention.ms=86400000",
      "min.cleanable.dirty.ratio=0.01", NULL},
     T_ABSENT,
     NULL},
    {"r", 1, {"internal.segment.bytes=1024", "retention.bytes=2500", NULL}, T_ABSENT, NULL},
    {"x", 2, {NULL}, T_ABSENT, NULL}, /* the scratch topic, created and deleted */
};
#define NTOPICS (sizeof topics / sizeof *topics)

static void parts_reset(void)
{
    static const struct {
        const char *topic;
        int32_t index;
        enum kind kind;
    } layout[NPARTS] = {
        {"a", 0, PLAIN}, {"a", 1, PLAIN}, {"a", 2, PLAIN}, {"c", 0, COMPACT}, {"r", 0, RETAIN}};
    for (int i = 0; i < NPARTS; i++) {
        free(parts[i].recs);
        free(parts[i].sent);
        parts[i] = (struct exp_part){.topic = layout[i].topic,
                                     .index = layout[i].index,
                                     .kind = layout[i].kind,
                                     .pid = 7000 + i};
    }
    for (size_t i = 0; i < NTOPICS; i++) {
        topics[i].state = T_ABSENT;
        topics[i].t = NULL;
    }
}

/* The value of record uid: its number and filler derived from it. */
static size_t make_value(uint64_t uid, char *out, size_t size)
{
    size_t len = 8 + (size_t)((uid * 2654435761u) >> 7) % 240;
    int n = snprintf(out, size, "u%" PRIu64 ":", uid);
    for (size_t i = (size_t)n; i < len && i < size; i++)
        out[i] = (char)('a' + (uid + i) % 26);
    return len < size ? len : size;
}

static uint64_t value_uid(const uint8_t *v, int32_t len)
{
    char tmp[32];
    if (len < 3 || v[0] != 'u')
        return 0;
    size_t n = (size_t)len < sizeof tmp - 1 ? (size_t)len : sizeof tmp - 1;
    memcpy(tmp, v, n);
    tmp[n] = 0;
    return strtoull(tmp + 1, NULL, 10);
}

/* Build a batch of n records starting at record number uid0 (keys from `keys`,
 * -1 for none), idempotent when seq >= 0. */
static void build_batch(struct writer *w, const struct exp_part *e, uint64_t uid0, int n,
                        const int32_t *keys, int32_t seq)
{
    struct batch_builder b;
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    if (seq >= 0) {
        b.producer_id = e->pid;
        b.producer_epoch = 0;
        b.base_sequence = seq;
    }
    int64_t now = clock_wall_ms();
    for (int i = 0; i < n; i++) {
        char value[300], key[16];
        size_t vl = make_value(uid0 + (uint64_t)i, value, sizeof value);
        int kl = keys[i] >= 0 ? snprintf(key, sizeof key, "k%d", keys[i]) : -1;
        if (batch_builder_add(&b, now, kl >= 0 ? key : NULL, kl, value, (int32_t)vl, NULL, 0))
            abort();
    }
    writer_init(w, 1 << 20);
    if (batch_builder_finish(&b, -1, w))
        abort();
    batch_builder_release(&b);
}

static void table_put(struct exp_part *e, int64_t offset, uint64_t uid, int32_t key)
{
    if ((size_t)offset >= e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 256;
        while (cap <= (size_t)offset)
            cap *= 2;
        e->recs = realloc(e->recs, cap * sizeof *e->recs);
        if (!e->recs)
            abort();
        e->cap = cap;
    }
    e->recs[offset] = (struct exp_rec){uid, key};
    if ((size_t)offset + 1 > e->n)
        e->n = (size_t)offset + 1;
}

/* Append n records (uids from uid0) to e; returns the store's result and fills res. */
static int append_records(struct exp_part *e, uint64_t uid0, int n, const int32_t *keys,
                          int32_t seq, struct store_append *res)
{
    struct writer w;
    build_batch(&w, e, uid0, n, keys, seq);
    int rc = store_partition_append(e->p, w.buf, w.len, res);
    writer_release(&w);
    if (rc == 0) {
        CHECK(res->base_offset == (int64_t)e->n && res->last_offset == res->base_offset + n - 1,
              "%s-%d: batch at %" PRId64 "..%" PRId64 ", expected at %zu", e->topic, e->index,
              res->base_offset, res->last_offset, e->n);
        pthread_mutex_lock(&exp_mu);
        for (int i = 0; i < n; i++)
            table_put(e, res->base_offset + i, uid0 + (uint64_t)i, keys[i]);
        pthread_mutex_unlock(&exp_mu);
    } else if (!e->maybe.set && rc != STORE_EFAILED) {
        e->maybe.set = true;
        e->maybe.uid0 = uid0;
        e->maybe.n = n;
        e->maybe.seq = seq;
        memcpy(e->maybe.keys, keys, (size_t)n * sizeof *keys);
    }
    return rc;
}

/* ---- acknowledgements ---- */

struct ack_slot {
    struct exp_part *e;
    int64_t end;
};
static struct ack_slot ack_slots[4096];
static int n_ack_slots;

static void mark_acked(struct exp_part *e, int64_t end)
{
    pthread_mutex_lock(&exp_mu);
    if (end > e->acked)
        e->acked = end;
    pthread_mutex_unlock(&exp_mu);
}

static void on_durable(void *arg, int rc)
{
    struct ack_slot *s = arg;
    if (rc == 0)
        mark_acked(s->e, s->end);
}

/* ---- checks after recovery ---- */

static struct store_config store_cfg(const char *dir)
{
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    c.flush_interval_ms = -1;
    c.retention_check_ms = 3600000; /* the workload runs retention: it sees the log start move */
    c.checkpoint_interval_ms = 3;
    return c;
}

/* Per batch found in a partition, for the journal check. */
struct found_batch {
    int64_t base;
    int32_t records;
    int64_t value_bytes;
};

/* Read every batch of e's partition and check it against what was appended.
 * Returns the batches found (malloc'd) in *out. */
static size_t check_partition(struct exp_part *e, bool process_crash, struct found_batch **out)
{
    struct store_partition *p = e->p;
    int64_t hw = store_partition_high_watermark(p), ls = store_partition_log_start(p);
    const char *t = e->topic;
    int ix = e->index;
    CHECK(hw >= e->acked, "%s-%d: high watermark %" PRId64 " below the acknowledged %" PRId64, t,
          ix, hw, e->acked);
    if (e->maybe.set && hw == (int64_t)e->n + e->maybe.n) { /* the failed append survived */
        simdisk_note("%s-%d: the append that failed at the crash was found\n", t, ix);
        int64_t at = (int64_t)e->n;
        pthread_mutex_lock(&exp_mu);
        for (int i = 0; i < e->maybe.n; i++)
            table_put(e, at + i, e->maybe.uid0 + (uint64_t)i, e->maybe.keys[i]);
        pthread_mutex_unlock(&exp_mu);
        if (e->maybe.seq >= 0) {
            if (e->nsent == e->capsent) {
                e->capsent = e->capsent ? e->capsent * 2 : 32;
                e->sent = realloc(e->sent, e->capsent * sizeof *e->sent);
                if (!e->sent)
                    abort();
            }
            e->sent[e->nsent++] = (struct idem_batch){at, e->maybe.seq, e->maybe.n, e->maybe.uid0};
            e->next_seq = e->maybe.seq + e->maybe.n;
        }
    }
    e->maybe.set = false;
    CHECK(hw <= (int64_t)e->n, "%s-%d: high watermark %" PRId64 " beyond what was appended (%zu)",
          t, ix, hw, e->n);
    if (process_crash)
        CHECK(hw == (int64_t)e->n,
              "%s-%d: a process crash lost appended records: high watermark %" PRId64
              ", appended %zu",
              t, ix, hw, e->n);
    CHECK(ls <= e->max_log_start || ls == 0,
          "%s-%d: log start %" PRId64 " beyond the highest ever (%" PRId64 ")", t, ix, ls,
          e->max_log_start);
    if (e->kind == PLAIN)
        CHECK(ls == 0, "%s-%d: log start %" PRId64 " on a partition nothing deletes", t, ix, ls);
    CHECK(ls >= (e->min_log_start < hw ? e->min_log_start : hw),
          "%s-%d: log start %" PRId64 " below the %" PRId64 " DeleteRecords made durable", t, ix,
          ls, e->min_log_start);

    uint8_t *present = calloc((size_t)hw + 1, 1);
    int64_t newest[16];
    for (int k = 0; k < 16; k++)
        newest[k] = -1;
    struct found_batch *fb = NULL;
    size_t nfb = 0, capfb = 0;
    int64_t from = ls, prev_end = -1;
    while (from < hw) {
        struct store_slice sl;
        int rc = store_partition_read(p, from, 1 << 16, &sl);
        CHECK(rc == 0, "%s-%d: read at %" PRId64 ": %s", t, ix, from, store_strerror(rc));
        if (sl.len == 0)
            break;
        uint8_t *data = tu_xmalloc((size_t)sl.len);
        CHECK(file_pread_all(sl.fd, data, (size_t)sl.len, sl.pos) == 0, "%s-%d: pread", t, ix);
        for (size_t off = 0; off < (size_t)sl.len;) {
            size_t size;
            CHECK(batch_frame(data + off, (size_t)sl.len - off, 1u << 30, &size) == 0,
                  "%s-%d: no whole batch at %" PRId64 "+%zu (offset %" PRId64 ")", t, ix, sl.pos,
                  off, from);
            struct batch_header h;
            struct batch_stats st;
            rc = batch_validate(data + off, size, &batch_limits_default, true, &h, &st);
            CHECK(rc == 0, "%s-%d: a corrupt batch served at offset %" PRId64 ": %s", t, ix,
                  h.base_offset, store_strerror(rc));
            int64_t last = h.base_offset + h.last_offset_delta;
            CHECK(h.base_offset > prev_end, "%s-%d: batch %" PRId64 " after %" PRId64, t, ix,
                  h.base_offset, prev_end);
            if (e->kind != COMPACT)
                CHECK(prev_end < 0 ? h.base_offset <= ls : h.base_offset == prev_end + 1,
                      "%s-%d: gap before batch %" PRId64 " (previous ended at %" PRId64 ")", t, ix,
                      h.base_offset, prev_end);
            CHECK(last < hw, "%s-%d: batch %" PRId64 "..%" PRId64 " past the high watermark", t, ix,
                  h.base_offset, last);
            if (capfb == nfb) {
                capfb = capfb ? capfb * 2 : 64;
                fb = realloc(fb, capfb * sizeof *fb);
                if (!fb)
                    abort();
            }
            fb[nfb++] = (struct found_batch){h.base_offset, st.records, st.value_bytes};
            struct batch_iter it;
            struct record r;
            CHECK(batch_iter_init(&it, data + off, size, &batch_limits_default, true) == 0,
                  "%s-%d: iter", t, ix);
            while ((rc = batch_iter_next(&it, &r)) == 1) {
                CHECK(r.offset >= 0 && r.offset < hw && r.offset <= last,
                      "%s-%d: record at %" PRId64, t, ix, r.offset);
                const struct exp_rec *x = &e->recs[r.offset];
                uint64_t uid = value_uid(r.value, r.value_len);
                char want[300];
                size_t wl = make_value(x->uid, want, sizeof want);
                CHECK(x->uid && uid == x->uid && (size_t)r.value_len == wl &&
                          !memcmp(r.value, want, wl),
                      "%s-%d: offset %" PRId64 " holds record %" PRIu64
                      ", appended there: %" PRIu64,
                      t, ix, r.offset, uid, x->uid);
                char key[16];
                int kl = x->key >= 0 ? snprintf(key, sizeof key, "k%d", x->key) : -1;
                CHECK(r.key_len == kl && (kl < 0 || !memcmp(r.key, key, (size_t)kl)),
                      "%s-%d: offset %" PRId64 " has the wrong key", t, ix, r.offset);
                present[r.offset] = 1;
                stats.records_checked++;
                if (x->key >= 0 && x->key < 16 && r.offset > newest[x->key])
                    newest[x->key] = r.offset;
            }
            CHECK(rc == 0, "%s-%d: records of batch %" PRId64 ": %s", t, ix, h.base_offset,
                  store_strerror(rc));
            batch_iter_release(&it);
            prev_end = last;
            off += size;
        }
        free(data);
        CHECK(sl.next_offset > from, "%s-%d: read made no progress at %" PRId64, t, ix, from);
        from = sl.next_offset;
        store_slice_release(&sl);
    }
    if (e->kind != COMPACT)
        CHECK(hw == ls || prev_end == hw - 1,
              "%s-%d: batches end at %" PRId64 ", high watermark %" PRId64, t, ix, prev_end, hw);
    stats.acked_checked += e->acked;
    for (int64_t o = 0; o < e->acked; o++) {
        if (e->kind == COMPACT) {
            int32_t k = e->recs[o].key;
            if (!e->recs[o].uid)
                continue; /* a hole recovery found and this check accepted before */
            CHECK(k >= 0 && newest[k] >= o,
                  "%s-%d: acknowledged offset %" PRId64
                  " (key k%d) lost, newest of its key: %" PRId64,
                  t, ix, o, k, k >= 0 ? newest[k] : -1);
        } else if (o >= ls) {
            CHECK(present[o], "%s-%d: acknowledged offset %" PRId64 " lost", t, ix, o);
        }
    }
    /* what is past the high watermark now was lost: those offsets get new records;
     * what a compacted partition does not have below it, it never will */
    pthread_mutex_lock(&exp_mu);
    for (int64_t o = 0; e->kind == COMPACT && o < hw; o++)
        if (!present[o])
            e->recs[o] = (struct exp_rec){0, -1};
    free(present);
    e->n = (size_t)hw;
    if (ls > e->max_log_start)
        e->max_log_start = ls;
    if (ls < e->min_log_start) /* DeleteRecords went past what survived: the end holds */
        e->min_log_start = ls;
    pthread_mutex_unlock(&exp_mu);
    *out = fb;
    return nfb;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The journal lists each batch found once, in order per partition, with running
 * totals that add up. */
static void check_journal(struct store_topic *t, struct exp_part *ps[], struct found_batch *fb[],
                          size_t nfb[], int nps)
{
    int64_t total, first;
    store_journal_read(t, 0, NULL, 0, &total, &first);
    size_t n = (size_t)(total - first);
    struct store_journal_entry *je = tu_xmalloc(n * sizeof *je);
    int got = n ? store_journal_read(t, first, je, n, &total, &first) : 0;
    CHECK(got == (int)n, "journal of %s: read %d of %zu entries", store_topic_name(t), got, n);
    const char *tn = store_topic_name(t);
    int64_t recs = -1, vals = -1;
    for (int k = 0; k < nps; k++) {
        int64_t *bases = tu_xmalloc((nfb[k] + 1) * sizeof *bases);
        for (size_t i = 0; i < nfb[k]; i++)
            bases[i] = fb[k][i].base;
        int64_t prev = -1, pr = -1, pv = -1;
        /* the batch holding the log start may begin below it (DeleteRecords) */
        int64_t ls = nfb[k] ? fb[k][0].base : store_partition_log_start(ps[k]->p);
        size_t matched = 0;
        for (size_t i = 0; i < n; i++) {
            const struct store_journal_entry *x = &je[i];
            if (x->partition != ps[k]->index)
                continue;
            CHECK(x->base_offset > prev, "journal of %s: partition %d goes back to %" PRId64, tn,
                  x->partition, x->base_offset);
            CHECK(x->base_offset < store_partition_high_watermark(ps[k]->p),
                  "journal of %s: entry for batch %" PRId64 " past the high watermark", tn,
                  x->base_offset);
            CHECK(pr < 0 || (x->part_records_before == pr && x->part_values_before == pv),
                  "journal of %s: partition %d totals do not add up at batch %" PRId64, tn,
                  x->partition, x->base_offset);
            prev = x->base_offset;
            pr = x->part_records_before + x->records;
            pv = x->part_values_before + x->value_bytes;
            if (x->base_offset < ls)
                continue;
            int64_t *hit = bsearch(&x->base_offset, bases, nfb[k], sizeof *bases, cmp_i64);
            CHECK(hit, "journal of %s: entry for batch %" PRId64 " of partition %d, not in the log",
                  tn, x->base_offset, x->partition);
            const struct found_batch *b = &fb[k][hit - bases];
            CHECK(x->records == b->records && x->value_bytes == b->value_bytes,
                  "journal of %s: batch %" PRId64 " counted %d records %" PRId64
                  " bytes, has %d, %" PRId64,
                  tn, x->base_offset, x->records, x->value_bytes, b->records, b->value_bytes);
            matched++;
        }
        CHECK(matched == nfb[k], "journal of %s: %zu of partition %d's %zu batches listed", tn,
              matched, ps[k]->index, nfb[k]);
        free(bases);
    }
    for (size_t i = 0; i < n; i++) {
        CHECK(recs < 0 || (je[i].records_before == recs && je[i].values_before == vals),
              "journal of %s: topic totals do not add up at entry %zu", tn, i);
        recs = je[i].records_before + je[i].records;
        vals = je[i].values_before + je[i].value_bytes;
    }
    int64_t tr, tv;
    store_journal_totals(t, -1, &tr, &tv);
    CHECK(!n || (tr == recs && tv == vals),
          "journal of %s: totals %" PRId64 "/%" PRId64 " but entries end at %" PRId64 "/%" PRId64,
          tn, tr, tv, recs, vals);
    free(je);
}

/* An idempotent producer after recovery: its last batch that survived comes back
 * as a duplicate, the ones lost are taken again in order, the next one follows. */
static void check_producer(struct exp_part *e)
{
    size_t keep = 0;
    while (keep < e->nsent && e->sent[keep].base < (int64_t)e->n)
        keep++;
    struct store_append res;
    if (keep) {
        struct idem_batch *l = &e->sent[keep - 1];
        int32_t keys[8];
        for (int i = 0; i < l->n; i++)
            keys[i] = -1;
        struct writer w;
        build_batch(&w, e, l->uid0, l->n, keys, l->seq);
        int rc = store_partition_append(e->p, w.buf, w.len, &res);
        writer_release(&w);
        CHECK(rc == STORE_EDUPLICATE_SEQ && res.base_offset == l->base,
              "%s-%d: retrying the last surviving batch (seq %d at %" PRId64 "): %s at %" PRId64,
              e->topic, e->index, l->seq, l->base, store_strerror(rc),
              rc == 0 || rc == STORE_EDUPLICATE_SEQ ? res.base_offset : -1);
    }
    size_t lost = e->nsent - keep;
    for (size_t i = keep; i < e->nsent; i++) {
        struct idem_batch b = e->sent[i];
        int32_t keys[8];
        for (int k = 0; k < b.n; k++)
            keys[k] = -1;
        int rc = append_records(e, b.uid0, b.n, keys, b.seq, &res);
        CHECK(rc == 0, "%s-%d: retrying lost batch seq %d: %s", e->topic, e->index, b.seq,
              store_strerror(rc));
        e->sent[keep++] = (struct idem_batch){res.base_offset, b.seq, b.n, b.uid0};
    }
    e->nsent = keep;
    if (lost)
        e->next_seq = e->sent[keep - 1].seq + e->sent[keep - 1].n;
}

/* Look up topics after an open; check what must (not) exist. */
static void check_topics(struct store *s)
{
    for (size_t i = 0; i < NTOPICS; i++) {
        struct exp_topic *x = &topics[i];
        x->t = store_topic_get(s, x->name);
        CHECK(x->state != T_PRESENT || x->t, "topic %s was created but is gone", x->name);
        CHECK(x->state != T_ABSENT || !x->t, "topic %s was deleted (or never made) but is back",
              x->name);
        if (x->t)
            CHECK(store_topic_partition_count(x->t) == x->partitions, "topic %s has %d partitions",
                  x->name, store_topic_partition_count(x->t));
        x->state = x->t ? T_PRESENT : T_ABSENT;
    }
    for (int i = 0; i < NPARTS; i++) {
        struct exp_topic *x = NULL;
        for (size_t k = 0; k < NTOPICS; k++)
            if (!strcmp(topics[k].name, parts[i].topic))
                x = &topics[k];
        parts[i].p = x && x->t ? store_topic_partition(x->t, parts[i].index) : NULL;
        if (!parts[i].p) {
            CHECK(parts[i].acked == 0, "%s-%d: gone with acknowledged records", parts[i].topic,
                  parts[i].index);
            parts[i].n = 0;
            parts[i].nsent = 0;
        }
    }
}

static void put_topics(void)
{
    for (size_t i = 0; i < NTOPICS; i++) {
        store_topic_put(topics[i].t);
        topics[i].t = NULL;
    }
    for (int i = 0; i < NPARTS; i++)
        parts[i].p = NULL;
}

/* Everything checked after an open, then appends that must work. */
static void check_recovered(struct store *s, bool process_crash)
{
    check_topics(s);
    struct found_batch *fb[NPARTS] = {0};
    size_t nfb[NPARTS] = {0};
    for (int i = 0; i < NPARTS; i++)
        if (parts[i].p)
            nfb[i] = check_partition(&parts[i], process_crash, &fb[i]);
    for (size_t k = 0; k < NTOPICS; k++) {
        struct exp_part *ps[NPARTS];
        struct found_batch *pfb[NPARTS];
        size_t pn[NPARTS];
        int n = 0;
        for (int i = 0; i < NPARTS; i++)
            if (parts[i].p && parts[i].kind != COMPACT && !strcmp(parts[i].topic, topics[k].name)) {
                ps[n] = &parts[i];
                pfb[n] = fb[i];
                pn[n++] = nfb[i];
            }
        if (n)
            check_journal(topics[k].t, ps, pfb, pn, n);
    }
    for (int i = 0; i < NPARTS; i++)
        free(fb[i]);
    /* what recovery kept is durable: the store says so to anyone who asks */
    for (int i = 0; i < NPARTS; i++) {
        struct exp_part *e = &parts[i];
        if (!e->p)
            continue;
        struct store_partition_info info;
        store_partition_info(e->p, &info);
        CHECK(info.durable_offset == info.high_watermark,
              "%s-%d: durable %" PRId64 " below the high watermark %" PRId64 " after recovery",
              e->topic, e->index, info.durable_offset, info.high_watermark);
        mark_acked(e, (int64_t)e->n);
        if (e->kind == PLAIN)
            check_producer(e);
        int32_t keys[1] = {e->kind == COMPACT ? 15 : -1};
        struct store_append res;
        int rc = append_records(e, ++next_uid, 1, keys, -1, &res);
        CHECK(rc == 0, "%s-%d: append after recovery: %s", e->topic, e->index, store_strerror(rc));
        rc = store_partition_sync(e->p, (int64_t)e->n);
        CHECK(rc == 0, "%s-%d: sync after recovery: %s", e->topic, e->index, store_strerror(rc));
        mark_acked(e, (int64_t)e->n);
    }
}

/* ---- the workload ---- */

static struct exp_topic *topic_named(const char *name)
{
    for (size_t i = 0; i < NTOPICS; i++)
        if (!strcmp(topics[i].name, name))
            return &topics[i];
    return NULL;
}

/* Create the topics that are missing; false if the machine died meanwhile. */
static bool ensure_topics(struct store *s)
{
    for (size_t i = 0; i < NTOPICS; i++) {
        struct exp_topic *x = &topics[i];
        if (x->t || !strcmp(x->name, "x"))
            continue;
        struct props *cfg = props_new();
        for (int k = 0; x->config[k]; k++)
            props_set_pair(cfg, x->config[k]);
        int rc = store_topic_create(s, x->name, x->partitions, cfg, NULL);
        props_free(cfg);
        if (rc) {
            CHECK(simdisk_dead(), "create %s: %s without a fault", x->name, store_strerror(rc));
            x->state = T_MAYBE;
            return false;
        }
        x->state = T_PRESENT;
        x->t = store_topic_get(s, x->name);
        for (int k = 0; k < NPARTS; k++) {
            if (strcmp(parts[k].topic, x->name))
                continue;
            /* the first use makes the partition's directory: the disk may die there */
            parts[k].p = store_topic_partition(x->t, parts[k].index);
            if (!parts[k].p) {
                CHECK(simdisk_dead(), "open %s-%d without a fault", x->name, parts[k].index);
                return false;
            }
        }
    }
    return true;
}

/* A failed call is fine only once the machine is dead. */
static void expect_ok_or_dead(int rc, const char *what, const struct exp_part *e)
{
    CHECK(rc >= 0 || simdisk_dead(), "%s on %s-%d: %s without a fault", what, e ? e->topic : "-",
          e ? e->index : -1, store_strerror(rc));
}

static void step_append(struct tu_rng *r, struct exp_part *e)
{
    int n = 1 + (int)tu_rng_below(r, 4);
    int32_t keys[8];
    for (int i = 0; i < n; i++)
        keys[i] = e->kind == COMPACT ? (int32_t)tu_rng_below(r, 6) : -1;
    bool idem = e->kind == PLAIN && tu_rng_below(r, 3) == 0;
    uint64_t uid0 = next_uid + 1;
    next_uid += (uint64_t)n;
    struct store_append res;
    int rc = append_records(e, uid0, n, keys, idem ? e->next_seq : -1, &res);
    expect_ok_or_dead(rc, "append", e);
    if (rc == 0 && idem) {
        if (e->nsent == e->capsent) {
            e->capsent = e->capsent ? e->capsent * 2 : 32;
            e->sent = realloc(e->sent, e->capsent * sizeof *e->sent);
            if (!e->sent)
                abort();
        }
        e->sent[e->nsent++] = (struct idem_batch){res.base_offset, e->next_seq, n, uid0};
        e->next_seq += n;
    }
}

static void step_scratch_topic(struct store *s)
{
    struct exp_topic *x = topic_named("x");
    int rc;
    if (x->t) {
        store_topic_put(x->t);
        x->t = NULL;
        rc = store_topic_delete(s, "x");
        x->state = rc ? T_MAYBE : T_ABSENT;
    } else {
        rc = store_topic_create(s, "x", x->partitions, NULL, NULL);
        x->state = rc ? T_MAYBE : T_PRESENT;
        if (!rc)
            x->t = store_topic_get(s, "x");
    }
    if (rc == -EEXIST || rc == -ENOENT)
        x->state = T_MAYBE;
    expect_ok_or_dead(rc == -EEXIST || rc == -ENOENT ? 0 : rc, "scratch topic", NULL);
}

/* Random work until the machine dies or `steps` are done. */
static void workload(struct store *s, struct tu_rng *r, int steps)
{
    n_ack_slots = 0;
    if (!ensure_topics(s))
        return;
    for (int i = 0; i < steps && !simdisk_dead(); i++) {
        uint64_t c = tu_rng_below(r, 100);
        struct exp_part *e = &parts[tu_rng_below(r, NPARTS)];
        if (c < 40) {
            step_append(r, &parts[tu_rng_below(r, 3)]);
        } else if (c < 52) {
            step_append(r, &parts[3]);
        } else if (c < 62) {
            step_append(r, &parts[4]);
        } else if (c < 76 && n_ack_slots < (int)(sizeof ack_slots / sizeof *ack_slots)) {
            struct ack_slot *slot = &ack_slots[n_ack_slots++];
            *slot = (struct ack_slot){e, (int64_t)e->n};
            int rc = store_partition_when_durable(e->p, slot->end, on_durable, slot);
            if (rc == 1)
                mark_acked(e, slot->end);
            expect_ok_or_dead(rc, "when_durable", e);
        } else if (c < 84) {
            int64_t end = (int64_t)e->n;
            int rc = store_partition_sync(e->p, end);
            if (rc == 0)
                mark_acked(e, end);
            expect_ok_or_dead(rc, "sync", e);
        } else if (c < 88) {
            expect_ok_or_dead(store_partition_compact(parts[3].p), "compact", &parts[3]);
        } else if (c < 91) {
            expect_ok_or_dead(store_run_retention(s), "retention", NULL);
            int64_t ls = store_partition_log_start(parts[4].p);
            if (ls > parts[4].max_log_start)
                parts[4].max_log_start = ls;
        } else if (c < 94) {
            step_scratch_topic(s);
        } else if (c < 96) { /* DeleteRecords: the log start is durable when it returns */
            struct exp_part *x = &parts[4];
            int64_t ls = store_partition_log_start(x->p), low;
            int64_t to = ls + (int64_t)tu_rng_below(r, (uint64_t)((int64_t)x->n - ls + 1));
            int rc = store_partition_delete_records(x->p, to, &low);
            expect_ok_or_dead(rc, "delete records", x);
            if (low > x->max_log_start)
                x->max_log_start = low;
            if (rc == 0 && to > x->min_log_start)
                x->min_log_start = to;
        } else {
            sched_yield();
        }
    }
    int64_t ls = store_partition_log_start(parts[4].p);
    if (ls > parts[4].max_log_start)
        parts[4].max_log_start = ls;
}

/* ---- the test ---- */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

/* One data directory through several crashes. Returns mutating calls seen. */
static long one_iteration(uint64_t seed, long est_calls)
{
    struct tu_rng r;
    tu_rng_seed(&r, seed);
    simdisk_seed(seed ^ 0xa5a5a5a5ULL);
    char *dir = tu_mkdtemp();
    simdisk_reset(dir);
    parts_reset();
    simdisk_report_clear();
    int rounds = 1 + (int)tu_rng_below(&r, ROUNDS_MAX);
    long most = 0;
    bool only_process = true; /* no power failure since the last check */
    struct store_config cfg = store_cfg(dir);
    for (round_no = 0; round_no <= rounds; round_no++) {
        bool last = round_no == rounds;
        long crash_at = last ? SIMDISK_NEVER : 1 + (long)tu_rng_below(&r, (uint64_t)est_calls);
        /* the open (recovery) may be hit by the next failure as well */
        simdisk_arm(!last && tu_rng_below(&r, 4) == 0 ? 1 + (long)tu_rng_below(&r, 40)
                                                      : SIMDISK_NEVER);
        struct store *s = NULL;
        int rc = store_open(&cfg, &s);
        if (rc) {
            CHECK(simdisk_dead(), "store_open: %s without a fault", store_strerror(rc));
            simdisk_note("round %d: crash during recovery at %s\n", round_no, simdisk_crash_op());
            stats.crashed_recoveries++;
        } else {
            long used = simdisk_calls();
            simdisk_arm(SIMDISK_NEVER);
            check_recovered(s, only_process);
            stats.recoveries++;
            only_process = true;
            if (last) {
                put_topics();
                store_close(s);
                break;
            }
            simdisk_arm(crash_at > used ? crash_at - used : 1);
            workload(s, &r, 20 + (int)tu_rng_below(&r, 80));
            if (simdisk_calls() > most)
                most = simdisk_calls();
            simdisk_kill();
            put_topics();
            store_abandon(s);
        }
        if (tu_rng_below(&r, 3) == 0) {
            simdisk_note("round %d: process crash at %s\n", round_no, simdisk_crash_op());
            stats.process_crashes++;
        } else {
            simdisk_power_fail(&r);
            stats.power_failures++;
            only_process = false;
        }
    }
    /* a clean shutdown after all that: the same data again */
    simdisk_arm(SIMDISK_NEVER);
    struct store *s = NULL;
    int rc = store_open(&cfg, &s);
    CHECK(rc == 0, "open after a clean shutdown: %s", store_strerror(rc));
    check_recovered(s, true);
    put_topics();
    store_close(s);
    tu_rmrf(dir);
    free(dir);
    return most;
}

static void test_power_loss(void **state)
{
    uint64_t base = env_u64("BROOK_POWERLOSS_SEED", (uint64_t)time(NULL));
    uint64_t iters = env_u64("BROOK_POWERLOSS_ITERS", DEFAULT_ITERS);
    printf("# power loss: seed %" PRIu64 ", %" PRIu64 " iterations\n", base, iters);
    simdisk_install();
    long most = 0;
    int64_t t0 = clock_mono_ms();
    for (uint64_t i = 0; i < iters; i++) {
        iter_no = (int)i;
        iter_seed = base + i;
        long seen = one_iteration(iter_seed, CRASH_RANGE);
        if (seen > most)
            most = seen;
    }
    sysio = sysio_real;
    simdisk_reset(NULL);
    printf("# power loss: %" PRIu64 " iterations in %" PRId64
           " ms, at most %ld mutating calls a round\n",
           iters, clock_mono_ms() - t0, most);
    printf("# power loss: %ld power failures and %ld process crashes (%ld of them during "
           "recovery), %ld recoveries checked: %lld records read back and compared, %lld "
           "acknowledged offsets checked, none lost or corrupt\n",
           stats.power_failures, stats.process_crashes, stats.crashed_recoveries, stats.recoveries,
           stats.records_checked, stats.acked_checked);
}

/* ---- scenarios: what the random rounds found, made certain ---- */

/* The store with the maintenance thread idle, so that nothing happens unasked. */
static struct store *scenario_open(const char *dir)
{
    struct store_config c = store_cfg(dir);
    c.retention_check_ms = c.checkpoint_interval_ms = 3600000;
    struct store *s = NULL;
    int rc = store_open(&c, &s);
    if (rc)
        fail_msg("store_open: %s", store_strerror(rc));
    return s;
}

static struct store_partition *scenario_topic(struct store *s, const char *name, int parts_n,
                                              const char *kv1, const char *kv2)
{
    struct props *cfg = props_new();
    if (kv1)
        assert_int_equal(props_set_pair(cfg, kv1), 0);
    if (kv2)
        assert_int_equal(props_set_pair(cfg, kv2), 0);
    int rc = store_topic_create(s, name, parts_n, cfg, NULL);
    props_free(cfg);
    if (rc)
        fail_msg("create %s: %s", name, store_strerror(rc));
    struct store_topic *t = store_topic_get(s, name);
    struct store_partition *p = store_topic_partition(t, 0);
    store_topic_put(t); /* the store keeps it; the test never deletes it */
    return p;
}

static struct store_partition *partition_of(struct store *s, const char *name, int32_t i)
{
    struct store_topic *t = store_topic_get(s, name);
    if (!t)
        fail_msg("topic %s is gone", name);
    struct store_partition *p = store_topic_partition(t, i);
    store_topic_put(t);
    return p;
}

/* Append one record (key may be NULL; pid < 0: not idempotent). */
static int scenario_append(struct store_partition *p, const char *key, const char *value,
                           int64_t pid, int32_t seq, struct store_append *res)
{
    struct batch_builder b;
    struct writer w;
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    if (pid >= 0) {
        b.producer_id = pid;
        b.producer_epoch = 0;
        b.base_sequence = seq;
    }
    assert_int_equal(batch_builder_add(&b, clock_wall_ms(), key, key ? (int32_t)strlen(key) : -1,
                                       value, (int32_t)strlen(value), NULL, 0),
                     0);
    writer_init(&w, 1 << 20);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    int rc = store_partition_append(p, w.buf, w.len, res);
    batch_builder_release(&b);
    writer_release(&w);
    return rc;
}

static void append_ok(struct store_partition *p, const char *key, const char *value)
{
    struct store_append res;
    int rc = scenario_append(p, key, value, -1, -1, &res);
    if (rc)
        fail_msg("append: %s", store_strerror(rc));
}

/* A value of about 300 bytes that names itself. */
static const char *big_value(const char *tag, int i)
{
    static char v[320];
    int n = snprintf(v, sizeof v, "%s-%d:", tag, i);
    memset(v + n, 'x', 300 - (size_t)n);
    v[300] = 0;
    return v;
}

/* Whether some record of p has this value prefix (and key, when key is not NULL). */
static bool has_record(struct store_partition *p, const char *key, const char *prefix)
{
    int64_t from = store_partition_log_start(p), hw = store_partition_high_watermark(p);
    bool found = false;
    while (from < hw && !found) {
        struct store_slice sl;
        assert_int_equal(store_partition_read(p, from, 1 << 20, &sl), 0);
        if (sl.len == 0)
            break;
        uint8_t *data = tu_xmalloc((size_t)sl.len);
        assert_int_equal(file_pread_all(sl.fd, data, (size_t)sl.len, sl.pos), 0);
        for (size_t off = 0; off < (size_t)sl.len && !found;) {
            size_t size;
            assert_int_equal(batch_frame(data + off, (size_t)sl.len - off, 1u << 30, &size), 0);
            struct batch_iter it;
            struct record r;
            assert_int_equal(batch_iter_init(&it, data + off, size, &batch_limits_default, true),
                             0);
            while (batch_iter_next(&it, &r) == 1)
                if ((size_t)r.value_len >= strlen(prefix) &&
                    !memcmp(r.value, prefix, strlen(prefix)) &&
                    (!key ||
                     ((size_t)r.key_len == strlen(key) && !memcmp(r.key, key, strlen(key)))))
                    found = true;
            batch_iter_release(&it);
            off += size;
        }
        free(data);
        from = sl.next_offset;
        store_slice_release(&sl);
    }
    return found;
}

/* A crash of the process alone, while the flusher was held: nothing pending became
 * durable. */
static void process_crash(struct store *s)
{
    simdisk_kill();
    simdisk_hold(false);
    store_abandon(s);
    simdisk_arm(SIMDISK_NEVER);
}

/* The power fails and nothing that was not made durable survives. */
static void strict_power_failure(struct store *s)
{
    process_crash(s);
    simdisk_power_fail(NULL);
}

static char *scenario_start(void)
{
    char *dir = tu_mkdtemp();
    simdisk_reset(dir);
    simdisk_install();
    simdisk_arm(SIMDISK_NEVER);
    simdisk_report_clear();
    return dir;
}

static void scenario_end(char *dir)
{
    sysio = sysio_real;
    simdisk_reset(NULL);
    tu_rmrf(dir);
    free(dir);
}

/* After a process crash the page cache still holds batches that were never synced,
 * and a segment a roll created may have no durable directory entry yet. Recovery
 * counts them as the log and acknowledges on top of them, so it must sync them
 * first, or a later power failure takes away what was acknowledged since. */
static void test_recovery_syncs_what_it_keeps(void **state)
{
    char *dir = scenario_start();
    struct store *s = scenario_open(dir);
    struct store_partition *p = scenario_topic(s, "t", 1, "internal.segment.bytes=1024", NULL);
    append_ok(p, NULL, big_value("synced", 0));
    assert_int_equal(store_partition_sync(p, 1), 0);
    simdisk_hold(true);
    for (int i = 0; i < 8; i++) /* rolls twice: two segments and a directory unsynced */
        append_ok(p, NULL, big_value("written", i));
    process_crash(s);

    s = scenario_open(dir);
    p = partition_of(s, "t", 0);
    assert_int_equal(store_partition_high_watermark(p), 9);
    append_ok(p, NULL, big_value("acknowledged", 0));
    assert_int_equal(store_partition_sync(p, 10), 0);
    strict_power_failure(s);

    s = scenario_open(dir);
    p = partition_of(s, "t", 0);
    assert_int_equal(store_partition_high_watermark(p), 10);
    assert_true(has_record(p, NULL, "written-7:"));
    assert_true(has_record(p, NULL, "acknowledged-0:"));
    store_close(s);
    scenario_end(dir);
}

/* The cleaner may drop a record only for a newer one of its key that is durable:
 * a newer one in a rolled segment the flusher has not synced yet can still be lost. */
static void test_compaction_only_behind_durable(void **state)
{
    char *dir = scenario_start();
    struct store *s = scenario_open(dir);
    struct store_partition *p =
        scenario_topic(s, "c", 1, "cleanup.policy=compact", "internal.segment.bytes=1024");
    for (int k = 0; k < 3; k++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", k);
        append_ok(p, key, big_value("old", k));
    }
    int64_t acked = store_partition_high_watermark(p);
    assert_int_equal(store_partition_sync(p, acked), 0);
    simdisk_hold(true);
    for (int k = 0; k < 3; k++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", k);
        append_ok(p, key, big_value("new", k));
    }
    for (int i = 0; i < 4; i++) /* the new values end up in closed segments */
        append_ok(p, "filler", big_value("filler", i));
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_true(info.segments >= 4);
    /* segments 0 (old 0, 1) and 2 (old 2, new 0) are cleaned one after the other:
     * the power fails between the two */
    simdisk_arm_name("c-0/00000000000000000002.log.cleaned");
    store_partition_compact(p);
    strict_power_failure(s);

    s = scenario_open(dir);
    p = partition_of(s, "c", 0);
    for (int k = 0; k < 3; k++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", k);
        if (!has_record(p, key, "old-") && !has_record(p, key, "new-"))
            fail_msg("the acknowledged record of key %s is gone", key);
    }
    store_close(s);
    scenario_end(dir);
}

/* A producer snapshot written while the log ran ahead of what was durable describes
 * batches a power failure takes away. Once appends carry the log past its offset
 * again it looks valid, and a retry of a lost batch is answered as a duplicate. */
static void test_stale_producer_snapshot_replaced(void **state)
{
    char *dir = scenario_start();
    struct store *s = scenario_open(dir);
    struct store_partition *p = scenario_topic(s, "t", 1, NULL, NULL);
    struct store_append res;
    assert_int_equal(scenario_append(p, NULL, "seq-0", 42, 0, &res), 0);
    assert_int_equal(store_partition_sync(p, 1), 0);
    simdisk_hold(true);
    assert_int_equal(scenario_append(p, NULL, "seq-1", 42, 1, &res), 0);
    int64_t low;
    assert_int_equal(store_partition_delete_records(p, 0, &low), 0); /* a checkpoint */
    strict_power_failure(s);

    s = scenario_open(dir);
    p = partition_of(s, "t", 0);
    assert_int_equal(store_partition_high_watermark(p), 1); /* seq 1 was lost */
    append_ok(p, NULL, "someone else");
    assert_int_equal(store_partition_sync(p, 2), 0);
    store_abandon(s); /* the process dies before the next checkpoint */

    s = scenario_open(dir);
    p = partition_of(s, "t", 0);
    int rc = scenario_append(p, NULL, "seq-1", 42, 1, &res); /* the producer retries */
    if (rc)
        fail_msg("the retried batch that was lost: %s", store_strerror(rc));
    assert_int_equal(res.base_offset, 2);
    assert_true(has_record(p, NULL, "seq-1"));
    store_close(s);
    scenario_end(dir);
}

/* A crash while a topic is created can leave its metadata without a partition
 * directory; recovery makes the directory, and must make it durable. */
static void test_partition_directory_made_durable(void **state)
{
    char *dir = scenario_start();
    struct store *s = scenario_open(dir);
    scenario_topic(s, "t", 2, NULL, NULL); /* partition 1's directory: made at first use */
    simdisk_arm_name("t-1");
    struct store_topic *t = store_topic_get(s, "t");
    assert_null(store_topic_partition(t, 1));
    store_topic_put(t);
    strict_power_failure(s);

    s = scenario_open(dir);
    struct store_partition *p = partition_of(s, "t", 1);
    append_ok(p, NULL, "acknowledged");
    assert_int_equal(store_partition_sync(p, 1), 0);
    strict_power_failure(s);

    s = scenario_open(dir);
    p = partition_of(s, "t", 1);
    assert_true(has_record(p, NULL, "acknowledged"));
    store_close(s);
    scenario_end(dir);
}

/* A deletion the crash interrupted is gone from the directory, but not durably:
 * recovery must make what it found durable, or a power failure later brings the
 * topic back (empty) after it was seen gone. */
static void test_interrupted_deletion_made_durable(void **state)
{
    char *dir = scenario_start();
    struct store *s = scenario_open(dir);
    scenario_topic(s, "x", 1, NULL, NULL);
    scenario_topic(s, "y", 1, NULL, NULL);
    simdisk_arm_name(".topics"); /* the deletion's last step: its directory fsync */
    assert_int_not_equal(store_topic_delete(s, "x"), 0);
    process_crash(s);

    s = scenario_open(dir);
    struct store_topic *t = store_topic_get(s, "x");
    if (t)
        fail_msg("the deletion did not get as far as the scenario needs");
    struct store_partition *p = partition_of(s, "y", 0);
    append_ok(p, NULL, "acknowledged");
    assert_int_equal(store_partition_sync(p, 1), 0);
    strict_power_failure(s);

    s = scenario_open(dir);
    t = store_topic_get(s, "x");
    store_topic_put(t);
    if (t)
        fail_msg("topic x is back after it was seen deleted");
    assert_true(has_record(partition_of(s, "y", 0), NULL, "acknowledged"));
    store_close(s);
    scenario_end(dir);
}

/* The metadata of a topic whose creation a crash interrupted is on disk but maybe
 * not durable: recovery must make it durable before a partition directory is made
 * (at the partition's first use), or a power failure in between leaves directories
 * without metadata, adopted as a topic of their own with fewer partitions and none
 * of its config. */
static void test_interrupted_creation_made_durable(void **state)
{
    char *dir = scenario_start();
    struct store *s = scenario_open(dir);
    simdisk_arm_name(".topics"); /* the metadata file's directory fsync */
    assert_int_not_equal(store_topic_create(s, "t", 3, NULL, NULL), 0);
    process_crash(s);

    /* recovery finds the topic; the first use of partition 1, which makes its
     * directory, is cut short in turn */
    s = scenario_open(dir);
    simdisk_arm_name("t-1/00000000000000000000.log");
    struct store_topic *made = store_topic_get(s, "t");
    assert_non_null(made);
    assert_null(store_topic_partition(made, 1));
    store_topic_put(made);
    strict_power_failure(s);

    s = scenario_open(dir);
    struct store_topic *t = store_topic_get(s, "t");
    int32_t n = t ? store_topic_partition_count(t) : 3;
    store_topic_put(t);
    if (n != 3)
        fail_msg("topic t came back with %d partitions", n);
    store_close(s);
    scenario_end(dir);
}

/* Topics created together are durable once store_topics_create answers: a power
 * failure right after keeps every one, with its partitions and config, and they
 * take records (their directories, never made before, are made by recovery). */
static void test_batch_creation_survives_power_failure(void **state)
{
    char *dir = scenario_start();
    struct store *s = scenario_open(dir);
    enum { N = 40 };
    struct store_topic_new v[N];
    char names[N][16];
    struct props *cfg = props_new();
    assert_int_equal(props_set(cfg, "retention.ms", "60000"), 0);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "b%d", i);
        v[i] = (struct store_topic_new){names[i], 1 + i % 3, i % 2 ? cfg : NULL, NULL, 1};
    }
    assert_int_equal(store_topics_create(s, v, N), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(v[i].rc, 0);
    props_free(cfg);
    strict_power_failure(s);

    s = scenario_open(dir);
    for (int i = 0; i < N; i++) {
        struct store_topic *t = store_topic_get(s, names[i]);
        if (!t)
            fail_msg("topic %s answered created is gone after a power failure", names[i]);
        assert_int_equal(store_topic_partition_count(t), 1 + i % 3);
        struct topic_config tc;
        store_topic_config_get(t, &tc);
        if (i % 2)
            assert_int_equal(tc.retention_ms, 60000);
        store_topic_put(t);
    }
    struct store_partition *p = partition_of(s, "b5", 2);
    append_ok(p, NULL, "acknowledged");
    assert_int_equal(store_partition_sync(p, 1), 0);
    strict_power_failure(s);

    s = scenario_open(dir);
    assert_true(has_record(partition_of(s, "b5", 2), NULL, "acknowledged"));
    store_close(s);
    scenario_end(dir);
}

int main(void)
{
    /* the model decides what is durable, so the real files may as well be in memory:
     * the journaling of a disk file system would only slow the rounds down */
    struct stat st;
    if (!getenv("TMPDIR") && !stat("/dev/shm", &st) && S_ISDIR(st.st_mode) &&
        !access("/dev/shm", W_OK))
        setenv("TMPDIR", "/dev/shm", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovery_syncs_what_it_keeps),
        cmocka_unit_test(test_compaction_only_behind_durable),
        cmocka_unit_test(test_stale_producer_snapshot_replaced),
        cmocka_unit_test(test_partition_directory_made_durable),
        cmocka_unit_test(test_interrupted_deletion_made_durable),
        cmocka_unit_test(test_interrupted_creation_made_durable),
        cmocka_unit_test(test_batch_creation_survives_power_failure),
        cmocka_unit_test(test_power_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
