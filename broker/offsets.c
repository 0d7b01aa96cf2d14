/*
 * offsets.c - committed offsets: OffsetCommit, OffsetFetch, and their storage.
 *
 * Committed offsets are kept in memory (a hash map keyed "group\0topic\0partition",
 * NUL included) and appended to the internal compacted topic __consumer_offsets in
 * Kafka's own key/value layout (key v1: group, topic, partition; value v3: offset,
 * leader epoch, metadata, commit time); a commit is answered once that append is
 * durable. At start the topic is read back, so offsets survive restarts;
 * compaction keeps one record per key and tombstones forget deleted groups.
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

size_t offset_key(char *buf, size_t size, const char *group, const char *topic, int32_t p)
{
    int n = snprintf(buf, size, "%s%c%s%c%d", group, 0, topic, 0, p);
    /* the key includes its final NUL: every part reads as a C string */
    return n < 0 || (size_t)n >= size ? 0 : (size_t)n + 1;
}

/* The partition at the end of an offsets key of len bytes (not NUL-terminated). */
static int32_t offset_key_partition(const char *key, size_t len)
{
    const char *topic = key + strlen(key) + 1, *p = topic + strlen(topic) + 1;
    int32_t part = 0;
    for (; p < key + len && *p >= '0' && *p <= '9'; p++)
        part = part * 10 + (*p - '0');
    return part;
}

/* ---- committed offsets ---- */

static void put_str16(struct writer *w, const char *s)
{
    size_t n = strlen(s);
    writer_be16(w, (uint16_t)n);
    writer_bytes(w, s, n);
}

/* Append the commit records (or tombstones when value is false) as one batch. */
struct commit_rec {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *metadata;
};

static int offsets_append(struct broker *b, const char *group, const struct commit_rec *recs, int n,
                          bool tombstones, int64_t *end)
{
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    struct batch_builder bb;
    struct writer key, val, out;
    int64_t now = clock_wall_ms();
    batch_builder_init(&bb, CODEC_NONE, 64u << 20);
    writer_init(&key, 1 << 16);
    writer_init(&val, 1 << 16);
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
        put_str16(&val, recs[i].metadata ? recs[i].metadata : "");
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

static void offset_set(struct broker *b, const char *group, const char *topic, int32_t part,
                       int64_t offset, const char *metadata, int64_t when)
{
    char k[1024];
    size_t kl = offset_key(k, sizeof k, group, topic, part);
    if (!kl)
        return;
    struct committed *c = hmap_get(&b->groups->offsets, k, kl);
    if (offset < 0) {
        if (c) {
            hmap_del(&b->groups->offsets, k, kl);
            free(c->metadata);
            free(c);
        }
        return;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c || hmap_put(&b->groups->offsets, k, kl, c))
            abort();
    }
    free(c->metadata);
    c->metadata = xstrdup(metadata);
    c->offset = offset;
    c->commit_ms = when;
}

int64_t groups_committed(struct broker *b, const char *group, const char *topic, int32_t part)
{
    char k[1024];
    size_t kl = offset_key(k, sizeof k, group, topic, part);
    struct committed *c = kl ? hmap_get(&b->groups->offsets, k, kl) : NULL;
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
    struct group *g = group_find(b, req->group_id);
    *create = false;
    if (req->group_id.len <= 0)
        return KAFKA_INVALID_GROUP_ID;
    if (req->generation_id_or_member_epoch < 0 && (!g || g->state == EMPTY)) {
        *create = !g; /* a simple commit, outside any generation */
        return KAFKA_NONE;
    }
    if (!g)
        return KAFKA_UNKNOWN_MEMBER_ID;
    /* commits stay open while a rebalance is prepared (eager consumers commit as they
     * give up partitions) but not between the join and the leader's assignment */
    if (g->state == COMPLETING)
        return KAFKA_REBALANCE_IN_PROGRESS;
    struct member *m = member_find(g, req->member_id);
    if (!m)
        return KAFKA_UNKNOWN_MEMBER_ID;
    m->last_seen_ms = clock_wall_ms();
    return req->generation_id_or_member_epoch != g->generation ? KAFKA_ILLEGAL_GENERATION
                                                               : KAFKA_NONE;
}

