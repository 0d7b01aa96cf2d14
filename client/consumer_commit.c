/*
 * consumer_commit.c - committing positions to the group.
 *
 * brook_commit() and the auto-commit timer mark the positions as wanted; one
 * OffsetCommit is in flight at a time and carries the latest positions when it
 * goes, so any number of commit calls cost one request per round trip. A
 * partition counts as committed once an answer confirms the offset that was sent
 * for it, which is what brook_commit(c, true, ...) and brook_consumer_close() wait
 * for.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/private.h"
#include "proto/kafka_errors.h"

int cons_commit_start(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if (!c->conf.group_id || !*c->conf.group_id)
        return BROOK_ERR_STATE;
    if (!cs)
        return 0;
    cs->commit_want = true;
    c->dirty = true;
    return 0;
}

bool cons_commit_busy(const struct brook_client *c)
{
    return c->cons && (c->cons->commit_want || c->cons->commit_req);
}

int cons_commit_error(struct brook_client *c)
{
    if (!c->cons)
        return 0;
    int err = c->cons->commit_err;
    c->cons->commit_err = 0;
    return err;
}

bool cons_all_committed(const struct brook_client *c)
{
    const struct consumer *cs = c->cons;
    for (size_t i = 0; cs && i < cs->n; i++) {
        const struct cpart *p = cs->parts[i];
        if (p->state == CP_ACTIVE && p->pos >= 0 && p->pos != p->committed)
            return false;
    }
    return true;
}

static void on_commit(struct brook_client *c, struct req *rq, int err, struct resp *rs)
{
    struct consumer *cs = c->cons;
    struct preqs *pr = rq->arg;
    if (!cs)
        return;
    cs->commit_req = NULL;
    if (err) {
        cs->commit_err = err;
        cs->commit_want = true;
        grp_on_commit_error(c, KAFKA_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    const struct kafka_offset_commit_resp *r = rs->body;
    for (int32_t t = 0; t < r->n_topics; t++)
        for (int32_t k = 0; k < r->topics[t].n_partitions; k++) {
            const struct kafka_offset_commit_resp_partition *rp = &r->topics[t].partitions[k];
            if (rp->error_code) {
                cs->commit_err = kerr(rp->error_code);
                grp_on_commit_error(c, rp->error_code);
                continue;
            }
            if (pr->epoch != cs->epoch)
                continue; /* the partitions are gone; the commit still counted */
            for (size_t i = 0; i < pr->n; i++)
                if (pr->p[i]->id == rp->partition_index &&
                    kstr_eq(r->topics[t].name, pr->p[i]->topic))
                    pr->p[i]->committed = pr->off[i];
        }
}

static int fill_commit(struct brook_client *c, struct req *rq)
{
    struct kafka_offset_commit_req *b = rq->body;
    struct preqs *pr = rq->arg;
    struct group_identity id;
    grp_identity(c, &id);
    int err = 0;
    b->group_id = req_str(rq, id.group_id, &err);
    b->member_id = req_str(rq, id.member_id ? id.member_id : "", &err);
    b->generation_id_or_member_epoch = id.generation;
    b->retention_time_ms = -1;
    b->topics = arena_calloc(&rq->arena, pr->n, sizeof *b->topics);
    if (err || !b->topics)
        return -ENOMEM;
    for (size_t i = 0; i < pr->n; i++) {
        struct kafka_offset_commit_req_topic *t = NULL;
        for (int32_t j = 0; j < b->n_topics && !t; j++)
            if (kstr_eq(b->topics[j].name, pr->p[i]->topic))
                t = &b->topics[j];
        if (!t) {
            t = &b->topics[b->n_topics++];
            t->name = kstr_from(pr->p[i]->topic);
            if (!(t->partitions = arena_calloc(&rq->arena, pr->n, sizeof *t->partitions)))
                return -ENOMEM;
        }
        struct kafka_offset_commit_req_partition *cp = &t->partitions[t->n_partitions++];
        cp->partition_index = pr->p[i]->id;
        cp->committed_offset = pr->off[i];
        cp->committed_leader_epoch = -1;
        cp->committed_metadata = KSTR("");
    }
    return 0;
}

void cons_run_commit(struct brook_client *c)
{
    struct consumer *cs = c->cons;
    if (c->conf.auto_commit && c->conf.group_id && grp_stable(c)) {
        if (c->now >= cs->next_auto_commit) {
            cs->commit_want = true;
            cs->next_auto_commit = c->now + c->conf.auto_commit_ms;
        }
        client_wake_at(c, cs->next_auto_commit);
    }
    if (!cs->commit_want || cs->commit_req)
        return;
    size_t n = 0;
    for (size_t i = 0; i < cs->n; i++) {
        struct cpart *p = cs->parts[i];
        n += p->state == CP_ACTIVE && p->pos >= 0 && p->pos != p->committed;
    }
    if (!n) {
        cs->commit_want = false;
        return;
    }
    struct conn *k = grp_coordinator(c);
    if (!k)
        return;
    struct req *rq = req_new(KAFKA_API_OFFSET_COMMIT, on_commit, NULL);
    if (!rq || cons_preqs_init(rq, cs, k, n, true))
        goto fail;
    struct preqs *pr = rq->arg;
    for (size_t i = 0; i < cs->n; i++) {
        struct cpart *p = cs->parts[i];
        if (p->state == CP_ACTIVE && p->pos >= 0 && p->pos != p->committed) {
            pr->off[pr->n] = p->pos;
            pr->p[pr->n++] = p;
        }
    }
    if (fill_commit(c, rq))
        goto fail;
    cs->commit_want = false;
    cs->commit_req = rq;
    conn_send(k, rq);
    return;
fail:
    req_free(rq);
}

static bool commit_done(struct brook_client *c, void *arg)
{
    if (cons_commit_busy(c))
        return false;
    if (cons_all_committed(c))
        return true;
    cons_commit_start(c); /* a failed attempt: go again until the deadline */
    return false;
}

int brook_commit(struct brook_client *c, bool wait, int timeout_ms)
{
    int rc = cons_commit_start(c);
    if (rc || !wait)
        return rc;
    cons_commit_error(c);
    rc = client_wait(c, commit_done, NULL, client_deadline(c, timeout_ms));
    int err = cons_commit_error(c);
    return rc == -ETIMEDOUT && err ? err : rc;
}
