/*
 * admin.c - topic administration off the event loop.
 *
 * Creating a partition makes its directory and files and syncs them (a few fsyncs
 * each), and deleting a topic removes every file it has: a request for thousands of
 * partitions would hold the event loop, and so every client of the broker, for
 * minutes. Such requests (CreateTopics, CreatePartitions, DeleteTopics) run on one
 * worker thread instead, one at a time in the order they arrived, and complete
 * through broker_complete_async() as a durability wait does, on the loop of the
 * connection that sent them (these requests are never handed to loop 0).
 *
 * The connection that sent one reads no further request until it is answered, as
 * Kafka handles one request per connection at a time: a client that creates a
 * topic and then produces to it on the same connection is served in that order.
 *
 * Memory: the job and everything its function touches live in the request's
 * pending arena, which the loop thread leaves alone until the job completes; the
 * completion list's mutex orders the worker's writes before the loop's reads.
 *
 * The console posts its own work (admin_post): a function and its argument, run
 * in the same queue, that hands its result back to the loop by itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "broker/private.h"
#include "lib/log.h"
#include "lib/xalloc.h"

struct admin_job {
    struct admin_job *next;
    struct pending *pd;
    admin_fn fn;
    void *ctx;
    admin_run_fn run; /* admin_post: run(ctx) instead, and free the job */
};

static void *admin_thread(void *arg)
{
    struct broker *b = arg;
    pthread_mutex_lock(&b->admin_mu);
    for (;;) {
        struct admin_job *j = b->admin_head;
        if (!j) {
            if (b->admin_stopping)
                break;
            pthread_cond_wait(&b->admin_cond, &b->admin_mu);
            continue;
        }
        b->admin_head = j->next;
        if (!b->admin_head)
            b->admin_tail = NULL;
        pthread_mutex_unlock(&b->admin_mu);
        if (j->run) {
            j->run(j->ctx);
            free(j);
        } else {
            j->fn(b, j->pd, j->ctx);
            broker_complete_async(b, j->pd);
        }
        pthread_mutex_lock(&b->admin_mu);
    }
    pthread_mutex_unlock(&b->admin_mu);
    return NULL;
}

int admin_start(struct broker *b)
{
    pthread_mutex_init(&b->admin_mu, NULL);
    pthread_cond_init(&b->admin_cond, NULL);
    int rc = pthread_create(&b->admin, NULL, admin_thread, b);
    if (rc) {
        log_error("brook.broker", "cannot start the admin thread: %s", strerror(rc));
        return -rc;
    }
    b->admin_started = true;
    return 0;
}

void admin_stop(struct broker *b)
{
    if (!b->admin_started)
        return;
    pthread_mutex_lock(&b->admin_mu);
    b->admin_stopping = true;
    pthread_cond_signal(&b->admin_cond);
    pthread_mutex_unlock(&b->admin_mu);
    pthread_join(b->admin, NULL); /* it finishes what was queued: store calls end */
    b->admin_started = false;
    pthread_cond_destroy(&b->admin_cond);
    pthread_mutex_destroy(&b->admin_mu);
}

/* Loop thread: the job is done and pd->resp filled in. */
static void admin_done(struct pending *pd)
{
    struct conn *c = pd->c;
    c->admin_busy = false;
    conn_resume(c); /* requests that arrived meanwhile (pd keeps c alive) */
    pending_finish(pd);
}

static void admin_enqueue(struct broker *b, struct admin_job *j)
{
    pthread_mutex_lock(&b->admin_mu);
    if (b->admin_tail)
        b->admin_tail->next = j;
    else
        b->admin_head = j;
    b->admin_tail = j;
    pthread_cond_signal(&b->admin_cond);
    pthread_mutex_unlock(&b->admin_mu);
}

int admin_post(struct broker *b, admin_run_fn run, void *arg)
{
    if (!b->admin_started)
        return -ESRCH;
    struct admin_job *j = xcalloc(1, sizeof *j);
    *j = (struct admin_job){.run = run, .ctx = arg};
    admin_enqueue(b, j);
    return 0;
}

void admin_submit(struct request *rq, admin_fn fn, void *ctx)
{
    struct broker *b = rq->c->b;
    struct pending *pd = rq->pd;
    struct admin_job *j = PENDING_NEW(pd, struct admin_job, 1);
    *j = (struct admin_job){.pd = pd, .fn = fn, .ctx = ctx};
    pd->on_complete = admin_done;
    rq->c->admin_busy = true;
    admin_enqueue(b, j);
}
