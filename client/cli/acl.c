/*
 * acl.c - brook acl list|create|delete.
 *
 * The options follow kafka-acls.sh's names, so a command read in Kafka's
 * documentation reads the same here: --allow-principal / --deny-principal, the
 * resource as --topic, --group, --transactional-id or --cluster,
 * --resource-pattern-type, --operation and --host. create needs one principal,
 * one operation and one resource; list and delete take the same options as a
 * filter, anything left out matching everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "client/cli/cli.h"

/* Kafka's codes and names (client/brook.h lists the codes). */
static const char *const resource_names[] = {
    "unknown", "any", "topic", "group", "cluster", "transactional-id", "delegation-token", "user"};
static const char *const pattern_names[] = {"unknown", "any", "match", "literal", "prefixed"};
static const char *const operation_names[] = {"unknown",
                                              "any",
                                              "all",
                                              "read",
                                              "write",
                                              "create",
                                              "delete",
                                              "alter",
                                              "describe",
                                              "cluster-action",
                                              "describe-configs",
                                              "alter-configs",
                                              "idempotent-write",
                                              "create-tokens",
                                              "describe-tokens"};
static const char *const permission_names[] = {"unknown", "any", "deny", "allow"};

#define N_OF(a) ((int)(sizeof(a) / sizeof *(a)))

/* The code of name in names (case and '-'/'_' ignored, as Kafka's tools take
 * "Read", "DESCRIBE_CONFIGS", "describe-configs"), or -1. */
static int acl_code(const char *const *names, int n, const char *name)
{
    for (int i = 2; i < n; i++) {
        const char *a = names[i], *b = name;
        for (; *a && *b; a++, b++)
            if (!(tolower((unsigned char)*a) == tolower((unsigned char)*b) ||
                  ((*a == '-' || *a == '_') && (*b == '-' || *b == '_'))))
                break;
        if (!*a && !*b)
            return i;
    }
    return !strcasecmp(name, "any") ? 1 : -1;
}

static const char *acl_name(const char *const *names, int n, int code)
{
    return code >= 0 && code < n ? names[code] : "?";
}

struct acl_opts {
    struct brook_acl a; /* codes 0 where not given */
    int n_resources, n_principals;
};

static int acl_resource(struct acl_opts *o, int type, const char *name)
{
    if (o->n_resources++)
        return cli_usage_error("acl: give one of --topic, --group, --transactional-id, --cluster");
    o->a.resource_type = (int8_t)type;
    o->a.resource_name = name;
    return 0;
}

static int acl_opt(void *ctx, int opt, const char *arg)
{
    struct acl_opts *o = ctx;
    int code;
    switch (opt) {
    case 't': return acl_resource(o, 2, arg);
    case 'g': return acl_resource(o, 3, arg);
    case 'x': return acl_resource(o, 5, arg);
    case 'C': return acl_resource(o, 4, "kafka-cluster");
    case 'A':
    case 'D':
        if (o->n_principals++)
            return cli_usage_error("acl: give one --allow-principal or --deny-principal");
        o->a.principal = arg;
        o->a.permission = opt == 'A' ? 3 : 2;
        return 0;
    case 'P': o->a.principal = arg; return 0;
    case 'H': o->a.host = arg; return 0;
    case 'o':
        if ((code = acl_code(operation_names, N_OF(operation_names), arg)) < 0)
            return cli_usage_error("acl: unknown operation '%s'", arg);
        o->a.operation = (int8_t)code;
        return 0;
    case 'p':
        if ((code = acl_code(pattern_names, N_OF(pattern_names), arg)) < 0)
            return cli_usage_error("acl: unknown pattern type '%s'", arg);
        o->a.pattern_type = (int8_t)code;
        return 0;
    default: return cli_usage_error("unknown option -%c", opt);
    }
}

static void acl_rows(struct table *t, const struct brook_acl_list *l)
{
    for (size_t i = 0; i < l->n_acls; i++) {
        const struct brook_acl *a = &l->acls[i];
        table_cell(t, "%s", acl_name(resource_names, N_OF(resource_names), a->resource_type));
        table_cell(t, "%s", a->resource_name ? a->resource_name : "");
        table_cell(t, "%s", acl_name(pattern_names, N_OF(pattern_names), a->pattern_type));
        table_cell(t, "%s", a->principal ? a->principal : "");
        table_cell(t, "%s", a->host ? a->host : "");
        table_cell(t, "%s", acl_name(operation_names, N_OF(operation_names), a->operation));
        table_cell(t, "%s", acl_name(permission_names, N_OF(permission_names), a->permission));
    }
}

