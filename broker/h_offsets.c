/*
 * h_offsets.c - committed offsets: OffsetCommit, OffsetFetch, OffsetDelete, their
 * storage and their expiry.
 *
 * Each group keeps its committed offsets in its own hash map, keyed by topic, NUL
 * and the partition's four bytes: keys of any length (a topic read back from disk
 * may have up to 32767 bytes), and a group's offsets are found without looking at
 * any other group's. Commits are appended to the internal compacted topic
 * __consumer_offsets in Kafka's own key/value layout (key v1: group, topic,
 * partition; value v3: offset, leader epoch, metadata, commit time, or v1 with an
 * expiry time when the commit set one); a commit is answered once that append is
 * durable. At start the topic is read back, so offsets survive restarts;
 * compaction keeps one record per key, and tombstones forget deleted groups,
 * deleted offsets and expired offsets.
 *
 * Every version a client may speak lands in the same store: OffsetCommit v0 and
 * v1 (older than Kafka 4 accepts, and what sarama still sends) and OffsetFetch v0
 * (ZooKeeper's in Kafka) read and write __consumer_offsets like the others. An
 * offset is kept as sent, negative ones included: an admin commits -2 to mean
 * "earliest" and expects to read -2 back.
 *
 * Who may commit is the group's to say: a classic group checks the generation,
 * member id and instance id here; a consumer group (KIP-848) is asked through
 * broker/offsets.h. Only partitions that exist can be committed
 * (UNKNOWN_TOPIC_OR_PARTITION otherwise, as Kafka), metadata is bounded by
 * offset.metadata.max.bytes, and the offsets of Empty groups expire after
 * offsets.retention.minutes (or the commit's own retention_time_ms, v2-4),
 * checked every offsets.retention.check.interval.ms from groups_tick().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/group.h"
#include "broker/offsets.h"
#include "broker/txn.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/reader.h"
#include "lib/writer.h"
#include "proto/record.h"

/* The consumer groups' calls, or NULL: set once at start on the loop thread,
 * which is the only one that reads it. */
static const struct offsets_consumer_ops *consumer_ops;

void offsets_consumer_ops_set(const struct offsets_consumer_ops *ops)
{
    consumer_ops = ops;
}

/* The consumer groups' calls when a consumer group has that id, else NULL. */
static const struct offsets_consumer_ops *consumer_group(struct broker *b, struct kstr id)
{
    return consumer_ops && consumer_ops->owns(b, id) ? consumer_ops : NULL;
}

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

/* Whether s can be a group id: not empty, and no NUL its key could not keep. */
static bool group_id_valid(struct kstr s)
{
    return s.len > 0 && strnlen(s.p, (size_t)s.len) == (size_t)s.len;
}

/* ---- committed offsets ---- */

static void put_str16(struct writer *w, struct kstr s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    writer_be16(w, (uint16_t)n);
    writer_bytes(w, s.p, n);
}

/* The value of one commit record: v1 when it carries an expiry (the only
 * version with one, as Kafka writes it), v3 otherwise. */
static void commit_value(struct writer *val, const struct commit_rec *rec)
{
    writer_be16(val, rec->expire_ms ? 1 : 3);
    writer_be64(val, (uint64_t)rec->offset);
    if (!rec->expire_ms)
        writer_be32(val, (uint32_t)rec->leader_epoch);
    put_str16(val, rec->metadata);
    writer_be64(val, (uint64_t)rec->commit_ms);
    if (rec->expire_ms)
        writer_be64(val, (uint64_t)rec->expire_ms);
}

/* Build the commit records (or tombstones) of one group as one batch into out.
 * Strings are int16-sized, so a key never passes 64 KiB + a few. */
static int offsets_batch(struct kstr group, const struct commit_rec *recs, int n, bool tombstones,
                         int64_t now, struct writer *out)
{
    struct batch_builder bb;
    struct writer key, val;
    batch_builder_init(&bb, CODEC_NONE, 64u << 20);
    writer_init(&key, 1 << 17);
    writer_init(&val, 1 << 17);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        writer_reset(&key);
        writer_reset(&val);
        writer_be16(&key, 1);
        put_str16(&key, group);
        put_str16(&key, recs[i].topic);
        writer_be32(&key, (uint32_t)recs[i].partition);
        if (!tombstones)
            commit_value(&val, &recs[i]);
        rc = key.err ? key.err : val.err;
        if (!rc)
            rc = batch_builder_add(&bb, now, key.buf, (int32_t)key.len, tombstones ? NULL : val.buf,
                                   tombstones ? -1 : (int32_t)val.len, NULL, 0);
    }
    if (!rc)
        rc = batch_builder_finish(&bb, -1, out);
    batch_builder_release(&bb);
    writer_release(&key);
    writer_release(&val);
    return rc;
}

/* Append the commit records (or tombstones) of one group as one batch; *end is the
 * offset after it. */
static int offsets_append(struct broker *b, struct kstr group, const struct commit_rec *recs, int n,
                          bool tombstones, int64_t *end)
{
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    struct writer out;
    struct store_append res;
    writer_init(&out, 64u << 20);
    int rc = offsets_batch(group, recs, n, tombstones, clock_wall_ms(), &out);
    if (!rc)
        rc = store_partition_append(p, out.buf, out.len, &res);
    if (!rc)
        *end = res.last_offset + 1;
    writer_release(&out);
    return rc;
}

