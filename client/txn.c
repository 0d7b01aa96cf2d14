/*
 * txn.c - the transactional producer (Kafka's KIP-98, as its clients speak it).
 *
 * A client with transactional.id finds its transaction coordinator
 * (FindCoordinator, key type 1) and takes its producer id and epoch there
 * (InitProducerId with the id): that fences any older producer with the same id.
 * Then, per transaction:
 *
 *   begin        local only;
 *   records      before a partition's first batch goes out, the partition is added
 *                to the transaction (AddPartitionsToTxn, asynchronous, one request
 *                in flight for every partition waiting); the producer holds the
 *                partition's batches until then (txn_part_ready()); batches carry
 *                the transactional attribute and the producer's sequence numbers;
 *   offsets      AddOffsetsToTxn to the transaction coordinator, then
 *                TxnOffsetCommit to the group's coordinator: the offsets become the
 *                group's at commit;
 *   commit       every record delivered, then EndTxn(commit);
 *   abort        what is in flight comes back, what is not is cancelled, then
 *                EndTxn(abort).
 *
 * AddPartitionsToTxn is sent at v0-3, the form Kafka's clients use; v4+ (batches
 * of transactions, verify-only) is how brokers speak to the coordinator. EndTxn
 * stays below v5, whose answer moves the epoch every transaction (transaction
 * protocol version 2), which this client does not follow.
 *
 * Errors: PRODUCER_FENCED and INVALID_PRODUCER_EPOCH mean another producer with our
 * id took over (or the coordinator timed our transaction out and bumped the epoch):
 * BROOK_ERR_FENCED, final. Coordinator moves and loading, CONCURRENT_TRANSACTIONS
 * and other retriable codes are retried until the call's deadline. Anything else
 * makes the transaction abortable: its unsent records fail, commit is refused,
 * abort works. When an abort follows failed or cancelled batches whose sequence
 * numbers the broker may or may not have seen, the producer takes a new epoch
 * (InitProducerId with its current id and epoch, KIP-360), so the next
 * transaction's sequences start clean.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "lib/clock.h"
#include "lib/grow.h"
#include "proto/kafka_errors.h"

enum txn_state { T_NONE, T_READY, T_OPEN, T_ABORTABLE, T_FATAL };

struct txn_part {
    char *topic;
    int32_t part;
    bool added;
};

struct txn {
    enum txn_state st;
    int err;      /* why abortable or fatal */
    uint64_t gen; /* bumped by every begin */
    bool offsets; /* offsets were added to this transaction */
    bool cancel;  /* unsent records must fail (from the loop) */
    bool bump;    /* take a new epoch after the abort */
    struct conn *coord;
    struct req *find; /* FindCoordinator in flight (from the loop) */
    struct req *add;  /* AddPartitionsToTxn in flight */
    int64_t add_at;   /* no AddPartitionsToTxn before this (monotonic ms) */
    int64_t pid;
    int16_t epoch;
    struct txn_part *parts;
    size_t n, cap;
};

/* ---- errors ---- */

static bool fenced_code(int16_t code)
{
    return code == KAFKA_PRODUCER_FENCED || code == KAFKA_INVALID_PRODUCER_EPOCH;
}

static int txn_error(int16_t code)
{
    return fenced_code(code) ? BROOK_ERR_FENCED : kerr(code);
}

static bool coord_moved(int16_t code)
{
    return code == KAFKA_NOT_COORDINATOR || code == KAFKA_COORDINATOR_NOT_AVAILABLE;
}

static bool txn_retriable(int16_t code)
{
    return coord_moved(code) || code == KAFKA_COORDINATOR_LOAD_IN_PROGRESS ||
           code == KAFKA_CONCURRENT_TRANSACTIONS || code == KAFKA_OPERATION_NOT_ATTEMPTED ||
           kafka_error_retriable(code);
}

