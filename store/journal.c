/*
 * journal.c - the order in which batches were appended across a topic's partitions.
 *
 * Kafka has no such thing; brook keeps it so that the FUSE topic file can show all
 * partitions interleaved in append order with byte positions that stay put across
 * restarts. <dir>/.topics/<topic id>.journal is a 16-byte header followed by one
 * 48-byte entry per appended batch (all big-endian):
 *
 *   header: magic "BRJ2" | reserved u32 | index of the first entry kept (i64)
 *   entry:  partition i32 | records i32 | base offset i64 | records before i64 |
 *           value bytes before i64 | value bytes i64 | partition records before i64 |
 *           partition value bytes before i64 | reserved u32 | CRC-32C u32   (64 bytes)
 *
 * The CRC covers the entry's first 60 bytes. The "before" totals count from the
 * topic's creation, so positions derived from them survive trimming; the last
 * entry of each partition is never trimmed, so its totals are never lost. An entry is written after
 * its batch and before the batch is published (if it cannot be written, the append fails and the
 * batch is cut off again), and becomes part of the journal after the batch is readable, so a reader
 * never meets an entry whose batch it cannot read yet. Entries have no fsync of their own: the
 * flusher syncs the journal once appends pause (flush.c), never between an append and the
 * round that makes it durable. After a crash,
 * journal_reconcile() cuts the journal at the first torn entry or the first entry whose batch did
 * not survive, then appends entries for batches that are in the partitions but not in the journal,
 * partition by partition.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "lib/fileio.h"
#include "lib/reader.h"
#include "lib/sysio.h"
#include "lib/writer.h"
#include "proto/record.h"
#include "store/private.h"

static void encode_entry(const struct store_journal_entry *e, uint8_t out[JOURNAL_ENTRY_SIZE])
{
    struct writer w;
    writer_init_fixed(&w, out, JOURNAL_ENTRY_SIZE);
    writer_be32(&w, (uint32_t)e->partition);
    writer_be32(&w, (uint32_t)e->records);
    writer_be64(&w, (uint64_t)e->base_offset);
    writer_be64(&w, (uint64_t)e->records_before);
    writer_be64(&w, (uint64_t)e->values_before);
    writer_be64(&w, (uint64_t)e->value_bytes);
    writer_be64(&w, (uint64_t)e->part_records_before);
    writer_be64(&w, (uint64_t)e->part_values_before);
    writer_be32(&w, 0);
    writer_be32(&w, crc32c(0, out, JOURNAL_ENTRY_SIZE - 4));
}

static int decode_entry(const uint8_t *in, struct store_journal_entry *e)
{
    struct reader r;
    reader_init(&r, in, JOURNAL_ENTRY_SIZE);
    e->partition = (int32_t)reader_be32(&r);
    e->records = (int32_t)reader_be32(&r);
    e->base_offset = (int64_t)reader_be64(&r);
    e->records_before = (int64_t)reader_be64(&r);
    e->values_before = (int64_t)reader_be64(&r);
    e->value_bytes = (int64_t)reader_be64(&r);
    e->part_records_before = (int64_t)reader_be64(&r);
    e->part_values_before = (int64_t)reader_be64(&r);
    (void)reader_be32(&r);
    uint32_t crc = reader_be32(&r);
    return crc == crc32c(0, in, JOURNAL_ENTRY_SIZE - 4) ? 0 : -EBADMSG;
}

static int write_header(int fd, int64_t first)
{
    uint8_t h[JOURNAL_HEADER_SIZE];
    struct writer w;
    writer_init_fixed(&w, h, sizeof h);
    writer_bytes(&w, "BRJ2", 4);
    writer_be32(&w, 0);
    writer_be64(&w, (uint64_t)first);
    return file_pwrite_all(fd, h, sizeof h, 0);
}

/* Make the running totals those after entry e. */
static void note_totals(struct store_topic *t, const struct store_journal_entry *e)
{
    t->journal_records = e->records_before + e->records;
    t->journal_values = e->values_before + e->value_bytes;
    struct store_partition *p = store_topic_partition(t, e->partition);
    if (p) {
        p->jrecords = e->part_records_before + e->records;
        p->jvalues = e->part_values_before + e->value_bytes;
    }
}

