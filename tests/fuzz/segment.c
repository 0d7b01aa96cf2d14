/*
 * segment.c - fuzz the segment loader (store/segment.c: segment_open), which reads
 * a .log with its .index and .timeindex at startup: trusting the files after a clean
 * shutdown, scanning and truncating them after a crash.
 *
 * Input:
 *   u8    flags: bit 0 scan (crash recovery), 1 SEG_GAPS, 2 SEG_EPOCH, 3 SEG_NO_INDEX,
 *         4 the target fixes every batch's CRC (so mutations get past it), 5 no
 *         .index file, 6 no .timeindex file, 7 a base offset far from zero
 *   u8    index interval / 64; when odd, SEG_GAPS allows gaps only up to base offset
 *         + 8 x that byte (the bound recovery takes from the cleaner checkpoint)
 *   be32  base offset (bit 7: plus 2^40)
 *   be16  n, then n bytes of .log;  be16 m, then m bytes of .index;  the rest .timeindex
 * The files go to a directory on /dev/shm (or $TMPDIR) made once per process.
 *
 * Checks, after each open:
 *   - it succeeds (bad files are recovered from, never an error), and the .log is cut
 *     to exactly the size the segment reports, the repair saying what it cut;
 *   - the kept .log is whole batches, offsets following on (increasing with gaps
 *     where allowed),
 *     next_offset after the last; after a scan each batch validates, with the epoch
 *     brook writes when SEG_EPOCH (an open that may trust the index files, as after
 *     a clean shutdown, vouches only for the batches from the last index entry on);
 *   - the index entries increase; after a scan (or whenever the index was rebuilt)
 *     each names a batch start and its offset, and looking up any batch's first
 *     offset gives a position at or before it;
 * and across opens: a second open with a scan changes nothing after a first with a
 * scan, and a third open that trusts the index files the second one wrote sees the
 * same segment (size, next offset, max timestamp, index entries) as the second.
 */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "lib/fileio.h"
#include "proto/record.h"
#include "store/private.h"

static char dir[256];
static struct fdcache fds; /* the segments' descriptor cache, as a store has */

static void dir_cleanup(void)
{
    dir_remove_files(dir);
}

static void dir_setup(void)
{
    if (dir[0])
        return;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/brook-fuzz-segment-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    fdcache_init(&fds, 0);
    atexit(dir_cleanup);
}