static void committed_free(struct committed *c)
{
    free(c->metadata);
    free(c);
}

/* Set one committed offset of g in memory, as the record says. */
static void offset_set(struct broker *b, struct group *g, const struct commit_rec *rec)
{
    struct offset_key k;
    offset_key_init(&k, rec->topic.p, (size_t)rec->topic.len, rec->partition);
    struct committed *c = hmap_get(&g->offsets, k.p, k.len);
    if (!c) {
        c = xcalloc(1, sizeof *c);
        if (hmap_put(&g->offsets, k.p, k.len, c))
            xalloc_fail("hmap", 0);
        b->groups->noffsets++;
    }
    offset_key_release(&k);
    free(c->metadata);
    c->metadata = kdup(rec->metadata);
    c->offset = rec->offset;
    c->leader_epoch = rec->leader_epoch;
    c->commit_ms = rec->commit_ms;
    c->expire_ms = rec->expire_ms;
}

/* Forget one committed offset of g in memory (nothing when there is none). */
static void offset_forget(struct broker *b, struct group *g, struct kstr topic, int32_t part)
{
    struct offset_key k;
    offset_key_init(&k, topic.p, (size_t)topic.len, part);
    struct committed *c = hmap_get(&g->offsets, k.p, k.len);
    if (c) {
        hmap_del(&g->offsets, k.p, k.len);
        committed_free(c);
        b->groups->noffsets--;
    }
    offset_key_release(&k);
}

int64_t groups_committed(struct broker *b, const char *group, const char *topic, int32_t part)
{
    struct group *g = group_find(b->groups, kstr_from(group));
    struct committed *c = g ? offset_get(g, topic, strlen(topic), part) : NULL;
    return c ? c->offset : -1;
}

/* ---- answering once the records are durable ---- */

/* A response waiting for its records: on a store error every partition of it
 * gets that error (fail). */
struct durable_wait {
    struct broker *b;
    struct pending *pd;
    void (*fail)(void *resp, int16_t err);
    void *resp;
};

static void wait_durable(void *arg, int rc)
{
    struct durable_wait *w = arg;
    if (rc)
        w->fail(w->resp, kafka_error_from(rc));
    if (atomic_fetch_sub(&w->pd->waits, 1) == 1)
        broker_complete_async(w->b, w->pd);
}

/* Answer rq's response once the store has made everything before end durable
 * (at once when nothing was appended). */
static void answer_when_durable(struct request *rq, struct durable_wait *w, bool appended,
                                int64_t end)
{
    struct broker *b = rq->c->b;
    rq->pd->waits = 2; /* the guard and the durability wait */
    struct store_partition *p = store_topic_partition(b->groups->topic, 0);
    if (!appended || store_partition_when_durable(p, end, wait_durable, w) != 0)
        rq->pd->waits = 1;
    pending_release_wait(rq->pd);
}

/* ---- OffsetCommit ---- */

static void commit_fail(void *resp, int16_t err)
{
    struct kafka_offset_commit_resp *r = resp;
    for (int32_t i = 0; i < r->n_topics; i++)
        for (int32_t k = 0; k < r->topics[i].n_partitions; k++)
            r->topics[i].partitions[k].error_code = err;
}

/* The classic rules (Kafka's): outside any generation only an Empty group takes
 * commits; otherwise the member must be known and of the current generation. */
static int16_t commit_check_classic(struct broker *b, const struct kafka_offset_commit_req *req,
                                    int16_t version, bool *create)
{
    struct group *g = group_find(b->groups, req->group_id);
    if (req->generation_id_or_member_epoch < 0 && (!g || g->state == GROUP_EMPTY)) {
        *create = !g; /* a simple commit, outside any generation */
        return *create && groups_full(b->groups) ? KAFKA_GROUP_MAX_SIZE_REACHED : KAFKA_NONE;
    }
    if (!g) /* as Kafka: v9 says so; before, the commit is of a generation gone */
        return version >= 9 ? KAFKA_GROUP_ID_NOT_FOUND : KAFKA_ILLEGAL_GENERATION;
    /* the member by instance id or member id, of the current generation, not
     * between its join and the leader's assignment (group.c's rules) */
    return group_commit_allowed(g, req->member_id, req->group_instance_id,
                                req->generation_id_or_member_epoch, clock_wall_ms());
}

