/*
 * producer.c - partitioning, batching, Produce requests, retries, delivery reports.
 *
 * A record is copied into its partition's open batch at once (a RecordBatch
 * builder from proto/record.h), or, while the topic's metadata is not known yet,
 * into the topic's waiting list. A batch closes when it reaches batch.size or has
 * been open linger.ms (or on flush), and joins the partition's queue. The pump
 * takes at most one batch per partition per request, groups them by leader, and
 * sends one Produce request per broker; it repeats while partitions have batches
 * and room in flight, so requests pipeline on each connection.
 *
 * Order. With idempotence (enable.idempotence, acks=all, and a broker with
 * InitProducerId) every batch carries the producer id and a per-partition sequence
 * number, assigned when the batch is first sent; up to five batches per partition
 * are in flight. The broker refuses a batch whose sequence does not follow the
 * last one written (OUT_OF_ORDER_SEQUENCE_NUMBER) and recognises a resent one
 * (DUPLICATE_SEQUENCE_NUMBER). So when a batch fails with a retriable error, the
 * batches behind it fail too; the partition then waits until nothing of it is in
 * flight and resends the failed batches, oldest first, with their sequence
 * numbers: records land in the order they were produced, and once only. After a
 * fatal error the sequence has a gap, so the producer takes a new producer id and
 * renumbers what it resends. Without idempotence, a partition has one batch in
 * flight at a time when retries are enabled, which keeps order the simple way.
 *
 * Transactions (transactional.id, txn.c): the producer id and epoch come from
 * the transaction coordinator, never from a plain InitProducerId; batches carry
 * the transactional attribute; a partition sends nothing in a transaction until
 * txn.c has added it to the transaction (txn_part_ready()); and a batch that
 * fails makes the transaction abortable instead of taking a new producer id.
 *
 * Delivery reports follow produce order per partition: a finished batch reports
 * its records only once every batch before it in the partition has reported.
 *
 * Partitioning: a keyed record goes to murmur2_partition() (proto/partitioner.c),
 * Java's default partitioner and librdkafka's murmur2_random; a keyless record
 * sticks to one random partition until that partition's batch closes.
 *
 * Memory: buffer.memory bounds the bytes of records not yet reported; beyond it
 * brook_produce() returns -ENOBUFS and the caller polls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "lib/clock.h"
#include "lib/crc32c.h"
#include "lib/grow.h"
#include "proto/kafka_errors.h"
#include "proto/partitioner.h"

#define RECORD_OVERHEAD  64  /* bytes accounted per record beyond key, value, headers */
#define BATCH_OVERHEAD   512 /* request framing around a batch */
#define IDEMPOTENT_DEPTH 5   /* batches per partition the broker remembers */
#define OUT_HIGH_MARK    (16u << 20)
#define MAX_ROUNDS       64

enum bstate { B_QUEUED, B_INFLIGHT, B_RETRY, B_DONE };

struct pbatch {
    struct pbatch *next;
    struct batch_builder bb; /* records, until first sent */
    bool built;              /* data holds the finished batch */
    struct writer data;      /* the batch as sent */
    int32_t count;
    size_t mem;
    void **opaques; /* per record */
    int64_t *ts;    /* per record */
    size_t cap;
    int64_t deadline; /* delivery.timeout.ms from the first record */
    int64_t pid;      /* producer id it was numbered for, -1 none */
    int16_t epoch;    /* and the epoch */
    int32_t seq;
    int attempts;
    int64_t retry_at;
    enum bstate state;
    int err;             /* B_DONE: the outcome */
    int64_t base_offset; /* B_DONE: where it landed, -1 unknown */
};

struct ppart {
    struct pbatch *open;
    int64_t linger_at;
    struct pbatch *q_head, *q_tail; /* closed, never sent */
    struct pbatch *s_head, *s_tail; /* sent, in order, until reported */
    int inflight;
    int32_t next_seq;
    int64_t seq_pid;   /* producer id next_seq counts for */
    int16_t seq_epoch; /* and its epoch (a transactional producer's epoch moves) */
    uint64_t txn_gen;  /* the transaction this partition was added to, 0 none */
};

/* A record waiting for its topic's metadata: one allocation, the bytes after it. */
struct precord {
    struct precord *next;
    int32_t partition;
    int64_t ts;
    int64_t deadline;
    void *opaque;
    size_t mem;
    const uint8_t *key, *value; /* NULL: null */
    int32_t key_len, value_len;
    struct record_header *hdrs;
    int32_t n_hdrs;
};

struct ptopic {
    char *name;
    struct md_topic *md;
    int32_t n_parts;
    struct ppart *parts;
    struct precord *wait_head, *wait_tail;
    int32_t sticky; /* -1: choose */
};

enum pid_state { PID_OFF, PID_NEED, PID_ASKING, PID_OK };

