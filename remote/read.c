/*
 * read.c - reading a remote topic file, data/follow, or records.
 *
 * A stream reader maps the kernel's offset to a stream position (as the
 * store's streams do: kpos -> apos, so a sequential reader continues at the
 * next live byte when records vanished under it), finds the index entry that
 * holds the position (index.c) and renders that entry's records, fetched with
 * a read_committed consumer assigned to the entry's partition at its first
 * offset. A reader keeps a few such fetchers, one per partition it is reading,
 * so a sequential reader of the topic file goes from entry to entry without
 * fetching anything twice; a fetched record past the entry's end is kept for
 * the partition's next entry.
 *
 * An entry renders the records the cluster still has: when retention or
 * compaction removed some, the entry shows fewer bytes, and its positions past
 * them hold nothing (the next read starts at the next entry). A position past
 * what is indexed syncs the index first (a bounded step of the indexer), so a
 * cat reaches everything the cluster had when it got to the end.
 *
 * A follow file of a mount with --group G starts where G's committed offset
 * says (its kernel offset 0 is the first byte of that record; shift is that
 * position in the stream) and returns at most one record per read, so what the
 * reader took is exactly known: after a record's last byte the offset after it
 * is done, which group.c commits to G at most once a second while the file
 * is open and when it is closed.
 *
 * records: the partition's records as JSON lines (fs_json_line), from the
 * log start, read with one fetcher; the end is the log end of a sync made when
 * the reader opened the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/writer.h"
#include "remote/private.h"

#define FETCH_WAIT_MS 100
#define SKIP_MAX      4096         /* records a fetcher reads and drops rather than reassign */
#define RECORDS_STEP  (256u << 10) /* JSON rendered ahead of a records reader */

struct fetcher {
    int32_t partition; /* -1 unused */
    struct brook_client *c;
    int64_t pos; /* the next message it delivers is the first at or after pos */
    bool held;   /* a message taken but not used yet: */
    int64_t h_off;
    int64_t h_from; /* the held record is the first at or after any position in [h_from, h_off] */
    uint8_t *h_val;
    size_t h_len, h_cap;
    bool h_null;
    int64_t h_ts;
    uint64_t used;
};

struct fs_breader {
    struct fs_btopic *t;
    int32_t partition; /* -1: the topic file */
    bool records;
    int64_t kpos, apos;
    /* a follow file read for the mount's consumer group */
    bool group;
    int64_t shift; /* the stream position of kernel offset 0 */
    int64_t done;  /* the offset after the last whole record returned, -1 none */
    struct rt_gslot *gslot;
    /* the entry being rendered */
    bool have;
    int64_t num;
    struct rt_entry e;
    int64_t s_pos;  /* position of the next byte of the entry not rendered */
    int64_t s_next; /* its next offset to render */
    uint8_t *hand;  /* the record in hand: value + "\n", from hand_off on */
    size_t hand_len, hand_off, hand_cap;
    struct fetcher f[RT_FETCHERS];
    uint64_t tick;
    /* records */
    struct writer out;
    size_t out_off;
    int64_t r_end; /* the log end when opened */
    int64_t r_next;
};

static void fetcher_reset(struct fetcher *f)
{
    brook_client_free(f->c);
    f->c = NULL;
    f->partition = -1;
    f->held = false;
}

/* Hold a copy of m in f (the next entry of its partition starts with it). */
static int fetcher_hold(struct fetcher *f, const struct brook_message *m)
{
    if (m->value_len > f->h_cap) {
        uint8_t *v = realloc(f->h_val, m->value_len);
        if (!v)
            return -ENOMEM;
        f->h_val = v;
        f->h_cap = m->value_len;
    }
    if (m->value_len)
        memcpy(f->h_val, m->value, m->value_len);
    f->h_len = m->value_len;
    f->h_null = !m->value;
    f->h_off = m->offset;
    f->h_ts = m->timestamp;
    f->held = true;
    return 0;
}

/* Give f a new client reading partition from pos. */
static int fetcher_assign(struct fs_breader *rd, struct fetcher *f, int32_t partition, int64_t pos)
{
    fetcher_reset(f);
    int rc = rt_client(rd->t->r, rt_fetch_conf, &f->c);
    struct brook_offset at = {BROOK_OFFSET_AT, pos};
    if (!rc)
        rc = brook_assign(f->c, rd->t->name, &partition, 1, &at);
    if (rc) {
        fetcher_reset(f);
        return rt_errno(rc);
    }
    f->partition = partition;
    f->pos = pos;
    return 0;
}

