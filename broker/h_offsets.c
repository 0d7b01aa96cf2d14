/*
 * h_offsets.c - committed offsets: OffsetCommit, OffsetFetch, their storage and
 * their expiry.
 *
 * Each group keeps its committed offsets in its own hash map, keyed by topic, NUL
 * and the partition's four bytes: keys of any length (a topic read back from disk
 * may have up to 32767 bytes), and a group's offsets are found without looking at
 * any other group's. Commits are appended to the internal compacted topic
 * __consumer_offsets in Kafka's own key/value layout (key v1: group, topic,
 * partition; value v3: offset, leader epoch, metadata, commit time); a commit is
 * answered once that append is durable. At start the topic is read back, so
 * offsets survive restarts; compaction keeps one record per key, and tombstones
 * forget deleted groups and expired offsets.
 *
 * Only partitions that exist can be committed (UNKNOWN_TOPIC_OR_PARTITION
 * otherwise, as Kafka), metadata is bounded by offset.metadata.max.bytes, and the
 * offsets of Empty groups expire after offsets.retention.minutes, checked every
 * offsets.retention.check.interval.ms from groups_tick().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/group.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/reader.h"
#include "lib/writer.h"
#include "proto/record.h"

void offset_key_init(struct offset_key *k, const char *topic, size_t topic_len, int32_t part)
{
    k->len = topic_len + 1 + sizeof part;
    k->p = k->len <= sizeof k->buf ? k->buf : xmalloc(k->len);
    memcpy(k->p, topic, topic_len);
    k->p[topic_len] = 0;
    memcpy(k->p + topic_len + 1, &part, sizeof part);
}

void offset_key_release(struct offset_key *k)
{
    if (k->p != k->buf)
        free(k->p);
    k->p = NULL;
}

int32_t offset_key_partition(const void *key, size_t len)
{
    int32_t part;
    memcpy(&part, (const char *)key + len - sizeof part, sizeof part);
    return part;
}

static struct committed *offset_get(const struct group *g, const char *topic, size_t topic_len,
                                    int32_t part)
{
    struct offset_key k;
    offset_key_init(&k, topic, topic_len, part);
    struct committed *c = hmap_get(&g->offsets, k.p, k.len);
    offset_key_release(&k);
    return c;
}

/* ---- committed offsets ---- */

static void put_str16(struct writer *w, struct kstr s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    writer_be16(w, (uint16_t)n);
    writer_bytes(w, s.p, n);
}

/* One commit record (or tombstone), borrowing its strings. */
struct commit_rec {
    struct kstr topic;
    int32_t partition;
    int64_t offset;
    struct kstr metadata;
};

/* Append the commit records (or tombstones) of one group as one batch; *end is the
 * offset after it. Strings are int16-sized, so a key never passes 64 KiB + a few. */
static int offsets_append(struct broker *b, struct kstr group, const struct commit_rec *recs, int n,
                          bool tombstones, int64_t *end)
{
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    struct batch_builder bb;
    struct writer key, val, out;
    int64_t now = clock_wall_ms();
    batch_builder_init(&bb, CODEC_NONE, 64u << 20);
    writer_init(&key, 1 << 17);
    writer_init(&val, 1 << 17);
    writer_init(&out, 64u << 20);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        writer_reset(&key);
        writer_reset(&val);
        writer_be16(&key, 1);
        put_str16(&key, group);
        put_str16(&key, recs[i].topic);
        writer_be32(&key, (uint32_t)recs[i].partition);
        writer_be16(&val, 3);
        writer_be64(&val, (uint64_t)recs[i].offset);
        writer_be32(&val, (uint32_t)-1); /* leader epoch */
        put_str16(&val, recs[i].metadata);
        writer_be64(&val, (uint64_t)now);
        rc = key.err ? key.err : val.err;
        if (!rc)
            rc = batch_builder_add(&bb, now, key.buf, (int32_t)key.len, tombstones ? NULL : val.buf,
                                   tombstones ? -1 : (int32_t)val.len, NULL, 0);
    }
    if (!rc)
        rc = batch_builder_finish(&bb, -1, &out);
    struct store_append res;
    if (!rc)
        rc = store_partition_append(p, out.buf, out.len, &res);
    if (!rc)
        *end = res.last_offset + 1;
    batch_builder_release(&bb);
    writer_release(&key);
    writer_release(&val);
    writer_release(&out);
    return rc;
}