void txn_fail(struct brook_client *c, int err)
{
    struct txn *t = c->txn;
    if (!t || err == 0)
        return;
    if (fenced_code((int16_t)brook_err_kafka_code(err)))
        err = BROOK_ERR_FENCED;
    if (err == BROOK_ERR_FENCED) {
        t->st = T_FATAL;
        t->err = err;
    } else if (t->st == T_OPEN) {
        t->st = T_ABORTABLE;
        t->err = err;
    }
    t->bump = true;
    t->cancel = true;
    c->dirty = true;
}

/* ---- coordinators ---- */

static struct conn *conn_for(struct brook_client *c, const struct coord_answer *a)
{
    struct conn *k = md_broker_conn(c, a->node_id);
    if (!k) {
        char *host = strndup(a->host.p ? a->host.p : "", a->host.len > 0 ? (size_t)a->host.len : 0);
        if (host)
            k = conn_new(c, a->node_id, host, a->port);
        free(host);
    }
    return k;
}

static struct req *find_req(const char *key, int8_t key_type, req_cb *cb, void *arg)
{
    struct req *rq = req_new(KAFKA_API_FIND_COORDINATOR, cb, arg);
    if (!rq)
        return NULL;
    if (grp_coord_ask(rq, key)) {
        req_free(rq);
        return NULL;
    }
    ((struct kafka_find_coordinator_req *)rq->body)->key_type = key_type;
    if (key_type == 1 && rq->vmin < 1)
        rq->vmin = 1; /* key types came with v1 */
    return rq;
}

/* Wait until deadline or retry.backoff.ms from now, whichever is first. */
static bool past(struct brook_client *c, void *arg)
{
    return clock_mono_ms() >= *(int64_t *)arg;
}

static void backoff(struct brook_client *c, int64_t deadline)
{
    int64_t until = clock_mono_ms() + c->conf.retry_backoff_ms;
    if (until > deadline)
        until = deadline;
    client_wait(c, past, &until, until);
}

/* The coordinator of key (type 0 a group, 1 a transactional id), blocking. */
static int coord_find(struct brook_client *c, const char *key, int8_t key_type, int64_t deadline,
                      struct conn **out)
{
    for (;;) {
        struct req *rq = find_req(key, key_type, NULL, NULL);
        struct resp *rs;
        if (!rq)
            return -ENOMEM;
        int rc = client_call(c, NULL, rq, deadline, &rs);
        if (rc == -ETIMEDOUT || rc == -ENOMEM || rc == BROOK_ERR_VERSION)
            return rc;
        if (!rc) {
            struct coord_answer a = grp_coord_answer(rs);
            struct conn *k = a.error_code ? NULL : conn_for(c, &a);
            resp_free(rs);
            if (k) {
                *out = k;
                return 0;
            }
            if (a.error_code && !txn_retriable(a.error_code))
                return txn_error(a.error_code);
        }
        if (clock_mono_ms() >= deadline)
            return -ETIMEDOUT;
        backoff(c, deadline);
    }
}

typedef int call_fill(struct brook_client *c, struct req *rq, void *arg);
typedef int16_t call_code(const struct resp *rs, void *arg);

/* Send a request (made by fill) to the coordinator of key until it is answered
 * without a retriable error, or deadline. 0, BROOK_ERR_FENCED, a Kafka error,
 * -ETIMEDOUT. *coord caches the coordinator. */
static int coord_call(struct brook_client *c, struct conn **coord, const char *key, int8_t key_type,
                      int16_t api, call_fill *fill, call_code *code, void *arg, int64_t deadline)
{
    for (;;) {
        int rc = *coord ? 0 : coord_find(c, key, key_type, deadline, coord);
        if (rc)
            return rc;
        struct req *rq = req_new(api, NULL, NULL);
        if (!rq)
            return -ENOMEM;
        if ((rc = fill(c, rq, arg))) {
            req_free(rq);
            return rc;
        }
        struct resp *rs;
        rc = client_call(c, *coord, rq, deadline, &rs);
        if (rc == -ETIMEDOUT || rc == -ENOMEM || rc == BROOK_ERR_VERSION)
            return rc;
        int16_t k = rc ? KAFKA_NOT_COORDINATOR : code(rs, arg); /* rc: the connection */
        if (!rc)
            resp_free(rs);
        if (k == KAFKA_NONE)
            return 0;
        if (!txn_retriable(k))
            return txn_error(k);
        if (coord_moved(k))
            *coord = NULL;
        if (clock_mono_ms() >= deadline)
            return -ETIMEDOUT;
        backoff(c, deadline);
    }
}

