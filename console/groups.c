/*
 * groups.c - consumer groups in the console's API: GET /api/v1/groups,
 * GET /api/v1/groups/G (state, members with their assignments, and committed
 * offset, end offset and lag per partition) and POST /api/v1/groups/G/offsets
 * (reset committed offsets while the group is empty - or, with dry_run, answer
 * what they would become: the preview the page shows before it applies).
 *
 * The group coordinator is read through the console's environment only (env.groups_*).
 * Lag is the partition's end offset minus the committed offset, never below 0,
 * as Kafka's tools show it. A partition a member is assigned but never committed
 * has no lag anyone can know (its consumer starts wherever auto.offset.reset says),
 * so it is null with a reason, and a group's total is null too: lag_known is the
 * sum of the partitions that have one and lag_unknown counts the others, so a
 * page never shows 0 for records nobody has read. Assignments are decoded from
 * the consumer protocol's bytes (version, [topic, [partition]], user data) with a
 * bounded reader: counts in them are trusted only as far as the bytes go.
 *
 * A reset is written to __consumer_offsets like an OffsetCommit from outside a
 * generation, and answered once that record is durable. The offsets it goes to
 * are found on the admin thread first (console_offload): a reset by time searches
 * the index of up to MAX_RESET_PARTS partitions. The targets are Kafka's
 * (kafka-consumer-groups --reset-offsets): earliest, latest, an offset, a time
 * (the syntax of brook consume -o @TIME, lib/when.h), or shifted by N from the
 * committed offset; each is kept between the log start and the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/private.h"
#include "lib/clock.h"
#include "lib/reader.h"
#include "lib/when.h"
#include "lib/xalloc.h"
#include "proto/kafka_errors.h"

#define MAX_RESET_PARTS 4096

/* ---- consumer groups ---- */

/* The end offset of topic/partition, or -1 when the topic or partition is gone. */
static int64_t end_of(const struct console_env *env, const char *topic, int32_t part)
{
    struct store_topic *t = store_topic_get(env->store, topic);
    struct store_partition *p = t ? store_topic_partition(t, part) : NULL;
    int64_t end = p ? store_partition_high_watermark(p) : -1;
    store_topic_put(t);
    return end;
}

/* Lag of a committed offset: the end minus it, never below 0; -1 if the partition is gone. */
static int64_t lag_of(int64_t end, int64_t committed)
{
    return end < 0 ? -1 : end > committed ? end - committed : 0;
}

struct groups_acc {
    const struct console_env *env;
    json_t *by_id;         /* group id -> its JSON object */
    json_t *assigned;      /* group id -> {"topic/partition": true} not (yet) seen committed */
    const struct creq *cr; /* who asks: groups and topics it may not describe are left out */
};

static json_t *assignment_json(const uint8_t *p, int32_t len);

/* Why a partition's lag is unknown, for the page to show beside the null. */
#define LAG_NO_COMMIT "no committed offset: the consumer starts where auto.offset.reset says"
#define LAG_GONE      "the partition no longer exists"

static void part_key(char *key, size_t size, const char *topic, int32_t part)
{
    snprintf(key, size, "%s/%010d", topic, part);
}

/* Lag totals of one group: the total only when every partition has a lag. */
static void lag_totals(json_t *o, int64_t known, int64_t unknown)
{
    json_object_set_new(o, "lag", unknown ? json_null() : json_integer(known));
    json_object_set_new(o, "lag_known", json_integer(known));
    json_object_set_new(o, "lag_unknown", json_integer(unknown));
}

struct assigned_acc {
    const struct creq *cr;
    json_t *set;
};

static void assigned_member(void *arg, const struct console_member_info *m)
{
    struct assigned_acc *acc = arg;
    json_t *arr = assignment_json(m->assignment, m->assignment_len), *a, *part;
    size_t i, k;
    json_array_foreach(arr, i, a)
    {
        const char *topic = json_string_value(json_object_get(a, "topic"));
        if (!topic || !console_may(acc->cr, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, topic))
            continue;
        json_array_foreach(json_object_get(a, "partitions"), k, part)
        {
            char key[300];
            part_key(key, sizeof key, topic, (int32_t)json_integer_value(part));
            json_object_set_new(acc->set, key, json_true());
        }
    }
    json_decref(arr);
}