/* Remove whatever the last run left. */
static void dir_clear(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    if (!d)
        abort();
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

static void put_file(int64_t base, const char *ext, const uint8_t *p, size_t n)
{
    char path[512];
    FUZZ_CHECK(segment_path(path, sizeof path, dir, base, ext) == 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FUZZ_CHECK(fd >= 0 && file_pwrite_all(fd, p, n, 0) == 0);
    close(fd);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Recompute the CRC of each batch the log holds, as far as it frames. */
static void fix_crcs(uint8_t *p, size_t n)
{
    for (size_t pos = 0; pos + BATCH_HEADER_SIZE <= n;) {
        size_t size = BATCH_LOG_OVERHEAD + (size_t)(int32_t)be32(p + pos + BATCH_OFF_LENGTH);
        if ((int32_t)be32(p + pos + BATCH_OFF_LENGTH) < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD ||
            size > n - pos)
            break;
        uint32_t crc = crc32c(0, p + pos + BATCH_OFF_ATTRIBUTES, size - BATCH_OFF_ATTRIBUTES);
        struct writer w;
        writer_init_fixed(&w, p + pos + BATCH_OFF_CRC, 4);
        writer_be32(&w, crc);
        pos += size;
    }
}

/* The kept .log, walked: batch starts and first offsets. */
struct walk {
    int64_t *pos, *first;
    size_t n;
};

/* Walk the kept .log from position from, where offset next starts (a trusted open
 * vouches only for what follows the last index entry). */
static void check_log(const struct segment *seg, int flags, int64_t gaps_below, bool full,
                      size_t from, int64_t next, struct walk *w)
{
    char path[512];
    char *buf;
    size_t len;
    FUZZ_CHECK(segment_path(path, sizeof path, dir, seg->base, ".log") == 0);
    FUZZ_CHECK(file_read_all(path, 1u << 24, &buf, &len) == 0);
    FUZZ_CHECK((int64_t)len == seg->size);
    const uint8_t *p = (const uint8_t *)buf;
    w->pos = fuzz_alloc(sizeof *w->pos * (len / BATCH_HEADER_SIZE + 1));
    w->first = fuzz_alloc(sizeof *w->first * (len / BATCH_HEADER_SIZE + 1));
    w->n = 0;
    size_t pos = from;
    FUZZ_CHECK(pos <= len);
    while (pos < len) {
        struct batch_header h;
        FUZZ_CHECK(batch_header_parse(p + pos, len - pos, &h) == 0);
        size_t size = BATCH_LOG_OVERHEAD + (size_t)h.length;
        FUZZ_CHECK(h.length >= BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD && size <= len - pos);
        FUZZ_CHECK(h.base_offset >= next && h.last_offset_delta >= 0);
        if (!(flags & SEG_GAPS) || h.base_offset > gaps_below)
            FUZZ_CHECK(h.base_offset == next);
        if (full) {
            FUZZ_CHECK(batch_validate(p + pos, size, &batch_limits_default, true, NULL, NULL) == 0);
            if (flags & SEG_EPOCH)
                FUZZ_CHECK(h.leader_epoch == STORE_LEADER_EPOCH);
        }
        w->pos[w->n] = (int64_t)pos;
        w->first[w->n++] = h.base_offset;
        /* a kept batch's offsets fit an int64, its last one and the next too */
        FUZZ_CHECK(!__builtin_add_overflow(h.base_offset, (int64_t)h.last_offset_delta + 1, &next));
        pos += size;
    }
    FUZZ_CHECK(seg->next_offset == next);
    free(buf);
}

/* Index entries against the walk; exact says the entries were built from it. */
static void check_index(const struct segment *seg, const struct walk *w, bool exact)
{
    for (size_t i = 0; i < seg->n_idx; i++) {
        const struct index_entry *e = &seg->idx[i];
        FUZZ_CHECK(i > 0 || e->pos == 0);
        FUZZ_CHECK(i == 0 || (e->rel > seg->idx[i - 1].rel && e->pos > seg->idx[i - 1].pos));
        if (!exact)
            continue;
        size_t k = 0;
        while (k < w->n && w->pos[k] != (int64_t)e->pos)
            k++;
        FUZZ_CHECK(k < w->n && w->first[k] - seg->base == (int64_t)e->rel);
    }
    if (!exact)
        return;
    for (size_t i = 0; i < seg->n_tidx; i++) {
        const struct time_entry *e = &seg->tidx[i];
        size_t k = 0;
        while (k < seg->n_idx && seg->idx[k].rel != e->rel)
            k++;
        FUZZ_CHECK(k < seg->n_idx && (i == 0 || e->ts > seg->tidx[i - 1].ts));
    }
    FUZZ_CHECK(w->n == 0 || seg->n_idx > 0);
    for (size_t k = 0; k < w->n; k++) {
        int64_t at = segment_index_lookup(seg, w->first[k]);
        FUZZ_CHECK(at <= w->pos[k]);
    }
}

static void walk_free(struct walk *w)
{
    free(w->pos);
    free(w->first);
}

static struct segment *open_checked(int64_t base, bool scan, int flags, int64_t gaps_below,
                                    int64_t interval, int64_t log_size, bool *truncated)
{
    struct segment *seg = NULL;
    struct segment_repair rep;
    int rc = segment_open(&fds, dir, base, scan, flags, gaps_below, interval, &seg, &rep);
    if (rc)
        fprintf(stderr, "segment_open: %d\n", rc);
    FUZZ_CHECK(rc == 0 && seg != NULL);
    *truncated = rep.cut > 0;
    FUZZ_CHECK(seg->size >= 0 && seg->size <= log_size && rep.cut == log_size - seg->size);
    FUZZ_CHECK(rep.scanned == 0 || rep.scanned == log_size);
    /* without a scan the loader may trust the index files, and then vouches for the
     * batches from the last index entry on; else for all of them */
    bool trusting = !scan && !(flags & SEG_NO_INDEX);
    size_t from = trusting && seg->n_idx ? seg->idx[seg->n_idx - 1].pos : 0;
    int64_t next = seg->base + (trusting && seg->n_idx ? seg->idx[seg->n_idx - 1].rel : 0);
    struct walk w;
    check_log(seg, flags, gaps_below, scan, from, next, &w);
    check_index(seg, &w, !trusting);
    walk_free(&w);
    return seg;
}

static bool same_segment(const struct segment *a, const struct segment *b)
{
    return a->size == b->size && a->next_offset == b->next_offset && a->max_ts == b->max_ts &&
           a->n_idx == b->n_idx && a->n_tidx == b->n_tidx &&
           (!a->n_idx || !memcmp(a->idx, b->idx, a->n_idx * sizeof *a->idx)) &&
           (!a->n_tidx || !memcmp(a->tidx, b->tidx, a->n_tidx * sizeof *a->tidx));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r;
    reader_init(&r, data, size);
    uint8_t fl = reader_u8(&r);
    uint8_t iv = reader_u8(&r);
    int64_t interval = (int64_t)iv * 64;
    int64_t base = (int64_t)reader_be32(&r) + (fl & 0x80 ? (int64_t)1 << 40 : 0);
    size_t n = reader_be16(&r);
    const uint8_t *in = fuzz_take(&r, &n);
    uint8_t *log = fuzz_alloc(n);
    memcpy(log, in, n);
    size_t m = reader_be16(&r), t = SIZE_MAX;
    const uint8_t *index = fuzz_take(&r, &m);
    const uint8_t *timeindex = fuzz_take(&r, &t);
    int64_t gaps_below = iv & 1 ? base + 8 * (int64_t)iv : INT64_MAX;
    bool scan = fl & 1;
    int flags = (fl & 2 ? SEG_GAPS : 0) | (fl & 4 ? SEG_EPOCH : 0) | (fl & 8 ? SEG_NO_INDEX : 0);
    if (fl & 16)
        fix_crcs(log, n);

    dir_setup();
    dir_clear();
    put_file(base, ".log", log, n);
    if (!(fl & 32))
        put_file(base, ".index", index, m);
    if (!(fl & 64))
        put_file(base, ".timeindex", timeindex, t);

    bool truncated;
    struct segment *first =
        open_checked(base, scan, flags, gaps_below, interval, (int64_t)n, &truncated);
    int64_t kept = first->size;
    struct segment *second =
        open_checked(base, true, flags, gaps_below, interval, kept, &truncated);
    if (scan)
        FUZZ_CHECK(!truncated && second->size == first->size &&
                   second->next_offset == first->next_offset);
    struct segment *third =
        open_checked(base, false, flags, gaps_below, interval, second->size, &truncated);
    FUZZ_CHECK(!truncated && same_segment(second, third));
    segment_free(first);
    segment_free(second);
    segment_free(third);
    free(log);
    return 0;
}