/* ---- InitProducerId ---- */

static int pid_fill(struct brook_client *c, struct req *rq, void *arg)
{
    struct txn *t = c->txn;
    struct kafka_init_producer_id_req *b = rq->body;
    b->transactional_id = kstr_from(c->conf.txn_id);
    b->transaction_timeout_ms = c->conf.txn_timeout_ms;
    b->producer_id = t->pid; /* v3+: our id and epoch when we have them (KIP-360) */
    b->producer_epoch = t->epoch;
    if (t->pid >= 0)
        rq->vmin = 3; /* only v3+ carries them */
    return 0;
}

static int16_t pid_code(const struct resp *rs, void *arg)
{
    const struct kafka_init_producer_id_resp *r = rs->body;
    if (!r->error_code) {
        struct txn *t = arg;
        t->pid = r->producer_id;
        t->epoch = r->producer_epoch;
    }
    return r->error_code;
}

static int take_pid(struct brook_client *c, int64_t deadline)
{
    struct txn *t = c->txn;
    int rc = coord_call(c, &t->coord, c->conf.txn_id, 1, KAFKA_API_INIT_PRODUCER_ID, pid_fill,
                        pid_code, t, deadline);
    if (!rc)
        prod_set_pid(c, t->pid, t->epoch);
    if (rc == BROOK_ERR_FENCED) {
        t->st = T_FATAL;
        t->err = rc;
    }
    return rc;
}

int brook_txn_init(struct brook_client *c, int timeout_ms)
{
    if (!c->conf.txn_id)
        return BROOK_ERR_STATE;
    if (c->conf.acks != -1)
        return BROOK_ERR_CONFIG; /* a transaction needs every record acknowledged by all */
    if (c->txn && c->txn->st != T_NONE)
        return BROOK_ERR_STATE;
    if (!c->txn) {
        if (!(c->txn = calloc(1, sizeof *c->txn)))
            return -ENOMEM;
        c->txn->pid = -1;
        c->txn->epoch = -1;
    }
    prod_set_pid(c, -1, -1); /* hold every record until the id is known */
    int rc = take_pid(c, client_deadline(c, timeout_ms));
    if (!rc)
        c->txn->st = T_READY;
    return rc;
}

/* ---- the state a call needs ---- */

static int need_open(struct brook_client *c)
{
    struct txn *t = c->txn;
    if (!t || t->st == T_NONE || t->st == T_READY)
        return BROOK_ERR_STATE;
    return t->st == T_OPEN ? 0 : t->err;
}

int txn_may_produce(struct brook_client *c)
{
    return need_open(c);
}

int brook_txn_begin(struct brook_client *c)
{
    struct txn *t = c->txn;
    if (!t || t->st != T_READY)
        return t && t->st == T_FATAL ? t->err : BROOK_ERR_STATE;
    for (size_t i = 0; i < t->n; i++)
        free(t->parts[i].topic);
    t->n = 0;
    t->offsets = false;
    t->gen++;
    t->st = T_OPEN;
    return 0;
}

/* ---- partitions ---- */

uint64_t txn_part_ready(struct brook_client *c, const char *topic, int32_t part)
{
    struct txn *t = c->txn;
    if (!t || t->st != T_OPEN)
        return 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].part == part && !strcmp(t->parts[i].topic, topic))
            return t->parts[i].added ? t->gen : 0;
    char *name = strdup(topic);
    if (!name || ARRAY_GROW(t->parts, t->cap, t->n + 1)) {
        free(name);
        return 0; /* asked again next round */
    }
    t->parts[t->n++] = (struct txn_part){name, part, false};
    return 0;
}

