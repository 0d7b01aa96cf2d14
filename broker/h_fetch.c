/*
 * h_fetch.c - Fetch with long polling and fetch sessions, and ListOffsets.
 *
 * A Fetch reads, for each partition, whole batches from one segment starting at
 * the batch that holds the fetch offset; the bytes are not read here at all - the
 * response carries (fd, position, length) splices that the server sends with
 * sendfile. When fewer than min_bytes are available the request is parked: it is
 * answered as soon as an append (from any thread: the store's listener wakes the
 * loop) gives it enough, or when max_wait_ms expires, whichever comes first.
 *
 * Sizes follow KIP-74: the request's max_bytes (lowered to fetch.max.bytes) bounds
 * the record bytes of the whole response and partition_max_bytes each partition's,
 * and only the first partition that returns records may pass them, by its first
 * batch alone, so that a batch larger than every limit is still delivered. A later
 * partition whose next batch does not fit returns no records this time.
 *
 * Fetch sessions (KIP-227, fetch_session.c) are kept from v7: a full fetch with
 * epoch 0 opens one, an incremental fetch is answered over all of the session's
 * partitions in its order, but carries only the partitions whose answer differs
 * from the last one sent (records, an error, a new high watermark or log start),
 * as Kafka does; a partition that returned records moves to the end of the order.
 * The partitions of a response are grouped by topic in that order, one topic
 * entry per run. From v13 topics are named by id (UNKNOWN_TOPIC_ID for an id no
 * topic has); brook has one node, so node_endpoints (v16+) stays empty.
 *
 * Bounds: the record bytes of one response are at most fetch.max.bytes, and the
 * partitions' headers of Fetch and ListOffsets (for an incremental fetch, all of
 * the session's) are counted against RESPONSE_MAX_BYTES before any work.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker/private.h"
#include "lib/clock.h"
#include "lib/xalloc.h"

#define LEADER_EPOCH      0    /* brook's one node has led every partition since its creation */
#define FETCH_ABORTED_MAX 1000 /* aborted transactions listed per partition */

struct fetch_part {
    struct store_topic *t; /* a reference, held while parked; NULL on error */
    struct store_partition *p;
    const uint8_t *topic_id; /* 16 bytes (v13+), in the pending's arena */
    const char *topic_name;  /* before v13, in the pending's arena */
    int32_t partition;
    int64_t offset;
    int32_t max_bytes;
    int16_t error; /* found when the request arrived */
    int32_t slot;  /* the session's part, or -1 */
    struct kafka_fetch_resp_partition out;
};

struct fetch_wait {
    struct broker *b;
    struct pending *pd;
    struct fetch_part *parts;
    int n_parts;
    int16_t version;
    int32_t max_bytes, min_bytes;
    bool committed; /* isolation_level 1: read_committed, up to the last stable offset */
    struct fetch_session *session; /* incremental: the session, held */
    bool open_session;             /* full fetch with epoch 0: open one when answered */
    uint64_t owner;
    struct event *timer;
    struct fetch_wait *prev, *next; /* parked list */
};

static const uint8_t zero_id[16];

/* A read_committed answer: the slice cut at the last stable offset, and the aborted
 * transactions whose data it holds. At most FETCH_ABORTED_MAX are listed: past that
 * the slice is cut before the first one left out, until the list is whole. */
