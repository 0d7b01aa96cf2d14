/*
 * group.c - the group coordinator's state machine: Kafka's classic rebalance
 * protocol, without requests, connections or sockets.
 *
 * A group moves Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and
 * back to PreparingRebalance whenever a member joins, leaves, changes its
 * protocols or misses its session timeout. The join phase ends when every known
 * member has rejoined, or when the largest rebalance timeout has passed (members
 * that did not rejoin are removed); then the generation increases, a protocol all
 * members support is chosen by vote (INCONSISTENT_GROUP_PROTOCOL when none is),
 * the leader gets every member's metadata and the followers an empty list. The
 * leader's SyncGroup carries the assignments, which answer every waiting
 * SyncGroup. JoinGroup v4+ from an unknown member is answered with
 * MEMBER_ID_REQUIRED and a fresh member id, as Kafka does.
 *
 * Static members (group.instance.id, KIP-345) keep their place across restarts of
 * the client: a JoinGroup with a known instance id and no member id gives that
 * member a new id, and what the old id waited for is answered FENCED_INSTANCE_ID,
 * as is any later request under the old id that names the instance. In a Stable
 * group this starts no rebalance unless the protocol the group would choose
 * changes; the member gets the current generation and then its assignment from
 * SyncGroup, exactly as Kafka answers it. Only the session timeout (or a
 * LeaveGroup naming the instance) removes a static member.
 *
 * Timers are deadlines, not a sweep: a member expires at last_seen_ms +
 * session_ms, a join phase at its rebalance timeout or initial delay, a handed-out
 * id at its session timeout. gs->next_deadline_ms is a lower bound of them all,
 * lowered whenever a deadline is set and made exact by each run of the timers;
 * the caller keeps one timer armed for it, so everything fires within a
 * millisecond or so of its time whatever the number of groups.
 *
 * The calls take decoded fields and the time (now_ms) and return an error code,
 * or keep the caller's opaque waiter and answer it through struct group_ops when
 * the phase ends. broker/h_groups.c turns requests into these calls and the
 * answers into responses; tests/unit/test_group_coord.c drives the same calls
 * with a clock of its own. A later protocol (KIP-848) can live beside this one on
 * the same groups.
 *
 * Groups are found through a hash map of their ids (start-up rebuilds 100 000 of
 * them in well under a second). Everything a request can multiply is bounded
 * before the answer is built (group.h): the members (group.max.size), the bytes a
 * group holds (GROUP_MAX_BYTES), the protocols of a join, the groups themselves
 * (brook.groups.max), and every response (RESPONSE_MAX_BYTES). Past a
 * bound, the answer is Kafka's error where it has one, or a closed connection.
 *
 * Committed offsets are broker/h_offsets.c's; the types both share are in
 * broker/group.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "broker/group.h"
#include "lib/log.h"

const char *const group_state_names[] = {"Empty", "PreparingRebalance", "CompletingRebalance",
                                         "Stable", "Dead"};

/* ---- small helpers ---- */

/* A deadline was set: the timer must run no later than at. */
static void deadline_note(struct groups *gs, int64_t at)
{
    if (at < gs->next_deadline_ms)
        gs->next_deadline_ms = at;
}

/* m was heard from: its session timeout starts again. */
static void member_seen(struct groups *gs, struct member *m, int64_t now)
{
    m->last_seen_ms = now;
    deadline_note(gs, now + m->session_ms);
}

static void join_answer(struct groups *gs, void *w, const struct group *g, const struct member *m,
                        int16_t err)
{
    struct join_result r = {
        .err = err,
        .leader = g ? g->leader : NULL,
        .members = !err && g && m && g->leader && !strcmp(g->leader, m->id),
    };
    gs->ops->join_done(w, err ? NULL : g, m, &r);
}

/* The bytes of an id as groups are keyed: up to its first NUL, as kdup keeps it. */
static size_t group_key_len(struct kstr id)
{
    return id.len > 0 ? strnlen(id.p, (size_t)id.len) : 0;
}

struct group *group_find(struct groups *gs, struct kstr id)
{
    return hmap_get(&gs->by_id, id.p ? id.p : "", group_key_len(id));
}

bool groups_full(struct groups *gs)
{
    return gs->by_id.n >= (size_t)gs->cfg->groups_max;
}

/* A group id brook keeps: not empty and without NUL bytes (its key is a C string). */
static bool group_id_valid(struct kstr id)
{
    return id.len > 0 && group_key_len(id) == (size_t)id.len;
}

/* Members are found by hash of their member id and of their instance id: a
 * LeaveGroup may name millions of members, each looked up in a group of up to
 * group.max.size. */
struct member *member_find(struct group *g, struct kstr id)
{
    return id.len > 0 ? hmap_get(&g->by_member, id.p, (size_t)id.len) : NULL;
}