void handle_offset_commit(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_offset_commit_req *req = rq->body;
    struct kafka_offset_commit_resp *r = response_new(rq);
    bool create;
    int16_t err = commit_check(b, req, &create);
    char *group = pd_strdup(pd, req->group_id);
    int total = 0;
    for (int32_t i = 0; i < req->n_topics; i++)
        total += req->topics[i].n_partitions;
    struct commit_rec *recs = arena_calloc(&pd->arena, (size_t)total + 1, sizeof *recs);
    r->topics = arena_calloc(&pd->arena, (size_t)req->n_topics + 1, sizeof *r->topics);
    if (!recs || !r->topics)
        abort();
    r->n_topics = req->n_topics;
    int n = 0;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_offset_commit_req_topic *ti = &req->topics[i];
        struct kafka_offset_commit_resp_topic *to = &r->topics[i];
        char *topic = pd_strdup(pd, ti->name);
        to->name = kstr_from(topic);
        to->partitions =
            arena_calloc(&pd->arena, (size_t)ti->n_partitions + 1, sizeof *to->partitions);
        if (!to->partitions)
            abort();
        to->n_partitions = ti->n_partitions;
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            const struct kafka_offset_commit_req_partition *pi = &ti->partitions[k];
            to->partitions[k].partition_index = pi->partition_index;
            to->partitions[k].error_code = err;
            if (!err && pi->committed_metadata.len > MAX_METADATA_BYTES)
                to->partitions[k].error_code = KAFKA_OFFSET_METADATA_TOO_LARGE;
            if (to->partitions[k].error_code)
                continue;
            recs[n++] = (struct commit_rec){topic, pi->partition_index, pi->committed_offset,
                                            pd_strdup(pd, pi->committed_metadata)};
        }
    }
    pd->resp = r;
    int64_t end = 0;
    int rc = n ? offsets_append(b, group, recs, n, false, &end) : 0;
    if (rc) {
        for (int32_t i = 0; i < r->n_topics; i++)
            for (int32_t k = 0; k < r->topics[i].n_partitions; k++)
                r->topics[i].partitions[k].error_code = kafka_error_from(rc);
        pending_finish(pd);
        return;
    }
    if (create && n)
        group_new(b, req->group_id);
    for (int i = 0; i < n; i++)
        offset_set(b, group, recs[i].topic, recs[i].partition, recs[i].offset, recs[i].metadata,
                   clock_wall_ms());
    struct commit_wait *w = arena_alloc(&pd->arena, sizeof *w);
    if (!w)
        abort();
    *w = (struct commit_wait){b, pd, r};
    pd->waits = 2; /* the guard and the durability wait */
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    if (!n || store_partition_when_durable(p, end, commit_durable, w) != 0)
        pd->waits = 1;
    pending_release_wait(pd);
}

