/*
 * segment.c - one segment: a .log of whole batches plus its sparse indexes.
 *
 * The .log holds RecordBatch v2 bytes back to back. The indexes are kept in memory
 * and written to .index / .timeindex when the segment is rolled or the store shuts
 * down; after a crash, the segments past the recovery point are scanned and their
 * indexes rebuilt, so the index files never need to be synced on the hot path.
 *
 * Index entries (big-endian):
 *   .index      relative offset u32 | file position u32      (8 bytes)
 *   .timeindex  timestamp i64       | relative offset u32    (12 bytes)
 * An .index entry names a batch by its first offset; a .timeindex entry says that
 * every batch up to the one starting at that offset has maxTimestamp <= timestamp.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/grow.h"
#include "lib/reader.h"
#include "lib/sysio.h"
#include "proto/record.h"
#include "store/private.h"

#define SCAN_CHUNK (1u << 20)

int segment_path(char *buf, size_t size, const char *dir, int64_t base, const char *ext)
{
    int n = snprintf(buf, size, "%s/%020" PRId64 "%s", dir, base, ext);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool segment_name_parse(const char *name, const char *ext, int64_t *base)
{
    int64_t v = 0;
    for (int i = 0; i < SEGMENT_NAME_LEN; i++) {
        int d = name[i] - '0';
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (strcmp(name + SEGMENT_NAME_LEN, ext))
        return false;
    *base = v;
    return true;
}

/* A segment holding fd, pinned once: the caller unpins it when it is set up. */
static struct segment *segment_new(struct fdcache *c, const char *dir, int64_t base, int fd)
{
    struct segment *seg = calloc(1, sizeof *seg);
    if (!seg)
        return NULL;
    seg->base = base;
    fdcache_adopt(seg, c, dir, fd);
    seg->next_offset = base;
    seg->max_ts = -1;
    seg->created_ms = -1;
    return seg;
}

void segment_free_memory(struct segment *seg)
{
    free(seg->idx);
    free(seg->tidx);
    free(seg);
}

void segment_free(struct segment *seg)
{
    if (seg && fdcache_forget(seg))
        segment_free_memory(seg);
}

int segment_create(struct fdcache *c, const char *dir, int64_t base, struct segment **out)
{
    char path[4096];
    int rc = segment_path(path, sizeof path, dir, base, ".log");
    if (rc)
        return rc;
    int fd = fdcache_open_path(c, path, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return fd;
    struct segment *seg = segment_new(c, dir, base, fd);
    if (!seg) {
        sysio.close(fd);
        sysio.unlink(path);
        return -ENOMEM;
    }
    fdcache_unpin(seg);
    *out = seg;
    return 0;
}

void *(*segment_realloc)(void *p, size_t n) = realloc;

/* Room for one more entry after n in an index array, through the hook above. */
#define INDEX_GROW(arr, cap, n)                                                                    \
    array_grow_using(segment_realloc, (void **)&(arr), &(cap), (n) + 1, sizeof *(arr))

int segment_note_batch(struct segment *seg, int64_t pos, int64_t base_offset, int64_t max_ts,
                       int64_t batch_size, int64_t index_interval)
{
    /* what describes the batch itself comes first: it must hold whatever happens to
     * the index entries below (retention and time lookups read max_ts) */
    int64_t so_far = max_ts > seg->max_ts ? max_ts : seg->max_ts;
    seg->max_ts = so_far;
    if (seg->created_ms < 0)
        seg->created_ms = clock_wall_ms();
    bool first = seg->n_idx == 0;
    bool known = !first && pos <= (int64_t)seg->idx[seg->n_idx - 1].pos; /* re-scanned */
    if (known || (!first && pos + batch_size - seg->indexed_at <= index_interval))
        return 0;
    if (INDEX_GROW(seg->idx, seg->cap_idx, seg->n_idx))
        return -ENOMEM;
    seg->idx[seg->n_idx++] =
        (struct index_entry){(uint32_t)(base_offset - seg->base), (uint32_t)pos};
    seg->indexed_at = pos;
    seg->index_dirty = true;
    if (seg->n_tidx && so_far <= seg->tidx[seg->n_tidx - 1].ts)
        return 0;
    if (INDEX_GROW(seg->tidx, seg->cap_tidx, seg->n_tidx))
        return -ENOMEM;
    seg->tidx[seg->n_tidx++] = (struct time_entry){so_far, (uint32_t)(base_offset - seg->base)};
    return 0;
}

int64_t segment_index_lookup(const struct segment *seg, int64_t offset)
{
    if (!seg->n_idx || offset < seg->base)
        return 0;
    uint64_t rel = (uint64_t)(offset - seg->base);
    size_t lo = 0, hi = seg->n_idx; /* find the last entry with rel <= target */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->idx[mid].rel <= rel)
            lo = mid;
        else
            hi = mid;
    }
    return seg->idx[lo].rel <= rel ? seg->idx[lo].pos : 0;
}