static struct member *member_by_instance(struct group *g, struct kstr inst)
{
    return inst.len > 0 ? hmap_get(&g->by_instance, inst.p, (size_t)inst.len) : NULL;
}

static void member_index(struct group *g, struct member *m)
{
    if (hmap_put(&g->by_member, m->id, strlen(m->id), m) ||
        (m->instance_id && hmap_put(&g->by_instance, m->instance_id, strlen(m->instance_id), m)))
        xalloc_fail("hmap", 0);
}

/* Take m out of g's list and maps (not freed). */
static void member_unlink(struct group *g, struct member *m)
{
    for (struct member **pp = &g->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    hmap_del(&g->by_member, m->id, strlen(m->id));
    if (m->instance_id)
        hmap_del(&g->by_instance, m->instance_id, strlen(m->instance_id));
    g->nmembers--;
}

/* Kafka's check of a member a request names: with an instance id, that instance
 * must be known (UNKNOWN_MEMBER_ID) and held by this member id (else it was
 * replaced: FENCED_INSTANCE_ID); then the member id must be known. */
static int16_t member_validate(struct group *g, struct kstr id, struct kstr inst,
                               struct member **out)
{
    *out = NULL;
    if (!kstr_is_null(inst)) {
        struct member *s = member_by_instance(g, inst);
        if (!s)
            return KAFKA_UNKNOWN_MEMBER_ID;
        if (!kstr_eq(id, s->id))
            return KAFKA_FENCED_INSTANCE_ID;
    }
    *out = member_find(g, id);
    return *out ? KAFKA_NONE : KAFKA_UNKNOWN_MEMBER_ID;
}

static char *new_member_id(struct kstr client_id)
{
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != sizeof r)
        abort();
    char buf[400];
    snprintf(buf, sizeof buf,
             "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             client_id.len > 0 ? (client_id.len < 255 ? client_id.len : 255) : 0,
             client_id.p ? client_id.p : "", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
             r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
    return xstrdup(buf);
}

static void protocols_free(struct member *m)
{
    for (int i = 0; i < m->nprotocols; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].meta);
    }
    free(m->protocols);
    m->protocols = NULL;
    m->nprotocols = 0;
}

static void set_protocols(struct member *m, const struct group_join *j)
{
    protocols_free(m);
    m->protocols = xcalloc((size_t)j->nprotocols + 1, sizeof *m->protocols);
    for (int32_t i = 0; i < j->nprotocols; i++) {
        m->protocols[i].name = kdup(j->protocols[i].name);
        int32_t len = j->protocols[i].metadata.len > 0 ? j->protocols[i].metadata.len : 0;
        m->protocols[i].meta = xmemdup(j->protocols[i].metadata.p, (size_t)len);
        m->protocols[i].len = len;
    }
    m->nprotocols = j->nprotocols;
}

static bool supports(const struct member *m, const char *protocol)
{
    for (int i = 0; i < m->nprotocols; i++)
        if (!strcmp(m->protocols[i].name, protocol))
            return true;
    return false;
}

static bool supports_k(const struct member *m, struct kstr protocol)
{
    for (int i = 0; i < m->nprotocols; i++)
        if (kstr_eq(protocol, m->protocols[i].name))
            return true;
    return false;
}

/* Whether a JoinGroup carries exactly the protocols m has. */
static bool same_protocols(const struct member *m, const struct group_join *j)
{
    if (m->nprotocols != j->nprotocols)
        return false;
    for (int i = 0; i < m->nprotocols; i++) {
        const struct kafka_join_group_req_protocol *p = &j->protocols[i];
        int32_t len = p->metadata.len > 0 ? p->metadata.len : 0;
        if (!kstr_eq(p->name, m->protocols[i].name) || len != m->protocols[i].len ||
            (len && memcmp(p->metadata.p, m->protocols[i].meta, (size_t)len)))
            return false;
    }
    return true;
}

const struct protocol *member_protocol(const struct member *m, const char *name)
{
    for (int i = 0; name && i < m->nprotocols; i++)
        if (!strcmp(m->protocols[i].name, name))
            return &m->protocols[i];
    return NULL;
}

/* ---- membership ---- */

static void member_free(struct groups *gs, struct member *m)
{
    if (m->join_wait)
        join_answer(gs, m->join_wait, NULL, NULL, KAFKA_UNKNOWN_MEMBER_ID);
    if (m->sync_wait)
        gs->ops->sync_done(m->sync_wait, NULL, NULL, KAFKA_UNKNOWN_MEMBER_ID);
    protocols_free(m);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

static void prepare_rebalance(struct groups *gs, struct group *g, const char *why, int64_t now);

static void member_remove(struct groups *gs, struct group *g, struct member *m, const char *why,
                          int64_t now)
{
    member_unlink(g, m);
    log_info("brook.group", "group %s: member %s left (%s)", g->id, m->id, why);
    if (g->leader && !strcmp(g->leader, m->id)) {
        free(g->leader);
        g->leader = NULL;
    }
    member_free(gs, m);
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE ||
        g->state == GROUP_PREPARING_REBALANCE)
        prepare_rebalance(gs, g, why, now);
}