void handle_offset_fetch(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_offset_fetch_req *req = rq->body;
    struct kafka_offset_fetch_resp *r = response_new(rq);
    char *group = pd_strdup(pd, req->group_id);
    if (req->n_topics < 0) { /* every partition the group committed */
        size_t pos = 0, len, count = b->groups->offsets.n;
        const void *key;
        void *val;
        r->topics = arena_calloc(&pd->arena, count + 1, sizeof *r->topics);
        if (!r->topics)
            abort();
        while (hmap_next(&b->groups->offsets, &pos, &key, &len, &val)) {
            const char *g = key, *topic = g + strlen(g) + 1;
            if (strcmp(g, group))
                continue;
            const struct committed *c = val;
            struct kafka_offset_fetch_resp_topic *to = &r->topics[r->n_topics++];
            to->name = kstr_from(pd_strdup(pd, kstr_from(topic)));
            to->partitions = arena_calloc(&pd->arena, 1, sizeof *to->partitions);
            if (!to->partitions)
                abort();
            to->n_partitions = 1;
            to->partitions[0] = (struct kafka_offset_fetch_resp_partition){
                offset_key_partition(g, len), c->offset, -1,
                kstr_from(pd_strdup(pd, kstr_from(c->metadata))), 0};
        }
        request_respond(rq, r);
        return;
    }
    r->topics = arena_calloc(&pd->arena, (size_t)req->n_topics + 1, sizeof *r->topics);
    if (!r->topics)
        abort();
    r->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_offset_fetch_req_topic *ti = &req->topics[i];
        struct kafka_offset_fetch_resp_topic *to = &r->topics[i];
        char *topic = pd_strdup(pd, ti->name);
        to->name = kstr_from(topic);
        to->partitions =
            arena_calloc(&pd->arena, (size_t)ti->n_partition_indexes + 1, sizeof *to->partitions);
        if (!to->partitions)
            abort();
        to->n_partitions = ti->n_partition_indexes;
        for (int32_t k = 0; k < ti->n_partition_indexes; k++) {
            char key[1024];
            size_t kl = offset_key(key, sizeof key, group, topic, ti->partition_indexes[k]);
            const struct committed *c = kl ? hmap_get(&b->groups->offsets, key, kl) : NULL;
            to->partitions[k] = (struct kafka_offset_fetch_resp_partition){
                ti->partition_indexes[k], c ? c->offset : -1, -1,
                kstr_from(c ? pd_strdup(pd, kstr_from(c->metadata)) : ""), 0};
        }
    }
    request_respond(rq, r);
}

/* Forget every committed offset of a group, writing tombstones so that they stay
 * forgotten after a restart. 0 or an error from the append. */
int offsets_forget_group(struct broker *b, const char *group)
{
    struct commit_rec recs[256];
    int n = 0, rc = 0;
    size_t pos = 0, len;
    const void *key;
    void *val;
    int64_t end;
    for (;;) {
        bool more = hmap_next(&b->groups->offsets, &pos, &key, &len, &val);
        if (more) {
            const char *gid = key;
            if (strcmp(gid, group))
                continue;
            const char *topic = gid + strlen(gid) + 1;
            recs[n++] = (struct commit_rec){topic, offset_key_partition(gid, len), 0, NULL};
        }
        if (n && (n == 256 || !more)) {
            if ((rc = offsets_append(b, group, recs, n, true, &end)))
                return rc;
            for (int i = 0; i < n; i++) /* deleting invalidates the iteration: restart */
                offset_set(b, group, recs[i].topic, recs[i].partition, -1, NULL, 0);
            n = 0;
            pos = 0;
            continue;
        }
        if (!more)
            break;
    }
    return 0;
}

/* Free every committed offset kept in memory. */
void offsets_release(struct groups *gs)
{
    size_t pos = 0, len;
    const void *key;
    void *val;
    while (hmap_next(&gs->offsets, &pos, &key, &len, &val)) {
        struct committed *c = val;
        free(c->metadata);
        free(c);
    }
    hmap_release(&gs->offsets);
}

/* ---- reading the offsets back at start ---- */

static char *get_str16(struct reader *r)
{
    int16_t n = (int16_t)reader_be16(r);
    const uint8_t *p = n >= 0 ? reader_bytes(r, (size_t)n) : NULL;
    if (!p)
        return NULL;
    char *s = strndup((const char *)p, (size_t)n);
    if (!s)
        abort();
    return s;
}

