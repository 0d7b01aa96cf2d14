/*
 * group.c - the consumer group of `brook mount --group G`: where a follow file
 * starts, and committing where its reader has got to.
 *
 * The mount is not a member of G: it joins no generation and takes no
 * assignment, so it never rebalances anyone. It reads G's committed offsets
 * (OffsetFetch, through brook_group_describe) and commits with generation -1
 * and no member id, as a standalone consumer's manual commits do. Kafka accepts
 * such a commit only while G has no active members; libbrook's
 * brook_group_seek checks that first and says BROOK_ERR_GROUP_ACTIVE, which is
 * logged once per reader and otherwise ignored (reading goes on).
 *
 * Each follow reader of the group has a slot saying what it took. A committer
 * thread commits a slot that moved on at most once a second - also while its
 * reader waits at the end, which no read would do - and the reader's close
 * commits what is left itself, once the slot is out of the committer's reach,
 * so a reader's commits never go backwards. Commits go through the admin client
 * under admin_mu, never under gmu.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "remote/private.h"

#define COMMIT_MS 1000 /* a reader's offset is committed at most this often while it reads */
#define TICK_MS   200  /* the committer looks for due slots this often */

struct rt_gslot {
    struct fs_btopic *t; /* held by the slot */
    int32_t partition;
    int64_t want;      /* the offset after the last record the reader took, -1 none */
    int64_t committed; /* the last offset committed, or found committed; -1 none */
    int64_t last_ms;   /* when the last commit was tried */
    int err;           /* the last commit's error, logged once */
    bool busy;         /* the committer is committing it */
    struct rt_gslot *next;
};

int rt_group_committed(struct remote *r, const char *topic, int32_t partition, int64_t *off)
{
    struct brook_group_info *g;
    *off = -1;
    pthread_mutex_lock(&r->admin_mu);
    int rc = brook_group_describe(r->admin, r->group, r->opt.timeout_ms, &g);
    pthread_mutex_unlock(&r->admin_mu);
    if (rc)
        return rc;
    for (size_t i = 0; i < g->n_offsets; i++)
        if (g->offsets[i].partition == partition && !strcmp(g->offsets[i].topic, topic))
            *off = g->offsets[i].committed;
    brook_group_info_free(g);
    return 0;
}

/* Commit off for s (gmu not held); 0 or an error, logged once per slot. */
static int group_commit(struct remote *r, struct rt_gslot *s, int64_t off, int *err)
{
    struct brook_offset to = {BROOK_OFFSET_AT, off};
    pthread_mutex_lock(&r->admin_mu);
    int rc = brook_group_seek(r->admin, r->group, s->t->name, s->partition, &to, r->opt.timeout_ms);
    pthread_mutex_unlock(&r->admin_mu);
    if (rc && rc != *err)
        log_warn("brook.mount", "Cannot commit offset %lld of %s-%d to group %s: %s",
                 (long long)off, s->t->name, s->partition, r->group,
                 rc == BROOK_ERR_GROUP_ACTIVE
                     ? "the group has active members, and only they may commit"
                     : brook_strerror(rc));
    *err = rc;
    return rc;
}

int rt_group_join(struct remote *r, struct fs_btopic *t, int32_t partition, int64_t committed,
                  struct rt_gslot **out)
{
    struct rt_gslot *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    rt_topic_hold(t);
    s->t = t;
    s->partition = partition;
    s->want = s->committed = committed;
    s->last_ms = clock_mono_ms();
    pthread_mutex_lock(&r->gmu);
    s->next = r->gslots;
    r->gslots = s;
    pthread_mutex_unlock(&r->gmu);
    *out = s;
    return 0;
}

void rt_group_took(struct remote *r, struct rt_gslot *s, int64_t offset)
{
    pthread_mutex_lock(&r->gmu);
    s->want = offset;
    pthread_mutex_unlock(&r->gmu);
}

void rt_group_leave(struct remote *r, struct rt_gslot *s)
{
    pthread_mutex_lock(&r->gmu);
    while (s->busy)
        pthread_cond_wait(&r->gcond, &r->gmu);
    for (struct rt_gslot **p = &r->gslots; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    pthread_mutex_unlock(&r->gmu);
    if (s->want >= 0 && s->want != s->committed)
        group_commit(r, s, s->want, &s->err);
    rt_topic_drop(s->t);
    free(s);
}

/* A slot whose reader moved on and whose last commit is a second old (gmu). */
static struct rt_gslot *group_due(struct remote *r, int64_t now)
{
    for (struct rt_gslot *s = r->gslots; s; s = s->next)
        if (!s->busy && s->want >= 0 && s->want != s->committed && now - s->last_ms >= COMMIT_MS)
            return s;
    return NULL;
}

static void *group_main(void *arg)
{
    struct remote *r = arg;
    pthread_mutex_lock(&r->gmu);
    while (!atomic_load(&r->stopping)) {
        int64_t now = clock_mono_ms();
        struct rt_gslot *s = group_due(r, now);
        if (!s) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += TICK_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&r->gcond, &r->gmu, &ts);
            continue;
        }
        int64_t off = s->want;
        int err = s->err;
        s->busy = true;
        s->last_ms = now;
        pthread_mutex_unlock(&r->gmu);
        int rc = group_commit(r, s, off, &err);
        pthread_mutex_lock(&r->gmu);
        if (!rc)
            s->committed = off;
        s->err = err;
        s->busy = false;
        pthread_cond_broadcast(&r->gcond);
    }
    pthread_mutex_unlock(&r->gmu);
    return NULL;
}

int rt_group_start(struct remote *r)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->gcond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->gmu, NULL);
    r->gready = true;
    if (!r->group)
        return 0;
    int rc = rt_thread_start(&r->gthread, group_main, r);
    r->gthread_started = rc == 0;
    return rc;
}

void rt_group_stop(struct remote *r)
{
    if (!r->gready)
        return;
    if (r->gthread_started) {
        pthread_mutex_lock(&r->gmu);
        pthread_cond_broadcast(&r->gcond); /* stopping is set: it ends */
        pthread_mutex_unlock(&r->gmu);
        pthread_join(r->gthread, NULL);
    }
    while (r->gslots) { /* readers the view never closed */
        struct rt_gslot *s = r->gslots;
        r->gslots = s->next;
        rt_topic_drop(s->t);
        free(s);
    }
    pthread_cond_destroy(&r->gcond);
    pthread_mutex_destroy(&r->gmu);
}