int16_t offsets_commit_check(struct broker *b, const struct kafka_offset_commit_req *req,
                             int16_t version, bool *create)
{
    *create = false;
    if (!group_id_valid(req->group_id))
        return KAFKA_INVALID_GROUP_ID;
    const struct offsets_consumer_ops *ops = consumer_group(b, req->group_id);
    if (ops) {
        struct offsets_member m = {req->member_id, req->group_instance_id,
                                   req->generation_id_or_member_epoch, version};
        int16_t err = ops->commit_check(b, req->group_id, &m);
        *create = err == KAFKA_NONE && !group_find(b->groups, req->group_id);
        return err;
    }
    return commit_check_classic(b, req, version, create);
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

/* now + ms without wrapping, and never 0 (which means "no expiry"). */
static int64_t expiry_at(int64_t now, int64_t ms)
{
    int64_t at = ms > INT64_MAX - now ? INT64_MAX : now + ms;
    return at > 0 ? at : 1;
}

/* The record one partition of a commit makes: v1 may name its commit time,
 * v2-4 a retention that becomes an expiry (-1: none, as Kafka). */
static struct commit_rec commit_record(const struct kafka_offset_commit_req *req, int16_t version,
                                       struct kstr topic,
                                       const struct kafka_offset_commit_req_partition *pi,
                                       int64_t now)
{
    struct commit_rec rec = {
        topic, pi->partition_index, pi->committed_offset, -1, pi->committed_metadata, now, 0};
    if (version >= 6)
        rec.leader_epoch = pi->committed_leader_epoch;
    if (version == 1 && pi->commit_timestamp != -1)
        rec.commit_ms = pi->commit_timestamp;
    if (version >= 2 && version <= 4 && req->retention_time_ms != -1)
        rec.expire_ms = expiry_at(now, req->retention_time_ms);
    return rec;
}

/* Fill the response and the records to append, answering each partition's own
 * error. -ENOMEM when the response does not fit its arena (nothing done yet). */
static int commit_prepare(struct request *rq, const struct kafka_offset_commit_req *req,
                          int16_t err, struct kafka_offset_commit_resp *r, struct commit_rec *recs,
                          int *n)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    int64_t now = clock_wall_ms();
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
        int16_t terr = err;
        if (!terr && !request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_TOPIC, to->name))
            terr = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        int32_t nparts = terr ? 0 : commit_topic_partitions(b, topic, len);
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            const struct kafka_offset_commit_req_partition *pi = &ti->partitions[k];
            struct kafka_offset_commit_resp_partition *po = &to->partitions[k];
            po->partition_index = pi->partition_index;
            po->error_code = terr;
            if (!terr && (pi->partition_index < 0 || pi->partition_index >= nparts))
                po->error_code = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
            else if (!terr && pi->committed_metadata.len > b->cfg->offset_metadata_max)
                po->error_code = KAFKA_OFFSET_METADATA_TOO_LARGE;
            if (!po->error_code)
                recs[(*n)++] = commit_record(req, rq->version, to->name, pi, now);
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
    bool create = false;
    /* READ on the group first, as Kafka: without it nothing about the group is told */
    int16_t err = !request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_GROUP, req->group_id)
                      ? KAFKA_GROUP_AUTHORIZATION_FAILED
                      : offsets_commit_check(b, req, rq->version, &create);
    size_t total = 0;
    for (int32_t i = 0; i < req->n_topics; i++)
        total += (size_t)req->topics[i].n_partitions;
    /* the records borrow the request's strings: they are appended before it returns */
    struct commit_rec *recs = arena_calloc(rq->tmp, total + 1, sizeof *recs);
    struct durable_wait *w = arena_alloc(&pd->arena, sizeof *w);
    int n = 0;
    if (!r || !recs || !w || commit_prepare(rq, req, err, r, recs, &n)) {
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
        commit_fail(r, kafka_error_from(rc));
        pending_finish(pd);
        return;
    }
    struct group *g =
        create && n ? group_new(b->groups, req->group_id) : group_find(b->groups, req->group_id);
    for (int i = 0; g && i < n; i++)
        offset_set(b, g, &recs[i]);
    *w = (struct durable_wait){b, pd, commit_fail, r};
    answer_when_durable(rq, w, n > 0, end);
}

/* ---- OffsetFetch ---- */

/* Response bytes one partition of an OffsetFetch takes on the wire at most
 * (fields, tags); its strings are counted apart. */
#define FETCH_PARTITION_BYTES 32

/*
 * One group's answer is built in the types of the request's version: v0-7 put it
 * at the top level (kafka_offset_fetch_resp_topic/_partition), v8+ in a group
 * entry (_topics/_partitions). The fields are the same; these helpers pick the
 * type, so that an answer is never built twice.
 */
static size_t fetch_topic_size(bool old)
{
    return old ? sizeof(struct kafka_offset_fetch_resp_topic)
               : sizeof(struct kafka_offset_fetch_resp_topics);
}

static size_t fetch_part_size(bool old)
{
    return old ? sizeof(struct kafka_offset_fetch_resp_partition)
               : sizeof(struct kafka_offset_fetch_resp_partitions);
}

/* Partition i of parts: c's offset, or -1 (and err) when nothing is committed. */
static void fetch_part_set(bool old, void *parts, int32_t i, int32_t index,
                           const struct committed *c, int16_t err)
{
    int64_t off = c ? c->offset : -1;
    int32_t epoch = c ? c->leader_epoch : -1;
    struct kstr meta = kstr_from(c ? c->metadata : "");
    if (old)
        ((struct kafka_offset_fetch_resp_partition *)parts)[i] =
            (struct kafka_offset_fetch_resp_partition){index, off, epoch, meta, err};
    else
        ((struct kafka_offset_fetch_resp_partitions *)parts)[i] =
            (struct kafka_offset_fetch_resp_partitions){index, off, epoch, meta, err};
}