struct producer {
    struct hmap topics; /* name -> struct ptopic */
    struct ptopic **list;
    size_t n, cap;
    struct ptopic *last;
    size_t mem;
    size_t outstanding;
    enum pid_state pid_state;
    int64_t pid;
    int16_t epoch;
    int64_t pid_retry_at;
    bool flush;
};

/* One batch in a Produce request. */
struct sendent {
    struct ptopic *t;
    int32_t part;
    struct pbatch *b;
};

struct preq {
    size_t n;
    struct sendent e[];
};

/* ---- bookkeeping ---- */

static bool idempotent(const struct producer *p)
{
    return p->pid_state != PID_OFF;
}

static int max_inflight(const struct brook_client *c)
{
    const struct producer *p = c->prod;
    int conf = c->conf.max_in_flight;
    if (c->conf.acks == 0)
        return conf;
    if (idempotent(p))
        return conf < IDEMPOTENT_DEPTH ? conf : IDEMPOTENT_DEPTH;
    return c->conf.retries > 0 ? 1 : conf;
}

static struct producer *producer_get(struct brook_client *c)
{
    if (c->prod)
        return c->prod;
    struct producer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    hmap_init(&p->topics);
    p->pid = -1;
    p->epoch = -1;
    p->pid_state = c->conf.idempotence && c->conf.acks == -1 ? PID_NEED : PID_OFF;
    if (c->conf.txn_id)
        p->pid_state = PID_ASKING; /* until brook_txn_init() sets it */
    c->prod = p;
    return p;
}

static struct ptopic *topic_get(struct brook_client *c, const char *name)
{
    struct producer *p = c->prod;
    if (p->last && !strcmp(p->last->name, name))
        return p->last;
    struct ptopic *t = hmap_get(&p->topics, name, strlen(name));
    if (t)
        return p->last = t;
    if (ARRAY_GROW(p->list, p->cap, p->n + 1))
        return NULL;
    if (!(t = calloc(1, sizeof *t)))
        return NULL;
    t->sticky = -1;
    if (!(t->name = strdup(name)) || !(t->md = md_want(c, name, c->conf.auto_create)) ||
        hmap_put(&p->topics, name, strlen(name), t)) {
        free(t->name);
        free(t);
        return NULL;
    }
    p->list[p->n++] = t;
    return p->last = t;
}

/* Grow the partition array to the topic's current count (never shrinks). */
static int topic_sync(struct ptopic *t)
{
    const struct md_topic *m = t->md;
    if (!m->known || m->err || m->n_parts <= t->n_parts)
        return 0;
    struct ppart *pp = realloc(t->parts, (size_t)m->n_parts * sizeof *pp);
    if (!pp)
        return -ENOMEM;
    memset(pp + t->n_parts, 0, (size_t)(m->n_parts - t->n_parts) * sizeof *pp);
    for (int32_t i = t->n_parts; i < m->n_parts; i++)
        pp[i].seq_pid = -1;
    t->parts = pp;
    t->n_parts = m->n_parts;
    if (t->sticky >= t->n_parts)
        t->sticky = -1;
    return 0;
}

static void report(struct brook_client *c, struct ptopic *t, int32_t part, void *opaque, int64_t ts,
                   int64_t offset, int err)
{
    struct brook_delivery d = {t->name, part, offset, ts, err, opaque};
    if (sync_delivery(c, &d))
        return;
    if (c->conf.dr_cb) {
        c->conf.dr_cb(c->conf.dr_arg, &d);
        c->callbacks++;
    }
}

static void batch_free(struct pbatch *b)
{
    batch_builder_release(&b->bb);
    writer_release(&b->data);
    free(b->opaques);
    free(b->ts);
    free(b);
}

/* Report every record of a finished batch and free it. */
static void batch_report(struct brook_client *c, struct ptopic *t, int32_t part, struct pbatch *b)
{
    struct producer *p = c->prod;
    for (int32_t i = 0; i < b->count; i++)
        report(c, t, part, b->opaques[i], b->ts[i],
               b->err || b->base_offset < 0 ? -1 : b->base_offset + i, b->err);
    p->mem -= b->mem;
    p->outstanding -= (size_t)b->count;
    batch_free(b);
}

/* Report the finished batches at the head of the sent list, in order. */
static void deliver_ready(struct brook_client *c, struct ptopic *t, int32_t part)
{
    struct ppart *pp = &t->parts[part];
    while (pp->s_head && pp->s_head->state == B_DONE) {
        struct pbatch *b = pp->s_head;
        pp->s_head = b->next;
        if (!pp->s_head)
            pp->s_tail = NULL;
        batch_report(c, t, part, b);
    }
}

/* ---- adding records ---- */

static struct pbatch *batch_new(struct brook_client *c)
{
    struct pbatch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    batch_builder_init(&b->bb, (enum codec)c->conf.codec, (size_t)c->conf.max_request_size);
    writer_init(&b->data, (size_t)c->conf.max_request_size + BATCH_OVERHEAD);
    b->pid = -1;
    b->base_offset = -1;
    b->deadline = c->now + c->conf.delivery_timeout_ms;
    return b;
}

