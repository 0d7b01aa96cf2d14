/*
 * txn_filter.c - which fetched batches a read_committed consumer must not see.
 *
 * A read_committed Fetch stops at the last stable offset, so everything it
 * returns belongs to a finished transaction or to none; what it cannot leave out
 * are the batches of aborted transactions below that offset. It lists those
 * transactions instead (producer id, first offset), and the consumer drops their
 * batches as it walks the partition's data in offset order, as Kafka's clients do:
 *
 *   - a transaction becomes "aborted and running" once the walk reaches a batch
 *     whose last offset is at or past the transaction's first offset;
 *   - a transactional batch of a producer with an aborted, running transaction is
 *     skipped;
 *   - that producer's ABORT marker (a control batch) ends its transaction there,
 *     so its later batches (a new transaction) are shown again.
 *
 * Control batches are never shown, whatever the isolation level. A filter lives
 * as long as one partition's share of one Fetch answer: the next answer lists
 * again every aborted transaction that touches its range.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "lib/grow.h"

static int by_first_offset(const void *a, const void *b)
{
    const struct kafka_fetch_resp_aborted_transaction *x = a, *y = b;
    return (x->first_offset > y->first_offset) - (x->first_offset < y->first_offset);
}

int txn_filter_init(struct txn_filter *f, bool committed,
                    const struct kafka_fetch_resp_aborted_transaction *list, int32_t n)
{
    memset(f, 0, sizeof *f);
    f->active = committed;
    if (!committed || n <= 0)
        return 0;
    if (!(f->list = malloc((size_t)n * sizeof *f->list)))
        return -ENOMEM;
    memcpy(f->list, list, (size_t)n * sizeof *f->list);
    f->n = (size_t)n;
    qsort(f->list, f->n, sizeof *f->list, by_first_offset);
    return 0;
}

void txn_filter_release(struct txn_filter *f)
{
    free(f->list);
    free(f->pids);
    memset(f, 0, sizeof *f);
}

static bool pid_running(const struct txn_filter *f, int64_t pid, size_t *at)
{
    for (size_t i = 0; i < f->n_pids; i++)
        if (f->pids[i] == pid) {
            *at = i;
            return true;
        }
    return false;
}

/* Start every listed transaction that begins at or before last. */
static int start_due(struct txn_filter *f, int64_t last)
{
    for (; f->next < f->n && f->list[f->next].first_offset <= last; f->next++) {
        int64_t pid = f->list[f->next].producer_id;
        size_t at;
        if (pid_running(f, pid, &at))
            continue;
        if (ARRAY_GROW(f->pids, f->cap, f->n_pids + 1))
            return -ENOMEM;
        f->pids[f->n_pids++] = pid;
    }
    return 0;
}

/* Whether a control batch is an ABORT marker: its one record's key is int16
 * version, int16 type, type 0 meaning ABORT. */
static bool control_is_abort(const uint8_t *p, size_t len)
{
    struct batch_iter it;
    struct record r;
    bool abort = false;
    if (batch_iter_init(&it, p, len, NULL, false) == 0 && batch_iter_next(&it, &r) == 1 &&
        r.key_len >= 4)
        abort = ((r.key[2] << 8) | r.key[3]) == 0;
    batch_iter_release(&it);
    return abort;
}

int txn_filter_skip(struct txn_filter *f, const struct batch_header *h, const uint8_t *p,
                    size_t len)
{
    bool control = (h->attributes & BATCH_ATTR_CONTROL) != 0;
    if (!f->active)
        return control;
    int rc = start_due(f, h->base_offset + h->last_offset_delta);
    if (rc)
        return rc;
    size_t at;
    bool aborted = pid_running(f, h->producer_id, &at);
    if (control) {
        if (aborted && control_is_abort(p, len))
            f->pids[at] = f->pids[--f->n_pids];
        return 1;
    }
    return aborted && (h->attributes & BATCH_ATTR_TRANSACTIONAL) != 0;
}
