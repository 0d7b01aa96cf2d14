/*
 * test_store.c - store/: topics and their names, configuration, append and read
 * across restarts, the batches an append refuses, concurrent appends, group
 * commit, roll and retention, idempotent producers, listeners, segment files and
 * the data directory's lock.
 *
 * The rest of store/'s unit tests sit beside this file, one per concern:
 * test_store_recovery.c (opening after a crash), test_store_faults.c (injected I/O
 * errors), test_store_compact.c (the cleaner) and test_store_journal.c (the topic
 * journal); storeutil.h holds what they share. Every test works in its own mkdtemp
 * directory; "crashes" are store_abandon() (no flush, no clean-shutdown marker).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
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
#include "lib/fileio.h"
#include "lib/props.h"
#include "lib/sysio.h"
#include "proto/record.h"
#include "store/store.h"
#include "tests/unit/storeutil.h"
#include "tests/unit/testutil.h"

/* ---- names, topics, config ---- */

static void test_topic_names(void **state)
{
    assert_true(store_topic_name_valid("orders", 6));
    assert_true(store_topic_name_valid("a.b_c-D9", 8));
    assert_true(store_topic_name_valid("...", 3));
    assert_false(store_topic_name_valid(".", 1));
    assert_false(store_topic_name_valid("..", 2));
    assert_false(store_topic_name_valid("", 0));
    assert_false(store_topic_name_valid("a/b", 3));
    assert_false(store_topic_name_valid("a b", 3));
    assert_false(store_topic_name_valid("caf\xc3\xa9", 5));
    char long_name[251];
    memset(long_name, 'x', sizeof long_name);
    assert_true(store_topic_name_valid(long_name, 249));
    assert_false(store_topic_name_valid(long_name, 250));
}

static void test_topic_create_delete_collide(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    assert_int_equal(store_topic_create(s, "bad/name", 1, NULL, NULL), STORE_EINVALID_TOPIC);
    assert_int_equal(store_topic_create(s, "ok", 100001, NULL, NULL), STORE_EINVALID_PARTITIONS);
    tu_topic_create(s, "x", 4, NULL);
    assert_int_equal(store_topic_create(s, "x", 1, NULL, NULL), -EEXIST);
    assert_int_equal(store_topic_create(s, "x-3", 1, NULL, NULL), -EEXIST); /* x's dir */
    tu_topic_create(s, "x-4", 1, NULL);                                     /* x has no 4 */
    tu_topic_create(s, "y-1", 1, NULL);
    assert_int_equal(store_topic_create(s, "y", 2, NULL, NULL), -EEXIST); /* y-1 exists */
    tu_topic_create(s, "y", 1, NULL);
    assert_int_equal(store_topic_add_partitions(s, "y", 2), -EEXIST);
    assert_int_equal(store_topic_add_partitions(s, "y", 1), STORE_EINVALID_PARTITIONS);
    assert_int_equal(store_topic_add_partitions(s, "x", 6), -EEXIST); /* x-4 is a topic */
    assert_int_equal(store_topic_delete(s, "x-4"), 0);
    assert_int_equal(store_topic_add_partitions(s, "x", 6), 0);
    assert_int_equal(store_topic_create(s, "x-5", 1, NULL, NULL), -EEXIST);
    assert_int_equal(store_topic_create(s, "x-4", 1, NULL, NULL), -EEXIST);
    assert_int_equal(store_topic_create(s, "x-6", 1, NULL, NULL), 0);

    struct props *bad = props_new();
    props_set(bad, "retention.ms", "soon");
    const char *key = NULL;
    assert_int_equal(store_topic_create(s, "z", 1, bad, &key), STORE_EINVALID_CONFIG);
    assert_string_equal(key, "retention.ms");
    props_set(bad, "retention.ms", "1000");
    props_set(bad, "no.such.key", "1");
    assert_int_equal(store_topic_create(s, "z", 1, bad, &key), STORE_EINVALID_CONFIG);
    assert_string_equal(key, "no.such.key");
    props_free(bad);
    assert_null(store_topic_get(s, "z"));

    char **names = store_topic_names(s);
    assert_string_equal(names[0], "x");
    assert_string_equal(names[1], "x-6");
    assert_string_equal(names[2], "y");
    assert_string_equal(names[3], "y-1");
    assert_null(names[4]);
    free(names);

    /* a handle outlives deletion; the name can be reused at once */
    struct store_topic *t = store_topic_get(s, "x");
    tu_append(store_topic_partition(t, 0), 3, NULL, "old", 0, 1000);
    assert_int_equal(store_topic_delete(s, "x"), 0);
    assert_int_equal(store_topic_delete(s, "x"), -ENOENT);
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 0)), 3);
    store_topic_put(t);
    char path[4096];
    tu_path(path, sizeof path, dir, "x-0");
    assert_int_equal(access(path, F_OK), -1);
    tu_topic_create(s, "x", 1, NULL);
    t = store_topic_get(s, "x");
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 0)), 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_longest_topic_name(void **state)
{
    char *dir = tu_mkdtemp();
    char name[250];
    memset(name, 'n', 249); /* Kafka's limit: fits with every suffix brook adds */
    name[249] = 0;
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, name, 2, "retention.ms=1000", NULL);
    struct store_topic *t = store_topic_get(s, name);
    assert_non_null(t);
    tu_append(store_topic_partition(t, 1), 2, NULL, "v", 0, 1);
    store_topic_put(t);
    store_close(s);
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, name);
    assert_non_null(t);
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 1)), 2);
    store_topic_put(t);
    assert_int_equal(store_topic_delete(s, name), 0);
    store_close(s);
    s = tu_store_open(dir, -1);
    assert_null(store_topic_get(s, name));
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_topic_persistence_and_adoption(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "keep", 3, "retention.ms=12345", "cleanup.policy=compact", NULL);
    struct store_topic *t = store_topic_get(s, "keep");
    uint8_t id[16];
    memcpy(id, store_topic_id(t), 16);
    tu_append_kv(store_topic_partition(t, 2), "k", "v", 5);
    store_topic_put(t);
    store_close(s);

    /* a partition directory without metadata is adopted as a topic */
    char path[4096];
    tu_path(path, sizeof path, dir, "stray-1");
    assert_int_equal(dir_make(path), 0);

    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "keep");
    assert_non_null(t);
    assert_int_equal(store_topic_partition_count(t), 3);
    assert_memory_equal(store_topic_id(t), id, 16);
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    assert_int_equal(tc.retention_ms, 12345);
    assert_int_equal(tc.cleanup_policy, CLEANUP_COMPACT);
    struct props *ov = store_topic_overrides_copy(t);
    assert_string_equal(props_get(ov, "retention.ms"), "12345");
    props_free(ov);
    assert_int_equal(store_partition_high_watermark(store_topic_partition(t, 2)), 1);
    store_topic_put(t);
    t = store_topic_get(s, "stray");
    assert_non_null(t);
    assert_int_equal(store_topic_partition_count(t), 2);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Kafka's partition.metadata: written in every partition directory, read back when
 * directories are adopted (a Kafka log dir keeps its ids), rewritten when missing,
 * and a directory whose file names another topic is refused. */