static int fetch_committed(struct fetch_wait *fw, struct fetch_part *fp, int64_t lso,
                           struct store_slice *sl)
{
    struct kafka_fetch_resp_partition *out = &fp->out;
    struct store_aborted_txn found[FETCH_ABORTED_MAX + 1];
    size_t n = 0;
    out->n_aborted_transactions = 0; /* an empty list, not null, as Kafka answers */
    int rc = store_slice_limit(fp->p, sl, lso);
    for (int tries = 0; !rc && sl->len > 0; tries++) {
        rc = store_partition_aborted_txns(fp->p, sl->first_offset, sl->next_offset, found,
                                          FETCH_ABORTED_MAX + 1, &n);
        if (rc || n <= FETCH_ABORTED_MAX)
            break;
        if (tries == 4 || found[FETCH_ABORTED_MAX].first_offset <= sl->first_offset) {
            n = FETCH_ABORTED_MAX; /* one batch overlaps more: the documented limit */
            break;
        }
        rc = store_slice_limit(fp->p, sl, found[FETCH_ABORTED_MAX].first_offset);
    }
    if (rc || sl->len == 0)
        return rc;
    out->aborted_transactions =
        PENDING_NEW(fw->pd, struct kafka_fetch_resp_aborted_transaction, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        out->aborted_transactions[i] = (struct kafka_fetch_resp_aborted_transaction){
            found[i].producer_id, found[i].first_offset};
    out->n_aborted_transactions = (int32_t)n;
    return 0;
}

/* One partition's records within the budget; first: no partition returned records
 * yet, so one whole batch may pass the limits. Returns the bytes taken (the listed
 * aborted transactions count too), or -1 when the response can take no more. */
static int64_t fetch_fill_part(struct fetch_wait *fw, struct fetch_part *fp, int64_t budget,
                               bool first)
{
    struct kafka_fetch_resp_partition *out = &fp->out;
    struct store_partition_info info;
    store_partition_info(fp->p, &info);
    int64_t lso = store_partition_last_stable(fp->p);
    out->high_watermark = info.high_watermark;
    out->last_stable_offset = lso < info.high_watermark ? lso : info.high_watermark;
    out->log_start_offset = info.log_start_offset;
    int64_t limit = fp->max_bytes < budget ? fp->max_bytes : budget;
    if (limit <= 0 && !first)
        return 0; /* the response is full: the client asks again */
    struct store_slice sl;
    int rc = store_partition_read(fp->p, fp->offset, limit > 0 ? (size_t)limit : 1, &sl);
    if (!rc && fw->committed)
        rc = fetch_committed(fw, fp, out->last_stable_offset, &sl);
    if (rc) {
        store_slice_release(&sl);
        out->error_code = kafka_error_from(rc);
        return 0;
    }
    if (sl.len == 0)
        return 0;
    int32_t listed = out->n_aborted_transactions > 0 ? out->n_aborted_transactions : 0;
    int64_t took = sl.len + (int64_t)sizeof(struct kafka_fetch_resp_aborted_transaction) * listed;
    bool fits = first || took <= limit; /* the store returns one whole batch, which must fit */
    /* each slice holds a descriptor until sent, and this one may be near the reserve
     * the log keeps for itself: then the response is full (the client asks again) */
    bool full = fits && !first && store_fd_held_too_many(sl.fd);
    if (!fits || full) {
        store_slice_release(&sl);
        if (listed)
            out->n_aborted_transactions = 0; /* no records: nothing to filter */
        return full ? -1 : 0;
    }
    out->records = (struct krecords){NULL, sl.len, sl.fd, sl.pos};
    /* records out: the offsets the slice carries from the one asked for (control
     * records and compacted gaps count as Kafka's offsets do) */
    int64_t from = fp->offset > sl.first_offset ? fp->offset : sl.first_offset;
    metrics_topic(&fw->b->metrics, store_topic_name(fp->t), 0, 0,
                  sl.next_offset > from ? sl.next_offset - from : 0, sl.len);
    return took;
}

/* Fill every partition's answer within the byte budgets (KIP-74). */
static void fetch_fill(struct fetch_wait *fw)
{
    int64_t budget = fw->max_bytes;
    bool first = true;
    for (int i = 0; i < fw->n_parts; i++) {
        struct fetch_part *fp = &fw->parts[i];
        if (!fp->p) {
            fp->out.error_code = fp->error;
            continue;
        }
        int64_t took = fetch_fill_part(fw, fp, budget, first);
        if (took < 0)
            budget = 0;
        if (took > 0) {
            first = false;
            budget -= took;
        }
    }
}

/* Whether enough is available to answer now. */
static bool fetch_ready(struct fetch_wait *fw)
{
    int64_t avail = 0;
    for (int i = 0; i < fw->n_parts; i++) {
        struct fetch_part *fp = &fw->parts[i];
        if (!fp->p)
            return true; /* an error to report */
        int64_t hw = store_partition_high_watermark(fp->p);
        if (fp->offset > hw || fp->offset < store_partition_log_start(fp->p))
            return true;
        /* read_committed: only what is stable counts as available */
        int64_t end = fw->committed ? store_partition_last_stable(fp->p) : hw;
        if (end <= fp->offset)
            continue;
        if (fw->min_bytes <= 1)
            return true;
        /* a read stops at a segment's end: go on into the next until min_bytes */
        for (int64_t off = fp->offset; off < end && avail < fw->min_bytes;) {
            struct store_slice sl;
            if (store_partition_read(fp->p, off, (size_t)(fw->min_bytes - avail), &sl) != 0)
                break;
            if (store_slice_limit(fp->p, &sl, end) != 0) {
                store_slice_release(&sl);
                break;
            }
            avail += sl.len;
            off = sl.next_offset;
            store_slice_release(&sl);
            if (sl.len == 0)
                break;
        }
        if (avail >= fw->min_bytes)
            return true;
    }
    return false;
}

/* The session cache of the connection's loop. Each network thread has its own,
 * with its share of the slots and of the memory: a session is reached only from
 * the loop of the connection that opened it (a client that reconnects onto
 * another loop is told FETCH_SESSION_ID_NOT_FOUND and fetches in full, as after
 * an eviction). */
static struct fetch_sessions *fetch_sessions(struct conn *c)
{
    struct net_loop *l = c->loop;
    if (!l->sessions_ready) {
        int n = c->b->n_loops > 0 ? c->b->n_loops : 1;
        int64_t slots = c->b->cfg->fetch_session_slots;
        fetch_sessions_init(&l->sessions, (int)((slots + n - 1) / n), FETCH_SESSIONS_MAX_BYTES / n,
                            (uint64_t)clock_mono_ns() ^ (uint64_t)l->id << 56);
        l->sessions_ready = true;
    }
    return &l->sessions;
}

/* A full fetch with epoch 0: open a session holding its partitions as answered. */
static int32_t fetch_open_session(struct fetch_wait *fw)
{
    struct fetch_sessions *c = fetch_sessions(fw->pd->c);
    struct fetch_session *s;
    if (fetch_sessions_create(c, fw->owner, fw->version >= 13, fw->n_parts, clock_mono_ms(), &s))
        return 0; /* no room: the client goes on with full fetches */
    for (int i = 0; i < fw->n_parts; i++) {
        struct fetch_part *fp = &fw->parts[i];
        int rc = fetch_session_set(c, s, fp->topic_id, kstr_from(fp->topic_name), fp->partition,
                                   fp->offset, fp->max_bytes);
        if (rc) {
            fetch_sessions_remove(c, s->id);
            return 0;
        }
        int32_t slot = fetch_session_part_find(
            s, fetch_session_topic_find(s, fp->topic_id, kstr_from(fp->topic_name)), fp->partition);
        fetch_session_part_changed(&s->parts[slot], fp->out.error_code, fp->out.high_watermark,
                                   fp->out.log_start_offset, false);
    }
    return s->id;
}

/* An incremental fetch: which partitions to send, by Kafka's rule. */
static void fetch_select(struct fetch_wait *fw, bool *send)
{
    struct fetch_session *s = fw->session;
    for (int i = 0; i < fw->n_parts; i++) {
        struct fetch_part *fp = &fw->parts[i];
        bool records = fp->out.records.len > 0;
        send[i] =
            fetch_session_part_changed(&s->parts[fp->slot], fp->out.error_code,
                                       fp->out.high_watermark, fp->out.log_start_offset, records);
        if (records)
            fetch_session_move_last(s, fp->slot);
    }
}

static bool fetch_same_topic(const struct fetch_wait *fw, const struct fetch_part *a,
                             const struct fetch_part *b)
{
    if (fw->version >= 13)
        return memcmp(a->topic_id, b->topic_id, 16) == 0;
    return strcmp(a->topic_name, b->topic_name) == 0;
}

/* The response's topics: the sent partitions in order, one topic entry per run. */
static void fetch_build(struct fetch_wait *fw, struct kafka_fetch_resp *resp, const bool *send)
{
    struct pending *pd = fw->pd;
    resp->responses = PENDING_NEW(pd, struct kafka_fetch_resp_topic, fw->n_parts);
    struct kafka_fetch_resp_partition *outs =
        PENDING_NEW(pd, struct kafka_fetch_resp_partition, fw->n_parts);
    const struct fetch_part *prev = NULL;
    struct kafka_fetch_resp_topic *to = NULL;
    for (int i = 0; i < fw->n_parts; i++) {
        const struct fetch_part *fp = &fw->parts[i];
        if (send && !send[i])
            continue;
        if (!prev || !fetch_same_topic(fw, prev, fp)) {
            to = &resp->responses[resp->n_responses++];
            to->topic = kstr_from(fp->topic_name ? fp->topic_name : "");
            memcpy(to->topic_id, fp->topic_id, 16);
            to->partitions = outs;
        }
        *outs++ = fp->out;
        to->n_partitions++;
        prev = fp;
    }
}

static void fetch_complete(struct fetch_wait *fw)
{
    struct net_loop *l = fw->pd->c->loop;
    if (fw->timer) {
        event_free(fw->timer);
        fw->timer = NULL;
        if (fw->prev)
            fw->prev->next = fw->next;
        else
            l->parked = fw->next;
        if (fw->next)
            fw->next->prev = fw->prev;
    }
    struct kafka_fetch_resp *resp = fw->pd->resp;
    fetch_fill(fw);
    bool *send = NULL;
    if (fw->session) {
        send = PENDING_NEW(fw->pd, bool, fw->n_parts);
        fetch_select(fw, send);
        resp->session_id = fw->session->id;
        fw->session->waiter = NULL;
        fetch_session_put(fw->session);
        fw->session = NULL;
    } else if (fw->open_session) {
        resp->session_id = fetch_open_session(fw);
    }
    fetch_build(fw, resp, send);
    for (int i = 0; i < fw->n_parts; i++)
        store_topic_put(fw->parts[i].t);
    pending_finish(fw->pd);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    fetch_complete(arg);
}

void fetch_on_append(struct net_loop *l)
{
    for (struct fetch_wait *fw = l->parked, *next; fw; fw = next) {
        next = fw->next;
        if (fetch_ready(fw))
            fetch_complete(fw);
    }
}

void fetch_abort_all(struct net_loop *l)
{
    while (l->parked)
        fetch_complete(l->parked);
    if (l->sessions_ready && l->stopping) {
        fetch_sessions_release(&l->sessions); /* no fetch holds one now */
        l->sessions_ready = false;
    }
}

/* Arena bytes of a Fetch response of n partitions whose topic names are at most
 * name_len, with the request's parking state. */
static uint64_t fetch_bytes(uint64_t n, int64_t name_len)
{
    return response_bytes(1, sizeof(struct fetch_wait)) +
           response_bytes(n, sizeof(struct kafka_fetch_resp_topic)) +
           response_bytes(n, sizeof(struct kafka_fetch_resp_partition) + sizeof(struct fetch_part) +
                                 sizeof(bool) + 16) +
           n * response_string_bytes(name_len);
}

static uint64_t fetch_request_bytes(const struct kafka_fetch_req *req, int32_t session_parts)
{
    uint64_t n = (uint64_t)session_parts;
    int64_t name_len = session_parts > 0 ? 255 : 0;
    for (int32_t i = 0; i < req->n_topics; i++) {
        n += (uint64_t)req->topics[i].n_partitions;
        if (req->topics[i].topic.len > name_len)
            name_len = req->topics[i].topic.len;
    }
    return fetch_bytes(n, name_len);
}

/* The topic a request names, by id from v13: a reference, or NULL with *err.
 * READ on it is asked first (by name) or once it is found (by id), as Kafka does. */
static struct store_topic *fetch_topic(struct request *rq, const uint8_t id[16], struct kstr name,
                                       int16_t *err)
{
    struct broker *b = rq->c->b;
    if (rq->version < 13) {
        if (request_allowed_kstr(rq, AUTH_OP_READ, AUTH_RES_TOPIC, name))
            return broker_topic(b, name, false, err);
        *err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        return NULL;
    }
    struct store_topic *t = store_topic_get_id(b->store, id);
    *err = t ? KAFKA_NONE : KAFKA_UNKNOWN_TOPIC_ID;
    if (t && !request_allowed(rq, AUTH_OP_READ, AUTH_RES_TOPIC, store_topic_name(t))) {
        store_topic_put(t);
        *err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        return NULL;
    }
    return t;
}

/* Resolve one partition to read into fp. */
static void fetch_part_init(struct fetch_part *fp, struct store_topic *t, int16_t topic_err,
                            int32_t partition, int64_t offset, int32_t max_bytes)
{
    kafka_init(&kafka_fetch_resp_partition_desc, &fp->out);
    fp->out.partition_index = fp->partition = partition;
    fp->out.records = (struct krecords){(const uint8_t *)"", 0, -1, 0};
    fp->offset = offset;
    fp->max_bytes = max_bytes;
    fp->slot = -1;
    fp->p = t ? store_topic_partition(t, partition) : NULL;
    fp->error = !t ? topic_err : !fp->p ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : KAFKA_NONE;
    fp->t = fp->p ? store_topic_ref(t) : NULL;
}

/* The partitions of a full fetch: the request's, in its order. */
static void fetch_parts_full(struct request *rq, struct fetch_wait *fw)
{
    struct kafka_fetch_req *req = rq->body;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_fetch_req_topic *ti = &req->topics[i];
        int16_t err;
        struct store_topic *t = fetch_topic(rq, ti->topic_id, ti->topic, &err);
        uint8_t *id = PENDING_NEW(fw->pd, uint8_t, 16);
        memcpy(id, rq->version >= 13 ? ti->topic_id : t ? store_topic_id(t) : zero_id, 16);
        const char *name = rq->version < 13 ? pd_strdup(fw->pd, ti->topic) : NULL;
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            const struct kafka_fetch_req_partition *pi = &ti->partitions[k];
            struct fetch_part *fp = &fw->parts[fw->n_parts++];
            fp->topic_id = id;
            fp->topic_name = name;
            fetch_part_init(fp, t, err, pi->partition, pi->fetch_offset, pi->partition_max_bytes);
            if (!fp->error && pi->current_leader_epoch > LEADER_EPOCH)
                fp->error = KAFKA_UNKNOWN_LEADER_EPOCH; /* the client knows a later leader */
            if (fp->error && fp->p) {
                store_topic_put(fp->t);
                fp->t = NULL;
                fp->p = NULL;
            }
        }
        store_topic_put(t);
    }
}

