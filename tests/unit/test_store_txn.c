/*
 * test_store_txn.c - transactions in store/: transactional batches open a
 * producer's transaction, store_partition_end_txn() writes Kafka's control batch
 * and the .txnindex entry of an abort, the last stable offset follows the oldest
 * open transaction through interleaved producers, retention and restarts, the
 * read_committed cursor shows exactly the committed records, and the cleaner keeps
 * markers and never lets aborted data replace committed data.
 *
 * Every test works in its own mkdtemp directory; crashes are store_abandon() with
 * tu_forget_clean_shutdown(), or a simulated power failure (simdisk). One test uses
 * store/private.h to stop between an abort's append and its sync, where a
 * checkpoint of another thread may fall.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "lib/crc32c.h"
#include "lib/fileio.h"
#include "lib/props.h"
#include "lib/reader.h"
#include "lib/sysio.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/private.h"
#include "store/store.h"
#include "tests/unit/simdisk.h"
#include "tests/unit/storeutil.h"
#include "tests/unit/testutil.h"

#define A 1000 /* producer ids */
#define B 2000
#define C 3000

/* Sequences per producer, so that every batch follows on from the last. */
static int32_t seqs[4];

static int32_t *seq_of(int64_t pid)
{
    return &seqs[pid / 1000];
}

/* Append a batch of n records "<tag>-<i>" of producer pid (transactional unless
 * plain); returns its base offset. */
static int64_t put(struct store_partition *p, int64_t pid, bool txn, int n, const char *tag)
{
    struct batch_builder bb;
    struct writer w;
    batch_builder_init(&bb, CODEC_NONE, 1 << 20);
    writer_init(&w, 1 << 20);
    bb.producer_id = pid;
    bb.producer_epoch = 0;
    bb.base_sequence = *seq_of(pid);
    bb.attributes = txn ? BATCH_ATTR_TRANSACTIONAL : 0;
    for (int i = 0; i < n; i++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "%s", tag);
        int vl = snprintf(v, sizeof v, "%s-%d", tag, i);
        assert_int_equal(
            batch_builder_add(&bb, clock_wall_ms(), k, (int32_t)strlen(k), v, vl, NULL, 0), 0);
    }
    assert_int_equal(batch_builder_finish(&bb, -1, &w), 0);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    if (rc)
        fail_msg("append: %s", store_strerror(rc));
    *seq_of(pid) += n;
    batch_builder_release(&bb);
    writer_release(&w);
    return res.base_offset;
}

static int64_t end_txn(struct store_partition *p, int64_t pid, bool commit)
{
    int64_t off = -1;
    int rc = store_partition_end_txn(p, pid, 0, commit, 7, &off);
    if (rc)
        fail_msg("end_txn: %s", store_strerror(rc));
    return off;
}

static struct store_partition *part(struct store *s, const char *topic, struct store_topic **t)
{
    *t = store_topic_get(s, topic);
    assert_non_null(*t);
    return store_topic_partition(*t, 0);
}

/* The values the read_committed cursor shows from 0, joined with ','. */
static void committed_values(struct store_partition *p, char *out, size_t size)
{
    struct store_cursor c;
    struct store_batch b;
    size_t used = 0;
    out[0] = 0;
    store_cursor_open(&c, p, 0, STORE_CURSOR_COMMITTED);
    int rc;
    while ((rc = store_cursor_next(&c, &b)) == 1) {
        struct batch_iter it;
        struct record r;
        assert_int_equal(batch_iter_init(&it, b.data, b.len, &batch_limits_default, true), 0);
        while (batch_iter_next(&it, &r) == 1)
            used += (size_t)snprintf(out + used, size - used, "%s%.*s", used ? "," : "",
                                     (int)r.value_len, (const char *)r.value);
        batch_iter_release(&it);
    }
    assert_int_equal(rc, 0);
    store_cursor_close(&c);
}

static size_t aborted(struct store_partition *p, int64_t from, int64_t upto,
                      struct store_aborted_txn *out)
{
    size_t n = 99;
    assert_int_equal(store_partition_aborted_txns(p, from, upto, out, 16, &n), 0);
    return n;
}

static int64_t txn_first_of(struct store_partition *p, int64_t pid)
{
    static struct store_producer_info info[256];
    size_t n = store_partition_producers(p, info, 256);
    assert_true(n <= 256);
    for (size_t i = 0; i < n; i++)
        if (info[i].producer_id == pid)
            return info[i].txn_first_offset;
    fail_msg("producer %lld unknown", (long long)pid);
    return -2;
}

/* A: open at 0, B: open at 3, a plain batch, A commits, B aborts. */
static void scenario(struct store_partition *p, int64_t *marker_a, int64_t *marker_b)
{
    memset(seqs, 0, sizeof seqs);
    assert_int_equal(put(p, A, true, 3, "a"), 0);
    assert_int_equal(store_partition_last_stable(p), 0);
    assert_int_equal(put(p, B, true, 2, "b"), 3);
    assert_int_equal(put(p, C, false, 1, "plain"), 5);
    assert_int_equal(put(p, A, true, 1, "a2"), 6); /* same transaction: first stays 0 */
    assert_int_equal(store_partition_last_stable(p), 0);
    assert_int_equal(txn_first_of(p, A), 0);
    assert_int_equal(txn_first_of(p, B), 3);
    *marker_a = end_txn(p, A, true);
    assert_int_equal(*marker_a, 7);
    assert_int_equal(store_partition_last_stable(p), 3); /* B is still open */
    assert_int_equal(txn_first_of(p, A), -1);
    *marker_b = end_txn(p, B, false);
    assert_int_equal(*marker_b, 8);
    assert_int_equal(store_partition_last_stable(p), 9);
    assert_int_equal(store_partition_high_watermark(p), 9);
}