static void fetch_topic_set(bool old, void *topics, int32_t i, struct kstr name, void *parts,
                            int32_t n)
{
    if (old)
        ((struct kafka_offset_fetch_resp_topic *)topics)[i] =
            (struct kafka_offset_fetch_resp_topic){name, parts, n};
    else
        ((struct kafka_offset_fetch_resp_topics *)topics)[i] =
            (struct kafka_offset_fetch_resp_topics){name, parts, n};
}

/* One group's answer: its topics, in the version's type. */
struct fetch_answer {
    void *topics;
    int32_t n_topics;
};

/* One committed offset of a group, for sorting. */
struct fetch_entry {
    const char *topic; /* the map's key, a C string up to the partition */
    int32_t partition;
    const struct committed *c;
};

static int fetch_entry_cmp(const void *a, const void *b)
{
    const struct fetch_entry *x = a, *y = b;
    int d = strcmp(x->topic, y->topic);
    return d ? d : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Every offset the group committed, each topic once with all its partitions (in
 * order). The answer borrows the group's strings: it is encoded before the
 * request returns. *bytes grows by what it takes; -E2BIG past the limit,
 * checked before anything is allocated. */
static int fetch_all(struct request *rq, bool old, const struct group *g, struct fetch_answer *a,
                     uint64_t *bytes)
{
    size_t n = g ? g->offsets.n : 0, pos = 0, len, k = 0;
    const void *key;
    void *val;
    *bytes += response_bytes(n, fetch_part_size(old)) + response_bytes(n, fetch_topic_size(old));
    struct fetch_entry *es = xcalloc(n + 1, sizeof *es);
    while (g && hmap_next(&g->offsets, &pos, &key, &len, &val)) {
        /* the topics the peer may not DESCRIBE are left out, as Kafka does */
        if (!request_allowed(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, key))
            continue;
        es[k] = (struct fetch_entry){key, offset_key_partition(key, len), val};
        *bytes += FETCH_PARTITION_BYTES + strlen(key) + strlen(es[k].c->metadata);
        k++;
    }
    n = k;
    if (!response_fits(rq, *bytes)) {
        free(es);
        return -E2BIG;
    }
    qsort(es, n, sizeof *es, fetch_entry_cmp);
    char *parts = pending_calloc(rq->pd, n, fetch_part_size(old));
    a->topics = pending_calloc(rq->pd, n, fetch_topic_size(old));
    a->n_topics = 0;
    for (size_t i = 0, first = 0; i < n; i++) {
        fetch_part_set(old, parts, (int32_t)i, es[i].partition, es[i].c, KAFKA_NONE);
        if (i + 1 < n && !strcmp(es[i + 1].topic, es[i].topic))
            continue; /* the topic goes on */
        fetch_topic_set(old, a->topics, a->n_topics++, kstr_from(es[first].topic),
                        parts + first * fetch_part_size(old), (int32_t)(i + 1 - first));
        first = i + 1;
    }
    free(es);
    return 0;
}

/* The partitions the request names, each answered err or its committed offset.
 * The arrays were counted in *bytes already; the strings are added as they are
 * found (-E2BIG past the limit: the lookups are the work). */
static int fetch_named(struct request *rq, bool old, const struct group *g,
                       const struct kafka_offset_fetch_req_group *rg, int16_t err,
                       struct fetch_answer *a, uint64_t *bytes)
{
    /* require_stable (v7+): an offset a transaction is about to commit is unstable */
    bool stable =
        rq->version >= 7 && ((const struct kafka_offset_fetch_req *)rq->body)->require_stable;
    a->topics = pending_calloc(rq->pd, (size_t)rg->n_topics, fetch_topic_size(old));
    a->n_topics = rg->n_topics;
    for (int32_t i = 0; i < rg->n_topics; i++) {
        const struct kafka_offset_fetch_req_topics *ti = &rg->topics[i];
        size_t tlen = ti->name.len > 0 ? (size_t)ti->name.len : 0;
        void *parts = pending_calloc(rq->pd, (size_t)ti->n_partition_indexes, fetch_part_size(old));
        fetch_topic_set(old, a->topics, i, ti->name, parts, ti->n_partition_indexes);
        *bytes += tlen + 8;
        for (int32_t k = 0; k < ti->n_partition_indexes; k++) {
            int32_t index = ti->partition_indexes[k];
            int16_t perr = err;
            if (!err && !request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, ti->name))
                perr = KAFKA_TOPIC_AUTHORIZATION_FAILED;
            else if (!err && stable && txn_offset_pending(rq->c->b, rg->group_id, ti->name, index))
                perr = KAFKA_UNSTABLE_OFFSET_COMMIT;
            const struct committed *c =
                g && !perr ? offset_get(g, ti->name.p ? ti->name.p : "", tlen, index) : NULL;
            fetch_part_set(old, parts, k, index, c, perr);
            *bytes += c ? strlen(c->metadata) : 0;
            if (!response_fits(rq, *bytes))
                return -E2BIG;
        }
    }
    return 0;
}

/* The arena and wire bytes the named partitions of every group take, before any
 * lookup: groups x topics x partitions, as the request counts them. */