static const char *const acl_head[] = {"RESOURCE-TYPE", "NAME",      "PATTERN",   "PRINCIPAL",
                                       "HOST",          "OPERATION", "PERMISSION"};

/* A filter from what was given: every field left out matches anything. */
static struct brook_acl acl_filter(const struct acl_opts *o)
{
    struct brook_acl f = o->a;
    if (!f.resource_type)
        f.resource_type = 1;
    if (!f.pattern_type)
        f.pattern_type = 1;
    if (!f.operation)
        f.operation = 1;
    if (!f.permission)
        f.permission = 1;
    return f;
}

static int acl_run(struct brook_client *c, const struct globals *g, const char *sub,
                   struct acl_opts *o)
{
    struct brook_acl_list *l = NULL;
    int rc;
    if (!strcmp(sub, "create")) {
        rc = brook_acl_create(c, &o->a, g->timeout_ms);
        if (rc == brook_err_kafka(42))
            return cli_fail("the broker refused the ACL: a principal is TYPE:NAME (User:alice), "
                            "and the cluster's only name is kafka-cluster");
        if (rc)
            return cli_fail("cannot create the ACL: %s", brook_strerror(rc));
        printf("Created: %s %s on %s %s.\n",
               acl_name(permission_names, N_OF(permission_names), o->a.permission),
               acl_name(operation_names, N_OF(operation_names), o->a.operation),
               acl_name(resource_names, N_OF(resource_names), o->a.resource_type),
               o->a.resource_name);
        return 0;
    }
    struct brook_acl f = acl_filter(o);
    rc = !strcmp(sub, "list") ? brook_acl_describe(c, &f, g->timeout_ms, &l)
                              : brook_acl_delete(c, &f, g->timeout_ms, &l);
    if (rc)
        return cli_fail("cannot %s ACLs: %s", sub, brook_strerror(rc));
    struct table t = {7, acl_head, NULL, 0, 0};
    acl_rows(&t, l);
    if (t.n)
        table_print(&t);
    else
        free(t.cells);
    if (!strcmp(sub, "delete"))
        fprintf(stderr, "Deleted %zu ACL%s.\n", l->n_acls, l->n_acls == 1 ? "" : "s");
    brook_acl_list_free(l);
    return 0;
}

/* What create needs beyond the options' own checks; 0 or an exit status. */
static int acl_create_check(struct acl_opts *o)
{
    if (!o->n_principals)
        return cli_usage_error("acl create: expected --allow-principal or --deny-principal");
    if (!o->a.operation || o->a.operation == 1)
        return cli_usage_error("acl create: expected --operation (read, write, ...)");
    if (!o->n_resources)
        return cli_usage_error("acl create: expected --topic, --group, --transactional-id or "
                               "--cluster");
    if (!o->a.pattern_type)
        o->a.pattern_type = 3; /* literal */
    if (!o->a.host)
        o->a.host = "*";
    return 0;
}

int cli_acl(int argc, char **argv, struct globals *g)
{
    static const struct option longs[] = {
        {"topic", required_argument, NULL, 't'},
        {"group", required_argument, NULL, 'g'},
        {"transactional-id", required_argument, NULL, 'x'},
        {"cluster", no_argument, NULL, 'C'},
        {"allow-principal", required_argument, NULL, 'A'},
        {"deny-principal", required_argument, NULL, 'D'},
        {"principal", required_argument, NULL, 'P'},
        {"host", required_argument, NULL, 'H'},
        {"operation", required_argument, NULL, 'o'},
        {"resource-pattern-type", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        return cli_usage_error("acl: expected list, create or delete");
    const char *sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "create") && strcmp(sub, "delete"))
        return cli_usage_error("acl: unknown subcommand '%s'", sub);
    struct acl_opts o = {{0}, 0, 0};
    int rc = cli_parse_opts(argc - 1, argv + 1, "t:g:x:o:", longs, g, acl_opt, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind < argc - 1)
        return cli_usage_error("acl %s: unexpected argument '%s'", sub, argv[1 + optind]);
    if (!strcmp(sub, "create") && (rc = acl_create_check(&o)))
        return rc;
    struct brook_client *c;
    if ((rc = cli_connect(g, &c)))
        return rc;
    rc = acl_run(c, g, sub, &o);
    brook_client_free(c);
    return rc;
}