static void close_batch(struct brook_client *c, struct ptopic *t, int32_t part)
{
    struct ppart *pp = &t->parts[part];
    struct pbatch *b = pp->open;
    if (!b)
        return;
    pp->open = NULL;
    b->state = B_QUEUED;
    b->next = NULL;
    if (pp->q_tail)
        pp->q_tail->next = b;
    else
        pp->q_head = b;
    pp->q_tail = b;
    if (part == t->sticky && t->n_parts > 1) { /* a new sticky partition for keyless records */
        int32_t next = (int32_t)(client_rand(c) % (uint64_t)(t->n_parts - 1));
        t->sticky = next >= part ? next + 1 : next;
    }
    c->dirty = true;
}

static int batch_note(struct pbatch *b, void *opaque, int64_t ts)
{
    /* two arrays of one capacity: b->cap moves only when both have grown */
    size_t cap_o = b->cap, cap_t = b->cap, need = (size_t)b->count + 1;
    if (ARRAY_GROW(b->opaques, cap_o, need) || ARRAY_GROW(b->ts, cap_t, need))
        return -ENOMEM;
    b->cap = cap_t;
    b->opaques[b->count] = opaque;
    b->ts[b->count] = ts;
    return 0;
}

/* Append one record to partition part's open batch. */
static int add_record(struct brook_client *c, struct ptopic *t, int32_t part, int64_t ts,
                      const void *key, int32_t key_len, const void *value, int32_t value_len,
                      const struct record_header *hdrs, int32_t n_hdrs, void *opaque, size_t mem)
{
    struct ppart *pp = &t->parts[part];
    if (pp->open && pp->open->count > 0 &&
        batch_builder_size(&pp->open->bb) + mem > (size_t)c->conf.batch_size)
        close_batch(c, t, part);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!pp->open) {
            if (!(pp->open = batch_new(c)))
                return -ENOMEM;
            pp->linger_at = c->now + c->conf.linger_ms;
        }
        struct pbatch *b = pp->open;
        int rc = batch_note(b, opaque, ts);
        if (!rc)
            rc = batch_builder_add(&b->bb, ts, key, key_len, value, value_len, hdrs, n_hdrs);
        if (rc == -EMSGSIZE && b->count > 0) {
            close_batch(c, t, part);
            continue;
        }
        if (rc)
            return rc;
        b->count++;
        b->mem += mem;
        if (batch_builder_size(&b->bb) >= (size_t)c->conf.batch_size)
            close_batch(c, t, part);
        return 0;
    }
    return -EMSGSIZE;
}

static int32_t choose_partition(struct brook_client *c, struct ptopic *t, const void *key,
                                size_t key_len)
{
    if (key)
        return murmur2_partition(key, key_len, t->n_parts);
    if (c->conf.partitioner == PART_MURMUR2)
        return murmur2_partition("", 0, t->n_parts);
    if (t->sticky < 0)
        t->sticky = (int32_t)(client_rand(c) % (uint64_t)t->n_parts);
    return t->sticky;
}

/* Convert public headers to the builder's (in out, which has room for n). */
static void headers_conv(const struct brook_header *h, size_t n, struct record_header *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (struct record_header){(const uint8_t *)h[i].key, (int32_t)h[i].key_len,
                                        h[i].value, h[i].value ? (int32_t)h[i].value_len : -1};
}

static int park_record(struct brook_client *c, struct ptopic *t, const struct brook_record *r,
                       int64_t ts, void *opaque, size_t mem)
{
    size_t klen = r->key ? r->key_len : 0, vlen = r->value ? r->value_len : 0, hbytes = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        hbytes += r->headers[i].key_len + (r->headers[i].value ? r->headers[i].value_len : 0);
    size_t size =
        sizeof(struct precord) + r->n_headers * sizeof(struct record_header) + klen + vlen + hbytes;
    struct precord *w = calloc(1, size);
    if (!w)
        return -ENOMEM;
    uint8_t *p = (uint8_t *)(w + 1);
    w->hdrs = (struct record_header *)p;
    p += r->n_headers * sizeof(struct record_header);
    w->partition = r->partition;
    w->ts = ts;
    w->deadline = c->now + c->conf.delivery_timeout_ms;
    w->opaque = opaque;
    w->mem = mem;
    w->key_len = r->key ? (int32_t)klen : -1;
    w->value_len = r->value ? (int32_t)vlen : -1;
    w->key = r->key ? memcpy(p, r->key, klen) : NULL;
    p += klen;
    w->value = r->value ? memcpy(p, r->value, vlen) : NULL;
    p += vlen;
    for (size_t i = 0; i < r->n_headers; i++) {
        const struct brook_header *h = &r->headers[i];
        struct record_header *o = &w->hdrs[i];
        o->key = memcpy(p, h->key, h->key_len);
        o->key_len = (int32_t)h->key_len;
        p += h->key_len;
        o->value = h->value ? memcpy(p, h->value, h->value_len) : NULL;
        o->value_len = h->value ? (int32_t)h->value_len : -1;
        p += h->value ? h->value_len : 0;
    }
    w->n_hdrs = (int32_t)r->n_headers;
    if (t->wait_tail)
        t->wait_tail->next = w;
    else
        t->wait_head = w;
    t->wait_tail = w;
    return 0;
}