static void test_partition_metadata(void **state)
{
    char *dir = tu_mkdtemp(), path[4096], *text;
    size_t len;
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "pm", 2, NULL);
    struct store_topic *t = store_topic_get(s, "pm");
    for (int32_t i = 0; i < 2; i++) /* a partition's directory is made at its first use */
        assert_non_null(store_topic_partition(t, i));
    store_topic_put(t);
    store_close(s);
    tu_path(path, sizeof path, dir, "pm-1/partition.metadata");
    assert_int_equal(file_read_all(path, 4096, &text, &len), 0);
    assert_int_equal(strncmp(text, "version: 0\ntopic_id: ", 21), 0);
    assert_int_equal(len, 21 + 22 + 1);
    free(text);

    /* a Kafka directory: the id Kafka's Uuid prints as AAECAwQFBgcICQoLDA0ODw */
    static const uint8_t kafka_id[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static const char kafka_meta[] = "version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODw\n";
    tu_path(path, sizeof path, dir, "kafka-0"); /* partition 0 without the file */
    assert_int_equal(dir_make(path), 0);
    tu_path(path, sizeof path, dir, "kafka-1");
    assert_int_equal(dir_make(path), 0);
    tu_path(path, sizeof path, dir, "kafka-1/partition.metadata");
    tu_write_file(path, kafka_meta, sizeof kafka_meta - 1);
    tu_path(path, sizeof path, dir, "pm-0/partition.metadata");
    assert_int_equal(unlink(path), 0); /* as an older brook left it */
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "kafka");
    assert_memory_equal(store_topic_id(t), kafka_id, 16);
    store_topic_put(t);
    t = store_topic_get(s, "pm"); /* opened lazily after a clean stop: open pm-0 now */
    assert_non_null(store_topic_partition(t, 0));
    store_topic_put(t);
    store_close(s);
    assert_int_equal(file_read_all(path, 4096, &text, &len), 0); /* written again */
    free(text);

    /* pm's partition 1 claimed by another topic's id: after a clean stop that
     * partition is refused when it opens; after a crash the store does not open */
    tu_path(path, sizeof path, dir, "pm-1/partition.metadata");
    tu_write_file(path, kafka_meta, sizeof kafka_meta - 1);
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "pm");
    assert_null(store_topic_partition(t, 1));
    assert_non_null(store_topic_partition(t, 0));
    store_topic_put(t);
    store_close(s);
    tu_path(path, sizeof path, dir, ".brook_cleanshutdown");
    assert_int_equal(unlink(path), 0);
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    s = NULL;
    assert_int_equal(store_open(&c, &s), STORE_ETOPIC_ID_MISMATCH);
    assert_null(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_config_from_props(void **state)
{
    struct props *p = props_new();
    struct store_config c;
    const char *bad = NULL;
    props_set(p, "log.dirs", "/var/lib/brook");
    props_set(p, "num.partitions", "3");
    props_set(p, "log.retention.hours", "2");
    props_set(p, "log.segment.bytes", "1048576");
    props_set(p, "log.cleanup.policy", "compact,delete");
    props_set(p, "log.flush.interval.ms", "1000");
    store_config_defaults(&c);
    assert_int_equal(store_config_from_props(&c, p, &bad), 0);
    assert_string_equal(c.dir, "/var/lib/brook");
    assert_int_equal(c.num_partitions, 3);
    assert_int_equal(c.topic.retention_ms, 2 * 3600 * 1000);
    assert_int_equal(c.topic.segment_bytes, 1048576);
    assert_int_equal(c.topic.cleanup_policy, CLEANUP_COMPACT | CLEANUP_DELETE);
    assert_int_equal(c.flush_interval_ms, 1000);
    props_set(p, "log.retention.ms", "500"); /* the finer key wins */
    assert_int_equal(store_config_from_props(&c, p, &bad), 0);
    assert_int_equal(c.topic.retention_ms, 500);
    props_set(p, "log.segment.bytes", "12");
    assert_int_equal(store_config_from_props(&c, p, &bad), STORE_EINVALID_CONFIG);
    assert_string_equal(bad, "log.segment.bytes");
    props_set(p, "log.segment.bytes", "1048576");
    props_set(p, "log.cleanup.policy", "shred");
    assert_int_equal(store_config_from_props(&c, p, &bad), STORE_EINVALID_CONFIG);
    assert_string_equal(bad, "log.cleanup.policy");
    props_free(p);
}

/* ---- append, read, restart ---- */

static void test_append_read_restart(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 2, "internal.segment.bytes=4096", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(tu_append(p, 5, "k", "v", i * 5, 1000 + i), i * 5);
    assert_int_equal(store_partition_high_watermark(p), 500);
    assert_int_equal(store_partition_sync(p, 500), 0);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_true(info.segments > 1);
    assert_int_equal(info.durable_offset, 500);
    static struct tu_rec recs[600];
    assert_int_equal(tu_read_all(p, 0, recs, 600), 500);
    for (int i = 0; i < 500; i++) {
        char v[32];
        snprintf(v, sizeof v, "v-%d", i);
        assert_int_equal(recs[i].offset, i);
        assert_string_equal(recs[i].value, v);
    }
    /* reads from the middle of a batch start at that batch */
    struct store_slice sl;
    assert_int_equal(store_partition_read(p, 203, 1, &sl), 0);
    assert_int_equal(sl.first_offset, 200);
    assert_int_equal(sl.next_offset, 205);
    store_slice_release(&sl);
    assert_int_equal(store_partition_read(p, 501, 100, &sl), -ERANGE);
    assert_int_equal(store_partition_read(p, 500, 100, &sl), 0);
    assert_int_equal(sl.len, 0);
    store_topic_put(t);
    store_close(s);

    for (int crash = 0; crash < 2; crash++) {
        if (crash)
            tu_forget_clean_shutdown(dir);
        s = tu_store_open(dir, -1);
        t = store_topic_get(s, "t");
        p = store_topic_partition(t, 1);
        assert_int_equal(store_partition_high_watermark(p), 500 + crash);
        assert_int_equal(tu_read_all(p, 0, recs, 600), 500 + crash);
        assert_string_equal(recs[499].value, "v-499");
        assert_int_equal(tu_append(p, 1, NULL, "more", 500, 5000), 500 + crash);
        store_topic_put(t);
        if (crash)
            store_abandon(s);
        else
            store_close(s);
    }
    tu_rmrf(dir);
    free(dir);
}

static void test_append_rejects_bad_batches(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, "max.message.bytes=1000", NULL);
    tu_topic_create(s, "c", 1, "cleanup.policy=compact", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct writer w;
    writer_init(&w, 1 << 20);
    tu_batch(&w, 3, "k", "v", 0, 1);
    struct store_append res;
    for (size_t i = BATCH_OFF_CRC * 8; i < w.len * 8; i += 5) {
        w.buf[i / 8] ^= (uint8_t)(1 << (i % 8));
        int rc = store_partition_append(p, w.buf, w.len, &res);
        assert_true(rc == -EBADMSG || rc == -ENOTSUP);
        w.buf[i / 8] ^= (uint8_t)(1 << (i % 8));
    }
    assert_int_equal(store_partition_append(p, w.buf, w.len - 1, &res), -EBADMSG);
    writer_reset(&w);
    tu_batch(&w, 20, "k", "a-long-enough-value-to-exceed-the-limit", 0, 1);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), -EMSGSIZE);
    assert_int_equal(store_partition_high_watermark(p), 0);
    store_topic_put(t);
    /* compacted topics need keys */
    t = store_topic_get(s, "c");
    writer_reset(&w);
    tu_batch(&w, 1, NULL, "v", 0, 1);
    assert_int_equal(store_partition_append(store_topic_partition(t, 0), w.buf, w.len, &res),
                     STORE_EINVALID_RECORD);
    store_topic_put(t);
    writer_release(&w);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Kafka's rules for producers' batches: one record per offset of the range, at least
 * one record, a sequence with a producer id. Each breach is refused whole. */