/* Apply an incremental request to its session: 0, or -E2BIG past the bounds. */
static int fetch_session_update(struct request *rq, struct fetch_session *s)
{
    struct fetch_sessions *c = fetch_sessions(rq->c);
    struct kafka_fetch_req *req = rq->body;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_fetch_req_topic *ti = &req->topics[i];
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            const struct kafka_fetch_req_partition *pi = &ti->partitions[k];
            int rc = fetch_session_set(c, s, ti->topic_id, ti->topic, pi->partition,
                                       pi->fetch_offset, pi->partition_max_bytes);
            if (rc)
                return rc;
        }
    }
    for (int32_t i = 0; i < req->n_forgotten_topics_data; i++) {
        const struct kafka_fetch_req_forgotten_topic *fi = &req->forgotten_topics_data[i];
        for (int32_t k = 0; k < fi->n_partitions; k++)
            fetch_session_forget(c, s, fi->topic_id, fi->topic, fi->partitions[k]);
    }
    return 0;
}

/* The partitions of an incremental fetch: all of the session's, in its order. */
static void fetch_parts_session(struct request *rq, struct fetch_wait *fw, struct fetch_session *s)
{
    struct store_topic **topics = xcalloc((size_t)s->n_topics, sizeof *topics);
    int16_t *errs = xcalloc((size_t)s->n_topics, sizeof *errs);
    const uint8_t **ids = xcalloc((size_t)s->n_topics, sizeof *ids);
    const char **names = xcalloc((size_t)s->n_topics, sizeof *names);
    for (int32_t i = s->head; i >= 0; i = s->parts[i].next) {
        const struct fetch_session_part *sp = &s->parts[i];
        int32_t ti = sp->topic;
        const struct fetch_session_topic *st = &s->topics[ti];
        if (!ids[ti]) {
            topics[ti] = fetch_topic(rq, st->id, kstr_from(st->name), &errs[ti]);
            uint8_t *id = PENDING_NEW(fw->pd, uint8_t, 16);
            memcpy(id, s->by_id ? st->id : topics[ti] ? store_topic_id(topics[ti]) : zero_id, 16);
            ids[ti] = id;
            names[ti] = st->name ? pd_strdup(fw->pd, kstr_from(st->name)) : NULL;
        }
        struct fetch_part *fp = &fw->parts[fw->n_parts++];
        fp->topic_id = ids[ti];
        fp->topic_name = names[ti];
        fetch_part_init(fp, topics[ti], errs[ti], sp->partition, sp->fetch_offset, sp->max_bytes);
        fp->slot = i;
    }
    for (int32_t t = 0; t < s->n_topics; t++)
        store_topic_put(topics[t]);
    free(topics);
    free(errs);
    free(ids);
    free(names);
}

