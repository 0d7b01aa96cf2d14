/*
 * messages.c - GET /api/v1/topics/T/messages: records of a topic from an
 * offset, a timestamp, per-partition offsets, or the newest N, with a text filter
 * run here on the server.
 *
 * Messages are found in two passes. The first scans each chosen partition and
 * keeps only (offset, timestamp) of records that pass the filter - at most
 * `limit` per partition, within a budget of records and bytes - then the
 * partitions are merged by timestamp, taking records of each partition in
 * offset order (oldest first when seeking forward, newest first for "newest"),
 * so what is returned from a partition is always a run of its matches and
 * next_offset can continue from it. The second pass reads just the chosen records
 * again and renders them, stopping at a total size, so memory follows the answer,
 * not the scan. "Newest" scans backwards in windows that double in size, so a
 * filter that matches recent records does not read the whole log.
 *
 * Paging: a forward answer gives each partition's next_offset, and offsets=P:O,...
 * continues from them; a newest answer gives each partition's prev_offset, and
 * before=P:O,... returns the newest records below them, so a page can walk back
 * from the end as far as the log goes.
 *
 * isolation=read_committed (the default) shows what a read_committed consumer
 * sees, up to the last stable offset; isolation=read_uncommitted shows everything
 * up to the high watermark, transaction markers included, each transactional
 * record marked committed, aborted or open (records.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/private.h"
#include "lib/xalloc.h"
#include "proto/record.h"

#define DEFAULT_LIMIT    50
#define MAX_ANSWER_BYTES (16 << 20) /* rendered keys and values in one answer */
#define RESCAN_GAP       4096       /* second pass: restart a read past this gap */

/* ---- messages: the first pass ---- */

struct hit {
    int64_t offset, timestamp;
};

struct part_scan {
    struct store_partition *p;
    int32_t index;
    int64_t log_start, end; /* at the start of the request */
    int64_t from;           /* forward: where the scan starts */
    int64_t next;           /* where the scan stopped (newest: the lowest offset scanned) */
    struct hit *hits;       /* matches in offset order */
    size_t nhits, cap;
    size_t taken; /* hits chosen by the merge */
    int64_t scanned, budget;
};

struct query {
    const char *filter;
    size_t filter_len;
    int64_t limit;
    bool newest;
    bool committed; /* isolation=read_committed */
};

struct hit_sink {
    struct part_scan *ps;
    const struct query *q;
    int64_t limit; /* stop after this many hits (forward) */
};

static void add_hit(struct part_scan *ps, int64_t offset, int64_t ts)
{
    XARRAY_GROW(ps->hits, ps->cap, ps->nhits + 1);
    ps->hits[ps->nhits++] = (struct hit){offset, ts};
}

static bool hit_cb(void *arg, int32_t partition, const struct record *r,
                   const struct console_mark *m)
{
    struct hit_sink *s = arg;
    s->ps->scanned++;
    if (console_record_matches(r, s->q->filter, s->q->filter_len))
        add_hit(s->ps, r->offset, r->timestamp);
    return (int64_t)s->ps->nhits >= s->limit || s->ps->scanned >= s->ps->budget;
}

static int scan_forward(struct part_scan *ps, const struct query *q)
{
    struct hit_sink s = {ps, q, q->limit};
    return console_scan(ps->p, ps->from, ps->end, CONSOLE_SCAN_BYTES, q->committed, hit_cb, &s,
                        &ps->next);
}

/* Newest matches: windows of growing size going back from the end, each window's
 * hits put before those found so far, keeping the newest `limit`. */
static int scan_newest(struct part_scan *ps, const struct query *q)
{
    int64_t end = ps->end, window = q->limit * (q->filter_len ? 8 : 1);
    struct part_scan win = *ps;
    int rc = 0;
    while (!rc && (int64_t)ps->nhits < q->limit && end > ps->log_start &&
           ps->scanned < ps->budget) {
        int64_t start = end - window > ps->log_start ? end - window : ps->log_start, next;
        win.hits = NULL;
        win.nhits = win.cap = 0;
        win.scanned = ps->scanned;
        struct hit_sink s = {&win, q, INT64_MAX};
        rc = console_scan(ps->p, start, end, CONSOLE_SCAN_BYTES, q->committed, hit_cb, &s, &next);
        ps->scanned = win.scanned;
        for (size_t i = 0; i < ps->nhits; i++) /* older window first, then what we had */
            add_hit(&win, ps->hits[i].offset, ps->hits[i].timestamp);
        free(ps->hits);
        size_t keep = win.nhits > (size_t)q->limit ? (size_t)q->limit : win.nhits;
        if (keep)
            memmove(win.hits, win.hits + (win.nhits - keep), keep * sizeof *win.hits);
        ps->hits = win.hits;
        ps->nhits = keep;
        ps->cap = win.cap;
        end = start;
        window *= 2;
    }
    ps->next = end;
    return rc;
}