static void committed_free(struct committed *c)
{
    free(c->metadata);
    free(c);
}

/* Set (offset >= 0) or forget (offset < 0) one committed offset of g in memory. */
static void offset_set(struct broker *b, struct group *g, struct kstr topic, int32_t part,
                       int64_t offset, struct kstr metadata, int64_t when)
{
    struct offset_key k;
    offset_key_init(&k, topic.p, (size_t)topic.len, part);
    struct committed *c = hmap_get(&g->offsets, k.p, k.len);
    if (offset < 0) {
        if (c) {
            hmap_del(&g->offsets, k.p, k.len);
            committed_free(c);
            b->groups->noffsets--;
        }
        offset_key_release(&k);
        return;
    }
    if (!c) {
        c = xcalloc(1, sizeof *c);
        if (hmap_put(&g->offsets, k.p, k.len, c))
            xalloc_fail("hmap", 0);
        b->groups->noffsets++;
    }
    offset_key_release(&k);
    free(c->metadata);
    c->metadata = kdup(metadata);
    c->offset = offset;
    c->commit_ms = when;
}

int64_t groups_committed(struct broker *b, const char *group, const char *topic, int32_t part)
{
    struct group *g = group_find(b->groups, kstr_from(group));
    struct committed *c = g ? offset_get(g, topic, strlen(topic), part) : NULL;
    return c ? c->offset : -1;
}

struct commit_wait {
    struct broker *b;
    struct pending *pd;
    struct kafka_offset_commit_resp *resp;
};

static void commit_durable(void *arg, int rc)
{
    struct commit_wait *w = arg;
    if (rc)
        for (int32_t i = 0; i < w->resp->n_topics; i++)
            for (int32_t k = 0; k < w->resp->topics[i].n_partitions; k++)
                w->resp->topics[i].partitions[k].error_code = kafka_error_from(rc);
    if (atomic_fetch_sub(&w->pd->waits, 1) == 1)
        broker_complete_async(w->b, w->pd);
}

static int16_t commit_check(struct broker *b, struct kafka_offset_commit_req *req, bool *create)
{
    struct group *g = group_find(b->groups, req->group_id);
    *create = false;
    if (req->group_id.len <= 0 ||
        strnlen(req->group_id.p, (size_t)req->group_id.len) != (size_t)req->group_id.len)
        return KAFKA_INVALID_GROUP_ID; /* empty, or a NUL its key could not keep */
    if (req->generation_id_or_member_epoch < 0 && (!g || g->state == GROUP_EMPTY)) {
        *create = !g; /* a simple commit, outside any generation */
        return *create && groups_full(b->groups) ? KAFKA_GROUP_MAX_SIZE_REACHED : KAFKA_NONE;
    }
    if (!g)
        return KAFKA_UNKNOWN_MEMBER_ID;
    /* commits stay open while a rebalance is prepared (eager consumers commit as they
     * give up partitions) but not between the join and the leader's assignment */
    if (g->state == GROUP_COMPLETING_REBALANCE)
        return KAFKA_REBALANCE_IN_PROGRESS;
    struct member *m = member_find(g, req->member_id);
    if (!m)
        return KAFKA_UNKNOWN_MEMBER_ID;
    m->last_seen_ms = clock_wall_ms();
    return req->generation_id_or_member_epoch != g->generation ? KAFKA_ILLEGAL_GENERATION
                                                               : KAFKA_NONE;
}

/* The partition count of a topic a commit names, or -1 when it does not exist (or
 * the name is not one Kafka allows). */
static int32_t commit_topic_partitions(struct broker *b, const char *name, size_t len)
{
    if (!store_topic_name_valid(name, len) || strlen(name) != len)
        return -1;
    struct store_topic *t = store_topic_get(b->store, name);
    if (!t)
        return -1;
    int32_t n = store_topic_partition_count(t);
    store_topic_put(t);
    return n;
}

/* Fill the response and the records to append, answering each partition's own
 * error. -ENOMEM when the response does not fit its arena (nothing done yet). */