/* An incremental fetch's session, ready to be read: KAFKA_NONE with *out, or the
 * error to answer with. */
static int16_t fetch_session_begin(struct request *rq, struct fetch_session **out)
{
    struct kafka_fetch_req *req = rq->body;
    struct fetch_sessions *c = fetch_sessions(rq->c);
    struct fetch_session *s;
    int16_t err = fetch_sessions_find(c, req->session_id, req->session_epoch, rq->version >= 13,
                                      clock_mono_ms(), &s);
    if (err)
        return err;
    if (s->waiter) /* a fetch on it still parked: answer it first, it changes the session */
        fetch_complete(s->waiter);
    if (fetch_session_update(rq, s)) {
        fetch_sessions_remove(c, s->id); /* past its bounds: the client starts over */
        return KAFKA_FETCH_SESSION_ID_NOT_FOUND;
    }
    fetch_session_next_epoch(s);
    if (s->n_parts == 0) {
        fetch_sessions_remove(c, s->id); /* Kafka closes an emptied session */
        s = NULL;
    }
    *out = s;
    return KAFKA_NONE;
}

/* Answer at once with a session error and no partitions. */
static void fetch_refuse(struct request *rq, int16_t err)
{
    struct kafka_fetch_resp *resp = response_new(rq);
    resp->error_code = err;
    request_respond(rq, resp);
}