/* Add topic to a group's list of topics once. */
static void add_topic(json_t *topics, const char *topic, size_t len)
{
    size_t i;
    json_t *x;
    json_array_foreach(topics, i, x)
    {
        const char *name = json_string_value(x);
        if (strlen(name) == len && !strncmp(name, topic, len))
            return;
    }
    json_array_append_new(topics, json_stringn(topic, len));
}

static void list_group(void *arg, const struct console_group_info *g)
{
    struct groups_acc *acc = arg;
    if (!console_may(acc->cr, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, g->id))
        return;
    json_t *o = json_object();
    json_object_set_new(o, "group", console_str(g->id));
    json_object_set_new(o, "state", console_str(g->state));
    json_object_set_new(o, "protocol_type", console_str(g->protocol_type));
    json_object_set_new(o, "type", console_str(g->type));
    json_object_set_new(o, "protocol", console_str(g->protocol));
    json_object_set_new(o, "members", json_integer(g->nmembers));
    lag_totals(o, 0, 0);
    json_object_set_new(o, "topics", json_array());
    json_object_set_new(acc->by_id, g->id, o);
    if (g->nmembers > 0) { /* its assignments, to find partitions without a commit */
        struct console_group_info info;
        struct assigned_acc aa = {acc->cr, json_object()};
        const char *key;
        json_t *v;
        acc->env->groups_describe(acc->env->ctx, g->id, &info, assigned_member, &aa);
        json_object_foreach(aa.set, key, v) /* "topic/0000000003": a topic it reads */
            add_topic(json_object_get(o, "topics"), key, strrchr(key, '/') - key);
        json_object_set_new(acc->assigned, g->id, aa.set);
    }
}

static void list_offset(void *arg, const char *group, const char *topic, int32_t part,
                        int64_t offset, const char *meta, int64_t when)
{
    struct groups_acc *acc = arg;
    json_t *o = json_object_get(acc->by_id, group), *topics;
    if (!o || !console_may(acc->cr, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, topic))
        return;
    int64_t lag = lag_of(end_of(acc->env, topic, part), offset);
    int64_t known = json_integer_value(json_object_get(o, "lag_known"));
    int64_t unknown = json_integer_value(json_object_get(o, "lag_unknown"));
    char key[300];
    part_key(key, sizeof key, topic, part);
    json_object_del(json_object_get(acc->assigned, group), key);
    lag_totals(o, known + (lag > 0 ? lag : 0), unknown + (lag < 0));
    topics = json_object_get(o, "topics");
    add_topic(topics, topic, strlen(topic));
}

void api_groups(struct creq *cr)
{
    struct groups_acc acc = {&cr->con->env, json_object(), json_object(), cr};
    acc.env->groups_foreach(acc.env->ctx, list_group, &acc);
    acc.env->groups_foreach_offset(acc.env->ctx, NULL, list_offset, &acc);
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(acc.by_id, k, v)
    {
        size_t missing = json_object_size(json_object_get(acc.assigned, k));
        if (missing) /* assigned, never committed */
            lag_totals(v, json_integer_value(json_object_get(v, "lag_known")),
                       json_integer_value(json_object_get(v, "lag_unknown")) + (int64_t)missing);
        json_array_append(arr, v);
    }
    json_decref(acc.by_id);
    json_decref(acc.assigned);
    json_t *o = json_object();
    json_object_set_new(o, "groups", arr);
    console_reply_json(cr->req, 200, o);
}

/* The consumer protocol's assignment: version, [topic, [partition]], user data.
 * Counts are only trusted as far as the bytes go. */
