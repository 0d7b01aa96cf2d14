/*
 * cgroup_assign.c - the server-side assignors of KIP-848 consumer groups.
 *
 * Both compute every member's target from the group's topics (sorted by name)
 * and each member's subscription; the state machine (cgroup.c) then moves
 * members to their targets without two ever owning one partition.
 *
 *   uniform (the default) spreads partitions so that members subscribed to the
 *     same topics differ by at most one partition, and keeps each partition with
 *     the member whose previous target held it when it can: a member joining
 *     takes a share from the others, nobody else moves. Unassigned partitions
 *     go to the eligible member with the fewest; then, one at a time, a
 *     partition moves from the most loaded member to the least loaded eligible
 *     one while they differ by two or more.
 *   range gives each topic's partitions in consecutive runs to the members
 *     subscribed to it, in order of member id: with the same subscriptions,
 *     members get the same partition numbers of every topic (co-partitioning).
 *
 * Each balancing step scans the partitions once and the members once per
 * partition it tries; all steps together stop at BALANCE_WORK.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/cgroup.h"
#include "lib/xalloc.h"

/* Members and partitions the uniform assignor's balancing may look at, in all
 * (a few tenths of a second at most): a group of the same subscriptions needs
 * far less, each join moving only the newcomer's share. */
#define BALANCE_WORK 100000000

/* The group laid flat for an assignor. */
struct plan {
    struct cgroup *g;
    struct cgroup_member **mv; /* members by id */
    int32_t nm;
    int32_t *first; /* per topic: index of its partition 0 among all */
    int32_t np;     /* partitions in all */
    int32_t *topic; /* per partition: its topic */
    int32_t *owner; /* per partition: member index, or -1 */
    int32_t *count; /* per member: partitions owned */
    bool *subs;     /* [topic * nm + member]: subscribed */
    int64_t work;   /* balancing work left: members or partitions looked at */
};

static int member_id_cmp(const void *a, const void *b)
{
    return strcmp((*(struct cgroup_member *const *)a)->id, (*(struct cgroup_member *const *)b)->id);
}

static void plan_init(struct plan *p, struct cgroup *g)
{
    memset(p, 0, sizeof *p);
    p->g = g;
    p->mv = xcalloc((size_t)g->nmembers + 1, sizeof *p->mv);
    for (struct cgroup_member *m = g->members; m; m = m->next)
        p->mv[p->nm++] = m;
    qsort(p->mv, (size_t)p->nm, sizeof *p->mv, member_id_cmp);
    p->first = xcalloc((size_t)g->ntopics + 1, sizeof *p->first);
    for (int32_t t = 0; t < g->ntopics; t++) {
        p->first[t] = p->np;
        p->np += g->topics[t].nparts;
    }
    p->topic = xcalloc((size_t)p->np + 1, sizeof *p->topic);
    p->owner = xcalloc((size_t)p->np + 1, sizeof *p->owner);
    for (int32_t t = 0; t < g->ntopics; t++)
        for (int32_t i = 0; i < g->topics[t].nparts; i++) {
            p->topic[p->first[t] + i] = t;
            p->owner[p->first[t] + i] = -1;
        }
    p->count = xcalloc((size_t)p->nm + 1, sizeof *p->count);
    p->subs = xcalloc((size_t)g->ntopics * (size_t)p->nm + 1, sizeof *p->subs);
    for (int32_t t = 0; t < g->ntopics; t++)
        for (int32_t m = 0; m < p->nm; m++)
            p->subs[(size_t)t * (size_t)p->nm + (size_t)m] =
                cgroup_member_subscribes(p->mv[m], g->topics[t].name);
}

static void plan_release(struct plan *p)
{
    free(p->mv);
    free(p->first);
    free(p->topic);
    free(p->owner);
    free(p->count);
    free(p->subs);
}

static bool eligible(const struct plan *p, int32_t part, int32_t m)
{
    return p->subs[(size_t)p->topic[part] * (size_t)p->nm + (size_t)m];
}

static void give(struct plan *p, int32_t part, int32_t m)
{
    if (p->owner[part] >= 0)
        p->count[p->owner[part]]--;
    p->owner[part] = m;
    p->count[m]++;
}