/* The session to read an incremental fetch over (a full one: NULL, after closing the
 * session it names); *err when the request must be refused. */
static struct fetch_session *fetch_session_of(struct request *rq, bool *open, int16_t *err)
{
    struct kafka_fetch_req *req = rq->body;
    struct broker *b = rq->c->b;
    *open = false;
    *err = KAFKA_NONE;
    if (rq->version < 7)
        return NULL;
    if (req->session_epoch == 0 || req->session_epoch == -1) { /* a full fetch */
        if (req->session_id != 0) {
            struct fetch_sessions *c = fetch_sessions(rq->c);
            for (int i = 0; i < c->n; i++)
                if (c->all[i]->id == req->session_id && c->all[i]->waiter)
                    fetch_complete(c->all[i]->waiter);
            fetch_sessions_remove(c, req->session_id);
        }
        *open = req->session_epoch == 0;
        if (*open && !rq->c->fetch_owner)
            rq->c->fetch_owner = atomic_fetch_add(&b->fetch_owners, 1) + 1;
        return NULL;
    }
    struct fetch_session *s = NULL;
    *err = fetch_session_begin(rq, &s);
    return s;
}

static void fetch_park(struct fetch_wait *fw, int32_t max_wait_ms)
{
    struct net_loop *l = fw->pd->c->loop;
    fw->timer = evtimer_new(l->base, timer_cb, fw);
    if (!fw->timer)
        xalloc_fail("event", 0);
    struct timeval tv = {max_wait_ms / 1000, (max_wait_ms % 1000) * 1000};
    evtimer_add(fw->timer, &tv);
    fw->next = l->parked;
    if (l->parked)
        l->parked->prev = fw;
    l->parked = fw;
    if (fw->session)
        fw->session->waiter = fw;
}