static void prepare_rebalance(struct groups *gs, struct group *g, const char *why, int64_t now)
{
    /* members waiting in SyncGroup must rejoin */
    for (struct member *m = g->members; m; m = m->next)
        if (m->sync_wait) {
            void *w = m->sync_wait;
            m->sync_wait = NULL;
            member_seen(gs, m, now);
            gs->ops->sync_done(w, NULL, NULL, KAFKA_REBALANCE_IN_PROGRESS);
        }
    if (g->state != GROUP_PREPARING_REBALANCE) {
        int32_t max = 0;
        for (struct member *m = g->members; m; m = m->next)
            if (m->rebalance_ms > max)
                max = m->rebalance_ms;
        g->join_deadline_ms = now + max;
        g->join_not_before_ms = g->state == GROUP_EMPTY ? now + gs->cfg->group_initial_delay_ms : 0;
        deadline_note(gs, g->join_deadline_ms);
        if (g->join_not_before_ms)
            deadline_note(gs, g->join_not_before_ms);
        log_info("brook.group", "group %s: preparing rebalance (%s)", g->id, why);
    }
    g->state = GROUP_PREPARING_REBALANCE;
}

/* Choose the protocol: each member votes for its first choice among those every
 * member supports. NULL when there is none. The candidates are the first member's
 * protocols that all support; then one pass counts the votes, so the work is
 * members x protocols^2 (protocols <= GROUP_MAX_PROTOCOLS). */
static const char *choose_protocol(struct group *g)
{
    const struct member *first = g->members;
    if (!first || !first->nprotocols)
        return NULL;
    int n = first->nprotocols, *votes = xcalloc((size_t)n, sizeof *votes);
    for (int i = 0; i < n; i++) { /* -1: not supported by every member */
        for (const struct member *m = g->members; m && !votes[i]; m = m->next)
            votes[i] = supports(m, first->protocols[i].name) ? 0 : -1;
    }
    for (const struct member *m = g->members; m; m = m->next)
        for (int k = 0, done = 0; k < m->nprotocols && !done; k++)
            for (int i = 0; i < n && !done; i++)
                if (votes[i] >= 0 && !strcmp(m->protocols[k].name, first->protocols[i].name)) {
                    votes[i]++; /* m's first common choice */
                    done = 1;
                }
    int best = -1;
    for (int i = 0; i < n; i++)
        if (votes[i] >= 0 && (best < 0 || votes[i] > votes[best]))
            best = i;
    free(votes);
    return best < 0 ? NULL : first->protocols[best].name;
}

/* End the join phase if everyone is in (or time is up). */
static void maybe_complete_join(struct groups *gs, struct group *g, int64_t now)
{
    if (g->state != GROUP_PREPARING_REBALANCE || now < g->join_not_before_ms)
        return;
    bool all = true;
    for (struct member *m = g->members; m; m = m->next)
        all = all && m->join_wait;
    if (!all && now < g->join_deadline_ms)
        return;
    for (struct member *m = g->members, *next; m; m = next) { /* time is up for these */
        next = m->next;
        if (!m->join_wait) {
            member_unlink(g, m);
            log_info("brook.group", "group %s: member %s removed (did not rejoin in time)", g->id,
                     m->id);
            member_free(gs, m);
        }
    }
    g->generation++;
    free(g->protocol);
    g->protocol = NULL;
    if (!g->members) {
        g->state = GROUP_EMPTY;
        g->empty_since_ms = now;
        free(g->leader);
        g->leader = NULL;
        return;
    }
    const char *proto = choose_protocol(g);
    g->protocol = proto ? xstrdup(proto) : NULL;
    if (!g->leader || !member_find(g, kstr_from(g->leader))) {
        free(g->leader);
        g->leader = xstrdup(g->members->id);
    }
    g->state = GROUP_COMPLETING_REBALANCE;
    log_info("brook.group", "group %s: generation %d with %d members, protocol %s, leader %s",
             g->id, g->generation, g->nmembers, g->protocol ? g->protocol : "-", g->leader);
    for (struct member *m = g->members; m; m = m->next) {
        void *w = m->join_wait;
        m->join_wait = NULL;
        member_seen(gs, m, now);
        join_answer(gs, w, g, m, KAFKA_NONE);
    }
}