/* Apply one record of __consumer_offsets read back at start. */
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
    if (reader_ok(&k) && group && topic) {
        if (rec->value_len < 0) {
            offset_set(b, group, topic, part, -1, NULL, 0);
        } else {
            reader_init(&v, rec->value, (size_t)rec->value_len);
            int16_t vv = (int16_t)reader_be16(&v);
            int64_t off = (int64_t)reader_be64(&v);
            if (vv >= 3)
                (void)reader_be32(&v); /* leader epoch */
            char *meta = get_str16(&v);
            int64_t when = (int64_t)reader_be64(&v);
            if (reader_ok(&v) && meta)
                offset_set(b, group, topic, part, off, meta, when);
            free(meta);
        }
    }
    free(group);
    free(topic);
}

int offsets_load(struct broker *b)
{
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    int64_t off = store_partition_log_start(p), hw = store_partition_high_watermark(p);
    int rc = 0, n = 0;
    while (off < hw && !rc) {
        struct store_slice sl;
        if ((rc = store_partition_read(p, off, 1 << 20, &sl)) || !sl.len) {
            store_slice_release(&sl);
            break;
        }
        uint8_t *buf = malloc((size_t)sl.len);
        if (!buf)
            abort();
        if (pread(sl.fd, buf, (size_t)sl.len, sl.pos) != sl.len)
            rc = -EIO;
        for (size_t pos = 0; !rc && pos < (size_t)sl.len;) {
            size_t size;
            struct batch_iter it;
            struct record rec;
            if ((rc = batch_frame(buf + pos, (size_t)sl.len - pos, (size_t)sl.len, &size)))
                break;
            rc = batch_iter_init(&it, buf + pos, size, NULL, true);
            while (!rc && (rc = batch_iter_next(&it, &rec)) == 1) {
                load_record(b, &rec);
                n++;
                rc = 0;
            }
            batch_iter_release(&it);
            pos += size;
        }
        free(buf);
        off = sl.next_offset;
        store_slice_release(&sl);
    }
    if (!rc)
        log_info("brook.group", "loaded %zu committed offsets from %d records of %s",
                 b->groups->offsets.n, n, OFFSETS_TOPIC);
    return rc;
}

void groups_foreach_offset(struct broker *b, const char *group, groups_offset_fn fn, void *arg)
{
    size_t pos = 0, len;
    const void *key;
    void *val;
    while (b->groups && hmap_next(&b->groups->offsets, &pos, &key, &len, &val)) {
        /* "group\0topic\0partition": the partition is not NUL-terminated */
        const char *g = key, *topic = g + strlen(g) + 1, *part = topic + strlen(topic) + 1;
        char num[16];
        snprintf(num, sizeof num, "%.*s", (int)(len - (size_t)(part - g)), part);
        const struct committed *c = val;
        if (!group || !strcmp(g, group))
            fn(arg, g, topic, atoi(num), c->offset, c->metadata, c->commit_ms);
    }
}

int groups_reset_offsets(struct broker *b, const char *group, const char *topic,
                         const int32_t *partitions, const int64_t *offsets, int n,
                         store_done_fn done, void *arg)
{
    if (!*group || n <= 0 || strlen(group) > 255)
        return -EINVAL;
    struct group *g = group_find(b, kstr_from(group));
    if (g && (g->state != EMPTY || g->members))
        return -EBUSY;
    struct commit_rec *recs = calloc((size_t)n, sizeof *recs);
    if (!recs)
        abort();
    for (int i = 0; i < n; i++)
        recs[i] = (struct commit_rec){topic, partitions[i], offsets[i], ""};
    int64_t end = 0;
    int rc = offsets_append(b, group, recs, n, false, &end);
    free(recs);
    if (rc)
        return rc;
    if (!g)
        group_new(b, kstr_from(group));
    for (int i = 0; i < n; i++)
        offset_set(b, group, topic, partitions[i], offsets[i], "", clock_wall_ms());
    log_info("brook.group", "group %s: %d committed offsets of %s reset from the console", group, n,
             topic);
    return store_partition_when_durable(store_topic_partition(b->groups->topic, 0), end, done, arg);
}