void handle_fetch(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_fetch_req *req = rq->body;
    if (!response_fits(rq, fetch_request_bytes(req, 0))) {
        request_refuse(rq, "the Fetch response would pass the response limit");
        return;
    }
    bool open;
    int16_t err;
    struct fetch_session *s = fetch_session_of(rq, &open, &err);
    if (err) {
        fetch_refuse(rq, err);
        return;
    }
    if (s && !response_fits(rq, fetch_request_bytes(req, s->n_parts))) {
        fetch_sessions_remove(fetch_sessions(rq->c), s->id);
        fetch_refuse(rq, KAFKA_FETCH_SESSION_ID_NOT_FOUND);
        return;
    }
    struct kafka_fetch_resp *resp = response_new(rq);
    struct fetch_wait *fw = PENDING_NEW(pd, struct fetch_wait, 1);
    int32_t max_bytes = req->max_bytes;
    if (max_bytes > b->cfg->fetch_max_bytes || max_bytes < 0)
        max_bytes = (int32_t)b->cfg->fetch_max_bytes;
    *fw = (struct fetch_wait){.b = b,
                              .pd = pd,
                              .version = rq->version,
                              .max_bytes = max_bytes,
                              .min_bytes = req->min_bytes,
                              .committed = rq->version >= 4 && req->isolation_level == 1,
                              .open_session = open,
                              .owner = rq->c->fetch_owner};
    int64_t total = s ? s->n_parts : 0;
    for (int32_t i = 0; !s && i < req->n_topics; i++)
        total += req->topics[i].n_partitions;
    fw->parts = PENDING_NEW(pd, struct fetch_part, total);
    if (s) {
        fetch_parts_session(rq, fw, s);
        fw->session = s;
        s->refs++;
    } else {
        fetch_parts_full(rq, fw);
    }
    pd->resp = resp;
    bool error = false;
    for (int i = 0; i < fw->n_parts; i++)
        error |= fw->parts[i].p == NULL;
    if (error || req->max_wait_ms <= 0 || rq->c->loop->stopping || fetch_ready(fw)) {
        fetch_complete(fw);
        return;
    }
    fetch_park(fw, req->max_wait_ms);
}

