/*
 * group.c - brook group list|describe|seek|delete.
 *
 * describe prints one row per committed partition with its lag and the member
 * that holds it, as kafka-consumer-groups.sh does; seek moves the offsets of a
 * group that has no members, resolving the offset specification per partition.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"

/* ---- groups ---- */

static int group_list(struct brook_client *c, const struct globals *g)
{
    struct brook_group_list *l;
    int rc = brook_groups_list(c, g->timeout_ms, &l);
    if (rc)
        return cli_fail("cannot list groups: %s", brook_strerror(rc));
    static const char *const head[] = {"GROUP", "STATE", "MEMBERS", "TYPE"};
    struct table t = {4, head, NULL, 0, 0};
    for (size_t i = 0; i < l->n_groups; i++) {
        struct brook_group_info *gi = NULL;
        brook_group_describe(c, l->groups[i].group_id, g->timeout_ms, &gi);
        table_cell(&t, "%s", l->groups[i].group_id);
        table_cell(&t, "%s", gi ? gi->state : "?");
        table_cell(&t, "%zu", gi ? gi->n_members : 0);
        table_cell(&t, "%s", l->groups[i].group_type);
        brook_group_info_free(gi);
    }
    table_print(&t);
    brook_group_list_free(l);
    return 0;
}

static const struct brook_member_info *member_of(const struct brook_group_info *gi, const char *id)
{
    for (size_t i = 0; id && i < gi->n_members; i++)
        if (!strcmp(gi->members[i].member_id, id))
            return &gi->members[i];
    return NULL;
}

static void describe_rows(struct table *t, const struct brook_group_info *gi)
{
    for (size_t i = 0; i < gi->n_offsets; i++) {
        const struct brook_group_offset *o = &gi->offsets[i];
        const struct brook_member_info *m = member_of(gi, o->member_id);
        table_cell(t, "%s", gi->group_id);
        table_cell(t, "%s", o->topic);
        table_cell(t, "%d", o->partition);
        if (o->committed >= 0)
            table_cell(t, "%" PRId64, o->committed);
        else
            table_cell(t, "-");
        if (o->log_end >= 0)
            table_cell(t, "%" PRId64, o->log_end);
        else
            table_cell(t, "-");
        if (o->lag >= 0)
            table_cell(t, "%" PRId64, o->lag);
        else
            table_cell(t, "-");
        table_cell(t, "%s", m ? m->member_id : "-");
        table_cell(t, "%s", m ? m->client_host : "-");
        table_cell(t, "%s", m ? m->client_id : "-");
    }
}

static int group_describe(struct brook_client *c, const struct globals *g, char **groups, size_t n)
{
    static const char *const head[] = {"GROUP",          "TOPIC",          "PARTITION",
                                       "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                       "CONSUMER-ID",    "HOST",           "CLIENT-ID"};
    struct table t = {9, head, NULL, 0, 0};
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        struct brook_group_info *gi;
        int rc = brook_group_describe(c, groups[i], g->timeout_ms, &gi);
        if (rc) {
            status = cli_fail("cannot describe group '%s': %s", groups[i], brook_strerror(rc));
            continue;
        }
        if (!strcmp(gi->state, "Dead") && !gi->n_offsets)
            status = cli_fail("group '%s' does not exist", groups[i]);
        else if (!gi->n_members && isatty(STDERR_FILENO))
            fprintf(stderr, "Consumer group '%s' has no active members.\n", groups[i]);
        describe_rows(&t, gi);
        brook_group_info_free(gi);
    }
    if (t.n)
        table_print(&t);
    else
        free(t.cells);
    return status;
}

struct seek_opts {
    const char *offset;
    const char *topic;
    int32_t partition;
};

static int seek_opt(void *ctx, int opt, const char *arg)
{
    struct seek_opts *o = ctx;
    char *end;
    long v;
    switch (opt) {
    case 'o': o->offset = arg; return 0;
    case 't': o->topic = arg; return 0;
    case 'p':
        v = strtol(arg, &end, 10);
        if (*end || end == arg || v < 0 || v > INT32_MAX)
            return cli_usage_error("bad partition '%s'", arg);
        o->partition = (int32_t)v;
        return 0;
    }
    return cli_usage_error("unknown option -%c", opt);
}