static json_t *assignment_json(const uint8_t *p, int32_t len)
{
    json_t *arr = json_array();
    struct reader r;
    reader_init(&r, p, len > 0 ? (size_t)len : 0);
    if (len < 6)
        return arr;
    (void)reader_be16(&r);
    int32_t ntopics = (int32_t)reader_be32(&r);
    for (int32_t i = 0; i < ntopics && reader_ok(&r); i++) {
        uint16_t tl = reader_be16(&r);
        const uint8_t *name = reader_bytes(&r, tl);
        int32_t nparts = (int32_t)reader_be32(&r);
        json_t *parts = json_array();
        for (int32_t k = 0; k < nparts && reader_ok(&r); k++) {
            int32_t part = (int32_t)reader_be32(&r);
            if (reader_ok(&r))
                json_array_append_new(parts, json_integer(part));
        }
        json_t *o = json_object();
        json_t *n = name ? json_stringn((const char *)name, tl) : NULL;
        json_object_set_new(o, "topic", n ? n : console_str("?"));
        json_object_set_new(o, "partitions", parts);
        if (reader_ok(&r))
            json_array_append_new(arr, o);
        else
            json_decref(o);
    }
    return arr;
}

struct group_acc {
    const struct console_env *env;
    json_t *members;
    json_t *rows; /* "topic/partition" -> offset row */
    int64_t lag;
    const struct creq *cr; /* who asks: offsets of topics it may not describe are left out */
};

static void member_row(void *arg, const struct console_member_info *m)
{
    struct group_acc *acc = arg;
    json_t *o = json_object();
    json_object_set_new(o, "member_id", console_str(m->id));
    json_object_set_new(o, "instance_id",
                        m->instance_id ? console_str(m->instance_id) : json_null());
    json_object_set_new(o, "client_id", console_str(m->client_id));
    json_object_set_new(o, "client_host", console_str(m->client_host));
    json_object_set_new(o, "assignment", assignment_json(m->assignment, m->assignment_len));
    json_array_append_new(acc->members, o);
}

static json_t *offset_row(struct group_acc *acc, const char *topic, int32_t part)
{
    char key[300];
    part_key(key, sizeof key, topic, part);
    json_t *o = json_object_get(acc->rows, key);
    if (o)
        return o;
    int64_t end = end_of(acc->env, topic, part);
    o = json_object();
    json_object_set_new(o, "topic", console_str(topic));
    json_object_set_new(o, "partition", json_integer(part));
    json_object_set_new(o, "committed", json_null());
    json_object_set_new(o, "end_offset", end >= 0 ? json_integer(end) : json_null());
    json_object_set_new(o, "lag", json_null());
    json_object_set_new(o, "lag_unknown_reason", console_str(end >= 0 ? LAG_NO_COMMIT : LAG_GONE));
    json_object_set_new(o, "member_id", json_null());
    json_object_set_new(acc->rows, key, o);
    return o;
}

static void committed_row(void *arg, const char *group, const char *topic, int32_t part,
                          int64_t offset, const char *meta, int64_t when)
{
    struct group_acc *acc = arg;
    if (!console_may(acc->cr, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, topic))
        return; /* as OffsetFetch leaves them out */
    json_t *o = offset_row(acc, topic, part);
    int64_t lag = lag_of(end_of(acc->env, topic, part), offset);
    json_object_set_new(o, "committed", json_integer(offset));
    json_object_set_new(o, "lag", lag >= 0 ? json_integer(lag) : json_null());
    if (lag >= 0)
        json_object_del(o, "lag_unknown_reason");
    json_object_set_new(o, "metadata", console_str(meta));
    json_object_set_new(o, "commit_ms", json_integer(when));
    acc->lag += lag > 0 ? lag : 0;
}