int segment_read_header(int fd, int64_t pos, int64_t limit, struct batch_header *h)
{
    uint8_t buf[BATCH_HEADER_SIZE];
    if (pos + BATCH_HEADER_SIZE > limit)
        return -ENODATA;
    int rc = file_pread_all(fd, buf, sizeof buf, pos);
    if (rc)
        return rc;
    rc = batch_header_parse(buf, sizeof buf, h);
    if (rc)
        return rc;
    if (h->length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD ||
        pos + BATCH_LOG_OVERHEAD + h->length > limit)
        return -EBADMSG;
    return 0;
}

/* Write n entries of elem bytes, encoded by enc, to path (truncating). */
static int write_entries(struct fdcache *c, const char *path, const void *entries, size_t n,
                         size_t size, void (*enc)(const void *entry, uint8_t *out))
{
    int fd = fdcache_open_path(c, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fd;
    int rc = 0;
    uint8_t buf[4096];
    size_t per = sizeof buf / size, done = 0;
    const uint8_t *e = entries;
    while (done < n && !rc) {
        size_t k = n - done < per ? n - done : per;
        for (size_t i = 0; i < k; i++)
            enc(e + (done + i) * (size == INDEX_ENTRY_SIZE ? sizeof(struct index_entry)
                                                           : sizeof(struct time_entry)),
                buf + i * size);
        rc = file_pwrite_all(fd, buf, k * size, (off_t)(done * size));
        done += k;
    }
    sysio.close(fd);
    return rc;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void enc_index(const void *entry, uint8_t *out)
{
    const struct index_entry *e = entry;
    put32(out, e->rel);
    put32(out + 4, e->pos);
}

static void enc_time(const void *entry, uint8_t *out)
{
    const struct time_entry *e = entry;
    put32(out, (uint32_t)((uint64_t)e->ts >> 32));
    put32(out + 4, (uint32_t)e->ts);
    put32(out + 8, e->rel);
}

size_t segment_index_copy(const struct segment *seg, bool time, void *buf, size_t n, int64_t off)
{
    size_t es = time ? TIME_ENTRY_SIZE : INDEX_ENTRY_SIZE;
    size_t count = time ? seg->n_tidx : seg->n_idx, done = 0;
    uint8_t tmp[TIME_ENTRY_SIZE];
    while (done < n && (size_t)off + done < count * es) {
        size_t at = (size_t)off + done, i = at / es, skip = at % es;
        if (time)
            enc_time(&seg->tidx[i], tmp);
        else
            enc_index(&seg->idx[i], tmp);
        size_t k = es - skip < n - done ? es - skip : n - done;
        memcpy((uint8_t *)buf + done, tmp + skip, k);
        done += k;
    }
    return done;
}

int segment_write_indexes(const char *dir, struct segment *seg)
{
    char path[4096];
    int rc = segment_path(path, sizeof path, dir, seg->base, ".index");
    if (!rc)
        rc = write_entries(seg->cache, path, seg->idx, seg->n_idx, INDEX_ENTRY_SIZE, enc_index);
    if (!rc)
        rc = segment_path(path, sizeof path, dir, seg->base, ".timeindex");
    if (!rc)
        rc = write_entries(seg->cache, path, seg->tidx, seg->n_tidx, TIME_ENTRY_SIZE, enc_time);
    if (!rc)
        seg->index_dirty = false;
    return rc;
}

int segment_remove_files(const char *dir, int64_t base)
{
    static const char *const exts[] = {".log", ".index", ".timeindex", ".txnindex"};
    char path[4096];
    int rc = 0;
    for (size_t i = 0; i < 4; i++) {
        if (segment_path(path, sizeof path, dir, base, exts[i]))
            return -ENAMETOOLONG;
        if (i == 3 && access(path, F_OK)) /* most segments have no .txnindex */
            continue;
        if (sysio.unlink(path) && errno != ENOENT && !rc)
            rc = -errno;
    }
    return rc;
}

int segment_retire_files(const char *dir, int64_t base)
{
    static const char *const exts[] = {".log", ".index", ".timeindex", ".txnindex"};
    char from[4096], to[4096];
    int rc = 0;
    for (size_t i = 0; i < 4; i++) {
        if (segment_path(from, sizeof from, dir, base, exts[i]) ||
            snprintf(to, sizeof to, "%s" SEGMENT_DELETED, from) >= (int)sizeof to)
            return -ENAMETOOLONG;
        if (i == 3 && access(from, F_OK)) /* most segments have no .txnindex */
            continue;
        if (sysio.rename(from, to) && errno != ENOENT && !rc)
            rc = -errno;
    }
    return rc;
}

int segment_reap_files(const char *dir, int64_t base)
{
    static const char *const exts[] = {".log" SEGMENT_DELETED, ".index" SEGMENT_DELETED,
                                       ".timeindex" SEGMENT_DELETED, ".txnindex" SEGMENT_DELETED};
    char path[4096];
    int rc = 0;
    for (size_t i = 0; i < 4; i++) {
        if (segment_path(path, sizeof path, dir, base, exts[i]))
            return -ENAMETOOLONG;
        if (i == 3 && access(path, F_OK)) /* most segments have no .txnindex */
            continue;
        if (sysio.unlink(path) && errno != ENOENT && !rc)
            rc = -errno;
    }
    return rc;
}

int segment_reap_leftovers(const char *dir)
{
    static const char *const exts[] = {".log" SEGMENT_DELETED, ".index" SEGMENT_DELETED,
                                       ".timeindex" SEGMENT_DELETED, ".txnindex" SEGMENT_DELETED};
    DIR *d = opendir(dir);
    struct dirent *e;
    int64_t base;
    int rc = 0;
    if (!d)
        return -errno;
    while ((e = readdir(d)))
        for (size_t i = 0; i < 4; i++)
            if (segment_name_parse(e->d_name, exts[i], &base) && !rc)
                rc = segment_reap_files(dir, base);
    closedir(d);
    return rc;
}

/*
 * Load the index files, checking that they describe the log: entries increase,
 * positions lie inside the file. Returns 0, or -EBADMSG when they must be rebuilt.
 */
static int load_indexes(const char *dir, struct segment *seg, int64_t file_size)
{
    char path[4096];
    char *data = NULL;
    size_t len;
    int rc = segment_path(path, sizeof path, dir, seg->base, ".index");
    if (rc || (rc = file_read_all(path, (size_t)file_size / 8 + 4096, &data, &len)))
        return -EBADMSG;
    if (len % INDEX_ENTRY_SIZE || (len == 0 && file_size > 0))
        goto bad;
    struct reader r;
    reader_init(&r, data, len);
    for (size_t i = 0; i < len / INDEX_ENTRY_SIZE; i++) {
        struct index_entry e = {reader_be32(&r), reader_be32(&r)};
        if ((int64_t)e.pos >= file_size || (seg->n_idx == 0 && e.pos != 0) || e.rel > INT32_MAX ||
            seg->base > INT64_MAX - e.rel ||
            (seg->n_idx &&
             (e.rel <= seg->idx[seg->n_idx - 1].rel || e.pos <= seg->idx[seg->n_idx - 1].pos)))
            goto bad; /* the first batch is always indexed, at position 0 */
        if (INDEX_GROW(seg->idx, seg->cap_idx, seg->n_idx))
            goto bad;
        seg->idx[seg->n_idx++] = e;
    }
    free(data);
    data = NULL;
    if (segment_path(path, sizeof path, dir, seg->base, ".timeindex") ||
        file_read_all(path, (size_t)file_size / 8 + 4096, &data, &len) || len % TIME_ENTRY_SIZE)
        goto bad;
    reader_init(&r, data, len);
    for (size_t i = 0; i < len / TIME_ENTRY_SIZE; i++) {
        struct time_entry e;
        e.ts = (int64_t)reader_be64(&r);
        e.rel = reader_be32(&r);
        if (INDEX_GROW(seg->tidx, seg->cap_tidx, seg->n_tidx))
            goto bad;
        seg->tidx[seg->n_tidx++] = e;
    }
    free(data);
    if (seg->n_idx)
        seg->indexed_at = seg->idx[seg->n_idx - 1].pos;
    if (seg->n_tidx)
        seg->max_ts = seg->tidx[seg->n_tidx - 1].ts;
    return 0;
bad:
    free(data);
    seg->n_idx = seg->n_tidx = 0;
    seg->max_ts = -1;
    return -EBADMSG;
}

/* Drop what was loaded from the index files, before a scan from the start. */
static void forget_indexes(struct segment *seg)
{
    seg->n_idx = seg->n_tidx = 0;
    seg->next_offset = seg->base;
    seg->max_ts = -1;
    seg->indexed_at = 0;
    seg->size = 0;
}

/* Buffered forward reader over a segment file for scans. */
struct scanner {
    int fd;
    int64_t file_size;
    uint8_t *buf;
    size_t cap;
    int64_t buf_pos; /* file position of buf[0] */
    size_t buf_len;
};

/* Make [pos, pos + n) available in the buffer; returns a pointer or NULL. */
static const uint8_t *scan_get(struct scanner *sc, int64_t pos, size_t n, int *err)
{
    if (pos < sc->buf_pos || pos + (int64_t)n > sc->buf_pos + (int64_t)sc->buf_len) {
        size_t want = n > SCAN_CHUNK ? n : SCAN_CHUNK;
        if ((int64_t)want > sc->file_size - pos)
            want = (size_t)(sc->file_size - pos);
        if (want < n)
            return NULL;
        if (want > sc->cap) {
            uint8_t *nb = realloc(sc->buf, want);
            if (!nb) {
                *err = -ENOMEM;
                return NULL;
            }
            sc->buf = nb;
            sc->cap = want;
        }
        int rc = file_pread_all(sc->fd, sc->buf, want, pos);
        if (rc) {
            *err = rc;
            return NULL;
        }
        sc->buf_pos = pos;
        sc->buf_len = want;
    }
    return sc->buf + (pos - sc->buf_pos);
}

/*
 * Walk the batches of seg from position `from` (a batch boundary) to the end of
 * the file. With full, each batch is validated completely (CRC, records);
 * otherwise only its header is read. Index entries are added for each batch.
 * With SEG_GAPS a batch may start past the end of the one before it, but only at
 * or below gaps_below (the cleaner makes gaps only there). Sets seg->size to the
 * end of the last good batch and next_offset after it.
 */
static int scan_batches(struct segment *seg, int64_t from, int64_t file_size, bool full, int flags,
                        int64_t gaps_below, int64_t interval)
{
    struct scanner sc = {.fd = seg->fd, .file_size = file_size};
    int64_t pos = from;
    int err = 0;
    while (pos < file_size) {
        struct batch_header h;
        const uint8_t *p = scan_get(&sc, pos, BATCH_HEADER_SIZE, &err);
        if (!p || batch_header_parse(p, BATCH_HEADER_SIZE, &h))
            break;
        int64_t size = BATCH_LOG_OVERHEAD + (int64_t)h.length;
        if (h.length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD || size > file_size - pos)
            break;
        if (full) {
            p = scan_get(&sc, pos, (size_t)size, &err);
            if (!p || batch_validate(p, (size_t)size, &batch_limits_default, true, NULL, NULL))
                break;
        }
        /* baseOffset and the leader epoch are outside the CRC: offsets must follow on
         * (or at least increase, where compaction leaves gaps, but only below
         * gaps_below), stay within what an index entry can say relative to the
         * segment's base (INT32_MAX, as Kafka, and as brook rolls and compacts), and
         * the epoch must be the one brook writes */
        bool gap_ok = (flags & SEG_GAPS) && h.base_offset <= gaps_below;
        if (h.base_offset < seg->next_offset || (!gap_ok && h.base_offset != seg->next_offset) ||
            h.last_offset_delta < 0 ||
            h.base_offset - seg->base > INT32_MAX - (int64_t)h.last_offset_delta ||
            h.base_offset > INT64_MAX - 1 - h.last_offset_delta ||
            (full && (flags & SEG_EPOCH) && h.leader_epoch != STORE_LEADER_EPOCH))
            break;
        if (segment_note_batch(seg, pos, h.base_offset, h.max_timestamp, size, interval)) {
            err = -ENOMEM;
            break;
        }
        seg->next_offset = h.base_offset + h.last_offset_delta + 1;
        pos += size;
    }
    free(sc.buf);
    seg->size = pos;
    return err;
}

int segment_open(struct fdcache *c, const char *dir, int64_t base, bool scan, int flags,
                 int64_t gaps_below, int64_t interval, struct segment **out,
                 struct segment_repair *rep)
{
    char path[4096];
    int rc = segment_path(path, sizeof path, dir, base, ".log");
    if (rc)
        return rc;
    int fd = fdcache_open_path(c, path, O_RDWR, 0);
    if (fd < 0)
        return fd;
    struct segment *seg = segment_new(c, dir, base, fd);
    if (!seg) {
        sysio.close(fd);
        return -ENOMEM;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        rc = -errno;
        goto err_seg;
    }
    *rep = (struct segment_repair){0};
    bool trusted = !scan && !(flags & SEG_NO_INDEX) && load_indexes(dir, seg, st.st_size) == 0;
    if (trusted) {
        /* trust the files: read the headers after the last indexed batch */
        int64_t from = seg->n_idx ? seg->idx[seg->n_idx - 1].pos : 0;
        if (seg->n_idx)
            seg->next_offset = seg->base + seg->idx[seg->n_idx - 1].rel;
        rc = scan_batches(seg, from, st.st_size, false, flags, gaps_below, interval);
        if (!rc && seg->size < st.st_size) {
            /* index and log disagree: recover with a full scan rather than cut the
             * log where a (possibly stale) index entry points */
            trusted = false;
            scan = true;
        }
    }
    if (!rc && !trusted) {
        forget_indexes(seg);
        rc = scan_batches(seg, 0, st.st_size, scan, flags, gaps_below, interval);
        seg->index_dirty = true;
        if (scan)
            rep->scanned = st.st_size;
    }
    if (rc)
        goto err_seg;
    if (seg->size < st.st_size) {
        /* a torn or corrupt tail: cut it off so it can never be served */
        if (sysio.ftruncate(fd, seg->size) || sysio.fsync(fd)) {
            rc = -errno;
            goto err_seg;
        }
        rep->cut = st.st_size - seg->size;
    }
    if (seg->index_dirty && (rc = segment_write_indexes(dir, seg)))
        goto err_seg;
    fdcache_unpin(seg);
    *out = seg;
    return 0;
err_seg:
    fdcache_unpin(seg);
    segment_free(seg);
    return rc;
}