static uint64_t fetch_named_bytes(bool old, const struct kafka_offset_fetch_req_group *groups,
                                  int32_t n)
{
    uint64_t bytes = response_bytes((uint64_t)n, sizeof(struct kafka_offset_fetch_resp_group));
    for (int32_t i = 0; i < n; i++) {
        bytes += (uint64_t)(groups[i].group_id.len > 0 ? groups[i].group_id.len : 0) + 8;
        if (groups[i].n_topics < 0)
            continue; /* every offset: fetch_all counts them */
        bytes += response_bytes((uint64_t)groups[i].n_topics, fetch_topic_size(old));
        for (int32_t k = 0; k < groups[i].n_topics; k++) {
            uint64_t np = (uint64_t)groups[i].topics[k].n_partition_indexes;
            bytes += response_bytes(np, fetch_part_size(old)) + np * FETCH_PARTITION_BYTES;
        }
    }
    return bytes;
}

/* Who may read a group's offsets: anyone for a classic group; a consumer group
 * checks the member and epoch v9 names. An id no group can have (empty, or with a
 * NUL) is answered as Kafka answers a group that does not exist. */
int16_t offsets_fetch_check(struct broker *b, const struct kafka_offset_fetch_req_group *rg,
                            int16_t version)
{
    if (!group_id_valid(rg->group_id))
        return KAFKA_NONE;
    const struct offsets_consumer_ops *ops = consumer_group(b, rg->group_id);
    struct offsets_member m = {rg->member_id, KSTR_NULL, rg->member_epoch, version};
    return ops ? ops->fetch_check(b, rg->group_id, &m) : KAFKA_NONE;
}

/* One group's answer and error. A group's error is the group's from v2 (no
 * topics then); v0-1 have no such field and answer it in every partition. */
static int fetch_group(struct request *rq, const struct kafka_offset_fetch_req_group *rg,
                       struct fetch_answer *a, int16_t *err, uint64_t *bytes)
{
    struct broker *b = rq->c->b;
    bool old = rq->version < 8;
    *err = request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, rg->group_id)
               ? offsets_fetch_check(b, rg, rq->version)
               : KAFKA_GROUP_AUTHORIZATION_FAILED;
    *a = (struct fetch_answer){NULL, 0};
    if (*err && rq->version >= 2)
        return 0;
    const struct group *g =
        *err || !group_id_valid(rg->group_id) ? NULL : group_find(b->groups, rg->group_id);
    return rg->n_topics < 0 ? fetch_all(rq, old, g, a, bytes)
                            : fetch_named(rq, old, g, rg, *err, a, bytes);
}

/* A v0-7 request as the one group v8+ would name (the topics in rq->tmp). */
static struct kafka_offset_fetch_req_group *fetch_as_group(struct request *rq,
                                                           const struct kafka_offset_fetch_req *req)
{
    struct kafka_offset_fetch_req_group *rg = arena_calloc(rq->tmp, 1, sizeof *rg);
    int32_t n = req->n_topics;
    struct kafka_offset_fetch_req_topics *ts =
        rg ? arena_calloc(rq->tmp, n > 0 ? (size_t)n : 1, sizeof *ts) : NULL;
    if (!ts)
        return NULL;
    for (int32_t i = 0; i < n; i++)
        ts[i] = (struct kafka_offset_fetch_req_topics){req->topics[i].name,
                                                       req->topics[i].partition_indexes,
                                                       req->topics[i].n_partition_indexes};
    *rg = (struct kafka_offset_fetch_req_group){req->group_id, KSTR_NULL, -1, ts, n};
    return rg;
}

void handle_offset_fetch(struct request *rq)
{
    struct kafka_offset_fetch_req *req = rq->body;
    bool old = rq->version < 8;
    struct kafka_offset_fetch_req_group *groups = old ? fetch_as_group(rq, req) : req->groups;
    int32_t n = old ? 1 : req->n_groups;
    uint64_t bytes = groups ? fetch_named_bytes(old, groups, n) : UINT64_MAX;
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the OffsetFetch response would pass the response limit");
        return;
    }
    struct kafka_offset_fetch_resp *r = response_new(rq);
    if (!old)
        r->groups = PENDING_NEW(rq->pd, struct kafka_offset_fetch_resp_group, n);
    for (int32_t i = 0; i < n; i++) {
        struct fetch_answer a;
        int16_t err;
        if (fetch_group(rq, &groups[i], &a, &err, &bytes)) {
            request_refuse(rq, "the OffsetFetch response would pass the response limit");
            return;
        }
        if (old) {
            r->topics = a.topics;
            r->n_topics = a.n_topics;
            r->error_code = err;
        } else {
            r->groups[r->n_groups++] = (struct kafka_offset_fetch_resp_group){
                groups[i].group_id, a.topics, a.n_topics, err};
        }
    }
    request_respond(rq, r);
}

/* ---- OffsetDelete ---- */

/* Whether a consumer subscription (ConsumerProtocolSubscription: version, topics,
 * ...) names topic; -1 when it does not read as one. */