static int commit_prepare(struct broker *b, struct pending *pd, struct kafka_offset_commit_req *req,
                          int16_t err, struct kafka_offset_commit_resp *r, struct commit_rec *recs,
                          int *n)
{
    r->topics = arena_calloc(&pd->arena, (size_t)req->n_topics + 1, sizeof *r->topics);
    if (!r->topics)
        return -ENOMEM;
    r->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_offset_commit_req_topic *ti = &req->topics[i];
        struct kafka_offset_commit_resp_topic *to = &r->topics[i];
        size_t len = ti->name.len > 0 ? (size_t)ti->name.len : 0;
        char *topic = arena_strndup(&pd->arena, ti->name.p ? ti->name.p : "", len);
        to->partitions =
            arena_calloc(&pd->arena, (size_t)ti->n_partitions + 1, sizeof *to->partitions);
        if (!topic || !to->partitions)
            return -ENOMEM;
        to->name = (struct kstr){topic, (int32_t)len};
        to->n_partitions = ti->n_partitions;
        int32_t nparts = err ? 0 : commit_topic_partitions(b, topic, len);
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            const struct kafka_offset_commit_req_partition *pi = &ti->partitions[k];
            struct kafka_offset_commit_resp_partition *po = &to->partitions[k];
            po->partition_index = pi->partition_index;
            po->error_code = err;
            if (!err && (pi->partition_index < 0 || pi->partition_index >= nparts))
                po->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
            else if (!err && pi->committed_metadata.len > b->cfg->offset_metadata_max)
                po->error_code = KAFKA_OFFSET_METADATA_TOO_LARGE;
            if (!po->error_code)
                recs[(*n)++] = (struct commit_rec){to->name, pi->partition_index,
                                                   pi->committed_offset, pi->committed_metadata};
        }
    }
    return 0;
}

void handle_offset_commit(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_offset_commit_req *req = rq->body;
    struct kafka_offset_commit_resp *r = response_new(rq);
    bool create;
    int16_t err = commit_check(b, req, &create);
    size_t total = 0;
    for (int32_t i = 0; i < req->n_topics; i++)
        total += (size_t)req->topics[i].n_partitions;
    /* the records borrow the request's strings: they are appended before it returns */
    struct commit_rec *recs = arena_calloc(rq->tmp, total + 1, sizeof *recs);
    struct commit_wait *w = arena_alloc(&pd->arena, sizeof *w);
    int n = 0;
    if (!r || !recs || !w || commit_prepare(b, pd, req, err, r, recs, &n)) {
        request_refuse(rq, "the OffsetCommit response would pass its memory limit");
        return;
    }
    if (err == KAFKA_GROUP_MAX_SIZE_REACHED)
        log_warn_every("brook.group", "group %.*s not created: brook.groups.max (%lld) reached",
                       (int)(req->group_id.len < 255 ? req->group_id.len : 255), req->group_id.p,
                       (long long)b->cfg->groups_max);
    pd->resp = r;
    int64_t end = 0;
    int rc = n ? offsets_append(b, req->group_id, recs, n, false, &end) : 0;
    if (rc) {
        for (int32_t i = 0; i < r->n_topics; i++)
            for (int32_t k = 0; k < r->topics[i].n_partitions; k++)
                r->topics[i].partitions[k].error_code = kafka_error_from(rc);
        pending_finish(pd);
        return;
    }
    struct group *g =
        create && n ? group_new(b->groups, req->group_id) : group_find(b->groups, req->group_id);
    int64_t now = clock_wall_ms();
    for (int i = 0; g && i < n; i++)
        offset_set(b, g, recs[i].topic, recs[i].partition, recs[i].offset, recs[i].metadata, now);
    *w = (struct commit_wait){b, pd, r};
    pd->waits = 2; /* the guard and the durability wait */
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    if (!n || store_partition_when_durable(p, end, commit_durable, w) != 0)
        pd->waits = 1;
    pending_release_wait(pd);
}

/* Response bytes one partition of an OffsetFetch takes at most (fields, tags). */
#define FETCH_PARTITION_BYTES 32

/* Every offset the group committed. The response borrows the group's strings: it
 * is encoded before this returns (request_respond). -ENOMEM or -E2BIG past the
 * limits. */