struct group *group_new(struct groups *gs, struct kstr id)
{
    struct group *g = xcalloc(1, sizeof *g);
    g->id = kdup(id);
    g->state = GROUP_EMPTY;
    hmap_init(&g->offsets);
    hmap_init(&g->by_member);
    hmap_init(&g->by_instance);
    if (hmap_put(&gs->by_id, g->id, strlen(g->id), g))
        xalloc_fail("hmap", 0);
    g->next = gs->list;
    if (g->next)
        g->next->prev = g;
    gs->list = g;
    return g;
}

static void group_free(struct groups *gs, struct group *g)
{
    offsets_release(gs, g);
    while (g->members) {
        struct member *m = g->members;
        g->members = m->next;
        member_free(gs, m);
    }
    hmap_release(&g->by_member);
    hmap_release(&g->by_instance);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g);
}

/* Take g out of the list and the map (not freed). */
static void group_unlink(struct groups *gs, struct group *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        gs->list = g->next;
    if (g->next)
        g->next->prev = g->prev;
    hmap_del(&gs->by_id, g->id, strlen(g->id));
}

void group_forget(struct groups *gs, struct group *g)
{
    group_unlink(gs, g);
    group_free(gs, g);
}

void group_drop(struct groups *gs, struct group *g)
{
    log_info("brook.group", "group %s removed: no members and no committed offsets", g->id);
    group_forget(gs, g);
}

/* ---- JoinGroup ---- */

/* What a member holds against GROUP_MAX_BYTES. */
static size_t member_bytes(const struct member *m)
{
    size_t n = strlen(m->id) + (m->instance_id ? strlen(m->instance_id) : 0);
    for (int i = 0; i < m->nprotocols; i++)
        n += strlen(m->protocols[i].name) + (size_t)m->protocols[i].len;
    return n;
}

/* What a JoinGroup would make its member hold (the id not yet chosen: 300 bytes). */
static size_t join_bytes(const struct group_join *j)
{
    size_t n = 300 + (j->instance_id.len > 0 ? (size_t)j->instance_id.len : 0);
    for (int32_t i = 0; i < j->nprotocols; i++)
        n += (size_t)(j->protocols[i].name.len > 0 ? j->protocols[i].name.len : 0) +
             (size_t)(j->protocols[i].metadata.len > 0 ? j->protocols[i].metadata.len : 0);
    return n;
}

/* Whether the group can take this join within GROUP_MAX_BYTES (a rejoining member
 * counts with what it sends now, not with what it had). */
static bool join_fits(const struct group *g, const struct group_join *j)
{
    size_t total = join_bytes(j);
    for (const struct member *m = g ? g->members : NULL; m && total <= GROUP_MAX_BYTES; m = m->next)
        if (!kstr_eq(j->member_id, m->id))
            total += member_bytes(m);
    return total <= GROUP_MAX_BYTES;
}

static int16_t join_check(struct groups *gs, struct group *g, const struct group_join *j)
{
    if (!group_id_valid(j->group_id))
        return KAFKA_INVALID_GROUP_ID;
    /* an instance id is kept as a C string too (Kafka's clients allow only
     * [a-zA-Z0-9._-]); one brook could not keep whole is refused */
    if (!kstr_is_null(j->instance_id) && !group_id_valid(j->instance_id))
        return KAFKA_INVALID_GROUP_ID;
    if (!join_fits(g, j)) {
        log_warn_every("brook.group",
                       "JoinGroup refused: group %.*s would hold more than %u bytes "
                       "of member ids and protocol metadata",
                       (int)(j->group_id.len < 255 ? j->group_id.len : 255), j->group_id.p,
                       GROUP_MAX_BYTES);
        return KAFKA_GROUP_MAX_SIZE_REACHED;
    }
    if (!g && groups_full(gs)) {
        log_warn_every("brook.group", "group %.*s not created: brook.groups.max (%lld) reached",
                       (int)(j->group_id.len < 255 ? j->group_id.len : 255), j->group_id.p,
                       (long long)gs->cfg->groups_max);
        return KAFKA_GROUP_MAX_SIZE_REACHED;
    }
    if (j->session_ms < gs->cfg->group_min_session_ms ||
        j->session_ms > gs->cfg->group_max_session_ms)
        return KAFKA_INVALID_SESSION_TIMEOUT;
    if (j->nprotocols <= 0 || j->protocol_type.len <= 0)
        return KAFKA_INCONSISTENT_GROUP_PROTOCOL;
    if (!g || !g->members)
        return KAFKA_NONE;
    if (!kstr_eq(j->protocol_type, g->protocol_type))
        return KAFKA_INCONSISTENT_GROUP_PROTOCOL;
    for (int32_t i = 0; i < j->nprotocols; i++) { /* one protocol in common with all */
        bool all = true;
        for (struct member *m = g->members; m && all; m = m->next)
            if (!kstr_eq(j->member_id, m->id))
                all = supports_k(m, j->protocols[i].name);
        if (all)
            return KAFKA_NONE;
    }
    return KAFKA_INCONSISTENT_GROUP_PROTOCOL;
}