/* Assigned partitions without a commit get a row too, and rows name their member. */
static void assigned_rows(struct group_acc *acc)
{
    size_t i, k, x;
    json_t *m, *a, *part;
    json_array_foreach(acc->members, i, m)
    {
        json_array_foreach(json_object_get(m, "assignment"), k, a)
        {
            const char *topic = json_string_value(json_object_get(a, "topic"));
            if (!topic || !console_may(acc->cr, AUTH_OP_DESCRIBE, AUTH_RES_TOPIC, topic))
                continue;
            json_array_foreach(json_object_get(a, "partitions"), x, part)
            {
                json_t *row = offset_row(acc, topic, (int32_t)json_integer_value(part));
                json_object_set(row, "member_id", json_object_get(m, "member_id"));
            }
        }
    }
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The rows by topic, then partition (their keys sort that way). */
static json_t *sorted_rows(json_t *rows)
{
    size_t n = json_object_size(rows), i = 0;
    const char **keys = xcalloc(n + 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach(rows, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, key_cmp);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append(arr, json_object_get(rows, keys[i]));
    free(keys);
    return arr;
}

void api_group(struct creq *cr)
{
    struct console_group_info g;
    struct group_acc acc = {&cr->con->env, json_array(), json_object(), 0, cr};
    if (!console_require(cr, AUTH_OP_DESCRIBE, AUTH_RES_GROUP, cr->seg[3]))
        goto out;
    if (acc.env->groups_describe(acc.env->ctx, cr->seg[3], &g, member_row, &acc)) {
        console_reply_error(cr->req, 404, "unknown group %s", cr->seg[3]);
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "group", console_str(g.id));
    json_object_set_new(o, "state", console_str(g.state));
    json_object_set_new(o, "protocol_type", console_str(g.protocol_type));
    json_object_set_new(o, "type", console_str(g.type));
    json_object_set_new(o, "protocol", console_str(g.protocol));
    json_object_set_new(o, "generation", json_integer(g.generation));
    json_object_set_new(o, "leader", console_str(g.leader));
    acc.env->groups_foreach_offset(acc.env->ctx, cr->seg[3], committed_row, &acc);
    assigned_rows(&acc);
    json_object_set(o, "members", acc.members);
    json_t *rows = sorted_rows(acc.rows), *row;
    int64_t unknown = 0;
    size_t i;
    json_array_foreach(rows, i, row) unknown += json_is_null(json_object_get(row, "lag"));
    json_object_set_new(o, "offsets", rows);
    lag_totals(o, acc.lag, unknown);
    console_reply_json(cr->req, 200, o);
out:
    json_decref(acc.members);
    json_decref(acc.rows);
}

/* ---- offset reset ---- */

/* Where a reset goes, as the body says (body.to and its argument). */
enum reset_to { RESET_EARLIEST, RESET_LATEST, RESET_OFFSET, RESET_TIMESTAMP, RESET_SHIFT };
struct reset_spec {
    enum reset_to to;
    int64_t arg; /* the offset, the timestamp, or the shift */
};

/* A reset between its two halves: the targets are found on the admin thread (a
 * search by time reads every partition's index), then the loop thread commits -
 * or, for a preview (dry_run), only answers what it would commit. */
struct reset_job {
    struct evhttp_request *req;
    char group[256];
    struct store_topic *t; /* a reference */
    struct reset_spec spec;
    bool dry_run;
    int32_t *parts;
    int64_t *cur;  /* the committed offsets now (NO_COMMIT: none) */
    int64_t *want; /* an offset the body gave the partition (NO_COMMIT: none) */
    int64_t *offs; /* where they go */
    int64_t *ends; /* the partitions' end offsets */
    int n;
};

#define NO_COMMIT INT64_MIN

static void reset_job_free(struct reset_job *j)
{
    store_topic_put(j->t);
    free(j->parts);
    free(j->cur);
    free(j->want);
    free(j->offs);
    free(j->ends);
    free(j);
}

/* Each partition's committed offset, new offset, end offset and the lag after. */
static json_t *reset_rows(const struct reset_job *j)
{
    json_t *arr = json_array();
    for (int i = 0; i < j->n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "partition", json_integer(j->parts[i]));
        json_object_set_new(o, "committed",
                            j->cur[i] == NO_COMMIT ? json_null() : json_integer(j->cur[i]));
        json_object_set_new(o, "offset", json_integer(j->offs[i]));
        json_object_set_new(o, "end_offset", json_integer(j->ends[i]));
        json_object_set_new(o, "lag", json_integer(lag_of(j->ends[i], j->offs[i])));
        json_array_append_new(arr, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "group", console_str(j->group));
    json_object_set_new(o, "topic", console_str(store_topic_name(j->t)));
    json_object_set_new(o, "dry_run", json_boolean(j->dry_run));
    json_object_set_new(o, "offsets", arr);
    return o;
}

/* One entry of body.partitions: a partition, or {"partition": P, "offset": O} (an
 * offset of its own - what the page sends to apply exactly what it previewed). */
static bool reset_entry(json_t *x, int32_t nparts, int32_t *part, int64_t *want)
{
    json_t *p = json_is_object(x) ? json_object_get(x, "partition") : x;
    json_t *o = json_is_object(x) ? json_object_get(x, "offset") : NULL;
    *want = NO_COMMIT;
    if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) >= nparts)
        return false;
    if (o && (!json_is_integer(o) || json_integer_value(o) < 0))
        return false;
    *part = (int32_t)json_integer_value(p);
    if (o)
        *want = json_integer_value(o);
    return true;
}