static int fetch_all(struct pending *pd, const struct group *g, struct kafka_offset_fetch_resp *r)
{
    size_t count = g ? g->offsets.n : 0, pos = 0, len, bytes = 0;
    const void *key;
    void *val;
    r->topics = arena_calloc(&pd->arena, count + 1, sizeof *r->topics);
    struct kafka_offset_fetch_resp_partition *parts =
        arena_calloc(&pd->arena, count + 1, sizeof *parts);
    if (!r->topics || !parts)
        return -ENOMEM;
    while (g && hmap_next(&g->offsets, &pos, &key, &len, &val)) {
        const struct committed *c = val;
        struct kafka_offset_fetch_resp_topic *to = &r->topics[r->n_topics];
        struct kafka_offset_fetch_resp_partition *po = &parts[r->n_topics++];
        *po = (struct kafka_offset_fetch_resp_partition){offset_key_partition(key, len), c->offset,
                                                         -1, kstr_from(c->metadata), 0};
        to->name = kstr_from(key);
        to->partitions = po;
        to->n_partitions = 1;
        bytes += FETCH_PARTITION_BYTES + strlen(key) + strlen(c->metadata);
    }
    return bytes > RESPONSE_MAX_BYTES ? -E2BIG : 0;
}

/* The partitions the request names, as fetch_all. */
static int fetch_named(struct pending *pd, const struct group *g,
                       const struct kafka_offset_fetch_req *req, struct kafka_offset_fetch_resp *r)
{
    size_t bytes = 0;
    r->topics = arena_calloc(&pd->arena, (size_t)req->n_topics + 1, sizeof *r->topics);
    if (!r->topics)
        return -ENOMEM;
    r->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_offset_fetch_req_topic *ti = &req->topics[i];
        struct kafka_offset_fetch_resp_topic *to = &r->topics[i];
        size_t tlen = ti->name.len > 0 ? (size_t)ti->name.len : 0;
        char *topic = arena_strndup(&pd->arena, ti->name.p ? ti->name.p : "", tlen);
        to->partitions =
            arena_calloc(&pd->arena, (size_t)ti->n_partition_indexes + 1, sizeof *to->partitions);
        if (!topic || !to->partitions)
            return -ENOMEM;
        to->name = (struct kstr){topic, (int32_t)tlen};
        to->n_partitions = ti->n_partition_indexes;
        bytes += tlen + 8;
        for (int32_t k = 0; k < ti->n_partition_indexes; k++) {
            const struct committed *c =
                g ? offset_get(g, topic, tlen, ti->partition_indexes[k]) : NULL;
            to->partitions[k] = (struct kafka_offset_fetch_resp_partition){
                ti->partition_indexes[k], c ? c->offset : -1, -1, kstr_from(c ? c->metadata : ""),
                0};
            bytes += FETCH_PARTITION_BYTES + (c ? strlen(c->metadata) : 0);
            if (bytes > RESPONSE_MAX_BYTES)
                return -E2BIG; /* stop early: the lookups are the work */
        }
    }
    return 0;
}

void handle_offset_fetch(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_offset_fetch_req *req = rq->body;
    struct kafka_offset_fetch_resp *r = response_new(rq);
    const struct group *g = group_find(b->groups, req->group_id);
    int rc = !r                  ? -ENOMEM
             : req->n_topics < 0 ? fetch_all(rq->pd, g, r)
                                 : fetch_named(rq->pd, g, req, r);
    if (rc) {
        request_refuse(rq, rc == -E2BIG ? "the OffsetFetch response would pass 95 MiB"
                                        : "the OffsetFetch response would pass its memory limit");
        return;
    }
    request_respond(rq, r);
}

/* Write tombstones for n offsets of g (in batches) and forget them in memory. recs
 * borrow keys of g's map, so each batch is forgotten only after it is written. */
static int offsets_forget(struct broker *b, struct group *g, struct commit_rec *recs, int n)
{
    for (int done = 0; done < n;) {
        int chunk = n - done < 256 ? n - done : 256;
        int64_t end;
        int rc = offsets_append(b, kstr_from(g->id), recs + done, chunk, true, &end);
        if (rc)
            return rc;
        for (int i = done; i < done + chunk; i++) {
            /* offset_set frees the key the record borrows: copy the topic first */
            struct offset_key k;
            offset_key_init(&k, recs[i].topic.p, (size_t)recs[i].topic.len, recs[i].partition);
            offset_set(b, g, (struct kstr){k.p, recs[i].topic.len}, recs[i].partition, -1,
                       KSTR_NULL, 0);
            offset_key_release(&k);
        }
        done += chunk;
    }
    return 0;
}