static int record_check(const struct brook_record *r, size_t *mem)
{
    if (!r || !r->topic || !*r->topic || r->partition < BROOK_PARTITION_ANY)
        return -EINVAL;
    if ((r->key && r->key_len > INT32_MAX) || (r->value && r->value_len > INT32_MAX) ||
        r->n_headers > INT32_MAX || (r->n_headers && !r->headers))
        return -EINVAL;
    size_t m = RECORD_OVERHEAD + (r->key ? r->key_len : 0) + (r->value ? r->value_len : 0);
    for (size_t i = 0; i < r->n_headers; i++) {
        const struct brook_header *h = &r->headers[i];
        if (!h->key || h->key_len > INT32_MAX || (h->value && h->value_len > INT32_MAX))
            return -EINVAL;
        m += h->key_len + (h->value ? h->value_len : 0) + 16;
    }
    *mem = m;
    return 0;
}

int brook_produce(struct brook_client *c, const struct brook_record *r, void *opaque)
{
    size_t mem;
    int rc = record_check(r, &mem);
    if (rc)
        return rc;
    if (c->conf.txn_id && (rc = txn_may_produce(c)))
        return rc;
    if (mem > (size_t)c->conf.max_request_size)
        return -EMSGSIZE;
    struct producer *p = producer_get(c);
    if (!p)
        return -ENOMEM;
    if (p->mem > 0 && p->mem + mem > (uint64_t)c->conf.buffer_memory)
        return -ENOBUFS;
    struct ptopic *t = topic_get(c, r->topic);
    if (!t || topic_sync(t))
        return -ENOMEM;
    int64_t ts = r->timestamp ? r->timestamp : clock_wall_ms();
    if (t->n_parts == 0 || t->wait_head) {
        rc = park_record(c, t, r, ts, opaque, mem);
    } else if (r->partition >= t->n_parts) {
        return brook_err_kafka(KAFKA_UNKNOWN_TOPIC_OR_PARTITION);
    } else {
        struct record_header stackh[16], *h = stackh;
        if (r->n_headers > 16 && !(h = malloc(r->n_headers * sizeof *h)))
            return -ENOMEM;
        headers_conv(r->headers, r->n_headers, h);
        int32_t part =
            r->partition >= 0 ? r->partition : choose_partition(c, t, r->key, r->key_len);
        rc = add_record(c, t, part, ts, r->key, r->key ? (int32_t)r->key_len : -1, r->value,
                        r->value ? (int32_t)r->value_len : -1, h, (int32_t)r->n_headers, opaque,
                        mem);
        if (h != stackh)
            free(h);
    }
    if (rc)
        return rc;
    p->mem += mem;
    p->outstanding++;
    c->dirty = true;
    return 0;
}

/* ---- the pump: records waiting for metadata ---- */

static void fail_waiting(struct brook_client *c, struct ptopic *t, int err, bool all)
{
    struct producer *p = c->prod;
    struct precord **pp = &t->wait_head;
    t->wait_tail = NULL;
    while (*pp) {
        struct precord *w = *pp;
        if (all || w->deadline <= c->now) {
            *pp = w->next;
            report(c, t, w->partition, w->opaque, w->ts, -1, all ? err : -ETIMEDOUT);
            p->mem -= w->mem;
            p->outstanding--;
            free(w);
        } else {
            client_wake_at(c, w->deadline);
            t->wait_tail = w;
            pp = &w->next;
        }
    }
}

/* Move waiting records into batches once the topic's partitions are known. */
static void place_waiting(struct brook_client *c, struct ptopic *t)
{
    struct producer *p = c->prod;
    while (t->wait_head) {
        struct precord *w = t->wait_head;
        int rc;
        if (w->partition >= t->n_parts) {
            rc = brook_err_kafka(KAFKA_UNKNOWN_TOPIC_OR_PARTITION);
        } else {
            int32_t part =
                w->partition >= 0
                    ? w->partition
                    : choose_partition(c, t, w->key, (size_t)(w->key_len > 0 ? w->key_len : 0));
            rc = add_record(c, t, part, w->ts, w->key, w->key_len, w->value, w->value_len, w->hdrs,
                            w->n_hdrs, w->opaque, w->mem);
        }
        if (rc == -ENOMEM)
            return; /* try again on the next turn */
        t->wait_head = w->next;
        if (!t->wait_head)
            t->wait_tail = NULL;
        if (rc) {
            report(c, t, w->partition, w->opaque, w->ts, -1, rc);
            p->mem -= w->mem;
            p->outstanding--;
        }
        free(w);
    }
}