/* A fetcher that will deliver the first record of partition at or after pos. */
static int fetcher_for(struct fs_breader *rd, int32_t partition, int64_t pos, struct fetcher **out)
{
    struct fetcher *f = NULL, *lru = &rd->f[0];
    for (int i = 0; i < RT_FETCHERS; i++) {
        if (rd->f[i].partition == partition)
            f = &rd->f[i];
        if (rd->f[i].used < lru->used)
            lru = &rd->f[i];
    }
    if (f && f->held && f->h_off < pos)
        f->held = false; /* before what is wanted: drop it */
    bool fits = f && (f->held ? f->h_from <= pos : f->pos <= pos && pos - f->pos < SKIP_MAX);
    if (!fits) {
        if (!f)
            f = lru;
        int rc = fetcher_assign(rd, f, partition, pos);
        if (rc)
            return rc;
    }
    f->used = ++rd->tick;
    *out = f;
    return 0;
}

/* The next record of f at or after pos into f's held copy: 1, 0 when the
 * cluster has none yet (the fetch came back empty at its end), or an error. */
static int fetcher_next(struct fs_breader *rd, struct fetcher *f, int64_t pos)
{
    int64_t waited = 0;
    while (!f->held || f->h_off < pos) {
        const struct brook_message *m;
        f->held = false;
        int rc = brook_consume(f->c, &m, FETCH_WAIT_MS);
        if (rc < 0 && (waited += FETCH_WAIT_MS) < rd->t->r->opt.timeout_ms) {
            /* the partition stopped (a leader moved, say): start again */
            if ((rc = fetcher_assign(rd, f, f->partition, pos)))
                return rc;
            continue;
        }
        if (rc < 0)
            return rt_errno(rc);
        if (rc == 1) {
            f->pos = m->offset + 1;
            if (m->offset >= pos && (rc = fetcher_hold(f, m)))
                return rc;
            f->h_from = pos; /* what came before it was below pos */
            continue;
        }
        if (brook_consumer_at_end(f->c))
            return 0;
        if ((waited += FETCH_WAIT_MS) >= rd->t->r->opt.timeout_ms)
            return -EIO; /* the cluster does not answer */
    }
    return 1;
}

/* ---- streams ---- */

static int64_t entry_start(const struct fs_breader *rd)
{
    return rd->partition < 0 ? rd->e.tpos : rd->e.ppos;
}

/* Make the held record of f the record in hand. */
static int take_hand(struct fs_breader *rd, struct fetcher *f)
{
    size_t need = f->h_len + 1;
    if (need > rd->hand_cap) {
        uint8_t *v = realloc(rd->hand, need);
        if (!v)
            return -ENOMEM;
        rd->hand = v;
        rd->hand_cap = need;
    }
    if (f->h_len)
        memcpy(rd->hand, f->h_val, f->h_len);
    rd->hand[f->h_len] = '\n';
    rd->hand_len = need;
    rd->hand_off = 0;
    f->held = false;
    return 0;
}

/* An entry whose first records retention deleted: its live records are its
 * last ones, so they start where it ends less their bytes. Count those bytes
 * (the fetcher then starts again at the log start). */
static int align_suffix(struct fs_breader *rd, int64_t log_start)
{
    struct fetcher *f;
    int64_t live = 0, pos = log_start;
    for (;;) {
        int rc = fetcher_for(rd, rd->e.partition, pos, &f);
        if (!rc)
            rc = fetcher_next(rd, f, pos);
        if (rc < 0)
            return rc;
        if (rc == 0 || f->h_off >= rd->e.end)
            break;
        live += (int64_t)f->h_len + 1;
        pos = f->h_off + 1;
        f->held = false;
    }
    int64_t start = entry_start(rd) + rd->e.bytes - live;
    rd->s_pos = start > entry_start(rd) ? start : entry_start(rd);
    rd->s_next = log_start;
    return 0;
}

/* Find the entry at a (or the next one): 0, 1 at the end of the index. The
 * entry being rendered may have grown (the index extends its last entry while
 * records come): then rendering goes on where it was instead of again from the
 * entry's start. */