/* The offsets of g that drop(c, arg) selects, as tombstone records borrowing the
 * map's keys (malloc'd; *n of them). */
static struct commit_rec *offsets_select(const struct group *g,
                                         bool (*drop)(const struct committed *, void *), void *arg,
                                         int *n)
{
    struct commit_rec *recs = xcalloc(g->offsets.n + 1, sizeof *recs);
    size_t pos = 0, len;
    const void *key;
    void *val;
    *n = 0;
    while (hmap_next(&g->offsets, &pos, &key, &len, &val))
        if (drop(val, arg))
            recs[(*n)++] = (struct commit_rec){
                {key, (int32_t)strlen(key)}, offset_key_partition(key, len), 0, KSTR_NULL};
    return recs;
}

static bool drop_all(const struct committed *c, void *arg)
{
    (void)c;
    (void)arg;
    return true;
}

/* Forget every committed offset of a group, writing tombstones so that they stay
 * forgotten after a restart. 0 or an error from the append. */
int offsets_forget_group(struct broker *b, struct group *g)
{
    int n;
    struct commit_rec *recs = offsets_select(g, drop_all, NULL, &n);
    int rc = offsets_forget(b, g, recs, n);
    free(recs);
    return rc;
}

struct expiry {
    int64_t before_ms; /* offsets committed before this expire */
};

static bool drop_expired(const struct committed *c, void *arg)
{
    return c->commit_ms < ((struct expiry *)arg)->before_ms;
}

void offsets_expire(struct broker *b, int64_t now)
{
    size_t expired = 0, dropped = 0;
    for (struct group *g = b->groups->list, *next; g; g = next) {
        next = g->next;
        if (g->state != GROUP_EMPTY || g->members)
            continue;
        if (!g->offsets.n) { /* a group that only joined and left */
            group_drop(b->groups, g);
            dropped++;
            continue;
        }
        /* as Kafka: an Empty group's offsets live for the retention after the later
         * of their commit and the group becoming Empty */
        struct expiry e = {now - b->cfg->offsets_retention_ms};
        if (g->empty_since_ms > e.before_ms)
            continue;
        int n;
        struct commit_rec *recs = offsets_select(g, drop_expired, &e, &n);
        int rc = offsets_forget(b, g, recs, n);
        free(recs);
        if (rc) {
            log_warn_every("brook.group", "cannot expire offsets of group %s: %s", g->id,
                           strerror(-rc));
            return;
        }
        expired += (size_t)n;
        if (!g->offsets.n) {
            group_drop(b->groups, g);
            dropped++;
        }
    }
    if (expired)
        log_info("brook.group",
                 "expired %zu committed offsets (offsets.retention.minutes), "
                 "removed %zu empty groups",
                 expired, dropped);
}

/* Free every committed offset of g kept in memory. */
void offsets_release(struct groups *gs, struct group *g)
{
    size_t pos = 0, len;
    const void *key;
    void *val;
    while (hmap_next(&g->offsets, &pos, &key, &len, &val))
        committed_free(val);
    gs->noffsets -= g->offsets.n;
    hmap_release(&g->offsets);
}

/* ---- reading the offsets back at start ---- */

static char *get_str16(struct reader *r)
{
    int16_t n = (int16_t)reader_be16(r);
    const uint8_t *p = n >= 0 ? reader_bytes(r, (size_t)n) : NULL;
    if (!p)
        return NULL;
    char *s = xstrndup((const char *)p, (size_t)n);
    return s;
}

/* Apply one record of __consumer_offsets read back at start. Groups are created
 * as their first record is read (brook.groups.max does not apply: nothing stored
 * is lost). */