/* Whether the records waiting for a topic wait on: it is being created, or the
 * error may pass. Unknown after a request that asked for its creation means the
 * brokers will not create it. */
static bool topic_may_come(const struct md_topic *m)
{
    if (m->err == KAFKA_UNKNOWN_TOPIC_OR_PARTITION)
        return m->auto_create && !m->create_asked;
    return m->err == KAFKA_LEADER_NOT_AVAILABLE || kafka_error_retriable(m->err);
}

static void run_waiting(struct brook_client *c, struct ptopic *t)
{
    if (!t->wait_head)
        return;
    const struct md_topic *m = t->md;
    if (m->known && m->err && !topic_may_come(m)) {
        fail_waiting(c, t, kerr(m->err), true);
        return;
    }
    if (t->n_parts > 0)
        place_waiting(c, t);
    else
        fail_waiting(c, t, 0, false); /* expire by delivery.timeout.ms */
}

/* ---- the pump: batches ---- */

static void expire_queued(struct brook_client *c, struct ptopic *t, int32_t part)
{
    struct ppart *pp = &t->parts[part];
    while (pp->q_head && pp->q_head->deadline <= c->now && !pp->s_head) {
        struct pbatch *b = pp->q_head;
        pp->q_head = b->next;
        if (!pp->q_head)
            pp->q_tail = NULL;
        b->err = -ETIMEDOUT;
        batch_report(c, t, part, b);
    }
    if (pp->q_head)
        client_wake_at(c, pp->q_head->deadline);
}

static void run_partition_timers(struct brook_client *c, struct ptopic *t, int32_t part)
{
    struct ppart *pp = &t->parts[part];
    if (pp->open) {
        if (c->prod->flush || c->now >= pp->linger_at)
            close_batch(c, t, part);
        else
            client_wake_at(c, pp->linger_at);
    }
    expire_queued(c, t, part);
}

/* Whether a transactional producer may send partition part's batches now. */
static bool txn_ready(struct brook_client *c, struct ptopic *t, int32_t part)
{
    struct ppart *pp = &t->parts[part];
    if (!c->conf.txn_id)
        return true;
    uint64_t gen = txn_part_ready(c, t->name, part);
    if (gen)
        pp->txn_gen = gen;
    return gen != 0;
}

/* The batch partition part may send next, or NULL. */
static struct pbatch *sendable(struct brook_client *c, struct ptopic *t, int32_t part)
{
    struct ppart *pp = &t->parts[part];
    for (struct pbatch *b = pp->s_head; b; b = b->next) {
        if (b->state != B_RETRY)
            continue;
        if (pp->inflight > 0)
            return NULL; /* resend only once everything before has come back */
        if (c->now < b->retry_at) {
            client_wake_at(c, b->retry_at);
            return NULL;
        }
        return txn_ready(c, t, part) ? b : NULL;
    }
    if (pp->inflight >= max_inflight(c) || !pp->q_head)
        return NULL;
    return txn_ready(c, t, part) ? pp->q_head : NULL;
}