/* The partitions to reset into j: body.partitions, or all. 0 or -EINVAL after
 * answering. */
static int reset_partitions(struct creq *cr, json_t *body, int32_t nparts, struct reset_job *j)
{
    json_t *ps = json_object_get(body, "partitions");
    size_t count = ps ? json_array_size(ps) : (size_t)nparts, i;
    if ((ps && (!json_is_array(ps) || !count)) || count > MAX_RESET_PARTS) {
        console_reply_error(cr->req, 400, "partitions must be a non-empty array of partitions");
        return -EINVAL;
    }
    j->parts = xcalloc(count, sizeof *j->parts);
    j->want = xcalloc(count, sizeof *j->want);
    j->n = (int)count;
    for (i = 0; i < count; i++) {
        j->parts[i] = (int32_t)i;
        j->want[i] = NO_COMMIT;
        if (ps && !reset_entry(json_array_get(ps, i), nparts, &j->parts[i], &j->want[i])) {
            console_reply_error(cr->req, 400,
                                "partitions[%zu] is not a partition of the topic (or "
                                "{partition, offset} with an offset of 0 or more)",
                                i);
            return -EINVAL;
        }
    }
    return 0;
}

/* Offsets given per partition go with to=offset, which then needs no offset of
 * its own when every partition has one. */
static bool reset_wants_all(const struct reset_job *j)
{
    for (int i = 0; i < j->n; i++)
        if (j->want[i] == NO_COMMIT)
            return false;
    return true;
}

/* body.time: "@" (optional) and the syntax of brook consume -o @TIME. */
static int reset_time(json_t *body, int64_t *out)
{
    const char *s = json_string_value(json_object_get(body, "time"));
    json_t *ts = json_object_get(body, "timestamp");
    if (!s)
        return json_is_integer(ts) && (*out = json_integer_value(ts)) >= 0 ? 0 : -EINVAL;
    return when_parse(s + (*s == '@'), clock_wall_ms(), out) || *out < 0 ? -EINVAL : 0;
}