static int seek_entry(struct fs_breader *rd, int64_t a)
{
    struct fs_btopic *t = rd->t;
    int64_t was = rd->have ? rd->num : -1;
    pthread_mutex_lock(&t->mu);
    int found = rt_find(t, rd->partition, a, &rd->e, &rd->num);
    pthread_mutex_unlock(&t->mu);
    rd->have = found == 1;
    if (rd->have && rd->num == was && rd->s_pos <= a)
        return 0;
    rd->hand_len = rd->hand_off = 0;
    if (!rd->have)
        return 1;
    rd->s_pos = entry_start(rd);
    rd->s_next = rd->e.first;
    pthread_mutex_lock(&t->mu);
    int64_t log_start = t->parts[rd->e.partition].log_start;
    pthread_mutex_unlock(&t->mu);
    return rd->e.first < log_start ? align_suffix(rd, log_start) : 0;
}

/* Whether the index extended the entry being rendered since it was looked up
 * (the last entry grows while records come); then rd->e is the entry now. */
static bool entry_grew(struct fs_breader *rd)
{
    struct fs_btopic *t = rd->t;
    bool grew = false;
    pthread_mutex_lock(&t->mu);
    if (rd->num >= t->base && rd->num < t->base + (int64_t)t->n &&
        t->ent[rd->num - t->base].end > rd->e.end) {
        rd->e = t->ent[rd->num - t->base];
        grew = true;
    }
    pthread_mutex_unlock(&t->mu);
    return grew;
}

/* Render the entry from *a into buf (up to size, n so far). Returns 0, with *a
 * at the entry's end when it has nothing more, or an error. */
static int entry_render(struct fs_breader *rd, int64_t *a, uint8_t *buf, size_t size, size_t *n)
{
    int64_t end = entry_start(rd) + rd->e.bytes;
    while (*n < size && *a < end) {
        if (rd->hand_off < rd->hand_len) {
            int64_t skip = *a - rd->s_pos; /* bytes of the hand before a */
            if (skip > 0) {
                size_t k = (size_t)skip < rd->hand_len - rd->hand_off ? (size_t)skip
                                                                      : rd->hand_len - rd->hand_off;
                rd->hand_off += k;
                rd->s_pos += (int64_t)k;
                continue;
            }
            size_t k = rd->hand_len - rd->hand_off;
            if (k > size - *n)
                k = size - *n;
            memcpy(buf + *n, rd->hand + rd->hand_off, k);
            rd->hand_off += k;
            rd->s_pos += (int64_t)k;
            *n += k;
            *a = rd->s_pos;
            if (rd->hand_off == rd->hand_len) {
                rd->done = rd->s_next; /* the offset after the record in hand */
                if (rd->group)
                    break; /* one record per read: the commit is what the reader took */
            }
            continue;
        }
        if (rd->s_next >= rd->e.end && entry_grew(rd)) {
            end = entry_start(rd) + rd->e.bytes;
            continue;
        }
        if (rd->s_next >= rd->e.end) {
            *a = end; /* what is left of the entry is gone */
            break;
        }
        struct fetcher *f;
        int rc = fetcher_for(rd, rd->e.partition, rd->s_next, &f);
        if (!rc)
            rc = fetcher_next(rd, f, rd->s_next);
        if (rc < 0)
            return rc;
        if (rc == 0 || f->h_off >= rd->e.end) {
            rd->s_next = rd->e.end; /* records of the entry the cluster no longer has */
            continue;
        }
        rd->s_next = f->h_off + 1;
        if ((rc = take_hand(rd, f)))
            return rc;
    }
    return 0;
}

static ssize_t stream_read(struct fs_breader *rd, int64_t off, uint8_t *buf, size_t size)
{
    struct fs_btopic *t = rd->t;
    int64_t a = off == rd->kpos ? rd->apos : off + rd->shift;
    size_t n = 0;
    int rc = 0;
    bool synced = false;
    while (n < size && !(rd->group && n > 0 && rd->hand_off == rd->hand_len)) {
        pthread_mutex_lock(&t->mu);
        int64_t total = rt_size(t, rd->partition);
        pthread_mutex_unlock(&t->mu);
        if (a >= total) {
            if (synced || n > 0)
                break;
            synced = true;
            if ((rc = rt_sync(t, (int64_t)size)))
                break;
            continue;
        }
        int64_t e_end = rd->have ? entry_start(rd) + rd->e.bytes : -1;
        if (!rd->have || a < entry_start(rd) || a >= e_end || a < rd->s_pos) {
            if ((rc = seek_entry(rd, a)))
                break;
            if (a < rd->s_pos)
                a = rd->s_pos; /* the bytes before are gone */
        }
        if ((rc = entry_render(rd, &a, buf, size, &n)))
            break;
    }
    if (rc < 0 && n == 0)
        return rc;
    rd->kpos = off + (int64_t)n;
    rd->apos = a;
    return (ssize_t)n;
}