/* The eligible member with the fewest partitions (the first by id on a tie), or -1. */
static int32_t least_loaded(struct plan *p, int32_t part)
{
    int32_t best = -1;
    p->work -= p->nm;
    for (int32_t m = 0; m < p->nm; m++)
        if (eligible(p, part, m) && (best < 0 || p->count[m] < p->count[best]))
            best = m;
    return best;
}

/* Keep every partition with the member whose previous target held it, if that
 * member still subscribes to its topic. */
static void uniform_keep(struct plan *p)
{
    for (int32_t m = 0; m < p->nm; m++) {
        const struct cgroup_tps *prev = &p->mv[m]->target;
        for (int32_t t = 0; t < p->g->ntopics; t++) {
            if (!p->subs[(size_t)t * (size_t)p->nm + (size_t)m])
                continue;
            for (int32_t i = 0; i < p->g->topics[t].nparts; i++)
                if (p->owner[p->first[t] + i] < 0 && cgroup_tps_has(prev, p->g->topics[t].id, i))
                    give(p, p->first[t] + i, m);
        }
    }
}

/* Move one partition from the most loaded member that can give one to the least
 * loaded eligible member, when they differ by two or more. Taking from the most
 * loaded first is what keeps the others' partitions where they are. false when
 * no member can give. */
static bool balance_step(struct plan *p, bool *stuck)
{
    int32_t from = -1;
    for (int32_t m = 0; m < p->nm; m++)
        if (!stuck[m] && (from < 0 || p->count[m] > p->count[from]))
            from = m;
    if (from < 0)
        return false;
    p->work -= p->nm + p->np;
    for (int32_t part = 0; part < p->np && p->work > 0; part++) {
        if (p->owner[part] != from)
            continue;
        int32_t to = least_loaded(p, part);
        if (to >= 0 && p->count[to] + 1 < p->count[from]) {
            give(p, part, to);
            memset(stuck, 0, (size_t)p->nm * sizeof *stuck);
            return true;
        }
    }
    stuck[from] = true;
    return true;
}

static void assign_uniform(struct plan *p)
{
    uniform_keep(p);
    for (int32_t part = 0; part < p->np; part++)
        if (p->owner[part] < 0) {
            int32_t m = least_loaded(p, part);
            if (m >= 0)
                give(p, part, m);
        }
    /* each move lowers the sum of squared counts, so this ends; the budget caps
     * the work for subscriptions that differ (the result is then less even) */
    bool *stuck = xcalloc((size_t)p->nm + 1, sizeof *stuck);
    p->work = BALANCE_WORK;
    while (p->work > 0 && balance_step(p, stuck))
        ;
    free(stuck);
}

static void assign_range(struct plan *p)
{
    int32_t *elig = xcalloc((size_t)p->nm + 1, sizeof *elig);
    for (int32_t t = 0; t < p->g->ntopics; t++) {
        int32_t k = 0;
        for (int32_t m = 0; m < p->nm; m++)
            if (p->subs[(size_t)t * (size_t)p->nm + (size_t)m])
                elig[k++] = m;
        if (!k)
            continue;
        int32_t n = p->g->topics[t].nparts, per = n / k, extra = n % k, part = 0;
        for (int32_t j = 0; j < k; j++)
            for (int32_t c = 0; c < per + (j < extra); c++, part++)
                give(p, p->first[t] + part, elig[j]);
    }
    free(elig);
}

void cgroup_assign(struct cgroup *g)
{
    struct plan p;
    plan_init(&p, g);
    if (!strcmp(g->assignor, "range"))
        assign_range(&p);
    else
        assign_uniform(&p);
    for (int32_t m = 0; m < p.nm; m++)
        cgroup_tps_free(&p.mv[m]->target);
    for (int32_t part = 0; part < p.np; part++)
        if (p.owner[part] >= 0)
            cgroup_tps_add(&p.mv[p.owner[part]]->target, g->topics[p.topic[part]].id,
                           part - p.first[p.topic[part]]);
    for (int32_t m = 0; m < p.nm; m++)
        cgroup_tps_sort(&p.mv[m]->target);
    plan_release(&p);
}