/* Remember an id handed out with MEMBER_ID_REQUIRED (a member that may join). */
struct pending_id {
    char *id;
    int64_t until_ms;
    struct pending_id *next;
};

static bool take_pending_id(struct groups *gs, struct kstr id)
{
    for (struct pending_id **pp = &gs->pending_ids; *pp; pp = &(*pp)->next)
        if (kstr_eq(id, (*pp)->id)) {
            struct pending_id *x = *pp;
            *pp = x->next;
            free(x->id);
            free(x);
            gs->npending_ids--;
            return true;
        }
    return false;
}

static const char *give_pending_id(struct groups *gs, const struct group_join *j, int64_t now)
{
    struct pending_id *x = xcalloc(1, sizeof *x);
    x->id = new_member_id(j->client_id);
    x->until_ms = now + j->session_ms;
    deadline_note(gs, x->until_ms);
    x->next = gs->pending_ids;
    gs->pending_ids = x;
    gs->npending_ids++;
    return x->id;
}

/* The member a JoinGroup names: its own, a static member coming back, or NULL
 * (a new one, or one with a handed-out id); *err as Kafka checks it otherwise. */
static struct member *join_member(struct groups *gs, struct group *g, const struct group_join *j,
                                  int16_t *err)
{
    struct member *m = NULL;
    if (j->member_id.len <= 0)
        return g ? member_by_instance(g, j->instance_id) : NULL;
    if (take_pending_id(gs, j->member_id)) {
        /* ids are handed out to dynamic members only: one that names an instance
         * another member holds is fenced (Kafka fails such a join too) */
        if (g && member_by_instance(g, j->instance_id))
            *err = KAFKA_FENCED_INSTANCE_ID;
        return NULL;
    }
    *err = g ? member_validate(g, j->member_id, j->instance_id, &m) : KAFKA_UNKNOWN_MEMBER_ID;
    return m;
}

/* Add a new member to g. */
static struct member *join_admit(struct group *g, const struct group_join *j)
{
    struct member *m = xcalloc(1, sizeof *m);
    m->id = j->member_id.len <= 0 ? new_member_id(j->client_id) : kdup(j->member_id);
    m->instance_id = kstr_is_null(j->instance_id) ? NULL : kdup(j->instance_id);
    m->next = g->members;
    g->members = m;
    g->nmembers++;
    member_index(g, m);
    log_info("brook.group", "group %s: member %s joined%s%s", g->id, m->id,
             m->instance_id ? " as static member " : "", m->instance_id ? m->instance_id : "");
    return m;
}

/* What a JoinGroup says of its member beyond the protocols. */
static void join_update(struct groups *gs, struct member *m, const struct group_join *j,
                        int64_t now)
{
    free(m->client_id);
    free(m->client_host);
    m->client_id = kdup(j->client_id);
    m->client_host = xstrdup(j->client_host);
    m->session_ms = j->session_ms;
    m->rebalance_ms = j->rebalance_ms;
    member_seen(gs, m, now);
}

/* Why a rebalance starts, with the client's reason (JoinGroup v8+) when given. */
static void join_why(char *buf, size_t len, const char *what, const struct group_join *j)
{
    if (j->reason.len > 0)
        snprintf(buf, len, "%s; client reason: %.*s", what,
                 j->reason.len < 200 ? j->reason.len : 200, j->reason.p);
    else
        snprintf(buf, len, "%s", what);
}

/* A static member came back (Kafka's replaceStaticMember): m takes a new member
 * id, and the leadership with it; whatever the old id waits for is fenced. */
static void static_member_replace(struct groups *gs, struct group *g, struct member *m,
                                  const struct group_join *j)
{
    if (m->join_wait) {
        void *w = m->join_wait;
        m->join_wait = NULL;
        join_answer(gs, w, NULL, m, KAFKA_FENCED_INSTANCE_ID);
    }
    if (m->sync_wait) {
        void *w = m->sync_wait;
        m->sync_wait = NULL;
        gs->ops->sync_done(w, NULL, NULL, KAFKA_FENCED_INSTANCE_ID);
    }
    char *id = new_member_id(j->client_id);
    log_info("brook.group", "group %s: static member %s came back: member %s replaces %s", g->id,
             m->instance_id, id, m->id);
    if (g->leader && !strcmp(g->leader, m->id)) {
        free(g->leader);
        g->leader = xstrdup(id);
    }
    hmap_del(&g->by_member, m->id, strlen(m->id));
    free(m->id);
    m->id = id;
    member_index(g, m);
}

/* A JoinGroup with no member id and a known instance id. In a Stable group whose
 * chosen protocol stays, it is answered at once with the current generation:
 * before v9 naming the leader as it was before (a returning leader then does not
 * assign, and its SyncGroup gets what it had), from v9 the leader gets the members
 * and skip_assignment (KIP-814). Otherwise the group rebalances, as Kafka does. */
