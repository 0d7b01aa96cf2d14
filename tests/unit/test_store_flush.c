/*
 * test_store_flush.c - what the flusher puts on the path of an acks=all append.
 *
 * A chain of appends, each made from the durability callback of the one before
 * (on the flusher thread, so that it is on the dirty list before the flusher looks
 * again), must cost one segment fdatasync per append and no journal fdatasync in
 * between: a topic journal is synced once appends pause, not between an append and
 * the round that makes it durable. Calls are counted through the sysio table.
 *
 * In lazy mode a flusher that has been idle for a whole interval syncs the first
 * append at once: with an interval of a minute, the segment's fdatasync must come
 * within seconds of the append, not a minute later.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "lib/sysio.h"
#include "store/store.h"
#include "tests/unit/storeutil.h"
#include "tests/unit/testutil.h"

#define CHAIN 20

static _Atomic int log_syncs, journal_syncs;
static _Atomic bool counting;

static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cond = PTHREAD_COND_INITIALIZER;

static int counting_fdatasync(int fd)
{
    if (counting && tu_fd_is(fd, ".log")) {
        pthread_mutex_lock(&sync_mu);
        log_syncs++;
        pthread_cond_broadcast(&sync_cond);
        pthread_mutex_unlock(&sync_mu);
    }
    if (counting && tu_fd_is(fd, ".journal"))
        journal_syncs++;
    return sysio_real.fdatasync(fd);
}

struct chain {
    struct store_partition *p;
    int left;
    pthread_mutex_t mu;
    pthread_cond_t done_cond;
    bool done;
    int rc;
};

static void chain_next(struct chain *c);

/* Flusher thread: the last append is durable; make the next one. */
static void on_durable(void *arg, int rc)
{
    struct chain *c = arg;
    if (rc || --c->left == 0) {
        counting = false; /* before the flusher goes idle and syncs the journal */
        pthread_mutex_lock(&c->mu);
        c->rc = rc;
        c->done = true;
        pthread_cond_signal(&c->done_cond);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    chain_next(c);
}

static void chain_next(struct chain *c)
{
    int64_t base = tu_append(c->p, 1, NULL, "v", 0, 1);
    int rc = store_partition_when_durable(c->p, base + 1, on_durable, c);
    assert_true(rc == 0 || rc == 1);
    if (rc == 1)
        on_durable(c, 0);
}

static void test_acks_all_chain_costs_one_sync_each(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    sysio.fdatasync = counting_fdatasync; /* before the flusher starts */
    struct store *s = tu_store_open(dir, -1);
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    struct chain c = {.p = store_topic_partition(t, 0), .left = CHAIN};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.done_cond, NULL);
    counting = true;
    chain_next(&c);
    pthread_mutex_lock(&c.mu);
    while (!c.done) /* bounded by the chain: CHAIN rounds */
        pthread_cond_wait(&c.done_cond, &c.mu);
    pthread_mutex_unlock(&c.mu);
    print_message("# %d appends: %d segment fdatasyncs, %d journal fdatasyncs in between\n", CHAIN,
                  (int)log_syncs, (int)journal_syncs);
    assert_int_equal(c.rc, 0);
    assert_int_equal(log_syncs, CHAIN);
    assert_int_equal(journal_syncs, 0);
    store_topic_put(t);
    store_close(s);
    sysio.fdatasync = sysio_real.fdatasync;
    pthread_cond_destroy(&c.done_cond);
    pthread_mutex_destroy(&c.mu);
    tu_rmrf(dir);
    free(dir);
}

static void test_idle_lazy_flusher_syncs_at_once(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    sysio.fdatasync = counting_fdatasync;
    struct store *s = tu_store_open(dir, 60000); /* log.flush.interval.ms: a minute */
    tu_topic_create(s, "t", 1, NULL);
    struct store_topic *t = store_topic_get(s, "t");
    log_syncs = 0;
    counting = true;
    tu_append(store_topic_partition(t, 0), 1, NULL, "v", 0, 1);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&sync_mu);
    int rc = 0;
    while (!log_syncs && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&sync_cond, &sync_mu, &until);
    pthread_mutex_unlock(&sync_mu);
    counting = false;
    print_message("# the first append's segment was synced %s\n",
                  log_syncs ? "at once" : "not within 10 s");
    assert_true(log_syncs > 0);
    store_topic_put(t);
    store_close(s);
    sysio.fdatasync = sysio_real.fdatasync;
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acks_all_chain_costs_one_sync_each),
        cmocka_unit_test(test_idle_lazy_flusher_syncs_at_once),
    };
    return cmocka_run_group_tests_name("store flush", tests, NULL, NULL);
}