/* Merge by timestamp, each partition in offset order; returns how many were taken.
 * Forward takes from the front of each partition's hits, newest from the back. */
static int64_t merge(struct part_scan *ps, int n, const struct query *q)
{
    int64_t taken = 0;
    while (taken < q->limit) {
        int best = -1;
        int64_t best_ts = 0;
        for (int i = 0; i < n; i++) {
            if (ps[i].taken == ps[i].nhits)
                continue;
            size_t k = q->newest ? ps[i].nhits - 1 - ps[i].taken : ps[i].taken;
            int64_t ts = ps[i].hits[k].timestamp;
            if (best < 0 || (q->newest ? ts > best_ts : ts < best_ts)) {
                best = i;
                best_ts = ts;
            }
        }
        if (best < 0)
            break;
        ps[best].taken++;
        taken++;
    }
    return taken;
}

/* ---- messages: the second pass ---- */

struct render {
    const struct hit *want; /* the chosen hits of one partition, ascending */
    size_t n, pos;
    json_t *out; /* object: "partition:offset" -> record */
    int64_t bytes;
};

static bool render_cb(void *arg, int32_t partition, const struct record *r,
                      const struct console_mark *m)
{
    struct render *rd = arg;
    while (rd->pos < rd->n && rd->want[rd->pos].offset < r->offset)
        rd->pos++;
    if (rd->pos == rd->n)
        return true;
    if (rd->want[rd->pos].offset == r->offset) {
        char key[48];
        snprintf(key, sizeof key, "%d:%lld", partition, (long long)r->offset);
        json_object_set_new(rd->out, key, console_record_json(partition, r, m));
        rd->bytes += (r->key_len > 0 ? r->key_len : 0) + (r->value_len > 0 ? r->value_len : 0);
        rd->pos++;
    }
    return rd->pos == rd->n || rd->bytes > MAX_ANSWER_BYTES ||
           (rd->want[rd->pos].offset - r->offset > RESCAN_GAP);
}

/* Render the chosen hits of one partition into out. When the answer fills up,
 * a forward search takes back what it could not render, so that next_offset
 * continues right after the last record returned. */
static int render_partition(struct part_scan *ps, const struct query *q, json_t *out,
                            int64_t *bytes)
{
    bool newest = q->newest;
    size_t first = newest ? ps->nhits - ps->taken : 0;
    struct render rd = {ps->hits + first, ps->taken, 0, out, *bytes};
    int rc = 0;
    while (!rc && rd.pos < rd.n && rd.bytes <= MAX_ANSWER_BYTES) {
        int64_t next, from = rd.want[rd.pos].offset, end = rd.want[rd.n - 1].offset + 1;
        size_t before = rd.pos;
        rc =
            console_scan(ps->p, from, end, CONSOLE_SCAN_BYTES, q->committed, render_cb, &rd, &next);
        if (rd.pos == before) /* gone meanwhile (retention): skip it */
            rd.pos++;
    }
    if (!newest && rd.pos < rd.n)
        ps->taken = rd.pos;
    *bytes = rd.bytes;
    return rc;
}

/* The answer's records in merge order, looked up in the rendered set. */
static json_t *ordered(struct part_scan *ps, int n, const struct query *q, json_t *rendered)
{
    json_t *arr = json_array();
    size_t *pos = xcalloc((size_t)n, sizeof *pos);
    for (;;) {
        int best = -1;
        int64_t best_ts = 0;
        for (int i = 0; i < n; i++) {
            if (pos[i] == ps[i].taken)
                continue;
            size_t k = q->newest ? ps[i].nhits - 1 - pos[i] : pos[i];
            if (best < 0 || (q->newest ? ps[i].hits[k].timestamp > best_ts
                                       : ps[i].hits[k].timestamp < best_ts)) {
                best = i;
                best_ts = ps[i].hits[k].timestamp;
            }
        }
        if (best < 0)
            break;
        size_t k = q->newest ? ps[best].nhits - 1 - pos[best] : pos[best];
        char key[48];
        snprintf(key, sizeof key, "%d:%lld", ps[best].index, (long long)ps[best].hits[k].offset);
        json_t *rec = json_object_get(rendered, key);
        if (rec)
            json_array_append(arr, rec);
        pos[best]++;
    }
    free(pos);
    return arr;
}

/* ---- messages: the request ---- */