void store_journal_totals(struct store_topic *t, int32_t partition, int64_t *records,
                          int64_t *value_bytes)
{
    pthread_mutex_lock(&t->journal_mu);
    struct store_partition *p = partition >= 0 ? store_topic_partition(t, partition) : NULL;
    *records = partition < 0 ? t->journal_records : p ? p->jrecords : 0;
    *value_bytes = partition < 0 ? t->journal_values : p ? p->jvalues : 0;
    pthread_mutex_unlock(&t->journal_mu);
}

/* Byte position of entry i in the file. */
static off_t entry_pos(const struct store_topic *t, int64_t i)
{
    return JOURNAL_HEADER_SIZE + (off_t)(i - t->journal_first) * JOURNAL_ENTRY_SIZE;
}

int journal_open(struct store_topic *t, int64_t *dropped)
{
    char path[4096];
    int rc = topic_meta_path(path, sizeof path, t, ".journal");
    if (rc)
        return rc;
    t->journal_first = t->journal_total = t->journal_records = t->journal_values = 0;
    *dropped = 0;
    int fd = fdcache_open_path(&t->store->fds, path, O_RDWR, 0);
    if (fd == -ENOENT) /* no entry yet (a crash may also have taken a new file's name) */
        return 0;
    if (fd < 0)
        return fd;
    struct stat st;
    uint8_t h[JOURNAL_HEADER_SIZE];
    uint8_t *chunk = NULL;
    if (fstat(fd, &st)) {
        rc = -errno;
        goto err_fd;
    }
    t->journal_fd = fd;
    if (st.st_size < JOURNAL_HEADER_SIZE || file_pread_all(fd, h, sizeof h, 0) ||
        memcmp(h, "BRJ2", 4)) {
        /* new or unreadable: start empty; reconcile refills it from the log */
        if (sysio.ftruncate(fd, 0) || (rc = write_header(fd, 0))) {
            rc = rc ? rc : -errno;
            goto err_fd;
        }
        return 0;
    }
    struct reader r;
    reader_init(&r, h + 8, 8);
    t->journal_first = (int64_t)reader_be64(&r);
    int64_t n = (st.st_size - JOURNAL_HEADER_SIZE) / JOURNAL_ENTRY_SIZE;
    /* the intact entries up to the first torn one, read a chunk at a time (a journal
     * has an entry per batch: one pread each would make start-up crawl) */
    if (!(chunk = malloc(JOURNAL_CHUNK * JOURNAL_ENTRY_SIZE))) {
        rc = -ENOMEM;
        goto err_fd;
    }
    struct store_journal_entry e;
    int64_t good = 0;
    for (int64_t i = 0; i < n && good == i;) {
        int64_t k = n - i < JOURNAL_CHUNK ? n - i : JOURNAL_CHUNK;
        if (file_pread_all(fd, chunk, (size_t)k * JOURNAL_ENTRY_SIZE,
                           JOURNAL_HEADER_SIZE + i * JOURNAL_ENTRY_SIZE))
            break;
        for (int64_t j = 0; j < k && !decode_entry(chunk + j * JOURNAL_ENTRY_SIZE, &e); j++) {
            good = i + j + 1;
            note_totals(t, &e);
        }
        i += k;
    }
    free(chunk);
    chunk = NULL;
    t->journal_total = t->journal_first + good;
    *dropped = n - good;
    if (good != n || st.st_size != JOURNAL_HEADER_SIZE + n * JOURNAL_ENTRY_SIZE)
        if (sysio.ftruncate(fd, JOURNAL_HEADER_SIZE + good * JOURNAL_ENTRY_SIZE)) {
            rc = -errno;
            goto err_fd;
        }
    return 0;
err_fd:
    sysio.close(fd);
    t->journal_fd = -1;
    return rc;
}

void journal_close(struct store_topic *t)
{
    if (t->journal_fd >= 0)
        sysio.close(t->journal_fd);
    t->journal_fd = -1;
}