/* What scenario() leaves, checked after whatever a test did to the store. */
static void check_scenario_state(struct store_partition *p)
{
    struct store_aborted_txn ab[16];
    assert_int_equal(store_partition_last_stable(p), 9);
    assert_int_equal(aborted(p, 0, 9, ab), 1);
    assert_int_equal(ab[0].producer_id, B);
    assert_int_equal(ab[0].first_offset, 3);
    assert_int_equal(aborted(p, 0, 3, ab), 0);  /* B's data starts at 3 */
    assert_int_equal(aborted(p, 9, 10, ab), 0); /* past its marker */
    assert_int_equal(aborted(p, 8, 9, ab), 1);
    char vals[256];
    committed_values(p, vals, sizeof vals);
    assert_string_equal(vals, "a-0,a-1,a-2,plain-0,a2-0");
}

static void test_txn_commit_abort_and_lso(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    int64_t ma, mb;
    scenario(p, &ma, &mb);
    check_scenario_state(p);
    /* a new transaction of the aborted producer opens at its first batch again */
    assert_int_equal(put(p, B, true, 1, "b3"), 9);
    assert_int_equal(store_partition_last_stable(p), 9);
    char vals[256];
    committed_values(p, vals, sizeof vals);
    assert_string_equal(vals, "a-0,a-1,a-2,plain-0,a2-0");
    end_txn(p, B, true);
    committed_values(p, vals, sizeof vals);
    assert_string_equal(vals, "a-0,a-1,a-2,plain-0,a2-0,b3-0");
    /* a marker without an open transaction is written all the same (as Kafka) */
    assert_int_equal(end_txn(p, C, false), 11);
    struct store_aborted_txn ab[16];
    assert_int_equal(aborted(p, 11, 12, ab), 1);
    assert_int_equal(ab[0].first_offset, 11);
    /* a stale epoch is fenced */
    int64_t off;
    assert_int_equal(store_partition_end_txn(p, A, 0, true, 7, &off), 0);
    assert_int_equal(store_partition_end_txn(p, A, 1, true, 7, &off), 0);
    assert_int_equal(store_partition_end_txn(p, A, 0, true, 7, &off), STORE_EPRODUCER_FENCED);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* The marker, byte for byte against Kafka's layout (RecordBatch v2, one control
 * record: key version 0 + type, value version 0 + coordinator epoch). */
static void test_txn_marker_bytes(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    memset(seqs, 0, sizeof seqs);
    put(p, A, true, 2, "a");
    int64_t before = clock_wall_ms();
    int64_t off = -1;
    assert_int_equal(store_partition_end_txn(p, A, 3, false, 0x01020304, &off), 0);
    assert_int_equal(off, 2);
    struct store_cursor c;
    struct store_batch b;
    store_cursor_open(&c, p, 2, 0);
    assert_int_equal(store_cursor_next(&c, &b), 1);
    const uint8_t *m = b.data;
    struct reader r;
    reader_init(&r, m, b.len);
    assert_int_equal((int64_t)reader_be64(&r), 2);                   /* baseOffset */
    assert_int_equal((int32_t)reader_be32(&r), (int32_t)b.len - 12); /* batchLength */
    assert_int_equal((int32_t)reader_be32(&r), 0);                   /* leader epoch */
    assert_int_equal(reader_u8(&r), 2);                              /* magic */
    uint32_t crc = reader_be32(&r);
    assert_int_equal(crc, crc32c(0, m + 21, b.len - 21)); /* CRC-32C */
    assert_int_equal((int16_t)reader_be16(&r), 0x30);     /* txn | control */
    assert_int_equal((int32_t)reader_be32(&r), 0);        /* lastOffsetDelta */
    int64_t ts = (int64_t)reader_be64(&r);                /* baseTimestamp */
    assert_true(ts >= before && ts <= clock_wall_ms());
    assert_int_equal((int64_t)reader_be64(&r), ts); /* maxTimestamp */
    assert_int_equal((int64_t)reader_be64(&r), A);  /* producerId */
    assert_int_equal((int16_t)reader_be16(&r), 3);  /* producerEpoch */
    assert_int_equal((int32_t)reader_be32(&r), -1); /* baseSequence */
    assert_int_equal((int32_t)reader_be32(&r), 1);  /* records */
    /* the record, hand-built: length 16 (varint 32), attributes 0, timestamp delta 0,
     * offset delta 0, key length 4 (varint 8), key 0,0 | 0,0 (ABORT), value length
     * 6 (varint 12), value 0,0 | 01 02 03 04, no headers */
    static const uint8_t want[] = {32, 0, 0, 0, 8, 0, 0, 0, 0, 12, 0, 0, 1, 2, 3, 4, 0};
    assert_int_equal(b.len, 61 + sizeof want);
    assert_memory_equal(m + 61, want, sizeof want);
    assert_int_equal(store_cursor_next(&c, &b), 0);
    store_cursor_close(&c);
    /* A's data under its old epoch is now fenced; a COMMIT differs in the type only */
    assert_int_equal(put(p, B, true, 1, "b"), 3);
    assert_int_equal(store_partition_end_txn(p, B, 3, true, 0x01020304, &off), 0);
    store_cursor_open(&c, p, off, 0);
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.data[61 + 8], 1);
    store_cursor_close(&c);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Kafka's 34-byte .txnindex entry in the active segment's file. */