static int16_t join_static_return(struct groups *gs, struct group *g, struct member *m,
                                  const struct group_join *j, void *waiter, int64_t now)
{
    char *was_leader = g->leader ? xstrdup(g->leader) : NULL;
    static_member_replace(gs, g, m, j);
    if (!same_protocols(m, j))
        set_protocols(m, j);
    join_update(gs, m, j, now);
    const char *next = g->state == GROUP_STABLE ? choose_protocol(g) : NULL;
    if (next && g->protocol && !strcmp(next, g->protocol)) {
        bool lead = j->skip_assignment && g->leader && !strcmp(g->leader, m->id);
        struct join_result r = {
            .leader = j->skip_assignment ? g->leader : was_leader,
            .members = lead,
            .skip_assignment = lead,
        };
        log_info("brook.group", "group %s: generation %d goes on without a rebalance", g->id,
                 g->generation);
        gs->ops->join_done(waiter, g, m, &r);
        free(was_leader);
        return KAFKA_NONE;
    }
    free(was_leader);
    char why[300];
    join_why(why, sizeof why,
             g->state == GROUP_STABLE ? "a static member came back with other protocols"
                                      : "a static member came back during the rebalance",
             j);
    m->join_wait = waiter;
    if (g->state != GROUP_PREPARING_REBALANCE)
        prepare_rebalance(gs, g, why, now);
    maybe_complete_join(gs, g, now);
    return KAFKA_NONE;
}

int16_t group_join(struct groups *gs, const struct group_join *j, void *waiter, int64_t now,
                   const char **id)
{
    struct group *g = group_find(gs, j->group_id);
    int16_t err = join_check(gs, g, j);
    bool fresh = j->member_id.len <= 0;
    struct member *m = err ? NULL : join_member(gs, g, j, &err);
    /* KIP-394: hand out an id and let the client join with it; past PENDING_IDS_MAX
     * ids waiting, the member joins at once, as before v4 (the list stays bounded) */
    if (!err && fresh && !m && j->id_required && kstr_is_null(j->instance_id) &&
        gs->npending_ids < PENDING_IDS_MAX) {
        *id = give_pending_id(gs, j, now);
        return KAFKA_MEMBER_ID_REQUIRED;
    }
    if (!err && !m && g && g->nmembers >= gs->cfg->group_max_size)
        err = KAFKA_GROUP_MAX_SIZE_REACHED;
    if (err)
        return err;
    if (!g)
        g = group_new(gs, j->group_id);
    if (fresh && m)
        return join_static_return(gs, g, m, j, waiter, now);
    bool is_new = !m;
    if (is_new)
        m = join_admit(g, j);
    bool unchanged = !is_new && same_protocols(m, j);
    if (!unchanged)
        set_protocols(m, j);
    join_update(gs, m, j, now);
    if (!g->protocol_type)
        g->protocol_type = kdup(j->protocol_type);
    bool leader = g->leader && !strcmp(g->leader, m->id);
    if (unchanged &&
        (g->state == GROUP_COMPLETING_REBALANCE || (g->state == GROUP_STABLE && !leader))) {
        join_answer(gs, waiter, g, m, KAFKA_NONE); /* nothing changed: this generation */
        return KAFKA_NONE;
    }
    if (m->join_wait) { /* a retried JoinGroup replaces the earlier one */
        void *w = m->join_wait;
        m->join_wait = NULL;
        join_answer(gs, w, NULL, m, KAFKA_REBALANCE_IN_PROGRESS);
    }
    m->join_wait = waiter;
    char why[300];
    join_why(why, sizeof why, is_new ? "a member joined" : "a member rejoined", j);
    prepare_rebalance(gs, g, why, now);
    maybe_complete_join(gs, g, now);
    return KAFKA_NONE;
}

/* ---- SyncGroup, Heartbeat, LeaveGroup, OffsetCommit's check ---- */

/* The member a group request names, checking group, member (and instance) and
 * generation as Kafka does, in that order. */
static struct member *check_member(struct groups *gs, struct kstr group, struct kstr member,
                                   struct kstr instance, int32_t generation, int64_t now,
                                   struct group **gp, int16_t *err)
{
    struct group *g = group_find(gs, group);
    struct member *m = NULL;
    *gp = g;
    *err = g ? member_validate(g, member, instance, &m) : KAFKA_UNKNOWN_MEMBER_ID;
    if (!*err && generation != g->generation)
        *err = KAFKA_ILLEGAL_GENERATION;
    if (!*err)
        member_seen(gs, m, now);
    return *err ? NULL : m;
}

/* SyncGroup v5+ names the protocol type and name it expects; either differing
 * from the group's is INCONSISTENT_GROUP_PROTOCOL (null: not checked). */
