/*
 * evthread.c - libevent's locking, condition and thread-id callbacks on pthreads.
 *
 * libevent ships the same thing as libevent_pthreads, but that library links a
 * second copy of libevent's core into the process; providing the few callbacks
 * here keeps one copy and a smaller resident set. libevent needs them so that
 * event_active() may be called from other threads (the store's flusher, FUSE
 * writers) to wake the loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <event2/thread.h>
#include <event2/util.h>

#include "broker/private.h"

static void *lock_alloc(unsigned locktype)
{
    pthread_mutex_t *m = malloc(sizeof *m);
    pthread_mutexattr_t attr;
    if (!m)
        return NULL;
    pthread_mutexattr_init(&attr);
    if (locktype & EVTHREAD_LOCKTYPE_RECURSIVE)
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    if (pthread_mutex_init(m, &attr)) {
        free(m);
        m = NULL;
    }
    pthread_mutexattr_destroy(&attr);
    return m;
}

static void lock_free(void *lock, unsigned locktype)
{
    pthread_mutex_destroy(lock);
    free(lock);
}

static int lock_lock(unsigned mode, void *lock)
{
    if (mode & EVTHREAD_TRY)
        return pthread_mutex_trylock(lock);
    return pthread_mutex_lock(lock);
}

static int lock_unlock(unsigned mode, void *lock)
{
    return pthread_mutex_unlock(lock);
}

static void *cond_alloc(unsigned condtype)
{
    pthread_cond_t *c = malloc(sizeof *c);
    if (c && pthread_cond_init(c, NULL)) {
        free(c);
        c = NULL;
    }
    return c;
}

static void cond_free(void *cond)
{
    pthread_cond_destroy(cond);
    free(cond);
}

static int cond_signal(void *cond, int broadcast)
{
    return broadcast ? pthread_cond_broadcast(cond) : pthread_cond_signal(cond);
}

/* 0 when signalled, 1 on timeout, -1 on error: libevent's convention. */
static int cond_wait(void *cond, void *lock, const struct timeval *tv)
{
    if (!tv)
        return pthread_cond_wait(cond, lock) ? -1 : 0;
    struct timeval now;
    struct timespec abstime;
    evutil_gettimeofday(&now, NULL);
    long usec = now.tv_usec + tv->tv_usec;
    abstime.tv_sec = now.tv_sec + tv->tv_sec + usec / 1000000;
    abstime.tv_nsec = (usec % 1000000) * 1000;
    int rc = pthread_cond_timedwait(cond, lock, &abstime);
    return rc == ETIMEDOUT ? 1 : rc ? -1 : 0;
}

static unsigned long thread_id(void)
{
    return (unsigned long)pthread_self();
}

int broker_use_threads(void)
{
    static const struct evthread_lock_callbacks locks = {
        EVTHREAD_LOCK_API_VERSION,
        EVTHREAD_LOCKTYPE_RECURSIVE,
        lock_alloc,
        lock_free,
        lock_lock,
        lock_unlock,
    };
    static const struct evthread_condition_callbacks conds = {
        EVTHREAD_CONDITION_API_VERSION, cond_alloc, cond_free, cond_signal, cond_wait,
    };
    evthread_set_id_callback(thread_id);
    if (evthread_set_lock_callbacks(&locks) || evthread_set_condition_callbacks(&conds))
        return -1;
    return 0;
}