/*
 * The journal file of a topic that has none yet, made at its first entry rather
 * than with the topic, so that creating a topic makes one file. Its name becomes
 * durable at the next journal_sync; a crash before that loses nothing the journal
 * alone knew, since recovery rebuilds the journal from the partitions.
 */
static int journal_create(struct store_topic *t)
{
    char path[4096];
    int rc = topic_meta_path(path, sizeof path, t, ".journal");
    if (rc)
        return rc;
    int fd = fdcache_open_path(&t->store->fds, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fd;
    if ((rc = write_header(fd, t->journal_first))) {
        sysio.close(fd);
        sysio.unlink(path);
        return rc;
    }
    t->journal_fd = fd;
    t->journal_new = true;
    return 0;
}

/* Write the entry for a batch at the end of the file without making it part of the
 * journal yet (commit_locked does); journal_mu held. */
static int write_locked(struct store_topic *t, int32_t partition, int64_t base, int32_t records,
                        int64_t value_bytes, struct store_journal_entry *e)
{
    struct store_partition *p = store_topic_partition(t, partition);
    if (!p)
        return -ENOENT;
    *e = (struct store_journal_entry){
        .partition = partition,
        .records = records,
        .base_offset = base,
        .records_before = t->journal_records,
        .values_before = t->journal_values,
        .value_bytes = value_bytes,
        .part_records_before = p->jrecords,
        .part_values_before = p->jvalues,
    };
    uint8_t buf[JOURNAL_ENTRY_SIZE];
    encode_entry(e, buf);
    int rc = t->journal_fd < 0 ? journal_create(t) : 0;
    if (rc)
        return rc;
    off_t pos = entry_pos(t, t->journal_total);
    rc = file_pwrite_all(t->journal_fd, buf, sizeof buf, pos);
    if (rc)
        (void)sysio.ftruncate(t->journal_fd, pos);
    return rc;
}

static void commit_locked(struct store_topic *t, const struct store_journal_entry *e)
{
    t->journal_total++;
    note_totals(t, e);
    STORE(t->journal_unsynced, true);
}

/* Append one entry; journal_mu held. */
static int append_locked(struct store_topic *t, int32_t partition, int64_t base, int32_t records,
                         int64_t value_bytes)
{
    struct store_journal_entry e;
    int rc = write_locked(t, partition, base, records, value_bytes, &e);
    if (!rc)
        commit_locked(t, &e);
    return rc;
}

int journal_begin(struct store_topic *t, int32_t partition, int64_t base_offset, int32_t records,
                  int64_t value_bytes, struct store_journal_entry *e)
{
    pthread_mutex_lock(&t->journal_mu);
    int rc = write_locked(t, partition, base_offset, records, value_bytes, e);
    if (rc)
        pthread_mutex_unlock(&t->journal_mu);
    return rc;
}

void journal_commit(struct store_topic *t, const struct store_journal_entry *e)
{
    commit_locked(t, e);
    pthread_mutex_unlock(&t->journal_mu);
}

int journal_sync(struct store_topic *t)
{
    pthread_mutex_lock(&t->journal_mu);
    int fd = t->journal_fd >= 0 ? fcntl(t->journal_fd, F_DUPFD_CLOEXEC, 0) : -1;
    bool made = t->journal_new;
    t->journal_new = false;
    STORE(t->journal_unsynced, false);
    pthread_mutex_unlock(&t->journal_mu);
    if (fd < 0)
        return 0;
    int rc = sysio.fdatasync(fd) ? -errno : 0;
    sysio.close(fd);
    char path[4096];
    if (!rc && made && !(rc = topic_meta_path(path, sizeof path, t, ".journal")))
        rc = dir_fsync(path, 0);
    if (rc && made) { /* the next sync tries the directory again */
        pthread_mutex_lock(&t->journal_mu);
        t->journal_new = true;
        STORE(t->journal_unsynced, true);
        pthread_mutex_unlock(&t->journal_mu);
    }
    return rc;
}

int store_journal_read(struct store_topic *t, int64_t first, struct store_journal_entry *out,
                       size_t n, int64_t *total, int64_t *first_kept)
{
    pthread_mutex_lock(&t->journal_mu);
    *total = t->journal_total;
    *first_kept = t->journal_first;
    int rc = 0;
    if (first < t->journal_first || first >= t->journal_total || t->journal_fd < 0) {
        pthread_mutex_unlock(&t->journal_mu);
        return 0;
    }
    if ((int64_t)n > t->journal_total - first)
        n = (size_t)(t->journal_total - first);
    size_t done = 0;
    uint8_t buf[64 * JOURNAL_ENTRY_SIZE];
    while (done < n && !rc) {
        size_t k = n - done < 64 ? n - done : 64;
        rc = file_pread_all(t->journal_fd, buf, k * JOURNAL_ENTRY_SIZE,
                            entry_pos(t, first + (int64_t)done));
        for (size_t i = 0; i < k && !rc; i++)
            rc = decode_entry(buf + i * JOURNAL_ENTRY_SIZE, &out[done + i]);
        done += k;
    }
    pthread_mutex_unlock(&t->journal_mu);
    return rc ? rc : (int)n;
}

/* ---- reconciliation after a crash ---- */

/* Entries for every batch of p from offset `from` on, appended to the journal. The
 * walk starts at the log start when that is later, in the batch that holds it,
 * which may begin below it (DeleteRecords): only batches from `from` on are added. */
static int journal_partition_tail(struct store_topic *t, struct store_partition *p, int64_t from)
{
    struct store_cursor cur;
    struct store_batch b;
    int rc;
    store_cursor_open(&cur, p, from, 0);
    while ((rc = store_cursor_next(&cur, &b)) == 1 || rc == -EBADMSG) {
        struct batch_header h;
        struct batch_stats st;
        /* a batch that does not validate, or a run without a boundary to go on from
         * (damaged in a segment trusted after a clean shutdown), stays out of the
         * journal instead of failing the whole open */
        if (rc == 1 && b.base_offset >= from &&
            batch_validate(b.data, b.len, &batch_limits_default, true, &h, &st) == 0) {
            int32_t recs = h.attributes & BATCH_ATTR_CONTROL ? 0 : st.records;
            if ((rc = append_locked(t, p->index, h.base_offset, recs, st.value_bytes)))
                break;
        }
    }
    store_cursor_close(&cur);
    return rc;
}

/* Partition i for reconciliation: opened, unless it was never used (it has no
 * directory, hence no batches: opening it would only make its files). */
static struct store_partition *reconcile_partition(struct store_topic *t, int32_t i)
{
    if (i < 0 || i >= store_topic_partition_count(t))
        return NULL;
    struct store_partition *p = LOAD(t->parts)[i];
    return partition_unmade(p) ? p : store_topic_partition(t, i);
}

int journal_reconcile(struct store_topic *t)
{
    int32_t n = store_topic_partition_count(t);
    int64_t *next = calloc((size_t)(n ? n : 1), sizeof *next); /* first un-journaled offset */
    uint8_t *chunk = malloc(JOURNAL_CHUNK * JOURNAL_ENTRY_SIZE);
    if (!next || !chunk) {
        free(next);
        free(chunk);
        return -ENOMEM;
    }
    pthread_mutex_lock(&t->journal_mu);
    int rc = 0;
    int64_t cut = t->journal_total;
    t->journal_records = t->journal_values = 0;
    for (int32_t i = 0; i < n && !rc; i++) { /* opens closed ones: they may fail */
        struct store_partition *p = reconcile_partition(t, i);
        if (p)
            p->jrecords = p->jvalues = 0;
        else
            rc = -EIO;
    }
    for (int64_t i = t->journal_first; i < t->journal_total && cut == t->journal_total && !rc;) {
        int64_t k = t->journal_total - i < JOURNAL_CHUNK ? t->journal_total - i : JOURNAL_CHUNK;
        if ((rc = file_pread_all(t->journal_fd, chunk, (size_t)k * JOURNAL_ENTRY_SIZE,
                                 entry_pos(t, i))))
            break;
        for (int64_t j = 0; j < k; j++, i++) {
            struct store_journal_entry e;
            if ((rc = decode_entry(chunk + j * JOURNAL_ENTRY_SIZE, &e)))
                break;
            struct store_partition *p = reconcile_partition(t, e.partition);
            if (!p || e.base_offset >= store_partition_high_watermark(p) ||
                e.base_offset < next[e.partition]) {
                cut = i; /* this batch is gone (or out of order): the journal ends here */
                break;
            }
            next[e.partition] = e.base_offset + 1;
            note_totals(t, &e);
        }
    }
    int64_t dropped = t->journal_total - cut;
    if (!rc && cut < t->journal_total) {
        if (sysio.ftruncate(t->journal_fd, entry_pos(t, cut)))
            rc = -errno;
        t->journal_total = cut;
    }
    for (int32_t i = 0; i < n && !rc; i++) {
        /* next[i] is one past the last journaled batch's base: skip into it */
        struct store_partition *p = reconcile_partition(t, i);
        if (!LOAD(p->opened))
            continue; /* never used: no batches */
        rc = journal_partition_tail(t, p, next[i]);
    }
    if (t->store->loading) {
        t->store->recovery.journal_dropped += dropped;
        t->store->recovery.journal_rebuilt += t->journal_total - cut;
    }
    pthread_mutex_unlock(&t->journal_mu);
    free(next);
    free(chunk);
    if (!rc)
        rc = journal_sync(t);
    return rc;
}

/*
 * Drop entries for batches that retention deleted, when that frees at least half
 * the file: rewrite the survivors to a temporary file and rename it over the old.
 */
int journal_trim(struct store_topic *t)
{
    pthread_mutex_lock(&t->journal_mu);
    int64_t keep = t->journal_first, rc = 0;
    uint8_t buf[JOURNAL_ENTRY_SIZE];
    for (; keep < t->journal_total; keep++) {
        struct store_journal_entry e;
        if (file_pread_all(t->journal_fd, buf, sizeof buf, entry_pos(t, keep)) ||
            decode_entry(buf, &e))
            break;
        struct store_partition *p = store_topic_partition(t, e.partition);
        if (!p || (p->jrecords == e.part_records_before + e.records &&
                   p->jvalues == e.part_values_before + e.value_bytes))
            break; /* the last entry of a partition carries its totals: keep it */
        pthread_mutex_lock(&p->segs_mu);
        bool gone = e.base_offset < p->segs[0]->base;
        pthread_mutex_unlock(&p->segs_mu);
        if (!gone)
            break;
    }
    int64_t drop = keep - t->journal_first, live = t->journal_total - keep;
    if (drop < 1024 || drop < live) {
        pthread_mutex_unlock(&t->journal_mu);
        return 0;
    }
    char path[4096], tmp[4200];
    int fd = -1;
    uint8_t *data = NULL;
    if ((rc = topic_meta_path(path, sizeof path, t, ".journal")))
        goto out;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t bytes = (size_t)live * JOURNAL_ENTRY_SIZE;
    if (!(data = malloc(bytes ? bytes : 1))) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = file_pread_all(t->journal_fd, data, bytes, entry_pos(t, keep))))
        goto out;
    if ((fd = fdcache_open_path(&t->store->fds, tmp, O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0) {
        rc = fd;
        fd = -1;
        goto out;
    }
    if ((rc = write_header(fd, keep)) ||
        (rc = file_pwrite_all(fd, data, bytes, JOURNAL_HEADER_SIZE)))
        goto out;
    if (sysio.fsync(fd) || sysio.rename(tmp, path)) {
        rc = -errno;
        goto out;
    }
    sysio.close(t->journal_fd);
    t->journal_fd = fd;
    fd = -1;
    t->journal_first = keep;
    rc = dir_fsync(path, 0);
out:
    if (fd >= 0) {
        sysio.close(fd);
        sysio.unlink(tmp);
    }
    free(data);
    pthread_mutex_unlock(&t->journal_mu);
    return (int)rc;
}