static int subscription_names(const uint8_t *meta, int32_t len, struct kstr topic)
{
    struct reader r;
    reader_init(&r, meta, len > 0 ? (size_t)len : 0);
    (void)reader_be16(&r);
    int32_t n = (int32_t)reader_be32(&r);
    for (int32_t i = 0; i < n && reader_ok(&r); i++) {
        int16_t tl = (int16_t)reader_be16(&r);
        const uint8_t *p = tl >= 0 ? reader_bytes(&r, (size_t)tl) : NULL;
        if (p && tl == topic.len && !memcmp(p, topic.p, (size_t)tl))
            return 1;
    }
    return reader_ok(&r) && n >= 0 ? 0 : -1;
}

/* As Kafka: a classic group of the consumer protocol subscribes to a topic when a
 * member's subscription for the group's protocol names it; a subscription that
 * does not read leaves the group's topics unknown (subscribed to none). */
static bool classic_subscribed(const struct group *g, struct kstr topic)
{
    if (!g->members || !g->protocol || !g->protocol_type || strcmp(g->protocol_type, "consumer"))
        return false;
    bool named = false;
    for (const struct member *m = g->members; m; m = m->next) {
        const struct protocol *p = member_protocol(m, g->protocol);
        int rc = p ? subscription_names(p->meta, p->len, topic) : -1;
        if (rc < 0)
            return false;
        named = named || rc == 1;
    }
    return named;
}

static bool group_subscribed(struct broker *b, struct kstr id, const struct group *g,
                             struct kstr topic)
{
    const struct offsets_consumer_ops *ops = consumer_group(b, id);
    return ops ? ops->subscribed(b, id, topic) : g && classic_subscribed(g, topic);
}

/* The group-level error of an OffsetDelete (Kafka's rules): a classic group with
 * members may only lose offsets when it uses the consumer protocol (then per
 * topic, GROUP_SUBSCRIBED_TO_TOPIC); a consumer group always may. */
int16_t offsets_delete_check(struct broker *b, struct kstr id, struct group **g)
{
    *g = NULL;
    if (!group_id_valid(id))
        return KAFKA_INVALID_GROUP_ID;
    *g = group_find(b->groups, id);
    if (consumer_group(b, id))
        return KAFKA_NONE; /* (its offsets may not have a struct group yet) */
    if (!*g)
        return KAFKA_GROUP_ID_NOT_FOUND;
    if ((*g)->state != GROUP_EMPTY &&
        (!(*g)->protocol_type || strcmp((*g)->protocol_type, "consumer")))
        return KAFKA_NON_EMPTY_GROUP;
    return KAFKA_NONE;
}

static void delete_fail(void *resp, int16_t err)
{
    struct kafka_offset_delete_resp *r = resp;
    for (int32_t i = 0; i < r->n_topics; i++)
        for (int32_t k = 0; k < r->topics[i].n_partitions; k++)
            if (!r->topics[i].partitions[k].error_code)
                r->topics[i].partitions[k].error_code = err;
}

/* The tombstones of an OffsetDelete: the offsets it takes out of the group's map,
 * at most one per committed offset however often the request names it. */
struct delete_set {
    struct commit_rec *recs;
    struct committed **taken;
    size_t n, cap;
};

/* Take one committed offset out of g's map (not freed: see delete_restore). */
static struct committed *offset_take(struct broker *b, struct group *g, struct kstr topic,
                                     int32_t part)
{
    struct offset_key k;
    offset_key_init(&k, topic.p, (size_t)topic.len, part);
    struct committed *c = hmap_get(&g->offsets, k.p, k.len);
    if (c) {
        hmap_del(&g->offsets, k.p, k.len);
        b->groups->noffsets--;
    }
    offset_key_release(&k);
    return c;
}

/* Put the taken offsets back (their tombstones could not be written). */
static void delete_restore(struct broker *b, struct group *g, struct delete_set *d)
{
    for (size_t i = 0; i < d->n; i++) {
        struct offset_key k;
        offset_key_init(&k, d->recs[i].topic.p, (size_t)d->recs[i].topic.len, d->recs[i].partition);
        if (hmap_put(&g->offsets, k.p, k.len, d->taken[i]))
            xalloc_fail("hmap", 0);
        offset_key_release(&k);
        b->groups->noffsets++;
    }
}

/* Answer each partition and take out the offsets to delete (the response copies
 * the request's names, as it outlives it; the tombstones borrow them). */
