/*
 * retention.c - deleting whole segments by age and by size.
 *
 * For topics whose cleanup.policy includes "delete", closed segments are removed
 * from the front while the oldest one is entirely older than retention.ms (judged
 * by its largest record timestamp, as Kafka does) or while the partition would
 * still hold at least retention.bytes without it. When every closed segment is
 * gone and the active one has expired too, it is rolled first so it can go as well.
 * Readers holding a slice keep reading from their duplicated descriptor.
 *
 * A removed segment's files are renamed <name>.deleted and unlinked
 * file.delete.delay.ms later by the maintenance thread, as Kafka does, so that
 * whoever still looks at the directory (a backup, a tool reading the files) has
 * that long; the next start unlinks any a stop left behind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/grow.h"
#include "store/private.h"

/* How many segments from the front may go; segs_mu held. Sets *roll when the
 * active segment has expired as well. */
static size_t deletable(struct store_partition *p, const struct topic_config *tc, int64_t now,
                        bool *roll)
{
    int64_t total = LOAD(p->size_bytes);
    size_t k = 0;
    *roll = false;
    for (; k < p->nsegs; k++) {
        const struct segment *seg = p->segs[k];
        bool expired =
            tc->retention_ms >= 0 && seg->max_ts >= 0 && now - seg->max_ts > tc->retention_ms;
        bool empty_closed = seg->size == 0 && k + 1 < p->nsegs;
        bool oversize =
            tc->retention_bytes >= 0 && total - seg->size >= tc->retention_bytes && seg->size > 0;
        if (!expired && !oversize && !empty_closed)
            break;
        if (k + 1 == p->nsegs) { /* the active segment: roll it, then it can go */
            *roll = seg->size > 0;
            break;
        }
        total -= seg->size;
    }
    return k;
}

int partition_apply_retention(struct store_partition *p, int64_t now)
{
    struct topic_config tcv;
    const struct topic_config *tc = &tcv;
    store_topic_config_get(p->topic, &tcv);
    if (!(tc->cleanup_policy & CLEANUP_DELETE) || LOAD(p->topic->deleted))
        return 0;
    bool roll;
    pthread_mutex_lock(&p->segs_mu);
    size_t k = deletable(p, tc, now, &roll);
    int64_t below = k ? p->segs[k - 1]->next_offset : -1;
    pthread_mutex_unlock(&p->segs_mu);
    if (roll) {
        pthread_mutex_lock(&p->append_mu);
        pthread_mutex_lock(&p->segs_mu);
        bool empty = p->segs[p->nsegs - 1]->size == 0;
        pthread_mutex_unlock(&p->segs_mu);
        int rc = empty ? 0 : partition_roll(p, now);
        pthread_mutex_unlock(&p->append_mu);
        if (rc)
            return rc;
        pthread_mutex_lock(&p->segs_mu);
        k = deletable(p, tc, now, &roll);
        below = k ? p->segs[k - 1]->next_offset : -1;
        pthread_mutex_unlock(&p->segs_mu);
    }
    if (!k)
        return 0;
    /* moves the log start to the first remaining segment as well */
    return partition_delete_segments_below(p, below);
}

int store_run_retention(struct store *s)
{
    size_t n;
    struct store_topic **topics = topics_get_all(s, &n);
    if (!topics)
        return -ENOMEM;
    int total = 0, err = 0;
    int64_t now = clock_wall_ms();
    for (size_t i = 0; i < n; i++) {
        bool any = false;
        for (int32_t k = 0; k < store_topic_partition_count(topics[i]); k++) {
            /* a partition still closed waits for the opener (started with the store) */
            struct store_partition *p = topic_partition_opened(topics[i], k);
            int rc = p ? partition_apply_retention(p, now) : 0;
            if (rc < 0 && !err)
                err = rc;
            if (rc > 0) {
                total += rc;
                any = true;
            }
        }
        if (any)
            (void)journal_trim(topics[i]);
    }
    topics_put_all(topics, n);
    return err ? err : total;
}

int store_retire_segment(struct store *s, const char *dir, int64_t base, int64_t delay_ms)
{
    if (delay_ms <= 0)
        return segment_remove_files(dir, base);
    char *copy = strdup(dir);
    int rc = copy ? 0 : -ENOMEM;
    pthread_mutex_lock(&s->retired_mu);
    if (!rc)
        rc = ARRAY_GROW(s->retired, s->cap_retired, s->n_retired + 1);
    if (!rc && !(rc = segment_retire_files(dir, base))) {
        int64_t now = clock_mono_ms();
        struct retired_segment *r = &s->retired[s->n_retired++];
        r->dir = copy; /* the list's now */
        r->base = base;
        r->due = delay_ms > INT64_MAX - now ? INT64_MAX : now + delay_ms;
    } else {
        free(copy);
    }
    pthread_mutex_unlock(&s->retired_mu);
    if (rc == -ENOMEM) /* no room to remember it: remove it now rather than never */
        rc = segment_remove_files(dir, base);
    if (!rc) {
        pthread_mutex_lock(&s->maint_mu); /* the maintenance thread may sleep past it */
        pthread_cond_signal(&s->maint_cond);
        pthread_mutex_unlock(&s->maint_mu);
    }
    return rc;
}

int64_t store_reap_retired(struct store *s, int64_t now)
{
    int64_t next = INT64_MAX;
    pthread_mutex_lock(&s->retired_mu);
    size_t kept = 0;
    for (size_t i = 0; i < s->n_retired; i++) {
        struct retired_segment *r = &s->retired[i];
        if (r->due <= now) {
            (void)segment_reap_files(r->dir, r->base); /* gone with its topic: fine */
            free(r->dir);
            continue;
        }
        if (r->due < next)
            next = r->due;
        s->retired[kept++] = *r;
    }
    s->n_retired = kept;
    pthread_mutex_unlock(&s->retired_mu);
    return next;
}

void store_retired_free(struct store *s)
{
    for (size_t i = 0; i < s->n_retired; i++)
        free(s->retired[i].dir);
    free(s->retired);
    s->retired = NULL;
    s->n_retired = s->cap_retired = 0;
}
