/*
 * test_txn.c - broker/txn.c's state machine without sockets, files or requests.
 *
 * Each test starts a coordinator with transaction.max.timeout.ms at 900000 and
 * producer ids from a counter starting at 1000, and a fake clock: a number the
 * test advances and passes to every call, so transaction timeouts pass without
 * waiting. Markers are the caller's work: a test "writes" them by calling
 * txn_complete(), as broker/h_txn.c does once they are durable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/txn.h"
#include "proto/kafka_errors.h"

static int64_t next_pid;

static int64_t fake_pid(void *ctx)
{
    (void)ctx;
    return next_pid++;
}

struct fixture {
    struct txns ts;
    int64_t now;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    next_pid = 1000;
    txns_init(&f->ts, 900000, fake_pid, NULL);
    f->now = 1000000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    txns_release(&f->ts);
    free(f);
    return 0;
}

static struct txn *init_ok(struct fixture *f, const char *id, int32_t timeout)
{
    struct txn *t;
    assert_int_equal(txn_init_producer(&f->ts, kstr_from(id), timeout, -1, -1, 5, f->now, &t),
                     KAFKA_NONE);
    assert_non_null(t);
    return t;
}

static void add_ok(struct fixture *f, struct txn *t, const char *topic, int32_t part)
{
    struct txn *c;
    assert_int_equal(txn_check(&f->ts, kstr_from(t->id), t->producer_id, t->epoch, true, &c),
                     KAFKA_NONE);
    assert_ptr_equal(c, t);
    assert_int_equal(txn_add_partition(t, topic, strlen(topic), part, f->now), KAFKA_NONE);
}

/* A new id gets a new producer id at epoch 0; each InitProducerId after bumps it. */
static void test_init_and_bump(void **state)
{
    struct fixture *f = *state;
    struct txn *t = init_ok(f, "a", 60000);
    assert_int_equal(t->producer_id, 1000);
    assert_int_equal(t->epoch, 0);
    assert_int_equal(t->state, TXN_EMPTY);
    assert_true(t->dirty);
    t = init_ok(f, "a", 60000);
    assert_int_equal(t->producer_id, 1000);
    assert_int_equal(t->epoch, 1);
    struct txn *b = init_ok(f, "b", 60000);
    assert_int_equal(b->producer_id, 1001);
}

/* The old epoch is fenced: PRODUCER_FENCED from the versions that have it,
 * INVALID_PRODUCER_EPOCH before. */