static void delete_prepare(struct request *rq, const struct kafka_offset_delete_req *req,
                           struct group *g, struct kafka_offset_delete_resp *r,
                           struct delete_set *d)
{
    struct broker *b = rq->c->b;
    r->topics = PENDING_NEW(rq->pd, struct kafka_offset_delete_resp_topic, req->n_topics);
    r->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_offset_delete_req_topic *ti = &req->topics[i];
        struct kafka_offset_delete_resp_topic *to = &r->topics[i];
        size_t len = ti->name.len > 0 ? (size_t)ti->name.len : 0;
        to->name = (struct kstr){pd_strdup(rq->pd, ti->name), (int32_t)len};
        to->partitions =
            PENDING_NEW(rq->pd, struct kafka_offset_delete_resp_partition, ti->n_partitions);
        to->n_partitions = ti->n_partitions;
        int16_t err =
            !request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_TOPIC, to->name)
                ? KAFKA_TOPIC_AUTHORIZATION_FAILED
            : commit_topic_partitions(b, to->name.p, len) < 0 ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION
            : group_subscribed(b, req->group_id, g, to->name) ? KAFKA_GROUP_SUBSCRIBED_TO_TOPIC
                                                              : KAFKA_NONE;
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            int32_t index = ti->partitions[k].partition_index;
            to->partitions[k] = (struct kafka_offset_delete_resp_partition){index, err};
            struct committed *c = !err && g ? offset_take(b, g, to->name, index) : NULL;
            if (c) { /* at most cap: each offset is taken once */
                d->recs[d->n] = (struct commit_rec){.topic = to->name, .partition = index};
                d->taken[d->n++] = c;
            }
        }
    }
}

/* The response's arena bytes, counted from the request. */
static uint64_t delete_bytes(const struct kafka_offset_delete_req *req, size_t *total)
{
    uint64_t bytes =
        response_bytes((uint64_t)req->n_topics, sizeof(struct kafka_offset_delete_resp_topic)) +
        response_bytes(1, sizeof(struct durable_wait));
    *total = 0;
    for (int32_t i = 0; i < req->n_topics; i++) {
        *total += (size_t)req->topics[i].n_partitions;
        bytes += response_string_bytes(req->topics[i].name.len) +
                 response_bytes((uint64_t)req->topics[i].n_partitions,
                                sizeof(struct kafka_offset_delete_resp_partition));
    }
    return bytes;
}

void handle_offset_delete(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct kafka_offset_delete_req *req = rq->body;
    size_t total;
    if (!response_fits(rq, delete_bytes(req, &total))) {
        request_refuse(rq, "the OffsetDelete response would pass the response limit");
        return;
    }
    struct kafka_offset_delete_resp *r = response_new(rq);
    struct group *g = NULL;
    r->error_code = request_allowed_kstr(rq, AUTH_OP_DELETE, AUTH_RES_GROUP, req->group_id)
                        ? offsets_delete_check(b, req->group_id, &g)
                        : KAFKA_GROUP_AUTHORIZATION_FAILED;
    size_t cap = r->error_code || !g ? 0 : g->offsets.n < total ? g->offsets.n : total;
    struct delete_set d = {NULL, NULL, 0, cap};
    d.recs = arena_calloc(rq->tmp, d.cap + 1, sizeof *d.recs);
    d.taken = arena_calloc(rq->tmp, d.cap + 1, sizeof *d.taken);
    if (!d.recs || !d.taken) {
        request_refuse(rq, "the OffsetDelete tombstones would pass the request's memory limit");
        return;
    }
    if (!r->error_code)
        delete_prepare(rq, req, g, r, &d);
    rq->pd->resp = r;
    int64_t end = 0;
    int rc = d.n ? offsets_append(b, req->group_id, d.recs, (int)d.n, true, &end) : 0;
    if (rc) {
        delete_restore(b, g, &d);
        delete_fail(r, kafka_error_from(rc));
        pending_finish(rq->pd);
        return;
    }
    for (size_t i = 0; i < d.n; i++)
        committed_free(d.taken[i]);
    if (d.n)
        log_info("brook.group", "group %s: %zu committed offsets deleted (OffsetDelete)", g->id,
                 d.n);
    struct durable_wait *w = PENDING_NEW(rq->pd, struct durable_wait, 1);
    *w = (struct durable_wait){b, rq->pd, delete_fail, r};
    answer_when_durable(rq, w, d.n > 0, end);
}

/* ---- forgetting and expiring ---- */

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
            /* offset_forget frees the key the record borrows: copy the topic first */
            struct offset_key k;
            offset_key_init(&k, recs[i].topic.p, (size_t)recs[i].topic.len, recs[i].partition);
            offset_forget(b, g, (struct kstr){k.p, recs[i].topic.len}, recs[i].partition);
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
            recs[(*n)++] = (struct commit_rec){.topic = {key, (int32_t)strlen(key)},
                                               .partition = offset_key_partition(key, len)};
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
    int64_t now;
    int64_t before_ms; /* offsets committed before this expire... */
    bool by_age;       /* ...when the group has been Empty for the retention too */
};

/* As Kafka: an offset committed with its own retention (v2-4) expires at its
 * deadline; the others by offsets.retention.minutes. */