struct msg_args {
    int64_t partition;         /* -1: all */
    int64_t offset, timestamp; /* -1 when not given */
    int64_t *starts;           /* offsets=P:O,...: per partition, -1 if not listed */
    int64_t *befores;          /* before=P:O,...: per partition, -1 if not listed */
    struct query q;
};

/* offsets=P:O,P:O (where "Load more" continues) or before=P:O,P:O (where "Older"
 * goes back from): one offset per listed partition. */
static int positions_arg(struct creq *cr, const char *name, int32_t nparts, int64_t **out)
{
    const char *s = console_param(cr, name);
    if (!s)
        return 0;
    int64_t *pos = *out = xmalloc((size_t)nparts * sizeof *pos);
    for (int32_t i = 0; i < nparts; i++)
        pos[i] = -1;
    while (*s) {
        char *end;
        long long part = strtoll(s, &end, 10), off = -1;
        if (end != s && *end == ':' && end[1] >= '0' && end[1] <= '9')
            off = strtoll(end + 1, &end, 10);
        if (part < 0 || part >= nparts || off < 0 || (*end && *end != ',')) {
            console_reply_error(cr->req, 400, "%s must be partition:offset,... ", name);
            return -EINVAL;
        }
        pos[part] = off;
        s = *end ? end + 1 : end;
    }
    return 0;
}

static int msg_args(struct creq *cr, int32_t nparts, struct msg_args *a)
{
    const char *part = console_param(cr, "partition");
    a->partition = -1;
    if (part && strcmp(part, "all") &&
        (!console_parse_i64(part, &a->partition) || a->partition < 0)) {
        console_reply_error(cr->req, 400, "partition must be a partition number or all");
        return -EINVAL;
    }
    if (a->partition >= nparts) {
        console_reply_error(cr->req, 404, "unknown partition %lld (the topic has %d)",
                            (long long)a->partition, nparts);
        return -ENOENT;
    }
    if (console_param_i64(cr, "offset", -1, 0, INT64_MAX, &a->offset) ||
        console_param_i64(cr, "timestamp", -1, 0, INT64_MAX, &a->timestamp) ||
        console_param_i64(cr, "limit", DEFAULT_LIMIT, 1, CONSOLE_MAX_LIMIT, &a->q.limit))
        return -EINVAL;
    if (a->offset >= 0 && a->timestamp >= 0) {
        console_reply_error(cr->req, 400, "give offset or timestamp, not both");
        return -EINVAL;
    }
    a->q.filter = console_param(cr, "filter");
    a->q.filter_len = a->q.filter ? strlen(a->q.filter) : 0;
    if (a->q.filter_len > CONSOLE_MAX_FILTER) {
        console_reply_error(cr->req, 400, "filter is longer than %d bytes", CONSOLE_MAX_FILTER);
        return -EINVAL;
    }
    if (console_isolation(cr, &a->q.committed))
        return -EINVAL;
    if (positions_arg(cr, "offsets", nparts, &a->starts) ||
        positions_arg(cr, "before", nparts, &a->befores))
        return -EINVAL;
    if ((a->starts || a->befores) && (a->offset >= 0 || a->timestamp >= 0 || a->partition >= 0)) {
        console_reply_error(cr->req, 400,
                            "offsets and before go without partition, offset and timestamp");
        return -EINVAL;
    }
    if (a->starts && a->befores) {
        console_reply_error(cr->req, 400, "give offsets or before, not both");
        return -EINVAL;
    }
    a->q.newest = a->offset < 0 && a->timestamp < 0 && !a->starts;
    return 0;
}

/* Where a forward scan of one partition starts: the first record at or after the
 * timestamp, or the offset asked for within [log start, end]. */
static int64_t start_offset(struct part_scan *ps, const struct msg_args *a)
{
    int64_t off, ts;
    if (a->timestamp >= 0)
        return store_partition_offset_for_time(ps->p, a->timestamp, &off, &ts) ? ps->end : off;
    off = a->starts ? a->starts[ps->index] : a->offset;
    return off < ps->log_start ? ps->log_start : off > ps->end ? ps->end : off;
}

/* Newest first: where the next older page ends (exclusive) - the oldest record
 * returned, or past the newest match not returned, or where the scan stopped. */
static int64_t prev_offset(const struct part_scan *ps)
{
    if (ps->taken)
        return ps->hits[ps->nhits - ps->taken].offset;
    return ps->nhits ? ps->hits[ps->nhits - 1].offset + 1 : ps->next;
}