/* Write the producer id, epoch and sequence into a built batch and re-seal it. */
static void batch_renumber(struct pbatch *b, int64_t pid, int16_t epoch, int32_t seq)
{
    uint8_t *p = b->data.buf;
    writer_set_be64(&b->data, BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
    writer_set_be16(&b->data, BATCH_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
    writer_set_be32(&b->data, BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
    uint32_t crc = crc32c(0, p + BATCH_OFF_ATTRIBUTES, b->data.len - BATCH_OFF_ATTRIBUTES);
    writer_set_be32(&b->data, BATCH_OFF_CRC, crc);
}

/* Number (if idempotent) and build a batch for sending. */
static int batch_prepare(struct brook_client *c, struct ppart *pp, struct pbatch *b)
{
    struct producer *p = c->prod;
    bool number = p->pid_state == PID_OK && (b->pid != p->pid || b->epoch != p->epoch);
    if (number) {
        if (pp->seq_pid != p->pid || pp->seq_epoch != p->epoch) {
            pp->seq_pid = p->pid;
            pp->seq_epoch = p->epoch;
            pp->next_seq = 0;
        }
        b->pid = p->pid;
        b->epoch = p->epoch;
        b->seq = pp->next_seq;
        pp->next_seq = (int32_t)(((int64_t)pp->next_seq + b->count) & INT32_MAX);
    }
    if (b->built) {
        if (number)
            batch_renumber(b, b->pid, p->epoch, b->seq);
        return 0;
    }
    if (number) {
        b->bb.producer_id = b->pid;
        b->bb.producer_epoch = p->epoch;
        b->bb.base_sequence = b->seq;
    }
    if (c->conf.txn_id)
        b->bb.attributes |= BATCH_ATTR_TRANSACTIONAL;
    int rc = batch_builder_finish(&b->bb, -1, &b->data);
    if (rc)
        return rc;
    batch_builder_release(&b->bb);
    b->built = true;
    return 0;
}

/* Move the head of the queue to the sent list. */
static void queue_to_sent(struct ppart *pp, struct pbatch *b)
{
    pp->q_head = b->next;
    if (!pp->q_head)
        pp->q_tail = NULL;
    b->next = NULL;
    if (pp->s_tail)
        pp->s_tail->next = b;
    else
        pp->s_head = b;
    pp->s_tail = b;
}

static void on_produce(struct brook_client *c, struct req *rq, int err, struct resp *rs);

/* One Produce request for connection k with the entries e[0..n). */
static int send_request(struct brook_client *c, struct conn *k, struct sendent *e, size_t n)
{
    struct req *rq = req_new(KAFKA_API_PRODUCE, on_produce, NULL);
    if (!rq)
        return -ENOMEM;
    struct preq *pr = arena_alloc(&rq->arena, sizeof *pr + n * sizeof(struct sendent));
    struct kafka_produce_req *body = rq->body;
    body->topic_data = arena_calloc(&rq->arena, n, sizeof *body->topic_data);
    if (!pr || !body->topic_data) {
        req_free(rq);
        return -ENOMEM;
    }
    pr->n = n;
    memcpy(pr->e, e, n * sizeof *e);
    body->acks = c->conf.acks;
    body->timeout_ms = c->conf.request_timeout_ms;
    body->transactional_id = c->conf.txn_id ? kstr_from(c->conf.txn_id) : KSTR_NULL;
    for (size_t i = 0; i < n; i++) { /* entries come grouped by topic */
        struct kafka_produce_req_topic *td;
        if (i == 0 || e[i].t != e[i - 1].t) {
            td = &body->topic_data[body->n_topic_data++];
            td->name = kstr_from(e[i].t->name);
            td->partition_data = arena_calloc(&rq->arena, n - i, sizeof *td->partition_data);
            if (!td->partition_data) {
                req_free(rq);
                return -ENOMEM;
            }
        }
        td = &body->topic_data[body->n_topic_data - 1];
        struct kafka_produce_req_partition *pd = &td->partition_data[td->n_partition_data++];
        pd->index = e[i].part;
        pd->records = (struct krecords){e[i].b->data.buf, (int64_t)e[i].b->data.len, -1, 0};
    }
    rq->arg = pr;
    rq->noreply = c->conf.acks == 0;
    conn_send(k, rq);
    return 0;
}

/* Mark b sent (moved from the queue if it came from there). */
static void batch_sent(struct ppart *pp, struct pbatch *b)
{
    if (b->state == B_QUEUED)
        queue_to_sent(pp, b);
    b->state = B_INFLIGHT;
    b->attempts++;
    pp->inflight++;
}

/* Collect at most one batch per partition, then send them per leader. Returns how
 * many batches went out. */
static size_t send_round(struct brook_client *c, struct sendent *e, struct conn **ek, size_t max)
{
    struct producer *p = c->prod;
    size_t n = 0;
    for (size_t i = 0; i < p->n && n < max; i++) {
        struct ptopic *t = p->list[i];
        for (int32_t part = 0; part < t->n_parts && n < max; part++) {
            struct pbatch *b = sendable(c, t, part);
            if (!b)
                continue;
            struct conn *k = md_leader(c, t->md, part);
            if (!k || conn_pending_out(k) > OUT_HIGH_MARK)
                continue;
            int rc = batch_prepare(c, &t->parts[part], b);
            if (rc) { /* cannot be built (too large, out of memory): report it */
                if (b->state == B_QUEUED)
                    queue_to_sent(&t->parts[part], b);
                b->state = B_DONE;
                b->err = rc;
                deliver_ready(c, t, part);
                continue;
            }
            e[n] = (struct sendent){t, part, b};
            ek[n++] = k;
        }
    }
    size_t sent = 0;
    bool *done = calloc(n + 1, sizeof *done);
    struct sendent *grp = malloc((n + 1) * sizeof *grp);
    if (!done || !grp) {
        free(done);
        free(grp);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        size_t g = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && ek[j] == ek[i]) {
                grp[g++] = e[j];
                done[j] = true;
            }
        if (send_request(c, ek[i], grp, g))
            continue;
        for (size_t j = 0; j < g; j++)
            batch_sent(&grp[j].t->parts[grp[j].part], grp[j].b);
        sent += g;
    }
    free(done);
    free(grp);
    return sent;
}

static void send_batches(struct brook_client *c)
{
    struct producer *p = c->prod;
    if (p->pid_state == PID_NEED || p->pid_state == PID_ASKING)
        return;
    size_t parts = 0;
    for (size_t i = 0; i < p->n; i++)
        parts += (size_t)p->list[i]->n_parts;
    if (!parts)
        return;
    struct sendent *e = malloc(parts * sizeof *e);
    struct conn **ek = malloc(parts * sizeof *ek);
    for (int round = 0; e && ek && round < MAX_ROUNDS; round++)
        if (!send_round(c, e, ek, parts))
            break;
    free(e);
    free(ek);
}

/* ---- answers ---- */

static bool leader_error(int16_t code)
{
    return code == KAFKA_NOT_LEADER_OR_FOLLOWER || code == KAFKA_LEADER_NOT_AVAILABLE ||
           code == KAFKA_UNKNOWN_TOPIC_OR_PARTITION || code == KAFKA_FENCED_LEADER_EPOCH ||
           code == KAFKA_UNKNOWN_LEADER_EPOCH || code == KAFKA_NOT_ENOUGH_REPLICAS;
}

/* Whether a batch before b in the partition is still unresolved. */
static bool earlier_unresolved(const struct ppart *pp, const struct pbatch *b)
{
    for (const struct pbatch *x = pp->s_head; x && x != b; x = x->next)
        if (x->state != B_DONE)
            return true;
    return false;
}

static void pid_reset(struct brook_client *c)
{
    struct producer *p = c->prod;
    if (c->conf.txn_id)
        return; /* the transaction fails instead (batch_result) */
    if (p->pid_state == PID_OK)
        p->pid_state = PID_NEED;
}

/* Decide a sent batch's fate from its error (err: a libbrook error, code: Kafka's). */
static void batch_result(struct brook_client *c, struct ppart *pp, struct pbatch *b, int err,
                         int16_t code, int64_t base)
{
    pp->inflight--;
    if (!err && (!code || code == KAFKA_DUPLICATE_SEQUENCE_NUMBER)) {
        b->state = B_DONE;
        b->err = 0;
        b->base_offset = code ? -1 : base;
        return;
    }
    bool conn_err = err && !brook_err_kafka_code(err) && err != -ECANCELED &&
                    err != BROOK_ERR_VERSION && err != -ENOMEM;
    bool retry = conn_err || kafka_error_retriable(code) || leader_error(code);
    if (c->conf.txn_id && (code == KAFKA_OUT_OF_ORDER_SEQUENCE_NUMBER ||
                           code == KAFKA_UNKNOWN_PRODUCER_ID || code == KAFKA_INVALID_TXN_STATE))
        retry = false; /* a gap in a transaction: only an abort mends it */
    else if (code == KAFKA_OUT_OF_ORDER_SEQUENCE_NUMBER || code == KAFKA_UNKNOWN_PRODUCER_ID) {
        retry = true;
        if (!earlier_unresolved(pp, b))
            pid_reset(c);
    }
    if (retry && !c->freeing && b->attempts <= c->conf.retries && c->now < b->deadline) {
        b->state = B_RETRY;
        b->retry_at = c->now + c->conf.retry_backoff_ms;
        if (conn_err || leader_error(code))
            md_refresh(c);
        return;
    }
    b->state = B_DONE;
    b->err = err ? err : kerr(code);
    if (c->conf.txn_id)
        txn_fail(c, b->err);
    if (idempotent(c->prod))
        pid_reset(c); /* the sequence has a gap now */
}

static const struct kafka_produce_resp_partition *find_result(const struct kafka_produce_resp *r,
                                                              const char *topic, int32_t part)
{
    for (int32_t i = 0; i < r->n_responses; i++) {
        if (!kstr_eq(r->responses[i].name, topic))
            continue;
        for (int32_t k = 0; k < r->responses[i].n_partition_responses; k++)
            if (r->responses[i].partition_responses[k].index == part)
                return &r->responses[i].partition_responses[k];
    }
    return NULL;
}

static void on_produce(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct preq *pr = rq->arg;
    if (!c->prod)
        return;
    for (size_t i = 0; i < pr->n; i++) {
        struct sendent *e = &pr->e[i];
        struct ppart *pp = &e->t->parts[e->part];
        if (err || rq->noreply) {
            batch_result(c, pp, e->b, err, 0, -1);
            continue;
        }
        const struct kafka_produce_resp_partition *r = find_result(rs->body, e->t->name, e->part);
        if (!r)
            batch_result(c, pp, e->b, BROOK_ERR_PROTOCOL, 0, -1);
        else
            batch_result(c, pp, e->b, 0, r->error_code, r->base_offset);
    }
    for (size_t i = 0; i < pr->n; i++)
        deliver_ready(c, pr->e[i].t, pr->e[i].part);
}

/* ---- the producer id ---- */

static void on_pid(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct producer *p = c->prod;
    if (!p)
        return;
    const struct kafka_init_producer_id_resp *r = rs ? rs->body : NULL;
    int16_t code = r ? r->error_code : 0;
    if (err == BROOK_ERR_VERSION || (r && code && !kafka_error_retriable(code))) {
        p->pid_state = PID_OFF; /* a broker without idempotence: one batch in flight */
        return;
    }
    if (err || code) {
        p->pid_state = PID_NEED;
        p->pid_retry_at = c->now + c->conf.retry_backoff_ms;
        return;
    }
    p->pid = r->producer_id;
    p->epoch = r->producer_epoch;
    p->pid_state = PID_OK;
}

static void run_pid(struct brook_client *c)
{
    struct producer *p = c->prod;
    if (p->pid_state != PID_NEED)
        return;
    if (c->now < p->pid_retry_at) {
        client_wake_at(c, p->pid_retry_at);
        return;
    }
    bool any_in_flight = false;
    for (size_t i = 0; i < p->n; i++)
        for (int32_t k = 0; k < p->list[i]->n_parts; k++)
            any_in_flight |= p->list[i]->parts[k].inflight > 0;
    if (any_in_flight)
        return; /* a new id only once the old one's batches have come back */
    struct conn *k = md_any_conn(c, NULL);
    if (!k || k->state != CONN_READY) {
        md_refresh(c);
        return;
    }
    if (!conn_supports(k, KAFKA_API_INIT_PRODUCER_ID)) {
        p->pid_state = PID_OFF;
        return;
    }
    struct req *rq = req_new(KAFKA_API_INIT_PRODUCER_ID, on_pid, NULL);
    if (!rq)
        return;
    struct kafka_init_producer_id_req *body = rq->body;
    body->transactional_id = KSTR_NULL;
    body->transaction_timeout_ms = 60000;
    p->pid_state = PID_ASKING;
    conn_send(k, rq);
}

/* ---- the loop's entry points ---- */

void prod_run(struct brook_client *c)
{
    struct producer *p = c->prod;
    if (!p)
        return;
    bool any = false;
    for (size_t i = 0; i < p->n; i++) {
        struct ptopic *t = p->list[i];
        topic_sync(t);
        run_waiting(c, t);
        for (int32_t part = 0; part < t->n_parts; part++) {
            run_partition_timers(c, t, part);
            struct ppart *pp = &t->parts[part];
            any |= pp->q_head || pp->s_head || pp->open;
        }
        any |= t->wait_head != NULL;
    }
    p->flush = false;
    if (!any)
        return;
    run_pid(c);
    send_batches(c);
    if (c->conf.txn_id)
        txn_run(c); /* add the partitions send_batches() found waiting */
}

/* ---- for transactions (txn.c) ---- */

void prod_set_pid(struct brook_client *c, int64_t pid, int16_t epoch)
{
    struct producer *p = producer_get(c);
    if (!p)
        return;
    p->pid = pid;
    p->epoch = epoch;
    p->pid_state = pid >= 0 ? PID_OK : PID_ASKING;
    c->dirty = true;
}

bool prod_inflight(const struct brook_client *c)
{
    const struct producer *p = c->prod;
    for (size_t i = 0; p && i < p->n; i++)
        for (int32_t k = 0; k < p->list[i]->n_parts; k++)
            if (p->list[i]->parts[k].inflight > 0)
                return true;
    return false;
}

/* Fail every batch of a partition that is not in flight with err. */
static void cancel_partition(struct brook_client *c, struct ptopic *t, int32_t part, int err)
{
    struct ppart *pp = &t->parts[part];
    close_batch(c, t, part);
    for (struct pbatch *b = pp->s_head; b; b = b->next)
        if (b->state == B_RETRY) {
            b->state = B_DONE;
            b->err = err;
        }
    while (pp->q_head) {
        struct pbatch *b = pp->q_head;
        queue_to_sent(pp, b);
        b->state = B_DONE;
        b->err = err;
    }
    deliver_ready(c, t, part);
}

void prod_cancel_unsent(struct brook_client *c, int err)
{
    struct producer *p = c->prod;
    for (size_t i = 0; p && i < p->n; i++) {
        struct ptopic *t = p->list[i];
        fail_waiting(c, t, err, true);
        for (int32_t part = 0; part < t->n_parts; part++)
            cancel_partition(c, t, part, err);
    }
}

void prod_flush_now(struct brook_client *c)
{
    if (c->prod) {
        c->prod->flush = true;
        c->dirty = true;
    }
}

size_t prod_outstanding(const struct brook_client *c)
{
    return c->prod ? c->prod->outstanding : 0;
}

static void fail_list_batches(struct brook_client *c, struct ptopic *t, int32_t part,
                              struct pbatch *b)
{
    while (b) {
        struct pbatch *next = b->next;
        b->err = -ECANCELED;
        batch_report(c, t, part, b);
        b = next;
    }
}

void prod_free(struct brook_client *c)
{
    struct producer *p = c->prod;
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        struct ptopic *t = p->list[i];
        fail_waiting(c, t, -ECANCELED, true);
        for (int32_t part = 0; part < t->n_parts; part++) {
            struct ppart *pp = &t->parts[part];
            fail_list_batches(c, t, part, pp->s_head);
            fail_list_batches(c, t, part, pp->q_head);
            fail_list_batches(c, t, part, pp->open);
        }
        free(t->parts);
        free(t->name);
        free(t);
    }
    hmap_release(&p->topics);
    free(p->list);
    free(p);
    c->prod = NULL;
}