static bool drop_expired(const struct committed *c, void *arg)
{
    const struct expiry *e = arg;
    if (c->expire_ms)
        return e->now >= c->expire_ms;
    return e->by_age && c->commit_ms < e->before_ms;
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
        struct expiry e = {now, now - b->cfg->offsets_retention_ms, false};
        e.by_age = g->empty_since_ms <= e.before_ms;
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

/* The value of a commit record, in the versions Kafka and brook wrote (0-3):
 * v0 and v2 have no expiry, v1 has one, v3 adds the leader epoch. Its metadata
 * is *meta (malloc'd; c->metadata borrows it). 0, or -EINVAL. */
static int commit_value_read(const struct record *rec, struct commit_rec *c, char **meta)
{
    struct reader v;
    reader_init(&v, rec->value, (size_t)rec->value_len);
    int16_t vv = (int16_t)reader_be16(&v);
    if (vv < 0 || vv > 3)
        return -EINVAL; /* a later layout (flexible): brook never writes one */
    c->offset = (int64_t)reader_be64(&v);
    c->leader_epoch = vv >= 3 ? (int32_t)reader_be32(&v) : -1;
    *meta = get_str16(&v);
    c->commit_ms = (int64_t)reader_be64(&v);
    c->expire_ms = vv == 1 ? (int64_t)reader_be64(&v) : 0;
    if (c->expire_ms < 0)
        c->expire_ms = 0; /* -1: none */
    c->metadata = kstr_from(*meta ? *meta : "");
    return reader_ok(&v) && *meta ? 0 : -EINVAL;
}

/* Apply one record of __consumer_offsets read back at start. Groups are created
 * as their first record is read (brook.groups.max does not apply: nothing stored
 * is lost). */
static void load_record(struct broker *b, const struct record *rec)
{
    struct reader k;
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
            offset_forget(b, g, kstr_from(topic), part);
    } else {
        struct commit_rec c = {.topic = kstr_from(topic), .partition = part};
        char *meta = NULL;
        if (commit_value_read(rec, &c, &meta) == 0) {
            if (!g)
                g = group_new(b->groups, kstr_from(group));
            offset_set(b, g, &c);
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
    int64_t now = clock_wall_ms();
    for (int i = 0; i < n; i++)
        recs[i] =
            (struct commit_rec){kstr_from(topic), partitions[i], offsets[i], -1, KSTR(""), now, 0};
    int64_t end = 0;
    int rc = offsets_append(b, kstr_from(group), recs, n, false, &end);
    if (!rc && !g)
        g = group_new(b->groups, kstr_from(group));
    for (int i = 0; !rc && i < n; i++)
        offset_set(b, g, &recs[i]);
    free(recs);
    if (rc)
        return rc;
    log_info("brook.group", "group %s: %d committed offsets of %s reset from the console", group, n,
             topic);
    return store_partition_when_durable(store_topic_partition(b->groups->topic, 0), end, done, arg);
}

/* ---- offsets committed by a transaction (broker/h_txn.c) ---- */

int offsets_txn_batch(struct kstr group, const struct commit_rec *recs, int n, int64_t now,
                      struct writer *out)
{
    return offsets_batch(group, recs, n, false, now, out);
}

void offsets_txn_apply(struct broker *b, struct kstr group, const struct commit_rec *recs, int n)
{
    struct group *g = group_find(b->groups, group);
    if (!g)
        g = group_new(b->groups, group);
    for (int i = 0; i < n; i++)
        offset_set(b, g, &recs[i]);
}

/* The partitions of topic that g has committed offsets for (malloc'd, *n of them). */
static int32_t *topic_committed(const struct group *g, const char *topic, size_t *n)
{
    size_t pos = 0, len, tlen = strlen(topic);
    const void *key;
    void *val;
    int32_t *parts = xcalloc(g->offsets.n + 1, sizeof *parts);
    *n = 0;
    while (hmap_next(&g->offsets, &pos, &key, &len, &val))
        if (len == tlen + 1 + sizeof(int32_t) && !memcmp(key, topic, tlen + 1))
            parts[(*n)++] = offset_key_partition(key, len);
    return parts;
}

int groups_delete_offsets(struct broker *b, const char *group, const char *topic, int16_t *err,
                          int *n, store_done_fn done, void *arg)
{
    struct kstr id = kstr_from(group), name = kstr_from(topic);
    struct group *g;
    *n = 0;
    *err = offsets_delete_check(b, id, &g);
    if (!*err && commit_topic_partitions(b, topic, strlen(topic)) < 0)
        *err = KAFKA_UNKNOWN_TOPIC_OR_PARTITION;
    else if (!*err && group_subscribed(b, id, g, name))
        *err = KAFKA_GROUP_SUBSCRIBED_TO_TOPIC;
    if (*err || !g)
        return 1;
    size_t count;
    int32_t *parts = topic_committed(g, topic, &count);
    struct delete_set d = {xcalloc(count + 1, sizeof *d.recs), xcalloc(count + 1, sizeof *d.taken),
                           0, count};
    for (size_t i = 0; i < count; i++) {
        d.recs[d.n] = (struct commit_rec){.topic = name, .partition = parts[i]};
        d.taken[d.n++] = offset_take(b, g, name, parts[i]);
    }
    int64_t end = 0;
    int rc = d.n ? offsets_append(b, id, d.recs, (int)d.n, true, &end) : 0;
    if (rc)
        delete_restore(b, g, &d);
    for (size_t i = 0; !rc && i < d.n; i++)
        committed_free(d.taken[i]);
    if (!rc && d.n)
        log_info("brook.group", "group %s: %zu committed offsets of %s deleted from the console",
                 group, d.n, topic);
    *n = (int)d.n;
    free(parts);
    free(d.recs);
    free(d.taken);
    if (rc || !*n)
        return rc ? rc : 1;
    return store_partition_when_durable(store_topic_partition(b->groups->topic, 0), end, done, arg);
}
