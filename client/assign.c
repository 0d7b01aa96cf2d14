/*
 * assign.c - the group leader's partition assignors and Kafka's ConsumerProtocol.
 *
 * Both assignors produce what Kafka's own produce for the same members, so a
 * group may mix clients and any of them may lead:
 *   range       per topic, the members subscribed to it sorted by member id; with
 *               p partitions and m members, member i takes a run of p/m partitions,
 *               one more for the first p%m members, in partition order.
 *   roundrobin  every (topic, partition) of every subscribed topic, sorted by topic
 *               and partition, dealt in turn to the members sorted by id, skipping
 *               members not subscribed to that topic.
 *
 * The member metadata and assignments travel in JoinGroup/SyncGroup as Kafka's
 * "consumer" protocol bytes (ConsumerProtocolSubscription and
 * ConsumerProtocolAssignment in the Kafka schemas): an int16 version, then
 * non-flexible fields. We write version 0 and read any version, ignoring fields
 * after the ones version 0 has.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "lib/grow.h"

static int tp_add(struct assign_member *m, const char *topic, int32_t partition)
{
    if (ARRAY_GROW(m->tps, m->cap_tps, m->n_tps + 1))
        return -ENOMEM;
    m->tps[m->n_tps++] = (struct brook_tp){topic, partition, -1};
    return 0;
}

static bool subscribed(const struct assign_member *m, const char *topic)
{
    for (size_t i = 0; i < m->n_topics; i++)
        if (!strcmp(m->topics[i], topic))
            return true;
    return false;
}

static int by_member_id(const void *a, const void *b)
{
    const struct assign_member *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

static int by_name(const void *a, const void *b)
{
    const struct assign_topic *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Members sorted by id (pointers into m). */
static struct assign_member **sorted_members(struct assign_member *m, size_t n)
{
    struct assign_member **s = malloc((n + 1) * sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = &m[i];
    qsort(s, n, sizeof *s, by_member_id);
    return s;
}

static int assign_range(struct assign_member **s, size_t n, const struct assign_topic *t, size_t nt)
{
    struct assign_member **subs = malloc((n + 1) * sizeof *subs);
    if (!subs)
        return -ENOMEM;
    int rc = 0;
    for (size_t k = 0; k < nt && !rc; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (subscribed(s[i], t[k].name))
                subs[m++] = s[i];
        if (!m || t[k].partitions <= 0)
            continue;
        int32_t per = t[k].partitions / (int32_t)m, extra = t[k].partitions % (int32_t)m;
        for (int32_t i = 0; i < (int32_t)m && !rc; i++) {
            int32_t start = per * i + (i < extra ? i : extra);
            int32_t len = per + (i < extra ? 1 : 0);
            for (int32_t p = start; p < start + len && !rc; p++)
                rc = tp_add(subs[i], t[k].name, p);
        }
    }
    free(subs);
    return rc;
}

static int assign_roundrobin(struct assign_member **s, size_t n, const struct assign_topic *t,
                             size_t nt)
{
    size_t cursor = 0;
    for (size_t k = 0; k < nt; k++) {
        bool any = false;
        for (size_t i = 0; i < n && !any; i++)
            any = subscribed(s[i], t[k].name);
        if (!any)
            continue;
        for (int32_t p = 0; p < t[k].partitions; p++) {
            while (!subscribed(s[cursor % n], t[k].name))
                cursor++;
            int rc = tp_add(s[cursor % n], t[k].name, p);
            if (rc)
                return rc;
            cursor++;
        }
    }
    return 0;
}

int assign_run(const char *name, struct assign_member *m, size_t n, const struct assign_topic *t,
               size_t nt)
{
    bool range = !strcmp(name, "range");
    if (!range && strcmp(name, "roundrobin"))
        return -EINVAL;
    if (n == 0)
        return 0;
    struct assign_member **s = sorted_members(m, n);
    struct assign_topic *ts = malloc((nt + 1) * sizeof *ts);
    int rc = -ENOMEM;
    if (s && ts) {
        memcpy(ts, t, nt * sizeof *ts);
        qsort(ts, nt, sizeof *ts, by_name);
        rc = range ? assign_range(s, n, ts, nt) : assign_roundrobin(s, n, ts, nt);
    }
    free(s);
    free(ts);
    return rc;
}

void assign_members_release(struct assign_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].tps);
        m[i].tps = NULL;
        m[i].n_tps = m[i].cap_tps = 0;
    }
}