static void on_find(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct txn *t = c->txn;
    if (!t || t->find != rq)
        return;
    t->find = NULL;
    struct coord_answer a = rs ? grp_coord_answer(rs) : (struct coord_answer){0};
    if (!err && !a.error_code)
        t->coord = conn_for(c, &a);
    else if (a.error_code && !txn_retriable(a.error_code))
        txn_fail(c, txn_error(a.error_code));
    if (!t->coord)
        t->add_at = c->now + c->conf.retry_backoff_ms;
    c->dirty = true;
}

static void part_result(struct brook_client *c, struct kstr topic, int32_t part, int16_t code)
{
    struct txn *t = c->txn;
    for (size_t i = 0; i < t->n; i++) {
        struct txn_part *p = &t->parts[i];
        if (p->part != part || !kstr_eq(topic, p->topic))
            continue;
        if (code == KAFKA_NONE)
            p->added = true;
        else if (coord_moved(code))
            t->coord = NULL;
        else if (!txn_retriable(code) && code != KAFKA_UNKNOWN_TOPIC_OR_PARTITION)
            txn_fail(c, txn_error(code));
    }
}

static void on_add(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct txn *t = c->txn;
    if (!t || t->add != rq)
        return;
    t->add = NULL;
    t->add_at = c->now + c->conf.retry_backoff_ms; /* for what is still not added */
    c->dirty = true;
    if (err) {
        if (err == -ECANCELED || err == BROOK_ERR_VERSION)
            txn_fail(c, err);
        t->coord = NULL;
        return;
    }
    const struct kafka_add_partitions_to_txn_resp *r = rs->body;
    for (int32_t i = 0; i < r->n_results_by_topic_v3_and_below; i++) {
        const struct kafka_add_partitions_to_txn_resp_v3_topic_result *tr =
            &r->results_by_topic_v3_and_below[i];
        for (int32_t k = 0; k < tr->n_results_by_partition; k++)
            part_result(c, tr->name, tr->results_by_partition[k].partition_index,
                        tr->results_by_partition[k].partition_error_code);
    }
}

/* One AddPartitionsToTxn (v0-3) for every partition not added yet. */
static int add_fill(struct brook_client *c, struct req *rq)
{
    struct txn *t = c->txn;
    struct kafka_add_partitions_to_txn_req *b = rq->body;
    b->v3_and_below_transactional_id = kstr_from(c->conf.txn_id);
    b->v3_and_below_producer_id = t->pid;
    b->v3_and_below_producer_epoch = t->epoch;
    b->v3_and_below_topics = arena_calloc(&rq->arena, t->n, sizeof *b->v3_and_below_topics);
    if (!b->v3_and_below_topics)
        return -ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        const struct txn_part *p = &t->parts[i];
        struct kafka_add_partitions_to_txn_req_v3_topic *bt = NULL;
        if (p->added)
            continue;
        for (int32_t j = 0; j < b->n_v3_and_below_topics && !bt; j++)
            if (kstr_eq(b->v3_and_below_topics[j].name, p->topic))
                bt = &b->v3_and_below_topics[j];
        if (!bt) {
            bt = &b->v3_and_below_topics[b->n_v3_and_below_topics++];
            bt->name = kstr_from(p->topic);
            if (!(bt->partitions = arena_calloc(&rq->arena, t->n, sizeof *bt->partitions)))
                return -ENOMEM;
        }
        bt->partitions[bt->n_partitions++] = p->part;
    }
    return b->n_v3_and_below_topics ? 0 : 1;
}