static bool protocol_differs(struct kstr sent, const char *group_value)
{
    return !kstr_is_null(sent) && group_value && !kstr_eq(sent, group_value);
}

/* The leader's assignments make the generation Stable and answer every waiter. */
static void sync_complete(struct groups *gs, struct group *g, const struct group_sync *s,
                          int64_t now)
{
    for (struct member *x = g->members; x; x = x->next) {
        free(x->assignment);
        x->assignment = NULL;
        x->assignment_len = 0;
    }
    for (int32_t i = 0; i < s->nassignments; i++) {
        struct member *x = member_find(g, s->assignments[i].member_id);
        int32_t len = s->assignments[i].assignment.len;
        if (!x || len <= 0)
            continue;
        free(x->assignment);
        x->assignment = xmemdup(s->assignments[i].assignment.p, (size_t)len);
        x->assignment_len = len;
    }
    g->state = GROUP_STABLE;
    log_info("brook.group", "group %s: generation %d is stable", g->id, g->generation);
    for (struct member *x = g->members; x; x = x->next) {
        member_seen(gs, x, now); /* Kafka starts every session again here */
        if (x->sync_wait) {
            void *w = x->sync_wait;
            x->sync_wait = NULL;
            gs->ops->sync_done(w, g, x, KAFKA_NONE);
        }
    }
}

int group_sync(struct groups *gs, const struct group_sync *s, void *waiter, int64_t now)
{
    struct group *g;
    int16_t err;
    struct member *m =
        check_member(gs, s->group_id, s->member_id, s->instance_id, s->generation, now, &g, &err);
    if (!err && (protocol_differs(s->protocol_type, g->protocol_type) ||
                 protocol_differs(s->protocol, g->protocol)))
        err = KAFKA_INCONSISTENT_GROUP_PROTOCOL;
    if (!err && g->state == GROUP_PREPARING_REBALANCE)
        err = KAFKA_REBALANCE_IN_PROGRESS;
    if (err) {
        gs->ops->sync_done(waiter, NULL, NULL, err);
        return 0;
    }
    if (g->state == GROUP_STABLE) {
        gs->ops->sync_done(waiter, g, m, KAFKA_NONE);
        return 0;
    }
    if (m->sync_wait) {
        void *w = m->sync_wait;
        m->sync_wait = NULL;
        gs->ops->sync_done(w, NULL, NULL, KAFKA_REBALANCE_IN_PROGRESS);
    }
    if (strcmp(g->leader, m->id)) {
        m->sync_wait = waiter;
        return 0; /* a follower waits for the leader's assignments */
    }
    size_t total = 0;
    for (int32_t i = 0; i < s->nassignments; i++)
        total +=
            (size_t)(s->assignments[i].assignment.len > 0 ? s->assignments[i].assignment.len : 0);
    if (total > GROUP_MAX_BYTES)
        return -EMSGSIZE;
    m->sync_wait = waiter;
    sync_complete(gs, g, s, now);
    return 0;
}

int16_t group_heartbeat(struct groups *gs, struct kstr group_id, struct kstr member_id,
                        struct kstr instance_id, int32_t generation, int64_t now)
{
    struct group *g;
    int16_t err;
    (void)check_member(gs, group_id, member_id, instance_id, generation, now, &g, &err);
    if (!err && g->state == GROUP_PREPARING_REBALANCE)
        err = KAFKA_REBALANCE_IN_PROGRESS;
    return err;
}

int16_t group_leave(struct groups *gs, struct kstr group_id, struct kstr member_id,
                    struct kstr instance_id, struct kstr reason, int64_t now)
{
    struct group *g = group_find(gs, group_id);
    struct member *m = NULL;
    if (!g)
        return KAFKA_UNKNOWN_MEMBER_ID;
    if (member_id.len <= 0) { /* an administrator removing a static member */
        m = member_by_instance(g, instance_id);
        if (!m)
            return KAFKA_UNKNOWN_MEMBER_ID;
    } else if (take_pending_id(gs, member_id)) {
        return KAFKA_NONE; /* a member that never joined */
    } else {
        int16_t err = member_validate(g, member_id, instance_id, &m);
        if (err)
            return err;
    }
    char why[300];
    snprintf(why, sizeof why, "LeaveGroup; client reason: %.*s",
             reason.len > 0 ? (reason.len < 200 ? reason.len : 200) : 12,
             reason.len > 0 ? reason.p : "not provided");
    member_remove(gs, g, m, why, now);
    maybe_complete_join(gs, g, now);
    return KAFKA_NONE;
}