static void load_record(struct broker *b, const struct record *rec)
{
    struct reader k, v;
    if (rec->key_len < 2)
        return;
    reader_init(&k, rec->key, (size_t)rec->key_len);
    int16_t kv = (int16_t)reader_be16(&k);
    if (kv != 0 && kv != 1)
        return; /* group metadata: brook does not keep it */
    char *group = get_str16(&k), *topic = get_str16(&k);
    int32_t part = (int32_t)reader_be32(&k);
    struct group *g =
        reader_ok(&k) && group && topic ? group_find(b->groups, kstr_from(group)) : NULL;
    if (!reader_ok(&k) || !group || !topic) {
        /* a key brook cannot read: skip it */
    } else if (rec->value_len < 0) {
        if (g)
            offset_set(b, g, kstr_from(topic), part, -1, KSTR_NULL, 0);
    } else {
        reader_init(&v, rec->value, (size_t)rec->value_len);
        int16_t vv = (int16_t)reader_be16(&v);
        int64_t off = (int64_t)reader_be64(&v);
        if (vv >= 3)
            (void)reader_be32(&v); /* leader epoch */
        char *meta = get_str16(&v);
        int64_t when = (int64_t)reader_be64(&v);
        if (reader_ok(&v) && meta && off >= 0) {
            if (!g)
                g = group_new(b->groups, kstr_from(group));
            offset_set(b, g, kstr_from(topic), part, off, kstr_from(meta), when);
        }
        free(meta);
    }
    free(group);
    free(topic);
}

int offsets_load(struct broker *b)
{
    struct store_cursor cur;
    struct store_batch batch;
    int rc, n = 0;
    store_cursor_open(&cur, store_topic_partition(b->groups->topic, 0), 0, 0);
    while ((rc = store_cursor_next(&cur, &batch)) == 1) {
        struct batch_iter it;
        struct record rec;
        rc = batch_iter_init(&it, batch.data, batch.len, NULL, true);
        while (!rc && (rc = batch_iter_next(&it, &rec)) == 1) {
            load_record(b, &rec);
            n++;
            rc = 0;
        }
        batch_iter_release(&it);
        if (rc)
            break;
    }
    store_cursor_close(&cur);
    if (!rc)
        log_info("brook.group", "loaded %zu committed offsets from %d records of %s",
                 b->groups->noffsets, n, OFFSETS_TOPIC);
    return rc;
}

static void group_foreach_offset(const struct group *g, groups_offset_fn fn, void *arg)
{
    size_t pos = 0, len;
    const void *key;
    void *val;
    while (hmap_next(&g->offsets, &pos, &key, &len, &val)) {
        const struct committed *c = val;
        fn(arg, g->id, key, offset_key_partition(key, len), c->offset, c->metadata, c->commit_ms);
    }
}

void groups_foreach_offset(struct broker *b, const char *group, groups_offset_fn fn, void *arg)
{
    if (!b->groups)
        return;
    if (group) {
        const struct group *g = group_find(b->groups, kstr_from(group));
        if (g)
            group_foreach_offset(g, fn, arg);
        return;
    }
    for (const struct group *g = b->groups->list; g; g = g->next)
        group_foreach_offset(g, fn, arg);
}

int groups_reset_offsets(struct broker *b, const char *group, const char *topic,
                         const int32_t *partitions, const int64_t *offsets, int n,
                         store_done_fn done, void *arg)
{
    if (!*group || n <= 0 || strlen(group) > 255)
        return -EINVAL;
    struct group *g = group_find(b->groups, kstr_from(group));
    if (g && (g->state != GROUP_EMPTY || g->members))
        return -EBUSY;
    if (!g && groups_full(b->groups))
        return -ENOSPC;
    struct commit_rec *recs = xcalloc((size_t)n, sizeof *recs);
    for (int i = 0; i < n; i++)
        recs[i] = (struct commit_rec){kstr_from(topic), partitions[i], offsets[i], KSTR("")};
    int64_t end = 0;
    int rc = offsets_append(b, kstr_from(group), recs, n, false, &end);
    free(recs);
    if (rc)
        return rc;
    if (!g)
        g = group_new(b->groups, kstr_from(group));
    for (int i = 0; i < n; i++)
        offset_set(b, g, kstr_from(topic), partitions[i], offsets[i], KSTR(""), clock_wall_ms());
    log_info("brook.group", "group %s: %d committed offsets of %s reset from the console", group, n,
             topic);
    return store_partition_when_durable(store_topic_partition(b->groups->topic, 0), end, done, arg);
}