static int group_seek(struct brook_client *c, const struct globals *g, const char *group,
                      const struct seek_opts *o, const struct brook_offset *to)
{
    int rc = brook_group_seek(c, group, o->topic, o->partition, to, g->timeout_ms);
    if (rc == BROOK_ERR_GROUP_ACTIVE)
        return cli_fail("group '%s' has active members; stop them before seeking", group);
    if (rc == brook_err_kafka(3))
        return cli_topic_error(o->topic ? o->topic : "?", rc);
    if (rc)
        return cli_fail("cannot seek group '%s': %s", group, brook_strerror(rc));
    struct brook_group_info *gi;
    if ((rc = brook_group_describe(c, group, g->timeout_ms, &gi)))
        return cli_fail("cannot describe group '%s': %s", group, brook_strerror(rc));
    static const char *const head[] = {"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"};
    struct table t = {4, head, NULL, 0, 0};
    for (size_t i = 0; i < gi->n_offsets; i++) {
        const struct brook_group_offset *go = &gi->offsets[i];
        if ((o->topic && strcmp(go->topic, o->topic)) ||
            (o->partition >= 0 && go->partition != o->partition))
            continue;
        table_cell(&t, "%s", group);
        table_cell(&t, "%s", go->topic);
        table_cell(&t, "%d", go->partition);
        table_cell(&t, "%" PRId64, go->committed);
    }
    table_print(&t);
    brook_group_info_free(gi);
    return 0;
}

static int group_delete(struct brook_client *c, const struct globals *g, char **groups, size_t n)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = brook_group_delete(c, groups[i], g->timeout_ms);
        if (rc == brook_err_kafka(69))
            status = cli_fail("group '%s' does not exist", groups[i]);
        else if (rc == brook_err_kafka(68))
            status = cli_fail("group '%s' has active members", groups[i]);
        else if (rc)
            status = cli_fail("cannot delete group '%s': %s", groups[i], brook_strerror(rc));
        else
            printf("Deleted group %s.\n", groups[i]);
    }
    return status;
}

int cli_group(int argc, char **argv, struct globals *g)
{
    if (argc < 2)
        return cli_usage_error("group: expected list, describe, seek or delete");
    const char *sub = argv[1];
    struct seek_opts so = {NULL, NULL, -1};
    int rc;
    if (!strcmp(sub, "seek"))
        rc = cli_parse_opts(argc - 1, argv + 1, "o:t:p:", NULL, g, seek_opt, &so);
    else if (!strcmp(sub, "list") || !strcmp(sub, "describe") || !strcmp(sub, "delete"))
        rc = cli_parse_opts(argc - 1, argv + 1, "", NULL, g, cli_no_opts, NULL);
    else
        return cli_usage_error("group: unknown subcommand '%s'", sub);
    if (rc)
        return rc < 0 ? 0 : rc;
    char **names = argv + 1 + optind;
    size_t n = (size_t)(argc - 1 - optind);
    if (!strcmp(sub, "list") ? n != 0 : n == 0)
        return cli_usage_error(n ? "group list: unexpected argument '%s'"
                                 : "group %s: expected a group",
                               n ? names[0] : sub);
    if (!strcmp(sub, "seek") && n != 1)
        return cli_usage_error("group seek: expected one group");
    struct brook_offset to;
    if (!strcmp(sub, "seek") && !so.offset)
        return cli_usage_error("group seek: expected -o OFFSET");
    if (!strcmp(sub, "seek") && brook_offset_parse(so.offset, cli_wall_ms(), &to))
        return cli_usage_error("bad offset '%s'", so.offset);
    if (!strcmp(sub, "seek") && so.partition >= 0 && !so.topic)
        return cli_usage_error("group seek: -p needs -t TOPIC");
    struct brook_client *c;
    if ((rc = cli_connect(g, &c)))
        return rc;
    if (!strcmp(sub, "list"))
        rc = group_list(c, g);
    else if (!strcmp(sub, "describe"))
        rc = group_describe(c, g, names, n);
    else if (!strcmp(sub, "seek"))
        rc = group_seek(c, g, names[0], &so, &to);
    else
        rc = group_delete(c, g, names, n);
    brook_client_free(c);
    return rc;
}