int16_t group_commit_allowed(struct group *g, struct kstr member_id, struct kstr instance_id,
                             int32_t generation, int64_t now)
{
    struct member *m = NULL;
    if (generation < 0 && g->state == GROUP_EMPTY)
        return KAFKA_NONE; /* from outside the group (an admin client, a manual consumer) */
    if (generation >= 0 || member_id.len > 0 || !kstr_is_null(instance_id)) {
        int16_t err = member_validate(g, member_id, instance_id, &m);
        if (err)
            return err;
        if (generation != g->generation)
            return KAFKA_ILLEGAL_GENERATION;
    } else if (g->state != GROUP_EMPTY) {
        return KAFKA_UNKNOWN_MEMBER_ID;
    }
    /* the member has its generation but not yet its assignment */
    if (g->state == GROUP_COMPLETING_REBALANCE)
        return KAFKA_REBALANCE_IN_PROGRESS;
    if (m)
        m->last_seen_ms = now; /* later than before: no deadline moves earlier */
    return KAFKA_NONE;
}

/* ---- timers ---- */

static void pending_ids_expire(struct groups *gs, int64_t now)
{
    for (struct pending_id **pp = &gs->pending_ids; *pp;) {
        if ((*pp)->until_ms <= now) {
            struct pending_id *x = *pp;
            *pp = x->next;
            free(x->id);
            free(x);
            gs->npending_ids--;
        } else {
            pp = &(*pp)->next;
        }
    }
}

/* When g's join phase can next end: at the initial delay once everyone is in,
 * else when the delay and the rebalance timeout have both passed. */
static int64_t join_phase_deadline(const struct group *g)
{
    bool all = true;
    for (const struct member *m = g->members; m && all; m = m->next)
        all = m->join_wait != NULL;
    if (all)
        return g->join_not_before_ms;
    return g->join_deadline_ms > g->join_not_before_ms ? g->join_deadline_ms
                                                       : g->join_not_before_ms;
}

/* The exact next deadline, once everything due has run. Members waiting in
 * JoinGroup or SyncGroup have no session deadline: the wait keeps them. */
static int64_t next_deadline_scan(const struct groups *gs)
{
    int64_t next = INT64_MAX;
    for (const struct pending_id *x = gs->pending_ids; x; x = x->next)
        next = x->until_ms < next ? x->until_ms : next;
    for (const struct group *g = gs->list; g; g = g->next) {
        if (g->state == GROUP_PREPARING_REBALANCE) {
            int64_t at = join_phase_deadline(g);
            next = at < next ? at : next;
        }
        for (const struct member *m = g->members; m; m = m->next)
            if (!m->join_wait && !m->sync_wait && m->last_seen_ms + m->session_ms < next)
                next = m->last_seen_ms + m->session_ms;
    }
    return next;
}

void groups_expire_members(struct groups *gs, int64_t now)
{
    pending_ids_expire(gs, now);
    for (struct group *g = gs->list; g; g = g->next) {
        for (struct member *m = g->members, *next; m; m = next) {
            next = m->next;
            if (!m->join_wait && !m->sync_wait && now >= m->last_seen_ms + m->session_ms)
                member_remove(gs, g, m, "session timeout", now);
        }
        maybe_complete_join(gs, g, now);
    }
    gs->next_deadline_ms = next_deadline_scan(gs);
}

int64_t groups_next_deadline(const struct groups *gs)
{
    return gs->next_deadline_ms;
}

/* ---- listing every type of group ---- */

void groups_set_other_kind(struct groups *gs, const struct group_kind *kind, void *ctx)
{
    gs->other = kind;
    gs->other_ctx = ctx;
}

size_t groups_count(const struct groups *gs)
{
    return gs->by_id.n + (gs->other ? gs->other->count(gs->other_ctx) : 0);
}

void groups_list(struct groups *gs, group_listing_fn fn, void *arg)
{
    for (const struct group *g = gs->list; g; g = g->next) {
        struct group_listing l = {
            .id = g->id,
            .type = "classic",
            .state = group_state_names[g->state],
            .protocol_type = g->protocol_type ? g->protocol_type : "",
        };
        fn(arg, &l);
    }
    if (gs->other)
        gs->other->foreach (gs->other_ctx, fn, arg);
}

/* ---- start and end ---- */

void groups_init(struct groups *gs, const struct broker_config *cfg, const struct group_ops *ops)
{
    memset(gs, 0, sizeof *gs);
    gs->cfg = cfg;
    gs->ops = ops;
    hmap_init(&gs->by_id);
    gs->next_deadline_ms = INT64_MAX;
}

void groups_release(struct groups *gs)
{
    while (gs->list) {
        struct group *g = gs->list;
        gs->list = g->next;
        group_free(gs, g);
    }
    hmap_release(&gs->by_id);
    while (gs->pending_ids) {
        struct pending_id *x = gs->pending_ids;
        gs->pending_ids = x->next;
        free(x->id);
        free(x);
    }
    gs->npending_ids = 0;
}