/* ---- records ---- */

static void json_bytes(struct writer *w, const void *p, size_t len, bool null)
{
    fs_json_bytes(w, null ? NULL : p, null ? -1 : (int32_t)len);
}

static int render_message(struct fs_breader *rd, const struct brook_message *m)
{
    struct writer *w = &rd->out;
    char num[64];
    int k = snprintf(num, sizeof num,
                     "{\"offset\":%lld,\"timestamp\":%lld,\"key\":", (long long)m->offset,
                     (long long)m->timestamp);
    writer_bytes(w, num, (size_t)k);
    json_bytes(w, m->key, m->key_len, !m->key);
    writer_bytes(w, ",\"headers\":[", 12);
    for (size_t i = 0; i < m->n_headers; i++) {
        const struct brook_header *h = &m->headers[i];
        if (i)
            writer_u8(w, ',');
        writer_bytes(w, "{\"key\":", 7);
        json_bytes(w, h->key, h->key_len, false);
        writer_bytes(w, ",\"value\":", 9);
        json_bytes(w, h->value, h->value_len, !h->value);
        writer_u8(w, '}');
    }
    writer_bytes(w, "],\"value\":", 10);
    json_bytes(w, m->value, m->value_len, !m->value);
    writer_bytes(w, "}\n", 2);
    return w->err;
}

/* Render records until out holds want bytes or the end is reached. */
static int records_fill(struct fs_breader *rd, size_t want)
{
    struct fetcher *f;
    int rc = 0;
    if (rd->out_off > 0) { /* what was returned goes: the buffer stays small */
        memmove(rd->out.buf, rd->out.buf + rd->out_off, rd->out.len - rd->out_off);
        rd->out.len -= rd->out_off;
        rd->out_off = 0;
    }
    while (!rc && rd->out.len - rd->out_off < want && rd->r_next < rd->r_end) {
        rc = fetcher_for(rd, rd->partition, rd->r_next, &f);
        if (rc)
            break;
        const struct brook_message *m;
        int got = brook_consume(f->c, &m, FETCH_WAIT_MS);
        if (got < 0)
            return rt_errno(got);
        if (got == 0) {
            if (brook_consumer_at_end(f->c))
                break;
            continue;
        }
        f->pos = m->offset + 1;
        if (m->offset < rd->r_next)
            continue;
        rd->r_next = m->offset + 1;
        if (m->offset < rd->r_end)
            rc = render_message(rd, m);
    }
    return rc;
}

static ssize_t records_read(struct fs_breader *rd, int64_t off, uint8_t *buf, size_t size)
{
    if (off != rd->kpos) { /* not sequential: render again from the log start */
        writer_reset(&rd->out);
        rd->out_off = 0;
        rd->kpos = 0;
        rd->r_next = 0;
    }
    for (;;) {
        size_t have = rd->out.len - rd->out_off;
        if (rd->kpos < off && have > 0) { /* skip what lies before off */
            size_t k = (size_t)(off - rd->kpos) < have ? (size_t)(off - rd->kpos) : have;
            rd->out_off += k;
            rd->kpos += (int64_t)k;
            continue;
        }
        if (rd->kpos >= off && have >= size)
            break;
        int rc = records_fill(rd, size < RECORDS_STEP ? RECORDS_STEP : size);
        if (rc)
            return rc;
        if (rd->out.len - rd->out_off == have)
            break; /* the end */
    }
    if (rd->kpos < off)
        return 0;
    size_t have = rd->out.len - rd->out_off;
    size_t k = have < size ? have : size;
    memcpy(buf, rd->out.buf + rd->out_off, k);
    rd->out_off += k;
    rd->kpos += (int64_t)k;
    if (rd->out_off == rd->out.len) {
        writer_reset(&rd->out);
        rd->out_off = 0;
    }
    return (ssize_t)k;
}

/* ---- a consumer group's follow ---- */

/* The stream position of offset off of rd's partition: where its record
 * starts, or where the next live one does; the end when off is past what is
 * indexed. The bytes of an entry's records before off are counted by fetching
 * them (an entry holds at most RT_ENTRY_BYTES). */