/* ---- ConsumerProtocol ---- */

static void write_str(struct writer *w, const char *s)
{
    size_t n = strlen(s);
    writer_be16(w, (uint16_t)n);
    writer_bytes(w, s, n);
}

int assign_encode_subscription(const char *const *topics, size_t n, struct writer *w)
{
    writer_be16(w, 0); /* version */
    writer_be32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        if (strlen(topics[i]) > INT16_MAX)
            return -EINVAL;
        write_str(w, topics[i]);
    }
    writer_be32(w, 0xffffffffu); /* user data: null */
    return w->err;
}

static struct kstr read_str(struct reader *r)
{
    int16_t n = (int16_t)reader_be16(r);
    if (n < 0)
        return KSTR_NULL;
    const uint8_t *p = reader_bytes(r, (size_t)n);
    return (struct kstr){(const char *)p, p ? n : -1};
}

int assign_decode_subscription(const uint8_t *p, size_t len, struct arena *a, struct kstr **topics,
                               size_t *n)
{
    struct reader r;
    reader_init(&r, p, len);
    int16_t version = (int16_t)reader_be16(&r);
    int32_t count = (int32_t)reader_be32(&r);
    if (!reader_ok(&r) || version < 0 || count < 0 || (size_t)count > reader_left(&r) / 2)
        return -EBADMSG;
    struct kstr *t = arena_calloc(a, (size_t)count + 1, sizeof *t);
    if (!t)
        return -ENOMEM;
    for (int32_t i = 0; i < count; i++)
        if ((t[i] = read_str(&r)).len < 0)
            return -EBADMSG;
    *topics = t;
    *n = (size_t)count;
    return reader_ok(&r) ? 0 : -EBADMSG;
}

int assign_encode_assignment(const struct brook_tp *tps, size_t n, struct writer *w)
{
    writer_be16(w, 0); /* version */
    size_t count_pos = writer_reserve(w, 4);
    uint32_t topics = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !strcmp(tps[j].topic, tps[i].topic))
            j++;
        write_str(w, tps[i].topic);
        writer_be32(w, (uint32_t)(j - i));
        for (size_t k = i; k < j; k++)
            writer_be32(w, (uint32_t)tps[k].partition);
        topics++;
        i = j;
    }
    writer_set_be32(w, count_pos, topics);
    writer_be32(w, 0xffffffffu); /* user data: null */
    return w->err;
}

int assign_decode_assignment(const uint8_t *p, size_t len, struct arena *a, struct brook_tp **tps,
                             size_t *n)
{
    struct reader r;
    reader_init(&r, p, len);
    *tps = NULL;
    *n = 0;
    if (len == 0)
        return 0; /* an empty assignment */
    int16_t version = (int16_t)reader_be16(&r);
    int32_t topics = (int32_t)reader_be32(&r);
    if (!reader_ok(&r) || version < 0 || topics < 0 || (size_t)topics > reader_left(&r) / 6)
        return -EBADMSG;
    size_t cap = reader_left(&r) / 4 + 1, count = 0;
    struct brook_tp *out = arena_calloc(a, cap, sizeof *out);
    if (!out)
        return -ENOMEM;
    for (int32_t i = 0; i < topics; i++) {
        struct kstr name = read_str(&r);
        int32_t parts = (int32_t)reader_be32(&r);
        if (!reader_ok(&r) || name.len < 0 || parts < 0 || (size_t)parts > reader_left(&r) / 4)
            return -EBADMSG;
        char *topic = arena_strndup(a, name.p ? name.p : "", (size_t)name.len);
        if (!topic)
            return -ENOMEM;
        for (int32_t k = 0; k < parts && count < cap; k++)
            out[count++] = (struct brook_tp){topic, (int32_t)reader_be32(&r), -1};
    }
    if (!reader_ok(&r))
        return -EBADMSG;
    *tps = out;
    *n = count;
    return 0;
}
