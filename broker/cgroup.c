/*
 * cgroup.c - consumer groups of KIP-848: the coordinator decides who consumes
 * what, and each member learns its share from its own heartbeats.
 *
 * Three epochs drive it. The group epoch grows whenever something the
 * assignment depends on changes: a member joins or leaves, a subscription
 * changes, a subscribed topic appears, grows or goes. When the group epoch has
 * passed the assignment epoch, the assignor (cgroup_assign.c) computes a new
 * target for every member at once and the assignment epoch catches up. Each
 * member then moves towards its target on its own heartbeats, and its member
 * epoch says how far it has come:
 *
 *   - a member first gives up what it owns outside its target: its answer
 *     carries only what it keeps, and it stays at its old epoch (state
 *     CGM_UNREVOKED) until a heartbeat reports owned partitions without the
 *     revoked ones;
 *   - then it moves to the assignment epoch and receives the partitions of its
 *     target that no other member still owns or is revoking; the rest it
 *     receives on later heartbeats, as their owners let go (CGM_UNRELEASED).
 *
 * So a partition is never owned by two members at once, which is what lets a
 * consumer commit and hand over without reading a record twice.
 *
 * A heartbeat with an epoch above the member's, or below it other than the
 * previous epoch with owned partitions it still has (a lost answer), is
 * FENCED_MEMBER_EPOCH; an unknown member is UNKNOWN_MEMBER_ID (also after a
 * restart of brookd: groups live in memory and members rejoin at epoch 0).
 * Epoch -1 leaves; epoch -2 is a static member (instance id) leaving for a
 * while: it keeps its partitions until its session times out, and a member
 * joining with the same instance id takes its place without a rebalance.
 * Members are removed when no heartbeat comes within the session timeout, or
 * when they do not revoke within their rebalance timeout.
 *
 * Everything a peer can multiply is bounded before work is done: members per
 * group (group.consumer.max.size), groups (brook.groups.max, with the classic
 * groups), topics per subscription and per group (CGROUP_MAX_TOPICS), the
 * partitions a group assigns (CGROUP_MAX_PARTITIONS), the lengths of ids and
 * regexes. A regex is POSIX extended syntax, matched against whole topic names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "broker/cgroup.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define EPOCH_LEAVE        (-1)
#define EPOCH_STATIC_LEAVE (-2)

/* ---- sets of partitions ---- */