void txn_run(struct brook_client *c)
{
    struct txn *t = c->txn;
    if (!t)
        return;
    if (t->cancel) {
        t->cancel = false;
        prod_cancel_unsent(c, t->err ? t->err : BROOK_ERR_TXN_ABORTED);
    }
    if (t->st != T_OPEN || t->add || t->find)
        return;
    if (c->now < t->add_at) {
        client_wake_at(c, t->add_at);
        return;
    }
    struct conn *k = t->coord;
    struct req *rq;
    if (!k) {
        if (!(k = md_any_conn(c, NULL)) || !(rq = find_req(c->conf.txn_id, 1, on_find, NULL)))
            return;
        t->find = rq;
        conn_send(k, rq);
        return;
    }
    if (!(rq = req_new(KAFKA_API_ADD_PARTITIONS_TO_TXN, on_add, NULL)))
        return;
    if (add_fill(c, rq)) {
        req_free(rq);
        return;
    }
    t->add = rq;
    conn_send(k, rq);
}

/* ---- offsets ---- */

struct offsets_call {
    const struct brook_tp *tps;
    size_t n;
    const char *group;
};

static int add_offsets_fill(struct brook_client *c, struct req *rq, void *arg)
{
    struct offsets_call *oc = arg;
    struct kafka_add_offsets_to_txn_req *b = rq->body;
    b->transactional_id = kstr_from(c->conf.txn_id);
    b->producer_id = c->txn->pid;
    b->producer_epoch = c->txn->epoch;
    b->group_id = kstr_from(oc->group);
    return 0;
}

static int16_t add_offsets_code(const struct resp *rs, void *arg)
{
    return ((const struct kafka_add_offsets_to_txn_resp *)rs->body)->error_code;
}

static int commit_fill(struct brook_client *c, struct req *rq, void *arg)
{
    struct offsets_call *oc = arg;
    struct kafka_txn_offset_commit_req *b = rq->body;
    b->transactional_id = kstr_from(c->conf.txn_id);
    b->group_id = kstr_from(oc->group);
    b->producer_id = c->txn->pid;
    b->producer_epoch = c->txn->epoch;
    b->generation_id = -1;
    b->member_id = KSTR("");
    b->group_instance_id = KSTR_NULL;
    if (!(b->topics = arena_calloc(&rq->arena, oc->n, sizeof *b->topics)))
        return -ENOMEM;
    for (size_t i = 0; i < oc->n; i++) {
        const struct brook_tp *tp = &oc->tps[i];
        struct kafka_txn_offset_commit_req_topic *bt = NULL;
        for (int32_t j = 0; j < b->n_topics && !bt; j++)
            if (kstr_eq(b->topics[j].name, tp->topic))
                bt = &b->topics[j];
        if (!bt) {
            bt = &b->topics[b->n_topics++];
            bt->name = kstr_from(tp->topic);
            if (!(bt->partitions = arena_calloc(&rq->arena, oc->n, sizeof *bt->partitions)))
                return -ENOMEM;
        }
        struct kafka_txn_offset_commit_req_partition *p = &bt->partitions[bt->n_partitions++];
        p->partition_index = tp->partition;
        p->committed_offset = tp->offset;
        p->committed_leader_epoch = -1;
        p->committed_metadata = KSTR_NULL;
    }
    return 0;
}

static int16_t commit_code(const struct resp *rs, void *arg)
{
    const struct kafka_txn_offset_commit_resp *r = rs->body;
    for (int32_t i = 0; i < r->n_topics; i++)
        for (int32_t k = 0; k < r->topics[i].n_partitions; k++)
            if (r->topics[i].partitions[k].error_code)
                return r->topics[i].partitions[k].error_code;
    return KAFKA_NONE;
}