/* ---- ListOffsets ---- */

/* Kafka's special timestamps (ListOffsetsRequest): brook has no tiered storage, so
 * the earliest local offset is the log start and nothing is tiered. */
#define LATEST         -1
#define EARLIEST       -2
#define MAX_TIMESTAMP  -3 /* v7+ (KIP-734) */
#define EARLIEST_LOCAL -4 /* v8+ (KIP-405) */
#define LATEST_TIERED  -5 /* v9+ */

/* KIP-734: the offset of the first record with the partition's largest timestamp.
 * Every segment knows its largest; the first record at least that late is it. */
static int list_offsets_max_timestamp(struct store_partition *p, int64_t *offset, int64_t *ts)
{
    struct store_segment_info *segs;
    size_t n;
    int rc = store_partition_segments(p, &segs, &n);
    if (rc)
        return rc;
    int64_t max = -1;
    for (size_t i = 0; i < n; i++)
        if (segs[i].max_timestamp > max && segs[i].next_offset > segs[i].base)
            max = segs[i].max_timestamp;
    free(segs);
    *offset = *ts = -1;
    if (max < 0)
        return 0; /* an empty partition: Kafka answers -1, -1 */
    rc = store_partition_offset_for_time(p, max, offset, ts);
    if (rc == -ENOENT) {
        *offset = *ts = -1;
        rc = 0;
    }
    return rc;
}