int cgroup_tp_cmp(const void *a, const void *b)
{
    const struct cgroup_tp *x = a, *y = b;
    int c = memcmp(x->topic_id, y->topic_id, 16);
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

bool cgroup_tps_has(const struct cgroup_tps *s, const uint8_t id[16], int32_t part)
{
    struct cgroup_tp key = {.partition = part};
    memcpy(key.topic_id, id, 16);
    return s->n > 0 && bsearch(&key, s->v, (size_t)s->n, sizeof key, cgroup_tp_cmp);
}

void cgroup_tps_add(struct cgroup_tps *s, const uint8_t id[16], int32_t part)
{
    /* grow by powers of two: the capacity is implied by n */
    if (s->n == 0 || (s->n & (s->n - 1)) == 0)
        s->v = xrealloc(s->v, (size_t)(s->n ? 2 * s->n : 1) * sizeof *s->v);
    memcpy(s->v[s->n].topic_id, id, 16);
    s->v[s->n++].partition = part;
}

void cgroup_tps_sort(struct cgroup_tps *s)
{
    if (s->n > 1)
        qsort(s->v, (size_t)s->n, sizeof *s->v, cgroup_tp_cmp);
}

void cgroup_tps_free(struct cgroup_tps *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static bool tps_equal(const struct cgroup_tps *a, const struct cgroup_tps *b)
{
    return a->n == b->n && (a->n == 0 || !memcmp(a->v, b->v, (size_t)a->n * sizeof *a->v));
}

static void tps_copy(struct cgroup_tps *dst, const struct cgroup_tps *src)
{
    cgroup_tps_free(dst);
    for (int32_t i = 0; i < src->n; i++)
        cgroup_tps_add(dst, src->v[i].topic_id, src->v[i].partition);
}

/* ---- groups and members ---- */

const char *cgroup_state_name(const struct cgroup *g)
{
    if (!g->members)
        return "Empty";
    if (g->epoch > g->assignment_epoch)
        return "Assigning";
    for (const struct cgroup_member *m = g->members; m; m = m->next)
        if (m->epoch != EPOCH_STATIC_LEAVE &&
            (m->epoch != g->assignment_epoch || m->state != CGM_STABLE))
            return "Reconciling";
    return "Stable";
}

void cgroups_init(struct cgroups *cs, const struct cgroup_config *cfg, const struct cgroup_env *env)
{
    memset(cs, 0, sizeof *cs);
    cs->cfg = *cfg;
    cs->env = *env;
    hmap_init(&cs->by_id);
}

struct cgroup *cgroup_find(struct cgroups *cs, struct kstr id)
{
    if (id.len <= 0)
        return NULL;
    return hmap_get(&cs->by_id, id.p, (size_t)id.len);
}

static void names_free(char **names, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void member_free(struct cgroup_member *m)
{
    free(m->id);
    free(m->instance_id);
    free(m->rack_id);
    free(m->client_id);
    free(m->client_host);
    names_free(m->topics, m->ntopics);
    if (m->regex)
        regfree(&m->re);
    free(m->regex);
    cgroup_tps_free(&m->assigned);
    cgroup_tps_free(&m->revoking);
    cgroup_tps_free(&m->target);
    free(m);
}

static void group_topics_free(struct cgroup *g)
{
    for (int32_t i = 0; i < g->ntopics; i++)
        free(g->topics[i].name);
    free(g->topics);
    g->topics = NULL;
    g->ntopics = 0;
}

static void group_free(struct cgroups *cs, struct cgroup *g)
{
    hmap_del(&cs->by_id, g->id, strlen(g->id));
    if (g->prev)
        g->prev->next = g->next;
    else
        cs->list = g->next;
    if (g->next)
        g->next->prev = g->prev;
    for (struct cgroup_member *m = g->members, *next; m; m = next) {
        next = m->next;
        member_free(m);
    }
    group_topics_free(g);
    names_free(g->wanted, g->nwanted);
    free(g->id);
    free(g);
}

void cgroups_release(struct cgroups *cs)
{
    while (cs->list)
        group_free(cs, cs->list);
    hmap_release(&cs->by_id);
}

static struct cgroup *group_new(struct cgroups *cs, struct kstr id)
{
    struct cgroup *g = xcalloc(1, sizeof *g);
    g->id = xstrndup(id.p, (size_t)id.len);
    g->assignor = "uniform";
    if (hmap_put(&cs->by_id, g->id, strlen(g->id), g))
        abort(); /* the daemon's out-of-memory policy */
    g->next = cs->list;
    if (cs->list)
        cs->list->prev = g;
    cs->list = g;
    return g;
}

static struct cgroup_member *member_by_id(struct cgroup *g, struct kstr id)
{
    for (struct cgroup_member *m = g->members; m; m = m->next)
        if (kstr_eq(id, m->id))
            return m;
    return NULL;
}

static struct cgroup_member *member_by_instance(struct cgroup *g, struct kstr inst)
{
    if (kstr_is_null(inst))
        return NULL;
    for (struct cgroup_member *m = g->members; m; m = m->next)
        if (m->instance_id && kstr_eq(inst, m->instance_id))
            return m;
    return NULL;
}

static void member_unlink(struct cgroup *g, struct cgroup_member *m)
{
    g->bytes -= m->bytes;
    for (struct cgroup_member **p = &g->members; *p; p = &(*p)->next)
        if (*p == m) {
            *p = m->next;
            g->nmembers--;
            return;
        }
}

/* Take m out of g: its partitions become free, and the assignment is redone. */
static void member_remove(struct cgroup *g, struct cgroup_member *m, const char *why)
{
    log_info("brook.group", "consumer group %s: member %s removed (%s)", g->id, m->id, why);
    member_unlink(g, m);
    member_free(m);
    g->epoch++;
    g->wanted_dirty = true;
}

/* A member id as Kafka makes them: 16 random bytes, URL-safe base64 (22 chars). */
static char *member_id_new(void)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t r[18] = {0};
    if (getrandom(r, 16, 0) != 16)
        abort();
    char *s = xcalloc(1, 25);
    for (int i = 0, o = 0; i < 18; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
        for (int k = 3; k >= 0 && o < 22; k--)
            s[o++] = b64[(v >> (6 * k)) & 63];
    }
    return s;
}

/* ---- the request's checks ---- */

static int16_t fail(struct cgroup_answer *out, int16_t err, const char *msg)
{
    out->err = err;
    out->msg = msg;
    return err;
}

static bool name_ok(struct kstr s)
{
    return s.len <= CGROUP_NAME_MAX && (s.len <= 0 || !memchr(s.p, 0, (size_t)s.len));
}

/* What Kafka refuses as INVALID_REQUEST, and brook's own bounds. */
static int16_t hb_validate(const struct cgroup_hb *hb, struct cgroup_answer *out)
{
    if (hb->group_id.len <= 0 || !name_ok(hb->group_id))
        return fail(out, KAFKA_INVALID_REQUEST, "GroupId can't be empty or hold NUL bytes.");
    if (!name_ok(hb->member_id) || !name_ok(hb->instance_id) || !name_ok(hb->rack_id))
        return fail(out, KAFKA_INVALID_REQUEST, "an id is longer than 1024 bytes");
    if (hb->epoch < EPOCH_STATIC_LEAVE)
        return fail(out, KAFKA_INVALID_REQUEST, "MemberEpoch is below -2.");
    if (hb->epoch != 0 && hb->member_id.len <= 0)
        return fail(out, KAFKA_INVALID_REQUEST, "MemberId can't be empty.");
    if (hb->epoch == EPOCH_STATIC_LEAVE && hb->instance_id.len <= 0)
        return fail(out, KAFKA_INVALID_REQUEST, "InstanceId can't be empty with epoch -2.");
    if (hb->ntopics > CGROUP_MAX_TOPICS)
        return fail(out, KAFKA_INVALID_REQUEST, "a subscription names more than 1000 topics");
    if (hb->regex.len > CGROUP_REGEX_MAX)
        return fail(out, CGROUP_INVALID_REGULAR_EXPRESSION, "the regex is longer than 1024 bytes");
    if (hb->epoch == 0 && hb->rebalance_ms == -1)
        return fail(out, KAFKA_INVALID_REQUEST,
                    "RebalanceTimeoutMs must be provided in first request.");
    if (hb->epoch == 0 && hb->nowned != 0)
        return fail(out, KAFKA_INVALID_REQUEST, "TopicPartitions must be empty when (re-)joining.");
    if (hb->epoch == 0 && hb->ntopics < 0 && kstr_is_null(hb->regex))
        return fail(out, KAFKA_INVALID_REQUEST,
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
    if (!kstr_is_null(hb->assignor) && !kstr_eq(hb->assignor, "uniform") &&
        !kstr_eq(hb->assignor, "range"))
        return fail(out, KAFKA_UNSUPPORTED_ASSIGNOR, "brook's assignors are uniform and range");
    return 0;
}

/* ---- subscriptions ---- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Set m's subscribed names (sorted, unique); whether they changed. */
static bool member_set_topics(struct cgroup_member *m, const struct kstr *names, int32_t n)
{
    char **v = xcalloc((size_t)n + 1, sizeof *v);
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (names[i].len > 0 && !memchr(names[i].p, 0, (size_t)names[i].len))
            v[k++] = xstrndup(names[i].p, (size_t)names[i].len);
    qsort(v, (size_t)k, sizeof *v, name_cmp);
    int32_t u = 0;
    for (int32_t i = 0; i < k; i++) {
        if (u > 0 && !strcmp(v[u - 1], v[i]))
            free(v[i]);
        else
            v[u++] = v[i];
    }
    bool same = u == m->ntopics;
    for (int32_t i = 0; same && i < u; i++)
        same = !strcmp(v[i], m->topics[i]);
    if (same) {
        names_free(v, u);
        return false;
    }
    names_free(m->topics, m->ntopics);
    m->topics = v;
    m->ntopics = u;
    return true;
}

/* Set m's regex ("" clears it); 0, whether it changed (1), or an error. */
static int member_set_regex(struct cgroup_member *m, struct kstr rx)
{
    if (rx.len == 0) {
        if (!m->regex)
            return 0;
        regfree(&m->re);
        free(m->regex);
        m->regex = NULL;
        return 1;
    }
    if (m->regex && kstr_eq(rx, m->regex))
        return 0;
    if (memchr(rx.p, 0, (size_t)rx.len))
        return -EINVAL;
    /* anchored: Kafka matches the whole name */
    char *full = xcalloc(1, (size_t)rx.len + 5);
    snprintf(full, (size_t)rx.len + 5, "^(%.*s)$", rx.len, rx.p);
    regex_t re;
    int rc = regcomp(&re, full, REG_EXTENDED | REG_NOSUB);
    free(full);
    if (rc)
        return -EINVAL;
    if (m->regex) {
        regfree(&m->re);
        free(m->regex);
    }
    m->re = re;
    m->regex = xstrndup(rx.p, (size_t)rx.len);
    return 1;
}

bool cgroup_member_subscribes(const struct cgroup_member *m, const char *name)
{
    if (m->ntopics > 0 &&
        bsearch(&name, m->topics, (size_t)m->ntopics, sizeof *m->topics, name_cmp))
        return true;
    return m->regex && strncmp(name, "__", 2) && /* never internal topics */
           regexec(&m->re, name, 0, NULL, 0) == 0;
}

/* Regex matches one rebuild of a group's subscribed names may try (names times
 * distinct regexes): a peer changing its regex on every heartbeat costs no more. */
#define REGEX_WORK 1000000

/* Add a copy of name to g->wanted unless seen holds it already. */
static void wanted_add(struct cgroup *g, struct hmap *seen, const char *name, int32_t *cap)
{
    if (g->nwanted >= CGROUP_MAX_TOPICS || hmap_get(seen, name, strlen(name)))
        return;
    if (g->nwanted == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        g->wanted = xrealloc(g->wanted, (size_t)*cap * sizeof *g->wanted);
    }
    g->wanted[g->nwanted] = xstrdup(name);
    if (hmap_put(seen, g->wanted[g->nwanted], strlen(name), g->wanted[g->nwanted]))
        abort(); /* the daemon's out-of-memory policy */
    g->nwanted++;
}

/* The members whose regexes differ from every earlier member's (at most n). */
static int32_t distinct_regexes(struct cgroup *g, struct cgroup_member **v)
{
    int32_t n = 0;
    for (struct cgroup_member *m = g->members; m; m = m->next) {
        bool dup = !m->regex;
        for (int32_t i = 0; i < n && !dup; i++)
            dup = !strcmp(v[i]->regex, m->regex);
        if (!dup)
            v[n++] = m;
    }
    return n;
}

static void wanted_add_matches(struct cgroups *cs, struct cgroup *g, struct hmap *seen,
                               int32_t *cap)
{
    struct cgroup_member **rx = xcalloc((size_t)g->nmembers + 1, sizeof *rx);
    int32_t nrx = distinct_regexes(g, rx);
    char **all = nrx ? cs->env.names(cs->env.arg) : NULL;
    int64_t work = REGEX_WORK;
    for (char **p = all; p && *p && work > 0; p++)
        for (int32_t i = 0; i < nrx && work-- > 0; i++)
            if (cgroup_member_subscribes(rx[i], *p)) {
                wanted_add(g, seen, *p, cap);
                break;
            }
    if (work <= 0)
        log_warn_every("brook.group", "consumer group %s: regex matching stopped after %d tries",
                       g->id, REGEX_WORK);
    g->regex_due_ms = nrx ? 0 : INT64_MAX; /* the caller sets the time */
    free(all);
    free(rx);
}

/* Rebuild the sorted names the members subscribe to (lists and regex matches). */
static void group_wanted_rebuild(struct cgroups *cs, struct cgroup *g, int64_t now_ms)
{
    names_free(g->wanted, g->nwanted);
    g->wanted = NULL;
    g->nwanted = 0;
    struct hmap seen;
    hmap_init(&seen);
    int32_t cap = 0;
    for (struct cgroup_member *m = g->members; m; m = m->next)
        for (int32_t i = 0; i < m->ntopics; i++)
            wanted_add(g, &seen, m->topics[i], &cap);
    wanted_add_matches(cs, g, &seen, &cap);
    hmap_release(&seen);
    if (g->nwanted > 1)
        qsort(g->wanted, (size_t)g->nwanted, sizeof *g->wanted, name_cmp);
    if (g->regex_due_ms == 0) /* regexes: new topics may match later */
        g->regex_due_ms = now_ms + cs->cfg.heartbeat_ms;
    g->wanted_dirty = false;
}

/*
 * Look the subscribed topics up again; when any appeared, went, or changed its
 * partitions or id, the group epoch grows so that the assignment is redone.
 * Bounded by CGROUP_MAX_TOPICS lookups; the names are rebuilt when a
 * subscription changed, and every heartbeat interval while regexes are used.
 */
static void group_refresh(struct cgroups *cs, struct cgroup *g, int64_t now_ms)
{
    if (g->wanted_dirty || now_ms >= g->regex_due_ms)
        group_wanted_rebuild(cs, g, now_ms);
    int32_t n = g->nwanted;
    struct cgroup_topic *t = xcalloc((size_t)n + 1, sizeof *t);
    int32_t k = 0;
    int64_t parts = 0;
    for (int32_t i = 0; i < n && parts < CGROUP_MAX_PARTITIONS; i++) {
        if (!cs->env.topic(cs->env.arg, g->wanted[i], t[k].id, &t[k].nparts))
            continue;
        if (parts + t[k].nparts > CGROUP_MAX_PARTITIONS) {
            log_warn_every("brook.group", "consumer group %s: subscribed topics pass %d partitions",
                           g->id, CGROUP_MAX_PARTITIONS);
            t[k].nparts = (int32_t)(CGROUP_MAX_PARTITIONS - parts);
        }
        parts += t[k].nparts;
        t[k++].name = xstrdup(g->wanted[i]);
    }
    bool same = k == g->ntopics;
    for (int32_t i = 0; same && i < k; i++)
        same = !strcmp(t[i].name, g->topics[i].name) && !memcmp(t[i].id, g->topics[i].id, 16) &&
               t[i].nparts == g->topics[i].nparts;
    if (same) {
        for (int32_t i = 0; i < k; i++)
            free(t[i].name);
        free(t);
        return;
    }
    group_topics_free(g);
    g->topics = t;
    g->ntopics = k;
    g->epoch++;
}

/* ---- reconciliation ---- */

/* Whether a member other than m owns or is revoking the partition. */
static bool owned_by_other(const struct cgroup *g, const struct cgroup_member *m,
                           const struct cgroup_tp *tp)
{
    for (const struct cgroup_member *o = g->members; o; o = o->next)
        if (o != m && (cgroup_tps_has(&o->assigned, tp->topic_id, tp->partition) ||
                       cgroup_tps_has(&o->revoking, tp->topic_id, tp->partition)))
            return true;
    return false;
}

/* Give m the partitions of its target that are free; CGM_STABLE when that is all
 * of them, else CGM_UNRELEASED. */
static void member_take_free(const struct cgroup *g, struct cgroup_member *m)
{
    bool waiting = false;
    struct cgroup_tps add = {0}; /* apart: assigned must stay sorted for the lookups */
    for (int32_t i = 0; i < m->target.n; i++) {
        const struct cgroup_tp *tp = &m->target.v[i];
        if (cgroup_tps_has(&m->assigned, tp->topic_id, tp->partition))
            continue;
        if (owned_by_other(g, m, tp)) {
            waiting = true;
            continue;
        }
        cgroup_tps_add(&add, tp->topic_id, tp->partition);
    }
    for (int32_t i = 0; i < add.n; i++)
        cgroup_tps_add(&m->assigned, add.v[i].topic_id, add.v[i].partition);
    cgroup_tps_free(&add);
    cgroup_tps_sort(&m->assigned);
    m->state = waiting ? CGM_UNRELEASED : CGM_STABLE;
}

/* Whether the owned partitions the member reported include one it must revoke. */
static bool still_owns_revoked(const struct cgroup_member *m, const struct cgroup_hb *hb)
{
    if (hb->nowned < 0)
        return true; /* not reported: not known to be revoked */
    for (int32_t i = 0; i < hb->nowned; i++)
        if (cgroup_tps_has(&m->revoking, hb->owned[i].topic_id, hb->owned[i].partition))
            return true;
    return false;
}

/* Move m towards its target at the group's assignment epoch. */
static void member_reconcile(const struct cgroup *g, struct cgroup_member *m,
                             const struct cgroup_hb *hb, int64_t now_ms)
{
    if (m->state == CGM_UNREVOKED) {
        if (still_owns_revoked(m, hb))
            return;
        cgroup_tps_free(&m->revoking);
        m->state = CGM_STABLE;
    }
    if (m->epoch == g->assignment_epoch) {
        if (m->state == CGM_UNRELEASED)
            member_take_free(g, m);
        return;
    }
    struct cgroup_tps keep = {0}, revoke = {0};
    for (int32_t i = 0; i < m->assigned.n; i++) {
        const struct cgroup_tp *tp = &m->assigned.v[i];
        cgroup_tps_add(cgroup_tps_has(&m->target, tp->topic_id, tp->partition) ? &keep : &revoke,
                       tp->topic_id, tp->partition);
    }
    cgroup_tps_free(&m->assigned);
    m->assigned = keep;
    if (revoke.n > 0) {
        m->revoking = revoke;
        m->state = CGM_UNREVOKED;
        m->revoke_deadline_ms = now_ms + m->rebalance_ms;
        return;
    }
    m->prev_epoch = m->epoch;
    m->epoch = g->assignment_epoch;
    member_take_free(g, m);
}

/* Kafka's check of a heartbeat's epoch against the member's. */
static bool epoch_valid(const struct cgroup_member *m, const struct cgroup_hb *hb)
{
    if (hb->epoch == m->epoch)
        return true;
    if (hb->epoch > m->epoch || hb->epoch != m->prev_epoch || hb->nowned < 0)
        return false;
    /* the answer that raised its epoch was lost: fine if it owns nothing new */
    for (int32_t i = 0; i < hb->nowned; i++)
        if (!cgroup_tps_has(&m->assigned, hb->owned[i].topic_id, hb->owned[i].partition))
            return false;
    return true;
}

/* ---- joining, leaving ---- */

/* The group a heartbeat at epoch 0 may create, or an error. */
static struct cgroup *group_for_join(struct cgroups *cs, const struct cgroup_hb *hb,
                                     struct cgroup_answer *out)
{
    struct cgroup *g = cgroup_find(cs, hb->group_id);
    if (g)
        return g;
    char id[CGROUP_NAME_MAX + 1];
    snprintf(id, sizeof id, "%.*s", hb->group_id.len, hb->group_id.p);
    int classic = cs->env.classic_state(cs->env.arg, id);
    if (classic > 0) {
        fail(out, KAFKA_GROUP_ID_NOT_FOUND, "the group is a classic group with members");
        return NULL;
    }
    /* an Empty classic group (offsets only) is counted once: it becomes this one */
    size_t n = cs->by_id.n + cs->env.classic_count(cs->env.arg) - (classic == 0);
    if (n >= (size_t)cs->cfg.groups_max) {
        log_warn_every("brook.group", "consumer group %s not created: brook.groups.max reached",
                       id);
        fail(out, KAFKA_GROUP_MAX_SIZE_REACHED, "brook.groups.max groups exist");
        return NULL;
    }
    return group_new(cs, hb->group_id);
}

static struct cgroup_member *member_new(struct cgroup *g, const struct cgroup_hb *hb)
{
    struct cgroup_member *m = xcalloc(1, sizeof *m);
    m->id = hb->member_id.len > 0 ? xstrndup(hb->member_id.p, (size_t)hb->member_id.len)
                                  : member_id_new();
    if (hb->instance_id.len > 0)
        m->instance_id = xstrndup(hb->instance_id.p, (size_t)hb->instance_id.len);
    m->next = g->members;
    g->members = m;
    g->nmembers++;
    g->epoch++;
    g->wanted_dirty = true;
    return m;
}

/* A static member joining in place of one that left for a while: the new one
 * takes its partitions and epoch, and nobody rebalances. */
static void member_replace(struct cgroup_member *old, const struct cgroup_hb *hb)
{
    free(old->id);
    old->id = hb->member_id.len > 0 ? xstrndup(hb->member_id.p, (size_t)hb->member_id.len)
                                    : member_id_new();
    old->epoch = old->prev_epoch;
}

/* The member a heartbeat at epoch 0 names or creates, or an error. */
static struct cgroup_member *member_for_join(struct cgroups *cs, struct cgroup *g,
                                             const struct cgroup_hb *hb, struct cgroup_answer *out)
{
    struct cgroup_member *m = member_by_instance(g, hb->instance_id);
    if (m && !kstr_eq(hb->member_id, m->id)) {
        if (m->epoch != EPOCH_STATIC_LEAVE) {
            fail(out, KAFKA_UNRELEASED_INSTANCE_ID, "the instance id is in use by another member");
            return NULL;
        }
        member_replace(m, hb);
        return m;
    }
    if (!m && hb->member_id.len > 0)
        m = member_by_id(g, hb->member_id);
    if (m) { /* rejoining: it owns nothing now */
        cgroup_tps_free(&m->assigned);
        cgroup_tps_free(&m->revoking);
        m->state = CGM_STABLE;
        m->prev_epoch = m->epoch = 0;
        return m;
    }
    if (g->nmembers >= cs->cfg.max_size) {
        fail(out, KAFKA_GROUP_MAX_SIZE_REACHED, "group.consumer.max.size members are in the group");
        return NULL;
    }
    return member_new(g, hb);
}

/* Epoch -1 or -2. */
static int16_t member_leave(struct cgroups *cs, struct cgroup *g, struct cgroup_member *m,
                            const struct cgroup_hb *hb, struct cgroup_answer *out)
{
    out->epoch = hb->epoch;
    out->member_id = m->id;
    if (hb->epoch == EPOCH_STATIC_LEAVE && m->instance_id) {
        if (m->epoch != EPOCH_STATIC_LEAVE)
            m->prev_epoch = m->epoch; /* what a replacement resumes at */
        m->epoch = EPOCH_STATIC_LEAVE;
        return 0;
    }
    member_remove(g, m, "left");
    out->member_id = NULL; /* the request's: m is gone */
    if (!g->members)
        group_free(cs, g);
    return 0;
}

/* ---- the heartbeat ---- */

/* What m holds in strings, counted against CGROUP_MAX_BYTES. */
static size_t member_bytes(const struct cgroup_member *m)
{
    size_t n = 64 + strlen(m->id) + (m->instance_id ? strlen(m->instance_id) : 0) +
               (m->rack_id ? strlen(m->rack_id) : 0) + (m->regex ? strlen(m->regex) : 0) +
               (m->client_id ? strlen(m->client_id) : 0);
    for (int32_t i = 0; i < m->ntopics; i++)
        n += sizeof *m->topics + strlen(m->topics[i]) + 1;
    return n;
}

/* Whether a heartbeat would take its group past CGROUP_MAX_BYTES: its names
 * replace the member's (estimated before any is copied). */
static bool hb_too_big(struct cgroups *cs, const struct cgroup_hb *hb)
{
    struct cgroup *g = cgroup_find(cs, hb->group_id);
    if (!g)
        return false;
    struct cgroup_member *m = member_by_id(g, hb->member_id);
    size_t need =
        64 + (size_t)CGROUP_NAME_MAX * 4 + (size_t)(hb->regex.len > 0 ? hb->regex.len : 0);
    for (int32_t i = 0; i < hb->ntopics; i++)
        need += sizeof(char *) + (size_t)(hb->topics[i].len > 0 ? hb->topics[i].len : 0) + 1;
    return g->bytes - (m ? m->bytes : 0) + need > CGROUP_MAX_BYTES;
}

/* A copy of s cut to max bytes ("" for null). */
static char *kstr_dup_max(struct kstr s, int32_t max)
{
    return xstrndup(s.p, (size_t)(s.len > max ? max : s.len > 0 ? s.len : 0));
}

/* What the assignment depends on: each change grows the group epoch. */
static void member_update_subscription(struct cgroup *g, struct cgroup_member *m,
                                       const struct cgroup_hb *hb)
{
    bool changed = hb->ntopics >= 0 && member_set_topics(m, hb->topics, hb->ntopics);
    /* the regex compiled in regex_check(): only a change is news here */
    if (!kstr_is_null(hb->regex) && member_set_regex(m, hb->regex) > 0)
        changed = true;
    if (changed) {
        g->epoch++;
        g->wanted_dirty = true;
    }
    if (hb->assignor.len > 0 && !kstr_eq(hb->assignor, g->assignor)) {
        g->assignor = kstr_eq(hb->assignor, "range") ? "range" : "uniform";
        g->epoch++;
    }
}

static void member_update(struct cgroups *cs, struct cgroup *g, struct cgroup_member *m,
                          const struct cgroup_hb *hb, int64_t now_ms)
{
    if (hb->rebalance_ms >= 0)
        m->rebalance_ms = hb->rebalance_ms;
    member_update_subscription(g, m, hb);
    if (!kstr_is_null(hb->rack_id)) {
        free(m->rack_id);
        m->rack_id = kstr_dup_max(hb->rack_id, CGROUP_NAME_MAX);
    }
    free(m->client_id); /* shown only: kept to CGROUP_NAME_MAX bytes */
    m->client_id = kstr_dup_max(hb->client_id, CGROUP_NAME_MAX);
    free(m->client_host);
    m->client_host = xstrdup(hb->client_host ? hb->client_host : "");
    m->session_deadline_ms = now_ms + cs->cfg.session_ms;
    g->bytes -= m->bytes;
    m->bytes = member_bytes(m);
    g->bytes += m->bytes;
}

/* A heartbeat at epoch 0: the member joins, rejoins or replaces a static one. */
static int16_t hb_join(struct cgroups *cs, const struct cgroup_hb *hb, struct cgroup **gp,
                       struct cgroup_member **mp, struct cgroup_answer *out)
{
    struct cgroup *g = group_for_join(cs, hb, out);
    if (!g)
        return out->err;
    struct cgroup_member *m = member_for_join(cs, g, hb, out);
    if (!m) {
        if (!g->members)
            group_free(cs, g);
        return out->err;
    }
    *gp = g;
    *mp = m;
    return 0;
}

/* A heartbeat of a known member (epoch -2, -1 or above 0). */
static int16_t hb_member(struct cgroups *cs, const struct cgroup_hb *hb, struct cgroup **gp,
                         struct cgroup_member **mp, struct cgroup_answer *out)
{
    struct cgroup *g = cgroup_find(cs, hb->group_id);
    struct cgroup_member *m = g ? member_by_id(g, hb->member_id) : NULL;
    if (!m) {
        char id[CGROUP_NAME_MAX + 1];
        snprintf(id, sizeof id, "%.*s", hb->group_id.len, hb->group_id.p);
        if (!g && cs->env.classic_state(cs->env.arg, id) > 0)
            return fail(out, KAFKA_GROUP_ID_NOT_FOUND, "the group is a classic group with members");
        /* also what a member hears after brookd restarted: it rejoins at epoch 0 */
        return fail(out, KAFKA_UNKNOWN_MEMBER_ID, "the member is not in the group");
    }
    if (hb->epoch < 0)
        return member_leave(cs, g, m, hb, out);
    if (m->epoch == EPOCH_STATIC_LEAVE || !epoch_valid(m, hb))
        return fail(out, KAFKA_FENCED_MEMBER_EPOCH, "the member epoch is not the current one");
    *gp = g;
    *mp = m;
    return 0;
}

/* Refuse a regex POSIX cannot compile, and interval expressions ({m,n}), whose
 * nesting makes the compiled automaton grow as the product of the counts. */
static int16_t regex_check(struct kstr rx, struct cgroup_answer *out)
{
    if (rx.len <= 0)
        return 0;
    if (memchr(rx.p, '{', (size_t)rx.len) || memchr(rx.p, 0, (size_t)rx.len))
        return fail(out, CGROUP_INVALID_REGULAR_EXPRESSION,
                    "brook's regexes are POSIX extended ones without {m,n}");
    struct cgroup_member probe = {0};
    if (member_set_regex(&probe, rx) < 0)
        return fail(out, CGROUP_INVALID_REGULAR_EXPRESSION, "the regex does not compile");
    regfree(&probe.re);
    free(probe.regex);
    return 0;
}

int16_t cgroup_heartbeat(struct cgroups *cs, const struct cgroup_hb *hb, int64_t now_ms,
                         struct cgroup_answer *out)
{
    memset(out, 0, sizeof *out);
    out->heartbeat_ms = cs->cfg.heartbeat_ms;
    out->epoch = hb->epoch;
    struct cgroup *g = NULL;
    struct cgroup_member *m = NULL;
    if (hb_validate(hb, out) || regex_check(hb->regex, out))
        return out->err;
    if (hb->epoch >= 0 && hb_too_big(cs, hb))
        return fail(out, KAFKA_GROUP_MAX_SIZE_REACHED, "the group's subscriptions pass 16 MiB");
    if (hb->epoch == 0 ? hb_join(cs, hb, &g, &m, out) : hb_member(cs, hb, &g, &m, out))
        return out->err;
    if (!m) /* left */
        return 0;
    member_update(cs, g, m, hb, now_ms);
    group_refresh(cs, g, now_ms);
    if (g->epoch > g->assignment_epoch) {
        cgroup_assign(g);
        g->assignment_epoch = g->epoch;
    }
    struct cgroup_tps before = {0};
    tps_copy(&before, &m->assigned);
    member_reconcile(g, m, hb, now_ms);
    out->send_assignment = hb->nowned >= 0 || hb->epoch == 0 || !tps_equal(&before, &m->assigned);
    cgroup_tps_free(&before);
    out->m = m;
    out->member_id = m->id;
    out->epoch = m->epoch;
    return 0;
}

/* ---- timers ---- */

static int64_t member_deadline(const struct cgroup_member *m)
{
    if (m->state == CGM_UNREVOKED && m->revoke_deadline_ms < m->session_deadline_ms)
        return m->revoke_deadline_ms;
    return m->session_deadline_ms;
}

void cgroups_expire(struct cgroups *cs, int64_t now_ms)
{
    for (struct cgroup *g = cs->list, *gnext; g; g = gnext) {
        gnext = g->next;
        for (struct cgroup_member *m = g->members, *next; m; m = next) {
            next = m->next;
            if (now_ms >= m->session_deadline_ms)
                member_remove(g, m, "session timeout");
            else if (m->state == CGM_UNREVOKED && now_ms >= m->revoke_deadline_ms)
                member_remove(g, m, "not revoked within the rebalance timeout");
        }
        if (!g->members)
            group_free(cs, g);
    }
}

int64_t cgroups_next_deadline(const struct cgroups *cs)
{
    int64_t next = INT64_MAX;
    for (const struct cgroup *g = cs->list; g; g = g->next)
        for (const struct cgroup_member *m = g->members; m; m = m->next)
            if (member_deadline(m) < next)
                next = member_deadline(m);
    return next;
}

int16_t cgroups_commit_allowed(struct cgroups *cs, struct kstr group, struct kstr member_id,
                               int32_t member_epoch, int16_t version)
{
    struct cgroup *g = cgroup_find(cs, group);
    struct cgroup_member *m = g && member_id.len > 0 ? member_by_id(g, member_id) : NULL;
    if (!g)
        return KAFKA_NONE; /* no members: any commit goes, as to an Empty group */
    if (!m)
        return KAFKA_UNKNOWN_MEMBER_ID;
    if (version < 9) /* below v9 a commit names a generation, not a member epoch */
        return KAFKA_UNSUPPORTED_VERSION;
    return member_epoch != m->epoch ? KAFKA_STALE_MEMBER_EPOCH : KAFKA_NONE;
}

int16_t cgroups_fetch_allowed(struct cgroups *cs, struct kstr group, struct kstr member_id,
                              int32_t member_epoch)
{
    struct cgroup *g = cgroup_find(cs, group);
    if (!g || (kstr_is_null(member_id) && member_epoch < 0))
        return KAFKA_NONE; /* an admin, or a client that names no member */
    struct cgroup_member *m = member_by_id(g, member_id);
    if (!m)
        return KAFKA_UNKNOWN_MEMBER_ID;
    return member_epoch != m->epoch ? KAFKA_STALE_MEMBER_EPOCH : KAFKA_NONE;
}

bool cgroups_subscribed(struct cgroups *cs, struct kstr group, struct kstr topic)
{
    struct cgroup *g = cgroup_find(cs, group);
    char name[256];
    if (!g || topic.len <= 0 || topic.len >= (int32_t)sizeof name)
        return false;
    memcpy(name, topic.p, (size_t)topic.len);
    name[topic.len] = 0;
    for (const struct cgroup_member *m = g->members; m; m = m->next)
        if (cgroup_member_subscribes(m, name))
            return true;
    return false;
}