static void test_append_refuses_what_kafka_refuses(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_append res;
    struct writer w;
    writer_init(&w, 1 << 20);
    struct batch_builder b;

    /* records at deltas 0 and 1000: valid as a compacted batch, not from a producer */
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    assert_int_equal(batch_builder_add_at(&b, 0, 1, "k", 1, "a", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_add_at(&b, 1000, 1, "k", 1, "b", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    assert_int_equal(batch_validate(w.buf, w.len, NULL, true, NULL, NULL), 0);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), STORE_EINVALID_RECORD);
    batch_builder_release(&b);

    /* a batch with no records */
    writer_reset(&w);
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), STORE_EINVALID_RECORD);
    batch_builder_release(&b);

    /* a producer id without a sequence */
    writer_reset(&w);
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    b.producer_id = 7;
    b.producer_epoch = 0;
    assert_int_equal(batch_builder_add(&b, 1, "k", 1, "v", 1, NULL, 0), 0);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), STORE_EINVALID_RECORD);
    batch_builder_release(&b);

    assert_int_equal(store_partition_high_watermark(p), 0);
    /* and the partition still takes a proper batch */
    writer_reset(&w);
    tu_batch(&w, 3, "k", "v", 0, 1);
    assert_int_equal(store_partition_append(p, w.buf, w.len, &res), 0);
    assert_int_equal(store_partition_high_watermark(p), 3);
    store_topic_put(t);
    writer_release(&w);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- concurrency and group commit ---- */