/* Read body.to; -EINVAL after answering 400. */
static int reset_spec(struct creq *cr, json_t *body, const struct reset_job *j,
                      struct reset_spec *out)
{
    const char *to = json_string_value(json_object_get(body, "to"));
    json_t *off = json_object_get(body, "offset"), *by = json_object_get(body, "by");
    int64_t ts;
    if (to && !strcmp(to, "earliest"))
        *out = (struct reset_spec){RESET_EARLIEST, 0};
    else if (to && !strcmp(to, "latest"))
        *out = (struct reset_spec){RESET_LATEST, 0};
    else if (to && !strcmp(to, "offset") && json_is_integer(off) && json_integer_value(off) >= 0)
        *out = (struct reset_spec){RESET_OFFSET, json_integer_value(off)};
    else if (to && !strcmp(to, "offset") && !off && reset_wants_all(j))
        *out = (struct reset_spec){RESET_OFFSET, 0}; /* each partition's own */
    else if (to && !strcmp(to, "timestamp") && !reset_time(body, &ts))
        *out = (struct reset_spec){RESET_TIMESTAMP, ts};
    else if (to && !strcmp(to, "shift") && json_is_integer(by))
        *out = (struct reset_spec){RESET_SHIFT, json_integer_value(by)};
    else {
        console_reply_error(cr->req, 400,
                            "to must be earliest, latest, offset (with offset), timestamp (with "
                            "timestamp in ms or time as brook consume -o @TIME takes it: "
                            "2024-05-01T12:00:00Z, -15m, ms since the epoch) or shift (with by)");
        return -EINVAL;
    }
    for (int i = 0; i < j->n; i++)
        if (j->want[i] != NO_COMMIT && out->to != RESET_OFFSET) {
            console_reply_error(cr->req, 400, "offsets per partition go with to=offset");
            return -EINVAL;
        }
    return 0;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The offset partition p is reset to from cur (a search by time reads the log). */
static int64_t reset_target(const struct reset_spec *sp, struct store_partition *p, int64_t cur)
{
    int64_t ls = store_partition_log_start(p), hw = store_partition_high_watermark(p), o, t;
    switch (sp->to) {
    case RESET_EARLIEST: return ls;
    case RESET_LATEST: return hw;
    case RESET_OFFSET: return clamp(sp->arg, ls, hw);
    case RESET_TIMESTAMP: return store_partition_offset_for_time(p, sp->arg, &o, &t) ? hw : o;
    case RESET_SHIFT: /* as Kafka's --shift-by: from the commit, kept within the log */
        return clamp(sp->arg > 0 && cur > INT64_MAX - sp->arg       ? INT64_MAX
                     : sp->arg < 0 && cur < INT64_MIN + 1 - sp->arg ? ls
                                                                    : cur + sp->arg,
                     ls, hw);
    }
    return hw;
}

/* The group must be Empty or unknown (Dead), as Kafka's tools require; answers 409
 * NON_EMPTY_GROUP if it is not. */
static int reset_check_group(struct creq *cr, const char *group)
{
    struct console_group_info g;
    if (!*group || strlen(group) > 255) {
        console_reply_error(cr->req, 400, "invalid group id");
        return -EINVAL;
    }
    if (!cr->con->env.groups_describe(cr->con->env.ctx, group, &g, NULL, NULL) &&
        (g.nmembers || strcmp(g.state, "Empty"))) {
        char why[400];
        snprintf(why, sizeof why, "group %s is %s with %d members: stop its consumers first", group,
                 g.state, g.nmembers);
        console_reply_kafka(cr->req, KAFKA_NON_EMPTY_GROUP, why);
        return -EBUSY;
    }
    return 0;
}

struct commit_find {
    struct reset_job *j;
    const char *topic;
};

static void commit_found(void *arg, const char *group, const char *topic, int32_t part,
                         int64_t offset, const char *meta, int64_t when)
{
    struct commit_find *f = arg;
    for (int i = 0; i < f->j->n && !strcmp(topic, f->topic); i++)
        if (f->j->parts[i] == part)
            f->j->cur[i] = offset;
}

/* The committed offsets now; a shift needs one for every partition (Kafka refuses
 * to shift from nothing). 0, or -EINVAL after answering 400. */
static int reset_current(struct creq *cr, struct reset_job *j)
{
    struct commit_find f = {j, store_topic_name(j->t)};
    j->cur = xcalloc((size_t)j->n, sizeof *j->cur);
    for (int i = 0; i < j->n; i++)
        j->cur[i] = NO_COMMIT;
    cr->con->env.groups_foreach_offset(cr->con->env.ctx, j->group, commit_found, &f);
    for (int i = 0; i < j->n && j->spec.to == RESET_SHIFT; i++)
        if (j->cur[i] == NO_COMMIT) {
            console_reply_error(cr->req, 400,
                                "partition %d has no committed offset to shift from: reset it to "
                                "an offset or a time first",
                                j->parts[i]);
            return -EINVAL;
        }
    return 0;
}

static void reset_apply(struct console *con, struct reset_job *j)
{
    struct console_answer *rw = console_answer_new(j->req, reset_rows(j), "the offsets");
    struct console_wait *w = console_wait_new(con, console_answer_durable, rw);
    int rc = con->env.groups_reset_offsets(con->env.ctx, j->group, store_topic_name(j->t), j->parts,
                                           j->offs, j->n, console_wait_durable, w);
    if (rc == 0)
        return; /* answered when durable */
    console_wait_cancel(w);
    if (rc == 1) {
        console_answer_durable(con, rw, 0);
        return;
    }
    console_answer_drop(rw);
    if (rc == -EBUSY)
        console_reply_kafka(j->req, KAFKA_NON_EMPTY_GROUP,
                            "the group has members: stop its consumers first");
    else
        console_reply_error(j->req, rc == -EINVAL ? 400 : 500, "cannot reset offsets: %s",
                            store_strerror(rc));
}

/* Admin thread. */
static int reset_work(void *arg)
{
    struct reset_job *j = arg;
    for (int i = 0; i < j->n; i++) {
        struct store_partition *p = store_topic_partition(j->t, j->parts[i]);
        if (!p) /* the store could not open it: reset nothing */
            return -EIO;
        struct reset_spec own = {RESET_OFFSET, j->want[i]};
        j->offs[i] = reset_target(j->want[i] != NO_COMMIT ? &own : &j->spec, p, j->cur[i]);
        j->ends[i] = store_partition_high_watermark(p);
    }
    return 0;
}

/* Loop thread. */
static void reset_found(struct console *con, void *arg, int rc)
{
    struct reset_job *j = arg;
    if (rc == -ECANCELED)
        console_reply_error(j->req, 503, "the broker is shutting down");
    else if (rc)
        console_reply_error(j->req, 503, "a partition cannot be opened");
    else if (j->dry_run)
        console_reply_json(j->req, 200, reset_rows(j));
    else
        reset_apply(con, j);
    reset_job_free(j);
}

void api_group_reset(struct creq *cr)
{
    json_t *body = NULL;
    struct reset_job *j = xcalloc(1, sizeof *j);
    /* as OffsetCommit: Read on the group, then on the topic (api_topic_ref) */
    if (!console_require(cr, AUTH_OP_READ, AUTH_RES_GROUP, cr->seg[3]) ||
        reset_check_group(cr, cr->seg[3]) || console_body(cr, &body))
        goto out;
    const char *topic = json_string_value(json_object_get(body, "topic"));
    if (!topic) {
        console_reply_error(cr->req, 400, "topic must be a topic name");
        goto out;
    }
    snprintf(j->group, sizeof j->group, "%s", cr->seg[3]);
    if (!(j->t = api_topic_ref(cr, topic, AUTH_OP_READ)) ||
        reset_partitions(cr, body, store_topic_partition_count(j->t), j) ||
        reset_spec(cr, body, j, &j->spec) || reset_current(cr, j))
        goto out;
    j->offs = xcalloc((size_t)j->n, sizeof *j->offs);
    j->ends = xcalloc((size_t)j->n, sizeof *j->ends);
    j->dry_run = json_is_true(json_object_get(body, "dry_run"));
    j->req = cr->req;
    console_offload(cr->con, reset_work, reset_found, j);
    j = NULL;
out:
    if (j)
        reset_job_free(j);
    json_decref(body);
}