static void test_txn_index_file(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    int64_t ma, mb;
    scenario(p, &ma, &mb);
    char path[4096], *data;
    size_t len;
    tu_path(path, sizeof path, dir, "t-0/00000000000000000000.txnindex");
    assert_int_equal(file_read_all(path, 4096, &data, &len), 0);
    assert_int_equal(len, 34);
    struct reader r;
    reader_init(&r, data, len);
    assert_int_equal((int16_t)reader_be16(&r), 0); /* version */
    assert_int_equal((int64_t)reader_be64(&r), B); /* producerId */
    assert_int_equal((int64_t)reader_be64(&r), 3); /* firstOffset */
    assert_int_equal((int64_t)reader_be64(&r), 8); /* lastOffset: the marker */
    assert_int_equal((int64_t)reader_be64(&r), 9); /* lastStableOffset after it */
    free(data);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Clean restart, crash restart, and a torn, wrong or zero-filled .txnindex: the
 * same state. */
static void test_txn_restart_rebuilds_state(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    int64_t ma, mb;
    scenario(p, &ma, &mb);
    assert_int_equal(put(p, A, true, 2, "open"), 9); /* open across the restarts */
    store_topic_put(t);
    store_close(s);

    char path[4096];
    tu_path(path, sizeof path, dir, "t-0/00000000000000000000.txnindex");
    for (int round = 0; round < 6; round++) {
        if (round == 1) { /* a crash: past the snapshot everything is replayed */
            char snap[4096];
            tu_path(snap, sizeof snap, dir, "t-0/producer.snapshot");
            unlink(snap);
            tu_forget_clean_shutdown(dir);
        } else if (round == 2) { /* torn index */
            char *data;
            size_t len;
            assert_int_equal(file_read_all(path, 4096, &data, &len), 0);
            tu_write_file(path, data, 20);
            free(data);
        } else if (round == 3) { /* a wrong version */
            static const uint8_t bad[34] = {0, 9};
            tu_write_file(path, bad, sizeof bad);
        } else if (round == 4) { /* an append a power failure left as zeroes */
            char *data;
            size_t len;
            uint8_t both[68] = {0};
            assert_int_equal(file_read_all(path, 4096, &data, &len), 0);
            assert_int_equal(len, 34);
            memcpy(both, data, 34);
            tu_write_file(path, both, sizeof both);
            free(data);
        } else if (round == 5) { /* the same, the file's only entry */
            static const uint8_t zeroes[34];
            tu_write_file(path, zeroes, sizeof zeroes);
        }
        s = tu_store_open(dir, -1);
        p = part(s, "t", &t);
        assert_int_equal(store_partition_last_stable(p), 9);
        assert_int_equal(txn_first_of(p, A), 9);
        struct store_aborted_txn ab[16];
        assert_int_equal(aborted(p, 0, 11, ab), 1);
        assert_int_equal(ab[0].producer_id, B);
        assert_int_equal(ab[0].first_offset, 3);
        assert_int_equal(tu_file_size(path), 34); /* rewritten whole */
        store_topic_put(t);
        store_close(s);
    }
    s = tu_store_open(dir, -1);
    p = part(s, "t", &t);
    seqs[1] = 6; /* A's next sequence */
    end_txn(p, A, true);
    char vals[256];
    committed_values(p, vals, sizeof vals);
    assert_string_equal(vals, "a-0,a-1,a-2,plain-0,a2-0,open-0,open-1");
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* An entry whose LSO lies below its own first offset (an older transaction was
 * still open) is valid: after a clean restart the file is trusted as written, so an
 * entry only the file knows is still there. */
static void test_txn_index_trusted_after_clean_stop(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    memset(seqs, 0, sizeof seqs);
    assert_int_equal(put(p, B, true, 1, "b"), 0);
    assert_int_equal(put(p, A, true, 1, "a"), 1);
    assert_int_equal(end_txn(p, A, false), 2);
    assert_int_equal(end_txn(p, B, true), 3);
    store_topic_put(t);
    store_close(s);
    char path[4096], *data;
    size_t len;
    tu_path(path, sizeof path, dir, "t-0/00000000000000000000.txnindex");
    assert_int_equal(file_read_all(path, 4096, &data, &len), 0);
    assert_int_equal(len, 34);
    struct reader r;
    reader_init(&r, data, len);
    reader_be16(&r);
    reader_be64(&r);
    assert_int_equal((int64_t)reader_be64(&r), 1); /* first */
    assert_int_equal((int64_t)reader_be64(&r), 2); /* last */
    assert_int_equal((int64_t)reader_be64(&r), 0); /* LSO: B was open since 0 */
    uint8_t both[68];
    memcpy(both, data, 34);
    struct writer w;
    writer_init_fixed(&w, both + 34, 34);
    writer_be16(&w, 0);
    writer_be64(&w, 77);
    writer_be64(&w, 0);
    writer_be64(&w, 3);
    writer_be64(&w, 4);
    tu_write_file(path, both, sizeof both);
    free(data);
    s = tu_store_open(dir, -1);
    p = part(s, "t", &t);
    struct store_aborted_txn ab[16];
    assert_int_equal(aborted(p, 0, 4, ab), 2);
    assert_int_equal(ab[0].producer_id, A);
    assert_int_equal(ab[1].producer_id, 77);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* A power failure right after store_partition_end_txn() returns keeps the marker
 * and its index entry (both durable before it returns), with group commit and with
 * a flush interval (whose flusher would not have run yet). */
static void marker_durable_at_power_loss(int64_t flush_ms)
{
    char *dir = tu_mkdtemp();
    simdisk_reset(dir);
    simdisk_install();
    simdisk_arm(SIMDISK_NEVER);
    struct store *s = tu_store_open(dir, flush_ms);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    memset(seqs, 0, sizeof seqs);
    put(p, A, true, 2, "a");
    put(p, B, true, 1, "b");
    assert_int_equal(end_txn(p, B, false), 3);
    simdisk_kill();
    store_topic_put(t);
    store_abandon(s);
    simdisk_power_fail(NULL); /* nothing that was not synced survives */
    simdisk_arm(SIMDISK_NEVER);
    sysio = sysio_real;
    char path[4096];
    tu_path(path, sizeof path, dir, "t-0/00000000000000000000.txnindex");
    assert_int_equal(tu_file_size(path), 34); /* the entry itself, before any replay */
    s = tu_store_open(dir, -1);
    p = part(s, "t", &t);
    assert_int_equal(store_partition_high_watermark(p), 4);
    assert_int_equal(store_partition_last_stable(p), 0); /* A is still open */
    struct store_aborted_txn ab[16];
    assert_int_equal(aborted(p, 0, 4, ab), 1);
    assert_int_equal(ab[0].producer_id, B);
    assert_int_equal(ab[0].first_offset, 2);
    assert_int_equal(tu_file_size(path), 34);
    store_topic_put(t);
    store_close(s);
    simdisk_reset(NULL);
    tu_rmrf(dir);
    free(dir);
}

static void test_txn_marker_durable_at_power_loss(void **state)
{
    (void)state;
    marker_durable_at_power_loss(-1);
    marker_durable_at_power_loss(60000);
}

/* A checkpoint between an ABORT's append and its own sync (a flusher beside
 * store_partition_end_txn): the producer snapshot then covers the marker, so
 * recovery takes its entry from the file without replaying, and a power failure
 * must not find the snapshot durable and the entry not. */
static void test_txn_snapshot_waits_for_index(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    simdisk_reset(dir);
    simdisk_install();
    simdisk_arm(SIMDISK_NEVER);
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    memset(seqs, 0, sizeof seqs);
    put(p, A, true, 2, "a");
    struct writer w;
    struct store_append res;
    int64_t seg_base;
    writer_init(&w, 4096);
    assert_int_equal(txn_marker_build(A, 0, false, 7, clock_wall_ms(), &w), 0);
    /* the first half of store_partition_end_txn: the marker and its entry written */
    assert_int_equal(partition_append_marker(p, w.buf, w.len, false, &res, &seg_base), 0);
    writer_release(&w);
    assert_int_equal(res.base_offset, 2);
    assert_int_equal(store_partition_sync(p, 3), 0); /* the log's flush */
    assert_int_equal(store_checkpoints_write(s), 0); /* the snapshot covers 3 */
    simdisk_kill();
    store_topic_put(t);
    store_abandon(s);
    simdisk_power_fail(NULL);
    simdisk_arm(SIMDISK_NEVER);
    sysio = sysio_real;
    s = tu_store_open(dir, -1);
    p = part(s, "t", &t);
    assert_int_equal(store_partition_high_watermark(p), 3);
    struct store_aborted_txn ab[16];
    assert_int_equal(aborted(p, 0, 3, ab), 1);
    assert_int_equal(ab[0].producer_id, A);
    assert_int_equal(ab[0].first_offset, 0);
    char vals[256];
    committed_values(p, vals, sizeof vals);
    assert_string_equal(vals, "");
    store_topic_put(t);
    store_close(s);
    simdisk_reset(NULL);
    tu_rmrf(dir);
    free(dir);
}

/* DeleteRecords past an open transaction's first offset: the LSO never falls
 * below the log start; index entries below it go. */
static void test_txn_retention_past_open(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    int64_t ma, mb, low;
    scenario(p, &ma, &mb);
    assert_int_equal(put(p, A, true, 3, "x"), 9);
    put(p, C, false, 2, "plain");
    assert_int_equal(store_partition_last_stable(p), 9);
    assert_int_equal(store_partition_delete_records(p, 10, &low), 0);
    assert_int_equal(store_partition_last_stable(p), 10);
    struct store_aborted_txn ab[16];
    assert_int_equal(aborted(p, 0, 14, ab), 0); /* B's marker is below the log start */
    end_txn(p, A, false);
    assert_int_equal(store_partition_last_stable(p), 15);
    assert_int_equal(aborted(p, 10, 15, ab), 1);
    assert_int_equal(ab[0].first_offset, 9);
    char vals[256];
    committed_values(p, vals, sizeof vals);
    assert_string_equal(vals, "plain-0,plain-1");
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* The cleaner keeps every marker, removes aborted data, and an aborted record never
 * replaces the committed one of its key. */
static void test_txn_compaction(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "c", 1, "cleanup.policy=compact", "internal.segment.bytes=1024",
                    "delete.retention.ms=3600000", NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "c", &t);
    memset(seqs, 0, sizeof seqs);
    put(p, C, false, 1, "k");    /* 0: k = k-0, committed */
    put(p, A, true, 1, "k");     /* 1: k = k-0 of A, aborted below */
    put(p, B, true, 1, "k");     /* 2: B, committed below */
    end_txn(p, A, false);        /* 3 */
    end_txn(p, B, true);         /* 4 */
    put(p, A, true, 1, "open");  /* 5: open during the cleaning */
    for (int i = 0; i < 40; i++) /* fill segments so the above are closed */
        put(p, C, false, 1, "filler");
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    char before[4096];
    committed_values(p, before, sizeof before);
    assert_string_equal(before, "k-0,k-0"); /* A's open batch at 5 holds the rest */
    assert_int_equal(store_partition_compact(p), 1);
    /* B's k replaced the older k; A's aborted k replaced nothing */
    char after[4096];
    committed_values(p, after, sizeof after);
    assert_string_equal(after, "k-0");
    struct store_cursor c;
    struct store_batch b;
    int markers = 0, aborted_data = 0, open_data = 0;
    store_cursor_open(&c, p, 0, 0);
    while (store_cursor_next(&c, &b) == 1) {
        struct batch_header h;
        assert_int_equal(batch_header_parse(b.data, b.len, &h), 0);
        markers += (h.attributes & BATCH_ATTR_CONTROL) != 0;
        aborted_data += h.producer_id == A && b.base_offset == 1;
        open_data += b.base_offset == 5;
    }
    store_cursor_close(&c);
    assert_int_equal(markers, 2); /* A's ABORT has no data left, but is recent */
    assert_int_equal(aborted_data, 0);
    assert_int_equal(open_data, 1);

    /* past delete.retention.ms the marker of a transaction without data goes; the
     * COMMIT of B, whose record is still the newest of its key, stays */
    struct props *o = props_new();
    assert_int_equal(props_set(o, "cleanup.policy", "compact"), 0);
    assert_int_equal(props_set(o, "internal.segment.bytes", "1024"), 0);
    assert_int_equal(props_set(o, "delete.retention.ms", "0"), 0);
    assert_int_equal(store_topic_alter_config(s, "c", o, false, NULL), 0);
    props_free(o);
    for (int i = 0; i < 40; i++)
        put(p, C, false, 1, "filler2");
    assert_int_equal(store_partition_sync(p, store_partition_high_watermark(p)), 0);
    for (int64_t t0 = clock_wall_ms(); clock_wall_ms() <= t0;) /* the horizon passes them */
        ;
    assert_int_equal(store_partition_compact(p), 1);
    markers = 0;
    int commits = 0;
    store_cursor_open(&c, p, 0, 0);
    while (store_cursor_next(&c, &b) == 1) {
        struct batch_header h;
        assert_int_equal(batch_header_parse(b.data, b.len, &h), 0);
        if (h.attributes & BATCH_ATTR_CONTROL) {
            markers++;
            commits += h.producer_id == B && b.data[61 + 8] == 1;
        }
    }
    store_cursor_close(&c);
    assert_int_equal(markers, 1);
    assert_int_equal(commits, 1);
    committed_values(p, after, sizeof after);
    assert_string_equal(after, "k-0");
    assert_int_equal(store_partition_last_stable(p), 5);
    struct store_aborted_txn ab[16];
    assert_int_equal(aborted(p, 0, 6, ab), 1); /* the index entry survives the merge */
    assert_int_equal(ab[0].producer_id, A);
    store_topic_put(t);
    store_close(s);
    /* and after a restart from the merged segment's files */
    s = tu_store_open(dir, -1);
    p = part(s, "c", &t);
    assert_int_equal(aborted(p, 0, 6, ab), 1);
    assert_int_equal(store_partition_last_stable(p), 5);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* A read_committed Fetch's slice ends before the first undecided batch, found from
 * the offset index (many entries) as from the slice's start (none). */
static void test_txn_slice_limit(void **state)
{
    (void)state;
    for (int indexed = 0; indexed < 2; indexed++) {
        char *dir = tu_mkdtemp();
        struct store *s = tu_store_open(dir, -1);
        tu_topic_create(s, "t", 1, indexed ? "index.interval.bytes=100" : NULL, NULL);
        struct store_topic *t;
        struct store_partition *p = part(s, "t", &t);
        memset(seqs, 0, sizeof seqs);
        for (int i = 0; i < 50; i++)
            put(p, C, false, 2, "plain");
        struct store_partition_info info;
        store_partition_info(p, &info);
        int64_t open_at = put(p, A, true, 1, "a"); /* 100 */
        for (int i = 0; i < 20; i++)
            put(p, C, false, 1, "plain");
        assert_int_equal(store_partition_last_stable(p), open_at);
        for (int64_t from = 0; from < open_at; from += 7) {
            struct store_slice sl;
            assert_int_equal(store_partition_read(p, from, 1 << 20, &sl), 0);
            int64_t start = sl.pos;
            assert_int_equal(store_slice_limit(p, &sl, open_at), 0);
            assert_int_equal(sl.next_offset, open_at);
            assert_int_equal(sl.pos + sl.len, info.size_bytes);
            assert_int_equal(sl.pos, start);
            store_slice_release(&sl);
        }
        struct store_slice sl;
        assert_int_equal(store_partition_read(p, open_at, 1 << 20, &sl), 0);
        assert_int_equal(store_slice_limit(p, &sl, open_at), 0);
        assert_int_equal(sl.len, 0);
        assert_int_equal(sl.fd, -1);
        store_topic_put(t);
        store_close(s);
        tu_rmrf(dir);
        free(dir);
    }
}

/* ---- a reader beside the writer ---- */

#define CONC_TXNS 300

struct conc {
    struct store_partition *p;
    _Atomic bool done;
};

/* Transactions of A, committed ("c-*") or aborted ("x-*") in turn, with B's plain
 * records ("plain-*") between their batches. */
static void *conc_writer(void *arg)
{
    struct conc *x = arg;
    for (int i = 0; i < CONC_TXNS; i++) {
        bool commit = i % 3 != 1;
        put(x->p, A, true, 2, commit ? "c" : "x");
        put(x->p, B, false, 1, "plain");
        put(x->p, A, true, 1, commit ? "c" : "x");
        end_txn(x->p, A, commit);
    }
    atomic_store(&x->done, true);
    return NULL;
}

/* Count a batch's records; fail on an aborted one. */
static int conc_count(const struct store_batch *b)
{
    struct batch_iter it;
    struct record r;
    int n = 0;
    assert_int_equal(batch_iter_init(&it, b->data, b->len, &batch_limits_default, true), 0);
    while (batch_iter_next(&it, &r) == 1) {
        if (r.value_len > 0 && ((const char *)r.value)[0] == 'x')
            fail_msg("an aborted record at %lld under read_committed", (long long)r.offset);
        n++;
    }
    batch_iter_release(&it);
    return n;
}

static void test_txn_reader_beside_writer(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, "internal.segment.bytes=4096", NULL);
    struct store_topic *t;
    struct conc x = {.p = part(s, "t", &t)};
    memset(seqs, 0, sizeof seqs);
    pthread_t w;
    assert_int_equal(pthread_create(&w, NULL, conc_writer, &x), 0);
    struct store_cursor c;
    struct store_batch b;
    store_cursor_open(&c, x.p, 0, STORE_CURSOR_COMMITTED);
    int seen = 0, rc;
    int64_t lso = 0;
    for (bool last = false;;) {
        while ((rc = store_cursor_next(&c, &b)) == 1)
            seen += conc_count(&b);
        assert_int_equal(rc, 0);
        int64_t now = store_partition_last_stable(x.p);
        assert_true(now >= lso && now <= store_partition_high_watermark(x.p));
        lso = now;
        if (last)
            break;
        last = atomic_load(&x.done); /* one more pass after the writer is done */
    }
    assert_int_equal(pthread_join(w, NULL), 0);
    store_cursor_close(&c);
    int committed = 0;
    for (int i = 0; i < CONC_TXNS; i++)
        committed += i % 3 != 1 ? 3 : 0;
    assert_int_equal(seen, committed + CONC_TXNS);
    assert_int_equal(store_partition_last_stable(x.p), store_partition_high_watermark(x.p));
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- crashes at random points: recovery rebuilds what a replay of the log says ---- */

#define MAX_OPEN  64
#define MAX_ACKED 4096

struct txn_model {
    int64_t open_pid[MAX_OPEN], open_first[MAX_OPEN];
    int n_open;
    struct store_aborted_txn ab[MAX_ACKED];
    size_t n_ab;
};

static int model_open_find(const struct txn_model *m, int64_t pid)
{
    for (int i = 0; i < m->n_open; i++)
        if (m->open_pid[i] == pid)
            return i;
    return -1;
}

/* What the log itself says: walk every batch, open and close transactions. */
static void model_from_log(struct store_partition *p, struct txn_model *m)
{
    memset(m, 0, sizeof *m);
    struct store_cursor c;
    struct store_batch b;
    int rc;
    store_cursor_open(&c, p, 0, 0);
    while ((rc = store_cursor_next(&c, &b)) == 1) {
        struct batch_header h;
        assert_int_equal(batch_header_parse(b.data, b.len, &h), 0);
        if (!(h.attributes & BATCH_ATTR_TRANSACTIONAL))
            continue;
        int i = model_open_find(m, h.producer_id);
        if (!(h.attributes & BATCH_ATTR_CONTROL)) {
            if (i < 0) {
                assert_true(m->n_open < MAX_OPEN);
                m->open_pid[m->n_open] = h.producer_id;
                m->open_first[m->n_open++] = b.base_offset;
            }
            continue;
        }
        bool commit = b.data[61 + 8] == 1; /* the key's type (see test_txn_marker_bytes) */
        if (!commit) {
            assert_true(m->n_ab < MAX_ACKED);
            m->ab[m->n_ab++] = (struct store_aborted_txn){h.producer_id, i >= 0 ? m->open_first[i]
                                                                                : b.base_offset};
        }
        if (i >= 0) {
            m->open_pid[i] = m->open_pid[--m->n_open];
            m->open_first[i] = m->open_first[m->n_open];
        }
    }
    assert_int_equal(rc, 0);
    store_cursor_close(&c);
}

/* Fail with the seed (BROOK_TXN_CRASH_SEED=<seed> repeats that run alone) and what
 * the crashes of its run did. */
#define crash_fail(...)                                                                            \
    do {                                                                                           \
        sysio = sysio_real;                                                                        \
        fprintf(stderr, "--- what the crashes did:\n%s---\n", simdisk_report());                   \
        fail_msg(__VA_ARGS__);                                                                     \
    } while (0)

static void check_against_log(struct store_partition *p, uint64_t seed, int round)
{
    static struct txn_model m;
    static struct store_aborted_txn got[MAX_ACKED];
    model_from_log(p, &m);
    int64_t lso = store_partition_high_watermark(p);
    for (int i = 0; i < m.n_open; i++) {
        if (m.open_first[i] < lso)
            lso = m.open_first[i];
        if (txn_first_of(p, m.open_pid[i]) != m.open_first[i])
            crash_fail("seed %llu round %d: producer %lld open at %lld, store says %lld",
                       (unsigned long long)seed, round, (long long)m.open_pid[i],
                       (long long)m.open_first[i], (long long)txn_first_of(p, m.open_pid[i]));
    }
    if (store_partition_last_stable(p) != lso)
        crash_fail("seed %llu round %d: LSO %lld, the log says %lld", (unsigned long long)seed,
                   round, (long long)store_partition_last_stable(p), (long long)lso);
    size_t n = 0;
    assert_int_equal(store_partition_aborted_txns(p, 0, store_partition_high_watermark(p) + 1, got,
                                                  MAX_ACKED, &n),
                     0);
    if (n != m.n_ab)
        crash_fail("seed %llu round %d: %zu aborted transactions, the log says %zu",
                   (unsigned long long)seed, round, n, m.n_ab);
    for (size_t i = 0; i < n; i++)
        if (got[i].producer_id != m.ab[i].producer_id ||
            got[i].first_offset != m.ab[i].first_offset)
            crash_fail("seed %llu round %d: aborted #%zu is %lld@%lld, the log says %lld@%lld",
                       (unsigned long long)seed, round, i, (long long)got[i].producer_id,
                       (long long)got[i].first_offset, (long long)m.ab[i].producer_id,
                       (long long)m.ab[i].first_offset);
}

/* A marker store_partition_end_txn() acknowledged is in the log with its type. */
static void check_marker(struct store_partition *p, int64_t offset, bool commit, uint64_t seed)
{
    struct store_cursor c;
    struct store_batch b;
    store_cursor_open(&c, p, offset, 0);
    int rc = store_cursor_next(&c, &b);
    if (rc != 1 || b.base_offset != offset || !(b.data[21 + 1] & BATCH_ATTR_CONTROL) ||
        (b.data[61 + 8] == 1) != commit)
        crash_fail("seed %llu: the acknowledged marker at %lld is gone", (unsigned long long)seed,
                   (long long)offset);
    store_cursor_close(&c);
}

static int put_rc(struct store_partition *p, int64_t pid, int32_t seq, bool txn)
{
    struct batch_builder bb;
    struct writer w;
    batch_builder_init(&bb, CODEC_NONE, 4096);
    writer_init(&w, 8192);
    bb.producer_id = pid;
    bb.producer_epoch = 0;
    bb.base_sequence = seq;
    bb.attributes = txn ? BATCH_ATTR_TRANSACTIONAL : 0;
    batch_builder_add(&bb, clock_wall_ms(), "k", 1, "v", 1, NULL, 0);
    batch_builder_finish(&bb, -1, &w);
    struct store_append res;
    int rc = store_partition_append(p, w.buf, w.len, &res);
    batch_builder_release(&bb);
    writer_release(&w);
    return rc;
}

static void test_txn_crash_anywhere(void **state)
{
    (void)state;
    const char *env = getenv("BROOK_TXN_CRASH_SEEDS");
    int seeds = env ? atoi(env) : 12;
    static int64_t acked_off[MAX_ACKED];
    static bool acked_commit[MAX_ACKED];
    static struct txn_model m;
    const char *only = getenv("BROOK_TXN_CRASH_SEED"); /* repeat one reported run */
    for (int sd = 0; sd < (only ? 1 : seeds); sd++) {
        uint64_t seed = only ? strtoull(only, NULL, 10) : 0x7458 + (uint64_t)sd * 7919;
        simdisk_report_clear();
        struct tu_rng r;
        tu_rng_seed(&r, seed);
        simdisk_seed(seed);
        char *dir = tu_mkdtemp();
        simdisk_reset(dir);
        simdisk_install();
        simdisk_arm(SIMDISK_NEVER);
        struct store *s = tu_store_open(dir, tu_rng_below(&r, 2) ? -1 : 60000);
        tu_topic_create(s, "t", 1, "internal.segment.bytes=2048", NULL);
        store_close(s);
        int n_acked = 0;
        for (int round = 0; round < 8; round++) {
            simdisk_arm(SIMDISK_NEVER);
            s = tu_store_open(dir, tu_rng_below(&r, 2) ? -1 : 60000);
            struct store_topic *t;
            struct store_partition *p = part(s, "t", &t);
            check_against_log(p, seed, round);
            for (int i = 0; i < n_acked; i++)
                check_marker(p, acked_off[i], acked_commit[i], seed);
            model_from_log(p, &m);
            for (int i = 0; i < m.n_open; i++) { /* the coordinator aborts what was open */
                int64_t off;
                assert_int_equal(store_partition_end_txn(p, m.open_pid[i], 0, false, 0, &off), 0);
            }
            simdisk_arm(1 + (long)tu_rng_below(&r, 300));
            int32_t seq[3] = {0, 0, 0};
            for (int op = 0; op < 200 && !simdisk_dead(); op++) {
                int k = (int)tu_rng_below(&r, 3);
                int64_t pid = 100 + round * 10 + k; /* fresh ids: no sequence to resume */
                uint64_t what = tu_rng_below(&r, 8);
                int64_t off;
                int rc;
                if (what < 5) {
                    if ((rc = put_rc(p, pid, seq[k], what < 4)) == 0)
                        seq[k]++;
                } else {
                    bool commit = what == 5;
                    rc = store_partition_end_txn(p, pid, 0, commit, 0, &off);
                    if (rc == 0 && n_acked < MAX_ACKED) {
                        acked_off[n_acked] = off;
                        acked_commit[n_acked++] = commit;
                    }
                }
                if (rc && !simdisk_dead())
                    fail_msg("seed %llu: %s without a fault", (unsigned long long)seed,
                             store_strerror(rc));
                if (rc)
                    break;
            }
            simdisk_note("round %d: crash at %s\n", round,
                         simdisk_dead() ? simdisk_crash_op() : "the end");
            simdisk_kill();
            store_topic_put(t);
            store_abandon(s);
            if (tu_rng_below(&r, 3)) {
                simdisk_note("round %d: power failure\n", round);
                simdisk_power_fail(&r);
            }
            if (tu_rng_below(&r, 4) == 0) { /* and sometimes the index is torn as well */
                char path[4096];
                tu_path(path, sizeof path, dir, "t-0/00000000000000000000.txnindex");
                int64_t size = tu_file_size(path);
                int64_t cut = size - 1 - (int64_t)tu_rng_below(&r, 33);
                if (size > 0) {
                    simdisk_note("round %d: .txnindex cut from %lld to %lld\n", round,
                                 (long long)size, (long long)(cut > 0 ? cut : 0));
                    assert_int_equal(truncate(path, cut > 0 ? cut : 0), 0);
                }
            }
        }
        simdisk_arm(SIMDISK_NEVER);
        s = tu_store_open(dir, -1);
        struct store_topic *t;
        struct store_partition *p = part(s, "t", &t);
        check_against_log(p, seed, 99);
        for (int i = 0; i < n_acked; i++)
            check_marker(p, acked_off[i], acked_commit[i], seed);
        store_topic_put(t);
        store_close(s);
        sysio = sysio_real;
        simdisk_reset(NULL);
        tu_rmrf(dir);
        free(dir);
    }
}

/* The committed cursor pauses at an open transaction and resumes once it ends. */
static void test_txn_committed_cursor_pauses(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t;
    struct store_partition *p = part(s, "t", &t);
    memset(seqs, 0, sizeof seqs);
    put(p, C, false, 1, "p");
    put(p, A, true, 1, "a");
    put(p, C, false, 1, "q");
    struct store_cursor c;
    struct store_batch b;
    store_cursor_open(&c, p, 0, STORE_CURSOR_COMMITTED);
    assert_int_equal(store_cursor_next(&c, &b), 1);
    assert_int_equal(b.base_offset, 0);
    assert_int_equal(store_cursor_next(&c, &b), 0); /* A's batch is not decided */
    assert_int_equal(store_cursor_next(&c, &b), 0);
    end_txn(p, A, false);
    assert_int_equal(store_cursor_next(&c, &b), 1); /* A's skipped: aborted */
    assert_int_equal(b.base_offset, 2);
    assert_int_equal(store_cursor_next(&c, &b), 0); /* the marker is not shown */
    store_cursor_close(&c);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txn_commit_abort_and_lso),
        cmocka_unit_test(test_txn_marker_bytes),
        cmocka_unit_test(test_txn_index_file),
        cmocka_unit_test(test_txn_restart_rebuilds_state),
        cmocka_unit_test(test_txn_index_trusted_after_clean_stop),
        cmocka_unit_test(test_txn_marker_durable_at_power_loss),
        cmocka_unit_test(test_txn_snapshot_waits_for_index),
        cmocka_unit_test(test_txn_retention_past_open),
        cmocka_unit_test(test_txn_compaction),
        cmocka_unit_test(test_txn_committed_cursor_pauses),
        cmocka_unit_test(test_txn_slice_limit),
        cmocka_unit_test(test_txn_reader_beside_writer),
        cmocka_unit_test(test_txn_crash_anywhere),
    };
    return cmocka_run_group_tests_name("store transactions", tests, NULL, NULL);
}