int brook_txn_send_offsets(struct brook_client *c, const struct brook_tp *offsets, size_t n,
                           const char *group_id, int timeout_ms)
{
    int rc = need_open(c);
    if (rc)
        return rc;
    if (!group_id || !*group_id || (n && !offsets))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!offsets[i].topic || offsets[i].partition < 0 || offsets[i].offset < 0)
            return -EINVAL;
    if (n == 0)
        return 0;
    int64_t deadline = client_deadline(c, timeout_ms);
    struct offsets_call oc = {offsets, n, group_id};
    struct txn *t = c->txn;
    rc = coord_call(c, &t->coord, c->conf.txn_id, 1, KAFKA_API_ADD_OFFSETS_TO_TXN, add_offsets_fill,
                    add_offsets_code, &oc, deadline);
    if (!rc) {
        t->offsets = true;
        struct conn *gk = NULL;
        rc = coord_call(c, &gk, group_id, 0, KAFKA_API_TXN_OFFSET_COMMIT, commit_fill, commit_code,
                        &oc, deadline);
    }
    if (rc && rc != -ETIMEDOUT)
        txn_fail(c, rc);
    return rc;
}

/* ---- the end ---- */

static int end_fill(struct brook_client *c, struct req *rq, void *arg)
{
    struct kafka_end_txn_req *b = rq->body;
    b->transactional_id = kstr_from(c->conf.txn_id);
    b->producer_id = c->txn->pid;
    b->producer_epoch = c->txn->epoch;
    b->committed = *(bool *)arg;
    return 0;
}

static int16_t end_code(const struct resp *rs, void *arg)
{
    return ((const struct kafka_end_txn_resp *)rs->body)->error_code;
}

/* Whether the coordinator knows of this transaction at all. */
static bool txn_started(const struct txn *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].added)
            return true;
    return t->offsets || t->add;
}

static int end_txn(struct brook_client *c, bool commit, int64_t deadline)
{
    struct txn *t = c->txn;
    if (!txn_started(t))
        return 0; /* nothing reached the coordinator: nothing to end */
    return coord_call(c, &t->coord, c->conf.txn_id, 1, KAFKA_API_END_TXN, end_fill, end_code,
                      &commit, deadline);
}

int brook_txn_commit(struct brook_client *c, int timeout_ms)
{
    int rc = need_open(c);
    if (rc)
        return rc;
    int64_t deadline = client_deadline(c, timeout_ms);
    int left = (int)(deadline - clock_mono_ms());
    if ((rc = brook_flush(c, left > 0 ? left : 0)))
        return rc;
    if ((rc = need_open(c))) /* a record failed meanwhile */
        return rc;
    rc = end_txn(c, true, deadline);
    if (!rc)
        c->txn->st = T_READY;
    else if (rc != -ETIMEDOUT)
        txn_fail(c, rc);
    return rc;
}

static bool none_in_flight(struct brook_client *c, void *arg)
{
    return !prod_inflight(c) && !c->txn->add;
}

int brook_txn_abort(struct brook_client *c, int timeout_ms)
{
    struct txn *t = c->txn;
    if (!t || (t->st != T_OPEN && t->st != T_ABORTABLE))
        return t && t->st == T_FATAL ? t->err : BROOK_ERR_STATE;
    int64_t deadline = client_deadline(c, timeout_ms);
    t->st = T_ABORTABLE; /* nothing more is sent */
    if (!t->err)
        t->err = BROOK_ERR_TXN_ABORTED;
    int rc = client_wait(c, none_in_flight, NULL, deadline);
    if (rc)
        return rc;
    prod_cancel_unsent(c, BROOK_ERR_TXN_ABORTED);
    t->cancel = false;
    if ((rc = end_txn(c, false, deadline))) {
        if (rc == BROOK_ERR_FENCED) {
            t->st = T_FATAL;
            t->err = rc;
        }
        return rc;
    }
    if (t->bump && (rc = take_pid(c, deadline)))
        return rc;
    t->bump = false;
    t->err = 0;
    t->st = T_READY;
    return 0;
}

void txn_free(struct brook_client *c)
{
    struct txn *t = c->txn;
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->parts[i].topic);
    free(t->parts);
    free(t);
    c->txn = NULL;
}
