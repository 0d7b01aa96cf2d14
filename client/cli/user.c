/*
 * user.c - brook user list|create|delete: SCRAM users, as kafka-configs.sh
 * --entity-type users manages them.
 *
 * create sends only a salted hash of the password (libbrook derives it), and
 * sets a new password when the user exists. The password comes from --password,
 * or from the first line of stdin with --password - so that it does not show in
 * the process list. delete removes every credential of the user, or the one of
 * --mechanism.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"

#define PASSWORD_MAX 1024 /* bytes of a password read from stdin */

struct user_opts {
    const char *password;
    const char *mechanism;
    int32_t iterations; /* 0: the library's default */
};

static int user_opt(void *ctx, int opt, const char *arg)
{
    struct user_opts *o = ctx;
    char *end;
    long v;
    switch (opt) {
    case 'P': o->password = arg; return 0;
    case 'M': o->mechanism = arg; return 0;
    case 'I':
        v = strtol(arg, &end, 10);
        if (*end || end == arg || v <= 0 || v > INT32_MAX)
            return cli_usage_error("bad --iterations '%s'", arg);
        o->iterations = (int32_t)v;
        return 0;
    }
    return cli_usage_error("unknown option -%c", opt);
}

static int user_list(struct brook_client *c, const struct globals *g)
{
    struct brook_user_list *l;
    int rc = brook_users_list(c, g->timeout_ms, &l);
    if (rc)
        return cli_fail("cannot list users: %s", brook_strerror(rc));
    static const char *const head[] = {"USER", "MECHANISM", "ITERATIONS"};
    struct table t = {3, head, NULL, 0, 0};
    for (size_t i = 0; i < l->n_users; i++)
        for (size_t j = 0; j < l->users[i].n_credentials; j++) {
            table_cell(&t, "%s", l->users[i].name);
            table_cell(&t, "%s", l->users[i].credentials[j].mechanism);
            table_cell(&t, "%d", l->users[i].credentials[j].iterations);
        }
    table_print(&t);
    brook_user_list_free(l);
    return 0;
}

/* The first line of stdin, without its newline, into buf. */
static int password_from_stdin(char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin))
        return cli_fail("user create: no password on stdin");
    size_t n = strcspn(buf, "\r\n");
    if (buf[n] == 0 && n == size - 1)
        return cli_fail("user create: the password is longer than %d bytes", PASSWORD_MAX - 1);
    buf[n] = 0;
    return 0;
}

static int user_create(struct brook_client *c, const struct globals *g, const char *name,
                       const struct user_opts *o)
{
    char buf[PASSWORD_MAX];
    const char *password = o->password;
    int rc;
    if (!strcmp(password, "-")) {
        if ((rc = password_from_stdin(buf, sizeof buf)))
            return rc;
        password = buf;
    }
    rc = brook_user_create(c, name, password, o->mechanism, o->iterations, g->timeout_ms);
    explicit_bzero(buf, sizeof buf);
    if (rc)
        return cli_fail("cannot create user '%s': %s", name, brook_strerror(rc));
    printf("user %s: %s credential set\n", name, o->mechanism ? o->mechanism : "SCRAM-SHA-512");
    return 0;
}

static int user_delete(struct brook_client *c, const struct globals *g, char **names, size_t n,
                       const char *mechanism)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = brook_user_delete(c, names[i], mechanism, g->timeout_ms);
        if (rc == brook_err_kafka(91))
            status = cli_fail("cannot delete user '%s': no such user%s%s", names[i],
                              mechanism ? " with " : "", mechanism ? mechanism : "");
        else if (rc)
            status = cli_fail("cannot delete user '%s': %s", names[i], brook_strerror(rc));
    }
    return status;
}

/* Usage errors of the operands, before any connection is made. */
static int user_check(const char *sub, size_t n, const struct user_opts *o)
{
    if (!strcmp(sub, "list"))
        return n ? cli_usage_error("user list: unexpected argument") : 0;
    if (n == 0)
        return cli_usage_error("user %s: expected a user name", sub);
    if (!strcmp(sub, "create") && n != 1)
        return cli_usage_error("user create: expected one user name");
    if (!strcmp(sub, "create") && !o->password)
        return cli_usage_error("user create: expected --password P (or --password - for stdin)");
    if (o->mechanism && strcmp(o->mechanism, "SCRAM-SHA-256") &&
        strcmp(o->mechanism, "SCRAM-SHA-512"))
        return cli_usage_error("bad --mechanism '%s': SCRAM-SHA-256 or SCRAM-SHA-512",
                               o->mechanism);
    return 0;
}

int cli_user(int argc, char **argv, struct globals *g)
{
    static const struct option longs[] = {
        {"timeout", required_argument, NULL, 'T'},    {"help", no_argument, NULL, 'h'},
        {"password", required_argument, NULL, 'P'},   {"mechanism", required_argument, NULL, 'M'},
        {"iterations", required_argument, NULL, 'I'}, {NULL, 0, NULL, 0}};
    if (argc < 2)
        return cli_usage_error("user: expected list, create or delete");
    const char *sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "create") && strcmp(sub, "delete"))
        return cli_usage_error("user: unknown subcommand '%s'", sub);
    struct user_opts o = {NULL, NULL, 0};
    int rc = cli_parse_opts(argc - 1, argv + 1, "", longs, g, user_opt, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    char **names = argv + 1 + optind;
    size_t n = (size_t)(argc - 1 - optind);
    if ((rc = user_check(sub, n, &o)))
        return rc;
    struct brook_client *c;
    if ((rc = cli_connect(g, &c)))
        return rc;
    if (!strcmp(sub, "list"))
        rc = user_list(c, g);
    else if (!strcmp(sub, "create"))
        rc = user_create(c, g, names[0], &o);
    else
        rc = user_delete(c, g, names, n, o.mechanism);
    brook_client_free(c);
    return rc;
}