static json_t *positions_json(struct part_scan *ps, int n, const struct query *q, bool *more,
                              bool *older)
{
    json_t *arr = json_array();
    *more = *older = false;
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        int64_t next = ps[i].taken   ? ps[i].hits[ps[i].taken - 1].offset + 1
                       : ps[i].nhits ? ps[i].hits[0].offset
                                     : ps[i].next;
        json_object_set_new(o, "partition", json_integer(ps[i].index));
        json_object_set_new(o, "log_start_offset", json_integer(ps[i].log_start));
        json_object_set_new(o, "end_offset", json_integer(ps[i].end));
        if (!q->newest) {
            json_object_set_new(o, "next_offset", json_integer(next));
            *more = *more || next < ps[i].end;
        } else {
            int64_t prev = prev_offset(&ps[i]);
            json_object_set_new(o, "prev_offset", json_integer(prev));
            *older = *older || prev > ps[i].log_start;
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static int find_messages(struct creq *cr, struct store_topic *t, const struct msg_args *a,
                         json_t *answer)
{
    int32_t total = store_topic_partition_count(t);
    int n = 0, rc = 0;
    struct part_scan *ps = xcalloc((size_t)total, sizeof *ps);
    for (int32_t k = 0; k < total; k++)
        if ((a->partition < 0 || a->partition == k) && (!a->starts || a->starts[k] >= 0) &&
            (!a->befores || a->befores[k] >= 0) &&
            (ps[n].p = store_topic_partition(t, k))) /* NULL: the store could not open it */
            n++;
    for (int i = 0; i < n; i++) {
        ps[i].index = store_partition_index(ps[i].p);
        ps[i].log_start = store_partition_log_start(ps[i].p);
        ps[i].end = console_end(ps[i].p, a->q.committed);
        if (a->befores && a->befores[ps[i].index] < ps[i].end)
            ps[i].end = a->befores[ps[i].index];
        if (ps[i].end < ps[i].log_start)
            ps[i].end = ps[i].log_start;
        ps[i].budget = CONSOLE_SCAN_RECORDS / n > 1000 ? CONSOLE_SCAN_RECORDS / n : 1000;
        ps[i].from = ps[i].next = a->q.newest ? ps[i].end : start_offset(&ps[i], a);
        rc = rc ? rc : a->q.newest ? scan_newest(&ps[i], &a->q) : scan_forward(&ps[i], &a->q);
    }
    int64_t scanned = 0, bytes = 0;
    json_t *rendered = json_object();
    merge(ps, n, &a->q);
    for (int i = 0; i < n; i++) {
        scanned += ps[i].scanned;
        if (!rc && ps[i].taken)
            rc = render_partition(&ps[i], &a->q, rendered, &bytes);
    }
    bool more, older;
    json_object_set_new(answer, "messages", ordered(ps, n, &a->q, rendered));
    json_object_set_new(answer, "partitions", positions_json(ps, n, &a->q, &more, &older));
    json_object_set_new(answer, "scanned", json_integer(scanned));
    json_object_set_new(answer, "more", json_boolean(more));
    json_object_set_new(answer, "older", json_boolean(older));
    json_decref(rendered);
    for (int i = 0; i < n; i++)
        free(ps[i].hits);
    free(ps);
    return rc;
}

void api_messages(struct creq *cr)
{
    struct store_topic *t = api_topic_ref(cr, cr->seg[3], AUTH_OP_READ);
    struct msg_args a;
    if (!t)
        return;
    memset(&a, 0, sizeof a);
    if (msg_args(cr, store_topic_partition_count(t), &a))
        goto out;
    if (a.partition >= 0 && !store_topic_partition(t, (int32_t)a.partition)) {
        console_reply_error(cr->req, 503, "partition %lld cannot be opened",
                            (long long)a.partition);
        goto out;
    }
    if (a.partition >= 0 &&
        a.offset > store_partition_high_watermark(store_topic_partition(t, (int32_t)a.partition))) {
        console_reply_error(cr->req, 400, "offset %lld is past the end of partition %lld (%lld)",
                            (long long)a.offset, (long long)a.partition,
                            (long long)store_partition_high_watermark(
                                store_topic_partition(t, (int32_t)a.partition)));
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "topic", console_str(store_topic_name(t)));
    json_object_set_new(o, "mode",
                        console_str(a.q.newest         ? "newest"
                                    : a.timestamp >= 0 ? "timestamp"
                                                       : "offset"));
    json_object_set_new(o, "isolation",
                        console_str(a.q.committed ? "read_committed" : "read_uncommitted"));
    int rc = find_messages(cr, t, &a, o);
    if (rc) {
        json_decref(o);
        console_reply_error(cr->req, 500, "cannot read %s: %s", store_topic_name(t),
                            store_strerror(rc));
    } else {
        console_reply_json(cr->req, 200, o);
    }
out:
    free(a.starts);
    free(a.befores);
    store_topic_put(t);
}