static void list_offsets_partition(struct store_partition *p, bool committed,
                                   const struct kafka_list_offsets_req_partition *in,
                                   struct kafka_list_offsets_resp_partition *po)
{
    int64_t ts = in->timestamp;
    int rc = 0;
    po->leader_epoch = LEADER_EPOCH;
    if (in->current_leader_epoch > LEADER_EPOCH) {
        po->error_code = KAFKA_UNKNOWN_LEADER_EPOCH; /* the client knows a later leader */
        po->leader_epoch = -1;
        return;
    }
    if (ts == LATEST) { /* read_committed: the last stable offset, as Kafka */
        po->offset = committed ? store_partition_last_stable(p) : store_partition_high_watermark(p);
    } else if (ts == EARLIEST || ts == EARLIEST_LOCAL) {
        po->offset = store_partition_log_start(p);
    } else if (ts == LATEST_TIERED) {
        po->offset = -1; /* nothing is tiered */
        po->leader_epoch = -1;
    } else if (ts == MAX_TIMESTAMP) {
        rc = list_offsets_max_timestamp(p, &po->offset, &po->timestamp);
    } else {
        rc = store_partition_offset_for_time(p, ts, &po->offset, &po->timestamp);
        if (rc == -ENOENT) {
            po->offset = po->timestamp = -1; /* no record that late */
            po->leader_epoch = -1;
            rc = 0;
        }
    }
    if (rc) {
        po->error_code = kafka_error_from(rc);
        po->offset = po->timestamp = -1;
        po->leader_epoch = -1;
    }
}

/* v0 answers a list: the one offset found, when the client asks for at least one
 * (Kafka's v0 listed segment starts before a time; every v0 client brook knows of
 * asks for one offset, latest or earliest). */
static void list_offsets_v0(struct pending *pd, const struct kafka_list_offsets_req_partition *in,
                            struct kafka_list_offsets_resp_partition *po)
{
    if (po->error_code || po->offset < 0 || in->max_num_offsets < 1)
        return;
    po->old_style_offsets = PENDING_NEW(pd, int64_t, 1);
    po->old_style_offsets[0] = po->offset;
    po->n_old_style_offsets = 1;
}

void handle_list_offsets(struct request *rq)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct kafka_list_offsets_req *req = rq->body;
    uint64_t bytes =
        response_bytes((uint64_t)req->n_topics, sizeof(struct kafka_list_offsets_resp_topic));
    for (int32_t i = 0; i < req->n_topics; i++)
        bytes += response_string_bytes(req->topics[i].name.len) +
                 response_bytes((uint64_t)req->topics[i].n_partitions,
                                sizeof(struct kafka_list_offsets_resp_partition));
    if (!response_fits(rq, bytes)) {
        request_refuse(rq, "the ListOffsets response would pass the response limit");
        return;
    }
    struct kafka_list_offsets_resp *resp = response_new(rq);
    resp->topics = PENDING_NEW(pd, struct kafka_list_offsets_resp_topic, req->n_topics);
    resp->n_topics = req->n_topics;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kafka_list_offsets_req_topic *ti = &req->topics[i];
        struct kafka_list_offsets_resp_topic *to = &resp->topics[i];
        to->name = kstr_from(pd_strdup(pd, ti->name));
        to->partitions =
            PENDING_NEW(pd, struct kafka_list_offsets_resp_partition, ti->n_partitions);
        to->n_partitions = ti->n_partitions;
        int16_t err = KAFKA_TOPIC_AUTHORIZATION_FAILED;
        struct store_topic *t = request_allowed_kstr(rq, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, ti->name)
                                    ? broker_topic(b, ti->name, false, &err)
                                    : NULL;
        for (int32_t k = 0; k < ti->n_partitions; k++) {
            struct kafka_list_offsets_resp_partition *po = &to->partitions[k];
            *po = (struct kafka_list_offsets_resp_partition){.partition_index =
                                                                 ti->partitions[k].partition_index,
                                                             .timestamp = -1,
                                                             .offset = -1,
                                                             .leader_epoch = -1};
            struct store_partition *p = t ? store_topic_partition(t, po->partition_index) : NULL;
            if (p)
                list_offsets_partition(p, rq->version >= 2 && req->isolation_level == 1,
                                       &ti->partitions[k], po);
            else
                po->error_code = t ? KAFKA_UNKNOWN_TOPIC_OR_PARTITION : err;
            if (rq->version == 0)
                list_offsets_v0(pd, &ti->partitions[k], po);
        }
        store_topic_put(t);
    }
    request_respond(rq, resp);
}