static void test_fencing(void **state)
{
    struct fixture *f = *state;
    struct txn *t = init_ok(f, "a", 60000), *c;
    int16_t old = t->epoch;
    init_ok(f, "a", 60000);
    assert_int_equal(txn_check(&f->ts, KSTR("a"), 1000, old, true, &c), KAFKA_PRODUCER_FENCED);
    assert_int_equal(txn_check(&f->ts, KSTR("a"), 1000, old, false, &c),
                     KAFKA_INVALID_PRODUCER_EPOCH);
    assert_int_equal(txn_check(&f->ts, KSTR("a"), 999, t->epoch, true, &c),
                     KAFKA_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(txn_check(&f->ts, KSTR("nope"), 1000, 0, true, &c),
                     KAFKA_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(txn_end(&f->ts, KSTR("a"), 1000, old, true, true, f->now, &c),
                     KAFKA_PRODUCER_FENCED);
    /* KIP-360: a producer naming another producer id is fenced */
    assert_int_equal(txn_init_producer(&f->ts, KSTR("a"), 60000, 5, 0, 4, f->now, &c),
                     KAFKA_PRODUCER_FENCED);
    assert_int_equal(txn_init_producer(&f->ts, KSTR("a"), 60000, 5, 0, 3, f->now, &c),
                     KAFKA_INVALID_PRODUCER_EPOCH);
    /* naming its current id and epoch bumps; naming them again is a retry */
    int16_t cur = t->epoch;
    assert_int_equal(txn_init_producer(&f->ts, KSTR("a"), 60000, 1000, cur, 4, f->now, &c),
                     KAFKA_NONE);
    assert_int_equal(c->epoch, cur + 1);
    assert_int_equal(txn_init_producer(&f->ts, KSTR("a"), 60000, 1000, cur, 4, f->now, &c),
                     KAFKA_NONE);
    assert_int_equal(c->epoch, cur + 1);
}

static void test_timeout_validated(void **state)
{
    struct fixture *f = *state;
    struct txn *t;
    assert_int_equal(txn_init_producer(&f->ts, KSTR("a"), 900001, -1, -1, 5, f->now, &t),
                     KAFKA_INVALID_TRANSACTION_TIMEOUT);
    assert_int_equal(txn_init_producer(&f->ts, KSTR("a"), 0, -1, -1, 5, f->now, &t),
                     KAFKA_INVALID_TRANSACTION_TIMEOUT);
    assert_int_equal(txn_init_producer(&f->ts, KSTR(""), 1000, -1, -1, 5, f->now, &t),
                     KAFKA_INVALID_REQUEST);
    init_ok(f, "a", 900000);
}

/* Partitions start the transaction; EndTxn prepares, the caller completes. */
static void test_commit_and_abort(void **state)
{
    struct fixture *f = *state;
    struct txn *t = init_ok(f, "a", 60000), *e;
    add_ok(f, t, "x", 0);
    add_ok(f, t, "x", 0); /* twice: once */
    add_ok(f, t, "y", 3);
    assert_int_equal(t->state, TXN_ONGOING);
    assert_int_equal(t->nparts, 2);
    assert_int_equal(t->start_ms, f->now);
    assert_true(txn_has_partition(t, "y", 1, 3));
    assert_false(txn_has_partition(t, "y", 1, 4));
    assert_int_equal(txn_end(&f->ts, KSTR("a"), 1000, 0, true, true, f->now, &e), KAFKA_NONE);
    assert_ptr_equal(e, t);
    assert_int_equal(t->state, TXN_PREPARE_COMMIT);
    assert_true(t->ending);
    /* while the markers are written every request waits */
    assert_int_equal(txn_check(&f->ts, KSTR("a"), 1000, 0, true, &e),
                     KAFKA_CONCURRENT_TRANSACTIONS);
    assert_int_equal(txn_end(&f->ts, KSTR("a"), 1000, 0, true, true, f->now, &e),
                     KAFKA_CONCURRENT_TRANSACTIONS);
    assert_int_equal(txn_end(&f->ts, KSTR("a"), 1000, 0, false, true, f->now, &e),
                     KAFKA_INVALID_TXN_STATE);
    txn_complete(&f->ts, t, f->now);
    assert_int_equal(t->state, TXN_COMPLETE_COMMIT);
    assert_int_equal(t->nparts, 0);
    /* a retried commit succeeds at once; an abort of it is refused */
    assert_int_equal(txn_end(&f->ts, KSTR("a"), 1000, 0, true, true, f->now, &e), KAFKA_NONE);
    assert_null(e);
    assert_int_equal(txn_end(&f->ts, KSTR("a"), 1000, 0, false, true, f->now, &e),
                     KAFKA_INVALID_TXN_STATE);
    /* the next transaction, aborted */
    add_ok(f, t, "x", 1);
    assert_int_equal(txn_end(&f->ts, KSTR("a"), 1000, 0, false, true, f->now, &e), KAFKA_NONE);
    assert_int_equal(t->state, TXN_PREPARE_ABORT);
    txn_complete(&f->ts, t, f->now);
    assert_int_equal(t->state, TXN_COMPLETE_ABORT);
    /* ending what was never begun */
    t = init_ok(f, "b", 60000);
    assert_int_equal(txn_end(&f->ts, KSTR("b"), 1001, 0, true, true, f->now, &e),
                     KAFKA_INVALID_TXN_STATE);
}

/* InitProducerId over an Ongoing transaction aborts it first, fencing its epoch. */
static void test_init_aborts_ongoing(void **state)
{
    struct fixture *f = *state;
    struct txn *t = init_ok(f, "a", 60000), *c;
    add_ok(f, t, "x", 0);
    assert_int_equal(txn_init_producer(&f->ts, KSTR("a"), 60000, -1, -1, 5, f->now, &c),
                     KAFKA_CONCURRENT_TRANSACTIONS);
    assert_ptr_equal(c, t);
    assert_int_equal(t->state, TXN_PREPARE_ABORT);
    assert_int_equal(t->epoch, 1);
    assert_true(t->ending);
    assert_int_equal(txn_init_producer(&f->ts, KSTR("a"), 60000, -1, -1, 5, f->now, &c),
                     KAFKA_CONCURRENT_TRANSACTIONS);
    /* the zombie's produce and commit are fenced */
    assert_int_equal(txn_end(&f->ts, KSTR("a"), 1000, 0, true, true, f->now, &c),
                     KAFKA_PRODUCER_FENCED);
    txn_complete(&f->ts, t, f->now);
    t = init_ok(f, "a", 60000);
    assert_int_equal(t->epoch, 2);
    assert_int_equal(t->state, TXN_EMPTY);
}

/* A transaction open past its timeout is aborted at its deadline, not before. */
static void test_timeout_abort(void **state)
{
    struct fixture *f = *state;
    struct txn *t = init_ok(f, "a", 5000);
    init_ok(f, "idle", 10); /* no transaction open: no deadline */
    assert_int_equal(txns_next_deadline(&f->ts), INT64_MAX);
    add_ok(f, t, "x", 0);
    int64_t deadline = f->now + 5000;
    assert_int_equal(txns_next_deadline(&f->ts), deadline);
    assert_int_equal(txns_expire(&f->ts, deadline - 1), 0);
    assert_int_equal(t->state, TXN_ONGOING);
    assert_int_equal(txns_expire(&f->ts, deadline), 1);
    assert_int_equal(t->state, TXN_PREPARE_ABORT);
    assert_int_equal(t->epoch, 1); /* the producer that left it is fenced */
    assert_true(t->ending);
    assert_int_equal(txns_next_deadline(&f->ts), INT64_MAX);
    txn_complete(&f->ts, t, deadline);
    struct txn *c;
    assert_int_equal(txn_check(&f->ts, KSTR("a"), 1000, 0, true, &c), KAFKA_PRODUCER_FENCED);
}

/* An exhausted epoch is never bumped: a new producer id starts at epoch 0. */
static void test_epoch_exhaustion(void **state)
{
    struct fixture *f = *state;
    struct txn *t =
        txn_restore(&f->ts, KSTR("a"), 77, INT16_MAX - 1, 60000, TXN_COMPLETE_COMMIT, -1, f->now);
    t = init_ok(f, "a", 60000);
    assert_int_equal(t->producer_id, 1000);
    assert_int_equal(t->epoch, 0);
    assert_int_equal(t->prev_producer_id, 77);
    /* an Ongoing transaction at the last epoch is aborted without a bump */
    t = txn_restore(&f->ts, KSTR("b"), 78, INT16_MAX - 1, 60000, TXN_ONGOING, f->now, f->now);
    txn_restore_part(t, "x", 1, 0);
    assert_int_equal(txns_recover(&f->ts, f->now), 1);
    assert_int_equal(t->epoch, INT16_MAX - 1);
    assert_int_equal(t->state, TXN_PREPARE_ABORT);
}

/* Offsets wait in the transaction for AddOffsetsToTxn's group. */
static void test_offsets(void **state)
{
    struct fixture *f = *state;
    struct txn *t = init_ok(f, "a", 60000);
    assert_int_equal(txn_add_offset(t, KSTR("g"), "x", 1, 0, 5, -1, KSTR("m"), f->now),
                     KAFKA_INVALID_TXN_STATE);
    assert_int_equal(txn_add_group(t, KSTR("g"), f->now), KAFKA_NONE);
    assert_int_equal(t->state, TXN_ONGOING);
    assert_int_equal(txn_add_offset(t, KSTR("g"), "x", 1, 0, 5, -1, KSTR("m"), f->now), KAFKA_NONE);
    assert_int_equal(txn_add_offset(t, KSTR("g"), "x", 1, 0, 9, 2, KSTR_NULL, f->now), KAFKA_NONE);
    assert_int_equal(t->noffsets, 1);
    assert_int_equal(t->offsets[0].offset, 9);
    assert_string_equal(t->offsets[0].metadata, "");
    assert_true(txns_offset_pending(&f->ts, KSTR("g"), KSTR("x"), 0));
    assert_false(txns_offset_pending(&f->ts, KSTR("g"), KSTR("x"), 1));
    assert_false(txns_offset_pending(&f->ts, KSTR("h"), KSTR("x"), 0));
    assert_int_equal(txn_add_offset(t, KSTR("h"), "x", 1, 0, 5, -1, KSTR("m"), f->now),
                     KAFKA_INVALID_TXN_STATE);
    /* bounded: metadata bytes, then count */
    static char big[TXN_MAX_OFFSET_BYTES];
    memset(big, 'm', sizeof big);
    assert_int_equal(txn_add_offset(t, KSTR("g"), "y", 1, 0, 1, -1,
                                    (struct kstr){big, (int32_t)sizeof big}, f->now),
                     KAFKA_POLICY_VIOLATION);
    int16_t err = KAFKA_NONE;
    for (int32_t i = 1; i <= TXN_MAX_OFFSETS && !err; i++)
        err = txn_add_offset(t, KSTR("g"), "x", 1, i, 1, -1, KSTR_NULL, f->now);
    assert_int_equal(err, KAFKA_POLICY_VIOLATION);
    assert_int_equal(t->noffsets, TXN_MAX_OFFSETS);
    /* at the end nothing is pending any more */
    struct txn *e;
    assert_int_equal(txn_end(&f->ts, KSTR("a"), t->producer_id, t->epoch, true, true, f->now, &e),
                     KAFKA_NONE);
    assert_true(txns_offset_pending(&f->ts, KSTR("g"), KSTR("x"), 0));
    txn_complete(&f->ts, t, f->now);
    assert_false(txns_offset_pending(&f->ts, KSTR("g"), KSTR("x"), 0));
    assert_int_equal(f->ts.pending.n, 0);
}

static void test_partition_bound(void **state)
{
    struct fixture *f = *state;
    struct txn *t = init_ok(f, "a", 60000);
    for (int32_t i = 0; i < TXN_MAX_PARTITIONS; i++)
        assert_int_equal(txn_add_partition(t, "x", 1, i, f->now), KAFKA_NONE);
    assert_int_equal(txn_add_partition(t, "x", 1, TXN_MAX_PARTITIONS, f->now),
                     KAFKA_POLICY_VIOLATION);
    assert_int_equal(txn_add_partition(t, "x", 1, 0, f->now), KAFKA_NONE); /* already in */
}

/* Recovery: PrepareCommit commits, PrepareAbort and Ongoing abort, the rest stays. */
static void test_recovery(void **state)
{
    struct fixture *f = *state;
    struct txn *pc =
        txn_restore(&f->ts, KSTR("pc"), 1, 3, 60000, TXN_PREPARE_COMMIT, f->now, f->now);
    txn_restore_part(pc, "x", 1, 0);
    txn_restore_offset(pc, KSTR("g"), "x", 1, 0, 42, -1, KSTR("m"));
    struct txn *pa =
        txn_restore(&f->ts, KSTR("pa"), 2, 3, 60000, TXN_PREPARE_ABORT, f->now, f->now);
    struct txn *on = txn_restore(&f->ts, KSTR("on"), 3, 3, 60000, TXN_ONGOING, f->now, f->now);
    struct txn *fe =
        txn_restore(&f->ts, KSTR("fe"), 4, 3, 60000, TXN_PREPARE_EPOCH_FENCE, f->now, f->now);
    struct txn *cc = txn_restore(&f->ts, KSTR("cc"), 5, 3, 60000, TXN_COMPLETE_COMMIT, -1, f->now);
    struct txn *em = txn_restore(&f->ts, KSTR("em"), 6, 0, 60000, TXN_EMPTY, -1, f->now);
    assert_int_equal(txns_recover(&f->ts, f->now), 4);
    assert_int_equal(pc->state, TXN_PREPARE_COMMIT);
    assert_int_equal(pc->noffsets, 1);
    assert_int_equal(pc->ngroups, 1);
    assert_int_equal(pa->state, TXN_PREPARE_ABORT);
    assert_int_equal(on->state, TXN_PREPARE_ABORT);
    assert_int_equal(on->epoch, 4);
    assert_int_equal(fe->state, TXN_PREPARE_ABORT);
    assert_false(cc->ending);
    assert_false(em->ending);
    txn_complete(&f->ts, pc, f->now);
    assert_int_equal(pc->state, TXN_COMPLETE_COMMIT);
    assert_int_equal(pc->noffsets, 0);
    /* a tombstone forgets an id */
    txn_forget(&f->ts, KSTR("em"));
    assert_null(txn_find(&f->ts, KSTR("em")));
}

static void gone_count(void *arg, const char *id)
{
    (void)id;
    ++*(int *)arg;
}

/* Idle ids expire after transactional.id.expiration.ms; open ones never do. */
static void test_id_expiry(void **state)
{
    struct fixture *f = *state;
    init_ok(f, "idle", 60000);
    struct txn *t = init_ok(f, "busy", 600000);
    add_ok(f, t, "x", 0);
    int gone = 0;
    assert_int_equal(txns_expire_ids(&f->ts, f->now + 999, 1000, gone_count, &gone), 0);
    assert_int_equal(txns_expire_ids(&f->ts, f->now + 1000, 1000, gone_count, &gone), 1);
    assert_int_equal(gone, 1);
    assert_null(txn_find(&f->ts, KSTR("idle")));
    assert_non_null(txn_find(&f->ts, KSTR("busy")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_and_bump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fencing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_validated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_and_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_aborts_ongoing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epoch_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partition_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_expiry, setup, teardown),
    };
    return cmocka_run_group_tests_name("txn", tests, NULL, NULL);
}