struct appender {
    struct store_partition *p;
    int id;
};

static void *append_thread(void *arg)
{
    struct appender *a = arg;
    char vals[16];
    snprintf(vals, sizeof vals, "t%d", a->id);
    for (int i = 0; i < 250; i++)
        tu_append(a->p, 4, NULL, vals, i * 4, 1);
    return NULL;
}

static void test_concurrent_appends_keep_order(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, "internal.segment.bytes=65536", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    pthread_t th[4];
    struct appender a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct appender){p, i};
        pthread_create(&th[i], NULL, append_thread, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(store_partition_high_watermark(p), 4000);
    static struct tu_rec recs[4000];
    assert_int_equal(tu_read_all(p, 0, recs, 4000), 4000);
    int next[4] = {0};
    for (int i = 0; i < 4000; i++) {
        int who, seq;
        assert_int_equal(recs[i].offset, i);
        assert_int_equal(sscanf(recs[i].value, "t%d-%d", &who, &seq), 2);
        assert_int_equal(seq, next[who]); /* each writer's records in its order */
        next[who]++;
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(next[i], 1000);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* A gate on fdatasync: the flusher blocks inside its first call until opened. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static int gate_waiting, log_syncs, done_count, done_rc;

static int gated_fdatasync(int fd)
{
    pthread_mutex_lock(&gate_mu);
    if (tu_fd_is(fd, ".log")) {
        log_syncs++;
        gate_waiting++;
        pthread_cond_broadcast(&gate_cond);
        while (gate_closed)
            pthread_cond_wait(&gate_cond, &gate_mu);
        gate_waiting--;
    }
    pthread_mutex_unlock(&gate_mu);
    return sysio_real.fdatasync(fd);
}

static void on_durable(void *arg, int rc)
{
    pthread_mutex_lock(&gate_mu);
    done_count++;
    if (rc)
        done_rc = rc;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_mu);
}

static void test_group_commit(void **state)
{
    char *dir = tu_mkdtemp();
    /* the sysio table is changed only while no store thread runs */
    gate_closed = false;
    sysio.fdatasync = gated_fdatasync;
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    pthread_mutex_lock(&gate_mu);
    gate_closed = true;
    log_syncs = gate_waiting = done_count = done_rc = 0;
    pthread_mutex_unlock(&gate_mu);

    tu_append(p, 1, NULL, "first", 0, 1);
    assert_int_equal(store_partition_when_durable(p, 1, on_durable, NULL), 0);
    pthread_mutex_lock(&gate_mu);
    while (gate_waiting == 0) /* the flusher is inside fdatasync for round 1 */
        pthread_cond_wait(&gate_cond, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    for (int i = 1; i < 10; i++) {
        tu_append(p, 1, NULL, "more", i, 1);
        assert_int_equal(store_partition_when_durable(p, i + 1, on_durable, NULL), 0);
    }
    pthread_mutex_lock(&gate_mu);
    assert_int_equal(done_count, 0); /* nothing is acknowledged before its flush */
    gate_closed = false;
    pthread_cond_broadcast(&gate_cond);
    while (done_count < 10)
        pthread_cond_wait(&gate_cond, &gate_mu);
    assert_int_equal(log_syncs, 2); /* round 1, then one flush for the nine others */
    assert_int_equal(done_rc, 0);
    pthread_mutex_unlock(&gate_mu);
    assert_int_equal(store_partition_when_durable(p, 10, on_durable, NULL), 1);

    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_int_equal(info.durable_offset, 10);
    store_topic_put(t);
    store_close(s);
    sysio.fdatasync = sysio_real.fdatasync;
    tu_rmrf(dir);
    free(dir);
}

static void test_lazy_flush_mode(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, 50);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    tu_append(p, 2, NULL, "v", 0, 1);
    /* counts as durable at once: the loss window is log.flush.interval.ms */
    assert_int_equal(store_partition_when_durable(p, 2, on_durable, NULL), 1);
    assert_int_equal(store_partition_sync(p, 2), 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- roll and retention ---- */

static void test_roll_by_size_and_age(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, "internal.segment.bytes=1024", NULL);
    tu_topic_create(s, "age", 1, "segment.ms=1", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 20; i++)
        tu_append(p, 3, "k", "0123456789012345678901234567890123456789", i * 3, 1);
    struct store_partition_info info;
    store_partition_info(p, &info);
    int batch = (int)(info.size_bytes / 20);
    int per_seg = 1024 / batch;
    assert_int_equal(info.segments, (20 + per_seg - 1) / per_seg);
    char path[4096];
    for (int k = 0; k < info.segments; k++) {
        char name[64];
        snprintf(name, sizeof name, "t-0/%020d.log", k * per_seg * 3);
        tu_path(path, sizeof path, dir, name);
        int64_t sz = tu_file_size(path);
        assert_true(sz > 0 && sz <= 1024);
    }
    store_topic_put(t);

    t = store_topic_get(s, "age");
    p = store_topic_partition(t, 0);
    tu_append(p, 1, NULL, "a", 0, 1);
    int64_t start = clock_wall_ms();
    while (clock_wall_ms() < start + 3) /* let segment.ms pass */
        ;
    tu_append(p, 1, NULL, "b", 1, 1);
    store_partition_info(p, &info);
    assert_int_equal(info.segments, 2);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_retention_by_size_and_time(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "size", 1, "internal.segment.bytes=1024", "retention.bytes=2048", NULL);
    tu_topic_create(s, "time", 1, "internal.segment.bytes=1024", "retention.ms=60000", NULL);
    tu_topic_create(s, "all", 1, "retention.ms=1000", NULL);
    struct store_topic *t = store_topic_get(s, "size");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 30; i++)
        tu_append(p, 3, "k", "0123456789012345678901234567890123456789", i * 3, clock_wall_ms());
    assert_true(store_run_retention(s) > 0);
    struct store_partition_info info;
    store_partition_info(p, &info);
    assert_true(info.size_bytes >= 2048 - 1024);
    assert_true(info.size_bytes < 2048 + 1024);
    assert_true(info.log_start_offset > 0);
    struct store_slice sl;
    assert_int_equal(store_partition_read(p, 0, 100, &sl), -ERANGE);
    static struct tu_rec recs[128];
    int n = tu_read_all(p, info.log_start_offset, recs, 128);
    assert_int_equal(n, 90 - info.log_start_offset);
    assert_int_equal(recs[n - 1].offset, 89);
    store_topic_put(t);

    t = store_topic_get(s, "time");
    p = store_topic_partition(t, 0);
    int64_t now = clock_wall_ms();
    for (int i = 0; i < 15; i++) /* old records first, then recent ones */
        tu_append(p, 3, "k", "0123456789012345678901234567890123456789", i * 3,
                  i < 12 ? now - 3600000 : now);
    store_partition_info(p, &info);
    int before = info.segments;
    store_run_retention(s);
    store_partition_info(p, &info);
    assert_true(info.segments < before);
    n = tu_read_all(p, info.log_start_offset, recs, 128);
    int recent = 0;
    for (int i = 0; i < n; i++)
        recent += recs[i].ts == now;
    assert_int_equal(recent, 9);  /* nothing recent was deleted */
    assert_true(n - recent < 12); /* only old records sharing a segment with recent ones */
    store_topic_put(t);

    /* when everything has expired, the active segment is rolled and deleted too */
    t = store_topic_get(s, "all");
    p = store_topic_partition(t, 0);
    tu_append(p, 3, NULL, "old", 0, now - 3600000);
    store_run_retention(s);
    store_partition_info(p, &info);
    assert_int_equal(info.log_start_offset, 3);
    assert_int_equal(info.high_watermark, 3);
    assert_int_equal(store_partition_read(p, 3, 100, &sl), 0);
    assert_int_equal(sl.len, 0);
    assert_int_equal(tu_append(p, 1, NULL, "new", 0, now), 3);
    store_topic_put(t);
    store_close(s);

    s = tu_store_open(dir, -1); /* the log start survives a restart */
    t = store_topic_get(s, "all");
    assert_int_equal(store_partition_log_start(store_topic_partition(t, 0)), 3);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_offset_for_time_and_delete_records(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, "internal.segment.bytes=1024", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 40; i++)
        tu_append(p, 2, NULL, "v", i * 2, 1000 * (i + 1));
    int64_t off, ts;
    assert_int_equal(store_partition_offset_for_time(p, 0, &off, &ts), 0);
    assert_int_equal(off, 0);
    assert_int_equal(ts, 1000);
    assert_int_equal(store_partition_offset_for_time(p, 15500, &off, &ts), 0);
    assert_int_equal(off, 30); /* batch 15 has timestamp 16000 */
    assert_int_equal(ts, 16000);
    assert_int_equal(store_partition_offset_for_time(p, 40000, &off, &ts), 0);
    assert_int_equal(off, 78);
    assert_int_equal(store_partition_offset_for_time(p, 40001, &off, &ts), -ENOENT);

    int64_t low;
    assert_int_equal(store_partition_delete_records(p, 81, &low), -ERANGE);
    assert_true(store_partition_delete_records(p, 33, &low) >= 0);
    assert_int_equal(low, 33);
    assert_int_equal(store_partition_log_start(p), 33);
    struct store_slice sl;
    assert_int_equal(store_partition_read(p, 32, 100, &sl), -ERANGE);
    assert_int_equal(store_partition_offset_for_time(p, 0, &off, &ts), 0);
    assert_true(off >= 33);
    store_topic_put(t);
    store_close(s);
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "t");
    assert_int_equal(store_partition_log_start(store_topic_partition(t, 0)), 33);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- idempotent producers ---- */

static int append_idem(struct store_partition *p, int64_t pid, int16_t epoch, int32_t seq, int n,
                       struct store_append *res)
{
    struct batch_builder b;
    struct writer w;
    batch_builder_init(&b, CODEC_NONE, 1 << 20);
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = seq;
    for (int i = 0; i < n; i++)
        batch_builder_add(&b, 1, NULL, -1, "x", 1, NULL, 0);
    writer_init(&w, 1 << 20);
    assert_int_equal(batch_builder_finish(&b, -1, &w), 0);
    int rc = store_partition_append(p, w.buf, w.len, res);
    batch_builder_release(&b);
    writer_release(&w);
    return rc;
}

static void test_idempotent_producer(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_append res;
    assert_int_equal(append_idem(p, 1000, 0, 0, 3, &res), 0);
    assert_int_equal(append_idem(p, 1000, 0, 3, 2, &res), 0);
    assert_int_equal(res.base_offset, 3);
    assert_int_equal(append_idem(p, 1000, 0, 0, 3, &res), STORE_EDUPLICATE_SEQ);
    assert_int_equal(res.base_offset, 0);
    assert_int_equal(res.last_offset, 2);
    assert_int_equal(append_idem(p, 1000, 0, 9, 1, &res), STORE_EOUT_OF_ORDER_SEQ);
    assert_int_equal(append_idem(p, 1000, 1, 5, 1, &res), STORE_EOUT_OF_ORDER_SEQ);
    assert_int_equal(append_idem(p, 1000, 1, 0, 1, &res), 0); /* new epoch starts at 0 */
    assert_int_equal(append_idem(p, 1000, 0, 5, 1, &res), STORE_EPRODUCER_FENCED);
    assert_int_equal(append_idem(p, 2000, 0, 0, 1, &res), 0);
    assert_int_equal(store_partition_high_watermark(p), 7);
    store_topic_put(t);
    store_abandon(s); /* state comes back from the log itself */

    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    assert_int_equal(append_idem(p, 1000, 1, 0, 1, &res), STORE_EDUPLICATE_SEQ);
    assert_int_equal(res.base_offset, 5);
    assert_int_equal(append_idem(p, 1000, 1, 1, 1, &res), 0);
    store_topic_put(t);
    store_close(s); /* and from the snapshot after a clean shutdown */
    s = tu_store_open(dir, -1);
    t = store_topic_get(s, "t");
    p = store_topic_partition(t, 0);
    assert_int_equal(append_idem(p, 1000, 1, 1, 1, &res), STORE_EDUPLICATE_SEQ);
    assert_int_equal(append_idem(p, 2000, 0, 1, 1, &res), 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* The producers a partition keeps state for, as DescribeProducers lists them: the
 * newest epoch and the newest batch of each, also after a restart. */
static void test_producers_listed(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 2, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_producer_info info[4];
    struct store_append res;
    assert_int_equal(store_partition_producers(p, info, 4), 0);
    assert_int_equal(append_idem(p, 1000, 0, 0, 3, &res), 0);
    assert_int_equal(append_idem(p, 2000, 2, 0, 1, &res), 0);
    assert_int_equal(append_idem(p, 1000, 0, 3, 2, &res), 0);
    assert_int_equal(store_partition_producers(p, info, 1), 2); /* the count beyond max */
    assert_int_equal(store_partition_producers(p, info, 4), 2);
    for (int k = 0; k < 2; k++) { /* before and after a restart */
        struct store_producer_info *a = info[0].producer_id == 1000 ? &info[0] : &info[1];
        struct store_producer_info *b = a == &info[0] ? &info[1] : &info[0];
        assert_int_equal(a->producer_id, 1000);
        assert_int_equal(a->producer_epoch, 0);
        assert_int_equal(a->last_sequence, 4);
        assert_int_equal(a->last_offset, 5);
        assert_int_equal(b->producer_id, 2000);
        assert_int_equal(b->producer_epoch, 2);
        assert_int_equal(b->last_sequence, 0);
        assert_int_equal(b->last_offset, 3);
        store_topic_put(t);
        store_close(s);
        s = tu_store_open(dir, -1);
        t = store_topic_get(s, "t");
        p = store_topic_partition(t, 0);
        assert_int_equal(store_partition_producers(p, info, 4), 2);
    }
    assert_int_equal(store_partition_producers(store_topic_partition(t, 1), info, 4), 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Checkpoints (and producer snapshots with them) written from two threads at once
 * - the maintenance thread and DeleteRecords, or the cleaner - all succeed: the
 * writers share temporary file names, so they take turns. */
static void *checkpoint_thread(void *arg)
{
    struct store_partition *p = arg;
    intptr_t failures = 0;
    for (int i = 0; i < 150; i++) {
        int64_t low;
        failures += store_partition_delete_records(p, 0, &low) != 0;
    }
    return (void *)failures;
}

static void test_concurrent_checkpoints(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    struct store_append res;
    assert_int_equal(append_idem(p, 1000, 0, 0, 3, &res), 0); /* a snapshot to write */
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, checkpoint_thread, p), 0);
    intptr_t failures = 0;
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(th[i], &r);
        failures += (intptr_t)r;
    }
    assert_int_equal(failures, 0);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* ---- listeners ---- */

static int heard;
static int64_t heard_hw;

static void on_append(void *arg, struct store_partition *p, int64_t hw)
{
    heard++;
    heard_hw = hw;
}

static void test_listeners(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    heard = 0;
    assert_int_equal(store_listen(s, on_append, NULL), 0);
    tu_append(store_topic_partition(t, 0), 4, NULL, "v", 0, 1);
    assert_int_equal(heard, 1);
    assert_int_equal(heard_hw, 4);
    store_unlisten(s, on_append, NULL);
    tu_append(store_topic_partition(t, 0), 1, NULL, "v", 0, 1);
    assert_int_equal(heard, 1);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_segment_files(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, "internal.segment.bytes=1024", "index.interval.bytes=100", NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct store_partition *p = store_topic_partition(t, 0);
    for (int i = 0; i < 12; i++)
        tu_append(p, 3, "k", "0123456789012345678901234567890123456789", i * 3, 1000 + i);
    struct store_segment_info *segs;
    size_t n;
    assert_int_equal(store_partition_segments(p, &segs, &n), 0);
    assert_true(n >= 3);
    assert_int_equal(segs[0].base, 0);
    assert_int_equal(segs[1].base, segs[0].next_offset);
    /* the .log of a closed segment reads as the file on disk */
    char path[4096], *disk;
    size_t len;
    tu_path(path, sizeof path, dir, "t-0/00000000000000000000.log");
    assert_int_equal(file_read_all(path, 1 << 20, &disk, &len), 0);
    assert_int_equal((int64_t)len, segs[0].size[0]);
    char buf[2048];
    assert_int_equal(store_partition_segment_pread(p, 0, STORE_FILE_LOG, buf, sizeof buf, 0),
                     (ssize_t)len);
    assert_memory_equal(buf, disk, len);
    assert_int_equal(store_partition_segment_pread(p, 0, STORE_FILE_LOG, buf, 10, 5), 10);
    assert_memory_equal(buf, disk + 5, 10);
    free(disk);
    /* the rolled segment's index matches its file; the active one's is in memory */
    tu_path(path, sizeof path, dir, "t-0/00000000000000000000.index");
    assert_int_equal(file_read_all(path, 1 << 20, &disk, &len), 0);
    assert_true(len > 8);
    assert_int_equal((int64_t)len, segs[0].size[1]);
    assert_int_equal(store_partition_segment_pread(p, 0, STORE_FILE_INDEX, buf, 3, 5), 3);
    assert_memory_equal(buf, disk + 5, 3);
    free(disk);
    int64_t last = segs[n - 1].base;
    assert_true(segs[n - 1].size[1] >= 8);
    assert_int_equal(store_partition_segment_pread(p, last, STORE_FILE_INDEX, buf, 8, 0), 8);
    assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8); /* first entry: rel 0, pos 0 */
    assert_int_equal(store_partition_segment_pread(p, last, STORE_FILE_TIMEINDEX, buf, 12, 0), 12);
    assert_int_equal(store_partition_segment_pread(p, 7, STORE_FILE_LOG, buf, 1, 0), -ENOENT);
    free(segs);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_dir_locked(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    struct store_config c;
    store_config_defaults(&c);
    c.dir = dir;
    struct store *other = NULL;
    assert_int_equal(store_open(&c, &other), -EBUSY);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

/* Whether dir holds an entry whose name ends in suffix. */
static bool dir_has_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool found = false;
    struct dirent *e;
    size_t n = strlen(suffix);
    while ((e = readdir(d)) && !found) {
        size_t len = strlen(e->d_name);
        found = len >= n && !strcmp(e->d_name + len - n, suffix);
    }
    closedir(d);
    return found;
}

/* Many topics at once (CreateTopics): each gets the answer store_topic_create()
 * would give, also against the batch's own earlier names; what is created is
 * served, and is all there after a crash; what is refused leaves nothing behind. */
static void test_topics_create_batch(void **state)
{
    char *dir = tu_mkdtemp(), path[4096];
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "old", 1, NULL);
    struct props *bad = props_new(), *good = props_new();
    props_set(bad, "retention.ms", "soon");
    props_set(good, "retention.ms", "60000");
    struct store_topic_new v[] = {
        {"b1", 3, NULL, NULL, 1},       {"b2", 0, good, NULL, 1},  {"b1", 1, NULL, NULL, 1},
        {"b1-2", 1, NULL, NULL, 1},     {"x-0", 1, NULL, NULL, 1}, {"x", 2, NULL, NULL, 1},
        {"bad name", 1, NULL, NULL, 1}, {"cfg", 1, bad, NULL, 1},  {"big", 100001, NULL, NULL, 1},
        {"old", 1, NULL, NULL, 1},
    };
    const int want[] = {0,
                        0,
                        -EEXIST,
                        -EEXIST,
                        0,
                        -EEXIST,
                        STORE_EINVALID_TOPIC,
                        STORE_EINVALID_CONFIG,
                        STORE_EINVALID_PARTITIONS,
                        -EEXIST};
    size_t n = sizeof v / sizeof *v;
    assert_int_equal(store_topics_create(s, v, n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i].rc, want[i]);
    assert_string_equal(v[7].bad_key, "retention.ms");
    props_free(bad);
    props_free(good);

    struct store_topic *t = store_topic_get(s, "b1");
    assert_int_equal(store_topic_partition_count(t), 3);
    int64_t base = tu_append(store_topic_partition(t, 2), 2, "k", "batch", 0, 1000);
    assert_int_equal(store_partition_sync(store_topic_partition(t, 2), base + 2), 0);
    store_topic_put(t);
    t = store_topic_get(s, "b2");
    struct topic_config tc;
    store_topic_config_get(t, &tc);
    assert_int_equal(store_topic_partition_count(t), store_get_config(s)->num_partitions);
    assert_int_equal(tc.retention_ms, 60000);
    store_topic_put(t);
    store_abandon(s); /* a crash: everything answered 0 must be back */

    s = tu_store_open(dir, -1);
    char **names = store_topic_names(s);
    const char *expect[] = {"b1", "b2", "old", "x-0", NULL};
    for (int i = 0; expect[i] || names[i]; i++) {
        assert_non_null(names[i]);
        assert_non_null(expect[i]);
        assert_string_equal(names[i], expect[i]);
    }
    free(names); /* one allocation */
    t = store_topic_get(s, "b1");
    struct tu_rec recs[4];
    assert_int_equal(tu_read_all(store_topic_partition(t, 2), 0, recs, 4), 2);
    store_topic_put(t);
    store_close(s);
    tu_path(path, sizeof path, dir, "cfg-0");
    assert_int_not_equal(access(path, F_OK), 0);
    tu_path(path, sizeof path, dir, "x-1");
    assert_int_not_equal(access(path, F_OK), 0);
    tu_path(path, sizeof path, dir, ".topics");
    assert_false(dir_has_suffix(path, ".tmp"));
    tu_rmrf(dir);
    free(dir);
}

static bool exists(const char *dir, const char *rest)
{
    char path[4096];
    tu_path(path, sizeof path, dir, rest);
    return access(path, F_OK) == 0;
}

/* A topic is one metadata file when created; a partition's directory and segment,
 * and the topic's journal, come with their first use. Until then the partition
 * reads as empty, a clean restart and a crash keep the topic, and deleting it works. */
static void test_topic_files_at_first_use(void **state)
{
    char *dir = tu_mkdtemp();
    struct store *s = tu_store_open(dir, -1);
    struct store_topic_new v[] = {{"f1", 2, NULL, NULL, 1}, {"f2", 1, NULL, NULL, 1}};
    assert_int_equal(store_topics_create(s, v, 2), 0);
    assert_int_equal(v[0].rc, 0);
    assert_int_equal(v[1].rc, 0);
    tu_topic_create(s, "f3", 1, NULL);
    assert_false(exists(dir, "f1-0"));
    assert_false(exists(dir, "f1-1"));
    assert_false(exists(dir, "f3-0"));
    struct store_topic *t = store_topic_get(s, "f1");
    struct store_partition_info info; /* figures, for listings: no files made */
    store_partition_info(store_topic_partition_figures(t, 1), &info);
    assert_int_equal(info.high_watermark, 0);
    assert_int_equal(info.size_bytes, 0);
    assert_false(exists(dir, "f1-1"));
    struct store_journal_entry je[2];
    int64_t total, first;
    assert_int_equal(store_journal_read(t, 0, je, 2, &total, &first), 0);
    assert_int_equal(total, 0);
    struct tu_rec recs[4];
    assert_int_equal(tu_read_all(store_topic_partition(t, 0), 0, recs, 4), 0); /* empty */
    assert_true(exists(dir, "f1-0/00000000000000000000.log"));
    assert_false(exists(dir, "f1-1"));
    int64_t base = tu_append(store_topic_partition(t, 1), 2, "k", "v", 0, 1000);
    assert_int_equal(store_partition_sync(store_topic_partition(t, 1), base + 2), 0);
    assert_int_equal(store_journal_read(t, 0, je, 2, &total, &first), 1);
    assert_int_equal(je[0].partition, 1);
    store_topic_put(t);
    store_close(s);

    s = tu_store_open(dir, -1); /* clean: f2 and f3 still have no directory */
    assert_int_equal(store_topic_delete(s, "f3"), 0);
    store_abandon(s); /* a crash */
    tu_forget_clean_shutdown(dir);
    s = tu_store_open(dir, -1);
    assert_null(store_topic_get(s, "f3"));
    t = store_topic_get(s, "f2");
    assert_non_null(t);
    base = tu_append(store_topic_partition(t, 0), 1, "k", "w", 0, 1000);
    assert_int_equal(base, 0);
    store_topic_put(t);
    t = store_topic_get(s, "f1");
    assert_int_equal(tu_read_all(store_topic_partition(t, 1), 0, recs, 4), 2);
    assert_int_equal(store_journal_read(t, 0, je, 2, &total, &first), 1);
    store_topic_put(t);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_topic_create_delete_collide),
        cmocka_unit_test(test_longest_topic_name),
        cmocka_unit_test(test_topic_persistence_and_adoption),
        cmocka_unit_test(test_partition_metadata),
        cmocka_unit_test(test_topics_create_batch),
        cmocka_unit_test(test_topic_files_at_first_use),
        cmocka_unit_test(test_config_from_props),
        cmocka_unit_test(test_append_read_restart),
        cmocka_unit_test(test_append_rejects_bad_batches),
        cmocka_unit_test(test_append_refuses_what_kafka_refuses),
        cmocka_unit_test(test_concurrent_appends_keep_order),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_lazy_flush_mode),
        cmocka_unit_test(test_roll_by_size_and_age),
        cmocka_unit_test(test_retention_by_size_and_time),
        cmocka_unit_test(test_offset_for_time_and_delete_records),
        cmocka_unit_test(test_idempotent_producer),
        cmocka_unit_test(test_producers_listed),
        cmocka_unit_test(test_concurrent_checkpoints),
        cmocka_unit_test(test_listeners),
        cmocka_unit_test(test_segment_files),
        cmocka_unit_test(test_dir_locked),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