static int group_position(struct fs_breader *rd, int64_t off, int64_t *pos)
{
    struct fs_btopic *t = rd->t;
    struct rt_part *pp = &t->parts[rd->partition];
    pthread_mutex_lock(&t->mu);
    *pos = pp->pbytes;
    size_t lo = 0, hi = pp->n; /* the first entry ending after off */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ent[pp->ents[mid] - t->base].end <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t start = lo < pp->n ? t->ent[pp->ents[lo] - t->base].ppos : -1;
    pthread_mutex_unlock(&t->mu);
    if (start < 0)
        return 0;
    int rc = seek_entry(rd, start);
    while (!rc && rd->have && rd->s_next < off && rd->s_next < rd->e.end) {
        struct fetcher *f;
        if (!(rc = fetcher_for(rd, rd->e.partition, rd->s_next, &f)))
            rc = fetcher_next(rd, f, rd->s_next);
        if (rc <= 0 || f->h_off >= off)
            break;
        rd->s_pos += (int64_t)f->h_len + 1;
        rd->s_next = f->h_off + 1;
        f->held = false;
        rc = 0;
    }
    if (rc < 0)
        return rc;
    *pos = rd->have ? rd->s_pos : *pos;
    rd->have = false; /* the first read seeks to the position afresh */
    return 0;
}

int rt_reader_follow(struct fs_breader *rd)
{
    struct remote *r = rd->t->r;
    if (!r->group || rd->records || rd->partition < 0)
        return 0;
    int64_t off, pos = 0;
    int rc = rt_group_committed(r, rd->t->name, rd->partition, &off);
    if (rc)
        return rt_errno(rc);
    if ((rc = rt_sync(rd->t, -1)))
        return rc;
    if (off >= 0)
        rc = group_position(rd, off, &pos);
    else if (!r->reset_earliest) { /* auto.offset.reset=latest: new records only */
        pthread_mutex_lock(&rd->t->mu);
        pos = rt_size(rd->t, rd->partition);
        pthread_mutex_unlock(&rd->t->mu);
    }
    if (rc)
        return rc;
    if ((rc = rt_group_join(r, rd->t, rd->partition, off, &rd->gslot)))
        return rc;
    rd->group = true;
    rd->shift = rd->apos = pos;
    rd->kpos = 0;
    return 0;
}

/* ---- the backend's reader ops ---- */

int rt_reader_open(void *be, struct fs_btopic *t, int32_t partition, bool records, void **cache,
                   struct fs_breader **out)
{
    (void)be, (void)cache;
    struct fs_breader *rd = calloc(1, sizeof *rd);
    if (!rd)
        return -ENOMEM;
    rd->t = t;
    rd->partition = partition;
    rd->records = records;
    rd->done = -1;
    for (int i = 0; i < RT_FETCHERS; i++)
        rd->f[i].partition = -1;
    rt_topic_hold(t);
    if (records) {
        writer_init(&rd->out, 1u << 30);
        int rc = rt_sync(t, -1);
        pthread_mutex_lock(&t->mu);
        rd->r_end = t->parts[partition].indexed;
        pthread_mutex_unlock(&t->mu);
        if (rc) {
            rt_reader_close(rd);
            return rc;
        }
    }
    *out = rd;
    return 0;
}

ssize_t rt_reader_read(struct fs_breader *rd, int64_t off, uint8_t *buf, size_t size)
{
    if (rd->records)
        return records_read(rd, off, buf, size);
    ssize_t n = stream_read(rd, off, buf, size);
    if (rd->group && n > 0)
        rt_group_took(rd->t->r, rd->gslot, rd->done);
    return n;
}

bool rt_reader_at_end(struct fs_breader *rd, int64_t off)
{
    if (rd->records)
        return true;
    int64_t a = off < 0 || off == rd->kpos ? rd->apos : off + rd->shift;
    pthread_mutex_lock(&rd->t->mu);
    bool end = a >= rt_size(rd->t, rd->partition);
    pthread_mutex_unlock(&rd->t->mu);
    return end;
}

void rt_reader_close(struct fs_breader *rd)
{
    if (rd->gslot)
        rt_group_leave(rd->t->r, rd->gslot);
    for (int i = 0; i < RT_FETCHERS; i++) {
        fetcher_reset(&rd->f[i]);
        free(rd->f[i].h_val);
    }
    if (rd->records)
        writer_release(&rd->out);
    free(rd->hand);
    rt_topic_drop(rd->t);
    free(rd);
}
